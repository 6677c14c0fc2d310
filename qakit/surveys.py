"""Survey response: who answers, and what CSAT would be if the others had answered.

CSAT and the IQS-CSAT correlation are computed on the customers who answer, often 8-33 % of those
asked, and satisfied customers answer more readily.  This module shows the response rate, weights
the answers back to the contact mix, and says how far the truth could be from the measured CSAT.

Functions
---------
- :func:`response_rate`: surveys sent vs answered (a survey row without a score = sent, not
  answered: the data contract) per agent, channel, week ..., with a Wilson interval.
- :func:`raking_weights`: iterative proportional fitting (raking) of respondents to the contact
  mix's margins (default channel x priority x outcome).
- :func:`weighted_csat`: CSAT of the respondents beside CSAT raked to the contact mix, with the
  Kish effective sample size and design effect.
- :func:`weighted_iqs_csat`: the IQS-CSAT correlation unweighted and raked.
- :func:`csat_bounds`: worst-case / best-case (Manski) bounds of CSAT among everyone asked.

Why not Meta's ``balance`` library for the raking?  balance 0.23 (the current release) requires, on
Python < 3.12, ``numpy<2.0`` and ``scipy<1.14`` -- qakit runs numpy 2 and scipy 1.17 -- and brings
scikit-learn, statsmodels, plotly, patsy, IPython and session-info for one 40-line algorithm (its
raking calls the ``ipfn`` package).  Raking is short and testable by hand, so it lives here.

References
----------
- Deming, W. E. & Stephan, F. F. (1940). On a least squares adjustment of a sampled frequency table
  when the expected marginal totals are known. *Ann. Math. Statist.* 11(4), 427-444 (raking / IPF).
- Kish, L. (1965). *Survey Sampling*, sec. 11.7 (effective sample size ``(sum w)^2 / sum w^2``).
- Manski, C. F. (1989). Anatomy of the selection problem. *J. Human Resources* 24(3), 343-360
  (worst-case bounds with missing outcomes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from . import schema as S
from ._public import public
from .errors import ParameterError, Problems, check_choice, check_number
from .intervals import MIN_N, as_by, check_level, fisher_ci, wilson_ci
from .kpis import CsatScale, csat_definition
from .stats import join_csat

OUTCOME = "outcome"
#: the default raking margins: the contact mix (``outcome`` is derived, see :func:`contact_outcome`)
MARGINS = (S.CHANNEL, S.PRIORITY, OUTCOME)
PERIOD = "period"
PERIODS = ("D", "W", "M", "Q")
N_ANSWERED = "n_answered"
RESPONSE_RATE = "response_rate"
WEIGHT = "weight"
ESTIMATE = "estimate"
N_EFFECTIVE = "n_effective"
DESIGN_EFFECT = "design_effect"
CSAT = "csat"
R = "r"
BOUND_LOW = "bound_low"
BOUND_HIGH = "bound_high"
N_SENT = "n_sent"
UNWEIGHTED, RAKED = "respondents (unweighted)", "raked to the contact mix"

RESPONSE_COLUMNS = [S.N, N_ANSWERED, RESPONSE_RATE, S.CI_LOW, S.CI_HIGH, S.SMALL_SAMPLE]
WEIGHTED_COLUMNS = [ESTIMATE, S.N, N_EFFECTIVE, DESIGN_EFFECT, CSAT, S.CI_LOW, S.CI_HIGH]
CORR_COLUMNS = [ESTIMATE, S.N, N_EFFECTIVE, R, S.CI_LOW, S.CI_HIGH, S.P_VALUE, S.SMALL_SAMPLE]
BOUNDS_COLUMNS = [N_SENT, N_ANSWERED, RESPONSE_RATE, CSAT, BOUND_LOW, BOUND_HIGH]


# --- helpers ------------------------------------------------------------------------------------
def contact_outcome(conversations: pd.DataFrame) -> pd.Series:
    """Each conversation's outcome: ``escalated``, else ``resolved`` (has ``resolved_at``), else
    ``unresolved``.  Without the optional ``escalated`` column: ``resolved`` / ``unresolved``."""
    resolved = conversations[S.RESOLVED_AT].notna().to_numpy()
    out = np.where(resolved, "resolved", "unresolved").astype(object)
    if S.ESCALATED in conversations.columns:
        esc = conversations[S.ESCALATED].fillna(False).astype(bool).to_numpy()
        out[esc] = "escalated"
    return pd.Series(out, index=conversations.index, dtype="str", name=OUTCOME)


def _conversations(conversations: pd.DataFrame) -> pd.DataFrame:
    conv = S.validate(conversations, "conversations")
    return conv.assign(**{OUTCOME: contact_outcome(conv)})


def _sent(surveys: pd.DataFrame, kind: str) -> pd.DataFrame:
    check_choice("kind", kind, S.SURVEY_KINDS)
    sv = S.validate(surveys, "surveys")
    return sv[sv[S.KIND].eq(kind)].reset_index(drop=True)


def _check_margins(margins: Sequence[str], frame: pd.DataFrame, what: str) -> list[str]:
    margins = [margins] if isinstance(margins, str) else list(margins)
    if not margins:
        raise ParameterError("margins must name at least one column of the contact mix, e.g. ['channel']")
    missing = [m for m in margins if m not in frame.columns]
    if missing:
        raise ParameterError(f"margins {missing} not in {what}; available: {sorted(map(str, frame.columns))}")
    return margins


# --- response rate --------------------------------------------------------------------------------
@public
def response_rate(
    surveys: pd.DataFrame,
    *,
    kind: str = "csat",
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    conversations: pd.DataFrame | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Share of surveys sent that were answered, per agent, channel, week ...

    Parameters
    ----------
    surveys : pandas.DataFrame
        Surveys table: a row per survey sent; a missing ``score`` means sent and not answered.
    kind : {"csat", "nps", "ces"}, default="csat"
    by : str or list of str, optional
        Columns of the surveys (``agent_id``) or of ``conversations`` (``channel``, ``team`` ...).
    period : {"D", "W", "M", "Q"}, optional
        Trend by the period of the conversation's ``created_at`` (needs ``conversations``: an
        unanswered survey has no ``answered_at``).
    conversations : pandas.DataFrame, optional
        Conversations table, for ``by`` columns the surveys lack and for ``period``.
    level : float, default=0.95
    min_n : int, default=30

    Returns
    -------
    pandas.DataFrame
        ``*by, [period], n`` (surveys sent), ``n_answered``, ``response_rate`` (proportion),
        ``ci_low``, ``ci_high`` (Wilson), ``small_sample`` (``n < min_n``).  Surveys whose
        conversation is not in ``conversations`` (when a column from it is needed) are left out
        and recorded in the exclusions.

    Notes
    -----
    ``response rate = answered / sent``; Wilson score interval.  A survey is answered when it has
    a score.  Note that a source that exports only answers (no unanswered rows) shows 100 %: the
    rate is only as good as the export.

    Examples
    --------
    >>> sv = pd.DataFrame({"conversation_id": list("abcde"), "kind": "csat",
    ...                    "score": [5.0, None, 3, None, None], "answered_at": None,
    ...                    "agent_id": ["x", "x", "y", "y", "y"]})
    >>> response_rate(sv, by="agent_id", min_n=0)[["agent_id", "n", "n_answered", "response_rate"]]
      agent_id  n  n_answered  response_rate
    0        x  2           1       0.500000
    1        y  3           1       0.333333
    """
    level = check_level(level)
    keys = as_by(by)
    if period is not None:
        check_choice("period", period, PERIODS)
        if conversations is None:
            raise ParameterError("period needs conversations: an unanswered survey has no answered_at, so it is "
                                 "placed by its conversation's created_at")
    sv = _sent(surveys, kind)
    need = [k for k in keys if k not in sv.columns] + ([S.CREATED_AT] if period else [])
    excluded = pd.Series([], dtype="str")
    if need:
        if conversations is None:
            raise ParameterError(f"by column(s) {need} not in surveys; pass conversations= to take them from there")
        conv = _conversations(conversations)
        missing = [k for k in need if k not in conv.columns]
        if missing:
            raise ParameterError(f"by column(s) {missing} in neither surveys nor conversations; "
                                 f"available: {sorted(set(sv.columns) | set(conv.columns))}")
        sv = sv.merge(conv[[S.CONVERSATION_ID, *need]], on=S.CONVERSATION_ID, how="left", indicator=True)
        orphan = sv["_merge"].eq("left_only")
        excluded = sv.loc[orphan, S.CONVERSATION_ID]
        sv = sv[~orphan].drop(columns="_merge")
    if period:
        t = sv[S.CREATED_AT].dt.tz_convert("UTC").dt.tz_localize(None)
        sv = sv.assign(**{PERIOD: t.dt.to_period(period).dt.start_time})
        keys = keys + [PERIOD]
    for k in keys:
        if sv[k].isna().any():
            sv[k] = sv[k].astype("str").fillna("(missing)")
    sv = sv.assign(_ans=sv[S.SCORE].notna())
    if keys:
        g = sv.groupby(keys, sort=True, observed=True)["_ans"]
        out = pd.DataFrame({S.N: g.size(), N_ANSWERED: g.sum()}).reset_index()
    else:
        out = pd.DataFrame({S.N: [len(sv)], N_ANSWERED: [int(sv["_ans"].sum())]})
    n = out[S.N].to_numpy(dtype=float)
    k = out[N_ANSWERED].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[RESPONSE_RATE] = np.where(n > 0, k / n, np.nan)
    out[S.CI_LOW], out[S.CI_HIGH] = wilson_ci(k, n, level=level)
    out[N_ANSWERED] = out[N_ANSWERED].astype("int64")
    out[S.SMALL_SAMPLE] = out[S.N] < min_n
    S.add_exclusion(out, "survey of a conversation not in the conversations table: no channel/period",
                    S.CONVERSATION_ID, excluded)
    return out[keys + RESPONSE_COLUMNS]


