"""Spectral analysis of a captured current in the manner of IEC 61000-4-7: synchronised windows, harmonic groups.

The standard's instrument takes rectangular windows of exactly 10 cycles of
the fundamental (12 at 60 Hz), synchronised to the supply, so every harmonic
falls on a DFT bin (spacing 1 / window, 5 Hz at 50 Hz) and nothing leaks
between them. A digitizer samples on its own clock, so a window of exactly
10 cycles of the *measured* fundamental is not a whole number of samples.
Here it does not need to be: each window starts on a sample and lasts
exactly ``cycles / f1``; its Fourier coefficients are the integral over that
span by the trapezoidal rule, the last partial sample interval included
(the signal interpolated linearly to the window's end). For a smooth
periodic signal this is what a synchronised instrument computes, to within
what ``leakage`` reports: the same windows applied to the fitted pure
fundamental, whose true harmonics are zero, show what the windowing adds.

Then per window (``cycles`` = N bins per harmonic order, k = N * order):

- harmonic subgroup: sqrt(C[k-1]^2 + C[k]^2 + C[k+1]^2)
- harmonic group: sqrt(C[k-N/2]^2 / 2 + sum C[k-N/2+1 .. k+N/2-1]^2 + C[k+N/2]^2 / 2)

with C the rms value of each bin. The result of a capture is the arithmetic
mean of each order over its windows (BS EN 61000-3-2 averages the windows
of its observation period).

When the capture does not allow this, the case cannot be judged
(``CannotJudge``), never passed: too few samples for the highest order
(Nyquist), too few whole windows, no fundamental, or a fundamental whose
frequency or current moved more than the plan allows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from rig.suites.platform import CannotJudge

Grouping = Literal["group", "subgroup"]

NYQUIST_SPARE_ORDERS = 0.5
"""The highest bin analysed ((max order + 1/2) x f1, the group's upper edge) must lie below the Nyquist
frequency with this many harmonic orders to spare."""


@dataclass(frozen=True)
class Stability:
    """How steady the fundamental must be over the capture for its windows to be averaged."""

    max_frequency_deviation_hz: float
    """Largest difference between one window's fundamental frequency and the capture's."""
    max_current_change_pct: float
    """Largest spread (max - min) of the windows' current fundamental, in % of their mean."""


@dataclass(frozen=True)
class Windows:
    """Contiguous windows of exactly ``cycles`` periods of the measured fundamental, each starting on a sample."""

    frequency_hz: float
    frequency_u_hz: float
    """Standard uncertainty of the measured fundamental frequency (phase regression)."""
    cycles: int
    starts: np.ndarray
    """Sample index of each window's start."""
    interval_s: float
    whole: int
    """Whole sample intervals in a window; a window spans samples start .. start + whole + 1."""
    tail: float
    """The window's last, partial sample interval, as a fraction of the interval (0 <= tail < 1)."""
    _weights: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)
    """The largest weight matrix made so far (every window and every signal of a capture uses the same)."""

    @property
    def duration_s(self) -> float:
        return self.cycles / self.frequency_hz

    @property
    def count(self) -> int:
        return len(self.starts)

    @property
    def samples(self) -> int:
        """Samples read by one window (its whole intervals, the one it ends in)."""
        return self.whole + 2

    def stack(self, x: np.ndarray) -> np.ndarray:
        """The samples of every window as columns: (samples, windows)."""
        return np.stack([x[s:s + self.samples] for s in self.starts], axis=1)

    def weights(self, bins: int) -> np.ndarray:
        """(bins, samples): row k gives the k-th Fourier coefficient (complex, peak / 2 for k > 0) of a
        window's samples: (1 / T) times the trapezoidal integral of x(t) exp(-j 2 pi k t / T) over [0, T]."""
        made = self._weights.get("matrix")
        if made is None or made.shape[0] < bins:
            made = self._weights["matrix"] = self._make_weights(bins)
        return made[:bins]

    def _make_weights(self, bins: int) -> np.ndarray:
        dt = self.interval_s
        tau = np.arange(self.whole + 1) * dt
        w = np.full(self.whole + 1, dt)
        w[0] = w[-1] = dt / 2.0
        delta = self.tail * dt
        w[-1] += delta / 2.0  # the partial interval's left end, at tau[-1]
        matrix = np.zeros((bins, self.samples), dtype=complex)
        # exp(-j k omega tau) as powers of exp(-j omega tau): a product per element instead of an exponential
        rotation = np.broadcast_to(np.exp(-2j * np.pi * tau / self.duration_s), (bins - 1, self.whole + 1))
        matrix[0, : self.whole + 1] = w
        if bins > 1:
            matrix[1:, : self.whole + 1] = w * np.cumprod(rotation, axis=0)
        # ... and its right end at T, where exp(-j omega_k T) = 1: x(T) interpolated between the two samples.
        matrix[:, self.whole] += delta / 2.0 * (1.0 - self.tail)
        matrix[:, self.whole + 1] += delta / 2.0 * self.tail
        return matrix / self.duration_s

    def mean_values(self, x: np.ndarray) -> np.ndarray:
        """Each window's mean of ``x`` (its zeroth coefficient): DC, or the mean of a product (power)."""
        return np.real(self.weights(1) @ self.stack(x))[0]


