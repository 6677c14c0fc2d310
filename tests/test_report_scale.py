"""The report at scale (issue 23 point 3): per-agent figures stay readable and cheap with thousands
of agents (the lowest and highest agents drawn, every agent in the appendix), and the sections the
DuckDB report moves to the engine give the pandas report's numbers (1e-9)."""

from __future__ import annotations

import dataclasses
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from frames import assert_frames_close

import qakit.report.data as D
import qakit.report.operations as O
import qakit.report.tiles as T
import qakit.report.views as V
from qakit import kpis as K
from qakit import stats as ST
from qakit.report.common import AGENT_ROWS, quiet


@pytest.fixture(scope="module")
def sample():
    return D.load_report_data()


@pytest.fixture(scope="module")
def many_agents(sample):
    """The sample with each review's agent split in four by review id: 40 agents -> 160 (> AGENT_ROWS)."""
    def split(f: pd.DataFrame) -> pd.DataFrame:
        k = f["review_id"].str.extract(r"(\d+)$")[0].astype(int) % 4
        return f.assign(agent_id=f["agent_id"] + "-" + k.astype(str))
    return dataclasses.replace(sample, ratings=split(sample.ratings), scores=split(sample.scores), _cache={})


def _labels(ax, axis="y") -> list[str]:
    ticks = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    return [t.get_text() for t in ticks]


def test_the_sample_draws_every_agent(sample):
    """40 agents (the sample's, <= AGENT_ROWS = 60): the forest, the grid and the coverage draw all 40."""
    assert sample.scores["agent_id"].nunique() == 40 < AGENT_ROWS
    forest = V.agent_forest(sample).axes[0]
    assert len(_labels(forest)) == 40 and "lowest and" not in forest.get_title(loc="left")
    assert len(_labels(V.agent_category_heatmap(sample).axes[0], "x")) == 40
    assert len(_labels(O.coverage_figure(sample).axes[0])) == 40


def test_forest_draws_the_lowest_and_highest_agents(many_agents):
    """160 agents: the forest draws the 30 lowest and 30 highest by shrunken IQS (ranked here with
    ``qakit.stats.agent_summary`` directly); the title counts the inconclusive agents over all 160."""
    d = many_agents
    a = ST.agent_summary(d.scores, d.surveys, min_n=d.min_n, conversations=d.conversations, scale=d.csat_scale)
    assert len(a) == 160
    order = a.sort_values(ST.IQS_SHRUNK)["agent_id"].astype(str).tolist()
    want = order[:30] + order[-30:]
    ax = V.agent_forest(d).axes[0]
    got = [s.split("  (n =")[0] for s in _labels(ax)]
    assert got == want
    thr = float(d.card.pass_threshold)
    inconclusive = int(((a["ci_low"] < thr) & (a["ci_high"] > thr)).sum())
    assert f"({inconclusive:,} of 160 inconclusive against the pass line); the 30 lowest and 30 highest" \
        in ax.get_title(loc="left")


def test_grid_and_coverage_draw_sixty_agents(many_agents):
    """The agent x category grid: the 30 highest then the 30 lowest by mean IQS; the coverage grid:
    the 60 agents with fewest reviews (counted here with pandas)."""
    d = many_agents
    mean = d.scores.groupby("agent_id")["iqs"].mean().sort_values(ascending=False)
    coaching_agents = set(V._coaching(d)["agent_id"])
    order = [a for a in mean.index if a in coaching_agents]
    ax = V.agent_category_heatmap(d).axes[0]
    assert _labels(ax, "x") == [str(a) for a in order[:30] + order[-30:]]
    assert "\nthe 30 highest and 30 lowest of 160 agents" in ax.get_title(loc="left")
    cov = O._coverage(d)
    fewest = cov.groupby("agent_id")["n"].sum().sort_values(kind="stable")
    ax = O.coverage_figure(d).axes[0]
    labels = _labels(ax)
    assert len(labels) == 60 and set(labels) <= set(fewest.index.astype(str))
    # the 60 drawn have the 60 smallest totals (ties at the cut may be either)
    drawn = fewest.loc[labels]
    assert drawn.max() <= fewest.iloc[60:].min()
    assert "the 60 least reviewed of 160 agents" in ax.get_title(loc="left")


# --- the DuckDB report against the pandas report ------------------------------------------------------------
@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A generated organisation (``qakit.synth.generate``, seed 3, 80 agents: more than AGENT_ROWS),
    every table a folder of two Parquet files (as a partitioned export), the sample's card."""
    from qakit import synth

    folder = tmp_path_factory.mktemp("generated")
    t = synth.generate(seed=3, n_agents=80, weeks=4, conversations=6000, reviews_per_agent_week=3,
                       calibration_conversations=5)
    for name, key in (("ratings", "review_id"), ("conversations", "conversation_id"), ("surveys", "conversation_id")):
        f = t[name]
        (folder / name).mkdir()
        first = f[key].isin(sorted(f[key].unique())[::2])
        f[first].to_parquet(folder / name / "part-0.parquet", index=False)
        f[~first].to_parquet(folder / name / "part-1.parquet", index=False)
    (folder / "scorecard.yaml").write_text(synth.SCORECARD_YAML, encoding="utf-8")
    return folder


