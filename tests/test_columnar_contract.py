"""The columnar contract and the numpy paths of CSAT / NPS / CES and backlog (issue 23, task s25):
the same numbers, records and refusals as the general paths, on pandas (categorical and plain
text ids), Polars and DuckDB (a Parquet file).

Every number below is worked out by hand in the test's docstring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import qakit
from qakit import schema as S
from qakit.errors import DataValidationError

pl = pytest.importorskip("polars")


def _records(res):
    ex = qakit.schema.exclusions(res)
    return {r: list(ids) for r, ids in zip(ex["reason"], ex["row_ids"])}


def _engines(df: pd.DataFrame, tmp_path):
    """The same table as a pandas frame, a Polars frame and a Parquet file (DuckDB)."""
    path = tmp_path / "t.parquet"
    df.to_parquet(path, index=False)
    return {"pandas": df, "polars": pl.from_pandas(df), "duckdb": str(path)}


def _surveys(categorical: bool, *, extra_categories=()) -> pd.DataFrame:
    """Eight answers. CSAT (1-5): s1 5, s2 4, s3 2, s4 missing (chat, chat, mail, mail); NPS (0-10):
    s1 10, s5 9, s6 7, s7 3 (chat, chat, mail, mail); CES (1-7): s8 6 (chat)."""
    df = pd.DataFrame({
        "conversation_id": ["s1", "s2", "s3", "s4", "s1", "s5", "s6", "s7", "s8"],
        "kind": ["csat"] * 4 + ["nps"] * 4 + ["ces"],
        "score": [5.0, 4, 2, np.nan, 10, 9, 7, 3, 6],
        "channel": ["chat", "chat", "mail", "mail", "chat", "chat", "mail", "mail", "chat"]})
    if categorical:
        ids = sorted(set(df["conversation_id"]) | set(extra_categories))
        df["conversation_id"] = pd.Categorical(df["conversation_id"], categories=ids)
        df["kind"] = pd.Categorical(df["kind"], categories=["ces", "csat", "nps"])
        df["channel"] = pd.Categorical(df["channel"])
    return df


@pytest.mark.parametrize("categorical", [False, True])
def test_csat_nps_ces_by_hand_on_every_engine(categorical, tmp_path):
    """CSAT chat: 5 and 4 satisfied (>= 4) of 2 -> 100 %, mean 4.5; mail: 2 of 1 scored -> 0 %,
    mean 2, s4 without a score itemised. NPS chat: 10 and 9 promoters of 2 -> +100; mail: 7 passive,
    3 detractor -> 100 * (0 - 1) / 2 = -50. CES chat: one answer 6 (no interval below 2). Unused
    categories ('zz', 'zz ') change nothing."""
    df = _surveys(categorical, extra_categories=("zz", "zz ", ""))
    for name, data in _engines(df, tmp_path).items():
        cs = qakit.csat_score(data, by="channel", min_n=0)
        assert cs["channel"].astype(str).tolist() == ["chat", "mail"], name
        assert cs["n"].tolist() == [2, 1] and cs["csat"].tolist() == [100.0, 0.0], name
        assert cs["csat_mean"].tolist() == pytest.approx([4.5, 2.0], abs=1e-12), name
        assert _records(cs) == {"survey answer without a score": ["s4"]}, name
        ns = qakit.nps_score(data, by="channel", min_n=0)
        assert ns["n"].tolist() == [2, 2] and ns["nps"].tolist() == pytest.approx([100.0, -50.0]), name
        ce = qakit.ces_score(data, by="channel", min_n=0)
        assert ce["n"].tolist() == [1] and ce["ces"].tolist() == [6.0] and np.isnan(ce["ci_low"].iloc[0]), name


def test_ces_sd_two_pass_by_hand():
    """CES answers 2, 4, 4, 4, 5, 5, 7, 1 on 1-7: mean 32/8 = 4, squared deviations 4+0+0+0+1+1+9+9
    = 24, sd = sqrt(24/7) = 1.851640; t(0.975, 7) = 2.364624 (scipy.stats.t.ppf) -> half width
    2.364624 * 1.851640 / sqrt(8) = 1.548010. Reversed (higher_is_better=False): 8 - x, mean 4,
    the same sd."""
    sv = pd.DataFrame({"conversation_id": [f"c{i}" for i in range(8)], "kind": "ces",
                       "score": [2.0, 4, 4, 4, 5, 5, 7, 1]})
    for hib in (True, False):
        got = qakit.ces_score(sv, scale=(1, 7), higher_is_better=hib, min_n=0).iloc[0]
        assert got["ces"] == pytest.approx(4.0, abs=1e-12)
        assert got["ci_high"] - got["ces"] == pytest.approx(1.548010, abs=1e-6)
        assert got["ces"] - got["ci_low"] == pytest.approx(1.548010, abs=1e-6)


def test_unscored_ids_sorted_when_categories_are_not():
    """Categories in a custom order (b, a, c): the unscored answers' ids still come out sorted by
    code point ('a', 'b', 'c'), as on the general path."""
    sv = pd.DataFrame({"conversation_id": pd.Categorical(["c", "a", "b", "d"], categories=["b", "a", "c", "d"]),
                       "kind": "csat", "score": [np.nan, np.nan, np.nan, 5.0]})
    got = qakit.csat_score(sv, min_n=0)
    assert got["n"].tolist() == [1]
    assert _records(got) == {"survey answer without a score": ["a", "b", "c"]}


def _refusal(fn, data):
    with pytest.raises(DataValidationError) as e:
        fn(data)
    return e.value.failures


@pytest.mark.parametrize("categorical", [False, True])
def test_duplicated_key_refused_on_every_engine(categorical, tmp_path):
    """(s1, csat) twice: both rows named, on every engine; the key space of 2 x 3 ids is small
    here, and large in the next test (a byte per possible key)."""
    df = _surveys(categorical)
    df = pd.concat([df, df.iloc[[0]]], ignore_index=True)
    for name, data in _engines(df, tmp_path).items():
        f = _refusal(lambda d: qakit.csat_score(d, by="channel"), data)
        row = f[f["check"].str.startswith("duplicate key")].iloc[0]
        assert row["column"] == "conversation_id + kind" and row["n_failed"] == 2, name
        assert "s1 / csat" in row["failing_values"], name
        assert row["row_ids"] == ["s1", "s1"], name


def test_duplicated_key_found_in_a_large_key_space():
    """200 ids in 100,000 categories (unsorted rows): the key space 300,000 is above 4 x rows, so
    one byte per possible key is marked; c77 answered csat twice -> rows 77 and 200 refused."""
    cats = [f"c{i:06d}" for i in range(100_000)]
    rng = np.random.default_rng(3)
    codes = rng.permutation(200).astype(np.int32) * 500
    ids = np.r_[codes, codes[77]]
    sv = pd.DataFrame({"conversation_id": pd.Categorical.from_codes(ids, categories=cats),
                       "kind": pd.Categorical.from_codes(np.zeros(201, np.int8), categories=["csat", "nps", "ces"]),
                       "score": 5.0})
    dup = S._duplicated(sv, ["conversation_id", "kind"])
    assert np.flatnonzero(dup.to_numpy()).tolist() == [77, 200]
    f = _refusal(qakit.csat_score, sv)
    assert f.iloc[0]["row_ids"] == [cats[codes[77]]] * 2


def test_duplicated_paths_agree_with_pandas():
    """Each path of _duplicated (sorted keys, a count, a byte per key, contiguous runs, hashing)
    marks the rows pandas' own ``duplicated(keep=False)`` marks."""
    rng = np.random.default_rng(5)
    for n, n_ids, sort in ((50, 40, True), (50, 40, False), (300, 5000, False), (300, 10 ** 6, False)):
        c = rng.integers(0, n_ids, n)
        if sort:
            c = np.sort(c)
        k = rng.integers(0, 3, n)
        df = pd.DataFrame({"a": pd.Categorical.from_codes(c, categories=[f"i{i}" for i in range(n_ids)]),
                           "b": pd.Categorical.from_codes(k, categories=["x", "y", "z"])})
        want = df.astype(str).duplicated(keep=False).to_numpy()
        assert (S._duplicated(df, ["a", "b"], may_run=True).to_numpy() == want).all(), (n, n_ids, sort)


