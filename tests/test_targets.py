"""Target status bands, worked by hand."""

import pandas as pd
import pytest

from qakit.errors import ParameterError
from qakit.report.targets import DEFAULT_TARGETS, target_status


@pytest.mark.parametrize("value, status", [
    (85.0, "on target"),     # exactly the target counts as met
    (84.99, "at risk"),      # within 5 points below
    (80.0, "at risk"),       # 85 - 5 = 80 is the edge of the at-risk band
    (79.99, "off target"),
    (float("nan"), "no data"),
])
def test_higher_is_better_bands(value, status):
    res = target_status({"iqs": value}, {"iqs": {"target": 85, "owner": "QA lead"}})
    assert res.loc[0, "status"] == status and res.loc[0, "owner"] == "QA lead"


@pytest.mark.parametrize("value, status", [(4.0, "on target"), (5.0, "at risk"), (6.0, "at risk"), (6.5, "off target")])
def test_lower_is_better_bands(value, status):
    """First response target 4 h, margin 2 h: 4 met, up to 6 at risk, above off target."""
    res = target_status({"frt": value}, {"frt": {"target": 4, "direction": "lower", "margin": 2}})
    assert res.loc[0, "status"] == status


def test_defaults_cover_issue_targets():
    res = target_status({"iqs": 90, "csat": 70, "sla_high": 96}).set_index("kpi")
    assert res.loc[["iqs", "csat", "sla_high"], "status"].astype(str).tolist() == ["on target", "off target", "on target"]
    assert set(res.loc[res.index.difference(["iqs", "csat", "sla_high"]), "status"].astype(str)) == {"no data"}
    assert [DEFAULT_TARGETS[k]["target"] for k in ("iqs", "csat", "sla_high")] == [85, 90, 95]


@pytest.mark.parametrize("targets, match", [
    ({"iqs": {"target": "high"}}, r"'target' must be a finite number; got 'high'"),
    ({"iqs": {"target": 85, "owner": "x", "ownr": "y"}}, r"unknown key\(s\) \['ownr'\]"),
    ({"iqs": {"target": 85, "direction": "up"}}, "direction must be one of 'higher', 'lower'; got 'up'"),
    ({"iqs": {"target": 85, "margin": -1}}, "'margin' must be a number >= 0; got -1"),
    (["iqs"], "targets must be a mapping"),
])
def test_bad_targets(targets, match):
    with pytest.raises(ParameterError, match=match):
        target_status({"iqs": 1}, targets)
