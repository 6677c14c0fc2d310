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
# # Agent coaching page
#
# For one agent: category scores against the team with 95 % intervals; categories where the
# agent's upper bound is below the team are the coaching focus; the weekly trend; and the
# conversations behind the lowest ratings (ids only: no customer text).

# %% tags=["parameters"]
# %include _data_parameters.py  (the data parameters every data notebook shares: one copy)
agent_id: str = "A07"  # help: the agent to coach

# %%
import qakit.report.data as D
import qakit.report.study as R

# %%
data = D.load_report_data(dataset=dataset, ratings_path=ratings_path, conversations_path=conversations_path, surveys_path=surveys_path, scorecard_path=scorecard_path, start=start, end=end)

# %%
R.heading(f"Agent {agent_id}")

# %%
R.coaching_table(data, agent_id=agent_id).pipe(R.table)

# %%
R.agent_trend_figure(data, agent_id)

# %%
R.low_rating_examples(data, agent_id)
