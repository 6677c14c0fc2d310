"""Benchmark of automatic scoring (issue 18): 100,000 synthetic conversations of ~10 messages each
scored by the rule-based categories and one learned category, on this 2-core machine.

    .venv/bin/python benchmarks/bench_autoqa.py            # full run, writes benchmarks/RESULTS_autoqa.md
    .venv/bin/python benchmarks/bench_autoqa.py --quick    # 5,000 conversations, a smoke run

Targets: <= 60 s and <= 2 GB peak resident memory for the scoring (data generation is timed
apart). The learned category is trained on 2,000 "human-rated" conversations (what a team
reviews in a few weeks) and then predicts every conversation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qakit.autoqa import _text as T  # noqa: E402
from qakit.autoqa import output as O  # noqa: E402
from qakit.autoqa import rules as R  # noqa: E402

# the synthetic text generator lives in qakit.synth (the bundled sample's messages use it too)
from qakit.synth import make_messages  # noqa: E402


def human_ratings(messages: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """'Human' Politeness for the first ``n`` conversations: 0 when the agent was curt."""
    conv = messages["conversation_id"].drop_duplicates().iloc[:n]
    sub = messages[messages["conversation_id"].isin(set(conv)) & messages["author_role"].eq("agent")]
    rude = sub["text"].str.contains("Read the manual|Not our problem|Lesen Sie|Leia o manual|Bye\\.|Tschüss|Tchau", regex=True)
    y = 1.0 - rude.groupby(sub["conversation_id"]).any().reindex(conv).astype(float)
    return pd.DataFrame({"review_id": "r" + conv.to_numpy(), "conversation_id": conv.to_numpy(), "agent_id": "a0",
                         "reviewer_id": "qa1", "reviewed_at": "2026-11-02", "category": "Politeness",
                         "rating": y.to_numpy()})


#: word 1-2-grams only at this scale: character n-grams (sklearn's pure-Python analyzer) cost
#: ~1.6 ms per conversation, 160 s for 100,000 (see NOTES in the README section)
CHAR_NGRAMS = None


def peak_mb() -> float:
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")) / 1024


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--char-ngrams", action="store_true", help="the default model (word + char 2-5-grams): slower")
    a = ap.parse_args(argv)
    n = a.n or (5_000 if a.quick else 100_000)
    global CHAR_NGRAMS
    if a.char_ngrams:
        CHAR_NGRAMS = (2, 5)
    t0 = time.perf_counter()
    msgs = make_messages(n, seed=1)
    labels = human_ratings(msgs, 2_000)
    t_gen = time.perf_counter() - t0
    mem_data = peak_mb()

    t0 = time.perf_counter()
    prepared = T.prepare(msgs)
    t_prep = time.perf_counter() - t0
    t0 = time.perf_counter()
    rule = R.detect(prepared, prepared=True)
    t_rules = time.perf_counter() - t0
    t0 = time.perf_counter()
    learned = O.learned_ratings(prepared, labels, category="Politeness", seed=0, char_ngrams=CHAR_NGRAMS, prepared=True)
    t_learned = time.perf_counter() - t0
    t0 = time.perf_counter()
    auto = O.auto_ratings(rule, learned)
    t_out = time.perf_counter() - t0
    total = t_prep + t_rules + t_learned + t_out
    peak = peak_mb()
    lines = [
        f"# autoqa benchmark ({dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{__import__('os').cpu_count()} cores, Python {platform.python_version()})", "",
        f"{n:,} synthetic conversations, {len(msgs):,} messages (en/de/pt), generated in {t_gen:.1f} s "
        f"(not counted; peak RSS after generation {mem_data:.0f} MB).", "",
        "| step | seconds |", "|---|---|",
        f"| validate + order messages (`_text.prepare`) | {t_prep:.1f} |",
        f"| rule-based categories ({len(R.DEFAULT_RULES)}; `detect`) | {t_rules:.1f} |",
        f"| learned category ({'word + char 2-5-gram' if CHAR_NGRAMS else 'word 1-2-gram'} TF-IDF + LR; train on "
        f"2,000 rated conversations, predict all; `learned_ratings(char_ngrams={CHAR_NGRAMS})`) | {t_learned:.1f} |",
        f"| long ratings table (`auto_ratings`) | {t_out:.1f} |",
        f"| **total scoring** (target <= 60 s) | **{total:.1f}** {'OK' if total <= 60 else 'MISSED'} |", "",
        f"Peak resident memory of the process (data + scoring): **{peak:.0f} MB** (target <= 2048 MB) "
        f"{'OK' if peak <= 2048 else 'MISSED'}.", "",
        f"Rows: {len(auto):,} automatic ratings; rule ratings N/A (not eligible): {int(rule['rating'].isna().sum()):,}.",
    ]
    text = "\n".join(lines)
    print(text)
    if not a.no_write and not a.quick and a.n is None and not a.char_ngrams:
        (ROOT / "benchmarks" / "RESULTS_autoqa.md").write_text(text + "\n", encoding="utf-8")
    return 0 if total <= 60 and peak <= 2048 else 1


if __name__ == "__main__":
    sys.exit(main())
