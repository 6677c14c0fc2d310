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
# Rule-based categories (greeting, closing, apology, empathy, further help, thanks in English,
# German, Portuguese, Spanish and French, and your own phrase or RE2 regex categories) rate every
# conversation, with the position of the matching phrase as evidence. A category your reviewers
# rate by hand can be learned from their ratings, but it is switched to automatic only if it
# **qualifies on a client, team or month the model never saw**: the lower bound of its kappa
# interval reaches the bar and it scores enough of the conversations. The automatic score (AQS) is
# kept apart from the human IQS. No conversation text is shown here: only counts, ratings and
# evidence positions. How the rules were measured: `docs/guide/autoqa.md`.

# %% tags=["parameters"]
messages_path: str = ""  # help: messages table as .csv or .parquet with conversation_id, message_id, author_role, agent_id, sent_at, text - empty means MAIA-DQE from the shared data
ratings_path: str = ""  # help: human ratings in the long format to learn from and to compute IQS - empty means the MAIA-DQE labels
scorecard_path: str = ""  # help: scorecard YAML whose categories carry auto blocks with phrase or regex lists per language - empty means rules_path or the built-in categories
rules_path: str = ""  # help: YAML file with custom phrase or regex categories - empty means the built-in categories only
learned_category: str = "Understanding"  # help: a category your reviewers rate, to learn from their ratings
groups: str = "subset"  # help: the held-out unit of the evidence - a messages column naming the client or team, or month
seed: int = 0  # help: seed of the cross-validation folds, the bootstrap and the review sample
n_resamples: int = 1000  # help: bootstrap resamples for the kappa confidence intervals
kappa_threshold: float = 0.6  # help: kappa the lower bound of a learned category's interval must reach (used when no human-human agreement is available)
min_coverage: float = 0.8  # help: share of conversations a learned category must score (the model abstains on the rest)
sample_n: int = 20  # help: how many conversations to pick for human review

# %%
import qakit
from qakit import autoqa, realdata

# %% [markdown]
# ## The data
# Messages and human ratings; with empty paths, MAIA-DQE's real support chats (English side) and
# their human labels per dialogue, from two clients (subsets).

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
# one customer and one agent message, or fewer than 10 words). A greeting counts at the start of
# the agent's first message, a closing in its last two, an offer of further help in its last three
# ("Happy to help!" as an opener is not one); "I understand that you want ..." restates, it is not
# empathy.

# %%
card = qakit.load_scorecard(scorecard_path) if scorecard_path else None

# %%
rules = autoqa.rules_from_card(card) if card else autoqa.load_rules(rules_path) if rules_path else list(autoqa.DEFAULT_RULES)

# %%
detections = autoqa.detect(messages, rules=rules)

# %%
detections.groupby("category")["rating"].agg(["count", "mean"]).rename(columns={"count": "n", "mean": "share_found"}).round(3)

# %% [markdown]
# ## A learned category, checked on a client the model never saw
# Every conversation of one group (client, team or month) is predicted by a model trained on the
# other groups only: what a new client would get. Cohen's kappa against the humans with a
# bootstrap interval, pooled and per held-out group.

# %%
predictions = autoqa.cross_validate(messages, ratings, category=learned_category, groups=groups, seed=seed)

# %%
agreement = autoqa.kappa_agreement(predictions, n_resamples=n_resamples, seed=seed)

# %%
autoqa.kappa_agreement(predictions, by="group", n_resamples=n_resamples, seed=seed).round(3)

# %% [markdown]
# ## Does it qualify?
# Only if the interval's **lower bound** reaches the bar (a point estimate clears a 0.6 bar by
# luck too often on a few dozen conversations), the model scores at least `min_coverage` of the
# conversations, and the evidence is leave-one-group-out. `reason` lists every unmet condition;
# `n_needed` is how many compared conversations would let the lower bound reach the bar if kappa
# held (empty when the estimate itself is below the bar: more data would not help).

# %%
verdict = autoqa.qualification(agreement, threshold=kappa_threshold, min_coverage=min_coverage)

# %%
verdict[["category", "evidence", "n_groups", "n", "coverage", "kappa", "ci_low", "ci_high", "target", "n_needed", "qualifies"]].round(3)

# %%
verdict["reason"].tolist()  # every unmet condition, in full

# %% [markdown]
# ## Automatic ratings and the AQS (apart from the IQS)
# The learned category enters the automatic ratings only when it qualified above; otherwise the AQS
# rests on the rule-based categories and the reviewers keep rating it.

# %%
learned = [autoqa.learned_ratings(messages, ratings, category=learned_category, seed=seed)] if verdict["qualifies"].all() else []

# %%
auto = autoqa.auto_ratings(detections, *learned)

# %%
auto_card = autoqa.auto_scorecard(rules, card=card, learned=[learned_category] if learned else [])

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
