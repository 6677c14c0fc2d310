"""qakit.surveys: response rate, raking, raked CSAT and IQS-CSAT correlation, Manski bounds.

Expected numbers are computed by hand in the docstrings (raking 2 x 2 examples, bounds), with
numpy's weighted covariance, or with ``qakit.intervals.wilson_ci`` (itself checked against R's
``prop.test``) for the intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qakit import datasets, surveys as SV
from qakit.errors import DataValidationError, ParameterError
from qakit.intervals import wilson_ci
from qakit.schema import exclusions


def _conv(channels, priorities=None, escalated=None, ids=None):
    n = len(channels)
    ids = ids or [f"c{i}" for i in range(n)]
    return pd.DataFrame({"conversation_id": ids, "customer_id": "u", "agent_id": "x", "channel": channels,
                         "priority": priorities or ["normal"] * n, "created_at": "2026-01-05 10:00",
                         "first_response_at": None, "resolved_at": "2026-01-06", "status": "solved",
                         "escalated": escalated or [False] * n})


def _surveys(ids, scores, agents=None):
    return pd.DataFrame({"conversation_id": ids, "kind": "csat", "score": scores, "answered_at": None,
                         **({"agent_id": agents} if agents else {})})


# --- response rate -------------------------------------------------------------------------------
def test_response_rate_by_agent_with_wilson_interval():
    """Agent x: 3 of 4 answered; y: 1 of 3.  Intervals from wilson_ci (R prop.test(correct=FALSE))."""
    sv = _surveys(list("abcdefg"), [5.0, 4, None, 3, None, 2, None], agents=list("xxxxyyy"))
    res = SV.response_rate(sv, by="agent_id", min_n=0).set_index("agent_id")
    assert res.loc["x", ["n", "n_answered"]].tolist() == [4, 3]
    assert res.loc["x", "response_rate"] == pytest.approx(0.75)
    lo, hi = wilson_ci(np.array([1]), np.array([3]))
    assert (res.loc["y", "ci_low"], res.loc["y", "ci_high"]) == (pytest.approx(lo[0]), pytest.approx(hi[0]))


def test_response_rate_by_channel_and_week_from_conversations():
    """Channel and week come from the conversations (an unanswered survey has no answered_at):
    chat week of 5 Jan 2/2, phone 0/1 and week of 12 Jan 1/2; a survey of an unknown
    conversation is itemised."""
    conv = _conv(["chat", "chat", "phone", "phone", "phone"])
    conv["created_at"] = ["2026-01-05", "2026-01-06", "2026-01-07", "2026-01-12", "2026-01-13"]
    sv = _surveys(["c0", "c1", "c2", "c3", "c4", "zz"], [5.0, 4, None, 3, None, 5])
    res = SV.response_rate(sv, by="channel", period="W", conversations=conv, min_n=0)
    got = {(r.channel, str(r.period.date())): (r.n, r.n_answered) for r in res.itertuples()}
    assert got == {("chat", "2026-01-05"): (2, 2), ("phone", "2026-01-05"): (1, 0), ("phone", "2026-01-12"): (2, 1)}
    assert exclusions(res)["row_ids"].iloc[0] == ("zz",)


def test_response_rate_bad_input():
    sv = _surveys(["a"], [5.0])
    with pytest.raises(ParameterError, match="period needs conversations"):
        SV.response_rate(sv, period="W")
    with pytest.raises(ParameterError, match=r"by column\(s\) \['team'\] not in surveys"):
        SV.response_rate(sv, by="team")
    with pytest.raises(ParameterError, match="kind must be one of"):
        SV.response_rate(sv, kind="nsp")


# --- raking --------------------------------------------------------------------------------------
def test_raking_hand_computed_2x2():
    """Respondents: chat-low 4, chat-high 4, email-low 1, email-high 1; targets channel 50/50 and
    priority low 60 % / high 40 %.  By hand: channel step x 0.625 (chat), x 2.5 (email) -> cells
    2.5 each; priority step x 1.2 (low), x 0.8 (high) -> cells 3, 2, 3, 2, both margins now exact.
    Per respondent: chat-low 3/4 = .75, chat-high 2/4 = .5, email-low 3, email-high 2 (mean 1)."""
    resp = pd.DataFrame({"channel": ["chat"] * 8 + ["email"] * 2,
                         "priority": ["low"] * 4 + ["high"] * 4 + ["low", "high"]})
    pop = pd.DataFrame({"channel": ["chat"] * 5 + ["email"] * 5,
                        "priority": ["low"] * 3 + ["high"] * 2 + ["low"] * 3 + ["high"] * 2})
    w = SV.raking_weights(resp, pop, margins=["channel", "priority"])["weight"].to_numpy()
    np.testing.assert_allclose(w, [0.75] * 4 + [0.5] * 4 + [3.0, 2.0], rtol=1e-9)


def test_raking_keeps_the_samples_odds_ratio():
    """Raking a 2 x 2 table to new margins keeps its cross-product ratio (Deming & Stephan 1940).
    Sample cells chat-low 6, chat-high 2, email-low 1, email-high 1 (odds ratio 3); targets channel
    .5/.5, priority low .6: the raked chat-low share a solves a (a - .1) = 3 (.5 - a)(.6 - a), i.e.
    2a^2 - 3.2a + .9 = 0, a = (3.2 - sqrt(3.04)) / 4 = .364110."""
    resp = pd.DataFrame({"channel": ["chat"] * 8 + ["email"] * 2,
                         "priority": ["low"] * 6 + ["high"] * 2 + ["low", "high"]})
    pop = pd.DataFrame({"channel": ["chat"] * 50 + ["email"] * 50,
                        "priority": ["low"] * 30 + ["high"] * 20 + ["low"] * 30 + ["high"] * 20})
    out = SV.raking_weights(resp, pop, margins=["channel", "priority"])
    share = out.groupby(["channel", "priority"])["weight"].sum() / out["weight"].sum()
    assert share[("chat", "low")] == pytest.approx((3.2 - np.sqrt(3.04)) / 4, abs=1e-9)
    assert share[("chat", "low")] + share[("chat", "high")] == pytest.approx(0.5, abs=1e-9)
    assert share[("chat", "low")] + share[("email", "low")] == pytest.approx(0.6, abs=1e-9)


def test_raking_reports_a_population_category_without_respondents():
    resp = pd.DataFrame({"channel": ["chat", "chat", "email"]})
    pop = pd.DataFrame({"conversation_id": ["p1", "p2", "p3", "p4"], "channel": ["chat", "email", "phone", "phone"]})
    out = SV.raking_weights(resp, pop, margins=["channel"])
    np.testing.assert_allclose(out["weight"].to_numpy(), [0.75, 0.75, 1.5])  # chat .5 / email .5 of the rest
    assert exclusions(out)["row_ids"].iloc[0] == ("p3", "p4")
    with pytest.raises(ParameterError, match=r"respondents in categories \['fax'\]"):
        SV.raking_weights(pd.DataFrame({"channel": ["fax"]}), pop, margins=["channel"])
    with pytest.raises(ParameterError, match=r"margins \['priority'\] not in respondents"):
        SV.raking_weights(resp, pop, margins=["priority"])


# --- weighted CSAT -------------------------------------------------------------------------------
def test_weighted_csat_by_hand_with_kish_effective_n():
    """Contacts: 5 chat, 5 phone.  Answers: chat 5, 5, 4, 2 (3 of 4 satisfied), phone 1 (0 of 1).
    Raked: chat weights 4 x 0.625 (.5 x 5 / 4), phone 2.5 -> CSAT = .625 x 3 / 5 = 37.5 %
    (unweighted 60 %).  Kish n_eff = 5^2 / (4 x .625^2 + 2.5^2) = 25 / 7.8125 = 3.2."""
    conv = _conv(["chat"] * 5 + ["phone"] * 5)
    sv = _surveys(["c0", "c1", "c2", "c3", "c5", "c6"], [5.0, 5, 4, 2, 1, None])
    res = SV.weighted_csat(sv, conv, margins=["channel"]).set_index("estimate")
    assert res.loc[SV.UNWEIGHTED, "csat"] == pytest.approx(60.0)
    assert res.loc[SV.RAKED, "csat"] == pytest.approx(37.5)
    assert res.loc[SV.RAKED, "n_effective"] == pytest.approx(3.2)
    assert res.loc[SV.RAKED, "design_effect"] == pytest.approx(5 / 3.2)
    lo, hi = wilson_ci(np.array([0.375 * 3.2]), np.array([3.2]))
    assert res.loc[SV.RAKED, "ci_low"] == pytest.approx(100 * lo[0])
    ex = exclusions(res)
    assert ex[ex["reason"].str.startswith("survey sent but not answered")]["row_ids"].iloc[0] == ("c6",)


def test_weighted_csat_outcome_margin_is_derived():
    """outcome = escalated / resolved / unresolved from the contract's columns."""
    conv = _conv(["chat"] * 4, escalated=[True, False, False, False])
    conv.loc[3, "resolved_at"] = None
    assert SV.contact_outcome(conv).tolist() == ["escalated", "resolved", "resolved", "unresolved"]


