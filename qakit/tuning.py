"""Weight tuning before rollout: compare two cards, and fit weights that track CSAT, honestly.

- :func:`compare_scorecards`: IQS per agent under card A and card B, Kendall's tau between the
  two agent rankings, agents whose pass/fail flips, and the change in the IQS-CSAT correlation
  (with a paired bootstrap CI over conversations).
- :func:`fit_weights`: non-negative category weights that maximise the Pearson correlation of
  review IQS with CSAT (:func:`scipy.optimize.minimize`, L-BFGS-B with an analytic gradient),
  with k-fold cross-validation reporting the out-of-fold correlation of the fitted card against
  the current card, so overfitting shows.
- :class:`ReviewMatrix`: the reviews x categories rating matrix behind both and the explorer;
  re-scoring under any card on the same categories runs the one scoring engine
  (:func:`qakit.scorecard.score_matrix`), so the numbers are :meth:`Scorecard.score`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import optimize, stats
import tqdm.auto  # looked up at call time: the explorer swaps in its widget bar (qakit.widgets)

from . import schema as S
from ._public import public
from .errors import ParameterError
from .intervals import check_level
from .scorecard import Scorecard, iqs_score
from .scorecard.engine import CardArrays, EngineResult, rating_matrix, score_matrix
from .scorecard.validate import prepare
from .stats import _pearson_rows, csat_by_conversation

# result columns (defined once)
FOLD = "fold"
N_TRAIN, N_TEST = "n_train", "n_test"
R_TRAIN, R_TEST_FITTED, R_TEST_CURRENT = "r_train", "r_test_fitted", "r_test_current"
CURRENT_WEIGHT, FITTED_WEIGHT = "current_weight", "fitted_weight"
FOLD_MIN, FOLD_MAX = "fold_min", "fold_max"


class ReviewMatrix:
    """The reviews x categories rating matrix, re-scored by the one scoring engine.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Long ratings (validated against ``card``).
    card : Scorecard
        Fixes the categories and their scales. Any other card on the same categories and
        scales -- any weights, critical flags and thresholds, mode, sections,
        ``sections_combine``, fail rules and N/A policies -- is scored exactly as
        :meth:`Scorecard.score` scores it (:func:`qakit.scorecard.score_matrix`).

    Notes
    -----
    ``R[i, j]`` is review i's rating of category j (NaN = N/A); :meth:`iqs` calls the engine on
    it, so the numbers are :meth:`Scorecard.score`'s by construction.

    Examples
    --------
    >>> from qakit import Category
    >>> card = Scorecard([Category("Tone", weight=1.0), Category("Solution", weight=3.0)])
    >>> ratings = pd.DataFrame({"review_id": ["r1", "r1"], "conversation_id": "c1", "agent_id": "a",
    ...     "reviewer_id": "q", "reviewed_at": "2026-01-01", "category": ["Tone", "Solution"],
    ...     "rating": [1.0, 0.0]})
    >>> m = ReviewMatrix(ratings, card)
    >>> m.iqs(card).tolist(), m.iqs(card.with_changes(weights={"Solution": 1.0})).tolist()
    ([25.0], [50.0])
    >>> m.iqs(card.with_changes(critical={"Solution": True})).tolist()
    [0.0]
    """

    def __init__(self, ratings: pd.DataFrame, card: Scorecard):
        if not isinstance(card, Scorecard):
            raise ParameterError(f"card must be a Scorecard; got {type(card).__name__}")
        prep = prepare(ratings, [card])
        self.card = card
        self.categories = card.category_names
        self.R, first = rating_matrix(prep, 0)
        self.ids = prep.rows[[S.REVIEW_ID, S.CONVERSATION_ID, S.AGENT_ID]].iloc[first].reset_index(drop=True)
        self._scales = {c.name: c.scale for c in card.categories}

    def _columns(self, card: Scorecard) -> np.ndarray:
        """R's columns in ``card``'s category order (same categories and scales required)."""
        if not isinstance(card, Scorecard):
            raise ParameterError(f"card must be a Scorecard; got {type(card).__name__}")
        if sorted(card.category_names) != sorted(self.categories):
            raise ParameterError(f"card categories {card.category_names} differ from the matrix's {self.categories}")
        bad = [c.name for c in card.categories if c.scale != self._scales[c.name]]
        if bad:
            raise ParameterError(f"categories {bad} have other scales on card {card.name!r} than on the matrix's card; "
                                 "build a ReviewMatrix with that card")
        return np.array([self.categories.index(c) for c in card.category_names])

    def result(self, card: Scorecard) -> EngineResult:
        """The engine's per-review result under ``card``."""
        cols = self._columns(card)
        R = self.R if np.array_equal(cols, np.arange(len(cols))) else self.R[:, cols]
        return score_matrix(R, card)

    def iqs(self, card: Scorecard) -> np.ndarray:
        """Review scores under ``card`` (NaN where nothing weighted is rated)."""
        return self.result(card).iqs

    def weights_of(self, card: Scorecard) -> tuple[np.ndarray, np.ndarray]:
        """(weights, critical flags) of ``card`` in this matrix's category order."""
        self._columns(card)
        return (np.array([card.weights[c] for c in self.categories], dtype=float),
                np.array([card.critical[c] for c in self.categories], dtype=bool))

    def iqs_from(self, weights: np.ndarray, critical: np.ndarray, card: Scorecard | None = None) -> np.ndarray:
        """Review scores of ``card`` (default: the matrix's) with raw weights and critical flags
        in this matrix's category order (all weights 0: every review NaN)."""
        card = self.card if card is None else card
        w = np.asarray(weights, dtype=float)
        if not (w > 0).any():
            return np.full(len(self.R), np.nan)
        new = card.with_changes(weights=dict(zip(self.categories, map(float, w))),
                                critical=dict(zip(self.categories, map(bool, critical))))
        return self.iqs(new)

    def linear_parts(self, card: Scorecard) -> tuple[np.ndarray, np.ndarray] | None:
        """``(U, V)``: earned and possible points per unit weight (matrix category order), when
        ``card``'s review score is ``max(0, 100 * U w / V w)`` (no sections); else ``None``."""
        if card.sections:
            return None
        unit = self.card.with_changes(weights=dict.fromkeys(self.categories, 1.0))
        unit = replace(unit, mode=card.mode, categories=tuple(
            replace(c, na=card.categories[card.category_names.index(c.name)].na) for c in unit.categories))
        A = CardArrays.of(unit)
        missing = np.isnan(self.R)
        with np.errstate(invalid="ignore"):
            U = self.R * A.ea + A.eb
        counts_na = ~np.isnan(A.na_earned)
        U = np.where(missing, np.where(counts_na, A.na_earned, 0.0), U)
        V = np.where(missing & ~counts_na, 0.0, A.possible_unit)
        return U, V


