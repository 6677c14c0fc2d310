"""Review sampling plans and the Hajek IQS estimator (qakit.sampling).

Numbers are checked against hand arithmetic (shown in the docstrings), plain pandas/numpy
recomputations, and Monte Carlo simulations on the bundled sample data where the population IQS
is known.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qakit.schema import adjustments
from scipy import stats as sps

from qakit import datasets, exclusions
from qakit.errors import DataValidationError, ParameterError, UndefinedMetricWarning
from qakit.sampling import (
    _systematic,
    inclusion_probabilities,
    risk_score,
    sample_random,
    sample_risk_based,
    sample_stratified,
    weighted_iqs,
)


@pytest.fixture(scope="module")
def conv():
    return datasets.load_sample("conversations")


@pytest.fixture(scope="module")
def surveys():
    return datasets.load_sample("surveys")


# --- plans ---------------------------------------------------------------------------------------
def test_random_sample_is_reproducible_with_inclusion_prob(conv):
    a, b = sample_random(conv, n=300, seed=4), sample_random(conv, n=300, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 300 and a["conversation_id"].is_unique
    assert set(a["conversation_id"]) <= set(conv["conversation_id"])
    assert (a["inclusion_prob"] == 300 / 30_000).all() and (a["weight"] == 100).all()
    assert not a["conversation_id"].equals(sample_random(conv, n=300, seed=5)["conversation_id"])
    with pytest.raises(ParameterError, match="n=40000 is larger than the 30000 candidate conversations"):
        sample_random(conv, n=40_000, seed=1)
    with pytest.raises(ParameterError, match="n must be an integer >= 1; got 2.5"):
        sample_random(conv, n=2.5, seed=1)


def test_plans_reject_duplicate_or_missing_ids():
    bad = pd.DataFrame({"conversation_id": ["c1", "c2", "c2", None], "agent_id": "a"})
    with pytest.raises(DataValidationError, match=r"column 'conversation_id': duplicate key \(conversation_id\) "
                                                  r"\(2 row\(s\)\); values \['c2'\]; row ids \['c2', 'c2'\]"):
        sample_random(bad, n=1, seed=0)
    with pytest.raises(DataValidationError, match="column 'conversation_id': empty value in a required column"):
        sample_stratified(bad, by="agent_id", seed=0)


def test_agent_ids_differing_by_a_trailing_space_are_one_stratum():
    """'a ' and 'a' are the same agent: one stratum of 3 (pi = 2/3 each with per_group=2), and the
    normalisation is itemised as an adjustment."""
    conv = pd.DataFrame({"conversation_id": ["c1", "c2", "c3"], "agent_id": ["a", "a ", "a"]})
    out = sample_stratified(conv, per_group=2, by="agent_id", seed=0)
    assert out["agent_id"].tolist() == ["a", "a"]
    assert out["inclusion_prob"].tolist() == pytest.approx([2 / 3, 2 / 3])
    assert adjustments(out)["row_ids"].iloc[0] == ("c2",)
    with pytest.raises(ParameterError, match="conversations needs a 'conversation_id' column"):
        sample_risk_based(pd.DataFrame({"id": [1, 2]}), n=1, seed=0, risk=[1.0, 1.0])


def test_stratified_per_agent_week(conv):
    """At most 5 per agent and week; pi = n_h / N_h from a plain groupby of the candidates, weeks
    labelled by their Monday like iqs_score(period="W")."""
    s = sample_stratified(conv, per_group=5, seed=2)
    pd.testing.assert_frame_equal(s, sample_stratified(conv, per_group=5, seed=2))
    week = conv["created_at"].dt.tz_localize(None).dt.to_period("W").dt.start_time
    assert (week.dt.day_of_week == 0).all()
    sizes = conv.groupby([conv["agent_id"], week.rename("week")]).size()
    got = s.groupby(["agent_id", "week"]).agg(k=("weight", "size"), pi=("inclusion_prob", "first"))
    assert len(got) == len(sizes)  # every stratum is sampled
    expected_k = np.minimum(5, sizes.loc[got.index])
    assert (got["k"] == expected_k).all()
    assert got["pi"].to_numpy() == pytest.approx((expected_k / sizes.loc[got.index]).to_numpy())
    # the weights of each stratum add up to its size, so sum(w) = N
    assert s["weight"].sum() == pytest.approx(len(conv))


def test_stratified_small_and_keyless_strata_are_itemised():
    small = pd.DataFrame({"conversation_id": list("abcde"), "agent_id": ["x", "x", "x", "y", None],
                          "created_at": "2026-01-07 10:00Z"})
    t = sample_stratified(small, per_group=2, seed=0)
    assert t["week"].unique().tolist() == [pd.Timestamp("2026-01-05")]  # Wednesday -> Monday
    assert t.groupby("agent_id")["inclusion_prob"].first().to_dict() == {"x": pytest.approx(2 / 3), "y": 1.0}
    ex = exclusions(t).set_index("reason")["row_ids"]
    assert ex["stratum smaller than per_group=2: taken whole (inclusion_prob 1)"] == ("d",)
    assert ex["missing stratum key: not sampled"] == ("e",)
    with pytest.raises(ParameterError, match="per_group must be an integer >= 1; got 0"):
        sample_stratified(small, per_group=0, seed=0)
    with pytest.raises(ParameterError, match=r"by column\(s\) \['team'\] not in conversations"):
        sample_stratified(small, by="team", seed=0)
    with pytest.raises(DataValidationError, match=r"column 'created_at': unparseable timestamp.*'soon'.*row ids \['b'\]"):
        sample_stratified(small.assign(created_at=["2026-01-07", "soon", "2026-01-07", "2026-01-07", "2026-01-07"]),
                          seed=0)


def test_stratified_weighted_iqs_is_the_stratum_weighted_mean():
    """Stratum x: 4 candidates, 2 drawn (w = 2); stratum y: 1 candidate (w = 1). The Hajek
    estimate is (2 * (y1 + y2) + y3) / 5, i.e. (4 * mean_x + 1 * mean_y) / 5."""
    conv = pd.DataFrame({"conversation_id": list("abcde"), "agent_id": list("xxxxy")})
    score = {"a": 90.0, "b": 70.0, "c": 50.0, "d": 30.0, "e": 10.0}
    s = sample_stratified(conv, per_group=2, by="agent_id", seed=3)
    s["iqs"] = s["conversation_id"].map(score)
    x = s.loc[s["agent_id"] == "x", "iqs"]
    r = weighted_iqs(s).iloc[0]
    assert r["iqs"] == pytest.approx((4 * x.mean() + 10.0) / 5)
    assert r["n_population"] == 5.0 and r["n"] == 3


# --- risk-based --------------------------------------------------------------------------------------
def test_risk_score_matches_its_documented_formula(conv, surveys):
    r = risk_score(conv, surveys=surveys)
    assert r.index.equals(conv.index) and r.name == "risk"
    csat = surveys[surveys["kind"] == "csat"]
    low = conv["conversation_id"].isin(csat.loc[csat["score"] <= 2, "conversation_id"])
    esc = conv["escalated"].fillna(False).astype(bool)
    ht = conv["handle_time_s"] > np.nanquantile(conv["handle_time_s"], 0.9)
    dur = (conv["resolved_at"] - conv["created_at"]).dt.total_seconds()
    res = dur > np.nanquantile(dur, 0.9)
    expected = 1 + 3 * low + 2 * esc + 1 * ht + 1 * res
    np.testing.assert_array_equal(r.to_numpy(), expected.to_numpy(dtype=float))
    assert r.min() == 1 and r.max() <= 8
    no_sv = risk_score(conv, weights={"escalated": 5})
    np.testing.assert_array_equal(no_sv.to_numpy(), (1 + 5 * esc + ht + res).to_numpy(dtype=float))
    with pytest.raises(ParameterError, match=r"unknown risk weight\(s\) \['angry'\]"):
        risk_score(conv, weights={"angry": 1})
    with pytest.raises(DataValidationError, match=r"column 'escalated': not a boolean.*'maybe'.*row ids \['c2'\]"):
        risk_score(pd.DataFrame({"conversation_id": ["c1", "c2"], "escalated": ["yes", "maybe"]}))


def test_inclusion_probabilities_cap_at_one():
    """sizes 10, 5, 1, 1, 1, 1 and n = 3: the share of 10 is 3 * 10 / 19 > 1 -> certain; then
    2 * 5 / 9 > 1 -> certain; the last 1 is shared by four units: 0.25 each."""
    pi = inclusion_probabilities(np.array([10.0, 5, 1, 1, 1, 1]), 3)
    assert pi.tolist() == [1.0, 1.0, 0.25, 0.25, 0.25, 0.25]
    assert inclusion_probabilities(np.array([1.0, 3.0]), 1).tolist() == [0.25, 0.75]
    assert inclusion_probabilities(np.ones(4), 4).tolist() == [1.0] * 4
    with pytest.raises(ParameterError, match=r"risk scores must be positive and finite; bad at positions \[1\]: \[0.0\]"):
        inclusion_probabilities(np.array([1.0, 0.0, 2.0]), 1)


def test_systematic_pps_has_exact_size_and_the_planned_inclusion_probabilities():
    """20 000 draws on 8 units: every draw has exactly n = 3 units, each unit's inclusion
    frequency is within 4 binomial SEs of its pi."""
    pi = inclusion_probabilities(np.array([6.0, 3, 2, 2, 1, 1, 0.5, 0.5]), 3)
    rng = np.random.default_rng(11)
    draws = np.array([_systematic(pi, rng) for _ in range(20_000)])
    assert (draws.sum(axis=1) == 3).all()
    freq = draws.mean(axis=0)
    se = np.sqrt(pi * (1 - pi) / 20_000)
    assert np.all(np.abs(freq - pi) <= 4 * se + 1e-12)


def test_risk_based_probabilities(conv, surveys):
    """pi = min(1, c * risk) with sum(pi) = n; risky conversations are oversampled."""
    r = risk_score(conv, surveys=surveys)
    s = sample_risk_based(conv, n=600, seed=1, risk=r)
    assert len(s) == 600 and s["conversation_id"].is_unique
    pd.testing.assert_frame_equal(s, sample_risk_based(conv, n=600, seed=1, surveys=surveys))
    c = s["inclusion_prob"].iloc[0] / s["risk"].iloc[0]
    assert np.minimum(1, c * r).sum() == pytest.approx(600, rel=1e-9)
    assert s["inclusion_prob"].to_numpy() == pytest.approx(np.minimum(1, c * s["risk"]).to_numpy())
    assert (s["weight"] * s["inclusion_prob"]).to_numpy() == pytest.approx(1.0)
    assert s["escalated"].mean() > 2 * conv["escalated"].mean()
    p = sample_risk_based(conv, n=600, seed=1, risk=r, method="poisson")
    assert 500 < len(p) < 700  # Poisson: size ~ n +/- 4 sqrt(sum pi(1 - pi))
    with pytest.raises(ParameterError, match="risk scores must be positive and finite"):
        sample_risk_based(conv.head(5), n=2, seed=0, risk=[1.0, 0.0, 1, 1, 1])
    with pytest.raises(ParameterError, match="risk has 3 values for 5 conversations"):
        sample_risk_based(conv.head(5), n=2, seed=0, risk=[1.0, 1, 1])
    with pytest.raises(ParameterError, match="risk must be indexed like conversations"):
        sample_risk_based(conv.head(5), n=2, seed=0, risk=r.iloc[5:10])
    with pytest.raises(ParameterError, match="method must be one of 'systematic', 'poisson'; got 'pps'"):
        sample_risk_based(conv.head(5), n=2, seed=0, method="pps")


# --- the estimator -----------------------------------------------------------------------------------
def test_weighted_iqs_linearisation_by_hand():
    """y = (100, 50, 0), w = (1, 1, 2): IQS_w = 150/4 = 37.5; v = 3/2 * (62.5^2 + 12.5^2
    + 4 * 37.5^2) / 16 = 3/2 * 9687.5 / 16 = 908.203; se = 30.136; t_{0.975, 2} = 4.3027, so the CI
    is 37.5 -/+ 129.67; Kish n_eff = 16 / 6."""
    r = weighted_iqs(pd.DataFrame({"iqs": [100.0, 50.0, 0.0], "weight": [1.0, 1.0, 2.0]})).iloc[0]
    se = np.sqrt(1.5 * 9687.5 / 16)
    assert r["iqs"] == 37.5 and r["se"] == pytest.approx(se)
    assert r["ci_low"] == pytest.approx(37.5 - 4.302652729911275 * se)
    assert r["ci_high"] == pytest.approx(37.5 + 4.302652729911275 * se)
    assert r["n_effective"] == pytest.approx(16 / 6) and r["n_population"] == 4.0
    assert bool(r["small_sample"]) is True


def test_weighted_iqs_equal_weights_is_the_plain_mean_and_t_interval():
    """With equal weights the Hajek estimate is the mean and v = s^2 / n (n/(n-1) * sum e^2 / n^2),
    so the CI is the ordinary Student-t interval from scipy."""
    y = np.array([62.0, 71, 80, 55, 90, 100, 47, 68])
    r = weighted_iqs(pd.DataFrame({"iqs": y, "weight": 7.0})).iloc[0]
    lo, hi = sps.t.interval(0.95, len(y) - 1, loc=y.mean(), scale=sps.sem(y))
    assert (r["iqs"], r["ci_low"], r["ci_high"]) == pytest.approx((y.mean(), lo, hi))
    assert r["n_effective"] == pytest.approx(8)


def test_weighted_iqs_by_group_and_bad_input():
    """Group a: y (80, 40), w (1, 3) -> (80 + 120) / 4 = 50; group b: a single review -> NaN SE with a
    warning. A missing score is itemised by review id."""
    s = pd.DataFrame({"review_id": ["r1", "r2", "r3", "r4"], "team": ["a", "a", "b", "b"],
                      "iqs": [80.0, 40.0, 60.0, np.nan], "weight": [1.0, 3.0, 2.0, 2.0]})
    with pytest.warns(UndefinedMetricWarning, match="fewer than 2 scored reviews"):
        r = weighted_iqs(s, by="team")
    assert r["team"].tolist() == ["a", "b"] and r["n"].tolist() == [2, 1]
    assert r["iqs"].tolist() == [50.0, 60.0]
    assert np.isnan(r["se"].iloc[1]) and not np.isnan(r["se"].iloc[0])
    assert exclusions(r)["row_ids"].iloc[0] == ("r4",)
    with pytest.raises(DataValidationError, match=r"column 'weight': sampling weight must be a positive "
                                                  r"finite number.*values \[0\]; row ids \['r2'\]"):
        weighted_iqs(s.assign(weight=[1.0, 0.0, 1.0, 1.0]))
    with pytest.raises(ParameterError, match="scores has no 'weight' column .merge the sampling plan's weight"):
        weighted_iqs(s.drop(columns="weight"))


# --- Monte Carlo: the reason the weights exist --------------------------------------------------------
def _monte_carlo(pop, risk, truth, *, n, runs, method):
    plain, hajek, covered, sizes = [], [], 0, []
    for seed in range(runs):  # public API per run; each run is vectorised over the 30k rows
        s = sample_risk_based(pop, n=n, seed=seed, risk=risk, method=method)
        est = weighted_iqs(s).iloc[0]
        plain.append(s["iqs"].mean() - truth)
        hajek.append(est["iqs"] - truth)
        covered += est["ci_low"] <= truth <= est["ci_high"]
        sizes.append(len(s))
    return np.array(plain), np.array(hajek), covered / runs, np.array(sizes)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["systematic", "poisson"])
def test_hajek_estimator_removes_the_risk_sampling_bias(conv, surveys, method):
    """Population: all 30 000 sample conversations, each with a known true score
    ``clip(82 - 18 escalated - 7 max(0, 4 - CSAT) + N(0, 12), 0, 100)`` (seeded), so bad scores go
    with the risk signals. 200 risk-based samples of 500: the plain mean of the sample is biased
    down (observed: -3.68 points systematic, -3.69 Poisson; Monte Carlo SE 0.05); the Hajek mean
    error is +0.04 / +0.03 (MC SE 0.045, within 3 SEs), 95 % CI coverage 0.935 / 0.935."""
    csat = conv["conversation_id"].map(surveys[surveys["kind"] == "csat"].set_index("conversation_id")["score"])
    rng = np.random.default_rng(2026)
    y = (82 - 18 * conv["escalated"].astype(float).to_numpy()
         - 7 * np.clip(np.nan_to_num(4 - csat.to_numpy(dtype=float), nan=0.0), 0, None)
         + rng.normal(0, 12, len(conv)))
    y = np.clip(y, 0, 100)
    pop = conv[["conversation_id"]].assign(iqs=y)
    risk = risk_score(conv, surveys=surveys)
    plain, hajek, coverage, sizes = _monte_carlo(pop, risk, y.mean(), n=500, runs=200, method=method)
    mc_se = hajek.std(ddof=1) / np.sqrt(len(hajek))
    assert plain.mean() < -2.5 and plain.mean() < -20 * plain.std(ddof=1) / np.sqrt(len(plain))
    assert abs(hajek.mean()) < 3 * mc_se
    assert 0.90 <= coverage <= 0.98
    if method == "systematic":
        assert (sizes == 500).all()
    else:
        assert abs(sizes.mean() - 500) < 3 * sizes.std(ddof=1) / np.sqrt(len(sizes))


@pytest.mark.slow  # many repeated samples (a simulation)
def test_hajek_on_the_scored_sample_reviews(conv, surveys):
    """Population: the 2 400 reviewed sample conversations with their real IQS from the sample
    scorecard (mean 71.9). 200 risk-based samples of 300 (risk from escalation, CSAT, handle and
    resolution time): plain mean error -4.19 (MC SE 0.10) vs Hajek -0.22 (MC SE 0.11, 1.9 SEs; with
    2 000 runs it is +0.07, MC SE 0.04); CI coverage 0.965."""
    scores = datasets.load_sample_scorecard().score(datasets.load_sample("ratings"))
    pop = conv.merge(scores[["conversation_id", "iqs"]], on="conversation_id")
    assert len(pop) == 2400
    risk = risk_score(pop, surveys=surveys)
    truth = scores["iqs"].mean()
    plain, hajek, coverage, _ = _monte_carlo(pop, risk, truth, n=300, runs=200, method="systematic")
    mc_se = hajek.std(ddof=1) / np.sqrt(len(hajek))
    assert plain.mean() < -5 * plain.std(ddof=1) / np.sqrt(len(plain))
    assert abs(hajek.mean()) < 3 * mc_se
    assert 0.90 <= coverage <= 0.98
