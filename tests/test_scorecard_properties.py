"""Property tests (hypothesis) for the scorer over generated cards and ratings."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qakit import Category, Scorecard
from qakit.scorecard import MODES

#: hypothesis-heavy properties: ./qa test runs them, ./qa test --fast leaves them out
pytestmark = pytest.mark.slow

SCALES = ["binary", 3, 4, 5, [100, 75, 25, 0], "0-2"]


@st.composite
def card_and_ratings(draw):
    n_cat = draw(st.integers(2, 6))
    cats = []
    for j in range(n_cat):
        crit = draw(st.booleans()) and j < 2
        w = draw(st.floats(0.1, 5)) if crit else draw(st.sampled_from([0.0, 0.5, 1.0, 1.25, 2.0, 3.7]))
        cats.append(Category(f"c{j}", w, critical=crit, scale=draw(st.sampled_from(SCALES))))
    if sum(c.weight for c in cats) == 0:
        cats[0] = Category("c0", 1.0, scale=cats[0].scale)
    card = Scorecard(cats, mode=draw(st.sampled_from(MODES)))
    n_rev = draw(st.integers(1, 12))
    rows = []
    for i in range(n_rev):
        for c in cats:
            na = draw(st.integers(0, 4)) == 0
            r = np.nan if na else draw(st.sampled_from(c.scale.values))
            rows.append(dict(review_id=f"r{i}", conversation_id=f"conv{i}", agent_id=f"a{i % 3}",
                             reviewer_id="q", reviewed_at="2026-11-02", category=c.name, rating=r))
    return card, pd.DataFrame(rows)


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _scores(card, ratings):
    return card.score(ratings).set_index("review_id").sort_index()


@SETTINGS
@given(card_and_ratings())
def test_score_in_range_or_nan(cr):
    card, ratings = cr
    s = _scores(card, ratings)
    iqs = s["iqs"].to_numpy()
    ok = np.isnan(iqs) | ((iqs >= 0) & (iqs <= 100 + 1e-9))
    assert ok.all()
    rows = card.category_rows(ratings)
    weighted_rated = rows[rows["rating"].notna() & (rows["category"].map(card.weights) > 0)]
    expected_nan = ~s.index.isin(weighted_rated["review_id"])
    assert (np.isnan(iqs) == expected_nan).all()
    from qakit.schema import exclusions
    ex = exclusions(card.score(ratings))
    assert sorted(sum(map(list, ex["row_ids"]), [])) == sorted(s.index[expected_nan])


@SETTINGS
@given(card_and_ratings(), st.randoms(use_true_random=False))
def test_row_order_invariant(cr, rnd):
    card, ratings = cr
    perm = list(range(len(ratings)))
    rnd.shuffle(perm)
    a = _scores(card, ratings)
    b = _scores(card, ratings.iloc[perm])
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)


@SETTINGS
@given(card_and_ratings(), st.floats(0.01, 100))
def test_scaling_all_weights_changes_nothing(cr, c):
    card, ratings = cr
    scaled = card.with_changes(weights={k: w * c for k, w in card.weights.items()})
    a, b = _scores(card, ratings), _scores(scaled, ratings)
    np.testing.assert_allclose(a["iqs"], b["iqs"], rtol=1e-9, atol=1e-9)
    assert (a["passed"].fillna(False) == b["passed"].fillna(False)).all() or np.allclose(a["iqs"], 80, atol=1e-6)


@SETTINGS
@given(card_and_ratings())
def test_adding_an_na_rating_changes_nothing(cr):
    card, ratings = cr
    extra_cat = Category("extra", 2.0, scale=5)
    bigger = Scorecard(card.categories + (extra_cat,), mode=card.mode)
    first = ratings.drop_duplicates("review_id").assign(category="extra", rating=np.nan)
    with_na = pd.concat([ratings, first], ignore_index=True)
    a, b = _scores(card, ratings), _scores(bigger, with_na)
    np.testing.assert_allclose(a["iqs"], b["iqs"], rtol=1e-12)
    assert (a["n_rated"] == b["n_rated"]).all()


@SETTINGS
@given(card_and_ratings())
def test_any_critical_failure_gives_zero(cr):
    card, ratings = cr
    s = _scores(card, ratings)
    assert (s.loc[s["critical_failed"], "iqs"] == 0).all()
    crit = {c.name: c for c in card.categories if c.critical}
    rows = card.category_rows(ratings)
    failing = rows[rows["category"].isin(list(crit)) & (rows["category_score"] < 50)]["review_id"].unique()
    assert set(failing) == set(s.index[s["critical_failed"]])


ID_COLUMNS = ["review_id", "conversation_id", "agent_id", "reviewer_id", "category"]


def _as_categorical(ratings, rnd):
    """Ids and categories as pandas categoricals (what ``read_table(..., categorical=True)``
    gives), categories listed in a random order and with an unused extra value, so the fast
    paths on integer codes are exercised with codes that are not the card's positions."""
    out = ratings.copy()
    for c in ID_COLUMNS:
        cats = list(pd.unique(out[c].dropna())) + [f"unused-{c}"]  # missing values: code -1
        rnd.shuffle(cats)
        out[c] = pd.Categorical(out[c], categories=cats)
    return out


