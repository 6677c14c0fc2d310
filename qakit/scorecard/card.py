"""Scorecards: categories, weights, critical rules, sections -> review scores and IQS.

A :class:`Scorecard` turns long per-category ratings into one score per review, the way the
leading QA platforms document it, and :func:`iqs_score` averages review scores into the IQS
(Internal Quality Score) with a confidence interval.

Scoring modes (``s_c`` is a category's score in percent, ``w_c`` its weight, sums run over the
*rated* categories of a review; N/A ratings are left out of numerator and denominator):

``weighted`` (Zendesk QA)
    ``s_c = (r - min) / (max - min) * 100``; review = ``sum(w_c * s_c) / sum(w_c)``.
``points`` (MaestroQA, Scorebuddy)
    each rating earns ``w_c * r`` points out of ``w_c * max``; review =
    ``sum(w_c * r) / sum(w_c * max) * 100`` (so the lowest step of a 1..k scale still earns points,
    and a category with a longer scale carries more points).
``sum_over_max``
    ``s_c = r / max * 100``; review = ``sum(w_c * s_c) / sum(w_c)``.

Critical categories: a rated critical category whose score is below its ``critical_threshold``
(default 50%; by more than ``PASS_TOLERANCE`` = 1e-9 points, as for the pass threshold) fails the review (score 0) -- or, inside a section with ``fail_rule: section``, only
that section (section score 0).  Sections have their own weights; review = ``sum(W * S) / sum(W)``
over non-bonus sections with a rated category, and bonus sections add ``W_b * S_b / sum(W)`` on top,
which can lift a review above 100%.

Worked example (the seed scorecard: Product knowledge 1.5 critical, Tone 1.0, Solution 1.25,
Grammar 0.5, binary): all positive -> 100; only Tone negative -> 3.25 / 4.25 = 76.47%; only Grammar
negative -> 3.75 / 4.25 = 88.24%; Product knowledge negative -> 0 (critical).
"""


import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml

from .. import schema as S
from ..errors import ParameterError, Problems, ScorecardError, check_choice
from ..intervals import MIN_N, as_by, check_by, check_level, mean_ci

MODES = ("weighted", "points", "sum_over_max")
FAIL_RULES = ("all", "section")
_DEFAULT_SECTION = "__all__"
#: points below a pass threshold or band edge that still count as reaching it (floating-point sums)
PASS_TOLERANCE = 1e-9
_CARD_KEYS = {"name", "version", "mode", "pass_threshold", "bands", "categories", "sections"}
_CATEGORY_KEYS = {"name", "weight", "critical", "scale", "critical_threshold", "section", "description"}
_SECTION_KEYS = {"name", "weight", "fail_rule", "bonus"}


