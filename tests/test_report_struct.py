"""Issue 15's report structure: the sections split (loading / analysis / display, the old module a
deprecated shim), the card the report used (TUNED banner), the rolling window ``last_days`` and the
DuckDB report (issue 17 point 2) giving the pandas report's numbers."""

from __future__ import annotations

import dataclasses
import importlib
import shutil
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import qakit.report.tiles as H
import qakit.report.data as D
import qakit.report.views as V
from qakit import datasets
from qakit.errors import ParameterError

ROLL = 28
#: the sample's latest row (of any table) is on 30 Oct 2026: the last 28 days are 3-30 Oct, the 28 before 5 Sep - 2 Oct
WINDOW = (pd.Timestamp("2026-10-03", tz="UTC"), pd.Timestamp("2026-10-31", tz="UTC"))
BEFORE = (pd.Timestamp("2026-09-05", tz="UTC"), pd.Timestamp("2026-10-03", tz="UTC"))


@pytest.fixture(scope="module")
def rolling():
    return D.load_report_data(last_days=ROLL)


@pytest.fixture(scope="module")
def rolling_head(rolling):
    return H.headline(rolling, {})


# --- the split ------------------------------------------------------------------------------------
def test_no_report_function_is_defined_twice():
    """The functions of the report modules are defined in one module each (imports aside)."""
    mods = ["qakit.report.data", "qakit.report.tiles", "qakit.report.views", "qakit.report.study"]
    where: dict[str, list[str]] = {}
    for m in mods:
        mod = importlib.import_module(m)
        for name, obj in vars(mod).items():
            if callable(obj) and getattr(obj, "__module__", "") == m and not name.startswith("_"):
                where.setdefault(name, []).append(m)
    # the study notebooks' and the report's displays of one thing share a name, not code
    same_name = {k: v for k, v in where.items() if len(v) > 1}
    assert set(same_name) <= {"time_table", "sla_table", "backlog_figure", "iqs_csat_table", "costly_customers",
                              "customer_value_figure", "coaching_focus", "agent_table", "data_quality"}, same_name


def test_coaching_table_by_hand():
    """An agent's category score is the mean of their ratings' category scores, the team score the
    mean over the agent's team; gap and focus follow (plain pandas on the sample)."""
    data = D.load_report_data()
    t = H.coaching_table(data)
    rows = data.card.category_rows(data.ratings)
    rows = rows.merge(data.conversations[["conversation_id", "team"]], on="conversation_id", how="left")
    rated = rows[rows["category_score"].notna()]
    agent = sorted(rated["agent_id"].unique())[3]
    cat = data.card.category_names[0]
    mine = rated[(rated["agent_id"] == agent) & (rated["category"] == cat)]["category_score"]
    team_of = rows.loc[rows["agent_id"] == agent, "team"].iloc[0]
    team = rated[(rated["team"] == team_of) & (rated["category"] == cat)]["category_score"]
    r = t[(t["agent_id"] == agent) & (t["category"] == cat)].iloc[0]
    assert r["n"] == len(mine)
    assert r["category_score"] == pytest.approx(mine.mean(), abs=1e-9)
    assert r["team_score"] == pytest.approx(team.mean(), abs=1e-9)
    assert r["gap"] == pytest.approx(mine.mean() - team.mean(), abs=1e-9)
    assert bool(r["focus"]) == bool(r["ci_high"] < team.mean())
    assert (t["focus"] == (t["ci_high"] < t["team_score"])).all()


