# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Automatic QA: every conversation scored, checked against your own reviewers
#
# Rule-based categories (greeting, closing, apology / empathy, further help, thanks, and your own
# phrase or regex categories) rate every conversation, with the position of the matching phrase as
# evidence; a category your reviewers rate by hand can be learned from their ratings. Before a
# learned category is used, its agreement with the humans (Cohen's kappa, bootstrap CI, on
# conversations the model never saw) must reach the human-human agreement or your threshold.
# The automatic score (AQS) is kept apart from the human IQS. No conversation text is shown here:
# only counts, ratings and evidence positions.

# %% tags=["parameters"]
messages_path: str = ""  # help: messages table as .csv or .parquet with conversation_id, message_id, author_role, agent_id, sent_at, text - empty means MAIA-DQE from the shared data
ratings_path: str = ""  # help: human ratings in the long format to learn from and to compute IQS - empty means the MAIA-DQE labels
scorecard_path: str = ""  # help: scorecard YAML whose categories carry auto blocks with phrase or regex lists per language - empty means rules_path or the built-in categories
rules_path: str = ""  # help: YAML file with custom phrase or regex categories - empty means the built-in categories only
learned_category: str = "Understanding"  # help: a category your reviewers rate, to learn from their ratings
seed: int = 0  # help: seed of the cross-validation folds, the bootstrap and the review sample
n_resamples: int = 1000  # help: bootstrap resamples for the kappa confidence intervals
kappa_threshold: float = 0.6  # help: kappa a learned category must reach to be scored automatically (used when no human-human agreement is available)
sample_n: int = 20  # help: how many conversations to pick for human review

# %%
import qakit
from qakit import autoqa, realdata

# %% [markdown]
# ## The data
# Messages and human ratings; with empty paths, MAIA-DQE's real support chats (English side) and
# their human labels per dialogue.

# %%
maia = realdata.load_maia() if not (messages_path and ratings_path) else None
messages = qakit.read_table(messages_path, "messages") if messages_path else maia["messages"]
ratings = qakit.read_table(ratings_path, "ratings") if ratings_path else maia["ratings"]

# %%
qakit.exclusions(messages)

# %% [markdown]
# ## Rule-based categories
# One row per conversation and category: rating 1 found, 0 not found (or the card's best / worst
# value for a scorecard's `auto:` category), N/A when the conversation is not eligible (fewer than
# one customer and one agent message, or fewer than 10 words).

# %%
card = qakit.load_scorecard(scorecard_path) if scorecard_path else None

# %%
rules = autoqa.rules_from_card(card) if card else autoqa.load_rules(rules_path) if rules_path else list(autoqa.DEFAULT_RULES)

# %%
detections = autoqa.detect(messages, rules=rules)

# %%
detections.groupby("category")["rating"].agg(["count", "mean"]).rename(columns={"count": "n", "mean": "share_found"}).round(3)

# %% [markdown]
# ## A learned category, checked against the humans first
# Grouped cross-validation: every conversation is predicted by a model that never saw it.

# %%
predictions = autoqa.cross_validate(messages, ratings, category=learned_category, seed=seed)

# %%
agreement = autoqa.kappa_agreement(predictions, n_resamples=n_resamples, seed=seed)

# %%
autoqa.qualification(agreement, threshold=kappa_threshold).round(3)

# %% [markdown]
# ## Automatic ratings and the AQS (apart from the IQS)

# %%
learned = autoqa.learned_ratings(messages, ratings, category=learned_category, seed=seed)

# %%
auto = autoqa.auto_ratings(detections, learned)

# %%
auto_card = autoqa.auto_scorecard(rules, card=card, learned=[learned_category])

# %%
autoqa.aqs_score(auto, auto_card, by="agent_id").round(2)

# %%
human_card = qakit.Scorecard([qakit.Category(c, scale=5 if c == "Task success" else "binary")
                              for c in ratings["category"].unique()])

# %%
autoqa.aqs_vs_iqs(auto, ratings, card=human_card, auto_card=auto_card).round(2)

# %% [markdown]
# ## Which conversations should humans review?
# Long conversations, many agent replies, escalation words, negative customer sentiment (English
# messages only) and an automatic score below the pass threshold raise a conversation's chance to
# be picked; the weights let the IQS be estimated without bias (`qakit.sampling.weighted_iqs`).

# %%
sentiment = autoqa.customer_sentiment(messages)

# %%
plan = autoqa.sample_for_review(messages, n=sample_n, seed=seed, sentiment=sentiment, auto=auto, card=auto_card)

# %%
plan.drop(columns=["conversation_id"]).astype(float).agg(["mean", "min", "max"]).T.round(3)  # flag means = share of the sample flagged

# %%
qakit.exclusions(auto)
