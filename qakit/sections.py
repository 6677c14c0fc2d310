"""Report sections: what each cell of the report, study and coaching notebooks shows.

Notebooks stay thin (a ``parameters`` cell, then one call per cell); every call here returns an
object Jupyter displays deterministically: a rounded DataFrame (:func:`qakit.display.table`,
HTML-escaped by pandas), an escaped HTML snippet, or a matplotlib ``Figure`` (built without
pyplot so it is shown exactly once). Numbers are computed unrounded by the qakit functions and
rounded only here, for display.

Customer free text (review comments, survey text) is never shown; customer ids are hashed when
``hash_customer_ids`` is set.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure as _MplFigure

from . import kpis as K
from . import schema as S
from . import stats as ST
from .display import hash_ids, table
from .errors import ParameterError, SmallSampleWarning
from .intervals import MIN_N
from .scorecard import Scorecard, category_scores, iqs_score, load_scorecard
from .targets import DEFAULT_TARGETS, target_status

TABLE_FILES = ("ratings", "conversations", "surveys")


class Figure(_MplFigure):
    """A matplotlib figure that Jupyter shows as a PNG without pyplot (so it is shown exactly once
    and embedded in the static HTML report); ``text/plain`` stays ``<Figure size ...>``."""

    def _repr_png_(self) -> bytes:
        import io as _io

        buf = _io.BytesIO()
        self.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        return buf.getvalue()


@dataclass
class ReportData:
    """The validated inputs of one report run, restricted to the report period."""

    ratings: pd.DataFrame | None  # None: the dataset has no such table (the report leaves its sections out)
    conversations: pd.DataFrame | None
    surveys: pd.DataFrame | None
    card: Scorecard | None
    scores: pd.DataFrame | None
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    source: str
    min_n: int = MIN_N
    notes: list[dict[str, Any]] = field(default_factory=list)
    csat_scale: K.CsatScale = field(default_factory=K.CsatScale)  # the one CSAT definition of the run
    #: the same tables for the previous period of equal length (``ratings``, ``scores``, ...; empty
    #: when the report has no start or the data has nothing before it)
    previous: dict[str, Any] = field(default_factory=dict)
    #: tables the dataset does not have -> why that matters
    missing: dict[str, str] = field(default_factory=dict)

    def has(self, *tables: str) -> bool:
        """Whether every named table is present (and not empty)."""
        return all(getattr(self, t) is not None and len(getattr(self, t)) > 0 for t in tables)


def _find(folder: Path, name: str, *, required: bool = True) -> Path | None:
    for ext in (".parquet", ".csv"):
        p = folder / f"{name}{ext}"
        if p.is_file():
            return p
    if not required:
        return None
    raise ParameterError(f"no {name}.parquet or {name}.csv in {str(folder)!r}")


#: what a report loses without each table
MISSING_EFFECT = {
    "ratings": "no reviews: IQS, pass rate, categories, agents, coaching and the IQS-CSAT study are left out",
    "conversations": "no conversations: response and resolution times, SLA, backlog, FCR and customer cost are left out",
    "surveys": "no survey answers: CSAT, NPS, effort and the IQS-CSAT study are left out",
}


def _day(value: str, name: str) -> pd.Timestamp | None:
    if value in (None, ""):
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ParameterError(f"{name} must be a date like 2026-08-01; got {value!r}") from None
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def load_report_data(
    *,
    dataset: str = "sample",
    ratings_path: str = "",
    conversations_path: str = "",
    surveys_path: str = "",
    scorecard_path: str = "",
    start: str = "",
    end: str = "",
    tz: str = "UTC",
    min_n: int = MIN_N,
    csat_scale: K.CsatScale | str = "1-5",
) -> ReportData:
    """Load, validate and restrict to ``[start, end]`` the tables a report needs.

    Parameters
    ----------
    dataset : str, default="sample"
        ``"sample"`` for the bundled data, or a folder holding ``ratings``, ``conversations``
        and ``surveys`` as ``.parquet`` or ``.csv`` (and ``scorecard.yaml``).
    ratings_path, conversations_path, surveys_path, scorecard_path : str
        Explicit files; override the dataset's.
    start, end : str
        Report period (dates, inclusive; end date counts whole). Empty = everything.
        Ratings are filtered on ``reviewed_at``, conversations on ``created_at``, surveys on
        ``answered_at``. With a period, nothing vanishes unsaid (each case is a line of
        ``notes``, shown by :func:`data_quality`): reviews without ``reviewed_at`` are left out;
        a survey without ``answered_at`` (e.g. sent but not answered) is placed by its
        conversation's ``created_at`` when there is one, else left out; unanswered surveys in
        the period are kept, so the survey KPIs itemise them.
    tz : str, default="UTC"
        Zone of naive timestamps in the files.
    min_n : int, default=30
        Groups with fewer observations are flagged ``small_sample``.
    csat_scale : CsatScale or {"1-5", "1-7", "1-10", "0-10"}, default="1-5"
        The CSAT definition every CSAT number of the report uses (:class:`qakit.kpis.CsatScale`).

    Raises
    ------
    ParameterError
        Missing files, bad dates, ``end`` before ``start``, or a period with no reviews.
    DataValidationError
        Any table breaking the data contract (all problems listed).
    """
    from . import datasets
    from .io import read_table

    if dataset == "sample":
        folder = datasets.sample_data_dir()
    else:
        folder = Path(dataset)
        if not folder.is_dir():
            raise ParameterError(f"dataset must be 'sample' or an existing folder; got {dataset!r}")
    paths = {"ratings": ratings_path, "conversations": conversations_path, "surveys": surveys_path}
    frames: dict[str, pd.DataFrame | None] = {}
    missing = {}
    for name, p in paths.items():
        path = Path(p) if p else _find(folder, name, required=False)
        frames[name] = read_table(path, name, tz=tz) if path is not None else None
        if path is None:
            missing[name] = MISSING_EFFECT[name]
    if len(missing) == len(paths):
        raise ParameterError(f"dataset {str(folder)!r} has none of ratings, conversations, surveys (.parquet or .csv)")
    card = None
    if frames["ratings"] is not None:
        card_path = Path(scorecard_path) if scorecard_path else folder / "scorecard.yaml"
        if not card_path.is_file():
            raise ParameterError(f"scorecard file not found: {str(card_path)!r} (the ratings need their scorecard)")
        card = load_scorecard(card_path)
    t0, t1 = _day(start, "start"), _day(end, "end")
    if t1 is not None and len(end) <= 10:
        t1 = t1 + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    if t0 is not None and t1 is not None and t1 < t0:
        raise ParameterError(f"end ({end}) is before start ({start})")

    csat = K.csat_definition(csat_scale)
    period_set = t0 is not None or t1 is not None

    def in_period(ts: pd.Series) -> pd.Series:
        keep = pd.Series(True, index=ts.index)
        if t0 is not None:
            keep &= ts >= t0
        if t1 is not None:
            keep &= ts <= t1
        return keep.fillna(False).astype(bool)

    def within(df: pd.DataFrame, col: str) -> pd.DataFrame:
        return df[in_period(df[col])].reset_index(drop=True)

    notes = []
    for name in ("surveys", "ratings"):
        if frames[name] is None or frames["conversations"] is None:
            continue
        orphan = S.orphans(frames[name], frames["conversations"])
        if orphan.any():
            id_col = S.REVIEW_ID if name == "ratings" else S.CONVERSATION_ID
            notes.append({"table": name, "used for": "everything",
                          "reason": "conversation_id not in the conversations table: left out",
                          "ids": frames[name].loc[orphan, id_col].astype("str").unique().tolist()})
            frames[name] = frames[name][~orphan].reset_index(drop=True)
    if period_set and frames["ratings"] is not None:
        undated = frames["ratings"][S.REVIEWED_AT].isna()
        if undated.any():
            notes.append({"table": "ratings", "used for": "everything",
                          "reason": f"no {S.REVIEWED_AT}: review cannot be placed in the report period, left out",
                          "ids": frames["ratings"].loc[undated, S.REVIEW_ID].astype("str").unique().tolist()})
    ratings = within(frames["ratings"], S.REVIEWED_AT) if frames["ratings"] is not None else None
    if ratings is not None and ratings.empty:
        have = frames["ratings"][S.REVIEWED_AT]
        raise ParameterError(f"no reviews between {start or 'the beginning'} and {end or 'the end'}; "
                             f"the data covers {have.min():%Y-%m-%d} to {have.max():%Y-%m-%d}")
    conv = within(frames["conversations"], S.CREATED_AT) if frames["conversations"] is not None else None
    sv = frames["surveys"]
    if sv is not None and period_set:
        all_conv = frames["conversations"] if frames["conversations"] is not None else pd.DataFrame(
            {S.CONVERSATION_ID: pd.Series(dtype="str"), S.CREATED_AT: pd.Series(dtype="datetime64[ns, UTC]")})
        sv = _surveys_in_period(sv, all_conv, in_period, notes)
    surveys = sv
    scores = card.score(ratings) if ratings is not None else None
    previous = _previous_period(frames, card, t0, t1)
    return ReportData(ratings=ratings, conversations=conv, surveys=surveys, card=card, scores=scores,
                      start=t0, end=t1, source="bundled sample data" if dataset == "sample" else str(folder),
                      min_n=min_n, notes=notes, csat_scale=csat, previous=previous, missing=missing)


def _previous_period(frames: Mapping[str, pd.DataFrame | None], card: Scorecard | None,
                     t0: pd.Timestamp | None, t1: pd.Timestamp | None) -> dict[str, Any]:
    """The tables restricted to the period of equal length just before ``[t0, t1]`` (empty without a
    start; an end defaults to the last timestamp in the data)."""
    if t0 is None:
        return {}
    if t1 is None:
        last = [f[c].max() for f, c in ((frames["ratings"], S.REVIEWED_AT), (frames["conversations"], S.CREATED_AT))
                if f is not None and len(f)]
        if not last:
            return {}
        t1 = max(last)
    p1 = t0 - pd.Timedelta(microseconds=1)
    p0 = t0 - (t1 - t0) - pd.Timedelta(microseconds=1)
    out: dict[str, Any] = {"start": p0, "end": p1}
    for name, col in (("ratings", S.REVIEWED_AT), ("conversations", S.CREATED_AT), ("surveys", S.ANSWERED_AT)):
        f = frames[name]
        if f is not None:
            keep = (f[col] >= p0) & (f[col] <= p1)
            out[name] = f[keep.fillna(False).astype(bool)].reset_index(drop=True)
    if out.get("ratings") is not None and len(out["ratings"]) and card is not None:
        out["scores"] = card.score(out["ratings"])
    return out


def _surveys_in_period(sv: pd.DataFrame, conv: pd.DataFrame, in_period, notes: list[dict[str, Any]]) -> pd.DataFrame:
    """Surveys of the report period: by ``answered_at``; without it, by the conversation's
    ``created_at`` (said in ``notes``); with neither, left out (said in ``notes``)."""
    created = sv[S.CONVERSATION_ID].map(conv.drop_duplicates(S.CONVERSATION_ID).set_index(S.CONVERSATION_ID)[S.CREATED_AT])
    undated = sv[S.ANSWERED_AT].isna()
    by_conv = undated & created.notna()
    when = sv[S.ANSWERED_AT].where(~undated, created)
    keep = in_period(when)
    ids = sv[S.CONVERSATION_ID].astype("str") + " / " + sv[S.KIND].astype("str")
    if (by_conv & keep).any():
        notes.append({"table": "surveys", "used for": "survey KPIs (kept)",
                      "reason": f"no {S.ANSWERED_AT}: placed in the period by its conversation's {S.CREATED_AT}",
                      "ids": ids[by_conv & keep].tolist()})
    lost = undated & created.isna()
    if lost.any():
        notes.append({"table": "surveys", "used for": "everything",
                      "reason": f"no {S.ANSWERED_AT} and no conversation time: cannot be placed in the period, left out",
                      "ids": ids[lost].tolist()})
    return sv[keep].reset_index(drop=True)


def _quiet(fn, *a, **kw):
    """Small-sample warnings become the ``small_sample`` column in reports, not stderr noise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        return fn(*a, **kw)


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


