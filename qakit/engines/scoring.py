"""Review scoring, IQS and category scores as Ibis expressions (DuckDB, Spark, ...).

Each scorecard rule is one small function below, named after the rule of
:mod:`qakit.scorecard` it mirrors, so that a change of the pandas reference is one change here;
the parity suite (``tests/test_engines_parity.py``) shows any drift.

Only sufficient statistics leave the engine (per group ``n``, mean, sample sd, pass counts);
intervals are computed on the small result with :func:`qakit.intervals.mean_ci`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import schema as S
from .._public import renamed
from ..errors import DataValidationError, ParameterError
from ..intervals import MIN_N, as_by, check_level, mean_ci
from ..scorecard import PASS_TOLERANCE, Scorecard, _as_registry
from . import _backend as B

PERIODS = {"D": "D", "W": "W", "M": "M", "Q": "Q", "Y": "Y"}
_MAX_SHOWN = 10


# --- per-row rules ------------------------------------------------------------------------------
def _card_of(scorecards: Any) -> Scorecard:
    reg = _as_registry(scorecards)
    if len(reg) != 1:
        raise ParameterError(
            f"qakit.engines scores with one scorecard at a time; got versions {list(reg)} "
            "(filter the ratings by scorecard_version and score each with its card)"
        )
    card = next(iter(reg.values()))
    _check_rules(card)
    return card


#: the card rules these expressions implement (qakit.scorecard today); anything else -- e.g. the
#: issue-13 keys sections_combine, fail_values, na, applies_to, continuous scales, new modes -- is
#: refused by name until it is expressed here (never scored with a different rule)
_RULES = {
    # based_on only matches versions and auto only feeds qakit.autoqa: neither changes a review's score,
    # and the engines score with one card (no version matching)
    "card": {"name", "version", "based_on", "mode", "pass_threshold", "bands", "categories", "sections",
             "sections_combine"},
    "category": {"name", "weight", "critical", "critical_threshold", "scale", "section", "description",
                 "fail_values", "na", "auto"},
    "section": {"name", "weight", "fail_rule", "bonus"},
    "mode": {"weighted", "points", "mean_over_max"},
    "fail_rule": {"all", "section"},
}


def _check_rules(card: Scorecard) -> None:
    """Refuse, naming it, any card rule the engine expressions do not implement."""
    d = card.to_dict()
    unknown = [f"card key {k!r}" for k in d if k not in _RULES["card"]]
    if d.get("mode") not in _RULES["mode"]:
        unknown.append(f"mode {d.get('mode')!r}")
    for c in d.get("categories", []):
        unknown += [f"category {c.get('name')!r} key {k!r}" for k in c if k not in _RULES["category"]]
    for cat in card.categories:
        if cat.scale.kind not in ("range", "list", "continuous"):
            unknown.append(f"category {cat.name!r} scale {cat.scale.kind!r}")
    for sec in d.get("sections", []) or []:
        unknown += [f"section {sec.get('name')!r} key {k!r}" for k in sec if k not in _RULES["section"]]
        if sec.get("fail_rule", "all") not in _RULES["fail_rule"]:
            unknown.append(f"section {sec.get('name')!r} fail_rule {sec.get('fail_rule')!r}")
    if unknown:
        raise ParameterError(
            "qakit.engines does not express these scorecard rules yet: " + "; ".join(unknown)
            + " (use engine='pandas', which implements them)")


def _num(col):
    """A float column with NaN read as null (N/A)."""
    import ibis

    c = col.cast("float64")
    return ibis.ifelse(c.isnan(), ibis.null("float64"), c)


def _affine(card: Scorecard) -> dict[str, np.ndarray]:
    """Per category, the scorecard engine's one definition (:class:`qakit.scorecard.engine.CardArrays`,
    read here for the per-row SQL): percent score ``s = a r + b``, earned points ``e = ea r + eb``,
    ``possible`` points of a counted cell, N/A policy (``counts_na``: ``full``/``zero`` count,
    ``exclude`` does not; ``na_earned`` the points a counted N/A cell earns)."""
    from ..scorecard.engine import CardArrays

    A = CardArrays.of(card)
    counts_na = ~np.isnan(A.na_earned)
    return {"a": A.a, "b": A.b, "ea": A.ea, "eb": A.eb, "possible": A.possible_unit, "counts_na": counts_na,
            "na_earned": np.where(counts_na, A.na_earned, 0.0)}


def _card_table(card: Scorecard):
    """The card as a tiny table joined to the ratings on the category name: position ``_cat``,
    percent map ``_a, _b``, earned points ``_ea, _eb``, ``_possible``, N/A policy (``_na_counts``,
    ``_na_earned``), critical threshold ``_thr`` (``threshold - PASS_TOLERANCE``), ``_crit``,
    section ``_sec``, ``_scale`` (distinct scale id), bit ``_bit = 2**position`` (the failed-category
    set). One hash join instead of per-row CASEs keeps the SQL small."""
    import ibis

    A = _affine(card)
    sec_names = [x.name for x in card.sections]
    scales = _distinct_scales(card)
    return ibis.memtable(pa.table({
        "_scale": np.array([scales.index(_scale_key(c.scale)) for c in card.categories], dtype=np.int64),
        "_name": pa.array(card.category_names, type=pa.string()),
        "_cat": np.arange(len(card.categories), dtype=np.int64),
        "_a": A["a"], "_b": A["b"], "_ea": A["ea"], "_eb": A["eb"], "_possible": A["possible"],
        "_na_counts": A["counts_na"], "_na_earned": A["na_earned"],
        "_thr": np.array([c.critical_threshold - PASS_TOLERANCE if c.critical else 0.0 for c in card.categories]),
        "_crit": np.array([c.critical for c in card.categories], dtype=bool),
        "_sec": np.array([sec_names.index(c.section) if c.section else 0 for c in card.categories], dtype=np.int64),
        "_bit": np.array([2**j for j in range(len(card.categories))], dtype=np.int64),
    }))


def _scale_key(sc) -> tuple:
    if sc.kind == "continuous":
        return ("continuous", sc.low, sc.high)
    return ("values", tuple(sc.values))


def _distinct_scales(card: Scorecard) -> list[tuple]:
    out: list[tuple] = []
    for c in card.categories:
        k = _scale_key(c.scale)
        if k not in out:
            out.append(k)
    return out


def _rule_on_scale(card: Scorecard, x):
    """A rated value is one of its category's allowed values (one ``isin`` per distinct scale
    of the card; N/A and unknown categories: True -- they are counted elsewhere)."""
    import ibis

    ok = ibis.literal(False)
    for k, key in enumerate(_distinct_scales(card)):
        if key[0] == "continuous":  # any real in low..high
            ok = ok | ((x._scale == k) & x._r.between(key[1], key[2]))
        else:
            ok = ok | ((x._scale == k) & x._r.isin(list(key[1])))
    return ok | x._r.isnull() | x._cat.isnull()


def _allowed_table(card: Scorecard):
    """``(_aname, _v)``: every rating value a category accepts (off-scale: no match)."""
    import ibis

    names, vals = [], []
    for c in card.categories:
        names += [c.name] * len(c.scale.values)
        vals += list(c.scale.values)
    return ibis.memtable(pa.table({"_aname": pa.array(names, type=pa.string()), "_v": np.array(vals, dtype=float)}))


def _with_card(card: Scorecard, t):
    """Ratings joined (left) with the card table; ``_r`` the rating with NaN read as N/A."""
    c = _card_table(card)
    x = t.left_join(c, t[S.CATEGORY] == c._name)
    return x.mutate(_r=_num(x[S.RATING]))


def _rule_category_score(x):
    """``s = a_c r + b_c`` (null for N/A)."""
    return x._r * x._a + x._b


def _rule_critical_fail(x, s):
    """A rated critical category fails below ``critical_threshold`` by more than
    ``PASS_TOLERANCE`` (N/A never fails)."""
    return (x._crit & (s < x._thr)).fill_null(False)


def _rule_fail_value(card: Scorecard, x):
    """The rating is one of its category's ``fail_values`` (fails whatever its points)."""
    import ibis

    cond = ibis.literal(False)
    for j, c in enumerate(card.categories):
        fv = list(getattr(c, "fail_values", ()) or ())
        if fv:
            cond = cond | ((x._cat == j) & x._r.isin([float(v) for v in fv]))
    return cond.fill_null(False)


