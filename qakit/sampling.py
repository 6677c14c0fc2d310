"""Review sampling plans and the IQS estimator that honours them.

Every plan takes a candidates table (conversations that could be reviewed) and a ``seed``, and
returns the selected rows with ``inclusion_prob`` (the probability ``pi_i`` the plan gave that
conversation) and ``weight = 1 / inclusion_prob``:

- :func:`sample_random`: simple random sample of ``n`` (``pi = n / N``).
- :func:`sample_stratified`: ``per_group`` per stratum, e.g. 5 per agent per week
  (``pi = n_h / N_h``); strata with fewer candidates are taken whole and itemised.
- :func:`sample_risk_based`: oversample risky conversations (low CSAT, escalated, long handle or
  resolution time; :func:`risk_score`) with probability proportional to the risk score,
  ``pi_i = min(1, c * risk_i)`` with ``sum(pi) = n`` (:func:`inclusion_probabilities`), drawn by
  randomised systematic PPS (exactly ``n`` rows) or Poisson sampling.

:func:`weighted_iqs` then estimates the *population* IQS from the reviewed sample with the Hajek
estimator ``sum(w y) / sum(w)``, so a risk-based sample (which over-represents bad
conversations on purpose) still estimates the IQS of all conversations without bias, while the
plain mean of the reviewed scores does not.

Workflow::

    plan = sample_risk_based(conversations, n=500, seed=1, surveys=surveys)
    # ... reviewers score the planned conversations ...
    scores = card.score(ratings).merge(plan[["conversation_id", "weight"]], on="conversation_id")
    weighted_iqs(scores)
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from . import schema as S
from ._public import public
from .errors import ParameterError, Problems, UndefinedMetricWarning, check_choice
from .intervals import MIN_N, as_by, check_by, check_level

INCLUSION_PROB = "inclusion_prob"
WEIGHT = "weight"
RISK = "risk"
N_EFFECTIVE = "n_effective"
N_POPULATION = "n_population"
WEEK = "week"

RISK_METHODS = ("systematic", "poisson")
#: default weights of the risk signals in :func:`risk_score`
RISK_WEIGHTS = {"low_csat": 3.0, "escalated": 2.0, "long_handle": 1.0, "long_resolution": 1.0}


# --- helpers ---------------------------------------------------------------------------------
def _check_int(name: str, value, *, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ParameterError(f"{name} must be an integer >= {low}; got {value!r}")
    return int(value)


def _check_n(n, N: int) -> int:
    n = _check_int("n", n)
    if n > N:
        raise ParameterError(f"n={n} is larger than the {N} candidate conversations")
    return n


#: the candidate table of a sampling plan: its ids follow the data contract (whitespace and Unicode
#: form normalised and itemised, case/width collisions refused), one row per conversation
_CANDIDATE_IDS = (S.CONVERSATION_ID, S.CUSTOMER_ID, S.AGENT_ID, S.TEAM)


def _check_candidates(conversations: pd.DataFrame) -> pd.DataFrame:
    """The candidates with contract ids: unique, non-missing ``conversation_id`` (the key reviews
    merge on), and agent/customer/team ids normalised like every qakit table (so ``'A1 '`` and
    ``'A1'`` are one stratum, with an adjustment in the record)."""
    if not isinstance(conversations, pd.DataFrame):
        raise ParameterError(f"conversations must be a pandas DataFrame; got {type(conversations).__name__}")
    if S.CONVERSATION_ID not in conversations.columns:
        raise ParameterError(
            f"conversations needs a {S.CONVERSATION_ID!r} column; available: "
            f"{sorted(map(str, conversations.columns))}"
        )
    present = [c for c in _CANDIDATE_IDS if c in conversations.columns]
    spec = S.Table("conversations", tuple(S.Column(c, "id", nullable=c != S.CONVERSATION_ID) for c in present),
                   unique=(S.CONVERSATION_ID,), row_id=S.CONVERSATION_ID)
    return S.validate(conversations, spec)


def _finish(picked: pd.DataFrame, pi: np.ndarray) -> pd.DataFrame:
    out = picked.copy()
    out[INCLUSION_PROB] = np.asarray(pi, dtype=float)
    out[WEIGHT] = 1.0 / out[INCLUSION_PROB]
    return out.reset_index(drop=True)


# --- plans -----------------------------------------------------------------------------------
@public
def sample_random(conversations: pd.DataFrame, *, n: int, seed: int) -> pd.DataFrame:
    """Simple random sample of ``n`` conversations without replacement.

    Parameters
    ----------
    conversations : pandas.DataFrame
        Candidates, one row per conversation (unique ``conversation_id``).
    n : int
        Sample size (``1 <= n <= N``).
    seed : int
        Seed of ``numpy.random.default_rng``; same seed, same sample.

    Returns
    -------
    pandas.DataFrame
        The selected rows (in candidate order) plus ``inclusion_prob`` (``n / N``) and ``weight``
        (``N / n``).

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": [f"c{i}" for i in range(10)]})
    >>> s = sample_random(conv, n=4, seed=1)
    >>> len(s), float(s["inclusion_prob"].iloc[0]), float(s["weight"].iloc[0])
    (4, 0.4, 2.5)
    """
    conversations = _check_candidates(conversations)
    N = len(conversations)
    n = _check_n(n, N)
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(N, size=n, replace=False))
    return _finish(conversations.iloc[idx], np.full(n, n / N))


@public
def sample_stratified(
    conversations: pd.DataFrame,
    *,
    per_group: int = 5,
    by: str | Sequence[str] = (S.AGENT_ID, WEEK),
    seed: int,
) -> pd.DataFrame:
    """``per_group`` conversations from every stratum (default: per agent per week).

    Parameters
    ----------
    conversations : pandas.DataFrame
        Candidates (unique ``conversation_id``).
    per_group : int, default=5
        Conversations drawn per stratum, without replacement.
    by : str or list of str, default=("agent_id", "week")
        Strata. ``week`` (the Monday 00:00 UTC starting ``created_at``'s week, as
        ``iqs_score(period="W")`` labels periods) is derived when named here and absent.
    seed : int

    Returns
    -------
    pandas.DataFrame
        The selected rows (candidate order) with the ``by`` columns (``week`` added if derived),
        ``inclusion_prob`` = ``n_h / N_h`` (``n_h = min(per_group, N_h)``) and ``weight``.
        Strata with fewer than ``per_group`` candidates are taken whole (``inclusion_prob`` 1);
        their rows are listed in :func:`qakit.schema.exclusions` of the result ("stratum smaller
        than per_group"), as are candidates that cannot be placed in a stratum (missing key),
        which are not sampled.

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": list("abcdefg"), "agent_id": list("xxxxxyy")})
    >>> s = sample_stratified(conv, per_group=2, by="agent_id", seed=0)
    >>> s.groupby("agent_id")["inclusion_prob"].first().tolist()  # 2/5 and 2/2
    [0.4, 1.0]
    """
    conversations = _check_candidates(conversations)
    per_group = _check_int("per_group", per_group)
    keys = as_by(by)
    if not keys:
        raise ParameterError("by must name at least one stratum column (e.g. 'agent_id')")
    df = conversations.copy()
    if WEEK in keys and WEEK not in df.columns:
        if S.CREATED_AT not in df.columns:
            raise ParameterError(f"stratifying by week needs a {S.CREATED_AT!r} column (or a 'week' column)")
        p = Problems("conversations", row_ids=df[S.CONVERSATION_ID].astype("str"))
        ts = S.parse_datetimes(df[S.CREATED_AT], column=S.CREATED_AT, problems=p)
        p.raise_if_any()
        df[WEEK] = ts.dt.tz_localize(None).dt.to_period("W").dt.start_time
    check_by(df, keys, "conversations")
    no_key = df[keys].isna().any(axis=1).to_numpy()
    rng = np.random.default_rng(seed)
    u = pd.Series(rng.random(len(df)), index=df.index)
    g = u.groupby([df[k] for k in keys], sort=False, observed=True)  # NaN keys: NaN rank, not taken
    rank = g.rank(method="first")
    size = g.transform("size")
    take = (rank <= per_group).to_numpy()
    N_h = size.to_numpy(dtype=float)[take]
    out = _finish(df[take], np.minimum(per_group, N_h) / N_h)
    ids = df[S.CONVERSATION_ID]
    small = take & (size.to_numpy(dtype=float) < per_group)
    S.add_exclusion(out, f"stratum smaller than per_group={per_group}: taken whole (inclusion_prob 1)",
                    ",".join(keys), ids[small])
    S.add_exclusion(out, "missing stratum key: not sampled", ",".join(keys), ids[no_key])
    return out


def _present_contract(conversations: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Validate (and coerce) just the contract columns the risk score reads."""
    spec = S.get_table("conversations")
    cols = tuple(c for c in spec.columns
                 if c.name == S.CONVERSATION_ID or (c.name in columns and c.name in conversations.columns))
    sub = S.Table("conversations", cols, unique=spec.unique, row_id=spec.row_id)
    return S.validate(conversations[[c.name for c in cols if c.name in conversations.columns]], sub)


@public
def risk_score(
    conversations: pd.DataFrame,
    *,
    surveys: pd.DataFrame | None = None,
    weights: Mapping[str, float] | None = None,
    low_csat: float = 2.0,
    top_share: float = 0.10,
) -> pd.Series:
    """A documented risk score per conversation (>= 1; 1 = no risk signal).

    Parameters
    ----------
    conversations : pandas.DataFrame
        Candidates; uses ``escalated``, ``handle_time_s``, ``created_at`` and ``resolved_at``
        when present (validated against the conversations contract).
    surveys : pandas.DataFrame, optional
        Surveys table; a CSAT answer ``<= low_csat`` is a risk signal.
    weights : mapping, optional
        Override the signal weights ``low_csat`` (3), ``escalated`` (2), ``long_handle`` (1),
        ``long_resolution`` (1).
    low_csat : float, default=2
        CSAT answers at or below this are "low" (2 on a 1-5 scale).
    top_share : float, default=0.10
        "Long" = in the top ``top_share`` of the candidates' handle / resolution times.

    Returns
    -------
    pandas.Series
        Named ``risk``, indexed like ``conversations``.

    Notes
    -----
    ``risk = 1 + 3 [CSAT <= 2] + 2 [escalated] + 1 [handle_time_s > q_0.9]
    + 1 [resolved_at - created_at > q_0.9]``, quantiles over the candidates with a value.
    A missing signal (no survey, unknown escalation, unresolved) counts 0, so the score is
    between 1 and 8. The baseline 1 keeps every conversation reviewable (``pi > 0``), which the
    weighting needs to be unbiased.

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": ["a", "b", "c"], "escalated": [True, False, None]})
    >>> sv = pd.DataFrame({"conversation_id": ["b"], "kind": ["csat"], "score": [1],
    ...                    "answered_at": ["2026-01-05"]})
    >>> risk_score(conv, surveys=sv).tolist()  # a: 1 + 2; b: 1 + 3; c: 1
    [3.0, 4.0, 1.0]
    """
    conversations = _check_candidates(conversations)
    w = dict(RISK_WEIGHTS)
    unknown = sorted(set(weights or {}) - set(w))
    if unknown:
        raise ParameterError(f"unknown risk weight(s) {unknown}; allowed: {sorted(w)}")
    w.update(weights or {})
    for k, v in w.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
            raise ParameterError(f"risk weight {k!r} must be a finite number >= 0; got {v!r}")
    if not (isinstance(top_share, (int, float)) and 0 < top_share < 1):
        raise ParameterError(f"top_share must be strictly between 0 and 1; got {top_share!r}")
    conv = _present_contract(conversations, [S.ESCALATED, S.HANDLE_TIME_S, S.CREATED_AT, S.RESOLVED_AT])
    risk = np.ones(len(conv))
    if surveys is not None:
        sv = S.validate(surveys, "surveys")
        low = sv.loc[sv[S.KIND].eq("csat") & sv[S.SCORE].le(low_csat), S.CONVERSATION_ID]
        risk += w["low_csat"] * conv[S.CONVERSATION_ID].isin(set(low)).to_numpy()
    if S.ESCALATED in conv.columns:
        risk += w["escalated"] * conv[S.ESCALATED].fillna(False).to_numpy(dtype=bool)
    q = 1 - top_share
    if S.HANDLE_TIME_S in conv.columns:
        h = conv[S.HANDLE_TIME_S]
        risk += w["long_handle"] * (h > h.quantile(q)).to_numpy(dtype=bool)
    if {S.CREATED_AT, S.RESOLVED_AT} <= set(conv.columns):
        d = (conv[S.RESOLVED_AT] - conv[S.CREATED_AT]).dt.total_seconds()
        risk += w["long_resolution"] * (d > d.quantile(q)).to_numpy(dtype=bool)
    return pd.Series(risk, index=conversations.index, name=RISK)


@public
def inclusion_probabilities(size: np.ndarray, n: int) -> np.ndarray:
    """Inclusion probabilities proportional to ``size`` for an expected sample size ``n``.

    ``pi_i = min(1, c * size_i)`` with ``c`` such that ``sum(pi) = n``: units whose share would
    exceed 1 are taken with certainty and the rest share the remaining ``n - #certain``
    proportionally to size, repeated until no share exceeds 1 (Sarndal, Swensson & Wretman
    1992, 3.6.2).

    Examples
    --------
    >>> inclusion_probabilities(np.array([10.0, 1, 1, 1, 1]), 2).tolist()  # 10 capped; 1 left for 4
    [1.0, 0.25, 0.25, 0.25, 0.25]
    """
    x = np.asarray(size, dtype=float)
    N = len(x)
    n = _check_n(n, N)
    if not np.isfinite(x).all() or (x <= 0).any():
        bad = np.flatnonzero(~np.isfinite(x) | (x <= 0))[:5]
        raise ParameterError(f"risk scores must be positive and finite; bad at positions {bad.tolist()}: "
                             f"{x[bad].tolist()}")
    certain = np.zeros(N, dtype=bool)
    while True:  # at most a few rounds: each one moves >= 1 unit to the certainty stratum
        rest = ~certain
        m = n - certain.sum()
        share = m * x[rest] / x[rest].sum()
        over = share >= 1
        if not over.any() or m == 0:
            pi = np.ones(N)
            pi[rest] = np.minimum(share, 1.0)
            return pi
        certain[np.flatnonzero(rest)[over]] = True


def _systematic(pi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Randomised systematic PPS (Goodman & Kish 1950; Hartley & Rao 1962): shuffle the units,
    lay their ``pi`` end to end and take the units hit by ``u, u+1, ..., u+m-1``
    (``u ~ U(0, 1)``). Certain units (``pi = 1``) are taken directly. Returns a boolean mask."""
    take = pi >= 1
    rest = np.flatnonzero(~take)
    m = int(round(pi[rest].sum()))
    if m > 0:
        order = rest[rng.permutation(len(rest))]
        cum = np.cumsum(pi[order])
        cum *= m / cum[-1]  # guard rounding: the total is exactly m
        hits = np.searchsorted(cum, rng.random() + np.arange(m), side="right")
        take[order[np.minimum(hits, len(order) - 1)]] = True
    return take


@public
def sample_risk_based(
    conversations: pd.DataFrame,
    *,
    n: int,
    seed: int,
    risk: pd.Series | np.ndarray | str | None = None,
    surveys: pd.DataFrame | None = None,
    method: str = "systematic",
) -> pd.DataFrame:
    """Sample with inclusion probability proportional to a risk score (oversample risky ones).

    Parameters
    ----------
    conversations : pandas.DataFrame
        Candidates (unique ``conversation_id``).
    n : int
        Sample size (exact for ``"systematic"``, expected for ``"poisson"``).
    seed : int
    risk : Series, array or column name, optional
        Positive size measure per candidate (a Series must be indexed like
        ``conversations``). Default :func:`risk_score` (pass ``surveys`` for the CSAT signal).
    surveys : pandas.DataFrame, optional
        Passed to :func:`risk_score` when ``risk`` is not given.
    method : {"systematic", "poisson"}, default="systematic"
        ``"systematic"``: randomised systematic PPS, exactly ``n`` rows. ``"poisson"``: each
        candidate included independently with probability ``pi_i`` (size varies around ``n``).

    Returns
    -------
    pandas.DataFrame
        Selected rows (candidate order) plus ``risk``, ``inclusion_prob`` and ``weight``.

    Notes
    -----
    ``pi_i = min(1, c * risk_i)``, ``sum(pi) = n`` (:func:`inclusion_probabilities`). Both
    methods give every candidate exactly this inclusion probability, so ``weight = 1 / pi``
    makes :func:`weighted_iqs` unbiased for the IQS of all candidates.

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": [f"c{i}" for i in range(1000)]})
    >>> r = np.where(np.arange(1000) < 100, 5.0, 1.0)
    >>> s = sample_risk_based(conv, n=140, seed=0, risk=r)
    >>> len(s), sorted(s["inclusion_prob"].round(4).unique().tolist())  # c = 140 / (100*5 + 900)
    (140, [0.1, 0.5])
    """
    conversations = _check_candidates(conversations)
    check_choice("method", method, RISK_METHODS)
    N = len(conversations)
    n = _check_n(n, N)
    if risk is None:
        r = risk_score(conversations, surveys=surveys).to_numpy()
    elif isinstance(risk, str):
        check_by(conversations, [risk], "conversations")
        r = pd.to_numeric(conversations[risk], errors="coerce").to_numpy(dtype=float)
    elif isinstance(risk, pd.Series):
        if not risk.index.equals(conversations.index):
            raise ParameterError("risk must be indexed like conversations (e.g. the output of risk_score)")
        r = risk.to_numpy(dtype=float)
    else:
        r = np.asarray(risk, dtype=float)
    if r.shape != (N,):
        raise ParameterError(f"risk has {r.size} values for {N} conversations")
    pi = inclusion_probabilities(r, n)
    rng = np.random.default_rng(seed)
    take = _systematic(pi, rng) if method == "systematic" else rng.random(N) < pi
    picked = conversations[take].assign(**{RISK: r[take]})
    return _finish(picked, pi[take])


# --- estimation ------------------------------------------------------------------------------
@public
def weighted_iqs(
    scores: pd.DataFrame,
    *,
    weights: str = WEIGHT,
    by: str | Sequence[str] | None = None,
    value: str = S.IQS,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Population IQS from a weighted review sample (Hajek estimator) with a CI.

    Parameters
    ----------
    scores : pandas.DataFrame
        Review scores (``iqs``) carrying the sampling ``weight`` of each reviewed conversation
        (merge the plan's ``weight`` onto :meth:`qakit.Scorecard.score` by conversation_id).
    weights : str, default="weight"
        Column of sampling weights ``1 / pi`` (positive, finite).
    by : str or list of str, optional
        Domains (e.g. ``"team"``); each is estimated from its own reviews.
    value : str, default="iqs"
        Score column; the output column has the same name.
    level : float, default=0.95
    min_n : int, default=30
        Domains with fewer scored reviews are flagged ``small_sample``.

    Returns
    -------
    pandas.DataFrame
        ``*by, n, iqs, ci_low, ci_high, se, n_effective, n_population, small_sample``:
        ``n`` scored reviews, the Hajek estimate, its CI and linearisation SE, Kish's effective
        sample size, and ``n_population = sum(w)`` (the number of conversations the domain's
        reviews stand for). Reviews with a missing score are itemised in
        :func:`qakit.schema.exclusions`.

    Notes
    -----
    ``IQS_w = sum(w_i y_i) / sum(w_i)`` (Hajek). Linearisation variance with the
    with-replacement approximation (Sarndal, Swensson & Wretman 1992, Result 5.6.2 and 5.7):
    ``v = n / (n - 1) * sum(w_i^2 (y_i - IQS_w)^2) / (sum w_i)^2``, the estimator R's
    ``survey::svymean`` uses for a design with weights and no strata or fpc. CI
    ``IQS_w +/- t_{n-1} sqrt(v)``. It ignores stratification and the finite-population
    correction, which makes it slightly conservative for the plans in this module. Kish's
    ``n_eff = (sum w)^2 / sum w^2`` says how many equally weighted reviews would give the same
    precision. NaN (plus :class:`~qakit.errors.UndefinedMetricWarning`) where ``n < 2``.

    Examples
    --------
    Three reviews, scores 100, 50, 0 with weights 1, 1, 2: ``IQS_w = 150 / 4 = 37.5``;
    ``n_eff = 4^2 / (1 + 1 + 4) = 2.67``; ``v = 3/2 * (62.5^2 + 12.5^2 + 4 * 37.5^2) / 16
    = 3/2 * 9687.5 / 16 = 908.2``, ``se = 30.14``.

    >>> s = pd.DataFrame({"iqs": [100.0, 50.0, 0.0], "weight": [1.0, 1.0, 2.0]})
    >>> r = weighted_iqs(s)
    >>> r[["n", "iqs", "se", "n_effective", "n_population"]].round(2)
       n   iqs     se  n_effective  n_population
    0  3  37.5  30.14         2.67           4.0
    """
    level = check_level(level)
    min_n = _check_int("min_n", min_n, low=0)
    keys = as_by(by)
    check_by(scores, keys, "scores")
    for col, hint in ((value, "score the reviews with Scorecard.score first"),
                      (weights, "merge the sampling plan's weight onto the scores by conversation_id")):
        if col not in scores.columns:
            raise ParameterError(f"scores has no {col!r} column ({hint}); available: "
                                 f"{sorted(map(str, scores.columns))}")
    if value == S.IQS:
        scores = S.validate(scores, "scores")  # one row per review, finite scores
    id_col = next((c for c in (S.REVIEW_ID, S.CONVERSATION_ID) if c in scores.columns), None)
    ids = scores[id_col].astype("str") if id_col else pd.Series(scores.index.astype("str"), index=scores.index)
    y = pd.to_numeric(scores[value], errors="coerce")
    w = pd.to_numeric(scores[weights], errors="coerce")
    p = Problems("scores", row_ids=ids)
    p.add(value, "not a number", scores[value].notna() & y.isna(), scores[value])
    p.add(weights, "sampling weight must be a positive finite number (1 / inclusion_prob)",
          y.notna() & ~(np.isfinite(w) & (w > 0)), scores[weights])
    p.raise_if_any()
    ok = y.notna().to_numpy()
    d = scores.loc[ok, keys]
    wv, yv = w[ok].to_numpy(dtype=float), y[ok].to_numpy(dtype=float)
    if keys:
        g = d.groupby(keys, sort=True, observed=True, dropna=False)
        codes = g.ngroup().to_numpy()
        res = g.size().reset_index(name="n")  # same group order as ngroup's codes
    else:
        codes = np.zeros(len(d), dtype=np.int64)
        res = pd.DataFrame({"n": [len(d)]})
    G = len(res)
    sw = np.bincount(codes, weights=wv, minlength=G)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = np.bincount(codes, weights=wv * yv, minlength=G) / sw
    sr2 = np.bincount(codes, weights=(wv * (yv - est[codes])) ** 2, minlength=G)
    sw2 = np.bincount(codes, weights=wv**2, minlength=G)
    n = res["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = n / (n - 1) * sr2 / sw**2
        se = np.where(n >= 2, np.sqrt(var), np.nan)
        t = np.where(n >= 2, stats.t.ppf((1 + level) / 2, np.maximum(n - 1, 1)), np.nan)
        neff = sw**2 / sw2
    if (n < 2).any():
        warnings.warn(f"{int((n < 2).sum())} group(s) have fewer than 2 scored reviews: no standard "
                      "error or CI (NaN)", UndefinedMetricWarning, stacklevel=2)
    res[S.N] = res["n"].astype("int64")
    res[value] = est
    res[S.CI_LOW], res[S.CI_HIGH], res[S.SE] = est - t * se, est + t * se, se
    res[N_EFFECTIVE] = neff
    res[N_POPULATION] = sw
    res[S.SMALL_SAMPLE] = n < min_n
    out = res[keys + [S.N, value, S.CI_LOW, S.CI_HIGH, S.SE, N_EFFECTIVE, N_POPULATION, S.SMALL_SAMPLE]]
    out = out.reset_index(drop=True)
    S.add_exclusion(out, f"missing {value} (e.g. all categories N/A)", value, ids[~ok])
    return out


# --- the public API: every function listed here is decorated with @public on its def (shared parameters
# checked by name; every result stamped with its exclusion record) -----------------------------------
__all__ = [
    "sample_random",
    "sample_stratified",
    "risk_score",
    "inclusion_probabilities",
    "sample_risk_based",
    "weighted_iqs",
]
