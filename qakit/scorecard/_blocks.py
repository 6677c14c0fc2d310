"""Row blocks for the per-row passes of large tables (validation and scoring).

A large table is cut into blocks of whole rows (``BLOCK_CELLS`` cells each, a few MB: the
temporaries of one block stay in cache and their memory is reused instead of faulted in afresh)
and the blocks run on a small thread pool (numpy releases the GIL in its loops, so two cores
score two blocks at once). Every row is computed by the same code whatever the block, so the
result is bitwise the one of a single pass; small tables (below ``MIN_CELLS``) take one pass on
the calling thread, so interactive calls (the explorer) never pay for threads.

``QAKIT_THREADS`` (environment, read by :func:`qakit._threads.allowed`) sets the threads (at most 8
here); ``QAKIT_THREADS=1`` runs the blocks in turn.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from typing import Any

from .._threads import allowed

#: cells (rows x columns) per block and the table size below which one pass is used
BLOCK_CELLS = 1 << 20
MIN_CELLS = 1 << 21


def threads() -> int:
    """Worker threads: :func:`qakit._threads.allowed` (``QAKIT_THREADS``, else the cores this process
    may use), at most 8."""
    return max(1, min(allowed(), 8))


@functools.lru_cache(maxsize=None)
def _pool(n: int, pid: int):
    """One pool per thread count and process (a forked child gets its own: the parent's
    threads do not exist there)."""
    return ThreadPoolExecutor(max_workers=n, thread_name_prefix="qakit-blocks")


def row_blocks(n_rows: int, cells_per_row: int = 1) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``0..n_rows``: one block below ``MIN_CELLS`` cells,
    else blocks of about ``BLOCK_CELLS`` cells."""
    cells = n_rows * max(cells_per_row, 1)
    if cells < MIN_CELLS or n_rows < 2:
        return [(0, n_rows)]
    size = max(1, BLOCK_CELLS // max(cells_per_row, 1))
    return [(a, min(a + size, n_rows)) for a in range(0, n_rows, size)]


def map_blocks(fn: Callable[[int, int], Any], blocks: list[tuple[int, int]]) -> list[Any]:
    """``[fn(start, stop) for each block]``, in block order, on the pool when there are several
    blocks and more than one thread."""
    n = threads()
    if len(blocks) == 1 or n == 1:
        return [fn(a, b) for a, b in blocks]
    return list(_pool(n, os.getpid()).map(lambda ab: fn(*ab), blocks))


def submit(fn: Callable[[], Any]):
    """``fn()`` started on the pool (a ``concurrent.futures.Future``), or ``None`` with one thread.
    The caller must not wait on the pool from inside ``fn`` (no nested ``map_blocks``)."""
    n = threads()
    if n == 1:
        return None
    return _pool(n, os.getpid()).submit(fn)
