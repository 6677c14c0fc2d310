"""Coaching effect (issue 25): hand-worked diff-in-diff, a statsmodels / matrix-algebra reference for the
adjusted estimate and its cluster-robust interval, and a null simulation where regression to the mean
fools the naive before/after but not the adjusted diff-in-diff."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from qakit import schema as S
from qakit.coaching import ADJUSTED, DID, NAIVE, cluster_ols, coaching_effect, parse_focus
from qakit.errors import DataValidationError, ParameterError, SmallSampleWarning, UndefinedMetricWarning
from qakit.synth import COACHING_TRUE_EFFECT, coaching_panel

T0 = pd.Timestamp("2026-08-03", tz="UTC")  # a Monday: week 0


def _scores(values: dict[str, list[float]], *, per_week: int = 1) -> pd.DataFrame:
    """One review per agent, week and copy: ``values[agent][week]`` is the score of week ``week``."""
    rows = []
    for a, vals in values.items():
        for w, v in enumerate(vals):
            if v is None:
                continue
            for k in range(per_week):
                rows.append({"review_id": f"{a}-{w}-{k}", "agent_id": a, "iqs": float(v),
                             "reviewed_at": T0 + pd.Timedelta(days=7 * w + k, hours=12)})
    return pd.DataFrame(rows)


def _coached(pairs: list[tuple[str, int]]) -> pd.DataFrame:
    """Sessions on the Wednesday of the given week."""
    return pd.DataFrame({"agent_id": [a for a, _ in pairs],
                         "coached_at": [T0 + pd.Timedelta(days=7 * w + 2, hours=10) for _, w in pairs]})


def _quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return fn(*a, **kw)


def test_two_by_two_by_hand():
    """2 groups x 2 periods, one review per agent and window (coaching in week 1; pre = week 0,
    post = week 2).

    Coached a1 60 -> 70, a2 50 -> 64: mean change (10 + 14) / 2 = 12 (the naive estimate).
    Controls c1 70 -> 72, c2 80 -> 81, c3 75 -> 78: mean change (2 + 1 + 3) / 3 = 2.
    Diff-in-diff = 12 - 2 = 10.

    Its CR1 interval (one row per agent, so cluster = row): residuals -2, 2 | 0, -1, 1; the
    sandwich of a two-group regression is ``sum_T u^2 / n_T^2 + sum_C u^2 / n_C^2 = 8/4 + 2/9
    = 20/9``; the factor ``G/(G-1) (N-1)/(N-K) = 5/4 * 4/3 = 5/3`` gives ``V = 100/27``,
    ``se = 1.92450``; ``t_{0.975, 4} = 2.77645`` so the CI is ``10 -/+ 5.34337``.
    Naive: changes 10, 14, sd 2.8284, se 2, ``t_{0.975, 1} = 12.7062``: ``12 -/+ 25.4124``.
    """
    v = {"a1": [60, None, 70], "a2": [50, None, 64], "c1": [70, None, 72], "c2": [80, None, 81],
         "c3": [75, None, 78]}
    r = _quiet(coaching_effect, _scores(v), _coached([("a1", 1), ("a2", 1)]), pre_weeks=1, post_weeks=1,
               min_reviews=1).set_index("method")
    did = r.loc[DID]
    assert did["n"] == 2 and did["n_control"] == 3 and did["n_cohorts"] == 1
    assert did["effect"] == pytest.approx(10.0)
    assert did["se"] == pytest.approx(np.sqrt(100 / 27))
    assert did["ci_low"] == pytest.approx(10 - 2.776445105 * np.sqrt(100 / 27))
    assert did["ci_high"] == pytest.approx(10 + 2.776445105 * np.sqrt(100 / 27))
    naive = r.loc[NAIVE]
    assert naive["effect"] == pytest.approx(12.0)
    assert naive["se"] == pytest.approx(2.0)
    assert naive["ci_low"] == pytest.approx(12 - 12.7062047 * 2)
    assert naive["pre_score"] == pytest.approx(55.0) and naive["post_score"] == pytest.approx(67.0)


# two cohorts: t1, t2 coached in week 2, t3, t4 in week 3 (controls in week 2's cohort: not coached
# before it); c1..c4 never coached. One review per agent and week.
STACKED = {"t1": [70, 62, 55, 66, 70, 71], "t2": [75, 66, 60, 70, 72, 70], "t3": [68, 71, 58, 64, 69, 73],
           "t4": [80, 74, 63, 72, 75, 77], "c1": [72, 70, 74, 71, 73, 72], "c2": [66, 69, 65, 70, 68, 67],
           "c3": [78, 75, 77, 79, 76, 78], "c4": [61, 64, 60, 66, 62, 65]}


def _reference_units() -> pd.DataFrame:
    """The stacked design written out by hand: cohort 2 (pre week 1, post week 3) has t1, t2
    coached and t3, t4, c1..c4 as controls; cohort 3 (pre week 2, post week 4) has t3, t4 coached
    and c1..c4 as controls (t1, t2 were coached before week 3)."""
    rows = [(2, a, a in ("t1", "t2"), STACKED[a][1], STACKED[a][3]) for a in STACKED]
    rows += [(3, a, a in ("t3", "t4"), STACKED[a][2], STACKED[a][4]) for a in ("t3", "t4", "c1", "c2", "c3", "c4")]
    return pd.DataFrame(rows, columns=["cohort", "agent", "D", "pre", "post"])


def _cr1_by_loops(u: pd.DataFrame, adjust: bool) -> tuple[float, float]:
    """Independent reference: normal equations and the CR1 sandwich by explicit loops over agents."""
    y = (u["post"] - u["pre"]).to_numpy(float)
    cols = [(u["cohort"] == 2).to_numpy(float), (u["cohort"] == 3).to_numpy(float), u["D"].to_numpy(float)]
    if adjust:
        cols.append((u["pre"] - u["pre"].mean()).to_numpy(float))
    X = np.column_stack(cols)
    bread = np.linalg.inv(X.T @ X)
    b = np.linalg.solve(X.T @ X, X.T @ y)
    e = y - X @ b
    meat = np.zeros((X.shape[1], X.shape[1]))
    agents = list(dict.fromkeys(u["agent"]))
    for a in agents:
        m = (u["agent"] == a).to_numpy()
        s = X[m].T @ e[m]
        meat += np.outer(s, s)
    G, N, K = len(agents), len(y), X.shape[1]
    V = G / (G - 1) * (N - 1) / (N - K) * bread @ meat @ bread
    return float(b[2]), float(np.sqrt(V[2, 2]))


def test_stacked_adjusted_matches_statsmodels_and_matrix_algebra():
    """Adjusted and unadjusted diff-in-diff on two stacked cohorts against (1) the normal equations
    and CR1 sandwich by explicit loops over agents (:func:`_cr1_by_loops`) and (2) statsmodels 0.15.0,
    run outside the project (not a qakit dependency) on the same unit table::

        sm.OLS(y, X[["c2", "c3", "D", "pre"]]).fit(cov_type="cluster",
            cov_kwds={"groups": agent_codes}, use_t=True)   # y = post - pre, pre centred

    adjusted: coef 5.778301886792454, se 1.7762749157263529, CI [1.5780791435699912,
    9.978524630014917], p 0.013998249794298203 (df 7 = G - 1);
    unadjusted (without "pre"): 7.264705882352941, se 1.8227869774935448, CI [2.954499589884195,
    11.574912174821687], p 0.0052867217003509884.
    """
    r = _quiet(coaching_effect, _scores(STACKED), _coached([("t1", 2), ("t2", 2), ("t3", 3), ("t4", 3)]),
               pre_weeks=1, post_weeks=1, min_reviews=1).set_index("method")
    u = _reference_units()
    for method, adjust, sm in ((ADJUSTED, True, (5.778301886792454, 1.7762749157263529, 1.5780791435699912,
                                                 9.978524630014917, 0.013998249794298203)),
                               (DID, False, (7.264705882352941, 1.8227869774935448, 2.954499589884195,
                                             11.574912174821687, 0.0052867217003509884))):
        row = r.loc[method]
        b, se = _cr1_by_loops(u, adjust)
        assert row["effect"] == pytest.approx(b, rel=1e-12) and row["se"] == pytest.approx(se, rel=1e-12)
        assert [row["effect"], row["se"], row["ci_low"], row["ci_high"], row["p_value"]] == pytest.approx(sm, rel=1e-9)
        assert row["n"] == 4 and row["n_control"] == 6 and row["n_cohorts"] == 2
    # the post window of cohort 2 (week 3) is t3's and t4's coaching week, not after it: no contamination
    assert r.loc[ADJUSTED, "control_coached_share"] == 0.0


def test_cluster_ols_single_cluster_row_is_hc1():
    """With one row per cluster, CR1 is HC1 (``N/(N-K)`` times HC0): scipy's linregress SE is the
    classical one, so compare against HC1 by hand on a line fit: x = 0..4, y = 1, 3, 2, 5, 4."""
    x = np.arange(5.0)
    y = np.array([1.0, 3, 2, 5, 4])
    X = np.column_stack([np.ones(5), x])
    b, V, G = cluster_ols(y, X, np.arange(5))
    lr = stats.linregress(x, y)
    assert b[1] == pytest.approx(lr.slope) and b[0] == pytest.approx(lr.intercept)
    e = y - X @ b
    bread = np.linalg.inv(X.T @ X)
    hc0 = bread @ (X.T * e**2) @ X @ bread
    assert V == pytest.approx(hc0 * 5 / 3)
    assert G == 5


@pytest.mark.slow
def test_null_simulation_interval_covers_zero_and_naive_does_not():
    """True effect 0, the 2 lowest-scoring not-yet-coached agents of the last fortnight coached each
    week (:func:`qakit.synth.coaching_panel`, 40 agents, 5 reviews a week, agent sd 11, review sd 25).
    200 seeded replications: the adjusted diff-in-diff's 95 % interval must cover 0 at the nominal
    rate within a binomial tolerance (sd sqrt(0.95 * 0.05 / 200) = 0.0154; +/- 2.58 sd = 0.040),
    while the naive before/after (regression to the mean) is biased upwards and rarely covers 0."""
    cover, naive_cover, naive, adjusted = [], [], [], []
    for seed in range(200):
        sc, co = coaching_panel(seed=seed)
        r = _quiet(coaching_effect, sc, co).set_index("method")
        cover.append(r.loc[ADJUSTED, "ci_low"] <= 0 <= r.loc[ADJUSTED, "ci_high"])
        naive_cover.append(r.loc[NAIVE, "ci_low"] <= 0 <= r.loc[NAIVE, "ci_high"])
        naive.append(r.loc[NAIVE, "effect"])
        adjusted.append(r.loc[ADJUSTED, "effect"])
    assert abs(np.mean(cover) - 0.95) <= 0.040
    assert np.mean(naive) > 5  # several points of pure regression to the mean
    assert np.mean(naive_cover) < 0.5
    assert abs(np.mean(adjusted)) < 0.2 * np.mean(naive)


def test_known_effect_is_recovered():
    """A true effect of +8 points: the mean adjusted estimate over 40 seeded panels is within
    3 standard errors of 8 (the estimates' sd is about 2.8, so the mean's se is about 0.45)."""
    est = []
    for seed in range(40):
        sc, co = coaching_panel(seed=1000 + seed, effect=8.0)
        est.append(_quiet(coaching_effect, sc, co).set_index("method").loc[ADJUSTED, "effect"])
    assert abs(np.mean(est) - 8.0) < 3 * np.std(est, ddof=1) / np.sqrt(len(est))


def test_bundled_sample_true_effect_zero_naive_biased(sample_data=None):
    """The bundled sample was drawn with no coaching effect (:data:`qakit.synth.COACHING_TRUE_EFFECT`
    = 0) and coaching of low scorers: the adjusted interval covers 0, the naive rise is > 5 points."""
    from qakit import datasets, load_scorecard

    d = datasets.sample_data_dir()
    card = load_scorecard(d / "scorecard.yaml")
    ratings = pd.read_parquet(d / "ratings.parquet")
    coaching = pd.read_parquet(d / "coaching.parquet")
    r = _quiet(coaching_effect, card.score(ratings), coaching).set_index("method")
    assert COACHING_TRUE_EFFECT == 0.0
    assert r.loc[ADJUSTED, "ci_low"] <= 0 <= r.loc[ADJUSTED, "ci_high"]
    assert r.loc[NAIVE, "effect"] > 5 and r.loc[NAIVE, "ci_low"] > 0


def test_per_category_outcomes_use_the_focus():
    """Focus categories become outcomes (category score in percent) with only the agents coached on
    them; here Tone: coached a1 pre (1 of 5 -> 0 %) post (5 -> 100 %), controls unchanged at 50 %:
    diff-in-diff = 100 - 0 = 100 by hand."""
    from qakit import Category, Scorecard

    card = Scorecard([Category("Tone", scale=5), Category("Solution")])
    rows = []
    for a, tone in (("a1", (1, 5)), ("c1", (3, 3)), ("c2", (3, 3)), ("c3", (3, 3))):
        for w, t in ((0, tone[0]), (2, tone[1])):
            rid = f"{a}-{w}"
            for cat, r_ in (("Tone", t), ("Solution", 1)):
                rows.append({"review_id": rid, "conversation_id": rid, "agent_id": a, "reviewer_id": "q",
                             "reviewed_at": T0 + pd.Timedelta(days=7 * w), "category": cat, "rating": r_})
    ratings = pd.DataFrame(rows)
    coaching = _coached([("a1", 1)]).assign(focus=" tone ")  # matched to the card's spelling
    r = _quiet(coaching_effect, card.score(ratings), coaching, ratings=ratings, card=card, pre_weeks=1,
               post_weeks=1, min_reviews=1)
    tone = r[(r["outcome"] == "Tone") & (r["method"] == DID)].iloc[0]
    assert tone["effect"] == pytest.approx(100.0) and tone["n"] == 1
    assert np.isnan(tone["ci_low"])  # one coached agent: no interval
    assert "one coached agent" in tone["note"]
    assert set(r["outcome"]) == {"iqs", "Tone"}  # Solution was nobody's focus


def test_left_out_agents_are_itemised_and_few_controls_warn():
    """a2 has no review before its session (left out, itemised); a3's post window runs past the
    data (censored, itemised); 3 controls (c1, c2 and a3, not yet coached in week 2) < min_controls=10
    warns and flags small_sample."""
    v = {"a1": [60, 61, None, 70, 71], "a2": [None, None, None, 70, 70], "a3": [60, 60, 60, 60, 60],
         "c1": [70, 70, None, 71, 70], "c2": [72, 73, None, 72, 72]}
    with pytest.warns(SmallSampleWarning, match="too few coached or control agents"):
        r = coaching_effect(_scores(v), _coached([("a1", 2), ("a2", 2), ("a3", 4)]), pre_weeks=2, post_weeks=2,
                            min_reviews=1)
    ex = S.exclusions(r)
    reasons = dict(zip(ex["reason"], ex["row_ids"]))
    assert reasons["iqs: coached agent left out: fewer than 1 reviews in the pre or post window"] == ("a2",)
    assert reasons["iqs: coached agent left out: the post window runs past the last review week (censored)"] == ("a3",)
    main = r[r["method"] == ADJUSTED].iloc[0]
    assert bool(main["small_sample"]) and "only 3 control agent(s)" in main["note"]


def test_bad_input_named():
    sc = _scores({"a1": [60, 70, 70], "c1": [70, 70, 70]})
    with pytest.raises(DataValidationError, match=r"coached_at.*unparseable timestamp.*'not a date'"):
        coaching_effect(sc, pd.DataFrame({"agent_id": ["a1"], "coached_at": ["not a date"]}))
    with pytest.raises(DataValidationError, match=r"required column is missing"):
        coaching_effect(sc, pd.DataFrame({"agent_id": ["a1"]}))
    with pytest.raises(ParameterError, match="pre_weeks must be an integer >= 1; got 0"):
        coaching_effect(sc, _coached([("a1", 1)]), pre_weeks=0)
    with pytest.raises(ParameterError, match="give both ratings= and card="):
        coaching_effect(sc, _coached([("a1", 1)]), ratings=pd.DataFrame())
    with pytest.raises(ParameterError, match="no time column 'created_at'"):
        coaching_effect(sc, _coached([("a1", 1)]), time="created_at")


def test_unknown_focus_category_names_value_and_agent():
    from qakit import Category, Scorecard

    card = Scorecard([Category("Tone", scale=5)])
    ratings = pd.DataFrame({"review_id": ["r1"], "conversation_id": ["c"], "agent_id": ["a1"], "reviewer_id": ["q"],
                            "reviewed_at": [T0], "category": ["Tone"], "rating": [3]})
    co = _coached([("a1", 1)]).assign(focus=["Tone; Empathy"])
    with pytest.raises(DataValidationError, match=r"focus.*not on the scorecard.*'Tone; Empathy'.*'a1'"):
        coaching_effect(card.score(ratings), co, ratings=ratings, card=card)


def test_parse_focus_blank_and_missing():
    assert parse_focus(pd.Series(["", " ; ", None, "A;B"])).tolist() == [(), (), (), ("A", "B")]
