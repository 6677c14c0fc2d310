"""QA operations: disputes, review coverage, reviewer strictness, daily call-centre aggregates.

The numbers QA platforms put on their own dashboards, from the tables :func:`qakit.read_export`
returns (``reviews``, ``disputes``, ``ratings``, ``calls_daily``) or from
:func:`qakit.score_reviews` output. Every result is tidy (grouping columns, ``n``, statistic,
``ci_low``/``ci_high``, ``small_sample``) and carries the itemised record of the rows it left out.

Disputes
    ``dispute_rate``: share of reviews with at least one dispute, per reviewer / agent / category
    (Wilson interval). ``dispute_outcomes``: share of decided disputes accepted (score changed),
    pending ones, time to resolve. ``iqs_after_disputes``: the IQS before and after accepted disputes
    changed the scores.
Coverage
    ``review_coverage``: reviews per agent per week against a plan (default 5), weeks without a review
    included, and the CI half-width each count buys (the arithmetic of
    :func:`qakit.stats.sample_size_plan`).
Reviewers
    ``reviewer_strictness``: each reviewer's mean deviation from what *other* reviewers gave the same
    agents (leave-one-out, agent-adjusted), its t interval, the spread of the deviations
    (consistency), and with disputes the share disputed and overturned.
Calls
    ``calls_daily_kpis``: service level, abandonment and ASA from daily aggregates, weighted by volume.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
from scipy import stats

from . import schema as S
from ._public import public
from .errors import ParameterError, check_choice, check_number
from .intervals import MIN_N, as_by, check_by, mean_ci, pooled_moments, wilson_ci, with_period
from .metrics import _contract as C
from .metrics import _groups as G
from .metrics import _source as B

# --- result column names ------------------------------------------------------------------------
N_DISPUTED = "n_disputed"
DISPUTE_RATE = "dispute_rate"
N_DECIDED = "n_decided"
N_ACCEPTED = "n_accepted"
N_PENDING = "n_pending"
ACCEPTED_RATE = "accepted_rate"
RESOLVE_TIME_H = "median_resolve_time_h"
N_CHANGED = "n_changed"
IQS_BEFORE = "iqs_before"
IQS_AFTER = "iqs_after"
CHANGE = "change"
WEEK = "week"
PLAN = "plan"
SHORTFALL = "shortfall"
UNDER_COVERED = "under_covered"
HALF_WIDTH = "half_width"
STRICTNESS = "strictness"
CONSISTENCY_SD = "consistency_sd"
N_AGENTS = "n_agents"
OVERTURN_RATE = "overturn_rate"
MEDIAN_REVIEW_TIME_S = "median_review_time_s"
KPI = "kpi"
VALUE = "value"
SERVICE_LEVEL = "service_level"
ABANDONMENT_RATE = "abandonment_rate"
ASA = "asa_s"
#: average handle time (seconds) of the daily aggregates, answered-weighted
AHT = "handle_time_s"
#: average talk time (seconds) of the daily aggregates, answered-weighted (files without an AHT column)
TALK = "talk_time_s"
PERIOD = "period"
#: default reviews per agent per week (QA vendors' seed guidance)
DEFAULT_PLAN = 5


def _ids(df: pd.DataFrame, cols: Sequence[str], *, categorical: Sequence[str] = ()) -> pd.DataFrame:
    """``df`` with the id columns ``cols`` as text, surrounding whitespace stripped (missing stays
    missing). Those also in ``categorical`` that are categoricals stay categorical: their categories
    stripped (one pass over the distinct ids, none over the rows) when that merges none, so millions
    of reviews are grouped and de-duplicated by their codes; the category order is then not text
    order (a caller sorting by such a column converts the result's column to text first)."""
    out = df.copy(deep=False)
    for c in cols:
        if c not in out.columns:
            continue
        s = out[c]
        if c in categorical and isinstance(s.dtype, pd.CategoricalDtype):
            text = pd.Index(s.cat.categories.astype("str"), dtype="str").str.strip()
            if text.is_unique:
                out[c] = s.cat.rename_categories(text)
                continue
        out[c] = s.astype("str").where(s.notna()).str.strip()
    return out


def _small(n: np.ndarray | pd.Series, min_n: int) -> np.ndarray:
    return np.asarray(n, dtype=float) < min_n


# --- disputes ------------------------------------------------------------------------------------
@public
def dispute_rate(
    reviews: pd.DataFrame,
    disputes: pd.DataFrame,
    *,
    by: str | Sequence[str] = S.REVIEWER_ID,
    ratings: pd.DataFrame | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Share of reviews disputed, per reviewer, agent, category (or any review column).

    Parameters
    ----------
    reviews : pandas.DataFrame
        One row per review: ``review_id`` and the ``by`` columns (the ``reviews`` table of
        :func:`qakit.read_export`, or :func:`qakit.score_reviews` output).
    disputes : pandas.DataFrame
        The ``disputes`` table (``dispute_id, review_id``; ``category`` for ``by="category"``).
    by : str or list of str, default="reviewer_id"
        ``"category"``: disputes naming the category / reviews that rated it (needs ``ratings``).
    ratings : pandas.DataFrame, optional
        The long ratings, for ``by="category"``.
    level : float, default=0.95
    min_n : int, default=30

    Returns
    -------
    pandas.DataFrame
        ``*by, n (reviews), n_disputed, dispute_rate, ci_low, ci_high, small_sample``; sorted by
        ``dispute_rate`` descending (the most disputed first). Disputes of reviews not in
        ``reviews`` are itemised in :func:`qakit.schema.exclusions`.

    Notes
    -----
    ``dispute_rate = reviews with >= 1 dispute / reviews`` (a review disputed twice counts once),
    Wilson interval. By category: ``reviews with a dispute naming the category / reviews with a
    rating (not N/A) in that category``.

    Examples
    --------
    >>> rv = pd.DataFrame({"review_id": ["r1", "r2", "r3", "r4"], "reviewer_id": ["q1", "q1", "q1", "q2"]})
    >>> d = pd.DataFrame({"dispute_id": ["d1", "d2"], "review_id": ["r1", "r1"]})
    >>> dispute_rate(rv, d, min_n=0)[["reviewer_id", "n", "n_disputed", "dispute_rate"]]
      reviewer_id  n  n_disputed  dispute_rate
    0          q1  3           1      0.333333
    1          q2  1           0      0.000000
    """
    keys = as_by(by)
    if not keys:
        raise ParameterError("dispute_rate needs by= (e.g. 'reviewer_id', 'agent_id' or 'category')")
    src = B.resolve(reviews, None, what="reviews")
    if src.engine != "pandas" and keys != [S.CATEGORY]:
        return _dispute_rate_on_engine(src, disputes, keys, level, min_n)
    if not isinstance(reviews, pd.DataFrame):
        reviews = B.to_pandas(src)
    for t, name, need in ((reviews, "reviews", [S.REVIEW_ID]), (disputes, "disputes", [S.REVIEW_ID])):
        check_by(t, need, name)
    rv = _ids(reviews, [S.REVIEW_ID]).drop_duplicates(S.REVIEW_ID)
    d = _ids(disputes, [S.REVIEW_ID])
    orphan = ~d[S.REVIEW_ID].isin(set(rv[S.REVIEW_ID]))
    disputed = set(d.loc[~orphan, S.REVIEW_ID])
    if keys == [S.CATEGORY]:
        if ratings is None:
            raise ParameterError("dispute_rate(by='category') needs ratings= (which reviews rated each category)")
        check_by(d, [S.CATEGORY], "disputes")
        r = _ids(ratings, [S.REVIEW_ID])
        r = r[r[S.RATING].notna() & r[S.REVIEW_ID].isin(set(rv[S.REVIEW_ID]))][[S.REVIEW_ID, S.CATEGORY]]
        named = (d.loc[~orphan, [S.REVIEW_ID, S.CATEGORY]].dropna()
                 .assign(**{S.CATEGORY: lambda x: x[S.CATEGORY].astype("str").str.split(";")})
                 .explode(S.CATEGORY))
        named[S.CATEGORY] = named[S.CATEGORY].str.strip()
        pairs = set(zip(named[S.REVIEW_ID], named[S.CATEGORY]))
        base = r.drop_duplicates().assign(_k=[(a, b) in pairs for a, b in zip(r[S.REVIEW_ID], r[S.CATEGORY])]
                                          if len(r) else [])
    else:
        check_by(rv, keys, "reviews")
        base = rv.assign(_k=rv[S.REVIEW_ID].isin(disputed))
    g = base.assign(_one=1).groupby(keys, sort=True, observed=True, dropna=False).agg(
        **{S.N: ("_one", "sum"), N_DISPUTED: ("_k", "sum")}).reset_index()
    return _dispute_rates(g, keys, d, orphan, level, min_n)


def _dispute_rates(g: pd.DataFrame, keys: list[str], d: pd.DataFrame, orphan: pd.Series, level: float,
                   min_n: int) -> pd.DataFrame:
    """:func:`dispute_rate` from per-group counts ``n`` (reviews) and ``n_disputed``, whatever counted them."""
    n, k = g[S.N].to_numpy(dtype=float), g[N_DISPUTED].to_numpy(dtype=float)
    lo, hi = wilson_ci(k, n, level=level)
    g[DISPUTE_RATE] = k / n
    g[S.CI_LOW], g[S.CI_HIGH] = lo, hi
    g[S.SMALL_SAMPLE] = _small(n, min_n)
    g[S.N] = g[S.N].astype("int64")
    g[N_DISPUTED] = g[N_DISPUTED].astype("int64")
    g = g.sort_values([DISPUTE_RATE] + keys, ascending=[False] + [True] * len(keys)).reset_index(drop=True)
    res = g[keys + [S.N, N_DISPUTED, DISPUTE_RATE, S.CI_LOW, S.CI_HIGH, S.SMALL_SAMPLE]]
    key = S.DISPUTE_ID if S.DISPUTE_ID in d.columns else S.REVIEW_ID
    S.add_exclusion(res, "dispute of a review not in reviews", S.REVIEW_ID, d.loc[orphan, key])
    return res


def _reviews_on_engine(src: B.Source, keys: list[str], reads: tuple[str, ...] = ()) -> C.Table:
    """Reviews (or scores) that live on an engine, checked by the scores contract on ``review_id``,
    ``reads`` and the ``keys`` (a missing key named as on pandas)."""
    t = C.validated(src, "scores", reads=(S.REVIEW_ID, *reads), optional=tuple(keys))
    G.check_keys(t, keys, "reviews")
    return t


def _dispute_rate_on_engine(src: B.Source, disputes: pd.DataFrame, keys: list[str], level: float,
                            min_n: int) -> pd.DataFrame:
    """:func:`dispute_rate` of reviews that live on an engine: per group the reviews and the disputed
    ones counted there in one pass (the disputed review ids, a small table, go to the engine), and
    the disputes whose review is not there found by one semi-join."""
    t = _reviews_on_engine(src, keys)
    check_by(disputes, [S.REVIEW_ID], "disputes")
    d = _ids(disputes, [S.REVIEW_ID])
    right = B.lazy_frame(pd.DataFrame({S.REVIEW_ID: pd.unique(d[S.REVIEW_ID].dropna().astype("str")), "_k": 1}),
                         t.engine, t.con)
    lf = t.lf.with_columns(nw.col(S.REVIEW_ID).cast(nw.String))
    found = set(B.collect(right.join(lf.select(S.REVIEW_ID), on=S.REVIEW_ID, how="semi").select(S.REVIEW_ID))[S.REVIEW_ID])
    orphan = ~d[S.REVIEW_ID].isin(found)
    flagged = lf.join(right, on=S.REVIEW_ID, how="left").with_columns(nw.col("_k").fill_null(0))
    g = G.aggregate(flagged, keys, {S.N: G.n_rows(), N_DISPUTED: G.agg("sum", nw.col("_k"))})
    return _dispute_rates(g, keys, d, orphan, level, min_n)


@public
def dispute_outcomes(
    disputes: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    reviews: pd.DataFrame | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Accepted (score changed) vs rejected disputes, pending ones, and the time to resolve.

    Parameters
    ----------
    disputes : pandas.DataFrame
        ``dispute_id, review_id, created_at``, ``accepted`` (True / False / missing = pending),
        optional ``resolved_at``, ``category``.
    by : str or list of str, optional
        Dispute columns, or review columns (``reviewer_id``, ``agent_id``) when ``reviews`` is given.
    reviews : pandas.DataFrame, optional
        Joined on ``review_id`` to group by reviewer or agent.

    Returns
    -------
    pandas.DataFrame
        ``*by, n (disputes), n_decided, n_accepted, n_pending, accepted_rate, ci_low, ci_high,
        median_resolve_time_h, small_sample``. ``accepted_rate`` = accepted / decided (Wilson;
        ``small_sample`` on the decided count); ``median_resolve_time_h`` over disputes with both
        timestamps (no interval).

    Examples
    --------
    >>> d = pd.DataFrame({"dispute_id": ["d1", "d2", "d3"], "review_id": ["r1", "r2", "r3"],
    ...     "created_at": ["2026-11-02 09:00"] * 3, "resolved_at": ["2026-11-02 13:00", "2026-11-03 09:00", None],
    ...     "accepted": [True, False, None]})
    >>> dispute_outcomes(d, min_n=0)[["n", "n_decided", "accepted_rate", "median_resolve_time_h"]]
       n  n_decided  accepted_rate  median_resolve_time_h
    0  3          2            0.5                   14.0
    """
    keys = as_by(by)
    check_by(disputes, [S.REVIEW_ID], "disputes")
    d = _ids(disputes, [S.REVIEW_ID])
    if reviews is not None:
        rv = _ids(reviews, [S.REVIEW_ID]).drop_duplicates(S.REVIEW_ID)
        cols = [c for c in keys if c in rv.columns and c not in d.columns]
        d = d.merge(rv[[S.REVIEW_ID] + cols], on=S.REVIEW_ID, how="left")
    check_by(d, keys, "disputes")
    acc = d[S.ACCEPTED] if S.ACCEPTED in d.columns else pd.Series(pd.NA, index=d.index)
    t = acc.astype("str").str.strip().str.casefold().where(acc.notna())
    yes, no = t.isin(S._TRUE), t.isin(S._FALSE)
    hours = pd.Series(np.nan, index=d.index)
    if S.RESOLVED_AT in d.columns and S.CREATED_AT in d.columns:
        a = S.parse_datetimes(d[S.CREATED_AT], column=S.CREATED_AT) if not isinstance(
            d[S.CREATED_AT].dtype, pd.DatetimeTZDtype) else d[S.CREATED_AT]
        b = S.parse_datetimes(d[S.RESOLVED_AT], column=S.RESOLVED_AT) if not isinstance(
            d[S.RESOLVED_AT].dtype, pd.DatetimeTZDtype) else d[S.RESOLVED_AT]
        hours = (b - a).dt.total_seconds() / 3600
    x = d.assign(_one=1, _dec=(yes | no).astype(int), _acc=yes.astype(int), _h=hours)
    agg = dict(**{S.N: ("_one", "sum"), N_DECIDED: ("_dec", "sum"), N_ACCEPTED: ("_acc", "sum"),
                  RESOLVE_TIME_H: ("_h", "median")})
    g = (x.groupby(keys, sort=True, observed=True, dropna=False).agg(**agg).reset_index() if keys
         else pd.DataFrame([{k: x[c].agg(f) for k, (c, f) in agg.items()}]))
    g[N_PENDING] = g[S.N] - g[N_DECIDED]
    n, k = g[N_DECIDED].to_numpy(dtype=float), g[N_ACCEPTED].to_numpy(dtype=float)
    lo, hi = wilson_ci(k, n, level=level)
    with np.errstate(invalid="ignore", divide="ignore"):
        g[ACCEPTED_RATE] = np.where(n > 0, k / n, np.nan)
    g[S.CI_LOW], g[S.CI_HIGH] = lo, hi
    g[S.SMALL_SAMPLE] = _small(n, min_n)
    for c in (S.N, N_DECIDED, N_ACCEPTED, N_PENDING):
        g[c] = g[c].astype("int64")
    res = g[keys + [S.N, N_DECIDED, N_ACCEPTED, N_PENDING, ACCEPTED_RATE, S.CI_LOW, S.CI_HIGH, RESOLVE_TIME_H,
                    S.SMALL_SAMPLE]]
    key = d[S.DISPUTE_ID] if S.DISPUTE_ID in d.columns else d[S.REVIEW_ID]
    S.add_exclusion(res, "dispute not decided yet (pending): not in accepted_rate", S.ACCEPTED, key[~(yes | no)])
    return res

def _check_scores(frame: pd.DataFrame, column: str, table: str, *, unique: bool) -> None:
    """Review scores (percent) under the scores contract, for a score column of any name (``iqs``,
    ``vendor_score``, ``score_after``): finite, >= 0, and a review listed once (``unique``)."""
    if column not in frame.columns or frame.empty:
        return
    spec = S.Table(table, (S.Column(S.REVIEW_ID, "id", required=False, nullable=True),
                           S.Column(column, "float", nullable=True, min=0)),
                   unique=(S.REVIEW_ID,) if unique else (), row_id=S.REVIEW_ID)
    S.validate(frame, spec)




@public
def iqs_after_disputes(
    scores: pd.DataFrame,
    disputes: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    score: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """The IQS before and after accepted disputes changed review scores.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per review with a score: :func:`qakit.score_reviews` output (``iqs``) or the
        ``reviews`` table (``vendor_score``).
    disputes : pandas.DataFrame
        ``review_id, accepted, score_after`` (the review's score once the dispute was accepted).
    score : str, optional
        The score column; default ``iqs`` when present, else ``vendor_score``.

    Returns
    -------
    pandas.DataFrame
        ``*by, n (scored reviews), n_changed, iqs_before, iqs_after, change, ci_low, ci_high,
        small_sample``; ``change = iqs_after - iqs_before`` with a paired t interval over the
        group's reviews (unchanged reviews contribute 0). Accepted disputes without a
        ``score_after`` are itemised.

    Notes
    -----
    ``iqs_after`` replaces each accepted dispute's review score by its ``score_after`` (the last
    accepted dispute of a review wins). The interval treats reviews as independent.

    Examples
    --------
    >>> s = pd.DataFrame({"review_id": ["r1", "r2", "r3", "r4"], "iqs": [50.0, 80, 90, 100]})
    >>> d = pd.DataFrame({"dispute_id": ["d1"], "review_id": ["r1"], "accepted": [True], "score_after": [70.0]})
    >>> iqs_after_disputes(s, d, min_n=0)[["n", "n_changed", "iqs_before", "iqs_after", "change"]]
       n  n_changed  iqs_before  iqs_after  change
    0  4          1        80.0       85.0     5.0
    """
    keys = as_by(by)
    src = B.resolve(scores, None, what="scores")
    on_engine = src.engine != "pandas" and score in (None, S.IQS)
    if on_engine:  # (per group n and sum of the scores there; only the disputed reviews' rows leave it)
        t = _reviews_on_engine(src, keys, reads=(S.IQS,))
        col = S.IQS
    else:
        if not isinstance(scores, pd.DataFrame):
            scores = B.to_pandas(src)
        col = score or (S.IQS if S.IQS in scores.columns else S.VENDOR_SCORE)
        check_by(scores, [S.REVIEW_ID, col] + keys, "scores")
        _check_scores(scores, col, "scores", unique=True)
    check_by(disputes, [S.REVIEW_ID, S.ACCEPTED], "disputes")
    _check_scores(disputes, S.SCORE_AFTER, "disputes", unique=False)
    d = _ids(disputes, [S.REVIEW_ID])
    acc = _accepted(d)
    after = pd.to_numeric(d[S.SCORE_AFTER], errors="coerce") if S.SCORE_AFTER in d.columns else pd.Series(np.nan, index=d.index)
    key = d[S.DISPUTE_ID] if S.DISPUTE_ID in d.columns else d[S.REVIEW_ID]
    no_after = acc & after.isna()
    # (disputes of reviews not in the scores drop out where the changed reviews are joined below)
    use = acc & after.notna() & d[S.REVIEW_ID].notna()
    if S.CREATED_AT in d.columns:
        d = d.assign(_t=S.parse_datetimes(d[S.CREATED_AT], column=S.CREATED_AT)
                     if not isinstance(d[S.CREATED_AT].dtype, pd.DatetimeTZDtype) else d[S.CREATED_AT])
    else:
        d = d.assign(_t=pd.Series(np.arange(len(d)), index=d.index))
    last = d[use].assign(_after=after[use]).sort_values("_t", kind="stable").drop_duplicates(S.REVIEW_ID, keep="last")
    last = last[[S.REVIEW_ID, "_after"]].astype({S.REVIEW_ID: "str"})
    if on_engine:
        lf = t.lf.with_columns(nw.col(S.REVIEW_ID).cast(nw.String), nw.col(S.IQS).cast(nw.Float64).alias("_b"))
        scored = lf.filter(~nw.col("_b").is_null())
        tot = G.aggregate(scored, keys, {S.N: G.n_rows(), "_sb": G.agg("sum", nw.col("_b"))})
        changed = B.collect(scored.join(B.lazy_frame(last, t.engine, t.con), on=S.REVIEW_ID, how="inner").select(*keys, "_b", "_after"))
        unscored_ids = B.collect(lf.filter(nw.col("_b").is_null()).select(S.REVIEW_ID))[S.REVIEW_ID]
    else:
        s = _ids(scores, [S.REVIEW_ID])
        s = s.assign(_b=pd.to_numeric(s[col], errors="coerce"))
        unscored = s["_b"].isna()
        unscored_ids = s.loc[unscored, S.REVIEW_ID]
        s = s[~unscored]
        tot = (s.assign(_one=1).groupby(keys, sort=True, observed=True, dropna=False)
               .agg(**{S.N: ("_one", "sum"), "_sb": ("_b", "sum")}).reset_index() if keys
               else pd.DataFrame([{S.N: len(s), "_sb": s["_b"].sum()}]))
        changed = s[keys + [S.REVIEW_ID, "_b"]].astype({S.REVIEW_ID: "str"}).merge(last, on=S.REVIEW_ID, how="inner")
    res = _changes_after_disputes(tot, changed, keys, level, min_n)
    S.add_exclusion(res, "accepted dispute without score_after: its change is unknown", S.SCORE_AFTER, key[no_after])
    S.add_exclusion(res, "review without a score", col, _in_id_order(unscored_ids))
    return res


def _changes_after_disputes(tot: pd.DataFrame, changed: pd.DataFrame, keys: list[str], level: float,
                            min_n: int) -> pd.DataFrame:
    """:func:`iqs_after_disputes` from per-group ``n`` and sum ``_sb`` of the scored reviews and the
    changed reviews' rows (``keys``, score before ``_b``, after ``_after``), whatever computed them.

    Notes
    -----
    With ``d_i = after_i - before_i`` (0 for a review no accepted dispute changed): ``iqs_before =
    S_b / n``, ``change = sum d / n``, ``iqs_after = (S_b + sum d) / n``, and the sd of the ``d_i``
    ``sqrt((sum d^2 - n change^2) / (n - 1))`` -- sums over the changed reviews only.
    """
    ch = changed.assign(_d=changed["_after"].astype(float) - changed["_b"].astype(float))
    ch = ch.assign(_d2=ch["_d"] ** 2, _one=1)
    if keys:
        per = ch.groupby(keys, sort=True, observed=True, dropna=False).agg(
            **{N_CHANGED: ("_one", "sum"), "_sd1": ("_d", "sum"), "_sd2": ("_d2", "sum")}).reset_index()
        g = G.merge_on_keys(tot, per, keys)
    else:
        g = tot.assign(**{N_CHANGED: len(ch), "_sd1": ch["_d"].sum(), "_sd2": ch["_d2"].sum()})
    for c in (N_CHANGED, "_sd1", "_sd2"):
        g[c] = pd.to_numeric(g[c]).fillna(0)
    n = g[S.N].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        g[IQS_BEFORE] = g["_sb"].to_numpy(dtype=float) / n
        g[CHANGE] = g["_sd1"].to_numpy(dtype=float) / n
        g[IQS_AFTER] = (g["_sb"].to_numpy(dtype=float) + g["_sd1"].to_numpy(dtype=float)) / n
        m2 = np.maximum(g["_sd2"].to_numpy(dtype=float) - n * g[CHANGE].to_numpy(dtype=float) ** 2, 0.0)
        sd = np.where(n >= 2, np.sqrt(m2 / (n - 1)), np.nan)
    lo, hi = mean_ci(g[CHANGE].to_numpy(dtype=float), sd, n, level=level)
    g[S.CI_LOW], g[S.CI_HIGH] = lo, hi
    g[S.SMALL_SAMPLE] = _small(n, min_n)
    g[S.N], g[N_CHANGED] = g[S.N].astype("int64"), g[N_CHANGED].astype("int64")
    g = G.sort_groups(g, keys) if keys else g
    return g[keys + [S.N, N_CHANGED, IQS_BEFORE, IQS_AFTER, CHANGE, S.CI_LOW, S.CI_HIGH, S.SMALL_SAMPLE]].reset_index(drop=True)


# --- coverage ------------------------------------------------------------------------------------
@public
def review_coverage(
    reviews: pd.DataFrame,
    *,
    plan: float = DEFAULT_PLAN,
    agents: Sequence[str] | None = None,
    sd: float | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Reviews per agent per week against a plan, and the CI half-width each count buys.

    Parameters
    ----------
    reviews : pandas.DataFrame
        One row per review: ``review_id, agent_id, reviewed_at`` (and ``iqs`` or ``vendor_score``
        for the spread unless ``sd`` is given).
    plan : float, default=5
        Reviews per agent per week.
    agents : list of str, optional
        The full roster: agents never reviewed appear with 0 every week. Default: the agents seen.
    sd : float, optional
        Planning standard deviation of review scores (IQS points); default the sample sd of the
        scores in ``reviews``.
    level : float, default=0.95

    Returns
    -------
    pandas.DataFrame
        ``agent_id, week (Monday), n, plan, shortfall, under_covered, half_width``; every agent x
        every week from the first to the last review (weeks without a review: n 0).
        ``half_width`` is the CI half-width (IQS points) the week's n reviews give an agent's
        mean: ``t_{(1+level)/2, n-1} * sd / sqrt(n)`` (NaN below 2 reviews), the inverse of
        :func:`qakit.stats.sample_size_plan`. Reviews without a timestamp are itemised.

    Examples
    --------
    >>> rv = pd.DataFrame({"review_id": ["r1", "r2", "r3"], "agent_id": ["a", "a", "b"],
    ...     "reviewed_at": ["2026-11-02", "2026-11-04", "2026-11-10"]})
    >>> review_coverage(rv, plan=2, sd=10)[["agent_id", "week", "n", "shortfall", "under_covered"]]
      agent_id       week  n  shortfall  under_covered
    0        a 2026-11-02  2        0.0          False
    1        a 2026-11-09  0        2.0           True
    2        b 2026-11-02  0        2.0           True
    3        b 2026-11-09  1        1.0           True
    """
    check_number("plan", plan, low=0, low_open=True)
    check_number("sd", sd, low=0, low_open=True, none=True)
    src = B.resolve(reviews, None, what="reviews")
    if src.engine != "pandas":  # (on the engine: only the (agent, week) counts and the spread leave it)
        placed, sd, unplaced = _coverage_counts_on_engine(src, sd)
    else:
        check_by(reviews, [S.REVIEW_ID, S.AGENT_ID, S.REVIEWED_AT], "reviews")
        rv = _ids(reviews, [S.REVIEW_ID, S.AGENT_ID], categorical=[S.REVIEW_ID]).drop_duplicates(S.REVIEW_ID)
        t = rv[S.REVIEWED_AT]
        t = t if isinstance(t.dtype, pd.DatetimeTZDtype) else S.parse_datetimes(t, column=S.REVIEWED_AT)
        if sd is None:
            sd = float(pd.to_numeric(rv[_coverage_score(rv.columns)], errors="coerce").std())
        week = t.dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time
        ok = t.notna() & rv[S.AGENT_ID].notna()
        placed = (pd.DataFrame({S.AGENT_ID: rv.loc[ok, S.AGENT_ID], WEEK: week[ok]})
                  .groupby([S.AGENT_ID, WEEK]).size().rename(S.N).reset_index())
        unplaced = rv.loc[~ok, S.REVIEW_ID]
    # every agent seen (or on the roster) x every week from the first to the last review
    roster = sorted(set(placed[S.AGENT_ID].astype("str")) | set(map(str, agents or [])))
    if len(placed):
        weeks = pd.date_range(placed[WEEK].min(), placed[WEEK].max(), freq="7D")
    else:
        weeks = pd.DatetimeIndex([])
    grid = pd.MultiIndex.from_product([roster, weeks], names=[S.AGENT_ID, WEEK])
    counts = placed.assign(**{S.AGENT_ID: placed[S.AGENT_ID].astype("str")}).set_index([S.AGENT_ID, WEEK])[S.N]
    res = counts.reindex(grid, fill_value=0).rename(S.N).reset_index()
    n = res[S.N].to_numpy(dtype=float)
    res[PLAN] = float(plan)
    res[SHORTFALL] = np.maximum(float(plan) - n, 0.0)
    res[UNDER_COVERED] = n < float(plan)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf((1 + level) / 2, n - 1) * sd / np.sqrt(n)
    res[HALF_WIDTH] = np.where(n >= 2, half, np.nan)
    res[S.N] = res[S.N].astype("int64")
    S.add_exclusion(res, "review without reviewed_at or agent_id: not placed in a week", S.REVIEWED_AT,
                    _in_id_order(unplaced))
    return res


def _coverage_score(columns) -> str:
    """The score column whose spread plans the coverage: ``iqs``, else ``vendor_score``."""
    col = S.IQS if S.IQS in columns else (S.VENDOR_SCORE if S.VENDOR_SCORE in columns else None)
    if col is None:
        raise ParameterError("review_coverage needs sd= or a score column ('iqs' or 'vendor_score') in reviews")
    return col


def _coverage_counts_on_engine(src: B.Source, sd: float | None) -> tuple[pd.DataFrame, float, pd.Series]:
    """:func:`review_coverage`'s counts of reviews that live on an engine: ``(agent_id, week, n)`` of
    the reviews with a time and an agent (weeks from Monday, UTC), the sd of the scores (unless
    given), and the ids of the reviews not placed in a week -- what the pandas path counts, computed
    where the reviews are."""
    t = C.validated(src, "scores", reads=(S.REVIEW_ID, S.AGENT_ID), optional=(S.REVIEWED_AT, S.IQS, S.VENDOR_SCORE))
    score = _coverage_score(t.columns) if sd is None else None
    G.check_keys(t, [S.REVIEWED_AT], "reviews")  # (the pandas path's message: check_by's)
    ok = ~nw.col(S.REVIEWED_AT).is_null() & ~nw.col(S.AGENT_ID).is_null()
    lf, pkeys = G.with_period(t.lf.filter(ok), t.engine, "W", S.REVIEWED_AT, t.columns)
    placed = G.aggregate(lf, [S.AGENT_ID, *pkeys], {S.N: G.n_rows()}, period="W").rename(columns={pkeys[0]: WEEK})
    placed[WEEK] = pd.to_datetime(placed[WEEK])
    if placed[WEEK].dt.tz is not None:
        placed[WEEK] = placed[WEEK].dt.tz_convert("UTC").dt.tz_localize(None)
    if sd is None:
        sd = float(G.aggregate(t.lf, [], {"__sd": G.agg("std", nw.col(score).cast(nw.Float64))})["__sd"].iloc[0])
    unplaced = B.collect(t.lf.filter(~ok).select(nw.col(S.REVIEW_ID).cast(nw.String)))[S.REVIEW_ID]
    return placed, sd, unplaced


def _in_id_order(ids: pd.Series) -> list[str]:
    """Review ids to itemise, as text in id order: the same list (and the same example ids in a report)
    whether the reviews were a pandas frame or scanned by an engine, whose scan has no row order."""
    return sorted(pd.Series(ids, dtype=object).astype("str").tolist())


# --- reviewers -----------------------------------------------------------------------------------
@public
def reviewer_strictness(
    scores: pd.DataFrame,
    *,
    disputes: pd.DataFrame | None = None,
    score: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Grade the grader from everyday reviews: how much lower or higher each reviewer scores the
    same agents than the other reviewers do.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per review: ``review_id, agent_id, reviewer_id`` and a score (``iqs`` from
        :func:`qakit.score_reviews`, or ``vendor_score``); ``review_time_s`` used when present.
    disputes : pandas.DataFrame, optional
        Adds the share of each reviewer's reviews disputed and overturned (accepted disputes).
    score : str, optional
        Score column; default ``iqs`` when present, else ``vendor_score``.

    Returns
    -------
    pandas.DataFrame
        ``reviewer_id, n (reviews compared), n_agents, strictness, ci_low, ci_high,
        consistency_sd, small_sample`` [``, dispute_rate, overturn_rate``] [``,
        median_review_time_s``]; sorted by ``strictness`` (strictest first).

    Notes
    -----
    Leave-one-out, agent-adjusted: for review ``i`` of agent ``a`` by reviewer ``r``,
    ``d_i = score_i - mean(scores of agent a by reviewers other than r)``; ``strictness`` is the
    reviewer's mean ``d_i`` (negative = stricter than colleagues on the same agents) with a t
    interval; ``consistency_sd`` is the sd of ``d_i`` (lower = steadier). Reviews of agents no
    other reviewer scored cannot be compared and are itemised. The interval treats the
    deviations as independent (they share agents' reference means), so it is approximate;
    ``small_sample`` marks reviewers under ``min_n`` compared reviews.

    Examples
    --------
    >>> s = pd.DataFrame({"review_id": list("abcdef"), "agent_id": ["x", "x", "x", "y", "y", "z"],
    ...     "reviewer_id": ["q1", "q2", "q2", "q1", "q2", "q1"], "iqs": [60.0, 80, 90, 70, 90, 50]})
    >>> # q1: 60 - 85 (q2 on x), 70 - 90 (q2 on y) -> -22.5; q2: 80-60, 90-60, 90-70 -> 23.33; z: q1 only
    >>> reviewer_strictness(s, min_n=0)[["reviewer_id", "n", "strictness"]]
      reviewer_id  n  strictness
    0          q1  2  -22.500000
    1          q2  3   23.333333
    """
    src = B.resolve(scores, None, what="scores")
    if src.engine != "pandas" and score in (None, S.IQS):
        pairs, reviews, medians, unscored, alone_ids, col = _strictness_parts_on_engine(src)
    else:
        if not isinstance(scores, pd.DataFrame):  # (another score column on an engine: checked and read by pandas)
            scores = B.to_pandas(src)
        pairs, reviews, medians, unscored, alone_ids, col = _strictness_parts(scores, score)
    g, alone = _strictness_from_pairs(pairs, level, min_n)
    cols = [S.REVIEWER_ID, S.N, N_AGENTS, STRICTNESS, S.CI_LOW, S.CI_HIGH, CONSISTENCY_SD, S.SMALL_SAMPLE]
    if disputes is not None:
        g = _with_dispute_rates(g, scores if reviews is None else reviews, disputes)
        cols += [DISPUTE_RATE, OVERTURN_RATE]
    if medians is not None:
        g = g.merge(medians, on=S.REVIEWER_ID, how="left")
        cols += [MEDIAN_REVIEW_TIME_S]
    res = g.sort_values([STRICTNESS, S.REVIEWER_ID]).reset_index(drop=True)[cols]
    S.add_exclusion(res, "review without a score, agent or reviewer", col, _in_id_order(unscored))
    S.add_exclusion(res, ALONE, S.AGENT_ID, _in_id_order(alone_ids(alone)))
    return res


def _strictness_parts(scores: pd.DataFrame, score: str | None):
    """:func:`reviewer_strictness`' inputs from a pandas table: the per-(agent, reviewer) ``n, _sum,
    _var`` of the scores, the checked reviews (for the dispute rates), the median review time per
    reviewer (or None), the unscored reviews' ids, a function giving the ids of the reviews of given
    (agent, reviewer) pairs, and the score column."""
    col = score or (S.IQS if S.IQS in scores.columns else S.VENDOR_SCORE)
    check_by(scores, [S.REVIEW_ID, S.AGENT_ID, S.REVIEWER_ID, col], "scores")
    _check_scores(scores, col, "scores", unique=True)
    ids = [S.REVIEW_ID, S.AGENT_ID, S.REVIEWER_ID]
    s = _ids(scores, ids, categorical=ids).drop_duplicates(S.REVIEW_ID)
    s = s.assign(_x=pd.to_numeric(s[col], errors="coerce"))
    unscored = s["_x"].isna() | s[S.AGENT_ID].isna() | s[S.REVIEWER_ID].isna()
    v = s[~unscored]
    g = v.groupby([S.AGENT_ID, S.REVIEWER_ID], observed=True, sort=False)["_x"]
    pairs = pd.concat([g.size().rename(S.N), g.sum().rename("_sum"), g.var().rename("_var")], axis=1).reset_index()
    medians = None
    if S.REVIEW_TIME_S in s.columns:
        rt = s.groupby(S.REVIEWER_ID, observed=True)[S.REVIEW_TIME_S].agg(
            lambda x: pd.to_numeric(x, errors="coerce").median())
        medians = rt.rename(MEDIAN_REVIEW_TIME_S).reset_index().astype({S.REVIEWER_ID: "str"})

    def alone_ids(alone: pd.DataFrame) -> pd.Series:
        lone = pd.MultiIndex.from_frame(alone[[S.AGENT_ID, S.REVIEWER_ID]].astype("str"))
        pair = pd.MultiIndex.from_arrays([v[S.AGENT_ID].astype("str"), v[S.REVIEWER_ID].astype("str")])
        return v.loc[pair.isin(lone), S.REVIEW_ID]
    return pairs, s, medians, s.loc[unscored, S.REVIEW_ID], alone_ids, col


#: why a review is left out of :func:`reviewer_strictness`' comparison
ALONE = "agent scored by this reviewer only: nothing to compare with"


def _accepted(d: pd.DataFrame) -> pd.Series:
    """Whether each dispute was accepted (overturned the score)."""
    return (d[S.ACCEPTED].astype("str").str.strip().str.casefold().isin(S._TRUE) & d[S.ACCEPTED].notna()
            if S.ACCEPTED in d.columns else pd.Series(False, index=d.index))


def _strictness_from_pairs(pairs: pd.DataFrame, level: float, min_n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reviewers' strictness from per-(agent, reviewer) statistics of the scores -- ``n``, ``_sum``
    and ``_var`` (ddof=1, NaN for one review) -- whatever computed them (pandas, or the engine the
    scores live on): ``(per reviewer: reviewer_id, n, n_agents, strictness, ci_low, ci_high,
    consistency_sd, small_sample; the (agent, reviewer) pairs with no other reviewer of the agent)``.

    Notes
    -----
    The reference of review ``i`` of agent ``a`` by ``r`` is the same for every review of the pair:
    ``ref_ar = (S_a - S_ar) / (n_a - n_ar)``, so ``d_i = x_i - ref_ar`` has pair mean
    ``mean_ar - ref_ar`` and the pair's own sum of squares ``(n_ar - 1) var_ar``. Per reviewer,
    ``strictness`` is the mean of the ``d_i`` (``sum_a n_ar (mean_ar - ref_ar) / sum_a n_ar``) and
    its sd pools the pairs (Chan et al.): ``M2 = sum_a [(n_ar - 1) var_ar + n_ar (mean_ar - ref_ar -
    strictness)^2]``, ``consistency_sd = sqrt(M2 / (n - 1))``.
    """
    n = pairs[S.N].to_numpy(dtype=float)
    tot = pairs[["_sum"]].assign(_n=n, _a=pairs[S.AGENT_ID].astype("str")).groupby("_a", sort=False)[["_sum", "_n"]]
    sum_a = tot.transform("sum")
    others = sum_a["_n"].to_numpy() - n
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = (sum_a["_sum"].to_numpy() - pairs["_sum"].to_numpy(dtype=float)) / others
        dm = pairs["_sum"].to_numpy(dtype=float) / n - ref
    comp = others > 0
    m2 = np.where(n > 1, pairs["_var"].to_numpy(dtype=float) * (n - 1), 0.0)
    c = pd.DataFrame({S.REVIEWER_ID: pairs[S.REVIEWER_ID].astype("str").to_numpy()[comp], "n": n[comp],
                      "mean": dm[comp], "m2": m2[comp]})
    p = pooled_moments(c, S.REVIEWER_ID)
    g = pd.DataFrame({S.N: p["n"], N_AGENTS: c.groupby(S.REVIEWER_ID, sort=True).size(), STRICTNESS: p["mean"],
                      CONSISTENCY_SD: np.sqrt(p["var"])}).reset_index()
    g[S.N] = g[S.N].astype("int64")
    g[N_AGENTS] = g[N_AGENTS].astype("int64")
    lo, hi = mean_ci(g[STRICTNESS].to_numpy(dtype=float), g[CONSISTENCY_SD].to_numpy(dtype=float),
                     g[S.N].to_numpy(dtype=float), level=level)
    g[S.CI_LOW], g[S.CI_HIGH] = lo, hi
    g[S.SMALL_SAMPLE] = _small(g[S.N], min_n)
    return g, pairs.loc[~comp, [S.AGENT_ID, S.REVIEWER_ID]]


def _with_dispute_rates(g: pd.DataFrame, reviews: Any, disputes: pd.DataFrame) -> pd.DataFrame:
    """``g`` (one row per reviewer) with each reviewer's share of reviews disputed and overturned
    (accepted disputes): :func:`dispute_rate` by reviewer of all the disputes and of the accepted
    ones, on the engine ``reviews`` live on."""
    check_by(disputes, [S.REVIEW_ID], "disputes")
    d = _ids(disputes, [S.REVIEW_ID])
    rates = []
    for name, part in ((DISPUTE_RATE, d), (OVERTURN_RATE, d[_accepted(d).to_numpy()])):
        r = dispute_rate(reviews, part, by=S.REVIEWER_ID, min_n=0)
        r = r[r[S.REVIEWER_ID].notna()]
        rates.append(pd.DataFrame({S.REVIEWER_ID: r[S.REVIEWER_ID].astype("str").to_numpy(),
                                   name: r[DISPUTE_RATE].to_numpy(dtype=float)}))
    return g.merge(rates[0].merge(rates[1], on=S.REVIEWER_ID, how="outer"), on=S.REVIEWER_ID, how="left")


def _strictness_parts_on_engine(src: B.Source):
    """:func:`_strictness_parts` of review scores that live on an engine: the per-(agent, reviewer)
    n, sum and variance of ``iqs`` and the median review time per reviewer computed there; only
    per-group statistics and the itemised review ids leave it (the dispute rates are counted there
    too, by :func:`dispute_rate`)."""
    t = C.validated(src, "scores", reads=(S.REVIEW_ID, S.AGENT_ID, S.REVIEWER_ID, S.IQS),
                    optional=(S.REVIEW_TIME_S,))
    x = nw.col(S.IQS).cast(nw.Float64)
    ok = ~nw.col(S.IQS).is_null() & ~nw.col(S.AGENT_ID).is_null() & ~nw.col(S.REVIEWER_ID).is_null()
    lf = t.lf.with_columns(nw.col(S.AGENT_ID).cast(nw.String), nw.col(S.REVIEWER_ID).cast(nw.String))
    pairs = G.aggregate(lf.filter(ok), [S.AGENT_ID, S.REVIEWER_ID],
                        {S.N: G.n_rows(), "_sum": G.agg("sum", x), "_sd": G.agg("std", x)})
    pairs["_var"] = pd.to_numeric(pairs.pop("_sd"), errors="coerce") ** 2
    medians = None
    if S.REVIEW_TIME_S in t.columns:
        medians = B.collect(lf.filter(~nw.col(S.REVIEWER_ID).is_null()).group_by(S.REVIEWER_ID).agg(
            nw.col(S.REVIEW_TIME_S).cast(nw.Float64).median().alias(MEDIAN_REVIEW_TIME_S))).astype({S.REVIEWER_ID: "str"})
    rid = nw.col(S.REVIEW_ID).cast(nw.String)

    def alone_ids(alone: pd.DataFrame) -> pd.Series:
        if not len(alone):
            return pd.Series([], dtype="str")
        lone = B.lazy_frame(alone.astype("str"), t.engine, t.con)
        return B.collect(lf.filter(ok).join(lone, on=[S.AGENT_ID, S.REVIEWER_ID], how="semi").select(rid))[S.REVIEW_ID]
    return pairs, None, medians, B.collect(lf.filter(~ok).select(rid))[S.REVIEW_ID], alone_ids, S.IQS


# --- daily call-centre aggregates ---------------------------------------------------------------------
@public
def calls_daily_kpis(
    calls_daily: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Service level, abandonment and ASA from daily aggregates, weighted by call volume.

    Parameters
    ----------
    calls_daily : pandas.DataFrame
        The ``calls_daily`` table (``date, queue, offered, answered, abandoned, answered_within,
        asa_s``).
    by : str or list of str, optional
        E.g. ``"queue"``.
    period : {"D", "W", "M", "Q", "Y"}, optional

    Returns
    -------
    pandas.DataFrame
        ``*by, [period], kpi, n, value, ci_low, ci_high, small_sample``: ``service_level``
        (proportion of offered calls answered within the threshold; ``n`` = offered),
        ``abandonment_rate`` (abandoned / offered) with Wilson intervals on the pooled counts, and
        ``asa_s`` (answered-weighted mean speed of answer; ``n`` = answered; no interval: the
        aggregates carry no spread), and ``handle_time_s`` when the file has a daily average handle
        time (answered-weighted mean AHT in seconds; ``n`` = answered; a Student-t interval from
        the spread between days, see Notes), likewise ``talk_time_s`` when the file has a daily
        average talk time. Days without the needed column value are itemised.

    Notes
    -----
    ``service_level = sum(answered_within) / sum(offered)``, ``abandonment_rate =
    sum(abandoned) / sum(offered)``, ``asa_s = sum(asa_s * answered) / sum(answered)``: never the
    mean of the daily percentages (a quiet day would weigh as much as a busy one). The Wilson
    interval treats calls as independent. ``handle_time_s = sum(aht_d * answered_d) /
    sum(answered_d)``; its interval is the ratio estimator's (days as clusters: ``var =
    sum(answered_d^2 (aht_d - AHT)^2) / (mean(answered)^2 k (k - 1))``, ``t`` with ``k - 1``
    degrees of freedom; Cochran 1977, ch. 6): day-to-day variation, since a daily file carries no
    spread of single calls.

    Examples
    --------
    >>> d = pd.DataFrame({"date": ["2026-11-02", "2026-11-03"], "queue": "all", "offered": [100.0, 300],
    ...     "answered": [90.0, 240], "abandoned": [10.0, 60], "answered_within": [80.0, 150]})
    >>> calls_daily_kpis(d, min_n=0)[["kpi", "n", "value"]]  # (80 + 150) / 400; (10 + 60) / 400
                    kpi      n   value
    0     service_level  400.0  0.5750
    1  abandonment_rate  400.0  0.1750
    """
    keys = as_by(by)
    c = S.validate(calls_daily, "calls_daily")
    check_by(c, keys, "calls_daily")
    c, pkeys = with_period(c, period, S.DATE)
    keys = keys + pkeys
    rid = c[S.DATE].dt.strftime("%Y-%m-%d") + " / " + c[S.QUEUE].astype("str")
    parts = []
    specs = [(SERVICE_LEVEL, S.ANSWERED_WITHIN, S.OFFERED), (ABANDONMENT_RATE, S.ABANDONED, S.OFFERED)]
    missing: list[tuple[str, pd.Series]] = []
    for kpi, num, den in specs:
        if num not in c.columns:
            continue
        use = c[num].notna() & c[den].notna()
        missing.append((num, rid[~use]))
        x = c[use].assign(_k=c.loc[use, num], _n=c.loc[use, den])
        g = (x.groupby(keys, sort=True, observed=True, dropna=False)[["_k", "_n"]].sum().reset_index() if keys
             else pd.DataFrame([{"_k": x["_k"].sum(), "_n": x["_n"].sum()}]))
        k, n = g["_k"].to_numpy(dtype=float), g["_n"].to_numpy(dtype=float)
        lo, hi = wilson_ci(k, n, level=level)
        with np.errstate(invalid="ignore", divide="ignore"):
            val = np.where(n > 0, k / n, np.nan)
        parts.append(g[keys].assign(**{KPI: kpi, S.N: n, VALUE: val, S.CI_LOW: lo, S.CI_HIGH: hi}))
    if S.ASA_S in c.columns:
        use = c[S.ASA_S].notna() & c[S.ANSWERED].notna()
        missing.append((S.ASA_S, rid[~use]))
        x = c[use].assign(_w=c.loc[use, S.ASA_S] * c.loc[use, S.ANSWERED], _n=c.loc[use, S.ANSWERED])
        g = (x.groupby(keys, sort=True, observed=True, dropna=False)[["_w", "_n"]].sum().reset_index() if keys
             else pd.DataFrame([{"_w": x["_w"].sum(), "_n": x["_n"].sum()}]))
        n = g["_n"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            val = np.where(n > 0, g["_w"].to_numpy(dtype=float) / n, np.nan)
        parts.append(g[keys].assign(**{KPI: ASA, S.N: n, VALUE: val, S.CI_LOW: np.nan, S.CI_HIGH: np.nan}))
    for col, kpi in ((S.HANDLE_TIME_S, AHT), (S.TALK_TIME_S, TALK)):
        if col in c.columns:
            use = c[col].notna() & c[S.ANSWERED].notna() & (c[S.ANSWERED] > 0)
            missing.append((col, rid[~use & c[S.ANSWERED].fillna(0).gt(0)]))
            parts.append(_weighted_daily_mean(c[use], col, keys, level).assign(**{KPI: kpi}))
    res = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=keys + [KPI, S.N, VALUE])
    res[S.SMALL_SAMPLE] = _small(res[S.N], min_n)
    order = {SERVICE_LEVEL: 0, ABANDONMENT_RATE: 1, ASA: 2, AHT: 3, TALK: 4}
    res = res.assign(_o=res[KPI].map(order)).sort_values(keys + ["_o"], kind="stable").drop(columns="_o")
    res = res.reset_index(drop=True)[keys + [KPI, S.N, VALUE, S.CI_LOW, S.CI_HIGH, S.SMALL_SAMPLE]]
    for col, ids in missing:
        S.add_exclusion(res, f"day without {col}: left out of that KPI", col, ids)
    return res


def _weighted_daily_mean(x: pd.DataFrame, column: str, keys: list[str], level: float) -> pd.DataFrame:
    """Answered-weighted mean of a daily average (``sum(v_d a_d) / sum(a_d)``) per group, with a
    Student-t interval from the days' spread: the linearised variance of a ratio estimator with
    days as clusters, ``var = sum(a_d^2 (v_d - R)^2) / (abar^2 k (k - 1))`` (Cochran, *Sampling
    Techniques*, 3rd ed. 1977, ch. 6), ``k`` days, ``t`` with ``k - 1`` degrees of freedom. It
    measures how much the weighted AHT moves from day to day, not the spread of single calls (a
    daily file has none); NaN with fewer than two days."""
    x = x.assign(_a=x[S.ANSWERED].astype(float), _v=x[column].astype(float))
    groups = x.groupby(keys, sort=True, observed=True, dropna=False) if keys else [((), x)]
    rows = []
    for key, g in groups:
        a, v = g["_a"].to_numpy(float), g["_v"].to_numpy(float)
        k, tot = len(a), a.sum()
        r = float((a * v).sum() / tot) if tot > 0 else np.nan
        if k >= 2 and tot > 0:
            abar = tot / k
            se = np.sqrt(((a * (v - r)) ** 2).sum() / (abar**2 * k * (k - 1)))
            half = stats.t.ppf((1 + level) / 2, k - 1) * se
            lo, hi = max(r - half, 0.0), r + half
        else:
            lo = hi = np.nan
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(keys, key)), S.N: tot, VALUE: r, S.CI_LOW: lo, S.CI_HIGH: hi})
    return pd.DataFrame(rows, columns=keys + [S.N, VALUE, S.CI_LOW, S.CI_HIGH])


# --- customers -------------------------------------------------------------------------------------
def attach_customers(per_customer: pd.DataFrame, customers: pd.DataFrame, *, value_column: str,
                     counts: Sequence[str]) -> pd.DataFrame:
    """Add every customer of ``customers`` to a per-customer table (``counts`` columns 0 for those
    with no conversation row, or the customers table's own ``contacts`` count when it has one) and
    take values from ``customers`` (used by :func:`qakit.kpis.customer_cost_value`)."""
    cu = S.validate(customers, "customers")
    cu = cu.drop_duplicates(S.CUSTOMER_ID)
    src = S.CUSTOMER_VALUE
    m = per_customer.merge(cu[[S.CUSTOMER_ID, src] + ([S.SEGMENT] if S.SEGMENT in cu.columns else [])]
                           .rename(columns={src: "_cv"}), on=S.CUSTOMER_ID, how="outer", indicator=True)
    only_crm = m["_merge"].eq("right_only")
    crm_contacts = (m[S.CUSTOMER_ID].map(dict(zip(cu[S.CUSTOMER_ID], cu[S.CONTACTS])))
                    if S.CONTACTS in cu.columns else pd.Series(np.nan, index=m.index))
    for c in counts:  # no conversation row: the CRM's own contact count (each contact a case), else 0
        m[c] = m[c].where(~only_crm, crm_contacts).fillna(0)
    if value_column in m.columns:
        m[value_column] = m["_cv"].where(m["_merge"].ne("left_only"), m[value_column])
    else:
        m[value_column] = m["_cv"]
    return m.drop(columns=["_cv", "_merge"])


__all__ = [
    "dispute_rate",
    "dispute_outcomes",
    "iqs_after_disputes",
    "review_coverage",
    "reviewer_strictness",
    "calls_daily_kpis",
]
