"""The report as a QA lead sees it, in a real browser (Playwright + Debian's /usr/bin/chromium), and
as the PDF they forward. Three report runs in all, shared by every assertion here:

- the full sample, run as ``qakit report`` from another working folder with a *relative* dataset
  path, ``--pdf``, for 1-28 Oct 2026 (so changes against 3-30 Sep are shown);
- a ratings-only folder and a conversations + surveys folder (papermill, in-process); the
  ratings-only one with a tuned card (the explorer's "(TUNED ..." name), a rolling window
  (``last_days`` 28) and ``engine`` duckdb, so the red TUNED banner, the rolling comparison and
  the DuckDB path are seen in a browser and in the PDF.

Screenshots of each section (1400 px) and of the whole page (1024 px), and PNGs of the PDF pages,
are saved under ``reports/screenshots/`` (git-ignored) for people to look at.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import closing
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from qakit import datasets
from qakit.registry import internal_names
from qakit.report.run import run_report

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "reports" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: raw column names that must never be a visible header (the registry's internal names and the
#: statistics columns every qakit table has)
RAW = internal_names() | {"ci_low", "ci_high", "n_excluded", "small_sample", "goal_met", "higher_is_better", "p_value",
                          "iqs_shrunk", "rank_shrunk", "category_score", "agent_id", "met_pct", "target_h"}

pytestmark = [pytest.mark.browser, pytest.mark.slow]
#: the optional tables of the sample (qakit.report.operations): calls, customers, disputes, messages, ...
OPTIONAL = ("calls.parquet", "customers.parquet", "disputes.parquet", "messages.parquet", "calibration.parquet",
            "staffing.parquet", "coaching.parquet")


def _need_chromium():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("CI=true but no chromium on PATH: .ci/run must install it (apt-get install chromium)")
        pytest.skip("chromium not installed (and CI is not set)")


@pytest.fixture(scope="module")
def browser(partial):
    """One headless Chromium for this module's browser tests (Playwright's driver and the browser
    start once, not once per test); each test opens and closes its own pages. Started after the
    in-process report runs (``partial``): their kernels' event loop never meets Playwright's."""
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """`qakit report -p dataset some/relative/folder --pdf` run from a folder that is not the repo."""
    _need_chromium()
    cwd = tmp_path_factory.mktemp("elsewhere")
    folder = cwd / "some" / "relative" / "folder"
    folder.mkdir(parents=True)
    for f in ("ratings.parquet", "conversations.parquet", "surveys.parquet", "scorecard.yaml", *OPTIONAL):
        shutil.copy(datasets.sample_data_dir() / f, folder / f)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "qakit.cli", "report", "-p", "dataset", "some/relative/folder",
                           "-p", "start", "2026-10-01", "-p", "end", "2026-10-28", "--output", "out", "--no-progress",
                           "--pdf"], cwd=cwd, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {"out": cwd / "out", "html": cwd / "out" / "qa-report.html", "pdf": cwd / "out" / "qa-report.pdf",
            "stdout": proc.stdout, "elapsed": elapsed}


def test_relative_dataset_from_another_folder_and_csv_tables(full):
    """The relative dataset resolved against the caller's folder (the run succeeded and the title
    names the folder); the full tables are written next to the report as CSV: agents.csv has one row
    per agent reviewed 1-28 Oct (plain pandas count)."""
    text = full["html"].read_text(encoding="utf-8")
    assert "QA and KPI report: folder, 1 Oct 2026 – 28 Oct 2026" in text
    r = datasets.load_sample("ratings")
    r = r[(r["reviewed_at"] >= pd.Timestamp("2026-10-01", tz="UTC")) & (r["reviewed_at"] < pd.Timestamp("2026-10-29", tz="UTC"))]
    agents = pd.read_csv(full["out"] / "qa-report-tables" / "agents.csv")
    assert len(agents) == r["agent_id"].nunique()
    assert {"kpis.csv", "categories.csv", "coaching_focus.csv", "sla.csv"} <= {p.name for p in (full["out"] / "qa-report-tables").iterdir()}
    assert f"pdf written: {full['pdf']}" in full["stdout"].replace(str(full["out"].resolve()), str(full["out"]))


class _Tables(HTMLParser):
    """Header cells and body rows of every table in an HTML document."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell, self._in = [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"head": [], "rows": []})
        elif tag == "thead":
            self._in = "head"
        elif tag == "tbody":
            self._in = "body"
        elif tag == "tr" and self._in == "body" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("th", "td"):
            self._cell = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._cell is not None and self.tables:
            cell = " ".join(self._cell.split())
            if self._in == "head":
                self.tables[-1]["head"].append(cell)
            elif self.tables[-1]["rows"]:
                self.tables[-1]["rows"][-1].append(cell)
            self._cell = None


