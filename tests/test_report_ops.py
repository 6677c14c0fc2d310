"""The report's optional sections (calls, customers, QA process, automatic scoring): numbers checked
against plain pandas, scipy / statsmodels and hand arithmetic on tiny tables, the sections' absence
(one "left out" line naming the file), bad optional files (one error naming file and column), the
period, and privacy (no conversation text in any section's output)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import qakit.report.operations as O
import qakit.report.tiles as T
import qakit.report.views as V
import qakit.report.data as R
from qakit import datasets
from qakit import schema as S
from qakit.errors import DataValidationError
from qakit.report.common import WIDE
from qakit.synth import MESSAGE_TEMPLATES

START, END = "2026-10-01", "2026-10-28"


def proportion_confint(k, n, method="wilson"):
    """Wilson interval from scipy (binomtest), independent of qakit.intervals."""
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=0.95, method=method)
    return ci.low, ci.high
SECTIONS = ("calls_figure", "calls_table", "coverage_figure", "coverage_table", "disputes_summary",
            "reviewers_figure", "reviewers_table", "autoqa_summary", "autoqa_categories", "aqs_iqs_figure",
            "aqs_iqs_table", "data_quality", "appendix_coverage", "appendix_aqs")


@pytest.fixture(scope="module")
def data():
    d = R.load_report_data(start=START, end=END)
    R.load_optional_tables(d)
    return d


def test_no_optional_table_leaves_the_headline_as_it_was(tmp_path):
    d = _tiny(tmp_path / "plain")
    head = T.headline(d, {})  # _tiny attached the (absent) optional tables
    assert not {"service_level", "aqs"} & set(head["metric"])  # no calls, no messages: no optional tile


def _html(obj) -> str:
    return (obj._repr_html_() or "") if hasattr(obj, "_repr_html_") else ""


def _in(df, col, lo=START, hi="2026-10-29"):
    t = df[col]
    return df[(t >= pd.Timestamp(lo, tz="UTC")) & (t < pd.Timestamp(hi, tz="UTC"))]


# --- the bundled sample --------------------------------------------------------------------------------------
def test_sample_has_every_optional_table_restricted_to_the_period(data):
    for name in ("calls", "customers", "disputes", "messages"):
        assert getattr(data, name) is not None and len(getattr(data, name)) > 0, name
        assert name not in data.missing
    assert data.calls_daily is None
    raw = pd.read_parquet(datasets.sample_data_dir() / "calls.parquet")
    assert len(data.calls) == len(_in(raw, "created_at"))  # the period, by created_at
    m = pd.read_parquet(datasets.sample_data_dir() / "messages.parquet")
    first = m.groupby("conversation_id")["sent_at"].min()
    keep = first[(first >= pd.Timestamp(START, tz="UTC")) & (first < pd.Timestamp("2026-10-29", tz="UTC"))].index
    assert set(data.messages["conversation_id"]) == set(keep)  # whole conversations, by their first message
    assert len(data.messages) == m["conversation_id"].isin(keep).sum()


def test_calls_table_equals_hand_counts_and_wilson_and_t_intervals(data):
    c = _in(pd.read_parquet(datasets.sample_data_dir() / "calls.parquet"), "created_at")
    n = len(c)
    k_sl = int((c["answered"] & (c["speed_of_answer_s"] <= 20)).sum())
    k_ab = int((~c["answered"]).sum())
    t = O.calls_table(data).frame.set_index("KPI")
    for label, k in (("Service level", k_sl), ("Abandoned calls", k_ab)):
        lo, hi = proportion_confint(k, n)
        assert t.loc[label, "Value"] == f"{100 * k / n:.1f} %"
        assert t.loc[label, "95 % CI"] == f"{100 * lo:.1f}\u00a0–\u00a0{100 * hi:.1f}"
        assert t.loc[label, "n"] == f"{n:,} calls offered"
    a = c.loc[c["answered"], "speed_of_answer_s"]
    lo, hi = stats.t.interval(0.95, len(a) - 1, loc=a.mean(), scale=a.std() / np.sqrt(len(a)))
    assert t.loc["Mean speed of answer", "Value"] == f"{a.mean():.1f} s"
    assert t.loc["Mean speed of answer", "95 % CI"] == f"{lo:.1f}\u00a0–\u00a0{hi:.1f}"
    assert t.loc["Service level", "Target"] == "≥ 80 %"


def test_optional_tiles_equal_hand_counts_and_the_previous_period(data):
    """Service level and AQS tiles: value, n and target from plain pandas and the registry; the
    change is the current minus the previous 28 days' value (3-30 Sep), by hand."""
    head = T.headline(data, {}, n_resamples=199).set_index("metric")
    assert list(head.index[-2:]) == ["service_level", "aqs"]
    calls = pd.read_parquet(datasets.sample_data_dir() / "calls.parquet")
    cur, old = _in(calls, "created_at"), _in(calls, "created_at", "2026-09-03", START)
    sl = lambda c: 100 * (c["answered"] & (c["speed_of_answer_s"] <= 20)).mean()  # noqa: E731
    r = head.loc["service_level"]
    assert r["n"] == len(cur) and r["value"] == pytest.approx(sl(cur))
    assert r["previous"] == pytest.approx(sl(old)) and r["change"] == pytest.approx(sl(cur) - sl(old))
    assert r["target"] == 80 and r["status"] == ("on target" if sl(cur) >= 80 else r["status"])
    a = head.loc["aqs"]
    q = O._autoqa(data)["aqs"].iloc[0]
    assert a["value"] == pytest.approx(q["aqs"]) and a["n"] == q["n"] and a["status"] == "no target"
    tiles = V.tiles(data, head.reset_index())._repr_html_()
    assert 'data-metric="service_level"' in tiles and f"n = {len(cur):,} calls" in tiles
    assert 'data-metric="aqs"' in tiles and "AQS (automatic, not IQS)" in tiles