def test_left_out_rows_are_the_same_with_and_without_the_other_tables(tmp_path):
    """One review rated N/A in every category: the ratings-only folder and the full folder list it
    alike (one line, that review's id), the full folder with the conversation KPIs' lines too."""
    src = datasets.sample_data_dir()
    r = pd.read_parquet(src / "ratings.parquet")
    gone = sorted(r["review_id"].unique())[5]
    r.loc[r["review_id"] == gone, "rating"] = np.nan
    for name, extra in (("only", ()), ("full", ("conversations.parquet", "surveys.parquet"))):
        (tmp_path / name).mkdir()
        r.to_parquet(tmp_path / name / "ratings.parquet")
        for f in ("scorecard.yaml", *extra):
            shutil.copy(src / f, tmp_path / name / f)
    only = H.left_out_rows(D.load_report_data(dataset=str(tmp_path / "only")))
    full = H.left_out_rows(D.load_report_data(dataset=str(tmp_path / "full")))
    assert len(only) == 1 and only.iloc[0]["n"] == 1 and only.iloc[0]["example ids"] == gone
    assert only.iloc[0]["table"] == "ratings" and only.iloc[0]["used for"] == "review scores"
    pd.testing.assert_frame_equal(only, full[full["table"].eq("ratings")].reset_index(drop=True), check_dtype=False)
    # surveys: the sample's unanswered CSAT invitations, itemised as answers without a score (issue 26)
    assert set(full["table"]) == {"ratings", "conversations", "surveys"}
    assert full[full["table"].eq("surveys")]["reason"].str.contains("without a score|not answered").all()


# --- rolling window -----------------------------------------------------------------------------------
def test_last_days_covers_the_last_whole_days_and_compares_with_the_days_before(rolling, rolling_head):
    """n and IQS of the window and of the 28 days before, counted from the ratings file by hand."""
    scores = datasets.load_sample_scorecard().score(pd.read_parquet(datasets.sample_data_dir() / "ratings.parquet"))
    folder = datasets.sample_data_dir()
    last = max(pd.read_parquet(folder / f"{t}.parquet")[c].max() for t, c in (
        ("ratings", "reviewed_at"), ("conversations", "created_at"), ("surveys", "answered_at")))
    assert pd.Timestamp(last).tz_convert("UTC").normalize() == pd.Timestamp("2026-10-30", tz="UTC")  # the latest row of any table
    cur = scores[(scores["reviewed_at"] >= WINDOW[0]) & (scores["reviewed_at"] < WINDOW[1])]
    old = scores[(scores["reviewed_at"] >= BEFORE[0]) & (scores["reviewed_at"] < BEFORE[1])]
    assert rolling.start == WINDOW[0] and rolling.previous["start"] == BEFORE[0]
    iqs = rolling_head.set_index("metric").loc["iqs"]
    assert iqs["n"] == cur["iqs"].notna().sum()
    assert iqs["value"] == pytest.approx(cur["iqs"].mean(), abs=1e-9)
    assert iqs["previous"] == pytest.approx(old["iqs"].mean(), abs=1e-9)
    assert iqs["change"] == pytest.approx(cur["iqs"].mean() - old["iqs"].mean(), abs=1e-9)


def test_last_days_equals_the_same_fixed_period(rolling_head):
    fixed = H.headline(D.load_report_data(start="2026-10-03", end="2026-10-30"), {})
    pd.testing.assert_frame_equal(rolling_head, fixed)


def test_without_a_period_the_tiles_say_how_to_get_a_comparison():
    data = D.load_report_data()
    head = H.headline(data, {})
    tiles, summary = V.tiles(data, head), V.summary(data, head)
    # said once, in the summary above the tiles; the tiles carry no change line then
    assert "previous" not in tiles.markup and len(head) == 6
    assert summary.text.count("no previous period") == 1
    assert "There is no previous period to compare with: the report covers all the data." in summary.text
    assert "-p last_days 28" in summary.text


@pytest.mark.parametrize("value, message", [
    (-1, r"^last_days must be a whole number of days >= 0 \(0 = all data\); got -1$"),
    (2.5, r"^last_days must be a whole number of days >= 0 \(0 = all data\); got 2.5$"),
    ("7", r"^last_days must be a whole number of days >= 0 \(0 = all data\); got '7'$"),
    (True, r"^last_days must be a whole number of days >= 0 \(0 = all data\); got True$"),
])
def test_last_days_refuses_bad_values(value, message):
    with pytest.raises(ParameterError, match=message):
        D.load_report_data(last_days=value)