@pytest.mark.parametrize("categorical", [False, True])
def test_score_off_the_bounds_and_inf_refused_on_every_engine(categorical, tmp_path):
    """A CES answer of 9 (contract bounds 1..7) and an inf NPS answer: the contract names both,
    with their row ids, on every engine."""
    df = _surveys(categorical)
    df["score"] = [5.0, 4, 2, np.nan, 10, np.inf, 7, 3, 9]
    for name, data in _engines(df, tmp_path).items():
        f = _refusal(qakit.nps_score, data)
        checks = dict(zip(f["check"], f["row_ids"]))
        assert checks.get("ces score outside 1..7") == ["s8"], (name, checks)
        inf = [c for c in checks if "inf" in c]
        assert inf and checks[inf[0]] == ["s5"], (name, checks)


def test_off_survey_bounds_reads_only_the_kinds_that_can_fail():
    """Scores 0..10 lie inside the csat and nps bounds (0..10): only ces (1..7) is looked at; a
    ces 0 and a ces 8 fail, an nps 0 does not."""
    k = pd.Series(pd.Categorical(["nps", "ces", "ces", "csat", "ces"]))
    got = S._off_survey_bounds(k, pd.Series([0.0, 0, 8, 10, np.nan]))
    assert [(kind, m.tolist()) for kind, _, _, m in got] == [("ces", [False, True, True, False, False])]
    assert S._off_survey_bounds(k, pd.Series([np.nan] * 5)) == []


