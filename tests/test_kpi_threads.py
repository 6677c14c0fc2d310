"""The second thread of the survey KPIs' first call (task k28): ``qakit._threads``, the contract's
id categories read on it (``schema._prefetch_text_facts``), the blocked survey statistic in two
halves (``surveys._blocked_stats``), the unscored answers' ids taken on it, and the record's
cheaper paths (``records._as_ids`` of an Arrow array, the fingerprint computed when compared).

The rule under test: one thread or two, the same numbers bit for bit, the same record, the same
refusal word for word. Expected numbers are worked out by hand in the docstrings or computed with
numpy / scipy from the raw answers (``stats.t``, ``binomtest(...).proportion_ci``); the thread
paths are made to run on small tables by lowering their size thresholds.
"""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats

import qakit
from qakit import _threads as T
from qakit import records as R
from qakit import schema as S
from qakit.errors import DataValidationError
from qakit.metrics import surveys as SV
from qakit.schema import adjustments, exclusions


@pytest.fixture
def two_cores(monkeypatch):
    """A process that may use two cores (whatever the machine running the tests has)."""
    monkeypatch.setattr(T.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)


def _threads(monkeypatch, n: int) -> None:
    monkeypatch.setenv("QAKIT_THREADS", str(n))


# --- qakit._threads -------------------------------------------------------------------------------------
def test_threads_switch(monkeypatch, two_cores):
    """Two cores: 2 threads by default, 1 with QAKIT_THREADS=1, and a value that is not a whole
    number >= 1 is ignored (2); never more than the cores (QAKIT_THREADS=8 on two: 2)."""
    monkeypatch.delenv("QAKIT_THREADS", raising=False)
    assert T.threads() == 2
    for env, n in (("1", 1), ("2", 2), ("8", 2), ("0", 2), ("x", 2), (" 1 ", 1)):
        monkeypatch.setenv("QAKIT_THREADS", env)
        assert T.threads() == n, env
    monkeypatch.setattr(T.os, "sched_getaffinity", lambda pid: {0})
    monkeypatch.delenv("QAKIT_THREADS")
    assert T.threads() == 1


def test_submit_runs_here_with_one_thread_and_on_the_worker_with_two(monkeypatch, two_cores):
    here = threading.current_thread().name
    _threads(monkeypatch, 1)
    fut = T.submit(lambda: threading.current_thread().name)
    assert fut.done() and fut.result() == here
    _threads(monkeypatch, 2)
    assert T.submit(lambda: threading.current_thread().name).result().startswith("qakit-worker")
    # from the worker itself: run there at once (one worker waiting on itself would never finish)
    nested = T.submit(lambda: T.submit(lambda: threading.current_thread().name).result()).result(timeout=10)
    assert nested.startswith("qakit-worker")


@pytest.mark.parametrize("n", [1, 2])
def test_errors_reach_the_caller(monkeypatch, two_cores, n):
    """An error on either side is raised by the caller: ``submit(...).result()`` and ``both``
    (the first half's error first; the second half's when the first succeeds)."""
    _threads(monkeypatch, n)

    def f(x):
        if x < 0:
            raise ValueError(f"negative {x}")
        return 2 * x

    assert T.both(f, (1,), (2,)) == (2, 4)
    with pytest.raises(ValueError, match="negative -1"):
        T.submit(f, -1).result()
    with pytest.raises(ValueError, match="negative -1"):
        T.both(f, (-1,), (-2,))
    with pytest.raises(ValueError, match="negative -2"):
        T.both(f, (1,), (-2,))


# --- the blocked survey statistic in two halves -------------------------------------------------------
def _answers(n: int = 3000, seed: int = 7) -> pd.DataFrame:
    """``n`` answers of the three kinds (categorical kind and channel, as the benchmark's), scores
    on each kind's scale with halves (fractional answers) and ~8 % unscored, ids ``s00000`` ..."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(["csat", "nps", "ces"], n)
    hi = np.select([kind == "csat", kind == "nps"], [5, 10], 7)
    lo = np.where(kind == "nps", 0, 1)
    score = lo + rng.integers(0, 2 * (hi - lo) + 1, n) / 2
    score[rng.random(n) < 0.08] = np.nan
    return pd.DataFrame({"conversation_id": pd.Categorical([f"s{i:05d}" for i in range(n)]),
                         "kind": pd.Categorical(kind), "score": score,
                         "channel": pd.Categorical(rng.choice(["chat", "email", "phone"], n))})


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 128 rows, two halves from 2 blocks: the 3000 answers are read in 24 blocks."""
    monkeypatch.setattr(SV, "_STATS_BLOCK", 128)
    monkeypatch.setattr(SV, "_SPLIT_BLOCKS", 2)


