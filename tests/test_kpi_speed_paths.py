"""The faster paths of the customer KPIs (issue 23, task k24) give the numbers, records and
refusals of the general ones: the time KPIs on a pandas table from numpy (durations, exclusion
flags, ids itemised from boolean arrays), the uniqueness of a two-column key of categoricals on a
Polars frame counted on their codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import qakit
from qakit.errors import DataValidationError
from qakit.metrics import _groups as G

pl = pytest.importorskip("polars")


def _times():
    """Six chat conversations created 2026-01-05 09:00 UTC and one email one. Chat first responses
    after 1, 2, 3, 4 h; c4 answered 1 h BEFORE it was created; c5 never answered. Resolutions
    after 5 h, except c1 resolved at 1.5 h (before its first response at 2 h: flagged, kept) and
    c3 still open. Email e1: first response after 3000 h (over max_hours=2160), resolved at 10 h."""
    t0 = pd.Timestamp("2026-01-05 09:00", tz="UTC")
    h = lambda x: t0 + pd.Timedelta(hours=x) if x is not None else pd.NaT  # noqa: E731
    fr = [1, 2, 3, 4, -1, None, 3000]
    res = [5, 1.5, 5, None, 5, 5, 10]
    return pd.DataFrame({
        "conversation_id": ["c0", "c1", "c2", "c3", "c4", "c5", "e1"],
        "customer_id": ["u0", "u1", "u2", "u3", "u4", "u5", "u6"],
        "channel": ["chat"] * 6 + ["email"],
        "created_at": [t0] * 7,
        "first_response_at": pd.Series([h(x) for x in fr], dtype="datetime64[us, UTC]"),
        "resolved_at": pd.Series([h(x) for x in res], dtype="datetime64[us, UTC]")})


def _records(res):
    ex = qakit.schema.exclusions(res)
    return {r: list(ids) for r, ids in zip(ex["reason"], ex["row_ids"])}


@pytest.mark.parametrize("categorical", [False, True])
def test_first_response_by_hand_on_pandas_equals_polars(categorical):
    """Chat: usable durations 1, 2, 3, 4 h (c4 negative, c5 no response): n = 4, median
    (2 + 3) / 2 = 2.5, mean 2.5, p90 at h = 3 * 0.9 = 2.7 -> 3 + 0.7 * (4 - 3) = 3.7, no interval
    below 6 values; n_excluded 2. Email: 3000 h > max_hours: n = 0, NaN. The same numbers and
    records from the Polars frame (the expression path)."""
    conv = _times()
    if categorical:
        conv = conv.astype({"conversation_id": "category", "channel": "category"})
    got = qakit.first_response_time(conv, by="channel", min_n=0)
    chat = got.iloc[0]
    assert (chat["channel"], chat["n"], chat["n_excluded"]) == ("chat", 4, 2)
    assert chat["first_response_time"] == pytest.approx(2.5, abs=1e-12)
    assert chat["first_response_time_mean"] == pytest.approx(2.5, abs=1e-12)
    assert chat["first_response_time_p90"] == pytest.approx(3.7, abs=1e-12)
    assert np.isnan(chat["ci_low"]) and np.isnan(chat["ci_high"])
    email = got.iloc[1]
    assert (email["n"], email["n_excluded"]) == (0, 1) and np.isnan(email["first_response_time"])
    assert _records(got) == {"no first response yet": ["c5"],
                             "first response: first_response_at before created_at": ["c4"],
                             "first response: longer than max_hours=2160": ["e1"]}
    ref = qakit.first_response_time(pl.from_pandas(_times()), by="channel", min_n=0)
    cols = ["n", "n_excluded", "first_response_time", "first_response_time_mean", "first_response_time_p90"]
    np.testing.assert_allclose(got[cols].to_numpy(float), ref[cols].to_numpy(float), rtol=0, atol=1e-12)
    assert _records(ref) == _records(got)
    assert list(got.columns) == list(ref.columns)


def test_resolution_flags_kept_rows_resolved_before_the_first_response():
    """Chat resolutions 5, 1.5, 5, open, 5, 5 h: n = 5, median 5, mean (5 * 4 + 1.5) / 5 = 4.3;
    c3 open (excluded); c1 resolved at 1.5 h before its first response at 2 h: kept and flagged,
    and so is e1 (resolved at 10 h, answered at 3000 h); c4 (first response before creation,
    resolved after it) is not flagged. Email: 10 h, n 1.
    The same from the Polars frame and with a period."""
    got = qakit.resolution_time(_times(), by="channel", min_n=0)
    chat = got.iloc[0]
    assert (chat["n"], chat["n_excluded"]) == (5, 1)
    assert chat["resolution_time"] == pytest.approx(5.0, abs=1e-12)
    assert chat["resolution_time_mean"] == pytest.approx(4.3, abs=1e-12)
    assert got.iloc[1]["resolution_time"] == pytest.approx(10.0, abs=1e-12)
    assert _records(got) == {"open: not resolved yet": ["c3"],
                             "flagged (kept): resolved before the first response": ["c1", "e1"]}
    for kw in ({}, {"period": "W"}):
        a = qakit.resolution_time(_times(), by="channel", min_n=0, **kw)
        b = qakit.resolution_time(pl.from_pandas(_times()), by="channel", min_n=0, **kw)
        pd.testing.assert_frame_equal(a.drop(columns=["channel"]), b.drop(columns=["channel"]), check_dtype=False)
        assert _records(a) == _records(b)


def test_itemise_masks_sorts_ids_and_names_missing_ones():
    """Ids listed per reason, sorted by code point ('B' < 'a' < 'é'); a missing id '<missing>';
    a row may be under two reasons; a reason without rows is not recorded."""
    res = pd.DataFrame({"n": [1]})
    ids = pd.Series(["é9", None, "B7", "a1"], dtype="str")
    first = np.array([True, True, False, True])
    second = np.array([False, False, True, True])
    never = np.zeros(4, dtype=bool)
    G.itemise_masks(res, ids, [(first, "one", "x"), (second, "two", "x"), (never, "none", "x")])
    assert _records(res) == {"one": ["<missing>", "a1", "é9"], "two": ["B7", "a1"]}


def _surveys_cat():
    sv = pd.DataFrame({"conversation_id": ["c1", "c1", "c2", "c3", "c3"],
                       "kind": ["csat", "nps", "csat", "csat", "csat"],
                       "score": [5.0, 9.0, 4.0, 2.0, 3.0]})
    return pl.from_pandas(sv).with_columns(pl.col("conversation_id").cast(pl.Categorical),
                                           pl.col("kind").cast(pl.Categorical))


def test_polars_categorical_key_duplicates_refused_as_on_pandas():
    """(c3, csat) twice: the same one error on the Polars frame of categoricals (its key counted on
    the codes) as on pandas, naming the key and the rows; (c1, csat) and (c1, nps) differ."""
    sv = _surveys_cat()
    with pytest.raises(DataValidationError) as on_pl:
        qakit.csat_score(sv)
    with pytest.raises(DataValidationError) as on_pd:
        qakit.csat_score(sv.to_pandas())
    for e in (on_pl, on_pd):
        assert "duplicate key (conversation_id, kind)" in str(e.value)
        assert "c3 / csat" in str(e.value) and "['c3', 'c3']" in str(e.value)
    assert on_pl.value.failures[["column", "check", "n_failed"]].equals(
        on_pd.value.failures[["column", "check", "n_failed"]])


def test_polars_categorical_key_without_duplicates_gives_the_numbers():
    """Without the second (c3, csat): CSAT answers 5, 4, 2 -> 2 of 3 satisfied (>= 4): 66.67 %,
    mean 11 / 3; the same as pandas."""
    sv = _surveys_cat().head(4)
    got = qakit.csat_score(sv, min_n=0)
    assert got.loc[0, "n"] == 3
    assert got.loc[0, "csat"] == pytest.approx(200 / 3, abs=1e-12)
    assert got.loc[0, "csat_mean"] == pytest.approx(11 / 3, abs=1e-12)
    ref = qakit.csat_score(sv.to_pandas(), min_n=0)
    assert got[["n", "csat", "csat_mean"]].equals(ref[["n", "csat", "csat_mean"]])


def _backlog_conv():
    """Five conversations: a (chat) created Mon 2026-01-05, resolved Wed 2026-01-14; b (chat)
    created Tue 01-06, open; c (email) created 01-13 and resolved the same day; d (email) created
    01-20, resolved 01-19 (before it was created: left out); e (chat) created 2026-02-02, resolved
    02-03."""
    ts = lambda v: pd.Series(pd.to_datetime(v, utc=True, format="ISO8601"), dtype="datetime64[us, UTC]")  # noqa: E731
    return pd.DataFrame({"conversation_id": list("abcde"), "channel": ["chat", "chat", "email", "email", "chat"],
                         "created_at": ts(["2026-01-05 10:00", "2026-01-06", "2026-01-13", "2026-01-20", "2026-02-02"]),
                         "resolved_at": ts(["2026-01-14", None, "2026-01-13 05:00", "2026-01-19", "2026-02-03"])})


def test_backlog_by_hand_on_pandas_equals_polars():
    """Weeks from Monday 01-05, 01-12, 01-19, 01-26, 02-02: opened 2, 1, 0, 0, 1 (d left out);
    closed 0, 2 (a, c), 0, 0, 1 (e); backlog = cumsum(opened) - cumsum(closed) = 2, 1, 1, 1, 1 (b
    stays open). By channel, chat: opened 2, 0, 0, 0, 1, closed 0, 1, 0, 0, 1 -> 2, 1, 1, 1, 1;
    email: opened 0, 1, 0, 0, 0, closed 0, 1, ... -> 0 everywhere. Months: January opened 3,
    closed 2 -> 1; February opened 1, closed 1 -> 1. The same numbers and record on Polars."""
    conv = _backlog_conv()
    w = qakit.backlog(conv, period="W")
    assert w["period"].dt.strftime("%m-%d").tolist() == ["01-05", "01-12", "01-19", "01-26", "02-02"]
    assert (w["opened"].tolist(), w["closed"].tolist(), w["backlog"].tolist()) == (
        [2, 1, 0, 0, 1], [0, 2, 0, 0, 1], [2, 1, 1, 1, 1])
    assert _records(w) == {"resolved_at before created_at: neither opened nor closed (it would make the backlog "
                           "negative)": ["d"]}
    by = qakit.backlog(conv, period="W", by="channel")
    chat, email = by[by["channel"] == "chat"], by[by["channel"] == "email"]
    assert chat["backlog"].tolist() == [2, 1, 1, 1, 1] and email["backlog"].tolist() == [0] * 5
    assert email["opened"].tolist() == [0, 1, 0, 0, 0]
    m = qakit.backlog(conv, period="M")
    assert (m["opened"].tolist(), m["closed"].tolist(), m["backlog"].tolist()) == ([3, 1], [2, 1], [1, 1])
    for kw in ({"period": "D"}, {"period": "W", "by": "channel"}, {"period": "M"}, {"period": "Q", "by": "channel"},
               {"period": "Y"}):
        a, b = qakit.backlog(conv, **kw), qakit.backlog(pl.from_pandas(conv), **kw)
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
        assert _records(a) == _records(b)


def test_backlog_with_every_row_left_out_is_refused_on_pandas_and_polars():
    """Only d (resolved before it was created): nothing left, one error naming the row."""
    conv = _backlog_conv().iloc[[3]]
    for data in (conv, pl.from_pandas(conv)):
        with pytest.raises(qakit.errors.ParameterError, match=r"no conversation left .*\['d'\]"):
            qakit.backlog(data)


@pytest.mark.parametrize("categorical", [False, True])
def test_survey_answers_of_a_kind_from_categorical_codes(categorical):
    """NPS answers 10, 9, 6, missing and a CES answer 6: n = 3 (the missing one itemised),
    promoters 2, detractors 1 -> NPS 100 (2 - 1) / 3 = 33.33; CSAT has no answer: n = 0, NaN. The
    CES answer 6 is off a 1-5 scale: refused naming the value and the row (text or categorical)."""
    sv = pd.DataFrame({"conversation_id": ["c1", "c2", "c3", "c4", "c5"],
                       "kind": ["nps", "nps", "nps", "nps", "ces"], "score": [10.0, 9.0, 6.0, np.nan, 6.0]})
    if categorical:
        sv = sv.astype({"kind": pd.CategoricalDtype(["ces", "csat", "nps"])})
    got = qakit.nps_score(sv, min_n=0)
    assert (got.loc[0, "n"], got.loc[0, "nps"]) == (3, pytest.approx(100 / 3, abs=1e-12))
    assert _records(got) == {"survey answer without a score": ["c4"]}
    empty = qakit.csat_score(sv, min_n=0)
    assert len(empty) == 1 and empty.loc[0, "n"] == 0 and np.isnan(empty.loc[0, "csat"])
    assert qakit.ces_score(sv, scale=(1, 7), min_n=0).loc[0, "ces"] == pytest.approx(6.0, abs=1e-12)
    with pytest.raises(DataValidationError, match=r"ces score outside the scale 1..5.*values \[6\]; row ids \['c5'\]"):
        qakit.ces_score(sv, scale=(1, 5))


@pytest.mark.parametrize("denominator", ["offered", "answered"])
def test_service_level_by_hand_on_pandas_equals_polars(denominator):
    """Queue q1: answered in 10, 20, 30 s, two not answered, one answered without a speed (left
    out, itemised). Offered: 2 of 5 within 20 s = 0.4; answered: 2 of 3 = 0.6667. Queue q2: one
    call answered in 5 s -> 1.0. The same on Polars."""
    calls = pd.DataFrame({"call_id": ["k1", "k2", "k3", "k4", "k5", "k6", "k7"],
                          "queue": ["q1"] * 6 + ["q2"],
                          "answered": [True, True, True, False, True, False, True],
                          "speed_of_answer_s": [10.0, 20.0, 30.0, np.nan, np.nan, np.nan, 5.0]})
    got = qakit.service_level(calls, by="queue", denominator=denominator, min_n=0)
    want = 0.4 if denominator == "offered" else 2 / 3
    assert got["n"].tolist() == ([5, 1] if denominator == "offered" else [3, 1])
    assert got.loc[0, "service_level"] == pytest.approx(want, abs=1e-12)
    assert got.loc[1, "service_level"] == pytest.approx(1.0, abs=1e-12)
    assert _records(got) == {"answered call without speed of answer": ["k5"]}
    ref = qakit.service_level(pl.from_pandas(calls), by="queue", denominator=denominator, min_n=0)
    cols = ["n", "service_level", "ci_low", "ci_high", "n_excluded"]
    np.testing.assert_allclose(got[cols].to_numpy(float), ref[cols].to_numpy(float), rtol=0, atol=1e-12)
    assert _records(ref) == _records(got)


def _fused_case():
    """Channels: chat 1, 2, 3, 4, 10 h and one row without a value (NaN, not used); email 5 h;
    sms only a row without a value; and one row with no channel (missing key) at 7 h."""
    df = pd.DataFrame({"channel": pd.Categorical(["chat", "chat", "email", "chat", "sms", "chat", "chat", None, "chat"],
                                                 categories=["chat", "email", "sms", "voice"])})
    h = np.array([1.0, 2.0, 5.0, np.nan, np.nan, 3.0, 4.0, 7.0, 10.0])
    return df, h, ~np.isnan(h)


def test_fused_moments_and_order_statistics_by_hand():
    """chat 1, 2, 3, 4, 10 (n = 5, 6 rows): mean 20 / 5 = 4, sd sqrt((9 + 4 + 1 + 0 + 36) / 4) =
    sqrt(12.5); ranks needed for n = 5: median h = 2 -> ranks 3, 4; p90 h = 3.6 -> ranks 4, 5.
    email 5 (n = 1): sd missing; sms: no value (n = 0, 1 row, mean and sd missing, no ranks);
    the missing channel last (n = 1, 7); voice has no rows: no group."""
    df, h, use = _fused_case()
    res, picked = G.moments_with_order_stats_local(df, ["channel"], h.copy(), use, 1.959963984540054)
    assert res["channel"].tolist()[:3] == ["chat", "email", "sms"] and pd.isna(res["channel"].iloc[3])
    assert res["__n"].tolist() == [5, 1, 0, 1] and res["__rows"].tolist() == [6, 1, 1, 1]
    assert res["__mean"].iloc[0] == pytest.approx(4.0, abs=1e-12)
    assert res["__sd"].iloc[0] == pytest.approx(np.sqrt(12.5), abs=1e-12)
    assert res["__mean"].iloc[1] == 5.0 and np.isnan(res["__sd"].iloc[1])
    assert np.isnan(res["__mean"].iloc[2]) and np.isnan(res["__sd"].iloc[2])
    chat = picked[picked["channel"].eq("chat")]
    assert dict(zip(chat["__r"], chat["__h"])) == {3: 3.0, 4: 4.0, 5: 10.0}
    assert set(chat["__n"]) == {5}
    assert picked[picked["channel"].eq("email")][["__r", "__n", "__h"]].values.tolist() == [[1, 1, 5.0]]
    assert not picked["channel"].eq("sms").any()


def test_fused_path_equals_the_general_path_on_many_values():
    """Against the general path (pandas' group-by for the moments, the sorted-per-group order
    statistics): 30,000 log-normal hours over 3 channels, 2 % without a value, by channel and
    without keys (1e-9 relative; the moments are summed in another order)."""
    rng = np.random.default_rng(7)
    n = 30_000
    df = pd.DataFrame({"channel": pd.Categorical(rng.choice(["chat", "email", "voice"], n))})
    h = rng.lognormal(1.0, 1.2, n)
    h[rng.random(n) < 0.02] = np.nan
    use = ~np.isnan(h)
    z = 1.959963984540054
    for keys in (["channel"], []):
        res, picked = G.moments_with_order_stats_local(df, keys, h.copy(), use, z)
        lf = __import__("narwhals").from_native(df[keys].assign(__use=use, __h=h)).lazy()
        nwc = __import__("narwhals").col
        ref = G.aggregate(lf, keys, {"__n": G.n_true(nwc("__use")), "__rows": G.n_rows(),
                                     "__mean": G.agg("mean", nwc("__h")), "__sd": G.agg("std", nwc("__h"))})
        for c in ("__n", "__rows"):
            assert res[c].tolist() == ref[c].astype(int).tolist()
        np.testing.assert_allclose(res["__mean"], ref["__mean"], rtol=1e-9)
        np.testing.assert_allclose(res["__sd"], ref["__sd"], rtol=1e-9)
        ref_p = G.order_stats(lf, "__h", keys, z, ref["__n"].astype(int).tolist())
        sort = [*keys, "__r"]
        a = picked.sort_values(sort).reset_index(drop=True)
        b = ref_p.sort_values(sort).reset_index(drop=True)
        assert a["__r"].tolist() == b["__r"].tolist() and a["__n"].tolist() == b["__n"].tolist()
        assert a["__h"].tolist() == b["__h"].tolist()  # (order statistics: the values themselves)
        # and the median and p90 from them against numpy's own, group by group
        from qakit.metrics import _finish as F
        q = F.quantiles(picked, keys, "__h", 0.95)
        groups = ([(None, h[use])] if not keys else
                  [(k, h[use & df["channel"].eq(k).to_numpy()]) for k in ("chat", "email", "voice")])
        for key, g in groups:
            row = q.iloc[0] if key is None else q[q["channel"].eq(key)].iloc[0]
            assert row["__med"] == pytest.approx(np.median(g), rel=1e-12)
            assert row["__p90"] == pytest.approx(np.quantile(g, 0.9), rel=1e-12)


def test_fused_path_steps_aside_beyond_16_bit_groups_and_for_empty_tables():
    """Group numbers beyond 16 bits (70,000 agents, each its own group): None, the general path's
    sort then; no rows: None (the general path gives its one empty row)."""
    n = 70_000
    df = pd.DataFrame({"agent_id": pd.Categorical([f"a{i}" for i in range(n)])})
    h = np.arange(n, dtype=float)
    assert G.moments_with_order_stats_local(df, ["agent_id"], h, np.ones(n, bool), 1.96) is None
    empty = df.iloc[:0]
    assert G.moments_with_order_stats_local(empty, ["agent_id"], np.zeros(0), np.zeros(0, bool), 1.96) is None


@pytest.mark.parametrize("n_agents", [9, 65, 300])
def test_fused_path_with_many_groups_equals_the_general_path(n_agents):
    """More than 8 groups: the values ordered by group once (radix sort) and read as slices. 9, 65
    and 300 agents (byte codes; byte codes past the folded count's byte; 16-bit numbers) over 40,000
    log-normal hours, 3 % without a value, one agent with no value at all: counts equal, moments to
    1e-9 relative, order statistics equal to the general path's (pandas' group-by and the sorted
    per-group values)."""
    import narwhals as nw

    rng = np.random.default_rng(n_agents)
    n = 40_000
    agents = rng.integers(0, n_agents, n)
    df = pd.DataFrame({"agent_id": pd.Categorical([f"a{i:03d}" for i in agents],
                                                  categories=[f"a{i:03d}" for i in range(n_agents)])})
    h = rng.lognormal(1.0, 1.0, n)
    h[rng.random(n) < 0.03] = np.nan
    h[agents == 0] = np.nan
    use = ~np.isnan(h)
    z = 1.959963984540054
    res, picked = G.moments_with_order_stats_local(df, ["agent_id"], h.copy(), use, z)
    lf = nw.from_native(df.assign(__use=use, __h=h)).lazy()
    ref = G.aggregate(lf, ["agent_id"], {"__n": G.n_true(nw.col("__use")), "__rows": G.n_rows(),
                                         "__mean": G.agg("mean", nw.col("__h")), "__sd": G.agg("std", nw.col("__h"))})
    assert res["agent_id"].tolist() == ref["agent_id"].tolist()
    assert res["__n"].tolist() == ref["__n"].astype(int).tolist() and res["__n"].iloc[0] == 0
    assert res["__rows"].tolist() == ref["__rows"].astype(int).tolist()
    np.testing.assert_allclose(res["__mean"], ref["__mean"], rtol=1e-9)
    np.testing.assert_allclose(res["__sd"], ref["__sd"], rtol=1e-9)
    ref_p = G.order_stats(lf, "__h", ["agent_id"], z, ref["__n"].astype(int).tolist())
    a = picked.astype({"agent_id": str}).sort_values(["agent_id", "__r"]).reset_index(drop=True)
    b = ref_p.astype({"agent_id": str}).sort_values(["agent_id", "__r"]).reset_index(drop=True)
    assert a[["agent_id", "__r", "__n"]].values.tolist() == b[["agent_id", "__r", "__n"]].values.tolist()
    assert a["__h"].tolist() == b["__h"].tolist()


def test_resolution_time_by_channel_uses_the_fused_path_with_the_numbers_by_hand():
    """The public function on the seven conversations of :func:`_times` (resolution): chat
    resolutions 5, 1.5, 5, (open), 5, 5 h -> n = 5, median 5, mean (5 * 4 + 1.5) / 5 = 4.3; email
    10 h -> n = 1. Equal to the Polars frame's (the expression path)."""
    conv = _times()
    got = qakit.resolution_time(conv, by="channel", min_n=0)
    assert got["n"].tolist() == [5, 1]
    assert got["resolution_time"].tolist() == [5.0, 10.0]
    assert got["resolution_time_mean"].iloc[0] == pytest.approx(4.3, abs=1e-12)
    other = qakit.resolution_time(pl.from_pandas(conv), by="channel", min_n=0)
    np.testing.assert_allclose(got["resolution_time_mean"], other["resolution_time_mean"], rtol=1e-12)
    assert _records(got) == _records(other)


