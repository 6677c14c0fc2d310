"""Reading and writing tables: CSV/Parquet readers with column mappings, wide-to-long, safe CSV.

Readers never unpickle and never evaluate anything from a file.  Every problem with a file
(empty, header only, not UTF-8, duplicate headers, a mapping key that is not there) is a
:class:`~qakit.errors.ParameterError` naming the file; problems in the rows are one
:class:`~qakit.errors.DataValidationError` from :func:`qakit.schema.validate`.
"""

from __future__ import annotations

import csv
import gzip
import io as _io
import posixpath
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from python_calamine import CalamineError
from tqdm.auto import tqdm

from . import schema as S
from ._public import public
from .errors import ParameterError, Problems

CSV_SUFFIXES = (".csv", ".txt", ".tsv", ".csv.gz", ".txt.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
#: files larger than this are read with pyarrow's streaming reader
STREAM_BYTES = 50 * 2**20
#: low-cardinality columns turned into ``category`` with ``categorical=True``
CATEGORICAL_COLUMNS = (S.CATEGORY, S.AGENT_ID, S.REVIEWER_ID, S.CHANNEL, S.PRIORITY, S.KIND,
                       S.STATUS, S.SCORECARD_VERSION, S.TEAM)
NA_TOKENS = ("N/A", "NA", "n/a", "na", "-", "")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suf in CSV_SUFFIXES + PARQUET_SUFFIXES + EXCEL_SUFFIXES:
        if name.endswith(suf):
            return suf
    raise ParameterError(
        f"{path.name}: unsupported file type; use one of {list(CSV_SUFFIXES + PARQUET_SUFFIXES + EXCEL_SUFFIXES)}"
    )


def read_excel(path: str | Path, *, sheet: int | str = 0) -> pd.DataFrame:
    """One worksheet as text cells (like the CSV reader), read with python-calamine (Rust, MIT
    licence, several times faster than openpyxl, reads .xlsx/.xls/.xlsb/.ods). Empty cells are
    missing; dates arrive as ISO text, times of day as ``HH:MM:SS``."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise ParameterError(f"{path.name}: file is empty")
    try:
        df = pd.read_excel(path, sheet_name=sheet, engine="calamine", dtype=object)
    except (CalamineError, ValueError, KeyError, IndexError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ParameterError(f"{path.name}: cannot be read as a spreadsheet (sheet {sheet!r}): {first}") from None
    df.columns = [str(c) for c in df.columns]
    if path.name.lower().endswith((".xlsx", ".xlsm")):
        empty = formula_cells_without_values(path, sheet=sheet)
        if empty:
            names = {}
            for ref in empty:
                col = "".join(ch for ch in ref if ch.isalpha())
                idx = _column_index(col)
                names.setdefault(df.columns[idx] if idx < len(df.columns) else col, []).append(ref)
            shown = "; ".join(f"{k!r}: {', '.join(v[:5])}{' ...' if len(v) > 5 else ''}" for k, v in names.items())
            raise ParameterError(
                f"{path.name} (sheet {sheet!r}): {len(empty)} formula cell(s) have no stored value ({shown}); "
                "the file was saved by a program that does not calculate formulas, so these cells would read as "
                "empty. Open and save it in Excel or LibreOffice (or export the sheet as CSV) and read it again")
    def cell(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        if hasattr(v, "isoformat"):
            return v.isoformat(sep=" ") if hasattr(v, "hour") and hasattr(v, "day") else v.isoformat()
        return str(v)
    return df.apply(lambda s: s.map(cell)).astype("str")


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


_XL = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def formula_cells_without_values(path: str | Path, *, sheet: int | str = 0) -> list[str]:
    """Cell references (``"C3"``) of formula cells with no stored (cached) value in one sheet of
    an ``.xlsx``/``.xlsm`` file -- what a spreadsheet written by a script holds until Excel or
    LibreOffice recalculates it; every reader sees them as empty. Reads the SpreadsheetML parts
    (ECMA-376) with the standard library; an unreadable part gives an empty list (the cell reader
    reports the file)."""
    try:
        with zipfile.ZipFile(path) as z:
            wb = ET.fromstring(z.read("xl/workbook.xml"))
            sheets = [(el.get("name"), el.get(f"{_REL}id")) for el in wb.iter(f"{_XL}sheet")]
            if isinstance(sheet, int):
                if not 0 <= sheet < len(sheets):
                    return []
                rid = sheets[sheet][1]
            else:
                rid = next((r for n, r in sheets if n == sheet), None)
            rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            target = next((el.get("Target") for el in rels if el.get("Id") == rid), None)
            if target is None:
                return []
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            out = []
            with z.open(part) as fh:
                for _, el in ET.iterparse(fh):
                    if el.tag == f"{_XL}c":
                        f, v = el.find(f"{_XL}f"), el.find(f"{_XL}v")
                        if f is not None and (v is None or not (v.text or "").strip()):
                            out.append(el.get("r") or "?")
                        el.clear()
            return out
    except (KeyError, OSError, zipfile.BadZipFile, ET.ParseError, StopIteration):
        return []


_UTF16_BOMS = {b"\xff\xfe": "utf-16 (little-endian)", b"\xfe\xff": "utf-16 (big-endian)"}


def _check_encoding(raw: bytes, path: Path, encoding: str | None) -> str:
    utf16 = encoding is None or not encoding.lower().replace("-", "").replace("_", "").startswith("utf16")
    if utf16 and (raw[:2] in _UTF16_BOMS or raw[:4000].count(b"\x00") > len(raw[:4000]) // 4):
        what = _UTF16_BOMS.get(raw[:2], "utf-16 (NUL bytes between the characters)")
        said = f"not {encoding!r} as given" if encoding else "not UTF-8"
        raise ParameterError(f"{path.name}: the file is {what}, {said}; pass encoding='utf-16' "
                             "(or export it again as UTF-8)")
    if encoding is not None:
        return encoding
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ParameterError(
            f"{path.name}: not valid UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start}, line {line}); "
            "pass the file's encoding, e.g. encoding='cp1252' or encoding='latin-1'"
        ) from None
    return "utf-8-sig"


def _first_line(e: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message, at most ``limit`` characters."""
    text = str(e).strip()
    first = text.splitlines()[0] if text else type(e).__name__
    return first if len(first) <= limit else first[:limit] + f"... ({len(first):,} characters)"


def _sniff_sep(text: str) -> str:
    head = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _categorical_columns(table: str) -> tuple[str, ...]:
    """Columns stored as categoricals with ``categorical=True``: the low-cardinality ones, and in
    ratings also the review and conversation ids (each repeats once per category)."""
    return CATEGORICAL_COLUMNS + ((S.REVIEW_ID, S.CONVERSATION_ID) if table == "ratings" else ())


def mapping_inverse(mapping) -> dict[str, str]:
    """canonical name -> file column name for a ``{"File column": "canonical"}`` mapping."""
    return {v: k for k, v in dict(mapping or {}).items()}


def _read_csv(path: Path, *, sep: str | None, encoding: str | None, stream: bool, progress: bool,
              dictionary: tuple[str, ...] = ()) -> tuple[pd.DataFrame, str]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            head = fh.read(1 << 16)
    except (OSError, EOFError, zlib.error) as e:
        raise ParameterError(f"{path.name}: not a readable gzip file ({_first_line(e)}); check that the "
                             "download is complete") from None
    if not head.strip():
        raise ParameterError(f"{path.name}: file is empty")
    enc = _check_encoding(head if len(head) < (1 << 16) else head[: head.rfind(b"\n") + 1] or head, path, encoding)
    text = head.decode(enc, errors="replace")
    sep = sep or _sniff_sep(text)
    try:
        if stream:
            df = _read_csv_stream(path, sep=sep, encoding=enc, progress=progress, dictionary=dictionary)
        else:
            if encoding is None and path.stat().st_size > len(head):
                try:
                    with opener(path, "rb") as fh:
                        _check_encoding(fh.read(), path, None)
                except (OSError, EOFError, zlib.error) as e:
                    raise ParameterError(f"{path.name}: not a readable gzip file ({_first_line(e)}); check "
                                         "that the download is complete") from None
            df = pd.read_csv(path, sep=sep, dtype="str", keep_default_na=False, na_values=[""],
                             encoding=enc, lineterminator=None, compression="infer")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError, ValueError) as e:
        if isinstance(e, ParameterError):
            raise
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        first = first if len(first) <= 200 else first[:200] + f"... ({len(first):,} characters)"
        raise ParameterError(f"{path.name}: cannot be read as CSV with delimiter {sep!r} ({first}); "
                             "check quoting, the delimiter (sep=) and the encoding (encoding=)") from None
    return df, sep


