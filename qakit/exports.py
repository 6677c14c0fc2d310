"""Vendor exports in two lines: ``read_export(path, preset=...)`` -> contract tables.

Each preset is a small declarative spec: for every contract table, a list of :class:`Field`
(target column, the vendor's documented source names -- matched case-, space- and
punctuation-insensitively, so ``Ticket ID``, ``ticket_id`` and ``TICKET-ID`` are one column --
and the unit parser), plus a few lines of preset logic where the export needs it (nested JSON,
building surveys from ticket columns, derived durations). Columns the spec does not use are
listed in ``Export.unmapped``; rows it cannot use are itemised in ``Export.excluded``; values it
derived or re-read are itemised in ``Export.adjusted``; statements about definitions (e.g.
"AHT = talk + hold + after-call work") are in ``Export.notes``.

Units: ``hms`` (``HH:MM:SS``, ``MM:SS``, ``1 day 02:00:00`` or plain seconds), ``seconds``,
``minutes``, ``hours`` (numbers; ``HH:MM[:SS]`` text is read as a clock duration too),
``calendar`` / ``business`` (Zendesk ``{calendar, business}`` objects, as dicts, flattened
columns or JSON text, in minutes), ``percent`` (``"85.3%"`` or 85.3 -> 0.853; plain numbers all
<= 1 are read as proportions), ``epoch`` (Unix seconds or timestamp text), ``number``, ``text``.
N/A tokens (empty, ``N/A``, ``NA``, ``-``, ``null``, ``None``, ``--``) are missing values.
Durations come out in seconds (``*_s`` columns). Numbers: ``1,234`` / ``1,234.5`` are thousands
(US style), ``85,3`` and ``1.234,5`` decimal commas; ``inf`` is refused. Numeric dates are read
day-first or month-first as the data shows (else ``dayfirst=`` is asked for); text is NFC; an
exact duplicate row is kept once and itemised; API pages saved together are one response.
``Export.write(folder)`` saves the tables (and the card the export implies) for the report.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import events as ev
from . import io as qio
from . import schema as S
from ._public import public
from .calls import NOT_ABANDONED_OUTCOMES
from .errors import DataValidationError, ParameterError, Problems, ScorecardError, check_choice, check_number
from .events import activity_roles, conversations_from_events
from .io import write_table
from .schema import add_adjustment
from .scorecard import Category, Scorecard, score_reviews
from .scorecard.card import align_applies_to, dump_scorecards

# --- extra column names (pass through the contracts) ------------------------------------------
WEIGHT = "weight"
CRITICAL = "critical"
SECTION = "section"
RATING_MIN = "rating_min"
RATING_MAX = "rating_max"
FIRST_RESPONSE_BUSINESS_S = "first_response_time_business_s"
RESOLUTION_BUSINESS_S = "resolution_time_business_s"
REOPENS = ev.REOPENS
TALK_TIME_S = S.TALK_TIME_S
HOLD_TIME_S = S.HOLD_TIME_S
AFTER_CALL_WORK_S = S.AFTER_CALL_WORK_S
QUEUE_WAIT_S = "queue_wait_s"
SERVICE_LEVEL_REPORTED = "service_level_reported"
ABANDONMENT_REPORTED = "abandonment_rate_reported"
UNKNOWN = "unknown"
DAY_NUMBER = "day_number"
REASSIGNMENTS = "reassignments"
MADE_SLA = "made_sla"
BUSINESS_DURATION_S = "business_duration_s"

NA_TEXT = {"", "n/a", "na", "-", "--", "null", "none", "nan", "nat", "?"}
EXPORT_RECORD_COLUMNS = ["table", "reason", "column", "n", "row_ids", S.SOURCE]


@dataclass(frozen=True)
class Field:
    """One target column: where it comes from and how its values are read.

    ``names``: the vendor's documented source names (nested JSON keys written ``a.b``), tried in
    order; a name starting with ``re:`` is a regular expression on the normalised header.
    """

    target: str
    names: tuple[str, ...]
    unit: str = "text"
    required: bool = False


@dataclass(frozen=True)
class Preset:
    """A vendor export: its documentation, its fields per table, and its builder."""

    name: str
    source: str
    fields: Mapping[str, tuple[Field, ...]]
    build: Callable[..., dict[str, pd.DataFrame]]
    scoring_mode: str = "weighted"


class Export(dict):
    """The contract tables of one export (``name -> DataFrame``) with what happened on the way.

    Attributes
    ----------
    preset, path : str
    excluded : pandas.DataFrame
        ``table, reason, column, n, row_ids``: rows not carried into a table, and why.
    adjusted : pandas.DataFrame
        ``table, reason, column, n, row_ids``: rows kept but with a derived or re-read value.
    unmapped : dict
        Source columns no field used (``table -> list of names``).
    notes : list of str
        Definitions the preset applied (e.g. how AHT is built, which durations are business hours).
    scoring_mode : str
        The QA tool's scoring mode, used by :func:`implied_card` / :func:`reconcile`.
    """

    def __init__(self, tables: Mapping[str, pd.DataFrame], *, preset: str, path: str,
                 notes: Sequence[str] = (), unmapped: Mapping[str, list[str]] | None = None,
                 scoring_mode: str = "weighted", records: Sequence[dict] = ()):
        super().__init__(tables)
        self.preset, self.path = preset, path
        self.notes = list(notes)
        self.unmapped = dict(unmapped or {})
        self.scoring_mode = scoring_mode
        self._records = list(records)

    def _collect(self, key: str) -> pd.DataFrame:
        parts = [pd.DataFrame([{**r, S.SOURCE: "read_export"} for r in self._records if r["kind"] == key],
                              columns=EXPORT_RECORD_COLUMNS)]
        for name, df in self.items():
            rec = S.exclusions(df) if key == S.EXCLUDED_KEY else S.adjustments(df)
            parts.append(rec.assign(table=name)[EXPORT_RECORD_COLUMNS])
        parts = [p for p in parts if len(p)]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=EXPORT_RECORD_COLUMNS)

    @property
    def excluded(self) -> pd.DataFrame:
        return self._collect(S.EXCLUDED_KEY)

    @property
    def adjusted(self) -> pd.DataFrame:
        return self._collect(S.ADJUSTED_KEY)

    def write(self, folder: str | Path) -> list[Path]:
        """Write every table as ``<folder>/<name>.parquet`` and the card(s) the export implies as
        ``scorecard.yaml`` -- the folder layout ``qakit report -p dataset <folder>`` reads.

        Exports of several tools can be written to one folder (a QA tool's ratings next to a
        helpdesk's conversations); a table of the same name is replaced, whatever its format
        (``calls.csv`` gives way to ``calls.parquet``, so the folder never holds two candidates).
        A card edited during the period becomes one card per version (:func:`card_versions`): the
        ratings and reviews carry each review's version in ``scorecard_version`` and
        ``scorecard.yaml`` holds every version (:func:`qakit.scorecard.card.load_scorecards`).

        The write is atomic: everything is computed first, then written into a temporary folder
        beside ``folder`` (other files already in ``folder`` are linked into it) which replaces
        ``folder`` by a rename; on any failure ``folder`` is left as it was. A relative ``folder``
        is relative to the current working directory.

        Returns
        -------
        list of Path
            The files written (in their final place).

        Raises
        ------
        ParameterError
            ``folder`` is a file, or writing would replace the file this export was read from.
        """
        folder = Path(os.path.abspath(Path(folder).expanduser()))
        if folder.exists() and not folder.is_dir():
            raise ParameterError(f"write: {str(folder)!r} is a file, not a folder")
        tables = {name: df for name, df in self.items()}
        cards = []
        if "ratings" in tables:  # computed before anything is written: a failure leaves no half folder
            versions = card_versions(tables["ratings"])
            split = versions[IMPLIED_VERSION].notna().any() and not versions[IMPLIED_VERSION].fillna("").eq(
                versions[S.SCORECARD_VERSION]).all()
            if split:
                lut = dict(zip(versions[S.REVIEW_ID], versions[IMPLIED_VERSION]))
                for name in ("ratings", "reviews"):
                    if name in tables and S.REVIEW_ID in tables[name].columns:
                        t = tables[name].copy()
                        t[S.SCORECARD_VERSION] = t[S.REVIEW_ID].astype("str").map(lut)
                        tables[name] = t
            cards = implied_card(tables["ratings"], mode=self.scoring_mode)
        replaced = set(tables) | ({"scorecard"} if cards else set())
        source = Path(os.path.abspath(self.path)) if self.path else None
        if folder.is_dir() and source is not None:
            for p in folder.iterdir():
                stem = p.name.split(".")[0]
                if stem in replaced and (p == source or (p.is_dir() and source.is_relative_to(p))):
                    raise ParameterError(f"write: {str(folder)!r} holds the file this export was read from "
                                         f"({p.name}), which writing {stem!r} would replace; write to another folder")
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.writing-", dir=folder.parent))
        old = None
        try:
            if folder.is_dir():  # keep what the folder holds besides the tables written now
                for p in folder.iterdir():
                    if p.name.split(".")[0] in replaced:
                        continue
                    if p.is_dir():
                        shutil.copytree(p, tmp / p.name, copy_function=_link_or_copy)
                    else:
                        _link_or_copy(p, tmp / p.name)
            written = [write_table(df, tmp / f"{name}.parquet") for name, df in tables.items()]
            if cards:
                written.append(dump_scorecards(cards, tmp / "scorecard.yaml"))
            if folder.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
                os.replace(folder, old / "folder")
            os.replace(tmp, folder)
        except BaseException:
            if old is not None and (old / "folder").exists() and not folder.exists():
                os.replace(old / "folder", folder)  # put the original back
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        return [folder / p.name for p in written]

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}: {len(v)} rows" for k, v in self.items())
        return f"Export(preset={self.preset!r}, {{{parts}}})"


def _link_or_copy(src: str | Path, dst: str | Path) -> None:
    """A hard link (no copy of a large file kept from a folder being rewritten), else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


# --- header matching and unit parsers -----------------------------------------------------------
@public
def normalise_header(name: Any) -> str:
    """Header key: Unicode NFKC, case-folded, runs of non-alphanumerics -> ``_``.

    Examples
    --------
    >>> normalise_header("First response time (in hrs)")
    'first_response_time_in_hrs'
    >>> normalise_header(" reply_time_in_minutes.Calendar ")
    'reply_time_in_minutes_calendar'
    """
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    return re.sub(r"[\W_]+", "_", text).strip("_")


def _lookup(columns: Sequence[Any], where: str) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    clash: dict[str, list[str]] = {}
    for c in columns:
        k = normalise_header(c)
        if k in keys:
            clash.setdefault(k, [str(keys[k])]).append(str(c))
        keys[k] = c
    if clash:
        raise ParameterError(f"{where}: columns that differ only in case/punctuation: "
                             f"{sorted(clash.values())}; rename one of them")
    return keys


def _find(keys: Mapping[str, Any], names: Sequence[str], columns: Sequence[Any] = ()) -> Any | None:
    for n in names:
        if n.startswith("="):  # an exact column name (mapping=): as written, else by its header key
            if n[1:] in list(columns):
                return n[1:]
            if normalise_header(n[1:]) in keys:
                return keys[normalise_header(n[1:])]
            continue
        if n.startswith("re:"):
            pat = re.compile(n[3:])
            hit = [k for k in keys if pat.search(k)]
            if hit:
                return keys[hit[0]]
        elif normalise_header(n) in keys:
            return keys[normalise_header(n)]
    return None


def _text(s: pd.Series) -> pd.Series:
    """Stripped text with N/A tokens as missing (``object`` values keep their type elsewhere)."""
    t = s.astype("str").str.strip().where(s.notna())
    t = t.where(~t.str.casefold().isin(NA_TEXT))
    wide = t.notna() & ~t.str.isascii().fillna(True).astype(bool)
    if wide.any():  # one Unicode form (NFC): "é" typed two ways is one id / category
        t[wide] = t[wide].map(lambda v: unicodedata.normalize("NFC", v))
    return t


_CLOCK = re.compile(r"^(?P<neg>-)?(?:(?P<d>\d+)\s*(?:d|days?)\s*,?\s*)?(?P<a>\d+):(?P<b>\d{1,2})(?::(?P<c>\d{1,2}(?:\.\d+)?))?$")


def _clock_seconds(t: pd.Series, two_part: str) -> pd.Series:
    """``[D days ]H:MM:SS`` -> seconds; a two-part ``A:B`` is ``MM:SS`` or ``HH:MM`` (``two_part``).

    The common ``H:MM:SS`` cells are split vectorised; only the rest go through the regex."""
    parts = t.str.split(":", n=2, expand=True)
    if parts.shape[1] == 3:
        h, mi, se = (pd.to_numeric(parts[k], errors="coerce") for k in range(3))
        # "-00:30:00" splits into "-00" (= -0.0 >= 0): a leading minus is never a simple cell
        simple = (h.notna() & mi.notna() & se.notna() & (h >= 0) & mi.between(0, 59) & se.between(0, 60, inclusive="left")
                  & ~t.str.startswith("-").fillna(False).astype(bool))
        if simple.all():
            return (h * 3600 + mi * 60 + se).astype("float64")
    else:
        simple = pd.Series(False, index=t.index)
    out = pd.Series(np.nan, index=t.index, dtype="float64")
    if parts.shape[1] == 3:
        out[simple] = (h * 3600 + mi * 60 + se)[simple]
    rest = t[~simple]
    m = rest.str.extract(_CLOCK)
    t = rest
    a, b, c = (pd.to_numeric(m[k], errors="coerce") for k in ("a", "b", "c"))
    d = pd.to_numeric(m["d"], errors="coerce").fillna(0.0)
    three = c.notna()
    if two_part == "mm:ss":
        secs = np.where(three, a * 3600 + b * 60 + c, a * 60 + b)
    else:
        secs = np.where(three, a * 3600 + b * 60 + c, a * 3600 + b * 60)
    other = pd.Series(secs, index=t.index, dtype="float64") + d * 86400
    other = other.where(~((b >= 60) | (c >= 60)).fillna(False))  # "00:75:00" is no clock: refused, never 75 min
    out[~simple] = other.where(m["neg"].isna(), -other)
    return out


def _arrow_text(t: pd.Series) -> pa.Array:
    return pa.array(t.to_numpy(dtype=object, na_value=None), type=pa.large_string())


def _number(t: pd.Series) -> pd.Series:
    try:  # a clean numeric column: one Arrow cast (pandas' to_numeric on text is far slower)
        vals = pc.cast(_arrow_text(t), pa.float64()).to_numpy(zero_copy_only=False)
        return pd.Series(vals, index=t.index, dtype="float64")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    u = t.str.replace(r"\s", "", regex=True)
    thousands = u.str.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?", na=False)  # 1,234,567.5
    euro = u.str.fullmatch(r"[-+]?\d{1,3}(\.\d{3})+,\d+", na=False)  # 1.234,5
    decimal_comma = u.str.fullmatch(r"[-+]?\d+,\d+", na=False) & ~thousands  # 85,3
    u = u.where(~thousands, u.str.replace(",", "", regex=False))
    u = u.where(~euro, u.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    u = u.where(~decimal_comma, u.str.replace(",", ".", regex=False))
    return pd.to_numeric(u, errors="coerce")


def _hms_fast(t: pd.Series) -> pd.Series | None:
    """Seconds when every present cell is ``H:MM:SS`` (the usual telephony export), by Arrow kernels;
    ``None`` otherwise (the caller then reads cell formats one by one)."""
    present = t.notna()
    if not present.any():
        return None
    if pc.any(pc.starts_with(_arrow_text(t[present]), "-")).as_py():
        return None  # a signed clock ("-00:30:00" is minus 30 minutes, never +30): read cell by cell
    parts = pc.split_pattern(_arrow_text(t[present]), ":", max_splits=2)
    n = pc.list_value_length(parts)
    if pc.min(n).as_py() != 3 or pc.max(n).as_py() != 3:
        return None
    try:
        hms = pc.cast(pc.list_flatten(parts), pa.float64()).to_numpy(zero_copy_only=False).reshape(-1, 3)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    h, m, sec = hms[:, 0], hms[:, 1], hms[:, 2]
    if not ((h >= 0).all() and (m >= 0).all() and (m < 60).all() and (sec >= 0).all() and (sec < 60).all()):
        return None
    out = pd.Series(np.nan, index=t.index, dtype="float64")
    out[present] = h * 3600 + m * 60 + sec
    return out


def _json_key(s: pd.Series, key: str) -> pd.Series:
    def pick(v: Any) -> Any:
        if isinstance(v, Mapping):
            return v.get(key)
        if isinstance(v, str) and v.strip().startswith("{"):
            try:
                return json.loads(v).get(key)
            except (ValueError, AttributeError):
                return v
        return v
    return s.map(pick) if s.dtype == object or pd.api.types.is_string_dtype(s.dtype) else s


@public
def parse_unit(values: pd.Series, unit: str, *, column: str = "", problems: Problems | None = None) -> pd.Series:
    """Read one source column in a unit; unreadable cells are reported to ``problems``.

    Examples
    --------
    >>> parse_unit(pd.Series(["00:02:05", "1:00", "", "75"]), "hms").tolist()
    [125.0, 60.0, nan, 75.0]
    >>> parse_unit(pd.Series(["85.5%", None]), "percent").tolist()
    [0.855, nan]
    >>> parse_unit(pd.Series(['{"calendar": 30, "business": 12}']), "business").tolist()  # minutes -> s
    [720.0]
    """
    problems = problems if problems is not None else Problems("?")
    if unit == "id":
        return _ids(values)
    if unit in ("text", "raw", "datetime", "bool"):
        if unit == "raw" or values.dtype != object and not pd.api.types.is_string_dtype(values.dtype):
            return values
        return _text(values)
    if unit in ("calendar", "business"):
        values, unit = _json_key(values, unit), "minutes"
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        num = values.astype("float64")
        bad = pd.Series(np.isinf(num), index=values.index)
        num = num.where(~bad)
        t = None
    else:
        t = _text(values)
        fast = _hms_fast(t) if unit in ("hms", "seconds", "minutes", "hours") else None
        if fast is not None:  # H:MM:SS is a clock duration whatever the column's unit: seconds
            return fast
        num = _number(t)
        bad = t.notna() & (num.isna() | np.isinf(num))
        num = num.where(~bad)
    if unit == "epoch":
        out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
        isnum = num.notna()
        out[isnum] = pd.to_datetime(num[isnum] * 1e9, unit="ns", utc=True)
        if t is not None and bad.any():
            out[bad] = S.parse_datetimes(t[bad], column=column, problems=problems)
        return out
    if unit in ("percent", "score_percent"):
        return _percent(values, t, num, bad, unit, column, problems)
    if unit in ("hms", "seconds", "minutes", "hours"):
        if t is not None and bad.any():
            clock = _clock_seconds(t.where(bad), "mm:ss" if unit in ("hms", "seconds") else "hh:mm")
            factor = {"hms": 1.0, "seconds": 1.0, "minutes": 60.0, "hours": 3600.0}[unit]
            num = num.where(~(bad & clock.notna()), clock / factor)
            bad = bad & clock.isna()
        num = num * {"hms": 1.0, "seconds": 1.0, "minutes": 60.0, "hours": 3600.0}[unit]
        problems.add(column, f"not a duration ({unit}: a number or HH:MM:SS)", bad, values)
        problems.add(column, "negative duration", num < 0, values)
        return (num + 0.0).astype("float64")  # + 0.0: "-00:00:00" is 0, not -0
    if unit == "number":
        problems.add(column, "not a number", bad, values)
        return num.astype("float64")
    raise ParameterError(f"unknown unit {unit!r}")  # pragma: no cover


#: attrs key of a parsed percent column: plain numbers <= 1 read as proportions in a column of
#: percent points (Excel's percent cells, ``0.9`` = 90 %), itemised by the presets
PERCENT_MIXED = "percent_read_as_proportion"


def _percent(values: pd.Series, t: pd.Series | None, num: pd.Series, bad: pd.Series, unit: str, column: str,
             problems: Problems) -> pd.Series:
    """Percent cells -> proportions, decided per value (never per column).

    ``"85.3%"`` is 0.853; a plain number above 1 is percent points (``75`` -> 0.75); a plain number
    from 0 to 1 is a proportion (``0.9`` -> 0.9, Excel's 90 % cell) -- so a column mixing ``75`` and
    ``0.9`` reads 75 % and 90 %, never 0.9 %. Those plain numbers <= 1 in a column that also holds
    percent points are marked in ``attrs[PERCENT_MIXED]`` for the reader to itemise. ``unit="percent"``
    is a share: above 100 % or below 0 is refused; ``"score_percent"`` (a review score, which bonus
    sections can lift above 100 %) only refuses negatives.
    """
    if t is not None:
        pct = t.str.endswith("%", na=False)
        num = num.where(~pct, _number(t.str.rstrip("%").str.strip()) / 100)
        bad = t.notna() & num.isna()
        plain = num.notna() & ~pct
    else:
        plain = num.notna()
    points = plain & (num > 1)
    mixed = plain & (num <= 1) & (num > 0) if points.any() else pd.Series(False, index=num.index)
    num = num.where(~points, num / 100)
    problems.add(column, "not a percentage", bad, values)
    problems.add(column, "negative share", num < 0, values)
    if unit == "percent":
        problems.add(column, "share above 100 %: impossible", num > 1 + 1e-9, values)
    out = num.astype("float64")
    out.attrs[PERCENT_MIXED] = mixed.to_numpy()
    return out


def public_name(target: str) -> str:
    """The name a field answers to in ``mapping=``: its target without a leading underscore."""
    return target.lstrip("_")


def _mapped(fields: Sequence[Field], mapping: Mapping[str, str] | None) -> tuple[Field, ...]:
    """``fields`` with ``mapping`` (source column -> field name) put first in each field's names."""
    if not mapping:
        return tuple(fields)
    out = []
    for f in fields:
        extra = tuple(f"={src}" for src, dst in mapping.items() if dst == public_name(f.target))
        out.append(Field(f.target, extra + f.names, f.unit, f.required) if extra else f)
    return tuple(out)


def pick(raw: pd.DataFrame, fields: Sequence[Field], *, table: str, problems: Problems,
         used: set | None = None, parsed: dict | None = None) -> pd.DataFrame:
    """Select and parse ``fields`` from ``raw`` (source columns matched by :func:`normalise_header`;
    a name written ``=Column`` is that exact column, as ``mapping=`` gives it).

    Missing required fields are reported once, all together, with the columns present.
    ``parsed`` (optional) receives ``target -> parsed Series`` (with its ``attrs``).
    """
    keys = _lookup(raw.columns, table)
    out = pd.DataFrame(index=raw.index)
    missing = []
    if problems.row_ids is None and fields and fields[0].unit == "id":  # messages name the rows by id
        src = _find(keys, fields[0].names, raw.columns)
        if src is not None:
            problems.row_ids = raw[src].astype("str")
    # a column given by mapping= (an "=Column" name) belongs to that field only
    claimed = {_find(keys, [n], raw.columns): f.target for f in fields for n in f.names if n.startswith("=")}
    claimed.pop(None, None)
    for f in fields:
        src = _find(keys, f.names, raw.columns)
        if src is not None and claimed.get(src, f.target) != f.target:
            rest = [n for n in f.names if not n.startswith("=")]
            src = next((c for c in (_find(keys, [n], raw.columns) for n in rest) if c is not None and c not in claimed),
                       None)
        if src is None:
            if f.required:
                missing.append(f"{f.target} (one of {[n.lstrip('=') for n in f.names]})")
            continue
        if used is not None:
            used.add(src)
        col = parse_unit(raw[src], f.unit, column=f"{f.target} <- {src}", problems=problems)
        if parsed is not None:
            parsed[f.target] = col
        out[f.target] = col
    if missing:
        problems.add(", ".join(missing), f"required column(s) not found in the export; columns present: "
                     f"{[str(c) for c in raw.columns][:40]}")
    return out


# --- loading files --------------------------------------------------------------------------------
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz")


def _load(path: Path, *, sep: str | None, encoding: str | None, sheet: Any) -> Any:
    name = path.name.lower()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise ParameterError(f"{path}: folder has no files")
        by_table: dict[str, list[Path]] = {}
        for p in files:
            by_table.setdefault(p.name.split(".")[0].casefold(), []).append(p)
        twice = {k: [p.name for p in v] for k, v in by_table.items() if len(v) > 1}
        if twice:
            raise ParameterError(f"{path}: several files for one table {twice}; keep one of each (an old export "
                                 "beside a new one?)")
        return {k: _load(v[0], sep=sep, encoding=encoding, sheet=sheet) for k, v in by_table.items()}
    if name.endswith((".xes", ".xes.gz")):
        return _read_xes(path)
    if name == "queue_log" or name.endswith((".log", "queue_log")):  # Asterisk: pipe-separated, no header
        try:
            df = pd.read_csv(path, sep="|", header=None, dtype="str", keep_default_na=False, na_values=[""],
                             names=ASTERISK_COLUMNS, encoding=encoding or "utf-8-sig", index_col=False)
        except (pd.errors.ParserError, UnicodeError, ValueError) as e:
            raise ParameterError(f"{path.name}: not a readable queue_log ({str(e).splitlines()[0]})") from None
        if df.empty:
            raise ParameterError(f"{path.name}: file is empty")
        return df
    if name.endswith(JSON_SUFFIXES):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding=encoding or "utf-8-sig") as fh:
            text = fh.read()
        if not text.strip():
            raise ParameterError(f"{path.name}: file is empty")
        try:
            if name.endswith((".jsonl", ".ndjson")):
                return [json.loads(line) for line in text.splitlines() if line.strip()]
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise ParameterError(f"{path.name}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    if name.endswith(EXCEL_SUFFIXES):
        return qio.read_excel(path, sheet=sheet)
    if name.endswith(qio.PARQUET_SUFFIXES):
        return pd.read_parquet(path)
    qio._suffix(path)  # unsupported types: one clear error
    df, _ = qio._read_csv(path, sep=sep, encoding=encoding, stream=False, progress=False)
    if len(df) == 0:
        raise ParameterError(f"{path.name}: no data rows (header only: {[str(c) for c in df.columns]})")
    return df


#: list-valued keys of paged API responses (several pages saved as one JSON list / JSON lines)
PAGE_KEYS = {"conversations", "tickets", "ticket_metrics", "disputes", "csat", "autoqa", "calibrationsessions",
             "calibration_sessions", "satisfaction_ratings", "data", "results"}


def _merge_pages(obj: Any) -> Any:
    """Pages of an API response saved together (``[{"conversations": [...]}, {...}]``) -> one page."""
    if not (isinstance(obj, list) and obj and all(isinstance(p, Mapping) for p in obj)):
        return obj
    if any("id" in p or "externalId" in p for p in obj):
        return obj  # records, not pages
    keys = {k for p in obj for k, v in p.items() if isinstance(v, list) and normalise_header(k) in PAGE_KEYS}
    if not keys:
        return obj
    return {k: [x for p in obj for x in (p.get(k) or [])] for k in keys}


def _frame(obj: Any, keys: Sequence[str], what: str) -> pd.DataFrame | None:
    """A flat frame from a loaded object: a table, a JSON list, or a list under one of ``keys``."""
    if isinstance(obj, pd.DataFrame):
        return obj
    if isinstance(obj, Mapping):
        for k in keys:
            for key in obj:
                if normalise_header(key) == normalise_header(k):
                    return _frame(obj[key], (), what)
        return None
    if isinstance(obj, list):
        if not obj:
            return pd.DataFrame()
        return pd.json_normalize(obj)
    raise ParameterError(f"{what}: expected a table or a JSON list; got {type(obj).__name__}")


def _ids(s: pd.Series) -> pd.Series:
    """Ids as text, integral floats without ``.0`` (JSON numbers), whitespace-stripped, NFC."""
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind in ("string", "empty"):
        t = s.astype("str").str.strip().where(s.notna())
        t = t.where(t.ne(""))
        wide = t.notna() & ~t.str.isascii().fillna(True).astype(bool)
        if wide.any():
            t[wide] = t[wide].map(lambda v: unicodedata.normalize("NFC", v))
        return t.astype("str")
    if kind in ("integer", "floating", "mixed-integer-float") and not pd.api.types.is_bool_dtype(s.dtype):
        num = pd.to_numeric(s, errors="coerce")
        out = s.astype("str").where(s.notna())
        whole = num.notna() & np.isfinite(num) & (num == np.floor(num)) & (num.abs() < 2**63)
        out[whole] = num[whole].astype("int64").astype("str")
        return out.astype("str")

    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return unicodedata.normalize("NFC", str(v)).strip() or None
    return s.map(one).astype("str")


# --- the readers ---------------------------------------------------------------------------------
#: whole-column timestamp formats tried before the validator's element-wise reading
DATE_FORMATS = ("ISO8601", "%a, %d %b %Y %H:%M:%S", "%d %b %Y %H:%M:%S", "%a %b %d %H:%M:%S %z %Y")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})\b")


