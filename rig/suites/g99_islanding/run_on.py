"""The island's frequency and the charger's run-on, measured from a captured voltage and current.

The current is judged by its fundamental, as for a trip (``rig.suites.grid_code.trip_detection``), but demodulated
against the frequency *measured* on the captured voltage: once S1 opens, the island's frequency is the
charger's and the load's, not what the grid simulator was told to play.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rig.suites.grid_code.trip_detection import Fundamental, TripDetection, detect_trip, fundamental

CROSSING_SLOPE_SHARE = 0.1
"""A rising zero crossing counts only where the voltage rises at least this share as fast as the nominal sine
does there: noise on a collapsed island is not a cycle."""


def voltage_frequency(t_s: np.ndarray, v: np.ndarray, nominal_v: float, nominal_hz: float) -> np.ndarray:
    """The voltage's frequency at every sample: one over the time between rising zero crossings (interpolated),
    at each period's middle, linearly between; held before the first and after the last (a collapsed island
    keeps its last frequency: there is no current left to demodulate)."""
    v = np.asarray(v, dtype=float)
    dt = float(t_s[1] - t_s[0])
    rise = np.diff(v)
    least = CROSSING_SLOPE_SHARE * 2.0 * math.pi * nominal_hz * math.sqrt(2.0) * nominal_v * dt
    k = np.flatnonzero((v[:-1] < 0.0) & (v[1:] >= 0.0) & (rise >= least))
    if k.size < 2:
        return np.full(t_s.shape, nominal_hz)
    crossings = t_s[k] - v[k] * dt / rise[k]
    frequency = np.clip(1.0 / np.diff(crossings), 0.5 * nominal_hz, 1.5 * nominal_hz)
    return np.interp(t_s, 0.5 * (crossings[:-1] + crossings[1:]), frequency)


@dataclass(frozen=True)
class RunOn:
    """How long the charger ran on after S1 opened, or a lower bound when it still ran at the capture's end."""

    seconds: float
    lower_bound: bool
    detection: TripDetection | None


def measure_run_on(t_s: np.ndarray, current: np.ndarray, signal: Fundamental, threshold_a: float,
                   opened_s: float) -> RunOn:
    """From S1 opening (``opened_s``, capture time) to the current ceasing for good; a current still flowing at
    the end gives the capture's length after opening as a lower bound."""
    found = detect_trip(t_s, current, signal, threshold_a)
    if found is None:
        return RunOn(float(t_s[-1]) - opened_s, True, None)
    return RunOn(found.instant_s - opened_s, False, found)


def demodulated(t_s: np.ndarray, current: np.ndarray, voltage: np.ndarray, nominal_v: float,
                nominal_hz: float) -> tuple[Fundamental, np.ndarray]:
    """The current's one-cycle fundamental against the measured voltage frequency, and that frequency."""
    frequency = voltage_frequency(t_s, voltage, nominal_v, nominal_hz)
    return fundamental(t_s, current, frequency, nominal_hz), frequency
