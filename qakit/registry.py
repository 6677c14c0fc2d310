"""The KPI registry: one definition per metric, the one place the KPI list is written.

Each :class:`Metric` says which qakit function computes it, where its one definition lives (the
backend-neutral rule in :mod:`qakit.metrics` that runs on pandas, Polars, DuckDB and Spark), from
which input table, which column of the result holds the value, and how people see it: a label, a
unit, the direction that is better, the display format and digits, and the default target with its
owner. Derived from it:

- :data:`qakit.targets.DEFAULT_TARGETS` (the metrics that have a default target);
- the headline values a report checks against targets (:func:`qakit.headline.headline_values`);
- the human labels of value columns in every report table (:mod:`qakit.display`);
- the list of KPIs the common property tests run (``tests/test_kpi_properties.py``) and the
  engine parity suite runs on every engine (``tests/test_engines_parity.py``).

Adding a KPI: write its definition once in a :mod:`qakit.metrics` module, a thin public function in
:mod:`qakit.kpis`, one :class:`Metric` here (``definition`` names it) and one test with a number
computed by hand; the property and parity suites pick it up from this list
(``docs/design/metrics.md``).

Formats: ``percent`` (the value is already a percent: IQS, CSAT, SLA), ``share`` (a proportion
0..1 shown as a percent: pass rate, FCR), ``points`` (NPS, -100..100), ``hours`` (a duration in
hours shown in the unit that reads: s, min, h or d), ``minutes``, ``number``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._public import public
from .errors import check_choice

FORMATS = ("percent", "share", "points", "hours", "minutes", "number")


@dataclass(frozen=True)
class Metric:
    """One metric: how it is computed and how people see it."""

    name: str  #: key used in targets and headline values
    function: str  #: "module:function" computing it (imported lazily)
    table: str  #: input table: "scores" (review scores), "surveys", "conversations", "calls"
    value: str  #: value column of the function's result
    label: str  #: what people read ("First response time")
    unit: str  #: unit people read, after display scaling ("%", "points", "h", "1-7", "contacts")
    direction: str = "higher"  #: "higher" or "lower" is better
    fmt: str = "percent"  #: one of FORMATS
    digits: int = 1  #: decimals shown (durations: in the unit chosen for display)
    target: float | None = None  #: default target (display units: percent for shares, hours for times)
    owner: str = ""  #: default owner of the target
    margin: float | None = None  #: width of the at-risk band (display units); None: targets' default
    needs: str | None = None  #: column whose missing value makes an input row unusable (property tests)
    kwargs: Mapping[str, Any] = field(default_factory=dict)  #: extra arguments the function needs in tests
    title: str = ""  #: tile and target title when it says more than the label (default: the label)
    definition: str = ""  #: "module:function" of its one definition in qakit.metrics (none: not an engine metric)

    @property
    def heading(self) -> str:
        """Title of the metric's tile and target row."""
        return self.title or self.label

    @property
    def fn(self) -> Callable:
        """The computing function."""
        module, name = self.function.split(":")
        return getattr(importlib.import_module(module), name)

    @property
    def defined_by(self) -> Callable | None:
        """The metric's one definition (:mod:`qakit.metrics`), or None (AQS: pandas only)."""
        if not self.definition:
            return None
        module, name = self.definition.split(":")
        return getattr(importlib.import_module(module), name)

    @property
    def scale(self) -> float:
        """Factor from the function's value to display units (shares become percent)."""
        return 100.0 if self.fmt == "share" else 1.0

    @property
    def header(self) -> str:
        """Column header with the unit: ``"CSAT (%)"``; durations get their unit when shown."""
        if self.fmt in ("hours", "minutes"):
            return self.label
        return f"{self.label} ({self.unit})" if self.unit else self.label


