"""Automatic scoring (AQS) beside review scores that stay on an engine (issue 23: only per-group
statistics leave it): :func:`qakit.autoqa.aqs_vs_iqs` takes the human side as review scores or
ratings on DuckDB / Polars and gives the IQS worked by hand; a reviewer named "auto" is refused
there by name; the DuckDB report's automatic-scoring section equals the pandas report's (1e-9) and
reads neither the ratings nor the review scores into pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from frames import AUTO_CARD, assert_frames_close
from scipy import stats

import qakit
import qakit.report.data as D
import qakit.report.operations as O
import qakit.report.tiles as T
from qakit import autoqa
from qakit.errors import ParameterError


# --- aqs_vs_iqs with the human side on an engine --------------------------------------------------------------
def _scores() -> pd.DataFrame:
    """Agent a: 80, 70, 90, 80; agent b: 40, 60, 50 and r8 unscored (all N/A)."""
    return pd.DataFrame({
        "review_id": [f"r{i}" for i in range(1, 9)], "conversation_id": [f"c{i}" for i in range(1, 9)],
        "agent_id": ["a"] * 4 + ["b"] * 4, "reviewer_id": "qa",
        "reviewed_at": pd.Timestamp("2026-11-02 09:00", tz="UTC"),
        "iqs": [80.0, 70, 90, 80, 40, 60, 50, np.nan],
        "passed": pd.array([True, False, True, True, False, False, False, pd.NA], dtype="boolean")})


def _auto() -> pd.DataFrame:
    """Greeting found in c1 (a) and c3 (b), not in c2 (a): AQS a = 50 (n 2), b = 100 (n 1)."""
    return autoqa.auto_ratings(pd.DataFrame({"conversation_id": ["c1", "c2", "c3"], "agent_id": ["a", "a", "b"],
                                             "category": "Greeting", "rating": [1.0, 0, 1], "source": "rule"}))


GREETING = qakit.Scorecard([qakit.Category("Greeting")])


@pytest.mark.parametrize("where", ["pandas", "parquet", "polars"])
def test_aqs_vs_iqs_from_scores_on_an_engine_equals_the_hand_numbers(where, tmp_path):
    """IQS a = mean(80, 70, 90, 80) = 80, sd 8.165, t(3) interval; b = mean(40, 60, 50) = 50, sd 10,
    t(2) interval (r8 has no score: not counted), from the scores where they are (a Parquet file read
    by DuckDB, a Polars frame) as from pandas."""
    s = _scores()
    if where == "parquet":
        s.to_parquet(tmp_path / "scores.parquet", index=False)
        s = str(tmp_path / "scores.parquet")
    elif where == "polars":
        s = pl.from_pandas(s)
    t = autoqa.aqs_vs_iqs(_auto(), scores=s, auto_card=GREETING, min_n=0).set_index(["agent_id", "measure"])
    for agent, x in (("a", [80.0, 70, 90, 80]), ("b", [40.0, 60, 50])):
        ci = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=np.std(x, ddof=1) / np.sqrt(len(x)))
        row = t.loc[(agent, "iqs")]
        assert row["n"] == len(x) and row["score"] == pytest.approx(np.mean(x), abs=1e-12)
        assert [row["ci_low"], row["ci_high"]] == pytest.approx(list(ci), abs=1e-9)
    assert t.loc[("a", "aqs"), ["n", "score"]].tolist() == [2, 50.0]
    assert t.loc[("b", "aqs"), ["n", "score"]].tolist() == [1, 100.0]


def test_aqs_vs_iqs_from_human_ratings_on_duckdb_equals_pandas(tmp_path):
    """Human ratings in a Parquet file are scored with the card on DuckDB (only per-agent statistics
    come back): the same table as from the pandas frame (that path worked by hand in
    test_autoqa_output.py::test_aqs_vs_iqs_cis)."""
    human = pd.DataFrame({"review_id": ["r1", "r2", "r3", "r4"], "conversation_id": ["c1", "c2", "c3", "c4"],
                          "agent_id": ["a", "a", "a", "b"], "reviewer_id": "qa",
                          "reviewed_at": pd.Timestamp("2026-01-05", tz="UTC"), "category": "Tone",
                          "rating": [1, 0, 1, 1.0]})
    human.to_parquet(tmp_path / "ratings.parquet", index=False)
    card = qakit.Scorecard([qakit.Category("Tone")])
    a = autoqa.aqs_vs_iqs(_auto(), human, card=card, auto_card=GREETING, min_n=0)
    b = autoqa.aqs_vs_iqs(_auto(), str(tmp_path / "ratings.parquet"), card=card, auto_card=GREETING, min_n=0)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=0, atol=1e-9)
    assert a.set_index(["agent_id", "measure"]).loc[("a", "iqs"), "score"] == pytest.approx(200 / 3)


def test_aqs_vs_iqs_refuses_reviewer_auto_on_the_engine(tmp_path):
    """A review by reviewer "auto" among the human scores or ratings is refused on DuckDB as on
    pandas, with the count and the review ids (a query on the engine: nothing read); the human side
    given twice or not at all, or ratings without their card, are refused by name."""
    s = _scores()
    s.loc[s["review_id"].isin(["r6", "r3"]), "reviewer_id"] = "auto"
    s.to_parquet(tmp_path / "scores.parquet", index=False)
    for scores in (s, str(tmp_path / "scores.parquet"), pl.from_pandas(s)):
        with pytest.raises(ParameterError, match=r"human scores contain reviewer_id 'auto' \(2 row\(s\), e\.g\. "
                                                 r"review ids \['r3', 'r6'\]\)"):
            autoqa.aqs_vs_iqs(_auto(), scores=scores, auto_card=GREETING)
    with pytest.raises(ParameterError, match=r"human scores contain reviewer_id 'auto' \(2 row\(s\)\): pass"):
        autoqa.aqs_vs_iqs(_auto(), scores=pl.from_pandas(s.drop(columns="review_id")), auto_card=GREETING)
    r = pd.DataFrame({"review_id": "x1", "conversation_id": "c1", "agent_id": "a", "reviewer_id": "auto",
                      "reviewed_at": pd.Timestamp("2026-01-05", tz="UTC"), "category": ["Tone", "Pace"],
                      "rating": 1.0})
    r.to_parquet(tmp_path / "ratings.parquet", index=False)
    card = qakit.Scorecard([qakit.Category("Tone"), qakit.Category("Pace")])
    with pytest.raises(ParameterError, match=r"human ratings contain reviewer_id 'auto' \(2 row\(s\), e\.g\. "
                                             r"review ids \['x1'\]\)"):
        autoqa.aqs_vs_iqs(_auto(), str(tmp_path / "ratings.parquet"), card=card, auto_card=GREETING)
    with pytest.raises(ParameterError, match="give the human side once.*got both"):
        autoqa.aqs_vs_iqs(_auto(), r, card=card, scores=_scores())
    with pytest.raises(ParameterError, match="give the human side once.*got neither"):
        autoqa.aqs_vs_iqs(_auto(), card=card)
    with pytest.raises(ParameterError, match="card is needed to score the human ratings"):
        autoqa.aqs_vs_iqs(_auto(), r, auto_card=GREETING)


# --- the report's automatic-scoring section on DuckDB ---------------------------------------------------------
CARD = AUTO_CARD + """\
  - name: Accuracy
    auto: learned
  - name: Empathy
    auto: learned
