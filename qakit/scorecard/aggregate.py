"""Aggregates: IQS and category scores per group, and the ONE per-group mean + Student-t CI helper
(:func:`group_mean_ci`, two-pass variance) that :mod:`qakit.kpis`, :mod:`qakit.stats` and the
explorer share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from typing import Any

import narwhals as nw

from .. import schema as S
from .._public import public, renamed
from ..errors import ParameterError, check_choice
from ..intervals import MIN_N, as_by, check_by, check_level, with_period
from ..metrics import _contract as C
from ..metrics import _finish as FIN
from ..metrics import _groups as G
from ..metrics import _source as B
from ..metrics import scoring as MS
from .card import Category, Scorecard  # noqa: F401  (Category: doctests)
from .engine import NOT_SCORED_ALL_NA, NOT_SCORED_WEIGHT_0, on_engine, score_reviews
from .validate import prepare, with_score_columns


# --- aggregates ------------------------------------------------------------------------------
def code_stats(codes: np.ndarray, x: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(n, mean, sd)`` of the non-NaN ``x`` per group code 0..n_groups-1 (``bincount``; sd
    two-pass, ddof=1, NaN below 2 values; mean NaN for an empty group).

    Examples
    --------
    >>> code_stats(np.array([0, 0, 0, 1]), np.array([1.0, 2.0, 3.0, np.nan]), 2)
    (array([3, 0]), array([ 2., nan]), array([ 1., nan]))
    """
    ok = ~np.isnan(x)
    ck, xk = codes[ok], x[ok]
    n = np.bincount(ck, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(ck, weights=xk, minlength=n_groups) / n
        dev = xk - mean[ck]
        sd = np.sqrt(np.bincount(ck, weights=dev * dev, minlength=n_groups) / (n - 1))
    return n, mean, np.where(n >= 2, sd, np.nan)


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

    n, mean, sd = code_stats(c, d[value].to_numpy(dtype=float, na_value=np.nan), k + 1)
    out = {keys[0]: pd.Categorical.from_codes(np.where(obs == k, -1, obs), dtype=col.dtype),
           "n": n[obs], "_rows": size[obs], "_mean": mean[obs], "_sd": sd[obs]}
    for name, (src, _) in (extra or {}).items():
        out[name] = code_stats(c, d[src].to_numpy(dtype=float, na_value=np.nan), k + 1)[1][obs]
    return pd.DataFrame(out)


def group_mean_ci(
    df: pd.DataFrame, value: str, keys: list[str], out_name: str, *, level: float, min_n: int,
    extra: Mapping[str, tuple[str, str]] | None = None, clip: tuple[float, float] | None = None,
    keep_sd: bool = False,
) -> pd.DataFrame:
    """The one per-group mean + Student-t CI: ``*keys, n, <out_name>, ci_low, ci_high, *extra,
    n_excluded, small_sample`` over the non-NaN ``value`` (sd two-pass, ddof=1; CI
    ``mean +/- t_{(1+level)/2, n-1} sd / sqrt(n)``, clipped to ``clip``); ``keep_sd``: and ``sd``.

    Examples
    --------
    >>> df = pd.DataFrame({"g": ["a", "a", "a", "b"], "x": [1.0, 2.0, 3.0, np.nan]})
    >>> group_mean_ci(df, "x", ["g"], "x_mean", level=0.95, min_n=2)[["g", "n", "x_mean", "n_excluded"]]
       g  n  x_mean  n_excluded
    0  a  3     2.0           0
    1  b  0     NaN           1
    """
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
    res = res.rename(columns={"n": "__n", "_rows": "__rows", "_mean": "__mean", "_sd": "__sd"})
    return FIN.mean_t(res, keys, out_name, level=level, min_n=min_n, clip=clip, extra=list(extra or {}),
                      keep_sd=keep_sd)


_mean_table = group_mean_ci  # the name qakit.kpis imports


@public
def iqs_score(
    scores: Any,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
    card: Scorecard | None = None,
    engine: Any = None,
    conversations: Any = None,
) -> pd.DataFrame:
    """IQS: the mean of review scores, per group, with a confidence interval.

    Parameters
    ----------
    scores : DataFrame (pandas or Polars), Parquet file or folder, DuckDB relation, Spark DataFrame
        Output of :meth:`Scorecard.score` (needs ``iqs`` and ``passed``; ``by`` columns); with
        ``card``, the long *ratings* instead, scored with ``card`` first (on the engine: only the
        per-group statistics leave it).
    by : str or list of str, optional
        Grouping columns (e.g. ``"agent_id"``); ``None`` gives one overall row.
    period : {"D", "W", "M", "Q", "Y"}, optional
        Also group by the period of ``reviewed_at`` (column ``period``: period start, UTC).
    level : float, default=0.95
    min_n : int, default=30
        Groups with fewer scored reviews are flagged ``small_sample``.
    card : Scorecard, optional
        Score ``scores`` (then long ratings) with this card first, as :func:`score_reviews` does;
        reviews left unscored are itemised with ``score_reviews``' reasons.
    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where it runs; ``None``: the engine of ``scores`` (see ``docs/guide/engines.md``).
    conversations : pandas.DataFrame, or conversations on the scores' engine, optional
        Supplies the ``by`` columns the scores lack (e.g. ``"team"``), joined on ``conversation_id``
        (a review of a conversation not in the table gets a missing group); on an engine the join
        runs there and each table's contract is checked once.

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
    level = check_level(level)
    if card is not None:
        joined = _supplied(keys, _names(scores, engine, "ratings"), conversations)
        got = on_engine(scores, card, engine, keep=[k for k in keys if k not in joined])
        if got is None:  # pandas: the numpy engine, then the aggregate below
            return iqs_score(score_reviews(scores, card), by=by, period=period, level=level, min_n=min_n,
                             conversations=conversations)
        _, _, _, t, _, rv, record = got
        out = MS.iqs_by(_joined(rv, t, conversations, joined), t, keys, period, level=level, min_n=min_n)
        S.carry_records(out, record)
        if int(out[S.N_EXCLUDED].sum()):  # some review unscored (n_excluded counts them): list them
            MS.unscored(out, rv, NOT_SCORED_ALL_NA, NOT_SCORED_WEIGHT_0, "score_reviews")
        return out
    return _iqs(scores, engine, keys, period, level, min_n, conversations=conversations)


def _iqs(scores: Any, engine: Any, keys: list[str], period: str | None, level: float, min_n: int, *,
         conversations: Any = None, sd: bool = False) -> pd.DataFrame:
    """:func:`iqs_score` of review scores on any engine; ``sd``: with each group's sample sd (``sd``)."""
    src = B.resolve(scores, engine, what="scores")
    have = C.source_columns(src) if src.engine != "pandas" or not isinstance(scores, pd.DataFrame) else scores.columns
    missing = [c for c in (S.IQS, S.PASSED) if c not in have]
    if missing:  # (the same refusal on every engine, before any engine reads a column)
        raise ParameterError(f"scores must be the output of Scorecard.score; missing columns {missing}")
    if src.engine != "pandas":
        return _iqs_on_engine(src, keys, period, level, min_n, conversations=conversations, sd=sd)
    if not isinstance(scores, pd.DataFrame):
        scores = B.to_pandas(src)
    scores = _merged(scores, conversations, _supplied(keys, scores.columns, conversations))
    check_by(scores, keys, "scores")
    scores = S.validate(scores, "scores")  # one row per review, finite scores (never a doubled n)
    df, pkeys = with_period(scores, period, S.REVIEWED_AT)
    df = df.assign(_pass=df[S.PASSED].astype("Float64").astype(float))
    hi = max(100.0, float(np.nanmax(df[S.IQS].to_numpy(dtype=float, na_value=np.nan), initial=100.0)))
    res = group_mean_ci(df, S.IQS, keys + pkeys, S.IQS, level=level, min_n=min_n,
                        extra={S.PASS_RATE: ("_pass", "mean")}, clip=(0.0, hi), keep_sd=sd)
    return S.itemise_missing(res, scores, S.IQS, S.REVIEW_ID, "review has no score (iqs missing)")


def _iqs_on_engine(src: B.Source, keys: list[str], period: str | None, level: float, min_n: int,
                   sd: bool = False, conversations: Any = None) -> pd.DataFrame:
    """:func:`iqs_score` of a scores table that lives on an engine (the same statistics: the
    engine returns per group n, mean, sd, pass share and the largest score); ``sd``: the groups'
    sample sd kept as column ``sd`` (:func:`iqs_with_sd`); ``conversations``: the ``by`` columns the
    scores lack joined there."""
    # (conversation_id always among the columns checked: one contract run answers every call on a file)
    t = C.validated(src, "scores", reads=(S.IQS, S.PASSED), optional=(S.REVIEW_ID, S.REVIEWED_AT, S.CONVERSATION_ID))
    joined = _supplied(keys, t.columns, conversations)
    G.check_keys(t, [k for k in keys if k not in joined], "scores")
    rv = t.lf
    out = MS.iqs_by(_joined(rv, t, conversations, joined), t, keys, period, level=level, min_n=min_n, sd=sd)
    if t.has(S.REVIEW_ID):
        G.itemise(out, rv, S.REVIEW_ID, [(nw.col(S.IQS).is_null(), "review has no score (iqs missing)", S.IQS)])
    return C.carry(out, t)


# --- group columns from the conversations ---------------------------------------------------------------
def _names(table: Any, engine: Any, what: str) -> list[str]:
    """The columns of a table on any engine, from its schema (no row read)."""
    if isinstance(table, pd.DataFrame):
        return list(map(str, table.columns))
    return C.source_columns(B.resolve(table, engine, what=what))


def _supplied(keys: Sequence[str], have: Sequence[str], conversations: Any) -> list[str]:
    """The ``by`` columns the conversations supply: those the table lacks, when conversations are given."""
    return [] if conversations is None else [k for k in keys if k not in set(have)]


def _joined(lf: nw.LazyFrame, t: Any, conversations: Any, joined: list[str]) -> nw.LazyFrame:
    """``lf`` (rows of the validated table ``t``) with the conversations' columns ``joined``, matched on
    ``conversation_id`` as text on ``t``'s engine (a left join: conversations are unique by id); the
    conversations checked by their contract there (cached for a stored file)."""
    if not joined:
        return lf
    tc = C.validated(conversations, "conversations", reads=(S.CONVERSATION_ID,), optional=joined, like=t)
    G.check_keys(tc, joined, "conversations")
    key = nw.col(S.CONVERSATION_ID).cast(nw.String)
    return (lf.with_columns(key.alias("__ck"))
            .join(tc.lf.select(key.alias("__ck"), *joined), on="__ck", how="left").drop("__ck"))


def _merged(frame: pd.DataFrame, conversations: Any, joined: list[str]) -> pd.DataFrame:
    """:func:`_joined` on pandas: ``frame`` with the conversations' columns ``joined`` (a left merge)."""
    if not joined:
        return frame
    conv = conversations if isinstance(conversations, pd.DataFrame) else B.to_pandas(
        B.resolve(conversations, "pandas", what="conversations"))
    check_by(conv, [S.CONVERSATION_ID, *joined], "conversations")
    conv = conv[[S.CONVERSATION_ID, *joined]].drop_duplicates(S.CONVERSATION_ID)
    out = frame.merge(conv, on=S.CONVERSATION_ID, how="left")
    return S.carry_records(out, frame)


def iqs_with_sd(scores: Any, keys: list[str], *, level: float, min_n: int) -> pd.DataFrame:
    """:func:`iqs_score` by ``keys`` with each group's sample sd of the scores (column ``sd``, ddof=1,
    NaN below 2 scores): the per-group sufficient statistics a caller such as
    :func:`qakit.stats.agent_summary` needs, from the one aggregate on every engine."""
    return _iqs(scores, None, keys, None, level, min_n, sd=True)


@public
@renamed(scorecard="card")
def category_scores(
    ratings: Any,
    card: Scorecard | Sequence[Scorecard] | Mapping[str, Scorecard],
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
    engine: Any = None,
    conversations: Any = None,
) -> pd.DataFrame:
    """Per category (and group): the mean category score over the reviews that rated it.

    Parameters
    ----------
    ratings : pandas.DataFrame, or ratings on an engine (Parquet file or folder, DuckDB relation ...)
        Long ratings (validated against the card as in :func:`score_reviews`).
    card : Scorecard or registry (``scorecard=`` is the old name, until qakit 0.3)
    by : str or list of str, optional
        Columns of ``ratings`` to group by besides ``category`` (e.g. ``"agent_id"``); with
        ``conversations``, also columns of the conversations (e.g. ``"team"``).
    period : {"D", "W", "M", "Q", "Y"}, optional
    level, min_n : see :func:`iqs_score`.
    engine : {None, "pandas", "polars", "duckdb", "spark"} or a DuckDB connection / Spark session
        Where it runs; ``None``: the engine of ``ratings`` (see ``docs/guide/engines.md``).
    conversations : pandas.DataFrame, or conversations on the ratings' engine, optional
        Supplies the ``by`` columns the ratings lack, joined on ``conversation_id`` (a rating of a
        conversation not in the table gets a missing group); on an engine the join runs there.

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
    level = check_level(level)
    joined = _supplied(keys, _names(ratings, engine, "ratings"), conversations)
    got = on_engine(ratings, card, engine, keep=[k for k in keys if k not in joined], rows_only=True)
    if got is not None:
        _, one, _, t, lf, _, record = got
        out = MS.category_by(_joined(lf, t, conversations, joined), t, one, keys, period, level=level, min_n=min_n)
        return S.carry_records(out, record)
    if not isinstance(ratings, pd.DataFrame):
        ratings = B.to_pandas(B.resolve(ratings, "pandas", what="ratings"))
    ratings = _merged(ratings, conversations, joined)
    rows = with_score_columns(prepare(ratings, card, "UTC"))
    check_by(rows, keys, "ratings")
    rows, pkeys = with_period(rows, period, S.REVIEWED_AT)
    res = group_mean_ci(rows, S.CATEGORY_SCORE, keys + pkeys + [S.CATEGORY], S.CATEGORY_SCORE,
                        level=level, min_n=min_n, clip=(0.0, 100.0))
    return S.carry_records(res, rows)  # ids and category names normalised on the way are said


__all__ = ["iqs_score", "category_scores"]  # group_mean_ci, code_stats: internal building blocks
