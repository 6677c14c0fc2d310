"""qakit.stats: IQS vs CSAT, per-category drivers, per-agent uncertainty, sample-size planning.

Every expected number is computed here independently: with scipy/numpy called directly on a join
the test builds itself with plain pandas, by hand (arithmetic in the docstring), or from the
generator's documented truth (data/README.md).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import qakit.stats as st
from qakit import Category, Scorecard, datasets
from qakit.errors import ParameterError, SmallSampleWarning
from qakit.kpis import CsatScale


@pytest.fixture(scope="module")
def sample():
    card = datasets.load_sample_scorecard()
    ratings = datasets.load_sample("ratings")
    surveys = datasets.load_sample("surveys")
    surveys = surveys[surveys["score"].notna()].reset_index(drop=True)  # the answers (issue 26: the sample also lists unanswered invitations)
    conv = datasets.load_sample("conversations")
    return card, ratings, surveys, conv, card.score(ratings)


def _plain_join(scores, surveys):
    """Conversation-level join written with plain pandas (independent of qakit.stats)."""
    iqs = scores.dropna(subset=["iqs"]).groupby("conversation_id")["iqs"].mean()
    cs = surveys[surveys["kind"] == "csat"].groupby("conversation_id")["score"].mean()
    return pd.concat([iqs, cs], axis=1, join="inner")


def test_pearson_matches_scipy_and_recovers_generator_truth(sample):
    """Pearson r and its Fisher CI equal scipy.stats.pearsonr on an independent join; the CI
    contains the generator's documented conversation-level truth r = 0.39 (data/README.md)."""
    card, ratings, surveys, conv, scores = sample
    j = _plain_join(scores, surveys)
    ref = sps.pearsonr(j["iqs"], j["score"])
    ci = ref.confidence_interval(0.95)
    res = st.iqs_csat_correlation(scores, surveys, method="pearson").iloc[0]
    assert res["n"] == len(j) == 626
    assert res["r"] == pytest.approx(ref.statistic, abs=1e-12)
    assert res["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((ci.low, ci.high), abs=1e-12)
    # Fisher by hand: tanh(atanh(r) -/+ 1.959964 / sqrt(n - 3))
    z = np.arctanh(ref.statistic)
    assert res["ci_low"] == pytest.approx(np.tanh(z - 1.959964 / np.sqrt(623)), abs=1e-6)
    assert res["ci_low"] < 0.39 < res["ci_high"]


def test_rank_methods_pvalues_from_scipy_and_bootstrap_is_seeded(sample):
    """Spearman rho / Kendall tau-b and p-values equal scipy's; the bootstrap CI is reproducible
    with a seed, contains the estimate, and changes with another seed."""
    _, _, surveys, _, scores = sample
    j = _plain_join(scores, surveys)
    a = st.iqs_csat_correlation(scores, surveys, method=["spearman", "kendall"], n_resamples=499, seed=3)
    b = st.iqs_csat_correlation(scores, surveys, method=["spearman", "kendall"], n_resamples=499, seed=3)
    c = st.iqs_csat_correlation(scores, surveys, method=["spearman"], n_resamples=499, seed=4)
    pd.testing.assert_frame_equal(a, b)
    sp, kt = sps.spearmanr(j["iqs"], j["score"]), sps.kendalltau(j["iqs"], j["score"])
    assert a["r"].tolist() == pytest.approx([sp.statistic, kt.statistic], abs=1e-12)
    assert a["p_value"].tolist() == pytest.approx([sp.pvalue, kt.pvalue], rel=1e-9)
    assert (a["ci_low"] < a["r"]).all() and (a["r"] < a["ci_high"]).all()
    assert c["ci_low"].iloc[0] != a["ci_low"].iloc[0]


def test_point_biserial_is_pearson_with_satisfied_indicator(sample):
    """Point-biserial r = Pearson r between IQS and 1[mean CSAT in {4, 5} >= 0.5] (numpy)."""
    _, _, surveys, _, scores = sample
    j = _plain_join(scores, surveys)
    cs = surveys[surveys["kind"] == "csat"].assign(sat=lambda d: d["score"].isin([4, 5]))
    sat = cs.groupby("conversation_id")["sat"].mean().reindex(j.index) >= 0.5
    expected = np.corrcoef(j["iqs"], sat.astype(float))[0, 1]
    res = st.iqs_csat_correlation(scores, surveys, method="point_biserial").iloc[0]
    assert res["r"] == pytest.approx(expected, abs=1e-12)


#: the toy CSAT below is a continuous, unbounded score: read on a wide scale (the default 1-5 refuses it)
WIDE = CsatScale(-100, 100, satisfied_from=4)


def _toy(n=200, seed=1):
    rng = np.random.default_rng(seed)
    zc = rng.normal(size=n)
    iqs = 70 + 10 * (0.6 * zc + rng.normal(size=n))
    csat = 3 + 0.8 * zc + 0.3 * rng.normal(size=n) + 0.02 * iqs
    ids = [f"c{i}" for i in range(n)]
    scores = pd.DataFrame({"review_id": ids, "conversation_id": ids, "agent_id": "a", "iqs": iqs})
    surveys = pd.DataFrame({"conversation_id": ids, "kind": "csat", "score": csat, "answered_at": None})
    conv = pd.DataFrame({"conversation_id": ids, "customer_id": "x", "agent_id": "a", "channel": "chat",
                         "priority": "normal", "created_at": "2026-01-01", "first_response_at": None,
                         "resolved_at": None, "status": "open", "zc": zc})
    return scores, surveys, conv, iqs, csat, zc


def test_partial_correlation_matches_textbook_formula():
    """Partial r with one numeric covariate equals
    (r_xy - r_xz r_yz) / sqrt((1 - r_xz^2)(1 - r_yz^2)); p from t = r sqrt(df/(1-r^2)), df = n-3."""
    scores, surveys, conv, x, y, z = _toy()
    rxy, rxz, ryz = (np.corrcoef(a, b)[0, 1] for a, b in ((x, y), (x, z), (y, z)))
    expected = (rxy - rxz * ryz) / np.sqrt((1 - rxz**2) * (1 - ryz**2))
    res = st.iqs_csat_correlation(scores, surveys, scale=WIDE, method=["partial", "pearson"], covariate="zc",
                                  conversations=conv).set_index("method")
    assert res.loc["partial", "r"] == pytest.approx(expected, abs=1e-10)
    t = expected * np.sqrt(197 / (1 - expected**2))
    assert res.loc["partial", "p_value"] == pytest.approx(2 * sps.t.sf(abs(t), 197), rel=1e-8)
    assert res.loc["partial", "r"] < res.loc["pearson", "r"]  # the shared driver zc is removed


def test_agent_level_and_weighted():
    """Agent level: Pearson of per-agent means. Weighted with equal weights = unweighted r;
    weighted r by hand: agents (x, y, w) = (1, 1, 1), (2, 3, 1), (3, 2, 2):
    mean_w x = 9/4, mean_w y = 8/4 = 2; cov_w = [(-1.25)(-1) + (-0.25)(1) + 2 (0.75)(0)]/4 = 0.25;
    var_w x = (1.5625 + 0.0625 + 2 * 0.5625)/4 = 0.6875; var_w y = (1 + 1 + 0)/4 = 0.5;
    r_w = 0.25 / sqrt(0.34375) = 0.426401."""
    assert st._weighted_pearson(np.array([1.0, 2, 3]), np.array([1.0, 3, 2]), np.array([1.0, 1, 2])) == \
        pytest.approx(0.426401, abs=1e-6)
    rng = np.random.default_rng(0)
    rows, sv = [], []
    for a in range(12):
        for k in range(4):
            cid = f"c{a}_{k}"
            rows.append({"review_id": cid, "conversation_id": cid, "agent_id": f"A{a}", "iqs": 50 + 4 * a + rng.normal()})
            sv.append({"conversation_id": cid, "kind": "csat", "score": float(1 + (a + k) % 5), "answered_at": None,
                       "agent_id": f"A{a}"})
    scores, surveys = pd.DataFrame(rows), pd.DataFrame(sv)
    ma = scores.groupby("agent_id")["iqs"].mean()
    mc = surveys.groupby("agent_id")["score"].mean()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        res = st.iqs_csat_correlation(scores, surveys, unit="agent", method="pearson").iloc[0]
        w = st.iqs_csat_correlation(scores, surveys, unit="agent", method="pearson", weighted=True).iloc[0]
    assert res["n"] == 12 and bool(res["small_sample"])
    assert res["r"] == pytest.approx(sps.pearsonr(ma, mc.reindex(ma.index)).statistic, abs=1e-12)
    assert w["r"] == pytest.approx(res["r"], abs=1e-12)  # every agent has 4 answers


def test_small_sample_warns_and_bad_options_raise():
    scores, surveys, conv, *_ = _toy(n=10)
    with pytest.warns(SmallSampleWarning, match="only 10 IQS/CSAT pairs"):
        st.iqs_csat_correlation(scores, surveys, scale=WIDE, method="pearson")
    with pytest.raises(ParameterError, match="unit must be one of 'conversation', 'agent'; got 'team'"):
        st.iqs_csat_correlation(scores, surveys, scale=WIDE, unit="team")
    with pytest.raises(ParameterError, match="method.*'pearsons'"):
        st.iqs_csat_correlation(scores, surveys, scale=WIDE, method="pearsons")
    with pytest.raises(ParameterError, match="partial.*covariate"):
        st.iqs_csat_correlation(scores, surveys, scale=WIDE, method="partial")
    with pytest.raises(ParameterError, match="point_biserial"):
        st.iqs_csat_correlation(scores, surveys, scale=WIDE, unit="agent", method="point_biserial")
    with pytest.raises(ParameterError, match=r"by column\(s\) \['region'\]"):
        st.iqs_csat_correlation(scores, surveys, scale=WIDE, method="partial", covariate="region", conversations=conv)
    with pytest.raises(ParameterError, match="'iqs' is missing"):
        st.iqs_csat_correlation(scores.drop(columns="iqs"), surveys, scale=WIDE)


def test_unscored_reviews_are_itemised():
    """A review with all categories N/A is not joined and appears in the exclusions."""
    scores, surveys, *_ = _toy(n=40)
    scores.loc[3, "iqs"] = np.nan
    res = st.iqs_csat_correlation(scores, surveys, scale=WIDE, method="pearson")
    assert res["n"].iloc[0] == 39
    from qakit import exclusions

    ex = exclusions(res)
    assert ex["n"].tolist() == [1] and ex["row_ids"].iloc[0] == ("c3",)


# --- large samples: Fisher z intervals for the rank correlations instead of the bootstrap ---------
def _pairs(x, y):
    ids = [f"c{i}" for i in range(len(x))]
    scores = pd.DataFrame({"review_id": ids, "conversation_id": ids, "agent_id": "a", "iqs": np.asarray(x, float)})
    surveys = pd.DataFrame({"conversation_id": ids, "kind": "csat", "score": np.asarray(y, float), "answered_at": None})
    return scores, surveys


def _tau_b_ase_brute_force(x, y):
    """Kendall's tau-b and its asymptotic standard error (Brown & Benedetti 1977 as SAS PROC FREQ
    writes it): all n^2 pairs, d_i = sum_j sign(x_i - x_j) sign(y_i - y_j), w_r = n^2 - sum n_i.^2,
    w_c = n^2 - sum n_.j^2, v_i = n_x(i) w_c + n_y(i) w_r,
    ASE = sqrt(sum (2 w d_i + tau v_i)^2 - n^3 tau^2 (w_r + w_c)^2) / w^2."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    d = (np.sign(x[:, None] - x[None]) * np.sign(y[:, None] - y[None])).sum(1)
    nx, ny = (x[:, None] == x[None]).sum(1), (y[:, None] == y[None]).sum(1)
    wr, wc = n * n - (np.unique(x, return_counts=True)[1] ** 2).sum(), n * n - (np.unique(y, return_counts=True)[1] ** 2).sum()
    w = np.sqrt(wr * wc)
    tau = d.sum() / w
    return tau, np.sqrt(((2 * w * d + tau * (nx * wc + ny * wr)) ** 2).sum() - n**3 * tau**2 * (wr + wc) ** 2) / w**2


def test_rank_fisher_interval_by_hand_and_vendor_examples(monkeypatch):
    """Above bootstrap_max_n: tanh(atanh r -/+ z * se). Spearman: se^2 = (1 + rho^2/2) / (n - 3)
    (Bonett & Wright 2000), by hand, and statpsych's documented example (R, ci.spear(.05, y, x):
    rho = 0.8699639, LL = 0.5840951, UL = 0.9638297; Bonett's package). Kendall tau-b: se = ASE /
    (1 - tau^2) with tau-b's asymptotic standard error counting ties (brute force here over all
    pairs; DescTools' KendallTauB example from the SAS manual, Wald interval 0.2114009 - 0.4631126:
    DescTools arranges the formula slightly differently, equal to 2e-6); with too many distinct
    values for that, Fieller's se^2 = 0.437 / (n - 4), by hand."""
    scores, surveys, _, x, y, _ = _toy(n=200)
    call = dict(scale=WIDE, method=["spearman", "kendall"], bootstrap_max_n=199)
    res = st.iqs_csat_correlation(scores, surveys, **call).set_index("method")
    z = sps.norm.ppf(0.975)
    rho = sps.spearmanr(x, y).statistic
    se_rho = np.sqrt((1 + rho**2 / 2) / 197)
    assert res.loc["spearman", ["ci_low", "ci_high"]].tolist() == pytest.approx(
        [np.tanh(np.arctanh(rho) - z * se_rho), np.tanh(np.arctanh(rho) + z * se_rho)], abs=1e-12)
    assert res.loc["spearman", "ci_method"] == "Fisher z, Bonett-Wright variance (n > 199: no bootstrap)"
    tau, ase = _tau_b_ase_brute_force(x, y)
    assert tau == pytest.approx(sps.kendalltau(x, y).statistic, abs=1e-12)
    se_tau = ase / (1 - tau**2)
    assert res.loc["kendall", ["ci_low", "ci_high"]].tolist() == pytest.approx(
        [np.tanh(np.arctanh(tau) - z * se_tau), np.tanh(np.arctanh(tau) + z * se_tau)], abs=1e-12)
    assert res.loc["kendall", "ci_method"] == "Fisher z, Brown-Benedetti variance, ties counted (n > 199: no bootstrap)"
    # ties: a 2 x 5 table (DescTools / SAS example), by brute force and DescTools' printed interval
    tab = np.array([[26, 26, 23, 18, 9], [6, 7, 9, 14, 23]])
    tx, ty = np.repeat(np.repeat([0, 1], 5), tab.ravel()), np.repeat(np.tile(np.arange(5), 2), tab.ravel())
    t_bf, a_bf = _tau_b_ase_brute_force(tx, ty)
    t_fn, a_fn = st._kendall_ase(tx, ty)
    assert (t_fn, a_fn) == pytest.approx((t_bf, a_bf), rel=1e-12) and t_fn == pytest.approx(0.3372567, abs=1e-7)
    assert (t_fn - z * a_fn, t_fn + z * a_fn) == pytest.approx((0.2114009, 0.4631126), abs=1e-5)
    # Fieller when the walk over distinct values would be too long
    monkeypatch.setattr(st, "KENDALL_ASE_MAX_CELLS", 0)
    kt = st.iqs_csat_correlation(scores, surveys, **call).set_index("method").loc["kendall"]
    se_f = np.sqrt(0.437 / 196)
    assert [kt["ci_low"], kt["ci_high"]] == pytest.approx(
        [np.tanh(np.arctanh(tau) - z * se_f), np.tanh(np.arctanh(tau) + z * se_f)], abs=1e-12)
    assert kt["ci_method"] == "Fisher z, Fieller variance (n > 199: no bootstrap)"
    # statpsych ci.spear example (R): y = CSAT (divided by 4 onto the surveys' 0-10 range: same ranks), x = IQS
    yv = np.array([21, 4, 9, 12, 35, 18, 10, 22, 24, 1, 6, 8, 13, 16, 19]) / 4
    xv = [67, 28, 30, 28, 52, 40, 25, 37, 44, 10, 14, 20, 28, 40, 51]
    sp = st.iqs_csat_correlation(*_pairs(xv, yv), scale=WIDE, method="spearman", bootstrap_max_n=0, min_n=0).iloc[0]
    assert (sp["r"], sp["ci_low"], sp["ci_high"]) == pytest.approx((0.8699639, 0.5840951, 0.9638297), abs=1e-7)


