"""Scorecards: categories, weights, critical and fail rules, sections -> review scores and IQS.

The package is split so a reader sees each part apart:

- :mod:`qakit.scorecard.card`: the card definition (:class:`Scale`, :class:`Category`,
  :class:`Section`, :class:`Scorecard`), the scoring modes' formulas, YAML/JSON loading;
- :mod:`qakit.scorecard.validate`: ratings checked against the card, step by step;
- :mod:`qakit.scorecard.engine`: the single review-scoring engine (:func:`score_matrix`);
- :mod:`qakit.scorecard.aggregate`: :func:`iqs_score`, :func:`category_scores` and the one
  per-group mean + Student-t CI helper (:func:`group_mean_ci`).
"""

from .aggregate import _mean_table, category_scores, code_stats, group_mean_ci, iqs_score
from .card import (
    FAIL_RULES,
    MODES,
    NA_POLICIES,
    PASS_TOLERANCE,
    SECTIONS_COMBINE,
    Category,
    Scale,
    Scorecard,
    Section,
    load_scorecard,
    load_scorecard_json,
    load_scorecard_text,
    normalise_name,
    parse_scale,
    scorecard_from_dict,
)
from .engine import CardArrays, EngineResult, score_matrix, score_reviews
from .validate import _as_registry, as_cards, prepare, with_score_columns

__all__ = [
    "FAIL_RULES", "MODES", "NA_POLICIES", "PASS_TOLERANCE", "SECTIONS_COMBINE", "CardArrays",
    "Category", "EngineResult", "Scale", "Scorecard", "Section", "category_scores", "iqs_score", "load_scorecard",
    "load_scorecard_json", "load_scorecard_text", "normalise_name", "parse_scale", "score_matrix", "score_reviews",
    "scorecard_from_dict",
]