# --- raking ---------------------------------------------------------------------------------------
def _rake(codes: list[np.ndarray], targets: list[np.ndarray], base: np.ndarray, *, max_iter: int,
          tol: float) -> tuple[np.ndarray, int, float]:
    """Iterative proportional fitting: scale ``w`` so that, for every margin ``m``, the weighted
    share of each category ``k`` equals ``targets[m][k]``.  Returns ``(w, iterations, max error)``."""
    w = base.astype(float).copy()
    total = w.sum()
    err = np.inf
    for it in range(1, max_iter + 1):
        for c, t in zip(codes, targets):
            cur = np.bincount(c, weights=w, minlength=len(t))
            w *= (t * w.sum() / cur)[c]
        err = max(float(np.abs(np.bincount(c, weights=w, minlength=len(t)) / w.sum() - t).max())
                  for c, t in zip(codes, targets))
        if err < tol:
            break
    return w * total / w.sum(), it, err


def _rake_frame(sample: pd.DataFrame, population: pd.DataFrame, margins: list[str], *, max_iter: int,
                tol: float) -> tuple[np.ndarray, dict]:
    """Raking weights (mean 1) for ``sample`` rows to ``population``'s margins, and a report of
    population categories with no respondent (their share is spread over the others).  When the
    margins cannot all be met (a combination the targets need is empty in the sample), the last
    margin is dropped and raking retried: ``info["dropped"]`` names the margins given up."""
    dropped = []
    while True:
        try:
            w, info = _rake_once(sample, population, margins, max_iter=max_iter, tol=tol)
            info["dropped"] = dropped
            info["margins"] = list(margins)
            return w, info
        except _NoConvergence:
            if len(margins) == 1:  # pragma: no cover - one margin always converges in one step
                raise
            dropped.append(margins[-1])
            margins = margins[:-1]


