"""Golden tests for the scorecard engine: every number is worked out by hand in the docstring."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import qakit
from qakit import Category, Scorecard, Section, category_scores, iqs_score, load_scorecard
from qakit.errors import DataValidationError, ParameterError, ScorecardError
from qakit.schema import exclusions


def make_ratings(reviews: dict[str, dict[str, float]], agent="a1", **extra) -> pd.DataFrame:
    """Long ratings from {review_id: {category: rating}}."""
    rows = []
    for i, (rid, cats) in enumerate(reviews.items()):
        for cat, r in cats.items():
            rows.append(dict(review_id=rid, conversation_id=f"c_{rid}", agent_id=agent,
                             reviewer_id="q1", reviewed_at="2026-11-02 10:00", category=cat,
                             rating=r, **extra))
    return pd.DataFrame(rows)


SEED = Scorecard([
    Category("Product knowledge", 1.5, critical=True),
    Category("Tone", 1.0),
    Category("Solution", 1.25),
    Category("Grammar", 0.5),
])
ALL = ["Product knowledge", "Tone", "Solution", "Grammar"]


def test_seed_example():
    """Seed scorecard, binary ratings, total weight 1.5 + 1 + 1.25 + 0.5 = 4.25.

    all positive -> 100; only Tone negative -> (4.25 - 1)/4.25 = 76.470588;
    only Grammar negative -> (4.25 - 0.5)/4.25 = 88.235294; Product knowledge negative ->
    critical -> 0 (its raw score (4.25 - 1.5)/4.25 = 64.705882).
    """
    r = make_ratings({
        "all": dict.fromkeys(ALL, 1),
        "tone": {**dict.fromkeys(ALL, 1), "Tone": 0},
        "grammar": {**dict.fromkeys(ALL, 1), "Grammar": 0},
        "pk": {**dict.fromkeys(ALL, 1), "Product knowledge": 0},
    })
    s = SEED.score(r).set_index("review_id")
    assert s.loc["all", "iqs"] == pytest.approx(100.0)
    assert s.loc["tone", "iqs"] == pytest.approx(3.25 / 4.25 * 100)
    assert round(s.loc["tone", "iqs"], 2) == 76.47
    assert round(s.loc["grammar", "iqs"], 2) == 88.24
    assert s.loc["pk", "iqs"] == 0.0
    assert s.loc["pk", "iqs_raw"] == pytest.approx(2.75 / 4.25 * 100)
    assert s["critical_failed"].tolist() == [False, False, False, True]
    assert s.loc["pk", "failed_categories"] == "Product knowledge"
    assert s.loc["tone", "failed_categories"] == ""
    assert s["n_rated"].tolist() == [4, 4, 4, 4]
    assert s["passed"].tolist() == [True, False, True, False]


def test_five_point_mapping():
    """1..5 maps to (r - 1)/(5 - 1)*100 = 0, 25, 50, 75, 100."""
    card = Scorecard([Category("Tone", 1, scale=5)])
    r = make_ratings({f"r{k}": {"Tone": k} for k in range(1, 6)})
    assert card.score(r)["iqs"].tolist() == [0.0, 25.0, 50.0, 75.0, 100.0]


@pytest.mark.parametrize(
    "mode, expected",
    [
        # Tone 1..5 (w=1) rated 3, Solution binary (w=2) rated 1
        ("weighted", (1 * 50 + 2 * 100) / 3),          # 83.333: (3-1)/(5-1)=50%
        ("points", (1 * 3 + 2 * 1) / (1 * 5 + 2 * 1) * 100),  # 71.429: 5 of 7 points
        ("mean_over_max", (1 * 60 + 2 * 100) / 3),     # 86.667: 3/5 = 60%
    ],
)
def test_modes(mode, expected):
    card = Scorecard([Category("Tone", 1, scale=5), Category("Solution", 2)], mode=mode)
    r = make_ratings({"r1": {"Tone": 3, "Solution": 1}})
    assert card.score(r)["iqs"].iloc[0] == pytest.approx(expected)


def test_points_mode_lowest_step_earns_points():
    """Points: rating 1 on 1..4 earns 1 of 4 points = 25%; weighted gives 0%."""
    r = make_ratings({"r1": {"Q": 1}})
    assert Scorecard([Category("Q", 1, scale=4)], mode="points").score(r)["iqs"].iloc[0] == 25.0
    assert Scorecard([Category("Q", 1, scale=4)]).score(r)["iqs"].iloc[0] == 0.0


def test_outcome_list_scale():
    """EvaluAgent-style outcomes [100, 75, 25, 0] with a binary category of equal weight:
    rating 75 and 1 -> (75 + 100)/2 = 87.5; rating 25 and 0 -> 12.5."""
    card = Scorecard([Category("Resolution", 1, scale=[100, 75, 25, 0]), Category("Greeting", 1)])
    r = make_ratings({"r1": {"Resolution": 75, "Greeting": 1}, "r2": {"Resolution": 25, "Greeting": 0}})
    assert card.score(r)["iqs"].tolist() == [87.5, 12.5]


def test_na_excluded_from_numerator_and_denominator():
    """Seed card with Grammar N/A and Tone negative: (1.5 + 1.25)/(1.5 + 1 + 1.25) = 73.333."""
    r = make_ratings({"r": {"Product knowledge": 1, "Tone": 0, "Solution": 1, "Grammar": np.nan}})
    s = SEED.score(r)
    assert s["iqs"].iloc[0] == pytest.approx(2.75 / 3.75 * 100)
    assert s["n_rated"].iloc[0] == 3


def test_all_na_review_is_nan_and_excluded():
    r = make_ratings({"ok": dict.fromkeys(ALL, 1), "empty": dict.fromkeys(ALL, np.nan)})
    s = SEED.score(r)
    assert math.isnan(s.loc[1, "iqs"]) and s.loc[1, "n_rated"] == 0
    assert s["passed"].isna().tolist() == [False, True]
    ex = exclusions(s)
    assert ex["n"].tolist() == [1] and ex["row_ids"].iloc[0] == ("empty",)
    agg = iqs_score(s)
    assert agg.loc[0, "n"] == 1 and agg.loc[0, "n_excluded"] == 1 and agg.loc[0, "iqs"] == 100.0


def _section_card(rule):
    return Scorecard(
        [Category("X", 1, critical=True, section="A"), Category("Y", 1, section="A"),
         Category("Z", 1, section="B")],
        sections=[Section("A", 2, fail_rule=rule), Section("B", 1)],
    )


def test_section_fail_rule_section():
    """A (W=2): X critical failed, Y ok -> raw 50; B (W=1): Z ok -> 100.
    raw = (2*50 + 1*100)/3 = 66.667; fail_rule=section zeroes A -> (2*0 + 100)/3 = 33.333."""
    r = make_ratings({"r": {"X": 0, "Y": 1, "Z": 1}})
    s = _section_card("section").score(r)
    assert s["iqs_raw"].iloc[0] == pytest.approx(200 / 3)
    assert s["iqs"].iloc[0] == pytest.approx(100 / 3)
    assert bool(s["critical_failed"].iloc[0])


def test_section_fail_rule_all():
    r = make_ratings({"r": {"X": 0, "Y": 1, "Z": 1}, "ok": {"X": 1, "Y": 0, "Z": 1}})
    s = _section_card("all").score(r)
    assert s["iqs"].tolist()[0] == 0.0
    # ok: A = 50, B = 100 -> (100 + 100)/3
    assert s["iqs"].tolist()[1] == pytest.approx(200 / 3)


def test_bonus_section_lifts_above_100():
    """Main section A (W=1, X), bonus section (W=0.2, B): X=1,B=1 -> (100 + 0.2*100)/1 = 120;
    X=1,B=0 -> 100; X=0,B=1 -> 20; bonus N/A -> 100."""
    card = Scorecard([Category("X", 1, section="A"), Category("B", 1, section="Bonus")],
                     sections=[Section("A", 1), Section("Bonus", 0.2, bonus=True)])
    r = make_ratings({"r1": {"X": 1, "B": 1}, "r2": {"X": 1, "B": 0}, "r3": {"X": 0, "B": 1},
                      "r4": {"X": 1, "B": np.nan}})
    assert card.score(r)["iqs"].tolist() == pytest.approx([120.0, 100.0, 20.0, 100.0])
    agg = iqs_score(card.score(r))
    assert agg.loc[0, "iqs"] == pytest.approx(85.0)  # (120 + 100 + 20 + 100)/4


def test_pass_threshold_and_bands():
    """Threshold 80 passes 80.0 and fails 75; bands are lower bounds."""
    card = Scorecard([Category("Tone", 1, scale=5)], pass_threshold=80,
                     bands={"poor": 0, "fair": 50, "good": 75, "excellent": 100})
    r = make_ratings({f"r{k}": {"Tone": k} for k in range(1, 6)})
    s = card.score(r)
    assert s["passed"].tolist() == [False, False, False, False, True]
    assert s["band"].astype(str).tolist() == ["poor", "poor", "fair", "good", "excellent"]
    card70 = card.with_changes(pass_threshold=75)
    assert card70.score(r)["passed"].tolist() == [False, False, False, True, True]


def test_custom_critical_threshold():
    """Critical 1..5 category with threshold 60: rating 3 = 50% < 60 fails, rating 4 = 75% passes."""
    card = Scorecard([Category("Compliance", 1, critical=True, scale=5, critical_threshold=60),
                      Category("Tone", 1)])
    r = make_ratings({"a": {"Compliance": 3, "Tone": 1}, "b": {"Compliance": 4, "Tone": 1}})
    s = card.score(r)
    assert s["iqs"].tolist() == [0.0, pytest.approx(87.5)]


def test_weight_zero_category_counts_as_rated_but_not_scored():
    card = Scorecard([Category("A", 0), Category("B", 1)])
    r = make_ratings({"r": {"A": 0, "B": 1}})
    assert card.score(r)["iqs"].iloc[0] == 100.0


def test_versions_scored_with_their_card():
    """v1: Tone weight 1, Solution 1 -> Tone 0, Solution 1 = 50; v2: Tone weight 3 -> 25."""
    v1 = Scorecard([Category("Tone", 1), Category("Solution", 1)], version="v1")
    v2 = v1.with_changes(weights={"Tone": 3}, version="v2")
    r = pd.concat([
        make_ratings({"r1": {"Tone": 0, "Solution": 1}}, scorecard_version="v1"),
        make_ratings({"r2": {"Tone": 0, "Solution": 1}}, scorecard_version="v2"),
    ], ignore_index=True)
    s = qakit.score_reviews(r, {"v1": v1, "v2": v2}).set_index("review_id")
    assert s.loc["r1", "iqs"] == 50.0 and s.loc["r2", "iqs"] == 25.0
    with pytest.raises(DataValidationError, match=r"scorecard_version.*no scorecard registered.*'v2'"):
        v1.score(r)


def test_based_on_scores_the_reviews_of_the_baseline_version():
    """A tuned card (version "v1-tuned", based_on "v1") scores the v1 reviews: Tone weight 3,
    Solution 1 -> Tone 0, Solution 1 = 1/4 = 25 (by hand); the v2 review is refused as before, now
    naming v1 (the version the card scores), not the card's own label."""
    v1 = Scorecard([Category("Tone", 1), Category("Solution", 1)], version="v1")
    tuned = v1.with_changes(weights={"Tone": 3}, version="v1-tuned", based_on="v1")
    assert (tuned.scores_version, v1.scores_version) == ("v1", "v1")
    r1 = make_ratings({"r1": {"Tone": 0, "Solution": 1}}, scorecard_version="v1")
    assert tuned.score(r1)["iqs"].tolist() == [25.0]
    r = pd.concat([r1, make_ratings({"r2": {"Tone": 1, "Solution": 0}}, scorecard_version="v2")], ignore_index=True)
    with pytest.raises(DataValidationError, match=r"no scorecard registered.*\['v1'\].*'v2'"):
        tuned.score(r)
    # in a list of cards each one scores its based_on (or version) reviews: r2 under v2 = 1/2 = 50
    v2 = v1.with_changes(version="v2")
    s = qakit.score_reviews(r, [tuned, v2]).set_index("review_id")["iqs"]
    assert s.to_dict() == {"r1": 25.0, "r2": 50.0}
    # reviews recorded under the tuned label itself do not match it (the label is not a review version)
    with pytest.raises(DataValidationError, match="no scorecard registered"):
        tuned.score(make_ratings({"r3": {"Tone": 1, "Solution": 1}}, scorecard_version="v1-tuned"))


