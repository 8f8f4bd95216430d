"""A lab model with the grid on from t = 0, for the charger-model tests."""

from __future__ import annotations

from rig.sim.charger.ac_port import ALIGNED_CLOCK, ChargerClock
from rig.sim.charger.dut_profile import DutProfile
from rig.sim.model import LabModel


def grid_on(profile: DutProfile, until_s: float, *, seed: int = 1, clock: ChargerClock = ALIGNED_CLOCK,
              voltage_v: float = 230.0) -> LabModel:
    """Relay closed and output on at ``voltage_v`` from t = 0, advanced to ``until_s`` (by 20.1 s the charger
    has reconnected)."""
    m = LabModel(profile, seed=seed, clock=clock)
    m.grid.set_voltage(0.0, voltage_v)
    m.grid.set_relay(0.0, True)
    m.grid.set_output(0.0, True)
    m.advance_to(until_s)
    return m
