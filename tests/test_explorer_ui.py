"""The explorer as a QA lead uses it (issue 16), driven through widget values and buttons; every
number is checked against Scorecard.score + iqs_score / fit_weights computed here, independently."""

import base64
import re

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml

from qakit import datasets, iqs_score, load_scorecard
from qakit.tuning import fit_weights
from qakit.cli import qakit_command
from qakit.widgets import INSIDE, CREDIBLE, ScorecardExplorer, agent_view, card_changes, effect_table, report_command

from test_widgets import CARD, small_data  # tests/ is on sys.path (rootdir conftest)


@pytest.fixture(scope="module")
def sample():
    return (datasets.load_sample("ratings"), datasets.load_sample("surveys"), datasets.load_sample_scorecard())


@pytest.fixture
def ex(sample, tmp_path):
    ratings, surveys, card = sample
    return ScorecardExplorer(ratings, card, surveys=surveys, save_path=tmp_path / "tuned.yaml", today="2026-11-27")


def by_agent(card, ratings):
    return iqs_score(card.score(ratings), by="agent_id", min_n=0).set_index("agent_id")


def test_every_agent_listed_and_flips_labelled_against_their_interval(ex, sample):
    """Pass line 80 -> 70: an agent flips when its mean IQS is on different sides of 80 and 70;
    the label is 'inside the interval' when 70 lies in the agent's 95% t interval (iqs_score)."""
    ratings, _, card = sample
    ex.threshold.value = 70
    new, old = by_agent(card.with_changes(pass_threshold=70.0), ratings), by_agent(card, ratings)
    flipped = (new["iqs"] >= 70) != (old["iqs"] >= 80)
    assert flipped.sum() >= 2
    view = agent_view(ex.result)
    assert sorted(view["agent_id"]) == sorted(new.index)  # all 40 agents, not a top 15
    got = view.set_index("agent_id")["flip"]
    for a in new.index:
        if not flipped[a]:
            assert got[a] == ""
        else:
            inside = new.loc[a, "ci_low"] <= 70 <= new.loc[a, "ci_high"]
            assert got[a] == (INSIDE if inside else CREDIBLE), a
    # a flip ranked below the top 15 is in the table and highlighted; "flipped agents first" lifts it
    low = [a for a in new.index[flipped] if view.set_index("agent_id").loc[a, "rank"] > 15]
    assert low
    rows = re.findall(r"<tr( class=\"qakit-flip\")?><td>(A\d+)</td>", ex.ranking.value)
    assert {a for cls, a in rows if cls} == set(new.index[flipped])
    ex.flips_first.value = True
    first = [a for _, a in re.findall(r"<tr( class=\"qakit-flip\")?><td>(A\d+)</td>", ex.ranking.value)]
    assert set(first[: flipped.sum()]) == set(new.index[flipped])


