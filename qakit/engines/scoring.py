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
    return next(iter(reg.values()))


def _num(col):
    """A float column with NaN read as null (N/A)."""
    import ibis

    c = col.cast("float64")
    return ibis.ifelse(c.isnan(), ibis.null("float64"), c)


def _per_category(cat, values: Sequence[Any], dtype: str):
    """``values[j]`` for the row's category position ``cat`` (a small CASE)."""
    import ibis

    return ibis.cases(*[(cat == j, ibis.literal(v, type=dtype)) for j, v in enumerate(values)],
                      else_=ibis.null(dtype))


def _affine(card: Scorecard) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per category ``a, b, effective weight``: category score ``s = r * a + b`` (percent).

    ``weighted``: ``s = (r - min) / (max - min) * 100``, weight ``w``; ``points``:
    ``s = r / max * 100``, weight ``w * max``; ``sum_over_max``: ``s = r / max * 100``, weight ``w``.
    """
    cats = card.categories
    mins = np.array([c.scale.min for c in cats], dtype=float)
    maxs = np.array([c.scale.max for c in cats], dtype=float)
    w = np.array([c.weight for c in cats], dtype=float)
    if card.mode == "weighted":
        return 100.0 / (maxs - mins), -100.0 * mins / (maxs - mins), w
    return 100.0 / maxs, np.zeros(len(cats)), (w * maxs if card.mode == "points" else w)


def _rule_category_position(card: Scorecard, category):
    """The category's position on the card (null: not on the card)."""
    import ibis

    return ibis.cases(*[(category == c.name, j) for j, c in enumerate(card.categories)],
                      else_=ibis.null("int64"))


def _rule_on_scale(card: Scorecard, cat, r):
    """A rated value is one of its category's allowed values (N/A: True)."""
    import ibis

    return ibis.cases(*[(cat == j, r.isin(list(c.scale.values))) for j, c in enumerate(card.categories)],
                      else_=True) | r.isnull()


def _rule_critical_fail(card: Scorecard, cat, s):
    """A rated critical category fails below ``critical_threshold`` by more than
    ``PASS_TOLERANCE`` (N/A never fails)."""
    import ibis

    crit = [(j, c) for j, c in enumerate(card.categories) if c.critical]
    if not crit:
        return ibis.literal(False)
    return ibis.cases(*[(cat == j, s < (c.critical_threshold - PASS_TOLERANCE)) for j, c in crit],
                      else_=False).fill_null(False)


def _row_terms(card: Scorecard, t):
    """Per-row ``_cat, _r, _rated, _s, _w, _ws, _cf, _sec``."""
    import ibis

    a, b, ew = _affine(card)
    t = t.mutate(_cat=_rule_category_position(card, t[S.CATEGORY]), _r=_num(t[S.RATING]))
    s = t._r * _per_category(t._cat, a.tolist(), "float64") + _per_category(t._cat, b.tolist(), "float64")
    rated = t._r.notnull()
    w = ibis.ifelse(rated, _per_category(t._cat, ew.tolist(), "float64"), 0.0)
    sec_names = [x.name for x in card.sections]
    sec = _per_category(t._cat, [sec_names.index(c.section) if c.section else 0 for c in card.categories], "int64")
    t = t.mutate(_rated=rated, _s=s, _w=w, _sec=sec)
    t = t.mutate(_ws=ibis.ifelse(t._w > 0, t._w * t._s.fill_null(0.0), 0.0),
                 _cf=_rule_critical_fail(card, t._cat, t._s))
    return t


# --- validation ---------------------------------------------------------------------------------
def _failures(rows: list[dict]) -> None:
    if rows:
        raise DataValidationError(pd.DataFrame(rows, columns=["table", "column", "check", "n_failed",
                                                               "failing_values", "row_ids"]))


