"""Build the qakit notebooks from their sources, ``notebooks/src/<name>.py``, and execute them.

    .venv/bin/python scripts/build_notebooks.py            # build + execute all
    .venv/bin/python scripts/build_notebooks.py report     # just one

The sources are jupytext *percent* scripts: ``# %%`` starts a code cell, ``# %% [markdown]`` a
markdown cell, and cell tags are written ``# %% tags=["parameters"]``. Edit the sources, never the
``.ipynb`` files (they are rebuilt from them).

Notebooks are thin: a markdown story, one ``parameters`` cell (typed defaults, ``# help``
comments; papermill injects overrides after it), then one qakit call per cell. Outputs are
committed so nbval can compare them (tables are rounded by qakit.report.display; figures are PNG, which
nbval does not compare; their text/plain repr is stable). Tags that matter:

- ``parameters``: the papermill parameters cell (exactly one per notebook);
- ``nbval-ignore-output``: widget views (their output holds a random model id); the cell after
  them drives the widget through ``.value`` and *is* checked;
- ``checked-example``: nbval-only cells that ``qakit explore`` removes from the Voila app.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
SRC_DIR = NB_DIR / "src"

META = {
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python"},
}

# cells that check the explorer for nbval; `qakit explore` removes them from the Voila app
CHECKED = "checked-example"


#: a source line ``# %include <file>`` is replaced by that file of notebooks/src/ (files whose names
#: start with ``_`` are parts, not notebooks): the data parameters are written once, in
#: ``_data_parameters.py``, for every notebook that loads a report dataset
INCLUDE = re.compile(r"^# %include (\S+).*$", re.M)


def sources() -> dict[str, Path]:
    """Notebook name -> its percent-script source."""
    return {p.stem: p for p in sorted(SRC_DIR.glob("*.py")) if not p.name.startswith("_")}


def source_text(path: Path) -> str:
    """A source with its ``# %include`` lines expanded."""
    return INCLUDE.sub(lambda m: (SRC_DIR / m.group(1)).read_text(encoding="utf-8").rstrip("\n"),
                       path.read_text(encoding="utf-8"))


def read_source(name: str) -> nbformat.NotebookNode:
    """The notebook a source describes (no outputs), with qakit's metadata and stable cell ids."""
    path = sources().get(name)
    if path is None:
        raise SystemExit(f"no notebook source {name!r}; sources: {sorted(sources())}")
    nb = jupytext.reads(source_text(path), fmt="py:percent")
    nb.metadata = nbformat.NotebookNode(META)
    for i, cell in enumerate(nb.cells):  # stable ids: rebuilding gives a readable diff
        cell.id = f"{name}-{i:02d}"
        cell.metadata = nbformat.NotebookNode({k: v for k, v in cell.metadata.items() if k == "tags"})
    return nb


def build(name: str, *, execute: bool = True) -> Path:
    nb = read_source(name)
    path = NB_DIR / f"{name}.ipynb"
    if execute:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(NB_DIR)}}).execute()
        nb.metadata.pop("widgets", None)  # widget state holds random model ids; Voila re-creates it
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return path


def main(argv: list[str]) -> int:
    names = argv or list(sources())
    for n in names:
        print(build(n))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
