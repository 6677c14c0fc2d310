"""Time KPIs, each defined once: first response time, resolution time, handle time.

Durations are exact microsecond differences of UTC instants (hours = microseconds / 3.6e9; time
zones and DST do not enter). The headline is the median (response times are heavily right-skewed)
with the distribution-free order-statistic interval; the mean and p90 (linear interpolation) come
with it. Business hours (:class:`BusinessHours`: a weekly schedule in a time zone, holidays) are
counted on pandas and Polars; DuckDB and Spark refuse them by name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
from scipy import stats

from .. import schema as S
from ..errors import ParameterError, check_number
from . import _finish as F
from . import _groups as G
from . import _source as B
from ._contract import Table

FIRST_RESPONSE_TIME = "first_response_time"
RESOLUTION_TIME = "resolution_time"
HANDLE_TIME = "handle_time"
HOURS_PER_S = G.HOURS_PER_S  # (one constant: the hours of a second, as qakit.metrics._groups.hours uses it)
#: every conversation timestamp: the data's end (``as_of``) is the latest of them
CONV_TIMES = (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT)


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


# --- the definitions -------------------------------------------------------------------------------
def durations(lf: nw.LazyFrame, engine: str, start: str, end: str, *, what: str, max_hours: float,
              open_reason: str) -> tuple[nw.LazyFrame, list]:
    """``lf`` plus ``__h`` (hours from ``start`` to ``end``, null where the row is not used) and
    ``__use``; and the itemised reasons ``[(flag, reason, column)]`` rows are not used: no end yet,
    end before start, longer than ``max_hours``."""
    lf = B.with_epoch_us(lf, engine, {"__s_us": start, "__e_us": end})
    h = G.hours(nw.col("__e_us") - nw.col("__s_us"))
    lf = lf.with_columns(h.alias("__h0"))
    missing_end = nw.col(end).is_null()
    negative = (nw.col("__h0") < 0).fill_null(False)
    absurd = (nw.col("__h0") > max_hours).fill_null(False)
    use = ~(missing_end | negative | absurd)
    lf = lf.with_columns(use.alias("__use")).with_columns(
        nw.when(nw.col("__use")).then(nw.col("__h0")).alias("__h"))
    reasons = [(missing_end, open_reason, end), (negative, f"{what}: {end} before {start}", end),
               (absurd, f"{what}: longer than max_hours={max_hours:g}", end)]
    return lf, reasons


def _business(t: Table, lf: nw.LazyFrame, start: str, end: str, bh: "BusinessHours") -> nw.LazyFrame:
    """``__bh``: business hours between ``start`` and ``end`` of the used rows (pandas, Polars)."""
    if t.engine not in ("pandas", "polars"):
        raise ParameterError(
            f"business_hours on engine {t.engine!r}: business-hour durations are counted on engine='pandas' or "
            "'polars' only (a weekly schedule in a time zone with holidays is not expressed in SQL here); use one of "
            "them, or business_hours=None for wall-clock hours")
    eager = lf.collect()
    native = eager.to_native()
    if t.engine == "polars":
        s = native[start].to_pandas()
        e = native[end].to_pandas()
        use = native["__use"].to_pandas()
    else:
        s, e, use = native[start], native[end], native["__use"]
    s, e = _aware(s), _aware(e)
    hours = bh.hours_between(s.reset_index(drop=True), e.reset_index(drop=True)).where(use.to_numpy(dtype=bool))
    values = hours.to_numpy(dtype=float)
    col = nw.new_series("__bh", values, nw.Float64, backend=eager.implementation)
    return eager.with_columns(col.fill_nan(None) if t.engine == "polars" else col).lazy()


def _aware(s: pd.Series) -> pd.Series:
    s = pd.Series(s)
    if not isinstance(s.dtype, pd.DatetimeTZDtype):
        s = pd.to_datetime(s).dt.tz_localize("UTC")
    return s


def time_kpi(t: Table, start: str, end: str, name: str, what: str, open_reason: str, *, by: Sequence[str],
             period: str | None, business_hours: "BusinessHours | None", max_hours: float, level: float,
             min_n: int, flagged: Sequence[tuple[str, str, str]] = ()) -> pd.DataFrame:
    """Median hours from ``start`` to ``end`` with its interval, mean and p90 (and in business
    hours), per group; rows without a usable duration itemised. ``flagged``: more rows to itemise
    in the same query, ``(other timestamp column, reason, column)``: rows whose ``end`` is before
    ``other`` (both known)."""
    if business_hours is not None and not isinstance(business_hours, BusinessHours):
        raise ParameterError(f"business_hours must be a qakit.kpis.BusinessHours; got {type(business_hours).__name__}")
    check_number("max_hours", max_hours, low=0, low_open=True)
    keys = list(by)
    G.check_keys(t, keys)
    lf, pkeys = G.with_period(t.lf, t.engine, period, S.CREATED_AT, t.columns)
    keys = keys + pkeys
    business = business_hours is not None
    if not business and lf.implementation is nw.Implementation.PANDAS:
        fast = _time_kpi_pandas(nw.to_native(lf), start, end, name, what, open_reason, keys=keys, period=period,
                                max_hours=max_hours, level=level, min_n=min_n, flagged=flagged)
        if fast is not None:
            return fast
    lf, reasons = durations(lf, t.engine, start, end, what=what, max_hours=max_hours, open_reason=open_reason)
    if business:
        lf = _business(t, lf, start, end, business_hours)
    h = nw.col("__h")
    aggs = {"__n": G.n_true(nw.col("__use")), "__rows": G.n_rows(), "__mean": G.agg("mean", h),
            "__sd": G.agg("std", h)}
    if business:
        aggs["__bh_mean"] = G.agg("mean", nw.col("__bh"))
        aggs["__bh_n"] = G.agg("count", nw.col("__bh"))
    z = float(stats.norm.ppf((1 + level) / 2))
    both = None if business else G.aggregate_with_order_stats(lf, "__h", keys, z, use="__use", period=period)
    if both is not None:  # (DuckDB: the aggregates and the order statistics in one scan)
        res, picked = both
    else:
        res = G.aggregate(lf, keys, aggs, period=period)
        sizes = pd.to_numeric(res["__n"]).fillna(0).astype(int).tolist()
        picked = G.order_stats(lf, "__h", keys, z, sizes)
    q = F.quantiles(picked, keys, "__h", level)
    if period is not None and G.PERIOD in q.columns:
        q[G.PERIOD] = G.period_starts(q[G.PERIOD], period)
    out = _statistics(res, q, keys, name, min_n)
    if business:
        qb = F.quantiles(G.order_stats(lf, "__bh", keys, z, pd.to_numeric(res["__bh_n"]).fillna(0).astype(int).tolist()),
                         keys, "__bh", level)
        if period is not None and G.PERIOD in qb.columns:
            qb[G.PERIOD] = G.period_starts(qb[G.PERIOD], period)
        mb = G.merge_on_keys(res[keys], qb, keys)
        out[f"{name}_bh"] = mb["__med"].to_numpy(dtype=float, na_value=np.nan)
        out[f"{name}_bh_mean"] = pd.to_numeric(res["__bh_mean"]).to_numpy(dtype=float, na_value=np.nan)
        out[f"{name}_bh_p90"] = mb["__p90"].to_numpy(dtype=float, na_value=np.nan)
        tail = [S.N_EXCLUDED, S.SMALL_SAMPLE]  # (the business-hour columns before them)
        out = out[[c for c in out.columns if c not in tail] + tail]
    for other, reason, column in flagged:  # (the end before ``other``: both known)
        lf = B.with_epoch_us(lf, t.engine, {"__f_us": other})
        reasons = [*reasons, (nw.col("__e_us") < nw.col("__f_us"), reason, column)]
    G.itemise(out, lf, S.CONVERSATION_ID, reasons)
    return out


def _statistics(res: pd.DataFrame, q: pd.DataFrame, keys: list[str], name: str, min_n: int) -> pd.DataFrame:
    """The result of :func:`time_kpi` (without business hours) from the per-group counts and
    moments ``res`` and the quantiles ``q``."""
    m = G.merge_on_keys(res, q, keys)
    out = res[keys].copy()
    out[S.N] = pd.to_numeric(m["__n"]).fillna(0).astype("int64")
    out[name] = m["__med"].to_numpy(dtype=float, na_value=np.nan)
    out[S.CI_LOW] = m[S.CI_LOW].to_numpy(dtype=float, na_value=np.nan)
    out[S.CI_HIGH] = m[S.CI_HIGH].to_numpy(dtype=float, na_value=np.nan)
    out[f"{name}_mean"] = pd.to_numeric(m["__mean"]).to_numpy(dtype=float, na_value=np.nan)
    out[f"{name}_p90"] = m["__p90"].to_numpy(dtype=float, na_value=np.nan)
    out[S.N_EXCLUDED] = (pd.to_numeric(m["__rows"]).fillna(0).astype("int64") - out[S.N]).astype("int64")
    out[S.SMALL_SAMPLE] = out[S.N] < min_n
    return out


def _time_kpi_pandas(df: pd.DataFrame, start: str, end: str, name: str, what: str, open_reason: str, *,
                     keys: list[str], period: str | None, max_hours: float, level: float, min_n: int,
                     flagged: Sequence[tuple[str, str, str]]) -> pd.DataFrame | None:
    """:func:`time_kpi` on a pandas table (wall-clock hours): the durations and the exclusion flags
    from the timestamps' integer storage with numpy (what :func:`durations` computes as
    expressions: the same hours, ``(end_us - start_us) / 1e6 * (1/3600)``, the same rows used), on
    a frame of the keys and two columns only; the groups' statistics by
    :func:`qakit.metrics._groups.moments_with_order_stats_local` (the groups numbered once, each
    group's values copied out once and every statistic read from that copy), or, for group numbers
    beyond 16 bits, by the same :func:`qakit.metrics._groups.aggregate` and
    :func:`qakit.metrics._groups.order_stats`. The
    expression path built a dozen full-length temporaries and copies of the frame per call.
    None when a column is not a timestamp column (the general path then)."""
    s_got, e_got = B.epoch_us_array(df[start]), B.epoch_us_array(df[end])
    if s_got is None or e_got is None:
        return None
    others = {}
    for other, _, _ in flagged:
        others[other] = B.epoch_us_array(df[other])
        if others[other] is None:
            return None
    (s_us, s_nat), (e_us, e_nat) = s_got, e_got
    both = ~(s_nat | e_nat)
    h0 = G.hours_of_us(e_us, s_us)
    h0[~both] = np.nan
    with np.errstate(invalid="ignore"):
        negative = h0 < 0
        absurd = h0 > max_hours
    use = ~(e_nat | negative | absurd)
    h = h0  # (the hours of the rows not used set missing in place: no second full-length array)
    h[~use] = np.nan
    z = float(stats.norm.ppf((1 + level) / 2))
    fused = G.moments_with_order_stats_local(df, keys, h, use, z, period=period)
    if fused is not None:  # (the groups numbered once, each group's values copied out once)
        res, picked = fused
    else:
        small = nw.from_native(df[keys].assign(__use=use, __h=h)).lazy()
        hc = nw.col("__h")
        res = G.aggregate(small, keys, {"__n": G.n_true(nw.col("__use")), "__rows": G.n_rows(),
                                        "__mean": G.agg("mean", hc), "__sd": G.agg("std", hc)}, period=period)
        sizes = pd.to_numeric(res["__n"]).fillna(0).astype(int).tolist()
        picked = G.order_stats(small, "__h", keys, z, sizes)
    q = F.quantiles(picked, keys, "__h", level)
    if period is not None and G.PERIOD in q.columns:
        q[G.PERIOD] = G.period_starts(q[G.PERIOD], period)
    out = _statistics(res, q, keys, name, min_n)
    reasons = [(e_nat, open_reason, end), (negative, f"{what}: {end} before {start}", end),
               (absurd, f"{what}: longer than max_hours={max_hours:g}", end)]
    for other, reason, column in flagged:
        f_us, f_nat = others[other]
        reasons.append((~(e_nat | f_nat) & (e_us < f_us), reason, column))
    G.itemise_masks(out, df[S.CONVERSATION_ID], reasons)
    return out


def first_response(t: Table, **kw: Any) -> pd.DataFrame:
    """First response time: ``first_response_at - created_at`` in hours (see :func:`time_kpi`)."""
    out = time_kpi(t, S.CREATED_AT, S.FIRST_RESPONSE_AT, FIRST_RESPONSE_TIME, "first response", "no first response yet",
                   **kw)
    return G.partial(out, t, kw.get("period"), S.CREATED_AT, CONV_TIMES)


def resolution(t: Table, **kw: Any) -> pd.DataFrame:
    """Resolution time: ``resolved_at - created_at`` in hours; a resolution before the first
    response is flagged (kept) and itemised."""
    # (itemised in the query of the exclusions: ``__e_us`` is ``resolved_at``'s epoch there)
    flagged = ([(S.FIRST_RESPONSE_AT, "flagged (kept): resolved before the first response", S.RESOLVED_AT)]
               if t.has(S.FIRST_RESPONSE_AT) else [])
    out = time_kpi(t, S.CREATED_AT, S.RESOLVED_AT, RESOLUTION_TIME, "resolution", "open: not resolved yet",
                   flagged=flagged, **kw)
    return G.partial(out, t, kw.get("period"), S.CREATED_AT, CONV_TIMES)


def handle(t: Table, *, by: Sequence[str], period: str | None, level: float, min_n: int) -> pd.DataFrame:
    """Average handle time in minutes from ``handle_time_s``, Student-t interval."""
    if not t.has(S.HANDLE_TIME_S):
        raise ParameterError(f"handle_time needs a {S.HANDLE_TIME_S!r} column in conversations")
    keys = list(by)
    G.check_keys(t, keys)
    lf, pkeys = G.with_period(t.lf, t.engine, period, S.CREATED_AT, t.columns)
    keys = keys + pkeys
    m = nw.col(S.HANDLE_TIME_S) / 60.0
    res = G.aggregate(lf, keys, {"__n": G.agg("count", m), "__rows": G.n_rows(), "__mean": G.agg("mean", m),
                                 "__sd": G.agg("std", m)},
                      period=period)
    out = F.mean_t(res, keys, HANDLE_TIME, level=level, min_n=min_n, clip=(0.0, np.inf))
    G.itemise(out, lf, S.CONVERSATION_ID, [(nw.col(S.HANDLE_TIME_S).is_null(), "no handle time", S.HANDLE_TIME_S)])
    return G.partial(out, t, period, S.CREATED_AT, CONV_TIMES)
