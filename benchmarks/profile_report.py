"""Profile the report notebook cell by cell in one process: wall time, CPU time (all threads: DuckDB's
too), peak RSS (VmHWM) growth and current RSS after each cell.
``python benchmarks/profile_report.py <dataset folder> [engine] [--skip REGEX]``: ``--skip`` leaves out the
cells whose code matches REGEX (e.g. ``health_verdict``: another section's cost, minutes at 100M).

Each cell of ``notebooks/src/report.py`` runs as the kernel would run it (the objects the display
functions return are rendered to HTML, as nbconvert does), so the breakdown is the report's own.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _status(key: str) -> float:
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key)) / 1024


def cells() -> list[str]:
    src = (ROOT / "notebooks" / "src" / "report.py").read_text()
    parts = re.split(r"^# %%.*$", src, flags=re.M)[1:]
    return [p.strip() for p in parts if p.strip()]


def render(obj) -> None:
    """What the kernel does with a cell's value: its HTML (or PNG for a figure)."""
    if obj is None:
        return
    for m in ("_repr_html_", "_repr_png_"):
        f = getattr(obj, m, None)
        if f is not None:
            f()
            return


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    skip = None
    if "--skip" in argv:
        i = argv.index("--skip")
        skip = re.compile(argv[i + 1])
        del argv[i:i + 2]
    dataset = argv[0] if argv else "sample"
    engine = argv[1] if len(argv) > 1 else "duckdb"
    import ast

    ns: dict = {}
    exec((ROOT / "notebooks" / "src" / "_data_parameters.py").read_text(), ns)
    rows = []
    for i, code in enumerate(cells()):
        if i == 0:  # parameters (the shared data parameters were run above)
            code = "\n".join(l for l in code.splitlines() if not l.startswith("# %include"))
            exec(code, ns)
            ns.update(dataset=dataset, engine=engine)
            continue
        if skip is not None and skip.search(code):
            print(f"{'skipped':>8}  {code.splitlines()[-1][:70]}", flush=True)
            continue
        tree = ast.parse(code)
        last = tree.body[-1] if tree.body else None
        h0, t0, c0 = _status("VmHWM"), time.perf_counter(), time.process_time()
        if isinstance(last, ast.Expr):
            exec(compile(ast.Module(tree.body[:-1], []), "<cell>", "exec"), ns)
            value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), ns)
            render(value)
        else:
            exec(compile(tree, "<cell>", "exec"), ns)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        rows.append((dt, _status("VmHWM"), _status("VmHWM") - h0, _status("VmRSS"), code.splitlines()[-1][:70], cpu))
        print(f"{dt:8.2f} s  cpu {cpu:7.2f} s  peak {rows[-1][1]:7.0f} MB (+{rows[-1][2]:6.0f})  "
              f"rss {rows[-1][3]:7.0f} MB  "
              f"{rows[-1][4]}", flush=True)
    print(f"total {sum(r[0] for r in rows):.1f} s (CPU {sum(r[5] for r in rows):.1f} s: every thread of the process, "
          f"what a loaded machine does not inflate), peak {_status('VmHWM'):.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
