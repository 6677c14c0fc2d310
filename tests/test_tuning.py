"""qakit.tuning: fast re-scoring, comparing two cards, cross-validated weight fitting.

Expected values come from Scorecard.score (the reference engine, itself pinned by golden tests),
from scipy called directly, or from a synthetic truth planted in the test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from qakit import Category, Scorecard, Section, datasets
from qakit.errors import ParameterError
from qakit.tuning import ReviewMatrix, compare_scorecards, fit_weights, weights_table


@pytest.fixture(scope="module")
def sample():
    return datasets.load_sample_scorecard(), datasets.load_sample("ratings"), datasets.load_sample("surveys")


@pytest.mark.parametrize("change", [
    {},
    {"weights": {"Tone": 3.0, "Grammar": 0.0}},
    {"critical": {"Compliance": False, "Tone": True}},
    {"weights": {"Solution": 0.1}, "mode": "points"},
    {"mode": "mean_over_max"},
])
def test_review_matrix_equals_reference_engine(sample, change):
    """Matrix re-scoring reproduces Scorecard.score exactly (NaN in the same places)."""
    card, ratings, _ = sample
    c = card.with_changes(**change)
    m = ReviewMatrix(ratings, c)
    ref = c.score(ratings)["iqs"].to_numpy()
    np.testing.assert_allclose(m.iqs(c), ref, rtol=0, atol=1e-9)


def test_compare_scorecards(sample):
    """Per-agent IQS under each card equal a plain groupby of Scorecard.score; Kendall tau equals
    scipy.stats.kendalltau of those means; flips are agents whose mean crosses 80 between cards;
    r_change equals the difference of scipy Pearson r on an independent conversation join."""
    card, ratings, surveys = sample
    cand = card.with_changes(weights={"Tone": 3.0}, critical={"Compliance": False})
    res = compare_scorecards(ratings, card, cand, surveys=surveys, n_resamples=499)
    a = card.score(ratings).groupby("agent_id")["iqs"].mean()
    b = cand.score(ratings).groupby("agent_id")["iqs"].mean()
    ag = res.agents.set_index("agent_id")
    assert ag["iqs_a"].sort_index().to_numpy() == pytest.approx(a.sort_index().to_numpy())
    assert ag["iqs_b"].sort_index().to_numpy() == pytest.approx(b.sort_index().to_numpy())
    s = res.summary.iloc[0]
    assert s["kendall_tau"] == pytest.approx(sps.kendalltau(a.sort_index(), b.sort_index()).statistic)
    flips = sorted(((a >= 80) != (b >= 80)).pipe(lambda m: m[m].index))
    assert sorted(ag.index[ag["flipped"]]) == flips and s["n_flipped"] == len(flips)
    cs = surveys[surveys["kind"] == "csat"].groupby("conversation_id")["score"].mean()
    ja = pd.concat([card.score(ratings).groupby("conversation_id")["iqs"].mean(), cs], axis=1, join="inner").dropna()
    jb = pd.concat([cand.score(ratings).groupby("conversation_id")["iqs"].mean(), cs], axis=1, join="inner").dropna()
    ra = sps.pearsonr(ja["iqs"], ja["score"]).statistic
    rb = sps.pearsonr(jb["iqs"], jb["score"]).statistic
    assert s["r_change"] == pytest.approx(rb - ra, abs=1e-12)
    assert s["ci_low"] < s["r_change"] < s["ci_high"]


def test_compare_identical_cards(sample):
    card, ratings, surveys = sample
    s = compare_scorecards(ratings, card, card, surveys=surveys, n_resamples=99).summary.iloc[0]
    assert s["kendall_tau"] == pytest.approx(1.0) and s["n_flipped"] == 0 and s["r_change"] == 0


def _planted(n=600, seed=5):
    """CSAT driven by category A only; B is pure noise. Both binary, equal current weights."""
    rng = np.random.default_rng(seed)
    qa = rng.normal(size=n)
    a = (rng.random(n) < 1 / (1 + np.exp(-2 * qa))).astype(float)
    b = (rng.random(n) < 0.5).astype(float)
    csat = np.clip(np.round(3 + 1.2 * qa + rng.normal(0, 0.8, n)), 1, 5)
    ids = [f"r{i}" for i in range(n)]
    ratings = pd.DataFrame({"review_id": np.repeat(ids, 2), "conversation_id": np.repeat(ids, 2),
                            "agent_id": "x", "reviewer_id": "q", "reviewed_at": None,
                            "category": ["A", "B"] * n, "rating": np.column_stack([a, b]).ravel()})
    surveys = pd.DataFrame({"conversation_id": ids, "kind": "csat", "score": csat, "answered_at": None})
    return ratings, surveys


def test_fit_weights_recovers_planted_driver_and_reports_out_of_fold():
    """With CSAT driven by A only, the fitted weight of B is ~0, the out-of-fold r of the fitted
    card beats the current equal-weights card, and the fitted card's r on all data equals scipy's
    Pearson r of its Scorecard.score against CSAT."""
    ratings, surveys = _planted()
    card = Scorecard([Category("A"), Category("B")])
    fit = fit_weights(ratings, card, surveys, k=5, seed=1)
    w = fit.weights.set_index("category")["fitted_weight"]
    assert w["B"] / w["A"] < 0.05
    assert w.sum() == pytest.approx(2.0)  # rescaled to the current total weight
    s = fit.summary.iloc[0]
    assert s["r_test_fitted"] > s["r_test_current"] + 0.05
    iqs = fit.card.score(ratings)["iqs"].to_numpy()
    assert s["r_fitted_in_sample"] == pytest.approx(sps.pearsonr(iqs, surveys["score"]).statistic, abs=1e-9)
    assert fit.folds["n_test"].sum() == 600 and len(fit.folds) == 5
    again = fit_weights(ratings, card, surveys, k=5, seed=1)
    pd.testing.assert_frame_equal(fit.folds, again.folds)


def test_fit_weights_on_sample_keeps_critical_and_is_honest(sample):
    """On the bundled data: critical categories keep a positive weight, in-sample r >= the
    current card's r (the optimiser starts from it), and optimism = in-sample - out-of-fold."""
    card, ratings, surveys = sample
    fit = fit_weights(ratings, card, surveys, k=4, seed=0)
    w = fit.weights.set_index("category")["fitted_weight"]
    assert w["Product knowledge"] > 0 and w["Compliance"] > 0
    s = fit.summary.iloc[0]
    assert s["r_fitted_in_sample"] >= s["r_current"] - 1e-9
    assert s["optimism"] == pytest.approx(s["r_fitted_in_sample"] - s["r_test_fitted"])


def test_fit_weights_bad_input(sample):
    card, ratings, surveys = sample
    with pytest.raises(ParameterError, match="k must be an integer >= 2; got 1"):
        fit_weights(ratings, card, surveys, k=1)
    few = surveys[surveys["kind"].eq("csat")].head(3)
    with pytest.raises(ParameterError, match="at least 10 reviewed conversations with CSAT.*found"):
        fit_weights(ratings, card, few, k=5)


def test_weights_table_union_of_categories():
    a = Scorecard([Category("Tone"), Category("Solution", 2.0)])
    b = Scorecard([Category("Tone", 3.0), Category("Grammar", 0.5)])
    t = weights_table({"a": a, "b": b})
    assert t["category"].tolist() == ["Tone", "Solution", "Grammar"]
    assert t["b"].tolist()[0] == 3.0 and np.isnan(t["b"].tolist()[1])
