"""The G99 frequency-response suite as the rig sees it (``rig.suites.REGISTRY`` points here)."""

from __future__ import annotations

from rig.suites.platform import Suite, tables_only
from rig.suites.g99_frequency_response import plots
from rig.suites.g99_frequency_response.plan import Plan
from rig.suites.g99_frequency_response.procedures import PROCEDURES
from rig.suites.g99_frequency_response.summary import frequency_response_summary

SUITE = Suite(
    name="g99.frequency_response",
    plan=Plan,
    procedures=PROCEDURES,
    plot_kinds={"g99.frequency_response": plots.FREQUENCY_RESPONSE},
    report=tables_only(frequency_response_summary),
)
