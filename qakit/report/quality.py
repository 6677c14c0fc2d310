"""Display of the coaching effect and the scorecard's health: the ``coaching`` and
``scorecard_health`` notebooks and the report's two sections of the same names.

Numbers come unrounded from :func:`qakit.coaching.coaching_effect` and
:func:`qakit.health.scorecard_health`; they are rounded and labelled only here. Every function takes
a loaded report dataset (:func:`qakit.report_data.load_report_data`; read through its ``ratings``,
``scores``, ``card``, ``surveys``, ``source`` attributes) and caches its analysis on it, so a
report computes each once. The coaching table is optional: :func:`load_coaching` finds
``coaching.parquet`` / ``coaching.csv`` next to the ratings; without it the coaching section says
which file would enable it.
"""

from __future__ import annotations

import html
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import coaching as C
from .. import datasets
from .. import health as H
from .. import schema as S
from ..errors import SmallSampleWarning, UndefinedMetricWarning
from ..io import read_table
from .data import ReportData, engine_columns, engine_table, scores_on_engine
from .display import Figure, Table
from .support import listed

#: what the coaching section needs when the dataset has no coaching table
NO_COACHING = ("no coaching table: the coaching effect is left out (add coaching.parquet or coaching.csv: "
               "agent_id, coached_at, optional focus, coach)")
_PALETTE = {"adjusted": "#1f5fa8", "did": "#8c8c8c", "naive": "#c62828"}


class Note:
    """An escaped HTML paragraph Jupyter shows as HTML; ``text/plain`` is the sentence."""

    def __init__(self, text: str, *, css: str = "qakit-note", bold: str = ""):
        self.text, self.css, self.bold = text, css, bold

    def _repr_html_(self) -> str:
        lead = f"<b>{html.escape(self.bold)}</b> " if self.bold else ""
        return f'<p class="{self.css}">{lead}{html.escape(self.text)}</p>'

    def __repr__(self) -> str:
        return f"{self.bold} {self.text}".strip()


class WrapTable(Table):
    """A :class:`qakit.display.Table` whose last column (flags, notes) wraps instead of widening the
    table past the page."""

    def _repr_html_(self) -> str:
        style = ("<style>table.qakit-wrap td:last-child{white-space:normal;min-width:8em;max-width:22em;"
                 "text-align:left}</style>")
        return style + super()._repr_html_()


class Block:
    """Several displays shown as one output (a table and the notes under it)."""

    def __init__(self, *parts: Any):
        self.parts = [p for p in parts if p is not None]

    def _repr_html_(self) -> str:
        return "".join(p._repr_html_() for p in self.parts)

    def __repr__(self) -> str:
        return "\n".join(repr(p) for p in self.parts)


def _quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return fn(*a, **kw)


def _cache(data: Any, key: str, make):
    cache = data.__dict__.setdefault("_quality_cache", {})
    if key not in cache:
        cache[key] = make()
    return cache[key]


def _num(v: float, digits: int = 1, *, sign: bool = False) -> str:
    if v is None or not np.isfinite(v):
        return ""
    return f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"


def _ci(lo: float, hi: float, digits: int = 1) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return ""
    return f"{lo:.{digits}f}\u00a0to\u00a0{hi:.{digits}f}"


# --- coaching ------------------------------------------------------------------------------------------------
def load_coaching(data: Any, *, dataset: str | None = None, path: str = "", tz: str = "UTC") -> None:
    """Find, read and validate the coaching sessions and attach them as ``data.coaching``
    (None when there is no such file; the coaching displays then say which file would enable them).

    Parameters
    ----------
    data : ReportData
    dataset : str, optional
        ``"sample"`` or a folder; default the folder ``data`` was loaded from.
    path : str, default=""
        A coaching file; empty: ``coaching.parquet`` or ``coaching.csv`` in the dataset folder.
    tz : str, default="UTC"
        Zone of naive ``coached_at`` values.
    """

    if path:
        f = Path(path)
    else:
        src = dataset if dataset not in (None, "") else getattr(data, "source", "sample")
        folder = datasets.sample_data_dir() if src in ("sample", "bundled sample data") else Path(src)
        f = next((folder / f"coaching.{ext}" for ext in ("parquet", "csv") if (folder / f"coaching.{ext}").is_file()),
                 None)
    data.coaching = read_table(f, "coaching", tz=tz) if f is not None and f.is_file() else None


