"""Before/after comparisons (qakit.impact), checked against scipy called here, hand arithmetic and
published values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from qakit import datasets, exclusions
from qakit import impact
from qakit.errors import DataValidationError, ParameterError, UndefinedMetricWarning
from qakit.impact import compare_periods, hodges_lehmann

CHANGE = "2026-02-01"


def frame(before, after, col="v"):
    t = ["2026-01-10 12:00Z"] * len(before) + ["2026-02-10 12:00Z"] * len(after)
    return pd.DataFrame({"created_at": t, col: list(before) + list(after),
                         "conversation_id": [f"c{i}" for i in range(len(t))]})


# --- rates ---------------------------------------------------------------------------------------
def test_two_proportions_by_hand_and_against_r():
    """30/100 before, 45/100 after: pooled p = .375, se = sqrt(.375 * .625 * .02) = .068465,
    z = .15 / .068465 = 2.19089, p = .02846. R: prop.test(c(45, 30), c(100, 100), correct = FALSE)
    gives X-squared = 4.8 (= z^2), p-value = 0.02846; scipy's chi2_contingency(correction=False)
    agrees. CI: Newcombe's hybrid score interval, rebuilt here from the two Wilson intervals."""
    d = frame([1] * 30 + [0] * 70, [1] * 45 + [0] * 55)
    r = compare_periods(d, value="v", kind="rate", change_date=CHANGE).iloc[0]
    assert (r["n_before"], r["n_after"], r["stat_before"], r["stat_after"]) == (100, 100, 0.30, 0.45)
    assert r["effect"] == pytest.approx(0.15) and r["test"] == "two-proportion z"
    z = 0.15 / np.sqrt(0.375 * 0.625 * 0.02)
    assert z**2 == pytest.approx(4.8)
    assert r["p_value"] == pytest.approx(2 * sps.norm.sf(z)) and r["p_value"] == pytest.approx(0.028459, abs=1e-6)
    chi2, p_chi2, _, _ = sps.chi2_contingency([[45, 55], [30, 70]], correction=False)
    assert (chi2, r["p_value"]) == pytest.approx((4.8, p_chi2))

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
    assert np.isnan(r["hodges_lehmann"]) and not r["small_sample"]
    # booleans (nullable, with a missing cell) give the same row; the missing one is itemised
    b = d.assign(v=pd.array(d["v"].astype(bool).tolist()[:-1] + [None], dtype="boolean"))
    rb = compare_periods(b, value="v", kind="rate", change_date=CHANGE).iloc[0]
    assert rb["n_after"] == 99 and rb["stat_after"] == pytest.approx(45 / 99)
    assert exclusions(compare_periods(b, value="v", kind="rate", change_date=CHANGE))["row_ids"].iloc[0] == ("c199",)


def test_newcombe_interval_matches_the_published_example():
    """Newcombe (1998), Stat Med 17:873, example (a): 56/70 vs 48/80, method 10 (hybrid score,
    no continuity correction) gives 0.0524 to 0.3339 for the difference 0.2."""
    d = frame([1] * 48 + [0] * 32, [1] * 56 + [0] * 14)
    r = compare_periods(d, value="v", kind="rate", change_date=CHANGE).iloc[0]
    assert r["effect"] == pytest.approx(0.2)
    assert (round(r["ci_low"], 4), round(r["ci_high"], 4)) == (0.0524, 0.3339)


def test_rate_without_variation_has_no_p_value():
    d = frame([1, 1, 1], [1, 1, 1, 1])
    with pytest.warns(UndefinedMetricWarning, match="does not vary in either period"):
        r = compare_periods(d, value="v", kind="rate", change_date=CHANGE).iloc[0]
    assert np.isnan(r["p_value"]) and r["effect"] == 0 and bool(r["small_sample"]) is True


