"""The G99 protection suite as the rig sees it (``rig.suites.REGISTRY`` points here)."""

from __future__ import annotations

from rig.suites.platform import Suite, tables_only
from rig.suites.g99 import plots
from rig.suites.g99.plan import Plan
from rig.suites.g99.procedures import PROCEDURES
from rig.suites.g99.summary import protection_summary

SUITE = Suite(
    name="g99.protection",
    plan=Plan,
    procedures=PROCEDURES,
    plot_kinds={"g99.trip_time": plots.TRIP, "g99.staircase": plots.STAIRCASE},
    report=tables_only(protection_summary),
)
