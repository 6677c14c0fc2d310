"""Learned autoqa categories: grouped cross-validation, kappa with a bootstrap CI, qualification."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from qakit import schema as S
from qakit.autoqa import learned as L
from qakit.calibration import cohen_kappa
from qakit.errors import ParameterError

POLITE = ["Thank you so much for your patience, I am happy to help.",
          "Vielen Dank für Ihre Geduld, ich helfe Ihnen gerne.",
          "Muito obrigado pela paciência, fico feliz em ajudar."]
RUDE = ["Read the manual. Not our problem.", "Lesen Sie die Anleitung. Nicht unser Problem.",
        "Leia o manual. Não é problema nosso."]


def make(n_conv=60, seed=1, signal=True):
    """n_conv conversations of 1 customer + 3 agent messages; label 1 = polite agent.

    With ``signal=False`` every conversation gets a unique nonsense token in all its messages and
    a random label: nothing generalises across conversations, so honest (grouped) cross-validation
    must find kappa near 0, while a leaky split (messages of one conversation in train and test)
    would memorise the token.
    """
    rng = np.random.default_rng(seed)
    rows, rates, turns = [], [], []
    for c in range(n_conv):
        y = int(rng.integers(0, 2)) if not signal else c % 2
        lang = c % 3
        for i in range(4):
            role = "customer" if i == 0 else "agent"
            if signal:
                text = "My order is late, where is it?" if i == 0 else (POLITE if y else RUDE)[lang]
            else:
                text = f"tok{c:03d}x{rng.integers(1e6)} " + ("Where is my order?" if i == 0 else "We are checking it.")
            rows.append((f"c{c}", f"c{c}-{i}", role, None if i == 0 else f"a{c % 4}", float(i), text))
            turns.append((f"c{c}-{i}", y if role == "agent" else np.nan))
        rates.append((f"r{c}", f"c{c}", f"a{c % 4}", "qa1", "2026-01-05", "Politeness", y))
    msgs = pd.DataFrame(rows, columns=["conversation_id", "message_id", "author_role", "agent_id", "position", "text"])
    msgs["sent_at"] = None
    ratings = pd.DataFrame(rates, columns=["review_id", "conversation_id", "agent_id", "reviewer_id", "reviewed_at",
                                           "category", "rating"])
    tl = pd.DataFrame(turns, columns=["message_id", "Politeness"])
    return msgs, ratings, tl


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_kappa_matches_sklearn_and_calibration(weights):
    rng = np.random.default_rng(3)
    h = rng.integers(1, 6, 80).astype(float)
    a = np.clip(h + rng.integers(-1, 2, 80), 1, 5)
    p = pd.DataFrame({"category": "Task", "human": h, "auto": a})
    k = L.kappa_agreement(p, weights=weights, n_resamples=200)
    assert k["kappa"].item() == pytest.approx(cohen_kappa_score(h, a, weights=weights), abs=1e-12)
    values = np.union1d(h, a)
    one = L._kappa_many(np.searchsorted(values, h)[None, :], np.searchsorted(values, a)[None, :], len(values), weights)
    assert one[0] == pytest.approx(cohen_kappa_score(h, a, weights=weights), abs=1e-12)


@pytest.mark.slow  # thousands of bootstrap refits against scipy's
def test_bootstrap_ci_close_to_scipy():
    """Percentile bootstrap over conversations vs scipy.stats.bootstrap (paired, percentile);
    different random streams, so equal to Monte-Carlo error only (5,000 resamples each)."""
    rng = np.random.default_rng(5)
    h = rng.integers(0, 2, 150).astype(float)
    a = np.where(rng.random(150) < 0.8, h, 1 - h)
    k = L.kappa_agreement(pd.DataFrame({"category": "X", "human": h, "auto": a}), n_resamples=5000, seed=2)
    ref = stats.bootstrap((h, a), lambda x, y: cohen_kappa_score(x, y), paired=True, vectorized=False,
                          n_resamples=5000, method="percentile", random_state=7).confidence_interval
    assert k["ci_low"].item() == pytest.approx(ref.low, abs=0.03)
    assert k["ci_high"].item() == pytest.approx(ref.high, abs=0.03)


def test_kappa_agreement_doc_numbers_and_abstention():
    """7 compared pairs: po = 6/7; human yes 5/7, auto yes 5/7... see the docstring: pe = 26/49,
    kappa = (6/7 - 26/49) / (1 - 26/49) = (42 - 26) / (49 - 26) = 16/23."""
    p = pd.DataFrame({"category": "Tone", "human": [1, 1, 0, 0, 1, 1, 0, 1], "auto": [1, 1, 0, 1, 1, 1, 0, np.nan]})
    k = L.kappa_agreement(p, n_resamples=200)
    assert k["kappa"].item() == pytest.approx(16 / 23)
    assert (k["n"].item(), k["n_abstained"].item(), k["coverage"].item()) == (7, 1, pytest.approx(7 / 8))


def test_learns_a_real_signal_grouped():
    msgs, ratings, _ = make()
    p = L.cross_validate(msgs, ratings, category="Politeness", n_splits=5, seed=0)
    assert len(p) == 60 and set(p["fold"]) == {0, 1, 2, 3, 4}
    assert (p["auto"] == p["human"]).all()  # polite and rude phrasings never overlap
    assert L.kappa_agreement(p)["kappa"].item() == 1.0


def test_no_leakage_between_messages_of_one_conversation():
    """Random labels + a per-conversation token: grouped CV must not learn the tokens."""
    msgs, ratings, tl = make(n_conv=80, signal=False)
    p = L.cross_validate(msgs, ratings, category="Politeness", turn_labels=tl, seed=0)
    k = L.kappa_agreement(p, n_resamples=500)
    assert abs(k["kappa"].item()) < 0.3
    assert k["ci_low"].item() < 0 < k["ci_high"].item()
    # every conversation predicted exactly once, in one fold
    assert p["conversation_id"].is_unique and len(p) == 80


def test_turn_level_training_min_aggregate():
    msgs, ratings, tl = make()
    p = L.cross_validate(msgs, ratings, category="Politeness", turn_labels=tl, aggregate="min", seed=0)
    assert (p["auto"] == p["human"]).all()


def test_abstention_and_exclusions():
    msgs, ratings, _ = make()
    ratings.loc[0, "rating"] = np.nan  # N/A human rating: excluded and itemised
    extra = ratings.iloc[[1]].assign(review_id="r_extra", conversation_id="c_missing")
    p = L.cross_validate(msgs, pd.concat([ratings, extra]), category="Politeness", min_confidence=0.999, seed=0)
    assert p["auto"].isna().any()  # nothing is 99.9 % sure with 48 training texts
    ex = S.exclusions(p).set_index("reason")
    assert ex.loc["human rating N/A: not a label", "row_ids"] == ("r0 / Politeness",)
    assert ex.loc["rated conversation without messages", "row_ids"] == ("c_missing",)


def test_bad_parameters():
    msgs, ratings, _ = make(n_conv=12)
    with pytest.raises(ParameterError, match="category 'Tone' has no ratings"):
        L.cross_validate(msgs, ratings, category="Tone")
    with pytest.raises(ParameterError, match="n_splits must be an integer >= 2; got 1"):
        L.cross_validate(msgs, ratings, category="Politeness", n_splits=1)
    with pytest.raises(ParameterError, match=r"min_confidence must be a finite number >= 0 and < 1; got 1.5"):
        L.cross_validate(msgs, ratings, category="Politeness", min_confidence=1.5)
    with pytest.raises(ParameterError, match="weights must be one of"):
        L.kappa_agreement(pd.DataFrame({"category": "X", "human": [1, 0], "auto": [1, 0]}), weights="cubic")


def test_qualification_by_hand():
    a = pd.DataFrame({"category": ["Tone", "Greeting", "Empathy", "Solution"], "n": [120, 120, 12, 120],
                      "kappa": [0.52, 0.81, 0.95, 0.70]})
    hh = pd.DataFrame({"category": ["Tone", "Tone", "Greeting", "Empathy"], "kappa": [0.6, 0.62, 0.74, 0.5]})
    q = L.qualification(a, human_human=hh).set_index("category")
    assert q.loc["Tone", "human_human_kappa"] == pytest.approx(0.61)  # mean of two reviewer pairs
    assert q["qualifies"].tolist() == [False, True, False, False]
    assert q.loc["Empathy", "reason"] == "only 12 conversations compared (< 30)"
    assert q.loc["Solution", "reason"] == "no human-human agreement measured and no threshold set"
    t = L.qualification(a, threshold=0.6).set_index("category")
    assert t["qualifies"].tolist() == [False, True, False, True]
    assert t.loc["Solution", "reason"] == "kappa 0.70 >= the threshold 0.60"


def test_char_wb_through_words_equals_sklearn():
    """CharWbTfidf = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
    sublinear_tf=True): same vocabulary and the same matrix (to float32 precision), also on texts
    with words never seen in training, tabs, newlines, double spaces, Greek final sigma, umlauts."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    train = ["Hello there, ΟΔΟΣ  test\nnew line", "Vielen Dank für Ihre Geduld", "Olá, obrigado!", "hello again",
             "thank you", "", "Danke  schön\t tab", "Ärger über die Lieferung"]
    test = ["Hello unseen wörds ÄRGER", "", "obrigado hello", "   "]
    ref = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True).fit(train)
    mine = L.CharWbTfidf(ngram_range=(2, 5), min_df=2).fit(train)
    assert list(ref.get_feature_names_out()) == list(mine.get_feature_names_out())
    for x in (train, test):
        np.testing.assert_allclose(mine.transform(x).toarray(), ref.transform(x).toarray(), atol=1e-6)


