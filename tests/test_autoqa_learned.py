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
    """Every condition of the gate, each failing alone; reasons listed."""
    a = pd.DataFrame({"category": ["Tone", "Greeting", "Empathy", "Solution", "Intent"],
                      "evidence": ["leave-one-group-out"] * 4 + ["k-fold by conversation"],
                      "n": [120, 120, 12, 120, 120], "coverage": 1.0,
                      "kappa": [0.52, 0.81, 0.95, 0.70, 0.90], "ci_low": [0.40, 0.75, 0.85, 0.65, 0.85],
                      "ci_high": [0.64, 0.87, 1.0, 0.75, 0.95]})
    hh = pd.DataFrame({"category": ["Tone", "Tone", "Greeting", "Empathy", "Intent"],
                       "kappa": [0.6, 0.62, 0.74, 0.5, 0.7]})
    q = L.qualification(a, human_human=hh).set_index("category")
    assert q.loc["Tone", "human_human_kappa"] == pytest.approx(0.61)  # mean of two reviewer pairs
    assert q["qualifies"].tolist() == [False, True, False, False, False]
    assert q.loc["Empathy", "reason"] == "only 12 conversations compared (< 30)"
    assert q.loc["Solution", "reason"] == "no human-human agreement measured and no threshold set"
    assert q.loc["Intent", "reason"].startswith("evidence is k-fold by conversation, not leave-one-group-out")
    assert q.loc["Tone", "reason"] == ("kappa 0.52 [0.40, 0.64]: the lower bound is below human-human agreement 0.61"
                                      " and so is the point estimate")
    t = L.qualification(a, threshold=0.6).set_index("category")
    assert t["qualifies"].tolist() == [False, True, False, True, False]
    assert t.loc["Solution", "reason"] == ("kappa 0.70 [0.65, 0.75]: the lower bound reaches the threshold 0.60, "
                                           "coverage 100%, evidence leave-one-group-out")
    assert L.qualification(a, threshold=0.6, held_out=False)["qualifies"].tolist() == [False, True, False, True, True]
    with pytest.raises(ParameterError, match="min_coverage must be a finite number >= 0 and <= 1; got 2"):
        L.qualification(a, threshold=0.6, min_coverage=2)


def _pairs(n11, n10, n01, n00, category="Tone"):
    """A predictions table with a given confusion table (human x auto), grouped out."""
    h = [1] * (n11 + n10) + [0] * (n01 + n00)
    a = [1] * n11 + [0] * n10 + [1] * n01 + [0] * n00
    return pd.DataFrame({"category": category, "human": np.array(h, float), "auto": np.array(a, float),
                         "group": "g1", "evidence": "leave-one-group-out"})


def test_gate_on_the_lower_bound_with_a_model_of_known_kappa():
    """Confusion table 40 / 10 / 10 / 40 (n = 100): p_o = 0.8, p_e = 0.5, kappa = 0.6 exactly. Its
    large-sample SE (Fleiss, Cohen & Everitt 1969, simplified for p_e fixed) is
    sqrt(p_o (1 - p_o) / (n (1 - p_e)^2)) = sqrt(0.16 / 25) = 0.08, so the 95 % lower bound is
    about 0.6 - 1.96 * 0.08 = 0.44 < 0.5: the point estimate clears a 0.5 bar, the lower bound does
    not. Ten times the conversations: SE 0.0253, lower bound 0.55 >= 0.5 -> qualifies. The n needed
    at n = 100: 1.96 * 0.8 / sqrt(n) <= 0.1 -> n >= 15.68^2 = 245.9, i.e. 246."""
    small = L.kappa_agreement(_pairs(40, 10, 10, 40), n_resamples=4000, seed=1)
    assert small["kappa"].item() == pytest.approx(0.6)
    assert small["ci_low"].item() == pytest.approx(0.6 - 1.96 * 0.08, abs=0.03)
    q = L.qualification(small, threshold=0.5)
    assert not q["qualifies"].item()
    assert 200 <= q["n_needed"].item() <= 300  # 246 by the normal approximation
    big = L.kappa_agreement(_pairs(400, 100, 100, 400), n_resamples=2000, seed=1)
    assert big["ci_low"].item() == pytest.approx(0.6 - 1.96 * 0.8 / np.sqrt(1000), abs=0.015)
    assert L.qualification(big, threshold=0.5)["qualifies"].item()


@pytest.mark.slow
def test_lower_bound_gate_refuses_a_kappa_05_model_that_the_point_rule_passes():
    """A model with true kappa 0.5 on balanced binary labels (auto = human with probability 0.75:
    kappa = 2 * 0.75 - 1 = 0.5), 300 samples of n = 30 conversations, bar 0.6. The point estimate
    passes in roughly a quarter to a third of samples (issue 28: 25-34 %); the 95 % lower bound
    passes in at most about 2.5 % (it is a one-sided 97.5 % bound)."""
    rng = np.random.default_rng(7)
    parts = []
    for i in range(300):
        h = rng.integers(0, 2, 30).astype(float)
        a = np.where(rng.random(30) < 0.75, h, 1 - h)
        parts.append(pd.DataFrame({"category": f"s{i:03d}", "human": h, "auto": a, "group": "g",
                                   "evidence": "leave-one-group-out"}))
    k = L.kappa_agreement(pd.concat(parts, ignore_index=True), n_resamples=400, seed=0)
    point_rate = (k["kappa"] >= 0.6).mean()
    gate_rate = L.qualification(k, threshold=0.6)["qualifies"].mean()
    assert 0.15 <= point_rate <= 0.45
    assert gate_rate <= 0.05


