"""The report's automatic-scoring section honours the scorecard's auto: blocks (rules on the card's
scales) and says whether each learned category (auto: learned) qualifies, with its kappa interval
and the n needed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from frames import AUTO_CARD

import qakit.report.data as RDATA
import qakit.report.operations as O
from qakit.autoqa import learned as L

CARD = AUTO_CARD


def dataset(folder, n=36, seed=3):
    """n conversations over three months (12 each); the agent greets in every other one and blames
    the customer in every third; Tone is rated at random (nothing in the text predicts it)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scorecard.yaml").write_text(CARD, encoding="utf-8")
    months = ["2026-09", "2026-10", "2026-11"]
    msgs, rates = [], []
    for i in range(n):
        c, t = f"c{i:02d}", f"{months[i % 3]}-{10 + i // 3:02d} 09:00"
        agent = ("Hello Sam, " if i % 2 == 0 else "") + "I checked your order and it ships today" + (
            ", it was your fault." if i % 3 == 0 else ".")
        msgs += [(c, f"{c}-0", "customer", None, t, "My parcel is late again, where is it please?"),
                 (c, f"{c}-1", "agent", f"a{i % 4}", t, agent)]
        for cat, r in (("Opening", float(i % 2 == 0)), ("No blame", float(i % 3 != 0)), ("Tone", float(rng.integers(0, 2)))):
            rates.append((f"r{i:02d}", c, f"a{i % 4}", "q1", t, cat, r))
    pd.DataFrame(msgs, columns=["conversation_id", "message_id", "author_role", "agent_id", "sent_at", "text"]).to_csv(
        folder / "messages.csv", index=False)
    pd.DataFrame(rates, columns=["review_id", "conversation_id", "agent_id", "reviewer_id", "reviewed_at", "category",
                                 "rating"]).to_csv(folder / "ratings.csv", index=False)
    d = RDATA.load_report_data(dataset=str(folder))
    RDATA.load_optional_tables(d)
    return d


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return dataset(tmp_path_factory.mktemp("auto_card"))


def test_the_cards_auto_blocks_are_what_the_report_scores(data):
    """18 of 36 agents greet (Opening 50 %); 12 of 36 blame (No blame found -> 0, else 1: 24 / 36 =
    66.7 %). AQS per conversation = mean of the two (weights 1): greet & no blame 100 (i % 6 in {2, 4}:
    12), greet & blame 50 (i % 6 == 0: 6), no greet & no blame 50 (i % 6 in {1, 5}: 12), neither 0
    (i % 6 == 3: 6) -> (12 * 100 + 18 * 50) / 36 = 58.33 %."""
    cats = O.autoqa_categories(data).frame.set_index("Automatic category")
    assert sorted(cats.index) == ["No blame", "Opening"]  # Tone is learned, not a rule; no built-ins
    assert cats.loc["Opening", "Automatic score (%)"] == "50.0"
    assert cats.loc["No blame", "Automatic score (%)"] == "66.7"
    s = repr(O.autoqa_summary(data))
    assert "scored automatically on 2 categories from the scorecard's auto: blocks" in s
    assert "AQS 58.3 %" in s


def test_a_learned_category_that_does_not_qualify_says_so(data):
    """Tone is random: leave-one-month-out kappa (recomputed here with sklearn from the same
    out-of-group predictions) cannot clear 0.6; the sentence names the interval, the evidence (3
    months) and the coverage, and keeps Tone with the reviewers."""
    p = L.cross_validate(data.messages, data.ratings, category="Tone", groups="month", seed=0)
    kappa = cohen_kappa_score(p["human"], p["auto"])
    s = repr(O.autoqa_summary(data))
    assert f"Learned category 'Tone' does not qualify for automatic scoring: kappa {kappa:.2f} (95 % CI " in s
    assert "n = 36 conversations, leave one month out, 3 groups, coverage 100%" in s
    assert "the lower bound must reach 0.60" in s and "Its reviewers keep rating it." in s
    row = O._autoqa(data)["learned"].iloc[0]
    assert not row["qualifies"] and row["evidence"] == "leave-one-group-out"


def test_a_learned_category_that_cannot_be_evaluated_says_why(tmp_path):
    d = dataset(tmp_path / "one_month")
    d.messages["sent_at"] = pd.Timestamp("2026-10-05", tz="UTC")  # one month: nothing to leave out
    learned = O._learned(d)
    assert learned["status"].item().startswith("not evaluated: groups='month': the rated conversations fall in 1 group(s)")
    assert "Learned category 'Tone' is not scored automatically (not evaluated: groups='month'" in O._learned_text(learned)
