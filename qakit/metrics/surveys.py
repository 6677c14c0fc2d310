"""Survey KPIs, each defined once: CSAT, NPS, CES.

CSAT has one definition, :class:`CsatScale` (scale + satisfied threshold), shared by every function
that reads CSAT (here, :mod:`qakit.kpis` and :mod:`qakit.stats`); NPS classes answers by threshold
(:data:`NPS_PROMOTER_FROM`, :data:`NPS_DETRACTOR_BELOW`), fractional answers too.

Each definition takes validated tables (:func:`qakit.metrics._contract.validated`) on any engine and
returns the tidy result; the public functions are :func:`qakit.kpis.csat_score`,
:func:`qakit.kpis.nps_score`, :func:`qakit.kpis.ces_score`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import _threads as T
from .. import schema as S
from .._public import public
from ..errors import MAX_SHOWN, DataValidationError, ParameterError, Problems, check_choice, check_number
from . import _finish as F
from . import _groups as G
from . import _source as B
from ._contract import Table

CSAT = "csat"
CSAT_MEAN = "csat_mean"
NPS = "nps"
PROMOTERS_PCT, PASSIVES_PCT, DETRACTORS_PCT = "promoters_pct", "passives_pct", "detractors_pct"
#: NPS classes by threshold, fractional answers too: promoter ``s >= 9``, detractor ``s < 7``, passive between
NPS_PROMOTER_FROM, NPS_DETRACTOR_BELOW = 9, 7
CES = "ces"
NPS_SCALE = (0.0, 10.0)

#: the columns the survey KPIs read (``answered_at`` for periods and ``partial``)
READS = (S.CONVERSATION_ID, S.KIND, S.SCORE)
OPTIONAL = (S.ANSWERED_AT,)


@dataclass(frozen=True)
class CsatScale:
    """What a CSAT answer means: the scale ``low..high`` and the satisfied threshold.

    An answer ``s`` is *satisfied* when ``s >= satisfied_from`` (a threshold, so fractional or
    averaged answers such as 4.5 on 1-5 or 8.7 on 1-10 are classed like any other). Answers
    outside ``low..high`` are an error naming the column, values and row ids: a 1-10 CSAT is never
    silently read on the default 1-5 scale.

    Presets (``CsatScale.preset(name)`` or ``scale="1-10"`` wherever a function takes ``scale``):
    ``"1-5"`` satisfied from 4 (the usual top-2 box, the default), ``"1-7"`` from 6, ``"1-10"`` from
    8 and ``"0-10"`` from 8 (top-3 box).

    Examples
    --------
    >>> CsatScale.preset("1-10")
    CsatScale(low=1.0, high=10.0, satisfied_from=8.0)
    >>> CsatScale(1, 5, satisfied_from=6)
    Traceback (most recent call last):
    ...
    qakit.errors.ParameterError: satisfied_from must be a finite number >= 1 and <= 5; got 6
    """

    low: float = 1.0
    high: float = 5.0
    satisfied_from: float = 4.0

    def __post_init__(self) -> None:
        low = check_number("scale low", self.low)
        high = check_number("scale high", self.high)
        if not high > low:
            raise ParameterError(f"CSAT scale: high ({high:g}) must be above low ({low:g})")
        sat = check_number("satisfied_from", self.satisfied_from, low=low, high=high)
        for name, v in (("low", low), ("high", high), ("satisfied_from", sat)):
            object.__setattr__(self, name, float(v))

    @classmethod
    def preset(cls, name: str) -> "CsatScale":
        """One of the named scales: ``"1-5"``, ``"1-7"``, ``"1-10"``, ``"0-10"``."""
        check_choice("scale", name, CSAT_PRESETS)
        return CSAT_PRESETS[name]

    @property
    def label(self) -> str:
        return f"{self.low:g}..{self.high:g}"

    def satisfied(self, scores: pd.Series | np.ndarray) -> np.ndarray:
        """Boolean array: ``score >= satisfied_from`` (NaN is not satisfied; callers exclude it)."""
        with np.errstate(invalid="ignore"):
            return np.asarray(scores, dtype=float) >= self.satisfied_from

    @property
    def off_scale(self) -> str:
        """The check's text for an answer off this scale (every engine's error says it the same way)."""
        return (f"csat score outside the scale {self.label}; pass scale=, e.g. scale='1-10' or "
                "scale=CsatScale(0, 10, satisfied_from=9)")

    def check(self, surveys: pd.DataFrame, *, column: str = S.SCORE, table: str = "surveys",
              id_col: str = S.CONVERSATION_ID) -> None:
        """Raise :class:`~qakit.errors.DataValidationError` for answers off the scale (inf included)."""
        s = surveys[column].to_numpy(dtype=float)
        off = ~np.isnan(s) & ((s < self.low) | (s > self.high) | ~np.isfinite(s))
        if off.any():
            p = Problems(table, row_ids=surveys[id_col] if id_col in surveys.columns else None)
            p.add(column, self.off_scale, off, surveys[column])
            p.raise_if_any()


CSAT_PRESETS: dict[str, CsatScale] = {}
CSAT_PRESETS.update({"1-5": CsatScale(1, 5, 4), "1-7": CsatScale(1, 7, 6), "1-10": CsatScale(1, 10, 8),
                     "0-10": CsatScale(0, 10, 8)})


@public
def csat_definition(scale: CsatScale | str | Sequence[float] | None = None,
                    satisfied: float | Sequence[float] | None = None) -> CsatScale:
    """The one CSAT definition from a function's ``scale`` and ``satisfied`` arguments.

    ``scale``: a :class:`CsatScale`, a preset name, the old ``(low, high)`` tuple, or None (1-5).
    ``satisfied``: None (the scale's threshold), a number (the threshold: ``score >= satisfied``),
    or the old tuple of satisfied answers, accepted only when it is the top of the scale
    (``(8, 9, 10)`` on 1-10 means ``satisfied_from=8``; a ``FutureWarning`` says so); any other
    set is a :class:`~qakit.errors.ParameterError`.

    Examples
    --------
    >>> csat_definition("1-10", 9)
    CsatScale(low=1.0, high=10.0, satisfied_from=9.0)
    >>> csat_definition(None, (3, 5))
    Traceback (most recent call last):
    ...
    qakit.errors.ParameterError: satisfied=(3, 5) is not the top of the scale 1..5 (e.g. (4, 5)); give the threshold instead: satisfied=4 means score >= 4
    """
    if scale is None:
        base = CSAT_PRESETS["1-5"]
    elif isinstance(scale, CsatScale):
        base = scale
    elif isinstance(scale, str):
        base = CsatScale.preset(scale)
    else:
        try:
            lo, hi = (float(v) for v in scale)
        except (TypeError, ValueError):
            raise ParameterError(f"scale must be a CsatScale, one of {list(CSAT_PRESETS)} or (low, high); "
                                 f"got {scale!r}") from None
        match = [p for p in CSAT_PRESETS.values() if (p.low, p.high) == (lo, hi)]
        if match:
            base = match[0]
        elif satisfied is None:
            raise ParameterError(f"scale=({lo:g}, {hi:g}) needs a satisfied threshold: pass "
                                 f"scale=CsatScale({lo:g}, {hi:g}, satisfied_from=...)")
        else:
            base = CsatScale(lo, hi, lo)
    if satisfied is None:
        return base
    if isinstance(satisfied, (int, float, np.integer, np.floating)) and not isinstance(satisfied, bool):
        return CsatScale(base.low, base.high, check_number("satisfied", satisfied, low=base.low, high=base.high))
    try:
        vals = sorted({float(v) for v in satisfied})
    except (TypeError, ValueError):
        raise ParameterError(f"satisfied must be a threshold number or a tuple of the top answers; got {satisfied!r}") from None
    top = [float(v) for v in np.arange(vals[0], base.high + 1)] if vals and vals[0].is_integer() else None
    if not vals or top != vals or vals[-1] != base.high:
        shown = tuple(int(v) if float(v).is_integer() else v for v in satisfied)
        raise ParameterError(f"satisfied={shown!r} is not the top of the scale {base.label} (e.g. "
                             f"({base.high - 1:g}, {base.high:g})); give the threshold instead: "
                             f"satisfied={base.satisfied_from:g} means score >= {base.satisfied_from:g}")
    warnings.warn(f"satisfied={tuple(satisfied)!r} (a set of answers) is now the threshold satisfied={vals[0]:g} "
                  f"(score >= {vals[0]:g}, so 8.7 counts as 8 does); pass the number", FutureWarning, stacklevel=3)
    return CsatScale(base.low, base.high, vals[0])


def ces_scale(scale, higher_is_better) -> tuple[float, float]:
    """The CES ``(low, high)`` scale checked (and ``higher_is_better`` a bool)."""
    try:
        lo, hi = (check_number("scale", v) for v in scale)
    except (TypeError, ValueError):
        raise ParameterError(f"scale must be (low, high) numbers; got {scale!r}") from None
    if not hi > lo:
        raise ParameterError(f"scale must be (low, high) with high > low; got {scale!r}")
    if not isinstance(higher_is_better, (bool, np.bool_)):
        raise ParameterError(f"higher_is_better must be True or False; got {higher_is_better!r}")
    return (lo, hi)


# --- the rows of one kind ---------------------------------------------------------------------------
def survey_rows(sv: Table, conv: Table | None, kind: str, scale: tuple[float, float], check: str,
                by: Sequence[str], period: str | None):
    """As every survey KPI reads its answers: with ``period``, an answer without ``answered_at`` is
    placed by its conversation's ``created_at`` when ``conversations`` is given (an adjustment),
    else set aside (itemised; answers of every kind); then the answers of ``kind``, answers off
    ``scale`` an error naming them, ``by`` columns joined from ``conversations`` (on
    ``conversation_id``).

    Returns ``(rows, kept, keys)``: every answer (flags ``__placed``, ``__unplaced``) and the
    answers of ``kind`` with their group keys (``period`` a code: :func:`qakit.metrics._groups.with_period`).
    """
    keys = list(by)
    lf = sv.lf
    cols = list(sv.columns)
    missing = [b for b in keys if not sv.has(b)]
    if conv is not None and (missing or period is not None):
        G.check_keys(conv, missing, "conversations")
        other = conv.lf
        if _id_types_differ(sv, conv):
            # ids stored as numbers in one table and as text in the other, or Polars categoricals of
            # different categories (their codes differ: Polars refuses the join): joined as text
            lf = lf.with_columns(nw.col(S.CONVERSATION_ID).cast(nw.String))
            other = other.with_columns(nw.col(S.CONVERSATION_ID).cast(nw.String))
        sel = [nw.col(S.CONVERSATION_ID), *(nw.col(m) for m in missing)]
        if period is not None:
            sel.append(nw.col(S.CREATED_AT).alias("__created"))
        lf = lf.join(other.select(*sel), on=S.CONVERSATION_ID, how="left")
        cols += missing
    if period is not None:
        nat = nw.col(S.ANSWERED_AT).is_null() if S.ANSWERED_AT in cols else nw.lit(True)
        has_created = conv is not None
        placed = (nat & ~nw.col("__created").is_null()) if has_created else nw.lit(False)
        at = nw.col(S.ANSWERED_AT) if S.ANSWERED_AT in cols else nw.lit(None)
        if has_created:
            at = nw.when(placed).then(nw.col("__created")).otherwise(at)
        lf = lf.with_columns(at.alias(S.ANSWERED_AT), placed.alias("__placed"), (nat & ~placed).alias("__unplaced"))
        if S.ANSWERED_AT not in cols:
            cols.append(S.ANSWERED_AT)
        rows = lf
        kept = lf.filter(~nw.col("__unplaced"))
    else:
        rows = kept = lf
    # the answers of the kind, with only the columns read (a filter moves every column it is given)
    read = [c for c in dict.fromkeys([S.CONVERSATION_ID, S.KIND, S.SCORE, *keys, S.ANSWERED_AT]) if c in cols]
    lo, hi = scale
    s = nw.col(S.SCORE)
    off = ~s.is_null() & ~s.is_between(lo, hi)
    fast = (_kind_rows_pandas(nw.to_native(kept), read, kind, scale)
            if period is None and kept.implementation is nw.Implementation.PANDAS else None)
    if fast is not None:
        kept, n_off = fast
    else:
        kept = kept.select(*read, *(["__placed", "__unplaced"] if period is not None else []))
        kept = kept.filter(nw.col(S.KIND) == kind)
        got = B.collect(kept.select(G.count(off).alias("__off")))
        n_off = int(got["__off"].iloc[0] or 0)
    if n_off:
        ex = B.collect(kept.filter(off).select(nw.col(S.CONVERSATION_ID).cast(nw.String).alias("__id"), S.SCORE)
                       .sort("__id").head(50))
        raise DataValidationError(pd.DataFrame([{
            "table": "surveys", "column": S.SCORE, "check": check, "n_failed": n_off,
            "failing_values": [float(v) for v in pd.unique(ex[S.SCORE])][:MAX_SHOWN],
            "row_ids": list(ex["__id"].astype("str"))[:MAX_SHOWN]}]))
    missing_by = [b for b in keys if b not in cols]
    if missing_by:
        raise ParameterError(f"by column(s) {missing_by} not in the data (pass conversations=... to group surveys by "
                             f"conversation columns); available: {sorted(map(str, cols))}")
    kept, pkeys = G.with_period(kept, sv.engine, period, S.ANSWERED_AT, cols)
    return rows, kept, keys + pkeys


def _id_types_differ(sv: Table, conv: Table) -> bool:
    """Whether the two tables' conversation ids are stored differently (on Polars: as the engine
    types them, a categorical's categories included; an Enum or a categorical of categories of
    its own joins no other)."""
    a, b = sv.lf.collect_schema()[S.CONVERSATION_ID], conv.lf.collect_schema()[S.CONVERSATION_ID]
    if a != b:
        return True
    if sv.engine == "polars" and isinstance(a, (nw.Categorical, nw.Enum)):
        na = nw.to_native(sv.lf).collect_schema()[S.CONVERSATION_ID]
        nb = nw.to_native(conv.lf).collect_schema()[S.CONVERSATION_ID]
        return na != nb
    return False


def _kind_rows_pandas(df: pd.DataFrame, read: list[str], kind: str, scale: tuple[float, float]):
    """``(answers of kind, number off the scale)`` for a pandas table: the rows of ``kind`` found
    from a categorical's codes (the kind compared once per category, not per row), the columns
    read taken for those rows only, the scale checked with numpy."""
    k = df[S.KIND]
    if isinstance(k.dtype, pd.CategoricalDtype):
        match = np.flatnonzero(np.asarray(k.cat.categories == kind, dtype=bool))
        codes = k.array.codes
        is_kind = codes == int(match[0]) if len(match) else np.zeros(len(df), dtype=bool)
    else:
        is_kind = (k == kind).to_numpy(dtype=bool, na_value=False)
    rows = np.flatnonzero(is_kind)
    sub = pd.DataFrame({c: df[c].iloc[rows].reset_index(drop=True) for c in read})
    v = sub[S.SCORE].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        n_off = int(np.count_nonzero(~np.isnan(v) & ((v < scale[0]) | (v > scale[1]))))
    return nw.from_native(sub).lazy(), n_off


def _finish_survey(res: pd.DataFrame, sv: Table, rows, kept, period: str | None) -> pd.DataFrame:
    """The records every survey KPI carries, in this order: answers without a score; with
    ``period``, answers not placed in a period (left out) and those placed by their conversation
    (adjusted); then ``partial``."""
    G.itemise(res, kept, S.CONVERSATION_ID, [(nw.col(S.SCORE).is_null(), "survey answer without a score", S.SCORE)])
    if period is not None:
        G.itemise(res, rows, S.CONVERSATION_ID,
                  [(nw.col("__unplaced"), f"no {S.ANSWERED_AT}: answer not placed in a period", S.ANSWERED_AT)],
                  adjust=[(nw.col("__placed"), f"no {S.ANSWERED_AT}: placed in a period by its conversation's "
                                               f"{S.CREATED_AT}", S.ANSWERED_AT)])
    return G.partial(res, sv, period, S.ANSWERED_AT, (S.ANSWERED_AT,))


# --- a pandas table without periods: numpy on the rows of the kind ------------------------------------------
def _pandas_answers(sv: Table, conv: Table | None, kind: str, scale: tuple[float, float], check: str,
                    by: Sequence[str], period: str | None):
    """``(table, rows, scores, groups)`` for a validated pandas table when no period is asked and
    every ``by`` column is the table's own (else None: :func:`survey_rows`): ``rows`` the
    positions of the answers of ``kind`` (found from a categorical's codes: the kind compared
    once per category), ``scores`` their scores, ``groups`` a frame of their ``by`` keys (no other
    column is copied). Answers off ``scale`` raise as :func:`survey_rows` does (the same message)."""
    df = sv.pandas
    if sv.engine != "pandas" or df is None or period is not None or any(b not in df.columns for b in by):
        return None
    k = df[S.KIND]
    if isinstance(k.dtype, pd.CategoricalDtype):
        match = np.flatnonzero(np.asarray(k.cat.categories == kind, dtype=bool))
        rows = np.flatnonzero(k.array.codes == int(match[0])) if len(match) else np.zeros(0, dtype=np.intp)
    else:
        rows = np.flatnonzero(k.eq(kind).to_numpy(dtype=bool, na_value=False))
    v = df[S.SCORE].to_numpy(dtype=float, na_value=np.nan)[rows]
    with np.errstate(invalid="ignore"):
        off = (v < scale[0]) | (v > scale[1])  # (NaN: neither)
    if off.any():
        ids = _id_strings(df[S.CONVERSATION_ID], rows[off])
        order = np.argsort(ids, kind="stable")[:50]
        raise DataValidationError(pd.DataFrame([{
            "table": "surveys", "column": S.SCORE, "check": check, "n_failed": int(off.sum()),
            "failing_values": [float(x) for x in pd.unique(v[off][order])][:MAX_SHOWN],
            "row_ids": list(ids[order])[:MAX_SHOWN]}]))
    groups = pd.DataFrame({b: _take(df[b], rows) for b in by}, index=pd.RangeIndex(len(rows)))
    return df, rows, v, groups


def _take(s: pd.Series, rows: np.ndarray) -> pd.Series:
    """``s`` at positions ``rows`` (a categorical through its codes, not re-validated)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return pd.Series(pd.Categorical.from_codes(s.array.codes[rows], dtype=s.dtype, validate=False), name=s.name)
    return s.iloc[rows].reset_index(drop=True)


