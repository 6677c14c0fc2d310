"""The report's optional sections: calls, customers from a customers table, the QA process (review
coverage, disputes, reviewer strictness) and automatic scoring (AQS, kept apart from IQS).

:func:`load_optional_tables` finds the optional tables next to the report's ratings /
conversations / surveys (``calls`` or ``calls_daily``, ``customers``, ``disputes``, ``messages``,
as ``.parquet`` or ``.csv``), validates them with the data contract (all problems at once, the
file named), restricts them to the report period and attaches them to the
:class:`~qakit.report.data.ReportData`; a missing table adds one line to the report's "left out"
list saying which file would enable its section.

The numbers come from :mod:`qakit.ops`, :mod:`qakit.kpis`, :mod:`qakit.autoqa` and the scorecard
engine; this module arranges and formats them (:func:`qakit.report.display.pretty`). Conversation text
never reaches the report: the automatic-scoring section shows counts, shares and scores only.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from matplotlib.colors import BoundaryNorm, ListedColormap
from scipy import stats as sst

from .. import autoqa
from .. import kpis as K
from .. import ops as O
from .. import schema as S
from .._public import public
from ..autoqa import learned as AL
from ..autoqa import rules as AR
from ..autoqa.output import MEASURE, VALUE
from ..errors import QakitError
from ..registry import METRICS
from ..scorecard import Category, Scorecard, category_scores
from ..calls import call_abandon_time, call_answer_time, call_handle_time
from ..metrics import calls as CL
from .common import AGENT_ROWS, COLOURS, HTML, WIDE, note, quiet, span_dates
from .data import (OPTIONAL_TABLES, ReportData, engine_columns, engine_distinct, engine_frame, engine_table,
                   scores_on_engine, scores_record, table_span)
from .support import nothing, shown
from .display import Figure, Table, pretty, readable, tables_note, write_table_files
from .tiles import register_tile

#: reviews per agent per week the coverage section checks against
PLAN = O.DEFAULT_PLAN
#: service level: calls answered within this many seconds (the 80/20 convention's 20 s)
THRESHOLD_S = 20


def _ci(lo: str, hi: str) -> str:
    return f"{lo}\u00a0–\u00a0{hi}" if lo and hi else ""


def _pct(v: float, digits: int = 1) -> str:
    return "" if v is None or not np.isfinite(v) else f"{100 * v:,.{digits}f}"


def _word(period: str) -> str:
    return dict(D="day", W="week", M="month", Q="quarter").get(period, period)


# --- headline tiles ------------------------------------------------------------------------------------------
#: registry metrics the optional tables add to the headline tiles (when the data has them)
OPTIONAL_HEADLINE = ("service_level", "aqs")


def _tile_rows(name: str, data: ReportData, calls: pd.DataFrame | None, messages: pd.DataFrame | None):
    """Row-level values of an optional tile for :func:`qakit.impact.compare_periods`:
    ``(frame, value column, time column, kind)`` or None."""
    if name == "service_level" and calls is not None and len(calls) and S.SPEED_OF_ANSWER_S in calls.columns:
        use, ok, _ = K._service_level_judged(calls, THRESHOLD_S)  # kpis.service_level's one rule
        return calls[use].assign(_v=ok[use].astype(float)), "_v", S.CREATED_AT, "rate"
    if name == "aqs" and messages is not None and len(messages):
        a = _autoqa(data) if messages is getattr(data, "messages", None) else _automatic(messages, getattr(data, "card", None))
        s = a["card"].score(a["auto"].drop(columns=["source"]))
        first = messages.groupby(S.CONVERSATION_ID)[S.SENT_AT].min()
        s = s[s[S.IQS].notna()].assign(_t=lambda x: x[S.CONVERSATION_ID].map(first))
        return s, S.IQS, "_t", "iqs"
    return None


def _service_level_value(data: ReportData):
    """``(n, value, ci_low, ci_high)`` of the service level tile in percent, from the calls or the daily aggregates."""
    if not (data.has("calls") or data.has("calls_daily")):
        return None
    t = data.cached("calls_all", lambda: _calls_period(data, None)).set_index("kpi")
    if O.SERVICE_LEVEL not in t.index:
        return None
    r = t.loc[O.SERVICE_LEVEL]
    return int(r[S.N]), 100 * r[O.VALUE], 100 * r[S.CI_LOW], 100 * r[S.CI_HIGH]


def _aqs_value(data: ReportData):
    """``(n, value, ci_low, ci_high)`` of the AQS tile, from the messages."""
    if not data.has("messages"):
        return None
    q = _autoqa(data)["aqs"].iloc[0]
    return int(q[S.N]), q["aqs"], q[S.CI_LOW], q[S.CI_HIGH]


register_tile("service_level", _service_level_value,
              lambda data, table: _tile_rows("service_level", data, table("calls"), None))
register_tile("aqs", _aqs_value, lambda data, table: _tile_rows("aqs", data, None, table("messages")))


# --- calls ----------------------------------------------------------------------------------------------------
def _calls_period(data: ReportData, period: str | None) -> pd.DataFrame:
    """``[period], kpi, n, value, ci_low, ci_high`` for service level, abandonment and speed of answer
    (shares as proportions, speed in seconds), from the calls or the daily aggregates."""
    if data.has("calls"):
        c = data.calls
        keys = [K.PERIOD] if period else []
        parts = []
        if S.SPEED_OF_ANSWER_S in c.columns:
            sl = quiet(K.service_level, c, threshold_s=THRESHOLD_S, period=period, min_n=0)
            parts.append(sl[keys + [S.N, K.SERVICE_LEVEL, S.CI_LOW, S.CI_HIGH]].rename(
                columns={K.SERVICE_LEVEL: O.VALUE}).assign(kpi=O.SERVICE_LEVEL))
        # abandonment: a queue log's timeouts and overflows are not abandoned (the KPI's own rule)
        ab = quiet(K.abandonment_rate, c, period=period, min_n=0)
        parts.append(ab[keys + [S.N, K.ABANDONMENT_RATE, S.CI_LOW, S.CI_HIGH]].rename(
            columns={K.ABANDONMENT_RATE: O.VALUE}).assign(kpi=O.ABANDONMENT_RATE))
        for col, fn, value, kpi in ((S.SPEED_OF_ANSWER_S, call_answer_time, CL.ASA_S, O.ASA),
                                    (S.TIME_TO_ABANDON_S, call_abandon_time, S.TIME_TO_ABANDON_S, TIME_TO_ABANDON),
                                    (S.HANDLE_TIME_S, call_handle_time, S.HANDLE_TIME_S, O.AHT)):
            if col in c.columns and c[col].notna().any():
                t = quiet(fn, c, period=period, min_n=0)
                parts.append(t[keys + [S.N, value, S.CI_LOW, S.CI_HIGH]].rename(columns={value: O.VALUE})
                             .assign(kpi=kpi))
        return pd.concat(parts, ignore_index=True)
    t = quiet(O.calls_daily_kpis, data.calls_daily, period=period, min_n=0)
    return t.rename(columns={O.PERIOD: K.PERIOD}) if period else t


#: the calls table's mean time to abandon (seconds), a row of :func:`_calls_period`
TIME_TO_ABANDON = "time_to_abandon_s"


def _sl_target() -> float:
    m = METRICS["service_level"]
    return float(m.target) if m.target is not None else 80.0


def calls_figure(data: ReportData, *, period: str = "W") -> Figure | HTML:
    """Service level per day/week with its 95 % interval and the target line; abandoned calls below."""
    if not shown(data, "calls"):
        return nothing()
    t = data.cached(f"calls_{period}", lambda: _calls_period(data, period))
    fig = Figure(figsize=(WIDE, 5.2))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    within = f"{THRESHOLD_S} s" if data.has("calls") else "the threshold"
    sl = t[t["kpi"].eq(O.SERVICE_LEVEL)]
    if len(sl):
        top.plot(sl[K.PERIOD], 100 * sl[O.VALUE], marker="o", color="#1565c0",
                 label=f"service level (answered within {within})")
        top.fill_between(sl[K.PERIOD], 100 * sl[S.CI_LOW], 100 * sl[S.CI_HIGH], color="#1565c0", alpha=0.15,
                         label="95 % interval")
        target = _sl_target()
        top.axhline(target, color=COLOURS["status-off"], ls="--", lw=1.2, label=f"target {target:g} %")
    top.set_ylabel("service level (%)")
    top.set_title(f"Calls by {_word(period)}: service level and abandoned calls", loc="left")
    top.grid(alpha=0.3)
    top.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False, fontsize=9)
    ab = t[t["kpi"].eq(O.ABANDONMENT_RATE)]
    bottom.plot(ab[K.PERIOD], 100 * ab[O.VALUE], marker="s", color="#ef6c00", label="abandoned calls")
    bottom.fill_between(ab[K.PERIOD], 100 * ab[S.CI_LOW], 100 * ab[S.CI_HIGH], color="#ef6c00", alpha=0.15,
                        label="95 % interval")
    bottom.set_ylabel("abandoned (%)")
    bottom.set_ylim(bottom=0)
    bottom.grid(alpha=0.3)
    bottom.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False, fontsize=9)
    span_dates(bottom, t[K.PERIOD], period)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def calls_table(data: ReportData) -> Table | HTML:
    """Service level, abandoned calls and mean speed of answer over the period, each with n and its
    95 % interval, against the target."""
    if not shown(data, "calls"):
        return nothing()
    t = data.cached("calls_all", lambda: _calls_period(data, None))
    names = {O.SERVICE_LEVEL: ("Service level", "%", "higher"), O.ABANDONMENT_RATE: ("Abandoned calls", "%", "lower"),
             O.ASA: ("Mean speed of answer", "s", "lower"), O.AHT: ("Average handle time", "s", "lower"),
             O.TALK: ("Average talk time (no hold or after-call work in the file)", "s", "lower"),
             TIME_TO_ABANDON: ("Mean time to abandon", "s", "higher")}
    whats = {O.ASA: "answered calls", O.AHT: "answered calls", O.TALK: "answered calls",
             TIME_TO_ABANDON: "abandoned calls"}
    rows = []
    for r in t.itertuples(index=False):
        label, unit, better = names[r.kpi]
        if unit == "%":
            v, lo, hi = _pct(r.value), _pct(r.ci_low), _pct(r.ci_high)
        else:
            scale = 60.0 if np.isfinite(r.value) and r.value >= 120 else 1.0  # durations of minutes in minutes
            unit = "min" if scale == 60 else unit
            v, lo, hi = (f"{x / scale:,.1f}" if np.isfinite(x) else "" for x in (r.value, r.ci_low, r.ci_high))
        what = whats.get(r.kpi, "calls offered")
        target = f"≥ {_sl_target():g} %" if r.kpi == O.SERVICE_LEVEL else ""
        rows.append({"KPI": label, "Value": f"{v} {unit}", "95 % CI": _ci(lo, hi), "n": f"{int(r.n):,} {what}",
                     "Target": target, "Better": better})
    src = "calls" if data.has("calls") else "daily call aggregates"
    return Table(pd.DataFrame(rows), caption=f"Over the whole period, from the {src}; full table in calls.csv.")


# --- QA process: coverage, disputes, reviewers ------------------------------------------------------------------
def _of_scores(data: ReportData, result: pd.DataFrame) -> pd.DataFrame:
    """``result`` (computed from the review scores) with the scores' record: what the scores left out
    or changed reaches every section built on them on every engine. (Given pandas' scores, the result
    already carries it; scores kept on the engine are read from a file that holds no record.)"""
    return S.carry_records(result, scores_record(data))


def _coverage(data: ReportData) -> pd.DataFrame:
    """:func:`qakit.ops.review_coverage` of the period's reviews, with ``partial`` marking weeks the
    period does not cover from Monday to Sunday (a week cut by the start, or the last week whose
    reviews may still come): not counted as under plan."""
    def make():
        c = quiet(O.review_coverage, engine_table(data, "scores"), plan=PLAN)
        # (the first and last review: the contract's extremes on the engine when it keeps the scores)
        first, last = table_span(data, "scores", S.REVIEWED_AT) or (pd.NaT, pd.NaT)
        start = (data.start if data.start is not None else first).tz_convert("UTC").tz_localize(None).floor("D")
        end = (data.end if data.end is not None else last).tz_convert("UTC").tz_localize(None)
        partial = (c[O.WEEK] < start) | ((c[O.WEEK] + pd.Timedelta(days=7)) > end)
        return _of_scores(data, c.assign(partial=partial))
    return data.cached("coverage", make)


def coverage_figure(data: ReportData) -> Figure | HTML:
    """Reviews per agent per week against the plan: a grid of counts, weeks under plan in red."""
    if not shown(data, "qa_process"):
        return nothing()
    c = _coverage(data)
    grid = c.pivot(index=S.AGENT_ID, columns=O.WEEK, values=S.N)
    grid = grid.loc[grid.sum(axis=1).sort_values(kind="stable").index]
    n_agents = len(grid)
    if n_agents > AGENT_ROWS:  # the least reviewed agents (every agent in the appendix and review_coverage.csv)
        grid = grid.iloc[:AGENT_ROWS]
    partial = set(c.loc[c["partial"], O.WEEK])
    fig = Figure(figsize=(WIDE, max(3.5, 0.2 * len(grid) + 1.6)))
    ax = fig.subplots()
    cmap = ListedColormap(["#c62828", "#ef9a9a", "#a5d6a7", "#2e7d32"])
    norm = BoundaryNorm([-0.5, 0.5, PLAN - 0.5, PLAN + 2.5, 1e9], cmap.N)
    im = ax.imshow(grid.to_numpy(float), cmap=cmap, norm=norm, aspect="auto")
    if grid.size <= 800:
        for (i, j), v in np.ndenumerate(grid.to_numpy()):
            ax.text(j, i, f"{int(v)}", ha="center", va="center", fontsize=7, color="white" if v == 0 else "black")
    ax.set_yticks(range(len(grid)), [str(a) for a in grid.index], fontsize=7)
    ax.set_xticks(range(grid.shape[1]), [f"{w:%d %b}" + (" (partial)" if w in partial else "") for w in grid.columns],
                  rotation=45, ha="right", fontsize=8)
    ax.set_xlabel("week (Monday); a partial week is cut by the report period and not counted")
    full = c[~c["partial"]]
    under = int(full[O.UNDER_COVERED].sum())
    title = (f"Reviews per agent per week against a plan of {PLAN} ({under:,} of {len(full):,} full agent-weeks "
             "under plan)")
    if n_agents > len(grid):
        title += f"\nthe {len(grid)} least reviewed of {n_agents:,} agents (all in review_coverage.csv)"
    ax.set_title(title, loc="left")
    cb = fig.colorbar(im, ax=ax, pad=0.01, fraction=0.03, ticks=[0, PLAN / 2, PLAN + 1, PLAN + 4])
    cb.ax.set_yticklabels(["none", f"under {PLAN}", f"{PLAN}-{PLAN + 2}", "more"])
    fig.tight_layout()
    return fig


def coverage_table(data: ReportData, *, top: int = 5) -> Table | HTML:
    """The agents with the most weeks under plan: reviews, weeks under plan, and the 95 % interval
    half-width a typical week's reviews give their IQS."""
    if not data.has("scores"):
        return nothing()
    t = _coverage_by_agent(data)
    if t.empty:
        return note("Review coverage per agent: the period has no full week (Monday to Sunday) to count against "
                    "the plan.")
    cap = (f"The {min(top, len(t))} of {len(t)} agents with most full weeks under plan; the half-width is the ± of "
           "the 95 % interval an agent's weekly IQS has with a median week's reviews (all agents in the appendix and "
           "in review_coverage.csv).")
    return _capped(t.head(top), cap)


