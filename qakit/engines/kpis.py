"""Headline customer KPIs as Ibis expressions, mirroring :mod:`qakit.kpis`.

Each KPI pushes only per-group counts, sums, means and sample sds (and, for times, the few
order statistics the median, p90 and median interval need) through the engine; Wilson and t
intervals are computed on the small result with :mod:`qakit.intervals`. Excluded rows are
itemised on the result, as in the pandas functions (ids sorted: an engine has no row order).

Not expressed here (a clear :class:`~qakit.errors.ParameterError` instead): business hours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .. import kpis as K
from .. import schema as S
from ..errors import DataValidationError, ParameterError, check_choice
from ..intervals import MIN_N, as_by, check_level, wilson_ci
from . import _backend as B
from .scoring import _check_by_expr, _mean_result, _mean_stats, _num, _sorted, _with_period_expr


# --- plumbing -----------------------------------------------------------------------------------
def _source(source: Any, engine: Any, table: str):
    con = B.connection(engine)
    if isinstance(source, pd.DataFrame):
        source = S.validate(source, table)
    return con, B.table(source, con)


def _not_aligned(what: str):
    """A rule of qakit.kpis the engine expressions do not follow yet: refused by name (never a
    different number). Issue 12 (merged 2026-11-27) changed these in the pandas reference."""
    return ParameterError(
        f"{what}: not expressed in qakit.engines since qakit.kpis changed it (issue 12: FCR censored at as_of, "
        "partial periods flagged, SLA judging rules); use engine='pandas'")


def _groups(t, by, period, time_col, table):
    if period is not None:
        raise _not_aligned(f"period={period!r} on conversation and call KPIs")
    keys = as_by(by)
    _check_by_expr(t, keys, table)
    t, pkeys = _with_period_expr(t, period, time_col)
    return t, keys + pkeys


def _exclude(con, res: pd.DataFrame, t, mask, reason: str, column: str, id_col: str) -> None:
    """Itemise the rows of ``t`` where ``mask`` holds (ids sorted)."""
    _exclude_many(con, res, t, [(mask, reason, column)], id_col)


def _exclude_many(con, res: pd.DataFrame, t, reasons: list, id_col: str) -> None:
    """Itemise, in one query, the rows of ``t`` for each ``(mask, reason, column)`` (ids sorted;
    a row may be listed under several reasons, as in the pandas functions)."""
    import ibis

    if not reasons:
        return
    flags = {f"_x{i}": m.fill_null(False) for i, (m, _, _) in enumerate(reasons)}
    anyx = ibis.literal(False)
    for f in flags.values():
        anyx = anyx | f
    got = B.execute(con, t.filter(anyx).select(_id=t[id_col].cast("string"), **flags))
    for i, (_, reason, column) in enumerate(reasons):
        ids = got.loc[got[f"_x{i}"].astype(bool), "_id"].astype("str")
        S.add_exclusion(res, reason, column, sorted(ids))


def _proportion(con, t, flag, use, keys: list[str], name: str, level: float, min_n: int,
                extra: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """``n`` usable rows, ``k`` flagged among them; ``k / n`` with a Wilson interval."""
    import ibis

    if use is None:  # every row usable
        aggs = {"n": ibis._.count(), "_k": flag.fill_null(False).cast("int64").sum(), "_rows": ibis._.count()}
    else:
        use = use.fill_null(False)
        aggs = {"n": use.cast("int64").sum(), "_k": (flag.fill_null(False) & use).cast("int64").sum(),
                "_rows": ibis._.count()}
    aggs.update(extra or {})
    q = t.group_by(keys).aggregate(**aggs) if keys else t.aggregate(**aggs)
    res = _sorted(B.execute(con, q), keys)
    n = res["n"].fillna(0).to_numpy(dtype=float)
    k = res["_k"].fillna(0).to_numpy(dtype=float)
    lo, hi = wilson_ci(k, n, level=level)
    with np.errstate(invalid="ignore", divide="ignore"):
        res[name] = np.where(n > 0, k / n, np.nan)
    res[S.CI_LOW], res[S.CI_HIGH] = lo, hi
    res[S.N] = n.astype("int64")
    res[S.N_EXCLUDED] = (res["_rows"].to_numpy(dtype=float) - n).astype("int64")
    res[S.SMALL_SAMPLE] = res[S.N] < min_n
    return res[keys + [S.N, name, S.CI_LOW, S.CI_HIGH, S.N_EXCLUDED, S.SMALL_SAMPLE] + list(extra or {})]


def _not_pandas(engine: Any) -> bool:
    return not (isinstance(engine, str) and engine == "pandas")


# --- surveys ------------------------------------------------------------------------------------
def _surveys(con, t, kind: str, scale: tuple[float, float], conversations, keys: list[str], period):
    """Rows of one survey kind, off-scale scores an error, ``by`` columns joined from
    conversations, and (with ``period``) answers without ``answered_at`` set aside."""
    if period is not None:
        raise _not_aligned(f"period={period!r} on survey KPIs")
    all_kinds = t
    sv = t.filter(t[S.KIND] == kind)
    sv = sv.mutate(**{S.SCORE: _num(sv[S.SCORE])})
    lo, hi = scale
    off = sv[S.SCORE].notnull() & ~sv[S.SCORE].between(lo, hi)
    n_off = int(B.execute(con, sv.filter(off).count()))
    if n_off:
        ex = B.execute(con, sv.filter(off).select(S.CONVERSATION_ID, S.SCORE).limit(10))
        raise DataValidationError(pd.DataFrame([{
            "table": "surveys", "column": S.SCORE, "check": f"{kind} score outside the scale {lo:g}..{hi:g}",
            "n_failed": n_off, "failing_values": list(ex[S.SCORE]), "row_ids": list(ex[S.CONVERSATION_ID].astype("str"))}]))
    missing = [b for b in keys if b not in sv.columns]
    if missing and conversations is not None:
        conv = conversations
        if isinstance(conv, pd.DataFrame):
            conv = S.validate(conv, "conversations")
        ct = B.table(conv, con)
        _check_by_expr(ct, missing, "conversations")
        ct = ct.select(S.CONVERSATION_ID, *missing).rename(_cid=S.CONVERSATION_ID)
        sv = sv.left_join(ct, sv[S.CONVERSATION_ID] == ct._cid).drop("_cid")
    _check_by_expr(sv, keys, "the data (pass conversations=... to group surveys by conversation columns)")
    nat = None
    if period is not None:
        kept = sv.filter(sv[S.ANSWERED_AT].notnull())
        # as the reference (kpis._survey_period_guard): answers of every kind without a time
        nat = all_kinds
    else:
        kept = sv
    kept, pkeys = _with_period_expr(kept, period, S.ANSWERED_AT)
    return sv, kept, keys + pkeys, nat


def _survey_exclusions(con, res, sv, kept, nat) -> None:
    _exclude(con, res, kept, kept[S.SCORE].isnull(), "survey answer without a score", S.SCORE, S.CONVERSATION_ID)
    if nat is not None:
        _exclude(con, res, nat, nat[S.ANSWERED_AT].isnull(), f"no {S.ANSWERED_AT}: answer not placed in a period", S.ANSWERED_AT,
                 S.CONVERSATION_ID)


def _csat_scale(satisfied: Any, scale: Any) -> "K.CsatScale":
    """The reference's CSAT meaning (:class:`qakit.kpis.CsatScale`): a preset or ``(low, high)``
    scale and a satisfied *threshold*; a tuple of answers is refused here (pass the number)."""
    if satisfied is not None and not isinstance(satisfied, (int, float)) or isinstance(satisfied, bool):
        raise ParameterError(f"satisfied must be a threshold number on engines (score >= satisfied); got {satisfied!r}")
    if scale is None:
        base = K.CsatScale.preset("1-5")
    elif isinstance(scale, K.CsatScale):
        base = scale
    elif isinstance(scale, str):
        base = K.CsatScale.preset(scale)
    elif isinstance(scale, (tuple, list)) and len(scale) == 2:
        if satisfied is None:
            raise ParameterError(f"scale={tuple(scale)!r} needs a satisfied threshold (satisfied=...)")
        return K.CsatScale(float(scale[0]), float(scale[1]), satisfied_from=float(satisfied))
    else:
        raise ParameterError(f"scale must be a CsatScale, a preset name or (low, high); got {scale!r}")
    if satisfied is not None:
        return K.CsatScale(base.low, base.high, satisfied_from=float(satisfied))
    return base


def csat_score(source: Any, *, by: str | Sequence[str] | None = None, period: str | None = None,
               satisfied: float | None = None, scale: Any = None,
               conversations: Any = None, level: float = 0.95, min_n: int = MIN_N,
               engine: Any = "duckdb") -> pd.DataFrame:
    """CSAT on an engine, as :func:`qakit.kpis.csat_score`.

    Returns ``*by, n, csat, ci_low, ci_high, csat_mean, n_excluded, small_sample``.

    Notes
    -----
    ``CSAT = 100 k / n`` with ``k`` answers ``>= satisfied_from`` (:class:`qakit.kpis.CsatScale`;
    default the 1-5 scale from 4) among ``n`` answers with a score; Wilson interval on
    ``(k, n)``; ``csat_mean`` the mean score.
    """
    if not _not_pandas(engine):
        return K.csat_score(B.read_pandas(source), by=by, period=period, satisfied=satisfied, scale=scale,
                            conversations=None if conversations is None else B.read_pandas(conversations),
                            level=level, min_n=min_n)
    level = check_level(level)
    cs = _csat_scale(satisfied, scale)
    con, t = _source(source, engine, "surveys")
    sv, kept, keys, nat = _surveys(con, t, "csat", (cs.low, cs.high), conversations, as_by(by), period)
    s = kept[S.SCORE]
    res = _proportion(con, kept, s >= cs.satisfied_from, s.notnull(), keys, K.CSAT, level, min_n,
                      extra={"_m": s.mean()})
    for c in (K.CSAT, S.CI_LOW, S.CI_HIGH):
        res[c] = res[c] * 100
    res[K.CSAT_MEAN] = res["_m"].to_numpy(dtype=float, na_value=np.nan)
    res = res[keys + [S.N, K.CSAT, S.CI_LOW, S.CI_HIGH, K.CSAT_MEAN, S.N_EXCLUDED, S.SMALL_SAMPLE]]
    _survey_exclusions(con, res, sv, kept, nat)
    return res


def nps_score(source: Any, *, by: str | Sequence[str] | None = None, period: str | None = None,
              conversations: Any = None, level: float = 0.95, min_n: int = MIN_N,
              engine: Any = "duckdb") -> pd.DataFrame:
    """NPS on an engine, as :func:`qakit.kpis.nps_score`.

    Notes
    -----
    ``NPS = 100 (p_P - p_D)``, ``se = 100 sqrt((p_P + p_D - (p_P - p_D)^2) / n)``, CI
    ``NPS +/- z se`` clipped to [-100, 100]; the engine returns ``n`` and the three counts.
    """
    if not _not_pandas(engine):
        return K.nps_score(B.read_pandas(source), by=by, period=period,
                           conversations=None if conversations is None else B.read_pandas(conversations),
                           level=level, min_n=min_n)
    level = check_level(level)
    con, t = _source(source, engine, "surveys")
    sv, kept, keys, nat = _surveys(con, t, "nps", (0, 10), conversations, as_by(by), period)
    s = kept[S.SCORE]

    def cnt(e):
        return e.fill_null(False).cast("int64").sum()

    aggs = {"n": cnt(s.notnull()), "_p": cnt(s >= 9), "_d": cnt(s <= 6), "_m": cnt(s.between(7, 8))}
    q = kept.group_by(keys).aggregate(**aggs) if keys else kept.aggregate(**aggs)
    res = _sorted(B.execute(con, q), keys)
    n = res["n"].fillna(0).to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        pp, pdt, pm = (res[c].fillna(0).to_numpy(dtype=float) / n for c in ("_p", "_d", "_m"))
        se = 100 * np.sqrt((pp + pdt - (pp - pdt) ** 2) / n)
    z = stats.norm.ppf((1 + level) / 2)
    res[S.N] = n.astype("int64")
    res[K.NPS] = 100 * (pp - pdt)
    res[S.CI_LOW] = np.clip(res[K.NPS] - z * se, -100, 100)
    res[S.CI_HIGH] = np.clip(res[K.NPS] + z * se, -100, 100)
    res[S.SE] = se
    res[K.PROMOTERS_PCT], res[K.PASSIVES_PCT], res[K.DETRACTORS_PCT] = 100 * pp, 100 * pm, 100 * pdt
    res[S.SMALL_SAMPLE] = res[S.N] < min_n
    res = res[keys + [S.N, K.NPS, S.CI_LOW, S.CI_HIGH, S.SE, K.PROMOTERS_PCT, K.PASSIVES_PCT, K.DETRACTORS_PCT,
                      S.SMALL_SAMPLE]]
    _survey_exclusions(con, res, sv, kept, nat)
    return res


def ces_score(source: Any, *, by: str | Sequence[str] | None = None, period: str | None = None,
              scale: tuple[float, float] = (1, 7), higher_is_better: bool = True, conversations: Any = None,
              level: float = 0.95, min_n: int = MIN_N, engine: Any = "duckdb") -> pd.DataFrame:
    """CES on an engine, as :func:`qakit.kpis.ces_score`: the mean answer (reversed as
    ``min + max - score`` when ``higher_is_better=False``) with a t interval clipped to the scale."""
    if not _not_pandas(engine):
        return K.ces_score(B.read_pandas(source), by=by, period=period, scale=scale,
                           higher_is_better=higher_is_better,
                           conversations=None if conversations is None else B.read_pandas(conversations),
                           level=level, min_n=min_n)
    level = check_level(level)
    con, t = _source(source, engine, "surveys")
    sv, kept, keys, nat = _surveys(con, t, "ces", scale, conversations, as_by(by), period)
    if not higher_is_better:
        kept = kept.mutate(**{S.SCORE: (scale[0] + scale[1]) - kept[S.SCORE]})
    res = _mean_stats(con, kept, kept[S.SCORE], keys)
    res = _mean_result(res, keys, K.CES, level=level, min_n=min_n, clip=tuple(map(float, scale)))
    _survey_exclusions(con, res, sv, kept, nat)
    return res


# --- times --------------------------------------------------------------------------------------
def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """numpy's linear interpolation between neighbours (the ``method="linear"`` quantile)."""
    d = b - a
    out = a + d * t
    return np.where(t >= 0.5, b - d * (1 - t), out)