CALLS = {"csat": lambda sv, **k: qakit.csat_score(sv, **k), "nps": lambda sv, **k: qakit.nps_score(sv, **k),
         "ces": lambda sv, **k: qakit.ces_score(sv, **k),
         "ces lower is better": lambda sv, **k: qakit.ces_score(sv, higher_is_better=False, **k)}


@pytest.mark.parametrize("by", [None, "channel"])
@pytest.mark.parametrize("kpi", list(CALLS))
def test_halves_on_two_threads_equal_one_thread_and_one_pass(monkeypatch, two_cores, small_blocks, kpi, by):
    """The same result bit for bit (and the same record) with QAKIT_THREADS=1 and 2, and with the
    table read in one pass (no halves): the halves' sums are added block by block, in block order."""
    sv = _answers()
    out = {}
    for name, n, split in (("one thread", 1, 2), ("two threads", 2, 2), ("one pass", 2, 10 ** 9)):
        _threads(monkeypatch, n)
        monkeypatch.setattr(SV, "_SPLIT_BLOCKS", split)
        out[name] = CALLS[kpi](sv, by=by, min_n=0)
    for name in ("two threads", "one pass"):
        pd.testing.assert_frame_equal(out[name], out["one thread"], check_exact=True)
        assert R.get_record(out[name]) == R.get_record(out["one thread"])
        assert exclusions(out[name])["row_ids"].tolist() == exclusions(out["one thread"])["row_ids"].tolist()


@pytest.mark.parametrize("n", [1, 2])
def test_halves_numbers_from_the_raw_answers(monkeypatch, two_cores, small_blocks, n):
    """Per channel, from the raw answers with numpy / scipy: CSAT = 100 #(score >= 4) / #(scored),
    csat_mean their mean, Wilson interval (scipy); NPS = 100 (#(>= 9) - #(< 7)) / #(scored); CES the
    mean, t interval mean +/- t(0.975, n - 1) sd / sqrt(n) (sd: ddof 1) clipped to 1..7; the record
    lists each kind's unscored answers' ids, sorted."""
    _threads(monkeypatch, n)
    sv = _answers()
    csat, nps, ces = (f(sv, by="channel", min_n=0) for f in (qakit.csat_score, qakit.nps_score, qakit.ces_score))
    for i, ch in enumerate(["chat", "email", "phone"]):
        for kind, res in (("csat", csat), ("nps", nps), ("ces", ces)):
            assert res["channel"].iloc[i] == ch
            rows = sv[(sv["kind"] == kind) & (sv["channel"] == ch)]
            s = rows["score"].dropna().to_numpy()
            assert res["n"].iloc[i] == len(s)
            if kind == "csat":
                k = int((s >= 4).sum())
                ci = stats.binomtest(k, len(s)).proportion_ci(confidence_level=0.95, method="wilson")
                assert res["csat"].iloc[i] == pytest.approx(100 * k / len(s), rel=1e-12)
                assert res["csat_mean"].iloc[i] == pytest.approx(s.mean(), rel=1e-12)
                assert (res["ci_low"].iloc[i], res["ci_high"].iloc[i]) == (pytest.approx(100 * ci.low, rel=1e-9),
                                                                           pytest.approx(100 * ci.high, rel=1e-9))
            elif kind == "nps":
                assert res["nps"].iloc[i] == pytest.approx(100 * ((s >= 9).sum() - (s < 7).sum()) / len(s), rel=1e-12)
            else:
                half = stats.t.ppf(0.975, len(s) - 1) * s.std(ddof=1) / np.sqrt(len(s))
                assert res["ces"].iloc[i] == pytest.approx(s.mean(), rel=1e-12)
                assert res["ci_low"].iloc[i] == pytest.approx(max(1.0, s.mean() - half), rel=1e-12)
                assert res["ci_high"].iloc[i] == pytest.approx(min(7.0, s.mean() + half), rel=1e-12)
    for kind, res in (("csat", csat), ("nps", nps), ("ces", ces)):
        ex = exclusions(res)
        unscored = sorted(sv.loc[(sv["kind"] == kind) & sv["score"].isna(), "conversation_id"].astype(str))
        assert ex["reason"].tolist() == ["survey answer without a score"]
        assert ex["n"].iloc[0] == len(unscored) > 50
        assert list(ex["row_ids"].iloc[0]) == unscored


