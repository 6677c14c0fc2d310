"""qakit.calibration: reviewer agreement, kappa, reviewer bias, consensus.

Expected numbers come from outside the code under test: published worked examples (Krippendorff
2011; Fleiss 1971 as reproduced on Wikipedia; R ``vcd::Kappa``), hand arithmetic shown in the
docstrings, scipy applied to deviations the test computes itself with plain pandas, and the
generator's documented model (data/README.md) for the planted reviewer biases.
"""

from __future__ import annotations

import json
import warnings

import krippendorff
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import qakit.calibration as cal
from qakit import datasets
from qakit.errors import DataValidationError, ParameterError, UndefinedMetricWarning
from qakit.schema import exclusions

nan = np.nan
KPOINT = ["Tone", "Empathy", "Solution", "Escalation handling"]
PLANTED = {"cal_rev_1": 0.0, "cal_rev_2": 0.6, "cal_rev_3": -0.6, "cal_rev_4": 0.0, "cal_rev_5": 0.25}

#: Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers x 12
#: units, nominal data with missing values (rows = observers A..D, "." = missing)
KRIPP_2011 = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    "C": [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
}


def _long(matrix: dict[str, list[float]], category: str = "x") -> pd.DataFrame:
    """reviewer -> ratings per unit, as a long ratings table."""
    rows = [
        dict(review_id=f"{rev}-u{u}", conversation_id=f"u{u}", reviewer_id=rev, category=category, rating=v)
        for rev, vals in matrix.items() for u, v in enumerate(vals, 1)
    ]
    return pd.DataFrame(rows)


def _from_table(table: np.ndarray, a: str = "a", b: str = "b") -> pd.DataFrame:
    """A two-reviewer ratings table from a contingency table (rows a, columns b, values 1..V)."""
    ra, rb = [], []
    for i, j in np.ndindex(table.shape):
        ra += [i + 1] * int(table[i, j])
        rb += [j + 1] * int(table[i, j])
    return _long({a: ra, b: rb})


@pytest.fixture(scope="module")
def sample():
    return datasets.load_sample("calibration"), datasets.load_sample_scorecard()


# --- Krippendorff's alpha -------------------------------------------------------------------
@pytest.mark.parametrize("level, expected", [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)])
def test_alpha_reproduces_krippendorff_2011_worked_example(level, expected):
    """Krippendorff (2011) computes, for the 4 x 12 table above: nominal alpha = .743 (section C),
    ordinal .815 (section D), interval .849 (section E).  Unit 12 has a single value (not
    pairable), so n = 40 pairable values in 11 units; the 7 missing cells and unit 12 are
    recorded as exclusions."""
    res = cal.agreement(_long(KRIPP_2011), metric=level, n_resamples=0)
    row = res.iloc[0]
    assert row["alpha"] == pytest.approx(expected, abs=5e-4)
    assert (row["n_units"], row["n_reviewers"], row["n_ratings"]) == (11, 4, 40)
    ex = exclusions(res).set_index("column")
    assert ex.loc["rating", "n"] == 7
    assert ex.loc["conversation_id", "row_ids"] == ("B-u12 / x",)
    assert np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])


def test_bands_follow_krippendorff_cutoffs():
    """.743 is in [.667, .800): tentative; .815 and .849 are >= .800: reliable."""
    bands = {lv: cal.agreement(_long(KRIPP_2011), metric=lv, n_resamples=0)["band"].iloc[0]
             for lv in ("nominal", "ordinal", "interval")}
    assert bands == {"nominal": "tentative", "ordinal": "reliable", "interval": "reliable"}


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_vectorised_bootstrap_alpha_equals_package_on_resampled_matrices(level):
    """The bootstrap weights per-unit coincidence matrices by how often a unit is drawn; that must
    equal krippendorff.alpha applied to the resampled reliability matrix built column by column."""
    rng = np.random.default_rng(3)
    mat = np.array(list(KRIPP_2011.values()))[:, :11]  # the 11 pairable units
    sub = _long({k: list(v) for k, v in zip(KRIPP_2011, mat)})
    rows, _, _ = cal._prepare(sub, card=None, units="conversation_id", pooled=False)
    counts, values = cal._unit_counts(rows, None)
    order = np.argsort([f"u{u}" for u in range(1, 12)])  # _unit_counts sorts unit labels
    for _ in range(5):
        draw = rng.integers(0, 11, 11)
        w = np.bincount(order.argsort()[draw], minlength=11).astype(float)
        mine = cal._alpha_from_counts(counts, values, level, w[None])[0]
        ref = krippendorff.alpha(reliability_data=mat[:, draw], level_of_measurement=level)
        assert mine == pytest.approx(ref, abs=1e-12)


