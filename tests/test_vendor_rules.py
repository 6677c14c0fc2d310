"""Golden tests: each vendor's documented scoring example, reproduced from a YAML card.

Every docstring names the source (URL) and the vendor's number; the expected values are the
vendor's numbers or hand arithmetic shown in the docstring, never the code's own output.
Where a vendor's page could not be opened from here, the docstring says so and the arithmetic
follows the rule the issue (13) quotes.
"""

from __future__ import annotations

import json
import tracemalloc
import unicodedata

import numpy as np
import pandas as pd
import pytest

from qakit import Category, Scorecard, Section, iqs_score, load_scorecard, load_scorecard_text
from qakit import schema as S
from qakit.errors import DataValidationError, ScorecardError
from qakit.scorecard import parse_scale
from qakit.tuning import ReviewMatrix


def make_ratings(reviews: dict[str, dict[str, float]], agent="a1", **extra) -> pd.DataFrame:
    """Long ratings from {review_id: {category: rating}}."""
    rows = []
    for rid, cats in reviews.items():
        for cat, r in cats.items():
            rows.append(dict(review_id=rid, conversation_id=f"c_{rid}", agent_id=agent, reviewer_id="q1",
                             reviewed_at="2026-11-02 10:00", category=cat, rating=r, **extra))
    return pd.DataFrame(rows)


def score_of(card: Scorecard, reviews: dict) -> pd.Series:
    return card.score(make_ratings(reviews)).set_index("review_id")["iqs"]


def adjustments(df: pd.DataFrame) -> list:
    return S.adjustments(df).to_dict("records")


# --- Zendesk QA ------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale, expected", [
    ("binary", [0, 100]),
    ("3", [0, 50, 100]),
    ("4", [0, 100 / 3, 200 / 3, 100]),
    ("5", [0, 25, 50, 75, 100]),
])
def test_zendesk_category_score_tables(scale, expected):
    """Zendesk QA, https://support.zendesk.com/hc/en-us/articles/7043701093786 : category score =
    (selected - min)/(max - min) * 100; binary 0/100 %, 3-point 0/50/100 %, 4-point
    0/33.3/66.6/100 %, 5-point 0/25/50/75/100 %."""
    card = load_scorecard_text(f"categories: [{{name: Q, scale: {scale}}}]")
    values = card.categories[0].scale.values
    got = score_of(card, {f"r{i}": {"Q": v} for i, v in enumerate(values)})
    assert got.tolist() == pytest.approx(expected, abs=1e-12)


def test_zendesk_iqs_52_97():
    """Zendesk QA, same article: review scores 100, 9.91, 63.96, 90.99, 0 % ->
    IQS = (100 + 9.91 + 63.96 + 90.99 + 0)/5 = 52.972 -> 52.97 %."""
    scores = pd.DataFrame({"review_id": list("abcde"), "iqs": [100.0, 9.91, 63.96, 90.99, 0.0],
                           "passed": pd.array([True, False, False, True, False], dtype="boolean")})
    res = iqs_score(scores)
    assert res["iqs"].iloc[0] == pytest.approx(52.972)
    assert round(res["iqs"].iloc[0], 2) == 52.97


def test_zendesk_critical_category_below_50_zeroes_the_review():
    """Zendesk QA, same article: "If a critical category rating is below 50%, the score is
    automatically set to zero". 3-point critical rated 1 (0 %) -> 0; rated 2 (50 %, not below)
    -> (50 + 100)/2 = 75 with an equal-weight binary category rated 1."""
    card = load_scorecard_text("""
categories:
  - {name: GDPR, scale: 3, critical: true}
  - {name: Tone, scale: binary}
""")
    got = score_of(card, {"fail": {"GDPR": 1, "Tone": 1}, "ok": {"GDPR": 2, "Tone": 1}})
    assert got.tolist() == [0.0, 75.0]


