"""Synthetic but coherent support organisation: the bundled sample data.

:func:`generate` builds, from a seed, ~40 agents in 4 teams on three channels, ~30k conversations
over 12 weeks with realistic response/resolution times, priorities, escalations and repeat
contacts, surveys (CSAT 1-5, NPS 0-10, CES 1-7), QA reviews of ~5 conversations per agent per week
on the 7-category sample scorecard (2 critical categories, some N/A), and a calibration set rated
by 5 reviewers with planted biases.

The generative model (documented with its expected statistics in ``data/README.md``):

- agent quality ``q_a ~ N(0, 1)``; conversation quality ``z = q_a + e``, ``e ~ N(0, 1)``;
- binary category ``c``: ``P(rating = 1) = logistic(alpha_c + beta_c * z)``;
- k-point category: ``rating = clip(round(mu_c + beta_c * z + bias_reviewer + N(0, sd_c)), 1, k)``;
- CSAT latent ``y = GAMMA * z + N(0, 1)``; ``csat = 1 + #(y > cuts)`` with cuts
  ``CSAT_CUTS``; NPS and CES follow ``y`` the same way with their own noise.

``python -m qakit.synth --out data`` rewrites the committed files; ``--truth`` recomputes the
documented expected correlations by Monte Carlo.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema as S

CHANNELS = ("chat", "email", "phone")
PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_P = (0.20, 0.55, 0.20, 0.05)
TEAMS = ("North", "South", "East", "West")
SCORECARD_VERSION = "2026.1"

#: strength with which conversation quality drives the CSAT latent
GAMMA = 0.6
#: thresholds on the CSAT latent (y ~ N(0, GAMMA^2 * 2 + 1)) giving roughly 8/8/14/30/40 % for 1..5
CSAT_CUTS = (-1.9, -1.3, -0.75, 0.15)

#: category -> (kind, k, alpha/mu, beta, noise sd, N/A rate)
CATEGORIES = {
    "Product knowledge": ("binary", 2, 3.0, 1.0, 0.0, 0.0),
    "Compliance": ("binary", 2, 3.6, 0.6, 0.0, 0.0),
    "Tone": ("scale", 5, 3.7, 0.7, 0.7, 0.0),
    "Empathy": ("scale", 5, 3.5, 0.6, 0.8, 0.2),
    "Solution": ("scale", 4, 2.9, 0.6, 0.6, 0.0),
    "Grammar": ("binary", 2, 1.9, 0.5, 0.0, 0.03),
    "Escalation handling": ("scale", 5, 3.3, 0.6, 0.8, None),  # N/A unless escalated
}

SCORECARD_YAML = f"""\
# Sample scorecard for the bundled synthetic data (qakit.synth). Load with qakit.load_scorecard.
name: Sample support scorecard
version: "{SCORECARD_VERSION}"
mode: weighted            # weighted | points | mean_over_max
pass_threshold: 80
bands: {{excellent: 95, good: 85, fair: 70, poor: 0}}
categories:
  - name: Product knowledge
    weight: 1.5
    critical: true
    scale: binary
  - name: Compliance
    weight: 1.0
    critical: true
    scale: binary
    description: identity verification and data-protection steps
  - name: Tone
    weight: 1.0
    scale: 5
  - name: Empathy
    weight: 1.0
    scale: 5
  - name: Solution
    weight: 1.25
    scale: 4
  - name: Grammar
    weight: 0.5
    scale: binary
  - name: Escalation handling
    weight: 0.75
    scale: 5
"""

#: main reviewers (unbiased) and calibration reviewers with planted biases, in rating steps,
#: added to the latent of the k-point categories (binary categories are not biased)
MAIN_REVIEWERS = tuple(f"QA{i}" for i in range(1, 7))
CALIBRATION_BIAS = {"cal_rev_1": 0.0, "cal_rev_2": 0.6, "cal_rev_3": -0.6, "cal_rev_4": 0.0, "cal_rev_5": 0.25}

FIRST_NAMES = ("Ana", "Ben", "Chloé", "Dev", "Emma", "Femi", "Grace", "Hugo", "Ines", "Jon", "Kai", "Lena",
               "Mo", "Nora", "Omar", "Pia", "Quinn", "Raj", "Sara", "Tom")
LAST_NAMES = ("Berg", "Costa", "Diallo", "Evans", "Fischer", "García", "Hansen", "Ito", "Jensen", "Khan")
LOW_COMMENTS = ("Missed the verification step", "Wrong product information given", "Abrupt tone",
                "Did not confirm the fix worked", "Typos in the reply", "")


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _ratings_for(z: np.ndarray, escalated: np.ndarray, bias: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Ratings of every category for conversations with quality ``z`` (vectorised)."""
    out = {}
    n = len(z)
    for name, (kind, k, a, b, sd, na) in CATEGORIES.items():
        if kind == "binary":
            r = (rng.random(n) < _logistic(a + b * z)).astype(float)
        else:
            r = np.clip(np.round(a + b * z + bias + rng.normal(0, sd, n)), 1, k)
        if na is None:
            r = np.where(escalated, r, np.nan)
        elif na > 0:
            r = np.where(rng.random(n) < na, np.nan, r)
        out[name] = r
    return out


