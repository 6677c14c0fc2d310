"""Failure hygiene of scheduled report runs (issue 12): SIGTERM mid-run leaves nothing behind,
an export-time failure and a kernel that dies mid-run keep the executed notebook, a validation
failure's one line names the column, a successful run is silent on stderr; report tables hash
customer ids and the data-quality table lists what the reader changed.

Most runs use a tiny notebook written here (a kernel start is the only cost); the report notebook
itself runs once, on data with a defect, and stops at loading.
"""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

import qakit.report.run as REP
import qakit.report.data as D
import qakit.report.study as R
from qakit import datasets
from qakit.report.display import hash_ids
from qakit.report.run import ReportError, run_report


def tiny_notebook(path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("seconds: int = 0  # help: how long the run sleeps")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, str(path))
    return path


def cli(args: list[str], tmp_path: Path, **kw) -> subprocess.Popen:
    """The CLI in a subprocess whose temporary and Jupyter runtime folders are inside tmp_path,
    so anything it leaves behind is visible."""
    (tmp_path / "tmp").mkdir(exist_ok=True)
    (tmp_path / "runtime").mkdir(exist_ok=True)
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    return subprocess.Popen([sys.executable, "-m", "qakit.cli", "report", *args, "--no-progress"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def processes_mentioning(text: str) -> list[str]:
    found = []
    for f in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            if text.encode() in Path(f).read_bytes():
                found.append(f)
        except OSError:
            pass
    return found


def assert_nothing_left(tmp_path: Path, out: Path) -> None:
    assert list(out.glob(".qa-report-*")) == [], "work folder left behind"
    assert os.listdir(tmp_path / "tmp") == [], "kernel socket folder left behind"
    assert os.listdir(tmp_path / "runtime") == [], "kernel connection file left behind"
    deadline = time.time() + 10
    while processes_mentioning(str(tmp_path / "tmp")) and time.time() < deadline:
        time.sleep(0.2)
    assert processes_mentioning(str(tmp_path / "tmp")) == [], "kernel still running"


@pytest.mark.slow  # a papermill run of the report notebook
@pytest.mark.skipif(os.name != "posix", reason="SIGTERM and /proc are POSIX")
def test_sigterm_mid_run_leaves_nothing_behind(tmp_path):
    nb = tiny_notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(120)")
    out = tmp_path / "out"
    proc = cli(["--notebook", str(nb), "--output", str(out)], tmp_path)
    t0 = time.time()
    while not glob.glob(str(tmp_path / "tmp" / "qakit-k*" / "kernel.json")) and time.time() - t0 < 120:
        time.sleep(0.1)
    assert list(out.glob(".qa-report-*")), "the run never started"
    time.sleep(2)  # the kernel is now inside time.sleep(120)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert err.strip().splitlines()[-1] == "qakit report: terminated by SIGTERM; nothing published (previous report untouched)"
    assert_nothing_left(tmp_path, out)
    assert not (out / "qa-report.html").exists()


@pytest.mark.slow  # a papermill run of the report notebook
def test_successful_run_is_silent_on_stderr(tmp_path, monkeypatch):
    """...and its kernel allocates Arrow memory with malloc (``KERNEL_ENV``: the caller did not choose
    a pool; mimalloc would keep the memory of freed 10M-row results)."""
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    nb = tiny_notebook(tmp_path / "ok.ipynb", "import pyarrow as pa\nprint(seconds + 1, pa.default_memory_pool().backend_name)")
    out = tmp_path / "out"
    proc = cli(["--notebook", str(nb), "--output", str(out), "-p", "seconds", "41"], tmp_path)
    stdout, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert err == ""  # no "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel." (cron mails stderr)
    assert stdout.splitlines()[0] == f"report written: {out / 'qa-report.html'}"
    executed = nbformat.read(out / "qa-report.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "42 system\n"
    assert_nothing_left(tmp_path, out)


@pytest.mark.slow  # a papermill run of the report notebook
def test_export_failure_keeps_the_executed_notebook(tmp_path, monkeypatch):
    """The notebook ran but the HTML export failed: <name>.failed.ipynb holds what ran, the
    previous report is untouched, no work folder is left."""
    nb = tiny_notebook(tmp_path / "ok.ipynb", "print('ran')")
    out = tmp_path / "out"
    out.mkdir()
    (out / "qa-report.html").write_text("previous good report")

    def broken(path):
        raise RuntimeError("template 'lab' not found")

    monkeypatch.setattr(REP, "export_html", broken)
    with pytest.raises(ReportError, match=r"^report export failed: RuntimeError: template 'lab' not found "
                                          r"\(executed notebook kept at .*qa-report\.failed\.ipynb; previous report untouched\)$"):
        run_report({}, output_dir=out, notebook=nb, progress=False, timeout=120)
    kept = nbformat.read(out / "qa-report.failed.ipynb", as_version=4)
    assert kept.cells[-1].outputs[0]["text"] == "ran\n"
    assert (out / "qa-report.html").read_text() == "previous good report"
    assert list(out.glob(".qa-report-*")) == []


@pytest.mark.slow  # a kernel start
def test_a_kernel_that_dies_mid_run_keeps_what_ran(tmp_path):
    """The kernel dies mid-run (the OOM killer, a crash): a ReportError, and <name>.failed.ipynb holds
    the cells that ran before it, with their outputs (papermill writes the run state when the run
    ends, also after a failure; not after every cell), no work folder is left."""
    nb = tiny_notebook(tmp_path / "dies.ipynb", "print('ran')")
    book = nbformat.read(nb, as_version=4)
    book.cells.append(nbformat.v4.new_code_cell("import os\nos._exit(1)"))
    nbformat.write(book, str(nb))
    out = tmp_path / "out"
    with pytest.raises(ReportError, match=r"^report run failed: .*\(executed notebook kept at .*qa-report\.failed\.ipynb; "
                                          r"previous report untouched\)$"):
        run_report({}, output_dir=out, notebook=nb, progress=False, timeout=120)
    kept = nbformat.read(out / "qa-report.failed.ipynb", as_version=4)
    ran = [c for c in kept.cells if c.source == "print('ran')"]
    assert len(ran) == 1 and ran[0].outputs[0]["text"] == "ran\n"
    assert list(out.glob(".qa-report-*")) == [] and not (out / "qa-report.html").exists()


def defective_dataset(folder: Path, *, conversations_edit) -> Path:
    folder.mkdir()
    for name in ("ratings", "conversations", "surveys"):
        df = datasets.load_sample(name)
        if name == "conversations":
            df = conversations_edit(df)
        df.to_parquet(folder / f"{name}.parquet")
    (folder / "scorecard.yaml").write_text(datasets.sample_scorecard_path().read_text())
    return folder


@pytest.mark.slow  # a papermill run of the report notebook
def test_validation_failure_line_names_the_column_and_rows(tmp_path):
    """Agent ids 'A07' and 'a07' (case only) in the conversations: the run fails and the one
    line on stderr names the table, the column, both spellings' check and row ids."""
    def edit(df):
        first = df.index[df["agent_id"].eq("A07")][:3]
        df.loc[first, "agent_id"] = "a07"
        return df

    folder = defective_dataset(tmp_path / "data", conversations_edit=edit)
    c = pd.read_parquet(folder / "conversations.parquet")
    rows = c.loc[c["agent_id"].str.upper().eq("A07"), "conversation_id"].tolist()
    out = tmp_path / "out"
    proc = cli(["-p", "dataset", str(folder), "--output", str(out)], tmp_path)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("qakit report: report run failed: DataValidationError: 1 problem in table 'conversations': "
                           "column 'agent_id' ids that differ only by case or width are not merged silently: 'A07' / 'a07'")
    assert f"({len(rows)} rows, e.g. '{rows[0]}', '{rows[1]}')" in last
    assert (out / "qa-report.failed.ipynb").exists()
    assert_nothing_left(tmp_path, out)


@pytest.mark.slow  # a papermill run of the report notebook
def test_data_quality_lists_what_the_reader_changed(tmp_path):
    """Every 10th conversation's agent id gets a trailing space: the data-quality table has one
    line for it with the count of changed rows (plain pandas: index % 10 == 0)."""
    folder = defective_dataset(tmp_path / "data", conversations_edit=lambda df: df.assign(
        agent_id=df["agent_id"].where(df.index % 10 != 0, df["agent_id"] + " ")))
    expected = int((pd.read_parquet(folder / "conversations.parquet")["agent_id"].str.endswith(" ")).sum())
    data = D.load_report_data(dataset=str(folder))
    q = R.data_quality(data).set_index("used for").loc["kept, changed when read"]
    assert q["table"] == "conversations" and q["n"] == expected == 3000
    assert q["reason"].startswith("agent_id: 40 values normalised (whitespace/Unicode form), e.g. 'A")
    assert data.conversations["agent_id"].str.endswith(" ").sum() == 0


def test_group_by_customer_id_shows_hashed_ids():
    """iqs_table(by="customer_id"): one row per customer of the scored reviews, ids hashed like
    the rest of the report; review counts add up to the reviews scored."""
    data = D.load_report_data()
    t = R.iqs_table(data, by="customer_id")
    conv = data.conversations[["conversation_id", "customer_id"]]
    scored = data.scores[data.scores["iqs"].notna()].merge(conv, on="conversation_id", how="left")
    counts = scored.groupby("customer_id").size()
    by_hash = dict(zip(hash_ids(pd.Series(counts.index)), counts.to_numpy()))
    assert len(t) > 0 and set(t["customer_id"]) <= set(by_hash)  # the table shows the first rows only
    assert [by_hash[h] for h in t["customer_id"]] == t["n"].tolist()
    assert not t["customer_id"].isin(set(conv["customer_id"])).any()


def _dataset(folder: Path, edit, suffix: str) -> Path:
    folder.mkdir()
    for name in ("ratings", "conversations", "surveys"):
        df = edit(name, datasets.load_sample(name))
        if suffix == ".csv":
            df.to_csv(folder / f"{name}.csv", index=False)
        else:
            df.to_parquet(folder / f"{name}.parquet")
    (folder / "scorecard.yaml").write_text(datasets.sample_scorecard_path().read_text())
    return folder


def _us_dates(name, df):
    """created_at written mm/dd/yyyy for days 1-12 only: every slash date is ambiguous."""
    if name == "conversations":
        keep = df["created_at"].dt.day <= 12
        df = df[keep].reset_index(drop=True)
        df["created_at"] = df["created_at"].dt.strftime("%m/%d/%Y %H:%M")
    return df


def _float_review_ids(name, df):
    if name == "ratings":
        codes = pd.factorize(df["review_id"])[0]
        df["review_id"] = (codes.astype("float64") + 1) * 1e17  # distinct numbers, not exact as floats
    return df


@pytest.mark.parametrize("edit, suffix, column, check", [
    (_us_dates, ".csv", "created_at", "ambiguous day/month order"),
    (_float_review_ids, ".parquet", "review_id", "id stored as a float of magnitude >= 2**53"),
])
@pytest.mark.slow  # a papermill run of the report notebook
def test_report_data_with_a_defect_fails_naming_the_column(tmp_path, edit, suffix, column, check):
    """The report's loader (what `qakit report -p dataset FOLDER` runs first) refuses the file
    with a first line naming the column, the check and example rows."""
    from qakit.errors import DataValidationError

    folder = _dataset(tmp_path / "data", edit, suffix)
    with pytest.raises(DataValidationError) as info:
        D.load_report_data(dataset=str(folder))
    first = str(info.value).splitlines()[0]
    assert f"column '{column}' {check}" in first and "rows, e.g. '" in first
