"""Gwet's AC1/AC2, percent agreement, interval verdicts, benchmark alignment and reviewer drift.

Expected numbers are published values, not this code's output:

- irrCAC (R package by K. L. Gwet, the author of AC1/AC2), README and vignettes
  (github.com/kgwet/irrCAC, CRAN irrCAC 1.0 vignettes "overview", "weighting", "benchmarking"):
  ``gwet.ac1.raw(cac.raw4raters)``, ``gwet.ac1.dist(distrib.6raters)``,
  ``gwet.ac1.table(cont3x3abstractors)``, with and without quadratic weights, and
  ``landis.koch.bf(0.77544, 0.14295)`` -> "Moderate";
- MaestroQA's documented alignment example (help.maestroqa.com/en/articles/4364995);
- hand arithmetic in the docstrings.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import qakit.calibration as cal
from qakit import datasets
from qakit.errors import DataValidationError, ParameterError
from qakit.scorecard import Category, Scorecard
from qakit.schema import exclusions

nan = np.nan

#: irrCAC's ``cac.raw4raters``: 12 subjects x 4 raters, ratings 1..5, NA = not rated
RAW4 = {"Rater1": [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        "Rater2": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, nan],
        "Rater3": [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 3],
        "Rater4": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]}
#: irrCAC's ``distrib.6raters``: 15 patients, number of the 6 psychiatrists choosing each of 5 diagnoses
DIST6 = np.array([[0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6], [0, 3, 0, 3, 0],
                  [2, 0, 4, 0, 0], [0, 0, 4, 0, 2], [2, 0, 3, 1, 0], [2, 0, 0, 4, 0], [0, 0, 0, 0, 6],
                  [1, 0, 0, 5, 0], [1, 1, 0, 4, 0], [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1]])
#: irrCAC's ``cont3x3abstractors``: 2 abstractors x 100 pregnancies (Ectopic, AIU, NIU)
CONT3 = np.array([[13, 0, 0], [0, 20, 7], [0, 4, 56]])


def _raw(matrix: dict[str, list[float]], category: str = "x") -> pd.DataFrame:
    return pd.DataFrame([dict(review_id=f"{r}-{u}", conversation_id=f"u{u:02d}", reviewer_id=r, category=category,
                              rating=v) for r, vals in matrix.items() for u, v in enumerate(vals, 1)])


def _dist(counts: np.ndarray) -> pd.DataFrame:
    rows = []
    for i, row in enumerate(counts):
        for j, v in enumerate(np.repeat(np.arange(1, counts.shape[1] + 1), row)):
            rows.append(dict(review_id=f"s{i}-{j}", conversation_id=f"s{i:02d}", reviewer_id=f"p{j}",
                             category="x", rating=float(v)))
    return pd.DataFrame(rows)


def _table(t: np.ndarray) -> pd.DataFrame:
    a, b = [], []
    for i, j in np.ndindex(t.shape):
        a += [i + 1] * int(t[i, j])
        b += [j + 1] * int(t[i, j])
    return _raw({"a": a, "b": b})


# --- AC1 / AC2 against irrCAC -----------------------------------------------------------------
def test_ac1_reproduces_irrcac_raw4raters():
    """irrCAC README: gwet.ac1.raw(cac.raw4raters) -> pa 0.8181818, pe 0.1903212, AC1 0.77544,
    se 0.14295, p 0.000208721; pa.coeff.raw(cac.raw4raters) se 0.12561.  Subject 12 has one rating:
    it counts in the prevalence (pe) but not in pa (n2 = 11 units), as in Gwet (2014)."""
    res = cal.gwet_ac(_raw(RAW4)).iloc[0]
    assert res["agreement_rate"] == pytest.approx(0.8181818, abs=1e-7)
    assert res["chance_agreement"] == pytest.approx(0.1903212, abs=1e-7)
    assert res["gwet_ac"] == pytest.approx(0.77544, abs=5e-6)
    assert res["ac_se"] == pytest.approx(0.14295, abs=5e-6)
    assert res["p_value"] == pytest.approx(0.000208721, rel=1e-4)
    assert res["ac_ci_high"] == 1.0  # irrCAC's interval (0.461, 1): clipped at 1
    assert res["ac_ci_low"] == pytest.approx(0.461, abs=5e-4)
    assert res["n_units"] == 11
    assert exclusions(cal.gwet_ac(_raw(RAW4))).set_index("column").loc["conversation_id", "row_ids"] == (
        "Rater3-12 / x",)


def test_percent_agreement_se_reproduces_irrcac():
    """irrCAC README: pa.coeff.raw(cac.raw4raters) -> 0.8181818 with se 0.12561, interval (0.542, 1)."""
    g = cal._gwet(*cal._unit_counts(_raw(RAW4).dropna().rename(columns={"conversation_id": "_unit", "rating": "_value"}),
                                    None), None, 0.95)
    assert g["pa_se"] == pytest.approx(0.12561, abs=5e-6)
    assert g["pa_lo"] == pytest.approx(0.542, abs=5e-4) and g["pa_hi"] == 1.0


def test_ac2_quadratic_reproduces_irrcac_weighting_vignette():
    """irrCAC 'weighting' vignette: gwet.ac1.raw(cac.raw4raters, weights="quadratic") -> pa 0.9753788,
    pe 0.7137044, AC2 0.914, se 0.10396."""
    res = cal.gwet_ac(_raw(RAW4), weights="quadratic").iloc[0]
    assert res["agreement_rate"] == pytest.approx(0.9753788, abs=1e-7)
    assert res["chance_agreement"] == pytest.approx(0.7137044, abs=1e-7)
    assert res["gwet_ac"] == pytest.approx(0.914, abs=5e-6)
    assert res["ac_se"] == pytest.approx(0.10396, abs=5e-6)


def test_ac1_and_ac2_reproduce_irrcac_distrib_6raters():
    """irrCAC README: gwet.ac1.dist(distrib.6raters) -> AC1 0.4448007, se 0.08418757, p 0.0001155927,
    pa 0.5511111, pe 0.1914815; weighting vignette with quadratic.weights(1:5): AC2 0.4837438,
    se 0.1058227, pa 0.8544444, pe 0.7180556."""
    df = _dist(DIST6)
    ac1 = cal.gwet_ac(df).iloc[0]
    assert (ac1["gwet_ac"], ac1["ac_se"]) == (pytest.approx(0.4448007, abs=1e-7), pytest.approx(0.08418757, abs=1e-8))
    assert (ac1["agreement_rate"], ac1["chance_agreement"]) == (pytest.approx(0.5511111, abs=1e-7),
                                                                  pytest.approx(0.1914815, abs=1e-7))
    assert ac1["p_value"] == pytest.approx(0.0001155927, rel=1e-5)
    ac2 = cal.gwet_ac(df, weights="quadratic").iloc[0]
    assert (ac2["gwet_ac"], ac2["ac_se"]) == (pytest.approx(0.4837438, abs=1e-7), pytest.approx(0.1058227, abs=1e-7))
    assert (ac2["agreement_rate"], ac2["chance_agreement"]) == (pytest.approx(0.8544444, abs=1e-7),
                                                                  pytest.approx(0.7180556, abs=1e-7))


def test_ac1_value_reproduces_irrcac_contingency_table():
    """irrCAC README: gwet.ac1.table(cont3x3abstractors) = 0.8493305 (quadratic: 0.9402369); pa 0.89
    (quadratic 0.9725).  The standard errors are not compared: irrCAC's ``*.table`` functions use
    Gwet's two-rater contingency-table variance, qakit the multi-rater raw-ratings one of
    ``gwet.ac1.raw`` (tested above)."""
    df = _table(CONT3)
    r = cal.gwet_ac(df).iloc[0]
    assert r["gwet_ac"] == pytest.approx(0.8493305, abs=1e-7) and r["agreement_rate"] == pytest.approx(0.89)
    q = cal.gwet_ac(df, weights="quadratic").iloc[0]
    assert q["gwet_ac"] == pytest.approx(0.9402369, abs=1e-7) and q["agreement_rate"] == pytest.approx(0.9725)


def test_ordinal_and_linear_weights_by_hand():
    """Values 1, 2, 3: ordinal weights (irrCAC ordinal.weights) 1 - C(|i-j|+1, 2) / 3 -> off by one
    step 2/3, by two 0; linear 1 - |i-j| / 2 -> 1/2, 0.  Two raters, units (1,2), (2,2), (3,3):
    pa_i = w(1,2), 1, 1 -> ordinal pa = (2/3 + 2) / 3 = 8/9; linear (1/2 + 2) / 3 = 5/6."""
    df = _raw({"a": [1, 2, 3], "b": [2, 2, 3]})
    assert cal.gwet_ac(df, weights="ordinal").iloc[0]["agreement_rate"] == pytest.approx(8 / 9)
    assert cal.gwet_ac(df, weights="linear").iloc[0]["agreement_rate"] == pytest.approx(5 / 6)


def test_kappa_paradox_by_hand():
    """20 conversations, 2 reviewers, 19 both 'pass' (1), one split (1 vs 0): pa = 19/20 = .95.
    pi = (1/40, 39/40): Gwet's pe = 2 * (1/40)(39/40) = .04875, AC1 = (.95 - .04875) / .95125 =
    .94744; kappa's pe = (1/40)^2 + (39/40)^2 = .95125 -> Fleiss' kappa (.95 - .95125) / .04875 =
    -.0256: agreement 95 %, kappa below 0."""
    df = _raw({"a": [1] * 20, "b": [1] * 19 + [0]})
    res = cal.agreement(df, metric="nominal", n_resamples=0).iloc[0]
    assert res["agreement_rate"] == pytest.approx(0.95)
    assert res["gwet_ac"] == pytest.approx((0.95 - 0.04875) / 0.95125)
    assert res["fleiss_kappa"] == pytest.approx((0.95 - 0.95125) / 0.04875)
    assert (res["top_value"], res["top_value_share"]) == (1.0, pytest.approx(39 / 40))


# --- verdicts from the interval ------------------------------------------------------------------
def test_verdict_reproduces_irrcac_benchmarking_vignette():
    """irrCAC benchmarking vignette: AC1 = 0.775 with se 0.14295 is 'Moderate' on Landis-Koch and on
    Altman (cumulative membership probability first >= .95), not 'substantial' as the point
    estimate would say.  By hand (normal truncated to [-1, 1], truncation mass .9419):
    P(>= .8) = .397, P(>= .6) = .883, P(>= .4) = .995."""
    lk = cal.benchmark_verdict(0.77544, 0.14295)
    assert lk["verdict"].iloc[0] == "moderate"
    assert lk["p_almost_perfect"].iloc[0] == pytest.approx(0.397, abs=1e-3)
    assert lk["p_substantial"].iloc[0] == pytest.approx(0.883, abs=1e-3)
    assert lk["verdict_probability"].iloc[0] == pytest.approx(0.995, abs=1e-3)
    assert cal.benchmark_verdict(0.77544, 0.14295, bands="altman")["verdict"].iloc[0] == "moderate"


def test_verdict_in_agreement_says_which_coefficient_and_follows_the_interval():
    """On cac.raw4raters the verdict uses AC1's interval (Landis-Koch) by default: moderate, while
    Krippendorff's band of the alpha point estimate (.743) is 'tentative'."""
    res = cal.agreement(_raw(RAW4), metric="nominal", n_resamples=0).iloc[0]
    assert res["verdict_on"] == "gwet_ac (landis-koch)"
    assert res["verdict"] == "moderate" and res["band"] == "tentative"
    assert res["gwet_ac"] == pytest.approx(0.77544, abs=5e-6)


