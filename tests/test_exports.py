"""read_export presets, Excel input and reconcile.

Every fixture in tests/fixtures/ was written by hand from the vendor's documented field names and
value formats; the expected numbers below are worked out by hand from those files (arithmetic in
each test's docstring), never taken from qakit's output.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from xlsx_writer import write_xlsx

from qakit import schema as S
from qakit.errors import DataValidationError, ParameterError, ScorecardError
from qakit.exports import PRESETS, implied_card, normalise_header, parse_unit, read_export, reconcile
from qakit.io import read_table
from qakit.scorecard import Category, Scorecard, score_reviews

FIX = Path(__file__).parent / "fixtures"
UTC = "UTC"


def ts(text):
    return pd.Timestamp(text, tz=UTC)


def assert_valid(tables):
    """Every table re-validates against its contract (read_export already did: this checks it)."""
    for name, df in tables.items():
        S.validate(df, name)


# --- zendesk_qa ------------------------------------------------------------------------------------
def card_klaus(solution_weight=2.0):
    scale = [0, 50, 100]  # the fixture's 3-point scale in percent
    return Scorecard([Category("Tone", 1, scale=scale), Category("Solution", solution_weight, scale=scale),
                      Category("Empathy", 1, scale=scale), Category("Accuracy", 1, critical=True, scale=scale)],
                     version="Support v2")


def test_zendesk_qa_reads_every_part():
    t = read_export(FIX / "zendesk_qa_export.json", preset="zendesk_qa")
    assert set(t) == {"ratings", "reviews", "disputes", "surveys", "autoqa_ratings", "calibration"}
    assert_valid(t)
    r = t["ratings"]
    assert len(r) == 16 and set(r[S.REVIEW_ID]) == {"R1", "R2", "R3", "R4"}
    # reviewee / reviewer identified by e-mail (the identity key of the export)
    assert r.loc[r[S.REVIEW_ID].eq("R1"), S.AGENT_ID].iloc[0] == "ana@example.com"
    assert r.loc[r[S.REVIEW_ID].eq("R1"), S.REVIEWER_ID].iloc[0] == "quinn@example.com"
    assert np.isnan(r.loc[r[S.REVIEW_ID].eq("R1") & r[S.CATEGORY].eq("Empathy"), S.RATING].iloc[0])  # N/A
    # AutoQA never in ratings
    assert "AQ1" not in set(r[S.REVIEW_ID]) and set(t["autoqa_ratings"][S.REVIEW_ID]) == {"AQ1"}
    d = t["disputes"].set_index(S.DISPUTE_ID)
    assert d.loc["D1", S.ACCEPTED] is True or bool(d.loc["D1", S.ACCEPTED]) is True
    assert bool(d.loc["D2", S.ACCEPTED]) is False and pd.isna(d.loc["D3", S.ACCEPTED])
    assert d.loc["D1", S.CATEGORY] == "Accuracy" and d.loc["D2", S.CATEGORY] == "Solution"
    assert d.loc["D1", S.RESOLVED_AT] == ts("2026-11-04 09:00")
    sv = t["surveys"].set_index(S.CONVERSATION_ID)[S.SCORE]
    assert sv.to_dict() == {"T1": 5.0, "T2": 2.0}
    cal = t["calibration"]
    assert set(cal[S.REVIEW_ID]) == {"CR1", "CR2"} and set(cal[S.SESSION_ID]) == {"S1"}
    assert t["reviews"].set_index(S.REVIEW_ID)[S.REVIEW_TIME_S].to_dict()["R2"] == 420


def test_zendesk_qa_recomputed_iqs_equals_the_export_scores():
    """R1 = (1*100 + 2*50 + 1*100) / (1+2+1) = 75 (Empathy N/A); R2: Accuracy (critical) 0 -> 0;
    R3 = (100 + 2*100 + 50 + 100) / 5 = 90; R4 all N/A -> no score. Exported: 75, 0, 90, null."""
    t = read_export(FIX / "zendesk_qa_export.json", preset="zendesk_qa")
    scored = score_reviews(t["ratings"], card_klaus()).set_index(S.REVIEW_ID)[S.IQS]
    assert scored["R1"] == pytest.approx(75) and scored["R2"] == 0 and scored["R3"] == pytest.approx(90)
    assert np.isnan(scored["R4"])
    vendor = t["reviews"].set_index(S.REVIEW_ID)[S.VENDOR_SCORE]
    assert vendor[["R1", "R2", "R3"]].tolist() == [75, 0, 90] and np.isnan(vendor["R4"])
    assert reconcile(t).empty  # the card implied by the export's weights agrees with its scores
    assert reconcile(t, card_klaus()).empty


def test_reconcile_catches_a_wrong_weight():
    """The export says Solution weight 1, but its scores were made with 2. With weight 1:
    R1 = (100 + 50 + 100) / 3 = 83.333 (vendor 75: +8.333); R3 = (100+100+50+100)/4 = 87.5 (vendor 90:
    -2.5); R2 is 0 either way (critical fail) and R4 unscored on both sides."""
    w = read_export(FIX / "zendesk_qa_wrong_weight.json", preset="zendesk_qa")
    res = reconcile(w)
    assert res[S.REVIEW_ID].tolist() == ["R1", "R3"]
    assert res["vendor_score"].tolist() == [75, 90]
    assert res["recomputed_score"].tolist() == pytest.approx([250 / 3, 87.5])
    assert res["difference"].tolist() == pytest.approx([250 / 3 - 75, -2.5])
    # the same mistake in a hand-made card, on the correct export
    t = read_export(FIX / "zendesk_qa_export.json", preset="zendesk_qa")
    assert reconcile(t, card_klaus(solution_weight=1.0))[S.REVIEW_ID].tolist() == ["R1", "R3"]


def test_reconcile_tolerance_and_one_sided_scores():
    """Vendor 75.004 vs 75 is within 0.01; a vendor score on a review that is all N/A here differs
    (NaN difference); a vendor review without ratings is itemised."""
    t = read_export(FIX / "zendesk_qa_export.json", preset="zendesk_qa")
    rv = t["reviews"].copy()
    rv.loc[rv[S.REVIEW_ID].eq("R1"), S.VENDOR_SCORE] = 75.004
    rv.loc[rv[S.REVIEW_ID].eq("R4"), S.VENDOR_SCORE] = 50.0
    extra = rv.iloc[[0]].assign(**{S.REVIEW_ID: "R9"})
    res = reconcile({"ratings": t["ratings"], "reviews": pd.concat([rv, extra])})
    assert res[S.REVIEW_ID].tolist() == ["R4"] and np.isnan(res["difference"].iloc[0])
    ex = S.exclusions(res).set_index("reason")["row_ids"]
    assert ex["review in reviews has no ratings"] == ("R9",)
    assert ex["all categories N/A: review not scored"] == ("R4",)  # carried from score_reviews
    with pytest.raises(ParameterError, match="tolerance"):
        reconcile(t, tolerance=-1)
    with pytest.raises(ParameterError, match="'reviews'"):
        reconcile({"ratings": t["ratings"]})


def test_implied_card_splits_a_card_edited_mid_period():
    """Two reviews of one category exported with weights 1 and 2 are two versions of the card (the
    edit is named), not an error; a rating outside the exported scale ends is refused, naming it."""
    r = pd.DataFrame({"review_id": ["a", "b"], "category": ["Tone", "Tone"], "rating": [1.0, 0.0], "weight": [1, 2],
                      "reviewed_at": pd.to_datetime(["2026-11-02", "2026-11-05"], utc=True)})
    cards = implied_card(r)
    assert [c.version for c in cards] == ["implied (from 2026-11-02)", "implied (from 2026-11-05)"]
    assert [c.weights["Tone"] for c in cards] == [1.0, 2.0]
    with pytest.raises(ScorecardError, match=r"category 'Tone': ratings \[7.0\] outside the exported scale 0..3 "
                       r"\(reviews \['b'\]\)"):
        implied_card(r.assign(weight=1, rating=[1.0, 7.0], rating_min=0.0, rating_max=3.0))


# --- maestroqa ---------------------------------------------------------------------------------------
def test_maestroqa_points_and_reconcile():
    """Points mode: A1 = (1 + 2 + 2) / (1 + 3 + 2) = 83.333 (export 83.3333); A2 = (0 + 1) / (1 + 2)
    = 33.333 with Resolution N/A (export 33.3333). A3 is calibration, A4 deleted (itemised)."""
    t = read_export(FIX / "maestroqa", preset="maestroqa")
    assert_valid(t)
    assert t.scoring_mode == "points"
    assert set(t["reviews"][S.REVIEW_ID]) == {"A1", "A2"}
    assert set(t["calibration"][S.REVIEW_ID]) == {"A3"}
    ex = t.excluded
    assert ex.loc[ex["reason"].str.contains("is_deleted"), "row_ids"].tolist() == [("A4",)]
    assert reconcile(t).empty
    card = Scorecard([Category("Greeting", 1, scale="0-1"), Category("Resolution", 1, scale="0-3"),
                      Category("Tone", 1, scale="0-2")], mode="points")
    s = score_reviews(t["ratings"].drop(columns=[S.SCORECARD_VERSION]), card).set_index(S.REVIEW_ID)[S.IQS]
    assert s["A1"] == pytest.approx(500 / 6) and s["A2"] == pytest.approx(100 / 3)


def test_maestroqa_one_flat_file(tmp_path):
    """The raw score export as one table (answer columns repeated on each question row)."""
    a = pd.read_csv(FIX / "maestroqa" / "answers.csv", dtype=str)
    q = pd.read_csv(FIX / "maestroqa" / "question_scores.csv", dtype=str)
    flat = q.merge(a, on="answer_id")
    flat.columns = [c.upper() for c in flat.columns]  # header case must not matter
    flat.to_csv(tmp_path / "raw.csv", index=False)
    t = read_export(tmp_path / "raw.csv", preset="maestroqa")
    assert set(t["reviews"][S.REVIEW_ID]) == {"A1", "A2"} and reconcile(t).empty


# --- zendesk_support ---------------------------------------------------------------------------------
def test_zendesk_support_api_shape():
    """35436: created 09:00, reply 30 calendar min -> first response 09:30, solved 15:00, business
    reply 20 min = 1200 s; 35438: 11:00 + 1500 min = next day 12:00. CSAT good -> 5, bad -> 1,
    offered -> sent without a score, unoffered -> no survey."""
    t = read_export(FIX / "zendesk_support_tickets.json", preset="zendesk_support")
    assert_valid(t)
    c = t["conversations"].set_index(S.CONVERSATION_ID)
    assert c.loc["35436", S.FIRST_RESPONSE_AT] == ts("2026-11-02 09:30")
    assert c.loc["35436", S.RESOLVED_AT] == ts("2026-11-02 15:00")
    assert c.loc["35436", "first_response_time_business_s"] == 1200
    assert c.loc["35438", S.FIRST_RESPONSE_AT] == ts("2026-11-03 12:00")
    assert pd.isna(c.loc["35437", S.FIRST_RESPONSE_AT]) and pd.isna(c.loc["35437", S.AGENT_ID])
    assert c.loc["35438", "reopens"] == 1 and c.loc["35438", S.AGENT_REPLIES] == 5
    assert c.loc["35436", S.CHANNEL] == "email" and c.loc["35436", S.CUSTOMER_ID] == "20978392"
    sv = t["surveys"].set_index(S.CONVERSATION_ID)[S.SCORE]
    assert sv["35436"] == 5 and sv["35438"] == 1 and np.isnan(sv["35439"]) and "35437" not in sv.index
    adj = t.adjusted
    assert adj.loc[adj["column"].eq(S.PRIORITY), "row_ids"].tolist() == [("35438",)]


def test_zendesk_support_dbt_table_matches_the_api_shape():
    """The dbt zendesk__ticket_metrics rows hold the same tickets: same timestamps and durations."""
    api = read_export(FIX / "zendesk_support_tickets.json", preset="zendesk_support")["conversations"]
    dbt = read_export(FIX / "zendesk__ticket_metrics.csv", preset="zendesk_support")["conversations"]
    cols = [S.CONVERSATION_ID, S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT, S.AGENT_REPLIES, "reopens",
            "first_response_time_business_s", "resolution_time_business_s", S.STATUS, S.CUSTOMER_ID]
    pd.testing.assert_frame_equal(api[cols].reset_index(drop=True), dbt[cols].reset_index(drop=True))


def test_zendesk_support_metrics_only(tmp_path):
    """ticket_metrics alone: no requester/channel/priority/status -> 'unknown', said in notes."""
    import json
    data = json.loads((FIX / "zendesk_support_tickets.json").read_text())
    (tmp_path / "m.json").write_text(json.dumps({"ticket_metrics": data["ticket_metrics"]}))
    t = read_export(tmp_path / "m.json", preset="zendesk_support")
    c = t["conversations"]
    assert set(c[S.CHANNEL]) == {"unknown"} and any("customer_id" in n for n in t.notes)


# --- freshdesk -----------------------------------------------------------------------------------------
def test_freshdesk_durations_and_surveys():
    """1001: 'First response time (in hrs)' 00:30:00 = 1800 s (business), 'Resolution time' 04:00:00 =
    14400 s; 1002: both empty -> from timestamps 12:00 - 10:00 = 7200 s and 1 day = 86400 s (said in
    adjusted); 1004: 0.25 h = 900 s, 6.5 h = 23400 s, resolved_at from Closed time 18:00."""
    t = read_export(FIX / "freshdesk_tickets.csv", preset="freshdesk")
    assert_valid(t)
    c = t["conversations"].set_index(S.CONVERSATION_ID)
    bf, br = "first_response_time_business_s", "resolution_time_business_s"
    assert c.loc["1001", [bf, br]].tolist() == [1800, 14400]
    assert c.loc["1002", [bf, br]].tolist() == [7200, 86400]
    assert c.loc["1004", [bf, br]].tolist() == [900, 23400]
    assert c.loc["1004", S.RESOLVED_AT] == ts("2026-11-03 18:00")
    assert c.loc["1001", S.CUSTOMER_ID] == "501" and c.loc["1001", S.TEAM] == "Tier 1"
    adj = t.adjusted
    assert ("1002",) in adj["row_ids"].tolist() and ("1004",) in adj["row_ids"].tolist()
    sv = t["surveys"].set_index(S.CONVERSATION_ID)[S.SCORE].to_dict()
    assert sv == {"1001": 5.0, "1002": 1.0, "1004": 5.0}


def test_freshdesk_header_case_order_extra_and_missing_optional(tmp_path):
    """Held-out exports differ: lower-case headers, shuffled columns, an extra column, no survey
    and no Closed time column. Same numbers for the rows that do not depend on what is missing."""
    raw = pd.read_csv(FIX / "freshdesk_tickets.csv", dtype=str, keep_default_na=False)
    raw = raw.drop(columns=["Survey results", "Closed time"]).assign(**{"Custom field: Region": "EU"})
    raw.columns = [c.lower() for c in raw.columns]
    raw = raw[list(reversed(raw.columns))]
    raw.to_csv(tmp_path / "fd.csv", index=False)
    t = read_export(tmp_path / "fd.csv", preset="freshdesk")
    c = t["conversations"].set_index(S.CONVERSATION_ID)
    assert c.loc["1001", "first_response_time_business_s"] == 1800
    assert pd.isna(c.loc["1004", S.RESOLVED_AT]) and "surveys" not in t
    assert "Custom field: Region".lower() in t.unmapped["conversations"]


def test_freshdesk_bad_values_are_one_error(tmp_path):
    raw = pd.read_csv(FIX / "freshdesk_tickets.csv", dtype=str, keep_default_na=False)
    raw.loc[1, "First response time (in hrs)"] = "soon"
    raw.to_csv(tmp_path / "fd.csv", index=False)
    with pytest.raises(DataValidationError, match=r"First response time \(in hrs\).*'soon'.*'1002'"):
        read_export(tmp_path / "fd.csv", preset="freshdesk")
    raw.drop(columns=["Created time"]).to_csv(tmp_path / "fd2.csv", index=False)
    with pytest.raises(DataValidationError, match="created_at .*Created time"):
        read_export(tmp_path / "fd2.csv", preset="freshdesk")


# --- intercom -----------------------------------------------------------------------------------------
def test_intercom_api_and_dbt():
    """API: created_at 1793610000 = 2026-11-02 09:00 UTC, first_admin_reply_at +300 s = 09:05, last close
    10:00; time_to_admin_reply 120 s is office-hours time. The open conversation's last close is not a
    resolution. dbt: created 09:00 + 5 min = 09:05, + 60 min = 10:00: the same timestamps."""
    api = read_export(FIX / "intercom_conversations.json", preset="intercom")
    assert_valid(api)
    c = api["conversations"].set_index(S.CONVERSATION_ID)
    assert c.loc["1911149811", S.CREATED_AT] == ts("2026-11-02 09:00")
    assert c.loc["1911149811", S.FIRST_RESPONSE_AT] == ts("2026-11-02 09:05")
    assert c.loc["1911149811", S.RESOLVED_AT] == ts("2026-11-02 10:00")
    assert c.loc["1911149811", "first_response_time_business_s"] == 120
    assert c.loc["1911149811", S.CUSTOMER_ID] == "5310d8e7598c9a0a7d000002"
    assert c.loc["1911149811", S.TEAM] == "5017691"
    assert pd.isna(c.loc["1911149812", S.RESOLVED_AT])
    assert api["surveys"].set_index(S.CONVERSATION_ID)[S.SCORE].to_dict() == {"1911149811": 5.0, "1911149813": 2.0}
    dbt = read_export(FIX / "intercom__conversation_metrics.csv", preset="intercom")
    d = dbt["conversations"].set_index(S.CONVERSATION_ID)
    for col in (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT, S.CUSTOMER_ID, S.STATUS):
        pd.testing.assert_series_equal(c[col], d[col], check_names=False)


# --- call_log -----------------------------------------------------------------------------------------
def test_call_log_aht_and_service_level():
    """AHT = talk + hold + ACW: 270 + 30 + 60 = 360; 600 + 120 + 0 = 720; 3723 + (empty) + 180 = 3903.
    Service level at 20 s over offered: waits 12, 25, 5 answered and one abandoned -> 2/4."""
    from qakit.kpis import abandonment_rate, service_level

    t = read_export(FIX / "five9_call_log.csv", preset="call_log")
    assert_valid(t)
    c = t["calls"].set_index(S.CALL_ID)
    assert c[S.HANDLE_TIME_S].tolist()[:1] + c[S.HANDLE_TIME_S].tolist()[2:] == [360, 720, 3903]
    assert not c.loc["300000000000002", S.ANSWERED] and np.isnan(c.loc["300000000000002", S.HANDLE_TIME_S])
    assert c.loc["300000000000001", S.CREATED_AT] == ts("2026-11-02 09:00:05")
    assert float(service_level(t["calls"], threshold_s=20, min_n=0)["service_level"].iloc[0]) == 0.5
    assert float(abandonment_rate(t["calls"], min_n=0)["abandonment_rate"].iloc[0]) == 0.25
    assert t.adjusted["row_ids"].tolist() == [("300000000000004",)]


# --- call_centre_daily --------------------------------------------------------------------------------
def test_call_centre_daily_equals_plain_pandas():
    """answered_within where the export has none = reported SL x offered (90% x 180 = 162); the table
    equals a plain pandas reading of the same file."""
    t = read_export(FIX / "call_centre_daily.csv", preset="call_centre_daily")
    assert_valid(t)
    d = t["calls_daily"]
    raw = pd.read_csv(FIX / "call_centre_daily.csv")
    sl = pd.to_numeric(raw["Service Level"].str.rstrip("%"), errors="coerce") / 100
    within = raw["Answered Within 20s"].fillna(sl * raw["Calls Offered"])
    assert d[S.ANSWERED_WITHIN].tolist() == within.tolist()
    assert d[S.OFFERED].tolist() == raw["Calls Offered"].astype(float).tolist()
    asa = pd.to_timedelta(raw["ASA"]).dt.total_seconds()
    assert d[S.ASA_S].tolist() == asa.tolist()
    assert t.adjusted["row_ids"].tolist() == [("2026-11-03 00:00:00+00:00",)] or \
        t.adjusted["n"].tolist() == [1]


def test_call_centre_daily_inconsistent_counts(tmp_path):
    (tmp_path / "d.csv").write_text("Date,Offered,Answered,Abandoned\n2026-11-02,10,8,5\n")
    with pytest.raises(DataValidationError, match="more than offered"):
        read_export(tmp_path / "d.csv", preset="call_centre_daily")


# --- excel, generic, parameters -------------------------------------------------------------------------
def test_xlsx_read_table_and_read_export(tmp_path):
    """The same daily rows from .xlsx and .csv give the same table; read_table reads .xlsx too."""
    rows = [["Date", "Queue", "Calls Offered", "Calls Answered", "Service Level"],
            ["2026-11-02", "Billing", 200, 190, "80%"], ["2026-11-03", None, 100, 99.0, 0.95]]
    x = write_xlsx(tmp_path / "d.xlsx", rows)
    pd.DataFrame(rows[1:], columns=rows[0]).to_csv(tmp_path / "d.csv", index=False)
    a = read_export(x, preset="call_centre_daily")["calls_daily"]
    b = read_export(tmp_path / "d.csv", preset="call_centre_daily")["calls_daily"]
    pd.testing.assert_frame_equal(a, b)
    assert a[S.ANSWERED_WITHIN].tolist() == [160.0, 95.0]  # 80% of 200, 0.95 of 100
    s = write_xlsx(tmp_path / "s.xlsx", [["Ticket", "Type", "Score", "When"], ["007", "csat", 5, "2026-11-02 10:00"]])
    df = read_table(s, "surveys", mapping={"Ticket": "conversation_id", "Type": "kind", "Score": "score",
                                           "When": "answered_at"})
    assert df.loc[0, S.CONVERSATION_ID] == "007" and df.loc[0, S.SCORE] == 5.0
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    with pytest.raises(ParameterError, match="bad.xlsx"):
        read_table(tmp_path / "bad.xlsx", "surveys")


def test_generic_is_read_table(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("Ticket;Type;Score;When\n007;csat;5;2026-11-02 10:00\n")
    m = {"Ticket": "conversation_id", "Type": "kind", "Score": "score", "When": "answered_at"}
    t = read_export(p, preset="generic", table="surveys", mapping=m)
    pd.testing.assert_frame_equal(t["surveys"], read_table(p, "surveys", mapping=m))
    with pytest.raises(ParameterError, match="table="):
        read_export(p, preset="generic")


def test_bad_parameters():
    with pytest.raises(ParameterError, match="preset must be one of .*got 'zendesk'"):
        read_export(FIX / "call_centre_daily.csv", preset="zendesk")
    with pytest.raises(ParameterError, match="file not found"):
        read_export(FIX / "nope.csv", preset="freshdesk")
    with pytest.raises(ParameterError, match=r"mapping sends \{'a': 'b'\} to field name\(s\) preset 'freshdesk' "
                       r"does not read; its field names: \['agent_id'"):
        read_export(FIX / "freshdesk_tickets.csv", preset="freshdesk", mapping={"a": "b"})
    with pytest.raises(ParameterError, match=r"mapping names column\(s\) \['Nope'\] that the export does not have"):
        read_export(FIX / "freshdesk_tickets.csv", preset="freshdesk", mapping={"Nope": "team"})
    with pytest.raises(ParameterError, match="table= is for preset='generic'"):
        read_export(FIX / "freshdesk_tickets.csv", preset="freshdesk", table="conversations")
    assert {"zendesk_qa", "maestroqa", "zendesk_support", "freshdesk", "intercom", "call_log",
            "call_centre_daily", "generic"} <= set(PRESETS)


def test_units_and_headers():
    """1:02:03 = 3723 s; '2 days 01:00:00' = 2*86400 + 3600; '1,5' is not a number (comma-thousands only)."""
    assert parse_unit(pd.Series(["1:02:03", "2 days 01:00:00", "90"]), "hms").tolist() == [3723, 176400, 90]
    assert parse_unit(pd.Series(["1.5", "01:30"]), "hours").tolist() == [5400, 5400]
    assert parse_unit(pd.Series([{"calendar": 3, "business": 1}, None]), "calendar").tolist()[0] == 180
    assert parse_unit(pd.Series([0.8, 0.95]), "percent").tolist() == [0.8, 0.95]
    assert parse_unit(pd.Series(["80", "95"]), "percent").tolist() == [0.8, 0.95]
    assert normalise_header("Ｔｉｃｋｅｔ ID") == "ticket_id"  # full-width letters (NFKC)


def test_day_first_dates_told_by_the_data_or_asked(tmp_path):
    """13/11/2026 can only be day-first; 02/11 and 03/11 alone cannot tell: an error asks for dayfirst."""
    head = "CALL ID,DATE,TIME,AGENT,ANSWERED,TALK TIME\n"
    (tmp_path / "a.csv").write_text(head + "c1,02/11/2026,09:00:00,ana,Y,00:01:00\nc2,13/11/2026,10:00:00,bo,N,\n")
    c = read_export(tmp_path / "a.csv", preset="call_log")["calls"]
    assert c[S.CREATED_AT].tolist() == [ts("2026-11-02 09:00"), ts("2026-11-13 10:00")]
    assert c[S.ANSWERED].tolist() == [True, False]
    (tmp_path / "b.csv").write_text(head + "c1,02/11/2026,09:00:00,ana,Y,00:01:00\nc2,03/11/2026,10:00:00,bo,N,\n")
    with pytest.raises(ParameterError, match="dayfirst=True or dayfirst=False"):
        read_export(tmp_path / "b.csv", preset="call_log")
    c = read_export(tmp_path / "b.csv", preset="call_log", dayfirst=False)["calls"]
    assert c[S.CREATED_AT].tolist() == [ts("2026-02-11 09:00"), ts("2026-03-11 10:00")]
    # Berlin wall clock -> UTC; a time skipped by the DST change is an error, not a guess
    c = read_export(tmp_path / "a.csv", preset="call_log", tz="Europe/Berlin")["calls"]
    assert c[S.CREATED_AT].iloc[0] == ts("2026-11-02 08:00")
    (tmp_path / "d.csv").write_text(head + "c1,29/03/2026,02:30:00,ana,Y,00:01:00\n")
    with pytest.raises(DataValidationError, match="DST"):
        read_export(tmp_path / "d.csv", preset="call_log", tz="Europe/Berlin")


@pytest.mark.realdata
def test_call_log_reads_the_shared_call_centre_export(shared_data):
    """The PwC call-centre simulation (DD/MM/YYYY dates, answered Y/N, talk time HH:MM:SS) read by the
    call_log preset equals qakit.realdata.load_calls, written separately for that file."""
    from qakit.realdata import load_calls

    t = read_export(shared_data / "call-centre" / "calls.csv", preset="call_log")
    ref = load_calls(shared_data / "call-centre" / "calls.csv")["calls"]
    cols = [S.CALL_ID, S.AGENT_ID, S.CREATED_AT, S.ANSWERED, S.SPEED_OF_ANSWER_S, S.HANDLE_TIME_S, S.RESOLVED]
    a = t["calls"][cols].sort_values(S.CALL_ID).reset_index(drop=True)
    b = ref[cols].sort_values(S.CALL_ID).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert len(t["calls"]) == 5000


def test_duplicates_unicode_and_infinite_values(tmp_path):
    """An exact duplicate row is kept once and itemised; 'Caf\\u00e9' typed decomposed is one agent;
    'inf' is not a duration."""
    raw = pd.read_csv(FIX / "five9_call_log.csv", dtype=str, keep_default_na=False)
    raw.loc[0, "AGENT"] = "Cafe\u0301 team"
    raw.loc[2, "AGENT"] = "Caf\u00e9 team"
    pd.concat([raw, raw.iloc[[1]]]).to_csv(tmp_path / "c.csv", index=False)
    t = read_export(tmp_path / "c.csv", preset="call_log")
    assert len(t["calls"]) == 4
    assert t.excluded["row_ids"].tolist() == [("300000000000002",)]
    assert t["calls"].loc[[0, 2], S.AGENT_ID].nunique() == 1
    raw.loc[0, "TALK TIME"] = "inf"
    raw.to_csv(tmp_path / "i.csv", index=False)
    with pytest.raises(DataValidationError, match="talk_time_s <- TALK TIME.*'inf'.*300000000000001"):
        read_export(tmp_path / "i.csv", preset="call_log")


def test_freshdesk_api_json_codes(tmp_path):
    """The tickets API (numeric codes, stats timestamps): status 4 = Resolved, priority 3 = High,
    source 7 = Chat; first response 10:00 -> 10:45 = 2700 s of calendar time."""
    import json
    tickets = [{"id": 11, "requester_id": 900, "responder_id": 5, "source": 7, "priority": 3, "status": 4,
                "created_at": "2026-11-02T10:00:00Z", "stats": {"first_responded_at": "2026-11-02T10:45:00Z",
                                                                "resolved_at": "2026-11-02T12:00:00Z"}}]
    (tmp_path / "t.json").write_text(json.dumps(tickets))
    c = read_export(tmp_path / "t.json", preset="freshdesk")["conversations"].iloc[0]
    assert (c[S.STATUS], c[S.PRIORITY], c[S.CHANNEL]) == ("Resolved", "High", "Chat")
    assert c["first_response_time_business_s"] == 2700 and c[S.RESOLVED_AT] == ts("2026-11-02 12:00")


def test_customers_table_through_generic(tmp_path):
    """A CRM-style customer file read with the generic preset feeds customer_cost_value: the customer
    with no contact is counted (cases 0)."""
    from qakit.kpis import customer_cost_value

    (tmp_path / "crm.csv").write_text("Account,ARR,Tier\nx,50,smb\ny,500,smb\nz,1000,ent\n")
    cu = read_export(tmp_path / "crm.csv", preset="generic", table="customers",
                     mapping={"Account": "customer_id", "ARR": "customer_value", "Tier": "segment"})["customers"]
    conv = pd.DataFrame({"conversation_id": ["a", "b"], "customer_id": ["x", "y"], "agent_id": "g",
                         "channel": "chat", "priority": "low", "status": "solved", "created_at": "2026-01-05",
                         "first_response_at": None, "resolved_at": None})
    res = customer_cost_value(conv, cost_per_contact=10, customers=cu).set_index(S.CUSTOMER_ID)
    assert res["cases"].to_dict() == {"x": 1, "y": 1, "z": 0}
    assert res["customer_value"].to_dict() == {"x": 50.0, "y": 500.0, "z": 1000.0}


def test_zendesk_qa_review_without_reviewee_is_itemised(tmp_path):
    """A review whose reviewee is null cannot be attributed: its rows are left out and itemised;
    the other reviews read as before."""
    import json
    data = json.loads((FIX / "zendesk_qa_export.json").read_text())
    data["conversations"][1]["reviews"][0]["reviewee"] = None  # R3
    (tmp_path / "z.json").write_text(json.dumps(data))
    t = read_export(tmp_path / "z.json", preset="zendesk_qa")
    assert "R3" not in set(t["ratings"][S.REVIEW_ID]) and "R3" not in set(t["reviews"][S.REVIEW_ID])
    ex = t.excluded
    assert ("R3",) in ex.loc[ex["table"].eq("ratings"), "row_ids"].tolist()
    assert reconcile(t).empty


def test_daily_report_with_vendor_style_headers(tmp_path):
    """Avaya-style labels: ACD Calls (answered), Aban Calls, % Within Service Level, Avg Speed Ans; the
    percentage column is read as SL (never as a count): within = 80% x 100 = 80."""
    (tmp_path / "d.csv").write_text("Date,Split/Skill,Calls Offered,ACD Calls,Aban Calls,% Within Service Level,"
                                    "Avg Speed Ans\n2026-11-02,Sales,100,95,5,80%,0:00:12\n")
    d = read_export(tmp_path / "d.csv", preset="call_centre_daily")["calls_daily"].iloc[0]
    assert (d[S.QUEUE], d[S.ANSWERED], d[S.ABANDONED], d[S.ANSWERED_WITHIN], d[S.ASA_S]) == ("Sales", 95, 5, 80, 12)


def test_zendesk_support_ui_csv_labels(tmp_path):
    """The Zendesk Support UI CSV export labels: 'First reply time in minutes' 30 -> 09:30;
    '... within business hours' 20 -> 1200 s; Satisfaction Score 'Good' -> 5."""
    (tmp_path / "z.csv").write_text(
        "Id,Requester id,Assignee,Group,Status,Priority,Via,Created at,Solved at,Replies,Reopens,"
        "First reply time in minutes,First reply time in minutes within business hours,"
        "Full resolution time in minutes,Full resolution time in minutes within business hours,Satisfaction Score\n"
        "7,900,Ana,Tier 1,solved,high,Mail,2026-11-02 09:00:00,2026-11-02 15:00:00,2,0,30,20,360,300,Good\n")
    t = read_export(tmp_path / "z.csv", preset="zendesk_support")
    c = t["conversations"].iloc[0]
    assert c[S.FIRST_RESPONSE_AT] == ts("2026-11-02 09:30") and c["first_response_time_business_s"] == 1200
    assert c[S.CUSTOMER_ID] == "900" and c[S.AGENT_ID] == "Ana" and c[S.CHANNEL] == "Mail"
    assert t["surveys"][S.SCORE].tolist() == [5.0]


def test_maestroqa_auto_fail_question(tmp_path):
    """Greeting marked auto-fail: A2's Greeting 0/1 fails the review -> 0 (export says 0); A1 passes it,
    5/6 = 83.33 as before."""
    a = pd.read_csv(FIX / "maestroqa" / "answers.csv", dtype=str)
    q = pd.read_csv(FIX / "maestroqa" / "question_scores.csv", dtype=str)
    q["auto_fail"] = (q["question_title"] == "Greeting").map({True: "true", False: "false"})
    a.loc[a["answer_id"].eq("A2"), "total_score"] = "0"
    (tmp_path / "m").mkdir()
    a.to_csv(tmp_path / "m" / "answers.csv", index=False)
    q.to_csv(tmp_path / "m" / "question_scores.csv", index=False)
    t = read_export(tmp_path / "m", preset="maestroqa")
    assert reconcile(t).empty
    card = implied_card(t["ratings"], mode="points")[0]
    assert card.critical == {"Greeting": True, "Resolution": False, "Tone": False}


def test_write_gives_the_report_folder(tmp_path):
    """A QA export written next to the helpdesk's conversations is what the report loads: the card
    implied by the export (written as scorecard.yaml) scores R1 = 75 and R3 = 90 as Zendesk QA did."""
    from qakit.report.data import load_report_data

    t = read_export(FIX / "zendesk_qa_export.json", preset="zendesk_qa")
    paths = t.write(tmp_path)
    assert {p.name for p in paths} >= {"ratings.parquet", "reviews.parquet", "disputes.parquet", "scorecard.yaml"}
    conv = pd.DataFrame({"conversation_id": ["T1", "T2", "T3"], "customer_id": ["u1", "u2", "u3"],
                         "agent_id": ["ana@example.com", "bo@example.com", "bo@example.com"], "channel": "email",
                         "priority": "normal", "created_at": "2026-11-01 08:00", "first_response_at": None,
                         "resolved_at": None, "status": "open"})
    conv.to_parquet(tmp_path / "conversations.parquet")
    data = load_report_data(dataset=str(tmp_path))
    s = score_reviews(data.ratings, data.card).set_index(S.REVIEW_ID)[S.IQS]
    assert s[["R1", "R2", "R3"]].tolist() == pytest.approx([75, 0, 90])
    back = read_table(tmp_path / "disputes.parquet", "disputes")
    assert back[S.DISPUTE_ID].tolist() == ["D1", "D2", "D3"]


CSV_FIXTURES = [("zendesk__ticket_metrics.csv", "zendesk_support"), ("freshdesk_tickets.csv", "freshdesk"),
                ("intercom__conversation_metrics.csv", "intercom"), ("five9_call_log.csv", "call_log"),
                ("call_centre_daily.csv", "call_centre_daily")]


@pytest.mark.parametrize("name,preset", CSV_FIXTURES)
def test_csv_presets_ignore_header_case_order_and_extra_columns(tmp_path, name, preset):
    """The same export with upper-case headers, columns reversed, an extra column and a BOM reads into
    the same tables; as .xlsx (text cells) too."""
    base = read_export(FIX / name, preset=preset)
    raw = pd.read_csv(FIX / name, dtype=str, keep_default_na=False)
    raw = raw.assign(**{"Some Custom Field": "x"})
    raw.columns = [c.upper() for c in raw.columns]
    raw = raw[list(reversed(raw.columns))]
    raw.to_csv(tmp_path / name, index=False, encoding="utf-8-sig")
    other = read_export(tmp_path / name, preset=preset)
    assert set(other) == set(base)
    for k in base:
        cols = list(base[k].columns)
        pd.testing.assert_frame_equal(other[k][cols], base[k][cols])
    rows = [list(raw.columns)] + [[v if v != "" else None for v in r] for r in raw.itertuples(index=False)]
    x = read_export(write_xlsx(tmp_path / (name + ".xlsx"), rows), preset=preset)
    for k in base:
        cols = list(base[k].columns)
        pd.testing.assert_frame_equal(x[k][cols], base[k][cols])


def test_json_pages_saved_together(tmp_path):
    """Two API pages saved as JSON lines read like one response."""
    import json
    data = json.loads((FIX / "zendesk_qa_export.json").read_text())
    pages = [{"conversations": data["conversations"][:2], "pagination": {"page": 1}},
             {"conversations": data["conversations"][2:], "disputes": data["disputes"], "pagination": {"page": 2}}]
    (tmp_path / "p.jsonl").write_text("\n".join(json.dumps(p) for p in pages))
    t = read_export(tmp_path / "p.jsonl", preset="zendesk_qa")
    assert set(t["reviews"][S.REVIEW_ID]) == {"R1", "R2", "R3", "R4"} and len(t["disputes"]) == 3
    assert reconcile(t).empty


def test_maestroqa_without_max_points(tmp_path):
    """No max_score column: max points = score / normalized_score (2 / 0.666667 = 3 for Resolution),
    so the points card still reproduces total_score."""
    (tmp_path / "m").mkdir()
    pd.read_csv(FIX / "maestroqa" / "answers.csv", dtype=str).to_csv(tmp_path / "m" / "answers.csv", index=False)
    q = pd.read_csv(FIX / "maestroqa" / "question_scores.csv", dtype=str).drop(columns=["max_score"])
    q.to_csv(tmp_path / "m" / "question_scores.csv", index=False)
    t = read_export(tmp_path / "m", preset="maestroqa")
    assert t.scoring_mode == "points"
    rmax = t["ratings"].groupby(S.CATEGORY)["rating_max"].first()
    assert rmax.to_dict() == pytest.approx({"Greeting": 1, "Resolution": 3, "Tone": 2}, rel=1e-5)
    assert reconcile(t).empty


def test_number_spellings():
    """1,234 and 1,234.5 are thousands (US style); 85,3 and 1.234,5 are decimal commas; 12 345 has a
    thin space; 'abc' is refused."""
    p = __import__("qakit.errors", fromlist=["Problems"]).Problems("t")
    got = parse_unit(pd.Series(["1,234", "1,234.5", "85,3", "1.234,5", "12 345", "abc"]), "number", column="x", problems=p)
    assert got.tolist()[:5] == [1234, 1234.5, 85.3, 1234.5, 12345] and np.isnan(got.iloc[5])
    assert p.frame()["failing_values"].tolist() == [["abc"]]
    assert parse_unit(pd.Series(["85,3%"]), "percent").tolist() == pytest.approx([0.853])
