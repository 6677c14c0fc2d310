"""Parity is the contract: every metric of qakit.engines on DuckDB and on Spark (local) equals
the pandas reference function (qakit.scorecard / qakit.kpis) to 1e-9 on seeded edge-case data:
N/A-heavy reviews, all-N/A and all-critical-fail reviews, weight-0-only reviews, sections
(fail_rule section / all, a bonus section), list and range scales, the three modes; DST and
time-zone edges (Europe/Berlin and America/New_York wall times around the 2026 switches), ties
at medians, empty groups (a channel whose conversations are all open), censored FCR windows,
unanswered surveys and answers without a time; and issue 12's rules (``EDGE``): FCR censored at
``as_of``, the SLA judging rules (priorities matched ignoring case, whitespace and Unicode form;
open past / within target; a resolved status without ``resolved_at``; created after ``as_of``),
backlog (resolved before created, a group that vanishes), ``period=`` with ``partial`` on every
KPI across the autumn DST switch, fractional survey answers on class edges.

The reference numbers are the pandas functions' own (independently tested in test_scorecard.py
and test_kpis.py); here only agreement across engines is asserted, value by value, and the
exclusion records (reason and the set of row ids) too.

One Spark session (``local[2]``, UI off, 2 shuffle partitions, UTC) serves the whole suite.
"""

from __future__ import annotations

import gc
import warnings

import numpy as np
import pandas as pd
import pytest

import qakit.engines as E
from qakit import kpis as K
from qakit import schema as S
from qakit import scorecard as SC
from qakit.errors import DataValidationError, ParameterError
from qakit.scorecard import Category, Scorecard, Section

