"""Honest tiles (issue 25): a tile whose interval straddles its target is inconclusive, in neither
colour, with the n that would decide it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import qakit.report.data as R
import qakit.report.tiles as T
import qakit.report.views as V
from qakit.verdict import INCONCLUSIVE, target_verdict


@pytest.fixture()
def ten_happy_answers(tmp_path):
    """10 CSAT answers, all 5 of 5: CSAT 100 % on n = 10."""
    sv = pd.DataFrame({"conversation_id": [f"c{i}" for i in range(10)], "kind": "csat", "score": 5.0,
                       "answered_at": pd.date_range("2026-10-01", periods=10, freq="D", tz="UTC")})
    sv.to_parquet(tmp_path / "surveys.parquet")
    return tmp_path


def test_csat_100_on_10_answers_is_inconclusive_not_green(ten_happy_answers):
    """Wilson interval for 10 of 10: lower limit 10 / (10 + 1.96^2) = 72.25 %, upper 100 %; the
    target 90 lies inside, so the tile is inconclusive. Planning sd at the target 100 sqrt(.9 x .1)
    = 30, half-width |100 - 90| = 10: the smallest n with t_{.975, n-1} 30 / sqrt(n) <= 10 is 38
    (n = 37 gives 10.002)."""
    d = R.load_report_data(dataset=str(ten_happy_answers))
    head = T.headline(d, {"csat": 90}, n_resamples=99).set_index("metric")
    r = head.loc["csat"]
    z = stats.norm.ppf(0.975)
    assert r["n"] == 10 and r["value"] == pytest.approx(100.0)
    assert r["ci_low"] == pytest.approx(100 * 10 / (10 + z * z))
    assert r["status"] == INCONCLUSIVE
    n_hand = next(n for n in range(3, 200) if stats.t.ppf(0.975, n - 1) * 30 / math.sqrt(n) <= 10)
    assert n_hand == 38 and r["n_to_decide"] == n_hand
    html = V.tiles(d, head.reset_index()).markup
    tile = html[html.index('data-metric="csat"'):]
    tile = tile[:tile.index("</div></div>")]
    assert 'class="qakit-tile status-none" data-metric="csat"' in html  # grey: neither green nor red
    assert "inconclusive: about 38 answers would decide" in tile
    assert "Too little data to tell against the target: CSAT" in V.summary(d, head.reset_index()).text


def test_decided_tiles_keep_their_status():
    """An interval wholly above the target stays on target; wholly below stays off target."""
    kw = dict(name="csat", unit="% satisfied", n=400, target=90)
    assert target_verdict("on target", value=95, ci_low=92, ci_high=97, **kw) == ("on target", pytest.approx(np.nan, nan_ok=True))
    assert target_verdict("off target", value=80, ci_low=76, ci_high=84, **kw)[0] == "off target"
    assert target_verdict("at risk", value=88, ci_low=85, ci_high=91, **kw)[0] == INCONCLUSIVE
    # no interval (NaN): nothing to judge by, status unchanged
    assert target_verdict("on target", value=95, ci_low=np.nan, ci_high=np.nan, **kw)[0] == "on target"


def test_mean_metric_uses_the_interval_spread():
    """IQS 83 on n = 100 with CI 80-86 against 85: sd = 3 sqrt(100) / 1.95996 = 15.307, half-width 2:
    n from sample_size_plan's rule (smallest n with t_{.975, n-1} sd / sqrt(n) <= 2)."""
    st, n = target_verdict("at risk", name="iqs", unit="%", value=83, ci_low=80, ci_high=86, n=100, target=85)
    sd = 3 * 10 / stats.norm.ppf(0.975)
    n_hand = next(k for k in range(3, 5000) if stats.t.ppf(0.975, k - 1) * sd / math.sqrt(k) <= 2)
    assert st == INCONCLUSIVE and n == n_hand
