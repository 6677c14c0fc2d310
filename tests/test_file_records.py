"""A table written by qakit keeps its record (the rows its loader left out or changed) in the Parquet
file's metadata, and every engine that reads the file carries it: pandas (which reads back only the
first file of a folder), DuckDB and Polars reading the files in place. Before, the DuckDB report on
a folder written by ``read_export(...).write`` (or any table a qakit loader made) dropped the
loader's itemised rows from its data-quality table, where the pandas report listed them.

Also here: a report whose ratings (or surveys) match no conversation at all is refused by name on
both engines (it was a raw ``NaTType does not support strftime`` from pandas for the ratings), and
the QA-process sections itemise review ids in id order on both engines (an engine's scan has no row
order: the example ids shown changed from run to run).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import qakit.kpis as K
import qakit.report.data as D
import qakit.report.operations as O
import qakit.report.tiles as T
from qakit import ops
from qakit import records as R
from qakit import schema as S
from qakit.errors import ParameterError

CARD = """name: Two categories
categories:
  - {name: Tone, scale: binary, weight: 1}
  - {name: Solution, scale: binary, weight: 3}
"""


def _conversations(ids: list[str], minutes: list[float | None]) -> pd.DataFrame:
    created = pd.Timestamp("2026-11-02 10:00", tz="UTC")
    return pd.DataFrame({
        "conversation_id": ids, "customer_id": [f"u{i}" for i in range(len(ids))], "agent_id": "a1", "channel": "chat",
        "priority": "normal", "status": "open", "created_at": created,
        "first_response_at": [created + pd.Timedelta(minutes=m) if m is not None else pd.NaT for m in minutes],
        "resolved_at": pd.Series(pd.NaT, index=range(len(ids)), dtype="datetime64[ns, UTC]")})


def _folder(tmp_path):
    """Two part files of one conversations table, each with its loader's record: part a left out
    ``x1`` upstream, part b left out ``x2, x3`` and normalised ``c5``'s id."""
    folder = tmp_path / "conversations"
    folder.mkdir()
    a = _conversations(["c1", "c2", "c3"], [10, 20, None])
    R.add_exclusion(a, "duplicate ticket in the export", "ticket_id", ["x1"], source="load_x")
    a.to_parquet(folder / "part-a.parquet", index=False)
    b = _conversations(["c4", "c5"], [30, 40])
    R.add_exclusion(b, "duplicate ticket in the export", "ticket_id", ["x2", "x3"], source="load_x")
    R.add_adjustment(b, "ticket id trimmed", "conversation_id", ["c5"], source="load_x")
    b.to_parquet(folder / "part-b.parquet", index=False)
    return folder


def _entries(result, key=R.EXCLUDED_KEY) -> set[tuple]:
    frame = S.exclusions(result) if key == R.EXCLUDED_KEY else S.adjustments(result)
    return {(r["reason"], tuple(sorted(r["row_ids"]))) for _, r in frame.iterrows()}


