"""The tuning explorer: the pure update function and the widgets driven through `.value`."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from qakit import Category, Scorecard, load_scorecard
from qakit.widgets import ScorecardExplorer, csat_by_conversation, explore

CARD = Scorecard([Category("PK", 1.5, critical=True), Category("Tone", 1.0), Category("Solution", 1.25),
                  Category("Grammar", 0.5)], pass_threshold=80)


def small_data(seed=3, n_agents=6, per_agent=12):
    """Binary ratings with agent-level skill; CSAT 1..5 loosely following the review."""
    rng = np.random.default_rng(seed)
    rows, surveys = [], []
    for a in range(n_agents):
        skill = 0.55 + 0.07 * a
        for i in range(per_agent):
            rid, cid = f"r{a}_{i}", f"c{a}_{i}"
            vals = (rng.random(4) < skill).astype(float)
            vals[0] = 1.0 if rng.random() < 0.9 else 0.0
            for cat, v in zip(CARD.category_names, vals):
                rows.append(dict(review_id=rid, conversation_id=cid, agent_id=f"A{a}", reviewer_id="q",
                                 reviewed_at="2026-11-02", category=cat, rating=v))
            surveys.append(dict(conversation_id=cid, kind="csat", answered_at="2026-11-03",
                                score=float(np.clip(round(1 + 4 * vals.mean() + rng.normal(0, 0.8)), 1, 5))))
    return pd.DataFrame(rows), pd.DataFrame(surveys)


def test_explore_matches_independent_computation():
    ratings, surveys = small_data()
    tuned = CARD.with_changes(weights={"Grammar": 3.0}, critical={"PK": False})
    res = explore(ratings, tuned, baseline=CARD, csat=csat_by_conversation(surveys))
    scores = tuned.score(ratings)
    base = CARD.score(ratings)
    s = res.summary.iloc[0]
    assert s["iqs"] == pytest.approx(scores["iqs"].mean())
    assert s["baseline_iqs"] == pytest.approx(base["iqs"].mean())
    joined = scores.merge(surveys, on="conversation_id")
    r = stats.pearsonr(joined["iqs"], joined["score"])
    assert s["r"] == pytest.approx(r.statistic)
    assert s["r_ci_low"] == pytest.approx(r.confidence_interval().low)
    # agent pass/fail flips: agent mean >= 80 under each card, compared by hand
    a_new = scores.groupby("agent_id")["iqs"].mean() >= 80
    a_old = base.groupby("agent_id")["iqs"].mean() >= 80
    flips = sorted(a_new.index[a_new != a_old])
    assert sorted(res.agents.loc[res.agents["flipped"], "agent_id"]) == flips
    assert s["n_flipped"] == len(flips)
    best = scores.groupby("agent_id")["iqs"].mean().idxmax()
    assert res.agents.iloc[0]["agent_id"] == best and res.agents.iloc[0]["rank"] == 1


def test_widget_slider_drives_the_update(tmp_path):
    ratings, surveys = small_data()
    ex = ScorecardExplorer(ratings, CARD, surveys=surveys, save_path=tmp_path / "tuned.yaml")
    assert 'data-measure="iqs"' in ex.summary.value
    ex.weight_sliders["Grammar"].value = 3.0
    ex.critical_boxes["PK"].value = False
    expected = CARD.with_changes(weights={"Grammar": 3.0}, critical={"PK": False}).score(ratings)["iqs"].mean()
    assert ex.result.summary["iqs"].iloc[0] == pytest.approx(expected)
    assert f"{expected:.1f}%" in ex.summary.value
    path = ex.save()
    saved = load_scorecard(path)
    assert saved.weights["Grammar"] == 3.0 and saved.critical["PK"] is False


def test_widget_reports_invalid_card_instead_of_crashing():
    ratings, surveys = small_data()
    ex = ScorecardExplorer(ratings, CARD, surveys=surveys)
    for name in CARD.category_names[1:]:
        ex.weight_sliders[name].value = 0.0
    before = ex.result
    ex.weight_sliders["PK"].value = 0.0  # every weight 0 is refused by the card
    assert "all category weights are zero" in ex.status.value
    assert ex.result is before


@pytest.mark.parametrize("change", [
    {}, {"weights": {"Tone": 3.0, "Grammar": 0.0}}, {"critical": {"Compliance": False}, "pass_threshold": 70.0},
    {"mode": "points"}, {"mode": "mean_over_max", "weights": {"Solution": 2.5}},
])
def test_fast_explorer_path_equals_the_reference_engine(change):
    """explore_fast (prepared matrices) gives exactly explore()'s numbers (full engine) on the
    bundled sample, for weight, critical, threshold and mode changes."""
    from qakit import datasets
    from qakit.widgets import explore_fast, prepare_explorer

    card = datasets.load_sample_scorecard()
    ratings = datasets.load_sample("ratings")
    csat = csat_by_conversation(datasets.load_sample("surveys"))
    cand = card.with_changes(**change)
    fast = explore_fast(prepare_explorer(ratings, card, csat=csat), cand)
    ref = explore(ratings, cand, baseline=card, csat=csat)
    pd.testing.assert_frame_equal(fast.agents[list(ref.agents.columns)], ref.agents, check_dtype=False,
                                  rtol=1e-12, atol=1e-9)
    pd.testing.assert_frame_equal(fast.summary[list(ref.summary.columns)], ref.summary, check_dtype=False,
                                  rtol=1e-12, atol=1e-12)


def test_explorer_results_itemise_unscored_reviews_and_normalised_ids():
    """The explorer's tables carry their record like every public result (issue 12): a review
    with every category N/A is listed as not scored, a trailing space in an agent id as an
    adjustment -- the same reviews ``Scorecard.score`` itemises, on the fast path, the reference
    path and the widget (``ScorecardExplorer.result``)."""
    from qakit.schema import adjustments, exclusions
    from qakit.widgets import agent_view, effect_table, explore_fast, prepare_explorer

    ratings, surveys = small_data()
    ratings.loc[ratings["review_id"].eq("r2_3"), "rating"] = np.nan  # every category N/A
    ratings.loc[ratings["agent_id"].eq("A4"), "agent_id"] = "A4 "
    a4_reviews = set(ratings.loc[ratings["agent_id"].eq("A4 "), "review_id"])
    tuned = CARD.with_changes(weights={"Grammar": 3.0})
    csat = csat_by_conversation(surveys)
    fast = explore_fast(prepare_explorer(ratings, CARD, csat=csat), tuned)
    ex = ScorecardExplorer(ratings, CARD, surveys=surveys)
    ex.weight_sliders["Grammar"].value = 3.0
    for res in (fast, explore(ratings, tuned, baseline=CARD, csat=csat), ex.result):
        for table in (res.scores, res.agents):
            ex_ = exclusions(table)
            assert ex_.loc[ex_["reason"].str.startswith("all categories N/A"), "row_ids"].tolist() == [("r2_3",)]
        assert len(adjustments(res.scores)) >= 1
    assert exclusions(agent_view(fast)).loc[0, "row_ids"] == ("r2_3",)
    assert exclusions(effect_table(fast)).loc[0, "row_ids"] == ("r2_3",)
    adj = adjustments(fast.scores)
    assert any(set(ids) & a4_reviews for ids in adj["row_ids"]), adj
    # the agent is ranked under its cleaned id, with its 12 reviews
    assert fast.agents.set_index("agent_id").loc["A4", "n"] == 12