def test_report_in_a_browser_at_1400_and_1024(full, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with closing(browser.new_page(viewport={"width": 1400, "height": 900})) as page:
        page.goto(full["html"].resolve().as_uri())
        assert "1 Oct 2026 – 28 Oct 2026" in page.title() and "folder" in page.title()
        tiles = page.locator(".qakit-tile")
        assert tiles.count() == 8  # the 6 core ones + service level (calls) and AQS (messages)
        classes = [tiles.nth(i).get_attribute("class") for i in range(tiles.count())]
        assert all(re.search(r"\bstatus-(on|risk|off|none)\b", c) for c in classes), classes
        assert page.locator('.qakit-tile[data-metric="iqs"]').get_attribute("class") == "qakit-tile status-off"
        headers = [h.strip() for h in page.locator("th").all_inner_texts()]
        assert headers and not set(headers) & RAW, sorted(set(headers) & RAW)
        assert "" not in headers  # an index column would have an empty header cell
        assert page.locator("tbody th").count() == 0  # nor row headers
        imgs = page.locator('img[src^="data:image/png;base64,"]')
        assert imgs.count() >= 5
        widths = [imgs.nth(i).bounding_box()["width"] for i in range(imgs.count())]
        assert max(widths) > 1000  # figures use the page's width
        body = page.locator("body").inner_text()
        assert "Warning" not in body and "Traceback" not in body
        assert "IQS tracks CSAT" in body
        # a screenshot of each section: from its heading to the next one
        page.screenshot(path=str(SHOTS / "report-1400-full.png"), full_page=True)
        tops = page.evaluate("() => [...document.querySelectorAll('h1, h2')].map(h => [h.innerText, h.getBoundingClientRect().top + window.scrollY])")
        height = page.evaluate("() => document.documentElement.scrollHeight")
        for i, (name, top) in enumerate(tops):
            bottom = tops[i + 1][1] if i + 1 < len(tops) else height
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
            page.screenshot(path=str(SHOTS / f"report-1400-{i:02d}-{slug}.png"), full_page=True,
                            clip={"x": 0, "y": top - 10, "width": 1400, "height": max(50, bottom - top)})
        narrow = browser.new_page(viewport={"width": 1024, "height": 900})
        narrow.goto(full["html"].resolve().as_uri())
        narrow.screenshot(path=str(SHOTS / "report-1024-full.png"), full_page=True)
        overflow = narrow.evaluate("() => document.documentElement.scrollWidth")
        narrow.close()
    assert overflow <= 1024 + 1  # nothing forces a horizontal scroll at 1024 px
    assert len(list(SHOTS.glob("report-1400-*.png"))) >= 8


def test_optional_sections_are_shown_without_any_conversation_text(full):
    """With calls, customers, disputes and messages in the folder the report has their sections
    (figures included) and nothing left out; no sentence of the messages reaches the HTML (privacy)."""
    from qakit.synth import MESSAGE_TEMPLATES

    text = full["html"].read_text(encoding="utf-8")
    for heading in ("Calls", "QA process: coverage, disputes and reviewers", "Automatic scoring (AQS, kept apart from IQS)"):
        assert f">{heading}<" in text or f">{heading}" in text, heading
    assert "Sections left out" not in text
    for phrase in ("calls offered", "reviews were disputed", "conversations have text", "Found in (% of conversations)",
                   "from the customers table"):
        assert phrase in text, phrase
    assert text.count("data:image/png;base64") >= 11  # the core figures + calls, coverage, reviewers, AQS per agent
    fragments = [part.strip() for slot in MESSAGE_TEMPLATES.values() for lang in slot.values() for s, _ in lang
                 for part in s.split("{n}") if len(part.strip()) > 12]
    assert not [f for f in fragments if f in text]
    tables = {p.name for p in (full["out"] / "qa-report-tables").iterdir()}
    assert {"calls.csv", "review_coverage.csv", "reviewer_strictness.csv", "disputes_by_reviewer.csv",
            "aqs_vs_iqs.csv"} <= tables


def test_pdf_is_a4_and_no_table_is_cut(full):
    """Every short table of the report (it fits on one page) has its header, first and last rows
    on one PDF page; long ones repeat their header on each page they span. Page PNGs are saved."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(full["pdf"]))
    pages = []
    SHOTS.mkdir(parents=True, exist_ok=True)
    for i in range(len(pdf)):
        page = pdf[i]
        w, h = page.get_size()
        assert (round(w), round(h)) == (595, 842)  # A4 in points
        pages.append(" ".join(page.get_textpage().get_text_range().split()))
        page.render(scale=1.3).to_pil().save(SHOTS / f"pdf-page-{i + 1:02d}.png")
    parser = _Tables()
    parser.feed(full["html"].read_text(encoding="utf-8"))
    tables = [t for t in parser.tables if t["rows"]]
    assert len(tables) >= 8

    def on(page, cells):
        return all(c in page for c in cells if c)

    def in_order(page, cells):
        return " ".join(c for c in cells if c) in page

    for t in tables:
        head, first, last = t["head"], t["rows"][0], t["rows"][-1]
        if len(t["rows"]) <= 25:
            assert any(on(p, head) and on(p, first) and on(p, last) for p in pages), (head, first, last)
        else:
            # the row's cells in order (short numeric cells alone are found on many pages); cell by cell
            # when a wrapped cell breaks the order
            spanning = ([p for p in pages if in_order(p, first) or in_order(p, last)]
                        or [p for p in pages if on(p, first) or on(p, last)])
            assert spanning and all(on(p, head) for p in spanning), head


# --- at a glance (issue 27): page 1 of the PDF, one unit per quantity, changes with units, readable CSVs --
def _norm(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").split())


def _tile_texts(html_text: str) -> list[dict]:
    """Each headline tile's title, value, target line and status, read from the HTML."""
    tiles = []
    for m in re.finditer(r'<div class="qakit-tile [^"]*" data-metric="(\w+)">(.*?)<div class="tile-status">([^<]*)</div>',
                         html_text, re.S):
        body = m.group(2)
        field = {k: _norm(re.sub(r"<[^>]+>", " ", v)) for k, v in re.findall(
            r'<div class="tile-(title|value|target)">(.*?)</div>', body, re.S)}
        tiles.append({"metric": m.group(1), **field, "status": m.group(3)})
    return tiles


def test_pdf_page_one_has_the_title_the_sentences_and_every_tile_whole(full):
    """pypdfium2 reads page 1 of the A4 PDF: the title, both summary sentences, and for every tile of
    the HTML (8 on the full sample) its title, value, target line and status. Each tile lies wholly
    on page 1, so none is cut across pages."""
    import pypdfium2 as pdfium

    html_text = full["html"].read_text(encoding="utf-8")
    tiles = _tile_texts(html_text)
    assert len(tiles) == 8
    page1 = _norm(pdfium.PdfDocument(str(full["pdf"]))[0].get_textpage().get_text_range())
    assert "QA and KPI report: folder, 1 Oct 2026 – 28 Oct 2026" in page1
    summary = _norm(html.unescape(re.search(r'<p class="qakit-summary">(.*?)</p>', html_text, re.S).group(1)))
    assert summary.startswith("Against the previous period,") and "Off target:" in summary
    assert summary in page1
    for t in tiles:
        for part in ("title", "value", "target", "status"):
            assert t[part] in page1, (t["metric"], part, t[part])


def test_one_unit_per_time_and_changes_with_their_unit(full):
    """Times: resolution time in hours wherever the report shows it (its email median is 25.8 h, not
    1,546 min), first response time in minutes everywhere (tile, KPI table, channel table); the unit
    in every header. The email row's medians and 90th percentiles, recomputed here with pandas from
    the sample's conversations created 1-28 Oct (resolved_at - created_at, 0 to 90 days, open ones
    left out), are what the channel table shows. Every tile's change states its unit."""
    html_text = full["html"].read_text(encoding="utf-8")
    parser = _Tables()
    parser.feed(html_text)
    c = datasets.load_sample("conversations")
    c = c[(c["created_at"] >= pd.Timestamp("2026-10-01", tz="UTC")) & (c["created_at"] < pd.Timestamp("2026-10-29", tz="UTC"))]
    email = c[c["channel"] == "email"]

    def hours(end):
        h = (email[end] - email["created_at"]).dt.total_seconds() / 3600
        return h[(h >= 0) & (h <= 90 * 24)].dropna()

    res, frt = hours("resolved_at"), hours("first_response_at")
    times = [t for t in parser.tables if "Channel" in t["head"]][0]
    head = times["head"]
    row = dict(zip(head, [r for r in times["rows"] if r[0] == "email"][0]))
    assert "Resolution time (h)" in head and "Resolution time, 90th percentile (h)" in head
    assert "First response time (min)" in head and "First response time, 90th percentile (min)" in head
    assert row["Resolution time (h)"] == f"{res.median():.1f}" == "25.8"
    assert row["Resolution time, 90th percentile (h)"] == f"{res.quantile(0.9):,.1f}"
    assert row["First response time (min)"] == f"{60 * frt.median():,.1f}"
    kpis = [t for t in parser.tables if t["head"][:2] == ["KPI", "Value"]][0]
    values = {r[0]: r[1] for r in kpis["rows"]}
    assert values["Resolution time"].endswith(" h") and values["First response time"].endswith(" min")
    assert not re.search(r"[\d,]{5,}\.\d min", _norm(re.sub(r"<[^>]+>", " ", html_text)))  # no 1,546.1 min anywhere
    frt_tile = [t for t in _tile_texts(html_text) if t["metric"] == "first_response_time"][0]
    assert frt_tile["value"].endswith("min") and "target ≤ 60 min" in frt_tile["target"]
    changes = re.findall(r'<div class="tile-change[^"]*">([^<]*)</div>', html_text)
    assert len(changes) == 8
    for ch in changes:
        assert re.match(r"^[▲▼=] [+−]?[\d.,]+ (points|min|h) vs previous \(", ch), ch


def test_tables_fit_a_1024_px_screen(full, browser):
    """At 1024 px every table of the report lies within the window (long reasons and ids wrap), the
    page does not scroll sideways; the data-quality table shows its n and example ids columns."""
    with closing(browser.new_page(viewport={"width": 1024, "height": 900})) as page:
        page.goto(full["html"].resolve().as_uri())
        over = page.evaluate("""() => [...document.querySelectorAll('table')].map(t => {
            const r = t.getBoundingClientRect(); return [t.querySelector('th') ? t.querySelector('th').innerText : '', r.right]; })
            .filter(([h, right]) => right > window.innerWidth + 1)""")
        dq = page.locator("table", has=page.locator("th", has_text="Example ids")).first
        dq.scroll_into_view_if_needed()
        box = dq.bounding_box()
        top = box["y"] + page.evaluate("() => window.scrollY")  # the clip is in page coordinates
        page.screenshot(path=str(SHOTS / "report-1024-data-quality.png"), clip={"x": 0, "y": top - 60,
                        "width": 1024, "height": min(900, box["height"] + 80)}, full_page=True)
        width = page.evaluate("() => document.documentElement.scrollWidth")
    assert over == [], over
    assert box["x"] + box["width"] <= 1024 and width <= 1025


def test_csv_tables_are_readable_and_the_raw_numbers_are_kept_apart(full):
    """agents.csv as people read it: the page's headers, IQS to one decimal, the interval in two
    columns, ranks as whole numbers, the verdict in words; raw/agents.csv unrounded with the result's
    column names. Its IQS per agent equals the mean review score computed here with Scorecard.score
    for 1-28 Oct; the readable one is that rounded."""
    folder = full["out"] / "qa-report-tables"
    shown = pd.read_csv(folder / "agents.csv", dtype={"Agent": str})
    raw = pd.read_csv(folder / "raw" / "agents.csv", dtype={"agent_id": str})
    assert {"Agent", "n", "IQS (%)", "95 % CI low", "95 % CI high", "Rank (shrunk)", "Verdict"} <= set(shown.columns)
    assert not set(shown.columns) & RAW
    assert {"agent_id", "iqs", "ci_low", "ci_high", "rank_shrunk"} <= set(raw.columns)
    r = datasets.load_sample("ratings")
    r = r[(r["reviewed_at"] >= pd.Timestamp("2026-10-01", tz="UTC")) & (r["reviewed_at"] < pd.Timestamp("2026-10-29", tz="UTC"))]
    truth = datasets.load_sample_scorecard().score(r).groupby("agent_id")["iqs"].mean()
    got = raw.set_index("agent_id")["iqs"]
    assert got.to_dict() == pytest.approx(truth.to_dict(), abs=1e-9)
    assert shown.set_index("Agent")["IQS (%)"].to_dict() == pytest.approx(truth.round(1).to_dict(), abs=1e-9)
    assert shown["Rank (shrunk)"].dtype.kind == "i" and set(shown["Verdict"]) <= {"above pass line", "below pass line",
                                                                                   "inconclusive"}
    for f in folder.glob("*.csv"):  # every readable table: human headers, at most three decimals
        t = pd.read_csv(f)
        assert not set(t.columns) & RAW, (f.name, set(t.columns) & RAW)
        for col in t.select_dtypes("float").columns:
            assert (t[col].dropna() - t[col].dropna().round(3)).abs().max() < 1e-9, (f.name, col)
        assert (folder / "raw" / f.name).is_file()


@pytest.fixture(scope="module")
def partial(tmp_path_factory):
    root = tmp_path_factory.mktemp("partial")
    src = datasets.sample_data_dir()
    out = {}
    params = {"ratings_only": {"last_days": 28, "engine": "duckdb"},
              "kpi_only": {"start": "2026-10-01", "end": "2026-10-28"}}
    for name, files in (("ratings_only", ("ratings.parquet", "scorecard.yaml")),
                        ("kpi_only", ("conversations.parquet", "surveys.parquet"))):
        (root / name).mkdir()
        for f in files:
            shutil.copy(src / f, root / name / f)
        if name == "ratings_only":  # a card as the explorer saves it: TUNED name, the label as version,
            # based_on the baseline version whose reviews it scores (qakit.widgets.tuned_card)
            card = (src / "scorecard.yaml").read_text(encoding="utf-8")
            assert "name: Sample support scorecard\nversion: \"2026.1\"\n" in card
            (root / name / "scorecard.yaml").write_text(card.replace(
                "name: Sample support scorecard\nversion: \"2026.1\"\n",
                "name: Sample support scorecard (TUNED 2026.1-tuned-2026-11-27, not the production card)\n"
                "version: \"2026.1-tuned-2026-11-27\"\nbased_on: \"2026.1\"\n"), encoding="utf-8")
        res = run_report({"dataset": str(root / name), **params[name]},
                         output_dir=root / "out", name=name, progress=False, timeout=300)
        out[name] = res.html.read_text(encoding="utf-8")
        out[f"{name}_path"] = res.html
    return out


@pytest.fixture(scope="module")
def tuned(partial):
    """The ratings-only report: the explorer's tuned-card name, a rolling 28-day window and DuckDB."""
    _need_chromium()
    return partial["ratings_only_path"]


def test_tuned_card_shows_a_red_banner_in_the_browser_and_the_pdf(tuned, browser):
    """The banner is the first thing on the page (red, white bold text), the browser tab says TUNED,
    the sub-title names the card and its version, the rolling window is compared with the 28 days
    before (4 Sep - 1 Oct: the sample's last review is on 29 Oct), and the PDF's first page carries the
    banner too. Screenshots: reports/screenshots/report-tuned-1400-top.png, pdf-tuned-page-01.png."""
    import pypdfium2 as pdfium

    from qakit.report.pdf import html_to_pdf

    banner = "TUNED card 2026.1-tuned-2026-11-27, based on 2026.1: not the production card"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with closing(browser.new_page(viewport={"width": 1400, "height": 900})) as page:
        page.goto(tuned.resolve().as_uri())
        assert page.title().startswith("[TUNED card] QA and KPI report:")
        b = page.locator(".qakit-tuned")
        assert b.count() == 1 and b.inner_text().strip() == banner
        colour = page.evaluate("() => getComputedStyle(document.querySelector('.qakit-tuned')).backgroundColor")
        assert colour == "rgb(198, 40, 40)"
        box, h1 = b.bounding_box(), page.locator("h1.qakit-title").bounding_box()
        assert box["y"] < h1["y"] and box["width"] > 1000  # above the title, across the page
        sub = page.locator(".qakit-sub").inner_text()
        assert "Scorecard: Sample support scorecard, version 2026.1-tuned-2026-11-27." in sub
        assert "Changes compare the last 28 days with the previous period of equal length, 4 Sep 2026 – 1 Oct 2026." in sub
        assert "Computed with duckdb." in sub
        assert "How computed: engine duckdb; review scores: DuckDB on the period's ratings" in page.locator("body").inner_text()
        page.screenshot(path=str(SHOTS / "report-tuned-1400-top.png"), clip={"x": 0, "y": 0, "width": 1400, "height": 500})
    pdf = pdfium.PdfDocument(str(html_to_pdf(tuned)))
    first = " ".join(pdf[0].get_textpage().get_text_range().split())
    pdf[0].render(scale=1.3).to_pil().save(SHOTS / "pdf-tuned-page-01.png")
    assert banner in first


def test_ratings_only_report_has_the_qa_sections_and_says_what_it_left_out(partial):
    """Ratings only, a rolling 28-day window on DuckDB: the QA tiles with changes against the 28 days before."""
    text = partial["ratings_only"]
    assert "QA and KPI report: ratings_only, 2 Oct 2026 – 29 Oct 2026" in text.split("</h1>")[0]  # last review: 29 Oct
    assert "vs previous" in text and "no previous period" not in text
    assert re.findall(r'data-metric="(\w+)"', text) == ["iqs", "pass_rate"]
    assert "Sections left out" in text and "no conversations: response and resolution times" in text
    assert "<h2>Customer KPIs</h2>" not in text and text.count("Customer KPIs") == 1  # in the left-out list only
    boxes = [re.sub(r"<[^>]+>", " ", b) for b in re.findall(r'class="qakit-note(?! qakit-left-out)[^"]*">(.*?)</p>',
                                                            text, re.S)]
    assert not [b for b in boxes if re.search(r"left out|no \w+ table|needs ", b, re.I)]  # no box in a section's place
    for line in ("no calls: service level", "no disputes: dispute rates", "no messages: automatic scoring"):
        assert line in text, line  # the optional sections said once each in the left-out list
    assert text.count("data:image/png;base64") >= 4  # forest, categories, grid, trend
    assert "Warning" not in re.sub(r"<[^>]+>", " ", text)


def test_kpi_only_report_has_the_customer_sections(partial):
    text = partial["kpi_only"]
    assert re.findall(r'data-metric="(\w+)"', text) == ["csat", "nps", "first_response_time", "sla_high"]
    assert "no reviews: IQS, pass rate, categories, agents" in text
    assert "<h2>Agents</h2>" not in text and "(sections left out: Agents, Categories" in text
    assert "SLA met (%)" in text and "Warning" not in re.sub(r"<[^>]+>", " ", text)
