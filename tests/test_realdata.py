"""qakit.realdata: loaders for the real public exports in ../shared/data.

Two kinds of tests:

* small hand-made files in ``tmp_path`` (no shared data needed): each loader's mapping, parsing and
  itemised mess, with the expected numbers worked out by hand in the docstrings;
* the real exports (``shared_data`` fixture: fails, not skips, under CI=true when the folder is
  missing): every expected number is computed here with a few lines of plain pandas/json on the
  raw file, independently of the loaders, then compared with the loaded tables and with
  :mod:`qakit.kpis` run on them.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from qakit import kpis as K
from qakit import realdata as RD
from qakit import schema as S
from qakit.errors import ParameterError

TW_FMT = "%a %b %d %H:%M:%S %z %Y"


def _reasons(df: pd.DataFrame) -> pd.Series:
    ex = S.exclusions(df)
    return ex.set_index("reason")["n"]


def _ids(df: pd.DataFrame, reason: str) -> set[str]:
    ex = S.exclusions(df).set_index("reason")
    return set(ex.loc[reason, "row_ids"]) if reason in ex.index else set()


# --- small hand-made files --------------------------------------------------------------------------
TW_HEADER = ",tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"


def _tweet(i, tid, author, inbound, when, parent=""):
    return f"{i},{tid},{author},{inbound},{when},some text,,{parent}\n"


@pytest.fixture
def mini_twitter(tmp_path):
    t = "Tue Oct 31 10:{:02d}:00 +0000 2017"
    rows = [
        # thread 1: customer c1 at :00, brand A at :10 and :30, customer at :20 -> brand last
        _tweet(0, 1, "c1", True, t.format(0)),
        _tweet(1, 2, "BrandA", False, t.format(10), "1.0"),
        _tweet(2, 3, "c1", True, t.format(20), "2.0"),
        _tweet(3, 4, "BrandA", False, t.format(30), "3.0"),
        # thread 2: customer c2 at :05, nobody answers -> open, no agent
        _tweet(4, 5, "c2", True, t.format(5)),
        # thread 3: brand B starts it at :01, c3 answers: no customer root -> excluded (2 tweets)
        _tweet(5, 6, "BrandB", False, t.format(1)),
        _tweet(6, 7, "c3", True, t.format(2), "6.0"),
        # reply to tweet 99, not in the file, and a reply to that reply -> excluded (2 tweets)
        _tweet(7, 8, "BrandA", False, t.format(40), "99.0"),
        _tweet(8, 9, "c4", True, t.format(41), "8.0"),
        # thread 4: c5 at :50, c5 again at :51 (self-reply), brand C at :55, c5 at :59 -> open
        _tweet(9, 10, "c5", True, t.format(50)),
        _tweet(10, 11, "c5", True, t.format(51), "10.0"),
        _tweet(11, 12, "BrandC", False, t.format(55), "11.0"),
        _tweet(12, 13, "c5", True, t.format(59), "12.0"),
    ]
    p = tmp_path / "tw.csv"
    p.write_text(TW_HEADER + "".join(rows))
    return p


def test_twitter_threads_by_hand(mini_twitter):
    """4 customer roots (1, 5, 10; the brand-started 6 is not one) -> 3 conversations:
    1: agent BrandA, first response 10 min, contacts 2, agent replies 2, brand last -> closed at :30;
    5: no reply -> agent missing, open; 10: first reply BrandC after 5 min, contacts 3, replies 1,
    c5 last -> open. Tweets 8, 9 chain to 99 (outside); 6, 7 form a brand-started thread."""
    tw = RD.load_twitter(mini_twitter)
    conv = S.validate(tw["conversations"], "conversations").set_index("conversation_id")
    assert sorted(conv.index) == ["1", "10", "5"]
    assert conv.loc["1", "agent_id"] == "BrandA" and pd.isna(conv.loc["5", "agent_id"])
    assert conv.loc["10", "agent_id"] == "BrandC"
    frt = (conv["first_response_at"] - conv["created_at"]).dt.total_seconds() / 60
    assert frt["1"] == 10 and frt["10"] == 5 and np.isnan(frt["5"])
    assert conv["contacts"].to_dict() == {"1": 2.0, "5": 1.0, "10": 3.0}
    assert conv["agent_replies"].to_dict() == {"1": 2.0, "5": 0.0, "10": 1.0}
    assert conv["status"].to_dict() == {"1": "closed", "5": "open", "10": "open"}
    assert conv.loc["1", "resolved_at"] == pd.Timestamp("2017-10-31 10:30", tz="UTC")
    assert conv[["resolved_at"]].loc[["5", "10"]].isna().all().all()
    assert conv.loc["10", "last_message_at"] == pd.Timestamp("2017-10-31 10:59", tz="UTC")
    for df in (tw["conversations"], tw["messages"]):
        assert _ids(df, "tweet whose thread starts outside the 5,000-tweet extract") == {"8", "9"}
        assert _ids(df, "thread started by a brand, not a customer") == {"6", "7"}
    msg = tw["messages"].set_index("message_id")
    assert len(msg) == 13 and msg["inbound"].dtype == bool
    assert msg.loc["3", "conversation_id"] == "1" and msg.loc["13", "conversation_id"] == "10"
    assert pd.isna(msg.loc["7", "conversation_id"]) and msg.loc["7", "root_id"] == "6"
    assert pd.isna(msg.loc["9", "root_id"]) and msg.loc["9", "in_response_to"] == "8"


def test_twitter_reply_loop_is_itemised(tmp_path):
    """Tweets 1 -> 2 -> 1 reply to each other: no root; itemised, not a conversation."""
    t = "Tue Oct 31 10:00:00 +0000 2017"
    p = tmp_path / "loop.csv"
    p.write_text(TW_HEADER + _tweet(0, 1, "c", True, t, "2.0") + _tweet(1, 2, "B", False, t, "1.0")
                 + _tweet(2, 3, "d", True, t))
    tw = RD.load_twitter(p)
    assert list(tw["conversations"]["conversation_id"]) == ["3"]
    assert _ids(tw["conversations"], "reply chain loops (no root)") == {"1", "2"}


CALLS_HEADER = ("call_id,agent,date,time,topic,answered (Y/N),resolved,speed_of_answer_in_seconds,"
                "AvgTalkDuration,SatisfactionRating\n")


def test_calls_by_hand(tmp_path):
    """c1 answered after 10 s, talk 00:02:30 = 150 s, resolved, rating 4; c2 answered after 30 s,
    talk 01:00:05 = 3605 s, not resolved, rating 2; c3 unanswered; c4 has date 31/02 (no such
    day) and c5 answered 'maybe': itemised on calls, in no table; c6 talk time '4 min' is
    unreadable: kept with handle_time_s missing, itemised. Service level (<= 20 s) over
    answered = 2/3 (c1, c6 within 20 s, c2 not)."""
    p = tmp_path / "calls.csv"
    p.write_text(CALLS_HEADER
                 + "c1,Ann,05/01/2021,09:00:00,Billing,Y,Y,10,00:02:30,4\n"
                 + "c2,Bob,13/02/2021,17:59:30,Billing,Y,N,30,01:00:05,2\n"
                 + "c3,Ann,13/02/2021,10:00:00,Streaming,N,N,,,\n"
                 + "c4,Bob,31/02/2021,10:00:00,Streaming,Y,Y,5,00:01:00,5\n"
                 + "c5,Bob,14/02/2021,10:00:00,Streaming,maybe,Y,5,00:01:00,5\n"
                 + "c6,Ann,14/02/2021,11:00:00,Billing,Y,Y,5,4 min,5\n")
    d = RD.load_calls(p)
    calls = d["calls"].set_index("call_id")
    assert list(calls.index) == ["c1", "c2", "c3", "c6"]
    assert calls.loc["c1", "created_at"] == pd.Timestamp("2021-01-05 09:00", tz="UTC")
    assert calls.loc["c2", "created_at"] == pd.Timestamp("2021-02-13 17:59:30", tz="UTC")
    assert calls["handle_time_s"].tolist()[:2] == [150.0, 3605.0] and np.isnan(calls.loc["c3", "handle_time_s"])
    assert calls["answered"].tolist() == [True, True, False, True]
    assert calls["resolved"].tolist() == [True, False, False, True]
    assert _ids(d["calls"], "unreadable date/time") == {"c4"}
    assert _ids(d["calls"], "answered (Y/N) is neither Y nor N") == {"c5"}
    assert _ids(d["calls"], "unreadable AvgTalkDuration (not HH:MM:SS): handle_time_s missing") == {"c6"}
    assert np.isnan(calls.loc["c6", "handle_time_s"])
    sv = d["surveys"].set_index("conversation_id")
    assert sv["score"].to_dict() == {"c1": 4.0, "c2": 2.0, "c6": 5.0} and set(sv["kind"]) == {"csat"}
    # answered at the end of the call: 09:00:00 + 10 s + 150 s = 09:02:40
    assert sv.loc["c1", "answered_at"] == pd.Timestamp("2021-01-05 09:02:40", tz="UTC")
    assert _ids(d["surveys"], "unanswered call: no satisfaction rating") == {"c3"}
    conv = d["conversations"].set_index("conversation_id")
    assert conv["status"].to_dict() == {"c1": "solved", "c2": "open", "c6": "solved"}
    assert pd.isna(conv.loc["c2", "resolved_at"])
    sl = K.service_level(d["calls"], denominator="answered", min_n=0)["service_level"].iloc[0]
    assert sl == pytest.approx(2 / 3)
    # in Zurich time (CET, UTC+1 in winter) 09:00 is 08:00 UTC
    zh = RD.load_calls(p, tz="Europe/Zurich")["calls"].set_index("call_id")
    assert zh.loc["c1", "created_at"] == pd.Timestamp("2021-01-05 08:00", tz="UTC")


OLIST_HEADER = ('"review_id","order_id","review_score","review_comment_title","review_comment_message",'
                '"review_creation_date","review_answer_timestamp"\n')


def test_olist_by_hand(tmp_path):
    """r1 twice (two orders, same answer): the second copy is itemised as r1/o2. r2 answered at
    2018-02-17 23:30 Sao Paulo time, the hour repeated when DST ended that night: answered_at
    missing, itemised. r3 at 2018-01-10 12:00 (summer time, UTC-2) -> 14:00 UTC."""
    p = tmp_path / "olist.csv"
    p.write_text(OLIST_HEADER
                 + '"r1","o1",5,,"otimo",2018-01-09 00:00:00,2018-01-10 12:00:00\n'
                 + '"r2","o3",1,"ruim","nao chegou",2018-02-17 00:00:00,2018-02-17 23:30:00\n'
                 + '"r1","o2",5,,"otimo",2018-01-09 00:00:00,2018-01-10 12:00:00\n'
                 + '"r3","o4",3,,,2018-01-09 00:00:00,2018-01-10 12:00:00\n')
    sv = RD.load_olist(p)
    assert list(sv["conversation_id"]) == ["r1", "r2", "r3"]
    assert list(sv["order_id"]) == ["o1", "o3", "o4"]
    assert "comment" not in sv.columns and "comment_title" not in sv.columns
    assert sv.loc[2, "answered_at"] == pd.Timestamp("2018-01-10 14:00", tz="UTC")
    assert pd.isna(sv.loc[1, "answered_at"])
    assert _ids(sv, "review_id repeated for a second order (same answer): later copy dropped") == {"r1/o2"}
    assert _ids(sv, "answer time in the hour repeated when DST ends (ambiguous): answered_at missing") == {"r2"}
    txt = RD.load_olist(p, keep_text=True)
    assert txt["comment"].tolist()[:2] == ["otimo", "nao chegou"]


def test_fed_by_hand(tmp_path):
    """Two items: a turn (system S, 2 categories + Overall, 2 annotators) and a dialogue without a
    system -> agent 'unknown'. 2*3 + 1*2 = 8 ratings, one free-text N/A."""
    items = [
        {"context": "x", "response": "y", "system": "S",
         "annotations": {"Fluent": [2, 1], "Correct": [0, "N/A (no errors)"], "Overall": [3, 4]}},
        {"context": "z", "annotations": {"Coherent": [1, 2]}},
    ]
    p = tmp_path / "fed.json"
    p.write_text(json.dumps(items))
    fed = RD.load_fed(p)
    assert len(fed) == 8
    assert fed["review_id"].tolist()[:2] == ["fed000:1", "fed000:2"]
    assert fed.set_index(["review_id", "category"]).loc[("fed000:2", "Correct"), "rating"] != 0  # NaN
    assert fed["rating"].isna().sum() == 1
    assert fed["rating"].sum() == 2 + 1 + 0 + 3 + 4 + 1 + 2
    assert fed["agent_id"].tolist() == ["S"] * 6 + ["unknown"] * 2
    assert fed["level"].tolist() == ["turn"] * 6 + ["dialog"] * 2
    assert set(fed["reviewer_id"]) == {"annotator1", "annotator2"}
    assert _ids(fed, "free-text answer (e.g. 'N/A (No errors)') read as N/A") == {"fed000:2/Correct"}


def test_missing_export_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(RD.SharedDataNotFoundError,
                       match=r"calls export not found at '.*nope\.csv'; pass path=\.\.\. .* or set QAKIT_SHARED_DATA"):
        RD.load_calls(tmp_path / "nope.csv")
    # an empty folder: both places looked at are named
    monkeypatch.setenv("QAKIT_SHARED_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"fed export not found at '.*fed-dialog-quality/fed_data\.json' "
                                                r"or '.*fed_data\.json'"):
        RD.load_fed()
    with pytest.raises(ParameterError, match="twitter export not found"):
        RD.load_twitter()
    assert issubclass(RD.SharedDataNotFoundError, ParameterError)
    assert RD.shared_data_dir() == tmp_path


def test_changed_header_is_a_clear_error(tmp_path):
    p = tmp_path / "calls.csv"
    p.write_text(CALLS_HEADER.replace("agent,", "agent_name,") + "c1,Ann,05/01/2021,09:00:00,B,Y,Y,10,00:02:30,4\n")
    with pytest.raises(ParameterError, match=r"calls\.csv: mapping names column\(s\) \['agent'\]"):
        RD.load_calls(p)


# --- the real exports: Twitter -------------------------------------------------------------------
@pytest.fixture(scope="module")
def tw_raw(shared_data):
    return pd.read_csv(shared_data / RD.FILES["twitter"], lineterminator="\n")


@pytest.fixture(scope="module")
def tw_roots(tw_raw):
    """Each tweet's root by walking the reply chain with a plain dict (None: leaves the file)."""
    parent = dict(zip(tw_raw["tweet_id"], tw_raw["in_response_to_tweet_id"]))

    def root_of(t):
        for _ in range(10_000):
            if t not in parent:
                return None
            if pd.isna(parent[t]):
                return t
            t = int(parent[t])
        return None

    return tw_raw.assign(root=pd.array([root_of(t) for t in tw_raw["tweet_id"]], dtype="Int64"))


