"""Write the qakit notebooks from this single source and execute them in place.

    .venv/bin/python scripts/build_notebooks.py            # write + execute all
    .venv/bin/python scripts/build_notebooks.py report     # just one

Notebooks are thin: a markdown story, one ``parameters`` cell (typed defaults, ``# help``
comments; papermill injects overrides after it), then one qakit call per cell. Outputs are
committed so nbval can compare them (tables are rounded by qakit.display; figures are PNG, which
nbval does not compare; their text/plain repr is stable). Widget cells are tagged
``nbval-ignore-output`` because their output is a widget view with a random model id; the cell
after them drives the widget through ``.value`` and *is* checked.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"

META = {
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python"},
}


def md(text: str, *tags: str):
    c = nbformat.v4.new_markdown_cell(text.strip())
    if tags:
        c.metadata["tags"] = list(tags)
    return c


# cells that check the explorer for nbval; `qakit explore` removes them from the Voila app
CHECKED = "checked-example"


def code(src: str, *tags: str):
    c = nbformat.v4.new_code_cell(src.strip())
    if tags:
        c.metadata["tags"] = list(tags)
    return c


def params(src: str):
    return code(src, "parameters")


DATA_PARAMS = '''
dataset: str = "sample"  # help: "sample" for the bundled data, or a folder with ratings, conversations, surveys as .parquet or .csv and scorecard.yaml
ratings_path: str = ""  # help: a ratings file; empty means the dataset's
conversations_path: str = ""  # help: a conversations file; empty means the dataset's
surveys_path: str = ""  # help: a surveys file; empty means the dataset's
scorecard_path: str = ""  # help: scorecard YAML; empty means the dataset's scorecard.yaml
start: str = ""  # help: first day of the period, YYYY-MM-DD; empty means from the first review
end: str = ""  # help: last day of the period, inclusive, YYYY-MM-DD; empty means to the last review
'''

LOAD = ("data = R.load_report_data(dataset=dataset, ratings_path=ratings_path, conversations_path=conversations_path, "
        "surveys_path=surveys_path, scorecard_path=scorecard_path, start=start, end=end{extra})")


def report() -> nbformat.NotebookNode:
    cells = [
        md("""
# QA and KPI report

Internal quality (IQS from scorecard reviews) beside what customers experience (CSAT, NPS, CES,
response and resolution times, FCR, SLA, backlog), for one period. Every number carries its
sample size; intervals are 95 %; groups below `min_n` observations are flagged `small_sample`.
Rows the numbers leave out are listed, with the reason, in the data-quality section at the end.
"""),
        params(DATA_PARAMS + '''
group_by: str = "team"  # help: column to break results down by: team, channel, agent_id ...
period: str = "W"  # help: trend period: D, W, M or Q
min_n: int = 30  # help: groups with fewer observations are flagged small_sample
cost_per_contact: float = 5.0  # help: support cost of one contact, for the customer cost-versus-value section
hash_customer_ids: bool = True  # help: show customer ids hashed; set False only for internal reports
targets: dict = {"iqs": {"target": 85, "owner": "QA lead"}, "csat": {"target": 90, "owner": "Support manager"}, "sla_high": {"target": 95, "owner": "Operations lead"}}  # help: KPI targets with owners; margin is the width of the at-risk band
'''),
        code("import qakit.sections as R"),
        code(LOAD.format(extra=", min_n=min_n")),
        code("R.overview(data)"),
        md("## Targets\n\nEach KPI against its target: *on target*, *at risk* (within the margin) or *off target*."),
        code("R.kpi_targets(data, targets)"),
        md("## Internal quality (IQS)\n\nIQS is the mean of review scores (critical failures score 0)."),
        code("R.iqs_table(data)"),
        code("R.iqs_table(data, by=group_by)"),
        md("Category scores pool the reviews that rated each category (N/A excluded), so they are not an "
           "average of per-agent averages."),
        code("R.category_table(data)"),
        code("R.iqs_trend_figure(data, period=period)"),
        md("## Agents\n\n`iqs_shrunk` pulls agents with few reviews towards the overall mean "
           "(empirical Bayes): rank on it, not on the raw IQS, to be fair to small samples."),
        code("R.agent_table(data)"),
        md("## Customer KPIs"),
        code("R.customer_kpis(data)"),
        code("R.time_table(data, by=\"channel\")"),
        code("R.sla_table(data)"),
        code("R.backlog_figure(data, period=period)"),
        md("## Customers who cost more than they bring\n\nSupport cost (contacts x cost per contact) against "
           "customer value; ids hashed unless `hash_customer_ids` is off."),
        code("R.costly_customers(data, cost_per_contact=cost_per_contact, hash_customer_ids=hash_customer_ids)"),
        code("R.customer_value_figure(data, cost_per_contact=cost_per_contact)"),
        md("## Does IQS track CSAT?\n\nConversation-level correlations between review scores and the "
           "customer's CSAT answer, and which categories drive CSAT."),
        code("R.iqs_csat_table(data)"),
        code("R.drivers_table(data)"),
        md("## Coaching focus\n\nCategories where an agent's upper 95 % bound is below the team's score."),
        code("R.coaching_focus(data)"),
        md("## Data quality\n\nEverything the numbers above leave out, and why."),
        code("R.data_quality(data)"),
    ]
    return cells


def study() -> list:
    return [
        md("""
