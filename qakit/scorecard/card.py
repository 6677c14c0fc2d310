"""Scorecard definition: scales, categories, sections, the card, and YAML/JSON loading.

Scoring modes (``s_c`` is a category's score in percent, ``w_c`` its weight, sums run over the
*counted* categories of a review -- rated ones, plus N/A ones whose ``na`` policy is ``full`` or
``zero``):

``weighted`` (Zendesk QA)
    ranges ``s_c = (r - min) / (max - min) * 100``; lists ``s_c = r / max(values) * 100``;
    review = ``sum(w_c * s_c) / sum(w_c)``.
``points`` (MaestroQA, Scorebuddy, Calabrio)
    each rating earns ``w_c * r`` points out of ``w_c * max`` (a penalty scale such as
    ``[-5, 0]`` earns negative points and adds nothing to the possible points);
    review = ``sum(w_c * r) / sum(w_c * max) * 100``.
``mean_over_max``
    ``s_c = r / max * 100``; review = ``sum(w_c * s_c) / sum(w_c)``.

Critical categories and ``fail_values``: a rated critical category whose score is below its
``critical_threshold`` (default 50 %, by more than ``PASS_TOLERANCE`` = 1e-9 points), or a
rating listed in the category's ``fail_values``, fails the review (score 0) -- or, inside a
section with ``fail_rule: section``, only that section (section score 0, its earned points lost).
Sections combine by ``sections_combine``: ``weights`` (default) = ``sum(W * S) / sum(W)`` over
non-bonus sections with a counted category, bonus sections adding ``W_b * S_b / sum(W)`` on top;
``points`` = all earned points over all possible points (bonus sections add earned points only).
Scores below 0 (penalties larger than the points earned) are floored at 0.

Worked example (the seed scorecard: Product knowledge 1.5 critical, Tone 1.0, Solution 1.25,
Grammar 0.5, binary): all positive -> 100; only Tone negative -> 3.25 / 4.25 = 76.47%; only Grammar
negative -> 3.75 / 4.25 = 88.24%; Product knowledge negative -> 0 (critical).
"""

from __future__ import annotations

import decimal
import json
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .. import schema as S
from .._public import public
from ..errors import ParameterError, ScorecardError, check_choice, check_keys
from .auto import check_auto

MODES = ("weighted", "points", "mean_over_max")
FAIL_RULES = ("all", "section")
SECTIONS_COMBINE = ("weights", "points")
NA_POLICIES = ("exclude", "full", "zero")
_DEFAULT_SECTION = "__all__"
#: points below a pass threshold or band edge that still count as reaching it (floating-point sums)
PASS_TOLERANCE = 1e-9
#: the scoring functions behind :meth:`Scorecard.score` and :meth:`Scorecard.category_rows`, filled by
#: :mod:`qakit.scorecard.engine` when the package loads: the engine sits above the card definition
#: (it reads cards), so the card never imports it
_SCORING: dict[str, Any] = {}
#: a stepped scale with more points than this has no explicit list of values (no per-value tables)
MAX_LISTED_VALUES = 10_000
_CARD_KEYS = {"name", "version", "mode", "pass_threshold", "bands", "categories", "sections", "sections_combine",
              "applies_to", "based_on"}
_CATEGORY_KEYS = {"name", "weight", "critical", "scale", "critical_threshold", "section", "description",
                  "fail_values", "na", "auto"}
_SECTION_KEYS = {"name", "weight", "fail_rule", "bonus"}


@public
def normalise_name(name: str) -> str:
    """The matching key of a category name: Unicode NFKC, case-folded, whitespace collapsed.

    Examples
    --------
    >>> normalise_name("  Ｔｏｎｅ  of\\tvoice ")
    'tone of voice'
    """
    return " ".join(unicodedata.normalize("NFKC", str(name)).casefold().split())


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else float(v)


