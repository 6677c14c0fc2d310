"""The statistics, once per kind, on the small per-group result an engine returns.

Every definition pushes only sufficient statistics through its engine (per group: counts, sums,
means, sample standard deviations, a few order statistics); the intervals are computed here with
numpy/scipy (:mod:`qakit.intervals`), one function per kind of statistic:

- :func:`proportion`: ``k / n`` with a Wilson interval (CSAT, FCR, SLA, rates, service level);
- :func:`mean_t`: a mean with a Student-t interval (CES, handle time, contacts, IQS, category
  scores: :func:`qakit.scorecard.aggregate.group_mean_ci` computes its statistics with numpy and
  finishes here too);
- :func:`quantiles`: median and p90 (linear interpolation, as numpy) and the distribution-free
  order-statistic interval of the median (Conover);
- :func:`nps`: the difference of two multinomial shares.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .. import schema as S
from ..intervals import mean_ci, wilson_ci


def _f(res: pd.DataFrame, col: str) -> np.ndarray:
    x = res[col]
    if isinstance(x.dtype, np.dtype) and x.dtype.kind in "biuf":  # (numbers already: no parse)
        return x.to_numpy(dtype=float)
    return pd.to_numeric(x, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _frame(res: pd.DataFrame, keys: Sequence[str], cols: dict) -> pd.DataFrame:
    """The result: ``res``'s key columns (their dtypes kept), then ``cols`` in order, built at once
    (a column set one by one re-blocks a small frame each time: ~0.3 ms a column)."""
    data = {k: res[k] for k in keys}
    data.update(cols)
    out = pd.DataFrame(data, index=res.index)
    if res.attrs:  # (what ``res[keys].copy()`` carried: a record made before the finish)
        out.attrs = res.attrs
    return out


def proportion(res: pd.DataFrame, keys: Sequence[str], name: str, *, level: float, min_n: int,
               k: str = "__k", n: str = "__n", rows: str = "__rows", scale: float = 1.0,
               extra: Sequence[str] = ()) -> pd.DataFrame:
    """``*keys, n, <name>, ci_low, ci_high, *extra, n_excluded, small_sample`` from per-group ``k``
    (rows flagged among the usable), ``n`` (usable rows) and ``rows`` (all rows); ``scale``: 100
    for a percent.

    Notes
    -----
    ``p = k / n`` (NaN for ``n = 0``), Wilson score interval (:func:`qakit.intervals.wilson_ci`).

    Examples
    --------
    >>> r = proportion(pd.DataFrame({"__k": [8], "__n": [10], "__rows": [11]}), [], "rate", level=0.95, min_n=30)
    >>> [round(float(x), 4) for x in r.loc[0, ["rate", "ci_low", "ci_high"]]], int(r.loc[0, "n_excluded"])
    ([0.8, 0.4902, 0.9433], 1)
    """
    nn = np.nan_to_num(_f(res, n))
    kk = np.nan_to_num(_f(res, k))
    lo, hi = wilson_ci(kk, nn, level=level)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(nn > 0, kk / nn, np.nan) * scale
    n_int = nn.astype("int64")
    cols = {S.N: n_int, name: p, S.CI_LOW: lo * scale, S.CI_HIGH: hi * scale}
    cols.update({c: res[c].to_numpy() for c in extra})
    cols[S.N_EXCLUDED] = (np.nan_to_num(_f(res, rows)) - nn).astype("int64")
    cols[S.SMALL_SAMPLE] = n_int < min_n
    return _frame(res, keys, cols)


def mean_t(res: pd.DataFrame, keys: Sequence[str], name: str, *, level: float, min_n: int,
           n: str = "__n", mean: str = "__mean", sd: str = "__sd", rows: str = "__rows",
           clip: tuple[float, float] | None = None, extra: Sequence[str] = (), keep_sd: bool = False) -> pd.DataFrame:
    """``*keys, n, <name>, ci_low, ci_high, *extra, n_excluded, small_sample`` from per-group
    ``n`` (non-missing values), ``mean``, sample ``sd`` and ``rows``; ``keep_sd``: and the sd itself
    (column ``sd``, NaN below 2 values) for a caller that needs the spread (shrinkage).

    Notes
    -----
    ``mean +/- t_{(1+level)/2, n-1} sd / sqrt(n)`` (:func:`qakit.intervals.mean_ci`; NaN below
    2 values), clipped to ``clip``.

    Examples
    --------
    >>> r = mean_t(pd.DataFrame({"__n": [4], "__mean": [10.0], "__sd": [2.0], "__rows": [4]}), [], "x",
    ...            level=0.95, min_n=30)
    >>> round(float(r["ci_low"].iloc[0]), 4), round(float(r["ci_high"].iloc[0]), 4)  # 10 -/+ 3.1824 * 2 / 2
    (6.8176, 13.1824)
    """
    nn = np.nan_to_num(_f(res, n)).astype("int64")
    mu = _f(res, mean)
    sdv = np.where(nn >= 2, _f(res, sd), np.nan)
    lo, hi = mean_ci(mu, sdv, nn, level=level)
    if clip is not None:
        lo, hi = np.clip(lo, *clip), np.clip(hi, *clip)
    cols = {S.N: nn, name: np.where(nn > 0, mu, np.nan), S.CI_LOW: lo, S.CI_HIGH: hi}
    cols.update({c: _f(res, c) for c in extra})
    cols[S.N_EXCLUDED] = (np.nan_to_num(_f(res, rows)).astype("int64") - nn).astype("int64")
    cols[S.SMALL_SAMPLE] = nn < min_n
    if keep_sd:
        cols[S.SD] = sdv
    return _frame(res, keys, cols)


def nps(res: pd.DataFrame, keys: Sequence[str], name: str, *, level: float, min_n: int, promoters: str = "__p",
        detractors: str = "__d", passives: str = "__m", n: str = "__n") -> pd.DataFrame:
    """``*keys, n, <name>, ci_low, ci_high, se, promoters_pct, passives_pct, detractors_pct,
    small_sample``.

    Notes
    -----
    With ``p_P``, ``p_D`` the promoter and detractor shares, ``NPS = 100 (p_P - p_D)`` and
    ``se = 100 sqrt((p_P + p_D - (p_P - p_D)^2) / n)`` (variance of a difference of two
    multinomial shares); CI ``NPS +/- z se``, clipped to [-100, 100].
    """
    nn = np.nan_to_num(_f(res, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        pp, pdt, pm = (np.nan_to_num(_f(res, c)) / nn for c in (promoters, detractors, passives))
        se = 100 * np.sqrt((pp + pdt - (pp - pdt) ** 2) / nn)
    z = stats.norm.ppf((1 + level) / 2)
    n_int = nn.astype("int64")
    v = 100 * (pp - pdt)
    return _frame(res, keys, {S.N: n_int, name: v, S.CI_LOW: np.clip(v - z * se, -100, 100),
                              S.CI_HIGH: np.clip(v + z * se, -100, 100), S.SE: se, "promoters_pct": 100 * pp,
                              "passives_pct": 100 * pm, "detractors_pct": 100 * pdt, S.SMALL_SAMPLE: n_int < min_n})


def _lerp(a: float, b: float, t: float) -> float:
    """numpy's linear interpolation between neighbours (the ``method="linear"`` quantile)."""
    d = b - a
    return b - d * (1 - t) if t >= 0.5 else a + d * t