class _Ctx:
    """What one read collects: problems, records, notes, unmapped columns."""

    def __init__(self, preset: str, path: Path, tz: str, dayfirst: bool | None = None,
                 mapping: Mapping[str, str] | None = None, start: pd.Timestamp | None = None,
                 activities: Mapping[str, str] | None = None):
        self.preset, self.path, self.tz, self.dayfirst = preset, path, tz, dayfirst
        self.activities = dict(activities or {})
        self.mapping = dict(mapping or {})
        self.mapping_used: set[str] = set()
        self.start = start
        self.problems = Problems(f"{path.name} ({preset})")
        self.notes: list[str] = []
        self.records: list[dict] = []
        self.unmapped: dict[str, list[str]] = {}

    def pick(self, raw: pd.DataFrame, table: str, fields: Sequence[Field]) -> pd.DataFrame:
        used: set = set()
        p = Problems(f"{self.path.name} ({self.preset}) -> {table}")
        parsed: dict[str, pd.Series] = {}
        out = pick(raw, _mapped(fields, self.mapping), table=table, problems=p, used=used, parsed=parsed)
        self.mapping_used |= {str(c) for c in used} & set(self.mapping)
        self.mapping_used |= {k for k in self.mapping if normalise_header(k) in {normalise_header(c) for c in used}}
        self.problems.extend(p)
        self.unmapped[table] = [str(c) for c in raw.columns if c not in used]
        ids = p.row_ids if p.row_ids is not None else pd.Series(raw.index.astype("str"), index=raw.index)
        for target, col in parsed.items():
            mixed = col.attrs.get(PERCENT_MIXED)
            if mixed is not None and mixed.any():
                self.record(S.ADJUSTED_KEY, table, "plain number <= 1 in a column of percent points: read as a "
                            "proportion (Excel's percent cell: 0.9 = 90 %, never 0.9 %)", target,
                            ids.to_numpy()[mixed])
        dated = [f.target for f in fields if f.unit == "datetime" and f.target in out.columns]
        if self.dayfirst is None and len(dated) > 1:
            self._file_date_order(out, dated)
        for col in dated:
            out[col] = self.dates(out[col], col)
        return out

    def _file_date_order(self, out: pd.DataFrame, columns: Sequence[str]) -> None:
        """One export writes its dates one way: when only some columns can tell day-first from
        month-first (a day above 12), the others follow them."""
        first_big = second_big = False
        for col in columns:
            v = out[col]
            if v.dtype != object and not pd.api.types.is_string_dtype(v.dtype):
                continue
            m = _text(v).str.extract(_DMY)
            a, b = pd.to_numeric(m[0], errors="coerce"), pd.to_numeric(m[1], errors="coerce")
            first_big |= bool((a > 12).any())
            second_big |= bool((b > 12).any())
        if first_big != second_big:
            self.dayfirst = first_big
            self.notes.append(f"dates read {'day' if first_big else 'month'}-first in every date column "
                              f"({', '.join(columns)}): a part above 12 tells which")

    def _known_format(self, t: pd.Series, values: pd.Series, column: str) -> pd.Series:
        """Whole columns in one documented format are parsed vectorised (the validator's
        element-wise fallback takes minutes on a million rows); anything else is left to it."""
        present = t.notna()
        if not present.any():
            return values
        sample = t[present]
        for fmt in DATE_FORMATS:
            try:
                parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
            except (ValueError, TypeError):
                continue
            if parsed.notna().all():
                if isinstance(parsed.dtype, pd.DatetimeTZDtype):
                    parsed = parsed.dt.tz_convert("UTC")
                else:
                    local = parsed.dt.tz_localize(self.tz, ambiguous="NaT", nonexistent="NaT")
                    self.problems.add(column, f"local time that does not exist or is ambiguous in {self.tz} "
                                      "(DST change)", local.isna(), sample)
                    parsed = local.dt.tz_convert("UTC")
                res = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
                res[present] = parsed
                return res
        return values

    def dates(self, values: pd.Series, column: str) -> pd.Series:
        """Numeric dates (``01/02/2026``, ``1.2.26``) read day-first or month-first: from
        ``dayfirst`` when given, else from the data (a first part above 12 means day-first); an
        undecidable column is an error, never a guess. Other text is left to the validator."""
        if values.dtype != object and not pd.api.types.is_string_dtype(values.dtype):
            return values
        t = _text(values)
        m = t.str.extract(_DMY)
        hit = m[0].notna()
        if not hit.any():
            return self._known_format(t, values, column)
        a, b = pd.to_numeric(m[0], errors="coerce"), pd.to_numeric(m[1], errors="coerce")
        first_big, second_big = bool((a > 12).any()), bool((b > 12).any())
        dayfirst = self.dayfirst
        if dayfirst is None:
            if first_big and second_big:
                self.problems.add(column, "dates mix day-first and month-first orders", hit & ((a > 12) | (b > 12)), values)
                return values
            if not first_big and not second_big:
                raise ParameterError(
                    f"{self.path.name}: column {column!r} has dates like {t[hit].iloc[0]!r} whose order (day/month or "
                    "month/day) the data cannot tell; pass dayfirst=True or dayfirst=False")
            dayfirst = first_big
            self.notes.append(f"{column}: dates read {'day' if dayfirst else 'month'}-first (a part above 12 "
                              "tells which)")
        parsed = pd.to_datetime(t.where(hit), dayfirst=dayfirst, format="mixed", errors="coerce")
        bad = hit & parsed.isna()
        self.problems.add(column, "unparseable date", bad, values)
        local = parsed.dt.tz_localize(self.tz, ambiguous="NaT", nonexistent="NaT")
        self.problems.add(column, f"local time that does not exist or is ambiguous in {self.tz} (DST change)",
                          hit & parsed.notna() & local.isna(), values)
        res = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
        res[hit] = local[hit].dt.tz_convert("UTC")
        rest = ~hit & t.notna()
        if rest.any():  # other spellings in the same column: the validator's reading
            res[rest] = S.parse_datetimes(t[rest], tz=self.tz, column=column, problems=self.problems)
        return res

    def record(self, kind: str, table: str, reason: str, column: str, ids: Any) -> None:
        ids = tuple(pd.Series(ids, dtype="object").astype("str"))
        if ids:
            self.records.append({"kind": kind, "table": table, "reason": reason, "column": column,
                                 "n": len(ids), "row_ids": ids})


def _fill_required(df: pd.DataFrame, table: str, ctx: _Ctx, defaults: Mapping[str, Any]) -> pd.DataFrame:
    """Fill required contract columns the export does not carry, and record it."""
    rid = S.get_table(table).row_id
    if table == "conversations" and S.AGENT_ID not in df.columns:
        df[S.AGENT_ID] = None
        ctx.notes.append("conversations.agent_id: not in the export; left empty")
    for col, value in defaults.items():
        if col not in df.columns:
            df[col] = value
            ctx.notes.append(f"{table}.{col}: not in the export; set to {value!r} for every row")
        elif df[col].isna().any():
            m = df[col].isna()
            ctx.record(S.ADJUSTED_KEY, table, f"empty {col}: set to {value!r}", col, df.loc[m, rid] if rid in df else df.index[m])
            df[col] = df[col].where(~m, value)
    return df


def _drop_unattributed(df: pd.DataFrame, table: str, ctx: _Ctx) -> pd.DataFrame:
    """Rating rows whose review names no agent (reviewee) or reviewer cannot be attributed:
    left out and itemised by review id (an error would stop a whole export over one review)."""
    miss = pd.Series(False, index=df.index)
    for col in (S.AGENT_ID, S.REVIEWER_ID):
        if col in df.columns:
            m = df[col].isna()
            if m.any():
                ctx.record(S.EXCLUDED_KEY, table, f"review without {col}: cannot be attributed", col,
                           pd.unique(df.loc[m & ~miss, S.REVIEW_ID].astype("str")))
            miss |= m
    return df[~miss]


def _drop_off_scale(out: dict[str, pd.DataFrame], ctx: _Ctx, table: str = "ratings",
                    also: Sequence[str] = ("reviews",)) -> None:
    """Reviews with a rating outside the scale the export itself gives (``rating_min`` ..
    ``rating_max``: 150 of a 0-100 percent score, 7 points of a 3-point question) are left out whole
    -- from ``table`` and the ``also`` tables -- and itemised by review id with the values. Kept,
    they would stretch the implied card's scale and change *other* reviews' scores."""
    r = out.get(table)
    if r is None or not len(r) or S.RATING not in r.columns:
        return
    rating = pd.to_numeric(r[S.RATING], errors="coerce")
    off = pd.Series(False, index=r.index)
    if RATING_MAX in r.columns:
        off |= (rating > pd.to_numeric(r[RATING_MAX], errors="coerce") + 1e-9).fillna(False)
    if RATING_MIN in r.columns:
        off |= (rating < pd.to_numeric(r[RATING_MIN], errors="coerce") - 1e-9).fillna(False)
    if not off.any():
        return
    bad = r[off]
    ex = "; ".join(f"{rid} {cat!r} {v:g} of {lo:g}..{hi:g}" for rid, cat, v, lo, hi in
                   bad[[S.REVIEW_ID, S.CATEGORY, S.RATING, RATING_MIN, RATING_MAX]].head(3).itertuples(index=False))
    ids = pd.unique(bad[S.REVIEW_ID].astype("str"))
    reason = f"rating outside the scale the export gives (e.g. {ex}): whole review left out"
    for name in (table, *also):
        if name in out and S.REVIEW_ID in out[name].columns:
            gone = out[name][S.REVIEW_ID].astype("str").isin(set(ids))
            if gone.any():
                ctx.record(S.EXCLUDED_KEY, name, reason, S.RATING, pd.unique(out[name].loc[gone, S.REVIEW_ID].astype("str")))
                out[name] = out[name][~gone].reset_index(drop=True)


def _surveys_from(df: pd.DataFrame, score: pd.Series, kind: str, answered_at: pd.Series | None = None) -> pd.DataFrame:
    keep = score.notna() | score.attrs.get("sent", pd.Series(False, index=score.index))
    out = pd.DataFrame({S.CONVERSATION_ID: df[S.CONVERSATION_ID], S.KIND: kind, S.SCORE: score,
                        S.ANSWERED_AT: answered_at if answered_at is not None else pd.NaT})
    if S.AGENT_ID in df.columns:
        out[S.AGENT_ID] = df[S.AGENT_ID]
    return out[keep].reset_index(drop=True)


