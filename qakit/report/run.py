"""Scheduled reports: run the report notebook with papermill and publish a static HTML file.

:func:`run_report` executes ``notebooks/report.ipynb`` (or another notebook) headless with
papermill, exports a **self-contained** HTML file (figures embedded as PNG, code hidden, no
script or style loaded from the internet), and publishes it atomically:

1. the notebook runs into a private work folder inside the output folder;
2. the HTML is written there, checked for remote resources, then moved into place with
   ``os.replace`` (atomic on one file system);
3. on any failure the executed notebook is kept as ``<name>.failed.ipynb`` for debugging, the
   previous good ``<name>.html`` is left untouched, and :class:`ReportError` is raised (the CLI
   turns it into a one-line reason on stderr and a non-zero exit code).

On POSIX the kernel talks over Unix sockets in a private temporary folder rather than localhost
TCP ports, so a successful scheduled run prints nothing on stderr (cron mails any output).
"""

from __future__ import annotations

import contextlib
import html as _html
import os
import re
import shutil
import signal
import tempfile
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import papermill as pm
import yaml
from jupyter_client import AsyncKernelManager
from nbconvert import HTMLExporter
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
from traitlets.config import Config

from ..errors import ParameterError, QakitError
from .params import check_report_parameters

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
DEFAULT_NOTEBOOK = NOTEBOOK_DIR / "report.ipynb"
KERNEL = "python3"
_REMOTE = re.compile(r"""<(?:script|link|img)[^>]+(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.I | re.S)


def _ipc_kernel_config(folder: str) -> Any:
    """Configuration for the kernel manager papermill's client creates (and shuts down): the
    kernel talks over Unix sockets in ``folder`` (private to the user) instead of localhost TCP
    ports, so nothing else on a shared machine can reach it and ipykernel has no plain-text
    transport warning to print into a scheduled run's stderr. Its connection file is in
    ``folder`` too (not in Jupyter's runtime folder), so removing ``folder`` removes every trace."""
    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = os.path.join(folder, "kernel")
    config.KernelManager.connection_file = os.path.join(folder, "kernel.json")
    return config


def _publish_folder(src: Path, dst: Path, work: Path) -> None:
    """Move ``src`` to ``dst``, replacing an older ``dst`` (moved aside into ``work`` first)."""
    if dst.exists():
        os.replace(dst, work / f"old-{dst.name}")
    os.replace(src, dst)


#: the report kernel's environment beyond the caller's (a variable the caller set is kept as set).
#: ``ARROW_DEFAULT_MEMORY_POOL=system``: Arrow allocates with the C library's ``malloc`` instead of its
#: own mimalloc pool, which keeps memory it freed for reuse by Arrow only; the report turns 10M-row
#: engine results into pandas and frees them, and that kept memory (0.7 GB at 100M ratings) stayed
#: in the kernel's resident memory beside numpy's. See docs/design/report-at-scale.md, "Round six".
KERNEL_ENV = {"ARROW_DEFAULT_MEMORY_POOL": "system"}


def kernel_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The report kernel's environment: ``environ`` with :data:`KERNEL_ENV`'s variables it does not set.

    Examples
    --------
    >>> kernel_env({"PATH": "/bin"})["ARROW_DEFAULT_MEMORY_POOL"]
    'system'
    >>> kernel_env({"ARROW_DEFAULT_MEMORY_POOL": "jemalloc"})["ARROW_DEFAULT_MEMORY_POOL"]
    'jemalloc'
    """
    return {**KERNEL_ENV, **environ}


def _kernel_manager_class(started: "weakref.WeakSet[Any]") -> type:
    """papermill's kernel manager, registered in ``started`` (one run's kernels), that shuts the kernel down
    without interrupting it first: jupyter_client sends SIGINT before every shutdown, and an idle
    ipykernel then logs "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel." on stderr --
    noise in a scheduled run whose notebook already finished. Interrupts while the kernel runs
    (a cell timeout) are unchanged. The kernel starts with :func:`kernel_env`."""
    class ReportKernelManager(AsyncKernelManager):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            started.add(self)

        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            kw["env"] = kernel_env(kw.get("env") or os.environ)
            return await super()._async_pre_start_kernel(**kw)

        async def _async_interrupt_kernel(self) -> None:
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

        interrupt_kernel = _async_interrupt_kernel

    return ReportKernelManager


class _SavedAtEnds(NotebookExecutionManager):
    """papermill's run state, written to the executed notebook when the run starts and when it ends
    (papermill's ``finally``: also after a failed cell, a timeout or a dead kernel, so a failed run
    still keeps what ran) and at most every 30 s while the kernel sends messages (papermill's
    autosave, for long runs), but not before and after every cell as papermill does by default.
    The executed notebook sits in the run's private work folder until it is published, so nobody
    reads it mid-run; re-serialising it (its embedded PNG figures included) twice per cell, 150
    writes, cost about 0.5 s of a 7 s report run on a preset dataset."""

    _in_cell = False

    @contextlib.contextmanager
    def _unsaved(self):
        """papermill's per-cell bookkeeping without its save."""
        self._in_cell = True
        try:
            yield
        finally:
            self._in_cell = False

    def cell_start(self, cell: Any, cell_index: Any = None, **kwargs: Any) -> None:
        with self._unsaved():
            super().cell_start(cell, cell_index, **kwargs)

    def cell_complete(self, cell: Any, cell_index: Any = None, **kwargs: Any) -> None:
        with self._unsaved():
            super().cell_complete(cell, cell_index, **kwargs)

    def save(self, **kwargs: Any) -> None:
        if not self._in_cell:
            super().save(**kwargs)


class _ReportEngine(NBClientEngine):
    """papermill's nbclient engine with :class:`_SavedAtEnds` (papermill's ``Engine.execute_notebook``,
    its manager class changed)."""

    @classmethod
    def execute_notebook(cls, nb: Any, kernel_name: str, output_path: Any = None, progress_bar: bool = True,
                         log_output: bool = False, autosave_cell_every: int = 30, **kwargs: Any) -> Any:
        nb_man = _SavedAtEnds(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                              autosave_cell_every=autosave_cell_every)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb


ENGINE = "qakit-report"
papermill_engines.register(ENGINE, _ReportEngine)


def _kill_kernels(started: "weakref.WeakSet[Any]") -> None:
    """Kill the kernels a report run started and did not shut down (the run was interrupted)."""
    for km in list(started):
        process = getattr(getattr(km, "provisioner", None), "process", None)
        if process is not None and process.poll() is None:
            process.kill()
            try:
                process.wait(timeout=10)
            except Exception:  # pragma: no cover - a kernel that survives SIGKILL
                pass
        started.discard(km)


class ReportTerminated(BaseException):
    """The run received SIGTERM (or SIGHUP): its work folder, kernel and sockets are removed and
    nothing is published. A ``BaseException`` (like ``KeyboardInterrupt``) so that no
    ``except Exception`` on the way swallows it."""


def _on_signal(signum: int, frame: Any) -> None:
    raise ReportTerminated(f"terminated by {signal.Signals(signum).name}")


class ReportError(QakitError):
    """A report run failed; the previous good report is untouched."""


@dataclass(frozen=True)
class ReportResult:
    """Where a successful run put its files."""

    html: Path
    notebook: Path
    parameters: dict[str, Any]


def notebook_parameters(notebook: str | Path = DEFAULT_NOTEBOOK) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares in its ``parameters`` cell (papermill's view).

    Returns a mapping name -> {"type", "default", "help"}.
    """
    try:
        params = pm.inspect_notebook(str(notebook))
    except (ValueError, KeyError, TypeError, OSError, UnicodeError) as e:  # nbformat's NotJSONError is a ValueError
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise ParameterError(f"report notebook {str(notebook)!r} (--notebook) is not a readable Jupyter notebook "
                             f"({first})") from None
    return {k: {"type": v["inferred_type_name"], "default": v["default"], "help": v["help"]}
            for k, v in params.items()}


def load_parameters(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Parameters from a YAML file (safe loading) updated with ``overrides``."""
    params: dict[str, Any] = {}
    if path:
        p = Path(path)
        if not p.is_file():
            raise ParameterError(f"parameter file not found: {str(p)!r}")
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8-sig"))
        except yaml.YAMLError as e:
            raise ParameterError(f"{p.name}: not a safe YAML parameter file ({str(e).splitlines()[0]})") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, Mapping):
            raise ParameterError(f"{p.name}: parameters must be a mapping of name: value; got {type(loaded).__name__}")
        params.update(loaded)
    params.update(overrides or {})
    return params


def check_parameters(params: Mapping[str, Any], notebook: str | Path = DEFAULT_NOTEBOOK) -> None:
    """Refuse parameters the notebook does not declare (papermill would only warn)."""
    declared = notebook_parameters(notebook)
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise ParameterError(
            f"unknown report parameter(s) {unknown}; the notebook {Path(notebook).name} declares: {sorted(declared)}"
        )


def export_html(notebook_path: str | Path) -> str:
    """Static, self-contained HTML of an executed notebook (code hidden, figures embedded).

    The report is static (tables and embedded PNG figures), so every ``<script>`` block the
    nbconvert template adds (require.js, MathJax, a mermaid loader importing from a CDN) is
    removed; the result is checked to load nothing from the network.
    """
    nb = nbformat.read(str(notebook_path), as_version=4)
    nb.metadata.pop("widgets", None)  # static report: no live widgets
    title = _report_title(nb)
    if title:
        nb.metadata["title"] = title  # the browser tab and the PDF name the scope and period
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    body, _ = exporter.from_notebook_node(nb)
    body = _SCRIPT.sub("", body)
    if _REMOTE.search(body):
        raise ReportError(f"the HTML of {Path(notebook_path).name} still references a remote resource: "
                          f"{_REMOTE.search(body).group(0)[:120]!r}")
    return body


def _report_title(nb: Any) -> str | None:
    """The title the report's first output declares (``data-qakit-title``), for ``<title>``."""
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            m = re.search(r'data-qakit-title="([^"]*)"', str(o.get("data", {}).get("text/html", "")))
            if m:
                return _html.unescape(m.group(1))
    return None


def run_report(
    parameters: Mapping[str, Any] | None = None,
    *,
    output_dir: str | Path = "reports",
    notebook: str | Path = DEFAULT_NOTEBOOK,
    name: str = "qa-report",
    progress: bool = True,
    timeout: int = 600,
) -> ReportResult:
    """Run the report notebook with papermill and publish ``<output_dir>/<name>.html``.

    Parameters
    ----------
    parameters : mapping, optional
        Values for the notebook's ``parameters`` cell; unknown names are refused.
    output_dir : str or Path, default="reports"
    notebook : str or Path, default=notebooks/report.ipynb
    name : str, default="qa-report"
        Base name of the outputs: ``<name>.html`` and the executed ``<name>.ipynb``.
    progress : bool, default=True
        papermill's cell progress bar.
    timeout : int, default=600
        Seconds a single cell may run.

    Returns
    -------
    ReportResult

    Raises
    ------
    ReportError
        The run failed; ``<name>.failed.ipynb`` holds the executed notebook, and the last good
        ``<name>.html`` is untouched.
    """
    params = dict(parameters or {})
    notebook = Path(notebook)
    if not notebook.is_file():
        raise ParameterError(f"report notebook not found (--notebook): {str(notebook)!r}"
                             + (" is a folder" if notebook.is_dir() else ""))
    if notebook.suffix != ".ipynb":
        raise ParameterError(f"report notebook (--notebook) must be a .ipynb file; got {str(notebook)!r}")
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise ParameterError(f"name must use letters, digits, '.', '_' or '-' only; got {name!r}")
    if not notebook_parameters(notebook):
        raise ParameterError(f"report notebook {str(notebook)!r} (--notebook) has no parameters cell (a cell "
                             "tagged 'parameters'): it is not a qakit report notebook")
    check_parameters(params, notebook)
    params = check_report_parameters(params, notebook_parameters(notebook))  # paths resolved, values checked
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"output folder (--output) {str(out)!r} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=out, prefix=".qakit-write-test-")
        probe.close()
    except OSError as e:
        raise ParameterError(f"output folder (--output) {str(out)!r} cannot be written: "
                             f"{e.strerror or type(e).__name__}") from None
    # SIGTERM / SIGHUP (cron, systemd, a scheduler's timeout) must not leave the work folder, the
    # kernel, its sockets or its connection file behind: turn them into an exception so every
    # ``finally`` below runs (signal handlers can only be set from the main thread)
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if sig is not None:
                handlers[sig] = signal.signal(sig, _on_signal)
    work = sockets = None
    kernels: "weakref.WeakSet[Any]" = weakref.WeakSet()
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out))
        executed = work / f"{name}.ipynb"
        failed = out / f"{name}.failed.ipynb"
        tables = f"{name}-tables"  # the report's full tables as CSV, published next to it
        if "csv_folder" in notebook_parameters(notebook) and not params.get("csv_folder"):
            params["csv_folder"] = str((work / tables).resolve())
        sockets = tempfile.mkdtemp(prefix="qakit-k") if os.name == "posix" else None
        try:
            pm.execute_notebook(str(notebook), str(executed), parameters=params, kernel_name=KERNEL,
                                engine_name=ENGINE, progress_bar=progress, cwd=str(notebook.parent), execution_timeout=timeout,
                                kernel_manager_class=_kernel_manager_class(kernels),
                                **({"config": _ipc_kernel_config(sockets)} if sockets else {}))
        except Exception as e:  # papermill raises PapermillExecutionError and kernel errors
            if executed.exists():
                os.replace(executed, failed)
            reason = getattr(e, "ename", type(e).__name__)
            evalue = getattr(e, "evalue", str(e)).strip().splitlines()
            raise ReportError(
                f"report run failed: {reason}: {evalue[0] if evalue else ''} "
                f"(executed notebook kept at {failed}; previous report untouched)"
            ) from e
        try:
            html = export_html(executed)
        except Exception as e:  # nbconvert, a template, a remote resource: keep what ran for debugging
            os.replace(executed, failed)
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ReportError(f"report export failed: {type(e).__name__}: {first} (executed notebook kept at "
                              f"{failed}; previous report untouched)") from e
        tmp_html = work / f"{name}.html"
        tmp_html.write_text(html, encoding="utf-8")
        final_nb, final_html = out / f"{name}.ipynb", out / f"{name}.html"
        os.replace(executed, final_nb)
        if (work / tables).is_dir():
            _publish_folder(work / tables, out / tables, work)
        os.replace(tmp_html, final_html)
        stale = out / f"{name}.failed.ipynb"
        if stale.exists():
            stale.unlink()
        return ReportResult(html=final_html, notebook=final_nb, parameters=params)
    finally:
        for sig in handlers:  # a second signal must not cut the clean-up short
            signal.signal(sig, signal.SIG_IGN)
        _kill_kernels(kernels)
        if sockets:
            shutil.rmtree(sockets, ignore_errors=True)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
        for sig, previous in handlers.items():
            signal.signal(sig, previous)
