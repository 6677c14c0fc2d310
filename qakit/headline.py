"""The analysis behind the report's first screen: headline metrics with intervals, targets and the
change against the previous period, and agents' verdicts against the pass line.

Numbers only (unrounded, in display units: percent for shares and IQS, hours for times, points for
NPS); :mod:`qakit.report_view` formats and draws them. Changes use
:func:`qakit.impact.compare_periods` on row-level values (review scores, satisfied answers, NPS
answers as +100/0/-100, first response hours, SLA outcomes).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from . import kpis as K
from . import schema as S
from .errors import SmallSampleWarning, UndefinedMetricWarning
from .registry import HEADLINE, METRICS, metric
from .sections import ReportData
from .targets import check_targets, target_status


def _quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return fn(*a, **kw)


def _kpi_summary(data: ReportData) -> pd.DataFrame:
    from .report_view import _kpi_summary as cached

    return cached(data)


def _row_values(name: str, data: ReportData, frames: Mapping[str, Any]) -> tuple[pd.DataFrame, str, str, str] | None:
    """Row-level values of a headline metric for :func:`qakit.impact.compare_periods`:
    ``(frame, value column, time column, kind)``, or None when the tables are missing."""
    if name in ("iqs", "pass_rate"):
        s = frames.get("scores")
        if s is None:
            return None
        if name == "iqs":
            return s, S.IQS, S.REVIEWED_AT, "iqs"
        ok = s[S.IQS].notna()
        return s[ok].assign(_v=s.loc[ok, S.PASSED].astype(float)), "_v", S.REVIEWED_AT, "rate"
    if name in ("csat", "nps"):
        sv = frames.get("surveys")
        if sv is None:
            return None
        sv = sv[sv[S.KIND].eq(name) & sv[S.SCORE].notna()]
        if name == "csat":
            satisfied = sv[S.SCORE] >= data.csat_scale.satisfied_from  # the run's one CSAT definition
            return sv.assign(_v=satisfied.astype(float)), "_v", S.ANSWERED_AT, "rate"
        v = np.where(sv[S.SCORE] >= 9, 100.0, np.where(sv[S.SCORE] <= 6, -100.0, 0.0))
        return sv.assign(_v=v), "_v", S.ANSWERED_AT, "mean"
    if name == "first_response_time":
        c = frames.get("conversations")
        if c is None:
            return None
        h = (c[S.FIRST_RESPONSE_AT] - c[S.CREATED_AT]).dt.total_seconds() / 3600
        c = c.assign(_v=h.where(h >= 0))
        return c, "_v", S.CREATED_AT, "time"
    if name == "sla_high":
        c = frames.get("conversations")
        if c is None:
            return None
        return _sla_rows(c, data), "_v", S.CREATED_AT, "rate"
    return None


def _sla_rows(conv: pd.DataFrame, data: ReportData) -> pd.DataFrame:
    """High and urgent conversations with ``_v`` = 1 resolved within the high target (4 h), 0 not;
    open ones already past it count as missed, open ones within it are left out (as
    :func:`qakit.kpis.sla_attainment` does, with ``as_of`` the latest timestamp of the report period)."""
    target = K.DEFAULT_SLA_HOURS["high"]
    cur = data.conversations
    as_of = max(cur[c].max() for c in (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT) if cur[c].notna().any())
    c = conv[conv[S.PRIORITY].isin(["high", "urgent"])]
    h = (c[S.RESOLVED_AT] - c[S.CREATED_AT]).dt.total_seconds() / 3600
    open_h = (as_of - c[S.CREATED_AT]).dt.total_seconds() / 3600
    resolved = c[S.RESOLVED_AT].notna() & (h >= 0)
    v = np.where(resolved, (h <= target).astype(float), np.where(open_h > target, 0.0, np.nan))
    return c.assign(_v=v)[lambda d: d["_v"].notna()]


def headline(data: ReportData, targets: Mapping[str, Any] | None = None, *, seed: int = 0,
             n_resamples: int = 1999) -> pd.DataFrame:
    """The headline metrics the data supports, with interval, target, status and change.

    Parameters
    ----------
    data : ReportData
    targets : mapping, optional
        Targets by metric name (:func:`qakit.targets.check_targets`); missing ones come from the
        registry's defaults.
    seed, n_resamples : int
        Bootstrap of the change intervals (:func:`qakit.impact.compare_periods`).

    Returns
    -------
    pandas.DataFrame
        ``metric, label, n, value, ci_low, ci_high, target, direction, owner, status, previous,
        change, change_ci_low, change_ci_high, p_value, credible`` in display units (percent for
        shares and IQS, hours for times, points for NPS). ``change = value - previous`` (the
        previous period of equal length, :attr:`ReportData.previous`); ``credible`` when its 95 %
        interval excludes 0. Metrics whose tables are missing are left out.
    """
    from .impact import compare_periods
    from .intervals import wilson_ci
    from .scorecard import iqs_score

    spec = {k: v for k, v in (targets or {}).items()}
    merged = {m.name: {"target": m.target, "owner": m.owner, "label": m.heading, "direction": m.direction,
                       **({"margin": m.margin} if m.margin is not None else {})}
              for m in METRICS.values() if m.target is not None}
    for k, v in spec.items():
        name = metric(k).name
        v = {"target": v} if isinstance(v, (int, float)) else dict(v)
        merged[name] = {**merged.get(name, {"label": metric(name).heading, "direction": metric(name).direction}), **v}
    merged = check_targets(merged)
    rows = []
    for name in HEADLINE:
        m = METRICS[name]
        n = value = lo = hi = np.nan
        if name in ("iqs", "pass_rate") and data.has("scores"):
            t = _quiet(iqs_score, data.scores, min_n=0)
            if name == "iqs":
                n, value, lo, hi = int(t[S.N].iloc[0]), t[S.IQS].iloc[0], t[S.CI_LOW].iloc[0], t[S.CI_HIGH].iloc[0]
            else:
                ok = data.scores[S.IQS].notna()
                k_, n = int(data.scores.loc[ok, S.PASSED].sum()), int(ok.sum())
                lo, hi = (float(np.asarray(x).ravel()[0]) * 100 for x in wilson_ci(np.array([k_]), np.array([n])))
                value = t[S.PASS_RATE].iloc[0] * 100
        elif name in ("csat", "nps") and data.has("surveys") and data.surveys[S.KIND].eq(name).any():
            t = (_quiet(K.csat_score, data.surveys, min_n=0, scale=data.csat_scale) if name == "csat"
                 else _quiet(K.nps_score, data.surveys, min_n=0))
            n, value, lo, hi = int(t[S.N].iloc[0]), t[m.value].iloc[0], t[S.CI_LOW].iloc[0], t[S.CI_HIGH].iloc[0]
        elif name == "first_response_time" and data.has("conversations"):
            t = _quiet(K.first_response_time, data.conversations, min_n=0)
            n, value, lo, hi = int(t[S.N].iloc[0]), t[m.value].iloc[0], t[S.CI_LOW].iloc[0], t[S.CI_HIGH].iloc[0]
        elif name == "sla_high" and data.has("conversations"):
            t = _kpi_summary(data).set_index(K.KPI)
            if "sla_high" in t.index:
                r = t.loc["sla_high"]
                n, value, lo, hi = int(r[S.N]), r[K.VALUE], r[S.CI_LOW], r[S.CI_HIGH]
        else:
            continue
        row = {"metric": name, "label": m.heading, "n": n, "value": float(value), "ci_low": float(lo),
               "ci_high": float(hi)}
        tg = merged.get(name)
        if tg is not None:
            st = target_status({name: value}, {name: tg}).iloc[0]
            row.update(target=tg["target"], direction=tg["direction"], owner=tg["owner"], status=str(st["status"]))
        else:
            row.update(target=np.nan, direction=m.direction, owner="", status="no target")
        row.update(previous=np.nan, change=np.nan, change_ci_low=np.nan, change_ci_high=np.nan, p_value=np.nan,
                   credible=False)
        prev = data.previous
        if prev.get("start") is not None:
            cur_rows = _row_values(name, data, {"scores": data.scores, "surveys": data.surveys,
                                                "conversations": data.conversations})
            old_rows = _row_values(name, data, prev)
            if cur_rows is not None and old_rows is not None and len(old_rows[0]) >= 2 and len(cur_rows[0]) >= 2:
                frame = pd.concat([old_rows[0], cur_rows[0]], ignore_index=True)
                _, col, time, kind = cur_rows
                try:
                    c = _quiet(compare_periods, frame[[col, time]].rename(columns={time: "_t"}), value=col, time="_t",
                               kind=kind, before=(prev["start"], data.start), after=(data.start, _after_end(data)),
                               seed=seed, n_resamples=n_resamples).iloc[0]
                except ValueError:  # too few rows in a period: no comparison
                    c = None
                if c is not None:
                    scale = 100.0 if kind == "rate" else 1.0
                    row.update(previous=float(c["stat_before"]) * scale, change=float(c["effect"]) * scale,
                               change_ci_low=float(c[S.CI_LOW]) * scale, change_ci_high=float(c[S.CI_HIGH]) * scale,
                               p_value=float(c[S.P_VALUE]),
                               credible=bool(c[S.CI_LOW] > 0 or c[S.CI_HIGH] < 0))
        rows.append(row)
    cols = ["metric", "label", "n", "value", "ci_low", "ci_high", "target", "direction", "owner", "status", "previous",
            "change", "change_ci_low", "change_ci_high", "p_value", "credible"]
    return pd.DataFrame(rows, columns=cols)


def _after_end(data: ReportData) -> pd.Timestamp:
    if data.end is not None:
        return data.end + pd.Timedelta(microseconds=1)
    return data.previous["start"] + 2 * (data.start - data.previous["start"]) + pd.Timedelta(days=1)


def agent_verdicts(agents: pd.DataFrame, threshold: float) -> pd.Series:
    """Per agent: ``above`` (the whole 95 % interval at or above ``threshold``), ``below`` (the whole
    interval below it) or ``inconclusive`` (the interval straddles it, or is undefined)."""
    return pd.Series(np.where(agents[S.CI_LOW] >= threshold, "above",
                              np.where(agents[S.CI_HIGH] < threshold, "below", "inconclusive")), index=agents.index)


__all__ = ["headline", "agent_verdicts"]

from ._public import wrap_all  # noqa: E402  (at the end: wraps the functions defined above)

wrap_all(globals())
