"""Display helpers: the one place where numbers are rounded, for notebooks and reports.

Computations never round; notebooks call :func:`table` on a result just before showing it, so
outputs are short, stable for nbval, and HTML-escaped (pandas escapes cell text in ``to_html``).
"""

from __future__ import annotations

import hashlib
import html as _html
import io as _io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure as _MplFigure

from ..io import to_csv_safe
from ..registry import METRICS, value_labels

#: digits shown for each kind of column; anything else float gets ``DEFAULT_DIGITS``
DEFAULT_DIGITS = 1
DIGITS = {"r": 3, "p_value": 4, "p_adjusted": 4, "alpha": 3, "kappa": 3, "tau": 3, "pass_rate": 3, "beta": 3,
          "coef": 3, "steps": 2}
#: interval and standard-error columns take the precision of the statistic they belong to
FOLLOW = ("ci_low", "ci_high", "se")


def table(df: pd.DataFrame, *, digits: int | None = None, max_rows: int | None = 40) -> pd.DataFrame:
    """A display copy of ``df``: floats rounded, timestamps as dates, at most ``max_rows`` rows.

    Examples
    --------
    >>> table(pd.DataFrame({"agent_id": ["a"], "iqs": [83.3333], "p_value": [0.012345]}))
      agent_id   iqs  p_value
    0        a  83.3   0.0123
    """
    out = df.head(max_rows).copy() if max_rows else df.copy()
    stat_digits = [DIGITS[str(c)] for c in out.columns if str(c) in DIGITS and str(c) not in ("p_value", "p_adjusted", "pass_rate")]
    follow = max(stat_digits, default=DEFAULT_DIGITS)
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_float_dtype(s.dtype):
            d = digits if digits is not None else follow if str(c).endswith(FOLLOW) else next(
                (v for k, v in DIGITS.items() if str(c) == k or str(c).endswith("_" + k)), DEFAULT_DIGITS)
            out[c] = s.round(d)
        elif isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(s.dtype):
            out[c] = s.dt.strftime("%Y-%m-%d")
    return out


def hash_ids(ids: pd.Series, *, salt: str = "qakit") -> pd.Series:
    """Pseudonymise ids (e.g. customer ids) with a salted SHA-256, first 12 hex digits.

    Examples
    --------
    >>> hash_ids(pd.Series(["cust-1", "cust-1", None])).tolist()[:2] == [hash_ids(pd.Series(["cust-1"])).iloc[0]] * 2
    True
    """
    uniq = pd.unique(ids.dropna().astype("str"))  # hash each distinct id once
    lookup = {v: hashlib.sha256(f"{salt}:{v}".encode()).hexdigest()[:12] for v in uniq}
    return ids.astype("str").map(lookup).where(ids.notna())


# --- the report's formatting layer ------------------------------------------------------------------
#: headers of columns that are not registry metrics (registry value columns take the metric's header)
LABELS = {
    "n": "n", "n_excluded": "Excluded", "small_sample": "Small sample", "agent_id": "Agent", "reviewer_id": "Reviewer",
    "team": "Team", "channel": "Channel", "priority": "Priority", "category": "Category", "period": "Period",
    "category_score": "Category score (%)", "iqs_shrunk": "IQS, shrunk (%)", "shrinkage": "Shrinkage",
    "rank": "Rank", "rank_shrunk": "Rank (shrunk)", "csat_n": "CSAT answers", "p_value": "p",
    "p_adjusted": "p (adjusted)", "goal_met": "Goal met", "target_h": "Target (h)", "goal": "Goal (%)",
    "method": "Method", "unit": "Unit", "r": "r", "coef": "Coefficient", "ci_method": "Interval method",
    "customer_id": "Customer", "contacts": "Contacts", "customer_value": "Customer value", "cost": "Support cost",
    "costs_more_than_value": "Costs more than value", "team_score": "Team score (%)", "gap": "Gap (points)",
    "focus": "Coaching focus", "conversation_id": "Conversation", "review_id": "Review", "reviewed_at": "Reviewed",
    "rating": "Rating", "status": "Status", "owner": "Owner", "label": "KPI", "kpi": "KPI", "value": "Value",
    "target": "Target", "opened": "Opened", "closed": "Closed", "backlog": "Open at period end",
    "n_units": "Conversations", "n_reviewers": "Reviewers", "n_ratings": "Ratings", "n_conversations": "Conversations",
    "se": "SE", "reviewer_a": "Reviewer A", "reviewer_b": "Reviewer B",
}
#: how a few categorical values read (``method`` of the correlation and agreement results)
VALUE_WORDS = {"method": {"pearson": "Pearson", "spearman": "Spearman (ranks)", "kendall": "Kendall (ranks)",
                          "point_biserial": "Point-biserial (satisfied or not)", "partial": "Partial (adjusted)"}}