# zendesk_qa ---------------------------------------------------------------------------------------
ZQA_RATING = (
    Field(S.REVIEW_ID, ("review.id",), "id", True),
    Field(S.CONVERSATION_ID, ("conversation.externalId", "conversation.id", "externalTicketId"), "id", True),
    Field(S.AGENT_ID, ("review.reviewee.email", "review.reviewee.id", "reviewee.email", "reviewee.id"), "id", True),
    Field(S.REVIEWER_ID, ("review.reviewer.email", "review.reviewer.id", "reviewer.email", "reviewer.id"), "id", True),
    Field(S.REVIEWED_AT, ("review.createdISO", "review.createdAtISO", "review.created", "review.createdAt",
                            "review.updated", "created"), "datetime"),
    Field(S.CATEGORY, ("categoryName", "categoryId"), "text", True),
    Field(S.RATING, ("score", "rating"), "number", True),
    Field(WEIGHT, ("weight",), "number"),
    Field(CRITICAL, ("critical",), "bool"),
    Field(SECTION, ("groupName", "groupId"), "text"),
    Field(S.SCORECARD_VERSION, ("review.scorecard.name", "review.scorecard.id", "scorecard.name", "scorecard"), "text"),
)
ZQA_REVIEW = (
    Field(S.REVIEW_ID, ("id",), "id", True),
    Field(S.CONVERSATION_ID, ("conversation.externalId", "conversation.id"), "id", True),
    Field(S.AGENT_ID, ("reviewee.email", "reviewee.id"), "id", True),
    Field(S.REVIEWER_ID, ("reviewer.email", "reviewer.id"), "id", True),
    Field(S.REVIEWED_AT, ("createdISO", "createdAtISO", "created", "createdAt", "updated"), "datetime"),
    Field(S.VENDOR_SCORE, ("score",), "number"),
    Field(S.SCORECARD_VERSION, ("scorecard.name", "scorecard.id", "scorecard"), "text"),
    Field(S.REVIEW_TIME_S, ("reviewTime",), "seconds"),
)
ZQA_DISPUTE = (
    Field(S.DISPUTE_ID, ("disputeId", "id"), "id", True),
    Field(S.REVIEW_ID, ("reviewId",), "id", True),
    Field(S.CREATED_AT, ("createdAt", "created"), "datetime", True),
    Field(S.DISPUTE_STATUS, ("status",), "text"),
    Field(S.RESOLVED_AT, ("resolvedAt", "resolutionTime"), "datetime"),
    Field(S.DISPUTER_ID, ("createdBy.email", "createdBy.id", "createdBy"), "id"),
    Field(S.CONVERSATION_ID, ("conversationId",), "id"),
    Field(S.SCORE_BEFORE, ("scoreBefore", "originalScore"), "number"),
    Field(S.SCORE_AFTER, ("scoreAfter", "newScore"), "number"),
)
ZQA_CSAT = (
    Field(S.CONVERSATION_ID, ("externalTicketId", "conversationId"), "id", True),
    Field(S.SCORE, ("csatRawScore", "csatScore"), "number", True),
    Field(S.ANSWERED_AT, ("createdAt", "csatCreatedAt"), "datetime"),
    Field(S.AGENT_ID, ("agentEmail", "agentId"), "id"),
)
ZQA_AUTOQA = (
    Field(S.REVIEW_ID, ("autoqaReviewId",), "id", True),
    Field(S.CONVERSATION_ID, ("externalTicketId",), "id", True),
    Field(S.AGENT_ID, ("revieweeEmail", "revieweeExternalId"), "id", True),
    Field(S.REVIEWED_AT, ("conversationCreatedAt", "createdAt"), "datetime"),
    Field(S.CATEGORY, ("categoryName", "ratingCategoryName", "categoryId", "ratingCategoryId"), "text", True),
    Field(S.RATING, ("score", "rating"), "number", True),
)
_ACCEPTED = {"accepted", "approved", "partially_accepted", "partially accepted", "resolved_accepted"}
_REJECTED = {"rejected", "declined", "denied"}


def _zqa_reviews(convs: list, key: str = "reviews", extra: Mapping[str, Any] | None = None) -> tuple[list, list]:
    reviews, ratings = [], []
    for conv in convs or []:
        cmeta = {k: v for k, v in conv.items() if not isinstance(v, list)}
        for rev in conv.get(key) or []:
            rmeta = {k: v for k, v in rev.items() if k not in ("ratings", "thread", "tags")}
            reviews.append({"conversation": cmeta, **rmeta, **(extra or {})})
            for rt in rev.get("ratings") or []:
                ratings.append({"conversation": cmeta, "review": rmeta, **rt, **(extra or {})})
    return reviews, ratings


def _build_zendesk_qa(obj: Any, ctx: _Ctx, **_: Any) -> dict[str, pd.DataFrame]:
    if isinstance(obj, list):  # a bare list: conversations, or the AutoQA ratings export
        first = obj[0] if obj and isinstance(obj[0], Mapping) else {}
        obj = {"autoqa": obj} if "autoqaReviewId" in first else {"conversations": obj}
    if not isinstance(obj, Mapping):
        raise ParameterError(f"{ctx.path.name}: zendesk_qa expects the export API's JSON (an object "
                             "with 'conversations'); got a table")
    out: dict[str, pd.DataFrame] = {}
    convs = next((obj[k] for k in obj if normalise_header(k) == "conversations"), None)
    rats: list = []
    if convs is not None:
        revs, rats = _zqa_reviews(convs)
        if rats:
            r = ctx.pick(pd.json_normalize(rats), "ratings", ZQA_RATING)
            r[RATING_MIN], r[RATING_MAX] = 0.0, 100.0
            out["ratings"] = _drop_unattributed(r, "ratings", ctx)
        if revs:
            out["reviews"] = _drop_unattributed(ctx.pick(pd.json_normalize(revs), "reviews", ZQA_REVIEW), "reviews", ctx)
            ctx.notes.append("ratings.rating and reviews.vendor_score are Zendesk QA scores in percent (0-100)")
        ctx.problems.raise_if_any()
        _drop_off_scale(out, ctx)
    d = _frame(obj, ("disputes",), ctx.path.name)
    if d is not None and len(d):
        dd = ctx.pick(d, "disputes", ZQA_DISPUTE)
        if "categories" in d.columns:  # [{id, expectedRating, ...}] -> "; "-joined category names
            names = {}
            if rats:
                fr = pd.json_normalize(rats)
                if {"categoryId", "categoryName"} <= set(fr.columns):
                    names = dict(zip(fr["categoryId"].astype("str"), fr["categoryName"].astype("str")))
            dd[S.CATEGORY] = d["categories"].map(
                lambda v: "; ".join(str(c.get("name") or names.get(str(c.get("id")), c.get("id"))) for c in v)
                if isinstance(v, list) and v else None)
        st = dd.get(S.DISPUTE_STATUS, pd.Series(None, index=dd.index, dtype="object")).astype("str").str.casefold()
        dd[S.ACCEPTED] = pd.Series(pd.NA, index=dd.index, dtype="boolean")
        dd.loc[st.isin(_ACCEPTED), S.ACCEPTED] = True
        dd.loc[st.isin(_REJECTED), S.ACCEPTED] = False
        ctx.notes.append("disputes.accepted: status accepted / partially accepted -> True, rejected -> False, "
                         "other statuses (pending, ...) -> missing")
        out["disputes"] = dd
    c = _frame(obj, ("csat",), ctx.path.name)
    if c is not None and len(c):
        sv = ctx.pick(c, "surveys", ZQA_CSAT)
        sv[S.KIND] = "csat"
        if S.ANSWERED_AT not in sv.columns:
            sv[S.ANSWERED_AT] = pd.NaT
        out["surveys"] = sv
    a = _frame(obj, ("autoqa", "autoqaRatings", "autoqa_ratings"), ctx.path.name)
    if a is not None and len(a):
        aq = ctx.pick(a, "autoqa_ratings", ZQA_AUTOQA)
        aq[S.REVIEWER_ID] = "autoqa"
        out["autoqa_ratings"] = _drop_unattributed(aq, "autoqa_ratings", ctx)
        ctx.notes.append("AutoQA ratings are in autoqa_ratings, never in ratings: they do not enter IQS")
    sessions = next((obj[k] for k in obj if normalise_header(k) in ("calibrationsessions", "calibration_sessions")), None)
    if sessions:
        rats = []
        for s in sessions:
            _, r = _zqa_reviews(s.get("conversations") or [], extra={"session": s.get("id")})
            rats += r
        if rats:
            flat = pd.json_normalize(rats)
            cal = ctx.pick(flat, "calibration", ZQA_RATING + (Field(S.SESSION_ID, ("session",), "id"),))
            cal[RATING_MIN], cal[RATING_MAX] = 0.0, 100.0
            out["calibration"] = _drop_unattributed(cal, "calibration", ctx)
            _drop_off_scale(out, ctx, "calibration", ())
    if not out:
        raise ParameterError(f"{ctx.path.name}: no conversations/reviews, disputes, csat, autoqa or calibration "
                             f"sessions found; top-level keys: {list(obj)[:20]}")
    return out


# maestroqa -----------------------------------------------------------------------------------------
MQA_ANSWER = (
    Field(S.REVIEW_ID, ("answer_id", "Answer ID", "id"), "id", True),
    Field(S.CONVERSATION_ID, ("gradable_id", "ticket_id", "Ticket ID", "Gradable ID"), "id", True),
    Field(S.AGENT_ID, ("agent_id", "agent_email", "Agent", "Agent Email"), "id", True),
    Field(S.REVIEWER_ID, ("grader_id", "grader_email", "Grader", "Grader Email"), "id", True),
    Field(S.REVIEWED_AT, ("date_graded", "graded_at", "created_at", "Date Graded"), "datetime"),
    Field(S.SCORECARD_VERSION, ("rubric_name", "rubric_id", "Rubric", "Rubric Name"), "text"),
    Field("answer_type", ("answer_type", "Answer Type", "type"), "text"),
    Field("is_deleted", ("is_deleted", "deleted"), "bool"),
    Field(S.VENDOR_SCORE, ("total_score", "Total Score", "score_percent"), "score_percent"),
    Field(S.REVIEW_TIME_S, ("grading_time_seconds", "time_spent_seconds", "grading_duration"), "seconds"),
)
MQA_QUESTION = (
    Field(S.REVIEW_ID, ("answer_id", "Answer ID"), "id", True),
    Field(S.CATEGORY, ("question_title", "question_text", "question", "Question", "question_id"), "text", True),
    Field("_points", ("score", "Score", "points"), "number"),
    Field("_max", ("max_score", "max_points", "possible_points", "Max Score"), "number"),
    Field("_normalized", ("normalized_score", "Normalized Score"), "number"),
    Field("_is_na", ("is_na", "NA", "N/A", "is_not_applicable"), "bool"),
    Field(SECTION, ("section_name", "section_title", "section_id", "Section"), "text"),
    Field("_autofail", ("auto_fail", "is_auto_fail", "autofail", "is_autofail", "critical"), "bool"),
)


def _truthy(s: pd.Series | None, index: pd.Index, problems: Problems | None = None, column: str = "",
            ids: pd.Series | None = None) -> pd.Series:
    """A yes/no column as booleans (missing = False). A value that is neither (``"maybe"``,
    ``"2"``, ``"deleted?"``) is reported to ``problems`` by column, value and row id -- never read
    as False."""
    if s is None:
        return pd.Series(False, index=index)
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.fillna(False).astype(bool)
    t = s.astype("str").str.strip().str.casefold().where(s.notna())
    known = t.isin(S._TRUE | S._FALSE) | t.isna() | t.isin(NA_TEXT)
    if problems is not None:
        problems.add(column, f"not a yes/no value (allowed: {sorted(S._TRUE | S._FALSE)})", ~known, s,
                     row_ids=ids)
    return t.isin(S._TRUE).fillna(False).astype(bool)


def _build_maestroqa(obj: Any, ctx: _Ctx, **_: Any) -> dict[str, pd.DataFrame]:
    if isinstance(obj, Mapping) and not isinstance(obj, pd.DataFrame):
        answers = _frame(obj, ("answers",), ctx.path.name)
        questions = _frame(obj, ("question_scores", "questionscores"), ctx.path.name)
        if answers is None or questions is None:
            raise ParameterError(f"{ctx.path.name}: maestroqa needs 'answers' and 'question_scores' tables "
                                 f"(files or JSON keys); found {list(obj)}")
    else:
        answers = questions = _frame(obj, (), ctx.path.name)  # one flat raw-score export
    a = ctx.pick(answers, "reviews", MQA_ANSWER)
    q = ctx.pick(questions, "ratings", MQA_QUESTION)
    ctx.problems.raise_if_any()
    a[S.REVIEW_ID], q[S.REVIEW_ID] = _ids(a[S.REVIEW_ID]), _ids(q[S.REVIEW_ID])
    a = a.drop_duplicates(S.REVIEW_ID) if answers is questions else a
    deleted = _truthy(a.get("is_deleted"), a.index, ctx.problems, "is_deleted", a[S.REVIEW_ID])
    na = _truthy(q.get("_is_na"), q.index, ctx.problems, "is_na", q[S.REVIEW_ID])
    if "_autofail" in q.columns:
        _truthy(q["_autofail"], q.index, ctx.problems, "auto_fail", q[S.REVIEW_ID])
    ctx.problems.raise_if_any()
    if deleted.any():
        ctx.record(S.EXCLUDED_KEY, "ratings", "is_deleted: answer deleted in MaestroQA, dropped", "is_deleted",
                   a.loc[deleted, S.REVIEW_ID])
        gone = set(a.loc[deleted, S.REVIEW_ID])
        keep_q = ~q[S.REVIEW_ID].isin(gone)
        a, q, na = a[~deleted], q[keep_q], na[keep_q]
    orphan = ~q[S.REVIEW_ID].isin(set(a[S.REVIEW_ID]))
    if orphan.any():
        ctx.record(S.EXCLUDED_KEY, "ratings", "question score whose answer is not in answers", S.REVIEW_ID,
                   q.loc[orphan, S.REVIEW_ID].unique())
        q, na = q[~orphan], na[~orphan]
    if "_points" in q.columns and "_max" in q.columns and q["_max"].notna().all():
        rating, rmax, mode = q["_points"], q["_max"], "points"
        ctx.notes.append("ratings.rating = question points earned (score) out of max points; card mode 'points'")
    elif "_points" in q.columns and "_normalized" in q.columns and q["_normalized"].gt(0).any():
        norm = q["_normalized"] / (100.0 if q["_normalized"].max(skipna=True) > 1 else 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            implied = (q["_points"] / norm).where(norm > 0)
        per_cat = implied.groupby(q[S.CATEGORY]).median()
        rmax = q[S.CATEGORY].map(per_cat).fillna(q["_points"].groupby(q[S.CATEGORY]).transform("max"))
        rating, mode = q["_points"], "points"
        ctx.notes.append("ratings.rating = question points; max points = points / normalized_score (no max "
                         "column in the export); card mode 'points'")
    elif "_normalized" in q.columns:
        rating = q["_normalized"]
        rmax = pd.Series(1.0 if rating.max(skipna=True) <= 1 else 100.0, index=q.index)
        mode = "weighted"
        ctx.notes.append("ratings.rating = normalized_score (no max points in the export); card mode 'weighted' "
                         "with weight 1 per question -- reconcile against total_score to check this")
    elif "_points" in q.columns:
        rating, rmax, mode = q["_points"], q["_points"].groupby(q[S.CATEGORY]).transform("max"), "points"
        ctx.notes.append("ratings.rating = question points; max points taken as the highest seen per question")
    else:
        raise ParameterError(f"{ctx.path.name}: question_scores has neither score nor normalized_score")
    ctx.scoring_mode = mode
    rating = rating.where(~na)
    types = a.get("answer_type", pd.Series("grading", index=a.index)).fillna("grading").astype("str").str.casefold()
    is_cal = types.str.contains("calibrat|benchmark", regex=True)
    keep_cols = [c for c in (S.REVIEW_ID, S.CONVERSATION_ID, S.AGENT_ID, S.REVIEWER_ID, S.REVIEWED_AT,
                             S.SCORECARD_VERSION) if c in a.columns]
    r = q[[S.REVIEW_ID, S.CATEGORY] + ([SECTION] if SECTION in q.columns else [])].assign(
        **{S.RATING: rating, RATING_MIN: 0.0, RATING_MAX: rmax, WEIGHT: 1.0})
    if "_autofail" in q.columns:  # auto-fail questions: a failed one scores the review 0 (critical)
        r[CRITICAL] = _truthy(q["_autofail"], q.index)
        ctx.notes.append("auto-fail questions -> critical categories (below 50% of their points fails the review)")
    r = r.merge(a[keep_cols], on=S.REVIEW_ID, how="left", validate="many_to_one")
    cal_ids = set(a.loc[is_cal, S.REVIEW_ID])
    out = {"ratings": _drop_unattributed(r[~r[S.REVIEW_ID].isin(cal_ids)], "ratings", ctx).reset_index(drop=True),
           "reviews": _drop_unattributed(a.loc[~is_cal, keep_cols + [c for c in (S.VENDOR_SCORE, S.REVIEW_TIME_S)
                                                                     if c in a.columns]], "reviews", ctx)
           .reset_index(drop=True)}
    if S.VENDOR_SCORE in out["reviews"].columns:
        out["reviews"][S.VENDOR_SCORE] *= 100  # percent parser gives a proportion; reviews hold percent
    _drop_off_scale(out, ctx)
    if cal_ids:
        out["calibration"] = r[r[S.REVIEW_ID].isin(cal_ids)].reset_index(drop=True)
        ctx.notes.append("answer_type calibration/benchmark -> calibration table (not in IQS)")
        _drop_off_scale(out, ctx, "calibration", ())
    return out


# zendesk_support ---------------------------------------------------------------------------------
ZS_TICKET = (
    Field(S.CONVERSATION_ID, ("ticket_id", "id"), "id", True),
    Field(S.CUSTOMER_ID, ("requester_id", "requester.id", "requester_email", "Requester"), "id"),
    Field(S.AGENT_ID, ("assignee_id", "assignee.id", "assignee_email", "Assignee"), "id"),
    Field(S.CHANNEL, ("via.channel", "created_channel", "channel", "via"), "text"),
    Field(S.PRIORITY, ("priority", "ticket_priority"), "text"),
    Field(S.STATUS, ("status", "ticket_status"), "text"),
    Field(S.TEAM, ("group_id", "group_name", "group.name", "Group"), "id"),
    Field(S.CREATED_AT, ("created_at", "ticket_created_at"), "datetime", True),
    Field("_solved_at", ("solved_at", "metric_set.solved_at", "last_solved_at", "first_solved_at", "Solved at"),
          "datetime"),
    Field("_reply_cal", ("reply_time_in_minutes.calendar", "metric_set.reply_time_in_minutes.calendar",
                         "reply_time_in_minutes", "first_reply_time_calendar_minutes",
                         "First reply time in minutes"), "calendar"),
    Field("_reply_bus", ("reply_time_in_minutes.business", "metric_set.reply_time_in_minutes.business",
                         "reply_time_in_minutes", "first_reply_time_business_minutes",
                         "First reply time in minutes within business hours"), "business"),
    Field("_res_cal", ("full_resolution_time_in_minutes.calendar", "metric_set.full_resolution_time_in_minutes.calendar",
                       "full_resolution_time_in_minutes", "final_resolution_calendar_minutes",
                       "Full resolution time in minutes"), "calendar"),
    Field("_res_bus", ("full_resolution_time_in_minutes.business", "metric_set.full_resolution_time_in_minutes.business",
                       "full_resolution_time_in_minutes", "full_resolution_business_minutes",
                       "Full resolution time in minutes within business hours"), "business"),
    Field(S.AGENT_REPLIES, ("replies", "metric_set.replies", "total_agent_replies", "count_agent_replies"), "number"),
    Field(REOPENS, ("reopens", "metric_set.reopens", "count_reopens"), "number"),
    Field("_csat", ("satisfaction_rating.score", "ticket_satisfaction_score", "satisfaction_score",
                    "satisfaction_rating", "Satisfaction Score"), "text"),
    Field("_csat_at", ("satisfaction_rating.updated_at", "satisfaction_rating.created_at",
                       "ticket_satisfaction_rating_updated_at"), "datetime"),
)
#: Zendesk satisfaction ratings are good/bad: read as 5/1 on a 1-5 scale so csat_score's
#: satisfied = (4, 5) counts exactly the "good" ones (the mean of this score is not meaningful)
ZENDESK_CSAT = {"good": 5.0, "bad": 1.0}


def _timestamp(s: pd.Series, ctx: _Ctx, column: str) -> pd.Series:
    return S.parse_datetimes(s, tz=ctx.tz, column=column, problems=ctx.problems)


def _derive_at(df: pd.DataFrame, target: str, base: pd.Series, secs: pd.Series, ctx: _Ctx, why: str) -> None:
    """Fill ``target`` timestamps from ``base + secs`` where the export has no timestamp."""
    have = df[target].notna() if target in df.columns else pd.Series(False, index=df.index)
    fill = ~have & secs.notna() & base.notna()
    if target not in df.columns:
        df[target] = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns, UTC]")
    if fill.any():
        df.loc[fill, target] = base[fill] + pd.to_timedelta(secs[fill], unit="s")
        ctx.record(S.ADJUSTED_KEY, "conversations", why, target, df.loc[fill, S.CONVERSATION_ID])


