"""The report's headline, formatting and partial-data behaviour, checked against plain pandas and
hand arithmetic (no kernel: these run the functions the report notebook calls)."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import qakit.report.views as V
import qakit.report.data as R
import qakit.report.tiles as H
from qakit.report.tiles import headline_values
from qakit import datasets, iqs_score
from qakit import kpis as K
from qakit import schema as S
from qakit.report.display import duration_unit, pretty
from qakit.registry import HEADLINE, METRICS, internal_names

START, END = "2026-10-01", "2026-10-28"
PREV = ("2026-09-03", "2026-10-01")  # the 28 days before


@pytest.fixture(scope="module")
def data():
    return R.load_report_data(start=START, end=END)


@pytest.fixture(scope="module")
def head(data):
    return H.headline(data).set_index("metric")


def _in(df, col, lo, hi):
    t = df[col]
    return df[(t >= pd.Timestamp(lo, tz="UTC")) & (t < pd.Timestamp(hi, tz="UTC"))]


def test_headline_values_equal_plain_pandas_on_the_period(data, head):
    """IQS = mean review score of reviews dated 1-28 Oct (plain filter), Student-t interval;
    pass rate = share of scored reviews passed, Wilson interval by the textbook formula;
    CSAT = share of csat answers scoring 4 or 5 answered in the period."""
    card = datasets.load_sample_scorecard()
    ratings = _in(datasets.load_sample("ratings"), "reviewed_at", START, "2026-10-29")
    scores = card.score(ratings)
    iqs = scores["iqs"].dropna()
    n = len(iqs)
    half = stats.t.ppf(0.975, n - 1) * iqs.std(ddof=1) / math.sqrt(n)
    assert head.loc["iqs", "n"] == n
    assert head.loc["iqs", "value"] == pytest.approx(iqs.mean())
    assert head.loc["iqs", "ci_low"] == pytest.approx(iqs.mean() - half)
    k = int(scores.loc[scores["iqs"].notna(), "passed"].sum())
    p, z = k / n, stats.norm.ppf(0.975)
    centre, spread = (p + z * z / (2 * n)) / (1 + z * z / n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert head.loc["pass_rate", "value"] == pytest.approx(100 * p)
    assert head.loc["pass_rate", "ci_low"] == pytest.approx(100 * (centre - spread))
    assert head.loc["pass_rate", "ci_high"] == pytest.approx(100 * (centre + spread))
    sv = _in(datasets.load_sample("surveys"), "answered_at", START, "2026-10-29")
    cs = sv[sv["kind"].eq("csat") & sv["score"].notna()]
    assert head.loc["csat", "value"] == pytest.approx(100 * cs["score"].isin([4, 5]).mean())
    assert list(head.index) == [m for m in HEADLINE]  # the full sample has every headline metric


def test_headline_change_is_against_the_previous_28_days(data, head):
    """IQS change = mean review score 1-28 Oct minus 3-30 Sep (plain pandas); a change is marked
    credible exactly when its 95 % interval excludes 0."""
    card = datasets.load_sample_scorecard()
    ratings = datasets.load_sample("ratings")
    cur = card.score(_in(ratings, "reviewed_at", START, "2026-10-29"))["iqs"].mean()
    old = card.score(_in(ratings, "reviewed_at", *PREV))["iqs"].mean()
    assert head.loc["iqs", "previous"] == pytest.approx(old)
    assert head.loc["iqs", "change"] == pytest.approx(cur - old)
    assert (head["credible"] == ((head["change_ci_low"] > 0) | (head["change_ci_high"] < 0))).all()
    assert data.previous["start"] == pd.Timestamp("2026-09-03", tz="UTC")


def test_sla_rows_reproduce_the_kpi(data, head):
    """The row-level SLA outcomes used for the change give exactly kpi_summary's sla_high share."""
    rows = H._sla_rows(data.conversations, data)
    summary = K.kpi_summary(data.conversations).set_index("kpi")
    assert len(rows) == summary.loc["sla_high", "n"]
    assert 100 * rows["_v"].mean() == pytest.approx(summary.loc["sla_high", "value"])
    assert head.loc["sla_high", "value"] == pytest.approx(summary.loc["sla_high", "value"])


def test_tiles_carry_status_classes_and_targets(data, head):
    """IQS 72.0 against the default target 85 with margin 5 is off target (class status-off);
    first response 2.6 min against 1 h is on target."""
    html = V.tiles(data, head.reset_index())._repr_html_()
    assert html.count('class="qakit-tile ') == len(head)
    assert 'class="qakit-tile status-off" data-metric="iqs"' in html
    assert 'class="qakit-tile status-on" data-metric="first_response_time"' in html
    assert "target ≥ 85 % · QA lead" in html
    summary = str(V.summary(data, head.reset_index()))
    assert summary.startswith("Against the previous period,") and "Off target: IQS at 72.0%" in summary


