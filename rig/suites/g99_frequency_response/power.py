"""Active power from a digitizer capture of voltage and current, one whole grid cycle at a time.

A power analyzer integrates v x i over whole cycles of the voltage, so the
double-frequency ripple of single-phase power cancels exactly; over a
fraction of a cycle it would not. The rig does the same on the capture:

- cycles are delimited by the voltage's positive-going zero crossings,
  located between samples by linear interpolation, so a cycle need not be a
  whole number of samples (the digitizer chooses its own rate, and the
  frequency moves during a frequency-response test);
- the energy v x i is accumulated sample by sample (trapezoids) and read at
  the fractional crossing instants, where v x i is near zero, so cutting a
  sample costs next to nothing;
- the noise of a one-cycle value is measured on the pre-trigger window, where
  the charger's power is steady: its scatter there is the probe noise and the
  digitizer's quantisation as this capture saw them.

Then the response to a frequency step: when the one-cycle power enters a
tolerance band around its target, and how far it strays from the target
once it has had its response time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rig.suites.platform import CannotJudge

MIN_NOISE_CYCLES = 10
"""Cycles of steady power needed to measure the one-cycle noise (and the reference power)."""


@dataclass(frozen=True)
class CyclePower:
    """The export power of each whole voltage cycle in a capture (times in the capture's time base)."""

    start_s: np.ndarray
    end_s: np.ndarray
    export_w: np.ndarray
    """Mean of -v x i over the cycle: positive while the charger exports (its current in antiphase)."""

    @property
    def mid_s(self) -> np.ndarray:
        return (self.start_s + self.end_s) / 2.0

    def within(self, start_s: float, end_s: float) -> np.ndarray:
        """Indices of the cycles wholly inside [start_s, end_s]."""
        return np.flatnonzero((self.start_s >= start_s) & (self.end_s <= end_s))

    def mean_w(self, index: np.ndarray) -> float:
        """Mean export power over the chosen cycles, weighted by their durations (energy over time)."""
        durations = self.end_s[index] - self.start_s[index]
        return float(np.sum(self.export_w[index] * durations) / np.sum(durations))


def rising_zero_crossings(t_s: np.ndarray, voltage: np.ndarray, nominal_hz: float) -> np.ndarray:
    """Instants the voltage crosses zero upwards, interpolated between samples.

    A crossing closer than half a nominal cycle to the one before is noise
    chattering about zero and is dropped.
    """
    v = np.asarray(voltage, dtype=float)
    k = np.flatnonzero((v[:-1] < 0.0) & (v[1:] >= 0.0))
    instants = t_s[k] + (t_s[k + 1] - t_s[k]) * (-v[k] / (v[k + 1] - v[k]))
    kept: list[float] = []
    for instant in instants:
        if not kept or instant - kept[-1] >= 0.5 / nominal_hz:
            kept.append(float(instant))
    return np.array(kept)


def cycle_power(t_s: np.ndarray, voltage: np.ndarray, current: np.ndarray, nominal_hz: float) -> CyclePower:
    """Export power over every whole voltage cycle of the capture."""
    t_s = np.asarray(t_s, dtype=float)
    p = -np.asarray(voltage, dtype=float) * np.asarray(current, dtype=float)
    energy = np.concatenate(([0.0], np.cumsum((p[1:] + p[:-1]) / 2.0 * np.diff(t_s))))
    crossings = rising_zero_crossings(t_s, voltage, nominal_hz)
    if len(crossings) < 2:
        raise CannotJudge(f"the captured voltage crosses zero upwards {len(crossings)} times: there is no whole "
                          "cycle to measure power over (is the grid simulator's output on, the probe connected?)")
    at = np.interp(crossings, t_s, energy)
    return CyclePower(crossings[:-1], crossings[1:], np.diff(at) / np.diff(crossings))


@dataclass(frozen=True)
class SteadyPower:
    """The charger's power while nothing changes: its mean, and the scatter of one cycle's value about it."""

    mean_w: float
    cycles: int
    cycle_noise_w: float
    """Standard deviation of a one-cycle power about the mean (probe noise, quantisation)."""

    @property
    def mean_noise_w(self) -> float:
        """Standard uncertainty of the mean from that scatter (independent cycles)."""
        return self.cycle_noise_w / math.sqrt(self.cycles)


def steady_power(cycles: CyclePower, start_s: float, end_s: float, what: str) -> SteadyPower:
    """Mean and one-cycle scatter of the power over [start_s, end_s] (at least MIN_NOISE_CYCLES cycles)."""
    index = cycles.within(start_s, end_s)
    if index.size < MIN_NOISE_CYCLES:
        raise CannotJudge(f"{what} holds {index.size} whole cycles; at least {MIN_NOISE_CYCLES} are needed to "
                          "measure its power and noise")
    return SteadyPower(cycles.mean_w(index), int(index.size), float(np.std(cycles.export_w[index], ddof=1)))


@dataclass(frozen=True)
class BandEntry:
    """When the one-cycle power entered its tolerance band after a step (times in s from the step)."""

    entry_s: float | None
    """Best estimate of when the power entered the band (None: it never did within the step)."""
    entry_half_width_s: float
    """The entry lies within entry_s +- this: between the start of the last cycle out of the band and the end of
    the first in it (a cycle's mean is the power at some instant inside it, and the approach is monotone)."""
    first_in_band: int | None
    """Index (into the cycles given) of the first in band."""


def band_entry(start_s: np.ndarray, end_s: np.ndarray, deviation: np.ndarray, step_s: float,
               band: tuple[float | None, float | None]) -> BandEntry:
    """When ``deviation`` (one value per cycle, cycles wholly after the step at ``step_s``, in order) first
    lies inside ``band`` (min, max; None is open)."""
    lo = -math.inf if band[0] is None else band[0]
    hi = math.inf if band[1] is None else band[1]
    inside = np.flatnonzero((deviation >= lo) & (deviation <= hi))
    if inside.size == 0:
        return BandEntry(None, 0.0, None)
    j = int(inside[0])
    earliest = step_s if j == 0 else float(start_s[j - 1])
    latest = float(end_s[j])
    return BandEntry((earliest + latest) / 2.0 - step_s, (latest - earliest) / 2.0, j)


def largest_deviation(start_s: np.ndarray, deviation: np.ndarray, after_s: float) -> float | None:
    """The largest distance from the line (|deviation|) of any cycle starting at or after ``after_s``: once the
    power has had its response time, an undamped oscillation shows here as its amplitude (None: no such cycle)."""
    later = np.asarray(deviation)[np.asarray(start_s) >= after_s]
    return float(np.max(np.abs(later))) if later.size else None