def measure_frequency(t_s: np.ndarray, v: np.ndarray, nominal_hz: float) -> tuple[float, float]:
    """The fundamental frequency of ``v`` and its standard uncertainty: the slope of its phase from one cycle to
    the next, refined three times (first at nominal, then at each estimate, where the windows are exactly one
    cycle long and the negative-frequency image cancels)."""
    frequency, u = nominal_hz, math.inf
    for _ in range(3):
        frequency, u = _phase_slope(t_s, v, frequency)
    return frequency, u


def _phase_slope(t_s: np.ndarray, v: np.ndarray, frequency: float) -> tuple[float, float]:
    """Refine ``frequency``: the fundamental's phase in windows of exactly one cycle at it drifts by 2 pi times the
    error per second."""
    cycles = _windows(t_s, frequency, 0.0, 1, None)
    if cycles.count < 3:
        raise CannotJudge(f"the capture holds {len(t_s)} samples, fewer than three cycles of the fundamental")
    phasors = (cycles.weights(2) @ cycles.stack(np.asarray(v, dtype=float)))[1]
    amplitude = 2.0 * np.abs(phasors)
    typical = float(np.median(amplitude))
    if typical <= 0.0 or float(np.min(amplitude)) < 0.5 * typical:
        raise CannotJudge("there is no steady fundamental to synchronise to: the voltage is absent or collapses in "
                          f"part of the capture (cycle amplitudes {float(np.min(amplitude)):.4g} to "
                          f"{float(np.max(amplitude)):.4g} V)")
    starts = t_s[cycles.starts]
    phase = np.unwrap(np.angle(phasors) - 2.0 * np.pi * np.mod(frequency * starts, 1.0))
    slope, intercept = np.polyfit(starts, phase, 1)
    residual = phase - (slope * starts + intercept)
    spread = float(np.sum((starts - starts.mean()) ** 2))
    u_slope = math.sqrt(float(np.sum(residual**2)) / max(cycles.count - 2, 1) / spread)
    return float(frequency + slope / (2.0 * np.pi)), float(u_slope / (2.0 * np.pi))


def _windows(t_s: np.ndarray, frequency: float, u: float, cycles: int, count: int | None) -> Windows:
    """``count`` (None: as many as fit) contiguous windows of ``cycles`` periods at ``frequency`` from the start."""
    dt = float(t_s[1] - t_s[0])
    duration = cycles / frequency
    whole = int(math.floor(duration / dt + 1e-9))
    tail = max(duration / dt - whole, 0.0)
    span = duration / dt  # samples per window, not a whole number
    candidates = int(math.floor((len(t_s) - (whole + 2)) / span + 1e-9)) + 1 if len(t_s) >= whole + 2 else 0
    starts = np.ceil(np.arange(candidates) * span - 1e-9).astype(int)
    starts = starts[starts + whole + 2 <= len(t_s)]  # a start rounded up to its sample may leave too few after it
    return Windows(frequency, u, cycles, starts if count is None else starts[:count], dt, whole,
                   tail if tail > 1e-9 else 0.0)


def synchronised_windows(t_s: np.ndarray, v: np.ndarray, nominal_hz: float, cycles: int, windows: int) -> Windows:
    """``windows`` contiguous windows of ``cycles`` periods of the fundamental measured on ``v``, from the
    capture's start; refused (``CannotJudge``) when the capture holds fewer."""
    frequency, u = measure_frequency(t_s, v, nominal_hz)
    grid = _windows(t_s, frequency, u, cycles, windows)
    if grid.count < windows:
        dt = float(t_s[1] - t_s[0])
        raise CannotJudge(f"the capture ({len(t_s) * dt:.4g} s) holds {grid.count} whole windows of {cycles} cycles "
                          f"at the measured {frequency:.4f} Hz; the plan averages {windows}: too few cycles")
    return grid


def require_bandwidth(windows: Windows, max_order: int) -> None:
    """Refuse a capture sampled too slowly for the highest order's group (aliasing would fold into it)."""
    rate = 1.0 / windows.interval_s
    needed = 2.0 * (max_order + NYQUIST_SPARE_ORDERS + 0.5) * windows.frequency_hz
    if rate < needed:
        raise CannotJudge(f"the capture was sampled at {rate:.6g} S/s; harmonics up to h{max_order} of "
                          f"{windows.frequency_hz:.4f} Hz need {needed:.6g} S/s or more (Nyquist, with half an order "
                          "to spare): raise the sample rate")


def rms_bins(windows: Windows, x: np.ndarray, bins: int) -> np.ndarray:
    """(windows, bins) complex rms phasors: bin 0 is the window's mean (DC), bin k > 0 sqrt(2) x coefficient."""
    coefficients = (windows.weights(bins) @ windows.stack(x)).T
    coefficients[:, 1:] *= math.sqrt(2.0)
    return coefficients


