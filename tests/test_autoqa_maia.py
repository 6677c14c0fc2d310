"""The MAIA-DQE evaluation: held-out subsets never leak into training; real-data numbers are checked
against sklearn on the same vectors built with plain pandas."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

import qakit.realdata as RD
from qakit import schema as S
from qakit.autoqa import maia as M
from qakit.autoqa import rules as R

POLITE = "Hello, thank you for your patience, I am happy to help you with this today."
RUDE = "Read the manual, it is all written there, not our problem at all really."


def dialogue(i, polite, task):
    agent = POLITE if polite else RUDE
    turn = lambda floor, text, **lab: {"floor": floor, "text_src": [text], "text_mt": [text], "Understanding": lab.get("u"),
                                       "Sensibleness": lab.get("u"), "Politeness": lab.get("p"), "IQ": 4}
    return {"id": f"en_de_#CLIENT-09#_d-{i}", "dialog": {"Dropped conversation": 0, "Task Sucess": task},
            "turns": [turn("inbound", f"My reader {i} does not switch on any more since yesterday."),
                      turn("outbound", agent, p=int(polite), u=int(polite))]}


@pytest.fixture
def subsets(tmp_path):
    train = [dialogue(i, i % 2 == 0, 5 if i % 2 == 0 else 2) for i in range(12)]
    test = [dialogue(0, True, 5)] + [dialogue(100 + i, i % 2 == 0, 5 if i % 2 == 0 else 2) for i in range(6)]
    (tmp_path / "tr.json").write_text(json.dumps(train))
    (tmp_path / "te.json").write_text(json.dumps(test))
    return tmp_path


def test_held_out_subset_excludes_dialogues_seen_in_training(subsets):
    """The test file repeats training dialogue d-0: it is not tested, so n = 6, not 7; the learned
    models separate polite from rude agents perfectly (kappa 1)."""
    res = M.evaluate_maia(subsets, train=["tr"], test=["te"], n_resamples=200)
    assert set(res["n"]) == {6}
    model = res[res["method"].eq("model") & res["category"].isin(["Politeness", "Understanding"])]
    assert (model["kappa"] == 1.0).all()
    assert res["evaluation"].iloc[-1] == "trained on tr, tested on te"


def test_shared_subsets_rules_kappa_matches_sklearn(shared_data):
    """Rule 'Greeting' against the human Politeness, rebuilt with plain pandas + sklearn (the
    learned rows of the README come from `python -m qakit.autoqa.maia`, ~1.5 min; the learned
    pipeline itself is tested in test_autoqa_learned.py)."""
    data = RD.load_maia(shared_data)
    res = pd.concat(M._rule_rows(data, "english", "all", level=0.95, n_resamples=200, seed=0))
    d = R.detect(data["messages"])
    g = d[d[S.CATEGORY].eq("Greeting")].set_index(S.CONVERSATION_ID)[S.RATING]
    h = data["ratings"].query("category == 'Politeness'").set_index(S.CONVERSATION_ID)[S.RATING]
    both = pd.concat([h, g], axis=1, keys=["h", "g"]).dropna()
    row = res[(res["predictor"] == "Greeting") & (res["text"] == "english")].iloc[0]
    assert row["n"] == len(both) == 111  # 112 dialogues, one without any labelled agent turn
    assert row["kappa"] == pytest.approx(cohen_kappa_score(both["h"], both["g"]))
    assert (res["ci_low"] <= res["kappa"]).all() and (res["kappa"] <= res["ci_high"]).all()
