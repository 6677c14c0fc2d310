"""The data contract on every engine: one table checked once, whatever runs it.

The contract itself -- columns, kinds, what may be empty, allowed values, ranges, keys, survey
bounds, which ids are compared ignoring case -- is declared once in :mod:`qakit.schema`
(:data:`qakit.schema.TABLES`). It is executed here:

- a pandas table by :func:`qakit.schema.validate` (parses text numbers, text timestamps in a time
  zone, day/month order ...), then moved to the engine if the engine is another one;
- a table that lives on an engine (a Parquet file, a Polars, DuckDB or Spark frame) by
  :func:`_engine_contract`, as narwhals expressions on the engine: the types are normalised
  (numbers to float with NaN as null, timestamps to naive UTC, ids to text), ONE aggregate query
  counts every problem, and only when a count is not zero are a few offending rows fetched for the
  message. Ids are normalised as :func:`qakit.schema.validate` does (whitespace, Unicode NFC,
  case/width collisions refused naming both spellings): the few values that need it (whitespace at
  an end, non-ASCII; for agent and reviewer ids the distinct values) are fetched, normalised by the
  same Python function (:func:`qakit.schema._normalise_ids`) and applied back by mapping.

Only the columns a metric reads are checked (``reads``; ``optional`` ones when present): a
conversations table without ``channel`` serves :func:`qakit.kpis.resolution_time`.

What an engine cannot express is refused by name (:class:`~qakit.errors.ParameterError`): text
where numbers or timestamps belong (parse it with :func:`qakit.read_table`, or use
``engine="pandas"``), naive timestamps read in a zone other than UTC.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
import pyarrow as pa

from .. import records as R
from .. import schema as S
from ..errors import FAILURE_COLUMNS, MAX_SHOWN, DataValidationError, ParameterError, _plain, check_choice
from . import _source as B

#: a value that normalisation may change: whitespace at an end, or a non-ASCII character
_SUSPECT = r"^\s|\s$|[^\x00-\x7F]"
#: every Unicode whitespace character (what pandas' validate reads as blank: ``utf8_is_space``), i.e.
#: ``chr(c).isspace()`` over all code points -- written out: scanning 1.1M code points at import cost
#: 0.3 s on every ``import qakit`` (tests/test_engines_parity.py checks the list against the scan)
_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
               "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_ESCAPES = {"\t": "\\t", "\n": "\\n", "\x0b": "\\x0b", "\x0c": "\\f", "\r": "\\r", " ": "\\ "}
#: whitespace-only text, as one character class listing every Unicode whitespace character (RE2's,
#: Java's and Rust's ``\s`` differ: this reads the same on DuckDB, Spark and Polars; a trim with the
#: same 29 characters costs four times more on DuckDB)
_BLANK = "^[" + "".join(_ESCAPES.get(c, c) for c in _WHITESPACE) + "]*$"


def _blank(e: Any) -> Any:
    """Empty or whitespace-only text."""
    return (e == "") | e.str.contains(_BLANK)
#: more distinct values than this are mapped by a join instead of one CASE expression
_MAP_INLINE = 500


@dataclass
class Table:
    """A validated table on its engine: a narwhals lazy frame whose contract columns are typed
    (ids and text as strings, numbers as float with N/A null, timestamps UTC, booleans boolean)."""

    lf: nw.LazyFrame
    engine: str
    name: str
    row_id: str | None
    con: Any
    columns: tuple[str, ...]
    record: R.Record | None = None
    pandas: pd.DataFrame | None = None
    checked: frozenset = field(default_factory=frozenset)
    #: problems found but not raised yet (``validated(..., defer=True)``: the caller adds its own)
    problems: list = field(default_factory=list)
    #: small facts fetched once per table (the earliest and latest timestamps ...)
    cache: dict = field(default_factory=dict)
    #: the record stored with the Parquet files an engine read in place (:func:`qakit.records.parquet_record`:
    #: the rows the table's loader left out or changed); :attr:`record` holds only what this check did
    stored: R.Record | None = None

    def has(self, column: str) -> bool:
        return column in self.columns

    @property
    def carried(self) -> R.Record | None:
        """What a result computed from this table carries: the stored record and this check's."""
        if self.stored is None:
            return self.record
        return self.stored if self.record is None else self.stored.merged(self.record)


def validated(data: Any, table: str, *, reads: Iterable[str], optional: Iterable[str] = (), engine: Any = None,
              like: "Table | None" = None, tz: str = "UTC", id_normalize: str | None = None,
              defer: bool = False, check_unique: bool = True) -> Table:
    """``data`` resolved on its engine (``engine``; ``like``: the engine of another table of the
    same call) and checked against the ``table`` contract on the columns ``reads`` (required) and
    ``optional`` (when present). ``defer``: row-level problems are returned in
    :attr:`Table.problems` instead of raised (the caller adds its own and raises them all at once;
    a missing column or an empty table still raises at once)."""
    if isinstance(data, Table):
        return data
    spec = S.get_table(table)
    src = data if isinstance(data, B.Source) else B.resolve(data, engine, like=_like_source(like), what=table)
    present = set(source_columns(src))
    wanted = list(dict.fromkeys([*reads, *(c for c in optional if c in present)]))
    if spec.row_id and spec.row_id in present and spec.row_id not in wanted:
        wanted.append(spec.row_id)
    if src.kind == "pandas" or src.engine == "pandas":
        df = B.to_pandas(src)
        memo: dict = {}  # (what the check learnt about the columns: the timestamps' extremes, for this call)
        v, found = S.check(df, table, tz=tz, id_normalize=id_normalize, columns=wanted, memo=memo)
        if defer:
            rows = list(found.rows)
        else:
            found.raise_if_any()
            rows = []
        if src.engine == "pandas":
            lf = nw.from_native(v).lazy()
            t = Table(lf, "pandas", spec.name, spec.row_id, None, tuple(map(str, v.columns)), R.get_record(v), v,
                      frozenset(wanted), rows)
            _keep_extremes(t, spec, v, memo)
            return t
        if rows:  # not movable before its problems are fixed: raised here, with the caller's when it has any
            return Table(None, src.engine, spec.name, spec.row_id, src.con, tuple(map(str, v.columns)),
                         R.get_record(v), v, frozenset(wanted), rows)
        lf = B.as_lazy(B.native_frame(src, pandas_df=v))
        return Table(lf, src.engine, spec.name, spec.row_id, src.con, tuple(map(str, v.columns)), R.get_record(v),
                     None, frozenset(wanted))
    key = _file_key(src, spec, tz, id_normalize, check_unique)
    if key is not None:
        hit = _cached_contract(key, wanted)
        if hit is None and not check_unique:  # (a run that also checked the keys answers one that does not:
            hit = _cached_contract((*key[:-1], True), wanted)  # the report's loader, then scoring)
        if hit is not None:
            return hit
    t = _engine_contract(src, spec, wanted, tz=tz, id_normalize=id_normalize, defer=defer,
                         check_unique=check_unique)
    if key is not None and not t.problems:
        _CONTRACTS[key] = [*_CONTRACTS.pop(key, [])[-3:], t]
        while len(_CONTRACTS) > _CONTRACT_FILES:
            _CONTRACTS.pop(next(iter(_CONTRACTS)))
    return t


