"""The report a QA lead reads in one minute: headline tiles, pictures, short tables, an appendix.

What each cell of ``notebooks/report.ipynb`` shows. The numbers come unrounded from qakit's
functions (:func:`headline` is the analysis behind the tiles and is tested on its own); this
module only arranges and formats them (:func:`qakit.report.display.pretty`, registry labels and units).
Every section shows only what the data supports (:mod:`qakit.report.support`): an unsupported one
shows nothing -- no heading, no empty box -- and is named once in the "left out" list at the top
(a calls-only, ratings-only or KPI-only dataset still gets a report).
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from matplotlib.lines import Line2D

from .. import kpis as K
from .. import schema as S
from .. import stats as ST
from .._public import public
from ..registry import METRICS
from ..scorecard import iqs_score
from . import study
from .common import AGENT_ROWS, COLOURS, CSS, HTML, STATUS_CLASS, WIDE, note, quiet, span_dates
from .data import ReportData, engine_columns, engine_table, table_columns, table_span
from .support import SECTIONS, has_dated_csat, dated_surveys, has_value_column, heading, left_out_lines, nothing, shown
from .display import (Figure, Table, _metric_spec, hash_ids, metric_format, pretty, readable, tables_note,
                      write_table_files)
from .tiles import (_kpi_summary, _on_engine, _survey_kinds, agent_verdicts, coaching_table, conversation_kpi,
                    duration_units, left_out_rows, report_categories, time_tables)

def _day(ts: pd.Timestamp) -> str:
    return f"{ts.day} {ts:%b %Y}"


@public
def period_text(data: ReportData) -> str:
    """The report period in words: ``1 Oct 2026 - 28 Oct 2026`` (the data's range when open)."""
    first, last = data.start, data.end
    spans = [table_span(data, name, c) for name, c in (("ratings", S.REVIEWED_AT), ("conversations", S.CREATED_AT),
                                                      ("surveys", S.ANSWERED_AT), ("calls", S.CREATED_AT),
                                                      ("calls_daily", S.DATE))]
    stamps = [pd.Series(s) for s in spans if s is not None]  # (on the engine for a table read in place)
    if first is None and stamps:
        first = min(s.min() for s in stamps)
    if last is None and stamps:
        last = max(s.max() for s in stamps)
    if first is None or last is None or pd.isna(first) or pd.isna(last):
        return "no dated rows"
    return f"{_day(first)} – {_day(last)}"


@public
def title_text(data: ReportData) -> str:
    """Report title naming scope and period (also the browser tab's ``<title>``)."""
    scope = data.source if data.source == "bundled sample data" else Path(data.source).name
    return f"QA and KPI report: {scope}, {period_text(data)}"


# --- what the reader sees first -----------------------------------------------------------------------
def _fmt_value(name: str, values: list[float], units: dict[str, str] | None = None) -> tuple[list[str], str]:
    """Format values of one metric alike; returns the strings and the unit (a duration in the page's
    unit for it, ``units`` = :func:`qakit.report.tiles.duration_units`)."""
    m = METRICS[name]
    raw = pd.Series(values, dtype=float) / m.scale  # headline values are in display units already
    header, fmt = metric_format(m.value, raw.iloc[:1], units=units)  # else the first value fixes a duration's unit
    unit = header[header.rfind("(") + 1:-1] if header.endswith(")") else m.unit
    return list(fmt(raw)), unit


def card_identity(card) -> dict | None:
    """Name and version of the report's scorecard, and whether it is a tuned (not production) card:
    a ``based_on: <baseline version>`` key (the explorer writes it; then ``version`` is the tuned
    card's) or a name containing ``(TUNED <label>`` (the explorer's naming; then ``version`` is the
    baseline's). Returns ``name, version, tuned, tuned_version, based_on`` (None without a card).

    Examples
    --------
    >>> from types import SimpleNamespace as C
    >>> card_identity(C(name="Support (TUNED 2026.1-t, not the production card)", version="2026.1"))["based_on"]
    '2026.1'
    >>> card_identity(C(name="Support", version="2026.2-t", based_on="2026.1"))["tuned_version"]
    '2026.2-t'
    """
    if card is None:
        return None
    name, version = str(card.name), str(getattr(card, "version", "") or "")
    based_on = getattr(card, "based_on", None)
    marker = " (TUNED "
    if based_on:
        return {"name": name.split(marker)[0], "version": version, "tuned": True, "tuned_version": version,
                "based_on": str(based_on)}
    if "(TUNED" in name:
        label = name.split("(TUNED", 1)[1].strip().split(",")[0].rstrip(")").strip()
        return {"name": name.split(marker)[0], "version": version, "tuned": True, "tuned_version": label or version,
                "based_on": version or "an unnamed baseline"}
    return {"name": name, "version": version, "tuned": False, "tuned_version": "", "based_on": ""}


def tuned_banner_text(data: ReportData) -> str:
    """``TUNED card <version>, based on <baseline>: not the production card`` (empty for a production card)."""
    c = card_identity(data.card)
    if not c or not c["tuned"]:
        return ""
    return f"TUNED card {c['tuned_version']}, based on {c['based_on']}: not the production card"


def title(data: ReportData) -> HTML:
    """The report's title (scope and period), the scorecard it used (name and version), a red banner
    when that card is a tuned one, and the styles the report uses."""
    t = title_text(data)
    banner = tuned_banner_text(data)
    sub = f"Source: {data.source}."
    c = card_identity(data.card)
    if c and len(data.cards) > 1:  # a card edited mid-period: every version scores its own reviews
        sub += (f" Scorecard: {c['name']}, {len(data.cards)} versions ("
                + ", ".join(str(k.version) for k in data.cards) + "): each review is scored with its own.")
    elif c:
        sub += f" Scorecard: {c['name']}" + (f", version {c['version']}" if c["version"] else "") + "."
    if data.previous.get("start") is not None:
        window = f"the last {data.last_days} days" if data.last_days else "this period"
        sub += f" Changes compare {window} with the previous period of equal length, {_day(data.previous['start'])} – " \
               f"{_day(data.previous['end'])}."
    if data.engine != "pandas":
        sub += f" Computed with {data.engine}."
    tab = f"[TUNED card] {t}" if banner else t
    markup = (CSS + (f'<div class="qakit-tuned" role="alert">{html.escape(banner)}</div>' if banner else "")
              + f'<h1 class="qakit-title" data-qakit-title="{html.escape(tab, quote=True)}">{html.escape(t)}</h1>'
              f'<p class="qakit-sub">{html.escape(sub)}</p>')
    return HTML(markup, "\n".join(x for x in (banner, t, sub) if x))


def summary(data: ReportData, head: pd.DataFrame) -> HTML:
    """Two sentences from the numbers: what moved, and what is off target."""
    moved, still = [], []
    units = duration_units(data)
    for r in head.itertuples(index=False):
        if np.isnan(r.change):
            continue
        if r.credible:
            vals, unit = _fmt_value(r.metric, [r.value, abs(r.change)], units)
            vals = vals[1:]
            word = "rose" if r.change > 0 else "fell"
            unit = f" {change_unit(unit)}"
            moved.append(f"{r.label} {word} {vals[0]}{unit}")
        else:
            still.append(r.label)
    if data.previous.get("start") is None:
        first = ("There is no previous period to compare with: the report covers all the data. Set start "
                 "(the period before of equal length is compared) or last_days (e.g. -p last_days 28 for a rolling "
                 "report) to get changes.")
    elif moved:
        first = f"Against the previous period, {_join(moved)}" + (
            f"; {_join(still)} did not change credibly." if still else ".")
    else:
        first = f"Against the previous period, nothing changed credibly ({_join(still)})." if still else \
            "The previous period has too little data to compare with."
    off = []
    for r in head.itertuples(index=False):
        if r.status == "off target":
            (v, tg), unit = _fmt_value(r.metric, [r.value, r.target], units)
            tg = tg[:-2] if tg.endswith(".0") else tg
            unit = "%" if unit.startswith("%") else f" {unit}"
            off.append(f"{r.label} at {v}{unit} (target {tg}{unit})")
    risk = [r.label for r in head.itertuples(index=False) if r.status == "at risk"]
    if off:
        second = f"Off target: {_join(off)}" + (f"; at risk: {_join(risk)}." if risk else ".")
    elif risk:
        second = f"Nothing is off target; at risk: {_join(risk)}."
    else:
        second = "Every KPI with a target is on target."
    undecided = [r.label for r in head.itertuples(index=False) if r.status == "inconclusive"]
    if undecided:  # their intervals straddle the target: never counted as met or missed
        second = (second.replace("Every KPI with a target is on target.", "No KPI is off target or at risk.")
                  + f" Too little data to tell against the target: {_join(undecided)}.")
    text = f"{first} {second}"
    return HTML(f'<p class="qakit-summary">{html.escape(text)}</p>', text)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def change_unit(unit: str) -> str:
    """The unit of a change of a value shown in ``unit``: percentage points for shares and scores in
    percent (and NPS points), else the value's own unit (a time's min or h).

    Examples
    --------
    >>> change_unit("%"), change_unit("% satisfied"), change_unit("points"), change_unit("min")
    ('points', 'points', 'points', 'min')
    """
    return "points" if unit.startswith("%") or unit == "points" else unit


def _status_text(r, what: str) -> str:
    """The tile's status line; an inconclusive tile says how much data would decide it."""
    n_dec = getattr(r, "n_to_decide", np.nan)
    if r.status == "inconclusive" and pd.notna(n_dec):
        return f"inconclusive: about {int(n_dec):,} {what} would decide"
    return r.status


def tiles(data: ReportData, head: pd.DataFrame) -> HTML:
    """One tile per headline metric: value, interval, n, change (with its unit) and a credibility
    marker, target, owner, and a status colour (class ``status-on`` / ``status-risk`` /
    ``status-off`` / ``status-none``). Durations in the page's unit
    (:func:`qakit.report.tiles.duration_units`). Without a previous period the tiles show no change
    line: the summary sentence above says once how to get one."""
    parts, text = [], []
    units = duration_units(data)
    no_previous = data.previous.get("start") is None
    for r in head.itertuples(index=False):
        (v, lo, hi, tg), unit = _fmt_value(r.metric, [r.value, r.ci_low, r.ci_high, r.target], units)
        cu = change_unit(unit)
        cls = STATUS_CLASS.get(r.status, "status-none")
        what = {"iqs": "reviews", "pass_rate": "reviews", "csat": "answers", "nps": "answers",
                "service_level": "calls"}.get(r.metric, "conversations")
        n = 0 if pd.isna(r.n) else int(r.n)  # a tile the data has no rows for (e.g. no high-priority conversation)
        ci = f"95 % CI {lo} – {hi} · n = {n:,} {what}" if lo else f"n = {n:,} {what}"
        if np.isnan(r.change):
            change = "" if no_previous else "too little data in the previous period to compare"
            ccls = "tile-change"
        else:
            (_, d, dlo, dhi), _ = _fmt_value(r.metric, [r.value, abs(r.change), r.change_ci_low, r.change_ci_high], units)
            better = (r.change > 0) == (r.direction == "higher")
            arrow = "▲" if r.change > 0 else "▼" if r.change < 0 else "="
            if d.strip("0.") == "":  # rounds to zero in the shown digits
                arrow = "="
            if r.credible:
                change = (f"{arrow} {'+' if r.change > 0 else '−'}{d} {cu} vs previous "
                          f"({'better' if better else 'worse'}, credible)")
                ccls = "tile-change credible " + ("better" if better else "worse")
            else:
                sign = "" if arrow == "=" else "+" if r.change > 0 else "−"
                change = f"{arrow} {sign}{d} {cu} vs previous (not credible: CI {dlo} to {dhi})"
                ccls = "tile-change"
        sign = "≥" if r.direction == "higher" else "≤"
        tg = tg[:-2] if tg.endswith(".0") else tg  # targets are round numbers: 85 %, not 85.0 %
        target = f"target {sign} {tg} {unit} · {r.owner}" if tg else "no target set"
        parts.append(
            f'<div class="qakit-tile {cls}" data-metric="{html.escape(r.metric)}">'
            f'<div class="tile-title">{html.escape(r.label)}</div>'
            f'<div class="tile-value">{html.escape(v)}<span class="tile-unit">{html.escape(unit)}</span></div>'
            f'<div class="tile-ci">{html.escape(ci)}</div>'
            + (f'<div class="{ccls}">{html.escape(change)}</div>' if change else "")
            + f'<div class="tile-target">{html.escape(target)}</div>'
            f'<div class="tile-status">{html.escape(_status_text(r, what))}</div></div>')
        text.append(f"{r.label}: {v} {unit} [{lo}, {hi}] ({r.status}" + (f"; {change})" if change else ")"))
    if not parts:
        return HTML('<p class="qakit-caption">No headline metric: the dataset has none of reviews, survey answers, '
                    'conversations or calls.</p>', "no headline metric")
    return HTML('<div class="qakit-tiles">' + "".join(parts) + "</div>", "\n".join(text))


def left_out(data: ReportData) -> HTML:
    """Which sections the data did not support, and why, and how the numbers were computed when the
    engine is not pandas (a KPI the engine left to pandas is named); nothing when all is plain."""
    parts, text = [], []
    lines = left_out_lines(data)
    data.left_out_sections = {s.key for s in SECTIONS if not s.test(data)}  # their cells show nothing
    if lines:
        items = "".join(f"<li>{html.escape(v)}</li>" for v in lines)
        text.append("Left out: " + "; ".join(lines))
        what = (f" (the dataset has no {html.escape(', '.join(data.missing))} table)" if data.missing else "")
        parts.append(f'<div class="qakit-note qakit-left-out"><b>Sections left out</b>{what}:<ul>{items}</ul></div>')
    if data.engine != "pandas":
        how = [f"engine {data.engine}", *data.engine_notes]
        text.append("How computed: " + "; ".join(how))
        parts.append(f'<p class="qakit-caption"><b>How computed</b>: {html.escape("; ".join(how))} '
                     "(same definitions and numbers as pandas).</p>")
    if not parts:
        return HTML("", "all sections present")
    return HTML("".join(parts), "\n".join(text))


# --- pictures -------------------------------------------------------------------------------------------
def _agents(data: ReportData) -> pd.DataFrame:
    def make():
        if data.has("surveys") and not data.in_memory("surveys"):
            # the surveys read in place: each agent's answers counted on the engine, the agent of an
            # answer from its conversation joined there (only per-agent counts leave it)
            sv = engine_table(data, "surveys")
            conv = engine_table(data, "conversations") if data.has("conversations") else None
        else:
            sv = data.surveys if data.has("surveys") else None
            # the conversations give the surveys their agents: only the surveyed ones (from the engine
            # when the conversations are read in place there), and none without surveys
            conv = (engine_columns(data, "conversations", S.CONVERSATIONS.required, ids=sv[S.CONVERSATION_ID])
                    if sv is not None and data.has("conversations") else None)
        # (the review scores where the engine keeps them: only per-agent statistics come back)
        return quiet(ST.agent_summary, engine_table(data, "scores"), sv, min_n=data.min_n, conversations=conv,
                     scale=data.csat_scale)
    return data.cached("agents", make)


def agent_forest(data: ReportData) -> Figure | HTML:
    """Agents as a forest plot: IQS with its 95 % interval, the shrunken estimate, the pass line, and
    agents whose interval straddles it marked inconclusive."""
    if not shown(data, "agents"):
        return nothing()
    a = _agents(data).sort_values(ST.IQS_SHRUNK, ascending=True).reset_index(drop=True)
    thr = float(data.card.pass_threshold)
    verdict = agent_verdicts(a, thr)
    n_agents, n_inc = len(a), int((verdict == "inconclusive").sum())  # over every agent, drawn or not
    if n_agents > AGENT_ROWS:  # the lowest and highest by shrunken IQS; every agent in the appendix
        ends = np.r_[0:AGENT_ROWS // 2, n_agents - AGENT_ROWS // 2:n_agents]
        a, verdict = a.iloc[ends].reset_index(drop=True), verdict.iloc[ends].reset_index(drop=True)
    colours = verdict.map({"above": COLOURS["status-on"], "below": COLOURS["status-off"], "inconclusive": "#9e9e9e"})
    fig = Figure(figsize=(WIDE, max(3.0, 0.24 * len(a) + 1.2)))
    ax = fig.subplots()
    y = np.arange(len(a))
    top = max(100.0, float(a[S.IQS].max()))  # the scale's end (above 100 only with a bonus section)
    ax.hlines(y, a[S.CI_LOW].clip(lower=0), a[S.CI_HIGH].clip(upper=top), color=colours, lw=2.2)  # within the scale
    ax.scatter(a[S.IQS], y, facecolors="white", edgecolors=colours, s=28, zorder=3, label="IQS (raw)")
    ax.scatter(a[ST.IQS_SHRUNK], y, marker="D", color="#263238", s=16, zorder=4, label="IQS, shrunk (for ranking)")
    ax.axvline(thr, color="#c62828", ls="--", lw=1.2, label=f"pass line {thr:g} %")
    labels = [f"{aid}  (n = {n})" for aid, n in zip(a[S.AGENT_ID].astype(str), a[S.N])]
    ax.set_yticks(y, labels, fontsize=8)
    for yi, v, hi in zip(y, verdict, a[S.CI_HIGH]):
        if v == "inconclusive":
            ax.text(min(hi, 100) + 0.8, yi, "inconclusive", va="center", fontsize=7, color="#616161")
    ax.set_xlim(max(0, float(a[S.CI_LOW].min()) - 5), 103)
    ax.set_ylim(-0.7, len(a) - 0.3)
    ax.set_xlabel("IQS (%)")
    ax.grid(axis="x", alpha=0.3)
    if n_agents > len(a):
        half = AGENT_ROWS // 2
        ax.axhline(half - 0.5, color="#616161", ls=":", lw=1)
        ax.text(0.01, half - 0.5, f"{n_agents - len(a):,} agents in between: in the appendix and agents.csv",
                transform=ax.get_yaxis_transform(), ha="left", va="center", fontsize=8, color="#616161",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    title = f"Agents: IQS with 95 % interval ({n_inc:,} of {n_agents:,} inconclusive against the pass line)"
    if n_agents > len(a):
        title += f"; the {AGENT_ROWS // 2} lowest and {AGENT_ROWS // 2} highest by shrunken IQS"
    ax.set_title(title, loc="left")
    handles = [Line2D([], [], color=COLOURS["status-on"], lw=2.2, label="95 % interval above the pass line"),
               Line2D([], [], color="#9e9e9e", lw=2.2, label="straddles it (inconclusive)"),
               Line2D([], [], color=COLOURS["status-off"], lw=2.2, label="below it"),
               *ax.get_legend_handles_labels()[0]]
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.04), ncol=6, frameon=False, fontsize=9)
    fig.tight_layout()
    return fig


def category_figure(data: ReportData) -> Figure | HTML:
    """Category scores with 95 % intervals (pooled over reviews), lowest first."""
    if not shown(data, "categories"):
        return nothing()
    t = report_categories(data, min_n=data.min_n).sort_values(S.CATEGORY_SCORE)
    fig = Figure(figsize=(WIDE, 0.45 * len(t) + 1.3))
    ax = fig.subplots()
    y = np.arange(len(t))
    ax.barh(y, t[S.CATEGORY_SCORE], color="#90a4ae", height=0.6)
    lo, hi = t[S.CI_LOW].clip(lower=0), t[S.CI_HIGH].clip(upper=100)  # within the 0-100 scale, as in the tables
    ax.errorbar(t[S.CATEGORY_SCORE], y, xerr=[t[S.CATEGORY_SCORE] - lo, hi - t[S.CATEGORY_SCORE]],
                fmt="none", ecolor="#263238", capsize=3)
    ax.set_yticks(y, [f"{c}  (n = {n:,})" for c, n in zip(t[S.CATEGORY], t[S.N])])
    for yi, v in zip(y, t[S.CATEGORY_SCORE]):
        ax.text(1, yi, f"{v:.1f} %", va="center", fontsize=9, color="white", fontweight="bold")
    ax.set_xlim(0, 100)
    ax.invert_yaxis()  # the first row (the lowest score) at the top, as the title says
    ax.set_xlabel("category score (%), 95 % interval")
    ax.set_title("Category scores, lowest first", loc="left")
    fig.tight_layout()
    return fig


def agent_category_heatmap(data: ReportData) -> Figure | HTML:
    """Agent x category scores; cells where the agent is credibly below the team (upper 95 % bound
    under the team's score) are marked with a dot."""
    if not shown(data, "categories"):
        return nothing()
    t = _coaching(data)
    grid = t.pivot(index=S.CATEGORY, columns=S.AGENT_ID, values=S.CATEGORY_SCORE)
    focus = t.pivot(index=S.CATEGORY, columns=S.AGENT_ID, values="focus").reindex_like(grid)
    cats = [c for c in data.category_names if c in grid.index]
    # agents by IQS, highest first (ties by id), from the agents' table the forest plot shows
    a = _agents(data)
    order = a.assign(_id=a[S.AGENT_ID].astype("str")).sort_values([S.IQS, "_id"], ascending=[False, True],
                                                                  na_position="last")["_id"]
    agents = [x for x in order if x in grid.columns]
    n_agents = len(agents)
    if n_agents > AGENT_ROWS:  # the highest and lowest by IQS, as the forest plot; all in the appendix
        agents = agents[:AGENT_ROWS // 2] + agents[-(AGENT_ROWS // 2):]
    grid, focus = grid.loc[cats, agents], focus.loc[cats, agents]
    fig = Figure(figsize=(WIDE, 0.42 * len(cats) + 2.0))
    ax = fig.subplots()
    im = ax.imshow(grid.to_numpy(dtype=float), cmap="RdYlGn", vmin=0, vmax=100, aspect="auto")
    yy, xx = np.nonzero(focus.fillna(False).to_numpy(dtype=bool))
    ax.scatter(xx, yy, marker="o", s=22, facecolors="black", edgecolors="white", linewidths=0.6,
               label="credibly below the team (coaching focus)")
    ax.set_yticks(range(len(cats)), cats)
    ax.set_xticks(range(grid.shape[1]), [str(a) for a in grid.columns], rotation=90, fontsize=8)
    ax.set_xlabel("agent (highest IQS on the left)")
    cb = fig.colorbar(im, ax=ax, pad=0.01, fraction=0.03)
    cb.set_label("category score (%)")
    title = "Agent x category scores"
    if n_agents > len(agents):
        half = AGENT_ROWS // 2
        ax.axvline(half - 0.5, color="black", lw=1.5)
        title += (f"\nthe {half} highest and {half} lowest of {n_agents:,} agents by IQS (all in the appendix)")
    ax.set_title(title, loc="left")
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.01), frameon=False, fontsize=9)
    fig.tight_layout()
    return fig


