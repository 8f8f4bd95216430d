"""The CHAdeMO suite as the rig sees it (``rig.suites.REGISTRY`` points here)."""

from __future__ import annotations

from rig.suites.platform import Suite, tables_only
from rig.suites.chademo import plots
from rig.suites.chademo.plan import Plan
from rig.suites.chademo.procedures import PROCEDURES
from rig.suites.chademo.summary import compatibility_matrix

SUITE = Suite(
    name="chademo",
    plan=Plan,
    procedures=PROCEDURES,
    plot_kinds={"chademo.timeline": plots.TIMELINE},
    report=tables_only(compatibility_matrix),
)
