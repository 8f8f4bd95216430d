"""The OCPP 2.1 V2X suite as the rig sees it (``rig.suites.REGISTRY`` points here)."""

from __future__ import annotations

from rig.suites.ocpp21.plan import Plan
from rig.suites.ocpp21.procedures import PROCEDURES
from rig.suites.ocpp21.summary import ocpp21_summary
from rig.suites.platform import Suite, tables_only

SUITE = Suite(
    name="ocpp21",
    plan=Plan,
    procedures=PROCEDURES,
    report=tables_only(ocpp21_summary),
)
"""OCPP 2.1: the charging station's bidirectional control against the rig as its CSMS, judged at the grid."""
