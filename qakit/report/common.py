"""What every report section shares: the HTML snippet type, the page's CSS and status colours, the
one line a section shows when its data is missing, and :func:`quiet` (small-sample and undefined-metric
warnings become the ``small_sample`` column and "no data" in a report, not stderr noise).

The leaf of :mod:`qakit.report`'s display modules: :mod:`qakit.report.tiles`,
:mod:`qakit.report.views`, :mod:`qakit.report.operations` and :mod:`qakit.report.study` import it,
it imports none of them.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Callable
from typing import Any

import matplotlib.dates as mdates
import pandas as pd

from ..errors import SmallSampleWarning, UndefinedMetricWarning

STATUS_CLASS = {"on target": "status-on", "at risk": "status-risk", "off target": "status-off",
                "no data": "status-none", "no target": "status-none",
                "inconclusive": "status-none"}
#: colours of the statuses (tiles and figures): green, amber, red, grey
COLOURS = {"status-on": "#2e7d32", "status-risk": "#b26a00", "status-off": "#c62828", "status-none": "#616161"}
WIDE = 13.0  # inches at 100 dpi: figures fill a 1400 px page (and shrink with it)
#: the most agents a per-agent figure draws (forest plot, agent x category grid, review coverage): a
#: figure one row per agent is unreadable (and costs minutes and gigabytes to draw) with thousands of
#: agents; above it the figure shows the AGENT_ROWS // 2 at each end and says so (every agent is in the
#: appendix and the CSV tables)
AGENT_ROWS = 60

CSS = """
<style>
.jp-OutputArea-output img { max-width: 100%; height: auto; }
.jp-Cell.jp-mod-noOutputs.jp-mod-noInput { display: none; }  /* cells that only compute: no blank strip */
.qakit-title { font-size: 1.9em; margin: 0.2em 0 0.1em 0; }
.qakit-sub { color: #555; margin: 0 0 0.8em 0; }
.qakit-summary { font-size: 1.15em; line-height: 1.5; max-width: 70em; margin: 0.4em 0 1em 0; }
.qakit-tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; margin: 0.5em 0 1em 0; }
.qakit-tile { border: 1px solid #ddd; border-left: 8px solid #616161; border-radius: 6px; padding: 10px 12px; background: #fff;
              break-inside: avoid; page-break-inside: avoid; }