def test_disputes_summary_equals_hand_counts(data):
    card = datasets.load_sample_scorecard()
    r = _in(datasets.load_sample("ratings"), "reviewed_at")
    sc = card.score(r)
    d = pd.read_parquet(datasets.sample_data_dir() / "disputes.parquet")
    d = d[d["review_id"].isin(set(sc["review_id"]))]
    disputed = d["review_id"].nunique()
    decided = d["accepted"].notna().sum()
    accepted = int(d["accepted"].fillna(False).sum())
    after = sc.set_index("review_id")["iqs"].copy()
    acc = d[d["accepted"].fillna(False).astype(bool)].sort_values("created_at").drop_duplicates("review_id", keep="last")
    after.loc[acc["review_id"]] = acc["score_after"].to_numpy()
    diff = after - sc.set_index("review_id")["iqs"]
    lo, hi = stats.t.interval(0.95, len(diff) - 1, loc=diff.mean(), scale=diff.std() / np.sqrt(len(diff)))
    text = repr(O.disputes_summary(data))
    assert f"{disputed:,} of {len(sc):,} reviews were disputed ({100 * disputed / len(sc):.1f} %" in text
    wlo, whi = proportion_confint(accepted, decided)
    assert f"Of {decided:,} decided disputes {accepted:,} were accepted ({100 * accepted / decided:.1f} %, 95 % CI " \
           f"{100 * wlo:.1f} – {100 * whi:.1f})" in text
    assert f"IQS {sc['iqs'].mean():.1f} % before, {after.mean():.1f} % after (+{diff.mean():.2f} points, " \
           f"95 % CI {lo:.2f} – {hi:.2f}, n = {len(sc):,} reviews)" in text


