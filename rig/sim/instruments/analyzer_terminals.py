"""What a simulated power analyzer's two wired elements see: the lab's physics at the charger's AC terminals and at
its DC inlet, exact over any interval.

Shared by every simulated analyzer dialect (Yokogawa WT, ZES LMG600): each reads the same lab model, so the physics
is written once here and each dialect adds only what its instrument does to it (its update cycle, its errors, its
wire). Signs as the dialects document them: AC power positive into the charger, DC power positive into the vehicle.
"""

from __future__ import annotations

import math

import numpy as np

from rig.sim.model import LabModel


class AnalyzerTerminals:
    """The AC element at the charger's AC terminals and the DC element at the vehicle inlet; any other element
    measures nothing."""

    def __init__(self, lab: LabModel, ac_element: int, dc_element: int) -> None:
        self.lab = lab
        self.ac_element = ac_element
        self.dc_element = dc_element
        self._ac_cache: dict[float, tuple[float, float]] = {}
        """Per integration span start: (up to when, AC energy in J so far): a long span is integrated once."""

    def forget(self) -> None:
        """Drop the cached AC energy (an integration reset: its spans are gone)."""
        self._ac_cache.clear()

    def true_values(self, element: int, t0: float, t1: float) -> dict[str, float]:
        """The exact values over [t0, t1] on ``element`` (before any instrument's errors): U, I (rms or
        magnitudes), P, UDC, IDC (signed means), FU (the voltage's frequency; NaN on DC)."""
        span = t1 - t0
        edges = np.array([t0, t1])
        if element == self.ac_element:
            energy_j, amp_s = self.lab.charger.ac_integrals(t0, t1)
            volts = float(self.lab.voltage.window_stats(edges)[0][0])
            freq = float(self.lab.frequency.window_stats(edges)[0][0])
            return {"U": volts, "I": amp_s / span, "P": energy_j / span, "UDC": 0.0, "IDC": 0.0, "FU": freq}
        if element == self.dc_element:
            bus = self.lab.dc_bus
            volts = float(bus.inlet_voltage.window_stats(edges)[0][0])
            amps = float(bus.current.window_stats(edges)[0][0])
            power = float(bus.power.window_stats(edges)[0][0])
            return {"U": abs(volts), "I": abs(amps), "P": power, "UDC": volts, "IDC": amps, "FU": math.nan}
        return {"U": 0.0, "I": 0.0, "P": 0.0, "UDC": 0.0, "IDC": 0.0, "FU": math.nan}

    def energy_j(self, element: int, t0: float, t1: float) -> float:
        """The exact energy through ``element`` over [t0, t1] (J, signed as its P)."""
        if t1 <= t0:
            return 0.0
        if element == self.ac_element:
            done_to, energy = self._ac_cache.get(t0, (t0, 0.0))
            if t1 < done_to:
                return self.lab.charger.ac_integrals(t0, t1)[0]
            energy += self.lab.charger.ac_integrals(done_to, t1)[0]
            self._ac_cache[t0] = (t1, energy)
            return energy
        if element == self.dc_element:
            return float(self.lab.dc_bus.power.window_stats(np.array([t0, t1]))[0][0]) * (t1 - t0)
        return 0.0

    def frequency_hz(self, t: float) -> float:
        """The grid's frequency at ``t`` (what an analyzer synchronises its cycle to)."""
        return float(self.lab.frequency.window_stats(np.array([t, t + 1e-6]))[0][0])
