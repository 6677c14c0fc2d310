"""QA-operations analytics (qakit.ops) and customers with zero contacts.

Expected numbers are worked out by hand from the fixtures (arithmetic in the docstrings); interval
checks use scipy's own implementations (``binomtest(...).proportion_ci(method="wilson")``,
``ttest_1samp(...).confidence_interval``), independent of qakit.intervals.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from qakit import schema as S
from qakit.errors import ParameterError
from qakit.exports import read_export
from qakit.kpis import customer_cost_value
from qakit.ops import (
    calls_daily_kpis,
    dispute_outcomes,
    dispute_rate,
    iqs_after_disputes,
    review_coverage,
    reviewer_strictness,
)
from qakit.stats import sample_size_plan

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def klaus():
    return read_export(FIX / "zendesk_qa_export.json", preset="zendesk_qa")


def wilson(k, n):
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=0.95, method="wilson")
    return ci.low, ci.high


# --- disputes --------------------------------------------------------------------------------------
def test_dispute_rate_by_reviewer_agent_category(klaus):
    """Disputes D1 (R2), D2 (R1), D3 (R3). Quinn reviewed R1, R3 -> 2/2; Rae R2, R4 -> 1/2.
    Ana (agent) R1, R2 -> 2/2; Bo R3, R4 -> 1/2. Categories: Accuracy disputed on R2 and rated (not
    N/A) on R1-R3 -> 1/3; Solution disputed on R1 -> 1/3; Tone 0/3; Empathy rated on R2, R3 -> 0/2."""
    rv, d = klaus["reviews"], klaus["disputes"]
    r = dispute_rate(rv, d, by="reviewer_id", min_n=0).set_index(S.REVIEWER_ID)
    assert r.loc["quinn@example.com", "dispute_rate"] == 1.0 and r.loc["rae@example.com", "dispute_rate"] == 0.5
    lo, hi = wilson(1, 2)
    assert r.loc["rae@example.com", [S.CI_LOW, S.CI_HIGH]].tolist() == pytest.approx([lo, hi])
    a = dispute_rate(rv, d, by="agent_id", min_n=0).set_index(S.AGENT_ID)["dispute_rate"].to_dict()
    assert a == {"ana@example.com": 1.0, "bo@example.com": 0.5}
    c = dispute_rate(rv, d, by="category", ratings=klaus["ratings"], min_n=0).set_index(S.CATEGORY)
    assert c["n"].to_dict() == {"Accuracy": 3, "Solution": 3, "Tone": 3, "Empathy": 2}
    assert c["dispute_rate"].to_dict() == pytest.approx({"Accuracy": 1 / 3, "Solution": 1 / 3, "Tone": 0, "Empathy": 0})
    assert c.index[:2].tolist() == ["Accuracy", "Solution"]  # most disputed first
    with pytest.raises(ParameterError, match="ratings="):
        dispute_rate(rv, d, by="category")


def test_dispute_rate_itemises_orphans(klaus):
    d = pd.concat([klaus["disputes"], klaus["disputes"].iloc[[0]].assign(dispute_id="D9", review_id="R99")])
    res = dispute_rate(klaus["reviews"], d, min_n=0)
    ex = S.exclusions(res)
    assert ex["row_ids"].tolist() == [("D9",)]


def test_dispute_outcomes(klaus):
    """D1 accepted (resolved after 24 h), D2 rejected (6 h), D3 pending: accepted 1 of 2 decided,
    median time to resolve (24 + 6) / 2 = 15 h. By reviewer: Quinn's reviews got D2 (rejected) and
    D3 (pending) -> 0 of 1; Rae's got D1 -> 1 of 1."""
    res = dispute_outcomes(klaus["disputes"], min_n=0)
    row = res.iloc[0]
    assert (row["n"], row["n_decided"], row["n_accepted"], row["n_pending"]) == (3, 2, 1, 1)
    assert row["accepted_rate"] == 0.5 and row["median_resolve_time_h"] == 15
    assert [row[S.CI_LOW], row[S.CI_HIGH]] == pytest.approx(wilson(1, 2))
    assert S.exclusions(res)["row_ids"].tolist() == [("D3",)]
    by = dispute_outcomes(klaus["disputes"], by="reviewer_id", reviews=klaus["reviews"], min_n=0).set_index(S.REVIEWER_ID)
    assert by.loc["quinn@example.com", ["n", "n_decided", "n_accepted"]].tolist() == [2, 1, 0]
    assert by.loc["rae@example.com", "accepted_rate"] == 1.0


