"""scripts/check_docs_links.py, the offline check of the documentation site's internal links, on a
small site written here: a missing page and a missing anchor are reported, external links and the
theme's templates are not followed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("check_docs_links", ROOT / "scripts" / "check_docs_links.py")
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)


def test_broken_internal_links_are_listed_and_external_ones_ignored(tmp_path):
    (tmp_path / "guide").mkdir()
    (tmp_path / "_static").mkdir()
    (tmp_path / "index.html").write_text(
        '<a href="guide/a.html#usage">ok</a> <a href="guide/a.html#nowhere">bad anchor</a>'
        '<a href="missing.html">bad page</a> <a href="https://example.org/x.html">external</a>'
        '<img src="_static/logo.png"> <a href="#top" id="top">self</a>')
    (tmp_path / "guide" / "a.html").write_text('<h2 id="usage">Usage</h2><a href="../index.html">home</a>')
    (tmp_path / "_static" / "logo.png").write_bytes(b"png")
    (tmp_path / "_static" / "macros.html").write_text("<a href=\"{{ pathto('x') }}\">template</a>")
    bad = check.broken_links(tmp_path)
    assert bad == ["index.html: guide/a.html#nowhere (no id 'nowhere' in a.html)",
                   "index.html: missing.html (no file missing.html)"]
    assert check.main([str(tmp_path)]) == 1
    (tmp_path / "index.html").write_text('<a href="guide/a.html#usage">ok</a>')
    assert check.main([str(tmp_path)]) == 0