def bins_needed(cycles: int, max_order: int, grouping: Grouping) -> int:
    """How many bins (from DC) the groups up to ``max_order`` read."""
    return cycles * max_order + (cycles // 2 if grouping == "group" else 1) + 1


def group_power(power: np.ndarray, cycles: int, order: int, grouping: Grouping) -> np.ndarray:
    """Squared group (or subgroup) value of ``order`` from each window's bin powers |C|^2 (windows, bins)."""
    k = cycles * order
    if grouping == "subgroup":
        return np.asarray(power[:, k - 1:k + 2].sum(axis=1))
    half = cycles // 2
    return np.asarray(power[:, k - half + 1:k + half].sum(axis=1) + (power[:, k - half] + power[:, k + half]) / 2.0)


def group_width(cycles: int, grouping: Grouping) -> float:
    """Bins a group adds up, in effect (half-weighted edges count half): how much white noise it collects."""
    return 3.0 if grouping == "subgroup" else float(cycles)


def harmonic_groups(phasors: np.ndarray, cycles: int, orders: range, grouping: Grouping) -> np.ndarray:
    """(windows, orders) rms group values, A."""
    power = np.abs(phasors) ** 2
    return np.sqrt(np.column_stack([group_power(power, cycles, order, grouping) for order in orders]))


def interharmonic_noise_power(phasors: np.ndarray, cycles: int, max_order: int) -> float:
    """Mean |C|^2 of a bin far from any harmonic (at least 3 bins off), between h2 and ``max_order``: the noise
    floor each bin of a group collects. Conservative: interharmonic emission counts as noise."""
    offsets = np.arange(cycles * 2, cycles * max_order) % cycles
    chosen = np.arange(cycles * 2, cycles * max_order)[(offsets >= 3) & (offsets <= cycles - 3)]
    if chosen.size == 0:
        return 0.0
    return float(np.mean(np.abs(phasors[:, chosen]) ** 2))


def require_stable(windows: Windows, t_s: np.ndarray, v: np.ndarray, fundamental_a: np.ndarray,
                   stability: Stability) -> np.ndarray:
    """Each window's own fundamental frequency; refuse a capture whose fundamental moved beyond the plan's
    tolerance in frequency (from the voltage) or in current (the DUT's output changed while it was measured)."""
    per_window = np.array([measure_frequency(t_s[s:s + windows.samples], v[s:s + windows.samples],
                                             windows.frequency_hz)[0] for s in windows.starts])
    deviation = float(np.max(np.abs(per_window - windows.frequency_hz)))
    if deviation > stability.max_frequency_deviation_hz:
        raise CannotJudge(f"the fundamental is not stable: a window's frequency differs by {deviation:.4f} Hz from "
                          f"the capture's {windows.frequency_hz:.4f} Hz (the plan allows "
                          f"{stability.max_frequency_deviation_hz:g} Hz)")
    mean = float(np.mean(fundamental_a))
    if mean <= 0.0:
        raise CannotJudge("the current has no fundamental: the DUT did not conduct during the capture")
    change = 100.0 * float(np.max(fundamental_a) - np.min(fundamental_a)) / mean
    if change > stability.max_current_change_pct:
        raise CannotJudge(f"the fundamental is not stable: the current's fundamental moved by {change:.3g} % of its "
                          f"{mean:.4g} A mean between windows (the plan allows {stability.max_current_change_pct:g} %)")
    return per_window


@dataclass(frozen=True)
class Sinusoid:
    """A least-squares fit of DC plus the fundamental: what a pure sine with the signal's own DC would be."""

    dc: float
    cosine: float
    sine: float
    frequency_hz: float

    def at(self, t_s: np.ndarray) -> np.ndarray:
        theta = 2.0 * np.pi * self.frequency_hz * t_s
        return self.dc + self.cosine * np.cos(theta) + self.sine * np.sin(theta)


def fit_fundamental(t_s: np.ndarray, x: np.ndarray, frequency_hz: float) -> Sinusoid:
    """DC plus the fundamental at ``frequency_hz``, by least squares over the whole capture."""
    theta = 2.0 * np.pi * frequency_hz * t_s
    basis = np.column_stack([np.ones_like(t_s), np.cos(theta), np.sin(theta)])
    (dc, a, b), *_ = np.linalg.lstsq(basis, np.asarray(x, dtype=float), rcond=None)
    return Sinusoid(float(dc), float(a), float(b), frequency_hz)


def code_step(x: np.ndarray) -> float:
    """The digitizer's resolution, read from its samples: the smallest step between two values it produced
    (0 for data that is not quantised)."""
    values = np.unique(np.asarray(x, dtype=float))
    if values.size < 2:
        return 0.0
    steps = np.diff(values)
    step = float(np.min(steps))
    return step if step > 1e-9 * max(float(np.max(np.abs(values))), 1e-12) else 0.0
