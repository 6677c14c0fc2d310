"""Deprecated (until qakit 0.3): ``qakit.engines.<name>(source, engine=...)``.

Every metric now takes ``engine=`` itself and runs its one definition (:mod:`qakit.metrics`) on
pandas, Polars, DuckDB or Spark: ``qakit.csat_score(data, engine="duckdb")``,
``card.score(ratings, engine="polars")``, ``qakit.iqs_score(ratings, card=card, engine="spark")``.
The names here still work for one release: each warns ``FutureWarning`` and calls the public
function (default ``engine="duckdb"``, as before). ``validate=False`` no longer skips the checks
(the contract is checked on every engine). An Ibis connection as ``engine`` is read as its DuckDB
connection or Spark session.

:func:`duckdb_connection` and :func:`spark_connection` stay: the shared DuckDB connection (UTC) and
the Spark session qakit uses (now the native objects, no longer Ibis connections); :func:`set_duckdb_memory`
bounds the DuckDB connection's working memory (it spills to a temporary folder beyond it).
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import kpis as K
from .. import scorecard as SC
from .._public import REMOVED_IN, public
from ..errors import ParameterError
from ..metrics._source import ENGINES, duckdb_connection, set_duckdb_memory, spark_session


def _warn(name: str, instead: str) -> None:
    warnings.warn(f"qakit.engines.{name} is deprecated and stops working in {REMOVED_IN}: use {instead} "
                  "(see CHANGELOG.md)", FutureWarning, stacklevel=3)


def _engine(engine: Any) -> Any:
    """An old-style engine (a name or an Ibis connection) as the new ``engine=``."""
    if engine is None or isinstance(engine, str):
        return engine
    name = getattr(engine, "name", None)
    if type(engine).__module__.startswith("ibis") and name == "duckdb":
        return engine.con
    if type(engine).__module__.startswith("ibis") and name == "pyspark":
        return engine._session
    return engine


@public
def connection(engine: Any = "duckdb") -> Any:
    """Deprecated: the DuckDB connection or Spark session qakit runs ``engine`` on.

    Parameters
    ----------
    engine : {"duckdb", "spark"}, default="duckdb"
    """
    _warn("connection", "qakit.engines.duckdb_connection() or spark_connection()")
    if engine == "duckdb":
        return duckdb_connection()
    if engine == "spark":
        return spark_session()
    raise ParameterError(f"engine must be 'duckdb' or 'spark'; got {engine!r}")


@public
def spark_connection(session: Any = None) -> Any:
    """The Spark session qakit runs ``engine="spark"`` on: ``session``, the active one, or a local
    one made once (``local[2]``, UTC); its session time zone must be UTC.

    Parameters
    ----------
    session : pyspark.sql.SparkSession, optional
    """
    return spark_session(session)


def _alias(name: str, fn: Any, instead: str, *, card: bool = False) -> Any:
    def alias(source: Any, *args: Any, engine: Any = "duckdb", validate: bool = True, **kwargs: Any) -> Any:
        _warn(name, instead)
        return fn(source, *args, engine=_engine(engine), **kwargs)

    alias.__name__ = alias.__qualname__ = name
    alias.__doc__ = (f"Deprecated alias of {instead} (``engine`` default ``\"duckdb\"``).\n\n"
                     "Parameters\n----------\nsource : the input table\nengine : see the public function\n")
    return public(alias)


def _iqs(source: Any, card: Any, *, engine: Any = "duckdb", validate: bool = True, **kwargs: Any) -> Any:
    _warn("iqs_score", "qakit.iqs_score(ratings, card=card, engine=...)")
    return SC.iqs_score(source, card=card, engine=_engine(engine), **kwargs)


_iqs.__name__ = _iqs.__qualname__ = "iqs_score"
_iqs.__doc__ = "Deprecated alias of ``qakit.iqs_score(ratings, card=card, engine=...)``."
iqs_score = public(_iqs)
score_reviews = _alias("score_reviews", SC.score_reviews, "qakit.score_reviews(ratings, card, engine=...)")
category_scores = _alias("category_scores", SC.category_scores, "qakit.category_scores(ratings, card, engine=...)")
csat_score = _alias("csat_score", K.csat_score, "qakit.csat_score(data, engine=...)")
nps_score = _alias("nps_score", K.nps_score, "qakit.nps_score(data, engine=...)")
ces_score = _alias("ces_score", K.ces_score, "qakit.ces_score(data, engine=...)")
first_response_time = _alias("first_response_time", K.first_response_time, "qakit.first_response_time(data, engine=...)")
resolution_time = _alias("resolution_time", K.resolution_time, "qakit.resolution_time(data, engine=...)")
fcr_rate = _alias("fcr_rate", K.fcr_rate, "qakit.fcr_rate(data, engine=...)")
escalation_rate = _alias("escalation_rate", K.escalation_rate, "qakit.escalation_rate(data, engine=...)")
resolution_rate = _alias("resolution_rate", K.resolution_rate, "qakit.resolution_rate(data, engine=...)")
sla_attainment = _alias("sla_attainment", K.sla_attainment, "qakit.sla_attainment(data, engine=...)")
service_level = _alias("service_level", K.service_level, "qakit.service_level(data, engine=...)")
backlog = _alias("backlog", K.backlog, "qakit.backlog(data, engine=...)")

__all__ = ["ENGINES", "connection", "duckdb_connection", "set_duckdb_memory", "spark_connection",
           "score_reviews", "iqs_score", "category_scores",
           "csat_score", "nps_score", "ces_score", "first_response_time", "resolution_time", "fcr_rate",
           "escalation_rate", "resolution_rate", "sla_attainment", "service_level", "backlog"]
