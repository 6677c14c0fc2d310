"""Review sampling plans and the Hajek IQS estimator (qakit.sampling)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qakit import datasets, exclusions
from qakit.errors import ParameterError
from qakit.sampling import (
    risk_score,
    sample_random,
    sample_risk_based,
    sample_stratified,
    weighted_iqs,
)


@pytest.fixture(scope="module")
def conv():
    return datasets.load_sample("conversations")


def test_random_sample_is_reproducible_with_inclusion_prob(conv):
    a, b = sample_random(conv, n=300, seed=4), sample_random(conv, n=300, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 300 and a["conversation_id"].is_unique
    assert (a["inclusion_prob"] == 300 / 30_000).all() and (a["weight"] == 100).all()
    assert not a["conversation_id"].equals(sample_random(conv, n=300, seed=5)["conversation_id"])
    with pytest.raises(ParameterError, match="n=40000 is larger than the 30000 candidate conversations"):
        sample_random(conv, n=40_000, seed=1)


def test_stratified_per_agent_week(conv):
    """At most 5 per agent and week; pi = n_h / N_h from a plain groupby of the candidates."""
    s = sample_stratified(conv, per_group=5, seed=2)
    week = conv["created_at"].dt.tz_localize(None).dt.to_period("W").dt.start_time
    sizes = conv.groupby([conv["agent_id"], week]).size()
    got = s.groupby(["agent_id", "week"]).agg(k=("weight", "size"), pi=("inclusion_prob", "first"))
    assert (got["k"] == np.minimum(5, sizes.loc[got.index])).all()
    assert got["pi"].to_numpy() == pytest.approx((np.minimum(5, sizes.loc[got.index]) / sizes.loc[got.index]).to_numpy())
    small = pd.DataFrame({"conversation_id": list("abcd"), "agent_id": list("xxxy"), "created_at": "2026-01-05 10:00Z"})
    t = sample_stratified(small, per_group=2, seed=0)
    assert exclusions(t)["row_ids"].iloc[0] == ("d",)


def test_risk_based_probabilities(conv):
    """pi = min(1, c * risk) with sum(pi) = n; escalated conversations are oversampled."""
    sv = datasets.load_sample("surveys")
    r = risk_score(conv, surveys=sv)
    assert r.min() == 1 and r.max() <= 8
    s = sample_risk_based(conv, n=600, seed=1, risk=r)
    c = s["inclusion_prob"].iloc[0] / s["risk"].iloc[0]
    assert np.minimum(1, c * r).sum() == pytest.approx(600, rel=1e-6)
    assert s["escalated"].mean() > 2 * conv["escalated"].mean()
    with pytest.raises(ParameterError, match="risk scores must be positive and finite"):
        sample_risk_based(conv.head(5), n=2, seed=0, risk=pd.Series([1.0, 0.0, 1, 1, 1]))


def test_weighted_iqs_linearisation_by_hand():
    """y = (100, 50, 0), w = (1, 1, 2): IQS_w = 150/4 = 37.5; v = 3/2 * (62.5^2 + 12.5^2 + 4 * 37.5^2)
    / 16 = 3/2 * 9687.5 / 16 = 908.203; se = 30.136; Kish n_eff = 16 / 6."""
    r = weighted_iqs(pd.DataFrame({"iqs": [100.0, 50.0, 0.0], "weight": [1.0, 1.0, 2.0]})).iloc[0]
    assert r["iqs"] == 37.5 and r["se"] == pytest.approx(np.sqrt(1.5 * 9687.5 / 16))
    assert r["n_effective"] == pytest.approx(16 / 6)
    with pytest.raises(ParameterError, match="positive finite sampling weights"):
        weighted_iqs(pd.DataFrame({"iqs": [1.0], "weight": [0.0]}))


def test_hajek_estimator_removes_the_risk_sampling_bias(conv):
    """Monte Carlo (150 seeds): every conversation gets a known 'true score' that is lower when
    escalated or long; risk-based samples of ~500 over-represent those. The plain mean is biased
    down by several points; the Hajek estimate is unbiased (mean error within 3 Monte Carlo SEs)
    and its 95 % CI covers the population IQS in 90-99 % of the runs."""
    rng = np.random.default_rng(0)
    r = risk_score(conv)
    y = np.clip(80 - 25 * (r.to_numpy() - 1) + rng.normal(0, 15, len(conv)), 0, 100)
    pop = conv.assign(true_iqs=y)
    truth = y.mean()
    plain_err, hajek_err, covered = [], [], 0
    for seed in range(150):
        s = sample_risk_based(pop, n=500, seed=seed, risk=r).rename(columns={"true_iqs": "iqs"})
        est = weighted_iqs(s).iloc[0]
        plain_err.append(s["iqs"].mean() - truth)
        hajek_err.append(est["iqs"] - truth)
        covered += est["ci_low"] <= truth <= est["ci_high"]
    plain_err, hajek_err = np.array(plain_err), np.array(hajek_err)
    assert plain_err.mean() < -5
    assert abs(hajek_err.mean()) < 3 * hajek_err.std(ddof=1) / np.sqrt(len(hajek_err))
    assert 0.90 <= covered / 150 <= 0.99
