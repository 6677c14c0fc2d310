"""Report data loading: the validated tables of one report run, restricted to its period.

:func:`load_report_data` reads a dataset folder (or the bundled sample), validates every table
against the data contract, restricts it to the report period (``start``/``end``, or the rolling
``last_days``), itemises every row it leaves out (:attr:`ReportData.notes`), scores the reviews
and keeps the previous period of equal length for the changes the headline shows. With
``engine="duckdb"`` the review scores come from DuckDB (:func:`qakit.scorecard.score_reviews`, reading the Parquet
files directly when the report covers every row of them).

Display lives in :mod:`qakit.report.views` (the report) and :mod:`qakit.report.study` (the study,
coaching and calibration notebooks); the analysis in :mod:`qakit.report.tiles` and :mod:`qakit.stats`.
"""

from __future__ import annotations

import shutil
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import datasets
from .. import kpis as K
from .. import schema as S
from .._public import public
from ..errors import DataValidationError, ParameterError
from ..intervals import MIN_N
from ..io import read_table
from ..metrics import _contract as C
from ..metrics import _groups as G
from ..metrics import _source as B
from ..realdata import load_fed
from ..records import set_record
from ..scorecard import Scorecard, load_scorecard, score_reviews
from ..scorecard.engine import StoredReviews, store_reviews
from ..scorecard.card import align_applies_to, load_scorecards
from .display import hash_ids
from .params import REPORT_ENGINES, check_last_days

TABLE_FILES = ("ratings", "conversations", "surveys")
#: optional tables, in the order the report shows their sections (:func:`load_optional_tables`)
OPTIONAL_TABLES = ("calls", "calls_daily", "customers", "disputes", "messages")


