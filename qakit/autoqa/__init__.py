"""Automatic scoring of every conversation, measured against the team's own reviewers.

- :mod:`~qakit.autoqa.rules`: rule-based categories (greeting, closing, apology, empathy, further
  help, thanks in en/de/pt/es/fr; custom phrase and RE2 regex categories from the scorecard YAML's
  ``auto:`` blocks or a rules YAML) with evidence positions; :func:`rule_accuracy` measures them
  against labels a person gave (precision, recall, Wilson CIs).
- :mod:`~qakit.autoqa.lexicon`: readability, spelling, customer sentiment (offline word lists).
- :mod:`~qakit.autoqa.learned`: categories learned from the team's own ratings (TF-IDF + logistic
  regression, leave-one-client/team/month-out evidence, kappa against the humans with a bootstrap
  CI, a qualification gate on the interval's lower bound and coverage).
- :mod:`~qakit.autoqa.output`: automatic ratings in the long ratings format (``reviewer_id =
  "auto"``), AQS kept apart from IQS, risk flags for review sampling.

Conversation text never leaves these functions: results carry counts, ratings and evidence
positions (message id, character span), never the text.
"""

from .learned import TextModel, cross_validate, kappa_agreement, qualification
from .lexicon import customer_sentiment, readability, spelling
from .output import (
    ESCALATION_RULE,
    aqs_score,
    aqs_vs_iqs,
    auto_ratings,
    learned_ratings,
    risk_signals,
    sample_for_review,
)
from .rules import BUILTIN_RULES, DEFAULT_RULES, Rule, auto_scorecard, detect, load_rules, rule_accuracy, rules_from_card

__all__ = [
    "BUILTIN_RULES", "DEFAULT_RULES", "ESCALATION_RULE", "Rule", "TextModel", "aqs_score", "auto_scorecard", "aqs_vs_iqs", "auto_ratings",
    "cross_validate", "customer_sentiment", "detect", "kappa_agreement", "learned_ratings", "load_rules",
    "qualification", "readability", "risk_signals", "rule_accuracy", "rules_from_card", "sample_for_review", "spelling",
]
