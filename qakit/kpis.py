"""Customer-service KPIs from the canonical conversations, surveys and calls tables.

Every KPI is ``f(data, *, by=None, period=None, ..., engine=None)`` returning a tidy DataFrame:
grouping columns, ``period`` (period start, when ``period`` is given), ``n``, the value column
named after the metric, ``ci_low``/``ci_high`` where an interval makes sense, then extra
statistics. Conventions: ``*_score`` / ``csat`` / ``nps`` are percent or scale points (higher is
better), ``*_rate`` are proportions in [0, 1], ``*_time`` columns are hours.

Each function here is a thin call into the KPI's one definition in :mod:`qakit.metrics` (surveys,
times, conversations, SLA, calls, cost), which runs on pandas, Polars, DuckDB or Spark: ``data``
may be a pandas or Polars frame, a Parquet file or folder, a DuckDB relation or a Spark DataFrame,
and ``engine=None`` runs it where it lives (``docs/guide/engines.md``). The numbers, the records
and the errors are the same on every engine.

With ``period``, a ``partial`` column marks periods the data does not cover whole (the last one
when it runs past ``as_of`` / the data's end, the first one when the data starts mid-period).
Windowed outcomes are censored at ``as_of`` (default: the data's last timestamp): a conversation
whose FCR repeat window or SLA target has not elapsed yet is not judged either way, and itemised.
CSAT has one definition, :class:`CsatScale` (scale + satisfied threshold), shared by every
function that reads CSAT (here and in :mod:`qakit.stats`).

Rows a KPI cannot use are never dropped silently: each reason (response before creation,
open conversation, absurd duration, missing value ...) is itemised on the result, read it with
:func:`qakit.schema.exclusions`; ``n_excluded`` counts them per group.

Inputs are checked against the data contract (:mod:`qakit.schema`) on the columns the KPI reads
(ids as text, timestamps UTC); table problems (mixed time zones, unparseable timestamps, duplicate
ids, scores off their scale) raise one :class:`~qakit.errors.DataValidationError` listing every
failing row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from . import schema as S
from ._public import public
from .errors import ParameterError, check_choice
from .intervals import MIN_N, as_by, check_level
from .metrics import _contract as C
from .metrics import _groups as G
from .metrics import _labels as L
from .metrics import _source as B
from .metrics import calls as CL
from .metrics import conversations as CV
from .metrics import cost as CO
from .metrics import sla as SLA
from .metrics import surveys as SV
from .metrics import times as T
from .metrics.calls import ABANDONMENT_RATE, SERVICE_LEVEL
from .metrics.conversations import (BACKLOG, CLOSED, ESCALATION_RATE, FCR_RATE, INTERACTIONS_PER_ISSUE, OPENED,
                                    PERIOD_END, RESOLUTION_RATE, RESOLVED_STATUSES)
from .metrics.cost import CASES, COST, COST_PER_CONTACT, COSTS_MORE, RATIO
from .metrics.sla import (DEFAULT_SLA_HOURS, GOAL, GOAL_MET, MET_PCT, SLA_HIGH_PRIORITIES, TARGET_H,
                          UnmatchedTargetWarning)
from .metrics.surveys import (CES, CSAT, CSAT_MEAN, CSAT_PRESETS, DETRACTORS_PCT, NPS, NPS_DETRACTOR_BELOW,
                              NPS_PROMOTER_FROM, PASSIVES_PCT, PROMOTERS_PCT, CsatScale, ces_scale, csat_definition)
from .metrics.times import FIRST_RESPONSE_TIME, HANDLE_TIME, HOURS_PER_S, RESOLUTION_TIME, BusinessHours

PERIOD = G.PERIOD
PARTIAL = G.PARTIAL  # the period runs past the data's end (as_of) or starts before its first day
PERIODS = G.PERIODS
KPI, VALUE, UNIT, HIGHER_IS_BETTER = "kpi", "value", "unit", "higher_is_better"
_CONV_TIMES = T.CONV_TIMES
#: the conversation columns kpi_summary reads (validated once for every KPI it computes)
SUMMARY_READS = (S.CONVERSATION_ID, S.CUSTOMER_ID, S.PRIORITY, S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT,
                 S.STATUS)
_ces_scale = ces_scale  # (old private name)


# --- the tables a KPI reads, validated once on their engine -------------------------------------------
def _conversations(data: Any, engine: Any, reads: Sequence[str], keys: Sequence[str], period: str | None, *,
                   optional: Sequence[str] = (), times: bool = False) -> C.Table:
    """The conversations table checked on the columns a KPI reads (``optional`` and the ``by``
    columns when present; every timestamp when periods or ``as_of`` need the data's end)."""
    opt = [*optional, *keys]
    if period is not None or times:
        opt += [*_CONV_TIMES]
    return C.validated(data, "conversations", reads=reads, optional=opt, engine=engine)


def _surveys(data: Any, engine: Any, keys: Sequence[str], period: str | None, *, like: C.Table | None = None):
    reads = SV.READS + ((S.ANSWERED_AT,) if period is not None else ())
    return C.validated(data, "surveys", reads=reads, optional=(*SV.OPTIONAL, *keys), engine=engine, like=like)


def _survey_conversations(conversations: Any, sv: C.Table, keys: Sequence[str], period: str | None):
    """The conversations a survey KPI joins: for ``by`` columns the surveys lack and, with
    ``period``, to place answers without ``answered_at`` (None when not needed)."""
    if conversations is None:
        return None
    missing = [b for b in keys if not sv.has(b)]
    if not missing and period is None:
        return None
    reads = (S.CONVERSATION_ID,) + ((S.CREATED_AT,) if period is not None else ())
    if isinstance(conversations, C.Table):
        G.check_keys(conversations, missing, "conversations")
        return conversations
    return C.validated(conversations, "conversations", reads=reads, optional=missing, like=sv)


# --- the row-level rules the report reads (the KPIs' own definitions, on a validated pandas table) ------
def _rules_frame(df: pd.DataFrame, lf: nw.LazyFrame) -> pd.DataFrame:
    got = lf.collect().to_native()
    return got.set_axis(df.index) if len(got) == len(df) else got


def _pandas_table(df: pd.DataFrame, name: str) -> C.Table:
    spec = S.get_table(name)
    return C.Table(nw.from_native(df).lazy(), "pandas", name, spec.row_id, None, tuple(map(str, df.columns)), None,
                   df, frozenset(df.columns))


def _as_of(as_of, data: pd.DataFrame, columns: Sequence[str]) -> pd.Timestamp:
    """``as_of`` as a UTC timestamp; default the data's last timestamp over ``columns``."""
    if as_of is not None:
        return G.as_of_value(as_of)
    cols = [data[c] for c in columns if c in data.columns and data[c].notna().any()]
    if not cols:
        return pd.NaT
    return max(c.max() for c in cols)


_mark_partial = G.mark_partial
_priority_key = L.label_key
_label_keys = L.label_keys
_sla_targets = SLA.targets_of


def _sla_judged(conv: pd.DataFrame, targets: Mapping[str, tuple[str, float]], metric: str,
                as_of: pd.Timestamp) -> SimpleNamespace:
    """Each conversation of a validated pandas table judged against its priority's SLA target: the
    one rule behind :func:`sla_attainment` (:func:`qakit.metrics.sla.judged`), for the report's
    row-level SLA change. Returns row-aligned ``target_h``, ``met``, ``use`` and the masks of the
    rows not judged (``no_target``, ``negative``, ``pending``, ``later``, ``contradicts``)."""
    t = _pandas_table(conv, "conversations")
    lf, _ = SLA.judged(t, t.lf, targets, metric, as_of)
    got = _rules_frame(conv, lf)
    b = {k: got[f"__{k}"].fillna(False).astype(bool) for k in ("met", "use", "no_target", "negative", "pending",
                                                                  "later", "contradicts")}
    return SimpleNamespace(pkey=L.label_keys(conv[S.PRIORITY]), target_h=pd.to_numeric(got["__tgt"]).astype(float),
                           **b)


def _sla_high(conv: pd.DataFrame, sla_targets: Mapping[str, float] | None = None) -> tuple[pd.Series, float]:
    """The conversations of ``SLA_HIGH_PRIORITIES`` (matched ignoring case, whitespace and Unicode
    form) and the high target in hours: what :func:`kpi_summary`'s ``sla_high`` judges."""
    return L.label_keys(conv[S.PRIORITY]).isin(SLA_HIGH_PRIORITIES), SLA.high_target(sla_targets)


def _service_level_judged(calls: pd.DataFrame, threshold_s: float = 20,
                          denominator: str = "offered") -> tuple[pd.Series, pd.Series, pd.Series]:
    """Each call judged for :func:`service_level` (:func:`qakit.metrics.calls.service_level_judged`):
    ``use``, ``in_time``, ``missing_speed``, row-aligned with ``calls``."""
    use, in_time, missing = CL.service_level_judged(threshold_s, denominator)
    lf = nw.from_native(calls).lazy().with_columns(use.alias("__u"), in_time.alias("__t"), missing.alias("__m"))
    got = _rules_frame(calls, lf)
    return tuple(got[c].fillna(False).astype(bool) for c in ("__u", "__t", "__m"))


def _nps_points(scores: pd.Series) -> np.ndarray:
    """Each answer's NPS contribution (100 promoter, -100 detractor, 0 passive; the classes of
    :func:`nps_score`, :func:`qakit.metrics.surveys.nps_points`)."""
    lf = nw.from_native(pd.DataFrame({S.SCORE: pd.Series(scores).to_numpy(dtype=float)})).lazy()
    return lf.select(SV.nps_points(nw.col(S.SCORE)).alias("v")).collect().to_native()["v"].to_numpy(dtype=float)


def _on_engine(fn: Any, engine: Any) -> Any:
    """``fn`` run on ``engine`` (every KPI has one definition that runs on every engine)."""
    return lambda *args, **kwargs: fn(*args, engine=engine, **kwargs)


# --- the KPIs ------------------------------------------------------------------------------------------
@public
def csat_score(
    surveys: Any,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    satisfied: float | Sequence[float] | None = None,
    scale: CsatScale | str | tuple[float, float] | None = None,
    conversations: Any = None,
    level: float = 0.95,
    min_n: int = MIN_N,
    engine: Any = None,
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

    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition runs; ``None``: the engine of the data (a pandas frame: pandas, a
        Polars frame: Polars, a Parquet path or DuckDB relation: DuckDB, a Spark DataFrame: Spark).
        The numbers, records and errors are the same on every engine (``docs/guide/engines.md``).
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
    cs = csat_definition(scale, satisfied)
    keys = as_by(by)
    sv = _surveys(surveys, engine, keys, period)
    conv = _survey_conversations(conversations, sv, keys, period)
    return C.carry(SV.csat(sv, conv, csat=cs, by=keys, period=period, level=level, min_n=min_n), sv, conv)


@public
def nps_score(
    surveys: Any,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    conversations: Any = None,
    level: float = 0.95,
    min_n: int = MIN_N,
    engine: Any = None,
) -> pd.DataFrame:
    """Net Promoter Score: percent promoters (9-10) minus percent detractors (0-6).

    Fractional or averaged answers are classed by threshold, so every answer has exactly one
    class and the three shares sum to 100: detractor ``s < 7``, passive ``7 <= s < 9``,
    promoter ``s >= 9`` (a 6.5 is a detractor, an 8.5 a passive, a 9.5 a promoter).

    Parameters
    ----------
    surveys : table
        Surveys; rows with ``kind == "nps"`` (answers 0..10) are used.
    by : str or list of str, optional
        Grouping columns (a missing value is a group of its own, last).
    period : {"D", "W", "M", "Q", "Y"}, optional
        Trend by UTC period of ``answered_at`` (an answer without it placed by its conversation's
        ``created_at`` when ``conversations`` is given, else left out and itemised).
    conversations : table, optional
        Conversations, joined on ``conversation_id`` for ``by`` columns the surveys lack (and to
        place answers without ``answered_at`` in a period).
    level : float, default=0.95
        Confidence level of the interval.
    min_n : int, default=30
        Groups with fewer usable rows are flagged ``small_sample``.
    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition runs; ``None``: the engine of the data (a pandas frame: pandas, a
        Polars frame: Polars, a Parquet path or DuckDB relation: DuckDB, a Spark DataFrame: Spark).
        The numbers, records and errors are the same on every engine (``docs/guide/engines.md``).

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
    keys = as_by(by)
    sv = _surveys(surveys, engine, keys, period)
    conv = _survey_conversations(conversations, sv, keys, period)
    return C.carry(SV.nps(sv, conv, by=keys, period=period, level=level, min_n=min_n), sv, conv)


@public
def ces_score(
    surveys: Any,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    scale: tuple[float, float] = (1, 7),
    higher_is_better: bool = True,
    conversations: Any = None,
    level: float = 0.95,
    min_n: int = MIN_N,
    engine: Any = None,
) -> pd.DataFrame:
    """Customer Effort Score: the mean answer with a t interval.

    ``higher_is_better=False`` is for surveys where 1 means "very easy": the scores are then
    reversed (``min + max - score``) so that ``ces`` is always higher-is-better, as the column
    naming convention promises.

    Parameters
    ----------
    surveys : table
        Surveys; rows with ``kind == "ces"`` are used.
    by : str or list of str, optional
        Grouping columns (a missing value is a group of its own, last).
    period : {"D", "W", "M", "Q", "Y"}, optional
        Trend by UTC period of ``answered_at`` (an answer without it placed by its conversation's
        ``created_at`` when ``conversations`` is given, else left out and itemised).
    scale : (low, high), default (1, 7)
        The CES scale; answers off it are an error.
    higher_is_better : bool, default=True
        False when 1 means "very easy": answers are reversed (``low + high - score``).
    conversations : table, optional
        Conversations, joined on ``conversation_id`` for ``by`` columns the surveys lack (and to
        place answers without ``answered_at`` in a period).
    level : float, default=0.95
        Confidence level of the interval.
    min_n : int, default=30
        Groups with fewer usable rows are flagged ``small_sample``.
    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition runs; ``None``: the engine of the data (a pandas frame: pandas, a
        Polars frame: Polars, a Parquet path or DuckDB relation: DuckDB, a Spark DataFrame: Spark).
        The numbers, records and errors are the same on every engine (``docs/guide/engines.md``).

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
    scale = ces_scale(scale, higher_is_better)
    level = check_level(level)
    keys = as_by(by)
    sv = _surveys(surveys, engine, keys, period)
    conv = _survey_conversations(conversations, sv, keys, period)
    return C.carry(SV.ces(sv, conv, scale=scale, higher_is_better=higher_is_better, by=keys, period=period,
                         level=level, min_n=min_n), sv, conv)


@public
def first_response_time(
    conversations: Any,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    business_hours: BusinessHours | None = None,
    max_hours: float = 90 * 24,
    level: float = 0.95,
    min_n: int = MIN_N,
    engine: Any = None,
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

    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition runs; ``None``: the engine of the data (a pandas frame: pandas, a
        Polars frame: Polars, a Parquet path or DuckDB relation: DuckDB, a Spark DataFrame: Spark).
        The numbers, records and errors are the same on every engine (``docs/guide/engines.md``).
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
    level = check_level(level)
    keys = as_by(by)
    t = _conversations(conversations, engine, (S.CONVERSATION_ID, S.CREATED_AT, S.FIRST_RESPONSE_AT), keys, period)
    return C.carry(T.first_response(t, by=keys, period=period, business_hours=business_hours, max_hours=max_hours,
                                   level=level, min_n=min_n), t)


@public
def resolution_time(
    conversations: Any,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    business_hours: BusinessHours | None = None,
    max_hours: float = 90 * 24,
    level: float = 0.95,
    min_n: int = MIN_N,
    engine: Any = None,
) -> pd.DataFrame:
    """Time to resolution: ``resolved_at - created_at``, in hours; as :func:`first_response_time`.

    Open conversations (no ``resolved_at``) are counted in ``n_excluded`` and itemised as
    "open: not resolved yet"; a resolution before the first response is itemised too.

    Parameters
    ----------
    conversations : table
        Conversations (reads ``conversation_id``, ``created_at``, ``resolved_at``; ``first_response_at`` when present).
    by : str or list of str, optional
        Grouping columns (a missing value is a group of its own, last).
    period : {"D", "W", "M", "Q", "Y"}, optional
        Trend by UTC period of ``created_at``; adds ``period`` (start) and ``partial``.
    business_hours : BusinessHours, optional
        Adds the statistics in business hours (``*_bh`` columns; pandas and Polars).
    max_hours : float, default=2160 (90 days)
        Longer durations are data errors, excluded and itemised.
    level : float, default=0.95
        Confidence level of the interval.
    min_n : int, default=30
        Groups with fewer usable rows are flagged ``small_sample``.
    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition runs; ``None``: the engine of the data (a pandas frame: pandas, a
        Polars frame: Polars, a Parquet path or DuckDB relation: DuckDB, a Spark DataFrame: Spark).
        The numbers, records and errors are the same on every engine (``docs/guide/engines.md``).

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
    level = check_level(level)
    keys = as_by(by)
    t = _conversations(conversations, engine, (S.CONVERSATION_ID, S.CREATED_AT, S.RESOLVED_AT), keys, period,
                       optional=(S.FIRST_RESPONSE_AT,))
    return C.carry(T.resolution(t, by=keys, period=period, business_hours=business_hours, max_hours=max_hours,
                               level=level, min_n=min_n), t)


@public
def handle_time(
    conversations: Any,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
    engine: Any = None,
) -> pd.DataFrame:
    """Average handle time (AHT) in minutes from ``handle_time_s``, with a t interval.

    Parameters
    ----------
    conversations : table
        Conversations with ``handle_time_s``.
    by : str or list of str, optional
        Grouping columns (a missing value is a group of its own, last).
    period : {"D", "W", "M", "Q", "Y"}, optional
        Trend by UTC period of ``created_at``; adds ``period`` (start) and ``partial``.
    level : float, default=0.95
        Confidence level of the interval.
    min_n : int, default=30
        Groups with fewer usable rows are flagged ``small_sample``.
    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition runs; ``None``: the engine of the data (a pandas frame: pandas, a
        Polars frame: Polars, a Parquet path or DuckDB relation: DuckDB, a Spark DataFrame: Spark).
        The numbers, records and errors are the same on every engine (``docs/guide/engines.md``).

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
    level = check_level(level)
    keys = as_by(by)
    t = _conversations(conversations, engine, (S.CONVERSATION_ID,), keys, period, optional=(S.HANDLE_TIME_S,))
    return C.carry(T.handle(t, by=keys, period=period, level=level, min_n=min_n), t)


@public
def fcr_rate(
    conversations: Any,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    rule: str = "repeat",
    repeat_days: float = 7,
    resolved_statuses: Sequence[str] = RESOLVED_STATUSES,
    as_of: str | pd.Timestamp | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
    engine: Any = None,
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

    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition runs; ``None``: the engine of the data (a pandas frame: pandas, a
        Polars frame: Polars, a Parquet path or DuckDB relation: DuckDB, a Spark DataFrame: Spark).
        The numbers, records and errors are the same on every engine (``docs/guide/engines.md``).
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
    check_choice("rule", rule, CV.FCR_RULES)
    level = check_level(level)
    keys = as_by(by)
    reads = (S.CONVERSATION_ID, S.CREATED_AT, S.RESOLVED_AT, S.STATUS) + ((S.CUSTOMER_ID,) if rule == "repeat" else ())
    t = _conversations(conversations, engine, reads, keys, period, optional=(S.CONTACTS, S.AGENT_REPLIES),
                       times=rule == "repeat")
    return C.carry(CV.fcr(t, by=keys, period=period, rule=rule, repeat_days=repeat_days,
                         resolved_statuses=resolved_statuses, as_of=as_of, level=level, min_n=min_n), t)


@public
def interactions_per_issue(
    conversations: Any,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
    engine: Any = None,
) -> pd.DataFrame:
    """Mean number of contacts (interactions) per conversation, with a t interval.

    Parameters
    ----------
    conversations : table
        Conversations with ``contacts``.
    by : str or list of str, optional
        Grouping columns (a missing value is a group of its own, last).
    period : {"D", "W", "M", "Q", "Y"}, optional
        Trend by UTC period of ``created_at``; adds ``period`` (start) and ``partial``.
    level : float, default=0.95
        Confidence level of the interval.
    min_n : int, default=30
        Groups with fewer usable rows are flagged ``small_sample``.
    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition runs; ``None``: the engine of the data (a pandas frame: pandas, a
        Polars frame: Polars, a Parquet path or DuckDB relation: DuckDB, a Spark DataFrame: Spark).
        The numbers, records and errors are the same on every engine (``docs/guide/engines.md``).

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
    level = check_level(level)
    keys = as_by(by)
    t = _conversations(conversations, engine, (S.CONVERSATION_ID,), keys, period, optional=(S.CONTACTS,))
    return C.carry(CV.interactions(t, by=keys, period=period, level=level, min_n=min_n), t)


@public
def escalation_rate(
    conversations: Any,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
    engine: Any = None,
) -> pd.DataFrame:
    """Share of conversations escalated (``escalated`` true), Wilson interval.

    Parameters
    ----------
    conversations : table
        Conversations with ``escalated`` (missing: unknown, itemised).
    by : str or list of str, optional
        Grouping columns (a missing value is a group of its own, last).
    period : {"D", "W", "M", "Q", "Y"}, optional
        Trend by UTC period of ``created_at``; adds ``period`` (start) and ``partial``.
    level : float, default=0.95
        Confidence level of the interval.
    min_n : int, default=30
        Groups with fewer usable rows are flagged ``small_sample``.
    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition runs; ``None``: the engine of the data (a pandas frame: pandas, a
        Polars frame: Polars, a Parquet path or DuckDB relation: DuckDB, a Spark DataFrame: Spark).
        The numbers, records and errors are the same on every engine (``docs/guide/engines.md``).

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
    level = check_level(level)
    keys = as_by(by)
    t = _conversations(conversations, engine, (S.CONVERSATION_ID,), keys, period, optional=(S.ESCALATED,))
    return C.carry(CV.escalation_rate(t, by=keys, period=period, level=level, min_n=min_n), t)


@public
def resolution_rate(
    conversations: Any,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    resolved_statuses: Sequence[str] = RESOLVED_STATUSES,
    level: float = 0.95,
    min_n: int = MIN_N,
    engine: Any = None,
) -> pd.DataFrame:
    """Share of conversations resolved (``resolved_at`` set or status in ``resolved_statuses``).

    Parameters
    ----------
    conversations : table
        Conversations (reads ``resolved_at`` and ``status``).
    by : str or list of str, optional
        Grouping columns (a missing value is a group of its own, last).
    period : {"D", "W", "M", "Q", "Y"}, optional
        Trend by UTC period of ``created_at``; adds ``period`` (start) and ``partial``.
    resolved_statuses : list of str, default ("solved", "closed", "resolved")
        Statuses that count as resolved (matched ignoring case, whitespace and Unicode form).
    level : float, default=0.95
        Confidence level of the interval.
    min_n : int, default=30
        Groups with fewer usable rows are flagged ``small_sample``.
    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition runs; ``None``: the engine of the data (a pandas frame: pandas, a
        Polars frame: Polars, a Parquet path or DuckDB relation: DuckDB, a Spark DataFrame: Spark).
        The numbers, records and errors are the same on every engine (``docs/guide/engines.md``).

    Returns ``*by, [period], n, resolution_rate, ci_low, ci_high, n_excluded, small_sample``.

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": list("abcd"), "customer_id": "x", "agent_id": "y",
    ...     "channel": "chat", "priority": "low", "status": ["solved", "closed", "open", "pending"],
    ...     "created_at": "2026-01-05", "first_response_at": None, "resolved_at": None})
    >>> float(resolution_rate(conv)["resolution_rate"].iloc[0])
    0.5
    """
    level = check_level(level)
    keys = as_by(by)
    t = _conversations(conversations, engine, (S.CONVERSATION_ID, S.RESOLVED_AT, S.STATUS), keys, period)
    return C.carry(CV.resolution_rate(t, by=keys, period=period, resolved_statuses=resolved_statuses, level=level,
                                     min_n=min_n), t)


@public
def backlog(
    conversations: Any,
    *,
    period: str = "W",
    by: str | Sequence[str] | None = None,
    engine: Any = None,
) -> pd.DataFrame:
    """Open conversations at the end of each period (open ones are kept, never dropped).

    Parameters
    ----------
    conversations : table
        Conversations (reads ``created_at`` and ``resolved_at``).
    period : {"D", "W", "M", "Q", "Y"}, default="W"
        UTC periods.
    by : str or list of str, optional
        Grouping columns (a missing value is a group of its own, last).
    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition runs; ``None``: the engine of the data (a pandas frame: pandas, a
        Polars frame: Polars, a Parquet path or DuckDB relation: DuckDB, a Spark DataFrame: Spark).
        The numbers, records and errors are the same on every engine (``docs/guide/engines.md``).

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
    check_choice("period", period, PERIODS)
    keys = as_by(by)
    t = _conversations(conversations, engine, (S.CONVERSATION_ID, S.CREATED_AT, S.RESOLVED_AT), keys, None,
                       times=True)
    return C.carry(CV.backlog(t, period=period, by=keys), t)


@public
def sla_attainment(
    conversations: Any,
    *,
    targets: Mapping[str, float] | None = None,
    metric: str = "resolution",
    goal: float = 95.0,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    as_of: str | pd.Timestamp | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
    engine: Any = None,
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

    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition runs; ``None``: the engine of the data (a pandas frame: pandas, a
        Polars frame: Polars, a Parquet path or DuckDB relation: DuckDB, a Spark DataFrame: Spark).
        The numbers, records and errors are the same on every engine (``docs/guide/engines.md``).
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
    check_choice("metric", metric, SLA.METRICS)
    level = check_level(level)
    keys = as_by(by)
    end_col = S.RESOLVED_AT if metric == "resolution" else S.FIRST_RESPONSE_AT
    t = _conversations(conversations, engine, (S.CONVERSATION_ID, S.PRIORITY, S.CREATED_AT, end_col), keys, period,
                       optional=(S.STATUS,), times=True)
    return C.carry(SLA.attainment(t, targets=targets, metric=metric, goal=goal, by=keys, period=period, as_of=as_of,
                                 level=level, min_n=min_n, stacklevel=4), t)


@public
def service_level(
    calls: Any,
    *,
    threshold_s: float = 20,
    denominator: str = "offered",
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
    engine: Any = None,
) -> pd.DataFrame:
    """Call service level: calls answered within ``threshold_s`` seconds.

    Parameters
    ----------
    threshold_s : float, default=20
    denominator : {"offered", "answered"}, default="offered"
        ``offered``: answered in time / all calls (abandoned calls count against it, the
        stricter and most common definition); ``answered``: answered in time / answered calls.

    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition runs; ``None``: the engine of the data (a pandas frame: pandas, a
        Polars frame: Polars, a Parquet path or DuckDB relation: DuckDB, a Spark DataFrame: Spark).
        The numbers, records and errors are the same on every engine (``docs/guide/engines.md``).
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
    check_choice("denominator", denominator, CL.DENOMINATORS)
    level = check_level(level)
    keys = as_by(by)
    t = CL.validated_calls(calls, engine=engine, keys=keys, period=period)
    return C.carry(CL.service_level(t, threshold_s=threshold_s, denominator=denominator, by=keys, period=period,
                                   level=level, min_n=min_n), t)


@public
def abandonment_rate(
    calls: Any,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
    engine: Any = None,
) -> pd.DataFrame:
    """Share of offered calls abandoned, Wilson interval.

    A call is abandoned when it was not answered and its ``outcome`` (when the table has one, as a
    queue log or contact records give) is not a timeout, an overflow, a transfer, a callback or
    voicemail (:data:`qakit.metrics.calls.NOT_ABANDONED_PATTERN`): those calls left the queue
    without the caller hanging up. They stay in the denominator (calls offered).

    Parameters
    ----------
    calls : table
        Calls (reads ``call_id`` and ``answered``; ``outcome`` when present).
    by : str or list of str, optional
        Grouping columns (a missing value is a group of its own, last).
    period : {"D", "W", "M", "Q", "Y"}, optional
        Trend by UTC period of ``created_at``; adds ``period`` and ``partial``.
    level : float, default=0.95
        Confidence level of the interval.
    min_n : int, default=30
        Groups with fewer usable rows are flagged ``small_sample``.
    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition runs; ``None``: the engine of the data (a pandas frame: pandas, a
        Polars frame: Polars, a Parquet path or DuckDB relation: DuckDB, a Spark DataFrame: Spark).
        The numbers, records and errors are the same on every engine (``docs/guide/engines.md``).

    Examples
    --------
    >>> calls = pd.DataFrame({"call_id": list("abcd"), "agent_id": "x", "created_at": "2026-01-05",
    ...     "answered": [True, True, True, False]})
    >>> float(abandonment_rate(calls)["abandonment_rate"].iloc[0])
    0.25
    >>> float(abandonment_rate(calls.assign(outcome=["", "", "", "EXITWITHTIMEOUT"]))["abandonment_rate"].iloc[0])
    0.0
    """
    level = check_level(level)
    keys = as_by(by)
    t = CL.validated_calls(calls, engine=engine, keys=keys, period=period)
    return C.carry(CL.abandonment_rate(t, by=keys, period=period, level=level, min_n=min_n), t)


@public
def cost_per_contact(
    conversations: Any,
    *,
    cost_per_hour: float | None = None,
    total_cost: float | None = None,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    engine: Any = None,
) -> pd.DataFrame:
    """Cost per contact: handle time x cost per hour, or a total cost spread over contacts.

    Exactly one of ``cost_per_hour`` (needs ``handle_time_s``) and ``total_cost`` (spread evenly
    over all contacts; with ``by`` each group gets its share of contacts) must be given.

    Parameters
    ----------
    conversations : table
        Conversations (``contacts``: contacts per conversation, missing counted as 1).
    cost_per_hour : float, optional
        Cost of an hour of handle time (needs ``handle_time_s``).
    total_cost : float, optional
        A total cost spread evenly over all contacts.
    by : str or list of str, optional
        Grouping columns (a missing value is a group of its own, last).
    period : {"D", "W", "M", "Q", "Y"}, optional
        Trend by UTC period of ``created_at``; adds ``period`` (start) and ``partial``.
    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition runs; ``None``: the engine of the data (a pandas frame: pandas, a
        Polars frame: Polars, a Parquet path or DuckDB relation: DuckDB, a Spark DataFrame: Spark).
        The numbers, records and errors are the same on every engine (``docs/guide/engines.md``).

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
    keys = as_by(by)
    t = _conversations(conversations, engine, (S.CONVERSATION_ID,), keys, period,
                       optional=(S.CONTACTS, S.HANDLE_TIME_S))
    return C.carry(CO.cost_per_contact(t, cost_per_hour=cost_per_hour, total_cost=total_cost, by=keys,
                                      period=period), t)


@public
def customer_cost_value(
    conversations: Any,
    *,
    cost_per_contact: float,
    value_column: str = S.CUSTOMER_VALUE,
    customers: pd.DataFrame | None = None,
    engine: Any = None,
) -> pd.DataFrame:
    """Cases per customer against customer value: who costs more than they bring?

    ``customers`` (optional ``customers`` table: ``customer_id, customer_value[, segment,
    contacts]``) adds every customer, those with no contact too (cases 0, cost 0), and supplies
    their value; a CRM file's own ``contacts`` count is used for customers without conversation
    rows (``conversations=None``: counts only).

    Parameters
    ----------
    conversations : table or None
        Conversations with ``customer_id`` (and ``contacts``, the value column).
    cost_per_contact : float
        Cost of one contact.
    value_column : str, default="customer_value"
        The customer's value column.
    customers : pandas.DataFrame, optional
        The ``customers`` table (every customer, with value).
    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition runs; ``None``: the engine of the data (a pandas frame: pandas, a
        Polars frame: Polars, a Parquet path or DuckDB relation: DuckDB, a Spark DataFrame: Spark).
        The numbers, records and errors are the same on every engine (``docs/guide/engines.md``).

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
    t = None
    if conversations is not None:
        t = C.validated(conversations, "conversations", reads=(S.CONVERSATION_ID, S.CUSTOMER_ID),
                        optional=(S.CONTACTS, value_column), engine=engine)
    out = CO.customer_cost_value(t, cost_per_contact=cost_per_contact, value_column=value_column, customers=customers)
    return C.carry(out, t) if t is not None else out


#: the headline KPIs of :func:`kpi_summary`, in its order: name -> (value column of the KPI's own
#: result, unit, higher is better, the public function whose definition and defaults it is)
SUMMARY_KPIS: dict[str, tuple[str, str, bool, str]] = {
    "csat": (CSAT, "%", True, "csat_score"),
    "nps": (NPS, "points", True, "nps_score"),
    "ces": (CES, "1-7", True, "ces_score"),
    "first_response_time": (FIRST_RESPONSE_TIME, "h", False, "first_response_time"),
    "resolution_time": (RESOLUTION_TIME, "h", False, "resolution_time"),
    "fcr_rate": (FCR_RATE, "share", True, "fcr_rate"),
    "resolution_rate": (RESOLUTION_RATE, "share", True, "resolution_rate"),
    "escalation_rate": (ESCALATION_RATE, "share", False, "escalation_rate"),
    "interactions_per_issue": (INTERACTIONS_PER_ISSUE, "contacts", False, "interactions_per_issue"),
    "handle_time": (HANDLE_TIME, "min", False, "handle_time"),
    "sla_high": (MET_PCT, "%", True, "sla_attainment"),
    "service_level": (SERVICE_LEVEL, "share", True, "service_level"),
    "abandonment_rate": (ABANDONMENT_RATE, "share", False, "abandonment_rate"),
}


@public(own_records=True)  # (each part carries its own tables' records: C.carry)
def kpi_results(
    conversations: Any,
    surveys: Any = None,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    calls: Any = None,
    sla_targets: Mapping[str, float] | None = None,
    business_hours: BusinessHours | None = None,
    level: float = 0.95,
    csat_scale: CsatScale | str | None = None,
    engine: Any = None,
) -> dict[str, pd.DataFrame]:
    """The headline KPIs of :func:`kpi_summary`, each as its own function's full result.

    The same computation as :func:`kpi_summary` (each table checked once, every KPI's one
    definition on the engine), kept per KPI: a report shows the summary, the first-response tile
    and every KPI's itemised exclusions from one computation instead of computing each KPI twice.
    Each result equals the KPI's own function called with these options and ``min_n=0``:
    ``first_response_time`` and ``resolution_time`` (``max_hours=2160``), ``fcr_rate`` (its defaults:
    the 7-day repeat rule), ``csat_score`` with ``scale=csat_scale``, ``nps_score``,
    ``ces_score`` (1-7); ``sla_high`` is :func:`sla_attainment` of the high-priority
    conversations (high, urgent, critical) against the high target.

    Parameters
    ----------
    conversations, surveys, by, period, calls, sla_targets, business_hours, level, csat_scale, engine
        As :func:`kpi_summary`.

    Returns
    -------
    dict of str to pandas.DataFrame
        KPI name (:data:`SUMMARY_KPIS`, in that order; only those the data has) -> the KPI's result,
        with its own columns (``n``, the value, ``ci_low``/``ci_high`` ...) and its exclusion record
        (:func:`qakit.schema.exclusions`, each reason with the function that excluded it).

    Notes
    -----
    :func:`kpi_summary` is :func:`summary_table` of this dict.

    Examples
    --------
    >>> from qakit import datasets
    >>> r = kpi_results(datasets.load_sample("conversations"), datasets.load_sample("surveys"))
    >>> list(r)[:4]
    ['csat', 'nps', 'ces', 'first_response_time']
    >>> one = first_response_time(datasets.load_sample("conversations"), min_n=0)
    >>> float(r["first_response_time"]["first_response_time"].iloc[0]) == float(one["first_response_time"].iloc[0])
    True
    """
    keys = as_by(by)
    level = check_level(level)
    parts: dict[str, pd.DataFrame] = {}
    opt = (S.CONTACTS, S.ESCALATED, S.HANDLE_TIME_S, S.AGENT_REPLIES)
    conv = _conversations(conversations, engine, SUMMARY_READS, keys, period, optional=opt, times=True)
    kw = dict(by=keys, period=period, level=level, min_n=0)
    sv = ct = None
    if surveys is not None:
        sv = _surveys(surveys, None, keys, period, like=conv)
        svc = _survey_conversations(conv, sv, keys, period)
        kinds = set(L.distinct_keys(sv.lf, S.KIND).values())
        cs = csat_definition(csat_scale)
        if "csat" in kinds:
            parts["csat"] = C.carry(SV.csat(sv, svc, csat=cs, **kw), sv)
        if "nps" in kinds:
            parts["nps"] = C.carry(SV.nps(sv, svc, **kw), sv)
        if "ces" in kinds:
            parts["ces"] = C.carry(SV.ces(sv, svc, scale=(1.0, 7.0), higher_is_better=True, **kw), sv)
    of_conv = {  # (each carries the conversations' record)
        "first_response_time": T.first_response(conv, business_hours=business_hours, max_hours=90 * 24, **kw),
        "resolution_time": T.resolution(conv, business_hours=business_hours, max_hours=90 * 24, **kw),
        "fcr_rate": CV.fcr(conv, rule="repeat", repeat_days=7, resolved_statuses=RESOLVED_STATUSES, as_of=None, **kw),
        "resolution_rate": CV.resolution_rate(conv, resolved_statuses=RESOLVED_STATUSES, **kw)}
    if conv.has(S.ESCALATED):
        of_conv["escalation_rate"] = CV.escalation_rate(conv, **kw)
    if conv.has(S.CONTACTS):
        of_conv["interactions_per_issue"] = CV.interactions(conv, **kw)
    if conv.has(S.HANDLE_TIME_S):
        of_conv["handle_time"] = T.handle(conv, **kw)
    # grouped by priority: each high priority is its own group (judged against the high target)
    by_priority = S.PRIORITY in keys
    high, labels = SLA.high_only(conv, relabel=not by_priority)
    n_high = int(B.collect(high.lf.select(nw.len().alias("__n")))["__n"].iloc[0])
    if n_high:  # sla_high reads high, urgent and critical conversations only: the others are not "left out"
        sla = SLA.attainment(high, targets=SLA.high_targets(labels, sla_targets, per_priority=by_priority),
                             metric="resolution", goal=95.0, as_of=None, **kw)
        of_conv["sla_high"] = sla if by_priority else sla.drop(columns=[S.PRIORITY])
    parts.update({name: C.carry(t, conv) for name, t in of_conv.items()})
    if calls is not None:
        ct = CL.validated_calls(calls, engine=None, keys=keys, period=period, like=conv)
        parts["service_level"] = C.carry(CL.service_level(ct, threshold_s=20, denominator="offered", **kw), ct)
        parts["abandonment_rate"] = C.carry(CL.abandonment_rate(ct, **kw), ct)
    for name, t in parts.items():
        S.stamp(t, SUMMARY_KPIS[name][3])  # each reason keeps the KPI that excluded it
    return parts


@public
def summary_table(results: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """:func:`kpi_results`' results as :func:`kpi_summary`'s one tidy table.

    Parameters
    ----------
    results : mapping of str to pandas.DataFrame
        :func:`kpi_results`' dict (KPI names of :data:`SUMMARY_KPIS`).

    Returns
    -------
    pandas.DataFrame
        ``*by, [period], kpi, n, value, ci_low, ci_high, unit, higher_is_better, [partial]``, as
        :func:`kpi_summary` describes; every result's record carried.

    Raises
    ------
    ParameterError
        An unknown KPI name, or a result that is not a table.

    Examples
    --------
    >>> from qakit import datasets
    >>> t = summary_table(kpi_results(datasets.load_sample("conversations")))
    >>> t[["kpi", "unit"]].head(2)
                       kpi unit
    0  first_response_time    h
    1      resolution_time    h
    """
    bad = [k for k in results if k not in SUMMARY_KPIS]
    if bad:
        raise ParameterError(f"results: unknown KPI name(s) {bad}; expected some of {list(SUMMARY_KPIS)}")
    wrong = [k for k, t in results.items() if not isinstance(t, pd.DataFrame)]
    if wrong:
        raise ParameterError(f"results: not a table for {wrong} (kpi_results' dict of DataFrames)")
    if not results:
        raise ParameterError("results: empty (kpi_results gives at least the conversation KPIs)")
    first = next(iter(results.values()))
    # the grouping columns: those before n, as every KPI result lists them (and the period's start)
    gk = list(first.columns[:list(first.columns).index(S.N)])
    rows = []
    for name, t in results.items():
        col, unit, hib, _ = SUMMARY_KPIS[name]
        extra = {PARTIAL: t[PARTIAL]} if PARTIAL in t.columns else {}
        rows.append(t[gk].assign(**{KPI: name, S.N: t[S.N], VALUE: t[col], S.CI_LOW: t.get(S.CI_LOW, np.nan),
                                    S.CI_HIGH: t.get(S.CI_HIGH, np.nan), UNIT: unit, HIGHER_IS_BETTER: hib},
                                 **extra))
    out = pd.concat(rows, ignore_index=True)
    cols = gk + [KPI, S.N, VALUE, S.CI_LOW, S.CI_HIGH, UNIT, HIGHER_IS_BETTER]
    if any(PARTIAL in t.columns for t in results.values()):
        out[PARTIAL] = out[PARTIAL].fillna(False).astype(bool)
        cols.append(PARTIAL)
    out = out[cols].copy()
    out.attrs.pop(S.RECORD_KEY, None)
    return S.carry_records(out, *results.values())


@public
def kpi_summary(
    conversations: Any,
    surveys: Any = None,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    calls: Any = None,
    sla_targets: Mapping[str, float] | None = None,
    business_hours: BusinessHours | None = None,
    level: float = 0.95,
    csat_scale: CsatScale | str | None = None,
    engine: Any = None,
) -> pd.DataFrame:
    """The headline KPIs in one tidy table (``csat_scale``: the CSAT definition, see
    :class:`CsatScale`; default 1-5).

    Each table is checked once (on the columns the KPIs read) and every KPI runs its one definition
    on the engine (``engine=``); the numbers are the same on every engine. ``business_hours`` on
    DuckDB or Spark is refused by name.

    Parameters
    ----------
    conversations : table
        Conversations (validated once for every KPI).
    surveys : table, optional
        Surveys (CSAT, NPS, CES rows).
    by : str or list of str, optional
        Grouping columns (a missing value is a group of its own, last).
    period : {"D", "W", "M", "Q", "Y"}, optional
        Trend by UTC period of ``created_at``; adds ``period`` (start) and ``partial``.
    calls : table, optional
        Calls (service level, abandonment).
    sla_targets : mapping priority -> hours, optional
        Targets for ``sla_high`` (default :data:`DEFAULT_SLA_HOURS`).
    business_hours : BusinessHours, optional
    level : float, default=0.95
        Confidence level of the interval.
    csat_scale : CsatScale or str, optional
        The CSAT definition (default 1-5).
    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the definition runs; ``None``: the engine of the data (a pandas frame: pandas, a
        Polars frame: Polars, a Parquet path or DuckDB relation: DuckDB, a Spark DataFrame: Spark).
        The numbers, records and errors are the same on every engine (``docs/guide/engines.md``).

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
    return summary_table(kpi_results(conversations, surveys, by=by, period=period, calls=calls, sla_targets=sla_targets,
                                     business_hours=business_hours, level=level, csat_scale=csat_scale, engine=engine))


@public
def customer_cost_value_plot(table: pd.DataFrame, *, ax=None, value_column: str = S.CUSTOMER_VALUE):
    """Scatter of support cost against customer value (log axes), customers above the
    break-even line highlighted; returns the matplotlib Axes.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`customer_cost_value`'s result.
    ax : matplotlib Axes, optional
    value_column : str, default="customer_value"
    """
    # the plotting stack, loaded only when a figure is drawn (~1.5 s: not at every `import qakit`)
    import matplotlib.pyplot as plt
    import seaborn as sns  # (the plotting stack, as above)

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
    "kpi_results",
    "summary_table",
    "customer_cost_value",
    "customer_cost_value_plot",
    "kpi_summary",
    "BusinessHours",
    "CsatScale",
    "csat_definition",
    "UnmatchedTargetWarning",
]