def _build_zendesk_support(obj: Any, ctx: _Ctx, **_: Any) -> dict[str, pd.DataFrame]:
    tickets = _frame(obj, ("tickets",), ctx.path.name)
    metrics = _frame(obj, ("ticket_metrics", "ticket_metric_events", "metrics"), ctx.path.name) \
        if isinstance(obj, Mapping) else None
    if tickets is None and metrics is None and isinstance(obj, Mapping) and "ticket_metric" in obj:
        metrics = pd.json_normalize([obj["ticket_metric"]])
    if tickets is None and metrics is None:
        raise ParameterError(f"{ctx.path.name}: zendesk_support expects tickets and/or ticket_metrics "
                             f"(API JSON) or a zendesk__ticket_metrics table")
    if tickets is not None and metrics is not None and len(metrics):
        m = metrics.rename(columns={c: f"metric.{c}" for c in metrics.columns if c != "ticket_id"})
        raw = tickets.merge(m, left_on="id", right_on="ticket_id", how="left") if "id" in tickets.columns else tickets
        raw = raw.rename(columns={c: c[len("metric."):] for c in raw.columns
                                  if c.startswith("metric.") and c[len("metric."):] not in raw.columns})
    else:
        raw = tickets if tickets is not None else metrics
        if tickets is None:
            ctx.notes.append("ticket_metrics only: requester, channel, priority and status are not in the export")
    c = ctx.pick(raw, "conversations", ZS_TICKET)
    ctx.problems.raise_if_any()
    c[S.CREATED_AT] = _timestamp(c[S.CREATED_AT], ctx, "created_at")
    c[S.RESOLVED_AT] = _timestamp(c.pop("_solved_at"), ctx, "solved_at") if "_solved_at" in c else pd.NaT
    reply, res = c.pop("_reply_cal") if "_reply_cal" in c else None, c.pop("_res_cal") if "_res_cal" in c else None
    c[FIRST_RESPONSE_BUSINESS_S] = c.pop("_reply_bus") if "_reply_bus" in c else np.nan
    c[RESOLUTION_BUSINESS_S] = c.pop("_res_bus") if "_res_bus" in c else np.nan
    c[S.FIRST_RESPONSE_AT] = pd.Series(pd.NaT, index=c.index, dtype="datetime64[ns, UTC]")
    if reply is not None:
        _derive_at(c, S.FIRST_RESPONSE_AT, c[S.CREATED_AT], reply, ctx,
                   "first_response_at = created_at + reply_time_in_minutes.calendar")
    if res is not None:
        _derive_at(c, S.RESOLVED_AT, c[S.CREATED_AT], res, ctx,
                   "resolved_at = created_at + full_resolution_time_in_minutes.calendar (no solved_at)")
    ctx.notes.append("first_response_at/resolved_at use calendar minutes; business-hours durations are in "
                     f"{FIRST_RESPONSE_BUSINESS_S} / {RESOLUTION_BUSINESS_S}")
    c[S.CONVERSATION_ID] = _ids(c[S.CONVERSATION_ID])
    out = {}
    csat_raw = c.pop("_csat") if "_csat" in c else None
    csat_at = c.pop("_csat_at") if "_csat_at" in c else None
    c = _fill_required(c, "conversations", ctx, {S.CUSTOMER_ID: UNKNOWN, S.CHANNEL: UNKNOWN,
                                                 S.PRIORITY: UNKNOWN, S.STATUS: UNKNOWN})
    out["conversations"] = c
    if csat_raw is not None:
        t = csat_raw.astype("str").str.strip().str.casefold().where(csat_raw.notna())
        t = t.str.replace(r"_with(out)?_comment$", "", regex=True)  # good_with_comment -> good
        score = t.map(ZENDESK_CSAT).astype("float64")
        sent = t.isin({"offered", "good", "bad"})
        other = t.notna() & ~sent & ~t.isin({"unoffered", "not offered", "not_offered"})
        ctx.record(S.EXCLUDED_KEY, "surveys", "satisfaction rating not good/bad/offered/unoffered", "satisfaction_rating",
                   c.loc[other, S.CONVERSATION_ID])
        score.attrs["sent"] = sent
        sv = _surveys_from(c, score, "csat", csat_at)
        if len(sv):
            out["surveys"] = sv
            ctx.notes.append("satisfaction good -> 5, bad -> 1 (csat_score counts 'good'); offered = sent, not answered")
    return out


# freshdesk -------------------------------------------------------------------------------------
FD_TICKET = (
    Field(S.CONVERSATION_ID, ("Ticket ID", "id", "ticket_id"), "id", True),
    Field(S.CUSTOMER_ID, ("Contact ID", "requester_id", "Email", "Requester email", "Full name", "Contact"), "id"),
    Field(S.AGENT_ID, ("Agent", "responder_id", "Agent name"), "id"),
    Field(S.CHANNEL, ("Source", "source"), "text"),
    Field(S.PRIORITY, ("Priority", "priority"), "text"),
    Field(S.STATUS, ("Status", "status"), "text"),
    Field(S.TEAM, ("Group", "group_id", "Group name"), "text"),
    Field(S.CREATED_AT, ("Created time", "created_at", "Created at"), "datetime", True),
    Field(S.FIRST_RESPONSE_AT, ("Initial response time", "First responded at", "stats.first_responded_at"), "datetime"),
    Field(S.RESOLVED_AT, ("Resolved time", "stats.resolved_at", "Resolved at"), "datetime"),
    Field("_closed_at", ("Closed time", "stats.closed_at", "Closed at"), "datetime"),
    Field(FIRST_RESPONSE_BUSINESS_S, ("First response time (in hrs)", "First response time"), "hours"),
    Field(RESOLUTION_BUSINESS_S, ("Resolution time (in hrs)", "Resolution time"), "hours"),
    Field(S.AGENT_REPLIES, ("Agent interactions", "Agent Interactions"), "number"),
    Field("customer_interactions", ("Customer interactions",), "number"),
    Field("_survey", ("Survey results", "Survey Results", "Satisfaction rating", "Customer satisfaction"), "text"),
)
#: Freshdesk survey labels (classic 3-point and 5-point scales) on 1-5
FRESHDESK_SURVEY = {"extremely happy": 5.0, "very happy": 5.0, "happy": 4.0, "neutral": 3.0,
                    "unhappy": 2.0, "extremely unhappy": 1.0, "very unhappy": 1.0,
                    "awesome": 5.0, "just okay": 3.0, "not good": 1.0}


#: Freshdesk API numeric codes (tickets API; the CSV export has the labels)
FRESHDESK_CODES = {
    S.STATUS: {"2": "Open", "3": "Pending", "4": "Resolved", "5": "Closed"},
    S.PRIORITY: {"1": "Low", "2": "Medium", "3": "High", "4": "Urgent"},
    S.CHANNEL: {"1": "Email", "2": "Portal", "3": "Phone", "7": "Chat", "9": "Feedback Widget",
                "10": "Outbound Email"},
}


def _build_freshdesk(obj: Any, ctx: _Ctx, **_: Any) -> dict[str, pd.DataFrame]:
    raw = _frame(obj, ("tickets",), ctx.path.name)
    c = ctx.pick(raw, "conversations", FD_TICKET)
    ctx.problems.raise_if_any()
    for col, codes in FRESHDESK_CODES.items():
        if col in c.columns:
            key = c[col].astype("str").str.replace(r"\.0$", "", regex=True)
            coded = key.isin(codes.keys()) & c[col].notna()
            if coded.all() or (coded.any() and pd.to_numeric(c[col], errors="coerce").notna().all()):
                c[col] = key.map(codes).where(coded, c[col])
                ctx.notes.append(f"{col}: Freshdesk API codes read as labels {codes}")
    c[S.CONVERSATION_ID] = _ids(c[S.CONVERSATION_ID])
    for col in (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT, "_closed_at"):
        if col in c.columns:
            c[col] = _timestamp(c[col], ctx, col)
    closed = c.pop("_closed_at") if "_closed_at" in c else None
    if closed is not None:
        if S.RESOLVED_AT not in c.columns:
            c[S.RESOLVED_AT] = pd.Series(pd.NaT, index=c.index, dtype="datetime64[ns, UTC]")
        fill = c[S.RESOLVED_AT].isna() & closed.notna()
        c.loc[fill, S.RESOLVED_AT] = closed[fill]
        ctx.record(S.ADJUSTED_KEY, "conversations", "resolved_at from 'Closed time' (no 'Resolved time')", S.RESOLVED_AT,
                   c.loc[fill, S.CONVERSATION_ID])
    for bus, at in ((FIRST_RESPONSE_BUSINESS_S, S.FIRST_RESPONSE_AT), (RESOLUTION_BUSINESS_S, S.RESOLVED_AT)):
        if at not in c.columns:
            c[at] = pd.Series(pd.NaT, index=c.index, dtype="datetime64[ns, UTC]")
        cal = (c[at] - c[S.CREATED_AT]).dt.total_seconds()
        if bus not in c.columns:
            c[bus] = np.nan
        fill = c[bus].isna() & cal.notna()
        if fill.any():
            c.loc[fill, bus] = cal[fill]
            ctx.record(S.ADJUSTED_KEY, "conversations", f"{bus} empty: computed from timestamps (calendar time, "
                       "not business hours)", bus, c.loc[fill, S.CONVERSATION_ID])
    ctx.notes.append("Freshdesk 'First response time (in hrs)' / 'Resolution time (in hrs)' are business hours "
                     f"({FIRST_RESPONSE_BUSINESS_S} / {RESOLUTION_BUSINESS_S}); first_response_at / resolved_at "
                     "are the calendar timestamps")
    survey = c.pop("_survey") if "_survey" in c else None
    c = _fill_required(c, "conversations", ctx, {S.CUSTOMER_ID: UNKNOWN, S.CHANNEL: UNKNOWN,
                                                 S.PRIORITY: UNKNOWN, S.STATUS: UNKNOWN})
    out = {"conversations": c}
    if survey is not None:
        t = survey.str.casefold()
        score = t.map(FRESHDESK_SURVEY).astype("float64")
        num = pd.to_numeric(t, errors="coerce")
        score = score.fillna(num.where(num.between(1, 5)))
        bad = t.notna() & score.isna()
        ctx.record(S.EXCLUDED_KEY, "surveys", f"survey result not a known label {sorted(FRESHDESK_SURVEY)} "
                   "nor a number 1-5", "Survey results", c.loc[bad, S.CONVERSATION_ID])
        sv = _surveys_from(c, score, "csat")
        if len(sv):
            out["surveys"] = sv
            ctx.notes.append("Freshdesk survey labels -> CSAT 1-5 (Awesome 5, Just Okay 3, Not Good 1; "
                             "Extremely happy 5 ... Extremely unhappy 1)")
    return out


# intercom -----------------------------------------------------------------------------------------
IC_CONV = (
    Field(S.CONVERSATION_ID, ("id", "conversation_id"), "id", True),
    Field(S.CUSTOMER_ID, ("_contact", "first_contact_author_id", "contact_id", "source.author.id", "user.id"), "id"),
    Field(S.AGENT_ID, ("admin_assignee_id", "conversation_assignee_id", "assignee_id", "assignee.id",
                       "last_close_by_admin_id", "first_close_by_admin_id"), "id"),
    Field(S.TEAM, ("team_assignee_id", "team_id"), "id"),
    Field(S.CHANNEL, ("source.type", "source.delivered_as", "conversation_type", "conversation_initiated_type",
                      "source_type"), "text"),
    Field(S.PRIORITY, ("priority", "conversation_priority"), "text"),
    Field(S.STATUS, ("state", "conversation_state"), "text"),
    Field(S.CREATED_AT, ("created_at", "conversation_created_at"), "epoch", True),
    Field(S.FIRST_RESPONSE_AT, ("statistics.first_admin_reply_at", "first_admin_response_at",
                                "first_admin_reply_at"), "epoch"),
    Field(S.RESOLVED_AT, ("statistics.last_close_at", "last_close_at"), "epoch"),
    Field("_frt_min", ("time_to_first_response_minutes", "time_to_admin_first_response_minutes"), "minutes"),
    Field("_close_min", ("time_to_last_close_minutes",), "minutes"),
    Field(FIRST_RESPONSE_BUSINESS_S, ("statistics.time_to_admin_reply",), "seconds"),
    Field(RESOLUTION_BUSINESS_S, ("statistics.time_to_last_close",), "seconds"),
    Field(REOPENS, ("statistics.count_reopens", "count_reopens"), "number"),
    Field("_rating", ("conversation_rating.rating", "conversation_rating"), "number"),
    Field("_rating_at", ("conversation_rating.created_at", "conversation_rating_created_at"), "epoch"),
)


def _build_intercom(obj: Any, ctx: _Ctx, **_: Any) -> dict[str, pd.DataFrame]:
    raw = _frame(obj, ("conversations",), ctx.path.name)
    if raw is None:
        raise ParameterError(f"{ctx.path.name}: intercom expects the conversations API JSON or the "
                             "intercom__conversation_metrics table")
    for col in ("contacts.contacts", "contacts"):
        if col in raw.columns:  # API: contacts: {contacts: [{id}, ...]} -> first contact
            raw = raw.assign(_contact=raw[col].map(lambda v: v[0].get("id") if isinstance(v, list) and v else None))
            break
    c = ctx.pick(raw, "conversations", IC_CONV)
    ctx.problems.raise_if_any()
    c[S.CONVERSATION_ID] = _ids(c[S.CONVERSATION_ID])
    for col in (S.CREATED_AT, S.FIRST_RESPONSE_AT, S.RESOLVED_AT):
        if col in c.columns and not isinstance(c[col].dtype, pd.DatetimeTZDtype):
            c[col] = _timestamp(c[col], ctx, col)
    if S.FIRST_RESPONSE_AT not in c.columns:
        c[S.FIRST_RESPONSE_AT] = pd.Series(pd.NaT, index=c.index, dtype="datetime64[ns, UTC]")
    if "_frt_min" in c.columns:
        _derive_at(c, S.FIRST_RESPONSE_AT, c[S.CREATED_AT], c.pop("_frt_min"), ctx,
                   "first_response_at = created_at + time_to_first_response_minutes (calendar)")
    if S.RESOLVED_AT not in c.columns:
        c[S.RESOLVED_AT] = pd.Series(pd.NaT, index=c.index, dtype="datetime64[ns, UTC]")
    if "_close_min" in c.columns:
        _derive_at(c, S.RESOLVED_AT, c[S.CREATED_AT], c.pop("_close_min"), ctx,
                   "resolved_at = created_at + time_to_last_close_minutes (calendar)")
    if S.STATUS in c.columns:  # an open (reopened) conversation is not resolved, whatever its last close
        open_ = c[S.STATUS].astype("str").str.casefold().isin({"open", "snoozed"}) & c[S.RESOLVED_AT].notna()
        ctx.record(S.ADJUSTED_KEY, "conversations", "state open/snoozed: last close time not used as resolved_at",
                   S.RESOLVED_AT, c.loc[open_, S.CONVERSATION_ID])
        c.loc[open_, S.RESOLVED_AT] = pd.NaT
    ctx.notes.append("Intercom statistics.time_to_* exclude office-closed hours (business: "
                     f"{FIRST_RESPONSE_BUSINESS_S}); first_response_at / resolved_at are calendar timestamps")
    rating = c.pop("_rating") if "_rating" in c else None
    rating_at = c.pop("_rating_at") if "_rating_at" in c else None
    if rating_at is not None and not isinstance(rating_at.dtype, pd.DatetimeTZDtype):
        rating_at = _timestamp(rating_at, ctx, "conversation_rating.created_at")
    c = _fill_required(c, "conversations", ctx, {S.CUSTOMER_ID: UNKNOWN, S.CHANNEL: UNKNOWN,
                                                 S.PRIORITY: UNKNOWN, S.STATUS: UNKNOWN})
    out = {"conversations": c}
    if rating is not None and rating.notna().any():
        out["surveys"] = _surveys_from(c, rating, "csat", rating_at)
        ctx.notes.append("conversation_rating (1-5) -> csat surveys")
    return out


# call_log ------------------------------------------------------------------------------------------
CALL_LOG = (
    Field(S.CALL_ID, ("CALL ID", "call_id", "Call Id", "session_id"), "id", True),
    Field(S.CREATED_AT, ("TIMESTAMP", "start_time", "Call Start", "DATE TIME", "datetime"), "datetime"),
    Field("_date", ("DATE",), "text"),
    Field("_time", ("TIME",), "text"),
    Field(S.AGENT_ID, ("AGENT", "AGENT EMAIL", "AGENT NAME", "agent_id"), "id"),
    Field(S.TEAM, ("SKILL", "CAMPAIGN", "QUEUE"), "text"),
    Field(TALK_TIME_S, ("TALK TIME", "talk_time", "talk_duration", "AvgTalkDuration"), "hms"),
    Field(HOLD_TIME_S, ("HOLD TIME", "hold_time"), "hms"),
    Field(AFTER_CALL_WORK_S, ("AFTER CALL WORK TIME", "ACW TIME", "wrap_up_time", "ACW"), "hms"),
    Field(QUEUE_WAIT_S, ("QUEUE WAIT TIME", "queue_time", "SPEED OF ANSWER", "speed_of_answer_in_seconds",
                         "wait_time"), "hms"),
    Field("_abandoned", ("ABANDONED", "abandoned", "is_abandoned"), "bool"),
    Field("_answered", ("ANSWERED", "answered (Y/N)", "answered"), "bool"),
    Field(S.RESOLVED, ("RESOLVED", "resolved"), "bool"),
    Field("_disposition", ("DISPOSITION", "CALL RESULT"), "text"),
    Field("_rating", ("SatisfactionRating", "SATISFACTION", "CSAT", "satisfaction_rating"), "number"),
)