def test_bootstrap_is_seeded_and_brackets_alpha(sample):
    """Same seed -> identical interval; another seed -> a different one; the interval contains
    the point estimate (Tone, 60 conversations x 5 reviewers)."""
    ratings, card = sample
    tone = ratings[ratings["category"].eq("Tone")]
    a = cal.agreement(tone, card=card, seed=11, n_resamples=500).iloc[0]
    b = cal.agreement(tone, card=card, seed=11, n_resamples=500).iloc[0]
    c = cal.agreement(tone, card=card, seed=12, n_resamples=500).iloc[0]
    assert (a["ci_low"], a["ci_high"]) == (b["ci_low"], b["ci_high"])
    assert (a["ci_low"], a["ci_high"]) != (c["ci_low"], c["ci_high"])
    assert a["ci_low"] < a["alpha"] < a["ci_high"]


def test_agreement_on_sample_matches_package_on_matrix_built_here(sample):
    """Per category, alpha equals krippendorff.alpha on a reviewers x conversations matrix built
    here with pandas (N/A -> nan); k-point categories agree far better than the near-constant
    binary ones; the pooled row covers every pairable conversation x category."""
    ratings, card = sample
    res = cal.agreement(ratings, card=card, n_resamples=200).set_index("category")
    assert list(res.index) == card.category_names
    for cat in ("Tone", "Empathy", "Solution"):
        m = ratings[ratings["category"].eq(cat)].pivot(index="reviewer_id", columns="conversation_id",
                                                        values="rating")
        ref = krippendorff.alpha(reliability_data=m.to_numpy(float), level_of_measurement="ordinal")
        assert res.loc[cat, "alpha"] == pytest.approx(ref, abs=1e-12)
    assert res.loc["Tone", "n_ratings"] == 300 and res.loc["Tone", "n_reviewers"] == 5
    assert res.loc[["Tone", "Solution"], "alpha"].min() > res.loc[["Product knowledge", "Grammar"], "alpha"].max()
    assert res.loc["Escalation handling", "small_sample"] and not res.loc["Tone", "small_sample"]
    pooled = cal.agreement(ratings, card=card, by_category=False, n_resamples=0)
    assert pooled["category"].tolist() == ["all"]
    assert pooled["n_units"].iloc[0] == res["n_units"].sum()


def test_undefined_alpha_is_nan_with_warning():
    """Every rating the same value: expected disagreement 0, alpha undefined."""
    df = _long({"a": [1, 1, 1], "b": [1, 1, 1]})
    with pytest.warns(UndefinedMetricWarning, match="same value"):
        res = cal.agreement(df, n_resamples=10)
    assert np.isnan(res["alpha"].iloc[0]) and pd.isna(res["band"].iloc[0])


# --- Fleiss' kappa --------------------------------------------------------------------------
FLEISS_WIKI = np.array([  # Wikipedia "Fleiss' kappa" worked example: 10 subjects x 5 categories, 14 raters
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
])


def test_fleiss_kappa_wikipedia_example():
    """Wikipedia's example (after Fleiss 1971): P_bar = 0.378, P_e = 0.213, kappa = 0.210.
    Raters are anonymous in Fleiss' kappa, so the j-th rating of each subject goes to 'r<j>'."""
    rows = []
    for s, cnt in enumerate(FLEISS_WIKI):
        vals = np.repeat(np.arange(1, 6), cnt)
        rows += [dict(review_id=f"s{s}-r{j}", conversation_id=f"s{s}", reviewer_id=f"r{j}",
                      category="x", rating=v) for j, v in enumerate(vals)]
    res = cal.agreement(pd.DataFrame(rows), metric="nominal", n_resamples=0).iloc[0]
    assert res["fleiss_kappa"] == pytest.approx(0.210, abs=5e-4)
    assert (res["n_units"], res["n_ratings"], res["n_reviewers"]) == (10, 140, 14)


