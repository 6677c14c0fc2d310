"""The record every qakit result carries: rows left out (exclusions) and rows kept but changed
(adjustments), each with its reason, column, count, row ids and the function that made it.

A record rides on the result's ``DataFrame.attrs`` under one key (:data:`RECORD_KEY`) as one
immutable :class:`Record`. pandas deep-copies ``attrs`` on every derived frame (``head``,
``round``, ``copy``, ``query``, a column selection ...); a :class:`Record` answers that copy with
itself, so carrying a record of 600,000 excluded ids costs the same as carrying an empty one.
It is a ``dict`` underneath, so pandas can still write it into Parquet metadata as JSON (a record
read back from a file is a plain dict and is accepted everywhere a :class:`Record` is), and it
pickles.

Read a record with :func:`exclusions` / :func:`adjustments`; a table without one raises, because
"no record" must never read as "nothing excluded" (a ``merge`` or ``concat`` with a plain frame
drops the record, as pandas drops ``attrs`` there; :func:`carry_records` puts it back).

This module sits below :mod:`qakit.schema` and :mod:`qakit._public` (it imports only
:mod:`qakit.errors`).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import ParameterError

#: the one ``attrs`` key a record lives under
RECORD_KEY = "qakit"
EXCLUDED_KEY = "excluded"
ADJUSTED_KEY = "adjusted"
PRODUCER_KEY = "producer"
SOURCE = "source"
EXCLUSION_COLUMNS = ["reason", "column", "n", "row_ids", SOURCE]
_KINDS = (EXCLUDED_KEY, ADJUSTED_KEY)


def _entry(reason: str, column: str, row_ids: tuple, source: str | None) -> dict[str, Any]:
    return {"reason": reason, "column": column, "n": len(row_ids), "row_ids": row_ids, SOURCE: source}


def _plain_entry(e: Mapping[str, Any]) -> dict[str, Any]:
    """An entry as stored: ``row_ids`` a tuple of str (a file gives a list back)."""
    ids = e["row_ids"]
    ids = ids if isinstance(ids, tuple) else tuple(ids)
    return {"reason": e["reason"], "column": e["column"], "n": int(e.get("n", len(ids))), "row_ids": ids,
            SOURCE: e.get(SOURCE)}


def _key(e: Mapping[str, Any]) -> tuple:
    return (e["reason"], e["column"], e["row_ids"])


class Record(dict):
    """An immutable record: ``{"producer": str | None, "excluded": [...], "adjusted": [...]}``.

    Each entry is a dict ``reason, column, n, row_ids (tuple of str), source``. Immutable, so
    ``copy.deepcopy`` (what pandas does to ``attrs`` on every derived frame) returns the record
    itself: O(1) whatever the number of ids. Two records compare by a fingerprint computed once.

    Examples
    --------
    >>> import copy
    >>> r = Record.empty().with_entry(EXCLUDED_KEY, "all N/A", "rating", ("r1", "r2"))
    >>> copy.deepcopy(r) is r, r.n_rows(EXCLUDED_KEY)
    (True, 2)
    """

    __slots__ = ("_fingerprint",)

    def __init__(self, producer: str | None = None, excluded: Iterable[Mapping] = (),
                 adjusted: Iterable[Mapping] = ()) -> None:
        ex = tuple(map(_plain_entry, excluded))
        ad = tuple(map(_plain_entry, adjusted))
        dict.__init__(self, {PRODUCER_KEY: producer, EXCLUDED_KEY: ex, ADJUSTED_KEY: ad})
        self._fingerprint: int | None = None  # (computed when first compared: hashing 50,000 fresh ids costs ~1.5 ms)

    def fingerprint(self) -> int:
        """The hash of the producer and every entry's reason, column and ids (computed once)."""
        if self._fingerprint is None:
            self._fingerprint = hash((self[PRODUCER_KEY], tuple(map(_key, self[EXCLUDED_KEY])),
                                      tuple(map(_key, self[ADJUSTED_KEY]))))
        return self._fingerprint

    # -- immutability ------------------------------------------------------------------------
    def _immutable(self, *_: Any, **__: Any) -> None:
        raise TypeError("a qakit Record is immutable: use add_exclusion / add_adjustment / stamp")

    __setitem__ = __delitem__ = _immutable  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _immutable  # type: ignore[assignment]

    def __deepcopy__(self, memo: dict) -> "Record":
        return self

    def __copy__(self) -> "Record":
        return self

    def __reduce__(self):
        return (Record, (self[PRODUCER_KEY], self[EXCLUDED_KEY], self[ADJUSTED_KEY]))

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if isinstance(other, Record):
            return self.fingerprint() == other.fingerprint()
        return NotImplemented if not isinstance(other, dict) else dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]  (a dict: unhashable, as attrs values may be)

    # -- building ----------------------------------------------------------------------------
    @classmethod
    def empty(cls, producer: str | None = None) -> "Record":
        return cls(producer)

    @classmethod
    def of(cls, value: Any) -> "Record | None":
        """The record in ``value`` (a Record, or the plain dict a Parquet file gives back)."""
        if isinstance(value, Record):
            return value
        if isinstance(value, Mapping) and EXCLUDED_KEY in value:
            return cls(value.get(PRODUCER_KEY), value.get(EXCLUDED_KEY, ()), value.get(ADJUSTED_KEY, ()))
        return None

    def with_entry(self, kind: str, reason: str, column: str, row_ids: tuple,
                   source: str | None = None) -> "Record":
        parts = {k: list(self[k]) for k in _KINDS}
        parts[kind].append(_entry(reason, column, row_ids, source))
        return Record(self[PRODUCER_KEY], parts[EXCLUDED_KEY], parts[ADJUSTED_KEY])

    def stamped(self, producer: str) -> "Record":
        """The record made by ``producer``: entries without a source get ``producer``."""
        fill = [[e if e.get(SOURCE) else {**e, SOURCE: producer} for e in self[k]] for k in _KINDS]
        return Record(producer, *fill)

    def merged(self, *others: "Record") -> "Record":
        """This record plus every entry of ``others`` not already in it (one exclusion, one entry)."""
        if not others:
            return self
        parts = {k: list(self[k]) for k in _KINDS}
        for k in _KINDS:
            seen = {_key(e) for e in parts[k]}
            for o in others:
                for e in o[k]:
                    if _key(e) not in seen:
                        seen.add(_key(e))
                        parts[k].append(e)
        if all(len(parts[k]) == len(self[k]) for k in _KINDS):
            return self
        return Record(self[PRODUCER_KEY], parts[EXCLUDED_KEY], parts[ADJUSTED_KEY])

    @property
    def producer(self) -> str | None:
        return self[PRODUCER_KEY]

    def entries(self, kind: str) -> tuple[dict[str, Any], ...]:
        return self[kind]

    def n_rows(self, kind: str) -> int:
        return sum(e["n"] for e in self[kind])

    def ids(self, kind: str = EXCLUDED_KEY) -> set[str]:
        return {i for e in self[kind] for i in e["row_ids"]}

    def __repr__(self) -> str:
        return (f"Record(producer={self.producer!r}, excluded={self.n_rows(EXCLUDED_KEY)} rows in "
                f"{len(self[EXCLUDED_KEY])} reasons, adjusted={self.n_rows(ADJUSTED_KEY)} rows in "
                f"{len(self[ADJUSTED_KEY])} reasons)")