_K = "qakit.kpis"
_M = "qakit.metrics"
#: every metric qakit reports, in the order a report shows them
METRICS: dict[str, Metric] = {m.name: m for m in [
    Metric("iqs", "qakit.scorecard:iqs_score", "scores", "iqs", "IQS", "%", target=85, owner="QA lead",
           definition=f"{_M}.scoring:iqs_by"),
    Metric("pass_rate", "qakit.scorecard:iqs_score", "scores", "pass_rate", "Pass rate", "%", fmt="share",
           target=80, owner="QA lead", margin=10, definition=f"{_M}.scoring:iqs_by"),
    Metric("csat", f"{_K}:csat_score", "surveys", "csat", "CSAT", "% satisfied", target=90,
           owner="Support manager", needs="score", definition=f"{_M}.surveys:csat"),
    Metric("nps", f"{_K}:nps_score", "surveys", "nps", "NPS", "points", fmt="points", target=30,
           owner="Support manager", margin=10, needs="score", definition=f"{_M}.surveys:nps"),
    Metric("ces", f"{_K}:ces_score", "surveys", "ces", "Customer effort", "1-7", fmt="number", digits=2,
           needs="score", definition=f"{_M}.surveys:ces"),
    Metric("first_response_time", f"{_K}:first_response_time", "conversations", "first_response_time",
           "First response time", "h", direction="lower", fmt="hours", target=1, owner="Team leads", margin=1,
           needs="first_response_at", definition=f"{_M}.times:first_response"),
    Metric("resolution_time", f"{_K}:resolution_time", "conversations", "resolution_time", "Resolution time",
           "h", direction="lower", fmt="hours", needs="resolved_at", definition=f"{_M}.times:resolution"),
    Metric("handle_time", f"{_K}:handle_time", "conversations", "handle_time", "Handle time", "min",
           direction="lower", fmt="minutes", needs="handle_time_s", definition=f"{_M}.times:handle"),
    Metric("fcr_rate", f"{_K}:fcr_rate", "conversations", "fcr_rate", "First contact resolution", "%",
           fmt="share", needs="contacts", kwargs={"rule": "contacts"}, definition=f"{_M}.conversations:fcr"),
    Metric("resolution_rate", f"{_K}:resolution_rate", "conversations", "resolution_rate", "Resolved", "%",
           fmt="share", definition=f"{_M}.conversations:resolution_rate"),
    Metric("escalation_rate", f"{_K}:escalation_rate", "conversations", "escalation_rate", "Escalated", "%",
           direction="lower", fmt="share", needs="escalated", definition=f"{_M}.conversations:escalation_rate"),
    Metric("interactions_per_issue", f"{_K}:interactions_per_issue", "conversations", "interactions_per_issue",
           "Contacts per issue", "contacts", direction="lower", fmt="number", digits=2, needs="contacts",
           definition=f"{_M}.conversations:interactions"),
    Metric("sla_high", f"{_K}:sla_attainment", "conversations", "met_pct", "SLA met", "%",
           title="SLA met, high priority", target=95, owner="Operations lead", kwargs={"as_of": "2026-09-01 00:00Z"},
           definition=f"{_M}.sla:attainment"),
    Metric("service_level", f"{_K}:service_level", "calls", "service_level", "Service level", "%", fmt="share",
           target=80, owner="Operations lead", margin=5, needs="speed_of_answer_s", definition=f"{_M}.calls:service_level"),
    Metric("abandonment_rate", f"{_K}:abandonment_rate", "calls", "abandonment_rate", "Abandoned calls", "%",
           direction="lower", fmt="share", definition=f"{_M}.calls:abandonment_rate"),
    Metric("asa", "qakit.calls:call_answer_time", "calls", "asa_s", "Mean speed of answer", "s", direction="lower",
           fmt="number", needs="speed_of_answer_s", definition=f"{_M}.calls:answer_time"),
    Metric("aht", "qakit.calls:call_handle_time", "calls", "handle_time_s", "Average handle time", "s",
           direction="lower", fmt="number", needs="handle_time_s", definition=f"{_M}.calls:handle"),
    Metric("time_to_abandon", "qakit.calls:call_abandon_time", "calls", "time_to_abandon_s", "Mean time to abandon",
           "s", fmt="number", needs="time_to_abandon_s", definition=f"{_M}.calls:abandon_time"),
    Metric("aqs", "qakit.autoqa:aqs_score", "messages", "aqs", "AQS (automatic)", "%",
           title="AQS (automatic, not IQS)"),
    Metric("cost_per_contact", f"{_K}:cost_per_contact", "conversations", "cost_per_contact", "Cost per contact",
           "", direction="lower", fmt="number", digits=2, kwargs={"cost_per_hour": 40},
           definition=f"{_M}.cost:cost_per_contact"),
]}

#: KPIs that are tables rather than one value per group (no tile, no target): their definitions,
#: run by the same property and parity suites as :data:`METRICS`
TABLE_KPIS: dict[str, tuple[str, str, str]] = {  # name: (public function, input table, definition)
    "backlog": (f"{_K}:backlog", "conversations", f"{_M}.conversations:backlog"),
    "customer_cost_value": (f"{_K}:customer_cost_value", "conversations", f"{_M}.cost:customer_cost_value"),
    "kpi_summary": (f"{_K}:kpi_summary", "conversations", f"{_K}:kpi_summary"),
}

#: metrics shown as headline tiles, in this order (those the data has)
HEADLINE = ("iqs", "pass_rate", "csat", "nps", "first_response_time", "sla_high")
#: earlier names of headline values, still accepted as target keys
ALIASES = {"frt_hours": "first_response_time", "resolution_hours": "resolution_time"}


@public
def metric(name: str) -> Metric:
    """The registry entry for ``name`` (or one of its :data:`ALIASES`).

    Examples
    --------
    >>> metric("csat").header
    'CSAT (% satisfied)'
    >>> metric("frt_hours").direction
    'lower'
    """
    name = ALIASES.get(name, name)
    check_choice("metric", name, tuple(METRICS))
    return METRICS[name]


@public
def default_targets() -> dict[str, dict[str, Any]]:
    """Targets of every metric that has a default one: ``{name: {target, owner, label, direction[, margin]}}``."""
    out = {}
    for m in METRICS.values():
        if m.target is not None:
            spec = {"target": m.target, "owner": m.owner, "label": m.heading, "direction": m.direction}
            if m.margin is not None:
                spec["margin"] = m.margin
            out[m.name] = spec
    return out


@public
def value_labels() -> dict[str, str]:
    """Value column -> header, for every metric (a table that shows the column shows this header)."""
    return {m.value: m.header for m in METRICS.values()}


@public
def internal_names() -> set[str]:
    """Every name the registry uses internally (metric keys and value columns): never a visible header."""
    return {m.name for m in METRICS.values()} | {m.value for m in METRICS.values()}


__all__ = ["Metric", "METRICS", "TABLE_KPIS", "HEADLINE", "metric", "default_targets", "value_labels",
           "internal_names"]
