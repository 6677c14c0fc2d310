"""SLA attainment, defined once: each conversation judged against its priority's time target at
``as_of`` (:func:`judged`: the one row rule, also behind the report's row-level SLA change), then
the share met per priority and group with a Wilson interval."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from .. import schema as S
from ..errors import ParameterError, QakitWarning, check_choice
from . import _finish as F
from . import _groups as G
from . import _labels as L
from . import _source as B
from ._contract import Table
from .conversations import RESOLVED_STATUSES
from .times import CONV_TIMES

MET_PCT = "met_pct"  # percent (read against a percent goal), like promoters_pct
TARGET_H = "target_h"
GOAL, GOAL_MET = "goal", "goal_met"
DEFAULT_SLA_HOURS = {"urgent": 1.0, "critical": 1.0, "high": 4.0, "normal": 24.0, "medium": 24.0, "low": 72.0}
#: the priorities the headline's "SLA met, high priority" reads (keys as :func:`qakit.metrics._labels.label_key`)
SLA_HIGH_PRIORITIES = ("urgent", "critical", "high")
METRICS = ("resolution", "first_response")


class UnmatchedTargetWarning(QakitWarning):
    """An SLA target names a priority that no conversation has (a typo, or another vendor's names)."""


def targets_of(targets: Mapping[str, float] | None) -> dict[str, tuple[str, float]]:
    """``{priority key: (name as given, hours)}`` from ``targets`` (default
    :data:`DEFAULT_SLA_HOURS`), checked; keys by :func:`qakit.metrics._labels.label_key`."""
    raw = dict(DEFAULT_SLA_HOURS if targets is None else targets)
    out: dict[str, tuple[str, float]] = {}
    for k, v in raw.items():
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v) \
                or not v > 0:
            raise ParameterError(f"SLA target for priority {k!r} must be a positive number of hours; got {v!r}")
        key = L.label_key(k)
        if key in out:
            same = [x for x in raw if L.label_key(x) == key]
            raise ParameterError(f"SLA targets {same!r} name the same priority (matched ignoring case and "
                                 "whitespace); give it once")
        out[key] = (str(k), float(v))
    return out


def high_target(sla_targets: Mapping[str, float] | None = None) -> float:
    """The high-priority target in hours: what ``kpi_summary``'s ``sla_high`` judges."""
    return {L.label_key(k): v for k, v in (sla_targets or DEFAULT_SLA_HOURS).items()}.get("high", 4.0)


def high_targets(labels: Sequence[str], sla_targets: Mapping[str, float] | None = None, *,
                 per_priority: bool = False) -> dict[str, float]:
    """The targets ``sla_high`` judges against: ``{"high": hours}`` for the conversations
    :func:`high_only` relabels ``"high"``; ``per_priority``: the high target for each stored high
    priority of ``labels`` (one spelling per priority, the others matched to it ignoring case and
    whitespace, as :func:`targets_of` matches targets), for a result grouped by priority."""
    hours = high_target(sla_targets)
    if not per_priority:
        return {"high": hours}
    out: dict[str, float] = {}
    for v in labels:
        if L.label_key(v) not in {L.label_key(k) for k in out}:
            out[v] = hours
    return out


def high_only(t: Table, *, relabel: bool = True) -> tuple[Table, list[str]]:
    """The conversations of :data:`SLA_HIGH_PRIORITIES` (matched ignoring case, whitespace and
    Unicode form), their priority written ``"high"`` (``relabel=False``: as stored, for a result
    grouped by priority), and the stored labels kept: what ``sla_high`` judges."""
    G.known_labels(t, S.PRIORITY)
    keys = L.distinct_keys(t.lf, S.PRIORITY, t)
    labels = [v for v, k in keys.items() if k in SLA_HIGH_PRIORITIES]
    lf = t.lf.filter(L.is_one_of(S.PRIORITY, labels))
    if relabel:
        lf = lf.with_columns(nw.lit("high").alias(S.PRIORITY))
    return dataclasses.replace(t, lf=lf, pandas=None, problems=[], cache={}), labels


