"""Benchmark of automatic scoring (issue 18): 100,000 synthetic conversations of ~10 messages each
scored by the rule-based categories and one learned category, on this 2-core machine.

    ./qa bench                                             # the full benchmark run includes this one
    ./qa bench --only autoqa                               # this one alone (section "Automatic scoring")
    .venv/bin/python benchmarks/bench_autoqa.py            # full run, writes benchmarks/RESULTS_autoqa.md
    .venv/bin/python benchmarks/bench_autoqa.py --quick    # 5,000 conversations, a smoke run

Targets: <= 60 s and <= 2 GB peak resident memory for the scoring (data generation is timed
apart). The learned category is the issue's model, TF-IDF of word 1-2-grams and character
2-5-grams (within words) -> logistic regression (``--words-only`` for word n-grams alone); it is
trained on 2,000 "human-rated" conversations (what a team reviews in a few weeks) and then
predicts every conversation. ``./qa bench`` runs it in a fresh process, so the peak memory is
this benchmark's own.
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


#: the issue's model: word 1-2-grams + character 2-5-grams (counted once per distinct word,
#: ``learned.CharWbTfidf``); ``--words-only`` sets None
CHAR_NGRAMS = (2, 5)


def with_rare_words(messages: pd.DataFrame, k: int, seed: int = 5) -> pd.DataFrame:
    """Every agent message gets one pseudo-word drawn from ``k`` random 7-letter words (names,
    typos, ids: the long tail of a real vocabulary that the templates lack)."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyzäöüçãé"))
    vocab = np.array(["".join(w) for w in letters[rng.integers(0, len(letters), (k, 7))]], dtype=object)
    agent = messages["author_role"].eq("agent").to_numpy()
    text = messages["text"].to_numpy(dtype=object).copy()
    text[agent] = text[agent] + " " + vocab[rng.integers(0, k, int(agent.sum()))]
    return messages.assign(text=pd.array(text, dtype="str"))


#: profiling notes kept under the measured figures in RESULTS_autoqa.md (measured by hand, see the dates)
NOTES = """## Notes on the rules (issue 28)

2026-12-06, this machine, 20,000 synthetic conversations, one Arrow kernel call per category: every
rule now runs on RE2 (linear time; custom regexes too), with position-aware windows and phrase banks
in five languages (six categories instead of five). The first version of the banks made the
`Further help` pattern 38x slower (1.52 s against 0.04 s for its `match_substring_regex` call): a
word-ending wildcard (`question*`) compiled to a loop over the full Unicode letter class, whose
combination with the other alternatives overflowed RE2's DFA memory, so RE2 fell back to its NFA.
Word endings now match ASCII word characters or any non-ASCII character: the six categories take
0.01-0.04 s per call. At 100,000 conversations the rules took 8.9 s while the load average was 5-9
(other test suites on the 2 cores; `_text.prepare`, unchanged code, took 8.0 s in this run
against 1.9 s in the quieter run of 2026-11-27): wall times under that load are inflated.

## Profiling notes (learned category)

2026-11-27, this machine, while other engineers' test suites ran (load average 4-7 on 2 cores): the
learned step alone (`learned_ratings`, word + char 2-5-grams, train on 2,000, predict 100,000), the
code before and after this change interleaved in one process, same data, identical ratings:

| text | before: wall / CPU (s) | after: wall / CPU (s) |
|---|---|---|
| the templates (102k distinct agent words) | 21.0 / 9.8, 23.4 / 11.6 | 10.6 / 5.2, 9.3 / 4.7 |
| long tail (+1 word per agent message from 1M random ones: 508k distinct) | 42.4 / 23.7, 32.9 / 22.8 | 12.0 / 8.8, 13.9 / 9.7 |

pyinstrument showed three costs: (1) sklearn's Python `char_wb` analyzer once per distinct word
(5.5 of 12 s in prediction at 20k conversations with 200k rare words): the n-grams of all distinct
words are now Arrow slices (one kernel call per n and offset over the words long enough) looked up
in the vocabulary with `pyarrow.compute.index_in`, equal to sklearn's (tests, incl. random texts
with tabs, NBSP, the dotted capital I and final sigma); (2) `LogisticRegression(lbfgs)`: 3.3 s for
27 iterations on 2,000 texts when the machine is busy, 0.2 s on one thread (OpenMP threads spinning
against other processes): fit and predict run under `threadpoolctl.threadpool_limits(1)`, same
iterations and coefficients; (3) one text per conversation joined with a pandas groupby of Python
strings (2.3 s at 20k): now one Arrow `binary_join` over list offsets. The word 1-2-gram TF-IDF is
still sklearn's (its regex tokeniser per text): the largest remaining part of the step.
"""