class _NoConvergence(ParameterError):
    pass


def _rake_once(sample: pd.DataFrame, population: pd.DataFrame, margins: list[str], *, max_iter: int,
               tol: float) -> tuple[np.ndarray, dict]:
    codes, targets, lost = [], [], {}
    for m in margins:
        pop = population[m].astype("str").fillna("(missing)")
        smp = sample[m].astype("str").fillna("(missing)")
        share = pop.value_counts(normalize=True)
        absent = [k for k in share.index if k not in set(smp)]
        if absent:
            lost[m] = absent
            share = share.drop(absent)
            share = share / share.sum()
        extra = sorted(set(smp) - set(share.index))
        if extra:
            raise ParameterError(f"margin {m!r}: respondents in categories {extra[:5]} that the contact mix does not "
                                 "have; the conversations table must cover every surveyed conversation")
        cats = list(share.index)
        codes.append(pd.Categorical(smp, categories=cats).codes.astype(np.int64))
        targets.append(share.reindex(cats).to_numpy(dtype=float))
    w, it, err = _rake(codes, targets, np.ones(len(sample)), max_iter=max_iter, tol=tol)
    if err >= tol:
        raise _NoConvergence(f"raking did not converge in {max_iter} iterations (largest margin error {err:.2g}); "
                             "a margin combination is empty in the respondents -- use fewer margins")
    return w / w.mean(), {"iterations": it, "lost": lost}


