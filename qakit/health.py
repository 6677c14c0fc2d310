"""Is our scorecard any good? Item analysis of a scorecard's categories from the ratings.

For each category (an "item" in test theory), :func:`scorecard_health` answers:

- **How often is it N/A?** (``na_rate``) A category skipped on most reviews says little about most
  conversations.
- **Does it vary?** (difficulty: ``full_marks_rate``, ``fail_rate``) A category everybody passes
  (Greeting at 99 % full marks) cannot separate good from bad conversations and only shifts every
  score by the same amount.
- **Does it separate good from bad conversations?** (discrimination: the *corrected item-total*
  correlation ``item_rest_r`` of the category score with the mean of the *other* categories on the
  same review, and the *point-biserial* ``point_biserial_r`` of passing the category (not failing it)
  with that rest score). A category uncorrelated with the rest measures something else (or noise);
  a negative one runs against the rest of the card.
- **Does it track the customer?** (``csat_r``: category score vs the CSAT answer of the same
  conversation, when surveys are given).
- **Does it measure the same thing as another category?** (``pairs``: inter-category correlations;
  a pair at r >= 0.7 shares half its variance).
- **How consistent is the card as a whole?** (``consistency``: Cronbach's alpha with Feldt's
  interval, McDonald's omega total with a bootstrap interval; ``alpha_if_dropped`` per category.)

Scores are the card's category scores (0..100 % in the card's mode, :meth:`Scorecard.category_rows`),
unweighted; N/A ratings are left out pair by pair (covariances and correlations from the reviews
rating both categories: R ``psych::alpha``'s default ``use = "pairwise"``).

A scorecard is a checklist of distinct behaviours, not a test of one skill: it need not be
one-dimensional. A low alpha says the total mixes different things (read IQS as an index), not
that the card is broken; the flags to act on first are categories that never vary, that run against
the rest, and pairs that duplicate each other.

Flags, their thresholds and sources (:data:`THRESHOLDS`, also returned as ``thresholds``):

============================  =====================  ===============================================
flag                          rule                   source
============================  =====================  ===============================================
``rarely rated``              na_rate > 0.5          qakit convention (most reviews skip it)
``no variation``              one value only         undefined correlations; dropped from alpha and
                                                     omega as R ``psych::alpha`` does
``ceiling``                   full marks >= 0.95     qakit convention: a 0/1 item passed by 95 % has
                                                     sd <= 0.22, which caps its correlations
``poor discrimination``       item-rest r < 0.20     Ebel & Frisbie (1991), *Essentials of Educational
                                                     Measurement*, 5th ed.: < .20 poor, .20-.29
                                                     marginal, .30-.39 reasonably good, >= .40 very
                                                     good
``runs against the card``     item-rest CI < 0       the category's interval is entirely below 0
``raises alpha if dropped``   alpha_if_dropped >     Cronbach's alpha-if-item-deleted (e.g. R
                              alpha + 0.01           ``psych::alpha``'s ``alpha.drop``); 0.01 = qakit
                                                     convention against rounding noise
``redundant pair``            r >= 0.70              qakit convention (r^2 >= 0.49); Clark & Watson
                                                     (1995), *Psychological Assessment* 7(3): 309-319
                                                     recommend a mean inter-item r of .15-.50
``low alpha``                 alpha < 0.70           Nunnally (1978), *Psychometric Theory*, 2nd ed.
``very high alpha``           alpha > 0.95           Streiner (2003), *J. Personality Assessment*
                                                     80(1): 99-103 (redundant items)
============================  =====================  ===============================================
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats

from . import schema as S
from ._public import public
from .errors import ParameterError, SmallSampleWarning, UndefinedMetricWarning, check_choice
from .intervals import MIN_N, check_level, fisher_ci
from .metrics import _contract as M_contract
from .metrics import _source as M_source
from .scorecard.card import Scorecard
from .scorecard.engine import on_engine
from .stats import CSAT, _matrix_of_rows, csat_by_conversation, csat_per_conversation_on_engine
import html

# --- result columns ----------------------------------------------------------------------------------
WEIGHT = "weight"
CRITICAL = "critical"
NA_RATE = "na_rate"
FULL_MARKS_RATE = "full_marks_rate"
FAIL_RATE = "fail_rate"
ITEM_REST_R = "item_rest_r"
POINT_BISERIAL_R = "point_biserial_r"
PB_CI_LOW, PB_CI_HIGH = "point_biserial_ci_low", "point_biserial_ci_high"
CSAT_N = "csat_n"
CSAT_R = "csat_r"
CSAT_CI_LOW, CSAT_CI_HIGH = "csat_ci_low", "csat_ci_high"
ALPHA_IF_DROPPED = "alpha_if_dropped"
FLAGS = "flags"

#: From this many reviews on, ``scorecard_health(bootstrap="auto")`` draws omega's bootstrap resamples'
#: sums from their normal approximation (the central limit theorem for the multinomial's sums).
NORMAL_BOOTSTRAP_FROM = 100_000
CATEGORY_A, CATEGORY_B = "category_a", "category_b"
R = "r"
REDUNDANT = "redundant"
STATISTIC = "statistic"
ESTIMATE = "estimate"
N_ITEMS = "n_items"
CI_METHOD = "ci_method"
FLAG, RULE, SOURCE = "flag", "rule", "source"

CATEGORY_COLUMNS = [S.CATEGORY, WEIGHT, CRITICAL, S.N, NA_RATE, FULL_MARKS_RATE, FAIL_RATE, ITEM_REST_R, S.CI_LOW,
                    S.CI_HIGH, POINT_BISERIAL_R, PB_CI_LOW, PB_CI_HIGH, CSAT_N, CSAT_R, CSAT_CI_LOW, CSAT_CI_HIGH,
                    ALPHA_IF_DROPPED, S.SMALL_SAMPLE, FLAGS]
PAIR_COLUMNS = [CATEGORY_A, CATEGORY_B, S.N, R, S.CI_LOW, S.CI_HIGH, REDUNDANT]
CONSISTENCY_COLUMNS = [STATISTIC, S.N, N_ITEMS, ESTIMATE, S.CI_LOW, S.CI_HIGH, CI_METHOD, FLAGS]

#: the flags' thresholds (see the module docstring for their sources)
RARELY_RATED = 0.5
CEILING = 0.95
POOR_DISCRIMINATION = 0.20
ALPHA_DROP_MARGIN = 0.01
REDUNDANT_R = 0.70
LOW_ALPHA = 0.70
HIGH_ALPHA = 0.95
THRESHOLDS = pd.DataFrame([
    ("rarely rated", f"N/A on more than {RARELY_RATED:.0%} of reviews", "qakit convention"),
    ("no variation", "every rating the same", "correlations undefined; dropped from alpha/omega as R psych::alpha does"),
    ("ceiling", f"full marks on at least {CEILING:.0%} of ratings",
     "qakit convention (a 0/1 item passed by 95 % has sd <= 0.22, capping its correlations)"),
    ("poor discrimination", f"item-rest r below {POOR_DISCRIMINATION:.2f}",
     "Ebel & Frisbie (1991), Essentials of Educational Measurement, 5th ed. (< .20 poor)"),
    ("runs against the card", "item-rest r interval entirely below 0", "negative discrimination"),
    ("raises alpha if dropped", f"alpha without it exceeds alpha by more than {ALPHA_DROP_MARGIN}",
     "alpha if item deleted (R psych::alpha alpha.drop); margin: qakit convention"),
    ("redundant pair", f"inter-category r of at least {REDUNDANT_R:.2f}",
     "qakit convention (r^2 >= 0.49); Clark & Watson (1995), Psychological Assessment 7(3): 309-319: mean "
     "inter-item r .15-.50"),
    ("low alpha", f"Cronbach's alpha below {LOW_ALPHA:.2f}", "Nunnally (1978), Psychometric Theory, 2nd ed."),
    ("very high alpha", f"Cronbach's alpha above {HIGH_ALPHA:.2f}",
     "Streiner (2003), Journal of Personality Assessment 80(1): 99-103"),
], columns=[FLAG, RULE, SOURCE])


__all__ = ["scorecard_health"]


@dataclass
class ScorecardHealth:
    """The result of :func:`scorecard_health`: four tables.

    Attributes
    ----------
    categories : pandas.DataFrame
        One row per category (card order), see :func:`scorecard_health`.
    pairs : pandas.DataFrame
        One row per pair of categories: ``category_a, category_b, n, r, ci_low, ci_high, redundant``.
    consistency : pandas.DataFrame
        ``statistic`` (``alpha``, ``omega_total``), ``n, n_items, estimate, ci_low, ci_high,
        ci_method, flags``.
    thresholds : pandas.DataFrame
        ``flag, rule, source`` (:data:`THRESHOLDS`).
    """

    categories: pd.DataFrame
    pairs: pd.DataFrame
    consistency: pd.DataFrame
    thresholds: pd.DataFrame


# --- statistics on a matrix with N/A -----------------------------------------------------------------------
def pairwise_cov(X: np.ndarray, w: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise-complete covariance matrix (ddof=1) and pair counts of ``X`` (rows x items, NaN =
    missing), optionally with integer row weights ``w`` (bootstrap counts). Diagonal: each item's
    own variance over its rated rows (R's ``cov(x, use = "pairwise")``).

    Examples
    --------
    >>> X = np.array([[1.0, 2.0], [2.0, np.nan], [3.0, 4.0], [4.0, 3.0]])
    >>> C, n = pairwise_cov(X)
    >>> C.round(4).tolist(), n.tolist()  # var(1,2,3,4) = 5/3; pairs (1,2),(3,4),(4,3): cov 1.0
    ([[1.6667, 1.0], [1.0, 1.0]], [[4.0, 3.0], [3.0, 3.0]])
    """
    n, sx, _, sxy = _pair_sums(_corr_parts(X), w)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = (sxy - sx * sx.T / n) / (n - 1)
    return cov, n


