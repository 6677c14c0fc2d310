"""Calls as first-class data: average handle time and queue KPIs per interval, from a call log.

A calls-only team (a telephony export and nothing else) gets its numbers here:

- :func:`call_handle_time`: AHT = talk + hold + after-call work of answered calls, with a Student-t
  interval, by group and period (:func:`qakit.kpis.handle_time` needs conversations);
- :func:`call_answer_time` (ASA) and :func:`call_abandon_time` (mean time to abandon), the same way;
- :func:`queue_intervals`: per interval (15 / 30 / 60 minutes, a day ...): offered, answered,
  abandoned, service level, abandonment rate, average speed of answer and time to abandon -- the
  table a workforce planner reads -- from one row per call (the ``calls`` table a ``call_log`` or
  ``queue_log`` export gives).

AHT from daily aggregates (volume-weighted) is a row of :func:`qakit.ops.calls_daily_kpis`.

AHT, ASA and time to abandon are defined once in the metric layer (:mod:`qakit.metrics.calls`, with
the service level and the abandonment rule of :mod:`qakit.kpis`) and run on every engine; the
per-interval table is a pandas table (a planner's table of a call log that fits in
memory).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from . import schema as S
from ._public import public
from .errors import ParameterError, check_number
from .metrics import _contract as C
from .metrics import calls as CL
from .intervals import MIN_N, as_by, check_by, check_level, wilson_ci

#: result columns (defined once)
HANDLE_TIME_S = S.HANDLE_TIME_S
TALK_TIME_S, HOLD_TIME_S, AFTER_CALL_WORK_S = S.TALK_TIME_S, S.HOLD_TIME_S, S.AFTER_CALL_WORK_S
TIME_TO_ABANDON_S = S.TIME_TO_ABANDON_S
INTERVAL_START = "interval_start"
OFFERED, ANSWERED, ABANDONED, ANSWERED_WITHIN = S.OFFERED, S.ANSWERED, S.ABANDONED, S.ANSWERED_WITHIN
SERVICE_LEVEL = "service_level"
ABANDONMENT_RATE = "abandonment_rate"
ASA_S = S.ASA_S
SL_CI_LOW, SL_CI_HIGH = "service_level_ci_low", "service_level_ci_high"
AB_CI_LOW, AB_CI_HIGH = "abandonment_ci_low", "abandonment_ci_high"
SHORT_ABANDONED = "short_abandoned"
PARTS = (TALK_TIME_S, HOLD_TIME_S, AFTER_CALL_WORK_S)
OUTCOME = S.OUTCOME
#: outcomes of a queued call that left unanswered without the caller hanging up (a timeout, an
#: overflow to another queue, a transfer, a callback): not answered, but not abandoned either
NOT_ABANDONED_OUTCOMES = re.compile(CL.NOT_ABANDONED_PATTERN, re.I)  # defined once, in the metric layer


def _run(definition: Any, calls: Any, reads: Sequence[str], *, by: Any, period: str | None, level: float,
         min_n: int, engine: Any) -> pd.DataFrame:
    """A call KPI: the calls table checked on the columns the definition reads (``call_id``,
    ``answered``, ``reads`` and the ``by`` / period columns when present), the definition run on its
    engine, the validation record carried on the result."""
    level = check_level(level)
    keys = as_by(by)
    t = CL.validated_calls(calls, engine=engine, keys=keys, period=period, reads=reads)
    out = definition(t, by=keys, period=period, level=level, min_n=min_n)
    return C.carry(out, t)


@public
def call_handle_time(
    calls: Any,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
    engine: Any = None,
) -> pd.DataFrame:
    """Average handle time (AHT) of answered calls, in seconds, with a Student-t interval.

    Parameters
    ----------
    calls : table
        The ``calls`` table, on any engine (``call_id, answered, handle_time_s``; optional
        ``talk_time_s``, ``hold_time_s``, ``after_call_work_s`` -- the parts a ``call_log`` export
        gives).
    by : str or list of str, optional
        Grouping columns of ``calls`` (``agent_id``, ``team``, ``queue``).
    period : {"D", "W", "M", "Q", "Y"}, optional
        Periods of ``created_at`` (UTC).
    level : float, default=0.95
        Confidence level of the interval.
    min_n : int, default=30
        Groups with fewer answered calls with a handle time are flagged ``small_sample``.
    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition (:func:`qakit.metrics.calls.handle`) runs; ``None``: the engine of the
        data. The numbers, records and errors are the same on every engine.

    Returns
    -------
    pandas.DataFrame
        ``*by, [period], n, handle_time_s, ci_low, ci_high, [talk_time_s, hold_time_s,
        after_call_work_s], n_excluded, small_sample``: ``n`` answered calls with a handle time;
        the parts (means over the same calls, an empty part counted 0) when the table has them,
        so ``handle_time_s`` is their sum.

    Notes
    -----
    ``AHT = mean(talk + hold + after-call work)`` over answered calls (the COPC / ICMI definition);
    the interval is ``mean +/- t_{(1+level)/2, n-1} s / sqrt(n)``. Unanswered calls have no handle
    time and are not counted; answered calls without one are itemised.

    Examples
    --------
    >>> calls = pd.DataFrame({"call_id": list("abc"), "agent_id": "x", "created_at": "2026-11-02 09:00",
    ...     "answered": [True, True, False], "handle_time_s": [300.0, 500.0, None]})
    >>> call_handle_time(calls, min_n=0)[["n", "handle_time_s", "n_excluded"]]  # (300 + 500) / 2
       n  handle_time_s  n_excluded
    0  2          400.0           0
    """
    return _run(CL.handle, calls, (HANDLE_TIME_S, *PARTS), by=by, period=period, level=level, min_n=min_n,
                engine=engine)


@public
def call_answer_time(
    calls: Any,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
    engine: Any = None,
) -> pd.DataFrame:
    """Average speed of answer (ASA) of answered calls, in seconds, with a Student-t interval.

    Parameters
    ----------
    calls : table
        The ``calls`` table (reads ``call_id, answered, speed_of_answer_s``).
    by : str or list of str, optional
        Grouping columns of ``calls`` (``agent_id``, ``team``, ``queue``).
    period : {"D", "W", "M", "Q", "Y"}, optional
        Periods of ``created_at`` (UTC); adds ``period`` and ``partial``.
    level : float, default=0.95
        Confidence level of the interval.
    min_n : int, default=30
        Groups with fewer answered calls with a speed of answer are flagged ``small_sample``.
    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition (:func:`qakit.metrics.calls.answer_time`) runs; ``None``: the engine of
        the data.

    Returns
    -------
    pandas.DataFrame
        ``*by, [period], n, asa_s, ci_low, ci_high, n_excluded, small_sample``.

    Notes
    -----
    ``ASA = mean(speed of answer)`` over answered calls (COPC / ICMI); interval ``mean +/- t s /
    sqrt(n)``, never below 0. Answered calls without a speed are left out and itemised.

    Examples
    --------
    >>> calls = pd.DataFrame({"call_id": list("abc"), "agent_id": "x", "created_at": "2026-11-02 09:00",
    ...     "answered": [True, True, False], "speed_of_answer_s": [10.0, 30.0, None]})
    >>> call_answer_time(calls, min_n=0)[["n", "asa_s"]]  # (10 + 30) / 2
       n  asa_s
    0  2   20.0
    """
    return _run(CL.answer_time, calls, (S.SPEED_OF_ANSWER_S,), by=by, period=period, level=level, min_n=min_n,
                engine=engine)


@public
def call_abandon_time(
    calls: Any,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
    engine: Any = None,
) -> pd.DataFrame:
    """Mean time to abandon of abandoned calls, in seconds, with a Student-t interval.

    Parameters
    ----------
    calls : table
        The ``calls`` table (reads ``call_id, answered, time_to_abandon_s``; ``outcome`` when present).
    by : str or list of str, optional
        Grouping columns of ``calls``.
    period : {"D", "W", "M", "Q", "Y"}, optional
        Periods of ``created_at`` (UTC); adds ``period`` and ``partial``.
    level : float, default=0.95
        Confidence level of the interval.
    min_n : int, default=30
        Groups with fewer abandoned calls with a time are flagged ``small_sample``.
    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition (:func:`qakit.metrics.calls.abandon_time`) runs.

    Returns
    -------
    pandas.DataFrame
        ``*by, [period], n, time_to_abandon_s, ci_low, ci_high, n_excluded, small_sample``.

    Notes
    -----
    Over the calls :func:`qakit.kpis.abandonment_rate` counts as abandoned (unanswered, and not a
    timeout / overflow / transfer by their ``outcome``); interval ``mean +/- t s / sqrt(n)``, never
    below 0.

    Examples
    --------
    >>> calls = pd.DataFrame({"call_id": list("abcd"), "agent_id": "x", "created_at": "2026-11-02 09:00",
    ...     "answered": [True, False, False, False], "time_to_abandon_s": [None, 20.0, 40.0, 300.0],
    ...     "outcome": ["", "ABANDON", "ABANDON", "EXITWITHTIMEOUT"]})
    >>> call_abandon_time(calls, min_n=0)[["n", "time_to_abandon_s"]]  # the timeout is not abandoned
       n  time_to_abandon_s
    0  2               30.0
    """
    return _run(CL.abandon_time, calls, (S.TIME_TO_ABANDON_S, S.OUTCOME), by=by, period=period, level=level,
                min_n=min_n, engine=engine)


def _interval_start(ts: pd.Series, interval: str, tz: str) -> pd.Series:
    local = ts.dt.tz_convert(tz)
    try:
        return local.dt.floor(interval, ambiguous="NaT", nonexistent="shift_forward")
    except ValueError:
        raise ParameterError(f"interval must be a fixed length such as '15min', '30min', '1h' or '1D'; got {interval!r}") from None


@public
def queue_intervals(
    calls: pd.DataFrame,
    *,
    interval: str = "30min",
    threshold_s: float = 20,
    short_abandon_s: float = 0,
    by: str | Sequence[str] | None = None,
    tz: str = "UTC",
    level: float = 0.95,
) -> pd.DataFrame:
    """Queue KPIs per interval from one row per call: offered, answered, abandoned, service level,
    abandonment, average speed of answer and time to abandon.

    Parameters
    ----------
    calls : pandas.DataFrame
        The ``calls`` table: ``created_at`` (entered the queue), ``answered``,
        ``speed_of_answer_s`` (queue wait of answered calls) and, for abandoned calls,
        ``time_to_abandon_s`` (queue wait before the caller hung up; ``queue_log`` gives it).
    interval : str, default="30min"
        Length of the intervals (a pandas frequency of fixed length: ``15min``, ``30min``, ``1h``,
        ``1D``), counted in ``tz``'s local time.
    threshold_s : float, default=20
        Service level: answered within this many seconds (the 80/20 convention's 20 s).
    short_abandon_s : float, default=0
        Abandoned calls that waited less than this (a caller who dialled by mistake) are left out of
        ``offered`` and counted in ``short_abandoned`` -- a common contact-centre convention; 0
        keeps every call.
    by : str or list of str, optional
        E.g. ``"queue"``.
    tz : str, default="UTC"
        Zone the intervals are counted in (a queue's day starts at local midnight).
    level : float, default=0.95
        Wilson intervals of the service level and abandonment rate.

    Returns
    -------
    pandas.DataFrame
        ``*by, interval_start (local time), offered, answered, abandoned, short_abandoned,
        answered_within, service_level, service_level_ci_low, service_level_ci_high,
        abandonment_rate, abandonment_ci_low, abandonment_ci_high, asa_s, time_to_abandon_s``.
        Intervals with no call are absent.

    Notes
    -----
    ``offered - answered - abandoned`` are calls that left the queue unanswered without the caller
    hanging up (an ``outcome`` naming a timeout, overflow, transfer or callback: counted against the
    service level, not as abandoned).
    ``service_level = answered_within / offered`` (abandoned calls count against it),
    ``abandonment_rate = abandoned / offered``, ``asa_s = mean(speed_of_answer_s)`` of answered
    calls, ``time_to_abandon_s = mean(time_to_abandon_s)`` of abandoned calls (short abandons
    excluded when ``short_abandon_s > 0``). Answered calls without a speed of answer cannot be
    judged for the service level and are left out of ``offered`` (itemised).

    Examples
    --------
    >>> calls = pd.DataFrame({"call_id": list("abcd"), "agent_id": "x",
    ...     "created_at": ["2026-11-02 09:05", "2026-11-02 09:20", "2026-11-02 09:40", "2026-11-02 09:50"],
    ...     "answered": [True, False, True, True], "speed_of_answer_s": [10.0, None, 40.0, 5.0],
    ...     "time_to_abandon_s": [None, 90.0, None, None]})
    >>> queue_intervals(calls)[["interval_start", "offered", "answered_within", "service_level", "asa_s"]]
                 interval_start  offered  answered_within  service_level  asa_s
    0 2026-11-02 09:00:00+00:00        2                1            0.5   10.0
    1 2026-11-02 09:30:00+00:00        2                1            0.5   22.5
    """
    check_number("short_abandon_s", short_abandon_s, low=0)
    keys = as_by(by)
    c = S.validate(calls, "calls")
    check_by(c, keys, "calls")
    if S.SPEED_OF_ANSWER_S not in c.columns:
        raise ParameterError(f"queue_intervals needs a {S.SPEED_OF_ANSWER_S!r} column in calls")
    ans = c[S.ANSWERED].fillna(False).astype(bool)
    known = c[S.ANSWERED].notna()
    wait = pd.to_numeric(c[TIME_TO_ABANDON_S], errors="coerce") if TIME_TO_ABANDON_S in c.columns else \
        pd.Series(np.nan, index=c.index)
    left = (nw.from_native(c[[OUTCOME]], eager_only=True).select(CL.outcome_not_abandoned())[OUTCOME]
            .to_native().set_axis(c.index) if OUTCOME in c.columns else pd.Series(False, index=c.index))
    ab = known & ~ans & ~left
    short = ab & (wait < short_abandon_s).fillna(False) if short_abandon_s > 0 else pd.Series(False, index=c.index)
    no_speed = ans & c[S.SPEED_OF_ANSWER_S].isna()
    counted = known & ~short & ~no_speed
    x = c.assign(_start=_interval_start(c[S.CREATED_AT], interval, tz),
                 _off=counted.astype(int), _ans=(counted & ans).astype(int), _ab=(counted & ab).astype(int),
                 _short=short.astype(int),
                 _within=(counted & ans & (c[S.SPEED_OF_ANSWER_S] <= threshold_s)).astype(int),
                 _asa=c[S.SPEED_OF_ANSWER_S].where(counted & ans),
                 _tta=wait.where(counted & ab))
    gk = keys + ["_start"]
    g = (x.groupby(gk, sort=True, observed=True, dropna=False)
         .agg(offered=("_off", "sum"), answered=("_ans", "sum"), abandoned=("_ab", "sum"),
              short_abandoned=("_short", "sum"), answered_within=("_within", "sum"), asa_s=("_asa", "mean"),
              time_to_abandon_s=("_tta", "mean"))
         .reset_index().rename(columns={"_start": INTERVAL_START}))
    off = g[OFFERED].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        sl = np.where(off > 0, g[ANSWERED_WITHIN] / off, np.nan)
        abr = np.where(off > 0, g[ABANDONED] / off, np.nan)
    sl_lo, sl_hi = wilson_ci(g[ANSWERED_WITHIN].to_numpy(float), off, level=level)
    ab_lo, ab_hi = wilson_ci(g[ABANDONED].to_numpy(float), off, level=level)
    out = g[keys + [INTERVAL_START, OFFERED, ANSWERED, ABANDONED, SHORT_ABANDONED, ANSWERED_WITHIN]].assign(
        **{SERVICE_LEVEL: sl, SL_CI_LOW: sl_lo, SL_CI_HIGH: sl_hi, ABANDONMENT_RATE: abr, AB_CI_LOW: ab_lo,
           AB_CI_HIGH: ab_hi, ASA_S: g[ASA_S], TIME_TO_ABANDON_S: g[TIME_TO_ABANDON_S]})
    S.add_exclusion(out, "answered call without a speed of answer: not judged for the service level",
                    S.SPEED_OF_ANSWER_S, c.loc[no_speed, S.CALL_ID])
    S.add_exclusion(out, "call whose answered flag is unknown", S.ANSWERED, c.loc[~known, S.CALL_ID])
    if short_abandon_s > 0:
        S.add_exclusion(out, f"short abandon (hung up within {short_abandon_s:g} s): not offered", TIME_TO_ABANDON_S,
                        c.loc[short, S.CALL_ID])
    return out.reset_index(drop=True)


__all__ = ["call_handle_time", "call_answer_time", "call_abandon_time", "queue_intervals"]
