"""The G99 islanding suite as the rig sees it (``rig.suites.REGISTRY`` points here)."""

from __future__ import annotations

from rig.suites.platform import Suite, tables_only
from rig.suites.g99_islanding import plots
from rig.suites.g99_islanding.plan import Plan
from rig.suites.g99_islanding.procedures import PROCEDURES
from rig.suites.g99_islanding.summary import islanding_summary

SUITE = Suite(
    name="g99.islanding",
    plan=Plan,
    procedures=PROCEDURES,
    plot_kinds={"g99.islanding.run_on": plots.RUN_ON},
    report=tables_only(islanding_summary),
)
"""G99 loss of mains by islanding: run-on after the grid switch opens on a balanced RLC load."""
