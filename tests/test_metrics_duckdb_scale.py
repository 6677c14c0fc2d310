"""The DuckDB paths of the metric layer at scale (issue 23, point 3): the time KPIs' aggregates and
order statistics from one query, and the contract of unchanged Parquet files checked once per
process (a changed file is checked again)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import qakit
from qakit.errors import DataValidationError
from qakit.metrics import _contract as C
from qakit.metrics import _groups as G


def _conv(groups: dict[str, list[float]]) -> pd.DataFrame:
    """Conversations whose first response takes the given hours, per channel (``nan``: no response yet)."""
    rows = []
    created = pd.Timestamp("2026-01-05 09:00", tz="UTC")
    for ch, hours in groups.items():
        for h in hours:
            at = pd.NaT if np.isnan(h) else created + pd.Timedelta(hours=h)
            rows.append({"channel": ch, "first_response_at": at})
    df = pd.DataFrame(rows)
    n = len(df)
    return df.assign(conversation_id=[f"c{i:03d}" for i in range(n)], customer_id=[f"u{i}" for i in range(n)],
                     agent_id="a", priority="normal", status="solved", created_at=created,
                     resolved_at=created + pd.Timedelta(days=1))


def _by_hand(x: list[float]) -> tuple[float, float, float, float]:
    """Median and p90 with numpy's linear rule, and the median's order-statistic interval (Conover,
    z = 1.959964: ranks l = floor(n/2 - z sqrt(n)/2), u = ceil(1 + n/2 + z sqrt(n)/2), 1-based; NaN
    below 6 values), written out here."""
    v = np.sort(np.asarray([h for h in x if not np.isnan(h)]))
    n = len(v)
    z = 1.959963984540054
    if n >= 6:
        lo = v[max(int(np.floor(n / 2 - z * np.sqrt(n) / 2)), 1) - 1]
        hi = v[min(int(np.ceil(1 + n / 2 + z * np.sqrt(n) / 2)), n) - 1]
    else:
        lo = hi = np.nan
    return float(np.median(v)), float(np.percentile(v, 90)), lo, hi


def test_duckdb_times_in_one_query_by_hand(monkeypatch):
    """Groups of 1, 2, 5, 6, 7 and 11 values (and rows without a response): the one-query DuckDB
    path gives numpy's median and p90 and the Conover interval per group, e.g. 6 values 1..6 h:
    median 3.5, p90 = x(5) + 0.5 (x(6) - x(5)) = 5.5 (h = 5 x 0.9 = 4.5), l = floor(3 - 2.40) = 0 -> 1,
    u = ceil(1 + 3 + 2.40) = 7 -> 6: interval 1 .. 6 h. The separate aggregate and order-statistics
    queries are not run (the one query serves both)."""
    groups = {"a": [2.0], "b": [3.0, 1.0], "c": [5.0, 1.0, 4.0, 2.0, 3.0], "d": [6.0, 5.0, 4.0, 3.0, 2.0, 1.0],
              "e": [0.5, 7.0, 1.5, np.nan, 3.0, 2.5, 9.0, 4.0], "f": [float(h) for h in range(11, 0, -1)] + [np.nan]}
    conv = _conv(groups)
    called = []
    monkeypatch.setattr(G, "order_stats", lambda *a, **k: called.append("order_stats"))
    got = qakit.first_response_time(conv, by="channel", engine="duckdb", min_n=0).set_index("channel")
    assert called == []
    for ch, hours in groups.items():
        med, p90, lo, hi = _by_hand(hours)
        r = got.loc[ch]
        assert r["n"] == sum(not np.isnan(h) for h in hours)
        assert r["first_response_time"] == pytest.approx(med, abs=1e-12)
        assert r["first_response_time_p90"] == pytest.approx(p90, abs=1e-12)
        np.testing.assert_allclose([r["ci_low"], r["ci_high"]], [lo, hi], atol=1e-12, equal_nan=True)
    assert got.loc["d", "first_response_time_p90"] == pytest.approx(5.5)
    assert (got.loc["d", "ci_low"], got.loc["d", "ci_high"]) == (pytest.approx(1.0), pytest.approx(6.0))
    assert got.loc["e", "n_excluded"] == 1 and got.loc["a", "n_excluded"] == 0


@pytest.mark.parametrize("period", [None, "W"])
def test_duckdb_times_equal_pandas_on_every_group_size(period):
    """Groups of every size 1..40 (the ranks the interval needs move with n), by channel and by
    week: DuckDB's one query equals the pandas definition (1e-12), exclusions included."""
    rng = np.random.default_rng(5)
    groups = {f"g{n:02d}": list(rng.exponential(3.0, n).round(6)) for n in range(1, 41)}
    conv = _conv(groups)
    conv["created_at"] = conv["created_at"] + pd.to_timedelta(rng.integers(0, 30, len(conv)), unit="D")
    conv["first_response_at"] = conv["created_at"] + (conv["first_response_at"] - pd.Timestamp("2026-01-05 09:00",
                                                                                                tz="UTC"))
    conv.loc[::17, "first_response_at"] = pd.NaT
    a = qakit.first_response_time(conv, by="channel", period=period, min_n=0)
    b = qakit.first_response_time(conv, by="channel", period=period, engine="duckdb", min_n=0)
    assert a["channel"].tolist() == b["channel"].tolist()
    for c in a.columns:
        if c in ("channel", "period"):
            assert a[c].astype(str).tolist() == b[c].astype(str).tolist()
        else:
            np.testing.assert_allclose(b[c].to_numpy(float), a[c].to_numpy(float), rtol=0, atol=1e-12, equal_nan=True,
                                       err_msg=c)
    ea, eb = qakit.schema.exclusions(a), qakit.schema.exclusions(b)
    assert ea.astype(str).values.tolist() == eb.astype(str).values.tolist()


