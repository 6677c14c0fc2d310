"""Review sampling plans and the IQS estimator that honours them.

Every plan takes a candidates table (conversations that could be reviewed) and a ``seed``, and
returns the selected rows with ``inclusion_prob`` (the probability the plan gave that
conversation) and ``weight = 1 / inclusion_prob``:

- :func:`sample_random`: simple random sample of n (``pi = n / N``).
- :func:`sample_stratified`: n per stratum, e.g. 5 per agent per week (``pi = n_h / N_h``);
  strata with fewer candidates are taken whole and itemised.
- :func:`sample_risk_based`: oversample risky conversations (low CSAT, escalated, long handle or
  resolution time) with probability proportional to a risk score (Poisson sampling with
  ``pi_i = min(1, c * risk_i)``, ``c`` set so the expected size is n).

:func:`weighted_iqs` then estimates the *population* IQS from the reviewed sample with the Hajek
estimator ``sum(w y) / sum(w)``, so a risk-based sample (which over-represents bad
conversations on purpose) still estimates the IQS of all conversations without bias.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from . import schema as S
from .errors import ParameterError
from .intervals import as_by, check_by, check_level

INCLUSION_PROB = "inclusion_prob"
WEIGHT = "weight"
RISK = "risk"
N_EFFECTIVE = "n_effective"
WEEK = "week"


def _check_n(n, N: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"n must be a positive integer; got {n!r}")
    if n > N:
        raise ParameterError(f"n={n} is larger than the {N} candidate conversations")
    return int(n)


def sample_random(conversations: pd.DataFrame, *, n: int, seed: int) -> pd.DataFrame:
    """Simple random sample of ``n`` conversations without replacement.

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": [f"c{i}" for i in range(10)]})
    >>> s = sample_random(conv, n=4, seed=1)
    >>> len(s), float(s["inclusion_prob"].iloc[0]), float(s["weight"].iloc[0])
    (4, 0.4, 2.5)
    """
    n = _check_n(n, len(conversations))
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(conversations), size=n, replace=False))
    out = conversations.iloc[idx].copy()
    out[INCLUSION_PROB] = n / len(conversations)
    out[WEIGHT] = 1 / out[INCLUSION_PROB]
    return out.reset_index(drop=True)


def sample_stratified(
    conversations: pd.DataFrame,
    *,
    per_group: int = 5,
    by: str | Sequence[str] = (S.AGENT_ID, WEEK),
    seed: int,
) -> pd.DataFrame:
    """``per_group`` conversations from every stratum (default: per agent per week).

    ``week`` (the Monday of ``created_at``'s week) is derived when named in ``by`` and absent.
    Strata with fewer candidates than ``per_group`` are taken whole (``inclusion_prob`` 1) and
    itemised in :func:`qakit.schema.exclusions` ("stratum smaller than per_group").

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": list("abcdefg"), "agent_id": list("xxxxxyy")})
    >>> s = sample_stratified(conv, per_group=2, by="agent_id", seed=0)
    >>> s.groupby("agent_id")["inclusion_prob"].first().tolist()  # 2/5 and 2/2
    [0.4, 1.0]
    """
    if isinstance(per_group, bool) or not isinstance(per_group, (int, np.integer)) or per_group < 1:
        raise ParameterError(f"per_group must be a positive integer; got {per_group!r}")
    keys = as_by(by)
    df = conversations.copy()
    if WEEK in keys and WEEK not in df.columns:
        ts = S.parse_datetimes(df[S.CREATED_AT], column=S.CREATED_AT)
        df[WEEK] = ts.dt.tz_localize(None).dt.to_period("W").dt.start_time
    check_by(df, keys, "conversations")
    rng = np.random.default_rng(seed)
    df["_u"] = rng.random(len(df))
    rank = df.groupby(keys, sort=False, observed=True)["_u"].rank(method="first")
    size = df.groupby(keys, sort=False, observed=True)["_u"].transform("size")
    take = rank <= per_group
    out = df[take].drop(columns="_u").copy()
    out[INCLUSION_PROB] = np.minimum(per_group, size[take]) / size[take]
    out[WEIGHT] = 1 / out[INCLUSION_PROB]
    out = out.sort_index().reset_index(drop=True)
    id_col = S.CONVERSATION_ID if S.CONVERSATION_ID in df.columns else df.columns[0]
    S.add_exclusion(out, f"stratum smaller than per_group={per_group}: taken whole", ",".join(keys),
                    df.loc[take & (size < per_group), id_col])
    return out


def risk_score(
    conversations: pd.DataFrame,
    *,
    surveys: pd.DataFrame | None = None,
    weights: dict[str, float] | None = None,
) -> pd.Series:
    """A documented risk score per conversation (>= 1; 1 = no risk signal).

    ``risk = 1 + 3 [CSAT <= 2] + 2 [escalated] + 1 [handle time in the top 10 %]
    + 1 [resolution time in the top 10 %]`` (weights overridable with ``weights`` keys
    ``low_csat``, ``escalated``, ``long_handle``, ``long_resolution``). Missing signals count 0.
    """
    w = {"low_csat": 3.0, "escalated": 2.0, "long_handle": 1.0, "long_resolution": 1.0}
    unknown = sorted(set(weights or {}) - set(w))
    if unknown:
        raise ParameterError(f"unknown risk weight(s) {unknown}; allowed: {sorted(w)}")
    w.update(weights or {})
    for k, v in w.items():
        if not (isinstance(v, (int, float)) and v >= 0):
            raise ParameterError(f"risk weight {k!r} must be a number >= 0; got {v!r}")
    risk = pd.Series(1.0, index=conversations.index)
    if surveys is not None:
        sv = S.validate(surveys, "surveys")
        low = sv[sv[S.KIND].eq("csat") & sv[S.SCORE].le(2)][S.CONVERSATION_ID]
        risk += w["low_csat"] * conversations[S.CONVERSATION_ID].astype("str").isin(set(low))
    if S.ESCALATED in conversations.columns:
        risk += w["escalated"] * conversations[S.ESCALATED].fillna(False).astype(bool)
    if S.HANDLE_TIME_S in conversations.columns:
        h = conversations[S.HANDLE_TIME_S]
        risk += w["long_handle"] * (h > h.quantile(0.9)).fillna(False).astype(bool)
    if {S.CREATED_AT, S.RESOLVED_AT} <= set(conversations.columns):
        c = S.parse_datetimes(conversations[S.CREATED_AT], column=S.CREATED_AT)
        r = S.parse_datetimes(conversations[S.RESOLVED_AT], column=S.RESOLVED_AT)
        d = (r - c).dt.total_seconds()
        risk += w["long_resolution"] * (d > d.quantile(0.9)).fillna(False).astype(bool)
    return risk.rename(RISK)


def sample_risk_based(
    conversations: pd.DataFrame,
    *,
    n: int,
    seed: int,
    risk: pd.Series | None = None,
    surveys: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Poisson sampling with inclusion probability proportional to a risk score.

    ``pi_i = min(1, c * risk_i)`` with ``c`` solved (bisection) so that ``sum(pi) = n``; each
    conversation is then included independently with probability ``pi_i`` (the realised size
    varies around ``n``). ``risk`` defaults to :func:`risk_score` (needs ``surveys`` for the
    low-CSAT signal). Returns the sample with ``risk``, ``inclusion_prob`` and ``weight``.

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": [f"c{i}" for i in range(1000)]})
    >>> r = pd.Series(np.where(np.arange(1000) < 100, 5.0, 1.0))
    >>> s = sample_risk_based(conv, n=140, seed=0, risk=r)
    >>> sorted(s["inclusion_prob"].round(4).unique().tolist())  # c = 140 / (100*5 + 900) = 0.1
    [0.1, 0.5]
    """
    N = len(conversations)
    n = _check_n(n, N)
    r = risk_score(conversations, surveys=surveys) if risk is None else pd.Series(risk).reset_index(drop=True)
    if len(r) != N:
        raise ParameterError(f"risk has {len(r)} values for {N} conversations")
    rv = r.to_numpy(dtype=float)
    if not np.isfinite(rv).all() or (rv <= 0).any():
        bad = np.flatnonzero(~np.isfinite(rv) | (rv <= 0))[:5]
        raise ParameterError(f"risk scores must be positive and finite; bad at positions {bad.tolist()}: "
                             f"{rv[bad].tolist()}")
    lo, hi = 0.0, n / rv.min()
    for _ in range(200):  # sum(min(1, c r)) is increasing in c
        c = (lo + hi) / 2
        if np.minimum(1, c * rv).sum() < n:
            lo = c
        else:
            hi = c
    pi = np.minimum(1.0, hi * rv)
    rng = np.random.default_rng(seed)
    take = rng.random(N) < pi
    out = conversations.reset_index(drop=True)[take].copy()
    out[RISK] = rv[take]
    out[INCLUSION_PROB] = pi[take]
    out[WEIGHT] = 1 / pi[take]
    return out.reset_index(drop=True)


def weighted_iqs(
    scores: pd.DataFrame,
    *,
    weights: str = WEIGHT,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Population IQS from a weighted review sample (Hajek estimator) with a CI.

    Parameters
    ----------
    scores : pandas.DataFrame
        Review scores (``iqs``) carrying the sampling ``weight`` of each reviewed conversation
        (merge the sample's ``weight`` onto :meth:`qakit.Scorecard.score` by conversation_id).
    weights : str, default="weight"
    by : str or list of str, optional
    level : float, default=0.95

    Returns
    -------
    pandas.DataFrame
        ``*by, n, iqs, ci_low, ci_high, se, n_effective``.

    Notes
    -----
    ``IQS_w = sum(w_i y_i) / sum(w_i)``; linearisation variance (Sarndal, Swensson & Wretman
    1992, 5.7; with-replacement approximation) ``v = n/(n-1) * sum(w_i^2 (y_i - IQS_w)^2) /
    (sum w_i)^2``; CI ``IQS_w +/- t_{n-1} sqrt(v)``. Kish's effective sample size
    ``(sum w)^2 / sum w^2`` says how much the unequal weights cost in precision.

    Examples
    --------
    >>> s = pd.DataFrame({"iqs": [100.0, 50.0, 0.0], "weight": [1.0, 1.0, 2.0]})
    >>> r = weighted_iqs(s)
    >>> float(r["iqs"].iloc[0]), float(r["n_effective"].iloc[0])  # 150 / 4; 16 / 6
    (37.5, 2.6666666666666665)
    """
    level = check_level(level)
    keys = as_by(by)
    check_by(scores, keys + [weights, S.IQS], "scores")
    d = scores[scores[S.IQS].notna()].copy()
    w = d[weights].to_numpy(dtype=float)
    if not np.isfinite(w).all() or (w <= 0).any():
        raise ParameterError(f"column {weights!r} must hold positive finite sampling weights")
    d["_w"] = w
    d["_wy"] = w * d[S.IQS].to_numpy(dtype=float)
    groups = [((), d)] if not keys else list(d.groupby(keys, sort=True, observed=True))
    rows = []
    for key, g in groups:  # one pass per group (few groups), vectorised inside
        wv, yv = g["_w"].to_numpy(), g[S.IQS].to_numpy(dtype=float)
        n = len(g)
        est = float((wv * yv).sum() / wv.sum())
        var = n / (n - 1) * float((wv**2 * (yv - est) ** 2).sum()) / wv.sum() ** 2 if n > 1 else np.nan
        se = np.sqrt(var)
        t = stats.t.ppf((1 + level) / 2, n - 1) if n > 1 else np.nan
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        row.update({S.N: n, S.IQS: est, S.CI_LOW: est - t * se, S.CI_HIGH: est + t * se, S.SE: se,
                    N_EFFECTIVE: float(wv.sum() ** 2 / (wv**2).sum())})
        rows.append(row)
    return pd.DataFrame(rows, columns=keys + [S.N, S.IQS, S.CI_LOW, S.CI_HIGH, S.SE, N_EFFECTIVE])
