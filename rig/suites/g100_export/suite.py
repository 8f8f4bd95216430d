"""The G100 export limitation suite as the rig sees it (``rig.suites.REGISTRY`` points here)."""

from __future__ import annotations

from rig.suites.platform import Suite, tables_only
from rig.suites.g100_export import plots
from rig.suites.g100_export.plan import Plan
from rig.suites.g100_export.procedures import PLOT_KIND, PROCEDURES
from rig.suites.g100_export.summary import export_limitation_summary

SUITE = Suite(
    name="g100.export_limitation",
    plan=Plan,
    procedures=PROCEDURES,
    plot_kinds={PLOT_KIND: plots.BOUNDARY_EXPORT},
    report=tables_only(export_limitation_summary),
)
"""G100 export limitation: load steps, excursion correction, fail-safe on loss of the boundary sensor."""