# --- times ---------------------------------------------------------------------------------------
def test_times_mann_whitney_rank_biserial_and_bootstrap_ci():
    rng = np.random.default_rng(3)
    x, y = rng.lognormal(1.0, 0.8, 80), rng.lognormal(0.7, 0.8, 90)
    r = compare_periods(frame(x, y), value="v", kind="time", change_date=CHANGE, n_resamples=999,
                        seed=5).iloc[0]
    ref = sps.mannwhitneyu(y, x, alternative="two-sided")
    assert r["p_value"] == pytest.approx(ref.pvalue) and r["test"] == "Mann-Whitney U"
    gt = (y[:, None] > x[None, :]).sum() + 0.5 * (y[:, None] == x[None, :]).sum()
    assert r["effect_size"] == pytest.approx(2 * gt / (80 * 90) - 1)
    assert (r["stat_before"], r["stat_after"]) == pytest.approx((np.median(x), np.median(y)))
    assert r["effect"] == pytest.approx(np.median(y) - np.median(x))
    assert r["hodges_lehmann"] == pytest.approx(np.median(np.subtract.outer(y, x)))
    boot = sps.bootstrap((x, y), lambda a, b, axis=-1: np.median(b, axis=axis) - np.median(a, axis=axis),
                         n_resamples=999, method="percentile", rng=np.random.default_rng(5))
    assert (r["ci_low"], r["ci_high"]) == pytest.approx(
        (boot.confidence_interval.low, boot.confidence_interval.high))
    # timedeltas are compared in hours, with identical tests
    td = frame(pd.to_timedelta(x, unit="h"), pd.to_timedelta(y, unit="h"))
    rt = compare_periods(td, value="v", kind="time", change_date=CHANGE, n_resamples=999, seed=5).iloc[0]
    assert rt[["effect", "ci_low", "ci_high", "p_value"]].tolist() == pytest.approx(
        r[["effect", "ci_low", "ci_high", "p_value"]].tolist())


def test_hodges_lehmann_by_hand_and_by_bisection(monkeypatch):
    """before (1, 2, 3), after (2, 4): differences 1, 0, -1, 3, 2, 1 -> sorted -1 0 1 1 2 3 ->
    median 1. Large samples use bisection; forced here and compared to brute force (ties, odd and
    even numbers of pairs)."""
    assert hodges_lehmann(np.array([1.0, 2, 3]), np.array([2.0, 4])) == 1.0
    assert hodges_lehmann(np.array([1.0, 2]), np.array([2.0, 4])) == 1.5  # 1 0 3 2 -> (1 + 2) / 2
    monkeypatch.setattr(impact, "_HL_DIRECT_MAX", 0)
    assert hodges_lehmann(np.array([1.0, 2, 3]), np.array([2.0, 4])) == 1.0
    rng = np.random.default_rng(8)
    for nx, ny in ((301, 207), (300, 208), (1, 1), (2, 3)):
        x, y = rng.integers(0, 50, nx).astype(float), rng.lognormal(3, 1, ny)
        assert hodges_lehmann(x, y) == pytest.approx(np.median(np.subtract.outer(y, x)), rel=1e-12)
        xi = rng.integers(0, 9, nx).astype(float)
        yi = rng.integers(0, 9, ny).astype(float)
        assert hodges_lehmann(xi, yi) == np.median(np.subtract.outer(yi, xi))


# --- means / IQS ---------------------------------------------------------------------------------
def test_means_welch_bca_bootstrap_and_seed():
    rng = np.random.default_rng(1)
    x, y = rng.normal(70, 20, 60), rng.normal(76, 25, 70)
    d = frame(x, y).rename(columns={"created_at": "reviewed_at", "conversation_id": "review_id"})
    kw = dict(value="v", kind="iqs", time="reviewed_at", before=("2026-01-01", "2026-02-01"),
              after=("2026-02-01", "2026-03-01"), n_resamples=999)
    a, b = compare_periods(d, seed=7, **kw), compare_periods(d, seed=7, **kw)
    pd.testing.assert_frame_equal(a, b)
    other = compare_periods(d, seed=8, **kw).iloc[0]
    r = a.iloc[0]
    assert r["ci_low"] != other["ci_low"] and r["effect"] == other["effect"]
    assert r["p_value"] == pytest.approx(sps.ttest_ind(y, x, equal_var=False).pvalue)
    assert r["effect"] == pytest.approx(y.mean() - x.mean())
    boot = sps.bootstrap((x, y), lambda a_, b_, axis=-1: np.mean(b_, axis=axis) - np.mean(a_, axis=axis),
                         n_resamples=999, method="BCa", rng=np.random.default_rng(7))
    assert (r["ci_low"], r["ci_high"]) == pytest.approx(
        (boot.confidence_interval.low, boot.confidence_interval.high))
    pooled = np.sqrt((59 * x.var(ddof=1) + 69 * y.var(ddof=1)) / 128)
    assert r["effect_size"] == pytest.approx((y.mean() - x.mean()) / pooled)


