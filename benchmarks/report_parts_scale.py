"""The report's loader and the sections moved to the engine, one process, on a report dataset folder
(``benchmarks/scale.py`` writes them): time and peak RSS (VmHWM) after each step.

    .venv/bin/python benchmarks/report_parts_scale.py benchmarks/_work/scale/report_100M_30M

DuckDB's memory is capped at 3 GB (it spills to disk beyond): the machine is shared. The scorecard
health step counts the rating patterns only (the bootstrap's cost is patterns x resamples).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _peak_mb() -> float:
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024


def main(argv: list[str] | None = None) -> int:
    import qakit.report.checks as K
    import qakit.report.data as D
    import qakit.report.operations as O
    import qakit.report.views as V
    from qakit import health as H
    from qakit.metrics import _source as B

    folder = (sys.argv[1:] if argv is None else argv)[0]
    B.set_duckdb_memory("3GB")  # (a shared machine; spills to a temporary folder beyond it)
    B.duckdb_connection().execute("SET enable_progress_bar=false").fetchall()
    t = time.perf_counter()

    def step(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        print(f"{now - t:8.1f} s  peak {_peak_mb():7.0f} MB  {name}", flush=True)
        t = now

    data = D.load_report_data(dataset=folder, engine="duckdb")
    step(f"load_report_data (in memory: ratings {data.in_memory('ratings')}, conversations "
         f"{data.in_memory('conversations')}; {len(data.scores):,} reviews)")
    K.prepare_checks(data)
    step("prepare_checks (comparison group)")
    V.period_text(data), V.default_group(data)
    step("period line, default group")
    V._agents(data)
    step("agents (shrinkage)")
    O._coverage(data)
    step("review coverage")
    _, _, _, w, _ = H._patterns_engine(str(data.direct["ratings"]), data.card, None, "duckdb")
    step(f"scorecard health: rating patterns on DuckDB ({len(w):,} patterns of {int(w.sum()):,} reviews)")
    print("in memory:", data.in_memory("ratings"), data.in_memory("conversations"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
