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
from .scorecard import load_scorecard_text
from .staffing import required_agents

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
    return _generate(seed=seed, n_agents=n_agents, weeks=weeks, conversations=conversations,
                     reviews_per_agent_week=reviews_per_agent_week, start=start,
                     calibration_conversations=calibration_conversations)[0]


def _generate(*, seed: int = 7, n_agents: int = 40, weeks: int = 12, conversations: int = 30_000,
              reviews_per_agent_week: int = 5, start: str = "2026-08-03", calibration_conversations: int = 60) -> tuple[dict[str, pd.DataFrame], dict[str, object]]:
    """:func:`generate`, plus the latent state the operations tables are drawn from (conversation
    quality ``z`` in conversation order, every customer's id and value, the horizon)."""
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
    tables = {"ratings": ratings, "conversations": conv, "surveys": surveys, "calibration": calibration,
              "agents": agents, "agents_truth": truth}
    hidden = {"z": z, "customer_ids": cust_ids, "customer_value": cust_value, "start": t0, "end": t0 + horizon}
    return tables, hidden


# --- conversation text (automatic scoring) -------------------------------------------------------------
LANGUAGES = ("en", "de", "pt")
#: message templates by slot and language; ``True`` marks the polite variant (a greeting in the
#: opening, a helpful middle, an offer of further help and a closing at the end). ``{n}`` becomes an
#: order number. Rule-based categories (:data:`qakit.autoqa.DEFAULT_RULES`) find greetings, closings,
#: apologies, offers of further help and thanks in them.
MESSAGE_TEMPLATES: dict[str, dict[str, list[tuple[str, bool]]]] = {
    "customer": {
        "en": [(t, True) for t in (
            "Hi, my order {n} has not arrived yet.", "Where is my parcel? It was due on Monday.",
            "I was charged twice for order {n}.", "This is unacceptable, I want to speak to a manager.",
            "Ok, thanks.", "It still does not work after the update.", "Can I change the delivery address?")],
        "de": [(t, True) for t in (
            "Hallo, meine Bestellung {n} ist noch nicht angekommen.", "Wo ist mein Paket? Es sollte Montag kommen.",
            "Mir wurde die Bestellung {n} doppelt berechnet.",
            "Das ist eine Frechheit, ich will eine Beschwerde einreichen.", "Ok, danke.",
            "Nach dem Update geht es immer noch nicht.")],
        "pt": [(t, True) for t in (
            "Olá, o meu pedido {n} ainda não chegou.", "Onde está o meu pacote? Devia chegar na segunda.",
            "Fui cobrado duas vezes pelo pedido {n}.", "Isso é um absurdo, vou reclamar no Procon.",
            "Ok, obrigado.", "Continua sem funcionar depois da atualização.")],
    },
    "open": {
        "en": [("Hello, thank you for contacting us.", True), ("Hi there, sorry to hear that.", True),
               ("Let me check order {n}.", False), ("Good morning! I understand how frustrating this is.", True)],
        "de": [("Hallo, vielen Dank für Ihre Nachricht.", True), ("Guten Tag, das tut mir leid.", True),
               ("Ich prüfe die Bestellung {n}.", False)],
        "pt": [("Olá, obrigado pelo contato.", True), ("Bom dia, lamento o ocorrido.", True),
               ("Vou verificar o pedido {n}.", False)],
    },
    "mid": {
        "en": [("I have checked and it is with the courier.", True), ("The refund for {n} was issued today.", True),
               ("Please restart the device and try again.", True), ("Read the manual.", False),
               ("Not our problem.", False)],
        "de": [("Ich habe nachgesehen, es ist beim Kurier.", True),
               ("Die Erstattung für {n} wurde heute veranlasst.", True), ("Bitte starten Sie das Gerät neu.", True),
               ("Lesen Sie die Anleitung.", False)],
        "pt": [("Verifiquei e está com a transportadora.", True), ("O reembolso de {n} foi feito hoje.", True),
               ("Por favor reinicie o aparelho.", True), ("Leia o manual.", False)],
    },
    "close": {
        "en": [("Is there anything else I can help with? Have a nice day!", True), ("Bye.", False),
               ("Kind regards.", False), ("Done.", False)],
        "de": [("Kann ich Ihnen sonst noch helfen? Einen schönen Tag!", True), ("Tschüss.", False),
               ("Viele Grüße.", False), ("Erledigt.", False)],
        "pt": [("Posso ajudar em algo mais? Tenha um ótimo dia!", True), ("Tchau.", False),
               ("Atenciosamente.", False), ("Feito.", False)],
    },
}
#: P(polite variant) of an agent message slot = logistic(POLITE_ALPHA[slot] + POLITE_BETA * z)
POLITE_ALPHA = {"open": 1.0, "mid": 2.2, "close": 0.6}
POLITE_BETA = 1.3


