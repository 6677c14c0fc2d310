"""`./qa bench --scale`: the metric definitions on DuckDB (and Spark) on a partitioned Parquet dataset larger than the
pandas path is meant for (100M ratings / 30M conversations by default), with DuckDB; Spark
local on a 10M-rating subset.

    ./qa bench --scale                      # generate (once) + run, write "At scale" into benchmarks/RESULTS.md
    ./qa bench --scale --ratings 20 --conversations 6   # millions: a smaller run
    ./qa bench --scale --parts kpis --conversations 100  # the KPIs' cost curve, 1M to 100M conversations

The data goes to benchmarks/_work/ (git-ignored), one Parquet file per million rows
(``ratings/part=NNN/``, ``conversations/part=NNN/``), generated chunk by chunk so the generator
itself never holds more than a million rows. Every measurement runs in a fresh process that
reports its own peak resident memory (VmHWM): the figure is what the user's process needs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work" / "scale"
CHUNK = 1_000_000
N_CATEGORIES = 10
PEAK = "next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) / 1024"


def generate(n_ratings_m: int, n_conversations_m: int, *, seed: int = 17, out: Path = WORK) -> None:
    """Write ``n_ratings_m`` million ratings (100k reviews x 10 categories per file) and
    ``n_conversations_m`` million conversations, seeded, chunk by chunk (skips existing files)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cats = pa.array([f"cat{j:02d}" for j in range(N_CATEGORIES)])
    per = CHUNK // N_CATEGORIES
    for p in range(n_ratings_m):
        f = out / "ratings" / f"part={p:03d}" / "data.parquet"
        if f.exists():
            continue
        rng = np.random.default_rng([seed, 1, p])
        rev = np.repeat(np.arange(p * per, (p + 1) * per, dtype=np.int64), N_CATEGORIES)
        cat = np.tile(np.arange(N_CATEGORIES, dtype=np.int8), per)
        agent = np.repeat(rng.integers(0, 5000, per).astype(np.int32), N_CATEGORIES)
        r = np.clip(np.round(rng.normal(3.8, 1.0, CHUNK)), 1, 5)
        binary = cat < 2
        r[binary] = (rng.random(int(binary.sum())) > 0.015).astype(float)
        r[(rng.random(CHUNK) < 0.10) & ~binary] = np.nan
        f.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({
            "review_id": rev, "conversation_id": rev, "agent_id": agent,
            "category": pa.DictionaryArray.from_arrays(pa.array(cat), cats), "rating": r}), f)
    t0 = np.datetime64("2025-01-01T00:00:00", "us")
    year_us = 365 * 86400 * 10**6
    for p in range(n_conversations_m):
        f = out / "conversations" / f"part={p:03d}" / "data.parquet"
        if f.exists():
            continue
        rng = np.random.default_rng([seed, 2, p])
        n = CHUNK
        created = t0 + rng.integers(0, year_us, n).astype("timedelta64[us]")
        fr = created + (rng.exponential(2.0, n) * 3.6e9).astype(np.int64).astype("timedelta64[us]")
        res = created + (rng.exponential(30.0, n) * 3.6e9).astype(np.int64).astype("timedelta64[us]")
        open_ = rng.random(n) < 0.01
        no_fr = rng.random(n) < 0.005
        status = np.where(open_, "open", "solved")
        f.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({
            "conversation_id": np.arange(p * n, (p + 1) * n, dtype=np.int64),
            "customer_id": rng.integers(0, 10_000_000, n, dtype=np.int64),
            "agent_id": rng.integers(0, 5000, n).astype(np.int32),
            "channel": pa.array(rng.choice(["email", "chat", "phone"], n)).dictionary_encode(),
            "priority": pa.array(rng.choice(["urgent", "high", "normal", "low"], n, p=[.05, .15, .6, .2])).dictionary_encode(),
            "created_at": pa.array(created, type=pa.timestamp("us", tz="UTC")),
            "first_response_at": pa.array(np.where(no_fr, np.datetime64("NaT"), fr), type=pa.timestamp("us", tz="UTC")),
            "resolved_at": pa.array(np.where(open_, np.datetime64("NaT"), res), type=pa.timestamp("us", tz="UTC")),
            "status": pa.array(status).dictionary_encode(),
            "escalated": rng.random(n) < 0.08,
        }), f)


