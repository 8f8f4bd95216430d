"""What reaches a simulated oscilloscope's inputs on the bench, whichever family the scope is.

Every simulated digitizer (Keysight InfiniiVision, Tektronix MSO 4/5/6 ...)
sees the same bench: a current clamp on the charger's line conductor, a
differential probe across its terminals, and the grid simulator's trigger
output on the scope's external (EXT / AUX) trigger input. The physics of
that wiring is here, once; each family's dialect only decides how its own
commands set the front end and how it serves the record.

- ``PROBES``: the probes really on the inputs, as attenuations (A or V per
  volt at the scope's input): a 10 mV/A clamp and a 100:1 differential
  probe (the drivers' default options).
- ``front_end``: what a scope reports of a quantity given the attenuation
  it was told and its coupling: a wrong attenuation gives wrong amplitudes,
  AC coupling (or a DC-reject mode) removes the record's mean.
- ``trigger_edges``: the instants the trigger input crosses a level on a
  slope. The grid simulator's trigger output is taken as a 0 -> 5 V pulse
  of ``TRIGGER_PULSE_S`` at each list start (unconfirmed: polarity, levels
  and width are not in the public manuals); a level outside 0..5 V never
  triggers.
- ``RATES``: the 1-2-5 ladder of sample rates the simulated scopes choose
  from (the sim's assumption for every family).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from rig.sim.model import LabModel

PROBES = {"current": 100.0, "voltage": 100.0}
"""The probes on the bench's inputs, as attenuations: a 10 mV/A current clamp, a 100:1 differential probe."""
TTL_HIGH_V = 5.0
TRIGGER_PULSE_S = 0.001
AUTO_TRIGGER_S = 0.05
"""How long a scope in AUTO trigger mode waits, once armed, before it triggers by itself (the real timeout depends
on the timebase; the sim's figure is an assumption)."""

Slope = Literal["rising", "falling", "either"]


def _rate_ladder() -> list[float]:
    return [m * 10.0**e for e in range(0, 10) for m in (1.0, 2.0, 5.0)]


RATES = _rate_ladder()
"""Sample rates a simulated scope chooses from, slowest first."""


def front_end(quantity: np.ndarray, name: str, told_ratio: float, dc_blocked: bool) -> np.ndarray:
    """What the scope reports of ``quantity`` (the probe on input ``name``): with the DC blocked its mean is gone,
    and the volts at the input (the quantity over the real probe's attenuation) count times the attenuation the
    scope was told.

    Scaled by one factor, so a scope told the right attenuation reports the quantity bit for bit."""
    blocked = quantity - np.mean(quantity) if dc_blocked else quantity
    return blocked * (told_ratio / PROBES[name])


def trigger_edges(lab: LabModel, level_v: float, slope: Slope) -> list[float]:
    """Instants the grid simulator's trigger output crosses ``level_v`` on ``slope``, at the scope's input."""
    if not 0.0 < level_v < TTL_HIGH_V:
        return []
    rising = list(lab.grid.trigger_times)
    falling = [t + TRIGGER_PULSE_S for t in rising]
    return sorted({"rising": rising, "falling": falling}.get(slope, rising + falling))
