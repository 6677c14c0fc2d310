"""Property tests of the one scoring engine.

For random cards (any mode, scales incl. lists, penalties and stepped scales, weights incl. 0,
critical thresholds, fail_values, N/A policies, sections with fail rules, bonus sections and
either ``sections_combine``) and random ratings:

- ``Scorecard.score`` equals an independent per-review reference written from the documented
  rules (plain Python loops, no numpy engine code);
- every re-scoring path -- ``ReviewMatrix(ratings, other).iqs(card)``, ``compare_scorecards``,
  ``fit_weights``' objective and the explorer's ``explore_fast`` -- equals ``Scorecard.score``
  to 1e-9.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qakit import Category, Scorecard, Section, iqs_score
from qakit.tuning import ReviewMatrix, compare_scorecards
from qakit.widgets import explore_fast, prepare_explorer

#: hypothesis-heavy properties: ./qa test runs them, ./qa test --fast leaves them out
pytestmark = pytest.mark.slow

SCALES = ["binary", 3, 5, "0-4", [100, 50, 10], [5, 3, 0], {"min": 1, "max": 10, "step": 0.5}]
PENALTY = [-5, 0]


@st.composite
def cards(draw):
    mode = draw(st.sampled_from(["weighted", "points", "mean_over_max"]))
    k = draw(st.integers(1, 5))
    n_sec = draw(st.integers(0, 3))
    secs = []
    if n_sec:
        for i in range(n_sec):
            secs.append(Section(f"S{i}", draw(st.sampled_from([0.5, 1.0, 3.0])),
                                fail_rule=draw(st.sampled_from(["all", "section"])),
                                bonus=draw(st.booleans()) and i > 0))
    cats = []
    for j in range(k):
        choices = SCALES + ([PENALTY] if mode == "points" else [])
        scale = draw(st.sampled_from(choices))
        penalty = scale is PENALTY
        sec = secs[draw(st.integers(0, n_sec - 1))] if n_sec else None
        in_bonus = sec is not None and sec.bonus
        critical = draw(st.booleans()) and not penalty and not in_bonus
        probe = Category("x", scale=scale)
        values = list(probe.scale.values)
        fail_values = draw(st.lists(st.sampled_from(values), max_size=2, unique=True)) if not in_bonus and draw(
            st.booleans()) else []
        cats.append(Category(f"c{j}", draw(st.sampled_from([0.0, 0.5, 1.0, 2.5])), critical=critical, scale=scale,
                             critical_threshold=draw(st.sampled_from([0, 20, 50, 100])),
                             section=None if sec is None else sec.name, fail_values=fail_values,
                             na=draw(st.sampled_from(["exclude", "full", "zero"]))))
    if sum(c.weight for c in cats) == 0:
        cats[0] = Category(cats[0].name, 1.0, critical=cats[0].critical, scale=cats[0].scale,
                           critical_threshold=cats[0].critical_threshold, section=cats[0].section,
                           fail_values=cats[0].fail_values, na=cats[0].na)
    used = {c.section for c in cats}
    secs = [s for s in secs if s.name in used]
    if secs and all(s.bonus for s in secs):
        secs[0] = Section(secs[0].name, secs[0].weight, fail_rule=secs[0].fail_rule, bonus=False)
    return Scorecard(cats, mode=mode, sections=secs, pass_threshold=draw(st.sampled_from([0, 50, 80])),
                     sections_combine=draw(st.sampled_from(["weights", "points"])))


@st.composite
def cards_and_ratings(draw):
    card = draw(cards())
    n = draw(st.integers(1, 10))
    rows = []
    for i in range(n):
        for c in card.categories:
            na = draw(st.integers(0, 9)) < 3
            r = np.nan if na else draw(st.sampled_from(list(c.scale.values)))
            rows.append(dict(review_id=f"r{i}", conversation_id=f"c{i}", agent_id=f"a{i % 3}", reviewer_id="q",
                             reviewed_at="2026-11-02", category=c.name, rating=r))
    return card, pd.DataFrame(rows)


# --- an independent reference, from the documented rules --------------------------------------------
def _percent(c: Category, r: float, mode: str) -> float:
    sc = c.scale
    if sc.is_list:
        return r / sc.max * 100 if sc.max > 0 else (r - sc.min) / (sc.max - sc.min) * 100
    if mode == "weighted":
        return (r - sc.min) / (sc.max - sc.min) * 100
    return r / sc.max * 100


def reference_score(card: Scorecard, review: dict[str, float]) -> float:
    wmax = max(c.weight for c in card.categories)
    secs = card.sections or (Section("all"),)
    sec_of = {c.name: (c.section or "all") for c in card.categories}
    earned = {s.name: 0.0 for s in secs}
    possible = {s.name: 0.0 for s in secs}
    failed = {s.name: False for s in secs}
    if all(math.isnan(review[c.name]) for c in card.categories):
        return math.nan
    for c in card.categories:
        r, w, s = review[c.name], c.weight / wmax, sec_of[c.name]
        mode_points = card.mode == "points"
        top = max(c.scale.max, 0.0) if mode_points else 100.0
        if not math.isnan(r):
            earned[s] += w * r if mode_points else w * _percent(c, r, card.mode)
            possible[s] += w * top
            if c.critical and _percent(c, r, card.mode) < c.critical_threshold - 1e-9:
                failed[s] = True
            if r in c.fail_values:
                failed[s] = True
        elif c.na == "full":
            earned[s] += w * (c.scale.max if mode_points else 100.0)
            possible[s] += w * top
        elif c.na == "zero":
            possible[s] += w * top
    wsec = max(s.weight for s in secs)

    def combine(after_fail: bool) -> float:
        if card.sections_combine == "points":
            num = sum(0.0 if (after_fail and failed[s.name] and s.fail_rule == "section") else earned[s.name]
                      for s in secs)
            den = sum(possible[s.name] for s in secs if not s.bonus)
            return max(100 * num / den, 0.0) if den > 0 else math.nan
        total = den = 0.0
        for s in secs:
            if possible[s.name] <= 0:
                continue
            score = max(100 * earned[s.name] / possible[s.name], 0.0)
            if after_fail and failed[s.name] and s.fail_rule == "section":
                score = 0.0
            total += s.weight / wsec * score
            if not s.bonus:
                den += s.weight / wsec
        return total / den if den > 0 else math.nan

    out = combine(True)
    if any(failed[s.name] and s.fail_rule == "all" for s in secs) and not math.isnan(out):
        return 0.0
    return out


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cards_and_ratings())
def test_score_equals_the_independent_reference(cr):
    card, ratings = cr
    got = card.score(ratings).set_index("review_id")["iqs"]
    wide = ratings.pivot(index="review_id", columns="category", values="rating")
    for rid, row in wide.iterrows():
        exp = reference_score(card, row.to_dict())
        if math.isnan(exp):
            assert math.isnan(got[rid])
        else:
            assert got[rid] == pytest.approx(exp, abs=1e-9), (rid, row.to_dict())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cards_and_ratings(), st.integers(0, 2**31))
def test_every_rescoring_path_equals_score(cr, seed):
    card, ratings = cr
    ref = card.score(ratings)
    # a matrix built with a plain card on the same categories and scales, scoring `card`
    plain = Scorecard([Category(c.name, scale=c.scale) for c in card.categories], mode=card.mode)
    m = ReviewMatrix(ratings, plain)
    np.testing.assert_allclose(m.iqs(card), ref["iqs"].to_numpy(), rtol=0, atol=1e-9)
    # category order permuted on the other card
    perm = np.random.default_rng(seed).permutation(len(card.categories))
    shuffled = Scorecard([card.categories[i] for i in perm], mode=card.mode, sections=card.sections,
                         sections_combine=card.sections_combine, pass_threshold=card.pass_threshold)
    np.testing.assert_allclose(m.iqs(shuffled), ref["iqs"].to_numpy(), rtol=0, atol=1e-9)
    # compare_scorecards: per-agent IQS of B equals iqs_score of Scorecard.score
    cmp_ = compare_scorecards(ratings, plain, card, n_resamples=9).agents.set_index("agent_id")
    exp = iqs_score(ref, by="agent_id", min_n=0).set_index("agent_id")["iqs"]
    np.testing.assert_allclose(cmp_["iqs_b"].reindex(exp.index).to_numpy(), exp.to_numpy(), rtol=0, atol=1e-9)
    # the explorer's fast path
    state = prepare_explorer(ratings, plain)
    fast = explore_fast(state, card)
    np.testing.assert_allclose(fast.scores["iqs"].to_numpy(), ref["iqs"].to_numpy(), rtol=0, atol=1e-9)
    ok = ref["iqs"].notna()
    if ok.any():
        assert fast.summary["iqs"].iloc[0] == pytest.approx(ref.loc[ok, "iqs"].mean(), abs=1e-9)