def trend_figure(data: ReportData, *, period: str = "W") -> Figure | HTML:
    """IQS (with 95 % band) and CSAT per week or month, with the previous period's IQS drawn on the
    same dates (shifted by the period length) for comparison."""
    if not shown(data, "trends"):
        return nothing()
    fig = Figure(figsize=(WIDE, 3.6))
    ax = fig.subplots()
    word = dict(D="day", W="week", M="month", Q="quarter").get(period, period)
    if data.has("scores"):
        t = quiet(iqs_score, engine_table(data, "scores"), period=period, min_n=0)
        ax.plot(t["period"], t[S.IQS], marker="o", color="#1565c0", label="IQS")
        ax.fill_between(t["period"], t[S.CI_LOW], t[S.CI_HIGH], color="#1565c0", alpha=0.15, label="IQS 95 % interval")
        prev = data.previous.get("scores")
        if prev is not None and len(prev):
            p = quiet(iqs_score, prev, period=period, min_n=0)
            shift = data.start - data.previous["start"]
            ax.plot(p["period"] + shift, p[S.IQS], ls="--", color="#90a4ae", marker=".", label="IQS, previous period")
    sv, by_conv, _ = dated_surveys(data)
    if has_dated_csat(data):  # undated answers placed by their conversation
        # (the surveys read in place: per period on the engine, an undated answer placed by its
        # conversation there; else the dated answers in pandas)
        cs = (_on_engine(data, K.csat_score, sv, period=period, min_n=0, scale=data.csat_scale,
                         conversations=engine_table(data, "conversations") if by_conv else None)
              if isinstance(sv, str) else quiet(K.csat_score, sv, period=period, min_n=0, scale=data.csat_scale))
        label = "CSAT (% satisfied)" + (f"; {by_conv} undated answers placed by their conversation" if by_conv else "")
        ax.plot(cs["period"], cs[K.CSAT], marker="s", color="#ef6c00", label=label)
    ax.set(ylabel="percent")
    ax.set_title(f"IQS and CSAT by {word}", loc="left")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False, fontsize=9)
    span_dates(ax, [x for line in ax.get_lines() for x in line.get_xdata()], period)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def backlog_figure(data: ReportData, *, period: str = "W") -> Figure | HTML:
    """Opened conversations per period (bars) and open at each period end (line); legend outside."""
    if not data.has("conversations"):
        return nothing()
    b = conversation_kpi(data, K.backlog, period=period)  # (on the report's engine, the table as it reads it)
    fig = Figure(figsize=(WIDE, 3.2))
    ax = fig.subplots()
    width = {"D": 0.8, "W": 5, "M": 20, "Q": 60}.get(period, 5)
    ax.bar(b[K.PERIOD], b[K.OPENED], width=width, color="#90caf9", label="opened")
    ax.plot(b[K.PERIOD], b[K.BACKLOG], color="#c62828", marker="o", label="open at period end")
    ax.set(ylabel="conversations")
    ax.set_title("Backlog", loc="left")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False, fontsize=9)
    span_dates(ax, b[K.PERIOD], period)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


