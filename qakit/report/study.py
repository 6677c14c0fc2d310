"""Display for the study, coaching and calibration notebooks (and the report's customer-value section).

What each cell of ``iqs_csat_study``, ``coaching`` and ``calibration`` shows: a rounded DataFrame
(:func:`qakit.report.display.table`, HTML-escaped by pandas), an escaped HTML snippet, or a matplotlib
:class:`qakit.report.display.Figure` (built without pyplot so it is shown exactly once). Numbers come
unrounded from qakit's analysis (:mod:`qakit.stats`, :mod:`qakit.kpis`, :mod:`qakit.report.tiles`)
and are rounded only here. Data loading is :mod:`qakit.report.data`; the report's own display is
:mod:`qakit.report.views`.

Customer free text (review comments, survey text) is never shown; customer ids are hashed when
``hash_customer_ids`` is set.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

import seaborn as sns
from IPython.display import HTML

from .. import kpis as K
from .. import schema as S
from .. import stats as ST
from ..scorecard import category_scores, iqs_score
from .common import quiet
from .data import ReportData, engine_table, with_conversation_columns
from .display import Figure, hash_ids, table
from .targets import DEFAULT_TARGETS, target_status
from .tiles import coaching_table, headline_values, left_out_rows


# --- overview and targets ------------------------------------------------------------------------------
def overview(data: ReportData) -> pd.DataFrame:
    """One row: period covered and how much data the report rests on."""
    s = data.scores
    r = data.ratings[S.REVIEWED_AT]
    return pd.DataFrame([{
        "source": data.source, "first review": f"{r.min():%Y-%m-%d}", "last review": f"{r.max():%Y-%m-%d}",
        "reviews": int(len(s)), "scored": int(s[S.IQS].notna().sum()), "agents": int(s[S.AGENT_ID].nunique()),
        "conversations": int(len(data.conversations)),
        "survey answers": int(data.surveys[S.SCORE].notna().sum()), "scorecard": data.card.name,
    }])


def kpi_targets(data: ReportData, targets: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Every targeted KPI with its value, target, owner and status (on target / at risk / off
    target / no data)."""
    targets = dict(targets or DEFAULT_TARGETS)
    for k, spec in targets.items():  # default labels for the standard KPIs
        if isinstance(spec, dict) and "label" not in spec and k in DEFAULT_TARGETS:
            targets[k] = {**spec, "label": DEFAULT_TARGETS[k]["label"]}
    return table(target_status(headline_values(data), targets))


