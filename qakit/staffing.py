"""Staffing check: the service level the staffing should give (Erlang C, Erlang A) beside the one measured.

Service level is measured everywhere; whether it is what the staffing *should* deliver is not.
These functions predict, per interval, from the calls offered, the average handle time and the
agents staffed:

- :func:`erlang_c`: M/M/n (callers never hang up): probability of waiting, service level, ASA,
  occupancy (Erlang 1917; the formulas every workforce tool uses).
- :func:`erlang_a`: M/M/n+M (callers abandon after an exponential patience; Palm 1943, Garnett,
  Mandelbaum & Reiman 2002): the same plus the abandonment rate, solved exactly on the
  birth-death chain.
- :func:`required_agents`: the fewest whole agents meeting a service-level target, with the
  service level one agent fewer would give (never a fractional "7.4 agents").
- :func:`staffing_check`: the prediction per interval beside the service level measured on a
  calls table (or a queue log in the calls contract) and a staffing table
  (``interval_start``, ``agents``).

Fractional staffing (7.5 agents scheduled in a half hour) is reported honestly: Erlang formulas are
defined for whole agents, so the prediction is the mix of the two neighbours (7 agents half the
interval, 8 the other half), and the row says ``agents_fractional``.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from . import schema as S
from ._public import public
from .errors import ParameterError, Problems, UndefinedMetricWarning, check_number
from .intervals import MIN_N, wilson_ci

ARRIVALS = "arrivals"
AHT_S = "aht_s"
AGENTS = "agents"
PATIENCE_S = "patience_s"
INTERVAL_START = "interval_start"
LOAD = "load_erlangs"
OCCUPANCY = "occupancy"
P_WAIT = "p_wait"
SERVICE_LEVEL = "service_level"
ASA_S = "asa_s"
ABANDON_RATE = "abandon_rate"
STABLE = "stable"
FRACTIONAL = "agents_fractional"
REQUIRED = "required_agents"
SL_AT_REQUIRED = "service_level_at_required"
SL_ONE_FEWER = "service_level_one_fewer"
PREDICTED = "service_level_predicted"
OBSERVED = "service_level_observed"
ASA_PREDICTED = "asa_predicted_s"
ASA_OBSERVED = "asa_observed_s"
GAP = "gap"
OUTSIDE = "outside_interval"

#: the staffing table: agents on duty per interval (a workforce-management export)
STAFFING = S.Table(
    "staffing",
    (
        S.Column(INTERVAL_START, "datetime"),
        S.Column(AGENTS, "float", min=0),
        S.Column(S.QUEUE, "str", required=False, nullable=True),
    ),
    unique=(INTERVAL_START, S.QUEUE),
    row_id=INTERVAL_START,
)
#: the per-interval inputs of the Erlang functions
INTERVALS = S.Table(
    "intervals",
    (
        S.Column(ARRIVALS, "float", min=0),
        S.Column(AHT_S, "float", min=0),
        S.Column(AGENTS, "float", min=0),
    ),
)
ERLANG_COLUMNS = [LOAD, OCCUPANCY, P_WAIT, SERVICE_LEVEL, ASA_S, STABLE, FRACTIONAL]
CHECK_COLUMNS = [INTERVAL_START, S.N, AGENTS, AHT_S, LOAD, OCCUPANCY, PREDICTED, ASA_PREDICTED, OBSERVED,
                 S.CI_LOW, S.CI_HIGH, ASA_OBSERVED, GAP, OUTSIDE, FRACTIONAL, S.SMALL_SAMPLE]


# --- the queueing formulas (whole agents, vectorised over intervals) --------------------------------
def _erlang_b(n: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Erlang B by the stable recursion ``B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1))`` (vectorised)."""
    n = n.astype(np.int64)
    b = np.ones_like(a, dtype=float)
    for k in range(1, int(n.max(initial=0)) + 1):
        step = a * b / (k + a * b)
        b = np.where(k <= n, step, b)
    return b