def _keep_extremes(t: Table, spec: S.Table, v: pd.DataFrame, memo: dict) -> None:
    """The first and last timestamp of every checked timestamp column, as the check read them
    (:func:`qakit.schema.timestamp_extremes`), in ``t.cache["extremes"]`` (what
    :func:`qakit.metrics._groups.extremes` reads: no second pass over ten million timestamps)."""
    got = {}
    for c in spec.columns:
        if c.kind == "datetime" and c.name in t.checked and c.name in v.columns:
            lohi = S.timestamp_extremes(v[c.name], memo)
            if lohi is None:
                return
            got[c.name] = lohi
    t.cache["extremes"] = got


# --- the contract of a file, once per process ---------------------------------------------------------
#: validated tables of Parquet files on DuckDB, by :func:`_file_key`: the same unchanged files checked
#: on the same columns are not checked again (a report asks the KPI summary, the tiles, the times by
#: channel and the exclusions of the same conversations; each call validated them anew: 2 s per
#: call at 3M rows, most of it the uniqueness count of the ids)
_CONTRACTS: dict[tuple, list[Table]] = {}
#: how many file sets are kept (the oldest is dropped first)
_CONTRACT_FILES = 8
#: files up to this size are fingerprinted by their whole content; larger ones by size, modification
#: time, inode and their last 64 KiB (the Parquet footer: every row group's sizes and statistics)
_HASH_WHOLE = 8 << 20


def _file_key(src: B.Source, spec: S.Table, tz: str, id_normalize: str | None, check_unique: bool) -> tuple | None:
    """What identifies a contract run on Parquet files read by DuckDB: the files (each one's
    fingerprint, :data:`_HASH_WHOLE`), the table, the options; None for anything else (a frame or
    relation may change without a trace; other engines and connections the caller made are not cached)."""
    if src.kind != "parquet" or src.engine != "duckdb" or src.con is not B.duckdb_connection():
        return None  # (a connection the caller made may be closed and its id reused: only qakit's own is kept)
    files = []
    try:
        for p in src.paths:
            path = Path(p)
            found = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
            for f in found:
                files.append((str(f), _fingerprint(f)))
    except OSError:  # (unreadable: no cache; the engine's read names the problem)
        return None
    return (tuple(files), spec.name, tz, id_normalize, check_unique)


def _fingerprint(f: Path) -> tuple:
    st = f.stat()
    h = hashlib.blake2b(digest_size=16)
    with open(f, "rb") as fh:
        if st.st_size > _HASH_WHOLE:
            fh.seek(st.st_size - (64 << 10))
        h.update(fh.read())
    return (st.st_size, st.st_mtime_ns, st.st_ino, h.hexdigest())


def _cached_contract(key: tuple, wanted: list[str]) -> Table | None:
    """A table validated before on these files: on exactly ``wanted``, or on more columns when that
    run changed nothing (no record: the result carries no adjustment of a column not asked for)."""
    want = frozenset(wanted)
    for t in reversed(_CONTRACTS.get(key, [])):
        if t.checked == want or (t.record is None and want <= t.checked):
            return t
    return None


def _like_source(like: Table | None) -> B.Source | None:
    if like is None:
        return None
    return B.Source(None, "table", like.engine, like.con)


def source_columns(src: B.Source) -> list[str]:
    """The columns of a table on any engine, from its schema (no row read)."""
    d, k = src.data, src.kind
    if k == "pandas":
        return list(map(str, d.columns))
    if k == "parquet":
        return list(B.parquet_dataset(src.paths).schema.names)
    if k == "polars":
        return list(d.collect_schema().names()) if hasattr(d, "collect_schema") else list(d.columns)
    if k in ("duckdb", "spark"):
        return list(d.columns)
    if k == "arrow":
        return list(d.column_names)
    return []


# --- the contract on an engine -----------------------------------------------------------------------
@dataclass
class _Check:
    column: str
    check: str
    flag: str          # name of the boolean flag column
    value: str | None  # column whose values the message shows


def _problem_row(table: str, column: str, check: str, n: int, values: list, ids: list) -> dict[str, Any]:
    return dict(table=table, column=column, check=check, n_failed=int(n), failing_values=[_plain(v) for v in values],
                row_ids=[_plain(i) for i in ids])


def _raise(rows: list[dict[str, Any]]) -> None:
    if rows:
        raise DataValidationError(pd.DataFrame(rows, columns=FAILURE_COLUMNS))