_close = assert_frames_close


def _same_tiles(pdata, dk, metrics) -> None:
    """The headline tiles ``metrics`` of the DuckDB report equal the pandas report's (n, value, interval; 1e-9)."""
    ha, hb = T.headline(pdata, {}).set_index("metric"), T.headline(dk, {}).set_index("metric")
    for m in metrics:
        np.testing.assert_allclose(hb.loc[m, ["n", "value", "ci_low", "ci_high"]].to_numpy(float),
                                   ha.loc[m, ["n", "value", "ci_low", "ci_high"]].to_numpy(float), rtol=0, atol=1e-9)


@pytest.mark.slow  # both engines over a generated dataset, section by section
@pytest.mark.parametrize("kw", [{}, {"start": "2026-08-10"}], ids=["all rows: read in place", "a period"])
def test_duckdb_report_sections_equal_the_pandas_report(generated, kw):
    """Tiles, customer KPIs, response times by channel, SLA, agents, coaching grid, categories and
    coverage of the DuckDB report equal the pandas report's (1e-9) on a generated, partitioned
    dataset; with every row used, DuckDB reads the conversations folder in place (said under the
    tiles), with a period it runs on the period's rows."""
    from qakit.scorecard import category_scores

    pdata = D.load_report_data(dataset=str(generated), **kw)
    dk = D.load_report_data(dataset=str(generated), engine="duckdb", **kw)
    ha, hb = T.headline(pdata, {}), T.headline(dk, {})
    _close(ha.drop(columns=[c for c in ha.columns if ha[c].dtype == object and c != "metric"]),
           hb.drop(columns=[c for c in hb.columns if hb[c].dtype == object and c != "metric"]), ["metric"])
    _close(T.report_kpis(pdata), T.report_kpis(dk), ["kpi"])
    for a, b in zip(T.time_tables(pdata), T.time_tables(dk)):
        _close(a, b, ["channel"])
    _close(quiet(K.sla_attainment, pdata.conversations, min_n=0),
           quiet(K.sla_attainment, dk.conversations, min_n=0), ["priority"])
    _close(V._agents(pdata), V._agents(dk), ["agent_id"])
    _close(V._coaching(pdata), V._coaching(dk), ["agent_id", "category"])
    _close(category_scores(pdata.ratings, pdata.registry), T.report_categories(dk), ["category"])
    _close(O._coverage(pdata), O._coverage(dk), ["agent_id", "week"])
    for name, t in V.appendix_tables(pdata).items():  # the CSV tables: agents, categories, coaching, KPIs, SLA
        _close(t, V.appendix_tables(dk)[name], list(t.columns[:2]))
    la, lb = T.left_out_rows(pdata), T.left_out_rows(dk)  # each KPI's exclusions, itemised the same
    assert la.astype(str).values.tolist() == lb.astype(str).values.tolist()
    notes = "; ".join(dk.engine_notes)
    assert ("customer KPIs: DuckDB read conversations directly" in notes) == (not kw)
    assert ("review scores: DuckDB read ratings directly" in notes) == (not kw)
    assert ("category scores: DuckDB read ratings directly" in notes) == (not kw)
    assert "computed with pandas" not in notes
    # 80 agents: the figures draw 60, on both engines the same ones
    fa, fb = V.agent_forest(pdata).axes[0], V.agent_forest(dk).axes[0]
    assert _labels(fa) == _labels(fb) and len(_labels(fa)) == AGENT_ROWS


@pytest.mark.slow  # both engines on a generated dataset with integer agent ids
def test_integer_agent_ids_read_in_place_are_the_validated_text_ids(generated, tmp_path):
    """A Parquet export with integer agent ids (A07 -> 7): the contract stores ids as text, so the
    category scores DuckDB computes from the file in place are keyed by the same text ids, in the
    same order, as the pandas report's; the agent x category grid draws the same agents."""
    import shutil


    for name in ("conversations", "surveys"):
        shutil.copytree(generated / name, tmp_path / name)
    shutil.copy(generated / "scorecard.yaml", tmp_path / "scorecard.yaml")
    (tmp_path / "ratings").mkdir()
    for f in sorted((generated / "ratings").glob("*.parquet")):
        r = pd.read_parquet(f)
        r.assign(agent_id=r["agent_id"].str.lstrip("A").astype("int64")).to_parquet(tmp_path / "ratings" / f.name)
    pdata = D.load_report_data(dataset=str(tmp_path))
    dk = D.load_report_data(dataset=str(tmp_path), engine="duckdb")
    assert "ratings" in dk.direct and set(pdata.ratings["agent_id"]) >= {"7", "12"}
    a, b = T.coaching_table(pdata), T.coaching_table(dk)
    assert a["agent_id"].tolist() == b["agent_id"].tolist() and a["category"].tolist() == b["category"].tolist()
    _close(a, b, ["agent_id", "category"])
    assert _labels(V.agent_category_heatmap(pdata).axes[0], "x") == _labels(V.agent_category_heatmap(dk).axes[0], "x")