#: natural order of conversation priorities (tables sort by it, not alphabetically)
PRIORITY_ORDER = ("urgent", "high", "normal", "medium", "low")
CI_LABEL = "95 % CI"
#: columns named ``<metric value><suffix>`` are shown in the metric's unit
_METRIC_SUFFIXES = ("_p90", "_mean", "_median", "_ci_low", "_ci_high", "_business", "_before", "_after")


def human(name: str) -> str:
    """The header people read for a column: the registry's label, :data:`LABELS`, or the name in words.

    Examples
    --------
    >>> human("csat"), human("ci_low"), human("first_response_time_p90"), human("n_more")
    ('CSAT (% satisfied)', 'CI low', 'First response time, 90th percentile', 'N more')
    """
    name = str(name)
    vl = value_labels()
    if name in vl:
        return vl[name]
    if name in LABELS:
        return LABELS[name]
    if name.endswith("_p90") and name[:-4] in vl:
        return f"{vl[name[:-4]]}, 90th percentile"
    words = name.replace("_", " ").strip()
    words = words.replace("ci ", "CI ").replace(" ci", " CI").replace("iqs", "IQS").replace("csat", "CSAT")
    words = re.sub(r"\bse\b", "SE", words)
    return words[:1].upper() + words[1:]


def duration_unit(hours: pd.Series | np.ndarray) -> tuple[str, float]:
    """The unit durations read best in, from their median (in hours): ``(unit, factor from hours)``.

    Examples
    --------
    >>> duration_unit(pd.Series([0.0042, 0.005])), duration_unit(pd.Series([0.042])), duration_unit(pd.Series([3.0, 5.0]))
    (('s', 3600.0), ('min', 60.0), ('h', 1.0))
    >>> duration_unit(pd.Series([90.0]))
    ('d', 0.041666666666666664)
    """
    v = pd.to_numeric(pd.Series(np.asarray(hours, dtype=float)), errors="coerce").abs().dropna()
    med = float(v.median()) if len(v) else 1.0
    if med < 1 / 60:
        return "s", 3600.0
    if med < 1:
        return "min", 60.0
    if med < 48:
        return "h", 1.0
    return "d", 1 / 24


#: duration units, smallest first, with their factor from hours
UNITS = {"s": 3600.0, "min": 60.0, "h": 1.0, "d": 1 / 24}


def readable_unit(hours: pd.Series | np.ndarray) -> str:
    """The one unit a quantity is shown in across a page, from all the values the page shows of it
    (in hours): the largest of s, min, h, d in which the typical (median) value is at least 1;
    one unit larger when the largest value would need four digits before the point there and the
    typical value still reads as 0.1 or more in the larger unit.

    So first response times of 0.4 to 667 minutes stay in minutes, handle times around 13 minutes
    too; resolution times of 13.6 to 5,338 minutes (median about an hour) read in hours, 0.2 to 89.0.

    Examples
    --------
    >>> readable_unit(np.array([0.4, 1.9, 2.6, 177.2, 667.4]) / 60)
    'min'
    >>> readable_unit(np.array([13.6, 37.8, 56.4, 60.5, 284.0, 1546.1, 5338.4]) / 60)
    'h'
    >>> readable_unit(np.array([12.0, 25.0, 300.0]) / 3600), readable_unit(np.array([1.0, 2.0, 4000.0]) / 60)
    ('s', 'min')
    """
    v = pd.to_numeric(pd.Series(np.asarray(hours, dtype=float)), errors="coerce").abs()
    v = v[np.isfinite(v)]
    if v.empty:
        return "h"
    names = list(UNITS)
    largest, typical = float(v.max()), float(v.median())
    i = max([k for k, u in enumerate(names) if typical * UNITS[u] >= 1] or [0])
    if (i + 1 < len(names) and largest * UNITS[names[i]] >= 999.95
            and typical * UNITS[names[i + 1]] >= 0.1):
        i += 1
    return names[i]


