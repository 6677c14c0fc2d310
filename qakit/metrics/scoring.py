"""The card's rules on Polars, DuckDB and Spark: the compiled card
(:class:`qakit.scorecard.engine.CardArrays`, the one definition of a category's points, N/A policy,
critical threshold and section) applied to long ratings as narwhals expressions, and the review
rules (:func:`qakit.metrics._review.review_scores`, the same function the numpy engine runs)
applied to the per-review sums.

Per rating row of category ``j`` (card position from a small table joined on the stored category
text; names matched after NFKC, case-fold and whitespace as :mod:`qakit.scorecard.validate`
matches them): the fraction ``F = (r - o_j) m_j`` (or ``/ d_j``), the earned points ``F earn_j``
(the N/A policy's fraction on a missing rating of a counted category), the possible points
``possible_j`` of a counted cell. A review with **no row** for a category whose policy is
``na: full`` or ``na: zero`` gets that category's N/A points arithmetically: per section, the
card's total N/A points of such categories are added and those of the rows present subtracted
(no cross join of reviews and categories) -- the same score as an explicit N/A row, as the numpy
engine gives (it fills the missing cell with N/A).

Only :mod:`qakit.scorecard` calls this module (it passes the card and its compiled arrays); it
never imports the scorecard package (which sits above it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from .. import records as R
from .. import schema as S
from ..errors import FAILURE_COLUMNS, MAX_SHOWN, DataValidationError, ParameterError, _plain
from . import _finish as F
from . import _groups as G
from . import _labels as L
from . import _source as B
from ._contract import Table
from ._review import ExprOps, review_scores

ADJUSTED_CATEGORY = "category name matched to the card after Unicode (NFKC), case and whitespace normalisation"
#: the ratings columns scoring reads (as :mod:`qakit.scorecard.validate` on pandas): the review, its category
#: and rating; the other contract columns checked when present
READS = (S.REVIEW_ID, S.CATEGORY, S.RATING)
OPTIONAL = (S.CONVERSATION_ID, S.AGENT_ID, S.REVIEWER_ID, S.REVIEWED_AT, S.SCORECARD_VERSION)
ID_COLUMNS = (S.CONVERSATION_ID, S.AGENT_ID, S.REVIEWER_ID, S.REVIEWED_AT, S.SCORECARD_VERSION)
_BITS = 62  # categories per bit-set column
_SCALE_KIND = {"list": 0, "continuous": 1, "range": 2, "stepped": 3}


def _problem(column: str, check: str, n: int, values: list, ids: list) -> dict[str, Any]:
    return dict(table="ratings", column=column, check=check, n_failed=int(n),
                failing_values=[_plain(v) for v in values][:MAX_SHOWN], row_ids=[_plain(i) for i in ids][:MAX_SHOWN])


def _on_scale(card: Any) -> Any:
    """A rating is an allowed value of its category's scale (:meth:`qakit.scorecard.Scale.contains`
    as one expression over the card table's scale columns; list scales by membership)."""
    r = nw.col("__r")
    lo, hi, kind = nw.col("__lo"), nw.col("__hi"), nw.col("__sk")
    q = (r - lo) / nw.col("__step")
    inside = (r >= lo) & (r <= hi)
    tol = nw.when(q.abs() > 1.0).then(q.abs()).otherwise(nw.lit(1.0)) * 1e-9
    listed = nw.lit(False)
    for j, c in enumerate(card.categories):
        if c.scale.kind == "list":
            listed = listed | ((nw.col("__cat") == j) & r.is_in([float(v) for v in c.scale.points]))
    return (nw.when(kind == 1).then(inside)
            .when(kind == 2).then(inside & (q == q.floor()))
            .when(kind == 3).then(inside & ((q - q.round(0)).abs() <= tol))
            .otherwise(listed))


