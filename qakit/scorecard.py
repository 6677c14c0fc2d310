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

from __future__ import annotations

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

from . import schema as S
from .errors import ParameterError, Problems, ScorecardError, check_choice
from .intervals import MIN_N, as_by, check_by, check_level, mean_ci

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
        return score_reviews(ratings, self, tz=tz)

    def category_rows(self, ratings: pd.DataFrame, *, tz: str = "UTC") -> pd.DataFrame:
        """The validated ratings with each rating's ``category_score`` (percent, NaN for N/A)."""
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


# --- the engine -----------------------------------------------------------------------------
def _as_registry(cards: Scorecard | Sequence[Scorecard] | Mapping[str, Scorecard]) -> dict[Any, Scorecard]:
    if isinstance(cards, Scorecard):
        return {cards.version: cards}
    if isinstance(cards, Mapping):
        reg = dict(cards)
    else:
        reg = {c.version: c for c in cards}
    bad = [k for k, v in reg.items() if not isinstance(v, Scorecard)]
    if bad or not reg:
        raise ParameterError(f"scorecards must be Scorecard objects keyed by version; got {cards!r}")
    return reg


def _off_scale(card: Scorecard, code: np.ndarray, r: np.ndarray, rated: np.ndarray) -> np.ndarray:
    """Rated values that are not one of their category's allowed values (vectorised: a lookup
    table over integer ratings 0.._MAX_LUT, np.isin for anything else)."""
    lut = _allowed_table(card, _MAX_LUT)
    with np.errstate(invalid="ignore"):
        idx = np.clip(np.nan_to_num(r, nan=0.0, posinf=-1.0, neginf=-1.0), -1, _MAX_LUT + 1).astype(np.int64)
    inside = (idx >= 0) & (idx <= _MAX_LUT)
    integral = rated & inside & (idx == r)
    if integral.sum() == rated.sum():  # the usual case: every rating a small integer
        return rated & ~lut[code, np.clip(idx, 0, _MAX_LUT)]
    off = np.zeros(len(r), dtype=bool)
    off[integral] = ~lut[code[integral], idx[integral]]
    rest = rated & ~integral
    if rest.any():  # fractional or huge ratings: per category, exact comparison
        for j, c in enumerate(card.categories):
            sel = rest & (code == j)
            if sel.any():
                off[sel] = ~np.isin(r[sel], np.array(c.scale.values))
    return off


_MAX_LUT = 1000


def _small_int(n: int) -> type:
    """The narrowest signed integer type holding 0..n (codes into small tables)."""
    return np.int8 if n < 2**7 else np.int16 if n < 2**15 else np.int32 if n < 2**31 else np.intp


def _table_rows(card: Scorecard, code: np.ndarray, r: np.ndarray, a_c: np.ndarray, b_c: np.ndarray,
                ew_c: np.ndarray, thr_c: np.ndarray, scores: bool) -> tuple | None:
    """Per-row values as lookups in small (rating x category) tables, when every rated value is
    an integer 0..top on its category's scale (``top``: the card's largest integer scale value,
    at most 1000); ``None`` otherwise (the caller then takes the general path, which also
    reports off-scale values).

    Row key ``(v + 1) * n_categories + category`` (column 0: N/A), built in place in one integer
    array; category score, weight, weighted score, rated and critical failure are ``take``s of
    tiny tables with it. Returns ``(score or None, weight, weighted score, critical failure,
    rated)``.
    """
    vals = np.concatenate([np.array(c.scale.values) for c in card.categories])
    ints = vals[(vals == np.floor(vals)) & (vals >= 0) & (vals <= _MAX_LUT)]
    top = int(ints.max()) if len(ints) else 0
    n_cat = len(card.categories)
    key = np.empty(len(r), dtype=np.intp)
    with np.errstate(invalid="ignore"):  # N/A -> -1 (fmax skips NaN); inf and huge values are rejected below
        np.fmax(r, -1.0, out=key, casting="unsafe")
    n_na = int(np.count_nonzero(np.isnan(r)))
    if np.count_nonzero(key == r) != len(r) - n_na:  # a rated value that is not an integer (N/A never equal)
        return None
    if len(key) and key.max() > top:  # (the minimum is -1: N/A, or a rated -1 caught below)
        return None
    key += 1
    key *= n_cat
    key += code
    allowed = _allowed_table(card, top)  # (category x rating 0..top)
    rated_tab = np.concatenate([np.zeros((n_cat, 1), dtype=bool), allowed], axis=1)
    # keys are in range by construction: "clip" skips the bounds check
    rated = rated_tab.T.ravel().take(key, mode="clip")
    if np.count_nonzero(rated) != len(r) - n_na:  # off the scale (or a rated -1 on the N/A column)
        return None
    v = np.arange(top + 1, dtype=float)
    with np.errstate(invalid="ignore"):
        s_tab = np.where(allowed, v[None, :] * a_c[:, None] + b_c[:, None], np.nan)
        cf_tab = s_tab < thr_c[:, None]  # NaN (N/A) compares False
    ew_tab = np.where(allowed, ew_c[:, None], 0.0)
    ws_tab = np.where(ew_tab > 0, ew_tab * np.nan_to_num(s_tab), 0.0)

    def lookup(tab: np.ndarray, fill: Any = 0) -> np.ndarray:
        return np.pad(tab, ((0, 0), (1, 0)), constant_values=fill).T.ravel().take(key, mode="clip")

    s = lookup(s_tab, np.nan) if scores else None
    cf = lookup(cf_tab, False) if cf_tab.any() else np.zeros(len(r), dtype=bool)
    return s, lookup(ew_tab), lookup(ws_tab), cf, rated


