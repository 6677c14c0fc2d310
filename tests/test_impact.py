"""Before/after comparisons (qakit.impact), checked against scipy and hand arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from qakit.errors import ParameterError
from qakit.impact import compare_periods


def frame(before, after, col="v"):
    t = ["2026-01-10 12:00Z"] * len(before) + ["2026-02-10 12:00Z"] * len(after)
    return pd.DataFrame({"created_at": t, col: list(before) + list(after),
                         "conversation_id": [f"c{i}" for i in range(len(t))]})


def test_two_proportions_by_hand():
    """30/100 before, 45/100 after: pooled p = .375, se = sqrt(.375 * .625 * .02) = .068465,
    z = .15 / .068465 = 2.19089, p = .02846 (R: prop.test(c(45, 30), c(100, 100), correct = FALSE)
    gives X-squared = 4.8, p-value = 0.02846). CI: Newcombe hybrid score from the two Wilson
    intervals, computed here from scratch."""
    d = frame([1] * 30 + [0] * 70, [1] * 45 + [0] * 55)
    r = compare_periods(d, value="v", kind="rate", change_date="2026-02-01").iloc[0]
    assert r["effect"] == pytest.approx(0.15)
    assert r["p_value"] == pytest.approx(0.028459, abs=1e-6)

    def wilson(k, n, z=1.959963984540054):
        p = k / n
        c = (p + z * z / (2 * n)) / (1 + z * z / n)
        h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return c - h, c + h

    (l1, u1), (l2, u2) = wilson(30, 100), wilson(45, 100)
    lo = 0.15 - np.sqrt((0.45 - l2) ** 2 + (u1 - 0.30) ** 2)
    hi = 0.15 + np.sqrt((u2 - 0.45) ** 2 + (0.30 - l1) ** 2)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))
    assert r["effect_size"] == pytest.approx(2 * np.arcsin(np.sqrt(0.45)) - 2 * np.arcsin(np.sqrt(0.30)))


def test_times_mann_whitney_and_rank_biserial():
    rng = np.random.default_rng(3)
    x, y = rng.lognormal(1.0, 0.8, 80), rng.lognormal(0.7, 0.8, 90)
    r = compare_periods(frame(x, y), value="v", kind="time", change_date="2026-02-01", n_resamples=999).iloc[0]
    ref = sps.mannwhitneyu(y, x, alternative="two-sided")
    assert r["p_value"] == pytest.approx(ref.pvalue)
    gt = (y[:, None] > x[None, :]).sum() + 0.5 * (y[:, None] == x[None, :]).sum()
    assert r["effect_size"] == pytest.approx(2 * gt / (80 * 90) - 1)
    assert r["effect"] == pytest.approx(np.median(y) - np.median(x))
    assert r["ci_low"] < r["effect"] < r["ci_high"]


def test_means_welch_and_seeded_bootstrap():
    rng = np.random.default_rng(1)
    x, y = rng.normal(70, 20, 60), rng.normal(76, 25, 70)
    d = frame(x, y)
    a = compare_periods(d, value="v", kind="iqs", before=("2026-01-01", "2026-02-01"),
                        after=("2026-02-01", "2026-03-01"), seed=7, n_resamples=999)
    b = compare_periods(d, value="v", kind="iqs", before=("2026-01-01", "2026-02-01"),
                        after=("2026-02-01", "2026-03-01"), seed=7, n_resamples=999)
    pd.testing.assert_frame_equal(a, b)
    r = a.iloc[0]
    assert r["p_value"] == pytest.approx(sps.ttest_ind(y, x, equal_var=False).pvalue)
    assert r["effect"] == pytest.approx(y.mean() - x.mean())
    assert r["ci_low"] < r["effect"] < r["ci_high"]


def test_bad_windows_and_kinds():
    d = frame([1.0, 2, 3], [2.0, 3, 4])
    with pytest.raises(ParameterError, match="the before and after windows overlap"):
        compare_periods(d, value="v", before=("2026-01-01", "2026-02-15"), after=("2026-02-01", "2026-03-01"))
    with pytest.raises(ParameterError, match="the after period has 0 usable rows of 'v'"):
        compare_periods(d, value="v", change_date="2026-06-01")
    with pytest.raises(ParameterError, match="kind must be one of"):
        compare_periods(d, value="v", kind="median", change_date="2026-02-01")
    with pytest.raises(ParameterError, match="either change_date= or before=/after="):
        compare_periods(d, value="v", change_date="2026-02-01", before=("2026-01-01", "2026-01-31"))
    with pytest.raises(ParameterError, match="kind='rate' needs 0/1"):
        compare_periods(d, value="v", kind="rate", change_date="2026-02-01")