def test_title_names_scope_and_period(data):
    assert V.title_text(data) == "QA and KPI report: bundled sample data, 1 Oct 2026 – 28 Oct 2026"
    assert 'data-qakit-title="QA and KPI report: bundled sample data, 1 Oct 2026 – 28 Oct 2026"' in V.title(data)._repr_html_()


def test_agent_verdicts_by_hand():
    a = pd.DataFrame({"ci_low": [81.0, 60.0, 70.0, np.nan], "ci_high": [90.0, 79.9, 85.0, np.nan]})
    assert H.agent_verdicts(a, 80.0).tolist() == ["above", "below", "inconclusive", "inconclusive"]


def test_pretty_formats_for_people():
    """Hand-made frame: priorities in natural order, shares as percent, one CI column, hours shown
    in minutes when the median is under an hour, integers without decimals, yes/no, no index."""
    df = pd.DataFrame({"priority": ["low", "urgent", "high"], "n": [10.0, 20.0, 30.0],
                       "first_response_time": [0.5, 0.25, 0.75], "ci_low": [0.4, 0.2, 0.7], "ci_high": [0.6, 0.3, 0.8],
                       "fcr_rate": [0.123, 0.5, 1.0], "small_sample": [True, False, True]})
    t = pretty(df).frame
    assert t.columns.tolist() == ["Priority", "n", "First response time (min)", "95 % CI", "First contact resolution (%)",
                                  "Small sample"]
    assert t["Priority"].tolist() == ["urgent", "high", "low"]
    assert t["First response time (min)"].tolist() == ["15.0", "45.0", "30.0"]
    assert t["95 % CI"].tolist() == ["12.0\u00a0–\u00a018.0", "42.0\u00a0–\u00a048.0", "24.0\u00a0–\u00a036.0"]
    assert t["First contact resolution (%)"].tolist() == ["50.0", "100.0", "12.3"]
    assert t["n"].tolist() == ["20", "30", "10"] and t["Small sample"].tolist() == ["no", "yes", "yes"]
    assert "<th></th>" not in pretty(df)._repr_html_() and "<tbody>\n    <tr>\n      <th>" not in pretty(df)._repr_html_()
    assert duration_unit(pd.Series([30.0, 80.0])) == ("d", 1 / 24)


def test_registry_matches_kpi_summary(data):
    """Every KPI kpi_summary reports is in the registry, and the registry's function and value
    column give the same number."""
    summary = K.kpi_summary(data.conversations, data.surveys).set_index("kpi")["value"]
    assert set(summary.index) <= set(METRICS)
    for name in ("csat", "nps", "ces", "first_response_time", "resolution_time", "fcr_rate"):
        m = METRICS[name]
        src = data.surveys if m.table == "surveys" else data.conversations
        kw = {"rule": "repeat"} if name == "fcr_rate" else {}
        assert m.fn(src, min_n=0, **kw)[m.value].iloc[0] == pytest.approx(summary[name])


def test_report_tables_show_no_internal_names(data):
    """The tables the report shows have human headers only (none is a registry internal name)."""
    shown = [V.agent_table(data), V.kpi_table(data), V.time_table(data), V.sla_table(data), V.group_table(data),
             V.iqs_csat_table(data), V.coaching_focus(data), V.data_quality(data)]
    internal = internal_names() | {"ci_low", "ci_high", "n_excluded", "small_sample", "goal_met", "higher_is_better"}
    for t in shown:
        assert not set(t.frame.columns) & internal, t.frame.columns


@pytest.fixture(scope="module")
def partial(tmp_path_factory):
    root = tmp_path_factory.mktemp("partial")
    src = datasets.sample_data_dir()
    (root / "ratings_only").mkdir()
    for f in ("ratings.parquet", "scorecard.yaml"):
        shutil.copy(src / f, root / "ratings_only" / f)
    (root / "kpi_only").mkdir()
    for f in ("conversations.parquet", "surveys.parquet"):
        shutil.copy(src / f, root / "kpi_only" / f)
    return root


def test_ratings_only_dataset(partial):
    d = R.load_report_data(dataset=str(partial / "ratings_only"), start=START, end=END)
    assert d.conversations is None and set(d.missing) == {"conversations", "surveys"}
    assert H.headline(d)["metric"].tolist() == ["iqs", "pass_rate"]
    assert V.default_group(d) == "agent_id"  # no team or channel without conversations
    left = str(V.left_out(d))
    assert "no conversations" in left and "no survey answers" in left
    # each unsupported section once, under its reason, and nothing in its place (no heading, no box)
    lines = left.split("Left out: ", 1)[1].split("\n")[0].split("; ")
    conv_line = next(x for x in lines if x.startswith("no conversations"))
    assert "Customer KPIs" in conv_line and "Customers who cost more than they bring" in conv_line
    assert "Does IQS track CSAT?" in next(x for x in lines if x.startswith("no survey answers"))
    assert left.count("Customer KPIs") == 1 and left.count("Does IQS track CSAT?") == 1
    assert V.kpi_table(d) is None and V.heading(d, "customer_kpis") is None
    assert str(V.heading(d, "agents")) == "Agents"
    assert set(V.appendix_tables(d)) == {"agents", "categories", "coaching_focus"}