def _num(v: float, digits: int) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)) or pd.isna(v):
        return ""
    return f"{v:,.{digits}f}"


def _p(v: float) -> str:
    if pd.isna(v):
        return ""
    return "< 0.001" if v < 0.001 else f"{v:.3f}"


def _metric_of(col: str):
    for m in METRICS.values():
        if col == m.value or col in (m.value + s for s in _METRIC_SUFFIXES):
            return m
    return None


#: a column's display rule: header, raw value -> display units, digits shown
_Spec = tuple[str, Any, int]


def _metric_spec(col: str, values: pd.Series, unit_from: pd.Series | None = None, *,
                 units: Mapping[str, str] | None = None) -> _Spec | None:
    """``(header, to display units, digits)`` of a registry metric column, None for other columns."""
    m = _metric_of(col)
    if m is None or not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return None
    header = human(col)
    if m.fmt in ("hours", "minutes"):
        div = 60.0 if m.fmt == "minutes" else 1.0
        hours = (values if unit_from is None else unit_from).astype(float) / div
        unit = (units or {}).get(m.name)
        unit, f = (unit, UNITS[unit]) if unit in UNITS else duration_unit(hours)
        return f"{header} ({unit})", lambda x, div=div, f=f: x.astype(float).div(div).mul(f), 0 if unit == "s" else 1
    return header, lambda x, k=m.scale: x.astype(float).mul(k), m.digits


def metric_format(col: str, values: pd.Series, unit_from: pd.Series | None = None, *,
                  units: Mapping[str, str] | None = None) -> tuple[str, Any]:
    """Header and value formatter for a column: registry metrics in their unit and digits, durations
    in the page's unit for that metric (``units``: metric name -> ``s``/``min``/``h``/``d``, see
    :func:`readable_unit`) or else the unit that reads (chosen from ``unit_from``, default the
    values), shares as percent; ``None`` for columns that are not metrics.

    Examples
    --------
    >>> h, f = metric_format("resolution_time", pd.Series([0.25, 25.8]), units={"resolution_time": "h"})
    >>> h, f(pd.Series([0.25, 25.8])).tolist()
    ('Resolution time (h)', ['0.2', '25.8'])
    """
    spec = _metric_spec(col, values, unit_from, units=units)
    if spec is None:
        return human(col), None
    header, conv, digits = spec
    return header, lambda x: conv(x).map(lambda v: _num(v, digits))


def _upper_bound(col: str | None, values: pd.Series) -> float | None:
    """The top of a column's scale in raw units, when it has one: shares 1, percent scores (IQS,
    category and team scores, AQS) 100, or the largest value when a bonus section lifts scores
    above 100; None for unbounded quantities (times, NPS's -100..100 is not clipped)."""
    if col is None:
        return None
    m = _metric_of(col)
    if m is not None and m.fmt == "share":
        return 1.0
    if (m is not None and m.fmt == "percent") or col in ("category_score", "team_score", "iqs_shrunk"):
        top = pd.to_numeric(values, errors="coerce").max()
        return max(100.0, float(top)) if pd.notna(top) else 100.0
    return None


class Figure(_MplFigure):
    """A matplotlib figure that Jupyter shows as a PNG without pyplot (so it is shown exactly once
    and embedded in the static HTML report); ``text/plain`` stays ``<Figure size ...>``."""

    def _repr_png_(self) -> bytes:
        buf = _io.BytesIO()
        self.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        return buf.getvalue()