def _read_csv_stream(path: Path, *, sep: str, encoding: str, progress: bool,
                     dictionary: tuple[str, ...] = ()) -> pd.DataFrame:
    """Stream a large CSV with pyarrow in blocks (bounded memory, progress on bytes).

    Columns named in ``dictionary`` are dictionary-encoded block by block (they arrive as
    pandas categoricals), so repeated ids never exist as millions of separate strings.
    """
    enc = "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding
    with open(path, "rb") as fh:
        header = pd.read_csv(fh, sep=sep, nrows=0, encoding=encoding).columns
    dict_type = pa.dictionary(pa.int32(), pa.string())
    # only empty cells are missing, as in the normal reader (pyarrow's default list also turns
    # "NA", "N/A", "null", "NaN" ... into nulls: the same file must give the same table either way)
    opts = pacsv.ConvertOptions(column_types={c: dict_type if c in dictionary else pa.string() for c in header},
                                strings_can_be_null=True, null_values=[""], quoted_strings_can_be_null=True)
    size = path.stat().st_size
    for block in (8 << 20, 128 << 20, 1 << 30):  # a cell longer than a block needs bigger blocks
        try:
            reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(encoding=enc, block_size=block),
                                    parse_options=pacsv.ParseOptions(delimiter=sep), convert_options=opts)
            batches = []
            with tqdm(total=size, unit="B", unit_scale=True, desc=path.name, disable=not progress) as bar:
                done = 0
                for batch in reader:
                    batches.append(batch)
                    est = min(size, done + batch.nbytes)
                    bar.update(est - done)
                    done = est
                bar.update(size - done)
            break
        except pa.ArrowInvalid as e:
            if "straddl" not in str(e) or block == 1 << 30:
                raise
    table = pa.Table.from_batches(batches, schema=reader.schema)
    return table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow", na_value=np.nan)}.get)


