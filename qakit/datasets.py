"""The bundled sample data, loaded without relying on the working directory.

Files live in ``data/`` at the root of the qakit checkout (the package is installed editable
from it); :func:`sample_data_dir` finds them from this file's location.

Examples
--------
>>> ratings = load_sample("ratings")
>>> sorted(ratings.columns)[:3], str(ratings["reviewed_at"].dt.tz)
(['agent_id', 'category', 'comment'], 'UTC')
>>> load_sample_scorecard().version
'2026.1'
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import schema as S
from ._public import public
from .errors import ParameterError
from .scorecard import Scorecard, load_scorecard

SAMPLE_TABLES = ("ratings", "conversations", "surveys", "calibration", "agents", "agents_truth")
_CONTRACT = {"ratings": "ratings", "calibration": "ratings", "conversations": "conversations", "surveys": "surveys"}


@public
def sample_data_dir() -> Path:
    """The ``data/`` folder of the checkout."""
    d = Path(__file__).resolve().parents[1] / "data"
    if not d.is_dir():
        raise ParameterError(f"sample data folder not found at {str(d)!r}; regenerate it with `./qa data`")
    return d


@public
def load_sample(name: str) -> pd.DataFrame:
    """Load one bundled table, validated against its contract where it has one.

    Parameters
    ----------
    name : {"ratings", "conversations", "surveys", "calibration", "agents", "agents_truth"}
    """
    if name not in SAMPLE_TABLES:
        raise ParameterError(f"unknown sample table {name!r}; available: {list(SAMPLE_TABLES)}")
    df = pd.read_parquet(sample_data_dir() / f"{name}.parquet")
    if name in _CONTRACT:
        df = S.validate(df, _CONTRACT[name])
    return df


@public
def sample_scorecard_path() -> Path:
    """Path of the sample scorecard YAML."""
    return sample_data_dir() / "scorecard.yaml"


@public
def load_sample_scorecard() -> Scorecard:
    """The sample scorecard (7 categories, 2 critical)."""
    return load_scorecard(sample_scorecard_path())


# --- the public API: every function listed here is decorated with @public on its def (shared parameters
# checked by name; every result stamped with its exclusion record) -----------------------------------
__all__ = [
    "sample_data_dir",
    "load_sample",
    "sample_scorecard_path",
    "load_sample_scorecard",
]
