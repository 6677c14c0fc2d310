"""The contract on Polars frames whose ids are categorical (task k29): ids judged from their bytes
(blank, whitespace at an end, Unicode form), a categorical id column of repeated ids (customers)
kept categorical and judged on the ids its rows use, uniqueness on the codes, FCR's next
conversation found by sorting row numbers. Every expectation is worked out by hand in the test's
docstring, or is the same data as a pandas frame through the pandas engine (an independent
implementation: qakit.schema.validate and numpy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import qakit
from qakit.errors import DataValidationError

pl = pytest.importorskip("polars")

T0 = pd.Timestamp("2026-01-01", tz="UTC")


@pytest.fixture(params=["text", "codes"], autouse=True)
def path(request, monkeypatch):
    """Both ways a categorical id column is judged: every row's text (a column of mostly distinct
    ids), or the distinct ids its rows use, the column kept categorical (repeated ids)."""
    from qakit.metrics import _contract as C

    monkeypatch.setattr(C, "_REPEATED_IDS", 1.0 if request.param == "codes" else 0.0)
    return request.param


def _records(res):
    ex = qakit.schema.exclusions(res)
    return {r: sorted(ids) for r, ids in zip(ex["reason"], ex["row_ids"])}


def _adjusted(res):
    adj = qakit.records.adjustments(res)
    return {r: sorted(ids) for r, ids in zip(adj["reason"], adj["row_ids"])}


def _failures(fn, data) -> pd.DataFrame:
    with pytest.raises(DataValidationError) as e:
        fn(data)
    return e.value.failures


def _conversations(customers: list) -> pd.DataFrame:
    """Nine conversations (hours after 2026-01-01): c1 u1 at 0 h, c2 at 48 h, c3 at 0 h, c4 at
    24 h, c5 at 96 h, c6 at 24 h, c7 at 19 d (the data's last, resolved an hour later), c8 and c9
    at 120 h (the same instant); every one resolved an hour after it opened."""
    created = [T0 + pd.Timedelta(hours=h) for h in (0, 48, 0, 24, 96, 24, 19 * 24, 120, 120)]
    return pd.DataFrame({
        "conversation_id": [f"c{i}" for i in range(1, 10)],
        "customer_id": customers,
        "channel": ["chat", "chat", "mail", "mail", "mail", "chat", "chat", "mail", "mail"],
        "created_at": created,
        "resolved_at": [c + pd.Timedelta(hours=1) for c in created],
        "status": ["solved"] * 9})


#: c2 is u1 written with a trailing space, c5 is c4's customer in NFC (c4's in NFD)
CUSTOMERS = ["u1", "u1 ", "u2", "Jose\u0301", "Jos\u00e9", "u5", "u3", "u4", "u4"]


def _as_polars(df: pd.DataFrame, column: str, dtype) -> "pl.DataFrame":
    out = pl.from_pandas(df)
    values = [None if pd.isna(v) else v for v in df[column]]
    return out.with_columns(pl.Series(column, values, dtype=dtype))


@pytest.mark.parametrize("dtype", ["categorical", "enum", "named"])
def test_fcr_on_categorical_customers_by_hand(dtype):
    """FCR (repeat rule, 7 days; as_of the data's last timestamp, 19 d 1 h). Customers: 'u1 ' is
    'u1' and NFD 'Jose\\u0301' is NFC 'Jos\\u00e9' once normalised. c1 (u1) is followed by c2 two
    days later: a repeat; c4 by c5 three days later: a repeat; c8 and c9 open at the same instant
    for u4, ordered by their ids: c8's next is c9 (0 days), a repeat. c7 opened within the last
    7 days before as_of: not judged. c6 is u5's only conversation: first contact.
    Judged 8 (all but c7); first-contact 5 (c2, c3, c5, c6, c9): 5 / 8 = 0.625; by channel,
    chat c1 c2 c6 -> 2 / 3, mail c3 c4 c5 c8 c9 -> 3 / 5. The two normalised ids are recorded
    (rows c2 and c4). The same on the pandas engine."""
    pdf = _conversations(CUSTOMERS)
    kinds = {"categorical": pl.Categorical, "enum": pl.Enum(sorted({c for c in CUSTOMERS if c} | {" ", "zz "})),
             "named": pl.Categorical(pl.Categories("k29_customers"))}
    data = _as_polars(pdf, "customer_id", kinds[dtype])
    for d in (data, pdf):
        got = qakit.fcr_rate(d, min_n=0)
        assert got["n"].tolist() == [8] and got["fcr_rate"].tolist() == [0.625]
        by = qakit.fcr_rate(d, by="channel", min_n=0)
        assert by["channel"].astype(str).tolist() == ["chat", "mail"]
        assert by["n"].tolist() == [3, 5]
        assert by["fcr_rate"].tolist() == pytest.approx([2 / 3, 3 / 5], abs=1e-15)
        adj = _adjusted(got)
        assert list(adj.values()) == [["c2", "c4"]], adj
        assert list(adj)[0].startswith("customer_id: 2 values normalised")
        assert any(r.startswith("not judged") and ids == ["c7"] for r, ids in _records(got).items())


def test_fcr_customers_clean_stay_categorical_and_agree_with_pandas():
    """Clean customer ids (every one ASCII, no whitespace) repeated over many rows: the Polars
    engine keeps them categorical and sorts by their codes; FCR per channel equals the pandas
    engine's, the row ids of the unjudged conversations too. 3,000 conversations of 400 customers
    at random hours of 60 days (seeded), ties included (whole hours)."""
    rng = np.random.default_rng(29)
    n = 3000
    created = T0 + pd.to_timedelta(rng.integers(0, 60 * 24, n), unit="h")
    pdf = pd.DataFrame({
        "conversation_id": pd.Categorical([f"c{i:05d}" for i in rng.permutation(n)]),
        "customer_id": pd.Categorical([f"u{i:03d}" for i in rng.integers(0, 400, n)]),
        "channel": pd.Categorical(rng.choice(["chat", "mail", "phone"], n)),
        "created_at": created,
        "resolved_at": created + pd.Timedelta(hours=2),
        "status": pd.Categorical(["solved"] * n)})
    a = qakit.fcr_rate(pdf, by="channel", min_n=0)
    b = qakit.fcr_rate(pl.from_pandas(pdf), by="channel", min_n=0)
    assert b["channel"].astype(str).tolist() == a["channel"].astype(str).tolist()
    assert b["n"].tolist() == a["n"].tolist()
    assert b["fcr_rate"].tolist() == a["fcr_rate"].tolist()
    assert _records(b) == _records(a)


@pytest.mark.parametrize("used", [True, False])
def test_blank_and_padded_customer_categories(used):
    """A customer id that is whitespace only ('\u00a0', a no-break space) is a missing customer,
    and FCR's repeat rule needs every customer: used by c2, refused naming row c2 (1 row), as on
    the pandas engine. Unused (c2 is 'u1' as written): the blank and padded categories
    ('\u00a0', 'u9 ') belong to no row and change nothing: judged 8, first contact c2 c3 c5 c6 c9
    = 5 -> 0.625, one normalised id (row c4)."""
    cust = list(CUSTOMERS)
    cust[1] = "\u00a0" if used else "u1"
    pdf = _conversations(cust)
    cats = sorted({c for c in cust if c} | {"\u00a0", "u9 "})
    data = _as_polars(pdf, "customer_id", pl.Enum(cats))
    if used:
        fa = _failures(qakit.fcr_rate, pdf)
        fb = _failures(qakit.fcr_rate, data)
        assert fb[["column", "check", "n_failed", "row_ids"]].values.tolist() == \
            [["customer_id", "empty value in a required column", 1, ["c2"]]]
        assert fb[["column", "check", "n_failed", "row_ids"]].values.tolist() == \
            fa[["column", "check", "n_failed", "row_ids"]].values.tolist()
        return
    for d in (data, pdf):
        got = qakit.fcr_rate(d, min_n=0)
        assert got["n"].tolist() == [8] and got["fcr_rate"].tolist() == [0.625]
        assert list(_adjusted(got).values()) == [["c4"]]


def test_customer_ids_differing_by_case_are_two_customers():
    """Customer ids are compared as written after whitespace and Unicode form (case is checked for
    people's ids only: agents, reviewers): 'U1' (c2) is not u1, so c1 has no repeat: first
    contact c1 c2 c3 c5 c6 c9 = 6 of 8 judged -> 0.75, one normalised id (row c4); the same on
    the pandas engine."""
    cust = list(CUSTOMERS)
    cust[1] = "U1"
    pdf = _conversations(cust)
    data = _as_polars(pdf, "customer_id", pl.Categorical)
    for d in (data, pdf):
        got = qakit.fcr_rate(d, min_n=0)
        assert got["n"].tolist() == [8] and got["fcr_rate"].tolist() == [0.75]
        assert list(_adjusted(got).values()) == [["c4"]]


def _surveys(ids: list, dtype) -> tuple[pd.DataFrame, "pl.DataFrame"]:
    pdf = pd.DataFrame({"conversation_id": ids, "kind": ["csat", "nps", "csat", "nps", "csat"],
                        "score": [5.0, 9, 2, 3, 4]})
    return pdf, _as_polars(pdf, "conversation_id", dtype)


@pytest.mark.parametrize("dtype", ["categorical", "enum"])
def test_survey_ids_repeated_padded_and_duplicated(dtype):
    """Survey ids repeat (a csat and an nps answer per conversation): the id column stays
    categorical. 'c2 ' is 'c2': CSAT over c1 5, c2 2, c3 4 -> 2 of 3 satisfied = 66.67 %, one
    normalised id (row 'c2 '). Then c3's csat written 'c1\\u2003' (an em space): (c1, csat)
    twice, refused naming both rows, as on the pandas engine."""
    ids = ["c1", "c1", "c2 ", "c2", "c3"]
    enum = pl.Enum(["c1", "c2", "c2 ", "c3", "c1\u2003", "zz"])
    pdf, data = _surveys(ids, pl.Categorical if dtype == "categorical" else enum)
    for d in (data, pdf):
        got = qakit.csat_score(d, min_n=0)
        assert got["n"].tolist() == [3] and got["csat"].tolist() == pytest.approx([200 / 3], abs=1e-12)
        assert list(_adjusted(got).values()) == [["c2 "]]
    ids[4] = "c1\u2003"
    pdf, data = _surveys(ids, pl.Categorical if dtype == "categorical" else enum)
    fa = _failures(qakit.csat_score, pdf)
    fb = _failures(qakit.csat_score, data)
    dup = fb[fb["check"].str.startswith("duplicate key")].iloc[0]
    assert dup["n_failed"] == 2 and dup["failing_values"] == ["c1 / csat"]
    assert fb[["column", "check", "n_failed", "failing_values"]].values.tolist() == \
        fa[["column", "check", "n_failed", "failing_values"]].values.tolist()
    assert fb["row_ids"].tolist() == fa["row_ids"].tolist()


def test_duplicated_categorical_key_and_null_ids():
    """A categorical key holding c2 twice and one null id: two problems, in pandas' order: the
    empty value (1 row) and the duplicate key (rows c2, c2), the same as on the pandas engine."""
    pdf = _conversations(["u1"] * 9)
    ids = pdf["conversation_id"].tolist()
    ids[2], ids[4] = "c2", None
    pdf["conversation_id"] = ids
    data = _as_polars(pdf, "conversation_id", pl.Categorical)
    fa = _failures(lambda d: qakit.backlog(d, period="W"), pdf)
    fb = _failures(lambda d: qakit.backlog(d, period="W"), data)
    assert fb["check"].tolist() == ["empty value in a required column", "duplicate key (conversation_id)"]
    assert fb[["check", "n_failed", "failing_values", "row_ids"]].values.tolist() == \
        fa[["check", "n_failed", "failing_values", "row_ids"]].values.tolist()
    assert fb["n_failed"].tolist() == [1, 2]


def test_surveys_and_conversations_from_different_categories():
    """Survey ids in a Categorical of their own categories ('k29_other'), the conversations' in the
    global one (different codes for the same text): joined by text. CSAT by priority: high c1 5
    and c3 4 -> 2 of 2 = 100 %; low c2 2 -> 0 of 1 = 0 %."""
    pdf = pd.DataFrame({"conversation_id": ["c1", "c1", "c2", "c2", "c3"],
                        "kind": ["csat", "nps", "csat", "nps", "csat"], "score": [5.0, 9, 2, 3, 4]})
    sv = _as_polars(pdf, "conversation_id", pl.Categorical(pl.Categories("k29_other")))
    cv = pd.DataFrame({"conversation_id": ["c3", "c2", "c1"], "priority": ["high", "low", "high"],
                       "created_at": [T0] * 3})
    conv = _as_polars(cv, "conversation_id", pl.Categorical)
    for s, c in ((sv, conv), (pdf, cv)):
        got = qakit.csat_score(s, conversations=c, by="priority", min_n=0)
        assert got["priority"].astype(str).tolist() == ["high", "low"]
        assert got["n"].tolist() == [2, 1] and got["csat"].tolist() == [100.0, 0.0]


def test_ratings_with_categorical_categories_score_as_on_pandas():
    """A ratings table from Polars with every id and the categories categorical (the benchmark's
    synthetic reviews, seeded): the categories stay text for scoring's join with the scorecard,
    and every review's IQS equals the pandas engine's (an independent path: qakit.schema.validate
    and numpy)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import synthetic as syn

    r = syn.ratings(300, seed=29)
    card = syn.card()
    a = qakit.score_reviews(r, card)
    b = qakit.score_reviews(pl.from_pandas(r), card)
    assert b["review_id"].astype(str).tolist() == a["review_id"].astype(str).tolist()
    assert np.allclose(b["iqs"].to_numpy(dtype=float), a["iqs"].to_numpy(dtype=float), rtol=0, atol=1e-12,
                       equal_nan=True)