@pytest.fixture(scope="module")
def twitter(shared_data):
    return RD.load_twitter(shared_data)


def test_twitter_conversations_rebuilt(tw_roots, twitter):
    """1,285 customer tweets reply to nothing -> 1,285 conversations; every tweet's conversation is
    its dict-walked root; contacts / agent replies are inbound / brand tweets per root."""
    raw = tw_roots
    cust_roots = raw[raw["inbound"] & raw["in_response_to_tweet_id"].isna()]
    conv = twitter["conversations"]
    S.validate(conv, "conversations")
    assert len(conv) == len(cust_roots) == 1285
    assert set(conv["conversation_id"]) == set(cust_roots["tweet_id"].astype(str))
    inside = raw[raw["root"].isin(set(cust_roots["tweet_id"]))]
    msg = twitter["messages"].set_index("message_id")
    assert len(msg) == len(raw) == 5000
    assert (msg.loc[inside["tweet_id"].astype(str), "conversation_id"].to_numpy()
            == inside["root"].astype(str).to_numpy()).all()
    assert msg["conversation_id"].notna().sum() == len(inside)
    c = conv.set_index("conversation_id")
    contacts = inside.groupby("root")["inbound"].sum()
    replies = (~inside["inbound"]).groupby(inside["root"]).sum()
    assert (c.loc[contacts.index.astype(str), "contacts"].to_numpy() == contacts.to_numpy()).all()
    assert (c.loc[replies.index.astype(str), "agent_replies"].to_numpy() == replies.to_numpy()).all()
    assert c["customer_id"].to_dict() == dict(zip(cust_roots["tweet_id"].astype(str), cust_roots["author_id"]))
    # "closed" = a brand tweeted last (latest created_at in the thread)
    ts = pd.to_datetime(inside["created_at"], format=TW_FMT)
    last_is_brand = ~inside.assign(ts=ts).sort_values("ts").groupby("root")["inbound"].last()
    assert (c["status"] == "closed").sum() == last_is_brand.sum()


