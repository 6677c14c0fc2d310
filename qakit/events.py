"""Ticket event logs -> conversations: first response, resolution, reopens and on-hold time.

Helpdesks and process-mining tools export one row per *event* rather than one per ticket:
Zendesk ticket audits, ServiceNow audit / incident update logs, XES or CSV event logs (``case id,
activity, timestamp, resource``). :func:`conversations_from_events` turns such a log into the
``conversations`` contract, deriving what the ticket-level exports state directly:

- ``created_at``: the case's first event;
- ``first_response_at``: its first event with role ``first_response`` (an agent's public reply,
  "Take in charge ticket" ...);
- ``resolved_at``: the last time the case entered a done state (``resolve`` / ``close``) and
  stayed there; open cases have none. ``first_resolved_at`` is the first time;
- ``reopens``: times the case left a done state (a reopen event, or any work after resolving);
  ``contacts`` = times it was resolved, so a case resolved twice is **not** first-contact resolved
  (:func:`qakit.kpis.fcr_rate` with ``rule="contacts"``);
- ``on_hold_s``: time spent on hold (waiting on the customer or a third party: ``pending``,
  ``on-hold``, ``Awaiting User Info``, ``Wait``) before the resolution -- the time an SLA clock
  pauses for -- and ``resolution_time_sla_s`` / ``first_response_time_sla_s``: the calendar
  durations minus that paused time.

Every activity gets a role by keyword (:data:`ROLE_RULES`, shown in :func:`activity_roles` and the
export's notes); ``roles=`` overrides any of them. :func:`reconcile_sla` recomputes an incident
export's SLA flag from these durations and lists the incidents where the tool's own flag differs,
as :func:`qakit.exports.reconcile` does for review scores.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from . import schema as S
from ._public import public
from .errors import ParameterError, Problems

CASE_ID, ACTIVITY, TIMESTAMP, RESOURCE, ROLE = "case_id", "activity", "timestamp", "resource", "role"
STATE_CHANGE = "state_change"
#: roles an event can have
ROLES = ("create", "first_response", "work", "hold", "resolve", "close", "reopen", "note", "ignore")
#: the state a role puts the case in (``note``: none -- a comment while pending stays pending)
_STATE_OF = {"create": "open", "first_response": "open", "work": "open", "hold": "hold", "resolve": "done",
             "close": "done", "reopen": "open"}
#: keyword rules (regular expressions on the case-folded activity), tried in order
ROLE_RULES: tuple[tuple[str, str], ...] = (
    ("reopen", r"re-?open"),
    ("work", r"anomal|sub-?task|\btask\b|\bbug\b|\bdefect\b|\bproblem\b|\bchange request\b"),  # a sub-object's life
    ("hold", r"\bwait|pending|on[ -]?hold|\bhold\b|awaiting|suspend|snooz|parked"),
    ("resolve", r"resolv|solved|\bsolve\b|\bfix(ed)?\b|complet|\bdone\b"),
    ("close", r"clos|verif|invalid|duplicat|cancel|archiv|reject|withdraw"),
    ("first_response", r"repl|respon|answer|take in charge|acknowledg|contact(ed)? (the )?(customer|caller|user)"
                       r"|public comment|in progress|accepted|\bactive\b"),
    ("create", r"^(insert|open(ed)?\b|new\b|submit|receiv|register)|^creat(e|ed)? (a )?(ticket|case|incident|request)"
               r"|(ticket|case|incident|request) (created|opened|logged|submitted|received)"),
)

ON_HOLD_S = "on_hold_s"
REOPENS = "reopens"
FIRST_RESOLVED_AT = "first_resolved_at"
RESOLUTION_TIME_SLA_S = "resolution_time_sla_s"
FIRST_RESPONSE_TIME_SLA_S = "first_response_time_sla_s"
N_EVENTS = "n_events"
#: reconcile_sla's columns
TOOL_MET = "tool_met"
RECOMPUTED_MET = "recomputed_met"
ELAPSED_H = "elapsed_h"
ON_HOLD_H = "on_hold_h"
SLA_H = "sla_h"
TARGET_H = "target_h"


def _role_of(activity: str) -> str:
    a = activity.casefold()
    for role, pattern in ROLE_RULES:
        if re.search(pattern, a):
            return role
    return "work"


@public
def activity_roles(events: pd.DataFrame, *, roles: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The role every activity of an event log gets: by :data:`ROLE_RULES`, or as ``roles`` says.

    Parameters
    ----------
    events : pandas.DataFrame
        With an ``activity`` column.
    roles : mapping, optional
        ``{activity: role}`` overriding the keyword rules (roles: :data:`ROLES`; ``ignore`` drops
        the events, ``note`` keeps them without changing the case's state).

    Returns
    -------
    pandas.DataFrame
        ``activity, role, rule, n``: one row per distinct activity, most frequent first; ``rule``
        is ``"given"`` (from ``roles``), the keyword rule that matched, or ``"default"`` (work).

    Examples
    --------
    >>> ev = pd.DataFrame({"activity": ["Assign seriousness", "Take in charge ticket", "Wait",
    ...                                 "Resolve ticket", "Closed"]})
    >>> activity_roles(ev)[["activity", "role"]].sort_values("activity").to_dict("list")["role"]
    ['work', 'close', 'resolve', 'first_response', 'hold']
    """
    if ACTIVITY not in events.columns:
        raise ParameterError(f"activity_roles needs an {ACTIVITY!r} column; columns: {list(events.columns)}")
    roles = _check_roles(roles)
    counts = events[ACTIVITY].astype("str").value_counts(sort=True)
    rows = []
    for act, n in counts.items():
        if act in roles:
            rows.append((act, roles[act], "given", int(n)))
            continue
        role = _role_of(act)
        rule = next((p for r, p in ROLE_RULES if r == role and re.search(p, act.casefold())), "default")
        rows.append((act, role, rule if role != "work" or rule != "default" else "default", int(n)))
    return pd.DataFrame(rows, columns=[ACTIVITY, ROLE, "rule", S.N])


