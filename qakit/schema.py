"""The data contract: every input table qakit reads, declared once, and the one validator.

Canonical tables (extra columns pass through untouched):

``ratings`` (long: one row per category rating)
    review_id, conversation_id, agent_id, reviewer_id, reviewed_at, category, rating
    (number; missing = N/A), optional scorecard_version, site, vendor.
``conversations``
    conversation_id, customer_id, agent_id, channel, priority, created_at, first_response_at,
    resolved_at, status; optional team, site, vendor, escalated, contacts, handle_time_s,
    customer_value.
``surveys``
    conversation_id, kind (``csat`` | ``nps`` | ``ces``), score, answered_at; optional agent_id.
``calls`` (telephony queue exports, for service level and abandonment)
    call_id, agent_id, created_at, answered (bool); optional speed_of_answer_s, handle_time_s,
    resolved (bool), team, site, vendor.
``coaching`` (coaching sessions, for :func:`qakit.coaching.coaching_effect`)
    agent_id, coached_at; optional focus (scorecard categories, ``;``-separated), coach, plan,
    commitment, coaching_id.
``messages`` (conversation text, for automatic scoring: :mod:`qakit.autoqa`)
    conversation_id, message_id, author_role (``customer`` | ``agent`` | ``bot``), agent_id,
    sent_at, text; optional position (order when timestamps are missing), language.

:func:`validate` coerces types (ids to strings, numbers to float, timestamps to UTC) and checks
every rule lazily: all problems are collected and raised together as one
:class:`~qakit.errors.DataValidationError` whose ``failures`` table names column, check, failing
values and row ids.

Column names used in results are defined here too (``N``, ``CI_LOW`` ...), once.
"""

from __future__ import annotations

import re
import weakref
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import _threads as T
from ._public import public
from .errors import ParameterError, Problems, check_choice
from .records import (  # noqa: F401  (re-exported: qakit.schema.exclusions is the documented reader)
    ADJUSTED_KEY,
    EXCLUDED_KEY,
    EXCLUSION_COLUMNS,
    PRODUCER_KEY,
    RECORD_KEY,
    SOURCE,
    add_adjustment,
    add_exclusion,
    adjustments,
    carry_records,
    exclusions,
    get_record,
    has_record,
    itemise_missing,
    recorded_ids,
    stamp,
)

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
SITE = "site"  # optional grouping columns (issue 26): where / by which outsourcer a contact was handled
VENDOR = "vendor"
ESCALATED = "escalated"
CONTACTS = "contacts"
HANDLE_TIME_S = "handle_time_s"
CUSTOMER_VALUE = "customer_value"
AGENT_REPLIES = "agent_replies"

CALL_ID = "call_id"
ANSWERED = "answered"
SPEED_OF_ANSWER_S = "speed_of_answer_s"
RESOLVED = "resolved"
TIME_TO_ABANDON_S = "time_to_abandon_s"
#: how a queued call ended as the telephony system wrote it (a queue log's ABANDON / EXITWITHTIMEOUT
#: ..., a contact record's disconnect reason): a timeout or overflow is not an abandoned call
OUTCOME = "outcome"
QUEUE = "queue"
TALK_TIME_S = "talk_time_s"
HOLD_TIME_S = "hold_time_s"
AFTER_CALL_WORK_S = "after_call_work_s"

KIND = "kind"
SCORE = "score"
ANSWERED_AT = "answered_at"

MESSAGE_ID = "message_id"
AUTHOR_ROLE = "author_role"
SENT_AT = "sent_at"
TEXT = "text"
POSITION = "position"
LANGUAGE = "language"
AUTHOR_ROLES = ("customer", "agent", "bot")

# --- result column names ------------------------------------------------------------------
N = "n"
SD = "sd"  # a sample standard deviation (ddof=1)
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

#: text that means "no value" in number, boolean and timestamp columns (any case, surrounding
#: spaces ignored); in id and text columns it stays text (an agent may be called "NA")
MISSING_TOKENS = frozenset({"na", "n/a", "#n/a", "null", "nan", "none", "-"})
_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2}|UTC|GMT)\s*$|[+-]\d{4}\s+\d{4}$", re.IGNORECASE)


#: the largest count a row may hold (contacts of one conversation, calls of one day): anything
#: larger is a unit or parsing defect (1e308 contacts make every mean infinite), never a count
COUNT_MAX = 1e9
#: the longest duration a row may hold, in seconds (10 years): longer is a unit defect (ms read as s)
DURATION_MAX_S = 10 * 365.25 * 86400


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
        Column(SITE, "str", required=False, nullable=True),
        Column(VENDOR, "str", required=False, nullable=True),
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
        Column(CONTACTS, "float", required=False, nullable=True, min=1, max=COUNT_MAX),
        Column(HANDLE_TIME_S, "float", required=False, nullable=True, min=0, max=DURATION_MAX_S),
        Column(CUSTOMER_VALUE, "float", required=False, nullable=True),
        Column(AGENT_REPLIES, "float", required=False, nullable=True, min=0, max=COUNT_MAX),
        Column(SITE, "str", required=False, nullable=True),
        Column(VENDOR, "str", required=False, nullable=True),
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
        Column(SPEED_OF_ANSWER_S, "float", required=False, nullable=True, min=0, max=DURATION_MAX_S),
        Column(HANDLE_TIME_S, "float", required=False, nullable=True, min=0, max=DURATION_MAX_S),
        Column(RESOLVED, "bool", required=False, nullable=True),
        Column(TEAM, "str", required=False, nullable=True),
        Column(QUEUE, "str", required=False, nullable=True),
        Column(TIME_TO_ABANDON_S, "float", required=False, nullable=True, min=0, max=DURATION_MAX_S),
        Column(OUTCOME, "str", required=False, nullable=True),
        Column(TALK_TIME_S, "float", required=False, nullable=True, min=0, max=DURATION_MAX_S),
        Column(HOLD_TIME_S, "float", required=False, nullable=True, min=0, max=DURATION_MAX_S),
        Column(AFTER_CALL_WORK_S, "float", required=False, nullable=True, min=0, max=DURATION_MAX_S),
        Column(SITE, "str", required=False, nullable=True),
        Column(VENDOR, "str", required=False, nullable=True),
    ),
    unique=(CALL_ID,),
    row_id=CALL_ID,
)

MESSAGES = Table(  # conversation text: only counts and evidence positions ever reach a report
    "messages",
    (
        Column(CONVERSATION_ID, "id"),
        Column(MESSAGE_ID, "id"),
        Column(AUTHOR_ROLE, "str", allowed=AUTHOR_ROLES),
        Column(AGENT_ID, "id", nullable=True),
        Column(SENT_AT, "datetime", nullable=True),
        Column(TEXT, "str", nullable=True),  # missing = no text (attachment, sticker): 0 words
        Column(POSITION, "float", required=False, nullable=True, min=0),  # order when sent_at is missing
        Column(LANGUAGE, "str", required=False, nullable=True),
    ),
    unique=(MESSAGE_ID,),
    row_id=MESSAGE_ID,
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
        Column(REVIEWED_AT, "datetime", required=False, nullable=True),
        Column(IQS, "float", nullable=True, min=0),
        Column(PASSED, "bool", required=False, nullable=True),
    ),
    unique=(REVIEW_ID,),
    row_id=REVIEW_ID,
)

# --- QA-operations and aggregate tables (issue 14: vendor exports) -------------------------
DISPUTE_ID = "dispute_id"
DISPUTER_ID = "disputer_id"
DISPUTE_STATUS = "dispute_status"
ACCEPTED = "accepted"
SCORE_BEFORE = "score_before"
SCORE_AFTER = "score_after"
VENDOR_SCORE = "vendor_score"
REVIEW_TIME_S = "review_time_s"
SESSION_ID = "session_id"
DATE = "date"
OFFERED = "offered"
ABANDONED = "abandoned"
ANSWERED_WITHIN = "answered_within"
ASA_S = "asa_s"
SEGMENT = "segment"

#: one row per review with the QA tool's own review score (percent), for :func:`qakit.reconcile`
REVIEWS = Table(
    "reviews",
    (
        Column(REVIEW_ID, "id"),
        Column(CONVERSATION_ID, "id"),
        Column(AGENT_ID, "id"),
        Column(REVIEWER_ID, "id"),
        Column(REVIEWED_AT, "datetime", nullable=True),
        Column(VENDOR_SCORE, "float", nullable=True, min=0),
        Column(SCORECARD_VERSION, "str", required=False, nullable=True),
        Column(REVIEW_TIME_S, "float", required=False, nullable=True, min=0),
    ),
    unique=(REVIEW_ID,),
    row_id=REVIEW_ID,
)

#: automatic (AutoQA) ratings: same shape as ratings, kept apart so they never mix into IQS
AUTOQA_RATINGS = Table("autoqa_ratings", RATINGS.columns, unique=(REVIEW_ID, CATEGORY), row_id=REVIEW_ID)

#: calibration-session ratings: same shape as ratings plus the session
CALIBRATION = Table(
    "calibration",
    RATINGS.columns + (Column(SESSION_ID, "id", required=False, nullable=True),),
    unique=(REVIEW_ID, CATEGORY),
    row_id=REVIEW_ID,
)

#: disputes (appeals) of reviews; ``accepted`` = the review score was changed
DISPUTES = Table(
    "disputes",
    (
        Column(DISPUTE_ID, "id"),
        Column(REVIEW_ID, "id"),
        Column(CREATED_AT, "datetime"),
        Column(DISPUTE_STATUS, "str", nullable=True),
        Column(RESOLVED_AT, "datetime", required=False, nullable=True),
        Column(ACCEPTED, "bool", required=False, nullable=True),
        Column(CATEGORY, "str", required=False, nullable=True),
        Column(DISPUTER_ID, "id", required=False, nullable=True),
        Column(SCORE_BEFORE, "float", required=False, nullable=True, min=0),
        Column(SCORE_AFTER, "float", required=False, nullable=True, min=0),
    ),
    unique=(DISPUTE_ID,),
    row_id=DISPUTE_ID,
)