def test_batched_bootstrap_and_progress_bar(monkeypatch, capsys):
    """Resamples are drawn in batches of _BATCH_CELLS // (n_before + n_after); the CI equals scipy's
    with that batch, and the progress bar counts all resamples."""
    monkeypatch.setattr(impact, "_BATCH_CELLS", 1300)  # 1300 // 130 = 10 resamples per batch
    rng = np.random.default_rng(2)
    x, y = rng.normal(70, 20, 60), rng.normal(74, 20, 70)
    r = compare_periods(frame(x, y), value="v", change_date=CHANGE, n_resamples=500, seed=3,
                        progress=True).iloc[0]
    boot = sps.bootstrap((x, y), lambda a, b, axis=-1: np.mean(b, axis=axis) - np.mean(a, axis=axis),
                         n_resamples=500, batch=10, method="BCa", rng=np.random.default_rng(3))
    assert (r["ci_low"], r["ci_high"]) == pytest.approx(
        (boot.confidence_interval.low, boot.confidence_interval.high))
    err = capsys.readouterr().err
    assert "bootstrap v" in err and "500/500" in err
    compare_periods(frame(x, y), value="v", change_date=CHANGE, n_resamples=50)
    assert capsys.readouterr().err == ""  # progress=False: silent


def test_by_groups_and_untestable_group():
    rng = np.random.default_rng(4)
    x1, y1, x2, y2 = rng.normal(60, 10, 40), rng.normal(65, 10, 45), rng.normal(80, 5, 30), rng.normal(79, 5, 35)
    d = pd.concat([frame(x1, y1).assign(team="a"), frame(x2, y2).assign(team="b"),
                   frame([50.0], [55.0, 56.0]).assign(team="c")], ignore_index=True)
    d["conversation_id"] = d["team"] + "-" + d["conversation_id"]  # one row per conversation
    with pytest.warns(UndefinedMetricWarning, match="1 group.s. have fewer than 2 rows in a period"):
        r = compare_periods(d, value="v", by="team", change_date=CHANGE, n_resamples=199)
    assert r.columns[:3].tolist() == ["team", "n_before", "n_after"]
    assert r["team"].tolist() == ["a", "b", "c"] and r["n_before"].tolist() == [40, 30, 1]
    for (x, y), row in zip(((x1, y1), (x2, y2)), r.itertuples()):
        assert row.p_value == pytest.approx(sps.ttest_ind(y, x, equal_var=False).pvalue)
        assert row.effect == pytest.approx(y.mean() - x.mean())
    assert np.isnan(r["p_value"].iloc[2]) and r["test"].iloc[2].startswith("not tested: before period")
    assert r["small_sample"].tolist() == [False, False, True]


def test_sample_data_resolution_time_by_channel():
    """Bundled conversations: resolution hours in weeks 1-4 vs 9-12 per channel; each row's test
    equals scipy's Mann-Whitney on the same rows selected with plain pandas."""
    conv = datasets.load_sample("conversations")
    conv = conv.assign(resolution_time=(conv["resolved_at"] - conv["created_at"]).dt.total_seconds() / 3600)
    before, after = ("2026-08-03", "2026-08-31"), ("2026-09-28", "2026-10-26")
    r = compare_periods(conv, value="resolution_time", kind="time", by="channel", before=before, after=after,
                        n_resamples=99)
    assert r["channel"].tolist() == ["chat", "email", "phone"]
    for row in r.itertuples():
        c = conv[(conv["channel"] == row.channel) & conv["resolution_time"].notna()]
        x = c.loc[c["created_at"].between(pd.Timestamp(before[0], tz="UTC"), pd.Timestamp(before[1], tz="UTC"),
                                          inclusive="left"), "resolution_time"]
        y = c.loc[c["created_at"].between(pd.Timestamp(after[0], tz="UTC"), pd.Timestamp(after[1], tz="UTC"),
                                          inclusive="left"), "resolution_time"]
        assert (row.n_before, row.n_after) == (len(x), len(y))
        assert row.p_value == pytest.approx(sps.mannwhitneyu(y, x).pvalue)
        assert row.effect == pytest.approx(y.median() - x.median())
    unresolved = conv.loc[conv["resolved_at"].isna(), "conversation_id"]
    assert set(exclusions(r)["row_ids"].iloc[0]) == set(unresolved)