@pytest.mark.parametrize("tied", [False, True], ids=["continuous", "csat_1_to_5"])
def test_rank_fisher_interval_agrees_with_bootstrap_at_n_3000(tied):
    """On a seeded bivariate normal sample (n = 3000, rho = 0.5) the large-sample interval and the
    percentile bootstrap (both from iqs_csat_correlation: threshold above n, then below) agree
    within 0.01 at each end, for Spearman and for Kendall; also with CSAT answers on 1-5 and IQS in
    whole points (ties: Fieller's continuous-data variance alone would be 11 % too narrow here), and
    the two intervals are as wide within 5 %."""
    rng = np.random.default_rng(2026)
    xy = rng.multivariate_normal([0, 0], [[1, 0.5], [0.5, 1]], size=3000)
    x, y = 70 + 10 * xy[:, 0], 5 + xy[:, 1]
    if tied:
        x, y = np.round(x), np.clip(np.round(3.5 + 1.1 * xy[:, 1]), 1, 5)
    scores, surveys = _pairs(x, y)
    kw = dict(scale=WIDE, method=["spearman", "kendall"], n_resamples=999, seed=1)
    boot = st.iqs_csat_correlation(scores, surveys, bootstrap_max_n=3000, **kw)
    asym = st.iqs_csat_correlation(scores, surveys, bootstrap_max_n=2999, **kw)
    assert boot["ci_method"].tolist() == ["percentile bootstrap (999)"] * 2
    assert asym["ci_method"].str.startswith("Fisher z").all()
    pd.testing.assert_frame_equal(boot[["method", "n", "r", "p_value"]], asym[["method", "n", "r", "p_value"]])
    assert np.abs(asym[["ci_low", "ci_high"]].to_numpy() - boot[["ci_low", "ci_high"]].to_numpy()).max() < 0.01
    # and as wide, within 5 % (Fieller's variance on the tied sample: 0.887 of the bootstrap's width)
    width = (asym["ci_high"] - asym["ci_low"]) / (boot["ci_high"] - boot["ci_low"])
    assert width.tolist() == pytest.approx([1, 1], abs=0.05)