def _is_text(dtype) -> bool:
    return dtype == nw.String or isinstance(dtype, (nw.Categorical, nw.Enum)) or dtype == nw.Categorical


def _typed(col: S.Column, dtype, tz: str, engine: str, native: str = "") -> tuple[Any, list[tuple[str, Any]], bool]:
    """``(typed expression, [(parse-problem check, flag expression on the raw value)], keep raw)``
    for one contract column of native type ``dtype`` (blank text ids are made missing by the caller:
    row by row in memory, by their distinct values on a query engine)."""
    c = nw.col(col.name)
    kind = col.kind
    if kind in ("id", "str"):
        if _is_text(dtype):
            e = c.cast(nw.String)
        elif dtype.is_integer():  # whole numbers compare, group and join as their text does: kept as they are
            return c, [], False   # (cast to text where shown); no whitespace, no case, nothing blank
        elif dtype.is_float():
            whole = c.is_finite() & (c == c.floor()) & (c.abs() < S._EXACT_FLOAT)
            e = nw.when(whole).then(c.cast(nw.Int64).cast(nw.String)).otherwise(c.cast(nw.String))
            if kind == "id":
                e = nw.when(c.is_finite()).then(e)
                probs = [(("id stored as a float of magnitude >= 2**53 (9007199254740992): floats cannot hold such "
                           "ids exactly (different ids may have become one number); export the ids as text"),
                          c.is_finite() & (c.abs() >= S._EXACT_FLOAT)),
                         ("not a valid id (infinite)", ~c.is_finite() & ~c.is_nan())]
                return e, probs, True
        elif dtype == nw.Boolean:
            e = c.cast(nw.String)
        else:
            raise ParameterError(f"column {col.name!r} has type {dtype} on engine {engine!r}; it must be text "
                                 "(use engine='pandas' to convert it)")
        return e, [], False
    if kind == "float":
        if dtype.is_numeric():
            return c.cast(nw.Float64).fill_nan(None), [], False
        if dtype == nw.Boolean:
            return c.cast(nw.Float64), [], False
        raise ParameterError(
            f"column {col.name!r} holds {dtype} on engine {engine!r} where numbers belong: store numbers (read text "
            "files with qakit.read_table, which parses them), or use engine='pandas'")
    if kind == "bool":
        if dtype == nw.Boolean:
            return c, [], False
        if dtype.is_numeric():
            e = nw.when(c == 1).then(nw.lit(True)).when(c == 0).then(nw.lit(False))
            return e, [(f"not a boolean (allowed: {sorted(S._TRUE | S._FALSE)})", ~c.is_null() & (c != 1) & (c != 0))], True
        if _is_text(dtype):
            t = c.cast(nw.String).str.strip_chars().str.to_lowercase()
            e = nw.when(t.is_in(sorted(S._TRUE))).then(nw.lit(True)).when(t.is_in(sorted(S._FALSE))).then(nw.lit(False))
            bad = ~c.is_null() & ~t.is_in(sorted(S._TRUE | S._FALSE | S.MISSING_TOKENS | {""}))
            return e, [(f"not a boolean (allowed: {sorted(S._TRUE | S._FALSE)})", bad)], True
        raise ParameterError(f"column {col.name!r} has type {dtype} on engine {engine!r}; it must be boolean")
    if kind == "datetime":
        if isinstance(dtype, nw.Datetime) or dtype == nw.Datetime:
            zone = getattr(dtype, "time_zone", None)
            if zone is not None:
                return (c if engine == "spark" else c.dt.convert_time_zone("UTC").dt.replace_time_zone(None)), [], False
            if tz not in ("UTC", "Etc/UTC") and engine != "spark":
                raise ParameterError(
                    f"column {col.name!r}: naive timestamps read in tz={tz!r} are converted on engine='pandas' only "
                    f"(which reports DST gaps and overlaps); on engine {engine!r} store UTC or zone-aware timestamps")
            return c, [], False
        if dtype == nw.Date:
            return c.cast(nw.Datetime("us")), [], False
        if str(native).startswith("TIMESTAMP WITH TIME ZONE") or str(native).startswith("TIMESTAMPTZ"):
            # (DuckDB's nanosecond TIMESTAMPTZ_NS, which narwhals does not name): UTC microseconds
            return c.cast(nw.Datetime("us", "UTC")).dt.convert_time_zone("UTC").dt.replace_time_zone(None), [], False
        if str(native).startswith("TIMESTAMP"):
            return c.cast(nw.Datetime("us")), [], False
        raise ParameterError(
            f"column {col.name!r} holds {dtype} on engine {engine!r} where timestamps belong: store timestamps (read "
            "text files with qakit.read_table, which parses them in a time zone), or use engine='pandas'")
    raise ParameterError(f"unknown column kind {kind!r}")  # pragma: no cover