# --- the loader leaves the big tables on the engine ---------------------------------------------------------
@pytest.mark.slow  # both engines over the generated dataset
def test_engine_loader_reads_nothing_the_moved_sections_do_not_need(generated):
    """With DuckDB and no period, ``load_report_data`` checks the ratings and conversations in place
    and reads neither into pandas; the moved sections (agents, scorecard health, review coverage, the
    period line, the default group, the comparison group) leave them unread and give the pandas
    report's numbers (1e-9); the first ``data.ratings`` reads the table (the same frame as pandas')."""
    import qakit.report.checks as KC
    import qakit.report.quality as Q

    pdata = D.load_report_data(dataset=str(generated))
    dk = D.load_report_data(dataset=str(generated), engine="duckdb")
    assert not dk.in_memory("ratings") and not dk.in_memory("conversations")
    assert dk.has("ratings", "conversations") and pdata.in_memory("ratings")
    assert dk.scores["review_id"].tolist() == pdata.scores["review_id"].tolist()  # pandas' order, from the file
    for c in ("agent_id", "reviewer_id", "scorecard_version"):  # repeating ids held as categoricals, same values
        assert isinstance(dk.scores[c].dtype, pd.CategoricalDtype), c
        assert dk.scores[c].astype("str").tolist() == pdata.scores[c].astype("str").tolist(), c
    _close(V._agents(pdata), V._agents(dk), ["agent_id"])
    ha, hb = Q.health_result(pdata), Q.health_result(dk)
    _close(ha.categories, hb.categories, ["category"])
    _close(ha.consistency, hb.consistency, ["statistic"])  # the seeded bootstrap: the same reviews in the same order
    _close(O._coverage(pdata), O._coverage(dk), ["agent_id", "week"])
    assert V.period_text(dk) == V.period_text(pdata) and V.default_group(dk) == V.default_group(pdata)
    KC.prepare_checks(pdata), KC.prepare_checks(dk)
    assert dk.checks["group"] == pdata.checks["group"] == "team"
    assert not dk.in_memory("ratings") and not dk.in_memory("conversations")
    # a section not moved yet still works: the table is read (and validated) on first use, then kept
    pd.testing.assert_frame_equal(dk.ratings, pdata.ratings)
    assert dk.in_memory("ratings") and dk.ratings is dk.ratings and not dk.in_memory("conversations")


