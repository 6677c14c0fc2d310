"""Rule-based autoqa categories: hand-written positive and negative examples in en / de / pt."""

import unicodedata

import numpy as np
import pandas as pd
import pytest

from qakit import schema as S
from qakit.autoqa import rules as R
from qakit.errors import DataValidationError, ScorecardError

CUSTOMER = {"en": "Hi, my order 123 never arrived and I need it for tomorrow please",
            "de": "Hallo, meine Bestellung 123 ist nie angekommen und ich brauche sie bis morgen",
            "pt": "Oi, meu pedido 123 nunca chegou e eu preciso dele para amanhã por favor"}


def conv(agent_texts, lang="en", cid="c1"):
    """One customer message, then the agent's messages in order."""
    texts = [CUSTOMER[lang], *agent_texts]
    n = len(texts)
    return pd.DataFrame({
        "conversation_id": cid, "message_id": [f"{cid}-m{i}" for i in range(n)],
        "author_role": ["customer"] + ["agent"] * (n - 1), "agent_id": [None] + ["a1"] * (n - 1),
        "sent_at": pd.date_range("2026-01-05 09:00", periods=n, freq="min", tz="UTC"), "text": texts})


def rating(df, category):
    d = R.detect(df)
    return d.loc[d[S.CATEGORY].eq(category), S.RATING].item()


NEUTRAL = {"en": "I have checked your order and it is with the courier now.",
           "de": "Ich habe Ihre Bestellung geprüft, sie ist jetzt beim Kurier.",
           "pt": "Verifiquei o seu pedido e ele está com a transportadora agora."}

# (category, language, positive agent text, negative agent text). The negatives contain near
# misses: a phrase inside another word, the phrase in the wrong window, or said by the customer.
CASES = [
    ("Greeting", "en", "Good morning Sam, let me look into this.", "Let me look into this, this is high priority."),
    ("Greeting", "de", "Guten Tag Frau Weber, ich schaue sofort nach.", "Ich schaue sofort nach, der Hallodri-Fall ist bekannt."),
    ("Greeting", "pt", "Olá Ana, vou verificar agora mesmo.", "Vou verificar agora mesmo o seu caso."),
    ("Closing", "en", "It ships today. Have a nice day!", "It ships today, by the way."),
    ("Closing", "de", "Es wird heute versendet. Einen schönen Tag noch!", "Es wird heute versendet."),
    ("Closing", "pt", "Será enviado hoje. Tenha um ótimo dia!", "Será enviado hoje pela manhã."),
    ("Apology / empathy", "en", "I'm so sorry for the delay.", "The parcel left the depot."),
    ("Apology / empathy", "de", "Es tut mir leid, dass es so lange dauert.", "Das Paket hat das Lager verlassen."),
    ("Apology / empathy", "pt", "Peço desculpas pela demora.", "O pacote saiu do depósito."),
    ("Further help", "en", "Is there anything else I can do for you?", "The tracking number is in your email."),
    ("Further help", "de", "Kann ich Ihnen sonst noch helfen?", "Die Sendungsnummer steht in Ihrer E-Mail."),
    ("Further help", "pt", "Posso ajudar em algo mais?", "O código de rastreio está no seu e-mail."),
    ("Thanks", "en", "Thank you for waiting.", "Your refund is on its way."),
    ("Thanks", "de", "Vielen Dank für Ihre Geduld.", "Ihre Erstattung ist unterwegs."),
    ("Thanks", "pt", "Obrigada por aguardar.", "O seu reembolso está a caminho."),
]


@pytest.mark.parametrize("category,lang,positive,negative", CASES)
def test_detector_positive_and_negative(category, lang, positive, negative):
    assert rating(conv([positive, NEUTRAL[lang]] if category != "Closing" and category != "Further help"
                       else [NEUTRAL[lang], positive], lang), category) == 1.0
    assert rating(conv([negative, NEUTRAL[lang]], lang), category) == 0.0


def test_evidence_span_points_at_the_phrase():
    """'Es tut mir leid' starts at 0 in the agent's first message; 'tut mir leid' would start at 3,
    the language group is de."""
    d = R.detect(conv(["Es tut mir leid, dass es so lange dauert."], "de"))
    row = d[d[S.CATEGORY].eq("Apology / empathy")].iloc[0]
    text = "Es tut mir leid, dass es so lange dauert."
    assert row["evidence_message_id"] == "c1-m1"
    assert text[row["evidence_start"]:row["evidence_end"]].lower() in {"es tut mir leid", "tut mir leid"}
    assert row["evidence_language"] == "de"
    assert "text" not in d.columns  # no conversation text in results


def test_window_first_and_last():
    """A greeting in the agent's third message is outside the first-2 window; a closing in the first
    of four agent messages is outside the last-2 window."""
    late_hello = conv(["Checking.", "Still checking.", "Hello again, found it."])
    assert rating(late_hello, "Greeting") == 0.0
    early_bye = conv(["Have a nice day first.", "Checking.", "Still checking.", "Found it."])
    assert rating(early_bye, "Closing") == 0.0


def test_customer_phrases_do_not_count_for_the_agent():
    df = conv(["Checking your order now, one moment."])  # the customer said "Hi", the agent did not greet
    assert rating(df, "Greeting") == 0.0