def test_an_abstaining_model_does_not_qualify_on_coverage():
    """Right on the 30 conversations it scores (kappa 1.00, interval [1, 1]), abstaining on 70: coverage
    30 / 100 = 30 % < 80 % -> refused; with min_coverage 0.25 the same model qualifies."""
    p = _pairs(15, 0, 0, 15)
    p = pd.concat([p, p.iloc[:1].assign(auto=np.nan).loc[[0] * 70]], ignore_index=True)
    k = L.kappa_agreement(p, n_resamples=500)
    assert (k["n"].item(), k["n_abstained"].item(), k["coverage"].item(), k["kappa"].item()) == (30, 70, 0.3, 1.0)
    q = L.qualification(k, threshold=0.6)
    assert not q["qualifies"].item()
    assert q["reason"].item() == "coverage 30% < 80% (the model abstained on the rest)"
    assert L.qualification(k, threshold=0.6, min_coverage=0.25)["qualifies"].item()


def _clients(n_per=24):
    """Three clients whose agents say the same thing in their own words: label 1 = 'zebra' / 'kiwi' /
    'plum', label 0 = 'yak' / 'lime' / 'pear' (each client's words appear nowhere else)."""
    words = {"A": ("zebra", "yak"), "B": ("kiwi", "lime"), "C": ("plum", "pear")}
    rows, rates = [], []
    for client, (yes, no) in words.items():
        for i in range(n_per):
            c, y = f"{client}{i:02d}", i % 2
            rows += [(c, f"{c}-0", "customer", None, "the customer asks", client),
                     (c, f"{c}-1", "agent", "a1", f"the agent says {yes if y else no}", client)]
            rates.append((f"r{c}", c, "a1", "qa", None, "Tone", float(y)))
    m = pd.DataFrame(rows, columns=["conversation_id", "message_id", "author_role", "agent_id", "text", "client"])
    m["sent_at"] = None
    r = pd.DataFrame(rates, columns=["review_id", "conversation_id", "agent_id", "reviewer_id", "reviewed_at",
                                     "category", "rating"])
    return m, r


def test_leaving_a_client_out_shows_what_k_fold_hides():
    """Within the same clients (5-fold by conversation) every client's words are in training: all 72
    predicted right, kappa 1. Leaving a client out, its words are unseen, every text of the held-out
    client has the same features ('the agent says' + an unknown word), so the prediction is constant
    within the client: kappa of a constant predictor = 0 (p_o = p_e), per client and pooled
    (balanced labels in every client: p_e = 0.5 whatever the constant; p_o = 0.5)."""
    m, r = _clients()
    kf = L.cross_validate(m, r, category="Tone", char_ngrams=None, seed=0)
    assert kf["evidence"].unique().tolist() == ["k-fold by conversation"]
    assert L.kappa_agreement(kf)["kappa"].item() == 1.0
    lo = L.cross_validate(m, r, category="Tone", groups="client", char_ngrams=None, seed=0)
    assert lo["evidence"].unique().tolist() == ["leave-one-group-out"]
    assert sorted(lo["group"].unique()) == ["A", "B", "C"]
    assert lo.groupby("group")["auto"].nunique().eq(1).all()
    per = L.kappa_agreement(lo, by="group", n_resamples=200)
    assert per["group"].tolist() == ["A", "B", "C"] and per["kappa"].tolist() == [0.0, 0.0, 0.0]
    pooled = L.kappa_agreement(lo, n_resamples=500)
    assert (pooled["evidence"].item(), pooled["n_groups"].item()) == ("leave-one-group-out", 3)
    assert pooled["kappa"].item() == pytest.approx(0.0, abs=1e-12)
    q = L.qualification(pooled, threshold=0.6)
    assert not q["qualifies"].item()
    assert not L.qualification(L.kappa_agreement(kf), threshold=0.6)["qualifies"].item()  # k-fold is no evidence


def test_groups_by_month_and_bad_groups():
    m, r = _clients(n_per=12)
    month = {"A": "2026-01-10", "B": "2026-02-10", "C": "2026-03-10"}
    m["sent_at"] = m["client"].map(month)
    p = L.cross_validate(m, r, category="Tone", groups="month", char_ngrams=None)
    assert sorted(p["group"].unique()) == ["2026-01", "2026-02", "2026-03"]
    with pytest.raises(ParameterError, match=r"groups='team' is not a column of messages"):
        L.cross_validate(m, r, category="Tone", groups="team")
    one = m.assign(client="A")
    with pytest.raises(ParameterError, match=r"groups='client': the rated conversations fall in 1 group\(s\) \(\['A'\]\)"):
        L.cross_validate(one, r, category="Tone", groups="client")
    gap = m.assign(client=m["client"].where(m["conversation_id"].ne("A00")))
    p = L.cross_validate(gap, r, category="Tone", groups="client", char_ngrams=None)
    assert "A00" not in set(p["conversation_id"])
    ex = S.exclusions(p).set_index("reason")
    assert ex.loc["no 'client' value: in no held-out group", "row_ids"] == ("A00",)


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