def _coverage_by_agent(data: ReportData) -> pd.DataFrame:
    c = _coverage(data)
    c = c[~c["partial"]]
    g = c.groupby(S.AGENT_ID).agg(**{"Reviews": (S.N, "sum"), "Weeks": (O.WEEK, "size"),
                                     "Weeks under plan": (O.UNDER_COVERED, "sum"),
                                     "Median reviews per week": (S.N, "median"),
                                     "Median weekly half-width (IQS points)": (O.HALF_WIDTH, "median")}).reset_index()
    return g.sort_values(["Weeks under plan", "Reviews", S.AGENT_ID], ascending=[False, True, True]).reset_index(drop=True)


def _dispute_frames(data: ReportData) -> dict[str, pd.DataFrame]:
    def make():
        # (the review scores where the engine keeps them: per-group counts and the disputed reviews come back)
        s, d, kept = engine_table(data, "scores"), data.disputes, engine_frame(data, "scores")
        every = (kept.with_columns(nw.lit("all").alias("_all")).to_native() if kept is not None
                 else s.assign(_all="all"))
        return {"by_reviewer": _of_scores(data, quiet(O.dispute_rate, s, d, by=S.REVIEWER_ID, min_n=data.min_n)),
                "overall": _of_scores(data, quiet(O.dispute_rate, every, d, by="_all", min_n=0)),
                "outcomes": quiet(O.dispute_outcomes, d, min_n=0),
                "after": _of_scores(data, quiet(O.iqs_after_disputes, s, d, min_n=0))}
    return data.cached("disputes", make)