def _respondents(surveys: pd.DataFrame, conversations: pd.DataFrame, csat: CsatScale, margins: Sequence[str]):
    sv = _sent(surveys, "csat")
    csat.check(sv)
    conv = _conversations(conversations)
    margins = _check_margins(margins, conv, "conversations")
    unanswered = sv.loc[sv[S.SCORE].isna(), S.CONVERSATION_ID]
    ans = sv[sv[S.SCORE].notna()]
    ans = ans.merge(conv[[S.CONVERSATION_ID, *margins]], on=S.CONVERSATION_ID, how="left", indicator=True)
    orphan = ans["_merge"].eq("left_only")
    return ans[~orphan].drop(columns="_merge").reset_index(drop=True), conv, margins, unanswered, \
        ans.loc[orphan, S.CONVERSATION_ID]


@public
def raking_weights(
    respondents: pd.DataFrame,
    population: pd.DataFrame,
    *,
    margins: Sequence[str] = (S.CHANNEL, S.PRIORITY),
    max_iter: int = 1000,
    tol: float = 1e-10,
) -> pd.DataFrame:
    """Weights that make the respondents' mix match the population's margins (raking / IPF).

    Parameters
    ----------
    respondents : pandas.DataFrame
        One row per respondent with the margin columns.
    population : pandas.DataFrame
        One row per member of the population (e.g. every conversation) with the same columns.
    margins : sequence of str, default=("channel", "priority")
        Columns whose distribution the weights reproduce (one at a time: their joint
        distribution is matched only as far as raking does).
    max_iter : int, default=1000
    tol : float, default=1e-10
        Stop when every weighted margin share is within ``tol`` of its target.

    Returns
    -------
    pandas.DataFrame
        ``respondents`` with a column ``weight`` (mean 1).  A population category nobody in the
        respondents has cannot be represented: its share is spread over the other categories and
        the population rows in it are recorded in the exclusions.

    Raises
    ------
    ParameterError
        A margin missing from either table, respondents in a category the population lacks, or
        no convergence (an empty combination).

    Notes
    -----
    Deming & Stephan (1940): start from ``w = 1``; for each margin ``m`` in turn multiply every
    weight by ``target_share(m, k) / weighted_share(m, k)`` of its category ``k``; repeat until all
    margins match.  Hand example (test suite): 10 respondents, 8 chat / 2 email and 6 low / 4 high
    priority, population 50/50 on both -- the weights converge to the unique solution.

    Examples
    --------
    >>> resp = pd.DataFrame({"channel": ["chat"] * 3 + ["email"]})
    >>> pop = pd.DataFrame({"channel": ["chat", "email"]})
    >>> raking_weights(resp, pop, margins=["channel"])["weight"].round(3).tolist()  # 3 x 2/3, 1 x 2
    [0.667, 0.667, 0.667, 2.0]
    """
    for name, t in (("respondents", respondents), ("population", population)):
        if not isinstance(t, pd.DataFrame):
            raise ParameterError(f"{name} must be a pandas DataFrame; got {type(t).__name__}")
        if t.empty:
            raise ParameterError(f"{name} has no rows: nothing to rake")
    margins = _check_margins(margins, respondents, "respondents")
    _check_margins(margins, population, "population")
    check_number("max_iter", max_iter, low=1, integer=True)
    check_number("tol", tol, low=0, low_open=True)
    r_bad, p_bad = _no_category(respondents, margins), _no_category(population, margins)
    if r_bad.all() or p_bad.all():
        raise ParameterError(f"every {'respondent' if r_bad.all() else 'population row'} lacks a value in the margins "
                             f"{margins}: nothing to rake")
    w, info = _rake_frame(respondents[~r_bad], population[~p_bad], margins, max_iter=max_iter, tol=tol)
    weights = np.full(len(respondents), np.nan)
    weights[~r_bad] = w
    out = respondents.assign(**{WEIGHT: weights})
    S.add_exclusion(out, f"respondent without a value in {margins}: no weight", margins[0], _ids(respondents, r_bad))
    S.add_exclusion(out, f"population row without a value in {margins}: not in the targets", margins[0],
                    _ids(population, p_bad))
    if info["dropped"]:
        S.add_adjustment(out, f"raking on {info['margins']} only: adding {info['dropped']} made the targets "
                         "impossible to meet (a combination is empty in the respondents)", info["dropped"][0],
                         _ids(respondents, ~r_bad))
    for m, cats in info["lost"].items():
        ids = population.index[population[m].astype("str").isin(cats)]
        if S.CONVERSATION_ID in population.columns:
            ids = population.loc[ids, S.CONVERSATION_ID]
        S.add_exclusion(out, f"margin {m!r}: categories {cats} have no respondent; their share went to the others",
                        m, pd.Series(ids).astype("str"))
    out.attrs["raking_iterations"] = info["iterations"]
    return out