@pytest.mark.parametrize("categorical", [False, True])
def test_kind_not_allowed_named_unused_category_ignored(categorical, tmp_path):
    """'nsp' used by s7 is refused naming value and row; as an unused category it is not."""
    df = _surveys(True)
    df["kind"] = df["kind"].cat.add_categories(["nsp"])
    assert qakit.nps_score(df, min_n=0)["n"].tolist() == [4]  # unused category: no problem
    df.loc[7, "kind"] = "nsp"
    if not categorical:
        df["kind"] = df["kind"].astype("str")
    for name, data in _engines(df, tmp_path).items():
        f = _refusal(qakit.nps_score, data)
        row = f[f["column"] == "kind"].iloc[0]
        assert row["failing_values"] == ["nsp"] and row["row_ids"] == ["s7"], name


@pytest.mark.parametrize("categorical", [False, True])
def test_blank_id_refused_on_every_engine(categorical, tmp_path):
    """A whitespace-only id ('\\u00a0 ', a no-break space) is a missing id: refused in a required
    column, on every engine."""
    df = _surveys(categorical, extra_categories=("\u00a0 ",))
    ids = df["conversation_id"].astype(str).tolist()
    ids[2] = "\u00a0 "
    df["conversation_id"] = pd.Categorical(ids) if categorical else ids
    for name, data in _engines(df, tmp_path).items():
        f = _refusal(qakit.csat_score, data)
        row = f[f["column"] == "conversation_id"].iloc[0]
        assert row["check"] == "empty value in a required column" and row["n_failed"] == 1, name


def _as_ids(ids: list, categorical: bool | str):
    if categorical == "unused":  # categories no row uses around them (a larger table's ids)
        return pd.Categorical(ids, categories=sorted(set(ids) | {"zz", "q ", "Jose\u0301x", ""}))
    return pd.Categorical(ids) if categorical else ids


