"""Before/after impact: did a KPI or IQS change between two periods (or around a change date)?

:func:`compare_periods` picks the test that suits the measure:

==========  =====================================================  ===============================
``kind``    test and p-value                                       effect and its CI
==========  =====================================================  ===============================
``time``    Mann-Whitney U (:func:`scipy.stats.mannwhitneyu`)      difference of medians (after -
            (durations are skewed: no normality assumed)           before), percentile bootstrap
                                                                   CI; rank-biserial correlation
``rate``    two-proportion z test (pooled SE)                      difference of proportions,
                                                                   Newcombe hybrid-score CI
``mean`` /  Welch's t test (:func:`scipy.stats.ttest_ind`)         difference of means, bootstrap
``iqs``                                                            CI (:func:`scipy.stats.bootstrap`)
==========  =====================================================  ===============================
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from . import schema as S
from .errors import ParameterError, check_choice
from .intervals import as_by, check_by, check_level, wilson_ci

KINDS = ("time", "rate", "mean", "iqs")
COLUMNS = ["n_before", "n_after", "stat_before", "stat_after", "effect", S.CI_LOW, S.CI_HIGH, S.P_VALUE,
           "test", "effect_size"]


def _ts(value, name: str) -> pd.Timestamp:
    try:
        t = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a date or timestamp; got {value!r}") from None
    return t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")


def _windows(change_date, before, after):
    if change_date is not None:
        if before is not None or after is not None:
            raise ParameterError("give either change_date= or before=/after= windows, not both")
        c = _ts(change_date, "change_date")
        return (pd.Timestamp.min.tz_localize("UTC"), c), (c, pd.Timestamp.max.tz_localize("UTC"))
    if before is None or after is None:
        raise ParameterError("give change_date= or both before=(start, end) and after=(start, end)")
    b = (_ts(before[0], "before start"), _ts(before[1], "before end"))
    a = (_ts(after[0], "after start"), _ts(after[1], "after end"))
    if b[1] <= b[0] or a[1] <= a[0]:
        raise ParameterError(f"each window must end after it starts; got before={before}, after={after}")
    if b[0] < a[1] and a[0] < b[1]:
        raise ParameterError(f"the before and after windows overlap: before={before}, after={after}")
    return b, a


def _newcombe(k1, n1, k2, n2, level):
    """Newcombe (1998) hybrid score interval for p2 - p1 from the two Wilson intervals."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = (float(x[0]) for x in wilson_ci(np.array([k1]), np.array([n1]), level=level))
    l2, u2 = (float(x[0]) for x in wilson_ci(np.array([k2]), np.array([n2]), level=level))
    d = p2 - p1
    lo = d - np.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    hi = d + np.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return lo, hi


