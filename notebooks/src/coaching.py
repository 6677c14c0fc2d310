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
dataset: str = "sample"  # help: "sample" for the bundled data, or a folder with ratings, conversations, surveys as .parquet or .csv and scorecard.yaml
ratings_path: str = ""  # help: a ratings file; empty means the dataset's
conversations_path: str = ""  # help: a conversations file; empty means the dataset's
surveys_path: str = ""  # help: a surveys file; empty means the dataset's
scorecard_path: str = ""  # help: scorecard YAML; empty means the dataset's scorecard.yaml
start: str = ""  # help: first day of the period, YYYY-MM-DD; empty means from the first review
end: str = ""  # help: last day of the period, inclusive, YYYY-MM-DD; empty means to the last review
agent_id: str = "A07"  # help: the agent to coach

# %%
import qakit.report_data as D
import qakit.study_view as R

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
