"""Report parameters: read from the notebook's ``parameters`` cell, checked before any kernel starts.

``qakit report -p key value`` (and ``--params file.yaml``) values are checked here, in the caller's
process, so a wrong value gives one line naming the parameter and what is allowed instead of a
kernel traceback:

- the type declared in the parameters cell (``min_n: int = 30`` refuses ``abc``; an int is
  accepted for a float);
- relative paths (``dataset``, ``*_path``) are resolved against the caller's working directory
  (the kernel runs in ``notebooks/``, so ``-p dataset data`` would otherwise look in the wrong place);
- dates (``start``, ``end``), the rolling window ``last_days`` (not with ``start``), the ``engine``,
  the trend ``period``, ``min_n``, ``cost_per_contact``, ``targets``
  and ``group_by`` (a column the dataset has) are checked by meaning as well as by type.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from .._public import public
from ..datasets import sample_data_dir
from ..errors import ParameterError, check_number
from ..metrics._source import memory_bytes
from .targets import check_targets

#: parameter values that name a bundled data set, not a path
DATASET_KEYWORDS = ("sample", "fed")
PERIODS = ("D", "W", "M", "Q")
#: report engines: where review scoring and the customer KPIs run
REPORT_ENGINES = ("pandas", "duckdb")
_TYPES = {"int": int, "float": (int, float), "bool": bool, "str": str, "dict": dict, "list": list}
_TYPE_WORDS = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "text",
               "dict": "a mapping (YAML {key: value})", "list": "a list"}
#: columns never offered as a grouping (ids of single rows, timestamps, measurements)
_NOT_GROUPS = {"review_id", "conversation_id", "rating", "score", "created_at",
               "first_response_at", "resolved_at", "reviewed_at", "answered_at", "handle_time_s",
               "contacts", "customer_value", "category", "comment", "text", "body", "escalated"}


@public
def is_path_parameter(name: str) -> bool:
    """``dataset`` and every ``*_path`` / ``*_dir`` / ``*_file`` / ``*_folder`` parameter hold paths
    (``csv_folder``: relative to the caller's folder, never to the notebook's)."""
    return name == "dataset" or name.endswith(("_path", "_dir", "_file", "_folder"))


@public
def resolve_paths(params: Mapping[str, Any], *, cwd: str | Path | None = None) -> dict[str, Any]:
    """Make every relative path parameter absolute against ``cwd`` (default: the current folder).

    Empty values and the dataset keywords (``sample``, ``fed``) are left as they are.

    Examples
    --------
    >>> resolve_paths({"dataset": "data", "start": "2026-09-01"}, cwd="/srv/qakit")["dataset"]
    '/srv/qakit/data'
    >>> resolve_paths({"dataset": "sample", "scorecard_path": ""}, cwd="/srv")
    {'dataset': 'sample', 'scorecard_path': ''}
    """
    base = Path(cwd) if cwd is not None else Path.cwd()
    out = dict(params)
    for k, v in params.items():
        if is_path_parameter(k) and isinstance(v, str) and v and v not in DATASET_KEYWORDS:
            p = Path(os.path.expanduser(v))
            out[k] = str(p if p.is_absolute() else base / p)
    return out


def _check_type(name: str, value: Any, declared: str) -> Any:
    allowed = _TYPES.get(declared)
    if allowed is None or value is None:
        return value
    ok = isinstance(value, allowed) and not (declared in ("int", "float") and isinstance(value, bool))
    if not ok:
        raise ParameterError(f"{name} must be {_TYPE_WORDS[declared]}; got {value!r}")
    return float(value) if declared == "float" else value


def _check_date(name: str, value: Any) -> None:
    if value in ("", None):
        return
    try:
        pd.Timestamp(str(value))
    except (ValueError, TypeError):
        raise ParameterError(f"{name} must be a date YYYY-MM-DD (e.g. 2026-09-01) or empty; got {value!r}") from None


def _header(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        return list(pq.read_schema(path).names)
    return list(pd.read_csv(path, nrows=0, sep=None, engine="python").columns)


def _table_file(params: Mapping[str, Any], name: str) -> Path | None:
    explicit = params.get(f"{name}_path")
    if explicit:
        p = Path(explicit)
        return p if p.is_file() else None
    dataset = params.get("dataset", "sample")
    if dataset == "sample":
        folder = sample_data_dir()
    else:
        folder = Path(dataset)
    for ext in (".parquet", ".csv"):
        if (folder / f"{name}{ext}").is_file():
            return folder / f"{name}{ext}"
    return None


@public
def group_columns(params: Mapping[str, Any]) -> list[str]:
    """Columns of the dataset's ratings and conversations a report can be broken down by."""
    cols: list[str] = []
    for name in ("ratings", "conversations"):
        p = _table_file(params, name)
        if p is not None:
            try:
                cols += [c for c in _header(p) if c not in cols]
            except Exception:  # an unreadable file is reported by the loader, with its problems
                continue
    return [c for c in cols if c not in _NOT_GROUPS]


