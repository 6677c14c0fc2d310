"""The facts a pandas check learns once about a column (issue 23, task k26): the suspect and blank
positions of text categories read from the Arrow buffers (:func:`qakit.schema._suspect_positions`,
:func:`qakit.schema._text_facts`) and each timestamp column's extremes
(:func:`qakit.schema._i8_extremes`, handed to the table's cache). The same refusals, adjustments
and numbers as before, on categorical ids (categories used, unused, chunked) and plain text ids.

References: the suspect definition written out in plain Python (a first or last byte outside the
printable ASCII range 0x21..0x7e, or any byte >= 0x80), blank = empty or ``str.isspace``, and
timestamps worked out by hand in each docstring."""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import qakit
from qakit import schema as S
from qakit.errors import DataValidationError
from qakit.metrics import _contract as C
from qakit.metrics import _groups as G


def _suspect_by_definition(v) -> bool:
    if v is None or v == "":
        return False
    b = v.encode()
    return not (0x21 <= b[0] <= 0x7E) or not (0x21 <= b[-1] <= 0x7E) or max(b) >= 0x80


VALUES = ["a1", " a1", "a1 ", "b c", "Jos\u00e9", "Jose\u0301", "", None, "x\t", "\u00a0", "\u3000y", "zz",
          "\x7f", "~", "!", "a\x00b", "\u00e9t\u00e9"]


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_suspect_positions_equal_the_plain_definition(kind):
    """Of VALUES, the suspects are ' a1', 'a1 ' (a space at an end), the NFC and NFD 'José' and
    'été' (non-ASCII bytes), 'x\\t', the no-break space, '\\u3000y' and DEL (0x7f, outside
    0x21..0x7e); 'b c' (an inner space), 'a\\x00b' (an inner NUL: both ends printable), '~' and
    '!' (0x7e, 0x21: the ends of the range) are not; '' and None are not."""
    arr = pa.array(VALUES, type=kind)
    want = [i for i, v in enumerate(VALUES) if _suspect_by_definition(v)]
    assert want == [1, 2, 4, 5, 8, 9, 10, 12, 16]
    assert S._suspect_positions(arr).tolist() == want
    assert np.flatnonzero(S._suspects(arr)).tolist() == want
    offsets, data = S._text_buffers(arr)
    assert np.flatnonzero(S._suspects_by_value(arr, offsets, data)).tolist() == want


def test_suspect_positions_of_a_slice_and_of_many_odd_bytes():
    """A slice (an Arrow offset) reads its own values: VALUES[3:10] -> positions 1, 2, 5, 6 ('Jos\\u00e9',
    'Jose\\u0301', 'x\\t', '\\u00a0'). With 3,000 ids holding an inner space ('agent 0001' ...: more
    odd bytes than an eighth of the values, so each value's ends are read) the suspects are the
    two with a space at an end."""
    arr = pa.array(VALUES, type=pa.large_string()).slice(3, 7)
    assert S._suspect_positions(arr).tolist() == [1, 2, 5, 6]
    ids = [f"agent {i:04d}" for i in range(3000)]
    ids[17], ids[2500] = " agent x", "agent y "
    assert S._suspect_positions(pa.array(ids)).tolist() == [17, 2500]


def test_blank_positions_and_arrow_text_of_a_chunked_index():
    """An Index over a two-chunk Arrow array (as ``pd.concat`` of Arrow-backed columns leaves it): the
    text is combined once (two chunks; one chunk is used as it is, no copy); blank = '' or all
    whitespace: positions 2 ('') and 4 ('\\u00a0 ')."""
    ch = pa.chunked_array([pa.array(["a", "b "], type=pa.large_string()),
                           pa.array(["", "c", "\u00a0 "], type=pa.large_string())])
    idx = pd.Index(pd.array(ch, dtype="str"))
    assert idx.array._pa_array.num_chunks == 2
    arr = S._arrow_text(idx)
    assert arr.to_pylist() == ["a", "b ", "", "c", "\u00a0 "]
    assert S._blank_positions(arr, S._suspect_positions(arr)).tolist() == [2, 4]
    one = pd.Index(["p", "q"], dtype="str")
    assert S._arrow_text(one).buffers()[2].address == one.array._pa_array.chunk(0).buffers()[2].address