def test_iqs_after_accepted_disputes(klaus):
    """D1 accepted on R2 with the Accuracy rating corrected to 100: (50 + 2*100 + 100 + 100) / 5 = 90.
    Vendor scores R1 75, R2 0, R3 90 (R4 unscored): before (75 + 0 + 90) / 3 = 55, after
    (75 + 90 + 90) / 3 = 85, change 30; interval = scipy's t interval of the differences [0, 90, 0]."""
    d = klaus["disputes"].assign(score_after=[90.0, np.nan, np.nan])
    res = iqs_after_disputes(klaus["reviews"], d, min_n=0)
    row = res.iloc[0]
    assert (row["n"], row["n_changed"]) == (3, 1)
    assert (row["iqs_before"], row["iqs_after"], row["change"]) == pytest.approx((55, 85, 30))
    ci = stats.ttest_1samp([0.0, 90.0, 0.0], 0).confidence_interval(0.95)
    assert [row[S.CI_LOW], row[S.CI_HIGH]] == pytest.approx([ci.low, ci.high])
    assert ("R4",) in S.exclusions(res)["row_ids"].tolist()


# --- coverage --------------------------------------------------------------------------------------
def test_review_coverage_weeks_plan_and_roster(klaus):
    """All four reviews fall in the week of Monday 2026-11-02: Ana 2, Bo 2; plan 5 -> shortfall 3 each.
    'cy' from the roster was never reviewed: 0. Half-width with sd 20 and n 2:
    t(0.975, 1) * 20 / sqrt(2) = 12.7062 * 14.1421 = 179.69."""
    res = review_coverage(klaus["reviews"], sd=20, agents=["cy@example.com"])
    assert res[S.AGENT_ID].tolist() == ["ana@example.com", "bo@example.com", "cy@example.com"]
    assert (res["week"] == pd.Timestamp("2026-11-02")).all()
    assert res["n"].tolist() == [2, 2, 0] and res["shortfall"].tolist() == [3, 3, 5]
    assert res["under_covered"].all()
    assert res["half_width"].iloc[0] == pytest.approx(stats.t.ppf(0.975, 1) * 20 / np.sqrt(2))
    assert np.isnan(res["half_width"].iloc[2])


def test_review_coverage_gap_week_and_sample_size_plan():
    """An agent reviewed in weeks 1 and 3 shows week 2 with 0. The half-width bought by
    sample_size_plan's n_required is within the target, one review fewer is not."""
    plan = sample_size_plan(pd.DataFrame({"iqs": [0.0, 1.0]}), half_width=5, sd=10)
    need = int(plan["n_required"].iloc[0])
    times = ["2026-11-02 10:00"] * need + ["2026-11-16 10:00"] * (need - 1)
    rv = pd.DataFrame({"review_id": [f"r{i}" for i in range(len(times))], "agent_id": "a", "reviewed_at": times})
    res = review_coverage(rv, sd=10, plan=need)
    assert res["n"].tolist() == [need, 0, need - 1]
    assert res["half_width"].iloc[0] <= 5 < res["half_width"].iloc[2]
    assert res["under_covered"].tolist() == [False, True, True]
    with pytest.raises(ParameterError, match="plan"):
        review_coverage(rv, sd=10, plan=0)