def test_last_days_refuses_a_start_and_engine_an_unknown_name():
    with pytest.raises(ParameterError, match=r"^last_days cannot be combined with start \(2026-10-01\)"):
        D.load_report_data(last_days=7, start="2026-10-01")
    with pytest.raises(ParameterError, match=r"^engine must be one of pandas, duckdb; got 'spark'$"):
        D.load_report_data(engine="spark")


# --- the card ------------------------------------------------------------------------------------------
def test_title_names_the_card_and_a_tuned_card_gets_a_red_banner(rolling):
    t = V.title(rolling)
    assert "Scorecard: Sample support scorecard, version 2026.1." in t.text
    assert 'class="qakit-tuned"' not in t.markup and "TUNED" not in t.text
    tuned = dataclasses.replace(rolling, card=dataclasses.replace(
        rolling.card, name="Sample support scorecard (TUNED 2026.1-tuned-2026-11-27, not the production card)"))
    t = V.title(tuned)
    banner = "TUNED card 2026.1-tuned-2026-11-27, based on 2026.1: not the production card"
    assert t.markup.index(f'<div class="qakit-tuned" role="alert">{banner}</div>') < t.markup.index("<h1")
    assert 'data-qakit-title="[TUNED card] QA and KPI report:' in t.markup
    # the explorer's based_on key (the card's own version is then the tuned one)
    based = dataclasses.replace(rolling, card=SimpleNamespace(name="Sample support scorecard", version="2026.2-t",
                                                              based_on="2026.1"))
    assert V.tuned_banner_text(based) == "TUNED card 2026.2-t, based on 2026.1: not the production card"
    assert "Scorecard: Sample support scorecard, version 2026.2-t." in V.title(based).text


# --- DuckDB -------------------------------------------------------------------------------------------------
@pytest.mark.slow  # the whole report on the DuckDB engine and on pandas
@pytest.mark.parametrize("kw", [{}, {"last_days": ROLL}], ids=["all data: Parquet read by DuckDB", "rolling window"])
def test_duckdb_report_numbers_equal_the_pandas_report(kw):
    """Tiles (value, interval, n, change), the customer KPI table and the agents of both engines on
    the bundled data agree to 1e-9; every KPI runs on DuckDB itself (none left to pandas)."""
    pd_data, dk_data = D.load_report_data(**kw), D.load_report_data(engine="duckdb", **kw)
    a, b = H.headline(pd_data, {}), H.headline(dk_data, {})
    assert list(a["metric"]) == list(b["metric"]) and (a["n"] == b["n"]).all()
    num = ["value", "ci_low", "ci_high", "previous", "change", "change_ci_low", "change_ci_high"]
    np.testing.assert_allclose(b[num].to_numpy(float), a[num].to_numpy(float), rtol=0, atol=1e-9, equal_nan=True)
    ka, kb = H.report_kpis(pd_data), H.report_kpis(dk_data)
    assert list(ka["kpi"]) == list(kb["kpi"]) and (ka["n"] == kb["n"]).all()
    np.testing.assert_allclose(kb[["value", "ci_low", "ci_high"]].to_numpy(float),
                               ka[["value", "ci_low", "ci_high"]].to_numpy(float), rtol=0, atol=1e-9, equal_nan=True)
    sa = pd_data.scores.sort_values("review_id").reset_index(drop=True)
    sb = dk_data.scores.sort_values("review_id").reset_index(drop=True)
    assert list(sa["review_id"]) == list(sb["review_id"])
    np.testing.assert_allclose(sb["iqs"].to_numpy(float), sa["iqs"].to_numpy(float), rtol=0, atol=1e-9, equal_nan=True)
    notes = "; ".join(dk_data.engine_notes)
    assert ("DuckDB read ratings.parquet directly" in notes) == (not kw)
    assert "computed with pandas" not in notes  # every KPI has one definition, run on DuckDB itself
    assert "How computed: engine duckdb; review scores: DuckDB" in V.left_out(dk_data).text