# --- reading and writing a table's record ----------------------------------------------------
def get_record(df: Any) -> Record | None:
    """The record ``df`` carries, or None (not a qakit result, or a merge dropped it)."""
    if not isinstance(df, (pd.DataFrame, pd.Series)):
        return None
    value = df.attrs.get(RECORD_KEY)
    if value is None:
        return None
    rec = Record.of(value)
    if rec is not None and rec is not value:
        df.attrs[RECORD_KEY] = rec  # came back through a file: the immutable form from now on
    return rec


#: the key under which pandas keeps a frame's ``attrs`` in a Parquet file's metadata (as JSON)
PARQUET_ATTRS_KEY = b"PANDAS_ATTRS"


def parquet_record(paths: Iterable[Any]) -> Record | None:
    """The record stored with Parquet files: every file of ``paths`` (files, or folders searched for
    ``*.parquet``), merged; None when none holds one.

    pandas writes a frame's ``attrs`` into the file's metadata (``df.to_parquet``, and so
    :func:`qakit.io.write_table` and ``read_export(...).write``), so a table written by qakit keeps
    the rows its loader left out or changed. pandas reads it back only from one file (a folder gives
    the first file's); an engine that reads the files itself (DuckDB, Polars) not at all. Both read
    it here, from the files' footers (no row is read): one record for the same files on every engine.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for part, ids in (("a", ["c1"]), ("b", ["c7", "c9"])):
    ...     df = pd.DataFrame({"conversation_id": ["x"]})
    ...     df.to_parquet(folder / f"{part}.parquet")  # no record yet: skipped
    ...     df = add_exclusion(df, "no first response", "first_response_at", ids)
    ...     df.to_parquet(folder / f"{part}.parquet")
    >>> rec = parquet_record([folder])
    >>> rec.n_rows(EXCLUDED_KEY), sorted(rec.ids())
    (3, ['c1', 'c7', 'c9'])
    """
    found = []
    for item in paths:
        path = Path(item)
        files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
        for f in files:
            try:
                meta = pq.read_schema(f).metadata or {}
                value = json.loads(meta[PARQUET_ATTRS_KEY]).get(RECORD_KEY) if PARQUET_ATTRS_KEY in meta else None
            except (OSError, ValueError):  # unreadable footer or attrs: the read itself names the file
                continue
            rec = Record.of(value)
            if rec is not None:
                found.append(rec)
    if not found:
        return None
    return found[0].merged(*found[1:]) if len(found) > 1 else found[0]


