"""qakit.kpis: every KPI against numbers worked out by hand (docstrings) or with a few lines of
plain pandas/numpy on the bundled sample, plus messy and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qakit import datasets, exclusions
from qakit import kpis as K
from qakit.errors import DataValidationError, ParameterError
from frames import conv_frame


@pytest.fixture(scope="module")
def sample():
    sv = datasets.load_sample("surveys")
    return datasets.load_sample("conversations"), sv[sv["score"].notna()].reset_index(drop=True)  # the answers


# --- surveys -------------------------------------------------------------------------------------------
def test_csat_by_hand_and_wilson():
    """8 answers [5,5,4,4,4,3,2,1]: 5 satisfied -> 62.5 %; mean 28/8 = 3.5. Wilson 95 % for 5/8:
    z^2 = 3.8415, denom = 1 + z^2/8 = 1.48019, centre = (.625 + z^2/16)/denom = .58444,
    half = 1.95996 sqrt(.625 * .375/8 + z^2/256)/denom = .27871 -> 30.57 .. 86.32 %
    (R: prop.test(5, 8, correct = FALSE)$conf.int = 0.3057 0.8632)."""
    sv = pd.DataFrame({"conversation_id": [f"c{i}" for i in range(8)], "kind": "csat", "answered_at": None,
                       "score": [5.0, 5, 4, 4, 4, 3, 2, 1]})
    r = K.csat_score(sv, min_n=0).iloc[0]
    assert r["n"] == 8 and r["csat"] == 62.5 and r["csat_mean"] == 3.5
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((30.57, 86.32), abs=0.01)


def test_csat_ten_point_and_by_conversation_column(sample):
    conv, sv = sample
    ten = pd.DataFrame({"conversation_id": list("abcd"), "kind": "csat", "answered_at": None,
                        "score": [10.0, 9, 8, 2]})
    with pytest.warns(FutureWarning, match=r"now the threshold satisfied=9"):
        assert K.csat_score(ten, satisfied=(9, 10), scale=(1, 10))["csat"].iloc[0] == 50.0
    assert K.csat_score(ten, satisfied=9, scale="1-10")["csat"].iloc[0] == 50.0
    res = K.csat_score(sv, by="channel", conversations=conv, min_n=0).set_index("channel")
    cs = sv[sv["kind"] == "csat"].merge(conv[["conversation_id", "channel"]], on="conversation_id")
    plain = cs.groupby("channel")["score"].apply(lambda s: 100 * s.isin([4, 5]).mean())
    assert res["csat"].sort_index().to_numpy() == pytest.approx(plain.sort_index().to_numpy())
    assert res["n"].sum() == len(cs)


def test_nps_se_and_ci_by_hand():
    """10 answers: 6 promoters, 2 detractors: NPS = 40; se = 100 sqrt((.6 + .2 - .16)/10)
    = 100 sqrt(.064) = 25.298; CI 40 -/+ 1.95996 * 25.298 = -9.58 .. 89.58."""
    sv = pd.DataFrame({"conversation_id": list("abcdefghij"), "kind": "nps", "answered_at": None,
                       "score": [10.0, 9, 9, 10, 8, 7, 6, 3, 10, 9]})
    r = K.nps_score(sv, min_n=0).iloc[0]
    assert r["nps"] == pytest.approx(40.0) and r["se"] == pytest.approx(25.2982, abs=1e-4)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((-9.583, 89.583), abs=1e-3)
    assert r["passives_pct"] == pytest.approx(20.0)


def test_ces_reversed_and_scale_error():
    sv = pd.DataFrame({"conversation_id": list("abc"), "kind": "ces", "answered_at": None, "score": [1.0, 2, 6]})
    assert K.ces_score(sv, min_n=0)["ces"].iloc[0] == pytest.approx(3.0)
    assert K.ces_score(sv, higher_is_better=False, min_n=0)["ces"].iloc[0] == pytest.approx(5.0)  # 8 - 3
    with pytest.raises(DataValidationError, match=r"ces score outside the scale 1\.\.5.*\[6\].*\['c'\]"):
        K.ces_score(sv, scale=(1, 5))


def test_survey_scores_off_scale_listed_with_row_ids():
    sv = pd.DataFrame({"conversation_id": ["c1", "c2", "c3"], "kind": "csat", "answered_at": None,
                       "score": [5.0, 6.0, 0.0]})
    with pytest.raises(DataValidationError, match=r"csat score outside the scale 1\.\.5.*\[6, 0\].*\['c2', 'c3'\]"):
        K.csat_score(sv)


# --- business hours ---------------------------------------------------------------------------------------
def test_business_hours_weekend_holiday_and_timezone():
    """Mon-Fri 09:00-17:00 Europe/Berlin, holiday Fri 2026-01-02.
    a: Thu 01-01 16:00 -> Mon 01-05 10:30 local: Thu 1 h + Fri 0 + weekend 0 + Mon 1.5 h = 2.5 h.
    b: same day Tue 01-06 08:00 -> 12:00 local: 3 h (opens at 9).
    c: given in UTC, Wed 01-07 15:30Z (16:30 local) -> Thu 07:30Z (08:30 local): 0.5 h.
    d: Sat -> Sun: 0 h.  e: end before start -> NaN."""
    bh = K.BusinessHours(holidays=["2026-01-02"], tz="Europe/Berlin")
    start = pd.Series(pd.to_datetime(["2026-01-01 15:00Z", "2026-01-06 07:00Z", "2026-01-07 15:30Z",
                                      "2026-01-10 10:00Z", "2026-01-08 10:00Z"]))
    end = pd.Series(pd.to_datetime(["2026-01-05 09:30Z", "2026-01-06 11:00Z", "2026-01-08 07:30Z",
                                    "2026-01-11 10:00Z", "2026-01-08 09:00Z"]))
    got = bh.hours_between(start, end)
    assert got.iloc[:4].tolist() == pytest.approx([2.5, 3.0, 0.5, 0.0])
    assert np.isnan(got.iloc[4])


def test_business_hours_bad_schedule():
    with pytest.raises(ParameterError, match="day 0 closes \\(08:00\\) before it opens \\(09:00\\)"):
        K.BusinessHours(schedule={0: ("09:00", "08:00")})
    with pytest.raises(ParameterError, match="'9am'"):
        K.BusinessHours(schedule={0: ("9am", "17:00")})
    with pytest.raises(ParameterError, match="weekday must be 0"):
        K.BusinessHours(schedule={7: ("09:00", "17:00")})


# --- times --------------------------------------------------------------------------------------------------
def test_first_response_time_messy_rows_itemised():
    """Durations 1, 2, 4 h usable (median 2, mean 7/3); c0x before creation, one absurd (100 days),
    one not answered yet — each itemised with its row id."""
    conv = conv_frame(first_response_at=["2026-01-05 10:00Z", "2026-01-05 11:00Z", "2026-01-05 13:00Z",
                                         "2026-01-05 08:00Z", "2026-04-20 09:00Z", None])
    r = K.first_response_time(conv, min_n=0)
    assert r[["n", "n_excluded"]].iloc[0].tolist() == [3, 3]
    assert r["first_response_time"].iloc[0] == 2.0
    assert r["first_response_time_mean"].iloc[0] == pytest.approx(7 / 3)
    assert r["first_response_time_p90"].iloc[0] == pytest.approx(3.6)  # 2 + 0.8 * (4 - 2)
    ex = exclusions(r).set_index("reason")
    assert ex.loc["first response: first_response_at before created_at", "row_ids"] == ("c3",)
    assert ex.loc["first response: longer than max_hours=2160", "row_ids"] == ("c4",)
    assert ex.loc["no first response yet", "row_ids"] == ("c5",)


def test_times_on_sample_match_plain_pandas(sample):
    conv, _ = sample
    res = K.resolution_time(conv, by="channel", min_n=0).set_index("channel")
    h = (conv["resolved_at"] - conv["created_at"]).dt.total_seconds() / 3600
    plain = h.groupby(conv["channel"]).agg(["median", "mean", "count"])
    assert res["resolution_time"].to_numpy() == pytest.approx(plain["median"].to_numpy())
    assert res["resolution_time_mean"].to_numpy() == pytest.approx(plain["mean"].to_numpy())
    assert res["n"].tolist() == plain["count"].tolist()
    assert res["n_excluded"].sum() == conv["resolved_at"].isna().sum()
    # the distribution-free median CI brackets the median
    assert ((res["ci_low"] <= res["resolution_time"]) & (res["resolution_time"] <= res["ci_high"])).all()


def test_mixed_timezones_and_unparseable_raise_together():
    conv = conv_frame(created_at=["2026-01-05 09:00Z", "2026-01-05 09:00", "2026-01-05 09:00Z"],
                      first_response_at=["2026-01-05 10:00Z", "soon", None])
    with pytest.raises(DataValidationError) as e:
        K.first_response_time(conv)
    f = e.value.failures
    assert set(f["check"].str.split(" ").str[0]) == {"mixes", "unparseable"}
    assert "c1" in f.loc[f["column"].eq("first_response_at"), "row_ids"].iloc[0]


def test_duplicate_conversation_ids_raise():
    conv = conv_frame(first_response_at=["2026-01-05 10:00Z"] * 2)
    conv["conversation_id"] = ["c1", "c1"]
    with pytest.raises(DataValidationError, match=r"duplicate key \(conversation_id\).*c1"):
        K.first_response_time(conv)


def test_handle_time_and_missing_column():
    conv = conv_frame(handle_time_s=[300.0, 900.0, None])
    r = K.handle_time(conv, min_n=0).iloc[0]
    assert r["handle_time"] == 10.0 and r["n_excluded"] == 1
    with pytest.raises(ParameterError, match="handle_time needs a 'handle_time_s' column"):
        K.handle_time(conv_frame(status=["solved"]))


# --- FCR, rates, backlog, SLA ---------------------------------------------------------------------------------
def test_fcr_rules_by_hand():
    """Customer x: c0 (Jan 1, 1 contact), c1 (Jan 3, 1 contact); y: c2 (Jan 1, 2 contacts);
    z: c3 (Jan 20, open). repeat rule, 7 days: c0 repeats (x back after 2 days) -> not FCR;
    c2 has 2 contacts -> not FCR; c1: last date Jan 20 - 7 = Jan 13 >= Jan 3, judged, FCR.
    -> 1 / 3. contacts rule: c0, c1 FCR -> 2/3. c3 is open -> excluded in both."""
    conv = conv_frame(customer_id=["x", "x", "y", "z"],
                      created_at=["2026-01-01 09:00Z", "2026-01-03 09:00Z", "2026-01-01 09:00Z", "2026-01-20 09:00Z"],
                      resolved_at=["2026-01-01 10:00Z", "2026-01-03 10:00Z", "2026-01-02 10:00Z", None],
                      status=["solved", "solved", "solved", "open"], contacts=[1.0, 1, 2, 1])
    rep = K.fcr_rate(conv, min_n=0).iloc[0]
    assert (rep["n"], rep["fcr_rate"]) == (3, pytest.approx(1 / 3))
    con = K.fcr_rate(conv, rule="contacts", min_n=0).iloc[0]
    assert (con["n"], con["fcr_rate"]) == (3, pytest.approx(2 / 3))
    with pytest.raises(ParameterError, match="agent_replies"):
        K.fcr_rate(conv, rule="replies")
    with pytest.raises(ParameterError, match="rule must be one of"):
        K.fcr_rate(conv, rule="first")


def test_fcr_repeat_rule_on_sample_matches_plain_pandas(sample):
    conv, _ = sample
    res = K.fcr_rate(conv, min_n=0).iloc[0]
    d = conv.sort_values(["customer_id", "created_at"])
    nxt = d.groupby("customer_id")["created_at"].shift(-1)
    repeat = (nxt - d["created_at"]) <= pd.Timedelta(days=7)
    resolved = d["resolved_at"].notna() | d["status"].isin(["solved", "closed", "resolved"])
    as_of = max(d["created_at"].max(), d["first_response_at"].max(), d["resolved_at"].max())
    judged = d["created_at"] + pd.Timedelta(days=7) <= as_of  # censored: window past as_of, either way
    use = resolved & judged
    fcr = (d["contacts"] == 1) & ~repeat
    assert res["n"] == use.sum()
    assert res["fcr_rate"] == pytest.approx((fcr & use).sum() / use.sum())


def test_rates_on_sample(sample):
    conv, _ = sample
    e = K.escalation_rate(conv, by="priority", min_n=0).set_index("priority")["escalation_rate"]
    assert e.sort_index().to_numpy() == pytest.approx(conv.groupby("priority")["escalated"].mean().sort_index().to_numpy())
    r = K.resolution_rate(conv, min_n=0)["resolution_rate"].iloc[0]
    assert r == pytest.approx((conv["resolved_at"].notna() | conv["status"].isin(["solved", "closed"])).mean())
    i = K.interactions_per_issue(conv, min_n=0)["interactions_per_issue"].iloc[0]
    assert i == pytest.approx(conv["contacts"].mean())


def test_backlog_keeps_open_conversations(sample):
    """Open at each week end = created by then and not resolved by then, counted with a plain
    loop over the week ends; never-resolved ones stay in every later week."""
    conv, _ = sample
    b = K.backlog(conv, period="W")
    ends = pd.to_datetime(b["period_end"]).dt.tz_localize("UTC")
    for end, got in list(zip(ends, b["backlog"]))[::3]:
        open_ = (conv["created_at"] <= end) & ~(conv["resolved_at"] <= end)
        assert got == open_.sum()
    assert b["backlog"].iloc[-1] == conv["resolved_at"].isna().sum()
    assert b["opened"].sum() == len(conv)


def test_backlog_by_group():
    conv = conv_frame(agent_id=["a", "b", "a"], created_at=["2026-01-05 09:00Z", "2026-01-06 09:00Z", "2026-01-13 09:00Z"],
                      resolved_at=["2026-01-14 09:00Z", None, "2026-01-13 10:00Z"])
    b = K.backlog(conv, by="agent_id").set_index(["agent_id", "period"])["backlog"]
    assert b.tolist() == [1, 0, 1, 1]  # a: wk1 open 1, wk2 0; b: 1, 1


def test_sla_attainment_by_hand():
    """high target 4 h: c0 1 h met, c1 6 h missed, c2 open 30 h at as_of -> missed, c3 open 1 h ->
    still within target: excluded. 1 of 3 met = 33.3 %; goal 95 not met. low: c4 80 h > 72 missed."""
    conv = conv_frame(priority=["high", "high", "high", "high", "low", "vip"],
                      created_at=["2026-01-05 09:00Z", "2026-01-05 09:00Z", "2026-01-05 09:00Z", "2026-01-06 14:00Z",
                                  "2026-01-01 09:00Z", "2026-01-05 09:00Z"],
                      resolved_at=["2026-01-05 10:00Z", "2026-01-05 15:00Z", None, None, "2026-01-04 17:00Z",
                                   "2026-01-05 10:00Z"],
                      status=["solved", "solved", "open", "open", "solved", "solved"])
    r = K.sla_attainment(conv, as_of="2026-01-06 15:00Z", min_n=0).set_index("priority")
    assert r.loc["high", "n"] == 3 and r.loc["high", "met_pct"] == pytest.approx(100 / 3)
    assert not r.loc["high", "goal_met"] and r.loc["low", "met_pct"] == 0
    ex = exclusions(r).set_index("reason")["row_ids"]
    assert ex["open and still within target at as_of 2026-01-06 15:00 UTC: outcome not known yet (censored)"] == ("c3",)
    assert ex["no SLA target for priority 'vip' (targets: ['critical', 'high', 'low', 'medium', 'normal', 'urgent'])"] == ("c5",)
    with pytest.raises(ParameterError, match="SLA target for priority 'high' must be a positive number"):
        K.sla_attainment(conv, targets={"high": -1})


def test_sla_resolved_status_without_resolved_at_is_not_judged():
    """c1 says 'solved' but has no resolved_at: resolved at an unknown time, neither met nor missed
    (it would otherwise read as open and past target = missed). c0 met in 1 h: 1 of 1 = 100 %."""
    conv = conv_frame(resolved_at=["2026-01-05 10:00Z", None], status=["solved", "Solved "], priority="high",
                      created_at="2026-01-05 09:00Z")
    r = K.sla_attainment(conv, as_of="2026-01-06 15:00Z", min_n=0)
    assert (r["n"].iloc[0], r["met_pct"].iloc[0]) == (1, 100.0)
    ex = exclusions(r).set_index("reason")["row_ids"]
    assert ex["status says resolved (solved, closed, resolved) but resolved_at is missing: not judged"] == ("c1",)


# --- calls and cost -------------------------------------------------------------------------------------------
def test_service_level_and_abandonment():
    calls = pd.DataFrame({"call_id": list("abcdef"), "agent_id": "x", "created_at": "2026-01-05",
                          "answered": ["Y", "Y", "Y", "N", "Y", "N"], "speed_of_answer_s": [5.0, 20, 45, None, None, None]})
    sl = K.service_level(calls, min_n=0).iloc[0]
    assert (sl["n"], sl["service_level"]) == (5, pytest.approx(2 / 5))  # e answered without speed: excluded
    assert exclusions(K.service_level(calls, min_n=0))["row_ids"].iloc[0] == ("e",)
    assert K.abandonment_rate(calls, min_n=0)["abandonment_rate"].iloc[0] == pytest.approx(2 / 6)
    with pytest.raises(DataValidationError, match=r"answered.*not a boolean.*\['maybe'\]"):
        K.abandonment_rate(calls.assign(answered=["Y", "maybe", "Y", "N", "Y", "N"]))


def test_cost_and_customer_value(sample):
    conv, _ = sample
    c = K.cost_per_contact(conv, cost_per_hour=30).iloc[0]
    assert c["cost_per_contact"] == pytest.approx((conv["handle_time_s"].sum() / 3600 * 30) / conv["contacts"].sum())
    with pytest.raises(ParameterError, match="exactly one of"):
        K.cost_per_contact(conv)
    t = K.customer_cost_value(conv, cost_per_contact=5)
    plain = conv.groupby("customer_id").agg(contacts=("contacts", "sum"), value=("customer_value", "max"))
    flagged = (plain["contacts"] * 5 > plain["value"]).sum()
    assert t["costs_more_than_value"].sum() == flagged and len(t) == len(plain)
    import matplotlib

    matplotlib.use("Agg")
    ax = K.customer_cost_value_plot(t)
    assert ax.get_xscale() == "log" and len(ax.collections) >= 1


def test_kpi_summary_rows_match_individual_kpis(sample):
    conv, sv = sample
    s = K.kpi_summary(conv, sv, by="team").set_index(["team", "kpi"])
    csat = K.csat_score(sv, by="team", conversations=conv).set_index("team")
    assert s.loc[("West", "csat"), "value"] == pytest.approx(csat.loc["West", "csat"])
    fr = K.first_response_time(conv, by="team").set_index("team")
    assert s.loc[("East", "first_response_time"), "value"] == pytest.approx(fr.loc["East", "first_response_time"])
    assert set(s.index.get_level_values("kpi")) >= {"csat", "nps", "ces", "fcr_rate", "sla_high", "handle_time"}


def test_kpi_results_parts_are_the_kpis_own_results(sample):
    """kpi_results keeps kpi_summary's computation per KPI: each part is the KPI's own function with
    min_n=0 (the same numbers and the same itemised exclusions), and summary_table of the parts is
    kpi_summary. By hand on a small table: first responses after 1 h and 3 h, one before created ->
    median 2.0 h of n = 2, one excluded."""
    conv, sv = sample
    r = K.kpi_results(conv, sv, csat_scale="1-5")
    assert list(r)[:5] == ["csat", "nps", "ces", "first_response_time", "resolution_time"]
    for name, own in (("first_response_time", K.first_response_time(conv, min_n=0)),
                      ("resolution_time", K.resolution_time(conv, min_n=0)), ("fcr_rate", K.fcr_rate(conv, min_n=0)),
                      ("csat", K.csat_score(sv, scale="1-5", min_n=0)), ("nps", K.nps_score(sv, min_n=0))):
        pd.testing.assert_frame_equal(r[name], own, check_dtype=False)
        pd.testing.assert_frame_equal(exclusions(r[name]), exclusions(own))
    pd.testing.assert_frame_equal(K.summary_table(r), K.kpi_summary(conv, sv, csat_scale="1-5"))
    c = conv_frame(first_response_at=["2026-01-05 10:00Z", "2026-01-05 12:00Z", "2026-01-05 08:00Z"])
    t = K.kpi_results(c)["first_response_time"]
    assert (t["n"].iloc[0], t["first_response_time"].iloc[0], t["n_excluded"].iloc[0]) == (2, 2.0, 1)


def test_summary_table_refuses_what_is_not_kpi_results():
    c = conv_frame(first_response_at=["2026-01-05 10:00Z", "2026-01-05 12:00Z"])
    r = K.kpi_results(c)
    with pytest.raises(ParameterError, match=r"unknown KPI name\(s\) \['iqs'\]"):
        K.summary_table({**r, "iqs": r["fcr_rate"]})
    with pytest.raises(ParameterError, match=r"not a table for \['fcr_rate'\]"):
        K.summary_table({**r, "fcr_rate": 0.5})
    with pytest.raises(ParameterError, match="results: empty"):
        K.summary_table({})


def test_sla_by_priority_and_sla_high_per_priority():
    """``by="priority"`` (the SLA's own rows are per priority) used to fail with a raw pandas error.
    By hand, all resolved: high 2 h (met 4 h) and 6 h (missed); urgent 3 h, 5 h, 1 h; normal 30 h.
    Default targets (urgent 1 h, high 4 h, normal 24 h): urgent 1/3, high 1/2, normal 0/1.
    sla_high judges high and urgent against the high target (4 h): 3/5 = 60 %; per priority high
    1/2 = 50 %, urgent 2/3 = 66.67 %, no normal row."""
    created = "2026-01-05 00:00Z"
    hours = [2, 6, 3, 5, 1, 30]
    c = conv_frame(priority=["high", "high", "urgent", "urgent", "urgent", "normal"], created_at=created,
                   resolved_at=[str(pd.Timestamp(created) + pd.Timedelta(hours=h)) for h in hours])
    a = K.sla_attainment(c, by="priority", min_n=0).set_index("priority")
    assert a["met_pct"].to_dict() == pytest.approx({"high": 50.0, "normal": 0.0, "urgent": 100 / 3})
    pd.testing.assert_frame_equal(K.sla_attainment(c, by="priority", min_n=0), K.sla_attainment(c, min_n=0))
    s = K.kpi_summary(c)
    assert s.set_index("kpi").loc["sla_high", "value"] == pytest.approx(60.0)
    p = K.kpi_summary(c, by="priority")
    hi = p[p["kpi"] == "sla_high"].set_index("priority")
    assert hi["value"].to_dict() == pytest.approx({"high": 50.0, "urgent": 200 / 3})
    assert hi["n"].to_dict() == {"high": 2, "urgent": 3}


def test_period_trend_and_bad_period(sample):
    conv, sv = sample
    m = K.csat_score(sv, period="M", min_n=0)
    plain = sv[sv["kind"] == "csat"].assign(m=lambda d: d["answered_at"].dt.tz_localize(None).dt.to_period("M"))
    assert m["n"].tolist() == plain.groupby("m").size().tolist()
    with pytest.raises(ParameterError, match="period must be one of"):
        K.csat_score(sv, period="fortnight")
    with pytest.raises(ParameterError, match=r"by column\(s\) \['region'\]"):
        K.escalation_rate(conv, by="region")