def test_verdict_on_alpha_uses_bootstrap_shares():
    """verdict_on='alpha': cumulative probability = share of bootstrap alphas at or above each
    Krippendorff bound; checked against the shares computed here from the same seeded resamples."""
    df = _raw(RAW4)
    res = cal.agreement(df, metric="nominal", n_resamples=400, seed=3, verdict_on="alpha").iloc[0]
    assert res["verdict_on"] == "alpha (krippendorff)"
    rows, _, _ = cal._prepare(df, card=None, units="conversation_id", pooled=False)
    counts, values = cal._unit_counts(rows, None)
    rng = np.random.default_rng(3)
    draws = rng.multinomial(len(counts), np.full(len(counts), 1 / len(counts)), size=400)
    boot = cal._alpha_from_counts(counts, values, "nominal", draws.astype(float))
    boot = boot[~np.isnan(boot)]
    shares = [np.mean(boot >= 0.8), np.mean(boot >= 0.667), 1.0]
    expect = ["reliable", "tentative", "unreliable"][next(i for i, s in enumerate(shares) if s >= 0.95)]
    assert res["verdict"] == expect
    assert cal.agreement(df, metric="nominal", n_resamples=0, verdict_on="alpha")["verdict"].isna().all()


def test_verdict_with_few_units_uses_student_t():
    """With df the membership uses a Student t: P(>= .4) for AC .58, se .107, 3 df, truncated to
    [-1, 1], computed here with scipy.stats.t directly; 4 units earn 'fair' where the normal would say
    'moderate'."""
    from scipy import stats

    est, se, df = 0.58, 0.107, 3
    trunc = stats.t.cdf((est + 1) / se, df) - stats.t.cdf((est - 1) / se, df)
    p_mod = (stats.t.cdf((est - 0.4) / se, df) - stats.t.cdf((est - 1) / se, df)) / trunc
    v = cal.benchmark_verdict(est, se, df=df)
    assert v["p_moderate"].iloc[0] == pytest.approx(p_mod)
    assert p_mod < 0.95 and v["verdict"].iloc[0] == "fair"
    assert cal.benchmark_verdict(est, se)["verdict"].iloc[0] == "moderate"


