"""Before/after impact: did a KPI or IQS change between two periods (or around a change date)?

:func:`compare_periods` picks the test that suits the measure (``effect = after - before``):

==========  ===================================================  ==================================
``kind``    test and p-value                                     effect, CI and effect size
==========  ===================================================  ==================================
``time``    Mann-Whitney U (:func:`scipy.stats.mannwhitneyu`,    difference of medians with a
            two-sided; durations are skewed, no normality)       percentile bootstrap CI; the
                                                                 Hodges-Lehmann shift; rank-biserial
                                                                 correlation
``rate``    two-proportion z test (pooled SE; = R's              difference of proportions with
            ``prop.test(correct = FALSE)``)                      Newcombe's hybrid score CI;
                                                                 Cohen's h
``mean`` /  Welch's t test (:func:`scipy.stats.ttest_ind`,       difference of means with a BCa
``iqs``     ``equal_var=False``)                                 bootstrap CI
                                                                 (:func:`scipy.stats.bootstrap`);
                                                                 Cohen's d
==========  ===================================================  ==================================

A before/after comparison has no control group: whatever else changed between the periods is in
the effect. For coaching (agents chosen because their scores were low) use
:func:`qakit.coaching.coaching_effect`, which compares against agents not yet coached.

The p-value and the CI come from different methods for ``time`` and ``mean``: the p-value tests
the textbook null (identical distributions / equal means), the CI describes the size of the
change. A CI that excludes 0 with a p-value above 0.05 (or the reverse) is possible near the
boundary; report both.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from . import schema as S
from ._public import public
from .errors import ParameterError, Problems, UndefinedMetricWarning, check_choice
from .intervals import MIN_N, as_by, check_by, check_level, wilson_ci

KINDS = ("time", "rate", "mean", "iqs")
N_BEFORE, N_AFTER = "n_before", "n_after"
STAT_BEFORE, STAT_AFTER = "stat_before", "stat_after"
EFFECT = "effect"
TEST = "test"
EFFECT_SIZE = "effect_size"
HODGES_LEHMANN = "hodges_lehmann"
COLUMNS = [N_BEFORE, N_AFTER, STAT_BEFORE, STAT_AFTER, EFFECT, S.CI_LOW, S.CI_HIGH, S.P_VALUE, TEST,
           EFFECT_SIZE, HODGES_LEHMANN, S.SMALL_SAMPLE]

#: bootstrap resamples are drawn in batches of ``max(1, _BATCH_CELLS // (n_before + n_after))``
#: (bounds memory; also the progress bar's step)
_BATCH_CELLS = 2_000_000
#: above this many pairs the Hodges-Lehmann shift is found by bisection instead of enumeration
_HL_DIRECT_MAX = 4_000_000


# --- windows -----------------------------------------------------------------------------------
def _ts(value, name: str) -> pd.Timestamp:
    try:
        t = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a date or timestamp; got {value!r}") from None
    if t is pd.NaT:
        raise ParameterError(f"{name} must be a date or timestamp; got {value!r}")
    return t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")


def _window(w, name: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    if isinstance(w, (str, bytes)) or not isinstance(w, Sequence) or len(w) != 2:
        raise ParameterError(f"{name} must be a (start, end) pair; got {w!r}")
    lo, hi = _ts(w[0], f"{name} start"), _ts(w[1], f"{name} end")
    if hi <= lo:
        raise ParameterError(f"the {name} window must end after it starts; got {name}={w!r}")
    return lo, hi


def _windows(change_date, before, after):
    """((b0, b1), (a0, a1)): half-open windows ``[start, end)`` in UTC."""
    if change_date is not None:
        if before is not None or after is not None:
            raise ParameterError("give either change_date= or before=/after= windows, not both")
        c = _ts(change_date, "change_date")
        return (pd.Timestamp.min.tz_localize("UTC"), c), (c, pd.Timestamp.max.tz_localize("UTC"))
    if before is None or after is None:
        raise ParameterError("give change_date= or both before=(start, end) and after=(start, end)")
    b, a = _window(before, "before"), _window(after, "after")
    if b[0] < a[1] and a[0] < b[1]:
        raise ParameterError(f"the before and after windows overlap: before={before!r}, after={after!r} "
                             "(end dates are exclusive)")
    return b, a


def _describe(w) -> str:
    lo, hi = w
    lo_s = "" if lo == pd.Timestamp.min.tz_localize("UTC") else str(lo)
    hi_s = "" if hi == pd.Timestamp.max.tz_localize("UTC") else str(hi)
    return f"[{lo_s or '...'}, {hi_s or '...'})"


# --- statistics ---------------------------------------------------------------------------------
def _kth_difference(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """The k-th smallest (0-based) of all differences ``y_j - x_i`` (x, y sorted), by bisection
    on the value with an O((n1 + n2) log n) count per step."""
    def count(d: float) -> int:
        return int(np.searchsorted(y, x + d, side="right").sum())

    if k == 0:
        return float(y[0] - x[-1])
    if k == len(x) * len(y) - 1:
        return float(y[-1] - x[0])
    # bracket with a little slack so that rounding in x + d cannot break count(lo) < k + 1 <= count(hi)
    slack = 4 * np.finfo(float).eps * max(np.abs(x).max(), np.abs(y).max(), 1.0)
    lo, hi = y[0] - x[-1] - slack, y[-1] - x[0] + slack
    for _ in range(2000):  # stops when lo and hi are adjacent floats (far fewer steps)
        mid = lo + (hi - lo) / 2
        if not lo < mid < hi:
            break
        if count(mid) >= k + 1:
            hi = mid
        else:
            lo = mid
    j = np.searchsorted(y, x + hi, side="right") - 1
    ok = j >= 0
    return float((y[j[ok]] - x[ok]).max())  # snap to the actual difference in (lo, hi]


@public
def hodges_lehmann(before: np.ndarray, after: np.ndarray) -> float:
    """Hodges-Lehmann shift: the median of all ``n_before * n_after`` differences
    ``after_j - before_i`` (the estimate that goes with the Mann-Whitney test).

    Examples
    --------
    >>> hodges_lehmann(np.array([1.0, 2, 3]), np.array([2.0, 4]))  # diffs 1 0 -1 3 2 1
    1.0
    """
    x = np.sort(np.asarray(before, dtype=float))
    y = np.sort(np.asarray(after, dtype=float))
    N = len(x) * len(y)
    if N == 0:
        return float("nan")
    if N <= _HL_DIRECT_MAX:
        return float(np.median(np.subtract.outer(y, x)))
    lo_k, hi_k = (N - 1) // 2, N // 2
    a = _kth_difference(x, y, lo_k)
    return a if hi_k == lo_k else (a + _kth_difference(x, y, hi_k)) / 2


def _newcombe(k1, n1, k2, n2, level):
    """Newcombe (1998, method 10) hybrid score interval for p2 - p1 from the Wilson intervals."""
    p1, p2 = k1 / n1, k2 / n2
    (l1,), (u1,) = wilson_ci(np.array([k1]), np.array([n1]), level=level)
    (l2,), (u2,) = wilson_ci(np.array([k2]), np.array([n2]), level=level)
    d = p2 - p1
    return d - np.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2), d + np.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)


def _bootstrap_ci(x, y, stat, *, method, level, n_resamples, rng, bar, label):
    """scipy.stats.bootstrap over the two independent samples, in memory-bounded batches; the
    progress bar advances by the resamples each batch evaluates."""
    batch = max(1, min(n_resamples, _BATCH_CELLS // (len(x) + len(y))))
    done = 0

    def counted(a, b, axis=-1):
        nonlocal done
        if bar is not None and np.ndim(a) > 1 and done < n_resamples:
            step = min(a.shape[0], n_resamples - done)  # BCa's jackknife calls are not counted
            done += step
            bar.update(step)
            bar.set_postfix_str(label, refresh=False)
        return stat(a, b, axis=axis)

    res = stats.bootstrap((x, y), counted, vectorized=True, n_resamples=n_resamples, batch=batch,
                          confidence_level=level, method=method, rng=rng)
    if bar is not None and done < n_resamples:
        bar.update(n_resamples - done)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _median_diff(a, b, axis=-1):
    return np.median(b, axis=axis) - np.median(a, axis=axis)


def _mean_diff(a, b, axis=-1):
    return np.mean(b, axis=axis) - np.mean(a, axis=axis)


def _compare(x, y, kind, *, level, rng, n_resamples, bar, label) -> dict:
    """x: before, y: after (NaN-free, at least 2 each). Returns the statistics of one row."""
    nan = float("nan")
    if kind == "rate":
        k1, k2, n1, n2 = float(x.sum()), float(y.sum()), len(x), len(y)
        p1, p2 = k1 / n1, k2 / n2
        pp = (k1 + k2) / (n1 + n2)
        se = np.sqrt(pp * (1 - pp) * (1 / n1 + 1 / n2))
        p = float(2 * stats.norm.sf(abs(p2 - p1) / se)) if se > 0 else nan
        lo, hi = _newcombe(k1, n1, k2, n2, level)
        h = 2 * np.arcsin(np.sqrt(p2)) - 2 * np.arcsin(np.sqrt(p1))  # Cohen's h
        if bar is not None:
            bar.update(n_resamples)  # nothing to resample: keep the bar's total honest
        return {STAT_BEFORE: p1, STAT_AFTER: p2, EFFECT: p2 - p1, S.CI_LOW: float(lo), S.CI_HIGH: float(hi),
                S.P_VALUE: p, TEST: "two-proportion z", EFFECT_SIZE: float(h), HODGES_LEHMANN: nan}
    constant = np.ptp(x) == 0 and np.ptp(y) == 0
    if kind == "time":
        effect = float(np.median(y) - np.median(x))
        res = stats.mannwhitneyu(y, x, alternative="two-sided")
        rbc = 2 * res.statistic / (len(x) * len(y)) - 1  # P(after > before) - P(after < before)
        if constant:  # every resample gives the same medians
            lo = hi = effect
            if bar is not None:
                bar.update(n_resamples)
        else:
            lo, hi = _bootstrap_ci(x, y, _median_diff, method="percentile", level=level,
                                   n_resamples=n_resamples, rng=rng, bar=bar, label=label)
        return {STAT_BEFORE: float(np.median(x)), STAT_AFTER: float(np.median(y)), EFFECT: effect,
                S.CI_LOW: lo, S.CI_HIGH: hi, S.P_VALUE: float(res.pvalue), TEST: "Mann-Whitney U",
                EFFECT_SIZE: float(rbc), HODGES_LEHMANN: hodges_lehmann(x, y)}
    effect = float(y.mean() - x.mean())
    vx, vy = x.var(ddof=1), y.var(ddof=1)
    if vx == 0 and vy == 0:  # no spread: Welch's t and the bootstrap are undefined
        p, lo, hi, d = nan, effect, effect, nan
        if bar is not None:
            bar.update(n_resamples)
    else:
        p = float(stats.ttest_ind(y, x, equal_var=False).pvalue)
        lo, hi = _bootstrap_ci(x, y, _mean_diff, method="BCa", level=level, n_resamples=n_resamples,
                               rng=rng, bar=bar, label=label)
        pooled = np.sqrt(((len(x) - 1) * vx + (len(y) - 1) * vy) / (len(x) + len(y) - 2))
        d = effect / pooled  # Cohen's d
    return {STAT_BEFORE: float(x.mean()), STAT_AFTER: float(y.mean()), EFFECT: effect, S.CI_LOW: lo,
            S.CI_HIGH: hi, S.P_VALUE: p, TEST: "Welch t (BCa bootstrap CI)", EFFECT_SIZE: float(d),
            HODGES_LEHMANN: nan}


# --- input -------------------------------------------------------------------------------------
def _values(data: pd.DataFrame, value: str, kind: str, p: Problems) -> pd.Series:
    """The compared values as floats (NaN = missing), bad cells reported to ``p``."""
    raw = data[value]
    if kind == "time" and pd.api.types.is_timedelta64_dtype(raw.dtype):
        v = raw.dt.total_seconds() / 3600  # qakit's *_time columns are hours
    elif pd.api.types.is_bool_dtype(raw.dtype):
        v = raw.astype("Float64").astype("float64")
    elif pd.api.types.is_numeric_dtype(raw.dtype):
        v = raw.astype("float64")
    else:
        text = raw.astype("str").str.strip()
        v = pd.to_numeric(text.where(raw.notna() & text.ne("")), errors="coerce").astype("float64")
        p.add(value, "not a number", raw.notna() & text.ne("") & v.isna(), raw)
    if kind == "rate":
        p.add(value, "kind='rate' needs 0/1 or true/false values", v.notna() & ~v.isin([0.0, 1.0]), raw)
    elif kind == "time":
        p.add(value, "negative duration", v < 0, raw)
    p.add(value, "not finite", np.isinf(v), raw)
    return v


@public
def compare_periods(
    data: pd.DataFrame,
    *,
    value: str,
    time: str = S.CREATED_AT,
    kind: str = "mean",
    change_date=None,
    before: Sequence | None = None,
    after: Sequence | None = None,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    seed: int = 0,
    n_resamples: int = 9999,
    min_n: int = 2,
    progress: bool = False,
) -> pd.DataFrame:
    """Compare ``value`` before and after a change, with the test that suits the measure.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation (a conversation, a review score ...).
    value : str
        Column to compare: durations in hours or timedeltas (``kind="time"``), 0/1 or boolean
        (``"rate"``), numbers (``"mean"``; ``"iqs"`` = review scores from
        :meth:`qakit.Scorecard.score`).
    time : str, default="created_at"
        Timestamp placing each row in a window (``"reviewed_at"`` for review scores). Naive
        timestamps are read as UTC.
    kind : {"time", "rate", "mean", "iqs"}, default="mean"
    change_date : date-like, optional
        Before = earlier than it, after = from it on. Or give ``before`` and ``after``.
    before, after : (start, end), optional
        Half-open windows ``[start, end)``; they may not overlap. Rows outside both are ignored.
    by : str or list of str, optional
        One comparison per group (e.g. ``"team"``).
    level : float, default=0.95
    seed : int, default=0
        Seeds the bootstrap (``numpy.random.default_rng(seed)``, shared across groups in
        ``by`` order): same inputs and seed, same numbers.
    n_resamples : int, default=9999
        Bootstrap resamples (``time``, ``mean``, ``iqs``).
    min_n : int, default=2
        Fewest rows per period needed to test. Without ``by`` fewer raises; with ``by`` the
        group's row is NaN with an :class:`~qakit.errors.UndefinedMetricWarning`.
    progress : bool, default=False
        Show a ``tqdm`` progress bar over the bootstrap resamples (all groups).

    Returns
    -------
    pandas.DataFrame
        ``*by, n_before, n_after, stat_before, stat_after, effect, ci_low, ci_high, p_value, test,
        effect_size, hodges_lehmann, small_sample``: ``stat_*`` is the median (time), proportion
        (rate) or mean (mean, iqs); ``effect = stat_after - stat_before`` with its CI;
        ``effect_size`` the rank-biserial correlation (time; ``P(after > before) - P(after <
        before)``), Cohen's h (rate) or Cohen's d (mean, iqs); ``hodges_lehmann`` the median of
        all after - before differences (time only, else NaN); ``small_sample`` when either
        period has fewer than 30 rows. Rows with a missing value or time are itemised in
        :func:`qakit.schema.exclusions`.

    Raises
    ------
    ParameterError
        Unknown ``kind``, overlapping or malformed windows, a period with fewer than ``min_n``
        usable rows (named in the message).
    DataValidationError
        Values that are not numbers, not 0/1 for rates, negative durations, bad timestamps.

    Notes
    -----
    Rates: with ``p_1 = k_1/n_1`` (before), ``p_2 = k_2/n_2`` (after) and pooled
    ``p = (k_1 + k_2)/(n_1 + n_2)``, ``z = (p_2 - p_1) / sqrt(p (1 - p) (1/n_1 + 1/n_2))`` and
    ``p_value = 2 (1 - Phi(|z|))`` (``z^2`` is R's ``prop.test(correct = FALSE)`` X-squared).
    The CI is Newcombe's (1998) hybrid score interval: with Wilson limits ``(l_i, u_i)``,
    ``d - sqrt((p_2 - l_2)^2 + (u_1 - p_1)^2)`` to ``d + sqrt((u_2 - p_2)^2 + (p_1 - l_1)^2)``;
    unlike the Wald interval ``d +/- z sqrt(p_1 q_1/n_1 + p_2 q_2/n_2)`` it stays inside
    [-1, 1] and keeps its coverage for rates near 0 or 1 and small periods.

    Examples
    --------
    FCR 1 of 4 before, 3 of 4 after: ``effect = 0.75 - 0.25 = 0.5``; pooled ``p = 0.5``,
    ``z = 0.5 / sqrt(0.25 * 0.5) = 1.414``, ``p_value = 0.157``.

    >>> d = pd.DataFrame({"created_at": ["2026-01-05 00:00Z"] * 4 + ["2026-02-05 00:00Z"] * 4,
    ...                   "fcr": [1, 0, 0, 0, 1, 1, 1, 0]})
    >>> r = compare_periods(d, value="fcr", kind="rate", change_date="2026-02-01")
    >>> r[["n_before", "n_after", "stat_before", "stat_after", "effect", "p_value"]].round(3)
       n_before  n_after  stat_before  stat_after  effect  p_value
    0         4        4         0.25        0.75     0.5    0.157
    """
    check_choice("kind", kind, KINDS)
    level = check_level(level)
    for name, v, low in (("n_resamples", n_resamples, 1), ("min_n", min_n, 2), ("seed", seed, 0)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
            raise ParameterError(f"{name} must be an integer >= {low}; got {v!r}")
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(f"data must be a pandas DataFrame; got {type(data).__name__}")
    keys = as_by(by)
    check_by(data, keys, "data")
    for col, what in ((value, "value"), (time, "time")):
        if col not in data.columns:
            hint = (" (review scores carry 'reviewed_at': pass time='reviewed_at')"
                    if col == S.CREATED_AT and S.REVIEWED_AT in data.columns else "")
            raise ParameterError(f"{what} column {col!r} not in data{hint}; available: "
                                 f"{sorted(map(str, data.columns))}")
    (b0, b1), (a0, a1) = _windows(change_date, before, after)

    id_col = next((c for c in (S.CONVERSATION_ID, S.REVIEW_ID, S.CALL_ID) if c in data.columns), None)
    ids = data[id_col].astype("str") if id_col else pd.Series(data.index.astype("str"), index=data.index)
    p = Problems("data", row_ids=ids)
    v = _values(data, value, kind, p)
    t = S.parse_datetimes(data[time], column=time, problems=p)
    if id_col is not None:  # one row per unit: a duplicated conversation would count twice
        p.add(id_col, f"duplicate {id_col} (each unit must appear once)", ids.duplicated(keep=False).to_numpy(), ids)
    bounds = S.contract_bounds(value)  # a contract column keeps its contract's range here too
    if bounds is not None:
        lo, hi = bounds
        if lo is not None:
            p.add(value, f"below the minimum {lo:g} of the data contract", (v < lo).to_numpy(), data[value])
        if hi is not None:
            p.add(value, f"above the maximum {hi:g} of the data contract", (v > hi).to_numpy(), data[value])
    p.raise_if_any()

    usable = (v.notna() & t.notna()).to_numpy()
    t_ok = t.where(usable)
    in_before = ((t_ok >= b0) & (t_ok < b1)).to_numpy(dtype=bool)
    in_after = ((t_ok >= a0) & (t_ok < a1)).to_numpy(dtype=bool)
    for side, mask, w in (("before", in_before, (b0, b1)), ("after", in_after, (a0, a1))):
        if mask.sum() < min_n:
            raise ParameterError(
                f"the {side} period {_describe(w)} has {int(mask.sum())} usable rows of {value!r} "
                f"(need >= {min_n}); check the dates and the {time!r} column")

    vals = v.to_numpy(dtype=float)
    if keys:
        g = data[keys].groupby(keys, sort=True, observed=True, dropna=False)
        codes = g.ngroup().to_numpy()
        labels = g.size().reset_index()[keys]
    else:
        codes = np.zeros(len(data), dtype=np.int64)
        labels = pd.DataFrame(index=[0])
    groups = []
    for i in range(len(labels)):  # one comparison per group (a handful); each is vectorised
        in_g = codes == i
        groups.append((vals[in_g & in_before], vals[in_g & in_after]))
    testable = [len(x) >= min_n and len(y) >= min_n for x, y in groups]
    resampling = kind != "rate"
    bar = tqdm(total=n_resamples * sum(testable), unit="resample", desc=f"bootstrap {value}",
               disable=not (progress and resampling)) if progress and resampling else None
    rng = np.random.default_rng(seed)
    rows = []
    try:
        for i, (x, y) in enumerate(groups):
            label = {k: labels[k].iloc[i] for k in keys}
            row = {**label, N_BEFORE: len(x), N_AFTER: len(y)}
            if not testable[i]:
                short = "before" if len(x) < min_n else "after"
                row[TEST] = f"not tested: {short} period has fewer than {min_n} rows"
            else:
                row.update(_compare(x, y, kind, level=level, rng=rng, n_resamples=n_resamples, bar=bar,
                                    label=", ".join(f"{k}={label[k]}" for k in keys)))
            rows.append(row)
    finally:
        if bar is not None:
            bar.close()
    out = pd.DataFrame(rows, columns=keys + COLUMNS)
    for c in (STAT_BEFORE, STAT_AFTER, EFFECT, S.CI_LOW, S.CI_HIGH, S.P_VALUE, EFFECT_SIZE, HODGES_LEHMANN):
        out[c] = out[c].astype("float64")
    out[S.SMALL_SAMPLE] = (out[N_BEFORE] < MIN_N) | (out[N_AFTER] < MIN_N)
    untested = [r for r, ok in zip(rows, testable) if not ok]
    if untested:
        warnings.warn(f"{len(untested)} group(s) have fewer than {min_n} rows in a period and were not "
                      "tested (NaN)", UndefinedMetricWarning, stacklevel=2)
    no_p = out[S.P_VALUE].isna() & np.array(testable)
    if no_p.any():
        warnings.warn(f"{int(no_p.sum())} comparison(s) have no p-value: {value!r} does not vary in either "
                      "period", UndefinedMetricWarning, stacklevel=2)
    S.add_exclusion(out, f"missing {value} or {time}", value, ids[~usable])
    return out


# --- the public API: every function listed here is decorated with @public on its def (shared parameters
# checked by name; every result stamped with its exclusion record) -----------------------------------
__all__ = [
    "hodges_lehmann",
    "compare_periods",
]
