"""Check the internal links of the built documentation site (offline: no request leaves the machine).

    .venv/bin/python scripts/check_docs_links.py docs/_build/html

Every ``href``/``src`` of every built page that is not external (``http(s)://``, ``mailto:``) must
name a file of the site, and its ``#fragment`` an ``id`` on that page. Sphinx's own ``linkcheck``
builder needs the network for external links; the site's external links (vendor documentation) are
not checked here. Exit code 1 lists every broken link.
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        for key in ("href", "src"):
            if a.get(key) and not (tag == "link" and a.get("rel") in ("canonical",)):
                self.links.append(a[key])


def parse(path: Path) -> _Page:
    p = _Page()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    return p


def broken_links(site: Path) -> list[str]:
    # the theme's _static/ holds HTML templates (Jinja), not pages
    pages = {p: parse(p) for p in sorted(site.rglob("*.html")) if "_static" not in p.relative_to(site).parts}
    bad = []
    for page, parsed in pages.items():
        for link in parsed.links:
            u = urlsplit(link)
            if u.scheme or link.startswith(("//", "mailto:", "javascript:", "data:")):
                continue
            target = page if not u.path else (page.parent / unquote(u.path)).resolve()
            if u.path.endswith("/") or (target.is_dir()):
                target = target / "index.html"
            if not target.exists():
                bad.append(f"{page.relative_to(site)}: {link} (no file {target.name})")
                continue
            if u.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else parse(target).ids
                if unquote(u.fragment) not in ids:
                    bad.append(f"{page.relative_to(site)}: {link} (no id {u.fragment!r} in {target.name})")
    return bad


def main(argv: list[str]) -> int:
    site = Path(argv[0] if argv else "docs/_build/html").resolve()
    if not (site / "index.html").is_file():
        print(f"no built site at {site} (run ./qa docs)", file=sys.stderr)
        return 2
    bad = broken_links(site)
    n = sum(1 for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)
    for b in bad:
        print(b, file=sys.stderr)
    print(f"internal links: {n} pages checked, {len(bad)} broken")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