def _c_whole(n: np.ndarray, a: np.ndarray, aht: np.ndarray, t: float) -> dict[str, np.ndarray]:
    """Erlang C for whole ``n``: ``C = n B / (n - a (1 - B))``, ``SL(t) = 1 - C exp(-(n - a) t / AHT)``,
    ``ASA = C AHT / (n - a)``; NaN where ``a >= n`` (the queue grows without bound)."""
    stable = n > a
    with np.errstate(invalid="ignore", divide="ignore"):
        b = _erlang_b(n, a)
        c = np.where(stable, n * b / (n - a * (1 - b)), 1.0)
        sl = np.where(stable, 1 - c * np.exp(-(n - a) * t / aht), np.nan)
        asa = np.where(stable, c * aht / (n - a), np.nan)
    c = np.where(a == 0, 0.0, c)
    sl = np.where(a == 0, 1.0, sl)
    asa = np.where(a == 0, 0.0, asa)
    return {P_WAIT: c, SERVICE_LEVEL: sl, ASA_S: asa, STABLE: stable | (a == 0)}


def _a_whole(n: int, lam: float, mu: float, theta: float, t: float) -> dict[str, float]:
    """Erlang A (M/M/n+M) for one interval on the birth-death chain.

    States ``j`` = calls in the system; birth ``lam``; death ``min(j, n) mu + max(j - n, 0) theta``.
    Stationary ``pi`` by the product formula (truncated where the tail is below 1e-16).  An arrival
    (PASTA) finding ``j >= n`` has ``k = j - n`` callers ahead; its offered wait is the sum of
    exponential stages with rates ``n mu + i theta`` (``i = k .. 0`` callers ahead), and it is
    served if that wait ends before its own patience ``Exp(theta)``.  With the generator of this
    tagged-caller chain: P(served within t) = ``expm(Q t)`` into "served"; P(served) and E[wait;
    served] from the bidiagonal recursions.  Abandonment = ``theta E[queue] / lam``.
    """
    if lam == 0:
        return {P_WAIT: 0.0, SERVICE_LEVEL: 1.0, ASA_S: 0.0, ABANDON_RATE: 0.0}
    q_cap = int(max(50, np.ceil(max(0.0, lam - n * mu) / theta + 12 * np.sqrt(lam / theta) + 40)))
    j = np.arange(n + q_cap + 1)
    death = np.minimum(j, n) * mu + np.maximum(j - n, 0) * theta
    logp = np.concatenate([[0.0], np.cumsum(np.log(lam) - np.log(death[1:]))])
    p = np.exp(logp - logp.max())
    p /= p.sum()
    wait = p[n:]  # an arrival finds all n busy and k = 0, 1, ... callers waiting
    m = len(wait)
    k = np.arange(m)
    adv = n * mu + k * theta  # rate at which the queue ahead advances with k ahead (k = 0: a server frees)
    x = np.cumprod(adv / (adv + theta))  # P(served | k ahead)
    y = np.empty(m)  # E[wait * 1{served} | k ahead]
    prev = 0.0
    for i in range(m):
        prev = (x[i] + adv[i] * prev) / (adv[i] + theta) if i else x[0] / (adv[0] + theta)
        y[i] = prev
    # within t: the holding time in each stage is Exp(adv + theta) whichever way the stage ends, so
    # P(served within t | k) = x_k * P(H_k <= t), H_k a sum of Exp(adv_i + theta), i = 0..k; its CDF by
    # uniformisation at rate L (stable, unlike the alternating hypoexponential sum)
    r = adv + theta
    big = float(r.max()) * t
    d = np.zeros(m)  # P(all stages 0..i done within the steps so far), for every start i
    within = np.zeros(m)
    if t > 0:
        steps = int(np.ceil(big + 12 * np.sqrt(big) + 30))
        pois = stats.poisson.pmf(np.arange(steps + 1), big)
        move = r / r.max()
        for step in range(1, steps + 1):
            d = move * np.concatenate([[1.0], d[:-1]]) + (1 - move) * d
            within += pois[step] * d
        within += (1 - pois.sum()) * d  # the Poisson tail beyond the last step (< 1e-12)
    within = x * within
    p_wait = float(wait.sum())
    served_wait = float((wait * x).sum())
    answered = (1 - p_wait) + served_wait
    queue = float((p[n:] * k).sum())
    return {P_WAIT: p_wait, SERVICE_LEVEL: float((1 - p_wait) + (wait * within).sum()),
            ASA_S: float((wait * y).sum()) / answered, ABANDON_RATE: theta * queue / lam}