# --- short tables -----------------------------------------------------------------------------------------
#: an agent's verdict against the pass line, in words
VERDICT_WORDS = {"above": "above pass line", "below": "below pass line", "inconclusive": "inconclusive"}
_AGENT_COLS = [S.AGENT_ID, S.N, S.IQS, S.CI_LOW, S.CI_HIGH, ST.IQS_SHRUNK, ST.RANK_SHRUNK, "csat", "verdict"]


def agent_table(data: ReportData, *, top: int | None = 5) -> Table | HTML:
    """The ``top`` best and worst agents by shrunken IQS (all agents with ``top=None``), with their
    interval, CSAT and the verdict against the pass line."""
    if not shown(data, "agents"):
        return nothing()
    a = _agents(data)
    a = a.assign(verdict=agent_verdicts(a, float(data.card.pass_threshold)).map(VERDICT_WORDS))
    a = a.sort_values(ST.RANK_SHRUNK).reset_index(drop=True)
    cols = [c for c in _AGENT_COLS if c in a.columns]
    if top is None or len(a) <= 2 * top:
        return pretty(a[cols], caption=f"All {len(a)} agents, best first (by shrunken IQS).")
    show = pd.concat([a.head(top), a.tail(top)])[cols]
    return pretty(show, caption=f"Top {top} and bottom {top} of {len(a)} agents by shrunken IQS; "
                                 "all agents in the appendix and in agents.csv.")


