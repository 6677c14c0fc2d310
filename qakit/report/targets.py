"""KPI targets with owners, and the on target / at risk / off target status a report shows.

A target says which value a KPI should reach, in which direction, and who owns it::

    iqs:       {target: 85, owner: "QA lead"}                     # higher is better
    csat:      {target: 90, owner: "Support manager"}
    first_response_time: {target: 4, owner: "Team leads", direction: lower}  # hours; lower is better

Status, with ``margin`` the at-risk band (in the KPI's own units, default 5):

- higher is better: ``value >= target`` on target; ``target - margin <= value < target`` at risk;
  below that off target.
- lower is better: mirrored (``value <= target`` on target, up to ``target + margin`` at risk).
- a missing value is ``no data`` — never counted as met.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._public import public
from ..errors import ParameterError, check_choice, check_keys
from ..registry import default_targets

STATUSES = ("on target", "at risk", "off target", "no data")
DIRECTIONS = ("higher", "lower")
_TARGET_KEYS = {"target", "owner", "direction", "margin", "label"}

#: targets used when a report is given none: every metric of the KPI registry with a default target
#: (IQS >= 85, CSAT >= 90 %, high-priority SLA >= 95 %, ...; :func:`qakit.registry.default_targets`)
DEFAULT_TARGETS: dict[str, dict[str, Any]] = default_targets()


@public
def check_targets(targets: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Validate a targets mapping (from YAML or Python) and fill defaults."""
    if not isinstance(targets, Mapping):
        raise ParameterError(f"targets must be a mapping kpi -> {{target, owner, ...}}; got {type(targets).__name__}")
    out = {}
    for kpi, spec in targets.items():
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            spec = {"target": spec}
        if not isinstance(spec, Mapping):
            raise ParameterError(f"target {kpi!r} must be a number or a mapping; got {spec!r}")
        check_keys(f"target {kpi!r}", spec, _TARGET_KEYS)
        t = spec.get("target")
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
            raise ParameterError(f"target {kpi!r}: 'target' must be a finite number; got {t!r}")
        m = spec.get("margin", 5.0)
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not m >= 0:
            raise ParameterError(f"target {kpi!r}: 'margin' must be a number >= 0; got {m!r}")
        d = check_choice(f"target {kpi!r}: direction", spec.get("direction", "higher"), DIRECTIONS)
        out[str(kpi)] = {"target": float(t), "owner": str(spec.get("owner", "")), "direction": d,
                         "margin": float(m), "label": str(spec.get("label", kpi))}
    return out


@public
def target_status(values: Mapping[str, float], targets: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Compare KPI values with their targets.

    Parameters
    ----------
    values : mapping kpi -> value
        E.g. ``{"iqs": 83.1, "csat": 91.0}``; KPIs without a target are ignored.
    targets : mapping, optional
        See the module docstring; default :data:`DEFAULT_TARGETS`.

    Returns
    -------
    pandas.DataFrame
        ``kpi, label, value, target, direction, margin, status, owner`` in the order of ``targets``.

    Examples
    --------
    >>> target_status({"iqs": 82.0, "csat": 91.5, "first_response_time": 5.0},
    ...               {"iqs": {"target": 85, "owner": "QA"}, "csat": 90,
    ...                "first_response_time": {"target": 4, "direction": "lower", "margin": 2}})[["kpi", "status"]]
             kpi      status
    0        iqs     at risk
    1       csat   on target
    2  first_response_time     at risk
    """
    spec = check_targets(DEFAULT_TARGETS if targets is None else targets)
    rows = []
    for kpi, s in spec.items():
        v = values.get(kpi, np.nan)
        v = float(v) if v is not None and not (isinstance(v, float) and math.isnan(v)) else np.nan
        sign = 1.0 if s["direction"] == "higher" else -1.0
        gap = sign * (v - s["target"])  # >= 0 means the target is met
        if math.isnan(v):
            status = "no data"
        elif gap >= 0:
            status = "on target"
        elif gap >= -s["margin"]:
            status = "at risk"
        else:
            status = "off target"
        rows.append({"kpi": kpi, "label": s["label"], "value": v, "target": s["target"],
                     "direction": s["direction"], "margin": s["margin"], "status": status, "owner": s["owner"]})
    out = pd.DataFrame(rows, columns=["kpi", "label", "value", "target", "direction", "margin", "status", "owner"])
    out["status"] = pd.Categorical(out["status"], categories=STATUSES)
    return out


# --- the public API: every function listed here is decorated with @public on its def (shared parameters
# checked by name; every result stamped with its exclusion record) -----------------------------------
__all__ = [
    "check_targets",
    "target_status",
]
