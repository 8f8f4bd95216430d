"""The OCPP 2.0.1 suite as the rig sees it (``rig.suites.REGISTRY`` points here)."""

from __future__ import annotations

from rig.suites.ocpp201.plan import Plan
from rig.suites.ocpp201.procedures import PROCEDURES
from rig.suites.ocpp201.summary import ocpp201_summary
from rig.suites.platform import Suite, tables_only

SUITE = Suite(
    name="ocpp201",
    plan=Plan,
    procedures=PROCEDURES,
    report=tables_only(ocpp201_summary),
)
"""OCPP 2.0.1: the charging station against the rig as its CSMS (OCTT 2.0.1 cases)."""