def _check_ratings(con, t, card: Scorecard) -> None:
    """The checks :func:`qakit.scorecard.score_reviews` makes, pushed into the engine: missing
    ids, unknown categories, off-scale ratings, a (review, category) rated twice, a review spread
    over several agents or conversations. All problems at once, as one DataValidationError."""
    need = [S.REVIEW_ID, S.CATEGORY, S.RATING]
    missing = [c for c in need if c not in t.columns]
    if missing:
        raise ParameterError(f"ratings need columns {need}; missing {missing}")
    x = t.mutate(_cat=_rule_category_position(card, t[S.CATEGORY]), _r=_num(t[S.RATING]))
    inf = x._r.isinf().fill_null(False)
    checks = {
        (S.REVIEW_ID, "empty value"): x[S.REVIEW_ID].isnull(),
        (S.CATEGORY, "empty value"): x[S.CATEGORY].isnull(),
        (S.CATEGORY, f"category not on scorecard {card.name!r} (allowed: {card.category_names})"):
            x[S.CATEGORY].notnull() & x._cat.isnull(),
        (S.RATING, "rating off the scale of its category"):
            x._cat.notnull() & ~_rule_on_scale(card, x._cat, x._r).fill_null(True) | inf,
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
def _combine(card: Scorecard, S_: list, present: list):
    """Sections combined: ``sum(W S) / sum(W over present non-bonus sections)`` (bonus
    sections add ``W_b S_b`` to the numerator only); null when no regular section is rated."""
    import ibis

    secs = card.sections
    if not secs:
        return S_[0]
    total = None
    denom = None
    for k, sec in enumerate(secs):
        term = ibis.ifelse(present[k], sec.weight * S_[k].fill_null(0.0), 0.0)
        total = term if total is None else total + term
        if not sec.bonus:
            d = ibis.ifelse(present[k], sec.weight, 0.0)
            denom = d if denom is None else denom + d
    return ibis.ifelse(denom > 0, total / denom, ibis.null("float64"))


def _review_table(card: Scorecard, t, by: Sequence[str] = ()):
    """One row per review: ``iqs_raw, critical_failed, _bits, iqs, n_rated, passed`` and id columns."""
    import ibis

    x = _row_terms(card, t)
    n_sec = max(len(card.sections), 1)
    aggs = {}
    for k in range(n_sec):
        in_k = (x._sec == k) if card.sections else ibis.literal(True)
        aggs[f"_num{k}"] = ibis.ifelse(in_k, x._ws, 0.0).sum()
        aggs[f"_den{k}"] = ibis.ifelse(in_k, x._w, 0.0).sum()
        aggs[f"_fail{k}"] = ibis.ifelse(in_k & x._cf, 1, 0).max()
    aggs["_bits"] = ibis.ifelse(x._cf, (2 ** x._cat.cast("int64")).cast("int64"), 0).sum().cast("int64")
    aggs[S.N_RATED] = x._rated.cast("int64").sum()
    id_cols = [c for c in (S.CONVERSATION_ID, S.AGENT_ID, S.REVIEWER_ID, S.REVIEWED_AT, S.SCORECARD_VERSION)
               if c in t.columns]
    extra = [c for c in by if c in t.columns and c not in id_cols and c != S.REVIEW_ID]
    for c in id_cols + extra:
        aggs[c] = x[c].arbitrary()
    r = x.group_by(S.REVIEW_ID).aggregate(**aggs)
    secs = card.sections
    S_ = [ibis.ifelse(r[f"_den{k}"] != 0, r[f"_num{k}"] / r[f"_den{k}"], ibis.null("float64")) for k in range(n_sec)]
    present = [r[f"_den{k}"] != 0 for k in range(n_sec)]
    fail = [r[f"_fail{k}"] > 0 for k in range(n_sec)]
    rule_all = [(not secs) or secs[k].fail_rule == "all" for k in range(n_sec)]
    raw = _combine(card, S_, present)
    after = [ibis.ifelse(fail[k], 0.0, S_[k]) if not rule_all[k] else S_[k] for k in range(n_sec)]
    iqs = _combine(card, after, present)
    fail_all = ibis.literal(False)
    for k in range(n_sec):
        if rule_all[k]:
            fail_all = fail_all | fail[k]
    iqs = ibis.ifelse(fail_all & iqs.notnull(), 0.0, iqs)
    crit = ibis.literal(False)
    for k in range(n_sec):
        crit = crit | fail[k]
    r = r.mutate(**{S.IQS_RAW: raw, S.CRITICAL_FAILED: crit, S.IQS: iqs})
    r = r.mutate(**{S.PASSED: ibis.ifelse(r[S.IQS].isnull(), ibis.null("boolean"),
                                          r[S.IQS] >= card.pass_threshold - PASS_TOLERANCE)})
    return r.select(S.REVIEW_ID, *id_cols, *extra, S.IQS_RAW, S.CRITICAL_FAILED, "_bits", S.IQS, S.N_RATED, S.PASSED)


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


def _prepared(source, card, engine, validate: bool):
    con = B.connection(engine)
    if isinstance(source, pd.DataFrame):
        source = S.validate(source, "ratings")
    t = B.table(source, con)
    if validate:
        _check_ratings(con, t, card)
    return con, t


# --- public -------------------------------------------------------------------------------------
def score_reviews(source: Any, scorecards: Any, *, engine: Any = "duckdb", validate: bool = True) -> pd.DataFrame:
    """Score every review on an engine: what :func:`qakit.scorecard.score_reviews` returns.

    Parameters
    ----------
    source : pandas.DataFrame, str or Path (Parquet file or folder), or Ibis table
        The long ratings table.
    scorecards : Scorecard (or a registry holding one card)
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

        return ref(B.read_pandas(source), scorecards)
    card = _card_of(scorecards)
    con, t = _prepared(source, card, engine, validate)
    out = B.execute(con, _review_table(card, t).order_by(S.REVIEW_ID))
    return _finish_reviews(card, out)


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
    S.add_exclusion(out, "all categories N/A: review not scored", S.RATING, out.loc[all_na, S.REVIEW_ID])
    S.add_exclusion(out, "only weight-0 categories rated: review not scored", S.RATING,
                    out.loc[unscored & ~all_na, S.REVIEW_ID])
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
    aggs = {"n": value.count(), "_rows": value.isnull().cast("int64").sum() + value.count(),
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
    res["n"] = res["n"].astype("int64")
    mean = res["_mean"].to_numpy(dtype=float, na_value=np.nan)
    sd = res["_sd"].to_numpy(dtype=float, na_value=np.nan)
    sd = np.where(res["n"].to_numpy() >= 2, sd, np.nan)
    lo, hi = mean_ci(mean, sd, res["n"], level=level)
    if clip is not None:
        lo, hi = np.clip(lo, *clip), np.clip(hi, *clip)
    res[out_name] = mean
    res[S.CI_LOW], res[S.CI_HIGH] = lo, hi
    res[S.N_EXCLUDED] = (res["_rows"] - res["n"]).astype("int64")
    res[S.SMALL_SAMPLE] = res["n"] < min_n
    for c in extra:
        res[c] = res[c].to_numpy(dtype=float, na_value=np.nan)
    return res[list(keys) + [S.N, out_name, S.CI_LOW, S.CI_HIGH] + list(extra) + [S.N_EXCLUDED, S.SMALL_SAMPLE]]


def iqs_score(source: Any, scorecards: Any, *, by: str | Sequence[str] | None = None, period: str | None = None,
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

        return ref(sref(B.read_pandas(source), scorecards), by=by, period=period, level=level, min_n=min_n)
    card = _card_of(scorecards)
    con, t = _prepared(source, card, engine, validate)
    _check_by_expr(t, keys, "ratings")
    r = _review_table(card, t, keys)
    r, pkeys = _with_period_expr(r, period, S.REVIEWED_AT)
    res = _mean_stats(con, r, r[S.IQS], keys + pkeys,
                      {S.PASS_RATE: r[S.PASSED].cast("float64").mean(), "_max": r[S.IQS].max()})
    hi = max(100.0, float(np.nanmax(res["_max"].to_numpy(dtype=float, na_value=np.nan), initial=100.0)))
    return _mean_result(res, keys + pkeys, S.IQS, level=level, min_n=min_n, extra=[S.PASS_RATE], clip=(0.0, hi))


def category_scores(source: Any, scorecards: Any, *, by: str | Sequence[str] | None = None,
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

        return ref(B.read_pandas(source), scorecards, by=by, period=period, level=level, min_n=min_n)
    card = _card_of(scorecards)
    con, t = _prepared(source, card, engine, validate)
    _check_by_expr(t, keys, "ratings")
    x = _row_terms(card, t)
    x, pkeys = _with_period_expr(x, period, S.REVIEWED_AT)
    gk = keys + pkeys + [S.CATEGORY]
    res = _mean_stats(con, x, x._s, gk)
    return _mean_result(res, gk, S.CATEGORY_SCORE, level=level, min_n=min_n, clip=(0.0, 100.0))