# --- scales ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scale:
    """The ratings a category accepts.

    ``kind`` is ``"range"`` (integers ``low..high``: ``"binary"``, ``k``, ``"0-4"``),
    ``"stepped"`` (``{min, max, step}``: ``low + i * step`` up to ``high``), ``"continuous"``
    (``{min, max, step: any}``: any real in ``low..high``) or ``"list"`` (explicit outcome values,
    EvaluAgent-style ``[100, 50, 10]``, or penalties ``[-5, 0]``). Ranges, stepped and continuous
    scales are rescaled from their minimum in ``weighted`` mode; a list is scored against its best
    value. No per-value table is ever built for a range, so ``scale: 1000000000`` costs nothing.
    """

    kind: str
    low: float
    high: float
    step: float | None = None
    points: tuple[float, ...] = ()
    label: str = ""

    @property
    def min(self) -> float:
        return self.low

    @property
    def max(self) -> float:
        return self.high

    @property
    def is_list(self) -> bool:
        return self.kind == "list"

    @property
    def is_penalty(self) -> bool:
        """A list whose best value is <= 0: it can only take points away."""
        return self.kind == "list" and self.high <= 0

    @property
    def n_values(self) -> float:
        """Number of allowed values (``inf`` for a continuous scale)."""
        if self.kind == "list":
            return len(self.points)
        if self.kind == "continuous":
            return math.inf
        return math.floor((self.high - self.low) / (self.step or 1.0) + 1e-9) + 1

    @property
    def values(self) -> tuple[float, ...]:
        """The allowed values, for scales with at most ``MAX_LISTED_VALUES`` of them."""
        if self.kind == "list":
            return self.points
        if self.n_values > MAX_LISTED_VALUES:
            raise ScorecardError(f"scale {self.describe()} has no short list of values "
                                 f"(more than {MAX_LISTED_VALUES:,})")
        st = self.step or 1.0
        return tuple(float(self.low + i * st) for i in range(int(self.n_values)))

    def describe(self) -> str:
        """Bounded text for messages: never the full list of a long scale."""
        if self.kind == "list":
            return str([_num(v) for v in sorted(self.points, reverse=True)])
        if self.kind == "continuous":
            return f"any number in {_num(self.low)}..{_num(self.high)}"
        if self.kind == "stepped":
            return f"{_num(self.low)}..{_num(self.high)} in steps of {_num(self.step)}"
        if self.n_values <= 12:
            return str([_num(v) for v in self.values])
        return f"integers {_num(self.low)}..{_num(self.high)}"

    def contains(self, r: np.ndarray) -> np.ndarray:
        """Elementwise: ``r`` is an allowed value (NaN: False)."""
        r = np.asarray(r, dtype=float)
        if self.kind == "list":
            return np.isin(r, np.array(self.points))
        with np.errstate(invalid="ignore"):
            inside = (r >= self.low) & (r <= self.high)
            if self.kind == "continuous":
                return inside
            q = (r - self.low) / (self.step or 1.0)
            if self.kind == "range":
                return inside & (q == np.floor(q))
            return inside & (np.abs(q - np.round(q)) <= 1e-9 * np.maximum(1.0, np.abs(q)))

    def percent(self, mode: str) -> tuple[float, float]:
        """``(a, b)`` with the category score ``s = a * r + b`` (percent) in ``mode``."""
        if self.kind == "list":
            if self.high > 0:
                return 100.0 / self.high, 0.0
            span = self.high - self.low  # penalty list: 100 = no penalty, 0 = the largest one
            return 100.0 / span, -100.0 * self.low / span
        if mode == "weighted":
            span = self.high - self.low
            return 100.0 / span, -100.0 * self.low / span
        return 100.0 / self.high, 0.0

    def to_spec(self) -> Any:
        if self.kind == "list":
            return [_num(v) for v in sorted(self.points, reverse=True)]
        if self.kind in ("stepped", "continuous"):
            return {"min": _num(self.low), "max": _num(self.high),
                    "step": "any" if self.kind == "continuous" else _num(self.step)}
        if self.label == "binary":
            return "binary"
        if self.low == 1:
            return int(self.high)
        return self.label


