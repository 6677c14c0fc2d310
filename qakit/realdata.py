"""Loaders for real public customer-service exports (the datasets in ``../shared/data``).

Each loader maps a raw export onto qakit's canonical tables (:mod:`qakit.schema`), parses its
timestamps, validates the result with :func:`qakit.schema.validate` and flags its mess on the
result (:func:`qakit.schema.exclusions`) instead of dropping rows silently. Free customer text is
not carried over (privacy) unless a loader says otherwise.

==========================  ===================================================================
``load_twitter``            Customer Support on Twitter (first 5,000 tweets): reply chains rebuilt
                            into conversations (first response per brand, interactions).
``load_calls``              A call-centre simulation (5,000 calls, 8 agents): calls, CSAT answers
                            and answered calls as single-contact conversations.
``load_olist``              Olist order reviews: 1-5 review scores as CSAT answers.
``load_fed``                FED dialogue-quality ratings: 5 annotators per dialogue, as a ratings
                            table (reviewer agreement).
==========================  ===================================================================

``path`` may be the export file itself, its dataset folder or the shared-data folder; it
defaults to ``$QAKIT_SHARED_DATA`` or else ``../shared/data`` beside the repository. A missing
export raises :class:`SharedDataNotFoundError` (a :class:`~qakit.errors.ParameterError` and a
``FileNotFoundError``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema as S
from ._public import public
from .errors import ParameterError, check_choice
from .io import read_table

SHARED_ENV = "QAKIT_SHARED_DATA"
#: each export's path inside the shared-data folder
FILES = {
    "twitter": "twitter-support/twcs_first5000.csv",
    "calls": "call-centre/calls.csv",
    "olist": "olist-reviews/olist_order_reviews_dataset.subset.csv",
    "fed": "fed-dialog-quality/fed_data.json",
}
TWITTER_TIME_FORMAT = "%a %b %d %H:%M:%S %z %Y"
_UTC = "datetime64[ns, UTC]"


class SharedDataNotFoundError(ParameterError, FileNotFoundError):
    """A real export is not where it was looked for (also a ``FileNotFoundError``)."""


@public
def shared_data_dir() -> Path:
    """``$QAKIT_SHARED_DATA`` or ``../shared/data`` beside the repository.

    Examples
    --------
    >>> shared_data_dir().name
    'data'
    """
    env = os.environ.get(SHARED_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def _path(name: str, path: str | Path | None) -> Path:
    """The export file for ``name``: ``path`` itself, or ``FILES[name]`` below a folder."""
    rel = Path(FILES[name])
    base = Path(path) if path is not None else shared_data_dir()
    candidates = [base] if not base.is_dir() else [base / rel, base / rel.name]
    for c in candidates:
        if c.is_file():
            return c
    looked = " or ".join(repr(str(c)) for c in (candidates if base.is_dir() else [base]))
    raise SharedDataNotFoundError(
        f"{name} export not found at {looked}; pass path=... (the file, its folder or the shared-data "
        f"folder) or set {SHARED_ENV}"
    )


def _nat(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NaT, index=index, dtype=_UTC)


# --- Twitter ----------------------------------------------------------------------------------------
def _thread_roots(ids: np.ndarray, parent: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Root position of every tweet by pointer jumping, and whether the chain ends in the extract.

    ``up[i]`` starts as the position of i's parent (i itself for a tweet that replies to nothing,
    -1 when the parent is not in the extract); ``up = up[up]`` halves every chain per step, so
    ~log2(depth) vectorised steps. Chains that never settle (a reply loop) end invalid.
    """
    n = len(ids)
    pos = pd.Series(np.arange(n), index=ids)
    is_root = parent.isna().to_numpy()
    up = np.where(is_root, np.arange(n),
                  pos.reindex(parent.fillna("").to_numpy()).fillna(-1).astype("int64").to_numpy())
    for _ in range(64):
        nxt = np.where(up >= 0, up[np.clip(up, 0, None)], -1)
        if np.array_equal(nxt, up):
            break
        up = nxt
    ok = (up >= 0) & is_root[np.clip(up, 0, None)]
    return np.where(ok, up, -1), (up < 0)