def _check_roles(roles: Mapping[str, str] | None) -> dict[str, str]:
    if roles is None:
        return {}
    if not isinstance(roles, Mapping):
        raise ParameterError(f"roles must be a mapping activity -> role; got {roles!r}")
    bad = {k: v for k, v in roles.items() if v not in ROLES}
    if bad:
        raise ParameterError(f"roles {bad}: a role must be one of {', '.join(ROLES)}")
    return {str(k): v for k, v in roles.items()}


#: case attributes read from the case's first event (how it came in); the others from its last
FIRST_VALUE_ATTRIBUTES = (S.CUSTOMER_ID, S.CHANNEL)


def _case_attr(ev: pd.DataFrame, col: str) -> pd.Series:
    """A case attribute: its first non-empty value for the requester and the channel (how the case
    came in), the last for the others (the ticket as it ended: priority, team, agent)."""
    g = ev.dropna(subset=[col]).groupby(CASE_ID, sort=False)[col]
    return g.first() if col in FIRST_VALUE_ATTRIBUTES else g.last()


@public
def conversations_from_events(
    events: pd.DataFrame,
    *,
    roles: Mapping[str, str] | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Conversations (one per case) from a ticket event log.

    Parameters
    ----------
    events : pandas.DataFrame
        One row per event: ``case_id``, ``activity``, ``timestamp`` (tz-aware), optional
        ``resource`` (who did it), ``role`` (overrides the activity's role for that event),
        ``state_change`` (False: the event does not change the case's state, e.g. a reply while
        the ticket stays pending) and case attributes ``customer_id``, ``channel``, ``priority``,
        ``team``, ``agent_id`` (the last non-empty value of each case is used).
    roles : mapping, optional
        ``{activity: role}`` overriding the keyword rules (:func:`activity_roles`).
    as_of : timestamp, optional
        When the log was exported (default: its last event): a case still on hold is on hold until
        then.

    Returns
    -------
    pandas.DataFrame
        The ``conversations`` contract (``conversation_id, customer_id, agent_id, channel,
        priority, status, created_at, first_response_at, resolved_at``, ``team`` when given) plus
        ``first_resolved_at, reopens, contacts, on_hold_s, first_response_time_sla_s,
        resolution_time_sla_s, n_events``. ``status`` is the case's final state (``open``,
        ``hold`` or ``resolved``). Missing case attributes are ``"unknown"``; ``agent_id`` without
        one is the resource of the case's last resolve (else first response) event. Events with
        role ``ignore`` or without a timestamp are left out and itemised.

    Notes
    -----
    States: ``create`` / ``first_response`` / ``work`` / ``reopen`` -> open, ``hold`` -> hold,
    ``resolve`` / ``close`` -> done; ``note`` keeps the state. A resolution is a move into done from
    open or hold (``resolve`` then ``close`` is one resolution); a reopen is a move out of done.
    ``on_hold_s`` sums the time from each event that puts the case on hold to the next event that
    changes its state, up to the final resolution (or ``as_of`` for open cases).
    ``resolution_time_sla_s = resolved_at - created_at - on_hold_s`` (on-hold time before the
    resolution), ``first_response_time_sla_s`` likewise with the hold before the first response:
    the clock of an SLA that pauses while the ticket waits on the customer (ServiceNow's "pause on
    Awaiting ...", Zendesk's agent work time).

    Examples
    --------
    >>> ev = pd.DataFrame({"case_id": ["1"] * 6,
    ...     "activity": ["Insert ticket", "Take in charge ticket", "Wait", "Resolve ticket", "Take in charge ticket",
    ...                  "Resolve ticket"],
    ...     "timestamp": pd.to_datetime(["2026-11-02 09:00", "2026-11-02 09:30", "2026-11-02 10:00",
    ...                                  "2026-11-02 12:00", "2026-11-03 09:00", "2026-11-03 10:00"], utc=True)})
    >>> c = conversations_from_events(ev)
    >>> c[["reopens", "contacts", "on_hold_s", "resolution_time_sla_s"]].iloc[0].tolist()  # 25 h - 2 h on hold
    [1.0, 2.0, 7200.0, 82800.0]
    """
    for col in (CASE_ID, ACTIVITY, TIMESTAMP):
        if col not in events.columns:
            raise ParameterError(f"an event log needs columns {CASE_ID!r}, {ACTIVITY!r}, {TIMESTAMP!r}; "
                                 f"columns: {list(events.columns)}")
    if len(events) == 0:
        raise ParameterError("the event log has no events")
    roles = _check_roles(roles)
    ev = events.reset_index(drop=True).copy()
    ev[CASE_ID], renamed = _clean_ids(ev[CASE_ID])
    ev[ACTIVITY] = ev[ACTIVITY].astype("str").str.strip()
    problems = Problems("events", row_ids=ev[CASE_ID])
    if not isinstance(ev[TIMESTAMP].dtype, pd.DatetimeTZDtype):  # text or naive: read as the validator reads
        ev[TIMESTAMP] = S.parse_datetimes(ev[TIMESTAMP], column=TIMESTAMP, problems=problems)
    lut = {a: roles.get(a, _role_of(a)) for a in pd.unique(ev[ACTIVITY])}
    role = ev[ACTIVITY].map(lut)
    if ROLE in ev.columns:
        role = ev[ROLE].where(ev[ROLE].notna(), role)
        problems.add(ROLE, f"unknown role (roles: {', '.join(ROLES)})", ~role.isin(ROLES), role)
    problems.raise_if_any()
    ev[ROLE] = role
    dropped = {}
    key = [c for c in (CASE_ID, ACTIVITY, TIMESTAMP, RESOURCE) if c in ev.columns]
    dup = ev[key].astype("str").duplicated()
    if dup.any():
        dropped[("exact duplicate event (kept once)", ACTIVITY)] = ev.loc[dup, CASE_ID]
    undated = ev[TIMESTAMP].isna()
    if undated.any():
        dropped[("event without a timestamp: left out", TIMESTAMP)] = ev.loc[undated, CASE_ID]
    ignored = ev[ROLE].eq("ignore")
    if ignored.any():
        dropped[("event of an activity with role 'ignore': left out", ACTIVITY)] = ev.loc[ignored, CASE_ID]
    ev = ev[~undated & ~ignored & ~dup]
    if ev.empty:
        raise ParameterError("the event log has no dated events to build conversations from")
    ev = ev.assign(_o=np.arange(len(ev))).sort_values([CASE_ID, TIMESTAMP, "_o"], kind="stable")
    cut = pd.Timestamp(as_of) if as_of is not None else ev[TIMESTAMP].max()
    cut = cut.tz_localize("UTC") if cut.tzinfo is None else cut.tz_convert("UTC")
    changes = ev[ROLE].ne("note") & (ev[STATE_CHANGE].fillna(True).astype(bool) if STATE_CHANGE in ev.columns
                                      else True)
    case = ev[CASE_ID]
    state = ev[ROLE].map(_STATE_OF).where(changes)
    state = state.groupby(case, sort=False).ffill().fillna("open")
    prev = state.groupby(case, sort=False).shift(1).fillna("open")
    done, was_done = state.eq("done"), prev.eq("done")
    resolution = done & ~was_done
    reopen = ~done & was_done
    # each state change ends the previous state's stretch: the time until the case's next change
    ts = ev[TIMESTAMP]
    nxt = ts.where(changes).groupby(case, sort=False).shift(-1).groupby(case, sort=False).bfill()
    end = nxt.fillna(cut)
    end = end.where(end > ts, ts)
    g = ev.assign(_res=resolution, _reo=reopen, _done=done).groupby(case, sort=False)
    created = g[TIMESTAMP].min()
    idx = created.index
    final_done = g["_done"].last()
    last_res = ts.where(resolution).groupby(case, sort=False).max().reindex(idx)
    resolved_at = last_res.where(final_done.reindex(idx))
    first_res = ts.where(resolution).groupby(case, sort=False).min().reindex(idx)
    first_resp = ts.where(ev[ROLE].eq("first_response")).groupby(case, sort=False).min().reindex(idx)
    hold_start = ts.where(changes & state.eq("hold"))
    stop = case.map(resolved_at).fillna(cut)
    hold_end = end.where(end < stop, stop)
    hold = (hold_end - hold_start).dt.total_seconds().clip(lower=0)
    on_hold = hold.groupby(case, sort=False).sum(min_count=1).reindex(idx).fillna(0.0)
    fr_stop = case.map(first_resp)
    hold_fr = (hold_end.where(hold_end < fr_stop, fr_stop) - hold_start).dt.total_seconds().clip(lower=0)
    on_hold_fr = hold_fr.groupby(case, sort=False).sum(min_count=1).reindex(idx).fillna(0.0)
    n_res = g["_res"].sum().reindex(idx).astype(float)
    out = pd.DataFrame({S.CONVERSATION_ID: idx.astype("str"), S.CREATED_AT: created, S.FIRST_RESPONSE_AT: first_resp,
                        S.RESOLVED_AT: resolved_at, FIRST_RESOLVED_AT: first_res,
                        REOPENS: g["_reo"].sum().reindex(idx).astype(float),
                        S.CONTACTS: n_res.where(n_res > 0),  # unresolved cases: not known yet
                        ON_HOLD_S: on_hold}, index=idx)
    out[RESOLUTION_TIME_SLA_S] = (out[S.RESOLVED_AT] - out[S.CREATED_AT]).dt.total_seconds() - out[ON_HOLD_S]
    out[FIRST_RESPONSE_TIME_SLA_S] = (out[S.FIRST_RESPONSE_AT] - out[S.CREATED_AT]).dt.total_seconds() - on_hold_fr
    out[S.STATUS] = state.groupby(case, sort=False).last().reindex(idx).map(
        {"done": "resolved", "open": "open", "hold": "hold"})
    out[N_EVENTS] = g.size().reindex(idx)
    for col in (S.CUSTOMER_ID, S.CHANNEL, S.PRIORITY, S.TEAM, S.AGENT_ID):
        if col in ev.columns:
            out[col] = _case_attr(ev, col).astype("str").reindex(idx)
    if RESOURCE in ev.columns and (S.AGENT_ID not in out.columns or out[S.AGENT_ID].isna().any()):
        who = ev[RESOURCE].where(resolution).groupby(case, sort=False).last().reindex(idx).fillna(
            ev[RESOURCE].where(ev[ROLE].eq("first_response")).groupby(case, sort=False).first().reindex(idx))
        who = who.astype("str").where(who.notna())
        out[S.AGENT_ID] = out[S.AGENT_ID].fillna(who) if S.AGENT_ID in out.columns else who
    if S.AGENT_ID not in out.columns:
        out[S.AGENT_ID] = None
    for col in (S.CUSTOMER_ID, S.CHANNEL, S.PRIORITY):
        out[col] = out[col].fillna(UNKNOWN) if col in out.columns else UNKNOWN
    cols = [S.CONVERSATION_ID, S.CUSTOMER_ID, S.AGENT_ID, S.CHANNEL, S.PRIORITY, S.STATUS, S.CREATED_AT,
            S.FIRST_RESPONSE_AT, S.RESOLVED_AT] + ([S.TEAM] if S.TEAM in out.columns else []) + [
        FIRST_RESOLVED_AT, REOPENS, S.CONTACTS, ON_HOLD_S, FIRST_RESPONSE_TIME_SLA_S, RESOLUTION_TIME_SLA_S, N_EVENTS]
    out = out[cols].reset_index(drop=True)
    for (reason, column), ids in dropped.items():
        S.add_exclusion(out, reason, column, pd.unique(ids.astype("str")))
    if renamed is not None:
        S.add_adjustment(out, "case id with surrounding spaces or another Unicode form: normalised", CASE_ID,
                         renamed)
    return out


UNKNOWN = "unknown"


def _clean_ids(ids: pd.Series) -> tuple[pd.Series, np.ndarray | None]:
    """Ids as trimmed NFC text (``"c1 "`` and ``"c1"`` are one case); the changed ids, or None."""
    t = ids.astype("str").where(ids.notna())
    clean = t.str.strip().str.normalize("NFC")
    changed = t.notna() & clean.ne(t)
    return clean, (pd.unique(clean[changed]) if changed.any() else None)


def _flag(s: pd.Series, problems: Problems, column: str) -> pd.Series:
    t = s.astype("str").str.strip().str.casefold().where(s.notna())
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[t.isin(S._TRUE | {"met", "achieved", "within sla", "within_sla"})] = True
    out[t.isin(S._FALSE | {"breached", "missed", "sla violated", "violated", "not met"})] = False
    problems.add(column, "not a yes/no SLA flag", t.notna() & ~t.isin(S.MISSING_TOKENS | {"", "?"}) & out.isna(), s)
    return out


@public
def reconcile_sla(
    conversations: pd.DataFrame,
    *,
    targets: Mapping[str, float],
    flag: str = "made_sla",
    paused: bool = True,
    as_of: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Recompute each incident's SLA and list those where the tool's own flag says otherwise.

    The check before trusting a ticketing tool's SLA figures (ServiceNow's ``made_sla``, a
    "Resolution status: Within SLA / SLA Violated" column): it catches targets configured
    differently from what the team believes, pauses the tool applies or ignores, and flags set by
    hand.

    Parameters
    ----------
    conversations : pandas.DataFrame
        Conversations with ``priority``, ``created_at``, ``resolved_at``, the tool's flag column
        and, with ``paused=True``, ``on_hold_s`` (from ``read_export(..., preset="incident")`` or
        :func:`conversations_from_events`).
    targets : mapping
        Resolution target in hours per priority (``{"critical": 4, "high": 8, "moderate": 72,
        "low": 120}``), matched ignoring case and spaces; ``"1 - Critical"`` matches
        ``critical``. There is no universal default: pass your SLA definitions.
    flag : str, default="made_sla"
        The column holding the tool's verdict (true/false, met/breached ...).
    paused : bool, default=True
        Subtract ``on_hold_s`` (time on hold before the resolution) from the elapsed time, as an
        SLA that pauses while the ticket waits on the customer does.
    as_of : timestamp, optional
        Export time (default: the latest timestamp): open incidents already past their target are
        missed; open ones within it are not judged (itemised).

    Returns
    -------
    pandas.DataFrame
        One row per incident whose recomputed verdict differs from the tool's, longest elapsed
        first: ``conversation_id, priority, target_h, elapsed_h, on_hold_h, sla_h, recomputed_met,
        tool_met``. Empty when they agree. Incidents without a target, without the tool's flag,
        or still open within their target are itemised (:func:`qakit.schema.exclusions`); the
        agreement per priority is in ``result.attrs["agreement"]`` (``priority, n, agree,
        agreement_rate, tool_met_rate, recomputed_met_rate``).

    Notes
    -----
    ``sla_h = (resolved_at - created_at - on_hold_s) / 3600`` (calendar hours; ``on_hold_s``
    only when ``paused``); met when ``sla_h <= target_h``. An open incident is measured to
    ``as_of``.

    Examples
    --------
    >>> c = pd.DataFrame({"conversation_id": ["INC1", "INC2"], "priority": "2 - High",
    ...     "created_at": pd.to_datetime(["2026-11-02 09:00", "2026-11-02 09:00"], utc=True),
    ...     "resolved_at": pd.to_datetime(["2026-11-02 15:00", "2026-11-02 19:00"], utc=True),
    ...     "on_hold_s": [0.0, 3 * 3600.0], "made_sla": ["true", "true"]})
    >>> reconcile_sla(c, targets={"high": 8})[["conversation_id", "sla_h", "tool_met"]]  # 10 h - 3 h hold = 7 h: met
    Empty DataFrame
    Columns: [conversation_id, sla_h, tool_met]
    Index: []
    >>> reconcile_sla(c, targets={"high": 8}, paused=False)[["conversation_id", "sla_h", "recomputed_met"]]
      conversation_id  sla_h  recomputed_met
    0            INC2   10.0           False
    """
    for col in (S.CONVERSATION_ID, S.PRIORITY, S.CREATED_AT, S.RESOLVED_AT, flag):
        if col not in conversations.columns:
            raise ParameterError(f"reconcile_sla needs a {col!r} column; columns: {list(conversations.columns)}")
    if paused and ON_HOLD_S not in conversations.columns:
        raise ParameterError(f"paused=True needs an {ON_HOLD_S!r} column (time on hold); pass paused=False to "
                             "measure calendar time")
    tg = _targets(targets)
    if len(conversations) == 0:
        raise ParameterError("reconcile_sla: the conversations table has no rows")
    c = conversations.reset_index(drop=True).copy()
    c[S.CONVERSATION_ID], renamed = _clean_ids(c[S.CONVERSATION_ID])
    problems = Problems("conversations", row_ids=c[S.CONVERSATION_ID])
    for col in (S.CREATED_AT, S.RESOLVED_AT):
        if not isinstance(c[col].dtype, pd.DatetimeTZDtype):
            c[col] = S.parse_datetimes(c[col], column=col, problems=problems)
    problems.add(S.CREATED_AT, "empty value in a required column", c[S.CREATED_AT].isna(), c[S.CREATED_AT])
    tool = _flag(c[flag], problems, flag)
    if paused:
        h = pd.to_numeric(c[ON_HOLD_S], errors="coerce")
        problems.add(ON_HOLD_S, "not a number", c[ON_HOLD_S].notna() & h.isna(), c[ON_HOLD_S])
        problems.add(ON_HOLD_S, "not a finite number (inf)", np.isinf(h.to_numpy(float)), c[ON_HOLD_S])
        problems.add(ON_HOLD_S, "negative time on hold", (h < 0).fillna(False), c[ON_HOLD_S])
        c[ON_HOLD_S] = h
    problems.add(S.CONVERSATION_ID, "duplicate key (conversation_id)", c[S.CONVERSATION_ID].duplicated(keep=False),
                 c[S.CONVERSATION_ID])
    problems.raise_if_any()
    pkey = priority_key(c[S.PRIORITY])
    tgt = pkey.map({k: h for k, (_, h) in tg.items()}).astype(float)
    unused = sorted(name for k, (name, _) in tg.items() if not pkey.eq(k).any())
    if unused and tgt.isna().all():
        raise ParameterError(f"SLA targets {sorted(n for n, _ in tg.values())} match no priority of the data "
                             f"({sorted(c[S.PRIORITY].astype('str').unique().tolist())[:10]})")
    cut = pd.Timestamp(as_of) if as_of is not None else max(c[S.CREATED_AT].max(), c[S.RESOLVED_AT].max())
    if cut.tzinfo is None:
        cut = cut.tz_localize("UTC")
    end = c[S.RESOLVED_AT].fillna(cut)
    elapsed = (end - c[S.CREATED_AT]).dt.total_seconds() / 3600
    no_hold = c[ON_HOLD_S].isna() if paused else pd.Series(False, index=c.index)
    hold = (c[ON_HOLD_S].fillna(0.0) / 3600) if paused else pd.Series(0.0, index=c.index)
    sla = elapsed - hold
    met = sla <= tgt
    open_ = c[S.RESOLVED_AT].isna()
    pending = open_ & (sla <= tgt)
    judged = tgt.notna() & tool.notna() & ~pending
    differ = judged & (met != tool.fillna(False).astype(bool))
    out = pd.DataFrame({S.CONVERSATION_ID: c[S.CONVERSATION_ID].astype("str"), S.PRIORITY: c[S.PRIORITY],
                        TARGET_H: tgt, ELAPSED_H: elapsed, ON_HOLD_H: hold, SLA_H: sla,
                        RECOMPUTED_MET: met, TOOL_MET: tool.astype("boolean")})
    res = out[differ].sort_values([ELAPSED_H, S.CONVERSATION_ID], ascending=[False, True]).reset_index(drop=True)
    ids = c[S.CONVERSATION_ID].astype("str")
    S.add_exclusion(res, f"no SLA target for its priority (targets: {sorted(n for n, _ in tg.values())})", S.PRIORITY,
                    ids[tgt.isna()])
    S.add_exclusion(res, f"no SLA flag in {flag!r}", flag, ids[tgt.notna() & tool.isna()])
    S.add_exclusion(res, f"open and still within its target at {cut:%Y-%m-%d %H:%M} UTC: not judged", S.RESOLVED_AT,
                    ids[tgt.notna() & tool.notna() & pending])
    S.add_adjustment(res, f"no {ON_HOLD_S} (no state history): measured in calendar time, nothing paused",
                     ON_HOLD_S, ids[no_hold & judged])
    if renamed is not None:
        S.add_adjustment(res, "conversation id with surrounding spaces or another Unicode form: normalised",
                         S.CONVERSATION_ID, renamed)
    j = out[judged].assign(_agree=(met == tool.fillna(False).astype(bool))[judged], _key=pkey[judged])
    agree = (j.groupby(S.PRIORITY, sort=True)
             .agg(n=(S.CONVERSATION_ID, "size"), agree=("_agree", "sum"), tool=(TOOL_MET, "mean"),
                  recomputed=(RECOMPUTED_MET, "mean")).reset_index())
    agree = agree.rename(columns={"tool": "tool_met_rate", "recomputed": "recomputed_met_rate"})
    agree.insert(3, "agreement_rate", agree["agree"] / agree["n"])
    res.attrs["agreement"] = agree
    return res


def _targets(targets: Mapping[str, float]) -> dict[str, tuple[str, float]]:
    if not isinstance(targets, Mapping) or not targets:
        raise ParameterError(f"targets must be a mapping priority -> hours, e.g. {{'critical': 4, 'high': 8}}; "
                             f"got {targets!r}")
    out: dict[str, tuple[str, float]] = {}
    for k, v in targets.items():
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v) \
                or not v > 0:
            raise ParameterError(f"SLA target for priority {k!r} must be a positive number of hours; got {v!r}")
        key = priority_key(pd.Series([k])).iloc[0]
        if key in out:
            raise ParameterError(f"SLA targets {out[key][0]!r} and {k!r} name the same priority; give it once")
        out[key] = (str(k), float(v))
    return out


@public
def priority_key(values: pd.Series) -> pd.Series:
    """Priority labels as SLA-target keys: case-folded, spaces collapsed, and a leading code
    (``"1 - Critical"``, ``"P2 - High"``, ``"3-Moderate"``) dropped.

    Examples
    --------
    >>> priority_key(pd.Series(["1 - Critical", "P2 - High", "Low", " 3-Moderate"])).tolist()
    ['critical', 'high', 'low', 'moderate']
    """
    s = values.astype("str").str.normalize("NFKC").str.casefold().str.strip()
    s = s.str.replace(r"^(p\s*)?\d+\s*[-–:.)]\s*", "", regex=True)
    return s.str.replace(r"\s+", " ", regex=True).str.strip()


__all__ = ["activity_roles", "conversations_from_events", "reconcile_sla", "priority_key"]