#: what both sections need when the dataset has no reviews
NO_REVIEWS = "no reviews: the coaching effect and the scorecard's health are left out (add ratings)"


def _has_reviews(data: Any) -> bool:
    has = getattr(data, "has", None)
    if callable(has):
        return bool(has("ratings"))
    return getattr(data, "ratings", None) is not None and getattr(data, "card", None) is not None


def _has_coaching(data: Any) -> bool:
    return _has_reviews(data) and getattr(data, "coaching", None) is not None and len(data.coaching) > 0


def _coaching_missing(data: Any) -> Note:
    return Note(NO_COACHING if _has_reviews(data) else NO_REVIEWS)


def _one_card(data: Any) -> tuple[pd.DataFrame, Any]:
    """The ratings and the card the per-category analyses read. A card edited mid-period (several
    versions in the report's scorecard file, differing in weights) is read as its latest version: the
    versions share categories and scales, and these analyses judge the card in use."""
    # only the contract's columns, from the engine when the ratings are read in place there (ids
    # categorical): the ratings are never read whole for these sections
    ratings = (engine_columns(data, "ratings", [*S.RATINGS.required, S.SCORECARD_VERSION])
               if isinstance(data, ReportData) else data.ratings)
    if len(getattr(data, "cards", None) or []) > 1 and S.SCORECARD_VERSION in ratings.columns:
        ratings = ratings.drop(columns=[S.SCORECARD_VERSION])
    return ratings, data.card


def coaching_result(data: Any, **options: Any) -> pd.DataFrame:
    """:func:`qakit.coaching.coaching_effect` on the dataset (review scores, sessions, ratings and
    card for the focus categories), computed once per dataset and options."""
    key = "coaching:" + repr(sorted(options.items()))

    def make():
        if isinstance(data, ReportData) and scores_on_engine(data):
            # the scores kept on the engine, the ratings read in place there when the report reads them so:
            # only per-(agent, week) and per-(agent, week, category) sums and counts come back
            ratings = (engine_table(data, "ratings") if "ratings" in data.direct and len(data.cards or [data.card]) == 1
                       else _one_card(data)[0])
            return _quiet(C.coaching_effect, engine_table(data, "scores"), data.coaching, ratings=ratings,
                          card=data.card, **options)
        ratings, card = _one_card(data)
        return _quiet(C.coaching_effect, data.scores, data.coaching, ratings=ratings, card=card, **options)
    return _cache(data, key, make)


def coaching_sessions(data: Any) -> Table | Note:
    """The coaching sessions: agent, date, focus, coach (plans and commitments stay in the file)."""
    if not _has_coaching(data):
        return None if listed(data, "coaching_effect") else _coaching_missing(data)
    c = data.coaching.sort_values([S.COACHED_AT, S.AGENT_ID])
    out = pd.DataFrame({"Agent": c[S.AGENT_ID].astype(str), "Coached": c[S.COACHED_AT].dt.strftime("%Y-%m-%d"),
                        "Focus": c[S.FOCUS].fillna("") if S.FOCUS in c.columns else "",
                        "Coach": c[S.COACH].fillna("") if S.COACH in c.columns else ""})
    first = ~c[S.AGENT_ID].duplicated()
    return Table(out.reset_index(drop=True),
                 caption=f"{len(c)} sessions, {int(first.sum())} agents coached (an agent's first session starts "
                         "its coaching).")