@pytest.mark.slow  # both engines over the generated dataset
def test_duckdb_report_keeps_the_review_scores_on_the_engine(generated):
    """With DuckDB the review scores stay in a Parquet file beside the engine (issue 23: only per-group
    statistics leave it): the headline, the agents' forest, table and grid order, the trend, the group
    table, the coverage and reviewer sections and the data-quality table run without reading
    ``data.scores`` into pandas, and give the pandas report's numbers (1e-9; the grid draws the same
    agents). Reading ``data.scores`` afterwards gives pandas' frame (same reviews, order, scores)."""
    from qakit.scorecard import iqs_score

    pdata = D.load_report_data(dataset=str(generated))
    dk = D.load_report_data(dataset=str(generated), engine="duckdb")
    assert D.scores_on_engine(dk) and not dk.in_memory("scores") and dk.has("scores")
    _same_tiles(pdata, dk, ("iqs", "pass_rate"))
    _close(V._agents(pdata), V._agents(dk), ["agent_id"])
    assert V.agent_table(pdata).frame.values.tolist() == V.agent_table(dk).frame.values.tolist()
    assert _labels(V.agent_category_heatmap(pdata).axes[0], "x") == _labels(V.agent_category_heatmap(dk).axes[0], "x")
    # the coaching grid's team comes from the conversations here: joined on the engine, nothing read
    assert "team" in D.table_columns(dk, "conversations") and "team" not in D.table_columns(dk, "ratings")
    _close(V._coaching(pdata), V._coaching(dk), ["agent_id", "category"])
    assert not dk.in_memory("ratings") and not dk.in_memory("conversations")
    _close(quiet(iqs_score, pdata.scores, period="W", min_n=0),
           quiet(iqs_score, D.engine_table(dk, "scores"), period="W", min_n=0), ["period"])
    V.trend_figure(dk)
    for by in ("team", "channel", "agent_id"):
        _close(V.group_values(pdata, by), V.group_values(dk, by), [by])
    _close(O._coverage(pdata), O._coverage(dk), ["agent_id", "week"])
    _close(O._strictness(pdata), O._strictness(dk), ["reviewer_id"])
    O.coverage_figure(dk), O.coverage_table(dk), O.reviewers_figure(dk), O.reviewers_table(dk)
    la, lb = T.left_out_rows(pdata), T.left_out_rows(dk)
    assert la.astype(str).values.tolist() == lb.astype(str).values.tolist()
    # the IQS-CSAT sections: per-conversation IQS means from the engine
    import qakit.report.checks as KC
    assert V.iqs_csat_verdict(dk).text == V.iqs_csat_verdict(pdata).text
    assert V.iqs_csat_table(dk).frame.values.tolist() == V.iqs_csat_table(pdata).frame.values.tolist()
    assert repr(KC.survey_response_section(dk)) == repr(KC.survey_response_section(pdata))
    assert not dk.in_memory("scores")  # none of the above read the rows
    got = dk.scores  # a section that needs the rows reads them: pandas' frame
    assert dk.in_memory("scores")
    assert got["review_id"].astype(str).tolist() == pdata.scores["review_id"].astype(str).tolist()
    np.testing.assert_allclose(got["iqs"].to_numpy(float), pdata.scores["iqs"].to_numpy(float), rtol=0, atol=1e-9)
    assert got["passed"].astype(str).tolist() == pdata.scores["passed"].astype(str).tolist()
    assert got["failed_categories"].tolist() == pdata.scores["failed_categories"].tolist()
    # read or not, the sections keep asking the engine; scores set by hand replace what it kept
    assert D.scores_on_engine(dk) and isinstance(D.engine_table(dk, "scores"), str)
    dk.scores = got.head(5)
    assert not D.scores_on_engine(dk) and len(D.engine_table(dk, "scores")) == 5


def _copy(generated, tmp_path, **tables):
    """The generated dataset in ``tmp_path`` with some tables replaced (name -> frame, one Parquet file)."""
    import shutil

    shutil.copy(generated / "scorecard.yaml", tmp_path / "scorecard.yaml")
    for name in ("ratings", "conversations", "surveys"):
        if name in tables:
            (tmp_path / name).mkdir()
            tables[name].to_parquet(tmp_path / name / "part-0.parquet", index=False)
        else:
            shutil.copytree(generated / name, tmp_path / name)
    return tmp_path


@pytest.mark.slow
def test_engine_loader_refuses_bad_input_as_pandas_does(generated, tmp_path):
    """A duplicated rating and an infinite rating: the DuckDB loader refuses the
    table with the pandas loader's error (the same failures: columns, checks, counts, values, ids)."""
    from qakit.errors import DataValidationError

    r = pd.read_parquet(generated / "ratings")
    bad = pd.concat([r, r.iloc[[3]]], ignore_index=True)
    bad.loc[10, "rating"] = np.inf
    folder = _copy(generated, tmp_path, ratings=bad)
    errors = []
    for engine in ("pandas", "duckdb"):
        with pytest.raises(DataValidationError) as e:
            D.load_report_data(dataset=str(folder), engine=engine)
        errors.append(e.value.failures)
    pd.testing.assert_frame_equal(errors[0], errors[1])
    checks = errors[0]["check"].tolist()
    assert any(c.startswith("duplicate key") for c in checks) and "not a finite number (inf)" in checks


@pytest.mark.slow
def test_engine_loader_itemises_orphans_and_ids_as_pandas_does(generated, tmp_path):
    """Two reviews of a conversation missing from the conversations (an anti-join on DuckDB) and an
    agent id with a trailing space: the DuckDB loader leaves out and itemises the same reviews, and
    notes the same normalised id, as the pandas loader; the ratings are then read by pandas (rows left
    out, an id changed: not read in place), the conversations stay on the engine."""
    r = pd.read_parquet(generated / "ratings")
    ids = r["review_id"].drop_duplicates().iloc[[5, 9]]
    r.loc[r["review_id"].isin(ids), "conversation_id"] = "C-missing"
    r.loc[r["review_id"] == r["review_id"].iloc[40], "agent_id"] += " "
    folder = _copy(generated, tmp_path, ratings=r)
    pdata = D.load_report_data(dataset=str(folder))
    dk = D.load_report_data(dataset=str(folder), engine="duckdb")
    assert pdata.notes and [n["ids"] for n in pdata.notes] == [sorted(ids)]  # (the two reviews, by hand)
    assert [str(n) for n in dk.notes] == [str(n) for n in pdata.notes]
    assert dk.in_memory("ratings") and not dk.in_memory("conversations") and "ratings" not in dk.direct
    assert len(dk.ratings) == len(pdata.ratings) == len(r) - int(r["review_id"].isin(ids).sum())
    from qakit import schema as S
    la, lb = S.adjustments(pdata.ratings), S.adjustments(dk.ratings)
    assert len(la) and la.astype(str).values.tolist() == lb.astype(str).values.tolist()
    _close(V._agents(pdata), V._agents(dk), ["agent_id"])