def test_conversations_and_surveys_only_dataset(partial):
    """A KPI-only team gets a report; the data-quality table still lists the conversations'
    exclusions (14 without a first response in the period, as first_response_time itemises)."""
    d = R.load_report_data(dataset=str(partial / "kpi_only"), start=START, end=END)
    assert d.ratings is None and d.card is None and set(d.missing) == {"ratings"}
    assert H.headline(d)["metric"].tolist() == ["csat", "nps", "first_response_time", "sla_high"]
    assert V.default_group(d) == "team"
    frt = K.first_response_time(d.conversations, min_n=0)
    dq = V.data_quality(d).frame
    row = dq[(dq["Used for"] == "first response time")]
    assert row["n"].tolist() == [f"{int(frt['n_excluded'].iloc[0]):,}"]
    assert V.agent_forest(d) is None and V.heading(d, "agents") is None
    assert "no reviews: IQS, pass rate" in str(V.left_out(d)) and "Agents, Categories" in str(V.left_out(d))


def test_no_tables_at_all_is_one_clear_error(tmp_path):
    from qakit.errors import ParameterError

    with pytest.raises(ParameterError, match="has no table the report reads: none of ratings, conversations, "
                                             "surveys, calls, calls_daily"):
        R.load_report_data(dataset=str(tmp_path))


def test_customer_value_is_optional():
    """Without customer_value values the cost section is left out -- named once in the left-out list
    with the reason, no empty table, no blank figure, no seaborn warning."""
    import warnings

    d = R.load_report_data(start=START, end=END)
    d.conversations = d.conversations.drop(columns="customer_value")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert V.costly_customers(d) is None and V.customer_value_figure(d) is None
        assert ("Customers who cost more than they bring: the conversations have no customer_value values"
                in str(V.left_out(d)))


def test_headline_values_come_from_the_registry(data, head):
    """sections.headline_values (what targets are checked against) agrees with the tiles, is in
    display units (shares as percent: FCR = 100 x fcr_rate's value), keyed by the registry's names only."""
    v = headline_values(data)
    for name in head.index:
        assert v[name] == pytest.approx(head.loc[name, "value"])
    fcr = K.fcr_rate(data.conversations, min_n=0)["fcr_rate"].iloc[0]
    assert v["fcr_rate"] == pytest.approx(100 * fcr)
    assert "frt_hours" not in v  # the old alias keys are gone in 0.2.0


def test_a_credible_change_is_marked_and_named_in_the_summary(data, head):
    """A hand-made headline row whose change interval excludes 0: the tile says better/worse and
    'credible' (bold class), the summary names what moved; direction decides better or worse."""
    h = head.reset_index().iloc[[0, 4]].copy()  # IQS (higher is better), first response time (lower)
    h["change"], h["change_ci_low"], h["change_ci_high"], h["credible"] = [3.0, 0.5], [1.0, 0.1], [5.0, 0.9], [True, True]
    html = V.tiles(data, h)._repr_html_()
    assert html.count('class="tile-change credible better"') == 1 and html.count('class="tile-change credible worse"') == 1
    assert "▲ +3.0 points vs previous (better, credible)" in html  # a change of a percent: points
    assert "▲ +30.0 min vs previous (worse, credible)" in html  # 0.5 h shown in the page's unit, minutes
    assert str(V.summary(data, h)).startswith("Against the previous period, IQS rose 3.0 points and First response time rose 30.0 min.")


def test_optional_conversation_columns_stay_optional(tmp_path):
    """Conversations without team, escalated, contacts, handle_time_s, customer_value: every section
    still renders, without a warning (warnings are errors here); the breakdown falls back to channel;
    the KPIs that need a missing column are absent rather than empty."""
    import warnings

    src = datasets.sample_data_dir()
    conv = datasets.load_sample("conversations").drop(columns=["team", "escalated", "contacts", "handle_time_s",
                                                               "customer_value"])
    conv.to_parquet(tmp_path / "conversations.parquet")
    for f in ("ratings.parquet", "surveys.parquet", "scorecard.yaml"):
        shutil.copy(src / f, tmp_path / f)
    d = R.load_report_data(dataset=str(tmp_path), start=START, end=END)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert V.default_group(d) == "channel"
        kpis = V.kpi_table(d).frame["KPI"].tolist()
        assert "Escalated" not in kpis and "Handle time" not in kpis and "CSAT" in kpis
        assert V.costly_customers(d) is None
        for fn in ("agent_forest", "agent_category_heatmap", "group_table", "time_table", "data_quality"):
            getattr(V, fn)(d)


