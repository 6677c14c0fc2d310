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
# # QA and KPI report
#
# Internal quality (IQS from scorecard reviews) beside what customers experience (CSAT, NPS, CES,
# response and resolution times, FCR, SLA, backlog), for one period. Every number carries its
# sample size; intervals are 95 %; groups below `min_n` observations are flagged `small_sample`.
# Rows the numbers leave out are listed, with the reason, in the data-quality section at the end.

# %% tags=["parameters"]
dataset: str = "sample"  # help: "sample" for the bundled data, or a folder with ratings, conversations, surveys as .parquet or .csv and scorecard.yaml
ratings_path: str = ""  # help: a ratings file; empty means the dataset's
conversations_path: str = ""  # help: a conversations file; empty means the dataset's
surveys_path: str = ""  # help: a surveys file; empty means the dataset's
scorecard_path: str = ""  # help: scorecard YAML; empty means the dataset's scorecard.yaml
start: str = ""  # help: first day of the period, YYYY-MM-DD; empty means from the first review
end: str = ""  # help: last day of the period, inclusive, YYYY-MM-DD; empty means to the last review
group_by: str = "team"  # help: column to break results down by: team, channel, agent_id ...
period: str = "W"  # help: trend period: D, W, M or Q
min_n: int = 30  # help: groups with fewer observations are flagged small_sample
cost_per_contact: float = 5.0  # help: support cost of one contact, for the customer cost-versus-value section
hash_customer_ids: bool = True  # help: show customer ids hashed; set False only for internal reports
targets: dict = {"iqs": {"target": 85, "owner": "QA lead"}, "csat": {"target": 90, "owner": "Support manager"}, "sla_high": {"target": 95, "owner": "Operations lead"}}  # help: KPI targets with owners; margin is the width of the at-risk band

# %%
import qakit.sections as R

# %%
data = R.load_report_data(dataset=dataset, ratings_path=ratings_path, conversations_path=conversations_path, surveys_path=surveys_path, scorecard_path=scorecard_path, start=start, end=end, min_n=min_n)

# %%
R.overview(data)

# %% [markdown]
# ## Targets
#
# Each KPI against its target: *on target*, *at risk* (within the margin) or *off target*.

# %%
R.kpi_targets(data, targets)

# %% [markdown]
# ## Internal quality (IQS)
#
# IQS is the mean of review scores (critical failures score 0).

# %%
R.iqs_table(data)

# %%
R.iqs_table(data, by=group_by)

# %% [markdown]
# Category scores pool the reviews that rated each category (N/A excluded), so they are not an average of per-agent averages.

# %%
R.category_table(data)

# %%
R.iqs_trend_figure(data, period=period)

# %% [markdown]
# ## Agents
#
# `iqs_shrunk` pulls agents with few reviews towards the overall mean (empirical Bayes): rank on it, not on the raw IQS, to be fair to small samples.

# %%
R.agent_table(data)

# %% [markdown]
# ## Customer KPIs

# %%
R.customer_kpis(data)

# %%
R.time_table(data, by="channel")

# %%
R.sla_table(data)

# %%
R.backlog_figure(data, period=period)

# %% [markdown]
# ## Customers who cost more than they bring
#
# Support cost (contacts x cost per contact) against customer value; ids hashed unless `hash_customer_ids` is off.

# %%
R.costly_customers(data, cost_per_contact=cost_per_contact, hash_customer_ids=hash_customer_ids)

# %%
R.customer_value_figure(data, cost_per_contact=cost_per_contact)

# %% [markdown]
# ## Does IQS track CSAT?
#
# Conversation-level correlations between review scores and the customer's CSAT answer, and which categories drive CSAT.

# %%
R.iqs_csat_table(data)

# %%
R.drivers_table(data)

# %% [markdown]
# ## Coaching focus
#
# Categories where an agent's upper 95 % bound is below the team's score.

# %%
R.coaching_focus(data)

# %% [markdown]
# ## Data quality
#
# Everything the numbers above leave out, and why.

# %%
R.data_quality(data)
