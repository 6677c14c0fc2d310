"""KPIs on real public exports (../shared/data): each expected number is computed here with a few
lines of plain pandas/json on the raw file, independently of qakit's loaders and KPI code.

These tests use the `shared_data` fixture: they fail (not skip) under CI=true when the folder is
missing. They are not the only tests of these KPIs (see test_kpis.py).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from qakit import exclusions
from qakit import kpis as K
from qakit import realdata as RD
from qakit import schema as S
from qakit.errors import ParameterError

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def tw_raw(shared_data):
    return pd.read_csv(shared_data / RD.FILES["twitter"], lineterminator="\n")


@pytest.fixture(scope="module")
def twitter(shared_data):
    return RD.load_twitter(shared_data / RD.FILES["twitter"])


def test_twitter_conversations_rebuilt_from_reply_chains(tw_raw, twitter):
    """A conversation per customer tweet that replies to nothing; each later tweet walks its
    reply chain (plain dict walk here) to its root."""
    raw = tw_raw
    roots = raw[raw["inbound"] & raw["in_response_to_tweet_id"].isna()]
    conv = twitter["conversations"]
    assert len(conv) == len(roots) == 1285
    assert set(conv["conversation_id"]) == set(roots["tweet_id"].astype(str))
    parent = dict(zip(raw["tweet_id"], raw["in_response_to_tweet_id"]))

    def root_of(t):
        seen = 0
        while t in parent and not pd.isna(parent[t]) and seen < 10_000:
            t, seen = int(parent[t]), seen + 1
        return t if t in parent else None

    raw = raw.assign(root=[root_of(t) for t in raw["tweet_id"]])
    inside = raw[raw["root"].isin(set(roots["tweet_id"]))]
    # interactions: customer tweets per conversation
    contacts = inside[inside["inbound"]].groupby("root").size()
    assert K.interactions_per_issue(conv, min_n=0)["interactions_per_issue"].iloc[0] == pytest.approx(contacts.mean())
    # first response per brand: earliest brand tweet in the thread minus the root's time
    ts = pd.to_datetime(inside["created_at"], format="%a %b %d %H:%M:%S %z %Y")
    inside = inside.assign(ts=ts)
    first = inside[~inside["inbound"]].sort_values("ts").groupby("root").first()
    root_ts = pd.to_datetime(roots.set_index("tweet_id")["created_at"], format="%a %b %d %H:%M:%S %z %Y")
    hours = (first["ts"] - root_ts.reindex(first.index)).dt.total_seconds() / 3600
    per_brand = hours[hours <= 90 * 24].groupby(first["author_id"]).median()
    res = K.first_response_time(conv, by="agent_id", min_n=0).set_index("agent_id")
    for brand in ("AmazonHelp", "AppleSupport", "ChipotleTweets"):
        assert res.loc[brand, "first_response_time"] == pytest.approx(per_brand[brand])
    top = res["n"].idxmax()
    assert top == first["author_id"].value_counts().idxmax()


def test_twitter_mess_is_itemised(twitter, tw_raw):
    ex = exclusions(twitter["conversations"]).set_index("reason")["n"]
    assert ex["tweet whose thread starts outside the 5,000-tweet extract"] == 18
    brand_roots = tw_raw[~tw_raw["inbound"] & tw_raw["in_response_to_tweet_id"].isna()]
    assert len(brand_roots) > 0 and ex["thread started by a brand, not a customer"] >= len(brand_roots)
    S.validate(twitter["conversations"], "conversations")


@pytest.fixture(scope="module")
def calls_raw(shared_data):
    return pd.read_csv(shared_data / RD.FILES["calls"])


@pytest.fixture(scope="module")
def calls(shared_data):
    return RD.load_calls(shared_data / RD.FILES["calls"])


def test_call_centre_service_level_fcr_aht_csat(calls_raw, calls):
    """Service level (answered within 20 s / offered), FCR (resolved / answered: one contact per
    call), AHT per agent (mean talk time, minutes) and CSAT per agent, all from the raw CSV."""
    raw = calls_raw
    for t in ("calls", "surveys", "conversations"):
        S.validate(calls[t], t if t != "conversations" else "conversations")
    answered = raw["answered (Y/N)"].eq("Y")
    sl = (answered & (raw["speed_of_answer_in_seconds"] <= 20)).mean()
    assert K.service_level(calls["calls"], min_n=0)["service_level"].iloc[0] == pytest.approx(sl)
    assert K.abandonment_rate(calls["calls"], min_n=0)["abandonment_rate"].iloc[0] == pytest.approx(1 - answered.mean())
    fcr = raw.loc[answered, "resolved"].eq("Y").mean()
    assert K.resolution_rate(calls["conversations"], min_n=0)["resolution_rate"].iloc[0] == pytest.approx(fcr)
    talk = raw["AvgTalkDuration"].str.split(":", expand=True).astype(float) @ np.array([3600, 60, 1])
    aht = (talk / 60).groupby(raw["agent"]).mean()
    res = K.handle_time(calls["conversations"], by="agent_id", min_n=0).set_index("agent_id")["handle_time"]
    assert res.sort_index().to_numpy() == pytest.approx(aht.sort_index().to_numpy())
    sat = raw.groupby("agent")["SatisfactionRating"].agg(lambda s: 100 * s.isin([4, 5]).sum() / s.notna().sum())
    cs = K.csat_score(calls["surveys"], by="agent_id", min_n=0).set_index("agent_id")
    assert cs["csat"].sort_index().to_numpy() == pytest.approx(sat.sort_index().to_numpy())
    assert cs["csat_mean"].sort_index().to_numpy() == pytest.approx(
        raw.groupby("agent")["SatisfactionRating"].mean().sort_index().to_numpy())
    assert exclusions(calls["surveys"])["n"].iloc[0] == (~answered).sum() == 946


def test_olist_csat_by_month(shared_data):
    """Mean review score per month of the customer's answer (Sao Paulo time), after dropping the
    duplicate review_id rows, equals csat_mean by period."""
    raw = pd.read_csv(shared_data / RD.FILES["olist"])
    raw = raw.drop_duplicates("review_id")
    month = pd.to_datetime(raw["review_answer_timestamp"]).dt.to_period("M")
    plain = raw.groupby(month)["review_score"].agg(["mean", "size"])
    sv = RD.load_olist(shared_data / RD.FILES["olist"])
    S.validate(sv, "surveys")
    res = K.csat_score(sv, period="M", min_n=0)
    res = res.assign(m=res["period"].dt.to_period("M")).set_index("m")
    big = plain[plain["size"] >= 100].index  # months far from a DST edge in both clocks
    assert res.loc[big, "csat_mean"].to_numpy() == pytest.approx(plain.loc[big, "mean"].to_numpy(), abs=0.02)
    assert res["n"].sum() + exclusions(res)["n"].sum() == len(raw)
    dups = exclusions(sv).set_index("reason").loc["duplicate review_id: later copy dropped", "n"]
    assert dups == 2
    assert "comment" not in sv.columns


def test_fed_ratings(shared_data):
    """Every numeric annotation becomes a rating; free-text answers ("N/A (...)") become N/A
    and are counted — numbers from json directly."""
    items = json.loads((shared_data / RD.FILES["fed"]).read_text())
    values = [v for it in items for vs in it["annotations"].values() for v in vs]
    n_text = sum(not isinstance(v, (int, float)) for v in values)
    fed = RD.load_fed(shared_data / RD.FILES["fed"])
    S.validate(fed, "ratings")
    assert len(fed) == len(values) == 23750
    assert fed["rating"].isna().sum() == n_text == 167
    assert exclusions(fed)["n"].iloc[0] == n_text
    assert fed["rating"].sum() == pytest.approx(sum(v for v in values if isinstance(v, (int, float))))
    assert set(fed["agent_id"]) == {"Meena", "Mitsuku", "Human"}


def test_missing_export_is_a_clear_error(tmp_path):
    with pytest.raises(ParameterError, match=r"calls export not found at '.*nope.csv'; pass path=... or set QAKIT_SHARED_DATA"):
        RD.load_calls(tmp_path / "nope.csv")