@public
def parse_scale(spec: Any, *, category: str = "?") -> Scale:
    """Build a :class:`Scale` from its YAML/Python spelling.

    Examples
    --------
    >>> parse_scale("binary").values
    (0.0, 1.0)
    >>> parse_scale(5).values
    (1.0, 2.0, 3.0, 4.0, 5.0)
    >>> parse_scale("0-2").values
    (0.0, 1.0, 2.0)
    >>> parse_scale([100, 75, 25, 0]).max
    100.0
    >>> parse_scale({"min": 1, "max": 10, "step": 0.5}).describe()
    '1..10 in steps of 0.5'
    >>> parse_scale(1, category="Tone")
    Traceback (most recent call last):
    ...
    qakit.errors.ScorecardError: category 'Tone': scale must have at least 2 points; got 1
    """
    where = f"category {category!r}: "
    allowed = ("'binary', an integer k >= 2 (ratings 1..k), a range like '0-4', a list of outcome values, "
               "or {min, max, step} (step a number or 'any')")
    if isinstance(spec, Scale):
        return spec
    if isinstance(spec, bool) or spec is None:
        raise ScorecardError(f"{where}scale must be {allowed}; got {spec!r}")
    if isinstance(spec, str):
        text = spec.strip().lower()
        if text == "binary":
            return Scale("range", 0.0, 1.0, 1.0, label="binary")
        if text.isdigit():
            spec = int(text)
        elif "-" in text:
            lo, _, hi = text.partition("-")
            try:
                a, b = int(lo), int(hi)
            except ValueError:
                raise ScorecardError(f"{where}scale must be {allowed}; got {spec!r}") from None
            if b - a < 1 or a < 0:
                raise ScorecardError(f"{where}scale range must run from a >= 0 up to b > a; got {spec!r}")
            return Scale("range", float(a), float(b), 1.0, label=f"{a}-{b}")
        else:
            raise ScorecardError(f"{where}scale must be {allowed}; got {spec!r}")
    if isinstance(spec, (int, np.integer)) or (isinstance(spec, float) and float(spec).is_integer()):
        k = int(spec)
        if k < 2:
            raise ScorecardError(f"{where}scale must have at least 2 points; got {spec!r}")
        return Scale("range", 1.0, float(k), 1.0, label=f"1-{k}")
    if isinstance(spec, Mapping):
        bad = sorted(set(spec) - {"min", "max", "step"})
        if bad or not {"min", "max"} <= set(spec):
            raise ScorecardError(f"{where}a scale mapping needs keys min, max and optionally step; got {dict(spec)!r}")
        lo, hi, step = spec["min"], spec["max"], spec.get("step", 1)
        for k_, v in (("min", lo), ("max", hi)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ScorecardError(f"{where}scale {k_} must be a finite number; got {v!r}")
        if not 0 <= lo < hi:
            raise ScorecardError(f"{where}scale needs 0 <= min < max; got min={lo!r}, max={hi!r}")
        if isinstance(step, str) and step.strip().lower() == "any":
            return Scale("continuous", float(lo), float(hi), None, label=f"{_num(lo)}..{_num(hi)}")
        if isinstance(step, bool) or not isinstance(step, (int, float)) or not math.isfinite(step) or step <= 0:
            raise ScorecardError(f"{where}scale step must be a number > 0 or 'any'; got {step!r}")
        n = (hi - lo) / step
        if abs(n - round(n)) > 1e-9 * max(1.0, n):
            raise ScorecardError(f"{where}scale step {step!r} does not divide {lo!r}..{hi!r} evenly")
        if float(step) == 1.0 and float(lo).is_integer():
            return Scale("range", float(lo), float(hi), 1.0, label=f"{_num(lo)}-{_num(hi)}")
        return Scale("stepped", float(lo), float(hi), float(step), label=f"{_num(lo)}..{_num(hi)}/{_num(step)}")
    if isinstance(spec, (list, tuple)):
        try:
            vals = [float(v) for v in spec]
        except (TypeError, ValueError):
            raise ScorecardError(f"{where}scale values must be numbers; got {spec!r}") from None
        if len(vals) < 2:
            raise ScorecardError(f"{where}scale must have at least 2 points; got {spec!r}")
        if len(set(vals)) != len(vals):
            raise ScorecardError(f"{where}scale values must be distinct; got {spec!r}")
        if any(not math.isfinite(v) for v in vals):
            raise ScorecardError(f"{where}scale values must be finite; got {spec!r}")
        if max(vals) > 0 and min(vals) < 0:
            raise ScorecardError(f"{where}a list scale is either outcomes >= 0 or penalties <= 0; got {spec!r}")
        vals = sorted(vals)
        return Scale("list", vals[0], vals[-1], None, tuple(vals), label=str([_num(v) for v in vals[::-1]]))
    raise ScorecardError(f"{where}scale must be {allowed}; got {spec!r}")


# --- card definition ------------------------------------------------------------------------
@dataclass(frozen=True)
class Category:
    """One scorecard category.

    Parameters
    ----------
    name : str
    weight : float, default=1.0
        Relative weight (>= 0; points multiplier in ``points`` mode). Only ratios matter: the
        engine divides by the card's largest weight, so weights like 1e308 score exactly.
    critical : bool, default=False
        A score below ``critical_threshold`` fails the review (or its section). Allowed with
        ``weight=0`` (an auto-fail criterion worth no points, MaestroQA).
    scale : Scale, str, int, list or mapping, default="binary"
    critical_threshold : float, default=50
        Percent; the category fails when its score is *below* this.
    section : str or None
    fail_values : sequence of float, optional
        Ratings that fail the review (or section) whatever their points (EvaluAgent outcomes
        marked fail, Playvox "fail all" answers).
    na : {"exclude", "full", "zero"}, default="exclude"
        N/A left out of the score, counted as full marks, or counted as 0.
    auto : mapping or str, optional
        Automatic scoring of this category by phrase / regex lists per language or a built-in
        rule (:mod:`qakit.scorecard.auto`): checked when the card is built (regexes by the
        linear-time RE2 engine), kept and dumped with it as plain data, interpreted by
        :func:`qakit.autoqa.rules.rule_from_spec`.
    """

    name: str
    weight: float = 1.0
    critical: bool = False
    scale: Any = "binary"
    critical_threshold: float = 50.0
    section: str | None = None
    description: str = ""
    fail_values: tuple[float, ...] = ()
    na: str = "exclude"
    auto: Any = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ScorecardError(f"category name must be a non-empty string; got {self.name!r}")
        object.__setattr__(self, "scale", parse_scale(self.scale, category=self.name))
        w = self.weight
        if isinstance(w, bool) or not isinstance(w, (int, float, np.number)) or not math.isfinite(w) or w < 0:
            raise ScorecardError(
                f"category {self.name!r}: weight must be a finite number >= 0; got {w!r}"
            )
        object.__setattr__(self, "weight", float(w))
        if not isinstance(self.critical, (bool, np.bool_)):
            raise ScorecardError(f"category {self.name!r}: critical must be true or false; got {self.critical!r}")
        object.__setattr__(self, "critical", bool(self.critical))
        t = self.critical_threshold
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t <= 100:
            raise ScorecardError(
                f"category {self.name!r}: critical_threshold must be a percent in 0..100; got {t!r}"
            )
        fv = self.fail_values
        if fv is None:
            fv = ()
        if isinstance(fv, (str, bytes)) or not isinstance(fv, (list, tuple, set, frozenset, np.ndarray)):
            fv = (fv,)
        try:
            fv = tuple(sorted(float(v) for v in fv))
        except (TypeError, ValueError):
            raise ScorecardError(f"category {self.name!r}: fail_values must be numbers; got {self.fail_values!r}") from None
        off = [_num(v) for v in fv if not self.scale.contains(np.array([v]))[0]]
        if off:
            raise ScorecardError(f"category {self.name!r}: fail_values {off} are not on its scale "
                                 f"({self.scale.describe()})")
        object.__setattr__(self, "fail_values", fv)
        try:
            check_choice(f"category {self.name!r}: na", self.na, NA_POLICIES)
        except ParameterError as e:
            raise ScorecardError(str(e)) from None
        if self.auto is not None:  # checked now (a bad block names its key and YAML line), kept as plain data
            object.__setattr__(self, "auto", check_auto(self.name, self.auto, scale=self.scale))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "weight": self.weight}
        if self.critical:
            d["critical"] = True
            if self.critical_threshold != 50:
                d["critical_threshold"] = self.critical_threshold
        d["scale"] = self.scale.to_spec()
        if self.fail_values:
            d["fail_values"] = [_num(v) for v in self.fail_values]
        if self.na != "exclude":
            d["na"] = self.na
        if self.section is not None:
            d["section"] = self.section
        if self.description:
            d["description"] = self.description
        if self.auto is not None:
            d["auto"] = self.auto
        return d