# --- scales ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scale:
    """The ratings a category accepts.

    ``values`` are the allowed ratings; ``min``/``max`` the worst/best.  Built by
    :func:`parse_scale` from ``"binary"`` (0/1), an integer ``k`` (1..k), a range string
    ``"0-2"``, or an explicit list of outcome values in percent (EvaluAgent-style
    ``[100, 75, 25, 0]``).
    """

    values: tuple[float, ...]
    label: str

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)


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
    >>> parse_scale(1, category="Tone")
    Traceback (most recent call last):
    ...
    qakit.errors.ScorecardError: category 'Tone': scale must have at least 2 points; got 1
    """
    where = f"category {category!r}: "
    allowed = "'binary', an integer k >= 2 (ratings 1..k), a range like '0-4', or a list of outcome values"
    if isinstance(spec, bool) or spec is None:
        raise ScorecardError(f"{where}scale must be {allowed}; got {spec!r}")
    if isinstance(spec, str):
        text = spec.strip().lower()
        if text == "binary":
            return Scale((0.0, 1.0), "binary")
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
            return Scale(tuple(float(v) for v in range(a, b + 1)), f"{a}-{b}")
        else:
            raise ScorecardError(f"{where}scale must be {allowed}; got {spec!r}")
    if isinstance(spec, (int, np.integer)) or (isinstance(spec, float) and float(spec).is_integer()):
        k = int(spec)
        if k < 2:
            raise ScorecardError(f"{where}scale must have at least 2 points; got {spec!r}")
        return Scale(tuple(float(v) for v in range(1, k + 1)), f"1-{k}")
    if isinstance(spec, (list, tuple)):
        try:
            vals = [float(v) for v in spec]
        except (TypeError, ValueError):
            raise ScorecardError(f"{where}scale values must be numbers; got {spec!r}") from None
        if len(vals) < 2:
            raise ScorecardError(f"{where}scale must have at least 2 points; got {spec!r}")
        if len(set(vals)) != len(vals):
            raise ScorecardError(f"{where}scale values must be distinct; got {spec!r}")
        if any(not math.isfinite(v) or v < 0 for v in vals):
            raise ScorecardError(f"{where}scale values must be finite and >= 0; got {spec!r}")
        return Scale(tuple(sorted(vals)), str(list(spec)))
    raise ScorecardError(f"{where}scale must be {allowed}; got {spec!r}")


# --- card definition ------------------------------------------------------------------------
@dataclass(frozen=True)
class Category:
    """One scorecard category.

    Parameters
    ----------
    name : str
    weight : float, default=1.0
        Relative weight (>= 0; points multiplier in ``points`` mode).
    critical : bool, default=False
        A score below ``critical_threshold`` fails the review (or its section).
    scale : Scale, str, int or list, default="binary"
    critical_threshold : float, default=50
        Percent; the category fails when its score is *below* this.
    section : str or None
    """

    name: str
    weight: float = 1.0
    critical: bool = False
    scale: Any = "binary"
    critical_threshold: float = 50.0
    section: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ScorecardError(f"category name must be a non-empty string; got {self.name!r}")
        if not isinstance(self.scale, Scale):
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
        if self.critical and self.weight == 0:
            raise ScorecardError(
                f"category {self.name!r} is critical but has weight 0: a critical category must "
                "count in the score (give it a weight > 0 or make it non-critical)"
            )

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "weight": self.weight}
        if self.critical:
            d["critical"] = True
            if self.critical_threshold != 50:
                d["critical_threshold"] = self.critical_threshold
        lab = self.scale.label
        if lab == "binary":
            d["scale"] = "binary"
        elif lab.startswith("1-") and self.scale.values == tuple(float(v) for v in range(1, int(self.scale.max) + 1)):
            d["scale"] = int(self.scale.max)
        elif lab.startswith("["):
            d["scale"] = [v if not float(v).is_integer() else int(v) for v in sorted(self.scale.values, reverse=True)]
        else:
            d["scale"] = lab
        if self.section is not None:
            d["section"] = self.section
        if self.description:
            d["description"] = self.description
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
    mode : {"weighted", "points", "sum_over_max"}, default="weighted"
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

    Examples
    --------
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
        try:
            check_choice("mode", self.mode, MODES)
        except ParameterError as e:
            raise ScorecardError(str(e)) from None
        if sum(c.weight for c in cats) == 0:
            raise ScorecardError(
                f"all category weights are zero ({', '.join(f'{n}=0' for n in names)}); "
                "at least one category needs a weight > 0"
            )
        pt = self.pass_threshold
        if isinstance(pt, bool) or not isinstance(pt, (int, float)) or not math.isfinite(pt) or pt < 0:
            raise ScorecardError(f"pass_threshold must be a percent >= 0; got {pt!r}")
        if self.bands is not None:
            if not isinstance(self.bands, Mapping) or not self.bands:
                raise ScorecardError(f"bands must be a mapping of name -> lower bound; got {self.bands!r}")
            for k, v in self.bands.items():
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise ScorecardError(f"band {k!r}: lower bound must be a number; got {v!r}")
            object.__setattr__(self, "bands", dict(self.bands))
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
            bonus = {s.name for s in self.sections if s.bonus}
            crit_bonus = [c.name for c in cats if c.critical and c.section in bonus]
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
        d.update(mode=self.mode, pass_threshold=self.pass_threshold)
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
    def score(self, ratings: pd.DataFrame, *, tz: str = "UTC") -> pd.DataFrame:
        """Score every review in ``ratings`` with this card; see :func:`score_reviews`."""
        from .engine import score_reviews

        return score_reviews(ratings, self, tz=tz)

    def category_rows(self, ratings: pd.DataFrame, *, tz: str = "UTC") -> pd.DataFrame:
        """The validated ratings with each rating's ``category_score`` (percent, NaN for N/A)."""
        from .validate import _prepare, _with_score_columns

        rows, _, arrs = _prepare(ratings, {self.version: self} if self.version else {None: self}, tz)
        return _with_score_columns(rows, arrs)