def _build_call_log(obj: Any, ctx: _Ctx, **_: Any) -> dict[str, pd.DataFrame]:
    raw = _frame(obj, ("calls",), ctx.path.name)
    c = ctx.pick(raw, "calls", CALL_LOG)
    ctx.problems.raise_if_any()
    if S.CREATED_AT not in c.columns:
        if "_date" not in c.columns:
            ctx.problems.add(S.CREATED_AT, "no TIMESTAMP (nor DATE [+ TIME]) column in the call log")
            ctx.problems.raise_if_any()
        c[S.CREATED_AT] = ctx.dates(c["_date"] + (" " + c["_time"] if "_time" in c.columns else ""), "DATE + TIME")
    c = c.drop(columns=[x for x in ("_date", "_time") if x in c.columns])
    if "_answered" in c.columns:
        an = c.pop("_answered")
        t = an.astype("str").str.strip().str.casefold().where(an.notna())
        flag = pd.Series(pd.NA, index=c.index, dtype="boolean")
        flag[t.isin(S._FALSE)] = True
        flag[t.isin(S._TRUE)] = False
        ctx.problems.add("ANSWERED", "not a yes/no value", t.notna() & flag.isna(), an)
        for x in ("_abandoned", "_disposition"):
            if x in c.columns:
                c.pop(x)
    elif "_abandoned" in c.columns:
        ab = c.pop("_abandoned")
        t = ab.astype("str").str.strip().str.casefold().where(ab.notna())
        flag = pd.Series(pd.NA, index=c.index, dtype="boolean")
        flag[t.isin(S._TRUE | {"abandoned"})] = True
        flag[t.isin(S._FALSE)] = False
        badm = t.notna() & flag.isna()
        ctx.problems.add("ABANDONED", "not a yes/no value", badm, ab)
        if "_disposition" in c.columns:
            c.pop("_disposition")
    elif "_disposition" in c.columns:
        d = c.pop("_disposition").astype("str").str.casefold()
        flag = d.str.contains("abandon", na=False).astype("boolean")
        ctx.notes.append("abandoned = DISPOSITION contains 'abandon' (no ABANDONED column)")
    else:
        ctx.problems.add("ABANDONED", "call log has neither ABANDONED nor DISPOSITION: answered calls unknown")
        ctx.problems.raise_if_any()
        flag = None
    c[S.ANSWERED] = ~flag
    parts = [p for p in (TALK_TIME_S, HOLD_TIME_S, AFTER_CALL_WORK_S) if p in c.columns]
    if parts:
        answered = c[S.ANSWERED].fillna(False).astype(bool)
        c[S.HANDLE_TIME_S] = c[parts].sum(axis=1, min_count=1).where(answered)
        partial = answered & c[parts].isna().any(axis=1) & c[parts].notna().any(axis=1)
        ctx.record(S.ADJUSTED_KEY, "calls", "handle_time_s with an empty part (talk, hold or after-call work) "
                   "counted as 0", S.HANDLE_TIME_S, c.loc[partial, S.CALL_ID])
        gone = [x for x in (TALK_TIME_S, HOLD_TIME_S, AFTER_CALL_WORK_S) if x not in parts]
        ctx.notes.append(f"handle_time_s (AHT) = {' + '.join(parts)} of answered calls (AHT = talk + hold + "
                         f"after-call work{'; not in the export: ' + ', '.join(gone) if gone else ''})")
    if QUEUE_WAIT_S in c.columns:
        c[S.SPEED_OF_ANSWER_S] = c[QUEUE_WAIT_S].where(c[S.ANSWERED].fillna(False).astype(bool))
        ctx.notes.append("speed_of_answer_s = QUEUE WAIT TIME of answered calls")
    c[S.CALL_ID] = _ids(c[S.CALL_ID])
    out = {"calls": c}
    rating = c.pop("_rating") if "_rating" in c.columns else None
    if rating is not None and rating.notna().any():
        sv = pd.DataFrame({S.CONVERSATION_ID: c[S.CALL_ID], S.KIND: "csat", S.SCORE: rating,
                           S.ANSWERED_AT: pd.NaT, S.AGENT_ID: c.get(S.AGENT_ID)})
        out["surveys"] = sv[rating.notna()].reset_index(drop=True)
        ctx.notes.append("post-call satisfaction -> csat surveys keyed by call_id (conversation_id = call_id)")
    return out


# call_centre_daily --------------------------------------------------------------------------------
DAILY = (
    Field(S.DATE, ("Date", "Day", "Report Date", "date", "Interval Start", "Period", "Datum", "Fecha"), "datetime"),
    Field(DAY_NUMBER, ("Index", "Day number", "Day No", "Day #", "Day index", "day_of_period", "Tag"), "number"),
    Field(S.QUEUE, ("Queue", "Skill", "Split", "Campaign", "Queue Name", "Service", "Split/Skill"), "text"),
    Field(S.OFFERED, ("Offered", "Calls Offered", "Incoming Calls", "Total Calls", "Inbound Calls",
                      "Calls Received", "re:^(calls_)?offered"), "number", True),
    Field(S.ANSWERED, ("Answered", "Calls Answered", "Handled", "Calls Handled", "Answered Calls", "ACD Calls",
                       "re:^(calls_)?answered$"), "number"),
    Field(S.ABANDONED, ("Abandoned", "Calls Abandoned", "Abandoned Calls", "Aban Calls",
                        "re:^(calls_)?abandoned$"), "number"),
    Field(S.ANSWERED_WITHIN, ("Answered within SL", "Answered Within Threshold", "Calls Answered Within SL",
                              "re:^(calls_)?(answered|ans)_(with)?in_"), "number"),
    Field(S.ASA_S, ("ASA", "Average Speed of Answer", "Avg Speed of Answer", "Avg Speed Ans", "ASA (sec)", "ASA (s)",
                    "Answer Speed (AVG)", "Avg Answer Speed",
                    "re:^(avg_|average_)?speed_of_answer"), "hms"),
    Field(SERVICE_LEVEL_REPORTED, ("Service Level", "SL", "Service Level %", "SL %", "% Within Service Level",
                                   "re:^service_level", "re:^(pct_)?within_(service_level|sl)$"), "percent"),
    Field(S.HANDLE_TIME_S, ("Average Handle Time", "AHT", "Avg Handle Time", "Average Handling Time",
                            "re:^(avg_|average_)?handle_time", "re:^aht"), "hms"),
    Field(TALK_TIME_S, ("Talk Duration (AVG)", "Avg Talk Time", "Average Talk Time", "re:^(avg_|average_)?talk_(time|duration)",
                        "re:^talk_duration_avg"), "hms"),
    Field(ABANDONMENT_REPORTED, ("Abandon Rate", "Abandonment Rate", "Abandon %", "Abandoned %",
                                 "re:^abandon(ment)?_(rate|pct|percent)"), "percent"),
)


_DAY_NUMBER_TEXT = re.compile(r"^\s*\d{1,4}(\.0+)?\s*$")


def _daily_fields(raw: pd.DataFrame, ctx: _Ctx) -> tuple[Field, ...]:
    """DAILY, with a 'date' column that only holds day numbers (``Day``: 1, 2, 3) read as day numbers."""
    fields = _mapped(DAILY, ctx.mapping)
    keys = _lookup(raw.columns, "calls_daily")
    date_src = _find(keys, fields[0].names, raw.columns)
    if date_src is None:
        return DAILY
    v = raw[date_src]
    present = v.dropna()
    if len(present) and (pd.api.types.is_integer_dtype(v.dtype) or present.astype("str").str.match(_DAY_NUMBER_TEXT).all()):
        return (Field(S.DATE, ("=<none>",), "datetime"), Field(DAY_NUMBER, (f"={date_src}",), "number")) + DAILY[2:]
    return DAILY


def _daily_dates(d: pd.DataFrame, raw: pd.DataFrame, ctx: _Ctx) -> None:
    """A date for every row: the file's dates, or ``start`` + day number; else a ParameterError
    saying exactly which argument to pass."""
    if S.DATE in d.columns:
        d.pop(DAY_NUMBER) if DAY_NUMBER in d.columns else None
        return
    names = [n for n in DAILY[0].names if not n.startswith(("re:", "="))]
    if DAY_NUMBER not in d.columns:
        raise ParameterError(
            f"{ctx.path.name}: no date column (looked for {names}) and no day-number column (looked for "
            f"{list(DAILY[1].names)}); columns: {[str(c) for c in raw.columns][:30]}. Pass "
            "mapping={'<the date column>': 'date'}, or mapping={'<the day-number column>': 'day_number'} "
            "with start='YYYY-MM-DD'")
    day = d[DAY_NUMBER]
    src = ctx.unmapped  # noqa: F841  (kept for symmetry with other presets)
    whole = day.notna() & (day == np.floor(day))
    ctx.problems.add(DAY_NUMBER, "not a whole day number", day.notna() & ~whole, day)
    ctx.problems.add(DAY_NUMBER, "empty day number (no date for this row)", day.isna(), day)
    ctx.problems.raise_if_any()
    first, last = int(day.min()), int(day.max())
    if ctx.start is None:
        raise ParameterError(
            f"{ctx.path.name}: no date column (looked for {names}); the rows are numbered by day "
            f"({first}..{last} in the day-number column). Pass start='YYYY-MM-DD', the date of day {first} "
            f"(e.g. read_export(..., preset='call_centre_daily', start='2026-11-01')), or "
            "mapping={'<the date column>': 'date'} if the file has dates under another name")
    local = (ctx.start + pd.to_timedelta(day - first, unit="D"))
    local = local.dt.tz_localize(ctx.tz) if local.dt.tz is None else local.dt.tz_convert(ctx.tz)
    d[S.DATE] = local.dt.tz_convert("UTC")
    ctx.notes.append(f"calls_daily.date = start ({ctx.start:%Y-%m-%d}) + (day number - {first}) days: the file "
                     "numbers its days instead of dating them")


def _build_call_centre_daily(obj: Any, ctx: _Ctx, **_: Any) -> dict[str, pd.DataFrame]:
    raw = _frame(obj, ("calls_daily", "days"), ctx.path.name)
    d = ctx.pick(raw, "calls_daily", _daily_fields(raw, ctx))
    if S.OFFERED not in d.columns:
        ctx.problems.raise_if_any()
    _daily_dates(d, raw, ctx)
    ctx.problems.raise_if_any()
    rid = d[S.DATE].dt.strftime("%Y-%m-%d").astype("str")
    if S.QUEUE in d.columns:
        rid = rid + " / " + d[S.QUEUE].fillna("all").astype("str")
    if S.QUEUE not in d.columns:
        d[S.QUEUE] = "all"
        ctx.notes.append("no queue column: every row is queue 'all'")
    d[S.QUEUE] = d[S.QUEUE].fillna("all")
    if S.ABANDONED not in d.columns and S.ANSWERED in d.columns:
        d[S.ABANDONED] = d[S.OFFERED] - d[S.ANSWERED]
        ctx.notes.append("abandoned = offered - answered (no abandoned column)")
    elif S.ANSWERED not in d.columns and S.ABANDONED in d.columns:
        d[S.ANSWERED] = d[S.OFFERED] - d[S.ABANDONED]
        ctx.notes.append("answered = offered - abandoned (no answered column)")
    for col in (S.ANSWERED, S.ABANDONED):
        if col not in d.columns:
            d[col] = np.nan
    if SERVICE_LEVEL_REPORTED in d.columns:
        if S.ANSWERED_WITHIN not in d.columns:
            d[S.ANSWERED_WITHIN] = np.nan
        fill = d[S.ANSWERED_WITHIN].isna() & d[SERVICE_LEVEL_REPORTED].notna()
        sl = d[SERVICE_LEVEL_REPORTED]
        # over offered or over answered calls? A level whose count over offered calls exceeds the calls
        # answered is impossible that way: the file's service level is then over answered calls
        proof = fill & (sl * d[S.OFFERED] > d[S.ANSWERED] + 0.5)
        over = S.ANSWERED if proof.any() else S.OFFERED
        d.loc[fill, S.ANSWERED_WITHIN] = sl[fill] * d.loc[fill, over]
        why = (f"the file's service level is over answered calls (over offered calls it would exceed the calls "
               f"answered on {', '.join(rid[proof].head(3))})" if proof.any() else
               "assumes the file's service level is over offered calls (no day shows otherwise)")
        ctx.record(S.ADJUSTED_KEY, "calls_daily", f"answered_within = reported service level x {over} (no count in "
                   f"the export; {why})", S.ANSWERED_WITHIN, rid[fill])
        ctx.notes.append(f"answered_within = reported service level x {over}: {why}")
    # impossible counts (answered + abandoned > offered, answered within > answered) are refused by
    # the calls_daily contract (qakit.schema), rows named date / queue
    return {"calls_daily": d}


# event_log -----------------------------------------------------------------------------------------
EVENT_LOG = (
    Field(ev.CASE_ID, ("Case ID", "case:concept:name", "case_id", "CaseID", "Case", "caseid", "Ticket ID", "ticket_id",
                       "Incident ID", "documentkey", "Number"), "id", True),
    Field(ev.ACTIVITY, ("Activity", "concept:name", "activity", "Activity Name", "Event", "event_name", "Event Name",
                        "Status", "status", "newvalue"), "text", True),
    Field(ev.TIMESTAMP, ("Complete Timestamp", "time:timestamp", "timestamp", "Timestamp", "Event Time", "event_time",
                         "time", "created_at", "sys_created_on", "Start Timestamp", "Date"), "datetime", True),
    Field(ev.RESOURCE, ("Resource", "org:resource", "resource", "user", "User", "author_id", "sys_created_by", "Agent",
                        "performed_by"), "id"),
    Field("_lifecycle", ("lifecycle:transition", "Lifecycle", "lifecycle"), "text"),
    Field(ev.ROLE, ("role",), "text"),
    Field(S.CUSTOMER_ID, ("customer_id", "customer", "case:customer", "Customer", "requester_id", "caller_id",
                          "requester"), "id"),
    Field(S.PRIORITY, ("priority", "case:priority", "Priority", "seriousness", "case:seriousness", "urgency"), "text"),
    Field(S.CHANNEL, ("channel", "case:channel", "Channel", "contact_type", "via", "source"), "text"),
    Field(S.TEAM, ("workgroup", "case:workgroup", "responsible_section", "support_section", "assignment_group",
                   "Group", "group", "team"), "text"),
    Field(S.AGENT_ID, ("assignee", "assigned_to", "case:assignee", "agent_id"), "id"),
)
#: Zendesk ticket statuses -> event roles (pending and on-hold pause the SLA clock of agent work time)
ZENDESK_STATUS_ROLES = {"new": "create", "open": "work", "pending": "hold", "hold": "hold", "on-hold": "hold",
                        "solved": "resolve", "closed": "close"}