def _order_stats(con, u, value: str, keys: list[str], level: float) -> pd.DataFrame:
    """Per group the exact median and p90 (linear interpolation, as pandas) and the
    distribution-free median interval ``x_(l), x_(u)`` (Conover), from the <= 8 order
    statistics each needs: ranked in the engine, picked there, interpolated here."""
    import ibis

    z = float(stats.norm.ppf((1 + level) / 2))
    w = dict(group_by=keys) if keys else {}
    r = u.mutate(_i=ibis.row_number().over(order_by=u[value], **w), _n=u[value].count().over(**w))
    n = r._n.cast("float64")
    picks = []
    for q in (0.5, 0.9):
        h = (n - 1) * q
        picks += [h.floor(), h.floor() + 1]
    picks += [(n / 2 - z * n.sqrt() / 2).floor() - 1, (1 + n / 2 + z * n.sqrt() / 2).ceil() - 1, ibis.literal(0.0)]
    cond = ibis.literal(False)
    for p in picks:
        cond = cond | (r._i.cast("float64") == p)
    got = B.execute(con, r.filter(cond).select(*keys, "_i", "_n", value))
    out = []
    groups = got.groupby(keys, sort=False, dropna=False) if keys else [((), got)]
    for key, g in groups:
        nn = int(g["_n"].iloc[0])
        v = dict(zip(g["_i"].astype(int), g[value].astype(float)))
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        for q, name in ((0.5, "_med"), (0.9, "_p90")):
            h = (nn - 1) * q
            lo = int(np.floor(h))
            hi = min(lo + 1, nn - 1)
            row[name] = float(_lerp(np.array(v[lo]), np.array(v[hi]), np.array(h - lo)))
        if nn >= 6:
            lo_i = int(np.floor(nn / 2 - z * np.sqrt(nn) / 2))
            hi_i = int(np.ceil(1 + nn / 2 + z * np.sqrt(nn) / 2))
            row[S.CI_LOW], row[S.CI_HIGH] = v[max(lo_i - 1, 0)], v[min(hi_i - 1, nn - 1)]
        else:
            row[S.CI_LOW] = row[S.CI_HIGH] = np.nan
        out.append(row)
    return pd.DataFrame(out, columns=keys + ["_med", "_p90", S.CI_LOW, S.CI_HIGH])


