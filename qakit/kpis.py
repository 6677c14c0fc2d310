"""Customer-service KPIs from the canonical conversations, surveys and calls tables.

Every KPI is ``f(data, *, by=None, period=None, ...)`` returning a tidy DataFrame: grouping
columns, ``period`` (period start, when ``period`` is given), ``n``, the value column named
after the metric, ``ci_low``/``ci_high`` where an interval makes sense, then extra statistics.
Conventions: ``*_score`` / ``csat`` / ``nps`` are percent or scale points (higher is better),
``*_rate`` are proportions in [0, 1], ``*_time`` columns are hours.

With ``period``, a ``partial`` column marks periods the data does not cover whole (the last one
when it runs past ``as_of`` / the data's end, the first one when the data starts mid-period).
Windowed outcomes are censored at ``as_of`` (default: the data's last timestamp): a conversation
whose FCR repeat window or SLA target has not elapsed yet is not judged either way, and itemised.
CSAT has one definition, :class:`CsatScale` (scale + satisfied threshold), shared by every
function that reads CSAT (here and in :mod:`qakit.stats`).

Rows a KPI cannot use are never dropped silently: each reason (response before creation,
open conversation, absurd duration, missing value ...) is itemised on the result, read it with
:func:`qakit.schema.exclusions`; ``n_excluded`` counts them per group.

Inputs are validated with :func:`qakit.schema.validate` (ids as str, timestamps UTC); table
problems (mixed time zones, unparseable timestamps, duplicate ids, scores off their scale) raise
one :class:`~qakit.errors.DataValidationError` listing every failing row.
"""

from __future__ import annotations

import datetime as dt
import functools
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy import stats

from . import schema as S
from .errors import ParameterError, Problems, QakitWarning, check_choice, check_number
from .intervals import MIN_N, as_by, check_by, check_level, mean_ci, wilson_ci
from .scorecard import _with_period

# --- result columns (defined once) ----------------------------------------------------------
CSAT = "csat"
CSAT_MEAN = "csat_mean"
NPS = "nps"
PROMOTERS_PCT, PASSIVES_PCT, DETRACTORS_PCT = "promoters_pct", "passives_pct", "detractors_pct"
#: NPS classes by threshold, fractional answers too: promoter ``s >= 9``, detractor ``s < 7``, passive between
NPS_PROMOTER_FROM, NPS_DETRACTOR_BELOW = 9, 7
CES = "ces"
FIRST_RESPONSE_TIME = "first_response_time"
RESOLUTION_TIME = "resolution_time"
HANDLE_TIME = "handle_time"
FCR_RATE = "fcr_rate"
INTERACTIONS_PER_ISSUE = "interactions_per_issue"
ESCALATION_RATE = "escalation_rate"
RESOLUTION_RATE = "resolution_rate"
BACKLOG = "backlog"
PERIOD = "period"
PERIOD_END = "period_end"
PARTIAL = "partial"  # the period runs past the data's end (as_of) or starts before its first day
OPENED, CLOSED = "opened", "closed"
MET_PCT = "met_pct"  # percent (read against a percent goal), like promoters_pct
TARGET_H = "target_h"
GOAL, GOAL_MET = "goal", "goal_met"
SERVICE_LEVEL = "service_level"
ABANDONMENT_RATE = "abandonment_rate"
COST_PER_CONTACT = "cost_per_contact"
CASES, COST, RATIO = "cases", "cost", "cost_value_ratio"
COSTS_MORE = "costs_more_than_value"
KPI, VALUE, UNIT, HIGHER_IS_BETTER = "kpi", "value", "unit", "higher_is_better"

HOURS_PER_S = 1 / 3600.0
DEFAULT_SLA_HOURS = {"urgent": 1.0, "critical": 1.0, "high": 4.0, "normal": 24.0, "medium": 24.0, "low": 72.0}
RESOLVED_STATUSES = ("solved", "closed", "resolved")


# --- shared plumbing -------------------------------------------------------------------------
def _attach(data: pd.DataFrame, conversations: pd.DataFrame | None, by: list[str]) -> pd.DataFrame:
    """Bring ``by`` columns missing from ``data`` in from ``conversations`` (on conversation_id)."""
    missing = [b for b in by if b not in data.columns]
    if missing and conversations is not None:
        conv = S.validate(conversations, "conversations")
        check_by(conv, missing, "conversations")
        data = data.merge(conv[[S.CONVERSATION_ID, *missing]], on=S.CONVERSATION_ID, how="left")
    check_by(data, by, "the data (pass conversations=... to group surveys by conversation columns)")
    return data


def _groups(df: pd.DataFrame, by: str | Sequence[str] | None, period: str | None, time_col: str):
    keys = as_by(by)
    check_by(df, keys, "data")
    df, pkeys = _with_period(df, period, time_col)
    return df, keys + pkeys


def _agg(df: pd.DataFrame, keys: list[str], **aggs) -> pd.DataFrame:
    """Named aggregations per group (or one row when ``keys`` is empty)."""
    if keys:
        return df.groupby(keys, sort=True, observed=True, dropna=False).agg(**aggs).reset_index()
    row = {}
    for name, (col, fn) in aggs.items():
        row[name] = df[col].agg(fn) if len(df) else (0 if fn in ("sum", "size", "count") else np.nan)
    return pd.DataFrame([row])


def _proportion(df: pd.DataFrame, flag: str, usable: str, keys: list[str], name: str, level: float,
                min_n: int) -> pd.DataFrame:
    """n (usable rows), k (flag true), proportion with Wilson CI, n_excluded per group."""
    d = df.assign(_u=df[usable].astype(bool), _k=(df[flag].astype(bool) & df[usable].astype(bool)),
                  _one=1)
    res = _agg(d, keys, n=("_u", "sum"), _k=("_k", "sum"), _rows=("_one", "sum"))
    n = res["n"].to_numpy(dtype=float)
    k = res["_k"].to_numpy(dtype=float)
    lo, hi = wilson_ci(k, n, level=level)
    with np.errstate(invalid="ignore", divide="ignore"):
        res[name] = np.where(n > 0, k / n, np.nan)
    res[S.CI_LOW], res[S.CI_HIGH] = lo, hi
    res[S.N] = res["n"].astype("int64")
    res[S.N_EXCLUDED] = (res["_rows"] - res["n"]).astype("int64")
    res[S.SMALL_SAMPLE] = res[S.N] < min_n
    return res[keys + [S.N, name, S.CI_LOW, S.CI_HIGH, S.N_EXCLUDED, S.SMALL_SAMPLE]]


def _exclude(result: pd.DataFrame, df: pd.DataFrame, mask: pd.Series | np.ndarray, reason: str,
             column: str, id_col: str) -> None:
    S.add_exclusion(result, reason, column, df.loc[np.asarray(mask, dtype=bool), id_col])


def _as_of(as_of, data: pd.DataFrame, columns: Sequence[str]) -> pd.Timestamp:
    """``as_of`` as a UTC timestamp; default the data's last timestamp over ``columns``."""
    if as_of is None:
        cols = [data[c] for c in columns if c in data.columns and data[c].notna().any()]
        if not cols:
            return pd.NaT
        return max(c.max() for c in cols)
    try:
        ts = pd.Timestamp(as_of)
    except (TypeError, ValueError):
        raise ParameterError(f"as_of must be a timestamp like '2026-10-31 23:59Z'; got {as_of!r}") from None
    if pd.isna(ts):
        raise ParameterError(f"as_of must be a timestamp like '2026-10-31 23:59Z'; got {as_of!r}")
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def _mark_partial(res: pd.DataFrame, period: str | None, first, last, *, explicit_end: bool) -> pd.DataFrame:
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


def _partial_periods(table: str, time_col: str, end_cols: Sequence[str]):
    """Decorator: a ``period=`` result gets the ``partial`` column (see :func:`_mark_partial`)."""

    def deco(f):
        @functools.wraps(f)
        def inner(data, *args, period=None, **kw):
            res = f(data, *args, period=period, **kw)
            if period is None or not isinstance(res, pd.DataFrame) or PERIOD not in res.columns:
                return res
            d = S.validate(data, table)
            as_of = kw.get("as_of")
            first = d[time_col].min() if d[time_col].notna().any() else pd.NaT
            last = _as_of(as_of, d, end_cols)
            return _mark_partial(res, period, first, last, explicit_end=as_of is not None)

        return inner

    return deco


# --- business hours ----------------------------------------------------------------------------
def _seconds(hhmm: str) -> int:
    if isinstance(hhmm, str) and hhmm.strip() in ("24:00", "24:00:00"):
        return 24 * 3600  # closing at midnight (a 24-hour day)
    try:
        t = dt.time.fromisoformat(hhmm)
    except (TypeError, ValueError):
        raise ParameterError(f"business hours must be 'HH:MM' strings; got {hhmm!r}") from None
    return t.hour * 3600 + t.minute * 60 + t.second