def _texts(slot: str, lang: np.ndarray, nums: np.ndarray, rng: np.random.Generator,
           polite: np.ndarray | None = None) -> np.ndarray:
    """Texts for messages of one slot: a template of the message's language, uniformly among all
    (``polite=None``) or among the polite / curt variants as ``polite`` says."""
    out = np.empty(len(lang), dtype=object)
    for i, lg in enumerate(LANGUAGES):
        pool = MESSAGE_TEMPLATES[slot][lg]
        if polite is None:
            m = lang == i
            out[m] = np.array([t for t, _ in pool], dtype=object)[rng.integers(0, len(pool), int(m.sum()))]
            continue
        for flag in (True, False):
            m = (lang == i) & (polite == flag)
            sub = [t for t, p in pool if p == flag] or [t for t, _ in pool]
            out[m] = np.array(sub, dtype=object)[rng.integers(0, len(sub), int(m.sum()))]
    return np.array([t.format(n=n) if "{n}" in t else t for t, n in zip(out, nums)], dtype=object)


def _message_frame(sizes: np.ndarray, lang_conv: np.ndarray, rng: np.random.Generator,
                   z: np.ndarray | None = None) -> pd.DataFrame:
    """Messages of conversations with ``sizes`` messages each, alternating customer / agent (the
    customer first, the agent last): conversation index, position, role, language, text. With
    ``z`` (quality per conversation), each agent message is polite with probability
    ``logistic(POLITE_ALPHA[slot] + POLITE_BETA * z)``."""
    conv = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    pos = np.arange(len(conv)) - starts
    last = pos == np.repeat(sizes - 1, sizes)
    lang = np.repeat(lang_conv, sizes)
    customer = (pos % 2 == 0) & ~last
    nums = rng.integers(100000, 999999, len(conv))
    text = np.empty(len(conv), dtype=object)
    for slot, mask in (("customer", customer), ("open", ~customer & (pos == 1)), ("close", ~customer & last),
                       ("mid", ~customer & (pos != 1) & ~last)):
        idx = np.flatnonzero(mask)
        polite = None
        if z is not None and slot != "customer":
            polite = rng.random(len(idx)) < _logistic(POLITE_ALPHA[slot] + POLITE_BETA * z[conv[idx]])
        text[idx] = _texts(slot, lang[idx], nums[idx], rng, polite)
    return pd.DataFrame({"_conv": conv, S.POSITION: pos, S.AUTHOR_ROLE: np.where(customer, "customer", "agent"),
                         S.LANGUAGE: np.array(LANGUAGES)[lang], S.TEXT: text})


def make_messages(n_conv: int, seed: int = 0) -> pd.DataFrame:
    """Benchmark-scale messages: ``n_conv`` conversations of 6-14 messages, alternating customer /
    agent, en/de/pt, templates drawn uniformly (no quality signal); conversation ``c<i>``, agent
    ``a<i mod 500>``, one conversation every 30 s from 2026-08-01 UTC.

    Examples
    --------
    >>> m = make_messages(3, seed=1)
    >>> m.columns.tolist(), bool(m.groupby("conversation_id").size().between(6, 14).all())
    (['conversation_id', 'message_id', 'author_role', 'agent_id', 'sent_at', 'text', 'language'], True)
    """
    rng = np.random.default_rng(seed)
    sizes = rng.integers(6, 15, n_conv)
    f = _message_frame(sizes, rng.integers(0, 3, n_conv), rng)
    conv, pos = f["_conv"].to_numpy(), f[S.POSITION].to_numpy()
    customer = f[S.AUTHOR_ROLE].eq("customer").to_numpy()
    ids = pd.Series(conv).astype("str")
    return pd.DataFrame({
        S.CONVERSATION_ID: "c" + ids, S.MESSAGE_ID: "c" + ids + "-" + pd.Series(pos).astype("str"),
        S.AUTHOR_ROLE: f[S.AUTHOR_ROLE].to_numpy(),
        S.AGENT_ID: np.where(customer, None, "a" + pd.Series(conv % 500).astype("str")),
        S.SENT_AT: pd.Timestamp("2026-08-01", tz="UTC") + pd.to_timedelta(conv * 30 + pos * 3, unit="s"),
        S.TEXT: pd.array(f[S.TEXT].to_numpy(), dtype="str"),
        S.LANGUAGE: f[S.LANGUAGE].to_numpy(),
    })