def _row_terms(card: Scorecard, t):
    """Per-row ``_rated, _s`` (percent), ``_e`` (earned points), ``_p`` (possible points of a
    counted cell), ``_cf`` (failing cell), ``_off`` (off the scale), plus the card columns."""
    import ibis

    x = _with_card(card, t)
    rated = x._r.notnull() & x._cat.notnull()
    counted = rated | (x._r.isnull() & x._na_counts.fill_null(False))
    earned = ibis.ifelse(rated, x._ea * x._r + x._eb, ibis.ifelse(counted, x._na_earned, 0.0))
    x = x.mutate(_rated=rated, _s=_rule_category_score(x), _e=earned, _p=ibis.ifelse(counted, x._possible, 0.0),
                 _off=~_rule_on_scale(card, x).fill_null(False))
    return x.mutate(_cf=_rule_critical_fail(x, x._s) | _rule_fail_value(card, x))


# --- validation ---------------------------------------------------------------------------------
def _failures(rows: list[dict]) -> None:
    if rows:
        raise DataValidationError(pd.DataFrame(rows, columns=["table", "column", "check", "n_failed",
                                                               "failing_values", "row_ids"]))


def _check_ratings(con, t, card: Scorecard) -> None:
    """The checks :func:`qakit.scorecard.score_reviews` makes, pushed into the engine: missing
    ids, unknown categories, off-scale ratings, a (review, category) rated twice, a review spread
    over several agents or conversations. All problems at once, as one DataValidationError."""
    x = _with_card(card, t)
    al = _allowed_table(card)
    x = x.left_join(al, (x[S.CATEGORY] == al._aname) & (x._r == al._v))
    checks = {
        (S.REVIEW_ID, "empty value"): x[S.REVIEW_ID].isnull(),
        (S.CATEGORY, "empty value"): x[S.CATEGORY].isnull(),
        (S.CATEGORY, f"category not on scorecard {card.name!r} (allowed: {card.category_names})"):
            x[S.CATEGORY].notnull() & x._cat.isnull(),
        (S.RATING, "rating off the scale of its category"): x._cat.notnull() & x._r.notnull() & x._v.isnull(),
    }
    # per review: rows, distinct categories, distinct agents / conversations
    spread_cols = [c for c in (S.AGENT_ID, S.CONVERSATION_ID) if c in t.columns]
    per_rev = t.group_by(S.REVIEW_ID).aggregate(
        _rows=t[S.CATEGORY].count(), _cats=t[S.CATEGORY].nunique(),
        **{f"_u_{c}": t[c].nunique() for c in spread_cols})
    review_checks = {(S.CATEGORY, "duplicate (review_id, category)"): per_rev._rows > per_rev._cats}
    for c in spread_cols:
        review_checks[(c, f"one review spread over several {c} values")] = per_rev[f"_u_{c}"] > 1
    # one query for every count (the usual, clean case costs one scan and one group-by)
    a = x.aggregate(**{f"c{i}": e.cast("int64").sum() for i, e in enumerate(checks.values())})
    b = per_rev.aggregate(**{f"d{i}": e.cast("int64").sum() for i, e in enumerate(review_checks.values())})
    counts = B.execute(con, a.cross_join(b)).fillna(0).iloc[0]
    rows = []
    for i, ((col, check), e) in enumerate(checks.items()):
        n = int(counts[f"c{i}"])
        if n:
            ex = B.execute(con, x.filter(e).select(S.REVIEW_ID, col).limit(_MAX_SHOWN))
            rows.append({"table": "ratings", "column": col, "check": check, "n_failed": n,
                         "failing_values": list(ex[col].astype("str")), "row_ids": list(ex[S.REVIEW_ID].astype("str"))})
    for i, ((col, check), e) in enumerate(review_checks.items()):
        n = int(counts[f"d{i}"])
        if n:
            ex = B.execute(con, per_rev.filter(e).select(S.REVIEW_ID).limit(_MAX_SHOWN))
            rows.append({"table": "ratings", "column": col, "check": check, "n_failed": n,
                         "failing_values": [], "row_ids": list(ex[S.REVIEW_ID].astype("str"))})
    _failures(rows)


