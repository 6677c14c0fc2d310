"""Every headline tile, the six of the registry's HEADLINE and the two the optional tables add
(service level from calls, AQS from messages), built by the one loop of
:func:`qakit.report.tiles.headline`: value, interval, target, status, previous, change and its interval,
credible, each recomputed here from the raw sample files (plain pandas, scipy, the textbook
Wilson / Student-t / NPS formulas, the status rule of :mod:`qakit.report.targets`' docstring). The change
intervals are a seeded bootstrap: they are recomputed with :func:`qakit.impact.compare_periods`
on row-level values built here by hand, so the test checks what the tile feeds it and how the
result is scaled, not the bootstrap itself (tests/test_impact.py does that).
"""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import qakit.report.data as R
import qakit.report.operations  # noqa: F401 - registers the optional tiles (service level, AQS), as the report notebook does
import qakit.report.tiles as T
from qakit import autoqa, datasets
from qakit.report.tiles import TILE_SOURCES
from qakit.impact import compare_periods
from qakit.registry import HEADLINE, METRICS
from qakit.scorecard import Category, Scorecard

START, END, AFTER_END, PREV = "2026-10-01", "2026-10-28", "2026-10-29", "2026-09-03"
TARGETS = {"service_level": {"target": 85, "owner": "Ops"}, "iqs": 90, "aqs": 70, "csat": {"target": 95, "margin": 2}}
N_RESAMPLES = 999
Z = stats.norm.ppf(0.975)


def _ts(s):
    return pd.Timestamp(s, tz="UTC")


def _in(df, col, lo, hi):
    return df[(df[col] >= _ts(lo)) & (df[col] < _ts(hi))]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    f = tmp_path_factory.mktemp("tiles") / "sample"
    shutil.copytree(datasets.sample_data_dir(), f)
    return f


@pytest.fixture(scope="module")
def head(folder):
    d = R.load_report_data(dataset=str(folder), start=START, end=END)
    R.load_optional_tables(d, dataset=str(folder))
    return T.headline(d, TARGETS, n_resamples=N_RESAMPLES).set_index("metric")


def _raw(name):
    return pd.read_parquet(datasets.sample_data_dir() / f"{name}.parquet")


def _rows(lo, hi, as_of):
    """Row-level values per tile for the window [lo, hi), by hand: (frame with v and t, kind)."""
    card = datasets.load_sample_scorecard()
    sc = card.score(_in(_raw("ratings"), "reviewed_at", lo, hi))
    sc = sc[sc["iqs"].notna()]
    sv = _in(_raw("surveys"), "answered_at", lo, hi)
    cs, nps = (sv[sv["kind"].eq(k) & sv["score"].notna()] for k in ("csat", "nps"))
    cv = _in(_raw("conversations"), "created_at", lo, hi)
    frt = (cv["first_response_at"] - cv["created_at"]).dt.total_seconds() / 3600
    hi_c = cv[cv["priority"].isin(["high", "urgent"])]
    took = (hi_c["resolved_at"] - hi_c["created_at"]).dt.total_seconds() / 3600
    waited = (as_of - hi_c["created_at"]).dt.total_seconds() / 3600
    met = pd.Series(np.where(hi_c["resolved_at"].notna(), (took <= 4).astype(float),
                             np.where(waited > 4, 0.0, np.nan)), index=hi_c.index)
    calls = _in(_raw("calls"), "created_at", lo, hi)
    known = ~(calls["answered"] & calls["speed_of_answer_s"].isna())
    calls = calls[known]
    msgs = _raw("messages")
    first = msgs.groupby("conversation_id")["sent_at"].min()
    keep = first[(first >= _ts(lo)) & (first < _ts(hi))].index
    msgs = msgs[msgs["conversation_id"].isin(keep)]
    rules = list(autoqa.DEFAULT_RULES)
    acard = Scorecard([Category(r.name) for r in rules], name="Automatic categories")
    aq = acard.score(autoqa.auto_ratings(autoqa.detect(msgs, rules=rules)).drop(columns=["source"]))
    aq = aq[aq["iqs"].notna()]

    def f(v, t):
        return pd.DataFrame({"v": np.asarray(v, dtype=float), "t": np.asarray(t)})

    return {
        "iqs": (f(sc["iqs"], sc["reviewed_at"]), "iqs"),
        "pass_rate": (f(sc["passed"], sc["reviewed_at"]), "rate"),
        "csat": (f(cs["score"] >= 4, cs["answered_at"]), "rate"),
        "nps": (f(np.where(nps["score"] >= 9, 100.0, np.where(nps["score"] <= 6, -100.0, 0.0)), nps["answered_at"]),
                "mean"),
        "first_response_time": (f(frt.where(frt >= 0), cv["created_at"]), "time"),
        "sla_high": (f(met, hi_c["created_at"]).dropna(subset=["v"]), "rate"),
        "service_level": (f(calls["answered"] & (calls["speed_of_answer_s"] <= 20), calls["created_at"]), "rate"),
        "aqs": (f(aq["iqs"], aq["conversation_id"].map(first)), "iqs"),
    }


def _wilson(k, n):
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    spread = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return 100 * (centre - spread), 100 * (centre + spread)


def _t(x):
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return x.mean() - half, x.mean() + half