# --- operations tables: calls, customers, disputes, messages ---------------------------------------------
#: calls offered per weekday (Mon..Sun) on the phone queue
CALLS_PER_DAY = (260, 240, 230, 230, 250, 90, 40)
#: service-level threshold the sample's phone queue is run against (seconds)
CALL_THRESHOLD_S = 20
#: share of reviews disputed: P = logistic(DISPUTE_ALPHA + DISPUTE_BETA * (iqs - 70) / 10) (+ QA4's planted
#: extra); P(accepted | decided) = ACCEPT_P
DISPUTE_ALPHA, DISPUTE_BETA, DISPUTE_QA4, ACCEPT_P = -2.6, -0.45, 1.0, 0.35
#: conversations with text: every reviewed chat or email conversation plus this many others
MESSAGE_EXTRA_CONVERSATIONS = 400


def generate_operations(tables: dict[str, pd.DataFrame], hidden: dict[str, object], *, seed: int = 7) -> dict[str, pd.DataFrame]:
    """The optional tables of the sample, drawn from the same organisation without touching the
    random stream of :func:`generate` (each table has its own generator ``default_rng([seed, k])``).

    - ``calls``: one row per call on the phone queue (CALLS contract); arrivals 7-19 h UTC,
      ``CALLS_PER_DAY`` per weekday, wait ``~ Exp(mean 10 s x day load)``, day load log-normal
      (sd 0.5), patience ``~ Exp(mean 90 s)``: a call is abandoned when the patience runs out
      first; answered calls go to a phone agent, handle time log-normal (median 6 min, shorter
      for better agents), ``resolved`` with ``P = logistic(1.4 + 0.6 q)``.
    - ``customers``: every customer id with the value the conversations carry (customers
      without a conversation get a fresh draw from the same log-normal), a value segment, and
      2 % without a value.
    - ``disputes``: reviews disputed with ``P = logistic(-2.6 - 0.45 (iqs - 70) / 10)`` (+1 on the
      logit for reviewer QA4), filed 2-72 h after the review by the agent; decided after
      ``Exp(mean 30 h)`` unless that falls after the data end (pending); accepted with P 0.35,
      raising the score by 5-25 points (at most 100).
    - ``messages``: text (en 60 %, de 25 %, pt 15 %) for every reviewed chat / email conversation
      and ``MESSAGE_EXTRA_CONVERSATIONS`` others, 6-14 messages each, each agent message polite
      with ``P = logistic(alpha_slot + 1.3 z)`` (z = the conversation's quality, as the
      reviewers' ratings): automatic scores track human ones.
    """
    conv, ratings, agents = tables["conversations"], tables["ratings"], tables["agents"]
    truth = tables["agents_truth"].set_index(S.AGENT_ID)["quality"]
    t0, t_end = hidden["start"], hidden["end"]
    out: dict[str, pd.DataFrame] = {}

    # --- calls --------------------------------------------------------------------------------------
    rng = np.random.default_rng([seed, 1])
    days = pd.date_range(t0, t_end - pd.Timedelta(days=1), freq="D")
    offered = rng.poisson(np.array(CALLS_PER_DAY)[days.day_of_week])
    load = np.exp(rng.normal(0, 0.5, len(days)))
    day_i = np.repeat(np.arange(len(days)), offered)
    n = len(day_i)
    created = days[day_i] + pd.to_timedelta(np.round(rng.uniform(7, 19, n) * 3600), unit="s")
    wait = rng.exponential(10.0 * load[day_i])
    patience = rng.exponential(90.0, n)
    answered = patience > wait
    phone = agents.loc[agents[S.CHANNEL].eq("phone"), S.AGENT_ID].to_numpy()
    who = phone[rng.integers(0, len(phone), n)]
    q = truth.reindex(who).to_numpy()
    handle = np.round(360 * np.exp(rng.normal(0, 0.5, n) - 0.1 * q))
    resolved = rng.random(n) < _logistic(1.4 + 0.6 * q)
    team = agents.set_index(S.AGENT_ID)[S.TEAM].reindex(who).to_numpy()
    order = np.argsort(created.to_numpy(), kind="stable")
    out["calls"] = pd.DataFrame({
        S.CALL_ID: [f"CL{i:06d}" for i in range(1, n + 1)],
        S.AGENT_ID: pd.array(np.where(answered, who, None)[order], dtype="str"),
        S.CREATED_AT: pd.DatetimeIndex(created[order]).astype("datetime64[ns, UTC]"),
        S.ANSWERED: answered[order],
        S.SPEED_OF_ANSWER_S: np.where(answered, np.round(wait, 1), np.nan)[order],
        S.HANDLE_TIME_S: np.where(answered, handle, np.nan)[order],
        S.RESOLVED: pd.array(np.where(answered, resolved, None)[order], dtype="boolean"),
        S.TEAM: pd.array(np.where(answered, team, None)[order], dtype="str"),
    })

    # --- customers --------------------------------------------------------------------------------------
    rng = np.random.default_rng([seed, 2])
    ids, value = np.asarray(hidden["customer_ids"]), np.asarray(hidden["customer_value"], dtype=float).copy()
    seen = pd.Index(conv[S.CUSTOMER_ID].unique())
    unseen = ~pd.Index(ids).isin(seen)
    value[unseen] = np.round(np.exp(rng.normal(7.0, 1.2, int(unseen.sum()))), 2)
    value[rng.random(len(ids)) < 0.02] = np.nan
    segment = np.select([value >= 3000, value >= 600], ["enterprise", "business"], "consumer")
    out["customers"] = pd.DataFrame({S.CUSTOMER_ID: ids, S.CUSTOMER_VALUE: value,
                                     S.SEGMENT: pd.array(np.where(np.isnan(value), None, segment), dtype="str")})

    # --- disputes -----------------------------------------------------------------------------------------
    rng = np.random.default_rng([seed, 3])
    card = load_scorecard_text(SCORECARD_YAML)
    sc = card.score(ratings).sort_values(S.REVIEW_ID).reset_index(drop=True)
    logit = DISPUTE_ALPHA + DISPUTE_BETA * (sc[S.IQS].to_numpy() - 70) / 10 + DISPUTE_QA4 * sc[S.REVIEWER_ID].eq("QA4").to_numpy()
    hit = rng.random(len(sc)) < _logistic(logit)
    d = sc[hit].reset_index(drop=True)
    k = len(d)
    created = d[S.REVIEWED_AT] + pd.to_timedelta(np.round(rng.uniform(2, 72, k) * 3600), unit="s")
    decided_at = created + pd.to_timedelta(np.round(rng.exponential(30, k) * 3600), unit="s")
    pending = (decided_at > t_end).to_numpy()
    accepted = rng.random(k) < ACCEPT_P
    worst = (card.category_rows(ratings.dropna(subset=[S.RATING])).sort_values([S.REVIEW_ID, S.CATEGORY_SCORE, S.CATEGORY])
             .drop_duplicates(S.REVIEW_ID).set_index(S.REVIEW_ID)[S.CATEGORY])
    after = np.minimum(100.0, d[S.IQS].to_numpy() + rng.uniform(5, 25, k))
    out["disputes"] = pd.DataFrame({
        S.DISPUTE_ID: [f"D{i:04d}" for i in range(1, k + 1)],
        S.REVIEW_ID: d[S.REVIEW_ID].to_numpy(),
        S.CREATED_AT: created,
        S.DISPUTE_STATUS: np.where(pending, "pending", np.where(accepted, "accepted", "rejected")),
        S.RESOLVED_AT: decided_at.where(~pending),
        S.ACCEPTED: pd.array(np.where(pending, None, accepted), dtype="boolean"),
        S.CATEGORY: pd.array(d[S.REVIEW_ID].map(worst).to_numpy(), dtype="str"),
        S.DISPUTER_ID: d[S.AGENT_ID].to_numpy(),
        S.SCORE_BEFORE: d[S.IQS].to_numpy(),
        S.SCORE_AFTER: np.where(~pending & accepted, np.round(after, 1), np.nan),
    })

    # --- messages -------------------------------------------------------------------------------------------
    rng = np.random.default_rng([seed, 4])
    z = np.asarray(hidden["z"], dtype=float)
    text_ch = conv[S.CHANNEL].isin(["chat", "email"]).to_numpy()
    reviewed = conv[S.CONVERSATION_ID].isin(set(ratings[S.CONVERSATION_ID])).to_numpy()
    others = np.flatnonzero(text_ch & ~reviewed)
    pick = np.sort(np.concatenate([np.flatnonzero(text_ch & reviewed),
                                   rng.choice(others, MESSAGE_EXTRA_CONVERSATIONS, replace=False)]))
    sizes = rng.integers(6, 15, len(pick))
    lang = rng.choice(3, len(pick), p=[0.6, 0.25, 0.15])
    f = _message_frame(sizes, lang, rng, z=z[pick])
    c = conv.iloc[pick].reset_index(drop=True)
    ci = f["_conv"].to_numpy()
    gap = np.round(rng.uniform(20, 240, len(f)))
    offset = pd.Series(gap).groupby(ci).cumsum().to_numpy()
    agent_msg = f[S.AUTHOR_ROLE].eq("agent").to_numpy()
    cid = c[S.CONVERSATION_ID].to_numpy()[ci]
    out["messages"] = pd.DataFrame({
        S.CONVERSATION_ID: cid,
        S.MESSAGE_ID: pd.Series(cid).str.cat(f[S.POSITION].astype("str"), sep="-").to_numpy(),
        S.AUTHOR_ROLE: f[S.AUTHOR_ROLE].to_numpy(),
        S.AGENT_ID: pd.array(np.where(agent_msg, c[S.AGENT_ID].to_numpy()[ci], None), dtype="str"),
        S.SENT_AT: (c[S.CREATED_AT].iloc[ci].reset_index(drop=True) + pd.to_timedelta(offset, unit="s")).to_numpy(),
        S.TEXT: pd.array(f[S.TEXT].to_numpy(), dtype="str"),
        S.LANGUAGE: f[S.LANGUAGE].to_numpy(),
    })
    return out