def _hours(con, t, start: str, end: str):
    """Hours from ``start`` to ``end``: exact microsecond difference / 3.6e9 (as pandas'
    ``total_seconds() / 3600``; time zones and DST do not enter: the values are instants)."""
    us = B.epoch_us(con, t[end]) - B.epoch_us(con, t[start])
    return (us.cast("float64") / 1e6) * K.HOURS_PER_S


def _time_kpi(source, start, end, name, what, open_reason, *, by, period, business_hours, max_hours, level,
              min_n, engine):
    level = check_level(level)
    if business_hours is not None:
        raise ParameterError(
            f"business_hours on engine {engine!r}: business-hour durations are not expressed in qakit.engines; "
            "use engine='pandas' (or business_hours=None for wall-clock hours)")
    if not (isinstance(max_hours, (int, float)) and max_hours > 0):
        raise ParameterError(f"max_hours must be a positive number; got {max_hours!r}")
    con, t = _source(source, engine, "conversations")
    t, keys = _groups(t, by, period, S.CREATED_AT, "data")
    t = t.mutate(_h0=_hours(con, t, start, end))
    missing_end = t[end].isnull()
    negative = (t._h0 < 0).fill_null(False)
    absurd = (t._h0 > max_hours).fill_null(False)
    use = ~(missing_end | negative | absurd)
    import ibis

    t = t.mutate(_h=ibis.ifelse(use, t._h0, ibis.null("float64")))
    res = _mean_stats(con, t, t._h, keys)
    os_ = _order_stats(con, t.filter(t._h.notnull()), "_h", keys, level)
    if keys:
        res = res.merge(os_, on=keys, how="left")
    else:
        res = pd.concat([res, os_.reindex(range(len(res)))], axis=1)
    res[S.N] = res["n"].astype("int64")
    res[name] = res["_med"].to_numpy(dtype=float, na_value=np.nan)
    res[f"{name}_mean"] = res["_mean"].to_numpy(dtype=float, na_value=np.nan)
    res[f"{name}_p90"] = res["_p90"].to_numpy(dtype=float, na_value=np.nan)
    for c in (S.CI_LOW, S.CI_HIGH):
        res[c] = res[c].to_numpy(dtype=float, na_value=np.nan)
    res[S.N_EXCLUDED] = (res["_rows"] - res["n"]).astype("int64")
    res[S.SMALL_SAMPLE] = res[S.N] < min_n
    res = res[keys + [S.N, name, S.CI_LOW, S.CI_HIGH, f"{name}_mean", f"{name}_p90", S.N_EXCLUDED,
                      S.SMALL_SAMPLE]]
    _exclude_many(con, res, t, [(missing_end, open_reason, end), (negative, f"{what}: {end} before {start}", end),
                                (absurd, f"{what}: longer than max_hours={max_hours:g}", end)], S.CONVERSATION_ID)
    return res