def test_fleiss_kappa_with_missing_ratings_by_hand():
    """Units u1 = (a, a, b), u2 = (a, a, N/A), u3 = (b, b, b); a = 1, b = 2.
    P_1 = (2^2 + 1^2 - 3) / (3 * 2) = 1/3, P_2 = (4 - 2) / 2 = 1, P_3 = (9 - 3) / 6 = 1 ->
    P_bar = 7/9.  p_a = mean(2/3, 2/2, 0) = 5/9, p_b = 4/9 -> P_e = 41/81.
    kappa = (63/81 - 41/81) / (40/81) = 22/40 = 0.55."""
    df = _long({"x": [1, 1, 2], "y": [1, 1, 2], "z": [2, nan, 2]})
    res = cal.agreement(df, metric="nominal", n_resamples=0).iloc[0]
    assert res["fleiss_kappa"] == pytest.approx(0.55, abs=1e-12)


# --- Cohen's kappa --------------------------------------------------------------------------
def test_cohen_kappa_2x2_by_hand():
    """50 items: both yes 20, a yes / b no 5, a no / b yes 10, both no 15.
    p_o = 35/50 = .70; a yes .50, b yes .60 -> p_e = .5*.6 + .5*.4 = .50; kappa = .2/.5 = .40.
    SE (Fleiss-Cohen-Everitt) with p = [[.4, .1], [.2, .3]], rows .5/.5, cols .6/.4:
    sum_i p_ii (1 - (p_i. + p_.i)(1 - k))^2 = .4 (1 - 1.1*.6)^2 + .3 (1 - .9*.6)^2 = .04624 + .06348
    = .10972; off-diagonal (1 - k)^2 sum_{i != j} p_ij (p_.i + p_j.)^2 = .36 (.1 (.6 + .5)^2 +
    .2 (.4 + .5)^2) = .36 (.121 + .162) = .10188; minus (k - p_e (1 - k))^2 = (.4 - .3)^2 = .01
    ->  var = .2016 / (.25 * 50) = .016128, se = 0.126996."""
    t = np.array([[20, 5], [10, 15]])
    res = cal.cohen_kappa(_from_table(t), reviewers=("a", "b")).iloc[0]
    assert res["n"] == 50
    assert res["kappa"] == pytest.approx(0.40, abs=1e-12)
    assert res["se"] == pytest.approx(np.sqrt(0.2016 / 12.5), abs=1e-9)
    z = sps.norm.ppf(0.975)
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((0.4 - z * res["se"], 0.4 + z * res["se"]))
    assert res["band"] == "fair"


def test_cohen_kappa_se_matches_r_vcd_sexualfun():
    """R: ``vcd::Kappa(SexualFun)`` (Agresti's husband x wife table, n = 91) prints
    Unweighted 0.1293 (ASE 0.06860), Weighted (Equal-Spacing = linear) 0.2374 (ASE 0.07832)."""
    sf = np.array([[7, 7, 2, 3], [2, 8, 3, 7], [1, 5, 4, 9], [2, 8, 9, 14]])
    df = _from_table(sf, "husband", "wife")
    u = cal.cohen_kappa(df, reviewers=("husband", "wife")).iloc[0]
    w = cal.cohen_kappa(df, reviewers=("husband", "wife"), weights="linear").iloc[0]
    assert (u["kappa"], u["se"]) == pytest.approx((0.1293, 0.06860), abs=5e-5)
    assert (w["kappa"], w["se"]) == pytest.approx((0.2374, 0.07832), abs=5e-5)


def test_weighted_kappa_by_hand():
    """3 x 3 table (rows a, cols b) [[2,1,0],[0,3,2],[1,0,1]], n = 10; row margins .3/.5/.2,
    column margins .3/.4/.3, so p_i. p_.j = [[.09,.12,.09],[.15,.20,.15],[.06,.08,.06]].
    Unweighted: p_o = .6, p_e = .09 + .20 + .06 = .35, kappa = .25 / .65 = .384615.
    Linear weights (1, .5, 0): p_o = .6 + .5 (.1 + .2) = .75; p_e = .15 + .35 + .10 = .60;
    kappa = .15 / .40 = .375.
    Quadratic weights (1, .75, 0): p_o = .6 + .75 * .3 = .825; p_e = (.09 + .09) +
    (.1125 + .20 + .1125) + (.06 + .06) = .725; kappa = .1 / .275 = .363636."""
    df = _from_table(np.array([[2, 1, 0], [0, 3, 2], [1, 0, 1]]))
    got = {w: cal.cohen_kappa(df, reviewers=("a", "b"), weights=w)["kappa"].iloc[0] for w in cal.WEIGHTS}
    assert got[None] == pytest.approx(0.25 / 0.65, abs=1e-12)
    assert got["linear"] == pytest.approx(0.375, abs=1e-12)
    assert got["quadratic"] == pytest.approx(0.1 / 0.275, abs=1e-12)