def _compare(x: np.ndarray, y: np.ndarray, kind: str, level: float, seed: int, n_resamples: int):
    """x: before, y: after (NaN-free)."""
    if kind == "rate":
        k1, k2, n1, n2 = float(x.sum()), float(y.sum()), len(x), len(y)
        p1, p2 = k1 / n1, k2 / n2
        pp = (k1 + k2) / (n1 + n2)
        se = np.sqrt(pp * (1 - pp) * (1 / n1 + 1 / n2))
        z = (p2 - p1) / se if se > 0 else np.nan
        p = float(2 * stats.norm.sf(abs(z))) if se > 0 else np.nan
        lo, hi = _newcombe(k1, n1, k2, n2, level)
        h = 2 * np.arcsin(np.sqrt(p2)) - 2 * np.arcsin(np.sqrt(p1))  # Cohen's h
        return p1, p2, p2 - p1, lo, hi, p, "two-proportion z", float(h)
    rng = np.random.default_rng(seed)
    if kind == "time":
        res = stats.mannwhitneyu(y, x, alternative="two-sided")
        rbc = 2 * res.statistic / (len(x) * len(y)) - 1  # rank-biserial: P(after > before) - P(after < before)
        stat = lambda a, b, axis=-1: np.median(b, axis=axis) - np.median(a, axis=axis)  # noqa: E731
        ci = stats.bootstrap((x, y), stat, vectorized=True, n_resamples=n_resamples, confidence_level=level,
                             method="percentile", rng=rng).confidence_interval
        return (float(np.median(x)), float(np.median(y)), float(np.median(y) - np.median(x)), float(ci.low),
                float(ci.high), float(res.pvalue), "Mann-Whitney U", float(rbc))
    t = stats.ttest_ind(y, x, equal_var=False)
    stat = lambda a, b, axis=-1: np.mean(b, axis=axis) - np.mean(a, axis=axis)  # noqa: E731
    ci = stats.bootstrap((x, y), stat, vectorized=True, n_resamples=n_resamples, confidence_level=level,
                         method="BCa", rng=rng).confidence_interval
    pooled = np.sqrt(((len(x) - 1) * x.var(ddof=1) + (len(y) - 1) * y.var(ddof=1)) / (len(x) + len(y) - 2))
    d = (y.mean() - x.mean()) / pooled if pooled > 0 else np.nan  # Cohen's d
    return (float(x.mean()), float(y.mean()), float(y.mean() - x.mean()), float(ci.low), float(ci.high),
            float(t.pvalue), "Welch t (bootstrap CI)", float(d))


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
) -> pd.DataFrame:
    """Compare ``value`` before and after a change.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation (a conversation, a review score ...).
    value : str
        Column to compare: durations (``kind="time"``), 0/1 or boolean (``"rate"``), numbers
        (``"mean"``; ``"iqs"`` = review scores).
    time : str, default="created_at"
        Timestamp that places each row in a window.
    change_date : date-like, optional
        Before = earlier than it, after = from it on. Or give ``before`` and ``after`` as
        ``(start, end)`` windows (end exclusive; they may not overlap).
    by : str or list of str, optional
        One comparison per group.
    seed, n_resamples : bootstrap settings (``seed`` makes results reproducible).

    Returns
    -------
    pandas.DataFrame
        ``*by, n_before, n_after, stat_before, stat_after, effect, ci_low, ci_high, p_value,
        test, effect_size``: ``stat`` is the median (time), proportion (rate) or mean;
        ``effect = after - before``; ``effect_size`` is the rank-biserial correlation (time),
        Cohen's h (rate) or Cohen's d (mean). Rows with a missing value or time are itemised.

    Examples
    --------
    >>> d = pd.DataFrame({"created_at": ["2026-01-05 00:00Z"] * 4 + ["2026-02-05 00:00Z"] * 4,
    ...                   "fcr": [1, 0, 0, 0, 1, 1, 1, 0]})
    >>> r = compare_periods(d, value="fcr", kind="rate", change_date="2026-02-01")
    >>> float(r["stat_before"].iloc[0]), float(r["stat_after"].iloc[0]), float(r["effect"].iloc[0])
    (0.25, 0.75, 0.5)
    """
    check_choice("kind", kind, KINDS)
    level = check_level(level)
    keys = as_by(by)
    check_by(data, keys + [value, time], "data")
    (b0, b1), (a0, a1) = _windows(change_date, before, after)
    t = S.parse_datetimes(data[time], column=time) if not isinstance(data[time].dtype, pd.DatetimeTZDtype) \
        else data[time]
    v = data[value]
    if kind == "rate":
        if pd.api.types.is_bool_dtype(v.dtype) or str(v.dtype) == "boolean":
            v = v.astype("Float64").astype(float)
        v = pd.to_numeric(v, errors="coerce")
        bad = v.notna() & ~v.isin([0, 1])
        if bad.any():
            raise ParameterError(f"kind='rate' needs 0/1 or boolean values in {value!r}; got {sorted(v[bad].unique())[:5]}")
    elif kind == "time" and pd.api.types.is_timedelta64_dtype(v.dtype):
        v = v.dt.total_seconds() / 3600
    else:
        v = pd.to_numeric(v, errors="coerce")
    usable = v.notna() & t.notna()
    side = np.where(usable & (t >= b0) & (t < b1), "before", np.where(usable & (t >= a0) & (t < a1), "after", ""))
    d = data.assign(_v=v.to_numpy(dtype=float), _side=side)
    groups = [((), d)] if not keys else list(d.groupby(keys, sort=True, observed=True))
    rows = []
    for key, g in groups:  # a handful of groups; each comparison is vectorised
        x = g.loc[g["_side"] == "before", "_v"].to_numpy()
        y = g.loc[g["_side"] == "after", "_v"].to_numpy()
        label = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        if len(x) < min_n or len(y) < min_n:
            empty = "before" if len(x) < min_n else "after"
            if not keys:
                raise ParameterError(f"the {empty} period has {min(len(x), len(y))} usable rows of {value!r} "
                                     f"(need >= {min_n}); check the dates and the {time!r} column")
            rows.append({**label, "n_before": len(x), "n_after": len(y), "test": f"not tested: {empty} period has < {min_n} rows"})
            continue
        res = _compare(x, y, kind, level, seed, n_resamples)
        rows.append({**label, "n_before": len(x), "n_after": len(y), **dict(zip(COLUMNS[2:], res))})
    out = pd.DataFrame(rows, columns=keys + COLUMNS)
    id_col = S.CONVERSATION_ID if S.CONVERSATION_ID in data.columns else None
    if id_col:
        S.add_exclusion(out, f"missing {value} or {time}", value, data.loc[~usable, id_col])
    return out