# Does IQS track CSAT?

If the scorecard measures what customers care about, conversations with higher review scores
should get better CSAT answers, and agents with higher IQS should have happier customers. This
notebook measures both, with intervals, and asks which categories drive CSAT.
"""),
        params(DATA_PARAMS + '''
seed: int = 0  # help: seed of the bootstrap intervals
n_resamples: int = 1999  # help: bootstrap resamples for Spearman/Kendall intervals
'''),
        code("import qakit.sections as R\nimport qakit.stats as ST\nfrom qakit.display import table"),
        code(LOAD.format(extra="")),
        md("## Conversation level\n\nOne row per reviewed conversation with a CSAT answer. Pearson uses the "
           "Fisher interval; the rank methods a paired bootstrap."),
        code("table(ST.iqs_csat_correlation(data.scores, data.surveys, method=[\"pearson\", \"spearman\", \"kendall\", "
             "\"point_biserial\"], n_resamples=n_resamples, seed=seed))"),
        code("R.iqs_csat_figure(data)"),
        md("Controlling for channel (partial correlation) checks that the relation is not just chat "
           "customers being happier and chat reviews scoring higher."),
        code("table(ST.iqs_csat_correlation(data.scores, data.surveys, method=\"partial\", covariate=\"channel\", "
             "conversations=data.conversations))"),
        md("## Agent level\n\nPer-agent IQS against per-agent CSAT (all the agent's answers). With few agents "
           "the interval is wide; the weighted version gives agents with more answers more say."),
        code("table(ST.iqs_csat_correlation(data.scores, data.surveys, unit=\"agent\", method=[\"pearson\", \"spearman\"], "
             "n_resamples=n_resamples, seed=seed))"),
        md("## Which categories move CSAT?\n\nPer-category correlations (Benjamini-Hochberg adjusted) and a "
           "key-driver regression on standardised category scores."),
        code("table(ST.category_correlations(data.ratings, data.card, data.surveys))"),
        code("R.drivers_table(data)"),
        md("""
## Reading the results

* A conversation-level r around 0.3-0.4 is typical: one review and one survey answer are both
  noisy. The agent level averages the noise away and is much higher.
* On the bundled sample the generator's true conversation-level correlation is 0.39
  (`data/README.md`); the Pearson interval above should contain it.
* Categories with a large standardised coefficient are where coaching moves CSAT most; those
  near zero either do not matter to customers or are redundant with others (compare `r`).
"""),
    ]


def explorer() -> list:
    return [
        md("""
# Scorecard tuning explorer

Move a weight slider or tick a critical box: the IQS distribution, the agent ranking with CIs,
the agents whose pass/fail flips against the current card and the IQS-CSAT correlation update
at once. *Write tuned card* saves the card as YAML for review before rollout.
`qakit explore` serves this notebook as a Voila app for QA leads who don't code.
"""),
        params(DATA_PARAMS + '''
save_path: str = "tuned_scorecard.yaml"  # help: where the "Write tuned card" button saves the YAML
'''),
        code("import qakit.sections as R\nfrom qakit.display import table\nfrom qakit.widgets import ScorecardExplorer"),
        code(LOAD.format(extra="")),
        code("ex = ScorecardExplorer(data.ratings, data.card, surveys=data.surveys, save_path=save_path)"),
        code("ex.widget()", "nbval-ignore-output"),
        md("### Checked example\n\nThe cells below drive the explorer exactly as a user would (setting a "
           "slider's `.value`) and show what it computed; nbval checks these outputs. (`qakit explore` "
           "leaves them out of the app: they are tagged `checked-example`.)", CHECKED),
        code("ex.weight_sliders[\"Tone\"].value = 3.0", CHECKED),
        code("table(ex.result.summary)", CHECKED),
        code("table(ex.result.agents.head(8))", CHECKED),
        code("ex.weight_sliders[\"Tone\"].value = data.card.weights[\"Tone\"]", CHECKED),
    ]


def calibration() -> list:
    return [
        md("""