def _read_xes(path: Path) -> pd.DataFrame:
    """An XES event log (IEEE 1849-2016) as one row per event: the trace's attributes as
    ``case:<key>`` columns and the event's attributes under their keys, values as text."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    rows, case, in_event, ev_attrs = [], {}, False, {}
    try:
        with opener(path, "rb") as fh:
            for kind, el in ET.iterparse(fh, events=("start", "end")):
                tag = el.tag.rsplit("}", 1)[-1]
                if kind == "start":
                    if tag == "trace":
                        case = {}
                    elif tag == "event":
                        in_event, ev_attrs = True, {}
                    continue
                if tag in ("string", "date", "int", "float", "boolean", "id") and el.get("key") is not None:
                    (ev_attrs if in_event else case)[el.get("key") if in_event else f"case:{el.get('key')}"] = el.get("value")
                elif tag == "event":
                    rows.append({**case, **ev_attrs})
                    in_event = False
                    el.clear()
                elif tag == "trace":
                    el.clear()
    except (ET.ParseError, OSError, EOFError) as e:
        raise ParameterError(f"{path.name}: not a readable XES event log ({str(e).splitlines()[0]})") from None
    if not rows:
        raise ParameterError(f"{path.name}: XES log without events")
    return pd.DataFrame(rows).astype("str").where(pd.DataFrame(rows).notna())


def _zendesk_audit_events(audits: list, ctx: _Ctx) -> pd.DataFrame:
    """Zendesk ticket audits (``{audits: [{ticket_id, created_at, author_id, via, events: [...]}]}``)
    as events: status changes (roles from :data:`ZENDESK_STATUS_ROLES`) and public comments by
    anyone but the requester (role ``first_response``, not a state change: a reply keeps the
    ticket's status, Zendesk's first reply time)."""
    rows = []
    requester: dict[str, Any] = {}
    for a in audits:
        tid = str(a.get("ticket_id"))
        for e in a.get("events") or []:
            if e.get("field_name") == "requester_id" and e.get("value") is not None:
                requester.setdefault(tid, str(e.get("value")))
    for a in audits:
        tid, at, author = str(a.get("ticket_id")), a.get("created_at"), a.get("author_id")
        channel = (a.get("via") or {}).get("channel") if isinstance(a.get("via"), Mapping) else None
        base = {ev.CASE_ID: tid, ev.TIMESTAMP: at, ev.RESOURCE: None if author is None else str(author)}
        attrs = {S.CHANNEL: channel}
        for e in a.get("events") or []:
            kind, field, value = e.get("type"), e.get("field_name"), e.get("value")
            who = e.get("author_id", author)
            if kind in ("Create", "Change") and field == "status" and value is not None:
                role = ZENDESK_STATUS_ROLES.get(str(value).casefold(), "work")
                rows.append({**base, **attrs, ev.ACTIVITY: f"status: {value}", ev.ROLE: role, ev.STATE_CHANGE: True})
            elif kind in ("Create", "Change") and field in ("priority", "group_id", "assignee_id") and value is not None:
                col = {"priority": S.PRIORITY, "group_id": S.TEAM, "assignee_id": S.AGENT_ID}[field]
                rows.append({**base, **attrs, ev.ACTIVITY: f"{field}: {value}", ev.ROLE: "note", ev.STATE_CHANGE: False,
                             col: str(value)})
            elif kind in ("Comment", "VoiceComment") and e.get("public", True):
                by_requester = who is not None and str(who) == requester.get(tid)
                rows.append({**base, **attrs, ev.RESOURCE: None if who is None else str(who),
                             ev.ACTIVITY: "customer comment" if by_requester else "public reply",
                             ev.ROLE: "note" if by_requester else "first_response", ev.STATE_CHANGE: False})
    if not rows:
        raise ParameterError(f"{ctx.path.name}: the ticket audits hold no status change or public comment")
    out = pd.DataFrame(rows)
    out[S.CUSTOMER_ID] = out[ev.CASE_ID].map(requester)
    ctx.notes.append("Zendesk audits: status new -> created, pending / on-hold -> on hold (the SLA clock of agent "
                     "work time pauses), solved -> resolved, closed -> closed; first_response_at = first public "
                     "comment by anyone but the requester (Zendesk's first reply time)")
    return out


def _build_event_log(obj: Any, ctx: _Ctx, **_: Any) -> dict[str, pd.DataFrame]:
    audits = None
    if isinstance(obj, Mapping) and not isinstance(obj, pd.DataFrame):
        audits = next((obj[k] for k in obj if normalise_header(k) in ("audits", "ticket_audits")), None)
    elif isinstance(obj, list) and obj and isinstance(obj[0], Mapping) and "events" in obj[0] and "ticket_id" in obj[0]:
        audits = obj
    if audits is not None:
        raw = _zendesk_audit_events(audits, ctx)
    else:
        raw = _frame(obj, ("events", "data"), ctx.path.name)
    e = ctx.pick(raw, "events", EVENT_LOG)
    ctx.problems.raise_if_any()
    for col in (ev.ROLE, ev.STATE_CHANGE):
        if col in raw.columns and col not in e.columns:
            e[col] = raw[col]
    if ctx.activities and ev.ROLE in e.columns:  # activities= overrides the roles a reader set too
        e[ev.ROLE] = e[ev.ACTIVITY].astype("str").map(ctx.activities).fillna(e[ev.ROLE])
    if "_lifecycle" in e.columns:  # XES: only completed events (start / schedule events are not the activity done)
        lc = e.pop("_lifecycle").astype("str").str.casefold()
        other = e.index[lc.notna() & lc.ne("complete") & lc.ne("nan")]
        if len(other):
            ctx.record(S.EXCLUDED_KEY, "conversations", "event whose lifecycle:transition is not 'complete' "
                       "(start, schedule ...): left out", "lifecycle:transition", e.loc[other, ev.CASE_ID])
            e = e.drop(index=other)
    ts = e[ev.TIMESTAMP]
    if not isinstance(ts.dtype, pd.DatetimeTZDtype):
        e[ev.TIMESTAMP] = _timestamp(ts, ctx, ev.TIMESTAMP)
    ctx.problems.raise_if_any()
    if ev.ROLE in e.columns and e[ev.ROLE].notna().any():  # roles the reader set (Zendesk audits)
        given = e[e[ev.ROLE].notna()].groupby([ev.ACTIVITY, ev.ROLE], sort=False).size().rename(S.N).reset_index()
        rest = activity_roles(e[e[ev.ROLE].isna()], roles=ctx.activities) if e[ev.ROLE].isna().any() else None
        roles_table = pd.concat([given, rest], ignore_index=True).sort_values(S.N, ascending=False, kind="stable")
    else:
        roles_table = activity_roles(e, roles=ctx.activities)
    unknown = sorted(set(ctx.activities) - set(e[ev.ACTIVITY].astype("str")))
    if unknown:
        raise ParameterError(f"{ctx.path.name}: activities= names {unknown}, which the log does not have; its "
                             f"activities: {roles_table[ev.ACTIVITY].tolist()[:30]}")
    shown = ", ".join(f"{a!r} -> {r} ({n})" for a, r, n in roles_table[[ev.ACTIVITY, ev.ROLE, S.N]]
                      .head(30).itertuples(index=False))
    ctx.notes.append(f"activity roles (override with activities={{activity: role}}): {shown}")
    if ev.ROLE not in e.columns or e[ev.ROLE].isna().all():
        ctx.notes.append("first_response_at = first event with role first_response; resolved_at = the last time the "
                         "case was resolved or closed and stayed so; contacts = times resolved (a case resolved "
                         "twice is not first-contact resolved); on_hold_s = time on hold before the resolution")
    conv = conversations_from_events(e, roles=ctx.activities)
    for r in S.exclusions(conv).itertuples(index=False):
        ctx.record(S.EXCLUDED_KEY, "conversations", r.reason, r.column, r.row_ids)
    conv = conv.copy()
    conv.attrs = {}
    return {"conversations": _fill_required(conv, "conversations", ctx, {})}


# incident -------------------------------------------------------------------------------------------
INCIDENT = (
    Field(S.CONVERSATION_ID, ("number", "Number", "Incident", "incident_number", "Incident Number"), "id", True),
    Field(S.CREATED_AT, ("opened_at", "Opened", "opened", "sys_created_at", "sys_created_on", "Created"), "datetime", True),
    Field(S.RESOLVED_AT, ("resolved_at", "Resolved", "resolved"), "datetime"),
    Field("_closed_at", ("closed_at", "Closed", "closed"), "datetime"),
    Field(S.PRIORITY, ("priority", "Priority"), "text"),
    Field("_state", ("incident_state", "state", "State", "Incident state"), "text"),
    Field(S.TEAM, ("assignment_group", "Assignment group", "Assignment Group"), "text"),
    Field(S.AGENT_ID, ("assigned_to", "Assigned to", "Assigned To", "resolved_by"), "id"),
    Field(S.CUSTOMER_ID, ("caller_id", "Caller", "caller", "opened_by"), "id"),
    Field(S.CHANNEL, ("contact_type", "Contact type", "Channel", "channel"), "text"),
    Field(REASSIGNMENTS, ("reassignment_count", "Reassignment count"), "number"),
    Field(REOPENS, ("reopen_count", "Reopen count"), "number"),
    Field(MADE_SLA, ("made_sla", "Made SLA", "Made sla"), "text"),
    Field("_updated_at", ("sys_updated_at", "sys_updated_on", "Updated"), "datetime"),
    Field("_mod_count", ("sys_mod_count", "Updates", "Mod count"), "number"),
    Field("category", ("category", "Category"), "text"),
    Field(BUSINESS_DURATION_S, ("business_duration", "Business duration"), "text"),
)
#: ServiceNow incident state codes (Table API) -> labels
SERVICENOW_STATES = {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed", "8": "Canceled"}
_WORDS_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(day|hour|minute|second)s?", re.I)


def _words_seconds(t: pd.Series, ctx: _Ctx, column: str) -> pd.Series:
    """ServiceNow duration text (``"25 Days 21 Hours 1 Minute"``), plain seconds or a date-offset
    (``1970-01-02 03:00:00``, how the Table API gives durations) -> seconds."""
    t = _text(t)
    num = _number(t)
    out = num.copy()
    rest = t.notna() & num.isna()
    if rest.any():
        epoch = pd.to_datetime(t[rest], format="%Y-%m-%d %H:%M:%S", errors="coerce")
        base = pd.Timestamp("1970-01-01")
        out[rest] = (epoch - base).dt.total_seconds()
        words = rest & out.isna()
        unit = {"day": 86400, "hour": 3600, "minute": 60, "second": 1}
        out[words] = t[words].map(lambda v: sum(float(n) * unit[u.casefold()] for n, u in _WORDS_DURATION.findall(v))
                                  if _WORDS_DURATION.search(v) else np.nan)
    ctx.problems.add(column, "not a duration (seconds, 'N Days N Hours N Minutes' or 1970-01-01 offset)",
                     t.notna() & out.isna(), t)
    return out


def _build_incident(obj: Any, ctx: _Ctx, **_: Any) -> dict[str, pd.DataFrame]:
    raw = _frame(obj, ("result", "incidents", "records"), ctx.path.name)
    r = ctx.pick(raw, "conversations", INCIDENT)
    ctx.problems.raise_if_any()
    r[S.CONVERSATION_ID] = _ids(r[S.CONVERSATION_ID])
    for col in (S.CREATED_AT, S.RESOLVED_AT, "_closed_at", "_updated_at"):
        if col in r.columns and not isinstance(r[col].dtype, pd.DatetimeTZDtype):
            r[col] = _timestamp(r[col], ctx, col)
    if BUSINESS_DURATION_S in r.columns:
        r[BUSINESS_DURATION_S] = _words_seconds(r[BUSINESS_DURATION_S], ctx, "business_duration")
    ctx.problems.raise_if_any()
    if "_state" in r.columns:
        st = r["_state"].astype("str")
        if st[r["_state"].notna()].isin(SERVICENOW_STATES).all():
            r["_state"] = st.map(SERVICENOW_STATES).where(r["_state"].notna())
            ctx.notes.append(f"state: ServiceNow codes read as labels {SERVICENOW_STATES}")
    order = [c for c in ("_mod_count", "_updated_at") if c in r.columns]
    r = r.assign(_row=np.arange(len(r))).sort_values([S.CONVERSATION_ID] + order + ["_row"], kind="stable")
    history = r[S.CONVERSATION_ID].duplicated(keep=False).any()
    last = r.drop_duplicates(S.CONVERSATION_ID, keep="last").set_index(S.CONVERSATION_ID)
    if history:
        ctx.notes.append("several rows per incident (an update log): the last row (highest sys_mod_count, then "
                         "sys_updated_at) is the incident; the state history gives the time on hold")
    c = last.reset_index()
    hold = pd.Series(np.nan, index=c.index)
    derived_reopens = None
    if "_state" in r.columns:
        when = r["_updated_at"] if "_updated_at" in r.columns else r[S.CREATED_AT]
        evs = pd.DataFrame({ev.CASE_ID: r[S.CONVERSATION_ID], ev.ACTIVITY: r["_state"].fillna("(no state)"),
                            ev.TIMESTAMP: when}).dropna(subset=[ev.TIMESTAMP])
        numeric = evs[ev.ACTIVITY].str.fullmatch(r"-?\d+")
        roles = {a: "note" for a in evs.loc[numeric, ev.ACTIVITY].unique()}
        roles.update(ctx.activities)
        if len(evs):
            d = conversations_from_events(evs, roles=roles).set_index(S.CONVERSATION_ID)
            if history:
                hold = c[S.CONVERSATION_ID].map(d[ev.ON_HOLD_S])
                derived_reopens = c[S.CONVERSATION_ID].map(d[REOPENS])
    c[ev.ON_HOLD_S] = hold.to_numpy()
    if not history:
        ctx.notes.append("one row per incident: no state history, so on_hold_s is unknown (NaN) and SLA checks "
                         "measure calendar time")
    if "_closed_at" in c.columns:
        closed = c.pop("_closed_at")
        fill = c[S.RESOLVED_AT].isna() & closed.notna() if S.RESOLVED_AT in c.columns else closed.notna()
        if S.RESOLVED_AT not in c.columns:
            c[S.RESOLVED_AT] = pd.Series(pd.NaT, index=c.index, dtype="datetime64[ns, UTC]")
        c.loc[fill, S.RESOLVED_AT] = closed[fill]
        ctx.record(S.ADJUSTED_KEY, "conversations", "resolved_at from closed_at (no resolved_at)", S.RESOLVED_AT,
                   c.loc[fill, S.CONVERSATION_ID])
    if S.RESOLVED_AT not in c.columns:
        c[S.RESOLVED_AT] = pd.Series(pd.NaT, index=c.index, dtype="datetime64[ns, UTC]")
    state = c.pop("_state") if "_state" in c.columns else None
    if state is not None:
        done = state.astype("str").str.casefold().str.contains(r"resolv|clos|cancel", regex=True).fillna(False)
        c[S.STATUS] = state.fillna(UNKNOWN)
        reopened = ~done & c[S.RESOLVED_AT].notna()
        ctx.record(S.ADJUSTED_KEY, "conversations", "state not resolved/closed (reopened): resolved_at not used",
                   S.RESOLVED_AT, c.loc[reopened, S.CONVERSATION_ID])
        c.loc[reopened, S.RESOLVED_AT] = pd.NaT
    c[ev.RESOLUTION_TIME_SLA_S] = ((c[S.RESOLVED_AT] - c[S.CREATED_AT]).dt.total_seconds() - c[ev.ON_HOLD_S])
    c[S.FIRST_RESPONSE_AT] = pd.Series(pd.NaT, index=c.index, dtype="datetime64[ns, UTC]")  # not in the export
    if REOPENS in c.columns and derived_reopens is not None:
        differ = derived_reopens.notna() & c[REOPENS].notna() & (derived_reopens < c[REOPENS])
        ctx.record(S.ADJUSTED_KEY, "conversations", "reopen_count is higher than the reopens the state history "
                   "shows (kept the tool's count)", REOPENS, c.loc[differ, S.CONVERSATION_ID])
    if REOPENS in c.columns:  # a reopened incident was resolved more than once: not first-contact resolved
        c[S.CONTACTS] = (1 + c[REOPENS].fillna(0)).where(c[S.RESOLVED_AT].notna())
    if S.PRIORITY in c.columns:
        key = ev.priority_key(c[S.PRIORITY]).where(c[S.PRIORITY].notna())
        changed = key.notna() & key.ne(c[S.PRIORITY].astype("str").str.strip())
        if changed.any():
            pairs = sorted({(a, b) for a, b in zip(c.loc[changed, S.PRIORITY], key[changed])})[:6]
            ctx.notes.append(f"priority labels read without their code: {', '.join(f'{a!r} -> {b!r}' for a, b in pairs)}")
        c[S.PRIORITY] = key
    c = c.drop(columns=[x for x in ("_updated_at", "_mod_count", "_row") if x in c.columns])
    if MADE_SLA in c.columns:
        ctx.notes.append("made_sla is the tool's own SLA verdict: qakit.reconcile_sla(t['conversations'], "
                         "targets={...}) recomputes it and lists the incidents where it disagrees")
    return {"conversations": _fill_required(c.reset_index(drop=True), "conversations", ctx,
                                            {S.CUSTOMER_ID: UNKNOWN, S.CHANNEL: UNKNOWN, S.PRIORITY: UNKNOWN,
                                             S.STATUS: UNKNOWN})}


# queue_log -------------------------------------------------------------------------------------------
QUEUE_CALLS = (
    Field(S.CALL_ID, ("ContactId", "Contact Id", "call_id", "Call ID", "callid", "Interaction ID", "uniqueid",
                      "session_id"), "id", True),
    Field(S.QUEUE, ("Queue.Name", "queue", "Queue", "queuename", "Queue Name", "skill"), "text"),
    Field("_entry", ("Queue.EnqueueTimestamp", "enqueue_time", "entered_queue_at", "queue_entry", "Queue Start",
                     "queue_start", "Enqueue Time", "InitiationTimestamp", "start_time"), "datetime", True),
    Field("_exit", ("Queue.DequeueTimestamp", "dequeue_time", "left_queue_at", "queue_exit", "Queue End",
                    "queue_end", "Dequeue Time"), "datetime"),
    Field("_start", ("Agent.ConnectedToAgentTimestamp", "answered_at", "service_start", "Answer Time",
                     "connected_at", "answer_time"), "datetime"),
    Field("_end", ("Agent.AfterContactWorkStartTimestamp", "DisconnectTimestamp", "service_end", "ended_at",
                   "End Time", "end_time", "disconnected_at"), "datetime"),
    Field(S.AGENT_ID, ("Agent.Username", "agent", "Agent", "agent_id", "Agent Name"), "id"),
    Field("_outcome", ("outcome", "Outcome", "disposition", "Disposition", "Result", "DisconnectReason",
                       "call_result"), "text"),
    Field(AFTER_CALL_WORK_S, ("Agent.AfterContactWorkDuration", "acw_s", "after_call_work_s", "ACW",
                              "wrap_up_time"), "hms"),
    Field(HOLD_TIME_S, ("Agent.CustomerHoldDuration", "hold_s", "hold_time_s", "Hold Time"), "hms"),
)
#: Asterisk queue_log columns (https://docs.asterisk.org/Operation/Logging/Queue-Logs/)
ASTERISK_COLUMNS = ["time", "callid", "queuename", "agent", "event", "data1", "data2", "data3", "data4", "data5"]
ASTERISK_EVENTS = {"ENTERQUEUE", "CONNECT", "COMPLETEAGENT", "COMPLETECALLER", "ABANDON", "EXITWITHTIMEOUT",
                   "EXITEMPTY", "EXITWITHKEY", "TRANSFER", "RINGNOANSWER", "BLINDTRANSFER", "ATTENDEDTRANSFER"}
NOT_ABANDONED = NOT_ABANDONED_OUTCOMES


def _asterisk_frame(raw: pd.DataFrame) -> pd.DataFrame | None:
    """The Asterisk queue_log as a frame with :data:`ASTERISK_COLUMNS`, or None when ``raw`` is not one
    (a headerless ``queue_log`` file has its first line read as the header: it is put back)."""
    cols = [str(c) for c in raw.columns]
    keys = {normalise_header(c) for c in cols}
    if {"callid", "event", "queuename"} <= keys:
        out = raw.rename(columns={c: normalise_header(c) for c in raw.columns})
        return out.reindex(columns=ASTERISK_COLUMNS)
    if len(cols) >= 5 and cols[4].upper() in ASTERISK_EVENTS:
        body = pd.concat([pd.DataFrame([cols], columns=raw.columns), raw], ignore_index=True)
        body.columns = ASTERISK_COLUMNS[: body.shape[1]] + [f"data{i}" for i in range(6, body.shape[1] + 2)][
            : max(0, body.shape[1] - len(ASTERISK_COLUMNS))]
        return body.reindex(columns=ASTERISK_COLUMNS)
    return None


def _calls_from_asterisk(q: pd.DataFrame, ctx: _Ctx) -> pd.DataFrame:
    """One row per call from Asterisk queue_log events: ENTERQUEUE (queue entry), CONNECT (answered:
    data1 = holdtime, the queue wait), COMPLETEAGENT / COMPLETECALLER / TRANSFER (talk time =
    data2, data4 for TRANSFER), ABANDON (caller hung up: data3 = waittime), EXITWITHTIMEOUT /
    EXITEMPTY / EXITWITHKEY (left unanswered, not abandoned by the caller)."""
    q = q.copy()
    q["event"] = q["event"].astype("str").str.strip().str.upper()
    q["callid"] = _ids(q["callid"])
    t = _text(q["time"])
    num = _number(t)
    when = pd.Series(pd.NaT, index=q.index, dtype="datetime64[ns, UTC]")
    isnum = num.notna()
    when[isnum] = pd.to_datetime(num[isnum] * 1e9, unit="ns", utc=True)
    if (~isnum & t.notna()).any():
        when[~isnum & t.notna()] = ctx.dates(t[~isnum & t.notna()], "time")
    q["_t"] = when
    q = q[q["callid"].notna() & ~q["callid"].isin({"NONE", "REALTIME", "nan"})]
    call_events = q[q["event"].isin(ASTERISK_EVENTS)]
    if call_events.empty:
        raise ParameterError(f"{ctx.path.name}: the queue_log has no call events ({sorted(ASTERISK_EVENTS)[:6]} ...)")
    d = {k: pd.to_numeric(call_events[k], errors="coerce") for k in ("data1", "data2", "data3", "data4")}
    ev_ = call_events.assign(**{f"_{k}": v for k, v in d.items()})
    by = ev_.groupby("callid", sort=False)
    first = lambda name, col: ev_[ev_["event"].eq(name)].groupby("callid")[col].first()  # noqa: E731
    entry = first("ENTERQUEUE", "_t")
    calls = pd.DataFrame(index=pd.Index(pd.unique(ev_["callid"]), name=S.CALL_ID))
    calls[S.CREATED_AT] = entry.reindex(calls.index)
    start_guess = by["_t"].min()
    no_entry = calls[S.CREATED_AT].isna()
    if no_entry.any():
        ctx.record(S.ADJUSTED_KEY, "calls", "no ENTERQUEUE event: queue entry = the call's first event", S.CREATED_AT,
                   calls.index[no_entry])
        calls.loc[no_entry, S.CREATED_AT] = start_guess[calls.index[no_entry]]
    calls[S.QUEUE] = by["queuename"].first().reindex(calls.index)
    connect = ev_[ev_["event"].eq("CONNECT")].groupby("callid").first()
    calls[S.ANSWERED] = calls.index.isin(connect.index)
    calls[S.AGENT_ID] = connect["agent"].reindex(calls.index)
    calls[S.SPEED_OF_ANSWER_S] = connect["_data1"].reindex(calls.index)
    done = ev_[ev_["event"].isin({"COMPLETEAGENT", "COMPLETECALLER"})].groupby("callid")["_data2"].first()
    xfer = ev_[ev_["event"].eq("TRANSFER")].groupby("callid")["_data4"].first()
    calls[TALK_TIME_S] = done.reindex(calls.index).fillna(xfer.reindex(calls.index))
    calls[S.HANDLE_TIME_S] = calls[TALK_TIME_S].where(calls[S.ANSWERED])
    ab = ev_[ev_["event"].eq("ABANDON")].groupby("callid")["_data3"].first()
    left = ev_[ev_["event"].isin({"EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY"})].groupby("callid")["event"].first()
    calls[S.TIME_TO_ABANDON_S] = ab.reindex(calls.index)
    calls["outcome"] = np.where(calls[S.ANSWERED], "answered",
                                np.where(calls.index.isin(ab.index), "abandoned",
                                         left.reindex(calls.index).str.lower().fillna("unknown")))
    unknown = calls["outcome"].eq("unknown")
    if unknown.any():  # still queued when the log ends (or its end events are missing): not judged
        ctx.record(S.EXCLUDED_KEY, "calls", "no CONNECT, ABANDON or EXIT event (still queued when the log ends?): "
                   "left out", S.ANSWERED, calls.index[unknown])
        calls = calls[~unknown]
    ctx.notes.append("Asterisk queue_log: speed_of_answer_s = CONNECT holdtime, talk_time_s = COMPLETE* calltime "
                     "(handle_time_s = talk: the log has no after-call work), time_to_abandon_s = ABANDON waittime; "
                     "EXITWITHTIMEOUT / EXITEMPTY / EXITWITHKEY calls are unanswered but not abandoned (outcome)")
    return calls.reset_index()


def _build_queue_log(obj: Any, ctx: _Ctx, **_: Any) -> dict[str, pd.DataFrame]:
    raw = _frame(obj, ("calls", "contacts", "records"), ctx.path.name)
    ast = _asterisk_frame(raw)
    if ast is not None:
        calls = _calls_from_asterisk(ast, ctx)
        ctx.unmapped["calls"] = []
    else:
        c = ctx.pick(raw, "calls", QUEUE_CALLS)
        ctx.problems.raise_if_any()
        c[S.CALL_ID] = _ids(c[S.CALL_ID])
        for col in ("_entry", "_exit", "_start", "_end"):
            if col in c.columns and not isinstance(c[col].dtype, pd.DatetimeTZDtype):
                c[col] = _timestamp(c[col], ctx, col.strip("_"))
        ctx.problems.raise_if_any()
        for col in ("_exit", "_start", "_end"):
            if col not in c.columns:
                c[col] = pd.Series(pd.NaT, index=c.index, dtype="datetime64[ns, UTC]")
        if "_outcome" in c.columns:
            raw_outcome = c.pop("_outcome")
            outcome = raw_outcome.astype("str").str.casefold().where(raw_outcome.notna())
        else:
            outcome = pd.Series(None, index=c.index, dtype="object")
        answered = c["_start"].notna()
        says_answered = outcome.str.contains(r"answer|handled|complet|connected", regex=True, na=False) & \
            ~outcome.str.contains(r"not answer|unanswer|abandon", regex=True, na=False)
        rid = c[S.CALL_ID]
        ctx.problems.add("service_start", "outcome says answered but the call has no service start",
                         says_answered & ~answered, outcome, row_ids=rid)
        wait = (c["_start"] - c["_entry"]).dt.total_seconds()
        left = (c["_exit"].fillna(c["_end"]) - c["_entry"]).dt.total_seconds()
        ctx.problems.add("service_start", "before the queue entry", (wait < 0).fillna(False), wait, row_ids=rid)
        ctx.problems.add("queue_exit", "before the queue entry", (~answered & (left < 0)).fillna(False), left,
                         row_ids=rid)
        ctx.problems.add("service_end", "before the service start", ((c["_end"] - c["_start"]).dt.total_seconds() < 0)
                         .fillna(False), c["_end"], row_ids=rid)
        ctx.problems.raise_if_any()
        not_abandoned = outcome.str.contains(NOT_ABANDONED, na=False)
        calls = c[[S.CALL_ID] + [x for x in (S.QUEUE, S.AGENT_ID, AFTER_CALL_WORK_S, HOLD_TIME_S) if x in c.columns]]
        calls = calls.assign(**{S.CREATED_AT: c["_entry"], S.ANSWERED: answered,
                                S.SPEED_OF_ANSWER_S: wait.where(answered),
                                S.TIME_TO_ABANDON_S: left.where(~answered & ~not_abandoned)})
        talk = (c["_end"] - c["_start"]).dt.total_seconds()
        calls[TALK_TIME_S] = talk - (c[HOLD_TIME_S].fillna(0) if HOLD_TIME_S in c.columns else 0)
        calls[S.HANDLE_TIME_S] = (talk + (c[AFTER_CALL_WORK_S].fillna(0) if AFTER_CALL_WORK_S in c.columns else 0)
                                  ).where(answered)
        calls["outcome"] = np.where(answered, "answered", np.where(not_abandoned, outcome.fillna("not answered"),
                                                                   "abandoned"))
        if AFTER_CALL_WORK_S in c.columns:
            gap = answered & c[AFTER_CALL_WORK_S].isna()
            ctx.record(S.ADJUSTED_KEY, "calls", "answered call without after-call work: handle_time_s counts it 0",
                       S.HANDLE_TIME_S, c.loc[gap, S.CALL_ID])
        no_exit = ~answered & ~not_abandoned & left.isna()
        ctx.record(S.ADJUSTED_KEY, "calls", "abandoned call without a queue exit or end time: time to abandon unknown",
                   S.TIME_TO_ABANDON_S, c.loc[no_exit, S.CALL_ID])
        ctx.notes.append("queue log: answered = has a service start; speed_of_answer_s = service start - queue entry; "
                         "time_to_abandon_s = queue exit (else end) - queue entry of unanswered calls; handle_time_s = "
                         "service end - service start (+ after-call work when exported); outcomes naming a timeout, "
                         "overflow or transfer are unanswered but not abandoned")
    if S.QUEUE in calls.columns:
        calls[S.TEAM] = calls[S.QUEUE]
    return {"calls": calls.reset_index(drop=True)}


def _build_generic(obj: Any, ctx: _Ctx, **_: Any) -> dict[str, pd.DataFrame]:  # pragma: no cover
    raise ParameterError("preset='generic' is read by qakit.read_table (read_export handles it)")


PRESETS: dict[str, Preset] = {
    "zendesk_qa": Preset("zendesk_qa", ("https://developer.zendesk.com/documentation/qa/exporting-data/"),
                         {"ratings": ZQA_RATING, "reviews": ZQA_REVIEW, "disputes": ZQA_DISPUTE,
                          "surveys": ZQA_CSAT, "autoqa_ratings": ZQA_AUTOQA}, _build_zendesk_qa),
    "maestroqa": Preset("maestroqa", ("https://help.maestroqa.com/en/articles/raw-data-exports"),
                        {"reviews": MQA_ANSWER, "ratings": MQA_QUESTION}, _build_maestroqa, "points"),
    "zendesk_support": Preset(
        "zendesk_support", ("https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_metrics/"),
        {"conversations": ZS_TICKET}, _build_zendesk_support),
    "freshdesk": Preset("freshdesk", ("https://support.freshdesk.com/support/solutions/articles/"
                                          "37555-exporting-tickets"), {"conversations": FD_TICKET}, _build_freshdesk),
    "intercom": Preset("intercom", ("https://developers.intercom.com/docs/references/rest-api/api.intercom.io/"
                                        "conversations/conversation"), {"conversations": IC_CONV}, _build_intercom),
    "call_log": Preset("call_log", ("https://documentation.five9.com/ (Call Log report)"),
                       {"calls": CALL_LOG}, _build_call_log),
    "call_centre_daily": Preset("call_centre_daily", "(generic daily ACD report)", {"calls_daily": DAILY},
                                _build_call_centre_daily),
    "event_log": Preset("event_log", "Zendesk ticket audits https://developer.zendesk.com/api-reference/ticketing/"
                        "tickets/ticket_audits/, XES (IEEE 1849-2016) and process-mining CSV (case, activity, "
                        "timestamp, resource)", {"events": EVENT_LOG}, _build_event_log),
    "incident": Preset("incident", "ServiceNow incident table export "
                       "https://www.servicenow.com/docs/ (incident table: number, opened_at, resolved_at, "
                       "priority, incident_state, reassignment_count, reopen_count, made_sla)",
                       {"conversations": INCIDENT}, _build_incident),
    "queue_log": Preset("queue_log", "Asterisk queue_log https://docs.asterisk.org/Operation/Logging/Queue-Logs/ or "
                        "one row per call (Amazon Connect contact records: Queue.EnqueueTimestamp, "
                        "Agent.ConnectedToAgentTimestamp, DisconnectTimestamp ...)", {"calls": QUEUE_CALLS},
                        _build_queue_log),
    "generic": Preset("generic", "qakit.read_table(mapping=...)", {}, _build_generic),
}


@public
def read_export(
    path: str | Path,
    *,
    preset: str,
    tz: str = "UTC",
    sep: str | None = None,
    encoding: str | None = None,
    sheet: int | str = 0,
    table: str | None = None,
    mapping: Mapping[str, str] | None = None,
    dayfirst: bool | None = None,
    start: str | None = None,
    activities: Mapping[str, str] | None = None,
) -> Export:
    """Read a vendor export into validated contract tables.

    Parameters
    ----------
    path : str or Path
        The export: CSV/TSV (optionally gzipped), ``.xlsx``, Parquet, JSON / JSON lines, or a
        folder of such files (MaestroQA warehouse tables ``answers`` + ``question_scores``).
    preset : str
        Which export (each follows its vendor's documentation):

        - ``zendesk_qa``: Zendesk QA (Klaus) public export API JSON, ``conversations`` ->
          ``reviews`` -> ``ratings`` (``categoryId``, ``categoryName``, ``score``, ``weight``,
          ``critical``, ``groupName``), ``reviewer``/``reviewee``, ``scorecard``; top-level
          ``disputes``, ``csat``, ``autoqa``, ``calibrationSessions`` when present.
          https://developer.zendesk.com/documentation/qa/exporting-data/,
          https://developer.zendesk.com/api-reference/qa/export/ and
          https://pub.klausapp.com/?urls.primaryName=Public+Export+API. Rating ``score`` is read
          as percent 0-100 (as the review ``score``; *not confirmed* by the public docs: run
          :func:`reconcile`); a critical category below 50% scores the review 0 (Zendesk QA
          glossary). AutoQA rows (``autoqa`` key, or the AutoQA ratings export as a bare list) go
          to ``autoqa_ratings``.
        - ``maestroqa``: MaestroQA raw score export / warehouse tables: ``answers`` (``answer_id``,
          ``gradable_id``, ``agent_id``, ``grader_id``, ``answer_type``, ``total_score``,
          ``is_deleted``) and ``question_scores`` (``score``, ``max_score``, ``normalized_score``,
          ``is_na``); one flat file with both works too. https://help.maestroqa.com/ (raw data
          exports); ``is_deleted`` rows dropped and itemised; calibration/benchmark answers go to
          ``calibration``; auto-fail questions are critical; without a max-points column the max is
          ``score / normalized_score``. The warehouse column names are from memory of MaestroQA's
          docs, not checked against a live export: run :func:`reconcile`.
        - ``zendesk_support``: ticket metrics API (``reply_time_in_minutes: {calendar, business}``,
          ``full_resolution_time_in_minutes``, ``replies``, ``reopens``, ``solved_at``) with or
          without side-loaded ``tickets``, or dbt_zendesk ``zendesk__ticket_metrics``;
          ``satisfaction_rating`` good/bad -> CSAT. https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_metrics/,
          https://github.com/fivetran/dbt_zendesk.
        - ``freshdesk``: the ticket CSV export labels (``Ticket ID``, ``Created time``,
          ``Resolved time``, ``First response time (in hrs)`` -- business hours --, ``Agent
          interactions``, ``Survey results``). https://support.freshdesk.com/ (Exporting tickets).
        - ``intercom``: conversations API (``statistics`` with office-hours-excluded durations,
          ``conversation_rating``) or dbt_intercom ``intercom__conversation_metrics`` (calendar
          minutes). https://developers.intercom.com/docs/references/rest-api/api.intercom.io/conversations,
          https://github.com/fivetran/dbt_intercom.
        - ``call_log``: per-call telephony log (Five9 Call Log report: ``CALL ID``, ``TIMESTAMP``,
          ``AGENT``, ``TALK TIME``, ``HOLD TIME``, ``AFTER CALL WORK TIME``, ``QUEUE WAIT TIME``,
          ``ABANDONED``; durations ``HH:MM:SS``); also logs with ``DATE`` + ``TIME``, an
          ``answered (Y/N)`` flag and post-call satisfaction (-> ``surveys`` keyed by call id).
          AHT = talk + hold + after-call work (the parts the log has, stated in ``notes``).
        - ``call_centre_daily``: daily ACD aggregates (date, queue, offered, answered, abandoned,
          answered within threshold, ASA, service level as percent text) -> ``calls_daily``.
        - ``event_log``: a ticket event log, one row per event -> ``conversations`` with first
          response, resolution, reopens and on-hold time (:func:`qakit.events.conversations_from_events`):
          Zendesk ticket audits API JSON (``{audits: [{ticket_id, created_at, events: [...]}]}``,
          https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_audits/), XES
          (IEEE 1849-2016: ``concept:name``, ``time:timestamp``, ``org:resource``,
          ``lifecycle:transition``) or a process-mining CSV (``Case ID, Activity, Resource,
          Complete Timestamp`` ...). Each activity's role (create, first_response, work, hold,
          resolve, close, reopen, note) comes from keyword rules listed in ``notes``; ``activities=``
          overrides them.
        - ``incident``: a ServiceNow-style incident export (``number, opened_at, resolved_at,
          closed_at, priority, incident_state, assignment_group, assigned_to, caller_id,
          contact_type, reassignment_count, reopen_count, made_sla``), one row per incident or an
          update log (several rows per incident, ``sys_mod_count`` / ``sys_updated_at``: the last is
          the incident, the state history gives ``on_hold_s``); ``?`` is missing; ``"1 - Critical"``
          reads ``critical``. :func:`qakit.events.reconcile_sla` checks ``made_sla``.
        - ``queue_log``: a call-level queue log -> ``calls`` with speed of answer, abandonment,
          time to abandon and handle time (:func:`qakit.calls.queue_intervals` gives them per
          interval): the Asterisk ``queue_log`` (``time|callid|queue|agent|event|data...``,
          https://docs.asterisk.org/Operation/Logging/Queue-Logs/) or one row per call with queue
          entry / exit, service start / end, outcome and agent (Amazon Connect contact records:
          ``Queue.EnqueueTimestamp``, ``Agent.ConnectedToAgentTimestamp``, ``DisconnectTimestamp``,
          ``Agent.AfterContactWorkDuration`` ...).
        - ``generic``: :func:`qakit.read_table` with ``table=`` and ``mapping=``, unchanged.
    tz : str, default="UTC"
        Zone of naive timestamps.
    sep, encoding : str, optional
        As in :func:`qakit.read_table`.
    sheet : int or str, default=0
        Worksheet of an Excel file.
    table : str, optional
        Only for ``preset="generic"``: the contract table the file holds.
    mapping : dict, optional
        ``{"column in the file": "field name"}``: for ``generic`` the canonical column names (as
        :func:`qakit.read_table`); for a vendor preset the names of its fields
        (:func:`preset_fields`), which override or add to the vendor's documented headers -- a
        renamed or localised column (``{"Anrufe angeboten": "offered"}``) needs no rewritten file.
        A column the export does not have, or a field name the preset does not read, is refused.
    activities : mapping, optional
        ``event_log`` / ``incident`` only: ``{activity or state: role}`` overriding the keyword rules
        that give each activity its role (:data:`qakit.events.ROLES`; the roles applied are listed in
        ``notes``), e.g. ``{"Take in charge ticket": "first_response", "Wait": "hold"}``.
    start : str, optional
        ``call_centre_daily`` only: the date of the first day of a file that numbers its days
        (``Index``, ``Day``, ``Day number``: 1, 2, 3 ...) instead of dating them; day ``d`` is
        ``start + (d - first day number)`` days.
    dayfirst : bool, optional
        Order of numeric dates such as ``03/04/2026``. Default: told by the data (a first part
        above 12 means day-first); a file whose dates cannot tell raises and asks for it.

    Returns
    -------
    Export
        A dict ``table name -> validated DataFrame`` (only the tables the export holds) with
        ``excluded``, ``adjusted`` (``table, reason, column, n, row_ids``), ``unmapped``,
        ``notes`` and ``scoring_mode`` attributes.

    Raises
    ------
    ParameterError
        Unknown preset, unreadable file, a required column not found (the message lists the
        accepted names and the columns present).
    DataValidationError
        Every unparseable value and contract violation, all at once.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "daily.csv"
    >>> _ = p.write_text("Date,Calls Offered,Calls Answered,Service Level\\n2026-11-02,200,190,80%\\n"
    ...                  "2026-11-03,100,99,95.0%\\n")
    >>> t = read_export(p, preset="call_centre_daily")
    >>> t["calls_daily"][["offered", "answered", "abandoned", "answered_within"]]
       offered  answered  abandoned  answered_within
    0    200.0     190.0       10.0            160.0
    1    100.0      99.0        1.0             95.0
    """
    check_choice("preset", preset, PRESETS)
    path = Path(path)
    if not path.exists():
        raise ParameterError(f"file not found: {str(path)!r}")
    if preset == "generic":
        if table is None:
            raise ParameterError("preset='generic' needs table= (e.g. 'ratings') and usually mapping=")
        if path.name.lower().endswith(qio.CSV_SUFFIXES + qio.PARQUET_SUFFIXES + EXCEL_SUFFIXES):
            df = qio.read_table(path, table, mapping=mapping, tz=tz, sep=sep, encoding=encoding)
        else:
            raise ParameterError(f"{path.name}: preset='generic' reads CSV, Parquet or Excel files")
        return Export({table: df}, preset=preset, path=str(path))
    if table is not None:
        raise ParameterError(f"table= is for preset='generic'; preset {preset!r} knows its tables "
                             f"({', '.join(PRESETS[preset].fields)})")
    spec = PRESETS[preset]
    mapping = _check_mapping(mapping, spec)
    anchor = _check_start(start, spec)
    obj = _load(path, sep=sep, encoding=encoding, sheet=sheet)
    if activities is not None and preset not in ("event_log", "incident"):
        raise ParameterError(f"activities= gives the roles of an event log's activities (preset 'event_log' or "
                             f"'incident'); preset {preset!r} has none")
    if activities is not None:
        ev._check_roles(activities)
    ctx = _Ctx(preset, path, tz, dayfirst, mapping=mapping, start=anchor, activities=activities)
    ctx.scoring_mode = spec.scoring_mode
    raw_tables = spec.build(_merge_pages(obj), ctx)
    unused = sorted(set(mapping) - ctx.mapping_used)
    if unused:
        cols = sorted({c for v in ctx.unmapped.values() for c in v})
        raise ParameterError(f"{path.name}: mapping names column(s) {unused} that the export does not have; "
                             f"columns no field used: {cols[:40]}")
    ctx.problems.raise_if_any()
    out: dict[str, pd.DataFrame] = {}
    failures = Problems(path.name)
    for name, df in raw_tables.items():
        df = df.reset_index(drop=True)
        spec = S.get_table(name)
        try:
            dup = df.duplicated() if len(df) else pd.Series(False, index=df.index)
        except TypeError:  # an unhashable cell (a list left in a column): compare as text
            dup = df.astype("str").duplicated()
        if dup.any():  # the same row twice (an export paged twice, a join fan-out): kept once, itemised
            ids = df.loc[dup, spec.row_id] if spec.row_id in df.columns else df.index[dup]
            ctx.record(S.EXCLUDED_KEY, name, "exact duplicate row (kept once)", spec.row_id or "", ids)
            df = df[~dup].reset_index(drop=True)
        try:
            v = S.validate(df, name, tz=tz)
        except DataValidationError as e:
            failures.rows.extend(e.failures.to_dict("records"))
            continue
        out[name] = v
    failures.raise_if_any()
    for r in ctx.records:  # records about one table go on that table (read back with exclusions())
        if r["table"] in out:
            if r["kind"] == S.EXCLUDED_KEY:
                S.add_exclusion(out[r["table"]], r["reason"], r["column"], list(r["row_ids"]))
            else:
                add_adjustment(out[r["table"]], r["reason"], r["column"], list(r["row_ids"]))
    rest = [r for r in ctx.records if r["table"] not in out]
    return Export(out, preset=preset, path=str(path), notes=ctx.notes, unmapped=ctx.unmapped,
                  scoring_mode=ctx.scoring_mode, records=rest)


@public
def preset_fields(preset: str) -> dict[str, list[str]]:
    """The names ``mapping=`` accepts for a preset, by table (each a column the preset reads).

    Examples
    --------
    >>> preset_fields("call_centre_daily")["calls_daily"][:4]
    ['date', 'day_number', 'queue', 'offered']
    """
    check_choice("preset", preset, PRESETS)
    return {t: list(dict.fromkeys(public_name(f.target) for f in fields)) for t, fields in PRESETS[preset].fields.items()}


def _check_mapping(mapping: Mapping[str, str] | None, spec: Preset) -> dict[str, str]:
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise ParameterError(f"mapping must be a dict {{'column in the file': 'field name'}}; got {mapping!r}")
    allowed = sorted({public_name(f.target) for fields in spec.fields.values() for f in fields})
    wrong = {k: v for k, v in mapping.items() if v not in allowed}
    if wrong:
        raise ParameterError(f"mapping sends {wrong} to field name(s) preset {spec.name!r} does not read; "
                             f"its field names: {allowed}")
    targets = list(mapping.values())
    twice = sorted({t for t in targets if targets.count(t) > 1})
    if twice:
        raise ParameterError(f"mapping sends several columns to {twice}: "
                             f"{ {k: v for k, v in mapping.items() if v in twice} }; map one column to each name")
    return dict(mapping)


def _check_start(start: Any, spec: Preset) -> pd.Timestamp | None:
    if start in (None, ""):
        return None
    if spec.name != "call_centre_daily":
        raise ParameterError(f"start= anchors the day numbers of a call_centre_daily file; preset {spec.name!r} "
                             "reads its own timestamps")
    try:
        ts = pd.Timestamp(start)
    except (ValueError, TypeError):
        raise ParameterError(f"start must be a date like 2026-11-01 (the date of the first day number); "
                             f"got {start!r}") from None
    return ts.normalize()


# --- reconciliation ------------------------------------------------------------------------------
RECOMPUTED_SCORE = "recomputed_score"
DIFFERENCE = "difference"
#: points by which a recomputed review score may differ from the vendor's before it is listed
RECONCILE_TOLERANCE = 0.01


#: the columns of :func:`card_versions`
IMPLIED_VERSION = "implied_version"
FIRST_REVIEWED = "first_reviewed_at"
LAST_REVIEWED = "last_reviewed_at"
N_REVIEWS = "n_reviews"
CHANGED = "changed"
_SIGNATURE = (WEIGHT, CRITICAL, RATING_MIN, RATING_MAX)


def _signatures(r: pd.DataFrame) -> pd.DataFrame:
    """One row per review x category: the weight, critical flag and scale ends the export gives it
    (defaults 1, False, missing, missing); a review giving one category two signatures is an error."""
    cols = {WEIGHT: 1.0, CRITICAL: False, RATING_MIN: np.nan, RATING_MAX: np.nan}
    sig = pd.DataFrame({S.REVIEW_ID: r[S.REVIEW_ID].astype("str").to_numpy(),
                        S.CATEGORY: r[S.CATEGORY].astype("str").to_numpy()}, index=r.index)
    for c, default in cols.items():
        if c not in r.columns:
            sig[c] = default
        elif c == CRITICAL:
            sig[c] = r[c].astype("boolean").fillna(False).astype(bool)
        else:
            sig[c] = pd.to_numeric(r[c], errors="coerce").astype("float64")
            if c == WEIGHT:
                sig[c] = sig[c].fillna(1.0)
    sig[S.REVIEWED_AT] = r[S.REVIEWED_AT] if S.REVIEWED_AT in r.columns else pd.NaT
    sig["_declared"] = (r[S.SCORECARD_VERSION].astype("str").where(r[S.SCORECARD_VERSION].notna(), "")
                        if S.SCORECARD_VERSION in r.columns else "")
    return sig


def _key(sig: pd.DataFrame) -> pd.Series:
    return (sig[WEIGHT].map(repr) + "|" + sig[CRITICAL].map(repr) + "|" + sig[RATING_MIN].map(repr) + "|"
            + sig[RATING_MAX].map(repr))


@public
def card_versions(ratings: pd.DataFrame) -> pd.DataFrame:
    """The card versions an export's ratings imply, by weight signature and date.

    A scorecard edited mid-period (a weight changed from 1 to 2, a category made critical, a scale
    end moved) exports each review with the weights *it* was scored with. Reviews are grouped by
    their signature -- each category's ``(weight, critical, rating_min, rating_max)`` -- within
    each exported ``scorecard_version``; each group is one version of the card, named by its first
    review date.

    Parameters
    ----------
    ratings : pandas.DataFrame
        A ``ratings`` table from :func:`read_export` (``review_id``, ``category``, optional
        ``weight``, ``critical``, ``rating_min``, ``rating_max``, ``reviewed_at``,
        ``scorecard_version``).

    Returns
    -------
    pandas.DataFrame
        One row per review: ``review_id``, ``scorecard_version`` (as exported, empty when none),
        ``implied_version`` (the exported version when its reviews share one signature; else
        ``"<version> (from YYYY-MM-DD)"``, ``"implied (from YYYY-MM-DD)"`` without a version),
        ``first_reviewed_at`` / ``last_reviewed_at`` / ``n_reviews`` of that version, and
        ``changed``: what differs from the version's predecessor (``"Solution weight 1 -> 2"``;
        empty for the first).

    Notes
    -----
    Categories a review does not rate do not count against a version: a review is placed in the
    version whose signature agrees with all the categories it has; when several do, in the one in
    force at its ``reviewed_at`` (the latest that started on or before it). Reviews whose
    signatures agree nowhere start a version of their own.

    Examples
    --------
    >>> r = pd.DataFrame({"review_id": ["r1", "r1", "r2", "r2"], "category": ["Tone", "Fix"] * 2,
    ...     "rating": 100.0, "weight": [1, 1, 1, 2],
    ...     "reviewed_at": pd.to_datetime(["2026-11-02"] * 2 + ["2026-11-09"] * 2, utc=True)})
    >>> card_versions(r)[["review_id", "implied_version", "changed"]]
      review_id               implied_version              changed
    0        r1  implied (from 2026-11-02)
    1        r2  implied (from 2026-11-09)  Fix weight 1 -> 2
    """
    for col in (S.REVIEW_ID, S.CATEGORY):
        if col not in ratings.columns:
            raise ParameterError(f"card_versions needs a {col!r} column; columns: {list(ratings.columns)}")
    if len(ratings) == 0:
        raise ParameterError("card_versions: the ratings table has no rows")
    sig = _signatures(ratings)
    sig["_key"] = _key(sig)
    rows = []
    for declared, g in sig.groupby("_declared", sort=True):
        per_cat = g.groupby(S.CATEGORY)["_key"].nunique()
        varying = sorted(per_cat[per_cat > 1].index)
        reviews = g.groupby(S.REVIEW_ID, sort=False).agg(first=(S.REVIEWED_AT, "min"))
        twice = g.groupby([S.REVIEW_ID, S.CATEGORY])["_key"].nunique()
        twice = twice[twice > 1]
        if len(twice):
            raise ParameterError(f"review(s) {sorted(set(twice.index.get_level_values(0)))[:10]} give one category "
                                 f"two different weights/critical flags/scale ends ({sorted(set(twice.index.get_level_values(1)))[:5]})")
        if not varying:
            rows.append(pd.DataFrame({S.REVIEW_ID: reviews.index, S.SCORECARD_VERSION: declared,
                                      IMPLIED_VERSION: declared or None, CHANGED: ""}))
            continue
        wide = (g[g[S.CATEGORY].isin(varying)].drop_duplicates([S.REVIEW_ID, S.CATEGORY])
                .pivot(index=S.REVIEW_ID, columns=S.CATEGORY, values="_key").reindex(reviews.index))
        wide = wide.reindex(columns=varying)
        full = wide.notna().all(axis=1)
        keys = wide[full].apply(tuple, axis=1)
        order = (reviews.loc[full, "first"].groupby(keys).min().sort_values(kind="stable"))
        versions = list(order.index)  # signatures, by first review date
        starts = list(order.to_numpy())
        assigned = pd.Series(keys.map({k: i for i, k in enumerate(versions)}), index=wide.index[full])
        part = wide[~full]
        extra: list[tuple] = []
        out_idx = []
        for rid, row in part.iterrows():  # partial signatures: few reviews, loop is fine
            fits = [i for i, k in enumerate(versions) if all(pd.isna(v) or v == k[j] for j, v in enumerate(row))]
            if not fits:
                k = tuple(row)
                if k not in extra:
                    extra.append(k)
                out_idx.append((rid, len(versions) + extra.index(k)))
                continue
            when = reviews.at[rid, "first"]
            live = [i for i in fits if pd.isna(when) or pd.isna(starts[i]) or starts[i] <= when]
            out_idx.append((rid, (max(live, key=lambda i: (starts[i], i)) if live else fits[0])))
        if out_idx:
            assigned = pd.concat([assigned, pd.Series(dict(out_idx))])
        versions += extra
        firsts = reviews["first"].groupby(assigned).min()
        order = sorted(range(len(versions)), key=lambda i: (pd.Timestamp(firsts.get(i)) if pd.notna(firsts.get(i))
                                                           else pd.Timestamp.max.tz_localize("UTC"), i))
        base = declared or "implied"
        labels, seen = {}, {}
        for i in order:
            day = f"{firsts[i]:%Y-%m-%d}" if pd.notna(firsts.get(i)) else "undated"
            lab = f"{base} (from {day})"
            seen[lab] = seen.get(lab, 0) + 1
            labels[i] = lab if seen[lab] == 1 else f"{lab} #{seen[lab]}"
        changed = {order[0]: ""}
        for prev, cur in zip(order, order[1:]):
            diffs = []
            for j, cat in enumerate(varying):
                a, b = versions[prev][j], versions[cur][j]
                if isinstance(a, str) and isinstance(b, str) and a != b:
                    for what, x, y in zip(_SIGNATURE, a.split("|"), b.split("|")):
                        if x != y:
                            diffs.append(f"{cat} {what} {_short(x)} -> {_short(y)}")
            changed[cur] = "; ".join(diffs)
        rows.append(pd.DataFrame({S.REVIEW_ID: assigned.index, S.SCORECARD_VERSION: declared,
                                  IMPLIED_VERSION: assigned.map(labels).to_numpy(),
                                  CHANGED: assigned.map(changed).to_numpy()}))
    out = pd.concat(rows, ignore_index=True)
    when = sig.groupby(S.REVIEW_ID)[S.REVIEWED_AT].min()
    out["_t"] = out[S.REVIEW_ID].map(when)
    g = out.groupby(out[IMPLIED_VERSION].fillna(""), dropna=False)["_t"]
    out[FIRST_REVIEWED] = g.transform("min")
    out[LAST_REVIEWED] = g.transform("max")
    out[N_REVIEWS] = out.groupby(out[IMPLIED_VERSION].fillna(""))[S.REVIEW_ID].transform("size")
    first_seen = {rid: i for i, rid in enumerate(pd.unique(sig[S.REVIEW_ID]))}
    out = out.assign(_o=out[S.REVIEW_ID].map(first_seen)).sort_values("_o").drop(columns=["_o", "_t"])
    return out[[S.REVIEW_ID, S.SCORECARD_VERSION, IMPLIED_VERSION, FIRST_REVIEWED, LAST_REVIEWED, N_REVIEWS,
                CHANGED]].reset_index(drop=True)


def _short(x: str) -> str:
    try:
        v = float(x)
    except ValueError:
        return x
    return "none" if np.isnan(v) else f"{v:g}"


@public
def with_card_versions(ratings: pd.DataFrame) -> pd.DataFrame:
    """``ratings`` with ``scorecard_version`` set to the implied version of each review
    (:func:`card_versions`) when the export's weights split a version; unchanged otherwise."""
    v = card_versions(ratings)
    if v[IMPLIED_VERSION].isna().all() or v[IMPLIED_VERSION].fillna("").eq(v[S.SCORECARD_VERSION]).all():
        return ratings
    lut = dict(zip(v[S.REVIEW_ID], v[IMPLIED_VERSION]))
    out = ratings.copy()
    out[S.SCORECARD_VERSION] = out[S.REVIEW_ID].astype("str").map(lut)
    return out


