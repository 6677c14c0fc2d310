"""Readers, wide-to-long and safe CSV output."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qakit.errors import DataValidationError, ParameterError
from qakit.io import neutralise_formulas, read_table, to_csv_safe, wide_to_long, write_table

RATINGS_CSV = (
    "Review,Conversation,Agent Name,QA,Date,Category,Score\n"
    "007,c1,Zoë,q1,2026-11-02 10:00,Tone,5\n"
    "007,c1,Zoë,q1,2026-11-02 10:00,Solution,\n"
    "008,c2,José,q1,2026-11-03 10:00,Tone,3\n"
)
MAP = {"Review": "review_id", "Conversation": "conversation_id", "Agent Name": "agent_id",
       "QA": "reviewer_id", "Date": "reviewed_at", "Category": "category", "Score": "rating"}


def test_csv_with_mapping_keeps_leading_zeros(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text(RATINGS_CSV, encoding="utf-8")
    df = read_table(p, "ratings", mapping=MAP)
    assert df["review_id"].tolist() == ["007", "007", "008"]
    assert df["agent_id"].tolist() == ["Zoë", "Zoë", "José"]
    np.testing.assert_array_equal(df["rating"].to_numpy(), [5.0, np.nan, 3.0])
    assert str(df["reviewed_at"].dt.tz) == "UTC"


def test_parquet_roundtrip(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text(RATINGS_CSV, encoding="utf-8")
    df = read_table(p, "ratings", mapping=MAP)
    out = write_table(df, tmp_path / "r.parquet")
    back = read_table(out, "ratings")
    pd.testing.assert_frame_equal(back, df)


def test_semicolon_file_is_sniffed(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text(RATINGS_CSV.replace(",", ";"), encoding="utf-8")
    assert len(read_table(p, "ratings", mapping=MAP)) == 3


def test_wrong_explicit_delimiter(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text(RATINGS_CSV.replace(",", ";"), encoding="utf-8")
    with pytest.raises(ParameterError, match=r"only one column .* delimiter ','.*sep=';'"):
        read_table(p, "ratings", mapping=MAP, sep=",")


def test_bom_is_handled(tmp_path):
    p = tmp_path / "r.csv"
    p.write_bytes(b"\xef\xbb\xbf" + RATINGS_CSV.encode("utf-8"))
    assert read_table(p, "ratings", mapping=MAP).columns[0] == "review_id"


def test_cp1252_needs_the_encoding_named(tmp_path):
    p = tmp_path / "r.csv"
    p.write_bytes(RATINGS_CSV.encode("cp1252"))
    # "Zoë" in cp1252 is 5a 6f eb: the first bad byte 0xeb sits on line 2
    with pytest.raises(ParameterError, match=r"not valid UTF-8 \(byte 0xeb at offset \d+, line 2\).*cp1252"):
        read_table(p, "ratings", mapping=MAP)
    df = read_table(p, "ratings", mapping=MAP, encoding="cp1252")
    assert df["agent_id"].tolist() == ["Zoë", "Zoë", "José"]


@pytest.mark.parametrize("content, match", [
    (b"", "file is empty"),
    (b"   \n", "file is empty"),
    (RATINGS_CSV.splitlines()[0].encode() + b"\n", r"no data rows \(header only"),
    (b"a,a,b\n1,2,3\n", r"duplicate column names in the header \['a'\]"),
])
def test_bad_files(tmp_path, content, match):
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    with pytest.raises(ParameterError, match=match):
        read_table(p, "ratings")


def test_missing_mapping_key_lists_columns(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text(RATINGS_CSV, encoding="utf-8")
    with pytest.raises(ParameterError, match=r"mapping names column\(s\) \['Agent'\].*'Agent Name'"):
        read_table(p, "ratings", mapping={**MAP, "Agent": "agent_id"})


def test_file_not_found_and_type(tmp_path):
    with pytest.raises(ParameterError, match="file not found"):
        read_table(tmp_path / "nope.csv", "ratings")
    (tmp_path / "x.docx").write_bytes(b"x")
    with pytest.raises(ParameterError, match="unsupported file type"):
        read_table(tmp_path / "x.docx", "ratings")


def test_rows_validated(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text(RATINGS_CSV.replace(",5\n", ",five\n"), encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"column 'rating': not a number.*'five'.*'007'"):
        read_table(p, "ratings", mapping=MAP)


def test_streaming_path_equals_default(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text(RATINGS_CSV, encoding="utf-8")
    a = read_table(p, "ratings", mapping=MAP)
    b = read_table(p, "ratings", mapping=MAP, progress=True, categorical=True)
    assert b["category"].dtype == "category" and b["review_id"].dtype == "category"
    cats = [c for c in b.columns if b[c].dtype == "category"]
    pd.testing.assert_frame_equal(a, b.assign(**{c: b[c].astype("str") for c in cats}), check_dtype=False)


def test_wide_to_long_counts():
    """3 reviews x 3 categories = 9 rows; N/A tokens 'N/A', '-', '' -> 3 NaN; Tone mean (5+4)/2."""
    w = pd.DataFrame({"Review": ["r1", "r2", "r3"], "Agent": ["a", "a", "b"],
                      "Tone": [5, "4", "N/A"], "Solution": ["1", "-", "0"], "Grammar": ["", 1, 1]})
    long = wide_to_long(w, id_columns=["Review", "Agent"], mapping={"Review": "review_id", "Agent": "agent_id"})
    assert len(long) == 9 and long["rating"].isna().sum() == 3
    assert long.groupby("category")["rating"].count().to_dict() == {"Grammar": 2, "Solution": 2, "Tone": 2}
    assert long.loc[long.category == "Tone", "rating"].mean() == 4.5
    assert long["review_id"].tolist()[:3] == ["r1"] * 3


def test_wide_to_long_bad_text_collects_all():
    w = pd.DataFrame({"Review": ["r1", "r2"], "Tone": ["great", 5], "Solution": [1, "yes"]})
    with pytest.raises(DataValidationError) as e:
        wide_to_long(w, id_columns=["Review"])
    msg = str(e.value)
    assert "column 'Tone'" in msg and "'great'" in msg and "['r1']" in msg
    assert "column 'Solution'" in msg and "'yes'" in msg and "['r2']" in msg


def test_formula_injection_neutralised():
    df = pd.DataFrame({"agent": ["=HYPERLINK(\"http://x\")", "+1", "@SUM(A1)", "-cmd", "Ann"],
                       "delta": [-1.5, 2, -3, 4, 5]})
    text = to_csv_safe(df)
    assert "'=HYPERLINK" in text and "'+1" in text and "'@SUM" in text and "'-cmd" in text
    assert "\nAnn," in text.replace('"', "")
    assert neutralise_formulas(df)["delta"].tolist() == [-1.5, 2, -3, 4, 5]
    assert ",-1.5" in text


ids = st.text(alphabet="0123456789abcXYZ", min_size=1, max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(ids, st.sampled_from(["Tone", "Solution"]),
                          st.one_of(st.none(), st.integers(0, 5))), min_size=1, max_size=15,
                unique_by=lambda t: (t[0], t[1])))
def test_csv_roundtrip_property(tmp_path, rows):
    df = pd.DataFrame(rows, columns=["review_id", "category", "rating"]).assign(
        conversation_id=lambda d: "c" + d.review_id, agent_id="a", reviewer_id="q",
        reviewed_at="2026-11-02")
    p = tmp_path / "p.csv"
    df.to_csv(p, index=False)
    back = read_table(p, "ratings")
    assert back["review_id"].tolist() == df["review_id"].tolist()
    np.testing.assert_array_equal(back["rating"].to_numpy(), df["rating"].astype(float).to_numpy())


# --- reader consistency and exports (issue 12) --------------------------------------------------------
NA_CSV = ("conversation_id,kind,score,answered_at,agent_id\n"
          "c1,csat,NA,N/A,NA\n"
          "c2,csat,null,null,null\n"
          "c3,nps,NaN,,N/A\n"
          "c4,csat,5,2026-01-02 10:00,\" a1\"\n")


def test_normal_and_streaming_readers_give_the_same_table(tmp_path):
    """NA / N/A / null / NaN: missing in the number and time columns, text in the id column, the
    same way in both readers (pyarrow's own null list would have turned the ids into NaN). By hand:
    scores [NaN, NaN, NaN, 5], answered_at NaT x3 then 10:00Z, agent_id ['NA', 'null', 'N/A', 'a1']."""
    p = tmp_path / "s.csv"
    p.write_text(NA_CSV, encoding="utf-8")
    a = read_table(p, "surveys")
    b = read_table(p, "surveys", progress=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert a["agent_id"].tolist() == ["NA", "null", "N/A", "a1"]
    np.testing.assert_array_equal(a["score"].to_numpy(), [np.nan, np.nan, np.nan, 5.0])
    assert a["answered_at"].isna().tolist() == [True, True, True, False]
    plain = pd.read_csv(p, dtype="str", keep_default_na=False)
    assert plain["agent_id"].str.strip().tolist() == a["agent_id"].tolist()


def test_streaming_reader_reads_a_cell_longer_than_its_block(tmp_path):
    """A 10M-character comment is kept whole (pyarrow's 8 MB blocks are enlarged, not an error)."""
    p = tmp_path / "s.csv"
    p.write_text("conversation_id,kind,score,answered_at,comment\nc1,csat,5,," + "x" * 10_000_000 + "\n")
    df = read_table(p, "surveys", progress=True)
    assert len(df["comment"].iloc[0]) == 10_000_000


def test_utf16_read_when_named(tmp_path):
    p = tmp_path / "s.csv"
    p.write_bytes("conversation_id,kind,score,answered_at,agent_id\nc1,csat,4,,Jos\u00e9\n".encode("utf-16"))
    for progress in (False, True):
        df = read_table(p, "surveys", encoding="utf-16", progress=progress)
        assert df["agent_id"].tolist() == ["Jos\u00e9"] and df["score"].tolist() == [4.0]


def test_dayfirst_and_id_normalize_reach_the_reader(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("conversation_id,kind,score,answered_at,agent_id\nc1,csat,4,01/02/2026,Ann\nc2,csat,5,03/02/2026,ann\n")
    df = read_table(p, "surveys", dayfirst=True, id_normalize="casefold")
    assert df["answered_at"].dt.strftime("%d %b").tolist() == ["01 Feb", "03 Feb"]
    assert df["agent_id"].tolist() == ["Ann", "Ann"]  # tie (1 each): the first in sorted order


def test_formulas_neutralised_in_categorical_columns_and_headers():
    """read_table(categorical=True) gives categorical columns: their formulas are neutralised too,
    and so is a header that is a formula; categories '=1' and "'=1" both present stay distinct."""
    df = pd.DataFrame({"agent_id": pd.Categorical(['=HYPERLINK("http://x","y")', "Ann", '=HYPERLINK("http://x","y")']),
                       "=SUM(A1:A9)": [1, 2, 3],
                       "team": pd.Categorical(["=1", "'=1", "b"])})
    text = to_csv_safe(df)
    lines = text.splitlines()
    assert lines[0] == "agent_id,'=SUM(A1:A9),team"
    assert lines[1].startswith('"\'=HYPERLINK(""http://x"",""y"")",1,\'=1')
    assert lines[2] == "Ann,2,'=1"
    assert not any(cell.startswith("=") for line in lines for cell in line.split(","))
    assert isinstance(neutralise_formulas(df)["agent_id"].dtype, pd.CategoricalDtype)


def test_corrupt_and_truncated_inputs_name_the_file(tmp_path):
    import gzip

    p = tmp_path / "s.csv.gz"
    p.write_bytes(gzip.compress(b"conversation_id,kind,score,answered_at\n" + b"".join(
        f"c{i},csat,{i % 5 + 1},\n".encode() for i in range(100_000)))[:5000])
    with pytest.raises(ParameterError, match=r"^s\.csv\.gz: not a readable gzip file \(.{1,260}\); check that the download is complete$"):
        read_table(p, "surveys")


def test_wide_to_long_reads_the_same_missing_words_as_the_readers():
    """'null', 'NaN', 'None', '#N/A' (any case) are N/A ratings, as in read_table's number
    columns; 'great' is still refused. By hand: 6 cells, 4 missing words, ratings 5 and 1."""
    w = pd.DataFrame({"Review": ["r1", "r2", "r3"], "Tone": ["null", "NaN", "5"], "Solution": ["None", "#n/a", "1"]})
    long = wide_to_long(w, id_columns=["Review"])
    assert long["rating"].isna().sum() == 4 and long["rating"].dropna().tolist() == [5.0, 1.0]
    with pytest.raises(DataValidationError, match=r"column 'Tone': not a number nor an N/A token.*'great'"):
        wide_to_long(w.assign(Tone=["great", 1, 2]), id_columns=["Review"])