# --- survey non-response and the phone queue's staffing (issue 26: own random streams) -------------
#: CSAT invitations that went unanswered: among resolved conversations without a CSAT answer, one is an
#: unanswered invitation with P = logistic(NONRESPONSE_ALPHA[channel] - NONRESPONSE_BETA * z): worse
#: conversations (lower z) and phone customers answer less
NONRESPONSE_ALPHA = {"chat": 0.9, "email": 1.3, "phone": 2.1}
NONRESPONSE_BETA = 0.5
#: the staffing plan of the phone queue: half hours 7-19 h UTC, Erlang C agents for 80 % in 20 s on the
#: weekday's forecast (CALLS_PER_DAY / 24 calls, AHT 408 s = the handle-time mean 360 e^(0.5^2/2)),
#: one agent absent with P STAFF_ABSENT_P, half an agent more (a part-timer) with P STAFF_HALF_P
STAFF_AHT_S, STAFF_ABSENT_P, STAFF_HALF_P = 408.0, 0.2, 0.1


def unanswered_surveys(tables: dict[str, pd.DataFrame], hidden: dict[str, object], *, seed: int = 7) -> pd.DataFrame:
    """CSAT invitations that were sent and not answered (score missing: the surveys contract), drawn
    with their own generator ``default_rng([seed, 5])`` so that every other row of the sample stays as
    it was.  The answered CSAT surveys are a uniform 25 % of resolved conversations; the unanswered ones
    come from the other resolved conversations with ``P = logistic(NONRESPONSE_ALPHA[channel] -
    NONRESPONSE_BETA z)``.  So the response rate differs by channel, and non-respondents had worse
    conversations: non-response the contact mix does not explain (raking cannot fix it; the Manski
    bounds show its reach).
    """
    rng = np.random.default_rng([seed, 5])
    conv, sv = tables["conversations"], tables["surveys"]
    z = np.asarray(hidden["z"], dtype=float)
    answered = set(sv.loc[sv[S.KIND].eq("csat"), S.CONVERSATION_ID])
    cand = conv[S.RESOLVED_AT].notna().to_numpy() & ~conv[S.CONVERSATION_ID].isin(answered).to_numpy()
    alpha = conv[S.CHANNEL].map(NONRESPONSE_ALPHA).to_numpy(dtype=float)
    pick = cand & (rng.random(len(conv)) < _logistic(alpha - NONRESPONSE_BETA * z))
    return pd.DataFrame({S.CONVERSATION_ID: conv[S.CONVERSATION_ID][pick].to_numpy(), S.KIND: "csat",
                         S.SCORE: np.nan, S.ANSWERED_AT: pd.Series(pd.NaT, index=range(int(pick.sum())),
                                                                   dtype="datetime64[ns, UTC]"),
                         S.AGENT_ID: conv[S.AGENT_ID][pick].to_numpy()})


