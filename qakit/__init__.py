"""qakit: customer-service quality assurance analysis kit."""
__version__ = "0.1.0"

from . import datasets, errors, intervals, io, schema, synth
from .errors import (
    DataValidationError,
    ParameterError,
    QakitError,
    ScorecardError,
    SmallSampleWarning,
    UndefinedMetricWarning,
)
from .io import read_table, to_csv_safe, wide_to_long, write_table
from .schema import exclusions, validate
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
