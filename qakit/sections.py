"""Deprecated: ``qakit.sections`` was split into data loading, analysis and display.

Every name it held still works from here for one release, with a ``FutureWarning`` naming its new
home (listed in CHANGELOG.md):

- loading: :mod:`qakit.report_data` (``ReportData``, ``load_report_data``, ``load_calibration``,
  ``with_conversation_columns``, ``MISSING_EFFECT``, ``TABLE_FILES``);
- analysis: :mod:`qakit.headline` (``headline_values``, ``coaching_table``, ``left_out_rows``);
- display: :mod:`qakit.study_view` (the study, coaching and calibration notebooks' tables and
  figures), :class:`qakit.display.Figure` and :func:`qakit.display.table`.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from ._public import REMOVED_IN

_LOADING = ("ReportData", "load_report_data", "load_calibration", "MISSING_EFFECT", "TABLE_FILES")
_ANALYSIS = ("headline_values", "coaching_table")
_DISPLAY = ("overview", "kpi_targets", "iqs_table", "category_table", "agent_table", "iqs_trend_figure",
            "customer_kpis", "time_table", "sla_table", "backlog_figure", "iqs_csat_table", "drivers_table",
            "iqs_csat_figure", "costly_customers", "customer_value_figure", "coaching_focus",
            "agent_trend_figure", "low_rating_examples", "data_quality", "conversations_for_display", "heading")
#: old name -> (new module, new name)
MOVED: dict[str, tuple[str, str]] = {
    **{n: ("qakit.report_data", n) for n in _LOADING},
    "_with_conv_cols": ("qakit.report_data", "with_conversation_columns"),
    **{n: ("qakit.headline", n) for n in _ANALYSIS},
    **{n: ("qakit.study_view", n) for n in _DISPLAY},
    "Figure": ("qakit.display", "Figure"),
    "table": ("qakit.display", "table"),
    "hash_ids": ("qakit.display", "hash_ids"),
}


def __getattr__(name: str) -> Any:
    if name not in MOVED:
        raise AttributeError(f"module 'qakit.sections' has no attribute {name!r}")
    module, new = MOVED[name]
    warnings.warn(f"qakit.sections.{name} moved to {module}.{new}; qakit.sections is removed in {REMOVED_IN} "
                  "(see CHANGELOG.md)", FutureWarning, stacklevel=2)
    return getattr(importlib.import_module(module), new)


def __dir__() -> list[str]:
    return sorted(MOVED)
