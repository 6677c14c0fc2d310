"""Call KPIs, each defined once: service level, abandonment rate and the average handle time of
answered calls (telephony queue exports)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from .. import schema as S
from ..errors import ParameterError, check_choice
from . import _finish as F
from . import _groups as G
from ._contract import Table, validated

SERVICE_LEVEL = "service_level"
ABANDONMENT_RATE = "abandonment_rate"
#: outcomes of a queued call that left unanswered without the caller hanging up (a timeout, an
#: overflow to another queue, a transfer, a callback): not answered, but not abandoned either. Matched
#: in the lower-cased ``outcome`` (the same regular expression on every engine's regex dialect)
NOT_ABANDONED_PATTERN = r"timeout|overflow|transfer|exitempty|exitwithkey|no agent|callback|voicemail|flow.?disconnect"
ASA_S = "asa_s"
#: the parts of a call's handle time a call log gives (their means add up to the AHT)
PARTS = (S.TALK_TIME_S, S.HOLD_TIME_S, S.AFTER_CALL_WORK_S)
DENOMINATORS = ("offered", "answered")
CALL_TIMES = (S.CREATED_AT,)


def validated_calls(data: Any, *, engine: Any, keys: Sequence[str], period: str | None,
                    reads: Sequence[str] = (S.SPEED_OF_ANSWER_S, S.OUTCOME), like: Table | None = None) -> Table:
    """The calls table checked on the columns a call KPI reads: ``call_id``, ``answered``, ``reads``,
    the ``by`` columns (when present) and ``created_at`` for periods."""
    optional = [*reads, *keys] + ([S.CREATED_AT] if period is not None else [])
    return validated(data, "calls", reads=(S.CALL_ID, S.ANSWERED), optional=optional, engine=engine, like=like)


def service_level_judged(threshold_s: float = 20, denominator: str = "offered") -> tuple[Any, Any, Any]:
    """Each call judged for :func:`service_level` (and the report's row-level change), as
    expressions: ``use`` (counted: answered or, with ``offered``, any call whose answered flag is
    known and whose speed is known when answered), ``in_time`` (answered within ``threshold_s``)
    and ``missing_speed`` (answered without a speed of answer: left out, itemised)."""
    a = nw.col(S.ANSWERED)
    ans = a.fill_null(False)
    speed = nw.col(S.SPEED_OF_ANSWER_S)
    missing_speed = ans & speed.is_null()
    use = (ans if denominator == "answered" else nw.lit(True)) & ~missing_speed & ~a.is_null()
    in_time = ans & (speed <= threshold_s).fill_null(False)
    return use, in_time, missing_speed


def _grouped(t: Table, by: Sequence[str], period: str | None):
    keys = list(by)
    G.check_keys(t, keys)
    lf, pkeys = G.with_period(t.lf, t.engine, period, S.CREATED_AT, t.columns)
    return lf, keys + pkeys


def service_level(t: Table, *, threshold_s: float, denominator: str, by: Sequence[str], period: str | None,
                  level: float, min_n: int) -> pd.DataFrame:
    """Calls answered within ``threshold_s`` over offered (or answered) calls, Wilson interval."""
    check_choice("denominator", denominator, DENOMINATORS)
    if not t.has(S.SPEED_OF_ANSWER_S):
        raise ParameterError(f"service_level needs a {S.SPEED_OF_ANSWER_S!r} column in calls")
    lf, keys = _grouped(t, by, period)
    reason = ("answered call without speed of answer", S.SPEED_OF_ANSWER_S)
    if lf.implementation is nw.Implementation.PANDAS:
        # in memory: each call judged with numpy (the same rules as service_level_judged), the
        # groups counted from the keys' codes and the two flags (G.count_flags: one count)
        df = nw.to_native(lf)
        a = df[S.ANSWERED]
        ans = a.to_numpy(dtype=bool, na_value=False)
        speed = df[S.SPEED_OF_ANSWER_S].to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(speed)
        missing &= ans
        use = ~missing
        if not (isinstance(a.dtype, np.dtype) and a.dtype == bool):  # (numpy booleans: none unknown)
            use &= a.notna().to_numpy(dtype=bool)
        if denominator == "answered":
            use &= ans
        with np.errstate(invalid="ignore"):
            k = speed <= threshold_s
        k &= use
        k &= ans
        if keys:
            res = G.count_flags(df, keys, {"__n": use, "__k": k}, period=period)
        else:
            res = pd.DataFrame({"__n": [int(np.count_nonzero(use))], "__k": [int(np.count_nonzero(k))],
                                "__rows": [len(df)]})
        out = F.proportion(res, keys, SERVICE_LEVEL, level=level, min_n=min_n)
        G.itemise_masks(out, df[S.CALL_ID], [(missing, *reason)])
        return G.partial(out, t, period, S.CREATED_AT, CALL_TIMES)
    use, in_time, missing_speed = service_level_judged(threshold_s, denominator)
    res = G.aggregate(lf, keys, {"__n": G.n_true(use), "__k": G.n_true(use & in_time), "__rows": G.n_rows()},
                      period=period)
    out = F.proportion(res, keys, SERVICE_LEVEL, level=level, min_n=min_n)
    G.itemise(out, lf, S.CALL_ID, [(missing_speed, *reason)])
    return G.partial(out, t, period, S.CREATED_AT, CALL_TIMES)


def outcome_not_abandoned() -> Any:
    """Calls whose ``outcome`` says they left the queue without the caller hanging up
    (:data:`NOT_ABANDONED_PATTERN`), as an expression on a table with ``outcome``."""
    return nw.col(S.OUTCOME).cast(nw.String).str.to_lowercase().str.contains(NOT_ABANDONED_PATTERN).fill_null(False)


def not_abandoned(t: Table) -> Any:
    """:func:`outcome_not_abandoned` on ``t``; no ``outcome`` column: none."""
    return outcome_not_abandoned() if t.has(S.OUTCOME) else nw.lit(False)


def abandonment_rate(t: Table, *, by: Sequence[str], period: str | None, level: float, min_n: int) -> pd.DataFrame:
    """Share of offered calls abandoned (not answered, and not a timeout / overflow / transfer by
    their ``outcome``), Wilson interval."""
    lf, keys = _grouped(t, by, period)
    a = nw.col(S.ANSWERED)
    abandoned = ~a.fill_null(True) & ~not_abandoned(t)
    res = G.aggregate(lf, keys, {"__n": G.n_true(~a.is_null()), "__k": G.n_true(abandoned),
                                 "__rows": G.n_rows()}, period=period)
    out = F.proportion(res, keys, ABANDONMENT_RATE, level=level, min_n=min_n)
    return G.partial(out, t, period, S.CREATED_AT, CALL_TIMES)


def handle(t: Table, *, by: Sequence[str], period: str | None, level: float, min_n: int) -> pd.DataFrame:
    """Average handle time (seconds) of answered calls, Student-t interval, with the mean of each
    part the table has (talk, hold, after-call work; an empty part counted 0, so the parts add up
    to ``handle_time_s`` when the log's handle time is their sum). Answered calls without a handle
    time are left out and itemised; unanswered calls have none and are not counted."""
    if not t.has(S.HANDLE_TIME_S):
        raise ParameterError(f"call_handle_time needs a {S.HANDLE_TIME_S!r} column in calls (talk + hold + "
                             "after-call work); read the log with read_export(..., preset='call_log')")
    lf, keys = _grouped(t, by, period)
    answered = nw.col(S.ANSWERED).fill_null(False)
    ht = nw.col(S.HANDLE_TIME_S)
    use = answered & ~ht.is_null()
    parts = [p for p in PARTS if t.has(p)]
    aggs = {"__n": G.agg("count", nw.when(use).then(ht)), "__rows": G.n_true(answered),
            "__mean": G.agg("mean", nw.when(use).then(ht)), "__sd": G.agg("std", nw.when(use).then(ht))}
    aggs.update({p: G.agg("mean", nw.when(use).then(nw.col(p).fill_null(0.0))) for p in parts})
    res = G.aggregate(lf, keys, aggs, period=period)
    out = F.mean_t(res, keys, S.HANDLE_TIME_S, level=level, min_n=min_n, clip=(0.0, np.inf), extra=parts)
    G.itemise(out, lf, S.CALL_ID, [(answered & ht.is_null(), "answered call without a handle time",
                                    S.HANDLE_TIME_S)])
    return G.partial(out, t, period, S.CREATED_AT, CALL_TIMES)


def _mean_seconds(t: Table, value: Any, use: Any, name: str, reason: str, column: str, *, by: Sequence[str],
                  period: str | None, level: float, min_n: int, counted: Any) -> pd.DataFrame:
    """Mean of ``value`` over the calls ``use`` selects, Student-t interval (never below 0 s);
    ``counted`` calls without a value are left out and itemised under ``reason``."""
    lf, keys = _grouped(t, by, period)
    v = nw.when(use).then(value)
    res = G.aggregate(lf, keys, {"__n": G.agg("count", v), "__rows": G.n_true(counted), "__mean": G.agg("mean", v),
                                 "__sd": G.agg("std", v)}, period=period)
    out = F.mean_t(res, keys, name, level=level, min_n=min_n, clip=(0.0, np.inf))
    G.itemise(out, lf, S.CALL_ID, [(counted & value.is_null(), reason, column)])
    return G.partial(out, t, period, S.CREATED_AT, CALL_TIMES)


def answer_time(t: Table, *, by: Sequence[str], period: str | None, level: float, min_n: int) -> pd.DataFrame:
    """Average speed of answer (ASA, seconds) of answered calls, Student-t interval; answered calls
    without a speed of answer itemised."""
    if not t.has(S.SPEED_OF_ANSWER_S):
        raise ParameterError(f"call_answer_time needs a {S.SPEED_OF_ANSWER_S!r} column in calls")
    answered = nw.col(S.ANSWERED).fill_null(False)
    speed = nw.col(S.SPEED_OF_ANSWER_S)
    return _mean_seconds(t, speed, answered & ~speed.is_null(), ASA_S, "answered call without speed of answer",
                         S.SPEED_OF_ANSWER_S, by=by, period=period, level=level, min_n=min_n, counted=answered)


def abandon_time(t: Table, *, by: Sequence[str], period: str | None, level: float, min_n: int) -> pd.DataFrame:
    """Mean time to abandon (seconds) of abandoned calls (the calls :func:`abandonment_rate`
    counts), Student-t interval; abandoned calls without a time itemised."""
    if not t.has(S.TIME_TO_ABANDON_S):
        raise ParameterError(f"call_abandon_time needs a {S.TIME_TO_ABANDON_S!r} column in calls")
    abandoned = ~nw.col(S.ANSWERED).fill_null(True) & ~not_abandoned(t)
    wait = nw.col(S.TIME_TO_ABANDON_S)
    return _mean_seconds(t, wait, abandoned & ~wait.is_null(), S.TIME_TO_ABANDON_S,
                         "abandoned call without time to abandon", S.TIME_TO_ABANDON_S, by=by, period=period,
                         level=level, min_n=min_n, counted=abandoned)