# --- per-review rules ---------------------------------------------------------------------------
def _section_weights(card: Scorecard) -> list[float]:
    W = np.array([x.weight for x in card.sections] or [1.0], dtype=float)
    return list(W / W.max() if W.max() > 0 else W)


def _combine(card: Scorecard, S_: list, num: list, den: list):
    """Sections combined as :func:`qakit.scorecard.engine._combine`: ``sections_combine:
    points`` pools earned points over the possible points of regular sections (``max(., 0)``);
    otherwise ``sum(W S) / sum(W over present non-bonus sections)`` (bonus sections add
    ``W_b S_b`` to the numerator only, ``W`` divided by the largest); null when nothing counts."""
    import ibis

    secs = card.sections
    bonus = [s_.bonus for s_ in secs] or [False]
    if getattr(card, "sections_combine", "weights") == "points":
        tot = sum(num[1:], num[0])
        d = None
        for k, bk in enumerate(bonus):
            if not bk:
                d = den[k] if d is None else d + den[k]
        out = 100.0 * tot / d
        return ibis.ifelse(d > 0, ibis.greatest(out, 0.0), ibis.null("float64"))
    if len(S_) == 1:
        return S_[0]
    W = _section_weights(card)
    total = denom = None
    for k in range(len(S_)):
        present = S_[k].notnull()
        term = ibis.ifelse(present, W[k] * S_[k].fill_null(0.0), 0.0)
        total = term if total is None else total + term
        if not bonus[k]:
            d = ibis.ifelse(present, W[k], 0.0)
            denom = d if denom is None else denom + d
    return ibis.ifelse(denom > 0, total / denom, ibis.null("float64"))


