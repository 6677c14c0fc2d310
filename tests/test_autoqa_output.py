"""Automatic ratings -> AQS (apart from IQS), risk flags for sampling, lexicon features."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import qakit
from qakit import schema as S
from qakit.autoqa import lexicon as X
from qakit.autoqa import output as O
from qakit.autoqa import rules as R
from qakit.errors import ParameterError


def msgs(rows):
    """rows: (conversation, role, agent, text, language)."""
    df = pd.DataFrame(rows, columns=["conversation_id", "author_role", "agent_id", "text", "language"])
    df["message_id"] = [f"m{i}" for i in range(len(df))]
    df["sent_at"] = None
    return df


CARD = qakit.Scorecard([qakit.Category("Greeting"), qakit.Category("Thanks"), qakit.Category("Closing")])


def test_aqs_by_hand_and_never_mixed():
    """c1: greeting 1, thanks 1, closing 0 -> 66.67; c2: 1, 0, 1 -> 66.67; c3: 0, 0, 0 -> 0 (agent a2);
    c4 too short -> N/A, excluded and itemised. AQS a1 = 66.67 (n=2, sd 0 -> CI 66.67..66.67)."""
    m = msgs([
        ("c1", "customer", None, "Where is my parcel, it should have come on Monday", "en"),
        ("c1", "agent", "a1", "Hello! Thank you for waiting, it arrives tomorrow.", "en"),
        ("c2", "customer", None, "Onde está o meu pedido, deveria ter chegado na segunda", "pt"),
        ("c2", "agent", "a1", "Olá! Chega amanhã. Tenha um ótimo dia!", "pt"),
        ("c3", "customer", None, "Wo ist mein Paket, es sollte am Montag kommen", "de"),
        ("c3", "agent", "a2", "Es kommt morgen.", "de"),
        ("c4", "customer", None, "Hi", "en"),
        ("c4", "agent", "a2", "Hello", "en"),
    ])
    auto = O.auto_ratings(R.detect(m, rules=[r for r in R.DEFAULT_RULES if r.name in ("Greeting", "Thanks", "Closing")]))
    assert set(auto["reviewer_id"]) == {"auto"} and set(auto["source"]) == {"rule"}
    a = O.aqs_score(auto, CARD, by="agent_id").set_index("agent_id")
    assert a.loc["a1", "aqs"] == pytest.approx(200 / 3) and a.loc["a1", "n"] == 2
    assert a.loc["a2", "aqs"] == 0.0 and a.loc["a2", "n_excluded"] == 1
    assert "c4" in S.exclusions(a)["row_ids"].iloc[0]
    human = auto.assign(reviewer_id="qa1", review_id=lambda d: d["review_id"].str.replace("auto", "h"))
    with pytest.raises(ParameterError, match="AQS and IQS are never mixed"):
        O.aqs_score(pd.concat([auto, human]), CARD)


def test_aqs_vs_iqs_cis():
    """Agent a: AQS from 4 conversations (100, 50, 100, 50) -> mean 75, sd 28.87, t(3) CI;
    IQS from 3 human reviews (100, 0, 100) -> 66.67 with t(2) CI (scipy)."""
    auto = pd.DataFrame({"conversation_id": np.repeat([f"c{i}" for i in range(4)], 2), "agent_id": "a",
                         "category": ["Greeting", "Thanks"] * 4, "rating": [1, 1, 1, 0, 1, 1, 0, 1.0], "source": "rule"})
    human = pd.DataFrame({"review_id": ["r1", "r2", "r3"], "conversation_id": ["c0", "c1", "c2"], "agent_id": "a",
                          "reviewer_id": "qa", "reviewed_at": "2026-01-05", "category": "Tone", "rating": [1, 0, 1.0]})
    card_h = qakit.Scorecard([qakit.Category("Tone")])
    card_a = qakit.Scorecard([qakit.Category("Greeting"), qakit.Category("Thanks")])
    t = O.aqs_vs_iqs(O.auto_ratings(auto), human, card=card_h, auto_card=card_a).set_index("measure")
    x = np.array([100, 50, 100, 50.0])
    lo, hi = stats.t.interval(0.95, 3, loc=x.mean(), scale=x.std(ddof=1) / 2)
    assert (t.loc["aqs", "n"], t.loc["aqs", "score"]) == (4, 75.0)
    assert t.loc["aqs", "ci_low"] == pytest.approx(max(lo, 0)) and t.loc["aqs", "ci_high"] == pytest.approx(min(hi, 100))
    assert t.loc["iqs", "score"] == pytest.approx(200 / 3) and t.loc["iqs", "n"] == 3


@pytest.mark.parametrize("lang,positive,negative", [
    ("en", "This is unacceptable, I want to talk to a supervisor.", "Thanks, that solved it."),
    ("de", "Das ist eine Frechheit, ich will eine Beschwerde einreichen.", "Danke, das hat geholfen."),
    ("pt", "Isso é um absurdo, vou reclamar no Procon.", "Obrigado, resolveu."),
])
def test_escalation_words_en_de_pt(lang, positive, negative):
    m = msgs([("c1", "customer", None, positive, lang), ("c1", "agent", "a", "Let me check.", lang),
              ("c2", "customer", None, negative, lang), ("c2", "agent", "a", "Glad to hear.", lang),
              ("c3", "customer", None, "Hi", lang), ("c3", "agent", "a", "Our manager will call you.", lang)])
    r = O.risk_signals(m).set_index("conversation_id")
    assert r["escalation_words"].tolist() == [True, False, False]  # c3: the agent said manager, not the customer


def test_risk_score_and_sampling_by_hand():
    """20 conversations; c0 has 12 messages (long and many replies: above the 0.9 quantile),
    c1 an escalation. risk: c0 = 1 + 1 + 1 = 3, c1 = 1 + 2 = 3, others 1."""
    rows = []
    for c in range(20):
        k = 6 if c == 0 else 1
        for _ in range(k):
            rows.append((f"c{c}", "customer", None, "I want a refund now, this is the worst" if c == 1 else "Where is it?", "en"))
            rows.append((f"c{c}", "agent", "a", "Checking.", "en"))
    sig = O.risk_signals(msgs(rows)).set_index("conversation_id")
    assert sig.loc["c0", "risk"] == 3.0 and sig.loc["c1", "risk"] == 3.0 and (sig["risk"].drop(["c0", "c1"]) == 1).all()
    s = O.sample_for_review(msgs(rows), n=4, seed=1)
    # pi = 4 * risk / sum(risk) = 4 * 3 / 24 = 0.5 for c0, c1; 4 / 24 for the others
    pi = s.set_index("conversation_id")["inclusion_prob"]
    assert len(s) == 4
    for cid, p in pi.items():
        assert p == pytest.approx(0.5 if cid in ("c0", "c1") else 1 / 6)


def test_sentiment_english_only_and_itemised():
    m = msgs([("c1", "customer", None, "I love it, great service!", "en"), ("c1", "agent", "a", "Thanks!", "en"),
              ("c2", "customer", None, "Das ist schrecklich.", "de"), ("c2", "agent", "a", "Entschuldigung.", "de")])
    s = X.customer_sentiment(m).set_index("conversation_id")
    vs = X._vader().polarity_scores("I love it, great service!")["compound"]
    assert s.loc["c1", "sentiment"] == pytest.approx(vs) and vs > 0.5
    assert np.isnan(s.loc["c2", "sentiment"])
    ex = S.exclusions(s).set_index("reason")
    assert ex.loc["customer message not in English: no sentiment (VADER is English only)", "row_ids"] == ("m2",)


def test_negative_sentiment_flag():
    m = msgs([("c1", "customer", None, "This is terrible, awful service.", "en"), ("c1", "agent", "a", "Sorry.", "en"),
              ("c2", "customer", None, "Fine, thanks.", "en"), ("c2", "agent", "a", "Welcome.", "en")])
    r = O.risk_signals(m, sentiment=X.customer_sentiment(m))
    assert r["negative_sentiment"].tolist() == [True, False] and r["risk"].tolist() == [3.0, 1.0]


def test_readability_by_language_by_hand():
    """pyphen: 'Ich' 1, 'habe' ha-be 2, 'Zeit' 1 -> 4 syllables, 3 words, 1 sentence:
    Amstad 180 - 3 - 58.5 * 4/3 = 99. Portuguese 'Eu tenho tempo': eu 1, te-nho 2, tem-po 2 -> 5:
    248.835 - 1.015 * 3 - 84.6 * 5/3 = 104.79. Klingon: no formula, N/A and itemised."""
    m = msgs([("c1", "customer", None, "x", "de"), ("c1", "agent", "a", "Ich habe Zeit.", "de"),
              ("c2", "customer", None, "x", "pt-br"), ("c2", "agent", "a", "Eu tenho tempo.", "pt-br"),
              ("c3", "customer", None, "x", "tlh"), ("c3", "agent", "a", "nuqneH", "tlh")])
    r = X.readability(m).set_index("conversation_id")
    assert r.loc["c1", "n_syllables"] == 4 and r.loc["c1", "reading_ease"] == pytest.approx(180 - 3 - 58.5 * 4 / 3)
    assert r.loc["c2", "n_syllables"] == 5
    assert r.loc["c2", "reading_ease"] == pytest.approx(248.835 - 1.015 * 3 - 84.6 * 5 / 3)
    assert np.isnan(r.loc["c3", "reading_ease"])
    assert S.exclusions(r)["row_ids"].iloc[0] == ("c3",)


def test_spelling_en_de_pt_by_hand():
    """en: 'teh' unknown of 4 checked; de: 'Bestelung' unknown of 3; pt: 'pedidu' unknown of 3.
    #PRS_ORG#, @user, digits and URLs are not checked."""
    m = msgs([("c1", "customer", None, "x", "en"), ("c1", "agent", "a", "teh parcel is late @bob 12345", "en"),
              ("c2", "customer", None, "x", "de"), ("c2", "agent", "a", "Ihre Bestelung kommt #PRS_ORG#", "de"),
              ("c3", "customer", None, "x", "pt"), ("c3", "agent", "a", "seu pedidu chegou https://x.y/z", "pt")])
    s = X.spelling(m).set_index("conversation_id")
    assert s["n_words_checked"].tolist() == [4, 3, 3]
    assert s["n_unknown_words"].tolist() == [1, 1, 1]