def staffing_plan(hidden: dict[str, object], *, seed: int = 7) -> pd.DataFrame:
    """Agents on the phone queue per half hour (``interval_start``, ``agents``), the plan a workforce
    tool would make from the weekday forecast (see :data:`STAFF_AHT_S`), with absences and part-timers
    drawn from ``default_rng([seed, 6])``.  The sample's call waits are drawn independently of it
    (``generate_operations``), so predicted and measured service level agree only roughly: it
    illustrates :func:`qakit.staffing.staffing_check`, it is no queue simulation.
    """
    rng = np.random.default_rng([seed, 6])
    t0, t_end = hidden["start"], hidden["end"]
    days = pd.date_range(t0, t_end - pd.Timedelta(days=1), freq="D")
    starts = (days.repeat(24) + pd.to_timedelta(np.tile(7 * 3600 + 1800 * np.arange(24), len(days)), unit="s"))
    forecast = np.array(CALLS_PER_DAY, dtype=float)[starts.day_of_week] / 24
    need = required_agents(pd.DataFrame({"arrivals": forecast, "aht_s": STAFF_AHT_S}), target=0.8, threshold_s=20)
    agents = need["required_agents"].to_numpy(dtype=float)
    agents = agents - (rng.random(len(agents)) < STAFF_ABSENT_P) + 0.5 * (rng.random(len(agents)) < STAFF_HALF_P)
    return pd.DataFrame({"interval_start": pd.DatetimeIndex(starts).astype("datetime64[ns, UTC]"),
                         "agents": np.maximum(agents, 1.0)})