def _card_table(card: Any, A: Any, mapping: dict[str, int], t: Table) -> nw.LazyFrame:
    """One row per stored category text that names a card category: its position and the compiled
    card's coefficients, critical threshold, scale and bit (a small table on the engine, joined to
    the ratings: every per-row rule is then one expression, not a case per category)."""
    names = list(mapping)
    pos = np.array([mapping[n] for n in names], dtype=np.int64)
    counts_na = ~np.isnan(A.na_earned)
    cats = card.categories
    thr = np.array([(A.threshold[j] - A.b[j]) / A.a[j] if A.critical[j] else np.nan for j in range(len(cats))])
    frame = pd.DataFrame({
        "__name": pd.array(names, dtype="str"), "__cat": pos, "__off": A.offset[pos],
        # the fraction of full marks as the numpy engine computes it: (r - o) * m, or (r - o) / d
        "__mult": A.multiplier[pos] if A.multiplier is not None else np.ones(len(pos)),
        "__div": A.divisor[pos] if A.divisor is not None else np.ones(len(pos)),
        "__earn": A.earn[pos], "__poss": A.possible[pos], "__cna": counts_na[pos],
        "__naf": A.na_fraction[pos], "__sec": A.section[pos].astype(np.int64),
        "__pa": A.a[pos], "__pb": A.b[pos],
        # critical: fails below (threshold - b) / a in rating units (s = a r + b); null: not critical
        "__thr": thr[pos],
        "__sk": np.array([_SCALE_KIND[cats[j].scale.kind] for j in pos], dtype=np.int64),
        "__lo": np.array([float(cats[j].scale.low) for j in pos]),
        "__hi": np.array([float(cats[j].scale.high) for j in pos]),
        "__step": np.array([float(cats[j].scale.step or 1.0) for j in pos]),
    })
    for b in range((len(cats) + _BITS - 1) // _BITS):  # the category's bit in bit-set word b
        frame[f"__bit{b}"] = np.where(pos // _BITS == b, np.left_shift(1, pos % _BITS), 0).astype(np.int64)
    frame["__thr"] = frame["__thr"].astype(float)
    native = B.native_frame(B.Source(frame, "pandas", t.engine, t.con), pandas_df=frame)
    return B.as_lazy(native)


def prepare(t: Table, card: Any, A: Any) -> tuple[nw.LazyFrame, R.Record, list[str], dict[str, int]]:
    """The ratings joined with the compiled card: each stored category text matched to the card
    (exactly, else after NFKC, case-fold and whitespace, itemised as an adjustment; the column's few
    distinct values are matched in Python). Returns the rows with ``__cat`` (card position), the
    card's coefficients and ``__r`` (rating), the record, the category texts the card does not
    know (refused by :func:`check`) and ``{stored text: card position}``."""
    names = list(card.category_names)
    exact = {n: j for j, n in enumerate(names)}
    keyed = {L.label_key(n): j for j, n in enumerate(names)}
    dist = t.cache.get(("distinct", S.CATEGORY))
    if dist is None:
        dist = B.distinct(t.lf, S.CATEGORY).tolist()
    stored = [v for v in dist if v is not None and not (isinstance(v, float) and v != v)]
    mapping: dict[str, int] = {}
    adjusted: list[str] = []
    unknown: list[str] = []
    for v in stored:
        if v in exact:
            mapping[v] = exact[v]
        elif L.label_key(v) in keyed:
            mapping[v] = keyed[L.label_key(v)]
            adjusted.append(v)
        else:
            unknown.append(v)
    ct = _card_table(card, A, mapping, t)
    lf = t.lf.join(ct, left_on=S.CATEGORY, right_on="__name", how="left").with_columns(
        nw.col(S.RATING).alias("__r"))
    rec = R.Record.empty()
    if adjusted:
        rid = nw.col(S.REVIEW_ID).cast(nw.String)
        ids = B.distinct(t.lf.filter(L.is_one_of(S.CATEGORY, adjusted)).select(rid.alias("__id")), "__id")
        rec = rec.with_entry(R.ADJUSTED_KEY, ADJUSTED_CATEGORY, S.CATEGORY, tuple(sorted(ids.astype("str"))))
    return lf, rec, unknown, mapping


def _off_scale(card: Any) -> Any:
    """A rated value not on its category's scale (unknown categories: refused apart)."""
    return (~nw.col("__r").is_null() & ~nw.col("__cat").is_null() & ~_on_scale(card)).fill_null(False)


def _continuous_off(card: Any) -> Any:
    """A rating of a continuous-scale category off its range, row by row (the other scales are
    checked on the distinct (category, rating) pairs: :func:`_off_pairs`)."""
    r = nw.col("__r")
    off = nw.lit(False)
    for j, c in enumerate(card.categories):
        if c.scale.kind == "continuous":
            off = off | ((nw.col("__cat") == j) & ~r.is_null() & ~r.is_between(c.scale.low, c.scale.high))
    return off.fill_null(False)


def _off_pairs(t: Table, card: Any, mapping: dict[str, int]) -> list[tuple[int, str, float, int]]:
    """``[(card position, stored category, rating, rows)]`` of the ratings off their category's
    scale, from the distinct (category, rating) pairs of the non-continuous categories (a few per
    category), judged by :meth:`qakit.scorecard.Scale.contains` itself."""
    discrete = [v for v, j in mapping.items() if card.categories[j].scale.kind != "continuous"]
    if not discrete:
        return []
    pairs = t.cache.get("category_rating_pairs")  # (read with the contract's check of the categories)
    if pairs is None:  # every pair, as the contract keeps them: later calls on the table (another card too) read them
        pairs = B.collect(t.lf.group_by(S.CATEGORY, S.RATING, drop_null_keys=False).agg(nw.len().alias("__n")))
        t.cache["category_rating_pairs"] = pairs
    pairs = pairs[pairs[S.CATEGORY].isin(discrete) & pairs[S.RATING].notna()]
    out = []
    for cat, g in pairs.groupby(S.CATEGORY, sort=True):
        j = mapping[cat]
        r = pd.to_numeric(g[S.RATING]).to_numpy(dtype=float)
        off = ~card.categories[j].scale.contains(r)
        for v, n in zip(r[off], g["__n"].to_numpy()[off]):
            out.append((j, cat, float(v), int(n)))
    return out


def _one_of(column: str, values: list) -> Any:
    return L.is_one_of(column, values)


def check(t: Table, lf: nw.LazyFrame, rv: nw.LazyFrame, card: Any, unknown: list[str], mapping: dict[str, int], *,
          label: str = "", problems: list | None = None) -> None:
    """Every problem at once, with the contract's (``problems``): category texts the card does not
    know, ratings off their scale, a (review, category) rated twice, a review spread over several
    agents or conversations. Counted from the per-review table (``rv``, with the counts
    :func:`reviews` folded into its aggregation: one scan of the ratings; a category twice in a
    review shows as a bit set with fewer bits than rows); the rows are fetched only for a problem
    that is there."""
    problems = list(problems or [])
    rid = nw.col(S.REVIEW_ID).cast(nw.String)
    names = list(card.category_names)
    cols = rv.collect_schema().names()
    spread = [c for c in (S.AGENT_ID, S.CONVERSATION_ID) if f"__span_{c}" in cols]
    counts = B.collect(rv.select(G.count(nw.col("__off") > 0).alias("__off"),
                                 *[G.count(nw.col(f"__span_{c}")).alias(c) for c in spread])).iloc[0]
    words = B.collect(rv.select("__len", *[c for c in cols if c.startswith("__all")]))
    bits = sum(np.bitwise_count(pd.to_numeric(words[c]).to_numpy(dtype=np.int64).view(np.uint64)).astype(np.int64)
               for c in words.columns if c.startswith("__all"))
    n_dup = int(np.count_nonzero(np.asarray(bits) != pd.to_numeric(words["__len"]).to_numpy(dtype=np.int64))) \
        if len(words) else 0
    if unknown:
        got = B.collect(t.lf.filter(L.is_one_of(S.CATEGORY, unknown)).select(rid.alias("__id"), S.CATEGORY)
                        .sort("__id"))
        problems.append(_problem(S.CATEGORY, f"category not on scorecard {card.name!r}{label} (allowed: {names})",
                                 len(got), list(pd.unique(got[S.CATEGORY])), list(got["__id"])))
        n_dup = 1  # (a review with an unknown category has fewer bits than rows: the key is checked row by row)
    off_pairs = _off_pairs(t, card, mapping)
    if int(counts["__off"] or 0) or off_pairs:
        cond = _continuous_off(card)
        for _, cat, v, _ in off_pairs:
            cond = cond | ((nw.col(S.CATEGORY) == cat) & (nw.col("__r") == v))
        got = B.collect(lf.filter(cond.fill_null(False)).select(rid.alias("__id"), "__r", "__cat").sort("__id"))
        for j, c in enumerate(card.categories):
            g = got[pd.to_numeric(got["__cat"]).eq(j)]
            if len(g):
                problems.append(_problem(S.RATING, f"rating off the scale of {c.name!r} (allowed: "
                                                   f"{c.scale.describe()})", len(g), list(pd.unique(g["__r"])),
                                         list(g["__id"])))
    key = [S.REVIEW_ID, S.CATEGORY]
    got = None if not n_dup else B.collect(t.lf.filter(nw.len().over(*key) > 1).select(rid.alias("__id"), nw.concat_str(
        [nw.col(S.REVIEW_ID).cast(nw.String), nw.col(S.CATEGORY).cast(nw.String)], separator=" / ").alias("__key"))
        .sort("__key", "__id"))
    if got is not None and len(got):
        problems.append(_problem(" + ".join(key), f"duplicate key ({', '.join(key)})", len(got),
                                 list(pd.unique(got["__key"])), list(got["__id"])))
    for c in spread:
        if int(counts[c] or 0):
            bad = rv.filter(nw.col(f"__span_{c}")).select(S.REVIEW_ID)
            got = B.collect(t.lf.join(bad, on=S.REVIEW_ID, how="inner")
                            .select(rid.alias("__id"), nw.col(c).cast(nw.String).alias("__v")).sort("__id", "__v"))
            vals = list(pd.unique(got["__id"].astype("str") + " -> " + got["__v"].astype("str")))
            problems.append(_problem(c, f"one review spread over several {c} values", len(got), vals,
                                     list(got["__id"])))
    if problems:
        raise DataValidationError(pd.DataFrame(problems, columns=FAILURE_COLUMNS))


def _row_terms(lf: nw.LazyFrame, card: Any, A: Any) -> nw.LazyFrame:
    """Per rating: ``__rated``, earned ``__e`` and possible ``__p`` points net of the N/A points a
    counted category would have if it had no row (``__ne``, ``__np``), and ``__fail``."""
    r = nw.col("__r")
    rated = ~r.is_null()
    frac = (r - nw.col("__off")) * nw.col("__mult") / nw.col("__div")
    cna = nw.col("__cna").fill_null(False)
    f = nw.when(rated).then(frac).otherwise(nw.when(cna).then(nw.col("__naf")).otherwise(nw.lit(0.0)))
    earned = f * nw.col("__earn")
    possible = nw.when(rated | cna).then(nw.col("__poss")).otherwise(nw.lit(0.0))
    na_e = nw.when(cna).then(nw.col("__naf") * nw.col("__earn")).otherwise(nw.lit(0.0))
    na_p = nw.when(cna).then(nw.col("__poss")).otherwise(nw.lit(0.0))
    fail = (r < nw.col("__thr")).fill_null(False)  # critical below its threshold (N/A never fails)
    for j, c in enumerate(card.categories):
        if len(A.fail_values[j]):
            fail = fail | ((nw.col("__cat") == j) & r.is_in([float(v) for v in A.fail_values[j]])).fill_null(False)
    return lf.with_columns(rated.alias("__rated"), (earned - na_e).alias("__e"), (possible - na_p).alias("__p"),
                           fail.alias("__fail"))


def reviews(lf: nw.LazyFrame, card: Any, A: Any, *, pass_cut: float, keep: Sequence[str] = ()) -> nw.LazyFrame:
    """One row per review: ``review_id``, id columns and ``keep`` columns, ``iqs_raw``,
    ``critical_failed``, ``iqs``, ``n_rated``, ``passed``, ``__bits*`` (failing categories)."""
    lf = _row_terms(lf, card, A)
    n_sec = A.indicator.shape[1]
    counts_na = ~np.isnan(A.na_earned)
    na_e_tot = [float(np.sum((A.na_fraction * A.earn)[counts_na & (A.section == s)])) for s in range(n_sec)]
    na_p_tot = [float(np.sum(A.possible[counts_na & (A.section == s)])) for s in range(n_sec)]
    sec = nw.col("__sec")
    cols = {}
    for s in range(n_sec):
        in_s = (sec == s) if n_sec > 1 else nw.lit(True)
        cols[f"__e{s}"] = nw.when(in_s).then(nw.col("__e")).otherwise(nw.lit(0.0))
        cols[f"__p{s}"] = nw.when(in_s).then(nw.col("__p")).otherwise(nw.lit(0.0))
        cols[f"__f{s}"] = (in_s & nw.col("__fail")).cast(nw.Int64)
    k = len(card.categories)
    n_bits = (k + _BITS - 1) // _BITS
    for b in range(n_bits):  # failing categories, and every category present, as bit sets
        cols[f"__fbit{b}"] = nw.when(nw.col("__fail")).then(nw.col(f"__bit{b}")).otherwise(nw.lit(0, dtype=nw.Int64))
        cols[f"__abit{b}"] = nw.col(f"__bit{b}").fill_null(0)
    off = _continuous_off(card) if any(c.scale.kind == "continuous" for c in card.categories) else None
    lf = lf.with_columns(**cols, __nr=nw.col("__rated").cast(nw.Int64),
                         __offr=(off if off is not None else nw.lit(False)).cast(nw.Int64))
    ids = [c for c in ID_COLUMNS if c in lf.collect_schema().names()]
    extra = [c for c in keep if c not in ids and c != S.REVIEW_ID]
    # the card's checks, folded into this one aggregation (see :func:`check`)
    checks = [nw.col("__offr").sum().alias("__off"), nw.len().alias("__len")]
    checks += [nw.col(f"__abit{b}").sum().alias(f"__all{b}") for b in range(n_bits)]
    checks += [(nw.col(c).min() != nw.col(c).max()).alias(f"__span_{c}") for c in (S.AGENT_ID, S.CONVERSATION_ID)
               if c in ids]
    aggs = [nw.col(f"__e{s}").sum().alias(f"__num{s}") for s in range(n_sec)]
    aggs += [nw.col(f"__p{s}").sum().alias(f"__den{s}") for s in range(n_sec)]
    aggs += [nw.col(f"__f{s}").max().alias(f"__fail{s}") for s in range(n_sec)]
    aggs += [nw.col(f"__fbit{b}").sum().alias(f"__bits{b}") for b in range(n_bits)]
    aggs += [nw.col("__nr").sum().alias(S.N_RATED)] + [nw.col(c).min().alias(c) for c in ids + extra]
    rv = lf.group_by(S.REVIEW_ID).agg(*aggs, *checks)
    num = [nw.col(f"__num{s}") + na_e_tot[s] for s in range(n_sec)]
    den = [nw.col(f"__den{s}") + na_p_tot[s] for s in range(n_sec)]
    can_fail = bool(A.critical.any() or any(len(fv) for fv in A.fail_values))
    sec_fail = [nw.col(f"__fail{s}") > 0 for s in range(n_sec)] if can_fail else None
    nothing = nw.col(S.N_RATED) == 0
    ops = ExprOps()
    raw, iqs, crit = review_scores(num, den, nothing, sec_fail, A, ops)
    rv = ops.apply(rv).with_columns(raw.alias(S.IQS_RAW), crit.alias(S.CRITICAL_FAILED), iqs.alias(S.IQS))
    rv = rv.with_columns(nw.when(~nw.col(S.IQS).is_null()).then(nw.col(S.IQS) >= pass_cut).alias(S.PASSED))
    spans = [f"__span_{c}" for c in (S.AGENT_ID, S.CONVERSATION_ID) if c in ids]
    return rv.select(S.REVIEW_ID, *ids, *extra, S.IQS_RAW, S.CRITICAL_FAILED, S.IQS, S.N_RATED, S.PASSED,
                     *[f"__bits{b}" for b in range(n_bits)], "__off", "__len",
                     *[f"__all{b}" for b in range(n_bits)], *spans)


def failed_names(card: Any, bits: pd.DataFrame) -> list[np.ndarray]:
    """Per review, the failing category positions from the ``__bits*`` columns."""
    k = len(card.categories)
    out = []
    for b in range((k + _BITS - 1) // _BITS):
        v = pd.to_numeric(bits[f"__bits{b}"], errors="coerce").fillna(0).to_numpy(dtype=np.int64)
        for j in range(b * _BITS, min(k, (b + 1) * _BITS)):
            out.append(((v >> (j - b * _BITS)) & 1).astype(bool))
    return out


def unscored(res: pd.DataFrame, rv: nw.LazyFrame, all_na: str, weight_0: str, source: str) -> None:
    """Itemise the reviews scoring left without a score (as :func:`qakit.scorecard.score_reviews`)."""
    un = B.collect(rv.filter(nw.col(S.IQS).is_null()).select(nw.col(S.REVIEW_ID).cast(nw.String).alias("__id"),
                                                              S.N_RATED))
    none = pd.to_numeric(un[S.N_RATED]).fillna(0).eq(0)
    S.add_exclusion(res, all_na, S.RATING, sorted(un.loc[none, "__id"].astype("str")), source=source)
    S.add_exclusion(res, weight_0, S.RATING, sorted(un.loc[~none, "__id"].astype("str")), source=source)


def iqs_by(rv: nw.LazyFrame, t: Table, keys: Sequence[str], period: str | None, *, level: float,
           min_n: int, sd: bool = False) -> pd.DataFrame:
    """IQS per group from the per-review table: ``n, iqs, ci_low, ci_high, pass_rate, n_excluded,
    small_sample`` (Student-t interval clipped to ``[0, max(100, max iqs)]``); ``sd``: and the
    scores' sample sd (``sd``, ddof=1, NaN below 2 scores) for a caller that needs the spread."""
    keys = list(keys)
    cols = rv.collect_schema().names()
    rv, pkeys = G.with_period(rv, t.engine, period, S.REVIEWED_AT, cols)
    gk = keys + pkeys
    i = nw.col(S.IQS)
    res = G.aggregate(rv, gk, {"__n": G.agg("count", i), "__rows": G.n_rows(), "__mean": G.agg("mean", i),
                               "__sd": G.agg("std", i), S.PASS_RATE: G.agg("mean", nw.col(S.PASSED).cast(nw.Float64)),
                               "__max": G.agg("max", i)},
                      period=period)
    hi = max(100.0, float(np.nanmax(pd.to_numeric(res["__max"], errors="coerce").to_numpy(dtype=float),
                                    initial=100.0)))
    return F.mean_t(res, gk, S.IQS, level=level, min_n=min_n, clip=(0.0, hi), extra=[S.PASS_RATE], keep_sd=sd)


def category_by(lf: nw.LazyFrame, t: Table, card: Any, keys: Sequence[str], period: str | None, *, level: float,
                min_n: int) -> pd.DataFrame:
    """Mean category score per (group, category) over the reviews that rated it, Student-t
    interval clipped to 0..100; categories written as the card spells them."""
    names = {j: n for j, n in enumerate(card.category_names)}
    lf = lf.with_columns((nw.col("__r") * nw.col("__pa") + nw.col("__pb")).alias(S.CATEGORY_SCORE))
    lf, pkeys = G.with_period(lf, t.engine, period, S.REVIEWED_AT, t.columns)
    # grouped by the card position (an integer), named after the aggregation: a name per row
    # cost a text column and text grouping on 100M rows
    s = nw.col(S.CATEGORY_SCORE)
    res = G.aggregate(lf, list(keys) + pkeys + ["__cat"], {"__n": G.agg("count", s), "__rows": G.n_rows(),
                                                          "__mean": G.agg("mean", s), "__sd": G.agg("std", s)},
                      period=period)
    pos = pd.to_numeric(res.pop("__cat"))
    res.insert(len(keys) + len(pkeys), S.CATEGORY, pos.map(names).astype("str").where(pos.notna(), None))
    gk = list(keys) + pkeys + [S.CATEGORY]
    res = G.sort_groups(res, gk)
    return F.mean_t(res, gk, S.CATEGORY_SCORE, level=level, min_n=min_n, clip=(0.0, 100.0))


def check_one_card(cards: list, engine: str) -> Any:
    """Lazy engines score with one card at a time (no version matching, no ``applies_to``)."""
    if len(cards) != 1:
        raise ParameterError(
            f"engine {engine!r} scores with one scorecard at a time; got versions {[k for k, _ in cards]} "
            "(filter the ratings by scorecard_version and score each with its card, or use engine='pandas')")
    card = cards[0][1]
    if card.applies_to:
        raise ParameterError(f"engine {engine!r}: applies_to (a card chosen per conversation) is applied on "
                             "engine='pandas' only; filter the ratings and score each part with its card")
    return card