def test_coverage_counts_equal_a_plain_groupby(data):
    r = _in(datasets.load_sample("ratings"), "reviewed_at").drop_duplicates("review_id")
    week = r["reviewed_at"].dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time
    by_hand = r.groupby(["agent_id", week]).size()
    c = O._coverage(data).set_index(["agent_id", "week"])["n"]
    assert (c[c > 0].sort_index() == by_hand.sort_index().rename("n")).all()
    assert c.sum() == len(r)
    # 1-28 Oct: the weeks of 28 Sep (from Thursday 1 Oct) and 26 Oct (to Wednesday 28 Oct) are partial
    cov = O._coverage(data)
    assert sorted(cov.loc[cov["partial"], "week"].dt.strftime("%Y-%m-%d").unique()) == ["2026-09-28", "2026-10-26"]
    full = cov[~cov["partial"]]
    t = O._coverage_by_agent(data).set_index("agent_id")
    assert t["Weeks under plan"].sum() == (full["n"] < 5).sum()


def test_reviewer_strictness_matches_leave_one_out_by_hand(data):
    sc = data.scores
    rv = "QA1"
    mine = sc[sc["reviewer_id"] == rv]
    dev = []
    for _, row in mine.iterrows():
        others = sc[(sc["agent_id"] == row["agent_id"]) & (sc["reviewer_id"] != rv)]["iqs"]
        if len(others):
            dev.append(row["iqs"] - others.mean())
    t = O.reviewers_table(data).frame.set_index("Reviewer")
    assert t.loc[rv, "n"] == f"{len(dev)}"
    assert t.loc[rv, "Strictness (IQS points)"] == f"{np.mean(dev):.2f}"


def test_autoqa_on_the_sample_tracks_the_humans(data):
    """The sample's text is polite in proportion to the conversation's quality, as the human ratings
    are: AQS and IQS correlate across agents (Pearson, by hand from the section's table)."""
    v = O._autoqa(data)["vs"].pivot(index="agent_id", columns="measure", values="score").dropna()
    r = stats.pearsonr(v["aqs"], v["iqs"]).statistic
    assert r > 0.6 and len(v) >= 25
    conv = data.messages["conversation_id"].nunique()
    assert f"{conv:,} conversations have text" in repr(O.autoqa_summary(data))


def test_customer_section_takes_values_from_the_customers_table(data):
    t = V.costly_customers(data, hash_customer_ids=False)
    assert "from the customers table (12,000 customers" in t.caption
    cu = pd.read_parquet(datasets.sample_data_dir() / "customers.parquet").set_index("customer_id")
    assert f"{int(cu['customer_value'].isna().sum()):,} without a value" in t.caption
    for _, row in t.frame.iterrows():
        assert row["Customer value"] == f"{cu.loc[row['Customer'], 'customer_value']:,.1f}"
    note = [n for n in data.notes if n["table"] == "customers"]
    assert len(note) == 1 and len(note[0]["ids"]) == int(cu["customer_value"].isna().sum())
    assert not set(note[0]["ids"]) & set(cu.index)  # ids hashed


def test_no_conversation_text_in_any_section(data):
    """Privacy: distinctive sentences of the sample's messages appear in no section's output."""
    out = " ".join(_html(getattr(O, f)(data)) + repr(getattr(O, f)(data)) for f in SECTIONS)
    fragments = [part.strip() for slot in MESSAGE_TEMPLATES.values() for lang in slot.values() for text, _ in lang
                 for part in text.split("{n}") if len(part.strip()) > 12]
    assert len(fragments) > 30
    assert not [f for f in fragments if f in out]
    for s in ("I have checked and it is with the courier", "Die Erstattung für", "Onde está o meu pacote"):
        assert s not in out


# --- tiny folders: hand arithmetic, absence, bad files ---------------------------------------------------------
CARD = """name: tiny
mode: weighted
pass_threshold: 80
categories:
  - {name: Greeting, weight: 1, scale: binary}
  - {name: Solution, weight: 1, scale: binary}
"""


