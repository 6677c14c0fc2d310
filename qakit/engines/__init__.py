"""The same metric definitions on DuckDB (embedded) and Spark, via Ibis.

``engine="pandas"`` runs the reference functions of :mod:`qakit.scorecard` and :mod:`qakit.kpis`;
``"duckdb"`` (default here: large and larger-than-memory data, Parquet folders read directly),
``"spark"`` (a local Spark session, or pass ``ibis.pyspark.connect(spark)``) or any Ibis
connection run the expressions of this package. Results are the same tidy DataFrames with the
same columns; ``tests/test_engines_parity.py`` holds every metric equal across engines to 1e-9.
FCR, SLA attainment, backlog and ``period=`` on the customer KPIs are refused by name on
engines (issue 12 changed them in :mod:`qakit.kpis`; ``engine="pandas"`` answers).
"""

from ._backend import ENGINES, connection, duckdb_connection, spark_connection
from .kpis import (backlog, ces_score, csat_score, escalation_rate, fcr_rate, first_response_time, nps_score,
                   resolution_rate, resolution_time, service_level, sla_attainment)
from .scoring import category_scores, iqs_score, score_reviews

__all__ = ["ENGINES", "connection", "duckdb_connection", "spark_connection",
           "score_reviews", "iqs_score", "category_scores",
           "csat_score", "nps_score", "ces_score", "first_response_time", "resolution_time", "fcr_rate",
           "escalation_rate", "resolution_rate", "sla_attainment", "service_level", "backlog"]