#: a cell that reads as a number: counts, decimals, percents, intervals, "< 0.001", "≥ 50"
_NUMERIC_CELL = re.compile(r"^[<>≤≥]?\s?[−+\-]?[\d,]*\.?\d+\s?%?(\u00a0–\u00a0[−+\-]?[\d,]*\.?\d+\s?%?)?$")


class Table:
    """A table as people read it: human headers, formatted cells, no index column.

    ``.frame`` holds the formatted strings; Jupyter shows it as HTML (escaped) and as text. In the
    HTML, columns of numbers are right-aligned and never wrap (class ``num``); columns of words are
    left-aligned and wrap when the page is narrow (class ``txt``), so a table of long reasons fits
    a 1024 px screen instead of running off it.
    """

    def __init__(self, frame: pd.DataFrame, *, caption: str = "", css: str = "qakit-table"):
        self.frame = frame
        self.caption = caption
        self.css = css

    def _kinds(self) -> list[str]:
        kinds = []
        for c in self.frame.columns:
            cells = [str(v) for v in self.frame[c] if str(v) not in ("", "nan", "None")]
            kinds.append("num" if cells and all(_NUMERIC_CELL.match(v) for v in cells) else "txt")
        return kinds

    def _repr_html_(self) -> str:
        esc = _html.escape
        kinds = self._kinds()
        head = "".join(f'<th class="{k}">{esc(str(c))}</th>' for c, k in zip(self.frame.columns, kinds))
        body = "".join("<tr>" + "".join(f'<td class="{k}">{"" if pd.isna(v) else esc(str(v))}</td>'
                                        for v, k in zip(row, kinds)) + "</tr>"
                       for row in self.frame.itertuples(index=False, name=None))
        cap = f'<p class="qakit-caption">{esc(self.caption)}</p>' if self.caption else ""
        return (f'{cap}<table class="{esc(self.css)}"><thead><tr>{head}</tr></thead>'
                f'<tbody>{body}</tbody></table>')

    def __repr__(self) -> str:
        if self.frame.empty:
            return "(no rows)"
        return self.frame.to_string(index=False)

    def __len__(self) -> int:
        return len(self.frame)


def pretty(df: pd.DataFrame, *, max_rows: int | None = None, caption: str = "",
           drop: tuple[str, ...] = ("higher_is_better", "margin", "direction", "shrinkage"),
           units: Mapping[str, str] | None = None) -> Table:
    """Format a qakit result for people (rounding happens here and only here).

    - registry metrics get their label and unit in the header, their digits, shares as percent,
      durations in the page's unit (``units``, metric name -> unit; else the unit that reads,
      chosen from the values);
    - ``ci_low`` / ``ci_high`` become one ``95 % CI`` column formatted like the statistic before them
      (``csat_ci_low`` / ``csat_ci_high`` like ``csat``); an interval of a bounded score (a share,
      a 0-100 score) is shown within the scale, and the caption says how many were clipped and why;
    - counts and ranks as integers, booleans as yes/no, p-values as ``< 0.001`` or three decimals,
      timestamps as dates, priorities in their natural order; no index column.

    :func:`readable` gives the same table for a CSV file (numbers stay numbers).

    Examples
    --------
    >>> t = pretty(pd.DataFrame({"agent_id": ["a"], "n": [12.0], "pass_rate": [0.4891], "ci_low": [0.3],
    ...                          "ci_high": [0.61], "small_sample": [True]}))
    >>> t.frame.columns.tolist()
    ['Agent', 'n', 'Pass rate (%)', '95 % CI', 'Small sample']
    >>> t.frame.iloc[0].tolist()
    ['a', '12', '48.9', '30.0\xa0–\xa061.0', 'yes']
    >>> t = pretty(pd.DataFrame({"agent_id": ["b"], "n": [2], "iqs": [60.0], "ci_low": [-43.0], "ci_high": [163.0]}))
    >>> t.frame.iloc[0].tolist(), t.caption
    (['b', '2', '60.0', '0.0\xa0–\xa0100.0'], '1 interval reaches past the 0–100 scale and is shown cut at its ends (with few rows a t interval ignores the scale).')
    """
    frame, notes = _formatted(df, max_rows=max_rows, drop=drop, units=units, csv=False)
    return Table(frame, caption=" ".join(x for x in (caption, *notes) if x))