def coaching_verdict(data: Any, **options: Any) -> Note:
    """One paragraph: what the naive before/after says, what the comparison with agents not yet
    coached says, and whether that is credible."""
    if not _has_coaching(data):
        return None if listed(data, "coaching_effect") else _coaching_missing(data)
    r = coaching_result(data, **options)
    m = r[r[C.OUTCOME].eq(C.OVERALL)].set_index(C.METHOD)
    adj, naive = m.loc[C.ADJUSTED], m.loc[C.NAIVE]
    if not np.isfinite(adj[C.EFFECT]):
        return Note("No estimate: no coached agent has a control agent with enough reviews over the same weeks. "
                    + str(adj[C.NOTE]), bold="Did coaching work?")
    credible = adj[S.CI_LOW] > 0 or adj[S.CI_HIGH] < 0
    word = ("credibly raised" if adj[S.CI_LOW] > 0 else "credibly lowered") if credible else "did not credibly change"
    text = (f"The {int(naive[S.N])} coached agents' IQS went from {_num(naive[C.PRE_SCORE])} before coaching to "
            f"{_num(naive[C.POST_SCORE])} after ({_num(naive[C.EFFECT], sign=True)} points): that is what a coaching "
            f"dashboard shows, and it includes the bounce-back of scores that were low by chance. Against "
            f"{int(adj[C.N_CONTROL])} agents not yet coached who scored as low before, over the same weeks, coaching "
            f"{word} IQS: {_num(adj[C.EFFECT], sign=True)} points (95 % CI {_ci(adj[S.CI_LOW], adj[S.CI_HIGH])}).")
    if adj[S.SMALL_SAMPLE]:
        text += f" Caution: {adj[C.NOTE]}."
    return Note(text, bold="Did coaching work?")


def coaching_effect_table(data: Any, *, methods: tuple[str, ...] = (C.ADJUSTED, C.NAIVE), **options: Any) -> Block | Note:
    """Per outcome (IQS, then each focus category): the adjusted diff-in-diff and the naive
    before/after (``methods``), with intervals and counts; the notes (left-out agents, too few
    agents) listed under the table."""
    if not _has_coaching(data):
        return None if listed(data, "coaching_effect") else _coaching_missing(data)
    r = coaching_result(data, **options)
    r = r[r[C.METHOD].isin(methods)]
    out = pd.DataFrame({
        "Outcome": r[C.OUTCOME].map(lambda o: "IQS (all sessions)" if o == C.OVERALL else o),
        "Method": r[C.METHOD].map({C.ADJUSTED: "adjusted diff-in-diff", C.DID: "diff-in-diff",
                                   C.NAIVE: "naive before/after (regression-prone)"}),
        "Coached": r[S.N].astype(int),
        "Controls": r[C.N_CONTROL].map(lambda v: "" if v == 0 else str(int(v))),
        "Before": r[C.PRE_SCORE].map(_num), "After": r[C.POST_SCORE].map(_num),
        "Effect (points)": r[C.EFFECT].map(lambda v: _num(v, sign=True)),
        "95 % CI": [_ci(a, b) for a, b in zip(r[S.CI_LOW], r[S.CI_HIGH])],
        "p": r[S.P_VALUE].map(lambda p: "" if not np.isfinite(p) else "< 0.001" if p < 0.001 else f"{p:.3f}"),
    })
    table = Table(out.reset_index(drop=True),
                  caption="Effect = change of the coached agents minus the change of agents not yet coached with the "
                          "same pre-coaching score, same weeks (adjusted diff-in-diff); the naive row is the coached "
                          "agents' own before/after, biased upwards by regression to the mean. A focus category's "
                          "rows compare the agents coached on it, on its score.")
    notes = r[r[C.METHOD].ne(C.NAIVE) & r[C.NOTE].fillna("").ne("")]
    if notes.empty:
        return Block(table)
    items = [(("IQS" if o == C.OVERALL else o), n) for o, n in zip(notes[C.OUTCOME], notes[C.NOTE])]
    return Block(table, Notes(items))


