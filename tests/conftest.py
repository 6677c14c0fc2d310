"""Shared fixtures."""

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ../shared/data (real public datasets).

    Missing folder: the test fails under CI=true (CI must run these tests) and skips otherwise,
    with the reason said out loud.
    """
    if not SHARED_DATA.is_dir():
        msg = f"real datasets not found at {SHARED_DATA}"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(msg + " (CI=true: these tests must run)")
        pytest.skip(msg)
    return SHARED_DATA


#: the files that take longest (whole suite, one xdist worker each, this 2-core machine: seconds,
#: rounded; measured 2026-12-07 with the machine shared (load ~4, about 1.7x a quiet run; only the
#: order and the ratios matter), test_browser.py without a 60 s browser time-out), longest first.
#: ``./qa test`` hands files to its two workers in collection order
#: (``--dist loadfile --no-loadscope-reorder``), so these start first and the short files fill in
#: at the end: the two workers finish close together (that run: 658 s and 657 s of tests). (xdist's
#: own order, by number of tests, left the few-test, minute-long files - report runs, browsers - to
#: the end.) A file not listed keeps its place after them; a stale number only costs balance, never
#: a test.
LONGEST_FIRST = {
    "tests/test_engines_parity.py": 250, "tests/test_explorer_layout.py": 112, "tests/test_report_browser.py": 89,
    "tests/test_report_presets.py": 81, "tests/test_report_scale.py": 62, "tests/test_common.py": 60,
    "tests/test_browser.py": 45, "tests/test_scorecard_properties.py": 44, "tests/test_notebooks.py": 37,
    "tests/test_autoqa_learned.py": 32, "tests/test_coaching.py": 30, "tests/test_explorer_ui.py": 30,
    "tests/test_cli.py": 25, "tests/test_report_hygiene.py": 25, "tests/test_autoqa_rules.py": 24,
    "tests/test_sampling.py": 23, "tests/test_report_struct.py": 23, "tests/test_autoqa_hostile.py": 20,
    "tests/test_engine_properties.py": 17, "tests/test_headline_tiles.py": 15, "tests/test_columnar_contract.py": 14,
    "tests/test_exports.py": 13, "tests/test_health.py": 13, "tests/test_report_view.py": 12,
}


def pytest_collection_modifyitems(config, items):
    """``slow`` (``./qa test --fast`` leaves them out, ``./qa test`` and CI run them): the notebooks
    nbval re-runs (a kernel each) and the tests on the real datasets of ../shared/data (large files;
    every feature they check also has tests on hand-made or bundled data).

    Then the files in :data:`LONGEST_FIRST` order (a stable sort: the tests of a file keep their
    order, the other files theirs)."""
    for item in items:
        if item.path.suffix == ".ipynb" or "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: -LONGEST_FIRST.get(item.nodeid.split("::")[0], 0))