def test_pairwise_kappa_covers_all_pairs_and_is_symmetric(sample):
    ratings, card = sample
    res = cal.pairwise_kappa(ratings, weights="quadratic", card=card)
    assert len(res) == 10 * 7
    assert res.groupby(["reviewer_a", "reviewer_b"]).ngroups == 10
    one = res[(res["reviewer_a"] == "cal_rev_1") & (res["reviewer_b"] == "cal_rev_4")].set_index("category")
    swapped = cal.cohen_kappa(ratings, reviewers=("cal_rev_4", "cal_rev_1"), weights="quadratic",
                              card=card).set_index("category")
    pd.testing.assert_series_equal(one["kappa"], swapped.loc[one.index, "kappa"], check_exact=False, rtol=1e-12)
    assert one.loc["Tone", "n"] == 60


# --- reviewer bias --------------------------------------------------------------------------
def _model_implied_loo_bias(n: int = 200_000, seed: int = 5) -> pd.DataFrame:
    """E[rating - mean of the other 4 reviewers] per reviewer and k-point category under the
    generator documented in data/README.md: z ~ N(0, 2) (q + e), rating = clip(round(mu + beta z +
    bias + N(0, sd)), 1, k), Empathy N/A 20 %.  Without the clip this would be
    b_r - mean_{j != r} b_j, e.g. 0.6 - (0 - 0.6 + 0 + 0.25) / 4 = +0.6875 for cal_rev_2; the
    clip shrinks it."""
    rng = np.random.default_rng(seed)
    b = np.array(list(PLANTED.values()))
    params = {"Tone": (5, 3.7, 0.7, 0.7, 0.0), "Empathy": (5, 3.5, 0.6, 0.8, 0.2),
              "Solution": (4, 2.9, 0.6, 0.6, 0.0), "Escalation handling": (5, 3.3, 0.6, 0.8, 0.0)}
    z = rng.normal(0, np.sqrt(2), n)
    out = {}
    for cat, (k, mu, beta, sd, na) in params.items():
        x = np.clip(np.round(mu + beta * z[:, None] + b + rng.normal(0, sd, (n, 5))), 1, k)
        x[rng.random((n, 5)) < na] = nan
        ok = ~np.isnan(x)
        x0, m = np.where(ok, x, 0.0), ok.sum(1, keepdims=True)
        others = (x0.sum(1, keepdims=True) - x0) / np.maximum(m - 1, 1)
        d = np.where(ok & (m > 1), x - others, nan)
        out[cat] = np.nanmean(d, axis=0)
    return pd.DataFrame(out, index=list(PLANTED))


def test_reviewer_bias_recovers_planted_biases(sample):
    """Pooled over the k-point categories (binary ones carry no planted bias), the order of the
    planted biases {0, +0.6, -0.6, 0, +0.25} is recovered, and each reviewer's 95 % CI contains the
    model-implied leave-one-out deviation (clip included; about -0.04, +0.56, -0.70, -0.04, +0.22),
    the reviewer's category mix weighting the per-category values.  Tolerance 0.15 steps
    (~2.4 x the SE of ~0.063) on the point estimates as well."""
    ratings, card = sample
    res = cal.reviewer_bias(ratings, card=card, categories=KPOINT).set_index("reviewer_id")
    est = res["bias_steps"]
    assert est["cal_rev_2"] > est["cal_rev_5"] > max(est["cal_rev_1"], est["cal_rev_4"])
    assert min(est["cal_rev_1"], est["cal_rev_4"]) > est["cal_rev_3"]
    implied = _model_implied_loo_bias()
    rated = ratings[ratings["category"].isin(KPOINT) & ratings["rating"].notna()]
    mix = rated.groupby(["reviewer_id", "category"]).size().unstack()[KPOINT]
    expected = (implied[KPOINT] * mix).sum(axis=1) / mix.sum(axis=1)
    for rev in PLANTED:
        assert res.loc[rev, "ci_low"] <= expected[rev] <= res.loc[rev, "ci_high"], rev
        assert abs(est[rev] - expected[rev]) < 0.15, rev
    # the two strongly biased reviewers are clearly flagged; the 0.25 one too (p < .01)
    assert res.loc[["cal_rev_2", "cal_rev_3", "cal_rev_5"], "p_value"].max() < 0.01
    assert res.loc["cal_rev_4", "p_value"] > 0.05
    assert (res["n_conversations"] == 60).all() and not res["small_sample"].any()


