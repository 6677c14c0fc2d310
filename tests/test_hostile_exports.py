"""A catalogue of hostile exports and folders (issue 24): each one gives ONE clear error naming the
column or parameter, the offending values and row ids -- or an itemised record on the result, or
the right number where the input is odd but readable. Never a silent wrong number, never a raw
pandas/numpy traceback.

Classes: signed and negative-zero clocks; percent units per value and impossible shares;
impossible counts; huge numbers; unknown yes/no values; spreadsheet formula cells without stored
values; ambiguous folders; output folders; conditional-card matching; scorecards that can never
be met or read; ratings outside the export's own scale; card versions; day-numbered daily files;
mapping=; queue logs, event logs and incident exports whose times contradict each other.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from xlsx_writer import Formula, write_xlsx  # noqa: E402

import qakit  # noqa: E402
from qakit import schema as S  # noqa: E402
from qakit.errors import DataValidationError, ParameterError, QakitError, ScorecardError  # noqa: E402
from qakit.events import conversations_from_events, reconcile_sla  # noqa: E402
from qakit.exports import read_export  # noqa: E402
from qakit.io import read_table  # noqa: E402
from qakit.report import data as R  # noqa: E402
from qakit.report.params import check_report_parameters, resolve_paths  # noqa: E402
from qakit.scorecard import Category, Scorecard, score_reviews  # noqa: E402
from qakit.scorecard.card import align_applies_to, load_scorecard_text, load_scorecards  # noqa: E402

FIX = Path(__file__).parent / "fixtures"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def daily(tmp_path, rows: str, header="Date,Queue,Calls Offered,Calls Answered,Calls Abandoned,Service Level"):
    return write(tmp_path / "daily.csv", header + "\n" + rows)


def call_log(tmp_path, rows: str, header="CALL ID,TIMESTAMP,AGENT,TALK TIME,HOLD TIME,AFTER CALL WORK TIME,"
                                          "QUEUE WAIT TIME,ABANDONED"):
    return write(tmp_path / "calls.csv", header + "\n" + rows)


def raises(exc, *patterns):
    """The error and every pattern (column / parameter, value, row id) in its message."""
    class _Ctx:
        def __enter__(self):
            self.cm = pytest.raises(exc)
            self.info = self.cm.__enter__()
            return self.info

        def __exit__(self, *a):
            out = self.cm.__exit__(*a)
            text = str(self.info.value)
            for p in patterns:
                assert re.search(p, text), f"{p!r} not in: {text[:600]}"
            return out
    return _Ctx()


# --- durations ---------------------------------------------------------------------------------------------
def test_negative_zero_hour_clock_is_negative(tmp_path):
    """-00:30:00 is minus 30 minutes (its hour part is -0): refused, naming the column, value and call."""
    p = call_log(tmp_path, "c1,2026-11-02 09:00,ana,-00:30:00,00:00:00,00:00:10,00:00:05,0\n"
                           "c2,2026-11-02 09:05,ana,00:05:00,00:00:00,00:00:10,00:00:05,0\n")
    with raises(DataValidationError, "talk_time_s <- TALK TIME", "negative duration", "-00:30:00", "'c1'"):
        read_export(p, preset="call_log")


def test_negative_minutes_clock_and_bad_minutes(tmp_path):
    p = call_log(tmp_path, "c1,2026-11-02 09:00,ana,-0:30,00:00:00,00:00:10,00:00:05,0\n"
                           "c2,2026-11-02 09:05,ana,00:75:00,00:00:00,00:00:10,00:00:05,0\n")
    with raises(DataValidationError, "negative duration", "-0:30", "'c1'", "not a duration", "00:75:00", "'c2'"):
        read_export(p, preset="call_log")


def test_a_signed_zero_clock_is_zero_not_minus_zero(tmp_path):
    p = call_log(tmp_path, "c1,2026-11-02 09:00,ana,-00:00:00,00:00:00,00:00:10,00:00:05,0\n")
    talk = read_export(p, preset="call_log")["calls"]["talk_time_s"].iloc[0]
    assert talk == 0 and not np.signbit(talk)


def test_durations_of_centuries_are_refused(tmp_path):
    """1e12 seconds of talk (a millisecond column read as seconds?) is above the 10-year ceiling."""
    p = call_log(tmp_path, "c1,2026-11-02 09:00,ana,1000000000000,0,0,5,0\n")
    with raises(DataValidationError, "handle_time_s", "above the maximum", "'c1'"):
        read_export(p, preset="call_log")


# --- percent units and impossible shares ----------------------------------------------------------------------
def test_a_service_level_above_100_percent_is_refused(tmp_path):
    p = daily(tmp_path, "2026-11-02,Sales,180,170,10,120%\n2026-11-03,Sales,100,90,10,80%\n")
    with raises(DataValidationError, "service_level_reported", "share above 100 %", "120%"):
        read_export(p, preset="call_centre_daily")


def test_percent_points_mixed_with_excel_proportions_read_per_value(tmp_path):
    """75 is 75 %, 0.9 (Excel's 90 % cell) is 90 % -- never 0.9 % -- and is itemised: answered within
    = 0.75 * 100 = 75 and 0.9 * 100 = 90 (over offered: no day shows otherwise)."""
    p = daily(tmp_path, "2026-11-02,Sales,100,95,5,75\n2026-11-03,Sales,100,96,4,0.9\n")
    t = read_export(p, preset="call_centre_daily")
    assert t["calls_daily"]["answered_within"].tolist() == pytest.approx([75.0, 90.0])
    adj = t.adjusted
    row = adj[adj["reason"].str.contains("Excel")]
    assert row["column"].tolist() == ["service_level_reported"] and row["row_ids"].iloc[0] == ("1",)


def test_negative_and_unreadable_percent(tmp_path):
    p = daily(tmp_path, "2026-11-02,Sales,100,95,5,-5%\n2026-11-03,Sales,100,96,4,abc%\n")
    with raises(DataValidationError, "negative share", "-5%", "not a percentage", "abc%"):
        read_export(p, preset="call_centre_daily")


def test_answered_within_above_answered_is_refused_with_the_numbers(tmp_path):
    """216 within 20 s of 180 answered (a 120 % service level written as a count)."""
    p = write(tmp_path / "d.csv", "Date,Queue,Calls Offered,Calls Answered,Answered Within SL\n"
                                  "2026-11-02,Sales,200,180,216\n")
    with raises(DataValidationError, "answered_within", "a service level above 100 % is impossible",
                r"216\.0 within of 180\.0 answered", "2026-11-02 / Sales"):
        read_export(p, preset="call_centre_daily")


def test_answered_above_offered_is_refused(tmp_path):
    p = daily(tmp_path, "2026-11-02,Sales,100,120,5,80%\n")
    with raises(DataValidationError, "answered, abandoned", "more than offered", r"120\.0 answered",
                "2026-11-02 / Sales"):
        read_export(p, preset="call_centre_daily")


def test_the_same_counts_through_read_table(tmp_path):
    """The contract refuses it whatever the reader: read_table of a calls_daily CSV too."""
    p = write(tmp_path / "calls_daily.csv", "date,queue,offered,answered,abandoned\n2026-11-02,a,10,12,0\n")
    with raises(DataValidationError, "more than offered", "2026-11-02 / a"):
        read_table(p, "calls_daily")


# --- huge numbers ---------------------------------------------------------------------------------------------
def test_contacts_of_1e308_are_refused_not_averaged_to_inf(tmp_path):
    conv = qakit.datasets.load_sample("conversations").head(5).copy()
    conv["contacts"] = [1, 2, 1e308, 1, 1]
    conv.to_csv(tmp_path / "c.csv", index=False)
    with raises(DataValidationError, "contacts", "above the maximum 1e\\+09", conv["conversation_id"].iloc[2]):
        read_table(tmp_path / "c.csv", "conversations")


def test_offered_of_1e12_is_refused(tmp_path):
    p = daily(tmp_path, "2026-11-02,Sales,1000000000000,95,5,80%\n")
    with raises(DataValidationError, "offered", "above the maximum"):
        read_export(p, preset="call_centre_daily")


# --- yes/no values ----------------------------------------------------------------------------------------------
def _maestro(tmp_path, answers_edit=None, questions_edit=None):
    a = pd.read_csv(FIX / "maestroqa" / "answers.csv", dtype=str)
    q = pd.read_csv(FIX / "maestroqa" / "question_scores.csv", dtype=str)
    if answers_edit:
        answers_edit(a)
    if questions_edit:
        questions_edit(q)
    (tmp_path / "m").mkdir(exist_ok=True)
    a.to_csv(tmp_path / "m" / "answers.csv", index=False)
    q.to_csv(tmp_path / "m" / "question_scores.csv", index=False)
    return tmp_path / "m"


def test_unknown_is_deleted_values_are_refused_not_read_as_false(tmp_path):
    folder = _maestro(tmp_path, lambda a: a.__setitem__("is_deleted", ["false", "maybe", "false", "2"]))
    with raises(DataValidationError, "is_deleted", "not a yes/no value", "maybe", "'A2'", "'A4'"):
        read_export(folder, preset="maestroqa")


def test_unknown_is_na_values_are_refused(tmp_path):
    folder = _maestro(tmp_path, questions_edit=lambda q: q.__setitem__("is_na", ["n/a?"] + ["false"] * (len(q) - 1)))
    with raises(DataValidationError, "is_na", "not a yes/no value", r"n/a\?", "'A1'"):
        read_export(folder, preset="maestroqa")


def test_unknown_abandoned_flag_is_refused(tmp_path):
    p = call_log(tmp_path, "c1,2026-11-02 09:00,ana,00:01:00,0,0,5,yes\nc2,2026-11-02 09:05,ana,00:01:00,0,0,5,perhaps\n")
    with raises(DataValidationError, "ABANDONED", "not a yes/no value", "perhaps"):
        read_export(p, preset="call_log")


# --- spreadsheets ------------------------------------------------------------------------------------------------
def test_formula_cells_without_stored_values_are_named(tmp_path):
    p = write_xlsx(tmp_path / "daily.xlsx", [["Date", "Calls Offered", "Calls Answered"],
                                             ["2026-11-02", 100, Formula("B2-5")],
                                             ["2026-11-03", 50, Formula("B3-5", 45)]])
    with raises(ParameterError, "daily.xlsx", "1 formula cell", "'Calls Answered': C2", "Open and save it"):
        read_export(p, preset="call_centre_daily")
    with raises(ParameterError, "formula cell"):
        read_table(p, "calls_daily")


def test_formula_cells_with_stored_values_read_them(tmp_path):
    p = write_xlsx(tmp_path / "daily.xlsx", [["Date", "Calls Offered", "Calls Answered"],
                                             ["2026-11-02", 100, Formula("B2-5", 95)]])
    assert read_export(p, preset="call_centre_daily")["calls_daily"]["answered"].tolist() == [95.0]


# --- ambiguous folders and inputs ------------------------------------------------------------------------------------
def test_export_folder_with_two_files_for_one_table(tmp_path):
    folder = _maestro(tmp_path)
    pd.read_csv(folder / "answers.csv").to_parquet(folder / "answers.parquet")
    with raises(ParameterError, "several files for one table", "answers.csv", "answers.parquet"):
        read_export(folder, preset="maestroqa")


def test_report_folder_with_an_old_parquet_beside_a_new_csv(tmp_path):
    src = qakit.datasets.sample_data_dir()
    for f in ("ratings.parquet", "scorecard.yaml"):
        (tmp_path / f).write_bytes((src / f).read_bytes())
    pd.read_parquet(src / "ratings.parquet").head(20).to_csv(tmp_path / "ratings.csv", index=False)
    with raises(ParameterError, "2 files for the ratings table", "ratings.parquet", "ratings.csv", "ratings_path"):
        R.load_report_data(dataset=str(tmp_path))


def test_a_partitioned_folder_beside_a_file(tmp_path):
    src = qakit.datasets.sample_data_dir()
    (tmp_path / "scorecard.yaml").write_bytes((src / "scorecard.yaml").read_bytes())
    r = pd.read_parquet(src / "ratings.parquet")
    r.to_parquet(tmp_path / "ratings.parquet")
    (tmp_path / "ratings").mkdir()
    r.head(50).to_parquet(tmp_path / "ratings" / "part-0.parquet")
    with raises(ParameterError, "ratings.parquet, ratings/"):
        R.load_report_data(dataset=str(tmp_path))


def test_write_never_replaces_its_own_input(tmp_path):
    (tmp_path / "data").mkdir()
    src = write(tmp_path / "data" / "calls.csv", (FIX / "five9_call_log.csv").read_text())
    with raises(ParameterError, r"holds the file this export was read from \(calls.csv\)"):
        read_export(src, preset="call_log").write(tmp_path / "data")


def test_write_into_a_file_is_refused(tmp_path):
    f = write(tmp_path / "data", "not a folder")
    with raises(ParameterError, "is a file, not a folder"):
        read_export(FIX / "five9_call_log.csv", preset="call_log").write(f)


# --- output paths of the report --------------------------------------------------------------------------------------
def test_relative_csv_folder_resolves_from_the_caller_not_the_notebooks_folder(tmp_path):
    out = resolve_paths({"csv_folder": "tables", "dataset": "sample"}, cwd=tmp_path)
    assert out["csv_folder"] == str(tmp_path / "tables")


def test_csv_folder_equal_to_the_dataset_folder_is_refused(tmp_path):
    (tmp_path / "calls.csv").write_text("call_id\n")
    decl = {"dataset": {"type": "str"}, "csv_folder": {"type": "str"}}
    with raises(ParameterError, "csv_folder", "folder of the report's input data", "overwrite"):
        check_report_parameters({"dataset": str(tmp_path), "csv_folder": str(tmp_path)}, decl)
    with raises(ParameterError, "csv_folder '.'"):
        check_report_parameters({"dataset": ".", "csv_folder": "."}, decl, cwd=tmp_path)


def test_output_and_notebook_errors_are_one_line(tmp_path, capsys):
    from qakit.cli import main

    f = write(tmp_path / "afile", "x")
    assert main(["report", "-o", str(f), "--no-progress"]) == 2
    assert "output folder (--output)" in capsys.readouterr().err
    nb = write(tmp_path / "nb.ipynb", "not json")
    assert main(["report", "--notebook", str(nb), "-o", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "(--notebook) is not a readable Jupyter notebook" in err and "Traceback" not in err
    assert main(["report", "--notebook", str(tmp_path), "-o", str(tmp_path / "o")]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert main(["report", "--notebook", str(f), "-o", str(tmp_path / "o")]) == 2
    assert "must be a .ipynb file" in capsys.readouterr().err


# --- conditional cards -------------------------------------------------------------------------------------------------
def _conditional():
    phone = Scorecard([Category("Tone", 1), Category("Hold etiquette", 1)], version="v", name="Phone card",
                      applies_to={"channel": ["Phone"]})
    default = Scorecard([Category("Tone", 1), Category("Hold etiquette", 3)], version="v", name="Default card")
    return [phone, default]


def test_applies_to_matches_whatever_the_case_or_number_format():
    """'phone', ' PHONE ' are the card's 'Phone' (aligned and itemised): those reviews are scored by the
    phone card -- (1 + 0) / 2 = 50 % -- not by the default card's (1 + 0*3) / 4 = 25 %."""
    ratings = pd.DataFrame({"review_id": np.repeat(["r1", "r2", "r3"], 2), "conversation_id": np.repeat(["c1", "c2", "c3"], 2),
                            "agent_id": "a", "reviewer_id": "q", "reviewed_at": "2026-11-02",
                            "category": ["Tone", "Hold etiquette"] * 3, "rating": [1.0, 0.0] * 3,
                            "scorecard_version": "v", "channel": np.repeat(["phone", " PHONE ", "chat"], 2)})
    cards = _conditional()
    aligned = align_applies_to(ratings, cards)
    s = score_reviews(aligned, cards).set_index(S.REVIEW_ID)[S.IQS]
    assert s.to_dict() == pytest.approx({"r1": 50.0, "r2": 50.0, "r3": 25.0})
    assert S.adjustments(aligned)["row_ids"].iloc[0] == ("r1", "r2")


def test_score_reviews_called_directly_matches_applies_to_loosely():
    """A card for channel 'Phone' scores a review whose channel is 'phone' (no align_applies_to
    first): Tone 1 + Hold etiquette 0, equal weights -> 50 by hand."""
    ratings = pd.DataFrame({"review_id": ["r1", "r1"], "conversation_id": "c1", "agent_id": "a", "reviewer_id": "q",
                            "reviewed_at": "2026-11-02", "category": ["Tone", "Hold etiquette"], "rating": [1.0, 0.0],
                            "scorecard_version": "v", "channel": "phone"})
    assert score_reviews(ratings, _conditional())[S.IQS].iloc[0] == pytest.approx(50.0)


def test_applies_to_number_formats():
    card = Scorecard([Category("Tone")], version="v", applies_to={"tier": [1]})
    t = align_applies_to(pd.DataFrame({"review_id": ["a", "b", "c"], "tier": [1.0, "1", "2"]}), [card])
    assert t["tier"].tolist() == ["1", "1", "2"]


def test_applies_to_values_differing_only_by_case_across_cards_are_refused():
    a = Scorecard([Category("Tone")], version="a", applies_to={"channel": ["Phone"]})
    b = Scorecard([Category("Tone")], version="b", applies_to={"channel": ["phone"]})
    with raises(ScorecardError, "differ only by case", "'Phone' / 'phone'"):
        align_applies_to(pd.DataFrame({"review_id": ["x"], "channel": ["PHONE"]}), [a, b])


def test_the_report_aligns_conditional_cards(tmp_path):
    """load_report_data scores the data's 'phone' reviews with the card for 'Phone'."""
    ratings = pd.DataFrame({"review_id": np.repeat(["r1", "r2"], 2), "conversation_id": np.repeat(["c1", "c2"], 2),
                            "agent_id": "a", "reviewer_id": "q", "reviewed_at": "2026-11-02 10:00",
                            "category": ["Tone", "Hold etiquette"] * 2, "rating": [1.0, 0.0] * 2,
                            "scorecard_version": "v", "channel": np.repeat(["phone", "chat"], 2)})
    ratings.to_csv(tmp_path / "ratings.csv", index=False)
    (tmp_path / "scorecard.yaml").write_text("---\n".join(c.to_yaml() for c in _conditional()))
    d = R.load_report_data(dataset=str(tmp_path))
    assert d.scores.set_index(S.REVIEW_ID)[S.IQS].to_dict() == pytest.approx({"r1": 50.0, "r2": 25.0})



def test_the_duckdb_report_scores_conditional_cards_on_pandas_and_says_so(tmp_path):
    """The lazy engines refuse several cards / applies_to by name; the report on engine duckdb scores
    them with the pandas rule (the same 50 and 25 by hand as above) and says so in How computed."""
    ratings = pd.DataFrame({"review_id": np.repeat(["r1", "r2"], 2), "conversation_id": np.repeat(["c1", "c2"], 2),
                            "agent_id": "a", "reviewer_id": "q", "reviewed_at": "2026-11-02 10:00",
                            "category": ["Tone", "Hold etiquette"] * 2, "rating": [1.0, 0.0] * 2,
                            "scorecard_version": "v", "channel": np.repeat(["phone", "chat"], 2)})
    ratings.to_csv(tmp_path / "ratings.csv", index=False)
    (tmp_path / "scorecard.yaml").write_text("---\n".join(c.to_yaml() for c in _conditional()))
    d = R.load_report_data(dataset=str(tmp_path), engine="duckdb")
    assert d.scores.set_index(S.REVIEW_ID)[S.IQS].to_dict() == pytest.approx({"r1": 50.0, "r2": 25.0})
    assert any("matched per review on pandas only" in str(n) for n in d.engine_notes)

# --- scorecards that can never be met or read ------------------------------------------------------------------------
def test_pass_threshold_above_100_is_refused():
    with raises(ScorecardError, "pass_threshold 150 is above 100 %"):
        load_scorecard_text("pass_threshold: 150\ncategories: [{name: Tone}]")


def test_all_zero_section_weights_are_refused():
    text = ("sections: [{name: A, weight: 0}, {name: B, weight: 0}]\n"
            "categories: [{name: Tone, section: A}, {name: Fix, section: B}]")
    with raises(ScorecardError, "every regular section has weight 0", "'A', 'B'"):
        load_scorecard_text(text)


def test_deep_card_files_name_the_file(tmp_path):
    deep = write(tmp_path / "deep.yaml", "categories: " + "[" * 5000 + "]" * 5000 + "\n")
    with raises(ScorecardError, "deep.yaml", "nested too deeply|levels deep"):
        load_scorecards(deep)
    nested = write(tmp_path / "nested.yaml", "categories: [{name: Tone, scale: " + "[" * 20 + "1" + "]" * 20 + "}]\n")
    with raises(ScorecardError, "nested.yaml", "levels deep"):
        qakit.load_scorecard(nested)
    js = write(tmp_path / "deep.json", '{"categories": ' + "[" * 100000 + "]" * 100000 + "}")
    with raises(ScorecardError, "deep.json", "nested too deeply|levels deep"):
        qakit.load_scorecard(js)


def test_a_file_of_card_versions_read_as_one_card_says_which_function_reads_it(tmp_path):
    p = write(tmp_path / "scorecard.yaml", "version: a\ncategories: [{name: Tone}]\n---\nversion: b\ncategories: [{name: Tone}]\n")
    with raises(ScorecardError, "holds 2 scorecards", "load_scorecards"):
        qakit.load_scorecard(p)


# --- ratings outside the export's own scale; card versions ----------------------------------------------------------
def test_zendesk_qa_rating_above_100_percent_leaves_only_its_review_out():
    t = read_export(FIX / "zendesk_qa_mid_period_edit.json", preset="zendesk_qa")
    ex = t.excluded
    assert ex.loc[ex["reason"].str.contains("outside the scale"), "row_ids"].tolist() == [("R5",), ("R5",)]
    assert qakit.exports.reconcile(t)[S.REVIEW_ID].tolist() == ["R6"]  # not its neighbours


def test_maestroqa_points_above_the_maximum(tmp_path):
    folder = _maestro(tmp_path, questions_edit=lambda q: q.__setitem__("score", ["7"] + q["score"].tolist()[1:]))
    t = read_export(folder, preset="maestroqa")
    ex = t.excluded
    assert "A1 'Greeting' 7 of 0..1" in ex.loc[ex["reason"].str.contains("outside the scale"), "reason"].iloc[0]
    assert "A1" not in set(t["reviews"][S.REVIEW_ID])


def test_a_review_giving_one_category_two_weights_is_refused():
    r = pd.DataFrame({"review_id": ["a", "a"], "category": ["Tone", "Tone"], "rating": [1.0, 1.0], "weight": [1, 2]})
    with raises(ParameterError, r"review\(s\) \['a'\] give one category two different weights"):
        qakit.exports.card_versions(r)


# --- presets that bend ------------------------------------------------------------------------------------------------
def test_day_numbers_without_start_say_which_argument(tmp_path):
    p = write(tmp_path / "d.csv", "Index,Incoming Calls,Answered Calls\n1,100,90\n2,80,70\n")
    with raises(ParameterError, "Pass start='YYYY-MM-DD', the date of day 1"):
        read_export(p, preset="call_centre_daily")


def test_fractional_day_numbers_are_refused(tmp_path):
    p = write(tmp_path / "d.csv", "Day number,Incoming Calls,Answered Calls\n1,100,90\n1.5,80,70\n")
    with raises(DataValidationError, "day_number", "not a whole day number", "1.5"):
        read_export(p, preset="call_centre_daily", start="2026-11-02")


def test_no_date_and_no_day_number(tmp_path):
    p = write(tmp_path / "d.csv", "When,Incoming Calls,Answered Calls\n2026-11-02,100,90\n")
    with raises(ParameterError, r"no date column \(looked for \['Date'", "mapping=\\{'<the date column>': 'date'\\}"):
        read_export(p, preset="call_centre_daily")
    t = read_export(p, preset="call_centre_daily", mapping={"When": "date"})
    assert t["calls_daily"]["date"].tolist() == [pd.Timestamp("2026-11-02", tz="UTC")]


def test_mapping_to_an_unknown_field_or_twice(tmp_path):
    with raises(ParameterError, "field name\\(s\\) preset 'call_log' does not read", "its field names"):
        read_export(FIX / "five9_call_log.csv", preset="call_log", mapping={"AGENT": "agent"})
    with raises(ParameterError, "mapping sends several columns to \\['agent_id'\\]"):
        read_export(FIX / "five9_call_log.csv", preset="call_log", mapping={"AGENT": "agent_id", "AGENT NAME": "agent_id"})


def test_start_for_a_preset_without_day_numbers(tmp_path):
    with raises(ParameterError, "start= anchors the day numbers"):
        read_export(FIX / "five9_call_log.csv", preset="call_log", start="2026-11-02")
    with raises(ParameterError, "start must be a date"):
        read_export(FIX / "call_center_daily_index.csv", preset="call_centre_daily", start="someday")


# --- queue logs, event logs, incidents ---------------------------------------------------------------------------------
def test_answered_before_entering_the_queue(tmp_path):
    p = write(tmp_path / "q.csv", "call_id,queue,enqueue_time,answered_at,end_time\n"
                                  "k1,Sales,2026-11-02 09:00:30,2026-11-02 09:00:10,2026-11-02 09:05:00\n")
    with raises(DataValidationError, "service_start", "before the queue entry", "'k1'"):
        read_export(p, preset="queue_log")


def test_a_service_end_before_its_start(tmp_path):
    p = write(tmp_path / "q.csv", "call_id,queue,enqueue_time,answered_at,end_time\n"
                                  "k1,Sales,2026-11-02 09:00:00,2026-11-02 09:00:10,2026-11-02 08:55:00\n")
    with raises(DataValidationError, "service_end", "before the service start", "'k1'"):
        read_export(p, preset="queue_log")


def test_event_log_without_timestamps_and_duplicates_is_itemised():
    ev = pd.DataFrame({"case_id": ["a", "a", "a", "b"], "activity": ["New", "Solved", "Solved", "New"],
                       "timestamp": ["2026-11-02 09:00", "2026-11-02 10:00", "2026-11-02 10:00", None]})
    c = conversations_from_events(ev)
    ex = S.exclusions(c).set_index("reason")["row_ids"]
    assert ex["exact duplicate event (kept once)"] == ("a",)
    assert ex["event without a timestamp: left out"] == ("b",)
    assert c["conversation_id"].tolist() == ["a"]


def test_event_log_with_an_unreadable_timestamp():
    ev = pd.DataFrame({"case_id": ["a", "a"], "activity": ["New", "Solved"], "timestamp": ["2026-11-02 09:00", "soon"]})
    with raises(DataValidationError, "timestamp", "soon"):
        conversations_from_events(ev)


def test_event_log_role_column_with_an_unknown_role():
    ev = pd.DataFrame({"case_id": ["a"], "activity": ["New"], "timestamp": ["2026-11-02 09:00"], "role": ["sleep"]})
    with raises(DataValidationError, "role", "unknown role", "sleep", "'a'"):
        conversations_from_events(ev)


def _incidents():
    return pd.DataFrame({"conversation_id": ["INC1", "INC2"], "priority": ["2 - High", "4 - Low"],
                         "created_at": pd.to_datetime(["2026-11-02 09:00", "2026-11-02 09:00"], utc=True),
                         "resolved_at": pd.to_datetime(["2026-11-02 15:00", "2026-11-03 09:00"], utc=True),
                         "on_hold_s": [0.0, 0.0], "made_sla": ["true", "false"]})


def test_sla_flag_that_is_no_yes_or_no():
    with raises(DataValidationError, "made_sla", "not a yes/no SLA flag", "maybe", "'INC2'"):
        reconcile_sla(_incidents().assign(made_sla=["true", "maybe"]), targets={"high": 8, "low": 72})


def test_sla_targets_matching_no_priority():
    with raises(ParameterError, "match no priority of the data", "2 - High"):
        reconcile_sla(_incidents(), targets={"p1": 4})


def test_negative_or_infinite_time_on_hold():
    with raises(DataValidationError, "on_hold_s", "negative time on hold", "'INC1'", "not a finite number", "'INC2'"):
        reconcile_sla(_incidents().assign(on_hold_s=[-60.0, np.inf]), targets={"high": 8, "low": 72})


def test_incident_dates_decided_by_the_file():
    """Only some columns of the export show a day above 12; the others follow them (one file, one
    date format): closed_at '5/3/2016' is 5 March, not 3 May."""
    t = read_export(FIX / "servicenow_incident_event_log.csv", preset="incident")
    assert any("day-first in every date column" in n for n in t.notes)
    c = t["conversations"].set_index("conversation_id")
    assert c.loc["INC0000045", "resolved_at"] == pd.Timestamp("2016-02-29 11:29", tz="UTC")


# --- dates ----------------------------------------------------------------------------------------------------------
def test_undecidable_dates_ask_for_dayfirst(tmp_path):
    p = daily(tmp_path, "03/04/2026,Sales,100,90,10,80%\n05/06/2026,Sales,100,90,10,80%\n")
    with raises(ParameterError, "pass dayfirst=True or dayfirst=False"):
        read_export(p, preset="call_centre_daily")


def test_every_hostile_case_is_a_qakit_error_not_a_raw_one():
    """The catalogue's errors are QakitErrors (one line for the CLI), never pandas/numpy exceptions."""
    assert issubclass(DataValidationError, QakitError) and issubclass(ParameterError, QakitError)