def _csat_latent(z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return GAMMA * z + rng.normal(0, 1, len(z))


def _long(frame: pd.DataFrame, ratings: dict[str, np.ndarray], rng: np.random.Generator) -> pd.DataFrame:
    """Long ratings: one row per review x category, reviews in frame order."""
    n, cats = len(frame), list(ratings)
    long = frame.loc[frame.index.repeat(len(cats))].reset_index(drop=True)
    long[S.CATEGORY] = np.tile(cats, n)
    long[S.RATING] = np.column_stack([ratings[c] for c in cats]).ravel()
    low = long[S.RATING].notna() & long[S.RATING].le(1) & long[S.CATEGORY].ne("Grammar")
    comments = np.array(LOW_COMMENTS, dtype=object)[rng.integers(0, len(LOW_COMMENTS), len(long))]
    long["comment"] = np.where(low, comments, "")
    long[S.SCORECARD_VERSION] = SCORECARD_VERSION
    return long


def generate(
    *,
    seed: int = 7,
    n_agents: int = 40,
    weeks: int = 12,
    conversations: int = 30_000,
    reviews_per_agent_week: int = 5,
    start: str = "2026-08-03",
    calibration_conversations: int = 60,
) -> dict[str, pd.DataFrame]:
    """Generate the sample organisation.

    Parameters
    ----------
    seed : int, default=7
    n_agents, weeks, conversations, reviews_per_agent_week : int
    start : str, default="2026-08-03"
        A Monday; all timestamps are UTC.
    calibration_conversations : int, default=60

    Returns
    -------
    dict of str -> pandas.DataFrame
        ``ratings``, ``conversations``, ``surveys``, ``calibration``, ``agents``,
        ``agents_truth`` (latent quality; keep it out of analyses, it is the answer key).

    Examples
    --------
    >>> d = generate(seed=1, n_agents=4, weeks=2, conversations=400, reviews_per_agent_week=2,
    ...              calibration_conversations=5)
    >>> sorted(d), d["ratings"]["review_id"].nunique()
    (['agents', 'agents_truth', 'calibration', 'conversations', 'ratings', 'surveys'], 16)
    """
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start, tz="UTC")
    horizon = pd.Timedelta(weeks=weeks)

    # --- agents ---------------------------------------------------------------------------
    aid = np.array([f"A{i:02d}" for i in range(1, n_agents + 1)])
    team = np.array(TEAMS)[np.arange(n_agents) % len(TEAMS)]
    channel = np.array(CHANNELS)[rng.choice(3, n_agents, p=[0.4, 0.35, 0.25])]
    quality = rng.normal(0, 1, n_agents)
    names = [f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {LAST_NAMES[(i * 7) % len(LAST_NAMES)]}" for i in range(n_agents)]
    hire = t0 - pd.to_timedelta(rng.integers(30, 2000, n_agents), unit="D")
    agents = pd.DataFrame({S.AGENT_ID: aid, "agent_name": names, S.TEAM: team, S.CHANNEL: channel,
                           "hire_date": hire.normalize()})
    truth = pd.DataFrame({S.AGENT_ID: aid, "quality": quality})

    # --- customers and conversations --------------------------------------------------------
    n_cust = max(10, int(conversations * 0.4))
    cust_ids = np.array([f"CU{i:05d}" for i in range(1, n_cust + 1)])
    cust_value = np.round(np.exp(rng.normal(7.0, 1.2, n_cust)), 2)
    cust_w = rng.pareto(1.5, n_cust) + 1
    cust = rng.choice(n_cust, conversations, p=cust_w / cust_w.sum())
    agent = rng.integers(0, n_agents, conversations)
    ch = channel[agent]
    # arrivals: uniform days, more during office hours (UTC 7-19)
    day = rng.integers(0, weeks * 7, conversations)
    hour = np.where(rng.random(conversations) < 0.8, rng.uniform(7, 19, conversations), rng.uniform(0, 24, conversations))
    created = t0 + pd.to_timedelta(day, unit="D") + pd.to_timedelta(hour * 3600, unit="s").round("s")
    prio_i = rng.choice(4, conversations, p=PRIORITY_P)
    prio = np.array(PRIORITIES)[prio_i]
    z = quality[agent] + rng.normal(0, 1, conversations)
    prio_factor = np.array([1.3, 1.0, 0.6, 0.35])[prio_i]
    frt_median_h = np.select([ch == "chat", ch == "email"], [2 / 60, 3.0], 0.5 / 60)
    frt_h = frt_median_h * prio_factor * np.exp(rng.normal(0, 1.0, conversations) - 0.15 * z)
    res_median_h = np.select([ch == "chat", ch == "email"], [0.5, 20.0], 0.2)
    res_h = res_median_h * np.exp(rng.normal(0, 1.1, conversations) - 0.2 * z)
    esc = rng.random(conversations) < _logistic(-2.7 + 0.9 * (prio_i >= 2) - 0.5 * z)
    res_h = np.where(esc, res_h * 3 + 4, res_h)
    contacts = 1 + rng.poisson(0.35 * np.exp(-0.3 * z) + 0.4 * esc)
    aht_median = np.select([ch == "chat", ch == "email"], [600.0, 420.0], 360.0)
    handle = np.round(aht_median * np.exp(rng.normal(0, 0.5, conversations)) * contacts)
    first = created + pd.to_timedelta(np.round(frt_h * 3600), unit="s")
    resolved = first + pd.to_timedelta(np.round(res_h * 3600), unit="s")
    end = t0 + horizon
    open_ = resolved > end
    status = np.where(open_, np.where(rng.random(conversations) < 0.6, "open", "pending"),
                      np.where(resolved < end - pd.Timedelta(days=4), "closed", "solved"))
    order = np.argsort(created.to_numpy(), kind="stable")
    conv = pd.DataFrame({
        S.CONVERSATION_ID: [f"C{i:06d}" for i in range(1, conversations + 1)],
        S.CUSTOMER_ID: cust_ids[cust[order]],
        S.AGENT_ID: aid[agent[order]],
        S.CHANNEL: ch[order],
        S.PRIORITY: prio[order],
        S.CREATED_AT: created[order],
        S.FIRST_RESPONSE_AT: pd.Series(first[order]).where(~(open_[order] & (first[order] > end))),
        S.RESOLVED_AT: pd.Series(resolved[order]).where(~open_[order]),
        S.STATUS: status[order],
        S.TEAM: team[agent[order]],
        S.ESCALATED: esc[order],
        S.CONTACTS: contacts[order].astype("int64"),
        S.HANDLE_TIME_S: handle[order],
        S.CUSTOMER_VALUE: cust_value[cust[order]],
    })
    z = z[order]
    conv[S.CREATED_AT] = conv[S.CREATED_AT].astype("datetime64[ns, UTC]")
    for c in (S.FIRST_RESPONSE_AT, S.RESOLVED_AT):
        conv[c] = conv[c].astype("datetime64[ns, UTC]")

    # --- surveys ------------------------------------------------------------------------------
    y = _csat_latent(z, rng)
    done = conv[S.RESOLVED_AT].notna().to_numpy()
    parts = []
    for kind, rate in (("csat", 0.25), ("nps", 0.10), ("ces", 0.08)):
        ask = done & (rng.random(conversations) < rate)
        if kind == "csat":
            score = 1 + (y[:, None] > np.array(CSAT_CUTS)).sum(axis=1)
        elif kind == "nps":
            score = np.clip(np.round(7.4 + 1.6 * y + rng.normal(0, 1.4, conversations)), 0, 10)
        else:
            score = np.clip(np.round(5.2 + 0.9 * y + rng.normal(0, 1.0, conversations)), 1, 7)
        lag = pd.to_timedelta(rng.exponential(20, conversations).round(3) * 3600, unit="s").round("s")
        parts.append(pd.DataFrame({
            S.CONVERSATION_ID: conv[S.CONVERSATION_ID][ask], S.KIND: kind,
            S.SCORE: score[ask].astype(float), S.ANSWERED_AT: (conv[S.RESOLVED_AT] + lag)[ask],
            S.AGENT_ID: conv[S.AGENT_ID][ask]}))
    surveys = pd.concat(parts, ignore_index=True)

    # --- reviews: ~N per agent per week among resolved conversations -------------------------
    week = ((conv[S.CREATED_AT] - t0).dt.days // 7).to_numpy()
    cand = pd.DataFrame({"i": np.arange(conversations), "agent": conv[S.AGENT_ID], "week": week,
                         "u": rng.random(conversations)})[done]
    cand["k"] = cand.groupby(["agent", "week"])["u"].rank(method="first")
    picked = cand.loc[cand["k"] <= reviews_per_agent_week, "i"].sort_values().to_numpy()
    rv = conv.iloc[picked][[S.CONVERSATION_ID, S.AGENT_ID, S.RESOLVED_AT, S.ESCALATED]].reset_index(drop=True)
    rv.insert(0, S.REVIEW_ID, [f"R{i:05d}" for i in range(1, len(rv) + 1)])
    rv[S.REVIEWER_ID] = np.array(MAIN_REVIEWERS)[rng.integers(0, len(MAIN_REVIEWERS), len(rv))]
    rv[S.REVIEWED_AT] = rv[S.RESOLVED_AT] + pd.to_timedelta(rng.uniform(2, 96, len(rv)).round(2) * 3600, unit="s").round("s")
    r = _ratings_for(z[picked], rv[S.ESCALATED].to_numpy(), np.zeros(len(rv)), rng)
    frame = rv[[S.REVIEW_ID, S.CONVERSATION_ID, S.AGENT_ID, S.REVIEWER_ID, S.REVIEWED_AT]]
    ratings = _long(frame, r, rng)

    # --- calibration: the same conversations rated by every calibration reviewer --------------
    cal_conv = np.sort(rng.choice(np.flatnonzero(done), calibration_conversations, replace=False))
    revs = list(CALIBRATION_BIAS)
    n_cal = len(cal_conv) * len(revs)
    ci = np.repeat(cal_conv, len(revs))
    cal = pd.DataFrame({
        S.REVIEW_ID: [f"K{i:05d}" for i in range(1, n_cal + 1)],
        S.CONVERSATION_ID: conv[S.CONVERSATION_ID].to_numpy()[ci],
        S.AGENT_ID: conv[S.AGENT_ID].to_numpy()[ci],
        S.REVIEWER_ID: np.tile(revs, len(cal_conv)),
        S.REVIEWED_AT: conv[S.RESOLVED_AT].iloc[ci].to_numpy() + pd.Timedelta(days=3),
    })
    bias = np.tile([CALIBRATION_BIAS[k] for k in revs], len(cal_conv))
    # all reviewers see the same conversation: same z, same escalation; own rating noise
    rc = _ratings_for(z[ci], conv[S.ESCALATED].to_numpy()[ci], bias, rng)
    calibration = _long(cal, rc, rng)
    return {"ratings": ratings, "conversations": conv, "surveys": surveys, "calibration": calibration,
            "agents": agents, "agents_truth": truth}


# --- the documented truth --------------------------------------------------------------------
def expected_correlations(*, seeds: range = range(100, 120), **kwargs) -> pd.DataFrame:
    """Monte Carlo of the generator: IQS-CSAT Pearson r at conversation and agent level.

    Each seed generates a full organisation (default size) and scores it with the sample card;
    returns one row per seed with ``r_conversation`` (review IQS vs CSAT score, reviewed
    conversations with a CSAT answer) and ``r_agent`` (per-agent mean IQS vs mean CSAT score).
    """
    from .scorecard import load_scorecard_text

    card = load_scorecard_text(SCORECARD_YAML)
    rows = []
    for s in seeds:
        d = generate(seed=s, **kwargs)
        sc = card.score(d["ratings"])
        cs = d["surveys"][d["surveys"][S.KIND].eq("csat")]
        j = sc.merge(cs[[S.CONVERSATION_ID, S.SCORE]], on=S.CONVERSATION_ID)
        a_iqs = sc.groupby(S.AGENT_ID)[S.IQS].mean()
        a_csat = cs.groupby(S.AGENT_ID)[S.SCORE].mean()
        rows.append({"seed": s, "n_conversation": len(j), "r_conversation": j[S.IQS].corr(j[S.SCORE]),
                     "r_agent": a_iqs.corr(a_csat)})
    return pd.DataFrame(rows)


def write_sample(out: str | Path = "data", *, seed: int = 7) -> list[Path]:
    """Write the sample files (Parquet, zstd) and the scorecard YAML into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in generate(seed=seed).items():
        p = out / f"{name}.parquet"
        df.to_parquet(p, index=False, compression="zstd")
        written.append(p)
    p = out / "scorecard.yaml"
    p.write_text(SCORECARD_YAML, encoding="utf-8")
    written.append(p)
    p = out / "calibration_truth.csv"
    pd.DataFrame({S.REVIEWER_ID: list(CALIBRATION_BIAS), "bias_steps": list(CALIBRATION_BIAS.values())}).to_csv(p, index=False)
    written.append(p)
    return written


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - thin CLI
    ap = argparse.ArgumentParser(prog="python -m qakit.synth", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="data")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--truth", action="store_true", help="print the Monte Carlo expected correlations")
    a = ap.parse_args(argv)
    if a.truth:
        mc = expected_correlations()
        print(mc.describe().loc[["mean", "std", "min", "max"]].round(4).to_string())
        return 0
    for p in write_sample(a.out, seed=a.seed):
        print(f"{p}  {p.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