@public
def read_table(
    path: str | Path,
    table: str,
    *,
    mapping: Mapping[str, str] | None = None,
    tz: str = "UTC",
    sep: str | None = None,
    encoding: str | None = None,
    validate: bool = True,
    progress: bool = False,
    categorical: bool = False,
    dayfirst: bool | None = None,
    id_normalize: str | None = None,
) -> pd.DataFrame:
    """Read a CSV or Parquet export into a canonical, validated table.

    Parameters
    ----------
    path : str or Path
        ``.csv``/``.txt``/``.tsv`` (optionally ``.gz``), ``.parquet``/``.pq``, or ``.xlsx`` (first sheet).
    table : {"ratings", "conversations", "surveys"}
    mapping : dict, optional
        Source column -> canonical column, e.g. ``{"Agent Name": "agent_id"}``.
    tz : str, default="UTC"
        Zone of naive timestamps.
    sep : str, optional
        CSV delimiter; sniffed among ``, ; TAB |`` when omitted.
    encoding : str, optional
        Default: UTF-8 (with or without BOM); anything else must be named, never guessed.
    validate : bool, default=True
        Apply :func:`qakit.schema.validate` (coerce types, check every rule).
    progress : bool, default=False
        Show a progress bar; uses pyarrow's streaming CSV reader (as do files > 50 MB).
    categorical : bool, default=False
        Store low-cardinality text columns (category, agent_id, ...) as ``category`` to cut memory.
    dayfirst : bool, optional
        Day/month order of dates like ``01/02/2026`` (one order per column; see
        :func:`qakit.schema.validate`).
    id_normalize : {None, "casefold"}, default=None
        Also merge ids that differ only by case or width (see :func:`qakit.schema.validate`);
        whitespace and Unicode form are always normalised.

    Notes
    -----
    Only empty cells are missing when the file is read, by both the normal and the streaming
    reader; ``NA``, ``N/A``, ``null``, ``NaN``, ``None``, ``-`` then mean "no value" in number,
    boolean and timestamp columns (:data:`qakit.schema.MISSING_TOKENS`) and stay text in id and
    text columns.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> _ = p.write_text("Ticket;Type;Score;When\\n007;csat;5;2026-11-02 10:00\\n")
    >>> df = read_table(p, "surveys", mapping={"Ticket": "conversation_id", "Type": "kind",
    ...                                      "Score": "score", "When": "answered_at"})
    >>> df.loc[0, "conversation_id"], float(df.loc[0, "score"])
    ('007', 5.0)
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"file not found: {str(path)!r}")
    suf = _suffix(path)
    if suf in PARQUET_SUFFIXES:
        if path.stat().st_size == 0:
            raise ParameterError(f"{path.name}: file is empty")
        try:
            df = pd.read_parquet(path)
        except (OSError, ValueError, ImportError) as e:  # pyarrow's ArrowInvalid is a ValueError
            raise ParameterError(f"{path.name}: not a readable Parquet file ({_first_line(e)})") from None
    elif suf in EXCEL_SUFFIXES:
        df = read_excel(path)
    else:
        stream = progress or path.stat().st_size > STREAM_BYTES
        dictionary = (tuple(mapping_inverse(mapping).get(c, c) for c in _categorical_columns(table))
                      if categorical else ())
        df, used_sep = _read_csv(path, sep=sep, encoding=encoding, stream=stream, progress=progress,
                                 dictionary=dictionary)
        if len(df.columns) == 1 and any(c in str(df.columns[0]) for c in ";\t|,"):
            raise ParameterError(
                f"{path.name}: only one column {str(df.columns[0])!r} was found with delimiter {used_sep!r}; "
                "pass the right one, e.g. sep=';'"
            )
    cols = [str(c) for c in df.columns]
    # pandas renames a repeated header "a" to "a.1": report the original name
    dups = sorted({c.rsplit(".", 1)[0] for c in cols
                   if "." in c and c.rsplit(".", 1)[-1].isdigit() and c.rsplit(".", 1)[0] in cols}
                  | {c for c in cols if cols.count(c) > 1})
    if dups:
        raise ParameterError(f"{path.name}: duplicate column names in the header {dups}")
    if len(df) == 0:
        raise ParameterError(f"{path.name}: no data rows (header only: {cols})")
    if mapping:
        missing = [k for k in mapping if k not in df.columns]
        if missing:
            raise ParameterError(f"{path.name}: mapping names column(s) {missing} that the file does not have; columns: {cols}")
        targets = list(mapping.values())
        clash = sorted({t for t in targets if targets.count(t) > 1})
        if clash:
            raise ParameterError(f"{path.name}: mapping sends several columns to {clash}: "
                                 f"{ {k: v for k, v in mapping.items() if v in clash} }; map one column to each name")
        taken = {k: v for k, v in mapping.items() if v in df.columns and v != k and v not in mapping}
        if taken:
            raise ParameterError(
                f"{path.name}: mapping renames {list(taken)} to {list(taken.values())}, but the file already has "
                f"column(s) {list(taken.values())}; keep one: drop the other from the file, or map it to a "
                f"new name too (e.g. mapping={{..., {next(iter(taken.values()))!r}: "
                f"{next(iter(taken.values())) + '_file'!r}}})")
        df = df.rename(columns=dict(mapping))
    if validate:
        df = S.validate(df, table, tz=tz, dayfirst=dayfirst, id_normalize=id_normalize)
    if categorical:
        for c in _categorical_columns(table):
            if c in df.columns and not isinstance(df[c].dtype, pd.CategoricalDtype):
                df[c] = df[c].astype("category")
    return df


@public
def wide_to_long(
    df: pd.DataFrame,
    *,
    id_columns: Sequence[str],
    category_columns: Sequence[str] | None = None,
    mapping: Mapping[str, str] | None = None,
    na_values: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Turn a rating export with one column per category into long ratings.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per review, one column per category.
    id_columns : list of str
        Columns identifying the review (source names, renamed by ``mapping``).
    category_columns : list of str, optional
        Default: every column not in ``id_columns``.
    mapping : dict, optional
        Renames id columns to canonical names (``{"Review": "review_id"}``).
    na_values : iterable of str, optional
        Text meaning "not applicable" (-> NaN rating), matched exactly. Default: empty cells and
        the words every qakit reader treats as "no value" in a number column, in any case
        (:data:`qakit.schema.MISSING_TOKENS`: ``N/A``, ``NA``, ``null``, ``NaN``, ``None``, ``-``...).

    Returns
    -------
    pandas.DataFrame
        Id columns (renamed), ``category``, ``rating`` (float, NaN = N/A); one row per
        review x category, reviews in input order.

    Examples
    --------
    >>> w = pd.DataFrame({"Review": ["r1", "r2"], "Tone": [5, "N/A"], "Solution": ["1", "0"]})
    >>> wide_to_long(w, id_columns=["Review"], mapping={"Review": "review_id"})
      review_id  category  rating
    0        r1      Tone     5.0
    1        r1  Solution     1.0
    2        r2      Tone     NaN
    3        r2  Solution     0.0
    """
    id_columns = list(id_columns)
    missing = [c for c in id_columns if c not in df.columns]
    if missing:
        raise ParameterError(f"id_columns {missing} not in the table; columns: {list(map(str, df.columns))}")
    cats = list(category_columns) if category_columns is not None else [c for c in df.columns if c not in id_columns]
    missing = [c for c in cats if c not in df.columns]
    if missing:
        raise ParameterError(f"category_columns {missing} not in the table; columns: {list(map(str, df.columns))}")
    if not cats:
        raise ParameterError("no category columns to convert")
    long = df.reset_index(drop=True).reset_index(names="_row").melt(
        id_vars=["_row"] + id_columns, value_vars=cats, var_name=S.CATEGORY, value_name="_raw")
    long = long.sort_values(["_row"], kind="stable").reset_index(drop=True)
    raw = long["_raw"]
    text = raw.astype("str").str.strip()
    if na_values is None:
        na = raw.isna() | text.eq("") | text.str.lower().isin(S.MISSING_TOKENS)
        shown = ["", *sorted(S.MISSING_TOKENS)]
    else:
        shown = list(na_values)
        na = raw.isna() | text.isin(shown)
    num = pd.to_numeric(text.where(~na), errors="coerce")
    bad = ~na & num.isna()
    inf = np.isinf(num.to_numpy(dtype=float, na_value=np.nan))
    if bad.any() or inf.any():
        rid = long[id_columns[0]].astype("str")
        problems = Problems("ratings (wide)", row_ids=rid)
        for cat in pd.unique(long.loc[bad | inf, S.CATEGORY]):
            m = long[S.CATEGORY].eq(cat).to_numpy()
            problems.add(str(cat), f"not a number nor an N/A token ({shown})", bad.to_numpy() & m, raw)
            problems.add(str(cat), "not a finite number (inf)", inf & m, raw)
        problems.raise_if_any()
    out = long.drop(columns=["_row", "_raw"]).assign(**{S.RATING: num.astype("float64")})
    if mapping:
        out = out.rename(columns=dict(mapping))
    return out


