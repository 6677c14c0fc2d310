"""Report data loading: the validated tables of one report run, restricted to its period.

:func:`load_report_data` reads a dataset folder (or the bundled sample), validates every table
against the data contract, restricts it to the report period (``start``/``end``, or the rolling
``last_days``), itemises every row it leaves out (:attr:`ReportData.notes`), scores the reviews
and keeps the previous period of equal length for the changes the headline shows. With
``engine="duckdb"`` the review scores come from DuckDB (:func:`qakit.scorecard.score_reviews`, reading the Parquet
files directly when the report covers every row of them).

Display lives in :mod:`qakit.report_view` (the report) and :mod:`qakit.study_view` (the study,
coaching and calibration notebooks); the analysis in :mod:`qakit.headline` and :mod:`qakit.stats`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import kpis as K
from . import schema as S
from .errors import ParameterError
from .intervals import MIN_N
from .scorecard import Scorecard, load_scorecard, score_reviews

TABLE_FILES = ("ratings", "conversations", "surveys")
#: report engines: where review scoring and the customer KPIs run
REPORT_ENGINES = ("pandas", "duckdb")


@dataclass
class ReportData:
    """The validated inputs of one report run, restricted to the report period."""

    ratings: pd.DataFrame | None  # None: the dataset has no such table (the report leaves its sections out)
    conversations: pd.DataFrame | None
    surveys: pd.DataFrame | None
    card: Scorecard | None
    scores: pd.DataFrame | None
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
    #: how the engine computed what it computed, e.g. a KPI it left to pandas (shown under the tiles)
    engine_notes: list[str] = field(default_factory=list)
    #: the rolling window the report covers (``last_days``; 0 = a fixed or open period)
    last_days: int = 0

    def has(self, *tables: str) -> bool:
        """Whether every named table is present (and not empty)."""
        return all(getattr(self, t) is not None and len(getattr(self, t)) > 0 for t in tables)


def _find(folder: Path, name: str, *, required: bool = True) -> Path | None:
    """``<name>.parquet``, ``<name>.csv``, or a folder ``<name>/`` of Parquet files (partitioned)."""
    for ext in (".parquet", ".csv"):
        p = folder / f"{name}{ext}"
        if p.is_file():
            return p
    d = folder / name
    if d.is_dir() and any(d.rglob("*.parquet")):
        return d
    if not required:
        return None
    raise ParameterError(f"no {name}.parquet or {name}.csv in {str(folder)!r}")


#: what a report loses without each table
MISSING_EFFECT = {
    "ratings": "no reviews: IQS, pass rate, categories, agents, coaching and the IQS-CSAT study are left out",
    "conversations": "no conversations: response and resolution times, SLA, backlog, FCR and customer cost are left out",
    "surveys": "no survey answers: CSAT, NPS, effort and the IQS-CSAT study are left out",
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

    Raises
    ------
    ParameterError
        Missing files, bad dates, ``end`` before ``start``, a period with no reviews, a
        negative or non-integer ``last_days`` or one combined with ``start``, an unknown ``engine``.
    DataValidationError
        Any table breaking the data contract (all problems listed).
    """
    from . import datasets

    last_days = check_last_days(last_days, start)
    if engine not in REPORT_ENGINES:
        raise ParameterError(f"engine must be one of {', '.join(REPORT_ENGINES)}; got {engine!r}")
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
    for name, p in paths.items():
        path = Path(p) if p else _find(folder, name, required=False)
        frames[name] = _read(path, name, tz) if path is not None else None
        rows_read[name] = 0 if frames[name] is None else len(frames[name])
        if path is None:
            missing[name] = MISSING_EFFECT[name]
        else:
            sources[name] = path
    if len(missing) == len(paths):
        raise ParameterError(f"dataset {str(folder)!r} has none of ratings, conversations, surveys (.parquet or .csv)")
    card = None
    if frames["ratings"] is not None:
        card_path = Path(scorecard_path) if scorecard_path else folder / "scorecard.yaml"
        if not card_path.is_file():
            raise ParameterError(f"scorecard file not found: {str(card_path)!r} (the ratings need their scorecard)")
        card = load_scorecard(card_path)
    t0, t1 = _day(start, "start"), _day(end, "end")
    if t1 is not None and len(end) <= 10:
        t1 = t1 + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    if last_days:
        t0, t1 = _rolling_window(frames, last_days, t1)
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
        orphan = S.orphans(frames[name], frames["conversations"])
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
    ratings = within(frames["ratings"], S.REVIEWED_AT) if frames["ratings"] is not None else None
    if ratings is not None and ratings.empty:
        have = frames["ratings"][S.REVIEWED_AT]
        if last_days:
            start, end = f"{t0:%Y-%m-%d}", f"{t1:%Y-%m-%d}"
        raise ParameterError(f"no reviews between {start or 'the beginning'} and {end or 'the end'}; "
                             f"the data covers {have.min():%Y-%m-%d} to {have.max():%Y-%m-%d}")
    conv = within(frames["conversations"], S.CREATED_AT) if frames["conversations"] is not None else None
    sv = frames["surveys"]
    surveys = (_surveys_in_period(sv, frames["conversations"], in_period, notes) if sv is not None and period_set
               else sv)
    engine_notes: list[str] = []
    # the engine reads the files themselves only when the report uses every row of them as stored:
    # none left out (period, orphans) and none changed when read (ids normalised ...)
    whole = (ratings is not None and len(ratings) == rows_read["ratings"]
             and not (S.has_record(frames["ratings"]) and len(S.adjustments(frames["ratings"]))))
    scores = (_score(ratings, card, engine, sources.get("ratings") if whole else None, engine_notes)
              if ratings is not None else None)
    previous = _previous_period(frames, card, t0, t1, engine=engine)
    return ReportData(ratings=ratings, conversations=conv, surveys=surveys, card=card, scores=scores,
                      start=t0, end=t1, source="bundled sample data" if dataset == "sample" else str(folder),
                      min_n=min_n, notes=notes, csat_scale=csat, previous=previous, missing=missing,
                      engine=engine, sources=sources, engine_notes=engine_notes, last_days=last_days)


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


