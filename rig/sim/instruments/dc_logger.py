"""A DC source's external data logger, vendor neutral: one record per period, streamed while it runs.

What a regenerative DC source's data logger does (the RP7900's "external
data logging", ``rig.sim.instruments.keysight_rp7900_dialect`` serves it): once triggered, it
divides time into consecutive periods and records, for each, the average
(and on request the minimum and maximum) of its terminal voltage and its
current. Records accumulate in the instrument's buffer; a fetch returns the
completed ones, oldest first, and removes them, so a long session streams
out while the logger keeps running. Nothing is lost between two fetches
unless the buffer fills.

Records are computed from the DC bus's exact history (steps), so the
logger's time axis is the lab's: record ``k`` covers
[``started_s`` + k x period, ``started_s`` + (k + 1) x period). Noise is drawn
per record from the lab's seed: the average scatters by ``noise_*`` / sqrt of
the ADC samples in a period, the extremes by ``noise_*`` outwards (a minimum
reads a little low, a maximum a little high, as on any digitizer). A fixed
gain and offset error (within the accuracy the dialect states) is applied
to every value, so a driver that ignores its instrument's accuracy sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rig.sim.signal import PiecewiseLinear

if TYPE_CHECKING:
    from rig.sim.instruments.dc_source import DcBus

FUNCTIONS = ("CURR", "VOLT")
"""The logged quantities, in the order a record holds them."""


@dataclass(frozen=True)
class Channel:
    """How one logged quantity is read: its signal, and the measurement's errors (A or V)."""

    signal: PiecewiseLinear
    sign: float
    """+1, or -1 where the instrument's convention is the opposite of the signal's."""
    noise: float
    """Standard deviation of one ADC sample."""
    gain_error: float
    offset_error: float


Accuracy = dict[str, tuple[float, float, float]]
"""Per quantity (``CURR``, ``VOLT``): gain error, offset error (A or V), noise of one ADC sample (sigma)."""


class DataLogger:
    """The logger's state: settings, trigger, and the records not yet fetched."""

    def __init__(self, channels: dict[str, Channel], *, adc_interval_s: float, capacity: int,
                 rng: np.random.Generator) -> None:
        self.channels = channels
        self.adc_interval_s = adc_interval_s
        self.capacity = capacity
        self._rng = rng
        self.reset()

    @classmethod
    def at_source(cls, bus: DcBus, accuracy: Accuracy, *, current_sign: float, adc_interval_s: float, capacity: int,
                  rng: np.random.Generator) -> DataLogger:
        """A logger of ``bus`` at the DC source's terminals: the bus current (``current_sign`` -1 where the
        instrument counts it the other way) and the source voltage, with the dialect's ``accuracy``."""
        def channel(signal: PiecewiseLinear, sign: float, name: str) -> Channel:
            gain, offset, noise = accuracy[name]
            return Channel(signal, sign, noise, gain, offset)

        return cls({"CURR": channel(bus.current, current_sign, "CURR"),
                    "VOLT": channel(bus.source_voltage, 1.0, "VOLT")},
                   adc_interval_s=adc_interval_s, capacity=capacity, rng=rng)

    def reset(self) -> None:
        """Power-on: 0.1 s period, both quantities on, extremes off, idle."""
        self.period_s = 0.1
        self.enabled = {name: True for name in FUNCTIONS}
        self.minmax = {name: False for name in FUNCTIONS}
        self.initiated = False
        self.started_s: float | None = None
        self.fetched = 0
        """Records handed out so far (the next one to fetch has this index)."""
        self.lost = 0

    @property
    def running(self) -> bool:
        return self.started_s is not None

    def initiate(self) -> None:
        self.initiated, self.started_s, self.fetched, self.lost = True, None, 0, 0

    def trigger(self, t: float) -> bool:
        """Start logging at ``t``; False when not waiting for a trigger (the trigger is ignored)."""
        if not self.initiated or self.running:
            return False
        self.started_s = t
        return True

    def abort(self) -> None:
        self.initiated, self.started_s = False, None

    def completed(self, now: float) -> int:
        """Records completed by ``now`` since the trigger."""
        if self.started_s is None:
            return 0
        return int(np.floor((now - self.started_s) / self.period_s + 1e-9))

    def fetch(self, now: float, most: int) -> np.ndarray:
        """Up to ``most`` completed records, oldest first, as rows of the enabled values (removed from the
        buffer). Records the buffer could not hold are dropped, oldest first, and counted in ``lost``."""
        done = self.completed(now)
        waiting = done - self.fetched
        if waiting > self.capacity:
            self.lost += waiting - self.capacity
            self.fetched = done - self.capacity
            waiting = self.capacity
        count = max(0, min(most, waiting))
        columns = self._columns()
        if count == 0 or self.started_s is None:
            return np.empty((0, len(columns)))
        first = self.fetched
        edges = self.started_s + np.arange(first, first + count + 1) * self.period_s
        self.fetched += count
        return np.column_stack([values for name in FUNCTIONS if self.enabled[name]
                                for values in self._record(name, edges)])

    def _columns(self) -> list[str]:
        return [f"{name}:{part}" for name in FUNCTIONS if self.enabled[name]
                for part in (("AVG", "MIN", "MAX") if self.minmax[name] else ("AVG",))]

    def _record(self, name: str, edges: np.ndarray) -> list[np.ndarray]:
        channel = self.channels[name]
        average, low, high = channel.signal.window_stats(edges)
        if channel.sign < 0:
            average, low, high = -average, -high, -low
        samples = max(self.period_s / self.adc_interval_s, 1.0)
        n = len(average)
        average = average + self._rng.normal(0.0, channel.noise / np.sqrt(samples), n)
        out = [average]
        if self.minmax[name]:
            low = low - np.abs(self._rng.normal(0.0, channel.noise, n))
            high = high + np.abs(self._rng.normal(0.0, channel.noise, n))
            out += [low, high]
        return [value * (1.0 + channel.gain_error) + channel.offset_error for value in out]
