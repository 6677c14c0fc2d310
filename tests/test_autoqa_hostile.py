"""Every autoqa function on hostile messages gives a result or a qakit error, never a raw exception:
missing / empty / blank / odd language codes, empty and missing text, a 1 MB message, control
characters, HTML, emoji, right-to-left and zero-width characters; and on qakit's own
load_twitter_messages() output (its language column is empty)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import qakit
import qakit.realdata as RD
from qakit import autoqa
from qakit import schema as S
from qakit.autoqa import learned as L
from qakit.autoqa import lexicon as X
from qakit.autoqa import rules as R
from qakit.errors import QakitError

AGENT_TEXTS = ["", None, "a" * 1_000_000, "hi\x00there\x1b[31m\r\nok\x07 sorry", "<script>alert(1)</script><b>Hello</b> &amp; thanks",
               "😀🔥 thanks!! 👍🏽 have a nice day", "שלום مرحبا thank you", "\u200b\u200d\ufeff", "   ",
               "Hello, sorry, have a nice day! anything else?", "x" * 200_000 + " 1234 " + "é" * 50]
CUSTOMER = "Hi my order never arrived and I need it now please, it is late"


def hostile(language=None) -> pd.DataFrame:
    rows = []
    for i, t in enumerate(AGENT_TEXTS):
        rows += [(f"c{i}", f"m{i}a", "customer", None, CUSTOMER), (f"c{i}", f"m{i}b", "agent", "a1", t)]
    m = pd.DataFrame(rows, columns=["conversation_id", "message_id", "author_role", "agent_id", "text"])
    m["sent_at"] = pd.date_range("2026-01-05", periods=len(m), freq="h", tz="UTC").astype("str")
    if language is not None:
        m["language"] = language
    return m


LANGUAGES = {"absent": None, "all missing": np.nan, "blank": "", "odd codes": ["xx-YY", "  ", "PT_br", None] * 5 + ["de", "en"],
             "emoji": "😀"}


def ratings_for(messages: pd.DataFrame) -> pd.DataFrame:
    conv = messages["conversation_id"].unique()
    return pd.DataFrame({"review_id": [f"r{c}" for c in conv], "conversation_id": conv, "agent_id": "a1",
                         "reviewer_id": "q", "reviewed_at": None, "category": "Tone",
                         "rating": [float(i % 2) for i in range(len(conv))]})


def calls(m: pd.DataFrame) -> dict:
    card = qakit.Scorecard([qakit.Category(r.name) for r in R.DEFAULT_RULES])
    r = ratings_for(m)
    det = lambda: autoqa.detect(m)  # noqa: E731
    return {
        "detect": det,
        "readability": lambda: autoqa.readability(m),
        "spelling": lambda: autoqa.spelling(m),
        "customer_sentiment": lambda: autoqa.customer_sentiment(m),
        "risk_signals": lambda: autoqa.risk_signals(m),
        "sample_for_review": lambda: autoqa.sample_for_review(m, n=3, seed=0),
        "auto_ratings": lambda: autoqa.auto_ratings(det()),
        "aqs_score": lambda: autoqa.aqs_score(autoqa.auto_ratings(det()), card),
        "documents": lambda: L.documents(m),
        "cross_validate": lambda: L.cross_validate(m, r, category="Tone", n_splits=2, char_ngrams=None),
        "learned_ratings": lambda: autoqa.learned_ratings(m, r, category="Tone", char_ngrams=None),
        "rule_accuracy": lambda: autoqa.rule_accuracy(det(), pd.DataFrame(
            {"conversation_id": m["conversation_id"].unique(), "category": "Greeting", "label": 1})),
    }


@pytest.mark.slow
@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_function_gives_a_result_or_a_qakit_error(language):
    m = hostile(LANGUAGES[language])
    for name, call in calls(m).items():
        try:
            out = call()
        except QakitError:
            continue
        assert isinstance(out, pd.DataFrame), name
    # the results themselves, by hand: 11 conversations; the 1 MB and 200 kB texts are searched in
    # their first 100,000 characters (itemised); c9 has greeting, closing, apology, further help
    d = autoqa.detect(m)
    assert d["conversation_id"].nunique() == len(AGENT_TEXTS)
    r9 = d[d["conversation_id"].eq("c9")].set_index("category")["rating"]
    assert (r9["Greeting"], r9["Closing"], r9["Apology"], r9["Further help"]) == (1.0, 1.0, 1.0, 1.0)
    adj = S.adjustments(d)
    long = adj.loc[adj["reason"].str.startswith("message longer than 100,000 characters"), "row_ids"].item()
    assert set(long) == {"m2b", "m10b"}


def test_sentiment_readability_spelling_on_an_empty_language_column():
    """Issue 28: a raw AttributeError before. Empty language = read as English and itemised: two
    customer messages scored 'great, thanks!' -> VADER compound > 0 (its documented sign)."""
    m = pd.DataFrame({"conversation_id": "c1", "message_id": ["1", "2", "3"], "author_role": ["customer", "agent", "customer"],
                      "agent_id": [None, "a", None], "sent_at": None, "language": [np.nan, np.nan, np.nan],
                      "text": ["where is my order", "The cat sat on the mat.", "great, thanks!"]})
    s = autoqa.customer_sentiment(m)
    assert s["n_messages_scored"].item() == 2
    assert S.adjustments(s)["row_ids"].item() == ("1", "3")
    rd = autoqa.readability(m)
    assert rd["reading_ease"].item() == pytest.approx(206.835 - 1.015 * 6 - 84.6 * 1)  # 6 words, 1 sentence, 6 syllables
    sp = autoqa.spelling(m)
    assert (sp["n_words_checked"].item(), sp["n_unknown_words"].item()) == (6, 0)
    none = autoqa.readability(m, assume_language=None)
    assert np.isnan(none["reading_ease"].item())  # no language, none assumed: N/A and itemised
    assert "no readability formula" in S.exclusions(none)["reason"].iloc[0]


def test_language_codes_are_read_by_their_base():
    lang, assumed = X._languages(pd.DataFrame({"language": ["pt-BR", " DE_at", "", None, "😀"]}), "en")
    assert lang.tolist() == ["pt", "de", "en", "en", "😀"] and assumed.tolist() == [False, False, True, True, False]


def test_sentiment_of_a_long_message_is_bounded_and_itemised():
    """VADER's time grows with the square of the length (63 s for 100,000 characters): only the first
    5,000 characters of a message are scored, itemised."""
    m = pd.DataFrame({"conversation_id": "c1", "message_id": ["1", "2"], "author_role": ["customer", "agent"],
                      "agent_id": [None, "a"], "sent_at": None, "text": ["terrible " * 20_000, "Sorry!"]})
    s = autoqa.customer_sentiment(m)
    assert s["sentiment"].item() < -0.05
    adj = S.adjustments(s).set_index("reason")["row_ids"]
    assert adj["message longer than 5,000 characters: only its first 5,000 were read"] == ("1",)


@pytest.mark.realdata
def test_lexicon_on_qakits_own_twitter_messages(shared_data):
    """load_twitter_messages() has an all-missing language column: every function works, every
    message's language is itemised as assumed English."""
    m = RD.load_twitter_messages(shared_data)
    assert m["language"].isna().all()
    n_conv = m["conversation_id"].nunique()
    s = autoqa.customer_sentiment(m)
    assert len(s) == n_conv and s["sentiment"].notna().mean() > 0.9
    rd = autoqa.readability(m)
    sp = autoqa.spelling(m)
    assert rd["language"].eq("en").all() and sp["language"].eq("en").all()
    assert rd["reading_ease"].notna().mean() > 0.9
    n_agent = int(m["author_role"].eq("agent").sum())
    assert len(S.adjustments(rd)["row_ids"].item()) == n_agent