@dataclass(frozen=True)
class Section:
    """A group of categories with its own weight and fail rule.

    ``fail_rule="section"``: a failed critical category scores its section 0;
    ``"all"``: it scores the whole review 0.  A ``bonus`` section adds its weighted score on top
    of the others (its weight is not in the denominator), so a review can exceed 100%.
    """

    name: str
    weight: float = 1.0
    fail_rule: str = "all"
    bonus: bool = False

    def __post_init__(self) -> None:
        w = self.weight
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
            raise ScorecardError(f"section {self.name!r}: weight must be a finite number >= 0; got {w!r}")
        object.__setattr__(self, "weight", float(w))
        try:
            check_choice(f"section {self.name!r}: fail_rule", self.fail_rule, FAIL_RULES)
        except ParameterError as e:
            raise ScorecardError(str(e)) from None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "weight": self.weight, "fail_rule": self.fail_rule}
        if self.bonus:
            d["bonus"] = True
        return d


@dataclass(frozen=True)
class Scorecard:
    """A QA scorecard.

    Parameters
    ----------
    categories : sequence of Category
    mode : {"weighted", "points", "mean_over_max"}, default="weighted"
    pass_threshold : float, default=80
        A review passes when its score is at least this (percent); scores within
        ``PASS_TOLERANCE`` (1e-9 points) below it count as reaching it, so floating-point sums
        (e.g. 0.17 x 3 + 0.17 x 1 of 0.17 x 5 points = 79.99999999999999) never fail a review
        that meets the threshold exactly.
    bands : mapping of name -> lower bound (percent), optional
        E.g. ``{"excellent": 95, "good": 85, "fair": 70, "poor": 0}``.
    sections : sequence of Section, optional
    name, version : str, optional
        ``version`` matches the ``scorecard_version`` column of ratings.
    based_on : str, optional
        The version whose reviews this card scores, when the card is a variant of that version
        (a tuned card: ``version: 2026.1-tuned-2026-11-27``, ``based_on: "2026.1"``). The card is
        then matched to the ratings' ``scorecard_version`` by ``based_on`` instead of ``version``
        (see :attr:`scores_version`); without it, by ``version`` as before.
    sections_combine : {"weights", "points"}, default="weights"
        Mean of section scores by section weight, or all earned over all possible points
        (MaestroQA's total-point rubric with sections).
    applies_to : mapping of column -> list of values, optional
        Conditional card (Zendesk QA): used for the reviews whose ``column`` is one of the values.

    Examples
    --------
    >>> import pandas as pd
    >>> card = Scorecard([
    ...     Category("Product knowledge", 1.5, critical=True),
    ...     Category("Tone", 1.0), Category("Solution", 1.25), Category("Grammar", 0.5)])
    >>> ratings = pd.DataFrame({
    ...     "review_id": ["r1"] * 4 + ["r2"] * 4, "conversation_id": ["c1"] * 4 + ["c2"] * 4,
    ...     "agent_id": "a1", "reviewer_id": "q1", "reviewed_at": "2026-11-02",
    ...     "category": ["Product knowledge", "Tone", "Solution", "Grammar"] * 2,
    ...     "rating": [1, 0, 1, 1, 1, 1, 1, 0]})
    >>> card.score(ratings)[["review_id", "iqs", "passed"]].round(2)
      review_id    iqs  passed
    0        r1  76.47   False
    1        r2  88.24    True
    """

    categories: tuple[Category, ...]
    mode: str = "weighted"
    pass_threshold: float = 80.0
    bands: Mapping[str, float] | None = None
    sections: tuple[Section, ...] = ()
    name: str = "scorecard"
    version: str | None = None
    sections_combine: str = "weights"
    applies_to: Mapping[str, Sequence[Any]] | None = None
    based_on: str | None = None

    def __post_init__(self) -> None:
        cats = tuple(self.categories)
        object.__setattr__(self, "categories", cats)
        object.__setattr__(self, "sections", tuple(self.sections))
        if not cats:
            raise ScorecardError("a scorecard needs at least one category")
        bad = [c for c in cats if not isinstance(c, Category)]
        if bad:
            raise ScorecardError(f"categories must be Category objects; got {bad[:3]!r}")
        names = [c.name for c in cats]
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            raise ScorecardError(f"duplicate category names {dups}; each category must be named once")
        keys: dict[str, str] = {}
        for n in names:
            other = keys.setdefault(normalise_name(n), n)
            if other != n:
                raise ScorecardError(
                    f"categories {other!r} and {n!r} differ only by case, spacing or Unicode form; ratings could "
                    "not be matched to one of them: rename one")
        try:
            check_choice("mode", self.mode, MODES)
            check_choice("sections_combine", self.sections_combine, SECTIONS_COMBINE)
        except ParameterError as e:
            raise ScorecardError(str(e)) from None
        if sum(c.weight for c in cats) == 0:
            raise ScorecardError(
                f"all category weights are zero ({', '.join(f'{n}=0' for n in names)}); "
                "at least one category needs a weight > 0"
            )
        if self.mode != "points":
            pen = [c.name for c in cats if c.scale.is_penalty]
            if pen:
                raise ScorecardError(f"categories {pen} have penalty scales (values <= 0), which only "
                                     f"count in mode 'points'; the card's mode is {self.mode!r}")
        crit_pen = [c.name for c in cats if c.critical and c.scale.is_penalty]
        if crit_pen:
            raise ScorecardError(f"penalty categories {crit_pen} cannot be critical (they have no percent "
                                 "score to compare with a threshold); list the failing values in fail_values")
        bo = self.based_on
        if bo is not None and (not isinstance(bo, str) or not bo.strip()):
            raise ScorecardError(f"based_on must be a non-empty version text such as \"2026.1\"; got {bo!r}")
        pt = self.pass_threshold
        if isinstance(pt, bool) or not isinstance(pt, (int, float)) or not math.isfinite(pt) or pt < 0:
            raise ScorecardError(f"pass_threshold must be a percent >= 0; got {pt!r}")
        if pt > 100 and not any(getattr(s, "bonus", False) for s in self.sections):
            raise ScorecardError(f"pass_threshold {pt:g} is above 100 %: no review can reach it (only a bonus "
                                 "section lifts a score above 100 %); give a percent from 0 to 100")
        if self.bands is not None:
            if not isinstance(self.bands, Mapping) or not self.bands:
                raise ScorecardError(f"bands must be a mapping of name -> lower bound; got {self.bands!r}")
            for k, v in self.bands.items():
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise ScorecardError(f"band {k!r}: lower bound must be a number; got {v!r}")
            object.__setattr__(self, "bands", dict(self.bands))
        if self.applies_to is not None:
            if not isinstance(self.applies_to, Mapping) or not self.applies_to:
                raise ScorecardError(f"applies_to must be a mapping column -> list of values; got {self.applies_to!r}")
            at = {}
            for col, vals in self.applies_to.items():
                vals = [vals] if isinstance(vals, (str, int, float)) else list(vals)
                if not vals:
                    raise ScorecardError(f"applies_to {col!r}: give at least one value")
                at[str(col)] = tuple(str(v) for v in vals)
            object.__setattr__(self, "applies_to", at)
        sec_names = [s.name for s in self.sections]
        dup_s = sorted({n for n in sec_names if sec_names.count(n) > 1})
        if dup_s:
            raise ScorecardError(f"duplicate section names {dup_s}")
        if self.sections:
            missing = [c.name for c in cats if c.section is None]
            if missing:
                raise ScorecardError(
                    f"the card has sections {sec_names}, but categories {missing} have none; "
                    "give every category a section"
                )
            unknown = sorted({c.section for c in cats if c.section not in sec_names})
            if unknown:
                raise ScorecardError(f"categories refer to unknown section(s) {unknown}; sections are {sec_names}")
            if all(s.bonus for s in self.sections):
                raise ScorecardError("every section is a bonus section; at least one must be regular")
            regular = [s for s in self.sections if not s.bonus]
            if self.sections_combine == "weights" and all(s.weight == 0 for s in regular):
                raise ScorecardError(f"every regular section has weight 0 ({[s.name for s in regular]}): with "
                                     "sections_combine 'weights' no review could be scored; give one a weight > 0")
            bonus = {s.name for s in self.sections if s.bonus}
            crit_bonus = [c.name for c in cats if (c.critical or c.fail_values) and c.section in bonus]
            if crit_bonus:
                raise ScorecardError(f"critical categories {crit_bonus} sit in a bonus section; bonus sections cannot fail a review")
        else:
            stray = sorted({c.section for c in cats if c.section is not None})
            if stray:
                raise ScorecardError(f"categories refer to section(s) {stray}, but the card defines no sections")

    # -- convenience ------------------------------------------------------------------------
    @property
    def category_names(self) -> list[str]:
        return [c.name for c in self.categories]

    @property
    def scores_version(self) -> str | None:
        """The ``scorecard_version`` of the reviews this card scores: ``based_on`` when set,
        else ``version`` (None: the card scores reviews of any version).

        Examples
        --------
        >>> Scorecard([Category("Tone")], version="2026.1-tuned-2026-11-27", based_on="2026.1").scores_version
        '2026.1'
        >>> Scorecard([Category("Tone")], version="2026.1").scores_version
        '2026.1'
        """
        return self.based_on if self.based_on is not None else self.version

    @property
    def weights(self) -> dict[str, float]:
        return {c.name: c.weight for c in self.categories}

    @property
    def critical(self) -> dict[str, bool]:
        return {c.name: c.critical for c in self.categories}

    def passes(self, iqs: Any) -> np.ndarray:
        """``iqs >= pass_threshold`` up to ``PASS_TOLERANCE`` (NaN: False).

        Examples
        --------
        >>> Scorecard([Category("Tone")]).passes([79.99999999999999, 79.9, 80.0, float("nan")])
        array([ True, False,  True, False])
        """
        with np.errstate(invalid="ignore"):
            return np.asarray(iqs, dtype=float) >= self.pass_threshold - PASS_TOLERANCE

    def with_changes(
        self,
        *,
        weights: Mapping[str, float] | None = None,
        critical: Mapping[str, bool] | None = None,
        **card_fields: Any,
    ) -> "Scorecard":
        """A copy with some weights, critical flags or card fields changed (for tuning).

        Examples
        --------
        >>> card = Scorecard([Category("Tone", 1.0), Category("Solution", 2.0)])
        >>> card.with_changes(weights={"Tone": 3}, mode="points").weights
        {'Tone': 3.0, 'Solution': 2.0}
        """
        weights, critical = dict(weights or {}), dict(critical or {})
        unknown = sorted((set(weights) | set(critical)) - set(self.category_names))
        if unknown:
            raise ParameterError(f"unknown categories {unknown}; the card has {self.category_names}")
        cats = tuple(
            replace(c, weight=weights.get(c.name, c.weight), critical=critical.get(c.name, c.critical))
            for c in self.categories
        )
        return replace(self, categories=cats, **card_fields)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name}
        if self.version is not None:
            d["version"] = self.version
        if self.based_on is not None:
            d["based_on"] = self.based_on
        d.update(mode=self.mode, pass_threshold=self.pass_threshold)
        if self.sections_combine != "weights":
            d["sections_combine"] = self.sections_combine
        if self.applies_to:
            d["applies_to"] = {k: list(v) for k, v in self.applies_to.items()}
        if self.bands:
            d["bands"] = dict(self.bands)
        if self.sections:
            d["sections"] = [s.to_dict() for s in self.sections]
        d["categories"] = [c.to_dict() for c in self.categories]
        return d

    def to_yaml(self, path: str | Path | None = None) -> str:
        """The card as YAML text; written to ``path`` when given (round-trips through
        :func:`load_scorecard`)."""
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    # -- scoring ----------------------------------------------------------------------------
    def score(self, ratings, *, tz: str = "UTC", engine: Any = None):
        """Score every review in ``ratings`` with this card; see :func:`qakit.scorecard.score_reviews`
        (``engine``: ``None`` -- the engine of ``ratings`` --, ``"pandas"``, ``"polars"``,
        ``"duckdb"``, ``"spark"``, or a DuckDB connection / Spark session)."""
        return _SCORING["score_reviews"](ratings, self, tz=tz, engine=engine)

    def category_rows(self, ratings, *, tz: str = "UTC"):
        """The validated ratings with each rating's ``category_score`` (percent, NaN for N/A)."""
        return _SCORING["category_rows"](ratings, self, tz)