def test_duckdb_reads_a_partitioned_parquet_folder(tmp_path):
    """``<dataset>/ratings/*.parquet``: two files, split by review; scores equal the single file's."""
    src = datasets.sample_data_dir()
    r = pd.read_parquet(src / "ratings.parquet")
    (tmp_path / "ratings").mkdir()
    first = r["review_id"].isin(sorted(r["review_id"].unique())[::2])
    r[first].to_parquet(tmp_path / "ratings" / "part-0.parquet")
    r[~first].to_parquet(tmp_path / "ratings" / "part-1.parquet")
    for f in ("conversations.parquet", "surveys.parquet", "scorecard.yaml"):
        shutil.copy(src / f, tmp_path / f)
    dk = D.load_report_data(dataset=str(tmp_path), engine="duckdb")
    ref = D.load_report_data()
    assert "review scores: DuckDB read ratings directly" in dk.engine_notes
    a = ref.scores.sort_values("review_id").reset_index(drop=True)
    b = dk.scores.sort_values("review_id").reset_index(drop=True)
    assert len(a) == len(b) == r["review_id"].nunique()
    np.testing.assert_allclose(b["iqs"].to_numpy(float), a["iqs"].to_numpy(float), rtol=0, atol=1e-9, equal_nan=True)
    assert (b["passed"].to_numpy() == a["passed"].to_numpy()).all()


@pytest.mark.slow  # the report's data on the DuckDB engine
def test_duckdb_does_not_read_the_file_when_the_loader_left_rows_out(tmp_path):
    """A review whose conversation is not in the conversations table is left out (an orphan): DuckDB
    then scores the loaded rows, not the file, and both engines score the same reviews."""
    src = datasets.sample_data_dir()
    r = pd.read_parquet(src / "ratings.parquet")
    orphan = sorted(r["review_id"].unique())[7]
    r.loc[r["review_id"] == orphan, "conversation_id"] = "C_NOT_THERE"
    r.to_parquet(tmp_path / "ratings.parquet")
    for f in ("conversations.parquet", "surveys.parquet", "scorecard.yaml"):
        shutil.copy(src / f, tmp_path / f)
    pdata, dk = D.load_report_data(dataset=str(tmp_path)), D.load_report_data(dataset=str(tmp_path), engine="duckdb")
    # the ratings are not read in place; the conversations and surveys (every row used) are
    assert dk.engine_notes == ["review scores: DuckDB on the period's ratings",
                               "customer KPIs: DuckDB read conversations.parquet directly",
                               "survey KPIs: DuckDB read surveys.parquet directly"]
    assert orphan not in set(dk.scores["review_id"]) and len(dk.scores) == len(pdata.scores) == r["review_id"].nunique() - 1
    a, b = H.headline(pdata, {}), H.headline(dk, {})
    np.testing.assert_allclose(b["value"].to_numpy(float), a["value"].to_numpy(float), rtol=0, atol=1e-9)


def test_unanswered_surveys_are_not_undated_answers_on_the_trend():
    """The CSAT trend places an answer without ``answered_at`` at its conversation's start; a survey
    row without a score (sent, not answered: the bundled data has 17,160, every one without a time) is
    not an answer. Two answers and one invitation, by hand: one answer dated, one placed by its
    conversation, the invitation left out."""
    from qakit.report.support import dated_surveys

    conv = pd.DataFrame({"conversation_id": ["c1", "c2", "c3"],
                         "created_at": pd.to_datetime(["2026-11-02", "2026-11-03", "2026-11-04"], utc=True)})
    sv = pd.DataFrame({"conversation_id": ["c1", "c2", "c3"], "kind": "csat", "score": [5.0, 4.0, np.nan],
                       "answered_at": pd.to_datetime(["2026-11-02 10:00", None, None], utc=True)})
    data = SimpleNamespace(surveys=sv, conversations=conv, has=lambda name: True)
    got, by_conv, lost = dated_surveys(data)
    assert (by_conv, lost) == (1, 0)
    assert got["answered_at"].tolist() == list(pd.to_datetime(["2026-11-02 10:00", "2026-11-03 00:00"], utc=True))
    sample = D.load_report_data()
    answered = sample.surveys["score"].notna()
    undated = int((answered & sample.surveys["answered_at"].isna()).sum())
    assert dated_surveys(sample)[1] <= undated < 17_160
