"""The memory budget of qakit's DuckDB connection (issue 23: the 100M-rating report under 4 GB)."""

from __future__ import annotations

import os

import pytest

import qakit.metrics._source as B
import qakit.report.data as D
from qakit.errors import ParameterError
from qakit.report.params import check_report_parameters


@pytest.fixture
def default_budget():
    """Whatever a test sets, the shared connection goes back to the default budget."""
    yield
    os.environ.pop(B.MEMORY_ENV, None)
    B.set_duckdb_memory()


def _setting(name: str) -> str:
    return str(B.duckdb_connection().execute(f"SELECT current_setting('{name}')").fetchall()[0][0])


@pytest.mark.parametrize("value, want", [
    ("2GB", 2 * 10**9),                   # decimal units, as DuckDB reads them
    ("512 MB", 512 * 10**6),
    ("1.5GiB", 1.5 * 2**30),              # 1,610,612,736 bytes
    ("64MiB", 64 * 2**20),                # the smallest accepted
    ("3000000000", 3 * 10**9),            # a bare number is bytes
])
def test_memory_amounts_read_as_bytes(value, want):
    assert B.memory_bytes(value) == int(want)


@pytest.mark.parametrize("value, says", [
    ("lots", "got 'lots'"), ("2 XB", "got '2 XB'"), ("-1GB", "got '-1GB'"), (3, "got 3"),
    ("10MB", "at least 64MiB"),
])
def test_a_bad_memory_amount_is_refused_by_name(value, says):
    with pytest.raises(ParameterError, match="engine_memory") as e:
        B.memory_bytes(value, "engine_memory")
    assert says in str(e.value)


def test_the_connection_has_a_budget_and_a_spill_folder(default_budget):
    """By default 2GB (DuckDB states 2,000,000,000 bytes rounded down to MiB: 1907 MiB = 1.8 GiB), not
    DuckDB's 80 % of the machine; a temporary spill folder that exists; set_duckdb_memory changes it."""
    assert _setting("memory_limit") == "1.8 GiB"
    spill = _setting("temp_directory")
    assert os.path.isdir(spill) and os.path.basename(spill).startswith("qakit-duckdb-")
    assert B.set_duckdb_memory("512MiB") == "512.0 MiB" == _setting("memory_limit")
    with pytest.raises(ParameterError, match="limit must be an amount of memory"):
        B.set_duckdb_memory("half")
    assert _setting("memory_limit") == "512.0 MiB"  # (a refused value changes nothing)


def test_the_environment_variable_sets_the_budget(default_budget, monkeypatch):
    monkeypatch.setenv(B.MEMORY_ENV, "3GiB")
    assert B.set_duckdb_memory() == "3.0 GiB"
    monkeypatch.setenv(B.MEMORY_ENV, "three")
    with pytest.raises(ParameterError, match="QAKIT_DUCKDB_MEMORY must be an amount of memory.*got 'three'"):
        B.set_duckdb_memory()


def test_the_report_parameter_is_checked_before_anything_runs(default_budget):
    with pytest.raises(ParameterError, match="engine_memory must be an amount of memory.*got '3 gigs'"):
        check_report_parameters({"engine_memory": "3 gigs"}, {"engine_memory": {"type": "str"}})
    assert check_report_parameters({"engine_memory": "3GB"}, {"engine_memory": {"type": "str"}}) == {"engine_memory": "3GB"}
    with pytest.raises(ParameterError, match="engine_memory must be at least 64MiB; got '1MB'|engine_memory must be at least"):
        D.load_report_data(engine="duckdb", engine_memory="1MB")
    with pytest.raises(ParameterError, match="engine_memory"):  # a typo is said on pandas too
        D.load_report_data(engine_memory="2 gigs")


@pytest.mark.slow  # the sample report on DuckDB twice
def test_numbers_do_not_depend_on_the_budget(default_budget):
    """The sample's DuckDB report with DuckDB held to 64 MiB (the smallest budget) and with the
    default: the same review scores, tiles and KPIs to the last bit, and the limit was in force."""
    import qakit.report.tiles as T

    small = D.load_report_data(engine="duckdb", engine_memory="64MiB")
    assert _setting("memory_limit") == "64.0 MiB"
    hs, ks = T.headline(small, {}), T.report_kpis(small)
    B.set_duckdb_memory()
    big = D.load_report_data(engine="duckdb")
    assert _setting("memory_limit") == "1.8 GiB"
    pd_eq = __import__("pandas").testing.assert_frame_equal
    pd_eq(small.scores, big.scores)
    pd_eq(hs, T.headline(big, {}))
    pd_eq(ks, T.report_kpis(big))