def test_contract_of_unchanged_files_is_checked_once(tmp_path, monkeypatch):
    """The same Parquet folder asked twice (a report's KPI summary, then its tiles): the contract's
    queries run once; a KPI reading fewer columns reuses the check of more columns when that check
    changed nothing."""
    conv = _conv({"chat": [1.0, 2.0, 3.0], "email": [4.0, 5.0]})
    (tmp_path / "conv").mkdir()
    conv.to_parquet(tmp_path / "conv" / "part-0.parquet", index=False)
    runs = []
    real = C._engine_contract
    monkeypatch.setattr(C, "_engine_contract", lambda *a, **k: runs.append(1) or real(*a, **k))
    monkeypatch.setattr(C, "_CONTRACTS", {})
    path = str(tmp_path / "conv")
    first = qakit.kpi_summary(path, engine="duckdb")
    again = qakit.kpi_summary(path, engine="duckdb")
    pd.testing.assert_frame_equal(first, again)
    frt = qakit.first_response_time(path, engine="duckdb", min_n=0)
    assert len(runs) == 1
    assert frt["first_response_time"].iloc[0] == pytest.approx(3.0)  # median of 1..5 h


def test_a_check_with_keys_answers_one_without(tmp_path, monkeypatch):
    """The report's loader checks the ratings with their key (review x category), then scoring asks
    without it: the first run answers both (one contract query set). Asked the other way round, the
    key has not been checked, so the contract runs again. The scores are the card's by hand: r1 Tone 1
    and Solution 0 -> 50 %, r2 both 1 -> 100 %."""
    r = pd.DataFrame({"review_id": ["r1", "r1", "r2", "r2"], "conversation_id": ["c1", "c1", "c2", "c2"],
                      "agent_id": "a", "reviewer_id": "q", "reviewed_at": pd.Timestamp("2026-11-02", tz="UTC"),
                      "category": ["Tone", "Solution"] * 2, "rating": [1.0, 0, 1, 1]})
    r.to_parquet(tmp_path / "r.parquet", index=False)
    path = str(tmp_path / "r.parquet")
    runs = []
    real = C._engine_contract
    monkeypatch.setattr(C, "_engine_contract", lambda *a, **k: runs.append(k["check_unique"]) or real(*a, **k))
    monkeypatch.setattr(C, "_CONTRACTS", {})
    reads = qakit.schema.RATINGS.required
    C.validated(path, "ratings", reads=reads, engine="duckdb", defer=True)
    card = qakit.Scorecard([qakit.Category("Tone"), qakit.Category("Solution")])
    got = qakit.score_reviews(path, card, engine="duckdb").set_index("review_id")["iqs"]
    assert runs == [True] and got.to_dict() == pytest.approx({"r1": 50.0, "r2": 100.0})
    monkeypatch.setattr(C, "_CONTRACTS", {})
    C.validated(path, "ratings", reads=reads, engine="duckdb", check_unique=False)
    C.validated(path, "ratings", reads=reads, engine="duckdb")
    assert runs == [True, False, True]