@pytest.mark.slow
@pytest.mark.parametrize("parent_text", [False, True], ids=["both integer", "conversations as text"])
def test_engine_orphans_on_integer_keys_as_pandas_does(generated, tmp_path, parent_text):
    """Conversation ids stored as integers (Parquet int64, as warehouse exports store them): two
    reviews point at conversation 987654321, which the conversations do not hold. By hand: exactly
    those two reviews are left out, itemised by review id. DuckDB joins the integers as stored (both
    tables integer) or as text (the conversations store the same numbers as text): the same note as
    the pandas loader's, and the same IQS per agent."""
    r = pd.read_parquet(generated / "ratings")
    c = pd.read_parquet(generated / "conversations")
    sv = pd.read_parquet(generated / "surveys")
    code = {k: i + 1000 for i, k in enumerate(sorted(c["conversation_id"].unique()))}
    r["conversation_id"] = r["conversation_id"].map(code).astype("int64")
    c["conversation_id"] = c["conversation_id"].map(code).astype("int64")
    sv["conversation_id"] = sv["conversation_id"].map(code).astype("int64")
    ids = r["review_id"].drop_duplicates().iloc[[3, 7]]
    r.loc[r["review_id"].isin(ids), "conversation_id"] = 987654321
    if parent_text:
        c["conversation_id"] = c["conversation_id"].astype("str")
    folder = _copy(generated, tmp_path, ratings=r, conversations=c, surveys=sv)
    pdata = D.load_report_data(dataset=str(folder))
    dk = D.load_report_data(dataset=str(folder), engine="duckdb")
    assert [n["ids"] for n in pdata.notes] == [sorted(ids)]  # (the two reviews, by hand)
    assert [str(n) for n in dk.notes] == [str(n) for n in pdata.notes]
    assert len(dk.ratings) == len(pdata.ratings) == len(r) - int(r["review_id"].isin(ids).sum())
    _close(V._agents(pdata), V._agents(dk), ["agent_id"])


@pytest.mark.slow
def test_engine_review_order_on_integer_review_ids(generated, tmp_path):
    """Review and conversation ids stored as integers, nothing left out: the DuckDB loader keeps the
    ratings on the engine and puts the engine's review scores in the order pandas reads the files
    (each review at its first row; the bootstrap intervals resample rows by position) by joining
    the integers as stored: the same ids in the same order as the pandas loader, the same scores."""
    r = pd.read_parquet(generated / "ratings")
    c = pd.read_parquet(generated / "conversations")
    sv = pd.read_parquet(generated / "surveys")
    code = {k: i + 1000 for i, k in enumerate(sorted(c["conversation_id"].unique()))}
    for f in (r, c, sv):
        f["conversation_id"] = f["conversation_id"].map(code).astype("int64")
    rcode = {k: 10 ** 9 - i for i, k in enumerate(r["review_id"].unique())}  # (file order is not numeric order)
    r["review_id"] = r["review_id"].map(rcode).astype("int64")
    folder = _copy(generated, tmp_path, ratings=r, conversations=c, surveys=sv)
    pdata = D.load_report_data(dataset=str(folder))
    dk = D.load_report_data(dataset=str(folder), engine="duckdb")
    assert not dk.in_memory("ratings") and "ratings" in dk.direct
    assert dk.scores["review_id"].astype(str).tolist() == pdata.scores["review_id"].astype(str).tolist()
    np.testing.assert_allclose(dk.scores["iqs"].to_numpy(float), pdata.scores["iqs"].to_numpy(float), rtol=0,
                               atol=1e-9)