def generate_report(n_ratings_m: int, n_conversations_m: int, *, seed: int = 17, out: Path = WORK) -> Path:
    """The dataset folder ``qakit report -p dataset`` reads: ``ratings/`` (as :func:`generate`'s,
    plus the ``reviewer_id`` and ``reviewed_at`` a report needs), ``conversations/`` (hard links to
    :func:`generate`'s parts) and ``scorecard.yaml``. Reviews point at conversations
    ``0 .. n_ratings_m * 100,000``, all present when ``n_conversations_m * 10 >= n_ratings_m``."""
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    sys.path.insert(0, str(HERE))
    import synthetic as syn

    generate(0, n_conversations_m, seed=seed, out=out)
    folder = out / f"report_{n_ratings_m}M_{n_conversations_m}M"
    for p in range(n_conversations_m):  # hard links (a folder search does not follow symbolic links)
        link = folder / "conversations" / f"part={p:03d}" / "data.parquet"
        if link.is_symlink() or (link.parent.is_symlink()):
            link.parent.unlink()
        if not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            os.link(out / "conversations" / f"part={p:03d}" / "data.parquet", link)
    cats = pa.array([f"cat{j:02d}" for j in range(N_CATEGORIES)])
    per = CHUNK // N_CATEGORIES
    t0 = np.datetime64("2025-01-01T00:00:00", "us")
    for p in range(n_ratings_m):
        f = folder / "ratings" / f"part={p:03d}" / "data.parquet"
        if f.exists():
            continue
        rng = np.random.default_rng([seed, 3, p])
        rev = np.repeat(np.arange(p * per, (p + 1) * per, dtype=np.int64), N_CATEGORIES)
        cat = np.tile(np.arange(N_CATEGORIES, dtype=np.int8), per)
        agent = np.repeat(rng.integers(0, 5000, per).astype(np.int32), N_CATEGORIES)
        reviewer = np.repeat(rng.integers(0, 50, per).astype(np.int32), N_CATEGORIES)
        at = np.repeat(t0 + rng.integers(0, 365 * 86400 * 10**6, per).astype("timedelta64[us]"), N_CATEGORIES)
        r = np.clip(np.round(rng.normal(3.8, 1.0, CHUNK)), 1, 5)
        binary = cat < 2
        r[binary] = (rng.random(int(binary.sum())) > 0.015).astype(float)
        r[(rng.random(CHUNK) < 0.10) & ~binary] = np.nan
        f.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({
            "review_id": rev, "conversation_id": rev, "agent_id": agent, "reviewer_id": reviewer,
            "reviewed_at": pa.array(at, type=pa.timestamp("us", tz="UTC")),
            "category": pa.DictionaryArray.from_arrays(pa.array(cat), cats), "rating": r}), f)
    if not (folder / "scorecard.yaml").exists():
        syn.card().to_yaml(folder / "scorecard.yaml")
    return folder


def tree_rss_mb(pid: int) -> float:
    """Resident memory (MB) of ``pid`` and every process below it (the report's kernel too)."""
    import os

    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    total, stack = 0.0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                total += next((int(line.split()[1]) for line in fh if line.startswith("VmRSS")), 0) / 1024
        except OSError:
            pass
        stack += children.get(p, [])
    return total


def generate_report_surveys(folder: Path) -> Path:
    """``<folder>_sv``: the report dataset ``folder`` (its ratings, conversations and card linked) plus
    survey answers for 30 % of its conversations, one per conversation, made by one DuckDB query:
    two thirds CSAT (1-5), one third NPS (0-10), answered two days after the conversation was created
    (at 100M / 30M: 9.0M answers, 6.0M CSAT)."""
    import duckdb

    out = folder.parent / f"{folder.name}_sv"
    (out / "surveys").mkdir(parents=True, exist_ok=True)
    for name in ("ratings", "conversations", "scorecard.yaml"):
        if not (out / name).exists():
            (out / name).symlink_to(folder / name)
    part = out / "surveys" / "part-0.parquet"
    if not part.exists():
        conv = f"read_parquet('{folder}/conversations/**/*.parquet', hive_partitioning=false)"
        duckdb.connect().execute(f"""COPY (SELECT conversation_id,
              CASE WHEN hash(conversation_id) % 3 = 0 THEN 'nps' ELSE 'csat' END AS kind,
              CASE WHEN hash(conversation_id) % 3 = 0 THEN (hash(conversation_id * 7) % 11)::DOUBLE
                   ELSE 1 + (hash(conversation_id * 5) % 5)::DOUBLE END AS score,
              created_at + INTERVAL 2 DAY AS answered_at
            FROM {conv} WHERE hash(conversation_id * 3) % 10 < 3) TO '{part}' (FORMAT parquet)""")
    return out