def _allowed_table(card: Scorecard, top: int) -> np.ndarray:
    """``allowed[j, v]``: integer rating ``v`` (0..top) is on category j's scale."""
    out = np.zeros((len(card.categories), top + 1), dtype=bool)
    for j, c in enumerate(card.categories):
        v = np.array(c.scale.values)
        out[j, v[(v == np.floor(v)) & (v >= 0) & (v <= top)].astype(np.int64)] = True
    return out


def _add_off_scale(problems: Problems, rows: pd.DataFrame, card: Scorecard, code: np.ndarray,
                   off: np.ndarray, m: np.ndarray, whole: bool) -> None:
    sub_r = rows[S.RATING] if whole else rows.loc[m, S.RATING]
    for j in np.unique(code[off]):
        c = card.categories[j]
        problems.add(
            S.RATING,
            f"rating off the scale of {c.name!r} (allowed: {[v if not v.is_integer() else int(v) for v in c.scale.values]})",
            off & (code == j), sub_r, index=sub_r.index,
        )


def _prepare(
    ratings: pd.DataFrame, registry: dict[Any, Scorecard], tz: str, *, scores: bool = True
) -> tuple[pd.DataFrame, dict[Any, np.ndarray], dict[str, Any]]:
    """Validate ratings against the contract and the card(s) and compute per-row arrays.

    Returns the validated rows, per version the boolean row mask, and the per-row arrays
    (``score``: category score in percent, only with ``scores=True``; ``w`` effective weight,
    ``ws`` weighted score, ``crit_fail``, ``rated``, ``cat`` position on the card, ``sec``) plus
    the review structure (``review`` codes or ``None`` when reviews are contiguous ``runs``
    starting at ``first``).
    """
    # a review's ratings are usually listed together: their runs, found once on the categorical
    # codes, serve the duplicate-key check, the consistency checks and the per-review sums
    raw_ids = ratings.get(S.REVIEW_ID) if isinstance(ratings, pd.DataFrame) else None
    runs = S.contiguous_runs(raw_ids) if isinstance(raw_ids, pd.Series) else None
    rows, problems = S.check(ratings, "ratings", tz=tz, runs=runs)
    if not isinstance(rows[S.REVIEW_ID].dtype, pd.CategoricalDtype):  # ids were re-coded: runs unknown
        runs = None
    has_version = S.SCORECARD_VERSION in rows.columns and len(registry) >= 1
    if has_version and (len(registry) > 1 or next(iter(registry)) is not None):
        ver = rows[S.SCORECARD_VERSION]
        known = [str(k) for k in registry]
        bad = ~ver.isin(known)
        problems.add(S.SCORECARD_VERSION, f"no scorecard registered for this version (registered: {known})", bad, ver)
        masks = {k: ver.eq(str(k)).to_numpy() for k in registry}
    else:
        if len(registry) > 1:
            raise ParameterError(
                f"several scorecards given ({list(registry)}) but ratings have no {S.SCORECARD_VERSION!r} column"
            )
        masks = {next(iter(registry)): np.ones(len(rows), dtype=bool)}

    n = len(rows)
    # per-row arrays; filled card by card (allocated here only when several cards share the rows)
    if all(masks[k].all() for k in registry if masks[k].any()):
        cat_score = eff_w = w_score = crit_fail = rated_row = cat_code = sec_code = None
    else:
        cat_score, eff_w, w_score = np.full(n, np.nan) if scores else None, np.zeros(n), np.zeros(n)
        crit_fail, rated_row, cat_code = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool), np.zeros(n, dtype=np.intp)
        sec_code = np.zeros(n, dtype=np.intp) if any(c.sections for c in registry.values()) else None
    rs = rows[S.RATING]
    rating = rs.to_numpy() if rs.dtype == np.float64 else rs.to_numpy(dtype=float, na_value=np.nan)
    cats = rows[S.CATEGORY]
    for key, card in registry.items():
        m = masks[key]
        if not m.any():
            continue
        whole = bool(m.all())  # one card for every row: no boolean-indexed copies
        names = card.category_names
        sub_cats = cats if whole else cats[m]
        unknown = None  # rows whose category is not on the card (None: no such row)
        # look the few distinct categories up once, then map codes (text: factorized first)
        if isinstance(sub_cats.dtype, pd.CategoricalDtype):
            cc, distinct = sub_cats.array.codes, sub_cats.cat.categories
        else:
            cc, distinct = pd.factorize(sub_cats)
        lut = pd.Index(names).get_indexer(distinct)
        if cc.min(initial=0) >= 0 and (lut >= 0).all():
            # categories in card order: the codes are the card positions already (no copy)
            code = cc if np.array_equal(lut, np.arange(len(lut))) else lut.astype(_small_int(len(names)))[cc]
        else:  # (a missing category is reported as an empty value, not as unknown)
            code = np.where(cc >= 0, lut[np.clip(cc, 0, None)], -1)
            unknown = (code < 0) & (cc >= 0)
        if unknown is not None and unknown.any():
            problems.add(
                S.CATEGORY,
                f"category not on scorecard {card.name!r}{'' if key is None else f' v{key}'} (allowed: {names})",
                unknown, sub_cats, index=sub_cats.index,
            )
        if unknown is not None and (code < 0).any():  # unknown or missing: reported, not scored
            unknown = code < 0
            code = np.where(unknown, 0, code)
        else:
            unknown = None
        cats_ = card.categories
        mins_c = np.array([c.scale.min for c in cats_], dtype=float)
        maxs_c = np.array([c.scale.max for c in cats_], dtype=float)
        w_c = np.array([c.weight for c in cats_], dtype=float)
        # per-category affine map to percent: s = r * a[code] + b[code]
        if card.mode == "weighted":
            a_c, b_c, ew_c = 100.0 / (maxs_c - mins_c), -100.0 * mins_c / (maxs_c - mins_c), w_c
        else:
            a_c, b_c = 100.0 / maxs_c, np.zeros(len(cats_))
            ew_c = w_c * maxs_c if card.mode == "points" else w_c
        r = rating if whole else rating[m]
        crit_c = np.array([c.critical for c in cats_])
        # a critical category fails below its threshold by more than PASS_TOLERANCE (float sums)
        thr_c = np.where(crit_c, np.array([c.critical_threshold for c in cats_], dtype=float) - PASS_TOLERANCE, -np.inf)
        # the usual case: every rating a small integer -> per-row values are lookups in small
        # (category x rating) tables; anything else (unknown categories, fractional or huge
        # ratings) takes the general path below, with the same arithmetic
        fast = None if unknown is not None else _table_rows(card, code, r, a_c, b_c, ew_c, thr_c, scores)
        if fast is not None:
            s, ew, ws, cf, rated = fast
        else:
            rated = ~np.isnan(r)
            if unknown is not None:
                rated &= ~unknown
            off = _off_scale(card, code, r, rated)
            if off.any():
                _add_off_scale(problems, rows, card, code, off, m, whole)
                rated &= ~off
            with np.errstate(over="ignore", invalid="ignore"):  # off-scale values are reported, not scored
                s = r * a_c[code] + b_c[code]
            if off.any():
                s[off] = np.nan  # N/A stays NaN through the arithmetic
            ew = ew_c[code]
            ew[~rated] = 0.0
            ws = np.where(ew > 0, ew * np.nan_to_num(s), 0.0)
            if crit_c.any():
                with np.errstate(invalid="ignore"):
                    cf = s < thr_c[code]  # NaN (N/A) compares False
            else:
                cf = np.zeros(len(code), dtype=bool)
        sec_names = [s_.name for s_ in card.sections] or [_DEFAULT_SECTION]
        sec_lut = np.array([sec_names.index(c.section) if c.section else 0 for c in cats_], dtype=np.intp)
        if whole:
            cat_score, eff_w, w_score, crit_fail, rated_row, cat_code = s, ew, ws, cf, rated, code
            if card.sections:
                sec_code = sec_lut[code]
        else:
            if scores:
                cat_score[m] = s
            rated_row[m] = rated
            eff_w[m] = ew
            w_score[m] = ws
            crit_fail[m] = cf
            cat_code[m] = code
            if card.sections:
                sec_code[m] = sec_lut[code]

    # review-level consistency: one agent, one conversation per review
    if runs is not None:  # contiguous runs of categorical codes: no per-row review codes needed
        rcode, first_row, n_reviews, contiguous = None, runs, len(runs), True
        valid, all_valid = np.True_, True
    else:
        rcode, runiq = pd.factorize(rows[S.REVIEW_ID], sort=False)
        n_reviews = len(runiq)
        valid = rcode >= 0  # missing review ids are reported by the empty-value check
        all_valid = bool(valid.all())
        starts = rcode[1:] != rcode[:-1]
        contiguous = all_valid and int(starts.sum()) == n_reviews - 1
        if contiguous:
            first_row = np.concatenate([np.zeros(1, dtype=np.intp), np.flatnonzero(starts) + 1])
        else:
            first_row = np.zeros(n_reviews, dtype=np.int64)
            pos = np.arange(len(rcode)) if all_valid else np.flatnonzero(valid)
            first_row[(rcode if all_valid else rcode[pos])[::-1]] = pos[::-1]
            rsafe = rcode if all_valid else np.where(valid, rcode, 0)
    for col in (S.AGENT_ID, S.CONVERSATION_ID):
        c = rows[col]
        vcode = c.array.codes if isinstance(c.dtype, pd.CategoricalDtype) else pd.factorize(c, sort=False)[0]
        if contiguous:  # a review spreads when the value changes inside its run
            step = vcode[1:] != vcode[:-1]
            step[first_row[1:] - 1] = False  # a change where a new review starts is fine
            if not step.any():
                continue
            bad_reviews = np.zeros(n_reviews, dtype=bool)
            bad_reviews[np.searchsorted(first_row, np.flatnonzero(step) + 1, side="right") - 1] = True
            spread = np.repeat(bad_reviews, np.diff(first_row, append=len(vcode)))
        else:  # compare each row with its review's first row
            differs = valid & (vcode != vcode[first_row[rsafe]])
            if not differs.any():
                continue
            bad_reviews = np.zeros(n_reviews, dtype=bool)
            bad_reviews[rcode[differs]] = True
            spread = valid & bad_reviews[rsafe]
        vals = rows[S.REVIEW_ID].astype("str") + " -> " + rows[col].astype("str")
        problems.add(col, f"one review spread over several {col} values", spread, vals)
    problems.raise_if_any()

    arrs = {"score": cat_score, "w": eff_w, "ws": w_score, "crit_fail": crit_fail, "rated": rated_row, "sec": sec_code,
            "cat": cat_code, "review": rcode, "n_reviews": n_reviews, "first": first_row,
            "contiguous": contiguous}
    return rows, masks, arrs