@pytest.mark.slow  # both engines over the generated dataset
def test_duckdb_conversation_sections_never_read_the_pandas_rows(generated):
    """The conversations read in place (every row used): the DuckDB report's conversation sections -
    SLA table, backlog, times by channel, KPI table, the first-response and SLA tiles, the CSAT
    column of the group table, the KPIs' exclusions, the CSV tables, the period in the title - come
    from the Parquet folder through the metric functions, not from the loader's pandas rows. The
    pandas rows are replaced by one wrong row (what r24's loader will no longer hold): every one of
    those numbers still equals the pandas report's (1e-9)."""
    pdata = D.load_report_data(dataset=str(generated))
    dk = D.load_report_data(dataset=str(generated), engine="duckdb")
    assert "conversations" in dk.direct
    one = dk.conversations.head(1).copy()
    one["created_at"] = one["created_at"] - pd.Timedelta(days=400)  # a row no number of the period has
    dk.conversations = one
    assert D.table_columns(dk, "conversations") == list(pd.read_parquet(generated / "conversations").columns)
    assert V.period_text(dk) == V.period_text(pdata) != "no dated rows"  # the first and last times from the engine
    _close(quiet(K.sla_attainment, pdata.conversations, min_n=0), T.conversation_kpi(dk, K.sla_attainment, min_n=0),
           ["priority"])
    assert V.sla_table(pdata).frame.values.tolist() == V.sla_table(dk).frame.values.tolist()
    _close(K.backlog(pdata.conversations, period="W"), T.conversation_kpi(dk, K.backlog, period="W"), ["period"])
    for a, b in zip(T.time_tables(pdata), T.time_tables(dk)):
        _close(a, b, ["channel"])
    assert V.time_table(pdata).frame.values.tolist() == V.time_table(dk).frame.values.tolist()
    assert V.kpi_table(pdata).frame.values.tolist() == V.kpi_table(dk).frame.values.tolist()
    ha, hb = T.headline(pdata, {}).set_index("metric"), T.headline(dk, {}).set_index("metric")
    for m in ("first_response_time", "sla_high"):
        np.testing.assert_allclose(hb.loc[m, ["n", "value", "ci_low", "ci_high"]].to_numpy(float),
                                   ha.loc[m, ["n", "value", "ci_low", "ci_high"]].to_numpy(float), rtol=0, atol=1e-9)
    def csat_by_channel(data):  # the CSAT columns per channel (the IQS columns come from the scores: r24's)
        t = V.group_table(data, by="channel").frame
        cols = [c for c in t.columns if c.startswith("CSAT")]
        return {r[t.columns[0]]: [r[c] for c in cols] for _, r in t.iterrows() if r[cols[0]] != ""}, cols

    (ga, ca), (gb, cb) = csat_by_channel(pdata), csat_by_channel(dk)
    assert ca == cb == ["CSAT answers", "CSAT (% satisfied)", "CSAT 95 % CI"] and len(ga) == 3 and ga == gb
    la, lb = T.left_out_rows(pdata), T.left_out_rows(dk)
    conv = la["table"].eq("conversations")
    assert la[conv].astype(str).values.tolist() == lb[lb["table"].eq("conversations")].astype(str).values.tolist()
    for name in ("kpis", "sla"):
        a, b = V.appendix_tables(pdata)[name], V.appendix_tables(dk)[name]
        _close(a, b, list(a.columns[:2]))


@pytest.mark.slow  # both engines over the generated dataset
def test_duckdb_survey_tiles_and_exclusions_read_the_surveys_in_place(generated, tmp_path):
    """The surveys read in place (as the loader does when the report uses every stored row), on the
    generated dataset with every 7th answer of one file without a score: the
    KPI table, the CSAT and NPS tiles and the surveys' lines of the data-quality list (the answers
    without a score, itemised) come from the Parquet folder - the pandas surveys replaced by one wrong
    row change nothing (1e-9 against the pandas report)."""
    import shutil

    shutil.copytree(generated, tmp_path / "d")
    part = tmp_path / "d" / "surveys" / "part-0.parquet"
    sv = pd.read_parquet(part)
    sv.loc[sv.index[::7], "score"] = np.nan
    sv.to_parquet(part, index=False)
    pdata = D.load_report_data(dataset=str(tmp_path / "d"))
    dk = D.load_report_data(dataset=str(tmp_path / "d"), engine="duckdb")
    assert len(pdata.surveys) == len(pd.read_parquet(tmp_path / "d" / "surveys"))  # every stored row used
    dk.direct["surveys"] = tmp_path / "d" / "surveys"
    one = dk.surveys.head(1).copy()
    one["score"] = np.nan
    dk.surveys = one
    _close(T.report_kpis(pdata), T.report_kpis(dk), ["kpi"])
    _same_tiles(pdata, dk, ("csat", "nps"))
    la, lb = T.left_out_rows(pdata), T.left_out_rows(dk)
    sa, sb = la[la["table"].eq("surveys")], lb[lb["table"].eq("surveys")]
    blank = int(sv["score"].isna().sum())
    assert sa["n"].sum() == blank > 0  # each answer without a score itemised under its KPI
    assert sa.astype(str).values.tolist() == sb.astype(str).values.tolist()


def test_engine_loader_stamping_and_repr_read_nothing(generated):
    """The loader's result is stamped with its record by ``@public`` (which walks the dataclass's
    fields) and may be shown (``repr``): neither reads a table the engine checked in place."""
    dk = D.load_report_data(dataset=str(generated), engine="duckdb")
    assert not dk.in_memory("ratings") and not dk.in_memory("conversations")
    text = repr(dk)
    assert "ReportData(" in text and not dk.in_memory("ratings") and not dk.in_memory("conversations")