def _coaching(data: ReportData) -> pd.DataFrame:
    return data.cached("coaching", lambda: coaching_table(data))


def coaching_focus(data: ReportData, *, top: int | None = 10) -> Table | HTML:
    """(agent, category) pairs credibly below the team, largest gap first (``top`` of them)."""
    if not shown(data, "categories"):
        return nothing()
    t = _coaching(data)
    t = t[t["focus"]].sort_values(["gap", S.AGENT_ID]).reset_index(drop=True).drop(columns="focus")
    if t.empty:
        return note("Coaching focus: no agent is credibly below the team in any category.")
    cap = f"{min(top or len(t), len(t))} of {len(t)} pairs, largest gap first" + (
        "; all in the appendix and in coaching_focus.csv." if top and len(t) > top else ".")
    return pretty(t.head(top) if top else t, caption=cap)


def default_group(data: ReportData, by: str = "") -> str | None:
    """``by`` when given, else ``team`` when the data has it, else ``channel``, else ``agent_id``."""
    if by:
        return by
    cols = set(table_columns(data, "ratings")) | set(table_columns(data, "conversations"))
    return next((c for c in (S.TEAM, S.CHANNEL, S.AGENT_ID) if c in cols), None)


def group_table(data: ReportData, *, by: str = "") -> Table | HTML:
    """IQS (with pass rate) and CSAT per group (``by``; default :func:`default_group`)."""
    if not shown(data, "trends"):
        return nothing()
    by = default_group(data, by)
    if by is None:
        return note("Breakdown: the data has no team, channel or agent column.")
    t = group_values(data, by)
    if t is None:
        return note(f"Breakdown by {by}: no table with that column.")
    return pretty(t, caption=f"By {by.replace('_', ' ')}.")


