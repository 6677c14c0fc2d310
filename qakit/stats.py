"""How IQS tracks CSAT, and the uncertainty around every per-agent number.

Correlations use :mod:`scipy.stats` (Pearson with its Fisher-z interval, Spearman and Kendall
with :func:`scipy.stats.bootstrap` intervals up to :data:`BOOTSTRAP_MAX_N` pairs, large-sample
Fisher-z intervals above), regressions use :func:`numpy.linalg.lstsq` with
the textbook OLS standard errors (statsmodels would add a heavy dependency for two formulas).

Functions
---------
- :func:`join_csat`: review scores joined to CSAT answers, per conversation or per agent.
- :func:`iqs_csat_correlation`: Pearson / Spearman / Kendall / point-biserial / partial.
- :func:`category_correlations`: each category's score against CSAT, Benjamini-Hochberg adjusted.
- :func:`key_drivers`: CSAT regressed on standardised category scores ("which categories move CSAT").
- :func:`agent_summary`: per-agent IQS and CSAT with CIs, small-sample flags and an
  empirical-Bayes shrunken IQS for fair rankings.
- :func:`sample_size_plan`: reviews per agent needed for a CI half-width of +/- x points.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from . import schema as S
from .errors import ParameterError, SmallSampleWarning, check_choice
from ._public import detached, public
from .intervals import MIN_N, as_by, check_by, check_level, fisher_ci, mean_ci, warn_small, wilson_ci
from .kpis import CSAT_MEAN, CsatScale, csat_definition, csat_score
from .metrics import _contract as C
from .metrics import _groups as G
from .metrics import _source as B
from .metrics import surveys as MS
from .scorecard import Scorecard, iqs_score
from .scorecard.aggregate import iqs_with_sd

UNITS = ("conversation", "agent")
METHODS = ("pearson", "spearman", "kendall", "point_biserial", "partial")
#: above this many pairs the rank correlations get a Fisher z interval instead of a bootstrap
#: (measured cost, see :func:`iqs_csat_correlation`'s Notes)
BOOTSTRAP_MAX_N = 10_000

# result columns (defined once)
UNIT = "unit"  # unit of analysis of a correlation (conversation or agent)
METHOD = "method"
R = "r"
CI_METHOD = "ci_method"
CSAT = "csat"
CSAT_N = "csat_n"
SATISFIED = "satisfied"
COEF = "coef"
COVERAGE = "coverage"
P_ADJUSTED = "p_adjusted"
IQS_SHRUNK = "iqs_shrunk"
SHRINKAGE = "shrinkage"
RANK = "rank"
RANK_SHRUNK = "rank_shrunk"
HALF_WIDTH = "half_width"
SD = S.SD
N_REQUIRED = "n_required"
N_MORE = "n_more"

CORRELATION_COLUMNS = [UNIT, METHOD, S.N, R, S.CI_LOW, S.CI_HIGH, S.P_VALUE, CI_METHOD, S.SMALL_SAMPLE]


# --- joining --------------------------------------------------------------------------------
def _csat_answers(surveys: pd.DataFrame, csat: CsatScale | None = None) -> pd.DataFrame:
    """The CSAT answers (``kind == "csat"``), checked against the CSAT definition when given (surveys
    on an engine: their columns read into pandas)."""
    if B.resolve(surveys, None, what="surveys").engine != "pandas":
        surveys = B.collect(C.validated(surveys, "surveys", reads=(S.CONVERSATION_ID, S.KIND, S.SCORE),
                                        optional=(S.AGENT_ID, S.ANSWERED_AT)).lf)
    sv = S.validate(surveys, "surveys")
    cs = sv[sv[S.KIND].eq("csat")]
    if csat is not None:
        csat.check(cs)
    return cs


def _with_agents(cs: pd.DataFrame, conversations: pd.DataFrame | None) -> pd.DataFrame:
    """CSAT answers with the agent of each conversation (from surveys.agent_id, else conversations)."""
    if S.AGENT_ID in cs.columns and cs[S.AGENT_ID].notna().all():
        return cs
    if conversations is None:
        raise ParameterError("agent-level CSAT needs surveys.agent_id or a conversations table")
    conv = S.validate(conversations, "conversations")[[S.CONVERSATION_ID, S.AGENT_ID]]
    return cs.drop(columns=[S.AGENT_ID], errors="ignore").merge(conv, on=S.CONVERSATION_ID, how="left")


@public
def csat_by_conversation(surveys: pd.DataFrame | None, *, scale: CsatScale | str | None = None) -> pd.Series | None:
    """Mean CSAT score per conversation (index ``conversation_id``, name ``csat``); None without
    surveys. The one place reviews are paired with CSAT answers (statistics, tuning, explorer).
    Unanswered surveys (no score) are left out; with ``scale`` (see
    :func:`qakit.kpis.csat_definition`) answers off the scale are an error.

    Examples
    --------
    >>> sv = pd.DataFrame({"conversation_id": ["c1", "c1", "c2"], "kind": ["csat", "nps", "csat"],
    ...                    "score": [4.0, 9.0, 2.0], "answered_at": None})
    >>> csat_by_conversation(sv).to_dict()
    {'c1': 4.0, 'c2': 2.0}
    """
    if surveys is None:
        return None
    cs = _csat_answers(surveys, None if scale is None else csat_definition(scale))
    out = cs[cs[S.SCORE].notna()].groupby(S.CONVERSATION_ID)[S.SCORE].mean().rename(CSAT)
    return S.add_exclusion(out, "survey sent but not answered (no score)", S.SCORE,
                           cs.loc[cs[S.SCORE].isna(), S.CONVERSATION_ID])


@public
def join_csat(
    scores: pd.DataFrame,
    surveys: pd.DataFrame,
    *,
    unit: str = "conversation",
    satisfied: float | Sequence[float] | None = None,
    conversations: pd.DataFrame | None = None,
    scale: CsatScale | str | tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Review scores joined to CSAT answers on ``conversation_id``.

    Parameters
    ----------
    scores : pandas.DataFrame, or review scores on an engine (Parquet file or folder, DuckDB relation, Polars frame)
        Output of :meth:`qakit.Scorecard.score`. On an engine only per-conversation (or per-agent)
        counts and means of the scores leave it.
    surveys : pandas.DataFrame
        Surveys table; only ``kind == "csat"`` answers are used.
    unit : {"conversation", "agent"}
        ``conversation``: one row per reviewed conversation with a CSAT answer (mean of its
        review scores and of its CSAT answers; its agent the smallest agent id among its reviews,
        normally their one agent). ``agent``: one row per agent: mean IQS over all
        the agent's scored reviews and mean CSAT over all the agent's CSAT answers (reviewed or
        not; the agent comes from ``surveys.agent_id``, else from ``conversations``).
    satisfied : float, optional
        Satisfied threshold (``score >= satisfied``); default the scale's. See
        :func:`qakit.kpis.csat_definition` (the old tuple of top answers still works).
    conversations : pandas.DataFrame, optional
        Conversations table: supplies ``agent_id`` for surveys without one, and covariates such
        as ``channel`` (joined on ``conversation_id`` at conversation level).
    scale : CsatScale or {"1-5", "1-7", "1-10", "0-10"}, default 1-5
        The CSAT definition shared with :func:`qakit.kpis.csat_score`; answers off the scale
        are an error naming the column, values and row ids.

    Returns
    -------
    pandas.DataFrame
        Conversation level: ``conversation_id, agent_id, iqs, csat, satisfied`` (+ conversation
        columns). Agent level: ``agent_id, n, iqs, csat_n, csat, satisfied`` (``satisfied`` the
        share of satisfied answers). Reviews not scored (all N/A) and surveys sent but not
        answered are left out and listed in :func:`qakit.schema.exclusions`.

    Examples
    --------
    >>> scores = pd.DataFrame({"review_id": ["r1", "r2", "r3"], "conversation_id": ["c1", "c1", "c2"],
    ...                        "agent_id": ["a", "a", "b"], "iqs": [80.0, 60.0, 90.0]})
    >>> surveys = pd.DataFrame({"conversation_id": ["c1", "c2"], "kind": "csat", "score": [4.0, 2.0],
    ...                         "answered_at": None})
    >>> join_csat(scores, surveys)
      conversation_id agent_id   iqs  csat  satisfied
    0              c1        a  70.0   4.0       True
    1              c2        b  90.0   2.0      False
    """
    check_choice("unit", unit, UNITS)
    src = B.resolve(scores, None, what="scores")
    names = list(scores.columns) if src.engine == "pandas" else None
    if src.engine != "pandas":
        t = C.validated(src, "scores", reads=(S.IQS,), optional=(S.REVIEW_ID, S.CONVERSATION_ID, S.AGENT_ID))
        names = list(t.columns)
    for c in (S.CONVERSATION_ID, S.AGENT_ID, S.IQS):
        if c not in names:
            raise ParameterError(f"scores must be the output of Scorecard.score; column {c!r} is missing")
    csat = csat_definition(scale, satisfied)
    sv_src = B.resolve(surveys, None, what="surveys")
    if src.engine != "pandas" and sv_src.engine != "pandas":  # both on the engine: only the pairs leave it
        out, excluded, unanswered = _join_csat_on_engine(t, surveys, unit, csat, conversations)
        S.add_exclusion(out, "review not scored (all categories N/A)", S.IQS, excluded)
        S.add_exclusion(out, "survey sent but not answered (no score)", S.SCORE, unanswered)
        return out
    cs = _csat_answers(surveys, csat)  # (surveys on an engine beside review scores in pandas: read to join them here)
    unanswered = cs.loc[cs[S.SCORE].isna(), S.CONVERSATION_ID]
    cs = cs[cs[S.SCORE].notna()]
    cs = cs.assign(**{SATISFIED: csat.satisfied(cs[S.SCORE])})
    if src.engine != "pandas":  # (on the engine: per conversation or per agent statistics leave it)
        per_conv, a_iqs, excluded = _iqs_per_unit_on_engine(t, unit, cs[S.CONVERSATION_ID])
    else:
        scores = S.validate(scores, "scores")
        scored = scores[scores[S.IQS].notna()]
        excluded = scores.loc[scores[S.IQS].isna(), S.REVIEW_ID] if S.REVIEW_ID in scores.columns else []
    if unit == "conversation":
        if src.engine == "pandas":
            agent = scored[S.AGENT_ID]
            if isinstance(agent.dtype, pd.CategoricalDtype):  # (min in text order: the categories sorted)
                agent = agent.cat.reorder_categories(sorted(agent.cat.categories)).cat.as_ordered()
            per_conv = scored.assign(**{S.AGENT_ID: agent}).groupby(S.CONVERSATION_ID, sort=True, observed=True).agg(
                **{S.AGENT_ID: (S.AGENT_ID, "min"), S.IQS: (S.IQS, "mean")})
        per_csat = cs.groupby(S.CONVERSATION_ID).agg(**{CSAT: (S.SCORE, "mean"), SATISFIED: (SATISFIED, "mean")})
        out = per_conv.join(per_csat, how="inner").reset_index()
        out[SATISFIED] = out[SATISFIED] >= 0.5
        if conversations is not None:
            conv = S.validate(conversations, "conversations")
            extra = [c for c in conv.columns if c not in out.columns or c == S.CONVERSATION_ID]
            out = out.merge(conv[extra], on=S.CONVERSATION_ID, how="left")
    else:
        cs = _with_agents(cs, conversations)
        if src.engine == "pandas":
            a_iqs = scored.groupby(S.AGENT_ID).agg(**{S.N: (S.IQS, "size"), S.IQS: (S.IQS, "mean")})
        a_csat = cs.groupby(S.AGENT_ID).agg(**{CSAT_N: (S.SCORE, "size"), CSAT: (S.SCORE, "mean"),
                                               SATISFIED: (SATISFIED, "mean")})
        out = a_iqs.join(a_csat, how="inner").reset_index()
    S.add_exclusion(out, "review not scored (all categories N/A)", S.IQS, excluded)
    S.add_exclusion(out, "survey sent but not answered (no score)", S.SCORE, unanswered)
    return out