def _intervals(table: pd.DataFrame, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    spec = replace(INTERVALS, columns=INTERVALS.columns + tuple(S.Column(c, "float", min=0) for c in extra))
    rows, problems = S.check(table, spec)
    problems.raise_if_any()
    return rows


def _mix(fn, n: np.ndarray, *args) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Evaluate ``fn`` at floor(n) and ceil(n) and mix linearly by the fractional part."""
    lo, hi = np.floor(n), np.ceil(n)
    frac = n - lo
    a, b = fn(lo, *args), fn(hi, *args)
    out = {k: np.where(frac > 0, (1 - frac) * a[k] + frac * b[k], a[k]) if k != STABLE else (a[k] & b[k])
           for k in a}
    return out, frac > 0


def _warn_unstable(stable: np.ndarray, what: str) -> None:
    bad = int((~stable).sum())
    if bad:
        warnings.warn(f"{bad} interval(s) have at least as much work as agents ({what}): the queue grows "
                      "without bound, service level and ASA are undefined (NaN, stable=False)",
                      UndefinedMetricWarning, stacklevel=3)


@public
def erlang_c(intervals: pd.DataFrame, *, interval_s: float = 1800, threshold_s: float = 20) -> pd.DataFrame:
    """Erlang C per interval: probability of waiting, service level, ASA and occupancy.

    Parameters
    ----------
    intervals : pandas.DataFrame
        One row per interval with ``arrivals`` (calls offered in the interval), ``aht_s`` (average
        handle time, seconds) and ``agents`` (staffed; a fraction such as 7.5 is mixed, see Notes).
        Other columns pass through.
    interval_s : float, default=1800
        Length of an interval in seconds (30 minutes).
    threshold_s : float, default=20
        Service-level threshold: answered within this many seconds (the 80/20 convention's 20 s).

    Returns
    -------
    pandas.DataFrame
        The input columns, then ``load_erlangs`` (``a = arrivals x aht_s / interval_s``),
        ``occupancy`` (``a / agents``, NaN when unstable), ``p_wait``, ``service_level``
        (proportion), ``asa_s`` (mean wait of all calls, seconds), ``stable`` (``agents > a``),
        ``agents_fractional``.

    Notes
    -----
    M/M/n (Erlang 1917): ``a = lambda AHT`` Erlangs on ``n`` agents; Erlang B by recursion, ``C(n,
    a) = n B / (n - a (1 - B))`` the probability that a call waits; ``SL(t) = 1 - C e^{-(n - a)
    t / AHT}``; ``ASA = C AHT / (n - a)``; occupancy ``a / n``.  With ``a >= n`` the queue grows
    without bound: NaN with ``stable=False`` and an :class:`~qakit.errors.UndefinedMetricWarning`.
    Fractional ``n``: Erlang is defined for whole agents; ``7.5`` is read as 7 agents for half the
    interval and 8 for the other half, so every output is the linear mix of the two (exact for
    that reading with steady arrivals), flagged ``agents_fractional``.

    Worked example (Call Centre Helper's "Erlang C formula made simple", reproduced in the
    pyworkforce README, github.com/rodrigo-arenas/pyworkforce): 100 calls in 30 minutes, AHT 3
    minutes, 14 agents, target 20 s: ``a = 10``, ``P(wait) = 0.17413``, ``SL = 0.88835``,
    occupancy ``10 / 14 = 0.714``.

    Examples
    --------
    >>> t = pd.DataFrame({"arrivals": [100.0], "aht_s": [180.0], "agents": [14.0]})
    >>> erlang_c(t)[["load_erlangs", "p_wait", "service_level", "occupancy"]].round(5)
       load_erlangs   p_wait  service_level  occupancy
    0          10.0  0.17413        0.88835    0.71429
    """
    check_number("interval_s", interval_s, low=0, low_open=True)
    check_number("threshold_s", threshold_s, low=0)
    rows = _intervals(intervals)
    lam, aht, n = (rows[c].to_numpy(dtype=float) for c in (ARRIVALS, AHT_S, AGENTS))
    a = lam * aht / interval_s
    res, frac = _mix(lambda k, a_, h: _c_whole(k, a_, h, threshold_s), n, a, aht)
    _warn_unstable(res[STABLE], "erlang_c")
    out = rows.copy()
    out[LOAD] = a
    with np.errstate(invalid="ignore", divide="ignore"):
        out[OCCUPANCY] = np.where(res[STABLE] & (n > 0), a / np.where(n > 0, n, 1), np.nan)
    out[P_WAIT], out[SERVICE_LEVEL], out[ASA_S] = res[P_WAIT], res[SERVICE_LEVEL], res[ASA_S]
    out[STABLE], out[FRACTIONAL] = res[STABLE], frac
    return out


@public
def erlang_a(intervals: pd.DataFrame, *, patience_s: float | None = None, interval_s: float = 1800,
             threshold_s: float = 20) -> pd.DataFrame:
    """Erlang A per interval: Erlang C with callers who hang up (abandonment).

    Parameters
    ----------
    intervals : pandas.DataFrame
        ``arrivals``, ``aht_s``, ``agents`` as :func:`erlang_c`, and ``patience_s`` (mean patience,
        seconds) unless given as a keyword.
    patience_s : float, optional
        Mean time a caller waits before hanging up (exponential), for every interval.
    interval_s, threshold_s : float
        As :func:`erlang_c`.

    Returns
    -------
    pandas.DataFrame
        As :func:`erlang_c`, plus ``abandon_rate`` (share of calls that hang up); ``service_level``
        is the share of *all* calls answered within the threshold (abandoned calls count against
        it, as in :func:`qakit.kpis.service_level`), ``asa_s`` the mean wait of answered calls.
        Erlang A is stable at any load (``stable`` is True).

    Notes
    -----
    M/M/n+M (Palm 1943; Garnett, Mandelbaum & Reiman 2002, *M&SOM* 4(3); Mandelbaum & Zeltyn 2007,
    "Service engineering in action: the Palm/Erlang-A queue"), solved exactly on its birth-death
    chain (no approximation beyond truncating a tail below 1e-16): births ``lambda``, deaths
    ``min(j, n) mu + max(j - n, 0) theta`` with ``mu = 1 / AHT``, ``theta = 1 / patience``.  A caller
    finding ``k`` callers ahead is answered when ``k + 1`` exponential stages of rates ``n mu + i
    theta`` end before its own patience; the service level and ASA follow from that phase-type
    chain (uniformisation; see the module source), abandonment from Little's law ``theta E[queue] / lambda``.  As
    patience grows the results tend to Erlang C (tested).  Fractional agents are mixed as in
    :func:`erlang_c`.

    Examples
    --------
    >>> t = pd.DataFrame({"arrivals": [100.0], "aht_s": [180.0], "agents": [13.0]})
    >>> erlang_a(t, patience_s=300)[["service_level", "abandon_rate"]].round(3)
       service_level  abandon_rate
    0          0.858         0.025
    """
    check_number("interval_s", interval_s, low=0, low_open=True)
    check_number("threshold_s", threshold_s, low=0)
    if patience_s is None:
        if not isinstance(intervals, pd.DataFrame) or PATIENCE_S not in intervals.columns:
            raise ParameterError("erlang_a needs the callers' mean patience: pass patience_s= (seconds) or a "
                                 "patience_s column")
        rows = _intervals(intervals, (PATIENCE_S,))
        patience = rows[PATIENCE_S].to_numpy(dtype=float)
    else:
        check_number("patience_s", patience_s, low=0, low_open=True)
        rows = _intervals(intervals)
        patience = np.full(len(rows), float(patience_s))
    lam, aht, n = (rows[c].to_numpy(dtype=float) for c in (ARRIVALS, AHT_S, AGENTS))
    bad = (aht <= 0) | (patience <= 0)
    if bad.any():
        p = Problems("intervals")
        p.add(AHT_S + " / " + PATIENCE_S, "handle time and patience must be above 0 for Erlang A", bad,
              pd.Series(aht))
        p.raise_if_any()

    def whole(k: np.ndarray) -> dict[str, np.ndarray]:
        res = [_a_whole(int(k_), l_ / interval_s, 1 / h_, 1 / p_, threshold_s) if k_ > 0 else
               {P_WAIT: 1.0, SERVICE_LEVEL: 0.0, ASA_S: np.nan, ABANDON_RATE: 1.0 if l_ > 0 else 0.0}
               for k_, l_, h_, p_ in zip(k, lam, aht, patience)]
        out = {key: np.array([r[key] for r in res], dtype=float) for key in (P_WAIT, SERVICE_LEVEL, ASA_S, ABANDON_RATE)}
        out[STABLE] = np.ones(len(k), dtype=bool)
        return out

    res, frac = _mix(whole, n)
    a = lam * aht / interval_s
    out = rows.copy()
    out[LOAD] = a
    with np.errstate(invalid="ignore", divide="ignore"):
        out[OCCUPANCY] = np.where(n > 0, a * (1 - res[ABANDON_RATE]) / np.where(n > 0, n, 1), np.nan)
    out[P_WAIT], out[SERVICE_LEVEL], out[ASA_S] = res[P_WAIT], res[SERVICE_LEVEL], res[ASA_S]
    out[ABANDON_RATE] = res[ABANDON_RATE]
    out[STABLE], out[FRACTIONAL] = res[STABLE], frac
    return out


@public
def required_agents(intervals: pd.DataFrame, *, target: float = 0.8, threshold_s: float = 20,
                    interval_s: float = 1800, patience_s: float | None = None,
                    max_occupancy: float | None = None) -> pd.DataFrame:
    """The fewest whole agents that meet a service-level target per interval (Erlang C, or A).

    Parameters
    ----------
    intervals : pandas.DataFrame
        ``arrivals`` and ``aht_s`` per interval (an ``agents`` column, if any, is ignored).
    target : float, default=0.8
        Service-level target as a proportion (80 % within ``threshold_s``).
    threshold_s, interval_s : float
    patience_s : float, optional
        Mean patience: use Erlang A (fewer agents, as some callers hang up) instead of Erlang C.
    max_occupancy : float, optional
        Also keep occupancy ``load / agents`` at or below this (e.g. 0.85).

    Returns
    -------
    pandas.DataFrame
        The input columns, then ``load_erlangs``, ``required_agents`` (whole agents),
        ``service_level_at_required`` and ``service_level_one_fewer`` (what one agent fewer
        would give: how close the call is), ``occupancy`` (at the required number).

    Notes
    -----
    The smallest ``n > a`` (Erlang C) with ``SL(n) >= target`` (and ``a / n <= max_occupancy``);
    the search starts at ``ceil(a)`` and adds agents until the target holds.  Agents are whole:
    a planner who schedules 13.4 agents schedules 13 or 14, and the table says what each gives.
    Example (pyworkforce README / Call Centre Helper): 100 calls per 30 min, AHT 180 s, 80 % in
    20 s -> 14 agents (SL 0.888); 13 give 0.7956 (shown truncated, "0.795...", there).

    Examples
    --------
    >>> t = pd.DataFrame({"arrivals": [100.0], "aht_s": [180.0]})
    >>> required_agents(t)[["required_agents", "service_level_at_required", "service_level_one_fewer"]].round(3)
       required_agents  service_level_at_required  service_level_one_fewer
    0               14                      0.888                    0.796
    """
    check_number("target", target, low=0, high=1, low_open=True, high_open=True)
    check_number("interval_s", interval_s, low=0, low_open=True)
    check_number("threshold_s", threshold_s, low=0)
    check_number("max_occupancy", max_occupancy, low=0, high=1, low_open=True, none=True)
    tab = intervals.drop(columns=[AGENTS], errors="ignore") if isinstance(intervals, pd.DataFrame) else intervals
    spec = replace(INTERVALS, columns=tuple(c for c in INTERVALS.columns if c.name != AGENTS))
    rows, problems = S.check(tab, spec)
    problems.raise_if_any()
    lam, aht = rows[ARRIVALS].to_numpy(dtype=float), rows[AHT_S].to_numpy(dtype=float)
    a = lam * aht / interval_s

    def sl(n: np.ndarray) -> np.ndarray:
        t = pd.DataFrame({ARRIVALS: lam, AHT_S: aht, AGENTS: n.astype(float)})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            r = erlang_a(t, patience_s=patience_s, interval_s=interval_s, threshold_s=threshold_s) \
                if patience_s is not None else erlang_c(t, interval_s=interval_s, threshold_s=threshold_s)
        return r[SERVICE_LEVEL].fillna(0.0).to_numpy(dtype=float)

    n = np.maximum(1, np.floor(a) + (patience_s is None)).astype(float)
    if max_occupancy is not None:
        n = np.maximum(n, np.ceil(a / max_occupancy - 1e-12))
    cur = sl(n)
    for _ in range(10_000):
        short = cur < target - 1e-12
        if not short.any():
            break
        n = np.where(short, n + 1, n)
        cur = np.where(short, sl(n), cur)
    out = rows.copy()
    out[LOAD] = a
    out[REQUIRED] = n.astype("int64")
    out[SL_AT_REQUIRED] = cur
    fewer = sl(np.maximum(n - 1, 0))
    out[SL_ONE_FEWER] = np.where(n - 1 > 0, fewer, np.nan)
    out[OCCUPANCY] = a / n
    return out


@public
def staffing_check(
    calls: pd.DataFrame,
    staffing: pd.DataFrame,
    *,
    interval: str = "30min",
    threshold_s: float = 20,
    patience_s: float | None = None,
    aht: str = "interval",
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Predicted service level from the staffing (Erlang C or A) beside the service level measured.

    Parameters
    ----------
    calls : pandas.DataFrame
        Calls table (``call_id, agent_id, created_at, answered``, ``speed_of_answer_s``,
        ``handle_time_s``): one row per call offered, from a telephony export or a queue log.
    staffing : pandas.DataFrame
        ``interval_start`` and ``agents`` (on duty, may be fractional) per interval.
    interval : str, default="30min"
        Interval length (a pandas frequency); every ``interval_start`` must fall on it.
    threshold_s : float, default=20
    patience_s : float, optional
        Mean patience: predict with Erlang A instead of Erlang C.
    aht : {"interval", "overall"}, default="interval"
        Handle time per interval (mean of its answered calls) or one AHT over all calls (steadier
        for small intervals).
    level : float, default=0.95
        Level of the Wilson interval of the measured service level.
    min_n : int, default=30

    Returns
    -------
    pandas.DataFrame
        One row per staffed interval: ``interval_start, n`` (calls offered), ``agents``,
        ``aht_s``, ``load_erlangs``, ``occupancy``, ``service_level_predicted``,
        ``asa_predicted_s``, ``service_level_observed`` (answered within the threshold / offered),
        ``ci_low``, ``ci_high`` (Wilson), ``asa_observed_s`` (mean speed of answer of answered
        calls), ``gap`` (observed - predicted), ``outside_interval`` (the prediction is outside the
        measured interval: staffing, handle time or arrivals are not what the plan assumed),
        ``agents_fractional``, ``small_sample``.  Calls in no staffed interval, and answered calls
        without a speed of answer, are recorded in the exclusions.

    Notes
    -----
    Arrivals per interval = calls offered (answered or not) whose ``created_at`` falls in it.  The
    prediction assumes Poisson arrivals and exponential handle times (Erlang), agents fully
    available; real queues with breaks, after-call work or skills routing do worse than the
    prediction, and a gap that persists is the finding.  ``service_level`` is measured as in
    :func:`qakit.kpis.service_level` (abandoned calls count against it).

    Examples
    --------
    >>> calls = pd.DataFrame({"call_id": ["k1", "k2", "k3", "k4"], "agent_id": ["a", "a", "b", None],
    ...     "created_at": pd.to_datetime(["2026-01-05 09:01", "2026-01-05 09:10", "2026-01-05 09:20",
    ...                                   "2026-01-05 09:25"], utc=True),
    ...     "answered": [True, True, True, False], "speed_of_answer_s": [5.0, 30, 10, None],
    ...     "handle_time_s": [180.0, 180, 180, None]})
    >>> staff = pd.DataFrame({"interval_start": pd.to_datetime(["2026-01-05 09:00"], utc=True), "agents": [2.0]})
    >>> staffing_check(calls, staff, min_n=0)[["n", "service_level_observed", "load_erlangs"]]
       n  service_level_observed  load_erlangs
    0  4                     0.5           0.4
    """
    check_number("threshold_s", threshold_s, low=0)
    if aht not in ("interval", "overall"):
        raise ParameterError(f"aht must be one of 'interval', 'overall'; got {aht!r}")
    try:
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(interval))
    except (ValueError, TypeError):
        raise ParameterError(f"interval must be a pandas frequency such as '30min' or '1h'; got {interval!r}") from None
    if step <= pd.Timedelta(0):
        raise ParameterError(f"interval must be a positive length; got {interval!r}")
    c = S.validate(calls, "calls")
    st, problems = S.check(staffing, STAFFING)
    starts = st[INTERVAL_START]
    off = starts.notna() & (starts.dt.floor(step) != starts)
    problems.add(INTERVAL_START, f"not at the start of a {interval} interval", off.to_numpy(), staffing[INTERVAL_START]
                 if INTERVAL_START in staffing.columns else None)
    problems.raise_if_any()
    st = st.groupby(INTERVAL_START, as_index=False)[AGENTS].sum() if S.QUEUE in st.columns else st
    c = c.assign(_start=c[S.CREATED_AT].dt.floor(step))
    known = c["_start"].isin(set(st[INTERVAL_START]))
    outside = c.loc[~known, S.CALL_ID]
    c = c[known]
    ans = c[S.ANSWERED].fillna(False).astype(bool)
    if S.SPEED_OF_ANSWER_S in c.columns:
        soa = c[S.SPEED_OF_ANSWER_S]
    else:
        soa = pd.Series(np.nan, index=c.index)
    unjudged = ans & soa.isna()
    no_speed = c.loc[unjudged, S.CALL_ID]
    c = c.assign(_ok=(ans & (soa <= threshold_s)).astype(float), _use=(~unjudged).astype(float),
                 _soa=soa.where(ans), _ht=(c[S.HANDLE_TIME_S] if S.HANDLE_TIME_S in c.columns else np.nan))
    g = c.groupby("_start", sort=True)
    per = pd.DataFrame({S.N: g.size(), "_use": g["_use"].sum(), "_ok": g["_ok"].sum(),
                        ASA_OBSERVED: g["_soa"].mean(), "_aht": g["_ht"].mean()})
    tab = st.set_index(INTERVAL_START).join(per, how="left")
    tab[S.N] = tab[S.N].fillna(0).astype("int64")
    tab["_use"] = tab["_use"].fillna(0.0)
    tab["_ok"] = tab["_ok"].fillna(0.0)
    overall = float(c["_ht"].mean()) if c["_ht"].notna().any() else np.nan
    if not np.isfinite(overall):
        raise ParameterError("staffing_check needs handle times: the calls have no handle_time_s values")
    tab[AHT_S] = tab["_aht"].fillna(overall) if aht == "interval" else overall
    ins = pd.DataFrame({ARRIVALS: tab[S.N].to_numpy(dtype=float), AHT_S: tab[AHT_S].to_numpy(dtype=float),
                        AGENTS: tab[AGENTS].to_numpy(dtype=float)})
    step_s = step.total_seconds()
    pred = (erlang_a(ins, patience_s=patience_s, interval_s=step_s, threshold_s=threshold_s) if patience_s is not None
            else erlang_c(ins, interval_s=step_s, threshold_s=threshold_s))
    n_use = tab["_use"].to_numpy()
    k = tab["_ok"].to_numpy()
    lo, hi = wilson_ci(k, n_use, level=level)
    with np.errstate(invalid="ignore", divide="ignore"):
        obs = np.where(n_use > 0, k / n_use, np.nan)
    out = pd.DataFrame({
        INTERVAL_START: tab.index, S.N: tab[S.N].to_numpy(), AGENTS: tab[AGENTS].to_numpy(dtype=float),
        AHT_S: tab[AHT_S].to_numpy(dtype=float), LOAD: pred[LOAD].to_numpy(), OCCUPANCY: pred[OCCUPANCY].to_numpy(),
        PREDICTED: pred[SERVICE_LEVEL].to_numpy(), ASA_PREDICTED: pred[ASA_S].to_numpy(), OBSERVED: obs,
        S.CI_LOW: lo, S.CI_HIGH: hi, ASA_OBSERVED: tab[ASA_OBSERVED].to_numpy(dtype=float)})
    out[GAP] = out[OBSERVED] - out[PREDICTED]
    out[OUTSIDE] = (out[PREDICTED] < out[S.CI_LOW]) | (out[PREDICTED] > out[S.CI_HIGH])
    out[FRACTIONAL] = pred[FRACTIONAL].to_numpy()
    out[S.SMALL_SAMPLE] = out[S.N] < min_n
    S.add_exclusion(out, "call in no staffed interval: no staffing to predict from", S.CREATED_AT, outside)
    S.add_exclusion(out, "answered call without a speed of answer: service level not judged", S.SPEED_OF_ANSWER_S,
                    no_speed)
    out.attrs["model"] = "erlang_a" if patience_s is not None else "erlang_c"
    return out[CHECK_COLUMNS]


__all__ = ["erlang_c", "erlang_a", "required_agents", "staffing_check"]