@public
def load_twitter(path: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """Twitter support threads rebuilt into conversations.

    A conversation is rooted at an inbound (customer) tweet with no ``in_response_to_tweet_id``;
    every other tweet is assigned its root by following ``in_response_to_tweet_id`` (vectorised
    pointer jumping, ~log2(depth) array steps, no per-tweet loop).

    Parameters
    ----------
    path : str or Path, optional
        ``twcs_first5000.csv``, its folder or the shared-data folder (default).

    Returns
    -------
    dict of pandas.DataFrame
        ``messages``: one row per tweet: ``message_id`` (str), ``conversation_id`` (the root
        tweet id; missing for tweets outside a returned conversation), ``root_id`` (the thread
        root inside the extract, missing when the chain leaves it), ``author_id``, ``inbound``
        (bool, customer tweet), ``created_at`` (UTC), ``in_response_to`` (str or missing).
        Tweet text is not carried.

        ``conversations``: the canonical table, validated: ``conversation_id`` = root tweet id,
        ``customer_id`` = root author, ``agent_id`` = the brand (``author_id``) of the first
        brand reply (missing when no brand answered), ``channel`` ``"twitter"``, ``priority``
        ``"normal"``, ``created_at`` = root time, ``first_response_at`` = first brand reply,
        ``last_message_at`` = last tweet of the thread, ``resolved_at`` = ``last_message_at``
        when a brand had the last word (else missing), ``status`` ``"closed"`` (brand had the
        last word) or ``"open"`` (the customer spoke last: unanswered or waiting),
        ``contacts`` = customer tweets, ``agent_replies`` = brand tweets.

        Both tables carry the exclusions: tweets whose chain starts outside the 5,000-tweet
        extract, threads a brand started (no customer root), reply loops.

    Notes
    -----
    Twitter has no ticket status: "resolved" here is the proxy "the brand tweeted last in the
    extract". The extract is the first 5,000 rows of a larger file, so some threads continue
    beyond it (their later tweets, and a later customer reply, are not seen).
    """
    p = _path("twitter", path)
    raw = pd.read_csv(p, lineterminator="\n", dtype="str", keep_default_na=False, na_values=[""])
    need = ["tweet_id", "author_id", "inbound", "created_at", "in_response_to_tweet_id"]
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise ParameterError(f"{p.name}: column(s) {missing} missing; columns: {list(raw.columns)}")
    parent = raw["in_response_to_tweet_id"].str.strip().str.replace(r"\.0$", "", regex=True)
    inbound = raw["inbound"].str.strip().str.lower()
    msg = pd.DataFrame({
        "message_id": raw["tweet_id"].str.strip(),
        "author_id": raw["author_id"],
        "inbound": inbound.eq("true").to_numpy(),
        S.CREATED_AT: pd.to_datetime(raw["created_at"], format=TWITTER_TIME_FORMAT, utc=True, errors="coerce"),
        "in_response_to": parent,
    })
    bad_time = msg[S.CREATED_AT].isna()
    bad_flag = ~inbound.isin(["true", "false"])
    dup_id = msg["message_id"].duplicated(keep="first")
    usable = ~(bad_time | bad_flag | dup_id)
    u = usable.to_numpy()
    ids = msg["message_id"].to_numpy()[u]
    root_pos, outside = _thread_roots(ids, msg.loc[usable, "in_response_to"])
    root = pd.Series(np.nan, index=msg.index, dtype="str")
    root[usable] = np.where(root_pos >= 0, ids[np.clip(root_pos, 0, None)], np.nan)
    msg["root_id"] = root
    loop = pd.Series(False, index=msg.index)
    loop[usable] = (root_pos < 0) & ~outside
    orphan = pd.Series(False, index=msg.index)
    orphan[usable] = outside
    root_inbound = msg["root_id"].map(msg.loc[usable].set_index("message_id")["inbound"])
    brand_started = msg["root_id"].notna() & root_inbound.eq(False)
    inside = msg["root_id"].notna() & ~brand_started
    msg[S.CONVERSATION_ID] = msg["root_id"].where(inside)
    msg = msg[["message_id", S.CONVERSATION_ID, "root_id", "author_id", "inbound", S.CREATED_AT, "in_response_to"]]

    m = msg[inside]
    roots = m[m["message_id"].eq(m[S.CONVERSATION_ID])].set_index(S.CONVERSATION_ID)
    brand = m[~m["inbound"]].sort_values([S.CREATED_AT, "message_id"], kind="stable")
    first = brand.groupby(S.CONVERSATION_ID).first()
    last = m.sort_values([S.CREATED_AT, "message_id"], kind="stable").groupby(S.CONVERSATION_ID).last()
    g = m.groupby(S.CONVERSATION_ID)
    conv = pd.DataFrame({
        S.CONVERSATION_ID: roots.index,
        S.CUSTOMER_ID: roots["author_id"].to_numpy(),
        S.AGENT_ID: first["author_id"].reindex(roots.index).to_numpy(),
        S.CHANNEL: "twitter",
        S.PRIORITY: "normal",
        S.CREATED_AT: roots[S.CREATED_AT].to_numpy(),
        S.FIRST_RESPONSE_AT: first[S.CREATED_AT].reindex(roots.index).to_numpy(),
        "last_message_at": last[S.CREATED_AT].reindex(roots.index).to_numpy(),
        S.CONTACTS: g["inbound"].sum().reindex(roots.index).astype("float64").to_numpy(),
        S.AGENT_REPLIES: (g.size() - g["inbound"].sum()).reindex(roots.index).astype("float64").to_numpy(),
    })
    brand_last = ~last["inbound"].reindex(roots.index).to_numpy(dtype=bool)
    conv[S.RESOLVED_AT] = conv["last_message_at"].where(brand_last)
    conv[S.STATUS] = np.where(brand_last, "closed", "open")
    conv = conv.sort_values([S.CREATED_AT, S.CONVERSATION_ID], kind="stable").reset_index(drop=True)
    conv = S.validate(conv, "conversations")
    for df in (conv, msg):
        S.add_exclusion(df, "tweet whose thread starts outside the 5,000-tweet extract", "in_response_to",
                        msg.loc[orphan, "message_id"])
        S.add_exclusion(df, "thread started by a brand, not a customer", "inbound",
                        msg.loc[brand_started, "message_id"])
        S.add_exclusion(df, "reply chain loops (no root)", "in_response_to", msg.loc[loop, "message_id"])
        S.add_exclusion(df, "unparseable created_at", S.CREATED_AT, msg.loc[bad_time, "message_id"])
        S.add_exclusion(df, "inbound is neither True nor False", "inbound", msg.loc[bad_flag & ~bad_time, "message_id"])
        S.add_exclusion(df, "duplicate tweet_id: later copy ignored", "message_id", msg.loc[dup_id, "message_id"])
    return {"messages": msg.reset_index(drop=True), "conversations": conv}


# --- call centre ------------------------------------------------------------------------------------
CALLS_MAPPING = {
    "call_id": S.CALL_ID,
    "agent": S.AGENT_ID,
    "answered (Y/N)": S.ANSWERED,
    "resolved": S.RESOLVED,
    "speed_of_answer_in_seconds": S.SPEED_OF_ANSWER_S,
    "AvgTalkDuration": "talk_duration",
    "SatisfactionRating": "satisfaction",
    "date": "date",
    "time": "time",
    "topic": "topic",
}


def _hms_seconds(s: pd.Series) -> pd.Series:
    """``HH:MM:SS`` -> seconds (float; missing or malformed -> NaN)."""
    ok = s.str.fullmatch(r"\d{1,3}:[0-5]\d:[0-5]\d", na=False)
    parts = s.where(ok).str.split(":", expand=True)
    if parts.shape[1] < 3:
        return pd.Series(np.nan, index=s.index)
    parts = parts.astype("float64")
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


@public
def load_calls(path: str | Path | None = None, *, tz: str = "UTC") -> dict[str, pd.DataFrame]:
    """The call-centre export as ``calls``, ``surveys`` (CSAT 1-5) and ``conversations``.

    Parameters
    ----------
    path : str or Path, optional
        ``calls.csv``, its folder or the shared-data folder (default).
    tz : str, default="UTC"
        Zone of the export's wall-clock times (the file names none).

    Returns
    -------
    dict of pandas.DataFrame
        ``calls`` (validated): ``call_id``, ``agent_id`` (agent's first name), ``created_at`` =
        ``date`` (DD/MM/YYYY) + ``time``, ``answered`` (``answered (Y/N)``), ``speed_of_answer_s``
        (``speed_of_answer_in_seconds``), ``handle_time_s`` (``AvgTalkDuration`` HH:MM:SS, the
        talk time of that call), ``resolved`` (Y/N), ``topic``.

        ``surveys`` (validated): one CSAT answer per rated call: ``conversation_id`` = ``call_id``,
        ``kind`` ``"csat"``, ``score`` = ``SatisfactionRating`` (1-5), ``agent_id``,
        ``answered_at`` = end of the call (start + speed of answer + talk time: the export has no
        survey time; a post-call survey cannot be answered earlier). Unanswered calls (no rating)
        are itemised, not rows.

        ``conversations`` (validated): the answered calls as single-contact conversations (the
        export has no customer ids: each call is its own customer, ``customer_id`` = ``call_id``),
        ``channel`` ``"phone"``, ``first_response_at`` = pick-up, ``resolved_at`` = end of call
        when ``resolved`` else missing, ``status`` solved/open, ``contacts`` 1,
        ``handle_time_s``. With one contact per call, first-contact resolution is the
        resolution rate of answered calls.

    Rows with an unreadable date/time or answered flag, or a rating outside 1-5, are left out
    of every table and itemised on ``calls``; an unreadable talk time or speed of answer leaves
    that value missing and is itemised on ``calls`` too.
    """
    p = _path("calls", path)
    raw = read_table(p, "calls", mapping=CALLS_MAPPING, validate=False)
    stamp = raw["date"].str.strip() + " " + raw["time"].str.strip()
    created = pd.to_datetime(stamp, format="%d/%m/%Y %H:%M:%S", errors="coerce")
    created = created.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    yes = {"Y": True, "N": False}
    answered = raw[S.ANSWERED].str.strip().str.upper().map(yes)
    resolved = raw[S.RESOLVED].str.strip().str.upper().map(yes)
    speed = pd.to_numeric(raw[S.SPEED_OF_ANSWER_S], errors="coerce")
    talk = _hms_seconds(raw["talk_duration"].str.strip())
    rating = pd.to_numeric(raw["satisfaction"], errors="coerce")
    ids = raw[S.CALL_ID]
    bad_time = created.isna()
    bad_answered = answered.isna() & ~bad_time
    bad_rating = (rating.notna() & ~rating.between(1, 5)) & ~bad_time & ~bad_answered
    keep = ~(bad_time | bad_answered | bad_rating)
    k = raw.index[keep]
    calls = pd.DataFrame({
        S.CALL_ID: ids, S.AGENT_ID: raw[S.AGENT_ID], S.CREATED_AT: created,
        S.ANSWERED: answered.astype("boolean"), S.SPEED_OF_ANSWER_S: speed, S.HANDLE_TIME_S: talk,
        S.RESOLVED: resolved.astype("boolean"), "topic": raw["topic"],
    }).loc[k].reset_index(drop=True)
    calls = S.validate(calls, "calls")
    ans = answered.eq(True) & keep
    start = created + pd.to_timedelta(speed.fillna(0), unit="s")
    end = start + pd.to_timedelta(talk.fillna(0), unit="s")
    rated = rating.notna() & keep
    surveys = S.validate(pd.DataFrame({
        S.CONVERSATION_ID: ids[rated], S.KIND: "csat", S.SCORE: rating[rated],
        S.ANSWERED_AT: end[rated], S.AGENT_ID: raw.loc[rated, S.AGENT_ID],
    }).reset_index(drop=True), "surveys")
    res = resolved.eq(True)
    conv = S.validate(pd.DataFrame({
        S.CONVERSATION_ID: ids, S.CUSTOMER_ID: ids, S.AGENT_ID: raw[S.AGENT_ID],
        S.CHANNEL: "phone", S.PRIORITY: "normal", S.CREATED_AT: created, S.FIRST_RESPONSE_AT: start,
        S.RESOLVED_AT: end.where(res), S.STATUS: np.where(res, "solved", "open"), S.CONTACTS: 1.0,
        S.HANDLE_TIME_S: talk, "topic": raw["topic"],
    }).loc[ans].reset_index(drop=True), "conversations")
    S.add_exclusion(calls, "unreadable date/time", "date", ids[bad_time])
    S.add_exclusion(calls, "answered (Y/N) is neither Y nor N", S.ANSWERED, ids[bad_answered])
    S.add_exclusion(calls, "satisfaction rating outside 1-5", "SatisfactionRating", ids[bad_rating])
    unread_talk = keep & raw["talk_duration"].notna() & talk.isna()
    unread_speed = keep & raw[S.SPEED_OF_ANSWER_S].notna() & speed.isna()
    S.add_exclusion(calls, "unreadable AvgTalkDuration (not HH:MM:SS): handle_time_s missing", S.HANDLE_TIME_S,
                    ids[unread_talk])
    S.add_exclusion(calls, "unreadable speed_of_answer_in_seconds: speed_of_answer_s missing", S.SPEED_OF_ANSWER_S,
                    ids[unread_speed])
    S.add_exclusion(surveys, "unanswered call: no satisfaction rating", S.SCORE, ids[keep & ~ans])
    S.add_exclusion(surveys, "answered call without a satisfaction rating", S.SCORE, ids[ans & ~rated])
    S.add_exclusion(conv, "unanswered call: not a conversation", S.ANSWERED, ids[keep & ~ans])
    return {"calls": calls, "surveys": surveys, "conversations": conv}


# --- Olist ----------------------------------------------------------------------------------------------
OLIST_TZ = "America/Sao_Paulo"
OLIST_MAPPING = {
    "review_id": S.CONVERSATION_ID,
    "review_score": S.SCORE,
    "review_answer_timestamp": S.ANSWERED_AT,
    "review_creation_date": "sent_at",
    "order_id": "order_id",
    "review_comment_title": "comment_title",
    "review_comment_message": "comment",
}


@public
def load_olist(path: str | Path | None = None, *, keep_text: bool = False, tz: str = OLIST_TZ) -> pd.DataFrame:
    """Olist order reviews as a CSAT surveys table.

    Parameters
    ----------
    path : str or Path, optional
        ``olist_order_reviews_dataset.subset.csv``, its folder or the shared-data folder (default).
    keep_text : bool, default=False
        Carry the Portuguese free-text title and comment (``comment_title``, ``comment``).
        Off by default: customer text is personal data.
    tz : str, default="America/Sao_Paulo"
        Zone of the export's naive timestamps (Olist is a Brazilian marketplace).

    Returns
    -------
    pandas.DataFrame
        The surveys table, validated: ``conversation_id`` = ``review_id`` (one survey answer per
        review; ``order_id`` is kept as a column), ``kind`` ``"csat"``, ``score`` =
        ``review_score`` (1-5), ``answered_at`` = ``review_answer_timestamp`` (when the customer
        answered, UTC), ``sent_at`` = ``review_creation_date`` (when the survey was sent, UTC),
        ``order_id``.

    Notes
    -----
    Itemised exclusions: a ``review_id`` repeated for a second order (the same answer; the
    first row is kept, the later copy dropped: row ids ``review_id/order_id``), answer times
    in the hour repeated when daylight saving time ends (ambiguous: ``answered_at`` missing),
    scores outside 1-5 and unreadable timestamps (row dropped).
    """
    p = _path("olist", path)
    mapping = {k: v for k, v in OLIST_MAPPING.items() if keep_text or not v.startswith("comment")}
    raw = read_table(p, "surveys", mapping=mapping, validate=False)

    def local(col: str) -> tuple[pd.Series, pd.Series]:
        naive = pd.to_datetime(raw[col], errors="coerce", format="%Y-%m-%d %H:%M:%S")
        out = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")
        return out, naive.notna() & out.isna()

    answered_at, ambiguous = local(S.ANSWERED_AT)
    sent_at, _ = local("sent_at")  # creation dates are midnights: ambiguous ones stay missing
    score = pd.to_numeric(raw[S.SCORE], errors="coerce")
    unreadable = raw[S.ANSWERED_AT].notna() & answered_at.isna() & ~ambiguous
    bad_score = ~score.between(1, 5)
    out = raw.assign(**{S.KIND: "csat", S.SCORE: score, S.ANSWERED_AT: answered_at, "sent_at": sent_at})
    cols = [S.CONVERSATION_ID, S.KIND, S.SCORE, S.ANSWERED_AT, "sent_at", "order_id"]
    out = out[cols + (["comment_title", "comment"] if keep_text else [])]
    dup = out.duplicated(S.CONVERSATION_ID, keep="first") & ~bad_score & ~unreadable
    keep = ~(dup | bad_score | unreadable)
    kept = S.validate(out[keep].reset_index(drop=True), "surveys")
    rid = out[S.CONVERSATION_ID]
    S.add_exclusion(kept, "review_id repeated for a second order (same answer): later copy dropped",
                    S.CONVERSATION_ID, rid[dup] + "/" + out.loc[dup, "order_id"])
    S.add_exclusion(kept, "answer time in the hour repeated when DST ends (ambiguous): answered_at missing",
                    S.ANSWERED_AT, rid[ambiguous & keep])
    S.add_exclusion(kept, "review_score not in 1-5: row dropped", S.SCORE, rid[bad_score])
    S.add_exclusion(kept, "unreadable review_answer_timestamp: row dropped", S.ANSWERED_AT, rid[unreadable & ~bad_score])
    return kept


# --- FED ---------------------------------------------------------------------------------------------------
@public
def load_fed(path: str | Path | None = None) -> pd.DataFrame:
    """FED dialogue-quality annotations (Mehri & Eskenazi 2020) as a long ratings table.

    Parameters
    ----------
    path : str or Path, optional
        ``fed_data.json``, its folder or the shared-data folder (default).

    Returns
    -------
    pandas.DataFrame
        The ratings table, validated, one row per item x annotator x category:
        ``review_id`` = ``fed<i>:<k>``, ``conversation_id`` = ``fed<i>`` (FED items have no id:
        ``i`` is the item's position in the file, zero-padded to 3 digits), ``agent_id`` = the
        system (Meena, Mitsuku, Human; ``"unknown"`` if absent), ``reviewer_id`` =
        ``annotator<k>`` (k = 1..5, the annotator's position in the item's list: FED does not say
        whether position k is the same person across items), ``reviewed_at`` missing,
        ``category`` (8 turn-level or 10 dialogue-level qualities, rated 0-2 or 0-1, plus
        ``"Overall"``, 0-4), ``rating`` (float, NaN = N/A), ``level`` (``"turn"`` for items with a
        ``response``, else ``"dialog"``).

    Notes
    -----
    Free-text answers such as "N/A (No errors)" become N/A ratings and are itemised in
    :func:`qakit.schema.exclusions` (row ids ``review_id/category``); the text is not carried.
    """
    p = _path("fed", path)
    try:
        items = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ParameterError(f"{p.name}: not readable as UTF-8 JSON ({e})") from None
    if not isinstance(items, list) or not all(isinstance(it, dict) and isinstance(it.get("annotations"), dict)
                                              for it in items):
        raise ParameterError(f"{p.name}: expected a JSON list of items with an 'annotations' object")
    top = pd.DataFrame(items)
    system = top["system"] if "system" in top.columns else pd.Series(np.nan, index=top.index)
    resp = top["response"] if "response" in top.columns else pd.Series(np.nan, index=top.index)
    items_df = pd.DataFrame({
        S.CONVERSATION_ID: [f"fed{i:03d}" for i in range(len(top))],
        S.AGENT_ID: system.where(system.notna(), "unknown").astype("str").to_numpy(),
        "level": np.where(resp.notna(), "turn", "dialog"),
    })
    ann = pd.DataFrame(top["annotations"].tolist())  # item x category, cells = lists of answers
    long = (ann.assign(_item=np.arange(len(ann)))
            .melt(id_vars="_item", var_name=S.CATEGORY, value_name="raw")
            .dropna(subset=["raw"]).sort_values(["_item"], kind="stable"))
    long = long.explode("raw")
    long["k"] = long.groupby(["_item", S.CATEGORY], sort=False).cumcount() + 1
    long = long.reset_index(drop=True)
    raw = long["raw"]
    is_num = raw.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
    num = pd.to_numeric(raw.where(is_num), errors="coerce").astype("float64")
    meta = items_df.iloc[long["_item"].to_numpy()].reset_index(drop=True)
    k = long["k"].astype("str")
    out = pd.DataFrame({
        S.REVIEW_ID: meta[S.CONVERSATION_ID] + ":" + k,
        S.CONVERSATION_ID: meta[S.CONVERSATION_ID], S.AGENT_ID: meta[S.AGENT_ID],
        S.REVIEWER_ID: "annotator" + k,
        S.REVIEWED_AT: _nat(long.index),
        S.CATEGORY: long[S.CATEGORY].astype("str"), S.RATING: num, "level": meta["level"],
    })
    out = S.validate(out, "ratings")
    text = (raw.notna() & ~is_num).to_numpy()
    S.add_exclusion(out, "free-text answer (e.g. 'N/A (No errors)') read as N/A", S.RATING,
                    out.loc[text, S.REVIEW_ID] + "/" + out.loc[text, S.CATEGORY])
    return out


# --- conversation text (qakit.autoqa) ------------------------------------------------------------------
FILES["maia"] = "maia-dqe"
#: MAIA-DQE subsets in ``../shared/data/maia-dqe`` (file stems); other subsets of the public release work too
MAIA_SUBSETS = ("de_client_02", "pt_br_client_02", "pt_br_client_04")
#: turn-level MAIA labels (0/1, IQ 1-5) and their allowed values
MAIA_TURN_LABELS = {"Understanding": (0, 1), "Sensibleness": (0, 1), "Politeness": (0, 1), "IQ": (1, 2, 3, 4, 5)}
#: conversation-level human ratings derived from the labels (see :func:`load_maia`)
MAIA_CATEGORIES = ("Politeness", "Understanding", "Sensibleness", "Task success")
MAIA_TEXT = ("english", "original")


def _maia_files(path: str | Path | None, subsets) -> list[Path]:
    base = Path(path) if path is not None else shared_data_dir()
    if base.is_file():
        return [base]
    folder = base / FILES["maia"] if (base / FILES["maia"]).is_dir() else base
    names = MAIA_SUBSETS if subsets is None else tuple(subsets)
    if isinstance(subsets, str) or not names:
        raise ParameterError(f"subsets must be a non-empty list of subset names; got {subsets!r}")
    files = [folder / f"{n}.json" for n in names]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise SharedDataNotFoundError(
            f"maia export not found at {missing}; pass path=... (a subset .json, the maia-dqe folder or the "
            f"shared-data folder) or set {SHARED_ENV}")
    return files


@public
def load_maia(path: str | Path | None = None, *, subsets=None, text: str = "english") -> dict[str, pd.DataFrame]:
    """MAIA-DQE customer-support chats (Mendonca et al. 2023, CC BY 4.0) with their human labels.

    Parameters
    ----------
    path : str or Path, optional
        One subset ``.json``, the ``maia-dqe`` folder or the shared-data folder (default).
    subsets : list of str, optional
        Subset file stems to read (default :data:`MAIA_SUBSETS`), in this order.
    text : {"english", "original"}, default="english"
        ``"english"``: agent turns from ``text_src`` (agents write English) and customer turns
        from ``text_mt`` (the machine translation), so every text is English. ``"original"``: what
        each side saw in the customer's language (customer ``text_src``, agent ``text_mt``).

    Returns
    -------
    dict of pandas.DataFrame
        ``messages``: the canonical messages table, validated: ``conversation_id`` = dialogue id,
        ``message_id`` = ``<dialogue id>/<turn, 3 digits>``, ``author_role`` (``inbound`` ->
        ``customer``, ``outbound`` -> ``agent``), ``agent_id`` (MAIA has no agent ids: the client
        token of the id, e.g. ``client-04``, on agent turns), ``sent_at`` (missing: MAIA has no
        times), ``text`` (the turn's sentences joined by a space), ``position`` (turn index),
        ``language`` (``en``, or the customer language ``de`` / ``pt-br`` with ``"original"``),
        ``subset``.

        ``turn_labels``: ``conversation_id, message_id, author_role`` and the turn labels
        ``Understanding, Sensibleness, Politeness`` (0/1) and ``IQ`` (1-5), float, NaN = not labelled.

        ``ratings``: the canonical ratings table (reviewer ``"maia"``, one review per dialogue)
        with the conversation-level categories ``Politeness``, ``Understanding``,
        ``Sensibleness`` = the minimum of the labelled *agent* turns (1 = every labelled agent turn
        was polite / understood / sensible; N/A when no agent turn is labelled) and ``Task
        success`` (1-5, the dialogue label ``Task Sucess``).

        ``dialogues``: ``conversation_id, subset, dropped, task_success``.

    Notes
    -----
    The public subsets overlap: ``pt_br_client_02`` repeats the dialogues of ``pt_br_client_04``
    under the same ids. A dialogue id already read from an earlier subset is excluded and itemised
    (its first copy is kept, whatever labels the copies disagree on: also itemised). Labels off
    their scale (``IQ`` 0, ``Task Sucess`` -1) become N/A and are itemised as adjustments. Every
    table carries these records (:func:`qakit.schema.exclusions`).
    """
    check_choice("text", text, MAIA_TEXT)
    files = _maia_files(path, subsets)
    seen: dict[str, tuple[str, dict]] = {}
    dup_ids, conflict_ids, msg_rows, lab_rows, dia_rows = [], [], [], [], []
    for f in files:
        try:
            dialogues = json.loads(f.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ParameterError(f"{f.name}: not readable as UTF-8 JSON ({e})") from None
        if not isinstance(dialogues, list) or not all(
                isinstance(d, dict) and isinstance(d.get("turns"), list) and "id" in d for d in dialogues):
            raise ParameterError(f"{f.name}: expected a JSON list of dialogues with 'id' and 'turns'")
        for d in dialogues:  # a few hundred dialogues: a loop over dialogues and turns is fine here
            did = str(d["id"])
            if did in seen:
                dup_ids.append(did)
                if seen[did][1] != d:
                    conflict_ids.append(did)
                continue
            seen[did] = (f.stem, d)
            parts = did.split("_")
            lang = parts[1] if len(parts) > 1 else "unknown"
            client = next((p.strip("#").lower() for p in parts if p.startswith("#CLIENT")), f.stem)
            info = d.get("dialog") or {}
            dia_rows.append((did, f.stem, info.get("Dropped conversation"), info.get("Task Sucess")))
            for i, t in enumerate(d["turns"]):
                agent = t.get("floor") == "outbound"
                if text == "english":
                    src = t.get("text_src") if agent else t.get("text_mt")
                    language = "en"
                else:
                    src = t.get("text_mt") if agent else t.get("text_src")
                    language = lang
                sentences = [s for s in (src or []) if isinstance(s, str)]
                mid = f"{did}/{i:03d}"
                msg_rows.append((did, mid, "agent" if agent else "customer", client if agent else None,
                                 " ".join(sentences), float(i), language, f.stem, t.get("floor")))
                lab_rows.append((did, mid, "agent" if agent else "customer",
                                 *(t.get(k) for k in MAIA_TURN_LABELS)))
    msg = pd.DataFrame(msg_rows, columns=[S.CONVERSATION_ID, S.MESSAGE_ID, S.AUTHOR_ROLE, S.AGENT_ID, S.TEXT,
                                          S.POSITION, S.LANGUAGE, "subset", "floor"])
    msg[S.SENT_AT] = _nat(msg.index)
    bad_floor = ~msg["floor"].isin(["inbound", "outbound"])
    msg = msg.drop(columns="floor")
    labels = pd.DataFrame(lab_rows, columns=[S.CONVERSATION_ID, S.MESSAGE_ID, S.AUTHOR_ROLE, *MAIA_TURN_LABELS])
    off_scale: list[tuple[str, pd.Series]] = []
    for k, allowed in MAIA_TURN_LABELS.items():
        v = pd.to_numeric(labels[k], errors="coerce").astype("float64")
        bad = labels[k].notna() & ~v.isin(allowed)
        off_scale.append((k, labels.loc[bad, S.MESSAGE_ID]))
        labels[k] = v.where(~bad)
    dia = pd.DataFrame(dia_rows, columns=[S.CONVERSATION_ID, "subset", "dropped", "task_success"])
    for c in ("dropped", "task_success"):
        dia[c] = pd.to_numeric(dia[c], errors="coerce").astype("float64")
    bad_ts = dia["task_success"].notna() & ~dia["task_success"].isin([1, 2, 3, 4, 5])
    bad_ts_ids = dia.loc[bad_ts, S.CONVERSATION_ID]
    dia["task_success"] = dia["task_success"].where(~bad_ts)

    agent_labels = labels[labels[S.AUTHOR_ROLE].eq("agent")]
    conv_level = agent_labels.groupby(S.CONVERSATION_ID, sort=False)[["Politeness", "Understanding", "Sensibleness"]].min()
    conv_level = conv_level.reindex(dia[S.CONVERSATION_ID])
    conv_level["Task success"] = dia.set_index(S.CONVERSATION_ID)["task_success"]
    team = msg.dropna(subset=[S.AGENT_ID]).groupby(S.CONVERSATION_ID)[S.AGENT_ID].first()
    long = conv_level.reset_index().melt(id_vars=S.CONVERSATION_ID, var_name=S.CATEGORY, value_name=S.RATING)
    ratings = pd.DataFrame({
        S.REVIEW_ID: long[S.CONVERSATION_ID] + ":maia",
        S.CONVERSATION_ID: long[S.CONVERSATION_ID],
        S.AGENT_ID: long[S.CONVERSATION_ID].map(team).fillna("unknown"),
        S.REVIEWER_ID: "maia",
        S.REVIEWED_AT: _nat(long.index),
        S.CATEGORY: long[S.CATEGORY].astype("str"),
        S.RATING: long[S.RATING].astype("float64"),
    })
    ratings = S.validate(ratings, "ratings")
    msg = S.validate(msg, "messages")
    out = {"messages": msg, "turn_labels": labels, "ratings": ratings, "dialogues": dia}
    for df in out.values():
        S.add_exclusion(df, "dialogue id already read from an earlier subset: later copy ignored",
                        S.CONVERSATION_ID, dup_ids)
        S.add_exclusion(df, "duplicated dialogue whose copies disagree (first copy kept)",
                        S.CONVERSATION_ID, conflict_ids)
        S.add_exclusion(df, "turn floor neither inbound nor outbound: read as customer", S.AUTHOR_ROLE,
                        msg.loc[bad_floor, S.MESSAGE_ID])
        for k, ids in off_scale:
            S.add_adjustment(df, f"turn label {k} off its scale {MAIA_TURN_LABELS[k]}: set to N/A", k, ids)
        S.add_adjustment(df, "Task Sucess off its 1-5 scale: set to N/A", "task_success", bad_ts_ids)
    return out


@public
def load_twitter_messages(path: str | Path | None = None) -> pd.DataFrame:
    """Twitter support threads as the canonical messages table (with the tweet text).

    Parameters
    ----------
    path : str or Path, optional
        ``twcs_first5000.csv``, its folder or the shared-data folder (default).

    Returns
    -------
    pandas.DataFrame
        The messages table, validated: one row per tweet inside a conversation of
        :func:`load_twitter` (``conversation_id`` = root customer tweet), ``message_id`` = tweet id,
        ``author_role`` (``customer`` for inbound tweets, else ``agent``), ``agent_id`` = the
        brand's ``author_id`` on brand tweets, ``sent_at`` (UTC), ``text``, ``language``
        (missing: the export does not say; mostly English), and ``author_id``. Tweets outside a
        conversation are itemised with the same reasons as :func:`load_twitter`.
    """
    tw = load_twitter(path)
    m = tw["messages"]
    p = _path("twitter", path)
    raw = pd.read_csv(p, lineterminator="\n", dtype="str", keep_default_na=False, na_values=[""],
                      usecols=["tweet_id", "text"])
    raw["tweet_id"] = raw["tweet_id"].str.strip()
    text = raw.drop_duplicates("tweet_id").set_index("tweet_id")["text"]
    inside = m[m[S.CONVERSATION_ID].notna()]
    agent = ~inside["inbound"].to_numpy(dtype=bool)
    out = pd.DataFrame({
        S.CONVERSATION_ID: inside[S.CONVERSATION_ID].to_numpy(),
        S.MESSAGE_ID: inside["message_id"].to_numpy(),
        S.AUTHOR_ROLE: np.where(agent, "agent", "customer"),
        S.AGENT_ID: inside["author_id"].where(agent).to_numpy(),
        S.SENT_AT: inside[S.CREATED_AT].to_numpy(),
        S.TEXT: inside["message_id"].map(text).to_numpy(),
        S.LANGUAGE: pd.Series(np.nan, index=inside.index, dtype="str").to_numpy(),
        "author_id": inside["author_id"].to_numpy(),
    })
    out = out.sort_values([S.CONVERSATION_ID, S.SENT_AT, S.MESSAGE_ID], kind="stable").reset_index(drop=True)
    out = S.validate(out, "messages")
    return S.carry_records(out, m)


# --- the public API: every function listed here is decorated with @public on its def (shared parameters
# checked by name; every result stamped with its exclusion record) -----------------------------------
__all__ = [
    "SharedDataNotFoundError",
    "shared_data_dir",
    "load_twitter",
    "load_calls",
    "load_olist",
    "load_fed",
    "load_maia",
    "load_twitter_messages",
]