def test_verdict_with_no_sampling_error_is_the_band_of_the_estimate():
    v = cal.benchmark_verdict([0.7, nan], [0.0, 0.1])
    assert v["verdict"].iloc[0] == "substantial" and v["verdict_probability"].iloc[0] == 1.0
    assert pd.isna(v["verdict"].iloc[1])


def test_sample_calibration_agreement_has_the_new_columns(tmp_path):
    card = datasets.load_sample_scorecard()
    res = cal.agreement(datasets.load_sample("calibration"), card=card, n_resamples=0)
    assert res.columns.tolist() == cal.AGREEMENT_COLUMNS
    assert res["category"].tolist() == card.category_names
    assert res["verdict"].notna().all()
    assert ((res["ac_ci_low"] <= res["gwet_ac"]) & (res["gwet_ac"] <= res["ac_ci_high"])).all()


def test_bad_options_name_the_value():
    df = _raw(RAW4)
    with pytest.raises(ParameterError, match="weights must be one of .*got 'cubic'"):
        cal.gwet_ac(df, weights="cubic")
    with pytest.raises(ParameterError, match="verdict_on must be one of 'gwet_ac', 'alpha'; got 'kappa'"):
        cal.agreement(df, verdict_on="kappa")
    with pytest.raises(ParameterError, match="bands must be one of .*got 'cohen'"):
        cal.benchmark_verdict(0.5, 0.1, bands="cohen")
    with pytest.raises(ParameterError, match="same length"):
        cal.benchmark_verdict([0.5, 0.6], [0.1])