def group_values(data: ReportData, by: str) -> pd.DataFrame | None:
    """The numbers of :func:`group_table` (unrounded): ``by, n, iqs, ci_low, ci_high, pass_rate`` and,
    with CSAT answers, ``csat_n, csat, csat_ci_low, csat_ci_high``, sorted by group; None when no
    table has the column ``by``."""
    parts = []
    if data.has("scores"):
        # a group the scores lack comes from the conversations, joined where the engine holds them
        scores = engine_table(data, "scores")
        have = table_columns(data, "scores")
        conv = engine_table(data, "conversations") if data.has("conversations") and by not in have else None
        if by in have or (conv is not None and by in table_columns(data, "conversations")):
            t = quiet(iqs_score, scores, by=by, min_n=data.min_n, conversations=conv)
            parts.append(t[[by, S.N, S.IQS, S.CI_LOW, S.CI_HIGH, S.PASS_RATE]])
    # (whether there are CSAT answers: from the KPI summary, no survey rows read)
    if data.has("conversations") and "csat" in _survey_kinds(data):
        try:
            # on the report's engine, the conversations as it reads them (in place: the group column joined there)
            c = _on_engine(data, K.csat_score, engine_table(data, "surveys"), by=by,
                           conversations=engine_table(data, "conversations"), min_n=data.min_n, scale=data.csat_scale)
            parts.append(c[[by, S.N, K.CSAT, S.CI_LOW, S.CI_HIGH]].rename(
                columns={S.N: "csat_n", S.CI_LOW: "csat_ci_low", S.CI_HIGH: "csat_ci_high"}))
        except ValueError:  # the grouping column is not on conversations
            pass
    if not parts:
        return None
    t = parts[0] if len(parts) == 1 else parts[0].merge(parts[1], on=by, how="outer")
    # reviews of conversations created before the period have no conversation columns in it
    t[by] = t[by].astype("str").where(t[by].notna(), "(conversation before the period)")
    if by == S.CUSTOMER_ID:  # customer ids are shown hashed, as everywhere in the report
        t[by] = hash_ids(t[by])
    return t.sort_values(by).reset_index(drop=True)


