"""The OCPP 1.6J Core suite as the rig sees it (``rig.suites.REGISTRY`` points here)."""

from __future__ import annotations

from rig.suites.ocpp.sequence_chart import SEQUENCE
from rig.suites.ocpp16.plan import Plan
from rig.suites.ocpp16.procedures import PROCEDURES
from rig.suites.ocpp16.summary import ocpp16_summary
from rig.suites.platform import Suite, tables_only

SUITE = Suite(
    name="ocpp16.core",
    plan=Plan,
    procedures=PROCEDURES,
    report=tables_only(ocpp16_summary),
    plot_kinds={"ocpp.sequence": SEQUENCE},
)
"""OCPP 1.6J Core: the charger against the rig as its central system (OCTT 1.6 cases)."""