# --- benchmark alignment (MaestroQA) -------------------------------------------------------------
def _maestro_card() -> Scorecard:
    """MaestroQA's example rubric: 80 points, one 15-point criterion (scale 0-15) and 65 others."""
    return Scorecard([Category("Resolution", scale="0-15"), Category("Rest", scale="0-65")], mode="points")


def test_alignment_reproduces_maestroqa_documented_example():
    """help.maestroqa.com/en/articles/4364995 ("What is an Alignment Score?"): a 15-point criterion
    graded 10 by the grader and 7 by the benchmark is 3 / 15 = 20 % off -> 80 % aligned; on an
    80-point rubric it weighs 15 / 80 = 18.75 % and contributes 0.80 x 18.75 = 15 points.  With the
    other 65 points graded alike (100 % aligned, weight 65 / 80): rubric alignment = 15 + 81.25 =
    96.25 %."""
    r = pd.DataFrame({"review_id": ["o1", "o1", "b1", "b1"], "conversation_id": "t1",
                      "reviewer_id": ["grader", "grader", "bench", "bench"],
                      "category": ["Resolution", "Rest", "Resolution", "Rest"], "rating": [10.0, 65, 7, 65]})
    per = cal.benchmark_alignment(r, benchmark="bench", card=_maestro_card(), by_category=True).set_index("category")
    assert per.loc["Resolution", "alignment"] == pytest.approx(80.0)
    assert per.loc["Resolution", "alignment"] * 15 / 80 == pytest.approx(15.0)  # its contribution
    assert per.loc["Resolution", "deviation_steps"] == pytest.approx(3.0)  # 3 points more lenient
    rubric = cal.benchmark_alignment(r, benchmark="bench", card=_maestro_card()).iloc[0]
    assert rubric["alignment"] == pytest.approx(96.25)
    assert rubric["category"] == "all" and rubric["n_reviews"] == 1


