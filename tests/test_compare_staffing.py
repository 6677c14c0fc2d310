"""qakit.compare (direct standardisation, Simpson reversals) and qakit.staffing (Erlang C / A).

References for the expected numbers:

- a constructed Simpson reversal computed by hand (docstrings);
- Erlang C: Call Centre Helper's worked example ("Erlang C Formula - Made Simple With an Easy Worked
  Example": 100 calls in 30 minutes, AHT 3 min, 80 % in 20 s), as published with its results in the
  pyworkforce README (github.com/rodrigo-arenas/pyworkforce): 14 agents -> P(wait) 0.1741319335950498,
  service level 0.8883500191794669, occupancy 0.7142857142857143; 13 agents -> 0.795...;
- Erlang A: the same README's ErlangA example (patience 5 minutes, 13 agents): service level 0.858...,
  occupancy 0.750..., abandonment 0.025..., waiting probability 0.226..., ASA 0.125... minutes (their
  ASA is the mean wait of *all* callers, E[queue] / lambda); and an independent check: a seeded
  discrete-event simulation of the M/M/n+M queue written in this file.
"""

from __future__ import annotations

import heapq
import warnings

import numpy as np
import pandas as pd
import pytest

from qakit import compare as CMP
from qakit import datasets
from qakit import staffing as ST
from qakit.errors import DataValidationError, ParameterError, UndefinedMetricWarning
from qakit.schema import exclusions


# --- compare_groups ---------------------------------------------------------------------------------
def _reversal() -> pd.DataFrame:
    """Team A: chat 80 reviews at 90, phone 20 at 60 -> raw (7200 + 1200) / 100 = 84.
    Team B: chat 20 at 92, phone 80 at 65 -> raw (1840 + 5200) / 100 = 70.4.
    B is better in both channels; A looks better blended because it handles more chat."""
    rows = ([("A", "chat", 90.0)] * 80 + [("A", "phone", 60.0)] * 20 + [("B", "chat", 92.0)] * 20
            + [("B", "phone", 65.0)] * 80)
    d = pd.DataFrame(rows, columns=["team", "channel", "iqs"])
    d["review_id"] = [f"r{i}" for i in range(len(d))]
    return d


def test_simpson_reversal_constructed_by_hand():
    """Common mix: chat (80 + 20) / 200 = .5, phone .5.  Standardised A = .5 x 90 + .5 x 60 = 75,
    B = .5 x 92 + .5 x 65 = 78.5: the ranking reverses, and A vs B reverses in every channel."""
    res = CMP.compare_groups(_reversal(), group="team", value="iqs").set_index("group")
    assert res.loc["A", "raw"] == pytest.approx(84.0) and res.loc["B", "raw"] == pytest.approx(70.4)
    assert res.loc["A", "standardised"] == pytest.approx(75.0) and res.loc["B", "standardised"] == pytest.approx(78.5)
    assert res.loc["A", ["rank_raw", "rank_standardised"]].tolist() == [1, 2]
    assert res["rank_changed"].all()
    assert res.loc["A", "reversed_against"] == "B" and res.loc["B", "reversed_against"] == "A"


def test_standardised_se_by_hand_for_rates():
    """Rates: group A chat 8/10 satisfied, phone 1/2; B chat 2/2, phone 5/10.  Mix chat 12/24 = .5.
    Std A = .5 x .8 + .5 x .5 = .65; se^2 = .25 x .8 x .2 / 10 + .25 x .5 x .5 / 2 = .004 + .03125."""
    rows = ([("A", "chat", 1)] * 8 + [("A", "chat", 0)] * 2 + [("A", "phone", 1), ("A", "phone", 0)]
            + [("B", "chat", 1)] * 2 + [("B", "phone", 1)] * 5 + [("B", "phone", 0)] * 5)
    d = pd.DataFrame(rows, columns=["team", "channel", "sat"])
    res = CMP.compare_groups(d, group="team", value="sat", kind="rate", min_n=0).set_index("group")
    assert res.loc["A", "standardised"] == pytest.approx(0.65)
    assert res.loc["A", "std_se"] == pytest.approx(np.sqrt(0.004 + 0.03125))
    assert res.loc["A", "std_ci_low"] == pytest.approx(0.65 - 1.959963984540054 * np.sqrt(0.03525))