def first_response_time(source: Any, *, by: str | Sequence[str] | None = None, period: str | None = None,
                        business_hours: Any = None, max_hours: float = 90 * 24, level: float = 0.95,
                        min_n: int = MIN_N, engine: Any = "duckdb") -> pd.DataFrame:
    """First response time (hours) on an engine, as :func:`qakit.kpis.first_response_time`.

    Returns ``*by, [period], n, first_response_time (median), ci_low, ci_high (median CI),
    first_response_time_mean, first_response_time_p90, n_excluded, small_sample``.
    """
    if not _not_pandas(engine):
        return K.first_response_time(B.read_pandas(source), by=by, period=period, business_hours=business_hours,
                                     max_hours=max_hours, level=level, min_n=min_n)
    return _time_kpi(source, S.CREATED_AT, S.FIRST_RESPONSE_AT, K.FIRST_RESPONSE_TIME, "first response",
                     "no first response yet", by=by, period=period, business_hours=business_hours,
                     max_hours=max_hours, level=level, min_n=min_n, engine=engine)


def resolution_time(source: Any, *, by: str | Sequence[str] | None = None, period: str | None = None,
                    business_hours: Any = None, max_hours: float = 90 * 24, level: float = 0.95,
                    min_n: int = MIN_N, engine: Any = "duckdb") -> pd.DataFrame:
    """Resolution time (hours) on an engine, as :func:`qakit.kpis.resolution_time`."""
    if not _not_pandas(engine):
        return K.resolution_time(B.read_pandas(source), by=by, period=period, business_hours=business_hours,
                                 max_hours=max_hours, level=level, min_n=min_n)
    res = _time_kpi(source, S.CREATED_AT, S.RESOLVED_AT, K.RESOLUTION_TIME, "resolution",
                    "open: not resolved yet", by=by, period=period, business_hours=business_hours,
                    max_hours=max_hours, level=level, min_n=min_n, engine=engine)
    con, t = _source(source, engine, "conversations")
    before = (B.epoch_us(con, t[S.RESOLVED_AT]) < B.epoch_us(con, t[S.FIRST_RESPONSE_AT])).fill_null(False)
    _exclude(con, res, t, before, "flagged (kept): resolved before the first response", S.RESOLVED_AT,
             S.CONVERSATION_ID)
    return res