# --- bad input -----------------------------------------------------------------------------------
def test_bad_windows_and_kinds():
    d = frame([1.0, 2, 3], [2.0, 3, 4])
    with pytest.raises(ParameterError, match="the before and after windows overlap"):
        compare_periods(d, value="v", before=("2026-01-01", "2026-02-15"), after=("2026-02-01", "2026-03-01"))
    with pytest.raises(ParameterError, match=r"the after period \[2026-06-01 00:00:00\+00:00, ...\) has 0 "
                                             r"usable rows of 'v' \(need >= 2\)"):
        compare_periods(d, value="v", change_date="2026-06-01")
    with pytest.raises(ParameterError, match=r"the before period \[2025-01-01 00:00:00\+00:00, 2025-02-01 "
                                             r"00:00:00\+00:00\) has 0 usable rows"):
        compare_periods(d, value="v", before=("2025-01-01", "2025-02-01"), after=("2026-02-01", "2026-03-01"))
    with pytest.raises(ParameterError, match="kind must be one of 'time', 'rate', 'mean', 'iqs'; got 'median'"):
        compare_periods(d, value="v", kind="median", change_date=CHANGE)
    with pytest.raises(ParameterError, match="either change_date= or before=/after="):
        compare_periods(d, value="v", change_date=CHANGE, before=("2026-01-01", "2026-01-31"))
    with pytest.raises(ParameterError, match="give change_date= or both before="):
        compare_periods(d, value="v", before=("2026-01-01", "2026-01-31"))
    with pytest.raises(ParameterError, match="before must be a .start, end. pair; got '2026-01'"):
        compare_periods(d, value="v", before="2026-01", after=("2026-02-01", "2026-03-01"))
    with pytest.raises(ParameterError, match="the after window must end after it starts"):
        compare_periods(d, value="v", before=("2026-01-01", "2026-01-31"), after=("2026-03-01", "2026-02-01"))
    with pytest.raises(ParameterError, match="change_date must be a date or timestamp; got 'soon'"):
        compare_periods(d, value="v", change_date="soon")
    with pytest.raises(ParameterError, match="n_resamples must be an integer >= 1; got 0"):
        compare_periods(d, value="v", change_date=CHANGE, n_resamples=0)


def test_bad_values_name_column_value_and_row():
    d = frame([1.0, 2, 3], [2.0, 3, 4])
    with pytest.raises(DataValidationError, match=r"column 'v': kind='rate' needs 0/1 or true/false values "
                                                  r"\(5 row\(s\)\); values \[2, 3, 4\]; row ids \[.c1., .c2., .c3., .c4., .c5.\]"):
        compare_periods(d.assign(v=[1.0, 2, 3, 2, 3, 4]), value="v", kind="rate", change_date=CHANGE)
    with pytest.raises(DataValidationError, match=r"column 'v': not a number \(1 row\(s\)\); values \['fast'\]; "
                                                  r"row ids \['c4'\]"):
        compare_periods(d.assign(v=["1", "2", "3", "4", "fast", "6"]), value="v", change_date=CHANGE)
    with pytest.raises(DataValidationError, match=r"column 'v': negative duration .*values \[-2\]; row ids \['c1'\]"):
        compare_periods(d.assign(v=[1.0, -2, 3, 2, 3, 4]), value="v", kind="time", change_date=CHANGE)
    with pytest.raises(DataValidationError, match=r"column 'created_at': unparseable timestamp.*'yesterday'.*row ids \['c0'\]"):
        compare_periods(d.assign(created_at=["yesterday"] + d["created_at"].tolist()[1:]), value="v",
                        change_date=CHANGE)
    scores = d.rename(columns={"created_at": "reviewed_at"})
    with pytest.raises(ParameterError, match="time column 'created_at' not in data .review scores carry "
                                             "'reviewed_at': pass time='reviewed_at'"):
        compare_periods(scores, value="v", kind="iqs", change_date=CHANGE)
    with pytest.raises(ParameterError, match="value column 'csat' not in data"):
        compare_periods(d, value="csat", change_date=CHANGE)


def test_a_conversation_listed_twice_is_refused_not_counted_twice():
    """The same conversation twice would weigh double and narrow the interval: an error naming it."""
    d = frame([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    d = pd.concat([d, d.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataValidationError, match=r"column 'conversation_id' duplicate conversation_id .*'c0'"):
        compare_periods(d, value="v", change_date=CHANGE)


def test_contract_columns_keep_their_range():
    """handle_time_s is >= 0 in the conversations contract, so -5 s is refused here too."""
    d = frame([100.0, 200.0, 300.0], [150.0, -5.0, 250.0], col="handle_time_s")
    with pytest.raises(DataValidationError, match=r"column 'handle_time_s' below the minimum 0 of the data contract .*'c4'"):
        compare_periods(d, value="handle_time_s", change_date=CHANGE)
