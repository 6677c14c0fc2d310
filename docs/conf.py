"""Sphinx configuration of qakit's documentation site (``./qa docs`` -> docs/_build/html).

Why these tools: docs/why-these-tools.md. The site is built offline from the repository: the API
reference from the numpydoc docstrings (autosummary), the notebooks as committed (executed by
scripts/build_notebooks.py; myst-nb renders them without running them), the generated reference
pages from qakit's own tables (docs/_ext/qakit_pages.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE / "_ext"))

import qakit  # noqa: E402

project = "qakit"
author = "qakit contributors"
copyright = "qakit contributors, MIT licence"
release = version = qakit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
    "qakit_pages",  # the generated pages (data contract, KPI table) and the notebooks' copies
]

# MyST Markdown pages and the executed notebooks; nothing is executed while building
# .rst first: autosummary writes its generated API pages with the first suffix, in reStructuredText
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
nb_execution_mode = "off"
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
exclude_patterns = ["_build", "CONVENTIONS.md", "**/.ipynb_checkpoints"]  # CONVENTIONS.md: included by development.md
suppress_warnings = [
    "mystnb.unknown_mime_type",  # widget views in the explorer notebook (no live kernel)
    "myst.header",  # notebooks and included fragments start below H1 (their sections, by design)
]

autosummary_generate = True
autodoc_default_options = {"members": False}
autodoc_typehints = "none"  # numpydoc's Parameters section says the types
numpydoc_show_class_members = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"qakit {version}"
html_theme_options = {
    "navigation_depth": 2,
    # the left sidebar lists the current section's pages only (no hidden, expandable copy of every
    # other section's tree on each of the ~400 pages): the build went from 49 s to 37 s, the site
    # from 43 MB to 33 MB, and what a reader sees is the same
    "collapse_navigation": True,
    "show_toc_level": 2,
    "navbar_align": "left",
    "header_links_before_dropdown": 4,
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_static_path: list[str] = []
html_last_updated_fmt = None

# offline: sphinx -b linkcheck checks internal references only (scripts/check_docs_links.py covers
# the built HTML); external links are not followed on a machine without internet
linkcheck_ignore = [r"https?://.*"]

templates_path = ["_templates"]
autosummary_ignore_module_all = False  # a module's API is its __all__
