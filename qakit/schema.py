"""The data contract: every input table qakit reads, declared once, and the one validator.

Canonical tables (extra columns pass through untouched):

``ratings`` (long: one row per category rating)
    review_id, conversation_id, agent_id, reviewer_id, reviewed_at, category, rating
    (number; missing = N/A), optional scorecard_version.
``conversations``
    conversation_id, customer_id, agent_id, channel, priority, created_at, first_response_at,
    resolved_at, status; optional team, escalated, contacts, handle_time_s, customer_value.
``surveys``
    conversation_id, kind (``csat`` | ``nps`` | ``ces``), score, answered_at; optional agent_id.
``calls`` (telephony queue exports, for service level and abandonment)
    call_id, agent_id, created_at, answered (bool); optional speed_of_answer_s, handle_time_s,
    resolved (bool), team.

:func:`validate` coerces types (ids to strings, numbers to float, timestamps to UTC) and checks
every rule lazily: all problems are collected and raised together as one
:class:`~qakit.errors.DataValidationError` whose ``failures`` table names column, check, failing
values and row ids.

Column names used in results are defined here too (``N``, ``CI_LOW`` ...), once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import ParameterError, Problems, check_choice

# --- input column names -------------------------------------------------------------------
REVIEW_ID = "review_id"
CONVERSATION_ID = "conversation_id"
AGENT_ID = "agent_id"
REVIEWER_ID = "reviewer_id"
REVIEWED_AT = "reviewed_at"
CATEGORY = "category"
RATING = "rating"
SCORECARD_VERSION = "scorecard_version"

CUSTOMER_ID = "customer_id"
CHANNEL = "channel"
PRIORITY = "priority"
CREATED_AT = "created_at"
FIRST_RESPONSE_AT = "first_response_at"
RESOLVED_AT = "resolved_at"
STATUS = "status"
TEAM = "team"
ESCALATED = "escalated"
CONTACTS = "contacts"
HANDLE_TIME_S = "handle_time_s"
CUSTOMER_VALUE = "customer_value"
AGENT_REPLIES = "agent_replies"

CALL_ID = "call_id"
ANSWERED = "answered"
SPEED_OF_ANSWER_S = "speed_of_answer_s"
RESOLVED = "resolved"

KIND = "kind"
SCORE = "score"
ANSWERED_AT = "answered_at"

# --- result column names ------------------------------------------------------------------
N = "n"
CI_LOW = "ci_low"
CI_HIGH = "ci_high"
P_VALUE = "p_value"
SE = "se"
SMALL_SAMPLE = "small_sample"
N_EXCLUDED = "n_excluded"
IQS = "iqs"
IQS_RAW = "iqs_raw"
CRITICAL_FAILED = "critical_failed"
FAILED_CATEGORIES = "failed_categories"
N_RATED = "n_rated"
PASSED = "passed"
PASS_RATE = "pass_rate"
BAND = "band"
CATEGORY_SCORE = "category_score"

SURVEY_KINDS = ("csat", "nps", "ces")
#: widest score range accepted per survey kind at validation time (KPI functions check their
#: configured scale, e.g. CSAT 1-5 vs 1-10, on top of this)
SURVEY_BOUNDS = {"csat": (0.0, 10.0), "nps": (0.0, 10.0), "ces": (1.0, 7.0)}

_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2}|UTC|GMT)\s*$|[+-]\d{4}\s+\d{4}$", re.IGNORECASE)


@dataclass(frozen=True)
class Column:
    """One column of a table contract.

    kind : ``"id"`` (stored as string), ``"str"``, ``"float"``, ``"bool"`` or ``"datetime"``.
    """

    name: str
    kind: str
    required: bool = True
    nullable: bool = False
    allowed: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Table:
    """A table contract: its columns, its key (unique), and the id column used in messages."""

    name: str
    columns: tuple[Column, ...]
    unique: tuple[str, ...] = ()
    row_id: str | None = None
    extra_checks: tuple[str, ...] = field(default_factory=tuple)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return {c.name: c for c in self.columns}[name]


RATINGS = Table(
    "ratings",
    (
        Column(REVIEW_ID, "id"),
        Column(CONVERSATION_ID, "id"),
        Column(AGENT_ID, "id"),
        Column(REVIEWER_ID, "id"),
        Column(REVIEWED_AT, "datetime", nullable=True),
        Column(CATEGORY, "str"),
        Column(RATING, "float", nullable=True),
        Column(SCORECARD_VERSION, "str", required=False),
    ),
    unique=(REVIEW_ID, CATEGORY),
    row_id=REVIEW_ID,
)

CONVERSATIONS = Table(
    "conversations",
    (
        Column(CONVERSATION_ID, "id"),
        Column(CUSTOMER_ID, "id"),
        Column(AGENT_ID, "id", nullable=True),
        Column(CHANNEL, "str"),
        Column(PRIORITY, "str"),
        Column(CREATED_AT, "datetime"),
        Column(FIRST_RESPONSE_AT, "datetime", nullable=True),
        Column(RESOLVED_AT, "datetime", nullable=True),
        Column(STATUS, "str"),
        Column(TEAM, "str", required=False, nullable=True),
        Column(ESCALATED, "bool", required=False, nullable=True),
        Column(CONTACTS, "float", required=False, nullable=True, min=1),
        Column(HANDLE_TIME_S, "float", required=False, nullable=True, min=0),
        Column(CUSTOMER_VALUE, "float", required=False, nullable=True),
        Column(AGENT_REPLIES, "float", required=False, nullable=True, min=0),
    ),
    unique=(CONVERSATION_ID,),
    row_id=CONVERSATION_ID,
)

SURVEYS = Table(
    "surveys",
    (
        Column(CONVERSATION_ID, "id"),
        Column(KIND, "str", allowed=SURVEY_KINDS),
        Column(SCORE, "float", nullable=True),  # missing = survey sent, not answered
        Column(ANSWERED_AT, "datetime", nullable=True),
        Column(AGENT_ID, "id", required=False, nullable=True),
    ),
    unique=(CONVERSATION_ID, KIND),
    row_id=CONVERSATION_ID,
)

CALLS = Table(
    "calls",
    (
        Column(CALL_ID, "id"),
        Column(AGENT_ID, "id", nullable=True),
        Column(CREATED_AT, "datetime"),
        Column(ANSWERED, "bool"),
        Column(SPEED_OF_ANSWER_S, "float", required=False, nullable=True, min=0),
        Column(HANDLE_TIME_S, "float", required=False, nullable=True, min=0),
        Column(RESOLVED, "bool", required=False, nullable=True),
        Column(TEAM, "str", required=False, nullable=True),
    ),
    unique=(CALL_ID,),
    row_id=CALL_ID,
)

#: review scores as :meth:`qakit.Scorecard.score` returns them (the input of IQS aggregates): one row
#: per review (a review listed twice would double its weight and narrow every interval)
SCORES = Table(
    "scores",
    (
        Column(REVIEW_ID, "id", required=False),
        Column(CONVERSATION_ID, "id", required=False, nullable=True),
        Column(AGENT_ID, "id", required=False, nullable=True),
        Column(REVIEWER_ID, "id", required=False, nullable=True),
        Column(IQS, "float", nullable=True, min=0),
        Column(PASSED, "bool", required=False, nullable=True),
    ),
    unique=(REVIEW_ID,),
    row_id=REVIEW_ID,
)

TABLES = {t.name: t for t in (RATINGS, CONVERSATIONS, SURVEYS, CALLS, SCORES)}

def contract_bounds(column: str) -> tuple[float | None, float | None] | None:
    """``(min, max)`` a numeric column has in the data contract (the first table declaring it with
    a range), or ``None`` when no contract bounds it."""
    for t in TABLES.values():
        for c in t.columns:
            if c.name == column and c.kind == "float" and (c.min is not None or c.max is not None):
                return c.min, c.max
    return None


_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def get_table(table: str | Table) -> Table:
    """The :class:`Table` contract for a name (``"ratings"``, ``"conversations"``, ``"surveys"``,
    ``"calls"``)."""
    if isinstance(table, Table):
        return table
    check_choice("table", table, TABLES)
    return TABLES[table]


def parse_datetimes(
    values: pd.Series, *, tz: str = "UTC", column: str = "", problems: Problems | None = None
) -> pd.Series:
    """Parse timestamps to timezone-aware UTC, flagging what cannot be trusted.

    Naive timestamps are read in ``tz``; aware ones are converted to UTC.  A column that mixes
    naive and aware text, or holds unparseable text, is reported to ``problems`` (row ids and
    values) and the offending cells become ``NaT``.

    Examples
    --------
    >>> s = pd.Series(["2026-01-05 09:00", "2026-01-05T10:00:00+01:00"])
    >>> parse_datetimes(s.iloc[[0]], tz="Europe/Berlin").iloc[0]
    Timestamp('2026-01-05 08:00:00+0000', tz='UTC')
    >>> parse_datetimes(s.iloc[[1]]).iloc[0]
    Timestamp('2026-01-05 09:00:00+0000', tz='UTC')
    """
    problems = problems if problems is not None else Problems("?")
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.dt.tz_localize(tz).dt.tz_convert("UTC")
    present = values.notna()
    text = values.astype("str").where(present)
    stripped = text.str.strip()
    present &= stripped.ne("")
    aware = stripped.str.contains(_TZ_SUFFIX, na=False) & present
    naive = present & ~aware
    if naive.any():  # text that is no timestamp at all is "unparseable", not "naive"
        naive &= pd.to_datetime(stripped.where(naive), errors="coerce", format="mixed").notna()
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    if aware.any() and naive.any():
        minority = naive if naive.sum() <= aware.sum() else aware
        problems.add(
            column,
            "mixes timezone-aware and naive timestamps (say which zone naive ones are in, "
            "or make them all aware)",
            minority,
            values,
        )
        return out
    if aware.any():
        parsed = pd.to_datetime(stripped[aware], errors="coerce", utc=True, format="mixed")
        out.loc[aware] = parsed
    if naive.any():
        parsed = pd.to_datetime(stripped[naive], errors="coerce", format="mixed")
        try:
            out.loc[naive] = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
        except TypeError:  # already aware (e.g. "2026-01-01 UTC" forms not caught above)
            out.loc[naive] = parsed.dt.tz_convert("UTC")
    bad = present & out.isna()
    problems.add(column, "unparseable timestamp", bad, values)
    return out


def _coerce(df: pd.DataFrame, col: Column, problems: Problems, tz: str) -> pd.Series:
    s = df[col.name]
    if col.kind in ("id", "str") and isinstance(s.dtype, pd.CategoricalDtype):
        # categorical ids stay categorical (memory and speed at scale); categories become text
        cats = s.cat.categories
        if pd.api.types.is_float_dtype(cats.dtype) and (cats == np.floor(cats)).all():
            text = cats.astype("int64").astype("str")
        else:
            text = cats.astype("str")
        if text.dtype == cats.dtype:  # categories already text: nothing to convert, no copy
            return s
        if text.is_unique:  # new categories over the same codes (not copied)
            dtype = pd.CategoricalDtype(text, ordered=s.cat.ordered)
            return pd.Series(pd.Categorical.from_codes(s.array.codes, dtype=dtype, validate=False),
                             index=s.index, name=s.name)
        s = s.astype("object")
    if col.kind == "id":
        out = s.astype("str").where(s.notna())
        if pd.api.types.is_float_dtype(s.dtype):
            # ids read as floats (e.g. 12.0 because of missing cells) -> "12"
            whole = s.notna() & (s == np.floor(s))
            out = out.where(~whole, s[whole].astype("int64").astype("str"))
        out = out.where(~_blank_text(out))
        return out.astype("str")
    if col.kind == "str":
        out = s.astype("str").where(s.notna())
        return out.astype("str")
    if col.kind == "float":
        if pd.api.types.is_bool_dtype(s.dtype):
            return s.astype("float64")
        if s.dtype == np.float64:  # already numbers (NaN = missing): no copy
            return s
        num = pd.to_numeric(s, errors="coerce")
        if not pd.api.types.is_numeric_dtype(s.dtype):
            text = s.astype("str").str.strip()
            num = pd.to_numeric(text.where(text.ne("")), errors="coerce")
            bad = s.notna() & text.ne("") & num.isna()
            problems.add(col.name, "not a number", bad, s)
        return num.astype("float64")
    if col.kind == "bool":
        if pd.api.types.is_bool_dtype(s.dtype):
            return s.astype("boolean")
        text = s.astype("str").str.strip().str.lower().where(s.notna())
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        out[text.isin(_TRUE)] = True
        out[text.isin(_FALSE)] = False
        bad = text.notna() & out.isna()
        problems.add(col.name, f"not a boolean (allowed: {sorted(_TRUE | _FALSE)})", bad, s)
        return out
    if col.kind == "datetime":
        return parse_datetimes(s, tz=tz, column=col.name, problems=problems)
    raise ParameterError(f"unknown column kind {col.kind!r}")  # pragma: no cover


def validate(df: pd.DataFrame, table: str | Table, *, tz: str = "UTC") -> pd.DataFrame:
    """Check a table against its contract and return a coerced copy.

    Parameters
    ----------
    df : pandas.DataFrame
        The input table, already renamed to canonical column names.
    table : {"ratings", "conversations", "surveys"} or Table
        Which contract to apply.
    tz : str, default="UTC"
        Time zone in which naive timestamps are read; results are always UTC.

    Returns
    -------
    pandas.DataFrame
        Same rows and columns (extra columns pass through), ids as strings, numbers as float,
        timestamps as UTC, booleans as nullable ``boolean``.

    Raises
    ------
    DataValidationError
        Listing *every* failed check: missing columns, empty cells in required columns,
        unparseable numbers or timestamps, values outside the allowed set or range, duplicate keys.

    Examples
    --------
    >>> s = pd.DataFrame({"conversation_id": ["c1", "c2"], "kind": ["csat", "nsp"],
    ...                   "score": [5, "five"], "answered_at": ["2026-01-01", None]})
    >>> validate(s, "surveys")
    Traceback (most recent call last):
    ...
    qakit.errors.DataValidationError: 2 problems in table 'surveys': column 'kind' not one of 'csat', 'nps', 'ces' (1 row, e.g. 'c2'); column 'score' not a number (1 row, e.g. 'c2')
      - table 'surveys', column 'kind': not one of 'csat', 'nps', 'ces' (1 row(s)); values ['nsp']; row ids ['c2']
      - table 'surveys', column 'score': not a number (1 row(s)); values ['five']; row ids ['c2']
    """
    out, problems = check(df, table, tz=tz)
    problems.raise_if_any()
    return out


def _blank_text(values: pd.Index | pd.Series) -> np.ndarray:
    """Empty or whitespace-only text, as a boolean array (missing values: False). Arrow kernels:
    no stripped copy of every value (``str.strip() == ""`` made one)."""
    arr = pa.array(pd.Series(values, copy=False).astype("str"), type=pa.large_string(), from_pandas=True)
    blank = pc.or_(pc.equal(pc.utf8_length(arr), 0), pc.utf8_is_space(arr))
    return np.asarray(pc.fill_null(blank, False).to_numpy(zero_copy_only=False), dtype=bool)


def _empty(raw: pd.Series) -> np.ndarray | None:
    """Missing or blank cells as a boolean array, or ``None`` when no cell is empty
    (categoricals: checked on the categories and one pass over the codes, no per-row mask)."""
    if isinstance(raw.dtype, pd.CategoricalDtype):
        blank = _blank_text(raw.cat.categories)
        codes = raw.array.codes
        if not blank.any():
            return None if codes.min(initial=0) >= 0 else codes < 0
        return (codes < 0) | (blank[np.maximum(codes, 0)] & (codes >= 0))
    if (pd.api.types.is_numeric_dtype(raw.dtype) or pd.api.types.is_bool_dtype(raw.dtype)
            or pd.api.types.is_datetime64_any_dtype(raw.dtype)):
        return raw.isna().to_numpy()
    return raw.isna().to_numpy() | _blank_text(raw)


def contiguous_runs(ids: pd.Series) -> np.ndarray | None:
    """First row of each key's run when every key's rows are contiguous (the usual export
    order: a review's ratings listed together) and no key is missing; ``None`` otherwise.

    Taken from categorical codes only (one comparison per row, no hashing); other dtypes and
    missing values give ``None``. Runs are in order of first appearance, so run ``i`` is the
    ``i``-th code of ``pd.factorize(ids, sort=False)``.

    Examples
    --------
    >>> contiguous_runs(pd.Series(["r1", "r1", "r2", "r3", "r3"], dtype="category"))
    array([0, 2, 3])
    >>> contiguous_runs(pd.Series(["r1", "r2", "r1"], dtype="category")) is None
    True
    """
    if not isinstance(ids.dtype, pd.CategoricalDtype) or len(ids) == 0:
        return None
    cc = ids.array.codes
    if cc.min() < 0:
        return None
    first = np.flatnonzero(cc[1:] != cc[:-1])
    first += 1
    first = np.concatenate([np.zeros(1, dtype=first.dtype), first])
    if np.bincount(cc[first], minlength=len(ids.cat.categories)).max() > 1:  # a key in two runs
        return None
    return first


def _duplicated_in_runs(codes: np.ndarray, n_values: int, first: np.ndarray) -> bool | None:
    """Whether some run repeats a value (``codes``: small non-negative codes of the key's second
    part, at most 64 values): per run, the OR of ``1 << code`` has fewer bits set than the run
    has rows. ``None`` when the shortcut does not apply."""
    if n_values > 64 or len(codes) == 0 or codes.min() < 0:
        return None
    width = next(w for w in (8, 16, 32, 64) if n_values <= w)
    small = codes.view(np.uint8) if codes.dtype.itemsize == 1 else codes.astype(np.uint8)  # codes >= 0
    bits = np.left_shift(np.ones(1, dtype=f"uint{width}"), small)
    seen = np.bitwise_or.reduceat(bits, first)
    length = np.diff(first, append=len(codes))
    return bool((np.bitwise_count(seen) < length).any())


def _duplicated(df: pd.DataFrame, cols: list[str], runs: np.ndarray | None = None) -> pd.Series:
    """All rows whose key ``cols`` occurs more than once (rows with a missing key part are left
    to the empty-value check). Integer codes + bincount when the key space is small; with
    ``runs`` (the first column's :func:`contiguous_runs`) and a categorical second column of at
    most 64 values, a per-run bit set first tells whether any key repeats at all."""
    if runs is not None and len(cols) == 2 and isinstance(df[cols[1]].dtype, pd.CategoricalDtype):
        c2 = df[cols[1]]
        if _duplicated_in_runs(c2.array.codes, len(c2.cat.categories), runs) is False:
            return pd.Series(np.zeros(len(df), dtype=bool), index=df.index)
    codes, sizes = [], []
    for c in cols:
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            k, n = df[c].array.codes, len(df[c].cat.categories)
        else:
            k, u = pd.factorize(df[c], sort=False)
            n = len(u)
        codes.append(k)
        sizes.append(max(n, 1))
    present = np.logical_and.reduce([k >= 0 for k in codes])
    all_present = bool(present.all())
    key = np.zeros(len(df), dtype=np.int64)
    space = 1
    for k, n in zip(codes, sizes):
        key *= n
        key += k if all_present else np.maximum(k, 0)
        space *= n
    if space <= 4 * len(df) + 1024:
        counts = np.bincount(key if all_present else key[present], minlength=space)
        if counts.max(initial=0) <= 1:  # the usual case: no duplicate, no per-row lookup needed
            return pd.Series(np.zeros(len(df), dtype=bool), index=df.index)
        dup = present & (counts[key] > 1)
    else:
        dup = present & pd.Series(np.where(present, key, -1)).duplicated(keep=False).to_numpy()
    return pd.Series(dup, index=df.index)


def check(
    df: pd.DataFrame, table: str | Table, *, tz: str = "UTC", runs: np.ndarray | None = None
) -> tuple[pd.DataFrame, Problems]:
    """Like :func:`validate` but return ``(coerced copy, Problems)`` without raising for row-level
    problems, so callers can add their own checks and raise everything together.

    Missing required columns, an empty table and a non-DataFrame still raise at once.
    ``runs``: :func:`contiguous_runs` of the table's first key column when the caller already
    has it (computed here otherwise); it only speeds up the duplicate-key check.
    """
    spec = get_table(table)
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(f"{spec.name} must be a pandas DataFrame; got {type(df).__name__}")
    # row ids are converted to text only for the few rows a message shows (Problems.add)
    row_ids = df[spec.row_id] if spec.row_id and spec.row_id in df.columns else None
    problems = Problems(spec.name, row_ids=row_ids)
    missing = [c for c in spec.required if c not in df.columns]
    for name in missing:
        problems.add(name, f"required column is missing (columns present: {list(df.columns)})")
    if missing:
        problems.raise_if_any()
    out = df.copy(deep=False)  # copy-on-write (pandas 3): coerced columns never touch the caller's frame
    if len(out) == 0:
        problems.add(spec.required[0], "table has no rows")
        problems.raise_if_any()
    for col in spec.columns:
        if col.name not in out.columns:
            continue
        raw = out[col.name]
        out[col.name] = _coerce(out, col, problems, tz)
        if not col.nullable:
            if col.kind == "id" and not isinstance(out[col.name].dtype, pd.CategoricalDtype):
                empty = out[col.name].isna().to_numpy()  # coerced text ids: missing or blank is NaN already
            else:
                empty = _empty(raw)
            if empty is not None:
                problems.add(col.name, "empty value in a required column", empty, raw)
        s = out[col.name]
        if col.allowed is not None:
            bad = s.notna() & ~s.isin(col.allowed)
            problems.add(col.name, f"not one of {', '.join(repr(a) for a in col.allowed)}", bad, raw)
        finite = s.notna()
        if col.kind == "float":
            values = s.to_numpy(dtype=float, na_value=np.nan)
            inf = np.isinf(values)
            if inf.any():  # never a measurement: an export or formula defect
                problems.add(col.name, "not a finite number (inf)", inf, raw)
                finite &= ~inf
        if col.min is not None:
            problems.add(col.name, f"below the minimum {col.min:g}", finite & (s < col.min), raw)
        if col.max is not None:
            problems.add(col.name, f"above the maximum {col.max:g}", finite & (s > col.max), raw)
    future_after = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)
    for col in spec.columns:
        if col.kind == "datetime" and col.name in out.columns:
            if not out[col.name].max() > future_after:  # one pass; NaT-only columns compare False
                continue
            fut = out[col.name].notna() & (out[col.name] > future_after)
            problems.add(col.name, "timestamp in the future (more than a day after now: wrong year or "
                         "day/month swapped?)", fut, df[col.name])
    if spec is SURVEYS and {KIND, SCORE} <= set(out.columns):
        for kind, (lo, hi) in SURVEY_BOUNDS.items():
            bad = out[KIND].eq(kind) & out[SCORE].notna() & ~out[SCORE].between(lo, hi)
            problems.add(SCORE, f"{kind} score outside {lo:g}..{hi:g}", bad, out[SCORE])
    if spec.unique and set(spec.unique) <= set(out.columns):
        if not isinstance(out[spec.unique[0]].dtype, pd.CategoricalDtype):
            runs = None  # ids were re-coded as text (e.g. categories 1 and "1" are both "1"): runs unknown
        elif runs is None and len(spec.unique) == 2:
            runs = contiguous_runs(out[spec.unique[0]])
        dup = _duplicated(out, list(spec.unique), runs)
        key = None
        if dup.any():
            parts = [out[c].astype("str").fillna("<missing>") for c in spec.unique]
            key = parts[0].str.cat(parts[1:], sep=" / ") if len(parts) > 1 else parts[0]
        problems.add(
            " + ".join(spec.unique), f"duplicate key ({', '.join(spec.unique)})", dup, key
        )
    return out, problems


# --- links between tables ----------------------------------------------------------------------
def orphans(child: pd.DataFrame, parent: pd.DataFrame, *, key: str = CONVERSATION_ID) -> pd.Series:
    """Boolean mask of ``child`` rows whose ``key`` is not in ``parent`` (e.g. surveys about
    conversations missing from the conversations export)."""
    return ~child[key].astype("str").isin(set(parent[key].astype("str")))


def validate_links(
    conversations: pd.DataFrame,
    *,
    surveys: pd.DataFrame | None = None,
    ratings: pd.DataFrame | None = None,
) -> None:
    """Raise one :class:`~qakit.errors.DataValidationError` listing survey and rating rows whose
    ``conversation_id`` is not in ``conversations``.

    Examples
    --------
    >>> conv = pd.DataFrame({"conversation_id": ["c1"]})
    >>> sv = pd.DataFrame({"conversation_id": ["c1", "c9"]})
    >>> validate_links(conv, surveys=sv)
    Traceback (most recent call last):
    ...
    qakit.errors.DataValidationError: 1 problem in table 'surveys': column 'conversation_id' conversation_id not in the conversations table (1 row, e.g. 'c9')
      - table 'surveys', column 'conversation_id': conversation_id not in the conversations table (1 row(s)); values ['c9']; row ids ['c9']
    """
    merged = Problems("links")
    for name, child in (("surveys", surveys), ("ratings", ratings)):
        if child is None:
            continue
        rid = REVIEW_ID if name == "ratings" and REVIEW_ID in child.columns else CONVERSATION_ID
        p = Problems(name, row_ids=child[rid].astype("str"))
        p.add(CONVERSATION_ID, "conversation_id not in the conversations table",
              orphans(child, conversations), child[CONVERSATION_ID])
        merged.extend(p)
    merged.raise_if_any()


# --- the record every result carries: exclusions (rows left out) and adjustments (rows changed) ---------
EXCLUDED_KEY = "excluded"
ADJUSTED_KEY = "adjusted"
PRODUCER_KEY = "qakit_producer"
SOURCE = "source"
EXCLUSION_COLUMNS = ["reason", "column", "n", "row_ids", SOURCE]


def _add_record(result: pd.DataFrame, key: str, reason: str, column: str, row_ids: Any,
                source: str | None) -> pd.DataFrame:
    if row_ids is None:
        return result
    ids = tuple(pd.Series(row_ids).astype("str").fillna("<missing>"))
    if len(ids) == 0:
        return result
    records = list(result.attrs.get(key, []))
    records.append({"reason": reason, "column": column, "n": len(ids), "row_ids": ids, SOURCE: source})
    result.attrs[key] = records
    return result


def add_exclusion(
    result: pd.DataFrame, reason: str, column: str, row_ids: Any, *, source: str | None = None
) -> pd.DataFrame:
    """Record on ``result.attrs`` that rows were excluded, and why (no-op for zero rows).

    Stored as plain records so pandas can copy and compare ``attrs``; read them back with
    :func:`exclusions`. ``source`` (the producing function) is filled in by :func:`stamp` when
    not given.
    """
    return _add_record(result, EXCLUDED_KEY, reason, column, row_ids, source)


def add_adjustment(
    result: pd.DataFrame, reason: str, column: str, row_ids: Any, *, source: str | None = None
) -> pd.DataFrame:
    """Record that rows were *kept but changed* (an id or category normalised, a value re-read),
    and why; read back with :func:`adjustments`.

    Examples
    --------
    >>> r = stamp(add_adjustment(pd.DataFrame({"n": [1]}), "trailing whitespace removed", "agent_id", ["r1"]), "demo")
    >>> adjustments(r)[["reason", "n", "row_ids", "source"]]
                            reason  n row_ids source
    0  trailing whitespace removed  1   (r1,)   demo
    """
    return _add_record(result, ADJUSTED_KEY, reason, column, row_ids, source)


def stamp(result: pd.DataFrame, producer: str) -> pd.DataFrame:
    """Mark ``result`` as carrying a record (even an empty one) made by ``producer``; records
    without a source get ``producer`` as theirs."""
    result.attrs[PRODUCER_KEY] = producer
    for key in (EXCLUDED_KEY, ADJUSTED_KEY):
        result.attrs[key] = [r if r.get(SOURCE) else {**r, SOURCE: producer} for r in result.attrs.get(key, [])]
    return result


def has_record(df: Any) -> bool:
    """Whether ``df`` (a DataFrame or Series) carries a qakit record (made by a qakit function, or
    given one by :func:`add_exclusion` / :func:`stamp`)."""
    return isinstance(df, (pd.DataFrame, pd.Series)) and EXCLUDED_KEY in df.attrs


def itemise_missing(result: pd.DataFrame, table: pd.DataFrame, column: str, id_column: str,
                    reason: str) -> pd.DataFrame:
    """Add an exclusion for ``table`` rows whose ``column`` is missing, leaving out ids an earlier
    step (``table``'s own record) already lists: the record never counts a row twice."""
    missing = table[column].isna().to_numpy()
    if missing.any():
        ids = (table[id_column] if id_column in table.columns else table.index.to_series()).astype("str")
        new = ids[missing]
        add_exclusion(result, reason, column, new[~new.isin(recorded_ids(table))])
    return result


def recorded_ids(result: Any, key: str = EXCLUDED_KEY) -> set[str]:
    """Every row id a result's record already lists (so a later step does not list it twice)."""
    attrs = result.attrs if isinstance(result, (pd.DataFrame, pd.Series)) else {}
    return {i for r in attrs.get(key, []) for i in r["row_ids"]}


def carry_records(result: pd.DataFrame, *parts: pd.DataFrame) -> pd.DataFrame:
    """Copy every record of ``parts`` (tables, or their ``attrs``) onto ``result`` (composite
    results: a summary built from several KPIs, a table built from scored reviews); identical
    records are kept once."""
    for key in (EXCLUDED_KEY, ADJUSTED_KEY):
        records = list(result.attrs.get(key, []))
        seen = {(r["reason"], r["column"], r["row_ids"]) for r in records}  # one exclusion, one record
        for part in parts:
            attrs = part.attrs if isinstance(part, (pd.DataFrame, pd.Series)) else part
            if not isinstance(attrs, dict):
                continue
            for r in attrs.get(key, []):
                k = (r["reason"], r["column"], r["row_ids"])
                if k not in seen:
                    seen.add(k)
                    records.append(dict(r))
        result.attrs[key] = records
    return result


def _records(result: pd.DataFrame, key: str, what: str) -> pd.DataFrame:
    if not has_record(result):
        kind = type(result).__name__
        raise ParameterError(
            f"this {kind} carries no qakit record of {what} rows: it was not made by a qakit function, or a "
            "merge/concat/copy outside qakit dropped the record. Read the record from the qakit result "
            "itself, or combine records with qakit.schema.carry_records(new, *parts)"
        )
    return pd.DataFrame(result.attrs.get(key, []), columns=EXCLUSION_COLUMNS)


def exclusions(result: pd.DataFrame) -> pd.DataFrame:
    """The itemised exclusions a result carries: one row per reason.

    Raises :class:`~qakit.errors.ParameterError` for a table that carries no record (a hand-made
    frame, or one whose record a merge or concat dropped): "no record" must never read as
    "nothing excluded".

    Returns
    -------
    pandas.DataFrame
        Columns ``reason, column, n, row_ids, source`` (``row_ids`` a tuple of the excluded ids,
        ``source`` the qakit function that excluded them).

    Examples
    --------
    >>> r = stamp(add_exclusion(pd.DataFrame({"n": [3]}), "all categories N/A", "rating", ["R7"]), "score_reviews")
    >>> exclusions(r)
                   reason  column  n row_ids         source
    0  all categories N/A  rating  1   (R7,)  score_reviews
    >>> exclusions(pd.DataFrame({"n": [3]}))
    Traceback (most recent call last):
    ...
    qakit.errors.ParameterError: this DataFrame carries no qakit record of excluded rows: ...
    """
    return _records(result, EXCLUDED_KEY, "excluded")


def adjustments(result: pd.DataFrame) -> pd.DataFrame:
    """The rows a result kept but changed (normalised ids, re-read values), one row per reason;
    same columns and rules as :func:`exclusions`."""
    return _records(result, ADJUSTED_KEY, "adjusted")


# --- the public API (validate is wrapped by qakit._public.public: its coerced copy carries a record;
# the record readers exclusions/adjustments are not results and stay as they are) ------------------
__all__ = ["validate", "validate_links", "exclusions", "adjustments", "add_exclusion", "add_adjustment",
           "carry_records"]
_RECORD_FUNCTIONS = ("exclusions", "adjustments", "add_exclusion", "add_adjustment", "carry_records")

from ._public import public as _public  # noqa: E402  (at the end: wraps the functions defined above)

validate = _public(validate)
validate_links = _public(validate_links)