@dataclass(frozen=True)
class BusinessHours:
    """A weekly opening schedule in a time zone, with holidays.

    Parameters
    ----------
    schedule : mapping weekday -> (open, close), default Monday-Friday 09:00-17:00
        Weekday 0 = Monday ... 6 = Sunday; times ``"HH:MM"`` in local wall-clock time;
        ``"24:00"`` closes at midnight (a 24/7 desk: ``("00:00", "24:00")`` every day).
    holidays : iterable of date-like
        Local dates on which the team is closed.
    tz : str, default="UTC"

    Examples
    --------
    >>> bh = BusinessHours(holidays=["2026-01-02"], tz="Europe/Berlin")
    >>> start = pd.Series(pd.to_datetime(["2026-01-01 16:00"]).tz_localize("Europe/Berlin"))
    >>> end = pd.Series(pd.to_datetime(["2026-01-05 10:30"]).tz_localize("Europe/Berlin"))
    >>> float(bh.hours_between(start, end).iloc[0])  # Thu 1 h, Fri holiday, weekend, Mon 1.5 h
    2.5
    """

    schedule: Mapping[int, tuple[str, str]] = field(
        default_factory=lambda: {d: ("09:00", "17:00") for d in range(5)})
    holidays: Iterable = ()
    tz: str = "UTC"

    def __post_init__(self) -> None:
        opens, closes = np.zeros(7), np.zeros(7)
        for day, span in dict(self.schedule).items():
            if day not in range(7):
                raise ParameterError(f"business hours: weekday must be 0 (Monday) .. 6 (Sunday); got {day!r}")
            o, c = _seconds(span[0]), _seconds(span[1])
            if c <= o:
                raise ParameterError(f"business hours: day {day} closes ({span[1]}) before it opens ({span[0]})")
            opens[day], closes[day] = o, c
        object.__setattr__(self, "_open", opens)
        object.__setattr__(self, "_close", closes)
        hol = pd.to_datetime(pd.Series(list(self.holidays), dtype="object"), errors="coerce", format="mixed")
        if hol.isna().any():
            raise ParameterError(f"business hours: unparseable holiday dates {list(pd.Series(list(self.holidays))[hol.isna()])}")
        object.__setattr__(self, "_holidays", hol.dt.normalize().to_numpy(dtype="datetime64[D]"))

    def _opening_instants(self, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each local day's opening and closing as absolute instants (int64 seconds, UTC).

        Wall-clock times are placed on the day in ``tz``: a time that does not exist (spring
        forward gap) moves forward to the first valid instant, an ambiguous one (autumn overlap)
        opens at its first and closes at its second occurrence. Closed days get open = close.
        """
        wd = (days.astype(np.int64) - 4) % 7  # 1970-01-01 was a Thursday (3) -> Monday = 0
        op, cl = self._open[wd].copy(), self._close[wd].copy()
        closed = np.isin(days, self._holidays) | (cl <= op)
        base = days.astype("datetime64[s]")

        def absolute(secs: np.ndarray, first: bool) -> np.ndarray:
            wall = pd.DatetimeIndex(base + secs.astype("timedelta64[s]"))
            amb = np.full(len(wall), first)
            loc = wall.tz_localize(self.tz, ambiguous=amb, nonexistent="shift_forward")
            return loc.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[s]").astype(np.int64)

        o = absolute(op, True)
        c = absolute(cl, False)
        c = np.where(closed, o, np.maximum(c, o))
        return o, c

    def hours_between(self, start: pd.Series, end: pd.Series) -> pd.Series:
        """Business hours between two timezone-aware series (NaN where either is missing or
        ``end < start``).

        Notes
        -----
        Counted in absolute time, so business time never exceeds elapsed time, across DST changes
        too (a 24/7 desk gives exactly the elapsed hours; an opening of 09:00-17:00 local is 8 h
        on any day). Each local day ``d`` opens over the absolute interval ``[o_d, c_d)``; with
        ``C_d`` the open seconds of the days before ``d``, an instant ``t`` on local day ``d`` sits
        at ``C_d + clip(t - o_d, 0, c_d - o_d)`` business seconds, and the result is the
        difference of the two positions. Vectorised over rows; one pass over the local days.
        """
        start = pd.Series(start)
        end = pd.Series(end, index=start.index)
        for name, v in (("start", start), ("end", end)):
            if not isinstance(v.dtype, pd.DatetimeTZDtype):
                raise ParameterError(f"business hours: {name} must be timezone-aware timestamps (validated "
                                     f"tables are UTC); got dtype {v.dtype}")
        ok = start.notna() & end.notna() & (end >= start)
        out = pd.Series(np.nan, index=start.index)
        if not ok.any():
            return out
        s_utc, e_utc = start[ok].dt.tz_convert("UTC"), end[ok].dt.tz_convert("UTC")
        ls = s_utc.dt.tz_convert(self.tz).dt.tz_localize(None)
        le = e_utc.dt.tz_convert(self.tz).dt.tz_localize(None)
        day0 = ls.min().to_datetime64().astype("datetime64[D]")
        day1 = le.max().to_datetime64().astype("datetime64[D]")
        days = np.arange(day0, day1 + np.timedelta64(1, "D"), dtype="datetime64[D]")
        o, c = self._opening_instants(days)
        length = c - o
        cum = np.concatenate([[0], np.cumsum(length)[:-1]])

        def position(local: pd.Series, utc: pd.Series) -> np.ndarray:
            idx = (local.to_numpy(dtype="datetime64[D]") - day0).astype(np.int64)
            t = utc.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9
            return cum[idx] + np.clip(t - o[idx], 0, length[idx])

        secs = position(le, e_utc) - position(ls, s_utc)
        out[ok] = secs * HOURS_PER_S
        return out


# --- one CSAT definition (scale + satisfied threshold), shared by every function that reads CSAT ----------
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

    def check(self, surveys: pd.DataFrame, *, column: str = S.SCORE, table: str = "surveys",
              id_col: str = S.CONVERSATION_ID) -> None:
        """Raise :class:`~qakit.errors.DataValidationError` for answers off the scale (inf included)."""
        s = surveys[column].to_numpy(dtype=float)
        off = ~np.isnan(s) & ((s < self.low) | (s > self.high) | ~np.isfinite(s))
        if off.any():
            hint = "; pass scale=, e.g. scale='1-10' or scale=CsatScale(0, 10, satisfied_from=9)"
            p = Problems(table, row_ids=surveys[id_col] if id_col in surveys.columns else None)
            p.add(column, f"csat score outside the scale {self.label}{hint}", off, surveys[column])
            p.raise_if_any()


CSAT_PRESETS: dict[str, CsatScale] = {}
CSAT_PRESETS.update({"1-5": CsatScale(1, 5, 4), "1-7": CsatScale(1, 7, 6), "1-10": CsatScale(1, 10, 8),
                     "0-10": CsatScale(0, 10, 8)})


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


# --- surveys -------------------------------------------------------------------------------------
def _survey_period_guard(f):
    """With ``period``, an answer without ``answered_at`` is placed by its conversation's
    ``created_at`` when ``conversations`` is given (recorded as an adjustment); otherwise it
    cannot be placed in a period and is left out and itemised (never a NaT period, never
    counted in every period)."""

    @functools.wraps(f)
    def inner(surveys: pd.DataFrame, *args, period: str | None = None, **kw):
        if period is None:
            return f(surveys, *args, period=None, **kw)
        sv = S.validate(surveys, "surveys")
        nat = sv[S.ANSWERED_AT].isna()
        placed = pd.Series(False, index=sv.index)
        if nat.any() and kw.get("conversations") is not None:
            conv = S.validate(kw["conversations"], "conversations")
            created = sv[S.CONVERSATION_ID].map(conv.set_index(S.CONVERSATION_ID)[S.CREATED_AT])
            placed = nat & created.notna()
            sv = sv.assign(**{S.ANSWERED_AT: sv[S.ANSWERED_AT].where(~placed, created)})
            nat = nat & ~placed
        res = f(sv[~nat].reset_index(drop=True), *args, period=period, **kw)
        S.add_exclusion(res, f"no {S.ANSWERED_AT}: answer not placed in a period", S.ANSWERED_AT,
                        sv.loc[nat, S.CONVERSATION_ID])
        S.add_adjustment(res, f"no {S.ANSWERED_AT}: placed in a period by its conversation's {S.CREATED_AT}",
                         S.ANSWERED_AT, sv.loc[placed, S.CONVERSATION_ID])
        return res

    return inner


def _survey_rows(surveys: pd.DataFrame, kind: str, scale: CsatScale | tuple[float, float], conversations,
                 keys) -> pd.DataFrame:
    sv = S.validate(surveys, "surveys")
    sv = sv[sv[S.KIND].eq(kind)]
    if isinstance(scale, CsatScale):
        scale.check(sv)
    else:
        lo, hi = scale
        off = sv[S.SCORE].notna() & ~sv[S.SCORE].between(lo, hi)
        if off.any():
            p = Problems("surveys", row_ids=sv[S.CONVERSATION_ID])
            p.add(S.SCORE, f"{kind} score outside the scale {lo:g}..{hi:g}", off, sv[S.SCORE])
            p.raise_if_any()
    return _attach(sv, conversations, keys)


@_partial_periods("surveys", S.ANSWERED_AT, (S.ANSWERED_AT,))
@_survey_period_guard
def csat_score(
    surveys: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    satisfied: float | Sequence[float] | None = None,
    scale: CsatScale | str | tuple[float, float] | None = None,
    conversations: pd.DataFrame | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """CSAT: percent of answers that are satisfied, with a Wilson interval.

    Parameters
    ----------
    surveys : pandas.DataFrame
        Surveys table; rows with ``kind == "csat"`` are used.
    by : str or list of str, optional
        Columns of surveys, or of ``conversations`` (joined on ``conversation_id``).
    period : {"D", "W", "M", "Q", "Y"}, optional
        Trend by period of ``answered_at``.
    satisfied : float, optional
        Satisfied threshold: answers ``>= satisfied`` are satisfied; default the scale's
        (4 on 1-5). The old tuple of answers (``(9, 10)``) still works when it is the top of the
        scale (``FutureWarning``); see :func:`csat_definition`.
    scale : CsatScale or {"1-5", "1-7", "1-10", "0-10"} or (low, high), default 1-5
        The CSAT definition (:class:`CsatScale`); answers off the scale are an error naming
        the column, values and row ids.
    conversations : pandas.DataFrame, optional
    level : float, default=0.95
    min_n : int, default=30

    Returns
    -------
    pandas.DataFrame
        ``*by, [period], n, csat, ci_low, ci_high, csat_mean, n_excluded, small_sample``;
        ``csat`` and its CI in percent; ``csat_mean`` the mean score; ``n_excluded`` answers
        without a score.

    Notes
    -----
    ``CSAT = 100 * #(score >= satisfied_from) / #(answers with a score)``; Wilson score interval.

    Examples
    --------
    >>> sv = pd.DataFrame({"conversation_id": list("abcde"), "kind": "csat",
    ...                    "score": [5.0, 4, 3, 1, 5], "answered_at": None})
    >>> csat_score(sv)[["n", "csat", "csat_mean"]]  # 3 of 5 satisfied; mean 18/5
       n  csat  csat_mean
    0  5  60.0        3.6
    """
    level = check_level(level)
    csat = csat_definition(scale, satisfied)
    keys0 = as_by(by)
    sv = _survey_rows(surveys, "csat", csat, conversations, keys0)
    sv, keys = _groups(sv, keys0, period, S.ANSWERED_AT)
    sv = sv.assign(_use=sv[S.SCORE].notna(), _sat=csat.satisfied(sv[S.SCORE]))
    res = _proportion(sv, "_sat", "_use", keys, CSAT, level, min_n)
    res[CSAT] *= 100
    res[S.CI_LOW] *= 100
    res[S.CI_HIGH] *= 100
    means = _agg(sv, keys, **{CSAT_MEAN: (S.SCORE, "mean")})
    res = res.merge(means, on=keys) if keys else res.assign(**{CSAT_MEAN: means[CSAT_MEAN].to_numpy()})
    _exclude(res, sv, ~sv["_use"], "survey answer without a score", S.SCORE, S.CONVERSATION_ID)
    return res[keys + [S.N, CSAT, S.CI_LOW, S.CI_HIGH, CSAT_MEAN, S.N_EXCLUDED, S.SMALL_SAMPLE]]


def _nps_points(scores: pd.Series) -> np.ndarray:
    """Each answer's NPS contribution: 100 for a promoter, -100 for a detractor, 0 for a passive
    (the classes of :func:`nps_score`); the mean of these points is the NPS."""
    s = scores.to_numpy(dtype=float)
    return np.where(s >= NPS_PROMOTER_FROM, 100.0, np.where(s < NPS_DETRACTOR_BELOW, -100.0, 0.0))


@_partial_periods("surveys", S.ANSWERED_AT, (S.ANSWERED_AT,))
@_survey_period_guard
def nps_score(
    surveys: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    conversations: pd.DataFrame | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Net Promoter Score: percent promoters (9-10) minus percent detractors (0-6).

    Fractional or averaged answers are classed by threshold, so every answer has exactly one
    class and the three shares sum to 100: detractor ``s < 7``, passive ``7 <= s < 9``,
    promoter ``s >= 9`` (a 6.5 is a detractor, an 8.5 a passive, a 9.5 a promoter).

    Returns
    -------
    pandas.DataFrame
        ``*by, [period], n, nps, ci_low, ci_high, se, promoters_pct, passives_pct,
        detractors_pct, small_sample``.

    Notes
    -----
    With ``p_P``, ``p_D`` the promoter and detractor shares, ``NPS = 100 (p_P - p_D)`` and
    ``se = 100 sqrt((p_P + p_D - (p_P - p_D)^2) / n)`` (variance of a difference of two
    multinomial shares); CI ``NPS +/- z se``, clipped to [-100, 100].

    Examples
    --------
    >>> sv = pd.DataFrame({"conversation_id": list("abcdefghij"), "kind": "nps", "answered_at": None,
    ...                    "score": [10.0, 9, 9, 10, 8, 7, 6, 3, 10, 9]})
    >>> nps_score(sv)[["n", "nps", "promoters_pct", "detractors_pct"]]  # 6 P, 2 D of 10
        n   nps  promoters_pct  detractors_pct
    0  10  40.0           60.0            20.0
    """
    level = check_level(level)
    keys0 = as_by(by)
    sv = _survey_rows(surveys, "nps", (0, 10), conversations, keys0)
    sv, keys = _groups(sv, keys0, period, S.ANSWERED_AT)
    s = sv[S.SCORE]
    sv = sv.assign(_use=s.notna(), _p=s.ge(NPS_PROMOTER_FROM), _d=s.lt(NPS_DETRACTOR_BELOW),
                   _m=s.ge(NPS_DETRACTOR_BELOW) & s.lt(NPS_PROMOTER_FROM))
    res = _agg(sv, keys, n=("_use", "sum"), _p=("_p", "sum"), _d=("_d", "sum"), _m=("_m", "sum"))
    n = res["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        pp, pdt, pm = res["_p"] / n, res["_d"] / n, res["_m"] / n
        se = 100 * np.sqrt((pp + pdt - (pp - pdt) ** 2) / n)
    z = stats.norm.ppf((1 + level) / 2)
    res[S.N] = res["n"].astype("int64")
    res[NPS] = 100 * (pp - pdt)
    res[S.CI_LOW] = np.clip(res[NPS] - z * se, -100, 100)
    res[S.CI_HIGH] = np.clip(res[NPS] + z * se, -100, 100)
    res[S.SE] = se
    res[PROMOTERS_PCT], res[PASSIVES_PCT], res[DETRACTORS_PCT] = 100 * pp, 100 * pm, 100 * pdt
    res[S.SMALL_SAMPLE] = res[S.N] < min_n
    _exclude(res, sv, ~sv["_use"], "survey answer without a score", S.SCORE, S.CONVERSATION_ID)
    return res[keys + [S.N, NPS, S.CI_LOW, S.CI_HIGH, S.SE, PROMOTERS_PCT, PASSIVES_PCT, DETRACTORS_PCT,
                       S.SMALL_SAMPLE]]


@_partial_periods("surveys", S.ANSWERED_AT, (S.ANSWERED_AT,))
@_survey_period_guard
def ces_score(
    surveys: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    scale: tuple[float, float] = (1, 7),
    higher_is_better: bool = True,
    conversations: pd.DataFrame | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Customer Effort Score: the mean answer with a t interval.

    ``higher_is_better=False`` is for surveys where 1 means "very easy": the scores are then
    reversed (``min + max - score``) so that ``ces`` is always higher-is-better, as the column
    naming convention promises.

    Returns
    -------
    pandas.DataFrame
        ``*by, [period], n, ces, ci_low, ci_high, n_excluded, small_sample``.

    Examples
    --------
    >>> sv = pd.DataFrame({"conversation_id": list("abcd"), "kind": "ces", "answered_at": None,
    ...                    "score": [7.0, 6, 5, 2]})
    >>> float(ces_score(sv)["ces"].iloc[0]), float(ces_score(sv, higher_is_better=False)["ces"].iloc[0])  # 20/4; 8 - 5
    (5.0, 3.0)
    """
    scale = _ces_scale(scale, higher_is_better)
    keys0 = as_by(by)
    sv = _survey_rows(surveys, "ces", scale, conversations, keys0)
    sv, keys = _groups(sv, keys0, period, S.ANSWERED_AT)
    if not higher_is_better:
        sv = sv.assign(**{S.SCORE: scale[0] + scale[1] - sv[S.SCORE]})
    from .scorecard import _mean_table

    res = _mean_table(sv, S.SCORE, keys, CES, level=level, min_n=min_n, clip=tuple(map(float, scale)))
    _exclude(res, sv, sv[S.SCORE].isna(), "survey answer without a score", S.SCORE, S.CONVERSATION_ID)
    return res


def _ces_scale(scale, higher_is_better) -> tuple[float, float]:
    """The CES ``(low, high)`` scale checked (and ``higher_is_better`` a bool); shared with
    :mod:`qakit.engines`."""
    try:
        lo, hi = (check_number("scale", v) for v in scale)
    except (TypeError, ValueError):
        raise ParameterError(f"scale must be (low, high) numbers; got {scale!r}") from None
    if not hi > lo:
        raise ParameterError(f"scale must be (low, high) with high > low; got {scale!r}")
    if not isinstance(higher_is_better, (bool, np.bool_)):
        raise ParameterError(f"higher_is_better must be True or False; got {higher_is_better!r}")
    return (lo, hi)


# --- times ------------------------------------------------------------------------------------------
def _durations(conv: pd.DataFrame, start: str, end: str, *, what: str, max_hours: float,
               business_hours: BusinessHours | None, open_reason: str) -> tuple[pd.DataFrame, list]:
    """Hours between two columns, with the itemised reasons rows cannot be used."""
    hours = (conv[end] - conv[start]).dt.total_seconds() * HOURS_PER_S
    reasons = []
    missing_end = conv[end].isna()
    negative = hours < 0
    absurd = hours > max_hours
    reasons.append((missing_end, open_reason, end))
    reasons.append((negative, f"{what}: {end} before {start}", end))
    reasons.append((absurd, f"{what}: longer than max_hours={max_hours:g}", end))
    use = ~(missing_end | negative | absurd)
    out = conv.assign(_h=hours.where(use), _use=use)
    if business_hours is not None:
        out["_bh"] = business_hours.hours_between(conv[start], conv[end]).where(use)
    return out, reasons


def _time_table(conv: pd.DataFrame, keys: list[str], name: str, business: bool, level: float,
                min_n: int) -> pd.DataFrame:
    q90 = ("_h", lambda s: s.quantile(0.9))
    aggs = {"n": ("_use", "sum"), "_rows": ("_use", "size"), name: ("_h", "median"),
            f"{name}_mean": ("_h", "mean"), "_sd": ("_h", "std"), f"{name}_p90": q90}
    if business:
        aggs.update({f"{name}_bh": ("_bh", "median"), f"{name}_bh_mean": ("_bh", "mean"),
                     f"{name}_bh_p90": ("_bh", lambda s: s.quantile(0.9))})
    res = _agg(conv, keys, **aggs)
    res[S.N] = res["n"].astype("int64")
    lo, hi = _median_ci(conv, keys, level)
    res[S.CI_LOW], res[S.CI_HIGH] = lo, hi
    res[S.N_EXCLUDED] = (res["_rows"] - res["n"]).astype("int64")
    res[S.SMALL_SAMPLE] = res[S.N] < min_n
    cols = keys + [S.N, name, S.CI_LOW, S.CI_HIGH, f"{name}_mean", f"{name}_p90"]
    if business:
        cols += [f"{name}_bh", f"{name}_bh_mean", f"{name}_bh_p90"]
    return res[cols + [S.N_EXCLUDED, S.SMALL_SAMPLE]]


def _median_ci(conv: pd.DataFrame, keys: list[str], level: float) -> tuple[np.ndarray, np.ndarray]:
    """Distribution-free CI for the median: order statistics ``x_(l), x_(u)`` with
    ``l = floor(n/2 - z sqrt(n)/2)``, ``u = ceil(1 + n/2 + z sqrt(n)/2)`` (Conover)."""
    z = stats.norm.ppf((1 + level) / 2)
    d = conv.loc[conv["_use"], keys + ["_h"]]

    def ci(s: pd.Series) -> tuple[float, float]:
        v = np.sort(s.to_numpy(dtype=float))
        n = len(v)
        if n < 6:
            return np.nan, np.nan
        lo_i = int(np.floor(n / 2 - z * np.sqrt(n) / 2))
        hi_i = int(np.ceil(1 + n / 2 + z * np.sqrt(n) / 2))
        return float(v[max(lo_i - 1, 0)]), float(v[min(hi_i - 1, n - 1)])

    if not keys:
        lo, hi = ci(d["_h"])
        return np.array([lo]), np.array([hi])
    full = conv[keys].drop_duplicates().sort_values(keys)
    rows = [(*(k if isinstance(k, tuple) else (k,)), *ci(s))
            for k, s in d.groupby(keys, sort=True, observed=True, dropna=False)["_h"]]
    got = pd.DataFrame(rows, columns=[*keys, "_lo", "_hi"]).astype({k: full[k].dtype for k in keys})
    # merged on the keys (a missing key matches a missing key; a MultiIndex lookup of NaN did not,
    # leaving such groups without an interval)
    m = full.merge(got, on=keys, how="left")
    return m["_lo"].to_numpy(dtype=float), m["_hi"].to_numpy(dtype=float)


def _time_kpi(conversations, start, end, name, what, open_reason, *, by, period, business_hours,
              max_hours, level, min_n):
    if business_hours is not None and not isinstance(business_hours, BusinessHours):
        raise ParameterError(f"business_hours must be a qakit.kpis.BusinessHours; got {type(business_hours).__name__}")
    conv = S.validate(conversations, "conversations")
    conv, keys = _groups(conv, by, period, S.CREATED_AT)
    check_number("max_hours", max_hours, low=0, low_open=True)
    conv, reasons = _durations(conv, start, end, what=what, max_hours=max_hours,
                               business_hours=business_hours, open_reason=open_reason)
    res = _time_table(conv, keys, name, business_hours is not None, level, min_n)
    for mask, reason, col in reasons:
        _exclude(res, conv, mask, reason, col, S.CONVERSATION_ID)
    return res


@_partial_periods("conversations", S.CREATED_AT, (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT))
def first_response_time(
    conversations: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    business_hours: BusinessHours | None = None,
    max_hours: float = 90 * 24,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """First response time: ``first_response_at - created_at``, in hours.

    Parameters
    ----------
    conversations : pandas.DataFrame
    by, period : grouping and trend (period of ``created_at``)
    business_hours : BusinessHours, optional
        Adds the same statistics counted in business hours (``*_bh`` columns).
    max_hours : float, default=2160 (90 days)
        Longer durations are treated as data errors and excluded (itemised).
    level : float, default=0.95
    min_n : int, default=30

    Returns
    -------
    pandas.DataFrame
        ``*by, [period], n, first_response_time (median hours), ci_low, ci_high (of the median),
        first_response_time_mean, first_response_time_p90, [first_response_time_bh,
        first_response_time_bh_mean, first_response_time_bh_p90], n_excluded, small_sample``.
        Excluded and itemised: no response yet, response before creation, absurd durations.

    Notes
    -----
    The median is the headline (response times are heavily right-skewed); its CI is the
    distribution-free order-statistic interval. p90 uses linear interpolation (pandas default).

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": ["a", "b", "c"], "customer_id": "x", "agent_id": "y",
    ...     "channel": "email", "priority": "normal", "status": "solved", "resolved_at": None,
    ...     "created_at": ["2026-01-05 09:00Z", "2026-01-05 09:00Z", "2026-01-05 09:00Z"],
    ...     "first_response_at": ["2026-01-05 10:00Z", "2026-01-05 12:00Z", "2026-01-05 08:00Z"]})
    >>> r = first_response_time(conv)
    >>> r[["n", "first_response_time", "n_excluded"]]  # 1 h and 3 h; c answered before created
       n  first_response_time  n_excluded
    0  2                  2.0           1
    """
    return _time_kpi(conversations, S.CREATED_AT, S.FIRST_RESPONSE_AT, FIRST_RESPONSE_TIME,
                     "first response", "no first response yet", by=by, period=period,
                     business_hours=business_hours, max_hours=max_hours, level=level, min_n=min_n)


@_partial_periods("conversations", S.CREATED_AT, (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT))
def resolution_time(
    conversations: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    business_hours: BusinessHours | None = None,
    max_hours: float = 90 * 24,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Time to resolution: ``resolved_at - created_at``, in hours; as :func:`first_response_time`.

    Open conversations (no ``resolved_at``) are counted in ``n_excluded`` and itemised as
    "open: not resolved yet"; a resolution before the first response is itemised too.

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": ["a", "b"], "customer_id": "x", "agent_id": "y",
    ...     "channel": "chat", "priority": "high", "status": ["solved", "open"],
    ...     "created_at": "2026-01-05 09:00Z", "first_response_at": "2026-01-05 09:05Z",
    ...     "resolved_at": ["2026-01-05 13:00Z", None]})
    >>> resolution_time(conv)[["n", "resolution_time", "n_excluded"]]
       n  resolution_time  n_excluded
    0  1              4.0           1
    """
    res = _time_kpi(conversations, S.CREATED_AT, S.RESOLVED_AT, RESOLUTION_TIME, "resolution",
                    "open: not resolved yet", by=by, period=period, business_hours=business_hours,
                    max_hours=max_hours, level=level, min_n=min_n)
    conv = S.validate(conversations, "conversations")
    before = conv[S.RESOLVED_AT].notna() & conv[S.FIRST_RESPONSE_AT].notna() & (
        conv[S.RESOLVED_AT] < conv[S.FIRST_RESPONSE_AT])
    _exclude(res, conv, before, "flagged (kept): resolved before the first response", S.RESOLVED_AT,
             S.CONVERSATION_ID)
    return res


@_partial_periods("conversations", S.CREATED_AT, (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT))
def handle_time(
    conversations: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Average handle time (AHT) in minutes from ``handle_time_s``, with a t interval.

    Returns
    -------
    pandas.DataFrame
        ``*by, [period], n, handle_time (mean minutes), ci_low, ci_high, n_excluded,
        small_sample``.

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": ["a", "b"], "customer_id": "x", "agent_id": "y",
    ...     "channel": "phone", "priority": "normal", "status": "solved", "created_at": "2026-01-05",
    ...     "first_response_at": None, "resolved_at": None, "handle_time_s": [300.0, 900.0]})
    >>> float(handle_time(conv)["handle_time"].iloc[0])  # (5 + 15) / 2 minutes
    10.0
    """
    conv = S.validate(conversations, "conversations")
    if S.HANDLE_TIME_S not in conv.columns:
        raise ParameterError(f"handle_time needs a {S.HANDLE_TIME_S!r} column in conversations")
    conv, keys = _groups(conv, by, period, S.CREATED_AT)
    conv = conv.assign(_min=conv[S.HANDLE_TIME_S] / 60.0)
    from .scorecard import _mean_table

    res = _mean_table(conv, "_min", keys, HANDLE_TIME, level=level, min_n=min_n, clip=(0.0, np.inf))
    _exclude(res, conv, conv["_min"].isna(), "no handle time", S.HANDLE_TIME_S, S.CONVERSATION_ID)
    return res


# --- resolution and contacts ----------------------------------------------------------------------
def _is_resolved(conv: pd.DataFrame, statuses: Sequence[str]) -> pd.Series:
    """Resolved: ``resolved_at`` set, or a status in ``statuses`` (ignoring case and whitespace)."""
    if isinstance(statuses, str) or not all(isinstance(x, str) for x in statuses):
        raise ParameterError(f"resolved_statuses must be a list of status names, e.g. ['solved', 'closed']; "
                             f"got {statuses!r}")
    wanted = {_priority_key(x) for x in statuses}
    return conv[S.RESOLVED_AT].notna() | _label_keys(conv[S.STATUS]).isin(wanted)


@_partial_periods("conversations", S.CREATED_AT, (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT))
def fcr_rate(
    conversations: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    rule: str = "repeat",
    repeat_days: float = 7,
    resolved_statuses: Sequence[str] = RESOLVED_STATUSES,
    as_of: str | pd.Timestamp | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """First-contact resolution rate.

    Parameters
    ----------
    rule : {"repeat", "contacts", "replies"}, default="repeat"
        ``contacts``: resolved and ``contacts == 1``. ``replies``: resolved with one agent reply
        (``agent_replies == 1``). ``repeat``: resolved, ``contacts == 1`` when that column
        exists, and the same customer did not open another conversation within ``repeat_days``
        after this one was created.
    repeat_days : float, default=7
    resolved_statuses : statuses that count as resolved when ``resolved_at`` is missing.
    as_of : timestamp, optional
        When the data was exported; default the data's last timestamp (``created_at``,
        ``first_response_at``, ``resolved_at``). With ``rule="repeat"`` a conversation whose
        repeat window (``created_at + repeat_days``) runs past ``as_of`` is not judged either
        way -- whether it repeated or not -- and is itemised ("window not complete by as_of").

    Returns
    -------
    pandas.DataFrame
        ``*by, [period], n, fcr_rate, ci_low, ci_high, n_excluded, small_sample``; ``n`` the
        resolved conversations (open ones are excluded: their outcome is not known yet), or
        those with the needed column.

    Notes
    -----
    ``FCR = #(resolved at first contact) / #(resolved)``, Wilson interval. The repeat rule is
    vectorised: conversations sorted by customer and creation time; a conversation repeats when
    the customer's next conversation starts within ``repeat_days``. With ``repeat``, censoring:
    conversations created after ``as_of - repeat_days`` cannot be judged yet and are excluded
    (itemised), the ones that already repeated too (judging only those would bias FCR to 0).

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": ["a", "b", "c"], "customer_id": ["x", "x", "y"],
    ...     "agent_id": "g", "channel": "email", "priority": "normal", "status": "solved",
    ...     "created_at": ["2026-01-01 00:00Z", "2026-01-03 00:00Z", "2026-01-01 00:00Z"], "first_response_at": None,
    ...     "resolved_at": ["2026-01-01 00:00Z", "2026-01-03 00:00Z", "2026-01-01 00:00Z"]})
    >>> fcr_rate(conv, repeat_days=1)[["n", "fcr_rate"]]  # x back after 2 days > 1; b too recent to judge
       n  fcr_rate
    0  2       1.0
    >>> S.exclusions(fcr_rate(conv, repeat_days=7))["reason"].iloc[0]
    'not judged: repeat window (repeat_days=7) not complete by as_of 2026-01-03 00:00 UTC'
    """
    check_choice("rule", rule, ("repeat", "contacts", "replies"))
    conv = S.validate(conversations, "conversations")
    conv, keys = _groups(conv, by, period, S.CREATED_AT)
    resolved = _is_resolved(conv, resolved_statuses)
    reasons = [(~resolved, "open: not resolved yet", S.RESOLVED_AT)]
    use = resolved.copy()
    if rule == "replies":
        if S.AGENT_REPLIES not in conv.columns:
            raise ParameterError(f"rule='replies' needs an {S.AGENT_REPLIES!r} column")
        miss = conv[S.AGENT_REPLIES].isna() & resolved
        reasons.append((miss, "no agent_replies value", S.AGENT_REPLIES))
        use &= ~miss
        fcr = conv[S.AGENT_REPLIES].eq(1)
    else:
        if rule == "contacts" and S.CONTACTS not in conv.columns:
            raise ParameterError(f"rule='contacts' needs a {S.CONTACTS!r} column")
        if S.CONTACTS in conv.columns:
            miss = conv[S.CONTACTS].isna() & resolved
            reasons.append((miss, "no contacts value", S.CONTACTS))
            use &= ~miss
            fcr = conv[S.CONTACTS].eq(1)
        else:
            fcr = pd.Series(True, index=conv.index)
        if rule == "repeat":
            check_number("repeat_days", repeat_days, low=0, low_open=True)
            window = pd.Timedelta(days=repeat_days)
            cut = _as_of(as_of, conv, (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT))
            order = conv.sort_values([S.CUSTOMER_ID, S.CREATED_AT], kind="stable")
            nxt = order.groupby(S.CUSTOMER_ID, sort=False)[S.CREATED_AT].shift(-1)
            repeat = ((nxt - order[S.CREATED_AT]) <= window).reindex(conv.index).fillna(False).astype(bool)
            unjudged = (conv[S.CREATED_AT] + window > cut) & use
            reasons.append((unjudged, f"not judged: repeat window (repeat_days={repeat_days:g}) not complete by "
                                      f"as_of {cut:%Y-%m-%d %H:%M} UTC", S.CREATED_AT))
            use &= ~unjudged
            fcr = fcr & ~repeat
    conv = conv.assign(_use=use, _fcr=fcr.fillna(False).astype(bool))
    res = _proportion(conv, "_fcr", "_use", keys, FCR_RATE, level, min_n)
    for mask, reason, col in reasons:
        _exclude(res, conv, mask, reason, col, S.CONVERSATION_ID)
    return res


@_partial_periods("conversations", S.CREATED_AT, (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT))
def interactions_per_issue(
    conversations: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Mean number of contacts (interactions) per conversation, with a t interval.

    Returns ``*by, [period], n, interactions_per_issue, ci_low, ci_high, n_excluded,
    small_sample``.

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": ["a", "b", "c"], "customer_id": "x", "agent_id": "y",
    ...     "channel": "chat", "priority": "low", "status": "solved", "created_at": "2026-01-05",
    ...     "first_response_at": None, "resolved_at": None, "contacts": [1.0, 2, None]})
    >>> interactions_per_issue(conv)[["n", "interactions_per_issue", "n_excluded"]]
       n  interactions_per_issue  n_excluded
    0  2                     1.5           1
    """
    conv = S.validate(conversations, "conversations")
    if S.CONTACTS not in conv.columns:
        raise ParameterError(f"interactions_per_issue needs a {S.CONTACTS!r} column in conversations")
    conv, keys = _groups(conv, by, period, S.CREATED_AT)
    from .scorecard import _mean_table

    res = _mean_table(conv, S.CONTACTS, keys, INTERACTIONS_PER_ISSUE, level=level, min_n=min_n,
                      clip=(1.0, np.inf))
    _exclude(res, conv, conv[S.CONTACTS].isna(), "no contacts value", S.CONTACTS, S.CONVERSATION_ID)
    return res