def headline_values(data: ReportData) -> dict[str, float]:
    """The KPI values targets are checked against, in display units (percent for shares), keyed by
    the KPI registry's names (:data:`qakit.registry.METRICS`; earlier names in
    :data:`qakit.registry.ALIASES` too). Only what the data has."""
    from .registry import ALIASES, METRICS

    out: dict[str, float] = {}
    if data.scores is not None and len(data.scores):
        iqs = iqs_score(data.scores, min_n=0)
        for name in ("iqs", "pass_rate"):
            out[name] = float(iqs[METRICS[name].value].iloc[0]) * METRICS[name].scale
    if data.conversations is not None and len(data.conversations):
        summary = K.kpi_summary(data.conversations, data.surveys, csat_scale=data.csat_scale).set_index(K.KPI)[K.VALUE]
        for k, v in summary.items():
            if k in METRICS:
                out[k] = float(v) * METRICS[k].scale
    for old, new in ALIASES.items():
        if new in out:
            out[old] = out[new]
    return out


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
    scores = _with_conv_cols(data, data.scores, by)
    return table(_hide_customers(_quiet(iqs_score, scores, by=by, min_n=data.min_n)))


def _hide_customers(t: pd.DataFrame) -> pd.DataFrame:
    """Customer ids in a report table are shown hashed (as everywhere else in the report), also
    when a table is grouped by ``customer_id``."""
    return t.assign(**{S.CUSTOMER_ID: hash_ids(t[S.CUSTOMER_ID])}) if S.CUSTOMER_ID in t.columns else t


