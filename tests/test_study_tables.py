"""The study notebooks (IQS-CSAT study, coaching, calibration) show their tables as the report does
(issue 27): human headers, no index column, p-values as '< 0.001' or three decimals, yes/no for
flags. Read from the committed, executed notebooks (nbval re-runs them and compares)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from scipy import stats

from qakit import datasets

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ("iqs_csat_study", "coaching", "calibration")


def html_outputs(name: str) -> list[str]:
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    return [o["data"]["text/html"] for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if "text/html" in o.get("data", {})]


@pytest.mark.parametrize("name", STUDIES)
def test_study_tables_are_styled_like_the_report(name):
    tables = [h for h in html_outputs(name) if "<table" in h]
    assert tables, f"{name}: no table output (was the notebook executed?)"
    for h in tables:
        assert 'class="qakit-table"' in h and 'class="dataframe' not in h  # the report's Table, not a raw frame
        assert "<th></th>" not in h and "<tbody>\n    <tr>\n      <th>" not in h  # no index column
        cells = re.findall(r"<t[dh][^>]*>([^<]*)</t[dh]>", h)
        assert not {"False", "True", "p_value", "ci_low", "ci_high", "small_sample"} & set(cells)
        head = re.findall(r"<th[^>]*>([^<]*)</th>", h)
        rows = [re.findall(r"<td[^>]*>([^<]*)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", h) if "<td" in r]
        for k, col in enumerate(head):
            if col in ("p", "p (adjusted)"):  # never 0.0: a tiny p reads "< 0.001"
                assert not [r[k] for r in rows if re.fullmatch(r"0\.0+", r[k])], (name, col)


def test_study_pearson_r_is_scipys():
    """The conversation-level Pearson r the study shows: mean review IQS per conversation against the
    mean CSAT answer of that conversation, scipy.stats.pearsonr with its Fisher-z interval."""
    ratings, surveys, card = (datasets.load_sample("ratings"), datasets.load_sample("surveys"),
                              datasets.load_sample_scorecard())
    iqs = card.score(ratings).groupby("conversation_id")["iqs"].mean()
    csat = surveys[surveys["kind"].eq("csat")].dropna(subset=["score"]).groupby("conversation_id")["score"].mean()
    j = pd.concat([iqs, csat], axis=1, join="inner").dropna()
    res = stats.pearsonr(j.iloc[:, 0], j.iloc[:, 1])
    ci = res.confidence_interval(0.95)
    first = [h for h in html_outputs("iqs_csat_study") if "<table" in h][0]
    row = re.search(r"<tr><td[^>]*>conversation</td><td[^>]*>Pearson</td>(.*?)</tr>", first).group(1)
    cells = re.findall(r">([^<]*)</td>", row)
    assert cells[:3] == [f"{len(j):,}", f"{res.statistic:.3f}", f"{ci.low:.3f}\u00a0–\u00a0{ci.high:.3f}"]
    assert cells[3] == "&lt; 0.001"  # "< 0.001", HTML-escaped
