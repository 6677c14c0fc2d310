"""Every preset reaches a rendered report through the two documented lines (issue 24):

    qakit.read_export("<export>", preset="<preset>").write("data/")
    qakit report -p dataset data/

run as a user would -- from the folder holding the export, with a relative ``data/`` -- on a
realistic fixture written from the vendor's published format. Each dataset holds what its export
gives and nothing else (calls only, daily aggregates only, reviews without CSAT, conversations only,
surveys without dates), so each report shows what the data supports, names every other section once
in its left-out list, and draws no empty box.

The headline numbers asserted are worked out from the export files themselves (by hand in the
docstrings, or with plain pandas on the file), never from qakit's output. The report runs are slow
(papermill: a kernel per report), so they run once, in one module fixture. The first case runs the
second line literally (``qakit report`` in a new process, from the case's folder); the others call
what that command calls, :func:`qakit.report.run.run_report`, in this process (the same notebook,
parameters and kernel; the command's start-up -- ~3 s of CPU importing papermill, nbconvert and
qakit -- paid once, not nine times; the command's own behaviour, relative folders included, is
tested in ``test_cli.py`` and ``test_report_browser.py``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import qakit
from qakit.errors import QakitError
from qakit.report.run import run_report

pytestmark = pytest.mark.slow

FIX = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[1]

#: per report: the exports (file, preset, options) the user writes into one folder
CASES: dict[str, list[tuple[str, str, dict]]] = {
    # a QA tool and its helpdesk in one folder (the ratings' conversations are the helpdesk's tickets)
    "zendesk_qa": [("zendesk_qa_mid_period_edit.json", "zendesk_qa", {}),
                   ("zendesk_support_qa_tickets.json", "zendesk_support", {})],
    "maestroqa": [("maestroqa_team", "maestroqa", {})],  # reviews only, no CSAT
    "freshdesk": [("freshdesk_tickets.csv", "freshdesk", {}),  # surveys without dates
                  ("crm_customers.csv", "generic", {"table": "customers", "mapping": {
                      "Contact ID": "customer_id", "Lifetime value (EUR)": "customer_value", "Segment": "segment"}})],
    "intercom": [("intercom_conversations.json", "intercom", {})],
    "call_log": [("five9_call_log.csv", "call_log", {})],
    "call_centre_daily": [("call_center_daily_index.csv", "call_centre_daily", {"start": "2026-11-02"})],
    "event_log": [("zendesk_ticket_audits.json", "event_log", {})],
    "incident": [("servicenow_incident_event_log.csv", "incident", {})],
    "queue_log": [("queue_log", "queue_log", {})],
}


def _write(case: str, root: Path) -> Path:
    """The user's first line(s) for one case, into ``<case>/data/`` (in this process: qakit is imported
    once for every case, not once per case)."""
    folder = root / case
    folder.mkdir()
    for name, preset, opts in CASES[case]:
        qakit.read_export(FIX / name, preset=preset, **opts).write(folder / "data")
    return folder


def _report_run(case: str, folder: Path, *, command: bool) -> dict:
    """The second line. ``command``: as a user runs it, ``qakit report -p dataset data/`` from the
    case's folder; else what the command runs, :func:`run_report` on the folder's ``data/``, here."""
    html = folder / "out" / f"{case}.html"
    if command:
        env = {**os.environ, "MPLBACKEND": "Agg"}
        run = subprocess.run([sys.executable, "-m", "qakit.cli", "report", "-p", "dataset", "data/", "--no-progress",
                              "-o", "out", "--name", case], cwd=folder, capture_output=True, text=True, env=env,
                             timeout=600)
        rc, stderr = run.returncode, run.stderr
    else:
        try:
            run_report({"dataset": str(folder / "data")}, output_dir=folder / "out", name=case, progress=False,
                       timeout=600)
            rc, stderr = 0, ""
        except QakitError as e:  # (what the command prints, and its exit code)
            rc, stderr = 1, str(e)
    return {"rc": rc, "stderr": stderr, "html": html.read_text(encoding="utf-8") if html.exists() else "",
            "path": html, "folder": folder}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("presets")
    folders = {case: _write(case, root) for case in CASES}
    return {case: _report_run(case, folders[case], command=i == 0) for i, case in enumerate(CASES)}


def _report(reports, case: str) -> str:
    r = reports[case]
    assert r["rc"] == 0, f"{case}: {r['stderr'][-2000:]}"
    html = r["html"]
    text = re.sub(r"<[^>]+>", " ", html)
    assert "Traceback" not in text and "Warning" not in text, case
    boxes = [re.sub(r"<[^>]+>", " ", b) for b in re.findall(r'class="qakit-note(?! qakit-left-out)[^"]*">(.*?)</p>',
                                                            html, re.S)]
    empty = [b for b in boxes if re.search(r"left out|no \w+ table|needs ", b, re.I)]
    assert not empty, f"{case}: a box saying what is missing, besides the left-out list: {empty}"
    return html


def tiles(html: str) -> dict[str, tuple[float, str, str]]:
    """``metric -> (value, unit, the tile's text)`` of every headline tile."""
    out = {}
    for m in re.finditer(r'data-metric="(\w+)".*?tile-value">([^<]*)<span class="tile-unit">([^<]*)</span>'
                         r'.*?tile-ci">([^<]*)<', html, re.S):
        value = float(m.group(2).replace(",", "")) if m.group(2).strip() not in ("", "–", "no data") else float("nan")
        out[m.group(1)] = (value, m.group(3).strip(), m.group(4))
    return out


def headings(html: str) -> list[str]:
    return re.findall(r"<h2[^>]*>([^<]+)</h2>", html)


def left_out(html: str) -> str:
    m = re.search(r'class="qakit-note qakit-left-out">(.*?)</div>', html, re.S)
    return re.sub(r"<[^>]+>", " ", m.group(1)) if m else ""


def _hms(t: str) -> float:
    h, m, s = (float(x) for x in t.split(":"))
    return h * 3600 + m * 60 + s


def test_zendesk_qa_with_its_helpdesk(reports):
    """The card was edited mid-period: scorecard.yaml holds two versions and each review is scored
    with its own (R1, R2 = 75; R3, R4 = (100 + 2*50)/3 and (0 + 2*100)/3 = 66.667; R6 = 100 with
    Solution N/A); R5 (a Tone of 150 %) is left out by the reader and itemised in the report. IQS =
    (75 + 75 + 66.667 + 66.667 + 100) / 5 = 76.67. CSAT from the tickets: good, bad, good, (offered),
    good = 3 of 4 = 75 %."""
    html = _report(reports, "zendesk_qa")
    t = tiles(html)
    assert t["iqs"][0] == pytest.approx(76.7) and t["csat"][0] == pytest.approx(75.0)
    assert "2 versions (Support (from 2026-11-02), Support (from 2026-11-10))" in html
    assert "R5 &#x27;Tone&#x27; 150 of 0..100" in html or "R5 'Tone' 150 of 0..100" in html
    assert {"Agents", "Categories", "Trends", "Customer KPIs", "Does IQS track CSAT?"} <= set(headings(html))


def test_maestroqa_reviews_without_csat(reports):
    """The report's IQS is the mean of MaestroQA's own total_score over the graded answers (the
    deleted and the calibration answers left out), its pass rate their share at or above 80."""
    html = _report(reports, "maestroqa")
    a = pd.read_csv(FIX / "maestroqa_team" / "answers.csv")
    graded = a[a["answer_type"].eq("grading") & a["is_deleted"].astype(str).str.lower().eq("false")]
    t = tiles(html)
    assert t["iqs"][0] == pytest.approx(round(graded["total_score"].mean(), 1))
    assert t["pass_rate"][0] == pytest.approx(round(100 * (graded["total_score"] >= 80).mean(), 1))
    assert "Does IQS track CSAT?" not in headings(html) and "Customer KPIs" not in headings(html)
    assert "no survey answers" in left_out(html) and left_out(html).count("Does IQS track CSAT?") == 1


def test_freshdesk_surveys_without_dates_and_a_crm_table(reports):
    """Survey results Awesome, Not Good, Extremely happy: 2 of 3 satisfied = 66.7 %. The answers have
    no date: the trend places them by their ticket's creation (said in its legend). The CRM table
    (generic preset, mapping=) gives the customers' value."""
    html = _report(reports, "freshdesk")
    assert tiles(html)["csat"][0] == pytest.approx(66.7)
    assert "undated answers placed by their conversation" not in html or "Trends" in headings(html)
    assert "Customers who cost more than they bring" in headings(html)
    assert "Agents" not in headings(html) and left_out(html).count("Agents") == 1


def test_intercom(reports):
    """CSAT = share of conversation_rating.rating 4-5 among the rated conversations in the API file."""
    html = _report(reports, "intercom")
    convs = json.loads((FIX / "intercom_conversations.json").read_text())
    convs = convs["conversations"] if isinstance(convs, dict) else convs
    ratings = [c["conversation_rating"]["rating"] for c in convs
               if isinstance(c.get("conversation_rating"), dict) and c["conversation_rating"].get("rating") is not None]
    assert tiles(html)["csat"][0] == pytest.approx(round(100 * sum(r >= 4 for r in ratings) / len(ratings), 1))


def test_call_log_only(reports):
    """Service level = calls not abandoned with QUEUE WAIT TIME <= 20 s, over every call in the log."""
    html = _report(reports, "call_log")
    log = pd.read_csv(FIX / "five9_call_log.csv", dtype=str)
    answered = log["ABANDONED"].ne("1")
    within = answered & log["QUEUE WAIT TIME"].map(_hms).le(20)
    assert tiles(html)["service_level"][0] == pytest.approx(round(100 * within.sum() / len(log), 1))
    assert headings(html)[0] == "Calls" and "Average handle time" in html
    assert "Agents" not in headings(html) and "Customer KPIs" not in headings(html)


def test_daily_aggregates_only(reports):
    """The Kaggle layout numbered by day (start=2026-11-02): service level 1032.8275 / 1267 = 81.5 %
    (the file's level is over answered calls; see test_exports_shapes)."""
    html = _report(reports, "call_centre_daily")
    assert tiles(html)["service_level"][0] == pytest.approx(81.5)
    assert "2 Nov 2026 – 8 Nov 2026" in html.split("</h1>")[0]
    assert headings(html)[0] == "Calls" and "Average talk time" in html


def test_ticket_event_log_only(reports):
    """First responses 40, 60 and 75 min (tickets 101-103): median 60 min."""
    html = _report(reports, "event_log")
    value, unit, _ = tiles(html)["first_response_time"]
    assert value * {"min": 1, "h": 60, "s": 1 / 60}[unit] == pytest.approx(60)
    assert "Agents" not in headings(html)


def test_incident_export_only(reports):
    """High-priority SLA (qakit's default targets: critical 1 h, high 4 h): INC0000057 critical,
    27 h; INC0000047 high, 29.3 h: 0 of 2 met."""
    html = _report(reports, "incident")
    value, _, ci = tiles(html)["sla_high"]
    assert value == 0 and "n = 2" in ci


def test_queue_log_calls_only(reports):
    """Asterisk queue_log: within 20 s: calls .11 (12 s) and .21 (5 s) of 6 offered = 33.3 %."""
    html = _report(reports, "queue_log")
    assert tiles(html)["service_level"][0] == pytest.approx(33.3)
    assert "Mean time to abandon" in html and headings(html)[0] == "Calls"