def _conversations(ids) -> pd.DataFrame:
    """Three conversations created 2026-01-05 09:00, 10:00, 11:00 UTC; the second resolved at 12:00."""
    t = pd.Series(pd.to_datetime(["2026-01-05 09:00", "2026-01-05 10:00", "2026-01-05 11:00"], utc=True),
                  dtype="datetime64[us, UTC]")
    return pd.DataFrame({"conversation_id": ids, "customer_id": ["u1", "u2", "u3"], "agent_id": ["a", "a", "b"],
                         "channel": "chat", "priority": "normal", "created_at": t,
                         "first_response_at": t, "resolved_at": [pd.NaT, t[1] + pd.Timedelta(hours=2), pd.NaT],
                         "status": ["open", "solved", "open"]})


def _categorical(ids, categories, chunked: bool):
    cats = pd.Index(pd.array(pa.chunked_array([pa.array(categories[:2], type=pa.large_string()),
                                               pa.array(categories[2:], type=pa.large_string())]), dtype="str")
                    if chunked else pd.Index(categories, dtype="str"))
    codes = [categories.index(v) for v in ids]
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(cats))


IDS_FORMS = ["text", "categorical", "chunked"]


def _ids(ids, form, extra=("zz", "q ", "", "Jose\u0301x")):
    """``ids`` as plain text, or categorical with unused categories around them (a blank one, one with
    a space, one in NFD form: none is judged, no row uses them), one or two Arrow chunks."""
    if form == "text":
        return list(ids)
    cats = sorted(set(ids) | set(extra))
    return _categorical(ids, cats, chunked=form == "chunked")


@pytest.mark.parametrize("form", IDS_FORMS)
def test_blank_id_refused_naming_column_value_and_row(form):
    """Conversation 2's id is a no-break space: 'empty value in a required column' for
    conversation_id, one row; unused blank categories add no row."""
    df = _conversations(_ids(["c1", "\u00a0", "c3"], form))
    with pytest.raises(DataValidationError) as e:
        qakit.resolution_time(df)
    f = e.value.failures
    row = f[(f["column"] == "conversation_id") & (f["check"] == "empty value in a required column")].iloc[0]
    assert row["n_failed"] == 1 and row["failing_values"] == ["\u00a0"]


@pytest.mark.parametrize("form", IDS_FORMS)
def test_ids_differing_by_whitespace_or_form_normalised_and_recorded(form):
    """'c1 ' (a trailing space) and NFD 'Jose\\u0301' are normalised to 'c1' and 'Jos\\u00e9': two values
    recorded as an adjustment naming both rows; the resolution (2 h, conversation 2) is unchanged."""
    df = _conversations(_ids(["c1 ", "Jose\u0301", "c3"], form))
    res = qakit.resolution_time(df, min_n=0)
    assert res["n"].tolist() == [1] and res["resolution_time"].tolist() == [2.0]
    adj = qakit.records.adjustments(res)
    assert adj["reason"].iloc[0].startswith("conversation_id: 2 values normalised")
    assert sorted(adj["row_ids"].iloc[0]) == ["Jose\u0301", "c1 "]


@pytest.mark.parametrize("form", IDS_FORMS)
def test_ids_one_after_normalising_are_a_duplicated_key(form):
    """'c1' and 'c1 ' are one conversation once the space is gone: the key 'c1' is duplicated, both
    rows named as the file wrote them."""
    df = _conversations(_ids(["c1", "c1 ", "c3"], form))
    with pytest.raises(DataValidationError) as e:
        qakit.resolution_time(df)
    f = e.value.failures
    row = f[f["check"].str.startswith("duplicate key")].iloc[0]
    assert row["column"] == "conversation_id" and row["n_failed"] == 2
    assert row["failing_values"] == ["c1"] and row["row_ids"] == ["c1", "c1 "]  # (rows named as written)


def test_unused_suspect_categories_judged_never_and_never_marked_clean():
    """Categories 'q ' and '' no row uses: no adjustment, no refusal, the column returned as it is;
    and the categories are not remembered as clean (a table using them later is checked)."""
    S._CLEAN.clear()
    col = pd.Series(_categorical(["c1", "c2"], ["", "c1", "c2", "q "], chunked=False), name="conversation_id")
    problems = qakit.errors.Problems("conversations")
    notes: list = []
    out, recoded = S._coerce_id(col, "conversation_id", problems, None, notes, {})
    assert out is col and not recoded and not problems.rows and not notes
    assert not S._known_clean(col.cat.categories, ("id", False, None))
    clean = pd.Series(_categorical(["c1"], ["c1", "c2", "c9", "x"], chunked=False), name="conversation_id")
    S._coerce_id(clean, "conversation_id", problems, None, notes, {})
    assert S._known_clean(clean.cat.categories, ("id", False, None))  # no suspect among all categories
    S._CLEAN.clear()