def test_lower_is_better_and_uncommon_strata_are_itemised():
    """AHT (lower is better): a stratum only team A has (email) is left out of the standardised
    figure and its rows itemised, kept in the raw one."""
    d = pd.DataFrame({"team": ["A", "A", "A", "B", "B"], "channel": ["chat", "phone", "email", "chat", "phone"],
                      "handle_time_s": [300.0, 500, 900, 320, 480], "conversation_id": list("abcde")})
    res = CMP.compare_groups(d, group="team", value="handle_time_s", higher_is_better=False, min_n=0)
    r = res.set_index("group")
    assert r.loc["A", "raw"] == pytest.approx(1700 / 3)
    assert r.loc["A", "standardised"] == pytest.approx(0.5 * 300 + 0.5 * 500)
    assert r.loc["B", "rank_standardised"] == 1  # (320 + 480) / 2 = 400 = A's 400: ties share rank 1
    ex = exclusions(res)
    assert ex[ex["reason"].str.contains("not covered")]["row_ids"].iloc[0] == ("c",)


def test_compare_bad_input():
    d = _reversal()
    with pytest.raises(ParameterError, match=r"column\(s\) \['site'\] not in data"):
        CMP.compare_groups(d, group="site", value="iqs")
    with pytest.raises(DataValidationError, match="a rate needs 0/1"):
        CMP.compare_groups(d, group="team", value="iqs", kind="rate")
    with pytest.raises(DataValidationError, match="inf"):
        CMP.compare_groups(d.assign(iqs=np.inf), group="team", value="iqs")


# --- Erlang C -----------------------------------------------------------------------------------------
def test_erlang_c_reproduces_call_centre_helper_example():
    t = pd.DataFrame({"arrivals": [100.0, 100.0], "aht_s": [180.0, 180.0], "agents": [14.0, 13.0]})
    res = ST.erlang_c(t, interval_s=1800, threshold_s=20)
    assert res["load_erlangs"].tolist() == [10.0, 10.0]
    assert res["p_wait"].iloc[0] == pytest.approx(0.1741319335950498, rel=1e-12)
    assert res["service_level"].iloc[0] == pytest.approx(0.8883500191794669, rel=1e-12)
    assert res["occupancy"].iloc[0] == pytest.approx(0.7142857142857143, rel=1e-12)
    assert 0.795 <= res["service_level"].iloc[1] < 0.796  # "0.795..." in pyworkforce's MultiErlangC docs
    # ASA = C x AHT / (n - a) = 0.17413 x 180 / 4
    assert res["asa_s"].iloc[0] == pytest.approx(0.1741319335950498 * 180 / 4)


def test_required_agents_reproduces_the_example_and_reports_one_fewer():
    t = pd.DataFrame({"arrivals": [100.0], "aht_s": [180.0]})
    res = ST.required_agents(t, target=0.8, threshold_s=20).iloc[0]
    assert res["required_agents"] == 14
    assert res["service_level_at_required"] == pytest.approx(0.8883500191794669, rel=1e-12)
    assert 0.795 <= res["service_level_one_fewer"] < 0.796
    # pyworkforce MultiErlangC docs: 90 % needs 15 agents (0.9415 achieved)
    r90 = ST.required_agents(t, target=0.9).iloc[0]
    assert r90["required_agents"] == 15 and r90["service_level_at_required"] == pytest.approx(0.9415, abs=5e-5)
    occ = ST.required_agents(t, target=0.5, max_occupancy=0.7).iloc[0]
    assert occ["required_agents"] == 15 and occ["occupancy"] <= 0.7  # ceil(10 / .7) = 15


