"""Bad input: every case gets a clear error (type + a message naming the column, the offending
values and row ids) or an itemised exclusion on the result — never a silently wrong number.

Each case is one entry in CASES (id -> callable returning the outcome) so the list reads as the
catalogue of what qakit refuses and how.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qakit import Category, Scorecard, exclusions, load_scorecard, load_scorecard_text, read_table
from qakit import kpis as K
from qakit import schema as S
from qakit.errors import DataValidationError, ParameterError, ScorecardError
from qakit.report.run import check_parameters, load_parameters
from qakit.report.data import load_report_data
from qakit.report.targets import check_targets

CARD = Scorecard([Category("Product knowledge", 1.5, critical=True), Category("Tone", 1.0, scale=5),
                  Category("Solution", 1.25), Category("Grammar", 0.5)])


def ratings(**over) -> pd.DataFrame:
    """Two valid reviews (r1, r2) of one agent; ``over`` replaces whole columns."""
    df = pd.DataFrame({
        "review_id": ["r1"] * 4 + ["r2"] * 4, "conversation_id": ["c1"] * 4 + ["c2"] * 4, "agent_id": "a1",
        "reviewer_id": "q1", "reviewed_at": "2026-11-02 10:00",
        "category": ["Product knowledge", "Tone", "Solution", "Grammar"] * 2,
        "rating": [1.0, 4, 1, 1, 1, 5, 0, 1]})
    for k, v in over.items():
        df[k] = v
    return df


def conversations(**over) -> pd.DataFrame:
    df = pd.DataFrame({
        "conversation_id": ["c1", "c2", "c3"], "customer_id": ["u1", "u2", "u1"], "agent_id": "a1",
        "channel": "chat", "priority": ["high", "normal", "low"], "status": "solved",
        "created_at": ["2026-11-02 09:00Z", "2026-11-02 10:00Z", "2026-11-03 09:00Z"],
        "first_response_at": ["2026-11-02 09:05Z", "2026-11-02 10:30Z", "2026-11-03 09:10Z"],
        "resolved_at": ["2026-11-02 11:00Z", "2026-11-02 12:00Z", "2026-11-03 12:00Z"]})
    for k, v in over.items():
        df[k] = v
    return df


def surveys(**over) -> pd.DataFrame:
    df = pd.DataFrame({"conversation_id": ["c1", "c2"], "kind": "csat", "score": [5.0, 2.0],
                       "answered_at": ["2026-11-03 09:00Z", "2026-11-03 10:00Z"]})
    for k, v in over.items():
        df[k] = v
    return df


def write(tmp_path, name: str, data: bytes) -> str:
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


# --- errors: (exception, [regexes the message must match]) -----------------------------------------------
ERRORS = {
    # ratings
    "unknown category": (lambda t: CARD.score(ratings(category=["Product knowledge", "Tone", "Solution", "Spelling"] * 2)),
                         DataValidationError, [r"column 'category': category not on scorecard", r"\['Spelling'\]", r"\['r1', 'r2'\]"]),
    "rating off the scale": (lambda t: CARD.score(ratings(rating=[1.0, 7, 1, 1, 1, 5, 0, 1])),
                             DataValidationError, [r"rating off the scale of 'Tone' \(allowed: \[1, 2, 3, 4, 5\]\)", r"\[7\]", r"\['r1'\]"]),
    "text in a numeric column": (lambda t: CARD.score(ratings(rating=["1", "good", "1", "1", "1", "5", "0", "1"])),
                                 DataValidationError, [r"column 'rating': not a number", r"\['good'\]", r"\['r1'\]"]),
    "duplicate rating": (lambda t: CARD.score(ratings(category=["Product knowledge", "Tone", "Tone", "Grammar"] * 2)),
                         DataValidationError, [r"duplicate key \(review_id, category\)", r"r1 / Tone", r"\['r1', 'r1'"]),
    "missing review id": (lambda t: CARD.score(ratings(review_id=["r1"] * 4 + [None] * 4)),
                          DataValidationError, [r"column 'review_id': empty value in a required column", r"<missing>"]),
    "review spread over two agents": (lambda t: CARD.score(ratings(agent_id=["a1"] * 7 + ["a2"])),
                                      DataValidationError, [r"one review spread over several agent_id values", r"r2 -> a2"]),
    # (scoring reads review_id, category and rating; reviewer_id, conversation_id ... only when present)
    "missing required column": (lambda t: CARD.score(ratings().drop(columns="rating")),
                                DataValidationError, [r"column 'rating': required column is missing"]),
    "empty ratings table": (lambda t: CARD.score(ratings().iloc[0:0]),
                            DataValidationError, [r"table has no rows"]),
    "unknown scorecard version": (lambda t: CARD.with_changes(version="2026.1").score(ratings(scorecard_version="2025.9")),
                                  DataValidationError, [r"no scorecard registered for this version", r"\['2025.9'\]"]),
    "not a DataFrame": (lambda t: CARD.score([{"review_id": "r1"}]), ParameterError, [r"ratings must be a pandas or Polars DataFrame, a Parquet file or folder, .*; got list"]),
    # conversations
    "naive and aware timestamps mixed": (lambda t: K.first_response_time(conversations(created_at=["2026-11-02 09:00Z", "2026-11-02 10:00", "2026-11-03 09:00Z"])),
                                         DataValidationError, [r"column 'created_at': mixes timezone-aware and naive", r"\['2026-11-02 10:00'\]", r"\['c2'\]"]),
    "unparseable timestamp": (lambda t: K.resolution_time(conversations(resolved_at=["2026-11-02 11:00Z", "tomorrow", None])),
                              DataValidationError, [r"column 'resolved_at': unparseable timestamp", r"\['tomorrow'\]", r"\['c2'\]"]),
    "future date": (lambda t: K.resolution_time(conversations(created_at=["2026-11-02 09:00Z", "2099-11-02 10:00Z", "2026-11-03 09:00Z"])),
                    DataValidationError, [r"column 'created_at': timestamp in the future", r"2099-11-02 10:00Z", r"\['c2'\]"]),
    "duplicate conversation id": (lambda t: K.escalation_rate(conversations(conversation_id=["c1", "c1", "c3"], escalated=True)),
                                  DataValidationError, [r"duplicate key \(conversation_id\)", r"\['c1', 'c1'\]"]),
    "negative handle time": (lambda t: K.handle_time(conversations(handle_time_s=[60.0, -5.0, 30.0])),
                             DataValidationError, [r"column 'handle_time_s': below the minimum 0", r"\[-5\]", r"\['c2'\]"]),
    "zero contacts": (lambda t: K.interactions_per_issue(conversations(contacts=[1.0, 0.0, 2.0])),
                      DataValidationError, [r"column 'contacts': below the minimum 1", r"\[0\]", r"\['c2'\]"]),
    "not a boolean": (lambda t: K.escalation_rate(conversations(escalated=["yes", "maybe", "no"])),
                      DataValidationError, [r"column 'escalated': not a boolean", r"\['maybe'\]", r"\['c2'\]"]),
    "missing conversation column for a KPI": (lambda t: K.handle_time(conversations()),
                                             ParameterError, [r"handle_time needs a 'handle_time_s' column"]),
    # surveys
    "survey score outside its scale": (lambda t: K.csat_score(surveys(score=[5.0, 7.0])),
                                       DataValidationError, [r"csat score outside the scale 1\.\.5", r"\[7\]", r"\['c2'\]"]),
    "unknown survey kind": (lambda t: K.csat_score(surveys(kind=["csat", "happiness"])),
                            DataValidationError, [r"column 'kind': not one of 'csat', 'nps', 'ces'", r"\['happiness'\]", r"\['c2'\]"]),
    "nps above 10": (lambda t: K.nps_score(surveys(kind="nps", score=[10.0, 11.0])),
                     DataValidationError, [r"nps score outside 0\.\.10", r"\[11\]", r"\['c2'\]"]),
    "duplicate survey answer": (lambda t: K.csat_score(surveys(conversation_id=["c1", "c1"])),
                                DataValidationError, [r"duplicate key \(conversation_id, kind\)", r"c1 / csat"]),
    "survey about an unknown conversation": (lambda t: S.validate_links(conversations(), surveys=surveys(conversation_id=["c1", "c99"])),
                                             DataValidationError, [r"table 'surveys', column 'conversation_id': conversation_id not in the conversations table", r"\['c99'\]"]),
    "rating about an unknown conversation": (lambda t: S.validate_links(conversations(), ratings=ratings(conversation_id=["c1"] * 4 + ["c77"] * 4)),
                                             DataValidationError, [r"table 'ratings'.*not in the conversations table", r"\['c77'\]", r"\['r2'"]),
    # files
    "empty file": (lambda t: read_table(write(t, "ratings.csv", b""), "ratings"), ParameterError, [r"ratings.csv: file is empty"]),
    "header only": (lambda t: read_table(write(t, "ratings.csv", b"review_id,conversation_id,agent_id\n"), "ratings"),
                    ParameterError, [r"no data rows \(header only: \['review_id', 'conversation_id', 'agent_id'\]\)"]),
    "wrong delimiter": (lambda t: read_table(write(t, "s.csv", b"conversation_id;kind;score;answered_at\nc1;csat;5;\n"), "surveys", sep=","),
                        ParameterError, [r"only one column 'conversation_id;kind;score;answered_at' was found with delimiter ','", r"sep=';'"]),
    "non-UTF-8 file with accents": (lambda t: read_table(write(t, "s.csv", "conversation_id,kind,score,answered_at,agent_id\nc1,csat,5,,Jos\u00e9\n".encode("cp1252")), "surveys"),
                                    ParameterError, [r"s.csv: not valid UTF-8 \(byte 0xe9", r"line 2", r"encoding='cp1252'"]),
    "unterminated quote": (lambda t: read_table(write(t, "s.csv", b'conversation_id,kind,score,answered_at\nc1,"csat,5,\n'), "surveys"),
                           ParameterError, [r"s.csv: cannot be read as CSV with delimiter ','", r"quoting"]),
    "unsupported file type": (lambda t: read_table(write(t, "s.docx", b"PK"), "surveys"), ParameterError, [r"s.docx: unsupported file type"]),
    "duplicate header": (lambda t: read_table(write(t, "s.csv", b"conversation_id,kind,score,score\nc1,csat,5,4\n"), "surveys"),
                         ParameterError, [r"duplicate column names in the header \['score'\]"]),
    # scorecards
    "all weights zero": (lambda t: Scorecard([Category("Tone", 0), Category("Grammar", 0)]),
                         ScorecardError, [r"all category weights are zero \(Tone=0, Grammar=0\)"]),
    "negative weight": (lambda t: Category("Tone", -1.0), ScorecardError, [r"category 'Tone': weight must be a finite number >= 0; got -1.0"]),
    "NaN weight": (lambda t: Category("Tone", float("nan")), ScorecardError, [r"category 'Tone': weight must be a finite number >= 0; got nan"]),
    "duplicate category names": (lambda t: Scorecard([Category("Tone"), Category("Tone")]), ScorecardError, [r"duplicate category names \['Tone'\]"]),
    "penalty scale outside points mode": (lambda t: Scorecard([Category("Rude", scale=[-5, 0])]), ScorecardError, [r"\['Rude'\] have penalty scales", r"mode 'points'"]),
    "scale with fewer than 2 points": (lambda t: Category("Tone", scale=[100]), ScorecardError, [r"category 'Tone'.*scale must have at least 2 points; got \[100\]"]),
    "YAML card with a Python tag": (lambda t: load_scorecard_text("name: x\ncategories: !!python/object/apply:os.system ['echo hi']\n"),
                                    ScorecardError, [r"not a safe YAML scorecard", r"no Python tags"]),
    "unknown key in a card": (lambda t: load_scorecard_text("name: x\ncategories:\n  - name: Tone\n    wieght: 2\n"),
                              ScorecardError, [r"category 'Tone': unknown key\(s\) \['wieght'\]"]),
    "critical threshold above 100": (lambda t: Category("Tone", critical=True, critical_threshold=150),
                                     ScorecardError, [r"critical_threshold must be a percent in 0\.\.100; got 150"]),
    "card file missing": (lambda t: load_scorecard(str(t / "nope.yaml")), Exception, [r"nope.yaml"]),
    # report parameters and options
    "unknown report parameter": (lambda t: check_parameters({"strat": "2026-09-01"}), ParameterError, [r"unknown report parameter\(s\) \['strat'\]"]),
    "period with no data": (lambda t: load_report_data(start="2031-01-01", end="2031-01-31"),
                            ParameterError, [r"no reviews between 2031-01-01 and 2031-01-31; the data covers"]),
    "end before start": (lambda t: load_report_data(start="2026-09-10", end="2026-09-01"), ParameterError, [r"end \(2026-09-01\) is before start \(2026-09-10\)"]),
    "parameter file that is a list": (lambda t: load_parameters(write(t, "p.yaml", b"- start\n- end\n")),
                                      ParameterError, [r"p.yaml: parameters must be a mapping of name: value; got list"]),
    "target that is not a number": (lambda t: check_targets({"csat": {"target": "ninety"}}), ParameterError, [r"target 'csat': 'target' must be a finite number; got 'ninety'"]),
    "unknown trend period": (lambda t: K.csat_score(surveys(), period="fortnight"), ParameterError, [r"period must be one of"]),
    "negative SLA target": (lambda t: K.sla_attainment(conversations(), targets={"high": -4}), ParameterError, [r"SLA target for priority 'high' must be a positive number of hours; got -4"]),
    "business hours closing before opening": (lambda t: K.BusinessHours(schedule={0: ("17:00", "09:00")}), ParameterError, [r"day 0 closes \(09:00\) before it opens \(17:00\)"]),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_bad_input_raises_clear_error(case, tmp_path):
    fn, exc, patterns = ERRORS[case]
    with pytest.raises(exc) as info:
        fn(tmp_path)
    msg = str(info.value)
    for pat in patterns:
        assert re.search(pat, msg, flags=re.S), f"{case}: {pat!r} not in {msg!r}"


# --- the same refusals when ids are categoricals (what read_table(categorical=True) gives): the
# checks then run on integer codes (contiguous runs, bit sets per review), so each case must give
# exactly the message the text ids give
def categorical(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in ["review_id", "conversation_id", "agent_id", "reviewer_id", "category"]:
        out[c] = out[c].astype("category")
    return out


TONE_TWICE = ["Product knowledge", "Tone", "Tone", "Grammar"]
SAME_WITH_CATEGORICALS = {
    "unknown category": dict(category=["Product knowledge", "Tone", "Solution", "Spelling"] * 2),
    "rating off the scale": dict(rating=[1.0, 7, 1, 1, 1, 5, 0, 1]),
    "fractional rating": dict(rating=[1.0, 4.5, 1, 1, 1, 5, 0, 1]),
    "rating -1 on a binary category": dict(rating=[1.0, 4, 1, -1, 1, 5, 0, 1]),
    "duplicate rating inside a review's rows": dict(category=TONE_TWICE * 2),
    "duplicate rating, review rows not together": dict(
        review_id=["r1", "r2", "r1", "r2", "r1", "r2", "r1", "r2"], conversation_id=["c1", "c2"] * 4,
        category=["Product knowledge", "Product knowledge", "Tone", "Tone", "Tone", "Solution", "Grammar", "Grammar"],
        rating=[1.0, 1, 4, 5, 3, 1, 1, 0]),
    "missing review id": dict(review_id=["r1"] * 4 + [None] * 4),
    "missing category": dict(category=["Product knowledge", None, "Solution", "Grammar"] * 2),
    "review spread over two agents": dict(agent_id=["a1"] * 7 + ["a2"]),
    "review spread over two conversations": dict(conversation_id=["c1"] * 3 + ["c9"] + ["c2"] * 4),
    "spread and duplicate at once": dict(agent_id=["a1", "a2"] + ["a1"] * 6, category=TONE_TWICE * 2),
}


@pytest.mark.parametrize("case", sorted(SAME_WITH_CATEGORICALS))
def test_categorical_ids_get_the_same_error(case):
    df = ratings(**SAME_WITH_CATEGORICALS[case])
    with pytest.raises(DataValidationError) as as_text:
        CARD.score(df)
    with pytest.raises(DataValidationError) as as_codes:
        CARD.score(categorical(df))
    assert str(as_codes.value) == str(as_text.value)
    assert "r1" in str(as_text.value) or "r2" in str(as_text.value) or "<missing>" in str(as_text.value)


def test_validation_collects_all_problems_at_once():
    """Three different problems in one ratings table come back together, one row each, in the
    failures table (column, check, failing values, row ids)."""
    bad = ratings(rating=[1.0, 7, 1, 1, 1, 5, "x", 1], category=["Product knowledge", "Tone", "Solution", "Spelling"] * 2)
    with pytest.raises(DataValidationError) as info:
        CARD.score(bad)
    f = info.value.failures
    assert set(f["column"]) == {"rating", "category"}
    assert len(f) == 3
    assert f.set_index("check").filter(like="not a number", axis=0)["row_ids"].iloc[0] == ["r2"]


# --- itemised exclusions instead of errors ------------------------------------------------------------------------
def test_all_na_review_is_excluded_not_scored_zero():
    r = ratings(rating=[1.0, 4, 1, 1] + [np.nan] * 4)
    s = CARD.score(r)
    assert s.set_index("review_id").loc["r1", "iqs"] == pytest.approx(100 * (1.5 + 0.75 + 1.25 + 0.5) / 4.25)
    assert math.isnan(s.set_index("review_id").loc["r2", "iqs"])
    assert exclusions(s)[["reason", "n"]].values.tolist() == [["all categories N/A: review not scored", 1]]


def test_response_before_creation_is_itemised():
    c = conversations(first_response_at=["2026-11-02 08:00Z", "2026-11-02 10:30Z", "2026-11-03 09:10Z"])
    res = K.first_response_time(c, min_n=0)
    assert res["n"].iloc[0] == 2
    assert exclusions(res).set_index("reason").loc["first response: first_response_at before created_at", "row_ids"] == ("c1",)


def test_resolution_before_response_is_flagged():
    c = conversations(resolved_at=["2026-11-02 09:02Z", "2026-11-02 12:00Z", "2026-11-03 12:00Z"])
    ex = exclusions(K.resolution_time(c, min_n=0)).set_index("reason")
    assert ex.loc["flagged (kept): resolved before the first response", "row_ids"] == ("c1",)


def test_open_conversations_kept_in_backlog_and_itemised_elsewhere():
    c = conversations(resolved_at=["2026-11-02 11:00Z", None, None], status=["solved", "open", "pending"])
    assert K.backlog(c, period="D")["backlog"].iloc[-1] == 2
    ex = exclusions(K.resolution_time(c, min_n=0)).set_index("reason")
    assert ex.loc["open: not resolved yet", "row_ids"] == ("c2", "c3")


def test_unanswered_survey_is_excluded_and_counted():
    res = K.csat_score(surveys(score=[5.0, None]), min_n=0)
    assert res[["n", "n_excluded"]].iloc[0].tolist() == [1, 1]
    assert exclusions(res)["row_ids"].iloc[0] == ("c2",)


def test_timezone_offsets_are_converted_not_refused():
    """Aware timestamps with different offsets are fine: 09:00+01:00 and 08:00Z are the same instant."""
    c = conversations(created_at=["2026-11-02 09:00+01:00", "2026-11-02 10:00Z", "2026-11-03 09:00Z"],
                      first_response_at=["2026-11-02 08:30Z", "2026-11-02 10:30Z", "2026-11-03 09:10Z"])
    res = K.first_response_time(c, min_n=0)
    assert res["first_response_time_mean"].iloc[0] == pytest.approx((0.5 + 0.5 + 10 / 60) / 3)


def test_bom_and_semicolons_are_read(tmp_path):
    data = "\ufeffconversation_id;kind;score;answered_at\nc1;csat;5;2026-11-03 09:00Z\n".encode("utf-8")
    df = read_table(write(tmp_path, "s.csv", data), "surveys")
    assert list(df.columns)[:2] == ["conversation_id", "kind"] and df["score"].iloc[0] == 5.0


def test_accents_read_with_the_stated_encoding(tmp_path):
    data = "conversation_id,kind,score,answered_at,agent_id\nc1,csat,5,,Jos\u00e9\n".encode("cp1252")
    df = read_table(write(tmp_path, "s.csv", data), "surveys", encoding="cp1252")
    assert df["agent_id"].iloc[0] == "Jos\u00e9"


# --- properties over generated frames -----------------------------------------------------------------------------
rating_values = st.one_of(st.sampled_from([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, np.nan]), st.text(max_size=3),
                          st.floats(allow_nan=True, allow_infinity=True))


@pytest.mark.slow  # hypothesis over generated cards and ratings
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rating_values, min_size=8, max_size=8))
def test_scorer_never_returns_a_wrong_number(values):
    """Whatever lands in the rating column, the scorer either raises DataValidationError naming
    the rating column, or returns scores in [0, 100] / NaN with all-N/A reviews itemised."""
    r = ratings(rating=pd.Series(values, dtype=object))
    try:
        s = CARD.score(r)
    except DataValidationError as e:
        assert set(e.failures["column"]) <= {"rating"}
        return
    v = s["iqs"].to_numpy(dtype=float)
    assert np.all(np.isnan(v) | ((v >= 0) & (v <= 100)))
    assert exclusions(s)["n"].sum() == np.isnan(v).sum()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet="abc,;\"\n\u00e9 12", max_size=12), min_size=1, max_size=6))
def test_reader_raises_only_qakit_errors(tmp_path, cells):
    """Arbitrary small CSV text never crashes the reader with a non-qakit exception."""
    from qakit.errors import QakitError

    p = tmp_path / "x.csv"
    p.write_text("conversation_id,kind,score,answered_at\n" + "\n".join(cells), encoding="utf-8")
    try:
        df = read_table(p, "surveys")
    except QakitError:
        return
    assert set(df["kind"]) <= {"csat", "nps", "ces"}


def test_categorical_ids_that_merge_as_text_are_still_checked():
    """Review ids 1 (a number) and "1" (text) are two categories but one id once read as text:
    their rows form two runs of codes, yet the duplicate (review, category) they make together
    must be refused, not scored twice."""
    df = ratings(review_id=pd.Categorical([1] * 4 + ["1"] * 4), conversation_id="c1",
                 category=pd.Categorical(["Product knowledge", "Tone", "Solution", "Grammar"] * 2))
    with pytest.raises(DataValidationError, match=r"duplicate key \(review_id, category\) \(8 row\(s\)\).*'1 / Product knowledge'"):
        CARD.score(df)


# ==================================================================================================
# io branch (issue 12, input side): time, identity, readers, exports. Each case: (call, exception,
# [regexes the message must match]) -- the column, the offending values and row ids are named.
# ==================================================================================================
def validated(table: str, df: pd.DataFrame, **kw) -> pd.DataFrame:
    return S.validate(df, table, **kw)


def parquet(tmp_path, name: str, df: pd.DataFrame) -> str:
    p = tmp_path / name
    df.to_parquet(p)
    return str(p)


SURVEY_HEAD = b"conversation_id,kind,score,answered_at\n"
_DAYFIRST = r"dayfirst=True \(dd/mm/yyyy\) or dayfirst=False \(mm/dd/yyyy\)"
IO_ERRORS = {
    # time: one day/month order per column, never guessed per row
    "day-first and month-first dates in one column": (
        lambda t: validated("conversations", conversations(created_at=["01/02/2026", "13/02/2026", "02/23/2026"])),
        DataValidationError, [r"column 'created_at': mixes day-first and month-first dates", _DAYFIRST,
                              r"\['13/02/2026', '02/23/2026'\]", r"\['c2', 'c3'\]"]),
    "every slash date ambiguous": (
        lambda t: validated("conversations", conversations(created_at=["01/02/2026", "03/02/2026", "02/03/2026"])),
        DataValidationError, [r"column 'created_at': ambiguous day/month order", _DAYFIRST, r"'01/02/2026'", r"\['c1', 'c2', 'c3'\]"]),
    "dotted dates ambiguous": (
        lambda t: validated("surveys", surveys(answered_at=["01.02.2026 10:00", "02.03.2026 11:00"])),
        DataValidationError, [r"column 'answered_at': ambiguous day/month order", r"\['01.02.2026 10:00', '02.03.2026 11:00'\]"]),
    "dayfirst=True but a month > 12": (
        lambda t: validated("conversations", conversations(created_at=["01/02/2026", "02/13/2026", "03/02/2026"]), dayfirst=True),
        DataValidationError, [r"column 'created_at': not a valid day-first \(dd/mm/yyyy\) date \(month > 12\)", r"\['02/13/2026'\]", r"\['c2'\]"]),
    "dayfirst=False but a month > 12": (
        lambda t: validated("conversations", conversations(created_at=["01/02/2026", "13/02/2026", "03/02/2026"]), dayfirst=False),
        DataValidationError, [r"not a valid month-first \(mm/dd/yyyy\) date", r"\['13/02/2026'\]", r"\['c2'\]"]),
    "dayfirst that is not a bool": (
        lambda t: validated("conversations", conversations(), dayfirst="yes"),
        ParameterError, [r"dayfirst must be True, False or None; got 'yes'"]),
    "a time with no date": (
        lambda t: validated("conversations", conversations(created_at=["2026-11-02 09:00Z", "10:00", "2026-11-03 09:00Z"])),
        DataValidationError, [r"column 'created_at': a time with no date \(never read as today\)", r"\['10:00'\]", r"\['c2'\]"]),
    "a 12-hour time with no date": (
        lambda t: validated("surveys", surveys(answered_at=["2026-11-03 09:00", "9:30 pm"])),
        DataValidationError, [r"column 'answered_at': a time with no date", r"\['9:30 pm'\]", r"\['c2'\]"]),
    "date before 1677": (
        lambda t: validated("surveys", surveys(answered_at=["1500-01-01", "2026-11-03"])),
        DataValidationError, [r"column 'answered_at': timestamp outside the supported range 1677-09-21 \.\. 2262-04-11", r"\['1500-01-01'\]", r"\['c1'\]"]),
    "naive date after 2262": (
        lambda t: validated("surveys", surveys(answered_at=["2026-11-03", "2300-01-01 10:00"])),
        DataValidationError, [r"column 'answered_at': timestamp outside the supported range", r"\['2300-01-01 10:00'\]", r"\['c2'\]"]),
    "aware date after 2262": (
        lambda t: validated("surveys", surveys(answered_at=["2026-11-03Z", "2500-01-01T00:00:00+00:00"])),
        DataValidationError, [r"column 'answered_at': timestamp outside the supported range", r"\['2500-01-01T00:00:00\+00:00'\]", r"\['c2'\]"]),
    "datetime column (seconds) in the year 1500": (
        lambda t: validated("surveys", surveys(answered_at=pd.Series(np.array(["2026-11-03", "1500-01-01"], dtype="datetime64[s]")))),
        DataValidationError, [r"column 'answered_at': timestamp outside the supported range", r"\['c2'\]"]),
    "DST gap in Europe/Berlin": (
        lambda t: validated("conversations", conversations(created_at=["2026-03-29 01:30", "2026-03-29 02:30", "2026-03-29 03:30"]), tz="Europe/Berlin"),
        DataValidationError, [r"column 'created_at': local time does not exist in Europe/Berlin \(DST gap\)", r"\['2026-03-29 02:30'\]", r"\['c2'\]"]),
    "DST overlap in Europe/Berlin": (
        lambda t: validated("conversations", conversations(created_at=["2026-10-25 01:30", "2026-10-25 02:30", "2026-10-25 03:30"]), tz="Europe/Berlin"),
        DataValidationError, [r"column 'created_at': local time is ambiguous in Europe/Berlin \(DST overlap\)", r"\['2026-10-25 02:30'\]", r"\['c2'\]"]),
    "DST gap in a datetime column": (
        lambda t: validated("conversations", conversations(created_at=pd.to_datetime(["2026-03-29 01:30", "2026-03-29 02:30", "2026-03-29 03:30"])), tz="Europe/Berlin"),
        DataValidationError, [r"does not exist in Europe/Berlin \(DST gap\)", r"\['c2'\]"]),
    "N/A in a required timestamp": (
        lambda t: validated("conversations", conversations(created_at=["2026-11-02 09:00Z", "N/A", "2026-11-03 09:00Z"])),
        DataValidationError, [r"column 'created_at': empty value in a required column", r"\['N/A'\]", r"\['c2'\]"]),
    "null in a required boolean": (
        lambda t: validated("calls", pd.DataFrame({"call_id": ["k1", "k2"], "agent_id": "a1", "created_at": "2026-11-02 09:00Z",
                                                   "answered": ["yes", "null"]})),
        DataValidationError, [r"column 'answered': empty value in a required column", r"\['null'\]", r"\['k2'\]"]),
    # identity
    "float ids beyond 2**53 (1e20, 2e20)": (
        lambda t: validated("conversations", conversations(conversation_id=[1e20, 2e20, 3.0])),
        DataValidationError, [r"column 'conversation_id': id stored as a float of magnitude >= 2\*\*53", r"export the ids as text",
                              r"\['100000000000000000000', '200000000000000000000'\]"]),
    "float ids beyond 2**53 from Parquet": (
        lambda t: read_table(parquet(t, "c.parquet", conversations(conversation_id=[1e20, 2e20, 3.0])), "conversations"),
        DataValidationError, [r"column 'conversation_id': id stored as a float of magnitude >= 2\*\*53", r"200000000000000000000"]),
    "categorical float ids beyond 2**53": (
        lambda t: validated("conversations", conversations(conversation_id=pd.Categorical([1e20, 2e20, 3.0]))),
        DataValidationError, [r"column 'conversation_id': id stored as a float of magnitude >= 2\*\*53"]),
    "infinite float id": (
        lambda t: validated("conversations", conversations(customer_id=[1.0, np.inf, 2.0])),
        DataValidationError, [r"column 'customer_id': not a valid id \(infinite\)", r"\[inf\]", r"\['c2'\]"]),
    "agent ids differing only by case": (
        lambda t: validated("conversations", conversations(agent_id=["Ann", "ann", "Bob"])),
        DataValidationError, [r"column 'agent_id': ids that differ only by case or width are not merged silently: 'Ann' / 'ann'",
                              r"id_normalize='casefold'", r"\['Ann', 'ann'\]", r"\['c1', 'c2'\]"]),
    "full-width agent id": (
        lambda t: validated("conversations", conversations(agent_id=["A1", "\uff21\uff11", "B2"])),
        DataValidationError, [r"ids that differ only by case or width.*'A1' / '\uff21\uff11'", r"\['c1', 'c2'\]"]),
    "categorical agent ids differing by case": (
        lambda t: validated("conversations", conversations(agent_id=pd.Categorical(["a1", "A1", "b"]))),
        DataValidationError, [r"column 'agent_id': ids that differ only by case or width.*'A1' / 'a1'", r"\['c1', 'c2'\]"]),
    "case-variant agent in the scorer": (
        lambda t: CARD.score(ratings(agent_id=["a1"] * 4 + ["A1"] * 4)),
        DataValidationError, [r"column 'agent_id': ids that differ only by case or width", r"\['r1', 'r1'"]),
    "unknown id_normalize": (
        lambda t: validated("conversations", conversations(), id_normalize="lower"),
        ParameterError, [r"id_normalize must be one of None, 'casefold'; got 'lower'"]),
    # readers
    "mapping onto a column that exists": (
        lambda t: read_table(write(t, "s.csv", b"Agent Name,agent_id,conversation_id,kind,score,answered_at\nx,y,c1,csat,5,\n"),
                             "surveys", mapping={"Agent Name": "agent_id"}),
        ParameterError, [r"s.csv: mapping renames \['Agent Name'\] to \['agent_id'\], but the file already has column\(s\) \['agent_id'\]"]),
    "mapping two columns to one name": (
        lambda t: read_table(write(t, "s.csv", b"A,B,conversation_id,kind,score,answered_at\nx,y,c1,csat,5,\n"),
                             "surveys", mapping={"A": "agent_id", "B": "agent_id"}),
        ParameterError, [r"s.csv: mapping sends several columns to \['agent_id'\]"]),
    "corrupt Parquet": (
        lambda t: read_table(write(t, "s.parquet", b"PAR1" + b"\x00garbage" * 10 + b"PAR1"), "surveys"),
        ParameterError, [r"s.parquet: not a readable Parquet file \("]),
    "truncated Parquet": (
        lambda t: read_table(write(t, "s.parquet", __import__("pathlib").Path(parquet(t, "full.parquet", surveys())).read_bytes()[:200]), "surveys"),
        ParameterError, [r"s.parquet: not a readable Parquet file"]),
    "corrupt gzip": (
        lambda t: read_table(write(t, "s.csv.gz", b"\x1f\x8b\x08\x00not gzip at all"), "surveys"),
        ParameterError, [r"s.csv.gz: not a readable gzip file .*check that the download is complete"]),
    "truncated gzip": (
        lambda t: read_table(write(t, "s.csv.gz", __import__("gzip").compress(SURVEY_HEAD + "".join(f"c{i},csat,{i % 5 + 1},\n" for i in range(50_000)).encode())[:3000]), "surveys"),
        ParameterError, [r"s.csv.gz: not a readable gzip file"]),
    "UTF-16 file read with a cp1252 hint": (
        lambda t: read_table(write(t, "s.csv", (SURVEY_HEAD + b"c1,csat,5,\n").decode().encode("utf-16")), "surveys", encoding="cp1252"),
        ParameterError, [r"s.csv: the file is utf-16 \(little-endian\), not 'cp1252' as given; pass encoding='utf-16'"]),
    "UTF-16 file without a hint": (
        lambda t: read_table(write(t, "s.csv", (SURVEY_HEAD + b"c1,csat,5,\n").decode().encode("utf-16")), "surveys"),
        ParameterError, [r"s.csv: the file is utf-16 \(little-endian\), not UTF-8; pass encoding='utf-16'"]),
    "10-million-character cell": (
        lambda t: read_table(write(t, "s.csv", SURVEY_HEAD + b"c1,csat," + b"x" * 10_000_000 + b",\n"), "surveys"),
        DataValidationError, [r"column 'score': not a number", r"'xxxxx.*\.\.\.' \(10,000,000 characters\)", r"\['c1'\]"]),
    "10-million-character cell, streaming reader": (
        lambda t: read_table(write(t, "s.csv", SURVEY_HEAD + b"c1,csat," + b"x" * 10_000_000 + b",\n"), "surveys", progress=True),
        DataValidationError, [r"column 'score': not a number", r"\(10,000,000 characters\)", r"\['c1'\]"]),
    "10-million-character id in a bad row": (
        lambda t: read_table(write(t, "s.csv", SURVEY_HEAD + b"c" * 10_000_000 + b",csat,11,\n"), "surveys"),
        DataValidationError, [r"csat score outside", r"'ccccc.*\.\.\.' \(10,000,000 characters\)"]),
}


IO_ERRORS.update({
    "aware date in the year 9999": (
        lambda t: validated("surveys", surveys(answered_at=["2026-11-03Z", "9999-12-31Z"])),
        DataValidationError, [r"column 'answered_at': timestamp outside the supported range", r"\['9999-12-31Z'\]", r"\['c2'\]"]),
    "reviewer ids differing only by case in the scorer": (
        lambda t: CARD.score(ratings(reviewer_id=["q1"] * 4 + ["Q1"] * 4)),
        DataValidationError, [r"column 'reviewer_id': ids that differ only by case or width.*'Q1' / 'q1'", r"\['r1', 'r1'"]),
    "categorical infinite id": (
        lambda t: validated("conversations", conversations(customer_id=pd.Categorical([1.0, np.inf, 1.0]))),
        DataValidationError, [r"column 'customer_id': not a valid id \(infinite\)", r"\['c2'\]"]),
    "a time with seconds and no date": (
        lambda t: validated("surveys", surveys(answered_at=["23:59:59", "2026-11-03 10:00"])),
        DataValidationError, [r"column 'answered_at': a time with no date", r"\['23:59:59'\]", r"\['c1'\]"]),
    "two-digit-year dates all ambiguous": (
        lambda t: validated("surveys", surveys(answered_at=["01/02/26", "03/04/26"])),
        DataValidationError, [r"column 'answered_at': ambiguous day/month order", r"\['01/02/26', '03/04/26'\]"]),
    "plain text named .gz": (
        lambda t: read_table(write(t, "s.csv.gz", SURVEY_HEAD + b"c1,csat,5,\n"), "surveys"),
        ParameterError, [r"s.csv.gz: not a readable gzip file \(Not a gzipped file"]),
    "CSV named .parquet": (
        lambda t: read_table(write(t, "s.parquet", SURVEY_HEAD + b"c1,csat,5,\n"), "surveys"),
        ParameterError, [r"s.parquet: not a readable Parquet file"]),
    "UTF-16 big-endian file": (
        lambda t: read_table(write(t, "s.csv", b"\xfe\xff" + (SURVEY_HEAD + b"c1,csat,5,\n").decode().encode("utf-16-be")), "surveys"),
        ParameterError, [r"s.csv: the file is utf-16 \(big-endian\), not UTF-8"]),
    "UTF-16 without a byte order mark, read as UTF-8": (
        lambda t: read_table(write(t, "s.csv", (SURVEY_HEAD + b"c1,csat,5,\n").decode().encode("utf-16-le")), "surveys", encoding="utf-8"),
        ParameterError, [r"s.csv: the file is utf-16 \(NUL bytes between the characters\), not 'utf-8' as given"]),
    "free text in a timestamp column": (
        lambda t: validated("surveys", surveys(answered_at=["2026-11-03Z", "next tuesday"])),
        DataValidationError, [r"column 'answered_at': unparseable timestamp", r"\['next tuesday'\]", r"\['c2'\]"]),
})


@pytest.mark.parametrize("case", sorted(IO_ERRORS))
def test_io_bad_input_raises_clear_error(case, tmp_path):
    fn, exc, patterns = IO_ERRORS[case]
    with pytest.raises(exc) as info:
        fn(tmp_path)
    msg = str(info.value)
    assert len(msg) < 3000, f"{case}: message not bounded ({len(msg):,} characters)"
    for pat in patterns:
        assert re.search(pat, msg, flags=re.S), f"{case}: {pat!r} not in {msg!r}"


# ======================================================================================================================
# Issue 12, KPI and statistics side (branch kpi): censoring, one CSAT definition, numbers that cannot be, parameters,
# SLA targets, business hours. Errors first (same shape as ERRORS), then cases answered by an itemised exclusion.
# ======================================================================================================================
from qakit import stats as ST  # noqa: E402


def ten_point(n: int = 6) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores and a 1-10 CSAT (answers 5..10) for n conversations c0.. of agents a0/a1."""
    ids = [f"c{i}" for i in range(n)]
    scores = pd.DataFrame({"review_id": ids, "conversation_id": ids, "agent_id": [f"a{i % 2}" for i in range(n)],
                           "iqs": [50.0 + 7 * i for i in range(n)], "passed": True})
    sv = pd.DataFrame({"conversation_id": ids, "kind": "csat", "score": [5.0 + i % 6 for i in range(n)],
                       "answered_at": None})
    return scores, sv