def _review_csat(ids: pd.DataFrame, surveys: pd.DataFrame) -> np.ndarray:
    return ids[S.CONVERSATION_ID].map(csat_by_conversation(surveys)).to_numpy(dtype=float)


# --- compare two cards ----------------------------------------------------------------------------
@dataclass
class ScorecardComparison:
    """Result of :func:`compare_scorecards`."""

    agents: pd.DataFrame
    summary: pd.DataFrame


@public
def compare_scorecards(
    ratings: pd.DataFrame,
    card_a: Scorecard,
    card_b: Scorecard,
    *,
    surveys: pd.DataFrame | None = None,
    level: float = 0.95,
    n_resamples: int = 1999,
    seed: int = 0,
) -> ScorecardComparison:
    """What changes when card A (current) is replaced by card B (candidate).

    Parameters
    ----------
    ratings : pandas.DataFrame
    card_a, card_b : Scorecard
        Current and candidate cards (any modes/sections: both are scored exactly).
    surveys : pandas.DataFrame, optional
        With CSAT answers, the conversation-level IQS-CSAT Pearson r under each card and the
        difference with a paired bootstrap CI over conversations.
    level : float, default=0.95
    n_resamples : int, default=1999
    seed : int, default=0

    Returns
    -------
    ScorecardComparison
        ``agents``: ``agent_id, n, iqs_a, iqs_b, iqs_change, rank_a, rank_b, passed_a, passed_b,
        flipped`` (agent passes when its IQS >= the card's pass threshold), sorted by ``rank_b``.
        ``summary`` (one row): ``n_agents, iqs_a, iqs_b, pass_rate_a, pass_rate_b, kendall_tau,
        kendall_p_value, n_flipped, n_csat, r_a, r_b, r_change, ci_low, ci_high`` (CI of
        ``r_change``).

    Notes
    -----
    Kendall's tau-b between the per-agent IQS under A and B (:func:`scipy.stats.kendalltau`):
    1 means the ranking is unchanged. ``r_change = r_b - r_a``; both correlations share the
    CSAT answers, so the CI resamples conversations (percentile bootstrap, ``seed``).
    """
    level = check_level(level)
    sa, sb = card_a.score(ratings), card_b.score(ratings)
    ga, gb = iqs_score(sa, by=S.AGENT_ID, min_n=0), iqs_score(sb, by=S.AGENT_ID, min_n=0)
    agents = ga[[S.AGENT_ID, S.N, S.IQS]].rename(columns={S.IQS: "iqs_a"}).merge(
        gb[[S.AGENT_ID, S.IQS]].rename(columns={S.IQS: "iqs_b"}), on=S.AGENT_ID, how="outer")
    agents["iqs_change"] = agents["iqs_b"] - agents["iqs_a"]
    agents["rank_a"] = agents["iqs_a"].rank(ascending=False, method="min")
    agents["rank_b"] = agents["iqs_b"].rank(ascending=False, method="min")
    agents["passed_a"] = card_a.passes(agents["iqs_a"])
    agents["passed_b"] = card_b.passes(agents["iqs_b"])
    agents["flipped"] = agents["passed_a"] != agents["passed_b"]
    agents = agents.sort_values(["rank_b", S.AGENT_ID]).reset_index(drop=True)
    ok = agents[["iqs_a", "iqs_b"]].notna().all(axis=1)
    tau = stats.kendalltau(agents.loc[ok, "iqs_a"], agents.loc[ok, "iqs_b"]) if ok.sum() >= 2 else None
    oa, ob = iqs_score(sa, min_n=0), iqs_score(sb, min_n=0)
    summary = {
        "n_agents": int(len(agents)),
        "iqs_a": float(oa[S.IQS].iloc[0]), "iqs_b": float(ob[S.IQS].iloc[0]),
        "pass_rate_a": float(oa[S.PASS_RATE].iloc[0]), "pass_rate_b": float(ob[S.PASS_RATE].iloc[0]),
        "kendall_tau": float(tau.statistic) if tau is not None else np.nan,
        "kendall_p_value": float(tau.pvalue) if tau is not None else np.nan,
        "n_flipped": int(agents["flipped"].sum()),
        "n_csat": 0, "r_a": np.nan, "r_b": np.nan, "r_change": np.nan, S.CI_LOW: np.nan, S.CI_HIGH: np.nan,
    }
    if surveys is not None:
        cs = csat_by_conversation(surveys)
        conv = pd.concat([sa.groupby(S.CONVERSATION_ID)[S.IQS].mean().rename("a"),
                          sb.groupby(S.CONVERSATION_ID)[S.IQS].mean().rename("b"), cs.rename("y")],
                         axis=1, join="inner").dropna()
        summary["n_csat"] = len(conv)
        if len(conv) >= 4 and conv["y"].std() > 0 and conv["a"].std() > 0 and conv["b"].std() > 0:
            a, b, y = (conv[c].to_numpy() for c in ("a", "b", "y"))
            summary["r_a"] = float(stats.pearsonr(a, y).statistic)
            summary["r_b"] = float(stats.pearsonr(b, y).statistic)
            summary["r_change"] = summary["r_b"] - summary["r_a"]

            def diff(a_, b_, y_, axis=-1):
                return _pearson_rows(b_, y_) - _pearson_rows(a_, y_)

            res = stats.bootstrap((a, b, y), diff, paired=True, vectorized=True, n_resamples=n_resamples,
                                  confidence_level=level, method="percentile", rng=np.random.default_rng(seed))
            summary[S.CI_LOW] = float(res.confidence_interval.low)
            summary[S.CI_HIGH] = float(res.confidence_interval.high)
    return ScorecardComparison(agents=agents, summary=pd.DataFrame([summary]))


