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
