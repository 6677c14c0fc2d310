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

import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import io as qio
from . import schema as S
from ._public import public
from .errors import DataValidationError, ParameterError, Problems, ScorecardError, check_choice, check_number
from .io import write_table
from .schema import add_adjustment
from .scorecard import Category, Scorecard, score_reviews

# --- extra column names (pass through the contracts) ------------------------------------------
WEIGHT = "weight"
CRITICAL = "critical"
SECTION = "section"
RATING_MIN = "rating_min"
RATING_MAX = "rating_max"
FIRST_RESPONSE_BUSINESS_S = "first_response_time_business_s"
RESOLUTION_BUSINESS_S = "resolution_time_business_s"
REOPENS = "reopens"
TALK_TIME_S = "talk_time_s"
HOLD_TIME_S = "hold_time_s"
AFTER_CALL_WORK_S = "after_call_work_s"
QUEUE_WAIT_S = "queue_wait_s"
SERVICE_LEVEL_REPORTED = "service_level_reported"
ABANDONMENT_REPORTED = "abandonment_rate_reported"
UNKNOWN = "unknown"

NA_TEXT = {"", "n/a", "na", "-", "--", "null", "none", "nan", "nat"}
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
        """Write every table as ``<folder>/<name>.parquet`` (and, when the export implies one card,
        ``scorecard.yaml``) -- the folder layout ``qakit report -p dataset <folder>`` reads.

        Exports of several tools can be written to one folder (a QA tool's ratings next to a
        helpdesk's conversations); a table of the same name is replaced. Returns the paths written.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = [write_table(df, folder / f"{name}.parquet") for name, df in self.items()]
        if "ratings" in self:
            cards = implied_card(self["ratings"], mode=self.scoring_mode)
            if len(cards) == 1:
                written.append(folder / "scorecard.yaml")
                cards[0].to_yaml(folder / "scorecard.yaml")
        return written

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}: {len(v)} rows" for k, v in self.items())
        return f"Export(preset={self.preset!r}, {{{parts}}})"


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


def _find(keys: Mapping[str, Any], names: Sequence[str]) -> Any | None:
    for n in names:
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
        simple = h.notna() & mi.notna() & se.notna() & (h >= 0) & mi.between(0, 59) & se.between(0, 60, inclusive="left")
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
    if unit == "percent":
        if t is not None:
            pct = t.str.endswith("%", na=False)
            num = num.where(~pct, _number(t.str.rstrip("%").str.strip()) / 100)
            bad = t.notna() & num.isna()
            plain = num.notna() & ~pct
        else:
            plain = num.notna()
        if (num[plain] > 1).any():
            num = num.where(~plain, num / 100)
        problems.add(column, "not a percentage", bad, values)
        return num.astype("float64")
    if unit in ("hms", "seconds", "minutes", "hours"):
        if t is not None and bad.any():
            clock = _clock_seconds(t.where(bad), "mm:ss" if unit in ("hms", "seconds") else "hh:mm")
            factor = {"hms": 1.0, "seconds": 1.0, "minutes": 60.0, "hours": 3600.0}[unit]
            num = num.where(~(bad & clock.notna()), clock / factor)
            bad = bad & clock.isna()
        num = num * {"hms": 1.0, "seconds": 1.0, "minutes": 60.0, "hours": 3600.0}[unit]
        problems.add(column, f"not a duration ({unit}: a number or HH:MM:SS)", bad, values)
        problems.add(column, "negative duration", num < 0, values)
        return num.astype("float64")
    if unit == "number":
        problems.add(column, "not a number", bad, values)
        return num.astype("float64")
    raise ParameterError(f"unknown unit {unit!r}")  # pragma: no cover


def pick(raw: pd.DataFrame, fields: Sequence[Field], *, table: str, problems: Problems,
         used: set | None = None) -> pd.DataFrame:
    """Select and parse ``fields`` from ``raw`` (source columns matched by :func:`normalise_header`).

    Missing required fields are reported once, all together, with the columns present.
    """
    keys = _lookup(raw.columns, table)
    out = pd.DataFrame(index=raw.index)
    missing = []
    if problems.row_ids is None and fields and fields[0].unit == "id":  # messages name the rows by id
        src = _find(keys, fields[0].names)
        if src is not None:
            problems.row_ids = raw[src].astype("str")
    for f in fields:
        src = _find(keys, f.names)
        if src is None:
            if f.required:
                missing.append(f"{f.target} (one of {list(f.names)})")
            continue
        if used is not None:
            used.add(src)
        out[f.target] = parse_unit(raw[src], f.unit, column=f"{f.target} <- {src}", problems=problems)
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
        return {p.name.split(".")[0].casefold(): _load(p, sep=sep, encoding=encoding, sheet=sheet) for p in files}
    if name.endswith(JSON_SUFFIXES):
        opener = __import__("gzip").open if name.endswith(".gz") else open
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

    def __init__(self, preset: str, path: Path, tz: str, dayfirst: bool | None = None):
        self.preset, self.path, self.tz, self.dayfirst = preset, path, tz, dayfirst
        self.problems = Problems(f"{path.name} ({preset})")
        self.notes: list[str] = []
        self.records: list[dict] = []
        self.unmapped: dict[str, list[str]] = {}

    def pick(self, raw: pd.DataFrame, table: str, fields: Sequence[Field]) -> pd.DataFrame:
        used: set = set()
        p = Problems(f"{self.path.name} ({self.preset}) -> {table}")
        out = pick(raw, fields, table=table, problems=p, used=used)
        self.problems.extend(p)
        self.unmapped[table] = [str(c) for c in raw.columns if c not in used]
        for f in fields:
            if f.unit == "datetime" and f.target in out.columns:
                out[f.target] = self.dates(out[f.target], f.target)
        return out

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
    Field(S.VENDOR_SCORE, ("total_score", "Total Score", "score_percent"), "percent"),
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


def _truthy(s: pd.Series | None, index: pd.Index) -> pd.Series:
    if s is None:
        return pd.Series(False, index=index)
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.fillna(False).astype(bool)
    t = s.astype("str").str.strip().str.casefold()
    return t.isin(S._TRUE).where(s.notna(), False).astype(bool)


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
    deleted = _truthy(a.get("is_deleted"), a.index)
    if deleted.any():
        ctx.record(S.EXCLUDED_KEY, "ratings", "is_deleted: answer deleted in MaestroQA, dropped", "is_deleted",
                   a.loc[deleted, S.REVIEW_ID])
        gone = set(a.loc[deleted, S.REVIEW_ID])
        a, q = a[~deleted], q[~q[S.REVIEW_ID].isin(gone)]
    orphan = ~q[S.REVIEW_ID].isin(set(a[S.REVIEW_ID]))
    if orphan.any():
        ctx.record(S.EXCLUDED_KEY, "ratings", "question score whose answer is not in answers", S.REVIEW_ID,
                   q.loc[orphan, S.REVIEW_ID].unique())
        q = q[~orphan]
    na = _truthy(q.get("_is_na"), q.index)
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
    if cal_ids:
        out["calibration"] = r[r[S.REVIEW_ID].isin(cal_ids)].reset_index(drop=True)
        ctx.notes.append("answer_type calibration/benchmark -> calibration table (not in IQS)")
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
    Field(S.DATE, ("Date", "Day", "Report Date", "date", "Interval Start", "Period"), "datetime", True),
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
                    "re:^(avg_|average_)?speed_of_answer"), "hms"),
    Field(SERVICE_LEVEL_REPORTED, ("Service Level", "SL", "Service Level %", "SL %", "% Within Service Level",
                                   "re:^service_level", "re:^(pct_)?within_(service_level|sl)$"), "percent"),
    Field(ABANDONMENT_REPORTED, ("Abandon Rate", "Abandonment Rate", "Abandon %", "Abandoned %",
                                 "re:^abandon(ment)?_(rate|pct|percent)"), "percent"),
)


def _build_call_centre_daily(obj: Any, ctx: _Ctx, **_: Any) -> dict[str, pd.DataFrame]:
    raw = _frame(obj, ("calls_daily", "days"), ctx.path.name)
    d = ctx.pick(raw, "calls_daily", DAILY)
    ctx.problems.raise_if_any()
    rid = d[S.DATE].astype("str")
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
        d.loc[fill, S.ANSWERED_WITHIN] = d.loc[fill, SERVICE_LEVEL_REPORTED] * d.loc[fill, S.OFFERED]
        ctx.record(S.ADJUSTED_KEY, "calls_daily", "answered_within = reported service level x offered (no count "
                   "in the export; assumes the report's SL is over offered calls)", S.ANSWERED_WITHIN, rid[fill])
    over = (d[S.ANSWERED].fillna(0) + d[S.ABANDONED].fillna(0)) > d[S.OFFERED] + 1e-9
    ctx.problems.add("answered + abandoned", "more than offered", over, rid)
    return {"calls_daily": d}


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
        - ``generic``: :func:`qakit.read_table` with ``table=`` and ``mapping=``, unchanged.
    tz : str, default="UTC"
        Zone of naive timestamps.
    sep, encoding : str, optional
        As in :func:`qakit.read_table`.
    sheet : int or str, default=0
        Worksheet of an Excel file.
    table, mapping :
        Only for ``preset="generic"``.
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
    if table is not None or mapping is not None:
        raise ParameterError(f"table= and mapping= are for preset='generic'; preset {preset!r} maps its own columns")
    spec = PRESETS[preset]
    obj = _load(path, sep=sep, encoding=encoding, sheet=sheet)
    ctx = _Ctx(preset, path, tz, dayfirst)
    ctx.scoring_mode = spec.scoring_mode
    raw_tables = spec.build(_merge_pages(obj), ctx)
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


# --- reconciliation ------------------------------------------------------------------------------
RECOMPUTED_SCORE = "recomputed_score"
DIFFERENCE = "difference"
#: points by which a recomputed review score may differ from the vendor's before it is listed
RECONCILE_TOLERANCE = 0.01


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
        One card per ``scorecard_version`` (a single card with version None when the ratings
        carry none). Each category's scale is the set of ratings seen plus the scale's ends.

    Raises
    ------
    ScorecardError
        A category exported with different weights, critical flags or scale ends in one version.

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
    versions = (r[S.SCORECARD_VERSION].astype("str").where(r[S.SCORECARD_VERSION].notna())
                if S.SCORECARD_VERSION in r.columns and r[S.SCORECARD_VERSION].notna().any() else None)
    cards = []
    problems: list[str] = []
    for ver in ([None] if versions is None else sorted(versions.dropna().unique())):
        sub = r if ver is None else r[versions.eq(ver).fillna(False).to_numpy()]
        cats = []
        for name, g in sub.groupby(S.CATEGORY, sort=True):
            w = pd.to_numeric(g[WEIGHT], errors="coerce").dropna().unique() if WEIGHT in g else np.array([1.0])
            crit = (g[CRITICAL].astype("boolean").fillna(False).unique() if CRITICAL in g
                    else np.array([False]))
            ends = [pd.to_numeric(g[c], errors="coerce").dropna().unique() if c in g else np.array([])
                    for c in (RATING_MIN, RATING_MAX)]
            where = f"version {ver!r}, category {name!r}" if ver is not None else f"category {name!r}"
            for what, vals in (("weights", w), ("critical flags", crit), ("scale minimums", ends[0]),
                               ("scale maximums", ends[1])):
                if len(vals) > 1:
                    problems.append(f"{where}: exported with different {what} {sorted(map(float, vals))}")
            seen = set(pd.to_numeric(g[S.RATING], errors="coerce").dropna().tolist())
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
        flags (mode ``tables.scoring_mode`` when present, else ``"weighted"``).
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
    if card is None:
        card = implied_card(ratings, mode=getattr(tables, "scoring_mode", "weighted"))
        if len(card) == 1 and card[0].version is None and S.SCORECARD_VERSION in ratings.columns:
            ratings = ratings.drop(columns=[S.SCORECARD_VERSION])
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


__all__ = ["read_export", "reconcile", "implied_card", "parse_unit", "normalise_header"]