# --- fit weights -------------------------------------------------------------------------------------
@dataclass
class WeightFit:
    """Result of :func:`fit_weights`."""

    card: Scorecard          # current card with the weights fitted on all data
    weights: pd.DataFrame    # category, current_weight, fitted_weight, fold_min, fold_max
    folds: pd.DataFrame      # fold, n_train, n_test, r_train, r_test_fitted, r_test_current
    summary: pd.DataFrame    # one row: k, n, r_current, r_fitted_in_sample, r_test_fitted, r_test_current, optimism


def _neg_r_and_grad(w, U, V, failed, y):
    """-Pearson(x(w), y) and its analytic gradient, for ``x = max(0, 100 U w / V w)`` (0 for
    failed reviews); rows whose x is undefined (``V w = 0``) are left out."""
    N, D = U @ w, V @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.where(D > 0, 100.0 * N / D, np.nan)
    floor = x < 0
    x = np.where(failed & ~np.isnan(x), 0.0, np.maximum(x, 0.0))
    ok = ~np.isnan(x)
    x, yy = x[ok], y[ok]
    n = len(x)
    if n < 2:
        return 0.0, np.zeros_like(w)
    xc, yc = x - x.mean(), yy - yy.mean()
    sx, sy = np.sqrt((xc**2).sum() / n), np.sqrt((yc**2).sum() / n)
    if sx == 0 or sy == 0:
        return 0.0, np.zeros_like(w)
    r = (xc * yc).sum() / (n * sx * sy)
    dr_dx = yc / (n * sx * sy) - r * xc / (n * sx**2)
    # d x_i / d w_j = 100 (U_ij D_i - N_i V_ij) / D_i^2; 0 for failed or floored reviews
    Dk, Nk = D[ok], N[ok]
    J = 100.0 * (U[ok] * Dk[:, None] - Nk[:, None] * V[ok]) / (Dk**2)[:, None]
    J[(failed | floor)[ok]] = 0.0
    return -r, -(dr_dx @ J)