def test_auto_ratings_refuses_double_rating():
    d = pd.DataFrame({"conversation_id": ["c1"], "agent_id": "a", "category": "Greeting", "rating": [1.0], "source": "rule"})
    with pytest.raises(qakit.DataValidationError, match="duplicate key"):
        O.auto_ratings(d, d.assign(source="model"))


def test_risk_signals_use_automatic_scores_and_feed_sample_risk_based():
    """Automatic flags: c1's automatic score (Greeting 0, Thanks 0 -> 0 %) fails the card's 80 %
    threshold, c2's (1, 1 -> 100 %) passes; with weight 2, risk c1 = 1 + 2 = 3, c2 = 1. Among 10
    conversations of which c1 is the only flagged one, sample_risk_based on the 'risk' column
    gives pi = n * risk / sum(risk) = 2 * 3 / 12 = 0.5 for c1 and 2 / 12 for each other."""
    from qakit.sampling import sample_risk_based

    rows = [("c1", "customer", None, "Where is my parcel, it should have come on Monday", "en"),
            ("c1", "agent", "a1", "It arrives tomorrow morning by courier.", "en"),
            ("c2", "customer", None, "Onde está o meu pedido, deveria ter chegado na segunda", "pt"),
            ("c2", "agent", "a1", "Olá! Obrigada, chega amanhã.", "pt")]
    rows += [(f"c{i}", role, "a2" if role == "agent" else None, "Hallo, danke, alles gut und vielen Dank für alles", "de")
             for i in range(3, 11) for role in ("customer", "agent")]
    m = msgs(rows)
    card = qakit.Scorecard([qakit.Category("Greeting"), qakit.Category("Thanks")])
    auto = O.auto_ratings(R.detect(m, rules=[r for r in R.DEFAULT_RULES if r.name in ("Greeting", "Thanks")]))
    sig = O.risk_signals(m, auto=auto, card=card).set_index("conversation_id")
    assert sig["auto_failed"].tolist() == [True] + [False] * 9
    assert sig.loc["c1", "risk"] == 3.0 and (sig["risk"].drop("c1") == 1.0).all()
    s = sample_risk_based(sig.reset_index(), n=2, seed=3, risk="risk").set_index("conversation_id")
    for cid, p in s["inclusion_prob"].items():
        assert p == pytest.approx(0.5 if cid == "c1" else 2 / 12)
    assert O.sample_for_review(m, n=2, seed=3, auto=auto, card=card)["inclusion_prob"].sum() == pytest.approx(
        s["inclusion_prob"].sum())
    with pytest.raises(ParameterError, match="give auto .* and card .* together"):
        O.risk_signals(m, auto=auto)


