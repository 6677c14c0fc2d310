"""The analysis behind the report: headline metrics with intervals, targets and the change against
the previous period, agents' verdicts against the pass line, the coaching gaps (agent x category
against the team), the customer KPIs on the report's engine, and every row the numbers leave out.

Numbers only (unrounded, in display units: percent for shares and IQS, hours for times, points for
NPS); :mod:`qakit.report.views` formats and draws them. Changes use
:func:`qakit.impact.compare_periods` on row-level values (review scores, satisfied answers, NPS
answers as +100/0/-100, first response hours, SLA outcomes).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import kpis as K
from .. import schema as S
from .._public import public
from ..errors import EngineFallbackWarning, ParameterError, QakitWarning, SmallSampleWarning, UndefinedMetricWarning
from ..impact import compare_periods
from ..intervals import wilson_ci
from ..registry import HEADLINE, METRICS, metric
from ..scorecard import category_scores, iqs_score
from .common import quiet
from .data import ReportData, engine_distinct, engine_table, scores_record, stored_record, table_columns
from .display import readable_unit
from .targets import check_targets, target_status
from ..verdict import target_verdict


def _kpi_summary(data: ReportData) -> pd.DataFrame:
    return data.cached("kpi_summary", lambda: report_kpis(data))


def _kpi_results(data: ReportData) -> dict[str, pd.DataFrame]:
    """:func:`qakit.kpis.kpi_results` of the report period's conversations (and surveys), once per run:
    the KPI table, the tiles and the data-quality list read its parts."""
    return data.cached("kpi_results", lambda: _on_engine(
        data, K.kpi_results, _conversations(data), engine_table(data, "surveys") if data.has("surveys") else None,
        csat_scale=data.csat_scale))


#: KPIs whose own function, called with ``min_n=0`` and no other option, is :func:`qakit.kpis.kpi_results`'
#: part of that name (the same definition and defaults): the report computes each once
_SUMMARY_PARTS = ("first_response_time", "resolution_time", "fcr_rate")


def _on_engine(data: ReportData, fn, *args, **kwargs):
    """``fn`` (a :mod:`qakit.kpis` function) on the report's engine; a KPI the engine leaves to
    pandas is named in :attr:`ReportData.engine_notes` (the report shows it under the tiles)."""
    if data.engine == "pandas":
        return quiet(fn, *args, **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore", SmallSampleWarning)
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.simplefilter("always", EngineFallbackWarning)
        out = K._on_engine(fn, data.engine)(*args, **kwargs)
    for w in caught:
        if issubclass(w.category, EngineFallbackWarning):
            if str(w.message) not in data.engine_notes:
                data.engine_notes.append(str(w.message))
        else:  # anything else is not ours to swallow
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out


def _conversations(data: ReportData) -> Any:
    """The conversations as the engine reads them (:func:`qakit.report.data.engine_table`): the Parquet
    file or folder in place when the report uses every stored row (the loader says so in ``engine_notes``)."""
    return engine_table(data, "conversations")


def conversation_kpi(data: ReportData, fn: Callable, **kwargs: Any) -> pd.DataFrame:
    """``fn`` (a :mod:`qakit.kpis` function of the conversations: first response, resolution, FCR,
    SLA, backlog ...) on the report's engine and the table as it reads it (:func:`engine_table`),
    computed once per report run for the same options: the tiles, the tables, the figures and the
    data-quality list share one result (one definition per number, one query per number)."""
    key = f"kpi:{fn.__name__}:{sorted(kwargs.items())!r}"
    if kwargs == {"min_n": 0} and fn.__name__ in _SUMMARY_PARTS:  # (the KPI summary's own part)
        return data.cached(key, lambda: _kpi_results(data)[fn.__name__])
    return data.cached(key, lambda: _on_engine(data, fn, _conversations(data), **kwargs))


def _ratings(data: ReportData) -> Any:
    """The ratings as the engine reads them: the Parquet file or folder in place when the report uses
    every stored row (the loader says so in ``engine_notes``), else the validated frame of the period."""
    return engine_table(data, "ratings")


@public
def report_categories(data: ReportData, **kwargs: Any) -> pd.DataFrame:
    """:func:`qakit.scorecard.category_scores` of the period's ratings with the report's card(s), on
    the report's engine.

    Parameters
    ----------
    data : ReportData
        From :func:`qakit.report.data.load_report_data`. With ``engine="duckdb"`` and every stored
        row used (``data.direct`` has ``ratings``), DuckDB reads the Parquet file or folder in place.
    **kwargs
        ``category_scores``' options: ``by``, ``level``, ``min_n``; ``from_conversations=True``: ``by``
        columns the ratings lack come from the conversations (joined on the engine when it holds them).

    Returns
    -------
    pandas.DataFrame
        As :func:`qakit.scorecard.category_scores`: the ``by`` columns, ``category, n,
        category_score, ci_low, ci_high, n_excluded, small_sample``; ids the file stores as
        numbers are text keys, rows in pandas' order (groups, then category), on every engine.

    Notes
    -----
    One definition: the category score is ``category_scores``' on every engine; the report only
    chooses what the engine reads.

    Examples
    --------
    >>> from qakit.report.data import load_report_data
    >>> report_categories(load_report_data(), min_n=30)[["category", "n"]].head(2)
         category     n
    0  Compliance  2400
    1     Empathy  1905
    """
    def make() -> pd.DataFrame:
        table = _ratings(data)
        options = dict(kwargs)
        if options.pop("from_conversations", False):  # (by columns the conversations supply, joined where they are)
            options["conversations"] = engine_table(data, "conversations")
        if not isinstance(table, str):
            return quiet(category_scores, data.ratings, data.registry, **options)
        # (ids the file stores as integers come back as text keys, in pandas' order: the metric layer's
        # qakit.metrics._groups.text_keys)
        return quiet(category_scores, table, data.registry, engine=data.engine, **options)

    # once per run and options (the figure and categories.csv ask the same: on the engine each is a
    # scan of every rating); a copy, so a caller adding columns changes no other section's table
    return data.cached(f"categories:{sorted(kwargs.items())!r}", make).copy()


def time_tables(data: ReportData, by: str = "channel") -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """First response and resolution times per ``by`` group (:func:`qakit.kpis.first_response_time`,
    :func:`qakit.kpis.resolution_time`), computed once per report run; None without the column."""
    if by not in table_columns(data, "conversations"):
        return None
    return (conversation_kpi(data, K.first_response_time, by=by, min_n=0),
            conversation_kpi(data, K.resolution_time, by=by, min_n=0))


@public
def duration_units(data: ReportData) -> dict[str, str]:
    """The unit each duration KPI is shown in, once for the whole report: ``{metric: "s" | "min" |
    "h" | "d"}`` for every time the data has (first response, resolution, handle time), chosen by
    :func:`qakit.report.display.readable_unit` from all the values the report shows of it (the
    KPI's value and interval, and per channel its median, interval and 90th percentile). Tiles,
    sentences and tables then agree (no 56.4 min in one table and 0.9 h in another) and every
    header states the unit.

    Examples
    --------
    >>> from qakit.report.data import load_report_data
    >>> duration_units(load_report_data(start="2026-10-01", end="2026-10-28"))
    {'first_response_time': 'min', 'resolution_time': 'h', 'handle_time': 'min'}
    """
    def make() -> dict[str, str]:
        hours: dict[str, list[float]] = {}
        if data.has("conversations") or data.has("surveys"):
            for r in _kpi_summary(data).itertuples(index=False):
                m = METRICS.get(r.kpi)
                if m is not None and m.fmt in ("hours", "minutes"):
                    div = 60.0 if m.fmt == "minutes" else 1.0
                    hours.setdefault(m.name, []).extend(float(v) / div for v in (r.value, r.ci_low, r.ci_high))
        tt = time_tables(data)
        if tt is not None:
            for t, name in zip(tt, ("first_response_time", "resolution_time")):
                cols = [c for c in (name, S.CI_LOW, S.CI_HIGH, f"{name}_p90") if c in t.columns]
                hours.setdefault(name, []).extend(t[cols].to_numpy(dtype=float).ravel().tolist())
        return {k: readable_unit(np.asarray(v)) for k, v in hours.items()}
    return data.cached("duration_units", make)


@public
def report_kpis(data: ReportData) -> pd.DataFrame:
    """The customer KPIs of the report period on the report's engine (:func:`qakit.kpis.kpi_summary`
    with conversations; the survey KPIs alone without them): ``kpi, n, value, ci_low, ci_high``."""
    if data.has("conversations"):
        return K.summary_table(_kpi_results(data))
    parts = []
    # (the kinds present: one group-by on the engine when it reads the surveys in place)
    kinds = set(engine_distinct(data, "surveys", [S.KIND])[S.KIND].astype("str")) if data.has("surveys") else set()
    for kind, fn in (("csat", K.csat_score), ("nps", K.nps_score), ("ces", K.ces_score)):
        if kind in kinds:
            t = _on_engine(data, fn, engine_table(data, "surveys"), min_n=0,
                           **({"scale": data.csat_scale} if kind == "csat" else {}))
            parts.append({"kpi": kind, "n": t[S.N].iloc[0], "value": t[METRICS[kind].value].iloc[0],
                          "ci_low": t[S.CI_LOW].iloc[0], "ci_high": t[S.CI_HIGH].iloc[0]})
    return pd.DataFrame(parts, columns=["kpi", "n", "value", "ci_low", "ci_high"])


#: A headline tile's source: ``value(data)`` gives ``(n, value, ci_low, ci_high)`` of the report
#: period in display units (None: the data cannot show the tile), ``rows(data, table)`` the
#: row-level values for the change, ``(frame, value column, time column, kind)`` for
#: :func:`qakit.impact.compare_periods` (None when the tables are missing), with ``table(name)``
#: the report period's or the previous period's table of that name (None when absent).
TileSource = tuple[Callable[[ReportData], "tuple[float, float, float, float] | None"],
                   Callable[[ReportData, Callable[[str], "pd.DataFrame | None"]],
                            "tuple[pd.DataFrame, str, str, str] | None"]]

#: where each headline tile's numbers come from, by registry metric name (:data:`qakit.registry.METRICS`):
#: the tiles of :data:`qakit.registry.HEADLINE` first, in that order, then those registered later
#: (:mod:`qakit.report.operations` adds service level and AQS from its optional tables)
TILE_SOURCES: dict[str, TileSource] = {}

#: tiles a module above this one registers, with the tables that show them: a headline of data
#: holding such a table, made before that module was imported, warns instead of leaving the tile out
#: in silence
REGISTERED_ABOVE: dict[str, tuple[str, tuple[str, ...]]] = {
    "service_level": ("qakit.report.operations", ("calls", "calls_daily")),
    "aqs": ("qakit.report.operations", ("messages",)),
}


def register_tile(name: str, value: Callable, rows: Callable) -> None:
    """Register (or replace) the source of the headline tile of registry metric ``name``.

    Parameters
    ----------
    name : str
        A :data:`qakit.registry.METRICS` name (or alias): the tile's label, unit, direction and
        default target come from the registry.
    value : callable
        ``value(data) -> (n, value, ci_low, ci_high)`` in display units, or None when ``data``
        cannot show the tile.
    rows : callable
        ``rows(data, table) -> (frame, value column, time column, kind)`` or None, with
        ``table(name)`` a table of the report period or of the previous one; ``kind`` as in
        :func:`qakit.impact.compare_periods` (``"rate"`` values are 0/1 and shown in percent).
    """
    TILE_SOURCES[metric(name).name] = (value, rows)


def _first(t: pd.DataFrame, col: str) -> tuple[float, float, float, float]:
    return int(t[S.N].iloc[0]), t[col].iloc[0], t[S.CI_LOW].iloc[0], t[S.CI_HIGH].iloc[0]


def _iqs_overall(data: ReportData) -> pd.DataFrame:
    """The overall IQS and pass rate of the review scores (:func:`qakit.scorecard.iqs_score`), once per
    run: the IQS tile, the pass-rate tile and the targets read the same row (each call checked the
    scores' contract again: ~1.5 s per million reviews)."""
    return data.cached("iqs:overall", lambda: quiet(iqs_score, engine_table(data, "scores"), min_n=0))


def _iqs_value(data: ReportData):
    return _first(_iqs_overall(data), S.IQS) if data.has("scores") else None


def _pass_rate_value(data: ReportData):
    if not data.has("scores"):
        return None
    t = _iqs_overall(data)
    # (passes among the scored reviews: the pass rate is their share, so no review is read again)
    n = int(t[S.N].iloc[0])
    k_ = int(round(float(t[S.PASS_RATE].iloc[0]) * n)) if n else 0
    lo, hi = (float(np.asarray(x).ravel()[0]) * 100 for x in wilson_ci(np.array([k_]), np.array([n])))
    return n, t[S.PASS_RATE].iloc[0] * 100, lo, hi


def _survey_kinds(data: ReportData) -> set[str]:
    """The kinds of survey answers the data has (csat, nps, ces): the survey KPIs :func:`report_kpis`
    computed (its table holds one per kind present), so no survey row is read here."""
    if not data.has("surveys"):
        return set()
    return set(_kpi_summary(data)[K.KPI]) & {"csat", "nps", "ces"}


def survey_kpi(data: ReportData, kind: str, **kwargs: Any) -> pd.DataFrame:
    """:func:`qakit.kpis.csat_score` (with the run's CSAT definition), ``nps_score`` or ``ces_score``
    of the surveys as the engine reads them (:func:`engine_table`), on the report's engine, once per
    report run and options."""
    fn = {"csat": K.csat_score, "nps": K.nps_score, "ces": K.ces_score}[kind]
    extra = {"scale": data.csat_scale} if kind == "csat" else {}
    key = f"survey:{kind}:{sorted(kwargs.items())!r}"
    return data.cached(key, lambda: _on_engine(data, fn, engine_table(data, "surveys"), **extra, **kwargs))


def _survey_value(kind: str):
    def value(data: ReportData):
        if kind not in _survey_kinds(data):
            return None
        return _first(survey_kpi(data, kind, min_n=0), METRICS[kind].value)
    return value


def _frt_value(data: ReportData):
    if not data.has("conversations"):
        return None
    return _first(conversation_kpi(data, K.first_response_time, min_n=0), METRICS["first_response_time"].value)


def _sla_high_value(data: ReportData):
    if not data.has("conversations"):
        return None
    t = _kpi_summary(data).set_index(K.KPI)
    if "sla_high" not in t.index:  # the tile is shown, without a value
        return np.nan, np.nan, np.nan, np.nan
    r = t.loc["sla_high"]
    return int(r[S.N]), r[K.VALUE], r[S.CI_LOW], r[S.CI_HIGH]


def _score_rows(name: str):
    def rows(data: ReportData, table):
        s = table("scores")
        if s is None:
            return None
        if name == "iqs":
            return s, S.IQS, S.REVIEWED_AT, "iqs"
        ok = s[S.IQS].notna()
        return s[ok].assign(_v=s.loc[ok, S.PASSED].astype(float)), "_v", S.REVIEWED_AT, "rate"
    return rows


def _survey_rows(name: str):
    def rows(data: ReportData, table):
        sv = table("surveys")
        if sv is None:
            return None
        sv = sv[sv[S.KIND].eq(name) & sv[S.SCORE].notna()]
        if name == "csat":
            satisfied = sv[S.SCORE] >= data.csat_scale.satisfied_from  # the run's one CSAT definition
            return sv.assign(_v=satisfied.astype(float)), "_v", S.ANSWERED_AT, "rate"
        return sv.assign(_v=K._nps_points(sv[S.SCORE])), "_v", S.ANSWERED_AT, "mean"  # nps_score's classes
    return rows


def _frt_rows(data: ReportData, table):
    c = table("conversations")
    if c is None:
        return None
    h = (c[S.FIRST_RESPONSE_AT] - c[S.CREATED_AT]).dt.total_seconds() / 3600
    return c.assign(_v=h.where(h >= 0)), "_v", S.CREATED_AT, "time"


def _sla_high_rows(data: ReportData, table):
    c = table("conversations")
    return None if c is None else (_sla_rows(c, data), "_v", S.CREATED_AT, "rate")


def _sla_rows(conv: pd.DataFrame, data: ReportData) -> pd.DataFrame:
    """The conversations ``kpi_summary``'s ``sla_high`` judges (:func:`qakit.kpis._sla_high`), with
    ``_v`` = 1 met, 0 missed, by its one rule (:func:`qakit.kpis._sla_judged`: open ones past the
    target missed, open ones within it and contradictory ones left out), ``as_of`` the latest
    timestamp of the report period's high-priority conversations (as ``kpi_summary`` judges them)."""
    cols = (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT)
    cur_high, _ = K._sla_high(data.conversations)
    as_of = K._as_of(None, data.conversations[cur_high], cols)
    high, high_h = K._sla_high(conv)
    c = conv[high].assign(**{S.PRIORITY: "high"})  # judged against the high target, as kpi_summary does
    if c.empty or pd.isna(as_of):
        return c.assign(_v=pd.Series(dtype=float))
    j = K._sla_judged(c, K._sla_targets({"high": high_h}), "resolution", as_of)
    return c.assign(_v=j.met.astype(float))[j.use.to_numpy()]


register_tile("iqs", _iqs_value, _score_rows("iqs"))
register_tile("pass_rate", _pass_rate_value, _score_rows("pass_rate"))
register_tile("csat", _survey_value("csat"), _survey_rows("csat"))
register_tile("nps", _survey_value("nps"), _survey_rows("nps"))
register_tile("first_response_time", _frt_value, _frt_rows)
register_tile("sla_high", _sla_high_value, _sla_high_rows)


def _merged_targets(targets: Mapping[str, Any] | None) -> dict[str, dict]:
    """The registry's targets with ``targets`` over them, checked once (:func:`qakit.report.targets.check_targets`)."""
    merged = {m.name: {"target": m.target, "owner": m.owner, "label": m.heading, "direction": m.direction,
                       **({"margin": m.margin} if m.margin is not None else {})}
              for m in METRICS.values() if m.target is not None}
    for k, v in (targets or {}).items():
        name = metric(k).name
        v = {"target": v} if isinstance(v, (int, float)) else dict(v)
        merged[name] = {**merged.get(name, {"label": metric(name).heading, "direction": metric(name).direction}), **v}
    return check_targets(merged)


def _change(name: str, data: ReportData, seed: int, n_resamples: int) -> dict[str, float] | None:
    """The change of tile ``name`` against the previous period of equal length, or None."""
    prev = data.previous
    if prev.get("start") is None:
        return None
    rows = TILE_SOURCES[name][1]
    cur_rows = rows(data, lambda t: getattr(data, t, None))
    old_rows = rows(data, prev.get)
    if cur_rows is None or old_rows is None or len(old_rows[0]) < 2 or len(cur_rows[0]) < 2:
        return None
    _, col, time, kind = cur_rows
    frame = pd.concat([old_rows[0][[col, time]], cur_rows[0][[col, time]]], ignore_index=True)
    try:
        c = quiet(compare_periods, frame.rename(columns={time: "_t"}), value=col, time="_t", kind=kind,
                   before=(prev["start"], data.start), after=(data.start, _after_end(data)),
                   seed=seed, n_resamples=n_resamples).iloc[0]
    except ValueError:  # too few rows in a period: no comparison
        return None
    scale = 100.0 if kind == "rate" else 1.0
    return dict(previous=float(c["stat_before"]) * scale, change=float(c["effect"]) * scale,
                change_ci_low=float(c[S.CI_LOW]) * scale, change_ci_high=float(c[S.CI_HIGH]) * scale,
                p_value=float(c[S.P_VALUE]), credible=bool(c[S.CI_LOW] > 0 or c[S.CI_HIGH] < 0))


@public
def headline(data: ReportData, targets: Mapping[str, Any] | None = None, *, seed: int = 0,
             n_resamples: int = 1999) -> pd.DataFrame:
    """The headline metrics the data supports, with interval, target, status and change.

    One row per tile of :data:`TILE_SOURCES` the data can show: :data:`qakit.registry.HEADLINE`
    (IQS, pass rate, CSAT, NPS, first response time, SLA high) and, once
    :func:`qakit.report.data.load_optional_tables` attached the optional tables, service level
    (calls) and AQS (messages). Those two tiles are registered by :mod:`qakit.report.operations`
    (it sits above this module): import it, as the report notebook does; without it a headline of
    data holding those tables warns (:class:`qakit.errors.QakitWarning`) and leaves them out.

    Parameters
    ----------
    data : ReportData
    targets : mapping, optional
        Targets by metric name (:func:`qakit.report.targets.check_targets`); missing ones come from the
        registry's defaults.
    seed, n_resamples : int
        Bootstrap of the change intervals (:func:`qakit.impact.compare_periods`).

    Returns
    -------
    pandas.DataFrame
        ``metric, label, n, value, ci_low, ci_high, target, direction, owner, status, n_to_decide,
        previous, change, change_ci_low, change_ci_high, p_value, credible`` in display units (percent
        for shares and IQS, hours for times, points for NPS). ``status`` is ``inconclusive`` when the
        interval straddles the target (:func:`qakit.verdict.target_verdict`), with ``n_to_decide``
        the observations that would decide it (NaN otherwise). ``change = value - previous`` (the
        previous period of equal length, :attr:`ReportData.previous`); ``credible`` when its 95 %
        interval excludes 0. Metrics whose tables are missing are left out.
    """
    merged = _merged_targets(targets)
    unregistered = {name: module for name, (module, tables) in REGISTERED_ABOVE.items()
                    if name not in TILE_SOURCES and any(data.has(t) for t in tables)}
    if unregistered:
        warnings.warn(f"headline: the data has the tables of the {', '.join(sorted(unregistered))} tile(s), whose "
                      f"sources {', '.join(sorted(set(unregistered.values())))} registers; import it before calling "
                      "headline to show them (left out)", QakitWarning, stacklevel=2)
    rows = []
    for name in (*HEADLINE, *(k for k in TILE_SOURCES if k not in HEADLINE)):
        got = TILE_SOURCES[name][0](data)
        if got is None:
            continue
        m = METRICS[name]
        n, value, lo, hi = got
        row = {"metric": name, "label": m.heading, "n": n, "value": float(value), "ci_low": float(lo),
               "ci_high": float(hi)}
        tg = merged.get(name)
        if tg is not None:
            st = target_status({name: value}, {name: tg}).iloc[0]
            row.update(target=tg["target"], direction=tg["direction"], owner=tg["owner"], status=str(st["status"]))
            # an interval straddling the target decides nothing: "inconclusive", with the n that would
            row["status"], row["n_to_decide"] = target_verdict(
                row["status"], name=name, unit=m.unit, value=row["value"], ci_low=row["ci_low"],
                ci_high=row["ci_high"], n=np.nan if n is None else float(n), target=float(tg["target"]))
        else:
            row.update(target=np.nan, direction=m.direction, owner="", status="no target", n_to_decide=np.nan)
        row.update(previous=np.nan, change=np.nan, change_ci_low=np.nan, change_ci_high=np.nan, p_value=np.nan,
                   credible=False)
        row.update(_change(name, data, seed, n_resamples) or {})
        rows.append(row)
    cols = ["metric", "label", "n", "value", "ci_low", "ci_high", "target", "direction", "owner", "status",
            "n_to_decide", "previous", "change", "change_ci_low", "change_ci_high", "p_value", "credible"]
    return pd.DataFrame(rows, columns=cols)


def _after_end(data: ReportData) -> pd.Timestamp:
    if data.end is not None:
        return data.end + pd.Timedelta(microseconds=1)
    return data.previous["start"] + 2 * (data.start - data.previous["start"]) + pd.Timedelta(days=1)


@public
def agent_verdicts(agents: pd.DataFrame, threshold: float) -> pd.Series:
    """Per agent: ``above`` (the whole 95 % interval at or above ``threshold``), ``below`` (the whole
    interval below it) or ``inconclusive`` (the interval straddles it, or is undefined)."""
    return pd.Series(np.where(agents[S.CI_LOW] >= threshold, "above",
                              np.where(agents[S.CI_HIGH] < threshold, "below", "inconclusive")), index=agents.index)


@public
def headline_values(data: ReportData) -> dict[str, float]:
    """The KPI values targets are checked against, in display units (percent for shares), keyed by
    the KPI registry's names (:data:`qakit.registry.METRICS`). Only what the data has.

    ``iqs`` is the mean review IQS and ``pass_rate`` 100 x the share of scored reviews that pass
    (:func:`qakit.scorecard.iqs_score`); the customer KPIs are :func:`report_kpis`' values times
    the metric's display scale.
    """
    out: dict[str, float] = {}
    if data.has("scores"):
        iqs = _iqs_overall(data)
        for name in ("iqs", "pass_rate"):
            out[name] = float(iqs[METRICS[name].value].iloc[0]) * METRICS[name].scale
    if data.has("conversations"):
        summary = _kpi_summary(data).set_index(K.KPI)[K.VALUE]
        for k, v in summary.items():
            if k in METRICS:
                out[k] = float(v) * METRICS[k].scale
    return out


def _team_scores(cells: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """From category scores per (agent, team, category): each team's score per category (its agents'
    cells pooled: ``sum n score / sum n``, the mean over the team's ratings) as ``team, category,
    team_score``, and each agent's team (the team of most of its rated categories; ties: the first
    name; agents with no team: missing)."""
    c = cells[cells[S.TEAM].notna() & (cells[S.N] > 0)].assign(
        **{S.TEAM: lambda x: x[S.TEAM].astype("str"), S.AGENT_ID: lambda x: x[S.AGENT_ID].astype("str")})
    c = c.assign(_w=c[S.N] * c[S.CATEGORY_SCORE])
    g = c.groupby([S.TEAM, S.CATEGORY], sort=True, observed=True)[[S.N, "_w"]].sum()
    team = (g["_w"] / g[S.N]).rename("team_score").reset_index()
    team[S.CATEGORY] = team[S.CATEGORY].astype("str")
    per = c.groupby([S.AGENT_ID, S.TEAM], sort=True)[S.N].sum().reset_index()
    per = per.sort_values([S.AGENT_ID, S.N, S.TEAM], ascending=[True, False, True], kind="stable")
    return team, per.drop_duplicates(S.AGENT_ID).set_index(S.AGENT_ID)[S.TEAM]


@public
def coaching_table(data: ReportData, *, agent_id: str | None = None, level: float = 0.95) -> pd.DataFrame:
    """Per agent and category: the agent's category score with its interval against the team's.

    Returns ``agent_id, category, n, category_score, ci_low, ci_high, team_score, gap, focus``:
    ``category_score`` pools the agent's ratings of the category
    (:func:`qakit.scorecard.category_scores`), ``team_score`` pools every rating of the agent's
    team (everyone when the data has no ``team``), ``gap = category_score - team_score`` and
    ``focus = ci_high < team_score`` (the agent is credibly below the team: a coaching focus).
    """
    # the team from the ratings, else from the conversations (joined where the engine holds them): the
    # category scores run on the report's engine and no rows are read here
    in_ratings = S.TEAM in table_columns(data, "ratings")
    in_conv = not in_ratings and S.TEAM in table_columns(data, "conversations")
    per_agent = report_categories(data, by=[S.AGENT_ID], level=level, min_n=0)
    if in_ratings or in_conv:
        # per (agent, team, category): the team's score pools its agents' cells, an agent's team is the
        # one most of its ratings name (ties: the first team name) -- one scan for both
        cells = report_categories(data, by=[S.AGENT_ID, S.TEAM], min_n=0, from_conversations=in_conv)
        team, agent_team = _team_scores(cells)
        per_agent[S.TEAM] = per_agent[S.AGENT_ID].astype("str").map(agent_team)
        per_agent = per_agent.merge(team, on=[S.TEAM, S.CATEGORY], how="left")
    else:  # (min_n flags small samples only: the report's, to share the category figure's scan)
        team = report_categories(data, min_n=data.min_n)
        per_agent = per_agent.merge(team[[S.CATEGORY, S.CATEGORY_SCORE]].rename(
            columns={S.CATEGORY_SCORE: "team_score"}), on=S.CATEGORY, how="left")
    per_agent["gap"] = per_agent[S.CATEGORY_SCORE] - per_agent["team_score"]
    per_agent["focus"] = per_agent[S.CI_HIGH] < per_agent["team_score"]
    if agent_id is not None:
        if agent_id not in set(per_agent[S.AGENT_ID]):
            raise ParameterError(f"agent_id {agent_id!r} has no reviews in the period; "
                                 f"agents: {sorted(per_agent[S.AGENT_ID].unique())[:10]}...")
        per_agent = per_agent[per_agent[S.AGENT_ID].eq(agent_id)]
    cols = [S.AGENT_ID, S.CATEGORY, S.N, S.CATEGORY_SCORE, S.CI_LOW, S.CI_HIGH, "team_score", "gap", "focus"]
    return per_agent[cols].reset_index(drop=True)


@public
def left_out_rows(data: ReportData, *, show_ids: int = 5) -> pd.DataFrame:
    """Every row the report's numbers leave out (or keep changed), by table and reason, with example
    ids: the loader's notes (orphans, undated rows), each KPI's itemised exclusions
    (:func:`qakit.schema.exclusions`) and the rows changed when read (:func:`qakit.schema.adjustments`),
    for the tables the dataset has.

    Returns ``table, used for, reason, n, example ids``.
    """
    checks = []
    if data.has("scores"):
        checks.append(("ratings", "review scores", scores_record(data)))
    if data.has("conversations"):
        # on the report's engine (the exclusions are the same on every engine), shared with the tiles and tables
        checks += [("conversations", "first response time", conversation_kpi(data, K.first_response_time, min_n=0)),
                   ("conversations", "resolution time", conversation_kpi(data, K.resolution_time, min_n=0)),
                   ("conversations", "FCR", conversation_kpi(data, K.fcr_rate, min_n=0)),
                   ("conversations", "SLA attainment", conversation_kpi(data, K.sla_attainment, min_n=0))]
    kinds = _survey_kinds(data)  # (the answers without a score, itemised by the survey KPIs on the report's engine)
    for kind, used_for in (("csat", "CSAT"), ("nps", "NPS"), ("ces", "CES")):
        if kind in kinds:
            checks.append(("surveys", used_for, survey_kpi(data, kind, min_n=0)))

    def row(tbl: str, used_for: str, reason: str, ids: list, n: int | None = None) -> dict:
        return {"table": tbl, "used for": used_for, "reason": reason, S.N: len(ids) if n is None else n,
                "example ids": ", ".join(ids[:show_ids]) + (" ..." if len(ids) > show_ids else "")}

    rows = [row(n["table"], n["used for"], n["reason"], list(n["ids"])) for n in data.notes]
    for tbl, used_for, res in checks:
        for _, e in S.exclusions(res).iterrows():
            rows.append(row(tbl, used_for, e["reason"], list(e["row_ids"]), int(e[S.N])))
    seen = set()  # rows kept but changed: said once (a read adjustment reaches every KPI of its table)
    for tbl in ("ratings", "conversations", "surveys"):
        # a table the engine checked in place was left there only because reading it changes nothing
        # (the loader reads any table the contract would change): only the adjustments stored with its
        # files (its own loader's, qakit.records.parquet_record), and it is not read here
        frame = getattr(data, tbl) if data.in_memory(tbl) else stored_record(data, tbl)
        if frame is not None and S.has_record(frame):
            for _, e in S.adjustments(frame).iterrows():  # changed when the file was read (ids normalised ...)
                seen.add((e["reason"], e["row_ids"]))
                rows.append(row(tbl, "kept, changed when read", e["reason"], list(e["row_ids"]), int(e[S.N])))
    for tbl, used_for, res in checks:
        for _, e in S.adjustments(res).iterrows():
            if (e["reason"], e["row_ids"]) not in seen:
                seen.add((e["reason"], e["row_ids"]))
                rows.append(row(tbl, used_for, f"kept, changed: {e['reason']}", list(e["row_ids"]), int(e[S.N])))
    return pd.DataFrame(rows, columns=["table", "used for", "reason", S.N, "example ids"])


__all__ = ["headline", "agent_verdicts", "headline_values", "coaching_table", "left_out_rows", "report_kpis",
           "duration_units"]