# --- resolution and contacts --------------------------------------------------------------------
def _rule_resolved(t, statuses: Sequence[str]):
    """Resolved: ``resolved_at`` set, or status (case-insensitive) in ``statuses``."""
    return t[S.RESOLVED_AT].notnull() | t[S.STATUS].lower().isin([s.lower() for s in statuses]).fill_null(False)


def _rule_repeat(t, repeat_days: float):
    """The same customer opened another conversation within ``repeat_days`` after this one
    (next conversation by ``created_at``; unknown customers never repeat)."""
    import ibis

    nxt = t[S.CREATED_AT].lead().over(group_by=t[S.CUSTOMER_ID], order_by=[t[S.CREATED_AT], t[S.CONVERSATION_ID]])
    return t.mutate(_next=nxt), lambda x, con: (
        x[S.CUSTOMER_ID].notnull()
        & ((B.epoch_us(con, x._next) - B.epoch_us(con, x[S.CREATED_AT])) <= int(round(repeat_days * 86400e6)))
    ).fill_null(False)


def fcr_rate(source: Any, *, by: str | Sequence[str] | None = None, period: str | None = None,
             rule: str = "repeat", repeat_days: float = 7, resolved_statuses: Sequence[str] = K.RESOLVED_STATUSES,
             level: float = 0.95, min_n: int = MIN_N, engine: Any = "duckdb") -> pd.DataFrame:
    """First-contact resolution on an engine, as :func:`qakit.kpis.fcr_rate`.

    Notes
    -----
    ``FCR = #(resolved at first contact) / #(resolved)``, Wilson interval; with ``repeat`` the
    last ``repeat_days`` of the data are censored (not judged, itemised). Two conversations of
    one customer created at the same instant are ordered by ``conversation_id`` here (the pandas
    function keeps their row order).
    """
    check_choice("rule", rule, ("repeat", "contacts", "replies"))
    if not _not_pandas(engine):
        return K.fcr_rate(B.read_pandas(source), by=by, period=period, rule=rule, repeat_days=repeat_days,
                          resolved_statuses=resolved_statuses, level=level, min_n=min_n)
    raise _not_aligned("fcr_rate")
    import ibis

    level = check_level(level)
    con, t = _source(source, engine, "conversations")
    t, keys = _groups(t, by, period, S.CREATED_AT, "data")
    resolved = _rule_resolved(t, resolved_statuses)
    reasons = [(~resolved, "open: not resolved yet", S.RESOLVED_AT)]
    use = resolved
    if rule == "replies":
        if S.AGENT_REPLIES not in t.columns:
            raise ParameterError(f"rule='replies' needs an {S.AGENT_REPLIES!r} column")
        r = _num(t[S.AGENT_REPLIES])
        miss = r.isnull() & resolved
        reasons.append((miss, "no agent_replies value", S.AGENT_REPLIES))
        use = use & ~miss
        fcr = (r == 1).fill_null(False)
    else:
        if rule == "contacts" and S.CONTACTS not in t.columns:
            raise ParameterError(f"rule='contacts' needs a {S.CONTACTS!r} column")
        if S.CONTACTS in t.columns:
            c = _num(t[S.CONTACTS])
            miss = c.isnull() & resolved
            reasons.append((miss, "no contacts value", S.CONTACTS))
            use = use & ~miss
            fcr = (c == 1).fill_null(False)
        else:
            fcr = ibis.literal(True)
        if rule == "repeat":
            if isinstance(repeat_days, bool) or not (isinstance(repeat_days, (int, float)) and repeat_days >= 0):
                raise ParameterError(f"repeat_days must be a number >= 0; got {repeat_days!r}")
            t = t.mutate(_res=resolved, _use0=use, _fcr0=fcr)
            t, rep = _rule_repeat(t, repeat_days)
            t = t.mutate(_rep=rep(t, con))
            last = B.execute(con, t.aggregate(_m=B.epoch_us(con, t[S.CREATED_AT]).max()))["_m"].iloc[0]
            window_us = int(round(repeat_days * 86400e6))
            unjudged = (B.epoch_us(con, t[S.CREATED_AT]) > int(last) - window_us) & ~t._rep & t._use0
            reasons = [(~t._res, "open: not resolved yet", S.RESOLVED_AT)] + (
                [(_num(t[S.CONTACTS]).isnull() & t._res, "no contacts value", S.CONTACTS)] if S.CONTACTS in t.columns else [])
            reasons.append((unjudged, f"not judged: fewer than repeat_days={repeat_days:g} days of data after creation",
                            S.CREATED_AT))
            use = t._use0 & ~unjudged
            fcr = t._fcr0 & ~t._rep
    res = _proportion(con, t, fcr, use, keys, K.FCR_RATE, level, min_n)
    _exclude_many(con, res, t, reasons, S.CONVERSATION_ID)
    return res