def test_reviewer_bias_per_category_is_one_sample_t_on_loo_deviations(sample):
    """Per category (one rating per reviewer and conversation) the bias is the mean of
    x - mean(others) computed here with plain pandas, with scipy.stats.ttest_1samp's p-value and
    t interval; in points it is 100 / (5 - 1) = 25 points per step on the 1-5 Tone scale."""
    ratings, card = sample
    res = cal.reviewer_bias(ratings, card=card, by_category=True).set_index(["reviewer_id", "category"])
    tone = ratings[ratings["category"].eq("Tone")]
    wide = tone.pivot(index="conversation_id", columns="reviewer_id", values="rating")
    for rev in wide.columns:
        d = wide[rev] - wide.drop(columns=rev).mean(axis=1)
        ref = sps.ttest_1samp(d, 0.0)
        ci = ref.confidence_interval(0.95)
        row = res.loc[(rev, "Tone")]
        assert row["bias_steps"] == pytest.approx(d.mean(), abs=1e-12)
        assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high), abs=1e-12)
        assert row["bias_points"] == pytest.approx(25 * d.mean(), abs=1e-9)
    # binary categories: no planted bias, one step = 100 points
    pk = res.xs("Product knowledge", level="category")
    assert (pk["bias_points"] - 100 * pk["bias_steps"]).abs().max() < 1e-9
    assert res.loc[("cal_rev_1", "Escalation handling"), "small_sample"]


def test_reviewer_bias_pooled_se_is_cluster_robust_by_hand():
    """Two categories x 3 conversations, reviewers p, q: q's deviations are the negatives of p's.
    p rates (cat x): 3, 2, 4 and (cat y): 2, 2, 2; q rates x: 1, 2, 2 and y: 2, 1, 1.
    p's deviations from q: x: 2, 0, 2; y: 0, 1, 1 -> n = 6, mean = 1.
    Per conversation, sum of (d - 1): c1 (1 + -1) = 0, c2 (-1 + 0) = -1, c3 (1 + 0) = 1.
    se^2 = G/(G-1) * sum_g s_g^2 / n^2 = 3/2 * 2 / 36 = 1/12; t(2) = 1 / sqrt(1/12) = 3.4641."""
    p = {"x": [3, 2, 4], "y": [2, 2, 2]}
    q = {"x": [1, 2, 2], "y": [2, 1, 1]}
    df = pd.concat([_long({"p": p[c], "q": q[c]}, category=c) for c in ("x", "y")], ignore_index=True)
    res = cal.reviewer_bias(df).set_index("reviewer_id")
    assert res.loc["p", "bias_steps"] == pytest.approx(1.0)
    assert res.loc["q", "bias_steps"] == pytest.approx(-1.0)
    assert res.loc["p", "se"] == pytest.approx(np.sqrt(1 / 12), abs=1e-12)
    assert res.loc["p", "p_value"] == pytest.approx(2 * sps.t.sf(np.sqrt(12), 2), rel=1e-9)
    assert (res.loc["p", "n"], res.loc["p", "n_conversations"]) == (6, 3)
    assert np.isnan(res.loc["p", "bias_points"])  # no card -> no points


# --- consensus ------------------------------------------------------------------------------
def test_consensus_median_mean_and_all_na_exclusion():
    """c1: 4, 3, 2 -> median 3, mean 3; c2: 5, 5, N/A -> 5 (unanimous); c3: 1, 2, 4, 4 (4
    reviewers) -> median (2 + 4) / 2 = 3, mean 11/4 = 2.75; c4: all N/A -> excluded."""
    df = _long({"a": [4, 5, 1, nan], "b": [3, 5, 2, nan], "c": [2, nan, 4, nan], "d": [nan, nan, 4, nan]})
    med = cal.consensus(df).set_index("conversation_id")
    mean = cal.consensus(df, method="mean").set_index("conversation_id")
    assert med["consensus"].to_dict() == {"u1": 3.0, "u2": 5.0, "u3": 3.0}
    assert mean.loc["u3", "consensus"] == pytest.approx(2.75)
    assert med["unanimous"].to_dict() == {"u1": False, "u2": True, "u3": False}
    assert med.loc["u1", "sd"] == pytest.approx(1.0)
    assert exclusions(med.reset_index())["row_ids"].iloc[0] == ("u4 / x",)