@dataclass
class ReportData:
    """The validated inputs of one report run, restricted to the report period."""

    # None: the dataset has no such table (the report leaves its sections out); a table the engine
    # reads in place is read into pandas on first access (:class:`_LazyTable`): never by repr or ==
    ratings: pd.DataFrame | None = field(repr=False, compare=False)
    conversations: pd.DataFrame | None = field(repr=False, compare=False)
    surveys: pd.DataFrame | None = field(repr=False, compare=False)
    card: Scorecard | None
    #: one row per review (:func:`qakit.scorecard.score_reviews`); on an engine kept in a Parquet file
    #: beside DuckDB and read into pandas only when a section asks for rows (:func:`engine_table`)
    scores: pd.DataFrame | None = field(repr=False, compare=False)
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    source: str
    min_n: int = MIN_N
    notes: list[dict[str, Any]] = field(default_factory=list)
    csat_scale: K.CsatScale = field(default_factory=K.CsatScale)  # the one CSAT definition of the run
    #: the same tables for the previous period of equal length (``ratings``, ``scores``, ...; empty
    #: when the report has no start or the data has nothing before it)
    previous: dict[str, Any] = field(default_factory=dict)
    #: tables the dataset does not have -> why that matters
    missing: dict[str, str] = field(default_factory=dict)
    #: where review scoring and the customer KPIs run (:data:`REPORT_ENGINES`)
    engine: str = "pandas"
    #: the file or Parquet folder each table was read from (the engine reads them directly)
    sources: dict[str, Path] = field(default_factory=dict)
    #: the tables the engine reads in place (name -> Parquet file or folder): those the report uses
    #: as stored, every row and none changed when read (:func:`engine_table`)
    direct: dict[str, Path] = field(default_factory=dict)
    #: how the engine computed what it computed, e.g. a KPI it left to pandas (shown under the tiles)
    engine_notes: list[str] = field(default_factory=list)
    #: the rolling window the report covers (``last_days``; 0 = a fixed or open period)
    last_days: int = 0
    #: the optional tables (:func:`load_optional_tables`); None: the dataset has no such table
    calls: pd.DataFrame | None = None
    calls_daily: pd.DataFrame | None = None
    customers: pd.DataFrame | None = None
    disputes: pd.DataFrame | None = None
    messages: pd.DataFrame | None = None
    #: every card of the dataset's scorecard file (the versions of a card edited mid-period, cards
    #: with applies_to); ``card`` is the last of them, the one the report names
    cards: list[Scorecard] = field(default_factory=list)
    #: results several report cells share (KPI summary, coaching table ...), computed once per run
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def registry(self) -> Scorecard | list[Scorecard] | None:
        """The card(s) that score the ratings: one card, or the list when the file holds several."""
        return self.cards if len(self.cards) > 1 else self.card

    @property
    def category_names(self) -> list[str]:
        """The categories of every card, in card order, each once."""
        return list(dict.fromkeys(c for card in (self.cards or [self.card]) if card for c in card.category_names))

    def cached(self, key: str, make: Callable[[], Any]) -> Any:
        """``make()``, computed once per report run and kept under ``key``."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def has(self, *tables: str) -> bool:
        """Whether every named table is present (and not empty). A table the engine checked in place
        is present without being read (the contract refuses an empty table)."""
        for t in tables:
            if isinstance(self.__dict__.get(_SLOT + t), _OnEngine):
                continue
            v = getattr(self, t)
            if v is None or len(v) == 0:
                return False
        return True

    def in_memory(self, name: str) -> bool:
        """Whether the table ``name`` is held as a pandas frame: False for a table the engine reads in
        place that no section has read into pandas yet (``data.<name>`` reads it on first use)."""
        return not isinstance(self.__dict__.get(_SLOT + name), _OnEngine)


#: the attribute slot of a lazily read table (``ratings`` -> ``_lazy_ratings``)
_SLOT = "_lazy_"
#: where the review scores kept on the engine stay once a section has read them into pandas
_STORED = "_stored_scores"


class _OnEngine:
    """A table of the report kept out of pandas: read into pandas on first access (:class:`_LazyTable`)."""

    def load(self) -> pd.DataFrame:  # pragma: no cover - each kind says how
        raise NotImplementedError


class _Deferred(_OnEngine):
    """A table the engine validated in place (:func:`_engine_checked`): read and validated into
    pandas on first access (:class:`_LazyTable`), for the sections not yet moved to the engine."""

    def __init__(self, path: Path, name: str, tz: str, table: Any):
        self.path, self.name, self.tz, self.table = path, name, tz, table

    def load(self) -> pd.DataFrame:
        return _read(self.path, self.name, self.tz)


class _LazyTable:
    """``ReportData.ratings`` / ``conversations``: the pandas frame, read on first access when the
    loader left it on the engine, then kept."""

    def __init__(self, name: str):
        self.name, self.slot = name, _SLOT + name

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        v = obj.__dict__.get(self.slot)
        if isinstance(v, _OnEngine):
            if isinstance(v, _StoredScores):  # (kept: the sections that ask the engine keep asking it)
                obj.__dict__[_STORED] = v
            v = obj.__dict__[self.slot] = v.load()
        return v

    def peek(self, obj: Any) -> Any:
        """The frame if it has been read, else None, without reading it (what ``@public`` stamps
        with its record when it finishes the loader's result: :func:`qakit._public._finish`)."""
        v = obj.__dict__.get(self.slot)
        return None if isinstance(v, _OnEngine) else v

    def __set__(self, obj: Any, value: Any) -> None:
        if self.name == "scores":  # (new scores: what the engine kept is not them)
            obj.__dict__.pop(_STORED, None)
        obj.__dict__[self.slot] = value


for _name in ("ratings", "conversations", "surveys", "scores"):  # (after the dataclass: its __init__ assigns through them)
    setattr(ReportData, _name, _LazyTable(_name))


def _find(folder: Path, name: str, *, required: bool = True) -> Path | None:
    """``<name>.parquet``, ``<name>.csv``, or a folder ``<name>/`` of Parquet files (partitioned).

    Two candidates for one table (an old ``ratings.parquet`` beside a new ``ratings.csv``) are an
    error naming both: the report never picks one silently."""
    found = [folder / f"{name}{ext}" for ext in (".parquet", ".csv") if (folder / f"{name}{ext}").is_file()]
    d = folder / name
    if d.is_dir() and any(d.rglob("*.parquet")):
        found.append(d)
    if len(found) > 1:
        raise ParameterError(f"{str(folder)!r} holds {len(found)} files for the {name} table: "
                             f"{', '.join(p.name + ('/' if p.is_dir() else '') for p in found)}; keep one (an old export "
                             f"beside a new one?) or name the file with -p {name}_path")
    if found:
        return found[0]
    if not required:
        return None
    raise ParameterError(f"no {name}.parquet or {name}.csv in {str(folder)!r}")


#: what a report loses without each table (one line of the "left out" list)
MISSING_EFFECT = {
    "ratings": "no reviews: IQS, pass rate, categories, agents, coaching and the IQS-CSAT study are left out",
    "conversations": "no conversations: response and resolution times, SLA, backlog, FCR and customer cost are left out",
    "surveys": "no survey answers: CSAT, NPS, effort and the IQS-CSAT study are left out",
    "calls": "no calls: service level, abandoned calls and speed of answer are left out "
             "(add calls.parquet or calls.csv, or daily aggregates as calls_daily.parquet)",
    "customers": "no customers table: customer value comes from the conversations' optional customer_value "
                 "column and customers without a contact are not counted (add customers.parquet or customers.csv)",
    "disputes": "no disputes: dispute rates and outcomes, the IQS after disputes and reviewers' overturn rates "
                "are left out (add disputes.parquet or disputes.csv)",
    "messages": "no messages: automatic scoring (AQS) is left out (add messages.parquet or messages.csv)",
}



def period_mask(ts: pd.Series, start: pd.Timestamp | None, end: pd.Timestamp | None) -> pd.Series:
    """Rows whose time ``ts`` lies in ``[start, end]`` (both inclusive; None leaves that side open;
    a missing time is outside): the one period rule of the report's tables."""
    keep = pd.Series(True, index=ts.index)
    if start is not None:
        keep &= ts >= start
    if end is not None:
        keep &= ts <= end
    return keep.fillna(False).astype(bool)


def _day(value: str, name: str) -> pd.Timestamp | None:
    if value in (None, ""):
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ParameterError(f"{name} must be a date like 2026-08-01; got {value!r}") from None
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


@public
def load_report_data(
    *,
    dataset: str = "sample",
    ratings_path: str = "",
    conversations_path: str = "",
    surveys_path: str = "",
    scorecard_path: str = "",
    start: str = "",
    end: str = "",
    tz: str = "UTC",
    min_n: int = MIN_N,
    csat_scale: K.CsatScale | str = "1-5",
    last_days: int = 0,
    engine: str = "pandas",
    engine_memory: str = "",
) -> ReportData:
    """Load, validate and restrict to ``[start, end]`` the tables a report needs.

    Parameters
    ----------
    dataset : str, default="sample"
        ``"sample"`` for the bundled data, or a folder holding ``ratings``, ``conversations``
        and ``surveys`` as ``.parquet`` or ``.csv`` (and ``scorecard.yaml``).
    ratings_path, conversations_path, surveys_path, scorecard_path : str
        Explicit files; override the dataset's.
    start, end : str
        Report period (dates, inclusive; end date counts whole). Empty = everything.
        Ratings are filtered on ``reviewed_at``, conversations on ``created_at``, surveys on
        ``answered_at``. With a period, nothing vanishes unsaid (each case is a line of
        ``notes``, shown by :func:`data_quality`): reviews without ``reviewed_at`` are left out;
        a survey without ``answered_at`` (e.g. sent but not answered) is placed by its
        conversation's ``created_at`` when there is one, else left out; unanswered surveys in
        the period are kept, so the survey KPIs itemise them.
    tz : str, default="UTC"
        Zone of naive timestamps in the files.
    min_n : int, default=30
        Groups with fewer observations are flagged ``small_sample``.
    csat_scale : CsatScale or {"1-5", "1-7", "1-10", "0-10"}, default="1-5"
        The CSAT definition every CSAT number of the report uses (:class:`qakit.kpis.CsatScale`).
    last_days : int, default=0
        A rolling window for scheduled reports: with no ``start``, the report covers the last
        ``last_days`` whole days of the data (ending on the day of the latest row, or on ``end``)
        and compares with the ``last_days`` days before. 0: a fixed period (``start``/``end``) or
        all the data.
    engine : {"pandas", "duckdb"}, default="pandas"
        Where review scoring and the customer KPIs run. ``"duckdb"``: the same definitions on DuckDB
        (DuckDB reads the Parquet files or folders directly when the report covers all their
        rows; otherwise the period's rows). The numbers equal the pandas ones.
    engine_memory : str, default=""
        With ``engine="duckdb"``: the working memory DuckDB may hold before it spills to a temporary
        folder, e.g. ``"3GB"`` (:func:`qakit.metrics._source.set_duckdb_memory`: qakit's one DuckDB
        connection, so for the rest of the process). Empty: the process's budget as it stands
        (``QAKIT_DUCKDB_MEMORY``, else 2GB). Only the time depends on it.

    Raises
    ------
    ParameterError
        Missing files, bad dates, ``end`` before ``start``, a period with no reviews, a
        negative or non-integer ``last_days`` or one combined with ``start``, an unknown ``engine``,
        an ``engine_memory`` that is not an amount of memory (``"3GB"``).
    DataValidationError
        Any table breaking the data contract (all problems listed).
    """
    last_days = check_last_days(last_days, start)
    if engine not in REPORT_ENGINES:
        raise ParameterError(f"engine must be one of {', '.join(REPORT_ENGINES)}; got {engine!r}")
    if engine_memory not in ("", None):
        B.memory_bytes(engine_memory, "engine_memory")  # (refused whatever the engine: a typo is said)
        if engine == "duckdb":
            B.set_duckdb_memory(engine_memory)
    if dataset == "sample":
        folder = datasets.sample_data_dir()
    else:
        folder = Path(dataset)
        if not folder.is_dir():
            raise ParameterError(f"dataset must be 'sample' or an existing folder; got {dataset!r}")
    paths = {"ratings": ratings_path, "conversations": conversations_path, "surveys": surveys_path}
    frames: dict[str, pd.DataFrame | None] = {}
    missing = {}
    sources: dict[str, Path] = {}
    rows_read: dict[str, int] = {}
    # with an engine and no period, the big tables are checked where they are stored (one aggregate
    # query) and read into pandas only if a section asks for them; anything the engine flags (a
    # problem, an id normalised, a type it cannot read) is read by pandas, which says it as always
    in_place = engine != "pandas" and not (start or end or last_days)
    for name, p in paths.items():
        path = Path(p) if p else _find(folder, name, required=False)
        frames[name] = (_engine_checked(path, name, tz) if in_place and path is not None and name in _LAZY_TABLES
                        and _is_parquet(path) else None)
        if frames[name] is None and path is not None:
            frames[name] = _read(path, name, tz)
        rows_read[name] = 0 if frames[name] is None or isinstance(frames[name], _Deferred) else len(frames[name])
        if path is None:
            missing[name] = MISSING_EFFECT[name]
        else:
            sources[name] = path
    extra = {name: _find(folder, name, required=False) for name in OPTIONAL_TABLES}
    if len(missing) == len(paths) and not any(extra.values()):
        raise ParameterError(f"dataset {str(folder)!r} has no table the report reads: none of "
                             f"{', '.join(TABLE_FILES + OPTIONAL_TABLES)} (.parquet or .csv)")
    latest = _latest_optional(extra, tz)  # calls / daily aggregates date a calls-only dataset's windows
    card, cards = None, []
    if frames["ratings"] is not None:
        card_path = Path(scorecard_path) if scorecard_path else folder / "scorecard.yaml"
        if not card_path.is_file():
            raise ParameterError(f"scorecard file not found: {str(card_path)!r} (the ratings need their scorecard)")
        cards = load_scorecards(card_path)
        card = cards[-1]
        if len(cards) > 1 or any(c.applies_to for c in cards):  # matched per review on pandas only
            frames = {k: v.load() if isinstance(v, _Deferred) else v for k, v in frames.items()}
            rows_read = {k: 0 if v is None else len(v) for k, v in frames.items()}
        if any(c.applies_to for c in cards):  # "phone" in the data is the card's "Phone": never another card's
            for name in ("ratings", "conversations"):
                if frames[name] is not None:
                    frames[name] = align_applies_to(frames[name], cards)
    t0, t1 = _day(start, "start"), _day(end, "end")
    if t1 is not None and len(end) <= 10:
        t1 = t1 + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    if last_days:
        t0, t1 = _rolling_window(frames, last_days, t1, latest)
    if t0 is not None and t1 is not None and t1 < t0:
        raise ParameterError(f"end ({end}) is before start ({start})")

    csat = K.csat_definition(csat_scale)
    period_set = t0 is not None or t1 is not None

    def in_period(ts: pd.Series) -> pd.Series:
        return period_mask(ts, t0, t1)

    def within(df: pd.DataFrame, col: str) -> pd.DataFrame:
        return df[in_period(df[col])].reset_index(drop=True)

    notes = []
    for name in ("surveys", "ratings"):
        if frames[name] is None or frames["conversations"] is None:
            continue
        if isinstance(frames[name], _Deferred) or isinstance(frames["conversations"], _Deferred):
            lost = _engine_orphans(frames[name], frames["conversations"])
            if lost is None:  # every key found: nothing read
                continue
            if isinstance(frames[name], _Deferred):  # some left out: read (the engine cannot drop rows in place)
                frames[name] = frames[name].load()
                rows_read[name] = len(frames[name])
            key = frames[name][S.CONVERSATION_ID]
            orphan = key.astype("str").isin(lost[0]) | (key.isna() & lost[1])
        else:
            orphan = S.orphans(frames[name], frames["conversations"])
        if orphan.all():  # (not one left: a report without them would be silently empty)
            conv = frames["conversations"]
            theirs = (B.collect(conv.table.lf.select(S.CONVERSATION_ID).head(10)) if isinstance(conv, _Deferred)
                      else conv)[S.CONVERSATION_ID]
            raise ParameterError(
                f"{name}: none of the {len(orphan):,} rows' conversation_id is in the conversations table "
                f"(e.g. {_examples(frames[name][S.CONVERSATION_ID])}; the conversations have e.g. {_examples(theirs)}). "
                f"Are both tables from the same helpdesk? Put them in separate folders, or remove "
                f"{name if name == 'surveys' else 'conversations'} from this one")
        if orphan.any():
            id_col = S.REVIEW_ID if name == "ratings" else S.CONVERSATION_ID
            notes.append({"table": name, "used for": "everything",
                          "reason": "conversation_id not in the conversations table: left out",
                          "ids": frames[name].loc[orphan, id_col].astype("str").unique().tolist()})
            frames[name] = frames[name][~orphan].reset_index(drop=True)
    if period_set and frames["ratings"] is not None:
        undated = frames["ratings"][S.REVIEWED_AT].isna()
        if undated.any():
            notes.append({"table": "ratings", "used for": "everything",
                          "reason": f"no {S.REVIEWED_AT}: review cannot be placed in the report period, left out",
                          "ids": frames["ratings"].loc[undated, S.REVIEW_ID].astype("str").unique().tolist()})
    ratings = (frames["ratings"] if isinstance(frames["ratings"], _Deferred)  # (no period: every row)
               else within(frames["ratings"], S.REVIEWED_AT) if frames["ratings"] is not None else None)
    if ratings is not None and not isinstance(ratings, _Deferred) and ratings.empty:
        have = frames["ratings"][S.REVIEWED_AT]
        if last_days:
            start, end = f"{t0:%Y-%m-%d}", f"{t1:%Y-%m-%d}"
        raise ParameterError(f"no reviews between {start or 'the beginning'} and {end or 'the end'}; "
                             f"the data covers {have.min():%Y-%m-%d} to {have.max():%Y-%m-%d}")
    conv = (frames["conversations"] if isinstance(frames["conversations"], _Deferred)
            else within(frames["conversations"], S.CREATED_AT) if frames["conversations"] is not None else None)
    sv = frames["surveys"]
    surveys = (_surveys_in_period(sv, frames["conversations"], in_period, notes) if sv is not None and period_set
               else sv)
    engine_notes: list[str] = []
    # the engine reads the files themselves only when the report uses every row of them as stored:
    # none left out (period, orphans) and none changed when read (ids normalised ...)
    whole = ratings is not None and (isinstance(ratings, _Deferred) or (
        len(ratings) == rows_read["ratings"]
        and not (S.has_record(frames["ratings"]) and len(S.adjustments(frames["ratings"])))))
    registry = cards if len(cards) > 1 else card
    scores = (_score(ratings, registry, engine, sources.get("ratings") if whole else None, engine_notes, store=True)
              if ratings is not None else None)
    previous = _previous_period(frames, registry, t0, t1, engine=engine, latest=latest)
    direct = {}
    if (engine != "pandas" and whole and _is_parquet(sources["ratings"]) and len(cards) == 1
            and not cards[0].applies_to):  # the cases _score runs on the engine reading the file
        direct["ratings"] = sources["ratings"]
    if isinstance(conv, _Deferred) or (
            engine != "pandas" and conv is not None and len(conv) == rows_read["conversations"]
            and _is_parquet(sources["conversations"]) and not any(c.applies_to for c in cards)
            and not (S.has_record(frames["conversations"]) and len(S.adjustments(frames["conversations"])))):
        direct["conversations"] = sources["conversations"]
    if isinstance(surveys, _Deferred):  # (checked in place: every row, none changed when read)
        direct["surveys"] = sources["surveys"]
    # said once, before any section runs (the "How computed" line is shown under the tiles)
    for name, what in (("ratings", "category scores"), ("conversations", "customer KPIs"), ("surveys", "survey KPIs")):
        if name in direct:
            engine_notes.append(f"{what}: DuckDB read {direct[name].name} directly")
    return ReportData(ratings=ratings, conversations=conv, surveys=surveys, card=card, scores=scores,
                      start=t0, end=t1, source="bundled sample data" if dataset == "sample" else str(folder),
                      min_n=min_n, notes=notes, csat_scale=csat, previous=previous, missing=missing,
                      engine=engine, sources=sources, engine_notes=engine_notes, last_days=last_days, cards=cards,
                      direct=direct)


def _is_parquet(path: Path) -> bool:
    return path.is_dir() or path.suffix == ".parquet"


#: the tables the loader may leave on the engine (checked in place, read into pandas on first use)
_LAZY_TABLES = ("ratings", "conversations", "surveys")


def _examples(ids: pd.Series, k: int = 3) -> str:
    """A few distinct ids, quoted, for a message."""
    return ", ".join(repr(str(v)) for v in pd.unique(ids.dropna().astype("str"))[:k])


def _engine_checked(path: Path, name: str, tz: str) -> _Deferred | None:
    """The table at ``path`` checked against its whole contract on DuckDB, where it is stored
    (:func:`qakit.metrics._contract.validated`: one aggregate query, rows fetched only for a
    problem), as a :class:`_Deferred`; None when the engine found anything to say -- a problem, an
    id it would normalise, a column it cannot read as stored -- so that pandas reads the table and
    says it exactly as without the engine (the same refusal, the same itemised notes)."""
    import duckdb  # loaded when the report first runs on DuckDB (a dependency; ~0.2 s of import)

    spec = S.get_table(name)
    try:
        t = C.validated(str(path), name, reads=spec.required,
                        optional=[c.name for c in spec.columns if not c.required], engine="duckdb", tz=tz, defer=True)
    except (ParameterError, DataValidationError, duckdb.Error):  # (an unreadable file: the pandas reader names it)
        return None
    if t.problems or t.record is not None:
        return None
    return _Deferred(path, name, tz, t)


def _engine_orphans(child: pd.DataFrame | _Deferred, parent: pd.DataFrame | _Deferred) -> tuple[list[str], bool] | None:
    """The ``conversation_id`` values of ``child`` missing from ``parent``, as an anti-join on DuckDB
    (keys compared as text, as :func:`qakit.schema.orphans` compares them): ``(missing ids, whether
    a missing key is among them)``, or None when every key is found.

    When both tables store the key as integers (Parquet read in place), the integers are joined as
    stored: an integer's text is its one decimal spelling, so the answer is the text comparison's,
    without casting 100M keys to text. A parent checked in place holds no missing key (its contract
    requires one), so only a pandas parent is asked whether it does."""
    con = B.duckdb_connection()
    cid = S.CONVERSATION_ID

    def stored(t: pd.DataFrame | _Deferred) -> nw.LazyFrame | None:
        if not isinstance(t, _Deferred):
            return None
        lf = _stored_column(t.path, cid)
        return lf if lf.collect_schema()[cid].is_integer() else None

    def keys(t: pd.DataFrame | _Deferred) -> nw.LazyFrame:
        if isinstance(t, _Deferred):
            return t.table.lf.select(nw.col(cid).cast(nw.String))
        k = pd.unique(t[cid].astype("str").where(t[cid].notna(), None))
        arr = pa.table({cid: pa.array(list(k), type=pa.large_string())})
        return nw.from_native(con.from_arrow(arr)).lazy()

    sc, sp = stored(child), stored(parent)
    kc, kp = (sc, sp) if sc is not None and sp is not None else (keys(child), keys(parent))
    parent_null = (False if isinstance(parent, _Deferred)
                   else bool(B.collect(kp.select(nw.col(cid).is_null().any().alias("n")))["n"].iloc[0]))
    # every child row probes the parent's keys, the few left are made distinct (a group-by: narwhals'
    # unique numbers every row on DuckDB); the child's keys are not made distinct first (100M ratings
    # into 10M conversations: twice the time of the anti-join itself), nor the parent's (an anti-join
    # repeats no row, and a parent's repeated key is the same key)
    lost = B.collect(kc.join(kp.filter(~nw.col(cid).is_null()), on=cid, how="anti")
                     .group_by(cid, drop_null_keys=False).agg())
    ids = lost[cid]
    has_null = bool(ids.isna().any()) and not parent_null
    found = [str(v) for v in ids if not pd.isna(v)]
    return (found, has_null) if found or has_null else None


def _stored_column(path: Path, column: str) -> nw.LazyFrame:
    """``column`` of the Parquet file or folder at ``path`` as stored (before the contract types it:
    an integer id stays an integer), on qakit's DuckDB connection."""
    return nw.from_native(B.native_frame(B.resolve(str(path), "duckdb"))).lazy().select(column)


_LAST = np.iinfo(np.int64).max


def _review_order(path: Path, review_ids: pd.Series) -> np.ndarray:
    """The position of each of ``review_ids`` in the order pandas reads the Parquet file or folder
    (files in path order, rows in file order; a review at its first row), from DuckDB, aligned with
    ``review_ids`` (an id not in the file, which cannot happen, last). The ids are joined to the order on the engine
    (as text): only two integer columns come back, no index of millions of text ids is built."""
    con = B.duckdb_connection()
    files = ", ".join(B.sql_text(f) for f in B.parquet_globs([str(path)]))
    rid = '"' + S.REVIEW_ID + '"'
    keys = pa.array(review_ids.astype("str"), type=pa.large_string())
    stored = _stored_column(path, S.REVIEW_ID).collect_schema()[S.REVIEW_ID]
    key_sql = f"CAST({rid} AS VARCHAR)"
    if stored.is_integer():  # integers joined as stored (an integer's text is its one spelling), when every id is one
        try:
            keys, key_sql = pc.cast(keys, pa.int64()), f"CAST({rid} AS BIGINT)"
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    ids = pa.table({"k": keys, "i": pa.array(np.arange(len(review_ids), dtype=np.int64))})
    # (the files' order by name from a map of DuckDB's file numbers - read from the files' metadata -,
    # joined to the rows by that integer: joining 100M rows by their file name took 3x as long)
    got = con.sql(f"""
        WITH m AS (SELECT file_index AS fi, row_number() OVER (ORDER BY filename) - 1 AS n
                   FROM (SELECT DISTINCT file_index, filename
                         FROM read_parquet([{files}], filename=true, hive_partitioning=false))),
             f AS (SELECT file_index AS fi, file_row_number AS r, {key_sql} AS k
                   FROM read_parquet([{files}], file_row_number=true, hive_partitioning=false)),
             o AS (SELECT k, min(n * 1099511627776 + r) AS pos FROM f JOIN m USING (fi) GROUP BY k)
        SELECT ids.i, coalesce(o.pos, {_LAST}) AS pos FROM ids LEFT JOIN o USING (k)""").fetchnumpy()
    out = np.full(len(review_ids), _LAST, dtype=np.int64)
    out[np.asarray(got["i"], dtype=np.int64)] = np.asarray(got["pos"], dtype=np.int64)
    return out


def engine_table(data: ReportData, name: str) -> Any:
    """The table ``name`` as the report's engine should read it: the Parquet file or folder itself
    when the engine may read it in place (:attr:`ReportData.direct`: the report uses every stored row,
    none changed when read), else the validated frame of the period (``data.<name>``)."""
    if data.engine != "pandas" and name in data.direct:
        return str(data.direct[name])
    d = _stored(data) if name == "scores" else None
    if d is not None:  # (read into pandas or not: the engine reads the stored file)
        return d.stored.path
    return getattr(data, name)


def _stored(data: ReportData) -> _StoredScores | None:
    """The review scores the engine keeps for this report (read into pandas since or not), or None."""
    d = data.__dict__.get(_SLOT + "scores")
    return d if isinstance(d, _StoredScores) else data.__dict__.get(_STORED)


def scores_record(data: ReportData) -> pd.DataFrame:
    """A frame carrying the review scores' record (the contract's and the card's adjustments, the
    unscored reviews itemised), without reading the scores into pandas when they are kept on the engine."""
    d = _stored(data)
    return d.stored.record if d is not None else data.scores


def stored_record(data: ReportData, name: str) -> pd.DataFrame | None:
    """A frame without rows carrying the record stored with the files of table ``name`` when the engine
    checks it in place (the rows its loader left out or changed: :func:`qakit.records.parquet_record`),
    without reading the table; None when the table is not on the engine or its files hold no record."""
    d = data.__dict__.get(_SLOT + name)
    if not isinstance(d, _Deferred) or d.table.stored is None:
        return None
    return set_record(pd.DataFrame(), d.table.stored)


def scores_on_engine(data: ReportData) -> bool:
    """Whether the review scores are kept on the engine (a stored file :func:`engine_table` gives);
    a section then asks the engine for per-group statistics instead of reading ``data.scores``."""
    return _stored(data) is not None


def engine_columns(data: ReportData, name: str, columns: list[str], *, ids: pd.Series | None = None,
                   on: str = S.CONVERSATION_ID, where: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Only ``columns`` of the table ``name`` (those present), as a pandas frame, in stored order: from
    the engine when the table is still checked in place there (typed as the contract types it; text
    columns categorical), else from ``data.<name>``. ``ids``: only the rows whose ``on`` is one of
    them (a semi-join on the engine); ``where``: only the rows whose column (a key) is one of a few
    values (compared as text; a filter on the engine). A section that needs a few columns of a big
    table reads them this way, and the table is never read whole."""
    d = data.__dict__.get(_SLOT + name)
    texts = {c: [str(v) for v in values] for c, values in (where or {}).items()}
    if not isinstance(d, _Deferred):
        f = getattr(data, name)
        keep = f[on].isin(ids) if ids is not None else pd.Series(True, index=f.index)
        for c, values in texts.items():
            keep &= f[c].astype("str").isin(values)
        f = f[[c for c in columns if c in f.columns]]
        return f[keep].reset_index(drop=True) if ids is not None or texts else f
    lf = d.table.lf
    for c, values in texts.items():
        lf = lf.filter(nw.col(c).cast(nw.String).is_in(values))
    cols = [c for c in columns if c in d.table.columns]
    if ids is not None:
        con = B.duckdb_connection()
        keys = pa.table({"__k": pa.array([str(v) for v in pd.unique(ids.dropna().astype("str"))], type=pa.large_string())})
        lf = (lf.with_columns(nw.col(on).cast(nw.String).alias("__k"))
              .join(nw.from_native(con.from_arrow(keys)).lazy(), on="__k", how="semi").drop("__k"))
    out = B.collect(lf.select(*cols))
    spec = S.get_table(name)
    kinds = {c.name: c.kind for c in spec.columns}
    for c in cols:
        k = kinds.get(c)
        if k in ("id", "str"):
            v = out[c]
            out[c] = v.astype("str").where(v.notna(), None).astype("category")
        elif k == "datetime":
            t = pd.to_datetime(out[c])
            out[c] = t.dt.tz_localize("UTC") if t.dt.tz is None else t.dt.tz_convert("UTC")
    return out


def engine_distinct(data: ReportData, name: str, columns: list[str]) -> pd.DataFrame:
    """The distinct rows of ``columns`` (those present; missing values kept) of the table ``name``:
    a group-by on the engine for a table read in place, else on ``data.<name>``."""
    d = data.__dict__.get(_SLOT + name)
    if isinstance(d, _Deferred):
        cols = [c for c in columns if c in d.table.columns]
        return B.collect(d.table.lf.select(*cols).unique()) if cols else pd.DataFrame()
    f = getattr(data, name)
    cols = [c for c in columns if c in f.columns]
    return f[cols].drop_duplicates().reset_index(drop=True) if cols else pd.DataFrame()


def count_where(data: ReportData, name: str, where: nw.Expr) -> int:
    """How many rows of the table ``name`` satisfy ``where`` (a narwhals expression on the contract's
    columns): one count on the engine for a table checked in place there, else on ``data.<name>``;
    0 when the table is absent. A section asks this instead of reading a big table to find one row.

    Examples
    --------
    >>> import narwhals as nw
    >>> from qakit.report.data import load_report_data
    >>> count_where(load_report_data(), "surveys", nw.col("kind") == "nps")
    2978
    """
    if not data.has(name):
        return 0
    d = data.__dict__.get(_SLOT + name)
    lf = d.table.lf if isinstance(d, _Deferred) else nw.from_native(getattr(data, name)).lazy()
    return int(B.collect(lf.filter(where).select(nw.len().alias("n")))["n"].iloc[0])


def table_columns(data: ReportData, name: str) -> list[str]:
    """The columns of the table ``name`` without reading its rows: the Parquet schema (hive partition
    keys included) when the engine reads it in place, else the frame's columns; [] when absent."""
    d = data.__dict__.get(_SLOT + name)
    if isinstance(d, _Deferred):
        return list(B.parquet_dataset([str(d.path)]).schema.names)
    if not data.has(name):
        return []
    table = engine_table(data, name)
    if isinstance(table, str):
        return list(B.parquet_dataset([table]).schema.names)
    return list(map(str, table.columns))


def table_span(data: ReportData, name: str, column: str) -> tuple[Any, Any] | None:
    """The earliest and latest ``column`` (a timestamp) of the table ``name``, UTC; None when the
    table is absent or has no such time. On the engine when it reads the table in place (the
    contract's extremes query, :func:`qakit.metrics._groups.extremes`: two numbers), else the frame's."""
    if column not in table_columns(data, name):
        return None
    d = data.__dict__.get(_SLOT + name)
    table = d.table if isinstance(d, _Deferred) else engine_table(data, name)
    if isinstance(table, str):  # (checked once per process: the contract's cache)
        table = C.validated(table, name, reads=(column,), engine=data.engine, check_unique=False)
    if isinstance(table, C.Table):
        lo, hi = G.extremes(table, [column], column)
        return None if pd.isna(lo) else (lo, hi)
    f = table[column]
    return (f.min(), f.max()) if len(f) and f.notna().any() else None


def _latest_optional(paths: Mapping[str, Path | None], tz: str) -> pd.Timestamp | None:
    """The latest call (``created_at``) or day (``date``) of the dataset's calls / daily aggregates,
    so a calls-only dataset has a period end; None without them."""
    out = []
    for name, col in (("calls", S.CREATED_AT), ("calls_daily", S.DATE)):
        p = paths.get(name)
        if p is not None:
            t = _read_optional(p, name, tz)[col]
            if t.notna().any():
                out.append(t.max() + (pd.Timedelta(days=1) - pd.Timedelta(microseconds=1) if name == "calls_daily"
                                      else pd.Timedelta(0)))
    return max(out) if out else None


def _rolling_window(frames: Mapping[str, pd.DataFrame | None], days: int,
                    end: pd.Timestamp | None, latest: pd.Timestamp | None = None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The last ``days`` whole days (UTC) ending on ``end``'s day or the day of the latest row
    (``latest``: the calls' or daily aggregates' last one)."""
    if end is None:
        last = [f[c].max() for f, c in ((frames["ratings"], S.REVIEWED_AT), (frames["conversations"], S.CREATED_AT),
                                        (frames["surveys"], S.ANSWERED_AT)) if f is not None and f[c].notna().any()]
        last += [latest] if latest is not None else []
        if not last:
            raise ParameterError("last_days needs dated rows (reviewed_at, created_at, answered_at, a call's "
                                 "created_at or a daily date); the data has none")
        end = max(last).normalize() + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    start = end.normalize() - pd.Timedelta(days=days - 1)
    return start, end


def _read(path: Path, name: str, tz: str) -> pd.DataFrame:
    """One table from a file (:func:`qakit.io.read_table`) or a folder of Parquet files."""
    if path.is_dir():
        try:
            df = B.read_parquet([str(path)])  # (with the record stored with every file)
        except (OSError, ValueError) as e:
            raise ParameterError(f"{path.name}/: not a readable folder of Parquet files ({str(e).splitlines()[0]})") from None
        if len(df) == 0:
            raise ParameterError(f"{path.name}/: no data rows")
        return S.validate(df, name, tz=tz)
    return read_table(path, name, tz=tz)


def _score(ratings: pd.DataFrame, card: Scorecard | list[Scorecard], engine: str, parquet: Path | None,
           notes: list[str], *, store: bool = False) -> pd.DataFrame | _StoredScores:
    """Review scores on the report's engine: pandas (:func:`qakit.scorecard.score_reviews`, with every
    card of the file) or DuckDB (the same function with ``engine``, reading ``parquet`` directly when
    given). ``store``: on DuckDB the scores stay out of pandas (:class:`_StoredScores`: a Parquet file
    the sections query for per-group statistics, read into pandas on first access)."""
    cards = card if isinstance(card, list) else [card]
    if engine != "pandas" and (len(cards) > 1 or any(c.applies_to for c in cards)):
        # card versions and conditional cards are matched per review by pandas only (the lazy engines
        # refuse them by name): the same rule, run where it is written, and said in "How computed"
        line = "review scores: pandas (card versions / applies_to are matched per review on pandas only)"
        if line not in notes:
            notes.append(line)
        engine = "pandas"
    if engine == "pandas":
        return score_reviews(ratings, card)
    direct = parquet is not None and _is_parquet(parquet)
    line = (f"review scores: DuckDB read {parquet.name} directly" if direct
            else "review scores: DuckDB on the period's ratings")
    if line not in notes:
        notes.append(line)
    source = str(parquet) if direct else ratings
    if store:
        folder = B.scratch_folder("scores-")  # (a killed kernel's folder is swept with DuckDB's spill folder)
        stored = store_reviews(source, card, str(Path(folder) / "scores.parquet"))
        return _StoredScores(stored, folder, parquet if isinstance(ratings, _Deferred) else None,
                             None if isinstance(ratings, _Deferred) else ratings)
    # (not sorted on the engine: put in the order pandas reads the rows below)
    return _in_pandas_order(score_reviews(source, card, engine=engine, sort=False),
                            parquet if isinstance(ratings, _Deferred) else None, ratings)


def _in_pandas_order(scores: pd.DataFrame, parquet: Path | None, ratings: pd.DataFrame | None) -> pd.DataFrame:
    """The engine's review scores, their repeating ids categorical, in the order pandas gives them:
    from the file (``parquet``: the ratings were not read) or from ``ratings``."""
    scores = _categorical_ids(scores)  # (first: the reordering below then copies codes, not 10M texts)
    if parquet is not None:  # (not read: the order from the file, on the engine)
        pos = _review_order(parquet, scores[S.REVIEW_ID])
        return scores.iloc[np.argsort(pos, kind="stable")].reset_index(drop=True)
    return _in_ratings_order(scores, ratings)


class _StoredScores(_OnEngine):
    """The review scores DuckDB computed, kept in a Parquet file of a temporary folder (removed with
    this object, at the latest when the process ends; a killed process's folder is swept with DuckDB's
    spill folder, :func:`qakit.metrics._source.scratch_folder`): the report's sections ask DuckDB for their
    per-group statistics (:func:`engine_table`), and a section that needs the rows reads them into
    pandas (:meth:`load`: the frame :func:`qakit.scorecard.score_reviews` gives, in the order pandas
    reads the ratings)."""

    def __init__(self, stored: StoredReviews, folder: str, parquet: Path | None, ratings: pd.DataFrame | None):
        self.stored, self.parquet, self.ratings = stored, parquet, ratings
        self._cleanup = weakref.finalize(self, shutil.rmtree, folder, True)

    def load(self) -> pd.DataFrame:
        return _in_pandas_order(self.stored.read(), self.parquet, self.ratings)


#: the text columns of the engine's review scores held as categoricals: ids that repeat (a few
#: thousand agents over millions of reviews), 1-4 bytes a row instead of a string each
_CATEGORICAL_SCORES = (S.AGENT_ID, S.REVIEWER_ID, S.SCORECARD_VERSION)


def _categorical_ids(scores: pd.DataFrame) -> pd.DataFrame:
    """``scores`` with the repeating id columns (:data:`_CATEGORICAL_SCORES`, those present) as
    categoricals (the same values, missing ones kept): the engine's scores of 10M reviews come to
    pandas, and each text column would hold 10M strings."""
    for c in _CATEGORICAL_SCORES:
        if c in scores.columns and not isinstance(scores[c].dtype, pd.CategoricalDtype):
            scores[c] = scores[c].astype("category")
    return scores


def _in_ratings_order(scores: pd.DataFrame, ratings: pd.DataFrame) -> pd.DataFrame:
    """The engine's review scores in the order pandas gives them (each review where it first appears in
    the ratings): an engine returns rows in any order, and the report's bootstrap intervals (the
    changes against the previous period) resample rows by position, so the same seed must see the same
    order on every engine."""
    pos = pd.Index(ratings[S.REVIEW_ID].drop_duplicates()).get_indexer(scores[S.REVIEW_ID])
    if (pos < 0).any():  # not the loaded reviews (cannot happen: the engine scored these ratings)
        return scores
    return scores.iloc[np.argsort(pos, kind="stable")].reset_index(drop=True)


def _surveys_in_period(sv: pd.DataFrame, conv: pd.DataFrame | None, in_period, notes: list[dict[str, Any]]) -> pd.DataFrame:
    """Surveys of the report period: by ``answered_at``; without it, by the conversation's
    ``created_at`` (said in ``notes``); with neither, left out (said in ``notes``)."""
    if conv is None:  # no conversations table: nothing to place undated answers by
        created = pd.Series(pd.NaT, index=sv.index, dtype="datetime64[ns, UTC]")
    else:
        created = sv[S.CONVERSATION_ID].map(conv.drop_duplicates(S.CONVERSATION_ID).set_index(S.CONVERSATION_ID)[S.CREATED_AT])
    undated = sv[S.ANSWERED_AT].isna()
    by_conv = undated & created.notna()
    when = sv[S.ANSWERED_AT].where(~undated, created)
    keep = in_period(when)
    ids = sv[S.CONVERSATION_ID].astype("str") + " / " + sv[S.KIND].astype("str")
    if (by_conv & keep).any():
        notes.append({"table": "surveys", "used for": "survey KPIs (kept)",
                      "reason": f"no {S.ANSWERED_AT}: placed in the period by its conversation's {S.CREATED_AT}",
                      "ids": ids[by_conv & keep].tolist()})
    lost = undated & created.isna()
    if lost.any():
        notes.append({"table": "surveys", "used for": "everything",
                      "reason": f"no {S.ANSWERED_AT} and no conversation time: cannot be placed in the period, left out",
                      "ids": ids[lost].tolist()})
    return sv[keep].reset_index(drop=True)


def _previous_period(frames: Mapping[str, pd.DataFrame | None], card: Scorecard | list[Scorecard] | None,
                     t0: pd.Timestamp | None, t1: pd.Timestamp | None, *, engine: str = "pandas",
                     latest: pd.Timestamp | None = None) -> dict[str, Any]:
    """The tables restricted to the period of equal length just before ``[t0, t1]`` (empty without a
    start; an end defaults to the last timestamp in the data, calls and daily aggregates included)."""
    if t0 is None:
        return {}
    if t1 is None:
        last = [f[c].max() for f, c in ((frames["ratings"], S.REVIEWED_AT), (frames["conversations"], S.CREATED_AT))
                if f is not None and len(f)] + ([latest] if latest is not None else [])
        if not last:
            return {}
        t1 = max(last)
    p1 = t0 - pd.Timedelta(microseconds=1)
    p0 = t0 - (t1 - t0) - pd.Timedelta(microseconds=1)
    out: dict[str, Any] = {"start": p0, "end": p1}
    for name, col in (("ratings", S.REVIEWED_AT), ("conversations", S.CREATED_AT), ("surveys", S.ANSWERED_AT)):
        f = frames[name]
        if f is not None:
            keep = (f[col] >= p0) & (f[col] <= p1)
            out[name] = f[keep.fillna(False).astype(bool)].reset_index(drop=True)
    if out.get("ratings") is not None and len(out["ratings"]) and card is not None:
        out["scores"] = _score(out["ratings"], card, engine, None, [])
    return out


def with_conversation_columns(data: ReportData, frame: pd.DataFrame, by) -> pd.DataFrame:
    """``frame`` (ratings or scores) with the grouping columns ``by`` it lacks taken from the
    conversations (e.g. ``team``), joined on ``conversation_id``."""
    keys = [by] if isinstance(by, str) else list(by or [])
    have = table_columns(data, "conversations")  # (the schema: the rows are read only for a join)
    missing = [k for k in keys if k not in frame.columns and k in have]
    if missing:
        frame = frame.merge(data.conversations[[S.CONVERSATION_ID, *missing]], on=S.CONVERSATION_ID, how="left")
    return frame



def engine_lazy(data: ReportData, name: str, columns: list[str]) -> nw.LazyFrame | None:
    """``columns`` (those present) of the table ``name`` as a frame on qakit's DuckDB connection when
    the engine holds that table -- the review scores it keeps (:func:`engine_frame`), a table the loader
    checked in place -- else None (the table is in pandas: ``data.<name>``)."""
    if name == "scores":
        f = engine_frame(data, "scores")
    else:
        d = data.__dict__.get(_SLOT + name)
        f = d.table.lf if isinstance(d, _Deferred) else None
    if f is None:
        return None
    have = f.collect_schema().names()
    return f.select(*[c for c in dict.fromkeys(columns) if c in have])


def engine_frame(data: ReportData, name: str) -> nw.LazyFrame | None:
    """The table ``name`` as a frame on qakit's DuckDB connection when the report keeps it on the engine
    (the review scores: :func:`scores_on_engine`), else None (a section then reads ``data.<name>``)."""
    d = _stored(data) if name == "scores" else None
    return d.stored.lazy() if d is not None else None


@public
def load_calibration(*, dataset: str = "sample", scorecard_path: str = "") -> tuple[pd.DataFrame, Scorecard | None]:
    """Ratings of a calibration session and the card that gives their scales.

    ``dataset``: ``"sample"`` (the bundled session: 60 conversations x 5 reviewers with planted
    biases), ``"fed"`` (the real FED multi-annotator ratings, ``qakit.realdata.load_fed``; no
    card: categories are rated 0-2) or a ratings file (CSV/Parquet) with several reviewers per
    conversation.
    """
    if dataset == "sample":
        ratings, card = datasets.load_sample("calibration"), datasets.load_sample_scorecard()
    elif dataset == "fed":
        ratings, card = load_fed(), None
    else:
        p = Path(dataset)
        if not p.is_file():
            raise ParameterError(f"dataset must be 'sample', 'fed' or a ratings file; got {dataset!r}")
        ratings, card = read_table(p, "ratings"), None
    if scorecard_path:
        card = load_scorecard(scorecard_path)
    return ratings, card


def _folder(data: ReportData, dataset: str | None) -> Path:
    src = dataset if dataset not in (None, "") else data.source
    if src in ("sample", "bundled sample data"):
        return datasets.sample_data_dir()
    return Path(src)


def _read_optional(path: Path, name: str, tz: str) -> pd.DataFrame:
    """Read and validate one optional table with the report's reader (a file, or a folder of Parquet
    files as :func:`_find` finds them); a contract breach names the file."""
    try:
        return _read(path, name, tz)
    except DataValidationError as e:
        f = e.failures.copy()
        f["table"] = f"{name} ({path.name})"
        raise DataValidationError(f) from None


@public
def load_optional_tables(data: ReportData, *, dataset: str | None = None, tz: str = "UTC") -> None:
    """Find, validate and restrict to the report period the optional tables, and attach them to ``data``.

    Parameters
    ----------
    data : ReportData
        From :func:`qakit.report.data.load_report_data`; gains the attributes ``calls``,
        ``calls_daily``, ``customers``, ``disputes``, ``messages`` (None when the folder has no
        such file), and a line in ``data.missing`` per missing table (shown by
        :func:`qakit.report.views.left_out`).
    dataset : str, optional
        The folder (or ``"sample"``); default the folder ``data`` was loaded from.
    tz : str, default="UTC"
        Zone of naive timestamps in the files.

    Notes
    -----
    Period: calls by ``created_at``, daily aggregates by ``date``, messages by their
    conversation's first ``sent_at`` (a conversation is never cut in two), disputes by their
    review (disputes of reviews outside the period - reviews of the previous period, or disputes
    filed outside the period - are left out, itemised under data quality; disputes filed in the
    period of reviews unknown to the ratings are kept so the dispute rate itemises them);
    customers are not time-bound. Customers without a value are itemised (ids hashed).

    Raises
    ------
    DataValidationError
        A table breaking its contract (the file named in the ``table`` field).
    """
    folder = _folder(data, dataset)
    frames = {}
    for name in OPTIONAL_TABLES:
        path = _find(folder, name, required=False) if folder.is_dir() else None
        frames[name] = _read_optional(path, name, tz) if path is not None else None
    t0, t1 = data.start, data.end
    period_set = t0 is not None or t1 is not None

    def keep(ts: pd.Series) -> pd.Series:
        return period_mask(ts, t0, t1)

    prev_start = data.previous.get("start")
    if prev_start is not None:  # the previous period of equal length, for the tiles' changes
        for name, col in (("calls", S.CREATED_AT), ("messages", S.SENT_AT)):
            f = frames[name]
            if f is not None:
                ts = f.groupby(S.CONVERSATION_ID)[col].transform("min") if name == "messages" else f[col]
                data.previous[name] = f[(ts >= prev_start) & (ts < data.start)].reset_index(drop=True)
    if period_set:
        if frames["calls"] is not None:
            frames["calls"] = frames["calls"][keep(frames["calls"][S.CREATED_AT])].reset_index(drop=True)
        if frames["calls_daily"] is not None:
            frames["calls_daily"] = frames["calls_daily"][keep(frames["calls_daily"][S.DATE])].reset_index(drop=True)
        m = frames["messages"]
        if m is not None:
            first = m.groupby(S.CONVERSATION_ID)[S.SENT_AT].transform("min")
            undated = first.isna()
            if undated.any():
                data.notes.append({"table": "messages", "used for": "automatic scoring",
                                   "reason": "conversation without any sent_at: cannot be placed in the report period, "
                                             "left out", "ids": m.loc[undated, S.CONVERSATION_ID].astype("str")
                                   .unique().tolist()})
            frames["messages"] = m[keep(first)].reset_index(drop=True)
    d = frames["disputes"]
    if d is not None and data.has("ratings") and period_set:
        in_period = set(data.ratings[S.REVIEW_ID].astype("str"))
        known = in_period | set(data.previous.get("ratings", pd.DataFrame({S.REVIEW_ID: []}))[S.REVIEW_ID].astype("str"))
        # a review not in the period: known from the previous period, or a dispute filed outside the period
        outside = ~d[S.REVIEW_ID].isin(in_period) & (d[S.REVIEW_ID].isin(known) | ~keep(d[S.CREATED_AT]))
        if outside.any():
            data.notes.append({"table": "disputes", "used for": "disputes",
                               "reason": "dispute of a review outside the report period: left out",
                               "ids": d.loc[outside, S.DISPUTE_ID].astype("str").tolist()})
        frames["disputes"] = d[~outside].reset_index(drop=True)
    cu = frames["customers"]
    if cu is not None and cu[S.CUSTOMER_VALUE].isna().any():
        data.notes.append({"table": "customers", "used for": "customer cost against value",
                           "reason": "customer without a value: cost-to-value ratio not computed (ids hashed)",
                           "ids": hash_ids(cu.loc[cu[S.CUSTOMER_VALUE].isna(), S.CUSTOMER_ID]).tolist()})
    data.calls, data.calls_daily, data.customers = frames["calls"], frames["calls_daily"], frames["customers"]
    data.disputes, data.messages = frames["disputes"], frames["messages"]
    for name in ("calls", "customers", "disputes", "messages"):
        have = frames[name] is not None or (name == "calls" and frames["calls_daily"] is not None)
        if not have:
            data.missing[name] = MISSING_EFFECT[name]
        else:
            data.missing.pop(name, None)


__all__ = ["load_report_data", "load_calibration", "load_optional_tables"]