def test_changes_panel_and_reset(ex, sample):
    ratings, surveys, card = sample
    ex.weight_sliders["Tone"].value = 3.0
    ex.critical_boxes["Compliance"].value = False
    ex.threshold.value = 75
    ch = card_changes(card, ex.result.card)
    assert ch.values.tolist() == [["Compliance", "critical", "yes", "no"], ["Tone", "weight", "1", "3"],
                                  ["card", "pass threshold", "80", "75"]]
    tuned = card.with_changes(weights={"Tone": 3.0}, critical={"Compliance": False}, pass_threshold=75.0)
    s_new, s_old = tuned.score(ratings), card.score(ratings)
    eff = effect_table(ex.result, ex.baseline).set_index("measure")
    assert eff.loc["IQS (%)", "tuned"] == f"{s_new['iqs'].mean():.1f}"
    assert eff.loc["IQS (%)", "baseline"] == f"{s_old['iqs'].mean():.1f}"
    assert eff.loc["pass rate (reviews)", "tuned"] == f"{(s_new['iqs'] >= 75).mean():.1%}"
    # IQS-CSAT r with its CI for both cards: conversation mean IQS vs CSAT score, scipy's Pearson
    from scipy import stats

    csat = surveys[surveys["kind"].eq("csat")].dropna(subset=["score"]).groupby("conversation_id")["score"].mean()
    for card_, col in ((tuned, "tuned"), (card, "baseline")):
        per_conv = card_.score(ratings).groupby("conversation_id")["iqs"].mean()
        j = pd.concat([per_conv, csat], axis=1, join="inner").dropna()
        r = stats.pearsonr(j.iloc[:, 0], j.iloc[:, 1])
        ci = r.confidence_interval(0.95)
        row = [m for m in eff.index if m.startswith("IQS–CSAT r")][0]
        assert eff.loc[row, col] == f"{r.statistic:.3f} [{ci.low:.3f}, {ci.high:.3f}]"
    assert "Compliance" in ex.changes.value and "What you changed" in ex.changes.value
    tuned_iqs, base_iqs = s_new["iqs"].mean(), s_old["iqs"].mean()
    tiles = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", ex.summary.value))  # the effect, as the tiles read
    assert f"IQS {tuned_iqs:.1f}% (baseline {base_iqs:.1f}%) {tuned_iqs - base_iqs:+.1f} points" in tiles, tiles
    ex.reset()
    assert ex.weight_sliders["Tone"].value == 1.0 and ex.critical_boxes["Compliance"].value is True
    assert ex.threshold.value == 80
    assert ex.result.summary["iqs"].iloc[0] == pytest.approx(s_old["iqs"].mean())
    assert ex.result.summary["n_flipped"].iloc[0] == 0
    assert "No change yet" in ex.changes.value


def test_save_names_the_card_tuned_shows_full_path_and_command(ex, sample, tmp_path, monkeypatch):
    ratings, _, card = sample
    ex.weight_sliders["Tone"].value = 2.0
    monkeypatch.chdir(tmp_path)
    ex.save_path.value = "./tuned.yaml"
    path = ex.save()
    assert path == (tmp_path / "tuned.yaml").resolve()
    saved = load_scorecard(path)
    assert saved.weights["Tone"] == 2.0
    assert saved.name == f"{card.name} (TUNED 2026.1-tuned-2026-11-27, not the production card)"
    # a new version label; based_on is the baseline version whose reviews it scores
    assert (saved.version, saved.based_on) == ("2026.1-tuned-2026-11-27", card.version) == (
        "2026.1-tuned-2026-11-27", "2026.1")
    assert set(ratings["scorecard_version"]) == {"2026.1"}  # the sample reviews carry the baseline version
    assert str(path) in ex.save_status.value
    assert f"{qakit_command()[0]} report -p scorecard_path {path}" in ex.save_status.value
    # the saved card scores the data exactly as the explorer showed
    assert saved.score(ratings)["iqs"].mean() == pytest.approx(ex.result.summary["iqs"].iloc[0])


def test_save_to_a_bad_path_says_why_in_plain_words(ex, tmp_path):
    ex.save_path.value = str(tmp_path / "no such folder" / "tuned.yaml")
    ex.save_button.click()
    assert "Not saved" in ex.save_status.value and "does not exist" in ex.save_status.value
    assert "Traceback" not in ex.save_status.value
    ex.save_path.value = str(tmp_path)  # a folder, not a file
    ex.save_button.click()
    assert "is a folder" in ex.save_status.value
    ex.label.value = "  "
    ex.save_path.value = str(tmp_path / "ok.yaml")
    ex.save_button.click()
    assert "label is empty" in ex.save_status.value and not (tmp_path / "ok.yaml").exists()


def test_download_link_carries_the_tuned_yaml(ex):
    ex.weight_sliders["Grammar"].value = 2.5
    ex.label.value = "trial-1"
    b64 = re.search(r'href="data:text/yaml;base64,([^"]+)"', ex.download.value).group(1)
    card = load_scorecard(yaml.safe_load(base64.b64decode(b64).decode("utf-8")))
    assert card.weights["Grammar"] == 2.5 and "TUNED trial-1" in card.name
    assert 'download="tuned.yaml"' in ex.download.value