# --- bad input ------------------------------------------------------------------------------
def test_bad_input_messages_name_the_value(sample):
    ratings, card = sample
    one = ratings[ratings["reviewer_id"].eq("cal_rev_1")]
    with pytest.raises(DataValidationError, match=r"reviewer_id.*at least 2 distinct reviewers.*cal_rev_1.*K0000"):
        cal.agreement(one)
    disjoint = _long({"a": [1, 2, nan, nan], "b": [nan, nan, 3, 4]})
    with pytest.raises(DataValidationError, match=r"conversation_id.*no unit is rated.*'u1'.*a-u1 / x"):
        cal.agreement(disjoint)
    with pytest.raises(ParameterError, match="metric must be one of .*got 'ordnal'"):
        cal.agreement(ratings, metric="ordnal")
    with pytest.raises(ParameterError, match="weights must be one of .*got 'cubic'"):
        cal.pairwise_kappa(ratings, weights="cubic")
    with pytest.raises(ParameterError, match=r"\['cal_rev_9'\] have no pairable ratings"):
        cal.cohen_kappa(ratings, reviewers=("cal_rev_1", "cal_rev_9"))
    with pytest.raises(ParameterError, match="method must be one of .*got 'mode'"):
        cal.consensus(ratings, method="mode")
    with pytest.raises(ParameterError, match="units column 'ticket' not in ratings"):
        cal.agreement(ratings, units="ticket")
    with pytest.raises(ParameterError, match=r"categories \['Tonne'\] not in the ratings"):
        cal.reviewer_bias(ratings, categories=["Tonne"])


def test_bad_rows_are_reported_with_row_ids(sample):
    ratings, card = sample
    twice = _long({"a": [1, 2, 3], "b": [1, 2, 2]})
    twice = pd.concat([twice, twice.iloc[[0]].assign(review_id="again")], ignore_index=True)
    with pytest.raises(DataValidationError, match=r"more than once.*'u1 / a / x'.*'again'"):
        cal.agreement(twice)
    off = ratings.copy()
    off.loc[off.index[2], "rating"] = 7.0  # Tone on a 1-5 scale
    rid = off.loc[off.index[2], "review_id"]
    with pytest.raises(DataValidationError, match=rf"rating off the scale of 'Tone'.*\[7\].*{rid}"):
        cal.agreement(off, card=card)


def test_pair_without_common_units_warns_and_is_nan():
    df = _long({"a": [1, 2, nan, nan], "b": [1, 2, 3, 4], "c": [nan, nan, 3, 3]})
    with pytest.warns(UndefinedMetricWarning, match=r"a vs c"):
        res = cal.pairwise_kappa(df)
    ac = res[(res["reviewer_a"] == "a") & (res["reviewer_b"] == "c")].iloc[0]
    assert ac["n"] == 0 and np.isnan(ac["kappa"])


# --- real data: FED (Mehri & Eskenazi 2020) --------------------------------------------------
@pytest.mark.realdata
def test_fed_agreement_matches_package_on_raw_json(shared_data):
    """Agreement on FED per category via qakit.realdata.load_fed(); alpha for 'Interesting'
    equals krippendorff.alpha on an annotator-slot x item matrix built here from the raw JSON."""
    realdata = pytest.importorskip("qakit.realdata", reason="qakit.realdata not written yet")
    path = shared_data / "fed-dialog-quality" / "fed_data.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    long = realdata.load_fed()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        res = cal.agreement(long, metric="ordinal", n_resamples=100).set_index("category")
    items = [d["annotations"]["Interesting"] for d in raw if "Interesting" in d["annotations"]]
    width = max(len(v) for v in items)

    def num(v):
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else nan

    mat = np.array([[num(v[i]) if i < len(v) else nan for v in items] for i in range(width)])
    ref = krippendorff.alpha(reliability_data=mat, level_of_measurement="ordinal")
    assert res.loc["Interesting", "alpha"] == pytest.approx(ref, abs=1e-9)
    assert res.loc["Interesting", "n_units"] == int((np.isfinite(mat).sum(axis=0) >= 2).sum())


def test_progress_bar_does_not_change_results():
    df = _long(KRIPP_2011)
    quiet = cal.agreement(df, n_resamples=50, seed=1)
    loud = cal.agreement(df, n_resamples=50, seed=1, progress=True)
    pd.testing.assert_frame_equal(quiet, loud)
    pd.testing.assert_frame_equal(cal.pairwise_kappa(df.dropna(subset=["rating"]).query("reviewer_id != 'A'")),
                                  cal.pairwise_kappa(df.dropna(subset=["rating"]).query("reviewer_id != 'A'"),
                                                     progress=True))