def _neg_r_exact(w, M: ReviewMatrix, card: Scorecard, crit, rows, y):
    """-Pearson(engine review scores, y) over ``rows`` for weights ``w`` (any card: sections too)."""
    return -np.nan_to_num(_pearson(M.iqs_from(w, crit, card)[rows], y))


def _fit(M: ReviewMatrix, card: Scorecard, w0, crit, lower, rows, y) -> np.ndarray:
    """L-BFGS-B over weights in [lower, 1]: the analytic gradient when the card is a single
    weighted ratio (no sections), else the exact engine inside the objective with a numeric
    (finite-difference) gradient."""
    bounds = [(lo, 1.0) for lo in lower]
    parts = M.linear_parts(card)
    if parts is not None:
        U, V = parts
        failed = M.result(card).critical_failed  # weights do not change which reviews fail
        res = optimize.minimize(_neg_r_and_grad, w0, args=(U[rows], V[rows], failed[rows], y), jac=True,
                                method="L-BFGS-B", bounds=bounds)
    else:
        res = optimize.minimize(_neg_r_exact, w0, args=(M, card, crit, rows, y), jac="2-point",
                                method="L-BFGS-B", bounds=bounds, options={"eps": 1e-6})
    return res.x


def _pearson(x, y):
    ok = ~np.isnan(x) & ~np.isnan(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return np.nan
    return float(np.corrcoef(x[ok], y[ok])[0, 1])


@public
def fit_weights(
    ratings: pd.DataFrame,
    card: Scorecard,
    surveys: pd.DataFrame,
    *,
    k: int = 5,
    seed: int = 0,
    min_critical_weight: float = 0.05,
    progress: bool = False,
) -> WeightFit:
    """Non-negative category weights that make review IQS track CSAT, cross-validated.

    Parameters
    ----------
    ratings : pandas.DataFrame
    card : Scorecard
        The current card: categories, scales, mode, sections, critical flags, thresholds,
        fail rules and N/A policies are kept; only the category weights are fitted.
    surveys : pandas.DataFrame
        CSAT answers; reviews of conversations without one are not used.
    k : int, default=5
        Folds. Folds split *conversations* (all reviews of a conversation fall in one fold).
    seed : int, default=0
        Seed of the fold assignment.
    min_critical_weight : float, default=0.05
        Lower bound (relative to the largest weight, 1) for critical categories, which may not
        weigh 0.
    progress : bool, default=False
        Progress bar over the folds.

    Returns
    -------
    WeightFit
        ``card`` (the current card with weights fitted on all data, rescaled to the current
        total weight), ``weights`` (per category current and fitted weight, and the range over
        folds), ``folds`` (per fold: train r of the fitted weights, out-of-fold r of the fitted
        and of the current weights) and ``summary``: ``k, n, r_current, r_fitted_in_sample,
        r_test_fitted, r_test_current, optimism`` where ``r_test_*`` are the out-of-fold
        correlations (all folds pooled) and ``optimism = r_fitted_in_sample - r_test_fitted``.

    Notes
    -----
    Maximises Pearson's r between review IQS and the conversation's CSAT score over weights in
    [0, 1] (r does not depend on the scale of the weights) with L-BFGS-B. For a card without
    sections the review score is ``x_i = max(0, 100 N_i / D_i)`` with ``N = U w`` (earned points
    per unit weight) and ``D = V w`` (possible points), and the gradient is analytic:
    ``dr/dw = sum_i dr/dx_i * dx_i/dw`` with ``dx_i/dw_j = 100 (U_ij D_i - N_i V_ij) / D_i^2``.
    A sectioned card is not a single ratio: the objective then runs the exact scoring engine and
    the gradient is a finite difference. Critical and fail rules are applied as in the card. Trust the fitted card only when
    ``r_test_fitted`` beats ``r_test_current`` clearly: in-sample r always improves.
    """
    if not isinstance(k, int | np.integer) or k < 2:
        raise ParameterError(f"k must be an integer >= 2; got {k!r}")
    M = ReviewMatrix(ratings, card)
    y = _review_csat(M.ids, surveys)
    use = ~np.isnan(y)
    conv = M.ids[S.CONVERSATION_ID].to_numpy()
    uconv = np.unique(conv[use])
    if len(uconv) < 2 * k:
        raise ParameterError(f"fit_weights needs at least {2 * k} reviewed conversations with CSAT for "
                             f"k={k} folds; found {len(uconv)}")
    w_cur, crit = M.weights_of(card)
    w0 = w_cur / w_cur.max()
    lower = np.where(crit, min_critical_weight, 0.0)
    rng = np.random.default_rng(seed)
    fold_of_conv = pd.Series(rng.permutation(len(uconv)) % k, index=uconv)
    fold = np.full(len(conv), -1)
    fold[use] = fold_of_conv.reindex(conv[use]).to_numpy()
    iqs_cur = M.iqs_from(w_cur, crit)
    oof = np.full(len(conv), np.nan)
    folds, fold_w = [], []
    it = range(k)
    if progress:
        it = tqdm.auto.tqdm(it, desc="fit_weights folds", leave=False)
    for f in it:
        tr, te = np.flatnonzero(use & (fold != f)), np.flatnonzero(fold == f)
        w = _fit(M, card, w0, crit, lower, tr, y[tr])
        fold_w.append(w / w.max())
        pred = M.iqs_from(w, crit)
        oof[te] = pred[te]
        folds.append({FOLD: f + 1, N_TRAIN: len(tr), N_TEST: len(te), R_TRAIN: _pearson(pred[tr], y[tr]),
                      R_TEST_FITTED: _pearson(pred[te], y[te]), R_TEST_CURRENT: _pearson(iqs_cur[te], y[te])})
    rows_all = np.flatnonzero(use)
    w_all = _fit(M, card, w0, crit, lower, rows_all, y[rows_all])
    w_all = w_all / w_all.sum() * w_cur.sum()
    fitted_card = card.with_changes(weights=dict(zip(M.categories, map(float, w_all))))
    fw = np.array(fold_w) / np.array(fold_w).sum(axis=1, keepdims=True) * w_cur.sum()
    weights = pd.DataFrame({S.CATEGORY: M.categories, CURRENT_WEIGHT: w_cur, FITTED_WEIGHT: w_all,
                            FOLD_MIN: fw.min(axis=0), FOLD_MAX: fw.max(axis=0)})
    in_sample = _pearson(M.iqs_from(w_all, crit)[use], y[use])
    summary = pd.DataFrame([{
        "k": k, S.N: int(use.sum()), "r_current": _pearson(iqs_cur[use], y[use]),
        "r_fitted_in_sample": in_sample, R_TEST_FITTED: _pearson(oof[use], y[use]),
        R_TEST_CURRENT: _pearson(iqs_cur[use], y[use]),
    }])
    summary["optimism"] = summary["r_fitted_in_sample"] - summary[R_TEST_FITTED]
    return WeightFit(card=fitted_card, weights=weights, folds=pd.DataFrame(folds), summary=summary)


@public
def weights_table(cards: Mapping[str, Scorecard] | Sequence[Scorecard]) -> pd.DataFrame:
    """Side-by-side weights and critical flags of several cards (one row per category).

    Examples
    --------
    >>> from qakit import Category
    >>> a = Scorecard([Category("Tone", weight=1.0), Category("Solution", weight=2.0, critical=True)])
    >>> weights_table({"current": a, "candidate": a.with_changes(weights={"Tone": 3.0})})
       category  current  current_critical  candidate  candidate_critical
    0      Tone      1.0             False        3.0               False
    1  Solution      2.0              True        2.0                True
    """
    items = cards.items() if isinstance(cards, Mapping) else ((c.name, c) for c in cards)
    parts, order = [], []
    for name, c in items:
        order += [x for x in c.category_names if x not in order]
        parts.append(pd.DataFrame({name: [c.weights[x] for x in c.category_names],
                                   f"{name}_critical": [c.critical[x] for x in c.category_names]},
                                  index=pd.Index(c.category_names, name=S.CATEGORY)))
    return pd.concat(parts, axis=1).reindex(order).reset_index()


# --- the public API: every function listed here is decorated with @public on its def (shared parameters
# checked by name; every result stamped with its exclusion record) -----------------------------------
__all__ = [
    "ReviewMatrix",
    "ScorecardComparison",
    "compare_scorecards",
    "WeightFit",
    "fit_weights",
    "weights_table",
]
