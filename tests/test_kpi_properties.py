"""The same properties for every KPI: row order does not matter, ``by=None`` equals the
single-group result, and rows with NaN in the field a KPI needs are excluded and counted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qakit import exclusions, synth
from qakit import kpis as K
from qakit.registry import METRICS

#: hypothesis-heavy properties: ./qa test runs them, ./qa test --fast leaves them out
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tables():
    d = synth.generate(seed=11, n_agents=6, weeks=3, conversations=900, reviews_per_agent_week=1,
                       calibration_conversations=3)
    rng = np.random.default_rng(11)
    n = 400
    answered = rng.random(n) < 0.85
    calls = pd.DataFrame({
        "call_id": [f"K{i}" for i in range(n)], "agent_id": rng.choice(["a", "b", "c"], n),
        "created_at": pd.Timestamp("2026-03-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 30 * 86400, n), unit="s"),
        "answered": answered, "speed_of_answer_s": np.where(answered, rng.exponential(25, n).round(), np.nan),
        "handle_time_s": np.where(answered, rng.exponential(300, n).round(), np.nan),
        "time_to_abandon_s": np.where(answered, np.nan, rng.exponential(40, n).round()),
    })
    return {"conversations": d["conversations"], "surveys": d["surveys"], "calls": calls}


# name -> (function, table, value column, column whose NaN makes a row unusable (None: skip), kwargs),
# for every KPI of the registry (qakit.registry.METRICS) computed from an input table
KPIS = {m.function.split(":")[1]: (m.fn, m.table, m.value, m.needs, dict(m.kwargs))
        for m in METRICS.values() if m.table in ("surveys", "conversations", "calls")}


def _run(name, data, **extra):
    fn, _, _, _, kw = KPIS[name]
    return fn(data, **kw, **extra)


def _canon(df: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in df.columns if df[c].dtype == "str" or c in ("period", "priority")]
    return df.sort_values(keys).reset_index(drop=True) if keys else df.reset_index(drop=True)


@pytest.mark.parametrize("name", sorted(KPIS))
@pytest.mark.parametrize("seed", [0, 1])
def test_row_order_does_not_matter(tables, name, seed):
    data = tables[KPIS[name][1]]
    shuffled = data.sample(frac=1.0, random_state=seed)
    by = "agent_id"
    a, b = _run(name, data, by=by), _run(name, shuffled, by=by)
    pd.testing.assert_frame_equal(_canon(a), _canon(b), check_exact=False, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(KPIS))
def test_by_none_equals_single_group(tables, name):
    data = tables[KPIS[name][1]].assign(everyone="all")
    whole = _run(name, data)
    grouped = _run(name, data, by="everyone").drop(columns="everyone")
    pd.testing.assert_frame_equal(_canon(whole), _canon(grouped), check_exact=False, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(n for n, v in KPIS.items() if v[3] is not None))
def test_nan_rows_excluded_and_counted(tables, name):
    fn, table, value, col, _ = KPIS[name]
    data = tables[table]
    before = _run(name, data)
    usable_idx = data.index[data[col].notna()]
    if name in ("csat_score", "nps_score", "ces_score"):
        kind = name.split("_")[0]
        usable_idx = data.index[data[col].notna() & data["kind"].eq(kind)]
    if name == "service_level":
        usable_idx = data.index[data["answered"]]
    hit = usable_idx[:7]
    damaged = data.astype({col: "boolean"}) if data[col].dtype == bool else data.copy()
    damaged.loc[hit, col] = np.nan if damaged[col].dtype != "boolean" else pd.NA
    after = _run(name, damaged)
    assert after["n"].sum() == before["n"].sum() - len(hit)
    if "n_excluded" in after.columns:
        assert after["n_excluded"].sum() == before["n_excluded"].sum() + len(hit)
    id_col = "call_id" if table == "calls" else "conversation_id"
    ids = set().union(*exclusions(after)["row_ids"])
    assert set(data.loc[hit, id_col].astype(str)) <= ids
    assert np.isfinite(after[value]).all()


def test_abandonment_missing_answered_is_an_error_not_an_exclusion(tables):
    """``answered`` is a required field of the calls contract: a call whose outcome is unknown
    cannot be counted either way, so the whole input is refused with the row ids."""
    from qakit.errors import DataValidationError

    damaged = tables["calls"].astype({"answered": "object"})
    damaged.loc[damaged.index[:2], "answered"] = None
    with pytest.raises(DataValidationError, match=r"'answered': empty value.*\['K0', 'K1'\]"):
        K.abandonment_rate(damaged)
