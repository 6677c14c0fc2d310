"""Headline customer KPIs as Ibis expressions, mirroring :mod:`qakit.kpis` rule for rule.

Each KPI pushes only per-group counts, sums, means and sample sds (and, for times, the few
order statistics the median, p90 and median interval need) through the engine; Wilson and t
intervals are computed on the small result with :mod:`qakit.intervals`. Excluded rows are
itemised on the result with the reference's reasons and ids (ids sorted: an engine has no row
order), adjustments too.

The reference's rules are reused, not rewritten, wherever they act on a handful of values:
``as_of`` and ``partial`` (:func:`qakit.kpis._as_of`, :func:`qakit.kpis._mark_partial` on the
data's first/last timestamps, two numbers from the engine), CSAT (:func:`qakit.kpis.csat_definition`),
SLA targets, and the matching of statuses and priorities ignoring case, whitespace and Unicode
form (the column's distinct values are fetched and matched by :func:`qakit.kpis._label_keys`, then
compared as stored -- exact where SQL ``lower()`` is not). Periods are UTC periods (the
connections made here run in UTC).

Not expressed here (a clear :class:`~qakit.errors.ParameterError` naming it instead): business
hours. Approximation (documented in :func:`fcr_rate`): two conversations of one customer created
at the same instant are ordered by ``conversation_id``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .. import kpis as K
from .. import schema as S
from ..errors import DataValidationError, ParameterError, check_choice, check_number
from ..intervals import MIN_N, as_by, check_level, wilson_ci
from . import _backend as B
from .scoring import _check_by_expr, _mean_result, _mean_stats, _num, _sorted, _with_period_expr


# --- plumbing -----------------------------------------------------------------------------------
def _source(source: Any, engine: Any, table: str):
    con = B.connection(engine)
    if isinstance(source, pd.DataFrame):
        source = S.validate(source, table)
    return con, B.table(source, con)


def _groups(t, by, period, time_col, table):
    keys = as_by(by)
    _check_by_expr(t, keys, table)
    t, pkeys = _with_period_expr(t, period, time_col)
    return t, keys + pkeys


_CONV_TIMES = (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT)


def _utc(v) -> pd.Timestamp:
    """An engine's naive-UTC timestamp as a tz-aware UTC pandas Timestamp (NaT stays NaT)."""
    if v is None or pd.isna(v):
        return pd.NaT
    ts = pd.Timestamp(v)
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def _maxima(con, t, columns: Sequence[str], first: str | None = None) -> tuple[pd.DataFrame, Any]:
    """One row of the latest value of each of ``columns`` (UTC; the input of
    :func:`qakit.kpis._as_of`) and the earliest ``first``, from one aggregate query."""
    cols = [c for c in columns if c in t.columns]
    aggs = {f"_m{i}": t[c].cast("timestamp").max() for i, c in enumerate(cols)}
    if first is not None:
        aggs["_first"] = t[first].cast("timestamp").min()
    got = B.execute(con, t.aggregate(**aggs)).iloc[0]
    frame = pd.DataFrame({c: pd.Series([_utc(got[f"_m{i}"])], dtype="datetime64[us, UTC]")
                          for i, c in enumerate(cols)})
    return frame, (_utc(got["_first"]) if first is not None else None)


def _as_of(con, t, as_of, columns: Sequence[str] = _CONV_TIMES) -> pd.Timestamp:
    """``as_of`` as :func:`qakit.kpis._as_of` reads it (default: the data's latest timestamp)."""
    if as_of is not None:
        return K._as_of(as_of, pd.DataFrame(), columns)
    frame, _ = _maxima(con, t, columns)
    return K._as_of(None, frame, columns)


def _partial(con, res: pd.DataFrame, t, period, first: str, last: Sequence[str], as_of=None) -> pd.DataFrame:
    """The ``partial`` column of a ``period=`` result, by :func:`qakit.kpis._mark_partial` on the
    data's first ``first`` and its end (``as_of``, else the latest of ``last``): two numbers
    from the engine, the rule applied here to the small result."""
    if period is None:
        return res
    frame, lo = _maxima(con, t, last, first)
    end = K._as_of(as_of, frame, last)
    return K._mark_partial(res, period, lo, end, explicit_end=as_of is not None)


