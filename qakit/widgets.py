"""The scorecard tuning explorer: ipywidgets controls over a pure, testable update function.

QA leads move a weight slider or tick a critical box and see at once what the change does:
the IQS distribution, the agent ranking with CIs, agents whose pass/fail flips against the
baseline card, and the IQS-CSAT correlation.  All the logic is :func:`explore`, a pure function
of (prepared data, candidate card, baseline card) that tests call directly; the widget class
:class:`ScorecardExplorer` only wires controls to it and renders the result into ``HTML``
widgets (no printing, so nbval can compare the notebook honestly).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from . import schema as S
from .display import table
from .intervals import mean_ci
from .scorecard import MODES, Scorecard, iqs_score
from .scorecard.aggregate import code_stats
from .stats import csat_by_conversation  # re-exported: the explorer's CSAT pairing

#: agents need at least this many reviews to be ranked without a small-sample flag
EXPLORER_MIN_N = 10


@dataclass
class ExplorerResult:
    """What one explorer update shows."""

    card: Scorecard
    scores: pd.DataFrame        # one row per review under the candidate card
    agents: pd.DataFrame        # agent ranking: agent_id, n, iqs, ci_low, ci_high, rank, baseline_iqs, baseline_rank, passed, baseline_passed, flipped
    summary: pd.DataFrame       # one row: n, iqs, baseline_iqs, pass_rate, baseline_pass_rate, n_flipped, r, r_ci_low, r_ci_high, baseline_r


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


def prepare_explorer(ratings: pd.DataFrame, baseline: Scorecard, *, csat: pd.Series | None = None) -> ExplorerState:
    """Validate and index the ratings once; returns the state :func:`explore_fast` updates from."""
    from .tuning import ReviewMatrix

    m = ReviewMatrix(ratings, baseline)
    agent_codes, agents = pd.factorize(m.ids[S.AGENT_ID], sort=True)
    conv_codes, convs = pd.factorize(m.ids[S.CONVERSATION_ID], sort=False)
    cs = (csat.reindex(pd.Index(convs).astype("str")).to_numpy(dtype=float) if csat is not None
          else np.full(len(convs), np.nan))
    state = ExplorerState(matrices={"ratings": m}, ratings=ratings, baseline=baseline, agent_codes=agent_codes,
                          agents=pd.Index(agents, name=S.AGENT_ID), conv_codes=conv_codes, csat_per_conv=cs,
                          base=None)  # type: ignore[arg-type]
    state.base = _fast_result(state, baseline, None)
    return state


def _matrix(state: ExplorerState, card: Scorecard):
    """The prepared rating matrix; it scores any card on the same categories and scales (mode,
    thresholds, sections, fail rules, N/A policies) with the one scoring engine."""
    from .tuning import ReviewMatrix

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
    z = stats.norm.ppf(0.975)
    zr = np.arctanh(r)
    return r, float(np.tanh(zr - z / np.sqrt(n - 3))), float(np.tanh(zr + z / np.sqrt(n - 3))), n


def _mean(x: np.ndarray) -> float:
    """Mean, NaN when empty (no scored review), as iqs_score gives."""
    return float(np.mean(x)) if len(x) else np.nan


def _fast_result(state: ExplorerState, card: Scorecard, base: ExplorerResult | None) -> ExplorerResult:
    m = _matrix(state, card)
    iqs = m.iqs(card)
    agents = _fast_agents(state, iqs, card)
    r, lo, hi, n_r = _fast_corr(state, iqs)
    if base is None:
        b_agents, b_iqs, b_r = agents, iqs, r
    else:
        b_agents, b_iqs, b_r = base.agents, base.scores[S.IQS].to_numpy(), float(base.summary["r"].iloc[0])
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
    scores = m.ids.assign(**{S.IQS: iqs})
    return ExplorerResult(card=card, scores=scores, agents=agents, summary=summary)


def explore_fast(state: ExplorerState, card: Scorecard) -> ExplorerResult:
    """:func:`explore` for any candidate card: the same numbers, from the prepared rating matrix
    scored by the one scoring engine (weights, critical flags, thresholds, mode, sections,
    fail rules, N/A policies)
    (``tests/test_widgets.py`` checks they equal :func:`explore`'s)."""
    return _fast_result(state, card, state.base)


def iqs_distribution_figure(result: ExplorerResult, baseline: ExplorerResult | None = None, *, ax=None):
    """Histogram of review scores (candidate, and baseline outlined); returns the Axes."""
    import matplotlib.pyplot as plt
    import seaborn as sns

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
                     width: int = 600, height: int = 220) -> str:
    """The review-score histogram as inline SVG: candidate bars, baseline outline, pass line.

    Examples
    --------
    >>> r = ExplorerResult(card=None, scores=pd.DataFrame({"iqs": [0.0, 50, 100, 100]}), agents=None, summary=None)
    >>> svg = distribution_svg(r)
    >>> svg.startswith("<svg") and svg.count("<rect") == 20 + 1
    True
    """
    top = max(100.0, float(np.nanmax(result.scores[S.IQS], initial=100.0)))
    edges = np.linspace(0, top, bins + 1)
    cand = np.histogram(result.scores[S.IQS].dropna(), bins=edges)[0]
    base = np.histogram(baseline.scores[S.IQS].dropna(), bins=edges)[0] if baseline is not None else None
    ymax = max(1, int(cand.max()), int(base.max()) if base is not None else 0)
    left, bottom, pw, ph = 40, 25, width - 50, height - 40
    xs = left + pw * (edges - edges[0]) / (edges[-1] - edges[0])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="11" role="img" aria-label="review score histogram">',
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
        parts.append(f'<text x="{left + pw * v / top:.1f}" y="{height - 8}" text-anchor="middle">{v}</text>')
    parts.append(f'<text x="{left - 4}" y="12" text-anchor="end">{ymax}</text>')
    parts.append(f'<text x="{left + pw}" y="{height - 8}" text-anchor="end">review score (%) · blue: candidate, '
                 'orange: baseline, dashed: pass</text></svg>')
    return "".join(parts)


