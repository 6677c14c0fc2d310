"""The messages contract and the conversation-text readers (MAIA-DQE, Twitter)."""

import json

import numpy as np
import pandas as pd
import pytest

import qakit.realdata as RD
from qakit import schema as S
from qakit.errors import DataValidationError


def _turn(floor, src, mt, **labels):
    base = {"floor": floor, "text_src": src, "text_mt": mt, "Understanding": None, "Sensibleness": None,
            "Politeness": None, "IQ": None}
    base.update(labels)
    return base


@pytest.fixture
def mini_maia(tmp_path):
    """Two subset files; the second repeats dialogue d1 (changed label) and adds d2.

    d1: customer (de) then two agent turns, Politeness 1 and 0 -> conversation Politeness min = 0;
    Understanding 1, 1 -> 1; Task Sucess 4.  d2: one agent turn with IQ 0 (off 1-5) and
    Task Sucess -1 (off scale): both N/A and itemised.
    """
    d1 = {"id": "en_de_#CLIENT-02#_x-1", "dialog": {"Dropped conversation": 0, "Task Sucess": 4}, "turns": [
        _turn("inbound", ["Hallo, mein Gerät geht nicht."], ["Hello, my device does not work."]),
        _turn("outbound", ["Hello, thank you for contacting us."], ["Hallo, danke für Ihre Nachricht."],
              Politeness=1, Understanding=1, Sensibleness=1, IQ=5),
        _turn("outbound", ["Restart it."], ["Starten Sie es neu."], Politeness=0, Understanding=1,
              Sensibleness=1, IQ=3)]}
    d2 = {"id": "en_pt-br_#CLIENT-04#_y-2", "dialog": {"Dropped conversation": 1, "Task Sucess": -1}, "turns": [
        _turn("inbound", ["Oi"], ["Hi"]),
        _turn("outbound", ["Hi!"], ["Oi!"], Politeness=1, Understanding=0, Sensibleness=1, IQ=0)]}
    d1_changed = json.loads(json.dumps(d1))
    d1_changed["turns"][1]["IQ"] = 4
    (tmp_path / "a.json").write_text(json.dumps([d1]), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps([d1_changed, d2]), encoding="utf-8")
    return tmp_path


def test_maia_by_hand(mini_maia):
    m = RD.load_maia(mini_maia, subsets=["a", "b"])
    msg = m["messages"]
    assert msg[S.MESSAGE_ID].tolist() == ["en_de_#CLIENT-02#_x-1/000", "en_de_#CLIENT-02#_x-1/001",
                                          "en_de_#CLIENT-02#_x-1/002", "en_pt-br_#CLIENT-04#_y-2/000",
                                          "en_pt-br_#CLIENT-04#_y-2/001"]
    assert msg[S.AUTHOR_ROLE].tolist() == ["customer", "agent", "agent", "customer", "agent"]
    # english side: customer text_mt, agent text_src
    assert msg[S.TEXT].tolist()[:2] == ["Hello, my device does not work.", "Hello, thank you for contacting us."]
    assert msg[S.AGENT_ID].tolist()[1] == "client-02"
    r = m["ratings"].set_index([S.CONVERSATION_ID, S.CATEGORY])[S.RATING]
    assert r[("en_de_#CLIENT-02#_x-1", "Politeness")] == 0.0  # min(1, 0)
    assert r[("en_de_#CLIENT-02#_x-1", "Understanding")] == 1.0
    assert r[("en_de_#CLIENT-02#_x-1", "Task success")] == 4.0
    assert r[("en_pt-br_#CLIENT-04#_y-2", "Understanding")] == 0.0
    assert np.isnan(r[("en_pt-br_#CLIENT-04#_y-2", "Task success")])  # -1 -> N/A
    assert np.isnan(m["turn_labels"].set_index(S.MESSAGE_ID).loc["en_pt-br_#CLIENT-04#_y-2/001", "IQ"])
    ex = S.exclusions(msg).set_index("reason")
    dup = ex.loc["dialogue id already read from an earlier subset: later copy ignored"]
    assert dup["row_ids"] == ("en_de_#CLIENT-02#_x-1",)
    assert ex.loc["duplicated dialogue whose copies disagree (first copy kept)", "n"] == 1


