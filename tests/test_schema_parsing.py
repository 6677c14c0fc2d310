"""Parsing policies of the data contract (qakit.schema): day/month order, times without dates,
id normalisation (whitespace, Unicode form, case/width), float ids, missing-value words.

The refusals are in tests/test_bad_input.py (IO_ERRORS); these tests pin what is *accepted*
and how: the parsed values (worked out by hand below) and the adjustment each change leaves.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pytest

from qakit import kpis as K
from qakit import schema as S
from qakit.errors import DataValidationError
from qakit.io import read_table


def conv(**over) -> pd.DataFrame:
    df = pd.DataFrame({
        "conversation_id": ["c1", "c2", "c3"], "customer_id": ["u1", "u2", "u3"], "agent_id": "a1",
        "channel": "chat", "priority": "high", "status": "solved",
        "created_at": ["2026-11-02 09:00Z", "2026-11-02 10:00Z", "2026-11-03 09:00Z"],
        "first_response_at": ["2026-11-02 09:30Z", "2026-11-02 11:00Z", "2026-11-03 09:15Z"],
        "resolved_at": None})
    for k, v in over.items():
        df[k] = v
    return df


def days(s: pd.Series) -> list[str]:
    return s.dt.strftime("%Y-%m-%d").tolist()


def test_day_first_proved_by_one_row_applies_to_the_whole_column():
    """13/02/2026 can only be 13 Feb, so the column is day-first: 01/02 -> 1 Feb, 02/03 -> 2 Mar
    (a per-row guess would read them as 2 Jan and 3 Feb); the two rows whose reading depended on
    that are itemised as an adjustment."""
    out = S.validate(conv(created_at=["01/02/2026", "13/02/2026", "02/03/2026"]), "conversations")
    assert days(out["created_at"]) == ["2026-02-01", "2026-02-13", "2026-03-02"]
    adj = S.adjustments(out)
    assert adj["row_ids"].tolist() == [("c1", "c3")]
    assert adj["reason"].iloc[0].startswith("created_at: 2 dates with both parts <= 12 read day-first (dd/mm)")


def test_month_first_proved_by_one_row():
    """02/23/2026 can only be 23 Feb: 01/02 -> 2 Jan, 03/04 -> 4 Mar."""
    out = S.validate(conv(created_at=["01/02/2026", "02/23/2026", "03/04/2026 10:00"]), "conversations")
    assert days(out["created_at"]) == ["2026-01-02", "2026-02-23", "2026-03-04"]
    assert out["created_at"].iloc[2].hour == 10


@pytest.mark.parametrize("dayfirst, expected", [(True, ["2026-02-01", "2026-02-03", "2026-03-02"]),
                                                (False, ["2026-01-02", "2026-03-02", "2026-02-03"])])
def test_the_order_can_be_said(dayfirst, expected):
    out = S.validate(conv(created_at=["01/02/2026", "03/02/2026", "02/03/2026"]), "conversations", dayfirst=dayfirst)
    assert days(out["created_at"]) == expected
    assert S.adjustments(out).empty and S.exclusions(out).empty  # nothing inferred, nothing to itemise


def test_unambiguous_forms_need_no_order():
    """ISO dates, equal day and month (05/05), and two-digit years (13/02/26 -> 2026)."""
    out = S.validate(conv(created_at=["2026-02-01", "05/05/2026", "2026-02-03T10:00"]), "conversations")
    assert days(out["created_at"]) == ["2026-02-01", "2026-05-05", "2026-02-03"]
    s = S.parse_datetimes(pd.Series(["13/02/26", "01/02/26"]))
    assert days(s) == ["2026-02-13", "2026-02-01"]


def test_dst_edges_that_do_exist_are_read():
    """01:30 and 03:30 local on 29 Mar 2026 (Berlin: UTC+1 before 02:00, UTC+2 after) are
    00:30Z and 01:30Z."""
    out = S.parse_datetimes(pd.Series(["2026-03-29 01:30", "2026-03-29 03:30"]), tz="Europe/Berlin")
    assert out.dt.strftime("%H:%M").tolist() == ["00:30", "01:30"]


def test_ids_lose_whitespace_and_unicode_form_with_an_adjustment():
    nfd = unicodedata.normalize("NFD", "Jos\u00e9")
    out = S.validate(conv(agent_id=["a1", " a1 ", nfd]), "conversations")
    assert out["agent_id"].tolist() == ["a1", "a1", "Jos\u00e9"]
    adj = S.adjustments(out).iloc[0]
    assert adj["column"] == "agent_id" and adj["n"] == 2 and adj["row_ids"] == ("c2", "c3")
    assert adj["reason"].startswith("agent_id: 2 values normalised (whitespace/Unicode form), e.g. ' a1 ' -> 'a1'")


def test_categorical_ids_are_normalised_on_the_categories():
    """Categories 'a1' and 'a1 ' become one category; rows keep their order, codes are merged."""
    raw = pd.Categorical(["a1", "a1 ", "b"])
    out = S.validate(conv(agent_id=raw), "conversations")
    assert isinstance(out["agent_id"].dtype, pd.CategoricalDtype)
    assert list(out["agent_id"].cat.categories) == ["a1", "b"]
    assert out["agent_id"].astype("str").tolist() == ["a1", "a1", "b"]
    assert S.adjustments(out)["row_ids"].tolist() == [("c2",)]


def test_clean_categorical_ids_are_not_copied():
    raw = pd.Series(pd.Categorical(["a1", "a2", "a1"]))
    out = S.validate(conv(agent_id=raw), "conversations")
    assert out["agent_id"].array.codes is raw.array.codes or np.shares_memory(out["agent_id"].array.codes, raw.array.codes)
    assert S.adjustments(out).empty and S.exclusions(out).empty


def test_casefold_merges_to_the_most_frequent_spelling():
    """'Ann' x2, 'ann' x1, full-width 'Ａnn' x1 -> all 'Ann' (the most frequent)."""
    df = pd.concat([conv(), conv().assign(conversation_id=["c4", "c5", "c6"])], ignore_index=True)
    df["agent_id"] = ["Ann", "ann", "Ann", "\uff21nn", "Bob", "Bob"]
    out = S.validate(df, "conversations", id_normalize="casefold")
    assert out["agent_id"].tolist() == ["Ann", "Ann", "Ann", "Ann", "Bob", "Bob"]
    adj = S.adjustments(out).iloc[0]
    assert adj["row_ids"] == ("c2", "c4") and "merged by case/width (id_normalize='casefold')" in adj["reason"]


def test_whole_float_ids_become_integers_and_others_stay_as_written():
    out = S.validate(conv(agent_id=[12.0, 12.5, np.nan], conversation_id=[1.0, 2.0, 2.0**53 - 1]), "conversations")
    assert out["agent_id"].iloc[:2].tolist() == ["12", "12.5"] and pd.isna(out["agent_id"].iloc[2])
    assert out["conversation_id"].tolist() == ["1", "2", "9007199254740991"]


def test_missing_words_mean_no_value_in_numbers_and_times_only():
    """score 'N/A', 'null', ' NaN ' -> unanswered (3 excluded, n = 1); answered_at 'null' -> NaT;
    agent_id 'NA' stays the text 'NA' (it may be someone's initials)."""
    sv = pd.DataFrame({"conversation_id": ["c1", "c2", "c3", "c4"], "kind": "csat",
                       "score": ["N/A", "null", " NaN ", "5"], "answered_at": ["null", "", "-", "2026-11-03 10:00Z"],
                       "agent_id": ["NA", "a1", "a1", "a1"]})
    out = S.validate(sv, "surveys")
    assert out["score"].isna().tolist() == [True, True, True, False]
    assert out["answered_at"].isna().sum() == 3 and out["agent_id"].iloc[0] == "NA"
    res = K.csat_score(sv, min_n=0)
    assert res[["n", "n_excluded"]].iloc[0].tolist() == [1, 3]


def test_adjustments_travel_from_the_reader_into_kpi_results(tmp_path):
    """read_table's record (ids normalised) is carried by a KPI computed from its table."""
    p = tmp_path / "c.csv"
    conv(agent_id=["a1", "a1 ", "a2"]).to_csv(p, index=False)
    table = read_table(p, "conversations")
    assert S.adjustments(table)["row_ids"].tolist() == [("c2",)]
    res = K.first_response_time(table, min_n=0)
    assert ("c2",) in S.adjustments(res)["row_ids"].tolist()


def test_real_call_centre_export_is_read_day_first(shared_data):
    """The call-centre export writes dates DD/MM/YYYY (Jan-Mar 2021). Its days 13-31 prove the
    order, so every date is read day-first -- checked against plain pandas with the format given
    explicitly -- and the rows whose date alone would have been ambiguous are itemised."""
    raw = pd.read_csv(shared_data / "call-centre" / "calls.csv", dtype="str", keep_default_na=False)
    calls = pd.DataFrame({"call_id": raw["call_id"], "agent_id": raw["agent"],
                          "created_at": raw["date"] + " " + raw["time"], "answered": raw["answered (Y/N)"]})
    out = S.validate(calls, "calls")
    expected = pd.to_datetime(calls["created_at"], format="%d/%m/%Y %H:%M:%S").dt.tz_localize("UTC")
    pd.testing.assert_series_equal(out["created_at"], expected, check_names=False, check_dtype=False)
    day, month = raw["date"].str[:2].astype(int), raw["date"].str[3:5].astype(int)
    ambiguous = (day <= 12) & (day != month)
    adj = S.adjustments(out).set_index("column").loc["created_at"]
    assert adj["n"] == int(ambiguous.sum()) > 0
    with pytest.raises(DataValidationError, match=r"column 'created_at': not a valid month-first \(mm/dd/yyyy\) date"):
        S.validate(calls, "calls", dayfirst=False)


def test_record_ids_are_stripped_but_case_sensitive():
    """Conversation ids come from systems whose ids may be case-sensitive (base62): 'Ab1' and
    'ab1' stay two conversations; ' c9 ' and 'c9\\u00a0' (no-break space) lose their spaces, and
    then collide with 'c9' as a duplicate key -- refused, not merged."""
    out = S.validate(conv(conversation_id=["Ab1", "ab1", " c9 "]), "conversations")
    assert out["conversation_id"].tolist() == ["Ab1", "ab1", "c9"]
    assert S.adjustments(out)["row_ids"].tolist() == [(" c9 ",)]
    with pytest.raises(DataValidationError, match=r"duplicate key \(conversation_id\) \(2 row\(s\)\); values \['c9'\]; row ids \['c9', 'c9\\xa0'\]"):
        S.validate(conv(conversation_id=["c9", "c9\u00a0", "c1"]), "conversations")


def test_categorical_record_ids_are_stripped_on_the_categories():
    raw = pd.Categorical(["r1", "r2 ", "r3"])
    out = S.validate(conv(conversation_id=raw), "conversations")
    assert list(out["conversation_id"].cat.categories) == ["r1", "r2", "r3"]
    assert S.adjustments(out)["n"].tolist() == [1]


def test_zone_suffixed_dates_pandas_alone_would_not_read():
    """'2026-11-03Z' and '... UTC' / 'GMT' are UTC; pandas' mixed parser returns NaT for them."""
    s = pd.Series(["2026-11-03Z", "2026-11-03 10:00 UTC", "2026-11-03 GMT", "2026-11-03T10:00+01:00"])
    assert pd.to_datetime(s.iloc[[0]], utc=True, format="mixed", errors="coerce").isna().all()
    out = S.parse_datetimes(s)
    assert out.dt.strftime("%Y-%m-%d %H:%M").tolist() == ["2026-11-03 00:00", "2026-11-03 10:00",
                                                          "2026-11-03 00:00", "2026-11-03 09:00"]


def test_clean_categories_are_remembered_but_dirty_ones_are_checked_every_time():
    """The second validation of the same categorical ids skips the work (the categories object was
    found clean); categories with a trailing space are normalised and itemised on every call."""
    clean = pd.Series(pd.Categorical(["a1", "a2", "a1"]))
    for _ in range(2):
        out = S.validate(conv(agent_id=clean), "conversations")
        assert out["agent_id"].tolist() == ["a1", "a2", "a1"] and S.adjustments(out).empty
    dirty = pd.Series(pd.Categorical(["a1 ", "a2", "a1 "]))
    for _ in range(2):
        out = S.validate(conv(agent_id=dirty), "conversations")
        assert out["agent_id"].tolist() == ["a1", "a2", "a1"]
        assert S.adjustments(out)["n"].sum() == 2


def test_records_come_back_through_parquet(tmp_path):
    """pandas keeps ``attrs`` in Parquet metadata, where a record's row_ids tuple comes back as a
    list: reading such a file (a team saves a qakit-validated table, reads it next month) once
    failed with "unhashable type: 'list'". The record comes back as written: one exclusion of the
    two ids, row_ids a tuple."""
    from qakit import datasets

    conv = datasets.load_sample("conversations").head(3)
    S.add_exclusion(conv, "hand-made reason", "priority", ["c1", "c2"])
    conv.to_parquet(tmp_path / "conversations.parquet")
    back = read_table(tmp_path / "conversations.parquet", "conversations")
    ex = S.exclusions(back)
    row = ex[ex["reason"] == "hand-made reason"]
    assert len(row) == 1 and row["n"].item() == 2 and row["row_ids"].item() == ("c1", "c2")