def test_report_command_uses_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert report_command("c.yaml", program=["/opt/q/qa"]) == f"/opt/q/qa report -p scorecard_path {tmp_path / 'c.yaml'}"
    assert report_command("c.yaml", "team", program=["qakit"]) == (
        f"qakit report -p scorecard_path {tmp_path / 'c.yaml'} -p dataset {tmp_path / 'team'}")
    # by default the checkout's own runner, by its full path: it works in a fresh shell, from any folder
    from pathlib import Path

    assert report_command("c.yaml").split()[0] == str(Path(__file__).resolve().parents[1] / "qa")


def test_dataset_box_loads_another_folder(ex, sample, tmp_path):
    """A folder with half the agents' reviews (CSV) and its own card: the explorer's baseline IQS
    equals Scorecard.score on exactly those reviews; a bad folder leaves the data as it was."""
    ratings, surveys, card = sample
    conv = datasets.load_sample("conversations")
    keep = ratings["agent_id"].isin(sorted(ratings["agent_id"].unique())[:20])
    ratings[keep].to_csv(tmp_path / "ratings.csv", index=False)
    conv.to_csv(tmp_path / "conversations.csv", index=False)
    surveys.to_csv(tmp_path / "surveys.csv", index=False)
    team_card = card.with_changes(weights={"Tone": 2.0})
    team_card.to_yaml(tmp_path / "scorecard.yaml")
    before = ex.result
    assert not ex.load_dataset(str(tmp_path / "missing"))
    assert "Could not load" in ex.data_status.value and ex.result is before
    ex.dataset_box.value = str(tmp_path)
    ex.load_button.click()
    assert "Loaded" in ex.data_status.value, ex.data_status.value
    expected = team_card.score(ratings[keep])["iqs"].mean()
    assert ex.result.summary["iqs"].iloc[0] == pytest.approx(expected)
    assert len(ex.result.agents) == 20 and ex.weight_sliders["Tone"].value == 2.0
    ex.save_path.value = str(tmp_path / "t.yaml")
    ex.save()
    assert f"-p dataset {tmp_path}" in ex.save_status.value


def test_suggestion_is_advice_until_applied(ex, sample):
    ratings, surveys, card = sample
    ex.suggest_button.click()
    fit = fit_weights(ratings, card, surveys)
    assert "Suggested weights" in ex.suggestion.value
    for cat, w in zip(fit.weights["category"], fit.weights["fitted_weight"]):
        assert f"<td>{cat}</td><td>{card.weights[cat]:.2f}</td><td>{w:.2f}</td>" in ex.suggestion.value
    s = fit.summary.iloc[0]
    assert f"<b>{s['r_test_current']:.3f}</b>" in ex.suggestion.value
    assert f"<b>{s['r_test_fitted']:.3f}</b>" in ex.suggestion.value
    assert ex.current_card() == card  # nothing applied silently
    assert ex.suggest_progress.value == ex.suggest_progress.max == 6  # 5 folds + the final fit
    ex.apply_button.click()
    fitted = dict(zip(fit.weights["category"], fit.weights["fitted_weight"]))
    scale = min(1.0, 5.0 / max(fitted.values()))
    for cat, w in fitted.items():
        expected = round(w * scale / 0.25) * 0.25
        if card.critical[cat]:
            expected = max(expected, 0.25)
        assert ex.weight_sliders[cat].value == expected, cat
    assert ex.result.summary["iqs"].iloc[0] == pytest.approx(ex.current_card().score(ratings)["iqs"].mean())


def test_suggestion_without_surveys_is_explained():
    ratings, _ = small_data()
    ex = ScorecardExplorer(ratings, CARD)
    ex.suggest()
    assert "No suggestion" in ex.suggestion.value and "no CSAT answers" in ex.suggestion.value
    assert ex.apply_button.disabled