"""


def _dataset(folder, *, auto_reviewer: bool = False):
    """36 conversations with messages over three months (as tests/test_autoqa_report.py: greetings in
    every other one, blame in every third, Tone at random, one Tone N/A); three of them reviewed a
    second time later; six reviews of conversations without messages (x0-x5), the only ones rated on
    Accuracy; Empathy never rated. Ratings a folder of two Parquet files (read in place by DuckDB)."""
    rng = np.random.default_rng(3)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scorecard.yaml").write_text(CARD, encoding="utf-8")
    months = ["2026-09", "2026-10", "2026-11"]
    msgs, rates = [], []
    for i in range(36):
        c, t = f"c{i:02d}", pd.Timestamp(f"{months[i % 3]}-{10 + i // 3:02d} 09:00", tz="UTC")
        agent = ("Hello Sam, " if i % 2 == 0 else "") + "I checked your order and it ships today" + (
            ", it was your fault." if i % 3 == 0 else ".")
        msgs += [(c, f"{c}-0", "customer", None, t, "My parcel is late again, where is it please?"),
                 (c, f"{c}-1", "agent", f"a{i % 4}", t, agent)]
        tone = np.nan if i == 5 else float(rng.integers(0, 2))
        for cat, r in (("Opening", float(i % 2 == 0)), ("No blame", float(i % 3 != 0)), ("Tone", tone)):
            rates.append((f"r{i:02d}", c, f"a{i % 4}", "q1", t, cat, r))
            if i in (1, 7, 20):  # reviewed again a day later: the first review is Tone's label
                rates.append((f"s{i:02d}", c, f"a{i % 4}", "q2", t + pd.Timedelta(days=1), cat, 1.0 - r if r == r else r))
    for i in range(6):
        t = pd.Timestamp(f"2026-10-{i + 1:02d} 10:00", tz="UTC")
        for cat, r in (("Opening", 1.0), ("Tone", float(i % 2)), ("Accuracy", float(i % 3 > 0))):
            rates.append((f"x{i}", f"x{i}", f"a{i % 4}", "auto" if auto_reviewer and i == 4 else "q2", t, cat, r))
    pd.DataFrame(msgs, columns=["conversation_id", "message_id", "author_role", "agent_id", "sent_at", "text"]
                 ).to_parquet(folder / "messages.parquet", index=False)
    r = pd.DataFrame(rates, columns=["review_id", "conversation_id", "agent_id", "reviewer_id", "reviewed_at",
                                     "category", "rating"])
    (folder / "ratings").mkdir()
    first = r["review_id"].str.startswith("r")
    r[first].to_parquet(folder / "ratings" / "part-0.parquet", index=False)
    r[~first].to_parquet(folder / "ratings" / "part-1.parquet", index=False)
    return folder


def _load(folder, engine: str) -> D.ReportData:
    d = D.load_report_data(dataset=str(folder), engine=engine)
    D.load_optional_tables(d)
    return d


_close = assert_frames_close


def _titles(fig) -> list:
    return [(ax.get_title(loc="left"), [t.get_text() for t in ax.get_yticklabels()]) for ax in fig.axes]


def test_duckdb_report_automatic_scoring_equals_pandas_and_reads_neither_table(tmp_path):
    """With DuckDB reading the ratings in place and keeping the review scores beside it, every
    output of the automatic-scoring section -- AQS, categories, AQS against IQS per agent (figure,
    table, appendix, CSV table), the learned categories' qualification, the AQS tile, the data-quality
    list -- equals the pandas report's (1e-9, the same texts), and neither the ratings nor the review
    scores are read into pandas. The learned categories that cannot be evaluated say what the whole
    table says: Accuracy is rated only on conversations without messages, Empathy never."""
    folder = _dataset(tmp_path / "data")
    pdata, dk = _load(folder, "pandas"), _load(folder, "duckdb")
    assert "ratings" in dk.direct and D.scores_on_engine(dk)
    assert not dk.in_memory("ratings") and not dk.in_memory("scores")
    a, b = O._autoqa(pdata), O._autoqa(dk)
    _close(a["aqs"], b["aqs"], ["n"])
    _close(a["categories"], b["categories"], ["category"])
    _close(a["vs"], b["vs"], ["agent_id", "measure"])
    _close(a["learned"], b["learned"], ["category"])
    status = b["learned"].set_index("category")["status"]
    assert status["Tone"] == "evaluated"
    assert status["Accuracy"] == ("not evaluated: no conversation rated on 'Accuracy' has messages: nothing to "
                                  "learn from")
    assert status["Empathy"] == ("not evaluated: category 'Empathy' has no ratings; categories: ['Accuracy', "
                                 "'No blame', 'Opening', 'Tone']")
    assert b["learned"].set_index("category").loc["Tone", "n"] == 35  # 36 conversations, one Tone N/A
    for f in (O.autoqa_summary, O.autoqa_categories, O.aqs_iqs_table, O.appendix_aqs, O.data_quality):
        assert repr(f(dk)) == repr(f(pdata)), f.__name__
    assert _titles(O.aqs_iqs_figure(dk)) == _titles(O.aqs_iqs_figure(pdata))
    for name, t in O.appendix_tables(pdata).items():
        _close(t, O.appendix_tables(dk)[name], list(t.columns[:2]))
    ha, hb = T.headline(pdata, {}).set_index("metric"), T.headline(dk, {}).set_index("metric")
    np.testing.assert_allclose(hb.loc["aqs", ["n", "value", "ci_low", "ci_high"]].to_numpy(float),
                               ha.loc["aqs", ["n", "value", "ci_low", "ci_high"]].to_numpy(float), rtol=0, atol=1e-9)
    assert not dk.in_memory("ratings") and not dk.in_memory("scores")
    # what the cross-validation read: Tone and Accuracy of the 36 conversations with messages, no more
    got = D.engine_columns(dk, "ratings", ["review_id", "category"], ids=dk.messages["conversation_id"],
                           where={"category": ["Tone", "Accuracy", "Empathy"]})
    assert len(got) == 39 and set(got["category"].astype(str)) == {"Tone"}  # 36 + three second reviews
    assert not dk.in_memory("ratings")


def test_duckdb_report_refuses_reviewer_auto_in_the_ratings_as_pandas(tmp_path):
    """A human review by reviewer "auto": both reports refuse the AQS-against-IQS comparison with the
    same error naming the review; DuckDB finds it in the stored scores without reading them."""
    folder = _dataset(tmp_path / "data", auto_reviewer=True)
    errors = {}
    for engine in ("pandas", "duckdb"):
        d = _load(folder, engine)
        with pytest.raises(ParameterError, match=r"reviewer_id 'auto' \(\d row\(s\), e\.g\. review ids \['x4'\]\)") as e:
            O._autoqa(d)
        errors[engine] = str(e.value)
        if engine == "duckdb":
            assert not d.in_memory("ratings") and not d.in_memory("scores")
    assert "human ratings contain" in errors["pandas"] and "human scores contain" in errors["duckdb"]
