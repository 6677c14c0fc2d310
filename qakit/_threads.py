"""One second thread for the GIL-free passes of a single call (the survey KPIs' contract and statistic).

numpy's ufunc loops and Arrow's compute kernels release the GIL, so two independent passes over
large arrays can run on two cores at once: e.g. the 10M shared conversation-id categories' facts
(one Arrow ``min_max`` over their bytes, a comparison of their offsets) beside the per-row checks
of the same table, or the two halves of a blocked pass. This module holds the one worker thread
that does it, made on first use (one per process: a forked child makes its own), and the switch:

``QAKIT_THREADS`` (environment): the threads qakit may use (:func:`allowed`); ``QAKIT_THREADS=1`` runs
everything on the calling thread, in the same order. Default: the cores the process may use, so 2
threads here when it may use two or more. The scoring engine's row blocks
(:mod:`qakit.scorecard._blocks`) read the variable through :func:`allowed` too.

Work done on the second thread never changes a result: the callers combine the parts in a fixed
order (integer counts summed, float sums added block by block in block order), so a result is
bit-for-bit the same with one thread or two. Nothing is kept across calls.

Examples
--------
>>> import os
>>> a, b = both(sum, ([1, 2],), ([3, 4],))
>>> (a, b)
(3, 7)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

#: the environment variable that caps qakit's threads (1: no second thread)
THREADS_ENV = "QAKIT_THREADS"

_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None  # (process id, the one worker)
_local = threading.local()


def allowed() -> int:
    """The threads qakit may use: ``QAKIT_THREADS`` when it is a whole number >= 1 (anything else is
    ignored), else the cores this process may use. The one reading of the variable: the survey
    KPIs' second thread (:func:`threads`) and the scoring engine's row blocks
    (:func:`qakit.scorecard._blocks.threads`, at most 8) both take it from here.

    Examples
    --------
    >>> allowed() >= 1
    True
    """
    env = os.environ.get(THREADS_ENV, "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def threads() -> int:
    """The threads a call may use: 2 when :func:`allowed` gives two or more, else 1.

    Examples
    --------
    >>> threads() in (1, 2)
    True
    """
    return 2 if allowed() >= 2 else 1


def _worker() -> ThreadPoolExecutor:
    """The one worker thread of this process (made on first use; a forked child makes its own)."""
    global _pool
    pid = os.getpid()
    with _lock:
        if _pool is None or _pool[0] != pid:
            _pool = (pid, ThreadPoolExecutor(max_workers=1, thread_name_prefix="qakit-worker",
                                             initializer=_mark_worker))
        return _pool[1]


def _mark_worker() -> None:
    _local.worker = True


def _done(fn: Callable[..., Any], args: tuple) -> Future:
    """``fn(*args)`` run here, as a finished Future (its exception kept for ``result()``)."""
    fut: Future = Future()
    try:
        fut.set_result(fn(*args))
    except BaseException as exc:  # noqa: BLE001 (handed to the caller by result(), as a pool would)
        fut.set_exception(exc)
    return fut


def submit(fn: Callable[..., Any], *args: Any) -> Future:
    """``fn(*args)`` started on the second thread (a ``concurrent.futures.Future``). With one
    thread (``QAKIT_THREADS=1``, one core) or when called from the second thread itself, it runs
    here and now and the Future is already done: ``result()`` gives the value or raises its error
    either way.

    Examples
    --------
    >>> submit(max, 3, 5).result()
    5
    """
    if threads() < 2 or getattr(_local, "worker", False):
        return _done(fn, args)
    return _worker().submit(fn, *args)


def start(fn: Callable[..., Any], *args: Any) -> Future:
    """:func:`submit`, returning once ``fn`` is running on the second thread. For work that
    releases the GIL (an Arrow take, a pass over a large array) begun while the caller goes on with
    Python code that holds it (building small pandas frames): the second thread needs the GIL to
    begin, and a thread waiting for it otherwise gets it only when the holder waits for something,
    or after the switch interval (5 ms).

    Examples
    --------
    >>> start(pow, 2, 10).result()
    1024
    """
    if threads() < 2 or getattr(_local, "worker", False):
        return _done(fn, args)
    begun = threading.Event()

    def run() -> Any:
        begun.set()
        return fn(*args)

    fut = _worker().submit(run)
    begun.wait()  # (the GIL released here: the second thread takes it and begins)
    return fut


def both(fn: Callable[..., Any], first: tuple, second: tuple) -> tuple[Any, Any]:
    """``(fn(*first), fn(*second))``: ``second`` on the second thread while ``first`` runs here
    (in turn with one thread). An error of either is raised here, ``first``'s first."""
    fut = submit(fn, *second)
    try:
        a = fn(*first)
    except BaseException:
        fut.exception()  # (wait for the other half: it reads the same arrays)
        raise
    return a, fut.result()
