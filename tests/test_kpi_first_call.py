"""The pandas paths of the survey KPIs and service level rewritten for a cheap first call (task k27).

What changed underneath: the contract's per-kind survey bounds (a kind's scores taken out, no
masked reductions), the survey statistics (every count from one folded count, group numbers in
bytes for one categorical key, sums with NaN read as 0), service level's counts from the flag
arrays (``_groups.count_flags``), the result frames built at once (``_finish``), and the daily
call counts' check (text for the failing rows only). Every expected number is worked out by hand
in the docstring, or comes from scipy (``binomtest(...).proportion_ci(method="wilson")`` for the
Wilson interval, ``stats.t`` for the t interval); every refusal pins the column, the values and a
row id.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import qakit
from qakit import schema as S
from qakit.errors import DataValidationError
from qakit.metrics import _groups as G
from qakit.schema import exclusions

KIND_FORMS = ("text", "categorical", "categorical with unused categories")


def _kinds(kinds, form):
    if form == "text":
        return pd.Series(kinds, dtype="str")
    if form == "categorical":
        return pd.Series(pd.Categorical(kinds))
    # categories in no particular order, one of them ("zzz", not a survey kind) used by no row
    return pd.Series(pd.Categorical(kinds, categories=["zzz", "nps", "csat", "ces"]))


def _sv(kinds, scores, channels, form="text", ids=None):
    n = len(kinds)
    return pd.DataFrame({"conversation_id": ids or [f"c{i:02d}" for i in range(n)], "kind": _kinds(kinds, form),
                         "score": np.array(scores, dtype=float), "answered_at": None, "channel": channels})


def _wilson(k, n):
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return ci.low, ci.high


# --- CSAT / NPS / CES numbers -------------------------------------------------------------------------
@pytest.mark.parametrize("form", KIND_FORMS)
def test_csat_by_channel_fractional_and_unscored(form):
    """chat: csat 5, 4.5, 3 and one unscored; mail: 1, 4; an nps and a ces answer read by neither.
    chat: n = 3, satisfied (score >= 4) 5 and 4.5 -> 2/3 = 66.667 %, mean (5 + 4.5 + 3) / 3 =
    4.1667, one answer excluded (c03, no score); mail: n = 2, satisfied 1 -> 50 %, mean 2.5.
    Intervals: scipy's Wilson interval of 2/3 and 1/2, in percent."""
    sv = _sv(["csat", "csat", "csat", "csat", "nps", "csat", "csat", "ces"],
             [5, 4.5, 3, np.nan, 10, 1, 4, 2], ["chat"] * 5 + ["mail"] * 3, form)
    res = qakit.csat_score(sv, by="channel", min_n=0)
    assert res["channel"].tolist() == ["chat", "mail"]
    assert res["n"].tolist() == [3, 2]
    assert res["csat"].tolist() == pytest.approx([200 / 3, 50.0])
    assert res["csat_mean"].tolist() == pytest.approx([12.5 / 3, 2.5])
    assert res["n_excluded"].tolist() == [1, 0]
    for i, (k, n) in enumerate([(2, 3), (1, 2)]):
        lo, hi = _wilson(k, n)
        assert (res["ci_low"].iloc[i], res["ci_high"].iloc[i]) == (pytest.approx(100 * lo), pytest.approx(100 * hi))
    ex = exclusions(res)
    assert ex["reason"].tolist() == ["survey answer without a score"]
    assert ex["row_ids"].iloc[0] == ("c03",)


def test_groups_sorted_by_text_whatever_the_categories_order_and_missing_last():
    """channel categories in the order ('mail', 'chat', 'web'; 'web' unused) and one answer with no
    channel: groups chat, mail, then the missing one (as a group-by sorts them). chat: 5, 2 -> 1 of
    2 satisfied; mail: 4 -> 1 of 1; missing: 1 -> 0 of 1."""
    ch = pd.Categorical(["mail", "chat", None, "chat"], categories=["mail", "chat", "web"])
    sv = _sv(["csat"] * 4, [4, 5, 1, 2], ch, "categorical")
    res = qakit.csat_score(sv, by="channel", min_n=0)
    assert res["channel"].astype(object).tolist()[:2] == ["chat", "mail"] and pd.isna(res["channel"].iloc[2])
    assert res["n"].tolist() == [2, 1, 1]
    assert res["csat"].tolist() == pytest.approx([50.0, 100.0, 0.0])