@public
def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a table to Parquet or (formula-safe) CSV, by extension; returns the path."""
    path = Path(path)
    suf = _suffix(path)
    if suf in PARQUET_SUFFIXES:
        df.to_parquet(path, index=False)
    else:
        to_csv_safe(df, path)
    return path


@public
def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` whose text cells and column names cannot run as spreadsheet formulas.

    Text starting with ``=``, ``+``, ``-``, ``@``, TAB or CR gets a leading apostrophe
    (OWASP "CSV injection"), in text, object and categorical columns (the categories are
    neutralised) and in the header; numbers, including negative ones, are left as numbers.

    Examples
    --------
    >>> neutralise_formulas(pd.DataFrame({"a": ["=1+1", "ok", "-2"], "b": [-1, 2, 3]}))
          a  b
    0  '=1+1 -1
    1    ok  2
    2   '-2  3
    >>> neutralise_formulas(pd.DataFrame({"=cmd()": pd.Categorical(["@x", "y"])})).to_dict("list")
    {"'=cmd()": ["'@x", 'y']}
    """
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = s.cat.categories
            safe = pd.Index([_safe_text(v) for v in cats], dtype=object)
            if not safe.equals(pd.Index(cats, dtype=object)):
                if safe.is_unique:
                    out[c] = s.cat.rename_categories(list(safe))
                else:  # "=1" and "'=1" both present: plain text, same cells
                    out[c] = pd.Series(safe.take(s.array.codes, allow_fill=True, fill_value=None),
                                       index=s.index, dtype=object)
        elif pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
            txt = s.astype("str")
            risky = s.notna() & s.map(lambda v: isinstance(v, str)) & txt.str.startswith(_FORMULA_START)
            if risky.any():
                out[c] = s.where(~risky, "'" + txt)
    if any(isinstance(c, str) and c.startswith(_FORMULA_START) for c in out.columns):
        out.columns = [_safe_text(c) for c in out.columns]
    return out


def _safe_text(v):
    return "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v


@public
def to_csv_safe(df: pd.DataFrame, path: str | Path | None = None) -> str | None:
    """Write CSV with formula injection neutralised (see :func:`neutralise_formulas`).

    Returns the CSV text when ``path`` is None.
    """
    safe = neutralise_formulas(df)
    if path is None:
        return safe.to_csv(index=False)
    safe.to_csv(path, index=False)
    return None


# --- the public API: every function listed here is decorated with @public on its def (shared parameters
# checked by name; every result stamped with its exclusion record) -----------------------------------
__all__ = [
    "read_table",
    "wide_to_long",
    "write_table",
    "neutralise_formulas",
    "to_csv_safe",
]
