"""Customer-service KPIs from the canonical conversations, surveys and calls tables.

Every KPI is ``f(data, *, by=None, period=None, ...)`` returning a tidy DataFrame: grouping
columns, ``period`` (period start, when ``period`` is given), ``n``, the value column named
after the metric, ``ci_low``/``ci_high`` where an interval makes sense, then extra statistics.
Conventions: ``*_score`` / ``csat`` / ``nps`` are percent or scale points (higher is better),
``*_rate`` are proportions in [0, 1], ``*_time`` columns are hours.

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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from . import schema as S
from .errors import ParameterError, check_choice
from .intervals import MIN_N, as_by, check_by, check_level, mean_ci, wilson_ci
from .scorecard import _with_period

# --- result columns (defined once) ----------------------------------------------------------
CSAT = "csat"
CSAT_MEAN = "csat_mean"
NPS = "nps"
PROMOTERS_PCT, PASSIVES_PCT, DETRACTORS_PCT = "promoters_pct", "passives_pct", "detractors_pct"
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
DEFAULT_SLA_HOURS = {"urgent": 1.0, "high": 4.0, "normal": 24.0, "low": 72.0}
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


# --- business hours ----------------------------------------------------------------------------
def _seconds(hhmm: str) -> int:
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
        Weekday 0 = Monday ... 6 = Sunday; times ``"HH:MM"`` in local wall-clock time.
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

    def _cumulative(self, local: pd.Series, day0: np.datetime64, cum: np.ndarray, op: np.ndarray,
                    cl: np.ndarray) -> np.ndarray:
        """Business seconds from ``day0`` 00:00 to each local wall-clock timestamp."""
        v = local.to_numpy(dtype="datetime64[s]")
        day = v.astype("datetime64[D]")
        idx = (day - day0).astype(np.int64)
        tod = (v - day).astype(np.int64)
        within = np.clip(tod - op[idx], 0, np.maximum(cl[idx] - op[idx], 0))
        return cum[idx] + within

    def hours_between(self, start: pd.Series, end: pd.Series) -> pd.Series:
        """Business hours between two timezone-aware series (NaN where either is missing or
        ``end < start``). Vectorised: cumulative business seconds per local day."""
        start = pd.Series(start)
        end = pd.Series(end, index=start.index)
        ok = start.notna() & end.notna() & (end >= start)
        out = pd.Series(np.nan, index=start.index)
        if not ok.any():
            return out
        ls = start[ok].dt.tz_convert(self.tz).dt.tz_localize(None)
        le = end[ok].dt.tz_convert(self.tz).dt.tz_localize(None)
        day0 = ls.min().to_datetime64().astype("datetime64[D]")
        day1 = le.max().to_datetime64().astype("datetime64[D]")
        days = np.arange(day0, day1 + np.timedelta64(1, "D"), dtype="datetime64[D]")
        wd = (days.astype(np.int64) - 4) % 7  # 1970-01-01 was a Thursday (3) -> Monday = 0
        op, cl = self._open[wd].copy(), self._close[wd].copy()
        closed = np.isin(days, self._holidays) | (cl <= op)
        op[closed], cl[closed] = 0, 0
        length = cl - op
        cum = np.concatenate([[0.0], np.cumsum(length)[:-1]])
        secs = self._cumulative(le, day0, cum, op, cl) - self._cumulative(ls, day0, cum, op, cl)
        out[ok] = secs * HOURS_PER_S
        return out


# --- surveys -------------------------------------------------------------------------------------
def _survey_period_guard(f):
    """With ``period``, answers without ``answered_at`` cannot be placed in a period: they are
    left out and itemised (instead of forming a NaT period)."""

    @functools.wraps(f)
    def inner(surveys: pd.DataFrame, *args, period: str | None = None, **kw):
        if period is None:
            return f(surveys, *args, period=None, **kw)
        sv = S.validate(surveys, "surveys")
        nat = sv[S.ANSWERED_AT].isna()
        res = f(sv[~nat].reset_index(drop=True), *args, period=period, **kw)
        S.add_exclusion(res, f"no {S.ANSWERED_AT}: answer not placed in a period", S.ANSWERED_AT,
                        sv.loc[nat, S.CONVERSATION_ID])
        return res

    return inner


def _survey_rows(surveys: pd.DataFrame, kind: str, scale: tuple[float, float], conversations, keys) -> pd.DataFrame:
    sv = S.validate(surveys, "surveys")
    sv = sv[sv[S.KIND].eq(kind)]
    lo, hi = scale
    off = sv[S.SCORE].notna() & ~sv[S.SCORE].between(lo, hi)
    if off.any():
        from .errors import Problems

        p = Problems("surveys", row_ids=sv[S.CONVERSATION_ID])
        p.add(S.SCORE, f"{kind} score outside the scale {lo:g}..{hi:g}", off, sv[S.SCORE])
        p.raise_if_any()
    return _attach(sv, conversations, keys)


@_survey_period_guard
def csat_score(
    surveys: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    satisfied: Sequence[float] = (4, 5),
    scale: tuple[float, float] = (1, 5),
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
    satisfied : sequence of float, default=(4, 5)
        Scores counted as satisfied (e.g. ``(9, 10)`` on a 10-point scale).
    scale : (min, max), default=(1, 5)
        Scores outside it are an error.
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
    ``CSAT = 100 * #(score in satisfied) / #(answers with a score)``; Wilson score interval.

    Examples
    --------
    >>> sv = pd.DataFrame({"conversation_id": list("abcde"), "kind": "csat",
    ...                    "score": [5.0, 4, 3, 1, 5], "answered_at": None})
    >>> csat_score(sv)[["n", "csat", "csat_mean"]]  # 3 of 5 satisfied; mean 18/5
       n  csat  csat_mean
    0  5  60.0        3.6
    """
    level = check_level(level)
    keys0 = as_by(by)
    sv = _survey_rows(surveys, "csat", scale, conversations, keys0)
    sv, keys = _groups(sv, keys0, period, S.ANSWERED_AT)
    sat = np.asarray(satisfied, dtype=float)
    sv = sv.assign(_use=sv[S.SCORE].notna(), _sat=np.isin(sv[S.SCORE].to_numpy(dtype=float), sat))
    res = _proportion(sv, "_sat", "_use", keys, CSAT, level, min_n)
    res[CSAT] *= 100
    res[S.CI_LOW] *= 100
    res[S.CI_HIGH] *= 100
    means = _agg(sv, keys, **{CSAT_MEAN: (S.SCORE, "mean")})
    res = res.merge(means, on=keys) if keys else res.assign(**{CSAT_MEAN: means[CSAT_MEAN].to_numpy()})
    _exclude(res, sv, ~sv["_use"], "survey answer without a score", S.SCORE, S.CONVERSATION_ID)
    return res[keys + [S.N, CSAT, S.CI_LOW, S.CI_HIGH, CSAT_MEAN, S.N_EXCLUDED, S.SMALL_SAMPLE]]


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
    sv = sv.assign(_use=s.notna(), _p=s.ge(9), _d=s.le(6), _m=s.between(7, 8))
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
    keys0 = as_by(by)
    sv = _survey_rows(surveys, "ces", scale, conversations, keys0)
    sv, keys = _groups(sv, keys0, period, S.ANSWERED_AT)
    if not higher_is_better:
        sv = sv.assign(**{S.SCORE: scale[0] + scale[1] - sv[S.SCORE]})
    from .scorecard import _mean_table

    res = _mean_table(sv, S.SCORE, keys, CES, level=level, min_n=min_n, clip=tuple(map(float, scale)))
    _exclude(res, sv, sv[S.SCORE].isna(), "survey answer without a score", S.SCORE, S.CONVERSATION_ID)
    return res


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
    g = d.groupby(keys, sort=True, observed=True, dropna=False)["_h"].apply(lambda s: ci(s))  # per group
    pairs = full.set_index(keys).index.map(lambda k: g.get(k, (np.nan, np.nan)))
    arr = np.array(list(pairs), dtype=float).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def _time_kpi(conversations, start, end, name, what, open_reason, *, by, period, business_hours,
              max_hours, level, min_n):
    conv = S.validate(conversations, "conversations")
    conv, keys = _groups(conv, by, period, S.CREATED_AT)
    if not (isinstance(max_hours, (int, float)) and max_hours > 0):
        raise ParameterError(f"max_hours must be a positive number; got {max_hours!r}")
    conv, reasons = _durations(conv, start, end, what=what, max_hours=max_hours,
                               business_hours=business_hours, open_reason=open_reason)
    res = _time_table(conv, keys, name, business_hours is not None, level, min_n)
    for mask, reason, col in reasons:
        _exclude(res, conv, mask, reason, col, S.CONVERSATION_ID)
    return res


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
    return conv[S.RESOLVED_AT].notna() | conv[S.STATUS].str.lower().isin([s.lower() for s in statuses])