def kpi_card_ratings() -> pd.DataFrame:
    return ratings(conversation_id=["c0"] * 4 + ["c1"] * 4)


OFF_1_5 = [r"column 'score': csat score outside the scale 1\.\.5; pass scale=", r"\[6, 7, 8, 9, 10\]", r"\['c1', 'c2', 'c3', 'c4', 'c5'\]"]
KPI_ERRORS = {
    # one CSAT definition: off the configured scale is an error naming column, values, row ids (hint scale=)
    "1-10 CSAT read on the default 1-5": (lambda t: K.csat_score(ten_point()[1]), DataValidationError, OFF_1_5),
    "CSAT below the scale": (lambda t: K.csat_score(surveys(score=[5.0, 0.5])), DataValidationError,
                             [r"csat score outside the scale 1\.\.5", r"\[0\.5\]", r"\['c2'\]"]),
    "CSAT 0-10 answers on the 1-10 preset": (lambda t: K.csat_score(surveys(score=[0.0, 9.0]), scale="1-10"), DataValidationError,
                                             [r"outside the scale 1\.\.10", r"\[0\]", r"\['c1'\]"]),
    "point-biserial on a 1-10 CSAT": (lambda t: ST.iqs_csat_correlation(*ten_point(), method="point_biserial"), DataValidationError, OFF_1_5),
    "agent CSAT on a 1-10 CSAT": (lambda t: ST.agent_summary(*ten_point(), min_n=0), DataValidationError, OFF_1_5),
    "join_csat on a 1-10 CSAT": (lambda t: ST.join_csat(*ten_point()), DataValidationError, OFF_1_5),
    "key drivers on a 1-10 CSAT": (lambda t: ST.key_drivers(kpi_card_ratings(), CARD, ten_point()[1]), DataValidationError, OFF_1_5),
    "category correlations on a 1-10 CSAT": (lambda t: ST.category_correlations(kpi_card_ratings(), CARD, ten_point()[1]),
                                             DataValidationError, OFF_1_5),
    "kpi_summary on a 1-10 CSAT": (lambda t: K.kpi_summary(conversations(conversation_id=[f"c{i}" for i in range(3)]), ten_point()[1]),
                                   DataValidationError, OFF_1_5),
    "satisfied set that is not the top of the scale": (lambda t: K.csat_score(surveys(), satisfied=(3, 5)), ParameterError,
                                                      [r"satisfied=\(3, 5\) is not the top of the scale 1\.\.5", r"satisfied=4 means score >= 4"]),
    "satisfied threshold off the scale": (lambda t: K.csat_score(surveys(), scale="1-10", satisfied=11), ParameterError,
                                          [r"satisfied must be a finite number >= 1 and <= 10; got 11"]),
    "satisfied threshold NaN": (lambda t: K.csat_score(surveys(), satisfied=float("nan")), ParameterError,
                                [r"satisfied must be a finite number >= 1 and <= 5; got nan"]),
    "unknown CSAT scale preset": (lambda t: K.csat_score(surveys(), scale="1-100"), ParameterError,
                                  [r"scale must be one of '1-5', '1-7', '1-10', '0-10'; got '1-100'"]),
    "scale tuple without a threshold": (lambda t: K.csat_score(surveys(), scale=(2, 9)), ParameterError,
                                        [r"scale=\(2, 9\) needs a satisfied threshold", r"CsatScale\(2, 9, satisfied_from=\.\.\.\)"]),
    "CSAT scale upside down": (lambda t: K.CsatScale(5, 1, 3), ParameterError, [r"CSAT scale: high \(1\) must be above low \(5\)"]),
    "CSAT threshold outside its scale": (lambda t: K.CsatScale(1, 5, 6), ParameterError, [r"satisfied_from must be a finite number >= 1 and <= 5; got 6"]),
    "report with an unknown CSAT scale": (lambda t: load_report_data(csat_scale="5-star"), ParameterError, [r"scale must be one of .*got '5-star'"]),
    # numbers that cannot be
    "handle time inf": (lambda t: K.handle_time(conversations(handle_time_s=[60.0, np.inf, 30.0])), DataValidationError,
                        [r"column 'handle_time_s': not a finite number \(inf\)", r"\[inf\]", r"\['c2'\]"]),
    "contacts inf": (lambda t: K.interactions_per_issue(conversations(contacts=[1.0, 2.0, np.inf])), DataValidationError,
                     [r"column 'contacts': not a finite number \(inf\)", r"\['c3'\]"]),
    "contacts inf in the FCR rule": (lambda t: K.fcr_rate(conversations(contacts=[np.inf, 1.0, 1.0]), rule="contacts"), DataValidationError,
                                     [r"column 'contacts': not a finite number \(inf\)", r"\['c1'\]"]),
    "customer value -inf": (lambda t: K.customer_cost_value(conversations(customer_value=[10.0, -np.inf, 5.0]), cost_per_contact=5),
                            DataValidationError, [r"column 'customer_value': not a finite number \(inf\)", r"\[-inf\]", r"\['c2'\]"]),
    "agent replies inf": (lambda t: K.fcr_rate(conversations(agent_replies=[1.0, np.inf, 1.0]), rule="replies"), DataValidationError,
                          [r"column 'agent_replies': not a finite number \(inf\)", r"\['c2'\]"]),
    "speed of answer inf": (lambda t: K.service_level(pd.DataFrame({"call_id": ["k1", "k2"], "agent_id": "a", "created_at": "2026-01-05 09:00Z",
                                                                    "answered": [True, True], "speed_of_answer_s": [5.0, np.inf]})),
                            DataValidationError, [r"table 'calls', column 'speed_of_answer_s': not a finite number \(inf\)", r"\['k2'\]"]),
    "handle time inf in the cost": (lambda t: K.cost_per_contact(conversations(handle_time_s=[np.inf, 1.0, 1.0]), cost_per_hour=30),
                                    DataValidationError, [r"column 'handle_time_s': not a finite number", r"\['c1'\]"]),
    # parameters: one ParameterError each, one message style
    "cost per contact NaN": (lambda t: K.customer_cost_value(conversations(customer_value=1.0), cost_per_contact=float("nan")),
                             ParameterError, [r"cost_per_contact must be a finite number >= 0; got nan"]),
    "cost per contact inf": (lambda t: K.customer_cost_value(conversations(customer_value=1.0), cost_per_contact=float("inf")),
                             ParameterError, [r"cost_per_contact must be a finite number >= 0; got inf"]),
    "cost per hour inf": (lambda t: K.cost_per_contact(conversations(handle_time_s=1.0), cost_per_hour=float("inf")),
                          ParameterError, [r"cost_per_hour must be a finite number >= 0 \(or None\); got inf"]),
    "min_n as text": (lambda t: K.fcr_rate(conversations(), min_n="abc"), ParameterError, [r"min_n must be an integer >= 0; got 'abc'"]),
    "repeat_days NaN": (lambda t: K.fcr_rate(conversations(), repeat_days=float("nan")), ParameterError,
                        [r"repeat_days must be a finite number > 0; got nan"]),
    "repeat_days zero": (lambda t: K.fcr_rate(conversations(), repeat_days=0), ParameterError, [r"repeat_days must be a finite number > 0; got 0"]),
    "as_of not a time": (lambda t: K.fcr_rate(conversations(), as_of="end of month"), ParameterError,
                         [r"as_of must be a timestamp like '2026-10-31 23:59Z'; got 'end of month'"]),
    "SLA as_of not a time": (lambda t: K.sla_attainment(conversations(), as_of="soon"), ParameterError, [r"as_of must be a timestamp.*got 'soon'"]),
    "SLA target inf": (lambda t: K.sla_attainment(conversations(), targets={"high": float("inf")}), ParameterError,
                       [r"SLA target for priority 'high' must be a positive number of hours; got inf"]),
    "SLA target NaN": (lambda t: K.sla_attainment(conversations(), targets={"high": float("nan")}), ParameterError,
                       [r"SLA target for priority 'high' must be a positive number of hours; got nan"]),
    "SLA targets naming one priority twice": (lambda t: K.sla_attainment(conversations(), targets={"High": 4, " high": 2}), ParameterError,
                                              [r"SLA targets \['High', ' high'\] name the same priority"]),
    "SLA goal above 100": (lambda t: K.sla_attainment(conversations(), goal=150), ParameterError, [r"goal must be a finite number >= 0 and <= 100; got 150"]),
    "max_hours negative": (lambda t: K.first_response_time(conversations(), max_hours=-1), ParameterError,
                           [r"max_hours must be a finite number > 0; got -1"]),
    "service level threshold NaN": (lambda t: K.service_level(pd.DataFrame({"call_id": ["k1"], "agent_id": "a", "created_at": "2026-01-05 09:00Z",
                                                                            "answered": [True], "speed_of_answer_s": [5.0]}),
                                                              threshold_s=float("nan")),
                                    ParameterError, [r"threshold_s must be a finite number >= 0; got nan"]),
    "confidence level as percent": (lambda t: K.csat_score(surveys(), level=95), ParameterError, [r"level must be a finite number > 0 and < 1; got 95"]),
    "backlog period unknown": (lambda t: K.backlog(conversations(), period="fortnight"), ParameterError, [r"period must be one of 'D', 'W', 'M', 'Q', 'Y'; got 'fortnight'"]),
    "business hours weekday 7": (lambda t: K.BusinessHours(schedule={7: ("09:00", "17:00")}), ParameterError,
                                 [r"weekday must be 0 \(Monday\) \.\. 6 \(Sunday\); got 7"]),
    "business hours 25:00": (lambda t: K.BusinessHours(schedule={0: ("09:00", "25:00")}), ParameterError,
                             [r"business hours must be 'HH:MM' strings; got '25:00'"]),
    "CES scale upside down": (lambda t: K.ces_score(surveys(kind="ces", score=[5.0, 6.0]), scale=(7, 1)), ParameterError,
                              [r"scale must be \(low, high\) with high > low; got \(7, 1\)"]),
    "CES direction not a boolean": (lambda t: K.ces_score(surveys(kind="ces", score=[5.0, 6.0]), higher_is_better="no"), ParameterError,
                                    [r"higher_is_better must be True or False; got 'no'"]),
    "resolved statuses as one string": (lambda t: K.resolution_rate(conversations(), resolved_statuses="solved"), ParameterError,
                                        [r"resolved_statuses must be a list of status names.*got 'solved'"]),
    "business hours not a BusinessHours": (lambda t: K.first_response_time(conversations(), business_hours={0: ("09:00", "17:00")}),
                                           ParameterError, [r"business_hours must be a qakit.kpis.BusinessHours; got dict"]),
    "business hours bad holiday": (lambda t: K.BusinessHours(holidays=["2026-12-25", "xmas"]), ParameterError,
                                   [r"unparseable holiday dates \['xmas'\]"]),
}