@public
def implied_card(ratings: pd.DataFrame, *, mode: str = "weighted"):
    """The scorecard(s) an export's own ratings imply: weights, critical flags and scales as exported.

    Parameters
    ----------
    ratings : pandas.DataFrame
        A ``ratings`` table from :func:`read_export`; optional columns ``weight`` (default 1),
        ``critical`` (default False), ``rating_min`` / ``rating_max`` (the scale's ends, e.g. 0 and
        100 for Zendesk QA percent scores, 0 and max points for MaestroQA).
    mode : {"weighted", "points", "mean_over_max"}, default="weighted"
        The QA tool's scoring mode (``Export.scoring_mode``).

    Returns
    -------
    list of qakit.Scorecard
        One card per version: per exported ``scorecard_version`` (a single card with version None
        when the ratings carry none), split by weight signature when the card was edited during the
        period (:func:`card_versions`; those cards are named ``"<version> (from YYYY-MM-DD)"``: score
        the ratings with :func:`with_card_versions` applied). Each category's scale is the scale's
        ends as exported plus the ratings seen between them; without exported ends, the ratings seen.

    Raises
    ------
    ScorecardError
        A rating outside the scale ends the export gives it (read_export leaves such reviews
        out; this guards hand-made tables), or one review giving a category two signatures.

    Examples
    --------
    >>> r = pd.DataFrame({"category": ["Tone", "Tone", "Fix"], "rating": [100.0, 50, 0],
    ...                   "weight": [1, 1, 2], "critical": [False, False, True],
    ...                   "rating_min": 0.0, "rating_max": 100.0})
    >>> card = implied_card(r)[0]
    >>> card.weights, card.critical
    ({'Fix': 2.0, 'Tone': 1.0}, {'Fix': True, 'Tone': False})
    """
    check_choice("mode", mode, ("weighted", "points", "mean_over_max"))
    r = ratings
    for col in (S.CATEGORY, S.RATING):
        if col not in r.columns:
            raise ParameterError(f"implied_card needs a {col!r} column; columns: {list(r.columns)}")
    if S.REVIEW_ID not in r.columns:
        r = r.assign(**{S.REVIEW_ID: np.arange(len(r)).astype("str")})
    split = card_versions(r)
    if split[IMPLIED_VERSION].notna().any():
        r = r.assign(**{S.SCORECARD_VERSION: r[S.REVIEW_ID].astype("str").map(
            dict(zip(split[S.REVIEW_ID], split[IMPLIED_VERSION])))})
    versions = (r[S.SCORECARD_VERSION].astype("str").where(r[S.SCORECARD_VERSION].notna())
                if S.SCORECARD_VERSION in r.columns and r[S.SCORECARD_VERSION].notna().any() else None)
    order = (split.drop_duplicates(IMPLIED_VERSION).sort_values(FIRST_REVIEWED, kind="stable")[IMPLIED_VERSION]
             .dropna().tolist() if versions is not None else [None])
    cards = []
    problems: list[str] = []
    for ver in order:
        sub = r if ver is None else r[versions.eq(ver).fillna(False).to_numpy()]
        cats = []
        for name, g in sub.groupby(S.CATEGORY, sort=True):
            w = pd.to_numeric(g[WEIGHT], errors="coerce").dropna().unique() if WEIGHT in g else np.array([1.0])
            crit = (g[CRITICAL].astype("boolean").fillna(False).unique() if CRITICAL in g
                    else np.array([False]))
            ends = [pd.to_numeric(g[c], errors="coerce").dropna().unique() if c in g else np.array([])
                    for c in (RATING_MIN, RATING_MAX)]
            seen_vals = pd.to_numeric(g[S.RATING], errors="coerce")
            where = f"version {ver!r}, category {name!r}" if ver is not None else f"category {name!r}"
            lo = float(ends[0][0]) if len(ends[0]) == 1 else None
            hi = float(ends[1][0]) if len(ends[1]) == 1 else None
            off = (seen_vals < lo) if lo is not None else pd.Series(False, index=g.index)
            off = off | ((seen_vals > hi) if hi is not None else False)
            if off.any():
                ids = g.loc[off, S.REVIEW_ID].astype("str").tolist()[:5]
                problems.append(f"{where}: ratings {sorted(set(seen_vals[off].tolist()))[:5]} outside the exported "
                                f"scale {lo:g}..{hi:g} (reviews {ids})")
            seen = set(seen_vals.dropna().tolist())
            if ver is not None and lo is not None and hi is not None:  # the category's values in other versions too
                every = pd.to_numeric(r.loc[r[S.CATEGORY].eq(name), S.RATING], errors="coerce").dropna()
                seen |= set(every[(every >= lo) & (every <= hi)].tolist())
            scale = sorted(seen | {float(e[0]) for e in ends if len(e)})
            if len(scale) < 2:
                scale = sorted(set(scale) | {0.0, 1.0}) if not scale or scale[0] <= 1 else [0.0] + scale
            cats.append(dict(name=str(name), weight=float(w[0]) if len(w) else 1.0,
                             critical=bool(crit[0]) if len(crit) else False, scale=scale))
        if not problems:
            cards.append(Scorecard([Category(**c) for c in cats], mode=mode, name="implied by the export",
                                   version=ver))
    if problems:
        raise ScorecardError("the export's ratings do not imply one scorecard: " + "; ".join(problems))
    return cards


