"""Confidence intervals and grouping helpers shared by every aggregate in qakit.

Vectorised: each function takes arrays of per-group summaries (counts, means, standard
deviations) so that one call serves all groups.  scipy provides the distributions.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from . import schema as S
from .errors import ParameterError, SmallSampleWarning, check_choice

#: groups with fewer observations than this are flagged ``small_sample``
MIN_N = 30


def check_level(level: float) -> float:
    """Validate a confidence level in (0, 1)."""
    if not (isinstance(level, (int, float)) and 0 < float(level) < 1):
        raise ParameterError(f"level must be a number strictly between 0 and 1; got {level!r}")
    return float(level)


def as_by(by: str | Sequence[str] | None) -> list[str]:
    """Normalise a ``by`` argument (None, a column name, or a list of names) to a list."""
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def check_by(df: pd.DataFrame, by: list[str], table: str = "data") -> None:
    """Raise a clear error when a grouping column is not in ``df``."""
    missing = [b for b in by if b not in df.columns]
    if missing:
        raise ParameterError(
            f"by column(s) {missing} not in {table}; available: {sorted(map(str, df.columns))}"
        )


def with_period(df: pd.DataFrame, period: str | None, column: str) -> tuple[pd.DataFrame, list[str]]:
    """``df`` with a ``period`` column (the UTC period start of ``column``) and the key list to group
    by (``[]`` without a period): the one pandas period rule of the tables that are not KPIs of
    :mod:`qakit.metrics` (review scores, QA operations, daily aggregates). Text timestamps are parsed
    by the data contract's rule.

    Examples
    --------
    >>> df = pd.DataFrame({"at": pd.to_datetime(["2026-11-04 23:30", "2026-11-09 00:10"], utc=True)})
    >>> with_period(df, "W", "at")[0]["period"].dt.strftime("%Y-%m-%d").tolist()  # weeks start Monday
    ['2026-11-02', '2026-11-09']
    """
    if period is None:
        return df, []
    check_choice("period", period, ("D", "W", "M", "Q", "Y"))
    if column not in df.columns:
        raise ParameterError(f"period needs a {column!r} column; available: {sorted(map(str, df.columns))}")
    ts = df[column]
    if not isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = S.parse_datetimes(ts, column=column)
    return df.assign(period=ts.dt.tz_localize(None).dt.to_period(period).dt.start_time), ["period"]


def mean_ci(
    mean: np.ndarray, sd: np.ndarray, n: np.ndarray, *, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Student-t interval for a mean: ``mean +/- t_{(1+level)/2, n-1} * sd / sqrt(n)``.

    NaN where ``n < 2`` (no spread can be estimated).

    Examples
    --------
    >>> lo, hi = mean_ci(np.array([10.0]), np.array([2.0]), np.array([4]))
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)  # 10 -/+ 3.1824 * 2 / 2
    (6.8176, 13.1824)
    """
    level = check_level(level)
    mean, sd, n = (np.asarray(a, dtype=float) for a in (mean, sd, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        t = stats.t.ppf((1 + level) / 2, n - 1)
        half = t * sd / np.sqrt(n)
    half = np.where(n >= 2, half, np.nan)
    return mean - half, mean + half


#: the correlations :func:`fisher_ci` knows the variance of ``atanh r`` of
FISHER_KINDS = ("pearson", "spearman", "kendall")


def fisher_ci(r: float, n: float, level: float, k: int = 0, *, kind: str = "pearson",
              se: float | None = None) -> tuple[float, float]:
    """Fisher z interval for a correlation: ``tanh(atanh r -/+ z_{(1+level)/2} * se)``.

    ``se`` given: the standard error of ``atanh r`` estimated elsewhere (e.g. an asymptotic
    standard error of ``r`` divided by ``1 - r^2``, the delta method). Otherwise ``se^2``, the
    variance of ``atanh r``, by ``kind``:

    - ``pearson``: ``1 / (n - 3 - k)`` (Fisher 1921; ``k`` covariates partialled out, ``n`` may be
      an effective n such as Kish's);
    - ``spearman``: ``(1 + r^2 / 2) / (n - 3)`` (Bonett & Wright 2000, Psychometrika 65(1):23-28);
    - ``kendall`` (tau-b): ``0.437 / (n - 4)`` (Fieller, Hartley & Pearson 1957, Biometrika
      44:470-481; recommended by Bonett & Wright 2000).

    NaN for a non-finite ``r`` or too few pairs (``n - 3 - k <= 0``; Kendall ``n <= 4``).
    ``|r| = 1`` is read as ``1 - 1e-15`` so the interval stays finite.

    Examples
    --------
    >>> lo, hi = fisher_ci(0.5, 103, 0.95)  # atanh .5 = .549306 -/+ 1.959964 / 10
    >>> round(lo, 4), round(hi, 4)
    (0.3393, 0.6323)
    >>> lo, hi = fisher_ci(0.8699639, 15, 0.95, kind="spearman")  # statpsych ci.spear: .5840951, .9638297
    >>> round(lo, 6), round(hi, 6)
    (0.584095, 0.96383)
    >>> lo, hi = fisher_ci(0.5, 441, 0.95, kind="kendall")  # .549306 -/+ 1.959964 * sqrt(.437 / 437)
    >>> round(lo, 4), round(hi, 4)
    (0.4521, 0.545)
    """
    check_choice("kind", kind, FISHER_KINDS)
    if kind == "pearson":
        df = n - 3 - k
    else:
        df = n - (3 if kind == "spearman" else 4)
    if not np.isfinite(r) or df <= 0 or (se is not None and not np.isfinite(se)):
        return np.nan, np.nan
    z = stats.norm.ppf((1 + level) / 2)
    zr = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
    if se is not None:
        half = z * se
    elif kind == "pearson":
        half = z / np.sqrt(df)
    elif kind == "spearman":
        half = z * np.sqrt((1 + r**2 / 2) / df)
    else:
        half = z * np.sqrt(0.437 / df)
    return float(np.tanh(zr - half)), float(np.tanh(zr + half))


def pooled_moments(cells: pd.DataFrame, by: str) -> pd.DataFrame:
    """Cells of observations (``n``, ``mean`` and ``m2``, the sum of squared deviations from the
    cell's mean) combined per ``by``: ``n``, ``mean`` and the sample variance ``var`` (ddof=1, NaN
    below 2 observations) of all their observations, indexed by ``by`` in sorted order.

    Notes
    -----
    Chan, Golub & LeVeque's parallel formula: ``M2 = sum_c [m2_c + n_c (mean_c - mean)^2]`` with
    ``mean = sum_c n_c mean_c / sum_c n_c``; ``var = M2 / (n - 1)``.

    Examples
    --------
    >>> c = pd.DataFrame({"g": ["a", "a"], "n": [2, 1], "mean": [1.0, 4.0], "m2": [2.0, 0.0]})  # 0, 2 | 4
    >>> pooled_moments(c, "g")  # mean 2, var ((0-2)^2 + (2-2)^2 + (4-2)^2) / 2 = 4
       n  mean  var
    g              
    a  3   2.0  4.0
    """
    n = cells.groupby(by, sort=True)["n"].sum()
    mean = (cells["n"] * cells["mean"]).groupby(cells[by], sort=True).sum() / n
    dev = cells["m2"] + cells["n"] * (cells["mean"] - cells[by].map(mean).to_numpy()) ** 2
    m2 = dev.groupby(cells[by], sort=True).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(n > 1, m2 / (n - 1), np.nan)
    return pd.DataFrame({"n": n, "mean": mean, "var": var})


def wilson_ci(
    k: np.ndarray, n: np.ndarray, *, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion ``k / n`` (returned as proportions in [0, 1]).

    ``(p + z^2/2n +/- z * sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``; NaN where ``n == 0``.
    Agrees with ``statsmodels.stats.proportion.proportion_confint(k, n, method="wilson")``.

    Examples
    --------
    >>> lo, hi = wilson_ci(np.array([8]), np.array([10]))
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)  # R: prop.test(8, 10, correct=FALSE)
    (0.4902, 0.9433)
    """
    level = check_level(level)
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    z = stats.norm.ppf((1 + level) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    lo = np.where(n > 0, centre - half, np.nan)
    hi = np.where(n > 0, centre + half, np.nan)
    return lo, hi


def warn_small(n: np.ndarray | pd.Series, what: str, *, min_n: int = MIN_N) -> np.ndarray:
    """Boolean flags for ``n < min_n``; emits one :class:`SmallSampleWarning` if any are set."""
    n = np.asarray(n)
    small = n < min_n
    if small.any():
        warnings.warn(
            f"{int(small.sum())} group(s) of {what} have fewer than {min_n} observations; "
            "their intervals are wide and they are flagged small_sample",
            SmallSampleWarning,
            stacklevel=3,
        )
    return small
