"""Reviews without a date (the real FED ratings have none): the report leaves the trend out and says
why, instead of drawing an empty chart with a made-up hour axis; the scorecard-health table drops the
CSAT column when no reviewed conversation has a CSAT answer. Both engines."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import qakit.report.data as D
import qakit.report.quality as Q
import qakit.report.support as SU
import qakit.report.tiles as T

CARD = """name: Three categories
categories:
  - {name: Tone, scale: binary, weight: 1}
  - {name: Solution, scale: binary, weight: 1}
  - {name: Grammar, scale: binary, weight: 2}
"""


def _folder(tmp_path, dated: bool):
    """30 reviews of 3 agents; review i rates Tone = i % 2, Solution = (i // 2) % 2, Grammar = 1."""
    rows = []
    for i in range(30):
        when = pd.Timestamp("2026-11-02", tz="UTC") + pd.Timedelta(days=i) if dated else pd.NaT
        for cat, v in (("Tone", i % 2), ("Solution", (i // 2) % 2), ("Grammar", 1)):
            rows.append({"review_id": f"r{i:02d}", "conversation_id": f"c{i:02d}", "agent_id": f"a{i % 3}",
                         "reviewer_id": "q1", "reviewed_at": when, "category": cat, "rating": float(v)})
    d = tmp_path / ("dated" if dated else "undated")
    d.mkdir()
    pd.DataFrame(rows).to_parquet(d / "ratings.parquet", index=False)
    (d / "scorecard.yaml").write_text(CARD)
    return d


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_undated_reviews_leave_the_trend_out_and_say_why(tmp_path, engine):
    """IQS by hand: each review scores (Tone + Solution + 2) / 4; Tone is 1 on 15 of the 30 reviews,
    Solution on 14 (i // 2 odd: i = 2, 3, 6, 7, ..., 26, 27): (15 + 14 + 60) / 120 = 74.1667 %."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = D.load_report_data(dataset=str(_folder(tmp_path, dated=False)), engine=engine)
        h = T.headline(data, {}).set_index("metric")
        assert h.loc["iqs", "value"] == pytest.approx(100 * 89 / 120, abs=1e-9)
        assert not SU.shown(data, "trends")
        lines = SU.left_out_lines(data)
        assert any(l.startswith("Trends: no review has a date (reviewed_at)") for l in lines), lines
        cols = list(Q.health_table(data).frame.columns)
    assert "r with CSAT (95 % CI)" not in cols and "Discrimination r (95 % CI)" in cols


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_dated_reviews_keep_the_trend(tmp_path, engine):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = D.load_report_data(dataset=str(_folder(tmp_path, dated=True)), engine=engine)
        assert SU.shown(data, "trends")
        assert not any(l.startswith("Trends") for l in SU.left_out_lines(data))