def kpi_table(data: ReportData) -> Table | HTML:
    """Every customer KPI the data has: value, 95 % interval and n, in the metric's unit."""
    if not shown(data, "customer_kpis"):
        return nothing()
    t = _kpi_summary(data)
    units = duration_units(data)
    rows = []
    for r in t.itertuples(index=False):
        m = METRICS.get(r.kpi)
        if m is None:
            continue
        (v, lo, hi), unit = _fmt_value(m.name, [x * m.scale for x in (r.value, r.ci_low, r.ci_high)], units)
        rows.append({"KPI": m.heading, "Value": f"{v} {unit}".strip(),
                     "95 % CI": f"{lo}\u00a0–\u00a0{hi}" if lo and hi else "", "n": f"{int(r.n):,}",
                     "Better": "higher" if m.direction == "higher" else "lower"})
    return Table(pd.DataFrame(rows))


def time_table(data: ReportData, *, by: str = "channel") -> Table | HTML:
    """First response and resolution time per group: median, 95 % interval and p90."""
    if not data.has("conversations"):
        return nothing()
    if by not in table_columns(data, "conversations"):
        return note(f"Response times by {by}: the conversations have no {by} column.")
    fr, rt = time_tables(data, by)
    f = fr[[by, S.N, K.FIRST_RESPONSE_TIME, S.CI_LOW, S.CI_HIGH, f"{K.FIRST_RESPONSE_TIME}_p90"]]
    r = rt[[by, K.RESOLUTION_TIME, f"{K.RESOLUTION_TIME}_p90", S.N_EXCLUDED]].rename(
        columns={S.N_EXCLUDED: "open_or_unusable"})
    return pretty(f.merge(r, on=by), units=duration_units(data))