def _tiny(folder, **tables):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scorecard.yaml").write_text(CARD, encoding="utf-8")
    ratings = pd.DataFrame({
        "review_id": np.repeat(["r1", "r2", "r3", "r4"], 2), "conversation_id": np.repeat(["c1", "c2", "c3", "c4"], 2),
        "agent_id": np.repeat(["a", "a", "b", "b"], 2), "reviewer_id": np.repeat(["q1", "q2", "q1", "q2"], 2),
        "reviewed_at": np.repeat(["2026-11-02 10:00", "2026-11-03 10:00", "2026-11-04 10:00", "2026-11-05 10:00"], 2),
        "category": ["Greeting", "Solution"] * 4, "rating": [1, 1, 1, 0, 0, 0, 1, 1]})
    ratings.to_csv(folder / "ratings.csv", index=False)
    for name, df in tables.items():
        df.to_csv(folder / f"{name}.csv", index=False)
    d = R.load_report_data(dataset=str(folder))
    R.load_optional_tables(d)
    return d


def test_each_missing_table_is_one_left_out_line_naming_its_file(tmp_path):
    d = _tiny(tmp_path / "ratings_only")
    for name in ("calls", "customers", "disputes", "messages"):
        assert f"{name}.parquet or {name}.csv" in d.missing[name]
    text = repr(V.left_out(d))
    assert "no calls: service level" in text and "no messages: automatic scoring" in text
    assert "calls.parquet" in text and "disputes.parquet" in text and "messages.parquet" in text
    calls_line = next(x for x in text.split("Left out: ", 1)[1].split("\n")[0].split("; ") if x.startswith("no calls"))
    assert "(sections left out: Calls" in calls_line and text.count("Calls") == 1  # once, under its reason
    # the sections the data cannot support show nothing at all: no heading, no box
    for cell in (O.calls_figure(d), O.calls_table(d), O.disputes_summary(d), O.autoqa_summary(d),
                 O.autoqa_categories(d), V.heading(d, "calls"), V.heading(d, "autoqa")):
        assert cell is None
    # coverage and strictness need only the reviews; 2-5 Nov is no full week to count against the plan
    assert "no full week" in repr(O.coverage_table(d))
    # scores r1 100, r2 50 (agent a), r3 0, r4 100 (agent b): q1 (r1, r3) = (100 - 50 + 0 - 100) / 2 = -25
    st = O.reviewers_table(d).frame
    assert st["Reviewer"].tolist() == ["q1", "q2"] and st["n"].tolist() == ["2", "2"]
    assert st["Strictness (IQS points)"].astype(float).tolist() == [-25.0, 25.0]


