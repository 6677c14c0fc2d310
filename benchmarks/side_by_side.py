"""Scoring on DuckDB from Parquet, this checkout against an older commit, side by side.

Issue 22 asks that one definition per metric "must not make anything slower" than the Ibis engine it
replaced. This runs ``iqs_score(<parquet>, card, by="agent_id", engine="duckdb")`` of this checkout
and ``qakit.engines.iqs_score(<parquet>, card, by="agent_id", engine="duckdb")`` of the older commit
(a git worktree under ``benchmarks/_work``) in **alternating fresh processes** on the same files,
10M ratings (1M reviews x 10 categories, ``benchmarks/synthetic.py``) twice: with integer ids (what
``./qa bench`` scores) and with text ids (review, conversation, agent and reviewer ids as strings).
Wall and CPU seconds (all threads) per round, the best round of each, and the load average.

Usage::

    .venv/bin/python benchmarks/side_by_side.py [--commit b3de95a] [--reviews 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work"

#: one run: prints "<wall> <cpu> <rows>"; {root} is the checkout whose qakit is imported
RUN = """
import sys, time
sys.path[:0] = [{root!r}, {bench!r}]
import synthetic as syn, qakit
card = syn.card()
t = time.perf_counter(); c = time.process_time()
{call}
print(time.perf_counter() - t, time.process_time() - c, len(res))
"""
NEW = 'res = qakit.iqs_score({path!r}, card=card, by="agent_id", engine="duckdb")'
OLD = 'import qakit.engines as E\nres = E.iqs_score({path!r}, card, by="agent_id", engine="duckdb")'


def data(reviews: int) -> dict[str, Path]:
    """The two Parquet files (written once): integer ids, and the same ratings with text ids."""
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(HERE))
    import synthetic as syn

    out = {"integer ids": WORK / f"sbs_int_{reviews}.parquet", "text ids": WORK / f"sbs_text_{reviews}.parquet"}
    if all(p.exists() for p in out.values()):
        return out
    WORK.mkdir(exist_ok=True)
    df = syn.ratings(reviews)
    pd.DataFrame({"review_id": df["review_id"].array.codes.astype(np.int32),
                  "agent_id": df["agent_id"].array.codes.astype(np.int32),
                  "category": df["category"], "rating": df["rating"].to_numpy()}).to_parquet(out["integer ids"], index=False)
    text = pd.DataFrame({c: df[c].astype(str) for c in ("review_id", "conversation_id", "agent_id", "reviewer_id")})
    text["reviewed_at"], text["category"], text["rating"] = df["reviewed_at"], df["category"].astype(str), df["rating"]
    text.to_parquet(out["text ids"], index=False)
    return out


def worktree(commit: str) -> Path:
    path = WORK / f"commit-{commit}"
    if not path.exists():
        WORK.mkdir(exist_ok=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit], check=True,
                       capture_output=True)
    return path


def once(root: Path, call: str, path: Path) -> tuple[float, float]:
    code = RUN.format(root=str(root), bench=str(root / "benchmarks"), call=call.format(path=str(path)))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root)
    if got.returncode:
        raise SystemExit(f"{root.name}: {got.stderr.strip().splitlines()[-1]}")
    wall, cpu, _ = got.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commit", default="b3de95a", help="the older commit (default: the last one with qakit.engines' Ibis engine)")
    ap.add_argument("--reviews", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    files, old = data(args.reviews), worktree(args.commit)
    print(f"| ids | this checkout: best wall (s) | CPU (s) | {args.commit}: best wall (s) | CPU (s) | this / {args.commit} |")
    print("|---|---|---|---|---|---|")
    for label, path in files.items():
        new_t, old_t = [], []
        for _ in range(args.rounds):  # alternating fresh processes
            new_t.append(once(ROOT, NEW, path))
            old_t.append(once(old, OLD, path))
        n, o = min(new_t), min(old_t)
        print(f"| {label} | {n[0]:.3f} | {n[1]:.2f} | {o[0]:.3f} | {o[1]:.2f} | {n[0] / o[0]:.2f} |", flush=True)
    print(f"\nload average (1/5/15 min): {' / '.join(f'{v:.1f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
