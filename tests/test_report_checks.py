"""The report's issue-26 sections (qakit.report.checks): shown when the data supports them, otherwise one
line in the "left out" list and no box."""

from __future__ import annotations

import pandas as pd
import pytest

import qakit.report.checks as K
import qakit.report.data as R
from qakit import datasets
from qakit.errors import DataValidationError


@pytest.fixture(scope="module")
def sample_data():
    data = R.load_report_data(dataset="sample")
    R.load_optional_tables(data, dataset="sample")
    K.prepare_checks(data)
    return data


def test_sample_supports_every_check(sample_data):
    d = sample_data
    assert not set(K.MISSING_EFFECT) & set(d.missing)
    agree = K.agreement_section(d)
    assert agree.frame["Category"].tolist() == datasets.load_sample_scorecard().category_names
    assert "Verdict" in agree.frame.columns and "Gwet's AC is AC2 (ordinal weights)" in agree.caption
    surveys = repr(K.survey_response_section(d))
    assert surveys.startswith("Only 30 % of the 24,475 customers asked answered.")
    fair = K.fair_comparison_section(d)
    assert set(fair.frame["Metric"]) == {"IQS", "CSAT (satisfied)", "AHT (s)", "Service level (answered calls)"}
    staff = K.staffing_section(d)
    assert len(staff.frame) == 12 and "Erlang C" in staff.caption


def test_answers_only_and_no_calibration_are_listed_once_not_boxed(tmp_path):
    """A folder with ratings, conversations and answered surveys only: agreement and survey response
    are listed in the left-out list; their cells show nothing; the comparison still runs (teams)."""
    for name in ("ratings", "conversations"):
        datasets.load_sample(name).to_parquet(tmp_path / f"{name}.parquet")
    sv = datasets.load_sample("surveys")
    sv[sv["score"].notna()].to_parquet(tmp_path / "surveys.parquet")
    (tmp_path / "scorecard.yaml").write_text(datasets.sample_scorecard_path().read_text())
    data = R.load_report_data(dataset=str(tmp_path))
    R.load_optional_tables(data, dataset=str(tmp_path))
    K.prepare_checks(data)
    assert data.missing["calibration"] == K.MISSING_EFFECT["calibration"]
    assert data.missing["survey invitations"] == K.MISSING_EFFECT["survey invitations"]
    assert "staffing" not in data.missing  # no calls at all: the calls line already says so
    assert repr(K.agreement_section(data)) == "" and repr(K.survey_response_section(data)) == ""
    assert repr(K.staffing_section(data)) == ""
    assert len(K.fair_comparison_section(data).frame) > 0


def test_calls_without_staffing_list_the_staffing_check(tmp_path):
    for name in ("ratings", "conversations", "surveys", "calls"):
        src = datasets.sample_data_dir() / f"{name}.parquet"
        (tmp_path / f"{name}.parquet").write_bytes(src.read_bytes())
    (tmp_path / "scorecard.yaml").write_text(datasets.sample_scorecard_path().read_text())
    data = R.load_report_data(dataset=str(tmp_path))
    R.load_optional_tables(data, dataset=str(tmp_path))
    K.prepare_checks(data)
    assert data.missing["staffing"] == K.MISSING_EFFECT["staffing"]


def test_bad_staffing_file_names_the_table(tmp_path):
    for name in ("ratings", "conversations", "surveys", "calls"):
        (tmp_path / f"{name}.parquet").write_bytes((datasets.sample_data_dir() / f"{name}.parquet").read_bytes())
    (tmp_path / "scorecard.yaml").write_text(datasets.sample_scorecard_path().read_text())
    pd.DataFrame({"interval_start": ["2026-08-03 09:00"], "agents": [-2.0]}).to_csv(tmp_path / "staffing.csv", index=False)
    data = R.load_report_data(dataset=str(tmp_path))
    R.load_optional_tables(data, dataset=str(tmp_path))
    with pytest.raises(DataValidationError, match="staffing.*agents.*below the minimum 0"):
        K.prepare_checks(data)