def csat_per_conversation_on_engine(sv: Any, csat: CsatScale | None = None) -> tuple[nw.LazyFrame, nw.LazyFrame]:
    """:func:`csat_by_conversation` where the surveys are (``sv``: the surveys validated on their
    engine, :func:`qakit.metrics._contract.validated`): a lazy frame on that engine of each answered
    conversation's ``conversation_id`` (text), mean CSAT score ``csat`` and, with ``csat``, the share of
    its answers that are satisfied ``satisfied``; and the CSAT rows (text ids, unanswered ones included).
    With ``csat``, answers off its scale are refused by name (the check every survey KPI makes).
    Nothing is collected: the caller joins it to the reviews there."""
    if csat is not None:
        _, cs, _ = MS.survey_rows(sv, None, "csat", (csat.low, csat.high), csat.off_scale, [], None)
    else:
        cs = sv.lf.select(S.CONVERSATION_ID, S.KIND, S.SCORE).filter(nw.col(S.KIND) == "csat")
    cs = cs.with_columns(nw.col(S.CONVERSATION_ID).cast(nw.String))
    score = nw.col(S.SCORE).cast(nw.Float64)
    answered = cs.filter(~nw.col(S.SCORE).is_null())
    if csat is None:
        return answered.group_by(S.CONVERSATION_ID).agg(score.mean().alias(CSAT)), cs
    return (answered.with_columns((score >= csat.satisfied_from).cast(nw.Float64).alias(SATISFIED))
            .group_by(S.CONVERSATION_ID).agg(score.mean().alias(CSAT), nw.col(SATISFIED).mean())), cs


def _join_csat_on_engine(t: Any, surveys: Any, unit: str, csat: CsatScale,
                         conversations: Any) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """:func:`join_csat` when the review scores (``t``: validated on their engine) and the surveys are
    both on an engine: the answers of each conversation (mean score, share satisfied) joined to its
    scored reviews there, so only one row per pair leaves it (conversation level), or each agent's
    answers counted there (agent level: :func:`_agent_csat_on_engine`). Returns the joined table
    (as the pandas path's), the unscored reviews' ids and the unanswered CSAT rows' conversation ids."""
    if unit == "agent":
        g, unanswered = _agent_csat_on_engine(surveys, conversations, csat)
        _, a_iqs, excluded = _iqs_per_unit_on_engine(t, unit, None)
        a_csat = pd.DataFrame({CSAT_N: g["_n"].astype(np.int64), CSAT: g["_mean"], SATISFIED: g["_k"] / g["_n"]})
        return C.carry(a_iqs.join(a_csat, how="inner").reset_index(), t), excluded, unanswered
    scored, iqs, excluded = _scored_on_engine(t)
    sv = C.validated(surveys, "surveys", reads=(S.CONVERSATION_ID, S.KIND, S.SCORE), like=t)
    per_csat, cs = csat_per_conversation_on_engine(sv, csat)
    unanswered = B.collect(cs.filter(nw.col(S.SCORE).is_null()).select(S.CONVERSATION_ID)
                           .sort(S.CONVERSATION_ID))[S.CONVERSATION_ID]
    out = G.aggregate(scored.join(per_csat, on=S.CONVERSATION_ID, how="inner"), [S.CONVERSATION_ID],
                      {S.AGENT_ID: G.agg("min", nw.col(S.AGENT_ID)), S.IQS: G.agg("mean", iqs),
                       CSAT: G.agg("max", nw.col(CSAT)), SATISFIED: G.agg("max", nw.col(SATISFIED))})
    out[SATISFIED] = out[SATISFIED] >= 0.5
    if conversations is not None:
        conv = S.validate(conversations, "conversations")
        extra = [c for c in conv.columns if c not in out.columns or c == S.CONVERSATION_ID]
        out = out.merge(conv[extra].astype({S.CONVERSATION_ID: "str"}), on=S.CONVERSATION_ID, how="left")
    return C.carry(out, t, sv), excluded, unanswered


