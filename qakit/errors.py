"""Errors, warnings and the one helper style for reporting bad input.

Everything qakit raises for bad input is a :class:`QakitError` (also a ``ValueError``), and every
message repeats the offending value and lists what is allowed.  Table validation collects *all*
problems first and raises one :class:`DataValidationError` whose ``failures`` DataFrame lists
``table, column, check, n_failed, failing_values, row_ids`` (pandera-style lazy validation).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
        lines = [summary_line(self.failures)]
        for row in self.failures.itertuples(index=False):
            lines.append(
                f"  - table {row.table!r}, column {row.column!r}: {row.check} "
                f"({row.n_failed} row(s)); values {_fmt_list(row.failing_values)}; "
                f"row ids {_fmt_list(row.row_ids)}"
            )
        super().__init__("\n".join(lines))


def summary_line(failures: pd.DataFrame) -> str:
    """The first line of a :class:`DataValidationError`: enough on its own (a scheduled run prints
    only this line) -- which table and columns, what failed, how many rows, the first row ids.

    Examples
    --------
    >>> f = pd.DataFrame([dict(table="ratings", column="rating", check="off the scale", n_failed=2,
    ...                        failing_values=[7, 9], row_ids=["r2", "r3"])])
    >>> summary_line(f)
    "1 problem in table 'ratings': column 'rating' off the scale (2 rows, e.g. 'r2', 'r3')"
    """
    n = len(failures)
    tables = list(dict.fromkeys(failures["table"]))
    where = f"table {tables[0]!r}" if len(tables) == 1 else f"tables {', '.join(map(repr, tables))}"
    parts = []
    for row in failures.head(MAX_SHOWN).itertuples(index=False):
        ids = ", ".join(_short(_plain(i)) for i in list(row.row_ids)[:2])
        rows = f"{row.n_failed} row{'s' if row.n_failed != 1 else ''}" if row.row_ids else ""
        detail = ", ".join(x for x in (rows, f"e.g. {ids}" if ids else "") if x)
        check = str(row.check).split(" (")[0] if len(str(row.check)) > 80 else str(row.check)
        parts.append(f"column {row.column!r} {check}" + (f" ({detail})" if detail else ""))
    more = f"; and {n - MAX_SHOWN} more" if n > MAX_SHOWN else ""
    return f"{n} problem{'s' if n != 1 else ''} in {where}: " + "; ".join(parts) + more


class QakitWarning(UserWarning):
    """Base class for qakit warnings."""


class SmallSampleWarning(QakitWarning):
    """A statistic rests on fewer observations than the configured minimum."""


class UndefinedMetricWarning(QakitWarning):
    """A metric is undefined for some group (e.g. no survey answers) and is returned as NaN."""


class EngineFallbackWarning(QakitWarning):
    """An engine (``engine="duckdb"``) cannot yet express one metric's rules, so that metric was
    computed with pandas instead (the same number, never a different definition)."""


class ExcludedRowsWarning(QakitWarning):
    """Rows were excluded from a computation; the result carries the itemised exclusions."""


#: longest text of one value or id repeated in a message (a 10-million-character cell is cut)
MAX_CHARS = 60


def _short(v: Any) -> str:
    """``repr(v)``, cut to ``MAX_CHARS`` characters with the full length said."""
    text = repr(v)
    if len(text) > MAX_CHARS:
        full = len(v) if isinstance(v, str) else len(text)
        return f"{text[:MAX_CHARS - 5]}...' ({full:,} characters)"
    return text


def _fmt_list(values: Sequence[Any]) -> str:
    shown = ", ".join(_short(_plain(v)) for v in list(values)[:MAX_SHOWN])
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


def check_keys(where: str, mapping: Mapping[str, Any], allowed: Iterable[str], *,
               error: type[QakitError] = ParameterError) -> None:
    """Refuse keys of ``mapping`` that are not ``allowed`` (a typo such as ``critcal`` must not be
    ignored): one ``error`` naming where, every unknown key and the allowed ones.

    The one check of the YAML/JSON mappings qakit reads: scorecards, automatic-scoring rules, KPI
    targets.

    Examples
    --------
    >>> check_keys("category 'Tone'", {"name": "Tone", "wieght": 2}, {"name", "weight"})
    Traceback (most recent call last):
    ...
    qakit.errors.ParameterError: category 'Tone': unknown key(s) ['wieght']; allowed: ['name', 'weight']
    """
    allowed = set(allowed)
    bad = sorted(set(mapping) - allowed, key=str)
    if bad:
        raise error(f"{where}: unknown key(s) {bad}; allowed: {sorted(allowed)}")


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
    qakit.errors.DataValidationError: 1 problem in table 'ratings': column 'rating' off the scale 1..5 (2 rows, e.g. 'r2', 'r3')
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
        row_ids: pd.Series | np.ndarray | None = None,
    ) -> None:
        """Record a failed check; ``mask`` marks the failing rows (no-op if none fail).

        Without ``mask`` the problem concerns the whole column (e.g. it is missing). ``row_ids``
        (one per row) names the rows of this check instead of the collector's ``row_ids``.
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
        ids_source = row_ids if row_ids is not None else self.row_ids
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


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
    none: bool = False,
) -> Any:
    """Return ``value`` if it is a finite number in range, else raise :class:`ParameterError`.

    One check and one message style for every numeric parameter: type (``True`` and ``"5"`` are not
    numbers), finiteness (NaN and inf are refused), integrality when ``integer``, and the range
    ``low <= value <= high`` (``<`` with ``low_open`` / ``high_open``). ``none=True`` lets ``None``
    through (an optional parameter).

    Examples
    --------
    >>> check_number("min_n", 5, low=0, integer=True)
    5
    >>> check_number("min_n", "abc", low=0, integer=True)
    Traceback (most recent call last):
    ...
    qakit.errors.ParameterError: min_n must be an integer >= 0; got 'abc'
    >>> check_number("cost_per_contact", float("nan"), low=0)
    Traceback (most recent call last):
    ...
    qakit.errors.ParameterError: cost_per_contact must be a finite number >= 0; got nan
    >>> check_number("level", 1, low=0, high=1, low_open=True, high_open=True)
    Traceback (most recent call last):
    ...
    qakit.errors.ParameterError: level must be a finite number > 0 and < 1; got 1
    """
    if value is None and none:
        return value
    bounds = []
    if low is not None:
        bounds.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        bounds.append(f"{'<' if high_open else '<='} {high:g}")
    what = ("an integer" if integer else "a finite number") + (" " + " and ".join(bounds) if bounds else "")
    if none:
        what += " (or None)"
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    if ok:
        v = float(value)
        ok = np.isfinite(v) and (not integer or v.is_integer())
        if ok and low is not None:
            ok = v > low if low_open else v >= low
        if ok and high is not None:
            ok = v < high if high_open else v <= high
    if not ok:
        raise ParameterError(f"{name} must be {what}; got {_short(_plain(value))}")
    if integer:
        return int(value)
    return float(value) if isinstance(value, (np.floating, np.integer)) else value