@public
def check_last_days(last_days: Any, start: Any = "") -> int:
    """``last_days`` as an integer >= 0; refused (naming it) when negative, not an integer, or
    given together with ``start``.

    Examples
    --------
    >>> check_last_days(28)
    28
    >>> check_last_days(28, "2026-09-01")
    Traceback (most recent call last):
    ...
    qakit.errors.ParameterError: last_days cannot be combined with start (2026-09-01): give a fixed period (start, end) or a rolling one (last_days), not both
    """
    if isinstance(last_days, bool) or not isinstance(last_days, (int, float)) or (
            isinstance(last_days, float) and not float(last_days).is_integer()):
        raise ParameterError(f"last_days must be a whole number of days >= 0 (0 = all data); got {last_days!r}")
    if last_days < 0:
        raise ParameterError(f"last_days must be a whole number of days >= 0 (0 = all data); got {last_days!r}")
    if last_days and start not in (None, ""):
        raise ParameterError(f"last_days cannot be combined with start ({start}): give a fixed period "
                             "(start, end) or a rolling one (last_days), not both")
    return int(last_days)


@public
def check_report_parameters(params: Mapping[str, Any], declared: Mapping[str, Mapping[str, Any]], *,
                            cwd: str | Path | None = None) -> dict[str, Any]:
    """Resolve paths and check every parameter by type and meaning; return the values to run with.

    ``declared`` is :func:`qakit.report.run.notebook_parameters` of the notebook. Unknown names are
    refused elsewhere (:func:`qakit.report.run.check_parameters`).

    Raises
    ------
    ParameterError
        The first wrong value, naming the parameter and what is allowed.

    Examples
    --------
    >>> decl = {"min_n": {"type": "int"}, "start": {"type": "str"}, "period": {"type": "str"}}
    >>> check_report_parameters({"min_n": 20, "period": "M"}, decl)
    {'min_n': 20, 'period': 'M'}
    >>> check_report_parameters({"min_n": "abc"}, decl)
    Traceback (most recent call last):
    ...
    qakit.errors.ParameterError: min_n must be an integer; got 'abc'
    >>> check_report_parameters({"start": "2026-13-01"}, decl)
    Traceback (most recent call last):
    ...
    qakit.errors.ParameterError: start must be a date YYYY-MM-DD (e.g. 2026-09-01) or empty; got '2026-13-01'
    """
    out = resolve_paths(params, cwd=cwd)
    for k, v in list(out.items()):
        if k in declared:
            out[k] = _check_type(k, v, str(declared[k].get("type", "")))
    for k in ("start", "end"):
        if k in out:
            _check_date(k, out[k])
    if out.get("start") and out.get("end") and pd.Timestamp(str(out["end"])) < pd.Timestamp(str(out["start"])):
        raise ParameterError(f"end ({out['end']}) is before start ({out['start']})")
    if "last_days" in out:
        check_last_days(out["last_days"], out.get("start", ""))
    if "engine" in out:
        if out["engine"] not in REPORT_ENGINES:
            raise ParameterError(f"engine must be one of {', '.join(REPORT_ENGINES)}; got {out['engine']!r}")
    if out.get("engine_memory"):  # (an amount like 3GB: the engine's working memory before it spills)
        memory_bytes(out["engine_memory"], "engine_memory")
    if "period" in out and out["period"] not in PERIODS:
        raise ParameterError(f"period must be one of {', '.join(PERIODS)} (day, week, month, quarter); got {out['period']!r}")
    if "min_n" in out:
        check_number("min_n", out["min_n"], low=0, integer=True)
    if "cost_per_contact" in out:
        check_number("cost_per_contact", out["cost_per_contact"], low=0)
    if out.get("targets") is not None and "targets" in out:
        check_targets(out["targets"])
    ds = out.get("dataset")
    if isinstance(ds, str) and ds and ds not in DATASET_KEYWORDS and not Path(ds).exists():
        raise ParameterError(f"dataset must be 'sample' or an existing folder; got {params['dataset']!r} "
                             f"(resolved to {ds})")
    for k, v in out.items():
        if k.endswith("_path") and k != "save_path" and isinstance(v, str) and v and not Path(v).is_file():
            raise ParameterError(f"{k}: file not found: {params[k]!r} (resolved to {v})")
    _check_output_folders(out, params)
    if out.get("group_by"):
        allowed = group_columns(out)
        if allowed and out["group_by"] not in allowed:
            raise ParameterError(f"group_by must be a column of the dataset's ratings or conversations "
                                 f"({', '.join(allowed)}) or empty for the default; got {out['group_by']!r}")
    return out


def _check_output_folders(out: Mapping[str, Any], given: Mapping[str, Any]) -> None:
    """An output folder (``csv_folder``) that is an input's folder is refused: the report's tables
    (``calls.csv``, ``agents.csv`` ...) would overwrite the files it reads."""
    inputs: list[Path] = []
    ds = out.get("dataset")
    if isinstance(ds, str) and ds and ds not in DATASET_KEYWORDS and Path(ds).is_dir():
        inputs.append(Path(ds).resolve())
    inputs += [Path(v).resolve().parent for k, v in out.items()
               if k.endswith("_path") and isinstance(v, str) and v and Path(v).is_file()]
    for k, v in out.items():
        if k.endswith("_folder") and isinstance(v, str) and v:
            target = Path(v).resolve()
            if target in inputs:
                raise ParameterError(f"{k} {given.get(k, v)!r} (resolved to {target}) is the folder of the report's "
                                     "input data: its CSV tables would overwrite the input files; choose another "
                                     "folder (or leave it empty: qakit report writes <output>/<name>-tables)")


__all__ = ["check_report_parameters", "check_last_days", "group_columns", "is_path_parameter", "resolve_paths"]