def _scored_on_engine(t: Any) -> tuple[nw.LazyFrame, Any, Any]:
    """The scored reviews of review scores validated on an engine (``t``; conversation and agent ids
    as text, as the pandas path compares them), the IQS as a float expression, and the ids of the
    unscored reviews (collected; [] without review ids): :func:`join_csat`'s review side on an engine."""
    lf = t.lf.with_columns(nw.col(S.CONVERSATION_ID).cast(nw.String), nw.col(S.AGENT_ID).cast(nw.String))
    excluded = (B.collect(lf.filter(nw.col(S.IQS).is_null()).select(nw.col(S.REVIEW_ID).cast(nw.String)))[S.REVIEW_ID]
                if S.REVIEW_ID in t.columns else [])
    return lf.filter(~nw.col(S.IQS).is_null()), nw.col(S.IQS).cast(nw.Float64), excluded


def _iqs_per_unit_on_engine(t: Any, unit: str, answered: pd.Series | None) -> tuple[pd.DataFrame | None,
                                                                                     pd.DataFrame | None, Any]:
    """:func:`join_csat`'s review side for scores that live on an engine (``t``: validated there):
    per conversation with a CSAT answer (``answered``: their ids) the smallest agent id and the mean
    IQS of its scored reviews, or per agent the scored reviews' count and mean IQS -- indexed as the
    pandas path's groupby -- and the ids of the unscored reviews."""
    scored, iqs, excluded = _scored_on_engine(t)
    per_conv = a_iqs = None
    if unit == "conversation":
        ids = pd.DataFrame({S.CONVERSATION_ID: pd.unique(answered.dropna().astype("str"))})
        keys = B.lazy_frame(ids, t.engine, t.con)
        per_conv = G.aggregate(scored.join(keys, on=S.CONVERSATION_ID, how="semi"), [S.CONVERSATION_ID],
                               {S.AGENT_ID: G.agg("min", nw.col(S.AGENT_ID)), S.IQS: G.agg("mean", iqs)})
        per_conv = per_conv.set_index(S.CONVERSATION_ID)
    else:
        a_iqs = G.aggregate(scored, [S.AGENT_ID], {S.N: G.n_rows(), S.IQS: G.agg("mean", iqs)}).set_index(S.AGENT_ID)
    return per_conv, a_iqs, excluded


# --- correlation helpers ----------------------------------------------------------------------
def _rank_rows(a: np.ndarray) -> np.ndarray:
    return stats.rankdata(a, axis=-1)


def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xm = x - x.mean(axis=-1, keepdims=True)
    ym = y - y.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (xm * ym).sum(-1) / np.sqrt((xm**2).sum(-1) * (ym**2).sum(-1))