def test_checked_notebook_cells_never_touch_the_users_explorer():
    """Run All in JupyterLab runs the checked-example cells: they must drive their own instance."""
    from pathlib import Path

    nb = nbformat.read(Path(__file__).resolve().parents[1] / "notebooks" / "explorer.ipynb", as_version=4)
    checked = [c for c in nb.cells if c.cell_type == "code" and "checked-example" in c.metadata.get("tags", [])]
    assert checked and any("check = ScorecardExplorer(" in c.source for c in checked)
    assert not any(re.search(r"\bex\.", c.source) for c in checked)


def test_flip_without_interval_is_not_called_credible():
    """An agent with one review has no interval (NaN): a flip there cannot be credible."""
    from qakit.widgets import ExplorerResult, flip_labels

    agents = pd.DataFrame({"ci_low": [np.nan, np.nan, 85.0], "ci_high": [np.nan, np.nan, 95.0],
                           "flipped": [True, False, True]})
    res = ExplorerResult(card=CARD, scores=None, agents=agents, summary=None)
    assert flip_labels(res).tolist() == [INSIDE, "", CREDIBLE]


def test_added_control_takes_the_full_engine_and_resets(ex, sample):
    """The hook for settings beyond weights: a slider making Solution (1-4 scale) critical below a
    threshold. The explorer's IQS equals Scorecard.score on the changed card (scored through the
    prepared matrix, the one engine); Reset puts the slider back."""
    from dataclasses import replace

    import ipywidgets as W

    ratings, _, card = sample

    def pk_threshold(c, value):
        return replace(c, categories=tuple(replace(x, critical=value > 0, critical_threshold=float(value))
                                           if x.name == "Solution" else x for x in c.categories))

    slider = W.FloatSlider(value=0.0, min=0, max=100, step=5, description="Solution critical below")
    ex.add_control(slider, pk_threshold, 0.0)
    slider.value = 100.0  # any Solution rating below full marks now fails the review
    tuned = pk_threshold(card, 100.0)
    expected = tuned.score(ratings)["iqs"].mean()
    assert expected < card.score(ratings)["iqs"].mean() - 1  # the change matters
    assert ex.result.summary["iqs"].iloc[0] == pytest.approx(expected)
    assert "critical threshold" in ex.changes.value
    ex.reset()
    assert slider.value == 0.0
    assert ex.result.summary["iqs"].iloc[0] == pytest.approx(card.score(ratings)["iqs"].mean())


def test_relative_paths_are_read_from_the_folder_qakit_explore_started_in(sample, tmp_path, monkeypatch):
    """`qakit explore` sets QAKIT_CALLER_DIR (Voila runs the notebook inside notebooks/): the default
    save path and a relative data folder typed in the box are taken from there."""
    ratings, surveys, card = sample
    monkeypatch.setenv("QAKIT_CALLER_DIR", str(tmp_path))
    ex = ScorecardExplorer(ratings, card, surveys=surveys)
    assert ex.save_path.value == str(tmp_path / "tuned_scorecard.yaml")
    assert ex.save() == tmp_path / "tuned_scorecard.yaml"
    team = tmp_path / "team"
    team.mkdir()
    keep = ratings["agent_id"].isin(["A01", "A02", "A03"])
    ratings[keep].to_parquet(team / "ratings.parquet")
    datasets.load_sample("conversations").to_parquet(team / "conversations.parquet")
    surveys.to_parquet(team / "surveys.parquet")
    card.to_yaml(team / "scorecard.yaml")
    assert ex.load_dataset("team"), ex.data_status.value
    assert ex.result.summary["iqs"].iloc[0] == pytest.approx(card.score(ratings[keep])["iqs"].mean())
    assert str(team) in ex.data_status.value