def _strictness(data: ReportData) -> pd.DataFrame:
    return data.cached("strictness", lambda: _of_scores(data, quiet(
        O.reviewer_strictness, engine_table(data, "scores"), disputes=data.disputes if data.has("disputes") else None,
        min_n=data.min_n)))


def disputes_summary(data: ReportData) -> HTML:
    """Disputes in plain words: how many reviews were disputed, how many disputes were accepted, and
    what accepted disputes did to the IQS, each with n and its 95 % interval."""
    if not shown(data, "qa_process") or not data.has("disputes"):
        return nothing()  # no disputes table: named once in the left-out list
    f = _dispute_frames(data)
    o, a, r = f["overall"].iloc[0], f["outcomes"].iloc[0], f["after"].iloc[0]
    sign = "+" if r[O.CHANGE] >= 0 else "−"
    text = (f"{int(o[O.N_DISPUTED]):,} of {int(o[S.N]):,} reviews were disputed ({_pct(o[O.DISPUTE_RATE])} %, 95 % CI "
            f"{_pct(o[S.CI_LOW])} – {_pct(o[S.CI_HIGH])}). Of {int(a[O.N_DECIDED]):,} decided disputes "
            f"{int(a[O.N_ACCEPTED]):,} were accepted ({_pct(a[O.ACCEPTED_RATE])} %, 95 % CI {_pct(a[S.CI_LOW])} – "
            f"{_pct(a[S.CI_HIGH])}); {int(a[O.N_PENDING]):,} are pending; the median decision took "
            f"{a[O.RESOLVE_TIME_H]:.0f} h. Accepted disputes changed {int(r[O.N_CHANGED]):,} review scores: "
            f"IQS {r[O.IQS_BEFORE]:.1f} % before, {r[O.IQS_AFTER]:.1f} % after ({sign}{abs(r[O.CHANGE]):.2f} points, "
            f"95 % CI {r[S.CI_LOW]:.2f} – {r[S.CI_HIGH]:.2f}, n = {int(r[S.N]):,} reviews).")
    return HTML(f'<p class="qakit-summary">{html.escape(text)}</p>', text)