@_partial_periods("conversations", S.CREATED_AT, (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT))
def escalation_rate(
    conversations: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Share of conversations escalated (``escalated`` true), Wilson interval.

    Returns ``*by, [period], n, escalation_rate, ci_low, ci_high, n_excluded, small_sample``.

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": list("abcd"), "customer_id": "x", "agent_id": "y",
    ...     "channel": "chat", "priority": "low", "status": "solved", "created_at": "2026-01-05",
    ...     "first_response_at": None, "resolved_at": None, "escalated": [True, False, False, None]})
    >>> escalation_rate(conv)[["n", "escalation_rate", "n_excluded"]]
       n  escalation_rate  n_excluded
    0  3         0.333333           1
    """
    conv = S.validate(conversations, "conversations")
    if S.ESCALATED not in conv.columns:
        raise ParameterError(f"escalation_rate needs an {S.ESCALATED!r} column in conversations")
    conv, keys = _groups(conv, by, period, S.CREATED_AT)
    conv = conv.assign(_use=conv[S.ESCALATED].notna(), _esc=conv[S.ESCALATED].fillna(False).astype(bool))
    res = _proportion(conv, "_esc", "_use", keys, ESCALATION_RATE, level, min_n)
    _exclude(res, conv, ~conv["_use"], "escalated unknown", S.ESCALATED, S.CONVERSATION_ID)
    return res


@_partial_periods("conversations", S.CREATED_AT, (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT))
def resolution_rate(
    conversations: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    resolved_statuses: Sequence[str] = RESOLVED_STATUSES,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Share of conversations resolved (``resolved_at`` set or status in ``resolved_statuses``).

    Returns ``*by, [period], n, resolution_rate, ci_low, ci_high, n_excluded, small_sample``.

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": list("abcd"), "customer_id": "x", "agent_id": "y",
    ...     "channel": "chat", "priority": "low", "status": ["solved", "closed", "open", "pending"],
    ...     "created_at": "2026-01-05", "first_response_at": None, "resolved_at": None})
    >>> float(resolution_rate(conv)["resolution_rate"].iloc[0])
    0.5
    """
    conv = S.validate(conversations, "conversations")
    conv, keys = _groups(conv, by, period, S.CREATED_AT)
    conv = conv.assign(_use=True, _res=_is_resolved(conv, resolved_statuses))
    return _proportion(conv, "_res", "_use", keys, RESOLUTION_RATE, level, min_n)