@pytest.mark.parametrize("case", ["lognormal", "ties", "sorted", "reversed", "adversarial", "nan", "small"])
def test_select_ranks_equals_numpy_partition(case):
    """``select_ranks`` gives exactly the values ``np.partition`` puts at the ranks of a median, its
    interval (Conover, z = 1.96) and a p90, and the extreme ranks 1 and n: on 400,000 log-normal
    values; integer hours 0..49 (long runs of ties); sorted and reversed input; an adversarial
    column whose every 24th value (the sample's stride) is huge, so the sample's bounds miss and
    the whole column is partitioned; NaN (numpy orders it last: the whole column then); and 1,000
    values (partitioned directly)."""
    rng = np.random.default_rng(5)
    n = 1_000 if case == "small" else 400_000
    x = {"lognormal": lambda: rng.lognormal(1, 1.5, n), "ties": lambda: rng.integers(0, 50, n).astype(float),
         "sorted": lambda: np.sort(rng.random(n)), "reversed": lambda: np.sort(rng.random(n))[::-1].copy(),
         "adversarial": lambda: np.where(np.arange(n) % (n // G._SELECT_SAMPLE) == 0, 1e9, rng.random(n)),
         "nan": lambda: np.where(rng.random(n) < 0.01, np.nan, rng.random(n)),
         "small": lambda: rng.random(n)}[case]()
    ranks = sorted(set(G.needed_ranks(n, 1.959963984540054)) | {1, n})
    want = np.partition(x, [r - 1 for r in ranks])[np.asarray(ranks) - 1]
    got = G.select_ranks(x.copy(), ranks)
    np.testing.assert_array_equal(got, want)
    if case in ("lognormal", "ties"):  # (and against a full sort)
        np.testing.assert_array_equal(got, np.sort(x)[np.asarray(ranks) - 1])


def test_count_codes_in_chunks_equals_bincount():
    """Byte codes over several chunks (1,000,003 rows: 15 full chunks of 65,536 and a tail) give
    ``np.bincount``'s counts, also with a code above ``length`` (the array grows as bincount's)."""
    rng = np.random.default_rng(2)
    key = rng.integers(0, 200, 1_000_003).astype(np.uint8)
    np.testing.assert_array_equal(G.count_codes(key, 256), np.bincount(key, minlength=256))
    np.testing.assert_array_equal(G.count_codes(key, 10), np.bincount(key, minlength=10))
    small = np.array([3, 3, 1], dtype=np.uint8)
    assert G.count_codes(small, 2).tolist() == [0, 1, 0, 2]


@pytest.mark.parametrize("n_groups", [1, 3, 20])
def test_order_stats_leave_the_callers_column_as_it_was(n_groups):
    """``order_stats`` on a pandas frame reads the value column as numpy (possibly a view of the
    caller's data) and selects in each group's own copy: the column is unchanged afterwards, with
    one group (the whole column copied), a few (a pass per group) and many (one sort by group).
    The medians are numpy's of each group (values 0..n-1 reversed: group g holds g, g + k, ...)."""
    import narwhals as nw

    n = 2_000
    vals = np.arange(n, dtype=float)[::-1].copy()
    df = pd.DataFrame({"g": pd.Categorical(np.arange(n) % n_groups), "h": vals})
    before = df["h"].to_numpy().copy()
    got = G.order_stats(nw.from_native(df).lazy(), "h", ["g"], 1.959963984540054, [n // n_groups] * n_groups)
    np.testing.assert_array_equal(df["h"].to_numpy(), before)
    from qakit.metrics import _finish as F
    q = F.quantiles(got, ["g"], "h", 0.95)
    for gr, row in q.set_index("g").iterrows():
        assert row["__med"] == np.median(vals[np.arange(n) % n_groups == gr])