def summary_html(result: ExplorerResult) -> str:
    """The headline line the explorer shows (values rounded for display only)."""
    s = result.summary.iloc[0]
    return (
        f"<b>IQS</b> {s[S.IQS]:.1f}% (baseline {s['baseline_iqs']:.1f}%) · "
        f"<b>pass rate</b> {s[S.PASS_RATE]:.1%} (baseline {s['baseline_pass_rate']:.1%}) · "
        f"<b>agents flipping pass/fail</b> {int(s['n_flipped'])} · "
        f"<b>IQS–CSAT r</b> {s['r']:.3f} [{s['r_ci_low']:.3f}, {s['r_ci_high']:.3f}] "
        f"(baseline {s['baseline_r']:.3f}, n={int(s['n_csat'])})"
    )


def ranking_html(result: ExplorerResult, *, top: int = 15) -> str:
    cols = [S.AGENT_ID, S.N, S.IQS, S.CI_LOW, S.CI_HIGH, "rank", "baseline_rank", S.PASSED, "flipped", S.SMALL_SAMPLE]
    return table(result.agents[cols], max_rows=top).to_html(index=False, classes="qakit-ranking", border=0)


class ScorecardExplorer:
    """ipywidgets explorer: a slider per category weight, a critical checkbox per category,
    mode and pass-threshold controls, and a button that writes the tuned card to YAML.

    Drive it from code (tests, checked notebook cells) exactly as a user would:
    ``ex.weight_sliders["Tone"].value = 2.0`` updates ``ex.result`` and the HTML widgets.
    """

    def __init__(self, ratings: pd.DataFrame, card: Scorecard, *, surveys: pd.DataFrame | None = None,
                 save_path: str | Path = "tuned_scorecard.yaml", max_weight: float = 5.0):
        import ipywidgets as W

        self.ratings = S.validate(ratings, "ratings")
        self.baseline_card = card
        self.csat = csat_by_conversation(surveys)
        # cards without sections re-score through prepared matrices (a weight change costs a
        # matrix-vector product); cards with sections take the full engine
        self.state = None if card.sections else prepare_explorer(self.ratings, card, csat=self.csat)
        self.baseline = self.state.base if self.state is not None else explore(self.ratings, card, baseline=card, csat=self.csat)
        self.result = self.baseline
        self.weight_sliders = {
            c.name: W.FloatSlider(value=c.weight, min=0.0, max=max(max_weight, c.weight), step=0.25,
                                  description=c.name, continuous_update=False,
                                  style={"description_width": "160px"}, layout=W.Layout(width="420px"))
            for c in card.categories}
        self.critical_boxes = {c.name: W.Checkbox(value=c.critical, description="critical", indent=False)
                               for c in card.categories}
        self.mode = W.Dropdown(options=list(MODES), value=card.mode, description="mode")
        self.threshold = W.FloatSlider(value=card.pass_threshold, min=50, max=100, step=1,
                                       description="pass at", continuous_update=False)
        self.save_path = W.Text(value=str(save_path), description="save to")
        self.save_button = W.Button(description="Write tuned card (YAML)", icon="save")
        self.summary = W.HTML()
        self.ranking = W.HTML()
        self.status = W.HTML()
        self.figure = W.HTML()
        for w in [*self.weight_sliders.values(), *self.critical_boxes.values(), self.mode, self.threshold]:
            w.observe(self._on_change, names="value")
        self.save_button.on_click(lambda _: self.save())
        self._render()

    def current_card(self) -> Scorecard:
        """The card the controls describe now."""
        return self.baseline_card.with_changes(
            weights={k: s.value for k, s in self.weight_sliders.items()},
            critical={k: b.value for k, b in self.critical_boxes.items()},
            mode=self.mode.value, pass_threshold=float(self.threshold.value))

    def _on_change(self, _change: Any = None) -> None:
        try:
            card = self.current_card()
        except Exception as e:  # e.g. all weights 0 or a critical category at weight 0
            self.status.value = f"<span style='color:#b00'>{type(e).__name__}: {e}</span>"
            return
        self.status.value = ""
        if self.state is not None:
            self.result = explore_fast(self.state, card)
        else:
            self.result = explore(self.ratings, card, baseline=self.baseline_card, csat=self.csat,
                                  baseline_result=self.baseline)
        self._render()

    def _render(self) -> None:
        """Update the HTML and Image widgets in place (no display() calls: nothing is printed
        into the notebook, so nbval and Voila see the same, stable cell output)."""
        self.summary.value = summary_html(self.result)
        self.ranking.value = ranking_html(self.result)
        # an SVG histogram drawn from np.histogram: ~1 ms, so the whole update stays within a blink
        # (a seaborn figure rendered to PNG costs ~300 ms; iqs_distribution_figure is for notebooks)
        self.figure.value = distribution_svg(self.result, self.baseline)

    def save(self) -> Path:
        """Write the current card to ``save_path`` as YAML (round-trips through load_scorecard)."""
        path = Path(self.save_path.value)
        self.current_card().to_yaml(path)
        self.status.value = f"saved {path.name}"
        return path

    def widget(self):
        """The assembled UI."""
        import ipywidgets as W

        rows = [W.HBox([self.weight_sliders[n], self.critical_boxes[n]]) for n in self.weight_sliders]
        controls = W.VBox(rows + [W.HBox([self.mode, self.threshold]), W.HBox([self.save_path, self.save_button]), self.status])
        return W.VBox([controls, self.summary, self.figure, self.ranking])
