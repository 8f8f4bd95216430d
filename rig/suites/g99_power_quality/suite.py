"""The G99 power quality suite as the rig sees it (``rig.suites.REGISTRY`` points here)."""

from __future__ import annotations

from rig.suites.platform import Suite, tables_only
from rig.suites.g99_power_quality import plots
from rig.suites.g99_power_quality.plan import Plan
from rig.suites.g99_power_quality.procedures import PROCEDURES
from rig.suites.g99_power_quality.summary import power_quality_summary

SUITE = Suite(
    name="g99.power_quality",
    plan=Plan,
    procedures=PROCEDURES,
    plot_kinds={"g99.pq.spectrum": plots.SPECTRUM, "g99.pq.waveform": plots.WAVEFORM},
    report=tables_only(power_quality_summary),
)
"""G99 power quality: harmonic currents, DC injection and power factor, measured from the captured current."""