@pytest.mark.parametrize("case", sorted(KPI_ERRORS))
def test_kpi_bad_input_raises_clear_error(case, tmp_path):
    fn, exc, patterns = KPI_ERRORS[case]
    with pytest.raises(exc) as info:
        fn(tmp_path)
    msg = str(info.value)
    for pat in patterns:
        assert re.search(pat, msg, flags=re.S), f"{case}: {pat!r} not in {msg!r}"


# --- answered by an itemised exclusion (the rows are named; the number is computed without them) ---------------------
KPI_EXCLUSIONS = {
    # FCR: c3 (Nov 3) and c1/c2 (Nov 2) all have a 7-day window past the data's end: not judged either way
    "FCR window past as_of": (lambda: K.fcr_rate(conversations(), min_n=0),
                              "not judged: repeat window (repeat_days=7) not complete by as_of 2026-11-03 12:00 UTC", ("c1", "c2", "c3")),
    "SLA open and within target": (lambda: K.sla_attainment(conversations(resolved_at=["2026-11-02 11:00Z", None, "2026-11-03 12:00Z"]),
                                                            as_of="2026-11-02 12:00Z", min_n=0),
                                   "open and still within target at as_of 2026-11-02 12:00 UTC: outcome not known yet (censored)", ("c2",)),
    "SLA priority without a target": (lambda: K.sla_attainment(conversations(priority=["high", "critical", "Critical "]), targets={"high": 4}, min_n=0),
                                      "no SLA target for priority 'critical' (targets: ['high'])", ("c2", "c3")),
    "backlog resolved before created": (lambda: K.backlog(conversations(resolved_at=["2026-11-01 11:00Z", None, None]), period="D"),
                                        "resolved_at before created_at: neither opened nor closed (it would make the backlog negative)", ("c1",)),
    "unanswered survey in a correlation": (lambda: ST.join_csat(*[ten_point()[0], ten_point()[1].assign(score=[1.0, None, 3, 4, 5, 5])]),
                                           "survey sent but not answered (no score)", ("c1",)),
    "unanswered NPS survey": (lambda: K.nps_score(surveys(kind="nps", score=[9.0, None]), min_n=0), "survey answer without a score", ("c2",)),
    "open conversation in resolution time": (lambda: K.resolution_time(conversations(resolved_at=[None, "2026-11-02 12:00Z", "2026-11-03 12:00Z"]), min_n=0),
                                             "open: not resolved yet", ("c1",)),
    "open conversation in FCR": (lambda: K.fcr_rate(conversations(resolved_at=[None, "2026-11-02 12:00Z", "2026-11-03 12:00Z"], status=["open", "solved", "solved"]),
                                                    repeat_days=0.01, min_n=0),
                                 "open: not resolved yet", ("c1",)),
}


