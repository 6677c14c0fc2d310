"""Which report sections the data supports: one definition for the headings, the sections' cells and
the "left out" list.

A dataset may hold any subset of the tables (only calls, only daily aggregates, only reviews, only
conversations, surveys without dates ...). Each section of the report is declared here once -- its
heading, its introduction, and the test of whether the data can support it. A supported section
shows its heading and cells; an unsupported one shows nothing at all (no empty box, no orphan
heading) and is named exactly once in the list at the top of the report, under the reason: a
missing table ("no reviews: ... (sections: Agents, Categories ...)") or what the data lacks.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

import narwhals as nw
import pandas as pd

from .. import schema as S
from .common import HTML
from ..metrics import _source as B
from .data import ReportData, count_where, engine_columns, engine_lazy, engine_table, table_columns, table_span

#: the heading level of a section (the report's title is h1)
HEADING = "h2"


#: a survey row with a score: an answer (a row without one is an invitation nobody answered)
_ANSWER = ~nw.col(S.SCORE).is_null()


def _csat(data: ReportData) -> bool:
    """Whether the surveys hold a CSAT row (one count on the engine when it reads them in place)."""
    return count_where(data, "surveys", nw.col(S.KIND) == "csat") > 0


#: an answer without its own time (placed on a trend by its conversation's, when it has one)
_UNDATED = _ANSWER & nw.col(S.ANSWERED_AT).is_null()


def _placed(data: ReportData, where: nw.Expr) -> int | None:
    """How many survey rows matching ``where`` have a conversation with a ``created_at``: a semi-join
    on the engine when it holds both tables (None when the conversations are in pandas)."""
    sv = engine_lazy(data, "surveys", [S.CONVERSATION_ID, S.KIND, S.SCORE, S.ANSWERED_AT])
    conv = engine_lazy(data, "conversations", [S.CONVERSATION_ID, S.CREATED_AT])
    if sv is None or conv is None:
        return None
    key = nw.col(S.CONVERSATION_ID).cast(nw.String)
    times = conv.filter(~nw.col(S.CREATED_AT).is_null()).select(key)
    return int(B.collect(sv.filter(where).select(key).join(times, on=S.CONVERSATION_ID, how="semi")
                         .select(nw.len().alias("n")))["n"].iloc[0])


def dated_surveys(data: ReportData):
    """The surveys with a time to place them on a trend: ``answered_at``, else their conversation's
    ``created_at`` (None when the dataset has no surveys); the second value is how many answers were
    placed by their conversation, the third how many have neither. Rows without a score (surveys sent
    but not answered) are not answers and are left out.

    When the engine reads the surveys in place, the first value is the surveys as the engine reads
    them (:func:`engine_table`: a KPI with ``period=`` leaves the rows without a score out and, given
    the conversations, places an undated answer by its conversation itself) and the two counts come
    from the engine; no row is read into pandas (unless undated answers meet conversations held in
    pandas)."""
    if not data.has("surveys"):
        return None, 0, 0
    if isinstance(data, ReportData):  # (the section test, the trend and its legend ask: counted once per run)
        return data.cached("dated_surveys", lambda: _dated_surveys(data))
    return _dated_surveys(data)


def _dated_surveys(data: ReportData):
    """:func:`dated_surveys` of a dataset with surveys."""
    if isinstance(data, ReportData) and not data.in_memory("surveys"):
        n = count_where(data, "surveys", _UNDATED)
        if not n or not data.has("conversations"):  # (none to place, or nothing to place them by)
            return engine_table(data, "surveys"), 0, n
        placed = _placed(data, _UNDATED)
        if placed is not None:
            return engine_table(data, "surveys"), placed, n - placed
    sv = data.surveys
    # a survey row without a score is an invitation nobody answered (response-rate data): it has no
    # answer time by nature, is not an answer to place, and CSAT leaves it out anyway
    sv = sv[sv[S.SCORE].notna()] if S.SCORE in sv.columns else sv
    when = sv[S.ANSWERED_AT]
    by_conv = 0
    if when.isna().any() and data.has("conversations"):
        # (only the undated answers' conversations, and only their creation time: on the engine when it
        # holds the conversations, which are never read whole for this)
        cid = sv[S.CONVERSATION_ID]
        conv = engine_columns(data, "conversations", [S.CONVERSATION_ID, S.CREATED_AT], ids=cid[when.isna()])
        lut = pd.Series(conv[S.CREATED_AT].array, index=conv[S.CONVERSATION_ID].astype("str").to_numpy())
        created = cid.astype("str").where(cid.notna()).map(lut[~lut.index.duplicated()])
        fill = when.isna() & created.notna()
        by_conv = int(fill.sum())
        when = when.where(~fill, created)
    lost = int(when.isna().sum())
    return sv.assign(**{S.ANSWERED_AT: when})[when.notna()], by_conv, lost


def _dated_reviews(data: ReportData) -> bool:
    """Whether some review has a time (``reviewed_at``) to place it on a trend (on the engine when it
    keeps the scores: the contract's extremes)."""
    return data.has("scores") and table_span(data, "scores", S.REVIEWED_AT) is not None


def has_dated_csat(data: ReportData) -> bool:
    """Whether some CSAT answer has a time to place it on the trend (:func:`dated_surveys`)."""
    if isinstance(data, ReportData):  # (asked by the section test and the trend: counted once per run)
        return data.cached("has_dated_csat", lambda: _has_dated_csat(data))
    return _has_dated_csat(data)


def _has_dated_csat(data: ReportData) -> bool:
    sv, by_conv, _ = dated_surveys(data)
    if isinstance(sv, str):  # (read in place: counted there)
        csat = _ANSWER & (nw.col(S.KIND) == "csat")
        return (count_where(data, "surveys", csat & ~nw.col(S.ANSWERED_AT).is_null()) > 0
                or bool(by_conv and _placed(data, csat & nw.col(S.ANSWERED_AT).is_null())))
    return sv is not None and bool(sv[S.KIND].eq("csat").any())


def _check(data: ReportData, key: str):
    """What :func:`qakit.report.checks.prepare_checks` decided for a statistician's check (None
    before it ran: the check is then neither shown nor listed)."""
    return (getattr(data, "checks", None) or {}).get(key)


def has_value_column(data: ReportData) -> bool:
    """Whether the conversations carry a customer value in some row (the rows are read only when
    the column exists)."""
    if S.CUSTOMER_VALUE not in table_columns(data, "conversations"):
        return False
    return bool(data.conversations[S.CUSTOMER_VALUE].notna().any())


def _customer_values(data: ReportData) -> bool:
    if data.customers is not None:
        return data.has("conversations") or S.CONTACTS in data.customers.columns
    return has_value_column(data)


@dataclass(frozen=True)
class Section:
    """One section of the report.

    ``tables``: the tables it reads; when its test fails and one of them is missing (all of them
    with ``any_of``: the section needs one), the missing table is the reason given. ``reason``: the
    reason otherwise (what the data lacks)."""

    key: str
    title: str
    intro: str
    tables: tuple[str, ...]
    test: Callable[[ReportData], bool]
    reason: str = ""
    any_of: bool = False


SECTIONS: tuple[Section, ...] = (
    Section("agents", "Agents",
            "Each agent's IQS with its 95 % interval. With 15-25 reviews an interval is often 20 points wide: an "
            "agent whose interval crosses the pass line is <b>inconclusive</b>, neither passing nor failing on this "
            "evidence. The diamond is the shrunken estimate (pulled towards the team mean by how little data the "
            "agent has); rankings use it.", ("ratings",), lambda d: d.has("scores")),
    Section("categories", "Categories",
            "Category scores pool every review that rated the category (N/A left out). In the grid, a dot marks a "
            "category where the agent's upper 95 % bound is below the team's score: a credible coaching focus. White "
            "cells: the agent has no rating in that category.", ("ratings",), lambda d: d.has("ratings")),
    Section("trends", "Trends", "", ("ratings", "surveys"), lambda d: _dated_reviews(d) or has_dated_csat(d),
            "no review has a date (reviewed_at), and no CSAT answer has a date (answered_at) or a conversation to "
            "place it by", any_of=True),
    Section("fair_comparison", "Fair comparison of teams, sites or vendors",
            "A group can lead on a blended figure only because it handles more of the easy channel. Each figure "
            "raw and on the common channel mix.", ("conversations", "comparison groups"),
            lambda d: _check(d, "group") is not None),
    Section("customer_kpis", "Customer KPIs", "", ("conversations", "surveys"),
            lambda d: d.has("conversations") or d.has("surveys"), any_of=True),
    Section("customers", "Customers who cost more than they bring",
            "Support cost (contacts x cost per contact) against customer value; ids hashed unless "
            "<code>hash_customer_ids</code> is off.", ("conversations",), _customer_values,
            "the conversations have no customer_value values (an optional column) and there is no customers table"),
    Section("iqs_csat", "Does IQS track CSAT?", "Review scores against the customer's CSAT answer on the same "
            "conversation.", ("ratings", "surveys"), lambda d: d.has("scores") and _csat(d),
            "the survey answers hold no CSAT"),
    Section("survey_response", "Who answered the survey?",
            "CSAT rests on the customers who answer. The response rate, CSAT weighted back to the mix of all "
            "contacts (channel x priority x outcome), and what CSAT would be at worst and at best had everyone "
            "answered.", ("surveys", "survey invitations"), lambda d: bool(_check(d, "invitations"))),
    Section("coaching_effect", "Did coaching work?",
            "Coached agents against agents not yet coached who scored as low before, over the same weeks (an "
            "adjusted difference in differences, 95 % interval clustered by agent), with the naive before/after "
            "beside it: that one rises by regression to the mean alone when low scorers are the ones coached. It "
            "assumes the coaching decision rested on the scores of the weeks before the session. Computed on the "
            "report period's reviews: a short period leaves too few weeks before and after a session.",
            ("ratings",), lambda d: d.has("scores") and getattr(d, "coaching", None) is not None
            and len(d.coaching) > 0,
            "no coaching table (add coaching.parquet or coaching.csv: agent_id, coached_at, optional focus, coach)"),
    Section("scorecard_health", "Scorecard health",
            "Which categories never vary, which do not separate good from bad conversations (discrimination: the "
            "category against the rest of the card on the same review), which duplicate each other, and how "
            "consistent the card is. Thresholds and sources: <code>docs/guide/scorecard-health.md</code>.",
            ("ratings",), lambda d: d.has("ratings") and d.card is not None),
    Section("calls", "Calls", "", ("calls",), lambda d: d.has("calls") or d.has("calls_daily")),
    Section("staffing", "Staffing check",
            "The service level the staffing should have given (Erlang C) beside the one measured.",
            ("calls", "staffing"), lambda d: _check(d, "staffing") is not None),
    Section("qa_process", "QA process: coverage, disputes and reviewers",
            "Are agents reviewed as often as planned, how often do they dispute a review and win, and does any "
            "reviewer score the same agents lower or higher than colleagues?", ("ratings",), lambda d: d.has("scores")),
    Section("agreement", "Reviewer agreement",
            "Several reviewers on the same conversations (the calibration set): do they agree?",
            ("calibration",), lambda d: _check(d, "calibration") is not None),
    Section("autoqa", "Automatic scoring (AQS, kept apart from IQS)",
            "Rule-based categories found in every conversation that has text; the AQS is the scorecard engine on "
            "these automatic ratings only. No conversation text appears in this report, only counts and scores.",
            ("messages",), lambda d: d.has("messages")),
    Section("data_quality", "Data quality", "Every row the numbers above leave out, and why.", (), lambda d: True),
    Section("appendix", "Appendix: full tables", "", (), lambda d: True),
)
BY_KEY = {s.key: s for s in SECTIONS}


def shown(data: ReportData, key: str) -> bool:
    """Whether the data supports section ``key`` (its heading and cells are shown)."""
    return BY_KEY[key].test(data)


def _calls_intro(data: ReportData) -> str:
    if data.has("calls"):
        return ("From the call log: service level (calls answered within 20 s out of all calls offered; abandoned "
                "calls count against it), abandoned calls, speed of answer and handle time (talk + hold + after-call "
                "work), each with its 95 % interval.")
    return ("From the daily call aggregates: service level (calls answered within the file's threshold out of all "
            "calls offered), abandoned calls, speed of answer and handle time weighted by each day's calls (never "
            "the mean of daily percentages), each with its 95 % interval.")


def heading(data: ReportData, key: str) -> HTML | None:
    """The section's heading and introduction, or nothing when the data does not support it."""
    s = BY_KEY[key]
    if not s.test(data):
        return nothing()
    intro = _calls_intro(data) if key == "calls" else s.intro
    markup = f"<{HEADING}>{html.escape(s.title)}</{HEADING}>" + (f"<p>{intro}</p>" if intro else "")
    return HTML(markup, s.title)


def left_out_lines(data: ReportData) -> list[str]:
    """The "left out" list: one line per missing table (what it would enable, and the sections it
    leaves out) and one per other reason a section is left out. Every unsupported section is named
    exactly once."""
    by_cause: dict[str, list[str]] = {}
    for s in SECTIONS:
        if s.test(data):
            continue
        missing = [t for t in s.tables if t in data.missing]
        if s.any_of and len(missing) < len(s.tables):
            missing = []
        if not missing and not s.reason:
            continue  # an optional table not looked for (load_optional_tables not run): nothing to say
        cause = missing[0] if missing else f"reason:{s.reason}"
        by_cause.setdefault(cause, []).append(s.title)
    lines = []
    for table, effect in data.missing.items():
        names = by_cause.pop(table, [])
        lines.append(effect + (f" (sections left out: {', '.join(names)})" if names else ""))
    for cause, names in by_cause.items():
        lines.append(f"{', '.join(names)}: {cause.removeprefix('reason:')}")
    return lines


def listed(data: ReportData, key: str) -> bool:
    """Whether the report's left-out list (:func:`qakit.report.views.left_out`, which records
    ``data.left_out_sections``) already names section ``key``: its cells then show nothing. Outside
    the report (the coaching or scorecard-health notebooks) nothing is listed and the cells say why
    themselves."""
    return key in getattr(data, "left_out_sections", ())


def nothing() -> None:
    """What a cell shows when its section or part has no data: nothing at all (no output, so the
    report has no empty box and no blank strip)."""
    return None
