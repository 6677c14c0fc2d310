"""Review scores kept on DuckDB (issue 23, point 3: "only per-group sufficient statistics leave the
engine"): :func:`qakit.scorecard.engine.store_reviews` writes the engine's review scores to a Parquet
file, and the QA-process and agent statistics computed on such a file -- per-(agent, reviewer)
sums and variances, per-(agent, week) counts, per-agent n / mean / sd -- give the numbers worked by
hand (or by scipy) below, as on pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from qakit import schema as S
from qakit.errors import ParameterError
from qakit import stats as ST
from qakit.ops import review_coverage, reviewer_strictness
from qakit.scorecard import Category, Scorecard, score_reviews
from qakit.scorecard.engine import NOT_SCORED_ALL_NA, store_reviews


def _hand_scores() -> pd.DataFrame:
    """Agent x: q1 60; q2 80, 90. Agent y: q1 70, q2 90. Agent z: q1 50 (no colleague). Review g by
    q2 of y has no score (all N/A); review h of x has no reviewed_at."""
    return pd.DataFrame({
        "review_id": list("abcdefgh"), "agent_id": ["x", "x", "x", "y", "y", "z", "y", "x"],
        "reviewer_id": ["q1", "q2", "q2", "q1", "q2", "q1", "q2", "q2"],
        "iqs": [60.0, 80, 90, 70, 90, 50, np.nan, 90],
        "passed": pd.array([False, True, True, False, True, False, pd.NA, True], dtype="boolean"),
        "reviewed_at": pd.to_datetime(["2026-11-02 09:00", "2026-11-03 09:00", "2026-11-04 09:00", "2026-11-05 09:00", "2026-11-10 09:00",
                                       "2026-11-11 09:00", "2026-11-11 09:00", None], utc=True),
    })


@pytest.fixture()
def on_disk(tmp_path):
    p = tmp_path / "scores.parquet"
    _hand_scores().to_parquet(p, index=False)
    return str(p)


def test_reviewer_strictness_on_duckdb_equals_the_hand_numbers(on_disk):
    """Leave-one-out deviations (h, by q2 of x, counts: x's reference for q2 is q1's 60):
    q1: 60 - mean(80, 90, 90) = -26.667, 70 - 90 = -20 -> mean -23.333; q2: 80 - 60, 90 - 60,
    90 - 60 (h), 90 - 70 = 20, 30, 30, 20 -> 25. sd and t interval: numpy / scipy of those deviations.
    g (no score) and f (z: q1 only) are itemised; the same table as pandas gives."""
    res = reviewer_strictness(on_disk, min_n=0).set_index(S.REVIEWER_ID)
    for q, dev in (("q1", [60 - 260 / 3, -20]), ("q2", [20, 30, 30, 20])):
        assert res.loc[q, "strictness"] == pytest.approx(np.mean(dev), abs=1e-12)
        assert res.loc[q, "consistency_sd"] == pytest.approx(np.std(dev, ddof=1), abs=1e-9)
        ci = stats.ttest_1samp(dev, 0).confidence_interval(0.95)
        assert res.loc[q, [S.CI_LOW, S.CI_HIGH]].tolist() == pytest.approx([ci.low, ci.high], abs=1e-9)
        assert res.loc[q, S.N] == len(dev) and res.loc[q, "n_agents"] == 2
    ex = S.exclusions(res).set_index("reason")["row_ids"].to_dict()
    assert ex == {"review without a score, agent or reviewer": ("g",),
                  "agent scored by this reviewer only: nothing to compare with": ("f",)}
    pandas = reviewer_strictness(_hand_scores(), min_n=0)
    pd.testing.assert_frame_equal(res.reset_index(), pandas, check_exact=False, atol=1e-9)


def test_reviewer_strictness_on_duckdb_with_disputes(on_disk):
    """a (q1) disputed and accepted, b (q2) disputed and rejected, a review id not in the scores
    ignored: q1 reviewed a, d, f -> dispute and overturn rate 1/3; q2 reviewed b, c, e, g, h -> 1/5, 0."""
    d = pd.DataFrame({"dispute_id": ["d1", "d2", "d3"], "review_id": ["a", "b", "zz"], "accepted": [True, False, True]})
    res = reviewer_strictness(on_disk, disputes=d, min_n=0).set_index(S.REVIEWER_ID)
    assert res.loc["q1", ["dispute_rate", "overturn_rate"]].tolist() == pytest.approx([1 / 3, 1 / 3])
    assert res.loc["q2", ["dispute_rate", "overturn_rate"]].tolist() == pytest.approx([1 / 5, 0])


def test_review_coverage_on_duckdb_equals_the_hand_counts(on_disk):
    """Weeks from Monday: x a, b, c in the week of 2026-11-02 (h has no time: itemised); y d in it,
    e, g in the week of 11-09; z f in 11-09. sd: the sample sd of the seven scores (g has none):
    np.std(ddof=1); half-width t(0.975, n - 1) sd / sqrt(n)."""
    res = review_coverage(on_disk, plan=2)
    got = res.set_index([S.AGENT_ID, "week"])["n"].to_dict()
    w1, w2 = pd.Timestamp("2026-11-02"), pd.Timestamp("2026-11-09")
    assert got == {("x", w1): 3, ("x", w2): 0, ("y", w1): 1, ("y", w2): 2, ("z", w1): 0, ("z", w2): 1}
    sd = np.std([60.0, 80, 90, 70, 90, 50, 90], ddof=1)
    x1 = res[(res[S.AGENT_ID] == "x") & (res["week"] == w1)]["half_width"].iloc[0]
    assert x1 == pytest.approx(stats.t.ppf(0.975, 2) * sd / np.sqrt(3))
    assert S.exclusions(res)["row_ids"].tolist() == [("h",)]
    pd.testing.assert_frame_equal(res, review_coverage(_hand_scores(), plan=2))


def test_review_coverage_on_duckdb_refuses_what_pandas_refuses(tmp_path):
    """No score column and no ``sd``: the same ParameterError as on pandas; no reviewed_at: named."""
    from qakit.errors import ParameterError

    p = tmp_path / "s.parquet"
    _hand_scores().drop(columns=["iqs", "passed"]).to_parquet(p, index=False)
    with pytest.raises(ParameterError, match="needs sd= or a score column"):
        review_coverage(str(p))
    q = tmp_path / "t.parquet"
    _hand_scores().drop(columns=["reviewed_at"]).to_parquet(q, index=False)
    with pytest.raises(ParameterError, match=r"\['reviewed_at'\] not in reviews"):
        review_coverage(str(q))


def test_agent_summary_on_duckdb_equals_the_t_intervals(on_disk):
    """Per agent, n / IQS / interval from the scored reviews: x 60, 80, 90, 90; y 70, 90; z 50
    (scipy's t interval; none for z's single review); the shrunken IQS and ranks as pandas gives."""
    res = ST.agent_summary(on_disk, min_n=0).set_index(S.AGENT_ID)
    for a, xs in (("x", [60.0, 80, 90, 90]), ("y", [70.0, 90])):
        ci = stats.ttest_1samp(xs, 0).confidence_interval(0.95)
        assert res.loc[a, S.N] == len(xs) and res.loc[a, S.IQS] == pytest.approx(np.mean(xs))
        assert res.loc[a, S.CI_HIGH] == pytest.approx(min(ci.high, 100.0))
        assert res.loc[a, S.CI_LOW] == pytest.approx(max(ci.low, 0.0))  # (clipped to the attainable 0..100)
    assert res.loc["z", S.N] == 1 and np.isnan(res.loc["z", S.CI_LOW])
    pandas = ST.agent_summary(_hand_scores(), min_n=0)
    pd.testing.assert_frame_equal(res.reset_index(), pandas, check_exact=False, atol=1e-9)


def test_store_reviews_round_trip_itemises_the_unscored_review(tmp_path):
    """Three reviews of a two-category card, r3 all N/A: stored by DuckDB, the record (without reading
    the rows) itemises r3; read back, the rows are score_reviews' on DuckDB (r1: Tone 5/5, Solution
    yes -> 100; r2: Tone 3/5 (50 weighted: (3-1)/(5-1)), Solution yes -> 75)."""
    card = Scorecard([Category("Tone", 1, scale=5), Category("Solution", 1)])
    r = pd.DataFrame({"review_id": ["r1", "r1", "r2", "r2", "r3", "r3"], "conversation_id": ["c1", "c1", "c2", "c2", "c3", "c3"],
                      "agent_id": "a", "reviewer_id": "q", "reviewed_at": "2026-11-02",
                      "category": ["Tone", "Solution"] * 3, "rating": [5, 1, 3, 1, np.nan, np.nan]})
    st = store_reviews(r, card, str(tmp_path / "s.parquet"))
    assert S.exclusions(st.record).set_index("reason")["row_ids"].to_dict() == {NOT_SCORED_ALL_NA: ("r3",)}
    got = st.read().sort_values("review_id").reset_index(drop=True)
    want = score_reviews(r, card, engine="duckdb")
    pd.testing.assert_frame_equal(got, want)
    assert got["iqs"].tolist()[:2] == pytest.approx([100.0, 75.0])
    assert S.exclusions(got)["row_ids"].tolist() == [("r3",)]


def _csat_case():
    """c1: reviews 80 (agent b) and 60 (agent a) -> IQS 70, agent a (the smaller id), CSAT 4; c2: 90
    (b), CSAT 2; c3: 50 (a), CSAT 5; c4: a review without a score (all N/A), CSAT 3; c5: answered, not
    reviewed; c6: asked, no answer."""
    scores = pd.DataFrame({"review_id": ["r1", "r2", "r3", "r4", "r5"],
                           "conversation_id": ["c1", "c1", "c2", "c3", "c4"],
                           "agent_id": ["b", "a", "b", "a", "a"], "iqs": [80.0, 60, 90, 50, np.nan]})
    surveys = pd.DataFrame({"conversation_id": ["c1", "c2", "c3", "c4", "c5", "c6"], "kind": "csat",
                            "score": [4.0, 2, 5, 3, 1, np.nan], "answered_at": None})
    return scores, surveys


def test_join_csat_on_duckdb_equals_the_hand_join(tmp_path):
    """Conversation level: (c1, a, 70, 4), (c2, b, 90, 2), (c3, a, 50, 5); r5 (c4) itemised as not scored,
    c6 as not answered. Agent level (the answers' agents given on the surveys): a's scored reviews
    60, 50 and the answers of c1, c3, c4; b's 80, 90 and c2, c5. Pearson of the conversation level:
    scipy.stats.pearsonr. The same tables as pandas gives."""
    scores, surveys = _csat_case()
    p = tmp_path / "s.parquet"
    scores.to_parquet(p, index=False)
    j = ST.join_csat(str(p), surveys)
    assert j["conversation_id"].tolist() == ["c1", "c2", "c3"] and j["agent_id"].tolist() == ["a", "b", "a"]
    assert j["iqs"].tolist() == [70.0, 90.0, 50.0] and j["csat"].tolist() == [4.0, 2.0, 5.0]
    ex = S.exclusions(j).set_index("reason")["row_ids"].to_dict()
    assert ex == {"review not scored (all categories N/A)": ("r5",), "survey sent but not answered (no score)": ("c6",)}
    pd.testing.assert_frame_equal(j, ST.join_csat(scores, surveys))
    r = ST.iqs_csat_correlation(str(p), surveys, method="pearson", min_n=0).iloc[0]
    assert r["r"] == pytest.approx(stats.pearsonr([70.0, 90, 50], [4.0, 2, 5]).statistic)
    with_agents = surveys.assign(agent_id=["a", "b", "a", "a", "b", "b"])
    a = ST.join_csat(str(p), with_agents, unit="agent").set_index("agent_id")
    # a: reviews r2 60, r4 50 (r5 unscored: left out) -> 55 over 2; CSAT of c1, c3, c4 -> 4, 5, 3
    # b: scored 80, 90 -> 85 over 2; CSAT of c2, c5 -> 2, 1 (c6 unanswered)
    assert a.loc["a", ["n", "iqs", "csat_n", "csat"]].tolist() == pytest.approx([2, 55.0, 3, 4.0])
    assert a.loc["b", ["n", "iqs", "csat_n", "csat"]].tolist() == pytest.approx([2, 85.0, 2, 1.5])
    pd.testing.assert_frame_equal(a.reset_index(), ST.join_csat(scores, with_agents, unit="agent"), check_dtype=False)


def test_disputes_on_duckdb_equal_the_hand_numbers(tmp_path):
    """Scores r1..r4 = 50, 80, 90, 100 (reviewers q1, q1, q1, q2), r5 unscored; disputes: d1 accepted on
    r1 with score_after 70, d2 rejected on r2, d3 on a review not in the scores, d4 accepted without a
    score_after. IQS after disputes: n 4, one changed, before 80, after 85, change 5 (d = 20, 0, 0, 0:
    sd sqrt((400 - 4 * 25) / 3) = 10, interval 5 -/+ t(0.975, 3) * 10 / 2); dispute rate per reviewer:
    q1 reviewed r1, r2, r3, r5 of which r1, r2, r5 are disputed -> 3 / 4, q2 0 / 1; d3 itemised (orphan),
    d4 itemised (no score_after), r5 itemised (no score). The same tables and records as pandas."""
    from qakit.ops import dispute_rate, iqs_after_disputes

    s = pd.DataFrame({"review_id": ["r1", "r2", "r3", "r4", "r5"], "reviewer_id": ["q1", "q1", "q1", "q2", "q1"],
                      "iqs": [50.0, 80, 90, 100, np.nan]})
    d = pd.DataFrame({"dispute_id": ["d1", "d2", "d3", "d4"], "review_id": ["r1", "r2", "zz", "r5"],
                      "accepted": [True, False, True, True], "score_after": [70.0, np.nan, 10.0, np.nan]})
    p = tmp_path / "s.parquet"
    s.to_parquet(p, index=False)
    a = iqs_after_disputes(str(p), d, min_n=0).iloc[0]
    assert a[["n", "n_changed", "iqs_before", "iqs_after", "change"]].tolist() == pytest.approx([4, 1, 80, 85, 5])
    half = stats.t.ppf(0.975, 3) * 10 / 2
    assert a[[S.CI_LOW, S.CI_HIGH]].tolist() == pytest.approx([5 - half, 5 + half])
    # q1 reviewed r1, r2, r3, r5: r1, r2, r5 disputed -> 3/4; q2 r4: none -> 0/1; d3's review is not there
    r = dispute_rate(str(p), d, min_n=0)
    assert r[["reviewer_id", "n", "n_disputed"]].values.tolist() == [["q1", 4, 3], ["q2", 1, 0]]
    assert S.exclusions(r)["row_ids"].tolist() == [("d3",)]
    for got, want in ((iqs_after_disputes(str(p), d, min_n=0), iqs_after_disputes(s, d, min_n=0)),
                      (r, dispute_rate(s, d, min_n=0))):
        pd.testing.assert_frame_equal(got, want, check_exact=False, atol=1e-9)
        assert S.exclusions(got).values.tolist() == S.exclusions(want).values.tolist()


def test_coaching_effect_on_duckdb_equals_the_hand_example(tmp_path):
    """The worked example of :func:`qakit.coaching.coaching_effect` (its docstring: the coached agents
    rose 10 and 9, naive 9.5; the controls changed -2, +1, -1, +1, so the diff-in-diff is 9.5 + 0.25 =
    9.75; the adjusted estimate 13/14 = 0.93) with the scores in a Parquet file on DuckDB: only
    per-(agent, week) counts and sums leave it. Plus a review without a score and one without a time
    (itemised, not counted); the same table and itemised ids as on pandas."""
    from qakit.coaching import coaching_effect

    rows = []
    for a, pre, post in [("a1", 60, 70), ("a2", 62, 71), ("c1", 72, 70), ("c2", 69, 70), ("c3", 71, 70), ("c4", 70, 71)]:
        for wk, v in [(1, pre), (2, pre), (4, post), (5, post)]:
            for d in (0, 1, 2):
                rows.append({"review_id": f"{a}-{wk}-{d}", "agent_id": a, "iqs": float(v),
                             "reviewed_at": pd.Timestamp("2026-08-03", tz="UTC") + pd.Timedelta(days=7 * wk + d)})
    rows.append({"review_id": "x-none", "agent_id": "c1", "iqs": np.nan, "reviewed_at": pd.Timestamp("2026-08-12", tz="UTC")})
    rows.append({"review_id": "x-undated", "agent_id": "c2", "iqs": 0.0, "reviewed_at": pd.NaT})
    scores = pd.DataFrame(rows)
    p = tmp_path / "scores.parquet"
    scores.to_parquet(p, index=False)
    coaching = pd.DataFrame({"agent_id": ["a1", "a2"], "coached_at": ["2026-08-25", "2026-08-26"]})
    got = coaching_effect(str(p), coaching, post_weeks=2, min_controls=2, min_coached=2)
    assert got["effect"].tolist() == pytest.approx([13 / 14, 9.75, 9.5])
    assert got["n"].tolist() == [2, 2, 2] and got["n_control"].tolist() == [4, 4, 0]
    ex = S.exclusions(got).set_index("reason")["row_ids"].to_dict()
    assert ex["review has no score (iqs missing)"] == ("x-none",)
    assert ex["review without a 'reviewed_at' time: cannot be placed in a week"] == ("x-undated",)
    want = coaching_effect(scores, coaching, post_weeks=2, min_controls=2, min_coached=2)
    pd.testing.assert_frame_equal(got, want, check_exact=False, atol=1e-9)
    assert S.exclusions(got).values.tolist() == S.exclusions(want).values.tolist()


def test_compare_groups_on_duckdb_equals_the_hand_standardisation(tmp_path):
    """The worked example of :func:`qakit.compare.compare_groups` as a Parquet file on DuckDB: A scores
    90 x4 in chat and 60 in phone (raw 84), B 92 in chat and 65 x4 in phone (raw 70.4); the common mix
    is chat 5/10, phone 5/10, so A's standardised figure is (90 + 60) / 2 = 75 and B's (92 + 65) / 2
    = 78.5: the ranking reverses (Simpson). Standard error of A: sqrt(0.25 var(A, chat) / 4 + 0.25
    v / 1) with A's single phone review borrowing phone's pooled variance v = var(60, 65, 65, 65, 65).
    A row without a team is itemised; an inf value is refused as on pandas."""
    from qakit.compare import compare_groups
    from qakit.errors import DataValidationError

    d = pd.DataFrame({"review_id": [f"r{i}" for i in range(11)], "team": ["A"] * 5 + ["B"] * 5 + [None],
                      "channel": ["chat"] * 4 + ["phone"] + ["chat"] + ["phone"] * 4 + ["chat"],
                      "iqs": [90, 90, 90, 90, 60, 92, 65, 65, 65, 65, 50.0]})
    p = tmp_path / "d.parquet"
    d.to_parquet(p, index=False)
    r = compare_groups(str(p), group="team", value="iqs", min_n=0).set_index("group")
    assert r["raw"].tolist() == pytest.approx([84.0, 70.4]) and r["standardised"].tolist() == pytest.approx([75.0, 78.5])
    assert r["reversed_against"].tolist() == ["B", "A"] and r["rank_standardised"].tolist() == [2, 1]
    v_phone = np.var([60, 65, 65, 65, 65], ddof=1)
    assert r.loc["A", "std_se"] == pytest.approx(np.sqrt(0.25 * 0 / 4 + 0.25 * v_phone / 1))
    assert S.exclusions(r)["row_ids"].tolist() == [("r10",)]
    pd.testing.assert_frame_equal(r.reset_index(), compare_groups(d, group="team", value="iqs", min_n=0))
    bad = d.assign(iqs=[np.inf] + d["iqs"].tolist()[1:])
    q = tmp_path / "bad.parquet"
    bad.to_parquet(q, index=False)
    with pytest.raises(DataValidationError, match="not a finite number"):
        compare_groups(str(q), group="team", value="iqs")


def test_the_same_statistics_from_a_polars_frame():
    """The functions above given the bundled sample's review scores as a Polars frame (ids as text
    and as categoricals) run on Polars and give the pandas numbers (1e-9) and the same itemised rows:
    the per-group statistics are one definition whatever engine counts them."""
    import polars as pl

    from qakit import datasets
    from qakit.coaching import coaching_effect
    from qakit.ops import dispute_rate, iqs_after_disputes
    from qakit.scorecard import load_scorecard

    d = datasets.sample_data_dir()
    card = load_scorecard(d / "scorecard.yaml")
    sc = score_reviews(pd.read_parquet(d / "ratings.parquet"), card).drop(columns=["band"], errors="ignore")
    disputes, coaching = pd.read_parquet(d / "disputes.parquet"), pd.read_parquet(d / "coaching.parquet")
    surveys = pd.read_parquet(d / "surveys.parquet")
    calls = {
        "agent_summary": lambda s: ST.agent_summary(s),
        "review_coverage": lambda s: review_coverage(s),
        "reviewer_strictness": lambda s: reviewer_strictness(s, disputes=disputes, min_n=0),
        "dispute_rate": lambda s: dispute_rate(s, disputes, min_n=0),
        "iqs_after_disputes": lambda s: iqs_after_disputes(s, disputes, by="agent_id", min_n=0),
        "join_csat": lambda s: ST.join_csat(s, surveys),
        "coaching_effect": lambda s: coaching_effect(s, coaching),
    }
    plain = pl.from_pandas(sc.astype({"passed": "object"}))
    categorical = plain.with_columns(pl.col("agent_id", "reviewer_id").cast(pl.Categorical))
    for name, f in calls.items():
        want = f(sc)
        for frame in (plain, categorical):
            got = f(frame)
            assert list(got.columns) == list(want.columns), name
            for c in want.columns:
                if pd.api.types.is_numeric_dtype(want[c]) and not pd.api.types.is_bool_dtype(want[c]):
                    np.testing.assert_allclose(got[c].to_numpy(float), want[c].to_numpy(float), rtol=0, atol=1e-9,
                                               equal_nan=True, err_msg=f"{name}.{c}")
                else:
                    assert got[c].astype(str).tolist() == want[c].astype(str).tolist(), f"{name}.{c}"
            assert S.exclusions(got)[["reason", "n"]].values.tolist() == S.exclusions(want)[["reason", "n"]].values.tolist(), name


def test_category_scores_by_a_conversation_column(tmp_path):
    """Tone (1-5, weighted: (r - 1) / 4 * 100) rated 5, 3 in conversations of team X and 1 in one of
    team Y, and 4 in a conversation the conversations table lacks: by team through ``conversations=``,
    X = (100 + 50) / 2 = 75 over 2 reviews, Y = 0, and a missing team with 75 -- on pandas and on
    DuckDB (both tables Parquet files, joined there). A by column in neither table is named."""
    from qakit.errors import ParameterError
    from qakit.scorecard import category_scores

    card = Scorecard([Category("Tone", 1, scale=5)])
    r = pd.DataFrame({"review_id": ["r1", "r2", "r3", "r4"], "conversation_id": ["c1", "c2", "c3", "c9"],
                      "agent_id": "a", "reviewer_id": "q", "reviewed_at": pd.Timestamp("2026-11-02", tz="UTC"),
                      "category": "Tone", "rating": [5.0, 3, 1, 4]})
    conv = pd.DataFrame({"conversation_id": ["c1", "c2", "c3"], "team": ["X", "X", "Y"]})
    rp, cp = tmp_path / "r.parquet", tmp_path / "c.parquet"
    r.to_parquet(rp, index=False)
    conv.to_parquet(cp, index=False)
    for got in (category_scores(r, card, by="team", conversations=conv, min_n=0),
                category_scores(str(rp), card, by="team", conversations=str(cp), min_n=0)):
        got = got.assign(team=got["team"].astype("str").where(got["team"].notna(), "(none)")).set_index("team")
        assert got["n"].to_dict() == {"X": 2, "Y": 1, "(none)": 1}
        assert got["category_score"].to_dict() == pytest.approx({"X": 75.0, "Y": 0.0, "(none)": 75.0})
    with pytest.raises(ParameterError, match="site"):
        category_scores(str(rp), card, by="site", conversations=str(cp))


def test_team_scores_pool_the_agents_cells():
    """Cells per (agent, team, category): a: Tone 80 over 2 in X, 50 over 1 in Y; b: 60 over 2 in X;
    c: 10 over 1 in Y, 30 over 1 in X. Team X's Tone pools the X cells: (2 * 80 + 2 * 60 + 30) / 5 = 62;
    Y's (50 + 10) / 2 = 30. a's team is X (2 rated against 1); c, one in each, takes the first name, X."""
    from qakit.report.tiles import _team_scores

    cells = pd.DataFrame({"agent_id": ["a", "a", "b", "c", "c"], "team": ["X", "Y", "X", "Y", "X"],
                          "category": "Tone", "n": [2, 1, 2, 1, 1], "category_score": [80.0, 50, 60, 10, 30]})
    team, agent_team = _team_scores(cells)
    assert team.set_index("team")["team_score"].to_dict() == pytest.approx({"X": (160 + 120 + 30) / 5, "Y": 60 / 2})
    assert agent_team.to_dict() == {"a": "X", "b": "X", "c": "X"}


def test_iqs_score_by_a_conversation_column(tmp_path):
    """Review scores 80, 60 in conversations of team X, 90 in team Y, 50 in a conversation the table
    lacks, and one unscored review in X: by team through ``conversations=``, X = 70 over 2 (one
    excluded), Y = 90, a missing team 50 -- from pandas scores, a Parquet file on DuckDB, and the
    ratings with ``card=`` on DuckDB (Tone 1-5 weighted: 5 -> 100, 3 -> 50). A by column in neither
    table is named."""
    from qakit.errors import ParameterError
    from qakit.scorecard import iqs_score

    scores = pd.DataFrame({"review_id": ["r1", "r2", "r3", "r4", "r5"], "conversation_id": ["c1", "c2", "c3", "c9", "c1"],
                           "agent_id": "a", "iqs": [80.0, 60, 90, 50, np.nan],
                           "passed": pd.array([True, False, True, False, pd.NA], dtype="boolean")})
    conv = pd.DataFrame({"conversation_id": ["c1", "c2", "c3"], "team": ["X", "X", "Y"]})
    sp, cp = tmp_path / "s.parquet", tmp_path / "c.parquet"
    scores.to_parquet(sp, index=False)
    conv.to_parquet(cp, index=False)

    def by_team(t):
        t = t.assign(team=t["team"].astype("str").where(t["team"].notna(), "(none)")).set_index("team")
        return t[["n", "iqs", "n_excluded"]].to_dict("index")
    want = {"X": {"n": 2, "iqs": 70.0, "n_excluded": 1}, "Y": {"n": 1, "iqs": 90.0, "n_excluded": 0},
            "(none)": {"n": 1, "iqs": 50.0, "n_excluded": 0}}
    assert by_team(iqs_score(scores, by="team", conversations=conv, min_n=0)) == want
    assert by_team(iqs_score(str(sp), by="team", conversations=str(cp), min_n=0)) == want
    card = Scorecard([Category("Tone", 1, scale=5)])
    ratings = pd.DataFrame({"review_id": ["r1", "r2", "r3"], "conversation_id": ["c1", "c2", "c3"], "agent_id": "a",
                            "reviewer_id": "q", "reviewed_at": pd.Timestamp("2026-11-02", tz="UTC"),
                            "category": "Tone", "rating": [5.0, 3, 5]})
    rp = tmp_path / "r.parquet"
    ratings.to_parquet(rp, index=False)
    got = iqs_score(str(rp), card=card, by="team", conversations=str(cp), min_n=0).set_index("team")
    assert got["iqs"].to_dict() == {"X": 75.0, "Y": 100.0}
    with pytest.raises(ParameterError, match="site"):
        iqs_score(str(sp), by="site", conversations=str(cp))


def test_join_csat_with_the_surveys_on_duckdb_equals_the_hand_join(tmp_path):
    """The surveys read in place too (a Parquet file beside the scores'): the answers are averaged per
    conversation and joined to the reviews on DuckDB, and give the hand join above -- (c1, a, 70, 4),
    (c2, b, 90, 2), (c3, a, 50, 5); r5 and c6 itemised -- and at agent level, the answers' agents from
    the conversations (the surveys have none): a = c1, c3, c4 -> CSAT 4, 5, 3; b = c2, c5 -> 2, 1.
    Each agent's CSAT in ``agent_summary``: a 2 of 3 satisfied (>= 4), b 0 of 2, Wilson intervals by hand."""
    scores, surveys = _csat_case()
    surveys["answered_at"] = pd.Timestamp("2026-11-03", tz="UTC")  # (a stored file types its times)
    s, sv, cv = (str(tmp_path / f) for f in ("s.parquet", "sv.parquet", "c.parquet"))
    scores.to_parquet(s, index=False)
    surveys.to_parquet(sv, index=False)
    t0 = pd.Timestamp("2026-11-02", tz="UTC")
    conv = pd.DataFrame({"conversation_id": [f"c{i}" for i in range(1, 7)], "agent_id": ["a", "b", "a", "a", "b", "b"],
                         "customer_id": "k", "channel": "email", "priority": "normal", "created_at": t0,
                         "first_response_at": t0 + pd.Timedelta(hours=1), "resolved_at": t0 + pd.Timedelta(hours=2),
                         "status": "solved"})
    conv.to_parquet(cv, index=False)
    j = ST.join_csat(s, sv)
    assert j["conversation_id"].tolist() == ["c1", "c2", "c3"] and j["agent_id"].tolist() == ["a", "b", "a"]
    assert j["iqs"].tolist() == [70.0, 90.0, 50.0] and j["csat"].tolist() == [4.0, 2.0, 5.0]
    assert j["satisfied"].tolist() == [True, False, True]
    ex = S.exclusions(j).set_index("reason")["row_ids"].to_dict()
    assert ex == {"review not scored (all categories N/A)": ("r5",), "survey sent but not answered (no score)": ("c6",)}
    pd.testing.assert_frame_equal(j, ST.join_csat(scores, surveys))
    a = ST.join_csat(s, sv, unit="agent", conversations=cv).set_index("agent_id")
    assert a.loc["a", ["n", "iqs", "csat_n", "csat", "satisfied"]].tolist() == pytest.approx([2, 55.0, 3, 4.0, 2 / 3])
    assert a.loc["b", ["n", "iqs", "csat_n", "csat", "satisfied"]].tolist() == pytest.approx([2, 85.0, 2, 1.5, 0.0])
    pd.testing.assert_frame_equal(a.reset_index(), ST.join_csat(scores, surveys, unit="agent", conversations=conv),
                                  check_dtype=False)
    scores["passed"] = pd.array([True, False, True, False, pd.NA], dtype="boolean")  # (agent_summary's pass rate)
    scores.to_parquet(s, index=False)
    summ = ST.agent_summary(s, sv, conversations=cv, min_n=0).set_index("agent_id")
    z = stats.norm.ppf(0.975)
    for agent, k, n in (("a", 2, 3), ("b", 0, 2)):  # Wilson by hand: (k + z^2/2 +/- z sqrt(k(n-k)/n + z^2/4)) / (n + z^2)
        half = z * np.sqrt(k * (n - k) / n + z**2 / 4)
        lo, hi = (k + z**2 / 2 - half) / (n + z**2), (k + z**2 / 2 + half) / (n + z**2)
        assert summ.loc[agent, ["csat_n", "csat", "csat_ci_low", "csat_ci_high"]].tolist() == pytest.approx(
            [n, 100 * k / n, 100 * lo, 100 * hi])
    assert S.exclusions(summ)["reason"].tolist() == ["review has no score (iqs missing)",  # r5
                                                     "survey sent but not answered (no score)"]  # once, as on pandas
    pd.testing.assert_frame_equal(summ.reset_index(), ST.agent_summary(scores, surveys, conversations=conv, min_n=0),
                                  check_dtype=False)
    with pytest.raises(ParameterError, match=r"missing columns \['passed'\]"):  # the same refusal as pandas
        scores.drop(columns="passed").to_parquet(s, index=False)
        ST.agent_summary(s, sv, conversations=cv)


def test_join_csat_with_the_surveys_on_duckdb_refuses_answers_off_the_scale(tmp_path):
    """An answer of 7 on the 1-5 CSAT scale: the same refusal as pandas, naming the column, the value
    and the conversation."""
    from qakit.errors import DataValidationError

    scores, surveys = _csat_case()
    surveys["answered_at"] = pd.Timestamp("2026-11-03", tz="UTC")
    surveys.loc[1, "score"] = 7.0
    s, sv = str(tmp_path / "s.parquet"), str(tmp_path / "sv.parquet")
    scores.to_parquet(s, index=False)
    surveys.to_parquet(sv, index=False)
    with pytest.raises(DataValidationError) as got:
        ST.join_csat(s, sv)
    text = str(got.value)
    assert "column 'score'" in text and "values [7" in text and "['c2']" in text and "outside the scale 1..5" in text
    with pytest.raises(DataValidationError, match=r"outside the scale 1\.\.5"):
        ST.join_csat(scores, surveys)


def test_detached_keeps_a_nested_calls_record_out():
    """A public call inside ``detached()`` does not carry its record into the running public call
    (``agent_summary`` takes only the numbers of the engine's per-agent CSAT and itemises the
    unanswered surveys itself, once): outside it, a nested record flows in as always."""
    from qakit._public import detached, public

    @public
    def inner(df):
        return S.add_exclusion(df.copy(), "left out inside", "x", ["r1"])

    @public
    def outer(df, *, quiet):
        if quiet:
            with detached():
                inner(df)
        else:
            inner(df)
        return df.head(1).copy()

    df = pd.DataFrame({"x": [1, 2]})
    assert S.exclusions(outer(df, quiet=False))["reason"].tolist() == ["left out inside"]
    assert S.exclusions(outer(df, quiet=True)).empty