def test_parquet_record_merges_every_file_of_a_folder(tmp_path):
    folder = _folder(tmp_path)
    rec = R.parquet_record([folder])
    assert rec.n_rows(R.EXCLUDED_KEY) == 3 and rec.ids() == {"x1", "x2", "x3"}
    assert rec.ids(R.ADJUSTED_KEY) == {"c5"}
    assert pd.read_parquet(folder).attrs["qakit"]["excluded"][0]["row_ids"] == ["x1"]  # (pandas: the first file's only)
    plain = tmp_path / "plain.parquet"
    _conversations(["c1"], [5]).to_parquet(plain)
    assert R.parquet_record([plain]) is None
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    assert R.parquet_record([tmp_path / "broken.parquet"]) is None  # (the read itself names an unreadable file)


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "polars"])
def test_every_engine_carries_the_record_stored_with_the_files(tmp_path, engine):
    """First response time of the folder: 10, 20, 30, 40 minutes answered (c3 not yet): median 25 min
    (0.41667 h), mean 25 min, p90 linear 37 min; the KPI's own exclusion (c3) plus both files' loader
    records, on every engine."""
    folder = _folder(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = K.first_response_time(folder, engine=engine, min_n=0)
    assert int(r[S.N].iloc[0]) == 4
    np.testing.assert_allclose(r[["first_response_time", "first_response_time_mean", "first_response_time_p90"]]
                               .to_numpy(float)[0], [25 / 60, 25 / 60, 37 / 60], rtol=1e-12)
    assert _entries(r) == {("no first response yet", ("c3",)), ("duplicate ticket in the export", ("x1",)),
                           ("duplicate ticket in the export", ("x2", "x3"))}
    assert ("ticket id trimmed", ("c5",)) in _entries(r, R.ADJUSTED_KEY)


def _dataset(tmp_path, *, loader_record: bool = True, conversation_ids=None):
    """A report folder: 4 reviews (r1-r4) of 2 agents by 2 reviewers; r4 has no reviewed_at (not placed
    in a week by coverage), r3's agent was only reviewed by one reviewer. The ratings' loader left
    out review ``r9`` upstream (stored in ratings.parquet's metadata)."""
    d = tmp_path / "data"
    d.mkdir()
    t = pd.Timestamp("2026-11-03 12:00", tz="UTC")
    rows = []
    for rid, agent, reviewer, tone, sol, when in (("r2", "a1", "q1", 1, 1, t), ("r1", "a1", "q2", 0, 1, t),
                                                  ("r3", "a2", "q1", 1, 0, t), ("r4", "a1", "q1", 1, 1, pd.NaT)):
        for cat, val in (("Tone", tone), ("Solution", sol)):
            rows.append({"review_id": rid, "conversation_id": f"c{rid[1:]}", "agent_id": agent, "reviewer_id": reviewer,
                         "reviewed_at": when, "category": cat, "rating": float(val)})
    ratings = pd.DataFrame(rows)
    if loader_record:
        R.add_exclusion(ratings, "review deleted in the QA tool", "is_deleted", ["r9"], source="load_x")
    ratings.to_parquet(d / "ratings.parquet", index=False)
    (d / "scorecard.yaml").write_text(CARD)
    if conversation_ids is not None:
        _conversations(conversation_ids, [5] * len(conversation_ids)).to_parquet(d / "conversations.parquet", index=False)
    return d


def test_duckdb_report_itemises_what_the_files_loader_left_out(tmp_path):
    """IQS by hand (binary, weights 1 and 3): r1 = 3/4 = 75, r2 = r4 = 100, r3 = 1/4 = 25 -> IQS 75.
    Both engines: the same headline, and the same left-out rows -- the loader's ``r9`` under review
    scores and under the QA-process sections built on them, coverage's undated ``r4``, strictness'
    lone reviews in id order (the engine's scan has no row order)."""
    d = _dataset(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pdata = D.load_report_data(dataset=str(d))
        dk = D.load_report_data(dataset=str(d), engine="duckdb")
        assert D.scores_on_engine(dk)
        for data in (pdata, dk):
            h = T.headline(data, {}).set_index("metric")
            assert h.loc["iqs", "value"] == pytest.approx(75.0, abs=1e-9) and int(h.loc["iqs", "n"]) == 4
        la, lb = T.left_out_rows(pdata), T.left_out_rows(dk)
        qa, qb = O.data_quality(pdata).frame, O.data_quality(dk).frame
    assert la.astype(str).values.tolist() == lb.astype(str).values.tolist()
    assert ("review scores", "review deleted in the QA tool", "r9") in {
        (r["used for"], r["reason"], r["example ids"]) for _, r in la.iterrows()}
    assert qa.astype(str).values.tolist() == qb.astype(str).values.tolist()
    got = {(r["Used for"], r["Reason"]): r["Example ids"] for _, r in qb.iterrows()}
    assert got[("review coverage", "review without reviewed_at or agent_id: not placed in a week")] == "r4"
    assert got[("review coverage", "review deleted in the QA tool")] == "r9"
    assert got[("reviewer strictness", "review deleted in the QA tool")] == "r9"


def test_qa_process_sections_itemise_review_ids_in_id_order():
    """Coverage and strictness list the reviews they leave out sorted by id, whatever the frame's order."""
    t = pd.Timestamp("2026-11-03", tz="UTC")
    scores = pd.DataFrame({"review_id": ["r9", "r2", "r5", "r1"], "agent_id": ["a1", "a1", "a2", "a3"],
                           "reviewer_id": ["q1", "q2", "q1", "q1"], "iqs": [50.0, 80.0, 90.0, 70.0],
                           "reviewed_at": [pd.NaT, t, pd.NaT, t]})
    cov = ops.review_coverage(scores, plan=1)
    assert S.exclusions(cov)["row_ids"].iloc[0] == ("r5", "r9")
    st = ops.reviewer_strictness(scores, min_n=0)
    alone = S.exclusions(st).set_index("reason").loc[ops.ALONE, "row_ids"]
    assert alone == ("r1", "r5")  # (a2 and a3 were reviewed by q1 only; a1 by both)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_ratings_that_match_no_conversation_are_refused_by_name(tmp_path, engine):
    d = _dataset(tmp_path, loader_record=False, conversation_ids=["T-1", "T-2"])
    with pytest.raises(ParameterError, match=r"ratings: none of the 8 rows' conversation_id is in the conversations "
                                             r"table \(e\.g\. 'c2', 'c1', 'c3'; the conversations have e\.g\. 'T-1', 'T-2'\)"):
        D.load_report_data(dataset=str(d), engine=engine)


def test_some_orphan_ratings_are_left_out_and_itemised_not_refused(tmp_path):
    d = _dataset(tmp_path, loader_record=False, conversation_ids=["c1", "c2", "c4"])
    data = D.load_report_data(dataset=str(d))
    assert sorted(data.scores["review_id"]) == ["r1", "r2", "r4"]
    note = [n for n in data.notes if n["reason"].startswith("conversation_id not in the conversations table")]
    assert note and note[0]["ids"] == ["r3"]


def test_fed_real_ratings_report_the_same_on_both_engines(shared_data, tmp_path):
    """The real FED ratings (dialogue level, 5 annotators; ``qakit.realdata.load_fed``) written as a
    qakit loader writes them: the loader's record (free-text answers read as N/A) is in the file. The
    DuckDB report keeps the scores on the engine and gives the pandas report's headline, agent table and
    both data-quality tables, the loader's 167 rows included."""
    from qakit.realdata import load_fed

    fed = load_fed(shared_data)
    dlg = fed[fed["level"].eq("dialog") & fed["category"].ne("Overall")].drop(columns="level")
    d = tmp_path / "fed"
    d.mkdir()
    dlg.to_parquet(d / "ratings.parquet", index=False)
    cats = sorted(dlg["category"].unique())
    (d / "scorecard.yaml").write_text("name: FED\ncategories:\n" + "".join(
        f"  - {{name: {c}, scale: {{min: 0, max: {1 if c == 'Consistent' else 2}}}, weight: 1}}\n" for c in cats))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pdata = D.load_report_data(dataset=str(d))
        dk = D.load_report_data(dataset=str(d), engine="duckdb")
        ha, hb = T.headline(pdata, {}).set_index("metric"), T.headline(dk, {}).set_index("metric")
        np.testing.assert_allclose(hb.loc["iqs", ["n", "value", "ci_low", "ci_high"]].to_numpy(float),
                                   ha.loc["iqs", ["n", "value", "ci_low", "ci_high"]].to_numpy(float), rtol=0, atol=1e-9)
        la, lb = T.left_out_rows(pdata), T.left_out_rows(dk)
        qa, qb = O.data_quality(pdata).frame, O.data_quality(dk).frame
    assert la.astype(str).values.tolist() == lb.astype(str).values.tolist()
    assert qa.astype(str).values.tolist() == qb.astype(str).values.tolist()
    # the free-text answers counted in the raw file itself (strings among the annotators' ratings)
    raw = json.loads((shared_data / "fed-dialog-quality" / "fed_data.json").read_text())
    free = sum(isinstance(v, str) for item in raw for vals in item.get("annotations", {}).values() for v in vals)
    for table in (la, qb.rename(columns={"Reason": "reason", "n": "n"})):
        na = table[table["reason"].str.startswith("free-text answer")]
        assert len(na) >= 1 and set(na["n"].astype(int)) == {free}
    assert not dk.in_memory("scores") and not dk.in_memory("ratings")


def test_each_kpi_result_carries_only_its_own_tables_records():
    """``kpi_results``: the conversations' loader record reaches the conversation KPIs, the surveys'
    the survey KPIs -- not each other's (a survey left out upstream is not a row the first response
    time left out). CSAT by hand: answers 5, 4, 2 on a 1-5 scale, satisfied = 4-5: 2/3."""
    conv = _conversations(["c1", "c2", "c3"], [10, 20, 30])
    R.add_exclusion(conv, "ticket merged upstream", "ticket_id", ["m1"], source="load_x")
    sv = pd.DataFrame({"conversation_id": ["c1", "c2", "c3"], "kind": "csat", "score": [5.0, 4.0, 2.0],
                       "answered_at": pd.Timestamp("2026-11-02 12:00", tz="UTC")})
    R.add_exclusion(sv, "survey answer without a ticket", "ticket_id", ["s9"], source="load_x")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = K.kpi_results(conv, sv)
    assert r["csat"]["csat"].iloc[0] == pytest.approx(200 / 3, abs=1e-9)
    assert _entries(r["csat"]) == {("survey answer without a ticket", ("s9",))}
    for kpi in ("first_response_time", "resolution_time", "fcr_rate"):
        reasons = {e[0] for e in _entries(r[kpi])}
        assert "ticket merged upstream" in reasons and "survey answer without a ticket" not in reasons, kpi


def test_maia_real_chats_report_the_same_on_both_engines(shared_data, tmp_path):
    """The real MAIA-DQE chats (messages) and their human labels (ratings; ``qakit.realdata.load_maia``)
    as a qakit loader writes them. The loader's record holds exclusions (dialogues repeated across
    subsets) and an adjustment (a task-success label off its 1-5 scale, set to N/A): the DuckDB report,
    which checks the ratings in place and reads neither them nor the scores, lists both exactly as the
    pandas report does ("kept, changed when read"), and gives the same IQS and automatic-scoring table."""
    from qakit.realdata import load_maia
    import qakit.report.operations as OP

    m = load_maia(shared_data)
    d = tmp_path / "maia"
    d.mkdir()
    m["ratings"].to_parquet(d / "ratings.parquet", index=False)
    m["messages"].to_parquet(d / "messages.parquet", index=False)
    (d / "scorecard.yaml").write_text("name: MAIA\ncategories:\n"
                                      "  - {name: Politeness, scale: binary, weight: 1}\n"
                                      "  - {name: Understanding, scale: binary, weight: 1}\n"
                                      "  - {name: Sensibleness, scale: binary, weight: 1, critical: true}\n"
                                      "  - {name: Task success, scale: 5, weight: 2}\n")
    adjusted = S.adjustments(m["ratings"])
    assert len(adjusted) >= 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pdata = D.load_report_data(dataset=str(d))
        dk = D.load_report_data(dataset=str(d), engine="duckdb")
        for data in (pdata, dk):
            D.load_optional_tables(data, dataset=str(d))  # (the messages)
        ha, hb = T.headline(pdata, {}).set_index("metric"), T.headline(dk, {}).set_index("metric")
        la, lb = T.left_out_rows(pdata), T.left_out_rows(dk)
        va, vb = OP.aqs_iqs_table(pdata).frame, OP.aqs_iqs_table(dk).frame
    np.testing.assert_allclose(hb.loc["iqs", ["n", "value", "ci_low", "ci_high"]].to_numpy(float),
                               ha.loc["iqs", ["n", "value", "ci_low", "ci_high"]].to_numpy(float), rtol=0, atol=1e-9)
    assert la.astype(str).values.tolist() == lb.astype(str).values.tolist()
    changed = lb[lb["used for"].eq("kept, changed when read")]
    assert set(changed["reason"]) == set(adjusted["reason"])
    assert len(va) == 2 and va.astype(str).values.tolist() == vb.astype(str).values.tolist()
    # MAIA names two agents (its clients): two points always lie on a line, so no correlation is shown
    title = OP.aqs_iqs_figure(dk).axes[0].get_title(loc="left")
    assert title.endswith("across agents no r: 2 agents (4 needed)"), title
    assert not dk.in_memory("ratings") and not dk.in_memory("scores")