def test_twitter_first_response_and_mess(tw_roots, twitter):
    """First brand reply per root (plain pandas): agent = its author; the top brand's median
    first-response time in minutes; 18 tweets chain outside the extract, the tweets of brand-started
    threads are itemised."""
    raw = tw_roots
    cust = set(raw.loc[raw["inbound"] & raw["in_response_to_tweet_id"].isna(), "tweet_id"])
    inside = raw[raw["root"].isin(cust)].assign(ts=lambda d: pd.to_datetime(d["created_at"], format=TW_FMT))
    first = inside[~inside["inbound"]].sort_values("ts").groupby("root").first()
    root_ts = inside.set_index("tweet_id")["ts"].reindex(first.index)
    minutes = (first["ts"] - root_ts).dt.total_seconds() / 60
    top = first["author_id"].value_counts().idxmax()
    median_top = minutes[first["author_id"] == top].median()
    conv = twitter["conversations"].set_index("conversation_id")
    assert conv.loc[first.index.astype(str), "agent_id"].tolist() == first["author_id"].tolist()
    got = (conv["first_response_at"] - conv["created_at"]).dt.total_seconds() / 60
    assert got[conv["agent_id"] == top].median() == pytest.approx(median_top)
    # the KPI (hours, durations > 90 days excluded as data errors)
    hours = minutes / 60
    per_brand = hours[hours <= 90 * 24].groupby(first["author_id"]).median()
    res = K.first_response_time(twitter["conversations"], by="agent_id", min_n=0).set_index("agent_id")
    for brand in (top, "AppleSupport", "AmazonHelp"):
        assert res.loc[brand, "first_response_time"] == pytest.approx(per_brand[brand])
    assert res["n"].idxmax() == top
    ipi = K.interactions_per_issue(twitter["conversations"], min_n=0)["interactions_per_issue"].iloc[0]
    assert ipi == pytest.approx(inside.groupby("root")["inbound"].sum().mean())
    # mess: chains leaving the file, threads started by a brand
    assert _ids(twitter["conversations"], "tweet whose thread starts outside the 5,000-tweet extract") == set(
        raw.loc[raw["root"].isna(), "tweet_id"].astype(str))
    assert raw["root"].isna().sum() == 18
    brand_roots = set(raw.loc[~raw["inbound"] & raw["in_response_to_tweet_id"].isna(), "tweet_id"])
    assert len(brand_roots) == 21
    brand_thread = raw.loc[raw["root"].isin(brand_roots), "tweet_id"].astype(str)
    assert _ids(twitter["conversations"], "thread started by a brand, not a customer") == set(brand_thread)
    assert len(inside) + raw["root"].isna().sum() + len(brand_thread) == 5000