def test_sectioned_card_is_tuned_with_the_same_numbers_as_scorecard_score(sample):
    """data/scorecard_sections.yaml (sections, fail rules) on the sample reviews: a weight change
    and a critical change give Scorecard.score's IQS and per-agent pass/fail."""
    from pathlib import Path

    ratings, surveys, _ = sample
    card = load_scorecard(Path(__file__).resolve().parents[1] / "data" / "scorecard_sections.yaml")
    assert card.sections
    ex = ScorecardExplorer(ratings, card, surveys=surveys)
    name = card.category_names[-1]
    ex.weight_sliders[name].value = 3.0
    tuned = card.with_changes(weights={name: 3.0})
    assert ex.result.summary["iqs"].iloc[0] == pytest.approx(tuned.score(ratings)["iqs"].mean())
    agents = by_agent(tuned, ratings)
    got = ex.result.agents.set_index("agent_id")
    assert got["iqs"].to_dict() == pytest.approx(agents["iqs"].to_dict())
    assert (got["passed"] == card.passes(agents.loc[got.index, "iqs"])).all()


SECTIONS_YAML = "scorecard_sections.yaml"


@pytest.fixture
def sec(sample):
    from pathlib import Path

    ratings, surveys, _ = sample
    card = load_scorecard(Path(__file__).resolve().parents[1] / "data" / SECTIONS_YAML)
    return ScorecardExplorer(ratings, card, surveys=surveys, today="2026-11-27"), card


def _agents_equal(ex, tuned, ratings):
    """The explorer's review scores, overall IQS and every agent's IQS and pass/fail equal
    Scorecard.score + iqs_score on the changed card, computed here."""
    from dataclasses import replace

    from qakit.widgets import engine_check

    assert ex.status.value == "", ex.status.value
    assert ex.result.card == replace(tuned, name=ex.result.card.name)
    truth = tuned.score(ratings)
    assert ex.result.summary["iqs"].iloc[0] == pytest.approx(truth["iqs"].mean(), abs=1e-12)
    agents = by_agent(tuned, ratings)
    got = ex.result.agents.set_index("agent_id")
    assert got["iqs"].to_dict() == pytest.approx(agents["iqs"].to_dict(), abs=1e-12)
    assert (got["passed"] == tuned.passes(agents.loc[got.index, "iqs"])).all()
    chk = engine_check(ex.result, ratings).iloc[0]
    assert chk["max_review_diff"] == 0 and chk["max_agent_diff"] < 1e-9


def _cat(card, name, **kw):
    from dataclasses import replace

    return replace(card, categories=tuple(replace(c, **kw) if c.name == name else c for c in card.categories))


def _sec(card, name, **kw):
    from dataclasses import replace

    return replace(card, sections=tuple(replace(s, **kw) if s.name == name else s for s in card.sections))


def test_rule_controls_offer_the_cards_own_choices(sec):
    ex, card = sec
    assert set(ex.section_boxes["Tone"].options) == {"Compliance", "Resolution", "Communication"}
    assert ex.section_boxes["Tone"].value == "Communication"
    assert [v for _, v in ex.fail_boxes["Solution"].options] == [(), (1.0,), (1.0, 2.0), (1.0, 2.0, 3.0)]
    assert [v for _, v in ex.na_boxes["Tone"].options] == ["exclude", "full", "zero"]
    assert [v for _, v in ex.fail_rule_boxes["Resolution"].options] == ["all", "section"]
    assert ex.fail_rule_boxes["Resolution"].value == "section" and ex.section_weight_sliders["Resolution"].value == 2.0
    assert ex.threshold_boxes["Tone"].disabled and not ex.threshold_boxes["Compliance"].disabled
    ex.critical_boxes["Tone"].value = True
    assert not ex.threshold_boxes["Tone"].disabled  # a threshold matters once the category is critical
    assert all(w.tooltip for w in ex._rule_widgets())  # every rule control explains itself on hover


