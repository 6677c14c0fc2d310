"""Reviewer agreement for calibration sessions: several reviewers rate the same conversations.

Input is a ratings table of the data contract (``review_id, conversation_id, reviewer_id,
category, rating``; ``agent_id`` and ``reviewed_at`` are optional here because agreement does not
need them).  A *unit* is what every reviewer rates (by default a conversation, per category);
N/A ratings (``rating`` missing) are missing values, not a category.

Functions
---------
- :func:`agreement`: Krippendorff's alpha (``krippendorff`` package) with a unit-bootstrap CI,
  Fleiss' kappa and an interpretation band, per category or pooled.
- :func:`cohen_kappa` / :func:`pairwise_kappa`: Cohen's (weighted) kappa for one pair / all pairs
  of reviewers with the Fleiss-Cohen-Everitt (1969) asymptotic standard error.
- :func:`reviewer_bias`: each reviewer's mean deviation from the leave-one-out consensus, in
  rating steps and in score points, with t intervals and p-values.
- :func:`consensus`: the consensus (median or mean) rating per conversation x category.

Rows that are left out (N/A ratings, units rated by a single reviewer) are recorded on the
result; read them with :func:`qakit.schema.exclusions`.

References
----------
- Krippendorff, K. (2011). *Computing Krippendorff's Alpha-Reliability*. Annenberg School for
  Communication, University of Pennsylvania (coincidence matrices, metrics, the 4 x 12 example).
- Krippendorff, K. (2004). *Content Analysis*, 2nd ed., sec. 11.4 (alpha >= .800 reliable,
  .667 <= alpha < .800 tentative conclusions only).
- Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. *Psychological
  Bulletin* 76(5), 378-382.
- Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability*, 4th ed., ch. 2 (Fleiss' kappa with
  a varying number of raters per subject).
- Cohen, J. (1960; 1968 weighted); Fleiss, J. L., Cohen, J. & Everitt, B. S. (1969). Large sample
  standard errors of kappa and weighted kappa. *Psychological Bulletin* 72(5), 323-327 (the
  formula used by R ``vcd::Kappa`` and SAS PROC FREQ).
- Landis, J. R. & Koch, G. G. (1977). The measurement of observer agreement for categorical
  data. *Biometrics* 33, 159-174 (kappa bands).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import replace

import krippendorff
import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from . import schema as S
from .errors import ParameterError, Problems, UndefinedMetricWarning, check_choice, check_number
from ._public import public
from .intervals import MIN_N, check_level, mean_ci
from .scorecard import Scorecard

METRICS = ("ordinal", "nominal", "interval")  # Krippendorff's levels of measurement
WEIGHTS = (None, "linear", "quadratic")
CONSENSUS_METHODS = ("median", "mean")
ALL = "all"

# result columns (shared ones come from qakit.schema)
N_UNITS = "n_units"
N_REVIEWERS = "n_reviewers"
N_RATINGS = "n_ratings"
N_CONVERSATIONS = "n_conversations"
ALPHA = "alpha"
FLEISS_KAPPA = "fleiss_kappa"
KAPPA = "kappa"
REVIEWER_A = "reviewer_a"
REVIEWER_B = "reviewer_b"
BIAS_STEPS = "bias_steps"
BIAS_POINTS = "bias_points"
POINTS_SE = "points_se"
POINTS_CI_LOW = "points_ci_low"
POINTS_CI_HIGH = "points_ci_high"
CONSENSUS = "consensus"
SD = "sd"
MIN = "min"
MAX = "max"
UNANIMOUS = "unanimous"

AGREEMENT_COLUMNS = [S.CATEGORY, N_UNITS, N_REVIEWERS, N_RATINGS, "agreement_rate", "gwet_ac", "ac_se",
                     "ac_ci_low", "ac_ci_high", ALPHA, S.CI_LOW, S.CI_HIGH, FLEISS_KAPPA, "top_value",
                     "top_value_share", "verdict", "verdict_probability", "verdict_on", S.BAND, S.SMALL_SAMPLE]
KAPPA_COLUMNS = [S.CATEGORY, REVIEWER_A, REVIEWER_B, S.N, KAPPA, S.SE, S.CI_LOW, S.CI_HIGH,
                 S.P_VALUE, S.BAND, S.SMALL_SAMPLE]
BIAS_COLUMNS = [S.REVIEWER_ID, S.CATEGORY, S.N, N_CONVERSATIONS, BIAS_STEPS, S.SE, S.CI_LOW,
                S.CI_HIGH, S.P_VALUE, BIAS_POINTS, POINTS_SE, POINTS_CI_LOW, POINTS_CI_HIGH,
                S.SMALL_SAMPLE]

#: Krippendorff (2004): lower bounds of the alpha bands, best first
ALPHA_BANDS = (("reliable", 0.800), ("tentative", 0.667), ("unreliable", -np.inf))
#: Landis & Koch (1977): lower bounds of the kappa bands, best first
KAPPA_BANDS = (("almost perfect", 0.81), ("substantial", 0.61), ("moderate", 0.41),
               ("fair", 0.21), ("slight", 0.0), ("poor", -np.inf))

#: the ratings contract, with agent and timestamp optional (agreement needs neither)
CALIBRATION_RATINGS = replace(
    S.RATINGS,
    columns=tuple(replace(c, required=False) if c.name in (S.AGENT_ID, S.REVIEWED_AT) else c
                  for c in S.RATINGS.columns),
)

_UNIT, _REV, _KEY, _VAL, _RID = "_unit", "_reviewer", "_key", "_value", "_row_id"


# --- preparation ----------------------------------------------------------------------------
def _band(values: np.ndarray, bands: tuple[tuple[str, float], ...]) -> pd.Series:
    values = np.asarray(values, dtype=float)
    out = np.full(len(values), None, dtype=object)
    for name, lo in reversed(bands):
        out[~np.isnan(values) & (values >= lo)] = name
    return pd.Series(out, dtype="str")


def _prepare(
    ratings: pd.DataFrame,
    *,
    card: Scorecard | None,
    units: str,
    pooled: bool,
    categories: Sequence[str] | None = None,
    min_reviewers: int = 2,
    keep_single: bool = False,
) -> tuple[pd.DataFrame, list[tuple[str, str, pd.Series]], dict[str, np.ndarray | None]]:
    """Validate and reshape ratings to ``(_key, _unit, _reviewer, _value, _row_id)``.

    Returns the rated, pairable rows (every unit rated by >= 2 reviewers in its key), the
    exclusions to record (reason, column, row ids) and, per key, the value domain (the card's
    scale values, or None = the observed values).  ``keep_single``: also return the rated rows of
    units rated by one reviewer (still recorded as not pairable; Gwet's AC counts them in the
    category prevalence), marked by the column ``_single``.
    """
    if not isinstance(units, str):
        raise ParameterError(f"units must be a column name; got {units!r}")
    rows, problems = S.check(ratings, CALIBRATION_RATINGS)
    if units not in rows.columns:
        raise ParameterError(
            f"units column {units!r} not in ratings; available: {sorted(map(str, rows.columns))}"
        )
    if units != S.CONVERSATION_ID:
        u = rows[units]
        rows[units] = u.astype("str").where(u.notna())
        problems.add(units, "empty value in the units column", u.isna(), u)
    row_id = rows[S.REVIEW_ID].astype("str").str.cat(rows[S.CATEGORY].astype("str"), sep=" / ")
    key_cols = [units, S.REVIEWER_ID, S.CATEGORY]
    dup = rows.duplicated(key_cols, keep=False) & rows[key_cols].notna().all(axis=1)
    if dup.any():
        what = rows[units].str.cat([rows[S.REVIEWER_ID], rows[S.CATEGORY]], sep=" / ")
        problems.add(
            " + ".join(key_cols),
            f"a reviewer rated the same unit and category more than once ({', '.join(key_cols)})",
            dup, what,
        )
    problems.raise_if_any()

    if categories is not None:
        categories = [categories] if isinstance(categories, str) else list(categories)
        unknown = sorted(set(categories) - set(rows[S.CATEGORY]))
        if unknown:
            raise ParameterError(
                f"categories {unknown} not in the ratings; available: {sorted(rows[S.CATEGORY].unique())}"
            )
        keep = rows[S.CATEGORY].isin(categories).to_numpy()
        rows, row_id = rows[keep], row_id[keep]

    domains: dict[str, np.ndarray | None] = {}
    value = rows[S.RATING]
    if card is not None:
        if not isinstance(card, Scorecard):
            raise ParameterError(f"card must be a qakit Scorecard; got {type(card).__name__}")
        tmp = rows.copy()
        if S.AGENT_ID not in tmp.columns:
            tmp[S.AGENT_ID] = "<none>"
        if S.REVIEWED_AT not in tmp.columns:
            tmp[S.REVIEWED_AT] = pd.NaT
        scored = card.category_rows(tmp)
        if pooled:
            value = scored[S.CATEGORY_SCORE]
        else:
            domains = {c.name: np.array(c.scale.values) for c in card.categories}

    out = pd.DataFrame({
        _KEY: ALL if pooled else rows[S.CATEGORY],
        _UNIT: rows[units] if not pooled else rows[units].str.cat(rows[S.CATEGORY], sep=" / "),
        _REV: rows[S.REVIEWER_ID],
        _VAL: value.astype("float64"),
        _RID: row_id,
        S.CONVERSATION_ID: rows[S.CONVERSATION_ID],
        S.CATEGORY: rows[S.CATEGORY],
    })
    out[_KEY] = out[_KEY].astype("str")

    reviewers = out[_REV].unique()
    if len(reviewers) < min_reviewers:
        p = Problems("ratings")
        p.add(S.REVIEWER_ID,
              f"agreement needs at least {min_reviewers} distinct reviewers; found {len(reviewers)}",
              np.ones(len(out), dtype=bool), out[_REV].reset_index(drop=True),
              index=pd.Index(out[_RID]))
        p.raise_if_any()

    excl: list[tuple[str, str, pd.Series]] = []
    na = out[_VAL].isna()
    if na.any():
        excl.append(("rating N/A: not a value to agree on", S.RATING, out.loc[na, _RID]))
    out = out[~na]
    m = out.groupby([_KEY, _UNIT], sort=False)[_REV].transform("size")
    single = m < 2
    if single.any():
        excl.append((f"unit ({units}) rated by fewer than 2 reviewers in its category: not pairable",
                     units, out.loc[single, _RID]))
    if keep_single:
        out = out.assign(_single=single.to_numpy())
    else:
        out = out[~single]
    if out.empty or (keep_single and out["_single"].all()):
        p = Problems("ratings")
        p.add(units, "no unit is rated (not N/A) by two or more reviewers: nothing to compare "
              f"(reviewers: {sorted(map(str, reviewers))})",
              np.ones(len(rows), dtype=bool), rows[units].reset_index(drop=True), index=pd.Index(row_id))
        p.raise_if_any()
    return out.reset_index(drop=True), excl, domains


def _record(result: pd.DataFrame, excl: list[tuple[str, str, pd.Series]]) -> pd.DataFrame:
    for reason, column, ids in excl:
        S.add_exclusion(result, reason, column, ids)
    return result


def _progress(iterable, *, enabled: bool, desc: str, total: int | None = None):
    if not enabled:
        return iterable
    return tqdm(iterable, desc=desc, total=total, leave=False)


# --- Krippendorff's alpha -------------------------------------------------------------------
def _unit_counts(sub: pd.DataFrame, domain: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit value counts ``(n_units, n_values)`` and the sorted value domain."""
    observed = np.sort(sub[_VAL].unique())
    values = observed if domain is None else np.union1d(domain, observed)
    u_code, _ = pd.factorize(sub[_UNIT], sort=True)
    v_code = np.searchsorted(values, sub[_VAL].to_numpy())
    counts = np.zeros((u_code.max() + 1, len(values)))
    np.add.at(counts, (u_code, v_code), 1.0)
    return counts, values