def set_record(df: pd.DataFrame | pd.Series, record: Record) -> pd.DataFrame | pd.Series:
    df.attrs[RECORD_KEY] = record
    return df


def has_record(df: Any) -> bool:
    """Whether ``df`` (a DataFrame or Series) carries a qakit record (made by a qakit function, or
    given one by :func:`add_exclusion` / :func:`stamp`)."""
    return get_record(df) is not None


def _as_ids(row_ids: Any) -> tuple[str, ...]:
    """Row ids as stored: a tuple of str (missing: ``"<missing>"``).

    Examples
    --------
    >>> _as_ids(pa.array(["c1", "c2"])), _as_ids(pa.array(["c1", None])), _as_ids([1, "a"])
    (('c1', 'c2'), ('c1', '<missing>'), ('1', 'a'))
    """
    if isinstance(row_ids, pa.Array) and row_ids.null_count == 0 and (
            pa.types.is_string(row_ids.type) or pa.types.is_large_string(row_ids.type)):
        return tuple(row_ids.to_pylist())  # Arrow text (what the survey KPIs pass): str by construction, no type check
    if isinstance(row_ids, (list, tuple)) and set(map(type, row_ids)) <= {str}:
        return tuple(row_ids)  # text already (what the metrics pass): kept as it is, not through pandas
    if isinstance(row_ids, (pa.Array, pa.ChunkedArray)):
        row_ids = row_ids.to_pylist()
    if isinstance(row_ids, (pd.Series, pd.Index)):
        s = row_ids
    else:
        s = pd.Series(np.asarray(row_ids, dtype=object) if not isinstance(row_ids, (list, tuple)) else list(row_ids),
                      dtype=object)
    text = pd.Series(s, copy=False).astype("str").fillna("<missing>")
    return tuple(text.to_numpy(dtype=object).tolist())  # (iterating the Series costs ~1 us per id)


def _add(result: Any, kind: str, reason: str, column: str, row_ids: Any, source: str | None) -> Any:
    if row_ids is None:
        return result
    ids = _as_ids(row_ids)
    if not ids:
        return result
    rec = get_record(result) or Record.empty()
    set_record(result, rec.with_entry(kind, reason, column, ids, source))
    return result


def add_exclusion(result: pd.DataFrame, reason: str, column: str, row_ids: Any, *,
                  source: str | None = None) -> pd.DataFrame:
    """Record on ``result`` that rows were excluded, and why (no-op for zero rows).

    Read them back with :func:`exclusions`. ``source`` (the producing function) is filled in by
    :func:`stamp` when not given.
    """
    return _add(result, EXCLUDED_KEY, reason, column, row_ids, source)


def add_adjustment(result: pd.DataFrame, reason: str, column: str, row_ids: Any, *,
                   source: str | None = None) -> pd.DataFrame:
    """Record that rows were *kept but changed* (an id or category normalised, a value re-read),
    and why; read back with :func:`adjustments`.

    Examples
    --------
    >>> r = stamp(add_adjustment(pd.DataFrame({"n": [1]}), "trailing whitespace removed", "agent_id", ["r1"]), "demo")
    >>> adjustments(r)[["reason", "n", "row_ids", "source"]]
                            reason  n row_ids source
    0  trailing whitespace removed  1   (r1,)   demo
    """
    return _add(result, ADJUSTED_KEY, reason, column, row_ids, source)


def stamp(result: pd.DataFrame, producer: str) -> pd.DataFrame:
    """Mark ``result`` as carrying a record (even an empty one) made by ``producer``; records
    without a source get ``producer`` as theirs."""
    rec = get_record(result) or Record.empty()
    set_record(result, rec.stamped(producer))
    return result


def producer(result: Any) -> str | None:
    """The qakit function that made ``result`` (None when it carries no record)."""
    rec = get_record(result)
    return rec.producer if rec is not None else None