def _no_category(frame: pd.DataFrame, margins: list[str]) -> np.ndarray:
    """Rows whose margin value is missing or a non-finite number (never a category)."""
    bad = np.zeros(len(frame), dtype=bool)
    for m in margins:
        col = frame[m]
        bad |= col.isna().to_numpy()
        num = pd.to_numeric(col.astype("object"), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad |= np.isinf(num)  # an export's inf (or the text "inf") is no category
    return bad


def _ids(frame: pd.DataFrame, mask: np.ndarray) -> pd.Series:
    if S.CONVERSATION_ID in frame.columns:
        return frame.loc[mask, S.CONVERSATION_ID].astype("str")
    return pd.Series(frame.index[mask].astype("str"))


def _kish(w: np.ndarray) -> tuple[float, float]:
    """Kish effective n ``(sum w)^2 / sum w^2`` and design effect ``n sum w^2 / (sum w)^2``."""
    if len(w) == 0:
        return 0.0, np.nan
    neff = float(w.sum() ** 2 / (w**2).sum())
    return neff, len(w) / neff


@public
def weighted_csat(
    surveys: pd.DataFrame,
    conversations: pd.DataFrame,
    *,
    margins: Sequence[str] = MARGINS,
    satisfied: float | None = None,
    scale: CsatScale | str | tuple[float, float] | None = None,
    level: float = 0.95,
    max_iter: int = 1000,
    tol: float = 1e-10,
) -> pd.DataFrame:
    """CSAT of the respondents beside CSAT weighted back to the contact mix (non-response weighting).

    Parameters
    ----------
    surveys : pandas.DataFrame
        Surveys table (CSAT rows used; unanswered rows are counted in the exclusions).
    conversations : pandas.DataFrame
        Every contact the CSAT should speak for (filter it first to the period, channel ...):
        the raking targets are its margins.
    margins : sequence of str, default=("channel", "priority", "outcome")
        Conversation columns to rake on; ``outcome`` is derived (:func:`contact_outcome`).
    satisfied, scale
        The CSAT definition (:func:`qakit.kpis.csat_definition`).
    level : float, default=0.95
    max_iter, tol
        Raking controls (:func:`raking_weights`).

    Returns
    -------
    pandas.DataFrame
        Two rows, ``estimate`` = ``"respondents (unweighted)"`` and ``"raked to the contact mix"``:
        ``n`` (answers), ``n_effective`` (Kish), ``design_effect``, ``csat`` (percent satisfied),
        ``ci_low``, ``ci_high`` (Wilson on the effective sample size).

    Notes
    -----
    Raking (Deming & Stephan 1940) gives each answer a weight so that the answers' channel,
    priority and outcome mix equals the contacts'; CSAT is then the weighted share satisfied.
    Weighting costs precision: the Wilson interval uses Kish's effective sample size
    ``(sum w)^2 / sum w^2`` (Kish 1965).  Raking corrects non-response that runs through the
    margins (phone customers answer less ...), not non-response driven by satisfaction itself
    within a cell: :func:`csat_bounds` shows how far that could move the number.

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": list("abcd"), "customer_id": "u", "agent_id": "x",
    ...     "channel": ["chat", "chat", "phone", "phone"], "priority": "normal",
    ...     "created_at": "2026-01-05", "first_response_at": None, "resolved_at": "2026-01-06", "status": "solved"})
    >>> sv = pd.DataFrame({"conversation_id": list("abc"), "kind": "csat", "score": [5.0, 5, 1],
    ...                    "answered_at": None})
    >>> weighted_csat(sv, conv)[["estimate", "n", "csat"]].round(1)  # chat 2 x 1/2, phone 1 x 1 -> 50 %
                       estimate  n  csat
    0  respondents (unweighted)  3  66.7
    1  raked to the contact mix  3  50.0
    """
    level = check_level(level)
    csat = csat_definition(scale, satisfied)
    ans, conv, margins, unanswered, orphans = _respondents(surveys, conversations, csat, margins)
    if ans.empty:
        raise ParameterError("no CSAT answer of a conversation in the conversations table: nothing to weight")
    w, info = _rake_frame(ans, conv, margins, max_iter=max_iter, tol=tol)
    sat = csat.satisfied(ans[S.SCORE]).astype(float)
    rows = []
    z_rows = []
    for name, weights in ((UNWEIGHTED, np.ones(len(ans))), (RAKED, w)):
        neff, deff = _kish(weights)
        p = float((weights * sat).sum() / weights.sum())
        lo, hi = wilson_ci(np.array([p * neff]), np.array([neff]), level=level)
        rows.append({ESTIMATE: name, S.N: len(ans), N_EFFECTIVE: neff, DESIGN_EFFECT: deff, CSAT: 100 * p,
                     S.CI_LOW: 100 * lo[0], S.CI_HIGH: 100 * hi[0]})
        z_rows.append(p)
    out = pd.DataFrame(rows)[WEIGHTED_COLUMNS]
    S.add_exclusion(out, "survey sent but not answered (no score)", S.SCORE, unanswered)
    S.add_exclusion(out, "survey of a conversation not in the conversations table: no contact mix",
                    S.CONVERSATION_ID, orphans)
    for m, cats in info["lost"].items():
        S.add_exclusion(out, f"contacts in {m} {cats}: no CSAT answer there, their share went to the other "
                        f"{m} categories", m, conv.loc[conv[m].astype("str").isin(cats), S.CONVERSATION_ID])
    _note_dropped(out, info, ans)
    out.attrs["margins"] = info["margins"]
    return out


def _note_dropped(out: pd.DataFrame, info: dict, rows: pd.DataFrame) -> None:
    if info["dropped"]:
        S.add_adjustment(out, f"raked on {info['margins']} only: adding {info['dropped']} made the contact mix "
                         "impossible to match (a combination without any answer)", info["dropped"][0],
                         rows[S.CONVERSATION_ID])


def _wpearson(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    w = w / w.sum()
    mx, my = (w * x).sum(), (w * y).sum()
    sx, sy = (w * (x - mx) ** 2).sum(), (w * (y - my) ** 2).sum()
    if sx <= 0 or sy <= 0:
        return np.nan
    return float((w * (x - mx) * (y - my)).sum() / np.sqrt(sx * sy))


@public
def weighted_iqs_csat(
    scores: pd.DataFrame,
    surveys: pd.DataFrame,
    conversations: pd.DataFrame,
    *,
    margins: Sequence[str] = MARGINS,
    satisfied: float | None = None,
    scale: CsatScale | str | tuple[float, float] | None = None,
    level: float = 0.95,
    min_n: int = MIN_N,
    max_iter: int = 1000,
    tol: float = 1e-10,
) -> pd.DataFrame:
    """The IQS-CSAT Pearson correlation (reviewed conversations with an answer), unweighted and raked.

    Parameters
    ----------
    scores : pandas.DataFrame
        Review scores (:meth:`qakit.Scorecard.score`).
    surveys, conversations : pandas.DataFrame
        As :func:`weighted_csat`: the reviewed, answered conversations are raked to the
        ``conversations``' margins.
    margins, satisfied, scale, level, max_iter, tol
        As :func:`weighted_csat`.
    min_n : int, default=30

    Returns
    -------
    pandas.DataFrame
        Two rows (``estimate``): ``n``, ``n_effective`` (Kish), ``r`` (Pearson, weighted in the
        second row), ``ci_low``, ``ci_high`` (Fisher z on ``n``, resp. on ``n_effective``),
        ``p_value`` (t test of r = 0 on the same n), ``small_sample``.

    Notes
    -----
    Weighted Pearson ``r_w = sum w (x - xbar_w)(y - ybar_w) / sqrt(sum w (x - xbar_w)^2 sum w (y -
    ybar_w)^2)``.  Its interval is the Fisher z interval with Kish's effective sample size in place of
    ``n`` -- an approximation (the design effect of a correlation is not exactly Kish's).  The row
    unit is the conversation (its mean IQS and mean CSAT answer), as
    :func:`qakit.stats.iqs_csat_correlation` with ``unit="conversation"``.

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": list("abcd"), "customer_id": "u", "agent_id": "x",
    ...     "channel": ["chat", "chat", "phone", "phone"], "priority": "normal", "created_at": "2026-01-05",
    ...     "first_response_at": None, "resolved_at": "2026-01-06", "status": "solved"})
    >>> scores = pd.DataFrame({"review_id": list("abcd"), "conversation_id": list("abcd"), "agent_id": "x",
    ...                        "iqs": [90.0, 70, 80, 40]})
    >>> sv = pd.DataFrame({"conversation_id": list("abcd"), "kind": "csat", "score": [5.0, 4, 4, 1],
    ...                    "answered_at": None})
    >>> # the answers' mix already matches the contacts': both rows are 110 / sqrt(1400 * 9) = .980
    >>> weighted_iqs_csat(scores, sv, conv, min_n=0)[["n", "r"]].round(3)
       n     r
    0  4  0.98
    1  4  0.98
    """
    level = check_level(level)
    csat = csat_definition(scale, satisfied)
    conv = _conversations(conversations)
    margins = _check_margins(margins, conv, "conversations")
    base = join_csat(scores, surveys, scale=csat)
    joined = base.drop(columns=[m for m in margins if m in base.columns]).merge(
        conv[[S.CONVERSATION_ID, *margins]], on=S.CONVERSATION_ID, how="left")
    S.carry_records(joined, base)
    orphan = joined[margins].isna().any(axis=1)
    orphans = joined.loc[orphan, S.CONVERSATION_ID]
    joined = joined[~orphan].reset_index(drop=True)
    if len(joined) < 3:
        raise ParameterError(f"IQS-CSAT correlation needs at least 3 reviewed conversations with a CSAT answer "
                             f"and a contact-mix row; found {len(joined)}")
    w, info = _rake_frame(joined, conv, margins, max_iter=max_iter, tol=tol)
    x = joined[S.IQS].to_numpy(dtype=float)
    y = joined["csat"].to_numpy(dtype=float)
    rows = []
    for name, weights in ((UNWEIGHTED, np.ones(len(joined))), (RAKED, w)):
        neff, _ = _kish(weights)
        r = _wpearson(x, y, weights)
        lo = hi = p = np.nan
        if np.isfinite(r) and neff > 3:
            lo, hi = fisher_ci(r, neff, level)
            t = r * np.sqrt((neff - 2) / max(1e-300, 1 - r**2))
            p = float(2 * stats.t.sf(abs(t), neff - 2))
        rows.append({ESTIMATE: name, S.N: len(joined), N_EFFECTIVE: neff, R: r, S.CI_LOW: lo, S.CI_HIGH: hi,
                     S.P_VALUE: p, S.SMALL_SAMPLE: neff < min_n})
    out = pd.DataFrame(rows)[CORR_COLUMNS]
    S.carry_records(out, joined)
    S.add_exclusion(out, "reviewed conversation not in the conversations table: no contact mix",
                    S.CONVERSATION_ID, orphans)
    _note_dropped(out, info, joined)
    out.attrs["margins"] = info["margins"]
    return out


# --- bounds ----------------------------------------------------------------------------------------
@public
def csat_bounds(
    surveys: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    conversations: pd.DataFrame | None = None,
    satisfied: float | None = None,
    scale: CsatScale | str | tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Worst-case and best-case CSAT among everyone asked (Manski bounds).

    Parameters
    ----------
    surveys : pandas.DataFrame
        Surveys table with the unanswered surveys (missing score).
    by : str or list of str, optional
        Columns of the surveys or of ``conversations``.
    conversations : pandas.DataFrame, optional
    satisfied, scale
        The CSAT definition.

    Returns
    -------
    pandas.DataFrame
        ``*by, n_sent, n_answered, response_rate`` (proportion), ``csat`` (percent satisfied among
        the answers), ``bound_low`` (percent if every non-respondent was dissatisfied),
        ``bound_high`` (percent if every one was satisfied).

    Notes
    -----
    With ``s`` satisfied answers, ``a`` answers and ``m`` surveys sent, CSAT among everyone asked
    lies in ``[s / m, (s + m - a) / m]`` whatever the non-respondents think (Manski 1989): the
    width of the range is the non-response rate.  The measured ``s / a`` is inside it; it is the
    truth only if non-respondents feel as respondents do.  No sampling interval is added: the
    bounds are about the missing answers, not about chance.

    Examples
    --------
    >>> sv = pd.DataFrame({"conversation_id": list("abcd"), "kind": "csat", "score": [5.0, 2, None, None],
    ...                    "answered_at": None})
    >>> csat_bounds(sv)[["n_sent", "csat", "bound_low", "bound_high"]]  # 1 of 2 answers; 1/4 .. 3/4
       n_sent  csat  bound_low  bound_high
    0       4  50.0       25.0        75.0
    """
    csat = csat_definition(scale, satisfied)
    keys = as_by(by)
    sv = _sent(surveys, "csat")
    csat.check(sv)
    need = [k for k in keys if k not in sv.columns]
    orphans = pd.Series([], dtype="str")
    if need:
        if conversations is None:
            raise ParameterError(f"by column(s) {need} not in surveys; pass conversations= to take them from there")
        conv = _conversations(conversations)
        missing = [k for k in need if k not in conv.columns]
        if missing:
            raise ParameterError(f"by column(s) {missing} in neither surveys nor conversations")
        sv = sv.merge(conv[[S.CONVERSATION_ID, *need]], on=S.CONVERSATION_ID, how="left", indicator=True)
        orphan = sv["_merge"].eq("left_only")
        orphans = sv.loc[orphan, S.CONVERSATION_ID]
        sv = sv[~orphan].drop(columns="_merge")
    for k in keys:
        if sv[k].isna().any():
            sv[k] = sv[k].astype("str").fillna("(missing)")
    sv = sv.assign(_a=sv[S.SCORE].notna().astype(float), _s=csat.satisfied(sv[S.SCORE]).astype(float), _m=1.0)
    if keys:
        g = sv.groupby(keys, sort=True, observed=True)[["_a", "_s", "_m"]].sum().reset_index()
    else:
        g = pd.DataFrame([sv[["_a", "_s", "_m"]].sum()])
    m, a, s = g["_m"].to_numpy(), g["_a"].to_numpy(), g["_s"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out = g[keys].assign(**{N_SENT: m.astype("int64"), N_ANSWERED: a.astype("int64"),
                                RESPONSE_RATE: np.where(m > 0, a / m, np.nan),
                                CSAT: np.where(a > 0, 100 * s / a, np.nan),
                                BOUND_LOW: np.where(m > 0, 100 * s / m, np.nan),
                                BOUND_HIGH: np.where(m > 0, 100 * (s + m - a) / m, np.nan)})
    S.add_exclusion(out, "survey of a conversation not in the conversations table", S.CONVERSATION_ID, orphans)
    return out[keys + BOUNDS_COLUMNS]


def bounds_sentence(row: pd.Series | dict, *, low_rate: float = 0.5) -> str:
    """One plain sentence about a :func:`csat_bounds` row (empty when the response rate is at least
    ``low_rate``).

    Examples
    --------
    >>> bounds_sentence({"n_sent": 400, "n_answered": 100, "response_rate": 0.25, "csat": 80.0,
    ...                  "bound_low": 20.0, "bound_high": 95.0})
    'Only 25 % of the 400 customers asked answered. Measured CSAT is 80 %; had every non-respondent been dissatisfied it would be 20 %, had every one been satisfied 95 %. The 80 % holds only if those who did not answer feel like those who did.'
    """
    rate = float(row[RESPONSE_RATE])
    if not np.isfinite(rate) or rate >= low_rate:
        return ""
    return (f"Only {100 * rate:.0f} % of the {int(row[N_SENT]):,} customers asked answered. "
            f"Measured CSAT is {row[CSAT]:.0f} %; had every non-respondent been dissatisfied it would be "
            f"{row[BOUND_LOW]:.0f} %, had every one been satisfied {row[BOUND_HIGH]:.0f} %. The {row[CSAT]:.0f} % "
            "holds only if those who did not answer feel like those who did.")


__all__ = ["response_rate", "raking_weights", "weighted_csat", "weighted_iqs_csat", "csat_bounds"]