def test_char_wb_vectorised_equals_sklearn_on_random_texts():
    """Random texts over an alphabet with spaces, tabs, newlines, no-break spaces, umlauts, ß, the
    dotted capital I (lowercases to two code points), Σ, an emoji and punctuation; words of 1 to 40
    characters (shorter and longer than every n): the same matrix as sklearn's char_wb TF-IDF."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    rng = np.random.default_rng(7)
    alphabet = list("abcdeÄäöüßİΣσ😀,.!'-_0123456789") + [" ", " ", "\t", "\n", "\u00a0"]
    texts = ["".join(rng.choice(alphabet, rng.integers(0, 60))) for _ in range(300)]
    train, test = texts[:200], texts[200:]
    ref = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True).fit(train)
    mine = L.CharWbTfidf(ngram_range=(2, 5), min_df=2).fit(train)
    assert list(ref.get_feature_names_out()) == list(mine.get_feature_names_out())
    np.testing.assert_allclose(mine.fit_transform(train).toarray(), ref.transform(train).toarray(), atol=1e-6)
    np.testing.assert_allclose(mine.transform(test).toarray(), ref.transform(test).toarray(), atol=1e-6)
    ref1 = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=1, sublinear_tf=True).fit(train)
    mine1 = L.CharWbTfidf(ngram_range=(1, 3), min_df=1).fit(train)
    np.testing.assert_allclose(mine1.transform(test).toarray(), ref1.transform(test).toarray(), atol=1e-6)