def test_tiny_calls_disputes_messages_by_hand(tmp_path):
    calls = pd.DataFrame({"call_id": list("abcde"), "agent_id": ["x", "x", "y", None, "y"],
                          "created_at": ["2026-11-02 09:00"] * 5, "answered": [True, True, True, False, True],
                          "speed_of_answer_s": [5.0, 20, 45, None, 10]})
    disputes = pd.DataFrame({"dispute_id": ["d1", "d2"], "review_id": ["r3", "r9"],
                             "created_at": ["2026-11-05 09:00", "2026-11-05 10:00"], "dispute_status": ["accepted", "open"],
                             "accepted": [True, None], "score_after": [50.0, None]})
    msgs = pd.DataFrame({"conversation_id": ["c1"] * 3 + ["c2"] * 2, "message_id": ["m1", "m2", "m3", "m4", "m5"],
                         "author_role": ["customer", "agent", "customer", "customer", "agent"],
                         "agent_id": [None, "a", None, None, "a"],
                         "sent_at": ["2026-11-02 09:00", "2026-11-02 09:01", "2026-11-02 09:02", "2026-11-03 09:00",
                                     "2026-11-03 09:01"],
                         "text": ["My parcel never arrived, where is it now?", "Hello Ana, sorry about that, I resent it today.",
                                  "Great, thank you", "hi", "ok"]})
    d = _tiny(tmp_path / "tiny", calls=calls, disputes=disputes, messages=msgs)
    t = O.calls_table(d).frame.set_index("KPI")
    assert t.loc["Service level", "Value"] == "60.0 %"  # a, b, e within 20 s of 5 offered
    assert t.loc["Abandoned calls", "Value"] == "20.0 %"  # d
    assert t.loc["Mean speed of answer", "Value"] == "20.0 s"  # (5 + 20 + 45 + 10) / 4
    # r3 scored 0 (Greeting 0, Solution 0) -> 50 after the accepted dispute; IQS (100 + 50 + 0 + 100) / 4
    text = repr(O.disputes_summary(d))
    assert text.startswith("1 of 4 reviews were disputed (25.0 %")
    assert "Of 1 decided disputes 1 were accepted" in text and "IQS 62.5 % before, 75.0 % after (+12.50 points" in text
    dq = O.data_quality(d).frame
    assert "d2" in " ".join(dq["Example ids"])  # the dispute of an unknown review, itemised
    # c1: eligible (customer + agent, >= 10 words), greeting and apology found; c2: 2 words -> N/A
    s = repr(O.autoqa_summary(d))
    assert s.startswith("2 conversations have text; 1 were scored automatically") and "1 were not eligible" in s
    cats = O.autoqa_categories(d).frame.set_index("Automatic category")
    assert cats.loc["Greeting", "Found in (% of conversations)"] == "100.0"
    assert cats.loc["Closing", "Found in (% of conversations)"] == "0.0"
    assert cats.loc["Greeting", "n"] == "1"
    # AQS of c1 = (Greeting 1 + Closing 0 + Apology 1 + Empathy 0 + Further help 0 + Thanks 0) / 6 = 33.3 %
    assert "AQS 33.3 %" in s
    assert "I resent it today" not in s + _html(O.autoqa_categories(d)) + _html(O.data_quality(d))


def test_calls_daily_aggregates_feed_the_calls_section(tmp_path):
    daily = pd.DataFrame({"date": ["2026-11-02", "2026-11-03"], "queue": "all", "offered": [100.0, 300],
                          "answered": [90.0, 240], "abandoned": [10.0, 60], "answered_within": [80.0, 150],
                          "asa_s": [12.0, 30.0]})
    d = _tiny(tmp_path / "daily", calls_daily=daily)
    assert "calls" not in d.missing
    t = O.calls_table(d).frame.set_index("KPI")
    assert t.loc["Service level", "Value"] == "57.5 %"  # (80 + 150) / 400
    assert t.loc["Abandoned calls", "Value"] == "17.5 %"  # (10 + 60) / 400
    assert t.loc["Mean speed of answer", "Value"] == f"{(12 * 90 + 30 * 240) / 330:.1f} s"


def test_customers_table_value_wins_over_the_conversations_column(tmp_path):
    folder = tmp_path / "cust"
    conv = pd.DataFrame({"conversation_id": ["c1", "c2", "c3", "c4"], "customer_id": ["x", "x", "y", "y"],
                         "agent_id": ["a", "a", "b", "b"], "channel": "chat", "priority": "low", "status": "solved",
                         "created_at": "2026-11-02 08:00", "first_response_at": None, "resolved_at": None,
                         "customer_value": [1000.0, 1000, 1000, 1000]})
    folder.mkdir()
    conv.to_csv(folder / "conversations.csv", index=False)
    cust = pd.DataFrame({"customer_id": ["x", "y", "z"], "customer_value": [5.0, None, 80.0]})
    d = _tiny(folder, customers=cust)
    t = V.costly_customers(d, cost_per_contact=5.0, hash_customer_ids=False)
    # x: 2 contacts x 5 = 10 > 5 (the customers table's value, not the conversations' 1000); y has no value
    assert t.frame["Customer"].tolist() == ["x"] and t.frame["Customer value"].astype(float).tolist() == [5.0]
    assert "(3 customers, 1 without a value" in t.caption