def _rolling_window(frames: Mapping[str, pd.DataFrame | None], days: int,
                    end: pd.Timestamp | None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The last ``days`` whole days (UTC) ending on ``end``'s day or the day of the latest row."""
    if end is None:
        last = [f[c].max() for f, c in ((frames["ratings"], S.REVIEWED_AT), (frames["conversations"], S.CREATED_AT),
                                        (frames["surveys"], S.ANSWERED_AT)) if f is not None and f[c].notna().any()]
        if not last:
            raise ParameterError("last_days needs dated rows (reviewed_at, created_at or answered_at); the data has none")
        end = max(last).normalize() + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    start = end.normalize() - pd.Timedelta(days=days - 1)
    return start, end


def _read(path: Path, name: str, tz: str) -> pd.DataFrame:
    """One table from a file (:func:`qakit.io.read_table`) or a folder of Parquet files."""
    from .io import read_table

    if path.is_dir():
        try:
            df = pd.read_parquet(path)
        except (OSError, ValueError) as e:
            raise ParameterError(f"{path.name}/: not a readable folder of Parquet files ({str(e).splitlines()[0]})") from None
        if len(df) == 0:
            raise ParameterError(f"{path.name}/: no data rows")
        return S.validate(df, name, tz=tz)
    return read_table(path, name, tz=tz)


def _score(ratings: pd.DataFrame, card: Scorecard, engine: str, parquet: Path | None, notes: list[str]) -> pd.DataFrame:
    """Review scores on the report's engine: pandas (:meth:`Scorecard.score`) or DuckDB
    (:func:`qakit.scorecard.score_reviews` with ``engine``, reading ``parquet`` directly when given)."""
    if engine == "pandas":
        return card.score(ratings)
    direct = parquet is not None and (parquet.is_dir() or parquet.suffix == ".parquet")
    scores = score_reviews(str(parquet) if direct else ratings, card, engine=engine)
    line = (f"review scores: DuckDB read {parquet.name} directly" if direct
            else "review scores: DuckDB on the period's ratings")
    if line not in notes:
        notes.append(line)
    return scores


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


def _previous_period(frames: Mapping[str, pd.DataFrame | None], card: Scorecard | None,
                     t0: pd.Timestamp | None, t1: pd.Timestamp | None, *, engine: str = "pandas") -> dict[str, Any]:
    """The tables restricted to the period of equal length just before ``[t0, t1]`` (empty without a
    start; an end defaults to the last timestamp in the data)."""
    if t0 is None:
        return {}
    if t1 is None:
        last = [f[c].max() for f, c in ((frames["ratings"], S.REVIEWED_AT), (frames["conversations"], S.CREATED_AT))
                if f is not None and len(f)]
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
    missing = [k for k in keys if k not in frame.columns and k in data.conversations.columns]
    if missing:
        frame = frame.merge(data.conversations[[S.CONVERSATION_ID, *missing]], on=S.CONVERSATION_ID, how="left")
    return frame



def load_calibration(*, dataset: str = "sample", scorecard_path: str = "") -> tuple[pd.DataFrame, Scorecard | None]:
    """Ratings of a calibration session and the card that gives their scales.

    ``dataset``: ``"sample"`` (the bundled session: 60 conversations x 5 reviewers with planted
    biases), ``"fed"`` (the real FED multi-annotator ratings, ``qakit.realdata.load_fed``; no
    card: categories are rated 0-2) or a ratings file (CSV/Parquet) with several reviewers per
    conversation.
    """
    from . import datasets
    from .io import read_table

    if dataset == "sample":
        ratings, card = datasets.load_sample("calibration"), datasets.load_sample_scorecard()
    elif dataset == "fed":
        from .realdata import load_fed

        ratings, card = load_fed(), None
    else:
        p = Path(dataset)
        if not p.is_file():
            raise ParameterError(f"dataset must be 'sample', 'fed' or a ratings file; got {dataset!r}")
        ratings, card = read_table(p, "ratings"), None
    if scorecard_path:
        card = load_scorecard(scorecard_path)
    return ratings, card




__all__ = ["load_report_data", "load_calibration", "check_last_days"]

from ._public import wrap_all  # noqa: E402  (at the end: wraps the functions defined above)

wrap_all(globals())