# --- loading --------------------------------------------------------------------------------
@public
def scorecard_from_dict(spec: Mapping[str, Any]) -> Scorecard:
    """Build a :class:`Scorecard` from a plain mapping (the YAML/JSON structure).

    Unknown keys are errors (a typo such as ``critcal`` must not be ignored).
    """
    if not isinstance(spec, Mapping):
        raise ScorecardError(f"a scorecard must be a mapping with keys {sorted(_CARD_KEYS)}; got {type(spec).__name__}")
    check_keys("scorecard", spec, _CARD_KEYS, error=ScorecardError)
    cats_spec = spec.get("categories")
    if not isinstance(cats_spec, list) or not cats_spec:
        raise ScorecardError("a scorecard needs a non-empty list 'categories'")
    cats = []
    for i, c in enumerate(cats_spec):
        if not isinstance(c, Mapping) or "name" not in c:
            raise ScorecardError(f"categories[{i}] must be a mapping with at least 'name'; got {c!r}")
        check_keys(f"category {c['name']!r}", c, _CATEGORY_KEYS, error=ScorecardError)
        cats.append(Category(**{k: v for k, v in c.items()}))
    secs = []
    for i, s in enumerate(spec.get("sections") or []):
        if not isinstance(s, Mapping) or "name" not in s:
            raise ScorecardError(f"sections[{i}] must be a mapping with at least 'name'; got {s!r}")
        check_keys(f"section {s['name']!r}", s, _SECTION_KEYS, error=ScorecardError)
        secs.append(Section(**dict(s)))
    version, based_on = spec.get("version"), spec.get("based_on")
    for key, v in (("version", version), ("based_on", based_on)):
        if isinstance(v, float):
            raise ScorecardError(f"{key} {v!r} is a number: write it as text in quotes (e.g. \"2026.10\"), "
                                 "or 2026.10 and 2026.1 become the same version")
    return Scorecard(
        categories=tuple(cats),
        mode=spec.get("mode", "weighted"),
        pass_threshold=spec.get("pass_threshold", 80.0),
        bands=spec.get("bands"),
        sections=tuple(secs),
        name=str(spec.get("name", "scorecard")),
        version=None if version is None else str(version),
        sections_combine=spec.get("sections_combine", "weights"),
        applies_to=spec.get("applies_to"),
        based_on=None if based_on is None else str(based_on),
    )


