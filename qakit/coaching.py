"""Did coaching work? The coached agents' change against agents not (yet) coached over the same weeks.

A QA lead coaches the agents whose recent scores were low. A low score is partly bad luck that does
not repeat, so the coached agents' scores rise afterwards *even when the coaching did nothing*
(regression to the mean). Their own before/after difference (what coaching dashboards show) is
therefore biased upwards. :func:`coaching_effect` compares instead:

- every week with a coaching session is a small "trial" (a cohort): the agents coached that week
  against the agents who had *not been coached before* that week (not yet, or never, coached);
- each agent's mean score in the ``pre_weeks`` weeks before the coaching week and in the
  ``post_weeks`` weeks after it (the coaching week itself is left out: it mixes before and after),
  the same calendar weeks for coached and control agents;
- **adjusted diff-in-diff** (the estimate to read): the change ``post - pre`` regressed on coaching
  and on the pre-coaching score, with one intercept per cohort. Adjusting on the pre score
  compares a coached agent with control agents who *scored as low before*, so the bounce-back of a
  low score is in both groups and cancels;
- **diff-in-diff** (unadjusted): the same without the pre score; still biased by the bounce-back
  when the coached agents were chosen for a low score (Ashenfelter's dip);
- **naive pre/post** (regression-prone): the coached agents' mean change alone, for comparison.

The interval is cluster-robust by agent (an agent is a control in several cohorts): the CR1
sandwich with the small-sample factor ``G/(G-1) (N-1)/(N-K)`` (Stata's ``vce(cluster)``; statsmodels'
``cov_type="cluster"``) and Student t with ``G - 1`` degrees of freedom (G agents).

What has to be true (the identifying assumption, in a QA lead's words):

1. **Selection on the score we see.** Whom to coach was decided on the pre-coaching score (the
   ``pre_weeks`` before the session), not on something else that also predicts the next weeks
   (a lead who knows an agent is back from a hard month). Give ``pre_weeks`` the length of the
   period the decision looked at.
2. **Parallel paths.** Without coaching, coached agents would have moved like control agents with
   the same pre score over the same weeks (same scorecard, same reviewers, same season).
3. **No anticipation, no spill-over.** Agents did not change before their session, and coached
   agents did not coach their controls.

Control agents coached later in their own post window stay controls (an "intention to coach"
comparison: choosing controls by *future* coaching would choose them by their future scores, which
decided that coaching). That makes the estimate cautious (towards 0) when coaching works; the share
of control reviews that fall after the control's own coaching is reported (``control_coached_share``).

References: Ashenfelter (1978), *Estimating the effect of training programs on earnings*, Review of
Economics and Statistics 60(1): 47-57 (the pre-programme dip); Angrist & Pischke (2009), *Mostly
Harmless Econometrics*, section 5.4 (fixed effects vs. lagged dependent variable); Hernán & Robins
(2016), *Using big data to emulate a target trial*, American Journal of Epidemiology 183(8): 758-764
(sequential trials); Cameron & Miller (2015), *A practitioner's guide to cluster-robust inference*,
Journal of Human Resources 50(2): 317-372 (CR1, G - 1 degrees of freedom, few clusters).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
from scipy import stats

from . import schema as S
from ._public import public
from .errors import ParameterError, Problems, SmallSampleWarning, UndefinedMetricWarning
from .intervals import check_level
from .metrics import _contract as C
from .metrics import _groups as G
from .metrics import _source as B
from .scorecard import category_scores
from .scorecard.card import Scorecard, normalise_name

# --- result columns ----------------------------------------------------------------------------------
OUTCOME = "outcome"
METHOD = "method"
N_CONTROL = "n_control"
N_COHORTS = "n_cohorts"
PRE_SCORE = "pre_score"
POST_SCORE = "post_score"
EFFECT = "effect"
CONTROL_COACHED_SHARE = "control_coached_share"
NOTE = "note"
COLUMNS = [OUTCOME, METHOD, S.N, N_CONTROL, N_COHORTS, PRE_SCORE, POST_SCORE, EFFECT, S.SE, S.CI_LOW, S.CI_HIGH,
           S.P_VALUE, CONTROL_COACHED_SHARE, S.SMALL_SAMPLE, NOTE]

ADJUSTED = "adjusted diff-in-diff"
DID = "diff-in-diff"
NAIVE = "naive pre/post (regression-prone)"
METHODS = (ADJUSTED, DID, NAIVE)
#: the overall outcome's name in the ``outcome`` column
OVERALL = "iqs"
#: focus categories in one cell are separated by this (spaces around them are ignored)
FOCUS_SEPARATOR = ";"
#: weeks start on Monday 00:00 UTC
_ORIGIN = pd.Timestamp("1970-01-05", tz="UTC")


__all__ = ["coaching_effect"]


# --- the estimator --------------------------------------------------------------------------------------
def cluster_ols(y: np.ndarray, X: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """OLS coefficients with the CR1 cluster-robust covariance.

    Returns ``(beta, V, G)``: ``beta = (X'X)^-1 X'y``;
    ``V = c (X'X)^-1 [sum_g X_g' u_g u_g' X_g] (X'X)^-1`` with ``u = y - X beta`` and
    ``c = G/(G-1) (N-1)/(N-K)`` (G clusters, N rows, K columns) -- the covariance of Stata's
    ``regress, vce(cluster g)`` and statsmodels' ``OLS.fit(cov_type="cluster")``.

    Examples
    --------
    Two clusters of two rows, a mean only: ``beta = 2.5``; residuals ``-1.5, -0.5 | 0.5, 1.5``
    sum to -2 and 2 per cluster, so the meat is ``4 + 4 = 8``, ``(X'X)^-1 = 1/4``,
    ``c = 2/1 * 3/3 = 2`` and ``V = 2 * 8 / 16 = 1``.

    >>> b, V, G = cluster_ols(np.array([1.0, 2, 3, 4]), np.ones((4, 1)), np.array([0, 0, 1, 1]))
    >>> float(b[0]), float(V[0, 0]), G
    (2.5, 1.0, 2)
    """
    n, k = X.shape
    codes, uniq = pd.factorize(clusters, sort=False)
    g = len(uniq)
    xtx_inv = np.linalg.pinv(X.T @ X)
    beta = xtx_inv @ (X.T @ y)
    u = y - X @ beta
    scores = np.zeros((g, k))
    np.add.at(scores, codes, X * u[:, None])  # per cluster: X_g' u_g
    meat = scores.T @ scores
    c = (g / (g - 1)) * ((n - 1) / (n - k)) if g > 1 and n > k else np.nan
    return beta, c * xtx_inv @ meat @ xtx_inv, g


def _weeks(ts: pd.Series) -> np.ndarray:
    """Week number (Monday 00:00 UTC starts a week) of UTC timestamps, as floats; NaN for NaT."""
    days = (ts - _ORIGIN).dt.days
    return np.floor_divide(days.to_numpy(dtype=float, na_value=np.nan), 7).astype("float64")


def _weeks_of(starts: pd.Series) -> np.ndarray:
    """:func:`_weeks` of the week starts an engine's aggregate gives (naive UTC, or UTC)."""
    t = pd.to_datetime(starts)
    return _weeks(t.dt.tz_localize("UTC") if t.dt.tz is None else t.dt.tz_convert("UTC"))


def _window(cs: np.ndarray, lo: np.ndarray | int, hi: np.ndarray | int) -> np.ndarray:
    """Sum over weeks ``lo..hi`` (inclusive, week indices) of a per-agent cumulative sum ``cs``
    (agents x weeks + 1, a zero column first)."""
    return cs[:, hi + 1] - cs[:, lo]


def _units(sums: np.ndarray, counts: np.ndarray, agent: np.ndarray, week: np.ndarray, n_agents: int, n_weeks: int,
           cohorts: Sequence[tuple[int, np.ndarray, np.ndarray]], pre: int, gap: int, post: int,
           coached_week: np.ndarray) -> pd.DataFrame:
    """One row per (cohort, agent) of the cohorts' treated and control agents: ``cohort, agent,
    treated, n_pre, n_post, pre, post, post_after_own`` (reviews of the post window that fall
    after the agent's own first coaching). The scores come as per-(agent, week) cells -- ``sums``
    of ``counts`` scores (:func:`_cells`, computed by pandas or by the engine the scores live on);
    weeks are indices 0..n_weeks-1."""
    ok = counts > 0
    a, w = agent[ok], week[ok].astype(np.int64)
    total = np.zeros((n_agents, n_weeks))
    count = np.zeros((n_agents, n_weeks))
    np.add.at(total, (a, w), sums[ok])
    np.add.at(count, (a, w), counts[ok].astype(float))
    zero = np.zeros((n_agents, 1))
    cs_t, cs_n = np.hstack([zero, total.cumsum(axis=1)]), np.hstack([zero, count.cumsum(axis=1)])
    # reviews after an agent's own first coaching week (for the control contamination share)
    after_own = count * (np.arange(n_weeks)[None, :] > coached_week[:, None])
    cs_own = np.hstack([zero, after_own.cumsum(axis=1)])
    parts = []
    for cw, treated, control in cohorts:
        members = np.concatenate([treated, control])
        lo_pre, hi_pre, lo_post, hi_post = cw - pre, cw - 1, cw + 1 + gap, cw + gap + post
        n_pre = _window(cs_n, lo_pre, hi_pre)[members]
        n_post = _window(cs_n, lo_post, hi_post)[members]
        with np.errstate(invalid="ignore", divide="ignore"):
            m_pre = _window(cs_t, lo_pre, hi_pre)[members] / n_pre
            m_post = _window(cs_t, lo_post, hi_post)[members] / n_post
        parts.append(pd.DataFrame({
            "cohort": cw, "agent": members, "treated": np.r_[np.ones(len(treated), bool), np.zeros(len(control), bool)],
            "n_pre": n_pre, "n_post": n_post, "pre": m_pre, "post": m_post,
            "post_after_own": _window(cs_own, lo_post, hi_post)[members]}))
    if not parts:
        return pd.DataFrame(columns=["cohort", "agent", "treated", "n_pre", "n_post", "pre", "post", "post_after_own"])
    return pd.concat(parts, ignore_index=True)


def _fit(units: pd.DataFrame, *, adjust: bool, level: float) -> dict:
    """The diff-in-diff regression on the units: ``post - pre ~ cohort + treated [+ pre]``."""
    nan = float("nan")
    if len(units) == 0:
        return {EFFECT: nan, S.SE: nan, S.CI_LOW: nan, S.CI_HIGH: nan, S.P_VALUE: nan}
    cohort_codes, _ = pd.factorize(units["cohort"], sort=True)
    n_c = int(cohort_codes.max()) + 1 if len(units) else 0
    X = np.zeros((len(units), n_c))
    X[np.arange(len(units)), cohort_codes] = 1.0
    cols = [X, units["treated"].to_numpy(dtype=float)[:, None]]
    if adjust:
        pre = units["pre"].to_numpy(dtype=float)
        cols.append((pre - pre.mean())[:, None])
    X = np.hstack(cols)
    y = (units["post"] - units["pre"]).to_numpy(dtype=float)
    if len(units) <= X.shape[1] or np.linalg.matrix_rank(X) < X.shape[1]:
        return {EFFECT: nan, S.SE: nan, S.CI_LOW: nan, S.CI_HIGH: nan, S.P_VALUE: nan}
    beta, V, g = cluster_ols(y, X, units["agent"].to_numpy())
    j = n_c  # the treated column
    est, se = float(beta[j]), float(np.sqrt(V[j, j])) if V[j, j] >= 0 else nan
    if g < 2 or not se > 0:
        return {EFFECT: est, S.SE: se, S.CI_LOW: nan, S.CI_HIGH: nan, S.P_VALUE: nan}
    t = stats.t.ppf((1 + level) / 2, g - 1)
    p = float(2 * stats.t.sf(abs(est / se), g - 1))
    return {EFFECT: est, S.SE: se, S.CI_LOW: est - t * se, S.CI_HIGH: est + t * se, S.P_VALUE: p}


def _naive(units: pd.DataFrame, level: float) -> dict:
    """Mean of the coached agents' own change ``post - pre`` with a Student-t interval."""
    nan = float("nan")
    d = (units["post"] - units["pre"]).to_numpy(dtype=float)
    n = len(d)
    if n == 0:
        return {EFFECT: nan, S.SE: nan, S.CI_LOW: nan, S.CI_HIGH: nan, S.P_VALUE: nan}
    est = float(d.mean())
    if n < 2:
        return {EFFECT: est, S.SE: nan, S.CI_LOW: nan, S.CI_HIGH: nan, S.P_VALUE: nan}
    se = float(d.std(ddof=1) / np.sqrt(n))
    t = stats.t.ppf((1 + level) / 2, n - 1)
    p = float(2 * stats.t.sf(abs(est / se), n - 1)) if se > 0 else nan
    return {EFFECT: est, S.SE: se, S.CI_LOW: est - t * se, S.CI_HIGH: est + t * se, S.P_VALUE: p}


# --- input ------------------------------------------------------------------------------------------------
def parse_focus(focus: pd.Series) -> pd.Series:
    """The focus categories of each session as a tuple of names (``";"``-separated text; blanks
    dropped; missing = no focus, a general session).

    Examples
    --------
    >>> parse_focus(pd.Series(["Tone; Empathy", None, " Solution ;"])).tolist()
    [('Tone', 'Empathy'), (), ('Solution',)]
    """
    def split(x) -> tuple[str, ...]:
        if x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA:
            return ()
        return tuple(p.strip() for p in str(x).split(FOCUS_SEPARATOR) if p.strip())
    return focus.map(split, na_action=None).astype(object)


#: the cells' columns: a week number (:func:`_weeks`) and the sum of the cell's scores (its count is ``n``)
_WEEK, _SUM = "_week", "_sum"


def _score_cells(scores: Any, time: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, list[str]]:
    """The review scores as per-(agent, week) cells -- ``agent_id`` (text), ``_week``, ``n`` scored
    reviews, ``_sum`` of their scores -- over the reviews with a time, computed where the scores live
    (pandas, or the engine of a Parquet file, DuckDB relation, Polars frame: only the cells leave it).
    Also ``(the reviews without a score not listed yet: review_id, carrying the scores' record; the
    review ids without a time; every agent id seen)``."""
    src = B.resolve(scores, None, what="scores")
    if src.engine != "pandas" and time == S.REVIEWED_AT:
        t = C.validated(src, "scores", reads=(S.AGENT_ID, S.IQS), optional=(S.REVIEW_ID, S.REVIEWED_AT))
        if time not in t.columns:
            raise ParameterError(f"scores has no time column {time!r}; available: {sorted(map(str, t.columns))}")
        agent = nw.col(S.AGENT_ID).cast(nw.String)
        lf = t.lf.with_columns(agent.alias(S.AGENT_ID))
        nulls = B.collect(lf.select(nw.col(S.AGENT_ID).is_null().sum().alias("k")))["k"].iloc[0]
        if not nulls:  # (an empty agent id: the pandas path below names it with the rows' ids)
            dated, pk = G.with_period(lf.filter(~nw.col(time).is_null()), t.engine, "W", time, t.columns)
            iqs = nw.col(S.IQS).cast(nw.Float64)
            cells = G.aggregate(dated, [S.AGENT_ID, *pk], {S.N: G.agg("count", iqs), _SUM: G.agg("sum", iqs)},
                                period="W")
            cells[_WEEK] = _weeks_of(cells.pop(pk[0]))
            cells[_SUM] = pd.to_numeric(cells[_SUM]).fillna(0.0)
            rid = nw.col(S.REVIEW_ID).cast(nw.String) if S.REVIEW_ID in t.columns else None
            no_score = (B.collect(lf.filter(nw.col(S.IQS).is_null()).select(rid)) if rid is not None
                        else pd.DataFrame({S.REVIEW_ID: pd.Series([], dtype="str")}))
            undated = (B.collect(lf.filter(nw.col(time).is_null()).select(rid))[S.REVIEW_ID] if rid is not None
                       else pd.Series([], dtype="str"))
            seen = B.distinct(lf, S.AGENT_ID).dropna().astype("str").tolist()
            return cells[[S.AGENT_ID, _WEEK, S.N, _SUM]], no_score, undated, seen
    if not isinstance(scores, pd.DataFrame):
        scores = B.to_pandas(src)
    missing = [c for c in (S.AGENT_ID, S.IQS) if c not in scores.columns]
    if missing:
        raise ParameterError(f"scores must be review scores (Scorecard.score); missing columns {missing}")
    sc = S.validate(scores, "scores")
    p = Problems("scores", row_ids=sc[S.REVIEW_ID] if S.REVIEW_ID in sc.columns else None)
    t_sc = _timestamps(sc, time, "scores", S.REVIEW_ID, p)
    p.add(S.AGENT_ID, "empty agent_id (a review score must name its agent)", sc[S.AGENT_ID].isna().to_numpy(),
          sc[S.AGENT_ID])
    p.raise_if_any()
    wk = _weeks(t_sc)
    have = ~np.isnan(wk)
    agent = sc[S.AGENT_ID].astype("str")
    x = sc[S.IQS].to_numpy(dtype=float, na_value=np.nan)
    cells = (pd.DataFrame({S.AGENT_ID: agent[have].to_numpy(), _WEEK: wk[have], "_x": x[have]})
             .groupby([S.AGENT_ID, _WEEK], sort=True).agg(**{S.N: ("_x", "count"), _SUM: ("_x", "sum")}).reset_index())
    ids = sc[S.REVIEW_ID].astype("str") if S.REVIEW_ID in sc.columns else pd.Series(np.arange(len(sc))).astype("str")
    missing_score = np.isnan(x) & ~ids.isin(S.recorded_ids(sc)).to_numpy()
    no_score = pd.DataFrame({S.REVIEW_ID: ids[missing_score].to_numpy()})
    S.carry_records(no_score, sc)
    return cells, no_score, ids[~have].reset_index(drop=True), agent.unique().tolist()


def _category_cells(ratings: Any, card: Scorecard, time: str) -> pd.DataFrame:
    """Per (agent, week, category) of the ratings with a time: ``agent_id, _week, category, n`` rated
    reviews, ``_sum`` of their category scores -- on the engine the ratings live on
    (:func:`qakit.scorecard.category_scores` by agent and week: only the cells leave it), else from
    :meth:`Scorecard.category_rows`."""
    src = B.resolve(ratings, None, what="ratings")
    if src.engine != "pandas" and time == S.REVIEWED_AT:
        t = category_scores(ratings, card, by=S.AGENT_ID, period="W", min_n=0)
        weeks = _weeks_of(t["period"])
        n = t[S.N].to_numpy(dtype=float)
        return pd.DataFrame({S.AGENT_ID: t[S.AGENT_ID].astype("str").to_numpy(), _WEEK: weeks,
                             S.CATEGORY: t[S.CATEGORY].astype("str").to_numpy(), S.N: n,
                             _SUM: np.where(n > 0, n * t[S.CATEGORY_SCORE].to_numpy(dtype=float), 0.0)})
    rows = card.category_rows(ratings if isinstance(ratings, pd.DataFrame) else B.to_pandas(src))
    pr = Problems("ratings", row_ids=rows[S.REVIEW_ID])
    t_rows = _timestamps(rows, time, "ratings", S.REVIEW_ID, pr)
    pr.raise_if_any()
    wk = _weeks(t_rows)
    ok = ~np.isnan(wk)
    v = rows[S.CATEGORY_SCORE].to_numpy(dtype=float)
    return (pd.DataFrame({S.AGENT_ID: rows[S.AGENT_ID].astype("str").to_numpy()[ok], _WEEK: wk[ok],
                          S.CATEGORY: rows[S.CATEGORY].astype("str").to_numpy()[ok], "_x": v[ok]})
            .groupby([S.AGENT_ID, _WEEK, S.CATEGORY], sort=True)
            .agg(**{S.N: ("_x", "count"), _SUM: ("_x", "sum")}).reset_index())


def _check_options(pre_weeks, post_weeks, gap_weeks, min_reviews, min_controls, min_coached) -> None:
    for name, v, low in (("pre_weeks", pre_weeks, 1), ("post_weeks", post_weeks, 1), ("gap_weeks", gap_weeks, 0),
                         ("min_reviews", min_reviews, 1), ("min_controls", min_controls, 1),
                         ("min_coached", min_coached, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
            raise ParameterError(f"{name} must be an integer >= {low}; got {v!r}")


def _timestamps(frame: pd.DataFrame, column: str, table: str, id_col: str | None, p: Problems) -> pd.Series:
    if column not in frame.columns:
        raise ParameterError(f"{table} has no time column {column!r}; available: {sorted(map(str, frame.columns))}")
    return S.parse_datetimes(frame[column], column=column, problems=p)


@public
def coaching_effect(
    scores: pd.DataFrame,
    coaching: pd.DataFrame,
    *,
    ratings: pd.DataFrame | None = None,
    card: Scorecard | None = None,
    time: str = S.REVIEWED_AT,
    pre_weeks: int = 2,
    post_weeks: int = 4,
    gap_weeks: int = 0,
    min_reviews: int = 3,
    min_controls: int = 10,
    min_coached: int = 5,
    level: float = 0.95,
) -> pd.DataFrame:
    """Did coaching raise scores? Coached agents against agents not (yet) coached, same weeks.

    Parameters
    ----------
    scores : pandas.DataFrame
        Review scores (:meth:`qakit.Scorecard.score`): ``review_id, agent_id, iqs`` and ``time``.
    coaching : pandas.DataFrame
        Coaching sessions (the ``coaching`` table of :mod:`qakit.schema`): ``agent_id,
        coached_at``, optional ``focus`` (categories, ``;``-separated), ``coach``, ``plan``,
        ``commitment``. An agent's first session starts its coaching.
    ratings, card : optional
        Long ratings and the scorecard: with both, each focus category is also an outcome (its
        category score, percent), with the agents coached on it as the coached group.
    time : str, default="reviewed_at"
        Column placing a review in a week (of ``scores``; of ``ratings`` for categories). The
        conversation's time is better when you have it (a review written after a session of a
        conversation handled before it counts as "after").
    pre_weeks, post_weeks : int, default=2, 4
        Weeks before the coaching week (give the span the coaching decision looked at) and after it.
    gap_weeks : int, default=0
        Weeks skipped after the coaching week before the post window starts.
    min_reviews : int, default=3
        Fewest reviews an agent needs in each window to take part (coached agents with fewer are
        left out and itemised in :func:`qakit.schema.exclusions`).
    min_controls, min_coached : int, default=10, 5
        Fewer control agents or coached agents than this: ``small_sample``, a note and a
        :class:`~qakit.errors.SmallSampleWarning` (cluster-robust intervals are too narrow with
        few clusters: MacKinnon & Webb 2017).
    level : float, default=0.95

    Returns
    -------
    pandas.DataFrame
        One row per outcome (``iqs``, then each focus category) and method (adjusted
        diff-in-diff, diff-in-diff, naive pre/post): ``outcome, method, n`` (coached agents),
        ``n_control`` (distinct control agents), ``n_cohorts`` (coaching weeks used),
        ``pre_score, post_score`` (the coached agents' mean before and after), ``effect``
        (points; the diff-in-diff coefficient or the naive mean change), ``se, ci_low, ci_high,
        p_value``, ``control_coached_share`` (share of control reviews in post windows made
        after that control's own first coaching), ``small_sample``, ``note`` (why an estimate is
        fragile or missing).

    Raises
    ------
    ParameterError
        Bad options, missing columns, ``ratings`` without ``card`` (or the reverse).
    DataValidationError
        Contract breaches of ``scores`` or ``coaching`` (all at once), unparseable times, focus
        categories not on the card (with ``card``).

    Notes
    -----
    For cohort (coaching week) ``w`` and agent ``i``: ``pre_i`` = mean score over weeks
    ``w - pre_weeks .. w - 1``, ``post_i`` = mean over ``w + 1 + gap .. w + gap + post_weeks``;
    coached ``D_i = 1`` (first session in week ``w``), controls ``D_i = 0`` (no session before
    week ``w``). Stacking all cohorts, OLS of ``post_i - pre_i = a_w + tau D_i + b (pre_i -
    mean pre) + e`` gives the adjusted effect ``tau`` (without ``b``: the diff-in-diff; with one
    cohort, ``tau = (post_T - pre_T) - (post_C - pre_C)``, the 2 x 2 difference of means). CI
    ``tau +/- t_{(1+level)/2, G-1} se_CR1`` with G the distinct agents (see :func:`cluster_ols`).
    Cohorts whose windows leave the data (``time`` range) are censored (their coached agents
    itemised), as are cohorts without a control. Naive: ``mean(post_i - pre_i)`` over coached
    agents, Student t with ``n - 1`` df.

    Examples
    --------
    Two agents coached in week 3 whose scores were low by chance, four never coached; nobody
    changes (every agent has the same true level), so the true effect is 0:

    >>> rows = []
    >>> for a, pre, post in [("a1", 60, 70), ("a2", 62, 71), ("c1", 72, 70), ("c2", 69, 70),
    ...                      ("c3", 71, 70), ("c4", 70, 71)]:
    ...     for wk, v in [(1, pre), (2, pre), (4, post), (5, post)]:
    ...         for d in (0, 1, 2):
    ...             rows.append({"review_id": f"{a}-{wk}-{d}", "agent_id": a, "iqs": float(v),
    ...                          "reviewed_at": pd.Timestamp("2026-08-03", tz="UTC") + pd.Timedelta(days=7 * wk + d)})
    >>> coaching = pd.DataFrame({"agent_id": ["a1", "a2"], "coached_at": ["2026-08-25", "2026-08-26"]})
    >>> r = coaching_effect(pd.DataFrame(rows), coaching, post_weeks=2, min_controls=2, min_coached=2)
    >>> r[["method", "n", "n_control", "effect"]].round(2)
                                  method  n  n_control  effect
    0              adjusted diff-in-diff  2          4    0.93
    1                       diff-in-diff  2          4    9.75
    2  naive pre/post (regression-prone)  2          0    9.50

    By hand: the coached agents rose 10 and 9 (naive 9.5); the controls changed -2, +1, -1, +1
    (mean -0.25), so the diff-in-diff is 9.5 + 0.25 = 9.75. The adjustment sees that the
    controls' change falls with their pre score (c2 rose from 69, c1 fell from 72: slope -13/14
    by the normal equations), which predicts most of the coached agents' rise from their low pre
    scores; 13/14 = 0.93 points are left.
    """
    level = check_level(level)
    _check_options(pre_weeks, post_weeks, gap_weeks, min_reviews, min_controls, min_coached)
    if (ratings is None) != (card is None):
        raise ParameterError("give both ratings= and card= (per-category effects) or neither")
    co = S.validate(coaching, "coaching")
    # the scores as per-(agent, week) sums and counts: on the engine they live on, else on pandas
    sc_cells, no_score, undated, seen = _score_cells(scores, time)
    focus = parse_focus(co[S.FOCUS]) if S.FOCUS in co.columns else pd.Series([()] * len(co), index=co.index,
                                                                             dtype=object)
    cat_cells = None
    if card is not None:
        names = {normalise_name(c): c for c in card.category_names}
        pc = Problems("coaching", row_ids=co[S.AGENT_ID])
        unknown = focus.map(lambda fs: any(normalise_name(f) not in names for f in fs))
        pc.add(S.FOCUS, f"focus category not on the scorecard (categories: {', '.join(card.category_names)})",
               unknown.to_numpy(dtype=bool), co[S.FOCUS])
        pc.raise_if_any()
        focus = focus.map(lambda fs: tuple(dict.fromkeys(names[normalise_name(f)] for f in fs)))
        cat_cells = _category_cells(ratings, card, time)

    # --- agents, weeks ------------------------------------------------------------------------------
    # (agents in text order: the same numbering whichever engine counted the cells)
    agents = pd.Index(sorted(set(seen) | set(co[S.AGENT_ID].dropna().astype("str"))))
    if not len(sc_cells):
        raise ParameterError(f"no review score has a {time!r} time")
    w0, w1 = int(sc_cells[_WEEK].min()), int(sc_cells[_WEEK].max())
    n_weeks = w1 - w0 + 1
    wk_co = _weeks(co[S.COACHED_AT]) - w0
    a_co = agents.get_indexer(co[S.AGENT_ID].astype("str"))
    first = np.full(len(agents), np.inf)
    np.minimum.at(first, a_co, wk_co)
    out_rows: list[dict] = []
    result_notes: dict[str, list] = {}

    def outcome_rows(name: str, sums: np.ndarray, counts: np.ndarray, agent_idx: np.ndarray, week_idx: np.ndarray,
                     treated_of: dict[int, np.ndarray]) -> None:
        cohorts, censored, no_control = [], [], []
        for cw in sorted(treated_of):
            treated = treated_of[cw]
            control = np.flatnonzero(first > cw)
            if cw - pre_weeks < 0:
                censored.append((treated, "the pre window starts before the first review week"))
                continue
            if cw + gap_weeks + post_weeks > n_weeks - 1:
                censored.append((treated, "the post window runs past the last review week (censored)"))
                continue
            cohorts.append((cw, treated, control))
        units = _units(sums, counts, agent_idx, week_idx, len(agents), n_weeks, cohorts, pre_weeks, gap_weeks,
                       post_weeks, first)
        units = units.astype({"treated": bool, "n_pre": float, "n_post": float, "pre": float, "post": float,
                              "post_after_own": float})
        enough = ((units["n_pre"] >= min_reviews) & (units["n_post"] >= min_reviews)).to_numpy(dtype=bool)
        thin_t = units[units["treated"].to_numpy(dtype=bool) & ~enough]
        units = units[enough]
        if len(units):
            treated_b = units["treated"].astype(bool)
            has_c = treated_b.groupby(units["cohort"]).transform(lambda t: bool((~t).any() and t.any())).astype(bool)
            for cw in sorted(set(units.loc[treated_b & ~has_c, "cohort"])):
                no_control.append(units.loc[treated_b & units["cohort"].eq(cw), "agent"].to_numpy())
            units = units[has_c.to_numpy()]
        tr = units[units["treated"].to_numpy(dtype=bool)]
        ctrl = units[~units["treated"].to_numpy(dtype=bool)]
        n_t, n_c = int(tr["agent"].nunique()), int(ctrl["agent"].nunique())
        share = float(ctrl["post_after_own"].sum() / ctrl["n_post"].sum()) if len(ctrl) else float("nan")
        notes = []
        excluded = {}
        for treated, why in censored:
            excluded.setdefault(why, []).extend(agents[treated].tolist())
        if len(thin_t):
            excluded.setdefault(f"fewer than {min_reviews} reviews in the pre or post window",
                                []).extend(agents[thin_t["agent"].to_numpy()].tolist())
        for t_ in no_control:
            excluded.setdefault("no control agent with enough reviews in the same weeks", []).extend(
                agents[t_].tolist())
        for why, ids in excluded.items():
            notes.append(f"{len(ids)} coached agent(s) left out: {why}")
        result_notes[name] = [(why, ids) for why, ids in excluded.items()]
        if n_t == 0:
            notes.append("no coached agent with enough reviews before and after")
        elif n_t < 2:
            notes.append("one coached agent: no interval")
        elif n_t < min_coached:
            notes.append(f"only {n_t} coached agents (< {min_coached}): the interval is too narrow to trust")
        if n_t and n_c < min_controls:
            notes.append(f"only {n_c} control agent(s) (< {min_controls}): too few to compare with")
        small = n_t < min_coached or n_c < min_controls
        base = {OUTCOME: name, N_COHORTS: int(tr["cohort"].nunique()),
                PRE_SCORE: float(tr["pre"].mean()) if n_t else np.nan,
                POST_SCORE: float(tr["post"].mean()) if n_t else np.nan}
        for method, adjust in ((ADJUSTED, True), (DID, False)):
            res = _fit(units if n_t and n_c else units.iloc[:0], adjust=adjust, level=level)
            if n_t < 2:  # one coached cluster: the sandwich has nothing to estimate its spread from
                res.update({S.SE: np.nan, S.CI_LOW: np.nan, S.CI_HIGH: np.nan, S.P_VALUE: np.nan})
            out_rows.append({**base, METHOD: method, S.N: n_t, N_CONTROL: n_c, **res, CONTROL_COACHED_SHARE: share,
                             S.SMALL_SAMPLE: small, NOTE: "; ".join(notes)})
        out_rows.append({**base, METHOD: NAIVE, S.N: n_t, N_CONTROL: 0, **_naive(tr, level),
                         CONTROL_COACHED_SHARE: np.nan, S.SMALL_SAMPLE: n_t < min_coached,
                         NOTE: "biased upwards when low scorers were chosen for coaching (regression to the mean)"})

    # overall: the first session of each agent, whatever its focus
    a_sc = agents.get_indexer(sc_cells[S.AGENT_ID])
    treated_of = {}
    for a in np.flatnonzero(np.isfinite(first)):
        treated_of.setdefault(int(first[a]), []).append(a)
    outcome_rows(OVERALL, sc_cells[_SUM].to_numpy(dtype=float), sc_cells[S.N].to_numpy(dtype=float), a_sc,
                 sc_cells[_WEEK].to_numpy(dtype=float) - w0, {k: np.array(v) for k, v in treated_of.items()})
    if cat_cells is not None:
        first_sessions = np.isfinite(first[a_co]) & (wk_co == first[a_co])
        wk_r = cat_cells[_WEEK].to_numpy(dtype=float) - w0
        inside = (wk_r >= 0) & (wk_r <= n_weeks - 1)
        a_r = agents.get_indexer(cat_cells[S.AGENT_ID])
        inside &= a_r >= 0
        for cat in card.category_names:
            on = first_sessions & focus.map(lambda fs, c=cat: c in fs).to_numpy(dtype=bool)
            if not on.any():
                continue
            tof: dict[int, set] = {}
            for a, w in zip(a_co[on], wk_co[on]):
                tof.setdefault(int(w), set()).add(int(a))
            m = inside & cat_cells[S.CATEGORY].eq(cat).to_numpy(dtype=bool)
            outcome_rows(cat, cat_cells[_SUM].to_numpy(dtype=float)[m], cat_cells[S.N].to_numpy(dtype=float)[m],
                         a_r[m], wk_r[m], {k: np.array(sorted(v)) for k, v in tof.items()})
    out = pd.DataFrame(out_rows, columns=COLUMNS)
    for c in (PRE_SCORE, POST_SCORE, EFFECT, S.SE, S.CI_LOW, S.CI_HIGH, S.P_VALUE, CONTROL_COACHED_SHARE):
        out[c] = out[c].astype("float64")
    for name, items in result_notes.items():
        for why, ids in items:
            S.add_exclusion(out, f"{name}: coached agent left out: {why}", S.AGENT_ID, ids)
    S.carry_records(out, no_score)
    S.add_exclusion(out, "review has no score (iqs missing)", S.IQS, no_score[S.REVIEW_ID])
    S.add_exclusion(out, f"review without a {time!r} time: cannot be placed in a week", time, undated.astype("str"))
    main = out[out[METHOD].eq(ADJUSTED)]
    fragile = main[main[S.SMALL_SAMPLE]]
    if len(fragile):
        warnings.warn(f"coaching_effect: {len(fragile)} outcome(s) rest on too few coached or control agents "
                      f"({', '.join(fragile[OUTCOME].astype(str))}); see the note column", SmallSampleWarning,
                      stacklevel=2)
    undefined = main[main[EFFECT].isna()]
    if len(undefined):
        warnings.warn(f"coaching_effect: no estimate for {', '.join(undefined[OUTCOME].astype(str))} "
                      "(no coached agent with a control over the same weeks)", UndefinedMetricWarning, stacklevel=2)
    return out
