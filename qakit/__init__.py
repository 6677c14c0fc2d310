"""qakit: customer-service quality assurance analysis kit.

Modules: :mod:`qakit.scorecard` (scorecards, IQS), :mod:`qakit.kpis` (customer KPIs),
:mod:`qakit.stats` (IQS vs CSAT, per-agent uncertainty), :mod:`qakit.tuning` (card comparison,
weight fitting), :mod:`qakit.calibration` (reviewer agreement), :mod:`qakit.sampling` (review
sampling plans), :mod:`qakit.impact` (before/after tests), :mod:`qakit.coaching` (coaching effect),
:mod:`qakit.health` (scorecard health), :mod:`qakit.surveys` (response bias, weighted CSAT),
:mod:`qakit.compare` (group comparisons), :mod:`qakit.staffing` (Erlang C/A),
:mod:`qakit.metrics` (each KPI defined once for pandas, Polars, DuckDB and Spark), :mod:`qakit.realdata` (real public
exports), :mod:`qakit.report` (the report and the notebooks' display: data loading, tiles, views,
scheduled runs), :mod:`qakit.widgets` (tuning explorer).
"""
__version__ = "0.2.0"

from . import (
    calibration,
    datasets,
    errors,
    impact,
    intervals,
    io,
    kpis,
    sampling,
    schema,
    stats,
    synth,
    tuning,
)
from .calibration import agreement, cohen_kappa, pairwise_kappa, reviewer_bias
from .errors import (
    DataValidationError,
    ParameterError,
    QakitError,
    ScorecardError,
    SmallSampleWarning,
    UndefinedMetricWarning,
)
from .impact import compare_periods
from .io import read_table, to_csv_safe, wide_to_long, write_table
from .kpis import (
    BusinessHours,
    abandonment_rate,
    backlog,
    ces_score,
    cost_per_contact,
    csat_score,
    customer_cost_value,
    escalation_rate,
    fcr_rate,
    first_response_time,
    handle_time,
    interactions_per_issue,
    kpi_results,
    kpi_summary,
    nps_score,
    resolution_rate,
    resolution_time,
    service_level,
    sla_attainment,
    summary_table,
)
from .sampling import risk_score, sample_random, sample_risk_based, sample_stratified, weighted_iqs
from .schema import exclusions, validate, validate_links
from .scorecard import (
    Category,
    Scorecard,
    Section,
    category_scores,
    iqs_score,
    load_scorecard,
    load_scorecard_text,
    parse_scale,
    score_reviews,
)
from .stats import (
    agent_summary,
    category_correlations,
    iqs_csat_correlation,
    key_drivers,
    sample_size_plan,
)
from .tuning import compare_scorecards, fit_weights

# vendor exports and QA operations (issue 14)
from . import exports, ops  # noqa: E402
from .exports import read_export, reconcile  # noqa: E402
from . import autoqa  # noqa: E402  automatic scoring (issue 18): qakit.autoqa.detect, .aqs_score, ...
from . import coaching, compare, health, staffing, surveys  # noqa: E402
from .calibration import gwet_ac  # noqa: E402
from .coaching import coaching_effect  # noqa: E402
from .compare import compare_groups  # noqa: E402
from .health import scorecard_health  # noqa: E402
from .staffing import erlang_a, erlang_c, required_agents, staffing_check  # noqa: E402
from .surveys import csat_bounds, response_rate, weighted_csat  # noqa: E402
