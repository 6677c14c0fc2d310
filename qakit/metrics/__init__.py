"""The metric-definition layer: every KPI and the scorecard's rules written once, run on pandas,
Polars, DuckDB and Spark (design: ``docs/design/metrics.md``; user guide: ``docs/guide/engines.md``).

- :mod:`._source`: what the user passes (a pandas or Polars frame, a Parquet file or folder, a
  DuckDB relation, a Spark DataFrame, an Ibis table) and the engine that runs it;
- :mod:`._contract`: the data contract of :mod:`qakit.schema` executed on that engine (one
  aggregate query counts every problem);
- :mod:`._groups` and :mod:`._finish`: group and period keys, itemised exclusions, and the
  statistics (Wilson, Student t, order statistics, NPS) on the small per-group result;
- one module per KPI family, each KPI's single definition: :mod:`.surveys` (CSAT, NPS, CES),
  :mod:`.times` (first response, resolution, handle time), :mod:`.conversations` (FCR, resolution
  and escalation rates, interactions per issue, backlog), :mod:`.sla`, :mod:`.calls` (service
  level, abandonment), :mod:`.cost`;
- :mod:`._review` (the card's review rules, on numpy arrays or expressions) and :mod:`.scoring`
  (the compiled card on Polars, DuckDB and Spark).

The public functions stay in :mod:`qakit.kpis` and :mod:`qakit.scorecard`, each with ``engine=``.
This package never imports those (they sit above it).
"""