def _review_table(card: Scorecard, t, by: Sequence[str] = (), con: Any = None):
    """One row per review: ``iqs_raw, critical_failed, _bits, iqs, n_rated, passed`` and id columns."""
    import ibis

    x = _row_terms(card, t)
    n_sec = max(len(card.sections), 1)
    aggs = {}
    for k in range(n_sec):
        in_k = (x._sec == k) if card.sections else ibis.literal(True)
        aggs[f"_num{k}"] = ibis.ifelse(in_k, x._e, 0.0).sum()
        aggs[f"_den{k}"] = ibis.ifelse(in_k, x._p, 0.0).sum()
        aggs[f"_fail{k}"] = ibis.ifelse(in_k & x._cf, 1, 0).max()
    aggs["_bits"] = ibis.ifelse(x._cf, x._bit, 0).sum().cast("int64")
    aggs[S.N_RATED] = x._rated.cast("int64").sum()
    id_cols = [c for c in (S.CONVERSATION_ID, S.AGENT_ID, S.REVIEWER_ID, S.REVIEWED_AT, S.SCORECARD_VERSION)
               if c in t.columns]
    # validation folded into the same pass: problem rows per review (see _check_ratings)
    bad = (x[S.CATEGORY].isnull() | x._cat.isnull() | x._off).cast("int64").sum()
    if con is not None and B.backend_name(con) == "duckdb":  # a category rated twice: its bit summed twice
        bad = bad + ibis.ifelse(x._bit.sum() != x._bit.bit_or(), 1, 0)
    else:  # (Ibis has no bit_or on every backend)
        bad = bad + ibis.ifelse(x._cat.count() != x._cat.nunique(), 1, 0)
    for c in (S.AGENT_ID, S.CONVERSATION_ID):
        if c in t.columns:
            bad = bad + ibis.ifelse(x[c].min() != x[c].max(), 1, 0)  # one review, several values
    aggs["_bad"] = bad
    extra = [c for c in by if c in t.columns and c not in id_cols and c != S.REVIEW_ID]
    for c in id_cols + extra:
        aggs[c] = x[c].arbitrary()
    r = x.group_by(S.REVIEW_ID).aggregate(**aggs)
    secs = card.sections
    nothing = r[S.N_RATED] == 0
    num = [ibis.ifelse(nothing, 0.0, r[f"_num{k}"]) for k in range(n_sec)]
    den = [ibis.ifelse(nothing, 0.0, r[f"_den{k}"]) for k in range(n_sec)]
    S_ = [ibis.ifelse(den[k] > 0, ibis.greatest(100.0 * num[k] / den[k], 0.0), ibis.null("float64"))
          for k in range(n_sec)]
    fail = [r[f"_fail{k}"] > 0 for k in range(n_sec)]
    rule_all = [(not secs) or secs[k].fail_rule == "all" for k in range(n_sec)]
    raw = _combine(card, S_, num, den)
    # fail_rule section: that section scores 0 (its earned points 0); fail_rule all: the review 0
    S_after = [S_[k] if rule_all[k] else ibis.ifelse(fail[k] & S_[k].notnull(), 0.0, S_[k]) for k in range(n_sec)]
    num_after = [num[k] if rule_all[k] else ibis.ifelse(fail[k], 0.0, num[k]) for k in range(n_sec)]
    iqs = _combine(card, S_after, num_after, den)
    fail_all = ibis.literal(False)
    for k in range(n_sec):
        if rule_all[k]:
            fail_all = fail_all | fail[k]
    iqs = ibis.ifelse(fail_all & iqs.notnull(), 0.0, iqs)
    crit = ibis.literal(False)
    for k in range(n_sec):
        crit = crit | fail[k]
    raw = ibis.ifelse(nothing, ibis.null("float64"), raw)
    iqs = ibis.ifelse(nothing, ibis.null("float64"), iqs)
    r = r.mutate(**{S.IQS_RAW: raw, S.CRITICAL_FAILED: crit, S.IQS: iqs})
    r = r.mutate(**{S.PASSED: ibis.ifelse(r[S.IQS].isnull(), ibis.null("boolean"),
                                          r[S.IQS] >= card.pass_threshold - PASS_TOLERANCE)})
    r = r.mutate(_bad=r._bad.fill_null(0) + ibis.ifelse(r[S.REVIEW_ID].isnull(), 1, 0))
    return r.select(S.REVIEW_ID, *id_cols, *extra, S.IQS_RAW, S.CRITICAL_FAILED, "_bits", S.IQS, S.N_RATED, S.PASSED,
                    "_bad")