def test_coaching_grid_without_a_team_reads_no_table(generated, tmp_path):
    """The coaching grid of a dataset without a ``team`` (the generated one, its conversations' team
    dropped) runs on the engine: the loader's deferred ratings and conversations stay unread (before,
    the grid read the ratings whole to look for a team to join), and the grid equals the pandas one."""
    conv = pd.read_parquet(generated / "conversations").drop(columns="team")
    folder = _copy(generated, tmp_path, conversations=conv)
    pdata = D.load_report_data(dataset=str(folder))
    dk = D.load_report_data(dataset=str(folder), engine="duckdb")
    assert "team" not in D.table_columns(dk, "ratings") + D.table_columns(dk, "conversations")
    got = T.coaching_table(dk)
    assert not dk.in_memory("ratings") and not dk.in_memory("conversations")
    _close(T.coaching_table(pdata), got, ["agent_id", "category"])


def test_data_quality_list_reads_no_table_left_on_the_engine(generated):
    """The data-quality list (every row left out or changed) of a DuckDB report whose tables the engine
    checked in place reads neither of them (they changed nothing when checked, so they have no read
    adjustments: the 100M-rating report read the ratings whole here before), and equals the pandas list."""
    pdata = D.load_report_data(dataset=str(generated))
    dk = D.load_report_data(dataset=str(generated), engine="duckdb")
    got = T.left_out_rows(dk)
    V.data_quality(dk)
    assert not dk.in_memory("ratings") and not dk.in_memory("conversations")
    want = T.left_out_rows(pdata)
    assert got.astype(str).values.tolist() == want.astype(str).values.tolist()


@pytest.mark.slow  # both engines over the generated dataset
def test_group_table_joins_the_group_on_the_engine(generated):
    """The group table's IQS per channel, team and priority (columns of the conversations, not of the
    scores) on DuckDB: the group joined to the review scores on the engine, so neither table is read
    into pandas (the 100M-rating report read the 30M conversations whole here), and every number -
    n, IQS, interval, pass rate, CSAT - equals the pandas report's (1e-9). The pandas side is the
    independent reference: ``with_conversation_columns`` (a pandas merge) then ``iqs_score`` on pandas."""
    pdata = D.load_report_data(dataset=str(generated))
    dk = D.load_report_data(dataset=str(generated), engine="duckdb")
    for by in ("channel", "team", "priority"):
        assert by not in dk.scores.columns
        want, got = V.group_values(pdata, by), V.group_values(dk, by)
        assert len(want) >= 3 and got[by].tolist() == want[by].tolist()
        _close(want, got, [by])
    assert not dk.in_memory("ratings") and not dk.in_memory("conversations")
    assert "By channel." in V.group_table(dk, by="channel")._repr_html_()