def test_klaus_five_category_four_point_example():
    """Klaus (now Zendesk QA; rule from https://support.zendesk.com/hc/en-us/articles/7043701093786):
    five 4-point categories, weights 1, 2, 2, 0.5, 1, ratings 4, 3, 2, 4, 1 -> category scores
    100, 66.67, 33.33, 100, 0; review = (100 + 133.33 + 66.67 + 50 + 0)/6.5 = 350/6.5 = 53.846 %.
    (The original Klaus help page could not be opened from here; the arithmetic is by hand.)"""
    card = load_scorecard_text("""
categories:
  - {name: Politeness, weight: 1, scale: 4}
  - {name: Explanation, weight: 2, scale: 4}
  - {name: Solution, weight: 2, scale: 4}
  - {name: Empathy, weight: 0.5, scale: 4}
  - {name: Process, weight: 1, scale: 4}
""")
    r = {"Politeness": 4, "Explanation": 3, "Solution": 2, "Empathy": 4, "Process": 1}
    assert score_of(card, {"r": r}).iloc[0] == pytest.approx(350 / 6.5)


# --- MaestroQA -----------------------------------------------------------------------------------
MAESTRO_POINTS = """
mode: points
categories:
  - {name: Grammar, scale: "0-5"}
  - {name: Knowledge, scale: "0-10"}
  - {name: Solving, scale: "0-15"}
  - {name: Privacy, scale: "0-5"}
"""
MAESTRO_SECTIONS = """
mode: points
sections_combine: points
sections:
  - {name: Grammar and Tone}
  - {name: Product Knowledge}
  - {name: Problem Solving}
  - {name: Privacy and Security}
categories:
  - {name: Grammar, scale: "0-5", section: Grammar and Tone}
  - {name: Knowledge, scale: "0-10", section: Product Knowledge}
  - {name: Solving, scale: "0-15", section: Problem Solving}
  - {name: Privacy, scale: "0-5", section: Privacy and Security}
"""
MAESTRO_R = {"full": {"Grammar": 3, "Knowledge": 5, "Solving": 8, "Privacy": 5},
             "na": {"Grammar": 3, "Knowledge": 5, "Solving": 8, "Privacy": np.nan}}


@pytest.mark.parametrize("text", [MAESTRO_POINTS, MAESTRO_SECTIONS], ids=["no sections", "sections"])
def test_maestroqa_total_point_rubric(text):
    """MaestroQA, https://help.maestroqa.com/en/articles/4544009-how-do-total-point-rubrics-work :
    3 + 5 + 8 + 5 = 21 of 5 + 10 + 15 + 5 = 35 points -> 60 %; Privacy N/A -> 16/30 = 53.33 %.
    The same with the four sections pooled (``sections_combine: points``)."""
    got = score_of(load_scorecard_text(text), MAESTRO_R)
    assert got["full"] == pytest.approx(60.0)
    assert got["na"] == pytest.approx(16 / 30 * 100)


def test_maestroqa_custom_weighted_sections():
    """MaestroQA, https://help.maestroqa.com/en/articles/4547978-how-do-custom-weighted-sections-rubrics-work :
    sections worth 10/30/50/10 %, max points 3/10/5/2, earned 3/5/4/1 ->
    (3/3)*10 + (5/10)*30 + (4/5)*50 + (1/2)*10 = 70 %; the total-point rubric on the same
    answers gives 13/20 = 65 %."""
    sec = """
mode: points
sections_combine: {combine}
sections:
  - {{name: Grammar and Tone, weight: 10}}
  - {{name: Product Knowledge, weight: 30}}
  - {{name: Problem Solving, weight: 50}}
  - {{name: Privacy and Security, weight: 10}}
categories:
  - {{name: Grammar, scale: "0-3", section: Grammar and Tone}}
  - {{name: Knowledge, scale: "0-10", section: Product Knowledge}}
  - {{name: Solving, scale: "0-5", section: Problem Solving}}
  - {{name: Privacy, scale: "0-2", section: Privacy and Security}}
"""
    r = {"r": {"Grammar": 3, "Knowledge": 5, "Solving": 4, "Privacy": 1}}
    assert score_of(load_scorecard_text(sec.format(combine="weights")), r).iloc[0] == pytest.approx(70.0)
    assert score_of(load_scorecard_text(sec.format(combine="points")), r).iloc[0] == pytest.approx(65.0)


