"""Honest target verdicts: a value whose interval straddles its target is *inconclusive*, not on target.

A CSAT of 100 % on 10 answers has a 95 % interval of 72-100 %: the data cannot tell whether the
target of 90 % is met. :func:`target_verdict` turns such a tile's status (on target / at risk / off
target, from :func:`qakit.report.targets.target_status`) into ``"inconclusive"`` -- shown in neither
colour -- and says how many observations would decide it: the n at which an interval around the
current value would no longer reach the target, from :func:`qakit.stats.sample_size_plan` with
``half_width = |value - target|``.

Planning spread: for shares (percent of answers, reviews, conversations or calls), the binomial
sd at the target, ``100 sqrt(t (1 - t))`` with ``t = target / 100`` -- the spread where the decision
is hardest, and never 0 (at 100 % the observed spread is 0 and would promise an n of 2); for other
metrics (IQS and AQS means, NPS points, hours) the spread the current interval implies,
``sd = half-width * sqrt(n) / z_{(1+level)/2}``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from . import schema as S
from .stats import sample_size_plan

INCONCLUSIVE = "inconclusive"
#: metrics whose percent value is a mean score, not a share of yes/no outcomes
SCORE_MEANS = ("iqs", "aqs")


def decision_sd(name: str, unit: str, *, target: float, n: float, ci_low: float, ci_high: float,
                level: float = 0.95) -> float:
    """The planning sd of :func:`target_verdict` (see the module docstring).

    Examples
    --------
    >>> round(decision_sd("csat", "% satisfied", target=90, n=10, ci_low=72.2, ci_high=100), 6)  # 100 sqrt(.9 .1)
    30.0
    >>> round(decision_sd("iqs", "%", target=85, n=100, ci_low=80, ci_high=84), 4)  # 2 * 10 / 1.96
    10.2042
    """
    if str(unit).startswith("%") and name not in SCORE_MEANS and 0 < target < 100:
        t = target / 100.0
        return 100.0 * math.sqrt(t * (1 - t))
    z = stats.norm.ppf((1 + level) / 2)
    return float((ci_high - ci_low) / 2 * math.sqrt(n) / z)


def target_verdict(status: str, *, name: str, unit: str, value: float, ci_low: float, ci_high: float, n: float,
                   target: float, level: float = 0.95) -> tuple[str, float]:
    """``(status, n_to_decide)``: ``"inconclusive"`` when ``ci_low < target < ci_high``, with the
    observations needed to decide (:func:`qakit.stats.sample_size_plan`'s ``n_required`` for a
    half-width of ``|value - target|``); otherwise the status unchanged and NaN.

    Examples
    --------
    CSAT 100 % on 10 answers (Wilson interval 72.2-100) against a target of 90: planning sd 30
    points, half-width 10: ``n = (1.96 * 30 / 10)^2 = 34.6``, stepped up while
    ``t_{.975, n-1} * 30 / sqrt(n) > 10`` (n = 37: 2.0281 * 30 / 6.083 = 10.002; n = 38: 2.0262 * 30 /
    6.164 = 9.861): 38 answers.

    >>> target_verdict("on target", name="csat", unit="% satisfied", value=100.0, ci_low=72.2, ci_high=100.0,
    ...                n=10, target=90)
    ('inconclusive', 38.0)
    >>> target_verdict("on target", name="csat", unit="% satisfied", value=95.0, ci_low=92.0, ci_high=97.0,
    ...                n=400, target=90)
    ('on target', nan)
    """
    vals = (value, ci_low, ci_high, target, n)
    if any(v is None or not np.isfinite(v) for v in vals) or not ci_low < target < ci_high:
        return status, float("nan")
    gap = abs(value - target)
    sd = decision_sd(name, unit, target=target, n=n, ci_low=ci_low, ci_high=ci_high, level=level)
    if gap <= 0 or not sd > 0:  # exactly at the target: no sample size decides it
        return INCONCLUSIVE, float("nan")
    plan = sample_size_plan(pd.DataFrame({S.IQS: [np.nan]}), half_width=gap, sd=sd, level=level)  # sd given: no data used
    return INCONCLUSIVE, float(plan["n_required"].iloc[0])
