"""Small hand-made input tables the KPI tests share (one copy: ``from frames import conv_frame``), and
the one comparison of two result tables the engine tests share (``assert_frames_close``)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def conv_frame(**cols) -> pd.DataFrame:
    """A conversations table of ``len(cols[...])`` rows: ids ``c0, c1, ...``, one customer, agent,
    channel and priority, status ``solved``, created 2026-01-05 09:00 UTC, no response or resolution
    unless ``cols`` gives them (any column may be overridden)."""
    n = len(next(iter(cols.values())))
    base = {"conversation_id": [f"c{i}" for i in range(n)], "customer_id": "x", "agent_id": "a",
            "channel": "chat", "priority": "normal", "status": "solved", "created_at": "2026-01-05 09:00Z",
            "first_response_at": None, "resolved_at": None}
    base.update(cols)
    return pd.DataFrame(base)


def assert_frames_close(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> None:
    """Same rows (by ``keys``), same non-numeric values, numbers equal to 1e-9 (an engine's sums may
    differ from pandas' in the last bits)."""
    a, b = a.sort_values(keys).reset_index(drop=True), b.sort_values(keys).reset_index(drop=True)
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for c in a.columns:
        if pd.api.types.is_numeric_dtype(a[c]) and not pd.api.types.is_bool_dtype(a[c]):
            np.testing.assert_allclose(b[c].to_numpy(float), a[c].to_numpy(float), rtol=0, atol=1e-9, equal_nan=True,
                                       err_msg=c)
        else:
            assert a[c].astype(str).tolist() == b[c].astype(str).tolist(), c


#: a card with a built-in automatic category, a phrase rule and a learned one (the AutoQA report tests)
AUTO_CARD = """\
name: Card with automatic categories
categories:
  - name: Opening
    auto: Greeting
  - name: No blame
    auto:
      phrases: {en: [your fault]}
      found: 0
      missing: 1
  - name: Tone
    auto: learned
"""