def test_maestroqa_auto_fail_criterion_worth_no_points():
    """MaestroQA auto-fail (https://help.maestroqa.com/en/articles/4537176-rubric-scorecard-structure):
    "When one auto-fail criteria is selected, the QA score will always have a 0%". A weight-0
    critical category: passed -> 21/35 = 60 % (adds no points), failed -> 0 %."""
    card = load_scorecard_text(MAESTRO_POINTS + "  - {name: Auto-fail, weight: 0, critical: true, scale: binary}\n")
    base = MAESTRO_R["full"]
    got = score_of(card, {"ok": {**base, "Auto-fail": 1}, "fail": {**base, "Auto-fail": 0}})
    assert got["ok"] == pytest.approx(60.0) and got["fail"] == 0.0


def test_mean_over_max_is_the_mean_of_r_over_max():
    """``mean_over_max`` is the mean of r/max: on MaestroQA's 21/35 answers
    (3/5 + 5/10 + 8/15 + 5/5)/4 = (60 + 50 + 53.33 + 100)/4 = 65.83 % -- not 60 %. Its old name
    ``sum_over_max`` is refused since 0.2.0."""
    text = MAESTRO_POINTS.replace("mode: points", "mode: mean_over_max")
    expected = (60 + 50 + 800 / 15 + 100) / 4
    assert score_of(load_scorecard_text(text), {"r": MAESTRO_R["full"]}).iloc[0] == pytest.approx(expected)
    with pytest.raises(ScorecardError, match="sum_over_max"):
        load_scorecard_text(MAESTRO_POINTS.replace("mode: points", "mode: sum_over_max"))


# --- Playvox --------------------------------------------------------------------------------------
def test_playvox_bonus_section_120_and_70():
    """Playvox bonus questions lift a score above 100 % (numbers from issue 13; the Playvox page
    could not be opened from here): main section 100 % + bonus section worth 20 % fully earned
    -> 100 + 20 = 120 %; main 50 % + the bonus -> 50 + 20 = 70 %."""
    card = load_scorecard_text("""
sections:
  - {name: Main, weight: 100}
  - {name: Bonus, weight: 20, bonus: true}
categories:
  - {name: Resolution, scale: binary, section: Main}
  - {name: Accuracy, scale: binary, section: Main}
  - {name: Wow moment, scale: binary, section: Bonus}
""")
    got = score_of(card, {"top": {"Resolution": 1, "Accuracy": 1, "Wow moment": 1},
                          "half": {"Resolution": 1, "Accuracy": 0, "Wow moment": 1}})
    assert got.tolist() == pytest.approx([120.0, 70.0])


def test_playvox_fail_all_answer():
    """Playvox "fail all" answers (``fail_values``): the answer fails the review whatever its
    points. Outcome 25 of [100, 75, 25, 0] marked fail -> 0 %; 75 -> (75 + 100)/2 = 87.5 %."""
    card = load_scorecard_text("""
categories:
  - {name: Compliance, scale: [100, 75, 25, 0], fail_values: [25, 0]}
  - {name: Tone, scale: binary}
""")
    got = score_of(card, {"f": {"Compliance": 25, "Tone": 1}, "ok": {"Compliance": 75, "Tone": 1}})
    assert got.tolist() == [0.0, 87.5]
    s = card.score(make_ratings({"f": {"Compliance": 25, "Tone": 1}}))
    assert s["failed_categories"].iloc[0] == "Compliance" and bool(s["critical_failed"].iloc[0])


