"""The customer KPIs against fairly tuned anchors (issue 23), for ``./qa bench --only kpis``.

qakit computes each KPI from its one definition (``qakit.metrics``) with the data contract checked
and every excluded row itemised, on three engines: a pandas frame (``engine=None``), the same data
as a Polars frame (``engine=None`` -> Polars) and a Parquet file (``engine=None`` -> DuckDB). The
anchors are the same numbers written the fastest way we know, with no validation and no records:
a Polars lazy query on the same Polars frame, and DuckDB SQL on a native DuckDB table of the same
data. Each anchor applies the KPI's inclusion rules (what is excluded, censored, pending) and
returns the same statistics (medians, the order-statistic interval of the median, p90 with linear
interpolation, means, counts); :func:`compare` holds each anchor equal to qakit's result.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

import qakit
from qakit.metrics._contract import _CONTRACTS
from qakit.schema import _CLEAN

#: the KPIs measured, in report order
KPIS = ("first_response_time", "resolution_time", "fcr_rate", "sla_attainment", "backlog", "csat_score",
        "nps_score", "ces_score", "service_level")
#: the table each KPI reads
TABLE = {k: "conversations" for k in KPIS[:5]} | {"csat_score": "surveys", "nps_score": "surveys",
                                                    "ces_score": "surveys", "service_level": "calls"}
Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975)
MAX_HOURS = 90 * 24
REPEAT_US = 7 * 86_400_000_000
SLA_HOURS = {"urgent": 1.0, "high": 4.0, "normal": 24.0, "low": 72.0}
US_PER_DAY = 86_400_000_000


# --- qakit ------------------------------------------------------------------------------------------
def qakit_call(kpi: str, data, engine=None) -> pd.DataFrame:
    """The public function, as an analyst calls it (defaults; by channel, SLA by priority and
    channel, backlog per week, service level by queue)."""
    f = getattr(qakit, kpi)
    if kpi == "backlog":
        return f(data, period="W", engine=engine)
    if kpi == "service_level":
        return f(data, by="queue", engine=engine)
    return f(data, by="channel", engine=engine)


#: the columns compared, per KPI: (keys, values); qakit's names
COLUMNS = {
    "first_response_time": (["channel"], ["n", "first_response_time", "ci_low", "ci_high", "first_response_time_mean",
                                          "first_response_time_p90"]),
    "resolution_time": (["channel"], ["n", "resolution_time", "ci_low", "ci_high", "resolution_time_mean",
                                      "resolution_time_p90"]),
    "fcr_rate": (["channel"], ["n", "fcr_rate"]),
    "sla_attainment": (["priority", "channel"], ["n", "met_pct"]),
    "backlog": (["period"], ["opened", "closed", "backlog"]),
    "csat_score": (["channel"], ["n", "csat", "csat_mean"]),
    "nps_score": (["channel"], ["n", "nps"]),
    "ces_score": (["channel"], ["n", "ces"]),
    "service_level": (["queue"], ["n", "service_level"]),
}


def canonical(kpi: str, res: pd.DataFrame) -> pd.DataFrame:
    """``res`` reduced to the compared columns, keys as text (periods as naive UTC), sorted."""
    keys, vals = COLUMNS[kpi]
    out = pd.DataFrame({k: (pd.to_datetime(res[k]).dt.tz_localize(None).astype("datetime64[us]").astype(str)
                            if k == "period" else res[k].astype(str)) for k in keys})
    for v in vals:
        out[v] = pd.to_numeric(res[v]).to_numpy(dtype=float)
    return out.sort_values(keys).reset_index(drop=True)


def compare(kpi: str, a: pd.DataFrame, b: pd.DataFrame) -> float:
    """Max absolute difference of the compared values (inf when the groups differ)."""
    ca, cb = canonical(kpi, a), canonical(kpi, b)
    keys, vals = COLUMNS[kpi]
    if len(ca) != len(cb) or not ca[keys].equals(cb[keys]):
        return math.inf
    x, y = ca[vals].to_numpy(dtype=float), cb[vals].to_numpy(dtype=float)
    both = np.isnan(x) & np.isnan(y)
    if (np.isnan(x) != np.isnan(y)).any():
        return math.inf
    return float(np.max(np.abs(np.where(both, 0, x - y)), initial=0.0))


# --- the Polars anchors (lazy, on the same Polars frame; no validation) -------------------------------
def conover_ranks(n: int) -> tuple[int | None, int | None]:
    """The ranks (from 1) of the median's distribution-free interval of ``n`` values (Conover:
    ``floor(n/2 - z sqrt(n)/2)``, ``ceil(1 + n/2 + z sqrt(n)/2)``, clipped to 1..n); None below 6."""
    if n < 6:
        return None, None
    return max(int(np.floor(n / 2 - Z95 * np.sqrt(n) / 2)), 1), min(int(np.ceil(1 + n / 2 + Z95 * np.sqrt(n) / 2)), n)


def polars_anchor(kpi: str, tables: dict) -> Callable[[], pd.DataFrame]:
    """A Polars lazy query computing ``kpi``'s compared columns (see :data:`COLUMNS`)."""
    import polars as pl

    conv, sv, calls = tables.get("conversations"), tables.get("surveys"), tables.get("calls")
    us = lambda c: pl.col(c).dt.epoch("us")  # noqa: E731

    def times(end: str, name: str):
        def run():
            # two stages (tuned: a sort per group for the interval took 0.67 s against 0.55 s here, on
            # 10M rows): per group the size, mean, median and p90 (Polars selects, no sort); then the
            # interval's two order statistics, whose ranks depend on each group's size, by exact
            # "lower" quantiles on each group's rows, all groups in parallel (collect_all)
            h = ((us(end) - us("created_at")) / 1e6 * (1 / 3600.0)).alias("h")
            lf = conv.lazy().select("channel", h).filter((pl.col("h") >= 0) & (pl.col("h") <= MAX_HOURS))
            hh = pl.col("h")
            g = lf.group_by("channel").agg(pl.len().alias("n"), hh.mean().alias(f"{name}_mean"), hh.median().alias(name),
                                           hh.quantile(0.9, "linear").alias(f"{name}_p90")).collect()
            parts = []
            for ch, n in zip(g["channel"], g["n"]):
                lo, hi = conover_ranks(n)
                if lo is None:
                    parts.append(pl.LazyFrame({"ci_low": [None], "ci_high": [None]}, schema={"ci_low": pl.Float64,
                                                                                           "ci_high": pl.Float64}))
                    continue
                q = lambda r: min((r - 0.5) / (n - 1), 1.0)  # noqa: E731  (floor(q (n - 1)) = r - 1 exactly)
                parts.append(lf.filter(pl.col("channel") == ch).select(hh.quantile(q(lo), "lower").alias("ci_low"),
                                                                       hh.quantile(q(hi), "lower").alias("ci_high")))
            return g.with_columns(pl.concat(pl.collect_all(parts))).to_pandas()
        return run

    def as_of():
        return pl.max_horizontal(us("created_at").max(), us("first_response_at").max(), us("resolved_at").max())

    def fcr():
        solved = pl.col("status").cast(pl.String).is_in(["solved", "closed", "resolved"])
        lf = (conv.lazy().select("channel", "status", "resolved_at", us("created_at").alias("c"),
                                 pl.col("customer_id").to_physical().alias("cust"),
                                 pl.col("conversation_id").to_physical().alias("cid"),
                                 as_of().alias("cut"))
              .sort("cust", "c", "cid")
              .with_columns(rep=(pl.col("cust").shift(-1) == pl.col("cust"))
                            & (pl.col("c").shift(-1) - pl.col("c") <= REPEAT_US))
              .with_columns(use=(pl.col("resolved_at").is_not_null() | solved)
                            & (pl.col("c") <= pl.col("cut") - REPEAT_US)))
        g = lf.group_by("channel").agg(n=pl.col("use").sum(),
                                       k=(pl.col("use") & ~pl.col("rep").fill_null(False)).sum())
        return g.with_columns(fcr_rate=pl.col("k") / pl.col("n")).collect().to_pandas()

    def sla():
        tgt = pl.col("priority").cast(pl.String).replace_strict(SLA_HOURS, default=None, return_dtype=pl.Float64)
        lf = conv.lazy().select("priority", "channel", "status", "resolved_at", us("created_at").alias("c"),
                                us("resolved_at").alias("e"), as_of().alias("cut"), tgt.alias("tgt"))
        hrs = pl.when(pl.col("e") <= pl.col("cut")).then((pl.col("e") - pl.col("c")) / 1e6 * (1 / 3600.0))
        lf = lf.with_columns(hrs=hrs, el=(pl.col("cut") - pl.col("c")) / 1e6 * (1 / 3600.0))
        negative = (pl.col("hrs") < 0).fill_null(False)
        pending = (pl.col("hrs").is_null() & (pl.col("el") <= pl.col("tgt"))).fill_null(False)
        contradicts = pl.col("status").cast(pl.String).is_in(["solved", "closed", "resolved"]) \
            & pl.col("resolved_at").is_null()
        later = pl.col("c") > pl.col("cut")
        use = pl.col("tgt").is_not_null() & ~negative & ~pending & ~later & ~contradicts
        met = (pl.col("hrs") >= 0) & (pl.col("hrs") <= pl.col("tgt"))
        g = lf.group_by("priority", "channel").agg(n=use.sum(), k=(use & met.fill_null(False)).sum())
        return g.with_columns(met_pct=100 * pl.col("k") / pl.col("n")).collect().to_pandas()

    def backlog():
        lf = conv.lazy().select(us("created_at").alias("c"), us("resolved_at").alias("r")) \
            .filter(~(pl.col("r") < pl.col("c")).fill_null(False))
        week = lambda c: (pl.col(c) // US_PER_DAY + 3) // 7  # noqa: E731  (weeks from Monday)
        op = lf.group_by(week("c").alias("w")).agg(pl.len().alias("k"))
        cl = lf.filter(pl.col("r").is_not_null()).group_by(week("r").alias("w")).agg(pl.len().alias("k"))
        op, cl = pl.collect_all([op, cl])
        return _backlog_grid(op.to_pandas(), cl.to_pandas())

    def survey(kind: str):
        def run():
            lf = sv.lazy().filter(pl.col("kind") == kind).select("channel", "score").filter(pl.col("score").is_not_null())
            s = pl.col("score")
            if kind == "csat":
                g = lf.group_by("channel").agg(n=pl.len(), k=(s >= 4).sum(), csat_mean=s.mean()) \
                    .with_columns(csat=100 * pl.col("k") / pl.col("n"))
            elif kind == "nps":
                g = lf.group_by("channel").agg(n=pl.len(), p=(s >= 9).sum().cast(pl.Int64), d=(s < 7).sum().cast(pl.Int64)) \
                    .with_columns(nps=100 * (pl.col("p") - pl.col("d")) / pl.col("n"))
            else:
                g = lf.group_by("channel").agg(n=pl.len(), ces=s.mean())
            return g.collect().to_pandas()
        return run

    def service_level():
        a, soa = pl.col("answered"), pl.col("speed_of_answer_s")
        use = a.is_not_null() & ~(a.fill_null(False) & soa.is_null())
        g = calls.lazy().group_by("queue").agg(n=use.sum(), k=(use & a.fill_null(False) & (soa <= 20)).sum())
        return g.with_columns(service_level=pl.col("k") / pl.col("n")).collect().to_pandas()

    return {"first_response_time": times("first_response_at", "first_response_time"),
            "resolution_time": times("resolved_at", "resolution_time"), "fcr_rate": fcr, "sla_attainment": sla,
            "backlog": backlog, "csat_score": survey("csat"), "nps_score": survey("nps"), "ces_score": survey("ces"),
            "service_level": service_level}[kpi]


def _backlog_grid(op: pd.DataFrame, cl: pd.DataFrame) -> pd.DataFrame:
    """Weekly opened / closed over the full grid of weeks, backlog = cumsum(opened) - cumsum(closed)."""
    w = np.concatenate([op["w"].to_numpy(dtype=np.int64), cl["w"].to_numpy(dtype=np.int64)])
    lo, hi = int(w.min()), int(w.max())
    opened = np.zeros(hi - lo + 1, dtype=np.int64)
    closed = np.zeros_like(opened)
    np.add.at(opened, op["w"].to_numpy(dtype=np.int64) - lo, op["k"].to_numpy(dtype=np.int64))
    np.add.at(closed, cl["w"].to_numpy(dtype=np.int64) - lo, cl["k"].to_numpy(dtype=np.int64))
    start = (np.arange(lo, hi + 1) * 7 - 3).astype("datetime64[D]").astype("datetime64[us]")
    return pd.DataFrame({"period": start, "opened": opened, "closed": closed,
                         "backlog": opened.cumsum() - closed.cumsum()})


# --- the DuckDB anchors (SQL on native DuckDB tables of the same data; no validation) ------------------
#: the time KPIs as one query (a sorted list per group; benchmarks/kpis_duckdb_parquet.py runs it on Parquet):
#: slower than :meth:`DuckDBAnchors.times` on a native table
TIMES_SQL = """
WITH h AS (
  SELECT channel, (epoch_us({end}) - epoch_us(created_at)) / 1e6 * (1 / 3600.0) AS h FROM conv),
u AS (SELECT * FROM h WHERE h >= 0 AND h <= {max_hours}),
g AS (
  SELECT channel, count(*) AS n, avg(h) AS mean, quantile_cont(h, 0.5) AS med, quantile_cont(h, 0.9) AS p90,
         list_sort(list(h)) AS s
  FROM u GROUP BY channel)
SELECT channel, n, med AS {name}, mean AS {name}_mean, p90 AS {name}_p90,
       CASE WHEN n >= 6 THEN s[greatest(floor(n / 2 - {z} * sqrt(n) / 2)::BIGINT, 1)] END AS ci_low,
       CASE WHEN n >= 6 THEN s[least(ceil(1 + n / 2 + {z} * sqrt(n) / 2)::BIGINT, n)] END AS ci_high
FROM g
"""

AS_OF = "(SELECT greatest(max(epoch_us(created_at)), max(epoch_us(first_response_at)), max(epoch_us(resolved_at))) FROM conv)"

FCR_SQL = f"""
WITH c AS (
  SELECT channel, customer_id, conversation_id, epoch_us(created_at) AS c,
         resolved_at IS NOT NULL OR status IN ('solved', 'closed', 'resolved') AS res FROM conv),
x AS (
  SELECT channel, res AND c <= {AS_OF} - {REPEAT_US} AS use,
         coalesce(lead(c) OVER (PARTITION BY customer_id ORDER BY c, conversation_id) - c <= {REPEAT_US}, false) AS rep
  FROM c)
SELECT channel, count(*) FILTER (WHERE use) AS n, count(*) FILTER (WHERE use AND NOT rep) AS k,
       count(*) FILTER (WHERE use AND NOT rep) / count(*) FILTER (WHERE use) AS fcr_rate
FROM x GROUP BY channel
"""

SLA_SQL = f"""
WITH t AS (SELECT * FROM (VALUES {", ".join(f"('{k}', {v})" for k, v in SLA_HOURS.items())}) v(priority, tgt)),
c AS (
  SELECT conv.priority, channel, status, resolved_at, epoch_us(created_at) AS c, epoch_us(resolved_at) AS e,
         {AS_OF} AS cut, t.tgt
  FROM conv LEFT JOIN t ON conv.priority = t.priority),
h AS (
  SELECT *, CASE WHEN e <= cut THEN (e - c) / 1e6 * (1 / 3600.0) END AS hrs, (cut - c) / 1e6 * (1 / 3600.0) AS el
  FROM c),
j AS (
  SELECT priority, channel,
         tgt IS NOT NULL AND NOT coalesce(hrs < 0, false) AND NOT coalesce(hrs IS NULL AND el <= tgt, false)
         AND NOT c > cut AND NOT (status IN ('solved', 'closed', 'resolved') AND resolved_at IS NULL) AS use,
         coalesce(hrs >= 0 AND hrs <= tgt, false) AS met
  FROM h)
SELECT priority, channel, count(*) FILTER (WHERE use) AS n,
       100 * count(*) FILTER (WHERE use AND met) / count(*) FILTER (WHERE use) AS met_pct
FROM j GROUP BY priority, channel
"""

BACKLOG_SQL = """
WITH c AS (SELECT epoch_us(created_at) AS c, epoch_us(resolved_at) AS r FROM conv
           WHERE NOT coalesce(resolved_at < created_at, false))
SELECT 'o' AS side, (c // {day} + 3) // 7 AS w, count(*) AS k FROM c GROUP BY w
UNION ALL
SELECT 'c', (r // {day} + 3) // 7 AS w, count(*) FROM c WHERE r IS NOT NULL GROUP BY w
"""

SURVEY_SQL = {
    "csat": "SELECT channel, count(*) AS n, 100 * count(*) FILTER (WHERE score >= 4) / count(*) AS csat, "
            "avg(score) AS csat_mean FROM sv WHERE kind = 'csat' AND score IS NOT NULL GROUP BY channel",
    "nps": "SELECT channel, count(*) AS n, 100 * (count(*) FILTER (WHERE score >= 9) - count(*) FILTER (WHERE score < 7)) "
           "/ count(*) AS nps FROM sv WHERE kind = 'nps' AND score IS NOT NULL GROUP BY channel",
    "ces": "SELECT channel, count(*) AS n, avg(score) AS ces FROM sv WHERE kind = 'ces' AND score IS NOT NULL "
           "GROUP BY channel",
}

SERVICE_SQL = """
WITH c AS (SELECT queue, answered, speed_of_answer_s AS s,
                  answered IS NOT NULL AND NOT (coalesce(answered, false) AND speed_of_answer_s IS NULL) AS use FROM calls)
SELECT queue, count(*) FILTER (WHERE use) AS n,
       count(*) FILTER (WHERE use AND answered AND s <= 20) / count(*) FILTER (WHERE use) AS service_level
FROM c GROUP BY queue
"""


class DuckDBAnchors:
    """Native DuckDB tables of the same data (loaded once, outside the timing; categoricals become
    ENUMs, timestamps TIMESTAMPTZ), and one SQL query per KPI."""

    def __init__(self, frames: dict):
        import duckdb

        self.con = duckdb.connect()
        self.con.execute("SET TimeZone='UTC'")
        for name, table in (("conversations", "conv"), ("surveys", "sv"), ("calls", "calls")):
            if name in frames:
                self.con.register("__df", frames[name])
                self.con.execute(f"CREATE TABLE {table} AS SELECT * FROM __df")
                self.con.unregister("__df")

    def times(self, end: str, name: str) -> pd.DataFrame:
        """A time KPI in two queries (tuned: :data:`TIMES_SQL`'s sorted list per group took 1.57 s
        against 0.83 s for three queries, on 10M rows): the size, mean, median and p90 per group; then
        the interval's two order statistics per group by exact ``quantile_disc`` (ranks from each
        group's size; one scan, an aggregate FILTERed by group each)."""
        q = self.con.sql
        h = f"(epoch_us({end}) - epoch_us(created_at)) / 1e6 * (1 / 3600.0)"
        base = f"SELECT channel, {h} AS h FROM conv WHERE {h} >= 0 AND {h} <= {MAX_HOURS}"
        m = q(f"SELECT channel, count(*) AS n, quantile_cont(h, 0.5) AS {name}, avg(h) AS {name}_mean, "
              f"quantile_cont(h, 0.9) AS {name}_p90 FROM ({base}) GROUP BY channel").df()
        key = m["channel"].astype(str)
        cols, ranked = [], []
        for ch, n in zip(key, m["n"]):
            lo, hi = conover_ranks(int(n))
            if lo is None:
                continue
            lit = "'" + ch.replace("'", "''") + "'"
            # (quantile_disc picks rank ceil(q n): q = (r - 0.5) / n picks rank r exactly)
            cols += [f"quantile_disc(h, {(r - 0.5) / n!r}) FILTER (WHERE channel = {lit})" for r in (lo, hi)]
            ranked.append(ch)
        ci = dict(zip(ranked, zip(*[iter(q(f"SELECT {', '.join(cols)} FROM ({base})").fetchall()[0])] * 2))) if cols else {}
        m["ci_low"] = key.map(lambda c: ci.get(c, (np.nan, np.nan))[0]).astype(float)
        m["ci_high"] = key.map(lambda c: ci.get(c, (np.nan, np.nan))[1]).astype(float)
        return m

    def run(self, kpi: str) -> pd.DataFrame:
        q = self.con.sql
        if kpi == "first_response_time":
            return self.times("first_response_at", kpi)
        if kpi == "resolution_time":
            return self.times("resolved_at", kpi)
        if kpi == "fcr_rate":
            return q(FCR_SQL).df()
        if kpi == "sla_attainment":
            return q(SLA_SQL).df()
        if kpi == "backlog":
            d = q(BACKLOG_SQL.format(day=US_PER_DAY)).df()
            return _backlog_grid(d[d["side"] == "o"], d[d["side"] == "c"])
        if kpi in ("csat_score", "nps_score", "ces_score"):
            return q(SURVEY_SQL[kpi.split("_")[0]]).df()
        if kpi == "service_level":
            return q(SERVICE_SQL).df()
        raise KeyError(kpi)


# --- the data -------------------------------------------------------------------------------------
def make_tables(n_conversations: int, *, seed: int = 1) -> dict:
    """pandas frames: ``n`` conversations, surveys for ~30 % of them, ``n / 3`` calls."""
    import synthetic as syn

    conv = syn.conversations(n_conversations, seed=seed)
    return {"conversations": conv, "surveys": syn.surveys(conv, seed=seed), "calls": syn.calls(n_conversations // 3,
                                                                                                seed=seed)}


def polars_tables(frames: dict) -> dict:
    import polars as pl

    return {k: pl.from_pandas(v) for k, v in frames.items()}


def parquet_tables(frames: dict, folder: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for k, v in frames.items():
        p = folder / f"{k}.parquet"
        v.to_parquet(p, index=False)
        out[k] = str(p)
    return out


def contenders(frames: dict, pols: dict, files: dict, duck: DuckDBAnchors, kpi: str) -> dict[str, Callable]:
    """Everything measured for one KPI: qakit on three engines, the two anchors."""
    t = TABLE[kpi]
    # (the categories of a pandas table found clean are remembered per categories object, and the
    # surveys share the conversations' id categories: forgotten too, so every call checks them)
    return {"qakit pandas": lambda: (_CLEAN.clear(), qakit_call(kpi, frames[t]))[1],
            "qakit Polars": lambda: qakit_call(kpi, pols[t]),
            # (the contract of unchanged files is kept per process: cleared, so every round checks the file)
            "qakit DuckDB (Parquet)": lambda: (_CONTRACTS.clear(), qakit_call(kpi, files[t]))[1],
            "Polars lazy anchor": polars_anchor(kpi, pols),
            "DuckDB SQL anchor": lambda: duck.run(kpi)}


QAKIT = ("qakit pandas", "qakit Polars", "qakit DuckDB (Parquet)")
ANCHORS = ("Polars lazy anchor", "DuckDB SQL anchor")
#: the anchor the issue names ("within 2x a fairly tuned Polars lazy query")
POLARS_ANCHOR = ANCHORS[0]


def measure(n: int, rounds: int, folder: Path, *, kpis=KPIS, log=print) -> dict:
    """Every contender of every KPI on ``n`` conversations, interleaved: each round calls each
    KPI's contenders once in turn. Returns ``{kpi: {contender: (best wall, CPU of that round)}}``,
    the largest difference of each contender from qakit pandas, and the load average."""
    frames = make_tables(n)
    pols = polars_tables(frames)
    files = parquet_tables(frames, folder)
    duck = DuckDBAnchors(frames)
    walls: dict = {k: {} for k in kpis}
    cpus: dict = {k: {} for k in kpis}
    diffs: dict = {k: {} for k in kpis}
    for r in range(rounds):
        for kpi in kpis:
            ref = None
            for name, fn in contenders(frames, pols, files, duck, kpi).items():
                c, t = time.process_time(), time.perf_counter()
                out = fn()
                walls[kpi].setdefault(name, []).append(time.perf_counter() - t)
                cpus[kpi].setdefault(name, []).append(time.process_time() - c)
                if r == 0:
                    if ref is None:
                        ref = out
                    else:
                        diffs[kpi][name] = compare(kpi, ref, out)
        log(f"kpis {n:,}: round {r + 1}/{rounds} done")
    best = {k: {c: (min(w), cpus[k][c][int(np.argmin(w))]) for c, w in v.items()} for k, v in walls.items()}
    sizes = {k: len(v) for k, v in frames.items()}
    del duck
    return {"n": n, "sizes": sizes, "best": best, "diffs": diffs, "load": __import__("os").getloadavg()}


def targets(m: dict) -> list[tuple[str, bool, str]]:
    """Two targets per KPI: qakit's best engine (validation and records included) within 2x the
    Polars lazy anchor (the issue's wording: "within 2x a fairly tuned Polars lazy query"), and
    within 2x the faster of the two anchors (stricter: DuckDB's SQL is faster for some KPIs); and
    one: every anchor equal to qakit."""
    out = []
    for kpi, b in m["best"].items():
        q = min(QAKIT, key=lambda c: b[c][0])
        what = f"{kpi} on {m['sizes'][TABLE[kpi]]:,} {TABLE[kpi]}: qakit's best engine (validation and records included)"
        for a, against in ((POLARS_ANCHOR, "the Polars lazy anchor (the issue's target)"),
                           (min(ANCHORS, key=lambda c: b[c][0]), "the faster tuned anchor")):
            ratio = b[q][0] / b[a][0]
            out.append((f"{what} <= 2x {against}", ratio <= 2.0,
                        f"{q} {b[q][0]:.3f} s vs {a} {b[a][0]:.3f} s = {ratio:.2f}x"))
    worst = max((d for v in m["diffs"].values() for d in v.values()), default=0.0)
    out.append(("KPIs: every engine and anchor equal to qakit pandas (max abs diff < 1e-9)", worst < 1e-9,
                f"{worst:.1e}"))
    return out


def table_text(m: dict) -> list[str]:
    cols = QAKIT + ANCHORS
    lines = ["| KPI | " + " | ".join(f"{c} (s) [CPU]" for c in cols)
             + " | best qakit / Polars lazy anchor | best qakit / faster anchor |",
             "|---|" + "---|" * (len(cols) + 2)]
    for kpi, b in m["best"].items():
        q = min(b[c][0] for c in QAKIT)
        a = min(b[c][0] for c in ANCHORS)
        lines.append(f"| {kpi} | " + " | ".join(f"{b[c][0]:.3f} [{b[c][1]:.2f}]" for c in cols)
                     + f" | {q / b[POLARS_ANCHOR][0]:.2f}x | {q / a:.2f}x |")
    return lines


# --- records: a result whose record holds many excluded ids ---------------------------------------
def records_bench(n_ids: int = 600_000, repeat: int = 50) -> dict:
    """``.head()`` and ``.round(2)`` of a small result carrying ``n_ids`` excluded ids (pandas
    deep-copies ``attrs`` on every derived frame; the record must not be copied)."""
    from qakit import records as R
    from qakit import schema as S

    res = pd.DataFrame({"channel": ["chat", "email", "phone"], "n": [10, 20, 30], "fcr_rate": [0.51234, 0.6, 0.7]})
    S.add_exclusion(res, "open: not resolved yet", "resolved_at", [f"C{i:08d}" for i in range(n_ids)])
    out = {}
    for name, fn in (("head", lambda: res.head()), ("round", lambda: res.round(2))):
        fn()
        ts = []
        for _ in range(repeat):
            t = time.perf_counter()
            got = fn()
            ts.append(time.perf_counter() - t)
        assert R.get_record(got).n_rows(R.EXCLUDED_KEY) == n_ids  # (the record rides along)
        out[name] = float(np.median(ts))
    return out