def test_sla_rows_judge_priorities_and_statuses_as_the_kpi():
    """Hand-made period: "High" resolved in 1 h (met), " critical" in 6 h (missed), "URGENT" solved
    without resolved_at (contradictory: not judged), "high" still open 6 h after creation at as_of
    (the latest high-priority timestamp, 15:00: missed), "low" not read. By hand: n = 3, met 1 ->
    33.3 %. The change rows and kpi_summary's sla_high agree (the rows once matched priorities
    case-sensitively, missed "critical" and counted the contradictory row as missed)."""
    from types import SimpleNamespace

    conv = pd.DataFrame({
        "conversation_id": list("abcde"), "customer_id": "x", "agent_id": "y", "channel": "chat",
        "priority": ["High", " critical", "URGENT", "high", "low"],
        "status": ["solved", "solved", "solved", "open", "solved"],
        "created_at": "2026-01-05 09:00Z", "first_response_at": None,
        "resolved_at": ["2026-01-05 10:00Z", "2026-01-05 15:00Z", None, None, "2026-01-05 09:30Z"]})
    conv = S.validate(conv, "conversations")
    rows = H._sla_rows(conv, SimpleNamespace(conversations=conv))
    assert sorted(rows["conversation_id"]) == ["a", "b", "d"]
    assert rows.set_index("conversation_id")["_v"].to_dict() == {"a": 1.0, "b": 0.0, "d": 0.0}
    summary = K.kpi_summary(conv).set_index("kpi")
    assert summary.loc["sla_high", "n"] == 3
    assert summary.loc["sla_high", "value"] == pytest.approx(100 / 3)


def test_nps_change_rows_class_fractional_answers_as_nps_score():
    """Answers 10, 9.5, 8.5, 7, 6.5, 3: by hand 2 promoters, 2 detractors (6.5 is a detractor:
    s < 7), NPS = 100 (2 - 2) / 6 = 0. The rows the tile's change is computed from give the same
    NPS as nps_score (they once called 6.5 a passive: NPS 16.7)."""
    from types import SimpleNamespace

    sv = pd.DataFrame({"conversation_id": list("abcdef"), "kind": "nps", "score": [10, 9.5, 8.5, 7, 6.5, 3],
                       "answered_at": "2026-01-05 09:00Z"})
    rows, col, _, kind = H._survey_rows("nps")(SimpleNamespace(), lambda name: sv)
    assert kind == "mean" and rows[col].tolist() == [100.0, 100.0, 0.0, 0.0, -100.0, -100.0]
    assert rows[col].mean() == pytest.approx(0.0)
    assert K.nps_score(sv)["nps"].iloc[0] == pytest.approx(0.0)


def test_service_level_change_rows_judge_calls_as_service_level():
    """Calls: answered in 5 s and 15 s (in time), in 45 s (late), abandoned, answered without a
    speed (left out). By hand: n = 4, in time 2 -> 50 %. The rows the service-level tile's change is
    computed from count the same calls as kpis.service_level (one rule, kpis._service_level_judged)."""
    import qakit.report.operations as O

    calls = S.validate(pd.DataFrame({
        "call_id": list("abcde"), "agent_id": "y", "created_at": "2026-01-05 09:00Z",
        "answered": [True, True, True, False, True], "speed_of_answer_s": [5.0, 15.0, 45.0, None, None]}), "calls")
    rows, col, _, kind = O._tile_rows("service_level", None, calls, None)
    assert kind == "rate" and sorted(rows["call_id"]) == ["a", "b", "c", "d"]
    assert rows[col].mean() == pytest.approx(0.5)
    assert K.service_level(calls, min_n=0)["service_level"].iloc[0] == pytest.approx(0.5)


def test_a_tile_without_rows_says_n_0_instead_of_failing(tmp_path):
    """Conversations with no high, urgent or critical priority (the Twitter and call-centre exports
    in ../shared/data have none): the SLA tile is shown with no value, "n = 0 conversations" and
    the status "no data" -- the report once failed on it ("cannot convert float NaN to integer")."""
    conv = datasets.load_sample("conversations").assign(priority="low")
    conv.to_parquet(tmp_path / "conversations.parquet")
    d = R.load_report_data(dataset=str(tmp_path))
    head = H.headline(d, {})
    sla = head.set_index("metric").loc["sla_high"]
    assert math.isnan(sla["value"]) and sla["status"] == "no data"
    html = V.tiles(d, head)._repr_html_()
    tile = html.split('data-metric="sla_high"')[1].split('<div class="qakit-tile')[0]
    assert "n = 0 conversations" in tile and "no data" in tile