def reviewers_figure(data: ReportData) -> Figure | HTML:
    """Per reviewer: share of reviews disputed (95 % interval, overall rate as a line) and
    strictness against colleagues on the same agents (95 % interval, 0 = as colleagues)."""
    if not data.has("scores"):
        return nothing()
    st = _strictness(data)
    if st.empty:
        return note("Reviewer strictness: no reviewer rated the same agents as a colleague in this period, so no "
                    "reviewer can be compared.")
    has_d = data.has("disputes")
    fig = Figure(figsize=(WIDE, max(2.8, 0.35 * len(st) + 1.6)))
    axes = fig.subplots(1, 2 if has_d else 1, sharey=True, squeeze=False)[0]
    order = st.sort_values(O.STRICTNESS)[S.REVIEWER_ID].astype(str).tolist()
    y = {rv: i for i, rv in enumerate(order)}
    ax = axes[-1]
    yy = st[S.REVIEWER_ID].astype(str).map(y)
    ax.hlines(yy, st[S.CI_LOW], st[S.CI_HIGH], color="#263238", lw=2)
    ax.scatter(st[O.STRICTNESS], yy, color="#263238", zorder=3, s=24)
    ax.axvline(0, color="#9e9e9e", ls="--", lw=1)
    ax.set_xlabel("strictness: IQS points against colleagues on the same agents (negative = stricter)")
    ax.set_title("Reviewer strictness, 95 % interval", loc="left")
    ax.grid(axis="x", alpha=0.3)
    if has_d:
        dr = _dispute_frames(data)["by_reviewer"]
        overall = float(_dispute_frames(data)["overall"][O.DISPUTE_RATE].iloc[0])
        ax0 = axes[0]
        dy = dr[S.REVIEWER_ID].astype(str).map(y)
        ok = dy.notna()
        ax0.hlines(dy[ok], 100 * dr.loc[ok, S.CI_LOW], 100 * dr.loc[ok, S.CI_HIGH], color="#6a1b9a", lw=2)
        ax0.scatter(100 * dr.loc[ok, O.DISPUTE_RATE], dy[ok], color="#6a1b9a", zorder=3, s=24)
        ax0.axvline(100 * overall, color="#9e9e9e", ls="--", lw=1, label=f"all reviewers {100 * overall:.1f} %")
        ax0.set_xlabel("reviews disputed (%)")
        ax0.set_title("Disputed reviews per reviewer, 95 % interval", loc="left")
        ax0.grid(axis="x", alpha=0.3)
        ax0.legend(loc="lower right", bbox_to_anchor=(1.0, 1.06), frameon=False, fontsize=9)
    n = st.set_index(st[S.REVIEWER_ID].astype(str))[S.N]
    axes[0].set_yticks(range(len(order)), [f"{rv}  (n = {int(n[rv]):,})" for rv in order])
    fig.tight_layout()
    return fig


