"""Scorecard health (issue 25): item analysis checked by hand, against pandas/scipy computed another way,
against the closed forms of McDonald's omega, and on the real multi-rater FED ratings."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from qakit import Category, Scorecard
from qakit import schema as S
from qakit.errors import DataValidationError, ParameterError, SmallSampleWarning, UndefinedMetricWarning
from qakit.health import (
    THRESHOLDS,
    cronbach_alpha,
    feldt_ci,
    omega_total,
    one_factor_loadings,
    pairwise_cov,
    scorecard_health,
)


def _ratings(matrix: dict[str, list], *, conv_prefix: str = "c") -> pd.DataFrame:
    """Long ratings from category -> list of ratings (one per review; None = N/A)."""
    n = len(next(iter(matrix.values())))
    rows = []
    for i in range(n):
        for cat, vals in matrix.items():
            rows.append({"review_id": f"r{i}", "conversation_id": f"{conv_prefix}{i}", "agent_id": "a",
                         "reviewer_id": "q", "reviewed_at": "2026-11-02", "category": cat,
                         "rating": np.nan if vals[i] is None else vals[i]})
    return pd.DataFrame(rows)


def _quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return fn(*a, **kw)


HAND = {"A": [5, 4, 4, 2, 1], "B": [4, 4, 3, 2, 2], "C": [5, 3, 4, 1, 2]}


def test_alpha_by_hand():
    """Three 1-5 categories on 5 reviews (alpha is the same on ratings and on 0..1 scores: one
    common linear map). Variances (ddof 1): A 27/10, B 1, C 5/2; totals 14 11 11 5 5 have variance
    81/5. alpha = 3/2 (1 - (27/10 + 1 + 5/2) / (81/5)) = 3/2 (1 - 31/81) = 25/27 = 0.925926.
    Without C: totals 9 8 7 4 3, variance 67/10; alpha = 2 (1 - 37/10 / 67/10) = 60/67 = 0.895522.
    Feldt with n = 5, k = 3: 1 - (2/27) F_{.975; 4, 8} and 1 - (2/27) F_{.025; 4, 8}."""
    card = Scorecard([Category(c, scale=5) for c in HAND])
    h = _quiet(scorecard_health, _ratings(HAND), card, n_resamples=0, min_n=2)
    a = h.consistency.set_index("statistic").loc["alpha"]
    assert a["estimate"] == pytest.approx(25 / 27)
    assert a["n"] == 5 and a["n_items"] == 3
    assert a["ci_low"] == pytest.approx(1 - 2 / 27 * stats.f.ppf(0.975, 4, 8))
    assert a["ci_high"] == pytest.approx(1 - 2 / 27 * stats.f.ppf(0.025, 4, 8))
    cats = h.categories.set_index("category")
    assert cats.loc["C", "alpha_if_dropped"] == pytest.approx(60 / 67)
    # corrected item-total r: the item against the sum (here: mean) of the others, R psych::alpha r.drop
    for c in HAND:
        rest = np.mean([HAND[o] for o in HAND if o != c], axis=0)
        assert cats.loc[c, "item_rest_r"] == pytest.approx(stats.pearsonr(HAND[c], rest).statistic)
        lo, hi = np.tanh(np.arctanh(cats.loc[c, "item_rest_r"]) + np.array([-1, 1]) * 1.959963985 / np.sqrt(2))
        assert (cats.loc[c, "ci_low"], cats.loc[c, "ci_high"]) == pytest.approx((lo, hi))


def test_feldt_ci_is_the_f_quantile_interval():
    """Feldt et al. (1987): (1 - alpha) / (1 - alpha_hat) ~ F(n - 1, (n - 1)(k - 1)), so the
    lower limit L satisfies P(F <= (1 - L) / (1 - alpha_hat)) = 0.975 (scipy's F cdf)."""
    lo, hi = feldt_ci(0.8, 100, 5)
    assert stats.f.cdf((1 - lo) / 0.2, 99, 396) == pytest.approx(0.975)
    assert stats.f.cdf((1 - hi) / 0.2, 99, 396) == pytest.approx(0.025)
    assert np.isnan(feldt_ci(0.8, 2, 5)[0])


def test_pairwise_alpha_matches_pandas_pairwise_cov():
    """With N/A, alpha uses pairwise-complete covariances (R psych::alpha's default use="pairwise");
    pandas' DataFrame.cov() is pairwise-complete too: the same alpha computed from it by hand."""
    rng = np.random.default_rng(3)
    z = rng.normal(size=200)
    m = {f"c{j}": np.clip(np.round(3 + z * (0.5 + 0.2 * j) + rng.normal(0, 1, 200)), 1, 5).tolist() for j in range(4)}
    m["c1"] = [None if i % 4 == 0 else v for i, v in enumerate(m["c1"])]
    m["c3"] = [None if i % 3 == 0 else v for i, v in enumerate(m["c3"])]
    card = Scorecard([Category(c, scale=5) for c in m])
    h = _quiet(scorecard_health, _ratings(m), card, n_resamples=0)
    df = pd.DataFrame(m, dtype=float).sub(1).div(4)
    C = df.cov().to_numpy()
    k = 4
    expected = k / (k - 1) * (1 - np.trace(C) / C.sum())
    a = h.consistency.set_index("statistic").loc["alpha"]
    assert a["estimate"] == pytest.approx(expected)
    assert a["n"] == df.notna().astype(int).T.dot(df.notna().astype(int)).to_numpy().min()
    pairs = h.pairs.set_index(["category_a", "category_b"])
    assert pairs.loc[("c0", "c1"), "r"] == pytest.approx(df["c0"].corr(df["c1"]))
    assert pairs.loc[("c0", "c1"), "n"] == int(df[["c0", "c1"]].notna().all(axis=1).sum())
    assert h.categories.set_index("category").loc["c1", "na_rate"] == pytest.approx(50 / 200)


def test_omega_closed_forms():
    """McDonald's omega total of a one-factor model, (sum l)^2 / ((sum l)^2 + sum(1 - l^2)):

    - tau-equivalent (all loadings 0.6, so every r = 0.36), 5 items: omega equals standardised
      alpha = 5 (.36) / (1 + 4 (.36)) = 1.8 / 2.44 = 0.737705;
    - congeneric loadings 0.8, 0.7, 0.6, 0.5 (r_ij = l_i l_j): loadings recovered exactly;
      omega = 2.6^2 / (6.76 + 0.36 + 0.51 + 0.64 + 0.75) = 6.76 / 9.02 = 0.749446."""
    R5 = np.full((5, 5), 0.36)
    np.fill_diagonal(R5, 1.0)
    assert omega_total(R5) == pytest.approx(1.8 / 2.44, abs=1e-8)
    lam = np.array([0.8, 0.7, 0.6, 0.5])
    R4 = np.outer(lam, lam)
    np.fill_diagonal(R4, 1.0)
    assert one_factor_loadings(R4) == pytest.approx(lam, abs=1e-6)
    assert omega_total(R4) == pytest.approx(6.76 / 9.02, abs=1e-7)


def test_omega_bootstrap_interval_is_seeded_and_covers_the_estimate():
    rng = np.random.default_rng(1)
    z = rng.normal(size=300)
    m = {f"c{j}": np.clip(np.round(3 + z + rng.normal(0, 1, 300)), 1, 5).tolist() for j in range(4)}
    card = Scorecard([Category(c, scale=5) for c in m])
    h1 = _quiet(scorecard_health, _ratings(m), card, n_resamples=200, seed=5)
    h2 = _quiet(scorecard_health, _ratings(m), card, n_resamples=200, seed=5)
    o = h1.consistency.set_index("statistic").loc["omega_total"]
    pd.testing.assert_frame_equal(h1.consistency, h2.consistency)
    assert o["ci_low"] < o["estimate"] < o["ci_high"]
    df = pd.DataFrame(m, dtype=float)
    assert o["estimate"] == pytest.approx(omega_total(df.corr().to_numpy()))


def test_omega_bootstrap_equals_resampling_the_reviews_themselves():
    """The bootstrap draws a resample as counts per distinct rating pattern (reviews with the same
    ratings, N/A included, are interchangeable): ``multinomial(n, counts / n)`` over the patterns
    sorted by value (seed 7). Reference: the same draws built here from pandas' own pattern counts,
    each resample's rows repeated and correlated by pandas' pairwise-complete ``DataFrame.corr()``,
    omega of that, and numpy's 2.5 % / 97.5 % quantiles: equal to 1e-9. 240 reviews with few distinct patterns (binary and
    3-point categories, some N/A)."""
    rng = np.random.default_rng(3)
    n = 240
    z = rng.normal(size=n)
    m = {"a": (z + rng.normal(0, 1, n) > 0).astype(float), "b": np.clip(np.round(2 + z + rng.normal(0, 1, n)), 1, 3),
         "c": (z + rng.normal(0, 1.5, n) > -0.5).astype(float), "d": np.clip(np.round(2 + z / 2 + rng.normal(0, 1, n)), 1, 3)}
    m["b"][rng.random(n) < 0.1] = np.nan
    card = Scorecard([Category("a", scale="binary"), Category("b", scale="1-3"), Category("c", scale="binary"),
                      Category("d", scale="1-3")])
    rows = [{"review_id": f"r{i:03d}", "conversation_id": f"c{i:03d}", "agent_id": "x", "reviewer_id": "q",
             "reviewed_at": "2026-11-02", "category": c, "rating": m[c][i]} for i in range(n) for c in m]
    h = _quiet(scorecard_health, pd.DataFrame(rows), card, n_resamples=150, seed=7)
    o = h.consistency.set_index("statistic").loc["omega_total"]
    df = pd.DataFrame(m)
    assert len(df.drop_duplicates()) < n / 4  # (the patterns repeat)
    # the documented draw: the distinct patterns sorted by their values (N/A last; the card's scores
    # are increasing in the ratings, so the ratings' order is the scores'), each resample's counts
    # multinomial(n, counts / n); a resample is those rows repeated, correlated by pandas
    pat = df.groupby(list(df.columns), dropna=False).size().reset_index(name="w")
    pat = pat.sort_values(list(df.columns), na_position="last", kind="stable").reset_index(drop=True)
    draws = np.random.default_rng(7)
    boot = np.array([omega_total(pat[list(df.columns)].loc[pat.index.repeat(draws.multinomial(n, pat["w"] / n))]
                                 .corr().to_numpy()) for _ in range(150)])
    assert np.isfinite(boot).all()
    assert (o["ci_low"], o["ci_high"]) == pytest.approx(tuple(np.quantile(boot, [0.025, 0.975])), abs=1e-9)


def test_flags_ceiling_reversed_redundant_and_rarely_rated():
    """Greeting passed on 39 of 40 reviews (ceiling); Rude runs against the rest; Tone2 duplicates
    Tone; Escalation is rated on 8 of 40 reviews (rarely rated)."""
    rng = np.random.default_rng(7)
    z = rng.normal(size=40)
    tone = np.clip(np.round(3 + 1.2 * z + rng.normal(0, 0.4, 40)), 1, 5)
    m = {"Tone": tone.tolist(), "Tone2": tone.tolist(),
         "Solution": np.clip(np.round(3 + z + rng.normal(0, 0.8, 40)), 1, 5).tolist(),
         "Rude": np.clip(np.round(3 - 1.2 * z + rng.normal(0, 0.4, 40)), 1, 5).tolist(),
         "Greeting": [1.0] * 39 + [0.0],
         "Escalation": [v if i < 8 else None for i, v in enumerate(np.clip(np.round(3 + z), 1, 5).tolist())]}
    card = Scorecard([Category(c, scale=("binary" if c == "Greeting" else 5)) for c in m])
    h = _quiet(scorecard_health, _ratings(m), card, n_resamples=0)
    f = h.categories.set_index("category")["flags"]
    assert "ceiling" in f["Greeting"]
    assert "runs against the card" in f["Rude"] and "poor discrimination" in f["Rude"]
    assert "redundant with Tone2" in f["Tone"] and "redundant with Tone" in f["Tone2"]
    assert "rarely rated" in f["Escalation"]
    g = h.categories.set_index("category").loc["Greeting"]
    assert g["full_marks_rate"] == pytest.approx(39 / 40) and g["fail_rate"] == pytest.approx(1 / 40)
    assert set(THRESHOLDS["flag"]) >= {"ceiling", "poor discrimination", "redundant pair", "low alpha"}
    assert h.thresholds["source"].str.contains("Ebel & Frisbie").any()


def test_no_variation_is_warned_and_left_out_of_alpha():
    m = {"A": [5, 4, 3, 2, 1], "B": [4, 4, 3, 2, 1], "Greeting": [1, 1, 1, 1, 1]}
    card = Scorecard([Category("A", scale=5), Category("B", scale=5), Category("Greeting")])
    with pytest.warns(UndefinedMetricWarning, match=r"one value only \(Greeting\)"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallSampleWarning)
            h = scorecard_health(_ratings(m), card, n_resamples=0)
    assert h.consistency.set_index("statistic").loc["alpha", "n_items"] == 2
    assert "no variation" in h.categories.set_index("category").loc["Greeting", "flags"]


def test_csat_correlation_and_exclusions():
    """Per category: Pearson r with the CSAT answer of the same conversation (scipy.stats.pearsonr);
    a review with every category N/A is itemised."""
    m = {"A": [5, 4, 3, 2, 1, 4, None], "B": [4, 4, 3, 1, 2, 5, None]}
    card = Scorecard([Category("A", scale=5), Category("B", scale=5)])
    surveys = pd.DataFrame({"conversation_id": [f"c{i}" for i in range(6)], "kind": "csat",
                            "score": [5.0, 4, 4, 1, 2, 3], "answered_at": None})
    h = _quiet(scorecard_health, _ratings(m), card, surveys=surveys, n_resamples=0)
    a = h.categories.set_index("category").loc["A"]
    assert a["csat_n"] == 6
    assert a["csat_r"] == pytest.approx(stats.pearsonr([5, 4, 3, 2, 1, 4], [5, 4, 4, 1, 2, 3]).statistic)
    ex = S.exclusions(h.categories)
    assert ex["row_ids"].iloc[0] == ("r6",)


def test_bad_input():
    with pytest.raises(ParameterError, match="card must be a qakit Scorecard"):
        scorecard_health(_ratings(HAND), {"A": 1})
    card = Scorecard([Category(c, scale=5) for c in HAND])
    with pytest.raises(ParameterError, match="at least 3 reviews"):
        scorecard_health(_ratings({c: v[:2] for c, v in HAND.items()}), card)
    with pytest.raises(ParameterError, match="level must be"):
        scorecard_health(_ratings(HAND), card, level=95)


def test_pairwise_cov_small():
    X = np.array([[1.0, 2.0], [2.0, np.nan], [3.0, 4.0], [4.0, 3.0]])
    C, n = pairwise_cov(X)
    assert C[0, 1] == pytest.approx(np.cov([1, 3, 4], [2, 4, 3])[0, 1])
    assert cronbach_alpha(np.array([[1.0]])) != cronbach_alpha(np.array([[1.0]]))  # NaN for one item


@pytest.mark.realdata
def test_fed_turn_level_health(shared_data):
    """The real FED ratings (5 annotators per dialogue turn, 8 qualities rated 0-2 / 0-1): the card's
    alpha equals alpha from pandas' pairwise covariances of the same 0..1 scores, and Understandable
    (0/1, nearly always 1) is the least discriminating quality."""
    from qakit.realdata import load_fed

    fed = load_fed(shared_data / "fed-dialog-quality")
    turn = fed[(fed["level"] == "turn") & (fed["category"] != "Overall")]
    cats = sorted(turn["category"].unique())
    card = Scorecard([Category(c, scale=("binary" if c == "Understandable" else "0-2")) for c in cats])
    h = _quiet(scorecard_health, turn.drop(columns=["level"]), card, n_resamples=100)
    wide = turn.pivot(index="review_id", columns="category", values="rating")[cats]
    wide = wide / wide.max()  # 0-2 -> 0..1, 0/1 stays
    C = wide.cov().to_numpy()
    alpha = len(cats) / (len(cats) - 1) * (1 - np.trace(C) / C.sum())
    got = h.consistency.set_index("statistic")
    assert got.loc["alpha", "estimate"] == pytest.approx(alpha)
    assert 0 < got.loc["omega_total", "ci_low"] < got.loc["omega_total", "ci_high"] < 1
    t = h.categories.set_index("category")
    assert t["n"].sum() == turn["rating"].notna().sum()
    assert t["full_marks_rate"].idxmax() == "Understandable"


def test_explorer_shows_discrimination_beside_each_weight():
    """The explorer's row for each category holds its weight slider, critical box and a label with
    the corrected item-total r, recomputed here with pandas on the sample (category score / 100 vs
    the mean of the review's other rated categories)."""
    from qakit import datasets
    from qakit.widgets import ScorecardExplorer

    d = datasets.sample_data_dir()
    card = datasets.load_sample_scorecard()
    ratings = pd.read_parquet(d / "ratings.parquet")
    ex = ScorecardExplorer(ratings, card)
    rows = ex.controls.children
    assert [r.children[2] for r in rows] == [ex.discrimination[n] for n in card.category_names]
    wide = ratings.pivot(index="review_id", columns="category", values="rating")
    scaled = pd.DataFrame({c.name: (wide[c.name] - c.scale.min) / (c.scale.max - c.scale.min) for c in card.categories})
    for name in ("Compliance", "Tone"):
        rest = scaled.drop(columns=[name]).mean(axis=1)
        ok = scaled[name].notna() & rest.notna()
        r = np.corrcoef(scaled.loc[ok, name], rest[ok])[0, 1]
        assert f"discrimination r = {r:.2f}" in ex.discrimination[name].value
    assert "ceiling" in ex.discrimination["Compliance"].value and "poor discrimination" in ex.discrimination["Compliance"].value


# --- independent implementations: pingouin (alpha + F interval), factor_analyzer (minres loadings) -------------
def _factor_data(seed: int = 11, n: int = 240) -> dict[str, list]:
    """Five 1-5 categories driven by one latent quality with different loadings (seeded)."""
    rng = np.random.default_rng(seed)
    g = rng.normal(size=n)
    out = {}
    for name, lam in zip("VWXYZ", (0.8, 0.7, 0.6, 0.5, 0.3)):
        x = lam * g + np.sqrt(1 - lam**2) * rng.normal(size=n)
        out[name] = list(np.clip(np.round(3 + 1.2 * x), 1, 5))
    return out


def test_alpha_and_its_interval_equal_pingouin():
    """Cronbach's alpha and its 95 % interval of the card equal pingouin.cronbach_alpha on the same
    ratings (pingouin rounds its interval to 3 decimals; its interval is the same F interval,
    Feldt 1987). Alpha does not change when every item is rescaled alike (1-5 -> 0..1)."""
    import pingouin
    data = _factor_data()
    h = _quiet(scorecard_health, _ratings(data), Scorecard([Category(c, scale="1-5") for c in data]), n_resamples=50)
    got = h.consistency.set_index("statistic").loc["alpha"]
    alpha, ci = pingouin.cronbach_alpha(pd.DataFrame(data), ci=0.95)
    assert got["estimate"] == pytest.approx(alpha, abs=1e-12)
    assert [got["ci_low"], got["ci_high"]] == pytest.approx(list(ci), abs=5e-4)


def test_omega_loadings_minimise_the_off_diagonal_residuals():
    """The one-factor loadings behind omega are the minres solution (R psych::fa(fm = "minres")):
    they minimise sum_{i<j} (r_ij - l_i l_j)^2, found here independently with
    scipy.optimize.least_squares; omega total from those loadings, (sum l)^2 / ((sum l)^2 +
    sum(1 - l^2)), equals qakit's."""
    from scipy.optimize import least_squares

    Rm = pd.DataFrame(_factor_data()).corr().to_numpy()
    iu = np.triu_indices_from(Rm, 1)
    fit = least_squares(lambda lam: Rm[iu] - np.outer(lam, lam)[iu], x0=np.full(len(Rm), 0.5), xtol=1e-15,
                        ftol=1e-15, gtol=1e-15)
    ref = np.abs(fit.x)
    assert one_factor_loadings(Rm) == pytest.approx(ref, abs=1e-6)
    omega_ref = ref.sum() ** 2 / (ref.sum() ** 2 + (1 - ref**2).sum())
    assert omega_total(Rm) == pytest.approx(omega_ref, abs=1e-6)


def test_duckdb_patterns_give_the_pandas_numbers(tmp_path):
    """The ratings as a Parquet file, counted per rating pattern on DuckDB (only the patterns and their
    counts leave the engine): every number of the pandas health equal to 1e-12, CSAT correlations,
    fail rates (a ``fail_values`` rating), the seeded omega interval and the itemised review with no
    rated category included; the rows shuffled give the same numbers (the patterns' canonical order)."""
    rng = np.random.default_rng(11)
    n = 400
    z = rng.normal(size=n)
    m = {"a": (z + rng.normal(0, 1, n) > 0).astype(float), "b": np.clip(np.round(3 + z + rng.normal(0, 1, n)), 1, 5),
         "c": np.clip(np.round(2 + z / 2 + rng.normal(0, 1, n)), 1, 3)}
    m["b"][rng.random(n) < 0.1] = np.nan
    for c in m:  # review 7: nothing rated
        m[c][7] = np.nan
    card = Scorecard([Category("a", scale="binary"), Category("b", scale=5, fail_values=[1]),
                      Category("c", scale="1-3", critical=True)])
    r = pd.DataFrame([{"review_id": f"r{i:03d}", "conversation_id": f"c{i:03d}", "agent_id": "x", "reviewer_id": "q",
                       "reviewed_at": pd.Timestamp("2026-11-02", tz="UTC"), "category": c, "rating": m[c][i]}
                      for i in range(n) for c in m])
    sv = pd.DataFrame({"conversation_id": [f"c{i:03d}" for i in range(0, n, 2)], "kind": "csat",
                       "score": np.clip(np.round(3 + z[::2] + rng.normal(0, 1, n // 2)), 1, 5),
                       "answered_at": pd.Timestamp("2026-11-03", tz="UTC")})
    r.sample(frac=1, random_state=1).to_parquet(tmp_path / "ratings.parquet", index=False)
    a = _quiet(scorecard_health, r, card, surveys=sv, n_resamples=200, seed=3, min_n=5)
    b = _quiet(scorecard_health, str(tmp_path / "ratings.parquet"), card, surveys=sv, n_resamples=200, seed=3,
               min_n=5, engine="duckdb")
    for x, y in ((a.categories, b.categories), (a.pairs, b.pairs), (a.consistency, b.consistency)):
        pd.testing.assert_frame_equal(x, y, check_exact=False, rtol=0, atol=1e-12)
    rated = m["b"][~np.isnan(m["b"])]  # by hand: a 1 (fail value), or a score (r - 1) / 4 below the threshold
    thr = card.categories[1].critical_threshold
    assert a.categories.set_index("category").loc["b", "fail_rate"] == pytest.approx(
        np.mean((rated == 1) | ((rated - 1) / 4 * 100 < thr)), abs=1e-12)
    assert a.categories["csat_n"].max() > 150 and np.isfinite(a.categories["csat_r"]).all()
    # r with CSAT: the reviews' own Pearson r (scipy; linear in the raw rating), though many reviews with
    # different answers share a rating pattern (the answers ride along as sums, not as more patterns)
    csat = dict(zip(sv["conversation_id"], sv["score"]))
    for c in m:
        i = [k for k in range(n) if not np.isnan(m[c][k]) and f"c{k:03d}" in csat]
        want = stats.pearsonr(m[c][i], [csat[f"c{k:03d}"] for k in i]).statistic
        got = a.categories.set_index("category").loc[c]
        assert got["csat_n"] == len(i) and got["csat_r"] == pytest.approx(want, abs=1e-12)
    assert S.exclusions(a.categories)["row_ids"].tolist() == S.exclusions(b.categories)["row_ids"].tolist() == [("r007",)]


@pytest.mark.parametrize("defect", ["spread over two conversations", "a category not on the card",
                                    "a rating off its scale"])
def test_duckdb_health_refuses_what_pandas_refuses(tmp_path, defect):
    """The card's own checks run on DuckDB as in pandas (they are scoring's: ``score_reviews`` on the
    engine): a review whose rows name two conversations, a category the card does not have, a rating
    off its category's scale -- each one DataValidationError naming the column and the review, the same
    problem on both engines. (DuckDB used to count such ratings without a word: the review was given
    its smallest conversation id, the unknown category and the off-scale rating were left out, or the
    error named a made-up review.)"""
    r = _ratings(HAND).assign(reviewed_at=pd.Timestamp("2026-11-02", tz="UTC"))
    if defect == "spread over two conversations":
        r.loc[(r["review_id"] == "r2") & (r["category"] == "C"), "conversation_id"] = "c-other"
        column, problem = "conversation_id", "one review spread over several conversation_id values"
    elif defect == "a category not on the card":
        r.loc[(r["review_id"] == "r2") & (r["category"] == "C"), "category"] = "Courtesy"
        column, problem = "category", "category not on scorecard"
    else:
        r.loc[(r["review_id"] == "r2") & (r["category"] == "C"), "rating"] = 7.0
        column, problem = "rating", "rating off the scale of 'C'"
    card = Scorecard([Category(c, scale=5) for c in HAND])
    r.to_parquet(tmp_path / "ratings.parquet", index=False)
    got = {}
    for engine, data in (("pandas", r), ("duckdb", str(tmp_path / "ratings.parquet"))):
        with pytest.raises(DataValidationError) as e:
            _quiet(scorecard_health, data, card, n_resamples=50, engine=engine)
        f = e.value.failures
        row = f[f["column"] == column]
        assert len(row) == 1 and row["check"].iloc[0].startswith(problem), (engine, f)
        assert "r2" in str(e.value), engine
        got[engine] = row["check"].iloc[0]
    assert got["pandas"] == got["duckdb"]


@pytest.mark.parametrize("n_cats", [3, 11, 19])
def test_duckdb_pattern_keys_of_every_width_give_the_pandas_numbers(tmp_path, n_cats):
    """On DuckDB a review's rating pattern is one integer: each category's rated values numbered
    1..L in bit_length(L) bits, OR-ed per review. 0-100 ratings take 7 bits per category: 3
    categories fit a 64-bit key, 11 (77 bits) a 128-bit one, 19 (133 bits) neither, so those are
    pivoted per category instead. Each width gives the pandas numbers to 1e-12, N/A ratings and a
    review with nothing rated included."""
    rng = np.random.default_rng(n_cats)
    n = 300
    z = rng.normal(size=n)
    names = [f"k{j:02d}" for j in range(n_cats)]
    m = {c: np.clip(np.round(50 + 20 * z + rng.normal(0, 15, n)), 0, 100) for c in names}
    for c in names:
        m[c][rng.random(n) < 0.05] = np.nan
        m[c][4] = np.nan  # review 4: nothing rated
    assert min(len(np.unique(v[~np.isnan(v)])) for v in m.values()) >= 64  # (7 bits per category)
    card = Scorecard([Category(c, scale="0-100") for c in names])
    r = pd.DataFrame([{"review_id": f"r{i:03d}", "conversation_id": f"c{i:03d}", "agent_id": "x", "reviewer_id": "q",
                       "reviewed_at": pd.Timestamp("2026-11-02", tz="UTC"), "category": c, "rating": m[c][i]}
                      for i in range(n) for c in names])
    r.to_parquet(tmp_path / "ratings.parquet", index=False)
    a = _quiet(scorecard_health, r, card, n_resamples=50, seed=2)
    b = _quiet(scorecard_health, str(tmp_path / "ratings.parquet"), card, n_resamples=50, seed=2, engine="duckdb")
    for x, y in ((a.categories, b.categories), (a.pairs, b.pairs), (a.consistency, b.consistency)):
        pd.testing.assert_frame_equal(x, y, check_exact=False, rtol=0, atol=1e-12)
    got = S.exclusions(b.categories)["row_ids"].tolist()
    assert got == S.exclusions(a.categories)["row_ids"].tolist() and "r004" in got[0]


def _patterned(n: int, seed: int) -> tuple[pd.DataFrame, Scorecard, pd.DataFrame]:
    """``n`` reviews of four 1-3 categories driven by one factor (omega ~0.6), long ratings, and the
    wide matrix of scores (0, 0.5, 1)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    wide = pd.DataFrame({c: np.clip(np.round(2 + 0.8 * z + rng.normal(0, 0.8, n)), 1, 3) for c in "abcd"})
    long = wide.assign(review_id=[f"r{i}" for i in range(n)]).melt("review_id", var_name="category", value_name="rating")
    long = long.assign(conversation_id="c" + long["review_id"].str[1:], agent_id="x", reviewer_id="q",
                       reviewed_at=pd.Timestamp("2026-11-02", tz="UTC"))
    return long, Scorecard([Category(c, scale="1-3") for c in "abcd"]), (wide - 1) / 2


def test_normal_bootstrap_matches_resampling_the_reviews_at_100000_reviews():
    """From 100,000 reviews on, omega's bootstrap draws each resample's sums from their normal
    approximation. Reference, computed without qakit's sums: 400 resamples of the 100,000 reviews
    drawn by hand (``multinomial(n, counts / n)`` over numpy's distinct rows), each resample's
    correlation matrix from ``numpy.cov(..., fweights=counts)``, omega of that (:func:`omega_total`,
    checked against its closed forms above). The normal draws' standard deviation is within 10 % of
    the resamples' (the Monte-Carlo error of an SD from 400 draws is ~3.5 %), and both percentile
    intervals' ends agree within a third of the interval's half-width (their Monte-Carlo error)."""
    long, card, wide = _patterned(100_000, 4)
    h = _quiet(scorecard_health, long, card, n_resamples=1000, seed=1)
    o = h.consistency.set_index("statistic").loc["omega_total"]
    assert "normal approximation" in o["ci_method"]
    pat, counts = np.unique(wide.to_numpy(), axis=0, return_counts=True)
    draws = np.random.default_rng(9)
    ref = np.array([omega_total(_cov_to_corr(np.cov(pat.T, fweights=draws.multinomial(len(wide), counts / len(wide)))))
                    for _ in range(400)])
    rlo, rhi = np.quantile(ref, [0.025, 0.975])
    half = (rhi - rlo) / 2
    assert abs(o["ci_low"] - rlo) < half / 3 and abs(o["ci_high"] - rhi) < half / 3
    # the normal draws' spread: the same function with n_resamples draws, read back from the interval
    # of a 2-sided 68 % level (+-1 SD for a near-normal distribution)
    h68 = _quiet(scorecard_health, long, card, n_resamples=1000, seed=1, level=0.6827)
    o68 = h68.consistency.set_index("statistic").loc["omega_total"]
    assert (o68["ci_high"] - o68["ci_low"]) / 2 == pytest.approx(ref.std(ddof=1), rel=0.10)


def _cov_to_corr(c: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.diag(c))
    return c / np.outer(d, d)


def test_bootstrap_choice_auto_resample_normal_and_a_bad_value(monkeypatch):
    """``bootstrap="auto"`` resamples the reviews below :data:`NORMAL_BOOTSTRAP_FROM` reviews and
    uses the normal approximation from it on (the method is named in ``ci_method``); the explicit
    choices force either; a bad value is one ParameterError naming the parameter and the value."""
    import qakit.health as H
    long, card, _ = _patterned(400, 6)
    method = (lambda **kw: _quiet(scorecard_health, long, card, n_resamples=100, **kw)
              .consistency.set_index("statistic").loc["omega_total", "ci_method"])
    assert method() == "percentile bootstrap (100 resamples, seed 0)"
    assert "normal approximation" in method(bootstrap="normal")
    monkeypatch.setattr(H, "NORMAL_BOOTSTRAP_FROM", 400)
    assert "normal approximation" in method()
    assert method(bootstrap="resample") == "percentile bootstrap (100 resamples, seed 0)"
    with pytest.raises(ParameterError, match=r"bootstrap must be one of 'auto', 'resample', 'normal'; got 'bca'"):
        scorecard_health(long, card, bootstrap="bca")
