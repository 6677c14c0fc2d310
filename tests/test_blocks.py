"""Row blocks (qakit.scorecard._blocks): large tables are validated and scored in blocks of whole
rows on threads. These tests shrink the block sizes so that small random tables take the block
path, and check it against the one-pass path: the same scores bitwise, the same failing
categories, the same off-scale rows reported (whichever block they fall in)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from qakit import Category, Scorecard
from qakit.errors import DataValidationError
from qakit.scorecard import _blocks, score_matrix
from test_engine_properties import cards_and_ratings


@pytest.fixture
def tiny_blocks(monkeypatch):
    """Blocks of 4 cells from 4 cells up, two threads."""
    def use(on: bool):
        monkeypatch.setattr(_blocks, "MIN_CELLS", 4 if on else 10**12)
        monkeypatch.setattr(_blocks, "BLOCK_CELLS", 4)
        monkeypatch.setenv("QAKIT_THREADS", "2")
    return use


def test_row_blocks_cover_every_row_once(monkeypatch):
    monkeypatch.setattr(_blocks, "MIN_CELLS", 100)
    monkeypatch.setattr(_blocks, "BLOCK_CELLS", 30)
    assert _blocks.row_blocks(9, 10) == [(0, 9)]  # 90 cells: one pass
    assert _blocks.row_blocks(25, 10) == [(0, 3), (3, 6), (6, 9), (9, 12), (12, 15), (15, 18), (18, 21), (21, 24),
                                          (24, 25)]
    assert _blocks.row_blocks(100, 1000) == [(a, a + 1) for a in range(100)]  # a row wider than a block: one per block


def test_threads_env(monkeypatch):
    monkeypatch.setenv("QAKIT_THREADS", "1")
    assert _blocks.threads() == 1
    monkeypatch.setenv("QAKIT_THREADS", "64")
    assert _blocks.threads() == 8
    monkeypatch.setenv("QAKIT_THREADS", "x")
    assert 1 <= _blocks.threads() <= 8


def test_score_matrix_blocks_hand_example(tiny_blocks):
    """Tone 1-5 weight 1, Solution binary weight 3 and critical: (3, 1) -> (50 * 1 + 100 * 3) / 4
    = 87.5; (5, 0) fails -> 0; all N/A -> NaN; (1, 1) -> 75; (5, 1) -> 100; (2, N/A) -> 25."""
    tiny_blocks(True)
    card = Scorecard([Category("Tone", 1.0, scale=5), Category("Solution", 3.0, critical=True)])
    R = np.array([[3, 1], [5, 0], [np.nan, np.nan], [1, 1], [5, 1], [2, np.nan]], dtype=float)
    assert len(_blocks.row_blocks(*R.shape)) == 3
    res = score_matrix(R, card)
    np.testing.assert_array_equal(res.iqs, [87.5, 0.0, np.nan, 75.0, 100.0, 25.0])
    np.testing.assert_array_equal(res.critical_failed, [False, True, False, False, False, False])
    np.testing.assert_array_equal(res.n_rated, [2, 2, 0, 2, 2, 1])


@pytest.mark.slow  # hypothesis over the block path
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cards_and_ratings())
def test_block_path_equals_one_pass(case):
    card, df = case
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_blocks, "MIN_CELLS", 10**12)
        one = card.score(df)
        mp.setattr(_blocks, "MIN_CELLS", 4)
        mp.setattr(_blocks, "BLOCK_CELLS", 5)
        mp.setenv("QAKIT_THREADS", "2")
        blocked = card.score(df)
    pd.testing.assert_frame_equal(one, blocked)


@pytest.mark.parametrize("categorical", [False, True])
def test_off_scale_rows_found_in_every_block(tiny_blocks, categorical, monkeypatch):
    from qakit.scorecard import validate

    early = []
    real = validate._early_off_scale
    monkeypatch.setattr(validate, "_early_off_scale", lambda *a: early.append(real(*a)) or early[-1])
    card = Scorecard([Category("Tone", 1.0, scale=5), Category("Solution", 3.0, critical=True)])
    rows = [dict(review_id=f"r{i}", conversation_id=f"c{i}", agent_id="a", reviewer_id="q",
                 reviewed_at="2026-11-02", category=c, rating=3.0 if c == "Tone" else 1.0)
            for i in range(30) for c in ("Tone", "Solution")]
    df = pd.DataFrame(rows)
    if categorical:  # (categories in card order: checked on a worker thread beside the contract check)
        df["category"] = pd.Categorical(df["category"], categories=["Tone", "Solution"])
    df.loc[1, "rating"] = 0.5   # Solution of r0: first block
    df.loc[40, "rating"] = 7.0  # Tone of r20: a later block
    df.loc[59, "rating"] = -1.0  # Solution of r29: the last block (-1 is the N/A marker of the fast path)
    messages = []
    for on in (False, True):
        tiny_blocks(on)
        with pytest.raises(DataValidationError) as e:
            Scorecard.score(card, df)
        messages.append(str(e.value))
    assert messages[0] == messages[1]
    assert "'Tone' (allowed: [1, 2, 3, 4, 5]) (1 row, e.g. 'r20')" in messages[1]
    assert "'Solution' (allowed: [0, 1]) (2 rows, e.g. 'r0', 'r29')" in messages[1]
    assert (early[-1] is not None) == categorical  # the worker-thread path was taken


def test_early_check_needs_the_validated_arrays(tiny_blocks, monkeypatch):
    """When the validated columns are not the very arrays the early check read (as when the
    contract converts a column), its result is not used: the check runs again on them."""
    tiny_blocks(True)
    from qakit.scorecard import validate

    card = Scorecard([Category("Tone", 1.0, scale=5), Category("Solution", 3.0, critical=True)])
    df = pd.DataFrame({"review_id": np.repeat([f"r{i}" for i in range(20)], 2), "agent_id": "a",
                       "conversation_id": np.repeat([f"c{i}" for i in range(20)], 2), "reviewer_id": "q",
                       "reviewed_at": "2026-11-02",
                       "category": pd.Categorical(["Tone", "Solution"] * 20, categories=["Tone", "Solution"]),
                       "rating": np.tile([4.0, 1.0], 20)})
    df.loc[7, "rating"] = 2.0  # Solution of r3: off the binary scale
    calls = []
    monkeypatch.setattr(validate, "_same_array", lambda a, b: calls.append(1) or False)
    with pytest.raises(DataValidationError, match="'Solution' .*1 row, e.g. 'r3'"):
        card.score(df)
    df.loc[7, "rating"] = 1.0
    out = card.score(df)
    assert calls and out["iqs"].tolist() == [(75.0 + 300.0) / 4] * 20  # (4-1)/4*100 = 75, weight 1; 100, weight 3


@pytest.mark.parametrize("blocks", [False, True])
def test_input_records_reach_the_result(tiny_blocks, blocks):
    """Rows a reader already excluded (recorded on the input) stay itemised on the scores, first,
    whichever path scores them."""
    from qakit import schema as S

    tiny_blocks(blocks)
    card = Scorecard([Category("Tone", 1.0, scale=5), Category("Solution", 3.0, critical=True)])
    df = pd.DataFrame({"review_id": np.repeat([f"r{i}" for i in range(6)], 2), "agent_id": "a",
                       "conversation_id": np.repeat([f"c{i}" for i in range(6)], 2), "reviewer_id": "q",
                       "reviewed_at": "2026-11-02", "category": ["Tone", "Solution"] * 6,
                       "rating": [4.0, 1.0] * 5 + [np.nan, np.nan]})
    S.add_exclusion(df, "row dropped by the reader", "rating", ["x9"], source="read_table")
    ex = S.exclusions(card.score(df))
    assert ex["reason"].tolist() == ["row dropped by the reader", "all categories N/A: review not scored"]
    assert ex["row_ids"].tolist() == [("x9",), ("r5",)]