def _alpha_from_counts(
    counts: np.ndarray, values: np.ndarray, level: str, weights: np.ndarray | None = None
) -> np.ndarray:
    """Krippendorff's alpha from per-unit value counts, for each row of unit ``weights``.

    ``counts`` is ``(N, V)`` (units with >= 2 values), ``weights`` ``(B, N)`` how often each unit
    is drawn (None = once each).  Coincidences ``o_ck = sum_u w_u (n_uc n_uk - [c=k] n_uc) /
    (m_u - 1)``, ``n_c = sum_k o_ck``, ``n = sum_c n_c``; ``alpha = 1 - (n - 1) sum o_ck d_ck /
    sum n_c n_k d_ck`` with the metric ``d`` of the level (ordinal ``d_ck = (sum_{g=c..k} n_g -
    (n_c + n_k) / 2)^2`` uses each resample's own marginals).  NaN where the expected
    disagreement is 0.
    """
    m = counts.sum(axis=1)
    V = len(values)
    per_unit = (counts[:, :, None] * counts[:, None, :] - counts[:, :, None] * np.eye(V)) / (m - 1)[:, None, None]
    w = np.ones((1, len(counts))) if weights is None else np.atleast_2d(weights)
    o = (w @ per_unit.reshape(len(counts), V * V)).reshape(-1, V, V)
    nc = o.sum(axis=2)
    n = nc.sum(axis=1)
    if level == "nominal":
        delta = (1.0 - np.eye(V))[None]
    elif level == "interval":
        delta = ((values[:, None] - values[None, :]) ** 2)[None]
    else:  # ordinal
        cum = np.cumsum(nc, axis=1)
        lo = np.minimum.outer(np.arange(V), np.arange(V))
        hi = np.maximum.outer(np.arange(V), np.arange(V))
        between = cum[:, hi] - cum[:, lo] + nc[:, lo]
        delta = (between - (nc[:, :, None] + nc[:, None, :]) / 2) ** 2
    d_o = (o * delta).sum(axis=(1, 2))
    d_e = (nc[:, :, None] * nc[:, None, :] * delta).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(d_e > 0, 1.0 - (n - 1) * d_o / d_e, np.nan)