def test_bootstrap_max_n_switches_exactly_above_it_and_bad_values_are_refused():
    """n = 40 pairs: bootstrapped with bootstrap_max_n = 40 or None, Fisher z with 39 or 0; a bad
    value is one ParameterError naming the parameter and the value."""
    scores, surveys, *_ = _toy(n=40)
    def ci_methods(v):
        res = st.iqs_csat_correlation(scores, surveys, scale=WIDE, method=["pearson", "spearman", "kendall"],
                                      n_resamples=99, bootstrap_max_n=v)
        return res["ci_method"].tolist()
    boot = ["Fisher z", "percentile bootstrap (99)", "percentile bootstrap (99)"]
    assert ci_methods(40) == ci_methods(None) == boot
    assert ci_methods(39)[1:] == ["Fisher z, Bonett-Wright variance (n > 39: no bootstrap)",
                                  "Fisher z, Brown-Benedetti variance, ties counted (n > 39: no bootstrap)"]
    assert ci_methods(0)[1:] == ["Fisher z, Bonett-Wright variance (n > 0: no bootstrap)",
                                 "Fisher z, Brown-Benedetti variance, ties counted (n > 0: no bootstrap)"]
    for bad in (-1, 2.5, "10000", True, float("nan")):
        with pytest.raises(ParameterError, match=rf"^bootstrap_max_n must be an integer >= 0 \(or None\); got {bad!r}"):
            st.iqs_csat_correlation(scores, surveys, scale=WIDE, method="spearman", bootstrap_max_n=bad)


