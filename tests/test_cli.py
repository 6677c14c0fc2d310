"""The command line as a scheduler and a QA lead meet it (issue 27): the command the README and the
explorer print works in a fresh shell (nothing activated) from any folder; a successful scheduled
run prints nothing on stderr (no progress bar in a cron log); ``qakit explore`` asks the server to
shut down the kernels of closed tabs.

The runs use a tiny notebook written here (a kernel start is the only cost).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qakit.cli import CULL_AFTER, explore_command, main, qakit_command

from test_report_hygiene import tiny_notebook  # tests/ is on sys.path (rootdir conftest)

ROOT = Path(__file__).resolve().parents[1]


def report(args: list[str], tmp_path: Path, **kw) -> subprocess.CompletedProcess:
    """``qakit report`` in a subprocess with stderr a pipe (as under cron), Jupyter's runtime
    folder inside tmp_path."""
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    return subprocess.run([sys.executable, "-m", "qakit.cli", "report", *args], env=env, capture_output=True,
                          text=True, timeout=300, **kw)


def test_a_scheduled_run_is_quiet_on_stderr_without_being_told(tmp_path):
    """No --no-progress: stderr is not a terminal, so no progress bar; the run succeeds and stderr
    is empty. --progress asks for the bar anyway (papermill's 'Executing' on stderr)."""
    nb = tiny_notebook(tmp_path / "ok.ipynb", "print(seconds * 2)")
    quiet = report(["--notebook", str(nb), "--output", str(tmp_path / "a"), "-p", "seconds", "21"], tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert quiet.stdout.splitlines()[0] == f"report written: {tmp_path / 'a' / 'qa-report.html'}"
    loud = report(["--notebook", str(nb), "--output", str(tmp_path / "b"), "--progress"], tmp_path)
    assert loud.returncode == 0, loud.stderr
    assert "Executing" in loud.stderr and "2/2" in loud.stderr  # the bar, by request: both cells


def test_progress_and_no_progress_cannot_both_be_given(capsys):
    with pytest.raises(SystemExit) as e:
        main(["report", "--progress", "--no-progress"])
    assert e.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.skipif(os.name != "posix", reason="the qa script is bash")
def test_the_printed_command_works_in_a_fresh_shell_from_another_folder(tmp_path):
    """What the explorer prints (qakit_command + report) run by `env -i` bash: no virtual environment,
    no PATH but /usr/bin:/bin, started in another folder. The report lands under that folder (relative
    --output read from there) and stderr stays empty."""
    nb = tiny_notebook(tmp_path / "ok.ipynb", "print(seconds + 1)")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    program = qakit_command()
    assert program == [str(ROOT / "qa")]  # in a checkout: its runner, by full path
    cmd = " ".join([*program, "report", "--notebook", str(nb), "-p", "seconds", "41"])
    run = subprocess.run(["env", "-i", "PATH=/usr/bin:/bin", f"HOME={tmp_path}", "LANG=C.UTF-8", "bash", "-c",
                          f"cd {elsewhere} && {cmd}"], capture_output=True, text=True, timeout=400)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stderr == ""
    assert run.stdout.splitlines()[0] == "report written: reports/qa-report.html"
    import nbformat

    executed = nbformat.read(elsewhere / "reports" / "qa-report.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "42\n"


def test_explore_asks_the_server_to_cull_closed_tabs_kernels():
    """Jupyter Server's culler settings (jupyter_server.services.kernels.kernelmanager): idle
    timeout, check interval (a quarter of it), connected kernels (open tabs) and busy kernels kept."""
    cmd = explore_command(8866, cull_after=120)
    assert cmd[:3] == [sys.executable, "-m", "voila"]
    assert "--MappingKernelManager.cull_idle_timeout=120" in cmd
    assert "--MappingKernelManager.cull_interval=30" in cmd
    assert "--MappingKernelManager.cull_connected=False" in cmd and "--MappingKernelManager.cull_busy=False" in cmd
    assert CULL_AFTER == 120 and "--MappingKernelManager.cull_idle_timeout=120" in explore_command()
    assert not any("cull" in a for a in explore_command(cull_after=0))  # 0: keep kernels


def test_explore_refuses_a_negative_cull_time(capsys):
    assert main(["explore", "--cull-after", "-5", "--no-browser"]) == 2
    assert capsys.readouterr().err.strip() == (
        "qakit explore: --cull-after must be 0 (never) or a number of seconds > 0; got -5")