# --- the real exports: call centre ----------------------------------------------------------------
@pytest.fixture(scope="module")
def calls_raw(shared_data):
    return pd.read_csv(shared_data / RD.FILES["calls"])


@pytest.fixture(scope="module")
def calls(shared_data):
    return RD.load_calls(shared_data / "call-centre")


def test_calls_tables(calls_raw, calls):
    """Mapping checked against the raw CSV: 5,000 calls, 946 unanswered, Jan-Mar 2021 by the
    DD/MM/YYYY date, talk time from HH:MM:SS; share of answered calls answered within 20 s and the
    mean satisfaction per agent from plain pandas."""
    raw = calls_raw
    for t in ("calls", "surveys", "conversations"):
        S.validate(calls[t], t)
    c = calls["calls"]
    assert len(c) == len(raw) == 5000
    answered = raw["answered (Y/N)"].eq("Y")
    assert (~answered).sum() == 946 and int((~c["answered"]).sum()) == 946
    months = raw["date"].str[3:5].value_counts().sort_index()
    assert c["created_at"].dt.month.value_counts().sort_index().to_numpy().tolist() == months.tolist()
    # earliest call by sorting "YYYYMMDD HH:MM:SS" text built from the DD/MM/YYYY date
    key = raw["date"].str[6:] + raw["date"].str[3:5] + raw["date"].str[:2] + " " + raw["time"]
    assert c["created_at"].min() == pd.Timestamp(key.min(), tz="UTC")
    assert c["created_at"].max() == pd.Timestamp(key.max(), tz="UTC")
    talk = raw["AvgTalkDuration"].str.split(":", expand=True).astype(float) @ np.array([3600, 60, 1])
    assert np.allclose(c["handle_time_s"], talk, equal_nan=True)
    within = (raw.loc[answered, "speed_of_answer_in_seconds"] <= 20).mean()
    ans = c[c["answered"].astype(bool)]
    assert (ans["speed_of_answer_s"] <= 20).mean() == pytest.approx(within)
    sv = calls["surveys"]
    assert len(sv) == raw["SatisfactionRating"].notna().sum() == 4054
    mean_sat = raw.groupby("agent")["SatisfactionRating"].mean()
    got = sv.groupby("agent_id")["score"].mean()
    assert got.sort_index().to_numpy() == pytest.approx(mean_sat.sort_index().to_numpy())
    assert (sv["answered_at"] > c.set_index("call_id").loc[sv["conversation_id"], "created_at"].to_numpy()).all()
    assert _reasons(sv)["unanswered call: no satisfaction rating"] == 946
    assert len(calls["conversations"]) == answered.sum()