def test_csat_over_many_groups_takes_the_wide_group_numbers():
    """300 channels (more than a byte holds with the flags folded in): each has a 5 and a 2 ->
    50 %, mean 3.5, n 2 -- the same rule as the few-groups path."""
    ch = [f"ch{i:03d}" for i in range(300) for _ in range(2)]
    sv = _sv(["csat"] * 600, [5.0, 2.0] * 300, pd.Categorical(ch), "categorical")
    res = qakit.csat_score(sv, by="channel", min_n=0)
    assert len(res) == 300 and res["channel"].iloc[0] == "ch000" and res["channel"].iloc[-1] == "ch299"
    assert set(res["n"]) == {2} and set(res["csat"]) == {50.0} and set(res["csat_mean"]) == {3.5}


@pytest.mark.parametrize("form", KIND_FORMS)
def test_nps_classes_fractional_answers(form):
    """nps 10, 9, 9.5 (promoters, s >= 9), 8.5 (passive), 6.9 (detractor, s < 7), one unscored:
    n = 5, NPS = 100 (3 - 1) / 5 = 40; se = 100 sqrt((0.6 + 0.2 - 0.4^2) / 5) = 100 sqrt(0.128)
    = 35.777; shares 60 / 20 / 20 %."""
    sv = _sv(["nps"] * 6 + ["csat"], [10, 9, 9.5, 8.5, 6.9, np.nan, 3], ["chat"] * 7, form)
    res = qakit.nps_score(sv, by="channel", min_n=0)
    row = res.iloc[0]
    assert int(row["n"]) == 5
    assert row["nps"] == pytest.approx(40.0)
    assert row["se"] == pytest.approx(100 * math.sqrt(0.128))
    assert [row["promoters_pct"], row["passives_pct"], row["detractors_pct"]] == pytest.approx([60.0, 20.0, 20.0])
    assert exclusions(res)["row_ids"].iloc[0] == ("c05",)


@pytest.mark.parametrize("form", KIND_FORMS)
def test_ces_mean_sd_and_t_interval(form):
    """ces chat 1, 2, 6 and one unscored; mail 7. chat: mean 3, deviations -2, -1, 3 -> sd
    sqrt(14 / 2) = sqrt(7); 95 % t interval 3 -/+ t(0.975, 2) sqrt(7 / 3) = 3 -/+ 6.572 -> clipped
    to the scale 1..7. Reversed (higher_is_better=False): 8 - x = 7, 6, 2 -> mean 5."""
    sv = _sv(["ces"] * 5, [1, 2, 6, np.nan, 7], ["chat"] * 4 + ["mail"], form)
    res = qakit.ces_score(sv, by="channel", min_n=0)
    chat = res.iloc[0]
    assert (int(chat["n"]), chat["ces"]) == (3, pytest.approx(3.0))
    half = stats.t.ppf(0.975, 2) * math.sqrt(7) / math.sqrt(3)
    assert (chat["ci_low"], chat["ci_high"]) == (pytest.approx(max(3 - half, 1)), pytest.approx(min(3 + half, 7)))
    assert math.isnan(res.iloc[1]["ci_low"]) and res.iloc[1]["ces"] == 7.0  # (one answer: no interval)
    rev = qakit.ces_score(sv, by="channel", min_n=0, higher_is_better=False)
    assert rev["ces"].tolist() == pytest.approx([5.0, 1.0])


def test_survey_kpi_without_by_and_with_no_answer_of_the_kind():
    """No ``by``: one row (csat 5 and 1: 1 of 2 satisfied, 50 %). Only csat answers: without ``by``
    the NPS is one row with n = 0 and NaN; by channel there is no group at all."""
    sv = _sv(["csat", "csat"], [5, 1], ["chat", "chat"])
    assert qakit.csat_score(sv, min_n=0)["csat"].tolist() == [50.0]
    res = qakit.nps_score(sv, min_n=0)
    assert res["n"].tolist() == [0] and math.isnan(res["nps"].iloc[0])
    assert len(qakit.nps_score(sv, by="channel", min_n=0)) == 0


# --- refusals ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("form", KIND_FORMS)
def test_csat_answer_of_6_on_the_1_to_5_scale_is_refused(form):
    sv = _sv(["csat", "csat", "nps"], [5, 6, 10], ["chat"] * 3, form)
    with pytest.raises(DataValidationError, match=r"(?s)score.*csat score outside the scale 1\.\.5.*6.*c01"):
        qakit.csat_score(sv, by="channel")


