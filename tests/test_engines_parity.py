"""Parity is the contract, by construction and by test: every metric runs its ONE definition
(:mod:`qakit.metrics`) on pandas, Polars, DuckDB and Spark local, and every engine gives the pandas
numbers to 1e-9, the same records (reasons and sets of row ids) and the same errors.

Each engine gets the table in its own form (a Polars frame, a DuckDB relation, a Spark DataFrame),
so the data contract runs on the engine itself (:mod:`qakit.metrics._contract`), not on pandas.

Data: seeded edge cases -- N/A-heavy reviews, all-N/A and all-critical-fail reviews, weight-0-only
reviews, sections (fail_rule section / all, a bonus section), list, range, penalty and continuous
scales, the three modes, every N/A policy; DST and time-zone edges (Europe/Berlin and
America/New_York wall times around the 2026 switches), ties at medians, empty groups (a channel whose
conversations are all open), censored FCR windows, unanswered surveys and answers without a time;
issue 12's rules (``EDGE``: FCR censored at ``as_of``, SLA priorities matched ignoring case,
whitespace and Unicode form, open past / within target, a resolved status without ``resolved_at``,
backlog with a group that vanishes, ``period=`` with ``partial``); fractional survey answers on class
edges; and hypothesis-generated hostile tables (``test_hostile_*``: ids differing by whitespace, case
and Unicode form, NaN/inf, missing category rows under every N/A policy, empty groups, DST).

The reference numbers are the pandas functions' own (independently tested in test_scorecard.py,
test_kpis.py and test_kpi_edges.py); here only agreement across engines is asserted, value by value.
The KPI list is the registry's (:data:`qakit.registry.METRICS`, :data:`qakit.registry.TABLE_KPIS`).
The two mismatches of issue 22 have their own tests, against numbers computed by hand.

Spark (``slow``): one local session for the whole suite; a fixed, seeded sample of the cases (every
building block once), since each Spark query costs about a second.
"""

from __future__ import annotations

import gc
import unicodedata
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qakit
import qakit.calls  # noqa: F401  (call_handle_time)
import qakit.engines  # noqa: F401  (the deprecated aliases)
from qakit import kpis as K
from qakit import schema as S
from qakit import scorecard as SC
from qakit.errors import DataValidationError, ParameterError, QakitError
from qakit.metrics._source import duckdb_connection
from qakit.registry import METRICS, TABLE_KPIS
from qakit.scorecard import Category, Scorecard, Section

TOL = 1e-9
SEED = 20261127
FAST = ("polars", "duckdb")


# --- seeded edge-case data ---------------------------------------------------------------------
def _cards() -> dict[str, Scorecard]:
    cats = [
        Category("Knowledge", 1.5, critical=True, scale="binary", section="Core"),
        Category("Solution", 1.25, scale=5, section="Core"),
        Category("Tone", 1.0, critical=True, scale="0-2", critical_threshold=60, section="Soft"),
        Category("Grammar", 0.5, scale=[100, 75, 25, 0], section="Soft"),
        Category("Zero", 0.0, scale=5, section="Soft"),
        Category("Delight", 1.0, scale="binary", section="Extra"),
    ]
    secs = (Section("Core", 2.0, fail_rule="section"), Section("Soft", 1.0, fail_rule="all"),
            Section("Extra", 0.5, bonus=True))
    plain = [Category(c.name, c.weight, critical=c.critical, scale=c.scale, critical_threshold=c.critical_threshold)
             for c in cats]
    vendor = [  # issue 13: pooled sections, penalties, list scales, fail_values, N/A policies, continuous
        Category("Knowledge", 2.0, critical=True, scale="binary", section="Core", na="zero"),
        Category("Solution", 1.0, scale={"min": 1, "max": 10, "step": "any"}, section="Core"),
        Category("Outcome", 1.5, scale=[100, 50, 10], fail_values=[10], section="Soft", na="full"),
        Category("Rude", 1.0, scale=[-5, 0], section="Soft"),
        Category("AutoFail", 0.0, critical=True, scale="binary", section="Soft"),
        Category("Delight", 1.0, scale="binary", section="Extra"),
    ]
    vsecs = (Section("Core", 1.0, fail_rule="section"), Section("Soft", 2.0, fail_rule="all"),
             Section("Extra", 0.5, bonus=True))
    return {
        "vendor_points_pooled": Scorecard(vendor, mode="points", sections=vsecs, sections_combine="points",
                                          pass_threshold=60),
        "vendor_weighted": Scorecard([c for c in vendor if c.name != "Rude"], mode="weighted", sections=vsecs,
                                     pass_threshold=60),
        "weighted_sections": Scorecard(cats, mode="weighted", sections=secs, pass_threshold=75),
        "points": Scorecard(plain, mode="points", pass_threshold=70),
        "mean_over_max_bands": Scorecard(plain, mode="mean_over_max",
                                        bands={"excellent": 95, "good": 80, "fair": 60, "poor": 0}),
    }


def _ratings(card: Scorecard, seed: int = SEED, n_reviews: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_reviews):
        kind = i % 8
        at = pd.Timestamp("2026-03-27T22:00:00Z") + pd.Timedelta(hours=int(rng.integers(0, 24 * 9)))
        for c in card.categories:
            vals = (np.array([1.0, 2.5, 5.5, 7.25, 10.0]) if c.scale.kind == "continuous"
                    else np.array(c.scale.values))
            if kind == 0:  # all N/A
                r = np.nan
            elif kind == 1:  # every critical category at its worst (and fail values)
                r = vals.min() if (c.critical or c.fail_values) else rng.choice(vals)
            elif kind == 2:  # only the weight-0 category rated
                r = rng.choice(vals) if c.weight == 0 else np.nan
            elif kind == 3:  # all at their best
                r = vals.max()
            else:  # N/A-heavy
                r = np.nan if rng.random() < 0.45 else rng.choice(vals)
            rows.append((f"R{i:04d}", f"C{i:04d}", f"A{i % 7}", f"Q{i % 3}", at, c.name, r))
    df = pd.DataFrame(rows, columns=[S.REVIEW_ID, S.CONVERSATION_ID, S.AGENT_ID, S.REVIEWER_ID, S.REVIEWED_AT,
                                     S.CATEGORY, S.RATING])
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # reviews not contiguous