def test_no_conversation_text_in_any_autoqa_output():
    """Every autoqa function that returns a table, run on messages whose texts carry a marker word:
    the marker never appears in a result (only counts, ratings and evidence positions), except
    in learned.documents, the model's input, documented as never shown in a report."""
    from qakit.autoqa import learned as L

    marker = "zqxmarker"
    rows = []
    for i in range(12):
        rows += [(f"c{i}", "customer", None, f"{marker} where is my order, this is unacceptable, manager now", "en"),
                 (f"c{i}", "agent", f"a{i % 2}", f"Hello {marker}, sorry, thank you for waiting. Have a nice day!", "en")]
    m = msgs(rows)
    human = pd.DataFrame({"review_id": [f"r{i}" for i in range(12)], "conversation_id": [f"c{i}" for i in range(12)],
                          "agent_id": [f"a{i % 2}" for i in range(12)], "reviewer_id": "qa", "reviewed_at": "2026-01-05",
                          "category": "Politeness", "rating": [1.0, 0.0] * 6})
    det = R.detect(m)
    auto = O.auto_ratings(det)
    card = qakit.Scorecard([qakit.Category(r.name) for r in R.DEFAULT_RULES])
    outputs = {
        "detect": det, "auto_ratings": auto, "aqs_score": O.aqs_score(auto, card, by="agent_id"),
        "risk_signals": O.risk_signals(m), "sample_for_review": O.sample_for_review(m, n=3, seed=0),
        "readability": X.readability(m), "spelling": X.spelling(m), "customer_sentiment": X.customer_sentiment(m),
        "learned_ratings": O.learned_ratings(m, human, category="Politeness", seed=0),
        "cross_validate": L.cross_validate(m, human, category="Politeness", n_splits=2, seed=0),
    }
    for name, out in outputs.items():
        cells = [str(v) for v in out.to_numpy().ravel()] + [str(c) for c in out.columns]
        assert not any(marker in c for c in cells), name
        for rec in (S.exclusions(out), S.adjustments(out)):
            assert marker not in rec.to_string(), name
    assert L.documents(m)["text"].str.contains(marker).all()  # the model's input does hold the text