class Notes:
    """A short list of ``(what, note)`` lines under a table."""

    def __init__(self, items: list[tuple[str, str]]):
        self.items = items

    def _repr_html_(self) -> str:
        lis = "".join(f"<li><b>{html.escape(a)}</b>: {html.escape(b)}</li>" for a, b in self.items)
        return f'<ul class="qakit-caption">{lis}</ul>'

    def __repr__(self) -> str:
        return "\n".join(f"- {a}: {b}" for a, b in self.items)


def coaching_figure(data: Any, *, min_coached: int = 2, **options: Any) -> Figure | Note:
    """The adjusted effect and the naive before/after per outcome, each with its 95 % interval,
    against 0 (outcomes with fewer than ``min_coached`` coached agents left out)."""
    if not _has_coaching(data):
        return None if listed(data, "coaching_effect") else _coaching_missing(data)
    r = coaching_result(data, **options)
    outcomes = [o for o in dict.fromkeys(r[C.OUTCOME])
                if int(r[(r[C.OUTCOME] == o) & (r[C.METHOD] == C.ADJUSTED)][S.N].iloc[0]) >= min_coached]
    if not outcomes:
        return Note("No outcome has enough coached agents to draw.")
    fig = Figure(figsize=(9.5, 0.75 + 0.62 * len(outcomes)))
    ax = fig.subplots()
    for i, o in enumerate(outcomes):
        for method, dy, colour, label in ((C.ADJUSTED, -0.14, _PALETTE["adjusted"], "adjusted diff-in-diff (read this)"),
                                          (C.NAIVE, 0.14, _PALETTE["naive"], "naive before/after (regression-prone)")):
            row = r[(r[C.OUTCOME] == o) & (r[C.METHOD] == method)].iloc[0]
            y = i + dy
            if np.isfinite(row[S.CI_LOW]):
                ax.plot([row[S.CI_LOW], row[S.CI_HIGH]], [y, y], color=colour, lw=2.2, solid_capstyle="butt")
            ax.plot([row[C.EFFECT]], [y], "o", color=colour, ms=6, label=label if i == 0 else None)
    ax.axvline(0, color="#333", lw=0.8)
    ax.set_yticks(range(len(outcomes)))
    n_of = r[r[C.METHOD] == C.ADJUSTED].set_index(C.OUTCOME)[S.N]
    ax.set_yticklabels([f"{'IQS' if o == C.OVERALL else o}\n{int(n_of[o])} coached" for o in outcomes])
    ax.invert_yaxis()
    ax.set_xlabel("effect on the score (points), 95 % interval")
    ax.set_title("Did coaching work? Adjusted for the pre-coaching score vs. the naive before/after", loc="left",
                 fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.grid(axis="x", color="#e0e0e0", lw=0.6)
    fig.tight_layout()
    return fig


# --- scorecard health -------------------------------------------------------------------------------------
def health_result(data: Any, *, seed: int = 0, n_resamples: int = 1000) -> H.ScorecardHealth:
    """:func:`qakit.health.scorecard_health` on the dataset's ratings (CSAT from its surveys),
    computed once per dataset."""
    if isinstance(data, ReportData):  # (surveys the engine reads in place: each conversation's CSAT computed there)
        sv = engine_table(data, "surveys") if data.has("surveys") else None
    else:
        surveys = getattr(data, "surveys", None)
        sv = surveys if surveys is not None and len(surveys) else None
    if isinstance(data, ReportData) and data.engine != "pandas" and "ratings" in data.direct:
        # the rating patterns counted on the engine, the ratings read in place (only the patterns leave it)
        return _cache(data, f"health:{seed}:{n_resamples}", lambda: _quiet(
            H.scorecard_health, engine_table(data, "ratings"), data.card, surveys=sv, seed=seed,
            n_resamples=n_resamples, engine=data.engine))
    return _cache(data, f"health:{seed}:{n_resamples}", lambda: _quiet(
        H.scorecard_health, *_one_card(data), surveys=sv, seed=seed, n_resamples=n_resamples))


def health_verdict(data: Any) -> Note:
    """One paragraph: the card's consistency and the categories to look at first."""
    if not _has_reviews(data):
        return None if listed(data, "scorecard_health") else Note(NO_REVIEWS)
    h = health_result(data)
    c = h.consistency.set_index(H.STATISTIC)
    a, o = c.loc["alpha"], c.loc["omega_total"]
    t = h.categories
    look = t[t[H.FLAGS].ne("")]
    parts = [f"{row[S.CATEGORY]} ({row[H.FLAGS]})" for _, row in look.iterrows()]
    text = (f"Across {int(a[H.N_ITEMS])} categories that vary, Cronbach's alpha is {_num(a[H.ESTIMATE], 2)} "
            f"(95 % CI {_ci(a[S.CI_LOW], a[S.CI_HIGH], 2)}) and McDonald's omega {_num(o[H.ESTIMATE], 2)} "
            f"({_ci(o[S.CI_LOW], o[S.CI_HIGH], 2)}). ")
    text += ("Look at: " + "; ".join(parts) + "." if parts else "No category is flagged.")
    return Note(text, bold="Is the scorecard any good?")


def health_table(data: Any, *, point_biserial: bool = True) -> Table | Note:
    """Per category: weight, how often rated, difficulty, discrimination with interval (and the
    point-biserial r unless ``point_biserial=False``, for narrow pages), CSAT correlation, alpha if
    dropped, flags."""
    if not _has_reviews(data):
        return None if listed(data, "scorecard_health") else Note(NO_REVIEWS)
    t = health_result(data).categories
    pct = lambda s: s.map(lambda v: _num(100 * v, 0))  # noqa: E731

    def with_ci(r, lo, hi):
        return [f"{_num(a, 2)} ({_ci(b, c, 2)})" if np.isfinite(a) else "" for a, b, c in zip(r, lo, hi)]

    out = pd.DataFrame({
        "Category": t[S.CATEGORY],
        "Weight": [f"{w:g}" + (" critical" if c else "") for w, c in zip(t[H.WEIGHT], t[H.CRITICAL])],
        "Rated": t[S.N].astype(int), "N/A (%)": pct(t[H.NA_RATE]), "Full marks (%)": pct(t[H.FULL_MARKS_RATE]),
        "Failing (%)": pct(t[H.FAIL_RATE]),
        "Discrimination r (95 % CI)": with_ci(t[H.ITEM_REST_R], t[S.CI_LOW], t[S.CI_HIGH]),
        "Point-biserial r": t[H.POINT_BISERIAL_R].map(lambda v: _num(v, 2)),
        "r with CSAT (95 % CI)": with_ci(t[H.CSAT_R], t[H.CSAT_CI_LOW], t[H.CSAT_CI_HIGH]),
        "Alpha if dropped": t[H.ALPHA_IF_DROPPED].map(lambda v: _num(v, 2)),
        "Flags": t[H.FLAGS],
    })
    if not point_biserial:
        out = out.drop(columns=["Point-biserial r"])
    if not np.isfinite(t[H.CSAT_R].to_numpy(float)).any():  # (no CSAT on the reviewed conversations: no empty column)
        out = out.drop(columns=["r with CSAT (95 % CI)"])
    return WrapTable(out, css="qakit-table qakit-wrap",
                     caption="Discrimination: corrected item-total correlation (the category against the mean of "
                             "the other categories on the same review)." + (
                                 " Point-biserial: passing the category against that rest score." if point_biserial
                                 else ""))


def consistency_table(data: Any) -> Table | Note:
    """Cronbach's alpha and McDonald's omega total with their intervals."""
    if not _has_reviews(data):
        return None if listed(data, "scorecard_health") else Note(NO_REVIEWS)
    c = health_result(data).consistency
    out = pd.DataFrame({"Statistic": c[H.STATISTIC].map({"alpha": "Cronbach's alpha", "omega_total": "McDonald's omega (total)"}),
                        "Estimate": c[H.ESTIMATE].map(lambda v: _num(v, 3)),
                        "95 % CI": [_ci(a, b, 3) for a, b in zip(c[S.CI_LOW], c[S.CI_HIGH])],
                        "Categories": c[H.N_ITEMS].astype(int), "n": c[S.N].astype(int),
                        "Interval": c[H.CI_METHOD], "Flags": c[H.FLAGS]})
    return Table(out)


def redundancy_table(data: Any, *, top: int = 5) -> Table | Note:
    """The most correlated pairs of categories (``top``), redundant ones (r >= 0.70) marked."""
    if not _has_reviews(data):
        return None if listed(data, "scorecard_health") else Note(NO_REVIEWS)
    p = health_result(data).pairs.dropna(subset=[H.R]).sort_values(H.R, ascending=False, kind="stable").head(top)
    out = pd.DataFrame({"Category": p[H.CATEGORY_A], "and": p[H.CATEGORY_B], "n": p[S.N].astype(int),
                        "r": p[H.R].map(lambda v: _num(v, 2)),
                        "95 % CI": [_ci(a, b, 2) for a, b in zip(p[S.CI_LOW], p[S.CI_HIGH])],
                        "Redundant": p[H.REDUNDANT].map({True: "yes", False: ""})})
    return Table(out.reset_index(drop=True), caption=f"The {len(out)} most correlated pairs of categories.")


def thresholds_table() -> Table:
    """The flags, their rules and their sources."""
    t = H.THRESHOLDS
    return Table(pd.DataFrame({"Flag": t[H.FLAG], "Rule": t[H.RULE], "Source": t[H.SOURCE]}))


def discrimination_figure(data: Any) -> Figure | Note:
    """Each category's corrected item-total correlation with its 95 % interval, the poor-discrimination
    line at 0.20, and its weight and flags beside it."""
    if not _has_reviews(data):
        return None if listed(data, "scorecard_health") else Note(NO_REVIEWS)
    t = health_result(data).categories
    fig = Figure(figsize=(9.5, 0.9 + 0.45 * len(t)))
    ax = fig.subplots()
    for i, row in t.reset_index(drop=True).iterrows():
        r = row[H.ITEM_REST_R]
        colour = "#9e9e9e" if not np.isfinite(r) else "#b26a00" if r < H.POOR_DISCRIMINATION else "#1f5fa8"
        if np.isfinite(r):
            ax.plot([row[S.CI_LOW], row[S.CI_HIGH]], [i, i], color=colour, lw=2.2)
            ax.plot([r], [i], "o", color=colour, ms=6)
        label = f"weight {row[H.WEIGHT]:g}" + (" · critical" if row[H.CRITICAL] else "")
        if row[H.FLAGS]:
            label += f" · {row[H.FLAGS]}"
        ax.text(1.02, i, label, va="center", fontsize=8, color="#444", transform=ax.get_yaxis_transform())
    ax.axvline(H.POOR_DISCRIMINATION, color="#b26a00", lw=0.8, ls="--")
    ax.axvline(0, color="#333", lw=0.8)
    ax.set_yticks(range(len(t)))
    ax.set_yticklabels(t[S.CATEGORY])
    ax.invert_yaxis()
    ax.set_xlim(min(-0.1, float(np.nanmin(t[S.CI_LOW].to_numpy(dtype=float), initial=0)) - 0.05), 1.0)
    ax.set_xlabel("discrimination: correlation with the rest of the card (95 % interval); dashed: 0.20, "
                  "below is poor (Ebel & Frisbie 1991)", fontsize=8)
    ax.set_title("Which categories separate good from bad conversations?", loc="left", fontsize=10)
    ax.grid(axis="x", color="#e0e0e0", lw=0.6)
    fig.tight_layout()
    fig.subplots_adjust(right=0.62)
    return fig