def test_weighted_iqs_csat_matches_numpy_weighted_correlation():
    """Raked Pearson r equals numpy's weighted correlation (np.cov with aweights) on the raking
    weights computed by hand: contacts 6 chat / 6 phone; the 7 reviewed answers are 5 chat, 2 phone,
    so chat rows weigh .5 x 7 / 5 = 0.7 and phone rows .5 x 7 / 2 = 1.75."""
    conv = _conv(["chat"] * 6 + ["phone"] * 6)
    ids = ["c0", "c1", "c2", "c3", "c4", "c6", "c7"]
    scores = pd.DataFrame({"review_id": ids, "conversation_id": ids, "agent_id": "x",
                           "iqs": [95.0, 80, 70, 60, 90, 50, 85]})
    sv = _surveys(ids, [5.0, 4, 4, 3, 5, 1, 4])
    res = SV.weighted_iqs_csat(scores, sv, conv, margins=["channel"], min_n=0).set_index("estimate")
    x, y = scores["iqs"].to_numpy(), sv["score"].to_numpy()
    w = np.array([0.7] * 5 + [1.75] * 2)
    c = np.cov(x, y, aweights=w)
    assert res.loc[SV.RAKED, "r"] == pytest.approx(c[0, 1] / np.sqrt(c[0, 0] * c[1, 1]))
    assert res.loc[SV.UNWEIGHTED, "r"] == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert res.loc[SV.RAKED, "n_effective"] == pytest.approx(w.sum() ** 2 / (w**2).sum())


