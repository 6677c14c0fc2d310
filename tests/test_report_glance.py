"""The report's display rules of issue 27, on small hand-made tables: one unit per time, changes
with their unit, intervals within the scale (with the reason), charts sorted as titled, readable
CSVs beside the raw ones. The browser and PDF checks are in tests/test_report_browser.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import qakit.report.data as D
import qakit.report.views as V
from qakit.report.display import hash_ids, pretty, readable, readable_unit, write_table_files
from qakit.report.tiles import duration_units


@pytest.mark.parametrize("minutes, unit", [
    # medians 2.6 min, largest 667 min (3 digits): minutes
    ([0.4, 1.9, 2.6, 177.2, 667.4], "min"),
    # median 56.4 min < 1 h, but 5,338 min needs 4 digits and 56.4 min = 0.94 h >= 0.1: hours
    ([13.6, 37.8, 52.9, 56.4, 60.5, 91.0, 284.0, 1546.1, 5338.4], "h"),
    # median 2 min = 0.033 h < 0.1: minutes stay, the one 4,000 takes four digits
    ([1.0, 2.0, 4000.0], "min"),
    # a handle time around 13 min: minutes, not 780 s
    ([12.6, 12.8, 13.0], "min"),
    # speed of answer around 20 s (0.33 min < 1): seconds
    ([12 / 60, 20 / 60, 300 / 60], "s"),
    # resolution over days: median 72 h = 3 d >= 1: days
    ([48 * 60.0, 72 * 60.0, 120 * 60.0], "d"),
])
def test_readable_unit(minutes, unit):
    assert readable_unit(np.array(minutes) / 60) == unit


def test_the_sample_reports_times_in_one_unit_each():
    """1-28 Oct of the sample: first response median 2.6 min overall (email p90 667 min) -> min;
    resolution 56.4 min overall but email p90 5,338 min -> h; handle time 12.8 min -> min."""
    data = D.load_report_data(start="2026-10-01", end="2026-10-28")
    assert duration_units(data) == {"first_response_time": "min", "resolution_time": "h", "handle_time": "min"}
    kpi = V.kpi_table(data).frame.set_index("KPI")["Value"]
    assert kpi["First response time"].endswith(" min") and kpi["Resolution time"].endswith(" h")
    assert kpi["Handle time"].endswith(" min")
    times = V.time_table(data).frame
    assert [c for c in times.columns if "time" in c] == [
        "First response time (min)", "First response time, 90th percentile (min)",
        "Resolution time (h)", "Resolution time, 90th percentile (h)"]


def test_an_interval_past_the_scale_is_cut_and_the_caption_says_so():
    """Two reviews scoring 0 and 100: mean 50, sd 70.71, t(0.975, 1) = 12.706, so the 95 % interval
    is 50 +- 12.706 x 70.71 / sqrt(2) = 50 +- 635.3 (scipy below): shown as 0.0 - 100.0 with the
    reason. A share's Wilson interval inside 0-1 is left alone."""
    half = stats.t.ppf(0.975, 1) * np.std([0.0, 100.0], ddof=1) / np.sqrt(2)
    assert half == pytest.approx(635.31, abs=0.01)
    t = pretty(pd.DataFrame({"agent_id": ["A1", "A2"], "n": [2, 40], "iqs": [50.0, 80.0],
                             "ci_low": [50 - half, 75.0], "ci_high": [50 + half, 85.0]}), caption="Agents.")
    assert t.frame["95 % CI"].tolist() == ["0.0\u00a0–\u00a0100.0", "75.0\u00a0–\u00a085.0"]
    assert t.caption == ("Agents. 1 interval reaches past the 0–100 scale and is shown cut at its ends "
                         "(with few rows a t interval ignores the scale).")
    share = pretty(pd.DataFrame({"pass_rate": [0.5], "ci_low": [0.2], "ci_high": [0.8]}))
    assert share.frame.iloc[0].tolist() == ["50.0", "20.0\u00a0–\u00a080.0"] and share.caption == ""
    csv = readable(pd.DataFrame({"iqs": [50.0], "ci_low": [50 - half], "ci_high": [50 + half]}))
    assert csv.iloc[0].tolist() == [50.0, 0.0, 100.0]


def test_coverage_half_widths_past_the_scale_read_as_at_least_50():
    """The sample's coverage table: agent A20's median week has 3 reviews (t(0.975, 2) = 4.30, so a
    half-width of about 69 points): shown as '≥ 50', the caption says why; narrower ones as numbers."""
    import qakit.report.operations as O

    data = D.load_report_data(start="2026-10-01", end="2026-10-28")
    D.load_optional_tables(data, dataset="sample")
    raw = O._coverage_by_agent(data).set_index("agent_id")["Median weekly half-width (IQS points)"]
    t = O.appendix_coverage(data)
    shown = t.frame.set_index("Agent")["Median weekly half-width (IQS points)"]
    assert raw["A20"] > 50 and shown["A20"] == "≥ 50"
    assert all(shown[a] == f"{v:.1f}" for a, v in raw.items() if v < 50)
    assert "covers the whole 0–100 scale" in t.caption


def test_tile_changes_carry_their_unit():
    assert [V.change_unit(u) for u in ("%", "% satisfied", "points", "min", "h", "1-7")] == [
        "points", "points", "points", "min", "h", "1-7"]


def test_category_chart_draws_the_lowest_first_at_the_top():
    """'Category scores, lowest first': the axis runs downwards, so the first label (the lowest
    score, Escalation handling on the sample's October) is drawn at the top."""
    data = D.load_report_data(start="2026-10-01", end="2026-10-28")
    fig = V.category_figure(data)
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == "Category scores, lowest first" and ax.yaxis_inverted()
    labels = [t.get_text().split("  (")[0] for t in ax.get_yticklabels()]
    ratings = data.ratings[data.ratings["rating"].notna()]
    scale = {c.name: (min(c.scale.values), max(c.scale.values)) for c in data.card.categories}
    # pooled category score by hand: mean of (rating - min) / (max - min) x 100 over rated rows
    lo = ratings["category"].map(lambda c: scale[c][0])
    hi = ratings["category"].map(lambda c: scale[c][1])
    by_hand = (100 * (ratings["rating"] - lo) / (hi - lo)).groupby(ratings["category"]).mean().sort_values()
    assert labels == by_hand.index.tolist()


def test_csv_files_readable_and_raw_with_customer_ids_hashed(tmp_path):
    raw = pd.DataFrame({"customer_id": ["cust-1", "cust-2"], "contacts": [3, 12], "cost": [15.0, 60.0],
                        "customer_value": [120.123456, 40.0], "costs_more_than_value": [False, True]})
    names = write_table_files(tmp_path, {"customers": (raw, readable(raw))})
    assert names == ["customers"]
    shown = pd.read_csv(tmp_path / "customers.csv")
    back = pd.read_csv(tmp_path / "raw" / "customers.csv")
    hashed = hash_ids(raw["customer_id"]).tolist()
    assert shown.columns.tolist() == ["Customer", "Contacts", "Support cost", "Customer value", "Costs more than value"]
    assert shown["Customer"].tolist() == hashed and back["customer_id"].tolist() == hashed
    assert shown["Customer value"].tolist() == [120.1, 40.0] and back["customer_value"].tolist() == [120.123456, 40.0]
    assert shown["Costs more than value"].tolist() == ["no", "yes"]