def test_text_facts_computed_once_per_check():
    """The id step and the empty-value step of one check share the facts of the categories (one
    entry in the memo, the same object), and a second check computes them anew (no cache across
    calls)."""
    S._CLEAN.clear()
    df = _conversations(_ids(["c1", "c2", "c3"], "categorical"))
    memo: dict = {}
    S.check(df, "conversations", memo=memo)
    facts = [v for k, v in memo.items() if k[0] == "text facts"]
    cats = df["conversation_id"].cat.categories
    assert [f.cats is cats for f in facts].count(True) == 1
    memo2: dict = {}
    S._CLEAN.clear()
    S.check(df, "conversations", memo=memo2)
    again = [v for k, v in memo2.items() if k[0] == "text facts" and v.cats is cats]
    assert len(again) == 1 and again[0] is not [f for f in facts if f.cats is cats][0]
    S._CLEAN.clear()


def test_i8_extremes_by_hand():
    """[5, NaT, -3, 9]: least -3, greatest 9, a NaT; all NaT: (None, None, True); [] : (None, None, False)."""
    nat = np.iinfo(np.int64).min
    assert S._i8_extremes(np.array([5, nat, -3, 9])) == (-3, 9, True)
    assert S._i8_extremes(np.array([nat, nat])) == (None, None, True)
    assert S._i8_extremes(np.array([], dtype=np.int64)) == (None, None, False)
    memo: dict = {}
    a = np.array([4, 2, 7])
    assert S._i8_extremes(a, memo) == (2, 7, False)
    a[0] = 100  # (the memo answers for the same buffer within one check: no second pass)
    assert S._i8_extremes(a, memo) == (2, 7, False)


def test_table_extremes_from_the_check_equal_a_fresh_reading():
    """The validated table's cached extremes equal those read from the coerced columns: created_at
    09:00 .. 11:00, resolved_at 12:00 .. 12:00 (two NaT), first_response_at as created_at; an
    all-NaT column gives (NaT, NaT). Given in Europe/Berlin (10:00 local = 09:00 UTC) the same UTC
    instants."""
    df = _conversations(["c1", "c2", "c3"])
    t = C.validated(df, "conversations", reads=["conversation_id", "created_at", "resolved_at",
                                                "first_response_at"])
    ext = t.cache["extremes"]
    assert ext["created_at"] == (pd.Timestamp("2026-01-05 09:00", tz="UTC"), pd.Timestamp("2026-01-05 11:00", tz="UTC"))
    assert ext["resolved_at"] == (pd.Timestamp("2026-01-05 12:00", tz="UTC"),) * 2
    for c in ext:
        assert ext[c] == G._extremes_pandas(t.pandas[c])
    df2 = df.assign(resolved_at=pd.Series(pd.NaT, index=df.index, dtype="datetime64[us, UTC]"),
                    created_at=df["created_at"].dt.tz_convert("Europe/Berlin"))
    t2 = C.validated(df2, "conversations", reads=["conversation_id", "created_at", "resolved_at"])
    assert t2.cache["extremes"]["resolved_at"][0] is pd.NaT and t2.cache["extremes"]["resolved_at"][1] is pd.NaT
    assert t2.cache["extremes"]["created_at"][0] == pd.Timestamp("2026-01-05 09:00", tz="UTC")


def test_future_timestamp_still_refused_with_the_shared_extremes():
    """A creation in 2099 is more than a day after now: refused naming the column and the row."""
    df = _conversations(["c1", "c2", "c3"])
    df.loc[2, "created_at"] = pd.Timestamp("2099-01-01", tz="UTC")
    with pytest.raises(DataValidationError) as e:
        qakit.resolution_time(df)
    f = e.value.failures
    row = f[f["column"] == "created_at"].iloc[0]
    assert row["check"].startswith("timestamp in the future") and row["row_ids"] == ["c3"]