# --- coaching sessions (issue 25) --------------------------------------------------------------------------
#: the bundled sample's true coaching effect on review scores, in IQS points: the ratings were drawn
#: before coaching existed and stay byte-identical, so coaching changed nothing. Any rise of the
#: coached agents' scores is regression to the mean (they were coached for a low fortnight).
COACHING_TRUE_EFFECT = 0.0
#: the coaching decision looks at the last COACHING_LOOKBACK_WEEKS weeks of review scores ...
COACHING_LOOKBACK_WEEKS = 2
#: ... and, each week from COACHING_FIRST_WEEK to COACHING_LAST_WEEK (0 = the sample's first week),
#: coaches the COACHING_PER_WEEK lowest-scoring agents not coached before
COACHING_FIRST_WEEK, COACHING_LAST_WEEK, COACHING_PER_WEEK = 2, 7, 2
COACHING_PLANS = ("Role-play the verification steps", "Shadow a senior agent for two shifts",
                  "Review three model answers together", "Use the troubleshooting checklist on every ticket")
COACHING_COMMITMENTS = ("Verify identity before any account change", "Confirm the fix before closing",
                        "Acknowledge the customer's problem in the first reply")


def _select_low(week: np.ndarray, agent: np.ndarray, value: np.ndarray, n_agents: int, weeks: int, *,
                lookback: int, first_week: int, last_week: int, per_week: int) -> np.ndarray:
    """First coaching week per agent (-1: never): each week ``w`` in ``first_week..last_week`` the
    ``per_week`` agents not coached before with the lowest mean ``value`` over weeks
    ``w - lookback .. w - 1`` are coached (ties by agent order; agents without reviews then skipped)."""
    total = np.zeros((n_agents, weeks))
    count = np.zeros((n_agents, weeks))
    ok = (week >= 0) & (week < weeks) & ~np.isnan(value)
    np.add.at(total, (agent[ok], week[ok]), value[ok])
    np.add.at(count, (agent[ok], week[ok]), 1.0)
    coached = np.full(n_agents, -1)
    for w in range(first_week, min(last_week, weeks - 1) + 1):
        lo = max(0, w - lookback)
        n = count[:, lo:w].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = total[:, lo:w].sum(axis=1) / n
        m[(coached >= 0) | (n == 0)] = np.inf
        pick = np.argsort(m, kind="stable")[:per_week]
        coached[pick[np.isfinite(m[pick])]] = w
    return coached


