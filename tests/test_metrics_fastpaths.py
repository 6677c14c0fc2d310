"""The in-memory fast paths of the metric definitions (issue 23) give the definitions' numbers:
order statistics selected with ``np.partition`` (pandas, Polars), epoch microseconds from a pandas
timestamp's integer storage, the FCR repeat window's "next conversation" from numpy sorts."""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd
import pytest

import qakit
from qakit.metrics import _groups as G
from qakit.metrics import _source as B


def _conv(hours, channel="chat", created="2026-01-05 09:00", seconds=None):
    n = len(hours) if seconds is None else len(seconds)
    delay = (pd.to_timedelta(np.asarray(hours, float), unit="h") if seconds is None
             else pd.to_timedelta(np.asarray(seconds, np.int64), unit="s"))
    created = pd.Timestamp(created, tz="UTC")
    return pd.DataFrame({
        "conversation_id": [f"c{i:03d}" for i in range(n)], "customer_id": [f"u{i}" for i in range(n)],
        "agent_id": "a", "channel": channel, "priority": "normal", "status": "solved",
        "created_at": created, "first_response_at": created + delay,
        "resolved_at": created + pd.Timedelta(days=1)})


@pytest.mark.parametrize("engine", ["pandas", "polars", "duckdb"])
def test_median_p90_interval_by_hand(engine):
    """Response times 1..10 h: median 5.5; p90 with numpy's linear rule h = 9 * 0.9 = 8.1 ->
    x(9) + 0.1 (x(10) - x(9)) = 9.1 (1-based); the median's interval (Conover, z = 1.96):
    l = floor(10/2 - 1.96 sqrt(10)/2) = floor(1.90) = 1 -> 1 h, u = ceil(1 + 5 + 3.10) = 10 -> 10 h.
    DuckDB runs the ranked path, pandas and Polars the partition path."""
    conv = _conv(np.arange(10, 0, -1))  # (given in reverse order)
    r = qakit.first_response_time(conv, engine=engine).iloc[0]
    assert r["n"] == 10
    assert r["first_response_time"] == pytest.approx(5.5, abs=1e-12)
    assert r["first_response_time_p90"] == pytest.approx(9.1, abs=1e-12)
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx(1.0, abs=1e-12), pytest.approx(10.0, abs=1e-12))


def test_many_groups_take_the_sort_path_and_agree_with_numpy():
    """More groups than the partition loop takes (100 > 64): each group's median and p90 equal
    ``np.quantile`` (linear) of its own values, and the same as on DuckDB (ranked path)."""
    rng = np.random.default_rng(5)
    parts = [_conv(None, channel=f"ch{g:03d}", seconds=rng.integers(60, 40_000, 20 + g)) for g in range(100)]
    conv = pd.concat(parts, ignore_index=True)
    conv["conversation_id"] = [f"c{i:05d}" for i in range(len(conv))]
    got = qakit.first_response_time(conv, by="channel", min_n=0)
    duck = qakit.first_response_time(conv, by="channel", min_n=0, engine="duckdb")
    assert len(got) == 100 and G._PARTITION_GROUPS < 100
    for g, part in enumerate(parts):
        h = (part["first_response_at"] - part["created_at"]).dt.total_seconds().to_numpy() / 3600
        row = got.iloc[g]
        assert row["first_response_time"] == pytest.approx(np.quantile(h, 0.5), abs=1e-12)
        assert row["first_response_time_p90"] == pytest.approx(np.quantile(h, 0.9), abs=1e-12)
    cols = ["n", "first_response_time", "ci_low", "ci_high", "first_response_time_p90"]
    np.testing.assert_allclose(got[cols].to_numpy(float), duck[cols].to_numpy(float), rtol=0, atol=1e-9)


def test_epoch_microseconds_on_pandas_by_hand():
    """Nanosecond timestamps: -500 ns is 0 whole microseconds (truncated toward zero, as a
    duration's total is), +1500 ns is 1, 2026-01-01 is 1,767,225,600 s = 1767225600000000 us; a
    missing timestamp stays missing (float NaN, as narwhals gives)."""
    ts = pd.Series(pd.to_datetime(["1969-12-31 23:59:59.9999995", "1970-01-01 00:00:00.0000015",
                                   "2026-01-01 00:00:00.000000000", None], utc=True)).astype("datetime64[ns, UTC]")
    lf = nw.from_native(pd.DataFrame({"t": ts})).lazy()
    got = nw.to_native(B.with_epoch_us(lf, "pandas", {"us": "t"}))["us"].to_numpy()
    np.testing.assert_array_equal(got[:3], [0.0, 1.0, 1767225600000000.0])
    assert np.isnan(got[3])
    clean = nw.from_native(pd.DataFrame({"t": ts[1:3].astype("datetime64[us, UTC]")})).lazy()  # (1500 ns -> 1 us)
    got = nw.to_native(B.with_epoch_us(clean, "pandas", {"us": "t"}))["us"]
    assert got.dtype == np.int64 and got.tolist() == [1, 1767225600000000]