def _ts_us(ts: pd.Timestamp) -> int:
    """Microseconds since the epoch of a UTC timestamp (floor: data are microsecond precise)."""
    return int(ts.value // 1000)


def _distinct(con, t, column: str) -> list:
    """The distinct values of a label column (statuses, priorities: a handful), for matching them
    here with the reference's rules (:func:`qakit.kpis._label_keys`)."""
    return B.execute(con, t.select(column).distinct())[column].tolist()


def _hashable(v):
    return None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else v


def _in_values(col, values: list):
    """``col`` in ``values`` (null handled: ``None`` in ``values`` matches a null)."""
    import ibis

    vals = [v for v in values if _hashable(v) is not None]
    e = col.isin(vals) if vals else ibis.literal(False)
    if any(_hashable(v) is None for v in values):
        e = e | col.isnull()
    return e.fill_null(False)


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
def _surveys(con, t, kind: str, scale: tuple[float, float], check: str, conversations, keys: list[str], period):
    """As the reference (``kpis._survey_period_guard`` then ``kpis._survey_rows``): with
    ``period``, an answer without ``answered_at`` is placed by its conversation's ``created_at``
    when ``conversations`` is given, else set aside (answers of every kind); then the rows of one
    kind, off-scale scores an error, ``by`` columns joined from conversations.

    Returns ``(all, kept, keys)``: every answer (flags ``_unplaced``, ``_placed``) and the usable
    rows of ``kind`` with their group keys."""
    import ibis

    missing = [b for b in keys if b not in t.columns]
    base = t
    if conversations is not None and (missing or period is not None):
        conv = conversations
        if isinstance(conv, pd.DataFrame):
            conv = S.validate(conv, "conversations")
        ct = B.table(conv, con)
        if missing:
            _check_by_expr(ct, missing, "conversations")
        sel = {"_cid": ct[S.CONVERSATION_ID], **{c: ct[c] for c in missing}}
        if period is not None:
            sel["_created"] = ct[S.CREATED_AT].cast("timestamp")
        ct = ct.select(**sel)
        base = t.left_join(ct, t[S.CONVERSATION_ID] == ct._cid).drop("_cid")
    if period is not None:
        nat = base[S.ANSWERED_AT].isnull()
        placed = (nat & base._created.notnull()) if "_created" in base.columns else ibis.literal(False)
        at = base[S.ANSWERED_AT].cast("timestamp")
        if "_created" in base.columns:
            at = ibis.ifelse(placed, base._created, at)
        base = base.mutate(**{S.ANSWERED_AT: at}, _placed=placed, _unplaced=nat & ~placed)
        rows = base.filter(~base._unplaced)
    else:
        rows = base
    sv = rows.filter(rows[S.KIND] == kind)
    sv = sv.mutate(**{S.SCORE: _num(sv[S.SCORE])})
    lo, hi = scale
    off = sv[S.SCORE].notnull() & ~sv[S.SCORE].between(lo, hi)
    n_off = int(B.execute(con, sv.filter(off).count()))
    if n_off:
        ex = B.execute(con, sv.filter(off).select(S.CONVERSATION_ID, S.SCORE).limit(10))
        raise DataValidationError(pd.DataFrame([{
            "table": "surveys", "column": S.SCORE, "check": check,
            "n_failed": n_off, "failing_values": list(ex[S.SCORE]), "row_ids": list(ex[S.CONVERSATION_ID].astype("str"))}]))
    _check_by_expr(sv, keys, "the data (pass conversations=... to group surveys by conversation columns)")
    kept, pkeys = _with_period_expr(sv, period, S.ANSWERED_AT)
    return base, kept, keys + pkeys


def _survey_finish(con, res, t, base, kept, period) -> pd.DataFrame:
    """The reference's records, in its order: answers without a score, then (with ``period``)
    answers not placed in a period (itemised) and those placed by their conversation
    (adjusted); then ``partial``."""
    _exclude(con, res, kept, kept[S.SCORE].isnull(), "survey answer without a score", S.SCORE, S.CONVERSATION_ID)
    if period is not None:
        got = B.execute(con, base.filter(base._unplaced | base._placed.fill_null(False)).select(
            _id=base[S.CONVERSATION_ID].cast("string"), _u=base._unplaced, _p=base._placed))
        S.add_exclusion(res, f"no {S.ANSWERED_AT}: answer not placed in a period", S.ANSWERED_AT,
                        sorted(got.loc[got["_u"].astype(bool), "_id"].astype("str")))
        S.add_adjustment(res, f"no {S.ANSWERED_AT}: placed in a period by its conversation's {S.CREATED_AT}",
                         S.ANSWERED_AT, sorted(got.loc[got["_p"].fillna(False).astype(bool), "_id"].astype("str")))
    return _partial(con, res, t, period, S.ANSWERED_AT, (S.ANSWERED_AT,))


def csat_score(source: Any, *, by: str | Sequence[str] | None = None, period: str | None = None,
               satisfied: Any = None, scale: Any = None,
               conversations: Any = None, level: float = 0.95, min_n: int = MIN_N,
               engine: Any = "duckdb") -> pd.DataFrame:
    """CSAT on an engine, as :func:`qakit.kpis.csat_score`.

    Returns ``*by, [period], n, csat, ci_low, ci_high, csat_mean, n_excluded, small_sample,
    [partial]``.

    Notes
    -----
    ``CSAT = 100 k / n`` with ``k`` answers ``>= satisfied_from`` among the ``n`` answers with a
    score; the definition is the reference's own (:func:`qakit.kpis.csat_definition`: a preset or
    :class:`~qakit.kpis.CsatScale`, a threshold, fractional answers classed by it); Wilson
    interval on ``(k, n)`` computed here; ``csat_mean`` the mean score. The engine returns per
    group ``n``, ``k``, the row count and the mean.

    Examples
    --------
    >>> sv = pd.DataFrame({"conversation_id": list("abcde"), "kind": "csat",
    ...                    "score": [5.0, 4.5, 3, 1, 5], "answered_at": None})
    >>> csat_score(sv)[["n", "csat", "csat_mean"]]  # 3 of 5 from 4 up (4.5 too); mean 18.5/5
       n  csat  csat_mean
    0  5  60.0        3.7
    """
    if not _not_pandas(engine):
        return K.csat_score(B.read_pandas(source), by=by, period=period, satisfied=satisfied, scale=scale,
                            conversations=None if conversations is None else B.read_pandas(conversations),
                            level=level, min_n=min_n)
    level = check_level(level)
    cs = K.csat_definition(scale, satisfied)
    con, t = _source(source, engine, "surveys")
    hint = "; pass scale=, e.g. scale='1-10' or scale=CsatScale(0, 10, satisfied_from=9)"
    base, kept, keys = _surveys(con, t, "csat", (cs.low, cs.high), f"csat score outside the scale {cs.label}{hint}",
                                conversations, as_by(by), period)
    s = kept[S.SCORE]
    res = _proportion(con, kept, s >= cs.satisfied_from, s.notnull(), keys, K.CSAT, level, min_n,
                      extra={"_m": s.mean()})
    for c in (K.CSAT, S.CI_LOW, S.CI_HIGH):
        res[c] = res[c] * 100
    res[K.CSAT_MEAN] = res["_m"].to_numpy(dtype=float, na_value=np.nan)
    res = res[keys + [S.N, K.CSAT, S.CI_LOW, S.CI_HIGH, K.CSAT_MEAN, S.N_EXCLUDED, S.SMALL_SAMPLE]]
    return _survey_finish(con, res, t, base, kept, period)


def nps_score(source: Any, *, by: str | Sequence[str] | None = None, period: str | None = None,
              conversations: Any = None, level: float = 0.95, min_n: int = MIN_N,
              engine: Any = "duckdb") -> pd.DataFrame:
    """NPS on an engine, as :func:`qakit.kpis.nps_score`.

    Notes
    -----
    Classes by threshold, as the reference (fractional answers too): detractor ``s < 7``,
    passive ``7 <= s < 9``, promoter ``s >= 9``. ``NPS = 100 (p_P - p_D)``,
    ``se = 100 sqrt((p_P + p_D - (p_P - p_D)^2) / n)``, CI ``NPS +/- z se`` clipped to
    [-100, 100]; the engine returns ``n`` and the three counts, the rest is computed here.

    Examples
    --------
    >>> sv = pd.DataFrame({"conversation_id": list("abcd"), "kind": "nps", "answered_at": None,
    ...                    "score": [10.0, 9.5, 8.5, 6.5]})
    >>> nps_score(sv)[["n", "nps", "passives_pct"]]  # 2 P, 1 passive (8.5), 1 D (6.5)
       n   nps  passives_pct
    0  4  25.0          25.0
    """
    if not _not_pandas(engine):
        return K.nps_score(B.read_pandas(source), by=by, period=period,
                           conversations=None if conversations is None else B.read_pandas(conversations),
                           level=level, min_n=min_n)
    level = check_level(level)
    con, t = _source(source, engine, "surveys")
    base, kept, keys = _surveys(con, t, "nps", (0, 10), "nps score outside the scale 0..10", conversations,
                                as_by(by), period)
    s = kept[S.SCORE]

    def cnt(e):
        return e.fill_null(False).cast("int64").sum()

    hi, lo = K.NPS_PROMOTER_FROM, K.NPS_DETRACTOR_BELOW
    aggs = {"n": cnt(s.notnull()), "_p": cnt(s >= hi), "_d": cnt(s < lo), "_m": cnt((s >= lo) & (s < hi))}
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
    return _survey_finish(con, res, t, base, kept, period)


def ces_score(source: Any, *, by: str | Sequence[str] | None = None, period: str | None = None,
              scale: tuple[float, float] = (1, 7), higher_is_better: bool = True, conversations: Any = None,
              level: float = 0.95, min_n: int = MIN_N, engine: Any = "duckdb") -> pd.DataFrame:
    """CES on an engine, as :func:`qakit.kpis.ces_score`.

    Notes
    -----
    The mean answer (reversed as ``min + max - score`` when ``higher_is_better=False``) with a
    Student-t interval ``mean +/- t_{n-1} sd / sqrt(n)`` clipped to the scale; the engine
    returns ``n``, the mean and the sample sd per group.

    Examples
    --------
    >>> sv = pd.DataFrame({"conversation_id": list("abcd"), "kind": "ces", "answered_at": None,
    ...                    "score": [7.0, 6, 5, 2]})
    >>> float(ces_score(sv, higher_is_better=False)["ces"].iloc[0])  # 8 - 20/4
    3.0
    """
    if not _not_pandas(engine):
        return K.ces_score(B.read_pandas(source), by=by, period=period, scale=scale,
                           higher_is_better=higher_is_better,
                           conversations=None if conversations is None else B.read_pandas(conversations),
                           level=level, min_n=min_n)
    level = check_level(level)
    scale = K._ces_scale(scale, higher_is_better)
    con, t = _source(source, engine, "surveys")
    base, kept, keys = _surveys(con, t, "ces", scale, f"ces score outside the scale {scale[0]:g}..{scale[1]:g}",
                                conversations, as_by(by), period)
    if not higher_is_better:
        kept = kept.mutate(**{S.SCORE: (scale[0] + scale[1]) - kept[S.SCORE]})
    res = _mean_stats(con, kept, kept[S.SCORE], keys)
    res = _mean_result(res, keys, K.CES, level=level, min_n=min_n, clip=tuple(map(float, scale)))
    return _survey_finish(con, res, t, base, kept, period)


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
    check_number("max_hours", max_hours, low=0, low_open=True)
    con, t0 = _source(source, engine, "conversations")
    t, keys = _groups(t0, by, period, S.CREATED_AT, "data")
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
    return _partial(con, res, t0, period, S.CREATED_AT, _CONV_TIMES)


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
def _status_in(con, t, statuses: Sequence[str]):
    """``status`` in ``statuses`` ignoring case, whitespace and Unicode form: the reference's own
    :func:`qakit.kpis._is_resolved` run on the column's distinct values (a handful), the matching
    ones then compared as they are stored -- exact where SQL's lower() is not."""
    vals = _distinct(con, t, S.STATUS)
    d = pd.DataFrame({S.STATUS: pd.Series(vals, dtype=object), S.RESOLVED_AT: pd.NaT})
    yes = K._is_resolved(d, statuses).to_numpy(dtype=bool)  # also checks statuses
    return _in_values(t[S.STATUS], [v for v, y in zip(vals, yes) if y])


def _rule_resolved(con, t, statuses: Sequence[str]):
    """Resolved, as :func:`qakit.kpis._is_resolved`: ``resolved_at`` set, or a resolved status."""
    return t[S.RESOLVED_AT].notnull() | _status_in(con, t, statuses)


def fcr_rate(source: Any, *, by: str | Sequence[str] | None = None, period: str | None = None,
             rule: str = "repeat", repeat_days: float = 7, resolved_statuses: Sequence[str] = K.RESOLVED_STATUSES,
             as_of: Any = None, level: float = 0.95, min_n: int = MIN_N, engine: Any = "duckdb") -> pd.DataFrame:
    """First-contact resolution on an engine, as :func:`qakit.kpis.fcr_rate`.

    Returns ``*by, [period], n, fcr_rate, ci_low, ci_high, n_excluded, small_sample, [partial]``.

    Notes
    -----
    ``FCR = #(resolved at first contact) / #(resolved and judged)``, Wilson interval computed
    here from the engine's per-group counts. ``repeat``: the customer's next conversation (a
    window function ordered by ``created_at``) starting within ``repeat_days`` is a repeat;
    censored at ``as_of`` (default the data's latest timestamp): a conversation whose window
    ``created_at + repeat_days`` runs past ``as_of`` is not judged either way and itemised.
    Differences are taken in integer microseconds. Approximation: two conversations of one
    customer created at the same instant are ordered by ``conversation_id`` here (an engine has
    no row order; the pandas function keeps their row order).

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": ["a", "b", "c"], "customer_id": ["x", "x", "y"],
    ...     "agent_id": "g", "channel": "email", "priority": "normal", "status": "solved",
    ...     "created_at": ["2026-01-01 00:00Z", "2026-01-03 00:00Z", "2026-01-01 00:00Z"], "first_response_at": None,
    ...     "resolved_at": ["2026-01-01 00:00Z", "2026-01-03 00:00Z", "2026-01-01 00:00Z"]})
    >>> fcr_rate(conv, repeat_days=1)[["n", "fcr_rate"]]  # x back after 2 days > 1; b too recent to judge
       n  fcr_rate
    0  2       1.0
    """
    check_choice("rule", rule, ("repeat", "contacts", "replies"))
    if not _not_pandas(engine):
        return K.fcr_rate(B.read_pandas(source), by=by, period=period, rule=rule, repeat_days=repeat_days,
                          resolved_statuses=resolved_statuses, as_of=as_of, level=level, min_n=min_n)
    import ibis

    level = check_level(level)
    con, t0 = _source(source, engine, "conversations")
    t, keys = _groups(t0, by, period, S.CREATED_AT, "data")
    resolved = _rule_resolved(con, t, resolved_statuses)
    t = t.mutate(_res=resolved)
    reasons = [(~t._res, "open: not resolved yet", S.RESOLVED_AT)]
    use = t._res
    if rule == "replies":
        if S.AGENT_REPLIES not in t.columns:
            raise ParameterError(f"rule='replies' needs an {S.AGENT_REPLIES!r} column")
        r = _num(t[S.AGENT_REPLIES])
        miss = r.isnull() & t._res
        reasons.append((miss, "no agent_replies value", S.AGENT_REPLIES))
        use = use & ~miss
        fcr = (r == 1).fill_null(False)
    else:
        if rule == "contacts" and S.CONTACTS not in t.columns:
            raise ParameterError(f"rule='contacts' needs a {S.CONTACTS!r} column")
        if S.CONTACTS in t.columns:
            c = _num(t[S.CONTACTS])
            miss = c.isnull() & t._res
            reasons.append((miss, "no contacts value", S.CONTACTS))
            use = use & ~miss
            fcr = (c == 1).fill_null(False)
        else:
            fcr = ibis.literal(True)
        if rule == "repeat":
            check_number("repeat_days", repeat_days, low=0, low_open=True)
            window_ns = int(pd.Timedelta(days=repeat_days).value)
            cut = _as_of(con, t0, as_of)
            t = t.mutate(_use0=use, _fcr0=fcr)
            created_us = B.epoch_us(con, t[S.CREATED_AT])
            nxt = t[S.CREATED_AT].lead().over(group_by=t[S.CUSTOMER_ID],
                                              order_by=[t[S.CREATED_AT], t[S.CONVERSATION_ID]])
            t = t.mutate(_gap=B.epoch_us(con, nxt) - created_us, _cus=created_us)
            # (next - created) <= window, in ns as pandas' Timedelta: gap_us <= floor(window_ns / 1000)
            rep = (t[S.CUSTOMER_ID].notnull() & (t._gap <= window_ns // 1000)).fill_null(False)
            if pd.isna(cut):
                unjudged = ibis.literal(False)
            else:  # created + window > as_of  <=>  created_us > floor((as_of_ns - window_ns) / 1000)
                unjudged = (t._cus > (int(cut.value) - window_ns) // 1000).fill_null(False) & t._use0
            t = t.mutate(_rep=rep, _unj=unjudged)
            reasons = [(~t._res, "open: not resolved yet", S.RESOLVED_AT)] + (
                [(_num(t[S.CONTACTS]).isnull() & t._res, "no contacts value", S.CONTACTS)]
                if S.CONTACTS in t.columns else [])
            reasons.append((t._unj, f"not judged: repeat window (repeat_days={repeat_days:g}) not complete by "
                                    f"as_of {cut:%Y-%m-%d %H:%M} UTC", S.CREATED_AT))
            use = t._use0 & ~t._unj
            fcr = t._fcr0 & ~t._rep
    res = _proportion(con, t, fcr, use, keys, K.FCR_RATE, level, min_n)
    _exclude_many(con, res, t, reasons, S.CONVERSATION_ID)
    return _partial(con, res, t0, period, S.CREATED_AT, _CONV_TIMES, as_of)


def escalation_rate(source: Any, *, by: str | Sequence[str] | None = None, period: str | None = None,
                    level: float = 0.95, min_n: int = MIN_N, engine: Any = "duckdb") -> pd.DataFrame:
    """Share of conversations escalated, as :func:`qakit.kpis.escalation_rate`.

    Notes
    -----
    ``k / n`` with ``n`` conversations whose ``escalated`` is known, Wilson interval computed
    here from the engine's counts; unknown ones itemised.
    """
    if not _not_pandas(engine):
        return K.escalation_rate(B.read_pandas(source), by=by, period=period, level=level, min_n=min_n)
    level = check_level(level)
    con, t0 = _source(source, engine, "conversations")
    if S.ESCALATED not in t0.columns:
        raise ParameterError(f"escalation_rate needs an {S.ESCALATED!r} column in conversations")
    t, keys = _groups(t0, by, period, S.CREATED_AT, "data")
    e = t[S.ESCALATED].cast("boolean")
    res = _proportion(con, t, e, e.notnull(), keys, K.ESCALATION_RATE, level, min_n)
    _exclude(con, res, t, e.isnull(), "escalated unknown", S.ESCALATED, S.CONVERSATION_ID)
    return _partial(con, res, t0, period, S.CREATED_AT, _CONV_TIMES)


def resolution_rate(source: Any, *, by: str | Sequence[str] | None = None, period: str | None = None,
                    resolved_statuses: Sequence[str] = K.RESOLVED_STATUSES, level: float = 0.95,
                    min_n: int = MIN_N, engine: Any = "duckdb") -> pd.DataFrame:
    """Share of conversations resolved, as :func:`qakit.kpis.resolution_rate` (``resolved_at``
    set or a status in ``resolved_statuses``, matched as the reference does); Wilson interval."""
    if not _not_pandas(engine):
        return K.resolution_rate(B.read_pandas(source), by=by, period=period, resolved_statuses=resolved_statuses,
                                 level=level, min_n=min_n)
    level = check_level(level)
    con, t0 = _source(source, engine, "conversations")
    t, keys = _groups(t0, by, period, S.CREATED_AT, "data")
    res = _proportion(con, t, _rule_resolved(con, t, resolved_statuses), None, keys, K.RESOLUTION_RATE,
                      level, min_n)
    return _partial(con, res, t0, period, S.CREATED_AT, _CONV_TIMES)


def sla_attainment(source: Any, *, targets: Mapping[str, float] | None = None, metric: str = "resolution",
                   goal: float = 95.0, by: str | Sequence[str] | None = None, period: str | None = None,
                   as_of: Any = None, level: float = 0.95, min_n: int = MIN_N, engine: Any = "duckdb") -> pd.DataFrame:
    """SLA attainment on an engine, as :func:`qakit.kpis.sla_attainment`.

    Returns ``priority, *by, [period], n, met_pct, ci_low, ci_high, target_h, goal, goal_met,
    n_excluded, small_sample, [partial]``.

    Notes
    -----
    The reference's rules: priorities matched to targets ignoring case, whitespace and Unicode
    form (the distinct priorities are fetched and matched here with the reference's function;
    relabelled rows recorded as adjustments); at ``as_of`` (default the data's latest
    timestamp), an end after ``as_of`` has not happened yet; done within target hours: met;
    open and past target: missed; open and within target: excluded (censored); created after
    ``as_of``: not judged; a resolved status without ``resolved_at``: not judged.
    ``met_pct = 100 k / n``, Wilson interval computed here from the engine's counts.

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": list("abc"), "customer_id": "x", "agent_id": "y",
    ...     "channel": "chat", "priority": "High", "status": ["solved", "solved", "open"],
    ...     "created_at": "2026-01-05 09:00Z", "first_response_at": None,
    ...     "resolved_at": ["2026-01-05 10:00Z", "2026-01-05 15:00Z", None]})
    >>> sla_attainment(conv, as_of="2026-01-06 00:00Z")[["priority", "n", "met_pct"]]  # 1 of 3 in 4 h
      priority  n    met_pct
    0     high  3  33.333333
    """
    check_choice("metric", metric, ("resolution", "first_response"))
    if not _not_pandas(engine):
        return K.sla_attainment(B.read_pandas(source), targets=targets, metric=metric, goal=goal, by=by,
                                period=period, as_of=as_of, level=level, min_n=min_n)
    import ibis

    given = targets is not None
    tmap = K._sla_targets(targets)
    level = check_level(level)
    con, t0 = _source(source, engine, "conversations")
    t, keys = _groups(t0, by, period, S.CREATED_AT, "data")
    end_col = S.RESOLVED_AT if metric == "resolution" else S.FIRST_RESPONSE_AT
    cut = _as_of(con, t0, as_of)
    # priorities: the distinct values matched here by the reference's rule (a handful of labels)
    vals = _distinct(con, t, S.PRIORITY)
    pkey = dict(zip(map(_hashable, vals), K._label_keys(pd.Series(vals, dtype=object)).tolist() if vals else []))
    hours_of = {k: h for k, (_, h) in tmap.items()}
    name_of = {k: name for k, (name, _) in tmap.items()}
    matched = [(v, name_of[pkey[_hashable(v)]], hours_of[pkey[_hashable(v)]]) for v in vals
               if _hashable(v) is not None and pkey[_hashable(v)] in tmap]
    if given:
        unused = sorted(name for k, (name, _) in tmap.items() if k not in set(pkey.values()))
        if unused:
            labels = sorted({name_of.get(pkey[_hashable(v)], v) for v in vals if _hashable(v) is not None})
            warnings.warn(f"SLA target(s) {unused} match no priority in the data (priorities: {labels[:10]})",
                          K.UnmatchedTargetWarning, stacklevel=3)
    p = t[S.PRIORITY]
    if matched:
        tgt = ibis.cases(*[(p == v, h) for v, _, h in matched], else_=ibis.null("float64"))
        label = ibis.cases(*[(p == v, name) for v, name, _ in matched], else_=p)
    else:
        tgt, label = ibis.null("float64"), p
    relabelled = [v for v, name, _ in matched if name != v]
    if pd.isna(cut):
        raise ParameterError("sla_attainment: no timestamp in the data to judge open conversations at; pass as_of=")
    cut_us = _ts_us(cut)
    e_us = B.epoch_us(con, t[end_col])
    c_us = B.epoch_us(con, t[S.CREATED_AT])
    end_ok = t[end_col].notnull() & (e_us <= cut_us)  # an end after as_of has not happened yet
    hours = ibis.ifelse(end_ok, ((e_us - c_us).cast("float64") / 1e6) * K.HOURS_PER_S, ibis.null("float64"))
    elapsed = ((cut_us - c_us).cast("float64") / 1e6) * K.HOURS_PER_S
    t = t.mutate(_tgt=tgt, _hrs=hours, _el=elapsed, _rel=_in_values(p, relabelled), **{S.PRIORITY: label},
                 _pk=p)
    no_target = t._tgt.isnull()
    negative = (t._hrs < 0).fill_null(False)
    done = t._hrs.notnull() & ~negative
    later = (c_us > cut_us).fill_null(False)
    pending = (t._hrs.isnull() & (t._el <= t._tgt)).fill_null(False) & ~later
    met = (done & (t._hrs <= t._tgt)).fill_null(False)
    if metric == "resolution":
        contradicts = (_status_in(con, t, K.RESOLVED_STATUSES) & t[S.RESOLVED_AT].isnull()).fill_null(False)
    else:
        contradicts = ibis.literal(False)
    use = ~no_target & ~negative & ~pending & ~later & ~contradicts
    gkeys = [S.PRIORITY] + keys
    res = _proportion(con, t, met, use, gkeys, K.MET_PCT, level, min_n)
    for c in (K.MET_PCT, S.CI_LOW, S.CI_HIGH):
        res[c] = res[c] * 100
    res[K.TARGET_H] = res[S.PRIORITY].map({name: h for name, h in tmap.values()}).astype(float)
    res[K.GOAL] = float(goal)
    res[K.GOAL_MET] = res[K.MET_PCT] >= goal
    res = res[res[K.TARGET_H].notna()].reset_index(drop=True)
    res = res[gkeys + [S.N, K.MET_PCT, S.CI_LOW, S.CI_HIGH, K.TARGET_H, K.GOAL, K.GOAL_MET, S.N_EXCLUDED,
                       S.SMALL_SAMPLE]]
    targets_txt = sorted(n for n, _ in tmap.values())
    unmatched = sorted({pkey[_hashable(v)] if _hashable(v) is not None else "none" for v in vals
                        if _hashable(v) is None or pkey[_hashable(v)] not in tmap})
    reasons = [(no_target & _in_values(t._pk, [v for v in vals if (pkey[_hashable(v)] if _hashable(v) is not None
                                                                  else "none") == k]),
                f"no SLA target for priority {k!r} (targets: {targets_txt})", S.PRIORITY) for k in unmatched]
    reasons += [
        (negative, f"{end_col} before created_at", end_col),
        (pending & ~no_target, f"open and still within target at as_of {cut:%Y-%m-%d %H:%M} UTC: "
                               "outcome not known yet (censored)", end_col),
        (later & ~no_target, f"created after as_of {cut:%Y-%m-%d %H:%M} UTC: not judged", S.CREATED_AT),
        (contradicts & ~no_target & ~later,
         f"status says resolved ({', '.join(K.RESOLVED_STATUSES)}) but resolved_at is missing: not judged",
         S.RESOLVED_AT)]
    _exclude_many(con, res, t, reasons, S.CONVERSATION_ID)
    if relabelled:
        got = B.execute(con, t.filter(t._rel).select(_id=t[S.CONVERSATION_ID].cast("string")))
        S.add_adjustment(res, "priority matched to its SLA target ignoring case and whitespace", S.PRIORITY,
                         sorted(got["_id"].astype("str")))
    return _partial(con, res, t0, period, S.CREATED_AT, _CONV_TIMES, as_of)


def service_level(source: Any, *, threshold_s: float = 20, denominator: str = "offered",
                  by: str | Sequence[str] | None = None, period: str | None = None, level: float = 0.95,
                  min_n: int = MIN_N, engine: Any = "duckdb") -> pd.DataFrame:
    """Call service level on an engine, as :func:`qakit.kpis.service_level`.

    Notes
    -----
    ``k / n``: calls answered within ``threshold_s`` over offered (or answered) calls; answered
    calls without a speed of answer itemised; Wilson interval computed here.
    """
    check_choice("denominator", denominator, ("offered", "answered"))
    if not _not_pandas(engine):
        return K.service_level(B.read_pandas(source), threshold_s=threshold_s, denominator=denominator, by=by,
                               period=period, level=level, min_n=min_n)
    level = check_level(level)
    con, t0 = _source(source, engine, "calls")
    if S.SPEED_OF_ANSWER_S not in t0.columns:
        raise ParameterError(f"service_level needs a {S.SPEED_OF_ANSWER_S!r} column in calls")
    t, keys = _groups(t0, by, period, S.CREATED_AT, "data")
    a = t[S.ANSWERED].cast("boolean")
    ans = a.fill_null(False)
    speed = _num(t[S.SPEED_OF_ANSWER_S])
    missing_speed = ans & speed.isnull()
    use = (ans if denominator == "answered" else True) & ~missing_speed & a.notnull()
    in_time = ans & (speed <= threshold_s).fill_null(False)
    res = _proportion(con, t, in_time, use, keys, K.SERVICE_LEVEL, level, min_n)
    _exclude(con, res, t, missing_speed, "answered call without speed of answer", S.SPEED_OF_ANSWER_S, S.CALL_ID)
    return _partial(con, res, t0, period, S.CREATED_AT, (S.CREATED_AT,))


_TRUNC = {"D": "D", "W": "W", "M": "M", "Q": "Q", "Y": "Y"}


def backlog(source: Any, *, period: str = "W", by: str | Sequence[str] | None = None,
            engine: Any = "duckdb") -> pd.DataFrame:
    """Open conversations at the end of each period, as :func:`qakit.kpis.backlog`.

    Returns ``*by, period, period_end, opened, closed, backlog, partial``.

    Notes
    -----
    Conversations resolved before they were created are left out and itemised (the backlog is
    never negative). The engine counts conversations opened and closed per group and UTC period;
    here, over the full period grid of every group (empty periods are 0), ``backlog =
    cumsum(opened) - cumsum(closed)``; ``partial`` marks periods the data does not cover whole.

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
    check_choice("period", period, tuple(_TRUNC))
    if not _not_pandas(engine):
        return K.backlog(B.read_pandas(source), period=period, by=by)
    con, t = _source(source, engine, "conversations")
    keys = as_by(by)
    _check_by_expr(t, keys, "conversations")
    c = t[S.CREATED_AT].cast("timestamp")
    r = t[S.RESOLVED_AT].cast("timestamp")
    before = (B.epoch_us(con, r) < B.epoch_us(con, c)).fill_null(False)
    bad = B.execute(con, t.filter(before).select(_id=t[S.CONVERSATION_ID].cast("string")))["_id"].astype("str")
    t = t.filter(~before)
    c = t[S.CREATED_AT].cast("timestamp")
    r = t[S.RESOLVED_AT].cast("timestamp")
    lim = B.execute(con, t.aggregate(_n=t.count(), _c0=c.min(), _c1=c.max(), _r1=r.max(),
                                     _f1=t[S.FIRST_RESPONSE_AT].cast("timestamp").max()))
    if int(lim["_n"].iloc[0]) == 0:
        raise ParameterError("backlog: no conversation left once those resolved before they were created are "
                             f"left out ({len(bad)} rows, e.g. {list(bad[:5])})")
    c0, c1, r1 = (pd.Timestamp(lim[k].iloc[0]) for k in ("_c0", "_c1", "_r1"))
    last = max(c1, r1) if not pd.isna(r1) else c1
    starts = pd.period_range(c0, last, freq=period)
    ords = starts.asi8

    def counts(col):
        x = t.filter(col.notnull()).mutate(_p=col.truncate(_TRUNC[period]))
        return B.execute(con, x.group_by([*keys, "_p"]).aggregate(_k=x._p.count()))

    op, cl = counts(c), counts(r)
    if keys:  # every group with a conversation (created_at is never missing), sorted, missing keys last
        g = _sorted(op[keys].drop_duplicates(), keys)
    else:
        g = pd.DataFrame(index=[0])
    n_g, n_p = len(g), len(ords)

    def grid(d: pd.DataFrame) -> np.ndarray:
        out = np.zeros(n_g * n_p, dtype=np.int64)
        if keys:
            d = d.merge(g.reset_index(names="_g"), on=keys, how="inner")
            gi = d["_g"].to_numpy(dtype=np.int64)
        else:
            gi = np.zeros(len(d), dtype=np.int64)
        p_ord = pd.DatetimeIndex(pd.to_datetime(d["_p"])).to_period(period).asi8
        np.add.at(out, gi * n_p + np.searchsorted(ords, p_ord), d["_k"].to_numpy(dtype=np.int64))
        return out.reshape(n_g, n_p)

    opened, closed = grid(op), grid(cl)
    out = g.loc[g.index.repeat(n_p)].reset_index(drop=True)
    out[K.PERIOD] = np.tile(starts.start_time, n_g)
    out[K.PERIOD_END] = np.tile(starts.end_time, n_g)
    out[K.OPENED] = opened.ravel().astype("int64")
    out[K.CLOSED] = closed.ravel().astype("int64")
    out[K.BACKLOG] = (opened.cumsum(axis=1) - closed.cumsum(axis=1)).ravel().astype("int64")
    frame = pd.DataFrame({col: pd.Series([_utc(lim[k].iloc[0])], dtype="datetime64[us, UTC]")
                          for col, k in ((S.CREATED_AT, "_c1"), (S.FIRST_RESPONSE_AT, "_f1"), (S.RESOLVED_AT, "_r1"))})
    K._mark_partial(out, period, _utc(c0), K._as_of(None, frame, _CONV_TIMES), explicit_end=False)
    S.add_exclusion(out, "resolved_at before created_at: neither opened nor closed (it would make the backlog "
                         "negative)", S.RESOLVED_AT, sorted(bad))
    return out[keys + [K.PERIOD, K.PERIOD_END, K.OPENED, K.CLOSED, K.BACKLOG, K.PARTIAL]]


# --- the public API: wrapped by qakit._public.public (shared parameters checked by name; every
# result stamped with its exclusion record) -------------------------------------------------------
__all__ = ["csat_score", "nps_score", "ces_score", "first_response_time", "resolution_time", "fcr_rate",
           "escalation_rate", "resolution_rate", "sla_attainment", "service_level", "backlog"]

from .._public import wrap_all  # noqa: E402  (at the end: wraps the functions defined above)

wrap_all(globals())