def _engine_contract(src: B.Source, spec: S.Table, wanted: list[str], *, tz: str,
                     id_normalize: str | None, defer: bool = False, check_unique: bool = True) -> Table:
    check_choice("id_normalize", id_normalize, S.ID_NORMALIZE)
    if src.engine == "duckdb":
        B._duckdb_without_nan_folding(src.con)
    native_frame = B.native_frame(src)
    if src.engine == "duckdb":
        native_frame = _duckdb_naive_utc(native_frame, [c.name for c in S.checked_columns(spec, wanted)
                                                        if c.kind == "datetime"])
    lf = B.as_lazy(native_frame)
    schema = lf.collect_schema()
    native_types = (dict(zip(native_frame.columns, map(str, native_frame.types))) if src.engine == "duckdb" else {})
    present = list(schema.names())
    cols = [c for c in S.checked_columns(spec, wanted)]
    missing = [c.name for c in cols if c.required and c.name not in present]
    if missing:
        _raise([_problem_row(spec.name, m, f"required column is missing (columns present: {present})", 1, [], [])
                for m in missing])
    cols = [c for c in cols if c.name in present]
    rid = spec.row_id if spec.row_id in present else None
    typed: dict[str, Any] = {}
    parse: list[tuple[S.Column, str, Any]] = []
    raws: dict[str, Any] = {}
    for c in cols:
        e, probs, keep_raw = _typed(c, schema[c.name], tz, src.engine, native_types.get(c.name, ""))
        typed[c.name] = e
        for check, flag in probs:
            parse.append((c, check, flag))
        if keep_raw and probs:
            raws[f"__raw_{c.name}"] = nw.col(c.name)
    # a Polars frame without parse problems is typed once in memory (below), blank ids made missing
    # there row by row; on the query engines text ids are judged on their distinct values (blank,
    # whitespace, Unicode form) after the count query
    in_memory = src.engine == "polars" and not parse
    # (in memory, text ids are judged from their bytes after the typed frame is collected: blank ones
    # made missing, suspect ones flagged -- no regular expression over every row)
    text_ids = [c.name for c in cols if in_memory and c.kind == "id" and _is_text(schema[c.name])]
    codes = spec.name in _CODES_TABLES  # (categorical labels and repeated ids kept so; the others as text)
    if in_memory:
        for c in cols:
            if c.name in text_ids:  # (typed by _polars_text_ids once collected)
                typed[c.name] = nw.col(c.name)
            elif c.kind == "id" and not schema[c.name].is_integer():
                typed[c.name] = nw.when(~_blank(typed[c.name])).then(typed[c.name])  # blank ids are missing ids
            elif c.kind == "str" and codes and isinstance(schema[c.name], (nw.Categorical, nw.Enum)):
                # labels (channel, kind, status ...) stay categorical, as pandas' validate keeps them: compared,
                # filtered and grouped by their codes (cast to text, 3M survey kinds cost 0.04 s per KPI)
                typed[c.name] = nw.col(c.name)
    flags: dict[str, Any] = {}
    checks: list[_Check] = []
    for i, (c, check, flag) in enumerate(parse):
        flags[f"__p{i}"] = flag.fill_null(False)
    # ``out``: the typed table the metrics read (ids mapped below); ``lf``: the same with the check
    # columns, for the counts and messages only (an engine need not compute flags, or a window, again
    # for every later query of the metric)
    raw_lf = lf
    out = lf.with_columns(**typed)
    uniq = list(spec.unique) if check_unique and spec.unique else []
    raw_key = (f"__rawkey_{uniq[0]}" if len(uniq) == 1 and uniq[0] in present
               and isinstance(schema[uniq[0]], (nw.Categorical, nw.Enum)) else None)
    if in_memory:
        # in memory: the typed columns computed once (text casts, blank ids), every later query of
        # the metric reads them as they are; a categorical key kept as its codes for the uniqueness count
        # (two categorical key columns: their codes as one integer, B.physical_key -- counting the
        # distinct texts joined cost 0.5 s per 3M survey answers, the codes 0.014 s)
        keep = {raw_key: nw.col(uniq[0])} if raw_key else {}
        if raw_key is None and len(uniq) == 2 and all(u in present and isinstance(schema[u], (nw.Categorical, nw.Enum))
                                                      for u in uniq):
            raw_key = "__rawkey"
            lf = B.with_physical_key(lf, uniq, raw_key)
            keep = {raw_key: nw.col(raw_key)}
        base = lf.with_columns(**keep) if keep else lf
        got = (base.with_columns(**typed) if typed else base).select(*present, *keep).collect()
        got, id_flags = _polars_text_ids(nw.to_native(got), text_ids, codes=codes)
        lf = nw.from_native(got.with_columns(id_flags) if id_flags else got).lazy()
        out = nw.from_native(got.drop(*keep) if keep else got).lazy()
    else:
        lf = lf.with_columns(**raws, **flags, **typed)
        if raw_key:
            raw_key = None
    if rid is not None:  # the row ids as stored (before ids are normalised), for messages and records
        lf = lf.with_columns(nw.col(rid).cast(nw.String).alias("__rid"))
        rid = "__rid"
    for i, (c, check, _) in enumerate(parse):
        checks.append(_Check(c.name, check, f"__p{i}", f"__raw_{c.name}"))
    row_flags: dict[str, Any] = {}
    k = 0

    def add(column: str, check: str, expr: Any, value: str | None) -> None:
        nonlocal k
        name = f"__c{k}"
        k += 1
        row_flags[name] = expr.fill_null(False)
        checks.append(_Check(column, check, name, value))

    suspects: dict[str, str] = {}
    suspect_text: dict[str, str] = {}  # flag -> text id column, flagged by the engine's primitive
    empty_flag: dict[str, str] = {}  # required column -> its "empty value" check's flag
    distinct_vals: dict[str, list] = {}
    pair_cache = None
    by_pairs = False  # the ratings' counts grouped by (category, rating): scoring reads the pairs
    for c in cols:
        x = nw.col(c.name)
        if not c.nullable:  # (blank text is empty too, as pandas' validate reads it)
            if c.kind == "str":
                # a required text column holds labels (category, channel, status ...): its few distinct
                # values are read once (a group-by) and judged blank in Python -- what pandas reads as
                # blank, and much cheaper than a regular expression on every row. A ratings table's
                # categories are read with their ratings: scoring judges the (category, rating) pairs
                if spec.name == "ratings" and c.name == S.CATEGORY and S.RATING in present and not uniq:
                    # (the pairs come with the counts: one scan; their blank categories are added then)
                    by_pairs = True
                    empty = x.is_null()
                else:
                    # (a Polars categorical: grouped by its codes, before the cast to text)
                    cat = src.engine == "polars" and isinstance(schema[c.name], (nw.Categorical, nw.Enum))
                    vals = B.distinct(raw_lf if cat else out, c.name).tolist()
                    distinct_vals[c.name] = [v for v in vals if isinstance(v, str)]
                    blanks = [v for v in distinct_vals[c.name] if not v.strip(_WHITESPACE)]
                    empty = x.is_null() | (_one_of(c.name, blanks))
            else:
                empty = x.is_null()
            empty_flag[c.name] = f"__c{k}"
            add(c.name, "empty value in a required column", empty, c.name)
        if c.allowed is not None:
            add(c.name, f"not one of {', '.join(repr(a) for a in c.allowed)}", ~x.is_null() & ~x.is_in(list(c.allowed)),
                c.name)
        if c.kind == "float":
            add(c.name, "not a finite number (inf)", ~x.is_null() & ~x.is_finite(), c.name)
            finite = ~x.is_null() & x.is_finite()
            if c.min is not None:
                add(c.name, f"below the minimum {c.min:g}", finite & (x < c.min), c.name)
            if c.max is not None:
                add(c.name, f"above the maximum {c.max:g}", finite & (x > c.max), c.name)
        if c.kind == "id":
            name = f"__s_{c.name}"
            # (numbers written as text have no whitespace and no non-ASCII character to normalise)
            text = _is_text(schema[c.name])
            if c.name in text_ids:  # (flagged from the bytes: _polars_text_ids)
                suspects[c.name] = name
            elif text and not in_memory:
                if c.name not in S.CASE_CHECKED_IDS:  # (people's ids: every distinct value is read below)
                    suspect_text[name] = c.name
                    suspects[c.name] = name
            else:
                row_flags[name] = x.str.contains(_SUSPECT).fill_null(False) if text else (x != x).fill_null(False)
                suspects[c.name] = name
    future = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)).tz_localize(None).to_pydatetime()
    for c in cols:
        if c.kind == "datetime":
            x = nw.col(c.name)
            lit = nw.lit(future) if src.engine != "spark" else nw.lit(future)
            add(c.name, "timestamp in the future (more than a day after now: wrong year or day/month swapped?)",
                ~x.is_null() & (x > lit), c.name)
    names = {c.name for c in cols}
    if spec is S.SURVEYS and {S.KIND, S.SCORE} <= names:
        for kind, (lo, hi) in S.SURVEY_BOUNDS.items():
            sc = nw.col(S.SCORE)
            add(S.SCORE, f"{kind} score outside {lo:g}..{hi:g}",
                (nw.col(S.KIND) == kind) & ~sc.is_null() & ~sc.is_between(lo, hi), S.SCORE)
    dup_key = None
    hashed = hash_native = per_first = False
    labels = None
    key_aggs = []
    if check_unique and spec.unique and set(spec.unique) <= names:
        dup_key = list(spec.unique)
        whole = None
        for u in dup_key:
            whole = ~nw.col(u).is_null() if whole is None else whole & ~nw.col(u).is_null()
        # duplicates counted as rows with a whole key minus distinct whole keys (a window over every key
        # would cost more than the rest of the query); the rows are found only when there are some
        # (a categorical key: its codes -- one per distinct text -- counted instead of the text)
        # (one whole-number key: counted as stored, its text is one per number; text keys on DuckDB: their
        # 64-bit hashes counted -- fewer distinct hashes than keys only by a collision, which sends the
        # count to the exact window below, never past a duplicate)
        int_key = len(dup_key) == 1 and schema[dup_key[0]].is_integer()
        key = (nw.col(raw_key) if raw_key else nw.col(dup_key[0]) if int_key
               else nw.col(dup_key[0]).cast(nw.String) if len(dup_key) == 1 else
               nw.concat_str([nw.col(u).cast(nw.String) for u in dup_key], separator="\x1f"))
        hashed = src.engine == "duckdb" and not int_key and not raw_key
        # (several columns stored as text or whole numbers on DuckDB: hashed as stored below, not
        # their texts joined -- the same equality, without a string built per row)
        hash_native = hashed and len(dup_key) > 1 and all(_is_text(schema[u]) or schema[u].is_integer()
                                                          for u in dup_key)
        # (two columns on DuckDB, the second with at most 62 distinct labels already read -- the ratings'
        # (review_id, category), the surveys' (conversation_id, kind): counted per first column below,
        # each label one bit, instead of counting every distinct pair: a tenth of the groups)
        labels = distinct_vals.get(dup_key[1]) if src.engine == "duckdb" and len(dup_key) == 2 else None
        per_first = labels is not None and 0 < len(labels) <= 62
        row_flags["__kw"] = whole.fill_null(False)
        if not per_first:
            row_flags["__key"] = nw.when(whole).then(nw.lit(1) if hash_native else key)
            key_aggs = [nw.col("__key").n_unique().alias("__nk"), nw.col("__key").is_null().any().alias("__knull")]
    lf = B.with_suspect_text(lf.with_columns(**row_flags), src.engine, suspect_text, _SUSPECT)
    if dup_key and hashed and not per_first:
        inner = ", ".join(f'"{c}"' for c in dup_key) if hash_native else '"__key"'
        lf = nw.from_native(nw.to_native(lf).project('* REPLACE (CASE WHEN "__key" IS NULL THEN NULL '
                                                     f'ELSE hash({inner}) END AS "__key")'))
    count_names = [ch.flag for ch in checks] + list(suspects.values()) + (["__kw"] if dup_key else [])
    aggs = [nw.len().alias("__rows"), *[_n_true(f, src.engine) for f in count_names], *key_aggs]
    if by_pairs:  # the counts per (category, rating) pair, summed here; the pairs kept for scoring
        got = B.collect(lf.group_by(S.CATEGORY, S.RATING, drop_null_keys=False).agg(*aggs))
        pair_cache = got[[S.CATEGORY, S.RATING]].assign(__n=got["__rows"])
        counts = {k: int(pd.to_numeric(got[k]).fillna(0).sum()) for k in got.columns if k.startswith("__")}
        vals = pd.unique(pair_cache[S.CATEGORY]).tolist()
        distinct_vals[S.CATEGORY] = [v for v in vals if isinstance(v, str)]
        blanks = [v for v in distinct_vals[S.CATEGORY] if not v.strip(_WHITESPACE)]
        if blanks:
            flag = empty_flag[S.CATEGORY]
            counts[flag] += int(pair_cache.loc[pair_cache[S.CATEGORY].isin(blanks), "__n"].sum())
            lf = lf.with_columns((nw.col(S.CATEGORY).is_null() | _one_of(S.CATEGORY, blanks)).alias(flag))
    else:
        counts = B.collect(lf.select(*aggs), whole=True)
        counts = {k: int(v) if v == v and v is not None else 0 for k, v in counts.iloc[0].items()}
    remapped: set[str] = set()
    # text ids on a query engine: the distinct values of people's ids, or of the flagged rows of the
    # others, fetched once; blank ones (empty, whitespace only: what pandas' validate reads as blank)
    # become missing ids, the rest are normalised below
    id_values: dict[str, pd.DataFrame] = {}
    for c in cols:
        if c.kind != "id" or in_memory or not _is_text(schema[c.name]):
            continue
        n = c.name
        if n in S.CASE_CHECKED_IDS:
            base = raw_lf.select(nw.col(n).cast(nw.String))
        elif counts.get(suspects[n], 0):
            base = lf.filter(nw.col(suspects[n])).select(n)
        else:
            continue
        dist = B.collect(base.filter(~nw.col(n).is_null()).group_by(n).agg(nw.len().alias("__n")))
        blank = np.array([not str(v).strip(_WHITESPACE) for v in dist[n]], dtype=bool)
        if blank.any():
            vals = list(dist.loc[blank, n])
            kept = nw.when(~nw.col(n).is_in(vals)).then(nw.col(n)).alias(n)
            lf, out = lf.with_columns(kept), out.with_columns(kept)
            if n in empty_flag:
                counts[empty_flag[n]] += int(dist.loc[blank, "__n"].sum())
                lf = lf.with_columns(nw.col(n).is_null().alias(empty_flag[n]))
            remapped.add(n)
        id_values[n] = dist[~blank].reset_index(drop=True)
    if dup_key:
        whole_rows = counts.pop("__kw")
        if per_first:
            twice = _repeated_pairs(lf, dup_key, labels) > 0
        else:
            twice = whole_rows > counts.pop("__nk") - (1 if counts.pop("__knull") else 0)
        if twice:  # some key twice: which rows (a window, now that it is needed)
            lf = lf.with_columns((nw.col("__kw") & (nw.len().over(*dup_key) > 1)).fill_null(False).alias("__dup"))
            counts["__dup"] = int(B.collect(lf.select(_sum_flag("__dup")))["__dup"].iloc[0] or 0)
    if counts["__rows"] == 0:
        _raise([_problem_row(spec.name, ([c.name for c in cols if c.required] or spec.required)[0], "table has no rows",
                             1, [], [])])
    problems: list[dict[str, Any]] = []
    record = R.Record.empty()
    # ids: whitespace, Unicode form, case/width (the values that need it are fetched and normalised
    # by qakit.schema's own function, then mapped back on the engine)
    id_problems: dict[str, dict] = {}
    for c in cols:
        if c.kind != "id":
            continue
        if not _is_text(schema[c.name]) and not schema[c.name].is_float():
            continue  # (whole numbers: nothing to normalise)
        fold = c.name in S.CASE_CHECKED_IDS
        if c.name in id_values:
            dist = id_values[c.name]
        elif not fold and counts.get(suspects.get(c.name, ""), 0) == 0:
            continue
        else:
            base = lf if fold else lf.filter(nw.col(suspects[c.name]))
            dist = B.collect(base.filter(~nw.col(c.name).is_null()).group_by(c.name).agg(nw.len().alias("__n")))
        if dist.empty:
            continue
        dist = dist.sort_values(c.name, kind="stable").reset_index(drop=True)
        uniq = pd.Index(dist[c.name].astype("str"), dtype="str")
        counts_fn = (lambda d=dist: d["__n"].to_numpy(dtype=np.int64))
        canon, changed, collide, merged = S._normalise_ids(uniq, counts_fn, id_normalize=id_normalize, fold=fold)
        found, clash = S.id_findings(c.name, uniq, canon, changed, collide, merged)
        for reason, mask in found:
            ids = _ids_where(lf, rid, nw.col(c.name).is_in(list(uniq[mask])))
            # (source "validate", as qakit.schema's check stamps it)
            record = record.with_entry(R.ADJUSTED_KEY, reason, c.name, tuple(ids), "validate")
        if clash is not None:
            vals = list(uniq[clash[1]])
            ex = B.collect(lf.filter(nw.col(c.name).is_in(vals)).select(*([rid] if rid else []), c.name)
                           .sort(*([rid] if rid else [c.name])).head(50))
            n = int(dist.loc[clash[1], "__n"].sum())
            id_problems[c.name] = _problem_row(spec.name, c.name, clash[0], n, list(pd.unique(ex[c.name]))[:MAX_SHOWN],
                                               list(ex[rid])[:MAX_SHOWN] if rid else [])
        change = (changed | merged) if canon is not None else np.zeros(len(uniq), dtype=bool)
        if change.any():
            mapping = dict(zip(uniq[change], np.asarray(canon, dtype=object)[change]))
            lf = _map_values(lf, c.name, mapping, src)
            out = _map_values(out, c.name, mapping, src)
            remapped.add(c.name)
    # the problems, in the order pandas' validate lists them (per column, then timestamps, surveys, keys)
    order = [c.name for c in cols]
    by_col: dict[str, list[dict]] = {n: [] for n in order}
    later: list[dict] = []
    for ch in checks:
        n = counts.get(ch.flag, 0)
        if not n:
            continue
        row = _examples(lf, spec.name, ch, n, rid)
        if ch.check.startswith("timestamp in the future") or " score outside " in ch.check:
            later.append(row)
        else:
            by_col[ch.column].append(row)
    for name in order:
        if name in id_problems:
            problems.append(id_problems[name])
        problems.extend(by_col[name])
    problems.extend(later)
    if dup_key and remapped & set(dup_key):  # ids normalised: duplicates counted again ('c1' and 'c1 ' are one;
        # a blank id is now missing: its row has no whole key)
        lf = lf.with_columns(whole.fill_null(False).alias("__kw"))
        lf = lf.with_columns((nw.col("__kw") & (nw.len().over(*dup_key) > 1)).fill_null(False).alias("__dup"))
        counts["__dup"] = int(B.collect(lf.select(_sum_flag("__dup")))["__dup"].iloc[0] or 0)
    if dup_key and counts.get("__dup", 0):
        key = nw.concat_str([nw.col(u).cast(nw.String).fill_null("<missing>") for u in dup_key], separator=" / ")
        ex = B.collect(lf.filter(nw.col("__dup")).select(*([rid] if rid else []), key.alias("__key"))
                       .sort("__key", *([rid] if rid else [])).head(50))
        problems.append(_problem_row(spec.name, " + ".join(dup_key), f"duplicate key ({', '.join(dup_key)})",
                                     counts["__dup"], list(pd.unique(ex["__key"]))[:MAX_SHOWN],
                                     list(ex[rid])[:MAX_SHOWN] if rid else []))
    if not defer:
        _raise(problems)
    lf = out
    entries = record.entries(R.ADJUSTED_KEY)
    rec = R.Record("validate", (), entries) if entries else None
    table = Table(lf, src.engine, spec.name, spec.row_id, src.con, tuple(lf.collect_schema().names()), rec, None,
                  frozenset(wanted), problems, stored=R.parquet_record(src.paths) if src.kind == "parquet" else None)
    for name, vals in distinct_vals.items():  # (scoring reads the categories again: fetched once)
        table.cache[("distinct", name)] = vals
    if pair_cache is not None:
        table.cache["category_rating_pairs"] = pair_cache
    return table