def test_calls_kpis(calls_raw, calls):
    """Service level (answered / offered within 20 s), abandonment, FCR (resolved / answered: one
    contact per call), AHT per agent (mean talk minutes) and CSAT per agent from the raw CSV."""
    raw = calls_raw
    answered = raw["answered (Y/N)"].eq("Y")
    fast = answered & (raw["speed_of_answer_in_seconds"] <= 20)
    assert K.service_level(calls["calls"], min_n=0)["service_level"].iloc[0] == pytest.approx(fast.mean())
    sla = K.service_level(calls["calls"], threshold_s=20, denominator="answered", min_n=0)["service_level"].iloc[0]
    assert sla == pytest.approx(fast.sum() / answered.sum())
    ab = K.abandonment_rate(calls["calls"], min_n=0)["abandonment_rate"].iloc[0]
    assert ab == pytest.approx(1 - answered.mean())
    fcr = raw.loc[answered, "resolved"].eq("Y").mean()
    assert K.resolution_rate(calls["conversations"], min_n=0)["resolution_rate"].iloc[0] == pytest.approx(fcr)
    # fcr_rate (contacts rule): every resolved call is one contact -> 1.0 over the resolved ones
    fr = K.fcr_rate(calls["conversations"], rule="contacts", min_n=0).iloc[0]
    assert fr["fcr_rate"] == 1.0 and fr["n"] == (answered & raw["resolved"].eq("Y")).sum()
    talk = raw["AvgTalkDuration"].str.split(":", expand=True).astype(float) @ np.array([3600, 60, 1])
    aht = (talk / 60).groupby(raw["agent"]).mean()
    res = K.handle_time(calls["conversations"], by="agent_id", min_n=0).set_index("agent_id")["handle_time"]
    assert res.sort_index().to_numpy() == pytest.approx(aht.sort_index().to_numpy())
    sat = raw.groupby("agent")["SatisfactionRating"].agg(lambda s: 100 * s.isin([4, 5]).sum() / s.notna().sum())
    cs = K.csat_score(calls["surveys"], by="agent_id", min_n=0).set_index("agent_id")
    assert cs["csat"].sort_index().to_numpy() == pytest.approx(sat.sort_index().to_numpy())
    assert cs["csat_mean"].sort_index().to_numpy() == pytest.approx(
        raw.groupby("agent")["SatisfactionRating"].mean().sort_index().to_numpy())