def run_report(folder: Path, engine: str = "duckdb", *, timeout_s: float = 1800, every_s: float = 0.25,
               max_mb: float = 16_000) -> dict:
    """``qakit report -p dataset <folder> -p engine <engine>`` in a fresh process tree: wall time,
    the peak of the tree's summed resident memory (sampled every ``every_s``), the exit status.

    The whole tree (the CLI, papermill, the kernel) is stopped when it runs past ``timeout_s`` or
    its memory passes ``max_mb`` (a report that would need more than the machine has must fail
    as a measured miss, not take the machine down); the result then says which."""
    import os
    import signal
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "qakit.cli", "report", "--output", tmp, "--no-progress",
               "-p", "dataset", str(folder), "-p", "engine", engine]
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)  # its own process group: stopped as a whole
        peak, stopped = 0.0, ""
        while proc.poll() is None:
            peak = max(peak, tree_rss_mb(proc.pid))
            if time.perf_counter() - t > timeout_s:
                stopped = f"stopped after {timeout_s:.0f} s"
            elif peak > max_mb:
                stopped = f"stopped at {peak:,.0f} MB (over {max_mb:,.0f} MB)"
            if stopped:
                os.killpg(proc.pid, signal.SIGKILL)
                break
            time.sleep(every_s)
        out, err = proc.communicate()
        wall = time.perf_counter() - t
    res = {"s": wall, "peak_mb": peak, "rc": proc.returncode}
    if proc.returncode != 0:
        res["error"] = stopped or (err.strip().splitlines() or [f"rc {proc.returncode}"])[-1][:300]
    return res


#: the out-of-core report's targets (issue 23)
REPORT_PEAK_MB, REPORT_WALL_S = 4096, 180


def _answers_m(folder: Path) -> float:
    """Millions of survey answers in ``folder/surveys`` (the Parquet footers' row counts)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in (folder / "surveys").rglob("*.parquet")) / 1e6


def _report_label(size: tuple) -> str:
    """``100M ratings / 30M conversations`` (``+ 9.0M survey answers`` for a run with surveys)."""
    return f"{size[0]}M ratings / {size[1]}M conversations" + (f" + {size[2]:.1f}M survey answers" if len(size) > 2 else "")


def report_targets(rows: list) -> list[tuple[str, bool, str]]:
    """PASS/MISS of the largest report runs (with and without survey answers) against
    :data:`REPORT_PEAK_MB` and :data:`REPORT_WALL_S`."""
    if not rows:
        return []
    largest = tuple(rows[-1][0][:2])
    out = []
    for size, r in rows:
        if tuple(size[:2]) != largest:
            continue
        ok, what = "error" not in r, _report_label(size)
        out += [(f"report -p engine duckdb on {what}: peak RSS of the process tree <= 4 GB",
                 ok and r["peak_mb"] <= REPORT_PEAK_MB, f"{r['peak_mb']:.0f} MB" + ("" if ok else f" ({r['error']})")),
                (f"report -p engine duckdb on {what}: wall time <= 3 min",
                 ok and r["s"] <= REPORT_WALL_S, f"{r['s']:.0f} s" + ("" if ok else " (failed)"))]
    return out


def _files(kind: str, n_m: int) -> list[str]:
    return [str(WORK / kind / f"part={p:03d}" / "data.parquet") for p in range(n_m)]


SCORE = """
import sys, time, json; sys.path.insert(0, {here!r})
import synthetic as syn, duckdb, qakit
con = duckdb.connect(); con.execute("SET TimeZone='UTC'").fetchall(); con.execute("SET memory_limit='{mem}'").fetchall()
card = syn.card()
t = time.perf_counter()
res = qakit.iqs_score({files!r}, card=card, by="agent_id", engine=con)
el = time.perf_counter() - t
print(json.dumps({{"s": el, "groups": len(res), "n": int(res["n"].sum()), "peak_mb": {peak}}}))
"""

#: the conversation KPIs of the scale run, as an analyst calls them (by channel; SLA by priority;
#: backlog per week)
KPI_CALLS = [("first_response_time", {"by": "channel"}), ("resolution_time", {"by": "channel"}),
             ("fcr_rate", {"by": "channel"}), ("escalation_rate", {"by": "channel"}),
             ("resolution_rate", {"by": "channel"}), ("sla_attainment", {}), ("backlog", {"period": "W"})]
#: millions of rows each cost curve measures (up to the run's size)
CURVE_SIZES = (1, 3, 10, 30, 100)

KPIS = """
import sys, time, json
import duckdb, qakit
KPI_CALLS = {calls!r}
con = duckdb.connect(); con.execute("SET TimeZone='UTC'").fetchall(); con.execute("SET memory_limit='{mem}'").fetchall()
files = {files!r}
out = {{}}
from qakit.metrics._contract import _CONTRACTS
for name, kw in KPI_CALLS:
    _CONTRACTS.clear()  # (each KPI checks the files itself, as a lone call would: no check kept from the last)
    t = time.perf_counter()
    try:
        getattr(qakit, name)(files, engine=con, **kw)
        out[name] = time.perf_counter() - t
    except Exception as e:  # a KPI the engines refuse (by name) is reported, the others still run
        out[name] = "refused: " + str(e).splitlines()[0][:160]