def test_nfd_text_and_curly_apostrophe():
    """'Olá' typed in NFD (o, l, a + combining acute) matches the NFC phrase; “don’t hesitate”."""
    nfd = unicodedata.normalize("NFD", "Olá Ana, tudo bem? Vou verificar.")
    assert nfd != "Olá Ana, tudo bem? Vou verificar."
    assert rating(conv([nfd], "pt"), "Greeting") == 1.0
    assert rating(conv(["Checking.", "Found it, don\u2019t hesitate to write again."]), "Further help") == 1.0


def test_eligibility_na_and_itemised():
    """c_short: 'hi' + 'hello' = 2 words < 10 -> N/A; c_bot: only a bot answered -> N/A."""
    short = pd.DataFrame({"conversation_id": "c_short", "message_id": ["s1", "s2"],
                          "author_role": ["customer", "agent"], "agent_id": [None, "a1"],
                          "sent_at": None, "text": ["hi", "hello"]})
    bot = conv(["Hello! I am a bot, thank you for your patience."], cid="c_bot")
    bot["author_role"] = ["customer", "bot"]
    ok = conv(["Hello, sorry for the wait."], cid="c_ok")
    d = R.detect(pd.concat([short, bot, ok], ignore_index=True))
    g = d[d[S.CATEGORY].eq("Greeting")].set_index(S.CONVERSATION_ID)[S.RATING]
    assert np.isnan(g["c_short"]) and np.isnan(g["c_bot"]) and g["c_ok"] == 1.0
    ex = S.exclusions(d)
    assert ex["row_ids"].iloc[0] == ("c_bot", "c_short")


def test_empty_and_missing_text_and_one_message():
    one = pd.DataFrame({"conversation_id": "c1", "message_id": ["m1"], "author_role": ["customer"],
                        "agent_id": [None], "sent_at": None, "text": [None]})
    d = R.detect(one)
    assert d[S.RATING].isna().all() and len(d) == len(R.DEFAULT_RULES)


def test_custom_yaml_phrases_and_regex():
    rules = R.load_rules("""
categories:
  - name: Refund policy
    phrases: {en: [refund polic*], de: [Rückerstattung], pt: [reembolso]}
  - name: Blame
    phrases: {en: [your fault], de: [ihre schuld], pt: [culpa sua]}
    found: 0
    missing: 1
  - name: Ticket number
    regex: {any: ['#\\d{6,}']}
include_defaults: false
""")
    assert [r.name for r in rules] == ["Refund policy", "Blame", "Ticket number"]
    pos = conv(["Our refund policies allow 30 days. Ticket #123456.", "It was your fault."])
    neg = conv(["Shipping is free. Ticket #12.", "Sorry again."], cid="c2")
    de = conv(["Die Rückerstattung dauert 3 Tage. Das war Ihre Schuld."], "de", cid="c3")
    pt = conv(["O reembolso leva 3 dias."], "pt", cid="c4")
    d = R.detect(pd.concat([pos, neg, de, pt], ignore_index=True), rules=rules)
    r = d.set_index([S.CONVERSATION_ID, S.CATEGORY])[S.RATING]
    assert (r["c1", "Refund policy"], r["c1", "Blame"], r["c1", "Ticket number"]) == (1.0, 0.0, 1.0)
    assert (r["c2", "Refund policy"], r["c2", "Blame"], r["c2", "Ticket number"]) == (0.0, 1.0, 0.0)
    assert (r["c3", "Refund policy"], r["c3", "Blame"]) == (1.0, 0.0)
    assert (r["c4", "Refund policy"], r["c4", "Blame"]) == (1.0, 1.0)


def test_bad_rules_are_scorecard_errors():
    with pytest.raises(ScorecardError, match=r"unknown key\(s\) \['phrase'\]"):
        R.load_rules("categories:\n  - {name: X, phrase: {en: [a]}}\n")
    with pytest.raises(ScorecardError, match=r"regex '\(unclosed' \(en\) does not compile"):
        R.Rule("X", regex={"en": ["(unclosed"]})
    with pytest.raises(ScorecardError, match="window must be one of"):
        R.Rule("X", phrases={"en": ["a"]}, window="middle")
    with pytest.raises(ScorecardError, match=r"defined twice: \['Greeting'\]"):
        R.load_rules("categories:\n  - {name: Greeting, phrases: {en: [yo]}}\n")


def test_bad_messages_table():
    bad = conv(["hello"])
    bad.loc[1, "author_role"] = "robot"
    with pytest.raises(DataValidationError, match=r"author_role.*'robot'.*c1-m1"):
        R.detect(bad)


def test_order_by_position_not_row_order():
    """Rows shuffled: the position column puts the greeting first again."""
    df = conv(["Hello there, checking now.", "Checking.", "Still checking.", "Found it."])
    df["position"] = np.arange(len(df))
    df["sent_at"] = None
    assert rating(df.iloc[::-1], "Greeting") == 1.0


def test_agent_without_id_is_itemised():
    df = conv(["Hello, checking your order now."])
    df["agent_id"] = None
    d = R.detect(df)
    assert set(d["agent_id"]) == {"unknown"}
    assert S.adjustments(d)["row_ids"].tolist() == [("c1",)]