def test_category_correlations_bh_by_hand(sample):
    """Per category Spearman rho equals scipy on an independent pivot; p_adjusted equals the
    Benjamini-Hochberg step-up computed here: p_(i) * m / i, cumulative minimum from the top."""
    card, ratings, surveys, _, _ = sample
    res = st.category_correlations(ratings, card, surveys).set_index("category")
    r = ratings.copy()
    tone = r[r["category"] == "Tone"].set_index("conversation_id")["rating"]
    tone = tone.groupby(level=0).mean()
    cs = surveys[surveys["kind"] == "csat"].groupby("conversation_id")["score"].mean()
    j = pd.concat([tone, cs], axis=1, join="inner").dropna()
    assert res.loc["Tone", "n"] == len(j)
    assert res.loc["Tone", "r"] == pytest.approx(sps.spearmanr(j["rating"], j["score"]).statistic, abs=1e-12)
    p = res["p_value"].to_numpy()
    order = np.argsort(p)
    m = len(p)
    adj = np.empty(m)
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p[i] * m / rank)
        adj[i] = running
    assert res["p_adjusted"].to_numpy() == pytest.approx(adj, rel=1e-9)
    # the generator gives Tone and Solution the strongest link (beta 0.7 / 0.6 on 5/4 points)
    assert set(res["r"].nlargest(2).index) <= {"Tone", "Solution", "Empathy"}


