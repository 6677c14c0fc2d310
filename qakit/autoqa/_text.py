"""Shared text plumbing for :mod:`qakit.autoqa`: validated, ordered, normalised messages and the
vendors' eligibility rule. Column names of autoqa results are defined here, once."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema as S

# --- result columns (autoqa) ---------------------------------------------------------------------
ELIGIBLE = "eligible"
N_MESSAGES = "n_messages"
N_CUSTOMER = "n_customer_messages"
N_AGENT = "n_agent_messages"
N_WORDS = "n_words"
EVIDENCE_MESSAGE = "evidence_message_id"
EVIDENCE_START = "evidence_start"
EVIDENCE_END = "evidence_end"
EVIDENCE_LANGUAGE = "evidence_language"
SOURCE = "source"
AUTO_REVIEWER = "auto"
AQS = "aqs"
HUMAN = "human"
AUTO = "auto"
KAPPA = "kappa"
SEQ = "seq"  # position of a message inside its conversation (0 = first), after ordering
SEQ_BY_ROLE = "seq_by_role"
SEQ_BY_ROLE_FROM_END = "seq_by_role_from_end"

#: vendors' eligibility (Zendesk QA AutoQA): >= 1 customer and >= 1 agent message and >= 10 words
MIN_WORDS = 10

#: characters mapped 1:1 before matching (spans stay valid): typographic apostrophes and quotes
_CHAR_MAP = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "\u201c": '"',
                           "\u201d": '"', "\u00a0": " "})


def normalise(text: str) -> str:
    """NFC form with typographic apostrophes and no-break spaces made plain (a 1:1 map, so
    character spans found in the result index the NFC text).

    Examples
    --------
    >>> normalise("Entschuldigung, wir pru\u0308fen das \u2013 it\u2019s ok") == "Entschuldigung, wir pr\u00fcfen das \u2013 it's ok"
    True
    """
    return unicodedata.normalize("NFC", text).translate(_CHAR_MAP)


def normalise_arrow(text: pa.Array) -> pa.Array:
    """:func:`normalise` over an Arrow string array (C++ kernels; ASCII-only arrays untouched)."""
    if len(text) == 0 or pc.all(pc.string_is_ascii(text)).as_py():
        return text
    text = pc.utf8_normalize(text, form="NFC")
    for chars, to in (("[\u2019\u2018\u02bc\u00b4]", "'"), ("[\u201c\u201d]", '"'), ("\u00a0", " ")):
        text = pc.replace_substring_regex(text, chars, to)
    return text


def prepare(messages: pd.DataFrame, *, tz: str = "UTC") -> pd.DataFrame:
    """Validate ``messages`` (the messages contract, lazily) and order them within conversations.

    Order: ``position`` when the column is present, else ``sent_at``, ties and missing values by
    the input row order. Adds ``seq`` (0-based position in the conversation), ``seq_by_role``
    and ``seq_by_role_from_end`` (0 = the role's first / last message), ``text`` normalised
    (:func:`normalise`; missing text = ``""``) and ``n_words`` (whitespace-separated tokens).
    Bot messages are kept and marked by ``author_role``; they never count as agent messages.
    """
    msg = S.validate(messages, "messages", tz=tz)
    msg = msg.reset_index(drop=True)
    msg["_row"] = np.arange(len(msg))
    keys = [S.CONVERSATION_ID]
    if S.POSITION in msg.columns:
        keys.append(S.POSITION)
    keys += [S.SENT_AT, "_row"]
    msg = msg.sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)
    text = pc.fill_null(pa.array(msg[S.TEXT], type=pa.large_string(), from_pandas=True), "")
    text = normalise_arrow(text)
    msg[S.TEXT] = pd.array(text, dtype="str")
    msg[N_WORDS] = np.asarray(pc.count_substring_regex(text, r"\S+").to_numpy(zero_copy_only=False), dtype="int64")
    g = msg.groupby(S.CONVERSATION_ID, sort=False)
    msg[SEQ] = g.cumcount()
    gr = msg.groupby([S.CONVERSATION_ID, S.AUTHOR_ROLE], sort=False)
    msg[SEQ_BY_ROLE] = gr.cumcount()
    msg[SEQ_BY_ROLE_FROM_END] = gr.cumcount(ascending=False)
    return msg.drop(columns="_row")


def conversation_table(msg: pd.DataFrame, *, min_words: int = MIN_WORDS) -> pd.DataFrame:
    """One row per conversation of prepared messages: counts, the main agent, eligibility.

    ``agent_id`` is the agent with the most messages (ties: the first to write); conversations
    without an identified agent get ``"unknown"``. ``eligible`` = at least one customer and one
    agent message and ``min_words`` words from customers and agents (bots excluded).
    """
    is_c = msg[S.AUTHOR_ROLE].eq("customer").to_numpy()
    is_a = msg[S.AUTHOR_ROLE].eq("agent").to_numpy()
    words = np.where(is_c | is_a, msg[N_WORDS].to_numpy(), 0)
    frame = pd.DataFrame({S.CONVERSATION_ID: msg[S.CONVERSATION_ID], "_c": is_c, "_a": is_a, "_w": words})
    agg = frame.groupby(S.CONVERSATION_ID, sort=False).agg(
        n_messages=("_c", "size"), n_customer=("_c", "sum"), n_agent=("_a", "sum"), n_words=("_w", "sum"))
    agents = msg.loc[is_a & msg[S.AGENT_ID].notna().to_numpy(), [S.CONVERSATION_ID, S.AGENT_ID]]
    counts = agents.groupby([S.CONVERSATION_ID, S.AGENT_ID], sort=False).size().rename("k").reset_index()
    counts = counts.sort_values([S.CONVERSATION_ID, "k"], ascending=[True, False], kind="stable")
    main = counts.drop_duplicates(S.CONVERSATION_ID).set_index(S.CONVERSATION_ID)[S.AGENT_ID]
    out = pd.DataFrame({
        S.CONVERSATION_ID: agg.index.astype("str"),
        S.AGENT_ID: main.reindex(agg.index).fillna("unknown").astype("str").to_numpy(),
        N_MESSAGES: agg["n_messages"].to_numpy(dtype="int64"),
        N_CUSTOMER: agg["n_customer"].to_numpy(dtype="int64"),
        N_AGENT: agg["n_agent"].to_numpy(dtype="int64"),
        N_WORDS: agg["n_words"].to_numpy(dtype="int64"),
    })
    out[ELIGIBLE] = (out[N_CUSTOMER] >= 1) & (out[N_AGENT] >= 1) & (out[N_WORDS] >= min_words)
    return out