class _CardLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate keys (naming key and line) and keeps the text
    of ``version`` and ``based_on`` as written (``2026.10`` stays ``"2026.10"``, not the float 2026.1);
    mappings remember the line of each key (``.lines``) for error messages."""


class _LinedDict(dict):
    """A mapping read from YAML with the 1-based line of each key in ``lines``."""

    lines: dict


def _construct_mapping(loader: _CardLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = _LinedDict()
    seen: dict[Any, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise ScorecardError(f"duplicate key {key!r} on line {line} (first on line {seen[key]}); "
                                 "each key may appear once")
        seen[key] = line
        if key in ("version", "based_on") and isinstance(value_node, yaml.ScalarNode) and value_node.tag in (
                "tag:yaml.org,2002:float", "tag:yaml.org,2002:int"):
            out[key] = value_node.value  # the text as written
        else:
            out[key] = loader.construct_object(value_node, deep=deep)
    out.lines = seen
    return out


_CardLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _json_pairs(text: str):
    def hook(pairs):
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                try:  # JSON is YAML: the YAML loader knows the lines
                    yaml.load(text, Loader=_CardLoader)  # noqa: S506 - a SafeLoader subclass
                except ScorecardError:
                    raise
                except yaml.YAMLError:
                    pass
                raise ScorecardError(f"duplicate key {k!r}; each key may appear once")
            out[k] = str(v) if k in ("version", "based_on") and isinstance(v, decimal.Decimal) else v
        return out
    return hook


def _floats(obj: Any) -> Any:
    if isinstance(obj, decimal.Decimal):
        return float(obj)
    if isinstance(obj, dict):
        return {k: _floats(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_floats(v) for v in obj]
    return obj


@public
def load_scorecard(source: str | Path | Mapping[str, Any]) -> Scorecard:
    """Load a scorecard from a YAML or JSON file (or a mapping).

    YAML is read with a safe loader: tags such as ``!!python/object`` are refused, duplicate keys
    are errors naming the key and line, and ``version`` keeps its text as written.

    Examples
    --------
    >>> card = load_scorecard({"version": "v1", "categories": [
    ...     {"name": "Tone", "weight": 1, "scale": 5},
    ...     {"name": "Solution", "weight": 2, "critical": True}]})
    >>> card.weights, card.version
    ({'Tone': 1.0, 'Solution': 2.0}, 'v1')
    """
    if isinstance(source, Mapping):
        return scorecard_from_dict(source)
    path = Path(source)
    if not path.is_file():
        raise ParameterError(f"scorecard file not found: {str(path)!r}")
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        return load_scorecard_json(text, source=path.name)
    return load_scorecard_text(text, source=path.name)


@public
def load_scorecard_json(text: str, *, source: str = "<json>") -> Scorecard:
    """Load a scorecard from JSON text (duplicate keys refused; ``version`` kept as written).

    Examples
    --------
    >>> load_scorecard_json('{"version": 2026.10, "categories": [{"name": "Tone", "weight": 2}]}').version
    '2026.10'
    """
    try:
        spec = json.loads(text, object_pairs_hook=_json_pairs(text), parse_float=decimal.Decimal)
    except json.JSONDecodeError as e:
        raise ScorecardError(f"{source}: not valid JSON ({e})") from None
    except ScorecardError as e:
        raise ScorecardError(f"{source}: {e}") from None
    except RecursionError:
        raise ScorecardError(f"{source}: nested too deeply to be a scorecard (a card is a mapping of categories, "
                             "a few levels deep)") from None
    _check_depth(spec, source)
    return scorecard_from_dict(_floats(spec))


#: levels of nesting a scorecard file may have (card > categories > category > scale > values is 5)
MAX_DEPTH = 8


def _check_depth(spec: Any, source: str) -> None:
    """Refuse a card nested deeper than :data:`MAX_DEPTH` (a generated or corrupted file) with
    one message naming the file, instead of a recursion error deep in the loader."""
    stack = [(spec, 1)]
    while stack:
        obj, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ScorecardError(f"{source}: nested {depth}+ levels deep; a scorecard is at most {MAX_DEPTH} "
                                 "(card > categories > category > scale > values)")
        if isinstance(obj, Mapping):
            stack.extend((v, depth + 1) for v in obj.values())
        elif isinstance(obj, list):
            stack.extend((v, depth + 1) for v in obj)


@public
def load_scorecard_text(text: str, *, source: str = "<text>") -> Scorecard:
    """Load a scorecard from YAML text (safe loader: no Python tags, no duplicate keys).

    Examples
    --------
    >>> load_scorecard_text("version: 2026.10\\ncategories: [{name: Tone}]").version
    '2026.10'
    >>> load_scorecard_text("name: a\\nname: b\\ncategories: [{name: Tone}]")
    Traceback (most recent call last):
    ...
    qakit.errors.ScorecardError: <text>: duplicate key 'name' on line 2 (first on line 1); each key may appear once
    """
    specs = _yaml_documents(text, source)
    if len(specs) != 1:
        raise ScorecardError(f"{source}: holds {len(specs)} scorecards (YAML documents separated by '---': the "
                             "versions of a card edited mid-period?); read them with load_scorecards")
    return scorecard_from_dict(specs[0])


def _yaml_documents(text: str, source: str) -> list[Any]:
    try:
        specs = [d for d in yaml.load_all(text, Loader=_CardLoader) if d is not None]  # noqa: S506 - SafeLoader subclass
    except ScorecardError as e:
        raise ScorecardError(f"{source}: {e}") from None
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ScorecardError(
            f"{source}: not a safe YAML scorecard ({first}); only plain YAML is accepted, "
            "no Python tags"
        ) from None
    except RecursionError:
        raise ScorecardError(f"{source}: nested too deeply to be a scorecard (a card is a mapping of categories, "
                             "a few levels deep)") from None
    if not specs:
        raise ScorecardError(f"{source}: empty; a scorecard needs at least 'categories'")
    for spec in specs:
        _check_depth(spec, source)
    return specs


@public
def load_scorecards(source: str | Path) -> list[Scorecard]:
    """Every scorecard of a YAML file holding one or several cards (documents separated by
    ``---``): e.g. the versions of a card edited mid-period that :meth:`qakit.exports.Export.write`
    saves as ``scorecard.yaml``. A one-card file gives a one-element list.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cards.yaml"
    >>> _ = p.write_text("version: a\\ncategories: [{name: Tone}]\\n---\\nversion: b\\ncategories: [{name: Tone, weight: 2}]\\n")
    >>> [(c.version, c.weights["Tone"]) for c in load_scorecards(p)]
    [('a', 1.0), ('b', 2.0)]
    """
    path = Path(source)
    if not path.is_file():
        raise ParameterError(f"scorecard file not found: {str(path)!r}")
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        return [load_scorecard_json(text, source=path.name)]
    cards = []
    for i, spec in enumerate(_yaml_documents(text, path.name)):
        try:
            cards.append(scorecard_from_dict(spec))
        except ScorecardError as e:
            raise ScorecardError(f"{path.name}, card {i + 1}: {e}") from None
    return cards


@public
def applies_key(values: Any) -> Any:
    """The matching key of ``applies_to`` values: NFC text, trimmed, case-folded; a number written
    ``1``, ``1.0`` or ``1.00`` is ``"1"``. ``Phone`` and ``phone``, ``1`` and ``1.0`` are one key.

    Takes a value or a pandas Series (missing stays missing).

    Examples
    --------
    >>> [applies_key(v) for v in ("Phone", " phone ", 1, "1.0", "E-mail")]
    ['phone', 'phone', '1', '1', 'e-mail']
    """
    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        t = unicodedata.normalize("NFC", str(v)).strip().casefold()
        try:
            f = float(t)
        except ValueError:
            return t
        return f"{f:g}" if math.isfinite(f) and t not in ("inf", "nan") else t

    if isinstance(values, pd.Series):
        uniq = pd.unique(values.dropna())
        lut = {u: one(u) for u in uniq}
        return values.map(lut)
    return one(values)


@public
def align_applies_to(frame: Any, cards: Any) -> Any:
    """``frame`` (ratings or conversations) with the values of every ``applies_to`` column spelled
    as the cards spell them, where they differ only by case, spaces, Unicode form or number format
    (``phone`` -> ``Phone``, ``1.0`` -> ``1``); each rewritten row is itemised as an adjustment.

    Without it a conditional card for ``{channel: [Phone]}`` never matches reviews whose channel is
    ``phone``, and another card scores them.

    Examples
    --------
    >>> import pandas as pd
    >>> card = Scorecard([Category("Tone")], version="p", applies_to={"channel": ["Phone"]})
    >>> align_applies_to(pd.DataFrame({"review_id": ["r1", "r2"], "channel": ["phone", "chat"]}), [card])["channel"].tolist()
    ['Phone', 'chat']
    """
    cards = [cards] if isinstance(cards, Scorecard) else list(cards.values() if isinstance(cards, Mapping) else cards)
    spelled: dict[str, dict[str, str]] = {}
    clash: list[str] = []
    for c in cards:
        for col, vals in (c.applies_to or {}).items():
            for v in vals:
                k = applies_key(v)
                have = spelled.setdefault(col, {})
                if k in have and have[k] != v:
                    clash.append(f"{col}: {have[k]!r} / {v!r}")
                have.setdefault(k, v)
    if clash:
        raise ScorecardError(f"applies_to values that differ only by case or number format in different cards: "
                             f"{clash}; spell each value one way")
    out = frame
    for col, lut in spelled.items():
        if col not in frame.columns:
            continue
        s = frame[col]
        key = applies_key(s.astype("object").where(s.notna(), None))
        target = key.map(lut)
        change = target.notna() & (s.astype("str").str.strip() != target)
        if change.any():
            if out is frame:
                out = frame.copy()
            out[col] = s.astype("object").where(~change, target)
            rid = next((c for c in (S.REVIEW_ID, S.CONVERSATION_ID) if c in frame.columns), None)
            ids = frame.loc[change, rid] if rid else frame.index[change]
            S.add_adjustment(out, f"{col}: spelled as the card's applies_to (case, spaces or number format "
                                  "differed)", col, pd.unique(pd.Series(ids).astype("str")))
    return out


@public
def dump_scorecards(cards: Sequence[Scorecard], path: str | Path) -> Path:
    """Write several cards to one YAML file (documents separated by ``---``), readable by
    :func:`load_scorecards` (and by :func:`load_scorecard` when there is one)."""
    path = Path(path)
    path.write_text("---\n".join(c.to_yaml() for c in cards), encoding="utf-8")
    return path


# --- the public API: every function listed here is decorated with @public on its def (shared parameters
# checked by name; every result stamped with its exclusion record) -----------------------------------
__all__ = ["Scale", "Category", "Section", "Scorecard", "parse_scale", "scorecard_from_dict", "load_scorecard",
           "load_scorecards", "dump_scorecards", "load_scorecard_text", "load_scorecard_json", "normalise_name",
           "applies_key", "align_applies_to"]