def _one_cat_data(n=80, seed=2):
    rng = np.random.default_rng(seed)
    rating = rng.integers(1, 6, n).astype(float)
    csat = np.clip(np.round(1 + 0.6 * rating + rng.normal(0, 1, n)), 1, 5)
    ids = [f"r{i}" for i in range(n)]
    ratings = pd.DataFrame({"review_id": ids, "conversation_id": ids, "agent_id": "a", "reviewer_id": "q",
                            "reviewed_at": "2026-01-01", "category": "Tone", "rating": rating})
    surveys = pd.DataFrame({"conversation_id": ids, "kind": "csat", "score": csat, "answered_at": None})
    return ratings, surveys, rating, csat


def test_key_drivers_single_category_equals_pearson():
    """With one category the standardised OLS coefficient is Pearson's r and its t test is the
    correlation t test: coef and p_value equal scipy.stats.pearsonr."""
    ratings, surveys, rating, csat = _one_cat_data()
    card = Scorecard([Category("Tone", scale=5)])
    kd = st.key_drivers(ratings, card, surveys)
    ref = sps.pearsonr(rating, csat)
    assert kd["coef"].iloc[0] == pytest.approx(ref.statistic, abs=1e-10)
    assert kd["p_value"].iloc[0] == pytest.approx(ref.pvalue, rel=1e-8)
    assert kd.attrs["r2"] == pytest.approx(ref.statistic**2, abs=1e-10)