def _handle_times(values) -> pd.DataFrame:
    df = _conversations(["c1", "c2", "c3"])
    df["handle_time_s"] = values
    return df


def test_float_range_from_the_extremes_names_the_rows():
    """handle_time_s (0 .. 10 years in seconds): [-5, NaN, 60] -> 'below the minimum 0' for c1 only;
    [1e12, 60, NaN] -> 'above the maximum 3.15576e+08' (10 * 365.25 * 86400 s) for c1; [inf, -1, 60]
    -> 'not a finite number (inf)' for c1 and 'below the minimum 0' for c2, together; all NaN and
    [0, 60, 3.15576e8] (the bounds themselves) pass."""
    def failures(values):
        with pytest.raises(DataValidationError) as e:
            qakit.handle_time(_handle_times(values))
        f = e.value.failures
        return {r["check"]: r["row_ids"] for _, r in f[f["column"] == "handle_time_s"].iterrows()}

    assert failures([-5.0, np.nan, 60.0]) == {"below the minimum 0": ["c1"]}
    assert failures([1e12, 60.0, np.nan]) == {"above the maximum 3.15576e+08": ["c1"]}
    assert failures([np.inf, -1.0, 60.0]) == {"not a finite number (inf)": ["c1"], "below the minimum 0": ["c2"]}
    assert qakit.handle_time(_handle_times([np.nan] * 3), min_n=0)["n"].sum() == 0
    ok = qakit.handle_time(_handle_times([0.0, 60.0, 10 * 365.25 * 86400]), min_n=0)
    assert ok["n"].sum() == 3


@pytest.mark.parametrize("categorical", [False, True])
def test_survey_bounds_read_a_kinds_rows_only_when_its_extremes_are_off(categorical):
    """Scores 0..10 overall: outside CES's 1..7, but the CES answers themselves are 1, 7 and missing:
    nothing is off. A CES 0.5 is off (row 5), named alone; an NPS 10 and a CSAT 0 are not."""
    kinds = ["csat", "nps", "ces", "ces", "ces", "ces"]
    kind = pd.Series(pd.Categorical(kinds) if categorical else kinds)
    score = pd.Series([0.0, 10.0, 1.0, 7.0, np.nan, 3.0])
    assert S._off_survey_bounds(kind, score) == []
    got = S._off_survey_bounds(kind, score.where(score.index != 5, 0.5))
    assert [(k, lo, hi, m.tolist()) for k, lo, hi, m in got] == [("ces", 1.0, 7.0, [False] * 5 + [True])]
    assert S._off_survey_bounds(kind, pd.Series([np.nan] * 6)) == []


# --- statistics: counts of flagged rows per group in one count ---------------------------------------
def test_flag_counts_in_one_count_by_hand():
    """Rows (queue, a, b, c): q1: (T, T, F), (T, <NA>, T), (F, F, F); q2: (T, T, T); a missing queue:
    (F, T, F); 'q3' a category no row uses. Per group, sorted, missing last: q1 rows 3, a 2, b 1
    (<NA> counts as not flagged), c 1; q2 1, 1, 1, 1; <missing> 1, 0, 1, 0. The same with the queue
    as plain text (groups numbered by factorizing, keys read from a row of each group) and with two
    key columns (queue, channel: chat / mail)."""
    df = pd.DataFrame({
        "queue": pd.Categorical(["q1", "q1", "q1", "q2", None], categories=["q1", "q2", "q3"]),
        "channel": pd.Categorical(["chat", "mail", "chat", "chat", "chat"]),
        "a": [True, True, False, True, False],
        "b": pd.array([True, pd.NA, False, True, True], dtype="boolean"),
        "c": [False, True, False, True, False]})
    specs = [("rows", "len", None), ("na", "ntrue", "a"), ("nb", "ntrue", "b"), ("nc", "ntrue", "c")]
    for frame in (df, df.assign(queue=df["queue"].astype(object))):
        got = G.sort_groups(G._count_flags(frame, ["queue"], specs), ["queue"])
        assert got["queue"].astype(object).where(got["queue"].notna(), None).tolist() == ["q1", "q2", None]
        assert got[["rows", "na", "nb", "nc"]].to_numpy().tolist() == [[3, 2, 1, 1], [1, 1, 1, 1], [1, 0, 1, 0]]
    two = G.sort_groups(G._count_flags(df, ["queue", "channel"], specs), ["queue", "channel"])
    assert [[str(q), str(c)] for q, c in zip(two["queue"], two["channel"])] == [
        ["q1", "chat"], ["q1", "mail"], ["q2", "chat"], ["nan", "chat"]]
    assert two[["rows", "na", "nb", "nc"]].to_numpy().tolist() == [[2, 1, 1, 0], [1, 1, 0, 1], [1, 1, 1, 1],
                                                                   [1, 0, 1, 0]]
    via_aggregate = G.aggregate(nw.from_native(df).lazy(), ["queue"],
                                {"rows": G.n_rows(), "na": G.n_true(nw.col("a")), "nb": G.n_true(nw.col("b"))})
    assert via_aggregate[["rows", "na", "nb"]].to_numpy().tolist() == [[3, 2, 1], [1, 1, 1], [1, 0, 1]]