out["peak_mb"] = {peak}
print(json.dumps(out))
"""

SPARK = """
import sys, time, json; sys.path.insert(0, {here!r})
import synthetic as syn, qakit
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", "8")
         .config("spark.driver.memory", "4g").config("spark.sql.session.timeZone", "UTC").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
t = time.perf_counter()
res = qakit.iqs_score(spark.read.parquet({path!r}), card=syn.card(), by="agent_id", engine=spark)
print(json.dumps({{"s": time.perf_counter() - t, "n": int(res["n"].sum()), "peak_mb": {peak}}}))
"""


def _run(code: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"rc {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(n_ratings_m: int = 100, n_conversations_m: int = 30, *, mem: str = "3GB", spark_m: int = 10,
        parts: tuple = ("score", "kpis", "spark", "report"), report_sizes: list | None = None,
        report_timeout_s: float = 1800, report_surveys: bool = False) -> dict:
    import os

    load_start = os.getloadavg()
    t = time.perf_counter()
    generate(n_ratings_m if {"score", "spark"} & set(parts) else 0,
             n_conversations_m if "kpis" in parts else 0)
    report_sizes = report_sizes if report_sizes is not None else [(n_ratings_m, n_conversations_m)]
    folders = [generate_report(rm, cm) for rm, cm in report_sizes] if "report" in parts else []
    gen_s = time.perf_counter() - t
    reports = []
    for (rm, cm), folder in zip(report_sizes, folders):
        r = run_report(folder, timeout_s=report_timeout_s)
        reports.append(((rm, cm), r))
        print(f"report {rm}M ratings / {cm}M conversations: {r}", flush=True)
        if report_surveys:  # the same dataset with survey answers for 30 % of the conversations
            sv = generate_report_surveys(folder)
            r = run_report(sv, timeout_s=report_timeout_s)
            reports.append(((rm, cm, _answers_m(sv)), r))
            print(f"report {rm}M ratings / {cm}M conversations + survey answers: {r}", flush=True)
    sizes = curve_sizes(n_ratings_m) if "score" in parts else []
    curve = []
    for m in sizes:
        r = _run(SCORE.format(here=str(HERE), mem=mem, files=_files("ratings", m), peak=PEAK))
        curve.append((m, r))
        print(f"score {m}M ratings: {r}", flush=True)
    kpi_curve = []
    for m in (curve_sizes(n_conversations_m) if "kpis" in parts else []):
        r = _run(KPIS.format(mem=mem, files=_files("conversations", m), peak=PEAK, calls=KPI_CALLS))
        kpi_curve.append((m, r))
        print(f"KPIs {m}M conversations: {r}", flush=True)
    kpis = kpi_curve[-1][1] if kpi_curve else {"error": "not run (--parts)"}
    spark = {}
    if spark_m and "spark" in parts:
        sub = WORK / f"ratings_first_{spark_m}M"
        if sub.exists() and not all((sub / f"part={p:03d}").exists() for p in range(spark_m)):
            shutil.rmtree(sub)  # links left by a run in another folder
        if not sub.exists():
            sub.mkdir(parents=True)
            for p in range(spark_m):  # relative links: the work folder can move
                (sub / f"part={p:03d}").symlink_to(Path("..") / "ratings" / f"part={p:03d}")
        spark = _run(SPARK.format(here=str(HERE), path=str(sub), peak=PEAK))
        print(f"Spark local {spark_m}M ratings: {spark}", flush=True)
    disk = sum(f.stat().st_size for f in WORK.rglob("*.parquet")) / 1e9
    import os

    load_end = os.getloadavg()
    return {"n_ratings_m": n_ratings_m, "n_conversations_m": n_conversations_m, "mem": mem, "gen_s": gen_s,
            "curve": curve, "kpis": kpis, "kpi_curve": kpi_curve, "spark": spark, "spark_m": spark_m if "spark" in parts else 0,
            "disk_gb": disk, "reports": reports, "parts": list(parts),
            "load_start": load_start, "load_end": load_end, "minutes": (time.perf_counter() - t) / 60}


def curve_sizes(n_m: int) -> list[int]:
    """The sizes (millions of rows) a cost curve measures: :data:`CURVE_SIZES` below ``n_m``, then ``n_m``."""
    return [s for s in CURVE_SIZES if s < n_m] + [n_m]


def kpi_curve_text(kpi_curve: list) -> list[str]:
    """The KPIs' cost curve: seconds and ns per conversation of each KPI at each size (a fresh process
    per size), the process's peak RSS, and where each KPI's curve bends.

    The bend is read as for scoring (``benchmarks/run.py: bend_text``): ``t(n) ~ fixed + slope * n``
    with the slope between the two largest sizes and the fixed cost what is left at the smallest; the
    curve bends at ``n* = fixed / slope`` (below it the fixed cost dominates)."""
    ok = [(m, r) for m, r in kpi_curve if "error" not in r]
    if not ok:
        return [f"KPIs: failed: {r['error']}" for _, r in kpi_curve]
    names = [n for n, _ in KPI_CALLS]
    sizes = [m for m, _ in ok]
    lines = ["| KPI | " + " | ".join(f"{m}M (s)" for m in sizes) + " | ns / conversation at "
             f"{sizes[-1]}M | where the curve bends |", "|---|" + "---|" * (len(sizes) + 2)]
    for n in names:
        vals = [r.get(n) for _, r in ok]
        cells = [f"{v:.2f}" if isinstance(v, (int, float)) else "refused" for v in vals]
        nums = [(m * 1e6, v) for m, v in zip(sizes, vals) if isinstance(v, (int, float))]
        per = f"{nums[-1][1] / nums[-1][0] * 1e9:.0f}" if nums else ""
        bend = "fewer than three sizes"
        if len(nums) >= 3:
            (n1, t1), (na, ta), (nb, tb) = nums[0], nums[-2], nums[-1]
            slope = (tb - ta) / (nb - na)
            fixed = t1 - slope * n1
            bend = ("linear from the smallest size" if slope > 0 and fixed <= 0 else
                    f"~{float(f'{fixed / slope:.2g}'):,.0f} conversations (fixed {fixed:.2f} s, "
                    f"{slope * 1e9:.0f} ns each after)" if slope > 0 else "no slope within noise")
        lines.append(f"| {n} | " + " | ".join(cells) + f" | {per} | {bend} |")
    lines += ["", "Peak RSS of the KPI process: " + ", ".join(f"{r['peak_mb']:.0f} MB at {m}M" for m, r in ok) + "."]
    return lines


def growth_exponent(curve: list) -> float | None:
    """``b`` in ``t ~ n^b`` between the smallest and the largest size that ran (1: linear;
    below 1: better than linear, fixed costs amortised)."""
    ok = [(m, r["s"]) for m, r in curve if "error" not in r]
    if len(ok) < 2 or ok[0][0] == ok[-1][0]:
        return None
    (m0, t0), (m1, t1) = ok[0], ok[-1]
    return float(np.log(t1 / t0) / np.log(m1 / m0))


def _where() -> str:
    """The machine line of a section (informative only: a failure is said, not raised)."""
    try:
        sys.path.insert(0, str(HERE))
        from machine import machine

        return machine()
    except Exception as e:  # pragma: no cover - the machine line is informative only
        return f"(machine description failed: {e})"


def text(res: dict) -> str:
    where = _where()
    gen = (f"generated in {res['gen_s']:.0f} s" if res["gen_s"] >= 1 else "generated by an earlier run")
    load = (f"Load average (1/5/15 min) {' / '.join(f'{x:.1f}' for x in res['load_start'])} at the start and "
            f"{' / '.join(f'{x:.1f}' for x in res['load_end'])} at the end ({res['minutes']:.0f} min); "
            "other engineers' test suites share these 2 cores, so absolute times are upper bounds.")
    lines = ["## At scale: qakit.engines on DuckDB (`./qa bench --scale`)", "",
             f"Machine: {where}.", "", load, "",
             f"Partitioned Parquet on disk ({res['disk_gb']:.1f} GB; {gen}, one file per "
             f"million rows): {res['n_ratings_m']}M ratings (10 categories per review, 5,000 agents, ~10 % N/A, "
             f"2 critical categories) and {res['n_conversations_m']}M conversations. DuckDB with "
             f"`memory_limit={res['mem']}`; each row is a fresh process (its own peak RSS, interpreter and "
             "libraries included). Validation (ids, categories, scale, duplicates, one agent per review) included.",
             "", "| ratings | validate + score + IQS per agent (s) | ns / rating | peak RSS (MB) |", "|---|---|---|---|"]
    for m, r in res["curve"]:
        if "error" in r:
            lines.append(f"| {m}M | failed: {r['error']} | | |")
        else:
            lines.append(f"| {m}M | {r['s']:.1f} | {r['s'] / (m * 1e6) * 1e9:.0f} | {r['peak_mb']:.0f} |")
    b = growth_exponent(res["curve"])
    if b is not None:
        lines += ["", f"Cost curve: time grows as n^{b:.2f} from the smallest to the largest size "
                  f"({'linear or better' if b <= 1.05 else 'worse than linear'}; fixed per-call costs -- "
                  "Ibis compilation, query set-up, Parquet metadata -- weigh most at the small end)."]
    if res.get("reports"):
        lines += ["", "The whole report out of core (`qakit report -p dataset <folder> -p engine duckdb`; ratings with "
                  "reviewer and review time, the generated conversations, the synthetic card), a fresh process tree: wall "
                  "time and the peak of the summed resident memory of the CLI, papermill and the kernel (sampled every "
                  "0.25 s):", "", "| ratings / conversations | wall (s) | peak RSS, process tree (MB) | MB per million "
                  "rows |", "|---|---|---|---|"]
        for size, r in res["reports"]:
            rm, cm, what = size[0], size[1], _report_label(size).replace(" ratings", "").replace(" conversations", "")
            rows_m = rm + cm + (size[2] if len(size) > 2 else 0)
            if "error" in r:
                lines.append(f"| {what} | failed after {r['s']:.0f} s: {r['error']} | {r['peak_mb']:.0f} | |")
            else:
                lines.append(f"| {what} | {r['s']:.1f} | {r['peak_mb']:.0f} | {r['peak_mb'] / rows_m:.0f} |")
        lines += ["", "| target | measured | status |", "|---|---|---|"]
        lines += [f"| {label} | {m} | {'PASS' if ok else 'MISS'} |" for label, ok, m in report_targets(res["reports"])]
    if res["spark_m"]:
        s = res["spark"]
        lines += ["", f"Spark local (`local[2]`, 4 GB driver) on the first {res['spark_m']}M ratings: "
                  + (f"failed: {s['error']}" if "error" in s else
                     f"{s['s']:.1f} s for validate + score + IQS per agent (driver process peak RSS "
                     f"{s['peak_mb']:.0f} MB; the JVM's memory is not in that figure).")]
    return "\n".join(lines) + "\n"


REPORT_HEAD = "## The report out of core (`./qa bench --scale --parts report`)"
KPI_HEAD = "## How KPI cost grows on DuckDB (`./qa bench --scale --parts kpis`)"


def kpi_text(res: dict) -> str:
    """The section of the KPIs' cost curve (``--parts kpis``): 1M to ``--conversations`` millions."""
    lines = [KPI_HEAD, "", f"Machine: {_where()}.", "",
             f"Load average (1/5/15 min) {' / '.join(f'{x:.1f}' for x in res['load_start'])} at the start and "
             f"{' / '.join(f'{x:.1f}' for x in res['load_end'])} at the end.", "",
             "The conversation KPIs on DuckDB (`memory_limit=" + res["mem"] + "`) reading a partitioned Parquet "
             f"folder (one file per million conversations; the first 1M to {res['n_conversations_m']}M), as an "
             "analyst calls them: by channel, SLA by priority, backlog per week; the contract checked and the "
             "excluded rows itemised. Each size is a fresh process.", ""]
    return "\n".join(lines + kpi_curve_text(res["kpi_curve"])) + "\n"