#: the tables whose categorical labels and repeated ids stay categorical on Polars (the KPIs' tables,
#: whose metrics compare, group and join them as such; scoring joins the ratings' categories with
#: text, so a ratings table's are text as before)
_CODES_TABLES = ("conversations", "surveys", "calls")
#: a categorical id column of a Polars frame with at most this many distinct ids per row stays
#: categorical, judged on its distinct ids (:func:`_polars_text_ids`); above it, every row's text
#: is read (a cast of 10M customer ids to text cost 0.98 s, of their 3.3M distinct ids 0.33 s)
_REPEATED_IDS = 0.5


def _polars_text_ids(df: Any, names: list[str], *, codes: bool = True) -> tuple[Any, list]:
    """``(df with the text id columns ``names`` typed, blank ids missing; [one "__s_<name>" flag
    Series per column: the ids an id normalisation may change])`` for a collected Polars frame.
    Judged from the ids' bytes, as :func:`qakit.schema.validate` judges them
    (:func:`qakit.schema._suspect_positions`: whitespace or a control character at an end, any
    non-ASCII byte; blank: empty, or a suspect that is whitespace only): two reductions over the
    bytes when nothing is suspect, where a regular expression over every row cost 0.2 s per 10M ids.

    With ``codes``, a categorical column whose rows repeat ids (at most half as many distinct ids as
    rows: a customer's, an agent's) stays categorical, judged on the ids its rows use (each read once,
    its distinct values); a column of mostly distinct ids (the table's own key) becomes text
    (every row's text is read anyway)."""
    import polars as pl  # (a Polars frame: polars is installed)

    flags = []
    for name in names:
        s = df.get_column(name)
        cat = isinstance(s.dtype, (pl.Categorical, pl.Enum))
        n = len(s)
        if codes and cat and s.n_unique() <= _REPEATED_IDS * n:
            used = s.unique().cast(pl.String)
            sus, blank = _text_positions(used)
            if len(blank):
                gone = used.gather(blank).to_list()
                df = df.with_columns(pl.when(pl.col(name).is_in(gone)).then(None)
                                     .otherwise(pl.col(name)).alias(name))
            odd = used.gather(sus).to_list()
            if odd:  # (ids to normalise: the column as text, which the normalised ids are mapped on -- an
                # Enum cannot take a value outside its categories)
                flags.append(s.is_in(odd).fill_null(False).alias(f"__s_{name}"))
                df = df.with_columns(pl.col(name).cast(pl.String))
            else:
                flags.append(pl.Series(f"__s_{name}", np.zeros(n, dtype=bool)))
            continue
        text, sus, blank = _text_and_positions(s)
        if len(blank):
            mask = np.zeros(n, dtype=bool)
            mask[blank] = True
            text = pl.select(pl.when(pl.Series(mask)).then(None).otherwise(text).alias(name)).to_series()
        if text is not s:
            df = df.with_columns(text)
        flag = np.zeros(n, dtype=bool)
        flag[sus] = True
        flags.append(pl.Series(f"__s_{name}", flag))
    return df, flags