def backlog(
    conversations: pd.DataFrame,
    *,
    period: str = "W",
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Open conversations at the end of each period (open ones are kept, never dropped).

    Returns
    -------
    pandas.DataFrame
        ``*by, period (start), period_end, opened, closed, backlog, partial``: conversations
        created in the period, resolved in the period, and open at ``period_end`` (created
        before it and not resolved by then; never-resolved conversations stay in every later
        backlog); ``partial`` marks a period the data does not cover whole. Conversations
        resolved before they were created are left out and itemised, so the backlog is never
        negative.

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": list("abc"), "customer_id": "x", "agent_id": "y",
    ...     "channel": "chat", "priority": "low", "status": ["solved", "open", "solved"],
    ...     "created_at": ["2026-01-05 00:00Z", "2026-01-06 00:00Z", "2026-01-13 00:00Z"], "first_response_at": None,
    ...     "resolved_at": ["2026-01-14 00:00Z", None, "2026-01-13 00:00Z"]})
    >>> backlog(conv)[["period", "opened", "closed", "backlog"]]
          period  opened  closed  backlog
    0 2026-01-05       2       0        2
    1 2026-01-12       1       2        1
    """
    check_choice("period", period, ("D", "W", "M", "Q", "Y"))
    conv = S.validate(conversations, "conversations")
    keys = as_by(by)
    check_by(conv, keys, "conversations")
    before = (conv[S.RESOLVED_AT] < conv[S.CREATED_AT]).fillna(False).astype(bool)
    bad_ids = conv.loc[before, S.CONVERSATION_ID]
    conv = conv[~before].reset_index(drop=True)
    if conv.empty:
        raise ParameterError("backlog: no conversation left once those resolved before they were created are "
                             f"left out ({len(bad_ids)} rows, e.g. {list(bad_ids[:5])})")
    created = conv[S.CREATED_AT].dt.tz_localize(None)
    resolved = conv[S.RESOLVED_AT].dt.tz_localize(None)
    last = max(created.max(), resolved.max()) if resolved.notna().any() else created.max()
    starts = pd.period_range(created.min(), last, freq=period)
    ords = starts.asi8
    c_ord = created.dt.to_period(period).array.asi8
    r_ord = resolved.dt.to_period(period).array.asi8
    has_r = resolved.notna().to_numpy()
    if keys:
        # groups sorted as every KPI's groupby(sort=True, dropna=False): a missing key is a group, last
        grp = conv.groupby(keys, sort=True, dropna=False, observed=True)
        gcode = grp.ngroup().to_numpy(dtype=np.int64)
        gframe = grp.size().reset_index()[keys]
    else:
        gcode, gframe = np.zeros(len(conv), dtype=np.int64), pd.DataFrame(index=[0])
    n_g, n_p = len(gframe), len(ords)
    pc = np.searchsorted(ords, c_ord)  # period index of creation / resolution (vectorised)
    pr = np.searchsorted(ords, r_ord[has_r])
    opened = np.bincount(gcode * n_p + pc, minlength=n_g * n_p).reshape(n_g, n_p)
    closed = np.bincount(gcode[has_r] * n_p + pr, minlength=n_g * n_p).reshape(n_g, n_p)
    # open at period end = created by then - resolved by then (never-resolved ones stay open)
    backlog_ = opened.cumsum(axis=1) - closed.cumsum(axis=1)
    out = gframe.loc[gframe.index.repeat(n_p)].reset_index(drop=True)
    out[PERIOD] = np.tile(starts.start_time, n_g)
    out[PERIOD_END] = np.tile(starts.end_time, n_g)
    out[OPENED] = opened.ravel().astype("int64")
    out[CLOSED] = closed.ravel().astype("int64")
    out[BACKLOG] = backlog_.ravel().astype("int64")
    first, last = conv[S.CREATED_AT].min(), _as_of(None, conv, (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT))
    _mark_partial(out, period, first, last, explicit_end=False)
    S.add_exclusion(out, "resolved_at before created_at: neither opened nor closed (it would make the backlog "
                         "negative)", S.RESOLVED_AT, bad_ids)
    return out[keys + [PERIOD, PERIOD_END, OPENED, CLOSED, BACKLOG, PARTIAL]]


class UnmatchedTargetWarning(QakitWarning):
    """An SLA target names a priority that no conversation has (a typo, or another vendor's names)."""


def _priority_key(value) -> str:
    """Priorities and SLA target names are matched ignoring case, whitespace and Unicode form."""
    import unicodedata

    return " ".join(unicodedata.normalize("NFKC", str(value)).casefold().split())


def _label_keys(values: pd.Series) -> pd.Series:
    """:func:`_priority_key` for a whole column, vectorised."""
    s = values.astype("str").str.normalize("NFKC").str.casefold()
    return s.str.replace(r"\s+", " ", regex=True).str.strip()


def _sla_targets(targets: Mapping[str, float] | None) -> dict[str, tuple[str, float]]:
    """``{priority key: (name as given, hours)}`` from ``targets`` (default
    ``DEFAULT_SLA_HOURS``), checked; keys by :func:`_priority_key`. Shared with :mod:`qakit.engines`."""
    raw = dict(DEFAULT_SLA_HOURS if targets is None else targets)
    out: dict[str, tuple[str, float]] = {}
    for k, v in raw.items():
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v) \
                or not v > 0:
            raise ParameterError(f"SLA target for priority {k!r} must be a positive number of hours; got {v!r}")
        key = _priority_key(k)
        if key in out:
            same = [x for x in raw if _priority_key(x) == key]
            raise ParameterError(f"SLA targets {same!r} name the same priority (matched ignoring case and "
                                 "whitespace); give it once")
        out[key] = (str(k), float(v))
    return out