def _plain(scored):
    return scored.astype({c: "str" for c in ID_COLUMNS if c in scored.columns})


@SETTINGS
@given(card_and_ratings(), st.randoms(use_true_random=False), st.booleans())
def test_categorical_ids_give_the_same_scores(cr, rnd, shuffle):
    """Reviews as contiguous runs of categorical codes (the export order) take the run-based
    path (no per-row review codes, sums by ``reduceat``); shuffled rows take the general one.
    Both must give exactly the text-id result, row for row."""
    card, ratings = cr
    if shuffle:
        perm = list(range(len(ratings)))
        rnd.shuffle(perm)
        ratings = ratings.iloc[perm].reset_index(drop=True)
    text = card.score(ratings)
    cat = card.score(_as_categorical(ratings, rnd))
    pd.testing.assert_frame_equal(_plain(text), _plain(cat), check_exact=True)
    rows_text = card.category_rows(ratings)
    rows_cat = card.category_rows(_as_categorical(ratings, rnd))
    np.testing.assert_array_equal(rows_text["category_score"].to_numpy(), rows_cat["category_score"].to_numpy())


CORRUPTIONS = ["duplicate_row", "other_agent", "other_conversation", "off_scale", "fractional", "minus_one",
               "missing_review", "missing_category", "unknown_category", "split_review", "none"]


def _corrupt(ratings, kind, i):
    """One realistic export defect at row ``i`` (or none)."""
    df = ratings.copy()
    i = i % len(df)
    if kind == "duplicate_row":
        df = pd.concat([df.iloc[: i + 1], df.iloc[[i]], df.iloc[i + 1:]], ignore_index=True)
    elif kind == "other_agent":
        df.loc[i, "agent_id"] = "intruder"
    elif kind == "other_conversation":
        df.loc[i, "conversation_id"] = "conv-x"
    elif kind == "off_scale":
        df.loc[i, "rating"] = 7.0
    elif kind == "fractional":
        df.loc[i, "rating"] = 0.5
    elif kind == "minus_one":
        df.loc[i, "rating"] = -1.0
    elif kind == "missing_review":
        df.loc[i, "review_id"] = None
    elif kind == "missing_category":
        df.loc[i, "category"] = None
    elif kind == "unknown_category":
        df.loc[i, "category"] = "not-on-card"
    elif kind == "split_review":  # move one row to the end: a review's rows no longer together
        df = pd.concat([df.drop(index=i), df.loc[[i]]], ignore_index=True)
    return df


def _outcome(card, ratings):
    try:
        return "ok", _plain(card.score(ratings))
    except Exception as e:  # noqa: BLE001 - the type and message are what is compared
        return type(e).__name__, str(e)


@SETTINGS
@given(card_and_ratings(), st.sampled_from(CORRUPTIONS), st.integers(0, 10_000), st.randoms(use_true_random=False))
def test_categorical_and_text_ids_agree_on_bad_input(cr, kind, i, rnd):
    """Differential test of the integer-code fast paths: after one export defect (duplicate row,
    review spread over two agents or conversations, off-scale, fractional or -1 rating, missing
    ids, unknown category, a review's rows split apart), ids as text and ids as categoricals give
    the same outcome: the same scores, or the same error type and message."""
    card, ratings = cr
    bad = _corrupt(ratings, kind, i)
    kind_t, out_t = _outcome(card, bad)
    kind_c, out_c = _outcome(card, _as_categorical(bad, rnd))
    assert kind_t == kind_c, (kind_t, kind_c, out_t, out_c)
    if kind_t == "ok":
        pd.testing.assert_frame_equal(out_t, out_c, check_exact=True)
    else:
        assert out_t == out_c