def _conversations(seed: int = SEED, n: int = 480) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # wall-clock times around the 2026 DST switches, in two zones (parsed to UTC by validation)
    berlin = pd.date_range("2026-03-28 20:00", periods=n // 2, freq="37min", tz="Europe/Berlin")
    ny = pd.date_range("2025-10-31 20:00", periods=n - n // 2, freq="53min", tz="America/New_York")
    created = pd.Series(list(berlin.tz_convert("UTC")) + list(ny.tz_convert("UTC")))
    chan = rng.choice(np.array(["email", "chat", "phone"], dtype=object), size=n)
    chan[rng.random(n) < 0.05] = "social"
    hours_fr = rng.choice([0.5, 1.0, 1.0, 2.0, 3.0, 8.0], size=n)  # many ties
    hours_res = rng.choice([1.0, 4.0, 4.0, 24.0, 30.0, 80.0], size=n)
    fr = created + pd.to_timedelta(hours_fr, unit="h")
    res = created + pd.to_timedelta(hours_res, unit="h")
    open_ = rng.random(n) < 0.2
    open_[chan == "social"] = True  # an empty group for the time KPIs
    res[open_] = pd.NaT
    fr[rng.random(n) < 0.08] = pd.NaT
    neg = rng.random(n) < 0.02
    res[neg & ~open_] = created[neg & ~open_] - pd.Timedelta(minutes=5)
    huge = rng.random(n) < 0.02
    res[huge & ~open_] = created[huge & ~open_] + pd.Timedelta(days=100)
    status = np.where(open_, rng.choice(["open", "pending"], size=n), rng.choice(["solved", "Closed"], size=n))
    status[open_ & (rng.random(n) < 0.1)] = "RESOLVED"  # resolved by status only
    esc = pd.array(rng.random(n) < 0.15, dtype="boolean")
    esc[rng.random(n) < 0.05] = pd.NA
    contacts = rng.choice([1.0, 1.0, 2.0, 3.0, np.nan], size=n)
    handle = rng.choice([60.0, 300.0, 300.0, 900.0, 2400.0, np.nan], size=n)
    value = rng.choice([20.0, 80.0, 500.0, np.nan], size=n)
    return pd.DataFrame({
        S.CONVERSATION_ID: [f"C{i:04d}" for i in range(n)],
        S.CUSTOMER_ID: [f"U{j:03d}" for j in rng.integers(0, 90, size=n)],
        S.AGENT_ID: [f"A{j}" for j in rng.integers(0, 7, size=n)],
        S.CHANNEL: chan,
        S.PRIORITY: rng.choice(["urgent", "high", "normal", "low", "vip"], size=n),
        S.CREATED_AT: created, S.FIRST_RESPONSE_AT: fr, S.RESOLVED_AT: res,
        S.STATUS: status, S.ESCALATED: esc, S.CONTACTS: contacts, S.HANDLE_TIME_S: handle, S.CUSTOMER_VALUE: value,
    })


def _surveys(conv: pd.DataFrame, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 1)
    parts = []
    for kind, vals in (("csat", [1, 2, 3, 4, 5]), ("nps", list(range(11))), ("ces", list(range(1, 8)))):
        ids = conv[S.CONVERSATION_ID].sample(frac=0.7, random_state=int(rng.integers(1e6)))
        score = rng.choice(vals, size=len(ids)).astype(float)
        score[rng.random(len(ids)) < 0.1] = np.nan
        at = conv.set_index(S.CONVERSATION_ID).loc[ids, S.CREATED_AT].to_numpy() + pd.Timedelta(hours=3)
        at = pd.Series(at)
        at[rng.random(len(ids)) < 0.05] = pd.NaT
        parts.append(pd.DataFrame({S.CONVERSATION_ID: ids.to_numpy(), S.KIND: kind, S.SCORE: score,
                                   S.ANSWERED_AT: at.to_numpy()}))
    return pd.concat(parts, ignore_index=True)


def _calls(seed: int = SEED, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 2)
    ans = rng.random(n) < 0.85
    speed = rng.choice([5.0, 19.0, 20.0, 20.0, 21.0, 60.0], size=n)  # ties at the threshold
    speed[~ans] = np.nan
    speed[ans & (rng.random(n) < 0.05)] = np.nan
    agents = [f"A{j}" for j in rng.integers(0, 5, n)]
    # handle time of answered calls and time to abandon of the others, a few missing (itemised); the
    # draws come after the others, so those columns are what they were
    handle = np.where(ans, rng.choice([180.0, 240.0, 600.0], size=n), np.nan)
    handle[ans & (rng.random(n) < 0.05)] = np.nan
    wait = np.where(ans, np.nan, rng.choice([5.0, 30.0, 95.0], size=n))
    wait[~ans & (rng.random(n) < 0.1)] = np.nan
    return pd.DataFrame({S.CALL_ID: [f"K{i:04d}" for i in range(n)], S.AGENT_ID: agents,
                         S.CREATED_AT: pd.date_range("2026-03-29 00:10", periods=n, freq="11min", tz="UTC"),
                         S.ANSWERED: ans, S.SPEED_OF_ANSWER_S: speed, S.HANDLE_TIME_S: handle,
                         S.TIME_TO_ABANDON_S: wait})


def _edge_conversations(seed: int = SEED, n: int = 240) -> pd.DataFrame:
    """The issue-12 rules' edge cases: priorities in mixed case, padded and in another Unicode
    form ('Straße' matched to a target 'STRASSE' by case-folding, which SQL lower() would miss);
    resolved statuses in mixed case and a resolved status without resolved_at; open conversations
    past and within their target at the data's end; first responses and resolutions exactly on
    the target (ties); customers who come back inside, exactly at and after the repeat window,
    some of them in the last days (censored); resolved before created (backlog, SLA); a channel
    all of whose rows are resolved before created (a group that disappears); times around the
    2026-10-25 DST switch in Europe/Berlin."""
    rng = np.random.default_rng(seed + 3)
    created = pd.Series(pd.date_range("2026-10-20 08:00", periods=n, freq="71min", tz="Europe/Berlin")
                        .tz_convert("UTC"))
    prio = rng.choice(np.array(["High", " high ", "URGENT", "normal", "Normal ", "low", "vip", "Straße"], dtype=object),
                      size=n)
    hours = rng.choice([0.5, 1.0, 1.0, 4.0, 4.0, 8.0, 24.0, 30.0], size=n)  # ties on the targets
    res = created + pd.to_timedelta(hours, unit="h")
    fr = created + pd.to_timedelta(rng.choice([0.25, 1.0, 1.0, 4.0], size=n), unit="h")
    open_ = rng.random(n) < 0.25
    open_[-12:] = True  # open at the data's end: some within target, some past it
    res[open_] = pd.NaT
    fr[rng.random(n) < 0.1] = pd.NaT
    status = np.where(open_, rng.choice(np.array(["open", "Pending"], dtype=object), size=n),
                      rng.choice(np.array(["Solved ", "CLOSED", "resolved"], dtype=object), size=n))
    status[open_ & (rng.random(n) < 0.2)] = "Resolved"  # a resolved status without resolved_at
    chan = rng.choice(np.array(["email", "chat"], dtype=object), size=n)
    neg = rng.random(n) < 0.04
    res[neg & ~open_] = created[neg & ~open_] - pd.Timedelta(hours=2)
    gone = np.arange(n) % 60 == 7  # a channel whose rows are all resolved before created
    chan[gone] = "fax"
    res[gone] = created[gone] - pd.Timedelta(minutes=30)
    # customers: a pool of 40, so repeats within / at / after windows happen, in the last days too
    cust = np.array([f"U{j:02d}" for j in rng.integers(0, 40, size=n)], dtype=object)
    contacts = rng.choice([1.0, 1.0, 1.0, 2.0], size=n)
    return pd.DataFrame({
        S.CONVERSATION_ID: [f"E{i:04d}" for i in range(n)], S.CUSTOMER_ID: cust,
        S.AGENT_ID: [f"A{j}" for j in rng.integers(0, 4, size=n)], S.CHANNEL: chan, S.PRIORITY: prio,
        S.CREATED_AT: created, S.FIRST_RESPONSE_AT: fr, S.RESOLVED_AT: res, S.STATUS: status,
        S.CONTACTS: contacts})


EDGE_TARGETS = {"urgent": 1, "HIGH": 4, "normal": 24, "low": 72, "STRASSE": 8}
EDGE_AS_OF = "2026-10-29 12:00Z"  # mid-data: later rows not judged, windows censored, a partial period

CARDS = _cards()
RATINGS = {k: _ratings(c) for k, c in CARDS.items()}
CONV = _conversations()
SURVEYS = _surveys(CONV)
CALLS = _calls()
EDGE = _edge_conversations()



# --- moving a table to an engine, and comparing ------------------------------------------------
_SPARK: dict = {}


def spark():
    """One local Spark session for the whole suite, tuned for tiny tables (no whole-stage code
    generation, one shuffle partition, UTC) and a short-lived JVM on a shared 2-core machine: the
    quick (C1) compiler only and the serial collector (the optimising compiler's and G1's threads
    competed with the test workers; the Spark test's cases took 42-57 s against 60-105 s, measured
    interleaved at load 6-8)."""
    if "s" not in _SPARK:
        from pyspark.sql import SparkSession

        s = (SparkSession.builder.master("local[2]").appName("qakit-parity")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", "1").config("spark.default.parallelism", "1")
             .config("spark.sql.codegen.wholeStage", "false").config("spark.sql.adaptive.enabled", "false")
             .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
        s.sparkContext.setLogLevel("ERROR")
        _SPARK["s"] = s
    return _SPARK["s"]


def _arrow(df: pd.DataFrame) -> pa.Table:
    t = pa.Table.from_pandas(df, preserve_index=False)
    return t.cast(pa.schema([pa.field(f.name, pa.string() if f.type == pa.large_string() else f.type)
                             for f in t.schema]))


def native(df, engine: str):
    """``df`` (a raw pandas table, not validated) in ``engine``'s own form."""
    if df is None or engine == "pandas" or not isinstance(df, pd.DataFrame):
        return df
    if engine == "polars":
        return pl.from_arrow(_arrow(df))
    if engine == "duckdb":
        return duckdb_connection().from_arrow(_arrow(df))
    if engine == "spark":
        return spark().createDataFrame(_arrow(df))
    raise AssertionError(engine)


def on(engine: str, fn, data, **kw):
    """``fn`` with every table argument in ``engine``'s form (the engine is the data's)."""
    kw = {k: native(v, engine) if isinstance(v, pd.DataFrame) and k in ("conversations", "surveys", "calls") else v
          for k, v in kw.items()}
    return fn(native(data, engine), **kw)


def assert_parity(ref: pd.DataFrame, got: pd.DataFrame) -> None:
    """Same columns and rows; numbers equal to 1e-9 (NaN where NaN); everything else equal as
    text; the same exclusion and adjustment reasons with the same sets of row ids."""
    ref, got = ref.reset_index(drop=True), got.reset_index(drop=True)
    assert list(got.columns) == list(ref.columns)
    assert len(got) == len(ref)
    for c in ref.columns:
        a, b = ref[c], got[c]
        if pd.api.types.is_float_dtype(a.dtype):
            x, y = a.to_numpy(dtype=float, na_value=np.nan), b.to_numpy(dtype=float, na_value=np.nan)
            np.testing.assert_allclose(y, x, rtol=TOL, atol=TOL, equal_nan=True, err_msg=c)
        else:
            assert list(b.astype("str")) == list(a.astype("str")), c
    for reader in (S.exclusions, S.adjustments):
        ea, eb = reader(ref), reader(got)
        assert list(eb["reason"]) == list(ea["reason"])
        assert list(eb["n"]) == list(ea["n"])
        assert list(eb["source"]) == list(ea["source"])
        for x, y in zip(ea["row_ids"], eb["row_ids"]):
            assert sorted(y) == sorted(x)


def outcome(fn):
    """``("ok", result)`` or ``("error", type, problems)``: the problems of a
    DataValidationError as sorted (column, check, n_failed), a ParameterError's message."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", qakit.errors.QakitWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            return ("ok", fn())
    except DataValidationError as e:
        f = e.failures
        return ("error", "DataValidationError", sorted(zip(f["column"], f["check"], f["n_failed"])))
    except QakitError as e:
        return ("error", type(e).__name__, str(e))


def assert_same(ref, got) -> None:
    assert ref[0] == got[0], (ref[:2], got[:2])
    if ref[0] == "ok":
        if isinstance(ref[1], pd.DataFrame):
            assert_parity(ref[1], got[1])
    else:
        assert ref[1:] == got[1:]


def check_engines(fn, data, engines=FAST, **kw):
    ref = outcome(lambda: fn(data, **kw))
    for e in engines:
        assert_same(ref, outcome(lambda e=e: on(e, fn, data, **kw)))
    return ref


def _fractional_surveys() -> pd.DataFrame:
    """Averaged answers on class edges (CSAT 3.5/4.5 around the threshold 4, NPS 6.5/8.5/9.5
    around 7 and 9, CES 3.5), answers placed only by their conversation, and a 1-10 CSAT."""
    sv = SURVEYS.copy()
    rng = np.random.default_rng(SEED + 4)
    for kind, extra in (("csat", [3.5, 4.5, 3.99, 4.0]), ("nps", [6.5, 6.99, 7.0, 8.5, 8.99, 9.0, 9.5]),
                        ("ces", [3.5, 6.5])):
        i = sv.index[sv[S.KIND].eq(kind) & sv[S.SCORE].notna()]
        pick = rng.choice(i, size=60, replace=False)
        sv.loc[pick, S.SCORE] = rng.choice(extra, size=60)
    return sv


FRACTIONAL = _fractional_surveys()
TABLES = {"surveys": SURVEYS, "conversations": CONV, "calls": CALLS}


# --- every KPI of the registry, on every engine ------------------------------------------------------
def _registry_cases():
    cases = []
    for m in METRICS.values():
        if not m.definition or m.table not in TABLES:  # IQS / pass rate: the scoring tests; AQS: pandas only
            continue
        for variant in ({}, {"by": "channel"}, {"period": "W"}):
            kw = {**m.kwargs, **variant}
            if m.table == "surveys" and "by" in variant:
                kw["conversations"] = CONV
            if m.table == "calls" and "by" in variant:
                kw["by"] = "agent_id"
            cases.append(pytest.param(m.fn, m.table, kw, id=f"{m.name}-{'-'.join(variant) or 'all'}"))
    for name, (function, table, _) in TABLE_KPIS.items():
        fn = getattr(K, function.split(":")[1])
        kw = {"backlog": {"period": "W", "by": "channel"}, "customer_cost_value": {"cost_per_contact": 5.0},
              "kpi_summary": {"surveys": SURVEYS, "calls": CALLS, "by": "agent_id", "period": "W"}}[name]
        cases.append(pytest.param(fn, table, kw, id=name))
    return cases


@pytest.mark.parametrize("fn,table,kw", _registry_cases())
def test_every_registry_kpi_is_equal_on_every_engine(fn, table, kw):
    ref = check_engines(fn, TABLES[table], **kw)
    assert ref[0] == "ok", ref  # (the data are meant to give numbers)


ISSUE12 = [
    ("fcr_rate", "EDGE", {}), ("fcr_rate", "EDGE", {"as_of": EDGE_AS_OF, "by": "channel"}),
    ("fcr_rate", "EDGE", {"repeat_days": 1.5, "period": "D"}), ("fcr_rate", "CONV", {"rule": "contacts", "period": "W"}),
    ("fcr_rate", "CONV", {"as_of": "2026-04-02 00:00Z", "period": "W", "by": "channel"}),
    ("sla_attainment", "EDGE", {}), ("sla_attainment", "EDGE", {"targets": EDGE_TARGETS, "as_of": EDGE_AS_OF}),
    ("sla_attainment", "EDGE", {"targets": EDGE_TARGETS, "metric": "first_response", "by": "channel", "period": "D"}),
    ("sla_attainment", "CONV", {"period": "W", "as_of": "2026-03-30 06:00Z"}),
    ("backlog", "EDGE", {}), ("backlog", "EDGE", {"period": "D", "by": ["channel", "priority"]}),
    ("backlog", "CONV", {"period": "M", "by": "agent_id"}),
    ("first_response_time", "EDGE", {"period": "D", "by": "channel"}), ("resolution_time", "CONV", {"period": "W"}),
    ("resolution_time", "CONV", {"by": ["channel", "priority"], "max_hours": 48}),
    ("escalation_rate", "CONV", {"period": "D", "by": "channel"}), ("resolution_rate", "EDGE", {"period": "D"}),
    ("service_level", "CALLS", {"period": "D", "denominator": "answered"}),
    ("service_level", "CALLS", {"threshold_s": 20}),
    ("csat_score", "SURVEYS", {"period": "W"}), ("csat_score", "SURVEYS", {"period": "D", "by": "channel",
                                                                          "conversations": CONV}),
    ("csat_score", "SURVEYS", {"satisfied": 5}), ("nps_score", "SURVEYS", {"period": "M"}),
    ("nps_score", "SURVEYS", {"by": "agent_id", "conversations": CONV}),
    ("ces_score", "SURVEYS", {"period": "D", "conversations": CONV}), ("ces_score", "SURVEYS", {"higher_is_better": False}),
    ("csat_score", "FRACTIONAL", {"by": "channel", "conversations": CONV}),
    ("csat_score", "FRACTIONAL", {"satisfied": 4.5, "period": "W"}),
    ("nps_score", "FRACTIONAL", {"period": "D", "conversations": CONV}),
    ("ces_score", "FRACTIONAL", {"scale": (1, 7), "higher_is_better": False}),
    ("cost_per_contact", "CONV", {"total_cost": 1000.0, "by": "channel"}),
    ("interactions_per_issue", "EDGE", {"by": "priority"}),
]


@pytest.mark.parametrize("fn,data,kw", ISSUE12, ids=[f"{f}-{d}-{i}" for i, (f, d, _) in enumerate(ISSUE12)])
def test_rules_parity(fn, data, kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error", K.UnmatchedTargetWarning)
        ref = check_engines(getattr(K, fn), globals()[data], **kw)
    assert ref[0] == "ok", ref
    if ("period" in kw or fn == "backlog") and kw.get("period", "W") in ("W", "M"):
        assert ref[1][K.PARTIAL].any() and not ref[1][K.PARTIAL].all()  # the flag really varies (days: whole)



def _call_log(seed: int = SEED, n: int = 300) -> pd.DataFrame:
    """A call log's answered and abandoned calls with handle time and its parts: some answered calls
    without a handle time (itemised), empty parts (counted 0), a DST week end (29 March)."""
    c = _calls(seed, n)
    rng = np.random.default_rng(seed + 7)
    talk = rng.gamma(2.0, 120.0, n).round(1)
    hold = np.where(rng.random(n) < 0.3, rng.gamma(1.0, 30.0, n).round(1), np.nan)
    acw = rng.gamma(1.5, 20.0, n).round(1)
    ans = c[S.ANSWERED].to_numpy()
    ht = talk + np.nan_to_num(hold) + acw
    ht[~ans | (rng.random(n) < 0.04)] = np.nan
    for a in (talk, hold, acw):
        a[~ans] = np.nan
    return c.assign(**{S.HANDLE_TIME_S: ht, S.TALK_TIME_S: talk, S.HOLD_TIME_S: hold, S.AFTER_CALL_WORK_S: acw})


@pytest.mark.parametrize("kw", [{}, {"by": "agent_id"}, {"by": "agent_id", "period": "W"}], ids=["all", "by", "period"])
def test_call_handle_time_is_one_definition_on_every_engine(kw):
    """qakit.calls.call_handle_time on pandas, Polars and DuckDB: equal to 1e-9 with the same records;
    the pandas numbers are checked by hand: the mean over answered calls with a handle time."""
    log = _call_log()
    ref = check_engines(qakit.calls.call_handle_time, log, min_n=0, **kw)
    assert ref[0] == "ok", ref
    if not kw:
        use = log[log[S.ANSWERED] & log[S.HANDLE_TIME_S].notna()]
        got = ref[1].iloc[0]
        assert got[S.N] == len(use) and got[S.HANDLE_TIME_S] == pytest.approx(use[S.HANDLE_TIME_S].mean(), abs=1e-9)
        assert got[S.HOLD_TIME_S] == pytest.approx(use[S.HOLD_TIME_S].fillna(0).mean(), abs=1e-9)
        missing = int((log[S.ANSWERED] & log[S.HANDLE_TIME_S].isna()).sum())
        assert missing > 0 and got[S.N_EXCLUDED] == missing


def _queue_log(seed: int = SEED, n: int = 300) -> pd.DataFrame:
    """Calls of a queue log: unanswered calls end as ABANDON, EXITWITHTIMEOUT, Overflow or no
    outcome (a mixed-case vocabulary), with a time to abandon; a few answered calls lack a speed."""
    c = _calls(seed, n)
    rng = np.random.default_rng(seed + 9)
    ans = c[S.ANSWERED].to_numpy()
    outcome = np.where(ans, "COMPLETEAGENT", rng.choice(["ABANDON", "EXITWITHTIMEOUT", "Overflow to Q2", None], n))
    wait = np.where(ans, np.nan, rng.gamma(2.0, 25.0, n).round(1))
    wait[~ans & (rng.random(n) < 0.1)] = np.nan
    return c.assign(**{S.OUTCOME: outcome, S.TIME_TO_ABANDON_S: wait})


@pytest.mark.parametrize("fn", ["call_answer_time", "call_abandon_time", "abandonment_rate"])
@pytest.mark.parametrize("kw", [{}, {"by": "agent_id", "period": "W"}], ids=["all", "by-period"])
def test_call_times_and_abandonment_are_one_definition_on_every_engine(fn, kw):
    """ASA, time to abandon and the abandonment rate of a queue log on pandas, Polars and DuckDB,
    equal to 1e-9 with the same records; the pandas numbers checked by hand: a timeout or an overflow
    is offered but not abandoned, and not part of the time to abandon."""
    log = _queue_log()
    f = getattr(qakit.calls, fn, None) or getattr(K, fn)
    ref = check_engines(f, log, min_n=0, **kw)
    assert ref[0] == "ok", ref
    if kw:
        return
    got = ref[1].iloc[0]
    ans = log[S.ANSWERED]
    left = log[S.OUTCOME].fillna("").str.lower().str.contains("timeout|overflow")
    abandoned = ~ans & ~left
    if fn == "call_answer_time":
        use = log[ans & log[S.SPEED_OF_ANSWER_S].notna()]
        assert got[S.N] == len(use) and got["asa_s"] == pytest.approx(use[S.SPEED_OF_ANSWER_S].mean(), abs=1e-9)
    elif fn == "call_abandon_time":
        use = log[abandoned & log[S.TIME_TO_ABANDON_S].notna()]
        assert got[S.N] == len(use)
        assert got[S.TIME_TO_ABANDON_S] == pytest.approx(use[S.TIME_TO_ABANDON_S].mean(), abs=1e-9)
        assert got[S.N_EXCLUDED] == int((abandoned & log[S.TIME_TO_ABANDON_S].isna()).sum()) > 0
    else:
        assert got[S.N] == len(log) and got["abandonment_rate"] == pytest.approx(abandoned.mean(), abs=1e-12)
        assert left.sum() > 0 and abandoned.sum() < (~ans).sum()

# --- scoring ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("card_name", list(CARDS))
def test_score_reviews_parity(card_name):
    card, r = CARDS[card_name], RATINGS[card_name]
    ref = SC.score_reviews(r, card).sort_values(S.REVIEW_ID).reset_index(drop=True)
    for e in FAST:
        assert_parity(ref, on(e, SC.score_reviews, r, card=card))
    # the edge cases are really there
    assert ref[S.IQS].isna().sum() >= 30 and (ref[S.CRITICAL_FAILED]).sum() >= 30


@pytest.mark.parametrize("card_name,by,period", [
    ("weighted_sections", "agent_id", None), ("points", None, "D"), ("mean_over_max_bands", "reviewer_id", "W"),
    ("vendor_points_pooled", "agent_id", "M"), ("vendor_weighted", None, "Q")])
def test_iqs_and_category_scores_parity(card_name, by, period):
    card, r = CARDS[card_name], RATINGS[card_name]
    ref = SC.iqs_score(SC.score_reviews(r, card), by=by, period=period)
    assert_parity(ref, SC.iqs_score(r, card=card, by=by, period=period))  # card=: the same on pandas
    refc = SC.category_scores(r, card, by=by, period=period)
    for e in FAST:
        assert_parity(ref, on(e, SC.iqs_score, r, card=card, by=by, period=period))
        assert_parity(refc, on(e, SC.category_scores, r, card=card, by=by, period=period))
    # a scores table on an engine aggregates to the same IQS; its record cannot travel with it, so the
    # unscored reviews are itemised as "review has no score", as pandas does for a frame without a record
    scores = pd.DataFrame(SC.score_reviews(r, card))
    scores.attrs.clear()
    for e in FAST:
        assert_parity(SC.iqs_score(scores, by=by, period=period), on(e, SC.iqs_score, scores, by=by, period=period))


# --- the two mismatches of issue 22 -----------------------------------------------------------------
NA_CARD = Scorecard([Category("A", 1.0, scale=5, na="full"), Category("B", 1.0, scale=5, na="zero"),
                     Category("C", 1.0, scale=5)])


def _na_ratings() -> pd.DataFrame:
    return pd.DataFrame({S.REVIEW_ID: ["r1", "r2", "r2", "r3", "r4"], S.CONVERSATION_ID: ["c1", "c2", "c2", "c3", "c4"],
                         S.AGENT_ID: "a", S.REVIEWER_ID: "q", S.REVIEWED_AT: pd.Timestamp("2026-01-01", tz="UTC"),
                         S.CATEGORY: ["C", "C", "A", "B", "C"], S.RATING: [3.0, 5.0, 1.0, 5.0, np.nan]})


def test_missing_category_rows_under_na_full_and_zero_score_alike_on_every_engine(tmp_path):
    """Issue 22's first mismatch: a review with NO row for an ``na: full`` / ``na: zero`` category
    scored 50 on pandas and 0 on DuckDB. Now every engine gives the numbers by hand (weighted
    mode, ``s = (r - 1) / 4 * 100``, weights 1):

    - r1: C = 3 -> 50; A absent (full) -> 100; B absent (zero) -> 0: (50 + 100 + 0) / 3 = 50
    - r2: C = 5 -> 100; A = 1 -> 0; B absent (zero) -> 0: 100 / 3 = 33.33...
    - r3: B = 5 -> 100; A absent (full) -> 100; C absent (exclude): (100 + 100) / 2 = 100
    - r4: C N/A (exclude), A absent -> 100, B absent -> 0: but nothing is rated -> not scored.
    """
    expected = [50.0, 100 / 3, 100.0, np.nan]
    r = _na_ratings()
    r.to_parquet(tmp_path / "r.parquet")
    for e in ("pandas", *FAST):
        got = on(e, SC.score_reviews, r, card=NA_CARD).sort_values(S.REVIEW_ID)
        np.testing.assert_allclose(got[S.IQS].to_numpy(dtype=float), expected, rtol=0, atol=1e-12, equal_nan=True)
        assert S.exclusions(got)["row_ids"].tolist() == [("r4",)]
    got = SC.score_reviews(tmp_path / "r.parquet", NA_CARD)  # a Parquet file: DuckDB by default
    np.testing.assert_allclose(got[S.IQS].to_numpy(dtype=float), expected, rtol=0, atol=1e-12, equal_nan=True)
    # an explicit N/A row gives the same score as no row
    explicit = pd.concat([r, r.iloc[[0]].assign(**{S.CATEGORY: "A", S.RATING: np.nan}),
                          r.iloc[[0]].assign(**{S.CATEGORY: "B", S.RATING: np.nan})], ignore_index=True)
    for e in ("pandas", *FAST):
        got = on(e, SC.score_reviews, explicit, card=NA_CARD).sort_values(S.REVIEW_ID)
        assert abs(float(got[S.IQS].iloc[0]) - 50.0) < 1e-12


ID_CARD = Scorecard([Category("A", 1.0, scale=5), Category("C", 1.0, scale=5)])


def _id_ratings(agent: list[str]) -> pd.DataFrame:
    return pd.DataFrame({S.REVIEW_ID: ["r1", "r1", "r2", "r2"], S.CONVERSATION_ID: ["c1", "c1", "c2", "c2"],
                         S.AGENT_ID: agent, S.REVIEWER_ID: "q", S.REVIEWED_AT: pd.Timestamp("2026-01-01", tz="UTC"),
                         S.CATEGORY: ["C", "A", "C", "A"], S.RATING: [5.0, 5.0, 1.0, 1.0]})


def test_ids_from_a_parquet_file_are_normalised_and_case_collisions_refused_on_every_engine(tmp_path):
    """Issue 22's second mismatch: agent ids ``a1`` and ``a1 `` (trailing space) read from a
    Parquet file are one agent on every engine, with an itemised adjustment (pandas merged them,
    DuckDB and Spark kept two agents with IQS 100 and 0); ``a1`` / ``A1`` are refused on every
    engine, naming both spellings. By hand: r1 rates C = 5, A = 5 -> 100; r2 C = 1, A = 1 -> 0;
    one agent: IQS (100 + 0) / 2 = 50 over n = 2."""
    path = tmp_path / "ids.parquet"
    _id_ratings(["a1", "a1", "a1 ", "a1 "]).to_parquet(path)
    data = pd.read_parquet(path)
    for e in ("pandas", *FAST):
        got = on(e, SC.iqs_score, data, card=ID_CARD, by="agent_id")
        assert got[S.AGENT_ID].tolist() == ["a1"] and got[S.N].tolist() == [2]
        assert abs(float(got[S.IQS].iloc[0]) - 50.0) < 1e-12
        adj = S.adjustments(got)
        assert adj["column"].tolist() == ["agent_id"] and set(adj["row_ids"].iloc[0]) == {"r2"}
        assert adj["reason"].iloc[0].startswith("agent_id: 1 values normalised (whitespace/Unicode form), e.g. 'a1 ' -> 'a1'")
    got = SC.iqs_score(path, card=ID_CARD, by="agent_id")  # the file itself, on DuckDB
    assert got[S.AGENT_ID].tolist() == ["a1"] and abs(float(got[S.IQS].iloc[0]) - 50.0) < 1e-12
    _id_ratings(["a1", "a1", "A1", "A1"]).to_parquet(tmp_path / "case.parquet")
    case = pd.read_parquet(tmp_path / "case.parquet")
    for e in ("pandas", *FAST):
        with pytest.raises(DataValidationError, match=r"ids that differ only by case or width are not merged "
                                                      r"silently: 'A1' / 'a1'") as err:
            on(e, SC.iqs_score, case, card=ID_CARD, by="agent_id")
        assert set(err.value.failures["row_ids"].iloc[0]) <= {"r1", "r2"}
    with pytest.raises(DataValidationError, match=r"'A1' / 'a1'"):
        SC.score_reviews(tmp_path / "case.parquet", ID_CARD)



def test_integer_ids_are_text_keys_on_every_engine(tmp_path):
    """Ids stored as integers (a Parquet export) are text in every result, in text order, whatever
    the engine (pandas' validate makes them text; the query engines group them as integers and turn
    the result's keys into text). By hand: agents 7, 12 and 100 -> keys '100', '12', '7'; agent 7's
    reviews score 100 and 50, agent 12's 0, agent 100's 75 (C = 4, A = 4 -> 75)."""
    r = pd.DataFrame({S.REVIEW_ID: [1, 1, 2, 2, 3, 3, 4, 4], S.CONVERSATION_ID: [10, 10, 20, 20, 30, 30, 40, 40],
                      S.AGENT_ID: [7, 7, 7, 7, 12, 12, 100, 100], S.REVIEWER_ID: 1,
                      S.REVIEWED_AT: pd.Timestamp("2026-01-01", tz="UTC"), S.CATEGORY: ["A", "C"] * 4,
                      S.RATING: [5.0, 5.0, 3.0, 3.0, 1.0, 1.0, 4.0, 4.0]})
    path = tmp_path / "ints.parquet"
    r.to_parquet(path)
    data = pd.read_parquet(path)
    for e in ("pandas", *FAST):
        got = on(e, SC.iqs_score, data, card=ID_CARD, by="agent_id", min_n=0)
        assert got[S.AGENT_ID].tolist() == ["100", "12", "7"], e
        assert got[S.IQS].tolist() == pytest.approx([75.0, 0.0, 75.0]), e
        cats = on(e, SC.category_scores, data, card=ID_CARD, by="agent_id", min_n=0)
        assert cats[S.AGENT_ID].map(type).eq(str).all() and cats[S.AGENT_ID].iloc[0] == "100", e
    got = SC.iqs_score(path, card=ID_CARD, by="agent_id", min_n=0)  # the file itself, on DuckDB
    assert got[S.AGENT_ID].tolist() == ["100", "12", "7"]
    conv = pd.DataFrame({S.CONVERSATION_ID: [1, 2, 3], S.AGENT_ID: [7, 12, 100], S.CHANNEL: "email",
                         S.CREATED_AT: pd.Timestamp("2026-01-01", tz="UTC"),
                         S.FIRST_RESPONSE_AT: pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta([1, 2, 3], unit="h")})
    conv.to_parquet(tmp_path / "conv.parquet")
    check_engines(K.first_response_time, pd.read_parquet(tmp_path / "conv.parquet"), by="agent_id", min_n=0)
    frt = K.first_response_time(tmp_path / "conv.parquet", by="agent_id", min_n=0)
    assert frt[S.AGENT_ID].tolist() == ["100", "12", "7"]


def test_blank_and_whitespace_ids_read_the_same_on_every_engine(tmp_path):
    """The query engines judge text ids on their distinct values (blank, whitespace at an end,
    non-ASCII), not row by row: the same outcome as pandas for ids that are empty, whitespace only
    (an ideographic space, a tab), end in a tab / vertical tab / non-breaking space, or are in NFD.
    By hand: review ``r1\\t`` is ``r1`` (C = 5, A = 5 -> 100), ``r2`` scores 0 (C = 1, A = 1), and
    the agents ``a1``, ``a1\\x0b`` and ``a1\\xa0`` are one: IQS (100 + 0) / 2 = 50 over n = 2; a
    review without an id (blank) is refused naming the 2 rows."""
    ok = _id_ratings(["a1", "a1\x0b", "a1\xa0", "a1\xa0"])
    ok[S.REVIEW_ID] = ["r1\t", "r1", "r2", "r2"]
    ok[S.CONVERSATION_ID] = ["c1", "c1", unicodedata.normalize("NFD", "cé"), unicodedata.normalize("NFC", "cé")]
    ok.to_parquet(tmp_path / "ok.parquet")
    data = pd.read_parquet(tmp_path / "ok.parquet")
    for e in ("pandas", *FAST):
        got = on(e, SC.iqs_score, data, card=ID_CARD, by="agent_id")
        assert got[S.AGENT_ID].tolist() == ["a1"] and got[S.N].tolist() == [2]
        assert abs(float(got[S.IQS].iloc[0]) - 50.0) < 1e-12
    check_engines(SC.score_reviews, data, card=ID_CARD)
    got = SC.score_reviews(tmp_path / "ok.parquet", ID_CARD)  # the file itself, on DuckDB
    assert got[S.REVIEW_ID].tolist() == ["r1", "r2"] and got[S.IQS].tolist() == [100.0, 0.0]
    assert got[S.CONVERSATION_ID].tolist() == ["c1", unicodedata.normalize("NFC", "cé")]
    blank = _id_ratings(["a1", "a1", "\u3000", "\u3000"])
    blank[S.REVIEW_ID] = ["r1", "r1", "", "\t "]
    for fn in (SC.score_reviews, SC.iqs_score):
        ref = check_engines(fn, blank, card=ID_CARD)
        assert ref[0] == "error" and (S.REVIEW_ID, "empty value in a required column", 2) in ref[2]
    versioned = _id_ratings(["a1"] * 4).assign(**{S.SCORECARD_VERSION: ["v1", "v1", " ", " "]})
    for fn in (SC.score_reviews, SC.iqs_score):  # a blank label after the categories: refused, its 2 rows
        ref = check_engines(fn, versioned, card=ID_CARD)
        assert ref[0] == "error" and (S.SCORECARD_VERSION, "empty value in a required column", 2) in ref[2]
    sv = pd.DataFrame({S.CONVERSATION_ID: ["c1", "c1\t", "\u3000", ""], S.KIND: "csat", S.SCORE: [5.0, 4.0, 1.0, 2.0],
                       S.ANSWERED_AT: pd.Timestamp("2026-01-01", tz="UTC")})
    check_engines(K.csat_score, sv)

# --- hostile tables (hypothesis): every metric, every fast engine ------------------------------------
_IDS = ["c1", "c1 ", " c2", "C1", unicodedata.normalize("NFD", "cé"), unicodedata.normalize("NFC", "cé"), "c3", "c4",
        "c5", "c6"]
_AGENTS = ["a1", "a1 ", "A1", unicodedata.normalize("NFD", "José"), "José", "b2", "Ｂ2"]
_BERLIN_DST = pd.Timestamp("2026-03-29 00:30Z")


@st.composite
def hostile_conversations(draw):
    n = draw(st.integers(1, 9))
    ids = draw(st.lists(st.sampled_from(_IDS), min_size=n, max_size=n))
    created = [_BERLIN_DST + pd.Timedelta(minutes=draw(st.integers(0, 60 * 30))) for _ in range(n)]
    frt = [draw(st.sampled_from([None, -0.5, 0.25, 1.0, 1.0, 5.0])) for _ in range(n)]
    res = [draw(st.sampled_from([None, -1.0, 1.0, 4.0, 30.0, 3000.0])) for _ in range(n)]
    num = st.sampled_from([np.nan, 1.0, 1.0, 2.0, 3.0, np.inf])
    return pd.DataFrame({
        S.CONVERSATION_ID: ids,
        S.CUSTOMER_ID: [draw(st.sampled_from(["u1", "u1 ", "u2"])) for _ in range(n)],
        S.AGENT_ID: [draw(st.sampled_from(_AGENTS)) for _ in range(n)],
        S.CHANNEL: [draw(st.sampled_from(["chat", "email"])) for _ in range(n)],
        S.PRIORITY: [draw(st.sampled_from(["high", " High", "URGENT", "low", "vip"])) for _ in range(n)],
        S.CREATED_AT: pd.to_datetime(created, utc=True),
        S.FIRST_RESPONSE_AT: pd.to_datetime([c + pd.Timedelta(hours=h) if h is not None else None
                                             for c, h in zip(created, frt)], utc=True),
        S.RESOLVED_AT: pd.to_datetime([c + pd.Timedelta(hours=h) if h is not None else None
                                       for c, h in zip(created, res)], utc=True),
        S.STATUS: [draw(st.sampled_from(["solved", "Open", "CLOSED ", "pending"])) for _ in range(n)],
        S.CONTACTS: [draw(num) for _ in range(n)],
        S.ESCALATED: pd.array([draw(st.sampled_from([True, False, None])) for _ in range(n)], dtype="boolean"),
        S.HANDLE_TIME_S: [draw(st.sampled_from([np.nan, 0.0, 120.0, 600.0, -5.0])) for _ in range(n)],
    })


CONV_KPIS = [(K.first_response_time, {}), (K.resolution_time, {"by": "channel"}), (K.handle_time, {"period": "D"}),
             (K.fcr_rate, {}), (K.fcr_rate, {"rule": "contacts", "by": "agent_id"}), (K.resolution_rate, {"period": "W"}),
             (K.escalation_rate, {"by": "channel"}), (K.interactions_per_issue, {}), (K.backlog, {"period": "D"}),
             (K.sla_attainment, {"by": "channel"}), (K.cost_per_contact, {"cost_per_hour": 30.0})]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(conv=hostile_conversations())
def test_hostile_conversations_same_on_every_engine(conv):
    """Ids differing by whitespace, case, width and Unicode form (duplicates once normalised,
    case collisions in agent ids), inf and negative numbers, empty groups, times across the DST
    switch: every conversation KPI gives the same numbers, records or error on every engine."""
    for fn, kw in CONV_KPIS:
        check_engines(fn, conv, **kw)


@st.composite
def hostile_surveys(draw):
    n = draw(st.integers(1, 9))
    return pd.DataFrame({
        S.CONVERSATION_ID: [draw(st.sampled_from(_IDS)) for _ in range(n)],
        S.KIND: [draw(st.sampled_from(["csat", "nps", "ces"])) for _ in range(n)],
        S.SCORE: [draw(st.sampled_from([np.nan, 1.0, 3.5, 4.0, 5.0, 6.5, 9.0, 10.0, np.inf, 11.0])) for _ in range(n)],
        S.ANSWERED_AT: pd.to_datetime([draw(st.sampled_from([None, "2026-03-29 01:30Z", "2026-10-25 00:59Z",
                                                            "2026-10-25 01:01Z"])) for _ in range(n)], utc=True),
    })


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sv=hostile_surveys())
def test_hostile_surveys_same_on_every_engine(sv):
    for fn, kw in ((K.csat_score, {}), (K.csat_score, {"period": "D"}), (K.nps_score, {"period": "W"}),
                   (K.ces_score, {})):
        check_engines(fn, sv, **kw)


@st.composite
def hostile_ratings(draw):
    card_name = draw(st.sampled_from(["vendor_points_pooled", "vendor_weighted", "weighted_sections"]))
    card = CARDS[card_name]
    n_rev = draw(st.integers(1, 5))
    rows = []
    for i in range(n_rev):
        rid = draw(st.sampled_from(["r1", "r2", "r3", "r4", "r5", "r1 "])) if i else "r0"
        agent = draw(st.sampled_from(["a1", "a1 ", "b2", unicodedata.normalize("NFD", "José"), "José"]))
        for c in card.categories:
            if draw(st.booleans()):  # a missing category row (under every N/A policy of the card)
                continue
            vals = list(c.scale.values) if c.scale.kind != "continuous" else [1.0, 5.5, 10.0]
            rows.append((rid, f"c{rid.strip()}", agent, "q", "2026-03-29 01:30Z", c.name,
                         draw(st.sampled_from([np.nan, *vals]))))
    r = pd.DataFrame(rows, columns=[S.REVIEW_ID, S.CONVERSATION_ID, S.AGENT_ID, S.REVIEWER_ID, S.REVIEWED_AT,
                                    S.CATEGORY, S.RATING])
    if r.empty:
        r = pd.DataFrame([("r0", "cr0", "a1", "q", "2026-03-29 01:30Z", card.categories[0].name, np.nan)],
                         columns=r.columns)
    r[S.REVIEWED_AT] = pd.to_datetime(r[S.REVIEWED_AT], utc=True)
    return card, r


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=hostile_ratings())
def test_hostile_ratings_same_on_every_engine(case):
    """Missing category rows under every N/A policy, N/A ratings, review and agent ids differing by
    whitespace and Unicode form: scores, IQS and category scores agree on every engine."""
    card, r = case
    ref = outcome(lambda: SC.score_reviews(r, card).sort_values(S.REVIEW_ID).reset_index(drop=True))
    for e in FAST:
        assert_same(ref, outcome(lambda e=e: on(e, SC.score_reviews, r, card=card)))
    check_engines(SC.iqs_score, r, card=card, by="agent_id", min_n=0)
    check_engines(SC.category_scores, r, card=card, min_n=0)


# --- what the engines refuse, by name ---------------------------------------------------------------
def test_rules_an_engine_does_not_express_are_refused_by_name():
    """Business hours are counted on pandas and Polars (equal); DuckDB refuses them naming the rule,
    never computing another number. Lazy engines score with one card at a time."""
    bh = K.BusinessHours(holidays=["2026-10-26"], tz="Europe/Berlin")
    ref = K.resolution_time(EDGE, business_hours=bh, by="channel", period="D")
    assert_parity(ref, on("polars", K.resolution_time, EDGE, business_hours=bh, by="channel", period="D"))
    assert ref["resolution_time_bh"].notna().any()
    with pytest.raises(ParameterError, match="business_hours on engine 'duckdb'"):
        on("duckdb", K.resolution_time, EDGE, business_hours=bh)
    with pytest.raises(ParameterError, match="scores with one scorecard at a time"):
        on("duckdb", SC.score_reviews, RATINGS["points"], card=[CARDS["points"].with_changes(version="1"),
                                                                 CARDS["points"].with_changes(version="2")])
    with pytest.raises(ParameterError, match="engine must be one of"):
        K.csat_score(SURVEYS, engine="sqlite3")
    with pytest.raises(ParameterError, match=r"by column\(s\) \['nope'\]"):
        on("duckdb", K.escalation_rate, CONV, by="nope")
    with pytest.raises(ParameterError, match="where numbers belong"):
        on("duckdb", K.csat_score, SURVEYS.assign(**{S.SCORE: SURVEYS[S.SCORE].astype("str")}))


def test_an_engine_chosen_for_pandas_data_gives_the_same_numbers(tmp_path):
    """``engine=`` moves a pandas table (validated by pandas) to the engine; a Parquet folder
    (hive partitions) is read by the engine itself."""
    assert_parity(K.fcr_rate(EDGE, period="W"), K.fcr_rate(EDGE, period="W", engine="duckdb"))
    assert_parity(K.nps_score(SURVEYS, by="channel", conversations=CONV),
                  K.nps_score(SURVEYS, by="channel", conversations=CONV, engine="polars"))
    card, r = CARDS["weighted_sections"], RATINGS["weighted_sections"]
    v = S.validate(r, "ratings").assign(part=lambda d: d[S.AGENT_ID].astype("str"))
    for k, g in v.groupby("part"):
        (tmp_path / f"part={k}").mkdir()
        g.drop(columns="part").to_parquet(tmp_path / f"part={k}" / "0.parquet")
    ref = SC.score_reviews(r, card).sort_values(S.REVIEW_ID).reset_index(drop=True)
    for e in (None, "polars", "pandas"):
        got = SC.score_reviews(tmp_path, card, engine=e).sort_values(S.REVIEW_ID).reset_index(drop=True)
        assert_parity(ref, got.drop(columns=["part"], errors="ignore"))
    assert_parity(SC.iqs_score(SC.score_reviews(r, card), by="agent_id"),
                  SC.iqs_score(tmp_path, card=card, by="agent_id"))


def test_nan_ratings_in_parquet_are_na(tmp_path):
    """NaN stored in a Parquet file (not null) is N/A, as in pandas. DuckDB 2.0.1 folds
    ``isnan(rating)`` to false from the file's statistics (which leave NaN out): qakit runs DuckDB
    without the statistics-propagation optimizer, and this test pins it."""
    import pyarrow.parquet as pq

    card, r = CARDS["points"], RATINGS["points"]
    v = S.validate(r, "ratings")
    cols = {c: pa.array(v[c].astype("str").to_numpy()) for c in (S.REVIEW_ID, S.CONVERSATION_ID, S.AGENT_ID,
                                                                  S.REVIEWER_ID, S.CATEGORY)}
    cols[S.REVIEWED_AT] = pa.array(v[S.REVIEWED_AT].dt.tz_localize(None).to_numpy(dtype="datetime64[us]"))
    cols[S.RATING] = pa.array(v[S.RATING].to_numpy(dtype=float))  # NaN kept as NaN
    pq.write_table(pa.table(cols), tmp_path / "r.parquet")
    assert pq.read_table(tmp_path / "r.parquet")[S.RATING].null_count == 0  # really NaN, not null
    ref = SC.iqs_score(SC.score_reviews(r, card), by="agent_id")
    for e in (None, "polars"):
        assert_parity(ref, SC.iqs_score(tmp_path / "r.parquet", card=card, by="agent_id", engine=e))


def test_contract_errors_are_one_error_on_every_engine():
    """Off-scale ratings and unknown categories; duplicate (review, category) rows and a review
    spread over two agents: one DataValidationError naming every problem, on every engine."""
    card = CARDS["points"]
    r = RATINGS["points"].copy()
    i = r.index[r[S.CATEGORY].eq("Solution") & r[S.RATING].notna()][0]
    r.loc[i, S.RATING] = 7.0
    j = r.index[r[S.CATEGORY].eq("Tone")][0]
    r.loc[j, S.CATEGORY] = "Tonne"
    first = r[r[S.REVIEW_ID].eq("R0005")].iloc[[0]]
    r = pd.concat([r, first], ignore_index=True)  # R0005 rates one category twice
    r.loc[r[S.REVIEW_ID].eq("R0006") & r[S.CATEGORY].eq("Grammar"), S.AGENT_ID] = "A_other"
    ref = outcome(lambda: SC.score_reviews(r, card))
    assert ref[0] == "error"
    checks = {c for c, *_ in ref[2]}
    assert {"rating", "category", "review_id + category", "agent_id"} <= checks
    for e in FAST:
        assert_same(ref, outcome(lambda e=e: on(e, SC.score_reviews, r, card=card)))


def test_deprecated_engines_aliases_warn_and_give_the_public_numbers():
    with pytest.warns(FutureWarning, match=r"qakit.engines.csat_score is deprecated.*qakit.csat_score"):
        got = qakit.engines.csat_score(SURVEYS, by="channel", conversations=CONV)
    assert_parity(K.csat_score(SURVEYS, by="channel", conversations=CONV), got)
    card, r = CARDS["points"], RATINGS["points"]
    with pytest.warns(FutureWarning, match="qakit.iqs_score"):
        got = qakit.engines.iqs_score(r, card, by="agent_id", engine="duckdb")
    assert_parity(SC.iqs_score(SC.score_reviews(r, card), by="agent_id"), got)


def test_edges_present():
    """The edge cases the parity tests rely on exist in the data (not vacuous)."""
    frt = K.resolution_time(CONV, by="channel")
    assert frt.loc[frt["channel"] == "social", "n"].item() == 0  # an empty group
    h = (CONV[S.FIRST_RESPONSE_AT] - CONV[S.CREATED_AT]).dt.total_seconds() / 3600
    assert h.value_counts().max() > 50  # ties at the median
    berlin = CONV[S.CREATED_AT].iloc[:240].dt.tz_convert("Europe/Berlin")
    assert berlin.iloc[0].utcoffset() != berlin.iloc[-1].utcoffset()  # across a DST switch
    ex = {x["reason"].split(" (")[0].split(" at as_of")[0]: x["n"] for x in
          S.exclusions(K.sla_attainment(EDGE, targets=EDGE_TARGETS)).to_dict("records")}
    assert ex["no SLA target for priority 'vip'"] > 10 and ex["open and still within target"] > 0
    assert "STRASSE" in set(K.sla_attainment(EDGE, targets=EDGE_TARGETS)[S.PRIORITY])  # 'Straße' case-folds
    b = K.backlog(EDGE, by="channel")
    assert "fax" not in set(b["channel"]) and (b[K.BACKLOG] >= 0).all()


# --- Spark local: a fixed sample, one session --------------------------------------------------------
SPARK_CASES = [
    ("fcr_rate", "EDGE", {"as_of": EDGE_AS_OF, "by": "channel"}),
    ("sla_attainment", "EDGE", {"targets": EDGE_TARGETS, "as_of": EDGE_AS_OF}),
    ("backlog", "EDGE", {"period": "D", "by": ["channel", "priority"]}),
    ("first_response_time", "EDGE", {"period": "D", "by": "channel"}),
    ("service_level", "CALLS", {"period": "D", "denominator": "answered"}),
    ("csat_score", "SURVEYS", {"period": "D", "by": "channel", "conversations": CONV}),
    ("nps_score", "FRACTIONAL", {"period": "D", "conversations": CONV}),
    ("ces_score", "SURVEYS", {"higher_is_better": False}),
    ("escalation_rate", "CONV", {"by": "channel"}), ("resolution_rate", "EDGE", {"period": "W"}),
    ("interactions_per_issue", "CONV", {}), ("handle_time", "CONV", {"by": "channel"}),
    ("abandonment_rate", "CALLS", {"by": "agent_id"}), ("cost_per_contact", "CONV", {"cost_per_hour": 40.0}),
    ("customer_cost_value", "CONV", {"cost_per_contact": 5.0}),
]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_spark_local_gives_the_same_numbers(tmp_path):
    """Spark local: every KPI family, the scoring rules (pooled vendor card and the sectioned card),
    both mismatches of issue 22, and a Parquet folder read by Spark itself."""
    try:
        for fn, data, kw in SPARK_CASES:
            ref = outcome(lambda: getattr(K, fn)(globals()[data], **kw))
            assert ref[0] == "ok", (fn, ref)
            assert_same(ref, outcome(lambda: on("spark", getattr(K, fn), globals()[data], **kw)))
        for name in ("vendor_points_pooled", "weighted_sections"):
            card, r = CARDS[name], RATINGS[name]
            assert_parity(SC.score_reviews(r, card).sort_values(S.REVIEW_ID).reset_index(drop=True),
                          on("spark", SC.score_reviews, r, card=card))
            assert_parity(SC.iqs_score(SC.score_reviews(r, card), by="agent_id", period="W"),
                          on("spark", SC.iqs_score, r, card=card, by="agent_id", period="W"))
            assert_parity(SC.category_scores(r, card, by="reviewer_id"),
                          on("spark", SC.category_scores, r, card=card, by="reviewer_id"))
        got = on("spark", SC.score_reviews, _na_ratings(), card=NA_CARD).sort_values(S.REVIEW_ID)
        np.testing.assert_allclose(got[S.IQS].to_numpy(dtype=float), [50.0, 100 / 3, 100.0, np.nan], atol=1e-12)
        got = on("spark", SC.iqs_score, _id_ratings(["a1", "a1", "a1 ", "a1 "]), card=ID_CARD, by="agent_id")
        assert got[S.AGENT_ID].tolist() == ["a1"] and abs(float(got[S.IQS].iloc[0]) - 50.0) < 1e-12
        with pytest.raises(DataValidationError, match=r"'A1' / 'a1'"):
            on("spark", SC.iqs_score, _id_ratings(["a1", "a1", "A1", "A1"]), card=ID_CARD, by="agent_id")
        S.validate(EDGE, "conversations").to_parquet(tmp_path / "ns.parquet")  # pandas writes nanoseconds
        with pytest.raises(ParameterError, match="cannot read nanosecond timestamps"):
            K.fcr_rate(tmp_path / "ns.parquet", engine="spark")
        S.validate(EDGE, "conversations").to_parquet(tmp_path / "c.parquet", coerce_timestamps="us",
                                                     allow_truncated_timestamps=True)
        assert_parity(K.fcr_rate(EDGE, period="W"), K.fcr_rate(tmp_path / "c.parquet", period="W", engine="spark"))
        with pytest.raises(ParameterError, match="business_hours on engine 'spark'"):
            on("spark", K.resolution_time, EDGE, business_hours=K.BusinessHours())
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


def test_an_ibis_table_runs_as_sql_on_its_own_duckdb_connection(tmp_path):
    """An Ibis table (here a DuckDB one reading Parquet) runs its SQL on its own DuckDB connection:
    the metric's definition on DuckDB, the pandas numbers."""
    import ibis  # the test extra: qakit itself does not use Ibis

    S.validate(SURVEYS, "surveys").to_parquet(tmp_path / "s.parquet")
    with warnings.catch_warnings():  # Ibis 12 under pandas 3 / DuckDB 2 (harmless deprecations, theirs)
        warnings.filterwarnings("ignore", message=".*(infer_string|fetch_arrow_table).*")
        table = ibis.duckdb.connect().read_parquet(tmp_path / "s.parquet")
        got = K.nps_score(table, period="W")
    assert_parity(K.nps_score(SURVEYS, period="W"), got)


@pytest.mark.parametrize("fn,column", [("call_answer_time", S.SPEED_OF_ANSWER_S), ("call_abandon_time", S.TIME_TO_ABANDON_S),
                                       ("call_handle_time", S.HANDLE_TIME_S)])
def test_call_times_check_the_column_they_read_on_every_engine(fn, column):
    """A negative duration in the column a call KPI reads is one DataValidationError naming the
    column and the call, the same on pandas, Polars and DuckDB (the column is validated, not just read)."""
    log = _queue_log().assign(**{S.HANDLE_TIME_S: 100.0})
    log.loc[3, column] = -5.0
    ref = check_engines(getattr(qakit.calls, fn), log, min_n=0)
    assert ref[0] == "error" and ref[1] == "DataValidationError", ref
    assert (column, "below the minimum 0", 1) in [(c, k.split(" (")[0], n) for c, k, n in ref[2]], ref[2]
    with pytest.raises(DataValidationError, match=log.loc[3, S.CALL_ID]):
        getattr(qakit.calls, fn)(log, min_n=0)


def test_the_blank_rule_lists_every_unicode_whitespace_character():
    """The contract's blank-text class is every code point Python's str.isspace calls whitespace (the
    list is written out in the module; here it is checked against the full scan)."""
    import sys

    from qakit.metrics._contract import _WHITESPACE

    assert _WHITESPACE == "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())


def test_not_abandoned_outcomes_read_the_same_in_every_regex_dialect():
    """A queue's unanswered call is abandoned unless its outcome says the queue ended it (a timeout,
    an overflow, a transfer, a callback, voicemail, a flow disconnect): one pattern
    (``qakit.metrics.calls.NOT_ABANDONED_PATTERN``) read by Python's ``re`` (the call-log readers in
    ``qakit.exports``) and by each engine's regular expressions (Rust regex in Polars, RE2 in
    DuckDB). Outcomes from Asterisk's queue_log events
    (https://docs.asterisk.org/Operation/Logging/Queue-Logs/) and Amazon Connect's disconnect
    reasons (https://docs.aws.amazon.com/connect/latest/adminguide/ctr-data-model.html), labelled
    by hand: the abandonment rate of each outcome's one call is 1 (abandoned) or 0, on every engine,
    and ``exports.NOT_ABANDONED`` says the same."""
    from qakit import exports

    labels = {"ABANDON": 1, "abandoned": 1, "CUSTOMER_DISCONNECT": 1, "Caller hung up": 1,
              "EXITWITHTIMEOUT": 0, "EXITEMPTY": 0, "EXITWITHKEY": 0, "TRANSFER": 0, "BLINDTRANSFER": 0,
              "Overflow to Q2": 0, "CONTACT_FLOW_DISCONNECT": 0, "Flow Disconnect": 0, "No Agent Available": 0,
              "Callback requested": 0, "VOICEMAIL": 0, "Timeout": 0}
    calls = pd.DataFrame({S.CALL_ID: [f"C{i}" for i in range(len(labels))], S.AGENT_ID: "a",
                          S.CREATED_AT: pd.Timestamp("2026-03-02 09:00", tz="UTC"), S.ANSWERED: False,
                          S.OUTCOME: list(labels)})
    want = pd.Series(labels, dtype=float).sort_index()
    for engine in ("pandas", "polars", "duckdb"):
        got = K.abandonment_rate(calls, by=S.OUTCOME, engine=engine, min_n=0).set_index(S.OUTCOME)
        pd.testing.assert_series_equal(got["abandonment_rate"].astype(float).sort_index(), want, check_names=False)
    python_re = pd.Series({o: 0.0 if exports.NOT_ABANDONED.search(o) else 1.0 for o in labels}).sort_index()
    pd.testing.assert_series_equal(python_re, want)