def test_based_on_round_trips_through_yaml_and_json(tmp_path):
    text = ('name: T\nversion: 2026.10-tuned\nbased_on: 2026.10\n'
            'categories: [{name: Tone, weight: 2}, {name: Solution}]\n')
    card = qakit.scorecard.load_scorecard_text(text)
    assert (card.version, card.based_on) == ("2026.10-tuned", "2026.10")  # the text as written, not 2026.1
    card.to_yaml(tmp_path / "c.yaml")
    assert load_scorecard(tmp_path / "c.yaml") == card
    assert "based_on: '2026.10'" in card.to_yaml()
    js = qakit.scorecard.load_scorecard_json('{"version": "x", "based_on": 2026.10, "categories": [{"name": "Tone"}]}')
    assert js.based_on == "2026.10"
    # a card without based_on writes none (the old files stay as they were)
    assert "based_on" not in Scorecard([Category("Tone")], version="v1").to_yaml()


def test_bad_based_on_is_refused_by_name():
    with pytest.raises(ScorecardError, match=r"based_on must be a non-empty version text.*got ''"):
        Scorecard([Category("Tone")], based_on="")
    with pytest.raises(ScorecardError, match=r"based_on must be a non-empty version text.*got 3"):
        Scorecard([Category("Tone")], based_on=3)
    with pytest.raises(ScorecardError, match=r"based_on 2026.1 is a number"):
        load_scorecard({"based_on": 2026.1, "categories": [{"name": "Tone"}]})