# Calibration session: reviewer agreement and bias

Several reviewers rated the same conversations. Do they agree (Krippendorff's alpha, Fleiss'
kappa), and does anyone rate systematically higher or lower than the others?
"""),
        params('''
dataset: str = "sample"  # help: "sample" for the bundled calibration set, "fed" for the real FED ratings, or a ratings file with several reviewers per conversation
scorecard_path: str = ""  # help: scorecard YAML; empty means the sample scorecard
seed: int = 0  # help: seed of the bootstrap intervals
n_resamples: int = 999  # help: bootstrap resamples for alpha intervals
'''),
        code("import qakit.calibration as C\nimport qakit.sections as R\nfrom qakit.display import table"),
        code("ratings, card = R.load_calibration(dataset=dataset, scorecard_path=scorecard_path)"),
        md("## Agreement per category\n\nKrippendorff's alpha (ordinal) with a bootstrap interval: "
           ">= 0.8 reliable, 0.667-0.8 tentative, below that the category definition needs work."),
        code("table(C.agreement(ratings, card=card, metric=\"ordinal\", seed=seed, n_resamples=n_resamples))"),
        md("## Reviewer bias\n\nEach reviewer's mean deviation from the other reviewers on the same "
           "conversation and category (rating steps), with a 95 % interval."),
        code("table(C.reviewer_bias(ratings, card=card))"),
        md("## Pairwise agreement\n\nCohen's kappa (quadratic weights) for each pair of reviewers, pooled "
           "over categories."),
        code("table(C.pairwise_kappa(ratings, weights=\"quadratic\", by_category=False, card=card))"),
        md("""
## Reading the results

On the bundled session the generator planted biases of +0.6 (cal_rev_2), +0.25 (cal_rev_5), 0
(cal_rev_1, cal_rev_4) and -0.6 (cal_rev_3) rating steps on the k-point categories
(`data/calibration_truth.csv`); the bias table should recover that order. Binary categories carry
no planted bias. A category with low alpha needs a clearer definition or examples before the
next calibration session; a biased reviewer needs a calibration conversation, not a warning.
"""),
    ]


def coaching() -> list:
    return [
        md("""
# Agent coaching page

For one agent: category scores against the team with 95 % intervals; categories where the
agent's upper bound is below the team are the coaching focus; the weekly trend; and the
conversations behind the lowest ratings (ids only: no customer text).
"""),
        params(DATA_PARAMS + '''
agent_id: str = "A07"  # help: the agent to coach
'''),
        code("import qakit.sections as R"),
        code(LOAD.format(extra="")),
        code("R.heading(f\"Agent {agent_id}\")"),
        code("R.coaching_table(data, agent_id=agent_id).pipe(R.table)"),
        code("R.agent_trend_figure(data, agent_id)"),
        code("R.low_rating_examples(data, agent_id)"),
    ]


NOTEBOOKS = {"report": report, "iqs_csat_study": study, "explorer": explorer, "calibration": calibration,
             "coaching": coaching}


def build(name: str, *, execute: bool = True) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata.update(META)
    nb.cells = NOTEBOOKS[name]()
    for i, cell in enumerate(nb.cells):  # stable ids: rebuilding gives a readable diff
        cell.id = f"{name}-{i:02d}"
    path = NB_DIR / f"{name}.ipynb"
    if execute:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(NB_DIR)}}).execute()
        nb.metadata.pop("widgets", None)  # widget state holds random model ids; Voila re-creates it
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return path


def main(argv: list[str]) -> int:
    names = argv or list(NOTEBOOKS)
    for n in names:
        print(build(n))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