def sla_table(data: ReportData) -> Table | HTML:
    """SLA attainment per priority (natural order: urgent, high, normal, low)."""
    if not data.has("conversations"):
        return nothing()
    t = conversation_kpi(data, K.sla_attainment, min_n=0)
    return pretty(t.drop(columns=[S.SMALL_SAMPLE], errors="ignore"))


# --- customers: one section; values from the customers table when the report has one, else from the
# conversations' optional customer_value column
def _cost_value(data: ReportData, cost_per_contact: float) -> pd.DataFrame:
    return data.cached(f"cost_value_{cost_per_contact}", lambda: K.customer_cost_value(
        data.conversations if data.has("conversations") else None, cost_per_contact=cost_per_contact,
        customers=data.customers))


def _human_legend(ax) -> None:
    """The cost-against-value legend in words people read, outside the data."""
    if ax.get_legend() is None:
        return
    words = {K.COSTS_MORE: "costs more than value", "False": "no", "True": "yes"}
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, [words.get(lb, lb) for lb in labels], loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False, fontsize=9)


def costly_customers(data: ReportData, *, cost_per_contact: float = 5.0, top: int = 10,
                     hash_customer_ids: bool = True) -> Table | HTML:
    """Customers whose support cost exceeds their value (ids hashed by default).

    With a customers table (:func:`qakit.report.data.load_optional_tables`) the values come from it
    (:func:`qakit.kpis.customer_cost_value` with ``customers=``, which adds customers without a
    contact); customers without a value are counted in the caption and itemised under data quality.
    Without one, from the conversations' optional ``customer_value`` column; the section is left
    out, with the reason, when that column has no values.
    """
    if not shown(data, "customers"):
        return nothing()
    if data.customers is not None:
        t = _cost_value(data, cost_per_contact)
        no_value = int(t[S.CUSTOMER_VALUE].isna().sum())
        more = t[t[K.COSTS_MORE]].head(top).reset_index(drop=True)
        if hash_customer_ids:
            more[S.CUSTOMER_ID] = hash_ids(more[S.CUSTOMER_ID])
        k = int(t[K.COSTS_MORE].sum())
        cap = (f"Customer value from the customers table ({len(t):,} customers, {no_value:,} without a value: left out, "
               f"itemised under data quality). {k:,} customer{' costs' if k == 1 else 's cost'} more in support than "
               f"{'its' if k == 1 else 'their'} value" + (f"; the {len(more)} costing most relative to their value:"
                                                          if k > len(more) else ":"))
        if more.empty:
            return note(cap.split(";")[0] + "; no customer costs more in support than their value.")
        return pretty(more.drop(columns=[K.COSTS_MORE], errors="ignore"), caption=cap)
    t = study.costly_customers(data, cost_per_contact=cost_per_contact, top=top, hash_customer_ids=hash_customer_ids)
    if t.empty:
        return note("No customer costs more in support than their value.")
    return pretty(t.drop(columns=[K.COSTS_MORE], errors="ignore"), caption=f"The {len(t)} customer{'s' if len(t) != 1 else ''} "
                  "costing most relative to their value.")


def customer_value_figure(data: ReportData, *, cost_per_contact: float = 5.0) -> Figure | HTML:
    """Support cost against customer value per customer: from the customers table when the report
    has one, else from the conversations' ``customer_value`` (nothing when neither has values)."""
    if not shown(data, "customers"):
        return nothing()
    if data.customers is not None:
        t = _cost_value(data, cost_per_contact)
        fig = Figure(figsize=(WIDE * 0.75, 4.5))
        ax = fig.subplots()
        K.customer_cost_value_plot(t, ax=ax)
        _human_legend(ax)
        fig.tight_layout()
        return fig
    if not has_value_column(data):
        return nothing()
    fig = study.customer_value_figure(data, cost_per_contact=cost_per_contact)
    fig.set_size_inches(WIDE * 0.75, 4.5)
    _human_legend(fig.axes[0])
    fig.tight_layout()
    return fig


def _iqs_csat(data: ReportData, seed: int = 0) -> pd.DataFrame:
    """The IQS-CSAT correlations of the report (Pearson, Spearman, Kendall, point-biserial at the
    conversation level), once per run and seed: the verdict reads the Pearson row of the table's
    result (at 100M ratings the pairs are millions of rows, joined once). No conversation columns: none of
    these methods takes a covariate; with DuckDB both tables stay on the engine."""
    return data.cached(f"iqs_csat:{seed}", lambda: quiet(
        ST.iqs_csat_correlation, engine_table(data, "scores"), engine_table(data, "surveys"),
        method=["pearson", "spearman", "kendall", "point_biserial"], seed=seed, scale=data.csat_scale))


