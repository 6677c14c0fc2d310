"""Issue 12, KPI side: the edges real exports hit (censoring, survey scales, numbers that cannot be,
business hours across DST, exclusions as a contract, SLA targets). Every expected number is worked
out by hand in the docstring, or computed independently with plain pandas/numpy/scipy."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from qakit import datasets, exclusions
from qakit import kpis as K
from qakit import stats as ST
from qakit.errors import DataValidationError, ParameterError
from frames import conv_frame
from qakit.schema import adjustments


def csat_frame(scores, kind="csat"):
    return pd.DataFrame({"conversation_id": [f"c{i}" for i in range(len(scores))], "kind": kind,
                         "score": [float(s) for s in scores], "answered_at": None})


@pytest.fixture(scope="module")
def sample():
    return datasets.load_sample("conversations"), datasets.load_sample("surveys")


# --- 1. censoring -------------------------------------------------------------------------------------------------
def test_fcr_censored_by_hand():
    """Customer x: a (Jan 1) and b (Jan 3); customer y: c (Jan 1); customer z: d (Jan 9), e (Jan 10).
    repeat_days=3, as_of = last timestamp Jan 10 00:00. Windows: a to Jan 4 (complete; b came back
    within 2 days -> not FCR), b to Jan 6 (complete, no repeat -> FCR), c to Jan 4 (FCR),
    d to Jan 12 and e to Jan 13 run past as_of: not judged, d although it already repeated (judging
    only the repeaters would bias FCR down). FCR = 2 / 3."""
    conv = conv_frame(conversation_id=list("abcde"), customer_id=list("xxyzz"),
                      created_at=["2026-01-01 00:00Z", "2026-01-03 00:00Z", "2026-01-01 00:00Z",
                                  "2026-01-09 00:00Z", "2026-01-10 00:00Z"])
    res = K.fcr_rate(conv, repeat_days=3, min_n=0)
    assert res["n"].iloc[0] == 3 and res["fcr_rate"].iloc[0] == pytest.approx(2 / 3)
    ex = exclusions(res).set_index("reason")["row_ids"]
    assert ex["not judged: repeat window (repeat_days=3) not complete by as_of 2026-01-10 00:00 UTC"] == ("d", "e")
    # an explicit export time a week later completes every window: d repeated (not FCR), e did not
    later = K.fcr_rate(conv, repeat_days=3, as_of="2026-01-17 00:00Z", min_n=0)
    assert later["n"].iloc[0] == 5 and later["fcr_rate"].iloc[0] == pytest.approx(3 / 5)


def test_fcr_sample_per_week_matches_plain_pandas_and_last_week_is_not_judged(sample):
    """Per ISO week of created_at, with plain numpy per customer: judged when created + 7 days <=
    as_of (the data's last timestamp), repeat when the customer has another conversation created
    in (t, t + 7 days], FCR = resolved, contacts == 1, no repeat. The last week (Oct 19-25) cannot
    be judged at all: n = 0, FCR undefined (NaN) -- not 0.000 on n = 575 as before the fix."""
    conv, _ = sample
    res = K.fcr_rate(conv, period="W", min_n=0)
    d = conv.reset_index(drop=True)
    as_of = max(d["created_at"].max(), d["first_response_at"].max(), d["resolved_at"].max())
    week = pd.Timedelta(days=7)
    t = d["created_at"].dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    repeat = np.zeros(len(d), dtype=bool)
    for _, idx in d.groupby("customer_id").indices.items():
        times = np.sort(t[idx])
        assert len(np.unique(times)) == len(times)  # no ties: "next conversation" is unambiguous
        nxt_pos = np.searchsorted(times, t[idx], side="right")
        has_next = nxt_pos < len(times)
        nxt = np.where(has_next, times[np.minimum(nxt_pos, len(times) - 1)], np.datetime64("NaT"))
        repeat[idx] = has_next & ((nxt - t[idx]) <= week.to_timedelta64())
    resolved = d["resolved_at"].notna() | d["status"].isin(["solved", "closed", "resolved"])
    judged = (d["created_at"] + week <= as_of) & resolved & d["contacts"].notna()
    fcr = judged & (d["contacts"] == 1) & ~repeat
    wk = d["created_at"].dt.tz_localize(None).dt.to_period("W").dt.start_time
    plain = pd.DataFrame({"week": wk, "judged": judged, "fcr": fcr}).groupby("week").sum()
    got = res.set_index("period")
    assert got["n"].to_dict() == plain["judged"].to_dict()
    ok = plain["judged"] > 0
    assert got.loc[ok, "fcr_rate"].to_numpy() == pytest.approx((plain["fcr"] / plain["judged"])[ok].to_numpy())
    last = got.iloc[-1]
    assert last["n"] == 0 and np.isnan(last["fcr_rate"])
    assert 0.40 < got["fcr_rate"].iloc[-2] < 0.45  # the week before reads like the others


def test_fcr_on_real_twitter_threads_matches_plain_pandas(shared_data):
    """Real export (Customer Support on Twitter): plain pandas with the same censoring rule."""
    from qakit import realdata

    c = realdata.load_twitter(shared_data / "twitter-support" / "twcs_first5000.csv")["conversations"]
    res = K.fcr_rate(c, repeat_days=2, min_n=0).iloc[0]
    d = c.sort_values(["customer_id", "created_at"], kind="stable")
    as_of = max(d[x].max() for x in ("created_at", "first_response_at", "resolved_at"))
    nxt = d.groupby("customer_id")["created_at"].shift(-1)
    repeat = (nxt - d["created_at"]) <= pd.Timedelta(days=2)
    resolved = d["resolved_at"].notna() | d["status"].str.lower().isin(["solved", "closed", "resolved"])
    judged = resolved & d["contacts"].notna() & (d["created_at"] + pd.Timedelta(days=2) <= as_of)
    fcr = judged & (d["contacts"] == 1) & ~repeat
    assert res["n"] == judged.sum() and res["fcr_rate"] == pytest.approx(fcr.sum() / judged.sum())


def test_partial_periods_on_the_sample(sample):
    """Sample: first conversation Mon 2026-08-03 00:04, last timestamp Sun 2026-10-25 23:57.
    Months: August starts before the data (partial), September whole, October ends after it
    (partial). Weeks: Monday to Sunday, all whole. With as_of Oct 25 12:00 the last week is partial."""
    conv, sv = sample
    m = K.resolution_rate(conv, period="M", min_n=0)
    assert m["partial"].tolist() == [True, False, True]
    w = K.first_response_time(conv, period="W", min_n=0)
    assert not w["partial"].any() and len(w) == 12
    s = K.sla_attainment(conv, period="W", as_of="2026-10-25 12:00Z", min_n=0)
    last = s["period"].max()
    assert s.loc[s["period"].eq(last), "partial"].all() and not s.loc[s["period"].lt(last), "partial"].any()
    assert K.csat_score(sv, period="M", min_n=0)["partial"].tolist() == [True, False, True]
    b = K.backlog(conv, period="M")
    assert b["partial"].tolist() == [True, False, True]


def test_sla_open_conversations_censored_or_missed():
    """high target 4 h, as_of Jan 5 15:00. c0 open since 09:00 (6 h > 4): missed. c1 open since
    13:00 (2 h): not judged, itemised. c2 resolved at 16:00, after as_of: open at as_of, 3 h since
    13:00 -> not judged. c3 resolved in 1 h: met. 1 of 2 = 50 %."""
    conv = conv_frame(priority="high", created_at=["2026-01-05 09:00Z", "2026-01-05 13:00Z",
                                                   "2026-01-05 12:00Z", "2026-01-05 09:00Z"],
                      resolved_at=[None, None, "2026-01-05 16:00Z", "2026-01-05 10:00Z"],
                      status=["open", "open", "solved", "solved"])
    r = K.sla_attainment(conv, as_of="2026-01-05 15:00Z", min_n=0).iloc[0]
    assert (r["n"], r["met_pct"]) == (2, pytest.approx(50.0))
    ex = exclusions(K.sla_attainment(conv, as_of="2026-01-05 15:00Z", min_n=0))
    assert ex["row_ids"].iloc[0] == ("c1", "c2") and "censored" in ex["reason"].iloc[0]


def test_backlog_never_negative_when_resolved_before_created():
    """c0 created day 1 (open); c1 created day 3 but 'resolved' day 1 (impossible); c2 created and
    resolved on day 2. Without the fix day 1 reads 1 opened - 1 closed = 0 open and the count
    runs one below the truth. c1 is left out and itemised; days 1-2: backlog 1 (c0)."""
    conv = conv_frame(created_at=["2026-01-01 09:00Z", "2026-01-03 09:00Z", "2026-01-02 09:00Z"],
                      resolved_at=[None, "2026-01-01 10:00Z", "2026-01-02 10:00Z"])
    b = K.backlog(conv, period="D")
    assert b["backlog"].tolist() == [1, 1] and (b["backlog"] >= 0).all()
    assert b["opened"].tolist() == [1, 1] and b["closed"].tolist() == [0, 1]
    ex = exclusions(b)
    assert ex["row_ids"].iloc[0] == ("c1",) and ex["reason"].iloc[0].startswith("resolved_at before created_at")


def test_backlog_many_bad_rows_stays_non_negative(sample):
    """On the sample with 40 conversations given a resolution 2 days before creation, every week's
    backlog equals a plain count over the valid rows (created by week end, not resolved by then)."""
    conv, _ = sample
    bad = conv.copy()
    idx = bad.index[:40]
    bad.loc[idx, "resolved_at"] = bad.loc[idx, "created_at"] - pd.Timedelta(days=2)
    b = K.backlog(bad, period="W")
    assert (b["backlog"] >= 0).all() and exclusions(b)["n"].iloc[0] == 40
    good = bad.drop(index=idx)
    for end, got in zip(pd.to_datetime(b["period_end"]).dt.tz_localize("UTC"), b["backlog"]):
        open_ = (good["created_at"] <= end) & ~(good["resolved_at"] <= end)
        assert got == open_.sum()


def test_backlog_groups_sorted_and_a_missing_key_is_a_group():
    """By hand (weeks from Mon 2026-01-05): a (agent y) open 01-05..01-14; b (no agent) open from
    01-06; c (agent a) created and resolved 01-13; d (agent y) open from 01-13. Agent a: weeks 0, 0;
    y: 1 (a), then a closes and d opens: 1; no agent: 1, 1. Groups sorted, the missing agent last
    (it raised a raw numpy ValueError); two by columns sorted too (were in order of appearance)."""
    conv = conv_frame(created_at=["2026-01-05 00:00Z", "2026-01-06 00:00Z", "2026-01-13 00:00Z",
                                  "2026-01-13 00:00Z"],
                      resolved_at=["2026-01-14 00:00Z", None, "2026-01-13 00:00Z", None])
    conv["conversation_id"] = list("abcd")
    conv["agent_id"] = ["y", None, "a", "y"]
    conv["channel"] = ["chat", "email", "chat", "email"]
    b = K.backlog(conv, by="agent_id")
    assert b["agent_id"].tolist()[:4] == ["a", "a", "y", "y"] and b["agent_id"].iloc[4:].isna().all()
    assert b["backlog"].tolist() == [0, 0, 1, 1, 1, 1]
    assert b["opened"].tolist() == [0, 1, 1, 1, 1, 0] and b["closed"].tolist() == [0, 1, 0, 1, 0, 0]
    two = K.backlog(conv, by=["channel", "agent_id"])
    assert list(zip(two["channel"], two["agent_id"].fillna("-")))[::2] == [("chat", "a"), ("chat", "y"),
                                                                           ("email", "y"), ("email", "-")]


def test_median_interval_of_a_group_with_a_missing_key():
    """Six first responses of 1..6 h (no agent, chat): median 3.5, and with z = 1.96 the
    order statistics l = floor(3 - 1.96 sqrt(6)/2) = 0 -> x_(1) = 1 (clamped) and
    u = ceil(1 + 3 + 2.40) = 7 -> x_(6) = 6; the group with the missing agent had no interval
    under two by columns (a MultiIndex lookup of NaN)."""
    conv = conv_frame(first_response_at=[f"2026-01-05 {9 + h:02d}:00Z" for h in range(1, 7)] + ["2026-01-05 10:00Z"])
    conv["agent_id"] = [None] * 6 + ["b"]
    r = K.first_response_time(conv, by=["agent_id", "channel"], min_n=0)
    row = r[r["agent_id"].isna()].iloc[0]
    assert row["first_response_time"] == 3.5 and (row["ci_low"], row["ci_high"]) == (1.0, 6.0)


# --- 2. survey scales ----------------------------------------------------------------------------------------------
def test_csat_threshold_on_fractional_answers():
    """1-10, satisfied from 8: [8.7, 9, 7.9, 10, 3] -> 8.7, 9, 10 satisfied = 3/5 = 60 % (set
    membership in (8, 9, 10) gave 40 %). 1-5: [4.5, 3.5, 5, 4] -> 4.5, 5, 4 = 75 % (was 50 %)."""
    assert K.csat_score(csat_frame([8.7, 9, 7.9, 10, 3]), scale="1-10", min_n=0)["csat"].iloc[0] == pytest.approx(60)
    assert K.csat_score(csat_frame([4.5, 3.5, 5, 4]), min_n=0)["csat"].iloc[0] == pytest.approx(75)
    with pytest.warns(FutureWarning, match="threshold satisfied=8"):
        old = K.csat_score(csat_frame([8.7, 9, 7.9, 10, 3]), scale=(1, 10), satisfied=(8, 9, 10), min_n=0)
    assert old["csat"].iloc[0] == pytest.approx(60)
    custom = K.CsatScale(0, 10, satisfied_from=9)
    assert K.csat_score(csat_frame([0, 8.9, 9, 10]), scale=custom, min_n=0)["csat"].iloc[0] == pytest.approx(50)


def test_ten_point_csat_on_the_default_scale_is_an_error():
    sv = csat_frame([8, 9, 2, 10, 7])
    with pytest.raises(DataValidationError, match=r"csat score outside the scale 1\.\.5; pass scale=.*\[8, 9, 10, 7\].*\['c0', 'c1', 'c3', 'c4'\]"):
        K.csat_score(sv)


def test_nps_fractional_answers_are_classed_and_shares_sum_to_100():
    """[9.5, 6.5, 8.5, 7, 10, 6.9]: promoters 9.5, 10 (2); passives 8.5, 7 (2); detractors 6.5, 6.9 (2);
    NPS = 100 (2 - 2)/6 = 0, each share 33.33 %, sum 100 (6.5 was in no class before)."""
    r = K.nps_score(csat_frame([9.5, 6.5, 8.5, 7, 10, 6.9], kind="nps"), min_n=0).iloc[0]
    assert r["nps"] == pytest.approx(0.0)
    assert (r["promoters_pct"], r["passives_pct"], r["detractors_pct"]) == pytest.approx((100 / 3,) * 3)
    assert r["promoters_pct"] + r["passives_pct"] + r["detractors_pct"] == pytest.approx(100)


def _ten_point_pairs(n=60, seed=3):
    rng = np.random.default_rng(seed)
    csat = rng.integers(1, 11, n).astype(float)
    iqs = 40 + 5 * csat + rng.normal(0, 5, n)
    ids = [f"c{i}" for i in range(n)]
    scores = pd.DataFrame({"review_id": ids, "conversation_id": ids, "agent_id": [f"a{i % 3}" for i in range(n)],
                           "iqs": iqs, "passed": iqs >= 70})
    surveys = pd.DataFrame({"conversation_id": ids, "kind": "csat", "score": csat, "answered_at": None,
                            "agent_id": [f"a{i % 3}" for i in range(n)]})
    return scores, surveys, iqs, csat


def test_point_biserial_on_ten_point_csat():
    """The default 1-5 definition refuses a 1-10 CSAT (r was -0.39 against Pearson +0.98); with
    scale='1-10' the point-biserial r equals scipy's pointbiserialr on the indicator csat >= 8."""
    scores, surveys, iqs, csat = _ten_point_pairs()
    with pytest.raises(DataValidationError, match="outside the scale 1..5; pass scale="):
        ST.iqs_csat_correlation(scores, surveys, method="point_biserial")
    res = ST.iqs_csat_correlation(scores, surveys, method=["point_biserial", "pearson"], scale="1-10").set_index("method")
    expected = sps.pointbiserialr((csat >= 8).astype(float), iqs).statistic
    assert res.loc["point_biserial", "r"] == pytest.approx(expected, abs=1e-12)
    assert res.loc["pearson", "r"] == pytest.approx(sps.pearsonr(iqs, csat).statistic, abs=1e-12)


def test_agent_summary_csat_on_ten_point_scale():
    """Per agent CSAT = 100 * share of answers >= 8, counted with plain pandas."""
    scores, surveys, _, csat = _ten_point_pairs()
    with pytest.raises(DataValidationError, match="outside the scale 1..5"):
        ST.agent_summary(scores, surveys, min_n=0)
    out = ST.agent_summary(scores, surveys, min_n=0, scale="1-10").set_index("agent_id")
    plain = surveys.assign(sat=surveys["score"] >= 8).groupby("agent_id")["sat"].mean() * 100
    assert out["csat"].sort_index().to_numpy() == pytest.approx(plain.sort_index().to_numpy())


def test_join_csat_itemises_unanswered_surveys():
    scores, surveys, *_ = _ten_point_pairs(n=10)
    surveys.loc[2, "score"] = np.nan
    j = ST.join_csat(scores, surveys, scale="1-10")
    assert len(j) == 9 and j["csat"].notna().all()
    assert exclusions(j).set_index("reason").loc["survey sent but not answered (no score)", "row_ids"] == ("c2",)


def test_key_drivers_reads_the_same_csat_definition():
    from qakit import Category, Scorecard

    card = Scorecard([Category("Tone", 1.0), Category("Grammar", 1.0)])
    ratings = pd.DataFrame({"review_id": ["r1", "r1"], "conversation_id": "c1", "agent_id": "a",
                            "reviewer_id": "q", "reviewed_at": "2026-01-05 10:00Z",
                            "category": ["Tone", "Grammar"], "rating": [1.0, 0.0]})
    with pytest.raises(DataValidationError, match=r"outside the scale 1\.\.5.*\[9\]"):
        ST.key_drivers(ratings, card, csat_frame([9]))


# --- 3. numbers that cannot be ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("column, fn", [("handle_time_s", K.handle_time), ("contacts", K.interactions_per_issue)])
def test_inf_is_an_error_naming_the_column(column, fn):
    conv = conv_frame(**{column: [2.0, np.inf, 3.0]})
    with pytest.raises(DataValidationError, match=rf"column '{column}': not a finite number \(inf\).*\['c1'\]"):
        fn(conv)


# --- 4. business hours across DST ----------------------------------------------------------------------------------
def _brute_force_hours(bh_schedule, tz, start, end, holidays=()):
    """Count business minutes one by one: each UTC minute in [start, end) counts when its local
    wall-clock time falls inside that local weekday's opening."""
    minutes = pd.date_range(start, end, freq="min", inclusive="left")
    local = minutes.tz_convert(tz)
    wd = local.day_of_week
    tod = local.hour * 60 + local.minute
    ok = np.zeros(len(minutes), dtype=bool)
    for day, (o, c) in bh_schedule.items():
        oh, om = map(int, o.split(":"))
        ch, cm = map(int, c.split(":"))
        ok |= (wd == day) & (tod >= oh * 60 + om) & (tod < ch * 60 + cm)
    if holidays:
        ok &= ~np.isin(local.strftime("%Y-%m-%d"), list(holidays))
    return ok.sum() / 60


@pytest.mark.parametrize("start, end", [
    ("2026-03-29 00:30+01:00", "2026-03-29 05:00+02:00"),  # March change: 3.5 h elapsed
    ("2026-10-25 00:30+02:00", "2026-10-25 05:00+01:00"),  # October change: 5.5 h elapsed
    ("2026-03-27 16:00+01:00", "2026-03-31 10:30+02:00"),  # a weekend with the change
    ("2026-10-23 08:15+02:00", "2026-10-27 18:00+01:00"),
    ("2026-06-01 07:00+02:00", "2026-06-08 07:00+02:00"),  # a normal week
])
@pytest.mark.parametrize("schedule", [
    {d: ("00:00", "24:00") for d in range(7)},  # 24/7
    {d: ("09:00", "17:00") for d in range(5)},  # office hours
    {d: ("01:30", "03:30") for d in range(7)},  # opening inside the DST hours
])
def test_business_hours_match_a_minute_by_minute_count(start, end, schedule):
    bh = K.BusinessHours(schedule=schedule, tz="Europe/Berlin")
    s, e = pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC")
    got = float(bh.hours_between(pd.Series([s]), pd.Series([e])).iloc[0])
    assert got == pytest.approx(_brute_force_hours(schedule, "Europe/Berlin", s, e))
    assert got <= (e - s).total_seconds() / 3600 + 1e-9


def test_business_hours_24_7_equal_elapsed_on_dst_days():
    """The issue's numbers: 3.5 h elapsed across the March change -> 3.5 h (was 4.5), 5.5 h across
    the October change -> 5.5 h (was 4.5)."""
    bh = K.BusinessHours(schedule={d: ("00:00", "24:00") for d in range(7)}, tz="Europe/Berlin")
    s = pd.Series(pd.to_datetime(["2026-03-29 00:30", "2026-10-25 00:30"]).tz_localize("Europe/Berlin"))
    e = pd.Series(pd.to_datetime(["2026-03-29 05:00", "2026-10-25 05:00"]).tz_localize("Europe/Berlin"))
    assert bh.hours_between(s, e).tolist() == pytest.approx([3.5, 5.5])


# --- 5. exclusions as a contract -------------------------------------------------------------------------------------
def test_kpi_summary_carries_every_parts_record(sample):
    conv, sv = sample
    t = K.kpi_summary(conv, sv)
    ex = exclusions(t)
    open_rt = ex[(ex["source"] == "resolution_time") & (ex["reason"] == "open: not resolved yet")]
    assert open_rt["n"].sum() == conv["resolved_at"].isna().sum()
    assert {"first_response_time", "fcr_rate", "resolution_time"} <= set(ex["source"])


def _report_folder(tmp_path):
    """The bundled sample with 30 reviews' reviewed_at removed, 20 surveys without answered_at
    (placed by their conversation) and one survey about an unknown conversation time."""
    folder = tmp_path / "data"
    folder.mkdir()
    r, c, s = (datasets.load_sample(n) for n in ("ratings", "conversations", "surveys"))
    s = s[s["score"].notna()].reset_index(drop=True)  # the answers (the sample also lists unanswered invitations)
    rid = r["review_id"].drop_duplicates().iloc[:30]
    r.loc[r["review_id"].isin(rid), "reviewed_at"] = pd.NaT
    s.loc[s.index[:20], "answered_at"] = pd.NaT
    s.loc[s.index[20:25], "score"] = np.nan
    r.to_parquet(folder / "ratings.parquet")
    c.to_parquet(folder / "conversations.parquet")
    s.to_parquet(folder / "surveys.parquet")
    (folder / "scorecard.yaml").write_bytes(datasets.sample_scorecard_path().read_bytes())
    return folder, r, c, s, set(rid)


def test_report_data_with_a_period_itemises_what_it_leaves_out(tmp_path):
    from qakit.report import data as sections, study as study_view

    folder, r, c, s, rid = _report_folder(tmp_path)
    data = sections.load_report_data(dataset=str(folder), start="2026-08-01", end="2026-10-31")
    notes = {n["reason"]: n for n in data.notes}
    undated = notes["no reviewed_at: review cannot be placed in the report period, left out"]
    assert set(undated["ids"]) == rid
    placed = notes["no answered_at: placed in the period by its conversation's created_at"]
    assert len(placed["ids"]) == 20  # every conversation lies in the period
    assert len(data.surveys) == len(s)  # nothing vanished; unanswered ones kept
    assert data.surveys["score"].isna().sum() == 5
    dq = study_view.data_quality(data)
    assert int(dq.loc[dq["reason"].str.startswith("no reviewed_at"), "n"].iloc[0]) == 30
    assert int(dq.loc[dq["reason"].eq("survey answer without a score"), "n"].sum()) == 5
    # a one-week period: surveys without answered_at follow their conversation, not "everything"
    week = sections.load_report_data(dataset=str(folder), start="2026-09-07", end="2026-09-13")
    conv_in = c.loc[c["created_at"].between(pd.Timestamp("2026-09-07", tz="UTC"),
                                            pd.Timestamp("2026-09-14", tz="UTC"), inclusive="left"), "conversation_id"]
    when = s["answered_at"].where(s["answered_at"].notna(), s["conversation_id"].map(c.set_index("conversation_id")["created_at"]))
    expected = when.between(pd.Timestamp("2026-09-07", tz="UTC"), pd.Timestamp("2026-09-14", tz="UTC"), inclusive="left")
    assert len(week.surveys) == expected.sum() < len(s)
    assert len(conv_in) == len(week.conversations)


# --- 7. SLA targets -----------------------------------------------------------------------------------------------------
def test_sla_targets_match_priorities_ignoring_case_and_whitespace():
    """Priorities 'High', ' high ', 'HIGH' are one priority for the target {'high': 4}: 3 rows,
    resolved in 1, 2 and 5 h -> 2 of 3 met. 'critical' has no target in {'high': 4}: itemised by
    name. A target for 'vip' matches nothing: a warning naming it."""
    conv = conv_frame(priority=["High", " high ", "HIGH", "critical"],
                      resolved_at=["2026-01-05 10:00Z", "2026-01-05 11:00Z", "2026-01-05 14:00Z", "2026-01-05 10:00Z"])
    with pytest.warns(K.UnmatchedTargetWarning, match=r"\['vip'\] match no priority"):
        r = K.sla_attainment(conv, targets={"high": 4, "vip": 1}, min_n=0)
    assert r["priority"].tolist() == ["high"] and r["n"].iloc[0] == 3
    assert r["met_pct"].iloc[0] == pytest.approx(200 / 3)
    ex = exclusions(r).set_index("reason")["row_ids"]
    assert ex["no SLA target for priority 'critical' (targets: ['high', 'vip'])"] == ("c3",)
    assert set(adjustments(r)["row_ids"].iloc[0]) == {"c0", "c1", "c2"}


def test_default_sla_targets_cover_the_sample(sample):
    conv, _ = sample
    r = K.sla_attainment(conv, min_n=0)
    assert set(r["priority"]) == set(conv["priority"])
    assert not exclusions(r)["reason"].str.startswith("no SLA target").any()


def test_duplicate_sla_targets_after_normalising_are_refused():
    with pytest.raises(ParameterError, match=r"SLA targets \['High', 'high '\] name the same priority"):
        K.sla_attainment(conv_frame(priority=["high"]), targets={"High": 4, "high ": 2})


# --- 6. parameters ------------------------------------------------------------------------------------------------------
def test_parameters_checked_once_with_one_message():
    conv = conv_frame(customer_value=[10.0])
    with pytest.raises(ParameterError, match="cost_per_contact must be a finite number >= 0; got nan"):
        K.customer_cost_value(conv, cost_per_contact=float("nan"))
    with pytest.raises(ParameterError, match="min_n must be an integer >= 0; got 'abc'"):
        K.fcr_rate(conv, min_n="abc")
    with pytest.raises(ParameterError, match="repeat_days must be a finite number > 0; got nan"):
        K.fcr_rate(conv, repeat_days=float("nan"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert K.csat_score(csat_frame([5, 4, 1]), satisfied=4, min_n=0)["csat"].iloc[0] == pytest.approx(200 / 3)


def test_cost_counts_missing_contacts_as_one_and_says_so():
    """Contacts [2, NaN, 1] at cost 20: x has 2 + 1 (NaN counted as 1) = 3 contacts -> 60; y 1 -> 20.
    x's value 50 on one conversation and 80 on another: the largest (80) is used, recorded."""
    conv = conv_frame(conversation_id=list("abc"), customer_id=["x", "x", "y"], contacts=[2.0, None, 1.0],
                      customer_value=[50.0, 80.0, 500.0])
    t = K.customer_cost_value(conv, cost_per_contact=20).set_index("customer_id")
    assert t.loc["x", "cost"] == 60 and t.loc["y", "cost"] == 20 and t.loc["x", "customer_value"] == 80
    adj = adjustments(t).set_index("reason")["row_ids"]
    assert adj["no contacts value: counted as 1 contact"] == ("b",)
    assert adj["customer_value differs between the customer's conversations: the largest is used"] == ("x",)
    c = K.cost_per_contact(conv, total_cost=400)
    assert c["n"].iloc[0] == 4 and c["cost_per_contact"].iloc[0] == 100
    assert adjustments(c)["row_ids"].iloc[0] == ("b",)


def test_fcr_two_day_export_is_not_judged_rather_than_zero():
    """The issue's case, rebuilt: a 2-day export, 300 resolved one-contact conversations of 280
    customers; 20 customers come back within a day. Before the fix the 20 repeaters were judged
    (all not FCR) and the 280 others excluded: FCR 0 % on n = 20. With repeat_days=7 no window is
    complete: n = 0, FCR undefined (NaN), all 300 itemised. With repeat_days=0.5 (12 h) the judged
    ones are those created before as_of - 12 h, counted here with plain pandas."""
    rng = np.random.default_rng(7)
    t0 = pd.Timestamp("2026-11-01 00:00", tz="UTC")
    created = t0 + pd.to_timedelta(np.sort(rng.uniform(0, 36 * 3600, 280)), unit="s")
    cust = [f"u{i}" for i in range(280)]
    back = created[:20] + pd.Timedelta(hours=8)
    conv = conv_frame(conversation_id=[f"c{i}" for i in range(300)], customer_id=cust + cust[:20],
                      created_at=list(created) + list(back), contacts=1.0)
    conv["resolved_at"] = conv["created_at"]
    res = K.fcr_rate(conv, min_n=0).iloc[0]
    assert res["n"] == 0 and np.isnan(res["fcr_rate"]) and res["n_excluded"] == 300
    half = K.fcr_rate(conv, repeat_days=0.5, min_n=0).iloc[0]
    d = pd.DataFrame({"cust": cust + cust[:20], "t": list(created) + list(back)}).sort_values(["cust", "t"])
    as_of = d["t"].max()
    judged = d["t"] + pd.Timedelta(hours=12) <= as_of
    repeat = (d.groupby("cust")["t"].shift(-1) - d["t"]) <= pd.Timedelta(hours=12)
    assert half["n"] == judged.sum() and half["fcr_rate"] == pytest.approx((judged & ~repeat).sum() / judged.sum())
    assert half["fcr_rate"] > 0.9


from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as hst  # noqa: E402


@settings(max_examples=40, deadline=None)
@example(start_min=125250, span_min=270, open_h=0, length_h=24, days={6})  # Sun 29 Mar 00:30 CET, 3.5 h
@example(start_min=427590, span_min=330, open_h=0, length_h=24, days={6})  # Sun 25 Oct 00:30 CEST, 5.5 h
@example(start_min=125250, span_min=600, open_h=1, length_h=2, days={5, 6})  # opening across the gap
@example(start_min=427590, span_min=600, open_h=2, length_h=1, days={6})  # opening inside the overlap
@given(start_min=hst.integers(0, 365 * 24 * 60), span_min=hst.integers(0, 3 * 24 * 60),
       open_h=hst.integers(0, 22), length_h=hst.integers(1, 24), days=hst.sets(hst.integers(0, 6), min_size=1))
def test_business_hours_property_never_above_elapsed_and_equal_to_brute_force(start_min, span_min, open_h, length_h, days):
    """Any start in 2026 (both DST changes included), any span up to 3 days, any daily opening:
    business hours equal the minute-by-minute count in Europe/Berlin and never exceed elapsed."""
    close_h = min(open_h + length_h, 24)
    schedule = {d: (f"{open_h:02d}:00", f"{close_h:02d}:00") for d in days}
    s = pd.Timestamp("2026-01-01 00:00", tz="UTC") + pd.Timedelta(minutes=start_min)
    e = s + pd.Timedelta(minutes=span_min)
    bh = K.BusinessHours(schedule=schedule, tz="Europe/Berlin")
    got = float(bh.hours_between(pd.Series([s]), pd.Series([e])).iloc[0])
    assert got == pytest.approx(_brute_force_hours(schedule, "Europe/Berlin", s, e), abs=1e-9)
    assert got <= span_min / 60 + 1e-9


def test_surveys_without_answered_at_follow_their_conversation_in_a_trend():
    """c0 answered Jan 5 (week of Jan 5); c1 has no answered_at, its conversation was created Jan 12
    (week of Jan 12); c2 has neither an answer time nor a conversation in the table. Scores 5, 1, 5.
    Without conversations: c1 and c2 are left out (itemised). With them: week Jan 5 = 100 % (c0),
    week Jan 12 = 0 % (c1, recorded as an adjustment), c2 still left out."""
    sv = pd.DataFrame({"conversation_id": ["c0", "c1", "c2"], "kind": "csat", "score": [5.0, 1.0, 5.0],
                       "answered_at": ["2026-01-05 10:00Z", None, None]})
    conv = conv_frame(conversation_id=["c0", "c1"], created_at=["2026-01-05 09:00Z", "2026-01-12 09:00Z"])
    alone = K.csat_score(sv, period="W", min_n=0)
    assert alone["n"].tolist() == [1] and exclusions(alone)["row_ids"].iloc[0] == ("c1", "c2")
    both = K.csat_score(sv, period="W", conversations=conv, min_n=0)
    assert both["csat"].tolist() == [100.0, 0.0]
    assert exclusions(both)["row_ids"].iloc[0] == ("c2",) and adjustments(both)["row_ids"].iloc[0] == ("c1",)


def test_a_kpi_checks_only_the_columns_it_reads():
    """resolution_time reads conversation_id, created_at and resolved_at: a table without customer_id,
    channel, priority or status is served (it was refused before). By hand: 09:00 -> 13:00 is 4 h;
    the open conversation b is itemised."""
    from qakit import kpis as K

    conv = pd.DataFrame({"conversation_id": ["a", "b"], "created_at": "2026-01-05 09:00Z",
                         "resolved_at": ["2026-01-05 13:00Z", None]})
    r = K.resolution_time(conv)
    assert r["n"].tolist() == [1] and r["resolution_time"].tolist() == [4.0]
    assert exclusions(r)["row_ids"].tolist() == [("b",)]
    with pytest.raises(DataValidationError, match="column 'resolved_at': required column is missing"):
        K.resolution_time(conv.drop(columns="resolved_at"))


def test_kpi_summary_validates_each_table_once(monkeypatch):
    """kpi_summary checks the conversations and surveys once each for all its KPIs (it validated the
    same frame once per KPI before)."""
    from qakit import datasets
    from qakit import kpis as K
    from qakit import schema as S

    conv, surveys = datasets.load_sample("conversations"), datasets.load_sample("surveys")
    calls = []
    real = S.check  # (every validation runs the check: validate() calls it, the metrics' contract too)

    def counting(df, table, **kw):
        calls.append(table)
        return real(df, table, **kw)

    monkeypatch.setattr(S, "check", counting)
    K.kpi_summary(conv, surveys, by="channel")
    assert sorted(calls) == ["conversations", "surveys"]
