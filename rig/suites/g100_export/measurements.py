"""What the boundary readings show: when the export came under a level for good, its largest value, its mean.

The readings are the grid simulator's power meter polled every ``poll_s``
(``rig.suites.g100_export.procedures``), as export (W, positive leaving the
site), at bench times counted from a switching instant. Each value carries
its expanded uncertainty (k = 2):

- a time to come under a level lies between the last reading above it and
  the first after that (all later ones at or below it): the estimate is the
  middle, the half-gap a rectangular component; the meter's accuracy at the
  level moves the crossing by accuracy / slope (the slope between those two
  readings), and the switching instant is known to within the relay's
  operate time;
- a power reading carries the meter's accuracy (+- % of reading + W) and its
  resolution, both rectangular; a mean adds the scatter of its readings.

Nothing here decides: the engine judges the values against the plan's limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rig.core.results import Uncertainty
from rig.suites.g100_export.plan import Measurement
from rig.core.uncertainty import expanded, normal, rectangular


@dataclass(frozen=True)
class Readings:
    """Boundary export readings: bench time (s, from the case's reference instant) and export (W)."""

    t_s: np.ndarray
    export_w: np.ndarray
    switchings: np.ndarray
    """How many switchings the rig had made when each reading was taken (what the reading can show)."""

    def after(self, switching: int) -> np.ndarray:
        """Indices of the readings taken after the ``switching``-th switching (counted from 1)."""
        return np.flatnonzero(self.switchings >= switching)

    def between(self, start_s: float, end_s: float) -> np.ndarray:
        """Indices of the readings taken in [start_s, end_s)."""
        return np.flatnonzero((self.t_s >= start_s) & (self.t_s < end_s))


@dataclass(frozen=True)
class Crossing:
    """When the export came under ``level_w`` for good after a switching instant (s from it)."""

    time_s: float
    uncertainty: Uncertainty
    last_above: int
    first_below: int


def accuracy_w(measurement: Measurement, reading_w: float) -> float:
    """The meter's accuracy half-width at a reading."""
    return measurement.power_accuracy_pct / 100.0 * abs(reading_w) + measurement.power_accuracy_w


def reading_uncertainty(measurement: Measurement, reading_w: float) -> Uncertainty:
    """One power reading: the meter's accuracy and its resolution."""
    return expanded(rectangular(f"meter accuracy +-({measurement.power_accuracy_pct:g} % + "
                                f"{measurement.power_accuracy_w:g} W)", accuracy_w(measurement, reading_w)),
                    rectangular(f"resolution {measurement.power_resolution_w:g} W", measurement.power_resolution_w / 2))


def mean_uncertainty(measurement: Measurement, values: np.ndarray) -> Uncertainty:
    """A mean of readings: the meter's accuracy (systematic: not reduced by averaging), resolution, scatter."""
    mean = float(np.mean(values))
    scatter = float(np.std(values, ddof=1)) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return expanded(rectangular(f"meter accuracy +-({measurement.power_accuracy_pct:g} % + "
                                f"{measurement.power_accuracy_w:g} W)", accuracy_w(measurement, mean)),
                    rectangular(f"resolution {measurement.power_resolution_w:g} W", measurement.power_resolution_w / 2),
                    normal(f"scatter of the {len(values)} readings averaged", 2.0 * scatter))


def came_under(readings: Readings, level_w: float, measurement: Measurement, switching: int) -> Crossing | None:
    """When the export came under ``level_w`` for good after the ``switching``-th switching (at t = 0); None when
    the last reading is still above the level. With no reading above it at all, the crossing lies between the
    switching and the first reading after it."""
    after = readings.after(switching)
    if after.size == 0:
        return None
    above = after[readings.export_w[after] > level_w]
    instant = rectangular(f"switching instant: relay operate time {measurement.switching_s * 1e3:.4g} ms",
                            measurement.switching_s)
    if above.size == 0:
        t1 = float(readings.t_s[after[0]])
        return Crossing(t1 / 2.0, expanded(rectangular("between the switching and the first reading", t1 / 2.0),
                                           instant), -1, int(after[0]))
    last_above = int(above[-1])
    if last_above == after[-1]:
        return None
    first_below = last_above + 1
    t0, t1 = float(readings.t_s[last_above]), float(readings.t_s[first_below])
    p0, p1 = float(readings.export_w[last_above]), float(readings.export_w[first_below])
    slope = (p0 - p1) / (t1 - t0)
    return Crossing((t0 + t1) / 2.0, expanded(
        rectangular(f"between the last reading above and the first below ({(t1 - t0) * 1e3:.4g} ms apart)",
                    (t1 - t0) / 2.0),
        rectangular(f"meter accuracy at {level_w:g} W through the export's slope ({slope:.4g} W/s)",
                    accuracy_w(measurement, level_w) / slope),
        instant), last_above, first_below)


def steady_noise_w(readings: Readings, start_s: float, end_s: float) -> tuple[float, int]:
    """Standard deviation of the readings in [start_s, end_s) and how many there are."""
    index = readings.between(start_s, end_s)
    values = readings.export_w[index]
    return (float(np.std(values, ddof=1)) if values.size > 1 else 0.0), int(values.size)