def reviewers_table(data: ReportData) -> Table | HTML:
    """Per reviewer: reviews compared, strictness with its 95 % interval, consistency, and with
    disputes the shares disputed and overturned."""
    if not data.has("scores") or _strictness(data).empty:
        return nothing()
    st = _strictness(data).copy()
    ren = {O.N_AGENTS: "Agents", O.STRICTNESS: "Strictness (IQS points)",
           O.CONSISTENCY_SD: "Consistency, sd (IQS points)"}
    for c, label in ((O.DISPUTE_RATE, "Disputed (%)"), (O.OVERTURN_RATE, "Overturned (%)")):
        if c in st.columns:
            st[c] = 100 * st[c]
            ren[c] = label
    cap = ("Strictness: each review's score minus what the other reviewers gave the same agent (leave-one-out); "
           "n = reviews compared. Strictest first.")
    return pretty(st.rename(columns=ren), caption=cap)


# --- automatic scoring ----------------------------------------------------------------------------------------
def _automatic(messages: pd.DataFrame, card=None) -> dict[str, Any]:
    """The rule-based categories found in ``messages`` (``detections``), their automatic ratings
    (``auto``) and the card that scores them into the AQS (``card``): the categories of the
    report's scorecard that carry an ``auto:`` rule block (on their scales and weights), else the
    built-in rules. One definition for the AQS tile, its change and the automatic-scoring section."""
    if AR.has_auto(card):
        rules = AR.rules_from_card(card)
        auto_card, origin = AR.auto_scorecard(rules, card=card), "card"
    else:
        rules = list(autoqa.DEFAULT_RULES)
        auto_card, origin = Scorecard([Category(r.name) for r in rules], name="Automatic categories"), "built-in"
    det = autoqa.detect(messages, rules=rules)
    return {"detections": det, "auto": autoqa.auto_ratings(det), "card": auto_card, "origin": origin}


#: the kappa a learned category's interval must clear when its auto: block sets no threshold
LEARNED_THRESHOLD = 0.6


def _learned(data: ReportData) -> pd.DataFrame:
    """Qualification of the card's learned categories (``auto: learned``): leave one month (or the
    block's ``groups``) out, the interval's lower bound against the threshold, coverage (kappa
    quadratic-weighted on scales with more than two values); one row per category (``status`` says
    why it was not evaluated)."""
    rows = []
    scales = {c.name: c.scale for c in data.card.categories}
    specs = AR.learned_specs(data.card)
    ratings = _learned_ratings(data, list(specs)) if specs else None
    for name, spec in specs.items():  # a few categories; each is one cross-validation
        groups, threshold = spec.get("groups", "month"), spec.get("threshold", LEARNED_THRESHOLD)
        weights = "quadratic" if scales[name].n_values > 2 else None  # ordinal scales: quadratic kappa
        try:
            if not data.in_memory("ratings") and not ratings[S.CATEGORY].astype("str").eq(name).any():
                # (filtered on the engine: say what the whole table would, from its categories)
                raise AL.unlabelled(name, engine_distinct(data, "ratings", [S.CATEGORY])[S.CATEGORY])
            p = quiet(AL.cross_validate, data.messages, ratings, category=name, groups=groups, seed=0)
            k = quiet(AL.kappa_agreement, p, weights=weights, n_resamples=1000, seed=0)
            q = AL.qualification(k, threshold=threshold).iloc[0].to_dict()
            rows.append({**q, "groups": groups, "status": "evaluated"})
        except QakitError as e:
            rows.append({"category": name, "groups": groups, "target": threshold, "qualifies": False,
                         "status": f"not evaluated: {e}"})
    return pd.DataFrame(rows)


def _learned_ratings(data: ReportData, names: list[str]) -> pd.DataFrame:
    """The human ratings the cross-validation of the learned categories ``names`` reads: the loaded
    frame when the ratings are in pandas; when the engine reads them in place, only the rows of those
    categories of conversations that have messages (a filter and a semi-join there: what
    :func:`qakit.autoqa.learned.cross_validate` learns from, never the whole table)."""
    if data.in_memory("ratings"):
        return data.ratings
    return engine_columns(data, "ratings", list(S.RATINGS.required), ids=data.messages[S.CONVERSATION_ID],
                          where={S.CATEGORY: names})