@pytest.mark.parametrize("case", sorted(KPI_EXCLUSIONS))
def test_kpi_bad_input_is_itemised(case):
    fn, reason, ids = KPI_EXCLUSIONS[case]
    ex = exclusions(fn()).set_index("reason")
    assert ex.loc[reason, "row_ids"] == ids


def test_orphans_compare_ids_as_text_whatever_their_storage():
    """``qakit.schema.orphans`` (the report's check of ratings and surveys against the
    conversations): by hand, child ids c1, c9, missing, c2 against parent c1, c2 -> orphans
    [no, yes, yes, no], the same for text, categorical (a category no row uses, c7) and integer
    keys against text ones; a missing key matches only a missing parent key."""
    orphans = S.orphans
    parent = pd.DataFrame({"conversation_id": ["c1", "c2"]})
    raw = ["c1", "c9", None, "c2"]
    text = pd.DataFrame({"conversation_id": pd.Series(raw, dtype="str")})
    cat = pd.DataFrame({"conversation_id": pd.Categorical(raw, categories=["c1", "c2", "c7", "c9"])})
    for child in (text, cat):
        assert orphans(child, parent).tolist() == [False, True, True, False]
    with_missing = pd.DataFrame({"conversation_id": pd.Series(["c1", None], dtype="str")})
    assert orphans(cat, with_missing).tolist() == [False, True, False, True]
    assert orphans(pd.DataFrame({"conversation_id": [12, 13]}), pd.DataFrame({"conversation_id": ["12"]})).tolist() == [
        False, True]
