"""Loaders for real public customer-service exports (the datasets in ``../shared/data``).

Each loader maps a raw export onto qakit's canonical tables (:mod:`qakit.schema`), parses its
timestamps and flags its mess on the result (:func:`qakit.schema.exclusions`) instead of
dropping rows silently. Free customer text is not carried over.

==========================  ===================================================================
``load_twitter``            Customer Support on Twitter (first 5,000 tweets): reply chains rebuilt
                            into conversations (first response per brand, interactions).
``load_calls``              A call-centre simulation (5,000 calls, 8 agents): calls, CSAT answers
                            and answered calls as single-contact conversations.
``load_olist``              Olist order reviews: 1-5 review scores as CSAT answers.
``load_fed``                FED dialogue-quality ratings: 5 annotators per dialogue, as a ratings
                            table (reviewer agreement).
==========================  ===================================================================

The folder defaults to ``../shared/data`` next to the repository; set ``QAKIT_SHARED_DATA`` to
read it from elsewhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema as S
from .errors import ParameterError

SHARED_ENV = "QAKIT_SHARED_DATA"
FILES = {
    "twitter": "twitter-support/twcs_first5000.csv",
    "calls": "call-centre/calls.csv",
    "olist": "olist-reviews/olist_order_reviews_dataset.subset.csv",
    "fed": "fed-dialog-quality/fed_data.json",
}


def shared_data_dir() -> Path:
    """``$QAKIT_SHARED_DATA`` or ``../shared/data`` beside the repository."""
    env = os.environ.get(SHARED_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def _path(name: str, path: str | Path | None) -> Path:
    p = Path(path) if path is not None else shared_data_dir() / FILES[name]
    if not p.is_file():
        raise ParameterError(f"{name} export not found at {str(p)!r}; pass path=... or set {SHARED_ENV}")
    return p


# --- Twitter ----------------------------------------------------------------------------------------
def load_twitter(path: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """Twitter support threads rebuilt into conversations.

    A conversation is rooted at an inbound (customer) tweet that replies to nothing; every
    tweet is assigned its root by following ``in_response_to_tweet_id`` level by level
    (vectorised: one ``map`` per depth level, not per tweet).

    Returns
    -------
    dict
        ``messages``: ``message_id, conversation_id, author_id, inbound, created_at (UTC),
        in_response_to``; ``conversations``: the canonical table with ``agent_id`` = the brand
        of the first reply (missing when nobody answered), ``customer_id`` = root author,
        ``created_at`` = root time, ``first_response_at`` = first brand reply, ``resolved_at``
        missing (Twitter has no resolution), ``status`` answered/unanswered, ``contacts`` =
        customer tweets, ``agent_replies`` = brand tweets, channel ``twitter``. Exclusions on
        ``conversations``: tweets whose thread starts outside the extract, threads a brand
        started.
    """
    p = _path("twitter", path)
    raw = pd.read_csv(p, lineterminator="\n", dtype={"tweet_id": "int64", "author_id": "str"})
    raw = raw.drop(columns=[c for c in raw.columns if str(c).startswith("Unnamed")])
    msg = pd.DataFrame({
        "message_id": raw["tweet_id"].astype("int64"),
        "author_id": raw["author_id"].astype("str"),
        "inbound": raw["inbound"].astype(str).str.strip().str.lower().eq("true"),
        S.CREATED_AT: pd.to_datetime(raw["created_at"], format="%a %b %d %H:%M:%S %z %Y", utc=True),
        "in_response_to": raw["in_response_to_tweet_id"].astype("Int64"),
    })
    # pointer jumping: up[i] = position of i's parent (itself for a root, -1 when the parent is
    # not in the extract); up = up[up] halves every path per step, so ~log2(depth) vectorised steps
    pos = pd.Series(np.arange(len(msg)), index=msg["message_id"])
    par = msg["in_response_to"]
    up = np.where(par.isna(), np.arange(len(msg)),
                  pos.reindex(par.fillna(-1).astype("int64")).fillna(-1).astype("int64").to_numpy())
    for _ in range(64):
        nxt = np.where(up >= 0, up[np.clip(up, 0, None)], -1)
        if np.array_equal(nxt, up):
            break
        up = nxt
    root = pd.Series(np.where(up >= 0, msg["message_id"].to_numpy()[np.clip(up, 0, None)], -1), index=msg.index)
    known = set(msg["message_id"])
    orphan = ~root.isin(known)
    msg["conversation_id"] = root.astype("str").where(~orphan)
    roots = msg[msg["message_id"].isin(root[~orphan].unique())].set_index("message_id")
    brand_root = roots.index[~roots["inbound"]]
    brand_started = msg["conversation_id"].isin(brand_root.astype("str"))
    m = msg[~orphan & ~brand_started]
    g = m.groupby("conversation_id")
    first_reply = m[~m["inbound"]].sort_values(S.CREATED_AT).groupby("conversation_id").first()
    r = roots.loc[~roots["inbound"].eq(False)]
    conv = pd.DataFrame({
        S.CONVERSATION_ID: r.index.astype("str"),
        S.CUSTOMER_ID: r["author_id"].to_numpy(),
        S.CREATED_AT: r[S.CREATED_AT].to_numpy(),
    })
    conv[S.AGENT_ID] = conv[S.CONVERSATION_ID].map(first_reply["author_id"])
    conv[S.FIRST_RESPONSE_AT] = conv[S.CONVERSATION_ID].map(first_reply[S.CREATED_AT])
    conv[S.RESOLVED_AT] = pd.Series(pd.NaT, index=conv.index, dtype="datetime64[ns, UTC]")
    conv[S.STATUS] = np.where(conv[S.AGENT_ID].notna(), "answered", "unanswered")
    conv[S.CHANNEL] = "twitter"
    conv[S.PRIORITY] = "normal"
    conv[S.CONTACTS] = conv[S.CONVERSATION_ID].map(g["inbound"].sum()).astype("float")
    conv[S.AGENT_REPLIES] = conv[S.CONVERSATION_ID].map(m.assign(_out=~m["inbound"]).groupby("conversation_id")["_out"].sum()).astype("float")
    conv = conv.sort_values([S.CREATED_AT, S.CONVERSATION_ID]).reset_index(drop=True)
    S.add_exclusion(conv, "tweet whose thread starts outside the 5,000-tweet extract", "in_response_to",
                    msg.loc[orphan, "message_id"])
    S.add_exclusion(conv, "thread started by a brand, not a customer", "inbound",
                    msg.loc[brand_started, "message_id"])
    return {"messages": msg.reset_index(drop=True), "conversations": conv}


# --- call centre ------------------------------------------------------------------------------------
def _hms_seconds(s: pd.Series) -> pd.Series:
    return pd.to_timedelta(s, errors="coerce").dt.total_seconds()


def load_calls(path: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """The call-centre export as ``calls``, ``surveys`` (CSAT 1-5) and ``conversations``.

    ``created_at`` is ``date`` (DD/MM/YYYY) + ``time``; ``answered (Y/N)`` and ``resolved`` are
    booleans; ``speed_of_answer_in_seconds`` -> ``speed_of_answer_s``; ``AvgTalkDuration``
    (HH:MM:SS) -> ``handle_time_s``. Unanswered calls have no speed, talk time or rating.

    ``conversations`` holds the answered calls as single-contact conversations (customer ids
    are not in the export: each call is its own customer), ``status`` solved/open from
    ``resolved``: for one-contact data, first-contact resolution is the resolution rate of
    answered calls, :func:`qakit.kpis.resolution_rate`.
    """
    p = _path("calls", path)
    raw = pd.read_csv(p, dtype="str")
    created = pd.to_datetime(raw["date"] + " " + raw["time"], format="%d/%m/%Y %H:%M:%S").dt.tz_localize("UTC")
    yes = {"Y": True, "N": False}
    calls = pd.DataFrame({
        S.CALL_ID: raw["call_id"], S.AGENT_ID: raw["agent"], S.CREATED_AT: created,
        S.ANSWERED: raw["answered (Y/N)"].map(yes).astype("boolean"),
        S.SPEED_OF_ANSWER_S: pd.to_numeric(raw["speed_of_answer_in_seconds"]),
        S.HANDLE_TIME_S: _hms_seconds(raw["AvgTalkDuration"]),
        S.RESOLVED: raw["resolved"].map(yes).astype("boolean"),
        "topic": raw["topic"],
    })
    rating = pd.to_numeric(raw["SatisfactionRating"])
    has = rating.notna()
    surveys = pd.DataFrame({S.CONVERSATION_ID: raw.loc[has, "call_id"], S.KIND: "csat", S.SCORE: rating[has],
                            S.ANSWERED_AT: pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")[has],
                            S.AGENT_ID: raw.loc[has, "agent"]}).reset_index(drop=True)
    a = calls[calls[S.ANSWERED].fillna(False).astype(bool)]
    start = a[S.CREATED_AT] + pd.to_timedelta(a[S.SPEED_OF_ANSWER_S].fillna(0), unit="s")
    end = start + pd.to_timedelta(a[S.HANDLE_TIME_S].fillna(0), unit="s")
    res = a[S.RESOLVED].fillna(False).astype(bool)
    conv = pd.DataFrame({
        S.CONVERSATION_ID: a[S.CALL_ID], S.CUSTOMER_ID: a[S.CALL_ID], S.AGENT_ID: a[S.AGENT_ID],
        S.CHANNEL: "phone", S.PRIORITY: "normal", S.CREATED_AT: a[S.CREATED_AT], S.FIRST_RESPONSE_AT: start,
        S.RESOLVED_AT: end.where(res), S.STATUS: np.where(res, "solved", "open"), S.CONTACTS: 1.0,
        S.HANDLE_TIME_S: a[S.HANDLE_TIME_S], "topic": a["topic"],
    }).reset_index(drop=True)
    S.add_exclusion(surveys, "unanswered call: no satisfaction rating", S.SCORE, raw.loc[~has, "call_id"])
    return {"calls": calls, "surveys": surveys, "conversations": conv}


# --- Olist ----------------------------------------------------------------------------------------------
def load_olist(path: str | Path | None = None, *, keep_text: bool = False) -> pd.DataFrame:
    """Olist order reviews as a CSAT surveys table.

    ``conversation_id`` = ``review_id`` (one survey per review), ``score`` = ``review_score``
    (1-5), ``answered_at`` = ``review_answer_timestamp`` (when the customer answered; naive
    times read as America/Sao_Paulo), plus ``order_id`` and ``sent_at`` (``review_creation_date``).
    Duplicate ``review_id`` rows keep the first occurrence; the others are itemised in
    :func:`qakit.schema.exclusions`. Comments (Portuguese free text) are dropped unless
    ``keep_text=True``.
    """
    p = _path("olist", path)
    raw = pd.read_csv(p, dtype="str", keep_default_na=False, na_values=[""])
    tz = "America/Sao_Paulo"

    def local(col: str) -> pd.Series:  # the hour repeated when DST ends is ambiguous -> NaT, itemised
        return pd.to_datetime(raw[col]).dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")

    out = pd.DataFrame({
        S.CONVERSATION_ID: raw["review_id"], S.KIND: "csat", S.SCORE: pd.to_numeric(raw["review_score"]),
        S.ANSWERED_AT: local("review_answer_timestamp"), "sent_at": local("review_creation_date"),
        "order_id": raw["order_id"],
    })
    ambiguous = out[S.ANSWERED_AT].isna() & raw["review_answer_timestamp"].notna()
    if keep_text:
        out["comment_title"] = raw["review_comment_title"]
        out["comment"] = raw["review_comment_message"]
    dup = out.duplicated(S.CONVERSATION_ID, keep="first")
    kept = out[~dup].reset_index(drop=True)
    S.add_exclusion(kept, "duplicate review_id: later copy dropped", S.CONVERSATION_ID, out.loc[dup, S.CONVERSATION_ID])
    S.add_exclusion(kept, "answer time in the hour repeated at the end of DST (ambiguous): answered_at unknown",
                    S.ANSWERED_AT, out.loc[ambiguous & ~dup, S.CONVERSATION_ID])
    return kept


# --- FED ---------------------------------------------------------------------------------------------------
def load_fed(path: str | Path | None = None) -> pd.DataFrame:
    """FED dialogue-quality annotations as a long ratings table.

    Each of the 500 items (375 single turns, 125 whole dialogues) was rated by 5 annotators on
    8-10 categories (0-2 or 0-1) and ``Overall``. ``conversation_id`` = ``fed<i>`` (position in
    the file), ``review_id`` = ``fed<i>:<annotator 1..5>``, ``reviewer_id`` = ``annotator<k>``
    (annotator positions; FED does not say whether position k is the same person across
    items), ``agent_id`` = the system (Meena, Mitsuku, Human), ``level`` turn/dialog. Free-text
    answers such as "N/A (No errors)" become N/A ratings and are itemised.
    """
    p = _path("fed", path)
    items = json.loads(p.read_text(encoding="utf-8"))
    rows = []
    for i, it in enumerate(items):  # 500 items x <= 11 categories: a small, one-off parse
        level = "turn" if "response" in it else "dialog"
        for cat, vals in it["annotations"].items():
            for k, v in enumerate(vals, start=1):
                rows.append((f"fed{i:03d}", k, it.get("system", "unknown"), level, cat, v))
    df = pd.DataFrame(rows, columns=[S.CONVERSATION_ID, "k", S.AGENT_ID, "level", S.CATEGORY, "raw"])
    num = pd.to_numeric(df["raw"].where(df["raw"].map(lambda v: isinstance(v, (int, float)))), errors="coerce")
    out = pd.DataFrame({
        S.REVIEW_ID: df[S.CONVERSATION_ID] + ":" + df["k"].astype("str"),
        S.CONVERSATION_ID: df[S.CONVERSATION_ID], S.AGENT_ID: df[S.AGENT_ID],
        S.REVIEWER_ID: "annotator" + df["k"].astype("str"),
        S.REVIEWED_AT: pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns, UTC]"),
        S.CATEGORY: df[S.CATEGORY], S.RATING: num.astype("float64"), "level": df["level"],
    })
    text = num.isna() & df["raw"].notna()
    S.add_exclusion(out, "free-text answer (e.g. 'N/A (No errors)') read as N/A", S.RATING,
                    out.loc[text, S.REVIEW_ID] + "/" + out.loc[text, S.CATEGORY])
    return out
