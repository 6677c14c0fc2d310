"""Small hand-made input tables the KPI tests share (one copy: ``from frames import conv_frame``)."""

from __future__ import annotations

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
