"""Errors, warnings and the one helper style for reporting bad input.

Everything qakit raises for bad input is a :class:`QakitError` (also a ``ValueError``), and every
message repeats the offending value and lists what is allowed.  Table validation collects *all*
problems first and raises one :class:`DataValidationError` whose ``failures`` DataFrame lists
``table, column, check, n_failed, failing_values, row_ids`` (pandera-style lazy validation).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: how many offending values / row ids an error message repeats per problem
MAX_SHOWN = 5

FAILURE_COLUMNS = ["table", "column", "check", "n_failed", "failing_values", "row_ids"]


class QakitError(ValueError):
    """Base class for every error qakit raises about its input."""


class ScorecardError(QakitError):
    """A scorecard definition is invalid (weights, scales, sections, YAML)."""


class ParameterError(QakitError):
    """A function or report parameter is invalid."""


class DataValidationError(QakitError):
    """One or more checks failed on an input table.

    Attributes
    ----------
    failures : pandas.DataFrame
        One row per failed check with columns ``table, column, check, n_failed,
        failing_values, row_ids`` (values and ids are lists, at most ``MAX_SHOWN`` each).
    """

    def __init__(self, failures: pd.DataFrame):
        self.failures = failures.reset_index(drop=True)
        lines = [f"{len(self.failures)} problem(s) found in the input:"]
        for row in self.failures.itertuples(index=False):
            lines.append(
                f"  - table {row.table!r}, column {row.column!r}: {row.check} "
                f"({row.n_failed} row(s)); values {_fmt_list(row.failing_values)}; "
                f"row ids {_fmt_list(row.row_ids)}"
            )
        super().__init__("\n".join(lines))


class QakitWarning(UserWarning):
    """Base class for qakit warnings."""


class SmallSampleWarning(QakitWarning):
    """A statistic rests on fewer observations than the configured minimum."""


class UndefinedMetricWarning(QakitWarning):
    """A metric is undefined for some group (e.g. no survey answers) and is returned as NaN."""


class ExcludedRowsWarning(QakitWarning):
    """Rows were excluded from a computation; the result carries the itemised exclusions."""


def _fmt_list(values: Sequence[Any]) -> str:
    shown = ", ".join(repr(_plain(v)) for v in list(values)[:MAX_SHOWN])
    return f"[{shown}{', ...' if len(values) > MAX_SHOWN else ''}]"


def _plain(v: Any) -> Any:
    """numpy/pandas scalars to plain Python so messages read ``5`` not ``np.int64(5)``."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, pd.Timestamp):
        return str(v)
    return v


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise :class:`ParameterError`.

    Examples
    --------
    >>> check_choice("method", "pearson", ["pearson", "spearman", "kendall"])
    'pearson'
    >>> check_choice("method", "pearsn", ["pearson", "spearman", "kendall"])
    Traceback (most recent call last):
    ...
    qakit.errors.ParameterError: method must be one of 'pearson', 'spearman', 'kendall'; got 'pearsn'
    """
    allowed = list(allowed)
    if value not in allowed:
        raise ParameterError(
            f"{name} must be one of {', '.join(repr(a) for a in allowed)}; got {value!r}"
        )
    return value


class Problems:
    """Collects failed checks on one table and raises them together.

    Examples
    --------
    >>> df = pd.DataFrame({"rating": [1, 7, 9]}, index=["r1", "r2", "r3"])
    >>> p = Problems("ratings")
    >>> p.add("rating", "off the scale 1..5", df["rating"] > 5, df["rating"])
    >>> p.raise_if_any()
    Traceback (most recent call last):
    ...
    qakit.errors.DataValidationError: 1 problem(s) found in the input:
      - table 'ratings', column 'rating': off the scale 1..5 (2 row(s)); values [7, 9]; row ids ['r2', 'r3']
    """

    def __init__(self, table: str, row_ids: pd.Series | None = None):
        self.table = table
        self.row_ids = row_ids
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        column: str,
        check: str,
        mask: pd.Series | np.ndarray | None = None,
        values: pd.Series | None = None,
        *,
        index: pd.Index | None = None,
    ) -> None:
        """Record a failed check; ``mask`` marks the failing rows (no-op if none fail).

        Without ``mask`` the problem concerns the whole column (e.g. it is missing).
        """
        if mask is None:
            self.rows.append(
                dict(table=self.table, column=column, check=check, n_failed=1,
                     failing_values=[], row_ids=[])
            )
            return
        mask = np.asarray(mask, dtype=bool)
        n = int(np.count_nonzero(mask))
        if n == 0:
            return
        idx = index if index is not None else (values.index if values is not None else None)
        ids_source = self.row_ids if self.row_ids is not None else None
        if ids_source is not None and len(ids_source) == len(mask):
            picked = pd.Series(ids_source).to_numpy()[mask][:MAX_SHOWN]
            ids = ["<missing>" if pd.isna(i) else str(_plain(i)) for i in picked]
        elif idx is not None:
            ids = list(idx[mask][:MAX_SHOWN])
        else:
            ids = list(np.flatnonzero(mask)[:MAX_SHOWN])
        vals: list[Any] = []
        if values is not None:
            seen = pd.unique(pd.Series(np.asarray(values, dtype=object)[mask]))
            vals = [_plain(v) for v in seen[:MAX_SHOWN]]
        self.rows.append(
            dict(table=self.table, column=column, check=check, n_failed=n,
                 failing_values=vals, row_ids=[_plain(i) for i in ids])
        )

    def extend(self, other: "Problems") -> None:
        self.rows.extend(other.rows)

    def __bool__(self) -> bool:
        return bool(self.rows)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=FAILURE_COLUMNS)

    def raise_if_any(self) -> None:
        if self.rows:
            raise DataValidationError(self.frame())