@pytest.mark.slow  # the report's cells twice over the sample
def test_duckdb_report_on_the_sample_reads_as_the_pandas_report():
    """Every cell of the report notebook run on the bundled sample with ``engine="pandas"`` and with
    ``engine="duckdb"`` (which keeps the review scores in a file beside DuckDB and reads the Parquet
    tables in place): every text the report shows -- tiles, tables, verdicts, notes -- is the same,
    but for the title line and the "How computed" line that name the engine; figures are compared by
    their titles and tick labels. The DuckDB run reads neither the review scores nor the ratings into
    pandas."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    src = (root / "notebooks" / "src" / "report.py").read_text()
    cells = [c.strip() for c in re.split(r"^# %%.*$", src, flags=re.M)[1:] if c.strip()]
    params = "\n".join(l for l in cells[0].splitlines() if not l.startswith("# %include"))

    def shown(value) -> str:
        if value is None:
            return ""
        axes = getattr(value, "axes", None)
        if axes is not None and not isinstance(value, pd.DataFrame):  # a figure: its words, not its pixels
            return repr([(ax.get_title(loc="left"), ax.get_title(), [t.get_text() for t in ax.get_yticklabels()],
                          [t.get_text() for t in ax.get_xticklabels()]) for ax in axes])
        return repr(value)

    def run(engine: str) -> tuple[list[str], object]:
        ns: dict = {}
        exec((root / "notebooks" / "src" / "_data_parameters.py").read_text(), ns)
        exec(params, ns)
        ns.update(dataset="sample", engine=engine)
        out = []
        for code in cells[1:]:
            tree = ast.parse(code)
            last = tree.body[-1] if tree.body else None
            if isinstance(last, ast.Expr):
                exec(compile(ast.Module(tree.body[:-1], []), "<cell>", "exec"), ns)
                out.append((code, shown(eval(compile(ast.Expression(last.value), "<cell>", "eval"), ns))))
            else:
                exec(compile(tree, "<cell>", "exec"), ns)
        return out, ns["data"]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, _ = run("pandas")
        b, dk = run("duckdb")
    assert [c for c, _ in a] == [c for c, _ in b]
    differ = [c for (c, x), (_, y) in zip(a, b) if x != y]
    assert differ == ["V.title(data)", "V.left_out(data)"], differ  # (the engine's name; "How computed")
    (_, ta), (_, tb) = a[[c for c, _ in a].index("V.title(data)")], b[[c for c, _ in b].index("V.title(data)")]
    assert tb.replace(" Computed with duckdb.", "") == ta and tb != ta
    (_, la), (_, lb) = a[[c for c, _ in a].index("V.left_out(data)")], b[[c for c, _ in b].index("V.left_out(data)")]
    assert la == "all sections present" and lb.startswith("How computed: engine duckdb; review scores: DuckDB")
    assert D.scores_on_engine(dk) and not dk.in_memory("scores")
    assert not dk.in_memory("ratings")  # (the automatic-scoring section too: the sample has messages)


def _csat_line(fig):
    """The CSAT line of the trend figure: its x (period starts) and y values."""
    line = next(l for l in fig.axes[0].get_lines() if l.get_label().startswith("CSAT"))
    return pd.to_datetime(pd.Series(line.get_xdata())).tolist(), np.asarray(line.get_ydata(), dtype=float), line.get_label()


@pytest.mark.slow  # both engines over the generated dataset
@pytest.mark.parametrize("variant", ["as generated", "no agent_id, invitations, undated answers"])
def test_duckdb_report_keeps_the_surveys_on_the_engine(generated, tmp_path, variant):
    """With DuckDB the loader checks the surveys in place as it does the ratings and conversations, and
    the sections that use them -- the KPI table and tiles, each agent's CSAT, the CSAT trend, the
    IQS-CSAT verdict and table, scorecard health's r with CSAT, the fair comparison, the data-quality
    list -- read no survey row into pandas and give the pandas report's numbers (1e-9). The second
    variant drops the answers' agent_id (each agent's CSAT then joins the conversations' agent on the
    engine), leaves every 5th CSAT invitation unanswered and takes the time off every 4th answer (the
    trend places it by its conversation's created_at on the engine: the same points and the same
    count in the legend as pandas)."""
    import qakit.report.checks as KC
    import qakit.report.quality as Q
    from qakit import schema as S

    folder = generated
    if variant != "as generated":
        sv = pd.read_parquet(generated / "surveys").drop(columns="agent_id")
        csat = sv.index[sv["kind"].eq("csat")]
        sv.loc[csat[::5], "score"] = np.nan
        sv.loc[sv.index[1::4], "answered_at"] = pd.NaT
        folder = _copy(generated, tmp_path, surveys=sv)
    pdata = D.load_report_data(dataset=str(folder))
    dk = D.load_report_data(dataset=str(folder), engine="duckdb")
    assert not dk.in_memory("surveys") and "surveys" in dk.direct
    assert "survey KPIs: DuckDB read surveys directly" in "; ".join(dk.engine_notes)
    _close(T.report_kpis(pdata), T.report_kpis(dk), ["kpi"])
    _same_tiles(pdata, dk, ("csat", "nps"))
    aa, ab = V._agents(pdata), V._agents(dk)
    _close(aa, ab, ["agent_id"])
    assert (ab["csat_n"] > 0).sum() > 60  # (each agent's CSAT is there, not left empty)
    assert S.exclusions(aa)[["reason", "n"]].values.tolist() == S.exclusions(ab)[["reason", "n"]].values.tolist()
    xa, ya, label_a = _csat_line(V.trend_figure(pdata))
    xb, yb, label_b = _csat_line(V.trend_figure(dk))
    assert xa == xb and label_a == label_b
    np.testing.assert_allclose(yb, ya, rtol=0, atol=1e-9)
    assert ("undated answers placed by their conversation" in label_a) == (variant != "as generated")
    assert V.iqs_csat_verdict(dk).text == V.iqs_csat_verdict(pdata).text
    assert V.iqs_csat_table(dk).frame.values.tolist() == V.iqs_csat_table(pdata).frame.values.tolist()
    _close(Q.health_result(pdata).categories, Q.health_result(dk).categories, ["category"])
    KC.prepare_checks(pdata), KC.prepare_checks(dk)
    assert dk.checks["invitations"] == pdata.checks["invitations"] == (variant != "as generated")
    assert repr(KC.fair_comparison_section(dk)) == repr(KC.fair_comparison_section(pdata))
    la, lb = T.left_out_rows(pdata), T.left_out_rows(dk)
    assert la.astype(str).values.tolist() == lb.astype(str).values.tolist()
    assert not dk.in_memory("surveys") and not dk.in_memory("conversations") and not dk.in_memory("ratings")
    # the survey response section (unanswered invitations listed) still reads the surveys: the same numbers
    assert repr(KC.survey_response_section(dk)) == repr(KC.survey_response_section(pdata))
