"""Automatic scoring of every conversation, measured against the team's own reviewers.

- :mod:`~qakit.autoqa.rules`: rule-based categories (greeting, closing, apology / empathy, further
  help, thanks; custom phrase and regex categories from YAML) with evidence positions.
- :mod:`~qakit.autoqa.lexicon`: readability, spelling, customer sentiment (offline word lists).
- :mod:`~qakit.autoqa.learned`: categories learned from the team's own ratings (TF-IDF + logistic
  regression, grouped cross-validation, kappa against the humans with a bootstrap CI).
- :mod:`~qakit.autoqa.output`: automatic ratings in the long ratings format (``reviewer_id =
  "auto"``), AQS kept apart from IQS, risk flags for review sampling.

Conversation text never leaves these functions: results carry counts, ratings and evidence
positions (message id, character span), never the text.
"""

from .rules import DEFAULT_RULES, Rule, detect, load_rules

__all__ = ["DEFAULT_RULES", "Rule", "detect", "load_rules"]