# --- Calabrio -------------------------------------------------------------------------------------
def test_calabrio_weighted_sections_72_and_80():
    """Calabrio (Cisco WFO QM manual, http://38.142.81.21:8001/manual/cisco/cisco-unified-workforce-optimization-adv-quality-management-2-6-2/user-guide-english/page-66.html):
    Section A 40 %, Section B 60 %: A = 60 %, B = 80 % -> 60*0.4 + 80*0.6 = 72 %. Issue 13's
    40/60 example: A = 50 %, B = 100 % -> 20 + 60 = 80 %."""
    card5 = load_scorecard_text("""
sections: [{name: Greet, weight: 40}, {name: Assess, weight: 60}]
categories:
  - {name: Greeting, scale: {min: 0, max: 10, step: 1}, section: Greet}
  - {name: Assessment, scale: {min: 0, max: 10, step: 1}, section: Assess}
""")
    got = score_of(card5, {"manual": {"Greeting": 6, "Assessment": 8}, "issue": {"Greeting": 5, "Assessment": 10}})
    assert got["manual"] == pytest.approx(72.0) and got["issue"] == pytest.approx(80.0)


def test_calabrio_penalty_points():
    """Calabrio points forms "can also subtract points for poor service"
    (https://help.calabrio.com/doc/Content/user-guides/application-management/evaluation-form-manager.htm).
    Resolution 8 of 0-10 plus Rude -5 of [-5, 0]: (8 - 5)/10 = 30 %; Rude 0 -> 8/10 = 80 %
    (a penalty adds nothing to the possible points)."""
    card = load_scorecard_text("""
mode: points
categories:
  - {name: Resolution, scale: "0-10"}
  - {name: Rude, scale: [-5, 0]}
""")
    got = score_of(card, {"rude": {"Resolution": 8, "Rude": -5}, "polite": {"Resolution": 8, "Rude": 0}})
    assert got.tolist() == pytest.approx([30.0, 80.0])
    # a penalty larger than the points earned floors the review at 0 (never negative)
    assert score_of(card, {"r": {"Resolution": 2, "Rude": -5}}).iloc[0] == 0.0


# --- Scorebuddy -----------------------------------------------------------------------------------
def test_scorebuddy_fail_section():
    """Scorebuddy fail section (numbers from issue 13): 17 of 20 points earned, a failed section
    worth 7 earned points loses them -> (17 - 7)/20 = 50 %. Compliance (4 + 3 of 7 points) fails
    through a weight-0 critical check with ``fail_rule: section``; Solution earns 7 + 3 of 13."""
    card = load_scorecard_text("""
mode: points
sections_combine: points
sections:
  - {name: Compliance, fail_rule: section}
  - {name: Solution}
categories:
  - {name: Verification, scale: "0-4", section: Compliance}
  - {name: Disclosure, scale: "0-3", section: Compliance}
  - {name: Recorded line, weight: 0, critical: true, scale: binary, section: Compliance}
  - {name: Fix, scale: "0-10", section: Solution}
  - {name: Closing, scale: "0-3", section: Solution}
""")
    base = {"Verification": 4, "Disclosure": 3, "Fix": 7, "Closing": 3}
    got = card.score(make_ratings({"fail": {**base, "Recorded line": 0}, "ok": {**base, "Recorded line": 1}}))
    got = got.set_index("review_id")
    assert got.loc["fail", "iqs"] == pytest.approx(50.0)
    assert got.loc["fail", "iqs_raw"] == pytest.approx(85.0)  # 17/20 before the fail rule
    assert got.loc["ok", "iqs"] == pytest.approx(85.0)


# --- EvaluAgent -----------------------------------------------------------------------------------
def test_evaluagent_outcomes_scored_against_best_value():
    """EvaluAgent outcome lists are scored against their best value in every mode (issue 13):
    [100, 50, 10]: 50 -> 50 % (min-max rescaling gave 44.44 %); [5, 3, 0]: 3 -> 60 %."""
    for mode in ("weighted", "points", "mean_over_max"):
        card = load_scorecard_text(f"mode: {mode}\ncategories: [{{name: Outcome, scale: [100, 50, 10]}}]")
        assert score_of(card, {"r": {"Outcome": 50}}).iloc[0] == pytest.approx(50.0)
        card = load_scorecard_text(f"mode: {mode}\ncategories: [{{name: Outcome, scale: [5, 3, 0]}}]")
        assert score_of(card, {"r": {"Outcome": 3}}).iloc[0] == pytest.approx(60.0)