def test_key_drivers_sample_and_exclusion(sample):
    """On the sample, the t statistic of each coefficient equals the partial-correlation t of that
    category given the others (Frisch-Waugh), computed here with numpy; Escalation handling
    (rated in ~11% of conversations) is itemised as excluded."""
    card, ratings, surveys, _, _ = sample
    kd = st.key_drivers(ratings, card, surveys)
    from qakit import exclusions

    assert exclusions(kd)["row_ids"].tolist() == [("Escalation handling",)]
    assert kd["category"].iloc[0] == "Tone"
    assert (kd["ci_low"] < kd["coef"]).all() and (kd["coef"] < kd["ci_high"]).all()
    # Frisch-Waugh check for "Solution"
    mat = st._category_matrix(ratings, card).groupby("conversation_id")[list(kd["category"])].mean()
    cs = surveys[surveys["kind"] == "csat"].groupby("conversation_id")["score"].mean()
    j = mat.join(cs, how="inner")
    X = j[list(kd["category"])]
    X = ((X - X.mean()) / X.std()).fillna(0)
    others = np.column_stack([np.ones(len(X)), X.drop(columns="Solution").to_numpy()])
    rx = X["Solution"].to_numpy() - others @ np.linalg.lstsq(others, X["Solution"].to_numpy(), rcond=None)[0]
    ry = j["score"].to_numpy() - others @ np.linalg.lstsq(others, j["score"].to_numpy(), rcond=None)[0]
    pr = np.corrcoef(rx, ry)[0, 1]
    dof = len(X) - X.shape[1] - 1
    t_partial = pr * np.sqrt(dof / (1 - pr**2))
    row = kd.set_index("category").loc["Solution"]
    assert row["coef"] / row["se"] == pytest.approx(t_partial, rel=1e-8)


