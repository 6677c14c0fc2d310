"""Reading and writing tables: CSV/Parquet readers with column mappings, wide-to-long, safe CSV.

Readers never unpickle and never evaluate anything from a file.  Every problem with a file
(empty, header only, not UTF-8, duplicate headers, a mapping key that is not there) is a
:class:`~qakit.errors.ParameterError` naming the file; problems in the rows are one
:class:`~qakit.errors.DataValidationError` from :func:`qakit.schema.validate`.
"""

from __future__ import annotations

import csv
import io as _io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema as S
from .errors import ParameterError, Problems

CSV_SUFFIXES = (".csv", ".txt", ".tsv", ".csv.gz", ".txt.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
#: files larger than this are read with pyarrow's streaming reader
STREAM_BYTES = 50 * 2**20
#: low-cardinality columns turned into ``category`` with ``categorical=True``
CATEGORICAL_COLUMNS = (S.CATEGORY, S.AGENT_ID, S.REVIEWER_ID, S.CHANNEL, S.PRIORITY, S.KIND,
                       S.STATUS, S.SCORECARD_VERSION, S.TEAM)
NA_TOKENS = ("N/A", "NA", "n/a", "na", "-", "")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suf in CSV_SUFFIXES + PARQUET_SUFFIXES:
        if name.endswith(suf):
            return suf
    raise ParameterError(
        f"{path.name}: unsupported file type; use one of {list(CSV_SUFFIXES + PARQUET_SUFFIXES)}"
    )


def _check_encoding(raw: bytes, path: Path, encoding: str | None) -> str:
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
    opener = __import__("gzip").open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        head = fh.read(1 << 16)
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
                with opener(path, "rb") as fh:
                    _check_encoding(fh.read(), path, None)
            df = pd.read_csv(path, sep=sep, dtype="str", keep_default_na=False, na_values=[""],
                             encoding=enc, lineterminator=None, compression="infer")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as e:
        if isinstance(e, ParameterError):
            raise
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ParameterError(f"{path.name}: cannot be read as CSV with delimiter {sep!r} ({first}); "
                             "check quoting, the delimiter (sep=) and the encoding (encoding=)") from None
    return df, sep


def _read_csv_stream(path: Path, *, sep: str, encoding: str, progress: bool,
                     dictionary: tuple[str, ...] = ()) -> pd.DataFrame:
    """Stream a large CSV with pyarrow in blocks (bounded memory, progress on bytes).

    Columns named in ``dictionary`` are dictionary-encoded block by block (they arrive as
    pandas categoricals), so repeated ids never exist as millions of separate strings.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    from tqdm.auto import tqdm

    enc = "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding
    with open(path, "rb") as fh:
        header = pd.read_csv(fh, sep=sep, nrows=0, encoding=encoding).columns
    dict_type = pa.dictionary(pa.int32(), pa.string())
    opts = pacsv.ConvertOptions(column_types={c: dict_type if c in dictionary else pa.string() for c in header},
                                strings_can_be_null=True)
    reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(encoding=enc, block_size=8 << 20),
                            parse_options=pacsv.ParseOptions(delimiter=sep), convert_options=opts)
    size = path.stat().st_size
    batches = []
    with tqdm(total=size, unit="B", unit_scale=True, desc=path.name, disable=not progress) as bar:
        done = 0
        for batch in reader:
            batches.append(batch)
            est = min(size, done + batch.nbytes)
            bar.update(est - done)
            done = est
        bar.update(size - done)
    table = pa.Table.from_batches(batches, schema=reader.schema)
    return table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow", na_value=np.nan)}.get)


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
) -> pd.DataFrame:
    """Read a CSV or Parquet export into a canonical, validated table.

    Parameters
    ----------
    path : str or Path
        ``.csv``/``.txt``/``.tsv`` (optionally ``.gz``) or ``.parquet``/``.pq``.
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
        df = pd.read_parquet(path)
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
        df = df.rename(columns=dict(mapping))
    if validate:
        df = S.validate(df, table, tz=tz)
    if categorical:
        for c in _categorical_columns(table):
            if c in df.columns and not isinstance(df[c].dtype, pd.CategoricalDtype):
                df[c] = df[c].astype("category")
    return df


def wide_to_long(
    df: pd.DataFrame,
    *,
    id_columns: Sequence[str],
    category_columns: Sequence[str] | None = None,
    mapping: Mapping[str, str] | None = None,
    na_values: Iterable[str] = NA_TOKENS,
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
    na_values : iterable of str
        Text meaning "not applicable" (-> NaN rating).

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
    na = raw.isna() | text.isin(list(na_values))
    num = pd.to_numeric(text.where(~na), errors="coerce")
    bad = ~na & num.isna()
    inf = np.isinf(num.to_numpy(dtype=float, na_value=np.nan))
    if bad.any() or inf.any():
        rid = long[id_columns[0]].astype("str")
        problems = Problems("ratings (wide)", row_ids=rid)
        for cat in pd.unique(long.loc[bad | inf, S.CATEGORY]):
            m = long[S.CATEGORY].eq(cat).to_numpy()
            problems.add(str(cat), f"not a number nor an N/A token ({list(na_values)})", bad.to_numpy() & m, raw)
            problems.add(str(cat), "not a finite number (inf)", inf & m, raw)
        problems.raise_if_any()
    out = long.drop(columns=["_row", "_raw"]).assign(**{S.RATING: num.astype("float64")})
    if mapping:
        out = out.rename(columns=dict(mapping))
    return out


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a table to Parquet or (formula-safe) CSV, by extension; returns the path."""
    path = Path(path)
    suf = _suffix(path)
    if suf in PARQUET_SUFFIXES:
        df.to_parquet(path, index=False)
    else:
        to_csv_safe(df, path)
    return path


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` whose text cells cannot run as spreadsheet formulas.

    Text starting with ``=``, ``+``, ``-``, ``@``, TAB or CR gets a leading apostrophe
    (OWASP "CSV injection"); numbers, including negative ones, are left as numbers.

    Examples
    --------
    >>> neutralise_formulas(pd.DataFrame({"a": ["=1+1", "ok", "-2"], "b": [-1, 2, 3]}))
          a  b
    0  '=1+1 -1
    1    ok  2
    2   '-2  3
    """
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
            txt = s.astype("str")
            risky = s.notna() & s.map(lambda v: isinstance(v, str)) & txt.str.startswith(_FORMULA_START)
            if risky.any():
                out[c] = s.where(~risky, "'" + txt)
    return out


def to_csv_safe(df: pd.DataFrame, path: str | Path | None = None) -> str | None:
    """Write CSV with formula injection neutralised (see :func:`neutralise_formulas`).

    Returns the CSV text when ``path`` is None.
    """
    safe = neutralise_formulas(df)
    if path is None:
        return safe.to_csv(index=False)
    safe.to_csv(path, index=False)
    return None


# --- the public API: every function listed here is wrapped by qakit._public.public (shared parameters
# checked by name; every result stamped with its exclusion record) -----------------------------------
__all__ = [
    "read_table",
    "wide_to_long",
    "write_table",
    "neutralise_formulas",
    "to_csv_safe",
]

from ._public import wrap_all  # noqa: E402  (at the end: wraps the functions defined above)

wrap_all(globals())