def test_evaluagent_auto_fail_line_item():
    """EvaluAgent, https://support.evaluagent.com/hc/en-us/articles/21680589340049 : "the evaluation
    FAILS if this line item is marked as a fail". Outcome "fail" (0 of [100, 50, 0], listed in
    fail_values) -> 0 %; outcome 50 with Greeting 1 -> (50 + 100)/2 = 75 %."""
    card = load_scorecard_text("""
categories:
  - {name: Data protection, scale: [100, 50, 0], fail_values: [0]}
  - {name: Greeting, scale: binary}
""")
    got = score_of(card, {"af": {"Data protection": 0, "Greeting": 1}, "ok": {"Data protection": 50, "Greeting": 1}})
    assert got.tolist() == [0.0, 75.0]


# --- N/A policies, stepped scales, conditional cards --------------------------------------------
def test_na_policies():
    """Tone 1-5 rated 3 (50 %), Solution binary weight 3 N/A: exclude -> 50 %; full ->
    (50 + 3*100)/4 = 87.5 %; zero -> (50 + 3*0)/4 = 12.5 %. A review with nothing rated stays
    unscored whatever the policy."""
    for na, expected in (("exclude", 50.0), ("full", 87.5), ("zero", 12.5)):
        card = Scorecard([Category("Tone", scale=5), Category("Solution", 3.0, na=na)])
        got = score_of(card, {"r": {"Tone": 3, "Solution": np.nan}, "e": {"Tone": np.nan, "Solution": np.nan}})
        assert got["r"] == pytest.approx(expected)
        assert np.isnan(got["e"])
    # points mode, zero: Tone 3 of 5 + Solution N/A counted 0 of 1*3 -> 3/8 = 37.5 %
    card = Scorecard([Category("Tone", scale=5), Category("Solution", 3.0, na="zero")], mode="points")
    assert score_of(card, {"r": {"Tone": 3, "Solution": np.nan}}).iloc[0] == pytest.approx(37.5)


def test_continuous_and_stepped_scales():
    """{min: 1, max: 10, step: any}: 5.5 -> (5.5 - 1)/9 = 50 %. step 0.5: 7.5 -> 6.5/9 = 72.22 %;
    7.3 refused naming the value and the range + step (not 19 numbers)."""
    card = load_scorecard_text("categories: [{name: Q, scale: {min: 1, max: 10, step: any}}]")
    assert score_of(card, {"r": {"Q": 5.5}}).iloc[0] == pytest.approx(50.0)
    card = load_scorecard_text("categories: [{name: Q, scale: {min: 1, max: 10, step: 0.5}}]")
    assert score_of(card, {"r": {"Q": 7.5}}).iloc[0] == pytest.approx(650 / 9)
    with pytest.raises(DataValidationError, match=r"off the scale of 'Q' \(allowed: 1\.\.10 in steps of 0\.5\)") as e:
        score_of(card, {"bad": {"Q": 7.3}})
    assert "7.3" in str(e.value) and "bad" in str(e.value) and "8.5" not in str(e.value)


def test_huge_range_scale_allocates_nothing():
    """``scale: 1000000000`` (issue 12): no per-value table. Card + scoring a rating of 5e8 uses
    well under 5 MB; the score is (5e8 - 1)/(1e9 - 1) * 100."""
    tracemalloc.start()
    card = Scorecard([Category("Q", scale=1_000_000_000)])
    got = score_of(card, {"r": {"Q": 500_000_000}}).iloc[0]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert got == pytest.approx((5e8 - 1) / (1e9 - 1) * 100)
    assert peak < 5_000_000
    assert card.categories[0].scale.describe() == "integers 1..1000000000"
    with pytest.raises(ScorecardError, match="no short list of values"):
        card.categories[0].scale.values


