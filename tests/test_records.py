"""The record a result carries: it travels with derived frames at O(1) cost (the same immutable
object, never a copy of its id lists), survives Parquet and pickle, and a merge with a plain frame
drops it loudly (``exclusions`` raises) rather than reading as "nothing excluded".

The cost itself is timed in ``benchmarks/run.py`` (section "records"), not here: these tests pin
the property that makes it O(1) -- a derived frame holds the *same* record object.
"""

from __future__ import annotations

import copy
import io
import pickle

import numpy as np
import pandas as pd
import pytest

import qakit
from qakit import records as R
from qakit.errors import ParameterError

N_IDS = 600_000


@pytest.fixture(scope="module")
def result() -> pd.DataFrame:
    """A 2-row result whose record lists 600k excluded ids (the issue's resolution_time case)."""
    df = pd.DataFrame({"channel": ["chat", "email"], "n": [10, 12], "resolution_time": [1.5, 20.25]})
    R.add_exclusion(df, "open conversation", "resolved_at", [f"c{i}" for i in range(N_IDS)])
    R.add_adjustment(df, "agent_id whitespace removed", "agent_id", ["c1", "c2"])
    return R.stamp(df, "resolution_time")


@pytest.mark.parametrize("derive", [
    lambda d: d.head(), lambda d: d.round(2), lambda d: d.copy(), lambda d: d.copy(deep=True),
    lambda d: d.query("n > 10"), lambda d: d[["channel", "n"]], lambda d: d.sort_values("n"),
    lambda d: d.assign(x=1), lambda d: d.reset_index(drop=True), lambda d: d.iloc[:1],
], ids=["head", "round", "copy", "deepcopy", "query", "select", "sort", "assign", "reset_index", "iloc"])
def test_derived_frames_share_the_record_object(result, derive):
    out = derive(result)
    assert out.attrs[R.RECORD_KEY] is result.attrs[R.RECORD_KEY]  # O(1): no copy of 600k ids
    ex = qakit.exclusions(out)
    assert ex["n"].tolist() == [N_IDS] and ex["source"].tolist() == ["resolution_time"]


def test_deepcopy_of_a_record_is_itself_and_it_cannot_be_changed(result):
    rec = result.attrs[R.RECORD_KEY]
    assert copy.deepcopy(rec) is rec and copy.copy(rec) is rec
    with pytest.raises(TypeError, match="immutable"):
        rec["excluded"] = ()
    with pytest.raises(TypeError, match="immutable"):
        rec.update({})


def test_adding_to_a_derived_frame_leaves_the_original_alone(result):
    d = result.head()
    R.add_exclusion(d, "another reason", "x", ["z1"])
    assert len(qakit.exclusions(d)) == 2
    assert len(qakit.exclusions(result)) == 1


def test_parquet_round_trip_keeps_the_record(result):
    buf = io.BytesIO()
    result.to_parquet(buf)
    buf.seek(0)
    back = pd.read_parquet(buf)
    ex = qakit.exclusions(back)
    assert ex["n"].tolist() == [N_IDS]
    assert isinstance(ex["row_ids"].iloc[0], tuple) and ex["row_ids"].iloc[0][:2] == ("c0", "c1")
    assert qakit.schema.adjustments(back)["row_ids"].iloc[0] == ("c1", "c2")
    assert R.producer(back) == "resolution_time"
    assert isinstance(back.attrs[R.RECORD_KEY], R.Record)  # immutable again after the first read


def test_pickle_round_trip_keeps_the_record(result):
    back = pickle.loads(pickle.dumps(result))
    assert isinstance(back.attrs[R.RECORD_KEY], R.Record)
    assert qakit.exclusions(back)["n"].tolist() == [N_IDS]
    assert back.attrs[R.RECORD_KEY] == result.attrs[R.RECORD_KEY]


def test_merge_with_a_plain_frame_raises_instead_of_reading_as_nothing_excluded(result):
    plain = pd.DataFrame({"channel": ["chat"], "target": [2.0]})
    for merged in (result.merge(plain, on="channel"), plain.merge(result, on="channel"),
                   pd.concat([result, plain])):
        with pytest.raises(ParameterError, match="carries no qakit record"):
            qakit.exclusions(merged)
        back = R.carry_records(merged, result)
        assert qakit.exclusions(back)["n"].tolist() == [N_IDS]


def test_concat_of_two_frames_with_one_record_keeps_it(result):
    both = pd.concat([result.head(1), result.tail(1)])
    assert both.attrs[R.RECORD_KEY] is result.attrs[R.RECORD_KEY]


def test_carry_records_keeps_each_exclusion_once():
    a = R.stamp(R.add_exclusion(pd.DataFrame({"n": [1]}), "no score", "score", ["s1", "s2"]), "csat_score")
    b = R.stamp(R.add_exclusion(pd.DataFrame({"n": [1]}), "no score", "score", ["s1", "s2"]), "csat_score")
    c = R.stamp(R.add_exclusion(pd.DataFrame({"n": [1]}), "open", "resolved_at", ["x"]), "fcr_rate")
    out = R.carry_records(pd.DataFrame({"n": [2]}), a, b, c)
    ex = qakit.exclusions(out)
    assert ex["reason"].tolist() == ["no score", "open"] and ex["n"].tolist() == [2, 1]
    assert ex["source"].tolist() == ["csat_score", "fcr_rate"]


def test_ids_are_text_and_missing_ids_are_named():
    df = R.add_exclusion(pd.DataFrame({"n": [1]}), "r", "c", pd.Series([1, None, 3.5], dtype=object))
    assert qakit.exclusions(R.stamp(df, "f"))["row_ids"].iloc[0] == ("1", "<missing>", "3.5")
    # numpy arrays and empty id lists: an empty list adds nothing
    R.add_exclusion(df, "none", "c", np.array([], dtype=object))
    assert len(qakit.exclusions(df)) == 1


def test_a_real_result_carries_an_immutable_record():
    conv = pd.DataFrame({"conversation_id": ["a", "b"], "customer_id": ["u1", "u2"], "agent_id": "a1",
                         "channel": "chat", "priority": "normal", "status": ["solved", "open"],
                         "created_at": ["2026-01-01 00:00Z"] * 2, "first_response_at": "2026-01-01 00:10Z",
                         "resolved_at": ["2026-01-01 02:00Z", None]})
    res = qakit.resolution_time(conv, min_n=0)
    assert isinstance(res.attrs[R.RECORD_KEY], R.Record)
    assert qakit.exclusions(res.round(2))["row_ids"].tolist() == [("b",)]