def test_maia_original_language(mini_maia):
    msg = RD.load_maia(mini_maia, subsets=["a"], text="original")["messages"]
    assert msg[S.TEXT].tolist() == ["Hallo, mein Gerät geht nicht.", "Hallo, danke für Ihre Nachricht.",
                                    "Starten Sie es neu."]
    assert set(msg[S.LANGUAGE]) == {"de"}


def test_maia_bad_arguments(mini_maia):
    from qakit.errors import ParameterError
    with pytest.raises(ParameterError, match="text must be one of 'english', 'original'; got 'german'"):
        RD.load_maia(mini_maia, subsets=["a"], text="german")
    with pytest.raises(RD.SharedDataNotFoundError, match="nope.json"):
        RD.load_maia(mini_maia, subsets=["nope"])


def test_messages_contract_lazy():
    bad = pd.DataFrame({"conversation_id": ["c1", "c1", "c2"], "message_id": ["m1", "m1", "m3"],
                        "author_role": ["customer", "robot", "agent"], "agent_id": [None, "a1", "a1"],
                        "sent_at": ["2026-01-01 10:00", "2026-01-01 10:01", "yesterday"],
                        "text": ["hi", None, "hello"]})
    with pytest.raises(DataValidationError) as e:
        S.validate(bad, "messages")
    msg = str(e.value)
    assert "column 'author_role': not one of 'customer', 'agent', 'bot' (1 row(s)); values ['robot']; row ids ['m1']" in msg
    assert "column 'sent_at': unparseable timestamp" in msg and "['m3']" in msg
    assert "duplicate key (message_id)" in msg


def test_twitter_messages_real(shared_data):
    """Against plain pandas on the raw file: every tweet of a rebuilt conversation, with its text."""
    raw = pd.read_csv(shared_data / RD.FILES["twitter"], lineterminator="\n", dtype="str")
    msg = RD.load_twitter_messages(shared_data)
    conv = RD.load_twitter(shared_data)["conversations"]
    assert set(msg[S.CONVERSATION_ID]) == set(conv[S.CONVERSATION_ID])
    text = raw.set_index("tweet_id")["text"]
    assert (msg[S.TEXT].to_numpy() == text.reindex(msg[S.MESSAGE_ID]).to_numpy()).all()
    inbound = raw.set_index("tweet_id")["inbound"].reindex(msg[S.MESSAGE_ID]).str.lower().eq("true")
    assert (msg[S.AUTHOR_ROLE].eq("customer").to_numpy() == inbound.to_numpy()).all()
    # customers + agents per conversation = contacts + agent_replies of load_twitter
    n = msg.groupby(S.CONVERSATION_ID).size()
    c = conv.set_index(S.CONVERSATION_ID)
    assert (n.reindex(c.index) == c[S.CONTACTS] + c[S.AGENT_REPLIES]).all()


def test_maia_real(shared_data):
    """112 unique dialogues: 65 German + 47 Portuguese; pt_br_client_04's 43 repeat pt_br_client_02's."""
    m = RD.load_maia(shared_data)
    assert m["dialogues"].shape[0] == 112
    raw = json.loads((shared_data / "maia-dqe" / "de_client_02.json").read_text())
    assert len(raw) == 65
    n_turns_de = sum(len(d["turns"]) for d in raw)
    assert m["messages"]["subset"].eq("de_client_02").sum() == n_turns_de
    ex = S.exclusions(m["ratings"]).set_index("reason")
    assert ex.loc["dialogue id already read from an earlier subset: later copy ignored", "n"] == 43