def test_a_bad_optional_table_is_one_error_naming_file_and_columns(tmp_path):
    calls = pd.DataFrame({"call_id": ["k1", "k2", "k3"], "agent_id": "x", "created_at": "2026-11-02 09:00",
                          "answered": ["yes", "maybe", "no"], "speed_of_answer_s": [5.0, -3.0, None]})
    with pytest.raises(DataValidationError) as e:
        _tiny(tmp_path / "bad", calls=calls)
    msg = str(e.value)
    assert "calls (calls.csv)" in msg and "'answered'" in msg and "'speed_of_answer_s'" in msg
    assert "maybe" in msg and "k2" in msg
    assert set(e.value.failures["table"]) == {"calls (calls.csv)"}


def test_disputes_outside_the_period_are_left_out_and_said(data):
    """1-28 Oct: disputes of the period's reviews are kept; every other dispute of the sample (its
    review before or after the period) is left out with one data-quality note listing it."""
    d = pd.read_parquet(datasets.sample_data_dir() / "disputes.parquet")
    in_period = d["review_id"].isin(set(data.ratings["review_id"]))
    assert set(data.disputes["dispute_id"]) == set(d.loc[in_period, "dispute_id"])
    note = [n for n in data.notes if n["table"] == "disputes"]
    assert len(note) == 1 and "outside the report period" in note[0]["reason"]
    assert set(note[0]["ids"]) == set(d.loc[~in_period, "dispute_id"])


def test_figures_are_full_width_with_legends_outside(data):
    for f in ("calls_figure", "coverage_figure", "reviewers_figure", "aqs_iqs_figure"):
        fig = getattr(O, f)(data)
        assert fig.get_size_inches()[0] == WIDE, f
        for ax in fig.axes:
            leg = ax.get_legend()
            if leg is not None:  # anchored outside the axes (right of it or above it)
                x, y = leg.get_bbox_to_anchor().transformed(ax.transAxes.inverted()).p0
                assert x >= 1.0 or y >= 1.0, f


def test_full_sample_folder_copy_loads_the_same_tables(tmp_path, data):
    """A folder holding the sample's files (as a team would) gets the same optional tables."""
    folder = tmp_path / "copy"
    shutil.copytree(datasets.sample_data_dir(), folder)
    d = R.load_report_data(dataset=str(folder), start=START, end=END)
    R.load_optional_tables(d)
    for name in ("calls", "customers", "disputes", "messages"):
        pd.testing.assert_frame_equal(getattr(d, name), getattr(data, name))


def test_partitioned_calls_folder_loads_like_the_file(tmp_path, data):
    """A ``calls/`` folder of Parquet files (a warehouse export, found by the same rule as the main
    tables) is read by the report's one reader: the same calls as the single file, hand-counted."""
    folder = tmp_path / "parts"
    shutil.copytree(datasets.sample_data_dir(), folder)
    raw = pd.read_parquet(folder / "calls.parquet")
    (folder / "calls.parquet").unlink()
    (folder / "calls").mkdir()
    half = len(raw) // 2
    raw.iloc[:half].to_parquet(folder / "calls" / "part-0.parquet")
    raw.iloc[half:].to_parquet(folder / "calls" / "part-1.parquet")
    d = R.load_report_data(dataset=str(folder), start=START, end=END)
    R.load_optional_tables(d)
    assert "calls" not in d.missing
    assert len(d.calls) == len(_in(raw, "created_at"))
    key = ["call_id"]
    pd.testing.assert_frame_equal(d.calls.sort_values(key).reset_index(drop=True),
                                  data.calls.sort_values(key).reset_index(drop=True), check_categorical=False)
