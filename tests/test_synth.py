"""The sample-data generator and the committed sample files."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from qakit import schema as S
from qakit.datasets import load_sample, load_sample_scorecard, sample_data_dir
from qakit.errors import ParameterError
from qakit.synth import CALIBRATION_BIAS, CATEGORIES, generate

# documented in data/README.md ("Expected statistics"), from `python -m qakit.synth --truth`
R_CONVERSATION_TRUE = 0.39


@pytest.fixture(scope="module")
def sample():
    return generate(seed=7)


def test_deterministic_and_seeded():
    a = generate(seed=3, n_agents=6, weeks=2, conversations=600)
    b = generate(seed=3, n_agents=6, weeks=2, conversations=600)
    c = generate(seed=4, n_agents=6, weeks=2, conversations=600)
    for k in a:
        pd.testing.assert_frame_equal(a[k], b[k])
    assert not a["ratings"]["rating"].equals(c["ratings"]["rating"])


def test_committed_files_are_current(sample):
    """The files in data/ are exactly what `./qa data` writes for seed 7 (surveys: generate()'s answers
    followed by the unanswered CSAT invitations of qakit.synth.unanswered_surveys, issue 26)."""
    for name in ("ratings", "conversations", "surveys", "calibration", "agents", "agents_truth"):
        committed = pd.read_parquet(sample_data_dir() / f"{name}.parquet")
        expected = sample[name]
        if name == "surveys":
            assert committed[S.SCORE].isna().sum() > 0
            expected = pd.concat([expected, committed.iloc[len(expected):]], ignore_index=True)
        pd.testing.assert_frame_equal(committed, expected, check_dtype=False)


def test_unanswered_surveys_and_staffing_are_current_and_leave_the_rest_alone():
    """Issue 26: the unanswered invitations and the staffing plan come from their own generators; the
    committed files equal what they produce, the answers before them are generate()'s unchanged, and
    every unanswered invitation is of a resolved conversation without a CSAT answer."""
    from qakit.staffing import STAFFING
    from qakit.synth import _generate, staffing_plan, unanswered_surveys

    tables, hidden = _generate(seed=7)
    extra = unanswered_surveys(tables, hidden, seed=7)
    committed = pd.read_parquet(sample_data_dir() / "surveys.parquet")
    pd.testing.assert_frame_equal(committed.iloc[len(tables["surveys"]):].reset_index(drop=True), extra,
                                  check_dtype=False)
    assert extra[S.SCORE].isna().all() and extra[S.KIND].eq("csat").all()
    conv = tables["conversations"].set_index(S.CONVERSATION_ID)
    assert conv.loc[extra[S.CONVERSATION_ID], S.RESOLVED_AT].notna().all()
    answered = set(tables["surveys"].query("kind == 'csat'")[S.CONVERSATION_ID])
    assert not set(extra[S.CONVERSATION_ID]) & answered
    S.validate(committed, "surveys")
    plan = pd.read_parquet(sample_data_dir() / "staffing.parquet")
    pd.testing.assert_frame_equal(plan, staffing_plan(hidden, seed=7), check_dtype=False)
    S.validate(plan, STAFFING)


def test_sizes_and_ranges(sample):
    conv, sv, r = sample["conversations"], sample["surveys"], sample["ratings"]
    assert conv[S.AGENT_ID].nunique() == 40 and len(conv) == 30_000
    assert set(conv[S.CHANNEL]) == {"chat", "email", "phone"} and conv[S.TEAM].nunique() == 4
    span = conv[S.CREATED_AT].max() - conv[S.CREATED_AT].min()
    assert pd.Timedelta(days=80) < span <= pd.Timedelta(weeks=12)
    for kind, lo, hi in (("csat", 1, 5), ("nps", 0, 10), ("ces", 1, 7)):
        s = sv.loc[sv[S.KIND].eq(kind), S.SCORE]
        assert s.between(lo, hi).all() and s.min() == lo and s.max() == hi
    resolved = conv[S.RESOLVED_AT].notna().sum()
    assert 0.2 < (sv[S.KIND].eq("csat").sum() / resolved) < 0.3
    # ~5 reviews per agent per week: 40 agents x 12 weeks x 5
    assert r[S.REVIEW_ID].nunique() == pytest.approx(40 * 12 * 5, rel=0.02)
    assert r[S.CATEGORY].nunique() == len(CATEGORIES) == 7
    assert 0.02 < r[S.RATING].isna().mean() < 0.25
    assert 0.05 < conv[S.ESCALATED].mean() < 0.12
    assert conv[S.CUSTOMER_ID].value_counts().max() > 5  # repeat customers


def test_internally_consistent(sample):
    conv, sv, r = (S.validate(sample[k], k) for k in ("conversations", "surveys", "ratings"))
    fr = conv.dropna(subset=[S.FIRST_RESPONSE_AT])
    assert (fr[S.FIRST_RESPONSE_AT] >= fr[S.CREATED_AT]).all()
    rs = conv.dropna(subset=[S.RESOLVED_AT])
    assert (rs[S.RESOLVED_AT] >= rs[S.FIRST_RESPONSE_AT]).all()
    assert conv.loc[conv[S.RESOLVED_AT].isna(), S.STATUS].isin(["open", "pending"]).all()
    assert sv[S.CONVERSATION_ID].isin(conv[S.CONVERSATION_ID]).all()
    merged = r.merge(conv[[S.CONVERSATION_ID, S.AGENT_ID]], on=S.CONVERSATION_ID, suffixes=("", "_conv"))
    assert (merged[S.AGENT_ID] == merged["agent_id_conv"]).all()
    esc = r.merge(conv[[S.CONVERSATION_ID, S.ESCALATED]], on=S.CONVERSATION_ID)
    eh = esc[esc[S.CATEGORY].eq("Escalation handling")]
    assert eh.loc[~eh[S.ESCALATED].astype(bool), S.RATING].isna().all()
    scores = load_sample_scorecard().score(r)
    assert scores[S.IQS].notna().all() and len(S.exclusions(scores)) == 0


def test_calibration_biases_recovered(sample):
    """Leave-one-out deviation of each calibration reviewer on the k-point categories.

    Reviewer i's expected deviation from the mean of the other four is
    b_i - mean(b_others) (in rating steps), a little attenuated by rounding and clipping:
    cal_rev_2: 0.6 - (0 - 0.6 + 0 + 0.25)/4 = 0.6875; cal_rev_3: -0.6 - (0 + 0.6 + 0 + 0.25)/4 = -0.8125.
    With ~190 ratings per reviewer and rating noise sd ~0.8 the SE is ~0.06, so 0.2 steps is > 3 SE.
    """
    cal = sample["calibration"]
    scaled = [c for c, spec in CATEGORIES.items() if spec[0] == "scale"]
    c = cal[cal[S.CATEGORY].isin(scaled)].dropna(subset=[S.RATING])
    key = [S.CONVERSATION_ID, S.CATEGORY]
    tot = c.groupby(key)[S.RATING].transform("sum")
    cnt = c.groupby(key)[S.RATING].transform("count")
    loo = (tot - c[S.RATING]) / (cnt - 1)
    dev = (c[S.RATING] - loo).groupby(c[S.REVIEWER_ID]).mean()
    b = pd.Series(CALIBRATION_BIAS)
    expected = b - (b.sum() - b) / (len(b) - 1)
    for rev in b.index:
        assert dev[rev] == pytest.approx(expected[rev], abs=0.2), rev
    assert dev.idxmax() == "cal_rev_2" and dev.idxmin() == "cal_rev_3"


def test_documented_iqs_csat_correlation_recovered(sample):
    """data/README.md documents r = 0.39 (conversation level); the sample's Fisher-z 99% CI
    (n ~ 600 reviewed conversations with a CSAT answer) must contain it."""
    scores = load_sample_scorecard().score(sample["ratings"])
    cs = sample["surveys"][sample["surveys"][S.KIND].eq("csat")]
    j = scores.merge(cs, on=S.CONVERSATION_ID)
    res = stats.pearsonr(j[S.IQS], j[S.SCORE])
    ci = res.confidence_interval(0.99)
    assert ci.low < R_CONVERSATION_TRUE < ci.high
    assert len(j) > 400


def test_load_sample_unknown_name():
    with pytest.raises(ParameterError, match=r"unknown sample table 'rating'; available: \['ratings'"):
        load_sample("rating")


def test_load_sample_is_independent_of_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert len(load_sample("agents")) == 40


# --- the optional tables (calls, customers, disputes, messages) ----------------------------------------------------
@pytest.fixture(scope="module")
def operations():
    from qakit.synth import _generate, generate_operations

    tables, hidden = _generate(seed=7)
    return tables, generate_operations(tables, hidden, seed=7)


def test_optional_files_are_current_small_and_valid(operations):
    _, ops = operations
    for name, df in ops.items():
        p = sample_data_dir() / f"{name}.parquet"
        assert p.stat().st_size < 2 * 1024 ** 2, name
        committed = pd.read_parquet(p)
        pd.testing.assert_frame_equal(committed, df, check_dtype=False)
        S.validate(committed, name)  # the data contract of each table


def test_optional_tables_are_consistent_with_the_organisation(operations):
    base, ops = operations
    conv, ratings = base["conversations"], base["ratings"]
    cu = ops["customers"].set_index("customer_id")
    # every conversation's customer is in the customers table, with the same value (or none: 2 % unknown)
    v = conv.drop_duplicates("customer_id").set_index("customer_id")["customer_value"]
    assert set(v.index) <= set(cu.index)
    known = cu.loc[v.index, "customer_value"].notna()
    np.testing.assert_allclose(cu.loc[v.index[known], "customer_value"], v[known])
    assert 0.01 < cu["customer_value"].isna().mean() < 0.03
    # disputes name existing reviews, filed after them by the reviewed agent; accepted ones raise the score
    d = ops["disputes"]
    rv = ratings.drop_duplicates("review_id").set_index("review_id")
    assert set(d["review_id"]) <= set(rv.index)
    assert (d["created_at"].to_numpy() > rv.loc[d["review_id"], "reviewed_at"].to_numpy()).all()
    assert (d["disputer_id"].to_numpy() == rv.loc[d["review_id"], "agent_id"].to_numpy()).all()
    acc = d["accepted"].fillna(False).astype(bool)
    assert (d.loc[acc, "score_after"] >= d.loc[acc, "score_before"]).all() and d.loc[~acc, "score_after"].isna().all()
    # low scores are disputed more: the disputed reviews' mean score is below the rest's (Welch t-test)
    sc = load_sample_scorecard().score(ratings)
    disputed = sc["review_id"].isin(set(d["review_id"]))
    assert stats.ttest_ind(sc.loc[disputed, "iqs"], sc.loc[~disputed, "iqs"], equal_var=False).pvalue < 1e-6
    # calls: answered ones have a speed and a phone agent; abandoned ones neither
    c = ops["calls"]
    phone = set(base["agents"].query("channel == 'phone'")["agent_id"])
    assert set(c.loc[c["answered"], "agent_id"]) <= phone and c.loc[~c["answered"], "agent_id"].isna().all()
    assert c.loc[c["answered"], "speed_of_answer_s"].notna().all()
    # messages: every reviewed chat / email conversation has text, alternating customer first, agent last
    m = ops["messages"]
    reviewed = set(ratings["conversation_id"]) & set(conv.loc[conv["channel"].isin(["chat", "email"]), "conversation_id"])
    assert reviewed <= set(m["conversation_id"])
    first_last = m.groupby("conversation_id")["author_role"].agg(["first", "last"])
    assert (first_last["first"] == "customer").all() and (first_last["last"] == "agent").all()
    assert set(m["language"]) == {"en", "de", "pt"}


def test_sample_text_is_polite_in_proportion_to_quality(operations):
    """Automatic scores track the human ones at conversation level: rule-based AQS per conversation
    against the review IQS of the same conversation (Pearson, scipy)."""
    import qakit
    from qakit import autoqa

    base, ops = operations
    auto = autoqa.auto_ratings(autoqa.detect(ops["messages"]))
    card = qakit.Scorecard([qakit.Category(r.name) for r in autoqa.DEFAULT_RULES])
    a = card.score(auto.drop(columns="source"))[["conversation_id", "iqs"]]
    h = load_sample_scorecard().score(base["ratings"])[["conversation_id", "iqs"]]
    j = a.merge(h, on="conversation_id", suffixes=("_auto", "_human"))
    r = stats.pearsonr(j["iqs_auto"], j["iqs_human"])
    assert len(j) >= 1500 and r.statistic > 0.3 and r.pvalue < 1e-10


def test_benchmark_generator_is_the_synth_one():
    """benchmarks/bench_autoqa.py draws its messages from qakit.synth (one generator)."""
    import importlib.util

    from qakit import synth

    spec = importlib.util.spec_from_file_location("bench_autoqa", sample_data_dir().parent / "benchmarks" / "bench_autoqa.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.make_messages is synth.make_messages
    m = synth.make_messages(50, seed=1)
    assert S.validate(m, "messages").shape[0] == len(m) and m["conversation_id"].nunique() == 50