def _sla_judged(conv: pd.DataFrame, targets: Mapping[str, tuple[str, float]], metric: str,
                as_of: pd.Timestamp) -> SimpleNamespace:
    """Each conversation judged against its priority's SLA target: the one rule behind
    :func:`sla_attainment` and the report's row-level SLA change (:mod:`qakit.headline`).

    ``conv`` is validated; ``targets`` as :func:`_sla_targets` returns them. Returns row-aligned
    ``pkey`` (priority key), ``target_h``, ``met`` (done within target), ``use`` (judged) and the
    masks of the rows not judged: ``no_target``, ``negative`` (end before created_at), ``pending``
    (open and within target at ``as_of``), ``later`` (created after ``as_of``) and
    ``contradicts`` (a resolved status without ``resolved_at``). Open conversations past their
    target at ``as_of`` are judged missed.
    """
    end_col = S.RESOLVED_AT if metric == "resolution" else S.FIRST_RESPONSE_AT
    pkey = _label_keys(conv[S.PRIORITY])
    tgt = pkey.map({k: h for k, (_, h) in targets.items()}).astype(float)
    end = conv[end_col].where(conv[end_col] <= as_of)  # not yet happened at as_of
    hours = (end - conv[S.CREATED_AT]).dt.total_seconds() * HOURS_PER_S
    elapsed = (as_of - conv[S.CREATED_AT]).dt.total_seconds() * HOURS_PER_S
    no_target = tgt.isna()
    negative = (hours < 0).fillna(False).astype(bool)
    done = end.notna() & ~negative
    later = (conv[S.CREATED_AT] > as_of).to_numpy(dtype=bool)
    pending = end.isna() & (elapsed <= tgt) & ~later
    met = done & (hours <= tgt)
    # a resolved status without a resolution time contradicts itself: neither met nor missed
    contradicts = np.zeros(len(conv), dtype=bool)
    if metric == "resolution":
        said_resolved = _label_keys(conv[S.STATUS]).isin({_priority_key(x) for x in RESOLVED_STATUSES})
        contradicts = (said_resolved & conv[S.RESOLVED_AT].isna()).to_numpy(dtype=bool)
    use = ~no_target & ~negative & ~pending & ~later & ~contradicts
    return SimpleNamespace(pkey=pkey, target_h=tgt, met=met, use=use, no_target=no_target, negative=negative,
                           pending=pending, later=later, contradicts=contradicts)


