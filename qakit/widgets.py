"""The scorecard tuning explorer: ipywidgets controls over a pure, testable update function.

QA leads move a weight slider or tick a critical box and see at once what the change does:
the IQS distribution, the agent ranking with CIs, agents whose pass/fail flips against the
baseline card, and the IQS-CSAT correlation.  All the logic is :func:`explore`, a pure function
of (prepared data, candidate card, baseline card) that tests call directly; the widget class
:class:`ScorecardExplorer` only wires controls to it and renders the result into ``HTML``
widgets (no printing, so nbval can compare the notebook honestly).
"""

from __future__ import annotations

import base64
import datetime
import html
import os
import re
import shlex
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import tqdm.auto
from scipy import stats

from . import schema as S
from ._public import public
from .commands import qakit_command
from .errors import ParameterError, QakitError, check_choice
from .health import category_discrimination, discrimination_html  # discrimination beside each weight (issue 25)
from .intervals import fisher_ci, mean_ci
from .report.data import load_report_data
from .report.display import table
from .scorecard import MODES, Scorecard, iqs_score
from .scorecard.aggregate import code_stats
from .scorecard.card import _num
from .scorecard.engine import NOT_SCORED_ALL_NA, NOT_SCORED_WEIGHT_0
from .stats import csat_by_conversation  # re-exported: the explorer's CSAT pairing
from .tuning import CURRENT_WEIGHT, FITTED_WEIGHT, FOLD_MAX, FOLD_MIN, ReviewMatrix, fit_weights

#: agents need at least this many reviews to be ranked without a small-sample flag
EXPLORER_MIN_N = 10


@dataclass
class ExplorerResult:
    """What one explorer update shows."""

    card: Scorecard
    scores: pd.DataFrame        # one row per review under the candidate card
    agents: pd.DataFrame        # agent ranking: agent_id, n, iqs, ci_low, ci_high, rank, baseline_iqs, baseline_rank, passed, baseline_passed, flipped
    summary: pd.DataFrame       # one row: n, iqs, baseline_iqs, pass_rate, baseline_pass_rate, n_flipped, r, r_ci_low, r_ci_high, baseline_r


def _shown(result: ExplorerResult | None) -> ExplorerResult | None:
    """``result`` with its tables' records left off, for display only (cached on the result).

    pandas deep-copies a table's ``attrs`` (the qakit record) on every column read; the widget
    reads dozens of columns per change to draw HTML, so it reads them from shallow copies without
    the record. The result itself keeps its record.
    """
    if result is None:
        return None
    bare = result.__dict__.get("_shown")
    if bare is None:
        def plain(df: Any) -> Any:
            if not isinstance(df, pd.DataFrame) or not df.attrs:
                return df
            out = df.copy(deep=False)
            out.attrs = {}
            return out

        bare = ExplorerResult(card=result.card, scores=plain(result.scores), agents=plain(result.agents),
                              summary=plain(result.summary))
        bare.__dict__["_shown"] = bare
        result.__dict__["_shown"] = bare
    return bare


def _conv_corr(scores: pd.DataFrame, csat: pd.Series | None) -> tuple[float, float, float, int]:
    """Conversation-level Pearson r between review IQS and CSAT score, Fisher-z CI (scipy)."""
    if csat is None:
        return np.nan, np.nan, np.nan, 0
    per_conv = scores.groupby(S.CONVERSATION_ID, sort=False)[S.IQS].mean()
    joined = pd.concat([per_conv, csat], axis=1, join="inner").dropna()
    n = len(joined)
    if n < 4 or joined.iloc[:, 0].std() == 0 or joined.iloc[:, 1].std() == 0:
        return np.nan, np.nan, np.nan, n
    res = stats.pearsonr(joined.iloc[:, 0], joined.iloc[:, 1])
    ci = res.confidence_interval(0.95)
    return float(res.statistic), float(ci.low), float(ci.high), n


def _agent_table(scores: pd.DataFrame, card: Scorecard) -> pd.DataFrame:
    agents = iqs_score(scores, by=S.AGENT_ID, min_n=EXPLORER_MIN_N)
    agents["rank"] = agents[S.IQS].rank(ascending=False, method="min")
    agents[S.PASSED] = card.passes(agents[S.IQS])
    return agents


@public
def explore(
    ratings: pd.DataFrame,
    card: Scorecard,
    *,
    baseline: Scorecard,
    csat: pd.Series | None = None,
    baseline_result: ExplorerResult | None = None,
) -> ExplorerResult:
    """Everything the explorer shows for a candidate card, against a baseline card.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Long ratings.
    card, baseline : Scorecard
        Candidate and baseline (current) cards.
    csat : pandas.Series, optional
        CSAT score per conversation (index ``conversation_id``), see :func:`csat_by_conversation`.
    baseline_result : ExplorerResult, optional
        Cached result for the baseline, to avoid re-scoring it on every change.

    Returns
    -------
    ExplorerResult
        ``agents``: agent ranking (``rank`` 1 = best) with CIs and ``flipped`` where the agent's
        pass/fail (agent IQS >= pass threshold) differs from the baseline; ``summary``: overall
        IQS, pass rate, number of flipped agents, conversation-level Pearson r with CSAT and its
        Fisher-z CI, for candidate and baseline.
    """
    base = baseline_result if baseline_result is not None else None
    scores = card.score(ratings)
    agents = _agent_table(scores, card)
    r, lo, hi, n_r = _conv_corr(scores, csat)
    if base is None:
        if card == baseline:
            b_agents, b_scores, b_r = agents, scores, r
        else:
            b_scores = baseline.score(ratings)
            b_agents = _agent_table(b_scores, baseline)
            b_r = _conv_corr(b_scores, csat)[0]
    else:
        b_agents, b_scores, b_r = base.agents, base.scores, float(base.summary["r"].iloc[0])
    keep = [S.AGENT_ID, S.IQS, "rank", S.PASSED]
    b = b_agents[[c for c in keep if c in b_agents.columns]].rename(
        columns={S.IQS: "baseline_iqs", "rank": "baseline_rank", S.PASSED: "baseline_passed"})
    agents = agents.merge(b, on=S.AGENT_ID, how="left")
    agents["flipped"] = agents[S.PASSED] != agents["baseline_passed"]
    agents = agents.sort_values(["rank", S.AGENT_ID]).reset_index(drop=True)
    overall, b_overall = iqs_score(scores), iqs_score(b_scores)
    summary = pd.DataFrame([{
        S.N: int(overall[S.N].iloc[0]),
        S.IQS: float(overall[S.IQS].iloc[0]),
        "baseline_iqs": float(b_overall[S.IQS].iloc[0]),
        S.PASS_RATE: float(overall[S.PASS_RATE].iloc[0]),
        "baseline_pass_rate": float(b_overall[S.PASS_RATE].iloc[0]),
        "n_flipped": int(agents["flipped"].sum()),
        "n_csat": n_r, "r": r, "r_ci_low": lo, "r_ci_high": hi, "baseline_r": b_r,
    }])
    return ExplorerResult(card=card, scores=scores, agents=agents, summary=summary)


# --- fast path: a weight / critical / threshold change is a matrix-vector product -------------------
@dataclass
class ExplorerState:
    """Everything a weight change does not alter, prepared once (see :func:`prepare_explorer`)."""

    matrices: dict           # "ratings" -> tuning.ReviewMatrix (one matrix scores every card)
    ratings: pd.DataFrame
    baseline: Scorecard
    agent_codes: np.ndarray  # per review
    agents: pd.Index
    conv_codes: np.ndarray   # per review
    csat_per_conv: np.ndarray  # CSAT per conversation code (NaN without an answer)
    base: ExplorerResult


@public
def prepare_explorer(ratings: pd.DataFrame, baseline: Scorecard, *, csat: pd.Series | None = None) -> ExplorerState:
    """Validate and index the ratings once; returns the state :func:`explore_fast` updates from."""
    m = ReviewMatrix(ratings, baseline)
    agent_codes, agents = pd.factorize(m.ids[S.AGENT_ID], sort=True)
    conv_codes, convs = pd.factorize(m.ids[S.CONVERSATION_ID], sort=False)
    cs = (csat.reindex(pd.Index(convs).astype("str")).to_numpy(dtype=float) if csat is not None
          else np.full(len(convs), np.nan))
    state = ExplorerState(matrices={"ratings": m}, ratings=ratings, baseline=baseline, agent_codes=agent_codes,
                          agents=pd.Index(agents, name=S.AGENT_ID), conv_codes=conv_codes, csat_per_conv=cs,
                          base=None)  # type: ignore[arg-type]
    state.base = _fast_result(state, baseline, None)
    for f in (state.base.scores, state.base.agents, state.base.summary):  # the baseline's tables: recorded
        S.stamp(f, "prepare_explorer")
    return state


def _matrix(state: ExplorerState, card: Scorecard):
    """The prepared rating matrix; it scores any card on the same categories and scales (mode,
    thresholds, sections, fail rules, N/A policies) with the one scoring engine."""
    m = state.matrices["ratings"]
    if any(c.scale != m._scales.get(c.name) for c in card.categories) or sorted(card.category_names) != sorted(
            m.categories):  # other categories or scales: validate the ratings against this card
        key = ("card", card.category_names, tuple(c.scale for c in card.categories))
        if key not in state.matrices:
            state.matrices[key] = ReviewMatrix(state.ratings, card)
        return state.matrices[key]
    return m


def _fast_agents(state: ExplorerState, iqs: np.ndarray, card: Scorecard) -> pd.DataFrame:
    ok = ~np.isnan(iqs)
    a = state.agent_codes
    k = len(state.agents)
    rows = np.bincount(a, minlength=k)
    n, mean, sd = code_stats(a, iqs, k)  # the shared per-group helper (two-pass variance)
    pass_rate = code_stats(a, np.where(ok, card.passes(iqs).astype(float), np.nan), k)[1]
    lo, hi = mean_ci(mean, sd, n)
    top = max(100.0, float(np.nanmax(iqs, initial=100.0)))
    out = pd.DataFrame({S.AGENT_ID: state.agents.to_numpy(), S.N: n.astype("int64"), S.IQS: mean,
                        S.CI_LOW: np.clip(lo, 0, top), S.CI_HIGH: np.clip(hi, 0, top), S.PASS_RATE: pass_rate,
                        S.N_EXCLUDED: (rows - n).astype("int64"), S.SMALL_SAMPLE: n < EXPLORER_MIN_N})
    out["rank"] = out[S.IQS].rank(ascending=False, method="min")
    out[S.PASSED] = card.passes(out[S.IQS])
    return out