def test_used_codes_finds_a_label_past_the_head():
    """200,000 rows of codes 0 and 1, one row of code 3 at row 150,000 (past the first 65,536 rows
    read), missing codes (-1) at rows 5 and 199,999, code 2 nowhere: used [T, T, F, T]."""
    codes = np.tile(np.array([0, 1], dtype=np.int8), 100_000)
    codes[[5, 199_999]] = -1
    codes[150_000] = 3
    assert G.used_codes(codes, 4).tolist() == [True, True, False, True]
    assert G.used_codes(codes[:10], 2).tolist() == [True, True]
    assert G.used_codes(np.zeros(0, dtype=np.int8), 2).tolist() == [False, False]


# --- SLA on pandas: the numpy judgement equals the general one -----------------------------------------
def _sla_frame(categorical: bool) -> pd.DataFrame:
    """Ten conversations judged at as_of 2026-01-10 00:00 UTC (targets: urgent 1 h, high 4 h, normal
    24 h, low 72 h):
    c1 high 01-05 08:00 -> 12:00, exactly 4 h: met; c2 high 08:00 -> 12:00:01: missed;
    c3 low 01-09 12:00, open: 12 h <= 72 h at as_of, pending (left out, censored);
    c4 normal 01-05 00:00, open: 5 days > 24 h, missed; c5 normal resolved 01-05 before its creation
    01-06: left out; c6 urgent created 01-10 06:00, after as_of: left out; c7 normal 'solved' without
    resolved_at: left out; c8 'vip': no target, left out; c9 high 01-09 00:00 resolved 01-11 (after
    as_of: still open then, 24 h > 4 h): missed; c10 urgent 09:00 -> 09:30: met.
    So high 1 of 3 met (33.3 %), normal 0 of 1, urgent 1 of 1, low none judged."""
    t = lambda s: pd.Timestamp(s, tz="UTC") if s else pd.NaT  # noqa: E731
    rows = [("c1", "high", "2026-01-05 08:00", "2026-01-05 12:00", "solved"),
            ("c2", "high", "2026-01-05 08:00", "2026-01-05 12:00:01", "solved"),
            ("c3", "low", "2026-01-09 12:00", None, "open"),
            ("c4", "normal", "2026-01-05 00:00", None, "open"),
            ("c5", "normal", "2026-01-06 00:00", "2026-01-05 00:00", "solved"),
            ("c6", "urgent", "2026-01-10 06:00", None, "open"),
            ("c7", "normal", "2026-01-05 10:00", None, "solved"),
            ("c8", "vip", "2026-01-05 10:00", "2026-01-05 11:00", "solved"),
            ("c9", "high", "2026-01-09 00:00", "2026-01-11 00:00", "solved"),
            ("c10", "urgent", "2026-01-05 09:00", "2026-01-05 09:30", "closed")]
    ts = lambda i: pd.Series([t(r[i]) for r in rows], dtype="datetime64[us, UTC]")  # noqa: E731
    df = pd.DataFrame({"conversation_id": [r[0] for r in rows], "customer_id": [f"u{i}" for i in range(10)],
                       "agent_id": "a1", "channel": ["chat", "mail"] * 5, "priority": [r[1] for r in rows],
                       "created_at": ts(2), "first_response_at": ts(3), "resolved_at": ts(3),
                       "status": [r[4] for r in rows]})
    if categorical:
        df = df.astype({"priority": "category", "status": "category", "channel": "category"})
    return df


