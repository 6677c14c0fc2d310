"""Tuning and the explorer on the one engine: sectioned cards, cards that differ in mode,
thresholds, sections and N/A policies, and weight fitting with the exact engine inside.

Expected values come from ``Scorecard.score`` (pinned by the golden vendor tests and the
independent reference in test_engine_properties.py), from pandas/scipy called directly, or
from scipy's finite-difference gradient check.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import optimize
from scipy import stats as sps

from qakit import datasets, load_scorecard
from qakit.stats import csat_by_conversation
from qakit.tuning import ReviewMatrix, _neg_r_and_grad, compare_scorecards, fit_weights
from qakit.widgets import explore, explore_fast, prepare_explorer


@pytest.fixture(scope="module")
def sample():
    plain = datasets.load_sample_scorecard()
    sectioned = load_scorecard(datasets.sample_data_dir() / "scorecard_sections.yaml")
    return plain, sectioned, datasets.load_sample("ratings"), datasets.load_sample("surveys")


def test_sectioned_sample_card_has_the_plain_cards_categories(sample):
    plain, sectioned, _, _ = sample
    assert sorted(sectioned.category_names) == sorted(plain.category_names)
    assert {c.name: (c.weight, c.critical, c.scale) for c in sectioned.categories} == {
        c.name: (c.weight, c.critical, c.scale) for c in plain.categories}
    assert [s.name for s in sectioned.sections] == ["Compliance", "Resolution", "Communication"]


@pytest.mark.parametrize("change", [
    {},
    {"weights": {"Tone": 3.0, "Grammar": 0.0}},
    {"critical": {"Compliance": False, "Tone": True}, "pass_threshold": 70.0},
    {"mode": "points"},
    {"sections_combine": "points"},
])
def test_explorer_tunes_the_sectioned_card_exactly(sample, change):
    """explore_fast from a matrix prepared with the PLAIN card scores the sectioned card (and its
    variants) exactly as explore() -> Scorecard.score does."""
    plain, sectioned, ratings, surveys = sample
    csat = csat_by_conversation(surveys)
    cand = sectioned.with_changes(**change)
    state = prepare_explorer(ratings, plain, csat=csat)
    fast = explore_fast(state, cand)
    ref = explore(ratings, cand, baseline=plain, csat=csat)
    np.testing.assert_allclose(fast.scores["iqs"].to_numpy(), ref.scores["iqs"].to_numpy(), rtol=0, atol=1e-9)
    pd.testing.assert_frame_equal(fast.agents[list(ref.agents.columns)], ref.agents, check_dtype=False,
                                  rtol=1e-12, atol=1e-9)
    pd.testing.assert_frame_equal(fast.summary[list(ref.summary.columns)], ref.summary, check_dtype=False,
                                  rtol=1e-12, atol=1e-9)


def test_review_matrix_and_compare_on_cards_that_differ_in_sections_and_mode(sample):
    """compare_scorecards(plain, sectioned-in-points-mode): per-agent IQS equal a plain pandas
    groupby mean of each card's Scorecard.score."""
    plain, sectioned, ratings, _ = sample
    other = sectioned.with_changes(mode="points", sections_combine="points")
    m = ReviewMatrix(ratings, plain)
    ref = other.score(ratings)
    np.testing.assert_allclose(m.iqs(other), ref["iqs"].to_numpy(), rtol=0, atol=1e-9)
    res = compare_scorecards(ratings, plain, other, n_resamples=99)
    a = res.agents.set_index("agent_id")
    for card, col in ((plain, "iqs_a"), (other, "iqs_b")):
        exp = card.score(ratings).groupby("agent_id")["iqs"].mean()
        np.testing.assert_allclose(a[col].reindex(exp.index).to_numpy(), exp.to_numpy(), rtol=0, atol=1e-9)


def _conversation_r(card, ratings, surveys) -> float:
    """Pearson r of review IQS with its conversation's CSAT, from Scorecard.score and scipy."""
    s = card.score(ratings)
    y = s["conversation_id"].map(csat_by_conversation(surveys)).to_numpy(dtype=float)
    x = s["iqs"].to_numpy(dtype=float)
    ok = ~np.isnan(x) & ~np.isnan(y)
    return float(sps.pearsonr(x[ok], y[ok]).statistic)


def test_fit_weights_on_a_sectioned_card_uses_the_exact_engine(sample):
    """A sectioned card is not one weighted ratio: the fit runs the engine inside the objective
    (finite-difference gradient). Its reported in-sample r equals r recomputed from
    Scorecard.score of the fitted card, and is at least the current card's r."""
    _, sectioned, ratings, surveys = sample
    fit = fit_weights(ratings, sectioned, surveys, k=2, seed=1)
    r_fitted = _conversation_r(fit.card, ratings, surveys)
    r_current = _conversation_r(sectioned, ratings, surveys)
    assert fit.summary["r_fitted_in_sample"].iloc[0] == pytest.approx(r_fitted, abs=1e-9)
    assert fit.summary["r_current"].iloc[0] == pytest.approx(r_current, abs=1e-9)
    assert r_fitted >= r_current - 1e-9
    assert fit.card.sections == sectioned.sections
    assert fit.weights["fitted_weight"].sum() == pytest.approx(sum(sectioned.weights.values()))


def test_analytic_gradient_matches_finite_differences(sample):
    """For a card without sections (points mode, N/A counted as full marks on Grammar) the
    analytic gradient of -r agrees with scipy.optimize.check_grad's finite differences."""
    plain, _, ratings, surveys = sample
    card = replace(plain, mode="points", categories=tuple(
        replace(c, na="full") if c.name == "Grammar" else c for c in plain.categories))
    m = ReviewMatrix(ratings, card)
    U, V = m.linear_parts(card)
    failed = m.result(card).critical_failed
    y = m.ids["conversation_id"].map(csat_by_conversation(surveys)).to_numpy(dtype=float)
    use = ~np.isnan(y)
    w = np.linspace(0.3, 1.0, len(m.categories))

    def f(w_):
        return _neg_r_and_grad(w_, U[use], V[use], failed[use], y[use])[0]

    def g(w_):
        return _neg_r_and_grad(w_, U[use], V[use], failed[use], y[use])[1]

    err = optimize.check_grad(f, g, w, epsilon=1e-7)
    assert err < 1e-5 * max(1.0, np.linalg.norm(g(w)))
    # and the objective is the engine's: -r of m.iqs under weights w
    iqs = m.iqs_from(w, np.array([card.critical[c] for c in m.categories]))
    ok = use & ~np.isnan(iqs)
    assert f(w) == pytest.approx(-np.corrcoef(iqs[ok], y[ok])[0, 1], abs=1e-12)
