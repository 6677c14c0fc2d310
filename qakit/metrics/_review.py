"""The card's review-level rules, written once: section scores, critical and fail rules, sections
combined by weight or by pooled points -- applied to per-review sums of earned and possible points.

The same function runs on numpy arrays (:class:`NumpyOps`: the in-memory scoring engine,
:func:`qakit.scorecard.score_matrix`) and on narwhals expressions (:class:`ExprOps`: DuckDB,
Polars, Spark through :mod:`qakit.metrics.scoring`). ``A`` is the compiled card
(:class:`qakit.scorecard.engine.CardArrays`): section weights ``W`` (divided by a power of two),
``bonus``, ``rule_all`` (fail rule ``all``) and ``pooled`` (``sections_combine: points``).

Notes
-----
Section score ``S_s = max(100 num_s / den_s, 0)`` (missing when ``den_s = 0``). Review score:
pooled, ``max(100 sum_s num_s / sum_{s regular} den_s, 0)``; by weight, ``sum_s W_s S_s / sum_{s
regular} W_s`` over the present sections (bonus sections add to the numerator only); one section,
``S_1``. A failing category zeroes its section's points and score (``fail_rule: section``) or the
whole review (``fail_rule: all``). A review with nothing rated has no score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw
import numpy as np


class NumpyOps:
    """The review rules on numpy arrays (NaN: missing)."""

    null = np.nan

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any:
        return np.where(cond, a, b)

    @staticmethod
    def isnull(x: Any) -> Any:
        return np.isnan(x)

    @staticmethod
    def clip0(x: Any) -> Any:
        return np.maximum(x, 0.0)

    @staticmethod
    def div(a: Any, b: Any) -> Any:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return a / b

    @staticmethod
    def zeros_like(x: Any) -> Any:
        return np.zeros(len(x))

    @staticmethod
    def any_of(xs: Sequence[Any], n: int) -> Any:
        out = np.zeros(n, dtype=bool)
        for x in xs:
            out |= x
        return out

    @staticmethod
    def fill_where(mask: Any, x: Any, value: float) -> Any:
        """``x`` with ``value`` where ``mask`` (in place: the arrays are this computation's own)."""
        if mask.any():
            x[mask] = value
        return x

    @staticmethod
    def copy(x: Any) -> Any:
        return x.copy()

    @staticmethod
    def stage(xs: Sequence[Any]) -> list[Any]:
        """The values themselves (arrays are computed once; see :meth:`ExprOps.stage`)."""
        return list(xs)


class ExprOps:
    """The review rules as narwhals expressions (null: missing; a division only where the
    denominator is positive, so no engine ever divides by zero).

    One instance per query: :meth:`stage` names the intermediate values a later rule reads several
    times (section scores, the scores after the fail rules) as columns, and :meth:`apply` adds them to
    the frame in order. Written inline, each use repeats the whole expression: a weighted card of
    three sections with fail rules gave an IQS expression of ~60 copies of each section score, and
    Spark spent 10-13 s per call building and analysing it (py4j: one round trip per node)."""

    null = None

    def __init__(self) -> None:
        self.stages: list[dict[str, Any]] = []

    def stage(self, xs: Sequence[Any]) -> list[Any]:
        """``xs`` as columns ``__rs{stage}_{i}`` of the frame (added by :meth:`apply`)."""
        names = [f"__rs{len(self.stages)}_{i}" for i in range(len(xs))]
        self.stages.append(dict(zip(names, xs)))
        return [nw.col(n) for n in names]

    def apply(self, lf: Any) -> Any:
        """``lf`` with the staged columns, one projection per stage (each reads the ones before)."""
        for cols in self.stages:
            lf = lf.with_columns(**cols)
        return lf

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any:
        e = nw.when(cond).then(a)
        return e if b is None else e.otherwise(b)

    @staticmethod
    def isnull(x: Any) -> Any:
        return x.is_null()

    @staticmethod
    def clip0(x: Any) -> Any:
        return nw.when(x < 0).then(nw.lit(0.0)).otherwise(x)

    @staticmethod
    def div(a: Any, b: Any) -> Any:
        return a / nw.when(b != 0).then(b)

    @staticmethod
    def zeros_like(x: Any) -> Any:
        return nw.lit(0.0)

    @staticmethod
    def any_of(xs: Sequence[Any], n: int) -> Any:
        out = nw.lit(False)
        for x in xs:
            out = out | x
        return out

    @staticmethod
    def fill_where(mask: Any, x: Any, value: float | None) -> Any:
        e = nw.when(~mask).then(x)
        return e if value is None else e.otherwise(nw.lit(value))

    @staticmethod
    def copy(x: Any) -> Any:
        return x


def section_score(num: Any, den: Any, ops: Any) -> Any:
    """``max(100 num / den, 0)``, missing where ``den <= 0``."""
    return ops.where(den > 0, ops.clip0(100.0 * ops.div(num, den)), ops.null)


def combine(S_: Sequence[Any], num: Sequence[Any], den: Sequence[Any], A: Any, ops: Any) -> Any:
    """Review score from the section scores ``S_`` (missing: section not counted), earned points
    ``num`` and possible points ``den`` (one entry per section; a loop over the few sections)."""
    n_sec = len(S_)
    if A.pooled:  # all earned points (bonus included) over the possible points of regular sections
        total = num[0]
        d = None if A.bonus[0] else den[0]
        for s in range(1, n_sec):
            total = total + num[s]
            if not A.bonus[s]:
                d = den[s] if d is None else d + den[s]
        if d is None:
            d = ops.zeros_like(num[0])
        return ops.where(d > 0, ops.clip0(100.0 * ops.div(total, d)), ops.null)
    if n_sec == 1:
        return S_[0]
    total = denom = None
    for s in range(n_sec):
        present = ~ops.isnull(S_[s])
        term = ops.where(present, float(A.W[s]) * S_[s], 0.0)
        total = term if total is None else total + term
        if not A.bonus[s]:
            w = ops.where(present, float(A.W[s]), 0.0)
            denom = w if denom is None else denom + w
    if denom is None:
        denom = ops.zeros_like(S_[0])
    return ops.where(denom > 0, ops.div(total, denom), ops.null)


def review_scores(num: Sequence[Any], den: Sequence[Any], nothing: Any, sec_fail: Sequence[Any] | None, A: Any,
                  ops: Any, n: int = 0) -> tuple[Any, Any, Any]:
    """``(iqs_raw, iqs, critical_failed)`` of each review from its per-section earned points
    ``num``, possible points ``den``, whether nothing was rated (``nothing``) and whether each
    section has a failing category (``sec_fail``; None: no category can fail)."""
    n_sec = len(num)
    # (ops.stage: each value a later rule reads several times computed once, see ExprOps)
    filled = ops.stage([ops.fill_where(nothing, x, 0.0) for x in (*num, *den)])
    num, den = filled[:n_sec], filled[n_sec:]
    S_ = ops.stage([section_score(x, d, ops) for x, d in zip(num, den)])
    raw = combine(S_, num, den, A, ops)
    if sec_fail is None:
        iqs, critical = ops.copy(raw), ops.any_of([], n)
    else:
        S_after = [S_[s] if A.rule_all[s] else ops.where(sec_fail[s] & ~ops.isnull(S_[s]), 0.0, S_[s])
                   for s in range(n_sec)]
        num_after = [num[s] if A.rule_all[s] else ops.where(sec_fail[s], 0.0, num[s]) for s in range(n_sec)]
        staged = ops.stage([raw, *S_after, *num_after])
        raw, S_after, num_after = staged[0], staged[1:1 + n_sec], staged[1 + n_sec:]
        iqs = ops.stage([combine(S_after, num_after, den, A, ops)])[0]
        fail_all = ops.any_of([sec_fail[s] for s in range(n_sec) if A.rule_all[s]], n)
        iqs = ops.where(fail_all & ~ops.isnull(iqs), 0.0, iqs)
        critical = ops.any_of(sec_fail, n)
    return ops.fill_where(nothing, raw, ops.null), ops.fill_where(nothing, iqs, ops.null), critical