#: the priorities the headline's "SLA met, high priority" reads (keys as :func:`_priority_key`)
SLA_HIGH_PRIORITIES = ("urgent", "critical", "high")


def _sla_high(conv: pd.DataFrame, sla_targets: Mapping[str, float] | None = None) -> tuple[pd.Series, float]:
    """The conversations of ``SLA_HIGH_PRIORITIES`` (matched ignoring case, whitespace and Unicode
    form) and the high target in hours: what :func:`kpi_summary`'s ``sla_high`` judges."""
    high_h = {_priority_key(k): v for k, v in (sla_targets or DEFAULT_SLA_HOURS).items()}.get("high", 4.0)
    return _label_keys(conv[S.PRIORITY]).isin(SLA_HIGH_PRIORITIES), high_h


@_partial_periods("conversations", S.CREATED_AT, (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT))
def sla_attainment(
    conversations: pd.DataFrame,
    *,
    targets: Mapping[str, float] | None = None,
    metric: str = "resolution",
    goal: float = 95.0,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    as_of: str | pd.Timestamp | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Share of conversations that met their priority's time target.

    Parameters
    ----------
    targets : mapping priority -> hours, default ``DEFAULT_SLA_HOURS``
        ``{"urgent": 1, "critical": 1, "high": 4, "normal": 24, "medium": 24, "low": 72}``.
        Matched to priorities ignoring case, whitespace and Unicode form (``" High"`` is
        ``"high"``); conversations whose priority has no target are itemised per priority
        ("no SLA target for priority 'critical'"); a target given that matches no priority
        gives an :class:`UnmatchedTargetWarning` naming it.
    metric : {"resolution", "first_response"}
    goal : float, default=95
        Percent of conversations that should meet the target.
    as_of : timestamp, optional
        When the data was exported; default the latest timestamp in the data. Open
        conversations already past their target at ``as_of`` count as missed; open ones still
        within it are excluded (not yet known) and itemised.

    Returns
    -------
    pandas.DataFrame
        ``priority, *by, [period], n, met_pct, ci_low, ci_high (percent), target_h, goal,
        goal_met, n_excluded, small_sample``. ``met_pct`` is a percent (as ``goal``), hence
        ``_pct`` and not ``_rate`` (rates are proportions). Priorities without a target are
        itemised.

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": list("abc"), "customer_id": "x", "agent_id": "y",
    ...     "channel": "chat", "priority": "high", "status": ["solved", "solved", "open"],
    ...     "created_at": "2026-01-05 09:00Z", "first_response_at": None,
    ...     "resolved_at": ["2026-01-05 10:00Z", "2026-01-05 15:00Z", None]})
    >>> sla_attainment(conv, as_of="2026-01-06 00:00Z")[["priority", "n", "met_pct", "goal_met"]]
      priority  n    met_pct  goal_met
    0     high  3  33.333333     False
    """
    check_choice("metric", metric, ("resolution", "first_response"))
    given = targets is not None
    targets = _sla_targets(targets)
    conv = S.validate(conversations, "conversations")
    conv, keys = _groups(conv, by, period, S.CREATED_AT)
    end_col = S.RESOLVED_AT if metric == "resolution" else S.FIRST_RESPONSE_AT
    as_of = _as_of(as_of, conv, (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT))
    j = _sla_judged(conv, targets, metric, as_of)
    pkey, tgt, no_target, negative, pending, later, contradicts = (
        j.pkey, j.target_h, j.no_target, j.negative, j.pending, j.later, j.contradicts)
    label = pkey.map({k: name for k, (name, _) in targets.items()})
    relabelled = label.notna() & label.ne(conv[S.PRIORITY])
    conv = conv.assign(**{S.PRIORITY: label.where(label.notna(), conv[S.PRIORITY])})
    if given:
        unused = sorted(name for k, (name, _) in targets.items() if not pkey.eq(k).any())
        if unused:
            warnings.warn(f"SLA target(s) {unused} match no priority in the data (priorities: "
                          f"{sorted(conv[S.PRIORITY].dropna().unique().tolist())[:10]})", UnmatchedTargetWarning,
                          stacklevel=3)
    conv = conv.assign(_use=j.use, _met=j.met, **{TARGET_H: tgt})
    gkeys = [S.PRIORITY] + keys
    res = _proportion(conv, "_met", "_use", gkeys, MET_PCT, level, min_n)
    for c in (MET_PCT, S.CI_LOW, S.CI_HIGH):
        res[c] = res[c] * 100
    res[TARGET_H] = res[S.PRIORITY].map({name: h for name, h in targets.values()}).astype(float)
    res[GOAL] = float(goal)
    res[GOAL_MET] = res[MET_PCT] >= goal
    res = res[res[TARGET_H].notna()].reset_index(drop=True)
    for prio in sorted(pkey[no_target].astype("str").unique()):
        _exclude(res, conv, no_target & pkey.astype("str").eq(prio),
                 f"no SLA target for priority {prio!r} (targets: {sorted(n for n, _ in targets.values())})",
                 S.PRIORITY, S.CONVERSATION_ID)
    _exclude(res, conv, negative, f"{end_col} before created_at", end_col, S.CONVERSATION_ID)
    _exclude(res, conv, pending & ~no_target, f"open and still within target at as_of {as_of:%Y-%m-%d %H:%M} UTC: "
             "outcome not known yet (censored)", end_col, S.CONVERSATION_ID)
    _exclude(res, conv, later & ~no_target, f"created after as_of {as_of:%Y-%m-%d %H:%M} UTC: not judged", S.CREATED_AT,
             S.CONVERSATION_ID)
    _exclude(res, conv, contradicts & ~no_target & ~later,
             f"status says resolved ({', '.join(RESOLVED_STATUSES)}) but resolved_at is missing: not judged",
             S.RESOLVED_AT, S.CONVERSATION_ID)
    S.add_adjustment(res, "priority matched to its SLA target ignoring case and whitespace", S.PRIORITY,
                     conv.loc[relabelled, S.CONVERSATION_ID])
    return res[gkeys + [S.N, MET_PCT, S.CI_LOW, S.CI_HIGH, TARGET_H, GOAL, GOAL_MET, S.N_EXCLUDED,
                        S.SMALL_SAMPLE]]


# --- calls ------------------------------------------------------------------------------------------
def _service_level_judged(calls: pd.DataFrame, threshold_s: float = 20,
                          denominator: str = "offered") -> tuple[pd.Series, pd.Series, pd.Series]:
    """Each call judged for :func:`service_level` (and the report's row-level change):
    ``use`` (counted: answered or, with ``offered``, any call whose answered flag is known and
    whose speed is known when answered), ``in_time`` (answered within ``threshold_s``) and
    ``missing_speed`` (answered without a speed of answer: left out, itemised)."""
    ans = calls[S.ANSWERED].fillna(False).astype(bool)
    missing_speed = ans & calls[S.SPEED_OF_ANSWER_S].isna()
    use = (ans if denominator == "answered" else pd.Series(True, index=calls.index)) & ~missing_speed
    use &= calls[S.ANSWERED].notna()
    in_time = ans & (calls[S.SPEED_OF_ANSWER_S] <= threshold_s).fillna(False).astype(bool)
    return use, in_time, missing_speed


@_partial_periods("calls", S.CREATED_AT, (S.CREATED_AT,))
def service_level(
    calls: pd.DataFrame,
    *,
    threshold_s: float = 20,
    denominator: str = "offered",
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Call service level: calls answered within ``threshold_s`` seconds.

    Parameters
    ----------
    threshold_s : float, default=20
    denominator : {"offered", "answered"}, default="offered"
        ``offered``: answered in time / all calls (abandoned calls count against it, the
        stricter and most common definition); ``answered``: answered in time / answered calls.

    Returns
    -------
    pandas.DataFrame
        ``*by, [period], n, service_level, ci_low, ci_high, n_excluded, small_sample``
        (proportion). Answered calls without a speed of answer are excluded and itemised.

    Examples
    --------
    >>> calls = pd.DataFrame({"call_id": list("abcd"), "agent_id": "x", "created_at": "2026-01-05",
    ...     "answered": [True, True, True, False], "speed_of_answer_s": [5.0, 20, 45, None]})
    >>> float(service_level(calls)["service_level"].iloc[0])  # 2 of 4 offered
    0.5
    >>> round(float(service_level(calls, denominator="answered")["service_level"].iloc[0]), 4)
    0.6667
    """
    check_choice("denominator", denominator, ("offered", "answered"))
    c = S.validate(calls, "calls")
    if S.SPEED_OF_ANSWER_S not in c.columns:
        raise ParameterError(f"service_level needs a {S.SPEED_OF_ANSWER_S!r} column in calls")
    c, keys = _groups(c, by, period, S.CREATED_AT)
    use, in_time, missing_speed = _service_level_judged(c, threshold_s, denominator)
    c = c.assign(_use=use, _ok=in_time)
    res = _proportion(c, "_ok", "_use", keys, SERVICE_LEVEL, level, min_n)
    _exclude(res, c, missing_speed, "answered call without speed of answer", S.SPEED_OF_ANSWER_S, S.CALL_ID)
    return res


@_partial_periods("calls", S.CREATED_AT, (S.CREATED_AT,))
def abandonment_rate(
    calls: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Share of offered calls not answered (abandoned), Wilson interval.

    Examples
    --------
    >>> calls = pd.DataFrame({"call_id": list("abcd"), "agent_id": "x", "created_at": "2026-01-05",
    ...     "answered": [True, True, True, False]})
    >>> float(abandonment_rate(calls)["abandonment_rate"].iloc[0])
    0.25
    """
    c = S.validate(calls, "calls")
    c, keys = _groups(c, by, period, S.CREATED_AT)
    c = c.assign(_use=c[S.ANSWERED].notna(), _ab=~c[S.ANSWERED].fillna(True).astype(bool))
    return _proportion(c, "_ab", "_use", keys, ABANDONMENT_RATE, level, min_n)


# --- cost -----------------------------------------------------------------------------------------------
@_partial_periods("conversations", S.CREATED_AT, (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT))
def cost_per_contact(
    conversations: pd.DataFrame,
    *,
    cost_per_hour: float | None = None,
    total_cost: float | None = None,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
) -> pd.DataFrame:
    """Cost per contact: handle time x cost per hour, or a total cost spread over contacts.

    Exactly one of ``cost_per_hour`` (needs ``handle_time_s``) and ``total_cost`` (spread evenly
    over all contacts; with ``by`` each group gets its share of contacts) must be given.

    Returns ``*by, [period], n (contacts), cost_per_contact, cost``.

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": ["a", "b"], "customer_id": "x", "agent_id": "y",
    ...     "channel": "phone", "priority": "normal", "status": "solved", "created_at": "2026-01-05",
    ...     "first_response_at": None, "resolved_at": None, "handle_time_s": [600.0, 1200.0],
    ...     "contacts": [1.0, 2]})
    >>> float(cost_per_contact(conv, cost_per_hour=30)["cost_per_contact"].iloc[0])  # 0.5 h * 30 / 3
    5.0
    >>> float(cost_per_contact(conv, total_cost=300)["cost_per_contact"].iloc[0])
    100.0
    """
    if (cost_per_hour is None) == (total_cost is None):
        raise ParameterError("give exactly one of cost_per_hour= or total_cost=")
    for name, v in (("cost_per_hour", cost_per_hour), ("total_cost", total_cost)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0):
            raise ParameterError(f"{name} must be a number >= 0; got {v!r}")
    conv = S.validate(conversations, "conversations")
    conv, keys = _groups(conv, by, period, S.CREATED_AT)
    contacts = conv[S.CONTACTS] if S.CONTACTS in conv.columns else pd.Series(1.0, index=conv.index)
    conv = conv.assign(_contacts=contacts.fillna(1.0))
    if cost_per_hour is not None:
        if S.HANDLE_TIME_S not in conv.columns:
            raise ParameterError(f"cost_per_hour needs a {S.HANDLE_TIME_S!r} column")
        conv = conv.assign(_cost=conv[S.HANDLE_TIME_S] * HOURS_PER_S * cost_per_hour)
        res = _agg(conv, keys, n=("_contacts", "sum"), **{COST: ("_cost", "sum")})
    else:
        res = _agg(conv, keys, n=("_contacts", "sum"))
        res[COST] = total_cost * res["n"] / conv["_contacts"].sum()
    res[S.N] = res["n"].astype("int64")
    res[COST_PER_CONTACT] = res[COST] / res["n"]
    if S.CONTACTS in conv.columns:
        S.add_adjustment(res, "no contacts value: counted as 1 contact", S.CONTACTS,
                         conv.loc[conv[S.CONTACTS].isna(), S.CONVERSATION_ID])
    if cost_per_hour is not None:
        _exclude(res, conv, conv[S.HANDLE_TIME_S].isna(), "no handle time: cost counted as 0",
                 S.HANDLE_TIME_S, S.CONVERSATION_ID)
    return res[keys + [S.N, COST_PER_CONTACT, COST]]


def customer_cost_value(
    conversations: pd.DataFrame | None,
    *,
    cost_per_contact: float,
    value_column: str = S.CUSTOMER_VALUE,
    customers: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Cases per customer against customer value: who costs more than they bring?

    ``customers`` (optional ``customers`` table: ``customer_id, customer_value[, segment,
    contacts]``) adds every customer, those with no contact too (cases 0, cost 0), and supplies
    their value; a CRM file's own ``contacts`` count is used for customers without conversation
    rows (``conversations=None``: counts only).

    Returns
    -------
    pandas.DataFrame
        One row per customer: ``customer_id, cases, contacts, cost, customer_value,
        cost_value_ratio, costs_more_than_value``; sorted by ``cost_value_ratio`` descending.
        ``cost = contacts * cost_per_contact``. Customers without a value get NaN ratio and are
        itemised.

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": ["a", "b", "c"], "customer_id": ["x", "x", "y"],
    ...     "agent_id": "g", "channel": "chat", "priority": "low", "status": "solved",
    ...     "created_at": "2026-01-05", "first_response_at": None, "resolved_at": None,
    ...     "contacts": [2.0, 1, 1], "customer_value": [50.0, 50, 500]})
    >>> customer_cost_value(conv, cost_per_contact=20)[["customer_id", "cases", "cost", "costs_more_than_value"]]
      customer_id  cases  cost  costs_more_than_value
    0           x      2  60.0                   True
    1           y      1  20.0                  False
    """
    if isinstance(cost_per_contact, bool) or not isinstance(cost_per_contact, (int, float)) or cost_per_contact < 0:
        raise ParameterError(f"cost_per_contact must be a number >= 0; got {cost_per_contact!r}")
    if conversations is None and (customers is None or S.CONTACTS not in customers.columns):
        raise ParameterError("customer_cost_value needs conversations, or customers= with a 'contacts' column")
    conv = (S.validate(conversations, "conversations") if conversations is not None
            else pd.DataFrame({S.CUSTOMER_ID: pd.Series(dtype="str")}))  # CRM counts only (issue 14)
    if value_column not in conv.columns and customers is None:
        raise ParameterError(f"customer_cost_value needs a {value_column!r} column in conversations")
    if value_column not in conv.columns:
        conv = conv.assign(**{value_column: np.nan})
    contacts = conv[S.CONTACTS] if S.CONTACTS in conv.columns else pd.Series(1.0, index=conv.index)
    conv = conv.assign(_contacts=contacts.fillna(1.0), _one=1)
    res = conv.groupby(S.CUSTOMER_ID, sort=True).agg(
        **{CASES: ("_one", "sum"), S.CONTACTS: ("_contacts", "sum"), value_column: (value_column, "max")}
    ).reset_index()
    if customers is not None:  # customers with zero contacts count too (issue 14)
        from .ops import attach_customers
        res = attach_customers(res, customers, value_column=value_column, counts=[CASES, S.CONTACTS])
    res[COST] = res[S.CONTACTS] * float(cost_per_contact)
    with np.errstate(invalid="ignore", divide="ignore"):
        res[RATIO] = res[COST] / res[value_column]
    res[COSTS_MORE] = (res[COST] > res[value_column]).where(res[value_column].notna(), False).astype(bool)
    res = res.sort_values([RATIO, S.CUSTOMER_ID], ascending=[False, True], na_position="last").reset_index(drop=True)
    res[CASES] = res[CASES].astype("int64")
    S.add_exclusion(res, "customer without a value: ratio not computed", value_column,
                    res.loc[res[value_column].isna(), S.CUSTOMER_ID])
    if S.CONTACTS in conv.columns:
        S.add_adjustment(res, "no contacts value: counted as 1 contact", S.CONTACTS,
                         conv.loc[conv[S.CONTACTS].isna(), S.CONVERSATION_ID])
    spread = conv.groupby(S.CUSTOMER_ID)[value_column].nunique()
    S.add_adjustment(res, f"{value_column} differs between the customer's conversations: the largest is used",
                     value_column, spread.index[spread > 1])
    return res[[S.CUSTOMER_ID, CASES, S.CONTACTS, COST, value_column, RATIO, COSTS_MORE]]


