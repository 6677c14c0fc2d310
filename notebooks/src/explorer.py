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
# Try a change to the scorecard on real reviews before it goes live, and see what it does to the
# scores, to which agents pass, and to how well the score tracks customer satisfaction (CSAT).

# %% tags=["parameters"]
# %include _data_parameters.py  (the data parameters every data notebook shares: one copy)
save_path: str = "tuned_scorecard.yaml"  # help: where "Save tuned card" writes the YAML (a relative path is inside the notebooks folder; the full path is shown)

# %%
import qakit.report.data as R
from qakit.report.display import table
from qakit import load_scorecard
from qakit.datasets import sample_data_dir
from qakit.widgets import ScorecardExplorer, agent_view, card_changes, effect_table, engine_check

# %%
ex = ScorecardExplorer.from_dataset(dataset, ratings_path=ratings_path, conversations_path=conversations_path, surveys_path=surveys_path, scorecard_path=scorecard_path, start=start, end=end, save_path=save_path)

# %% tags=["nbval-ignore-output"]
ex.widget()

# %% [markdown] tags=["checked-example"]
# ### Checked example
#
# The cells below drive a *separate* explorer (`check`) exactly as a user would (setting a slider's `.value`) and show what it computed; nbval checks these outputs. The explorer above is not touched. (`qakit explore` leaves these cells out of the app: they are tagged `checked-example`.)

# %% tags=["checked-example"]
data = R.load_report_data(dataset=dataset, ratings_path=ratings_path, conversations_path=conversations_path, surveys_path=surveys_path, scorecard_path=scorecard_path, start=start, end=end)

# %% tags=["checked-example"]
check = ScorecardExplorer(data.ratings, data.card, surveys=data.surveys, save_path=save_path, dataset=dataset)
check.weight_sliders["Tone"].value = 3.0

# %% tags=["checked-example"]
table(check.result.summary)

# %% tags=["checked-example"]
card_changes(data.card, check.result.card)

# %% tags=["checked-example"]
effect_table(check.result, check.baseline)

# %% tags=["checked-example"]
table(agent_view(check.result, flips_first=True).head(8))

# %% [markdown] tags=["checked-example"]
# The same check on the sample card with sections (`data/scorecard_sections.yaml`: a failed Product
# knowledge zeroes only its section), changing rules as well as a weight: Escalation handling left
# unrated counts as 0, a Tone of 1 or 2 fails the review, and a failed Product knowledge zeroes the
# whole review. The explorer's review scores and agent IQS equal the full engine's.

# %% tags=["checked-example"]
sectioned = ScorecardExplorer(data.ratings, load_scorecard(sample_data_dir() / "scorecard_sections.yaml"), surveys=data.surveys, save_path=save_path, dataset=dataset)
sectioned.weight_sliders["Tone"].value = 3.0
sectioned.na_boxes["Escalation handling"].value = "zero"
sectioned.fail_boxes["Tone"].value = (1.0, 2.0)
sectioned.fail_rule_boxes["Resolution"].value = "all"

# %% tags=["checked-example"]
card_changes(sectioned.baseline_card, sectioned.result.card)

# %% tags=["checked-example"]
table(engine_check(sectioned.result, data.ratings))
