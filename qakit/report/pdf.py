"""PDF of a static HTML report, printed by headless Chromium (A4; managers forward PDFs).

The report's CSS keeps tables, figures and tiles whole on a page (``break-inside: avoid``) and
repeats table headers (``thead { display: table-header-group }``); Chromium honours both when
printing. Nothing is loaded from the network: the HTML is self-contained.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .._public import public
from ..errors import ParameterError, QakitError

#: Chromium flags for a headless, offline, sandbox-less print (see ../shared/TOOLCHAIN.md)
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw")


class PdfError(QakitError):
    """Printing the report to PDF failed (the HTML report is unaffected)."""


@public
def find_chromium(chromium: str | None = None) -> str:
    """The Chromium executable: ``chromium``, ``$QAKIT_CHROMIUM``, or chromium / chromium-browser /
    google-chrome on PATH."""
    for c in (chromium, os.environ.get("QAKIT_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser",
              "google-chrome"):
        if c and (shutil.which(c) or Path(c).is_file()):
            return shutil.which(c) or c
    raise PdfError("no Chromium found for --pdf: install it (Debian: apt-get install chromium) or set QAKIT_CHROMIUM")


@public
def html_to_pdf(html: str | Path, pdf: str | Path | None = None, *, chromium: str | None = None,
                timeout: int = 120) -> Path:
    """Print ``html`` to ``pdf`` (default: the same name with ``.pdf``) with headless Chromium.

    The PDF is written to a temporary file and moved into place, so a failed print never leaves
    half a PDF. Returns the PDF's path.

    Raises
    ------
    ParameterError
        ``html`` does not exist.
    PdfError
        No Chromium, or Chromium failed or timed out (its last stderr line is in the message).
    """
    src = Path(html).resolve()
    if not src.is_file():
        raise ParameterError(f"html report not found: {str(html)!r}")
    dst = Path(pdf) if pdf else src.with_suffix(".pdf")
    exe = find_chromium(chromium)
    with tempfile.TemporaryDirectory(prefix="qakit-pdf-") as tmp:
        out = Path(tmp) / "report.pdf"
        cmd = [exe, *CHROMIUM_ARGS, f"--user-data-dir={tmp}/profile", f"--print-to-pdf={out}", src.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium did not finish printing {src.name} within {timeout} s") from None
        if proc.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
            last = [ln for ln in proc.stderr.splitlines() if ln.strip()][-1:] or ["no output"]
            raise PdfError(f"Chromium could not print {src.name} (exit {proc.returncode}): {last[0][:200]}")
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp_dst = dst.with_name(f".{dst.name}.tmp")
        shutil.copyfile(out, tmp_dst)
        os.replace(tmp_dst, dst)
    return dst


__all__ = ["html_to_pdf", "find_chromium"]
