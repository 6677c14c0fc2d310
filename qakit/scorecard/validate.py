"""Ratings validated against a scorecard: contract, categories, scale, review consistency."""


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

from .card import _DEFAULT_SECTION, PASS_TOLERANCE, Scorecard, Section


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