def fcr_rate(
    conversations: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    rule: str = "repeat",
    repeat_days: float = 7,
    resolved_statuses: Sequence[str] = RESOLVED_STATUSES,
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
    the customer's next conversation starts within ``repeat_days``. With ``repeat``, the last
    ``repeat_days`` of the data cannot be judged yet and are excluded (itemised).

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": ["a", "b", "c"], "customer_id": ["x", "x", "y"],
    ...     "agent_id": "g", "channel": "email", "priority": "normal", "status": "solved",
    ...     "created_at": ["2026-01-01 00:00Z", "2026-01-03 00:00Z", "2026-01-01 00:00Z"], "first_response_at": None,
    ...     "resolved_at": ["2026-01-01 00:00Z", "2026-01-03 00:00Z", "2026-01-01 00:00Z"]})
    >>> fcr_rate(conv, repeat_days=1)[["n", "fcr_rate"]]  # x back after 2 days > 1; b too recent to judge
       n  fcr_rate
    0  2       1.0
    >>> fcr_rate(conv, repeat_days=7).attrs["excluded"][0]["reason"]
    'not judged: fewer than repeat_days=7 days of data after creation'
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
            if not (isinstance(repeat_days, (int, float)) and repeat_days >= 0):
                raise ParameterError(f"repeat_days must be a number >= 0; got {repeat_days!r}")
            window = pd.Timedelta(days=repeat_days)
            order = conv.sort_values([S.CUSTOMER_ID, S.CREATED_AT], kind="stable")
            nxt = order.groupby(S.CUSTOMER_ID, sort=False)[S.CREATED_AT].shift(-1)
            repeat = ((nxt - order[S.CREATED_AT]) <= window).reindex(conv.index).fillna(False).astype(bool)
            unjudged = (conv[S.CREATED_AT] > conv[S.CREATED_AT].max() - window) & ~repeat & use
            reasons.append((unjudged, f"not judged: fewer than repeat_days={repeat_days:g} days of data after creation",
                            S.CREATED_AT))
            use &= ~unjudged
            fcr = fcr & ~repeat
    conv = conv.assign(_use=use, _fcr=fcr.fillna(False).astype(bool))
    res = _proportion(conv, "_fcr", "_use", keys, FCR_RATE, level, min_n)
    for mask, reason, col in reasons:
        _exclude(res, conv, mask, reason, col, S.CONVERSATION_ID)
    return res


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
        ``*by, period (start), period_end, opened, closed, backlog``: conversations created in
        the period, resolved in the period, and open at ``period_end`` (created before it and
        not resolved by then; never-resolved conversations stay in every later backlog).

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
    created = conv[S.CREATED_AT].dt.tz_localize(None)
    resolved = conv[S.RESOLVED_AT].dt.tz_localize(None)
    last = max(created.max(), resolved.max()) if resolved.notna().any() else created.max()
    starts = pd.period_range(created.min(), last, freq=period)
    ords = starts.asi8
    c_ord = created.dt.to_period(period).array.asi8
    r_ord = resolved.dt.to_period(period).array.asi8
    has_r = resolved.notna().to_numpy()
    if keys:
        gcode, guniq = pd.MultiIndex.from_frame(conv[keys]).factorize() if len(keys) > 1 else pd.factorize(conv[keys[0]], sort=True)
        gframe = pd.DataFrame(list(guniq), columns=keys) if len(keys) > 1 else pd.DataFrame({keys[0]: guniq})
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
    return out[keys + [PERIOD, PERIOD_END, OPENED, CLOSED, BACKLOG]]


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
    targets : mapping priority -> hours, default ``{"urgent": 1, "high": 4, "normal": 24, "low": 72}``
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
    targets = dict(DEFAULT_SLA_HOURS if targets is None else targets)
    for k, v in targets.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise ParameterError(f"SLA target for priority {k!r} must be a positive number of hours; got {v!r}")
    if not (isinstance(goal, (int, float)) and 0 < goal <= 100):
        raise ParameterError(f"goal must be a percent in (0, 100]; got {goal!r}")
    conv = S.validate(conversations, "conversations")
    conv, keys = _groups(conv, by, period, S.CREATED_AT)
    end_col = S.RESOLVED_AT if metric == "resolution" else S.FIRST_RESPONSE_AT
    if as_of is None:
        as_of = pd.concat([conv[c] for c in (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT)]).max()
    as_of = pd.Timestamp(as_of)
    as_of = as_of.tz_localize("UTC") if as_of.tz is None else as_of.tz_convert("UTC")
    tgt = conv[S.PRIORITY].map(targets).astype(float)
    hours = (conv[end_col] - conv[S.CREATED_AT]).dt.total_seconds() * HOURS_PER_S
    elapsed = (as_of - conv[S.CREATED_AT]).dt.total_seconds() * HOURS_PER_S
    no_target = tgt.isna()
    negative = hours < 0
    done = conv[end_col].notna() & ~negative
    pending = conv[end_col].isna() & (elapsed <= tgt)
    met = done & (hours <= tgt)
    use = ~no_target & ~negative & ~pending
    conv = conv.assign(_use=use, _met=met, **{TARGET_H: tgt})
    gkeys = [S.PRIORITY] + keys
    res = _proportion(conv, "_met", "_use", gkeys, MET_PCT, level, min_n)
    for c in (MET_PCT, S.CI_LOW, S.CI_HIGH):
        res[c] = res[c] * 100
    res[TARGET_H] = res[S.PRIORITY].map(targets).astype(float)
    res[GOAL] = float(goal)
    res[GOAL_MET] = res[MET_PCT] >= goal
    res = res[res[TARGET_H].notna()].reset_index(drop=True)
    _exclude(res, conv, no_target, f"priority without an SLA target (targets: {sorted(targets)})", S.PRIORITY,
             S.CONVERSATION_ID)
    _exclude(res, conv, negative, f"{end_col} before created_at", end_col, S.CONVERSATION_ID)
    _exclude(res, conv, pending & ~no_target, "open and still within target: outcome not known yet", end_col,
             S.CONVERSATION_ID)
    return res[gkeys + [S.N, MET_PCT, S.CI_LOW, S.CI_HIGH, TARGET_H, GOAL, GOAL_MET, S.N_EXCLUDED,
                        S.SMALL_SAMPLE]]


