"""Scorecards: categories, weights, critical and fail rules, sections -> review scores and IQS.

The package is split so a reader sees each part apart:

- :mod:`qakit.scorecard.card`: the card definition (:class:`Scale`, :class:`Category`,
  :class:`Section`, :class:`Scorecard`) and YAML/JSON loading;
- :mod:`qakit.scorecard.validate`: ratings checked against the card;
- :mod:`qakit.scorecard.engine`: the single review-scoring engine;
- :mod:`qakit.scorecard.aggregate`: :func:`iqs_score`, :func:`category_scores` and the one
  per-group mean + Student-t CI helper.
"""

from .aggregate import _group_stats_fast, _mean_table, _with_period, category_scores, iqs_score
from .card import (
    FAIL_RULES,
    MODES,
    PASS_TOLERANCE,
    Category,
    Scale,
    Scorecard,
    Section,
    load_scorecard,
    load_scorecard_text,
    parse_scale,
    scorecard_from_dict,
)
from .engine import score_reviews
from .validate import _as_registry, _prepare, _with_score_columns

__all__ = [
    "FAIL_RULES", "MODES", "PASS_TOLERANCE", "Category", "Scale", "Scorecard", "Section", "category_scores",
    "iqs_score", "load_scorecard", "load_scorecard_text", "parse_scale", "score_reviews", "scorecard_from_dict",
]