@pytest.mark.parametrize("change", ["na", "fail_values", "threshold", "section", "fail_rule", "section_weight"])
def test_each_rule_control_scores_like_scorecard_score_and_is_listed(sec, sample, change):
    """data/scorecard_sections.yaml on the sample reviews; each new control changed in the widget:
    the explorer's numbers equal the full engine's on the card changed here by hand, the changes
    panel names the setting, and Reset brings back the baseline numbers."""
    ratings = sample[0]
    ex, card = sec
    if change == "na":  # 2,155 reviews leave Escalation handling N/A: count them as 0
        ex.na_boxes["Escalation handling"].value = "zero"
        tuned, what, setting, new = _cat(card, "Escalation handling", na="zero"), "Escalation handling", "N/A policy", "count as 0"
    elif change == "fail_values":  # a Tone of 1 or 2 fails the Communication section's review
        ex.fail_boxes["Tone"].value = (1.0, 2.0)
        tuned, what, setting, new = _cat(card, "Tone", fail_values=(1.0, 2.0)), "Tone", "fail rule", "ratings 1, 2 fail"
    elif change == "threshold":  # Solution critical, failing below 70 % (ratings 1 and 2 of 1-4)
        ex.critical_boxes["Solution"].value = True
        ex.threshold_boxes["Solution"].value = 70
        tuned, what, setting, new = (_cat(card, "Solution", critical=True, critical_threshold=70.0), "Solution",
                                     "critical threshold", "70")
    elif change == "section":  # Product knowledge (critical) moves to Communication (fail_rule all)
        ex.section_boxes["Product knowledge"].value = "Communication"
        tuned, what, setting, new = (_cat(card, "Product knowledge", section="Communication"), "Product knowledge",
                                     "section", "Communication")
    elif change == "fail_rule":  # a failed Product knowledge now zeroes the whole review
        ex.fail_rule_boxes["Resolution"].value = "all"
        tuned, what, setting, new = (_sec(card, "Resolution", fail_rule="all"), "Resolution (section)", "fail rule",
                                     "the whole review scores 0")
    else:
        ex.section_weight_sliders["Communication"].value = 4.0
        tuned, what, setting, new = _sec(card, "Communication", weight=4.0), "Communication (section)", "section weight", "4"
    base_iqs = card.score(ratings)["iqs"].mean()
    assert abs(tuned.score(ratings)["iqs"].mean() - base_iqs) > 0.5  # the change matters on this data
    _agents_equal(ex, tuned, ratings)
    ch = card_changes(card, ex.result.card)
    assert [what, setting, new] in ch[["what", "setting", "tuned"]].values.tolist()
    assert setting in ex.changes.value and new in ex.changes.value
    ex.reset()
    assert "No change yet" in ex.changes.value
    assert ex.result.summary["iqs"].iloc[0] == pytest.approx(base_iqs, abs=1e-12)


def test_all_rule_controls_together_then_saved_card_scores_the_same(sec, sample, tmp_path):
    """Every new control at once, saved: the YAML loads to the card the explorer scored (version
    label, based_on the baseline version) and scores the sample reviews to the explorer's IQS."""
    ratings = sample[0]
    ex, card = sec
    ex.na_boxes["Empathy"].value = "full"
    ex.fail_boxes["Grammar"].value = (0.0,)
    ex.critical_boxes["Tone"].value = True
    ex.threshold_boxes["Tone"].value = 30
    ex.section_boxes["Grammar"].value = "Compliance"
    ex.fail_rule_boxes["Communication"].value = "section"
    ex.section_weight_sliders["Compliance"].value = 0.5
    tuned = _cat(_cat(card, "Empathy", na="full"), "Grammar", fail_values=(0.0,), section="Compliance")
    tuned = _cat(tuned, "Tone", critical=True, critical_threshold=30.0)
    tuned = _sec(_sec(tuned, "Communication", fail_rule="section"), "Compliance", weight=0.5)
    _agents_equal(ex, tuned, ratings)
    assert card_changes(card, ex.result.card)[["what", "setting"]].values.tolist() == [
        ["Tone", "critical"], ["Tone", "critical threshold"], ["Empathy", "N/A policy"], ["Grammar", "section"],
        ["Grammar", "fail rule"], ["Compliance (section)", "section weight"], ["Communication (section)", "fail rule"]]
    ex.save_path.value = str(tmp_path / "tuned.yaml")
    saved = load_scorecard(ex.save())
    assert (saved.version, saved.based_on) == ("2026.1-tuned-2026-11-27", "2026.1")
    assert "TUNED 2026.1-tuned-2026-11-27" in saved.name
    assert card_changes(tuned, saved).empty
    assert saved.score(ratings)["iqs"].mean() == pytest.approx(ex.result.summary["iqs"].iloc[0], abs=1e-12)