@public
def reconcile(
    tables: Mapping[str, pd.DataFrame],
    card=None,
    *,
    tolerance: float = RECONCILE_TOLERANCE,
    tz: str = "UTC",
) -> pd.DataFrame:
    """Recompute every review from its ratings and list those whose score differs from the vendor's.

    The check a QA lead runs before trusting any analysis: it catches a card configured
    differently from the QA tool's (weights, critical rules, N/A handling, scale).

    Parameters
    ----------
    tables : mapping
        As :func:`read_export` returns them: ``ratings`` and ``reviews`` (with ``vendor_score``,
        the QA tool's own review score in percent).
    card : Scorecard, list or mapping of Scorecard, optional
        The card to check. Default: :func:`implied_card` of the export's own weights and critical
        flags (mode ``tables.scoring_mode`` when present, else ``"weighted"``); a card edited during
        the period gives one card per version (:func:`card_versions`) and each review is recomputed
        with the weights it was exported with, so only reviews whose *own* numbers disagree are listed.
    tolerance : float, default=0.01
        Points of difference allowed (vendor scores are often rounded to 2 decimals).

    Returns
    -------
    pandas.DataFrame
        One row per differing review, largest difference first: ``review_id, [scorecard_version,]
        agent_id, reviewer_id, vendor_score, recomputed_score, difference`` (recomputed - vendor;
        NaN when only one side has a score). Empty when everything agrees. Reviews with ratings
        but no vendor score (or the reverse) are itemised in :func:`qakit.schema.exclusions`.

    Notes
    -----
    A review differs when ``|recomputed - vendor| > tolerance``, or exactly one of the two is
    missing (e.g. the vendor scored a review whose categories are all N/A here).

    Examples
    --------
    >>> r = pd.DataFrame({"review_id": ["r1", "r1", "r2", "r2"], "conversation_id": ["c1", "c1", "c2", "c2"],
    ...     "agent_id": "a", "reviewer_id": "q", "reviewed_at": "2026-11-02", "category": ["Tone", "Fix"] * 2,
    ...     "rating": [100.0, 50, 0, 100], "weight": [1, 3, 1, 3], "rating_min": 0.0, "rating_max": 100.0})
    >>> v = pd.DataFrame({"review_id": ["r1", "r2"], "conversation_id": ["c1", "c2"], "agent_id": "a",
    ...     "reviewer_id": "q", "reviewed_at": "2026-11-02", "vendor_score": [62.5, 80.0]})
    >>> reconcile({"ratings": r, "reviews": v})[["review_id", "vendor_score", "recomputed_score"]]
      review_id  vendor_score  recomputed_score
    0        r2          80.0              75.0
    """
    check_number("tolerance", tolerance, low=0)
    for need in ("ratings", "reviews"):
        if need not in tables:
            raise ParameterError(f"reconcile needs a {need!r} table (the vendor's review scores); tables: {list(tables)}")
    ratings = S.validate(tables["ratings"], "ratings", tz=tz)
    reviews = S.validate(tables["reviews"], "reviews", tz=tz)
    if card is None:  # the export's own card(s): a card edited mid-period gives one version per signature
        ratings = with_card_versions(ratings)
        card = implied_card(ratings, mode=getattr(tables, "scoring_mode", "weighted"))
        if len(card) == 1 and card[0].version is None and S.SCORECARD_VERSION in ratings.columns:
            ratings = ratings.drop(columns=[S.SCORECARD_VERSION])
    given = [card] if isinstance(card, Scorecard) else list(card.values() if isinstance(card, Mapping) else card)
    if any(c.applies_to for c in given):  # the data's "phone" is the card's "Phone"
        ratings = align_applies_to(ratings, given)
    scored = score_reviews(ratings, card, tz=tz)
    keys = [S.REVIEW_ID] + ([S.SCORECARD_VERSION] if S.SCORECARD_VERSION in scored.columns else [])
    m = scored[keys + [S.AGENT_ID, S.REVIEWER_ID, S.IQS]].merge(
        reviews[[S.REVIEW_ID, S.VENDOR_SCORE]], on=S.REVIEW_ID, how="outer", indicator=True)
    m[S.REVIEW_ID] = m[S.REVIEW_ID].astype("str")
    both = m["_merge"].eq("both")
    a, b = m[S.IQS].to_numpy(dtype=float), m[S.VENDOR_SCORE].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        diff = a - b
    differs = both.to_numpy() & ((np.abs(diff) > tolerance + 1e-9) | (np.isnan(a) != np.isnan(b)))
    out = m[differs].rename(columns={S.IQS: RECOMPUTED_SCORE}).assign(**{DIFFERENCE: diff[differs]})
    out = out.assign(_abs=np.abs(out[DIFFERENCE]).fillna(np.inf)).sort_values(["_abs", S.REVIEW_ID],
                                                                             ascending=[False, True])
    cols = keys + [S.AGENT_ID, S.REVIEWER_ID, S.VENDOR_SCORE, RECOMPUTED_SCORE, DIFFERENCE]
    res = out[cols].reset_index(drop=True)
    S.add_exclusion(res, "review has ratings but no vendor score row in reviews", S.VENDOR_SCORE,
                    m.loc[m["_merge"].eq("left_only"), S.REVIEW_ID])
    S.add_exclusion(res, "review in reviews has no ratings", S.RATING, m.loc[m["_merge"].eq("right_only"), S.REVIEW_ID])
    return res


__all__ = ["read_export", "reconcile", "implied_card", "card_versions", "with_card_versions", "parse_unit",
           "normalise_header", "preset_fields"]
