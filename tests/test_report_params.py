"""Report parameters are checked in the caller's process, before a kernel starts: one line naming the
parameter and what is allowed; relative paths resolve against the caller's working folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from qakit import cli, datasets
from qakit.errors import ParameterError
from qakit.report.run import DEFAULT_NOTEBOOK, notebook_parameters
from qakit.report.params import check_report_parameters, group_columns, resolve_paths


@pytest.fixture(scope="module")
def declared():
    return notebook_parameters(DEFAULT_NOTEBOOK)


def test_wrong_values_name_the_parameter_and_what_is_allowed(declared):
    with pytest.raises(ParameterError, match=r"^start must be a date YYYY-MM-DD \(e\.g\. 2026-09-01\) or empty; got '2026-13-01'$"):
        check_report_parameters({"start": "2026-13-01"}, declared)
    with pytest.raises(ParameterError, match=r"^min_n must be an integer; got 'abc'$"):
        check_report_parameters({"min_n": "abc"}, declared)
    with pytest.raises(ParameterError, match=r"^min_n must be an integer >= 0; got -1$"):
        check_report_parameters({"min_n": -1}, declared)
    with pytest.raises(ParameterError, match=r"^period must be one of D, W, M, Q .*got 'X'$"):
        check_report_parameters({"period": "X"}, declared)
    with pytest.raises(ParameterError, match=r"^end \(2026-08-01\) is before start \(2026-09-01\)$"):
        check_report_parameters({"start": "2026-09-01", "end": "2026-08-01"}, declared)
    with pytest.raises(ParameterError, match=r"^cost_per_contact must be a number; got 'five'$"):
        check_report_parameters({"cost_per_contact": "five"}, declared)


def test_group_by_must_be_a_column_the_dataset_has(declared):
    """The sample's ratings and conversations columns (read from the Parquet headers), minus ids,
    timestamps and measurements, are the allowed groupings."""
    import pyarrow.parquet as pq

    folder = datasets.sample_data_dir()
    cols = list(pq.read_schema(folder / "ratings.parquet").names)
    cols += [c for c in pq.read_schema(folder / "conversations.parquet").names if c not in cols]
    allowed = group_columns({"dataset": "sample"})
    assert set(allowed) <= set(cols)
    assert {"agent_id", "reviewer_id", "team", "channel", "priority"} <= set(allowed)
    assert not {"review_id", "created_at", "rating", "customer_value"} & set(allowed)
    with pytest.raises(ParameterError, match=r"^group_by must be a column .*\(agent_id, .*team.*\) or empty for the default; got 'region'$"):
        check_report_parameters({"group_by": "region"}, declared)
    assert check_report_parameters({"group_by": "channel"}, declared)["group_by"] == "channel"


def test_relative_paths_resolve_against_the_callers_folder(tmp_path, monkeypatch, declared):
    (tmp_path / "some" / "data").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    out = check_report_parameters({"dataset": "some/data", "start": "2026-09-01"}, declared)
    assert out["dataset"] == str(tmp_path / "some" / "data")
    assert resolve_paths({"scorecard_path": "card.yaml", "dataset": "sample"}, cwd="/x") == {
        "scorecard_path": str(Path("/x/card.yaml")), "dataset": "sample"}
    with pytest.raises(ParameterError, match=r"^dataset must be 'sample' or an existing folder; got 'nope' \(resolved to .*nope\)$"):
        check_report_parameters({"dataset": "nope"}, declared)
    with pytest.raises(ParameterError, match=r"^scorecard_path: file not found: 'card\.yaml'"):
        check_report_parameters({"scorecard_path": "card.yaml"}, declared)


def test_cli_refuses_bad_values_in_one_line_without_starting_a_kernel(capsys, tmp_path):
    """cli.main returns 2 (a usage error, found before any kernel starts) and prints exactly one
    stderr line; nothing is written to --output."""
    for argv, expected in [
        (["-p", "start", "2026-13-01"], "qakit report: start must be a date YYYY-MM-DD (e.g. 2026-09-01) or empty; got '2026-13-01'"),
        (["-p", "min_n", "abc"], "qakit report: min_n must be an integer; got 'abc'"),
        (["-p", "group_by", "region"], "qakit report: group_by must be a column of the dataset's ratings or conversations"),
        (["-p", "last_days", "-3"], "qakit report: last_days must be a whole number of days >= 0 (0 = all data); got -3"),
        (["-p", "last_days", "2.5"], "qakit report: last_days must be an integer; got 2.5"),
        (["-p", "last_days", "28", "-p", "start", "2026-10-01"], "qakit report: last_days cannot be combined with start"),
        (["-p", "engine", "spark"], "qakit report: engine must be one of pandas, duckdb; got 'spark'"),
        (["-p", "nope", "1"], "qakit report: unknown report parameter(s) ['nope']"),
        (["--params", str(tmp_path / "missing.yaml")], "qakit report: parameter file not found"),
    ]:
        code = cli.main(["report", *argv, "--output", str(tmp_path / "out"), "--no-progress"])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and err[0].startswith(expected), err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_exit_codes_agree_in_code_docstring_and_help(capsys):
    """Usage errors exit 2 (argparse's own too), a failed run 1 (tests/test_report_hygiene.py runs
    one); the module docstring and --help say the same."""
    with pytest.raises(SystemExit) as e:
        cli.main(["report", "--no-such-option"])
    assert e.value.code == 2
    capsys.readouterr()
    with pytest.raises(SystemExit):
        cli.main(["report", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "exit codes: 0 success; 1 the report run failed" in text and "2 usage or parameter error" in text
    doc = " ".join(cli.__doc__.split())
    assert "1 the report run failed" in doc and "2 a usage or parameter error" in doc
    assert cli.EXIT_CODES[1].startswith("the report run failed") and cli.EXIT_CODES[2].startswith("usage or parameter")


def test_last_days_and_engine_are_checked_by_meaning(declared):
    assert check_report_parameters({"last_days": 28, "engine": "duckdb"}, declared) == {"last_days": 28, "engine": "duckdb"}
    with pytest.raises(ParameterError, match=r"^last_days must be an integer; got 'abc'$"):
        check_report_parameters({"last_days": "abc"}, declared)
    with pytest.raises(ParameterError, match=r"^last_days must be a whole number of days >= 0 \(0 = all data\); got -1$"):
        check_report_parameters({"last_days": -1}, declared)
    with pytest.raises(ParameterError, match=r"^last_days cannot be combined with start \(2026-10-01\)"):
        check_report_parameters({"last_days": 7, "start": "2026-10-01"}, declared)
    with pytest.raises(ParameterError, match=r"^engine must be one of pandas, duckdb; got 'polars'$"):
        check_report_parameters({"engine": "polars"}, declared)


def test_help_lists_the_notebook_parameters_with_types_defaults_and_help(capsys, declared):
    with pytest.raises(SystemExit):
        cli.main(["report", "--help"])
    text = capsys.readouterr().out
    for name, p in declared.items():
        assert f"  {name} ({p['type']}, default {p['default']})" in text
    assert "first day of the period, YYYY-MM-DD" in text