# --- the real exports: Olist ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def olist_raw(shared_data):
    return pd.read_csv(shared_data / RD.FILES["olist"])


@pytest.fixture(scope="module")
def olist(shared_data):
    return RD.load_olist()  # default path (the shared folder, or $QAKIT_SHARED_DATA)


def _ambiguous_in_sao_paulo(text: str) -> bool:
    """A wall-clock time that happens twice in Sao Paulo (the hour repeated when DST ends)."""
    t = datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("America/Sao_Paulo"))
    return t.utcoffset() != t.replace(fold=1).utcoffset()


def test_olist_surveys(olist_raw, olist):
    """6,123 rows, 2 repeated review_ids (their later rows itemised) -> 6,121 answers; mean score
    per month of the answer (Sao Paulo wall clock) equals plain pandas on the raw text; answer
    times falling in a repeated DST hour (found with zoneinfo) are the itemised ambiguous ones."""
    raw = olist_raw
    S.validate(olist, "surveys")
    assert len(raw) == 6123 and raw["review_id"].duplicated().sum() == 2
    first = raw.drop_duplicates("review_id")
    assert len(olist) == len(first) == 6121
    dup = raw[raw["review_id"].duplicated()]
    assert _ids(olist, "review_id repeated for a second order (same answer): later copy dropped") == set(
        dup["review_id"] + "/" + dup["order_id"])
    amb = first["review_answer_timestamp"].map(_ambiguous_in_sao_paulo)
    reason = "answer time in the hour repeated when DST ends (ambiguous): answered_at missing"
    assert _ids(olist, reason) == set(first.loc[amb, "review_id"])
    assert olist["answered_at"].isna().sum() == amb.sum() == 1
    plain = first[~amb].groupby(first["review_answer_timestamp"].str[:7])["review_score"].agg(["mean", "size"])
    local = olist["answered_at"].dt.tz_convert("America/Sao_Paulo").dt.strftime("%Y-%m")
    got = olist.groupby(local)["score"].agg(["mean", "size"])
    pd.testing.assert_frame_equal(got.rename_axis(None), plain.rename_axis(None), check_dtype=False)
    assert olist["score"].mean() == pytest.approx(first["review_score"].mean())
    assert "comment" not in olist.columns
    assert set(olist["order_id"]) == set(first["order_id"])