def test_an_impossible_rule_is_explained_not_scored(sample, tmp_path):
    """A critical category moved into a bonus section cannot fail the review: the card is refused
    in plain words and the numbers stay those of the last valid card."""
    from qakit import Category, Scorecard, Section

    ratings, surveys, card = sample
    bonus = Scorecard([Category(c.name, c.weight, c.critical, c.scale, section="Main" if c.name != "Grammar" else "Extra")
                       for c in card.categories], sections=(Section("Main"), Section("Extra", bonus=True)),
                      version=card.version)
    ex = ScorecardExplorer(ratings, bonus, surveys=surveys)
    before = ex.result.summary["iqs"].iloc[0]
    ex.section_boxes["Product knowledge"].value = "Extra"
    assert "cannot be used" in ex.status.value and "bonus" in ex.status.value
    assert ex.result.summary["iqs"].iloc[0] == before
    ex.section_boxes["Product knowledge"].value = "Main"
    assert ex.status.value == ""


def test_tuned_card_of_an_unversioned_baseline_keeps_no_version(sample):
    from qakit.widgets import tuned_card

    _, _, card = sample
    plain = card.with_changes(version=None)
    t = tuned_card(plain, "trial")
    assert t.version is None and t.based_on is None and "TUNED trial" in t.name
    again = tuned_card(tuned_card(card, "a"), "b")  # a tuned card tuned again still scores 2026.1
    assert (again.version, again.based_on) == ("b", "2026.1") and again.name.count("TUNED") == 1


def test_section_weights_are_not_offered_when_the_card_pools_points(sample):
    """sections_combine: points adds up all points, so section weights change nothing (checked
    here with Scorecard.score): their sliders are disabled and say why."""
    from dataclasses import replace
    from pathlib import Path

    ratings, surveys, _ = sample
    card = replace(load_scorecard(Path(__file__).resolve().parents[1] / "data" / SECTIONS_YAML),
                   sections_combine="points")
    assert card.score(ratings)["iqs"].mean() == _sec(card, "Resolution", weight=5.0).score(ratings)["iqs"].mean()
    ex = ScorecardExplorer(ratings, card, surveys=surveys)
    assert all(s.disabled and "Not used" in s.tooltip for s in ex.section_weight_sliders.values())
    assert not any(b.disabled for b in ex.fail_rule_boxes.values())


# --- data the explorer cannot fully use (issue 27): plain words, never 'nan' or a Python message ----------
def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_data_without_csat_says_so_instead_of_nan(sample):
    """No surveys: the IQS tile is Scorecard.score's mean, the r tile and the effect table say there
    is no CSAT; 'nan' appears nowhere; Suggest weights explains itself."""
    ratings, _, card = sample
    ex = ScorecardExplorer(ratings, card)
    ex.weight_sliders["Tone"].value = 2.0
    tuned = card.with_changes(weights={"Tone": 2.0}).score(ratings)["iqs"].mean()
    tiles = _text(ex.summary.value)
    assert f"IQS {tuned:.1f}%" in tiles
    assert "IQS–CSAT r – not available: this data has no CSAT answers" in tiles
    eff = effect_table(ex.result, ex.baseline)
    assert eff.iloc[3].tolist() == ["IQS–CSAT r: not available (no reviewed conversation has a CSAT answer)",
                                    "–", "–", "–"]
    for html in (ex.summary.value, ex.changes.value, ex.ranking.value, eff.to_string()):
        assert not re.search(r"\bnan\b", _text(html)), html[:300]