def _autoqa(data: ReportData) -> dict[str, Any]:
    def make():
        out = _automatic(data.messages, data.card)
        auto, card = out["auto"], out["card"]
        out["aqs"] = quiet(autoqa.aqs_score, auto, card, min_n=0)
        out["categories"] = quiet(category_scores, auto.drop(columns=["source"]), card, min_n=0)
        if data.has("ratings"):
            # the IQS side from the review scores: where the engine keeps them (per-agent statistics come
            # back), else the loaded ratings scored with the card, as before
            human = ({"scores": engine_table(data, "scores")} if scores_on_engine(data)
                     else {"human": data.ratings, "card": data.card})
            out["vs"] = quiet(autoqa.aqs_vs_iqs, auto, auto_card=card, min_n=data.min_n, **human)
            out["learned"] = _learned(data)
        return out
    return data.cached("autoqa", make)


def _learned_text(learned: pd.DataFrame | None) -> str:
    """One sentence per learned category: qualified or not, with the kappa interval and the n needed."""
    if learned is None or learned.empty:
        return ""
    parts = []
    for r in learned.to_dict("records"):
        name = r["category"]
        if r["status"] != "evaluated":
            parts.append(f"Learned category '{name}' is not scored automatically ({r['status']}).")
            continue
        ev = f"leave one {r['groups']} out, {int(r['n_groups'])} groups"
        est = (f"{'quadratic-weighted ' if r.get('weights') else ''}kappa {r['kappa']:.2f} (95 % CI {r['ci_low']:.2f} – "
               f"{r['ci_high']:.2f}, n = {int(r['n']):,} conversations, {ev}, coverage {r['coverage']:.0%})")
        if r["qualifies"]:
            parts.append(f"Learned category '{name}' qualifies for automatic scoring: {est}, the lower bound "
                         f"reaches {r['target']:.2f}; the AQS above uses the rule-based categories only.")
        else:
            need = (f" About {int(r['n_needed']):,} compared conversations would be needed if kappa held."
                    if np.isfinite(r.get("n_needed", np.nan)) else
                    " More data alone would not help: the estimate itself is below the bar.")
            parts.append(f"Learned category '{name}' does not qualify for automatic scoring: {est}; the lower "
                         f"bound must reach {r['target']:.2f}.{need if r['kappa'] == r['kappa'] else ''} "
                         f"Its reviewers keep rating it.")
    return " " + " ".join(parts)


def autoqa_summary(data: ReportData) -> HTML:
    """How many conversations were scored automatically (eligible / N/A), on which categories (the
    scorecard's ``auto:`` blocks or the built-in rules), the AQS with its interval, said apart from
    the IQS, and whether each learned category (``auto: learned``) qualifies."""
    if not shown(data, "autoqa"):
        return nothing()
    a = _autoqa(data)
    det = a["detections"]
    conv = det.drop_duplicates(S.CONVERSATION_ID)
    n_all, n_ok = len(conv), int(conv["eligible"].sum())
    q = a["aqs"].iloc[0]
    what = ("categories from the scorecard's auto: blocks" if a["origin"] == "card" else "built-in rule-based categories")
    text = (f"{n_all:,} conversations have text; {n_ok:,} were scored automatically on {len(a['card'].category_names)} "
            f"{what} and {n_all - n_ok:,} were not eligible (N/A: fewer than one customer and one agent "
            f"message or fewer than 10 words). AQS {q['aqs']:.1f} % (95 % CI {q[S.CI_LOW]:.1f} – {q[S.CI_HIGH]:.1f}, "
            f"n = {int(q[S.N]):,} conversations). The AQS is a separate score: it never enters the IQS above.")
    learned = _learned_text(a.get("learned")).strip()
    body = f'<p class="qakit-summary">{html.escape(text)}</p>'
    if learned:
        body += f'<p class="qakit-summary">{html.escape(learned)}</p>'
        text += " " + learned
    return HTML(body, text)


def autoqa_categories(data: ReportData) -> Table | HTML:
    """Per automatic category: the share of eligible conversations where it was found, with n and
    its 95 % interval."""
    if not data.has("messages"):
        return nothing()
    a = _autoqa(data)
    t = a["categories"][[S.CATEGORY, S.N, S.CATEGORY_SCORE, S.CI_LOW, S.CI_HIGH]]
    what = ("The scorecard's auto: categories (score on each category's scale)" if a["origin"] == "card" else
            "Built-in rule-based categories (phrases in English, German, Portuguese, Spanish and French; "
            "precision and recall measured on labelled real chats in docs/guide/autoqa.md)")
    out = pretty(t, caption=f"{what}; n = eligible conversations. Only counts reach this report, never "
                            "conversation text.")
    out.frame = out.frame.rename(columns={"Category": "Automatic category", "Category score (%)": (
        "Found in (% of conversations)" if a["origin"] == "built-in" else "Automatic score (%)")})
    return out


#: agents needed for the AQS-IQS correlation across agents: its Fisher interval needs n > 3
MIN_AGENTS_R = 4