def test_a_duckdb_result_comes_to_pandas_as_duckdb_gives_it():
    """``collect`` takes a DuckDB result's text columns from Arrow (no Python string per value): the
    frame equals DuckDB's own ``df()`` - values, missing values, dtypes and column order - for text
    with nulls, integers, doubles, decimals, booleans with nulls, timestamps (UTC) and lists."""
    import narwhals as nw
    import pandas as pd

    con = B.duckdb_connection()
    sql = """SELECT CASE WHEN i % 3 = 0 THEN NULL ELSE 'id-' || i END AS a, i::INTEGER AS i, i / 4 AS d,
                    (i / 8)::DECIMAL(9, 3) AS dec, CASE WHEN i % 5 = 0 THEN NULL ELSE i % 2 = 0 END AS b,
                    TIMESTAMP '2026-03-29 00:30:00' + INTERVAL (i) HOUR AS t, 'x' AS const,
                    [i, i + 1] AS l FROM range(50) r(i)"""
    want = con.sql(sql).df()
    got = B.collect(nw.from_native(con.sql(sql)).lazy())
    want["t"] = want["t"].dt.tz_localize("UTC")  # (collect's documented rule: timestamps tz-aware UTC)
    assert list(got.columns) == list(want.columns) and got.dtypes.tolist() == want.dtypes.tolist()
    pd.testing.assert_frame_equal(got.drop(columns="l"), want.drop(columns="l"))
    assert [list(x) for x in got["l"]] == [[i, i + 1] for i in range(50)]
    assert got["a"].isna().sum() == 17 and got.loc[1, "a"] == "id-1"  # 0, 3, ..., 48: 17 missing
    empty = B.collect(nw.from_native(con.sql(sql + " LIMIT 0")).lazy())
    assert len(empty) == 0 and list(empty.columns) == list(want.columns)


@pytest.mark.skipif(os.name != "posix", reason="processes are probed with POSIX signal 0")
def test_spill_folders_of_killed_processes_are_removed_when_stale(tmp_path):
    """A killed process leaves its spill folder (no exit to remove it). By hand: four folders -- a
    process that ended, changed 25 h ago (removed); the same, changed 1 h ago (kept: younger than
    STALE_SPILL_S = 24 h); this running process, 25 h ago (kept); a folder not named by a process id
    (kept) -- and a file with a spill folder's name (kept)."""
    import subprocess
    import sys
    import time

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                           text=True, check=True)
    dead = int(ended.stdout)
    now = time.time()
    made = {}
    for key, name, age_h in (("old", f"qakit-duckdb-{dead}-abc", 25), ("young", f"qakit-duckdb-{dead}-def", 1),
                             ("live", f"qakit-duckdb-{os.getpid()}-ghi", 25), ("other", "qakit-duckdb-xyz", 25)):
        path = tmp_path / name
        path.mkdir()
        (path / "spill.block").write_bytes(b"x")
        os.utime(path, (now - age_h * 3600, now - age_h * 3600))
        made[key] = path
    afile = tmp_path / f"qakit-duckdb-{dead}-file"
    afile.write_text("not a folder")
    os.utime(afile, (now - 90000, now - 90000))
    assert B.STALE_SPILL_S == 24 * 3600
    assert B._remove_stale_spills(str(tmp_path), now=now) == [str(made["old"])]
    assert not made["old"].exists()
    assert all(made[k].is_dir() for k in ("young", "live", "other")) and afile.is_file()


def test_the_spill_folder_is_named_by_the_process(default_budget):
    spill = _setting("temp_directory")
    assert os.path.basename(spill).startswith(f"qakit-duckdb-{os.getpid()}-")


def test_the_reports_stored_scores_live_in_the_spill_folder(default_budget):
    """The DuckDB report's review scores are written inside this process's spill folder, so a killed
    kernel's scores are swept with it (the test above); they are removed as soon as the report's data
    is collected. IQS of the bundled sample on the stored file equals pandas' (1e-9)."""
    import gc
    import warnings

    import qakit.report.data as D
    import qakit.report.tiles as T

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dk = D.load_report_data(dataset="sample", engine="duckdb")
        pdata = D.load_report_data(dataset="sample")
        a = T.headline(pdata, {}).set_index("metric").loc["iqs", "value"]
        b = T.headline(dk, {}).set_index("metric").loc["iqs", "value"]
    assert abs(a - b) < 1e-9
    path = D.engine_table(dk, "scores")
    folder = os.path.dirname(path)
    assert os.path.dirname(folder) == _setting("temp_directory") and os.path.isfile(path)
    del dk
    gc.collect()
    assert not os.path.exists(folder)


def test_the_shared_connection_draws_no_progress_bar():
    """qakit's DuckDB connection has DuckDB's progress bar off: in a notebook a query over ~2 s drew an
    ipywidgets bar, which the saved 100M-rating report showed as lines of "FloatProgress(...)" text."""
    assert _setting("enable_progress_bar") == "False"