def quantiles(picked: pd.DataFrame, keys: Sequence[str], value: str, level: float) -> pd.DataFrame:
    """``*keys, __med, __p90, ci_low, ci_high`` per group from the order statistics
    :func:`qakit.metrics._groups.order_stats` picked (``__r`` rank from 1, ``__n`` group size).

    Notes
    -----
    Quantile ``q`` with ``h = (n - 1) q``: ``x_(floor h) + (h - floor h)(x_(floor h + 1) -
    x_(floor h))`` (0-based; numpy's linear method). Median interval: order statistics
    ``x_(l), x_(u)``, ``l = floor(n/2 - z sqrt(n)/2)``, ``u = ceil(1 + n/2 + z sqrt(n)/2)`` (1-based,
    clipped to 1..n; Conover, Practical Nonparametric Statistics), NaN for ``n < 6``.
    """
    z = float(stats.norm.ppf((1 + level) / 2))
    rows = []
    groups = picked.groupby(list(keys), sort=False, dropna=False, observed=True) if keys else [((), picked)]
    for key, g in groups:
        if len(g) == 0:  # (no key and no value: no statistics)
            continue
        nn = int(g["__n"].iloc[0])
        v = dict(zip(g["__r"].astype(np.int64), g[value].astype(float)))
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        for q, name in ((0.5, "__med"), (0.9, "__p90")):
            h = (nn - 1) * q
            lo = int(np.floor(h))
            hi = min(lo + 1, nn - 1)
            row[name] = _lerp(v[lo + 1], v[hi + 1], h - lo)
        if nn >= 6:
            lo_i = int(np.floor(nn / 2 - z * np.sqrt(nn) / 2))
            hi_i = int(np.ceil(1 + nn / 2 + z * np.sqrt(nn) / 2))
            row[S.CI_LOW], row[S.CI_HIGH] = v[max(lo_i, 1)], v[min(hi_i, nn)]
        else:
            row[S.CI_LOW] = row[S.CI_HIGH] = np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=[*keys, "__med", "__p90", S.CI_LOW, S.CI_HIGH])
