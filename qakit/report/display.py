"""Display helpers: the one place where numbers are rounded, for notebooks and reports.

Computations never round; notebooks call :func:`table` on a result just before showing it, so
outputs are short, stable for nbval, and HTML-escaped (pandas escapes cell text in ``to_html``).
"""

from __future__ import annotations

import hashlib
import html as _html
import io as _io
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure as _MplFigure

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
}
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


def metric_format(col: str, values: pd.Series, unit_from: pd.Series | None = None) -> tuple[str, Any]:
    """Header and value formatter for a column: registry metrics in their unit and digits, durations
    in the unit that reads (chosen from ``unit_from``, default the values), shares as percent;
    ``None`` for columns that are not metrics."""
    m = _metric_of(col)
    if m is None or not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return human(col), None
    header = human(col)
    if m.fmt in ("hours", "minutes"):
        hours = (values if unit_from is None else unit_from).astype(float) / (60.0 if m.fmt == "minutes" else 1.0)
        unit, f = duration_unit(hours)
        digits = 0 if unit == "s" else 1
        div = 60.0 if m.fmt == "minutes" else 1.0
        return f"{header} ({unit})", lambda s: s.astype(float).div(div).mul(f).map(lambda v: _num(v, digits))
    scale, digits = m.scale, m.digits
    return header, lambda s: s.astype(float).mul(scale).map(lambda v: _num(v, digits))


class Figure(_MplFigure):
    """A matplotlib figure that Jupyter shows as a PNG without pyplot (so it is shown exactly once
    and embedded in the static HTML report); ``text/plain`` stays ``<Figure size ...>``."""

    def _repr_png_(self) -> bytes:
        buf = _io.BytesIO()
        self.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        return buf.getvalue()


class Table:
    """A table as people read it: human headers, formatted cells, no index column.

    ``.frame`` holds the formatted strings; Jupyter shows it as HTML (escaped) and as text.
    """

    def __init__(self, frame: pd.DataFrame, *, caption: str = "", css: str = "qakit-table"):
        self.frame = frame
        self.caption = caption
        self.css = css

    def _repr_html_(self) -> str:
        body = self.frame.to_html(index=False, escape=True, border=0, classes=self.css, na_rep="")
        cap = f'<p class="qakit-caption">{_html.escape(self.caption)}</p>' if self.caption else ""
        return cap + body

    def __repr__(self) -> str:
        if self.frame.empty:
            return "(no rows)"
        return self.frame.to_string(index=False)

    def __len__(self) -> int:
        return len(self.frame)


def pretty(df: pd.DataFrame, *, max_rows: int | None = None, caption: str = "",
           drop: tuple[str, ...] = ("higher_is_better", "margin", "direction", "shrinkage")) -> Table:
    """Format a qakit result for people (rounding happens here and only here).

    - registry metrics get their label and unit in the header, their digits, shares as percent,
      durations in the unit that reads (s, min, h or d, chosen from the values);
    - ``ci_low`` / ``ci_high`` become one ``95 % CI`` column formatted like the statistic before them
      (``csat_ci_low`` / ``csat_ci_high`` like ``csat``);
    - counts and ranks as integers, booleans as yes/no, p-values as ``< 0.001`` or three decimals,
      timestamps as dates, priorities in their natural order; no index column.

    Examples
    --------
    >>> t = pretty(pd.DataFrame({"agent_id": ["a"], "n": [12.0], "pass_rate": [0.4891], "ci_low": [0.3],
    ...                          "ci_high": [0.61], "small_sample": [True]}))
    >>> t.frame.columns.tolist()
    ['Agent', 'n', 'Pass rate (%)', '95 % CI', 'Small sample']
    >>> t.frame.iloc[0].tolist()
    ['a', '12', '48.9', '30.0\xa0–\xa061.0', 'yes']
    """
    src = df.head(max_rows) if max_rows else df
    src = src.drop(columns=[c for c in drop if c in src.columns])
    if "priority" in src.columns:
        order = {p: i for i, p in enumerate(PRIORITY_ORDER)}
        src = src.iloc[src["priority"].astype(str).map(lambda p: order.get(p, len(order))).argsort(kind="stable")]
    out: dict[str, pd.Series] = {}
    last_fmt = None
    cols = list(src.columns)
    done: set[str] = set()
    for c in cols:
        if c in done:
            continue
        s = src[c]
        name = str(c)
        if name.endswith("ci_low") and name[:-6] + "ci_high" in src.columns:
            hi = name[:-6] + "ci_high"
            base = name[:-7] if name != "ci_low" else None
            fmt = metric_format(base, src[base])[1] if base and base in src.columns else last_fmt
            if fmt is None:
                fmt = lambda x: x.astype(float).map(lambda v: _num(v, 1))  # noqa: E731
            lo_s, hi_s = fmt(s), fmt(src[hi])
            label = CI_LABEL if base is None else f"{human(base).split(' (')[0]} {CI_LABEL}"
            out[label] = pd.Series([f"{a}\u00a0–\u00a0{b}" if a and b else "" for a, b in zip(lo_s, hi_s)],
                                   index=s.index)  # no-break spaces: an interval never wraps
            done |= {c, hi}
            continue
        m = _metric_of(name)
        base = src[m.value] if m is not None and m.value != name and m.value in src.columns else None
        header, fmt = metric_format(name, s, base)  # a metric's companions (p90, mean) share its unit
        if fmt is not None:
            out[header] = fmt(s)
            last_fmt = fmt
        elif pd.api.types.is_bool_dtype(s.dtype) or s.dtype == "boolean":
            out[header] = s.map(lambda v: "" if pd.isna(v) else ("yes" if v else "no"))
        elif name in ("p_value", "p_adjusted"):
            out[header] = s.map(_p)
        elif isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(s.dtype):
            out[header] = s.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_numeric_dtype(s.dtype):
            f = s.astype(float)
            if name in ("category_score", "iqs_shrunk", "team_score", "gap", "goal"):
                digits = 1
                last_fmt = lambda x: x.astype(float).map(lambda v: _num(v, 1))  # noqa: E731
            elif np.allclose(f.dropna() % 1, 0):
                out[header] = f.map(lambda v: "" if pd.isna(v) else f"{int(v):,}")
                continue
            else:
                digits = DIGITS.get(name, 2 if f.abs().max() < 10 else DEFAULT_DIGITS)
            out[header] = f.map(lambda v, d=digits: _num(v, d))
            last_fmt = lambda x, d=digits: x.astype(float).map(lambda v: _num(v, d))  # noqa: E731
        else:
            out[header] = s.astype("str").where(s.notna(), "")
    frame = pd.DataFrame(out).reset_index(drop=True)
    return Table(frame, caption=caption)