def test_fractional_agents_are_the_mix_of_the_two_neighbours():
    """13.5 agents: half the interval with 13, half with 14 -> (0.7956 + 0.8884) / 2, flagged."""
    t = pd.DataFrame({"arrivals": [100.0] * 3, "aht_s": [180.0] * 3, "agents": [13.0, 14.0, 13.5]})
    res = ST.erlang_c(t)
    assert res["service_level"].iloc[2] == pytest.approx(res["service_level"].iloc[:2].mean())
    assert res["agents_fractional"].tolist() == [False, False, True]


def test_unstable_interval_is_nan_with_a_warning_never_inf():
    t = pd.DataFrame({"arrivals": [100.0], "aht_s": [180.0], "agents": [10.0]})  # a = n = 10
    with pytest.warns(UndefinedMetricWarning, match="grows without bound"):
        res = ST.erlang_c(t)
    assert np.isnan(res["service_level"].iloc[0]) and np.isnan(res["asa_s"].iloc[0]) and not res["stable"].iloc[0]


def test_erlang_bad_input_names_the_column():
    with pytest.raises(DataValidationError, match="agents"):
        ST.erlang_c(pd.DataFrame({"arrivals": [1.0], "aht_s": [1.0], "agents": [-1.0]}))
    with pytest.raises(DataValidationError, match="aht_s"):
        ST.erlang_c(pd.DataFrame({"arrivals": [1.0], "agents": [1.0]}))
    with pytest.raises(ParameterError, match="patience"):
        ST.erlang_a(pd.DataFrame({"arrivals": [1.0], "aht_s": [1.0], "agents": [1.0]}))


# --- Erlang A -------------------------------------------------------------------------------------------
def test_erlang_a_reproduces_pyworkforce_readme():
    t = pd.DataFrame({"arrivals": [100.0], "aht_s": [180.0], "agents": [13.0]})
    r = ST.erlang_a(t, patience_s=300).iloc[0]
    assert 0.858 <= r["service_level"] < 0.859
    assert 0.750 <= r["occupancy"] < 0.751
    assert 0.025 <= r["abandon_rate"] < 0.026 or 0.0249 <= r["abandon_rate"] < 0.0251
    assert r["p_wait"] == pytest.approx(0.226, abs=5e-4)
    # their ASA (all callers) = E[queue] / lambda = abandon_rate / theta, 0.125 minutes
    assert r["abandon_rate"] * 300 / 60 == pytest.approx(0.125, abs=5e-4)


def test_erlang_a_tends_to_erlang_c_as_patience_grows():
    t = pd.DataFrame({"arrivals": [100.0, 60.0], "aht_s": [180.0, 240.0], "agents": [13.0, 9.0]})
    a = ST.erlang_a(t, patience_s=1e7)
    c = ST.erlang_c(t)
    for col in ("p_wait", "service_level", "asa_s"):
        np.testing.assert_allclose(a[col], c[col], rtol=5e-4)  # patience 1e7 s vs infinite


def _simulate(lam: float, mu: float, theta: float, n: int, t: float, calls: int, seed: int) -> tuple[float, float, float]:
    """FCFS M/M/n+M by discrete events: callers in arrival order take the earliest free agent if it
    frees before their patience runs out (an abandoning caller takes no agent).  Returns (share of
    callers answered within t, share abandoned, mean wait of answered callers)."""
    rng = np.random.default_rng(seed)
    arrive = np.cumsum(rng.exponential(1 / lam, calls))
    service = rng.exponential(1 / mu, calls)
    patience = rng.exponential(1 / theta, calls)
    free = [0.0] * n
    heapq.heapify(free)
    within = abandoned = 0
    waits = []
    for a, s, p in zip(arrive, service, patience):
        f = free[0]
        w = max(0.0, f - a)
        if w <= p:
            heapq.heapreplace(free, max(a, f) + s)
            waits.append(w)
            within += w <= t
        else:
            abandoned += 1
    return within / calls, abandoned / calls, float(np.mean(waits))


