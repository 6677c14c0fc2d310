"""qakit's KPIs on DuckDB against the DuckDB SQL anchors on the same Parquet folder (issue 23, point 3).

    .venv/bin/python benchmarks/kpis_duckdb_parquet.py <conversations folder[,folder...]> [rounds] [kpi,kpi...]

For each KPI (by channel): qakit with the files not checked yet (the contract runs), qakit again
(the contract of the unchanged files is reused, as in a report's later calls), and the anchor SQL of
:mod:`kpis` (no validation, no records) reading the same folder. Wall and CPU seconds (every thread
of the process: on a shared machine the CPU time is what the load does not inflate), interleaved
rounds; the ratios are CPU qakit / CPU anchor.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kpis as B  # noqa: E402  (the anchors' SQL)

import qakit  # noqa: E402
from qakit.metrics import _contract as C  # noqa: E402
from qakit.metrics._source import duckdb_connection  # noqa: E402

SQL = {"first_response_time": B.TIMES_SQL.format(end="first_response_at", name="first_response_time",
                                                 max_hours=B.MAX_HOURS, z=B.Z95),
       "resolution_time": B.TIMES_SQL.format(end="resolved_at", name="resolution_time", max_hours=B.MAX_HOURS,
                                             z=B.Z95),
       "fcr_rate": B.FCR_SQL, "sla_attainment": B.SLA_SQL}


def _timed(f) -> tuple[float, float]:
    w, c = time.perf_counter(), time.process_time()
    f()
    return time.perf_counter() - w, time.process_time() - c


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    folders = argv[0].split(",")
    rounds = int(argv[1]) if len(argv) > 1 else 2
    kpis = argv[2].split(",") if len(argv) > 2 else list(SQL)
    folder = folders[0] if len(folders) == 1 else folders
    warnings.simplefilter("ignore")
    con = duckdb_connection()
    globs = [f"{f}/**/*.parquet" if Path(f).is_dir() else f for f in folders]
    con.execute(f"CREATE OR REPLACE VIEW conv AS SELECT * FROM read_parquet({globs!r}, hive_partitioning=true)")
    for rnd in range(rounds):
        for k in kpis:
            sql = SQL[k]
            C._CONTRACTS.clear()
            qw, qc = _timed(lambda: getattr(qakit, k)(folder, by="channel", engine="duckdb"))
            cw, cc = _timed(lambda: getattr(qakit, k)(folder, by="channel", engine="duckdb"))
            aw, ac = _timed(lambda: con.sql(sql).df())
            print(f"{rnd} {k:20s} qakit {qw:6.2f} s (cpu {qc:5.2f}) | checked before {cw:6.2f} s (cpu {cc:5.2f}) | "
                  f"anchor {aw:6.2f} s (cpu {ac:5.2f}) | cpu ratio {qc / ac:4.2f} / {cc / ac:4.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