def test_a_changed_file_is_checked_again(tmp_path, monkeypatch):
    """The file rewritten in place with the same size and its old modification time (one response
    moved to the year 2099): the fingerprint (the whole content of a small file) differs, so the
    contract runs again and names the timestamp in the future."""
    import os

    monkeypatch.setattr(C, "_CONTRACTS", {})
    conv = _conv({"chat": [1.0, 2.0, 3.0, 4.0]})
    p = tmp_path / "conv.parquet"
    conv.to_parquet(p, index=False)
    st = p.stat()
    assert qakit.first_response_time(str(p), engine="duckdb", min_n=0)["n"].iloc[0] == 4
    bad = conv.copy()
    bad.loc[3, "first_response_at"] = pd.Timestamp("2099-01-05 09:00", tz="UTC")
    bad.to_parquet(p, index=False)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (p.stat().st_size, p.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    with pytest.raises(DataValidationError, match="timestamp in the future"):
        qakit.first_response_time(str(p), engine="duckdb", min_n=0)


@pytest.mark.parametrize("ids", ["integer", "text", "text, one with a trailing space"])
def test_duckdb_two_column_key_duplicates_hashed_as_stored(tmp_path, ids):
    """The ratings' key (review_id, category) is counted on DuckDB by the hash of the two columns as
    stored (no text built per row). A pair repeated is refused naming the key, the pair and its row
    ids, whether the review ids are whole numbers or text; ids that differ only by a trailing space are
    the same review once normalised, so the pair they make is refused too (the recount after
    normalising). The same table without the repeat scores."""
    rev = {"integer": [1, 1, 2, 2, 1], "text": ["r1", "r1", "r2", "r2", "r1"],
           "text, one with a trailing space": ["r1", "r1", "r2", "r2", "r1 "]}[ids]
    r = pd.DataFrame({"review_id": rev, "conversation_id": ["c1", "c1", "c2", "c2", "c1"], "agent_id": "a",
                      "reviewer_id": "q", "reviewed_at": pd.Timestamp("2026-11-02", tz="UTC"),
                      "category": ["Tone", "Solution", "Tone", "Solution", "Tone"], "rating": [1.0, 0, 1, 1, 0]})
    card = qakit.Scorecard([qakit.Category("Tone"), qakit.Category("Solution")])
    C._CONTRACTS.clear()
    r.to_parquet(tmp_path / "dup.parquet", index=False)
    first = str(rev[0])
    with pytest.raises(DataValidationError, match=rf"duplicate key \(review_id, category\).*{first} / Tone"):
        qakit.category_scores(str(tmp_path / "dup.parquet"), card, engine="duckdb")
    r.iloc[:4].to_parquet(tmp_path / "ok.parquet", index=False)
    got = qakit.category_scores(str(tmp_path / "ok.parquet"), card, engine="duckdb").set_index("category")
    assert got.loc["Tone", "n"] == 2 and got.loc["Solution", "n"] == 2  # by hand: two reviews rate each


def test_duckdb_surveys_key_counted_per_conversation(tmp_path):
    """The surveys' key (conversation_id, kind) on DuckDB: kinds are a few labels, so repeats are
    counted per conversation (rows minus distinct kinds, one bit per kind). A conversation with a CSAT
    and an NPS answer is no repeat: CSAT by hand = 1 of 2 answers at 4-5 -> 50 %; a second CSAT answer
    of c1 is refused naming the key, the pair and the rows."""
    sv = pd.DataFrame({"conversation_id": ["c1", "c1", "c2", "c1"], "kind": ["csat", "nps", "csat", "csat"],
                       "score": [5.0, 9, 2, 4], "answered_at": pd.Timestamp("2026-11-03", tz="UTC")})
    C._CONTRACTS.clear()
    sv.iloc[:3].to_parquet(tmp_path / "ok.parquet", index=False)
    got = qakit.csat_score(str(tmp_path / "ok.parquet"), engine="duckdb")
    assert got["n"].iloc[0] == 2 and got["csat"].iloc[0] == pytest.approx(50.0)
    sv.to_parquet(tmp_path / "dup.parquet", index=False)
    with pytest.raises(DataValidationError, match=r"duplicate key \(conversation_id, kind\).*c1 / csat"):
        qakit.csat_score(str(tmp_path / "dup.parquet"), engine="duckdb")


def test_engine_scoring_leaves_no_table_behind(tmp_path):
    """Scoring on DuckDB keeps its per-review rows in a temporary table of the ratings' connection
    (in DuckDB's memory budget) and drops it after the call, also when the ratings are refused; on a
    connection the caller made as on qakit's own. Scores by hand: r1 Tone 1, Solution 0 -> 50 %;
    r2 both 1 -> 100 %; a rating 3 on a binary category is refused naming it."""
    import duckdb

    from qakit.metrics import _source as B

    r = pd.DataFrame({"review_id": ["r1", "r1", "r2", "r2"], "conversation_id": ["c1", "c1", "c2", "c2"],
                      "agent_id": "a", "reviewer_id": "q", "reviewed_at": pd.Timestamp("2026-11-02", tz="UTC"),
                      "category": ["Tone", "Solution"] * 2, "rating": [1.0, 0, 1, 1]})
    card = qakit.Scorecard([qakit.Category("Tone"), qakit.Category("Solution")])
    r.to_parquet(tmp_path / "r.parquet", index=False)
    mine = duckdb.connect()
    tables = "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '__qakit_reviews_%'"
    for data, con in ((str(tmp_path / "r.parquet"), B.duckdb_connection()),
                      (mine.read_parquet(str(tmp_path / "r.parquet")), mine)):
        got = qakit.score_reviews(data, card, engine="duckdb" if isinstance(data, str) else None)
        assert got.set_index("review_id")["iqs"].to_dict() == pytest.approx({"r1": 50.0, "r2": 100.0})
        assert con.execute(tables).fetchall()[0][0] == 0
    r.loc[3, "rating"] = 3.0
    r.to_parquet(tmp_path / "bad.parquet", index=False)
    with pytest.raises(DataValidationError, match=r"rating"):
        qakit.score_reviews(str(tmp_path / "bad.parquet"), card, engine="duckdb")
    assert B.duckdb_connection().execute(tables).fetchall()[0][0] == 0


def test_rating_pairs_read_once_per_table_and_judged_per_card(tmp_path, monkeypatch):
    """The distinct (category, rating) pairs a check of the scales reads are kept with the table the
    contract checked, for every category: the report's loader checks the ratings with their key (no
    pairs read then), scores them, then asks category scores twice, and the pairs are read once. Another card on the same file still judges every pair
    against its own scales: Tone rated 3 is fine on a 1-5 Tone, refused on a binary one (naming the
    value and the review). By hand: r1 Tone 3 of 1-5 -> (3-1)/4 = 0.5, Solution 0 -> 25 % with equal
    weights; r2 Tone 5, Solution 1 -> 100 %; Tone's category score (50 + 100) / 2 = 75 %."""
    r = pd.DataFrame({"review_id": ["r1", "r1", "r2", "r2"], "conversation_id": ["c1", "c1", "c2", "c2"],
                      "agent_id": "a", "reviewer_id": "q", "reviewed_at": pd.Timestamp("2026-11-02", tz="UTC"),
                      "category": ["Tone", "Solution"] * 2, "rating": [3.0, 0, 5, 1]})
    r.to_parquet(tmp_path / "r.parquet", index=False)
    path = str(tmp_path / "r.parquet")
    from qakit.metrics import _source as B

    reads = []
    real = B.collect

    def counting(lf, **kw):
        out = real(lf, **kw)
        if list(out.columns) == ["category", "rating", "__n"]:
            reads.append(len(out))
        return out

    monkeypatch.setattr(B, "collect", counting)
    from qakit.metrics import scoring as MS

    built = []  # the per-review frames built (and checked): scoring builds one, category scores none after it
    real_reviews = MS.reviews
    monkeypatch.setattr(MS, "reviews", lambda *a, **k: built.append(1) or real_reviews(*a, **k))
    monkeypatch.setattr(C, "_CONTRACTS", {})
    C.validated(path, "ratings", reads=qakit.schema.RATINGS.required, engine="duckdb", defer=True)
    five = qakit.Scorecard([qakit.Category("Tone", scale=5), qakit.Category("Solution")])
    got = qakit.score_reviews(path, five, engine="duckdb").set_index("review_id")["iqs"]
    assert got.to_dict() == pytest.approx({"r1": 25.0, "r2": 100.0})
    for _ in range(2):
        t = qakit.category_scores(path, five, engine="duckdb", min_n=0).set_index("category")
        assert t.loc["Tone", "category_score"] == pytest.approx(75.0)  # (50 + 100) / 2
    assert reads == [4] and built == [1]
    binary = qakit.Scorecard([qakit.Category("Tone"), qakit.Category("Solution")])
    with pytest.raises(DataValidationError, match=r"rating") as e:
        qakit.category_scores(path, binary, engine="duckdb")
    assert "3" in str(e.value) and "r1" in str(e.value)
    assert built == [1, 1]  # (another card: checked, not taken for the first card's pass)


def test_engine_scores_unsorted_are_the_same_reviews_and_record(tmp_path):
    """``score_reviews(sort=False)`` on DuckDB (the report orders the reviews itself): the same rows
    as the sorted result, and the same record, the reviews left out listed in review-id order. By
    hand: r3 Tone 1, Solution 0 -> 50 %; r1 both 1 -> 100 %; r4 and r2 all N/A -> not scored."""
    r = pd.DataFrame({"review_id": ["r3", "r3", "r4", "r4", "r1", "r1", "r2", "r2"],
                      "conversation_id": ["c3", "c3", "c4", "c4", "c1", "c1", "c2", "c2"],
                      "agent_id": "a", "reviewer_id": "q", "reviewed_at": pd.Timestamp("2026-11-02", tz="UTC"),
                      "category": ["Tone", "Solution"] * 4, "rating": [1.0, 0, None, None, 1, 1, None, None]})
    r.to_parquet(tmp_path / "r.parquet", index=False)
    card = qakit.Scorecard([qakit.Category("Tone"), qakit.Category("Solution")])
    path = str(tmp_path / "r.parquet")
    a = qakit.score_reviews(path, card, engine="duckdb")
    b = qakit.score_reviews(path, card, engine="duckdb", sort=False)
    assert a["review_id"].tolist() == ["r1", "r2", "r3", "r4"]
    assert a["iqs"].tolist()[0] == 100.0 and a["iqs"].tolist()[2] == 50.0 and a["iqs"].isna().tolist()[1::2] == [True] * 2
    pd.testing.assert_frame_equal(b.sort_values("review_id").reset_index(drop=True), a)
    ex = qakit.exclusions(b)
    assert ex["row_ids"].tolist() == [("r2", "r4")]
    pd.testing.assert_frame_equal(ex, qakit.exclusions(a))
