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
# # Scorecard health: is our scorecard any good?
#
# Before you roll out new weights, check the categories themselves (item analysis):
#
# - **N/A**: a category skipped on most reviews says little about most conversations;
# - **difficulty**: a category nearly everyone passes (full marks on 95 % of reviews) cannot
#   separate good from bad conversations;
# - **discrimination**: does the category agree with the rest of the card? (its correlation with the
#   mean of the other categories on the same review; below 0.20 is poor, below 0 it runs against
#   the card);
# - **CSAT**: does the category track what customers say?
# - **redundancy**: two categories correlating at 0.70 or more largely measure the same thing twice;
# - **consistency**: Cronbach's alpha and McDonald's omega of the whole card, and alpha without each
#   category.
#
# A scorecard is a checklist of distinct behaviours, not a test of one skill: a low alpha is not a
# defect by itself. Act first on categories that never vary, that run against the card, and on
# pairs that duplicate each other. The thresholds and their sources are listed at the end.

# %% tags=["parameters"]
# %include _data_parameters.py  (the data parameters every data notebook shares: one copy)

# %%
import qakit.report.data as D
import qakit.report.quality as Q

# %%
data = D.load_report_data(dataset=dataset, ratings_path=ratings_path, conversations_path=conversations_path, surveys_path=surveys_path, scorecard_path=scorecard_path, start=start, end=end)

# %%
Q.health_verdict(data)

# %%
Q.discrimination_figure(data)

# %%
Q.health_table(data)

# %%
Q.consistency_table(data)

# %%
Q.redundancy_table(data)

# %% [markdown]
# ## Thresholds and their sources

# %%
Q.thresholds_table()