def aqs_iqs_figure(data: ReportData) -> Figure | HTML:
    """Per agent: AQS and IQS side by side, each with its 95 % interval (agents with both)."""
    if not data.has("messages"):
        return nothing()
    if "vs" not in _autoqa(data):
        return nothing()  # no reviews: named once in the left-out list
    v = _autoqa(data)["vs"]
    w = v.pivot(index=S.AGENT_ID, columns=MEASURE, values=[VALUE, S.CI_LOW, S.CI_HIGH, S.N])
    both = w.dropna(subset=[(VALUE, "aqs"), (VALUE, "iqs")])
    # by IQS, ties (equal to 1e-9: an engine's sums may differ from pandas' in the last bits) by agent id
    both = both.iloc[np.lexsort((np.asarray(both.index.astype("str"), dtype=str),
                                 both[(VALUE, "iqs")].round(9).to_numpy(float)))]
    if both.empty:
        return note("AQS against IQS: no agent has both automatic scores and reviews.")
    fig = Figure(figsize=(WIDE, max(3.0, 0.24 * len(both) + 1.4)))
    ax = fig.subplots()
    y = np.arange(len(both))
    for m, colour, dy, label in (("iqs", "#1565c0", 0.15, "IQS (human reviews)"), ("aqs", "#ef6c00", -0.15,
                                                                                  "AQS (automatic)")):
        ax.hlines(y + dy, both[(S.CI_LOW, m)], both[(S.CI_HIGH, m)], color=colour, lw=2)
        ax.scatter(both[(VALUE, m)], y + dy, color=colour, s=20, zorder=3, label=f"{label}, 95 % interval")
    ax.set_yticks(y, [f"{a}  (n = {int(both.loc[a, (S.N, 'iqs')])} / {int(both.loc[a, (S.N, 'aqs')])})"
                      for a in both.index], fontsize=8)
    if len(both) >= MIN_AGENTS_R:
        r = sst.pearsonr(both[(VALUE, "aqs")].astype(float), both[(VALUE, "iqs")].astype(float))
        ci = r.confidence_interval(0.95)
        across = f"r = {r.statistic:.2f} [{ci.low:.2f}, {ci.high:.2f}], n = {len(both)} agents"
    else:  # (two points always lie on a line: r = +/-1 says nothing; one has no r at all)
        across = f"no r: {len(both)} agent{'s' if len(both) != 1 else ''} ({MIN_AGENTS_R} needed)"
    ax.set_xlabel("score (%)")
    ax.set_title(f"AQS and IQS per agent (n = reviews / automatically scored conversations); across agents "
                 f"{across}", loc="left")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False, fontsize=9)
    fig.tight_layout()
    return fig


def _aqs_wide(data: ReportData) -> pd.DataFrame:
    v = _autoqa(data)["vs"]
    parts = []
    for m, label in (("aqs", "AQS"), ("iqs", "IQS")):
        x = v[v[MEASURE].eq(m)][[S.AGENT_ID, S.N, VALUE, S.CI_LOW, S.CI_HIGH]]
        parts.append(x.rename(columns={S.N: f"{label} n", VALUE: f"{label} (%)", S.CI_LOW: f"{m}_ci_low",
                                       S.CI_HIGH: f"{m}_ci_high"}))
    return parts[0].merge(parts[1], on=S.AGENT_ID, how="outer")


def aqs_iqs_table(data: ReportData, *, top: int = 5) -> Table | HTML:
    """The ``top`` highest and lowest agents by AQS, with their IQS beside, each with n and interval."""
    if not data.has("messages") or "vs" not in _autoqa(data):
        return nothing()
    t = _aqs_wide(data).dropna(subset=["AQS (%)"]).sort_values(["AQS (%)", S.AGENT_ID], ascending=[False, True])
    show = pd.concat([t.head(top), t.tail(top)]) if len(t) > 2 * top else t
    return _aqs_pretty(show, caption=f"Highest and lowest {top} of {len(t)} agents by AQS, IQS beside (an empty IQS: "
                                     "no review); all agents in the appendix and in aqs_vs_iqs.csv.")


def _aqs_pretty(t: pd.DataFrame, caption: str) -> Table:
    out = pretty(t.drop(columns=["aqs_ci_low", "aqs_ci_high", "iqs_ci_low", "iqs_ci_high"]), caption=caption)
    for m, label in (("aqs", "AQS"), ("iqs", "IQS")):
        ci = [_ci(f"{a:.1f}" if np.isfinite(a) else "", f"{b:.1f}" if np.isfinite(b) else "")
              for a, b in zip(t[f"{m}_ci_low"], t[f"{m}_ci_high"])]
        pos = list(out.frame.columns).index(f"{label} (%)") + 1
        out.frame.insert(pos, f"{label} 95 % CI", ci)
    return out