def report_text(res: dict) -> str:
    """The section of a report-only run (``--parts report``)."""
    where = _where()
    lines = [REPORT_HEAD, "", f"Machine: {where}.", "",
             f"Load average (1/5/15 min) {' / '.join(f'{x:.1f}' for x in res['load_start'])} at the start and "
             f"{' / '.join(f'{x:.1f}' for x in res['load_end'])} at the end.", ""]
    full = text(res)
    part = full[full.index("The whole report out of core"):] if "The whole report out of core" in full else ""
    return "\n".join(lines) + "\n" + part


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="qakit.engines at scale")
    ap.add_argument("--scale", action="store_true")
    ap.add_argument("--ratings", type=int, default=100, help="millions of ratings")
    ap.add_argument("--conversations", type=int, default=30, help="millions of conversations")
    ap.add_argument("--spark", type=int, default=10, help="millions of ratings for Spark local (0: skip)")
    ap.add_argument("--memory-limit", default="3GB")
    ap.add_argument("--parts", default="score,kpis,spark,report",
                    help="what to run, comma-separated: score, kpis, spark, report")
    ap.add_argument("--report-sizes", default="",
                    help="report datasets as RATINGSxCONVERSATIONS millions, e.g. '2x1,10x3' (default: --ratings x "
                         "--conversations)")
    ap.add_argument("--report-timeout", type=float, default=1800,
                    help="seconds after which a report run is stopped (and recorded as a miss)")
    ap.add_argument("--report-surveys", action="store_true",
                    help="also run each report on its dataset plus survey answers for 30 %% of the conversations "
                         "(<folder>_sv: 9.0M answers at 100M / 30M)")
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = ap.parse_args(argv)
    sizes = ([tuple(int(v) for v in x.split("x")) for x in args.report_sizes.split(",")] if args.report_sizes
             else None)
    res = run(args.ratings, args.conversations, mem=args.memory_limit, spark_m=args.spark,
              parts=tuple(p.strip() for p in args.parts.split(",")), report_sizes=sizes,
              report_timeout_s=args.report_timeout, report_surveys=args.report_surveys)
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "last_run.json").write_text(json.dumps(res, default=str), encoding="utf-8")  # to re-render the text
    bodies = []
    if {"score", "spark"} & set(res["parts"]):  # scoring (and the report when it ran) in "At scale"
        bodies.append(text(res))
        write_section(Path(args.out), bodies[-1])
    elif "report" in res["parts"]:  # the report without scoring: its own section
        bodies.append(report_text(res))
        write_section(Path(args.out), bodies[-1], head=REPORT_HEAD)
    if "kpis" in res["parts"]:  # the KPIs' cost curve: its own section
        bodies.append(kpi_text(res))
        write_section(Path(args.out), bodies[-1], head=KPI_HEAD)
    print("\n".join(bodies))
    return 0


def write_section(path: Path, section: str, head: str = "## At scale") -> None:
    """Put the scale section into RESULTS.md: replace an earlier one (the section starting with
    ``head``), else insert it before ``## Targets`` (the other sections, written by ``./qa bench``,
    stay as they are)."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if head in old:
        a = old.index(head)
        b = old.find("\n## ", a + len(head))
        new = old[:a] + section + ("\n" + old[b + 1:] if b >= 0 else "")
    elif "## Targets" in old:
        a = old.index("## Targets")
        new = old[:a] + section + "\n" + old[a:]
    else:
        new = old + "\n" + section
    path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