def readable(df: pd.DataFrame, *, drop: tuple[str, ...] = ("higher_is_better", "margin", "direction", "shrinkage"),
             units: Mapping[str, str] | None = None) -> pd.DataFrame:
    """A qakit result as a person reads it in a spreadsheet: :func:`pretty`'s headers, units and
    rounding, but numbers stay numbers (no thousands separator) and an interval is two columns
    (``… 95 % CI low`` / ``… high``), clipped to the scale like on the page; customer ids hashed
    (:func:`hash_ids`) as the report shows them.

    Examples
    --------
    >>> t = readable(pd.DataFrame({"agent_id": ["a"], "n": [12.0], "pass_rate": [0.48913], "ci_low": [0.3],
    ...                            "ci_high": [0.61], "rank": [1.0], "small_sample": [False]}))
    >>> print(t.to_csv(index=False).strip())
    Agent,n,Pass rate (%),95 % CI low,95 % CI high,Rank,Small sample
    a,12,48.9,30.0,61.0,1,no
    """
    return _formatted(_hide_customers(df), max_rows=None, drop=drop, units=units, csv=True)[0]


def _formatted(df: pd.DataFrame, *, max_rows: int | None, drop: tuple[str, ...], units: Mapping[str, str] | None,
               csv: bool) -> tuple[pd.DataFrame, list[str]]:
    """The work of :func:`pretty` (``csv=False``: text cells) and :func:`readable` (``csv=True``)."""
    src = df.head(max_rows) if max_rows else df
    src = src.drop(columns=[c for c in drop if c in src.columns])
    if "priority" in src.columns:
        order = {p: i for i, p in enumerate(PRIORITY_ORDER)}
        src = src.iloc[src["priority"].astype(str).map(lambda p: order.get(p, len(order))).argsort(kind="stable")]
    out: dict[str, pd.Series] = {}
    notes: list[str] = []
    clipped = {"n": 0, "top": 100.0}

    def show(values: pd.Series, digits: int) -> pd.Series:
        return values.round(digits) if csv else values.map(lambda v: _num(v, digits))

    last: tuple[Any, int, str | None, pd.Series | None] | None = None  # (to display units, digits, column, values)
    done: set[str] = set()
    for c in src.columns:
        if c in done:
            continue
        s = src[c]
        name = str(c)
        if name.endswith("ci_low") and name[:-6] + "ci_high" in src.columns:
            hi = name[:-6] + "ci_high"
            base = name[:-7] if name != "ci_low" else None
            spec = _metric_spec(base, src[base], units=units) if base and base in src.columns else None
            conv, digits, of, of_values = ((spec[1], spec[2], base, src[base]) if spec else
                                           last if last is not None else (lambda x: x.astype(float), 1, None, None))
            lo_v, hi_v = s.astype(float), src[hi].astype(float)
            top = _upper_bound(of, of_values if of_values is not None else hi_v)
            if top is not None:  # a bounded score: the interval is shown within its scale
                cut = (lo_v < 0) | (hi_v > top)
                clipped["n"] += int(cut.sum())
                clipped["top"] = 100.0 * top if top == 1.0 else top
                lo_v, hi_v = lo_v.clip(lower=0), hi_v.clip(upper=top)
            lo_s, hi_s = show(conv(lo_v), digits), show(conv(hi_v), digits)
            label = CI_LABEL if base is None else f"{human(base).split(' (')[0]} {CI_LABEL}"
            if csv:
                out[f"{label} low"], out[f"{label} high"] = lo_s, hi_s
            else:
                out[label] = pd.Series([f"{a}\u00a0–\u00a0{b}" if a and b else "" for a, b in zip(lo_s, hi_s)],
                                       index=s.index)  # no-break spaces: an interval never wraps
            done |= {c, hi}
            continue
        m = _metric_of(name)
        base_values = src[m.value] if m is not None and m.value != name and m.value in src.columns else None
        spec = _metric_spec(name, s, base_values, units=units)  # a metric's companions (p90, mean) share its unit
        if spec is not None:
            header, conv, digits = spec
            out[header] = show(conv(s), digits)
            last = (conv, digits, name, s)
            continue
        header = human(name)
        if (name == "se" or name.endswith("_se")) and last is not None and pd.api.types.is_numeric_dtype(s.dtype):
            out[header] = show(last[0](s.astype(float)), last[1])  # a standard error: like its statistic
            continue
        if name in VALUE_WORDS and not pd.api.types.is_numeric_dtype(s.dtype):
            out[header] = s.map(lambda v, w=VALUE_WORDS[name]: w.get(v, v) if isinstance(v, str) else v).astype(
                "str").where(s.notna(), "")
            continue
        if pd.api.types.is_bool_dtype(s.dtype) or s.dtype == "boolean":
            out[header] = s.map(lambda v: "" if pd.isna(v) else ("yes" if v else "no"))
        elif name in ("p_value", "p_adjusted"):
            out[header] = s.astype(float).round(4) if csv else s.map(_p)
        elif isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(s.dtype):
            out[header] = s.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_numeric_dtype(s.dtype):
            f = s.astype(float)
            ident = lambda x: x.astype(float)  # noqa: E731
            if name in ("category_score", "iqs_shrunk", "team_score", "gap", "goal"):
                digits = 1
            elif np.allclose(f.dropna() % 1, 0):
                out[header] = (f.round().astype("Int64") if csv
                               else f.map(lambda v: "" if pd.isna(v) else f"{int(v):,}"))
                continue
            else:
                digits = next((v for k, v in DIGITS.items() if name == k or name.endswith("_" + k)),
                              2 if f.abs().max() < 10 else DEFAULT_DIGITS)
            out[header] = show(f, digits)
            last = (ident, digits, name, s)
        else:
            out[header] = s.astype("str").where(s.notna(), "")
    if clipped["n"]:
        k, top = clipped["n"], clipped["top"]
        notes.append(f"{k} interval{' reaches' if k == 1 else 's reach'} past the 0–{top:g} scale and "
                     f"{'is' if k == 1 else 'are'} shown cut at its ends (with few rows a t interval ignores the scale).")
    return pd.DataFrame(out).reset_index(drop=True), notes


