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
from .errors import ParameterError, Problems, UndefinedMetricWarning, check_choice
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

AGREEMENT_COLUMNS = [S.CATEGORY, N_UNITS, N_REVIEWERS, N_RATINGS, ALPHA, S.CI_LOW, S.CI_HIGH,
                     FLEISS_KAPPA, S.BAND, S.SMALL_SAMPLE]
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
) -> tuple[pd.DataFrame, list[tuple[str, str, pd.Series]], dict[str, np.ndarray | None]]:
    """Validate and reshape ratings to ``(_key, _unit, _reviewer, _value, _row_id)``.

    Returns the rated, pairable rows (every unit rated by >= 2 reviewers in its key), the
    exclusions to record (reason, column, row ids) and, per key, the value domain (the card's
    scale values, or None = the observed values).
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
    out = out[~single]
    if out.empty:
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
) -> pd.DataFrame:
    """Inter-reviewer agreement: Krippendorff's alpha with a bootstrap CI, and Fleiss' kappa.

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

    Returns
    -------
    pandas.DataFrame
        ``category`` (or ``"all"``), ``n_units`` (units rated by >= 2 reviewers), ``n_reviewers``
        (reviewers with a pairable rating), ``n_ratings`` (pairable values), ``alpha``,
        ``ci_low``/``ci_high`` (percentile bootstrap over units), ``fleiss_kappa`` (nominal),
        ``band`` (``reliable``/``tentative``/``unreliable`` from alpha; missing when alpha is NaN),
        ``small_sample`` (``n_units < 30``).  ``attrs`` carries the exclusions (N/A ratings,
        units rated once) and ``metric``.

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
    level = check_level(level)
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 0:
        raise ParameterError(f"n_resamples must be an integer >= 0; got {n_resamples!r}")
    rows, excl, domains = _prepare(ratings, card=card, units=units, pooled=not by_category)
    rng = np.random.default_rng(seed)
    keys = list(pd.unique(rows[_KEY]))
    if by_category and card is not None:
        order = {n: i for i, n in enumerate(card.category_names)}
        keys.sort(key=lambda k: order.get(k, len(order)))
    records = []
    for key in _progress(keys, enabled=progress, desc="agreement", total=len(keys)):
        sub = rows[rows[_KEY].eq(key)]
        counts, values = _unit_counts(sub, domains.get(key))
        rec = {S.CATEGORY: key, N_UNITS: len(counts), N_REVIEWERS: sub[_REV].nunique(),
               N_RATINGS: int(counts.sum()), ALPHA: np.nan, S.CI_LOW: np.nan, S.CI_HIGH: np.nan,
               FLEISS_KAPPA: np.nan}
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
        records.append(rec)
    out = pd.DataFrame.from_records(records, columns=AGREEMENT_COLUMNS[:-2])
    out[S.BAND] = _band(out[ALPHA].to_numpy(), ALPHA_BANDS)
    out[S.SMALL_SAMPLE] = out[N_UNITS] < MIN_N
    out.attrs["metric"] = metric
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


# --- the public API: every function listed here is decorated with @public on its def (shared parameters
# checked by name; every result stamped with its exclusion record) -----------------------------------
__all__ = [
    "agreement",
    "cohen_kappa",
    "pairwise_kappa",
    "reviewer_bias",
    "consensus",
]