def customer_cost_value_plot(table: pd.DataFrame, *, ax=None, value_column: str = S.CUSTOMER_VALUE):
    """Scatter of support cost against customer value (log axes), customers above the
    break-even line highlighted; returns the matplotlib Axes."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))
    d = table.dropna(subset=[value_column])
    d = d[(d[COST] > 0) & (d[value_column] > 0)]
    sns.scatterplot(data=d, x=value_column, y=COST, hue=COSTS_MORE, size=CASES, ax=ax,
                    palette={True: "#c44e52", False: "#4c72b0"}, alpha=0.6)
    if len(d):
        lo = float(min(d[value_column].min(), d[COST].min()))
        hi = float(max(d[value_column].max(), d[COST].max()))
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1, ls="--", label="cost = value")
    ax.set(xscale="log", yscale="log", xlabel="customer value", ylabel="support cost",
           title="Support cost against customer value")
    return ax


# --- summary -----------------------------------------------------------------------------------------------
def _on_engine(pandas_fn: Any, engine: Any) -> Any:
    """``pandas_fn``'s :mod:`qakit.engines.kpis` version run on ``engine``; where the engine has
    none, or refuses the metric by name (its rules are not expressed there yet), ``pandas_fn``
    itself, said in an :class:`~qakit.errors.EngineFallbackWarning`."""
    import warnings

    from .engines import kpis as E
    from .errors import EngineFallbackWarning

    name = pandas_fn.__name__
    engine_fn = getattr(E, name, None) if name in E.__all__ else None

    def run(*args: Any, **kwargs: Any) -> pd.DataFrame:
        if engine_fn is not None:
            try:
                return engine_fn(*args, engine=engine, **kwargs)
            except ParameterError as e:
                if "use engine='pandas'" not in str(e):
                    raise
                why = "not expressed on the engine yet"
        else:
            why = "no engine version"
        warnings.warn(EngineFallbackWarning(f"{name}: computed with pandas ({why})"), stacklevel=3)
        return pandas_fn(*args, **kwargs)

    return run


def kpi_summary(
    conversations: pd.DataFrame,
    surveys: pd.DataFrame | None = None,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    calls: pd.DataFrame | None = None,
    sla_targets: Mapping[str, float] | None = None,
    business_hours: BusinessHours | None = None,
    level: float = 0.95,
    csat_scale: CsatScale | str | None = None,
    engine: Any = "pandas",
) -> pd.DataFrame:
    """The headline KPIs in one tidy table (``csat_scale``: the CSAT definition, see
    :class:`CsatScale`; default 1-5).

    ``engine="duckdb"`` (or an Ibis connection) computes each KPI with its :mod:`qakit.engines.kpis`
    version; a KPI the engine does not express (refused there by name, or without an engine
    version) is computed with pandas and named in an :class:`qakit.errors.EngineFallbackWarning`,
    so the table holds the same numbers on every engine.

    Returns
    -------
    pandas.DataFrame
        ``*by, [period], kpi, n, value, ci_low, ci_high, unit, higher_is_better``; one row per
        group and KPI: csat, nps, ces (when surveys have them), first_response_time and
        resolution_time (median hours), fcr_rate, escalation_rate, resolution_rate,
        interactions_per_issue, handle_time (when the columns exist), sla_high (attainment of
        high and urgent priority, percent), and with calls service_level, abandonment_rate;
        with ``period``, ``partial`` (see the KPIs). It carries every part's exclusion record
        (:func:`qakit.schema.exclusions` lists each reason with the KPI that excluded it).

    Examples
    --------
    >>> from qakit import datasets
    >>> t = kpi_summary(datasets.load_sample("conversations"), datasets.load_sample("surveys"))
    >>> t["kpi"].tolist()[:4]
    ['csat', 'nps', 'ces', 'first_response_time']
    """
    keys = as_by(by)
    parts: list[tuple[str, pd.DataFrame, str, str, bool]] = []
    conv = S.validate(conversations, "conversations")
    run = (lambda f: f) if engine == "pandas" else (lambda f: _on_engine(f, engine))  # noqa: E731
    if surveys is not None:
        sv = S.validate(surveys, "surveys")
        kinds = set(sv[S.KIND])
        if "csat" in kinds:
            parts.append(("csat", run(csat_score)(sv, by=keys, period=period, conversations=conv, level=level,
                                             min_n=0, scale=csat_scale), CSAT, "%", True))
        if "nps" in kinds:
            parts.append(("nps", run(nps_score)(sv, by=keys, period=period, conversations=conv, level=level,
                                           min_n=0), NPS, "points", True))
        if "ces" in kinds:
            parts.append(("ces", run(ces_score)(sv, by=keys, period=period, conversations=conv, level=level,
                                           min_n=0), CES, "1-7", True))
    bh = business_hours
    parts.append(("first_response_time", run(first_response_time)(conv, by=keys, period=period, business_hours=bh,
                                                             level=level, min_n=0), FIRST_RESPONSE_TIME, "h", False))
    parts.append(("resolution_time", run(resolution_time)(conv, by=keys, period=period, business_hours=bh,
                                                     level=level, min_n=0), RESOLUTION_TIME, "h", False))
    parts.append(("fcr_rate", run(fcr_rate)(conv, by=keys, period=period, level=level, min_n=0), FCR_RATE, "share", True))
    parts.append(("resolution_rate", run(resolution_rate)(conv, by=keys, period=period, level=level, min_n=0),
                  RESOLUTION_RATE, "share", True))
    if S.ESCALATED in conv.columns:
        parts.append(("escalation_rate", run(escalation_rate)(conv, by=keys, period=period, level=level, min_n=0),
                      ESCALATION_RATE, "share", False))
    if S.CONTACTS in conv.columns:
        parts.append(("interactions_per_issue", run(interactions_per_issue)(conv, by=keys, period=period, level=level,
                                                                       min_n=0), INTERACTIONS_PER_ISSUE, "contacts", False))
    if S.HANDLE_TIME_S in conv.columns:
        parts.append(("handle_time", run(handle_time)(conv, by=keys, period=period, level=level, min_n=0),
                      HANDLE_TIME, "min", False))
    high, high_h = _sla_high(conv, sla_targets)
    if high.any():  # sla_high reads high, urgent and critical conversations only: the others are not "left out"
        sla = run(sla_attainment)(conv[high].assign(**{S.PRIORITY: "high"}), targets={"high": high_h}, by=keys,
                             period=period, level=level, min_n=0)
        parts.append(("sla_high", sla.drop(columns=[S.PRIORITY]), MET_PCT, "%", True))
    if calls is not None:
        parts.append(("service_level", run(service_level)(calls, by=keys, period=period, level=level, min_n=0),
                      SERVICE_LEVEL, "share", True))
        parts.append(("abandonment_rate", run(abandonment_rate)(calls, by=keys, period=period, level=level, min_n=0),
                      ABANDONMENT_RATE, "share", False))
    rows = []
    for name, t, col, unit, hib in parts:
        gk = [c for c in t.columns if c in keys or c == PERIOD]
        extra = {PARTIAL: t[PARTIAL]} if PARTIAL in t.columns else {}
        rows.append(t[gk].assign(**{KPI: name, S.N: t[S.N], VALUE: t[col], S.CI_LOW: t.get(S.CI_LOW, np.nan),
                                    S.CI_HIGH: t.get(S.CI_HIGH, np.nan), UNIT: unit, HIGHER_IS_BETTER: hib},
                                 **extra))
    out = pd.concat(rows, ignore_index=True)
    gk = keys + ([PERIOD] if period else [])
    cols = gk + [KPI, S.N, VALUE, S.CI_LOW, S.CI_HIGH, UNIT, HIGHER_IS_BETTER]
    if period and any(PARTIAL in t.columns for _, t, *_ in parts):
        out[PARTIAL] = out[PARTIAL].fillna(False).astype(bool)
        cols.append(PARTIAL)
    out = out[cols].copy()
    out.attrs.pop(S.RECORD_KEY, None)
    return S.carry_records(out, *(t for _, t, *_ in parts))


# --- the public API: every function listed here is wrapped by qakit._public.public (shared parameters
# checked by name; every result stamped with its exclusion record) -----------------------------------
__all__ = [
    "csat_score",
    "nps_score",
    "ces_score",
    "first_response_time",
    "resolution_time",
    "handle_time",
    "fcr_rate",
    "interactions_per_issue",
    "escalation_rate",
    "resolution_rate",
    "backlog",
    "sla_attainment",
    "service_level",
    "abandonment_rate",
    "cost_per_contact",
    "customer_cost_value",
    "customer_cost_value_plot",
    "kpi_summary",
    "BusinessHours",
    "CsatScale",
    "csat_definition",
    "UnmatchedTargetWarning",
]

from ._public import wrap_all  # noqa: E402  (at the end: wraps the functions defined above)

wrap_all(globals())