# --- calls ------------------------------------------------------------------------------------------
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
    ans = c[S.ANSWERED].fillna(False).astype(bool)
    missing_speed = ans & c[S.SPEED_OF_ANSWER_S].isna()
    use = (ans if denominator == "answered" else pd.Series(True, index=c.index)) & ~missing_speed
    use &= c[S.ANSWERED].notna()
    in_time = ans & (c[S.SPEED_OF_ANSWER_S] <= threshold_s).fillna(False).astype(bool)
    c = c.assign(_use=use, _ok=in_time)
    res = _proportion(c, "_ok", "_use", keys, SERVICE_LEVEL, level, min_n)
    _exclude(res, c, missing_speed, "answered call without speed of answer", S.SPEED_OF_ANSWER_S, S.CALL_ID)
    return res


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
    if cost_per_hour is not None:
        _exclude(res, conv, conv[S.HANDLE_TIME_S].isna(), "no handle time: cost counted as 0",
                 S.HANDLE_TIME_S, S.CONVERSATION_ID)
    return res[keys + [S.N, COST_PER_CONTACT, COST]]


def customer_cost_value(
    conversations: pd.DataFrame,
    *,
    cost_per_contact: float,
    value_column: str = S.CUSTOMER_VALUE,
) -> pd.DataFrame:
    """Cases per customer against customer value: who costs more than they bring?

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
    conv = S.validate(conversations, "conversations")
    if value_column not in conv.columns:
        raise ParameterError(f"customer_cost_value needs a {value_column!r} column in conversations")
    contacts = conv[S.CONTACTS] if S.CONTACTS in conv.columns else pd.Series(1.0, index=conv.index)
    conv = conv.assign(_contacts=contacts.fillna(1.0), _one=1)
    res = conv.groupby(S.CUSTOMER_ID, sort=True).agg(
        **{CASES: ("_one", "sum"), S.CONTACTS: ("_contacts", "sum"), value_column: (value_column, "max")}
    ).reset_index()
    res[COST] = res[S.CONTACTS] * float(cost_per_contact)
    with np.errstate(invalid="ignore", divide="ignore"):
        res[RATIO] = res[COST] / res[value_column]
    res[COSTS_MORE] = (res[COST] > res[value_column]).where(res[value_column].notna(), False).astype(bool)
    res = res.sort_values([RATIO, S.CUSTOMER_ID], ascending=[False, True], na_position="last").reset_index(drop=True)
    res[CASES] = res[CASES].astype("int64")
    S.add_exclusion(res, "customer without a value: ratio not computed", value_column,
                    res.loc[res[value_column].isna(), S.CUSTOMER_ID])
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
) -> pd.DataFrame:
    """The headline KPIs in one tidy table.

    Returns
    -------
    pandas.DataFrame
        ``*by, [period], kpi, n, value, ci_low, ci_high, unit, higher_is_better``; one row per
        group and KPI: csat, nps, ces (when surveys have them), first_response_time and
        resolution_time (median hours), fcr_rate, escalation_rate, resolution_rate,
        interactions_per_issue, handle_time (when the columns exist), sla_high (attainment of
        high and urgent priority, percent), and with calls service_level, abandonment_rate.

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
    if surveys is not None:
        sv = S.validate(surveys, "surveys")
        kinds = set(sv[S.KIND])
        if "csat" in kinds:
            parts.append(("csat", csat_score(sv, by=keys, period=period, conversations=conv, level=level,
                                             min_n=0), CSAT, "%", True))
        if "nps" in kinds:
            parts.append(("nps", nps_score(sv, by=keys, period=period, conversations=conv, level=level,
                                           min_n=0), NPS, "points", True))
        if "ces" in kinds:
            parts.append(("ces", ces_score(sv, by=keys, period=period, conversations=conv, level=level,
                                           min_n=0), CES, "1-7", True))
    bh = business_hours
    parts.append(("first_response_time", first_response_time(conv, by=keys, period=period, business_hours=bh,
                                                             level=level, min_n=0), FIRST_RESPONSE_TIME, "h", False))
    parts.append(("resolution_time", resolution_time(conv, by=keys, period=period, business_hours=bh,
                                                     level=level, min_n=0), RESOLUTION_TIME, "h", False))
    parts.append(("fcr_rate", fcr_rate(conv, by=keys, period=period, level=level, min_n=0), FCR_RATE, "share", True))
    parts.append(("resolution_rate", resolution_rate(conv, by=keys, period=period, level=level, min_n=0),
                  RESOLUTION_RATE, "share", True))
    if S.ESCALATED in conv.columns:
        parts.append(("escalation_rate", escalation_rate(conv, by=keys, period=period, level=level, min_n=0),
                      ESCALATION_RATE, "share", False))
    if S.CONTACTS in conv.columns:
        parts.append(("interactions_per_issue", interactions_per_issue(conv, by=keys, period=period, level=level,
                                                                       min_n=0), INTERACTIONS_PER_ISSUE, "contacts", False))
    if S.HANDLE_TIME_S in conv.columns:
        parts.append(("handle_time", handle_time(conv, by=keys, period=period, level=level, min_n=0),
                      HANDLE_TIME, "min", False))
    sla = sla_attainment(conv.assign(**{S.PRIORITY: conv[S.PRIORITY].replace({"urgent": "high"})}),
                         targets={"high": (sla_targets or DEFAULT_SLA_HOURS).get("high", 4.0)},
                         by=keys, period=period, level=level, min_n=0)
    parts.append(("sla_high", sla.drop(columns=[S.PRIORITY]), MET_PCT, "%", True))
    if calls is not None:
        parts.append(("service_level", service_level(calls, by=keys, period=period, level=level, min_n=0),
                      SERVICE_LEVEL, "share", True))
        parts.append(("abandonment_rate", abandonment_rate(calls, by=keys, period=period, level=level, min_n=0),
                      ABANDONMENT_RATE, "share", False))
    rows = []
    for name, t, col, unit, hib in parts:
        gk = [c for c in t.columns if c in keys or c == PERIOD]
        rows.append(t[gk].assign(**{KPI: name, S.N: t[S.N], VALUE: t[col], S.CI_LOW: t.get(S.CI_LOW, np.nan),
                                    S.CI_HIGH: t.get(S.CI_HIGH, np.nan), UNIT: unit, HIGHER_IS_BETTER: hib}))
    out = pd.concat(rows, ignore_index=True)
    gk = keys + ([PERIOD] if period else [])
    return out[gk + [KPI, S.N, VALUE, S.CI_LOW, S.CI_HIGH, UNIT, HIGHER_IS_BETTER]]


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
]

from ._public import wrap_all  # noqa: E402  (at the end: wraps the functions defined above)

wrap_all(globals())