@pytest.mark.parametrize("form", KIND_FORMS)
def test_nps_of_11_and_minus_1_refused_together(form):
    """Both answers off 0..10 in one problem: values 11 and -1, rows c01 and c02."""
    sv = _sv(["nps", "nps", "nps", "csat"], [10, 11, -1, 5], ["chat"] * 4, form)
    with pytest.raises(DataValidationError, match=r"(?s)score.*nps score outside 0\.\.10.*11.*-1.*c01.*c02") as e:
        qakit.nps_score(sv, by="channel")
    assert "(2 row" in str(e.value)


@pytest.mark.parametrize("form", KIND_FORMS)
def test_ces_of_0_and_8_refused(form):
    """A CES on 1..7: 0 and 8 refused (rows c00, c02); a csat of 0 and an nps of 8 are fine."""
    sv = _sv(["ces", "ces", "ces", "csat", "nps"], [0, 4, 8, 0, 8], ["chat"] * 5, form)
    with pytest.raises(DataValidationError, match=r"(?s)score.*ces score outside 1\.\.7.*0.*8.*c00.*c02") as e:
        qakit.ces_score(sv, by="channel")
    assert "(2 row" in str(e.value) and "csat score" not in str(e.value) and "nps score" not in str(e.value)


def test_inf_score_refused_nan_itemised():
    sv = _sv(["csat", "csat", "csat"], [5, np.inf, np.nan], ["chat"] * 3)
    with pytest.raises(DataValidationError, match=r"(?s)score.*not a finite number \(inf\).*c01"):
        qakit.csat_score(sv, by="channel")


@pytest.mark.parametrize("form", ["text", "categorical"])
def test_kind_in_other_case_or_with_spaces_is_refused_not_read(form):
    """The contract does not normalise kinds: ' CSAT' and 'Csat' are not one of the kinds (rows
    c01, c02), never silently counted or dropped."""
    sv = _sv(["csat", " CSAT", "Csat"], [5, 4, 3], ["chat"] * 3, form)
    with pytest.raises(DataValidationError, match=r"(?s)kind.*not one of 'csat', 'nps', 'ces'.*CSAT.*c01"):
        qakit.csat_score(sv, by="channel")


def test_off_survey_bounds_with_no_category_of_a_kind():
    """Categories without 'ces' at all: scores 0..10 of csat and nps are inside their bounds."""
    k = pd.Series(pd.Categorical(["csat", "nps", "nps"]))
    assert S._off_survey_bounds(k, pd.Series([0.0, 10.0, 3.0])) == []


# --- service level ----------------------------------------------------------------------------------
def _calls(queue, answered, speed):
    n = len(answered)
    return pd.DataFrame({"call_id": [f"k{i}" for i in range(n)], "agent_id": "x", "created_at": "2026-01-05",
                         "answered": pd.array(answered, dtype="boolean"), "speed_of_answer_s": speed,
                         "queue": queue})


def test_service_level_by_queue_unknown_answers_missing_speed_and_missing_queue():
    """Queue a: in time (10 s), late (30 s), abandoned, answered without a speed (k3, excluded and
    itemised). Offered: a uses k0, k1, k2 -> 1 of 3, one excluded; b: 20 s (on the threshold: in
    time) and abandoned -> 1 of 2; no queue: one call in time -> 1 of 1, last. Answered
    denominator: a 1 of 2, b 1 of 1. An unknown answered flag is refused (a required column)."""
    c = _calls(["a"] * 4 + ["b", "b", None], [True, True, False, True, True, False, True],
               [10.0, 30, None, None, 20, None, 5])
    res = qakit.service_level(c, by="queue", min_n=0)
    assert res["queue"].tolist()[:2] == ["a", "b"] and pd.isna(res["queue"].iloc[2])
    assert res["n"].tolist() == [3, 2, 1]
    assert res["service_level"].tolist() == pytest.approx([1 / 3, 0.5, 1.0])
    assert res["n_excluded"].tolist() == [1, 0, 0]
    lo, hi = _wilson(1, 3)
    assert (res["ci_low"].iloc[0], res["ci_high"].iloc[0]) == (pytest.approx(lo), pytest.approx(hi))
    ex = exclusions(res)
    assert ex["reason"].tolist() == ["answered call without speed of answer"] and ex["row_ids"].iloc[0] == ("k3",)
    ans = qakit.service_level(c, by="queue", min_n=0, denominator="answered")
    assert ans["n"].tolist() == [2, 1, 1] and ans["service_level"].tolist() == pytest.approx([0.5, 1.0, 1.0])
    c.loc[1, "answered"] = pd.NA
    with pytest.raises(DataValidationError, match=r"(?s)answered.*empty value in a required column.*k1"):
        qakit.service_level(c, by="queue")


