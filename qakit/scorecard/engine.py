"""The single review-scoring engine.

Every path that scores reviews -- :meth:`Scorecard.score` / :func:`score_reviews`,
:class:`qakit.tuning.ReviewMatrix` (and through it :func:`~qakit.tuning.compare_scorecards`,
:func:`~qakit.tuning.fit_weights` and the explorer) -- calls :func:`score_matrix` on a
reviews x categories matrix of ratings (NaN = N/A). Sections are an indicator matrix over the
categories; critical thresholds, ``fail_values``, fail rules and N/A policies are applied here
and nowhere else.

Notes
-----
Per cell (review i, category j), with ``w_j`` the weight divided by the power of two at or below
the card's largest weight (an exact scaling: only ratios matter, and 1e308 stays finite): the
percent score ``s_ij = a_j r_ij + b_j`` (see :meth:`Scale.percent`), the fraction
``F_ij = (r_ij - o_j) / d_j`` (``o`` the scale's minimum for ranges in ``weighted`` mode, else 0;
``d = max - o``), the earned points ``Q_j F_ij`` and the possible points ``P_j`` (``Q = P =
w_j max_j`` in ``points`` mode, ``100 w_j`` otherwise; a penalty earns ``w_j r_ij`` of 0). Integer
spans are scaled by their least common multiple so integer ratings give exact points and equal
ratios give bitwise-equal scores. An N/A cell earns full marks (``na: full``), 0 (``na: zero``)
or is left out (``na: exclude``). Section score ``S_ik = 100 (sum_j Q_j F_ij I_jk / sum_j P_j
c_ij I_jk)`` (``c`` counted cells, ``I`` the section indicator), floored at 0; the review combines
sections by weight or by pooled points (``sections_combine``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import narwhals as nw

from .. import records as RC
from .. import schema as S
from .._public import public, renamed
from ..errors import ParameterError
from ..metrics import _contract as C
from ..metrics import _source as B
from ..metrics import scoring as MS
from ..metrics._review import NumpyOps, review_scores
from ._blocks import map_blocks, row_blocks
from .card import PASS_TOLERANCE, Scorecard
from . import card as _card
from .validate import Prepared, add_adjustment, as_cards, category_percent, prepare, with_score_columns

NOT_SCORED_ALL_NA = "all categories N/A: review not scored"
NOT_SCORED_WEIGHT_0 = "only weight-0 categories rated: review not scored"


@dataclass
class CardArrays:
    """A card as per-category and per-section arrays (what the engine needs, in card order)."""

    a: np.ndarray          # percent score s = a * r + b
    b: np.ndarray
    ea: np.ndarray         # earned points e = ea * r + eb
    eb: np.ndarray
    possible: np.ndarray   # possible points of a counted cell, times L (see ``divisor``)
    possible_unit: np.ndarray  # possible points of a counted cell
    na_earned: np.ndarray  # earned points of an N/A cell (policy full / zero); NaN: left out
    low: np.ndarray        # lowest rating of each scale
    offset: np.ndarray     # earned points = earn * F, F = (r - offset) / divisor or (r - offset) * multiplier
    divisor: np.ndarray | None
    multiplier: np.ndarray | None
    earn: np.ndarray       # points of a full-marks cell (w for a penalty: earned = w * r)
    na_fraction: np.ndarray  # the fraction a counted N/A cell earns (full: 1, or a penalty's best)
    penalty: np.ndarray    # penalty scale (values <= 0, no possible points)
    critical: np.ndarray   # critical flag
    threshold: np.ndarray  # critical threshold minus PASS_TOLERANCE
    fail_values: list      # per category: array of failing ratings
    section: np.ndarray    # section position of each category
    indicator: np.ndarray  # (k x n_sections) 0/1
    W: np.ndarray          # section weights (divided by the largest)
    bonus: np.ndarray
    rule_all: np.ndarray
    pooled: bool           # sections_combine == "points"

    @classmethod
    def of(cls, card: Scorecard) -> "CardArrays":
        cats = card.categories
        w = _pow2_scaled(np.array([c.weight for c in cats], dtype=float))
        ab = np.array([c.scale.percent(card.mode) for c in cats], dtype=float).reshape(-1, 2)
        a, b = ab[:, 0], ab[:, 1]
        hi = np.array([c.scale.max for c in cats], dtype=float)
        if card.mode == "points":
            ea, eb, possible = w, np.zeros(len(cats)), w * np.maximum(hi, 0.0)
        else:
            ea, eb, possible = w * a, w * b, 100.0 * w
        best = ea * hi + eb
        na = np.array([c.na for c in cats])
        na_earned = np.where(na == "full", best, np.where(na == "zero", 0.0, np.nan))
        # the fraction form of the same points: earned = earn * (r - offset) / divisor
        penalty = np.array([c.scale.is_penalty for c in cats])
        lo = np.array([c.scale.min for c in cats], dtype=float)
        rescale = np.array([card.mode == "weighted" and not c.scale.is_list for c in cats])
        offset = np.where(rescale, lo, 0.0)
        d = np.where(penalty, 1.0, hi - offset)
        # integer spans: scale every fraction by their least common multiple L, so integer
        # ratings and dyadic weights give exact earned and possible points and equal ratios give
        # bitwise-equal scores (ties stay ties for rank statistics)
        L = 1.0
        if all(float(x).is_integer() and 0 < x < 2**20 for x in d):
            L = float(math.lcm(*(int(x) for x in d)))
        if L > 2**20:
            L = 1.0
        divisor = d if L == 1.0 else None
        multiplier = None if L == 1.0 else L / d  # integers: exact products
        earn = np.where(penalty, w, possible)
        possible = possible * L
        na_earned = na_earned  # (per unit weight, for ReviewMatrix.linear_parts: unchanged)
        na_fraction = np.where(na == "full", np.where(penalty, hi * L, L), 0.0)
        secs = card.sections
        names = [s.name for s in secs] or [None]
        section = np.array([names.index(c.section) if secs else 0 for c in cats], dtype=np.intp)
        indicator = np.zeros((len(cats), len(names)))
        indicator[np.arange(len(cats)), section] = 1.0
        W = np.array([s.weight for s in secs] or [1.0], dtype=float)
        W = _pow2_scaled(W)
        return cls(
            a=a, b=b, ea=ea, eb=eb, possible=possible, possible_unit=possible / L, na_earned=na_earned,
            offset=offset, divisor=divisor, multiplier=multiplier,
            earn=earn, na_fraction=na_fraction, penalty=penalty,
            low=np.array([c.scale.min for c in cats], dtype=float),
            critical=np.array([c.critical for c in cats]),
            threshold=np.array([c.critical_threshold for c in cats], dtype=float) - PASS_TOLERANCE,
            fail_values=[np.array(c.fail_values, dtype=float) for c in cats],
            section=section, indicator=indicator, W=W,
            bonus=np.array([s.bonus for s in secs] or [False]),
            rule_all=np.array([s.fail_rule == "all" for s in secs] or [True]),
            pooled=card.sections_combine == "points",
        )


@dataclass
class EngineResult:
    """Per-review output of :func:`score_matrix`."""

    iqs_raw: np.ndarray          # before fail rules
    iqs: np.ndarray
    critical_failed: np.ndarray  # some category failed (critical threshold or fail_values)
    fail: np.ndarray             # (n x len(fail_cols)) bool: the failing cells
    fail_cols: np.ndarray        # categories that can fail (critical or with fail_values)
    n_rated: np.ndarray


def _pow2_scaled(w: np.ndarray) -> np.ndarray:
    """Weights divided by the power of two at or below the largest (an exact scaling: only ratios
    matter, and 1e308 stays finite in sums)."""
    top = float(w.max())
    if top <= 0:
        return w
    return np.ldexp(w, -(math.frexp(top)[1] - 1))


@public
def score_matrix(R: np.ndarray, card: Scorecard, arrays: CardArrays | None = None) -> EngineResult:
    """Score every review (row of ``R``: ratings in card category order, NaN = N/A) with ``card``.

    The ratings must already be on the card's scales (see :mod:`qakit.scorecard.validate`).

    Examples
    --------
    >>> from qakit import Category
    >>> card = Scorecard([Category("Tone", 1.0, scale=5), Category("Solution", 3.0, critical=True)])
    >>> score_matrix(np.array([[3.0, 1.0], [5.0, 0.0], [np.nan, np.nan]]), card).iqs.tolist()
    [87.5, 0.0, nan]
    """
    A = arrays if arrays is not None else CardArrays.of(card)
    R = np.asarray(R, dtype=float)
    blocks = row_blocks(*R.shape)
    if len(blocks) == 1:
        return _score_rows(R, A)
    # large matrices: blocks of whole reviews (every review scored by the same code as in one
    # pass, so the result is bitwise the same), on the threads of qakit.scorecard._blocks
    parts = map_blocks(lambda a, b: _score_rows(R[a:b], A), blocks)
    return EngineResult(**{f: np.concatenate([getattr(p, f) for p in parts])
                           for f in ("iqs_raw", "iqs", "critical_failed", "fail", "n_rated")},
                        fail_cols=parts[0].fail_cols)


def _any_column(M: np.ndarray) -> np.ndarray:
    """Row-wise any of a boolean matrix with few columns (an OR of its columns: numpy's
    ``any(axis=1)`` is ~25x slower on a tall, narrow matrix)."""
    if M.shape[1] == 0 or M.shape[1] > 64:
        return M.any(axis=1)
    out = M[:, 0].copy()
    for j in range(1, M.shape[1]):
        out |= M[:, j]
    return out


def _score_rows(R: np.ndarray, A: CardArrays) -> EngineResult:
    """:func:`score_matrix` on one block of reviews."""
    n, k = R.shape
    missing = np.isnan(R)
    # Each counted cell earns Q_j * F_ij of P_j possible points, with the fraction
    # F = (r - o_j) / d_j (1.0 exactly at full marks: x / x) -- or the N/A policy's fraction on
    # a counted N/A cell (full: 1, zero: 0). Earned and possible points are summed by the same
    # einsum over the reviews x categories matrix (numpy's loop, one order of additions for every
    # row), so a review with full marks scores exactly 100 and equal ratings give equal scores.
    F = np.subtract(R, A.offset)
    if A.multiplier is not None:
        F *= A.multiplier
    else:
        F /= A.divisor
    counts_na = ~np.isnan(A.na_earned)
    if counts_na.any() or A.penalty.any():
        np.copyto(F, np.broadcast_to(A.na_fraction, F.shape), where=missing)
        counted = ~missing
        counted |= counts_na
    else:  # every rated F >= 0, and fmax(NaN, 0) = 0
        np.fmax(F, 0.0, out=F)
        counted = ~missing
    ind = A.indicator
    n_sec = ind.shape[1]
    num = np.empty((n_sec, n))  # one contiguous row per section
    den = np.empty((n_sec, n))
    with np.errstate(invalid="ignore", over="ignore"):
        for s_ in range(n_sec):                                    # per section (indicator column)
            num[s_] = np.einsum("ij,j->i", F, np.ascontiguousarray(A.earn * ind[:, s_]))
            den[s_] = np.einsum("ij,j->i", counted, np.ascontiguousarray(A.possible * ind[:, s_]))
    rated = counted if not counts_na.any() else ~missing
    ri8 = rated.view(np.int8)
    n_rated = (ri8 @ np.ones(k, np.int8) if k < 127 else ri8.sum(axis=1, dtype=np.int64)).astype(np.int64)
    nothing = n_rated == 0
    # failing cells (only the columns that can fail): critical below threshold, or a fail value
    fail_cols = np.flatnonzero(A.critical | np.array([len(fv) > 0 for fv in A.fail_values], dtype=bool))
    fail = np.zeros((n, len(fail_cols)), dtype=bool)
    for i, j in enumerate(fail_cols):
        if A.critical[j]:  # s = a r + b < threshold, a > 0  <=>  r < (threshold - b) / a
            with np.errstate(invalid="ignore"):
                fail[:, i] = R[:, j] < (A.threshold[j] - A.b[j]) / A.a[j]  # NaN (N/A) compares False
        if len(A.fail_values[j]):
            fail[:, i] |= np.isin(R[:, j], A.fail_values[j])
    sec_fail = None
    if fail.any():  # (nothing fails: the fail rules change nothing, skipped)
        sec_fail = [np.zeros(n, dtype=bool) for _ in range(n_sec)]
        for i, j in enumerate(fail_cols):  # a section fails when one of its categories fails
            sec_fail[A.section[j]] |= fail[:, i]
    # the card's review rules (sections, fail rules, bonus, pooled points): written once, in
    # qakit.metrics._review, and run here on numpy arrays
    raw, iqs, critical_failed = review_scores(list(num), list(den), nothing, sec_fail, A, NumpyOps, n)
    return EngineResult(iqs_raw=raw, iqs=iqs, critical_failed=critical_failed, fail=fail, fail_cols=fail_cols,
                        n_rated=n_rated)


# --- long ratings -> the matrix ------------------------------------------------------------------
def rating_matrix(prep: Prepared, part: int) -> tuple[np.ndarray, np.ndarray]:
    """``(R, first)``: the reviews x categories rating matrix of the rows scored by card ``part``
    and the first row (position in ``prep.rows``) of each review, in order of first appearance."""
    card = prep.cards[part][1]
    k = len(card.categories)
    m = prep.masks[part]
    code, r = prep.code, prep.rating
    if m is None:
        first = prep.first
        if (prep.contiguous and len(r) == k * prep.n_reviews and np.all(np.diff(first) == k)
                and np.array_equal(code.reshape(-1, k)[:1].ravel(), np.arange(k))
                and (code.reshape(-1, k) == np.arange(k)).all()):
            return r.reshape(-1, k), first  # every review lists every category in card order
        rc, n_rev = prep.review_codes(), prep.n_reviews
    else:
        idx = np.flatnonzero(m)
        rc, uniq = pd.factorize(prep.review_codes()[idx], sort=False)
        n_rev = len(uniq)
        first = np.zeros(n_rev, dtype=np.int64)
        first[rc[::-1]] = idx[::-1]
        code, r = code[idx], r[idx]
    R = np.full((n_rev, k), np.nan)
    R[rc, code] = r
    return R, first


def _failed_text(fail: np.ndarray, fail_cols: np.ndarray, names: Sequence[str]) -> pd.Series:
    """"; "-joined names of the failing categories per review (one text per distinct set)."""
    n, width = fail.shape
    hit = np.flatnonzero(_any_column(fail)) if width else np.zeros(0, dtype=np.intp)
    if width <= 62:  # each review's failing set as the bits of one integer
        sets = fail[hit].astype(np.int64) @ (np.int64(1) << np.arange(width, dtype=np.int64))
        return _failed_text_of_sets(sets, hit, n, fail_cols, names)
    # (more than 62 failing-capable categories: rows compared as a whole)
    text, which = [""], np.zeros(n, dtype=np.int64)
    if len(hit):
        uniq, inv = np.unique(fail[hit], axis=0, return_inverse=True)
        text += ["; ".join(names[fail_cols[j]] for j in np.flatnonzero(u)) for u in uniq]
        which[hit] = inv.ravel() + 1
    return _texts_taken(text, which)


def _failed_text_of_sets(sets: np.ndarray, hit: np.ndarray, n: int, fail_cols: np.ndarray,
                         names: Sequence[str]) -> pd.Series:
    """:func:`_failed_text` from each failing review's set as one integer (bit ``j``: column ``j`` of
    ``fail_cols``, at most 62): ``sets`` of the rows ``hit`` among ``n`` (the others fail nothing).
    The engines return the sets packed so (no boolean matrix of 10M reviews)."""
    text, which = [""], np.zeros(n, dtype=np.int64)
    if len(hit):
        uniq, inv = np.unique(sets, return_inverse=True)
        text += ["; ".join(names[fail_cols[j]] for j in range(len(fail_cols)) if (int(u) >> j) & 1) for u in uniq]
        which[hit] = inv.ravel() + 1
    return _texts_taken(text, which)


def _texts_taken(text: list[str], which: np.ndarray) -> pd.Series:
    """``text[which]`` as ``str``: an Arrow take from the few distinct texts (no million-element
    object array)."""
    return pd.array(pa.array(text, type=pa.large_string()).take(pa.array(which)), dtype="str")


def finish_reviews(out: pd.DataFrame, card: Scorecard, iqs: np.ndarray) -> pd.DataFrame:
    """``passed`` (nullable boolean: ``iqs >= pass_threshold`` up to ``PASS_TOLERANCE``, NA when
    unscored) and ``band`` (when the card has bands) from the review scores: the one definition
    for every engine."""
    passed = pd.array(card.passes(iqs), dtype="boolean")
    passed[np.isnan(iqs)] = pd.NA
    out[S.PASSED] = passed
    if card.bands:
        order = sorted(card.bands.items(), key=lambda kv: kv[1])
        edges = np.array([v for _, v in order])
        labels = np.array([k for k, _ in order], dtype=object)
        idx = np.searchsorted(edges, np.nan_to_num(iqs, nan=-np.inf) + PASS_TOLERANCE, side="right") - 1
        band = np.where((idx >= 0) & ~np.isnan(iqs), labels[np.clip(idx, 0, None)], None)
        out[S.BAND] = pd.Categorical(band, categories=[k for k, _ in order], ordered=True)
    return out


def _review_table(prep: Prepared, part: int) -> pd.DataFrame:
    card = prep.cards[part][1]
    R, first = rating_matrix(prep, part)
    res = score_matrix(R, card)
    rows = prep.rows
    id_cols = [c for c in (S.REVIEW_ID, S.CONVERSATION_ID, S.AGENT_ID, S.REVIEWER_ID, S.REVIEWED_AT,
                           S.SCORECARD_VERSION) if c in rows.columns]
    out = rows[id_cols].iloc[first].reset_index(drop=True)  # (keeps the input's records in attrs)
    out[S.IQS_RAW] = res.iqs_raw
    out[S.CRITICAL_FAILED] = res.critical_failed
    out[S.FAILED_CATEGORIES] = _failed_text(res.fail, res.fail_cols, card.category_names)
    out[S.IQS] = res.iqs
    out[S.N_RATED] = res.n_rated.astype(np.int64)
    return finish_reviews(out, card, res.iqs)


# --- on an engine (Polars, DuckDB, Spark) ------------------------------------------------------------
#: numbers the per-review temporary tables of :func:`_engine_reviews` (one per call, dropped after it)
_TABLES = itertools.count()


def on_engine(ratings, card, engine, *, tz: str = "UTC", keep: Sequence[str] = (), table: str | None = None,
              rows_only: bool = False, reads: Sequence[str] = MS.READS):
    """``(source, card, compiled card, validated table, rows joined with the card, per-review lazy
    frame, record)`` of ratings that run on an engine other than pandas; ``None`` for pandas.
    ``table``: on DuckDB the per-review frame is kept as a temporary table of that name (in DuckDB's
    memory budget, spilled beyond it) instead of in client memory; the caller drops it.
    ``rows_only``: the caller reads only the rows joined with the card (category scores); when this
    card's checks already passed on this checked table (a stored file the contract cache holds: the
    report scores the ratings, then asks category scores), the per-review frame is neither built
    nor checked again (None in its place). ``reads``: the columns the caller reads besides
    scoring's, checked as required (scorecard health: the conversation ids)."""
    src = B.resolve(ratings, engine, what="ratings")
    if src.engine == "pandas":
        return None
    one = MS.check_one_card(as_cards(card), src.engine)
    A = CardArrays.of(one)
    # the (review, category) key is checked with the card's checks, in the scoring pass itself
    t = C.validated(src, "ratings", reads=reads, optional=MS.OPTIONAL, tz=tz, defer=True, check_unique=False)
    if t.lf is None:
        C.raise_problems(t.problems)
    missing = [b for b in keep if b not in t.columns]
    if missing:
        C.raise_problems(t.problems)
        raise ParameterError(f"by column(s) {missing} not in ratings; available: {sorted(map(str, t.columns))}")
    lf, rec, unknown, mapping = MS.prepare(t, one, A)
    passed = t.cache.setdefault("cards_checked", [])  # (cards whose checks passed on this table)
    if rows_only and any(c == one for c in passed):
        return src, one, A, t, lf, None, (t.carried or RC.Record.empty()).merged(rec)
    rv = MS.reviews(lf, one, A, pass_cut=one.pass_threshold - PASS_TOLERANCE, keep=keep)
    # one scan of the ratings; checks, scores and aggregates read this
    rv = (B.materialize_table(rv, table, src.con) if table and src.engine == "duckdb"
          else B.materialize(rv, src.engine))
    try:
        MS.check(t, lf, rv, one, unknown, mapping, problems=t.problems)
    except BaseException:  # (refused: the temporary table goes with the call)
        if table and src.engine == "duckdb":
            B.drop_table(table, src.con)
        raise
    if not any(c == one for c in passed):
        passed.append(one)
    record = (t.carried or RC.Record.empty()).merged(rec)
    return src, one, A, t, lf, rv, record


