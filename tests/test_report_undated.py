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


def test_undated_survey_answers_are_placed_by_their_conversation_without_reading_them_all(tmp_path):
    """Survey answers without answered_at (Freshdesk's export has none) are placed on the trend by their
    conversation's created_at: on DuckDB only those conversations' times are fetched (a semi-join), the
    conversations table is never read into pandas; the same placed answers as pandas. By hand: c1 and c3
    answered, created on 2 and 4 Nov; c9 has no conversation: the loader leaves it out (itemised)."""
    import qakit.report.support as SUP

    d = tmp_path / "surveys_undated"
    d.mkdir()
    created = pd.to_datetime(["2026-11-02 09:00", "2026-11-03 09:00", "2026-11-04 09:00"], utc=True)
    pd.DataFrame({"conversation_id": ["c1", "c2", "c3"], "customer_id": ["u1", "u2", "u3"], "agent_id": "a1",
                  "channel": "email", "priority": "normal", "status": "solved", "created_at": created,
                  "first_response_at": created + pd.Timedelta(hours=1),
                  "resolved_at": created + pd.Timedelta(hours=2)}).to_parquet(d / "conversations.parquet", index=False)
    pd.DataFrame({"conversation_id": ["c1", "c3", "c9"], "kind": "csat", "score": [5.0, 2.0, 4.0],
                  "answered_at": pd.Series([pd.NaT] * 3, dtype="datetime64[ns, UTC]")}
                 ).to_parquet(d / "surveys.parquet", index=False)
    got = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for engine in ("pandas", "duckdb"):
            data = D.load_report_data(dataset=str(d), engine=engine)
            sv, by_conv, lost = SUP.dated_surveys(data)
            got[engine] = (sorted(zip(sv["conversation_id"].astype(str), sv["answered_at"])), by_conv, lost)
            if engine == "duckdb":
                assert not data.in_memory("conversations")
    assert got["pandas"] == got["duckdb"]
    assert got["duckdb"][1:] == (2, 0) and [t for _, t in got["duckdb"][0]] == [created[0], created[2]]
