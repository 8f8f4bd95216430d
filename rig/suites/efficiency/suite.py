"""The efficiency suite as the rig sees it (``rig.suites.REGISTRY`` points here)."""

from __future__ import annotations

from rig.suites.efficiency.plan import Plan
from rig.suites.efficiency.procedures import PROCEDURES
from rig.suites.efficiency.summary import section
from rig.suites.platform import Suite

SUITE = Suite(name="efficiency", plan=Plan, procedures=PROCEDURES, report=section)