def _with_score_columns(rows: pd.DataFrame, arrs: dict) -> pd.DataFrame:
    """Rows plus ``category_score`` and the category's position on the card (``_cat``)."""
    return rows.assign(**{S.CATEGORY_SCORE: arrs["score"], "_cat": arrs["cat"]})


def _score_one(rows: pd.DataFrame, card: Scorecard, arrs: dict) -> pd.DataFrame:
    """Vectorised review scores for rows that all belong to ``card`` (``arrs``: per-row arrays
    from :func:`_prepare`)."""
    secs = card.sections or (Section(_DEFAULT_SECTION),)
    n_sec = len(secs)
    if arrs.get("n_reviews") is None:  # a subset of the rows (several cards): its own review codes
        codes, uniques = pd.factorize(rows[S.REVIEW_ID], sort=False)
        n_rev, first, runs = len(uniques), None, False
    else:
        codes, n_rev, first = arrs["review"], arrs["n_reviews"], arrs["first"]
        runs = bool(arrs["contiguous"])  # each review's rows are one run starting at first[i]
    w, ws, rated = arrs["w"], arrs["ws"], arrs["rated"]
    fail = arrs["crit_fail"]
    fail_rows = np.flatnonzero(fail)
    sec_fail = np.zeros(n_rev * n_sec, dtype=bool)
    if runs and n_sec == 1:  # sums over runs: no per-row review codes (same order of additions)
        num = np.add.reduceat(ws, first)
        den = np.add.reduceat(w, first)
        fail_rev = np.searchsorted(first, fail_rows, side="right") - 1
        sec_fail[fail_rev] = True
    else:
        if codes is None:
            codes = np.repeat(np.arange(n_rev), np.diff(first, append=len(w)))
        key = codes * n_sec + arrs["sec"] if n_sec > 1 else codes
        num = np.bincount(key, weights=ws, minlength=n_rev * n_sec)
        den = np.bincount(key, weights=w, minlength=n_rev * n_sec)
        fail_rev = codes[fail_rows]
        sec_fail[key[fail_rows]] = True
    with np.errstate(invalid="ignore", divide="ignore"):
        sec_score = (num / den).reshape(n_rev, n_sec)  # NaN where nothing rated
    sec_fail = sec_fail.reshape(n_rev, n_sec)
    W = np.array([x.weight for x in secs])
    bonus = np.array([x.bonus for x in secs])
    rule_all = np.array([x.fail_rule == "all" for x in secs])

    def combine(S_: np.ndarray) -> np.ndarray:
        if n_sec == 1 and W[0] == 1.0:  # one section of weight 1: W * S / W is S itself
            return S_[:, 0].copy()
        present = ~np.isnan(S_)
        base_w = np.where(present & ~bonus, W, 0.0)
        denom = base_w.sum(axis=1)
        total = np.where(present, W * np.nan_to_num(S_), 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = total / denom
        return np.where(denom > 0, out, np.nan)

    raw = combine(sec_score)
    after = np.where(sec_fail & ~rule_all, 0.0, sec_score)
    iqs = combine(after)
    fail_all = (sec_fail & rule_all).any(axis=1)
    iqs = np.where(fail_all & ~np.isnan(iqs), 0.0, iqs)
    critical_failed = sec_fail.any(axis=1)
    if first is None:
        first = np.zeros(n_rev, dtype=np.int64)
        first[codes[::-1]] = np.arange(len(codes))[::-1]
    # rated categories per review = rows per review - N/A rows per review
    if runs:  # (summing the mask as int8 into int32 is several times faster than bool -> int64)
        n_rated = np.add.reduceat(rated.view(np.int8), first, dtype=np.int32)
    else:
        n_rated = np.bincount(codes[rated], minlength=n_rev)
    n_rated = n_rated.astype(np.int64)

    id_cols = [c for c in (S.REVIEW_ID, S.CONVERSATION_ID, S.AGENT_ID, S.REVIEWER_ID, S.REVIEWED_AT,
                           S.SCORECARD_VERSION) if c in rows.columns]
    out = rows[id_cols].iloc[first].reset_index(drop=True)
    out[S.IQS_RAW] = raw
    out[S.CRITICAL_FAILED] = critical_failed
    text, which = [""], np.zeros(n_rev, dtype=np.int64)
    if fail.any():
        # which critical categories failed, as a bit set per review; the few distinct sets are
        # turned into "A; B" text once each (vectorised, no per-review Python)
        cat_idx = arrs["cat"][fail_rows]
        bits = np.zeros(n_rev, dtype=np.int64)
        np.bitwise_or.at(bits, fail_rev, np.left_shift(np.int64(1), cat_idx.astype(np.int64)))
        names = card.category_names
        hit = np.flatnonzero(bits)
        uniq, inv = np.unique(bits[hit], return_inverse=True)
        text += ["; ".join(names[j] for j in range(len(names)) if (u >> j) & 1) for u in uniq]
        which[hit] = inv.ravel() + 1
    # built as an Arrow take from the few distinct texts (no million-element object array)
    out[S.FAILED_CATEGORIES] = pd.array(pa.array(text, type=pa.large_string()).take(pa.array(which)), dtype="str")
    out[S.IQS] = iqs
    out[S.N_RATED] = n_rated
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


def score_reviews(
    ratings: pd.DataFrame,
    scorecards: Scorecard | Sequence[Scorecard] | Mapping[str, Scorecard],
    *,
    tz: str = "UTC",
) -> pd.DataFrame:
    """Score every review: one row per review with its IQS.

    Parameters
    ----------
    ratings : pandas.DataFrame
        The long ratings table (see :mod:`qakit.schema`); ``rating`` NaN means N/A.
    scorecards : Scorecard, list of Scorecard, or mapping version -> Scorecard
        With several cards, each rating is scored with the card registered for its
        ``scorecard_version``.
    tz : str, default="UTC"
        Zone for naive ``reviewed_at`` values.

    Returns
    -------
    pandas.DataFrame
        One row per review, in order of first appearance: ``review_id, conversation_id,
        agent_id, reviewer_id, reviewed_at[, scorecard_version]``, ``iqs_raw`` (before critical
        rules), ``critical_failed``, ``failed_categories`` ("; "-joined), ``iqs`` (percent),
        ``n_rated``, ``passed`` (nullable boolean), and ``band`` when the card has bands.
        Reviews whose categories are all N/A (or whose only rated categories weigh 0) get
        ``iqs`` NaN, ``passed`` NA, and are listed, with the reason, in
        :func:`qakit.schema.exclusions` of the result.

    Raises
    ------
    DataValidationError
        All problems at once: contract violations, unknown categories, off-scale ratings,
        duplicate (review_id, category), missing ids, a review spread over two agents or
        conversations, versions with no card.

    Notes
    -----
    See the module docstring for the three modes' formulas, critical rules, sections and
    bonus sections.
    """
    registry = _as_registry(scorecards)
    rows, masks, arrs = _prepare(ratings, registry, tz, scores=False)
    parts = []
    for key, card in registry.items():
        m = masks[key]
        if m.all():
            parts.append(_score_one(rows, card, arrs))
        elif m.any():
            per_review = ("first",)  # per-review arrays do not subset by row mask
            sub = {k: (v[m] if isinstance(v, np.ndarray) and k not in per_review else v) for k, v in arrs.items()}
            sub["review"], sub["n_reviews"], sub["first"], sub["contiguous"] = None, None, None, False
            parts.append(_score_one(rows.loc[m], card, sub))
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    unscored = out[S.IQS].isna()
    all_na = unscored & out[S.N_RATED].eq(0)
    S.add_exclusion(out, "all categories N/A: review not scored", S.RATING, out.loc[all_na, S.REVIEW_ID])
    S.add_exclusion(out, "only weight-0 categories rated: review not scored", S.RATING,
                    out.loc[unscored & ~all_na, S.REVIEW_ID])
    return out


# --- aggregates ------------------------------------------------------------------------------
def _group_stats_fast(
    d: pd.DataFrame, value: str, keys: list[str], extra: Mapping[str, tuple[str, str]] | None
) -> pd.DataFrame | None:
    """``key, n, _rows, _mean, _sd, *extra`` for one categorical grouping column by ``bincount``
    (what ``groupby(key, sort=True, observed=True, dropna=False).agg(...)`` gives: groups in
    category order, empty ones dropped, a missing key last; ``_sd`` two-pass with ddof=1). The
    groupby set-up cost ~25 ms per aggregate on a million rows; this is one pass per statistic.
    ``None`` (use groupby) for other key types or aggregates."""
    col = d[keys[0]]
    if not isinstance(col.dtype, pd.CategoricalDtype) or any(fn != "mean" for _, fn in (extra or {}).values()):
        return None
    k = len(col.cat.categories)
    c = col.array.codes.astype(np.intp)
    c[c < 0] = k  # the missing-key group, last
    size = np.bincount(c, minlength=k + 1)
    obs = np.flatnonzero(size)

    def stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ok = ~np.isnan(x)
        ck, xk = c[ok], x[ok]
        n = np.bincount(ck, minlength=k + 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.bincount(ck, weights=xk, minlength=k + 1) / n
            dev = xk - mean[ck]
            sd = np.sqrt(np.bincount(ck, weights=dev * dev, minlength=k + 1) / (n - 1))
        return n, mean, np.where(n >= 2, sd, np.nan)

    n, mean, sd = stats(d[value].to_numpy(dtype=float, na_value=np.nan))
    out = {keys[0]: pd.Categorical.from_codes(np.where(obs == k, -1, obs), dtype=col.dtype),
           "n": n[obs], "_rows": size[obs], "_mean": mean[obs], "_sd": sd[obs]}
    for name, (src, _) in (extra or {}).items():
        out[name] = stats(d[src].to_numpy(dtype=float, na_value=np.nan))[1][obs]
    return pd.DataFrame(out)


def _mean_table(
    df: pd.DataFrame, value: str, keys: list[str], out_name: str, *, level: float, min_n: int,
    extra: Mapping[str, tuple[str, str]] | None = None, clip: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """n, mean, t-CI per group of ``keys`` over non-NaN ``value``."""
    level = check_level(level)
    d = df.assign(_ok=df[value].notna())
    res = _group_stats_fast(d, value, keys, extra) if len(keys) == 1 else None
    if res is None and keys:
        g = d.groupby(keys, sort=True, observed=True, dropna=False)
        res = g.agg(n=("_ok", "sum"), _rows=("_ok", "size"), _mean=(value, "mean"), _sd=(value, "std"),
                    **(extra or {})).reset_index()
    elif res is None:
        agg = {"n": int(d["_ok"].sum()), "_rows": len(d), "_mean": d[value].mean(), "_sd": d[value].std()}
        for k, (col, fn) in (extra or {}).items():
            agg[k] = d[col].agg(fn)
        res = pd.DataFrame([agg])
    res["n"] = res["n"].astype("int64")
    lo, hi = mean_ci(res["_mean"], res["_sd"], res["n"], level=level)
    if clip is not None:
        lo, hi = np.clip(lo, *clip), np.clip(hi, *clip)
    res[out_name] = res["_mean"]
    res[S.CI_LOW], res[S.CI_HIGH] = lo, hi
    res[S.N_EXCLUDED] = (res["_rows"] - res["n"]).astype("int64")
    res[S.SMALL_SAMPLE] = res["n"] < min_n
    cols = keys + [S.N, out_name, S.CI_LOW, S.CI_HIGH] + list(extra or {}) + [S.N_EXCLUDED, S.SMALL_SAMPLE]
    return res[cols]


def _with_period(df: pd.DataFrame, period: str | None, column: str) -> tuple[pd.DataFrame, list[str]]:
    if period is None:
        return df, []
    check_choice("period", period, ("D", "W", "M", "Q", "Y"))
    if column not in df.columns:
        raise ParameterError(f"period needs a {column!r} column; available: {sorted(map(str, df.columns))}")
    ts = df[column]
    if not isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = S.parse_datetimes(ts, column=column)
    p = ts.dt.tz_localize(None).dt.to_period(period).dt.start_time
    return df.assign(period=p), ["period"]


def iqs_score(
    scores: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """IQS: the mean of review scores, per group, with a confidence interval.

    Parameters
    ----------
    scores : pandas.DataFrame
        Output of :meth:`Scorecard.score` (needs ``iqs`` and ``passed``; ``by`` columns).
    by : str or list of str, optional
        Grouping columns (e.g. ``"agent_id"``); ``None`` gives one overall row.
    period : {"D", "W", "M", "Q", "Y"}, optional
        Also group by the period of ``reviewed_at`` (column ``period``: period start, UTC).
    level : float, default=0.95
    min_n : int, default=30
        Groups with fewer scored reviews are flagged ``small_sample``.

    Returns
    -------
    pandas.DataFrame
        ``*by, [period], n, iqs, ci_low, ci_high, pass_rate, n_excluded, small_sample``:
        ``n`` scored reviews, ``iqs`` their mean (percent), Student-t CI clipped to the attainable
        range, ``pass_rate`` the share (0..1) of scored reviews that passed, ``n_excluded`` the
        reviews not scored (all N/A).

    Notes
    -----
    ``IQS = sum(review score) / n``; CI ``IQS +/- t_{(1+level)/2, n-1} * sd / sqrt(n)`` (NaN for
    n < 2).  Overall IQS weights every review equally; it is *not* the average of per-agent IQS,
    which would weight an agent with 3 reviews like one with 300.

    Examples
    --------
    >>> scores = pd.DataFrame({"agent_id": ["a", "a", "b", "b"],
    ...                        "iqs": [100.0, 80.0, 50.0, float("nan")],
    ...                        "passed": pd.array([True, True, False, pd.NA], dtype="boolean")})
    >>> iqs_score(scores, by="agent_id")[["agent_id", "n", "iqs", "pass_rate", "n_excluded"]]
      agent_id  n   iqs  pass_rate  n_excluded
    0        a  2  90.0        1.0           0
    1        b  1  50.0        0.0           1
    """
    keys = as_by(by)
    missing = [c for c in (S.IQS, S.PASSED) if c not in scores.columns]
    if missing:
        raise ParameterError(f"scores must be the output of Scorecard.score; missing columns {missing}")
    check_by(scores, keys, "scores")
    df, pkeys = _with_period(scores, period, S.REVIEWED_AT)
    df = df.assign(_pass=df[S.PASSED].astype("Float64").astype(float))
    hi = max(100.0, float(np.nanmax(df[S.IQS].to_numpy(dtype=float, na_value=np.nan), initial=100.0)))
    res = _mean_table(df, S.IQS, keys + pkeys, S.IQS, level=level, min_n=min_n,
                      extra={S.PASS_RATE: ("_pass", "mean")}, clip=(0.0, hi))
    return res


def category_scores(
    ratings: pd.DataFrame,
    scorecard: Scorecard | Sequence[Scorecard] | Mapping[str, Scorecard],
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Per category (and group): the mean category score over the reviews that rated it.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Long ratings (validated against the card as in :func:`score_reviews`).
    scorecard : Scorecard or registry
    by : str or list of str, optional
        Columns of ``ratings`` to group by besides ``category`` (e.g. ``"agent_id"``).
    period : {"D", "W", "M", "Q", "Y"}, optional
    level, min_n : see :func:`iqs_score`.

    Returns
    -------
    pandas.DataFrame
        ``*by, [period], category, n, category_score, ci_low, ci_high, n_excluded, small_sample``;
        ``n`` reviews that rated the category, ``n_excluded`` reviews where it was N/A.

    Notes
    -----
    ``category_score = sum(s_c over reviews rating c) / n_c``.  This pools reviews: it is not an
    average of per-agent (or per-week) averages, which would give a group with 2 ratings the
    same say as one with 200, and it ignores N/A rather than counting it as 0 or 100.  In the
    ``weighted`` mode ``s_c = (r - min) / (max - min) * 100``, otherwise ``r / max * 100``.

    Examples
    --------
    >>> card = Scorecard([Category("Tone", 1, scale=5), Category("Solution", 1)])
    >>> r = pd.DataFrame({"review_id": ["r1", "r1", "r2", "r2"], "conversation_id": ["c1", "c1", "c2", "c2"],
    ...     "agent_id": "a", "reviewer_id": "q", "reviewed_at": "2026-11-02",
    ...     "category": ["Tone", "Solution"] * 2, "rating": [5, 1, 3, float("nan")]})
    >>> category_scores(r, card)[["category", "n", "category_score", "n_excluded"]]
       category  n  category_score  n_excluded
    0  Solution  1           100.0           1
    1      Tone  2            75.0           0
    """
    keys = as_by(by)
    registry = _as_registry(scorecard)
    rows, _, arrs = _prepare(ratings, registry, "UTC")
    rows = _with_score_columns(rows, arrs)
    check_by(rows, keys, "ratings")
    rows, pkeys = _with_period(rows, period, S.REVIEWED_AT)
    return _mean_table(rows, S.CATEGORY_SCORE, keys + pkeys + [S.CATEGORY], S.CATEGORY_SCORE,
                       level=level, min_n=min_n, clip=(0.0, 100.0))


# --- the public API: every function listed here is wrapped by qakit._public.public (shared parameters
# checked by name; every result stamped with its exclusion record) -----------------------------------
__all__ = [
    "Scale", "Category", "Section", "Scorecard", "parse_scale", "scorecard_from_dict", "load_scorecard",
    "load_scorecard_text", "score_reviews", "iqs_score", "category_scores",
]

from ._public import wrap_all  # noqa: E402  (at the end: wraps the functions defined above)

wrap_all(globals())