def escalation_rate(source: Any, *, by: str | Sequence[str] | None = None, period: str | None = None,
                    level: float = 0.95, min_n: int = MIN_N, engine: Any = "duckdb") -> pd.DataFrame:
    """Share of conversations escalated, as :func:`qakit.kpis.escalation_rate` (Wilson interval)."""
    if not _not_pandas(engine):
        return K.escalation_rate(B.read_pandas(source), by=by, period=period, level=level, min_n=min_n)
    level = check_level(level)
    con, t = _source(source, engine, "conversations")
    if S.ESCALATED not in t.columns:
        raise ParameterError(f"escalation_rate needs an {S.ESCALATED!r} column in conversations")
    t, keys = _groups(t, by, period, S.CREATED_AT, "data")
    e = t[S.ESCALATED].cast("boolean")
    res = _proportion(con, t, e, e.notnull(), keys, K.ESCALATION_RATE, level, min_n)
    _exclude(con, res, t, e.isnull(), "escalated unknown", S.ESCALATED, S.CONVERSATION_ID)
    return res


def resolution_rate(source: Any, *, by: str | Sequence[str] | None = None, period: str | None = None,
                    resolved_statuses: Sequence[str] = K.RESOLVED_STATUSES, level: float = 0.95,
                    min_n: int = MIN_N, engine: Any = "duckdb") -> pd.DataFrame:
    """Share of conversations resolved, as :func:`qakit.kpis.resolution_rate`."""
    import ibis

    if not _not_pandas(engine):
        return K.resolution_rate(B.read_pandas(source), by=by, period=period, resolved_statuses=resolved_statuses,
                                 level=level, min_n=min_n)
    level = check_level(level)
    con, t = _source(source, engine, "conversations")
    t, keys = _groups(t, by, period, S.CREATED_AT, "data")
    return _proportion(con, t, _rule_resolved(t, resolved_statuses), None, keys, K.RESOLUTION_RATE,
                       level, min_n)


