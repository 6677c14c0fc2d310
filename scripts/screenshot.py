"""Screenshot an HTML file with headless Chromium (Debian's /usr/bin/chromium via Playwright).

    .venv/bin/python scripts/screenshot.py reports/qa-report.html reports/screenshots/report 1400 1024

writes ``<prefix>-<width>.png`` (full page) for each width.
"""

from __future__ import annotations

import sys
from pathlib import Path

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def shoot(html: str | Path, prefix: str | Path, widths=(1400, 1024)) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out = []
    Path(prefix).parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for w in widths:
            page = browser.new_page(viewport={"width": int(w), "height": 900})
            page.goto(Path(html).resolve().as_uri())
            path = Path(f"{prefix}-{w}.png")
            page.screenshot(path=str(path), full_page=True)
            out.append(path)
            page.close()
        browser.close()
    return out


if __name__ == "__main__":
    html, prefix, *widths = sys.argv[1:]
    for p in shoot(html, prefix, [int(w) for w in widths] or (1400, 1024)):
        print(p)
