"""The roles a procedure gets, and the clock and step log that go with them."""

from __future__ import annotations

from dataclasses import dataclass

from rig.clock import Clock
from rig.roles import Digitizer, GridSimulator
from rig.steps import StepLog


@dataclass
class Lab:
    """What procedures talk to: roles, never vendors, and never the simulator."""

    clock: Clock
    grid: GridSimulator
    capture: Digitizer
    steps: StepLog