def test_applies_to_picks_the_card_per_review():
    """Zendesk QA conditional scorecards (https://support.zendesk.com/hc/en-us/articles/7043747649690):
    phone reviews use the phone card (Tone weight 3), the rest the default card (equal weights).
    Tone 0, Solution 1: phone -> 1/4 = 25 %; chat -> 1/2 = 50 %."""
    phone = load_scorecard_text("""
name: phone
applies_to: {channel: [phone]}
categories: [{name: Tone, weight: 3}, {name: Solution}]
""")
    default = Scorecard([Category("Tone"), Category("Solution")], name="default")
    r = pd.concat([make_ratings({"p": {"Tone": 0, "Solution": 1}}, channel="phone"),
                   make_ratings({"c": {"Tone": 0, "Solution": 1}}, channel="chat")], ignore_index=True)
    got = qakit_score(r, [phone, default])
    assert got.to_dict() == {"p": 25.0, "c": 50.0}


def qakit_score(r, cards):
    from qakit import score_reviews

    return score_reviews(r, cards).set_index("review_id")["iqs"]


# --- ReviewMatrix: exact for any other card on the same categories (issue 13's bug) -----------------
def test_review_matrix_uses_the_other_cards_mode_and_thresholds():
    """Tone 1-5 rated 2, Solution binary rated 1, equal weights, built with the weighted card:
    weighted (25 + 100)/2 = 62.5; points (2 + 1)/(5 + 1) = 50.0 (ReviewMatrix gave 62.5);
    Tone critical with threshold 20: 25 % is not below 20 -> 62.5 (it gave 0.0)."""
    card = Scorecard([Category("Tone", scale=5), Category("Solution")])
    r = make_ratings({"r": {"Tone": 2, "Solution": 1}})
    m = ReviewMatrix(r, card)
    assert m.iqs(card).tolist() == [62.5]
    assert m.iqs(card.with_changes(mode="points")).tolist() == [50.0]
    tone_crit = Scorecard([Category("Tone", scale=5, critical=True, critical_threshold=20), Category("Solution")])
    assert m.iqs(tone_crit).tolist() == [62.5]


# --- issue 12: scorecard-side defects ----------------------------------------------------------------
def test_huge_weights_score_exactly():
    """Weights 1e308 and 2e308/2 (issue 12): only ratios matter; Tone 1e308 rated 0, Solution
    1e308 rated 1 -> 50 %, not NaN with a false reason."""
    card = Scorecard([Category("Tone", 1e308), Category("Solution", 1e308)])
    s = card.score(make_ratings({"r": {"Tone": 0, "Solution": 1}}))
    assert s["iqs"].tolist() == [50.0]
    assert len(S.exclusions(s)) == 0


def test_duplicate_keys_in_yaml_and_json_are_refused(tmp_path):
    yml = tmp_path / "c.yaml"
    yml.write_text("name: a\ncategories:\n  - {name: Tone, weight: 1, weight: 2}\n")
    with pytest.raises(ScorecardError, match=r"c\.yaml: duplicate key 'weight' on line 3"):
        load_scorecard(yml)
    js = tmp_path / "c.json"
    js.write_text('{"name": "a",\n "categories": [{"name": "Tone"}],\n "name": "b"}')
    with pytest.raises(ScorecardError, match=r"c\.json: duplicate key 'name' on line 3 \(first on line 1\)"):
        load_scorecard(js)


def test_version_text_kept_as_written(tmp_path):
    """``version: 2026.10`` stays "2026.10" (not 2026.1) in YAML and JSON."""
    assert load_scorecard_text("version: 2026.10\ncategories: [{name: Tone}]").version == "2026.10"
    js = tmp_path / "c.json"
    js.write_text(json.dumps({"categories": [{"name": "Tone", "weight": 1.5}]}).replace("{", '{"version": 2026.10, ', 1))
    card = load_scorecard(js)
    assert card.version == "2026.10" and card.weights == {"Tone": 1.5}
    with pytest.raises(ScorecardError, match="version 2026.1 is a number"):
        load_scorecard({"version": 2026.10, "categories": [{"name": "Tone"}]})