#: the per-review columns that leave the engine (those present): what :func:`score_reviews` returns
#: is made from them (:func:`_reviews_frame`)
_REVIEW_IDS = (S.REVIEW_ID, S.CONVERSATION_ID, S.AGENT_ID, S.REVIEWER_ID, S.REVIEWED_AT, S.SCORECARD_VERSION)


def _review_query(rv: nw.LazyFrame) -> nw.LazyFrame:
    """The per-review frame's columns a result reads: ids, ``iqs_raw, critical_failed, iqs, n_rated,
    passed`` and the failing-category bit sets (the checks' columns stay on the engine)."""
    names = rv.collect_schema().names()
    ids = [c for c in _REVIEW_IDS if c in names]
    bits = [c for c in names if c.startswith("__bits")]
    return rv.select(*ids, S.IQS_RAW, S.CRITICAL_FAILED, S.IQS, nw.col(S.N_RATED).cast(nw.Int64), S.PASSED, *bits)


def _reviews_frame(out: pd.DataFrame, one: Scorecard, record: RC.Record) -> pd.DataFrame:
    """:func:`score_reviews`' result from the engine's per-review rows (:func:`_review_query`,
    collected): ids as text, failing categories named, ``passed`` and ``band`` by
    :func:`finish_reviews`, the unscored reviews itemised (in review-id order whatever the rows' order)."""
    names = list(out.columns)
    ids = [c for c in _REVIEW_IDS if c in names]
    bits = [c for c in names if c.startswith("__bits")]
    for c in ids:
        if c != S.REVIEWED_AT:
            out[c] = out[c].astype("str")
    iqs = pd.to_numeric(out[S.IQS], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    out[S.IQS_RAW] = pd.to_numeric(out[S.IQS_RAW], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    out[S.IQS] = iqs
    out[S.CRITICAL_FAILED] = out[S.CRITICAL_FAILED].fillna(False).astype(bool)
    cols = np.arange(len(one.categories))
    if len(bits) == 1:  # (up to 62 categories: each review's failing set is already one integer)
        word = pd.to_numeric(out[bits[0]], errors="coerce").fillna(0).to_numpy(dtype=np.int64)
        hit = np.flatnonzero(word)
        out[S.FAILED_CATEGORIES] = _failed_text_of_sets(word[hit], hit, len(word), cols, one.category_names)
    else:
        fails = MS.failed_names(one, out)
        fail = np.column_stack(fails) if fails else np.zeros((len(out), 0), dtype=bool)
        out[S.FAILED_CATEGORIES] = _failed_text(fail, cols, one.category_names)
    out[S.N_RATED] = pd.to_numeric(out[S.N_RATED]).fillna(0).astype("int64")
    # (a selection, not a copy: copy-on-write keeps the collected frame unchanged; 10M reviews)
    out = finish_reviews(out[ids + [S.IQS_RAW, S.CRITICAL_FAILED, S.FAILED_CATEGORIES, S.IQS, S.N_RATED]], one, iqs)
    RC.set_record(out, record)
    _itemise_unscored(out, out[S.IQS].isna(), out[S.N_RATED].eq(0), out[S.REVIEW_ID])
    return out


def _itemise_unscored(out: pd.DataFrame, unscored: pd.Series, none_rated: pd.Series, review_ids: pd.Series) -> None:
    """The unscored reviews of the engine's rows, itemised on ``out`` in review-id order: all N/A, or
    only weight-0 categories rated."""
    all_na = unscored & none_rated
    for reason, mask in ((NOT_SCORED_ALL_NA, all_na), (NOT_SCORED_WEIGHT_0, unscored & ~all_na)):
        S.add_exclusion(out, reason, S.RATING, review_ids[mask.to_numpy()].sort_values())


def _engine_reviews(ratings, card, engine, tz: str, sort: bool = True) -> pd.DataFrame | None:
    name = f"__qakit_reviews_{next(_TABLES)}"
    got = on_engine(ratings, card, engine, tz=tz, table=name)
    if got is None:
        return None
    src, one, A, t, lf, rv, record = got
    try:
        # (only what the result reads leaves the engine: the checks' columns stay there; 10M reviews)
        q = _review_query(rv).drop(S.PASSED)
        # (the temporary table dropped as soon as its rows are fetched, before they become pandas)
        out = B.collect(q.sort(S.REVIEW_ID) if sort else q,
                        fetched=(lambda: B.drop_table(name, src.con)) if src.engine == "duckdb" else None)
    finally:
        if src.engine == "duckdb":
            B.drop_table(name, src.con)
    return _reviews_frame(out, one, record)


@dataclass(frozen=True)
class StoredReviews:
    """Review scores computed on DuckDB and kept out of memory in a Parquet file
    (:func:`store_reviews`): the per-review rows of :func:`_review_query` at ``path``, the card that
    scored them, and ``record``, a frame without rows carrying the record :func:`score_reviews`'
    result would carry (the contract's, the card's adjustments, the unscored reviews itemised)."""

    path: str
    card: Scorecard
    record: pd.DataFrame
    #: the record before the unscored reviews are itemised (:meth:`read` itemises them from the rows)
    base: RC.Record

    def read(self) -> pd.DataFrame:
        """The stored reviews as :func:`score_reviews` returns them (in the file's row order)."""
        out = B.collect(nw.from_native(B.duckdb_connection().read_parquet(self.path)).lazy().drop(S.PASSED))
        return _reviews_frame(out, self.card, self.base)

    def lazy(self) -> nw.LazyFrame:
        """The stored reviews on qakit's DuckDB connection: ``review_id`` and the other ids (text),
        ``reviewed_at``, ``iqs_raw, critical_failed, iqs, n_rated, passed``, ``__bits*``."""
        return nw.from_native(B.duckdb_connection().read_parquet(self.path)).lazy()


def store_reviews(ratings: Any, card: Scorecard | Sequence[Scorecard], path: str, *, tz: str = "UTC") -> StoredReviews:
    """Score ``ratings`` on DuckDB (:func:`score_reviews`' rules, contract and checks) and write the
    per-review rows to the Parquet file ``path`` instead of returning them: a report over 100M
    ratings keeps its 10M review scores on disk and asks DuckDB for per-group statistics
    (:mod:`qakit.report`), reading them into pandas only where a section needs rows
    (:meth:`StoredReviews.read`). One card, as on every engine."""
    name = f"__qakit_reviews_{next(_TABLES)}"
    src, one, A, t, lf, rv, record = on_engine(ratings, card, "duckdb", tz=tz, table=name)
    try:
        q = _review_query(rv)
        con = src.con
        con.register("__qakit_store", nw.to_native(q))
        try:
            con.execute(f"COPY (SELECT * FROM __qakit_store) TO {B.sql_text(path)} (FORMAT parquet, COMPRESSION zstd)")
        finally:
            con.unregister("__qakit_store")
        miss = B.collect(q.filter(nw.col(S.IQS).is_null()).select(S.REVIEW_ID, S.N_RATED))
    finally:
        B.drop_table(name, src.con)
    holder = pd.DataFrame({S.REVIEW_ID: pd.Series([], dtype="str")})
    RC.set_record(holder, record)
    ids = miss[S.REVIEW_ID].astype("str")
    _itemise_unscored(holder, pd.Series(True, index=ids.index), pd.to_numeric(miss[S.N_RATED]).fillna(0).eq(0), ids)
    return StoredReviews(path=path, card=one, record=holder, base=record)


@public
@renamed(scorecards="card")
def score_reviews(
    ratings: Any,
    card: Scorecard | Sequence[Scorecard] | Mapping[str, Scorecard],
    *,
    tz: str = "UTC",
    conversations: pd.DataFrame | None = None,
    engine: Any = None,
    sort: bool = True,
) -> pd.DataFrame:
    """Score every review: one row per review with its IQS.

    Parameters
    ----------
    ratings : pandas or Polars DataFrame, Parquet file or folder, DuckDB relation, Spark DataFrame
        The long ratings table (see :mod:`qakit.schema`); ``rating`` NaN or null means N/A.
    card : Scorecard, list of Scorecard, or mapping version -> Scorecard
        (``scorecards=`` is the old name, until qakit 0.3)
        With several cards, each review is scored with the card registered for its
        ``scorecard_version`` and/or whose ``applies_to`` matches it (a card without
        ``applies_to`` takes the reviews no conditional card claims).
    tz : str, default="UTC"
        Zone for naive ``reviewed_at`` values.
    conversations : pandas.DataFrame, optional
        Conversation columns (by ``conversation_id``) that ``applies_to`` may read.
    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where the rules run (see ``docs/guide/engines.md``); ``None``: the engine of ``ratings``
        (a pandas frame: pandas, a Parquet path: DuckDB ...). pandas scores with the numpy engine
        (:func:`score_matrix`); the others apply the same compiled card as expressions
        (:mod:`qakit.metrics.scoring`) with one card at a time (no ``applies_to``; refused by name).
    sort : bool, default=True
        On an engine other than pandas, the rows sorted by ``review_id`` (an engine has no row
        order). ``False``: in the order the engine gives them, which may differ between runs --
        for a caller that orders the reviews itself (the report puts them in file order), saving a
        sort of millions of ids and the memory it holds. The itemised reviews are listed in
        ``review_id`` order either way. pandas ignores it (order of first appearance).

    Returns
    -------
    pandas.DataFrame
        One row per review, in order of first appearance (card by card; on another engine than
        pandas sorted by ``review_id``, an engine having no row order): ``review_id,
        conversation_id, agent_id, reviewer_id, reviewed_at[, scorecard_version]``, ``iqs_raw``
        (before fail rules), ``critical_failed``, ``failed_categories`` ("; "-joined), ``iqs``
        (percent), ``n_rated``, ``passed`` (nullable boolean), and ``band`` when the card has
        bands. Reviews whose categories are all N/A (or whose only counted categories weigh 0)
        get ``iqs`` NaN, ``passed`` NA, and are listed, with the reason, in
        :func:`qakit.schema.exclusions` of the result; category names matched after Unicode,
        case or whitespace normalisation are itemised as adjustments.

    Raises
    ------
    DataValidationError
        All problems at once: contract violations, unknown categories, off-scale ratings,
        duplicate (review_id, category), missing ids, a review spread over two agents or
        conversations, versions with no card.

    Notes
    -----
    See :mod:`qakit.scorecard.card` for the modes' formulas, critical and fail rules, sections
    and bonus sections, and :mod:`qakit.scorecard.engine` for the matrix form.
    """
    got = _engine_reviews(ratings, card, engine, tz, sort)
    if got is not None:
        return got
    if not isinstance(ratings, pd.DataFrame):
        ratings = B.to_pandas(B.resolve(ratings, "pandas", what="ratings"))
    prep = prepare(ratings, card, tz, conversations=conversations)
    parts = [_review_table(prep, i) for i, m in enumerate(prep.masks) if m is None or m.any()]
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    unscored = out[S.IQS].isna()
    all_na = unscored & out[S.N_RATED].eq(0)
    S.add_exclusion(out, NOT_SCORED_ALL_NA, S.RATING, out.loc[all_na, S.REVIEW_ID])
    S.add_exclusion(out, NOT_SCORED_WEIGHT_0, S.RATING, out.loc[unscored & ~all_na, S.REVIEW_ID])
    for reason, column, mask in prep.adjustments:
        add_adjustment(out, reason, column, prep.rows.loc[mask, S.REVIEW_ID])
    return out


__all__ = ["score_reviews", "score_matrix", "CardArrays", "EngineResult"]


def _category_rows(ratings: Any, card: Scorecard, tz: str) -> pd.DataFrame:
    return with_score_columns(prepare(ratings, [card], tz))


# the card's own scoring methods (Scorecard.score, Scorecard.category_rows) call these: the card
# definition sits below this engine, so it does not import it; the package loads this module
_card._SCORING.update(score_reviews=score_reviews, category_rows=_category_rows)
