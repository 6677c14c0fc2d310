"""qakit's import graph, read from the source (``ast``, nothing imported): no cycle among qakit
modules, counting imports inside functions; a function imports only an optional heavy dependency
(each such site says why in a comment); no cycle among the benchmark scripts either.

A cycle closed through an import inside a function works until someone moves the import, and hides
which module depends on which: a reader opening a file should see every qakit module it needs at
its top. Edges: ``import qakit.a.b`` and ``from qakit.a import b`` (``b`` a module) go to
``qakit.a.b``; ``from qakit.a import name`` goes to ``qakit.a``. The implicit import of a parent
package (Python runs ``qakit/a/__init__.py`` before ``qakit.a.b``) is not an edge; imports under
``if TYPE_CHECKING:`` are not run and not counted.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: optional heavy dependencies a function may import: not installed with qakit (the ``engines`` /
#: ``spark`` / ``test`` / ``bench`` extras) and needed by one feature only. Each import site carries a
#: comment (on its line or the line above) saying why it is local.
OPTIONAL = frozenset({"pyspark", "playwright", "ibis", "duckdb", "polars", "pyinstrument", "pypdfium2",
                      # the plotting stack, loaded by the one KPI function that draws
                      # (qakit.kpis.customer_cost_value_plot): at the top of qakit.kpis it would add
                      # ~1.5 s to every `import qakit`
                      "matplotlib", "seaborn"})

#: cycles being removed in parallel branches (none left: every branch of round three is merged)
KNOWN_CYCLES: list[frozenset[str]] = []

#: files whose function-level imports are being rewritten in parallel branches (none left)
KNOWN_LOCAL_IMPORTS = frozenset({
})


@dataclass(frozen=True)
class Import:
    module: str  #: the importing module
    target: str  #: the imported module (absolute; a name imported from a module counts as the module)
    line: int
    local: bool  #: inside a function body
    commented: bool  #: a comment on the import's line or the line above


def modules(root: Path, package: str) -> dict[str, Path]:
    """``{dotted name: file}`` for every module of ``package`` under ``root``."""
    out = {}
    for p in sorted((root / package).rglob("*.py")):
        parts = list(p.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def imports(name: str, path: Path, known: Iterable[str]) -> list[Import]:
    """Every import statement of module ``name`` (at any depth), resolved to absolute module names."""
    known = set(known)
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    out: list[Import] = []

    def commented(node: ast.AST) -> bool:
        own = lines[node.lineno - 1]
        above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
        return "#" in own or above.startswith("#")

    def targets(node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            return [a.name for a in node.names]
        if node.level:
            base = here[: len(here) - (node.level - 1)]
            mod = ".".join(base + ([node.module] if node.module else []))
        else:
            mod = node.module or ""
        return [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod for a in node.names]

    def walk(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if _type_checking(child):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for t in dict.fromkeys(targets(child)):
                    out.append(Import(name, t, child.lineno, local, commented(child)))
            walk(child, local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    walk(ast.parse(source, filename=str(path)), False)
    return out


def graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of the same set it imports (a submodule's import of a name from its
    package, e.g. ``from qakit import x``, goes to the deepest known module)."""
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        for imp in imports(m, p, mods):
            t = imp.target
            while t and t not in mods:
                t = t.rpartition(".")[0]
            if t and t != m:
                edges[m].add(t)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan), each a set."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[frozenset[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(edges) + 100))

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(frozenset(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def unexplained(found: list[frozenset[str]], known: list[frozenset[str]]) -> list[list[str]]:
    """The cycles not inside one of the ``known`` ones."""
    return [sorted(c) for c in found if not any(c <= k for k in known)]


def bad_local_imports(mods: dict[str, Path], root: Path, skip: Iterable[str] = ()) -> list[str]:
    """Function-level imports that are not an optional heavy dependency with a comment."""
    skip = set(skip)
    bad = []
    for m, p in mods.items():
        rel = p.relative_to(root).as_posix()
        if rel in skip:
            continue
        for imp in imports(m, p, mods):
            if not imp.local:
                continue
            top = imp.target.split(".")[0]
            if top not in OPTIONAL:
                bad.append(f"{rel}:{imp.line}: {imp.target} (import it at the top of the module)")
            elif not imp.commented:
                bad.append(f"{rel}:{imp.line}: {imp.target} (an optional dependency: say why in a comment)")
    return bad


# --- qakit ----------------------------------------------------------------------------------------------
QAKIT = modules(ROOT, "qakit")


@pytest.fixture(scope="module")
def qakit_graph() -> dict[str, set[str]]:
    return graph(QAKIT)


def test_no_import_cycle_among_qakit_modules(qakit_graph):
    found = cycles(qakit_graph)
    assert not unexplained(found, KNOWN_CYCLES), unexplained(found, KNOWN_CYCLES)


def test_functions_import_only_optional_heavy_dependencies_with_a_comment():
    bad = bad_local_imports(QAKIT, ROOT, skip=KNOWN_LOCAL_IMPORTS)
    assert not bad, "function-level imports:\n" + "\n".join(bad)


def test_the_metric_layer_sits_below_its_public_functions(qakit_graph):
    """qakit.metrics never imports the modules that call it (qakit.kpis, qakit.scorecard,
    qakit.engines): the definitions are the bottom layer, the public functions thin calls into it."""
    edges = qakit_graph
    above = ("qakit.kpis", "qakit.scorecard", "qakit.engines", "qakit.report")
    for m, ts in edges.items():
        if m.startswith("qakit.metrics"):
            assert not [t for t in ts if t.startswith(above)], (m, sorted(ts))


def test_the_known_exceptions_name_real_modules():
    """A renamed or fixed module leaves no stale exception behind (the lists only shrink)."""
    files = {p.relative_to(ROOT).as_posix() for p in QAKIT.values()}
    assert KNOWN_LOCAL_IMPORTS <= files, sorted(KNOWN_LOCAL_IMPORTS - files)
    for c in KNOWN_CYCLES:
        assert c <= set(QAKIT), sorted(c - set(QAKIT))


def test_the_report_package_has_layers(qakit_graph):
    """qakit.report's modules import downwards only: params/targets < data < tiles < the displays <
    run; nothing below the report imports it (qakit.widgets, above it, may)."""
    edges = qakit_graph
    order = ["qakit.report.targets", "qakit.report.params", "qakit.report.display", "qakit.report.data",
             "qakit.report.common", "qakit.report.support", "qakit.report.tiles", "qakit.report.study",
             "qakit.report.views", "qakit.report.operations", "qakit.report.checks", "qakit.report.quality",
             "qakit.report.pdf", "qakit.report.run"]
    rank = {m: i for i, m in enumerate(order)}
    assert set(order) == {m for m in QAKIT if m.startswith("qakit.report.")}
    for m in order:
        for t in edges[m]:
            if t in rank:
                assert rank[t] < rank[m], f"{m} imports {t}, a module above it"
    users = {m for m, ts in edges.items() if any(t.startswith("qakit.report") for t in ts)}
    assert users - set(order) <= {"qakit.widgets", "qakit.cli"}, sorted(users - set(order))


# --- the checker itself, on small packages written here ------------------------------------------------------
def _package(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return modules(tmp_path, "pkg")


def test_a_cycle_closed_inside_a_function_is_found(tmp_path):
    """pkg.a imports pkg.b at the top; pkg.b imports pkg.a inside a function: one cycle {a, b}; a third
    module imported by both is not in it."""
    mods = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from . import b\nfrom .c import x\n",
        "pkg/b.py": "from .c import x\n\ndef f():\n    from .a import g\n    return g\n",
        "pkg/c.py": "x = 1\n",
    })
    assert cycles(graph(mods)) == [frozenset({"pkg.a", "pkg.b"})]
    assert unexplained(cycles(graph(mods)), [frozenset({"pkg.a", "pkg.b", "pkg.c"})]) == []
    assert bad_local_imports(mods, tmp_path) == ["pkg/b.py:4: pkg.a (import it at the top of the module)"]


def test_subpackages_relative_levels_and_type_checking(tmp_path):
    """``from .. import m`` in a subpackage resolves to the parent's module; ``from pkg.sub import
    name`` goes to the subpackage's ``__init__``; imports under TYPE_CHECKING are not edges; an
    optional dependency imported in a function needs its comment."""
    mods = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/m.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.sub import leaf\n",
        "pkg/sub/__init__.py": "from .leaf import y\n",
        "pkg/sub/leaf.py": "from .. import m\n\ndef spark():\n    import pyspark\n\ndef ok():\n"
                           "    # optional: the spark extra\n    import pyspark.sql\n",
    })
    edges = graph(mods)
    assert edges == {"pkg": set(), "pkg.m": set(), "pkg.sub": {"pkg.sub.leaf"}, "pkg.sub.leaf": {"pkg.m"}}
    assert bad_local_imports(mods, tmp_path) == [
        "pkg/sub/leaf.py:4: pyspark (an optional dependency: say why in a comment)"]


# --- the benchmark scripts (they import each other by file name from benchmarks/) -----------------------------
def test_no_import_cycle_among_the_benchmark_scripts():
    files = {p.stem: p for p in (ROOT / "benchmarks").glob("*.py")}
    edges = {}
    for name, p in files.items():
        edges[name] = {i.target.split(".")[0] for i in imports(name, p, files)} & set(files) - {name}
    assert not cycles(edges), cycles(edges)


if __name__ == "__main__":  # pragma: no cover - a quick look at the graph
    print(cycles(graph(QAKIT)))
    pytest.main([__file__, "-q"])