# --- reviewers -------------------------------------------------------------------------------------
def test_reviewer_strictness_leave_one_out():
    """Agent x: q1 60; q2 80, 90. Agent y: q1 70, q2 90. Agent z: q1 only (not comparable).
    q1: 60 - 85 = -25, 70 - 90 = -20 -> -22.5. q2: 80 - 60, 90 - 60, 90 - 70 = 20, 30, 20 -> 23.33.
    Intervals: scipy's one-sample t interval of those deviations."""
    s = pd.DataFrame({"review_id": list("abcdef"), "agent_id": ["x", "x", "x", "y", "y", "z"],
                      "reviewer_id": ["q1", "q2", "q2", "q1", "q2", "q1"], "iqs": [60.0, 80, 90, 70, 90, 50],
                      "review_time_s": [100.0, 200, 400, 300, 300, 50]})
    d = pd.DataFrame({"dispute_id": ["d1", "d2"], "review_id": ["a", "b"], "accepted": [True, False]})
    res = reviewer_strictness(s, disputes=d, min_n=0).set_index(S.REVIEWER_ID)
    assert res.loc["q1", "strictness"] == pytest.approx(-22.5)
    assert res.loc["q2", "strictness"] == pytest.approx(70 / 3)
    for q, dev in (("q1", [-25, -20]), ("q2", [20, 30, 20])):
        ci = stats.ttest_1samp(dev, 0).confidence_interval(0.95)
        assert res.loc[q, [S.CI_LOW, S.CI_HIGH]].tolist() == pytest.approx([ci.low, ci.high])
        assert res.loc[q, "consistency_sd"] == pytest.approx(np.std(dev, ddof=1))
    # q1 reviewed a, d, f: a disputed and overturned -> 1/3 each; q2 b disputed, rejected -> 1/3, 0
    assert res.loc["q1", ["dispute_rate", "overturn_rate"]].tolist() == pytest.approx([1 / 3, 1 / 3])
    assert res.loc["q2", ["dispute_rate", "overturn_rate"]].tolist() == pytest.approx([1 / 3, 0])
    assert res.loc["q1", "median_review_time_s"] == 100 and res.loc["q2", "median_review_time_s"] == 300
    assert S.exclusions(res)["row_ids"].tolist() == [("f",)]


def test_reviewer_strictness_and_coverage_on_categorical_ids():
    """The same hand example with the ids stored as categoricals (as the report's DuckDB loader
    gives review scores): categories in no text order, one with a trailing space ("q1 " is q1),
    one no row uses (and the same without the space: stripping merges nothing, the ids stay
    categorical). The same numbers, reviewers as text, the same itemised review (f); the
    coverage counts (x: a, b, c; y: d, e; z: f in one week) are the text ids' too."""
    s = pd.DataFrame({"review_id": list("abcdef"), "agent_id": ["x", "x", "x", "y", "y", "z"],
                      "reviewer_id": ["q1", "q2", "q2", "q1 ", "q2", "q1"], "iqs": [60.0, 80, 90, 70, 90, 50],
                      "reviewed_at": pd.Timestamp("2026-11-03", tz="UTC")})
    cat = s.assign(**{c: pd.Categorical(s[c], categories=sorted(set(s[c]), reverse=True) + ["unused"])
                      for c in ("review_id", "agent_id", "reviewer_id")})
    res = reviewer_strictness(cat, min_n=0)
    assert res["reviewer_id"].tolist() == ["q1", "q2"] and res["reviewer_id"].dtype == "str"
    assert res["strictness"].tolist() == pytest.approx([-22.5, 70 / 3])
    assert res["n_agents"].tolist() == [2, 2]
    assert S.exclusions(res)["row_ids"].tolist() == [("f",)]
    pd.testing.assert_frame_equal(res, reviewer_strictness(s, min_n=0))
    clean = cat.assign(reviewer_id=pd.Categorical(s["reviewer_id"].str.strip(), categories=["q2", "q1", "unused"]))
    pd.testing.assert_frame_equal(reviewer_strictness(clean, min_n=0), res)  # (kept categorical: the codes)
    cov = review_coverage(cat, sd=10, plan=2)
    assert cov.set_index("agent_id")["n"].to_dict() == {"x": 3, "y": 2, "z": 1}
    pd.testing.assert_frame_equal(cov, review_coverage(s, sd=10, plan=2))


