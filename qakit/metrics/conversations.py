"""Conversation KPIs, each defined once: first-contact resolution (FCR), resolution rate,
escalation rate, interactions per issue, backlog.

Each definition takes a validated conversations table (:func:`qakit.metrics._contract.validated`)
on any engine; the public functions live in :mod:`qakit.kpis`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from .. import schema as S
from ..errors import ParameterError, check_choice, check_number
from . import _finish as F
from . import _groups as G
from . import _labels as L
from . import _source as B
from ._contract import Table
from .times import CONV_TIMES

FCR_RATE = "fcr_rate"
INTERACTIONS_PER_ISSUE = "interactions_per_issue"
ESCALATION_RATE = "escalation_rate"
RESOLUTION_RATE = "resolution_rate"
BACKLOG = "backlog"
PERIOD_END = "period_end"
OPENED, CLOSED = "opened", "closed"
RESOLVED_STATUSES = ("solved", "closed", "resolved")
FCR_RULES = ("repeat", "contacts", "replies")


def _statuses(statuses: Sequence[str]) -> set[str]:
    if isinstance(statuses, str) or not all(isinstance(x, str) for x in statuses):
        raise ParameterError(f"resolved_statuses must be a list of status names, e.g. ['solved', 'closed']; "
                             f"got {statuses!r}")
    return {L.label_key(x) for x in statuses}


def resolved(t: Table, statuses: Sequence[str], lf: nw.LazyFrame | None = None) -> Any:
    """Resolved: ``resolved_at`` set, or a status in ``statuses`` (ignoring case, whitespace and
    Unicode form; the column's distinct values are matched in Python)."""
    wanted = _statuses(statuses)
    G.known_labels(t, S.STATUS)
    keys = L.distinct_keys(t.lf if lf is None else lf, S.STATUS, t if lf is None else None) if t.has(S.STATUS) else {}
    said = L.is_one_of(S.STATUS, [v for v, k in keys.items() if k in wanted])
    return ~nw.col(S.RESOLVED_AT).is_null() | said


def _grouped(t: Table, by: Sequence[str], period: str | None) -> tuple[nw.LazyFrame, list[str]]:
    keys = list(by)
    G.check_keys(t, keys)
    lf, pkeys = G.with_period(t.lf, t.engine, period, S.CREATED_AT, t.columns)
    return lf, keys + pkeys


def _rate(t: Table, lf: nw.LazyFrame, keys: list[str], flag: Any, use: Any, name: str, *, period: str | None,
          level: float, min_n: int) -> pd.DataFrame:
    aggs = ({"__n": G.n_rows(), "__k": G.n_true(flag)} if use is None
            else {"__n": G.n_true(use), "__k": G.n_true(use & flag)})
    res = G.aggregate(lf, keys, {**aggs, "__rows": G.n_rows()}, period=period)
    return F.proportion(res, keys, name, level=level, min_n=min_n)


def fcr(t: Table, *, by: Sequence[str], period: str | None, rule: str, repeat_days: float,
        resolved_statuses: Sequence[str], as_of: Any, level: float, min_n: int) -> pd.DataFrame:
    """FCR: ``#(resolved at first contact) / #(resolved and judged)``, Wilson interval. See
    :func:`qakit.kpis.fcr_rate` for the three rules and the censoring at ``as_of``.

    Notes
    -----
    ``repeat``: the customer's next conversation (ordered by ``created_at``, then
    ``conversation_id``: two conversations of one customer at the same instant are ordered by their
    ids on every engine) starting within ``repeat_days`` is a repeat. Differences are exact integer
    microseconds.
    """
    check_choice("rule", rule, FCR_RULES)
    lf, keys = _grouped(t, by, period)
    res_e = resolved(t, resolved_statuses)
    lf = lf.with_columns(res_e.alias("__res"))
    is_res = nw.col("__res")
    reasons = [(~is_res, "open: not resolved yet", S.RESOLVED_AT)]
    use = is_res
    if rule == "replies":
        if not t.has(S.AGENT_REPLIES):
            raise ParameterError(f"rule='replies' needs an {S.AGENT_REPLIES!r} column")
        miss = nw.col(S.AGENT_REPLIES).is_null() & is_res
        reasons.append((miss, "no agent_replies value", S.AGENT_REPLIES))
        use = use & ~miss
        first = (nw.col(S.AGENT_REPLIES) == 1).fill_null(False)
    else:
        if rule == "contacts" and not t.has(S.CONTACTS):
            raise ParameterError(f"rule='contacts' needs a {S.CONTACTS!r} column")
        if t.has(S.CONTACTS):
            miss = nw.col(S.CONTACTS).is_null() & is_res
            reasons.append((miss, "no contacts value", S.CONTACTS))
            use = use & ~miss
            first = (nw.col(S.CONTACTS) == 1).fill_null(False)
        else:
            first = nw.lit(True)
        if rule == "repeat":
            check_number("repeat_days", repeat_days, low=0, low_open=True)
            window_ns = int(pd.Timedelta(days=repeat_days).value)
            cut = G.data_as_of(t, as_of, CONV_TIMES)
            lf = B.with_epoch_us(lf, t.engine, {"__c_us": S.CREATED_AT})
            lf = B.with_next(lf, "__next_us", "__c_us", S.CUSTOMER_ID, S.CONVERSATION_ID)
            # (next - created) <= window, compared in ns as pandas' Timedelta: gap_us <= floor(window_ns / 1000)
            repeat = ((nw.col("__next_us") - nw.col("__c_us")) <= window_ns // 1000).fill_null(False)
            # created + window > as_of  <=>  created_us > floor((as_of_ns - window_ns) / 1000)
            unjudged = (nw.col("__c_us") > (int(cut.value) - window_ns) // 1000).fill_null(False) & use
            lf = lf.with_columns(repeat.alias("__rep"), unjudged.alias("__unj"), use.alias("__use0"))
            reasons.append((nw.col("__unj"), f"not judged: repeat window (repeat_days={repeat_days:g}) not complete "
                                             f"by as_of {cut:%Y-%m-%d %H:%M} UTC", S.CREATED_AT))
            use = nw.col("__use0") & ~nw.col("__unj")
            first = first & ~nw.col("__rep")
    out = _rate(t, lf, keys, first, use, FCR_RATE, period=period, level=level, min_n=min_n)
    G.itemise(out, lf, S.CONVERSATION_ID, reasons)
    return G.partial(out, t, period, S.CREATED_AT, CONV_TIMES, as_of)


def resolution_rate(t: Table, *, by: Sequence[str], period: str | None, resolved_statuses: Sequence[str],
                    level: float, min_n: int) -> pd.DataFrame:
    """Share of conversations resolved (``resolved_at`` set or a resolved status), Wilson interval."""
    lf, keys = _grouped(t, by, period)
    out = _rate(t, lf, keys, resolved(t, resolved_statuses), None, RESOLUTION_RATE, period=period, level=level,
                min_n=min_n)
    return G.partial(out, t, period, S.CREATED_AT, CONV_TIMES)


def escalation_rate(t: Table, *, by: Sequence[str], period: str | None, level: float, min_n: int) -> pd.DataFrame:
    """Share of conversations escalated (``escalated`` known), Wilson interval; unknown ones itemised."""
    if not t.has(S.ESCALATED):
        raise ParameterError(f"escalation_rate needs an {S.ESCALATED!r} column in conversations")
    lf, keys = _grouped(t, by, period)
    e = nw.col(S.ESCALATED)
    out = _rate(t, lf, keys, e.fill_null(False), ~e.is_null(), ESCALATION_RATE, period=period, level=level,
                min_n=min_n)
    G.itemise(out, lf, S.CONVERSATION_ID, [(e.is_null(), "escalated unknown", S.ESCALATED)])
    return G.partial(out, t, period, S.CREATED_AT, CONV_TIMES)


def interactions(t: Table, *, by: Sequence[str], period: str | None, level: float, min_n: int) -> pd.DataFrame:
    """Mean contacts per conversation, Student-t interval (clipped at 1); missing ones itemised."""
    if not t.has(S.CONTACTS):
        raise ParameterError(f"interactions_per_issue needs a {S.CONTACTS!r} column in conversations")
    lf, keys = _grouped(t, by, period)
    c = nw.col(S.CONTACTS)
    res = G.aggregate(lf, keys, {"__n": G.agg("count", c), "__rows": G.n_rows(), "__mean": G.agg("mean", c),
                                 "__sd": G.agg("std", c)},
                      period=period)
    out = F.mean_t(res, keys, INTERACTIONS_PER_ISSUE, level=level, min_n=min_n, clip=(1.0, np.inf))
    G.itemise(out, lf, S.CONVERSATION_ID, [(c.is_null(), "no contacts value", S.CONTACTS)])
    return G.partial(out, t, period, S.CREATED_AT, CONV_TIMES)


def backlog(t: Table, *, period: str, by: Sequence[str]) -> pd.DataFrame:
    """Open conversations at the end of each period: the engine counts conversations opened and
    closed per group and UTC period; here, over the full period grid of every group (empty
    periods are 0), ``backlog = cumsum(opened) - cumsum(closed)``. Conversations resolved before
    they were created are left out and itemised (the backlog is never negative)."""
    check_choice("period", period, G.PERIODS)
    keys = list(by)
    G.check_keys(t, keys, "conversations")
    fast = _backlog_counts_pandas(t, keys, period) if t.lf.implementation is nw.Implementation.PANDAS else None
    if fast is not None:
        op, cl, bad, first, last_all = fast
    else:
        op, cl, bad, first, last_all = _backlog_counts(t, keys, period)
    return _backlog_grid(op, cl, bad, first, last_all, keys=keys, period=period)


def _backlog_counts(t: Table, keys: list[str], period: str):
    """``(opened, closed, left out ids, first, last)``: conversations opened and closed per group
    and period code (``*keys, period, __k``), on the engine."""
    # only the columns read (the keys, the id, the timestamps whose extremes mark partial periods):
    # a filter moves every column it is given
    read = [c for c in t.columns if c in (*keys, S.CONVERSATION_ID, *CONV_TIMES)]
    lf = B.with_epoch_us(t.lf.select(*read), t.engine, {"__c_us": S.CREATED_AT, "__r_us": S.RESOLVED_AT})
    lf = lf.with_columns((nw.col("__r_us") < nw.col("__c_us")).fill_null(False).alias("__before"))
    counts = B.collect(lf.select(nw.len().alias("__n"), G.count(nw.col("__before")).alias("__bad")))
    n_bad = int(counts["__bad"].iloc[0])
    if n_bad:  # (the rows are filtered only when some are to be left out)
        got = B.collect(lf.select(nw.col(S.CONVERSATION_ID).alias("__id"), "__before").filter(nw.col("__before"))
                        .with_columns(nw.col("__id").cast(nw.String)))
        bad = sorted(got["__id"].astype("str"))
        kept = lf.filter(~nw.col("__before"))
    else:
        bad, kept = [], lf
    if int(counts["__n"].iloc[0]) - n_bad == 0:
        raise ParameterError("backlog: no conversation left once those resolved before they were created are "
                             f"left out ({len(bad)} rows, e.g. {list(bad[:5])})")
    kt = dataclasses.replace(t, lf=kept, pandas=None, problems=[], cache={})
    first, last_all = G.extremes(kt, CONV_TIMES, S.CREATED_AT)
    # (the period codes from the epoch microseconds computed above; a resolution's once it is known)
    c_lf, _ = G.with_period(kept.select(*keys, S.CREATED_AT, "__c_us"), t.engine, period, S.CREATED_AT, t.columns,
                            epoch_us="__c_us")
    closed = kept.select(*keys, S.RESOLVED_AT, "__r_us").filter(~nw.col("__r_us").is_null())
    r_lf, _ = G.with_period(closed.with_columns(nw.col("__r_us").cast(nw.Int64)), t.engine, period, S.RESOLVED_AT,
                            t.columns, epoch_us="__r_us")
    op, cl = G.aggregate_all([(c_lf, [*keys, G.PERIOD], {"__k": G.n_rows()}),
                              (r_lf, [*keys, G.PERIOD], {"__k": G.n_rows()})])
    return op, cl, bad, first, last_all


def _period_codes(us: np.ndarray, period: str) -> np.ndarray:
    """:func:`qakit.metrics._groups.with_period`'s integer period codes from epoch microseconds
    (UTC calendar; weeks from Monday), with numpy."""
    if period in ("D", "W"):
        day = us // G.US_PER_DAY
        return day if period == "D" else (day + 3) // 7
    if period == "Y":
        return us.astype("datetime64[us]").astype("datetime64[Y]").astype(np.int64) + 1970
    months = us.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64) + 1970 * 12  # (y * 12 + m - 1)
    return months if period == "M" else months // 3  # (y * 4 + (m - 1) // 3)


def _day_counts(days: np.ndarray, nat: np.ndarray | None, gid: np.ndarray | None, space: int,
                drop: np.ndarray) -> tuple[np.ndarray, int]:
    """``(counts, first day)``: rows counted per group and UTC day, a ``(space, n_days)`` array
    (``space`` 1 without groups), over the rows not missing (``nat``) and not in ``drop`` (a few
    positions, subtracted after the count). ``days`` is overwritten."""
    if nat is not None:
        ok = ~nat
        if not ok.any():
            return np.zeros((space, 0), dtype=np.int64), 0
        lo = int(np.min(days, where=ok, initial=np.iinfo(np.int64).max))
        hi = int(np.max(days, where=ok, initial=np.iinfo(np.int64).min))
        np.maximum(days, lo - 1, out=days)  # a missing timestamp's day (the int64 minimum) into bin 0
    else:
        if not len(days):
            return np.zeros((space, 0), dtype=np.int64), 0
        lo, hi = int(days.min()), int(days.max())
    base = lo - 1
    days -= base  # (0: missing; 1 ..: the days from lo)
    width = hi - base + 1
    if gid is not None and space > 1:
        if space * width > 4 * len(days) + (1 << 20):
            return None, lo  # (too many cells for one count: the caller's general path)
        days += gid * width
    counts = np.bincount(days, minlength=space * width)
    if len(drop):
        counts -= np.bincount(days[drop], minlength=space * width)
    return counts.reshape(space, width)[:, 1:], lo


def _counts_frame(keys: list[str], key_rows: pd.DataFrame | None, counts: np.ndarray, lo_day: int,
                  period: str) -> pd.DataFrame:
    """``*keys, period, __k`` from the counts per group and day: the days summed into their periods
    (a few hundred numbers; UTC calendar, weeks from Monday), the cells with a row kept."""
    n_days = counts.shape[1]
    day_codes = _period_codes((np.arange(n_days, dtype=np.int64) + lo_day) * G.US_PER_DAY, period)
    first = np.flatnonzero(np.r_[True, day_codes[1:] != day_codes[:-1]]) if n_days else np.zeros(0, np.int64)
    per = np.add.reduceat(counts, first, axis=1) if n_days else counts[:, :0]
    g_idx, p_idx = np.nonzero(per)
    if keys:  # (row i of counts: the group of key_rows' row i)
        out = key_rows.iloc[g_idx].reset_index(drop=True)
    else:
        out = pd.DataFrame(index=range(len(p_idx)))
    out[G.PERIOD] = day_codes[first][p_idx].astype(np.int64)
    out["__k"] = per[g_idx, p_idx].astype(np.int64)
    return out


def _backlog_counts_pandas(t: Table, keys: list[str], period: str):
    """:func:`_backlog_counts` on a pandas table, from the timestamps' integer storage with numpy:
    each row's UTC day (one integer division), counted per group and day by ``np.bincount`` (the
    groups' codes), the few rows left out subtracted after the count, the days summed into
    periods on the small per-day array; the first and last timestamps of the kept rows (the
    partial periods) from the columns' extremes, looked at again only when a row left out holds
    one. None when a column is not a timestamp column, or the cells are too many for one count
    (the general path then)."""
    df = nw.to_native(t.lf)
    c_got, r_got = B.epoch_us_array(df[S.CREATED_AT]), B.epoch_us_array(df[S.RESOLVED_AT])
    if c_got is None or r_got is None:
        return None
    (c_us, c_nat), (r_us, r_nat) = c_got, r_got
    before = r_us < c_us  # (a missing resolution is the int64 minimum: masked below)
    before &= ~r_nat
    c_has_nat = bool(c_nat.any())
    if c_has_nat:
        before &= ~c_nat
    drop = np.flatnonzero(before)
    n_bad = len(drop)
    bad = []
    if n_bad:
        bad = G._id_text(df[S.CONVERSATION_ID].iloc[drop]).tolist()
        bad.sort()
    if len(df) - n_bad == 0:
        raise ParameterError("backlog: no conversation left once those resolved before they were created are "
                             f"left out ({len(bad)} rows, e.g. {list(bad[:5])})")
    # the first and last timestamps of the kept rows (the partial periods)
    spec_cols = [c for c in CONV_TIMES if c in t.checked and c in t.columns]
    ext = {}
    known = t.cache.get("extremes") if not n_bad else None  # (the check's own reading, when no row is left out)
    if known is not None and all(c in known for c in spec_cols):
        ext = {c: known[c] for c in spec_cols}
        spec_cols = []
    for col in spec_cols:
        got = c_got if col == S.CREATED_AT else r_got if col == S.RESOLVED_AT else B.epoch_us_array(df[col])
        if got is None:
            return None
        us, nat = got
        lohi = _extremes_kept(us, nat, drop)
        ext[col] = (pd.NaT, pd.NaT) if lohi is None else tuple(pd.Timestamp(v, unit="us", tz="UTC") for v in lohi)
    kt = dataclasses.replace(t, pandas=None, problems=[], cache={})
    kt.cache["extremes"] = ext
    first, last_all = G.extremes(kt, CONV_TIMES, S.CREATED_AT)
    if keys:
        gid, present, key_rows = G.group_keys(df, keys)
        space = int(present[-1]) + 1
    else:
        gid = present = key_rows = None
        space = 1
    out = []
    for us, nat in ((c_us, c_nat if c_has_nat else None), (r_us, r_nat)):
        days = us // G.US_PER_DAY
        counts, lo_day = _day_counts(days, nat, gid, space, drop)
        if counts is None:
            return None
        out.append(_counts_frame(keys, key_rows, counts[present] if keys else counts, lo_day, period))
    return out[0], out[1], bad, first, last_all


def _extremes_kept(us: np.ndarray, nat: np.ndarray, drop: np.ndarray) -> tuple[int, int] | None:
    """The smallest and largest of ``us`` over the rows not missing (``nat``) and not in ``drop``
    (a few positions), or None when there is none: the extremes of every present row (the
    missing value is the int64 minimum: the largest ignores it), recomputed without ``drop``
    only when one of those rows holds an extreme."""
    has_nat = bool(nat.any())
    if has_nat and nat.all():
        return None
    lo = int(np.min(us, where=~nat, initial=np.iinfo(np.int64).max)) if has_nat else int(us.min())
    hi = int(us.max())
    if len(drop):
        d = us[drop][~nat[drop]]
        if len(d) and (int(d.min()) <= lo or int(d.max()) >= hi):
            ok = ~nat
            ok[drop] = False
            if not ok.any():
                return None
            sel = us[ok]
            lo, hi = int(sel.min()), int(sel.max())
    return lo, hi


def _backlog_grid(op: pd.DataFrame, cl: pd.DataFrame, bad: list, first, last_all, *, keys: list[str],
                  period: str) -> pd.DataFrame:
    """The backlog over the full period grid of every group from the counts opened and closed."""
    codes = np.concatenate([op[G.PERIOD].to_numpy(dtype=np.int64), cl[G.PERIOD].to_numpy(dtype=np.int64)])
    lo, hi = int(codes.min()), int(codes.max())
    grid_codes = np.arange(lo, hi + 1, dtype=np.int64)
    n_p = len(grid_codes)
    if keys:  # every group with a conversation (created_at is never missing), sorted, missing keys last
        g = G.sort_groups(op[keys].drop_duplicates(), keys)
    else:
        g = pd.DataFrame(index=[0])
    n_g = len(g)

    def grid(d: pd.DataFrame) -> np.ndarray:
        out = np.zeros(n_g * n_p, dtype=np.int64)
        if keys:
            d = d.merge(g.reset_index(names="__g"), on=keys, how="inner")
            gi = d["__g"].to_numpy(dtype=np.int64)
        else:
            gi = np.zeros(len(d), dtype=np.int64)
        np.add.at(out, gi * n_p + (d[G.PERIOD].to_numpy(dtype=np.int64) - lo), d["__k"].to_numpy(dtype=np.int64))
        return out.reshape(n_g, n_p)

    opened, closed = grid(op), grid(cl)
    starts = G.period_starts(pd.Series(grid_codes), period)
    ends = starts.dt.to_period(period).dt.end_time
    out = g.loc[g.index.repeat(n_p)].reset_index(drop=True)
    out[G.PERIOD] = np.tile(starts.to_numpy(), n_g)
    out[PERIOD_END] = np.tile(ends.to_numpy(), n_g)
    out[OPENED] = opened.ravel().astype("int64")
    out[CLOSED] = closed.ravel().astype("int64")
    out[BACKLOG] = (opened.cumsum(axis=1) - closed.cumsum(axis=1)).ravel().astype("int64")
    G.mark_partial(out, period, first, last_all, explicit_end=False)
    S.add_exclusion(out, "resolved_at before created_at: neither opened nor closed (it would make the backlog "
                         "negative)", S.RESOLVED_AT, bad)
    return out[keys + [G.PERIOD, PERIOD_END, OPENED, CLOSED, BACKLOG, G.PARTIAL]]