@pytest.mark.parametrize("n", [1, 2])
def test_halves_answer_off_the_scale_refused(monkeypatch, two_cores, small_blocks, n):
    """A CSAT of 5 on the scale 1..4 in the second half (row 2999, id s02999): refused, naming the
    column, the value and the id, the same with one thread or two."""
    _threads(monkeypatch, n)
    sv = _answers()
    sv["kind"] = pd.Categorical(["csat"] * len(sv))
    sv["score"] = sv["score"].clip(1, 4)
    sv.loc[2999, "score"] = 5.0
    with pytest.raises(DataValidationError, match=r"csat score outside the scale 1\.\.4.*values \[5\]; row ids \['s02999'\]"):
        qakit.csat_score(sv, by="channel", scale=SV.CsatScale(1, 4, 3))


@pytest.mark.parametrize("n", [1, 2])
def test_unscored_ids_when_categories_are_not_in_text_order(monkeypatch, two_cores, n):
    """Categories given in reverse order: the ids taken by code are not sorted, so they are sorted
    as text (c1, c3; c2 has a score)."""
    _threads(monkeypatch, n)
    sv = pd.DataFrame({"conversation_id": pd.Categorical(["c1", "c2", "c3"], categories=["c3", "c2", "c1"]),
                       "kind": pd.Categorical(["csat"] * 3), "score": [np.nan, 4.0, np.nan]})
    ex = exclusions(qakit.csat_score(sv, min_n=0))
    assert ex["row_ids"].iloc[0] == ("c1", "c3")


# --- the contract: an id column's categories read on the second thread -------------------------------------
@pytest.fixture
def prefetch_all(monkeypatch):
    monkeypatch.setattr(S, "_PREFETCH_CATEGORIES", 1)


def _spy_submits(monkeypatch) -> list[str]:
    names: list[str] = []
    real = T.submit

    def spy(fn, *args):
        names.append(getattr(fn, "__name__", repr(fn)))
        return real(fn, *args)

    monkeypatch.setattr(T, "submit", spy)
    return names


def _bad_surveys() -> pd.DataFrame:
    """Problems in column order: a blank id (row 1), kind 'nsp' (row 2), score 'five' (row 3),
    a ces of 9 (row 4, outside 1..7); the id categories include an unused one ('zz')."""
    ids = pd.Categorical(["c0", " ", "c2", "c3", "c4", "c5 "], categories=[" ", "c0", "c2", "c3", "c4", "c5 ", "zz"])
    return pd.DataFrame({"conversation_id": ids, "kind": ["csat", "csat", "nsp", "csat", "ces", "nps"],
                         "score": ["4", "5", "3", "five", "9", "9"], "answered_at": None})


@pytest.mark.parametrize("n", [1, 2])
def test_contract_problems_in_column_order_either_way(monkeypatch, two_cores, prefetch_all, n):
    """The id column is checked last when its categories are read on the second thread; its
    problem (the blank id) is still listed first, as with one thread, and the message is the
    same word for word."""
    _threads(monkeypatch, n)
    submitted = _spy_submits(monkeypatch)
    with pytest.raises(DataValidationError) as err:
        S.validate(_bad_surveys(), "surveys")
    assert ("_read_text_facts" in submitted) == (n == 2)
    text = str(err.value)
    first = [text.index(s) for s in ("column 'conversation_id' empty value", "column 'kind' not one of",
                                     "column 'score' not a number", "ces score outside 1..7")]
    assert first == sorted(first), text
    _threads(monkeypatch, 3 - n)
    with pytest.raises(DataValidationError) as other:
        S.validate(_bad_surveys(), "surveys")
    assert str(other.value) == text


def test_contract_same_table_and_adjustments_either_way(monkeypatch, two_cores, prefetch_all):
    """A valid table whose ids need normalising ('c5 ' -> 'c5'): the coerced table and its
    adjustment (1 value, the row named by its id as given, 'c5 ') are the same with one thread or two."""
    sv = _bad_surveys().drop(index=[1, 2, 3, 4])
    sv["conversation_id"] = sv["conversation_id"].cat.remove_unused_categories()
    out = {}
    for n in (1, 2):
        _threads(monkeypatch, n)
        out[n] = S.validate(sv, "surveys")
    pd.testing.assert_frame_equal(out[1], out[2], check_exact=True)
    assert out[2]["conversation_id"].tolist() == ["c0", "c5"]
    adj = adjustments(out[2])
    assert adj["n"].tolist() == [1] and adj["row_ids"].iloc[0] == ("c5 ",)
    pd.testing.assert_frame_equal(adj, adjustments(out[1]))