def _id_strings(ids: pd.Series, rows: np.ndarray) -> np.ndarray:
    """The ids at ``rows`` as text (missing: ``"<missing>"``), an object array (a categorical's
    categories taken at those rows' codes: not every category converted)."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        codes = ids.array.codes[rows]
        out = ids.cat.categories.take(np.maximum(codes, 0)).astype("str").to_numpy(dtype=object)
        out[codes < 0] = "<missing>"
        return out
    return G._id_text(ids.iloc[rows])


def _sorted_ids(ids: pd.Series, rows: np.ndarray) -> list[str] | pa.Array:
    """The ids at ``rows`` as text sorted by code point (as ``sorted`` orders them), for the
    record (sorted: every engine's record lists the same ids in the same order). A categorical's
    rows are taken in the order of their codes: when the categories are sorted (what
    ``pd.Categorical`` makes of text) that is the order already -- checked on the taken values
    only, one comparison per id -- and the ids are given as the Arrow text array taken
    (:func:`qakit.records.add_exclusion` makes the strings: no type check of each); else a
    list of str sorted here.

    Examples
    --------
    >>> ids = pd.Series(pd.Categorical(["c3", "c1", "c2", "c1"]))  # categories c1, c2, c3
    >>> _sorted_ids(ids, np.array([0, 2])).to_pylist()
    ['c2', 'c3']
    >>> _sorted_ids(ids.cat.reorder_categories(["c3", "c2", "c1"]), np.array([0, 2]))
    ['c2', 'c3']
    """
    return _start_sorted_ids(ids, rows)()


def _start_sorted_ids(ids: pd.Series, rows: np.ndarray) -> Callable[[], list[str] | pa.Array]:
    """:func:`_sorted_ids` begun: a categorical's Arrow take (~3 ms for 50,000 of 10M categories,
    memory reads that release the GIL) started on the second thread (:mod:`qakit._threads`), the
    caller building its result meanwhile; returns the function that gives the ids."""
    cats = ids.cat.categories if isinstance(ids.dtype, pd.CategoricalDtype) else None
    if cats is not None and len(rows) and cats.dtype == "str":
        codes = ids.array.codes[rows]
        if len(codes) > 1 and not bool((codes[1:] >= codes[:-1]).all()):  # (often in order already: no sort)
            codes = np.sort(codes)
        if codes[0] >= 0 and getattr(cats.array, "_pa_array", None) is not None:
            # (Arrow-backed text: taken from its one array, zero-copy; a take from the chunked
            # column costs ~4x as much)
            taking = T.start(_taken_in_order, S._arrow_text(cats), codes)  # (begun before the frame is built)

            def ids_taken() -> list[str] | pa.Array:
                taken = taking.result()
                return taken if taken is not None else _ids_sorted_here(ids, rows)
            return ids_taken
    return lambda: _ids_sorted_here(ids, rows)


def _taken_in_order(arr: pa.Array, codes: np.ndarray) -> pa.Array | None:
    """``arr`` at ``codes`` (Arrow text, no missing value) when the values come out sorted by code
    point, else None."""
    taken = arr.take(pa.array(codes))
    if len(taken) < 2 or pc.all(pc.less_equal(taken[:-1], taken[1:])).as_py():
        return taken  # (the record makes its Python strings)
    return None


def _ids_sorted_here(ids: pd.Series, rows: np.ndarray) -> list[str]:
    out = _id_strings(ids, rows).tolist()
    out.sort()
    return out


def _pandas_stats(groups: pd.DataFrame, keys: list[str], cols: dict[str, np.ndarray],
                  specs: list[tuple[str, str, str | None]]) -> pd.DataFrame:
    """Per group of ``keys`` (the frame ``groups``, row by row with the numpy columns ``cols``)
    the statistics ``specs`` ``(name, fn, column)``: ``len`` (rows), ``ntrue`` (rows flagged),
    ``count`` (values not NaN), ``mean`` and ``std`` (sample, ``ddof = 1``; NaN below two values)
    of the values not NaN. Groups numbered from the keys' codes (:func:`qakit.metrics._groups.byte_codes`
    for one categorical key of few values, else ``_group_codes``); every count (rows, flags, values
    not NaN) from ONE ``np.bincount`` of the flags folded into the group number; sums by
    ``np.bincount`` with NaN read as 0 (no compress of the rows); the standard deviation from the
    deviations about each group's mean (two passes, no ``sum(x^2) - n mean^2`` cancellation).
    Groups sorted by their keys, a missing key last, as :func:`qakit.metrics._groups.aggregate`.

    Examples
    --------
    >>> g = pd.DataFrame({"channel": pd.Categorical(["chat", "mail", "chat", "chat"])})
    >>> x = np.array([1.0, 5.0, 3.0, np.nan])
    >>> _pandas_stats(g, ["channel"], {"x": x}, [("n", "count", "x"), ("rows", "len", None),
    ...               ("mean", "mean", "x"), ("sd", "std", "x")])  # chat: (1 + 3) / 2, sd sqrt(2)
      channel  n  rows  mean        sd
    0    chat  2     3   2.0  1.414214
    1    mail  1     1   5.0       NaN
    """
    # every count from ONE count: the flags (and each value column's "not NaN") folded into the
    # group number (``gid << f | bits``); a count per flag read the rows once each
    values = list(dict.fromkeys(col for _, fn, col in specs if fn in ("count", "mean", "std")))
    ok = {col: ~np.isnan(cols[col]) for col in values}
    flags = [cols[col] for col in dict.fromkeys(col for _, fn, col in specs if fn == "ntrue")] + list(ok.values())
    names = list(dict.fromkeys(col for _, fn, col in specs if fn == "ntrue")) + [("ok", c) for c in values]
    small = G.byte_codes(groups, keys, len(flags)) if keys and len(flags) <= 6 else None
    if small is not None:  # (one categorical key, few categories: group numbers in bytes)
        gid, space, decode = small
    elif keys:
        gid, space, decode = G._group_codes(groups, keys, present=False)
        if not isinstance(space, int):  # (numbered by np.unique: ``space`` is the groups present)
            space, decode = int(space[-1]) + 1 if len(space) else 0, None
    else:
        gid, space, decode = np.zeros(len(groups), dtype=np.int64), 1, []
    if len(flags) <= 6 and (space << len(flags)) <= 4 * len(gid) + (1 << 20):
        # (gid is this function's own: folded in place and given back, it is read again below)
        sizes, totals = G.flag_totals(G.folded_counts(gid, flags, space, own=True))
        counted = dict(zip(names, totals))
    else:
        counted = {name: np.bincount(gid[f], minlength=space) for name, f in zip(names, flags)}
        sizes = np.bincount(gid, minlength=space)
    present = np.flatnonzero(sizes) if keys else np.zeros(1, dtype=np.int64)  # (no keys: one row, n = 0 too)
    sums: dict = {}

    def mean_of(col: str) -> np.ndarray:
        if col not in sums:  # (NaN read as 0 in the sums: the same sums, row order kept, no compress)
            x = np.where(ok[col], cols[col], 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                sums[col] = np.bincount(gid, weights=x, minlength=space) / counted[("ok", col)]
        return sums[col]

    def squares_of(col: str) -> np.ndarray:  # (deviations about each group's mean: two passes, no cancellation)
        dev = cols[col] - mean_of(col)[gid]
        dev *= dev
        np.copyto(dev, 0.0, where=~ok[col])
        return np.bincount(gid, weights=dev, minlength=space)

    data = _spec_values(specs, present, sizes, counted, mean_of, squares_of)
    return _stats_frame(groups, keys, data, gid, present, decode)


def _spec_values(specs: list[tuple[str, str, str | None]], present: np.ndarray, sizes: np.ndarray, counted: dict,
                 mean_of: Any, squares_of: Any) -> dict[str, np.ndarray]:
    """The statistics ``specs`` (as :func:`_pandas_stats`) of the groups ``present``, from the rows per
    group (``sizes``), the counts (``counted``: a flag column's name, or ``("ok", column)`` for its
    values not NaN), each group's mean (``mean_of(column)``) and sum of squared deviations about it
    (``squares_of(column)``): ``std = sqrt(squares / (n - 1))``, NaN below two values."""
    data: dict = {}
    for name, fn, col in specs:
        if fn == "len":
            v = sizes[present].astype(np.int64)
        elif fn == "ntrue":
            v = counted[col][present].astype(np.int64)
        elif fn == "count":
            v = counted[("ok", col)][present].astype(np.int64)
        elif fn == "mean":
            v = mean_of(col)[present]
        elif fn == "std":
            n = counted[("ok", col)]
            with np.errstate(invalid="ignore", divide="ignore"):
                var = squares_of(col) / (n - 1)
            v = np.where(n > 1, np.sqrt(np.maximum(var, 0.0)), np.nan)[present]
        else:  # pragma: no cover (the definitions ask for these only)
            raise ValueError(fn)
        data[name] = v
    return data


#: rows per block of :func:`_blocked_stats` (the kind's rows of a block, about a third, and their
#: temporaries stay in the CPU's cache; measured on 3M answers: 2^16 rows 20.0 ms, 2^18 17.8 ms,
#: 2^19 slower again)
_STATS_BLOCK = 1 << 18
#: blocks from which :func:`_blocked_stats` reads a table in two halves on two threads (below it
#: one pass: handing half over costs about what it saves)
_SPLIT_BLOCKS = 4


def _blocked_stats(sv: Table, kind: str, scale: tuple[float, float], by: Sequence[str], period: str | None,
                   cols_of: Any, specs: list[tuple[str, str, str | None]]) -> tuple[pd.DataFrame, Any] | None:
    """:func:`_pandas_answers` and :func:`_pandas_stats` in one pass over the table, block by block
    (:data:`_STATS_BLOCK` rows: the kind's rows found from its codes, their scores and group
    numbers taken, ``cols_of(scores, scored)`` computed (``scored``: the scores not NaN), every count folded into one ``np.bincount`` and the
    sums added up, the block's temporaries staying in the CPU's cache), for a validated pandas
    table without periods grouped by nothing or by one categorical column of few values (its codes
    in bytes: :func:`qakit.metrics._groups.byte_codes`). Returns ``(result, unscored
    ids)`` -- the result as :func:`_pandas_stats` gives it, the ids of the answers without a score as
    :func:`_start_sorted_ids` gives them (None when there is none); or None (another table, or an answer
    off ``scale``: the caller's general path then, which refuses it with its message).

    The counts are exact; a mean's sum is added block by block (the same sum as one pass up to the
    last bits of a float, and exactly the same when the table fits one block). A table of
    :data:`_SPLIT_BLOCKS` blocks or more is read in two halves of whole blocks, the second on the
    second thread (:mod:`qakit._threads`), and the halves' parts are combined in block order: the
    result is bit-for-bit the same with ``QAKIT_THREADS=1``.
    """
    df = sv.pandas
    keys = list(by)
    if sv.engine != "pandas" or df is None or period is not None or any(b not in df.columns for b in keys):
        return None
    k = df[S.KIND]
    if isinstance(k.dtype, pd.CategoricalDtype):
        match = np.flatnonzero(np.asarray(k.cat.categories == kind, dtype=bool))
        if not len(match):
            return None
        kcodes, code = k.array.codes, int(match[0])  # (a Python int: int8 codes compared as int8)
        rows_in = lambda a, b: np.flatnonzero(kcodes[a:b] == code)  # noqa: E731
    else:
        is_kind = k.eq(kind).to_numpy(dtype=bool, na_value=False)
        rows_in = lambda a, b: np.flatnonzero(is_kind[a:b])  # noqa: E731
    values = list(dict.fromkeys(col for _, fn, col in specs if fn in ("count", "mean", "std")))
    flag_cols = list(dict.fromkeys(col for _, fn, col in specs if fn == "ntrue"))
    names = flag_cols + [("ok", c) for c in values]
    nbits = len(names)
    if keys:
        small = G.byte_codes(df, keys, nbits) if nbits <= 6 else None
        if small is None:
            return None
        gid_all, space, decode = small
    else:
        gid_all, space, decode = None, 1, []
    v_all = df[S.SCORE].to_numpy(dtype=float, na_value=np.nan)
    n = len(df)
    stds = [c for c in values if any(fn == "std" and col == c for _, fn, col in specs)]

    def first_pass(a0: int, a1: int):
        """The blocks starting in ``a0 .. a1``: ``(counts, [each block's sums], unscored rows, kept
        blocks, lowest, highest score)``."""
        per = np.zeros((space, 1 << nbits), dtype=np.int64)
        block_sums: list[list[np.ndarray]] = []
        missing: list[np.ndarray] = []
        kept: list = []  # (each block's group numbers and values, for the deviations' second pass)
        lo_s, hi_s = np.inf, -np.inf
        for a in range(a0, a1, _STATS_BLOCK):
            b = min(a + _STATS_BLOCK, n)
            idx = rows_in(a, b)
            if not len(idx):
                continue
            vb = v_all[a:b][idx]
            gb = gid_all[a:b][idx] if gid_all is not None else np.zeros(len(idx), dtype=np.uint8)
            lo_s, hi_s = min(lo_s, np.fmin.reduce(vb)), max(hi_s, np.fmax.reduce(vb))  # (NaN ignored)
            nan = np.isnan(vb)
            scored = ~nan
            cols = cols_of(vb, scored)
            oks = {c: scored if cols[c] is vb else ~np.isnan(cols[c]) for c in values}  # (the score itself: read once)
            per += G.folded_counts(gb, [cols[c] for c in flag_cols] + [oks[c] for c in values], space)
            block_sums.append([np.bincount(gb, weights=np.where(oks[c], cols[c], 0.0), minlength=space)
                               for c in values])
            if stds:
                kept.append((gb, {c: cols[c] for c in stds}))
            if not scored.all():
                missing.append(a + idx[nan])
        return per, block_sums, missing, kept, lo_s, hi_s

    # two halves of whole blocks (the second on the second thread: qakit._threads), combined in
    # block order -- the counts summed, each sum added block by block as one pass adds them -- so
    # the result is bit-for-bit the one of a single pass, with one thread or two
    n_blocks = -(-n // _STATS_BLOCK)
    mid = min(n, ((n_blocks + 1) // 2) * _STATS_BLOCK)
    if n_blocks >= _SPLIT_BLOCKS:
        halves = T.both(first_pass, (0, mid), (mid, n))
    else:
        halves = (first_pass(0, n),)
    if min(h[4] for h in halves) < scale[0] or max(h[5] for h in halves) > scale[1]:
        return None  # (an answer off the scale: refused by the general path, with its message)
    per = halves[0][0] if len(halves) == 1 else halves[0][0] + halves[1][0]
    sums = {c: np.zeros(space) for c in values}
    for h in halves:
        for block in h[1]:
            for c, s in zip(values, block):
                sums[c] += s
    missing = [m for h in halves for m in h[2]]
    sizes, totals = G.flag_totals(per)
    counted = dict(zip(names, totals))
    means = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for c in values:
            means[c] = sums[c] / counted[("ok", c)]
    sq = {c: np.zeros(space) for c in stds}
    if sq:  # (the deviations about each group's mean: a second pass over the blocks kept, no cancellation)
        def second_pass(kept: list) -> list[list[np.ndarray]]:
            out = []
            for gb, cols in kept:
                parts = []
                for c in stds:
                    dev = cols[c] - means[c][gb]
                    dev *= dev
                    np.copyto(dev, 0.0, where=np.isnan(dev))
                    parts.append(np.bincount(gb, weights=dev, minlength=space))
                out.append(parts)
            return out

        parts = (T.both(second_pass, (halves[0][3],), (halves[1][3],)) if len(halves) == 2
                 else (second_pass(halves[0][3]),))
        for h in parts:
            for block in h:
                for c, s in zip(stds, block):
                    sq[c] += s
    present = np.flatnonzero(sizes) if keys else np.zeros(1, dtype=np.int64)
    data = _spec_values(specs, present, sizes, counted, means.__getitem__, sq.__getitem__)
    rows = np.concatenate(missing) if missing else np.zeros(0, dtype=np.int64)
    ids = _start_sorted_ids(df[S.CONVERSATION_ID], rows) if len(rows) else None  # (taken while the frame is built)
    return _stats_frame(df, keys, data, None, present, decode), ids


def _stats_frame(groups: pd.DataFrame, keys: list[str], data: dict, gid: np.ndarray | None, present: np.ndarray,
                 decode: list | None) -> pd.DataFrame:
    """The per-group statistics ``data`` (arrays over the groups ``present``) with their keys,
    sorted as :func:`qakit.metrics._groups.aggregate` sorts them."""
    if not keys:
        return pd.DataFrame(data)
    kf = G._key_rows(groups, keys, gid, present, decode)
    return G.sort_groups(pd.DataFrame({**{k: kf[k] for k in keys}, **data}), keys)


def _unscored(res: pd.DataFrame, ids: Callable[[], list[str] | pa.Array] | None) -> pd.DataFrame:
    """The answers without a score itemised on ``res``: ``ids()`` their ids in order
    (:func:`_start_sorted_ids`), None when every answer has one."""
    if ids is not None:
        S.add_exclusion(res, "survey answer without a score", S.SCORE, ids())
    return res


def _pandas_finish(res: pd.DataFrame, df: pd.DataFrame, rows: np.ndarray, v: np.ndarray) -> pd.DataFrame:
    """:func:`_finish_survey` for :func:`_pandas_answers`: the answers without a score itemised."""
    miss = np.isnan(v)
    if miss.any():
        S.add_exclusion(res, "survey answer without a score", S.SCORE,
                        _sorted_ids(df[S.CONVERSATION_ID], rows[np.flatnonzero(miss)]))  # (not rows[miss]: slower)
    return res


# --- the definitions -----------------------------------------------------------------------------------
def csat(sv: Table, conv: Table | None, *, csat: CsatScale, by: Sequence[str], period: str | None, level: float,
         min_n: int) -> pd.DataFrame:
    """CSAT: ``100 * #(score >= satisfied_from) / #(answers with a score)``, Wilson interval;
    ``csat_mean`` the mean score. See :func:`qakit.kpis.csat_score`."""
    check = csat.off_scale
    thr = csat.satisfied_from

    def csat_cols(v: np.ndarray, scored: np.ndarray) -> dict:
        with np.errstate(invalid="ignore"):
            return {"__u": scored, "__s": v >= thr, "__v": v}

    specs = [("__n", "ntrue", "__u"), ("__k", "ntrue", "__s"), ("__rows", "len", None), ("__mean", "mean", "__v")]
    blocked = _blocked_stats(sv, "csat", (csat.low, csat.high), by, period, csat_cols, specs)
    if blocked is not None:
        res, unscored = blocked
        out = F.proportion(res, list(by), CSAT, level=level, min_n=min_n, scale=100.0)
        out.insert(len(by) + 4, CSAT_MEAN, res["__mean"].to_numpy(dtype=float))
        return _unscored(out, unscored)
    fast = _pandas_answers(sv, conv, "csat", (csat.low, csat.high), check, by, period)
    if fast is not None:
        df, at, v, groups = fast
        use = ~np.isnan(v)
        with np.errstate(invalid="ignore"):
            sat = v >= csat.satisfied_from
        res = _pandas_stats(groups, list(by), {"__u": use, "__s": sat, "__v": v},
                            [("__n", "ntrue", "__u"), ("__k", "ntrue", "__s"), ("__rows", "len", None),
                             ("__mean", "mean", "__v")])
        out = F.proportion(res, list(by), CSAT, level=level, min_n=min_n, scale=100.0)
        out.insert(len(by) + 4, CSAT_MEAN, pd.to_numeric(res["__mean"], errors="coerce").to_numpy(dtype=float,
                                                                                                na_value=np.nan))
        return _pandas_finish(out, df, at, v)
    rows, kept, keys = survey_rows(sv, conv, "csat", (csat.low, csat.high), check, by, period)
    s = nw.col(S.SCORE)
    use = ~s.is_null()
    res = G.aggregate(kept, keys, {"__n": G.n_true(use), "__k": G.n_true(use & (s >= csat.satisfied_from)),
                                   "__rows": G.n_rows(), "__mean": G.agg("mean", s)}, period=period)
    out = F.proportion(res, keys, CSAT, level=level, min_n=min_n, scale=100.0)
    out.insert(len(keys) + 4, CSAT_MEAN, pd.to_numeric(res["__mean"], errors="coerce").to_numpy(dtype=float,
                                                                                              na_value=np.nan))
    return _finish_survey(out, sv, rows, kept, period)


def nps_classes(score: Any) -> tuple[Any, Any, Any]:
    """``(promoter, passive, detractor)`` expressions of an answer: ``s >= 9``, ``7 <= s < 9``,
    ``s < 7`` (:data:`NPS_PROMOTER_FROM`, :data:`NPS_DETRACTOR_BELOW`)."""
    return (score >= NPS_PROMOTER_FROM, (score >= NPS_DETRACTOR_BELOW) & (score < NPS_PROMOTER_FROM),
            score < NPS_DETRACTOR_BELOW)


def nps_points(score: Any) -> Any:
    """Each answer's NPS contribution (an expression): 100 for a promoter, -100 for a detractor,
    0 for a passive; the mean of these points is the NPS."""
    p, _, d = nps_classes(score)
    return nw.when(p).then(nw.lit(100.0)).when(d).then(nw.lit(-100.0)).otherwise(nw.lit(0.0))


def nps(sv: Table, conv: Table | None, *, by: Sequence[str], period: str | None, level: float,
        min_n: int) -> pd.DataFrame:
    """NPS: ``100 (p_P - p_D)`` with the multinomial interval (:func:`qakit.metrics._finish.nps`).
    See :func:`qakit.kpis.nps_score`."""
    def nps_cols(v: np.ndarray, scored: np.ndarray) -> dict:
        with np.errstate(invalid="ignore"):
            p, m, d = nps_classes(v)
        return {"__u": scored, "__pp": p, "__dd": d, "__mm": m}

    specs = [("__n", "ntrue", "__u"), ("__p", "ntrue", "__pp"), ("__d", "ntrue", "__dd"), ("__m", "ntrue", "__mm")]
    blocked = _blocked_stats(sv, "nps", NPS_SCALE, by, period, nps_cols, specs)
    if blocked is not None:
        res, unscored = blocked
        return _unscored(F.nps(res, list(by), NPS, level=level, min_n=min_n), unscored)
    fast = _pandas_answers(sv, conv, "nps", NPS_SCALE, "nps score outside the scale 0..10", by, period)
    if fast is not None:
        df, at, v, groups = fast
        with np.errstate(invalid="ignore"):
            p, m, d = nps_classes(v)
        res = _pandas_stats(groups, list(by), {"__u": ~np.isnan(v), "__pp": p, "__dd": d, "__mm": m},
                            [("__n", "ntrue", "__u"), ("__p", "ntrue", "__pp"), ("__d", "ntrue", "__dd"),
                             ("__m", "ntrue", "__mm")])
        return _pandas_finish(F.nps(res, list(by), NPS, level=level, min_n=min_n), df, at, v)
    rows, kept, keys = survey_rows(sv, conv, "nps", NPS_SCALE, "nps score outside the scale 0..10", by, period)
    s = nw.col(S.SCORE)
    p, m, d = nps_classes(s)
    res = G.aggregate(kept, keys, {"__n": G.n_true(~s.is_null()), "__p": G.n_true(p), "__d": G.n_true(d),
                                   "__m": G.n_true(m)}, period=period)
    out = F.nps(res, keys, NPS, level=level, min_n=min_n)
    return _finish_survey(out, sv, rows, kept, period)


def ces(sv: Table, conv: Table | None, *, scale: tuple[float, float], higher_is_better: bool, by: Sequence[str],
        period: str | None, level: float, min_n: int) -> pd.DataFrame:
    """CES: the mean answer (reversed as ``min + max - score`` when ``higher_is_better=False``)
    with a t interval clipped to the scale. See :func:`qakit.kpis.ces_score`."""
    check = f"ces score outside the scale {scale[0]:g}..{scale[1]:g}"
    flip = scale[0] + scale[1]

    def ces_cols(v: np.ndarray, scored: np.ndarray) -> dict:
        return {"__v": v if higher_is_better else flip - v}

    specs = [("__n", "count", "__v"), ("__rows", "len", None), ("__mean", "mean", "__v"), ("__sd", "std", "__v")]
    blocked = _blocked_stats(sv, "ces", scale, by, period, ces_cols, specs)
    if blocked is not None:
        res, unscored = blocked
        out = F.mean_t(res, list(by), CES, level=level, min_n=min_n, clip=tuple(map(float, scale)))
        return _unscored(out, unscored)
    fast = _pandas_answers(sv, conv, "ces", scale, check, by, period)
    if fast is not None:
        df, at, v, groups = fast
        x = v if higher_is_better else (scale[0] + scale[1]) - v
        res = _pandas_stats(groups, list(by), {"__v": x},
                            [("__n", "count", "__v"), ("__rows", "len", None), ("__mean", "mean", "__v"),
                             ("__sd", "std", "__v")])
        out = F.mean_t(res, list(by), CES, level=level, min_n=min_n, clip=tuple(map(float, scale)))
        return _pandas_finish(out, df, at, v)
    rows, kept, keys = survey_rows(sv, conv, "ces", scale, check, by, period)
    s = nw.col(S.SCORE)
    if not higher_is_better:
        s = nw.lit(scale[0] + scale[1]) - s
    res = G.aggregate(kept, keys, {"__n": G.agg("count", s), "__rows": G.n_rows(), "__mean": G.agg("mean", s),
                                   "__sd": G.agg("std", s)},
                      period=period)
    out = F.mean_t(res, keys, CES, level=level, min_n=min_n, clip=tuple(map(float, scale)))
    return _finish_survey(out, sv, rows, kept, period)
