"""Rule-based categories measured against conversations a person labelled (tests/fixtures/autoqa_labels).

The labels (conversation ids and 0/1 per category, never the text) were given by reading 120 Twitter
support threads (../shared/data/twitter-support; a random sample of threads with an agent reply and
one of threads with two or more) and 64 MAIA-DQE chats in their original German and Portuguese
(../shared/data/maia-dqe), before the rules were run on them; the phrase banks were written from
other threads (not these). Definitions, per conversation, of the agent's messages:

- greeting: a salutation opens the agent's first message (after @mentions);
- closing: a farewell, a good wish or a closing remark ("it was a pleasure to help") in the agent's
  last two messages;
- apology: the agent says sorry / apologises / regrets;
- empathy: the agent acknowledges the customer's feelings or situation ("sorry to hear", "I
  understand how frustrating", "Oh no!"); a restatement of the request is not empathy;
- further help: in the agent's last three messages, an offer of more help or an invitation to come
  back with other questions or if the problem persists (a first offer of help, or an opener such as
  "Happy to help!", is not one);
- thanks: the agent thanks the customer.

Precision and recall are recomputed here with plain pandas and scipy's Wilson interval; the floors
asserted are the issue's measured failures (closing recall 0.20 and further-help precision 0.42 on
Twitter, further-help recall 0.27 on Portuguese chats) turned into regression guards.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

import qakit.realdata as RD
from qakit import schema as S
from qakit.autoqa import rules as R
from qakit.errors import ParameterError

LABELS = Path(__file__).parent / "fixtures" / "autoqa_labels"
COLUMNS = {"greeting": "Greeting", "closing": "Closing", "apology": "Apology", "empathy": "Empathy",
           "further_help": "Further help", "thanks": "Thanks"}


def long_labels(wide: pd.DataFrame) -> pd.DataFrame:
    return wide.melt(id_vars=["conversation_id"], value_vars=list(COLUMNS), var_name="category",
                     value_name="label").assign(category=lambda x: x["category"].map(COLUMNS))


def wilson(k, n):
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return ci.low, ci.high


def test_rule_accuracy_by_hand_and_scipy():
    """Greeting: flagged a, b, c; labelled present a, c, d -> TP 2 (a, c), FP 1 (b), FN 1 (d):
    precision 2/3, recall 2/3; e is not eligible (itemised), f is not in the detections (itemised)."""
    d = pd.DataFrame({"conversation_id": list("abcde"), "category": "Greeting", "eligible": [True] * 4 + [False],
                      "evidence_start": [0, 5, 2, -1, -1]})
    y = pd.DataFrame({"conversation_id": list("abcdef"), "category": "Greeting", "label": [1, 0, 1, 1, 1, 0]})
    acc = R.rule_accuracy(d, y).set_index("measure")
    for m in ("precision", "recall"):
        assert (acc.loc[m, "n"], acc.loc[m, "k"]) == (3, 2)
        assert acc.loc[m, "value"] == pytest.approx(2 / 3)
        lo, hi = wilson(2, 3)
        assert (acc.loc[m, "ci_low"], acc.loc[m, "ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    ex = S.exclusions(acc.reset_index()).set_index("reason")["row_ids"]
    assert ex["labelled conversation not eligible for automatic scoring (rated N/A)"] == ("e",)
    assert ex["labelled conversation not in the detections"] == ("f",)
    with pytest.raises(ParameterError, match=r"labels.label must be 0 or 1; got \['yes'\] for conversations \['a'\]"):
        R.rule_accuracy(d, y.assign(label=["yes", 0, 1, 1, 1, 0]).iloc[:1])
    with pytest.raises(ParameterError, match="detections must be a DataFrame with columns"):
        R.rule_accuracy(d.drop(columns="evidence_start"), y)


def test_label_files_hold_labels_and_ids_only():
    """No conversation text is copied into the project: ids, a language code, 0/1 labels, and for
    Twitter the sample and a note on the labelling rule applied (no quotes)."""
    tw = pd.read_csv(LABELS / "twitter_support.csv", dtype={"conversation_id": str})
    ma = pd.read_csv(LABELS / "maia_dqe.csv")
    assert list(ma.columns) == ["conversation_id", "language", *COLUMNS]
    assert list(tw.columns) == ["conversation_id", "language", *COLUMNS, "sample", "note"]
    for df in (tw, ma):
        assert df["conversation_id"].is_unique and df[list(COLUMNS)].isin([0, 1]).all().all()
    assert (len(tw), len(ma)) == (120, 64) and set(ma["language"]) == {"de", "pt"}


def measured(messages: pd.DataFrame, wide: pd.DataFrame):
    """rule_accuracy on the labelled conversations, and the same counts by plain pandas."""
    msgs = messages[messages["conversation_id"].isin(wide["conversation_id"].astype(str))]
    det = R.detect(msgs)
    acc = R.rule_accuracy(det, long_labels(wide)).set_index(["category", "measure"])
    found = det.assign(found=det["evidence_start"] >= 0).pivot(index="conversation_id", columns="category",
                                                             values="found")
    eligible = det.drop_duplicates("conversation_id").set_index("conversation_id")["eligible"]
    y = wide.set_index(wide["conversation_id"].astype(str))
    y = y[y.index.map(eligible).fillna(False).astype(bool)]
    for col, cat in COLUMNS.items():
        f, t = found.loc[y.index, cat].to_numpy(dtype=bool), y[col].to_numpy() == 1
        tp = int((f & t).sum())
        for m, n in (("precision", int(f.sum())), ("recall", int(t.sum()))):
            row = acc.loc[(cat, m)]
            assert (row["n"], row["k"]) == (n, tp)
            if n:
                lo, hi = wilson(tp, n)
                assert row["value"] == pytest.approx(tp / n)
                assert (row["ci_low"], row["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    return acc, det, y


@pytest.mark.realdata
def test_twitter_threads_precision_recall(shared_data):
    wide = pd.read_csv(LABELS / "twitter_support.csv", dtype={"conversation_id": str})
    acc, det, y = measured(RD.load_twitter_messages(shared_data), wide)
    assert len(y) == 119  # one labelled thread has fewer than 10 words: N/A, itemised
    v = acc["value"]
    assert v["Closing", "recall"] >= 0.8  # issue 28: 0.20 ("Have a good Halloween!", "See you again soon!")
    assert v["Further help", "precision"] >= 0.6  # issue 28: 0.42 ("happy to help" as an opener)
    assert v["Greeting", "recall"] >= 0.9 and v["Greeting", "precision"] >= 0.9
    assert v["Apology", "precision"] >= 0.9 and v["Thanks", "precision"] >= 0.9
    assert v["Empathy", "precision"] >= 0.9  # restatements are not counted


@pytest.mark.realdata
def test_maia_chats_in_german_and_portuguese(shared_data):
    wide = pd.read_csv(LABELS / "maia_dqe.csv")
    messages = RD.load_maia(shared_data, text="original")["messages"]
    acc, det, y = measured(messages, wide)
    assert len(y) == 64
    v = acc["value"]
    assert v["Further help", "recall"] >= 0.7 and v["Further help", "precision"] >= 0.9
    assert v["Closing", "recall"] >= 0.8 and v["Greeting", "recall"] >= 0.9
    assert acc.loc[("Empathy", "precision"), "n"] == acc.loc[("Empathy", "precision"), "k"]  # no restatement flagged
    pt = wide[wide["language"].eq("pt")]
    acc_pt = R.rule_accuracy(det, long_labels(pt)).set_index(["category", "measure"])["value"]
    assert acc_pt["Further help", "recall"] >= 0.8  # issue 28: 0.27 on Portuguese chats
