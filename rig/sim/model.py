"""The physics of the simulated bench at one instant: grid terminals and charger.

One stateful model shared by every simulated instrument, so what the grid
source is told, what the charger does and what the scope captures are the
same event history. Time moves only through ``advance_to``.
"""

from __future__ import annotations

import numpy as np

from rig.sim.charger import SimulatedCharger
from rig.sim.dut_profile import DutProfile
from rig.sim.grid_source import GridSource
from rig.sim.signal import PiecewiseLinear


class LabModel:
    """Terminal voltage and frequency, the grid source driving them and the charger on them."""

    def __init__(self, profile: DutProfile, seed: int) -> None:
        self.profile = profile
        self.seed = seed
        self.now = 0.0
        self.voltage = PiecewiseLinear(0.0, 0.0)
        self.frequency = PiecewiseLinear(0.0, profile.rating.nominal_frequency_hz)
        self.phase_deg = PiecewiseLinear(0.0, 0.0)
        self.charger = SimulatedCharger(profile, self.voltage, self.frequency)
        self.grid = GridSource(self.voltage, self.frequency, on_relay=self._relay)
        self._measurement_rng = np.random.default_rng([seed, 0])
        self._captures = 0

    def _relay(self, t: float, closed: bool) -> None:
        if closed:
            self.charger.supply_restored(t)
        else:
            self.charger.supply_lost(t)

    def advance_to(self, t: float) -> None:
        if t < self.now:
            return
        self.charger.advance_to(t)
        self.now = t

    # -- what instruments measure -----------------------------------------------------

    def current_rms_at(self, t: float) -> float:
        times = np.array([t])
        return float(self.charger.current_rms(times, self.voltage.sample(times))[0])

    def noisy(self, value: float, sigma: float) -> float:
        """A reading with seeded measurement noise (instrument resolution is the caller's)."""
        return value + (float(self._measurement_rng.normal(0.0, sigma)) if sigma > 0 else 0.0)

    def waveforms(self, times: np.ndarray) -> dict[str, np.ndarray]:
        """Instantaneous terminal voltage and charger current at ``times`` (seeded noise per capture)."""
        self._captures += 1
        rng = np.random.default_rng([self.seed, 1, self._captures])
        v_rms = self.voltage.sample(times)
        theta = 2.0 * np.pi * self.frequency.integral(times) + np.deg2rad(self.phase_deg.sample(times))
        i_rms = self.charger.current_rms(times, v_rms)
        # Exporting current is in antiphase with the voltage (load reference frame).
        sign = -1.0 if self.charger.exports else 1.0
        i = sign * np.sqrt(2.0) * i_rms * np.sin(theta)
        noise = self.profile.current_noise_a
        if noise > 0:
            i = i + rng.normal(0.0, noise, times.shape)
        v = np.sqrt(2.0) * v_rms * np.sin(theta)
        return {"current": i, "voltage": v}