def test_validation_collects_every_problem():
    r = make_ratings({"r1": {"Tone": 1, "Solution": 7, "Speed": 1}, "r2": {"Tone": 1, "Solution": 1}})
    r.loc[3, "agent_id"] = "a2"  # r2 now spread over two agents
    r = pd.concat([r, r.iloc[[0]]], ignore_index=True)  # duplicate (r1, Tone)
    r.loc[len(r)] = dict(review_id=None, conversation_id="c9", agent_id="a1", reviewer_id="q1",
                         reviewed_at="2026-11-02", category="Tone", rating=1)
    card = Scorecard([Category("Tone", 1), Category("Solution", 1)])
    with pytest.raises(DataValidationError) as e:
        card.score(r)
    f = e.value.failures
    checks = dict(zip(f["check"].str.slice(0, 25), f["column"]))
    msg = str(e.value)
    assert "empty value in a required column" in msg and "'review_id'" in msg
    assert "duplicate key (review_id, category)" in msg and "r1 / Tone" in msg
    assert "category not on scorecard" in msg and "'Speed'" in msg
    assert "rating off the scale of 'Solution' (allowed: [0, 1])" in msg and "[7]" in msg
    assert "one review spread over several agent_id values" in msg and "r2 -> a2" in msg
    assert len(f) == 5, checks


