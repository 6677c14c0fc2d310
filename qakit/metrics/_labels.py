"""Labels (priorities, statuses, SLA target names) matched ignoring case, whitespace and Unicode
form: one rule, :func:`label_key` (NFKC, case-fold, whitespace collapsed), applied in Python to a
column's few distinct values, which are then compared on the engine exactly as stored (SQL's
``lower()`` would miss ``'Straße'`` = ``'STRASSE'``)."""

from __future__ import annotations

import unicodedata
from typing import Any

import narwhals as nw
import pandas as pd

from . import _source as B


def label_key(value: Any) -> str:
    """A label as compared: NFKC, case-folded, inner whitespace collapsed, ends stripped.

    Examples
    --------
    >>> label_key(" High  Priority "), label_key("Straße") == label_key("STRASSE")
    ('high priority', True)
    """
    return " ".join(unicodedata.normalize("NFKC", str(value)).casefold().split())


def label_keys(values: pd.Series) -> pd.Series:
    """:func:`label_key` for a whole pandas column, vectorised."""
    s = values.astype("str").str.normalize("NFKC").str.casefold()
    return s.str.replace(r"\s+", " ", regex=True).str.strip()


def distinct_keys(lf: nw.LazyFrame, column: str, table: Any = None) -> dict[Any, str]:
    """``{stored value: key}`` for every distinct non-missing value of ``column`` (one query; none
    when ``table`` -- the validated table ``lf`` has the rows of -- holds them already: the contract
    fetches a required label column's distinct values once)."""
    cached = getattr(table, "cache", {}).get(("distinct", column)) if table is not None else None
    vals = cached if cached is not None else B.distinct(lf, column).tolist()
    vals = [v for v in vals if v is not None and not (isinstance(v, float) and v != v)]
    return dict(zip(vals, (label_key(v) for v in vals)))


def is_one_of(column: str, values: list) -> Any:
    """``column`` is one of the stored ``values`` (False for none; missing: False)."""
    if not values:  # (a column expression, so it can filter: a literal cannot)
        return (nw.col(column) != nw.col(column)).fill_null(False)
    return nw.col(column).is_in(values).fill_null(False)


def value_map(column: str, mapping: dict, default: Any = None) -> Any:
    """An expression mapping stored values of ``column`` to new ones (``default`` otherwise: None
    for null, or an expression)."""
    c = nw.col(column)
    if not mapping:
        return default if default is not None else nw.lit(None)
    e = None
    for old, new in mapping.items():
        e = nw.when(c == old).then(nw.lit(new)) if e is None else e.when(c == old).then(nw.lit(new))
    return e.otherwise(default) if default is not None else e
