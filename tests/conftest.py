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


def pytest_collection_modifyitems(config, items):
    """``slow`` (``./qa test --fast`` leaves them out, ``./qa test`` and CI run them): the notebooks
    nbval re-runs (a kernel each) and the tests on the real datasets of ../shared/data (large files;
    every feature they check also has tests on hand-made or bundled data)."""
    for item in items:
        if item.path.suffix == ".ipynb" or "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