def test_text_in_rating_column():
    r = make_ratings({"r1": {"Tone": 1}})
    r["rating"] = r["rating"].astype(object)
    r.loc[0, "rating"] = "good"
    with pytest.raises(DataValidationError, match=r"column 'rating': not a number.*'good'.*'r1'"):
        Scorecard([Category("Tone", 1)]).score(r)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(categories=[Category("A", 0), Category("B", 0)]), "all category weights are zero"),
        (dict(categories=[Category("A"), Category("A")]), r"duplicate category names \['A'\]"),
        (dict(categories=[Category("A")], mode="median"), "mode must be one of 'weighted', 'points', 'mean_over_max'; got 'median'"),
        (dict(categories=[Category("A", section="S")]), "defines no sections"),
    ],
)
def test_bad_cards(kwargs, match):
    with pytest.raises(ScorecardError, match=match):
        Scorecard(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(weight=-1), "weight must be a finite number >= 0; got -1"),
        (dict(weight=float("nan")), "weight must be a finite number >= 0; got nan"),
        (dict(scale=1), "at least 2 points; got 1"),
        (dict(scale=[100]), r"at least 2 points; got \[100\]"),
        (dict(scale="loud"), "scale must be"),
        (dict(critical_threshold=150), "critical_threshold must be a percent in 0..100; got 150"),
    ],
)
def test_bad_categories(kwargs, match):
    with pytest.raises(ScorecardError, match=match):
        Category("Tone", **kwargs)