def _spearman_stat(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return _pearson_rows(_rank_rows(x), _rank_rows(y))


def _kendall_stat(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Kendall's tau-b over the last axis for each resample (scipy's O(n log n) algorithm)."""
    x2, y2 = np.atleast_2d(x), np.atleast_2d(y)
    out = np.array([stats.kendalltau(a, b).statistic for a, b in zip(x2, y2)])  # loop over resamples
    return out if np.ndim(x) > 1 else out[0]


#: most cells (distinct values of one variable x of the other) :func:`_kendall_ase` walks; beyond
#: it both variables have many distinct values (few ties) and Fieller's variance is used
KENDALL_ASE_MAX_CELLS = 200_000_000


def _kendall_ase(x: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    """Kendall's tau-b and its asymptotic standard error with ties (Brown & Benedetti 1977, JASA
    72:309-315; the ``ASE`` of SAS PROC FREQ and of Agresti's *Categorical Data Analysis*), or
    None when both variables have so many distinct values that the walk would exceed
    :data:`KENDALL_ASE_MAX_CELLS`.

    Per pair ``i``: ``d_i = sum_j sign(x_i - x_j) sign(y_i - y_j)`` (concordant minus discordant
    partners), ``w_r = n^2 - sum n_x^2`` and ``w_c = n^2 - sum n_y^2`` over the tie groups,
    ``w = sqrt(w_r w_c)``, ``tau_b = sum d_i / w``, ``v_i = n_x(i) w_c + n_y(i) w_r`` and
    ``ASE = sqrt(sum_i (t_i - mean t)^2) / w^2`` with ``t_i = 2 w d_i + tau_b v_i`` (the textbook
    ``sum t_i^2 - n^3 tau_b^2 (w_r + w_c)^2``, centred: ``mean t = n tau_b (w_r + w_c)``).
    ``d_i`` comes from per-value counts, one pass per distinct value of the variable with fewer of
    them: time ``O(n + k_x k_y)``, memory ``O(n)``.
    """
    n = len(x)
    _, xc, nx = np.unique(x, return_inverse=True, return_counts=True)
    _, yc, ny = np.unique(y, return_inverse=True, return_counts=True)
    if len(ny) > len(nx):  # (tau-b and its ASE are symmetric: walk the variable with fewer values)
        xc, nx, yc, ny = yc, ny, xc, nx
    kx, ky = len(nx), len(ny)
    if kx * ky > KENDALL_ASE_MAX_CELLS:
        return None
    below = np.cumsum(nx) - nx
    total = 2 * below + nx - n  # sum_j sign(x_a - x_j) over all j, per x value a
    order = np.argsort(yc, kind="stable")
    starts = np.concatenate([[0], np.cumsum(ny)])
    before = np.zeros(kx, dtype=np.int64)  # sum over the y values below the current one
    d = np.empty(n, dtype=np.int64)
    for c in range(ky):
        idx = order[starts[c]:starts[c + 1]]
        cnt = np.bincount(xc[idx], minlength=kx)
        delta = 2 * (np.cumsum(cnt) - cnt) + cnt - ny[c]  # sum over j with y_j = c of sign(x_a - x_j)
        d[idx] = (2 * before + delta - total)[xc[idx]]
        before += delta
    # in units of n (d), n^2 (w_r, w_c, w) and n^3 (v): the same ratio, no huge numbers
    wr = 1.0 - float((nx.astype(float) ** 2).sum()) / n**2
    wc = 1.0 - float((ny.astype(float) ** 2).sum()) / n**2
    w = np.sqrt(wr * wc)
    tau = float(d.sum()) / n / (w * n)
    t = 2 * w * (d / n) + tau * (nx[xc] / n * wc + ny[yc] / n * wr)
    return tau, float(np.sqrt(((t - t.mean()) ** 2).sum()) / (n * w**2))


class _Progress:
    """Counts statistic evaluations of scipy.stats.bootstrap into a tqdm bar."""

    def __init__(self, total: int, desc: str, enabled: bool):
        self.bar = None
        if enabled:
            self.bar = tqdm(total=total, desc=desc, leave=False)

    def wrap(self, fn):
        def inner(x, y, axis=-1):
            out = fn(x, y, axis=axis)
            if self.bar is not None:
                self.bar.update(int(np.size(out)))
            return out

        return inner

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _bootstrap_ci(fn, x, y, *, level, n_resamples, seed, progress, desc):
    prog = _Progress(n_resamples, desc, progress)
    try:
        with warnings.catch_warnings():
            # a handful of pairs can resample to one value only: the interval is undefined (NaN), not a
            # warning on the report's stderr
            warnings.simplefilter("error", stats.DegenerateDataWarning)
            res = stats.bootstrap(
                (x, y), prog.wrap(fn), paired=True, vectorized=True, n_resamples=n_resamples,
                confidence_level=level, method="percentile", rng=np.random.default_rng(seed),
                batch=max(1, min(n_resamples, 5_000_000 // max(len(x), 1))),
            )
    except stats.DegenerateDataWarning:
        return float("nan"), float("nan")
    finally:
        prog.close()
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _design(frame: pd.DataFrame, covariates: list[str]) -> np.ndarray:
    """Intercept + numeric covariates + dummies (drop first) for categorical ones."""
    parts = [np.ones((len(frame), 1))]
    for c in covariates:
        col = frame[c]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            parts.append(col.to_numpy(dtype=float)[:, None])
        else:
            d = pd.get_dummies(col.astype("str"), drop_first=True, dtype=float)
            if d.shape[1]:
                parts.append(d.to_numpy())
    return np.hstack(parts)


def _weighted_pearson(x, y, w):
    w = w / w.sum()
    mx, my = (w * x).sum(), (w * y).sum()
    cov = (w * (x - mx) * (y - my)).sum()
    return cov / np.sqrt((w * (x - mx) ** 2).sum() * (w * (y - my) ** 2).sum())


@public
def iqs_csat_correlation(
    scores: pd.DataFrame,
    surveys: pd.DataFrame,
    *,
    unit: str = "conversation",
    method: str | Sequence[str] = ("pearson", "spearman", "kendall"),
    covariate: str | Sequence[str] | None = None,
    conversations: pd.DataFrame | None = None,
    weighted: bool = False,
    satisfied: float | Sequence[float] | None = None,
    scale: CsatScale | str | tuple[float, float] | None = None,
    level: float = 0.95,
    n_resamples: int = 1999,
    bootstrap_max_n: int | None = BOOTSTRAP_MAX_N,
    seed: int = 0,
    min_n: int = MIN_N,
    progress: bool = False,
) -> pd.DataFrame:
    """Correlation between IQS and CSAT with confidence intervals and p-values.

    Parameters
    ----------
    scores : pandas.DataFrame
        Output of :meth:`qakit.Scorecard.score`.
    surveys : pandas.DataFrame
        Surveys table (``kind == "csat"`` rows are used).
    unit : {"conversation", "agent"}
        Unit of analysis, see :func:`join_csat`.
    method : str or list of str
        Any of ``pearson``, ``spearman``, ``kendall``, ``point_biserial`` (IQS against the
        satisfied/unsatisfied split, conversation level only) and ``partial`` (Pearson after
        removing ``covariate`` from both variables).
    covariate : str or list of str, optional
        Column(s) for the partial correlation, looked up in the joined table (pass
        ``conversations`` for e.g. ``channel``); categorical columns become dummies.
    conversations : pandas.DataFrame, optional
        See :func:`join_csat`.
    weighted : bool, default=False
        Agent level only: Pearson weighted by each agent's number of CSAT answers; its CI uses
        Kish's effective n in the Fisher interval.
    satisfied : float, optional
        Satisfied threshold for ``point_biserial`` (``score >= satisfied``), default the scale's.
    scale : CsatScale or {"1-5", "1-7", "1-10", "0-10"}, default 1-5
        The CSAT definition (:class:`qakit.kpis.CsatScale`); answers off it are an error, so a
        1-10 CSAT is never split at the 1-5 threshold.
    level : float, default=0.95
    n_resamples : int, default=1999
        Bootstrap resamples for the rank methods (percentile intervals, paired resampling).
    bootstrap_max_n : int or None, default=10_000
        Most pairs for which Spearman and Kendall get the bootstrap interval; with more pairs
        they get the large-sample Fisher z interval (Notes), which ``ci_method`` names. ``None``:
        always bootstrap (slow: over a minute from about 50,000 pairs); ``0``: never.
    seed : int, default=0
        Seed of the bootstrap.
    min_n : int, default=30
        Fewer pairs than this: a :class:`~qakit.errors.SmallSampleWarning` and ``small_sample``.
    progress : bool, default=False
        Show a progress bar while bootstrapping.

    Returns
    -------
    pandas.DataFrame
        ``unit, method, n, r, ci_low, ci_high, p_value, ci_method, small_sample``; one row per
        method. ``r`` is Pearson's r, Spearman's rho, Kendall's tau-b, the point-biserial r or
        the partial r.

    Notes
    -----
    Pearson: ``r = cov(x, y) / (sd x sd y)``, CI ``tanh(atanh r +/- z_(1+c)/2 / sqrt(n - 3))``
    (Fisher) from :meth:`scipy.stats.PearsonRResult.confidence_interval`; p from
    :func:`scipy.stats.pearsonr`. Spearman and Kendall: p-values from
    :func:`scipy.stats.spearmanr` / :func:`scipy.stats.kendalltau`; CIs by paired percentile
    bootstrap (:func:`scipy.stats.bootstrap`) up to ``bootstrap_max_n`` pairs, above it by the
    Fisher z interval ``tanh(atanh r +/- z_(1+c)/2 * se)`` (:func:`qakit.intervals.fisher_ci`).
    Spearman: ``se^2 = (1 + rho^2 / 2) / (n - 3)`` (Bonett & Wright 2000, Psychometrika
    65(1):23-28). Kendall's tau-b: ``se = ASE / (1 - tau^2)`` (delta method) with tau-b's
    asymptotic standard error counting ties (Brown & Benedetti 1977, JASA 72:309-315; SAS PROC
    FREQ's ``ASE``; ``_kendall_ase``). Fieller, Hartley & Pearson's ``se^2 = 0.437 / (n - 4)``
    (Biometrika 44:470-481, 1957; recommended by Bonett & Wright 2000) is derived for continuous
    data: with CSAT answers on 1-5 it came out 11-21 % narrower than the bootstrap (n = 1,000 and
    3,000, rho 0.3 and 0.6), the tie-aware one within 1 % (within 0.001 at each end). Fieller's is
    used only when both variables have so many distinct values (few ties) that the tie-aware walk
    (time ``O(n + k_x k_y)``, ``k`` the distinct values) would pass 2e8 cells. Point-biserial:
    :func:`scipy.stats.pointbiserialr`, Fisher CI. Partial: residuals of x and y after least
    squares on ``[1, covariates]``, Pearson of the residuals, t test with ``n - 2 - k`` degrees of
    freedom, Fisher CI with ``n - 3 - k``.

    Why the switch: 1999 resamples of Spearman's ranks or of Kendall's tau cost time linear in
    the pairs (measured on the shared 2-core machine, load 2-5, best of 2, ``_bootstrap_ci``
    batches; IQS/CSAT-like tied data): 5,000 pairs 4.2 s (Spearman) and 2.6 s (Kendall); 10,000
    pairs 5.0 s and 4.8 s; 20,000 pairs 12.5 s and 16.4 s; 50,000 pairs 64 s and 20 s (load 7-8);
    3 million pairs about an hour each (linear extrapolation). Already at 3,000 pairs the bootstrap
    and the Fisher intervals differ by less than 0.002 at each end (bivariate normal, continuous or
    in CSAT-like steps). The four methods on 3 million pairs: 14-28 s at load 5, of which scipy's
    statistics and the tie-aware variance about 3 s, the rest the join of scores and answers.

    Examples
    --------
    >>> scores = pd.DataFrame({"review_id": list("abcdef"), "conversation_id": list("abcdef"),
    ...                        "agent_id": "x", "iqs": [50.0, 60, 70, 80, 90, 100]})
    >>> surveys = pd.DataFrame({"conversation_id": list("abcdef"), "kind": "csat",
    ...                         "score": [1.0, 3, 2, 4, 5, 5], "answered_at": None})
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res = iqs_csat_correlation(scores, surveys, method="pearson")
    >>> round(float(res["r"].iloc[0]), 4)  # 140 / sqrt(1750 * 13.333)
    0.9165
    """
    check_choice("unit", unit, UNITS)
    methods = [method] if isinstance(method, str) else list(method)
    for m in methods:
        check_choice("method", m, METHODS)
    level = check_level(level)
    covs = as_by(covariate)
    if "partial" in methods and not covs:
        raise ParameterError("method 'partial' needs covariate=... (e.g. 'channel' with conversations=...)")
    if "point_biserial" in methods and unit != "conversation":
        raise ParameterError("point_biserial is defined at unit='conversation' (satisfied yes/no per answer)")
    if weighted and unit != "agent":
        raise ParameterError("weighted=True applies to unit='agent' (weights = CSAT answers per agent)")
    joined = join_csat(scores, surveys, unit=unit, satisfied=satisfied, conversations=conversations, scale=scale)
    if covs:
        check_by(joined, covs, "the joined IQS/CSAT table (pass conversations=... for conversation columns)")
        joined = joined.dropna(subset=covs)
    x = joined[S.IQS].to_numpy(dtype=float)
    y = joined[CSAT].to_numpy(dtype=float)
    n = len(x)
    small = n < min_n
    if small:
        warnings.warn(f"only {n} IQS/CSAT pairs at {unit} level (< {min_n}); the correlation is "
                      "very uncertain", SmallSampleWarning, stacklevel=2)
    rows = []
    constant = n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0
    for m in methods:
        r = lo = hi = p = np.nan
        ci_method = ""
        if not constant:
            if m == "pearson" and weighted:
                w = joined[CSAT_N].to_numpy(dtype=float)
                r = float(_weighted_pearson(x, y, w))
                n_eff = w.sum() ** 2 / (w**2).sum()
                lo, hi = fisher_ci(r, n_eff, level)
                t = r * np.sqrt((n_eff - 2) / (1 - r**2))
                p = float(2 * stats.t.sf(abs(t), n_eff - 2))
                ci_method = "Fisher z, Kish effective n"
            elif m == "pearson":
                res = stats.pearsonr(x, y)
                ci = res.confidence_interval(level)
                r, p, lo, hi = float(res.statistic), float(res.pvalue), float(ci.low), float(ci.high)
                ci_method = "Fisher z"
            elif m in ("spearman", "kendall"):
                res = stats.spearmanr(x, y) if m == "spearman" else stats.kendalltau(x, y)
                r, p = float(res.statistic), float(res.pvalue)
                if bootstrap_max_n is None or n <= bootstrap_max_n:
                    fn = _spearman_stat if m == "spearman" else _kendall_stat
                    lo, hi = _bootstrap_ci(fn, x, y, level=level, n_resamples=n_resamples, seed=seed,
                                           progress=progress, desc=f"bootstrap {m}")
                    ci_method = f"percentile bootstrap ({n_resamples})"
                else:
                    tb = _kendall_ase(x, y) if m == "kendall" else None
                    if tb is not None:  # tau-b's own variance, ties counted (CSAT answers: 5 values)
                        se = tb[1] / (1 - r**2) if r**2 < 1 else 0.0
                        lo, hi = fisher_ci(r, n, level, se=se)
                        how = "Brown-Benedetti variance, ties counted"
                    else:
                        lo, hi = fisher_ci(r, n, level, kind=m)
                        how = f"{'Bonett-Wright' if m == 'spearman' else 'Fieller'} variance"
                    ci_method = f"Fisher z, {how} (n > {bootstrap_max_n:,}: no bootstrap)"
            elif m == "point_biserial":
                sat = joined[SATISFIED].to_numpy(dtype=bool)
                if sat.all() or (~sat).all():
                    ci_method = "undefined: everyone (or no one) satisfied"
                else:
                    res = stats.pointbiserialr(sat.astype(float), x)
                    r, p = float(res.statistic), float(res.pvalue)
                    lo, hi = fisher_ci(r, n, level)
                    ci_method = "Fisher z"
            else:  # partial
                X = _design(joined, covs)
                k = X.shape[1] - 1
                rx = x - X @ np.linalg.lstsq(X, x, rcond=None)[0]
                ry = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
                df = n - 2 - k
                if df > 0 and np.ptp(rx) > 0 and np.ptp(ry) > 0:
                    r = float(np.corrcoef(rx, ry)[0, 1])
                    t = r * np.sqrt(df / (1 - r**2))
                    p = float(2 * stats.t.sf(abs(t), df))
                    lo, hi = fisher_ci(r, n, level, k)
                ci_method = f"Fisher z, {k} covariate term(s) ({', '.join(covs)})"
        rows.append({UNIT: unit, METHOD: m, S.N: n, R: r, S.CI_LOW: lo, S.CI_HIGH: hi,
                     S.P_VALUE: p, CI_METHOD: ci_method, S.SMALL_SAMPLE: small})
    out = pd.DataFrame(rows, columns=CORRELATION_COLUMNS)
    out.attrs.update(joined.attrs)
    return out


# --- per category ------------------------------------------------------------------------------
#: words for the size of a correlation |r| (Cohen's conventions: 0.1 small, 0.3 medium, 0.5 large)
STRENGTH_WORDS = ((0.5, "strongly"), (0.3, "moderately"), (0.1, "weakly"), (0.0, "barely"))


@public
def correlation_verdict(r: float, ci_low: float, ci_high: float, n: int, *, subject: str = "IQS",
                        other: str = "CSAT", unit: str = "conversations") -> str:
    """One plain sentence on a correlation and its 95 % interval, for people who do not read tables.

    The strength word follows Cohen's conventions on ``|r|`` (>= 0.5 strongly, >= 0.3 moderately,
    >= 0.1 weakly, else barely); an interval containing 0 means no credible relation either way.

    Examples
    --------
    >>> correlation_verdict(0.367, 0.297, 0.433, 626)
    'IQS tracks CSAT moderately: r = 0.37 [0.30, 0.43], n = 626 conversations.'
    >>> correlation_verdict(0.05, -0.1, 0.2, 80, unit="agents")
    'No credible relation between IQS and CSAT: r = 0.05 [-0.10, 0.20], n = 80 agents (the interval includes 0).'
    >>> correlation_verdict(-0.35, -0.5, -0.2, 200)
    'IQS runs against CSAT (moderately): r = -0.35 [-0.50, -0.20], n = 200 conversations.'
    """
    if not np.isfinite(r):
        return f"IQS and CSAT cannot be compared: too few {unit} with both (n = {n})."
    nums = f"r = {r:.2f} [{ci_low:.2f}, {ci_high:.2f}], n = {n:,} {unit}"
    word = next(w for cut, w in STRENGTH_WORDS if abs(r) >= cut)
    if not (ci_low > 0 or ci_high < 0):
        return f"No credible relation between {subject} and {other}: {nums} (the interval includes 0)."
    if r > 0:
        return f"{subject} tracks {other} {word}: {nums}."
    return f"{subject} runs against {other} ({word}): {nums}."


def _category_matrix(ratings: pd.DataFrame, card: Scorecard) -> pd.DataFrame:
    """Reviews x categories matrix of category scores (percent, NaN = N/A), with ids."""
    return _matrix_of_rows(card.category_rows(ratings), card)


def _matrix_of_rows(rows: pd.DataFrame, card: Scorecard) -> pd.DataFrame:
    """:func:`_category_matrix` from the card's category rows (:meth:`Scorecard.category_rows`)."""
    ids = rows.groupby(S.REVIEW_ID, sort=False)[[S.CONVERSATION_ID, S.AGENT_ID]].first()
    mat = rows.set_index([S.REVIEW_ID, S.CATEGORY])[S.CATEGORY_SCORE].unstack(S.CATEGORY)
    mat = mat.reindex(index=ids.index, columns=[c for c in card.category_names if c in mat.columns])
    mat.columns.name = None
    return ids.join(mat).reset_index()


@public
def category_correlations(
    ratings: pd.DataFrame,
    card: Scorecard,
    surveys: pd.DataFrame,
    *,
    method: str = "spearman",
    level: float = 0.95,
    min_n: int = MIN_N,
    scale: CsatScale | str | tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Each category's score against CSAT, per conversation, with Benjamini-Hochberg p-values.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Long ratings.
    card : Scorecard
    surveys : pandas.DataFrame
    method : {"spearman", "pearson"}
    level : float, default=0.95
    min_n : int, default=30

    Returns
    -------
    pandas.DataFrame
        ``category, n, r, ci_low, ci_high, p_value, p_adjusted, small_sample``: ``n`` the
        conversations that rated the category and have a CSAT answer.

    Notes
    -----
    For each category the conversations that rated it (N/A excluded) are paired with their
    mean CSAT score. Pearson uses the Fisher interval; Spearman uses the Fisher interval with
    the Bonett-Wright standard error ``sqrt((1 + rho^2 / 2) / (n - 3))``. ``p_adjusted``:
    Benjamini-Hochberg false discovery rate over the categories
    (:func:`scipy.stats.false_discovery_control`).
    """
    check_choice("method", method, ("spearman", "pearson"))
    level = check_level(level)
    cs = csat_by_conversation(surveys, scale=csat_definition(scale))
    mat = _category_matrix(ratings, card)
    cats = [c for c in card.category_names if c in mat.columns]
    per_conv = mat.groupby(S.CONVERSATION_ID)[cats].mean()
    j = per_conv.join(cs, how="inner")
    rows = []
    for c in cats:
        d = j[[c, CSAT]].dropna()
        n = len(d)
        r = lo = hi = p = np.nan
        if n >= 4 and d[c].nunique() > 1 and d[CSAT].nunique() > 1:
            if method == "pearson":
                res = stats.pearsonr(d[c], d[CSAT])
                r, p = float(res.statistic), float(res.pvalue)
                lo, hi = fisher_ci(r, n, level)
            else:
                res = stats.spearmanr(d[c], d[CSAT])
                r, p = float(res.statistic), float(res.pvalue)
                lo, hi = fisher_ci(r, n, level, kind="spearman")
        rows.append({S.CATEGORY: c, S.N: n, R: r, S.CI_LOW: lo, S.CI_HIGH: hi, S.P_VALUE: p})
    out = pd.DataFrame(rows)
    ok = out[S.P_VALUE].notna()
    out[P_ADJUSTED] = np.nan
    if ok.any():
        out.loc[ok, P_ADJUSTED] = stats.false_discovery_control(out.loc[ok, S.P_VALUE].to_numpy())
    out[S.SMALL_SAMPLE] = warn_small(out[S.N], "category x CSAT pairs", min_n=min_n)
    return out


@public
def key_drivers(
    ratings: pd.DataFrame,
    card: Scorecard,
    surveys: pd.DataFrame,
    *,
    min_coverage: float = 0.5,
    level: float = 0.95,
    scale: CsatScale | str | tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Which categories move CSAT: CSAT regressed on standardised category scores.

    Parameters
    ----------
    ratings : pandas.DataFrame
    card : Scorecard
    surveys : pandas.DataFrame
    min_coverage : float, default=0.5
        Categories rated in fewer than this share of the conversations (e.g. "Escalation
        handling", N/A unless escalated) are left out of the model and itemised in
        :func:`qakit.schema.exclusions`; remaining N/A cells are set to the category mean
        (0 after standardising), i.e. "N/A counts as average".
    level : float, default=0.95

    Returns
    -------
    pandas.DataFrame
        ``category, n, coef, se, ci_low, ci_high, p_value, r, coverage`` sorted by ``coef``
        (descending). ``coef`` is the standardised coefficient (CSAT standard deviations per
        standard deviation of the category score); ``r`` the zero-order Pearson correlation.
        ``attrs["r2"]`` holds the model's R squared.

    Notes
    -----
    OLS on z-scores: ``beta = (X'X)^-1 X'y``, ``se = sqrt(diag((X'X)^-1) * RSS / (n - p - 1))``,
    t interval with ``n - p - 1`` degrees of freedom. With one category the coefficient equals
    Pearson's r and its p-value equals that of :func:`scipy.stats.pearsonr`. Coefficients of
    correlated categories share credit: read them together with ``r``.
    """
    level = check_level(level)
    if not 0 <= min_coverage <= 1:
        raise ParameterError(f"min_coverage must be in [0, 1]; got {min_coverage!r}")
    cs = csat_by_conversation(surveys, scale=csat_definition(scale))
    mat = _category_matrix(ratings, card)
    cats = [c for c in card.category_names if c in mat.columns]
    per_conv = mat.groupby(S.CONVERSATION_ID)[cats].mean()
    j = per_conv.join(cs, how="inner")
    coverage = j[cats].notna().mean()
    keep = [c for c in cats if coverage[c] >= min_coverage and j[c].std() > 0]
    dropped = [c for c in cats if c not in keep]
    n = len(j)
    p = len(keep)
    if n - p - 1 <= 0 or p == 0:
        raise ParameterError(f"key_drivers needs more conversations with CSAT than categories: "
                             f"{n} conversations, {p} usable categories ({keep})")
    X = j[keep]
    Z = ((X - X.mean()) / X.std()).fillna(0.0).to_numpy()
    yv = j[CSAT].to_numpy(dtype=float)
    yz = (yv - yv.mean()) / yv.std(ddof=1)
    Xd = np.column_stack([np.ones(n), Z])
    beta, *_ = np.linalg.lstsq(Xd, yz, rcond=None)
    resid = yz - Xd @ beta
    dof = n - p - 1
    sigma2 = float(resid @ resid) / dof
    cov = np.linalg.pinv(Xd.T @ Xd) * sigma2
    se = np.sqrt(np.diag(cov))[1:]
    b = beta[1:]
    t = stats.t.ppf((1 + level) / 2, dof)
    pv = 2 * stats.t.sf(np.abs(b / se), dof)
    zero_order = [float(np.corrcoef(Z[:, i], yz)[0, 1]) for i in range(p)]
    out = pd.DataFrame({S.CATEGORY: keep, S.N: n, COEF: b, S.SE: se, S.CI_LOW: b - t * se,
                        S.CI_HIGH: b + t * se, S.P_VALUE: pv, R: zero_order,
                        COVERAGE: coverage[keep].to_numpy()})
    out = out.sort_values(COEF, ascending=False).reset_index(drop=True)
    out.attrs["r2"] = float(1 - (resid @ resid) / (yz @ yz))
    for c in dropped:
        why = (f"category rated in {coverage[c]:.0%} of conversations (< min_coverage {min_coverage:.0%})"
               if coverage[c] < min_coverage else "category score constant")
        S.add_exclusion(out, f"{c}: {why}", S.CATEGORY, [c])
    return out


# --- per agent ----------------------------------------------------------------------------------
@public
def shrink_means(means: np.ndarray, variances: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Empirical-Bayes (normal-normal) shrinkage of group means towards the precision-weighted mean.

    Returns ``(shrunk, B, grand_mean, tau2)`` where ``B = tau2 / (tau2 + v_i)`` is the weight on
    the group's own mean, ``v_i = s_pooled^2 / n_i`` its sampling variance, and ``tau2`` the
    between-group variance by the method of moments (DerSimonian-Laird), floored at 0. Without a
    within-group spread to estimate ``v_i`` (every group has one observation) nothing is shrunk:
    ``B = 1``, ``tau2`` NaN.

    Examples
    --------
    >>> shrunk, B, grand, tau2 = shrink_means(np.array([60.0, 80.0]), np.array([100.0, 100.0]),
    ...                                       np.array([4, 4]))
    >>> float(grand), float(tau2), [float(b) for b in B]  # v = 100/4 = 25; Q = 8, c = 0.04
    (70.0, 175.0, [0.875, 0.875])
    >>> [float(s) for s in shrunk]  # 70 -/+ 0.875 * 10
    [61.25, 78.75]
    """
    means, variances, n = (np.asarray(a, dtype=float) for a in (means, variances, n))
    ok = np.isfinite(means) & (n >= 1)
    pooled = np.nansum((n[ok] - 1) * np.nan_to_num(variances[ok])) / max(np.sum(n[ok] - 1), 1)
    if not ok.any() or not pooled > 0:  # one observation per group (or no spread): nothing to shrink by
        grand = float(np.mean(means[ok])) if ok.any() else float("nan")
        return np.where(ok, means, np.nan), np.where(ok, 1.0, np.nan), grand, float("nan")
    v = pooled / np.where(n > 0, n, np.nan)
    w = 1 / v[ok]
    grand_fe = np.sum(w * means[ok]) / np.sum(w)
    k = ok.sum()
    q = np.sum(w * (means[ok] - grand_fe) ** 2)
    c = np.sum(w) - np.sum(w**2) / np.sum(w)
    tau2 = max(0.0, (q - (k - 1)) / c) if k > 1 and c > 0 else 0.0
    w_re = 1 / (v[ok] + tau2)
    grand = float(np.sum(w_re * means[ok]) / np.sum(w_re))
    B = np.where(ok, tau2 / (tau2 + v), np.nan)
    shrunk = np.where(ok, grand + B * (means - grand), np.nan)
    return shrunk, B, grand, float(tau2)


@public
def agent_summary(
    scores: pd.DataFrame,
    surveys: pd.DataFrame | None = None,
    *,
    by: str | Sequence[str] = S.AGENT_ID,
    satisfied: float | Sequence[float] | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
    conversations: pd.DataFrame | None = None,
    scale: CsatScale | str | tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Per-agent IQS and CSAT with CIs, small-sample flags and an empirical-Bayes IQS.

    Parameters
    ----------
    scores : pandas.DataFrame, or review scores on an engine (Parquet file or folder, DuckDB relation, Polars frame)
        Output of :meth:`qakit.Scorecard.score`. On an engine, only each agent's n, mean and sd of the
        scores leave it (the same numbers as on pandas).
    surveys : pandas.DataFrame, optional
        With it, each agent's CSAT (percent satisfied, Wilson CI) is added.
    by : str or list of str, default="agent_id"
    satisfied : float, optional
        Satisfied threshold (``score >= satisfied``), default the scale's.
    level : float, default=0.95
    min_n : int, default=30
    conversations : pandas.DataFrame, optional
        Supplies agent ids for surveys without ``agent_id``.
    scale : CsatScale or {"1-5", "1-7", "1-10", "0-10"}, default 1-5
        The CSAT definition (:class:`qakit.kpis.CsatScale`); answers off it are an error.

    Returns
    -------
    pandas.DataFrame
        ``*by, n, iqs, ci_low, ci_high, small_sample, iqs_shrunk, shrinkage, rank,
        rank_shrunk`` and, with surveys, ``csat_n, csat, csat_ci_low, csat_ci_high``
        (percent satisfied). Sorted by ``rank_shrunk``.

    Notes
    -----
    ``iqs_shrunk = m + B (iqs - m)`` with ``B = tau^2 / (tau^2 + s^2 / n)`` (see
    :func:`shrink_means`): an agent with few reviews is pulled towards the overall mean, so a
    lucky 100 from 3 reviews does not top the ranking. ``shrinkage = 1 - B``. Ranks are 1 = best.
    """
    keys = as_by(by)
    level = check_level(level)
    # the per-agent n, mean and sd from the one aggregate (on an engine, only those leave it)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        t = iqs_with_sd(scores, keys, level=level, min_n=min_n)
    shrunk, pull, _, _ = shrink_means(t[S.IQS].to_numpy(), t[S.SD].to_numpy(dtype=float) ** 2, t[S.N].to_numpy())
    out = t[keys + [S.N, S.IQS, S.CI_LOW, S.CI_HIGH, S.SMALL_SAMPLE]].copy()
    out[IQS_SHRUNK] = shrunk
    out[SHRINKAGE] = 1 - pull
    out[RANK] = out[S.IQS].rank(ascending=False, method="min")
    out[RANK_SHRUNK] = out[IQS_SHRUNK].rank(ascending=False, method="min")
    if surveys is not None:
        if keys != [S.AGENT_ID]:
            raise ParameterError("CSAT per group is available for by='agent_id' only")
        csat = csat_definition(scale, satisfied)
        agents = out[S.AGENT_ID]
        if B.resolve(surveys, None, what="surveys").engine == "pandas":
            cs = _with_agents(_csat_answers(surveys, csat), conversations)
            unanswered = cs.loc[cs[S.SCORE].isna(), S.CONVERSATION_ID]
            cs = cs[cs[S.SCORE].notna()]
            cs = cs.assign(_sat=csat.satisfied(cs[S.SCORE]))
            g = cs.groupby(S.AGENT_ID).agg(_n=("_sat", "size"), _k=("_sat", "sum"))
        else:  # (on the engine: only each agent's counts leave it)
            g, unanswered = _agent_csat_on_engine(surveys, conversations, csat)
            agents = agents.astype("str")
        S.add_exclusion(out, "survey sent but not answered (no score)", S.SCORE, unanswered)
        k = agents.map(g["_k"]).fillna(0).to_numpy(dtype=float)
        nn = agents.map(g["_n"]).fillna(0).to_numpy(dtype=float)
        lo, hi = wilson_ci(k, nn, level=level)
        out[CSAT_N] = nn.astype(np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[CSAT] = np.where(nn > 0, 100 * k / nn, np.nan)
        out["csat_ci_low"], out["csat_ci_high"] = 100 * lo, 100 * hi
    return out.sort_values([RANK_SHRUNK] + keys).reset_index(drop=True)


def _agent_csat_on_engine(surveys: Any, conversations: Any, csat: CsatScale) -> tuple[pd.DataFrame, pd.Series]:
    """:func:`agent_summary`'s CSAT side for surveys on an engine: per agent (text ids) the answered
    CSAT answers ``_n`` and the satisfied ones ``_k``, from :func:`qakit.kpis.csat_score` by agent on
    that engine, and the conversation ids of the unanswered CSAT rows (in id order). The agent is the
    answer's own ``agent_id`` when every CSAT row has one, else its conversation's (as :func:`_with_agents`)."""
    t = C.validated(surveys, "surveys", reads=(S.CONVERSATION_ID, S.KIND, S.SCORE), optional=(S.AGENT_ID,))
    cs = t.lf.filter(nw.col(S.KIND) == "csat")
    own = S.AGENT_ID in t.columns and not int(
        B.collect(cs.select(nw.col(S.AGENT_ID).is_null().sum().alias("n")))["n"].iloc[0] or 0)
    if not own and conversations is None:
        raise ParameterError("agent-level CSAT needs surveys.agent_id or a conversations table")
    sv = surveys if own or S.AGENT_ID not in t.columns else nw.to_native(t.lf.drop(S.AGENT_ID))
    with detached():  # (its numbers only: the unanswered rows are itemised below, as on pandas)
        res = csat_score(sv, by=S.AGENT_ID, conversations=None if own else conversations, scale=csat, min_n=0)
    res = res[res[S.AGENT_ID].notna()]
    n = res[S.N].to_numpy(dtype=float)
    # (k from the percent: 100 k / n is exact to a few ulps, so the rounding gives the count back)
    g = pd.DataFrame({"_n": n, "_k": np.rint(res[CSAT].to_numpy(dtype=float) * n / 100).astype(float),
                      "_mean": res[CSAT_MEAN].to_numpy(dtype=float)},
                     index=pd.Index(res[S.AGENT_ID].astype("str").to_numpy(), name=S.AGENT_ID))
    unanswered = B.collect(cs.filter(nw.col(S.SCORE).is_null()).select(nw.col(S.CONVERSATION_ID).cast(nw.String))
                           .sort(S.CONVERSATION_ID))[S.CONVERSATION_ID]
    return g, unanswered


@public
def sample_size_plan(
    scores: pd.DataFrame,
    *,
    half_width: float | Sequence[float] = (5.0, 10.0),
    by: str | Sequence[str] | None = None,
    sd: float | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Reviews needed for a CI of +/- ``half_width`` IQS points, given the observed spread.

    Parameters
    ----------
    scores : pandas.DataFrame
        Output of :meth:`qakit.Scorecard.score` (its spread is used unless ``sd`` is given).
    half_width : float or list of float, default=(5, 10)
        Target half-widths in IQS points.
    by : str or list of str, optional
        E.g. ``"agent_id"``: the plan per agent, using each agent's own sd (pooled sd where an
        agent has fewer than 2 reviews) and showing how many more reviews each needs.
    sd : float, optional
        Planning standard deviation; default the sample sd of the review scores.
    level : float, default=0.95

    Returns
    -------
    pandas.DataFrame
        ``*by, half_width, sd, n (current), n_required, n_more``.

    Notes
    -----
    ``n_required`` is the smallest n with ``t_{(1+level)/2, n-1} * sd / sqrt(n) <= half_width``
    (starting from the normal approximation ``(z sd / h)^2`` and stepping up while the t
    quantile is larger).

    Examples
    --------
    >>> s = pd.DataFrame({"iqs": [60.0, 80.0] * 10})  # sd = 10.26
    >>> sample_size_plan(s, half_width=5)[["half_width", "n", "n_required"]]
       half_width   n  n_required
    0         5.0  20          19
    """
    level = check_level(level)
    hws = np.atleast_1d(np.asarray(half_width, dtype=float))
    if (hws <= 0).any() or not np.isfinite(hws).all():
        raise ParameterError(f"half_width must be positive numbers; got {list(hws)}")
    keys = as_by(by)
    check_by(scores, keys, "scores")
    scores = S.validate(scores, "scores")
    source = scores
    v = scores[scores[S.IQS].notna()]
    pooled_sd = float(v[S.IQS].std()) if sd is None else float(sd)
    if keys:
        g = v.groupby(keys, observed=True)[S.IQS].agg(["size", "std"]).reset_index()
        g["std"] = g["std"].where(g["size"] >= 2, pooled_sd) if sd is None else pooled_sd
        base = g.rename(columns={"size": S.N, "std": SD})
    else:
        base = pd.DataFrame({S.N: [len(v)], SD: [pooled_sd]})
    base = base.merge(pd.DataFrame({HALF_WIDTH: hws}), how="cross")
    z = stats.norm.ppf((1 + level) / 2)
    sdv, h = base[SD].to_numpy(dtype=float), base[HALF_WIDTH].to_numpy(dtype=float)
    n_req = np.maximum(2, np.ceil((z * sdv / h) ** 2)).astype(float)
    for _ in range(200):  # t correction converges in a few steps; vectorised over rows
        need = stats.t.ppf((1 + level) / 2, n_req - 1) * sdv / np.sqrt(n_req) > h
        if not need.any():
            break
        n_req = np.where(need, n_req + 1, n_req)
    base[N_REQUIRED] = n_req.astype(np.int64)
    base[N_MORE] = np.maximum(0, base[N_REQUIRED] - base[S.N]).astype(np.int64)
    return S.itemise_missing(base[keys + [HALF_WIDTH, SD, S.N, N_REQUIRED, N_MORE]], source, S.IQS, S.REVIEW_ID,
                             "review has no score (iqs missing)")


@public
def bootstrap_group_means(
    values: np.ndarray,
    groups: np.ndarray,
    *,
    n_resamples: int = 9999,
    level: float = 0.95,
    seed: int = 0,
    batch: int = 200,
    progress: bool = False,
) -> pd.DataFrame:
    """Percentile bootstrap CIs for the mean of every group at once (e.g. IQS per agent).

    Each resample redraws, within every group, as many values as the group has (with
    replacement); all groups and a batch of resamples are drawn in one vectorised step
    (``scipy.stats.bootstrap`` handles one sample at a time, which for hundreds of agents means
    hundreds of calls).

    Parameters
    ----------
    values : array of float
        One value per observation (e.g. review IQS); NaN or infinite values are refused.
    groups : array
        The group of each value (e.g. agent id); missing labels are refused.
    n_resamples : int, default=9999
    level : float, default=0.95
    seed : int, default=0
        Same inputs, seed and batch give the same intervals.
    batch : int, default=200
        Resamples drawn per vectorised step (memory ``batch x len(values)`` integers); it sets
        the order of the random draws, so another batch gives other (equally valid) intervals.
    progress : bool, default=False
        A tqdm bar over the batches.

    Returns
    -------
    pandas.DataFrame
        ``group, n, mean, ci_low, ci_high`` (percentile interval), groups sorted.

    Raises
    ------
    ParameterError
        NaN/infinite values or missing group labels (counts and positions listed), arrays of
        different lengths, non-positive ``n_resamples``.

    Notes
    -----
    For group g with values ``x_1..x_n``: ``B`` resamples ``x*_1..x*_n`` drawn uniformly with
    replacement, ``m*_b = mean(x*)``; the interval is the ``(1 - level) / 2`` and
    ``(1 + level) / 2`` quantiles of ``m*_1..m*_B`` (numpy's linear interpolation), i.e.
    ``scipy.stats.bootstrap(..., method="percentile")`` for each group.

    Examples
    --------
    >>> r = bootstrap_group_means(np.array([1.0, 2, 3, 10, 10]), np.array(["a", "a", "a", "b", "b"]),
    ...                           n_resamples=999, seed=1)
    >>> r[["group", "n", "mean"]].values.tolist(), float(r["ci_low"].iloc[1]), float(r["ci_high"].iloc[1])
    ([['a', 3, 2.0], ['b', 2, 10.0]], 10.0, 10.0)
    """
    level = check_level(level)
    if int(n_resamples) < 1 or int(batch) < 1:
        raise ParameterError(f"n_resamples and batch must be positive integers; got {n_resamples!r}, {batch!r}")
    values = np.asarray(values, dtype=float)
    groups = pd.Series(groups)
    if values.ndim != 1 or len(values) != len(groups) or len(values) == 0:
        raise ParameterError(f"values and groups must be non-empty 1-D and of equal length; got {values.shape} and {len(groups)}")
    bad = np.flatnonzero(~np.isfinite(values))
    missing = np.flatnonzero(groups.isna().to_numpy())
    if len(bad) or len(missing):  # never a silently NaN (or shifted) interval
        parts = []
        if len(bad):
            parts.append(f"{len(bad)} value(s) are NaN or infinite ({values[bad[:5]].tolist()} at positions {bad[:5].tolist()})")
        if len(missing):
            parts.append(f"{len(missing)} group label(s) are missing (positions {missing[:5].tolist()})")
        raise ParameterError("bootstrap_group_means: " + "; ".join(parts) + "; drop or fill them first")
    codes, uniq = pd.factorize(groups, sort=True)
    n = np.bincount(codes, minlength=len(uniq))
    # rows ordered by (group size, group): the groups of one size form one block, and one draw with
    # a scalar bound fills a whole block (numpy's integers() with a per-element bound array is
    # several times slower: it was 3/4 of this function's time)
    order = np.lexsort((codes, n[codes]))
    v, c = values[order], codes[order]
    g_first = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])  # each group's first row in v
    g_code = c[g_first]
    row_start = np.repeat(g_first, n[g_code])  # the first row of each row's group
    sizes = n[g_code]
    block_edges = np.flatnonzero(np.r_[True, sizes[1:] != sizes[:-1], True])
    blocks = [(int(sizes[block_edges[i]]), int(g_first[block_edges[i]]),
               int(g_first[block_edges[i + 1]]) if block_edges[i + 1] < len(g_first) else len(v))
              for i in range(len(block_edges) - 1)]
    rng = np.random.default_rng(seed)
    means = np.empty((n_resamples, len(uniq)))
    it = range(0, n_resamples, batch)
    if progress:
        it = tqdm(it, desc="bootstrap", leave=False)
    idx = np.empty((min(batch, n_resamples), len(v)), dtype=np.intp)
    for b0 in it:  # loop over batches of resamples; everything inside is vectorised
        b = min(batch, n_resamples - b0)
        ib = idx[:b]
        for size, lo_col, hi_col in blocks:  # positions inside the group, uniform on 0..size-1
            ib[:, lo_col:hi_col] = rng.integers(0, size, size=(b, hi_col - lo_col))
        ib += row_start
        sums = np.add.reduceat(v.take(ib), g_first, axis=1)
        means[b0:b0 + b, g_code] = sums / n[g_code]
    alpha = (1 - level) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha], axis=0)
    est = np.bincount(c, weights=v, minlength=len(uniq)) / n
    return pd.DataFrame({"group": uniq, S.N: n, "mean": est, S.CI_LOW: lo, S.CI_HIGH: hi})


# --- the public API: every function listed here is decorated with @public on its def (shared parameters
# checked by name; every result stamped with its exclusion record) -----------------------------------
__all__ = [
    "csat_by_conversation",
    "join_csat",
    "iqs_csat_correlation",
    "correlation_verdict",
    "category_correlations",
    "key_drivers",
    "shrink_means",
    "agent_summary",
    "sample_size_plan",
    "bootstrap_group_means",
]