def _fast_corr(state: ExplorerState, iqs: np.ndarray) -> tuple[float, float, float, int]:
    ok = ~np.isnan(iqs)
    k = len(state.csat_per_conv)
    n_c = np.bincount(state.conv_codes[ok], minlength=k)
    s_c = np.bincount(state.conv_codes[ok], weights=iqs[ok], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = s_c / n_c
    y = state.csat_per_conv
    use = ~np.isnan(x) & ~np.isnan(y)
    n = int(use.sum())
    if n < 4 or np.ptp(x[use]) == 0 or np.ptp(y[use]) == 0:
        return np.nan, np.nan, np.nan, n
    r = float(np.corrcoef(x[use], y[use])[0, 1])
    lo, hi = fisher_ci(r, n, 0.95)
    return r, lo, hi, n


def _mean(x: np.ndarray) -> float:
    """Mean, NaN when empty (no scored review), as iqs_score gives."""
    return float(np.mean(x)) if len(x) else np.nan


def _fast_result(state: ExplorerState, card: Scorecard, base: ExplorerResult | None) -> ExplorerResult:
    m = _matrix(state, card)
    res = m.result(card)  # the one scoring engine
    iqs = res.iqs
    agents = _fast_agents(state, iqs, card)
    r, lo, hi, n_r = _fast_corr(state, iqs)
    if base is None:
        b_agents, b_iqs, b_r = agents, iqs, r
    else:
        shown = _shown(base)  # (read without copying the baseline's record each time)
        b_agents, b_iqs, b_r = shown.agents, shown.scores[S.IQS].to_numpy(), float(shown.summary["r"].iloc[0])
    b = b_agents[[S.AGENT_ID, S.IQS, "rank", S.PASSED]].rename(
        columns={S.IQS: "baseline_iqs", "rank": "baseline_rank", S.PASSED: "baseline_passed"})
    agents = agents.merge(b, on=S.AGENT_ID, how="left")
    agents["flipped"] = agents[S.PASSED] != agents["baseline_passed"]
    agents = agents.sort_values(["rank", S.AGENT_ID]).reset_index(drop=True)
    ok, b_ok = ~np.isnan(iqs), ~np.isnan(b_iqs)
    summary = pd.DataFrame([{
        S.N: int(ok.sum()), S.IQS: _mean(iqs[ok]), "baseline_iqs": _mean(b_iqs[b_ok]),
        S.PASS_RATE: _mean(card.passes(iqs[ok])),
        "baseline_pass_rate": _mean(state.baseline.passes(b_iqs[b_ok])),
        "n_flipped": int(agents["flipped"].sum()), "n_csat": n_r, "r": r, "r_ci_low": lo, "r_ci_high": hi,
        "baseline_r": b_r,
    }])
    scores = m.ids.assign(**{S.IQS: iqs})  # (keeps the contract check's records: ids normalised ...)
    if not ok.all():  # unscored reviews itemised as Scorecard.score itemises them
        rated = res.n_rated > 0
        S.add_exclusion(scores, NOT_SCORED_ALL_NA, S.RATING, scores[S.REVIEW_ID][~ok & ~rated])
        S.add_exclusion(scores, NOT_SCORED_WEIGHT_0, S.RATING, scores[S.REVIEW_ID][~ok & rated])
    # the ranking and the summary are built from these reviews: they carry the same record
    return ExplorerResult(card=card, scores=scores, agents=S.carry_records(agents, scores),
                          summary=S.carry_records(summary, scores))


@public
def explore_fast(state: ExplorerState, card: Scorecard) -> ExplorerResult:
    """:func:`explore` for any candidate card: the same numbers, from the prepared rating matrix
    scored by the one scoring engine (weights, critical flags, thresholds, mode, sections,
    fail rules, N/A policies)
    (``tests/test_widgets.py`` checks they equal :func:`explore`'s)."""
    return _fast_result(state, card, state.base)


def iqs_distribution_figure(result: ExplorerResult, baseline: ExplorerResult | None = None, *, ax=None):
    """Histogram of review scores (candidate, and baseline outlined); returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    bins = np.linspace(0, max(100.0, float(np.nanmax(result.scores[S.IQS], initial=100))), 21)
    sns.histplot(result.scores[S.IQS].dropna(), bins=bins, ax=ax, color="#4c72b0", label="candidate")
    if baseline is not None:
        sns.histplot(baseline.scores[S.IQS].dropna(), bins=bins, ax=ax, fill=False, element="step",
                     color="#dd8452", label="baseline")
        ax.legend()
    ax.axvline(result.card.pass_threshold, color="k", lw=1, ls="--")
    ax.set_xlabel("review score (%)")
    ax.set_ylabel("reviews")
    return ax


def distribution_svg(result: ExplorerResult, baseline: ExplorerResult | None = None, *, bins: int = 20,
                     width: int = 600, height: int = 240, caption: bool = True) -> str:
    """The review-score histogram as inline SVG: candidate bars, baseline outline, pass line.

    The tick labels and the caption sit on separate lines below the plot (they never overlap).
    ``caption=False`` leaves the caption out (the explorer's effect panel writes it as HTML under
    a narrower plot).

    Examples
    --------
    >>> r = ExplorerResult(card=None, scores=pd.DataFrame({"iqs": [0.0, 50, 100, 100]}), agents=None, summary=None)
    >>> svg = distribution_svg(r)
    >>> svg.startswith("<svg") and svg.count("<rect") == 20 + 1
    True
    """
    result, baseline = _shown(result), _shown(baseline)
    top = max(100.0, float(np.nanmax(result.scores[S.IQS], initial=100.0)))
    edges = np.linspace(0, top, bins + 1)
    cand = np.histogram(result.scores[S.IQS].dropna(), bins=edges)[0]
    base = np.histogram(baseline.scores[S.IQS].dropna(), bins=edges)[0] if baseline is not None else None
    ymax = max(1, int(cand.max()), int(base.max()) if base is not None else 0)
    left, pw, ph = 40, width - 60, height - (50 if caption else 30)
    xs = left + pw * (edges - edges[0]) / (edges[-1] - edges[0])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'style="max-width:100%;height:auto" font-family="sans-serif" font-size="11" role="img" '
             f'aria-label="review score histogram">',
             f'<rect x="{left}" y="5" width="{pw}" height="{ph}" fill="white" stroke="#ccc"/>']
    for i, c in enumerate(cand):
        h = ph * c / ymax
        parts.append(f'<rect x="{xs[i]:.1f}" y="{5 + ph - h:.1f}" width="{xs[i + 1] - xs[i] - 1:.1f}" height="{h:.1f}" '
                     f'fill="#4c72b0"><title>{edges[i]:.0f}-{edges[i + 1]:.0f}%: {c} reviews</title></rect>')
    if base is not None:
        pts = []
        for i, c in enumerate(base):
            y = 5 + ph - ph * c / ymax
            pts += [f"{xs[i]:.1f},{y:.1f}", f"{xs[i + 1]:.1f},{y:.1f}"]
        parts.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke="#dd8452" stroke-width="2"/>')
    if result.card is not None:
        xp = left + pw * result.card.pass_threshold / top
        parts.append(f'<line x1="{xp:.1f}" y1="5" x2="{xp:.1f}" y2="{5 + ph}" stroke="black" stroke-dasharray="4 3"/>')
    for v in (0, 25, 50, 75, 100):
        parts.append(f'<text x="{left + pw * v / top:.1f}" y="{5 + ph + 15}" text-anchor="middle">{v}</text>')
    parts.append(f'<text x="{left - 4}" y="14" text-anchor="end">{ymax}</text>')
    if caption:
        parts.append(f'<text x="{left + pw / 2:.1f}" y="{height - 6}" text-anchor="middle">{HISTOGRAM_CAPTION}</text>')
    parts.append("</svg>")
    return "".join(parts)


#: what the review-score histogram shows
HISTOGRAM_CAPTION = "review score (%) · blue bars: tuned card · orange line: baseline card · dashed: pass line"


# --- what the QA lead reads: summaries, the agent table, the changes panel (pure, tested) -----------
#: a flip whose agent's interval contains the pass line: the data cannot tell pass from fail
INSIDE = "inside the interval"
#: a flip whose agent's interval lies wholly on one side of the pass line
CREDIBLE = "credible change"
#: the ranking's sort orders (label -> columns, ascending)
SORTS = {"rank (best first)": (["rank", S.AGENT_ID], [True, True]),
         "agent": ([S.AGENT_ID], [True]),
         "IQS change vs baseline": (["iqs_change", S.AGENT_ID], [True, True]),
         "fewest reviews": ([S.N, S.AGENT_ID], [True, True])}

_CSS = """<style>
.qakit-x table{border-collapse:collapse;font-size:13px}
.qakit-x th{background:#f2f4f7;text-align:right;padding:4px 8px;border-bottom:2px solid #ccd;position:sticky;top:0}
.qakit-x td{text-align:right;padding:3px 8px;border-bottom:1px solid #e6e6e6;white-space:nowrap}
.qakit-x th:first-child,.qakit-x td:first-child{text-align:left}
.qakit-x table.qakit-ranking th{white-space:normal;vertical-align:bottom;padding:4px 6px}
.qakit-x table.qakit-ranking td{padding:3px 6px}
.qakit-x td.qakit-flipcell{text-align:left;white-space:normal;min-width:9em}
.qakit-x table.qakit-changes th,.qakit-x table.qakit-changes td{text-align:left}
.qakit-x tr.qakit-flip td{background:#fff3cd;font-weight:600}
.qakit-x tr.qakit-changed td{background:#e8f1fb}
.qakit-x .qakit-note{color:#555;font-size:12px;margin:4px 0}
.qakit-x .qakit-err{color:#b00020;font-weight:600}
.qakit-x .qakit-ok{color:#1b5e20}
.qakit-x code{background:#f4f4f4;padding:2px 4px;word-break:break-all}
</style>"""


def _flip_labels(result: ExplorerResult) -> pd.Series:
    """:func:`flip_labels` without the record (the widget's rendering)."""
    a = result.agents
    t = result.card.pass_threshold
    lo, hi = a[S.CI_LOW].to_numpy(dtype=float), a[S.CI_HIGH].to_numpy(dtype=float)
    inside = ~((lo > t) | (hi < t))  # NaN interval (n < 2): cannot support a flip either
    label = np.where(a["flipped"].to_numpy(dtype=bool), np.where(inside, INSIDE, CREDIBLE), "")
    return pd.Series(label, index=a.index, name="flip", dtype="str")


@public
def flip_labels(result: ExplorerResult) -> pd.Series:
    """Per agent (aligned with ``result.agents``): ``""`` when pass/fail does not flip,
    ``"inside the interval"`` when it flips but the pass line lies within the agent's 95 % CI
    under the tuned card (the data cannot support the flip), ``"credible change"`` otherwise.

    Examples
    --------
    >>> from qakit import Category, Scorecard
    >>> agents = pd.DataFrame({"ci_low": [73.7, 81.0, 70.0], "ci_high": [85.8, 88.0, 90.0],
    ...                        "flipped": [True, True, False]})
    >>> r = ExplorerResult(card=Scorecard([Category("Tone")]), scores=None, agents=agents, summary=None)
    >>> flip_labels(r).tolist()
    ['inside the interval', 'credible change', '']
    """
    return S.carry_records(_flip_labels(result), result.agents)  # the ranking's record


def _agent_view(result: ExplorerResult, *, sort: str = "rank (best first)", flips_first: bool = False) -> pd.DataFrame:
    """:func:`agent_view` without the record (the widget's rendering): every agent, for display: agent_id, n, iqs, ci_low, ci_high, baseline_iqs, iqs_change, rank,
    baseline_rank, passed, baseline_passed, flip (see :func:`flip_labels`), small_sample; sorted by
    one of :data:`SORTS` (ties by agent), flipped agents first when ``flips_first``."""
    check_choice("sort", sort, list(SORTS))
    a = result.agents
    cols = {c: a[c].to_numpy() for c in (S.AGENT_ID, S.N, S.IQS, S.CI_LOW, S.CI_HIGH, "baseline_iqs", "rank",
                                          "baseline_rank", S.PASSED, "baseline_passed", S.SMALL_SAMPLE)}
    cols["iqs_change"] = cols[S.IQS] - cols["baseline_iqs"]
    cols["flip"] = _flip_labels(result).to_numpy()
    keys, _asc = SORTS[sort]  # every order is ascending
    order_keys = [np.asarray(cols[k]) for k in keys]
    if flips_first:
        order_keys = [cols["flip"] == "", *order_keys]
    order = np.lexsort(tuple(reversed(order_keys)))  # lexsort: last key is primary; NaN sorts last
    out = pd.DataFrame({k: v[order] for k, v in cols.items()})
    return out[[S.AGENT_ID, S.N, S.IQS, S.CI_LOW, S.CI_HIGH, "baseline_iqs", "iqs_change", "rank", "baseline_rank",
                S.PASSED, "baseline_passed", "flip", S.SMALL_SAMPLE]]


@public
def agent_view(result: ExplorerResult, *, sort: str = "rank (best first)", flips_first: bool = False) -> pd.DataFrame:
    """Every agent, for display: agent_id, n, iqs, ci_low, ci_high, baseline_iqs, iqs_change, rank,
    baseline_rank, passed, baseline_passed, flip (see :func:`flip_labels`), small_sample; sorted by
    one of :data:`SORTS` (ties by agent), flipped agents first when ``flips_first``. Carries the
    record of ``result.agents``."""
    return S.carry_records(_agent_view(result, sort=sort, flips_first=flips_first), result.agents)


def _fmt(v: Any, digits: int = 1) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        return "–" if np.isnan(v) else f"{v:.{digits}f}"
    return str(v)


def ranking_html(result: ExplorerResult, *, sort: str = "rank (best first)", flips_first: bool = False,
                 max_height: int = 420) -> str:
    """All agents as a styled, scrollable HTML table; flipped agents' rows highlighted
    (class ``qakit-flip``)."""
    result = _shown(result)
    v = _agent_view(result, sort=sort, flips_first=flips_first)
    # what decides first (score, interval, pass, flip), the comparison with the baseline after: on a
    # narrow screen the table scrolls sideways inside its box and the flip stays in view
    heads = ["agent", "reviews", "IQS", "95% CI", "passes", "pass/fail flip", "change", "baseline IQS", "rank",
             "baseline rank", "few reviews"]
    c = {k: v[k].tolist() for k in v.columns}
    rows = []
    for i in range(len(v)):  # one row per agent (tens to hundreds): display only
        flip = c["flip"][i]
        cells = [c[S.AGENT_ID][i], c[S.N][i], _fmt(c[S.IQS][i]), f"[{_fmt(c[S.CI_LOW][i])}, {_fmt(c[S.CI_HIGH][i])}]",
                 _fmt(c[S.PASSED][i]), (f"{'passes now' if c[S.PASSED][i] else 'fails now'}: {flip}" if flip else ""),
                 _fmt(c["iqs_change"][i]) if np.isnan(c["iqs_change"][i]) else f"{c['iqs_change'][i]:+.1f}",
                 _fmt(c["baseline_iqs"][i]), _fmt(c["rank"][i], 0), _fmt(c["baseline_rank"][i], 0),
                 "yes" if c[S.SMALL_SAMPLE][i] else ""]
        tds = [f"<td>{html.escape(str(x))}</td>" for x in cells]
        tds[5] = f'<td class="qakit-flipcell">{html.escape(str(cells[5]))}</td>'
        rows.append(("<tr class=\"qakit-flip\">" if flip else "<tr>") + "".join(tds) + "</tr>")
    n_flip = sum(f != "" for f in c["flip"])
    n_inside = sum(f == INSIDE for f in c["flip"])
    note = (f"{len(v)} agents · {n_flip} flip pass/fail (highlighted)"
            + (f", {n_inside} of them inside the interval: the pass line lies within the agent's 95% "
               "interval, so the data cannot tell whether this agent passes" if n_inside else ""))
    return (f'<div class="qakit-x">{_CSS}<div class="qakit-note">{note}</div>'
            f'<div style="max-height:{max_height}px;max-width:100%;overflow:auto;border:1px solid #ddd;'
            f'display:inline-block">'
            f'<table class="qakit-ranking"><thead><tr>{"".join(f"<th>{h}</th>" for h in heads)}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div></div>')


#: conversations the IQS-CSAT correlation needs (below this, or without spread, it is not shown)
MIN_R_N = 4


def r_missing_reason(n_csat: int, *, has_csat: bool = True) -> str:
    """Why the IQS-CSAT correlation has no value, in words (``n_csat``: reviewed conversations with
    a CSAT answer; ``has_csat``: whether the data has any CSAT answer at all).

    Examples
    --------
    >>> r_missing_reason(0, has_csat=False)
    'this data has no CSAT answers'
    >>> r_missing_reason(0), r_missing_reason(3), r_missing_reason(12)
    ('no reviewed conversation has a CSAT answer', 'only 3 reviewed conversations have a CSAT answer; r needs at least 4', 'IQS or CSAT is the same in all 12 reviewed conversations with a CSAT answer')
    """
    if not has_csat:
        return "this data has no CSAT answers"
    if n_csat == 0:
        return "no reviewed conversation has a CSAT answer"
    if n_csat < MIN_R_N:
        return (f"only {n_csat} reviewed conversation{'s have' if n_csat != 1 else ' has'} a CSAT answer; "
                f"r needs at least {MIN_R_N}")
    return f"IQS or CSAT is the same in all {n_csat} reviewed conversations with a CSAT answer"


def _points(d: float) -> str:
    """A change in percentage points, for display: ``no change`` when exactly 0, two decimals
    when it would round to 0.0."""
    if d == 0:
        return "no change"
    return f"{d:+.2f} points" if abs(d) < 0.05 else f"{d:+.1f} points"


def summary_html(result: ExplorerResult, *, has_csat: bool = True) -> str:
    """The effect the QA lead watches while tuning: four tiles (IQS, pass rate, agents flipping
    pass/fail, IQS-CSAT r), each with the tuned card's value, the baseline and the change; values
    rounded for display only. ``has_csat=False``: the data has no CSAT answers (the r tile says
    so instead of showing a number).

    Examples
    --------
    >>> summ = pd.DataFrame([{"n": 10, "iqs": 73.25, "baseline_iqs": 71.9, "pass_rate": 0.5,
    ...     "baseline_pass_rate": 0.5, "n_flipped": 0, "n_csat": 0, "r": np.nan, "r_ci_low": np.nan,
    ...     "r_ci_high": np.nan, "baseline_r": np.nan}])
    >>> agents = pd.DataFrame({"ci_low": [60.0], "ci_high": [80.0], "flipped": [False]})
    >>> from qakit import Category, Scorecard
    >>> r = ExplorerResult(card=Scorecard([Category("Tone")]), scores=None, agents=agents, summary=summ)
    >>> import re
    >>> text = " ".join(re.sub(r"<[^>]+>", " ", summary_html(r, has_csat=False)).split())
    >>> text[:73]
    'Effect tuned card vs baseline card IQS 73.2% (baseline 71.9%) +1.3 points'
    >>> text[text.index("IQS–CSAT"):]
    'IQS–CSAT r – not available: this data has no CSAT answers'
    >>> "nan" in summary_html(r, has_csat=False), "this data has no CSAT answers" in summary_html(r, has_csat=False)
    (False, True)
    """
    result = _shown(result)
    s = result.summary.iloc[0]
    flips = _flip_labels(result)
    n_inside = int((flips == INSIDE).sum())

    def tile(key: str, label: str, value: str, base: str, change: str, tip: str, na: bool = False) -> str:
        return (f'<div class="qakit-tile{" qakit-tile-na" if na else ""}" data-measure="{key}" title="{_esc(tip)}">'
                f'<div class="qakit-tile-label">{label}</div><div class="qakit-tile-value">{value}</div>'
                f'<div class="qakit-tile-sub">{base}</div><div class="qakit-tile-change">{change}</div></div>')

    iqs = tile("iqs", "IQS", f"{s[S.IQS]:.1f}%", f"(baseline {s['baseline_iqs']:.1f}%)",
               _points(s[S.IQS] - s["baseline_iqs"]),
               "Mean review score under the tuned card; the change is in percentage points.")
    pr = tile("pass_rate", "pass rate", f"{s[S.PASS_RATE]:.1%}", f"(baseline {s['baseline_pass_rate']:.1%})",
              _points(100 * (s[S.PASS_RATE] - s["baseline_pass_rate"])),
              "Share of reviews scoring at or above the pass line.")
    n_flip = int(s["n_flipped"])
    fl = tile("flips", "agents flipping pass/fail", f"{n_flip}", f"of {len(result.agents)} agents",
              (f"{n_inside} inside their interval" if n_inside else ("none inside their interval" if n_flip else
                                                                      "no agent changes side")),
              "Agents whose pass/fail differs from the baseline card (yellow rows in the agent table). Inside "
              "the interval: the pass line lies within the agent's 95% interval, so the reviews cannot tell.")
    n_r = int(s["n_csat"])
    if np.isnan(s["r"]):
        why = r_missing_reason(n_r, has_csat=has_csat)
        rt = tile("r", "IQS–CSAT r", "–", "not available:", why,
                  "Pearson correlation between a conversation's review score and its CSAT answer.", na=True)
    else:
        b = s["baseline_r"]
        rt = tile("r", "IQS–CSAT r", f"{s['r']:.3f}",
                  f"95% CI [{s['r_ci_low']:.3f}, {s['r_ci_high']:.3f}] · n={n_r:,} conversations",
                  ("(baseline –)" if np.isnan(b) else f"(baseline {b:.3f}) "
                   + ("no change" if s["r"] == b else f"{s['r'] - b:+.3f}")),
                  "Pearson correlation between a conversation's review score and its CSAT answer (Fisher-z "
                  "95% interval): how well the score tracks what customers say.")
    return (f'<div class="qakit-x qakit-effect"><div class="qakit-effect-head">Effect '
            f'<span>tuned card vs baseline card</span></div><div class="qakit-tiles">{iqs}{pr}{fl}{rt}</div></div>')


#: what the N/A-policy dropdown says for each ``na`` value of a category
NA_LABELS = {"exclude": "leave out of the score", "full": "count as full marks", "zero": "count as 0"}
#: what the fail-rule dropdown says for each section ``fail_rule``
FAIL_RULE_LABELS = {"all": "the whole review scores 0", "section": "only this section scores 0"}
#: scales with more values than this offer no "fails at rating" choices (only none / the card's own)
MAX_FAIL_CHOICES = 12


def fail_values_text(values: tuple) -> str:
    """The ratings that fail a review, in words.

    Examples
    --------
    >>> fail_values_text(()), fail_values_text((0.0,)), fail_values_text((1.0, 2.0))
    ('no rating fails', 'rating 0 fails', 'ratings 1, 2 fail')
    """
    vals = [str(_num(v)) for v in values]
    if not vals:
        return "no rating fails"
    return f"rating {vals[0]} fails" if len(vals) == 1 else f"ratings {', '.join(vals)} fail"


def fail_value_choices(category) -> list[tuple[str, tuple]]:
    """The choices of a category's fail rule (its ``fail_values``): none, or the lowest ratings
    up to each value below the top (``rating 1 fails``, ``ratings 1, 2 fail`` ...), plus the
    card's own set when it is none of these. ``(label, fail_values)`` pairs.

    Examples
    --------
    >>> from qakit import Category
    >>> [v for _, v in fail_value_choices(Category("Solution", scale=4))]
    [(), (1.0,), (1.0, 2.0), (1.0, 2.0, 3.0)]
    >>> fail_value_choices(Category("Tone", scale=5, fail_values=[2]))[-1]
    ('ratings as in the card: rating 2 fails', (2.0,))
    """
    sc = category.scale
    out: list[tuple[str, tuple]] = [(fail_values_text(()), ())]
    if sc.n_values <= MAX_FAIL_CHOICES:
        vals = sorted(sc.values)
        out += [(fail_values_text(tuple(vals[:i + 1])), tuple(vals[:i + 1])) for i in range(len(vals) - 1)]
    own = tuple(category.fail_values)
    if own not in [v for _, v in out]:
        out.append((f"ratings as in the card: {fail_values_text(own)}", own))
    return out


@public
def card_changes(baseline: Scorecard, card: Scorecard) -> pd.DataFrame:
    """What differs between two cards, setting by setting: ``what`` (a category name, a section
    as ``<name> (section)``, or "card"), ``setting`` (per category: weight, critical, critical
    threshold, section, fail rule, N/A policy; per section: section weight, fail rule; per card:
    mode, pass threshold, sections), ``baseline``, ``tuned`` (as text). Empty when the cards score
    alike.

    Examples
    --------
    >>> from qakit import Category, Scorecard
    >>> a = Scorecard([Category("Tone", 1.0), Category("PK", 2.0, critical=True)])
    >>> card_changes(a, a.with_changes(weights={"Tone": 3.0}, critical={"PK": False})).values.tolist()
    [['Tone', 'weight', '1', '3'], ['PK', 'critical', 'yes', 'no']]
    """
    def txt(v: Any, attr: str = "") -> str:
        if attr == "fail_values":
            return fail_values_text(v)
        if attr == "na":
            return NA_LABELS.get(v, str(v))
        if attr == "fail_rule":
            return FAIL_RULE_LABELS.get(v, str(v))
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, float):
            return f"{v:g}"
        return "–" if v is None else str(v)

    rows = []
    base = {c.name: c for c in baseline.categories}
    for c in card.categories:
        b = base.get(c.name)
        for setting, attr in (("weight", "weight"), ("critical", "critical"),
                              ("critical threshold", "critical_threshold"), ("section", "section"),
                              ("fail rule", "fail_values"), ("N/A policy", "na")):
            old, new = (getattr(b, attr) if b is not None else None), getattr(c, attr)
            if old != new:
                rows.append((c.name, setting, txt(old, attr), txt(new, attr)))
    for setting, attr in (("mode", "mode"), ("pass threshold", "pass_threshold")):
        if getattr(baseline, attr) != getattr(card, attr):
            rows.append(("card", setting, txt(getattr(baseline, attr)), txt(getattr(card, attr))))
    if [s.name for s in baseline.sections] != [s.name for s in card.sections]:
        rows.append(("card", "sections", "; ".join(s.name for s in baseline.sections) or "–",
                     "; ".join(s.name for s in card.sections) or "–"))
    else:
        for b, s in zip(baseline.sections, card.sections):
            for setting, attr in (("section weight", "weight"), ("fail rule", "fail_rule"), ("bonus", "bonus")):
                if getattr(b, attr) != getattr(s, attr):
                    rows.append((f"{s.name} (section)", setting, txt(getattr(b, attr), attr),
                                 txt(getattr(s, attr), attr)))
    return pd.DataFrame(rows, columns=["what", "setting", "baseline", "tuned"]).astype("str")


def _effect_table(result: ExplorerResult, baseline: ExplorerResult | None = None) -> pd.DataFrame:
    """:func:`effect_table` without the record (the widget's rendering)."""
    s = result.summary.iloc[0]

    def r_ci(r: float, lo: float, hi: float) -> str:
        return "–" if np.isnan(r) else f"{r:.3f} [{lo:.3f}, {hi:.3f}]"

    r_now = r_ci(s["r"], s["r_ci_low"], s["r_ci_high"])
    b_r = "–" if np.isnan(s["baseline_r"]) else f"{s['baseline_r']:.3f}"
    if baseline is not None:
        b = baseline.summary.iloc[0]
        b_r = r_ci(b["r"], b["r_ci_low"], b["r_ci_high"])
    n_r = int(s["n_csat"])
    r_label = (f"IQS–CSAT r [95% CI] (n={n_r} conversations)" if not np.isnan(s["r"])
               else f"IQS–CSAT r: not available ({r_missing_reason(n_r)})")
    d_r = s["r"] - s["baseline_r"]
    rows = [("IQS (%)", f"{s['baseline_iqs']:.1f}", f"{s[S.IQS]:.1f}", f"{s[S.IQS] - s['baseline_iqs']:+.1f} points"),
            ("pass rate (reviews)", f"{s['baseline_pass_rate']:.1%}", f"{s[S.PASS_RATE]:.1%}",
             f"{100 * (s[S.PASS_RATE] - s['baseline_pass_rate']):+.1f} points"),
            ("agents flipping pass/fail", "0", f"{int(s['n_flipped'])}", f"{int(s['n_flipped'])}"),
            (r_label, b_r, r_now, "–" if np.isnan(d_r) else f"{d_r:+.3f}")]
    return pd.DataFrame(rows, columns=["measure", "baseline", "tuned", "change"]).astype("str")


@public
def effect_table(result: ExplorerResult, baseline: ExplorerResult | None = None) -> pd.DataFrame:
    """The effect of the tuned card: one row per measure (IQS, pass rate, agents flipping,
    IQS-CSAT r with its 95 % CI) with ``baseline``, ``tuned`` and ``change`` (display text).
    ``baseline``: the baseline card's own result, for the CI of its r. Carries the summaries'
    records."""
    return S.carry_records(_effect_table(result, baseline), result.summary,
                           *([] if baseline is None else [baseline.summary]))


def _html_table(df: pd.DataFrame, cls: str) -> str:
    """A small text table as HTML (cells escaped); cheaper than ``DataFrame.to_html``."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in row) + "</tr>"
                   for row in df.itertuples(index=False, name=None))
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def changes_html(baseline: Scorecard, result: ExplorerResult, baseline_result: ExplorerResult | None = None, *,
                 effect: bool = True) -> str:
    """The changes panel: settings changed against the baseline card, and (``effect``) their effect
    as a table (the explorer shows the effect in its tiles instead, :func:`summary_html`)."""
    result, baseline_result = _shown(result), _shown(baseline_result)
    ch = _card_changes(baseline, result.card)
    if not effect and len(ch):  # the narrow effect panel: two columns, "Tone: weight" | "1 → 3"
        ch = pd.DataFrame({"what": ch["what"] + ": " + ch["setting"],
                           "baseline → tuned": ch["baseline"] + " → " + ch["tuned"]})
    what = (_html_table(ch, "qakit-changes") if len(ch)
            else '<div class="qakit-note">No change yet: the tuned card equals the baseline card.</div>')
    does = (f'<br><b>What it does</b>{_html_table(_effect_table(result, baseline_result), "qakit-effect")}'
            if effect else "")
    return f'<div class="qakit-x">{_CSS}<b>What you changed</b>{what}{does}</div>'


@public
def tuned_label(card: Scorecard, day: Any = None) -> str:
    """The default label of a tuned card: ``<baseline version>-tuned-<YYYY-MM-DD>``.

    Examples
    --------
    >>> from qakit import Category, Scorecard
    >>> tuned_label(Scorecard([Category("Tone")], version="2026.1"), "2026-11-27")
    '2026.1-tuned-2026-11-27'
    """
    day = datetime.date.today() if day is None else pd.Timestamp(day).date()
    return f"{card.scores_version or card.name}-tuned-{day:%Y-%m-%d}"


@public
def tuned_card(card: Scorecard, label: str) -> Scorecard:
    """``card`` marked as tuned: ``version`` becomes ``label``, ``based_on`` the baseline version
    whose reviews it scores (``Scorecard.scores_version``: the engine matches the reviews'
    ``scorecard_version`` to it), and the name ``<name> (TUNED <label>, not the production card)``.

    A baseline without a version scores reviews of any version; its tuned card keeps no version
    (a version with nothing to be based on would match no review) and carries the label in its
    name only.

    Examples
    --------
    >>> from qakit import Category, Scorecard
    >>> t = tuned_card(Scorecard([Category("Tone")], name="Support", version="2026.1"), "2026.1-tuned-2026-11-27")
    >>> t.version, t.based_on, t.name
    ('2026.1-tuned-2026-11-27', '2026.1', 'Support (TUNED 2026.1-tuned-2026-11-27, not the production card)')
    """
    label = str(label).strip()
    if not label:
        raise ParameterError("the version label is empty; type a label such as 2026.1-tuned-2026-11-27")
    base_name = card.name.split(" (TUNED ")[0]
    name = f"{base_name} (TUNED {label}, not the production card)"
    base_version = card.scores_version
    if base_version is None:
        return replace(card, name=name)
    return replace(card, name=name, version=label, based_on=base_version)


@public
def report_command(scorecard_path: str | Path, dataset: str = "sample", *, program: list[str] | None = None) -> str:
    """The exact shell command that makes the QA report with a saved card: absolute paths
    throughout, so it works from any folder and in a fresh shell (nothing to activate first).

    ``program``: how to call qakit, default :func:`qakit.cli.qakit_command` (the checkout's ``qa``
    script, else the environment's ``qakit`` by its full path).

    Examples
    --------
    >>> report_command("/tmp/my cards/tuned.yaml", program=["/opt/qakit/qa"])
    "/opt/qakit/qa report -p scorecard_path '/tmp/my cards/tuned.yaml'"
    """
    cmd = [*(qakit_command() if program is None else program), "report", "-p", "scorecard_path",
           str(Path(scorecard_path).expanduser().resolve())]
    if dataset and dataset != "sample":
        cmd += ["-p", "dataset", str(Path(dataset).expanduser().resolve())]
    return shlex.join(cmd)


def download_link_html(yaml_text: str, filename: str) -> str:
    """An HTML link that downloads ``yaml_text`` as ``filename`` (a data URI: works in Voila with no
    file access on the server)."""
    b64 = base64.b64encode(yaml_text.encode("utf-8")).decode("ascii")
    return (f'<a class="qakit-download" download="{html.escape(filename)}" href="data:text/yaml;base64,{b64}" '
            'style="display:inline-block;padding:5px 12px;background:#2e7d32;color:white;border-radius:3px;'
            f'text-decoration:none">⬇ Download tuned card ({html.escape(filename)})</a>')


@public
def suggestion_table(fit: Any, card: Scorecard) -> pd.DataFrame:
    """``fit_weights``' advice beside the current weights: category, current_weight,
    suggested_weight, fold_min, fold_max."""
    w = fit.weights
    out = pd.DataFrame({S.CATEGORY: w[S.CATEGORY], "current_weight": w[CURRENT_WEIGHT],
                        "suggested_weight": w[FITTED_WEIGHT], "fold_min": w[FOLD_MIN], "fold_max": w[FOLD_MAX]})
    return S.carry_records(out, w)  # what the fit left out


def suggestion_html(fit: Any, card: Scorecard) -> str:
    t = suggestion_table(fit, card)
    s = fit.summary.iloc[0]
    shown = t.assign(**{c: t[c].map(lambda v: f"{v:.2f}") for c in t.columns[1:]}).rename(columns={
        S.CATEGORY: "category", "current_weight": "current weight", "suggested_weight": "suggested weight",
        "fold_min": "lowest in a fold", "fold_max": "highest in a fold"})
    better = s["r_test_fitted"] - s["r_test_current"]
    verdict = ("a clear gain" if better > 0.02 else "little or no gain: keep the current weights unless you "
               "have another reason")
    return (f'<div class="qakit-x">{_CSS}<b>Suggested weights (advice only, nothing changed yet)</b>'
            f'{_html_table(shown, "qakit-suggestion")}'
            f'<div class="qakit-note">How well review scores track CSAT on reviews the fit did not see '
            f'(out-of-fold r, {int(s["k"])} folds, n={int(s[S.N])} reviews): current weights '
            f'<b>{s["r_test_current"]:.3f}</b>, suggested weights <b>{s["r_test_fitted"]:.3f}</b> '
            f'({better:+.3f}, {verdict}). Weights that vary a lot between folds are not well determined by '
            'the data.</div></div>')


INTRO = """<div class="qakit-x qakit-intro">
<p><b>Try a scorecard change before you roll it out.</b> Move a weight, tick <i>critical</i>, move the pass
line or change a rule on the left; the effect on the right (IQS, pass rate, agents flipping pass/fail, how
well IQS tracks CSAT) updates at once, tuned card against the card in use today (the <i>baseline</i>).</p>
<details><summary>How to read this page</summary><ul>
<li><b>Rules per category</b>: when a critical category fails, which ratings fail a review, what an
unrated category counts as and, on cards with sections, each category's section and each section's
weight and fail rule. Hover a heading for more.</li>
<li><b>Agents</b>: every agent with their score, a 95% interval and whether they pass. Yellow rows
<i>flip</i> between pass and fail. <i>Inside the interval</i> means the pass line lies within the agent's
interval: the reviews cannot tell whether this agent passes, so do not act on that flip alone.</li>
<li><b>Suggest weights</b> fits weights to your CSAT data and shows them as advice; nothing changes
until you press <i>Apply suggestion</i>.</li>
<li><b>Save</b> writes the tuned card (marked as tuned) and shows the command that makes the QA report
with it; <b>Download</b> gets the file onto your own computer.</li>
</ul></details></div>"""

#: the page layout: controls on the left, the effect pinned on the right while the page scrolls.
#: ``position: sticky`` needs every box between the effect panel and the page's scrolling element
#: to let content overflow: ipywidgets boxes and Jupyter's output area scroll their own content by
#: default (``overflow: auto``), so the boxes holding the explorer are set to ``visible`` (only those:
#: ``:has(.qakit-app)``).
_APP_CSS = """<style>
.jp-OutputArea:has(.qakit-app), .jp-OutputArea-child:has(.qakit-app), .jp-OutputArea-output:has(.qakit-app),
.qakit-app, .qakit-app .qakit-cols, .qakit-app .qakit-controls { overflow: visible !important; }
.qakit-app .qakit-cols { align-items: flex-start; gap: 16px; }
.qakit-app .qakit-controls { flex: 1 1 0; min-width: 0; }
.qakit-app .qakit-effect-pane { position: sticky; top: 0; z-index: 2; align-self: flex-start;
  flex: 0 0 clamp(300px, 31vw, 470px); max-height: 100vh; overflow-y: auto; background: white;
  border-left: 1px solid #e3e6ea; padding: 4px 0 8px 14px; box-sizing: border-box; }
.qakit-app .qakit-controls .widget-html, .qakit-app .qakit-effect-pane .widget-html,
.qakit-app .qakit-controls .widget-html-content, .qakit-app .qakit-effect-pane .widget-html-content {
  max-width: 100%; min-width: 0; flex-shrink: 1; }
.qakit-app .qakit-effect-pane table.qakit-changes td { white-space: normal; }
.qakit-app h3 { margin: 12px 0 4px; }
.qakit-app .qakit-x, .qakit-app .widget-html-content { line-height: 1.4; }
.qakit-x .qakit-effect-head { font-weight: 700; font-size: 15px; margin: 4px 0 6px; }
.qakit-x .qakit-effect-head span { font-weight: 400; color: #555; font-size: 12px; white-space: nowrap; }
.qakit-x .qakit-tiles { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px; }
.qakit-x .qakit-tile { border: 1px solid #d5dae1; border-radius: 6px; padding: 6px 10px; background: #f8fafc;
  line-height: 1.3; }
.qakit-x .qakit-tile-label { font-size: 12px; color: #444; font-weight: 600; }
.qakit-x .qakit-tile-value { font-size: 24px; font-weight: 700; color: #1a2b4c; font-variant-numeric: tabular-nums; }
.qakit-x .qakit-tile-na .qakit-tile-value { color: #888; }
.qakit-x .qakit-tile-sub, .qakit-x .qakit-tile-change { font-size: 12px; color: #555; }
.qakit-x .qakit-tile-change { color: #1a4f8b; font-weight: 600; }
.qakit-x .qakit-tile-na .qakit-tile-change { color: #555; font-weight: 400; }
.qakit-x .qakit-legend { font-size: 11px; color: #555; margin: 0 0 6px; }
.qakit-x .qakit-empty { border: 1px solid #e0c97f; background: #fffbea; border-radius: 6px; padding: 10px 12px;
  max-width: 640px; }
.qakit-intro p { margin: 4px 0; max-width: 60em; }
.qakit-intro details { margin: 2px 0 6px; max-width: 60em; }
.qakit-intro summary { cursor: pointer; color: #1a4f8b; }
</style>"""


@public
def engine_check(result: ExplorerResult, ratings: pd.DataFrame) -> pd.DataFrame:
    """The explorer's numbers against the full engine: its review scores and per-agent IQS next to
    ``Scorecard.score`` + :func:`qakit.iqs_score` on the same card (any card: sections, fail rules,
    N/A policies). One row: ``reviews, max_review_diff, agents, max_agent_diff`` (0 when exact).

    Examples
    --------
    >>> from qakit import datasets
    >>> card = datasets.load_sample_scorecard()
    >>> r = datasets.load_sample("ratings")
    >>> res = explore_fast(prepare_explorer(r, card), card.with_changes(weights={"Tone": 3.0}))
    >>> engine_check(res, r)[["max_review_diff", "max_agent_diff"]].to_numpy().tolist()
    [[0.0, 0.0]]
    """
    truth = result.card.score(ratings)
    mine = result.scores.set_index(S.REVIEW_ID)[S.IQS]
    ref = truth.set_index(S.REVIEW_ID)[S.IQS].reindex(mine.index)
    d_rev = np.abs(mine.to_numpy(dtype=float) - ref.to_numpy(dtype=float))
    agents = iqs_score(truth, by=S.AGENT_ID, min_n=0).set_index(S.AGENT_ID)[S.IQS]
    got = result.agents.set_index(S.AGENT_ID)[S.IQS].reindex(agents.index)
    d_ag = np.abs(got.to_numpy(dtype=float) - agents.to_numpy(dtype=float))
    same_nan = np.isnan(mine.to_numpy(dtype=float)) == np.isnan(ref.to_numpy(dtype=float))
    out = pd.DataFrame({"reviews": [len(mine)], "max_review_diff": [float(np.nanmax(d_rev, initial=0.0))
                                                                   if same_nan.all() else np.inf],
                        "agents": [len(agents)], "max_agent_diff": [float(np.nanmax(d_ag, initial=0.0))]})
    return S.carry_records(out, truth, result.scores)


class ScorecardExplorer:
    """ipywidgets explorer: a slider per category weight, a critical checkbox per category,
    mode and pass-threshold controls; every agent in a sortable table with flips highlighted; a
    changes panel with a reset button; save / download of the tuned card with the report command;
    a dataset box; ``fit_weights`` suggestions.

    Drive it from code (tests, checked notebook cells) exactly as a user would:
    ``ex.weight_sliders["Tone"].value = 2.0`` updates ``ex.result`` and the HTML widgets.
    """

    def __init__(self, ratings: pd.DataFrame, card: Scorecard, *, surveys: pd.DataFrame | None = None,
                 save_path: str | Path = "tuned_scorecard.yaml", max_weight: float = 5.0, dataset: str = "sample",
                 today: Any = None):
        self.max_weight = max_weight
        self.today = today
        self._muted = False
        self.fit = None
        self.dataset_box = W.Text(value=str(dataset), description="data folder", placeholder="sample, or a folder",
                                  style={"description_width": "90px"}, layout=W.Layout(width="480px"))
        self.load_button = W.Button(description="Load data", icon="folder-open", layout=W.Layout(width="auto"))
        self.data_status = W.HTML()
        self.controls = W.VBox()
        self.extra_controls: list[tuple[Any, Any, Any]] = []  # see add_control
        self.extra_box = W.VBox()
        self.rules_box = W.VBox()  # per category and per section rules, built for each card (_rule_controls)
        self.mode = W.Dropdown(options=list(MODES), description="mode", layout=W.Layout(width="260px"))
        self.threshold = W.FloatSlider(min=50, max=100, step=1, description="pass line (%)", continuous_update=False,
                                       style={"description_width": "100px"}, layout=W.Layout(width="420px"))
        # the card-wide controls; hidden while no reviews are loaded
        self._review_boxes: list[Any] = []  # parts of the page hidden while no reviews are loaded (widget())
        self.card_row = W.HBox([self.mode, self.threshold], layout=W.Layout(flex_flow="row wrap", overflow="visible"))
        self.reset_button = W.Button(description="Reset to baseline", icon="undo", layout=W.Layout(width="auto"))
        self.sort = W.Dropdown(options=list(SORTS), value="rank (best first)", description="sort agents by",
                               style={"description_width": "100px"}, layout=W.Layout(width="340px"))
        self.flips_first = W.Checkbox(value=False, description="flipped agents first", indent=False,
                                      layout=W.Layout(width="auto"))
        # shown in full: a relative path is resolved against the working folder (notebooks/ in Voila)
        self.save_path = W.Text(value=str(_absolute(save_path)), description="save to",
                                style={"description_width": "90px"}, layout=W.Layout(width="640px"))
        self.label = W.Text(description="version label", style={"description_width": "90px"},
                            layout=W.Layout(width="640px"))
        self.save_button = W.Button(description="Save tuned card", icon="save", layout=W.Layout(width="auto"))
        self.suggest_button = W.Button(description="Suggest weights", icon="magic", layout=W.Layout(width="auto"))
        self.apply_button = W.Button(description="Apply suggestion", icon="check", disabled=True,
                                     layout=W.Layout(width="auto"))
        self.suggest_progress = W.IntProgress(value=0, min=0, max=1, description="", layout=W.Layout(width="300px",
                                              visibility="hidden"))
        self.suggestion = W.HTML()
        self.summary = W.HTML()
        self.ranking = W.HTML()
        self.changes = W.HTML()
        self.status = W.HTML()
        self.save_status = W.HTML()
        self.download = W.HTML()
        self.figure = W.HTML()
        for w in (self.mode, self.threshold):
            w.observe(self._on_change, names="value")
        for w in (self.sort, self.flips_first):
            w.observe(lambda _c: self._render_ranking(), names="value")
        self.reset_button.on_click(lambda _: self.reset())
        self.save_button.on_click(lambda _: self._save_clicked())
        self.load_button.on_click(lambda _: self.load_dataset(self.dataset_box.value))
        self.suggest_button.on_click(lambda _: self.suggest())
        self.apply_button.on_click(lambda _: self.apply_suggestion())
        self.label.observe(lambda _c: self._render_download(), names="value")
        self._set_data(ratings, card, surveys, dataset)

    # -- data ---------------------------------------------------------------------------------
    def _set_data(self, ratings: pd.DataFrame | None, card: Scorecard | None, surveys: pd.DataFrame | None,
                  dataset: str) -> None:
        """Make ``ratings`` scored by ``card`` the explorer's data (all checks first: on an error
        nothing changes). No reviews (``ratings`` None or empty, or no card): the page says so and
        offers only the data box (see :meth:`_set_empty`)."""
        csat = csat_by_conversation(surveys)
        if ratings is None or card is None or len(ratings) == 0:
            self._set_empty(dataset, surveys, csat)
            return
        ratings = S.validate(ratings, "ratings")
        # every change re-scores through the prepared rating matrix (the one scoring engine: weights,
        # critical flags, thresholds, mode, sections, fail rules, N/A policies)
        state = prepare_explorer(ratings, card, csat=csat)
        self.ratings, self.surveys, self.baseline_card, self.dataset, self.csat = ratings, surveys, card, dataset, csat
        self._has_csat = csat is not None and len(csat) > 0
        self.state = state
        self.baseline = self.state.base
        self.result = self.baseline
        self._full_baseline = None  # the full engine's baseline, made when a change needs it
        self.fit = None
        self.suggestion.value = ""
        self.apply_button.disabled = True
        for w in (self.mode, self.threshold, self.reset_button, self.suggest_button, self.save_button):
            w.disabled = False
        self.card_row.layout.display = None
        for box in self._review_boxes:
            box.layout.display = None
        self.weight_sliders = {
            c.name: W.FloatSlider(value=c.weight, min=0.0, max=max(self.max_weight, c.weight), step=0.25,
                                  description=c.name, continuous_update=False,
                                  style={"description_width": "160px"}, layout=W.Layout(width="440px"))
            for c in card.categories}
        self.critical_boxes = {c.name: W.Checkbox(value=c.critical, description="critical", indent=False,
                                                  layout=W.Layout(width="90px"))
                               for c in card.categories}
        self._rule_controls(card)
        for w in [*self.weight_sliders.values(), *self.critical_boxes.values(), *self._rule_widgets()]:
            w.observe(self._on_change, names="value")
        self._muted = True
        self.mode.value, self.threshold.value = card.mode, card.pass_threshold
        self.label.value = tuned_label(card, self.today)
        self._muted = False
        # each category's discrimination beside its weight (issue 25): does it separate good from bad?
        disc = category_discrimination(self.ratings, card)
        self.discrimination = {n: W.HTML(value=discrimination_html(disc, n), layout=W.Layout(flex="1 1 12em", min_width="12em"))
                               for n in self.weight_sliders}
        for slider in self.weight_sliders.values():  # the label wraps; the slider keeps its width
            slider.layout.flex = "0 0 auto"
        # beside the controls while the row has room; on a narrow screen (1024 px beside the effect
        # panel) the discrimination wraps under its slider instead of running under the panel
        rows = [W.HBox([self.weight_sliders[n], self.critical_boxes[n], self.discrimination[n]],
                       layout=W.Layout(flex_flow="row wrap", overflow="visible", align_items="center"))
                for n in self.weight_sliders]
        self.controls.children = rows
        self.status.value = ""
        self.save_status.value = ""
        self._render()

    def _set_empty(self, dataset: str, surveys: pd.DataFrame | None, csat: pd.Series | None) -> None:
        """No reviews to tune: every control gone or disabled, the page says why and what to load."""
        self.ratings, self.surveys, self.baseline_card, self.dataset, self.csat = None, surveys, None, dataset, csat
        self._has_csat = csat is not None and len(csat) > 0
        self.state = self.baseline = self.result = self._full_baseline = self.fit = None
        self.weight_sliders, self.critical_boxes, self.discrimination = {}, {}, {}
        self.threshold_boxes, self.fail_boxes, self.na_boxes, self.section_boxes = {}, {}, {}, {}
        self.section_weight_sliders, self.fail_rule_boxes = {}, {}
        self.controls.children, self.rules_box.children = (), ()
        for w in (self.mode, self.threshold, self.reset_button, self.suggest_button, self.apply_button,
                  self.save_button):
            w.disabled = True
        self.card_row.layout.display = "none"
        for box in self._review_boxes:
            box.layout.display = "none"
        src = "This data" if dataset == "sample" else f"The folder {_esc(dataset)}"
        self.status.value = (
            "<div class='qakit-x'><div class='qakit-empty'><b>No reviews to tune.</b> "
            f"{src} has no reviews (no <code>ratings.parquet</code> or <code>ratings.csv</code>), so there is "
            "no score to re-weigh. The explorer needs a folder with the reviews' ratings and their "
            "<code>scorecard.yaml</code>: type it under <i>1. Data</i> and press <i>Load data</i>. The QA report "
            "still covers what this data has (customer KPIs without reviews).</div></div>")
        self.summary.value = ("<div class='qakit-x qakit-effect'><div class='qakit-effect-head'>Effect"
                              "</div><div class='qakit-note'>Nothing to show: no reviews loaded.</div></div>")
        for w in (self.ranking, self.changes, self.figure, self.download, self.suggestion, self.save_status):
            w.value = ""

    def _rule_controls(self, card: Scorecard) -> None:
        """The controls beyond weights and critical flags, in two grids a QA lead reads as tables:
        per category its critical threshold, fail rule (failing ratings), N/A policy and section;
        per section (cards with sections) its weight and fail rule."""
        def head(text: str, tip: str) -> Any:
            return W.HTML(f"<b title='{_esc(tip)}' style='font-size:12px;cursor:help;line-height:1.3;"
                          f"border-bottom:1px dotted #888'>{_esc(text)}</b>")

        def name(text: str) -> Any:
            return W.HTML(f"<span title='{_esc(text)}' style='white-space:normal;overflow-wrap:anywhere;"
                          f"line-height:1.2;display:block'>{_esc(text)}</span>")

        tip_thr = ("A critical category fails the review when its score is below this percent "
                   "(only used when the category is ticked critical).")
        tip_fail = "These ratings fail the review (or the section) whatever the points, critical or not."
        tip_na = "What a review that left this category unrated (N/A) gets for it."
        tip_sec = "The section this category is scored in."
        full = W.Layout(width="auto")
        self.threshold_boxes = {c.name: W.BoundedFloatText(value=c.critical_threshold, min=0, max=100, step=5,
                                                           disabled=not c.critical, tooltip=tip_thr, layout=full)
                                for c in card.categories}
        self.fail_boxes = {c.name: W.Dropdown(options=fail_value_choices(c), value=tuple(c.fail_values),
                                              tooltip=tip_fail, layout=full) for c in card.categories}
        self.na_boxes = {c.name: W.Dropdown(options=[(v, k) for k, v in NA_LABELS.items()], value=c.na,
                                            tooltip=tip_na, layout=full) for c in card.categories}
        secs = [s.name for s in card.sections]
        self.section_boxes = ({c.name: W.Dropdown(options=secs, value=c.section, tooltip=tip_sec, layout=full)
                               for c in card.categories} if secs else {})
        for c in card.categories:  # a threshold only matters for a critical category
            box = self.threshold_boxes[c.name]
            self.critical_boxes[c.name].observe(lambda ch, box=box: setattr(box, "disabled", not ch["new"]),
                                                names="value")
        cells = [head("category", "The scorecard's categories"), head("critical below (%)", tip_thr),
                 head("fail rule", tip_fail), head("not rated (N/A)", tip_na)]
        # columns shrink to their minimum beside the effect panel on a 1024 px screen
        cols = "minmax(100px, 170px) minmax(70px, 130px) minmax(150px, 190px) minmax(150px, 190px)"
        if secs:
            cells.append(head("section", tip_sec))
            cols += " minmax(120px, 170px)"
        for c in card.categories:
            cells += [name(c.name), self.threshold_boxes[c.name], self.fail_boxes[c.name], self.na_boxes[c.name]]
            if secs:
                cells.append(self.section_boxes[c.name])
        grid = W.GridBox(cells, layout=W.Layout(grid_template_columns=cols, grid_gap="4px 10px", width="auto",
                                                align_items="center"))
        note = ("<div class='qakit-note' style='color:#555;font-size:12px;margin:0 0 4px'>"
                "<b>critical below</b>: a critical category scoring under this percent fails the review · "
                "<b>fail rule</b>: ratings that fail the review whatever the points · <b>not rated</b>: what an N/A "
                "rating counts as" + (" · <b>section</b>: where the category is scored" if secs else "")
                + ". Hover a heading for more.</div>")
        parts: list[Any] = [W.HTML("<h4 style='margin:10px 0 2px'>Rules per category</h4>" + note), grid]
        self.section_weight_sliders, self.fail_rule_boxes = {}, {}
        if secs:
            pooled = card.sections_combine == "points"  # all points pooled: section weights do not count
            tip_w = ("Not used: this card adds up the points of all sections (sections_combine: points)." if pooled
                     else "How much the section counts in the review score, relative to the other sections.")
            tip_rule = "What happens when a critical category (or a failing rating) in this section fails."
            self.section_weight_sliders = {
                s.name: W.FloatSlider(value=s.weight, min=0.0, max=max(self.max_weight, s.weight), step=0.25,
                                      continuous_update=False, tooltip=tip_w, disabled=pooled,
                                      layout=W.Layout(width="100%"))
                for s in card.sections}
            self.fail_rule_boxes = {s.name: W.Dropdown(options=[(v, k) for k, v in FAIL_RULE_LABELS.items()],
                                                       value=s.fail_rule, tooltip=tip_rule, layout=full)
                                    for s in card.sections}
            cells = [head("section", "The scorecard's sections"), head("section weight", tip_w),
                     head("when something in it fails", tip_rule)]
            for s in card.sections:
                cells += [name(s.name + (" (bonus)" if s.bonus else "")), self.section_weight_sliders[s.name],
                          self.fail_rule_boxes[s.name]]
            parts += [W.HTML("<h4 style='margin:10px 0 2px'>Sections</h4><div class='qakit-note' style='color:#555;"
                             "font-size:12px;margin:0 0 4px'>"
                             + ("The review score adds up the points of all sections (section weights are not used)"
                                if pooled else "The review score is the weighted mean of the section scores")
                             + "; a section's fail rule says whether a fail inside it zeroes the whole review "
                             "or only the section.</div>"),
                      W.GridBox(cells, layout=W.Layout(grid_template_columns="minmax(100px, 170px) minmax(200px, 310px) minmax(180px, 240px)", grid_gap="4px 10px",
                                                       width="auto", align_items="center"))]
        for kind, boxes in (("threshold", self.threshold_boxes), ("fail", self.fail_boxes), ("na", self.na_boxes),
                            ("section", self.section_boxes), ("section-weight", self.section_weight_sliders),
                            ("fail-rule", self.fail_rule_boxes)):
            for key, w in boxes.items():  # a stable handle for the page (browser tests, custom CSS)
                w.add_class(f"qakit-{kind}-{_slug(key)}")
        self.rules_box.children = parts

    def _rule_widgets(self) -> list[Any]:
        return [*self.threshold_boxes.values(), *self.fail_boxes.values(), *self.na_boxes.values(),
                *self.section_boxes.values(), *self.section_weight_sliders.values(), *self.fail_rule_boxes.values()]

    def load_dataset(self, dataset: str) -> bool:
        """Load a dataset folder (the report's ``dataset`` parameter: "sample" or a folder with
        ratings, conversations, surveys and scorecard.yaml) and make its card the baseline.
        Problems are shown in the UI in plain words; returns whether it loaded."""
        dataset = str(dataset).strip() or "sample"
        if dataset != "sample":
            dataset = str(_absolute(dataset))
        self.data_status.value = "<i>loading…</i>"
        try:
            data = load_report_data(dataset=dataset)
            if not data.has("ratings"):
                if self.result is None:  # nothing loaded yet: the page keeps saying what is missing
                    self._set_empty(dataset, data.surveys, csat_by_conversation(data.surveys))
                    raise ValueError("this folder has no reviews (no ratings.parquet or ratings.csv): nothing to tune")
                raise ValueError("this folder has no reviews (no ratings.parquet or ratings.csv): nothing to tune; "
                                 "the data loaded before stays")
            self._set_data(data.ratings, data.card, data.surveys, dataset)
        except Exception as e:  # shown to the user, never a traceback
            self.data_status.value = (f"<span class='qakit-err' style='color:#b00020'>Could not load "
                                      f"{_esc(repr(dataset))}: {_plain(e)}</span>")
            return False
        self.data_status.value = self._loaded_text()
        return True

    def _loaded_text(self) -> str:
        """What the data box says after a load: source, reviews, agents, card; and what is missing."""
        src = "the bundled sample data" if self.dataset == "sample" else str(Path(self.dataset).expanduser().resolve())
        no_csat = ("" if self._has_csat else " No CSAT answers: the IQS–CSAT correlation and <i>Suggest weights</i> "
                   "are not available.")
        return (f"<span style='color:#1b5e20'>Loaded {_esc(src)}: {len(self.result.scores):,} reviews, "
                f"{len(self.result.agents)} agents, card “{_esc(self.baseline_card.name)}”.</span>"
                f"<span style='color:#555'>{no_csat}</span>")

    @classmethod
    def from_dataset(cls, dataset: str = "sample", *, ratings_path: str = "", conversations_path: str = "",
                     surveys_path: str = "", scorecard_path: str = "", start: str = "", end: str = "",
                     save_path: str | Path = "tuned_scorecard.yaml", max_weight: float = 5.0,
                     today: Any = None) -> "ScorecardExplorer":
        """The explorer on a dataset folder (the report's ``dataset`` layout and parameters). A
        folder it cannot read, or one without reviews, gives the explorer's page saying so in plain
        words, with the data box to load another: never a traceback in the app.

        ``dataset="sample"`` while ``QAKIT_EXPLORE_DATASET`` names another folder (``qakit explore
        --dataset FOLDER`` sets it): that folder. A relative folder is read from where ``qakit
        explore`` was started (see :func:`_absolute`).
        """
        if dataset == "sample":
            dataset = os.environ.get("QAKIT_EXPLORE_DATASET") or "sample"
        if dataset != "sample":
            dataset = str(_absolute(dataset))
        try:
            data = load_report_data(dataset=dataset, ratings_path=ratings_path, conversations_path=conversations_path,
                                    surveys_path=surveys_path, scorecard_path=scorecard_path, start=start, end=end)
        except (QakitError, OSError, ValueError) as e:  # shown in the page; the box can load another folder
            ex = cls(None, None, save_path=save_path, max_weight=max_weight, dataset=dataset, today=today)
            ex.data_status.value = (f"<span class='qakit-err' style='color:#b00020'>Could not load "
                                    f"{_esc(repr(dataset))}: {_plain(e)}</span>")
            return ex
        ex = cls(data.ratings, data.card, surveys=data.surveys, save_path=save_path, max_weight=max_weight,
                 dataset=dataset, today=today)
        if ex.result is not None and not ex._has_csat:
            ex.data_status.value = ex._loaded_text()
        return ex

    # -- the card ------------------------------------------------------------------------------
    def current_card(self) -> Scorecard:
        """The card the controls describe now (weights, critical flags and thresholds, fail
        rules, N/A policies, sections, section weights and fail rules, mode, pass line), built and
        checked in one step; then every control added with :meth:`add_control`."""
        base = self.baseline_card
        cats = tuple(replace(c, weight=float(self.weight_sliders[c.name].value),
                             critical=bool(self.critical_boxes[c.name].value),
                             critical_threshold=float(self.threshold_boxes[c.name].value),
                             fail_values=tuple(self.fail_boxes[c.name].value), na=self.na_boxes[c.name].value,
                             section=(self.section_boxes[c.name].value if self.section_boxes else c.section))
                     for c in base.categories)
        secs = tuple(replace(s, weight=float(self.section_weight_sliders[s.name].value),
                             fail_rule=self.fail_rule_boxes[s.name].value) for s in base.sections)
        card = replace(base, categories=cats, sections=secs, mode=self.mode.value,
                       pass_threshold=float(self.threshold.value))
        for widget, apply, _ in self.extra_controls:
            card = apply(card, widget.value)
        return card

    def add_control(self, widget: Any, apply: Any, baseline_value: Any) -> None:
        """Hook for more tunable settings (sections, fail rules, N/A policies, critical thresholds
        once the scoring engine scores them): ``apply(card, widget.value)`` returns the changed
        card; ``baseline_value`` is what *Reset* puts back. Every card is scored by
        :func:`explore_fast` (the one scoring engine), so its numbers equal ``Scorecard.score``."""
        self.extra_controls.append((widget, apply, baseline_value))
        self.extra_box.children = (*self.extra_box.children, widget)
        widget.observe(self._on_change, names="value")

    def _on_change(self, _change: Any = None) -> None:
        if self._muted or self.baseline_card is None:
            return
        try:
            card = self.current_card()
        except Exception as e:  # e.g. all weights 0 or a critical category at weight 0
            self.status.value = f"<span style='color:#b00020'>This card cannot be used: {_plain(e)}</span>"
            return
        self.status.value = ""
        if self.state is not None:
            self.result = explore_fast(self.state, card)
        else:
            if self._full_baseline is None:  # the fast path's baseline holds no per-review pass column
                self._full_baseline = (self.baseline if self.state is None else
                                       explore(self.ratings, self.baseline_card, baseline=self.baseline_card,
                                               csat=self.csat))
            self.result = explore(self.ratings, card, baseline=self.baseline_card, csat=self.csat,
                                  baseline_result=self._full_baseline)
        self._render()

    def reset(self) -> None:
        """Put every control back to the baseline card (one update)."""
        card = self.baseline_card
        if card is None:  # no reviews loaded
            return
        self._muted = True
        try:
            for c in card.categories:
                self.weight_sliders[c.name].value = c.weight
                self.critical_boxes[c.name].value = c.critical
                self.threshold_boxes[c.name].value = c.critical_threshold
                self.fail_boxes[c.name].value = tuple(c.fail_values)
                self.na_boxes[c.name].value = c.na
                if self.section_boxes:
                    self.section_boxes[c.name].value = c.section
            for s in card.sections:
                self.section_weight_sliders[s.name].value = s.weight
                self.fail_rule_boxes[s.name].value = s.fail_rule
            self.mode.value, self.threshold.value = card.mode, card.pass_threshold
            for widget, _, value in self.extra_controls:
                widget.value = value
        finally:
            self._muted = False
        self._on_change()

    # -- rendering -----------------------------------------------------------------------------
    def _render_ranking(self) -> None:
        if self.result is None:
            return
        self.ranking.value = ranking_html(self.result, sort=self.sort.value, flips_first=self.flips_first.value)

    def _render_download(self) -> None:
        if self.result is None:
            return
        try:
            card = _tuned_card(self.result.card, self.label.value)
        except Exception as e:
            self.download.value = f"<span style='color:#b00020'>{_plain(e)}</span>"
            return
        self.download.value = download_link_html(card.to_yaml(), _file_name(self.save_path.value))

    def _render(self) -> None:
        """Update the HTML widgets in place (no display() calls: nothing is printed
        into the notebook, so nbval and Voila see the same, stable cell output)."""
        self._render_ranking()
        self.changes.value = changes_html(self.baseline_card, self.result, self.baseline, effect=False)
        # an SVG histogram drawn from np.histogram: ~1 ms, so the whole update stays within a blink
        # (a seaborn figure rendered to PNG costs ~300 ms; iqs_distribution_figure is for notebooks)
        self.figure.value = (f'<div class="qakit-x">{distribution_svg(self.result, self.baseline, width=440, height=170, caption=False)}'
                             f'<div class="qakit-legend">{HISTOGRAM_CAPTION}</div></div>')
        self._render_download()
        # last: the front end gets the updates in order, so a new summary means all the rest is there
        self.summary.value = summary_html(self.result, has_csat=self._has_csat)

    # -- save ------------------------------------------------------------------------------------
    def save(self) -> Path:
        """Write the tuned card (named as tuned, see :func:`tuned_card`) to ``save_path`` as YAML;
        returns the absolute path. Raises on a bad path (the button shows the reason instead)."""
        if self.baseline_card is None:
            raise ParameterError("no reviews are loaded, so there is no tuned card to save")
        path = _absolute(self.save_path.value)
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder; add a file name such as tuned_scorecard.yaml")
        card = tuned_card(self.current_card(), self.label.value)
        card.to_yaml(path)
        path = path.resolve()
        self.save_status.value = (
            f"<div class='qakit-x'><span class='qakit-ok' style='color:#1b5e20'>Saved to <code>{_esc(path)}</code></span>"
            f"<div class='qakit-note'>Make the QA report with this card (paste it into any shell, from any folder):</div>"
            f"<code class='qakit-command'>{_esc(report_command(path, self.dataset))}</code></div>")
        return path

    def _save_clicked(self) -> None:
        try:
            self.save()
        except Exception as e:
            self.save_status.value = (f"<span class='qakit-err' style='color:#b00020'>Not saved: "
                                      f"{_plain(e)}</span>")

    # -- suggestion ---------------------------------------------------------------------------------
    def suggest(self) -> None:
        """Run :func:`qakit.tuning.fit_weights` on the current card and show its advice (the
        controls do not change)."""
        self.suggest_button.disabled = True
        bar = self.suggest_progress
        bar.layout.visibility = "visible"
        bar.value, bar.max, bar.description = 0, 1, "fitting…"
        try:
            if self.baseline_card is None:
                raise ValueError("no reviews are loaded")
            if not self._has_csat:
                raise ValueError("this dataset has no CSAT answers, so there is no CSAT to fit weights to")
            card = self.current_card()
            self.fit = _fit_with_progress(fit_weights, self.ratings, card, self.surveys, bar)
            self.suggestion.value = suggestion_html(self.fit, card)
            self.apply_button.disabled = False
        except Exception as e:
            self.fit = None
            self.apply_button.disabled = True
            self.suggestion.value = f"<span style='color:#b00020'>No suggestion: {_plain(e)}</span>"
        finally:
            self.suggest_button.disabled = False
            bar.description = "done"

    def apply_suggestion(self) -> None:
        """Set the weight sliders to the suggested weights, one update. Only the ratios between
        weights matter to the score, so when the largest suggestion exceeds the sliders' range all
        are scaled down to fit; then rounded to the sliders' 0.25 steps (critical categories keep
        at least one step). The status line says so."""
        if self.fit is None:
            return
        w = dict(zip(self.fit.weights[S.CATEGORY], self.fit.weights["fitted_weight"].astype(float)))
        top = min(s.max for s in self.weight_sliders.values())
        scale = min(1.0, top / max(w.values())) if max(w.values()) > 0 else 1.0
        self._muted = True
        try:
            for name, v in w.items():
                s = self.weight_sliders[name]
                v = min(s.max, round(v * scale / s.step) * s.step)
                if self.critical_boxes[name].value:
                    v = max(v, s.step)
                s.value = v
        finally:
            self._muted = False
        self._on_change()
        if not self.status.value:
            self.status.value = ("<span style='color:#555'>Suggestion applied, rounded to steps of 0.25"
                                 + (f" after scaling all weights by {scale:.2f} to fit the sliders" if scale < 1 else "")
                                 + ". Reset to baseline undoes it.</span>")

    def widget(self):
        """The assembled UI: the data box, the controls and the agents on the left, the effect
        (tiles, histogram, what changed) beside them and pinned in view while the page scrolls;
        saving below."""
        def head(text: str) -> Any:
            return W.HTML(f"<h3 style='margin:12px 0 4px'>{text}</h3>")

        visible = dict(overflow="visible")
        buttons = W.HBox([self.reset_button, self.suggest_button, self.apply_button, self.suggest_progress],
                         layout=W.Layout(margin="12px 0 0 0", flex_flow="row wrap", **visible))
        agents = W.VBox([head("3. Agents"), W.HBox([self.sort, self.flips_first],
                                                   layout=W.Layout(flex_flow="row wrap", **visible)), self.ranking],
                        layout=W.Layout(**visible))
        save = W.VBox([
            head("4. Save"),
            self.label,
            W.HTML("<div class='qakit-note' style='color:#555;font-size:12px'>The label becomes the saved card's "
                   "<i>version</i> and goes into its name (“… (TUNED &lt;label&gt;, not the production card)”); "
                   "the card also records <i>based_on</i>: the baseline version whose reviews it scores.</div>"),
            W.HBox([self.save_path, self.save_button], layout=W.Layout(flex_flow="row wrap", **visible)),
            self.save_status, self.download], layout=W.Layout(**visible))
        self._review_boxes = [buttons, agents, save]
        for box in self._review_boxes:
            box.layout.display = "none" if self.result is None else None
        controls = W.VBox([
            head("1. Data"),
            W.HBox([self.dataset_box, self.load_button], layout=W.Layout(flex_flow="row wrap", **visible)),
            self.data_status,
            head("2. Tune the card"),
            self.controls, self.card_row, self.rules_box, self.extra_box, buttons,
            self.status, self.suggestion,
            # the agents too: the effect panel stays pinned while they are read (a sticky box
            # stays inside its row, so the row reaches down to the end of the agent table)
            agents,
        ], layout=W.Layout(**visible))
        controls.add_class("qakit-controls")
        pane = W.VBox([self.summary, self.figure, self.changes])
        pane.add_class("qakit-effect-pane")
        cols = W.HBox([controls, pane], layout=W.Layout(width="100%", **visible))
        cols.add_class("qakit-cols")
        app = W.VBox([
            W.HTML(_APP_CSS + INTRO),
            cols,
            save,
        ], layout=W.Layout(max_width="1400px", **visible))
        app.add_class("qakit-app")
        return app


def _absolute(path: str | Path) -> Path:
    """``path`` made absolute against the folder the user started from: ``QAKIT_CALLER_DIR``
    (set by ``qakit explore``; Voila runs the notebook inside notebooks/) or the working folder."""
    p = Path(str(path).strip()).expanduser()
    return p if p.is_absolute() else Path(os.environ.get("QAKIT_CALLER_DIR") or Path.cwd()) / p


def _slug(text: str) -> str:
    """``text`` as a CSS class fragment: lower case, runs of other characters as one ``-``.

    Examples
    --------
    >>> _slug("Escalation handling")
    'escalation-handling'
    """
    return re.sub(r"[^a-z0-9]+", "-", str(text).casefold()).strip("-") or "x"


def _esc(v: Any) -> str:
    return html.escape(str(v))


def _plain(e: BaseException) -> str:
    """An exception as one plain sentence for the UI (no traceback, no class names)."""
    if isinstance(e, FileNotFoundError) and e.filename:
        msg = f"the folder {Path(e.filename).parent} does not exist"
    elif isinstance(e, PermissionError) and e.filename:
        msg = f"no permission to write {e.filename}"
    elif isinstance(e, OSError) and e.strerror:
        msg = f"{e.strerror}" + (f" ({e.filename})" if e.filename else "")
    else:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return html.escape(msg)


def _file_name(path: str) -> str:
    name = Path(str(path)).name
    return name if name.endswith((".yaml", ".yml")) else "tuned_scorecard.yaml"


def _fit_with_progress(fit_weights, ratings, card, surveys, bar):
    """Run ``fit_weights`` with its progress bar mirrored into ``bar`` (an ``IntProgress``): the
    tqdm bar fit_weights opens (``progress=True``) is replaced by one that moves the widget."""
    class _Bar:
        def __init__(self, iterable, *, total=None, **_kw):
            self.iterable = iterable
            bar.max = (total or len(iterable)) + 1  # the folds, then the final fit on all data
            bar.value = 0

        def __iter__(self):
            for i, x in enumerate(self.iterable):
                bar.value, bar.description = i, f"fold {i + 1} of {bar.max - 1}"
                yield x
            bar.value, bar.description = bar.max - 1, "final fit"

    original = tqdm.auto.tqdm
    tqdm.auto.tqdm = _Bar
    try:
        fit = fit_weights(ratings, card, surveys, progress=True)
    finally:
        tqdm.auto.tqdm = original
    bar.value = bar.max
    return fit


# --- the public API: every function listed here is decorated with @public on its def (shared parameters
# checked by name; every result stamped with its exclusion record); the classes are left as they are.
# The display helpers (ranking_html, summary_html, changes_html, distribution_svg ...) are the widget's
# own rendering and stay outside the public API.
__all__ = [
    "EXPLORER_MIN_N", "INSIDE", "CREDIBLE", "SORTS",
    "ExplorerResult", "ExplorerState", "ScorecardExplorer",
    "explore", "prepare_explorer", "explore_fast", "engine_check",
    "flip_labels", "agent_view", "card_changes", "effect_table", "suggestion_table",
    "tuned_label", "tuned_card", "report_command", "csat_by_conversation",
]

# the unwrapped functions, for the widget's per-change rendering (their tables become HTML, never a
# result: no record to stamp, and the slider callback pays nothing for the wrapper). ``explore_fast``
# itself stays wrapped in the callback: ``ScorecardExplorer.result`` is a recorded result.
_card_changes, _tuned_card = card_changes, tuned_card