def peak_mb() -> float:
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")) / 1024


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--char-ngrams", action="store_true", help="word + char 2-5-grams (the default; kept for old commands)")
    ap.add_argument("--words-only", action="store_true", help="word 1-2-grams only (no character n-grams)")
    ap.add_argument("--json", default=None, help="also write the figures as JSON to this path (for benchmarks/run.py)")
    a = ap.parse_args(argv)
    n = a.n or (5_000 if a.quick else 100_000)
    global CHAR_NGRAMS
    if a.words_only:
        CHAR_NGRAMS = None
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
    docs = learned_docs_words(prepared)  # after the peak: not part of the scoring
    k_rare = 1_000_000 if n >= 100_000 else 50_000
    rare = T.prepare(with_rare_words(msgs, k_rare))
    rare_docs = learned_docs_words(rare)
    t0 = time.perf_counter()
    O.learned_ratings(rare, labels, category="Politeness", seed=0, char_ngrams=CHAR_NGRAMS, prepared=True)
    t_rare = time.perf_counter() - t0
    peak_rare = peak_mb()
    t_regex, t_worst, n_worst = safe_regex_rows(prepared)
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
        f"| **total scoring** (target <= 60 s) | **{total:.1f}** {'OK' if total <= 60 else 'MISSED'} |",
        f"| stress: the learned category again, every agent message with one more word from {k_rare:,} random ones "
        f"({rare_docs[1]:,} distinct agent words instead of {docs[1]:,}) | {t_rare:.1f} |",
        f"| safe custom rules: a scorecard `auto:` regex `(a+)+$` (exponential in a backtracking engine) over every "
        f"agent message, RE2 | {t_regex:.1f} |",
        f"| time bound per message: the six built-in categories and `(a+)+$` on one message of {n_worst:,} 'a' "
        f"characters then '!' (searched up to `detect(max_chars=100_000)`) | {t_worst:.2f} |", "",
        f"Peak resident memory of the process (data + scoring): **{peak:.0f} MB** (target <= 2048 MB) "
        f"{'OK' if peak <= 2048 else 'MISSED'}; after the stress row {peak_rare:.0f} MB.", "",
        f"Rows: {len(auto):,} automatic ratings; rule ratings N/A (not eligible): {int(rule['rating'].isna().sum()):,}. "
        f"The model read {docs[0]:,} agent words ({docs[1]:,} distinct) in {docs[2]:,} distinct conversation texts "
        f"of {n:,} (identical texts are predicted once; character n-grams are counted once per distinct word, so "
        "a long-tailed real vocabulary costs more than these templates: the stress row measures that).",
    ]
    lines += ["", f"Load average (1 min) at the end: {__import__('os').getloadavg()[0]:.1f} on "
              f"{__import__('os').cpu_count()} cores (other processes share the machine; wall times grow with it)."]
    text = "\n".join(lines)
    print(text)
    if not a.no_write and not a.quick and a.n is None and not a.words_only:
        (ROOT / "benchmarks" / "RESULTS_autoqa.md").write_text(text + "\n\n" + NOTES, encoding="utf-8")
    if a.json:
        import json

        Path(a.json).write_text(json.dumps({"n": n, "seconds": total, "peak_mb": peak, "text": text,
                                            "char_ngrams": CHAR_NGRAMS, "stress_learned_s": t_rare,
                                            "stress_distinct_words": rare_docs[1]}), encoding="utf-8")
    return 0 if total <= 60 and peak <= 2048 else 1


def safe_regex_rows(prepared: pd.DataFrame) -> tuple[float, float, int]:
    """Seconds of a catastrophic-for-backtracking custom regex over all messages, and of the
    built-ins + that regex on one 1 MB message (searched up to ``max_chars``)."""
    import qakit

    card = qakit.load_scorecard_text("categories:\n  - name: A run\n    auto:\n      regex: {any: ['(a+)+$']}\n")
    t0 = time.perf_counter()
    R.detect(prepared, prepared=True, card=card)
    t_regex = time.perf_counter() - t0
    n = 1_000_000
    one = pd.DataFrame({"conversation_id": "w", "message_id": ["w1", "w2"], "author_role": ["customer", "agent"],
                        "agent_id": [None, "a"], "sent_at": None,
                        "text": ["my order is late, where is it now please", "a" * n + "!"]})
    rules = [*R.DEFAULT_RULES, R.rules_from_card(card)[0]]
    t0 = time.perf_counter()
    R.detect(one, rules=rules)
    return t_regex, time.perf_counter() - t0, n


def learned_docs_words(prepared: pd.DataFrame) -> tuple[int, int, int]:
    """Agent words in the texts the model reads, how many distinct, and how many distinct
    conversation texts (the model's documents)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from qakit.autoqa.learned import documents

    agent = pa.array(prepared.loc[prepared["author_role"].eq("agent"), "text"], type=pa.large_string())
    words = pc.list_flatten(pc.utf8_split_whitespace(pc.utf8_lower(agent)))
    n_docs = documents(prepared, prepared=True)["text"].nunique()
    return len(words), pc.count_distinct(words).as_py(), int(n_docs)


def bench(args, results) -> None:
    """The ``./qa bench`` hook (benchmarks/run.py): this benchmark in a fresh process (its own peak
    memory), its section and targets in RESULTS.md; a full run also refreshes RESULTS_autoqa.md."""
    import json
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "autoqa.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--json", str(out)] + (["--quick"] if args.quick else [])
        subprocess.run(cmd, cwd=ROOT, check=False)
        r = json.loads(out.read_text(encoding="utf-8"))
    body = r["text"].split("\n", 1)[1].strip()  # without the file's own title line
    results["autoqa"] = {
        "section": "## Automatic scoring (issue 18; `benchmarks/bench_autoqa.py`, also in RESULTS_autoqa.md)\n\n" + body,
        "targets": [(f"autoqa: {r['n']:,} conversations, rules + one learned category (word + char n-grams) <= 60 s",
                     r["seconds"] <= 60, f"{r['seconds']:.1f} s"),
                    ("autoqa: peak RSS of that process <= 2 GB", r["peak_mb"] <= 2048, f"{r['peak_mb']:.0f} MB"),
                    (f"autoqa stress: the learned category alone with {r['stress_distinct_words']:,} distinct agent "
                     "words <= 60 s", r["stress_learned_s"] <= 60, f"{r['stress_learned_s']:.1f} s")],
    }


if __name__ == "__main__":
    sys.exit(main())