def test_olist_kpis(olist_raw, olist):
    """csat_score overall equals plain pandas on the raw scores (duplicates dropped); by month of
    answered_at (UTC) it equals a groupby on the loaded table."""
    first = olist_raw.drop_duplicates("review_id")
    res = K.csat_score(olist, min_n=0).iloc[0]
    assert res["n"] == 6121
    assert res["csat"] == pytest.approx(100 * first["review_score"].isin([4, 5]).mean())
    assert res["csat_mean"] == pytest.approx(first["review_score"].mean())
    by_m = K.csat_score(olist, period="M", min_n=0)
    month = olist["answered_at"].dt.strftime("%Y-%m")
    plain = olist.groupby(month)["score"].mean()
    got = by_m.set_index(by_m["period"].dt.strftime("%Y-%m"))["csat_mean"]
    assert got.sort_index().to_numpy() == pytest.approx(plain.sort_index().to_numpy())
    assert by_m["n"].sum() == olist["answered_at"].notna().sum() == 6120


# --- the real exports: FED ----------------------------------------------------------------------------
def test_fed_ratings(shared_data):
    """Every annotation becomes a rating; free-text answers ("N/A (...)") become N/A and are
    counted; Overall mean per system — numbers from json directly."""
    items = json.loads((shared_data / RD.FILES["fed"]).read_text())
    values = [v for it in items for vs in it["annotations"].values() for v in vs]
    n_text = sum(not isinstance(v, (int, float)) for v in values)
    fed = RD.load_fed(shared_data / RD.FILES["fed"])
    S.validate(fed, "ratings")
    assert len(fed) == len(values) == 23750
    assert fed["rating"].isna().sum() == n_text == 167
    assert _reasons(fed)["free-text answer (e.g. 'N/A (No errors)') read as N/A"] == n_text
    assert fed["rating"].sum() == pytest.approx(sum(v for v in values if isinstance(v, (int, float))))
    assert set(fed["agent_id"]) == {it["system"] for it in items} == {"Meena", "Mitsuku", "Human"}
    assert fed["conversation_id"].nunique() == len(items) == 500
    overall = {}
    for it in items:
        overall.setdefault(it["system"], []).extend(it["annotations"]["Overall"])
    got = fed[fed["category"] == "Overall"].groupby("agent_id")["rating"].mean()
    assert got.to_dict() == pytest.approx({k: np.mean(v) for k, v in overall.items()})
    assert (fed["category"] == "Overall").sum() == 5 * 500
    n_turn = sum("response" in it for it in items)
    assert (fed.drop_duplicates("conversation_id")["level"] == "turn").sum() == n_turn == 375
    # review ids: one review per item x annotator, each rating every category of its item once
    assert fed["review_id"].nunique() == 5 * 500