# --- daily calls -----------------------------------------------------------------------------------
def test_calls_daily_weighted_equals_plain_pandas():
    """Volume-weighted: offered 200+120+180+0+210 = 710; within 150+60+162+0+189 = 561 -> 0.79014;
    abandoned 12+20+4+0+10 = 46 -> 0.06479; ASA (18*188 + 41*100 + 9*176 + 0 + 11*200) / 664 =
    11268 / 664. The same from plain pandas on the raw file."""
    t = read_export(FIX / "call_centre_daily.csv", preset="call_centre_daily")
    res = calls_daily_kpis(t["calls_daily"], min_n=0).set_index("kpi")
    raw = pd.read_csv(FIX / "call_centre_daily.csv")
    sl = pd.to_numeric(raw["Service Level"].str.rstrip("%"), errors="coerce") / 100
    within = raw["Answered Within 20s"].fillna(sl * raw["Calls Offered"])
    assert res.loc["service_level", "value"] == pytest.approx(within.sum() / raw["Calls Offered"].sum())
    assert res.loc["service_level", "value"] == pytest.approx(561 / 710)
    assert res.loc["abandonment_rate", "value"] == pytest.approx(raw["Calls Abandoned"].sum() / raw["Calls Offered"].sum())
    asa = pd.to_timedelta(raw["ASA"]).dt.total_seconds()
    assert res.loc["asa_s", "value"] == pytest.approx((asa * raw["Calls Answered"]).sum() / raw["Calls Answered"].sum())
    assert res.loc["asa_s", "value"] == pytest.approx(11268 / 664)
    assert res.loc["abandonment_rate", [S.CI_LOW, S.CI_HIGH]].tolist() == pytest.approx(wilson(46, 710))
    by = calls_daily_kpis(t["calls_daily"], by="queue", min_n=0)
    sl_q = by[by["kpi"].eq("service_level")].set_index("queue")["value"]
    assert sl_q.to_dict() == pytest.approx({"Billing": 501 / 590, "Tech": 60 / 120})
    # the mean of the daily percentages would be a different (wrong) number
    assert raw["Service Level"].str.rstrip("%").astype(float).mean() / 100 != pytest.approx(561 / 710)


def test_calls_daily_by_period_and_missing_values():
    d = pd.DataFrame({"date": ["2026-11-02", "2026-11-03", "2026-11-10"], "queue": "q",
                      "offered": [100.0, 100, 50], "answered": [90.0, 80, 50], "abandoned": [10.0, 20, 0],
                      "answered_within": [80.0, None, 50]})
    res = calls_daily_kpis(d, period="W", min_n=0)
    sl = res[res["kpi"].eq("service_level")]
    assert sl["value"].tolist() == [0.8, 1.0] and sl["n"].tolist() == [100, 50]
    assert S.exclusions(res)["row_ids"].tolist() == [("2026-11-03 / q",)]


# --- customers -------------------------------------------------------------------------------------
def test_customer_cost_value_counts_customers_without_contacts():
    """x: 2 cases, 3 contacts x 20 = 60 > 50; y: 1 contact = 20 < 500; z: no contact -> 0 cases,
    cost 0, ratio 0; w: no value -> itemised."""
    conv = pd.DataFrame({"conversation_id": ["a", "b", "c"], "customer_id": ["x", "x", "y"], "agent_id": "g",
                         "channel": "chat", "priority": "low", "status": "solved", "created_at": "2026-01-05",
                         "first_response_at": None, "resolved_at": None, "contacts": [2.0, 1, 1]})
    cu = pd.DataFrame({"customer_id": ["x", "y", "z", "w"], "customer_value": [50.0, 500, 1000, None],
                       "segment": ["smb", "smb", "ent", "ent"]})
    res = customer_cost_value(conv, cost_per_contact=20, customers=cu).set_index(S.CUSTOMER_ID)
    assert res["cases"].to_dict() == {"x": 2, "y": 1, "z": 0, "w": 0}
    assert res["cost"].to_dict() == {"x": 60.0, "y": 20.0, "z": 0.0, "w": 0.0}
    assert res.loc["z", "cost_value_ratio"] == 0 and bool(res.loc["x", "costs_more_than_value"])
    assert S.exclusions(res.reset_index())["row_ids"].tolist()[-1] == ("w",)
    with pytest.raises(ParameterError, match="customer_value"):
        customer_cost_value(conv, cost_per_contact=20)