pytestmark = [pytest.mark.slow,
              # py4j (Spark) sockets closed by the garbage collector, not by pyspark
              pytest.mark.filterwarnings("ignore::ResourceWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]
TOL = 1e-9
SEED = 20261127


# --- engines --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def spark_engine():
    """One local Spark session for the whole suite, tuned for tiny tables: no whole-stage code
    generation (compiling it costs more than running these queries), one shuffle partition."""
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("qakit-parity")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", "1").config("spark.default.parallelism", "1")
             .config("spark.sql.codegen.wholeStage", "false").config("spark.sql.adaptive.enabled", "false")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return E.spark_connection(spark)


@pytest.fixture
def engine(request, engine_name):
    if engine_name == "spark":
        # py4j leaves sockets to the garbage collector: collected here, inside this test
        yield request.getfixturevalue("spark_engine")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
    else:
        yield "duckdb"


def cases(all_cases: list, spark_cases: list) -> list:
    """Every case on DuckDB; on Spark (seconds per query) the listed subset, which still covers
    every building block: scoring rules (sections, bonus, critical, N/A), mean/t and Wilson
    statistics, joins, periods, order statistics (ties), the FCR window (censoring), backlog."""
    return ([pytest.param("duckdb", *c, id="duckdb-" + "-".join(map(str, c))) for c in all_cases]
            + [pytest.param("spark", *all_cases[i], id="spark-" + "-".join(map(str, all_cases[i])))
               for i in spark_cases])


SPARK_CARDS = [0, 2]  # vendor rules (pooled points) and the classic sectioned card


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
    return pd.DataFrame({
        S.CONVERSATION_ID: [f"C{i:04d}" for i in range(n)],
        S.CUSTOMER_ID: [f"U{j:03d}" for j in rng.integers(0, 90, size=n)],
        S.AGENT_ID: [f"A{j}" for j in rng.integers(0, 7, size=n)],
        S.CHANNEL: chan,
        S.PRIORITY: rng.choice(["urgent", "high", "normal", "low", "vip"], size=n),
        S.CREATED_AT: created, S.FIRST_RESPONSE_AT: fr, S.RESOLVED_AT: res,
        S.STATUS: status, S.ESCALATED: esc, S.CONTACTS: contacts,
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
    return pd.DataFrame({S.CALL_ID: [f"K{i:04d}" for i in range(n)], S.AGENT_ID: [f"A{j}" for j in rng.integers(0, 5, n)],
                         S.CREATED_AT: pd.date_range("2026-03-29 00:10", periods=n, freq="11min", tz="UTC"),
                         S.ANSWERED: ans, S.SPEED_OF_ANSWER_S: speed})


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


# --- comparison -------------------------------------------------------------------------------
def assert_parity(ref: pd.DataFrame, got: pd.DataFrame) -> None:
    """Same columns and rows; numbers equal to 1e-9 (NaN where NaN); everything else equal as
    text; the same exclusion reasons with the same sets of row ids."""
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
    ea, eb = S.exclusions(ref), S.exclusions(got)
    assert list(eb["reason"]) == list(ea["reason"])
    assert list(eb["n"]) == list(ea["n"])
    assert list(eb["source"]) == list(ea["source"])
    for x, y in zip(ea["row_ids"], eb["row_ids"]):
        assert sorted(y) == sorted(x)
    aa, ab = S.adjustments(ref), S.adjustments(got)
    assert list(ab["reason"]) == list(aa["reason"])
    for x, y in zip(aa["row_ids"], ab["row_ids"]):
        assert sorted(y) == sorted(x)


# --- scoring ----------------------------------------------------------------------------------
@pytest.mark.parametrize("engine_name,card_name", cases([(k,) for k in CARDS], [0, 2]))
def test_score_reviews_parity(engine, card_name):
    card, r = CARDS[card_name], RATINGS[card_name]
    ref = SC.score_reviews(r, card).sort_values(S.REVIEW_ID).reset_index(drop=True)
    got = E.score_reviews(r, card, engine=engine)
    assert_parity(ref, got)
    # the edge cases are really there
    assert ref[S.IQS].isna().sum() >= 30 and (ref[S.CRITICAL_FAILED]).sum() >= 30


@pytest.mark.parametrize("engine_name,card_name,by,period", cases(
    [("weighted_sections", "agent_id", None), ("points", None, "D"), ("mean_over_max_bands", "reviewer_id", "W")],
    [2]))
def test_iqs_and_category_scores_parity(engine, card_name, by, period):
    card, r = CARDS[card_name], RATINGS[card_name]
    ref = SC.iqs_score(SC.score_reviews(r, card), by=by, period=period)
    assert_parity(ref, E.iqs_score(r, card, by=by, period=period, engine=engine))
    ref = SC.category_scores(r, card, by=by, period=period)
    assert_parity(ref, E.category_scores(r, card, by=by, period=period, engine=engine))


# --- surveys ----------------------------------------------------------------------------------
@pytest.mark.parametrize("engine_name,fn,kw", cases([
    ("csat_score", {}), ("csat_score", {"by": "channel", "conversations": CONV}),
    ("csat_score", {"satisfied": 5}), ("nps_score", {}), ("nps_score", {"by": "agent_id",
                                                                        "conversations": CONV}),
    ("ces_score", {"higher_is_better": False}), ("ces_score", {"by": "priority", "conversations": CONV}),
], [1]))
def test_survey_kpis_parity(engine, fn, kw):
    assert_parity(getattr(K, fn)(SURVEYS, **kw), getattr(E, fn)(SURVEYS, **kw, engine=engine))


# --- conversations ----------------------------------------------------------------------------
@pytest.mark.parametrize("engine_name,fn,kw", cases([
    ("first_response_time", {"by": "channel"}), ("first_response_time", {}),
    ("resolution_time", {"by": ["channel", "priority"]}), ("resolution_time", {"max_hours": 48}),
    ("escalation_rate", {"by": "agent_id"}), ("resolution_rate", {"by": "channel"}),
], [0, 2, 4]))
def test_conversation_kpis_parity(engine, fn, kw):
    assert_parity(getattr(K, fn)(CONV, **kw), getattr(E, fn)(CONV, **kw, engine=engine))


@pytest.mark.parametrize("engine_name,kw", cases(
    [({},), ({"denominator": "answered", "by": "agent_id"},), ({"threshold_s": 20},)], [1]))
def test_service_level_parity(engine, kw):
    assert_parity(K.service_level(CALLS, **kw), E.service_level(CALLS, **kw, engine=engine))


# --- issue 12's rules: FCR censored at as_of, SLA judging, backlog, period= with partial --------
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
    ("escalation_rate", "CONV", {"period": "D", "by": "channel"}), ("resolution_rate", "EDGE", {"period": "D"}),
    ("service_level", "CALLS", {"period": "D", "denominator": "answered"}),
    ("csat_score", "SURVEYS", {"period": "W"}), ("csat_score", "SURVEYS", {"period": "D", "by": "channel",
                                                                          "conversations": CONV}),
    ("nps_score", "SURVEYS", {"period": "M"}), ("ces_score", "SURVEYS", {"period": "D", "conversations": CONV}),
]
#: the Spark batch: one case of each rule (the FCR window and censoring, SLA matching and judging,
#: backlog, partial periods on conversations, calls and surveys with answers placed by conversation)
SPARK_ISSUE12 = [1, 6, 10, 12, 16, 18]


def _issue12(fn, data, kw, engine):
    d = globals()[data]
    with warnings.catch_warnings():
        warnings.simplefilter("error", K.UnmatchedTargetWarning)
        ref = getattr(K, fn)(d, **kw)
        got = getattr(E, fn)(d, **kw, engine=engine)
    assert_parity(ref, got)
    return ref


@pytest.mark.parametrize("fn,data,kw", ISSUE12, ids=[f"{f}-{d}-{i}" for i, (f, d, _) in enumerate(ISSUE12)])
def test_issue12_rules_parity_duckdb(fn, data, kw):
    ref = _issue12(fn, data, kw, "duckdb")
    if ("period" in kw or fn == "backlog") and kw.get("period", "W") in ("W", "M"):
        assert ref[K.PARTIAL].any() and not ref[K.PARTIAL].all()  # the flag really varies (days: whole)


def test_issue12_rules_parity_spark(spark_engine):
    """One Spark test for the batch (seconds per query on Spark; one case per rule)."""
    for i in SPARK_ISSUE12:
        _issue12(*ISSUE12[i], spark_engine)
    gc.collect()


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


@pytest.mark.parametrize("fn,kw", [
    ("csat_score", {"by": "channel", "conversations": CONV}), ("csat_score", {"satisfied": 4.5, "period": "W"}),
    ("nps_score", {"period": "D", "conversations": CONV}), ("ces_score", {"scale": (1, 7), "higher_is_better": False}),
])
def test_fractional_survey_answers_parity(fn, kw):
    assert_parity(getattr(K, fn)(FRACTIONAL, **kw), getattr(E, fn)(FRACTIONAL, **kw, engine="duckdb"))
    # the edges are really there and classed by threshold: 4.5 satisfied, 3.5 not; 6.5 a detractor
    if fn == "csat_score" and "satisfied" not in kw:
        c = FRACTIONAL[FRACTIONAL[S.KIND].eq("csat")]
        assert c[S.SCORE].isin([3.5, 4.5, 3.99]).sum() > 20


def test_csat_scale_definition_is_the_references():
    """A 1-10 CSAT read on the default 1-5 scale is refused by both (naming the column, the
    check and row ids); with scale='1-10' both agree; the old top-of-scale tuple means the same
    threshold (FutureWarning), another set is refused by name on both."""
    sv = SURVEYS.copy()
    i = sv.index[sv[S.KIND].eq("csat") & sv[S.SCORE].notna()][:3]
    sv.loc[i, S.SCORE] = [9.0, 10.0, 7.5]
    bad = set(sv.loc[i, S.CONVERSATION_ID])
    for f in (K.csat_score, lambda d: E.csat_score(d, engine="duckdb")):
        with pytest.raises(DataValidationError, match=r"csat score outside the scale 1\.\.5") as e:
            f(sv)
        assert bad <= set(e.value.failures["row_ids"].iloc[0])
    assert_parity(K.csat_score(sv, scale="1-10"), E.csat_score(sv, scale="1-10", engine="duckdb"))
    with pytest.warns(FutureWarning):
        got = E.csat_score(SURVEYS, satisfied=(4, 5), engine="duckdb")
    assert_parity(K.csat_score(SURVEYS, satisfied=4), got)
    with pytest.raises(ParameterError, match=r"satisfied=\(3, 5\) is not the top of the scale"):
        E.csat_score(SURVEYS, satisfied=(3, 5), engine="duckdb")


def test_issue12_edges_present():
    """The edge cases of the issue-12 tests are really in the data and change the numbers."""
    ex = {r["reason"].split(" (")[0].split(" at as_of")[0]: r["n"] for r in
          S.exclusions(K.sla_attainment(EDGE, targets=EDGE_TARGETS)).to_dict("records")}
    assert ex["no SLA target for priority 'vip'"] > 10
    assert ex["open and still within target"] > 0 and ex["resolved_at before created_at"] > 0
    assert any(k.startswith("status says resolved") for k in ex)
    adj = S.adjustments(K.sla_attainment(EDGE, targets=EDGE_TARGETS))
    assert adj["n"].sum() > 50  # ' high ', 'URGENT', 'Normal ', 'Straße' relabelled
    r = K.sla_attainment(EDGE, targets=EDGE_TARGETS)
    assert "STRASSE" in set(r[S.PRIORITY])  # 'Straße' case-folds to 'strasse'
    f = K.fcr_rate(EDGE)
    assert any(x["reason"].startswith("not judged: repeat window") for x in S.exclusions(f).to_dict("records"))
    b = K.backlog(EDGE, by="channel")
    assert "fax" not in set(b["channel"]) and (b[K.BACKLOG] >= 0).all()
    berlin = EDGE[S.CREATED_AT].dt.tz_convert("Europe/Berlin")
    assert berlin.iloc[0].utcoffset() != berlin.iloc[-1].utcoffset()  # across the autumn DST switch


def test_missing_group_key_and_unmatched_target_parity():
    """A missing ``by`` value is a group of its own (last) in every KPI, backlog included; an SLA
    target matching no priority warns with the same message on both."""
    e = EDGE.copy()
    e.loc[e.index % 9 == 0, S.AGENT_ID] = None
    for fn, kw in (("backlog", {"by": "agent_id", "period": "D"}), ("fcr_rate", {"by": "agent_id"}),
                   ("resolution_time", {"by": ["agent_id", "channel"]})):
        assert_parity(getattr(K, fn)(e, **kw), getattr(E, fn)(e, **kw, engine="duckdb"))
    targets = {**EDGE_TARGETS, "Gold": 2}
    with pytest.warns(K.UnmatchedTargetWarning) as w_ref:
        ref = K.sla_attainment(e, targets=targets, by="agent_id")
    with pytest.warns(K.UnmatchedTargetWarning) as w_got:
        got = E.sla_attainment(e, targets=targets, by="agent_id", engine="duckdb")
    assert [str(x.message) for x in w_got] == [str(x.message) for x in w_ref]
    assert_parity(ref, got)


def test_rules_no_engine_expresses_still_refuse_by_name():
    """Business hours stay on pandas: a clear error naming them on DuckDB, never a number."""
    with pytest.raises(ParameterError, match="business_hours on engine 'duckdb'"):
        E.resolution_time(EDGE, business_hours=K.BusinessHours(), period="W", engine="duckdb")
    assert_parity(K.fcr_rate(EDGE, period="W"), E.fcr_rate(EDGE, period="W", engine="pandas"))


def test_edges_present():
    """The edge cases the parity tests rely on exist in the data (not vacuous)."""
    frt = K.resolution_time(CONV, by="channel")
    assert frt.loc[frt["channel"] == "social", "n"].item() == 0  # an empty group
    h = (CONV[S.FIRST_RESPONSE_AT] - CONV[S.CREATED_AT]).dt.total_seconds() / 3600
    assert h.value_counts().max() > 50  # ties at the median
    berlin = CONV[S.CREATED_AT].iloc[:240].dt.tz_convert("Europe/Berlin")
    assert berlin.iloc[0].utcoffset() != berlin.iloc[-1].utcoffset()  # across a DST switch


# --- Parquet folders and errors ---------------------------------------------------------------
def test_parquet_folder_source(tmp_path):
    """A partitioned Parquet folder gives the numbers of the DataFrame."""
    card, r = CARDS["weighted_sections"], RATINGS["weighted_sections"]
    v = S.validate(r, "ratings").assign(part=lambda d: d[S.AGENT_ID].astype("str"))
    for k, g in v.groupby("part"):
        (tmp_path / f"part={k}").mkdir()
        g.drop(columns="part").to_parquet(tmp_path / f"part={k}" / "0.parquet")
    ref = SC.score_reviews(r, card).sort_values(S.REVIEW_ID).reset_index(drop=True)
    assert_parity(ref, E.score_reviews(tmp_path, card, engine="duckdb"))
    assert_parity(SC.iqs_score(SC.score_reviews(r, card), by="agent_id"),
                  E.iqs_score(tmp_path, card, by="agent_id", engine="duckdb"))


def test_parquet_file_source_for_kpis(tmp_path):
    """KPIs read from Parquet (time-zone-aware timestamps, no pandas validation on the way):
    the numbers and records of the DataFrame, answers placed by conversation included."""
    S.validate(EDGE, "conversations").to_parquet(tmp_path / "c.parquet")
    S.validate(SURVEYS, "surveys").to_parquet(tmp_path / "s.parquet")
    for fn, kw in (("fcr_rate", {"period": "W"}), ("sla_attainment", {"targets": EDGE_TARGETS, "period": "D"}),
                   ("backlog", {"by": "channel"})):
        assert_parity(getattr(K, fn)(EDGE, **kw), getattr(E, fn)(tmp_path / "c.parquet", **kw, engine="duckdb"))
    assert_parity(K.nps_score(SURVEYS, period="W", conversations=CONV),
                  E.nps_score(tmp_path / "s.parquet", period="W", conversations=CONV, engine="duckdb"))


def test_nan_ratings_in_parquet_are_na(tmp_path):
    """NaN stored in a Parquet file (not null) is N/A, as in pandas. DuckDB 2.0.1 folds
    ``isnan(rating)`` to false from the file's statistics (which leave NaN out): qakit's DuckDB
    connections run without the statistics-propagation optimizer, and this test pins it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    card, r = CARDS["points"], RATINGS["points"]
    v = S.validate(r, "ratings")
    cols = {c: pa.array(v[c].astype("str").to_numpy()) for c in (S.REVIEW_ID, S.CONVERSATION_ID, S.AGENT_ID,
                                                                  S.REVIEWER_ID, S.CATEGORY)}
    cols[S.RATING] = pa.array(v[S.RATING].to_numpy(dtype=float))  # NaN kept as NaN
    pq.write_table(pa.table(cols), tmp_path / "r.parquet")
    assert pq.read_table(tmp_path / "r.parquet")[S.RATING].null_count == 0  # really NaN, not null
    ref = SC.iqs_score(SC.score_reviews(r, card), by="agent_id")
    assert_parity(ref, E.iqs_score(tmp_path / "r.parquet", card, by="agent_id", engine="duckdb"))


def test_engine_pandas_is_the_reference():
    card, r = CARDS["points"], RATINGS["points"]
    assert_parity(SC.score_reviews(r, card), E.score_reviews(r, card, engine="pandas"))
    assert_parity(K.csat_score(SURVEYS), E.csat_score(SURVEYS, engine="pandas"))


def test_off_scale_and_unknown_category_are_one_error():
    card = CARDS["points"]
    r = RATINGS["points"].copy()
    i = r.index[r[S.CATEGORY].eq("Solution") & r[S.RATING].notna()][0]
    r.loc[i, S.RATING] = 7.0
    j = r.index[r[S.CATEGORY].eq("Tone")][0]
    r.loc[j, S.CATEGORY] = "Tonne"
    with pytest.raises(DataValidationError, match=r"(?s)category not on scorecard.*Tonne.*off the scale.*7\.0") as e:
        E.score_reviews(r, card, engine="duckdb")
    assert r.loc[i, S.REVIEW_ID] in str(e.value) and r.loc[j, S.REVIEW_ID] in str(e.value)
    with pytest.raises(DataValidationError, match="off the scale"):
        SC.score_reviews(r, card)  # the reference refuses it too


@pytest.mark.parametrize("engine_name", ["duckdb", "spark"])
def test_duplicate_and_spread_reviews_are_one_error(engine, tmp_path):
    """A (review, category) rated twice and a review spread over two agents: found by the
    scoring pass itself (no separate scan), listed with their review ids."""
    card = CARDS["points"]
    r = RATINGS["points"].copy()
    first = r[r[S.REVIEW_ID].eq("R0005")].iloc[[0]]
    r = pd.concat([r, first], ignore_index=True)  # R0005 rates one category twice
    r.loc[r[S.REVIEW_ID].eq("R0006") & r[S.CATEGORY].eq("Tone"), S.AGENT_ID] = "A_other"
    r.drop(columns=S.REVIEWED_AT).to_parquet(tmp_path / "r.parquet")  # a file: no pandas validation first
    with pytest.raises(DataValidationError, match=r"(?s)duplicate.*R0005.*spread over several agent_id.*R0006"):
        E.iqs_score(tmp_path / "r.parquet", card, engine=engine, validate=True)


def _with_mode(card: Scorecard, mode: str) -> Scorecard:
    """A card whose ``to_dict`` reports a mode the engines do not know (a rule landing in the
    pandas reference before the engines express it)."""
    class Future(Scorecard):
        def to_dict(self):
            return {**super().to_dict(), "mode": mode}

    return Future(card.categories, mode=card.mode, pass_threshold=card.pass_threshold)


def test_unsupported_rules_raise_naming_them():
    with pytest.raises(ParameterError, match="business_hours"):
        E.first_response_time(CONV, business_hours=K.BusinessHours(), engine="duckdb")
    with pytest.raises(ParameterError, match="one scorecard at a time"):
        E.score_reviews(RATINGS["points"], [CARDS["points"].with_changes(version="1"),
                                            CARDS["points"].with_changes(version="2")], engine="duckdb")
    card = CARDS["points"]
    with pytest.raises(ParameterError, match=r"does not express these scorecard rules yet: mode 'future_mode'"):
        E.iqs_score(RATINGS["points"], _with_mode(card, "future_mode"),
                    engine="duckdb")
    with pytest.raises(ParameterError, match="engine must be one of"):
        E.csat_score(SURVEYS, engine="sqlite3")
    with pytest.raises(ParameterError, match=r"by column\(s\) \['nope'\]"):
        E.escalation_rate(CONV, by="nope", engine="duckdb")


def test_tuned_card_and_auto_blocks_score_as_on_pandas():
    """A tuned card (``based_on``: it scores the reviews of its baseline version) and a category
    carrying an ``auto:`` block (read only by qakit.autoqa) change no review score: the engines score
    them as pandas does instead of refusing the keys."""
    from dataclasses import replace

    card, r = CARDS["weighted_sections"], RATINGS["weighted_sections"]
    cats = list(card.categories)
    cats[0] = replace(cats[0], auto="Greeting")
    tuned = replace(card, categories=tuple(cats), version="v1-tuned-2026-11-27", based_on="v1")
    assert tuned.to_dict()["based_on"] == "v1" and "auto" in tuned.to_dict()["categories"][0]
    ref = SC.score_reviews(r, tuned).sort_values(S.REVIEW_ID).reset_index(drop=True)
    assert_parity(ref, E.score_reviews(r, tuned, engine="duckdb"))
    assert_parity(SC.iqs_score(SC.score_reviews(r, tuned), by="agent_id"),
                  E.iqs_score(r, tuned, by="agent_id", engine="duckdb"))