# --- data quality ---------------------------------------------------------------------------------------------
def data_quality(data: ReportData, *, show_ids: int = 3) -> Table | HTML:
    """Rows the optional sections leave out (calls without a speed of answer, disputes of unknown
    reviews, pending disputes, conversations not eligible for automatic scoring ...), by table and
    reason, with example ids; the notes of :func:`load_optional_tables` are in the main data-quality
    table."""
    checks = []
    if data.has("calls") and S.SPEED_OF_ANSWER_S in data.calls.columns:
        checks.append(("calls", "service level", quiet(K.service_level, data.calls, threshold_s=THRESHOLD_S, min_n=0)))
    if data.has("calls_daily"):
        checks.append(("calls_daily", "call KPIs", _calls_period(data, None)))
    if data.has("scores") and data.has("disputes"):
        f = _dispute_frames(data)
        checks += [("disputes", "dispute rate", f["overall"]), ("disputes", "dispute outcomes", f["outcomes"]),
                   ("disputes", "IQS after disputes", f["after"])]
    if data.has("scores"):
        checks += [("ratings", "review coverage", _coverage(data)), ("ratings", "reviewer strictness", _strictness(data))]
    if data.has("messages"):
        checks.append(("messages", "automatic scoring", _autoqa(data)["detections"]))
    rows = []
    for tbl, used_for, res in checks:
        for what, frame in (("", S.exclusions(res)), ("kept, changed: ", S.adjustments(res))):
            for _, e in frame.iterrows():
                ids = [str(i) for i in e["row_ids"]]
                if not ids:
                    continue
                rows.append({"Table": tbl, "Used for": used_for, "Reason": what + str(e["reason"]), "n": len(ids),
                             "Example ids": ", ".join(ids[:show_ids]) + (" ..." if len(ids) > show_ids else "")})
    if not rows:
        if not any(data.has(n) for n in OPTIONAL_TABLES) and not data.has("scores"):
            return nothing()
        return Table(pd.DataFrame({"Data quality of the operations sections": ["No row was left out."]}))
    out = pretty(pd.DataFrame(rows), caption="Rows the calls, QA-process and automatic-scoring sections leave out.")
    out.css = "qakit-table qakit-wrap"
    return out


# --- appendix and CSV -------------------------------------------------------------------------------------------
@public
def appendix_tables(data: ReportData, *, period: str = "W") -> dict[str, pd.DataFrame]:
    """The full tables behind the optional sections (unrounded), by file name."""
    out: dict[str, pd.DataFrame] = {}
    if data.has("calls") or data.has("calls_daily"):
        out["calls"] = data.cached(f"calls_{period}", lambda: _calls_period(data, period))
    if data.has("scores"):
        out["review_coverage"] = _coverage(data)
        out["reviewer_strictness"] = _strictness(data)
        if data.has("disputes"):
            out["disputes_by_reviewer"] = _dispute_frames(data)["by_reviewer"]
            out["dispute_outcomes"] = _dispute_frames(data)["outcomes"]
    if data.has("messages"):
        a = _autoqa(data)
        out["aqs_categories"] = a["categories"]
        if "vs" in a:
            out["aqs_vs_iqs"] = a["vs"]
    return out


#: the largest half-width a 0-100 score's interval can usefully have: at 50 it covers the whole scale
HALF_WIDTH_CAP = 50.0
_HALF_WIDTH_NOTE = (f"A half-width of {HALF_WIDTH_CAP:g} points or more is shown as ≥ {HALF_WIDTH_CAP:g}: the interval then "
                    "covers the whole 0–100 scale, so such a week's reviews say almost nothing about the agent's level.")


def _readable(name: str, t: pd.DataFrame) -> pd.DataFrame:
    """An operations table as people read it (:func:`qakit.report.display.readable`); a weekly
    IQS half-width capped at the scale (:data:`HALF_WIDTH_CAP`), its header saying so."""
    hw = O.HALF_WIDTH if O.HALF_WIDTH in t.columns else ("Median weekly half-width (IQS points)"
                                                        if "Median weekly half-width (IQS points)" in t.columns else None)
    out = readable(t.assign(**{hw: t[hw].clip(upper=HALF_WIDTH_CAP)}) if hw else t)
    if hw:
        old = [c for c in out.columns if "alf" in c and "width" in c][0]
        out = out.rename(columns={old: f"{old.split(' (')[0]} (IQS points; {HALF_WIDTH_CAP:g} = the whole 0-100 scale)"})
    return out


def write_tables(data: ReportData, folder: str, *, period: str = "W") -> HTML:
    """Write :func:`appendix_tables` as CSV into ``folder`` (nothing when empty): ``<name>.csv`` as
    people read it, ``raw/<name>.csv`` unrounded (:func:`qakit.report.display.write_table_files`)."""
    if not folder:
        return nothing()
    tables = appendix_tables(data, period=period)
    if not tables:
        return nothing()
    names = write_table_files(folder, {n: (t, _readable(n, t)) for n, t in tables.items()})
    text = tables_note(folder, names, "Full tables of the operations sections")
    return HTML(f'<p class="qakit-caption">{html.escape(text)}</p>', text)


def _capped(t: pd.DataFrame, caption: str) -> Table:
    """:func:`pretty` of a coverage-by-agent table, its weekly half-width shown as ≥ 50 where it
    covers the whole scale (and the caption saying why)."""
    col = "Median weekly half-width (IQS points)"
    wide = t[col] >= HALF_WIDTH_CAP
    out = pretty(t, caption=caption + (" " + _HALF_WIDTH_NOTE if wide.any() else ""))
    out.frame[col] = out.frame[col].where(~wide.to_numpy(), f"≥ {HALF_WIDTH_CAP:g}")
    return out


def appendix_coverage(data: ReportData) -> Table | HTML:
    """Review coverage of every agent."""
    if not data.has("scores"):
        return nothing()
    return _capped(_coverage_by_agent(data), "Review coverage of every agent, most weeks under plan first.")


def appendix_aqs(data: ReportData) -> Table | HTML:
    """AQS and IQS of every agent."""
    if not data.has("messages") or "vs" not in _autoqa(data):
        return nothing()
    t = _aqs_wide(data).sort_values(S.AGENT_ID)
    return _aqs_pretty(t, caption="AQS and IQS of every agent (an empty cell: no automatic score or no review).")


__all__ = ["appendix_tables"]