def _failed_text(card: Scorecard, bits: np.ndarray) -> pd.Series:
    """``"A; B"`` from the per-review bit set of failed critical categories (card order)."""
    names = card.category_names
    bits = np.asarray(bits, dtype=np.int64)
    uniq, inv = np.unique(bits, return_inverse=True)
    text = ["; ".join(names[j] for j in range(len(names)) if (int(u) >> j) & 1) for u in uniq]
    return pd.Series(pd.array(pa.array(text, type=pa.large_string()).take(pa.array(inv.ravel())), dtype="str"))


def _bands(card: Scorecard, iqs: np.ndarray) -> pd.Categorical:
    order = sorted(card.bands.items(), key=lambda kv: kv[1])
    edges = np.array([v for _, v in order])
    labels = np.array([k for k, _ in order], dtype=object)
    idx = np.searchsorted(edges, np.nan_to_num(iqs, nan=-np.inf) + PASS_TOLERANCE, side="right") - 1
    band = np.where((idx >= 0) & ~np.isnan(iqs), labels[np.clip(idx, 0, None)], None)
    return pd.Categorical(band, categories=[k for k, _ in order], ordered=True)


def _prepared(source, card, engine):
    con = B.connection(engine)
    if isinstance(source, pd.DataFrame):
        source = S.validate(source, "ratings")
    t = B.table(source, con)
    need = [S.REVIEW_ID, S.CATEGORY, S.RATING]
    missing = [c for c in need if c not in t.columns]
    if missing:
        raise ParameterError(f"ratings need columns {need}; missing {missing}")
    return con, t