def test_three_csat_answers_are_too_few_for_r_and_the_page_says_why(sample):
    """CSAT answers on only 3 reviewed conversations: Pearson r needs 4 points for its Fisher-z
    interval (n - 3 > 0), so the tile names the 3 and the 4."""
    ratings, surveys, card = sample
    answered = surveys[surveys["kind"].eq("csat") & surveys["score"].notna()
                       & surveys["conversation_id"].isin(ratings["conversation_id"])]
    few = answered[answered["conversation_id"].isin(answered["conversation_id"].drop_duplicates().head(3))]
    assert few["conversation_id"].nunique() == 3
    ex = ScorecardExplorer(ratings, card, surveys=few)
    assert ("not available: only 3 reviewed conversations have a CSAT answer; r needs at least 4"
            in _text(ex.summary.value))


def test_a_folder_without_reviews_gives_a_page_that_says_so(tmp_path, sample):
    """A helpdesk-only folder (conversations, surveys): the explorer opens, says there is nothing to
    tune and how to get reviews, offers nothing to move; saving says why it cannot; then loading the
    sample folder brings the usual explorer with Scorecard.score's IQS."""
    from qakit.errors import ParameterError

    ratings, surveys, card = sample
    datasets.load_sample("conversations").to_parquet(tmp_path / "conversations.parquet")
    surveys.to_parquet(tmp_path / "surveys.parquet")
    ex = ScorecardExplorer.from_dataset(str(tmp_path))
    assert ex.result is None and ex.weight_sliders == {}
    msg = _text(ex.status.value)
    assert msg.startswith("No reviews to tune.") and str(tmp_path) in msg and "Load data" in msg
    assert "NoneType" not in msg and "DataFrame" not in msg
    assert ex.save_button.disabled and ex.reset_button.disabled and ex.card_row.layout.display == "none"
    with pytest.raises(ParameterError, match="no reviews are loaded"):
        ex.save()
    ex.reset()  # nothing to reset: no error
    assert ex.load_dataset("sample"), ex.data_status.value
    assert ex.result.summary["iqs"].iloc[0] == pytest.approx(card.score(ratings)["iqs"].mean())
    assert not ex.save_button.disabled and ex.card_row.layout.display is None and ex.status.value == ""


def test_loading_a_folder_without_reviews_keeps_the_data_and_says_why(ex, tmp_path):
    datasets.load_sample("conversations").to_parquet(tmp_path / "conversations.parquet")
    before = ex.result
    assert not ex.load_dataset(str(tmp_path))
    msg = _text(ex.data_status.value)
    assert "has no reviews" in msg and "nothing to tune" in msg and "the data loaded before stays" in msg
    assert "NoneType" not in msg and ex.result is before


def test_an_unreadable_folder_opens_the_explorer_with_the_reason(tmp_path):
    ex = ScorecardExplorer.from_dataset(str(tmp_path / "missing"))
    assert ex.result is None
    assert "Could not load" in ex.data_status.value and "existing folder" in ex.data_status.value


def test_explore_dataset_option_reaches_the_notebooks_explorer(tmp_path, monkeypatch, sample):
    """`qakit explore --dataset team` sets QAKIT_EXPLORE_DATASET; from_dataset("sample") then opens
    that folder, relative to where `qakit explore` started (QAKIT_CALLER_DIR)."""
    ratings, surveys, card = sample
    team = tmp_path / "team"
    team.mkdir()
    keep = ratings["agent_id"].isin(["A01", "A02"])
    ratings[keep].to_parquet(team / "ratings.parquet")
    card.to_yaml(team / "scorecard.yaml")
    monkeypatch.setenv("QAKIT_CALLER_DIR", str(tmp_path))
    monkeypatch.setenv("QAKIT_EXPLORE_DATASET", "team")
    ex = ScorecardExplorer.from_dataset("sample")
    assert ex.dataset == str(team) and len(ex.result.agents) == 2
    assert ex.result.summary["iqs"].iloc[0] == pytest.approx(card.score(ratings[keep])["iqs"].mean())
    assert "No CSAT answers" in ex.data_status.value  # this folder has no surveys