def test_key_drivers_bad_input():
    ratings, surveys, *_ = _one_cat_data(n=2)
    card = Scorecard([Category("Tone", scale=5)])
    with pytest.raises(ParameterError, match="more conversations with CSAT than categories"):
        st.key_drivers(ratings, card, surveys)
    with pytest.raises(ParameterError, match="min_coverage.*1.5"):
        st.key_drivers(ratings, card, surveys, min_coverage=1.5)


def test_shrinkage_by_hand_and_it_beats_raw_means():
    """shrink_means on two groups (means 60/80, within-variance 100, n 4): v = 25, w = 0.04,
    Q = 0.04 (100 + 100) = 8, c = 0.08 - 0.0032/0.08 = 0.04, tau2 = (8 - 1)/0.04 = 175,
    B = 175/200 = 0.875 -> 61.25 / 78.75. Then a simulation (true agent means N(70, 8^2), reviews
    N(mean, 25^2), 2-40 reviews per agent, 30 seeds): the shrunken means have lower squared error
    than the raw means in every seed's total."""
    shrunk, B, grand, tau2 = st.shrink_means(np.array([60.0, 80.0]), np.array([100.0, 100.0]), np.array([4, 4]))
    assert tau2 == pytest.approx(175.0) and B.tolist() == pytest.approx([0.875, 0.875])
    assert shrunk.tolist() == pytest.approx([61.25, 78.75])
    wins = 0
    for seed in range(30):
        rng = np.random.default_rng(seed)
        true = rng.normal(70, 8, 60)
        n = rng.integers(2, 41, 60)
        y = [rng.normal(m, 25, k) for m, k in zip(true, n)]
        means = np.array([v.mean() for v in y])
        var = np.array([v.var(ddof=1) for v in y])
        sh, *_ = st.shrink_means(means, var, n)
        wins += ((sh - true) ** 2).sum() < ((means - true) ** 2).sum()
    assert wins >= 28


def test_agent_summary_sample(sample):
    """Per agent: n/iqs equal a plain groupby; CSAT percent satisfied and its Wilson CI equal the
    formula written here; shrunk IQS lies between the agent's IQS and the overall mean; the
    shrunken ranking correlates with the generator's latent agent quality (Spearman > 0.8)."""
    card, ratings, surveys, conv, scores = sample
    res = st.agent_summary(scores, surveys).set_index("agent_id")
    g = scores.dropna(subset=["iqs"]).groupby("agent_id")["iqs"]
    assert res["n"].sort_index().tolist() == g.size().sort_index().tolist()
    assert res["iqs"].sort_index().to_numpy() == pytest.approx(g.mean().sort_index().to_numpy())
    cs = surveys[surveys["kind"] == "csat"]
    a = "A11"
    sub = cs[cs["agent_id"] == a]
    k, n = sub["score"].isin([4, 5]).sum(), len(sub)
    z = 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert res.loc[a, "csat"] == pytest.approx(100 * p)
    assert res.loc[a, "csat_ci_low"] == pytest.approx(100 * (centre - half))
    overall = scores["iqs"].mean()
    lo = np.minimum(res["iqs"], overall) - 1e-9
    hi = np.maximum(res["iqs"], overall) + 1e-9
    assert ((res["iqs_shrunk"] >= lo) & (res["iqs_shrunk"] <= hi)).all()
    truth = datasets.load_sample("agents_truth").set_index("agent_id")["quality"]
    assert sps.spearmanr(res["iqs_shrunk"], truth.reindex(res.index)).statistic > 0.8