def test_alignment_per_reviewer_interval_by_hand():
    """Two graders, three tickets, one 1-5 criterion (span 4), weighted card.  g1: |4-5|, |3-3|,
    |1-3| -> alignment .75, 1, .5: mean .75, sd .25, t_{.975, 2} = 4.302653 -> .75 +/- 4.302653 *
    .25 / sqrt(3) = [.1290, 1.371] -> clipped [12.90, 100] %.  g2 rates N/A once: excluded, itemised."""
    card = Scorecard([Category("Tone", scale=5)])
    r = pd.DataFrame({"review_id": [f"r{i}" for i in range(9)], "conversation_id": ["t1", "t2", "t3"] * 3,
                      "reviewer_id": ["bench"] * 3 + ["g1"] * 3 + ["g2"] * 3, "category": "Tone",
                      "rating": [5, 3, 3, 4, 3, 1, 5, nan, 3]})
    res = cal.benchmark_alignment(r, benchmark="bench", card=card).set_index("reviewer_id")
    assert res.loc["g1", "alignment"] == pytest.approx(75.0)
    assert res.loc["g1", "ci_low"] == pytest.approx(100 * (0.75 - 4.302653 * 0.25 / np.sqrt(3)), abs=1e-4)
    assert res.loc["g1", "ci_high"] == 100.0
    assert res.loc["g1", "deviation_steps"] == pytest.approx((-1 + 0 - 2) / 3)
    assert res.loc["g2", "n_reviews"] == 2 and res.loc["g2", "alignment"] == pytest.approx(100.0)
    assert "r7 / Tone" in exclusions(cal.benchmark_alignment(r, benchmark="bench", card=card))["row_ids"].sum()


def test_alignment_bad_input():
    card = _maestro_card()
    r = pd.DataFrame({"review_id": ["o1", "b1"], "conversation_id": "t1", "reviewer_id": ["grader", "bench"],
                      "category": "Resolution", "rating": [10.0, 7]})
    with pytest.raises(ParameterError, match=r"benchmark reviewer\(s\) \['nobody'\] have no rating"):
        cal.benchmark_alignment(r, benchmark="nobody", card=card)
    with pytest.raises(ParameterError, match="card must be a qakit Scorecard"):
        cal.benchmark_alignment(r, benchmark="bench", card=None)
    two = pd.concat([r, r.assign(review_id="b2", reviewer_id="bench2")], ignore_index=True).drop_duplicates("review_id")
    with pytest.raises(DataValidationError, match="two benchmark reviewers"):
        cal.benchmark_alignment(two, benchmark=["bench", "bench2"], card=card)
    with pytest.raises(DataValidationError, match="rating"):
        cal.benchmark_alignment(r.assign(rating=[16.0, 7]), benchmark="bench", card=card)  # off the 0-15 scale


