"""Sphinx extension: the reference pages generated from qakit's own tables, and the notebooks.

On ``builder-inited`` it writes (into git-ignored files the pages include):

- ``reference/_generated/tables.md``: every table contract of :mod:`qakit.schema` (columns, kinds,
  required, nullable, allowed values, bounds, unique key), so the data contract page cannot drift
  from the code that validates;
- ``reference/_generated/kpis.md``: every metric of :data:`qakit.registry.METRICS` (label, unit,
  direction, function, default target) with the Notes (the formula) of the function's docstring;
- ``notebooks/*.ipynb``: copies of the committed, executed notebooks (rendered, never executed); a
  notebook whose headings are all drawn by qakit (the report: a section it cannot show draws no
  heading) gets its page title as a first Markdown cell in the copy, never in the notebook itself.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from numpydoc.docscrape import FunctionDoc

from qakit import schema
from qakit.registry import HEADLINE, METRICS

HERE = Path(__file__).resolve().parents[1]
ROOT = HERE.parent


def _cell(v) -> str:
    return str(v).replace("|", "\\|")


def tables_page() -> str:
    out = []
    for name, t in schema.TABLES.items():
        out += [f"### `{name}`", ""]
        key = ", ".join(f"`{c}`" for c in t.unique) or "none"
        out += [f"Unique key: {key}." + (f" Row id in messages: `{t.row_id}`." if t.row_id else ""), ""]
        out += ["| column | kind | required | may be missing | allowed values / range |", "|---|---|---|---|---|"]
        for c in t.columns:
            rng = ""
            if c.allowed:
                rng = ", ".join(f"`{a}`" for a in c.allowed)
            elif c.min is not None or c.max is not None:
                rng = f"{'' if c.min is None else c.min} to {'' if c.max is None else c.max}"
            out.append(f"| `{c.name}` | {c.kind} | {'yes' if c.required else 'optional'} | "
                       f"{'yes' if c.nullable else 'no'} | {_cell(rng)} |")
        out.append("")
    return "\n".join(out)


def kpis_page() -> str:
    out = ["| metric | label | unit | better | default target | headline tile | function |",
           "|---|---|---|---|---|---|---|"]
    for m in METRICS.values():
        mod, fn = m.function.split(":")
        target = "" if m.target is None else f"{m.target:g} ({m.owner})" if m.owner else f"{m.target:g}"
        out.append(f"| `{m.name}` | {m.label} | {m.unit} | {m.direction} | {target} | "
                   f"{'yes' if m.name in HEADLINE else ''} | {{func}}`{mod}.{fn}` |")
    out.append("")
    seen = set()
    for m in METRICS.values():
        mod, fn = m.function.split(":")
        out += [f"### {m.label} (`{m.name}`)", ""]
        out += [f"Computed by {{func}}`{mod}.{fn}`; value column `{m.value}`, in {m.unit}, "
                f"{m.direction} is better.", ""]
        if (mod, fn) in seen:
            out += [f"The formula: see {{func}}`{mod}.{fn}` above.", ""]
            continue
        seen.add((mod, fn))
        obj = getattr(importlib.import_module(mod), fn)
        doc = FunctionDoc(obj)
        summary = " ".join(doc["Summary"])
        if summary:
            out += [summary, ""]
        notes = "\n".join(doc["Notes"]).strip()
        if notes:
            out += ["```{eval-rst}", notes, "```", ""]
    return "\n".join(out)


def generate(app) -> None:
    gen = HERE / "reference" / "_generated"
    gen.mkdir(parents=True, exist_ok=True)
    for name, text in (("tables.md", tables_page()), ("kpis.md", kpis_page())):
        p = gen / name
        if not p.exists() or p.read_text(encoding="utf-8") != text:  # unchanged files keep the build incremental
            p.write_text(text, encoding="utf-8")
    nb = HERE / "notebooks"
    nb.mkdir(exist_ok=True)
    for src in sorted((ROOT / "notebooks").glob("*.ipynb")):
        dst = nb / src.name
        data = _titled(src.read_bytes(), src.stem)
        if not dst.exists() or dst.read_bytes() != data:
            dst.write_bytes(data)


#: page titles of the notebooks that have no Markdown heading of their own (docs/notebooks.md's names)
TITLES = {"report": "The QA and KPI report"}


def _titled(raw: bytes, stem: str) -> bytes:
    """The notebook as stored, or with ``# <title>`` as a first Markdown cell when it has no
    Markdown heading (Sphinx needs one for the page's title)."""
    nb = json.loads(raw)
    heading = any(c["cell_type"] == "markdown" and "".join(c["source"]).lstrip().startswith("#") for c in nb["cells"])
    if heading:
        return raw
    title = TITLES.get(stem, stem.replace("_", " ").capitalize())
    cell = {"cell_type": "markdown", "metadata": {}, "source": [f"# {title}"]}
    if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) >= (4, 5):
        cell["id"] = "qakit-docs-title"  # cell ids are required from nbformat 4.5
    nb["cells"].insert(0, cell)
    return json.dumps(nb, indent=1, ensure_ascii=False).encode("utf-8")


def setup(app):
    app.connect("builder-inited", generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