#: daily call-centre aggregates (one row per day and queue)
CALLS_DAILY = Table(
    "calls_daily",
    (
        Column(DATE, "datetime"),
        Column(QUEUE, "str"),
        Column(OFFERED, "float", min=0, max=COUNT_MAX),
        Column(ANSWERED, "float", nullable=True, min=0, max=COUNT_MAX),
        Column(ABANDONED, "float", nullable=True, min=0, max=COUNT_MAX),
        Column(ANSWERED_WITHIN, "float", required=False, nullable=True, min=0, max=COUNT_MAX),
        Column(ASA_S, "float", required=False, nullable=True, min=0, max=DURATION_MAX_S),
        Column(HANDLE_TIME_S, "float", required=False, nullable=True, min=0, max=DURATION_MAX_S),
    ),
    unique=(DATE, QUEUE),
    row_id=DATE,
)

#: every customer (also those with no contact), with value and segment
CUSTOMERS = Table(
    "customers",
    (
        Column(CUSTOMER_ID, "id"),
        Column(CUSTOMER_VALUE, "float", nullable=True),
        Column(SEGMENT, "str", required=False, nullable=True),
        Column(CONTACTS, "float", required=False, nullable=True, min=0, max=COUNT_MAX),
    ),
    unique=(CUSTOMER_ID,),
    row_id=CUSTOMER_ID,
)

# --- coaching sessions (issue 25: did coaching work?) --------------------------------------------------
COACHING_ID = "coaching_id"
COACHED_AT = "coached_at"
FOCUS = "focus"
COACH = "coach"
PLAN = "plan"
COMMITMENT = "commitment"

#: one row per coaching session of an agent; ``focus`` names scorecard categories (``;``-separated,
#: empty = a general session); an agent's first session starts its coaching
COACHING = Table(
    "coaching",
    (
        Column(AGENT_ID, "id"),
        Column(COACHED_AT, "datetime"),
        Column(FOCUS, "str", required=False, nullable=True),
        Column(COACH, "id", required=False, nullable=True),
        Column(PLAN, "str", required=False, nullable=True),
        Column(COMMITMENT, "str", required=False, nullable=True),
        Column(COACHING_ID, "id", required=False, nullable=True),
    ),
    unique=(AGENT_ID, COACHED_AT),
    row_id=AGENT_ID,
)

TABLES = {t.name: t for t in (RATINGS, CONVERSATIONS, SURVEYS, CALLS, SCORES, REVIEWS, AUTOQA_RATINGS,
                              CALIBRATION, DISPUTES, CALLS_DAILY, CUSTOMERS, MESSAGES, COACHING)}
#: contract columns that hold text (ids and labels): :func:`validate` makes them text, so a result keyed
#: by one of them shows text keys on every engine (the query engines keep whole-number ids as integers
#: to group them fast, and turn the few result keys into text: :func:`qakit.metrics._groups.text_keys`)
TEXT_COLUMNS = frozenset(c.name for t in TABLES.values() for c in t.columns if c.kind in ("id", "str"))

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


_TIME_ONLY = re.compile(r"^\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[ap]\.?m\.?)?$", re.IGNORECASE)
#: a day/month date written with 1-2 digit parts first (``13/02/2026``, ``2.3.26``, ``02-03-2026 10:00``)
_DM_DATE = r"^(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})(?P<rest>(?:[ T].*)?)$"
#: the range a nanosecond timestamp can hold (pandas' Timestamp.min / Timestamp.max)
_TS_MIN, _TS_MAX = pd.Timestamp.min.ceil("s"), pd.Timestamp.max.floor("s")
_DAYFIRST_HINT = ("say the order with dayfirst=True (dd/mm/yyyy) or dayfirst=False (mm/dd/yyyy) in "
                  "qakit.read_table / qakit.schema.validate")


def _day_month_order(stripped: pd.Series, present: pd.Series, *, column: str, dayfirst: bool | None,
                     report: Any, notes: list | None) -> pd.Series:
    """Rewrite ``dd/mm/yyyy``-like dates (``/``, ``.`` or ``-`` between 1-2 digit parts) as ISO text
    with ONE day/month order for the whole column (never guessed per row).

    The order is ``dayfirst`` when given; otherwise it is what the rows prove (a first part > 12
    proves day-first, a second part > 12 month-first). Rows proving both orders, or a column where
    every such date is ambiguous (both parts <= 12, and not equal), are reported to ``problems``
    and become missing; an order inferred from the rows is recorded in ``notes`` (an adjustment).
    """
    maybe = present & stripped.str.match(r"\d{1,2}[/.-]\d{1,2}[/.-]\d", na=False)
    if not maybe.any():
        return stripped
    parts = stripped[maybe].str.extract(_DM_DATE)
    ok = parts["a"].notna()
    if not ok.any():
        return stripped
    parts = parts[ok]
    idx = parts.index
    a = parts["a"].astype("int64")
    b = parts["b"].astype("int64")
    day_first_proof = (a > 12) & (b <= 12)
    month_first_proof = (b > 12) & (a <= 12)
    ambiguous = (a <= 12) & (b <= 12) & (a != b)
    mask = pd.Series(False, index=stripped.index)
    drop = pd.Series(False, index=stripped.index)
    order = dayfirst
    if order is None:
        if day_first_proof.any() and month_first_proof.any():
            m1, m2 = mask.copy(), mask.copy()
            m1[idx[day_first_proof.to_numpy()]] = True
            m2[idx[month_first_proof.to_numpy()]] = True
            report("mixes day-first and month-first dates (some first parts > 12, some second parts > 12): "
                   "one column must use one order; fix the file, or " + _DAYFIRST_HINT, m1 | m2)
            drop[idx] = True
            return stripped.where(~drop)
        if day_first_proof.any() or month_first_proof.any():
            order = bool(day_first_proof.any())
            proof = day_first_proof if order else month_first_proof
            if ambiguous.any() and notes is not None:
                example = stripped[idx[proof.to_numpy()][0]]
                m = mask.copy()
                m[idx[ambiguous.to_numpy()]] = True
                notes.append((f"{column}: {int(ambiguous.sum())} dates with both parts <= 12 read "
                              f"{'day-first (dd/mm)' if order else 'month-first (mm/dd)'} like the rest of "
                              f"the column (e.g. {example!r}); pass dayfirst= to say the order", column, m))
        elif ambiguous.any():
            m = mask.copy()
            m[idx[ambiguous.to_numpy()]] = True
            report("ambiguous day/month order (every date has both parts <= 12, e.g. 01/02/2026 is "
                   "1 Feb or 2 Jan): " + _DAYFIRST_HINT, m)
            drop[idx[ambiguous.to_numpy()]] = True
            return stripped.where(~drop)
        else:
            order = True  # day == month everywhere: either order reads the same date
    day, month = (a, b) if order else (b, a)
    wrong = month > 12
    if wrong.any():
        m = mask.copy()
        m[idx[wrong.to_numpy()]] = True
        report(f"not a valid {'day-first (dd/mm/yyyy)' if order else 'month-first (mm/dd/yyyy)'} date "
               "(month > 12)", m)
    y = parts["y"]
    yy = y.str.len().eq(2)
    if yy.any():  # two-digit years: 00-68 -> 20xx, 69-99 -> 19xx (as pandas and strptime read them)
        y = y.where(~yy, np.where(y.astype("int64") < 69, "20", "19") + y)
    iso = (y + "-" + month.astype("str").str.zfill(2) + "-" + day.astype("str").str.zfill(2)
           + parts["rest"].fillna(""))
    out = stripped.copy()
    out[idx] = iso.where(~wrong)
    return out


def _localize(parsed: pd.Series, tz: str, *, report: Any, where: np.ndarray) -> pd.Series:
    """Naive local times -> UTC; times that do not exist (DST gap) or happen twice (DST overlap)
    in ``tz`` are reported as such (``where``: the rows ``parsed`` holds) and become NaT."""
    loc = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    lost = (parsed.notna() & loc.isna()).to_numpy()
    if lost.any():
        gap = lost & parsed.dt.tz_localize(tz, ambiguous=np.ones(len(parsed), dtype=bool),
                                           nonexistent="NaT").isna().to_numpy()
        report(f"local time does not exist in {tz} (DST gap)", _spread(gap, where))
        report(f"local time is ambiguous in {tz} (DST overlap)", _spread(lost & ~gap, where))
    return loc.dt.tz_convert("UTC")


def _missing_token(text: pd.Series) -> pd.Series:
    """Cells holding a :data:`MISSING_TOKENS` word (``N/A``, ``null``, ``NaN`` ...)."""
    return text.str.strip().str.lower().isin(MISSING_TOKENS).fillna(False).astype(bool)


def _spread(sub: np.ndarray, where: np.ndarray) -> np.ndarray:
    """A mask over the rows selected by ``where`` as a mask over all rows."""
    if isinstance(where, slice):
        return np.asarray(sub, dtype=bool)
    full = np.zeros(len(where), dtype=bool)
    full[where] = sub
    return full


_NAT_I8 = np.iinfo(np.int64).min


def _i8_extremes(i8: np.ndarray, memo: dict | None = None) -> tuple[int | None, int | None, bool]:
    """``(least, greatest, any missing)`` of a timestamp column's stored integers (NaT, the int64
    minimum, ignored; None when every value is NaT): one pass for both, a masked minimum when some value
    is NaT. ``memo``: kept there for this check, keyed by the buffer (the range check, the
    empty-value check, the future check and the table's extremes read the same numbers once)."""
    key = ("i8 extremes", i8.__array_interface__["data"][0], len(i8), i8.strides[0] if i8.ndim else 0)
    if memo is not None and key in memo:
        return memo[key][1]
    if not len(i8):
        got: tuple = (None, None, False)
    else:
        ends = pc.min_max(pa.array(i8, type=pa.int64()))  # (one pass for both; zero-copy view)
        lo, hi = int(ends["min"].as_py()), int(ends["max"].as_py())
        has_nat = lo == _NAT_I8
        if has_nat:
            lo = None if hi == _NAT_I8 else int(np.min(i8, where=i8 != _NAT_I8, initial=np.iinfo(np.int64).max))
        got = (lo, None if hi == _NAT_I8 else hi, has_nat)
    if memo is not None:
        memo[key] = (i8, got)  # (the array held: its buffer is not reused during the check)
    return got