def test_sample_size_plan_by_hand():
    """n_required = smallest n with t_{.975, n-1} sd / sqrt(n) <= h, found here by a plain loop."""
    s = pd.DataFrame({"agent_id": ["a"] * 6 + ["b"] * 3, "iqs": [50.0, 70, 90, 60, 80, 100, 75, 75, 75]})
    plan = st.sample_size_plan(s, half_width=[5, 12.5])
    sd = s["iqs"].std()

    def need(h, sd):
        n = 2
        while sps.t.ppf(0.975, n - 1) * sd / np.sqrt(n) > h:
            n += 1
        return n

    assert plan["n_required"].tolist() == [need(5, sd), need(12.5, sd)]
    assert plan["n_more"].tolist() == [max(0, need(5, sd) - 9), max(0, need(12.5, sd) - 9)]
    per = st.sample_size_plan(s, half_width=10, by="agent_id").set_index("agent_id")
    assert per.loc["a", "n_required"] == need(10, s["iqs"][:6].std())
    assert per.loc["b", "sd"] == 0 and per.loc["b", "n_required"] == 2
    with pytest.raises(ParameterError, match="half_width must be positive"):
        st.sample_size_plan(s, half_width=0)


# --- per-group bootstrap ---------------------------------------------------------------------
def test_bootstrap_group_means_exact_small_group():
    """Group [0, 1]: a resample mean is 0, 0.5 or 1 with probabilities 1/4, 1/2, 1/4 (by hand),
    so the 2.5 % and 97.5 % quantiles of 9,999 resample means are exactly 0 and 1; a group with
    one distinct value has a zero-width interval at that value."""
    r = st.bootstrap_group_means(np.array([0.0, 1.0, 7.0, 7.0, 7.0]), np.array(["a", "a", "b", "b", "b"]), seed=3)
    assert r["group"].tolist() == ["a", "b"] and r["n"].tolist() == [2, 3]
    assert r["mean"].tolist() == [0.5, 7.0]
    assert r[["ci_low", "ci_high"]].to_numpy().tolist() == [[0.0, 1.0], [7.0, 7.0]]


def test_bootstrap_group_means_agrees_with_scipy_per_group():
    """Each group's interval is scipy.stats.bootstrap(method='percentile') on that group alone,
    up to Monte Carlo error (both use 9,999 resamples: the 2.5 % quantile's MC standard error is
    ~0.03 standard errors of the mean each; tolerance 0.2 SE). Groups of unequal size exercise the
    size blocks of the vectorised draw."""
    rng = np.random.default_rng(11)
    sizes = {"g1": 8, "g2": 30, "g3": 30, "g4": 55}
    groups = np.concatenate([[g] * k for g, k in sizes.items()])
    values = rng.gamma(2.0, 10.0, len(groups))
    perm = rng.permutation(len(values))  # rows of different groups interleaved
    r = st.bootstrap_group_means(values[perm], groups[perm], seed=5).set_index("group")
    for g in sizes:
        x = values[groups == g]
        ref = sps.bootstrap((x,), np.mean, method="percentile", n_resamples=9999, random_state=7).confidence_interval
        se = x.std(ddof=1) / np.sqrt(len(x))
        assert r.loc[g, "n"] == len(x) and r.loc[g, "mean"] == pytest.approx(x.mean(), rel=1e-12)
        assert abs(r.loc[g, "ci_low"] - ref.low) < 0.2 * se, g
        assert abs(r.loc[g, "ci_high"] - ref.high) < 0.2 * se, g


def test_bootstrap_group_means_is_seeded():
    rng = np.random.default_rng(2)
    v, g = rng.random(300), rng.integers(0, 7, 300)
    a = st.bootstrap_group_means(v, g, n_resamples=999, seed=1)
    b = st.bootstrap_group_means(v, g, n_resamples=999, seed=1)
    c = st.bootstrap_group_means(v, g, n_resamples=999, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["ci_low"], c["ci_low"])


def test_bootstrap_group_means_refuses_nan_and_missing_groups():
    with pytest.raises(ParameterError, match=r"1 value\(s\) are NaN or infinite \(\[nan\] at positions \[2\]\).*"
                                             r"1 group label\(s\) are missing \(positions \[0\]\)"):
        st.bootstrap_group_means(np.array([1.0, 2.0, np.nan]), np.array([None, "a", "a"], dtype=object))
    with pytest.raises(ParameterError, match="equal length"):
        st.bootstrap_group_means(np.array([1.0, 2.0]), np.array(["a"]))
    with pytest.raises(ParameterError, match="n_resamples and batch must be positive"):
        st.bootstrap_group_means(np.array([1.0, 2.0]), np.array(["a", "a"]), n_resamples=0)