def _hide_customers(t: pd.DataFrame) -> pd.DataFrame:
    """``t`` with its ``customer_id`` column hashed (:func:`hash_ids`), when it has one."""
    return t.assign(customer_id=hash_ids(t["customer_id"])) if "customer_id" in t.columns else t


#: the sub-folder of a report's table folder holding the unrounded tables
RAW_FOLDER = "raw"


def write_table_files(folder: str | Path, tables: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]]) -> list[str]:
    """Write each table twice, formula-safe (:func:`qakit.io.to_csv_safe`): ``<folder>/<name>.csv``
    as people read it (``readable``: headers, units, rounding as in the report) and
    ``<folder>/raw/<name>.csv`` unrounded with the column names of qakit's results, for programs.
    ``tables``: name -> ``(raw, readable)``. Customer ids are hashed in both (:func:`hash_ids`), as
    the report shows them. Returns the names written."""
    f = Path(folder)
    (f / RAW_FOLDER).mkdir(parents=True, exist_ok=True)
    for name, (raw, shown) in tables.items():
        to_csv_safe(shown, f / f"{name}.csv")
        to_csv_safe(_hide_customers(raw), f / RAW_FOLDER / f"{name}.csv")
    return list(tables)


def tables_note(folder: str | Path, names: list[str], what: str = "Full tables") -> str:
    """The caption saying where the CSV tables are, in words."""
    f = Path(folder).name
    return (f"{what} as CSV next to this report, in {f}/: " + ", ".join(f"{n}.csv" for n in names)
            + f" (as shown here: headers, units, rounding); unrounded, with machine-readable column names, "
              f"in {f}/{RAW_FOLDER}/.")
