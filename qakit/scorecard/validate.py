"""Ratings validated against the scorecard(s): one small named step per check.

:func:`prepare` runs, in order: the table contract (:func:`qakit.schema.check`), the choice of
card per row (versions, ``applies_to``), the category of each row (matched to the card after
NFKC + case-fold + whitespace normalisation, the matches itemised as adjustments), the scale of
each rating, the review structure (contiguous runs or codes) and one agent / one conversation
per review. Every problem is collected, then raised once as a ``DataValidationError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import schema as S
from ..errors import ParameterError, Problems
from ._blocks import map_blocks, row_blocks, submit
from .card import Scorecard, applies_key, normalise_name

#: integer ratings 0.._MAX_LUT are checked against the scales with a (category x value) lookup table
_MAX_LUT = 1000
ADJUSTED_CATEGORY = "category name matched to the card after Unicode (NFKC), case and whitespace normalisation"
#: the ratings columns scoring reads (checked against the contract): the review, its category and rating;
#: the other contract columns are checked when present (ids are carried to the review table; one agent
#: and one conversation per review)
SCORING_READS = (S.REVIEW_ID, S.CATEGORY, S.RATING)
SCORING_OPTIONAL = (S.CONVERSATION_ID, S.AGENT_ID, S.REVIEWER_ID, S.REVIEWED_AT, S.SCORECARD_VERSION)


def add_adjustment(result: pd.DataFrame, reason: str, column: str, row_ids: Any) -> None:
    """Record rows KEPT but changed, once per id (:func:`qakit.schema.add_adjustment`)."""
    ids = pd.unique(pd.Series(np.asarray(row_ids, dtype=object)))
    if len(ids):
        S.add_adjustment(result, reason, column, list(ids))


@dataclass
class Prepared:
    """Validated ratings and the per-row arrays the engine reads."""

    rows: pd.DataFrame
    cards: list[tuple[Any, Scorecard]]
    masks: list[np.ndarray | None]        # per card: its rows (None: every row)
    code: np.ndarray                      # the row's category position on its card
    rating: np.ndarray                    # float, NaN = N/A
    review: np.ndarray | None             # review code per row (None: contiguous runs)
    n_reviews: int
    first: np.ndarray                     # first row of each review
    contiguous: bool
    adjustments: list[tuple[str, str, np.ndarray]] = field(default_factory=list)  # reason, column, row mask

    def review_codes(self) -> np.ndarray:
        if self.review is not None:
            return self.review
        return np.repeat(np.arange(self.n_reviews), np.diff(self.first, append=len(self.rating)))


def as_cards(cards: Scorecard | Sequence[Scorecard] | Mapping[str, Scorecard]) -> list[tuple[Any, Scorecard]]:
    """``[(version key, card), ...]`` from one card, a list, or a mapping version -> card.

    A card's key is the version of the reviews it scores: its ``based_on`` when set (a tuned
    variant of that version), else its ``version`` (:attr:`Scorecard.scores_version`)."""
    if isinstance(cards, Scorecard):
        return [(cards.scores_version, cards)]
    pairs = (list(cards.items()) if isinstance(cards, Mapping)
             else [(getattr(c, "scores_version", None), c) for c in cards])
    bad = [k for k, v in pairs if not isinstance(v, Scorecard)]
    if bad or not pairs:
        raise ParameterError(f"card must be a Scorecard, a list of them or a mapping version -> Scorecard; got {cards!r}")
    keys = [(k, tuple(sorted((c.applies_to or {}).items()))) for k, c in pairs]
    dup = sorted({str(k[0]) for k in keys if keys.count(k) > 1})
    if dup:
        raise ParameterError(f"several cards for version(s) {dup} with the same applies_to; give each its own version")
    return pairs


def _as_registry(cards) -> dict[Any, Scorecard]:  # kept for old callers
    return dict(as_cards(cards))


# --- step 1: which card scores which row ----------------------------------------------------------
def _card_masks(rows: pd.DataFrame, cards: list[tuple[Any, Scorecard]], problems: Problems,
                conversations: pd.DataFrame | None) -> list[np.ndarray | None]:
    n = len(rows)
    conditional = any(c.applies_to for _, c in cards)
    versioned = S.SCORECARD_VERSION in rows.columns and (len(cards) > 1 or cards[0][0] is not None)
    if len(cards) == 1 and not versioned and not conditional:
        return [None]
    if len(cards) > 1 and not versioned and not conditional:
        raise ParameterError(
            f"several scorecards given ({[k for k, _ in cards]}) but ratings have no {S.SCORECARD_VERSION!r} column"
        )
    masks = []
    if versioned:
        ver = rows[S.SCORECARD_VERSION]
        known = sorted({str(k) for k, _ in cards})
        problems.add(S.SCORECARD_VERSION, f"no scorecard registered for this version (registered: {known})",
                     ~ver.isin(known).to_numpy(), ver)
    for key, card in cards:
        m = rows[S.SCORECARD_VERSION].eq(str(key)).to_numpy() if versioned else np.ones(n, dtype=bool)
        if card.applies_to:
            for col, vals in card.applies_to.items():
                # matched as align_applies_to matches them: NFC, trimmed, case-folded, 1 == 1.0
                keys = {applies_key(v) for v in vals}
                m = m & applies_key(_applies_column(rows, col, conversations)).isin(keys).to_numpy()
        masks.append(m)
    if conditional:  # a card without applies_to takes the rows no conditional card claims
        claimed = np.zeros(n, dtype=bool)
        for (_, card), m in zip(cards, masks):
            if card.applies_to:
                claimed |= m
        masks = [m if card.applies_to else m & ~claimed for (_, card), m in zip(cards, masks)]
        count = np.sum(masks, axis=0)
        at = sorted({c for _, card in cards for c in (card.applies_to or {})})
        vals = rows[S.REVIEW_ID].astype("str")
        problems.add(",".join(at), "no scorecard applies to this review (applies_to)", count == 0, vals)
        problems.add(",".join(at), "several scorecards apply to this review (applies_to)", count > 1, vals)
    return masks


def _applies_column(rows: pd.DataFrame, col: str, conversations: pd.DataFrame | None) -> pd.Series:
    if col in rows.columns:
        return rows[col].astype("str").str.strip()
    if conversations is not None and col in conversations.columns and S.CONVERSATION_ID in conversations.columns:
        lut = conversations.drop_duplicates(S.CONVERSATION_ID).set_index(
            conversations[S.CONVERSATION_ID].drop_duplicates().astype("str").str.strip())[col]
        return rows[S.CONVERSATION_ID].astype("str").str.strip().map(lut).astype("str").str.strip()
    raise ParameterError(f"applies_to needs a {col!r} column in ratings or conversations; ratings have "
                         f"{sorted(map(str, rows.columns))}")


# --- step 2: the category of each row ---------------------------------------------------------------
def _category_codes(cats: pd.Series, card: Scorecard, label: str, problems: Problems, full_mask,
                    index: pd.Index):
    """Card position per row; names differing only by case, spacing or Unicode form are matched
    (returned as a row mask to itemise); unknown categories are problems (code -1)."""
    names = card.category_names
    if isinstance(cats.dtype, pd.CategoricalDtype):
        cc, distinct = cats.array.codes, cats.cat.categories
    else:
        cc, distinct = pd.factorize(cats)
    lut = pd.Index(names).get_indexer(distinct)
    adjusted = None
    if (lut < 0).any():
        keys = {normalise_name(c): j for j, c in enumerate(names)}
        fixed = np.array([keys.get(normalise_name(d), -1) if lut[i] < 0 else -1 for i, d in enumerate(distinct)])
        if (fixed >= 0).any():
            adjusted = np.isin(cc, np.flatnonzero(fixed >= 0))
            lut = np.where(fixed >= 0, fixed, lut)
    if cc.min(initial=0) >= 0 and (lut >= 0).all():
        if np.array_equal(lut, np.arange(len(lut))):
            return cc, adjusted  # categories in card order: the codes are the card positions already
        return lut.astype(np.int16 if len(names) < 2**15 else np.intp)[cc], adjusted
    code = np.where(cc >= 0, lut[np.clip(cc, 0, None)], -1)
    unknown = (code < 0) & (cc >= 0)  # (a missing category is reported as an empty value)
    if unknown.any():
        problems.add(S.CATEGORY, f"category not on scorecard {card.name!r}{label} (allowed: {names})",
                     _full(unknown, full_mask, len(index)), _full_values(cats, full_mask, index))
    return code, adjusted


def _full(sub: np.ndarray, mask: np.ndarray | None, n: int) -> np.ndarray:
    if mask is None:
        return sub
    out = np.zeros(n, dtype=bool)
    out[mask] = sub
    return out


def _full_values(values: pd.Series, mask: np.ndarray | None, index: pd.Index) -> pd.Series:
    if mask is None:
        return values
    out = np.empty(len(index), dtype=object)
    out[mask] = values.to_numpy(dtype=object)
    return pd.Series(out, index=index)


# --- step 3: each rating on its category's scale ----------------------------------------------------
def _allowed_table(card: Scorecard, top: int) -> np.ndarray:
    """``allowed[j, v]``: integer rating ``v`` (0..top) is on category j's scale (``top`` <=
    ``_MAX_LUT``, so a huge scale costs a 1001-column row, never a per-value table)."""
    v = np.arange(top + 1, dtype=float)
    return np.stack([c.scale.contains(v) for c in card.categories])


def off_scale(card: Scorecard, code: np.ndarray, r: np.ndarray) -> np.ndarray | None:
    """Rated values (not NaN) that are not on their category's scale (``code``: the category
    position, >= 0), as a row mask; ``None`` when every rating is on its scale. Large tables are
    checked in row blocks on threads (:mod:`qakit.scorecard._blocks`)."""
    blocks = row_blocks(len(r))
    if len(blocks) == 1:
        return _off_scale_rows(card, code, r)
    return _joined(map_blocks(lambda a, b: _off_scale_rows(card, code[a:b], r[a:b]), blocks), blocks)


def _joined(parts: list, blocks: list[tuple[int, int]]) -> np.ndarray | None:
    if all(p is None for p in parts):
        return None
    return np.concatenate([np.zeros(b - a, dtype=bool) if p is None else p for p, (a, b) in zip(parts, blocks)])


def _early_off_scale(ratings: Any, cards: list[tuple[Any, Scorecard]]):
    """One card, a large table whose ``category`` (categorical, text categories in card order)
    and ``rating`` (float64) columns the contract leaves as they are: start the off-scale check
    on a worker thread, to run while this thread checks the contract (ids, timestamps,
    duplicates). ``(future, codes, ratings)`` or ``None``; :func:`prepare` uses the result only
    if the validated columns are these very arrays."""
    if len(cards) != 1 or cards[0][1].applies_to or not isinstance(ratings, pd.DataFrame):
        return None
    if S.RATING not in ratings.columns or S.CATEGORY not in ratings.columns or S.SCORECARD_VERSION in ratings.columns:
        return None
    cat, rs = ratings[S.CATEGORY], ratings[S.RATING]
    if rs.dtype != np.float64 or not isinstance(cat.dtype, pd.CategoricalDtype) or cat.cat.categories.dtype != "str":
        return None
    blocks = row_blocks(len(rs))
    card = cards[0][1]
    if len(blocks) == 1 or not pd.Index(card.category_names).equals(cat.cat.categories):
        return None
    codes, r = cat.array.codes, rs.to_numpy()
    if codes.min(initial=0) < 0:
        return None
    fut = submit(lambda: _joined([_off_scale_rows(card, codes[a:b], r[a:b]) for a, b in blocks], blocks))
    return None if fut is None else (fut, codes, r)


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    """The same memory, dtype and layout (so the same values: pandas 3 copies on write)."""
    return (a.dtype == b.dtype and a.shape == b.shape and a.strides == b.strides
            and a.__array_interface__["data"][0] == b.__array_interface__["data"][0])


def _off_scale_rows(card: Scorecard, code: np.ndarray, r: np.ndarray) -> np.ndarray | None:
    """:func:`off_scale` on one block of rows.

    Usual case (every rating N/A or an integer 0.._MAX_LUT): one int16 key per row, written in
    place (``fmax`` maps N/A to -1; a value that is not such an integer -- fraction, -1, inf,
    huge -- never equals its key and takes the per-category path), then one lookup in a tiny
    (value x category) table of allowed cells."""
    n = len(r)
    if n == 0:
        return None
    k = len(card.categories)
    key = np.empty(n, dtype=np.int16)
    with np.errstate(invalid="ignore"):  # N/A -> -1 (fmax skips NaN); inf and huge values never compare equal
        np.fmax(r, -1.0, out=key, casting="unsafe")
    lo, top = int(key.min()), int(key.max())
    n_na = int(np.count_nonzero(np.isnan(r)))
    if (lo >= -1 and top <= _MAX_LUT and np.count_nonzero(key == r) == n - n_na
            and np.count_nonzero(key == -1) == n_na):  # (a rating of exactly -1 would also map to -1)
        table = np.concatenate([np.ones((1, k), dtype=bool),  # row 0: N/A is fine
                                _allowed_table(card, max(top, 0)).T], axis=0)
        if table.all():
            return None
        if table.size >= 2**15:
            key = key.astype(np.int32)
        key += 1
        key *= k
        np.add(key, code, out=key, casting="unsafe")
        ok = table.ravel().take(key)
        if np.count_nonzero(ok) == n:
            return None
        return ~ok
    off = np.zeros(n, dtype=bool)
    rated = ~np.isnan(r)
    for j, c in enumerate(card.categories):
        sel = rated & (code == j)
        if sel.any():
            off[sel] = ~c.scale.contains(r[sel])
    return off if off.any() else None


# --- step 4: the review structure, and one agent / conversation per review ------------------------
def _review_structure(rows: pd.DataFrame, runs: np.ndarray | None):
    if runs is not None:  # contiguous runs of categorical codes: no per-row review codes needed
        return None, runs, len(runs), True
    rcode, runiq = pd.factorize(rows[S.REVIEW_ID], sort=False)
    n_reviews = len(runiq)
    valid = rcode >= 0  # missing review ids are reported by the empty-value check
    starts = rcode[1:] != rcode[:-1]
    contiguous = bool(valid.all()) and int(starts.sum()) == n_reviews - 1
    if contiguous:
        first = np.concatenate([np.zeros(1, dtype=np.intp), np.flatnonzero(starts) + 1])
    else:
        first = np.zeros(n_reviews, dtype=np.int64)
        pos = np.flatnonzero(valid)
        first[rcode[pos][::-1]] = pos[::-1]
    return rcode, first, n_reviews, contiguous


def _check_one_value_per_review(rows: pd.DataFrame, columns: Sequence[str], rcode, first, n_reviews: int,
                                contiguous: bool, problems: Problems) -> None:
    for col in columns:
        c = rows[col]
        vcode = c.array.codes if isinstance(c.dtype, pd.CategoricalDtype) else pd.factorize(c, sort=False)[0]
        if contiguous:  # a review spreads when the value changes inside its run
            step = vcode[1:] != vcode[:-1]
            step[first[1:] - 1] = False  # a change where a new review starts is fine
            if not step.any():
                continue
            bad = np.zeros(n_reviews, dtype=bool)
            bad[np.searchsorted(first, np.flatnonzero(step) + 1, side="right") - 1] = True
            spread = np.repeat(bad, np.diff(first, append=len(vcode)))
        else:  # compare each row with its review's first row
            valid = rcode >= 0
            rsafe = np.where(valid, rcode, 0)
            differs = valid & (vcode != vcode[first[rsafe]])
            if not differs.any():
                continue
            bad = np.zeros(n_reviews, dtype=bool)
            bad[rcode[differs]] = True
            spread = valid & bad[rsafe]
        vals = rows[S.REVIEW_ID].astype("str") + " -> " + rows[col].astype("str")
        problems.add(col, f"one review spread over several {col} values", spread, vals)


# --- all steps ----------------------------------------------------------------------------------------
def prepare(ratings: pd.DataFrame, cards, tz: str = "UTC", *,
            conversations: pd.DataFrame | None = None) -> Prepared:
    """Validate ratings against the contract and the card(s); raise every problem at once."""
    cards = as_cards(cards)
    early = _early_off_scale(ratings, cards)
    raw_ids = ratings.get(S.REVIEW_ID) if isinstance(ratings, pd.DataFrame) else None
    runs = S.contiguous_runs(raw_ids) if isinstance(raw_ids, pd.Series) else None
    present = set(ratings.columns) if isinstance(ratings, pd.DataFrame) else set()
    rows, problems = S.check(ratings, "ratings", tz=tz, runs=runs,
                             columns=[*SCORING_READS, *(c for c in SCORING_OPTIONAL if c in present)])
    if not isinstance(rows[S.REVIEW_ID].dtype, pd.CategoricalDtype):  # ids were re-coded: runs unknown
        runs = None
    n = len(rows)
    masks = _card_masks(rows, cards, problems, conversations)
    rs = rows[S.RATING]
    rating = rs.to_numpy() if rs.dtype == np.float64 else rs.to_numpy(dtype=float, na_value=np.nan)
    cats = rows[S.CATEGORY]
    code = None if masks[0] is None else np.zeros(n, dtype=np.intp)
    adjusted_rows = np.zeros(n, dtype=bool)
    for (key, card), m in zip(cards, masks):
        if m is not None and not m.any():
            continue
        label = "" if key is None else f" v{key}"
        c, adj = _category_codes(cats if m is None else cats[m], card, label, problems, m, rows.index)
        r = rating if m is None else rating[m]
        if early is not None and m is None and _same_array(c, early[1]) and _same_array(r, early[2]):
            off = early[0].result()  # checked on a worker thread while the contract was checked
        elif c.min(initial=0) >= 0:  # every category known (unknown ones are reported above)
            off = off_scale(card, c, r)
        else:
            known = c >= 0
            off = off_scale(card, np.where(known, c, 0), np.where(known, r, np.nan))
        for j in (() if off is None else np.unique(c[off])):
            cat = card.categories[j]
            problems.add(S.RATING, f"rating off the scale of {cat.name!r} (allowed: {cat.scale.describe()})",
                         _full(off & (c == j), m, n), rs)
        if adj is not None:
            adjusted_rows |= _full(adj, m, n)
        if m is None:
            code = c
        else:
            code[m] = c
    rcode, first, n_reviews, contiguous = _review_structure(rows, runs)
    at_cols = sorted({col for _, c in cards for col in (c.applies_to or {}) if col in rows.columns})
    _check_one_value_per_review(rows, [c for c in (S.AGENT_ID, S.CONVERSATION_ID) if c in rows.columns] + at_cols,
                                rcode, first, n_reviews,
                                contiguous, problems)
    problems.raise_if_any()
    prep = Prepared(rows, cards, masks, code, rating, rcode, n_reviews, first, contiguous)
    if adjusted_rows.any():
        prep.adjustments.append((ADJUSTED_CATEGORY, S.CATEGORY, adjusted_rows))
    return prep


def category_percent(card: Scorecard, code: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Percent score of each rating ``r`` of category position ``code`` (NaN for N/A)."""
    ab = np.array([c.scale.percent(card.mode) for c in card.categories], dtype=float).reshape(-1, 2)
    with np.errstate(invalid="ignore", over="ignore"):
        return r * ab[code, 0] + ab[code, 1]


def with_score_columns(prep: Prepared) -> pd.DataFrame:
    """Rows plus ``category_score`` (percent in the card's mode, NaN for N/A) and the category's
    position on the card (``_cat``); matched category names are written as the card spells them."""
    score = np.full(len(prep.rating), np.nan)
    names = np.empty(len(prep.rating), dtype=object) if prep.adjustments else None
    for (_, card), m in zip(prep.cards, prep.masks):
        idx = slice(None) if m is None else m
        score[idx] = category_percent(card, prep.code[idx], prep.rating[idx])
        if names is not None:
            names[idx] = np.array(card.category_names, dtype=object)[prep.code[idx]]
    out = prep.rows.assign(**{S.CATEGORY_SCORE: score, "_cat": prep.code})
    if names is not None:
        out[S.CATEGORY] = pd.array(names, dtype="str")
        for reason, column, mask in prep.adjustments:
            add_adjustment(out, reason, column, out.loc[mask, S.REVIEW_ID])
    return out