def _fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' kappa from per-unit category counts (units with >= 2 ratings).

    ``P_i = (sum_j n_ij^2 - m_i) / (m_i (m_i - 1))``, ``P_bar = mean_i P_i``, ``p_j = mean_i
    n_ij / m_i`` (Gwet 2014's form for a varying number of raters ``m_i``; Fleiss 1971 when every
    ``m_i`` is equal), ``P_e = sum_j p_j^2``, ``kappa = (P_bar - P_e) / (1 - P_e)``.
    """
    m = counts.sum(axis=1)
    p_i = ((counts**2).sum(axis=1) - m) / (m * (m - 1))
    p_bar = p_i.mean()
    p_j = (counts / m[:, None]).mean(axis=0)
    p_e = float((p_j**2).sum())
    if p_e >= 1.0:
        return np.nan
    return float((p_bar - p_e) / (1.0 - p_e))


# --- Gwet's AC1 / AC2, percent agreement and interval benchmarking ---------------------------
#: weights of Gwet's AC: None = identity (AC1); the others give AC2 (Gwet 2014 ch. 3, irrCAC)
AC_WEIGHTS = ("auto", None, "linear", "quadratic", "ordinal")
#: the benchmark scales verdicts use: (band, lower bound) best first; the top band ends at 1
BENCHMARKS: dict[str, tuple[tuple[str, float], ...]] = {
    # Landis & Koch (1977), as tabulated by Gwet (2014, table 6.1) and irrCAC's ``landis.koch``
    "landis-koch": (("almost perfect", 0.8), ("substantial", 0.6), ("moderate", 0.4), ("fair", 0.2),
                    ("slight", 0.0), ("poor", -1.0)),
    # Altman (1991), Practical Statistics for Medical Research, table 14.8 (irrCAC's ``altman``)
    "altman": (("very good", 0.8), ("good", 0.6), ("moderate", 0.4), ("fair", 0.2), ("poor", -1.0)),
    # Koo & Li (2016), J Chiropr Med 15(2), 155-163: ICC < .5 poor, .5-.75 moderate, .75-.9 good, > .9 excellent
    "koo-li": (("excellent", 0.9), ("good", 0.75), ("moderate", 0.5), ("poor", -1.0)),
    # Krippendorff (2004), Content Analysis, sec. 11.4: alpha >= .800 reliable, >= .667 tentative
    "krippendorff": (("reliable", 0.8), ("tentative", 0.667), ("unreliable", -1.0)),
}
VERDICT_ON = ("gwet_ac", "alpha")
#: cumulative membership probability a verdict needs (Gwet 2014, ch. 6: retain the band whose
#: cumulative probability first exceeds .95)
VERDICT_PROBABILITY = 0.95

GWET_AC = "gwet_ac"
AGREEMENT_RATE = "agreement_rate"
CHANCE_AGREEMENT = "chance_agreement"
AC_SE = "ac_se"
AC_CI_LOW = "ac_ci_low"
AC_CI_HIGH = "ac_ci_high"
TOP_VALUE = "top_value"
TOP_VALUE_SHARE = "top_value_share"
VERDICT = "verdict"
VERDICT_PROB = "verdict_probability"
VERDICT_BASIS = "verdict_on"
AC_COLUMNS = [S.CATEGORY, N_UNITS, N_REVIEWERS, N_RATINGS, AGREEMENT_RATE, CHANCE_AGREEMENT, GWET_AC, AC_SE,
              AC_CI_LOW, AC_CI_HIGH, S.P_VALUE, TOP_VALUE, TOP_VALUE_SHARE, VERDICT, VERDICT_PROB, S.SMALL_SAMPLE]


def _ac_weight_matrix(values: np.ndarray, weights: str | None) -> np.ndarray:
    """Agreement weights over the sorted ``values`` (irrCAC's ``*.weights`` functions, Gwet 2014
    ch. 3): identity; linear ``1 - |k - l| / (max - min)``; quadratic ``1 - (k - l)^2 / (max -
    min)^2`` (on the values themselves); ordinal ``1 - C(|i - j| + 1, 2) / max`` (on ranks)."""
    v = np.asarray(values, dtype=float)
    q = len(v)
    if weights is None or q < 2:
        return np.eye(q)
    span = v.max() - v.min()
    d = v[:, None] - v[None, :]
    if weights == "linear":
        return 1.0 - np.abs(d) / span
    if weights == "quadratic":
        return 1.0 - d**2 / span**2
    idx = np.arange(q)
    nkl = np.abs(idx[:, None] - idx[None, :]) + 1.0
    m = nkl * (nkl - 1) / 2
    return 1.0 - m / m.max()


def _resolve_ac_weights(weights: str | None, metric: str) -> str | None:
    check_choice("ac_weights", weights, AC_WEIGHTS)
    if weights != "auto":
        return weights
    return {"nominal": None, "ordinal": "ordinal", "interval": "quadratic"}[metric]


def _gwet(counts: np.ndarray, values: np.ndarray, weights: str | None, level: float) -> dict[str, float]:
    """Gwet's AC1/AC2 and the (weighted) percent agreement with their standard errors.

    ``counts`` is ``(n, q)``: how many reviewers gave each value to each unit rated at least once
    (``r_i = sum_k r_ik >= 1``); the formulas are Gwet (2008; 2014, ch. 4-5) as coded in irrCAC's
    ``gwet.ac1.raw`` / ``pa.coeff.raw``:

    - ``r*_ik = sum_l w_kl r_il``; per unit with ``r_i >= 2``: ``pa_i = sum_k r_ik (r*_ik - 1) /
      (r_i (r_i - 1))``; ``pa`` = mean of ``pa_i`` over those ``n2`` units;
    - classification probabilities ``pi_k = (1/n) sum_i r_ik / r_i`` (every unit rated at least once);
      ``pe = T_w / (q (q - 1)) sum_k pi_k (1 - pi_k)``, ``T_w`` = sum of all weights;
    - ``AC = (pa - pe) / (1 - pe)``;
    - variance (linearisation over units): ``ac_i = (n / n2) (pa_i - pe [r_i >= 2]) / (1 - pe)``,
      ``pe_i = T_w / (q (q - 1)) sum_k r_ik (1 - pi_k) / r_i``, ``ac*_i = ac_i - 2 (1 - AC)
      (pe_i - pe) / (1 - pe)``, ``var = sum_i (ac*_i - AC)^2 / (n (n - 1))``; for ``pa`` the same
      with ``pa*_i = (n / n2) pa_i``.  Intervals ``+/- t_{n-1} se`` (irrCAC), clipped to [-1, 1]
      ([0, 1] for ``pa``); two-sided p-value ``2 P(T_{n-1} > |AC| / se)`` (irrCAC's README value).
    """
    counts = np.asarray(counts, dtype=float)
    n, q = counts.shape
    out = {AGREEMENT_RATE: np.nan, "pa_se": np.nan, CHANCE_AGREEMENT: np.nan, GWET_AC: np.nan, AC_SE: np.nan,
           AC_CI_LOW: np.nan, AC_CI_HIGH: np.nan, S.P_VALUE: np.nan, "pa_lo": np.nan, "pa_hi": np.nan}
    r = counts.sum(axis=1)
    two = r >= 2
    n2 = int(two.sum())
    if n2 == 0 or q < 2:
        return out
    w = _ac_weight_matrix(values, weights)
    rw = counts @ w.T
    den = np.where(two, r * (r - 1), 1.0)
    pa_i = np.where(two, (counts * (rw - 1)).sum(axis=1) / den, 0.0)
    pa = pa_i.sum() / n2
    pi = (counts / r[:, None]).mean(axis=0)
    tw = w.sum() / (q * (q - 1))
    pe = tw * float((pi * (1 - pi)).sum())
    ac = (pa - pe) / (1 - pe)
    out.update({AGREEMENT_RATE: pa, CHANCE_AGREEMENT: pe, GWET_AC: ac})
    if n >= 2:
        t = stats.t.ppf((1 + level) / 2, n - 1)
        ac_i = (n / n2) * (pa_i - pe * two) / (1 - pe)
        pe_i = tw * (counts @ (1 - pi)) / r
        ac_x = ac_i - 2 * (1 - ac) * (pe_i - pe) / (1 - pe)
        se = float(np.sqrt(((ac_x - ac) ** 2).sum() / (n * (n - 1))))
        pa_x = (n / n2) * pa_i
        pa_se = float(np.sqrt(((pa_x - pa) ** 2).sum() / (n * (n - 1))))
        out.update({AC_SE: se, AC_CI_LOW: max(-1.0, ac - t * se), AC_CI_HIGH: min(1.0, ac + t * se),
                    "pa_se": pa_se, "pa_lo": max(0.0, pa - t * pa_se), "pa_hi": min(1.0, pa + t * pa_se)})
        if se > 0:
            out[S.P_VALUE] = float(2 * stats.t.sf(abs(ac) / se, n - 1))
    return out


def _membership(estimate: np.ndarray, se: np.ndarray, lower: np.ndarray, df: np.ndarray | None = None) -> np.ndarray:
    """Gwet (2014, ch. 6) membership probabilities: the estimate's normal distribution (sd ``se``; a
    Student t with ``df`` degrees of freedom when given) truncated to [-1, 1], mass above each lower
    bound ``lower`` (``(rows, bands)``), i.e. the cumulative probability of the band and every better band."""
    est, sd = estimate[:, None], se[:, None]
    if df is None:
        cdf = stats.norm.cdf
    else:
        d = np.asarray(df, dtype=float)[:, None]

        def cdf(x):
            return stats.t.cdf(x, d)
    with np.errstate(invalid="ignore", divide="ignore"):
        trunc = cdf((est + 1) / sd) - cdf((est - 1) / sd)
        return (cdf((est - lower[None, :]) / sd) - cdf((est - 1) / sd)) / trunc


def _verdicts(cum: np.ndarray, names: list[str], probability: float) -> tuple[np.ndarray, np.ndarray]:
    """The best band whose cumulative probability reaches ``probability`` (row-wise)."""
    ok = cum >= probability - 1e-12
    first = np.where(ok.any(axis=1), ok.argmax(axis=1), -1)
    verdict = np.array([names[i] if i >= 0 else None for i in first], dtype=object)
    prob = np.array([cum[r, i] if i >= 0 else np.nan for r, i in enumerate(first)], dtype=float)
    return verdict, prob


@public
def benchmark_verdict(
    estimate: float | Sequence[float],
    se: float | Sequence[float],
    *,
    bands: str = "landis-koch",
    probability: float = VERDICT_PROBABILITY,
    df: float | Sequence[float] | None = None,
) -> pd.DataFrame:
    """Verdict words for an agreement coefficient from its interval, not its point estimate.

    Parameters
    ----------
    estimate, se : float or sequence of float
        Coefficient(s) (e.g. Gwet's AC1, a kappa) and standard error(s).
    bands : {"landis-koch", "altman", "koo-li", "krippendorff"}, default="landis-koch"
        The benchmark scale (see Notes for each one's bounds and source).
    probability : float, default=0.95
        Cumulative membership probability the verdict needs.
    df : float or sequence of float, optional
        Degrees of freedom: a Student t in place of the normal (as the t interval of
        :func:`gwet_ac`, ``n - 1``); None = normal, as irrCAC.  With few units the t is the honest
        choice: 4 conversations cannot earn what a normal approximation would grant them.

    Returns
    -------
    pandas.DataFrame
        ``estimate``, ``se``, ``verdict`` (the best band reached with ``probability``; missing when
        the estimate or se is NaN), ``verdict_probability`` (its cumulative probability), and one
        column ``p_<band>`` per band with the cumulative probability of that band or better.

    Notes
    -----
    Gwet's (2014, *Handbook of Inter-Rater Reliability*, 4th ed., ch. 6) benchmarking, as in
    irrCAC's ``landis.koch.bf`` / ``altman.bf``: the coefficient's sampling distribution is normal
    (mean ``estimate``, sd ``se``) truncated to [-1, 1]; the probability that the true value lies in
    band ``[lb, ub)`` is ``(Phi((c - lb)/se) - Phi((c - ub)/se)) / (Phi((c + 1)/se) - Phi((c -
    1)/se))``; going from the best band down, the verdict is the first band whose cumulative
    probability reaches ``probability``.  With ``probability = .95`` this is the band holding the
    lower 5 % quantile: a small sample cannot earn a good word.

    Scales: Landis & Koch (1977) almost perfect >= .8 > substantial >= .6 > moderate >= .4 > fair
    >= .2 > slight >= 0 > poor; Altman (1991) very good >= .8 > good >= .6 > moderate >= .4 > fair
    >= .2 > poor; Koo & Li (2016, for ICC-type coefficients) excellent >= .9 > good >= .75 >
    moderate >= .5 > poor; Krippendorff (2004) reliable >= .8 > tentative >= .667 > unreliable.

    Examples
    --------
    >>> # irrCAC benchmarking vignette: AC1 = 0.77544, se 0.14295 (cac.raw4raters) is "Moderate"
    >>> benchmark_verdict(0.77544, 0.14295)[["verdict", "verdict_probability"]].round(3)
        verdict  verdict_probability
    0  moderate                0.995
    """
    check_choice("bands", bands, BENCHMARKS)
    check_number("probability", probability, low=0, high=1, low_open=True)
    est = np.atleast_1d(np.asarray(estimate, dtype=float))
    sd = np.atleast_1d(np.asarray(se, dtype=float))
    if est.shape != sd.shape:
        raise ParameterError(f"estimate and se must have the same length; got {est.size} and {sd.size}")
    scale = BENCHMARKS[bands]
    names = [b for b, _ in scale]
    dfs = None
    if df is not None:
        dfs = np.broadcast_to(np.asarray(df, dtype=float), est.shape)
    cum = _membership(est, sd, np.array([lo for _, lo in scale]), dfs)
    lower = np.array([lo for _, lo in scale])
    exact = np.isfinite(est) & (sd == 0)  # no sampling error (e.g. every rating identical)
    cum[exact] = (est[exact, None] >= lower[None, :] - 1e-12).astype(float)
    bad = ~np.isfinite(est) | ~np.isfinite(sd) | (sd < 0)
    cum[bad] = np.nan
    verdict, prob = _verdicts(cum, names, probability)
    out = pd.DataFrame({"estimate": est, S.SE: sd, VERDICT: pd.array(verdict, dtype="str"), VERDICT_PROB: prob})
    for j, name in enumerate(names):
        out[f"p_{name.replace(' ', '_')}"] = cum[:, j]
    return out


def _bootstrap_verdicts(boot: np.ndarray, bands: str, probability: float) -> tuple[str | None, float]:
    """Verdict from bootstrap resamples: cumulative probability = share of resamples >= each bound."""
    scale = BENCHMARKS[bands]
    if len(boot) == 0:
        return None, np.nan
    cum = np.array([[np.mean(boot >= lo) for _, lo in scale]])
    v, p = _verdicts(cum, [b for b, _ in scale], probability)
    return v[0], float(p[0])


def _top_value(counts: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    tot = counts.sum(axis=0)
    if tot.sum() == 0:
        return np.nan, np.nan
    k = int(np.argmax(tot))
    return float(values[k]), float(tot[k] / tot.sum())


@public
def gwet_ac(
    ratings: pd.DataFrame,
    *,
    weights: str | None = None,
    by_category: bool = True,
    card: Scorecard | None = None,
    units: str = S.CONVERSATION_ID,
    level: float = 0.95,
    bands: str = "landis-koch",
) -> pd.DataFrame:
    """Gwet's AC1 (nominal) or AC2 (weighted) with its standard error, interval and verdict.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Ratings table of a calibration session (several reviewers rate the same conversations);
        N/A ratings are missing values.
    weights : {None, "linear", "quadratic", "ordinal"}, default=None
        None: AC1 (a disagreement is a disagreement); otherwise AC2 with those agreement weights
        over the category's values (the card's scale when ``card`` is given, else the values
        used).  On a binary category every choice gives AC1.
    by_category : bool, default=True
        One row per category; ``False`` pools all categories (units = conversation x category).
    card : Scorecard, optional
        Checks ratings against the card's scales and supplies each category's values.
    units : str, default="conversation_id"
    level : float, default=0.95
        Level of the t intervals.
    bands : {"landis-koch", "altman", "koo-li", "krippendorff"}, default="landis-koch"
        Scale of the verdict (:func:`benchmark_verdict`).

    Returns
    -------
    pandas.DataFrame
        ``category, n_units`` (units with >= 2 ratings), ``n_reviewers, n_ratings`` (ratings of
        units rated at least once), ``agreement_rate`` (share of agreeing reviewer pairs, weighted
        with ``weights``), ``chance_agreement`` (Gwet's ``pe``), ``gwet_ac``, ``ac_se``,
        ``ac_ci_low, ac_ci_high``, ``p_value`` (two-sided t test of AC = 0),
        ``top_value`` and ``top_value_share`` (the most frequent rating and its share: the
        prevalence that makes kappa and alpha paradoxically low), ``verdict`` and
        ``verdict_probability`` (from the interval, :func:`benchmark_verdict`), ``small_sample``
        (``n_units < 30``).

    Notes
    -----
    Formulas of Gwet (2008), *British Journal of Mathematical and Statistical Psychology* 61, 29-48,
    and Gwet (2014), *Handbook of Inter-Rater Reliability*, 4th ed., as implemented in the R package
    irrCAC (``gwet.ac1.raw``): ``AC = (pa - pe) / (1 - pe)`` with ``pa`` the mean over units of the
    share of agreeing reviewer pairs and ``pe = T_w / (q (q - 1)) sum_k pi_k (1 - pi_k)``, ``pi_k``
    the mean over units of the share of ratings in value ``k``.  Unlike kappa's ``pe = sum pi_k^2``,
    Gwet's chance agreement is small when one value dominates, so AC stays high where reviewers
    truly agree on a category almost everyone passes (the "kappa paradox", Feinstein & Cicchetti
    1990).  A unit rated by one reviewer counts in ``pi_k`` (as in Gwet 2014) but not in ``pa``; it
    is recorded as not pairable.  Standard error: Gwet's linearisation (see the module source);
    intervals ``AC +/- t_{n-1} se`` clipped to [-1, 1].

    Examples
    --------
    >>> r = pd.DataFrame({
    ...     "review_id": [f"r{i}" for i in range(8)],
    ...     "conversation_id": ["c1", "c2", "c3", "c4"] * 2,
    ...     "reviewer_id": ["ann"] * 4 + ["bob"] * 4,
    ...     "category": "Tone", "rating": [1, 1, 1, 0, 1, 1, 1, 1]})
    >>> res = gwet_ac(r)  # pa = 3/4; pi = (7/8, 1/8): pe = 2 * 7/64 = .21875; AC1 = .53125 / .78125
    >>> res[["agreement_rate", "chance_agreement", "gwet_ac"]].round(4)
       agreement_rate  chance_agreement  gwet_ac
    0            0.75            0.2188     0.68
    """
    check_choice("weights", weights, AC_WEIGHTS[1:])
    check_choice("bands", bands, BENCHMARKS)
    level = check_level(level)
    rows, excl, domains = _prepare(ratings, card=card, units=units, pooled=not by_category, keep_single=True)
    keys = _ordered_keys(rows, card, by_category)
    records = []
    for key in keys:
        sub = rows[rows[_KEY].eq(key)]
        counts, values = _unit_counts(sub, domains.get(key))
        g = _gwet(counts, values, weights, level)
        top, share = _top_value(counts, values)
        records.append({S.CATEGORY: key, N_UNITS: int((counts.sum(axis=1) >= 2).sum()),
                        N_REVIEWERS: sub[_REV].nunique(), N_RATINGS: int(counts.sum()),
                        **{c: g[c] for c in (AGREEMENT_RATE, CHANCE_AGREEMENT, GWET_AC, AC_SE, AC_CI_LOW,
                                             AC_CI_HIGH, S.P_VALUE)},
                        TOP_VALUE: top, TOP_VALUE_SHARE: share, "_n": len(counts)})
    out = pd.DataFrame.from_records(records, columns=AC_COLUMNS[:-3])
    v = benchmark_verdict(out[GWET_AC].to_numpy(), out[AC_SE].to_numpy(), bands=bands,
                          df=np.maximum(np.array([r.pop("_n") for r in records], dtype=float) - 1, 1))
    out[VERDICT] = v[VERDICT].to_numpy()
    out[VERDICT_PROB] = v[VERDICT_PROB].to_numpy()
    out[S.SMALL_SAMPLE] = out[N_UNITS] < MIN_N
    out.attrs["weights"] = weights
    out.attrs["bands"] = bands
    return _record(out[AC_COLUMNS], excl)


def _ordered_keys(rows: pd.DataFrame, card: Scorecard | None, by_category: bool) -> list[str]:
    keys = list(pd.unique(rows[_KEY]))
    if by_category and card is not None:
        order = {n: i for i, n in enumerate(card.category_names)}
        keys.sort(key=lambda k: order.get(k, len(order)))
    return keys


@public
def agreement(
    ratings: pd.DataFrame,
    *,
    by_category: bool = True,
    metric: str = "ordinal",
    card: Scorecard | None = None,
    units: str = S.CONVERSATION_ID,
    level: float = 0.95,
    n_resamples: int = 1000,
    seed: int | None = 0,
    progress: bool = False,
    ac_weights: str | None = "auto",
    verdict_on: str = "gwet_ac",
    bands: str | None = None,
) -> pd.DataFrame:
    """Inter-reviewer agreement: percent agreement, Gwet's AC1/AC2, Krippendorff's alpha with a
    bootstrap CI and Fleiss' kappa side by side, with a verdict read from an interval.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Ratings table (``review_id, conversation_id, reviewer_id, category, rating``); N/A
        ratings are missing values.
    by_category : bool, default=True
        One row per category.  ``False``: one row ``"all"`` whose units are conversation x
        category pairs (with ``card``, ratings are first mapped to the category score in percent
        so that binary and 1..k scales line up; without, raw ratings are pooled).
    metric : {"ordinal", "nominal", "interval"}, default="ordinal"
        Level of measurement (Krippendorff's metric) for alpha.
    card : Scorecard, optional
        Checks categories and ratings against the card's scales (raising
        :class:`~qakit.errors.DataValidationError` for off-scale values) and supplies each
        category's value domain.
    units : str, default="conversation_id"
        Column identifying what every reviewer rates.
    level : float, default=0.95
        Level of the bootstrap interval.
    n_resamples : int, default=1000
        Bootstrap resamples (0 = no interval).
    seed : int or None, default=0
        Seed of the bootstrap (same seed -> same interval).
    progress : bool, default=False
        Show a tqdm progress bar over categories.
    ac_weights : {"auto", None, "linear", "quadratic", "ordinal"}, default="auto"
        Weights of Gwet's AC (:func:`gwet_ac`): ``"auto"`` follows ``metric`` (nominal -> None,
        i.e. AC1; ordinal -> ``"ordinal"``; interval -> ``"quadratic"``, i.e. AC2).
    verdict_on : {"gwet_ac", "alpha"}, default="gwet_ac"
        Which coefficient's interval the verdict reads.  AC is the default because it does not
        collapse when one rating dominates (a category almost everyone passes), where kappa and
        alpha fall although reviewers agree.
    bands : {"landis-koch", "altman", "koo-li", "krippendorff"}, optional
        Verdict scale; default Landis & Koch for ``gwet_ac``, Krippendorff for ``alpha``.

    Returns
    -------
    pandas.DataFrame
        ``category`` (or ``"all"``), ``n_units`` (units rated by >= 2 reviewers), ``n_reviewers``
        (reviewers with a pairable rating), ``n_ratings`` (pairable values), ``agreement_rate``
        (share of agreeing reviewer pairs, Gwet's weighted ``pa``), ``gwet_ac`` (AC1, or AC2 with
        weights), ``ac_se``, ``ac_ci_low``/``ac_ci_high`` (t interval), ``alpha``,
        ``ci_low``/``ci_high`` (alpha's percentile bootstrap over units), ``fleiss_kappa``
        (nominal), ``top_value`` and ``top_value_share`` (the most frequent rating and its share),
        ``verdict`` (from the interval of ``verdict_on``, see Notes), ``verdict_probability``,
        ``verdict_on`` (e.g. ``"gwet_ac (landis-koch)"``), ``band`` (Krippendorff's band of the
        alpha *point estimate*, kept for compatibility), ``small_sample`` (``n_units < 30``).
        ``attrs`` carries the exclusions (N/A ratings, units rated once), ``metric`` and
        ``ac_weights``.

    Raises
    ------
    ParameterError
        Unknown ``metric``, bad ``units``/``card``/``n_resamples``.
    DataValidationError
        Invalid ratings, a reviewer rating the same unit twice, fewer than two reviewers, or
        no unit rated by two reviewers.

    Notes
    -----
    Alpha is computed by :func:`krippendorff.alpha` on the reviewers x units reliability matrix
    (N/A = ``np.nan``).  From the coincidence matrix ``o_ck`` of pairable values (marginals
    ``n_c``, total ``n``), ``alpha = 1 - D_o / D_e = 1 - (n - 1) sum o_ck d_ck / sum n_c n_k
    d_ck`` with the metric ``d``: nominal ``[c != k]``, interval ``(c - k)^2``, ordinal ``(sum_{g
    = c..k} n_g - (n_c + n_k) / 2)^2`` (Krippendorff 2011).  The interval resamples *units* with
    replacement (``n_resamples`` times, all at once: per-unit coincidence matrices are weighted
    by how often each unit is drawn) and takes percentiles of the resampled alphas; resamples in
    which only one value occurs (alpha undefined) are left out.  Krippendorff's own bootstrap
    resamples pairable values instead; the unit bootstrap respects that ratings of one
    conversation are not independent.

    Fleiss' kappa, per category from each unit's counts ``n_ij`` over ``m_i`` ratings:
    ``P_i = (sum_j n_ij^2 - m_i) / (m_i (m_i - 1))``, ``P_bar = mean P_i``, ``p_j = mean_i n_ij /
    m_i``, ``P_e = sum p_j^2``, ``kappa = (P_bar - P_e) / (1 - P_e)``.  Units with missing
    ratings simply have a smaller ``m_i`` (Gwet 2014's generalisation; equal to Fleiss 1971 with
    complete data); units with ``m_i < 2`` are left out (and recorded), as for alpha.

    Bands (Krippendorff 2004): ``alpha >= .800`` reliable, ``.667 <= alpha < .800`` tentative,
    below unreliable.

    Gwet's AC1/AC2 and the percent agreement: :func:`gwet_ac` (Gwet 2008, 2014; irrCAC's variance).

    Verdict: read from the interval, never the point estimate (Gwet 2014, ch. 6; Koo & Li 2016
    judge an ICC by its 95 % interval the same way): the best band whose cumulative membership
    probability reaches .95 (:func:`benchmark_verdict`).  For ``gwet_ac`` the probability comes from
    a Student t (``n - 1`` df, as AC's interval; Gwet's normal is the large-sample limit) with
    ``ac_se``; for ``alpha`` from the bootstrap resamples (the share at or above each band's lower
    bound; no verdict without resamples).

    Examples
    --------
    >>> r = pd.DataFrame({
    ...     "review_id": [f"r{i}" for i in range(12)],
    ...     "conversation_id": ["c1", "c2", "c3", "c4"] * 3,
    ...     "reviewer_id": ["ann"] * 4 + ["bob"] * 4 + ["cy"] * 4,
    ...     "category": "Tone", "rating": [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 4, 4]})
    >>> res = agreement(r, metric="interval", n_resamples=0)
    >>> res[["category", "n_units", "n_ratings", "alpha", "band"]].round(3)
      category  n_units  n_ratings  alpha      band
    0     Tone        4         12  0.946  reliable
    """
    check_choice("metric", metric, METRICS)
    check_choice("verdict_on", verdict_on, VERDICT_ON)
    if bands is None:
        bands = "landis-koch" if verdict_on == GWET_AC else "krippendorff"
    check_choice("bands", bands, BENCHMARKS)
    weights = _resolve_ac_weights(ac_weights, metric)
    level = check_level(level)
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 0:
        raise ParameterError(f"n_resamples must be an integer >= 0; got {n_resamples!r}")
    every, excl, domains = _prepare(ratings, card=card, units=units, pooled=not by_category, keep_single=True)
    rows = every[~every["_single"]]
    rng = np.random.default_rng(seed)
    keys = _ordered_keys(rows, card, by_category)
    records = []
    for key in _progress(keys, enabled=progress, desc="agreement", total=len(keys)):
        sub = rows[rows[_KEY].eq(key)]
        counts, values = _unit_counts(sub, domains.get(key))
        all_counts, all_values = _unit_counts(every[every[_KEY].eq(key)], domains.get(key))
        g = _gwet(all_counts, all_values, weights, level)
        top, share = _top_value(counts, values)
        rec = {S.CATEGORY: key, N_UNITS: len(counts), N_REVIEWERS: sub[_REV].nunique(),
               N_RATINGS: int(counts.sum()), AGREEMENT_RATE: g[AGREEMENT_RATE], GWET_AC: g[GWET_AC],
               AC_SE: g[AC_SE], AC_CI_LOW: g[AC_CI_LOW], AC_CI_HIGH: g[AC_CI_HIGH],
               ALPHA: np.nan, S.CI_LOW: np.nan, S.CI_HIGH: np.nan, FLEISS_KAPPA: np.nan,
               TOP_VALUE: top, TOP_VALUE_SHARE: share, VERDICT: None, VERDICT_PROB: np.nan}
        if verdict_on == GWET_AC:
            v = benchmark_verdict(g[GWET_AC], g[AC_SE], bands=bands, df=max(len(all_counts) - 1, 1))
            rec[VERDICT], rec[VERDICT_PROB] = (None if pd.isna(v[VERDICT].iloc[0]) else v[VERDICT].iloc[0],
                                               float(v[VERDICT_PROB].iloc[0]))
        if (counts.sum(axis=0) > 0).sum() < 2:
            warnings.warn(
                f"{key!r}: every pairable rating has the same value "
                f"({sub[_VAL].iloc[0]:g}); agreement statistics are undefined (NaN)",
                UndefinedMetricWarning, stacklevel=2,
            )
            records.append(rec)
            continue
        matrix = sub.pivot(index=_REV, columns=_UNIT, values=_VAL).to_numpy(dtype=float)
        rec[ALPHA] = float(krippendorff.alpha(
            reliability_data=matrix, value_domain=values, level_of_measurement=metric))
        rec[FLEISS_KAPPA] = _fleiss_kappa(counts)
        if n_resamples > 0:
            draws = rng.multinomial(len(counts), np.full(len(counts), 1.0 / len(counts)), size=n_resamples)
            boot = _alpha_from_counts(counts, values, metric, draws.astype(float))
            boot = boot[~np.isnan(boot)]
            if len(boot):
                lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
                rec[S.CI_LOW], rec[S.CI_HIGH] = float(lo), float(hi)
            if verdict_on == ALPHA:
                rec[VERDICT], rec[VERDICT_PROB] = _bootstrap_verdicts(boot, bands, VERDICT_PROBABILITY)
        records.append(rec)
    out = pd.DataFrame.from_records(records, columns=AGREEMENT_COLUMNS[:-3])
    out[VERDICT] = out[VERDICT].astype("str")
    out[VERDICT_BASIS] = f"{verdict_on} ({bands})"
    out[S.BAND] = _band(out[ALPHA].to_numpy(), ALPHA_BANDS)
    out[S.SMALL_SAMPLE] = out[N_UNITS] < MIN_N
    out.attrs["metric"] = metric
    out.attrs["ac_weights"] = weights
    return _record(out[AGREEMENT_COLUMNS], excl)


# --- Cohen's kappa --------------------------------------------------------------------------
def _kappa_table(a: np.ndarray, b: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Contingency table (rows reviewer a, columns reviewer b) over ``values``."""
    V = len(values)
    t = np.zeros((V, V))
    np.add.at(t, (np.searchsorted(values, a), np.searchsorted(values, b)), 1.0)
    return t


def _kappa_from_table(table: np.ndarray, weights: str | None) -> tuple[float, float, float]:
    """(kappa, se, se0) of a V x V table with agreement weights of the kind ``weights``.

    Agreement weights ``w_ij``: identity (unweighted), ``1 - |i - j| / (V - 1)`` (linear) or
    ``1 - (i - j)^2 / (V - 1)^2`` (quadratic), by position in the value list.
    ``p_o = sum w_ij p_ij``, ``p_e = sum w_ij p_i. p_.j``, ``kappa = (p_o - p_e) / (1 - p_e)``.
    Fleiss, Cohen & Everitt (1969), with ``wbar_i. = sum_j p_.j w_ij``, ``wbar_.j = sum_i p_i. w_ij``:
    ``se^2 = [sum p_ij (w_ij - (wbar_i. + wbar_.j)(1 - kappa))^2 - (kappa - p_e (1 - kappa))^2]
    / ((1 - p_e)^2 n)``, and under H0 (kappa = 0) ``se0^2 = [sum p_i. p_.j (w_ij - (wbar_i. +
    wbar_.j))^2 - p_e^2] / ((1 - p_e)^2 n)``.
    """
    V = table.shape[0]
    n = table.sum()
    idx = np.arange(V)
    dist = np.abs(idx[:, None] - idx[None, :]) / max(V - 1, 1)
    if weights is None:
        w = np.eye(V)
    elif weights == "linear":
        w = 1.0 - dist
    else:
        w = 1.0 - dist**2
    p = table / n
    pr, pc = p.sum(axis=1), p.sum(axis=0)
    po = float((w * p).sum())
    pe = float((w * np.outer(pr, pc)).sum())
    if pe >= 1.0 or n < 1:
        return np.nan, np.nan, np.nan
    k = (po - pe) / (1 - pe)
    wr = w @ pc  # wbar_i.
    wc = pr @ w  # wbar_.j
    var = ((p * (w - (wr[:, None] + wc[None, :]) * (1 - k)) ** 2).sum() - (k - pe * (1 - k)) ** 2) / ((1 - pe) ** 2 * n)
    var0 = ((np.outer(pr, pc) * (w - (wr[:, None] + wc[None, :])) ** 2).sum() - pe**2) / ((1 - pe) ** 2 * n)
    return float(k), float(np.sqrt(max(var, 0.0))), float(np.sqrt(max(var0, 0.0)))


def _kappa_rows(
    rows: pd.DataFrame, domains: dict, pairs: list[tuple[str, str]], weights: str | None,
    level: float, progress: bool,
) -> pd.DataFrame:
    z = stats.norm.ppf((1 + level) / 2)
    keys = list(pd.unique(rows[_KEY]))
    wide = {key: rows[rows[_KEY].eq(key)].pivot(index=_UNIT, columns=_REV, values=_VAL) for key in keys}
    vals = {key: (np.union1d(domains[key], rows.loc[rows[_KEY].eq(key), _VAL].unique())
                  if domains.get(key) is not None else np.sort(rows.loc[rows[_KEY].eq(key), _VAL].unique()))
            for key in keys}
    records = []
    undefined = []
    for a, b in _progress(pairs, enabled=progress, desc="kappa", total=len(pairs)):
        for key in keys:
            w = wide[key]
            rec = {S.CATEGORY: key, REVIEWER_A: a, REVIEWER_B: b, S.N: 0, KAPPA: np.nan, S.SE: np.nan,
                   S.CI_LOW: np.nan, S.CI_HIGH: np.nan, S.P_VALUE: np.nan}
            if a in w.columns and b in w.columns:
                both = w[[a, b]].dropna()
                rec[S.N] = len(both)
                if len(both):
                    t = _kappa_table(both[a].to_numpy(), both[b].to_numpy(), vals[key])
                    k, se, se0 = _kappa_from_table(t, weights)
                    rec[KAPPA], rec[S.SE] = k, se
                    if np.isfinite(k):
                        rec[S.CI_LOW], rec[S.CI_HIGH] = k - z * se, k + z * se
                        if se0 > 0:
                            rec[S.P_VALUE] = float(2 * stats.norm.sf(abs(k) / se0))
            if np.isnan(rec[KAPPA]):
                undefined.append(f"{key} ({a} vs {b})")
            records.append(rec)
    if undefined:
        warnings.warn(
            f"kappa undefined (no common units, or both reviewers always gave one and the same value) "
            f"for {len(undefined)} pair(s): {undefined[:5]}{' ...' if len(undefined) > 5 else ''}",
            UndefinedMetricWarning, stacklevel=3,
        )
    out = pd.DataFrame.from_records(records, columns=KAPPA_COLUMNS[:-2])
    out[S.BAND] = _band(out[KAPPA].to_numpy(), KAPPA_BANDS)
    out[S.SMALL_SAMPLE] = out[S.N] < MIN_N
    return out[KAPPA_COLUMNS]


@public
def cohen_kappa(
    ratings: pd.DataFrame,
    *,
    reviewers: tuple[str, str],
    weights: str | None = None,
    by_category: bool = True,
    card: Scorecard | None = None,
    units: str = S.CONVERSATION_ID,
    level: float = 0.95,
) -> pd.DataFrame:
    """Cohen's kappa (optionally weighted) between two reviewers, per category.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Ratings table; only units both reviewers rated (not N/A) count.
    reviewers : tuple of two reviewer ids
    weights : {None, "linear", "quadratic"}, default=None
        Unweighted kappa, or weighted kappa with linear (``1 - |i - j| / (V - 1)``) or quadratic
        (``1 - (i - j)^2 / (V - 1)^2``) agreement weights, ``i, j`` the positions of the ratings
        among the category's ``V`` values (the card's scale when ``card`` is given, else the
        values any reviewer used in that category).
    by_category : bool, default=True
        ``False`` pools all categories (units are conversation x category; with ``card`` on the
        percent scale).
    card : Scorecard, optional
        Validates ratings and supplies each category's scale.
    units : str, default="conversation_id"
    level : float, default=0.95
        Level of the Wald interval ``kappa +/- z * se``.

    Returns
    -------
    pandas.DataFrame
        ``category, reviewer_a, reviewer_b, n`` (units both rated), ``kappa``, ``se``
        (asymptotic, non-null), ``ci_low``, ``ci_high``, ``p_value`` (two-sided z test of kappa = 0
        with the null SE), ``band`` (Landis & Koch 1977: poor < 0 <= slight < .21 <= fair < .41 <=
        moderate < .61 <= substantial < .81 <= almost perfect), ``small_sample`` (``n < 30``).

    Notes
    -----
    ``p_o = sum_ij w_ij p_ij``, ``p_e = sum_ij w_ij p_i. p_.j``, ``kappa = (p_o - p_e) / (1 - p_e)``
    (identity weights: Cohen 1960; else Cohen 1968).  Standard errors: Fleiss, Cohen & Everitt
    (1969), as in R ``vcd::Kappa`` and SAS PROC FREQ, with ``wbar_i. = sum_j p_.j w_ij`` and
    ``wbar_.j = sum_i p_i. w_ij``:
    ``se^2 = [sum_ij p_ij (w_ij - (wbar_i. + wbar_.j)(1 - kappa))^2 - (kappa - p_e (1 - kappa))^2]
    / ((1 - p_e)^2 n)``; the p-value uses the null variance ``[sum_ij p_i. p_.j (w_ij - (wbar_i. +
    wbar_.j))^2 - p_e^2] / ((1 - p_e)^2 n)``.  Large-sample results: with ``n < 30`` read them as
    rough.

    Worked 2 x 2 example (Cohen 1960 style): 50 items, both "yes" 20, a "yes" b "no" 5, a "no" b
    "yes" 10, both "no" 15: ``p_o = 35 / 50 = .70``; a says yes .50, b .60, so ``p_e = .5 * .6 +
    .5 * .4 = .50`` and ``kappa = (.70 - .50) / (1 - .50) = .40``.

    Examples
    --------
    >>> r = pd.DataFrame({
    ...     "review_id": [f"r{i}" for i in range(8)],
    ...     "conversation_id": ["c1", "c2", "c3", "c4"] * 2,
    ...     "reviewer_id": ["ann"] * 4 + ["bob"] * 4,
    ...     "category": "Tone", "rating": [1, 1, 0, 0, 1, 1, 0, 1]})
    >>> res = cohen_kappa(r, reviewers=("ann", "bob"))
    >>> res[["category", "n", "kappa", "band"]]  # po = 3/4, pe = .5*.75 + .5*.25 = .5
      category  n  kappa      band
    0     Tone  4    0.5  moderate
    """
    check_choice("weights", weights, WEIGHTS)
    level = check_level(level)
    if isinstance(reviewers, str) or len(tuple(reviewers)) != 2:
        raise ParameterError(f"reviewers must be a pair of reviewer ids (a, b); got {reviewers!r}")
    a, b = (str(x) for x in reviewers)
    if a == b:
        raise ParameterError(f"reviewers must be two different reviewers; got {reviewers!r}")
    rows, excl, domains = _prepare(ratings, card=card, units=units, pooled=not by_category)
    known = set(rows[_REV])
    missing = [x for x in (a, b) if x not in known]
    if missing:
        raise ParameterError(
            f"reviewer(s) {missing} have no pairable ratings; reviewers: {sorted(known)}"
        )
    out = _kappa_rows(rows, domains, [(a, b)], weights, level, progress=False)
    out.attrs["weights"] = weights
    return _record(out, excl)


@public
def pairwise_kappa(
    ratings: pd.DataFrame,
    *,
    weights: str | None = None,
    by_category: bool = True,
    card: Scorecard | None = None,
    units: str = S.CONVERSATION_ID,
    level: float = 0.95,
    progress: bool = False,
) -> pd.DataFrame:
    """Cohen's kappa for every pair of reviewers (see :func:`cohen_kappa`).

    Parameters
    ----------
    ratings : pandas.DataFrame
    weights : {None, "linear", "quadratic"}, default=None
    by_category : bool, default=True
    card : Scorecard, optional
    units : str, default="conversation_id"
    level : float, default=0.95
    progress : bool, default=False
        Show a tqdm progress bar over pairs.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`cohen_kappa`, one row per pair (reviewer ids sorted, ``a < b``)
        and category.

    Notes
    -----
    Same formulas as :func:`cohen_kappa`.  A pair with no common units gets ``n = 0`` and NaN
    (with one :class:`~qakit.errors.UndefinedMetricWarning` listing the pairs).

    Examples
    --------
    >>> r = pd.DataFrame({
    ...     "review_id": [f"r{i}" for i in range(9)],
    ...     "conversation_id": ["c1", "c2", "c3"] * 3,
    ...     "reviewer_id": ["ann"] * 3 + ["bob"] * 3 + ["cy"] * 3,
    ...     "category": "Tone", "rating": [1, 0, 0, 1, 0, 0, 1, 1, 0]})
    >>> pairwise_kappa(r)[["reviewer_a", "reviewer_b", "n", "kappa"]].round(2)
      reviewer_a reviewer_b  n  kappa
    0        ann        bob  3   1.00
    1        ann         cy  3   0.40
    2        bob         cy  3   0.40
    """
    check_choice("weights", weights, WEIGHTS)
    level = check_level(level)
    rows, excl, domains = _prepare(ratings, card=card, units=units, pooled=not by_category)
    revs = sorted(rows[_REV].unique())
    pairs = list(itertools.combinations(revs, 2))
    out = _kappa_rows(rows, domains, pairs, weights, level, progress)
    out.attrs["weights"] = weights
    return _record(out, excl)


# --- reviewer bias --------------------------------------------------------------------------
def _cluster_mean(
    frame: pd.DataFrame, value: str, groups: list[str], cluster: str, level: float
) -> pd.DataFrame:
    """Mean of ``value`` per group with a cluster-robust SE (clusters = ``cluster``).

    ``se^2 = G / (G - 1) * sum_g (sum_{i in g} (d_i - dbar))^2 / n^2``; t interval and two-sided
    p-value on ``G - 1`` degrees of freedom.  With one value per cluster this is the ordinary
    one-sample t (``se = s / sqrt(n)``).
    """
    f = frame[groups + [cluster, value]].dropna(subset=[value])
    g = f.groupby(groups, sort=True)[value]
    mean = g.transform("mean")
    f = f.assign(_dev=f[value] - mean)
    csum = f.groupby(groups + [cluster], sort=True)["_dev"].sum()
    ss = (csum**2).groupby(level=list(range(len(groups))), sort=True).sum()
    res = pd.DataFrame({
        S.N: g.size(),
        N_CONVERSATIONS: f.groupby(groups, sort=True)[cluster].nunique(),
        "mean": g.mean(),
    })
    res["ss"] = ss
    G = res[N_CONVERSATIONS].to_numpy(dtype=float)
    n = res[S.N].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(G / (G - 1) * res["ss"].to_numpy() / n**2)
        se = np.where(G >= 2, se, np.nan)
        lo, hi = mean_ci(res["mean"].to_numpy(), se * np.sqrt(G), G, level=level)
        t = res["mean"].to_numpy() / se
        p = np.where(G >= 2, 2 * stats.t.sf(np.abs(t), G - 1), np.nan)
    res["se"], res["lo"], res["hi"], res["p"] = se, lo, hi, p
    return res.drop(columns="ss")


@public
def reviewer_bias(
    ratings: pd.DataFrame,
    *,
    card: Scorecard | None = None,
    level: float = 0.95,
    by_category: bool = False,
    categories: Sequence[str] | None = None,
    units: str = S.CONVERSATION_ID,
) -> pd.DataFrame:
    """Each reviewer's mean deviation from the consensus of the *other* reviewers.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Ratings table of a calibration session.
    card : Scorecard, optional
        Gives each category's scale: deviations are then also reported in category-score points
        (percent, by the card's scoring mode) and ratings are checked against the scales.
    level : float, default=0.95
        Confidence level of the t intervals.
    by_category : bool, default=False
        One row per reviewer and category, instead of per reviewer over all categories.
    categories : sequence of str, optional
        Only these categories (e.g. the k-point ones: on binary categories one rating step is the
        whole scale).
    units : str, default="conversation_id"

    Returns
    -------
    pandas.DataFrame
        ``reviewer_id``, ``category`` (``"all"`` unless ``by_category``), ``n`` (ratings with a
        consensus), ``n_conversations``, ``bias_steps`` (mean deviation in rating steps), ``se``,
        ``ci_low``, ``ci_high``, ``p_value`` (two-sided t test of no bias), ``bias_points``,
        ``points_se``, ``points_ci_low``, ``points_ci_high`` (the same in category-score points;
        NaN without ``card``), ``small_sample`` (``n_conversations < 30``).

    Notes
    -----
    For reviewer ``r`` rating unit ``u`` in category ``c``: ``d = x_ruc - mean_{j != r} x_juc``,
    the deviation from the leave-one-out consensus (the mean of the other reviewers' non-N/A
    ratings; ratings with no other rating are left out and recorded).  Leaving ``r`` out keeps
    the reviewer's own noise out of the consensus.  Without a gold standard only *relative* bias
    is identifiable: with complete data and planted biases ``b``, ``E[d_r] = b_r - mean_{j != r}
    b_j = R / (R - 1) * (b_r - b_bar)`` for ``R`` reviewers (the deviation from the full-panel
    mean is ``(R - 1) / R`` times ``d``).  Clipping at the ends of a scale shrinks it.

    ``bias = mean d`` over the reviewer's ratings; ``se`` is cluster-robust over conversations
    (``se^2 = G / (G - 1) * sum_g (sum_{i in g} (d_i - bias))^2 / n^2`` for ``G`` conversations),
    because one reviewer's deviations on the categories of one conversation may be correlated;
    the interval is ``bias +/- t_{(1+level)/2, G-1} se`` and the p-value is the two-sided t test
    on ``G - 1`` df.  Per category (one rating per conversation) this is the one-sample t test
    (:func:`scipy.stats.ttest_1samp`).

    Examples
    --------
    >>> r = pd.DataFrame({
    ...     "review_id": [f"r{i}" for i in range(9)],
    ...     "conversation_id": ["c1", "c2", "c3"] * 3,
    ...     "reviewer_id": ["ann"] * 3 + ["bob"] * 3 + ["cy"] * 3,
    ...     "category": "Tone", "rating": [4, 5, 3, 3, 4, 2, 3, 3, 2]})
    >>> reviewer_bias(r)[["reviewer_id", "n", "bias_steps"]].round(3)  # ann: (1 + 1.5 + 1) / 3
      reviewer_id  n  bias_steps
    0         ann  3       1.167
    1         bob  3      -0.333
    2          cy  3      -0.833
    """
    level = check_level(level)
    rows, excl, _ = _prepare(ratings, card=card, units=units, pooled=False, categories=categories)
    rows = rows.assign(_points=np.nan)
    if card is not None:
        lo = rows[S.CATEGORY].map({c.name: c.scale.min for c in card.categories}).astype(float)
        hi = rows[S.CATEGORY].map({c.name: c.scale.max for c in card.categories}).astype(float)
        # one rating step in category-score points, by the card's scoring mode
        step = 100.0 / (hi - lo) if card.mode == "weighted" else 100.0 / hi
        rows["_step"] = step
    grp = rows.groupby([_KEY, _UNIT], sort=False)[_VAL]
    tot, cnt = grp.transform("sum"), grp.transform("size")
    rows["_d"] = rows[_VAL] - (tot - rows[_VAL]) / (cnt - 1)
    if card is not None:
        rows["_points"] = rows["_d"] * rows["_step"]
    rows[S.CATEGORY] = rows[_KEY] if by_category else ALL
    groups = [_REV, S.CATEGORY]
    steps = _cluster_mean(rows, "_d", groups, S.CONVERSATION_ID, level)
    out = pd.DataFrame({
        S.REVIEWER_ID: steps.index.get_level_values(0).astype("str"),
        S.CATEGORY: steps.index.get_level_values(1).astype("str"),
        S.N: steps[S.N].to_numpy(),
        N_CONVERSATIONS: steps[N_CONVERSATIONS].to_numpy(),
        BIAS_STEPS: steps["mean"].to_numpy(),
        S.SE: steps["se"].to_numpy(),
        S.CI_LOW: steps["lo"].to_numpy(),
        S.CI_HIGH: steps["hi"].to_numpy(),
        S.P_VALUE: steps["p"].to_numpy(),
        BIAS_POINTS: np.nan, POINTS_SE: np.nan, POINTS_CI_LOW: np.nan, POINTS_CI_HIGH: np.nan,
    })
    if card is not None:
        pts = _cluster_mean(rows, "_points", groups, S.CONVERSATION_ID, level)
        out[BIAS_POINTS] = pts["mean"].to_numpy()
        out[POINTS_SE] = pts["se"].to_numpy()
        out[POINTS_CI_LOW] = pts["lo"].to_numpy()
        out[POINTS_CI_HIGH] = pts["hi"].to_numpy()
    out[S.SMALL_SAMPLE] = out[N_CONVERSATIONS] < MIN_N
    return _record(out[BIAS_COLUMNS], excl)


# --- consensus ------------------------------------------------------------------------------
@public
def consensus(
    ratings: pd.DataFrame,
    *,
    method: str = "median",
    units: str = S.CONVERSATION_ID,
) -> pd.DataFrame:
    """The consensus rating per unit (conversation) and category.

    Parameters
    ----------
    ratings : pandas.DataFrame
    method : {"median", "mean"}, default="median"
        The median of an even number of ratings is the mean of the middle two (it can fall
        between two scale points).
    units : str, default="conversation_id"

    Returns
    -------
    pandas.DataFrame
        ``<units>``, ``category``, ``n`` (non-N/A ratings), ``consensus``, ``sd`` (sample SD; NaN
        for one rating), ``min``, ``max``, ``unanimous`` (every reviewer gave the same rating).
        Units whose ratings are all N/A are left out and recorded in the exclusions.

    Examples
    --------
    >>> r = pd.DataFrame({
    ...     "review_id": [f"r{i}" for i in range(6)],
    ...     "conversation_id": ["c1", "c2"] * 3,
    ...     "reviewer_id": ["ann"] * 2 + ["bob"] * 2 + ["cy"] * 2,
    ...     "category": "Tone", "rating": [4, 5, 3, 5, 2, None]})
    >>> consensus(r)[["conversation_id", "n", "consensus", "unanimous"]]
      conversation_id  n  consensus  unanimous
    0              c1  3        3.0      False
    1              c2  2        5.0       True
    """
    check_choice("method", method, CONSENSUS_METHODS)
    rows, problems = S.check(ratings, CALIBRATION_RATINGS)
    if not isinstance(units, str) or units not in rows.columns:
        raise ParameterError(
            f"units column {units!r} not in ratings; available: {sorted(map(str, rows.columns))}"
        )
    problems.raise_if_any()
    rows = rows.assign(**{units: rows[units].astype("str")})
    rated = rows[S.RATING].notna()
    g = rows[rated].groupby([units, S.CATEGORY], sort=True)[S.RATING]
    out = pd.DataFrame({
        S.N: g.size(), CONSENSUS: g.median() if method == "median" else g.mean(),
        SD: g.std(), MIN: g.min(), MAX: g.max(),
    })
    out[UNANIMOUS] = out[MIN].eq(out[MAX])
    out = out.reset_index()
    keys = rows[[units, S.CATEGORY]].drop_duplicates()
    lost = keys.merge(out[[units, S.CATEGORY]], how="left", indicator=True)["_merge"].eq("left_only")
    if lost.any():
        ids = keys[lost.to_numpy()][units].str.cat(keys[lost.to_numpy()][S.CATEGORY], sep=" / ")
        S.add_exclusion(out, "every rating N/A: no consensus", S.RATING, ids)
    return out


# --- benchmark-grader alignment and reviewer drift -----------------------------------------
ALIGNMENT = "alignment"
DEVIATION_STEPS = "deviation_steps"
N_REVIEWS = "n_reviews"
ALIGNMENT_COLUMNS = [S.REVIEWER_ID, S.CATEGORY, N_REVIEWS, ALIGNMENT, S.CI_LOW, S.CI_HIGH, DEVIATION_STEPS,
                     S.SMALL_SAMPLE]
PERIOD = "period"
TREND = "trend_steps_per_week"
FIRST_BIAS = "bias_first_period"
LAST_BIAS = "bias_last_period"
N_PERIODS = "n_periods"
DRIFT_COLUMNS = [S.REVIEWER_ID, S.CATEGORY, S.N, N_CONVERSATIONS, N_PERIODS, FIRST_BIAS, LAST_BIAS, TREND, S.SE,
                 S.CI_LOW, S.CI_HIGH, S.P_VALUE, S.SMALL_SAMPLE]
DRIFT_PERIOD_COLUMNS = [S.REVIEWER_ID, S.CATEGORY, PERIOD, S.N, N_CONVERSATIONS, BIAS_STEPS, S.SE, S.CI_LOW,
                        S.CI_HIGH, S.SMALL_SAMPLE]
PERIODS = ("D", "W", "M", "Q")


def _benchmark_ids(benchmark: str | Sequence[str], known: pd.Series) -> list[str]:
    ids = [benchmark] if isinstance(benchmark, str) else list(benchmark) if benchmark is not None else []
    if not ids or not all(isinstance(b, str) and b.strip() for b in ids):
        raise ParameterError(f"benchmark must be a reviewer id or a list of reviewer ids; got {benchmark!r}")
    ids = [b.strip() for b in ids]
    unknown = sorted(set(ids) - set(known))
    if unknown:
        raise ParameterError(f"benchmark reviewer(s) {unknown} have no rating; reviewers: {sorted(set(known))[:20]}")
    return ids


def _against_benchmark(rows: pd.DataFrame, ids: list[str]) -> tuple[pd.DataFrame, list[tuple[str, str, pd.Series]]]:
    """Each non-benchmark rating with the benchmark rating of the same unit and category (``_bench``)."""
    is_b = rows[_REV].isin(ids)
    bench = rows[is_b]
    dup = bench.duplicated([_KEY, _UNIT], keep=False)
    if dup.any():
        p = Problems("ratings")
        p.add(S.REVIEWER_ID, f"two benchmark reviewers ({', '.join(ids)}) rated the same unit and category: "
              "which one is the benchmark is ambiguous", dup.to_numpy(), bench[_REV].reset_index(drop=True),
              index=pd.Index(bench[_RID]))
        p.raise_if_any()
    b = bench.set_index([_KEY, _UNIT])[_VAL]
    graders = rows[~is_b]
    key = pd.MultiIndex.from_arrays([graders[_KEY], graders[_UNIT]])
    graders = graders.assign(_bench=b.reindex(key).to_numpy())
    excl = []
    none = graders["_bench"].isna()
    if none.any():
        excl.append(("no benchmark rating for this unit and category (not graded by the benchmark, or N/A)",
                     S.REVIEWER_ID, graders.loc[none, _RID]))
    return graders[~none], excl


@public
def benchmark_alignment(
    ratings: pd.DataFrame,
    *,
    benchmark: str | Sequence[str],
    card: Scorecard,
    by_category: bool = False,
    units: str = S.CONVERSATION_ID,
    level: float = 0.95,
) -> pd.DataFrame:
    """Each reviewer's alignment with a benchmark grader, per rubric or per criterion (MaestroQA).

    Parameters
    ----------
    ratings : pandas.DataFrame
        Ratings where the benchmark grader and the other reviewers rated the same conversations
        (a calibration session, or MaestroQA's Grader QA / Zendesk QA's baseline reviews).
    benchmark : str or list of str
        The benchmark grader's reviewer id (several ids: several benchmark graders, each
        conversation graded by at most one of them).
    card : Scorecard
        Gives each criterion's scale (the most a grade can be off) and its points.
    by_category : bool, default=False
        One row per reviewer and criterion instead of per reviewer (rubric alignment).
    units : str, default="conversation_id"
    level : float, default=0.95
        Level of the t interval over the reviewer's reviews.

    Returns
    -------
    pandas.DataFrame
        ``reviewer_id``, ``category`` (``"all"`` for the rubric), ``n_reviews`` (units graded by
        both), ``alignment`` (percent, 100 = every grade equals the benchmark), ``ci_low``,
        ``ci_high``, ``deviation_steps`` (mean signed ``grade - benchmark`` in rating steps:
        positive = more lenient than the benchmark), ``small_sample`` (``n_reviews < 30``).
        Ratings with no benchmark rating (or N/A on either side) are recorded in the exclusions.

    Notes
    -----
    MaestroQA ("What is an Alignment Score?", help.maestroqa.com/en/articles/4364995): per criterion
    ``alignment_c = 1 - |grade - benchmark| / max points of the criterion``; the rubric alignment
    weights each criterion by its points: ``sum_c alignment_c W_c / sum_c W_c`` over the criteria
    both graded.  Their example: a 15-point criterion graded 10 against a benchmark 7 is 3 / 15 =
    20 % off, so 80 % aligned; on an 80-point rubric it carries 15 / 80 = 18.75 % of the weight and
    contributes 80 % x 18.75 % = 15 points of alignment.  Here the divisor is the criterion's scale
    span ``max - min`` (equal to MaestroQA's max points when the scale starts at 0, as theirs do;
    on a 1-5 scale the largest miss, 1 against 5, is 0 % aligned).  ``W_c`` is the criterion's
    points ``weight x max`` in ``points`` mode and its weight otherwise.  The interval is a
    Student-t interval over the reviewer's reviews (rubric alignment per review).

    Examples
    --------
    >>> from qakit.scorecard import Scorecard, Category
    >>> card = Scorecard([Category("Resolution", scale="0-15"), Category("Rest", scale="0-65")], mode="points")
    >>> r = pd.DataFrame({"review_id": ["o1", "o1", "b1", "b1"], "conversation_id": "t1",
    ...                   "reviewer_id": ["grader", "grader", "bench", "bench"],
    ...                   "category": ["Resolution", "Rest", "Resolution", "Rest"], "rating": [10, 65, 7, 65]})
    >>> benchmark_alignment(r, benchmark="bench", card=card, by_category=True)[["category", "alignment"]]
         category  alignment
    0  Resolution       80.0
    1        Rest      100.0
    """
    level = check_level(level)
    if not isinstance(card, Scorecard):
        raise ParameterError(f"card must be a qakit Scorecard (it gives each criterion's scale and points); "
                             f"got {type(card).__name__}")
    rows, excl, _ = _prepare(ratings, card=card, units=units, pooled=False)
    ids = _benchmark_ids(benchmark, rows[_REV])
    pairs, more = _against_benchmark(rows, ids)
    excl += more
    if pairs.empty:
        raise ParameterError(f"no unit was graded by both the benchmark ({', '.join(ids)}) and another reviewer")
    cats = {c.name: c for c in card.categories}
    lo = pairs[_KEY].map({n: c.scale.min for n, c in cats.items()}).astype(float)
    hi = pairs[_KEY].map({n: c.scale.max for n, c in cats.items()}).astype(float)
    pts = {n: (c.weight * c.scale.max if card.mode == "points" else c.weight) for n, c in cats.items()}
    step = {n: (c.scale.values[1] - c.scale.values[0]) if c.scale.values and len(c.scale.values) > 1 else 1.0
            for n, c in cats.items()}
    diff = pairs[_VAL] - pairs["_bench"]
    pairs = pairs.assign(_a=1.0 - diff.abs() / (hi - lo), _w=pairs[_KEY].map(pts).astype(float),
                         _steps=diff / pairs[_KEY].map(step).astype(float))
    if by_category:
        per = pairs.assign(_cat=pairs[_KEY])
        g = per.groupby([_REV, "_cat"], sort=True)
        res = pd.DataFrame({N_REVIEWS: g.size(), "m": g["_a"].mean(), "sd": g["_a"].std(), DEVIATION_STEPS: g["_steps"].mean()})
    else:
        pairs = pairs.assign(_aw=pairs["_a"] * pairs["_w"], _sw=pairs["_steps"] * pairs["_w"])
        rev = pairs.groupby([_REV, _UNIT], sort=True)[["_aw", "_w", "_sw"]].sum()
        zero = rev["_w"].eq(0)
        rev = rev[~zero]
        rev = rev.assign(_a=rev["_aw"] / rev["_w"], _s=rev["_sw"] / rev["_w"], _cat=ALL)
        g = rev.reset_index().groupby([_REV, "_cat"], sort=True)
        res = pd.DataFrame({N_REVIEWS: g.size(), "m": g["_a"].mean(), "sd": g["_a"].std(), DEVIATION_STEPS: g["_s"].mean()})
    lo_ci, hi_ci = mean_ci(res["m"].to_numpy(), res["sd"].to_numpy(), res[N_REVIEWS].to_numpy(), level=level)
    out = pd.DataFrame({
        S.REVIEWER_ID: res.index.get_level_values(0).astype("str"),
        S.CATEGORY: res.index.get_level_values(1).astype("str"),
        N_REVIEWS: res[N_REVIEWS].to_numpy(),
        ALIGNMENT: 100 * res["m"].to_numpy(),
        S.CI_LOW: 100 * np.clip(lo_ci, 0.0, 1.0),
        S.CI_HIGH: 100 * np.clip(hi_ci, 0.0, 1.0),
        DEVIATION_STEPS: res[DEVIATION_STEPS].to_numpy(),
    })
    out[S.SMALL_SAMPLE] = out[N_REVIEWS] < MIN_N
    out.attrs["benchmark"] = ids
    return _record(out[ALIGNMENT_COLUMNS], excl)


def _cluster_slope(frame: pd.DataFrame, groups: list[str], cluster: str, level: float) -> pd.DataFrame:
    """OLS slope of ``_d`` on ``_x`` per group with a cluster-robust (CR1) standard error.

    ``b = sum (x - xbar)(d - dbar) / sum (x - xbar)^2``; residuals ``e = d - dbar - b (x - xbar)``;
    ``var(b) = G / (G - 1) sum_g (sum_{i in g} (x_i - xbar) e_i)^2 / (sum (x - xbar)^2)^2``; t on
    ``G - 1`` df.  With one deviation per cluster this is the usual HC1-type slope SE.
    """
    f = frame.copy()
    g = f.groupby(groups, sort=True)
    f["_xc"] = f["_x"] - g["_x"].transform("mean")
    f["_dc"] = f["_d"] - g["_d"].transform("mean")
    f["_xx"] = f["_xc"] ** 2
    f["_xd"] = f["_xc"] * f["_dc"]
    s = f.groupby(groups, sort=True)[["_xx", "_xd"]].sum()
    b = (s["_xd"] / s["_xx"].where(s["_xx"] > 0)).rename("b")
    f = f.join(b, on=groups)
    f["_u"] = f["_xc"] * (f["_dc"] - f["b"] * f["_xc"])
    cs = f.groupby(groups + [cluster], sort=True)["_u"].sum() ** 2
    ss = cs.groupby(level=list(range(len(groups))), sort=True).sum()
    G = f.groupby(groups, sort=True)[cluster].nunique().astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(G / (G - 1) * ss / s["_xx"] ** 2)
        se = se.where(G >= 3)
        t = stats.t.ppf((1 + level) / 2, G - 1)
        p = 2 * stats.t.sf(np.abs(b / se), G - 1)
    return pd.DataFrame({"b": b, "se": se, "lo": b - t * se, "hi": b + t * se, "p": p})


@public
def reviewer_drift(
    ratings: pd.DataFrame,
    *,
    period: str = "W",
    by_period: bool = False,
    benchmark: str | Sequence[str] | None = None,
    by_category: bool = False,
    categories: Sequence[str] | None = None,
    units: str = S.CONVERSATION_ID,
    level: float = 0.95,
) -> pd.DataFrame:
    """Does a reviewer's bias change over time?  The trend of each reviewer's deviation per week.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Ratings with ``reviewed_at`` (rows without it are left out and recorded), where several
        reviewers rated the same conversations, repeatedly over time (calibration sessions).
    period : {"D", "W", "M", "Q"}, default="W"
        Period of the per-period table (``by_period=True``) and of ``n_periods``.
    by_period : bool, default=False
        Return each reviewer's bias per period instead of the trend.
    benchmark : str or list of str, optional
        Deviations from this benchmark grader's rating of the same unit and category instead of
        from the leave-one-out consensus of the other reviewers.
    by_category : bool, default=False
        One row per reviewer and category.
    categories : sequence of str, optional
        Only these categories (e.g. the k-point ones).
    units : str, default="conversation_id"
    level : float, default=0.95

    Returns
    -------
    pandas.DataFrame
        Trend (default): ``reviewer_id, category, n`` (deviations), ``n_conversations``,
        ``n_periods``, ``bias_first_period``, ``bias_last_period`` (mean deviation in rating steps
        in the reviewer's first and last period), ``trend_steps_per_week`` (OLS slope of the
        deviation on time in weeks), ``se`` (cluster-robust over conversations), ``ci_low``,
        ``ci_high``, ``p_value`` (two-sided t, ``G - 1`` df; NaN with fewer than 3
        conversations), ``small_sample`` (``n_conversations < 30``).
        ``by_period=True``: ``reviewer_id, category, period, n, n_conversations, bias_steps, se,
        ci_low, ci_high, small_sample`` (the cluster-robust mean of :func:`reviewer_bias` per period).

    Notes
    -----
    The deviation of reviewer ``r`` on unit ``u`` and category ``c`` is ``x_ruc - mean_{j != r}
    x_juc`` (leave-one-out consensus, as :func:`reviewer_bias`) or ``x_ruc - benchmark_uc``.  The
    trend is the least-squares slope of the deviations on ``reviewed_at`` in weeks; its standard
    error is clustered by conversation (CR1), because a reviewer's deviations on the categories of
    one conversation move together.  A slope whose interval excludes 0 is drift: a reviewer
    growing stricter (negative) or more lenient (positive) than the others over time.

    Examples
    --------
    >>> r = pd.DataFrame({
    ...     "review_id": [f"r{i}" for i in range(12)],
    ...     "conversation_id": ["c1", "c2", "c3", "c4"] * 3,
    ...     "reviewer_id": ["ann"] * 4 + ["bob"] * 4 + ["cy"] * 4,
    ...     "reviewed_at": pd.to_datetime(["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"] * 3),
    ...     "category": "Tone", "rating": [3, 3, 4, 4, 3, 3, 3, 3, 3, 3, 3, 3]})
    >>> reviewer_drift(r)[["reviewer_id", "bias_first_period", "bias_last_period", "trend_steps_per_week"]]
      reviewer_id  bias_first_period  bias_last_period  trend_steps_per_week
    0         ann                0.0               1.0                  0.40
    1         bob                0.0              -0.5                 -0.20
    2          cy                0.0              -0.5                 -0.20
    """
    level = check_level(level)
    check_choice("period", period, PERIODS)
    rows, excl, _ = _prepare(ratings, card=None, units=units, pooled=False, categories=categories)
    src = S.check(ratings, CALIBRATION_RATINGS)[0]
    if S.REVIEWED_AT not in src.columns:
        raise ParameterError("reviewer_drift needs the reviewed_at column (when each rating was given); "
                             f"columns: {sorted(map(str, ratings.columns))}")
    when = pd.Series(src[S.REVIEWED_AT].to_numpy(),
                     index=src[S.REVIEW_ID].astype("str").str.cat(src[S.CATEGORY].astype("str"), sep=" / "))
    when = when[~when.index.duplicated()]
    rows = rows.assign(_t=rows[_RID].map(when))
    if benchmark is not None:
        ids = _benchmark_ids(benchmark, rows[_REV])
        rows, more = _against_benchmark(rows, ids)
        excl += more
        rows = rows.assign(_d=rows[_VAL] - rows["_bench"])
    else:
        grp = rows.groupby([_KEY, _UNIT], sort=False)[_VAL]
        tot, cnt = grp.transform("sum"), grp.transform("size")
        rows = rows.assign(_d=rows[_VAL] - (tot - rows[_VAL]) / (cnt - 1))
    undated = rows["_t"].isna()
    if undated.any():
        excl.append(("no reviewed_at: the rating cannot be placed in time", S.REVIEWED_AT, rows.loc[undated, _RID]))
    rows = rows[~undated]
    if rows.empty:
        raise ParameterError("no rating with a reviewed_at and a comparison rating: nothing to trend")
    t = rows["_t"].dt.tz_convert("UTC").dt.tz_localize(None)
    rows = rows.assign(_x=(t - t.min()).dt.total_seconds() / (7 * 86400.0),
                       _p=t.dt.to_period(period).dt.start_time,
                       **{S.CATEGORY: rows[_KEY] if by_category else ALL})
    if by_period:
        m = _cluster_mean(rows, "_d", [_REV, S.CATEGORY, "_p"], S.CONVERSATION_ID, level)
        out = pd.DataFrame({
            S.REVIEWER_ID: m.index.get_level_values(0).astype("str"),
            S.CATEGORY: m.index.get_level_values(1).astype("str"),
            PERIOD: m.index.get_level_values(2),
            S.N: m[S.N].to_numpy(), N_CONVERSATIONS: m[N_CONVERSATIONS].to_numpy(),
            BIAS_STEPS: m["mean"].to_numpy(), S.SE: m["se"].to_numpy(),
            S.CI_LOW: m["lo"].to_numpy(), S.CI_HIGH: m["hi"].to_numpy()})
        out[S.SMALL_SAMPLE] = out[N_CONVERSATIONS] < MIN_N
        return _record(out[DRIFT_PERIOD_COLUMNS], excl)
    groups = [_REV, S.CATEGORY]
    pm = rows.groupby(groups + ["_p"], sort=True)["_d"].mean()
    first = pm.groupby(level=[0, 1], sort=True).first()
    last = pm.groupby(level=[0, 1], sort=True).last()
    slope = _cluster_slope(rows, groups, S.CONVERSATION_ID, level)
    g = rows.groupby(groups, sort=True)
    out = pd.DataFrame({
        S.REVIEWER_ID: slope.index.get_level_values(0).astype("str"),
        S.CATEGORY: slope.index.get_level_values(1).astype("str"),
        S.N: g.size().to_numpy(), N_CONVERSATIONS: g[S.CONVERSATION_ID].nunique().to_numpy(),
        N_PERIODS: g["_p"].nunique().to_numpy(), FIRST_BIAS: first.to_numpy(), LAST_BIAS: last.to_numpy(),
        TREND: slope["b"].to_numpy(), S.SE: slope["se"].to_numpy(), S.CI_LOW: slope["lo"].to_numpy(),
        S.CI_HIGH: slope["hi"].to_numpy(), S.P_VALUE: slope["p"].to_numpy()})
    out[S.SMALL_SAMPLE] = out[N_CONVERSATIONS] < MIN_N
    return _record(out[DRIFT_COLUMNS], excl)


# --- the public API: every function listed here is decorated with @public on its def (shared parameters
# checked by name; every result stamped with its exclusion record) -----------------------------------
__all__ = [
    "agreement",
    "gwet_ac",
    "benchmark_verdict",
    "cohen_kappa",
    "pairwise_kappa",
    "reviewer_bias",
    "consensus",
    "benchmark_alignment",
    "reviewer_drift",
]
