"""What every public qakit function guarantees, in one place.

:func:`public` wraps a public function so that

- shared numeric parameters are checked by name before any work (:data:`SHARED_PARAMETERS`: type,
  finiteness and range, one message style, :func:`qakit.errors.check_number`);
- every DataFrame it returns (directly, or inside a dict, tuple or dataclass) carries a record
  (:mod:`qakit.records`: :func:`qakit.schema.exclusions` / :func:`qakit.schema.adjustments`), stamped with the producing
  function even when nothing was excluded, and holding the records of the qakit tables it was given
  (a composite result carries every part's record).

Every public function carries it on its ``def`` (``@public``), so reading a definition tells what
runs; ``tests/test_common.py`` checks that every export is decorated there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

import pandas as pd

from . import records as R
from .errors import ParameterError, check_number

#: shared numeric parameters, checked by name wherever they appear (``check_number`` options)
SHARED_PARAMETERS: dict[str, dict[str, Any]] = {
    "level": dict(low=0, high=1, low_open=True, high_open=True),
    "conf_level": dict(low=0, high=1, low_open=True, high_open=True),
    "confidence": dict(low=0, high=1, low_open=True, high_open=True),
    "min_n": dict(low=0, integer=True),
    "seed": dict(low=0, integer=True, none=True),
    "n_resamples": dict(low=0, integer=True),  # 0: no resampling, where a function allows it
    "bootstrap_max_n": dict(low=0, integer=True, none=True),  # most pairs still bootstrapped; None: all
    "repeat_days": dict(low=0, low_open=True),
    "max_hours": dict(low=0, low_open=True),
    "cost_per_contact": dict(low=0),
    "cost_per_hour": dict(low=0, none=True),
    "total_cost": dict(low=0, none=True),
    "threshold_s": dict(low=0),
    "goal": dict(low=0, high=100),
    "top": dict(low=1, integer=True, none=True),
    "per_group": dict(low=1, integer=True),
    "per_category": dict(low=1, integer=True),
    "show_ids": dict(low=0, integer=True),
    "top_share": dict(low=0, high=1, low_open=True),
    "min_reviewers": dict(low=2, integer=True),
    "max_weight": dict(low=0, low_open=True),
    "min_critical_weight": dict(low=0),
    "min_coverage": dict(low=0, high=1),
    "bins": dict(low=1, integer=True),
}

PUBLIC_MARK = "__qakit_public__"
RENAMED_MARK = "__qakit_renamed__"
#: the release in which old parameter names stop working
REMOVED_IN = "qakit 0.3"


def renamed(*, text_level: str | None = None, **old_to_new: str) -> Callable:
    """Mark a function's renamed parameters: the old keyword keeps working for one release with a
    ``FutureWarning`` (applied by :func:`public`). ``text_level="unit"``: a *text* value passed as
    ``level`` is the old meaning of ``level`` (unit of analysis, measurement scale) and goes to the
    new name; a number is the confidence level. The renames are listed in CHANGELOG.md.
    """

    def mark(fn: Callable) -> Callable:
        setattr(fn, RENAMED_MARK, (dict(old_to_new), text_level))
        return fn

    return mark


def _apply_renames(fn_name: str, renames: tuple[dict[str, str], str | None], kwargs: dict[str, Any]) -> None:
    old_to_new, text_level = renames
    moves = [(o, n) for o, n in old_to_new.items() if o in kwargs]
    if text_level and isinstance(kwargs.get("level"), str):
        moves.insert(0, ("level", text_level))
    for old, new in moves:
        if new in kwargs:
            raise ParameterError(f"{fn_name}: pass {new!r} only ({old!r} is its old name); got both")
        what = "a text 'level'" if old == "level" else repr(old)
        warnings.warn(f"{fn_name}: {what} is now called {new!r}; the old spelling stops working in "
                      f"{REMOVED_IN} (see CHANGELOG.md)", FutureWarning, stacklevel=4)
        kwargs[new] = kwargs.pop(old)


#: records of the public calls made *inside* the running public call (validation of its inputs, the
#: parts of a composite): they flow into its result, so nothing a nested step excluded is lost
_NESTED: ContextVar[list | None] = ContextVar("qakit_nested_records", default=None)


@contextlib.contextmanager
def detached() -> Iterator[None]:
    """Public calls made inside this block do not carry their records into the running public call:
    for a function that takes only numbers from a nested call (e.g. per-group counts on an engine)
    and itemises the rows it leaves out itself, under its own reasons -- as its pandas path does."""
    token = _NESTED.set(None)
    try:
        yield
    finally:
        _NESTED.reset(token)


def _tables(args: tuple, kwargs: Mapping[str, Any]) -> list[pd.DataFrame]:
    return [a for a in (*args, *kwargs.values()) if R.has_record(a)]


def _field_value(obj: Any, name: str) -> Any:
    """A dataclass field's value without side effects: a field behind a lazy descriptor (one with a
    ``peek`` method, e.g. the report's tables the engine reads in place) is taken only if it is
    already loaded; stamping a result must never load a table."""
    attr = inspect.getattr_static(type(obj), name, None)
    return attr.peek(obj) if hasattr(attr, "peek") else getattr(obj, name)


def _finish(result: Any, producer: str, inputs: list, nested: list | None = None, *, own: bool = False) -> Any:
    """Stamp ``result`` (and every table inside a dict, tuple or dataclass) with its record.

    The function's own records (those without a source yet) are attributed to ``producer`` first;
    then the records of the qakit tables it was given (``inputs``) and, for a single-table result,
    of the public calls made inside it (``nested``) are carried over with their own sources. A
    multi-table result (a dict of tables) keeps each table's own record: which table a nested record
    belongs to is the function's to say. ``own``: the function also says which inputs each table of a
    multi-table result comes from (each part carries its own inputs' records), so the inputs' records
    are not spread over every part (a survey's exclusions under a first response time).
    """
    if isinstance(result, (pd.DataFrame, pd.Series)):
        if any(result is t for t in inputs):  # never stamp the caller's own frame in place
            result = result.copy(deep=False)
        R.stamp(result, producer)  # the outermost public call made it (nested records keep their sources)
        R.carry_records(result, *inputs, *(nested or ()))
        return result
    if isinstance(result, dict):
        for k, v in result.items():
            if isinstance(v, (pd.DataFrame, pd.Series)):
                result[k] = _finish(v, producer, [] if own else inputs)
        return result
    if isinstance(result, tuple) and not hasattr(result, "_fields"):
        return tuple(_finish(v, producer, inputs) if isinstance(v, (pd.DataFrame, pd.Series)) else v
                     for v in result)
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        for f in dataclasses.fields(result):
            v = _field_value(result, f.name)
            if isinstance(v, (pd.DataFrame, pd.Series)):
                try:
                    object.__setattr__(result, f.name, _finish(v, producer, inputs))
                except (AttributeError, TypeError):  # pragma: no cover - slots without the field
                    pass
        return result
    return result


def public(fn: Callable | None = None, *, producer: str | None = None, own_records: bool = False) -> Callable:
    """Decorate a public function: shared parameters checked, results stamped with their record.

    ``own_records``: a function returning several tables (a dict) that carries each table's own
    inputs' records itself; the decorator then only stamps them (:func:`_finish`'s ``own``).

    Examples
    --------
    >>> @public
    ... def mean_score(df, *, level=0.95):
    ...     return pd.DataFrame({"n": [len(df)]})
    >>> from qakit.schema import exclusions
    >>> exclusions(mean_score(pd.DataFrame({"x": [1]}))).empty
    True
    >>> mean_score(pd.DataFrame({"x": [1]}), level=95)
    Traceback (most recent call last):
    ...
    qakit.errors.ParameterError: level must be a finite number > 0 and < 1; got 95
    """
    if fn is None:
        return functools.partial(public, producer=producer, own_records=own_records)
    if getattr(fn, PUBLIC_MARK, False):
        return fn
    name = producer or fn.__name__
    sig = inspect.signature(fn)
    checks = {p: SHARED_PARAMETERS[p] for p in sig.parameters if p in SHARED_PARAMETERS}
    renames = getattr(fn, RENAMED_MARK, None)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if renames:
            _apply_renames(name, renames, kwargs)
        if checks:
            try:
                bound = sig.bind_partial(*args, **kwargs).arguments
            except TypeError:
                bound = {}
            for p, spec in checks.items():
                if p in bound:
                    check_number(p, bound[p], **spec)
        nested: list = []
        token = _NESTED.set(nested)
        try:
            result = fn(*args, **kwargs)
        finally:
            _NESTED.reset(token)
        result = _finish(result, name, _tables(args, kwargs), nested, own=own_records)
        outer = _NESTED.get()
        if outer is not None:
            outer.extend(R.record_parts(result))
        return result

    setattr(wrapper, PUBLIC_MARK, True)
    return wrapper