@pytest.mark.parametrize("categorical", [False, True, "unused"])
def test_ids_differing_by_whitespace_or_unicode_form_are_one(categorical, tmp_path):
    """'s1 ' (a trailing space) and 's1' are one id, so are NFD 'Jose\\u0301' and NFC 'Jos\\u00e9':
    their csat and nps answers are then two keys each, not a duplicate; the two adjusted values
    are recorded (rows s1's nps and the NFD csat). With two csat answers for 's1' and 's1 ' the key
    is duplicated and refused. Unused categories (blank, with a space, another NFD form) change
    nothing."""
    df = _surveys(bool(categorical))
    ids = df["conversation_id"].astype(str).tolist()
    ids[4] = "s1 "                    # nps of s1 written with a space
    ids[3], ids[8] = "Jose\u0301", "Jos\u00e9"  # csat (no score) and ces of one id, two forms
    df["conversation_id"] = _as_ids(ids, categorical)
    for name, data in _engines(df, tmp_path).items():
        cs = qakit.csat_score(data, by="channel", min_n=0)
        assert _records(cs)["survey answer without a score"] == ["Jos\u00e9"], name
        adj = qakit.records.adjustments(cs)
        assert len(adj) == 1 and adj["reason"].iloc[0].startswith("conversation_id: 2 values normalised"), name
        assert sorted(adj["row_ids"].iloc[0]) == ["Jose\u0301", "s1 "], name
        assert qakit.nps_score(data, min_n=0)["n"].tolist() == [4], name
    ids[1] = "s1 "                    # csat of s2 now csat of 's1 ' = 's1': (s1, csat) twice
    df["conversation_id"] = _as_ids(ids, categorical)
    for name, data in _engines(df, tmp_path).items():
        f = _refusal(qakit.csat_score, data)
        assert f["check"].str.startswith("duplicate key").any(), name