def _text_and_positions(s: Any) -> tuple[Any, np.ndarray, np.ndarray]:
    """``(s as text, suspect positions, blank positions)`` (:func:`_text_positions`). (Read in two
    halves on two threads it cost twice the CPU and more wall time: the casts contend on Polars'
    global categories.)"""
    import polars as pl  # (a Polars frame: polars is installed)

    t = s if s.dtype == pl.String else s.cast(pl.String)
    return (t, *_text_positions(t))


def _text_positions(text: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(suspect positions, blank positions)`` of a Polars text Series, from its bytes."""
    arr = text.rechunk().to_arrow()
    if arr.type not in (pa.string(), pa.large_string()):
        arr = arr.cast(pa.large_string())
    sus = S._suspect_positions(arr)
    return sus, S._blank_positions(arr, sus)


def _repeated_pairs(lf: nw.LazyFrame, key: list[str], labels: list) -> int:
    """Rows of a DuckDB table repeating a whole key ``(a, b)`` whose ``b`` takes one of ``labels``
    (at most 62): per ``a``, ``count(*)`` minus the number of distinct ``b``, the latter the popcount
    of the OR of one bit per label; summed. 0 exactly when no key repeats."""
    a, b = (f'"{k}"' for k in key)
    bit = f"list_position([{', '.join(B.sql_text(v) for v in labels)}], {b}) - 1"
    rel = nw.to_native(lf).filter(f"{a} IS NOT NULL AND {b} IS NOT NULL")
    per = rel.aggregate(f"count(*) - bit_count(bit_or(1::BIGINT << ({bit}))) AS __extra", a)
    got = per.aggregate("coalesce(sum(__extra), 0) AS __extra").fetchall()
    return int(got[0][0])


def _duckdb_naive_utc(rel: Any, columns: list[str]) -> Any:
    """A DuckDB relation whose zone-aware microsecond timestamps among ``columns`` are naive UTC,
    from their epoch microseconds (``make_timestamp(epoch_us(x))``: the instant itself; the cast
    ``x::TIMESTAMP`` goes through the session's ICU calendar and costs ten times more per row)."""
    types = dict(zip(rel.columns, map(str, rel.types)))
    aware = [c for c in columns if types.get(c) == "TIMESTAMP WITH TIME ZONE"]
    if not aware:
        return rel
    q = lambda c: '"' + c.replace('"', '""') + '"'  # noqa: E731
    return rel.project("* REPLACE (" + ", ".join(f"make_timestamp(epoch_us({q(c)})) AS {q(c)}" for c in aware) + ")")


def carry(out: pd.DataFrame, *tables: "Table | None") -> pd.DataFrame:
    """``out`` with the validation records of the tables it was computed from (ids normalised, a date
    order read ...): the one way a metric's result says what its inputs' checks did."""
    recs = [t.carried for t in tables if t is not None and t.carried is not None]
    return S.carry_records(out, *recs) if recs else out


def raise_problems(*rows: list) -> None:
    """Raise every deferred problem (of one or more tables) as one DataValidationError."""
    _raise([r for part in rows for r in part])


def _one_of(column: str, values: list) -> Any:
    """``column`` is one of ``values`` (none: a column expression that is always false)."""
    if not values:
        return (nw.col(column) != nw.col(column)).fill_null(False)
    return nw.col(column).is_in(values).fill_null(False)


def _n_true(name: str, engine: str) -> Any:
    """The number of rows whose boolean column ``name`` is true, as an aggregate named ``name``: on
    Polars the booleans summed as they are, the count then cast (a cast of every row to Int64
    first cost seven times the sum: 0.07 s for seven flags of 10M rows); elsewhere cast first
    (DuckDB and Spark do not sum booleans)."""
    if engine == "polars":
        return nw.col(name).sum().cast(nw.Int64).alias(name)
    return nw.col(name).cast(nw.Int64).sum().alias(name)


def _sum_flag(name: str) -> Any:
    return nw.col(name).fill_null(False).cast(nw.Int64).sum().alias(name)


def _examples(lf: nw.LazyFrame, table: str, ch: _Check, n: int, rid: str | None) -> dict[str, Any]:
    sel = [nw.col(rid).cast(nw.String).alias("__id")] if rid else []
    if ch.value:
        sel.append(nw.col(ch.value).alias("__v"))
    ex = B.collect(lf.filter(nw.col(ch.flag)).select(*sel).sort(*(["__id"] if rid else [])).head(50)) if sel else None
    ids = ["<missing>" if pd.isna(i) else str(i) for i in ex["__id"]][:MAX_SHOWN] if rid else []
    vals = list(pd.unique(pd.Series(ex["__v"].to_numpy(dtype=object))))[:MAX_SHOWN] if ch.value else []
    vals = [v.tz_localize(None) if isinstance(v, pd.Timestamp) and v.tz is not None else v for v in vals]
    return _problem_row(table, ch.column, ch.check, n, vals, ids)


def _ids_where(lf: nw.LazyFrame, rid: str | None, cond: Any) -> list[str]:
    if rid is None:
        return []
    got = B.collect(lf.filter(cond).select(nw.col(rid).cast(nw.String).alias("__id")))
    return sorted("<missing>" if pd.isna(i) else str(i) for i in got["__id"])


def _map_values(lf: nw.LazyFrame, column: str, mapping: dict[str, str], src: B.Source) -> nw.LazyFrame:
    """``column`` with the values of ``mapping`` replaced (a CASE expression for a few values, a
    join with a two-column table on the engine for many)."""
    c = nw.col(column)
    if len(mapping) <= _MAP_INLINE:
        e = None
        for old, new in mapping.items():
            e = (nw.when(c == old).then(nw.lit(new)) if e is None else e.when(c == old).then(nw.lit(new)))
        return lf.with_columns(e.otherwise(c).alias(column))
    table = pd.DataFrame({"__from": list(mapping), "__to": list(mapping.values())})
    other = B.as_lazy(B.native_frame(B.Source(table, "pandas", src.engine, src.con), pandas_df=table))
    joined = lf.join(other, left_on=column, right_on="__from", how="left")
    return joined.with_columns(nw.coalesce(nw.col("__to"), c).alias(column)).drop("__to", strict=False)
