"""Rule-based autoqa categories: hand-written positive and negative examples in en / de / pt / es / fr,
positions inside the conversation and the message, safe custom regexes (RE2), the scorecard's
``auto:`` blocks. Measured precision / recall on real labelled text: test_autoqa_labels.py."""

import unicodedata

import numpy as np
import pandas as pd
import pytest

from qakit import schema as S
from qakit.autoqa import rules as R
from qakit.errors import DataValidationError, ScorecardError

CUSTOMER = {"en": "Hi, my order 123 never arrived and I need it for tomorrow please",
            "de": "Hallo, meine Bestellung 123 ist nie angekommen und ich brauche sie bis morgen",
            "pt": "Oi, meu pedido 123 nunca chegou e eu preciso dele para amanhã por favor",
            "es": "Hola, mi pedido 123 nunca llegó y lo necesito para mañana por favor",
            "fr": "Bonjour, ma commande 123 n'est jamais arrivée et j'en ai besoin pour demain"}


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
           "pt": "Verifiquei o seu pedido e ele está com a transportadora agora.",
           "es": "He revisado su pedido y ahora está con el mensajero.",
           "fr": "J'ai vérifié votre commande, elle est chez le transporteur."}

# (category, language, positive agent text, negative agent text). The negatives contain near
# misses: a phrase inside another word, the phrase in the wrong window, or said by the customer.
CASES = [
    ("Greeting", "en", "Good morning Sam, let me look into this.", "Let me look into this, this is high priority."),
    ("Greeting", "de", "Guten Tag Frau Weber, ich schaue sofort nach.", "Ich schaue sofort nach, der Hallodri-Fall ist bekannt."),
    ("Greeting", "pt", "Olá Ana, vou verificar agora mesmo.", "Vou verificar agora mesmo o seu caso."),
    ("Closing", "en", "It ships today. Have a nice day!", "It ships today, by the way."),
    ("Closing", "de", "Es wird heute versendet. Einen schönen Tag noch!", "Es wird heute versendet."),
    ("Closing", "pt", "Será enviado hoje. Tenha um ótimo dia!", "Será enviado hoje pela manhã."),
    ("Greeting", "es", "Hola Ana, lo reviso ahora mismo.", "Lo reviso ahora mismo, es prioritario."),
    ("Greeting", "fr", "Bonjour Madame, je vérifie tout de suite.", "Je vérifie tout de suite votre dossier."),
    ("Closing", "es", "Se envía hoy. ¡Que tengas un buen día!", "Se envía hoy por la mañana."),
    ("Closing", "fr", "Le colis part aujourd'hui. Bonne journée !", "Le colis part aujourd'hui."),
    ("Apology", "en", "I'm so sorry for the delay.", "The parcel left the depot."),
    ("Apology", "de", "Es tut mir leid, dass es so lange dauert.", "Das Paket hat das Lager verlassen."),
    ("Apology", "pt", "Peço desculpas pela demora.", "O pacote saiu do depósito."),
    ("Apology", "es", "Disculpe la demora.", "El paquete salió del almacén."),
    ("Apology", "fr", "Désolé pour le retard.", "Le colis a quitté l'entrepôt."),
    # a restatement ("I understand that you want ...") is not empathy
    ("Empathy", "en", "I understand how frustrating this must be.", "I understand that you want to cancel the order."),
    ("Empathy", "de", "Ich kann Ihren Ärger gut nachvollziehen.", "Ich verstehe, dass Sie eine Rückerstattung möchten."),
    ("Empathy", "pt", "Entendo a sua frustração com o atraso.", "Entendo que você quer cancelar o pedido."),
    ("Empathy", "es", "Entiendo tu frustración con el retraso.", "Entiendo que quieres cancelar el pedido."),
    ("Empathy", "fr", "Je comprends votre frustration.", "Je comprends que vous voulez annuler la commande."),
    ("Further help", "en", "Is there anything else I can do for you?", "The tracking number is in your email."),
    ("Further help", "de", "Kann ich Ihnen sonst noch helfen?", "Die Sendungsnummer steht in Ihrer E-Mail."),
    ("Further help", "pt", "Posso ajudar em algo mais?", "O código de rastreio está no seu e-mail."),
    ("Further help", "es", "¿Puedo ayudarte con algo más?", "El número de seguimiento está en su correo."),
    ("Further help", "fr", "Puis-je vous aider pour autre chose ?", "Le numéro de suivi est dans votre e-mail."),
    ("Thanks", "en", "Thank you for waiting.", "Your refund is on its way."),
    ("Thanks", "de", "Vielen Dank für Ihre Geduld.", "Ihre Erstattung ist unterwegs."),
    ("Thanks", "pt", "Obrigada por aguardar.", "O seu reembolso está a caminho."),
    ("Thanks", "es", "Gracias por esperar.", "Su reembolso está en camino."),
    ("Thanks", "fr", "Merci de votre patience.", "Votre remboursement est en route."),
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
    row = d[d[S.CATEGORY].eq("Apology")].iloc[0]
    text = "Es tut mir leid, dass es so lange dauert."
    assert row["evidence_message_id"] == "c1-m1"
    assert text[row["evidence_start"]:row["evidence_end"]].lower() in {"es tut mir leid", "tut mir leid"}
    assert row["evidence_language"] == "de"
    assert "text" not in d.columns  # no conversation text in results


def test_window_first_and_last():
    """A greeting in the agent's second message is outside the greeting's window (the first agent
    message); a closing in the first of four agent messages is outside the last-2 window."""
    late_hello = conv(["Checking.", "Hello again, found it."])
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
    with pytest.raises(ScorecardError, match=r"regex '\(unclosed' \(en\) is refused: RE2 .* missing \)"):
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


# --- custom categories in the scorecard YAML (``auto:`` blocks) -------------------------------------
CARD_YAML = """\
name: Support card
categories:
  - name: Opening
    weight: 1
    auto: Greeting
  - name: Refund policy explained
    weight: 2
    scale: 5
    auto:
      phrases:
        en: [refund polic*, money back]
        de: [Rückerstattung*, Geld zurück]
        pt: [reembolso, devolução do dinheiro]
      window: last
      messages: 2
  - name: No blame
    auto:
      phrases: {en: [your fault], de: [Ihre Schuld], pt: [culpa sua]}
      found: 0
      missing: 1
  - name: Ticket number
    auto:
      regex: {any: ['#\\d{6,}']}
  - name: Solution
"""


def test_card_auto_blocks_en_de_pt():
    """Hand-written positives and negatives per language; the rating lies on the category's scale
    (Refund policy: 5 when found, 1 when not; No blame: 0 when found, 1 when not)."""
    import qakit

    card = qakit.load_scorecard_text(CARD_YAML)
    rules = R.rules_from_card(card)
    assert [r.name for r in rules] == ["Opening", "Refund policy explained", "No blame", "Ticket number"]
    convs = [
        conv(["Hello Sam, checking now.", "Our refund policy gives you your money back. Ticket #123456."], "en", "en+"),
        conv(["Checking now, it was your fault.", "The parcel ships Monday. Ticket #12."], "en", "en-"),
        conv(["Guten Tag, ich prüfe das.", "Die Rückerstattung ist veranlasst."], "de", "de+"),
        conv(["Ich prüfe das, das war Ihre Schuld.", "Das Paket kommt Montag."], "de", "de-"),
        conv(["Olá, vou verificar.", "A devolução do dinheiro foi feita."], "pt", "pt+"),
        conv(["Vou verificar, foi culpa sua.", "O pacote chega segunda."], "pt", "pt-"),
        # 'Rückerstattung' only in the agent's first of three messages: outside the last-2 window
        conv(["Die Rückerstattung prüfe ich.", "Einen Moment.", "Das Paket kommt Montag."], "de", "de-window"),
    ]
    d = R.detect(pd.concat(convs, ignore_index=True), card=card)
    r = d.set_index([S.CONVERSATION_ID, S.CATEGORY])[S.RATING]
    for lang in ("en", "de", "pt"):
        assert r[f"{lang}+", "Opening"] == 1.0 and r[f"{lang}-", "Opening"] == 0.0
        assert r[f"{lang}+", "Refund policy explained"] == 5.0 and r[f"{lang}-", "Refund policy explained"] == 1.0
        assert r[f"{lang}+", "No blame"] == 1.0 and r[f"{lang}-", "No blame"] == 0.0
    assert r["de-window", "Refund policy explained"] == 1.0
    assert (r["en+", "Ticket number"], r["en-", "Ticket number"]) == (1.0, 0.0)
    assert "Solution" not in set(d[S.CATEGORY])  # no auto block: left to the humans
    ev = d.set_index([S.CONVERSATION_ID, S.CATEGORY]).loc[("pt+", "Refund policy explained")]
    assert (ev["evidence_message_id"], ev["evidence_start"], ev["evidence_end"], ev["evidence_language"]) == (
        "pt+-m2", 2, 23, "pt")  # "A " = 2 chars, then devolução (9) + " do " (4) + dinheiro (8) = 21


def test_card_auto_scores_through_the_engine():
    """AQS of the card's automatic categories by hand: en+ has Opening 1 (100 %), Refund 5 (100 %),
    No blame 1 (100 %), Ticket 1 -> 100; en- has 0, 1 on 1..5 (0 %), 0, 0 -> 0 (weighted mode,
    weights 1, 2, 1, 1)."""
    import qakit
    from qakit.autoqa import output as O

    card = qakit.load_scorecard_text(CARD_YAML)
    auto_card = R.auto_scorecard(R.rules_from_card(card), card=card)
    assert auto_card.category_names == ["Opening", "Refund policy explained", "No blame", "Ticket number"]
    assert auto_card.weights["Refund policy explained"] == 2.0 and auto_card.categories[1].scale.max == 5
    with_learned = R.auto_scorecard(R.rules_from_card(card), card=card, learned=["Solution", "Politeness"])
    assert with_learned.category_names[-2:] == ["Solution", "Politeness"]  # Solution keeps the card's definition
    assert R.auto_scorecard(R.DEFAULT_RULES[:1], learned=["Greeting"]).category_names == ["Greeting"]
    d = R.detect(pd.concat([conv(["Hello Sam, checking now.", "Our refund policy gives you your money back. Ticket #123456."],
                                 "en", "en+"),
                            conv(["Checking now, it was your fault.", "The parcel ships Monday. Ticket #12."], "en", "en-")],
                           ignore_index=True), card=card)
    scores = auto_card.score(O.auto_ratings(d).drop(columns="source")).set_index(S.CONVERSATION_ID)
    assert scores.loc["en+", S.IQS] == 100.0 and scores.loc["en-", S.IQS] == 0.0


def test_card_auto_round_trips_and_separate_yaml_still_works(tmp_path):
    import qakit

    card = qakit.load_scorecard_text(CARD_YAML)
    again = qakit.load_scorecard(tmp_path / "card.yaml") if card.to_yaml(tmp_path / "card.yaml") else None
    assert again == card and again.categories[1].auto["phrases"]["de"] == ["Rückerstattung*", "Geld zurück"]
    assert again.categories[0].to_dict()["auto"] == "Greeting"
    # the JSON path and a plain mapping carry it too
    assert qakit.load_scorecard(card.to_dict()) == card
    # the separate rules YAML is unchanged
    assert [r.name for r in R.load_rules("categories: [{name: X, phrases: {en: [x]}}]\ninclude_defaults: false")] == ["X"]


def test_card_auto_errors_name_category_key_and_line():
    import qakit

    bad = """\
categories:
  - name: Tone
  - name: Refund policy
    auto:
      phrase: {en: [refund]}
      window: middle
      regex:
        en: ['(']
        de: []
      found: 2
"""
    with pytest.raises(ScorecardError) as e:
        qakit.load_scorecard_text(bad)
    msg = str(e.value)
    assert msg.startswith("category 'Refund policy': ")
    for part in ("unknown key 'phrase' (line 5)", "auto.window (line 6): must be one of ['any', 'first', 'last']; got 'middle'",
                 "auto.regex.en (line 8): '(' is refused: RE2 (the linear-time engine) does not accept it: missing )", "auto.regex.de (line 9): must be a non-empty list",
                 "auto.found (line 10): 2 is not on the category's scale ([0, 1])"):
        assert part in msg
    with pytest.raises(ScorecardError, match=r"category 'Opening': auto.builtin \(line 3\): 'Greting' is not a built-in"):
        qakit.load_scorecard_text("categories:\n  - name: Opening\n    auto: {builtin: Greting}\n")
    with pytest.raises(ScorecardError, match=r"category 'X': auto: give phrases, regex or builtin"):
        qakit.load_scorecard_text("categories:\n  - name: X\n    auto: {window: last}\n")
    with pytest.raises(ScorecardError, match=r"category 'X': auto.phrases \(line 3\): must map a language code"):
        qakit.load_scorecard_text("categories:\n  - name: X\n    auto: {phrases: [hello]}\n")
    with pytest.raises(ScorecardError, match=r"category 'X': auto.messages \(line 3\): must be an integer >= 1; got 0"):
        qakit.load_scorecard_text("categories:\n  - name: X\n    auto: {phrases: {en: [hi]}, messages: 0}\n")
    with pytest.raises(ScorecardError, match=r"category 'X': auto must be a mapping"):
        qakit.Category("X", auto=3)


def test_detect_with_card_refuses_rules_too_and_a_card_without_auto():
    import qakit
    from qakit.errors import ParameterError

    card = qakit.load_scorecard_text(CARD_YAML)
    with pytest.raises(ParameterError, match="give rules or card, not both"):
        R.detect(conv(["Hello"]), card=card, rules=R.DEFAULT_RULES)
    plain = qakit.Scorecard([qakit.Category("Tone")])
    with pytest.raises(ParameterError, match=r"has no category with an 'auto:' block \(categories: \['Tone'\]\)"):
        R.rules_from_card(plain)
    assert [r.name for r in R.rules_from_card(plain, include_defaults=True)] == [r.name for r in R.DEFAULT_RULES]
    with pytest.raises(ParameterError, match="card must be a qakit.Scorecard"):
        R.rules_from_card({"categories": []})


# --- positions, phrase banks read on real threads (the misses of issue 28) ---------------------------
def test_greeting_only_at_the_start_of_the_first_agent_message():
    """Twitter replies start with @mentions: '@115938 Hi there.' is a greeting; 'Hallo, sind Sie noch
    da?' in a later message is a check-in, not a greeting; 'hi' deep in a message is not either."""
    assert rating(conv(["@115938 Hi there. Sorry to hear the item has not arrived."]), "Greeting") == 1.0
    assert rating(conv(["Danke für die Information.", "Hallo, sind Sie noch da?"], "de"), "Greeting") == 0.0
    assert rating(conv(["Please DM us your order number so that we can check it and say hi to the team."]),
                  "Greeting") == 0.0


def test_happy_to_help_as_an_opener_is_not_further_help():
    """The opener 'Happy to help!' / 'Here to help!' / 'Ich helfe Ihnen sehr gerne weiter.' offers no
    further help; 'Any other questions, let us know.' and 'Há mais algum assunto ...' do."""
    assert rating(conv(["Happy to help! Can you DM us your order number?"]), "Further help") == 0.0
    assert rating(conv(["Here to help! Check out this article about vouchers."]), "Further help") == 0.0
    assert rating(conv(["Danke für die Information. Ich helfe Ihnen sehr gerne weiter."], "de"), "Further help") == 0.0
    assert rating(conv(["Is there tracking for the item? Any other questions, let us know."]), "Further help") == 1.0
    assert rating(conv(["Há mais algum assunto em que possa ajudar?"], "pt"), "Further help") == 1.0
    assert rating(conv(["Feel free to message us again here if you need help."]), "Further help") == 1.0


def test_broader_closings_and_adeus():
    """'Have a good Halloween!' and 'See you again soon!' (missed before) are closings; 'Adeus' closes
    without offering further help."""
    assert rating(conv(["It ships today. Have a good Halloween!"]), "Closing") == 1.0
    assert rating(conv(["Thanks for flying with us. See you again soon!"]), "Closing") == 1.0
    adeus = conv(["O reembolso foi feito.", "Adeus"], "pt")
    assert rating(adeus, "Closing") == 1.0 and rating(adeus, "Further help") == 0.0
    assert rating(conv(["Do you have a flight booked for tomorrow?"]), "Closing") == 0.0


def test_apology_and_empathy_are_separate_and_the_old_builtin_stays():
    """'Sorry for the delay' is an apology without empathy; 'I can imagine how annoying' is empathy
    without an apology; the old 'Apology / empathy' built-in finds both."""
    sorry = conv(["Sorry for the delay, the parcel ships today."])
    imagine = conv(["I can imagine how annoying that is; the parcel ships today."], cid="c2")
    assert (rating(sorry, "Apology"), rating(sorry, "Empathy")) == (1.0, 0.0)
    assert (rating(imagine, "Apology"), rating(imagine, "Empathy")) == (0.0, 1.0)
    both = R.detect(pd.concat([sorry, imagine], ignore_index=True), rules=[R.BUILTIN_RULES["Apology / empathy"]])
    assert both[S.RATING].tolist() == [1.0, 1.0]


def test_position_at_start_and_end_within():
    """at=start within 10: 'refund' at character 4 counts, at character 30 does not; at=end within
    10: 'refund' followed by 5 more characters counts, by 40 does not (hand-counted)."""
    start = R.Rule("R", phrases={"en": ["refund"]}, at="start", within=10)
    end = R.Rule("R", phrases={"en": ["refund"]}, at="end", within=10)
    early = conv(["The refund is on the way to you now, please wait."])  # 'refund' at 4
    late = conv(["Your parcel was lost, so the refund is on its way."], cid="c2")  # at 29
    assert R.detect(early, rules=[start])[S.RATING].item() == 1.0
    assert R.detect(late, rules=[start])[S.RATING].item() == 0.0
    tail = conv(["We checked it: you get a refund today"])  # ' today' = 6 characters after
    far = conv(["You get a refund, it reaches your bank in a few days time."], cid="c2")
    assert R.detect(tail, rules=[end])[S.RATING].item() == 1.0
    assert R.detect(far, rules=[end])[S.RATING].item() == 0.0
    ev = R.detect(early, rules=[start]).iloc[0]
    assert (ev["evidence_start"], ev["evidence_end"]) == (4, 10)


def test_choice_syntax_in_phrases():
    """'have a [nice|great|] day' matches 'have a nice day', 'have a great day' and 'have a day'
    (the empty choice), not 'have a bad day'."""
    rule = R.Rule("Wish", phrases={"en": ["have a [nice|great|] day"]})
    texts = ["Have a nice day", "have a GREAT  day", "have a day", "have a bad day"]
    d = R.detect(pd.concat([conv([t + " and thanks for writing to us."], cid=f"c{i}") for i, t in enumerate(texts)],
                           ignore_index=True), rules=[rule])
    assert d[S.RATING].tolist() == [1.0, 1.0, 1.0, 0.0]


# --- safe custom regexes: RE2 (linear time), refused syntax, the time bound per message ----------------
def test_catastrophic_pattern_runs_in_linear_time_and_is_correct():
    """'(a+)+$' backtracks exponentially in Python's re on 'aaaa...!' (each extra 'a' doubles the time:
    at 40 characters it hangs); RE2 answers at once. Correct answers by hand: no match on a text that
    ends in '!', a match on one that ends in 'a'."""
    import qakit

    card = qakit.load_scorecard_text("categories:\n  - name: A run\n    auto:\n      regex: {any: ['(a+)+$']}\n")
    texts = ["a" * 5000 + "!", "b " * 5 + "a" * 5000]
    d = R.detect(pd.concat([conv([t], cid=f"c{i}") for i, t in enumerate(texts)], ignore_index=True), card=card)
    assert d[S.RATING].tolist() == [0.0, 1.0]
    ev = d.iloc[1]
    assert (ev["evidence_start"], ev["evidence_end"]) == (10, 5010)


def test_regexes_re2_refuses_name_category_and_pattern():
    import qakit

    bad = ("categories:\n  - name: Order ref\n    auto:\n      regex:\n        en: ['(?<=order )\\d+', '(a)\\1']\n"
           "        de: ['x*']\n")
    with pytest.raises(ScorecardError) as e:
        qakit.load_scorecard_text(bad)
    msg = str(e.value)
    assert msg.startswith("category 'Order ref': ")
    assert "auto.regex.en (line 5): '(?<=order )\\\\d+' is refused: RE2 (the linear-time engine) does not accept it: " \
           "invalid perl operator: (?<=" in msg
    assert "'(a)\\\\1' is refused: RE2 (the linear-time engine) does not accept it: invalid escape sequence: \\1" in msg
    assert "auto.regex.de (line 6): 'x*' is refused: it matches the empty string" in msg
    with pytest.raises(ScorecardError, match=r"autoqa category 'X': regex 'a\{2000\}' \(en\) is refused: .*repetition"):
        R.Rule("X", regex={"en": ["a{2000}"]})
    with pytest.raises(ScorecardError, match=r"within must be an integer >= 0 and <= 1000; got 5000"):
        R.Rule("X", phrases={"en": ["a"]}, at="start", within=5000)


def test_max_chars_bounds_each_message_and_is_itemised():
    """A phrase after the first 1,000 characters of a message is not searched with max_chars=1000;
    the long message is itemised as an adjustment."""
    rule = R.Rule("Refund", phrases={"en": ["refund"]})
    df = conv(["x " * 600 + "your refund is on its way"])
    assert R.detect(df, rules=[rule])[S.RATING].item() == 1.0
    d = R.detect(df, rules=[rule], max_chars=1000)
    assert d[S.RATING].item() == 0.0
    adj = S.adjustments(d)
    assert adj.loc[adj["reason"].str.startswith("message longer than 1,000 characters"), "row_ids"].item() == ("c1-m1",)
    from qakit.errors import ParameterError
    with pytest.raises(ParameterError, match="max_chars must be an integer >= 1; got 0"):
        R.detect(df, max_chars=0)


def test_builtin_names_known_to_the_card_match_the_rules():
    from qakit.scorecard import auto as A

    assert list(A.BUILTIN_NAMES) == list(R.BUILTIN_RULES)
    assert [r.name for r in R.DEFAULT_RULES] == list(R.BUILTIN_RULES)[:6]


# --- no import cycle: the card holds auto: blocks as data, autoqa interprets them ------------------------
def _imports():
    """qakit module -> the qakit modules it imports (module- and function-level), from the source."""
    import ast
    from pathlib import Path

    import qakit

    root = Path(qakit.__file__).parent
    mods = {}
    for f in root.rglob("*.py"):
        parts = list(f.relative_to(root.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_pkg else parts)
        mods[name] = (f, is_pkg)
    graph = {}
    for name, (f, is_pkg) in mods.items():
        pkg = name if is_pkg else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = pkg
                for _ in range(max(node.level - 1, 0)):
                    base = base.rsplit(".", 1)[0]
                target = (base + ("." + node.module if node.module else "")) if node.level else (node.module or "")
                for a in node.names:
                    sub = f"{target}.{a.name}"
                    deps.add(sub if sub in mods else target)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
        graph[name] = {d for d in deps if d in mods and d != name}
    return graph


def test_no_import_cycle_through_autoqa():
    """Tarjan's strongly connected components of the import graph (every import, also inside
    functions; the package root qakit/__init__ left out: it imports everything for users): no
    component with more than one module contains a qakit.autoqa module (the scorecard's own
    card -> engine -> card cycle is outside this issue)."""
    graph = {k: {d for d in v if d != "qakit"} for k, v in _imports().items() if k != "qakit"}
    index, low, stack, on, comps = {}, {}, [], set(), []

    def strong(v, counter=[0]):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(comp)

    for v in graph:
        if v not in index:
            strong(v)
    cycles = [sorted(c) for c in comps if len(c) > 1 and any(m.startswith("qakit.autoqa") for m in c)]
    assert cycles == []
    assert "qakit.autoqa.rules" not in graph["qakit.scorecard.card"]
    assert not any(d.startswith("qakit.autoqa") for d in graph["qakit.scorecard.auto"])


def test_learned_blocks_are_data_the_card_checks():
    """auto: learned (short form) and {learned: true, groups, threshold} load and dump as given; they
    are not rules; a learned block mixed with rule keys or with a bad threshold is one error."""
    import qakit

    card = qakit.load_scorecard_text("categories:\n  - name: Tone\n    auto: learned\n"
                                     "  - name: Intent\n    auto: {learned: true, groups: team, threshold: 0.5}\n"
                                     "  - name: Opening\n    auto: Greeting\n")
    assert [c.auto for c in card.categories] == ["learned", {"learned": True, "groups": "team", "threshold": 0.5},
                                                 "Greeting"]
    assert [r.name for r in R.rules_from_card(card)] == ["Opening"]
    assert R.learned_specs(card) == {"Tone": {}, "Intent": {"groups": "team", "threshold": 0.5}}
    assert qakit.load_scorecard(card.to_dict()) == card
    with pytest.raises(ScorecardError, match=r"category 'X': auto: a learned category takes only \['learned', 'groups', "
                                             r"'threshold'\]; remove \['window'\]; auto.threshold \(line 3\): must be a kappa "
                                             r"in -1..1; got 2"):
        qakit.load_scorecard_text("categories:\n  - name: X\n    auto: {learned: true, window: last, threshold: 2}\n")
    with pytest.raises(ScorecardError, match="category 'Tone': auto: learned is a learned category, not a rule"):
        R.rule_from_spec("Tone", "learned")