def test_service_level_numpy_booleans_no_by_and_many_queues():
    """Answered as numpy booleans (none unknown): 4 calls, in time 5 s and 20 s, late 21 s, one
    abandoned -> 2 of 4 = 0.5 without ``by``. 300 queues of one in-time and one late call each: 0.5
    in every queue (the wide group numbers)."""
    c = _calls(["q"] * 4, [True, True, True, False], [5.0, 20, 21, None])
    c["answered"] = c["answered"].astype(bool)
    res = qakit.service_level(c, min_n=0)
    assert res["n"].tolist() == [4] and res["service_level"].tolist() == [0.5]
    q = [f"q{i:03d}" for i in range(300) for _ in range(2)]
    many = _calls(pd.Categorical(q), [True] * 600, [10.0, 40.0] * 300)
    got = qakit.service_level(many, by="queue", min_n=0)
    assert len(got) == 300 and set(got["service_level"]) == {0.5} and set(got["n"]) == {2}


def test_count_flags_matches_a_group_by():
    """G.count_flags against pandas' own group-by of the same flags (a missing key a group, last)."""
    df = pd.DataFrame({"q": pd.Categorical(["b", "a", None, "b", "a", "b"])})
    f1 = np.array([True, False, True, True, True, False])
    f2 = np.array([False, False, True, True, False, True])
    got = G.count_flags(df, ["q"], {"__x": f1, "__y": f2})
    ref = pd.DataFrame({"q": df["q"], "__x": f1, "__y": f2}).groupby("q", dropna=False, observed=True)
    assert got["__x"].tolist() == ref["__x"].sum().tolist() == [1, 2, 1]
    assert got["__y"].tolist() == ref["__y"].sum().tolist() == [0, 2, 1]
    assert got["__rows"].tolist() == [2, 3, 1]


# --- the daily call counts ----------------------------------------------------------------------------
def test_daily_counts_refused_rows_named_and_numbers_shown():
    """2026-11-02 / Sales: 120 answered + 5 abandoned of 100 offered; 2026-11-03 / Sales: 90 within
    of 80 answered (a service level above 100 %); 2026-11-04 / Sales is consistent and not named."""
    d = pd.DataFrame({"date": ["2026-11-02", "2026-11-03", "2026-11-04"], "queue": "Sales",
                      "offered": [100.0, 100, 100], "answered": [120.0, 80, 90], "abandoned": [5.0, 10, 10],
                      "answered_within": [60.0, 90, 70]})
    with pytest.raises(DataValidationError) as e:
        S.validate(d, "calls_daily")
    msg = str(e.value)
    assert "more than offered" in msg and "120.0 answered, 5.0 abandoned of 100.0 offered" in msg
    assert "2026-11-02 / Sales" in msg
    assert "service level above 100 % is impossible" in msg and "90.0 within of 80.0 answered, 100.0 offered" in msg
    assert "2026-11-03 / Sales" in msg and "2026-11-04" not in msg


def test_daily_counts_consistent_table_passes():
    d = pd.DataFrame({"date": ["2026-11-02"], "queue": "Sales", "offered": [100.0], "answered": [90.0],
                      "abandoned": [10.0], "answered_within": [80.0]})
    assert S.validate(d, "calls_daily")["answered_within"].tolist() == [80.0]


@pytest.mark.parametrize("ids_form", ["text", "categorical"])
def test_unscored_answers_itemised_in_id_order_whatever_the_row_order(ids_form):
    """Unscored answers in rows 0, 2, 3 with ids c09, c02, c05: itemised as ('c02', 'c05', 'c09')
    (code-point order, as every engine lists them); the scored 5 and 1 give 1 of 2 satisfied."""
    ids = ["c09", "c01", "c02", "c05", "c03"]
    sv = _sv(["csat"] * 5, [np.nan, 5, np.nan, np.nan, 1], ["chat"] * 5, "categorical", ids=ids)
    if ids_form == "categorical":
        sv["conversation_id"] = pd.Categorical(ids)
    res = qakit.csat_score(sv, by="channel", min_n=0)
    assert res["csat"].tolist() == [50.0] and res["n_excluded"].tolist() == [3]
    assert exclusions(res)["row_ids"].iloc[0] == ("c02", "c05", "c09")