def test_category_names_matched_after_normalisation_and_itemised():
    """'tone ', NFD 'Résumé' and full-width 'ＳＯＬＵＴＩＯＮ' match the card's Tone, Résumé and
    Solution (NFKC + casefold + collapsed spaces) and are itemised as adjustments. Binary,
    equal weights: 0, 1, 1 -> 66.67 %."""
    card = Scorecard([Category("Tone"), Category("Résumé"), Category("Solution")])
    nfd = unicodedata.normalize("NFD", "Résumé")
    r = make_ratings({"r1": {"tone ": 0, nfd: 1, "ＳＯＬＵＴＩＯＮ": 1}, "r2": {"Tone": 1, "Résumé": 1, "Solution": 1}})
    s = card.score(r)
    assert s["iqs"].tolist() == pytest.approx([200 / 3, 100.0])
    adj = adjustments(s)
    assert len(adj) == 1 and adj[0]["column"] == "category" and tuple(adj[0]["row_ids"]) == ("r1",)
    rows = card.category_rows(r)
    assert sorted(set(rows["category"])) == ["Résumé", "Solution", "Tone"]


def test_card_categories_colliding_after_normalisation_are_refused():
    with pytest.raises(ScorecardError, match="'Tone' and 'tone ' differ only by case, spacing or Unicode form"):
        Scorecard([Category("Tone"), Category("tone ")])


def test_iqs_score_refuses_duplicated_review_rows():
    card = Scorecard([Category("Tone")])
    s = card.score(make_ratings({"r1": {"Tone": 1}, "r2": {"Tone": 0}}))
    with pytest.raises(DataValidationError, match=r"review_id.*duplicate key \(review_id\).*r1"):
        iqs_score(pd.concat([s, s]))


def test_weight_zero_critical_is_allowed_and_only_fails():
    """weight 0 + critical: passing it changes nothing (Tone 0, Solution 1 -> 50 %), failing it
    zeroes the review."""
    card = Scorecard([Category("Tone"), Category("Solution"), Category("Legal", 0.0, critical=True)])
    got = score_of(card, {"ok": {"Tone": 0, "Solution": 1, "Legal": 1}, "f": {"Tone": 1, "Solution": 1, "Legal": 0}})
    assert got.tolist() == [50.0, 0.0]


def test_stepped_scale_spec_errors_are_bounded():
    with pytest.raises(ScorecardError, match="step 0.7 does not divide 1..10 evenly"):
        parse_scale({"min": 1, "max": 10, "step": 0.7}, category="Q")
    with pytest.raises(ScorecardError, match=r"fail_values \[7\] are not on its scale \(\[5, 3, 0\]\)"):
        Category("Q", scale=[5, 3, 0], fail_values=[7])


def test_every_new_key_round_trips_through_yaml():
    """to_yaml -> load_scorecard_text gives the same card (sections_combine, applies_to, penalty
    and stepped/continuous scales, fail_values, na)."""
    card = Scorecard(
        [Category("Resolution", 2.0, scale="0-10", section="Main", na="full"),
         Category("Rude", scale=[-5, 0], section="Main", fail_values=[-5]),
         Category("Accuracy", scale={"min": 1, "max": 10, "step": 0.5}, section="Main", na="zero"),
         Category("Avg", scale={"min": 0, "max": 4, "step": "any"}, section="Extra", critical=True)],
        mode="points", sections=[Section("Main", 2.0, fail_rule="section"), Section("Extra")],
        sections_combine="points", applies_to={"channel": ["phone", "chat"]}, version="2026.10")
    again = load_scorecard_text(card.to_yaml())
    assert again == card