def test_readability_easy_and_hard_en_de_pt_by_hand():
    """Flesch by hand with pyphen's hyphenation as syllables (counted from pyphen.inserted):
    en 'The parcel is late.' 4 words, The par-cel is late = 5 syllables: 206.835 - 1.015*4 - 84.6*5/4 = 97.025;
    en 'We apologise for the inconvenience caused' (no full stop: 1 sentence) 6 words,
    1 + apol-o-gise 3 + 1 + 1 + in-con-ve-nience 4 + 1 = 11: 206.835 - 1.015*6 - 84.6*11/6 = 45.645;
    de 'Wir bitten vielmals um Entschuldigung für die entstandenen Unannehmlichkeiten.' 9 words,
    1 + 2 + 2 + 1 + 4 + 1 + 1 + 4 + 6 = 22: 180 - 9 - 58.5*22/9 = 28;
    pt 'Pedimos desculpas pelo transtorno causado.' 5 words, 3 + 3 + 2 + 3 + 3 = 14:
    248.835 - 1.015*5 - 84.6*14/5 = 6.88. The hard text of each language scores lower than its easy one."""
    m = msgs([("e1", "customer", None, "x", "en"), ("e1", "agent", "a", "The parcel is late.", "en"),
              ("e2", "customer", None, "x", "en"), ("e2", "agent", "a", "We apologise for the inconvenience caused", "en"),
              ("d1", "customer", None, "x", "de"), ("d1", "agent", "a", "Ich habe Zeit.", "de"),
              ("d2", "customer", None, "x", "de"),
              ("d2", "agent", "a", "Wir bitten vielmals um Entschuldigung für die entstandenen Unannehmlichkeiten.", "de"),
              ("p1", "customer", None, "x", "pt"), ("p1", "agent", "a", "Eu tenho tempo.", "pt"),
              ("p2", "customer", None, "x", "pt"), ("p2", "agent", "a", "Pedimos desculpas pelo transtorno causado.", "pt")])
    r = X.readability(m).set_index("conversation_id")["reading_ease"]
    assert r["e1"] == pytest.approx(206.835 - 1.015 * 4 - 84.6 * 5 / 4)
    assert r["e2"] == pytest.approx(206.835 - 1.015 * 6 - 84.6 * 11 / 6)
    assert r["d2"] == pytest.approx(180 - 9 - 58.5 * 22 / 9)
    assert r["p2"] == pytest.approx(248.835 - 1.015 * 5 - 84.6 * 14 / 5)
    assert r["e2"] < r["e1"] and r["d2"] < r["d1"] and r["p2"] < r["p1"]