def iqs_csat_verdict(data: ReportData) -> HTML:
    """One plain sentence on whether IQS tracks CSAT (conversation level, Pearson with its interval)."""
    if not shown(data, "iqs_csat"):
        return nothing()
    t = _iqs_csat(data).set_index(ST.METHOD).loc["pearson"]
    text = ST.correlation_verdict(t[ST.R], t[S.CI_LOW], t[S.CI_HIGH], int(t[S.N]), subject="IQS", other="CSAT",
                                  unit="conversations")
    return HTML(f'<p class="qakit-verdict">{html.escape(text)}</p>', text)


def iqs_csat_table(data: ReportData, *, seed: int = 0) -> Table | HTML:
    """Pearson, Spearman, Kendall and point-biserial correlation of review IQS with the CSAT answer."""
    if not shown(data, "iqs_csat"):
        return nothing()
    t = _iqs_csat(data, seed)
    t = t.drop(columns=[c for c in (ST.UNIT,) if c in t.columns])
    names = {"pearson": "Pearson", "spearman": "Spearman (ranks)", "kendall": "Kendall (ranks)",
             "point_biserial": "Point-biserial (satisfied or not)"}
    return pretty(t.assign(**{ST.METHOD: t[ST.METHOD].map(lambda m: names.get(m, m))}))


def data_quality(data: ReportData, *, show_ids: int = 3) -> Table:
    """Every row the numbers leave out, by table and reason, with example ids (reasons in full):
    :func:`qakit.report.tiles.left_out_rows` for the tables the dataset has."""
    t = left_out_rows(data, show_ids=show_ids)
    t = t.rename(columns={"table": "Table", "used for": "Used for", "reason": "Reason", "example ids": "Example ids"})
    if t.empty:
        return Table(pd.DataFrame({"Data quality": ["No row was left out."]}))
    out = pretty(t)
    out.css = "qakit-table qakit-wrap"
    return out


# --- appendix and CSV files -------------------------------------------------------------------------------
@public
def appendix_tables(data: ReportData) -> dict[str, pd.DataFrame]:
    """The full tables behind the report (unrounded), by file name."""
    out: dict[str, pd.DataFrame] = {}
    if data.has("scores"):
        a = _agents(data)
        out["agents"] = a.assign(verdict=agent_verdicts(a, float(data.card.pass_threshold)))
        out["categories"] = report_categories(data, min_n=data.min_n)
        c = _coaching(data)
        out["coaching_focus"] = c[c["focus"]].sort_values(["gap", S.AGENT_ID]).reset_index(drop=True)
    if data.has("conversations") or data.has("surveys"):
        out["kpis"] = _kpi_summary(data)
    if data.has("conversations"):
        out["sla"] = conversation_kpi(data, K.sla_attainment, min_n=0)
    return out


def _kpis_readable(data: ReportData, t: pd.DataFrame) -> pd.DataFrame:
    """``kpis.csv`` as people read it: one row per KPI, its label, value and interval in the
    report's units (durations in the page's unit), the unit, n and which way is better."""
    units = duration_units(data)
    rows = []
    for r in t.itertuples(index=False):
        m = METRICS.get(r.kpi)
        if m is None:
            continue
        header, conv, digits = _metric_spec_of(m, units)
        vals = conv(pd.Series([r.value, r.ci_low, r.ci_high], dtype=float)).round(digits).tolist()
        unit = header[header.rfind("(") + 1:-1] if header.endswith(")") else m.unit
        rows.append({"KPI": m.heading, "Value": vals[0], "95 % CI low": vals[1], "95 % CI high": vals[2],
                     "Unit": unit, "n": int(r.n), "Better": "higher" if m.direction == "higher" else "lower"})
    return pd.DataFrame(rows, columns=["KPI", "Value", "95 % CI low", "95 % CI high", "Unit", "n", "Better"])


def _metric_spec_of(m, units: dict[str, str]):
    """``(header, to display units, digits)`` of registry metric ``m`` (display's one definition)."""
    return _metric_spec(m.value, pd.Series([1.0]), units=units)


@public
def readable_tables(data: ReportData) -> dict[str, pd.DataFrame]:
    """:func:`appendix_tables` as people read them (the report's headers, units and rounding, numbers
    kept as numbers, intervals as two columns; :func:`qakit.report.display.readable`)."""
    units = duration_units(data)
    out = {}
    for name, t in appendix_tables(data).items():
        if name == "agents":  # the verdict in the words of the page
            t = t.assign(verdict=t["verdict"].map(VERDICT_WORDS))
        out[name] = _kpis_readable(data, t) if name == "kpis" else readable(t, units=units)
    return out


def write_tables(data: ReportData, folder: str) -> HTML:
    """Write :func:`appendix_tables` as CSV into ``folder`` (nothing when empty): ``<name>.csv`` as
    people read it (:func:`readable_tables`) and ``raw/<name>.csv`` unrounded
    (:func:`qakit.report.display.write_table_files`); say where they are."""
    if not folder:
        return nothing()
    raw, readable_ = appendix_tables(data), readable_tables(data)
    if not raw:
        return nothing()
    names = write_table_files(folder, {n: (raw[n], readable_[n]) for n in raw})
    text = tables_note(folder, names)
    return HTML(f'<p class="qakit-caption">{html.escape(text)}</p>', text)


def appendix_agents(data: ReportData) -> Table | HTML:
    """All agents (the body shows the top and bottom ones)."""
    return agent_table(data, top=None)


def appendix_coaching(data: ReportData) -> Table | HTML:
    """Every coaching-focus pair."""
    return coaching_focus(data, top=None)


__all__ = ["appendix_tables", "readable_tables", "title_text", "period_text"]

#: the section heading cell of the report notebook (``V.heading(data, "agents")``)
heading = heading
