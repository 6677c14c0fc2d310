"""Seeded synthetic ratings at benchmark scale (ids as pandas categoricals, as qakit's readers
produce with ``categorical=True``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qakit import Category, Scorecard

N_CATEGORIES = 10
CATEGORIES = [f"cat{j:02d}" for j in range(N_CATEGORIES)]


def card(n_categories: int = N_CATEGORIES) -> Scorecard:
    """2 critical binary categories, the rest 5-point, weights 0.5..2."""
    cats = []
    for j in range(n_categories):
        crit = j < 2
        cats.append(Category(CATEGORIES[j] if n_categories == N_CATEGORIES else f"cat{j:02d}",
                             weight=0.5 + (j % 4) * 0.5, critical=crit, scale="binary" if crit else 5))
    return Scorecard(cats)


def ratings(n_reviews: int, *, n_categories: int = N_CATEGORIES, n_agents: int = 1000, seed: int = 0,
            na_rate: float = 0.10) -> pd.DataFrame:
    """``n_reviews x n_categories`` long ratings; ~``na_rate`` N/A; binary critical categories
    fail in ~3 % of reviews."""
    rng = np.random.default_rng(seed)
    n = n_reviews * n_categories
    rev = np.repeat(np.arange(n_reviews, dtype=np.int32), n_categories)
    cat = np.tile(np.arange(n_categories, dtype=np.int8), n_reviews)
    agent_of_review = rng.integers(0, n_agents, n_reviews).astype(np.int32)
    skill = rng.normal(0, 0.5, n_agents)
    # built in place, float32 temporaries: the generator should not dominate the memory benchmark
    r = rng.standard_normal(n, dtype=np.float32)
    r += skill[agent_of_review][rev].astype(np.float32)
    r += np.float32(3.6)
    np.round(r, out=r)
    np.clip(r, 1, 5, out=r)
    binary = cat < 2
    r[binary] = (rng.random(int(binary.sum()), dtype=np.float32) > 0.015)
    na = rng.random(n, dtype=np.float32) < na_rate
    na &= ~binary
    r[na] = np.nan
    del na
    r = r.astype(np.float64)
    review_ids = pd.Categorical.from_codes(rev, categories=pd.Index([f"R{i:07d}" for i in range(n_reviews)]))
    names = [f"cat{j:02d}" for j in range(n_categories)]
    return pd.DataFrame({
        "review_id": review_ids,
        "conversation_id": review_ids,
        "agent_id": pd.Categorical.from_codes(agent_of_review[rev], categories=pd.Index([f"A{i:04d}" for i in range(n_agents)])),
        "reviewer_id": pd.Categorical.from_codes((rev % 7).astype(np.int8), categories=pd.Index([f"Q{i}" for i in range(7)])),
        "reviewed_at": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(rev.astype(np.int64) % 86400 * 60, unit="s"),
        "category": pd.Categorical.from_codes(cat, categories=pd.Index(names)),
        "rating": r,
    })


CHANNELS = ["email", "chat", "phone"]
PRIORITIES = ["urgent", "high", "normal", "low"]
T0 = np.datetime64("2025-01-01T00:00:00", "us")
YEAR_US = 365 * 86400 * 10**6


def conversations(n: int, *, seed: int = 0, n_customers: int | None = None) -> pd.DataFrame:
    """``n`` conversations over a year (UTC, microseconds): string ids ``C0000000``, ~1 % open,
    ~0.5 % without a first response, ~0.1 % answered before created (data errors a KPI must itemise),
    channel / priority / status as categoricals; customers repeat (FCR's repeat rule has work)."""
    rng = np.random.default_rng([seed, 23])
    created = T0 + np.sort(rng.integers(0, YEAR_US, n)).astype("timedelta64[us]")
    fr = created + (rng.exponential(2.0, n) * 3.6e9).astype(np.int64).astype("timedelta64[us]")
    res = created + (rng.exponential(30.0, n) * 3.6e9).astype(np.int64).astype("timedelta64[us]")
    open_ = rng.random(n) < 0.01
    no_fr = rng.random(n) < 0.005
    early = rng.random(n) < 0.001
    fr = np.where(early, created - np.timedelta64(3_600_000_000, "us"), fr)
    fr = np.where(no_fr, np.datetime64("NaT"), fr)
    res = np.where(open_, np.datetime64("NaT"), res)
    n_cust = n_customers or max(1, n // 3)

    def cat(values, codes):
        return pd.Categorical.from_codes(codes.astype(np.int8), categories=pd.Index(values))

    ids = pd.Index(np.char.add("C", np.char.zfill(np.arange(n).astype(str), 8)))

    def utc(a):
        return pd.Series(a).dt.tz_localize("UTC")

    return pd.DataFrame({
        "conversation_id": pd.Categorical.from_codes(np.arange(n, dtype=np.int32), categories=ids),
        "customer_id": pd.Categorical.from_codes(rng.integers(0, n_cust, n).astype(np.int32),
                                                 categories=pd.Index([f"U{i:08d}" for i in range(n_cust)])),
        "agent_id": pd.Categorical.from_codes(rng.integers(0, 1000, n).astype(np.int16),
                                              categories=pd.Index([f"A{i:04d}" for i in range(1000)])),
        "channel": cat(CHANNELS, rng.integers(0, 3, n)),
        "priority": cat(PRIORITIES, rng.choice(4, n, p=[.05, .15, .6, .2])),
        "created_at": utc(created),
        "first_response_at": utc(fr),
        "resolved_at": utc(res),
        "status": cat(["open", "solved"], np.where(open_, 0, 1)),
    })


def surveys(conv: pd.DataFrame, *, seed: int = 0, share: float = 0.3) -> pd.DataFrame:
    """Survey answers for ~``share`` of the conversations, one kind each (csat 1-5, nps 0-10, ces 1-7),
    ~5 % sent and not answered (score missing)."""
    rng = np.random.default_rng([seed, 24])
    pick = np.flatnonzero(rng.random(len(conv)) < share)
    m = len(pick)
    kind = rng.integers(0, 3, m)
    score = np.select([kind == 0, kind == 1], [rng.integers(1, 6, m), rng.integers(0, 11, m)],
                      rng.integers(1, 8, m)).astype(float)
    score[rng.random(m) < 0.05] = np.nan
    answered = conv["created_at"].dt.tz_localize(None).to_numpy()[pick] + (rng.exponential(24.0, m) * 3.6e9).astype(np.int64).astype(
        "timedelta64[us]")
    return pd.DataFrame({
        "conversation_id": pd.Categorical.from_codes(conv["conversation_id"].array.codes[pick],
                                                     categories=conv["conversation_id"].cat.categories),
        "kind": pd.Categorical.from_codes(kind.astype(np.int8), categories=pd.Index(["csat", "nps", "ces"])),
        "score": score,
        "answered_at": pd.Series(answered).dt.tz_localize("UTC"),
        "channel": pd.Categorical.from_codes(conv["channel"].array.codes[pick], categories=conv["channel"].cat.categories),
    })


def calls(n: int, *, seed: int = 0) -> pd.DataFrame:
    """``n`` calls: ~8 % abandoned (no speed of answer), speed of answer exponential (mean 25 s)."""
    rng = np.random.default_rng([seed, 25])
    created = T0 + np.sort(rng.integers(0, YEAR_US, n)).astype("timedelta64[us]")
    answered = rng.random(n) >= 0.08
    soa = np.where(answered, rng.exponential(25.0, n), np.nan)
    return pd.DataFrame({
        "call_id": pd.Categorical.from_codes(np.arange(n, dtype=np.int32),
                                             categories=pd.Index(np.char.add("K", np.char.zfill(np.arange(n).astype(str), 8)))),
        "agent_id": pd.Categorical.from_codes(rng.integers(0, 1000, n).astype(np.int16),
                                              categories=pd.Index([f"A{i:04d}" for i in range(1000)])),
        "created_at": pd.Series(created).dt.tz_localize("UTC"),
        "answered": answered,
        "speed_of_answer_s": soa,
        "queue": pd.Categorical.from_codes(rng.integers(0, 3, n).astype(np.int8), categories=pd.Index(CHANNELS)),
    })