def generate_coaching(tables: dict[str, pd.DataFrame], hidden: dict[str, object], *, seed: int = 7) -> pd.DataFrame:
    """The sample's coaching sessions, drawn from the sample without touching any other random
    stream (its own generator ``default_rng([seed, 5])``).

    Each week from week 2 to week 7 of the sample, the QA lead coaches the 2 agents not coached
    before with the lowest mean review score (IQS) over the 2 weeks before: selection of low
    scorers, as in real teams. The session falls on a weekday of that week (09-17 h UTC), with the
    agent's team lead as ``coach``; ``focus`` is the agent's one or two lowest categories over
    those 2 weeks (category score against the card's mean; ``;``-separated); a plan for 75 % and a
    commitment for 50 % of the sessions. Half of the coached agents get a follow-up session 3 weeks
    later on the same focus.

    The ratings were drawn without any coaching, so the true effect is
    :data:`COACHING_TRUE_EFFECT` = 0: the coached agents' naive before/after rise is regression to
    the mean alone.
    """

    rng = np.random.default_rng([seed, 5])
    card = load_scorecard_text(SCORECARD_YAML)
    ratings, agents = tables["ratings"], tables["agents"]
    t0, t_end = hidden["start"], hidden["end"]
    weeks = int((t_end - t0).days // 7)
    sc = card.score(ratings)
    aid = agents[S.AGENT_ID].to_numpy()
    a_idx = pd.Index(aid).get_indexer(sc[S.AGENT_ID])
    week = ((sc[S.REVIEWED_AT] - t0).dt.days // 7).to_numpy()
    first = _select_low(week, a_idx, sc[S.IQS].to_numpy(dtype=float), len(aid), weeks,
                        lookback=COACHING_LOOKBACK_WEEKS, first_week=COACHING_FIRST_WEEK,
                        last_week=COACHING_LAST_WEEK, per_week=COACHING_PER_WEEK)
    coached = np.flatnonzero(first >= 0)
    coached = coached[np.lexsort((coached, first[coached]))]
    rows = card.category_rows(ratings)
    r_week = ((rows[S.REVIEWED_AT] - t0).dt.days // 7).to_numpy()
    overall = rows.groupby(S.CATEGORY)[S.CATEGORY_SCORE].mean()
    team = agents.set_index(S.AGENT_ID)[S.TEAM]
    out = []
    for a in coached:
        w = int(first[a])
        m = rows[S.AGENT_ID].eq(aid[a]).to_numpy() & (r_week >= w - COACHING_LOOKBACK_WEEKS) & (r_week < w)
        gap = (rows[m].groupby(S.CATEGORY)[S.CATEGORY_SCORE].mean() - overall).dropna().sort_values(kind="stable")
        k = 1 + int(rng.random() < 0.5)
        focus = "; ".join(gap.index[:k])
        day = int(rng.integers(0, 5))
        at = t0 + pd.Timedelta(weeks=w, days=day) + pd.Timedelta(seconds=int(rng.integers(9 * 3600, 17 * 3600)))
        plan = COACHING_PLANS[int(rng.integers(0, len(COACHING_PLANS)))] if rng.random() < 0.75 else None
        commit = COACHING_COMMITMENTS[int(rng.integers(0, len(COACHING_COMMITMENTS)))] if rng.random() < 0.5 else None
        out.append((aid[a], at, focus, f"TL {team[aid[a]]}", plan, commit))
        if rng.random() < 0.5 and w + 3 < weeks:  # a follow-up session on the same focus
            out.append((aid[a], at + pd.Timedelta(weeks=3), focus, f"TL {team[aid[a]]}", None, None))
    out.sort(key=lambda r: (r[1], r[0]))
    return pd.DataFrame({
        S.COACHING_ID: [f"CO{i:03d}" for i in range(1, len(out) + 1)],
        S.AGENT_ID: [r[0] for r in out],
        S.COACHED_AT: pd.DatetimeIndex([r[1] for r in out]).astype("datetime64[ns, UTC]"),
        S.FOCUS: pd.array([r[2] for r in out], dtype="str"),
        S.COACH: pd.array([r[3] for r in out], dtype="str"),
        S.PLAN: pd.array([r[4] for r in out], dtype="str"),
        S.COMMITMENT: pd.array([r[5] for r in out], dtype="str"),
    })


def coaching_panel(*, seed: int = 0, n_agents: int = 40, weeks: int = 12, reviews_per_week: int = 5,
                   effect: float = 0.0, agent_sd: float = 11.0, review_sd: float = 25.0, mean: float = 72.0,
                   per_week: int = 2, lookback: int = 2, first_week: int = 2, last_week: int | None = None,
                   start: str = "2026-08-03") -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small review-score panel with coaching of low scorers and a known effect (for tests and
    the documentation's simulations).

    Agent level ``q_a ~ N(mean, agent_sd)``; each week ``reviews_per_week`` review scores
    ``q_a + N(0, review_sd)`` plus ``effect`` for reviews after the agent's coaching week, clipped
    to 0..100 (IQS points). Coaching: each week from ``first_week`` to ``last_week`` (default
    ``weeks - 6``), the ``per_week`` agents not coached before with the lowest mean over the last
    ``lookback`` weeks (the rule of :func:`generate_coaching`).

    Returns ``(scores, coaching)``: ``review_id, agent_id, reviewed_at, iqs`` and ``agent_id,
    coached_at``.

    Examples
    --------
    >>> s, c = coaching_panel(seed=1, n_agents=10, weeks=8, per_week=1)
    >>> len(s), len(c), sorted(c.columns)
    (400, 1, ['agent_id', 'coached_at'])
    """
    rng = np.random.default_rng(seed)
    last = weeks - 6 if last_week is None else last_week
    q = rng.normal(mean, agent_sd, n_agents)
    agent = np.repeat(np.arange(n_agents), weeks * reviews_per_week)
    week = np.tile(np.repeat(np.arange(weeks), reviews_per_week), n_agents)
    value = q[agent] + rng.normal(0, review_sd, len(agent))
    first = _select_low(week, agent, value, n_agents, weeks, lookback=lookback, first_week=first_week,
                        last_week=last, per_week=per_week)
    value = np.clip(value + effect * ((first[agent] >= 0) & (week > first[agent])), 0, 100)
    t0 = pd.Timestamp(start, tz="UTC")
    day = np.tile(np.arange(reviews_per_week) % 5, n_agents * weeks)
    ids = np.array([f"a{i:03d}" for i in range(n_agents)])
    scores = pd.DataFrame({S.REVIEW_ID: [f"r{i:06d}" for i in range(len(agent))], S.AGENT_ID: ids[agent],
                           S.REVIEWED_AT: t0 + pd.to_timedelta(week * 7 + day, unit="D") + pd.Timedelta(hours=12),
                           S.IQS: value})
    c = np.flatnonzero(first >= 0)
    coaching = pd.DataFrame({S.AGENT_ID: ids[c],
                             S.COACHED_AT: t0 + pd.to_timedelta(first[c] * 7 + 2, unit="D") + pd.Timedelta(hours=10)})
    return scores, coaching


# --- the documented truth --------------------------------------------------------------------
def expected_correlations(*, seeds: range = range(100, 120), **kwargs) -> pd.DataFrame:
    """Monte Carlo of the generator: IQS-CSAT Pearson r at conversation and agent level.

    Each seed generates a full organisation (default size) and scores it with the sample card;
    returns one row per seed with ``r_conversation`` (review IQS vs CSAT score, reviewed
    conversations with a CSAT answer) and ``r_agent`` (per-agent mean IQS vs mean CSAT score).
    """
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
    tables, hidden = _generate(seed=seed)
    tables.update(generate_operations(tables, hidden, seed=seed))  # own random streams: the rest stays identical
    # issue 26 (own streams again): unanswered CSAT invitations appended after the answers, the phone staffing plan
    tables["surveys"] = pd.concat([tables["surveys"], unanswered_surveys(tables, hidden, seed=seed)], ignore_index=True)
    tables["staffing"] = staffing_plan(hidden, seed=seed)


    tables["coaching"] = generate_coaching(tables, hidden, seed=seed)  # its own stream too
    for name, df in tables.items():
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
