"""Engine-side plumbing every definition shares: group and period keys, per-group aggregates
collected as a small pandas table, order statistics, itemised exclusions, ``as_of`` and ``partial``.

Periods are UTC calendar periods (``D``, ``W`` from Monday, ``M``, ``Q``, ``Y``), computed on the
engine as integer codes from exact epoch microseconds and calendar fields, and turned into period
start timestamps on the small result (:func:`period_starts`), so every engine groups by the same
instants whatever its session time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
import pyarrow as pa

from .. import schema as S
from ..errors import ParameterError, check_choice
from ..intervals import as_by
from . import _labels as L
from . import _source as B
from ._contract import Table

PERIODS = ("D", "W", "M", "Q", "Y")
PERIOD = "period"
PARTIAL = "partial"
US_PER_DAY = 86_400_000_000
HOURS_PER_S = 1 / 3600.0


def hours(us: Any) -> Any:
    """Hours from a difference of epoch microseconds: seconds (``us / 1e6``, exact as pandas'
    ``total_seconds``) times ``1/3600`` -- the one formula every engine uses, so a duration exactly
    on a target or limit compares the same everywhere."""
    return (us.cast(nw.Float64) / 1e6) * HOURS_PER_S


def hours_of_us(end_us: Any, start_us: Any) -> np.ndarray:
    """:func:`hours` on numpy: ``end_us - start_us`` (epoch microseconds, int64 arrays or an int)
    as hours by the same formula -- the integers' difference, then ``/ 1e6 * (1/3600)`` -- in one
    new float array (for the pandas paths, which judge durations with numpy).

    Examples
    --------
    >>> hours_of_us(np.array([5_400_000_000]), 0).tolist()  # 90 minutes
    [1.5]
    """
    h = np.subtract(end_us, start_us).astype(np.float64, copy=False)
    h /= 1e6
    h *= HOURS_PER_S
    return h


# --- keys ---------------------------------------------------------------------------------------
def check_keys(t: Table, keys: Sequence[str], table: str = "data") -> None:
    missing = [b for b in keys if b not in t.columns]
    if missing:
        raise ParameterError(f"by column(s) {missing} not in {table}; available: {sorted(map(str, t.columns))}")


def with_period(lf: nw.LazyFrame, engine: str, period: str | None, column: str,
                columns: Sequence[str], *, epoch_us: str | None = None) -> tuple[nw.LazyFrame, list[str]]:
    """``lf`` plus the integer period code of ``column`` (``period`` key), or unchanged.
    ``epoch_us``: a column of ``lf`` already holding ``column``'s epoch microseconds."""
    if period is None:
        return lf, []
    check_choice("period", period, PERIODS)
    if column not in columns:
        raise ParameterError(f"period needs a {column!r} column; available: {sorted(map(str, columns))}")
    c = nw.col(column)
    if period in ("D", "W"):
        if epoch_us is None:
            lf = B.with_epoch_us(lf, engine, {"__pus": column})
        day = nw.col(epoch_us or "__pus") // US_PER_DAY
        code = day if period == "D" else (day + 3) // 7  # 1970-01-01 was a Thursday: weeks from Monday
        lf = lf.with_columns(code.alias(PERIOD))
        return (lf if epoch_us else lf.drop("__pus")), [PERIOD]
    y = c.dt.year().cast(nw.Int64)
    m = c.dt.month().cast(nw.Int64)
    code = {"M": y * 12 + m - 1, "Q": y * 4 + (m - 1) // 3, "Y": y}[period]
    return lf.with_columns(code.alias(PERIOD)), [PERIOD]


def period_starts(codes: pd.Series, period: str) -> pd.Series:
    """Period codes (see :func:`with_period`) as the period start (naive UTC timestamps)."""
    v = pd.to_numeric(codes, errors="coerce").to_numpy(dtype=float)
    ok = ~np.isnan(v)
    iv = np.where(ok, v, 0).astype(np.int64)
    if period == "D":
        out = iv.astype("datetime64[D]")
    elif period == "W":
        out = (iv * 7 - 3).astype("datetime64[D]")
    elif period == "M":
        out = (iv - 1970 * 12).astype("datetime64[M]").astype("datetime64[D]")
    elif period == "Q":
        out = (iv * 3 - 1970 * 12).astype("datetime64[M]").astype("datetime64[D]")
    else:
        out = (iv - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    out = out.astype("datetime64[us]")
    out[~ok] = np.datetime64("NaT")
    return pd.Series(out, index=codes.index, name=PERIOD)


def _sort_key(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.astype(s.cat.categories.dtype) if s.cat.categories.dtype != object else s.astype("str")
    return s


def sort_groups(res: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Groups sorted by their keys, a missing key last (what ``groupby(sort=True, dropna=False)``
    gives); the same order on every engine."""
    if keys and len(res):
        one = res[keys[0]] if len(keys) == 1 else None
        if (one is not None and isinstance(one.dtype, pd.CategoricalDtype) and one.cat.categories.dtype == "str"
                and len(res) <= 4096 and one.array.codes.min() >= 0):
            # (one text categorical key, none missing, a few groups: their labels ordered by code point
            # as the sort below orders them, without its machinery: ~0.1 ms instead of ~1.5; groups
            # already in code order of sorted categories -- a group-by on the codes -- as they are)
            codes = one.array.codes
            cats = one.cat.categories
            if len(cats) <= 4096 and cats.is_monotonic_increasing and bool((codes[1:] > codes[:-1]).all()):
                return res.reset_index(drop=True)
            labels = cats.take(codes).to_numpy(dtype=object)
            return res.iloc[np.argsort(labels, kind="stable")].reset_index(drop=True)
        res = res.sort_values(list(keys), na_position="last", kind="stable", key=_sort_key)
    return res.reset_index(drop=True)


def aggregate(lf: nw.LazyFrame, keys: Sequence[str], aggs: dict[str, tuple[str, Any]], *,
              period: str | None = None) -> pd.DataFrame:
    """Per group of ``keys`` (one row without keys) the aggregations ``{name: (fn, expression)}``
    (``fn`` one of sum, mean, std, count, min, max, len, ntrue; see :func:`n_true` ...), collected,
    sorted, and with period codes turned into period starts. The expressions are computed as
    columns first, so every aggregation is elementary (what pandas' groupby runs fast)."""
    lf, exprs = _aggregate_input(lf, aggs)
    if keys and lf.implementation is nw.Implementation.PANDAS:
        res = _aggregate_pandas(nw.to_native(lf), list(keys), [(name, fn, None if fn == "len" else f"__in{i}")
                                                               for i, (name, (fn, _)) in enumerate(aggs.items())])
    else:
        q = lf.group_by(*keys, drop_null_keys=False).agg(*exprs) if keys else lf.select(*exprs)
        res = text_keys(B.collect(q), keys)
    return _aggregated(res, keys, period)


def _aggregate_input(lf: nw.LazyFrame, aggs: dict[str, tuple[str, Any]]) -> tuple[nw.LazyFrame, list]:
    """``(lf with each aggregation's input as a column, the aggregate expressions)`` of :func:`aggregate`."""
    cols, exprs = {}, []
    for i, (name, (fn, e)) in enumerate(aggs.items()):
        if fn == "len":
            exprs.append(nw.len().alias(name))
            continue
        c = f"__in{i}"
        cols[c] = e
        if fn == "ntrue":  # (Polars sums booleans as they are: a cast of every row first cost 7x the sum)
            agg_e = (nw.col(c).sum().cast(nw.Int64) if lf.implementation is nw.Implementation.POLARS
                     else nw.col(c).cast(nw.Int64).sum())
        else:
            agg_e = getattr(nw.col(c), fn)()
        exprs.append(agg_e.alias(name))
    return (lf.with_columns(**cols) if cols else lf), exprs


def _aggregated(res: pd.DataFrame, keys: Sequence[str], period: str | None) -> pd.DataFrame:
    res = sort_groups(res, keys)
    if period is not None and PERIOD in res.columns:
        res[PERIOD] = period_starts(res[PERIOD], period)
    return res


def aggregate_all(parts: Sequence[tuple[nw.LazyFrame, Sequence[str], dict[str, tuple[str, Any]]]], *,
                  period: str | None = None) -> list[pd.DataFrame]:
    """:func:`aggregate` of each ``(lf, keys, aggs)``; on Polars the queries run at once
    (``polars.collect_all``: the backlog's opened and closed counts of 10M conversations read
    the frame side by side, as the Polars anchor does), elsewhere one after the other."""
    if not parts or any(lf.implementation is not nw.Implementation.POLARS for lf, _, _ in parts):
        return [aggregate(lf, keys, aggs, period=period) for lf, keys, aggs in parts]
    import polars as pl  # (a Polars frame: polars is installed)

    queries = []
    for lf, keys, aggs in parts:
        lf, exprs = _aggregate_input(lf, aggs)
        q = lf.group_by(*keys, drop_null_keys=False).agg(*exprs) if keys else lf.select(*exprs)
        queries.append(nw.to_native(q))
    got = pl.collect_all(queries)
    return [_aggregated(text_keys(B.collect(nw.from_native(g.lazy())), keys), keys, period)
            for g, (_, keys, _) in zip(got, parts)]


def text_keys(res: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """``res`` with its integer key columns that the contract holds as text (ids, labels:
    :data:`qakit.schema.TEXT_COLUMNS`) turned into text, as pandas' validate turns them: agent ``7``
    is ``'7'`` on every engine (and sorts as text)."""
    for k in keys:
        if k in S.TEXT_COLUMNS and k in res.columns and pd.api.types.is_integer_dtype(res[k].dtype):
            res[k] = res[k].astype("str")
    return res


def _aggregate_pandas(df: pd.DataFrame, keys: list[str], specs: list[tuple[str, str, str | None]]) -> pd.DataFrame:
    """:func:`aggregate` on a pandas frame: the groups numbered once from the keys' codes
    (:func:`group_ids`; a group-by of categoricals re-codes them in every call), counts and sums
    of integer flags by ``np.bincount`` (exact: below 2**53), the other statistics by pandas'
    group-by on those numbers (the same kernels as a group-by of the keys, rows in the same order:
    the same floating-point results; ``tests/test_metrics_fastpaths.py`` holds them equal bit for
    bit). The key columns as the group-by gives them (a categorical stays one)."""
    flags = [n for n, fn, _ in specs if fn == "ntrue"]
    if keys and 1 <= len(flags) <= 3 and all(fn in ("len", "ntrue") for _, fn, _ in specs):
        fast = _count_flags(df, keys, specs)
        if fast is not None:
            return fast
    gid, present, out = group_keys(df, keys)
    space = int(present[-1]) + 1 if len(present) else 0
    sizes = np.bincount(gid, minlength=space)[present]
    rest = []
    for name, fn, col in specs:
        x = None if col is None else df[col]
        numpy_int = x is not None and isinstance(x.dtype, np.dtype) and x.dtype.kind in "biu"  # (never missing)
        if fn == "len" or (fn == "count" and numpy_int):
            out[name] = sizes.astype(np.int64)
            continue
        if fn == "ntrue":  # (a flag with its nulls filled)
            v = x.to_numpy(dtype=bool, na_value=False)
            out[name] = np.bincount(gid, weights=v, minlength=space)[present].astype(np.int64)
            continue
        if fn == "sum" and numpy_int:
            v = x.to_numpy()
            if v.dtype.kind == "b" or len(v) * float(np.abs(v).max(initial=0)) < 2 ** 53:
                out[name] = np.bincount(gid, weights=v, minlength=space)[present].astype(np.int64)
                continue
        rest.append((name, fn, col))
    if rest:  # one grouper for all of them: the group numbers as the codes of a categorical over 0 .. space - 1
        # (a grouper of plain integers is hashed first: eight times slower; empty groups dropped below)
        groups = pd.Categorical.from_codes(gid, categories=pd.RangeIndex(space), validate=False)
        frame = pd.concat([df[col].rename(f"__c{i}") for i, (_, _, col) in enumerate(rest)], axis=1)
        grouped = frame.groupby(groups, sort=True, observed=False)
        for i, (name, fn, _) in enumerate(rest):
            out[name] = getattr(grouped[f"__c{i}"], fn)().iloc[present].reset_index(drop=True)
    return out


def count_flags(df: pd.DataFrame, keys: Sequence[str], flags: dict[str, np.ndarray], *,
                period: str | None = None, rows: str = "__rows") -> pd.DataFrame:
    """Per group of ``keys`` (columns of the pandas frame ``df``) the rows (``rows``) and the rows
    each boolean numpy array of ``flags`` marks (row by row with ``df``; no frame of the flags is
    built), sorted as :func:`aggregate` sorts, period codes turned into period starts. One count
    (:func:`_count_flags`) when the groups are few enough, else :func:`aggregate`.

    Examples
    --------
    >>> df = pd.DataFrame({"queue": pd.Categorical(["b", "a", "b", "b"])})
    >>> count_flags(df, ["queue"], {"__k": np.array([True, True, False, True])})  # b: 3 rows, 2 flagged
      queue  __k  __rows
    0     a    1       1
    1     b    2       3
    """
    keys = list(keys)
    specs = [(name, "ntrue", name) for name in flags] + [(rows, "len", None)]
    res = _count_flags(df, keys, specs, arrays=flags) if keys and 1 <= len(flags) <= 3 else None
    if res is None:
        frame = nw.from_native(df[keys].assign(**flags)).lazy()
        return aggregate(frame, keys, {**{name: n_true(nw.col(name)) for name in flags}, rows: n_rows()},
                         period=period)
    res = sort_groups(res, keys)
    if period is not None and PERIOD in res.columns:
        res[PERIOD] = period_starts(res[PERIOD], period)
    return res


def byte_codes(df: pd.DataFrame, keys: Sequence[str], bits: int = 0) -> tuple[np.ndarray, int, list] | None:
    """``(gid, space, decode)`` as :func:`_group_codes` gives them (``present=False``), but ``gid``
    in bytes (``uint8``), when ``keys`` is one categorical column whose groups, with ``bits`` flag
    bits folded in below them, fit in a byte; else None. The codes taken as bytes (missing, -1,
    becomes group 0): an eighth of the memory of int64 group numbers, which cost a new 8-byte
    array (and its page faults) per row.

    Examples
    --------
    >>> gid, space, _ = byte_codes(pd.DataFrame({"q": pd.Categorical(["b", None, "a"])}), ["q"], 2)
    >>> gid.tolist(), space
    ([2, 0, 1], 3)
    """
    one = df[keys[0]] if len(keys) == 1 else None
    if one is None or not isinstance(one.dtype, pd.CategoricalDtype) or (len(one.cat.categories) + 1) << bits > 256:
        return None
    space = len(one.cat.categories) + 1
    gid = one.array.codes.astype(np.uint8)
    gid += np.uint8(1)
    return gid, space, [(keys[0], space, lambda codes, dt=one.dtype: pd.Categorical.from_codes(codes, dtype=dt))]


#: rows per ``np.bincount`` call of :func:`count_codes` (its widened copy stays in the CPU's cache)
_COUNT_CHUNK = 1 << 16


def count_codes(key: np.ndarray, length: int) -> np.ndarray:
    """``np.bincount(key, minlength=length)`` (int64 counts), for byte codes counted chunk by chunk:
    ``np.bincount`` widens its input to 8-byte integers first, a fresh array of 8 bytes per row
    (80 MB and its page faults for 10M rows); in chunks of 65,536 rows the copy is reused and
    stays in cache (~0.65x the time at 10M rows).

    Examples
    --------
    >>> count_codes(np.array([2, 0, 2], dtype=np.uint8), 4).tolist()
    [1, 0, 2, 0]
    """
    if key.dtype != np.uint8 or len(key) <= 4 * _COUNT_CHUNK:
        return np.bincount(key, minlength=length)
    out = np.zeros(max(length, int(key.max()) + 1), dtype=np.int64)
    for i in range(0, len(key), _COUNT_CHUNK):
        out += np.bincount(key[i:i + _COUNT_CHUNK], minlength=len(out))
    return out


def folded_counts(gid: np.ndarray, flags: Sequence[np.ndarray], space: int, *, own: bool = False) -> np.ndarray:
    """``counts[g, b]``: the rows of group ``g`` (``gid``: numbers ``0 .. space - 1``) whose boolean
    ``flags`` read as the bits of ``b`` (flag ``j``: bit ``j``), from ONE ``np.bincount`` of the flags
    folded into the group number (``gid * 2**f + bits``): a count per flag read the rows once each.
    Folded in bytes when ``space * 2**f`` fits one (an eighth of the memory traffic of int64); else in
    ``gid`` itself when ``own`` (the caller's own array: shifted back after), else in a copy.
    :func:`flag_totals` reads the rows and each flag's count from it.

    Examples
    --------
    >>> folded_counts(np.array([0, 1, 1]), [np.array([True, False, True])], 2)  # group 1: one row each way
    array([[0, 1],
           [1, 1]])
    """
    nb = len(flags)
    if (space << nb) <= 256:
        key = gid if own and gid.dtype == np.uint8 else gid.astype(np.uint8)
    else:
        key = gid if own else gid.astype(np.int64)
    for f in reversed(flags):  # (the first flag ends up as the lowest bit)
        np.left_shift(key, 1, out=key)
        key |= f.view(np.uint8) if key.dtype == np.uint8 else f
    counts = count_codes(key, space << nb).reshape(space, 1 << nb)
    if key is gid:
        gid >>= nb  # (the group numbers again)
    return counts


def flag_totals(counts: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """``(rows per group, [rows flagged per group, for each flag])`` of :func:`folded_counts`' counts.

    Examples
    --------
    >>> sizes, (k,) = flag_totals(np.array([[0, 1], [1, 1]]))
    >>> sizes.tolist(), k.tolist()
    ([1, 2], [1, 1])
    """
    bits = np.arange(counts.shape[1])
    nb = counts.shape[1].bit_length() - 1
    return counts.sum(axis=1), [counts[:, (bits >> j) & 1 == 1].sum(axis=1) for j in range(nb)]


def _count_flags(df: pd.DataFrame, keys: list[str], specs: list[tuple[str, str, str | None]], *,
                 arrays: dict[str, np.ndarray] | None = None) -> pd.DataFrame | None:
    """:func:`_aggregate_pandas` when every statistic is a row count or a count of flagged rows (up
    to three flags): the flags folded into the group number (``gid * 2**f + flag bits``; in bytes
    when the groups are few) and ONE ``np.bincount`` gives each group's rows and every flag's count
    (a count per flag and one per group cost a pass over the rows each; weighted counts twice
    that). ``arrays``: flags given as boolean numpy arrays by name (else read from ``df``). None
    when the groups are too many for one count (the general path then)."""
    cols = [col for _, fn, col in specs if fn == "ntrue"]
    small = byte_codes(df, keys, len(cols))
    if small is not None:
        gid, space, decode = small
    else:
        gid, space, decode = _group_codes(df, keys, present=False)
        if not isinstance(space, int) or (space << len(cols)) > 4 * len(gid) + (1 << 20):
            return None
    flags = [arrays[col] if arrays is not None and col in arrays else df[col].to_numpy(dtype=bool, na_value=False)
             for col in cols]
    # (gid is this function's own: folded in place, the group numbers given back for the keys' rows)
    sizes, counted = flag_totals(folded_counts(gid, flags, space, own=True))
    present = np.flatnonzero(sizes)
    out = _key_rows(df, keys, gid, present, decode)
    flagged = iter(counted)
    for name, fn, _ in specs:
        out[name] = (sizes if fn == "len" else next(flagged))[present].astype(np.int64)
    return out


def count(flag: Any) -> Any:
    """The number of rows where ``flag`` holds (null: no), as an aggregate expression."""
    return flag.fill_null(False).cast(nw.Int64).sum()


def n_true(flag: Any) -> tuple[str, Any]:
    """:func:`aggregate` spec: rows where ``flag`` holds (null: no); counted as a sum of the flag
    cast to integers (on pandas the flag itself is counted: no integer copy of it)."""
    return ("ntrue", flag.fill_null(False))


def n_rows() -> tuple[str, Any]:
    """:func:`aggregate` spec: rows of the group."""
    return ("len", None)


def agg(fn: str, e: Any) -> tuple[str, Any]:
    """:func:`aggregate` spec: ``fn`` (sum, mean, std, count, min, max) of ``e``."""
    return (fn, e)


def merge_on_keys(left: pd.DataFrame, right: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """``left`` with ``right``'s columns, matched on ``keys`` (pandas matches a missing key with a
    missing key); without keys, side by side (one row each)."""
    if not keys:
        right = right.reset_index(drop=True).reindex(range(len(left)))
        return pd.concat([left.reset_index(drop=True), right], axis=1)
    return left.merge(right, on=list(keys), how="left", sort=False)


# --- labels on pandas -------------------------------------------------------------------------------
def known_labels(t: Table, *columns: str) -> None:
    """A pandas table's categorical label columns: their distinct values read from the codes and
    kept in ``t.cache`` (what :func:`qakit.metrics._labels.distinct_keys` reads; the contract keeps
    them so for an engine's table) -- a group-by of ten million rows to find three statuses."""
    if t.engine != "pandas" or t.pandas is None:
        return
    for c in columns:
        if ("distinct", c) in t.cache or c not in t.pandas.columns:
            continue
        s = t.pandas[c]
        if isinstance(s.dtype, pd.CategoricalDtype) and s.cat.categories.dtype == "str":
            t.cache[("distinct", c)] = list(s.cat.categories[used_codes(s.array.codes, len(s.cat.categories))])


def used_codes(codes: np.ndarray, n: int) -> np.ndarray:
    """Which of ``n`` categories the codes use (a boolean array; -1, missing, ignored), read from a
    growing head of the rows (64K, 1M, ...: a few labels usually all show up in the first rows; a
    pass over every row only when some label is rare or unused).

    Examples
    --------
    >>> used_codes(np.array([2, -1, 0, 2], dtype=np.int8), 4).tolist()
    [True, False, True, False]
    """
    seen = np.zeros(n + 1, dtype=bool)  # (the last slot: code -1)
    m = 1 << 16
    done = 0
    while done < len(codes):
        seen[codes[done:m]] = True
        done = m
        if seen[:n].all():
            break
        m *= 16
    return seen[:n]


def with_label_values(lf: nw.LazyFrame, column: str, mapping: dict, name: str) -> nw.LazyFrame:
    """``lf`` plus ``name``: ``column``'s stored values mapped by ``mapping`` (others: missing), as
    float. A pandas categorical is mapped on its categories and read through its codes; elsewhere
    a CASE expression (:func:`qakit.metrics._labels.value_map`; on pandas it cost 0.6 s per ten
    million rows)."""
    if lf.implementation is nw.Implementation.PANDAS:
        df = nw.to_native(lf)
        s = df[column]
        if isinstance(s.dtype, pd.CategoricalDtype):
            per_cat = np.array([float(mapping.get(c, np.nan)) for c in s.cat.categories] + [np.nan], dtype=float)
            values = per_cat[s.array.codes]  # (a missing value's code -1 reads the NaN appended last)
            return nw.from_native(df.assign(**{name: pd.Series(values, index=df.index)})).lazy()
    e = L.value_map(column, mapping) if mapping else nw.lit(None)
    return lf.with_columns(e.cast(nw.Float64).alias(name))


# --- itemised exclusions ---------------------------------------------------------------------------
def itemise(result: pd.DataFrame, lf: nw.LazyFrame, id_col: str,
            reasons: Sequence[tuple[Any, str, str]], *, adjust: Sequence[tuple[Any, str, str]] = ()) -> None:
    """Record on ``result``, in one query, the rows of ``lf`` for each ``(flag, reason, column)``
    (exclusions; ``adjust``: adjustments). Ids as text, sorted (an engine has no row order); a row
    may be listed under several reasons.

    Only the id and the flags are kept before the rows are filtered (a filter of the whole table
    moved every column), and the ids become text after it (only the excluded ones are cast);
    they reach the record as a list of ``str`` sorted by code point, as ``sorted`` orders them."""
    allr = _recorders(reasons, adjust)
    if not allr:
        return
    flags = {f"__x{i}": f.fill_null(False) for i, (f, *_rest) in enumerate(allr)}
    anyx = None
    for name in flags:
        anyx = nw.col(name) if anyx is None else anyx | nw.col(name)
    q = lf.with_columns(**flags).select(nw.col(id_col).alias("__id"), *flags).filter(anyx)
    got = B.collect(q.with_columns(nw.col("__id").cast(nw.String)))
    _add_listed(result, allr, _id_text(got["__id"]), [got[f"__x{i}"].to_numpy(dtype=bool) for i in range(len(allr))])


def itemise_masks(result: pd.DataFrame, ids: pd.Series, reasons: Sequence[tuple[np.ndarray, str, str]], *,
                  adjust: Sequence[tuple[np.ndarray, str, str]] = ()) -> None:
    """:func:`itemise` for a table in this process's memory whose flags are boolean numpy arrays
    (row by row with ``ids``, a pandas column): the same records, ids as text sorted by code
    point, without building a frame of flags (only the flagged rows' ids are read and cast)."""
    allr = _recorders(reasons, adjust)
    if not allr:
        return
    anyx = allr[0][0].copy()
    for f, *_rest in allr[1:]:
        anyx |= f
    rows = np.flatnonzero(anyx)
    if not len(rows):
        return
    _add_listed(result, allr, _id_text(ids.iloc[rows]), [f[rows] for f, *_rest in allr])


def _recorders(reasons: Sequence[tuple[Any, str, str]], adjust: Sequence[tuple[Any, str, str]]) -> list[tuple]:
    """``(flag, reason, column, how to record)``: exclusions first, then adjustments."""
    return [(f, r, c, S.add_exclusion) for f, r, c in reasons] + [(f, r, c, S.add_adjustment) for f, r, c in adjust]


def _add_listed(result: pd.DataFrame, allr: Sequence[tuple], ids: np.ndarray, selected: Sequence[np.ndarray]) -> None:
    """Record, per ``(flag, reason, column, how)`` of ``allr``, the ``ids`` its ``selected`` mask
    marks: text sorted by code point (as ``sorted`` orders them); nothing for an empty mask."""
    for (_, reason, column, add), sel in zip(allr, selected):
        if sel.any():
            listed = ids[sel].tolist()
            listed.sort()
            add(result, reason, column, listed)


def _id_text(ids: pd.Series) -> np.ndarray:
    """Ids (text or missing) as an object array of ``str``, a missing id as ``"<missing>"``. A
    categorical of Arrow-backed text takes its rows' texts from the categories' one Arrow array by
    code (pandas' ``astype`` of a categorical goes through its categories: twice the time for
    700,000 of 10M conversation ids).

    Examples
    --------
    >>> _id_text(pd.Series(pd.Categorical(["c2", None, "c1"]))).tolist()
    ['c2', '<missing>', 'c1']
    """
    if isinstance(ids.dtype, pd.CategoricalDtype) and getattr(ids.cat.categories.array, "_pa_array", None) is not None:
        codes = ids.array.codes
        arr = S._arrow_text(ids.cat.categories).take(pa.array(np.maximum(codes, 0))).to_numpy(zero_copy_only=False)
        arr = arr.astype(object, copy=False)
        missing = codes < 0
    else:
        arr = ids.astype("str").to_numpy(dtype=object, na_value=None)
        missing = pd.isna(ids).to_numpy(dtype=bool)
    if missing.any():
        arr[missing] = "<missing>"
    return arr


# --- order statistics (median, p90, the median's interval) -------------------------------------------
def needed_ranks(n: int, z: float) -> list[int]:
    """The ranks (from 1) of the order statistics the median, p90 and the median's interval of
    ``n`` values need (:func:`qakit.metrics._finish.quantiles`)."""
    out = set()
    for q in (0.5, 0.9):
        lo = int(np.floor((n - 1) * q))
        out.update((lo + 1, min(lo + 1, n - 1) + 1))
    if n >= 6:
        out.add(max(int(np.floor(n / 2 - z * np.sqrt(n) / 2)), 1))
        out.add(min(int(np.ceil(1 + n / 2 + z * np.sqrt(n) / 2)), n))
    return sorted(r for r in out if 1 <= r <= n)


#: more groups than this: :func:`moments_with_order_stats_local` orders the values by group once
#: (a radix sort) instead of selecting each group's rows with a pass over all of them
_MASK_GROUPS = 8
#: group numbers from here on: the general path (the radix sort takes 8- or 16-bit numbers)
_SORTED_GROUPS = (1 << 16) - 1

#: fewer values than this: ``np.partition`` at once (the sample below would cost more than it saves)
_SELECT_DIRECT = 1 << 17
#: the sample's size (every ``len(x) // _SELECT_SAMPLE``-th value)
_SELECT_SAMPLE = 16384


def select_ranks(x: np.ndarray, ranks: Sequence[int]) -> np.ndarray:
    """The order statistics of ``x`` (float64 without NaN; this function's own to reorder) at
    ``ranks`` (from 1, increasing), exactly: the values ``np.partition`` would put there (NaN, which
    callers leave out, makes it partition ``x`` itself, ordering NaN last as numpy does). For many
    values the ranks are bracketed first: a sorted sample (every ``len(x) // 16384``-th value) gives
    bounds ``a <= b`` around each cluster of nearby ranks, one pass counts the values below ``a``,
    one takes those in ``[a, b]``, and only these few are partitioned (Floyd and Rivest's idea;
    deterministic). When the bounds miss a rank -- an unlucky sample --, ``x`` itself is partitioned.

    Notes
    -----
    With ``c`` values below ``a`` and the values in ``[a, b]`` sorted as ``y``, the value of rank ``r``
    is ``y[r - 1 - c]`` whenever ``c < r <= c + len(y)``: every value below ``a`` ranks before them and
    every value above ``b`` after (ties included). ~0.6x the time of ``np.partition`` on 3.3M values
    with the six ranks of a median, its interval and a p90.

    Examples
    --------
    >>> x = np.arange(300_000, dtype=float)[::-1].copy()
    >>> select_ranks(x, [1, 150_000, 300_000]).tolist()
    [0.0, 149999.0, 299999.0]
    """
    n = len(x)
    rk = np.asarray(ranks, dtype=np.int64)
    if n < _SELECT_DIRECT or not len(rk):
        x.partition(rk - 1)
        return x[rk - 1]
    sample = np.sort(x[:: n // _SELECT_SAMPLE])
    m = len(sample)
    margin = int(4 * np.sqrt(m)) + 2  # (sample ranks; ~4 standard deviations of a rank's position in it)
    out = np.empty(len(rk), dtype=np.float64)
    for idx in np.split(np.arange(len(rk)), np.flatnonzero(np.diff(rk) > n // 64) + 1):
        lo, hi = int(rk[idx[0]]), int(rk[idx[-1]])
        pa, pb = lo * m // n - margin, hi * m // n + margin
        a = sample[pa] if pa >= 0 else -np.inf
        b = sample[pb] if pb < m else np.inf
        below = int(np.count_nonzero(x < a))
        inside = x >= a
        inside &= x <= b
        cand = x[inside]
        whole = below + len(cand) + int(np.count_nonzero(x > b)) == n  # (False only with NaN in x)
        if whole and below < lo and below + len(cand) >= hi:
            k = rk[idx] - 1 - below
            cand.partition(k)
            out[idx] = cand[k]
        else:  # (the sample missed, or NaN: the whole column, as np.partition orders it)
            x.partition(rk[idx] - 1)
            out[idx] = x[rk[idx] - 1]
    return out


def order_stats(lf: nw.LazyFrame, value: str, keys: Sequence[str], z: float, sizes: Sequence[int]) -> pd.DataFrame:
    """Per group the order statistics the median, p90 (linear interpolation, as numpy/pandas) and
    the distribution-free median interval (Conover: ``x_(l), x_(u)`` with ``l = floor(n/2 -
    z sqrt(n)/2)``, ``u = ceil(1 + n/2 + z sqrt(n)/2)``) need: ranked on the engine, the few
    ranks of each group size (``sizes``: the groups' counts of values) picked there by one
    membership test, the statistics computed on them here
    (:func:`qakit.metrics._finish.quantiles`). Returns ``*keys, __r, __n, value``."""
    return text_keys(_order_stats(lf, value, keys, z, sizes), keys)


def _order_stats(lf: nw.LazyFrame, value: str, keys: Sequence[str], z: float, sizes: Sequence[int]) -> pd.DataFrame:
    if lf.implementation in (nw.Implementation.PANDAS, nw.Implementation.POLARS):
        return _order_stats_local(lf, value, keys, z)
    ns = sorted({int(n) for n in sizes if n and n > 0})
    if lf.implementation is nw.Implementation.DUCKDB and 0 < len(ns) <= 2_000:
        return _order_stats_duckdb(lf, value, keys, z, ns)
    part = list(keys) if keys else ["__all"]
    u = lf.filter(~nw.col(value).is_null())
    if not keys:
        u = u.with_columns(nw.lit(0).alias("__all"))
    u = u.with_columns(nw.col(value).rank(method="ordinal").over(*part).cast(nw.Int64).alias("__r"),
                       nw.col(value).count().over(*part).cast(nw.Int64).alias("__n"))
    ns = sorted({int(n) for n in sizes if n and n > 0})
    width = (max(ns) if ns else 0) + 1
    codes = [n * width + r for n in ns for r in needed_ranks(n, z)]
    if not codes:
        return B.collect(u.filter(nw.col("__r") < 0).select(*keys, "__r", "__n", value))
    pick = (nw.col("__n") * width + nw.col("__r")).is_in(codes)
    return B.collect(u.filter(pick).select(*keys, "__r", "__n", value))


def _order_stats_polars(lf: nw.LazyFrame, value: str, keys: Sequence[str], z: float) -> pd.DataFrame | None:
    """:func:`_order_stats_local` on a Polars frame with few groups: the values split by group on
    Polars (``partition_by``; no conversion of the keys to pandas and no group numbering there),
    then ``np.partition`` per group. None with more than :data:`_PARTITION_GROUPS` groups."""
    df = nw.to_native(lf.select(*keys, value).filter(~nw.col(value).is_null()).collect())
    parts = df.partition_by(list(keys), as_dict=True, maintain_order=False)
    if not parts or len(parts) > _PARTITION_GROUPS:
        return None
    firsts, ranks, sizes, vals = [], [], [], []
    for part in parts.values():
        x = part.get_column(value).to_numpy()
        rk = needed_ranks(len(x), z)
        vals.append(select_ranks(np.array(x, dtype=np.float64), rk))
        firsts += [part.head(1).select(list(keys))] * len(rk)
        ranks += rk
        sizes += [len(x)] * len(rk)
    import polars as pl  # (a Polars frame: polars is installed)

    out = B.collect(nw.from_native(pl.concat(firsts)).lazy())
    out["__r"] = np.asarray(ranks, dtype=np.int64)
    out["__n"] = np.asarray(sizes, dtype=np.int64)
    out[value] = np.concatenate(vals).astype(np.float64)
    return out


def _order_stats_duckdb(lf: nw.LazyFrame, value: str, keys: Sequence[str], z: float, ns: list[int]) -> pd.DataFrame:
    """:func:`order_stats` on DuckDB: each group's values sorted as one list (``list_sort(list(v))``)
    and the needed ranks of its size picked from it (``list_select``; a window rank and count over
    the whole column cost four times more)."""
    q = lambda c: '"' + str(c).replace('"', '""') + '"'  # noqa: E731
    k = ", ".join(q(c) for c in keys)
    ranks = " ".join(f"WHEN {n} THEN {needed_ranks(n, z)}" for n in ns)
    sql = (f"WITH g AS (SELECT {k + ', ' if k else ''}count({q(value)}) AS __n, list_sort(list({q(value)})) AS __s "
           f"FROM __os WHERE {q(value)} IS NOT NULL{' GROUP BY ' + k if k else ''}), "
           f"h AS (SELECT *, CASE __n {ranks} ELSE []::BIGINT[] END AS __rk FROM g) "
           f"SELECT {k + ', ' if k else ''}__n, unnest(__rk) AS __r, unnest(list_select(__s, __rk)) AS {q(value)} FROM h")
    got = B.collect(nw.from_native(nw.to_native(lf).query("__os", sql)))
    return got.astype({"__r": "int64", "__n": "int64"})


def _ranks_sql(n: str, z: float) -> str:
    """:func:`needed_ranks` of a group of ``n`` values as a DuckDB list expression (doubles as in
    Python: ``(n - 1) * 0.9`` is a binary product there too, not a decimal one)."""
    zz = repr(float(z))
    parts = []
    for q in (0.5, 0.9):
        lo = f"floor(({n} - 1)::DOUBLE * {q!r}::DOUBLE)::BIGINT"
        parts += [f"{lo} + 1", f"least({lo} + 1, {n} - 1) + 1"]
    lo_ci = f"greatest(floor({n}::DOUBLE / 2 - {zz}::DOUBLE * sqrt({n}::DOUBLE) / 2)::BIGINT, 1)"
    hi_ci = f"least(ceil(1 + {n}::DOUBLE / 2 + {zz}::DOUBLE * sqrt({n}::DOUBLE) / 2)::BIGINT, {n})"
    base = f"[{', '.join(parts)}]"
    return (f"list_filter(CASE WHEN {n} >= 6 THEN list_concat({base}, [{lo_ci}, {hi_ci}]) "
            f"ELSE {base} END, lambda r: r >= 1 AND r <= {n})")


def aggregate_with_order_stats(lf: nw.LazyFrame, value: str, keys: Sequence[str], z: float, *, use: str,
                               period: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """:func:`aggregate` of ``__n`` (rows where ``use``), ``__rows``, ``__mean`` and ``__sd`` of
    ``value`` and :func:`order_stats` of ``value``, in ONE query on DuckDB (one scan of the table
    instead of two): each group's values sorted as one list, the ranks its size needs
    (:func:`needed_ranks`, as a list expression) picked from it. ``(res, picked)`` as the two
    functions give them; None on another engine."""
    if lf.implementation is not nw.Implementation.DUCKDB:
        return None
    q = lambda c: '"' + str(c).replace('"', '""') + '"'  # noqa: E731
    k = ", ".join(q(c) for c in keys)
    v = q(value)
    sql = (f"WITH g AS (SELECT {k + ', ' if k else ''}coalesce(sum({q(use)}::BIGINT), 0) AS __n, count(*) AS __rows, "
           f"avg({v}) AS __mean, stddev_samp({v}) AS __sd, count({v}) AS __nv, "
           f"list_sort(list({v}) FILTER (WHERE {v} IS NOT NULL)) AS __s "
           f"FROM __os{' GROUP BY ' + k if k else ''}), h AS (SELECT *, {_ranks_sql('__nv', z)} AS __rk FROM g) "
           f"SELECT {k + ', ' if k else ''}__n, __rows, __mean, __sd, __nv, list_select(__s, __rk) AS __v, __rk FROM h")
    got = text_keys(B.collect(nw.from_native(nw.to_native(lf).query("__os", sql))), keys)
    res = sort_groups(got.drop(columns=["__v", "__rk", "__nv"]), keys)
    sizes = got["__nv"].to_numpy(dtype=np.int64)
    lens = np.array([len(r) if isinstance(r, (list, np.ndarray)) else 0 for r in got["__rk"]], dtype=np.int64)
    rows = np.repeat(np.arange(len(got)), lens)
    picked = got[list(keys)].iloc[rows].reset_index(drop=True) if keys else pd.DataFrame(index=range(len(rows)))
    flat = lambda col: (np.concatenate([np.asarray(x, dtype=float) for x, n in zip(got[col], lens) if n])  # noqa: E731
                        if lens.sum() else np.zeros(0))
    picked["__r"] = flat("__rk").astype(np.int64)
    picked["__n"] = sizes[rows]
    picked[value] = flat("__v")
    if period is not None and PERIOD in res.columns:
        res[PERIOD] = period_starts(res[PERIOD], period)
    return res, picked


def _group_values(h: np.ndarray, gid: np.ndarray, present: np.ndarray, *, whole: bool, own: bool):
    """Each group's values, for the groups numbered ``present`` in ``gid`` (in that order), as arrays
    the caller may reorder and overwrite; rows whose number is not in ``present`` (rows without a
    value) never come out. ``whole``: one group holding every row -- ``h`` itself when ``own`` (the
    caller's to overwrite), else a copy. Up to :data:`_MASK_GROUPS` groups: each group's rows by a
    pass over ``gid``; more: the values ordered by group once (a stable argsort, numpy's radix sort
    for 8- and 16-bit numbers) and each group a slice of that one copy."""
    if whole:
        yield h if own else h.copy()
        return
    if len(present) <= _MASK_GROUPS:
        for key in present:
            yield h[gid == key]  # (this group's own copy)
        return
    if gid.dtype.itemsize > 2 and int(gid.max(initial=0)) < (1 << 16):
        gid = gid.astype(np.uint16)  # (radix-sorted)
    hv = h[np.argsort(gid, kind="stable")]
    ends = np.cumsum(count_codes(gid, int(gid.max(initial=0)) + 1))
    for key in present:
        yield hv[(ends[key - 1] if key else 0):ends[key]]


def moments_with_order_stats_local(df: pd.DataFrame, keys: Sequence[str], h: np.ndarray, use: np.ndarray,
                                   z: float, *, period: str | None = None,
                                   value: str = "__h") -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """:func:`aggregate_with_order_stats` for a pandas table whose values are a numpy array: ``h``
    (float64, row by row with ``df``; NaN = no value; this function's to overwrite: with one group
    it is reordered and then holds the deviations from the mean) and the flag ``use`` (boolean).
    The groups numbered ONCE from the keys' codes; each group's rows and used rows from one count
    (:func:`folded_counts`); each group's values copied out once, and its count, mean, standard
    deviation and the ranks its size needs (:func:`needed_ranks`, by :func:`select_ranks`) all read
    from that copy. ``(res, picked)`` as
    :func:`aggregate` and :func:`order_stats` give them. Up to :data:`_MASK_GROUPS` groups each
    group's rows are selected by a pass over the group numbers; with more, the values are ordered by
    group once (numpy's radix sort of 8- or 16-bit numbers) and each group is a slice. None when the
    group numbers need more than 16 bits (the general path then).

    Notes
    -----
    Mean ``sum(x) / n`` (numpy's pairwise sum), standard deviation ``sqrt(sum((x - mean)^2) /
    (n - 1))`` (two passes; missing for ``n < 2``), as pandas', Polars' and DuckDB's sample
    statistics up to rounding in the last bits. The general path ran a group-by of the keys for
    the moments and a second numbering of the groups for the order statistics.

    Examples
    --------
    >>> df = pd.DataFrame({"channel": pd.Categorical(["chat", "email", "chat", "chat"])})
    >>> h = np.array([1.0, 5.0, 3.0, np.nan])
    >>> res, picked = moments_with_order_stats_local(df, ["channel"], h, ~np.isnan(h), 1.96)
    >>> res  # chat: (1 + 3) / 2 = 2, sd sqrt(((1-2)^2 + (3-2)^2) / 1) = 1.414...
      channel  __n  __rows  __mean      __sd
    0    chat    2       3     2.0  1.414214
    1   email    1       1     5.0       NaN
    """
    keys = list(keys)
    small = byte_codes(df, keys, 1) if keys else None
    if small is not None:
        gid, space, decode = small
    elif keys:
        gid, space, decode = _group_codes(df, keys, present=False)
        if not isinstance(space, int):  # (numbered by np.unique: many groups)
            return None
    else:
        gid, space, decode = np.zeros(len(h), dtype=np.uint8), 1, []
    if space >= _SORTED_GROUPS:  # (group numbers beyond 16 bits: the general path)
        return None
    sizes, (n_use,) = flag_totals(folded_counts(gid, [np.asarray(use, dtype=bool)], space))
    present = np.flatnonzero(sizes)
    if not len(present):  # (no rows: the general path's one empty row)
        return None
    out = _key_rows(df, keys, gid, present, decode) if keys else pd.DataFrame(index=range(len(present)))
    missing = np.isnan(h)
    has_missing = bool(missing.any())
    if has_missing:  # (rows without a value: a group of their own, after the others, never read)
        gid[missing] = space  # (gid is this function's own; byte codes leave room for it: space <= 128)
    means, sds, counts = [], [], []
    rows_g, ranks, vals = [], [], []
    parts = _group_values(h, gid, present, whole=len(present) == 1 and not has_missing, own=True)
    for g, part in enumerate(parts):
        nv = len(part)
        counts.append(nv)
        if nv:  # (the order statistics first: then the copy is free to hold the deviations)
            rk = needed_ranks(nv, z)
            rows_g += [g] * len(rk)
            ranks += rk
            vals.append(select_ranks(part, rk))
        mean = float(part.sum()) / nv if nv else np.nan
        means.append(mean)
        if nv >= 2:
            part -= mean
            sds.append(float(np.sqrt(np.dot(part, part) / (nv - 1))))
        else:
            sds.append(np.nan)
    out["__n"] = n_use[present].astype(np.int64)
    out["__rows"] = sizes[present].astype(np.int64)
    out["__mean"] = np.asarray(means, dtype=np.float64)
    out["__sd"] = np.asarray(sds, dtype=np.float64)
    rows_g = np.asarray(rows_g, dtype=np.int64)
    picked = (out[keys].iloc[rows_g].reset_index(drop=True) if keys
              else pd.DataFrame(index=range(len(rows_g))))
    picked["__r"] = np.asarray(ranks, dtype=np.int64)
    picked["__n"] = np.asarray(counts, dtype=np.int64)[rows_g]
    picked[value] = np.concatenate(vals) if vals else np.zeros(0)
    res = sort_groups(out, keys)
    if period is not None and PERIOD in res.columns:
        res[PERIOD] = period_starts(res[PERIOD], period)
    return res, picked


def group_ids(df: pd.DataFrame, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(gid, present)``: a non-negative integer per row, equal for rows with equal ``keys`` (a
    missing key is a key of its own, as ``groupby(dropna=False)``), and the distinct ``gid``
    values in increasing order. A categorical's own codes (no hashing), integers (period codes)
    from their small range, other columns factorized, combined in mixed radix; numbered by
    ``np.unique`` when that space is much larger than the table."""
    gid, present, _ = _group_codes(df, keys)
    return gid, present


def group_keys(df: pd.DataFrame, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """:func:`group_ids` and the keys of each group of ``present`` (dtypes as ``df``'s: what a
    group-by gives), decoded from the codes when every key has some, else read from a row of
    each group."""
    gid, present, decode = _group_codes(df, keys)
    return gid, present, _key_rows(df, keys, gid, present, decode)


def _key_rows(df: pd.DataFrame, keys: Sequence[str], gid: np.ndarray, present: np.ndarray,
              decode: list | None) -> pd.DataFrame:
    """The keys of each group of ``present``: decoded from the codes (``decode``), else read from a
    row of each group."""
    if decode is not None:
        cols, rest = {}, present.copy()
        for k, n, fn in reversed(decode):
            cols[k] = fn(rest % n - 1)
            rest //= n
        return pd.DataFrame({k: cols[k] for k in keys})
    return df[list(keys)].iloc[_first_rows(gid, present)].reset_index(drop=True)


def _group_codes(df: pd.DataFrame, keys: Sequence[str], *,
                 present: bool = True) -> tuple[np.ndarray, np.ndarray | int, list | None]:
    """``(gid, present, decode)``; with ``present=False`` and a small space, ``(gid, space, decode)``:
    the caller counts the groups itself (one count instead of two)."""
    gid, space = None, 1
    decode: list | None = []
    for k in keys:
        s = df[k]
        if isinstance(s.dtype, pd.CategoricalDtype):
            c, n = s.array.codes, len(s.cat.categories) + 1  # (+ 1 below: a missing key is 0)
            fn = (lambda codes, dt=s.dtype: pd.Categorical.from_codes(codes, dtype=dt))
        elif isinstance(s.dtype, np.dtype) and s.dtype.kind == "i" and len(s) and \
                int(s.max()) - int(s.min()) <= 4 * len(s) + 1024:  # (period codes: a small range, never missing)
            x = s.to_numpy()
            lo, hi = int(x.min()), int(x.max())
            c, n = x - (lo + 1), hi - lo + 2  # (codes 1 .. hi - lo + 1 after the + 1 below; 0 never used)
            fn = (lambda codes, lo=lo, dt=s.dtype: (codes + (lo + 1)).astype(dt))
        else:
            c, u = pd.factorize(s, use_na_sentinel=False)
            c, n, fn = c - 1, max(len(u), 1), None
        if gid is not None and space * n >= 2 ** 62:
            _, gid = np.unique(gid, return_inverse=True)
            space, decode = int(gid.max(initial=0)) + 1, None
        if gid is None:
            gid = c.astype(np.int64)
        else:
            gid *= n
            gid += c
        gid += 1
        space *= n
        if decode is not None:
            decode = decode + [(k, n, fn)] if fn is not None else None
    if gid is None:
        return np.zeros(len(df), dtype=np.int64), np.zeros(min(len(df), 1), dtype=np.int64), None
    if space > 4 * len(gid) + 1024:
        uniq, gid = np.unique(gid, return_inverse=True)
        return gid, np.arange(len(uniq), dtype=np.int64), None
    if not present:
        return gid, space, decode
    return gid, np.flatnonzero(np.bincount(gid, minlength=space)), decode


def _first_rows(gid: np.ndarray, present: np.ndarray) -> np.ndarray:
    """The first row of each group of ``present`` (a row holding its keys; ``gid`` may hold other
    groups too): looked for in a growing head of the table (every group usually shows up in its
    first rows), else by one scatter over all rows."""
    m = 4096
    while m < len(gid):
        seen, idx = np.unique(gid[:m], return_index=True)
        wanted = np.isin(seen, present)
        if wanted.sum() == len(present):  # (``seen[wanted]`` is then ``present`` itself)
            return idx[wanted].astype(np.int64)
        m *= 16
    first = np.zeros(int(gid.max(initial=0)) + 1, dtype=np.int64)
    first[gid[::-1]] = np.arange(len(gid) - 1, -1, -1, dtype=np.int64)
    return first[present]


#: more groups than this: a Polars frame's values are not split by group on Polars (``partition_by``)
#: but taken as numpy and grouped there (:func:`_group_values`)
_PARTITION_GROUPS = 64


def _order_stats_local(lf: nw.LazyFrame, value: str, keys: Sequence[str], z: float) -> pd.DataFrame:
    """:func:`order_stats` for a table in this process's memory (pandas, Polars): the values and
    keys are taken as numpy arrays and each group's needed order statistics are selected
    (:func:`select_ranks`, linear time; a rank over the whole column sorts it), each group's values
    taken by :func:`_group_values`. The same values as the ranked path (the order statistics are the
    values themselves)."""
    if keys and lf.implementation is nw.Implementation.POLARS:
        fast = _order_stats_polars(lf, value, keys, z)
        if fast is not None:
            return fast
    # the two or three columns read (filtering the table moved every column of it); groups numbered
    # from the keys' codes (a categorical's own codes); rows without a value are a group never read
    # (the group after the last: the sort below puts it last)
    got = B.collect(lf.select(*keys, value))
    v = got[value].to_numpy(dtype=np.float64, na_value=np.nan)
    cols = [*keys, "__r", "__n", value]
    missing = np.isnan(v)
    if missing.all():
        return pd.DataFrame({c: pd.Series(dtype=got[c].dtype) if c in got.columns else pd.Series(dtype="int64")
                             for c in cols})
    gid = group_ids(got, keys)[0] if keys else np.zeros(len(v), dtype=np.int64)
    if missing.any():  # (rows without a value: a group of their own, never read)
        gid[missing] = unused = int(gid.max()) + 1
    else:
        unused = -1
    counts = np.bincount(gid)
    present = np.flatnonzero(counts)
    present = present[present != unused]
    sizes = counts[present]
    first = _first_rows(gid, present)  # a row of each group (its keys)
    rows_g, ranks, vals = [], [], []
    # (v may be a view of the caller's column: copied, never overwritten)
    parts = _group_values(v, gid, present, whole=len(present) == 1 and unused < 0, own=False)
    for g, (part, n) in enumerate(zip(parts, sizes)):
        rk = needed_ranks(int(n), z)
        rows_g += [g] * len(rk)
        ranks += rk
        vals.append(select_ranks(part, rk))
    rows_g = np.asarray(rows_g, dtype=np.int64)
    out = got[list(keys)].iloc[first[rows_g]].reset_index(drop=True) if keys else pd.DataFrame(index=range(len(rows_g)))
    out["__r"] = np.asarray(ranks, dtype=np.int64)
    out["__n"] = sizes[rows_g].astype(np.int64)
    out[value] = np.concatenate(vals)
    return out


# --- as_of and partial periods -------------------------------------------------------------------------
def as_of_value(as_of: Any) -> pd.Timestamp:
    """A given ``as_of`` as a UTC timestamp."""
    try:
        ts = pd.Timestamp(as_of)
    except (TypeError, ValueError):
        raise ParameterError(f"as_of must be a timestamp like '2026-10-31 23:59Z'; got {as_of!r}") from None
    if pd.isna(ts):
        raise ParameterError(f"as_of must be a timestamp like '2026-10-31 23:59Z'; got {as_of!r}")
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def extremes(t: Table, last: Sequence[str], first: str | None = None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``(earliest first, latest of last)`` over the table: the first and last timestamp of every
    checked timestamp column are fetched once per table (one query), then read from there."""
    if "extremes" not in t.cache:
        spec = S.get_table(t.name)
        cols = [c.name for c in spec.columns if c.kind == "datetime" and c.name in t.checked and c.name in t.columns]
        got = {}
        if cols and t.engine == "pandas" and t.lf.implementation is nw.Implementation.PANDAS:
            got = {c: _extremes_pandas(nw.to_native(t.lf)[c]) for c in cols}
        elif cols:
            row = B.collect(t.lf.select(*[nw.col(c).min().alias(f"__lo{i}") for i, c in enumerate(cols)],
                                        *[nw.col(c).max().alias(f"__hi{i}") for i, c in enumerate(cols)])).iloc[0]
            got = {c: (_utc(row[f"__lo{i}"]), _utc(row[f"__hi{i}"])) for i, c in enumerate(cols)}
        t.cache["extremes"] = got
    got = t.cache["extremes"]
    latest = [got[c][1] for c in last if c in got and not pd.isna(got[c][1])]
    lo = got[first][0] if first is not None and first in got else pd.NaT
    return lo, (max(latest) if latest else pd.NaT)


def _extremes_pandas(s: pd.Series) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and last timestamp of a pandas column from its integer storage (NaT ignored;
    pandas' ``min`` / ``max`` on a zone-aware column cost four times more)."""
    a = s.array
    if not isinstance(a, pd.arrays.DatetimeArray) or not len(a):
        return _utc(s.min()), _utc(s.max())
    i8 = a.asi8
    nat = np.iinfo(np.int64).min
    lo, hi = int(i8.min()), int(i8.max())
    if lo == nat and hi != nat:  # (some missing: the least of the others)
        lo = int(np.where(i8 == nat, np.iinfo(np.int64).max, i8).min())
    ts = lambda v: pd.NaT if v == nat else _utc(pd.Timestamp(v, unit=a.unit, tz=a.tz))  # noqa: E731
    return ts(lo), ts(hi)


def _utc(v: Any) -> pd.Timestamp:
    if v is None or pd.isna(v):
        return pd.NaT
    ts = pd.Timestamp(v)
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def data_as_of(t: Table, as_of: Any, columns: Sequence[str]) -> pd.Timestamp:
    """``as_of`` (UTC); default the data's latest timestamp over ``columns``."""
    if as_of is not None:
        return as_of_value(as_of)
    return extremes(t, columns)[1]


def mark_partial(res: pd.DataFrame, period: str | None, first: pd.Timestamp, last: pd.Timestamp, *,
                 explicit_end: bool) -> pd.DataFrame:
    """Add ``partial`` (True for a period the data does not cover whole) to a ``period=`` result.

    A period is partial when it starts before the data's first day, or ends after the data's
    end: ``as_of`` when given, else the end of the data's last day (an export's last timestamp is
    taken to close its day). Compared in UTC, as the periods are.
    """
    if period is None or PERIOD not in res.columns:
        return res
    start = res[PERIOD]
    end = start.dt.to_period(period).dt.end_time + pd.Timedelta(1, "ns") if len(res) else start
    if pd.isna(first) or pd.isna(last):
        res[PARTIAL] = False
        return res
    first_day = first.tz_convert("UTC").tz_localize(None).normalize()
    last_n = last.tz_convert("UTC").tz_localize(None)
    covered = last_n if explicit_end else last_n.normalize() + pd.Timedelta(days=1)
    res[PARTIAL] = ((start < first_day) | (end > covered)).to_numpy(dtype=bool) if len(res) else []
    return res


def partial(res: pd.DataFrame, t: Table, period: str | None, first: str, last: Sequence[str],
            as_of: Any = None) -> pd.DataFrame:
    """The ``partial`` column of a ``period=`` result from the table's first ``first`` and its end
    (``as_of``, else the latest of ``last``): two numbers from the engine."""
    if period is None:
        return res
    lo, hi = extremes(t, last, first)
    end = as_of_value(as_of) if as_of is not None else hi
    return mark_partial(res, period, lo, end, explicit_end=as_of is not None)