def test_erlang_a_matches_a_seeded_discrete_event_simulation():
    """Independent check of the exact chain: 400,000 simulated callers (seed 11) for 100 calls / 30 min,
    AHT 180 s, 12 agents, patience 120 s.  Monte Carlo error of a share ~ sqrt(p(1-p)/n) ~ 0.0008 (more
    with autocorrelation): compared within 0.005."""
    lam, mu, theta = 100 / 1800, 1 / 180, 1 / 120
    sl, ab, asa = _simulate(lam, mu, theta, 12, 20.0, 400_000, seed=11)
    r = ST.erlang_a(pd.DataFrame({"arrivals": [100.0], "aht_s": [180.0], "agents": [12.0]}), patience_s=120).iloc[0]
    assert r["service_level"] == pytest.approx(sl, abs=0.005)
    assert r["abandon_rate"] == pytest.approx(ab, abs=0.003)
    assert r["asa_s"] == pytest.approx(asa, abs=0.5)


# --- staffing check ----------------------------------------------------------------------------------------
def test_staffing_check_by_hand():
    """One half hour, 2 agents; 4 calls offered (one abandoned), answered at 5, 30 and 10 s: observed
    service level 2 / 4 = .5; AHT = mean handle time 180 s -> load 4 x 180 / 1800 = .4 Erlangs; the
    prediction is erlang_c on (4, 180, 2).  A call at 10:05 (no staffed interval) is itemised."""
    calls = pd.DataFrame({"call_id": ["k1", "k2", "k3", "k4", "k5"], "agent_id": ["a", "a", "b", None, "a"],
                          "created_at": pd.to_datetime(["2026-01-05 09:01", "2026-01-05 09:10", "2026-01-05 09:20",
                                                        "2026-01-05 09:25", "2026-01-05 10:05"], utc=True),
                          "answered": [True, True, True, False, True], "speed_of_answer_s": [5.0, 30, 10, None, 3],
                          "handle_time_s": [180.0, 180, 180, None, 60]})
    staff = pd.DataFrame({"interval_start": pd.to_datetime(["2026-01-05 09:00"], utc=True), "agents": [2.0]})
    res = ST.staffing_check(calls, staff, min_n=0)
    r = res.iloc[0]
    assert (r["n"], r["service_level_observed"], r["aht_s"], r["load_erlangs"]) == (4, 0.5, 180.0, pytest.approx(0.4))
    pred = ST.erlang_c(pd.DataFrame({"arrivals": [4.0], "aht_s": [180.0], "agents": [2.0]})).iloc[0]
    assert r["service_level_predicted"] == pytest.approx(pred["service_level"])
    assert r["gap"] == pytest.approx(0.5 - pred["service_level"])
    assert exclusions(res)["row_ids"].iloc[0] == ("k5",)
    with pytest.raises(DataValidationError, match="not at the start of a 30min interval"):
        ST.staffing_check(calls, staff.assign(interval_start=pd.to_datetime(["2026-01-05 09:10"], utc=True)))


def test_staffing_check_on_the_sample_plan():
    """The sample's plan (qakit.synth.staffing_plan) staffs for 80 % in 20 s on the forecast; the calls'
    waits are drawn independently of it, so over all intervals the prediction and the measurement are
    both near 80-90 % but not equal: the check reports, it does not assume they agree."""
    folder = datasets.sample_data_dir()
    calls, staff = pd.read_parquet(folder / "calls.parquet"), pd.read_parquet(folder / "staffing.parquet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        res = ST.staffing_check(calls, staff, aht="overall")
    w = res["n"] / res["n"].sum()
    assert 0.75 < (w * res["service_level_observed"].fillna(0)).sum() < 0.85
    assert 0.8 < (w * res["service_level_predicted"]).sum() < 0.95
    assert res["agents_fractional"].any()