def test_ops_bad_input(klaus):
    with pytest.raises(ParameterError, match="level"):
        dispute_rate(klaus["reviews"], klaus["disputes"], level=95)
    with pytest.raises(ParameterError, match="team"):
        dispute_rate(klaus["reviews"], klaus["disputes"], by="team")
    with pytest.raises(ParameterError, match="sd= or a score column"):
        review_coverage(klaus["reviews"].drop(columns=["vendor_score"]))
    with pytest.raises(ParameterError, match="min_n"):
        reviewer_strictness(klaus["reviews"], min_n=-1)
    with pytest.raises(ParameterError, match="period must be one of"):
        calls_daily_kpis(read_export(FIX / "call_centre_daily.csv", preset="call_centre_daily")["calls_daily"],
                         period="fortnight")


def test_ops_on_one_row_and_empty_groups(klaus):
    """One review: coverage 1 of 5 with no half-width (n < 2); strictness has nobody to compare with
    (empty result, the review itemised); a dispute-free table gives rate 0."""
    one = klaus["reviews"].iloc[[0]]
    cov = review_coverage(one, sd=10)
    assert cov["n"].tolist() == [1] and np.isnan(cov["half_width"].iloc[0])
    st = reviewer_strictness(one, min_n=0)
    assert st.empty and S.exclusions(st)["row_ids"].tolist() == [("R1",)]
    none = klaus["disputes"].iloc[:0]
    assert dispute_rate(klaus["reviews"], none, min_n=0)["dispute_rate"].tolist() == [0.0, 0.0]


def test_customer_cost_value_from_crm_counts_only():
    """A CRM file with per-customer ticket counts and no ticket rows: x 3 contacts x 20 = 60 > 50;
    z 0 contacts -> cost 0 (the customers a conversations-only view would miss)."""
    cu = pd.DataFrame({"customer_id": ["x", "y", "z"], "customer_value": [50.0, 500, 1000], "contacts": [3, 1, 0]})
    res = customer_cost_value(None, cost_per_contact=20, customers=cu).set_index(S.CUSTOMER_ID)
    assert res["contacts"].to_dict() == {"x": 3, "y": 1, "z": 0}
    assert res["cost"].to_dict() == {"x": 60.0, "y": 20.0, "z": 0.0}
    assert res["costs_more_than_value"].to_dict() == {"x": True, "y": False, "z": False}
    with pytest.raises(ParameterError, match="'contacts' column"):
        customer_cost_value(None, cost_per_contact=20, customers=cu.drop(columns=["contacts"]))


@pytest.mark.slow  # the real FED annotations
@pytest.mark.realdata
def test_reviewer_strictness_on_the_fed_annotations(shared_data):
    """FED: 5 annotator positions rate 'Overall' (0-4) for items of 3 systems. The leave-one-out
    strictness equals a plain loop over the reviews (each review minus the mean of the other
    annotators' ratings of the same system)."""
    from qakit.realdata import load_fed

    fed = load_fed(shared_data / "fed-dialog-quality" / "fed_data.json")
    ov = fed[fed[S.CATEGORY].eq("Overall")].assign(iqs=lambda d: d[S.RATING] * 25)
    ov = ov[[S.REVIEW_ID, S.AGENT_ID, S.REVIEWER_ID, "iqs"]]
    res = reviewer_strictness(ov, min_n=0).set_index(S.REVIEWER_ID)
    v = ov.dropna(subset=["iqs"])
    expected = {}
    for q, mine in v.groupby(S.REVIEWER_ID):
        devs = []
        for row in mine.itertuples(index=False):
            others = v[(v[S.AGENT_ID] == row.agent_id) & (v[S.REVIEWER_ID] != q)]["iqs"]
            if len(others):
                devs.append(row.iqs - others.mean())
        expected[q] = (len(devs), float(np.mean(devs)))
    for q, (n, mean) in expected.items():
        assert res.loc[q, "n"] == n and res.loc[q, "strictness"] == pytest.approx(mean)
