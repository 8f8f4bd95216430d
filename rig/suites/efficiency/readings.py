"""Reading the power analyzer the way an efficiency bench does: ranges per point, settling, one window for both
sides, and the analyzer's own integration over that window as a cross-check.

Every value here is a data update of the analyzer (``AnalyzerUpdate``): the
AC and DC elements of one update average over the same interval, so the two
sides of an efficiency are read over the same window by construction. All
waiting is on the rig's clock (``PowerAnalyzer.read`` waits for the next
update), never a sleep.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rig.core.clock import Clock
from rig.core.roles import AnalyzerUpdate, PowerAnalyzer
from rig.suites.efficiency.plan import Measurement, Settling
from rig.suites.platform import CannotJudge


class NeverSettled(CannotJudge):
    """The power did not stay in the settling band for the hold time before the timeout."""


@dataclass
class Recorder:
    """Every update read in a case, with what the rig was doing (for the trace and the settling evidence)."""

    rows: list[dict[str, float | str]]

    def add(self, update: AnalyzerUpdate, elements: dict[str, int], phase: str, point: str) -> None:
        row: dict[str, float | str] = {"t_s": update.t_s, "phase": phase, "point": point}
        for name, number in elements.items():
            reading = update.elements[number]
            row[f"{name}_p_w"] = reading.power_w
            row[f"{name}_u_v"] = reading.voltage_v
            row[f"{name}_i_a"] = reading.current_a
            row[f"{name}_s_va"] = reading.apparent_va
            row[f"{name}_u_range_v"] = reading.voltage_range_v
            row[f"{name}_i_range_a"] = reading.current_range_a
        self.rows.append(row)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)


def in_band(values: Sequence[float], band_percent: float) -> bool:
    """Whether every value lies within +-band_percent of their mean (a mean of about 0 is held to 0.5 W)."""
    mean = float(np.mean(values))
    half_width = max(abs(mean) * band_percent / 100.0, 0.5)
    return bool(np.all(np.abs(np.asarray(values) - mean) <= half_width))


def settle(analyzer: PowerAnalyzer, clock: Clock, numbers: Sequence[int], settling: Settling,
           update_rate_s: float, watched: Callable[[AnalyzerUpdate], Sequence[float]],
           on_update: Callable[[AnalyzerUpdate], None], what: str) -> list[AnalyzerUpdate]:
    """Read updates until the last ``hold_s`` of them all had every watched power within the band; those updates.
    Never within ``timeout_s``: ``NeverSettled`` naming the spread it saw."""
    needed = max(2, math.ceil(settling.hold_s / update_rate_s - 1e-9))
    started = clock.now()
    updates: list[AnalyzerUpdate] = []
    while True:
        update = analyzer.read(numbers)
        on_update(update)
        updates.append(update)
        recent = updates[-needed:]
        if len(recent) == needed:
            series = list(zip(*(watched(u) for u in recent)))
            if all(in_band(values, settling.band_percent) for values in series):
                return recent
        if clock.now() - started >= settling.timeout_s:
            spread = _spread_percent(updates[-needed:], watched)
            raise NeverSettled(f"cannot judge: {what} never settled: within {settling.timeout_s:g} s its power never "
                               f"stayed within +-{settling.band_percent:g} % for {settling.hold_s:g} s (the last "
                               f"{settling.hold_s:g} s spread {spread:.3g} % either side of its mean)")


def _spread_percent(updates: Sequence[AnalyzerUpdate], watched: Callable[[AnalyzerUpdate], Sequence[float]]) -> float:
    worst = 0.0
    for values in zip(*(watched(u) for u in updates)):
        mean = float(np.mean(values))
        if mean != 0.0:
            worst = max(worst, float(np.max(np.abs(np.asarray(values) - mean))) / abs(mean) * 100.0)
    return worst


@dataclass(frozen=True)
class Window:
    """The updates of one averaging window and what the analyzer integrated over it."""

    updates: list[AnalyzerUpdate]
    integrated: dict[int, tuple[float, float]]
    """Per element: energy (Wh) and time (s) the analyzer integrated over the window."""


def reset_integration(analyzer: PowerAnalyzer) -> None:
    """Integration back to RESET from whatever state it was left in (ranges and rate are set only there)."""
    state = analyzer.integration_state()
    if state == "START":
        analyzer.stop_integration()
    if state != "RESET":
        analyzer.reset_integration()


def prepare(analyzer: PowerAnalyzer, measurement: Measurement) -> None:
    """The analyzer as the plan measures: integration reset, the plan's data update interval."""
    reset_integration(analyzer)
    analyzer.set_update_rate(measurement.update_rate_s)


def read_window(analyzer: PowerAnalyzer, numbers: Sequence[int], measurement: Measurement,
                on_update: Callable[[AnalyzerUpdate], None]) -> Window:
    """From the next update on: integrate for ``window_s`` (the analyzer's timer) while reading every update of
    that time; then wait for the timer to run out and read the integrals."""
    reset_integration(analyzer)
    count = max(2, round(measurement.window_s / measurement.update_rate_s))
    first = analyzer.read(numbers)  # an update has just ended: the window starts on its boundary
    on_update(first)
    analyzer.start_integration(measurement.window_s)
    updates = []
    for _ in range(count):
        update = analyzer.read(numbers)
        on_update(update)
        updates.append(update)
    for _ in range(4):
        if analyzer.integration_state() == "TIMEUP":
            break
        on_update(analyzer.read(numbers))
    else:
        raise CannotJudge(f"cannot judge: the analyzer's integration never reached TIMEUP after its "
                          f"{measurement.window_s} s timer (state {analyzer.integration_state()})")
    integrated = analyzer.integrated(numbers)
    analyzer.reset_integration()
    return Window(updates, integrated)