def _corr_parts(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``([M, X0, X0^2], [M, X0])`` of ``X`` (M: rated, X0: ratings with N/A as 0), computed once for
    every weighting :func:`_weighted_corr` applies (the bootstrap's resamples)."""
    M = ~np.isnan(X)
    X0 = np.where(M, X, 0.0)
    Mf = M.astype(float)
    return np.hstack([Mf, X0, X0 * X0]), np.hstack([Mf, X0])


def _pair_sums(parts: tuple[np.ndarray, np.ndarray], w: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """``(n, sx, sxx, sxy)`` over the rows rating both items of each pair, rows weighted by ``w``
    (bootstrap counts): one matrix product ``A' (w B)`` of :func:`_corr_parts` holds
    ``n_ij = sum w M_i M_j``, ``sx_ij = sum w x_i M_j``, ``sxx_ij = sum w x_i^2 M_j`` and
    ``sxy_ij = sum w x_i x_j``."""
    A, B = parts
    k = B.shape[1] // 2
    G = A.T @ (B if w is None else B * w[:, None])
    return G[:k, :k], G[k:2 * k, :k], G[2 * k:, :k], G[k:2 * k, k:]


def _weighted_corr(parts: tuple[np.ndarray, np.ndarray], w: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise-complete correlations and pair counts from :func:`_pair_sums`."""
    n, sx, sxx, sxy = _pair_sums(parts, w)
    return _corr_of_sums(n, sx, sxx, sxy), n


def _corr_of_sums(n: np.ndarray, sx: np.ndarray, sxx: np.ndarray, sxy: np.ndarray) -> np.ndarray:
    """``r = (sxy - sx sx'/n) / sqrt(vx vx')`` with ``vx = sxx - sx^2 / n`` (the sums of
    :func:`_pair_sums`, optionally stacked ``(B, k, k)``; homogeneous of degree 1, so sums and
    means per review give the same r)."""
    T = (lambda a: np.swapaxes(a, -1, -2))
    with np.errstate(invalid="ignore", divide="ignore"):
        cxy = sxy - sx * T(sx) / n
        vx = sxx - sx**2 / n
        return cxy / np.sqrt(vx * T(vx))


def _sum_index(k: int) -> tuple[np.ndarray, ...]:
    """Which entries of :func:`_pair_sums`' product ``A' (w B)`` the off-diagonal correlations read,
    each distinct one once: ``n_ij`` and ``sxy_ij`` for ``i < j`` (symmetric), ``sx_ij`` and
    ``sxx_ij`` for ``i != j``. Returns the rows ``ia`` of ``A`` and columns ``ib`` of ``B`` of those
    features, and the rows, columns and source feature of the symmetric entries' other half."""
    iv, jv = np.triu_indices(k, 1)
    io, jo = np.nonzero(~np.eye(k, dtype=bool))
    ia = np.concatenate([iv, k + io, 2 * k + io, k + iv])
    ib = np.concatenate([jv, jo, jo, k + jv])
    m = len(iv)
    sxy0 = m + 2 * len(io)
    ma = np.concatenate([jv, k + jv])
    mb = np.concatenate([iv, k + iv])
    src = np.concatenate([np.arange(m), sxy0 + np.arange(m)])
    return ia, ib, ma, mb, src


def _normal_resample_corrs(parts: tuple[np.ndarray, np.ndarray], w: np.ndarray, draws: int,
                           rng: np.random.Generator, *, chunk: int = 1 << 14) -> np.ndarray:
    """Correlation matrices ``(draws, k, k)`` of the bootstrap's resamples, each resample's sums per
    review drawn from their normal approximation instead of drawn review by review.

    A resample of ``n`` reviews has sums ``T* = sum_p W_p f_p`` over the patterns ``p`` (``f_p``: the
    pattern's entries of ``A' B`` that off-diagonal correlations read, :func:`_sum_index`),
    ``W ~ multinomial(n, w / n)``: mean
    ``n fbar``, covariance ``n Sigma`` with ``fbar = sum w f / n`` and ``Sigma = sum w (f - fbar)
    (f - fbar)' / n``. By the central limit theorem ``T* / n ~ N(fbar, Sigma / n)`` to ``O(n^-1/2)``:
    each draw is ``fbar + L z / sqrt(n)``, ``L L' = Sigma`` (symmetric square root, eigenvalues
    clipped at 0), ``z`` standard normal; its correlations are computed as an exact resample's
    (:func:`_corr_of_sums`). Cost: one pass over the patterns for ``Sigma`` (``P F^2``), then
    ``draws x F^2``, instead of ``draws`` passes over the patterns."""
    A, Bm = parts
    k = Bm.shape[1] // 2
    ia, ib, ma, mb, src = _sum_index(k)
    n = float(w.sum())
    # patterns as columns: a feature's values are a contiguous row slice (gathering 270 features
    # from rows of 30 columns cost more than the products), in chunks that stay in cache
    At, Bt = np.ascontiguousarray(A.T), np.ascontiguousarray(Bm.T)
    starts = range(0, len(w), chunk)
    fbar, f2 = np.zeros(len(ia)), np.zeros(len(ia))
    for s in starts:
        f = At[ia, s:s + chunk] * Bt[ib, s:s + chunk]
        fbar += f @ w[s:s + chunk]
        f *= f
        f2 += f @ w[s:s + chunk]
    fbar /= n
    var = f2 / n - fbar**2
    vary = np.flatnonzero(var > 1e-12)  # features equal on every review (no N/A: n_ij = 1) add no noise
    sigma = np.zeros((len(vary), len(vary)))
    for s in starts:
        g = At[ia[vary], s:s + chunk] * Bt[ib[vary], s:s + chunk]
        g -= fbar[vary, None]
        g *= np.sqrt(w[None, s:s + chunk])
        sigma += g @ g.T
    vals, vecs = np.linalg.eigh(sigma / n)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    t = np.broadcast_to(fbar, (draws, len(ia))).copy()
    t[:, vary] += rng.standard_normal((draws, len(vary))) @ root.T / np.sqrt(n)
    G = np.zeros((draws, 3 * k, 2 * k))
    d = np.arange(k)  # the diagonal: n = sxx = sxy = 1, sx = 0, so r_ii = 1
    G[:, d, d] = G[:, 2 * k + d, d] = G[:, k + d, k + d] = 1.0
    G[:, ia, ib] = t
    G[:, ma, mb] = t[:, src]
    return _corr_of_sums(G[:, :k, :k], G[:, k:2 * k, :k], G[:, 2 * k:, :k], G[:, k:2 * k, k:])


def cronbach_alpha(C: np.ndarray) -> float:
    """Cronbach's alpha from a covariance matrix: ``k/(k-1) (1 - sum(diag C) / sum(C))``.

    Examples
    --------
    >>> round(cronbach_alpha(np.array([[1.0, 0.5], [0.5, 1.0]])), 4)  # 2 (1 - 2/3)
    0.6667
    """
    k = C.shape[0]
    total = C.sum()
    if k < 2 or not np.isfinite(total) or total <= 0:
        return float("nan")
    return float(k / (k - 1) * (1 - np.trace(C) / total))


def feldt_ci(alpha: float, n: float, k: int, *, level: float = 0.95) -> tuple[float, float]:
    """Feldt's interval for Cronbach's alpha (Feldt, Woodruff & Salih 1987, *Applied Psychological
    Measurement* 11(1): 93-103): ``1 - (1 - alpha) F_{(1+level)/2}`` to ``1 - (1 - alpha)
    F_{(1-level)/2}``, F with ``n - 1`` and ``(n - 1)(k - 1)`` degrees of freedom.

    Examples
    --------
    >>> [round(x, 4) for x in feldt_ci(0.8, 100, 5)]  # F_{.975; 99, 396} = 1.3469, F_{.025} = 0.7207
    [0.7306, 0.8559]
    """
    if not np.isfinite(alpha) or n < 3 or k < 2:
        return float("nan"), float("nan")
    d1, d2 = n - 1, (n - 1) * (k - 1)
    return (float(1 - (1 - alpha) * stats.f.ppf((1 + level) / 2, d1, d2)),
            float(1 - (1 - alpha) * stats.f.ppf((1 - level) / 2, d1, d2)))


def one_factor_loadings(Rm: np.ndarray, *, max_iter: int = 500, tol: float = 1e-10) -> np.ndarray:
    """Loadings of a one-factor model fitted to a correlation matrix by iterated principal axes
    (at convergence the unweighted least-squares / ``minres`` solution), communalities started at
    the squared multiple correlations and kept below 1 (Heywood cases capped at 0.995).

    Examples
    --------
    Three items with r12 = 0.42, r13 = 0.35, r23 = 0.30: the model is just identified, so
    ``l1 = sqrt(r12 r13 / r23) = 0.7``, ``l2 = r12 / l1 = 0.6``, ``l3 = r13 / l1 = 0.5``.

    >>> Rm = np.array([[1, .42, .35], [.42, 1, .30], [.35, .30, 1]])
    >>> one_factor_loadings(Rm).round(6).tolist()
    [0.7, 0.6, 0.5]
    """
    return _loadings(Rm[None], max_iter=max_iter, tol=tol)[0]


def _loadings(Rs: np.ndarray, *, max_iter: int = 500, tol: float = 1e-10) -> np.ndarray:
    """:func:`one_factor_loadings` of a stack of correlation matrices ``(B, k, k)`` at once (the
    bootstrap's resamples): the same iteration on each matrix, its eigenproblems solved together
    for the matrices that have not converged yet; ``(B, k)``."""
    B, k, _ = Rs.shape
    try:
        inv = np.linalg.inv(Rs)
    except np.linalg.LinAlgError:  # some matrix singular: those start at 0.5
        inv = np.full_like(Rs, np.nan)
        for b in range(B):
            try:
                inv[b] = np.linalg.inv(Rs[b])
            except np.linalg.LinAlgError:
                pass
    with np.errstate(divide="ignore", invalid="ignore"):
        h = 1 - 1 / np.diagonal(inv, axis1=1, axis2=2)  # squared multiple correlations
    h = np.clip(np.nan_to_num(h, nan=0.5), 0.05, 0.995)
    lam = np.sqrt(h)
    active = np.arange(B)
    diag = np.arange(k)
    for _ in range(max_iter):
        if not len(active):
            break
        Rr = Rs[active].copy()
        Rr[:, diag, diag] = h[active]
        vals, vecs = np.linalg.eigh(Rr)
        lam[active] = vecs[:, :, -1] * np.sqrt(np.maximum(vals[:, -1], 0.0))[:, None]
        new = np.clip(lam[active] ** 2, 0.0, 0.995)
        done = np.max(np.abs(new - h[active]), axis=1) < tol
        h[active] = new
        active = active[~done]
    return np.where(lam.sum(axis=1, keepdims=True) < 0, -lam, lam)


def _omegas(Rs: np.ndarray) -> np.ndarray:
    """:func:`omega_total` of a stack of correlation matrices ``(B, k, k)``; NaN where a matrix
    has a non-finite entry."""
    out = np.full(len(Rs), np.nan)
    ok = np.isfinite(Rs).all(axis=(1, 2))
    if Rs.shape[1] >= 2 and ok.any():
        lam = _loadings(Rs[ok])
        common = lam.sum(axis=1) ** 2
        out[ok] = common / (common + (1 - lam**2).sum(axis=1))
    return out


def omega_total(Rm: np.ndarray) -> float:
    """McDonald's omega total of a one-factor model on a correlation matrix:
    ``(sum l)^2 / ((sum l)^2 + sum(1 - l^2))`` (McDonald 1999, *Test Theory: A Unified Treatment*,
    eq. 6.20b).

    Examples
    --------
    Loadings 0.7, 0.6, 0.5 (see :func:`one_factor_loadings`): ``1.8^2 = 3.24``, uniquenesses
    ``0.51 + 0.64 + 0.75 = 1.90``, omega ``3.24 / 5.14 = 0.630350``.

    >>> round(omega_total(np.array([[1, .42, .35], [.42, 1, .30], [.35, .30, 1]])), 6)
    0.63035
    """
    return float(_omegas(np.asarray(Rm, dtype=float)[None])[0])


# --- the public function ----------------------------------------------------------------------------------
def _flags_text(parts: list[str]) -> str:
    return "; ".join(parts)


@public
def scorecard_health(
    ratings: pd.DataFrame,
    card: Scorecard,
    *,
    surveys: pd.DataFrame | None = None,
    level: float = 0.95,
    seed: int = 0,
    n_resamples: int = 1000,
    bootstrap: str = "auto",
    min_n: int = MIN_N,
    engine: Any = None,
) -> ScorecardHealth:
    """Item analysis of a scorecard: which categories never vary, which do not separate good from
    bad conversations, which duplicate each other, and how consistent the card is.

    Parameters
    ----------
    ratings : pandas.DataFrame, or a Parquet file or folder / DuckDB relation
        Long ratings (validated against ``card`` as in :meth:`Scorecard.score`). Not a pandas frame
        (or with ``engine="duckdb"``): the ratings are checked against the data contract and the card
        there (scoring's checks on the engine: the same refusals as pandas, with the reviews' ids) and
        counted per distinct rating pattern on DuckDB (:func:`rating_patterns`); only the patterns and
        their counts leave the engine. The numbers equal the pandas ones.
    card : Scorecard
    surveys : pandas.DataFrame, optional
        Surveys; the CSAT answers of the reviewed conversations give ``csat_r``.
    level : float, default=0.95
    seed : int, default=0
        Seeds the bootstrap of omega's interval.
    n_resamples : int, default=1000
        Bootstrap resamples (reviews drawn with replacement) for omega's interval; 0 = none.
    bootstrap : {"auto", "resample", "normal"}, default="auto"
        How a resample's sums are drawn: ``"resample"`` draws the reviews (as counts per rating
        pattern), ``"normal"`` draws the resample's sums from their normal approximation (see Notes;
        the cost no longer grows with the patterns), ``"auto"`` = ``"normal"`` from
        :data:`NORMAL_BOOTSTRAP_FROM` (100,000) reviews on, else ``"resample"``.
    min_n : int, default=30
        Categories rated on fewer reviews are flagged ``small_sample``.
    engine : {None, "pandas", "duckdb"} or a DuckDB connection, default None
        Where the patterns are counted: None, the engine of ``ratings`` (pandas for a pandas frame,
        DuckDB for a Parquet path).

    Returns
    -------
    ScorecardHealth
        ``categories``: ``category, weight, critical, n`` (reviews rating it), ``na_rate`` (share
        of the card's reviews where it is N/A), ``full_marks_rate``, ``fail_rate`` (share of its
        ratings at 100 % / failing: below its ``critical_threshold`` or a ``fail_values`` rating),
        ``item_rest_r, ci_low, ci_high`` (corrected item-total correlation, Fisher z interval),
        ``point_biserial_r`` with ``point_biserial_ci_low/high`` (passing vs rest score),
        ``csat_n, csat_r, csat_ci_low, csat_ci_high``, ``alpha_if_dropped``, ``small_sample``,
        ``flags`` (``;``-separated, see :data:`THRESHOLDS`); ``pairs``, ``consistency`` and
        ``thresholds`` as in :class:`ScorecardHealth`. Reviews with no rated category are
        itemised in :func:`qakit.schema.exclusions` of ``categories``.

    Notes
    -----
    With ``x_ij`` the score of category j on review i (0..1) and ``rest_ij`` the mean of review
    i's *other* rated categories: ``item_rest_r_j = corr(x_.j, rest_.j)`` over reviews rating j
    and at least one other (on complete data this is R ``psych::alpha``'s ``r.drop``);
    ``point_biserial_r_j = corr(1[j not failed], rest_.j)``. Intervals: Fisher's z,
    ``tanh(atanh r -/+ z_{(1+level)/2} / sqrt(n - 3))``. Alpha: ``k/(k-1) (1 - sum s_jj / sum
    s_jl)`` over the pairwise covariance matrix of the categories that vary; Feldt's interval
    (:func:`feldt_ci`) with ``n`` the *smallest* pairwise count (conservative with N/A). Omega
    total: :func:`omega_total` on the pairwise correlation matrix; percentile bootstrap
    interval over reviews (seeded). Everything is computed from the distinct rating patterns (each
    review's category scores, failed flags and CSAT) and their counts, as weighted sums: reviews with
    the same pattern are interchangeable. A bootstrap resample draws the ``n`` reviews as counts per
    pattern, ``multinomial(n, counts / n)`` over the patterns in a canonical order (sorted by their
    values), which is the distribution of a resample of the reviews themselves; its cost grows with the
    patterns, not the reviews, and the draws do not depend on the order of the rows or on the engine.
    From 100,000 reviews on (``bootstrap="auto"``) a resample's sums per review are drawn from their
    normal approximation, ``N(fbar, Sigma / n)`` (``fbar``, ``Sigma``: the mean and covariance over the
    reviews of each review's sums; the central limit theorem for the multinomial's sums, error
    ``O(n^-1/2)``), and the same omega computed from each draw: with millions of reviews and patterns
    that hardly repeat, resampling costs ``n_resamples`` passes over up to millions of patterns, the
    approximation one (``tests/test_health.py`` checks the two intervals agree at 100,000 reviews).

    Examples
    --------
    >>> from qakit import Category
    >>> card = Scorecard([Category("Tone", scale=5), Category("Solution", scale=5), Category("Greeting")])
    >>> r = pd.DataFrame({"review_id": np.repeat([f"r{i}" for i in range(6)], 3),
    ...     "conversation_id": np.repeat([f"c{i}" for i in range(6)], 3), "agent_id": "a",
    ...     "reviewer_id": "q", "reviewed_at": "2026-11-02", "category": ["Tone", "Solution", "Greeting"] * 6,
    ...     "rating": [5, 5, 1, 4, 4, 1, 3, 4, 1, 2, 1, 1, 1, 2, 1, 4, 3, 1]})
    >>> import warnings
    >>> with warnings.catch_warnings():  # Greeting never varies: an UndefinedMetricWarning says so
    ...     warnings.simplefilter("ignore")
    ...     h = scorecard_health(r, card, n_resamples=0, min_n=5)
    >>> h.categories[["category", "full_marks_rate", "item_rest_r", "flags"]].round(3)
       category  full_marks_rate  item_rest_r                    flags
    0      Tone            0.167        0.815  redundant with Solution
    1  Solution            0.167        0.815      redundant with Tone
    2  Greeting            1.000          NaN    no variation; ceiling

    By hand: Greeting is 1 everywhere, so each rest score is the other scale category; Tone
    (5 4 3 2 1 4) and Solution (5 4 4 1 2 3) have co-deviation sum 8.833 and sums of squares
    10.833 each: r = 8.833 / 10.833 = 0.815 (>= 0.70: a redundant pair).
    """
    level = check_level(level)
    check_choice("bootstrap", bootstrap, ("auto", "resample", "normal"))
    if not isinstance(card, Scorecard):
        raise ParameterError(f"card must be a qakit Scorecard; got {type(card).__name__}")
    names = card.category_names
    k = len(names)
    cats = {c.name: c for c in card.categories}
    if isinstance(ratings, pd.DataFrame) and engine in (None, "pandas"):
        X, fail, csat_v, w, none_rated = _patterns_pandas(ratings, card, surveys)
    else:
        X, fail, csat_v, w, none_rated = _patterns_engine(ratings, card, surveys, engine)
    csat = surveys  # (whether CSAT was given: the csat_n column is 0 without it)
    n_rev = int(w.sum())
    if n_rev < 3:
        raise ParameterError(f"scorecard_health needs at least 3 reviews with a rating; got {n_rev}")
    M = ~np.isnan(X)
    wM = w[:, None] * M
    n = wM.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        full = (wM * (np.abs(np.nan_to_num(X) - 1.0) < 1e-12)).sum(axis=0) / n
        fail_rate = (w[:, None] * fail).sum(axis=0) / n
    # a category varies when two of its rated values differ (exact; no float sum involved)
    varies = np.array([bool(M[:, j].any()) and np.ptp(X[M[:, j], j]) > 0 for j in range(k)])
    # rest score: mean of the other rated categories (that vary) on the same review
    Xv = np.where(varies[None, :], X, np.nan)
    Mv = ~np.isnan(Xv)
    tot, cnt = np.nansum(Xv, axis=1), Mv.sum(axis=1)
    rows_out = []
    z_level = level
    for j, c in enumerate(names):
        own = Xv[:, j] if varies[j] else X[:, j]
        other_n = cnt - Mv[:, j]
        with np.errstate(invalid="ignore", divide="ignore"):
            rest = (tot - np.where(Mv[:, j], Xv[:, j], 0.0)) / other_n
        use = M[:, j] & (other_n > 0)
        r_ir = _wpearson(own[use], rest[use], w[use]) if varies[j] else np.nan
        lo, hi = fisher_ci(r_ir, int(w[use].sum()), z_level)
        passed = (~fail[:, j]).astype(float)
        r_pb = _wpearson(passed[use], rest[use], w[use]) if varies[j] else np.nan
        plo, phi = fisher_ci(r_pb, int(w[use].sum()), z_level)
        cu = M[:, j] & (csat_v[:, 0] > 0)
        n_cu = int(csat_v[cu, 0].sum())
        r_cs = _pearson_of_sums(X[cu, j], csat_v[cu]) if varies[j] and n_cu >= 3 else np.nan
        clo, chi = fisher_ci(r_cs, n_cu, z_level)
        rows_out.append({S.CATEGORY: c, WEIGHT: cats[c].weight, CRITICAL: cats[c].critical, S.N: int(n[j]),
                         NA_RATE: 1 - n[j] / n_rev, FULL_MARKS_RATE: full[j], FAIL_RATE: fail_rate[j],
                         ITEM_REST_R: r_ir, S.CI_LOW: lo, S.CI_HIGH: hi, POINT_BISERIAL_R: r_pb, PB_CI_LOW: plo,
                         PB_CI_HIGH: phi, CSAT_N: n_cu if csat is not None else 0, CSAT_R: r_cs,
                         CSAT_CI_LOW: clo, CSAT_CI_HIGH: chi})
    cat_t = pd.DataFrame(rows_out)
    # --- consistency ------------------------------------------------------------------------------------
    keep = np.flatnonzero(varies)
    Xk = X[:, keep]
    C, npair = pairwise_cov(Xk, w)
    alpha = cronbach_alpha(C)
    n_alpha = float(npair.min()) if len(keep) else 0.0
    a_lo, a_hi = feldt_ci(alpha, n_alpha, len(keep), level=level)
    parts = _corr_parts(Xk)
    Rm, _ = _weighted_corr(parts, w)
    omega = omega_total(Rm) if len(keep) >= 2 else np.nan
    o_lo = o_hi = np.nan
    normal = bootstrap == "normal" or (bootstrap == "auto" and n_rev >= NORMAL_BOOTSTRAP_FROM)
    if n_resamples and len(keep) >= 2 and np.isfinite(omega):
        rng = np.random.default_rng(seed)
        if normal:  # the resamples' sums from their normal approximation: one pass over the patterns
            Rs = _normal_resample_corrs(parts, w.astype(float), n_resamples, rng)
        else:
            # a resample of the reviews, as counts per distinct rating pattern: multinomial(n reviews,
            # the patterns' shares), the patterns in their canonical order (_canonical): the same draws
            # whatever the order of the rows or the engine that counted them; each resample then costs
            # one matrix product over the patterns
            p = w / n_rev
            Rs = np.empty((n_resamples, Xk.shape[1], Xk.shape[1]))
            for b in range(n_resamples):
                Rs[b], _ = _weighted_corr(parts, rng.multinomial(n_rev, p).astype(float))
        boot = _omegas(Rs)  # (the factor iterations of every resample together)
        ok = boot[np.isfinite(boot)]
        if len(ok) >= max(10, n_resamples // 2):
            o_lo, o_hi = (float(np.quantile(ok, q)) for q in ((1 - level) / 2, (1 + level) / 2))
    drop = np.full(k, np.nan)
    for i, j in enumerate(keep):
        if len(keep) >= 3:
            sub = np.delete(np.delete(C, i, axis=0), i, axis=1)
            drop[j] = cronbach_alpha(sub)
    cat_t[ALPHA_IF_DROPPED] = drop
    a_flags = []
    if np.isfinite(alpha) and alpha < LOW_ALPHA:
        a_flags.append("low alpha")
    if np.isfinite(alpha) and alpha > HIGH_ALPHA:
        a_flags.append("very high alpha")
    consistency = pd.DataFrame([
        {STATISTIC: "alpha", S.N: int(n_alpha), N_ITEMS: len(keep), ESTIMATE: alpha, S.CI_LOW: a_lo, S.CI_HIGH: a_hi,
         CI_METHOD: "Feldt (n = smallest pairwise count)", FLAGS: _flags_text(a_flags)},
        {STATISTIC: "omega_total", S.N: n_rev, N_ITEMS: len(keep), ESTIMATE: omega, S.CI_LOW: o_lo, S.CI_HIGH: o_hi,
         CI_METHOD: (("percentile bootstrap, resamples' sums from their normal approximation "
                      f"({n_resamples} draws, seed {seed})") if normal else
                     f"percentile bootstrap ({n_resamples} resamples, seed {seed})") if n_resamples else "none",
         FLAGS: ""},
    ], columns=CONSISTENCY_COLUMNS)
    # --- pairs ---------------------------------------------------------------------------------------------
    Rall, nall = _weighted_corr(_corr_parts(X), w)
    pair_rows = []
    for a in range(k):
        for b in range(a + 1, k):
            r_ab = Rall[a, b] if varies[a] and varies[b] and nall[a, b] >= 3 else np.nan
            lo, hi = fisher_ci(r_ab, nall[a, b], level)
            pair_rows.append({CATEGORY_A: names[a], CATEGORY_B: names[b], S.N: int(nall[a, b]), R: r_ab,
                              S.CI_LOW: lo, S.CI_HIGH: hi, REDUNDANT: bool(np.isfinite(r_ab) and r_ab >= REDUNDANT_R)})
    pairs = pd.DataFrame(pair_rows, columns=PAIR_COLUMNS)
    # --- flags ---------------------------------------------------------------------------------------------
    flags = []
    for j, row in cat_t.iterrows():
        f = []
        if row[NA_RATE] > RARELY_RATED:
            f.append("rarely rated")
        if not varies[j] and row[S.N] > 0:
            f.append("no variation")
        if row[FULL_MARKS_RATE] >= CEILING:
            f.append("ceiling")
        if np.isfinite(row[ITEM_REST_R]) and row[ITEM_REST_R] < POOR_DISCRIMINATION:
            f.append("poor discrimination")
        if np.isfinite(row[S.CI_HIGH]) and row[S.CI_HIGH] < 0:
            f.append("runs against the card")
        if np.isfinite(row[ALPHA_IF_DROPPED]) and row[ALPHA_IF_DROPPED] > alpha + ALPHA_DROP_MARGIN:
            f.append("raises alpha if dropped")
        dup = pairs[pairs[REDUNDANT] & ((pairs[CATEGORY_A] == row[S.CATEGORY]) | (pairs[CATEGORY_B] == row[S.CATEGORY]))]
        for _, p in dup.iterrows():
            other = p[CATEGORY_B] if p[CATEGORY_A] == row[S.CATEGORY] else p[CATEGORY_A]
            f.append(f"redundant with {other}")
        flags.append(_flags_text(f))
    cat_t[S.SMALL_SAMPLE] = cat_t[S.N] < min_n
    cat_t[FLAGS] = flags
    cat_t = cat_t[CATEGORY_COLUMNS]
    if len(none_rated):
        S.add_exclusion(cat_t, "review has no rated category (all N/A)", S.RATING, none_rated)
    if cat_t[S.SMALL_SAMPLE].any():
        warnings.warn(f"scorecard_health: {int(cat_t[S.SMALL_SAMPLE].sum())} categor(ies) rated on fewer than "
                      f"{min_n} reviews; their statistics are flagged small_sample", SmallSampleWarning, stacklevel=2)
    if (~varies & (n > 0)).any():
        warnings.warn("scorecard_health: categories with one value only (" +
                      ", ".join(np.array(names)[~varies & (n > 0)]) + ") have no correlations and are left out of "
                      "alpha and omega", UndefinedMetricWarning, stacklevel=2)
    return ScorecardHealth(cat_t.reset_index(drop=True), pairs, consistency, THRESHOLDS.copy())


# --- the explorer: each category's discrimination beside its weight -------------------------------------------
def category_discrimination(ratings: pd.DataFrame, card: Scorecard, *, level: float = 0.95) -> pd.DataFrame:
    """:func:`scorecard_health`'s per-category table without resampling and without warnings (the
    explorer shows its numbers and flags beside each weight); one row per category of ``card``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return scorecard_health(ratings, card, level=level, n_resamples=0).categories


def discrimination_html(categories: pd.DataFrame, name: str) -> str:
    """One line for the explorer: the category's corrected item-total r with its interval and flags,
    coloured grey (no variation), amber (< 0.20, poor: Ebel & Frisbie 1991) or plain.

    Examples
    --------
    >>> t = pd.DataFrame({"category": ["Tone"], "item_rest_r": [0.5612], "ci_low": [0.53], "ci_high": [0.59],
    ...                   "flags": [""]})
    >>> discrimination_html(t, "Tone")
    '<span class="qakit-disc" title="Corrected item-total correlation: does this category separate good from bad conversations like the rest of the card? Below 0.20 is poor (Ebel &amp; Frisbie 1991).">discrimination r = 0.56 [0.53, 0.59]</span>'
    """

    tip = ("Corrected item-total correlation: does this category separate good from bad conversations like the "
           "rest of the card? Below 0.20 is poor (Ebel & Frisbie 1991).")
    row = categories[categories[S.CATEGORY] == name]
    if row.empty:
        return ""
    r = row.iloc[0]
    flags = str(r[FLAGS] or "")
    if not np.isfinite(r[ITEM_REST_R]):
        text, colour = "discrimination: none (never varies)" if "no variation" in flags else "discrimination: n/a", "#757575"
    else:
        text = f"discrimination r = {r[ITEM_REST_R]:.2f} [{r[S.CI_LOW]:.2f}, {r[S.CI_HIGH]:.2f}]"
        colour = "#b26a00" if r[ITEM_REST_R] < POOR_DISCRIMINATION else ""
    if flags:
        text += f" · {flags}"
    style = f' style="color:{colour}"' if colour else ""
    return f'<span class="qakit-disc"{style} title="{html.escape(tip)}">{html.escape(text)}</span>'


def _canonical(X: np.ndarray, fail: np.ndarray, csat: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    """The patterns (rows of ``X`` and ``fail``) merged when equal (N/A equal to N/A), their counts
    ``w`` and CSAT sums ``csat`` (rows ``[answers, sum, sum of squares]`` of the reviews' CSAT,
    :func:`_csat_sums`) summed, in a canonical order: sorted by their values, N/A last. The
    bootstrap draws over this order, so it is the same whatever order the reviews came in; the CSAT
    answers ride along as sums, so they do not split a pattern (at 10M reviews with CSAT, 1.6M
    patterns instead of 0.8M, and twice the memory)."""
    k = X.shape[1]
    df = pd.DataFrame(np.hstack([X, fail.astype(float)]))
    df["__w"] = w
    df["__cn"], df["__cs"], df["__css"] = csat[:, 0], csat[:, 1], csat[:, 2]
    cols = list(range(2 * k))
    g = df.groupby(cols, dropna=False, sort=False)[["__w", "__cn", "__cs", "__css"]].sum().reset_index()
    g = g.sort_values(cols, na_position="last", kind="stable").reset_index(drop=True)
    v = g[cols].to_numpy(dtype=float)
    return (v[:, :k], v[:, k:2 * k] > 0.5, g[["__cn", "__cs", "__css"]].to_numpy(dtype=float),
            g["__w"].to_numpy(dtype=np.int64))


def _csat_sums(csat: np.ndarray) -> np.ndarray:
    """Each review's CSAT (NaN: none) as the rows ``[answers, sum, sum of squares]`` :func:`_canonical` adds up."""
    has = ~np.isnan(csat)
    v = np.where(has, csat, 0.0)
    return np.column_stack([has.astype(float), v, v * v])


def _pearson_of_sums(x: np.ndarray, c: np.ndarray) -> float:
    """Pearson's r of a category's score ``x`` (one per pattern) and the CSAT answers of the
    patterns' reviews, from each pattern's CSAT sums ``c`` (rows ``[n, sum, sum of squares]``):
    the r of the reviews themselves, ``sum (x - mx)(c - mc) / sqrt(sum (x - mx)^2 sum (c - mc)^2)``
    with ``sum_p (x_p - mx)(s_p - n_p mc)`` and ``sum_p (ss_p - 2 mc s_p + n_p mc^2)``; NaN with
    fewer than 3 answers or no spread (as :func:`_pearson`)."""
    n, s, ss = c[:, 0], c[:, 1], c[:, 2]
    N = n.sum()
    if N < 3 or len(x) == 0 or np.ptp(x) == 0:
        return float("nan")
    mx, mc = (n * x).sum() / N, s.sum() / N
    dx = x - mx
    sxx = (n * dx * dx).sum()
    scc = (ss - 2 * mc * s + n * mc * mc).sum()
    if not scc > 1e-12 * max(ss.sum(), 1.0):  # every answer the same (to rounding): no spread
        return float("nan")
    return float((dx * (s - n * mc)).sum() / np.sqrt(sxx * scc))


def _fail_of(card: Scorecard, names: list[str], X: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Failed ratings: rated, and below the category's ``critical_threshold`` (percent) or one of its
    ``fail_values`` (raw ``raw`` ratings)."""
    cats = {c.name: c for c in card.categories}
    fail = np.zeros(X.shape, dtype=bool)
    for j, c in enumerate(names):
        cat = cats[c]
        rated = ~np.isnan(X[:, j])
        with np.errstate(invalid="ignore"):
            below = X[:, j] * 100 < cat.critical_threshold - 1e-9
        fv = np.isin(raw[:, j], np.array(cat.fail_values, dtype=float)) if cat.fail_values else False
        fail[:, j] = rated & (below | fv)
    return fail


def _patterns_pandas(ratings: pd.DataFrame, card: Scorecard, surveys: pd.DataFrame | None) -> tuple:
    """``(X, fail, csat, counts, none_rated ids)`` of pandas ratings: each review's category scores
    (0..1, NaN = N/A), failed flags and CSAT, merged per distinct pattern (:func:`_canonical`)."""
    names = card.category_names
    rows = card.category_rows(ratings)  # (validated and scored once: the scores and the raw ratings)
    wide = _matrix_of_rows(rows, card)
    for c in names:
        if c not in wide.columns:
            wide[c] = np.nan
    X = wide[names].to_numpy(dtype=float) / 100.0
    rated_any = ~np.isnan(X).all(axis=1)
    none_rated = sorted(wide.loc[~rated_any, S.REVIEW_ID].astype("str"))
    X = X[rated_any]
    raw = wide.loc[rated_any].reset_index(drop=True)
    rmat = (rows.set_index([S.REVIEW_ID, S.CATEGORY])[S.RATING].unstack(S.CATEGORY)
            .reindex(index=raw[S.REVIEW_ID], columns=names)).to_numpy(dtype=float)
    fail = _fail_of(card, names, X, rmat)
    csat = csat_by_conversation(surveys) if surveys is not None else None
    conv = raw[S.CONVERSATION_ID].to_numpy()
    csat_v = (pd.Series(conv).map(csat).to_numpy(dtype=float) if csat is not None else np.full(len(X), np.nan))
    return (*_canonical(X, fail, _csat_sums(csat_v), np.ones(len(X), dtype=np.int64)), none_rated)


def _patterns_engine(ratings: Any, card: Scorecard, surveys: pd.DataFrame | None, engine: Any) -> tuple:
    """:func:`_patterns_pandas` on DuckDB: the ratings checked against the contract where they are
    (:func:`qakit.metrics._contract.validated`), each distinct ``(category, rating)`` pair scored by
    the card's own rule (:meth:`Scorecard.category_rows` on the pairs), one row per review pivoted on
    the engine, then grouped by pattern: only the patterns and their counts (and the ids of reviews
    with no rated category) come back."""
    if engine in (None, "pandas"):
        engine = "duckdb"
    got = M_source.resolve(ratings, engine, what="ratings").engine
    if got != "duckdb":
        raise ParameterError(f"scorecard_health runs on pandas or DuckDB; got engine {got!r}")
    # the ratings checked against the contract and the card, as pandas' Scorecard.category_rows checks
    # them: scoring's checks on the engine (a category the card does not have, a rating off its scale, a
    # (review, category) rated twice, a review spread over several agents or conversations), every
    # problem at once with the reviews' ids; nothing to run again when this table's scoring already
    # passed them (the report scores first). ``t``: the table they checked, which the patterns read.
    t = on_engine(ratings, card, engine, rows_only=True, reads=S.RATINGS.required)[3]
    con = t.con
    names = card.category_names
    rel = t.lf.to_native().project(f'"{S.REVIEW_ID}", "{S.CONVERSATION_ID}", "{S.CATEGORY}", "{S.RATING}"')
    pairs = rel.aggregate(f'"{S.CATEGORY}", "{S.RATING}"', f'"{S.CATEGORY}", "{S.RATING}"').df()
    # the card's own scoring of each pair (one fake review per pair: the same rule as every review)
    fake = pairs.assign(**{S.REVIEW_ID: [f"p{i}" for i in range(len(pairs))], S.CONVERSATION_ID: "c",
                           S.AGENT_ID: "a", S.REVIEWER_ID: "r", S.REVIEWED_AT: pd.NaT})
    scored = card.category_rows(fake).set_index(S.REVIEW_ID).reindex(fake[S.REVIEW_ID])
    x = scored[S.CATEGORY_SCORE].to_numpy(dtype=float) / 100.0
    raw = pairs[S.RATING].to_numpy(dtype=float)
    j_of = {c: j for j, c in enumerate(names)}
    cat = pairs[S.CATEGORY].astype("str").to_numpy()
    fx = np.full((len(pairs), len(names)), np.nan)
    fr = np.full((len(pairs), len(names)), np.nan)
    on = np.array([c in j_of for c in cat])
    idx = np.array([j_of.get(c, 0) for c in cat])
    fx[on, idx[on]], fr[on, idx[on]] = x[on], raw[on]
    f = _fail_of(card, names, fx, fr)[on, idx[on]] if on.any() else np.zeros(0, dtype=bool)
    f_all = np.zeros(len(pairs), dtype=bool)
    f_all[on] = f
    # each rated (category, rating) pair gets a level code 1..L_j within its category (0: N/A), in
    # bits_j = bit_length(L_j) bits at offset sum_{i<j} bits_i; (review, category) is unique (the
    # contract), so a review's pattern is the bitwise OR of its pairs' codes: one integer aggregate
    # per review instead of a filtered aggregate per category (decoded below)
    k = len(names)
    rated = on & ~np.isnan(x)
    levels = [np.flatnonzero(rated & (idx == jj)) for jj in range(k)]
    bits = [len(v).bit_length() for v in levels]
    shift = [int(v) for v in np.cumsum([0, *bits[:-1]])]
    if sum(bits) > 126:  # (more rating values than a 128-bit key holds: e.g. many averaged scores)
        return _patterns_engine_wide(rel, t, pairs, x, f, cat, on, names, surveys)
    kind = "BIGINT" if sum(bits) <= 62 else "HUGEINT"
    digit = ["0"] * len(pairs)
    for jj, sel in enumerate(levels):
        for code, i in enumerate(sel, start=1):
            digit[i] = str(code << shift[jj])
    m = con.from_arrow(pa.table({"__cat": pa.array(cat, type=pa.large_string()),
                                 "__rat": pa.array(raw, mask=np.isnan(raw)),
                                 "__d": pa.array(digit, type=pa.large_string())})
                       ).project(f"__cat, __rat, CAST(__d AS {kind}) AS __d")
    j = rel.join(m, f'"{S.CATEGORY}" = __cat AND "{S.RATING}" IS NOT DISTINCT FROM __rat', how="left")
    csat = _csat_on(surveys, t)
    cid = f', min("{S.CONVERSATION_ID}") AS __cid' if csat is not None else ""
    per, cs = _with_csat(j.aggregate(f'"{S.REVIEW_ID}", coalesce(bit_or(__d), 0) AS __key{cid}', f'"{S.REVIEW_ID}"'),
                         csat)
    key_out = "__key" if kind == "BIGINT" else "CAST(__key AS VARCHAR) AS __key"
    got = per.aggregate(f"{key_out}, {_CSAT_SUMS.format(cs=cs)}, count(*) AS __n, "
                        f'list(CAST("{S.REVIEW_ID}" AS VARCHAR)) FILTER (WHERE __key = 0) AS __none',
                        "__key").df()
    keys = (got["__key"].to_numpy(dtype=np.int64) if kind == "BIGINT"
            else np.array([int(v) for v in got["__key"]], dtype=object))
    zero = keys == 0
    none_rated = sorted(str(v) for lst in got.loc[zero, "__none"] for v in lst)
    keys = keys[~zero]
    X = np.full((len(keys), k), np.nan)
    fail = np.zeros((len(keys), k), dtype=bool)
    for jj, sel in enumerate(levels):
        if len(sel):
            c = ((keys >> shift[jj]) & ((1 << bits[jj]) - 1)).astype(np.int64)
            has = c > 0
            X[has, jj] = x[sel[c[has] - 1]]
            fail[has, jj] = f_all[sel[c[has] - 1]]
    return (*_canonical(X, fail, got.loc[~zero, ["__cn", "__cs", "__css"]].to_numpy(dtype=float),
                        got.loc[~zero, "__n"].to_numpy(dtype=np.int64)), none_rated)


#: a pattern's CSAT sums on DuckDB (``cs``: the SQL of each review's CSAT answer, NULL without one):
#: the rows :func:`_canonical` adds up (``fsum``: an exactly rounded sum, whatever the threads' order)
_CSAT_SUMS = ("CAST(count({cs}) AS DOUBLE) AS __cn, coalesce(fsum({cs}), 0) AS __cs, "
              "coalesce(fsum({cs} * {cs}), 0) AS __css")


def _csat_on(surveys: Any, t: Any) -> Any:
    """Each conversation's mean CSAT answer for the ratings ``t`` validated on DuckDB: a relation on
    ``t``'s connection (``__c`` the conversation id as text, ``__csat``), computed there for surveys
    the engine reads (:func:`qakit.stats.csat_per_conversation_on_engine`: none collected), from
    :func:`qakit.stats.csat_by_conversation` for a pandas table; None without answers."""
    if surveys is None:
        return None
    if M_source.resolve(surveys, None, what="surveys").engine != "pandas":
        per, _ = csat_per_conversation_on_engine(M_contract.validated(surveys, "surveys", reads=(
            S.CONVERSATION_ID, S.KIND, S.SCORE), like=t))
        return per.to_native().project(f'"{S.CONVERSATION_ID}" AS __c, "{CSAT}" AS __csat')
    csat = csat_by_conversation(surveys)
    if not len(csat):
        return None
    ct = pa.table({"__c": pa.array(csat.index.astype("str").tolist(), type=pa.large_string()),
                   "__csat": pa.array(csat.to_numpy(dtype=float))})
    return t.con.from_arrow(ct)


def _with_csat(per: Any, csat: Any) -> tuple[Any, str]:
    """The per-review relation ``per`` (with ``__cid``, its conversation, when there are CSAT answers)
    joined to each conversation's CSAT answer (:func:`_csat_on`), and the SQL of that value (NULL
    without answers)."""
    if csat is None:
        return per, "CAST(NULL AS DOUBLE)"
    return per.join(csat, "CAST(__cid AS VARCHAR) = __c", how="left"), "__csat"


def _patterns_engine_wide(rel: Any, t: Any, pairs: pd.DataFrame, x: np.ndarray, f: np.ndarray, cat: np.ndarray,
                          on: np.ndarray, names: list[str], surveys: pd.DataFrame | None) -> tuple:
    """:func:`_patterns_engine` when the rating values are too many for a 128-bit pattern key: one
    filtered aggregate per category and review."""
    raw = pairs[S.RATING].to_numpy(dtype=float)
    m = pa.table({"__cat": pa.array(cat[on], type=pa.large_string()), "__rat": pa.array(raw[on], mask=np.isnan(raw[on])),
                  "__x": pa.array(x[on], mask=np.isnan(x[on])), "__f": pa.array(f)})
    j = rel.join(t.con.from_arrow(m), f'"{S.CATEGORY}" = __cat AND "{S.RATING}" IS NOT DISTINCT FROM __rat', how="left")
    cols = ", ".join(f"max(__x) FILTER (WHERE __cat = {M_source.sql_text(c)}) AS x{i}, "
                     f"coalesce(bool_or(__f) FILTER (WHERE __cat = {M_source.sql_text(c)}), false) AS f{i}"
                     for i, c in enumerate(names))
    per = j.aggregate(f'"{S.REVIEW_ID}", min("{S.CONVERSATION_ID}") AS __cid, {cols}', f'"{S.REVIEW_ID}"')
    xs = [f"x{i}" for i in range(len(names))]
    unrated = " AND ".join(f"{c} IS NULL" for c in xs)
    per, cs = _with_csat(per, _csat_on(surveys, t))
    keys = ", ".join([*xs, *(f"f{i}" for i in range(len(names)))])
    got = per.filter(f"NOT ({unrated})").aggregate(f"{keys}, {_CSAT_SUMS.format(cs=cs)}, count(*) AS __n",
                                                   keys).df()
    none_rated = sorted(str(v) for v in per.filter(unrated).project(f'"{S.REVIEW_ID}"').df()[S.REVIEW_ID])
    X = got[xs].to_numpy(dtype=float)
    fail = got[[f"f{i}" for i in range(len(names))]].to_numpy(dtype=bool) & ~np.isnan(X)
    return (*_canonical(X, fail, got[["__cn", "__cs", "__css"]].to_numpy(dtype=float), got["__n"].to_numpy(dtype=np.int64)),
            none_rated)


def _wpearson(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Pearson's r of ``x`` and ``y`` with integer row weights ``w`` (counts of equal rows): the r of
    the rows repeated ``w`` times; NaN with fewer than 3 rows or no spread (as :func:`_pearson`)."""
    if w.sum() < 3 or len(x) == 0 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    W = w.sum()
    mx, my = (w * x).sum() / W, (w * y).sum() / W
    dx, dy = x - mx, y - my
    sxy, sxx, syy = (w * dx * dy).sum(), (w * dx * dx).sum(), (w * dy * dy).sum()
    return float(sxy / np.sqrt(sxx * syy))


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])