def test_blank_text_equals_arrow_strip_definition():
    """_blank_text (offsets + suspects) against the plain definition: empty, or every character
    whitespace (Arrow's utf8_is_space), over every Unicode whitespace character and neighbours."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ws = [c for c in map(chr, range(0x3001)) if c.isspace()]
    vals = ["", "a", " a", "a ", "\u00e9", None] + ws + [w * 2 for w in ws] + [w + "x" for w in ws]
    want = pc.fill_null(pc.or_(pc.equal(pc.utf8_length(pa.array(vals)), 0), pc.utf8_is_space(pa.array(vals))), False)
    got = S._blank_text(pd.Series(vals, dtype="str"))
    assert got.tolist() == want.to_pylist()


# --- backlog -------------------------------------------------------------------------------------
def _backlog_conv(categorical: bool) -> pd.DataFrame:
    """Mon 2026-01-05: a (chat), b (chat), c (mail) created; a resolved Wed 01-07, b resolved Mon
    01-12, c open; d (mail) created Tue 01-20 and 'resolved' Sun 01-04 (before it was created:
    left out); e (chat) created Sat 2026-01-31, resolved Mon 02-02."""
    t = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731
    df = pd.DataFrame({
        "conversation_id": ["a", "b", "c", "d", "e"],
        "channel": ["chat", "chat", "mail", "mail", "chat"],
        "created_at": pd.Series([t("2026-01-05 08:00"), t("2026-01-05 09:00"), t("2026-01-05 10:00"),
                                 t("2026-01-20 10:00"), t("2026-01-31 23:00")], dtype="datetime64[us, UTC]"),
        "resolved_at": pd.Series([t("2026-01-07 12:00"), t("2026-01-12 00:30"), pd.NaT, t("2026-01-04 10:00"),
                                  t("2026-02-02 01:00")], dtype="datetime64[us, UTC]")})
    if categorical:
        df = df.astype({"conversation_id": "category", "channel": "category"})
    return df


@pytest.mark.parametrize("categorical", [False, True])
def test_backlog_weeks_and_months_by_hand_on_every_engine(categorical, tmp_path):
    """Weeks from Mon 01-05 to Mon 02-02 (5 weeks; d left out, its resolution before the grid):
    opened 3, 0, 0, 1 (e, week of 01-26), 0; closed 1 (a), 1 (b), 0, 0, 1 (e) -> backlog 2, 1, 1,
    2, 1. Months: January opened 4 closed 2 -> 2; February opened 0 closed 1 -> 1. By channel
    (weeks): chat opened 2, 0, 0, 1, 0, closed 1, 1, 0, 0, 1 -> 1, 0, 0, 1, 0; mail 1, 1, 1, 1, 1."""
    df = _backlog_conv(categorical)
    for name, data in _engines(df, tmp_path).items():
        w = qakit.backlog(data, period="W")
        assert w["period"].dt.strftime("%m-%d").tolist() == ["01-05", "01-12", "01-19", "01-26", "02-02"], name
        assert w["opened"].tolist() == [3, 0, 0, 1, 0] and w["closed"].tolist() == [1, 1, 0, 0, 1], name
        assert w["backlog"].tolist() == [2, 1, 1, 2, 1], name
        assert _records(w) == {"resolved_at before created_at: neither opened nor closed (it would make the "
                               "backlog negative)": ["d"]}, name
        m = qakit.backlog(data, period="M")
        assert m["opened"].tolist() == [4, 0] and m["closed"].tolist() == [2, 1] and m["backlog"].tolist() == [2, 1]
        bc = qakit.backlog(data, period="W", by="channel")
        chat = bc[bc["channel"].astype(str) == "chat"]
        mail = bc[bc["channel"].astype(str) == "mail"]
        assert chat["backlog"].tolist() == [1, 0, 0, 1, 0] and mail["backlog"].tolist() == [1] * 5, name


def test_backlog_extremes_when_a_left_out_row_holds_them():
    """Without e, d (left out) holds the earliest resolution (01-04) and the latest creation
    (01-20): the data's end is then b's resolution on Mon 01-12 (of the kept rows), so the week
    of 01-12 (ending 01-18) is partial; counted with d it would end 01-20 and the week would be
    whole. The first week starts on the data's first day (01-05): not partial. Weeks: opened 3, 0;
    closed 1, 1 -> backlog 2, 1. The same as the general path (Polars)."""
    df = _backlog_conv(False).iloc[:4]
    got = qakit.backlog(df, period="W")
    want = qakit.backlog(pl.from_pandas(df), period="W")
    assert got["partial"].tolist() == want["partial"].tolist() == [False, True]
    assert got["backlog"].tolist() == want["backlog"].tolist() == [2, 1]


@pytest.mark.parametrize("categorical", [False, True])
def test_csat_off_the_scale_refused_alike_on_every_engine(categorical, tmp_path):
    """CSAT answers 7 (s2) and 9 (s3) pass the contract (0..10) but not the 1-5 scale: the same
    refusal on every engine, naming the column, both values and both row ids, sorted by id."""
    df = _surveys(categorical)
    df["score"] = [5.0, 7, 9, np.nan, 10, 9, 7, 3, 6]
    for name, data in _engines(df, tmp_path).items():
        f = _refusal(qakit.csat_score, data)
        assert len(f) == 1, name
        row = f.iloc[0]
        assert row["column"] == "score" and row["check"].startswith("csat score outside the scale 1..5"), name
        assert row["n_failed"] == 2 and row["failing_values"] == [7.0, 9.0] and row["row_ids"] == ["s2", "s3"], name
    ok = qakit.csat_score(df, scale="1-10", min_n=0)  # on 1-10, satisfied from 8: of 5, 7, 9 only 9 -> 1/3
    assert ok["n"].tolist() == [3] and ok["csat"].tolist() == pytest.approx([100 / 3])
