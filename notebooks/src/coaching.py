# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags
#     notebook_metadata_filter: kernelspec
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Coaching: did it work, and what to coach next
#
# **Did coaching work?** Agents are coached *because* their recent scores were low. A low score is
# partly bad luck that does not repeat, so a coached agent's score rises afterwards even when the
# coaching did nothing: the before/after a coaching dashboard shows is biased upwards (regression to
# the mean). This page compares instead each coached agent with agents **not yet coached** who
# **scored as low before**, over **the same weeks**: the difference of their changes is the
# coaching effect (an adjusted difference in differences), with a 95 % interval that allows for the
# same agents appearing in several weeks' comparisons.
#
# What has to be true for the number to mean "the effect of coaching":
#
# - whom to coach was decided on the scores we see (the weeks before the session: set `pre_weeks`
#   to the span the decision looked at), not on something else that also predicts the next weeks;
# - without coaching, coached agents would have moved like uncoached agents with the same earlier
#   score (same scorecard, same reviewers, same season);
# - agents did not change before their session, and coached agents did not coach their controls.
#
# In the bundled sample the truth is known: the ratings were drawn **without any coaching effect**,
# and each week the two lowest-scoring agents of the last fortnight were coached. Every rise of
# their scores is regression to the mean.
#
# **What to coach next:** one agent's category scores against the team, with 95 % intervals.

# %% tags=["parameters"]
# %include _data_parameters.py  (the data parameters every data notebook shares: one copy)
coaching_path: str = ""  # help: a coaching sessions file (agent_id, coached_at, focus, coach); empty means the dataset's coaching.parquet or coaching.csv
pre_weeks: int = 2  # help: weeks before the coaching week that the coaching decision looked at
post_weeks: int = 4  # help: weeks after the coaching week in which the effect is measured
agent_id: str = "A07"  # help: the agent to plan coaching for

# %%
import qakit.report.data as D
import qakit.report.quality as Q
import qakit.report.study as R
from qakit.report.display import pretty

# %%
data = D.load_report_data(dataset=dataset, ratings_path=ratings_path, conversations_path=conversations_path, surveys_path=surveys_path, scorecard_path=scorecard_path, start=start, end=end)

# %%
Q.load_coaching(data, dataset=dataset, path=coaching_path)

# %% [markdown]
# ## Did coaching work?

# %%
Q.coaching_verdict(data, pre_weeks=pre_weeks, post_weeks=post_weeks)

# %%
Q.coaching_figure(data, pre_weeks=pre_weeks, post_weeks=post_weeks)

# %% [markdown]
# Every outcome: the adjusted estimate (read this) and the naive before/after beside it. A focus
# category's row compares the agents coached on it with agents not yet coached, on that category's
# score. Few coached agents make an interval too narrow to trust: the note says so.

# %%
Q.coaching_effect_table(data, pre_weeks=pre_weeks, post_weeks=post_weeks)

# %%
Q.coaching_sessions(data)

# %% [markdown]
# ## What to coach next

# %%
R.heading(f"Agent {agent_id}")

# %%
pretty(R.coaching_table(data, agent_id=agent_id))

# %%
R.agent_trend_figure(data, agent_id)

# %%
pretty(R.low_rating_examples(data, agent_id))