def _raise_if_bad(con, t, card: Scorecard, n_bad: Any) -> None:
    """The scoring pass counted problem rows (``_bad``): list them, as one DataValidationError."""
    n_bad = int(np.nansum(np.asarray(n_bad, dtype=float)))
    if n_bad:
        _check_ratings(con, t, card)  # raises with the details
        _failures([{"table": "ratings", "column": S.RATING, "check": "ratings failed validation in the engine",
                    "n_failed": n_bad, "failing_values": [], "row_ids": []}])


# --- public -------------------------------------------------------------------------------------
@renamed(scorecards="card")
def score_reviews(source: Any, card: Any, *, engine: Any = "duckdb", validate: bool = True) -> pd.DataFrame:
    """Score every review on an engine: what :func:`qakit.scorecard.score_reviews` returns.

    Parameters
    ----------
    source : pandas.DataFrame, str or Path (Parquet file or folder), or Ibis table
        The long ratings table.
    card : Scorecard (or a registry holding one card)
    engine : {"pandas", "duckdb", "spark"} or an Ibis connection, default="duckdb"
    validate : bool, default=True
        Run the ratings checks in the engine first (missing ids, unknown categories, off-scale
        ratings, duplicates, reviews spread over agents or conversations).

    Returns
    -------
    pandas.DataFrame
        Same columns as :func:`qakit.scorecard.score_reviews`; rows sorted by ``review_id``
        (an engine has no row order). Exclusions itemised on the result.

    Notes
    -----
    Per row ``s = r a_c + b_c`` (see :func:`_affine`), per review and section
    ``S = sum(w s) / sum(w)`` over rated categories, sections combined by :func:`_combine`,
    critical failures zero the review (``fail_rule: all``) or their section.
    """
    if engine == "pandas":
        from ..scorecard import score_reviews as ref

        return ref(B.read_pandas(source), card)
    card = _card_of(card)
    con, t = _prepared(source, card, engine)
    out = B.execute(con, _review_table(card, t, con=con).order_by(S.REVIEW_ID))
    if validate:
        _raise_if_bad(con, t, card, out["_bad"])
    return _finish_reviews(card, out.drop(columns="_bad"))


def _finish_reviews(card: Scorecard, out: pd.DataFrame) -> pd.DataFrame:
    out = out.reset_index(drop=True)
    for c in (S.REVIEW_ID, S.CONVERSATION_ID, S.AGENT_ID, S.REVIEWER_ID, S.SCORECARD_VERSION):
        if c in out.columns:
            out[c] = out[c].astype("str")
    if S.REVIEWED_AT in out.columns:
        ts = pd.to_datetime(out[S.REVIEWED_AT])
        out[S.REVIEWED_AT] = ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts.dt.tz_convert("UTC")
    iqs = out[S.IQS].to_numpy(dtype=float, na_value=np.nan)
    out[S.IQS_RAW] = out[S.IQS_RAW].to_numpy(dtype=float, na_value=np.nan)
    out[S.IQS] = iqs
    out[S.CRITICAL_FAILED] = out[S.CRITICAL_FAILED].astype(bool)
    out[S.FAILED_CATEGORIES] = _failed_text(card, out.pop("_bits").fillna(0).to_numpy())
    out[S.N_RATED] = out[S.N_RATED].astype("int64")
    passed = pd.array(card.passes(iqs), dtype="boolean")
    passed[np.isnan(iqs)] = pd.NA
    out[S.PASSED] = passed
    cols = [c for c in (S.REVIEW_ID, S.CONVERSATION_ID, S.AGENT_ID, S.REVIEWER_ID, S.REVIEWED_AT, S.SCORECARD_VERSION)
            if c in out.columns]
    cols += [S.IQS_RAW, S.CRITICAL_FAILED, S.FAILED_CATEGORIES, S.IQS, S.N_RATED, S.PASSED]
    if card.bands:
        out[S.BAND] = _bands(card, iqs)
        cols.append(S.BAND)
    out = out[cols]
    unscored = out[S.IQS].isna()
    all_na = unscored & out[S.N_RATED].eq(0)
    S.add_exclusion(out, "all categories N/A: review not scored", S.RATING, out.loc[all_na, S.REVIEW_ID],
                    source="score_reviews")
    S.add_exclusion(out, "only weight-0 categories rated: review not scored", S.RATING,
                    out.loc[unscored & ~all_na, S.REVIEW_ID], source="score_reviews")
    return out