def test_yaml_roundtrip_and_safe_loading(tmp_path):
    card = Scorecard([Category("PK", 1.5, critical=True), Category("Tone", 1, scale=5),
                      Category("Res", 1, scale=[100, 75, 25, 0])], version="3", bands={"ok": 0, "top": 90})
    p = tmp_path / "card.yaml"
    card.to_yaml(p)
    assert load_scorecard(p) == card
    evil = tmp_path / "evil.yaml"
    evil.write_text("categories:\n  - name: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ScorecardError, match="not a safe YAML scorecard"):
        load_scorecard(evil)
    typo = tmp_path / "typo.yaml"
    typo.write_text("categories:\n  - name: A\n    critcal: true\n")
    with pytest.raises(ScorecardError, match=r"unknown key\(s\) \['critcal'\]"):
        load_scorecard(typo)


def test_json_card(tmp_path):
    p = tmp_path / "c.json"
    p.write_text('{"mode": "points", "categories": [{"name": "A", "scale": 4}]}')
    assert load_scorecard(p).mode == "points"


def test_iqs_score_ci_matches_scipy():
    """CI = scipy.stats.t.interval(0.95, n-1, mean, sem) on the review scores of each agent."""
    scores = pd.DataFrame({
        "agent_id": ["a"] * 5 + ["b"] * 3,
        "iqs": [100, 80, 60, 90, 70, 40, 50, 90.0],
        "passed": pd.array([True, True, False, True, False, False, False, True], dtype="boolean"),
    })
    res = iqs_score(scores, by="agent_id", min_n=4)
    for agent, row in res.set_index("agent_id").iterrows():
        x = scores.loc[scores.agent_id == agent, "iqs"]
        lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
        assert row["iqs"] == pytest.approx(x.mean())
        assert row["ci_low"] == pytest.approx(max(lo, 0)) and row["ci_high"] == pytest.approx(min(hi, 100))
    assert res["pass_rate"].tolist() == pytest.approx([3 / 5, 1 / 3])
    assert res["small_sample"].tolist() == [False, True]
    assert list(res.columns[:5]) == ["agent_id", "n", "iqs", "ci_low", "ci_high"]


def test_iqs_score_by_period():
    scores = pd.DataFrame({
        "reviewed_at": pd.to_datetime(["2026-11-02", "2026-11-03", "2026-11-10"], utc=True),
        "iqs": [100.0, 50.0, 20.0], "passed": pd.array([True, False, False], dtype="boolean")})
    res = iqs_score(scores, period="W")
    assert res["period"].astype(str).tolist() == ["2026-11-02", "2026-11-09"]
    assert res["iqs"].tolist() == [75.0, 20.0]


def test_iqs_score_bad_by():
    scores = pd.DataFrame({"iqs": [1.0], "passed": pd.array([False], dtype="boolean")})
    with pytest.raises(ParameterError, match=r"by column\(s\) \['team'\] not in scores"):
        iqs_score(scores, by="team")


def test_category_scores_pool_reviews_not_agents():
    """Agent a: Tone 5,5,5 (100 each); agent b: Tone 1 (0). Pooled = 300/4 = 75,
    while an average of agent averages would be (100 + 0)/2 = 50."""
    card = Scorecard([Category("Tone", 1, scale=5)])
    r = pd.concat([make_ratings({f"a{i}": {"Tone": 5} for i in range(3)}, agent="a"),
                   make_ratings({"b0": {"Tone": 1}}, agent="b")], ignore_index=True)
    res = category_scores(r, card)
    assert res.loc[0, "category_score"] == 75.0 and res.loc[0, "n"] == 4
    per_agent = category_scores(r, card, by="agent_id")
    assert per_agent["category_score"].tolist() == [100.0, 0.0]


def test_a_review_exactly_at_the_threshold_passes_despite_float_sums():
    """Points mode, 0.17 x (3 of 4) + 0.17 x (1 of 1) out of 0.17 x 5 points = 4/5 = 80 % exactly
    (by hand); the floating-point sum is 79.99999999999999, which must still pass an 80 % threshold
    and land in the 80 % band. Fitted weights (tuning.fit_weights) are arbitrary floats like these."""
    card = Scorecard([Category("Tone", 0.17, scale=[1, 2, 3, 4]), Category("Solution", 0.17)], mode="points",
                     bands={"good": 80, "poor": 0})
    r = pd.DataFrame({"review_id": "r1", "conversation_id": "c1", "agent_id": "a", "reviewer_id": "q",
                      "reviewed_at": "2026-11-02", "category": ["Tone", "Solution"], "rating": [3.0, 1.0]})
    s = card.score(r)
    assert s["iqs"].iloc[0] == pytest.approx(80.0, abs=1e-12)
    assert bool(s["passed"].iloc[0]) and s["band"].iloc[0] == "good"
    assert card.passes([80 - 1e-6]).tolist() == [False]  # a real shortfall still fails


def test_iqs_score_by_a_categorical_column_equals_the_groupby_result():
    """One categorical grouping column takes a bincount path; it must give what pandas' groupby
    gives for the same column as text (n, IQS, CI, pass rate, exclusions), including a missing
    key (its own group, last), groups with one review (no CI), reviews not scored (NaN) and
    categories with no review (dropped)."""
    rng = np.random.default_rng(8)
    n = 400
    scores = pd.DataFrame({
        "agent_id": rng.choice(["a", "b", "c"], n, p=[0.4, 0.3, 0.3]),
        "iqs": rng.uniform(40, 100, n), "reviewed_at": pd.Timestamp("2026-11-02", tz="UTC")})
    scores.loc[:5, "agent_id"] = None
    scores.loc[0, "agent_id"], scores.loc[399, "agent_id"] = "solo", None
    scores.loc[10:14, "iqs"] = np.nan
    scores["passed"] = pd.array(scores["iqs"] >= 80, dtype="boolean")
    scores.loc[scores["iqs"].isna(), "passed"] = pd.NA
    as_cat = scores.assign(agent_id=pd.Categorical(scores["agent_id"], categories=["c", "b", "a", "solo", "unused"]))
    text = iqs_score(scores, by="agent_id", min_n=5)
    fast = iqs_score(as_cat, by="agent_id", min_n=5)
    assert fast["agent_id"].tolist()[:4] == ["c", "b", "a", "solo"] and pd.isna(fast["agent_id"].iloc[-1])
    key = lambda r: r.assign(agent_id=r["agent_id"].astype(object).fillna("<NA>").astype(str)).set_index("agent_id").sort_index()
    pd.testing.assert_frame_equal(key(fast), key(text), check_exact=False, rtol=1e-12)
    assert np.isnan(fast.set_index("agent_id").loc["solo", "ci_low"])