# --- loading --------------------------------------------------------------------------------
def scorecard_from_dict(spec: Mapping[str, Any]) -> Scorecard:
    """Build a :class:`Scorecard` from a plain mapping (the YAML/JSON structure).

    Unknown keys are errors (a typo such as ``critcal`` must not be ignored).
    """
    if not isinstance(spec, Mapping):
        raise ScorecardError(f"a scorecard must be a mapping with keys {sorted(_CARD_KEYS)}; got {type(spec).__name__}")
    unknown = sorted(set(spec) - _CARD_KEYS)
    if unknown:
        raise ScorecardError(f"unknown scorecard key(s) {unknown}; allowed: {sorted(_CARD_KEYS)}")
    cats_spec = spec.get("categories")
    if not isinstance(cats_spec, list) or not cats_spec:
        raise ScorecardError("a scorecard needs a non-empty list 'categories'")
    cats = []
    for i, c in enumerate(cats_spec):
        if not isinstance(c, Mapping) or "name" not in c:
            raise ScorecardError(f"categories[{i}] must be a mapping with at least 'name'; got {c!r}")
        bad = sorted(set(c) - _CATEGORY_KEYS)
        if bad:
            raise ScorecardError(f"category {c['name']!r}: unknown key(s) {bad}; allowed: {sorted(_CATEGORY_KEYS)}")
        cats.append(Category(**{k: v for k, v in c.items()}))
    secs = []
    for i, s in enumerate(spec.get("sections") or []):
        if not isinstance(s, Mapping) or "name" not in s:
            raise ScorecardError(f"sections[{i}] must be a mapping with at least 'name'; got {s!r}")
        bad = sorted(set(s) - _SECTION_KEYS)
        if bad:
            raise ScorecardError(f"section {s['name']!r}: unknown key(s) {bad}; allowed: {sorted(_SECTION_KEYS)}")
        secs.append(Section(**dict(s)))
    version = spec.get("version")
    return Scorecard(
        categories=tuple(cats),
        mode=spec.get("mode", "weighted"),
        pass_threshold=spec.get("pass_threshold", 80.0),
        bands=spec.get("bands"),
        sections=tuple(secs),
        name=str(spec.get("name", "scorecard")),
        version=None if version is None else str(version),
    )


def load_scorecard(source: str | Path | Mapping[str, Any]) -> Scorecard:
    """Load a scorecard from a YAML or JSON file (or a mapping).

    YAML is read with ``yaml.safe_load``: tags such as ``!!python/object`` are refused.

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
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as e:
            raise ScorecardError(f"{path.name}: not valid JSON ({e})") from None
        return scorecard_from_dict(spec)
    return load_scorecard_text(text, source=path.name)


def load_scorecard_text(text: str, *, source: str = "<text>") -> Scorecard:
    """Load a scorecard from YAML text (``yaml.safe_load``: no Python tags)."""
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ScorecardError(
            f"{source}: not a safe YAML scorecard ({first}); only plain YAML is accepted, "
            "no Python tags"
        ) from None
    return scorecard_from_dict(spec)

