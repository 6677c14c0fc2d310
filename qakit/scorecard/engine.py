"""The review-scoring engine."""


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
from .validate import _as_registry, _prepare


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