# --- bounds -----------------------------------------------------------------------------------------
def test_csat_bounds_by_hand_and_sentence():
    """Agent x: 4 sent, 2 answered (5 and 2: one satisfied): CSAT 50 %, bounds 1/4 .. 3/4.
    Agent y: 2 sent, 2 answered (both 5): 100 %, bounds 100 .. 100."""
    sv = _surveys(list("abcdef"), [5.0, 2, None, None, 5, 5], agents=list("xxxxyy"))
    res = SV.csat_bounds(sv, by="agent_id").set_index("agent_id")
    assert res.loc["x", ["csat", "bound_low", "bound_high"]].tolist() == [50.0, 25.0, 75.0]
    assert res.loc["y", ["bound_low", "bound_high"]].tolist() == [100.0, 100.0]
    text = SV.bounds_sentence(res.loc["x"])
    assert text.startswith("Only 50 %") is False  # 50 % is not "low" at the default threshold .5
    assert SV.bounds_sentence(res.loc["x"], low_rate=0.6).startswith("Only 50 % of the 4 customers asked answered.")


def test_off_scale_answer_is_an_error():
    with pytest.raises(DataValidationError, match="outside the scale"):
        SV.csat_bounds(_surveys(["a"], [9.0]))


# --- the bundled sample -------------------------------------------------------------------------------
def test_sample_nonresponse_is_driven_by_satisfaction_not_by_the_mix():
    """The sample's unanswered CSAT invitations (qakit.synth.unanswered_surveys, data/README.md) have a
    response rate that differs by channel (phone lowest) and falls with conversation quality; the
    answers themselves are a uniform draw of resolved conversations, so raking to the contact mix
    moves CSAT by well under a point -- the non-response runs through satisfaction, which weighting
    cannot see -- while the Manski bounds are as wide as the non-response rate (about 70 points)."""
    sv, conv = datasets.load_sample("surveys"), datasets.load_sample("conversations")
    rr = SV.response_rate(sv, by="channel", conversations=conv).set_index("channel")
    assert (rr["response_rate"] < 0.4).all()
    assert rr.loc["phone", "response_rate"] < rr.loc["email", "response_rate"] < rr.loc["chat", "response_rate"]
    w = SV.weighted_csat(sv, conv).set_index("estimate")
    assert abs(w.loc[SV.RAKED, "csat"] - w.loc[SV.UNWEIGHTED, "csat"]) < 1.0
    b = SV.csat_bounds(sv).iloc[0]
    assert b["bound_high"] - b["bound_low"] == pytest.approx(100 * (1 - b["response_rate"]))
    assert b["bound_high"] - b["bound_low"] > 60