def _with_period_expr(t, period: str | None, column: str):
    if period is None:
        return t, []
    from ..errors import check_choice

    check_choice("period", period, tuple(PERIODS))
    if column not in t.columns:
        raise ParameterError(f"period needs a {column!r} column; available: {sorted(t.columns)}")
    return t.mutate(period=t[column].cast("timestamp").truncate(PERIODS[period])), ["period"]


def _check_by_expr(t, keys: list[str], table: str) -> None:
    missing = [b for b in keys if b not in t.columns]
    if missing:
        raise ParameterError(f"by column(s) {missing} not in {table}; available: {sorted(t.columns)}")


def _mean_stats(con, t, value, keys: list[str], extra: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Per group: ``n`` (non-null values), ``_rows``, ``_mean``, ``_sd`` (sample) and ``extra``
    aggregates -- the sufficient statistics of a t interval, sorted by the keys."""
    import ibis

    aggs = {"n": value.count(), "_rows": ibis._.count(),
            "_mean": value.mean(), "_sd": value.std(how="sample")}
    aggs.update(extra or {})
    q = t.group_by(keys).aggregate(**aggs) if keys else t.aggregate(**aggs)
    res = B.execute(con, q)
    return _sorted(res, keys)


def _sorted(res: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Groups in the order pandas' ``groupby(sort=True, dropna=False)`` gives (missing keys last)."""
    if keys:
        res = res.sort_values(keys, na_position="last", kind="stable")
    return res.reset_index(drop=True)


def _mean_result(res: pd.DataFrame, keys, out_name, *, level, min_n, extra=(), clip=None) -> pd.DataFrame:
    res = res.copy()
    res["n"] = res["n"].fillna(0).astype("int64")
    res["_rows"] = res["_rows"].fillna(0).astype("int64")
    mean = res["_mean"].to_numpy(dtype=float, na_value=np.nan)
    sd = res["_sd"].to_numpy(dtype=float, na_value=np.nan)
    sd = np.where(res["n"].to_numpy() >= 2, sd, np.nan)
    lo, hi = mean_ci(mean, sd, res["n"], level=level)
    if clip is not None:
        lo, hi = np.clip(lo, *clip), np.clip(hi, *clip)
    res[out_name] = mean
    res[S.CI_LOW], res[S.CI_HIGH] = lo, hi
    # an ungrouped aggregate over no rows (e.g. no CES answers at all) has a NULL row count
    res[S.N_EXCLUDED] = (res["_rows"].fillna(0) - res["n"]).astype("int64")
    res[S.SMALL_SAMPLE] = res["n"] < min_n
    for c in extra:
        res[c] = res[c].to_numpy(dtype=float, na_value=np.nan)
    return res[list(keys) + [S.N, out_name, S.CI_LOW, S.CI_HIGH] + list(extra) + [S.N_EXCLUDED, S.SMALL_SAMPLE]]


@renamed(scorecards="card")
def iqs_score(source: Any, card: Any, *, by: str | Sequence[str] | None = None, period: str | None = None,
              level: float = 0.95, min_n: int = MIN_N, engine: Any = "duckdb", validate: bool = True) -> pd.DataFrame:
    """IQS per group from raw ratings, scored and aggregated in the engine.

    Same result as ``qakit.scorecard.iqs_score(qakit.scorecard.score_reviews(ratings, card), by=...)``:
    ``*by, [period], n, iqs, ci_low, ci_high, pass_rate, n_excluded, small_sample``.

    Notes
    -----
    The engine returns per group ``n``, ``mean(iqs)``, sample ``sd(iqs)``, ``mean(passed)``
    and the row count; the interval ``iqs +/- t sd / sqrt(n)`` (clipped to ``[0, max(100,
    max iqs)]``) is computed on that small table.
    """
    level = check_level(level)
    keys = as_by(by)
    if engine == "pandas":
        from ..scorecard import iqs_score as ref, score_reviews as sref

        return ref(sref(B.read_pandas(source), card), by=by, period=period, level=level, min_n=min_n)
    card = _card_of(card)
    con, t = _prepared(source, card, engine)
    _check_by_expr(t, keys, "ratings")
    r = _review_table(card, t, keys, con=con)
    r, pkeys = _with_period_expr(r, period, S.REVIEWED_AT)
    res = _mean_stats(con, r, r[S.IQS], keys + pkeys,
                      {S.PASS_RATE: r[S.PASSED].cast("float64").mean(), "_max": r[S.IQS].max(),
                       "_bad": r._bad.sum()})
    if validate:
        _raise_if_bad(con, t, card, res["_bad"])
    hi = max(100.0, float(np.nanmax(res["_max"].to_numpy(dtype=float, na_value=np.nan), initial=100.0)))
    out = _mean_result(res, keys + pkeys, S.IQS, level=level, min_n=min_n, extra=[S.PASS_RATE], clip=(0.0, hi))
    if int(out[S.N_EXCLUDED].sum()):  # some review unscored (n_excluded counts them): list them, a second query
        _unscored_exclusions(con, out, r)
    return out


def _unscored_exclusions(con, out: pd.DataFrame, r) -> None:
    """The reviews scoring left unscored, itemised as :func:`qakit.scorecard.score_reviews`
    does (source ``score_reviews``), from one query over the per-review table."""
    un = B.execute(con, r.filter(r[S.IQS].isnull()).select(_id=r[S.REVIEW_ID].cast("string"), _n=r[S.N_RATED]))
    all_na = un["_n"].fillna(0).astype("int64").eq(0)
    S.add_exclusion(out, "all categories N/A: review not scored", S.RATING, sorted(un.loc[all_na, "_id"].astype("str")),
                    source="score_reviews")
    S.add_exclusion(out, "only weight-0 categories rated: review not scored", S.RATING,
                    sorted(un.loc[~all_na, "_id"].astype("str")), source="score_reviews")


@renamed(scorecards="card")
def category_scores(source: Any, card: Any, *, by: str | Sequence[str] | None = None,
                    period: str | None = None, level: float = 0.95, min_n: int = MIN_N, engine: Any = "duckdb",
                    validate: bool = True) -> pd.DataFrame:
    """Per category (and group) the mean category score, as :func:`qakit.scorecard.category_scores`.

    Returns ``*by, [period], category, n, category_score, ci_low, ci_high, n_excluded,
    small_sample``; ``category_score = sum(s_c over reviews rating c) / n_c`` (N/A left out).
    """
    level = check_level(level)
    keys = as_by(by)
    if engine == "pandas":
        from ..scorecard import category_scores as ref

        return ref(B.read_pandas(source), card, by=by, period=period, level=level, min_n=min_n)
    card = _card_of(card)
    con, t = _prepared(source, card, engine)
    _check_by_expr(t, keys, "ratings")
    if validate:
        r = _review_table(card, t, con=con)
        _raise_if_bad(con, t, card, B.execute(con, r.aggregate(_b=r._bad.sum()))["_b"])
    x = _row_terms(card, t)
    x, pkeys = _with_period_expr(x, period, S.REVIEWED_AT)
    gk = keys + pkeys + [S.CATEGORY]
    res = _mean_stats(con, x, x._s, gk)
    return _mean_result(res, gk, S.CATEGORY_SCORE, level=level, min_n=min_n, clip=(0.0, 100.0))


# --- the public API: wrapped by qakit._public.public (shared parameters checked by name; every
# result stamped with its exclusion record) -------------------------------------------------------
__all__ = ["score_reviews", "iqs_score", "category_scores"]

from .._public import wrap_all  # noqa: E402  (at the end: wraps the functions defined above)

wrap_all(globals())
