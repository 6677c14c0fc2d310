"""Command line: ``qakit report`` (headless papermill report) and ``qakit explore`` (Voila app).

Exit codes (:data:`EXIT_CODES`, also in ``qakit report --help``): 0 success; 1 the report run failed
(one-line reason on stderr; the previous report untouched); 2 a usage or parameter error found before
any kernel starts (unknown option, unknown or wrong ``-p`` value, missing parameter file or dataset);
143 / 129 terminated by SIGTERM / SIGHUP (work folder, kernel and its files removed; nothing published).
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import textwrap
from pathlib import Path

import yaml

# The command's start: nbformat (for papermill and nbconvert) imports jsonschema, which imports the
# optional rfc3987_syntax when it is installed (jupyter's dependencies install it), and that module
# builds a Lark Earley parser of RFC 3987 at import: 1.15 s of the command's 3 s start, for the "iri"
# format checks of JSON schemas that nothing in this process asks for (jsonschema skips a checker
# whose module is missing). Only in this process (the command line), never where qakit is imported.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

from .commands import qakit_command  # noqa: F401  (re-exported: the command line's own name)
from .errors import ParameterError, QakitError
from .report.pdf import html_to_pdf
from .report.run import DEFAULT_NOTEBOOK, NOTEBOOK_DIR, ReportTerminated, load_parameters, notebook_parameters, run_report


#: what each exit code of ``qakit report`` means
EXIT_CODES = {0: "success", 1: "the report run failed (reason on stderr; previous report untouched)",
              2: "usage or parameter error, found before the report runs",
              143: "terminated by SIGTERM (nothing published)", 129: "terminated by SIGHUP (nothing published)"}


#: ``qakit explore``: seconds a kernel with no open tab may stay idle before it is shut down
CULL_AFTER = 120


def _show_progress(flag: bool | None, stream=None) -> bool:
    """Whether ``qakit report`` draws papermill's progress bar: as asked (``--progress`` /
    ``--no-progress``), else only on a terminal (a cron job or a pipe gets a quiet stderr).

    Examples
    --------
    >>> import io
    >>> _show_progress(None, io.StringIO()), _show_progress(True, io.StringIO()), _show_progress(False)
    (False, True, False)
    """
    if flag is not None:
        return bool(flag)
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


def explore_command(port: int = 8866, *, no_browser: bool = False, cull_after: int = CULL_AFTER) -> list[str]:
    """The Voila command ``qakit explore`` becomes.

    Kernels: Voila starts one per page load and never stops it when the tab closes (each holds
    the data, ~330 MB on the sample). Jupyter Server's culler shuts down a kernel that has had no
    connection and no activity for ``cull_after`` seconds, checked every ``cull_after / 4``
    seconds (at least 1), so a closed tab's kernel is gone within ``1.25 * cull_after`` seconds;
    a tab left open keeps its kernel (``cull_connected`` is off), and a busy kernel is not culled.

    Examples
    --------
    >>> [a for a in explore_command(cull_after=120) if "cull" in a]
    ['--MappingKernelManager.cull_idle_timeout=120', '--MappingKernelManager.cull_interval=30', '--MappingKernelManager.cull_connected=False', '--MappingKernelManager.cull_busy=False']
    """
    if cull_after < 0:
        raise ParameterError(f"--cull-after must be 0 (never) or a number of seconds > 0; got {cull_after}")
    cmd = [sys.executable, "-m", "voila", str(NOTEBOOK_DIR / "explorer.ipynb"), "--port", str(port),
           "--Voila.ip=127.0.0.1",
           # the notebook's checked-example cells are for nbval, not for the app (removed before running)
           "--TagRemovePreprocessor.remove_cell_tags=checked-example"]
    if cull_after:
        cmd += [f"--MappingKernelManager.cull_idle_timeout={cull_after}",
                f"--MappingKernelManager.cull_interval={max(1, cull_after // 4)}",
                "--MappingKernelManager.cull_connected=False", "--MappingKernelManager.cull_busy=False"]
    if no_browser:
        cmd.append("--no-browser")
    return cmd


def _parse_value(text: str):
    """``-p key value`` values are read as YAML scalars: 85 -> int, true -> bool, a -> str;
    dates stay text (``2026-09-01``), as the notebooks expect."""
    try:
        value = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError):  # ValueError: a date-like value that is no date (2026-13-01)
        return text
    return text if isinstance(value, (datetime.date, datetime.datetime)) else value


def parameters_help(notebook: str | Path = DEFAULT_NOTEBOOK) -> str:
    """The report parameters as ``qakit report --help`` lists them: name, type, default and help,
    read from the notebook's ``parameters`` cell."""
    lines = [f"report parameters (-p NAME VALUE), from {Path(notebook).name}:"]
    for name, p in notebook_parameters(notebook).items():
        text = str(p["help"]).removeprefix("help:").strip()
        lines.append(f"  {name} ({p['type']}, default {p['default']})")
        lines += textwrap.wrap(text, 96, initial_indent="      ", subsequent_indent="      ")
    lines.append("relative paths are read from the current folder; dates are YYYY-MM-DD.")
    lines.append("exit codes: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items()) + ".")
    return "\n".join(lines)


class _LazyEpilogParser(argparse.ArgumentParser):
    """Builds its epilog only when help is shown (reading the notebook needs papermill: slow to import)."""

    epilog_factory = None

    def format_help(self) -> str:
        if self.epilog_factory is not None and self.epilog is None:
            try:
                self.epilog = self.epilog_factory()
            except Exception as e:  # help must still print
                self.epilog = f"(report parameters unavailable: {e})"
        return super().format_help()


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="qakit", description="qakit: customer-service QA analysis kit")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_LazyEpilogParser)
    rp = sub.add_parser("report", help="run the QA/KPI report headless and write self-contained HTML",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    rp.epilog_factory = parameters_help
    rp.add_argument("--params", "-f", help="YAML file with report parameters")
    rp.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                    help="a single parameter (repeatable); overrides the YAML file")
    rp.add_argument("--output", "-o", default="reports", help="output folder (default: reports)")
    rp.add_argument("--name", default="qa-report", help="base file name (default: qa-report)")
    rp.add_argument("--notebook", default=str(DEFAULT_NOTEBOOK), help="report notebook to run")
    bar = rp.add_mutually_exclusive_group()
    bar.add_argument("--progress", action="store_true", default=None,
                     help="papermill's cell progress bar on stderr (default: only when stderr is a terminal, "
                          "so a scheduled run's log gets nothing there on success)")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    rp.add_argument("--timeout", type=int, default=600, help="seconds a cell may run")
    rp.add_argument("--pdf", action="store_true", help="also print the report to <name>.pdf (A4, headless Chromium)")
    ex = sub.add_parser("explore", help="serve the scorecard tuning explorer as a Voila app on localhost")
    ex.add_argument("--port", type=int, default=8866)
    ex.add_argument("--no-browser", action="store_true")
    ex.add_argument("--dataset", default="sample",
                    help="the data folder the explorer opens with (the report's dataset layout; default: the "
                         "bundled sample); another can be loaded in the page")
    ex.add_argument("--cull-after", type=int, default=CULL_AFTER, metavar="SECONDS",
                    help=f"shut down the kernel of a closed browser tab once it has been idle this long "
                         f"(default {CULL_AFTER}; 0 keeps kernels until the server stops). An open tab "
                         "keeps its kernel however long it stays idle.")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "report":
        try:
            params = load_parameters(args.params, {k: _parse_value(v) for k, v in args.parameter})
            res = run_report(params, output_dir=args.output, notebook=args.notebook, name=args.name,
                             progress=_show_progress(args.progress), timeout=args.timeout)
        except ParameterError as e:  # checked before any kernel starts: a usage error
            print(f"qakit report: {str(e).splitlines()[0]}", file=sys.stderr)
            return 2
        except QakitError as e:  # the run itself failed (ReportError)
            print(f"qakit report: {str(e).splitlines()[0]}", file=sys.stderr)
            return 1
        except ReportTerminated as e:  # SIGTERM / SIGHUP: cleaned up, nothing published
            print(f"qakit report: {e}; nothing published (previous report untouched)", file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
            # run_report already removed its files and killed its kernel; skip the interpreter's
            # teardown, where the abandoned kernel client's tasks would print "Kernel died" tracebacks
            os._exit(128 + (15 if "SIGTERM" in str(e) else 1))
        if args.pdf:
            try:
                print(f"pdf written: {html_to_pdf(res.html)}")
            except QakitError as e:
                print(f"qakit report: the HTML report is written, the PDF failed: {str(e).splitlines()[0]}", file=sys.stderr)
                return 1
        print(f"report written: {res.html}\nexecuted notebook: {res.notebook}")
        return 0
    if args.command == "explore":
        try:
            cmd = explore_command(args.port, no_browser=args.no_browser, cull_after=args.cull_after)
        except ParameterError as e:
            print(f"qakit explore: {e}", file=sys.stderr)
            return 2
        sys.stdout.flush()
        # Voila runs the notebook in notebooks/; the explorer resolves relative save paths and data
        # folders against the folder `qakit explore` was started from
        os.environ["QAKIT_CALLER_DIR"] = os.getcwd()
        os.environ["QAKIT_EXPLORE_DATASET"] = args.dataset  # read by ScorecardExplorer.from_dataset
        os.execv(sys.executable, cmd)  # become the Voila server: signals (Ctrl-C, kill) reach it directly
    return 2  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