.qakit-tile.status-on { border-left-color: #2e7d32; } .qakit-tile.status-risk { border-left-color: #b26a00; }
.qakit-tile.status-off { border-left-color: #c62828; }
.qakit-tile .tile-title { font-weight: 600; color: #333; }
.qakit-tile .tile-value { font-size: 2.1em; font-weight: 700; margin: 2px 0; }
.qakit-tile .tile-unit { font-size: 0.45em; font-weight: 400; color: #555; margin-left: 3px; }
.qakit-tile .tile-ci, .qakit-tile .tile-target { color: #555; font-size: 0.88em; }
.qakit-tile .tile-change { font-size: 0.92em; margin: 3px 0; }
.qakit-tile .tile-change.credible { font-weight: 700; }
.qakit-tile .tile-status { display: inline-block; margin-top: 4px; padding: 1px 8px; border-radius: 10px; color: #fff;
                           font-size: 0.85em; background: #616161; }
.qakit-tile.status-on .tile-status { background: #2e7d32; } .qakit-tile.status-risk .tile-status { background: #b26a00; }
.qakit-tile.status-off .tile-status { background: #c62828; }
.qakit-tuned { background: #c62828; color: #fff; font-size: 1.35em; font-weight: 700; padding: 10px 14px;
               border-radius: 6px; margin: 0.3em 0 0.5em 0; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.qakit-note { background: #fff8e1; border: 1px solid #ffe082; border-radius: 4px; padding: 6px 10px; margin: 0.5em 0; }
.qakit-verdict { font-size: 1.1em; font-weight: 600; margin: 0.4em 0; }
.qakit-caption { color: #555; margin: 0.2em 0; }
table.qakit-table { border-collapse: collapse; margin: 0.3em 0 1em 0; max-width: 100%; }
table.qakit-table th { text-align: right; border-bottom: 1px solid #999; padding: 3px 10px; vertical-align: bottom; }
table.qakit-table td { padding: 2px 10px; text-align: right; white-space: nowrap; vertical-align: top; }
/* numbers right-aligned on one line; words left-aligned, wrapping when the page is narrow */
table.qakit-table th.txt, table.qakit-table td.txt { text-align: left; }
table.qakit-table td.txt { white-space: normal; overflow-wrap: break-word; }
table.qakit-table th:first-child, table.qakit-table td:first-child { text-align: left; }
table.qakit-wrap td { white-space: normal; min-width: 4em; }  /* tables of reasons: long text wraps */
table, tr, img, .qakit-tile { break-inside: avoid; page-break-inside: avoid; }
thead { display: table-header-group; }
h2 { break-after: avoid; page-break-after: avoid; }
.jp-MarkdownCell { break-after: avoid; page-break-after: avoid; }
@media print {
  body { font-size: 11px; }
  .jp-OutputArea-output, .jp-RenderedHTMLCommon { overflow: visible !important; }
  table.qakit-table { font-size: 8.5px; }
  table.qakit-table th, table.qakit-table td { padding: 1px 5px; }
  table.qakit-table td { white-space: normal; }  /* long reasons wrap instead of running off the page */
  .qakit-caption { break-after: avoid; page-break-after: avoid; }
  .jp-Cell, .jp-OutputArea-output { break-inside: avoid-page; }
  /* page 1 holds the title, the two sentences and every tile: four compact tiles a row */
  .qakit-title { font-size: 1.6em; }
  .qakit-summary { font-size: 1.05em; line-height: 1.4; margin: 0.3em 0 0.6em 0; }
  .qakit-tiles { grid-template-columns: repeat(4, 1fr); gap: 6px; margin: 0.3em 0 0.5em 0; }
  .qakit-tile { padding: 5px 7px; border-left-width: 5px; font-size: 0.92em; }
  .qakit-tile .tile-value { font-size: 1.7em; margin: 0; }
  .qakit-tile .tile-change { margin: 1px 0; }
  .qakit-tile .tile-status { margin-top: 2px; }
  @page { size: A4; margin: 12mm; }
}
</style>
"""


class HTML:
    """An HTML snippet Jupyter shows as HTML; ``text/plain`` is its text without markup."""

    def __init__(self, markup: str, text: str):
        self.markup, self.text = markup, text

    def _repr_html_(self) -> str:
        return self.markup

    def __repr__(self) -> str:
        return self.text


def quiet(fn: Callable[..., Any], *a: Any, **kw: Any) -> Any:
    """``fn(*a, **kw)`` with :class:`~qakit.errors.SmallSampleWarning` and
    :class:`~qakit.errors.UndefinedMetricWarning` silenced: a report shows a small group by its
    ``small_sample`` column and an undefined value as "no data", not as warnings on stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return fn(*a, **kw)


#: the length of a trend period, to pad a time axis by half a period on each side
PERIOD_DAYS = {"D": 1, "W": 7, "M": 30.4, "Q": 91.3}


def span_dates(ax: Any, dates: Any, period: str = "W") -> None:
    """Fit a time axis to the data: from the first to the last period shown, padded by half a period
    (one point is not drawn in the middle of four empty years), with concise date labels."""
    d = pd.to_datetime(pd.Series(list(dates)), utc=False).dropna()
    if d.empty:
        return
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_localize(None)
    pad = pd.Timedelta(days=PERIOD_DAYS.get(period, 7) * 0.6)
    ax.set_xlim(d.min() - pad, d.max() + pad)
    loc = mdates.AutoDateLocator(minticks=2, maxticks=8)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))


def skipped(reason: str) -> HTML:
    """Deprecated: a section the data cannot support shows nothing and is named in the report's
    "left out" list (:mod:`qakit.report.support`). Kept for other notebooks: the reason as a caption."""
    return note(reason)


def note(text: str) -> HTML:
    """A result a section states instead of a table (e.g. no agent is credibly below the team): one
    grey line, never a warning box."""
    return HTML(f'<p class="qakit-caption">{html.escape(text)}</p>', text)