# --- reviewer drift ---------------------------------------------------------------------------------
def test_drift_slope_and_cluster_se_by_hand():
    """Reviewer a drifts up one step per week against b and c (who agree); 4 weekly sessions, one
    conversation each.  LOO deviations of a: 0, 1, 2, 3 -> slope 1 step/week exactly (residuals 0,
    se 0).  b's deviation = b - mean(a, c) = 0, -.5, -1, -1.5 -> slope -.5."""
    week = pd.to_datetime(["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23"], utc=True)
    r = pd.DataFrame({"review_id": [f"r{i}" for i in range(12)], "conversation_id": ["c1", "c2", "c3", "c4"] * 3,
                      "reviewer_id": ["a"] * 4 + ["b"] * 4 + ["c"] * 4, "reviewed_at": list(week) * 3,
                      "category": "Tone", "rating": [2, 3, 4, 5] + [2] * 8})
    res = cal.reviewer_drift(r).set_index("reviewer_id")
    assert res.loc["a", "trend_steps_per_week"] == pytest.approx(1.0)
    assert res.loc["a", "se"] == pytest.approx(0.0, abs=1e-12)
    assert res.loc["b", "trend_steps_per_week"] == pytest.approx(-0.5)
    assert (res.loc["a", "bias_first_period"], res.loc["a", "bias_last_period"]) == (0.0, 3.0)
    per = cal.reviewer_drift(r, by_period=True)
    assert per[per["reviewer_id"].eq("a")]["bias_steps"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_drift_se_matches_ols_when_one_deviation_per_conversation():
    """With one deviation per conversation the clustered (CR1) slope SE is the HC1 sandwich
    ``sqrt(n/(n-1) sum (x-xbar)^2 e^2) / Sxx``, computed here with numpy from the deviations."""
    rng = np.random.default_rng(5)
    n = 40
    days = pd.Timestamp("2026-01-05", tz="UTC") + pd.to_timedelta(rng.integers(0, 70, n), unit="D")
    ra = rng.integers(1, 6, n).astype(float)
    rb = rng.integers(1, 6, n).astype(float)
    r = pd.DataFrame({"review_id": [f"a{i}" for i in range(n)] + [f"b{i}" for i in range(n)],
                      "conversation_id": [f"c{i}" for i in range(n)] * 2, "reviewer_id": ["a"] * n + ["b"] * n,
                      "reviewed_at": list(days) * 2, "category": "Tone", "rating": np.r_[ra, rb]})
    res = cal.reviewer_drift(r).set_index("reviewer_id").loc["a"]
    x = ((days - days.min()).total_seconds() / (7 * 86400)).to_numpy()
    d = ra - rb
    xc = x - x.mean()
    b = (xc * (d - d.mean())).sum() / (xc**2).sum()
    e = d - d.mean() - b * xc
    se = np.sqrt(n / (n - 1) * ((xc * e) ** 2).sum()) / (xc**2).sum()
    assert res["trend_steps_per_week"] == pytest.approx(b)
    assert res["se"] == pytest.approx(se)


def test_drift_needs_reviewed_at_and_itemises_missing_times():
    r = pd.DataFrame({"review_id": ["r1", "r2", "r3", "r4"], "conversation_id": ["c1", "c1", "c2", "c2"],
                      "reviewer_id": ["a", "b", "a", "b"], "category": "Tone", "rating": [1.0, 2, 3, 3]})
    with pytest.raises(ParameterError, match="needs the reviewed_at column"):
        cal.reviewer_drift(r)
    r["reviewed_at"] = [pd.Timestamp("2026-01-05", tz="UTC"), pd.Timestamp("2026-01-05", tz="UTC"), pd.NaT,
                        pd.Timestamp("2026-01-12", tz="UTC")]
    res = cal.reviewer_drift(r)
    ex = exclusions(res)
    assert ex[ex["column"].eq("reviewed_at")]["row_ids"].iloc[0] == ("r3 / Tone",)


def test_drift_on_sample_finds_no_drift_for_unbiased_generator():
    """The generator plants constant biases (data/README.md): per-reviewer trends are near 0 and
    their intervals cover 0 for most reviewers; the level (first/last period) follows the planted
    order (cal_rev_2 highest, cal_rev_3 lowest)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cal.reviewer_drift(datasets.load_sample("calibration"),
                                 categories=["Tone", "Empathy", "Solution"]).set_index("reviewer_id")
    covers = ((res["ci_low"] <= 0) & (res["ci_high"] >= 0)).sum()
    assert covers >= 4
    assert res["trend_steps_per_week"].abs().max() < 0.1


# --- real data: the kappa paradox on FED ---------------------------------------------------------
@pytest.mark.realdata
def test_fed_understandable_shows_the_kappa_paradox(shared_data):
    """FED 'Understandable' (Mehri & Eskenazi 2020; 5 annotators, 0/1): annotators agree on about
    93 % of pairs, one answer dominates, so alpha and Fleiss' kappa are near .16 while AC1 stays
    above .9.  AC1 checked against Gwet's formula computed here from the raw JSON with plain numpy."""
    import json

    from qakit import realdata

    raw = json.loads((shared_data / "fed-dialog-quality" / "fed_data.json").read_text(encoding="utf-8"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cal.agreement(realdata.load_fed(), metric="nominal", n_resamples=0).set_index("category")
    row = res.loc["Understandable"]
    items = [[v for v in d["annotations"]["Understandable"] if isinstance(v, (int, float)) and not isinstance(v, bool)]
             for d in raw if "Understandable" in d["annotations"]]
    items = [v for v in items if len(v) >= 1]
    vals = sorted({v for it in items for v in it})
    counts = np.array([[it.count(v) for v in vals] for it in items], dtype=float)
    r = counts.sum(axis=1)
    two = r >= 2
    pa = ((counts * (counts - 1)).sum(axis=1)[two] / (r * (r - 1))[two]).mean()
    pi = (counts / r[:, None]).mean(axis=0)
    pe = (pi * (1 - pi)).sum() / (len(vals) - 1)
    assert row["gwet_ac"] == pytest.approx((pa - pe) / (1 - pe), abs=1e-12)
    assert row["agreement_rate"] > 0.9 and row["gwet_ac"] > 0.9
    assert row["alpha"] < 0.25 and row["fleiss_kappa"] < 0.25