def judged(t: Table, lf: nw.LazyFrame, targets: Mapping[str, tuple[str, float]], metric: str,
           as_of: pd.Timestamp) -> tuple[nw.LazyFrame, dict[Any, str]]:
    """Each conversation judged against its priority's target at ``as_of``: ``lf`` plus
    ``__tgt`` (target hours), ``__met`` (done within target), ``__use`` (judged) and the rows not
    judged: ``__no_target``, ``__negative`` (end before ``created_at``), ``__pending`` (open and
    within target at ``as_of``), ``__later`` (created after ``as_of``), ``__contradicts`` (a
    resolved status without ``resolved_at``). Open conversations past their target at ``as_of``
    are judged missed; an end after ``as_of`` has not happened yet. Also returns ``{stored
    priority: key}``."""
    end_col = S.RESOLVED_AT if metric == "resolution" else S.FIRST_RESPONSE_AT
    G.known_labels(t, S.PRIORITY, S.STATUS)
    pkeys = L.distinct_keys(lf, S.PRIORITY, t)  # (lf: t's rows with more columns)
    hours_of = {v: targets[k][1] for v, k in pkeys.items() if k in targets}
    cut_us = int(as_of.value // 1000)
    lf = B.with_epoch_us(lf, t.engine, {"__e_us": end_col, "__c_us": S.CREATED_AT})
    lf = G.with_label_values(lf, S.PRIORITY, hours_of, "__tgt")
    end_ok = ~nw.col("__e_us").is_null() & (nw.col("__e_us") <= cut_us)  # an end after as_of has not happened yet
    hrs = nw.when(end_ok).then(G.hours(nw.col("__e_us") - nw.col("__c_us")))
    elapsed = G.hours(nw.lit(cut_us) - nw.col("__c_us"))
    lf = lf.with_columns(hrs.alias("__hrs"), elapsed.alias("__el"))
    no_target = nw.col("__tgt").is_null()
    negative = (nw.col("__hrs") < 0).fill_null(False)
    done = ~nw.col("__hrs").is_null() & ~negative
    later = (nw.col("__c_us") > cut_us).fill_null(False)
    pending = (nw.col("__hrs").is_null() & (nw.col("__el") <= nw.col("__tgt"))).fill_null(False) & ~later
    met = (done & (nw.col("__hrs") <= nw.col("__tgt"))).fill_null(False)
    if metric == "resolution" and t.has(S.STATUS):
        st = L.distinct_keys(lf, S.STATUS, t)
        wanted = {L.label_key(x) for x in RESOLVED_STATUSES}
        said = L.is_one_of(S.STATUS, [v for v, k in st.items() if k in wanted])
        contradicts = said & nw.col(S.RESOLVED_AT).is_null()
    else:
        contradicts = nw.lit(False)
    lf = lf.with_columns(no_target.alias("__no_target"), negative.alias("__negative"), later.alias("__later"),
                         pending.alias("__pending"), met.alias("__met"), contradicts.alias("__contradicts"))
    use = ~nw.col("__no_target") & ~nw.col("__negative") & ~nw.col("__pending") & ~nw.col("__later") \
        & ~nw.col("__contradicts")
    return lf.with_columns(use.alias("__use")), pkeys


def _label_rows(s: pd.Series, values: list) -> np.ndarray:
    """Rows of the categorical ``s`` holding one of the stored ``values`` (missing: no), through
    its codes (one lookup per row)."""
    hit = np.append(np.asarray(s.cat.categories.isin(values), dtype=bool), False)  # (code -1: the last)
    return hit[s.array.codes]


def _judged_pandas(t: Table, lf: nw.LazyFrame, targets: Mapping[str, tuple[str, float]], metric: str,
                   as_of: pd.Timestamp) -> tuple[dict[Any, str], dict[str, np.ndarray]] | None:
    """:func:`judged` for a pandas table, with numpy on the timestamps' epoch microseconds and the
    labels' codes (the expressions on pandas cost a pass and a new column per step): ``({stored
    priority: key}, flags)``, ``flags`` the boolean arrays ``no_target, negative, pending, later,
    met, contradicts, use`` row by row. The same arithmetic as :func:`judged` (hours as
    ``(end - created) / 1e6 * (1 / 3600)``: :func:`qakit.metrics._groups.hours`), so a time
    exactly on its target compares the same. None when a label is not categorical, a priority's
    target is named otherwise than stored (relabelled), or ``created_at`` has a missing value (the
    general path then)."""
    if lf.implementation is not nw.Implementation.PANDAS or t.engine != "pandas":
        return None
    df = nw.to_native(lf)
    end_col = S.RESOLVED_AT if metric == "resolution" else S.FIRST_RESPONSE_AT
    pr = df[S.PRIORITY]
    st = df[S.STATUS] if metric == "resolution" and t.has(S.STATUS) else None
    if not isinstance(pr.dtype, pd.CategoricalDtype) or (st is not None and not isinstance(st.dtype, pd.CategoricalDtype)):
        return None
    G.known_labels(t, S.PRIORITY, S.STATUS)
    pkeys = L.distinct_keys(lf, S.PRIORITY, t)
    if any(targets[k][0] != v for v, k in pkeys.items() if k in targets):
        return None  # (relabelled: the general path writes the target's name)
    got_e, got_c = B.epoch_us_array(df[end_col]), B.epoch_us_array(df[S.CREATED_AT])
    if got_e is None or got_c is None or got_c[1].any():
        return None
    (e_us, e_nat), (c_us, _) = got_e, got_c
    cut_us = int(as_of.value // 1000)
    hours_of = {v: targets[k][1] for v, k in pkeys.items() if k in targets}
    per_cat = np.array([float(hours_of.get(c, np.nan)) for c in pr.cat.categories] + [np.nan], dtype=float)
    tgt = per_cat[pr.array.codes]  # (a missing priority's code -1 reads the NaN appended last)
    hrs = G.hours_of_us(e_us, c_us)  # (a missing end's value is meaningless: set to NaN below)
    open_ = e_nat | (e_us > cut_us)  # no end yet at as_of (an end after as_of has not happened yet)
    hrs[open_] = np.nan
    no_target = np.isnan(tgt)
    later = c_us > cut_us
    with np.errstate(invalid="ignore"):
        negative = hrs < 0
        met = hrs >= 0  # (NaN: no)
        met &= hrs <= tgt  # (targets are positive: a negative time is never met)
        pending = np.zeros(len(hrs), dtype=bool)
        rows = np.flatnonzero(open_)  # the elapsed time read only for the conversations with no end
        el = G.hours_of_us(cut_us, c_us[rows])
        pending[rows] = (el <= tgt[rows]) & ~later[rows]
    if st is not None:
        stk = L.distinct_keys(lf, S.STATUS, t)
        wanted = {L.label_key(x) for x in RESOLVED_STATUSES}
        contradicts = _label_rows(st, [v for v, k in stk.items() if k in wanted]) & e_nat  # (end: resolved_at)
    else:
        contradicts = np.zeros(len(df), dtype=bool)
    use = ~(no_target | negative | pending | later | contradicts)
    return pkeys, {"no_target": no_target, "negative": negative, "pending": pending, "later": later, "met": met,
                   "contradicts": contradicts, "use": use}


def attainment(t: Table, *, targets: Mapping[str, float] | None, metric: str, goal: float, by: Sequence[str],
               period: str | None, as_of: Any, level: float, min_n: int, stacklevel: int = 3) -> pd.DataFrame:
    """SLA attainment: ``met_pct = 100 k / n`` per priority (and group), Wilson interval. See
    :func:`qakit.kpis.sla_attainment`."""
    check_choice("metric", metric, METRICS)
    given = targets is not None
    tmap = targets_of(targets)
    keys = list(by)
    G.check_keys(t, keys)
    lf, pkeys_ = G.with_period(t.lf, t.engine, period, S.CREATED_AT, t.columns)
    keys = keys + pkeys_
    end_col = S.RESOLVED_AT if metric == "resolution" else S.FIRST_RESPONSE_AT
    cut = G.data_as_of(t, as_of, CONV_TIMES)
    if pd.isna(cut):
        raise ParameterError("sla_attainment: no timestamp in the data to judge open conversations at; pass as_of=")
    fast = _judged_pandas(t, lf, tmap, metric, cut) if not pkeys_ else None
    if fast is not None:
        pkey, flags = fast
        name_of = {v: tmap[k][0] for v, k in pkey.items() if k in tmap}
    else:
        lf, pkey = judged(t, lf, tmap, metric, cut)
        name_of = {v: tmap[k][0] for v, k in pkey.items() if k in tmap}
        relabelled = [v for v, name in name_of.items() if name != v]
        lf = lf.with_columns(L.is_one_of(S.PRIORITY, relabelled).alias("__rel"), nw.col(S.PRIORITY).alias("__pk"))
        if relabelled:  # (only the values whose target is named otherwise: a chain over every value costs a pass each)
            lf = lf.with_columns(L.value_map(S.PRIORITY, {v: name_of[v] for v in relabelled},
                                             default=nw.col(S.PRIORITY).cast(nw.String)).alias(S.PRIORITY))
    if given:
        unused = sorted(name for k, (name, _) in tmap.items() if k not in set(pkey.values()))
        if unused:
            labels = sorted({name_of.get(v, v) for v in pkey})
            warnings.warn(f"SLA target(s) {unused} match no priority in the data (priorities: {labels[:10]})",
                          UnmatchedTargetWarning, stacklevel=stacklevel)
    gkeys = [S.PRIORITY] + [k for k in keys if k != S.PRIORITY]  # (by priority: the per-priority rows already are)
    if fast is not None:  # (the keys and two flags: the group counts read nothing else)
        res = G.count_flags(nw.to_native(lf), gkeys, {"__n": flags["use"], "__k": flags["use"] & flags["met"]},
                            period=period)
    else:
        res = G.aggregate(lf, gkeys, {"__n": G.n_true(nw.col("__use")),
                                      "__k": G.n_true(nw.col("__use") & nw.col("__met")), "__rows": G.n_rows()},
                          period=period)
    out = F.proportion(res, gkeys, MET_PCT, level=level, min_n=min_n, scale=100.0)
    out[S.PRIORITY] = out[S.PRIORITY].astype("str")  # (text on every engine, a categorical column too)
    hours = {name: h for name, h in tmap.values()}
    target = out[S.PRIORITY].map(hours).astype(float)
    out.insert(len(gkeys) + 4, TARGET_H, target.to_numpy())
    out.insert(len(gkeys) + 5, GOAL, float(goal))
    out.insert(len(gkeys) + 6, GOAL_MET, (out[MET_PCT] >= goal).to_numpy())
    out = out[out[TARGET_H].notna()].reset_index(drop=True)
    targets_txt = sorted(n for n, _ in tmap.values())
    unmatched = sorted({k for k in pkey.values() if k not in tmap})
    if fast is not None:
        df = nw.to_native(lf)
        no_t = flags["no_target"]
        reasons = [(no_t & _label_rows(df[S.PRIORITY], [v for v, kk in pkey.items() if kk == k]),
                    f"no SLA target for priority {k!r} (targets: {targets_txt})", S.PRIORITY) for k in unmatched]
        reasons += [
            (flags["negative"], f"{end_col} before created_at", end_col),
            (flags["pending"] & ~no_t, f"open and still within target at as_of {cut:%Y-%m-%d %H:%M} UTC: "
                                       "outcome not known yet (censored)", end_col),
            (flags["later"] & ~no_t, f"created after as_of {cut:%Y-%m-%d %H:%M} UTC: not judged", S.CREATED_AT),
            (flags["contradicts"] & ~no_t & ~flags["later"],
             f"status says resolved ({', '.join(RESOLVED_STATUSES)}) but resolved_at is missing: not judged",
             S.RESOLVED_AT)]
        G.itemise_masks(out, df[S.CONVERSATION_ID], reasons)
        return G.partial(out, t, period, S.CREATED_AT, CONV_TIMES, as_of)
    no_t = nw.col("__no_target")
    reasons = [(no_t & L.is_one_of("__pk", [v for v, kk in pkey.items() if kk == k]),
                f"no SLA target for priority {k!r} (targets: {targets_txt})", S.PRIORITY) for k in unmatched]
    reasons += [
        (nw.col("__negative"), f"{end_col} before created_at", end_col),
        (nw.col("__pending") & ~no_t, f"open and still within target at as_of {cut:%Y-%m-%d %H:%M} UTC: "
                                      "outcome not known yet (censored)", end_col),
        (nw.col("__later") & ~no_t, f"created after as_of {cut:%Y-%m-%d %H:%M} UTC: not judged", S.CREATED_AT),
        (nw.col("__contradicts") & ~no_t & ~nw.col("__later"),
         f"status says resolved ({', '.join(RESOLVED_STATUSES)}) but resolved_at is missing: not judged",
         S.RESOLVED_AT)]
    G.itemise(out, lf, S.CONVERSATION_ID, reasons,
              adjust=[(nw.col("__rel"), "priority matched to its SLA target ignoring case and whitespace",
                       S.PRIORITY)])
    return G.partial(out, t, period, S.CREATED_AT, CONV_TIMES, as_of)