def recorded_ids(result: Any, key: str = EXCLUDED_KEY) -> set[str]:
    """Every row id a result's record already lists (so a later step does not list it twice)."""
    rec = get_record(result)
    return rec.ids(key) if rec is not None else set()


def itemise_missing(result: pd.DataFrame, table: pd.DataFrame, column: str, id_column: str,
                    reason: str) -> pd.DataFrame:
    """Add an exclusion for ``table`` rows whose ``column`` is missing, leaving out ids an earlier
    step (``table``'s own record) already lists: the record never counts a row twice."""
    missing = table[column].isna().to_numpy()
    if missing.any():
        ids = (table[id_column] if id_column in table.columns else table.index.to_series()).astype("str")
        new = ids[missing]
        add_exclusion(result, reason, column, new[~new.isin(recorded_ids(table))])
    return result


def carry_records(result: pd.DataFrame, *parts: Any) -> pd.DataFrame:
    """Copy every record of ``parts`` (tables, records, or a table's ``attrs``) onto ``result``
    (composite results: a summary built from several KPIs, a table built from scored reviews);
    identical entries are kept once.

    Examples
    --------
    >>> a = stamp(add_exclusion(pd.DataFrame({"n": [1]}), "no score", "score", ["s1"]), "csat_score")
    >>> merged = pd.DataFrame({"n": [1]}).merge(a, on="n")     # a merge with a plain frame drops it
    >>> has_record(merged), len(exclusions(carry_records(merged, a)))
    (False, 1)
    """
    others = []
    for part in parts:
        if isinstance(part, (pd.DataFrame, pd.Series)):
            rec = get_record(part)
        elif isinstance(part, Mapping) and RECORD_KEY in part:  # a table's attrs
            rec = Record.of(part[RECORD_KEY])
        else:
            rec = Record.of(part)
        if rec is not None:
            others.append(rec)
    base = get_record(result)
    if base is None and not others:
        return result
    base = base or Record.empty(others[0].producer if others else None)
    set_record(result, base.merged(*others))
    return result


def _records(result: Any, key: str, what: str) -> pd.DataFrame:
    rec = get_record(result)
    if rec is None:
        kind = type(result).__name__
        raise ParameterError(
            f"this {kind} carries no qakit record of {what} rows: it was not made by a qakit function, or a "
            "merge/concat/copy outside qakit dropped the record. Read the record from the qakit result "
            "itself, or combine records with qakit.schema.carry_records(new, *parts)"
        )
    return pd.DataFrame(list(rec[key]), columns=EXCLUSION_COLUMNS)


def exclusions(result: pd.DataFrame) -> pd.DataFrame:
    """The itemised exclusions a result carries: one row per reason.

    Raises :class:`~qakit.errors.ParameterError` for a table that carries no record (a hand-made
    frame, or one whose record a merge or concat dropped): "no record" must never read as
    "nothing excluded".

    Returns
    -------
    pandas.DataFrame
        Columns ``reason, column, n, row_ids, source`` (``row_ids`` a tuple of the excluded ids,
        ``source`` the qakit function that excluded them).

    Examples
    --------
    >>> r = stamp(add_exclusion(pd.DataFrame({"n": [3]}), "all categories N/A", "rating", ["R7"]), "score_reviews")
    >>> exclusions(r)
                   reason  column  n row_ids         source
    0  all categories N/A  rating  1   (R7,)  score_reviews
    >>> exclusions(pd.DataFrame({"n": [3]}))
    Traceback (most recent call last):
    ...
    qakit.errors.ParameterError: this DataFrame carries no qakit record of excluded rows: ...
    """
    return _records(result, EXCLUDED_KEY, "excluded")


def adjustments(result: pd.DataFrame) -> pd.DataFrame:
    """The rows a result kept but changed (normalised ids, re-read values), one row per reason;
    same columns and rules as :func:`exclusions`."""
    return _records(result, ADJUSTED_KEY, "adjusted")


def record_parts(result: Any) -> list[Record]:
    """The record of ``result`` and of every table inside a dict, tuple or dataclass result."""
    if isinstance(result, (pd.DataFrame, pd.Series)):
        values = [result]
    elif isinstance(result, dict):
        values = list(result.values())
    elif isinstance(result, tuple):
        values = list(result)
    elif dataclasses.is_dataclass(result) and not isinstance(result, type):
        values = [getattr(result, f.name) for f in dataclasses.fields(result)]
    else:
        values = []
    return [r for r in map(get_record, values) if r is not None]


__all__ = ["Record", "exclusions", "adjustments", "add_exclusion", "add_adjustment", "carry_records",
           "stamp", "has_record", "producer"]