def sla_attainment(source: Any, *, targets: Mapping[str, float] | None = None, metric: str = "resolution",
                   goal: float = 95.0, by: str | Sequence[str] | None = None, period: str | None = None,
                   as_of: Any = None, level: float = 0.95, min_n: int = MIN_N, engine: Any = "duckdb") -> pd.DataFrame:
    """SLA attainment on an engine, as :func:`qakit.kpis.sla_attainment`.

    Notes
    -----
    Met: done within the priority's target hours; open and past target at ``as_of``: missed;
    open and within target: excluded (itemised). ``met_pct = 100 k / n``, Wilson interval.
    """
    if not _not_pandas(engine):
        return K.sla_attainment(B.read_pandas(source), targets=targets, metric=metric, goal=goal, by=by,
                                period=period, as_of=as_of, level=level, min_n=min_n)
    raise _not_aligned("sla_attainment")
    import ibis

    check_choice("metric", metric, ("resolution", "first_response"))
    targets = dict(K.DEFAULT_SLA_HOURS if targets is None else targets)
    for k, v in targets.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise ParameterError(f"SLA target for priority {k!r} must be a positive number of hours; got {v!r}")
    if not (isinstance(goal, (int, float)) and 0 < goal <= 100):
        raise ParameterError(f"goal must be a percent in (0, 100]; got {goal!r}")
    level = check_level(level)
    con, t = _source(source, engine, "conversations")
    t, keys = _groups(t, by, period, S.CREATED_AT, "data")
    end_col = S.RESOLVED_AT if metric == "resolution" else S.FIRST_RESPONSE_AT
    if as_of is None:
        m = B.execute(con, t.aggregate(**{f"_{i}": B.epoch_us(con, t[c]).max() for i, c in
                                          enumerate((S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT))}))
        as_us = int(np.nanmax(m.iloc[0].to_numpy(dtype=float, na_value=np.nan)))
    else:
        ts = pd.Timestamp(as_of)
        ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
        as_us = int(ts.value // 1000)
    tgt = ibis.cases(*[(t[S.PRIORITY] == k, float(v)) for k, v in targets.items()], else_=ibis.null("float64"))
    hours = _hours(con, t, S.CREATED_AT, end_col)
    elapsed = ((as_us - B.epoch_us(con, t[S.CREATED_AT])).cast("float64") / 1e6) * K.HOURS_PER_S
    t = t.mutate(_tgt=tgt, _hrs=hours, _el=elapsed)
    no_target = t._tgt.isnull()
    negative = (t._hrs < 0).fill_null(False)
    done = t[end_col].notnull() & ~negative
    pending = (t[end_col].isnull() & (t._el <= t._tgt)).fill_null(False)
    met = (done & (t._hrs <= t._tgt)).fill_null(False)
    use = ~no_target & ~negative & ~pending
    gkeys = [S.PRIORITY] + keys
    res = _proportion(con, t, met, use, gkeys, K.MET_PCT, level, min_n)
    for c in (K.MET_PCT, S.CI_LOW, S.CI_HIGH):
        res[c] = res[c] * 100
    res[K.TARGET_H] = res[S.PRIORITY].map(targets).astype(float)
    res[K.GOAL] = float(goal)
    res[K.GOAL_MET] = res[K.MET_PCT] >= goal
    res = res[res[K.TARGET_H].notna()].reset_index(drop=True)
    res = res[gkeys + [S.N, K.MET_PCT, S.CI_LOW, S.CI_HIGH, K.TARGET_H, K.GOAL, K.GOAL_MET, S.N_EXCLUDED,
                       S.SMALL_SAMPLE]]
    _exclude_many(con, res, t, [
        (no_target, f"priority without an SLA target (targets: {sorted(targets)})", S.PRIORITY),
        (negative, f"{end_col} before created_at", end_col),
        (pending & ~no_target, "open and still within target: outcome not known yet", end_col)], S.CONVERSATION_ID)
    return res


def service_level(source: Any, *, threshold_s: float = 20, denominator: str = "offered",
                  by: str | Sequence[str] | None = None, period: str | None = None, level: float = 0.95,
                  min_n: int = MIN_N, engine: Any = "duckdb") -> pd.DataFrame:
    """Call service level on an engine, as :func:`qakit.kpis.service_level`."""
    check_choice("denominator", denominator, ("offered", "answered"))
    if not _not_pandas(engine):
        return K.service_level(B.read_pandas(source), threshold_s=threshold_s, denominator=denominator, by=by,
                               period=period, level=level, min_n=min_n)
    level = check_level(level)
    con, t = _source(source, engine, "calls")
    if S.SPEED_OF_ANSWER_S not in t.columns:
        raise ParameterError(f"service_level needs a {S.SPEED_OF_ANSWER_S!r} column in calls")
    t, keys = _groups(t, by, period, S.CREATED_AT, "data")
    a = t[S.ANSWERED].cast("boolean")
    ans = a.fill_null(False)
    speed = _num(t[S.SPEED_OF_ANSWER_S])
    missing_speed = ans & speed.isnull()
    use = (ans if denominator == "answered" else True) & ~missing_speed & a.notnull()
    in_time = ans & (speed <= threshold_s).fill_null(False)
    res = _proportion(con, t, in_time, use, keys, K.SERVICE_LEVEL, level, min_n)
    _exclude(con, res, t, missing_speed, "answered call without speed of answer", S.SPEED_OF_ANSWER_S, S.CALL_ID)
    return res


_TRUNC = {"D": "D", "W": "W", "M": "M", "Q": "Q", "Y": "Y"}


def backlog(source: Any, *, period: str = "W", by: str | Sequence[str] | None = None,
            engine: Any = "duckdb") -> pd.DataFrame:
    """Open conversations at the end of each period, as :func:`qakit.kpis.backlog`.

    Notes
    -----
    The engine counts conversations opened and closed per group and period (UTC); the running
    ``backlog = cumsum(opened) - cumsum(closed)`` over the full period grid is taken here.
    """
    check_choice("period", period, tuple(_TRUNC))
    if not _not_pandas(engine):
        return K.backlog(B.read_pandas(source), period=period, by=by)
    raise _not_aligned("backlog")
    con, t = _source(source, engine, "conversations")
    keys = as_by(by)
    _check_by_expr(t, keys, "conversations")
    c = t[S.CREATED_AT].cast("timestamp")
    r = t[S.RESOLVED_AT].cast("timestamp")
    lim = B.execute(con, t.aggregate(_c0=c.min(), _c1=c.max(), _r1=r.max()))
    c0, c1, r1 = (pd.Timestamp(lim[k].iloc[0]) for k in ("_c0", "_c1", "_r1"))
    last = max(c1, r1) if not pd.isna(r1) else c1
    starts = pd.period_range(c0.tz_localize(None) if c0.tz else c0, last.tz_localize(None) if last.tz else last,
                             freq=period)
    st = np.asarray(starts.start_time.as_unit("us").asi8)

    def counts(col):
        x = t.filter(col.notnull()).mutate(_p=col.truncate(_TRUNC[period]))
        q = x.group_by([*keys, "_p"]).aggregate(_k=x._p.count())
        return B.execute(con, q)

    op, cl = counts(c), counts(r)
    if keys:
        g = pd.concat([op[keys], cl[keys]]).drop_duplicates()
        g = g[g.notna().all(axis=1)].sort_values(keys).reset_index(drop=True)
    else:
        g = pd.DataFrame(index=[0])
    n_g, n_p = len(g), len(st)

    def grid(d: pd.DataFrame) -> np.ndarray:
        out = np.zeros(n_g * n_p, dtype=np.int64)
        if keys:
            d = d.merge(g.reset_index(names="_g"), on=keys, how="inner")
            gi = d["_g"].to_numpy()
        else:
            gi = np.zeros(len(d), dtype=np.int64)
        pi = np.searchsorted(st, pd.to_datetime(d["_p"]).dt.tz_localize(None).dt.as_unit("us").to_numpy().astype(np.int64))
        np.add.at(out, gi * n_p + pi, d["_k"].to_numpy(dtype=np.int64))
        return out.reshape(n_g, n_p)

    opened, closed = grid(op), grid(cl)
    out = g.loc[g.index.repeat(n_p)].reset_index(drop=True)
    out[K.PERIOD] = np.tile(starts.start_time, n_g)
    out[K.PERIOD_END] = np.tile(starts.end_time, n_g)
    out[K.OPENED] = opened.ravel().astype("int64")
    out[K.CLOSED] = closed.ravel().astype("int64")
    out[K.BACKLOG] = (opened.cumsum(axis=1) - closed.cumsum(axis=1)).ravel().astype("int64")
    return out[keys + [K.PERIOD, K.PERIOD_END, K.OPENED, K.CLOSED, K.BACKLOG]]


# --- the public API: wrapped by qakit._public.public (shared parameters checked by name; every
# result stamped with its exclusion record) -------------------------------------------------------
__all__ = ["csat_score", "nps_score", "ces_score", "first_response_time", "resolution_time", "fcr_rate",
           "escalation_rate", "resolution_rate", "sla_attainment", "service_level", "backlog"]

from .._public import wrap_all  # noqa: E402  (at the end: wraps the functions defined above)

wrap_all(globals())