@pytest.mark.parametrize("engine", ["pandas", "polars", "duckdb"])
def test_fcr_repeat_ties_ordered_by_conversation_id(engine):
    """Customer u1 opens 'b' (email) and 'a' (chat) at the same instant and 'c' 30 days later;
    repeat window 7 days. Ordered by (created_at, conversation_id): a -> b is a repeat (gap 0), so
    a is not resolved at first contact; b -> c is 30 days: b is; c has no next: c is. By channel:
    chat 0/1, email 2/2 (b, c). The ids are a categorical whose categories are NOT in text order
    (['b', 'c', 'a']): the text decides, not the codes."""
    t0 = pd.Timestamp("2026-01-05 09:00", tz="UTC")
    conv = pd.DataFrame({
        "conversation_id": pd.Categorical(["b", "a", "c"], categories=["b", "c", "a"]),
        "customer_id": "u1", "agent_id": "x", "channel": ["email", "chat", "email"], "priority": "normal",
        "status": "solved", "created_at": [t0, t0, t0 + pd.Timedelta(days=30)],
        "first_response_at": t0 + pd.Timedelta(hours=1), "resolved_at": t0 + pd.Timedelta(days=31)})
    if engine == "polars":
        import polars as pl

        data = pl.from_pandas(conv.assign(conversation_id=conv["conversation_id"].astype(str)))
    else:
        data = conv
    r = qakit.fcr_rate(data, by="channel", as_of="2026-03-31", min_n=0,
                       engine=None if engine == "polars" else engine).set_index("channel")
    assert (r.loc["chat", "n"], r.loc["chat", "fcr_rate"]) == (1, 0.0)
    assert (r.loc["email", "n"], r.loc["email", "fcr_rate"]) == (2, 1.0)


def test_polars_few_groups_with_a_missing_key_equal_the_other_engines():
    """Polars with few groups splits the values on Polars (``partition_by``): two grouping
    columns, one group with a missing team (an optional column); the medians, p90 and intervals equal pandas' and
    DuckDB's, and each group's median equals ``np.median`` of its own values (whole seconds)."""
    import polars as pl

    rng = np.random.default_rng(11)
    parts = []
    for j, team in enumerate(["north", "south", None]):
        for pr in ("high", "low"):
            p = _conv(None, seconds=rng.integers(60, 40_000, 30 + 7 * j))
            parts.append(p.assign(team=team, priority=pr))
    conv = pd.concat(parts, ignore_index=True)
    conv["conversation_id"] = [f"c{i:05d}" for i in range(len(conv))]
    cols = ["n", "first_response_time", "ci_low", "ci_high", "first_response_time_p90"]
    kw = dict(by=["team", "priority"], min_n=0)
    pan = qakit.first_response_time(conv, **kw)
    pol = qakit.first_response_time(pl.from_pandas(conv), **kw)
    duck = qakit.first_response_time(conv, engine="duckdb", **kw)
    assert len(pan) == 6 and pan["team"].isna().sum() == 2
    for other in (pol, duck):
        assert other["team"].isna().sum() == 2
        np.testing.assert_allclose(other[cols].to_numpy(float), pan[cols].to_numpy(float), rtol=0, atol=1e-9)
    first = parts[0]
    h = (first["first_response_at"] - first["created_at"]).dt.total_seconds().to_numpy() / 3600
    assert pol.iloc[0]["first_response_time"] == pytest.approx(np.median(h), abs=1e-12)


# --- issue 23, point 1: the pandas group-by, the itemised ids -----------------------------------------
def _general_aggregate(df, keys, aggs):
    """What :func:`G.aggregate` computed before its pandas path: narwhals' group-by of the keys."""
    cols = {f"__in{i}": e.cast(nw.Int64) if fn == "ntrue" else e for i, (n, (fn, e)) in enumerate(aggs.items())
            if fn != "len"}
    exprs = [nw.len().alias(n) if fn == "len"
             else getattr(nw.col(f"__in{i}"), "sum" if fn == "ntrue" else fn)().alias(n)
             for i, (n, (fn, e)) in enumerate(aggs.items())]
    lf = nw.from_native(df).lazy().with_columns(**cols)
    return G.sort_groups(B.collect(lf.group_by(*keys, drop_null_keys=False).agg(*exprs)), keys)


