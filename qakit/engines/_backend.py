"""Where the data lives and which engine runs the expressions.

``source`` is a pandas DataFrame, a Parquet file or folder (``str``/``Path``), or an Ibis table;
``engine`` is ``"pandas"``, ``"duckdb"``, ``"spark"`` or an Ibis connection (BigQuery, Snowflake,
Trino ... run the same expressions; only DuckDB and Spark local are tested here).

Timestamps are UTC instants: a DataFrame's tz-aware columns are converted to naive UTC before
they reach the engine, and the DuckDB connections made here run with ``TimeZone='UTC'`` (Spark
sessions made here with ``spark.sql.session.timeZone=UTC``), so periods are UTC periods exactly
as in the pandas functions. Pass your own connection with the same setting.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError

ENGINES = ("pandas", "duckdb", "spark")


def _ibis():
    try:
        import ibis
    except ImportError as e:  # pragma: no cover - the test extra installs it
        raise ParameterError(
            "engine needs the ibis-framework package: pip install 'ibis-framework[duckdb]'"
        ) from e
    return ibis


@functools.lru_cache(maxsize=1)
def duckdb_connection():
    """A shared in-process DuckDB connection (UTC session time zone)."""
    ibis = _ibis()
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone='UTC'")
    return con


_SPARK: dict[str, Any] = {}


def spark_connection(session: Any = None):
    """An Ibis PySpark connection on ``session``, or on a local Spark (``local[2]``, UI off,
    2 shuffle partitions, UTC) created once per process."""
    ibis = _ibis()
    if session is None:
        if "con" in _SPARK:
            return _SPARK["con"]
        try:
            from pyspark.sql import SparkSession
        except ImportError as e:  # pragma: no cover
            raise ParameterError("engine='spark' needs pyspark (pip install pyspark) and a JDK") from e
        session = (
            SparkSession.builder.master("local[2]").appName("qakit")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.memory", "2g")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        _SPARK["con"] = ibis.pyspark.connect(session)
        return _SPARK["con"]
    return ibis.pyspark.connect(session)


def connection(engine: Any):
    """The Ibis connection for ``engine`` (``"duckdb"``, ``"spark"`` or a connection)."""
    if isinstance(engine, str):
        if engine == "duckdb":
            return duckdb_connection()
        if engine == "spark":
            return spark_connection()
        raise ParameterError(f"engine must be one of {list(ENGINES)} or an Ibis connection; got {engine!r}")
    if hasattr(engine, "execute") and hasattr(engine, "name"):
        return engine
    raise ParameterError(f"engine must be one of {list(ENGINES)} or an Ibis connection; got {engine!r}")


def backend_name(con: Any) -> str:
    return str(getattr(con, "name", "?"))


def _arrow_for_engine(df: pd.DataFrame):
    """A pandas table as Arrow for an engine: categoricals -> strings, tz-aware -> naive UTC,
    float NaN -> null (N/A is null in SQL; NaN would poison sums and means on Spark)."""
    import pyarrow as pa

    cols = {}
    for c in df.columns:
        s = df[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype("str")
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        if s.dtype == "boolean":
            cols[str(c)] = pa.array(s.to_numpy(dtype=object, na_value=None), type=pa.bool_())
            continue
        if pd.api.types.is_float_dtype(s.dtype):
            v = s.to_numpy(dtype=float, na_value=np.nan)
            cols[str(c)] = pa.array(v, mask=np.isnan(v))
            continue
        cols[str(c)] = pa.Array.from_pandas(s)
    return pa.table(cols)


_IBIS_NOISE = (".*future.infer_string.*", ".*fetch_arrow_table.*")


class _quiet:
    """Silence two harmless deprecation warnings Ibis 12.0.0 triggers in pandas 3.1
    (``future.infer_string``) and DuckDB 2.0 (``fetch_arrow_table``), for one call."""

    def __enter__(self):
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        for m in _IBIS_NOISE:
            warnings.filterwarnings("ignore", message=m)

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


def table(source: Any, con: Any):
    """``source`` as an Ibis table on ``con``."""
    if backend_name(con) == "duckdb" and not isinstance(source, pd.DataFrame):
        _duckdb_without_nan_folding(con)
    with _quiet():
        return _table(source, con)


def _duckdb_without_nan_folding(con) -> None:
    """DuckDB 2.0.1 folds ``isnan(x)`` to false from Parquet statistics, which leave NaN out
    (a NaN rating would then count as rated: a silently wrong number). Its statistics-propagation
    optimizer is switched off on connections that read files for qakit (added to any optimizers
    the connection already disables); ``tests/test_engines_parity.py`` pins the behaviour."""
    cur = con.raw_sql("SELECT current_setting('disabled_optimizers')").fetchone()[0] or ""
    names = [x.strip() for x in str(cur).split(",") if x.strip()]
    if "statistics_propagation" not in names:
        names.append("statistics_propagation")
        con.raw_sql(f"SET disabled_optimizers = '{','.join(names)}'")


def _table(source: Any, con: Any):
    ibis = _ibis()
    if isinstance(source, ibis.expr.types.Table):
        return source
    if isinstance(source, pd.DataFrame):
        t = ibis.memtable(_arrow_for_engine(source))
        return t
    if isinstance(source, (list, tuple)) and source and all(isinstance(x, (str, Path)) for x in source):
        missing = [str(x) for x in source if not Path(x).exists()]
        if missing:
            raise ParameterError(f"source: no such Parquet file(s) {missing[:3]}")
        return con.read_parquet([str(x) for x in source])
    if isinstance(source, (str, Path)):
        p = Path(source)
        if not p.exists():
            raise ParameterError(f"source {str(source)!r}: no such file or folder")
        if p.is_dir():
            pattern = str(p / "**" / "*.parquet")
            if backend_name(con) == "duckdb":
                return con.read_parquet(pattern, hive_partitioning=True)
            return con.read_parquet(str(p))
        return con.read_parquet(str(p))
    raise ParameterError(
        f"source must be a pandas DataFrame, a Parquet file or folder, or an Ibis table; got {type(source).__name__}"
    )


def read_pandas(source: Any) -> pd.DataFrame:
    """``source`` as a pandas DataFrame (for ``engine="pandas"``)."""
    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, (list, tuple)) and source and all(isinstance(x, (str, Path)) for x in source):
        return pd.concat([pd.read_parquet(x) for x in source], ignore_index=True)
    if isinstance(source, (str, Path)):
        p = Path(source)
        if not p.exists():
            raise ParameterError(f"source {str(source)!r}: no such file or folder")
        return pd.read_parquet(p)
    ibis = _ibis()
    if isinstance(source, ibis.expr.types.Table):
        return source.to_pandas()
    raise ParameterError(
        f"source must be a pandas DataFrame, a Parquet file or folder, or an Ibis table; got {type(source).__name__}"
    )


def epoch_us(con: Any, ts: Any):
    """Microseconds since the epoch of a timestamp expression (exact: no truncation to
    seconds), with each backend's own function; other backends: a clear error."""
    import ibis.expr.datatypes as dt

    ibis = _ibis()
    name = backend_name(con)
    fn = {"duckdb": "epoch_us", "pyspark": "unix_micros", "bigquery": "unix_micros",
          "trino": "to_unixtime"}.get(name)
    if fn is None:
        raise ParameterError(
            f"durations on backend {name!r}: no exact epoch function known to qakit.engines; "
            "use engine='duckdb' or 'spark'"
        )
    f = ibis.udf.scalar.builtin(name=fn, signature=((dt.timestamp,), dt.int64))(lambda a: None)
    return f(ts.cast(dt.timestamp))


def execute(con: Any, expr: Any) -> pd.DataFrame:
    """Run ``expr`` on ``con`` and return a pandas DataFrame (small results only).

    Ibis 12's pandas conversion reads the deprecated ``future.infer_string`` option (a
    Pandas4Warning under pandas 3, harmless): silenced here, for this call only."""
    with _quiet():
        return con.execute(expr)


__all__ = ["connection", "spark_connection"]

from .._public import wrap_all  # noqa: E402  (at the end: wraps the functions defined above)

wrap_all(globals())