def test_spelling_correct_text_en_de_pt_has_no_unknown_word():
    m = msgs([("c1", "customer", None, "x", "en"), ("c1", "agent", "a", "The parcel is late", "en"),
              ("c2", "customer", None, "x", "de"), ("c2", "agent", "a", "Ihre Bestellung kommt morgen", "de"),
              ("c3", "customer", None, "x", "pt"), ("c3", "agent", "a", "Seu pedido chegou hoje", "pt")])
    s = X.spelling(m).set_index("conversation_id")
    assert s["n_words_checked"].tolist() == [4, 4, 4]
    assert s["n_unknown_words"].tolist() == [0, 0, 0] and s["unknown_word_rate"].tolist() == [0.0, 0.0, 0.0]


def test_sentiment_positive_negative_en_and_na_for_de_pt():
    """VADER is English only: German and Portuguese customer messages are N/A and itemised (MAIA
    ships English translations for them), never scored as neutral 0."""
    m = msgs([("c1", "customer", None, "Great, thank you so much!", "en"), ("c1", "agent", "a", "Welcome.", "en"),
              ("c2", "customer", None, "This is awful and useless.", "en"), ("c2", "agent", "a", "Sorry.", "en"),
              ("c3", "customer", None, "Das ist furchtbar.", "de"), ("c3", "agent", "a", "Entschuldigung.", "de"),
              ("c4", "customer", None, "Isso é horrível.", "pt"), ("c4", "agent", "a", "Desculpe.", "pt")])
    s = X.customer_sentiment(m).set_index("conversation_id")["sentiment"]
    v = X._vader()
    assert s["c1"] == pytest.approx(v.polarity_scores("Great, thank you so much!")["compound"]) and s["c1"] > 0.05
    assert s["c2"] == pytest.approx(v.polarity_scores("This is awful and useless.")["compound"]) and s["c2"] < -0.05
    assert np.isnan(s["c3"]) and np.isnan(s["c4"])
    assert S.exclusions(X.customer_sentiment(m))["row_ids"].iloc[0] == ("m4", "m6")