# --- QA ------------------------------------------------------------------------------------------------------
def iqs_table(data: ReportData, *, by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """IQS with CI and pass rate, overall (``by=None``) or per group (columns of ratings, or of
    conversations such as ``team``)."""
    scores = with_conversation_columns(data, data.scores, by)
    return table(_hide_customers(quiet(iqs_score, scores, by=by, min_n=data.min_n)))


def _hide_customers(t: pd.DataFrame) -> pd.DataFrame:
    """Customer ids in a report table are shown hashed (as everywhere else in the report), also
    when a table is grouped by ``customer_id``."""
    return t.assign(**{S.CUSTOMER_ID: hash_ids(t[S.CUSTOMER_ID])}) if S.CUSTOMER_ID in t.columns else t


def category_table(data: ReportData) -> pd.DataFrame:
    """Category scores (pooled over the reviews that rated each category) with CIs."""
    t = quiet(category_scores, data.ratings, data.registry, min_n=data.min_n)
    order = {c: i for i, c in enumerate(data.category_names)}
    return table(t.sort_values(S.CATEGORY, key=lambda s: s.map(order)).reset_index(drop=True))


def agent_table(data: ReportData, *, top: int | None = None) -> pd.DataFrame:
    """Per agent: IQS with CI, small-sample flag, empirical-Bayes IQS, ranks, CSAT with CI."""
    t = quiet(ST.agent_summary, data.scores, data.surveys, min_n=data.min_n, conversations=data.conversations,
               scale=data.csat_scale)
    return table(t, max_rows=top)


def iqs_trend_figure(data: ReportData, *, period: str = "W") -> Figure:
    """Weekly (or monthly) IQS with its 95 % CI band, and CSAT on a second axis."""
    t = quiet(iqs_score, data.scores, period=period, min_n=0)
    fig = Figure(figsize=(7, 3.2))
    ax = fig.subplots()
    ax.plot(t["period"], t[S.IQS], marker="o", color="#4c72b0", label="IQS")
    ax.fill_between(t["period"], t[S.CI_LOW], t[S.CI_HIGH], color="#4c72b0", alpha=0.2, label="95% CI")
    cs = quiet(K.csat_score, data.surveys, period=period, min_n=0, scale=data.csat_scale,
                conversations=data.conversations)
    if len(cs):
        ax.plot(cs["period"], cs[K.CSAT], marker="s", color="#dd8452", label="CSAT (% satisfied)")
    ax.set(ylabel="percent", title=f"IQS and CSAT by {dict(W='week', M='month', Q='quarter').get(period, period)}")
    ax.legend(loc="lower left", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


# --- customer KPIs ------------------------------------------------------------------------------------------------
def customer_kpis(data: ReportData, *, by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """The headline customer KPIs (CSAT, NPS, CES, times, FCR, escalation, SLA) per group."""
    return table(_hide_customers(K.kpi_summary(data.conversations, data.surveys, by=by, csat_scale=data.csat_scale)),
                 digits=3, max_rows=None)


def time_table(data: ReportData, *, by: str | Sequence[str] | None = "channel") -> pd.DataFrame:
    """First response and resolution time (median, mean, p90 hours) per group."""
    fr = K.first_response_time(data.conversations, by=by, min_n=0)
    rt = K.resolution_time(data.conversations, by=by, min_n=0)
    keys = [by] if isinstance(by, str) else list(by or [])
    cols_f = keys + [S.N, K.FIRST_RESPONSE_TIME, f"{K.FIRST_RESPONSE_TIME}_p90"]
    cols_r = keys + [K.RESOLUTION_TIME, f"{K.RESOLUTION_TIME}_p90", S.N_EXCLUDED]
    out = fr[cols_f].merge(rt[cols_r], on=keys) if keys else pd.concat([fr[cols_f], rt[cols_r]], axis=1)
    return table(out.rename(columns={S.N_EXCLUDED: "open or unusable"}), digits=2)


def sla_table(data: ReportData, *, targets: Mapping[str, float] | None = None, goal: float = 95.0) -> pd.DataFrame:
    """SLA attainment per priority (resolution within the priority's target hours)."""
    return table(K.sla_attainment(data.conversations, targets=targets, goal=goal, min_n=0))


def backlog_figure(data: ReportData, *, period: str = "W") -> Figure:
    """Open conversations at each period end, with opened and closed counts."""
    b = K.backlog(data.conversations, period=period)
    fig = Figure(figsize=(7, 3))
    ax = fig.subplots()
    ax.bar(b[K.PERIOD], b[K.OPENED], width=2, color="#8fb3d9", label="opened")
    ax.plot(b[K.PERIOD], b[K.BACKLOG], color="#c44e52", marker="o", label="open at period end")
    ax.set(title="Backlog", ylabel="conversations")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


# --- IQS and CSAT -----------------------------------------------------------------------------------------------------
def iqs_csat_table(data: ReportData, *, unit: str = "conversation", seed: int = 0) -> pd.DataFrame:
    """Pearson, Spearman and Kendall correlation of IQS with CSAT, with CIs and p-values."""
    methods = ["pearson", "spearman", "kendall"] + (["point_biserial"] if unit == "conversation" else [])
    return table(quiet(ST.iqs_csat_correlation, engine_table(data, "scores"), data.surveys, unit=unit, method=methods,
                        seed=seed, conversations=data.conversations, scale=data.csat_scale), digits=3)


def drivers_table(data: ReportData) -> pd.DataFrame:
    """Key drivers: CSAT regressed on standardised category scores."""
    return table(ST.key_drivers(data.ratings, data.card, data.surveys, scale=data.csat_scale), digits=3)


def iqs_csat_figure(data: ReportData, *, seed: int = 0) -> Figure:
    """Review IQS by the customer's CSAT answer: every conversation (jittered dots) and the mean
    IQS per answer with its 95 % bootstrap CI (seaborn, seeded)."""
    j = ST.join_csat(engine_table(data, "scores"), data.surveys, scale=data.csat_scale)
    j = j.assign(**{ST.CSAT: j[ST.CSAT].round().astype(int)})
    order = sorted(j[ST.CSAT].unique())
    fig = Figure(figsize=(5.5, 3.4))
    ax = fig.subplots()
    # the dots are jittered here with a seeded generator: seaborn's stripplot jitters with numpy's
    # global random state, which made the figure differ from run to run
    rng = np.random.default_rng(seed)
    x = j[ST.CSAT].map({v: i for i, v in enumerate(order)}).to_numpy(dtype=float) + rng.uniform(-0.25, 0.25, len(j))
    ax.scatter(x, j[S.IQS], color="grey", alpha=0.25, s=9, linewidths=0)
    sns.pointplot(data=j, x=ST.CSAT, y=S.IQS, order=order, ax=ax, errorbar=("ci", 95), seed=seed,
                  linestyle="none", capsize=0.2, color="#c44e52")
    ax.set(xlabel="CSAT answer", ylabel="review IQS", title=f"IQS by CSAT answer (n = {len(j)}), mean and 95% CI")
    fig.tight_layout()
    return fig


def costly_customers(data: ReportData, *, cost_per_contact: float = 5.0, top: int = 10,
                     hash_customer_ids: bool = True) -> pd.DataFrame:
    """Customers whose support cost exceeds their value, most expensive relative to value first;
    customer ids hashed by default (reports should not expose them)."""
    t = K.customer_cost_value(data.conversations, cost_per_contact=cost_per_contact)
    t = t[t[K.COSTS_MORE]].head(top).reset_index(drop=True)
    if hash_customer_ids:
        t[S.CUSTOMER_ID] = hash_ids(t[S.CUSTOMER_ID])
    return table(t, digits=2)


def customer_value_figure(data: ReportData, *, cost_per_contact: float = 5.0) -> Figure:
    """Support cost against customer value for every customer (log axes; seaborn)."""
    t = K.customer_cost_value(data.conversations, cost_per_contact=cost_per_contact)
    fig = Figure(figsize=(5.5, 4))
    K.customer_cost_value_plot(t, ax=fig.subplots())
    fig.tight_layout()
    return fig


# --- coaching ------------------------------------------------------------------------------------------------------------
def coaching_focus(data: ReportData) -> pd.DataFrame:
    """Only the (agent, category) pairs flagged as coaching focus, largest gap first."""
    t = coaching_table(data)
    t = t[t["focus"]].sort_values(["gap", S.AGENT_ID]).reset_index(drop=True)
    return table(t, max_rows=None)


def agent_trend_figure(data: ReportData, agent_id: str, *, period: str = "W") -> Figure:
    """An agent's IQS per week against the overall IQS."""
    a = quiet(iqs_score, data.scores[data.scores[S.AGENT_ID].eq(agent_id)], period=period, min_n=0)
    allx = quiet(iqs_score, data.scores, period=period, min_n=0)
    fig = Figure(figsize=(6.5, 3))
    ax = fig.subplots()
    ax.errorbar(a["period"], a[S.IQS], yerr=[a[S.IQS] - a[S.CI_LOW], a[S.CI_HIGH] - a[S.IQS]],
                marker="o", capsize=3, label=html.escape(str(agent_id)))
    ax.plot(allx["period"], allx[S.IQS], color="grey", ls="--", label="everyone")
    ax.set(ylabel="IQS", title="Weekly IQS (95% CI)")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def low_rating_examples(data: ReportData, agent_id: str, *, per_category: int = 3) -> pd.DataFrame:
    """Conversation ids behind the agent's lowest ratings in focus categories (no free text)."""
    rows = data.card.category_rows(data.ratings[data.ratings[S.AGENT_ID].eq(agent_id)])
    low = rows[rows[S.CATEGORY_SCORE].notna() & (rows[S.CATEGORY_SCORE] < 50)]
    low = low.sort_values([S.CATEGORY, S.CATEGORY_SCORE, S.REVIEWED_AT, S.REVIEW_ID])
    low = low.groupby(S.CATEGORY, sort=False).head(per_category)
    return table(low[[S.CATEGORY, S.CONVERSATION_ID, S.REVIEW_ID, S.REVIEWED_AT, S.RATING, S.CATEGORY_SCORE]]
                 .reset_index(drop=True), max_rows=None)


# --- data quality -------------------------------------------------------------------------------------------------------------
def data_quality(data: ReportData, *, show_ids: int = 5) -> pd.DataFrame:
    """Every row the report's numbers leave out, by table and reason, with example ids
    (:func:`qakit.report.tiles.left_out_rows`)."""
    return left_out_rows(data, show_ids=show_ids)


def conversations_for_display(data: ReportData, *, hash_customer_ids: bool = True) -> pd.DataFrame:
    """The conversations table as a report may show it: customer ids hashed, free text dropped."""
    c = data.conversations.drop(columns=[x for x in data.conversations.columns if x in ("text", "comment", "body")])
    if hash_customer_ids:
        c = c.assign(**{S.CUSTOMER_ID: hash_ids(c[S.CUSTOMER_ID])})
    return c


def heading(text: str) -> Any:
    """An escaped HTML heading (for data-dependent titles such as an agent's name)."""
    return HTML(f"<h3>{html.escape(str(text))}</h3>")


#: every function here displays a loaded ReportData (the notebooks call them by module); nothing
#: table-first to export for qakit's common checks, which reach this data via load_report_data
__all__: list[str] = []
