"""The machine line every benchmark report starts with (CPU, cores, RAM, library versions): one
definition shared by ``run.py`` and ``scale.py``."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import duckdb  # the bench extra (./qa installs it)
import ibis
import numpy as np
import pandas as pd
import polars
import scipy

import qakit


def machine() -> str:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kb = int(next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")).split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    return (f"{cpu}; {len(os.sched_getaffinity(0))} cores available; RAM {mem}; Python {platform.python_version()}; "
            f"pandas {pd.__version__}; numpy {np.__version__}; scipy {scipy.__version__}; duckdb {duckdb.__version__}; "
            f"polars {polars.__version__}; ibis {ibis.__version__}; qakit {qakit.__version__}")