@pytest.mark.parametrize("metric", ["resolution", "first_response"])
def test_sla_numpy_judgement_by_hand_and_equal_to_the_general_path(metric, monkeypatch):
    """The numbers of _sla_frame's docstring (resolution; first response: the same times, and c7's
    missing time is then an open conversation past its 24 h, missed, not a contradiction), with the
    same records, on the numpy path (categorical labels), the expression path (text labels) and
    Polars."""
    from qakit.metrics import sla

    pl = pytest.importorskip("polars")
    taken = []
    judged = sla._judged_pandas

    def spy(*a, **k):
        got = judged(*a, **k)
        taken.append(got is not None)
        return got

    monkeypatch.setattr(sla, "_judged_pandas", spy)
    cut = "2026-01-10 00:00Z"
    fast = qakit.sla_attainment(_sla_frame(True), metric=metric, as_of=cut, min_n=0)
    assert taken == [True]  # (the numpy path answered)
    assert fast["priority"].tolist() == ["high", "low", "normal", "urgent"]  # (low: its one conversation pending)
    want_n = {"high": 3, "low": 0, "normal": 1 if metric == "resolution" else 2, "urgent": 1}
    want_k = {"high": 1, "normal": 0, "urgent": 1}
    assert fast.loc[fast["priority"] == "low", "n"].tolist() == [0]
    for p in ("high", "normal", "urgent"):
        row = fast[fast["priority"] == p].iloc[0]
        assert (row["n"], round(row["met_pct"], 9)) == (want_n[p], round(100 * want_k[p] / want_n[p], 9)), p
    recs = _records(fast)
    assert recs["no SLA target for priority 'vip' (targets: ['critical', 'high', 'low', 'medium', 'normal', "
                "'urgent'])"] == ["c8"]
    end = "resolved_at" if metric == "resolution" else "first_response_at"
    assert recs[f"{end} before created_at"] == ["c5"]
    assert recs["created after as_of 2026-01-10 00:00 UTC: not judged"] == ["c6"]
    assert recs["open and still within target at as_of 2026-01-10 00:00 UTC: outcome not known yet (censored)"] == ["c3"]
    contradiction = [r for r in recs if r.startswith("status says resolved")]
    assert ([recs[contradiction[0]]] if contradiction else []) == ([["c7"]] if metric == "resolution" else [])
    for other in (qakit.sla_attainment(_sla_frame(False), metric=metric, as_of=cut, min_n=0),
                  qakit.sla_attainment(pl.from_pandas(_sla_frame(True)), metric=metric, as_of=cut, min_n=0)):
        assert other["priority"].astype(str).tolist() == fast["priority"].astype(str).tolist()
        assert other["n"].tolist() == fast["n"].tolist()
        assert np.allclose(other["met_pct"].to_numpy(float), fast["met_pct"].to_numpy(float), equal_nan=True)
        assert _records(other) == recs
    by = qakit.sla_attainment(_sla_frame(True), metric=metric, as_of=cut, min_n=0, by="channel")
    gen = qakit.sla_attainment(_sla_frame(False), metric=metric, as_of=cut, min_n=0, by="channel")
    assert by[["priority", "channel", "n"]].astype(str).values.tolist() == \
        gen[["priority", "channel", "n"]].astype(str).values.tolist()


def test_sla_relabelled_priority_takes_the_general_path():
    """Priority ' High' (stored with a space and a capital) matches target 'high' (4 h): the numpy
    path steps aside (the result writes the target's name 'high' and records the adjustment), the
    same as with text labels: high 1 of 3 met."""
    df = _sla_frame(True)
    df["priority"] = df["priority"].cat.rename_categories({"high": " High"})
    res = qakit.sla_attainment(df, as_of="2026-01-10 00:00Z", min_n=0)
    row = res[res["priority"] == "high"].iloc[0]
    assert row["n"] == 3 and row["met_pct"] == pytest.approx(100 / 3)
    adj = qakit.records.adjustments(res)
    assert sorted(adj["row_ids"].iloc[0]) == ["c1", "c2", "c9"]


def _records(res):
    ex = qakit.schema.exclusions(res)
    return {r: sorted(ids) for r, ids in zip(ex["reason"], ex["row_ids"])}