def test_pandas_group_by_by_hand_and_bit_for_bit_the_general_one():
    """Keys (channel: categorical with a missing value and an unused category; a text key with
    a missing value): groups chat/x = rows 0, 3 (flags 1, 0; values 1.0, 4.0), chat/y = row 1,
    email/x = row 2, <missing>/x = row 4. By hand: n_true 1, 0, 0, 1; len 2, 1, 1, 1; mean of
    chat/x (1 + 4) / 2 = 2.5, its sd sqrt(((1-2.5)^2 + (4-2.5)^2) / 1) = 2.1213...; then the
    same frame of every column, bit for bit, as the group-by of the keys on random data."""
    df = pd.DataFrame({"channel": pd.Categorical(["chat", "chat", "email", "chat", None],
                                                 categories=["phone", "email", "chat"]),
                       "team": pd.Series(["x", "y", "x", "x", "x"], dtype="str"),
                       "flag": [True, False, False, False, True], "v": [1.0, 2.0, 3.0, 4.0, np.nan]})
    aggs = {"__n": G.n_true(nw.col("flag")), "__rows": G.n_rows(), "__mean": G.agg("mean", nw.col("v")),
            "__sd": G.agg("std", nw.col("v")), "__c": G.agg("count", nw.col("v"))}
    got = G.aggregate(nw.from_native(df).lazy(), ["channel", "team"], aggs)
    assert got["channel"].tolist()[:3] == ["chat", "chat", "email"] and pd.isna(got["channel"].iloc[3])
    assert got["team"].tolist() == ["x", "y", "x", "x"]
    assert got["__n"].tolist() == [1, 0, 0, 1] and got["__rows"].tolist() == [2, 1, 1, 1]
    assert got["__mean"].iloc[0] == 2.5 and got["__sd"].iloc[0] == pytest.approx(np.sqrt(4.5), abs=1e-15)
    assert got["__c"].tolist() == [2, 1, 1, 0]
    pd.testing.assert_frame_equal(got, _general_aggregate(df, ["channel", "team"], aggs), check_exact=True)
    rng = np.random.default_rng(3)
    n = 20_000
    big = pd.DataFrame({"a": pd.Categorical(rng.choice(["p", "q", "r", None], n)),
                        "b": rng.integers(0, 40, n), "x": rng.lognormal(0, 2, n), "k": rng.integers(0, 2, n)})
    big.loc[rng.random(n) < 0.1, "x"] = np.nan
    aggs = {"__k": G.agg("sum", nw.col("k")), "__rows": G.n_rows(), "__mean": G.agg("mean", nw.col("x")),
            "__sd": G.agg("std", nw.col("x")), "__min": G.agg("min", nw.col("x")), "__max": G.agg("max", nw.col("x"))}
    for keys in (["a"], ["a", "b"], ["b"]):
        pd.testing.assert_frame_equal(G.aggregate(nw.from_native(big).lazy(), keys, aggs),
                                      _general_aggregate(big, keys, aggs), check_exact=True)


def test_group_ids_and_first_rows_when_a_group_starts_late():
    """A group whose first row lies beyond the scanned head (row 100,000 of 100,001) is still
    found by the scatter over all rows; a key space far larger than the table is numbered by
    ``np.unique`` (two keys of 100,001 distinct values each)."""
    n = 100_001
    df = pd.DataFrame({"g": pd.Categorical(["a"] * (n - 1) + ["b"]), "u": np.arange(n), "w": np.arange(n)[::-1]})
    gid, present = G.group_ids(df, ["g"])
    assert len(present) == 2 and G._first_rows(gid, present).tolist() == [0, n - 1]
    gid, present = G.group_ids(df, ["u", "w"])
    assert len(present) == n and present.tolist() == list(range(n))
    assert G._first_rows(gid, present)[:3].tolist() == [0, 1, 2]


@pytest.mark.parametrize("engine", ["pandas", "polars"])
def test_itemised_ids_sorted_by_code_point_with_missing_ones(engine):
    """Excluded ids listed sorted as Python sorts text (code points: 'B' < 'a' < 'b' < 'é'),
    whatever the row order; the record holds them as given."""
    conv = _conv([1, 2, 3, 4, 5])
    conv["conversation_id"] = ["é9", "b2", "B7", "a1", "zz"]
    conv.loc[[0, 1, 2, 3], "first_response_at"] = pd.NaT
    r = qakit.first_response_time(conv, engine=engine)
    ex = qakit.schema.exclusions(r)
    assert ex.loc[0, "reason"] == "no first response yet"
    assert list(ex.loc[0, "row_ids"]) == ["B7", "a1", "b2", "é9"] == sorted(["é9", "b2", "B7", "a1"])