def test_contract_no_prefetch_when_the_categories_are_known_clean(monkeypatch, two_cores, prefetch_all):
    """Categories found clean by an earlier check (remembered by identity) are not read again:
    nothing is started on the second thread."""
    _threads(monkeypatch, 2)
    sv = _answers(50).assign(answered_at=None)
    S._CLEAN.clear()
    S.validate(sv, "surveys")
    submitted = _spy_submits(monkeypatch)
    S.validate(sv, "surveys")
    assert "_read_text_facts" not in submitted


# --- the record ----------------------------------------------------------------------------------------
def test_record_ids_from_arrow_and_lazy_fingerprint():
    """Arrow text is stored as a tuple of str, a missing id as '<missing>' (as from a list); two
    records with the same entries compare equal (the fingerprint is computed when compared, also
    after a pickle round trip); merged() with nothing to merge is the record itself."""
    assert R._as_ids(pa.array(["b", "a"])) == ("b", "a")
    assert R._as_ids(pa.array(["b", None], type=pa.large_string())) == ("b", "<missing>")
    assert R._as_ids(pa.array([3, 4])) == ("3", "4")
    a = R.Record.empty().with_entry(R.EXCLUDED_KEY, "no score", "score", R._as_ids(pa.array(["x1", "x2"])))
    b = R.Record.empty().with_entry(R.EXCLUDED_KEY, "no score", "score", ("x1", "x2"))
    c = R.Record.empty().with_entry(R.EXCLUDED_KEY, "no score", "score", ("x1",))
    assert a == b and a != c and not (a != b)
    assert pickle.loads(pickle.dumps(a)) == a
    assert a.merged() is a
    assert a.merged(c)[R.EXCLUDED_KEY][1]["row_ids"] == ("x1",)


@pytest.mark.parametrize("ids, dup_rows", [
    # ('c1', csat) twice: rows 0 and 2, found from the codes before the id step
    (["c1", "c2", "c1"], "'c1 / csat'"),
    # 'c1 ' becomes 'c1' in the id step (two categories made one): ('c1', csat) twice only after it
    (["c1", "c2", "c1 "], "'c1 / csat'"),
])
def test_contract_duplicate_key_either_way(monkeypatch, two_cores, prefetch_all, ids, dup_rows):
    """The key (conversation_id, kind) is read while the second thread finishes the id categories;
    when the id step merges two ids the key is read again: the same refusal with one thread or two."""
    sv = pd.DataFrame({"conversation_id": pd.Categorical(ids), "kind": ["csat", "csat", "csat"],
                       "score": [4.0, 5.0, 3.0], "answered_at": None})
    text = {}
    for n in (1, 2):
        _threads(monkeypatch, n)
        with pytest.raises(DataValidationError, match=r"duplicate key \(conversation_id, kind\)") as err:
            S.validate(sv, "surveys")
        text[n] = str(err.value)
    assert text[1] == text[2]
    assert dup_rows in text[2]


@pytest.mark.parametrize("n", [1, 2])
def test_start_returns_once_running(monkeypatch, two_cores, n):
    """``start``: the function is running (or, with one thread, done) when it returns; its value
    and its error reach the caller as with ``submit``."""
    _threads(monkeypatch, n)
    running = threading.Event()
    release = threading.Event()

    def job():
        running.set()
        release.wait(10)
        return threading.current_thread().name

    fut = T.start(job) if n == 2 else None
    if n == 2:
        assert running.is_set() and not fut.done()
        release.set()
        assert fut.result(timeout=10).startswith("qakit-worker")
    else:
        release.set()
        fut = T.start(job)
        assert fut.done() and fut.result() == threading.current_thread().name
    with pytest.raises(ZeroDivisionError):
        T.start(lambda: 1 / 0).result(timeout=10)


def test_one_reading_of_qakit_threads_for_the_second_thread_and_the_scoring_blocks(monkeypatch):
    """``QAKIT_THREADS`` is read in one place (``qakit._threads.allowed``): set, it is the count
    (3 on a one-core process: 3), else the cores (one core: 1; four: 4). The survey KPIs' second
    thread takes at most 2 of them, the scoring engine's row blocks at most 8."""
    from qakit.scorecard import _blocks

    monkeypatch.setattr(T.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setenv("QAKIT_THREADS", "3")
    assert (T.allowed(), T.threads(), _blocks.threads()) == (3, 2, 3)
    monkeypatch.delenv("QAKIT_THREADS")
    assert (T.allowed(), T.threads(), _blocks.threads()) == (1, 1, 1)
    monkeypatch.setattr(T.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setenv("QAKIT_THREADS", "12")
    assert (T.allowed(), T.threads(), _blocks.threads()) == (12, 2, 8)
    monkeypatch.delenv("QAKIT_THREADS")
    assert (T.allowed(), T.threads(), _blocks.threads()) == (4, 2, 4)