def _status(value, target, direction, margin, lo=None, hi=None):
    """The rule in qakit.report.targets' docstring; an interval straddling the target is inconclusive
    (qakit.verdict, issue 25)."""
    if lo is not None and lo < target < hi:
        return "inconclusive"
    gap = value - target if direction == "higher" else target - value
    return "on target" if gap >= 0 else "at risk" if gap >= -margin else "off target"


def test_every_tile_equals_the_raw_files_by_hand(head):
    assert list(head.index) == [*HEADLINE, "service_level", "aqs"]
    conv = _in(_raw("conversations"), "created_at", START, AFTER_END)
    as_of = max(conv[c].max() for c in ("created_at", "first_response_at", "resolved_at"))
    cur, old = _rows(START, AFTER_END, as_of), _rows(PREV, START, as_of)
    for name, (rows, kind) in cur.items():
        r, v = head.loc[name], rows["v"].dropna()
        # value, n, interval
        if kind == "rate":
            assert r["n"] == len(v) and r["value"] == pytest.approx(100 * v.mean(), abs=1e-12), name
            assert (r["ci_low"], r["ci_high"]) == pytest.approx(_wilson(v.sum(), len(v)), abs=1e-9), name
        elif kind == "iqs":
            assert r["n"] == len(v) and r["value"] == pytest.approx(v.mean(), abs=1e-12), name
            assert (r["ci_low"], r["ci_high"]) == pytest.approx(_t(v), abs=1e-9), name
        elif name == "nps":
            pp, pd_ = (v > 0).mean(), (v < 0).mean()
            se = 100 * math.sqrt((pp + pd_ - (pp - pd_) ** 2) / len(v))
            assert r["n"] == len(v) and r["value"] == pytest.approx(v.mean(), abs=1e-12)
            assert (r["ci_low"], r["ci_high"]) == pytest.approx((v.mean() - Z * se, v.mean() + Z * se), abs=1e-9)
        else:  # first response time: the median (its interval is tested in tests/test_kpis.py)
            assert r["n"] == len(v) and r["value"] == pytest.approx(v.median(), abs=1e-12)
        # target, owner, status: the registry's defaults under TARGETS
        m = METRICS[name]
        spec = TARGETS.get(name, {})
        spec = {"target": spec} if isinstance(spec, (int, float)) else spec
        target = spec.get("target", m.target)
        owner = spec.get("owner", m.owner if m.target is not None else "")
        margin = spec.get("margin", m.margin if m.margin is not None else 5)
        assert r["direction"] == m.direction and r["owner"] == owner, name
        assert r["target"] == target and r["status"] == _status(r["value"], target, m.direction, margin,
                                                                r["ci_low"], r["ci_high"]), name
        # change against 3-30 Sep
        o = old[name][0]
        c = compare_periods(pd.concat([o, rows], ignore_index=True), value="v", time="t", kind=kind,
                            before=(_ts(PREV), _ts(START)), after=(_ts(START), _ts(AFTER_END)), seed=0,
                            n_resamples=N_RESAMPLES).iloc[0]
        scale = 100.0 if kind == "rate" else 1.0
        ov = o["v"].dropna()
        prev = ov.median() if kind == "time" else scale * ov.mean()
        assert r["previous"] == pytest.approx(prev, abs=1e-12), name
        now = v.median() if kind == "time" else scale * v.mean()
        assert r["change"] == pytest.approx(now - prev, abs=1e-12), name
        assert (r["change_ci_low"], r["change_ci_high"]) == pytest.approx(
            (scale * c["ci_low"], scale * c["ci_high"]), abs=1e-12), name
        assert r["p_value"] == pytest.approx(c["p_value"], abs=1e-12), name
        assert r["credible"] == (r["change_ci_low"] > 0 or r["change_ci_high"] < 0), name


def test_one_source_per_tile(head, folder):
    """Every tile has one registered source (no second builder); the optional tiles appear once
    load_optional_tables attached their tables."""
    assert set(head.index) <= set(TILE_SOURCES)
    d = R.load_report_data(dataset=str(folder), start=START, end=END)
    plain = T.headline(d, {}, n_resamples=99)
    assert "service_level" not in set(plain["metric"])  # not before load_optional_tables
    R.load_optional_tables(d, dataset=str(folder))
    assert list(T.headline(d, {}, n_resamples=99)["metric"])[-2:] == ["service_level", "aqs"]


def test_headline_warns_when_an_optional_tile_is_not_registered(folder, monkeypatch):
    """A library user who calls ``headline`` on data with calls and messages without importing
    :mod:`qakit.report.operations` (which registers those tiles) is told so, not left without
    the service-level and AQS tiles in silence; the other tiles are unchanged."""
    from qakit.errors import QakitWarning

    d = R.load_report_data(dataset=str(folder), start=START, end=END)
    R.load_optional_tables(d, dataset=str(folder))
    # (a copy without them: the registry itself, and its order, untouched for the other tests)
    monkeypatch.setattr(T, "TILE_SOURCES", {k: v for k, v in TILE_SOURCES.items() if k not in ("service_level", "aqs")})
    with pytest.warns(QakitWarning, match=r"aqs, service_level tile\(s\).*qakit\.report\.operations"):
        got = T.headline(d, TARGETS, n_resamples=99).set_index("metric")
    assert "service_level" not in got.index and "aqs" not in got.index
    assert set(HEADLINE) <= set(got.index)