def test_records_keep_text_ids_and_convert_others():
    """Text ids are stored as they are; other values through text, a missing one '<missing>'."""
    from qakit import records as R

    assert R._as_ids(["b", "a"]) == ("b", "a")
    assert R._as_ids(["a", None, 3]) == ("a", "<missing>", "3")
    assert R._as_ids(np.array([1, 2])) == ("1", "2")


def test_pandas_labels_from_categorical_codes_and_sla_targets_read_through_them():
    """A categorical priority with an unused category ('Low') and a missing value: its distinct
    values are the used categories only; SLA targets mapped through the codes give urgent 1 h,
    high 4 h, missing and unmatched ('weird') NaN -- as the CASE expression on the text column."""
    from qakit.metrics import _contract as C

    df = pd.DataFrame({"priority": pd.Categorical(["high", None, "urgent", "weird", "high"],
                                                  categories=["Low", "high", "urgent", "weird"])})
    conv = _conv([1, 2, 3, 4, 5]).assign(priority=df["priority"].fillna("urgent"))  # (required: none missing)
    conv["priority"] = conv["priority"].cat.set_categories(["Low", "high", "urgent", "weird"])
    t = C.validated(conv, "conversations", reads=("conversation_id", "priority", "created_at"))
    G.known_labels(t, "priority")
    assert t.cache[("distinct", "priority")] == ["high", "urgent", "weird"]
    hours = {"urgent": 1.0, "high": 4.0}
    fast = nw.to_native(G.with_label_values(nw.from_native(df).lazy(), "priority", hours, "__tgt"))["__tgt"]
    text = nw.from_native(df.assign(priority=df["priority"].astype("str"))).lazy()
    general = nw.to_native(G.with_label_values(text, "priority", hours, "__tgt"))["__tgt"]
    np.testing.assert_array_equal(fast.to_numpy(), [4.0, np.nan, 1.0, np.nan, 4.0])
    np.testing.assert_array_equal(general.to_numpy(dtype=float, na_value=np.nan), fast.to_numpy())


def test_pandas_extremes_skip_missing_timestamps():
    """First and last timestamps of each column, NaT ignored (resolved_at: 2 of 3 missing)."""
    from qakit.metrics import _contract as C

    conv = _conv([1, 2, 3])
    conv["created_at"] = pd.to_datetime(["2026-01-03 00:00", "2026-01-01 08:00", "2026-01-02 00:00"], utc=True)
    conv["first_response_at"] = conv["created_at"] + pd.Timedelta(hours=1)
    conv["resolved_at"] = [pd.NaT, pd.Timestamp("2026-01-05 10:00", tz="UTC"), pd.NaT]
    t = C.validated(conv, "conversations", reads=("conversation_id", "created_at", "first_response_at", "resolved_at"))
    lo, hi = G.extremes(t, ["created_at", "first_response_at", "resolved_at"], "created_at")
    assert lo == pd.Timestamp("2026-01-01 08:00", tz="UTC") and hi == pd.Timestamp("2026-01-05 10:00", tz="UTC")
    assert t.cache["extremes"]["resolved_at"] == (pd.Timestamp("2026-01-05 10:00", tz="UTC"),) * 2


@pytest.mark.parametrize("n_groups", [3, 100])
def test_order_statistics_leave_out_rows_without_a_value(n_groups):
    """Rows without a first response (every 7th) are left out of each group's median and p90 --
    on the partition path (3 groups) and the sort path (100 > 64 groups) alike: each group's
    numbers equal ``np.quantile`` of its own answered rows."""
    rng = np.random.default_rng(11)
    parts = [_conv(None, channel=f"ch{g:03d}", seconds=rng.integers(60, 40_000, 30 + g)) for g in range(n_groups)]
    conv = pd.concat(parts, ignore_index=True)
    conv["conversation_id"] = [f"c{i:05d}" for i in range(len(conv))]
    conv.loc[conv.index % 7 == 3, "first_response_at"] = pd.NaT
    got = qakit.first_response_time(conv, by="channel", min_n=0)
    for g in range(n_groups):
        part = conv[conv["channel"] == f"ch{g:03d}"]
        h = ((part["first_response_at"] - part["created_at"]).dt.total_seconds() / 3600).dropna().to_numpy()
        row = got.iloc[g]
        assert row["n"] == len(h)
        assert row["first_response_time"] == pytest.approx(np.quantile(h, 0.5), abs=1e-12)
        assert row["first_response_time_p90"] == pytest.approx(np.quantile(h, 0.9), abs=1e-12)