def _with_conv_cols(data: ReportData, frame: pd.DataFrame, by) -> pd.DataFrame:
    keys = [by] if isinstance(by, str) else list(by or [])
    missing = [k for k in keys if k not in frame.columns and k in data.conversations.columns]
    if missing:
        frame = frame.merge(data.conversations[[S.CONVERSATION_ID, *missing]], on=S.CONVERSATION_ID, how="left")
    return frame


def category_table(data: ReportData) -> pd.DataFrame:
    """Category scores (pooled over the reviews that rated each category) with CIs."""
    t = _quiet(category_scores, data.ratings, data.card, min_n=data.min_n)
    order = {c: i for i, c in enumerate(data.card.category_names)}
    return table(t.sort_values(S.CATEGORY, key=lambda s: s.map(order)).reset_index(drop=True))


def agent_table(data: ReportData, *, top: int | None = None) -> pd.DataFrame:
    """Per agent: IQS with CI, small-sample flag, empirical-Bayes IQS, ranks, CSAT with CI."""
    t = _quiet(ST.agent_summary, data.scores, data.surveys, min_n=data.min_n, conversations=data.conversations,
               scale=data.csat_scale)
    return table(t, max_rows=top)


def iqs_trend_figure(data: ReportData, *, period: str = "W") -> Figure:
    """Weekly (or monthly) IQS with its 95 % CI band, and CSAT on a second axis."""
    t = _quiet(iqs_score, data.scores, period=period, min_n=0)
    fig = Figure(figsize=(7, 3.2))
    ax = fig.subplots()
    ax.plot(t["period"], t[S.IQS], marker="o", color="#4c72b0", label="IQS")
    ax.fill_between(t["period"], t[S.CI_LOW], t[S.CI_HIGH], color="#4c72b0", alpha=0.2, label="95% CI")
    cs = _quiet(K.csat_score, data.surveys, period=period, min_n=0, scale=data.csat_scale,
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
    return table(_quiet(ST.iqs_csat_correlation, data.scores, data.surveys, unit=unit, method=methods,
                        seed=seed, conversations=data.conversations, scale=data.csat_scale), digits=3)


def drivers_table(data: ReportData) -> pd.DataFrame:
    """Key drivers: CSAT regressed on standardised category scores."""
    return table(ST.key_drivers(data.ratings, data.card, data.surveys, scale=data.csat_scale), digits=3)


def iqs_csat_figure(data: ReportData, *, seed: int = 0) -> Figure:
    """Review IQS by the customer's CSAT answer: every conversation (jittered dots) and the mean
    IQS per answer with its 95 % bootstrap CI (seaborn, seeded)."""
    import seaborn as sns

    j = ST.join_csat(data.scores, data.surveys, scale=data.csat_scale)
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
def coaching_table(data: ReportData, *, agent_id: str | None = None, level: float = 0.95) -> pd.DataFrame:
    """Per agent and category: the agent's category score with CI against the team's; categories
    where the agent's upper CI bound is below the team score are the coaching focus.

    Returns ``agent_id, category, n, category_score, ci_low, ci_high, team_score, gap, focus``
    (team = all reviews of the agent's team, or everyone when there are no teams).
    """
    ratings = _with_conv_cols(data, data.ratings, S.TEAM)
    team_col = S.TEAM if S.TEAM in ratings.columns else None
    per_agent = _quiet(category_scores, ratings, data.card, by=[S.AGENT_ID], level=level, min_n=0)
    if team_col:
        team = _quiet(category_scores, ratings, data.card, by=[team_col], min_n=0)
        agent_team = ratings.groupby(S.AGENT_ID)[team_col].first()
        per_agent[team_col] = per_agent[S.AGENT_ID].map(agent_team)
        per_agent = per_agent.merge(team[[team_col, S.CATEGORY, S.CATEGORY_SCORE]].rename(
            columns={S.CATEGORY_SCORE: "team_score"}), on=[team_col, S.CATEGORY], how="left")
    else:
        team = _quiet(category_scores, ratings, data.card, min_n=0)
        per_agent = per_agent.merge(team[[S.CATEGORY, S.CATEGORY_SCORE]].rename(
            columns={S.CATEGORY_SCORE: "team_score"}), on=S.CATEGORY, how="left")
    per_agent["gap"] = per_agent[S.CATEGORY_SCORE] - per_agent["team_score"]
    per_agent["focus"] = per_agent[S.CI_HIGH] < per_agent["team_score"]
    if agent_id is not None:
        if agent_id not in set(per_agent[S.AGENT_ID]):
            raise ParameterError(f"agent_id {agent_id!r} has no reviews in the period; "
                                 f"agents: {sorted(per_agent[S.AGENT_ID].unique())[:10]}...")
        per_agent = per_agent[per_agent[S.AGENT_ID].eq(agent_id)]
    cols = [S.AGENT_ID, S.CATEGORY, S.N, S.CATEGORY_SCORE, S.CI_LOW, S.CI_HIGH, "team_score", "gap", "focus"]
    return per_agent[cols].reset_index(drop=True)


def coaching_focus(data: ReportData) -> pd.DataFrame:
    """Only the (agent, category) pairs flagged as coaching focus, largest gap first."""
    t = coaching_table(data)
    t = t[t["focus"]].sort_values(["gap", S.AGENT_ID]).reset_index(drop=True)
    return table(t, max_rows=None)


def agent_trend_figure(data: ReportData, agent_id: str, *, period: str = "W") -> Figure:
    """An agent's IQS per week against the overall IQS."""
    a = _quiet(iqs_score, data.scores[data.scores[S.AGENT_ID].eq(agent_id)], period=period, min_n=0)
    allx = _quiet(iqs_score, data.scores, period=period, min_n=0)
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
    """Every row the report's numbers leave out, by table and reason, with example ids."""
    checks = [
        ("ratings", "review scores", data.scores),
        ("conversations", "first response time", K.first_response_time(data.conversations, min_n=0)),
        ("conversations", "resolution time", K.resolution_time(data.conversations, min_n=0)),
        ("conversations", "FCR", K.fcr_rate(data.conversations, min_n=0)),
        ("conversations", "SLA attainment", K.sla_attainment(data.conversations, min_n=0)),
    ]
    sv = data.surveys
    if sv[S.SCORE].isna().any():
        kinds = set(sv[S.KIND])
        if "csat" in kinds:
            checks.append(("surveys", "CSAT", K.csat_score(sv, min_n=0, scale=data.csat_scale)))
        if "nps" in kinds:
            checks.append(("surveys", "NPS", K.nps_score(sv, min_n=0)))
        if "ces" in kinds:
            checks.append(("surveys", "CES", K.ces_score(sv, min_n=0)))
    rows = [{"table": n["table"], "used for": n["used for"], "reason": n["reason"], S.N: len(n["ids"]),
             "example ids": ", ".join(n["ids"][:show_ids]) + (" ..." if len(n["ids"]) > show_ids else "")}
            for n in data.notes]
    def row(tbl: str, used_for: str, reason: str, ids: list) -> dict:
        return {"table": tbl, "used for": used_for, "reason": reason, S.N: len(ids),
                "example ids": ", ".join(ids[:show_ids]) + (" ..." if len(ids) > show_ids else "")}

    for tbl, used_for, res in checks:
        for _, e in S.exclusions(res).iterrows():
            rows.append(row(tbl, used_for, e["reason"], list(e["row_ids"])))
    seen = set()  # rows kept but changed: said once (a read adjustment reaches every KPI of its table)
    for tbl, frame in (("ratings", data.ratings), ("conversations", data.conversations), ("surveys", data.surveys)):
        if S.has_record(frame):
            for _, e in S.adjustments(frame).iterrows():  # changed when the file was read (ids normalised ...)
                seen.add((e["reason"], e["row_ids"]))
                rows.append(row(tbl, "kept, changed when read", e["reason"], list(e["row_ids"])))
    for tbl, used_for, res in checks:
        for _, e in S.adjustments(res).iterrows():
            if (e["reason"], e["row_ids"]) not in seen:
                seen.add((e["reason"], e["row_ids"]))
                rows.append(row(tbl, used_for, f"kept, changed: {e['reason']}", list(e["row_ids"])))
    out = pd.DataFrame(rows, columns=["table", "used for", "reason", S.N, "example ids"])
    return out


def conversations_for_display(data: ReportData, *, hash_customer_ids: bool = True) -> pd.DataFrame:
    """The conversations table as a report may show it: customer ids hashed, free text dropped."""
    c = data.conversations.drop(columns=[x for x in data.conversations.columns if x in ("text", "comment", "body")])
    if hash_customer_ids:
        c = c.assign(**{S.CUSTOMER_ID: hash_ids(c[S.CUSTOMER_ID])})
    return c


def load_calibration(*, dataset: str = "sample", scorecard_path: str = "") -> tuple[pd.DataFrame, Scorecard | None]:
    """Ratings of a calibration session and the card that gives their scales.

    ``dataset``: ``"sample"`` (the bundled session: 60 conversations x 5 reviewers with planted
    biases), ``"fed"`` (the real FED multi-annotator ratings, ``qakit.realdata.load_fed``; no
    card: categories are rated 0-2) or a ratings file (CSV/Parquet) with several reviewers per
    conversation.
    """
    from . import datasets
    from .io import read_table

    if dataset == "sample":
        ratings, card = datasets.load_sample("calibration"), datasets.load_sample_scorecard()
    elif dataset == "fed":
        from .realdata import load_fed

        ratings, card = load_fed(), None
    else:
        p = Path(dataset)
        if not p.is_file():
            raise ParameterError(f"dataset must be 'sample', 'fed' or a ratings file; got {dataset!r}")
        ratings, card = read_table(p, "ratings"), None
    if scorecard_path:
        card = load_scorecard(scorecard_path)
    return ratings, card


def heading(text: str) -> Any:
    """An escaped HTML heading (for data-dependent titles such as an agent's name)."""
    from IPython.display import HTML

    return HTML(f"<h3>{html.escape(str(text))}</h3>")
