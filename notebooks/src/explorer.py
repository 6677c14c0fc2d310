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
# # Scorecard tuning explorer
#
# Move a weight slider or tick a critical box: the IQS distribution, the agent ranking with CIs,
# the agents whose pass/fail flips against the current card and the IQS-CSAT correlation update
# at once. *Write tuned card* saves the card as YAML for review before rollout.
# `qakit explore` serves this notebook as a Voila app for QA leads who don't code.

# %% tags=["parameters"]
dataset: str = "sample"  # help: "sample" for the bundled data, or a folder with ratings, conversations, surveys as .parquet or .csv and scorecard.yaml
ratings_path: str = ""  # help: a ratings file; empty means the dataset's
conversations_path: str = ""  # help: a conversations file; empty means the dataset's
surveys_path: str = ""  # help: a surveys file; empty means the dataset's
scorecard_path: str = ""  # help: scorecard YAML; empty means the dataset's scorecard.yaml
start: str = ""  # help: first day of the period, YYYY-MM-DD; empty means from the first review
end: str = ""  # help: last day of the period, inclusive, YYYY-MM-DD; empty means to the last review
save_path: str = "tuned_scorecard.yaml"  # help: where the "Write tuned card" button saves the YAML

# %%
import qakit.sections as R
from qakit.display import table
from qakit.widgets import ScorecardExplorer

# %%
data = R.load_report_data(dataset=dataset, ratings_path=ratings_path, conversations_path=conversations_path, surveys_path=surveys_path, scorecard_path=scorecard_path, start=start, end=end)

# %%
ex = ScorecardExplorer(data.ratings, data.card, surveys=data.surveys, save_path=save_path)

# %% tags=["nbval-ignore-output"]
ex.widget()

# %% [markdown] tags=["checked-example"]
# ### Checked example
#
# The cells below drive the explorer exactly as a user would (setting a slider's `.value`) and show what it computed; nbval checks these outputs. (`qakit explore` leaves them out of the app: they are tagged `checked-example`.)

# %% tags=["checked-example"]
ex.weight_sliders["Tone"].value = 3.0

# %% tags=["checked-example"]
table(ex.result.summary)

# %% tags=["checked-example"]
table(ex.result.agents.head(8))

# %% tags=["checked-example"]
ex.weight_sliders["Tone"].value = data.card.weights["Tone"]