def timestamp_extremes(s: pd.Series, memo: dict | None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """``(first, last)`` timestamp (UTC; NaT when none) of a zone-aware column, from what this
    check already read (:func:`_i8_extremes`), or None when ``s`` is not such a column."""
    a = s.array
    if not isinstance(a, pd.arrays.DatetimeArray) or a.tz is None:
        return None
    lo, hi, _ = _i8_extremes(a.asi8, memo)
    ts = lambda v: pd.NaT if v is None else pd.Timestamp(v, unit=a.unit, tz=a.tz).tz_convert("UTC")  # noqa: E731
    return ts(lo), ts(hi)


def _in_range(parsed: pd.Series, *, report: Any, where: np.ndarray, memo: dict | None = None) -> pd.Series:
    """NaT (and a problem) for timestamps outside the nanosecond range (1677-09-22 .. 2262-04-11).
    Two reductions (min, max) when everything is inside: no per-row work at scale."""
    aware = isinstance(parsed.dtype, pd.DatetimeTZDtype)
    if (parsed.dtype.unit if aware else np.datetime_data(parsed.dtype)[0]) == "ns" or len(parsed) == 0:
        return parsed
    low, high = (_TS_MIN.tz_localize("UTC"), _TS_MAX.tz_localize("UTC")) if aware else (_TS_MIN, _TS_MAX)
    raw = getattr(parsed.array, "_ndarray", None)
    if raw is not None:  # min/max of the stored integers (NaT is the smallest int64): two numpy passes
        ints = raw.view("i8")
        unit = np.datetime_data(raw.dtype)[0]
        lo_i, hi_i = (np.datetime64(t.tz_localize(None) if aware else t, unit).astype("i8") for t in (low, high))
        first, last, _ = _i8_extremes(ints, memo)
        if last is None or (last <= hi_i and first >= lo_i):
            return parsed
    out = (parsed.notna() & ((parsed < low) | (parsed > high))).to_numpy()
    report(f"timestamp outside the supported range {_TS_MIN:%Y-%m-%d} .. {_TS_MAX:%Y-%m-%d} (a wrong year?)",
           _spread(out, where))
    return parsed.where(~out)


def parse_datetimes(
    values: pd.Series, *, tz: str = "UTC", column: str = "", problems: Problems | None = None,
    dayfirst: bool | None = None, notes: list | None = None, memo: dict | None = None,
) -> pd.Series:
    """Parse timestamps to timezone-aware UTC, flagging what cannot be trusted.

    Naive timestamps are read in ``tz``; aware ones are converted to UTC.  Problems (reported to
    ``problems`` with row ids and values; the cells become ``NaT``): a column mixing naive and
    aware text, unparseable text, a time with no date (``"10:00"`` is never read as today), a
    date outside 1677-09-22 .. 2262-04-11, a naive local time that does not exist or is ambiguous
    in ``tz`` (DST gap / overlap), and day/month dates whose order is ambiguous or contradictory.

    Day/month order (``01/02/2026``): one order per column, never guessed per row. ``dayfirst``
    says it; when ``None`` it is what the rows prove (``13/02/2026`` is day-first; the other
    rows' reading is appended to ``notes`` as ``(reason, column, mask)``, an adjustment), and a
    column where every such date has both parts <= 12 is an error asking for ``dayfirst``.
    ISO dates (``2026-02-01``) are never ambiguous.

    Examples
    --------
    >>> s = pd.Series(["2026-01-05 09:00", "2026-01-05T10:00:00+01:00"])
    >>> parse_datetimes(s.iloc[[0]], tz="Europe/Berlin").iloc[0]
    Timestamp('2026-01-05 08:00:00+0000', tz='UTC')
    >>> parse_datetimes(s.iloc[[1]]).iloc[0]
    Timestamp('2026-01-05 09:00:00+0000', tz='UTC')
    >>> parse_datetimes(pd.Series(["01/02/2026", "03/02/2026"]), dayfirst=True).dt.strftime("%d %b").tolist()
    ['01 Feb', '03 Feb']
    """
    problems = problems if problems is not None else Problems("?")
    original = values

    def report(check: str, mask: Any) -> None:
        problems.add(column, check, np.asarray(mask, dtype=bool), original, index=original.index)

    everything = slice(None)  # (every row: a mask over all rows is made only for a problem)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return _in_range(values, report=report, where=everything, memo=memo).dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return _localize(_in_range(values, report=report, where=everything), tz, report=report, where=everything)
    values = values.reset_index(drop=True)  # positions from here on (an index may repeat labels)
    present = values.notna()
    text = values.astype("str").where(present)
    stripped = text.str.strip()
    present &= stripped.ne("") & ~_missing_token(stripped)
    time_only = present & stripped.str.match(_TIME_ONLY, na=False)
    if time_only.any():
        report("a time with no date (never read as today): give the date too", time_only)
        present &= ~time_only
    stripped = _day_month_order(stripped, present, column=column, dayfirst=dayfirst, report=report, notes=notes)
    reported = present & stripped.isna()  # already reported by the day/month check
    present &= stripped.notna()
    aware = stripped.str.contains(_TZ_SUFFIX, na=False) & present
    naive = present & ~aware
    if naive.any():  # text that is no timestamp at all is "unparseable", not "naive"
        naive &= pd.to_datetime(stripped.where(naive), errors="coerce", format="mixed").notna()
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    if aware.any() and naive.any():
        minority = naive if naive.sum() <= aware.sum() else aware
        report("mixes timezone-aware and naive timestamps (say which zone naive ones are in, "
               "or make them all aware)", minority)
        return out.set_axis(original.index)
    flagged = np.zeros(len(values), dtype=bool)
    for rows, utc in ((aware.to_numpy(), True), (naive.to_numpy(), False)):
        if not rows.any():
            continue
        text = stripped[rows]
        if utc:  # "2026-11-03Z", "2026-11-03 10:00 UTC": forms pandas does not read as they are
            text = (text.str.replace(r"^(\d{4}-\d{1,2}-\d{1,2})\s*(?=Z|[+-]\d|UTC|GMT)", r"\1 00:00", regex=True)
                    .str.replace(r"\s*(?:UTC|GMT)\s*$", "+00:00", regex=True, case=False))
        parsed = pd.to_datetime(text, errors="coerce", format="mixed", utc=utc)
        kept = _in_range(parsed, report=report, where=rows)
        if not isinstance(kept.dtype, pd.DatetimeTZDtype):
            kept = _localize(kept, tz, report=report, where=rows)
        flagged[rows] = (parsed.notna() & kept.isna()).to_numpy()
        out.loc[rows] = kept.dt.tz_convert("UTC")
    bad = present.to_numpy() & out.isna().to_numpy() & ~flagged & ~reported.to_numpy()
    if (bad & aware.to_numpy()).any():  # pandas gives up on some far-off aware dates ("9999-12-31Z")
        rows = bad & aware.to_numpy()
        bare = pd.to_datetime(stripped[rows].str.replace(_TZ_SUFFIX, "", regex=True).str.strip(),
                              errors="coerce", format="mixed")
        far = (bare.notna() & ((bare < _TS_MIN) | (bare > _TS_MAX))).to_numpy()
        report(f"timestamp outside the supported range {_TS_MIN:%Y-%m-%d} .. {_TS_MAX:%Y-%m-%d} (a wrong year?)",
               _spread(far, rows))
        bad[np.flatnonzero(rows)[far]] = False
    report("unparseable timestamp", bad)
    return out.set_axis(original.index)


#: the largest magnitude up to which a float holds every whole number exactly (2**53)
_EXACT_FLOAT = 2.0**53
ID_NORMALIZE = (None, "casefold")


def _float_ids(values: pd.Index, *, column: str) -> tuple[pd.Index, list[tuple[str, np.ndarray]]]:
    """Text of ids stored as floats: whole numbers as integers (``12.0`` -> ``"12"``), other
    finite values as written (``"12.5"``); ``inf`` and magnitudes >= 2**53 (where different ids
    can become one float: 1e20 and 1e20 + 1 are the same number) are problems ``(check, mask)``."""
    v = np.asarray(values, dtype="float64")
    finite = np.isfinite(v)
    big = finite & (np.abs(v) >= _EXACT_FLOAT)
    whole = finite & ~big & (v == np.floor(np.where(finite, v, 0)))
    text = pd.Index(values.astype("str"), dtype="str")
    if whole.any():
        text = pd.Index(np.where(whole, np.where(whole, v, 0).astype("int64").astype("str"), text.astype(object)),
                        dtype="str")
    text = text.where(~np.isnan(v), None) if np.isnan(v).any() else text
    bad = []
    if big.any():
        bad.append((f"id stored as a float of magnitude >= 2**53 (9007199254740992): floats cannot hold such "
                    "ids exactly (different ids may have become one number); export the ids as text", big))
    if (~finite & ~np.isnan(v)).any():
        bad.append(("not a valid id (infinite)", ~finite & ~np.isnan(v)))
    return text, bad


#: id columns typed by people (names, e-mail-like handles): spellings that differ only by case or
#: width are refused (or merged with ``id_normalize="casefold"``). Record ids (review, conversation,
#: customer, call ids) come from systems that may use case-sensitive ids (base62): compared exactly
#: after whitespace and Unicode form are normalised.
CASE_CHECKED_IDS = ("agent_id", "reviewer_id")


def _arrow_text(values: pd.Index | pd.Series) -> pa.Array:
    """Text values as one Arrow string array (zero-copy for pandas' Arrow-backed ``str``)."""
    data = getattr(pd.Series(values, copy=False).array, "_pa_array", None)
    if data is None:
        data = pa.chunked_array([pa.array(np.asarray(values, dtype=object), type=pa.large_string(), from_pandas=True)])
    if isinstance(data, pa.ChunkedArray):  # one chunk (the usual case) as it is: combine_chunks copies it
        arr = data.chunk(0) if data.num_chunks == 1 else data.combine_chunks()
    else:
        arr = data
    return arr if arr.type in (pa.string(), pa.large_string()) else arr.cast(pa.large_string())


def _text_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets, bytes)`` of an Arrow string array as numpy views (no copy): ``offsets`` has
    ``len(arr) + 1`` entries (a sliced array's own), indexing the whole data buffer ``bytes``."""
    _, offs_buf, data_buf = arr.buffers()
    width = np.int64 if arr.type == pa.large_string() else np.int32
    offsets = np.frombuffer(offs_buf, dtype=width)[arr.offset: arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    return offsets, data


def _valid(arr: pa.Array) -> np.ndarray | None:
    """Validity of an Arrow array as a boolean array, or None when no value is missing."""
    return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool) if arr.null_count else None


def _suspect_positions(arr: pa.Array) -> np.ndarray:
    """Positions (sorted) of the values :func:`_suspects` flags. The bytes of all values are read
    once: when none is outside 0x21..0x7e (their minimum and maximum, one pass), nothing is suspect and no
    per-value work is done; when such bytes are few, each is traced to its value through the
    offsets (``searchsorted``) and judged there (first byte, last byte or non-ASCII); otherwise
    every value's first and last byte are read (:func:`_suspects_by_value`).

    Examples
    --------
    >>> _suspect_positions(pa.array(["a1", " a1", "b c", "Jos\u00e9", "", None, "x\t"])).tolist()
    [1, 3, 6]
    """
    n = len(arr)
    offsets, data = _text_buffers(arr)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    lo, hi = int(offsets[0]), int(offsets[-1])
    body = data[lo:hi]
    if body.size == 0:
        return np.zeros(0, dtype=np.int64)
    ends = pc.min_max(pa.array(body, type=pa.uint8()))  # (one pass for both: Arrow's kernel; numpy reads twice)
    if ends["min"].as_py() >= 0x21 and ends["max"].as_py() <= 0x7E:
        return np.zeros(0, dtype=np.int64)
    shifted = body - np.uint8(0x21)  # (wraps: bytes below 0x21 become large)
    odd = np.flatnonzero(shifted >= 0x5E)
    del shifted
    if len(odd) > max(n // 8, 1024):  # many odd bytes (names with spaces, non-Latin ids): value by value
        return np.flatnonzero(_suspects_by_value(arr, offsets, data))
    odd += lo
    val = np.searchsorted(offsets, odd, side="right") - 1  # the value holding each odd byte
    start = offsets[val]
    end = offsets[val + 1]
    sus = (data[odd] >= 0x80) | (odd == start) | (odd == end - 1)
    pos = np.unique(val[sus]).astype(np.int64)
    valid = _valid(arr)
    return pos if valid is None else pos[valid[pos]]


def _suspects(arr: pa.Array) -> np.ndarray:
    """Values that normalisation might change: a first or last byte that is whitespace or
    non-ASCII, or any non-ASCII byte (Unicode form), as a boolean array. Read from the Arrow
    buffers with numpy (:func:`_suspect_positions`: usually two reductions over the bytes)."""
    out = np.zeros(len(arr), dtype=bool)
    out[_suspect_positions(arr)] = True
    return out


def _suspects_by_value(arr: pa.Array, offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    """:func:`_suspects` value by value: each value's first and last byte, and the largest byte of
    each value when some byte is non-ASCII."""
    n = len(arr)
    start, end = offsets[:-1], offsets[1:]
    nonempty = end > start
    if arr.null_count:
        nonempty &= np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if nonempty.all():
        s, e = start, end
    elif not nonempty.any():
        return np.zeros(n, dtype=bool)
    else:
        s, e = start[nonempty], end[nonempty]
    # a byte outside 0x21..0x7e (whitespace, control, non-ASCII) first or last: look closer
    first = data[s]
    first -= 0x21
    sus = first >= 0x5E
    last = data[e - 1]
    last -= 0x21
    sus |= last >= 0x5E
    used = data[offsets[0]: offsets[-1]]
    if used.size and used.max() >= 0x80:
        sus |= np.maximum.reduceat(data[: e[-1]], s) >= 0x80  # max byte of each non-empty value
    if len(s) == n:
        return sus
    out = np.zeros(n, dtype=bool)
    out[nonempty] = sus
    return out


def _normalise_ids(uniq: pd.Index, counts: Any, *, id_normalize: str | None, fold: bool):
    """Canonical text for distinct id values (``uniq``: text, no missing; ``counts()`` their rows).

    Always: surrounding whitespace stripped and Unicode NFC form (``'a1 '`` and ``'a1'`` are one
    id; so are NFC and NFD spellings of ``'José'``); only the few values :func:`_suspects` picks
    are looked at. With ``fold`` (people's ids), spellings that then differ only by case or width
    (NFKC: full-width letters) are refused unless ``id_normalize="casefold"``, which maps them to
    the most frequent spelling. Returns ``(canonical or None when nothing changes,
    stripped_changed, collide, case_merged)``, the last three boolean arrays over ``uniq``.
    """
    n = len(uniq)
    changed = np.zeros(n, dtype=bool)
    collide = np.zeros(n, dtype=bool)
    merged = np.zeros(n, dtype=bool)
    canon = None
    arr = _arrow_text(uniq)
    suspect = _suspects(arr)
    if suspect.any():
        sub = arr.filter(pa.array(suspect))
        n1 = pc.utf8_normalize(pc.utf8_trim_whitespace(sub), form="NFC")
        diff = ~np.asarray(pc.equal(n1, sub).to_numpy(zero_copy_only=False), dtype=bool)
        if diff.any():
            changed[np.flatnonzero(suspect)[diff]] = True
            canon = np.asarray(uniq, dtype=object).copy()
            canon[changed] = np.asarray(n1.to_numpy(zero_copy_only=False), dtype=object)[diff]
    if not fold:
        return canon, changed, collide, merged
    text = canon if canon is not None else np.asarray(uniq, dtype=object)
    key = np.asarray(pc.utf8_lower(pc.utf8_normalize(pa.array(text, type=pa.large_string()), form="NFKC"))
                     .to_numpy(zero_copy_only=False), dtype=object)
    frame = pd.DataFrame({"canon": text, "key": key})
    spellings = frame.groupby("key", sort=False)["canon"].transform("nunique").to_numpy()
    collide = spellings > 1
    if collide.any() and id_normalize == "casefold":
        frame["count"] = counts()
        sub = frame[collide]
        per = sub.groupby(["key", "canon"], sort=True)["count"].sum().reset_index()
        best = per.sort_values(["key", "count"], ascending=[True, False], kind="stable").drop_duplicates("key")
        target = sub["key"].map(dict(zip(best["key"], best["canon"]))).to_numpy(dtype=object)
        canon = text.copy()
        merged[collide] = target != text[collide]
        canon[collide] = target
        collide = np.zeros(n, dtype=bool)
    return canon, changed, collide, merged


#: categories (pandas Index objects) already found clean, by identity: the scores of a review share
#: their ratings' categorical ids, so a million review ids are checked once per table, not per step
_CLEAN: dict[int, tuple[Any, set]] = {}


def _known_clean(cats: pd.Index, key: tuple) -> bool:
    entry = _CLEAN.get(id(cats))
    return entry is not None and entry[0]() is cats and key in entry[1]


def _mark_clean(cats: pd.Index, key: tuple) -> None:
    entry = _CLEAN.get(id(cats))
    if entry is None or entry[0]() is not cats:
        ident = id(cats)
        entry = (weakref.ref(cats, lambda _r, ident=ident: _CLEAN.pop(ident, None)), set())
        _CLEAN[ident] = entry
    entry[1].add(key)


def _recategorised(s: pd.Series, codes: np.ndarray, canon_index: pd.Index) -> tuple[pd.Series, bool]:
    """The categorical ``s`` (its ``codes``) over the normalised categories ``canon_index``: the same
    codes when those stay distinct (not copied), else recoded (``recoded`` True: ids that were two are one)."""
    if canon_index.is_unique:  # new categories over the same codes (not copied)
        dtype = pd.CategoricalDtype(canon_index, ordered=s.cat.ordered)
        return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype, validate=False),
                         index=s.index, name=s.name), False
    new_codes, uniq = pd.factorize(canon_index)
    recoded = np.where(codes >= 0, new_codes[np.maximum(codes, 0)], -1)
    return pd.Series(pd.Categorical.from_codes(recoded, categories=pd.Index(uniq, dtype="str")),
                     index=s.index, name=s.name), True


def _used_categories(s: pd.Series, memo: dict | None) -> np.ndarray | None:
    """Positions of the categories some row of the categorical ``s`` uses, or None when every one
    is used (one mark per row). ``memo``: kept there for this check (the id and empty-value steps
    read the same column), keyed by the column and its categories; never across calls.

    Examples
    --------
    >>> _used_categories(pd.Series(pd.Categorical(["b", "b"], categories=["a", "b", "c"])), None)
    array([1])
    """
    cats = s.cat.categories
    key = ("used", s.name, id(cats))
    if memo is not None and key in memo and memo[key][0] is cats:
        return memo[key][1]
    codes = s.array.codes
    used = np.zeros(len(cats), dtype=bool)
    used[codes if codes.min(initial=0) >= 0 else codes[codes >= 0]] = True
    sub = None if used.all() else np.flatnonzero(used)
    if memo is not None:
        memo[key] = (cats, sub)  # (the categories held: their id is not reused during the check)
    return sub


def _coerce_text_ids(s: pd.Series, column: str, problems: Problems, id_normalize: str | None,
                     notes: list | None, memo: dict | None, n_problems: int, clean_key: tuple) -> tuple[pd.Series, bool]:
    """Record ids in text categories (:func:`_coerce_id`): the suspect categories are found on all
    categories at once (:func:`_text_facts`, shared with the empty-value step), and only the
    suspects some row uses are judged (a table's ids often share the categories of a larger one:
    3M survey answers over 10M conversation ids; no take of the used categories' text). Nothing
    suspect: the column is returned as it is, no per-row work."""
    cats = s.cat.categories
    codes = s.array.codes
    sus = _text_facts(cats, memo).suspects
    if len(sus):
        used = _used_mask(s, memo)
        unused = not bool(used.all())
        sus = sus[used[sus]]
    else:
        unused = False
    if not len(sus):
        if len(problems.rows) == n_problems and not unused:
            _mark_clean(cats, clean_key)
        return s, False
    text = cats.take(sus)
    canon, changed, collide, merged = _normalise_ids(text, None, id_normalize=id_normalize, fold=False)

    def rows(m: np.ndarray) -> np.ndarray:
        full = np.zeros(len(cats), dtype=bool)
        full[sus[m]] = True
        return (codes >= 0) & full[np.maximum(codes, 0)]

    _report_ids(column, text, canon, changed, collide, merged, rows, problems, notes, s)
    if canon is None:
        return s, False
    full = np.asarray(cats, dtype=object).copy()  # the changed categories; the others kept as they are
    full[sus] = canon
    return _recategorised(s, codes, pd.Index(full, dtype="str"))


def _used_mask(s: pd.Series, memo: dict | None) -> np.ndarray:
    """Which categories of the categorical ``s`` some row uses (one mark per row), kept in ``memo``
    for this check."""
    sub = _used_categories(s, memo)
    cats = s.cat.categories
    if sub is None:
        return np.ones(len(cats), dtype=bool)
    used = np.zeros(len(cats), dtype=bool)
    used[sub] = True
    return used


def _coerce_id(s: pd.Series, column: str, problems: Problems, id_normalize: str | None,
               notes: list | None, memo: dict | None = None) -> tuple[pd.Series, bool]:
    """Ids as text (categoricals stay categorical; the work is on the categories), normalised
    by :func:`_normalise_ids`; returns ``(ids, recoded)`` -- ``recoded``: categorical codes changed."""
    fold = column in CASE_CHECKED_IDS
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = s.cat.categories
        codes = s.array.codes
        clean_key = ("id", fold, id_normalize)
        if cats.dtype == "str" and _known_clean(cats, clean_key):
            return s, False
        n_problems = len(problems.rows)
        if pd.api.types.is_float_dtype(cats.dtype):
            text, bad = _float_ids(cats, column=column)
            for check_text, m in bad:
                problems.add(column, check_text, (codes >= 0) & m[np.maximum(codes, 0)], s)
        else:
            text = cats if cats.dtype == "str" else pd.Index(cats.astype("str"), dtype="str")
        if len(text) == 0:
            return s, False
        if text is cats and not fold:
            return _coerce_text_ids(s, column, problems, id_normalize, notes, memo, n_problems, clean_key)

        def counts() -> np.ndarray:
            return np.bincount(codes[codes >= 0], minlength=len(cats))

        canon, changed, collide, merged = _normalise_ids(text, counts, id_normalize=id_normalize, fold=fold)

        def rows(m: np.ndarray) -> np.ndarray:
            return (codes >= 0) & m[np.maximum(codes, 0)]

        _report_ids(column, text, canon, changed, collide, merged, rows, problems, notes, s)
        if canon is None:
            if text is cats:  # categories already text: nothing to convert, no copy
                if len(problems.rows) == n_problems:
                    _mark_clean(cats, clean_key)
                return s, False
            canon_index = text
        else:
            canon_index = pd.Index(canon, dtype="str")
        return _recategorised(s, codes, canon_index)
    if pd.api.types.is_float_dtype(s.dtype):
        text, bad = _float_ids(pd.Index(s), column=column)
        for check_text, m in bad:
            problems.add(column, check_text, m, s)
        text = pd.Series(text, index=s.index)
    else:
        text = s.astype("str").where(s.notna())
    text = text.where(~_blank_text(text)).astype("str")
    if not fold:  # record ids: only the suspect rows are looked at, no hashing of every id
        suspect = _suspects(_arrow_text(text))
        if not suspect.any():
            return text, False
        sub = text[suspect]
        codes, uniq = pd.factorize(sub)
        uniq = pd.Index(uniq, dtype="str")
        canon, changed, collide, merged = _normalise_ids(uniq, None, id_normalize=id_normalize, fold=False)
        if canon is None:
            return text, False
        rows_sub = changed[codes]
        full = np.zeros(len(text), dtype=bool)
        full[np.flatnonzero(suspect)[rows_sub]] = True
        _report_ids(column, uniq, canon, changed, collide, merged, lambda m: full, problems, notes, s)
        out = text.copy()
        out[suspect] = canon[codes]
        return out.astype("str"), False
    codes, uniq = pd.factorize(text)
    if len(uniq) == 0:
        return text, False
    uniq = pd.Index(uniq, dtype="str")
    canon, changed, collide, merged = _normalise_ids(
        uniq, lambda: np.bincount(codes[codes >= 0], minlength=len(uniq)), id_normalize=id_normalize, fold=True)
    rows = (lambda m: (codes >= 0) & m[np.maximum(codes, 0)])
    _report_ids(column, uniq, canon, changed, collide, merged, rows, problems, notes, s)
    if canon is None:
        return text, False
    out = pd.Series(np.where(codes >= 0, canon[np.maximum(codes, 0)], None), index=s.index, name=s.name)
    return out.astype("str"), False


def _examples(before: pd.Index, after: np.ndarray, m: np.ndarray, k: int = 2, form: bool = True) -> str:
    """The first ``k`` changes ``before -> after`` among ``m``, in the order of the original text (so
    every engine names the same examples, whatever order it found the values in)."""
    b_all, a_all = np.asarray(before, dtype=object)[m], np.asarray(after, dtype=object)[m]
    order = sorted(range(len(b_all)), key=lambda i: str(b_all[i]))[:k]
    pairs = [f"{b!r} -> {a!r}" if not form or b.strip() != b or b.strip() == a else f"{ascii(b)} -> {ascii(a)} (Unicode form)"
             for b, a in ((b_all[i], a_all[i]) for i in order)]
    return ", ".join(_short_text(p) for p in pairs)


def _short_text(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def id_findings(column: str, text: Any, canon: np.ndarray | None, changed: np.ndarray, collide: np.ndarray,
                merged: np.ndarray) -> tuple[list[tuple[str, np.ndarray]], tuple[str, np.ndarray] | None]:
    """What :func:`_normalise_ids` found, in words: ``([(adjustment reason, mask over the distinct
    values)], (collision check text, mask) or None)``. One text for every engine (the pandas
    validator here and :mod:`qakit.metrics._contract`)."""
    notes = []
    if changed.any():
        notes.append((f"{column}: {int(changed.sum())} values normalised (whitespace/Unicode form), e.g. "
                      f"{_examples(text, canon, changed)}", changed))
    if merged.any():
        notes.append((f"{column}: {int(merged.sum())} spellings merged by case/width (id_normalize='casefold'), "
                      f"e.g. {_examples(text, canon, merged, form=False)}", merged))
    if not collide.any():
        return notes, None
    canon = canon if canon is not None else np.asarray(text, dtype=object)
    frame = pd.DataFrame({"canon": canon[collide],
                          "key": pc.utf8_lower(pc.utf8_normalize(pa.array(canon[collide], type=pa.large_string()),
                                                                 form="NFKC")).to_pylist()})
    groups = [" / ".join(repr(v) for v in sorted(set(g))[:3]) for _, g in frame.groupby("key", sort=True)["canon"]]
    shown = "; ".join(_short_text(g) for g in groups[:3]) + ("; ..." if len(groups) > 3 else "")
    return notes, (f"ids that differ only by case or width are not merged silently: {shown}; "
                   "pass id_normalize='casefold' to merge them (read_table / validate)", collide)


def _report_ids(column, text, canon, changed, collide, merged, rows, problems, notes, raw) -> None:
    found, clash = id_findings(column, text, canon, changed, collide, merged)
    if notes is not None:
        notes.extend((reason, column, rows(mask)) for reason, mask in found)
    if clash is not None:
        problems.add(column, clash[0], rows(clash[1]), raw)


def _coerce(df: pd.DataFrame, col: Column, problems: Problems, tz: str, *, dayfirst: bool | None = None,
            id_normalize: str | None = None, notes: list | None = None, memo: dict | None = None) -> pd.Series:
    s = df[col.name]
    if col.kind == "id":
        out, recoded = _coerce_id(s, col.name, problems, id_normalize, notes, memo)
        if recoded and notes is not None:
            notes.append(("", col.name, None))  # marker: categorical codes changed (contiguous runs unknown)
        return out
    if col.kind == "str" and isinstance(s.dtype, pd.CategoricalDtype):
        # categorical text stays categorical (memory and speed at scale); categories become text
        cats = s.cat.categories
        if pd.api.types.is_float_dtype(cats.dtype):  # whole numbers as integers, no int64 overflow
            text = _float_ids(cats, column=col.name)[0]
        else:
            text = cats.astype("str")
        if text.dtype == cats.dtype:  # categories already text: nothing to convert, no copy
            return s
        if text.is_unique:  # new categories over the same codes (not copied)
            dtype = pd.CategoricalDtype(text, ordered=s.cat.ordered)
            return pd.Series(pd.Categorical.from_codes(s.array.codes, dtype=dtype, validate=False),
                             index=s.index, name=s.name)
        s = s.astype("object")
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
            given = text.ne("") & ~_missing_token(text)
            num = pd.to_numeric(text.where(given), errors="coerce")
            bad = s.notna() & given & num.isna()
            problems.add(col.name, "not a number", bad, s)
        return num.astype("float64")
    if col.kind == "bool":
        if pd.api.types.is_bool_dtype(s.dtype):
            return s.astype("boolean")
        text = s.astype("str").str.strip().str.lower().where(s.notna())
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        out[text.isin(_TRUE)] = True
        out[text.isin(_FALSE)] = False
        bad = text.notna() & text.ne("") & ~_missing_token(text) & out.isna()
        problems.add(col.name, f"not a boolean (allowed: {sorted(_TRUE | _FALSE)})", bad, s)
        return out
    if col.kind == "datetime":
        return parse_datetimes(s, tz=tz, column=col.name, problems=problems, dayfirst=dayfirst, notes=notes,
                               memo=memo)
    raise ParameterError(f"unknown column kind {col.kind!r}")  # pragma: no cover


@public
def validate(df: pd.DataFrame, table: str | Table, *, tz: str = "UTC", dayfirst: bool | None = None,
             id_normalize: str | None = None, columns: Any = None) -> pd.DataFrame:
    """Check a table against its contract and return a coerced copy.

    Parameters
    ----------
    df : pandas.DataFrame
        The input table, already renamed to canonical column names.
    table : {"ratings", "conversations", "surveys"} or Table
        Which contract to apply.
    tz : str, default="UTC"
        Time zone in which naive timestamps are read; results are always UTC.
    dayfirst : bool, optional
        Order of day and month in dates like ``01/02/2026``: ``True`` dd/mm/yyyy, ``False``
        mm/dd/yyyy. One order per column, never guessed per row; when omitted it is what the
        column's rows prove (``13/02/2026`` is day-first; recorded as an adjustment), and a
        column whose dates all have both parts <= 12 is refused. ISO dates never need it.
    id_normalize : {None, "casefold"}, default=None
        Ids always lose surrounding whitespace and are put in Unicode NFC form (``'a1 '`` and
        ``'a1'`` are one id; recorded as an adjustment). Ids that then differ only by case or
        width (``'A1'``, ``'a1'``, full-width ``'Ａ1'``) are refused, unless ``"casefold"``:
        then each group becomes its most frequent spelling (recorded as an adjustment).
    columns : iterable of str, optional
        Check only these columns of the contract (the columns a metric reads: a conversations
        table without ``channel`` is fine for :func:`qakit.kpis.resolution_time`); the other
        columns pass through untouched. Default: the whole contract.

    Returns
    -------
    pandas.DataFrame
        Same rows and columns (extra columns pass through), ids as strings, numbers as float,
        timestamps as UTC, booleans as nullable ``boolean``. Rows kept but changed (normalised
        ids, a day/month order read from the column) are listed by :func:`adjustments`.

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
    out, problems = check(df, table, tz=tz, dayfirst=dayfirst, id_normalize=id_normalize, columns=columns)
    problems.raise_if_any()
    return out


def _blank_text(values: pd.Index | pd.Series) -> np.ndarray:
    """Empty or whitespace-only text, as a boolean array (missing values: False). Every
    whitespace-only value starts with a byte :func:`_suspects` flags (whitespace, a control
    character or a non-ASCII byte), so the empty values are read from the Arrow offsets and only
    the suspects are tested with Arrow's ``utf8_is_space`` (no stripped copy of every value).

    Examples
    --------
    >>> _blank_text(pd.Index(["a", "", " ", "\u00a0\t", "b c", None], dtype="str")).tolist()
    [False, True, True, True, False, False]
    """
    if values.dtype != "str":
        values = pd.Series(values, copy=False).astype("str")
    arr = _arrow_text(values)
    blank = np.zeros(len(arr), dtype=bool)
    blank[_blank_positions(arr, _suspect_positions(arr))] = True
    return blank


def _blank_positions(arr: pa.Array, suspects: np.ndarray) -> np.ndarray:
    """Positions (sorted) of the empty or whitespace-only values of ``arr`` given its
    :func:`_suspect_positions`: zero length in the offsets, or a suspect that ``utf8_is_space``
    (a small take of the suspects only)."""
    if len(arr) == 0:
        return np.zeros(0, dtype=np.int64)
    offsets, _ = _text_buffers(arr)
    same = offsets[1:] == offsets[:-1]
    empty = np.flatnonzero(same) if same.any() else np.zeros(0, dtype=np.int64)  # (usually none: no positions sought)
    valid = _valid(arr)
    if valid is not None and len(empty):
        empty = empty[valid[empty]]
    if len(suspects):
        space = pc.fill_null(pc.utf8_is_space(arr.take(pa.array(suspects))), False)
        spaced = suspects[np.asarray(space.to_numpy(zero_copy_only=False), dtype=bool)]
        if len(spaced):
            return np.union1d(empty, spaced).astype(np.int64)
    return empty.astype(np.int64)


@dataclass
class _TextFacts:
    """What one check learns about a text categories Index (computed at most once per check, shared
    by the id step, the empty-value step and the key check through the check's ``memo``; never kept
    across calls): its Arrow array (zero-copy), the positions of its suspect values (whitespace at an
    end, non-ASCII) and of its blank values, and which categories some row uses (on demand)."""

    cats: pd.Index
    arr: pa.Array
    suspects: np.ndarray
    _blank: np.ndarray | None = None

    @property
    def blank(self) -> np.ndarray:
        if self._blank is None:
            self._blank = _blank_positions(self.arr, self.suspects)
        return self._blank


def _text_facts(cats: pd.Index, memo: dict | None) -> _TextFacts:
    """The :class:`_TextFacts` of the text categories ``cats``, from ``memo`` when this check
    already has them (keyed by the categories' identity; the Index is held, so its id is not
    reused during the check)."""
    key = ("text facts", id(cats))
    if memo is not None:
        hit = memo.get(key)
        if isinstance(hit, Future):  # (being read on the second thread: :func:`_prefetch_text_facts`)
            hit = memo[key] = hit.result()
        if hit is not None and hit.cats is cats:
            return hit
    facts = _read_text_facts(cats, False)
    if memo is not None:
        memo[key] = facts
    return facts


def _read_text_facts(cats: pd.Index, blank: bool) -> _TextFacts:
    """The :class:`_TextFacts` of ``cats`` read (their blank values too when ``blank``)."""
    arr = _arrow_text(cats)
    facts = _TextFacts(cats, arr, _suspect_positions(arr))
    if blank:
        facts.blank  # noqa: B018 (read now: on the second thread when prefetched)
    return facts


#: text categories from which :func:`_prefetch_text_facts` reads an id column's facts on the second
#: thread (below it the handing over costs about what it saves)
_PREFETCH_CATEGORIES = 1 << 18


def _prefetch_text_facts(df: pd.DataFrame, cols: list[Column], id_normalize: str | None,
                         memo: dict) -> set[str]:
    """Start reading, on the second thread (:mod:`qakit._threads`), the :class:`_TextFacts` of
    each id column's text categories that this check will read (not found clean already; at least
    :data:`_PREFETCH_CATEGORIES` of them) -- its suspects, and its blank values when the column is
    required -- and leave the Future in ``memo`` for :func:`_text_facts`. Returns the names of the
    columns started (none with one thread: nothing changes then)."""
    started: set[str] = set()
    if T.threads() < 2:
        return started
    for col in cols:
        if col.kind != "id" or col.name not in df.columns:
            continue
        s = df[col.name]
        if not isinstance(s.dtype, pd.CategoricalDtype):
            continue
        cats = s.cat.categories
        if len(cats) < _PREFETCH_CATEGORIES or cats.dtype != "str":
            continue
        fold = col.name in CASE_CHECKED_IDS
        need_id = not fold and not _known_clean(cats, ("id", fold, id_normalize))
        need_blank = not col.nullable and not _known_clean(cats, ("blank",))
        key = ("text facts", id(cats))
        if not (need_id or need_blank) or key in memo:
            continue
        memo[key] = T.submit(_read_text_facts, cats, need_blank)
        started.add(col.name)
    return started


def _empty(raw: pd.Series, memo: dict | None = None) -> np.ndarray | None:
    """Missing or blank cells as a boolean array, or ``None`` when no cell is empty
    (categoricals: checked on the categories some row uses -- :func:`_used_categories` -- and one
    pass over the codes, no per-row mask)."""
    if isinstance(raw.dtype, pd.CategoricalDtype):
        cats = raw.cat.categories
        blank = None  # (None: no category is blank -- no array of 10M flags made to say so)
        if _known_clean(cats, ("blank",)):
            pass
        elif len(cats) and cats.dtype == "str":  # blank positions of all categories (read from offsets
            where = _text_facts(cats, memo).blank  # and suspects; an unused blank category flags no row)
            if len(where):
                blank = np.zeros(len(cats), dtype=bool)
                blank[where] = True
            else:
                _mark_clean(cats, ("blank",))
        else:
            blank = _blank_text(cats)
            if not blank.any():
                _mark_clean(cats, ("blank",))
        codes = raw.array.codes
        if blank is None or not blank.any():
            return None if codes.min(initial=0) >= 0 else codes < 0
        return (codes < 0) | (blank[np.maximum(codes, 0)] & (codes >= 0))
    if isinstance(raw.array, pd.arrays.DatetimeArray) and len(raw):  # NaT is the int64 minimum: one pass when none
        i8 = raw.array.asi8
        return i8 == _NAT_I8 if _i8_extremes(i8, memo)[2] else None
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


def _duplicated(df: pd.DataFrame, cols: list[str], runs: np.ndarray | None = None, *,
                may_run: bool = False) -> pd.Series:
    """All rows whose key ``cols`` occurs more than once (rows with a missing key part are left
    to the empty-value check), from integer codes (a categorical's own codes; other columns
    factorized) combined in mixed radix, in the cheapest way that settles it:

    - with ``runs`` (the first column's :func:`contiguous_runs`) and a categorical second column
      of at most 64 values, a per-run bit set first tells whether any key repeats at all;
    - keys in strictly increasing order (a table sorted by its key: one comparison per row; the
      first column's codes alone first) hold no duplicate;
    - a key space up to ``4 * rows`` is counted (``np.bincount``); up to ``64 * rows`` one byte
      per possible key is marked (``seen[key] = 1``: fewer marks than rows means a duplicate);
    - ``may_run``: the first column's runs are computed here when the steps above did not settle it;
    - otherwise the keys are hashed (``Series.duplicated``).

    The rows are found (a count per key, or the hash) only when some key repeats.

    Examples
    --------
    >>> t = pd.DataFrame({"id": pd.Categorical(["a", "b", "a", "c"]), "kind": pd.Categorical(["x", "x", "y", "x"])})
    >>> _duplicated(t, ["id", "kind"]).tolist()  # every (id, kind) once
    [False, False, False, False]
    >>> _duplicated(t.assign(kind="x"), ["id", "kind"]).tolist()  # ("a", "x") twice: rows 0 and 2
    [True, False, True, False]
    """
    none = lambda: pd.Series(np.zeros(len(df), dtype=bool), index=df.index)  # noqa: E731
    if runs is not None and len(cols) == 2 and isinstance(df[cols[1]].dtype, pd.CategoricalDtype):
        c2 = df[cols[1]]
        if _duplicated_in_runs(c2.array.codes, len(c2.cat.categories), runs) is False:
            return none()
    codes, sizes = [], []
    for c in cols:
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            k, n = df[c].array.codes, len(df[c].cat.categories)
        else:
            k, u = pd.factorize(df[c], sort=False)
            n = len(u)
        codes.append(k)
        sizes.append(max(n, 1))
    all_present = all(k.min(initial=0) >= 0 for k in codes)
    if all_present and len(codes[0]) > 1 and bool((codes[0][1:] > codes[0][:-1]).all()):
        return none()  # the first column alone sorted, each value once (no key to combine)
    present = None if all_present else np.logical_and.reduce([k >= 0 for k in codes])
    key = codes[0].astype(np.int64) if all_present else np.maximum(codes[0], 0).astype(np.int64)
    space = sizes[0]
    for k, n in zip(codes[1:], sizes[1:]):
        key *= n
        key += k if all_present else np.maximum(k, 0)
        space *= n
    if len(key) < 2:
        return none()
    if all_present and bool((key[1:] > key[:-1]).all()):  # sorted by the key, each once
        return none()
    used = key if all_present else key[present]
    if space <= 4 * len(df) + 1024:
        counts = np.bincount(used, minlength=space)
        if counts.max(initial=0) <= 1:  # the usual case: no duplicate, no per-row lookup needed
            return none()
        dup = counts[key] > 1
        return pd.Series(dup if all_present else present & dup, index=df.index)
    if space <= 64 * len(df) + (1 << 20):
        seen = np.zeros(space, dtype=np.uint8)
        seen[used] = 1
        if int(np.count_nonzero(seen)) == len(used):
            return none()
    elif may_run and len(cols) == 2 and isinstance(df[cols[1]].dtype, pd.CategoricalDtype):
        first = contiguous_runs(df[cols[0]])
        if first is not None:
            c2 = df[cols[1]]
            if _duplicated_in_runs(c2.array.codes, len(c2.cat.categories), first) is False:
                return none()
    where = key if all_present else np.where(present, key, -1)
    dup = pd.Series(where).duplicated(keep=False).to_numpy()
    return pd.Series(dup if all_present else present & dup, index=df.index)


def _latest(ts: pd.Series, memo: dict | None = None):
    """The latest timestamp of a datetime column (NaT ignored; NaT when there is none): one
    ``max`` over its int64 values (pandas' ``Series.max`` on a tz-aware column is ~4x slower),
    none when this check already read it (``memo``: :func:`_i8_extremes`)."""
    a = ts.array
    if isinstance(a, pd.arrays.DatetimeArray) and len(a):
        m = _i8_extremes(a.asi8, memo)[1] if memo is not None else int(a.asi8.max())
        return pd.NaT if m is None or m == _NAT_I8 else pd.Timestamp(m, unit=a.unit, tz=a.tz)
    return ts.max()


def checked_columns(spec: Table, columns: Any = None) -> list[Column]:
    """The contract columns a check covers: all of them, or those named in ``columns`` (a metric
    validates the columns it reads; the others pass through untouched)."""
    if columns is None:
        return list(spec.columns)
    wanted = set(columns)
    return [c for c in spec.columns if c.name in wanted]


def check(
    df: pd.DataFrame, table: str | Table, *, tz: str = "UTC", runs: np.ndarray | None = None,
    dayfirst: bool | None = None, id_normalize: str | None = None, columns: Any = None, memo: dict | None = None,
) -> tuple[pd.DataFrame, Problems]:
    """Like :func:`validate` but return ``(coerced copy, Problems)`` without raising for row-level
    problems, so callers can add their own checks and raise everything together.

    Missing required columns, an empty table and a non-DataFrame still raise at once.
    ``runs``: :func:`contiguous_runs` of the table's first key column when the caller already
    has it (computed here otherwise); it only speeds up the duplicate-key check. ``columns``: check
    only these contract columns (required among them must be present; None: the whole contract).
    ``memo``: a dict that receives the facts this check learnt about the columns (e.g. each
    timestamp column's extremes: :func:`timestamp_extremes`), for the caller's use in the same
    call; never kept across calls.
    """
    spec = get_table(table)
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(f"{spec.name} must be a pandas DataFrame; got {type(df).__name__}")
    if dayfirst is not None and not isinstance(dayfirst, bool):
        raise ParameterError(f"dayfirst must be True, False or None; got {dayfirst!r}")
    check_choice("id_normalize", id_normalize, ID_NORMALIZE)
    cols = checked_columns(spec, columns)
    names = {c.name for c in cols}
    notes: list = []
    memo = {} if memo is None else memo  # (facts about a column shared by the steps of this one check)
    # row ids are converted to text only for the few rows a message shows (Problems.add)
    row_ids = df[spec.row_id] if spec.row_id and spec.row_id in df.columns else None
    problems = Problems(spec.name, row_ids=row_ids)
    required = [c.name for c in cols if c.required]
    missing = [c for c in required if c not in df.columns]
    for name in missing:
        problems.add(name, f"required column is missing (columns present: {list(df.columns)})")
    if missing:
        problems.raise_if_any()
    out = df.copy(deep=False)  # copy-on-write (pandas 3): coerced columns never touch the caller's frame
    if len(out) == 0:
        problems.add((required or spec.required)[0], "table has no rows")
        problems.raise_if_any()

    def step(col: Column) -> None:
        """The column's own checks: coerced, empty values, allowed values, finite and in range."""
        raw = out[col.name]
        out[col.name] = _coerce(out, col, problems, tz, dayfirst=dayfirst, id_normalize=id_normalize, notes=notes,
                                memo=memo)
        if not col.nullable:
            if col.kind == "id" and not isinstance(out[col.name].dtype, pd.CategoricalDtype):
                empty = out[col.name].isna().to_numpy()  # coerced text ids: missing or blank is NaN already
            else:
                empty = _empty(raw, memo)
                if col.kind != "str" and (pd.api.types.is_string_dtype(raw.dtype) or raw.dtype == object):
                    token = _missing_token(raw.astype("str")).to_numpy()  # "N/A" in a required number/time
                    empty = token if empty is None else (empty | token)
            if empty is not None:
                problems.add(col.name, "empty value in a required column", empty, raw)
        s = out[col.name]
        if col.allowed is not None:
            bad = _not_allowed(s, col.allowed)
            if bad is not None:
                problems.add(col.name, f"not one of {', '.join(repr(a) for a in col.allowed)}", bad, raw)
        inf = None
        inside = False  # (every value known to be finite and inside the column's range)
        if col.kind == "float":
            values = s.to_numpy(dtype=float, na_value=np.nan)
            # the extremes first (NaN ignored: two reductions); rows are looked at only when one is
            # infinite or outside the range
            lo, hi = (float(np.fmin.reduce(values)), float(np.fmax.reduce(values))) if len(values) else (0.0, 0.0)
            memo[("float extremes", col.name)] = (lo, hi)  # (NaN ignored; NaN when every value is missing)
            if np.isnan(lo) or (np.isfinite(lo) and np.isfinite(hi)):
                inside = np.isnan(lo) or ((col.min is None or lo >= col.min) and (col.max is None or hi <= col.max))
            else:
                inf = np.isinf(values)  # never a measurement: an export or formula defect
                problems.add(col.name, "not a finite number (inf)", inf, raw)
        if (col.min is not None or col.max is not None) and not inside:  # a range (inf is reported once, above)
            finite = s.notna() if inf is None else s.notna() & ~inf
            if col.min is not None:
                problems.add(col.name, f"below the minimum {col.min:g}", finite & (s < col.min), raw)
            if col.max is not None:
                problems.add(col.name, f"above the maximum {col.max:g}", finite & (s > col.max), raw)

    # an id column's text categories (10M conversation ids shared by a surveys table: ~9 ms of
    # bytes and offsets) are read on the second thread (qakit._threads) while this one checks the
    # other columns; that column's own step then runs after the others and its problems and notes
    # are put back in column order: the same findings, in the same order, as with one thread
    pending = _prefetch_text_facts(out, cols, id_normalize, memo)
    deferred: list[tuple[Column, int, int]] = []
    for col in cols:
        if col.name not in out.columns:
            continue
        if col.name in pending:
            deferred.append((col, len(problems.rows), len(notes)))
            continue
        step(col)
    future_after = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)
    for col in cols:
        if col.kind == "datetime" and col.name in out.columns:
            if not _latest(out[col.name], memo) > future_after:  # (read already); NaT-only columns compare False
                continue
            fut = out[col.name].notna() & (out[col.name] > future_after)
            problems.add(col.name, "timestamp in the future (more than a day after now: wrong year or "
                         "day/month swapped?)", fut, df[col.name])
    if spec is CALLS_DAILY:
        _check_daily_counts(out, problems)
    if spec is SURVEYS and {KIND, SCORE} <= set(out.columns) & names:
        for kind, lo, hi, bad in _off_survey_bounds(out[KIND], out[SCORE], memo.get(("float extremes", SCORE))):
            problems.add(SCORE, f"{kind} score outside {lo:g}..{hi:g}", bad, out[SCORE])
    early_dup = None
    if deferred and spec.unique and set(spec.unique) <= set(out.columns) & names and any(
            c.name == spec.unique[0] for c, _, _ in deferred) and isinstance(out[spec.unique[0]].dtype,
                                                                            pd.CategoricalDtype):
        # (the key's codes are the same before and after the id step unless it re-codes ids: read
        # while the second thread finishes, kept only when no id was re-coded)
        early_dup = _duplicated(out, list(spec.unique), runs, may_run=True)
    shift_p = shift_n = 0
    for col, at_p, at_n in deferred:  # (the id columns whose categories were read on the second thread)
        n_p, n_n = len(problems.rows), len(notes)
        step(col)
        new_p, new_n = problems.rows[n_p:], notes[n_n:]
        del problems.rows[n_p:], notes[n_n:]
        problems.rows[at_p + shift_p:at_p + shift_p] = new_p
        notes[at_n + shift_n:at_n + shift_n] = new_n
        shift_p, shift_n = shift_p + len(new_p), shift_n + len(new_n)
    recoded = {n[1] for n in notes if n[2] is None}
    for reason, column, mask in notes:
        if mask is not None and np.any(mask):
            ids = (row_ids.to_numpy()[mask] if row_ids is not None else np.flatnonzero(mask))
            add_adjustment(out, reason, column, ids)
    rec = get_record(out)
    if rec is not None and rec.producer is None:
        stamp(out, "validate")
    if spec.unique and set(spec.unique) <= set(out.columns) & names:
        # (ids re-coded as text, e.g. categories 1 and "1" both "1": the caller's runs are unknown)
        stale = not isinstance(out[spec.unique[0]].dtype, pd.CategoricalDtype) or spec.unique[0] in recoded
        dup = (early_dup if early_dup is not None and not stale
               else _duplicated(out, list(spec.unique), None if stale else runs, may_run=not stale))
        key = None
        if dup.any():
            parts = [out[c].astype("str").fillna("<missing>") for c in spec.unique]
            key = parts[0].str.cat(parts[1:], sep=" / ") if len(parts) > 1 else parts[0]
        problems.add(
            " + ".join(spec.unique), f"duplicate key ({', '.join(spec.unique)})", dup, key
        )
    return out, problems


def _not_allowed(s: pd.Series, allowed: tuple) -> np.ndarray | None:
    """Rows holding a value outside ``allowed`` (missing: not), or None when there is none. A
    categorical is tested on its categories; its rows are read (through the codes) only when a
    category fails, so a category present but unused is no problem.

    Examples
    --------
    >>> k = pd.Series(pd.Categorical(["csat", "nps"], categories=["ces", "csat", "nps", "nsp"]))
    >>> _not_allowed(k, ("csat", "nps", "ces")) is None  # 'nsp' is a category no row uses
    True
    >>> _not_allowed(k.astype("str").replace("nps", "nsp"), ("csat", "nps", "ces")).tolist()
    [False, True]
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        bad_cat = ~np.asarray(s.cat.categories.isin(allowed), dtype=bool)
        if not bad_cat.any():
            return None
        codes = s.array.codes
        rows = (codes >= 0) & bad_cat[np.maximum(codes, 0)]
        return rows if rows.any() else None
    bad = (s.notna() & ~s.isin(allowed)).to_numpy(dtype=bool)
    return bad if bad.any() else None


def _off_survey_bounds(kind: pd.Series, score: pd.Series,
                       extremes: tuple[float, float] | None = None) -> list[tuple[str, float, float, np.ndarray]]:
    """``(kind, low, high, rows)`` for each survey kind with answers outside its
    :data:`SURVEY_BOUNDS` (missing scores and other kinds: not). One pass for the extremes of the
    scores (``extremes``: the check's own reading, NaN ignored); a kind is looked at only when these
    fall outside its bounds, block by block (:data:`_BLOCK` rows: its rows found through a
    categorical's codes, the scores compared, the temporaries kept small), and every row's flag
    is built only when a block has one off.

    Examples
    --------
    >>> k = pd.Series(pd.Categorical(["csat", "ces", "nps", "ces"]))
    >>> [(kd, lo, hi, m.tolist()) for kd, lo, hi, m in _off_survey_bounds(k, pd.Series([10.0, 7, 0, 9]))]
    [('ces', 1.0, 7.0, [False, False, False, True])]
    """
    v = score.to_numpy(dtype=float, na_value=np.nan)
    if not len(v):
        return []
    lo_all, hi_all = extremes if extremes is not None else (float(np.fmin.reduce(v)), float(np.fmax.reduce(v)))
    if np.isnan(lo_all):
        return []
    if isinstance(kind.dtype, pd.CategoricalDtype):
        cats, codes = kind.cat.categories, kind.array.codes

        def rows_of(k: str):
            w = np.flatnonzero(np.asarray(cats == k, dtype=bool))
            if not len(w):
                return None  # (no category of that name: no row of the kind)
            code = int(w[0])  # (a Python int: int8 codes compared as int8, not each widened to int64)
            return lambda a, b: codes[a:b] == code
    else:
        def rows_of(k: str):  # (text: the kind's rows compared once, in Arrow; read block by block)
            m = kind.eq(k).to_numpy(dtype=bool, na_value=False)
            return (lambda a, b: m[a:b]) if m.any() else None
    out = []
    starts = range(0, len(v), _BLOCK)
    for k, (lo, hi) in SURVEY_BOUNDS.items():
        if lo <= lo_all and hi_all <= hi:  # every score (of every kind) inside this kind's bounds
            continue
        block_rows = rows_of(k)
        if block_rows is None:
            continue
        if any(_off_block(v[i:i + _BLOCK], block_rows(i, i + _BLOCK), lo, hi).any() for i in starts):
            bad = np.concatenate([_off_block(v[i:i + _BLOCK], block_rows(i, i + _BLOCK), lo, hi) for i in starts])
            out.append((k, lo, hi, bad))
    return out


#: rows per block of a pass that makes several temporaries (each block's stay in the CPU's cache:
#: ~1.5x faster than whole-column masks on 3M rows, ~3x faster than taking a kind's scores out)
_BLOCK = 1 << 16


def _off_block(v: np.ndarray, m: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Rows of one block marked by ``m`` whose value is outside ``lo..hi`` (NaN: not)."""
    with np.errstate(invalid="ignore"):
        bad = v < lo
        bad |= v > hi
    bad &= m
    return bad


def _check_daily_counts(out: pd.DataFrame, problems: Problems) -> None:
    """Counts of one day that cannot all be true: answered or abandoned above offered, answered +
    abandoned above offered, answered within the threshold above answered (a service level above
    100 %). Rows are named ``date / queue`` and the numbers shown; that text is built for the
    failing rows only (the masks first: a clean table builds none)."""
    off = out[OFFERED]
    ans = out[ANSWERED] if ANSWERED in out.columns else pd.Series(np.nan, index=out.index)
    ab = out[ABANDONED] if ABANDONED in out.columns else pd.Series(np.nan, index=out.index)
    tol = 1e-6

    def named(bad: np.ndarray) -> tuple[np.ndarray, pd.Series]:
        """``(rows, date / queue)`` of the failing rows."""
        rows = np.flatnonzero(bad)
        sub = out.iloc[rows]
        day = sub[DATE].dt.strftime("%Y-%m-%d").astype("str") if DATE in sub.columns else sub.index.astype("str")
        rid = day + " / " + sub[QUEUE].astype("str") if QUEUE in sub.columns else day
        return rows, pd.Series(np.asarray(rid, dtype=object))

    def text(s: pd.Series, rows: np.ndarray) -> pd.Series:
        return s.iloc[rows].astype("str").reset_index(drop=True)

    over = (ans.fillna(0) + ab.fillna(0) > off + tol).to_numpy()
    if over.any():
        rows, rid = named(over)
        shown = text(ans, rows) + " answered, " + text(ab, rows) + " abandoned of " + text(off, rows) + " offered"
        problems.add(f"{ANSWERED}, {ABANDONED}", "more than offered (answered + abandoned <= offered)",
                     np.ones(len(rows), dtype=bool), shown, row_ids=rid)
    if ANSWERED_WITHIN in out.columns:
        w = out[ANSWERED_WITHIN]
        within = ((w > ans + tol) | (w > off + tol)).fillna(False).to_numpy(dtype=bool)
        if within.any():
            rows, rid = named(within)
            shown = text(w, rows) + " within of " + text(ans, rows) + " answered, " + text(off, rows) + " offered"
            problems.add(ANSWERED_WITHIN, "more than answered or offered: a service level above 100 % is impossible",
                         np.ones(len(rows), dtype=bool), shown, row_ids=rid)


# --- links between tables ----------------------------------------------------------------------
def orphans(child: pd.DataFrame, parent: pd.DataFrame, *, key: str = CONVERSATION_ID) -> pd.Series:
    """Boolean mask of ``child`` rows whose ``key`` is not in ``parent`` (e.g. surveys about
    conversations missing from the conversations export).

    Keys compare as text (``12`` and ``'12'`` are one id), looked up with Arrow's hash set
    (``pyarrow.compute.is_in``: pandas' ``isin`` on 1M text ids took ~6 s, this ~0.5 s); a
    categorical key is looked up once per category. A missing key is an orphan unless ``parent``
    has a missing key too.

    Examples
    --------
    >>> orphans(pd.DataFrame({"conversation_id": ["c1", "c9", None]}), pd.DataFrame({"conversation_id": ["c1", "c2"]})).tolist()
    [False, True, True]
    """
    s = child[key]
    known = pc.unique(_arrow_text(parent[key].astype("str")))
    if isinstance(s.dtype, pd.CategoricalDtype):
        hit = pc.is_in(_arrow_text(s.cat.categories.astype("str")), value_set=known).to_numpy(zero_copy_only=False)
        codes = s.cat.codes.to_numpy()
        found = np.where(codes >= 0, hit[np.maximum(codes, 0)] if len(hit) else False, known.null_count > 0)
    else:
        found = pc.is_in(_arrow_text(s.astype("str")), value_set=known).to_numpy(zero_copy_only=False)
    return pd.Series(~np.asarray(found, dtype=bool), index=child.index)


@public
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


# --- the record every result carries lives in qakit.records (re-exported here: qakit.schema.exclusions) ---
__all__ = ["validate", "validate_links", "exclusions", "adjustments", "add_exclusion", "add_adjustment",
           "carry_records"]
