"""Piecewise-linear signals: how the simulated lab describes what the grid does.

A grid simulator's output is steps and ramps, so voltage and frequency are
exactly piecewise linear in time. Keeping them that way (instead of sampling
on a fixed step) lets the charger model find threshold crossings in closed
form and lets a capture be generated at any sample rate after the fact.

Breakpoints are (t, value). Two breakpoints at the same instant are a step;
the signal is right-continuous (at a step it already has the new value).
Before the first breakpoint and after the last the value holds.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Segment:
    """The signal on [t0, t1): value v0 at t0, changing linearly to v1 at t1."""

    t0: float
    t1: float
    v0: float
    v1: float

    @property
    def slope(self) -> float:
        return 0.0 if self.t1 <= self.t0 else (self.v1 - self.v0) / (self.t1 - self.t0)

    def at(self, t: float) -> float:
        return self.v0 + self.slope * (t - self.t0)


class Signal(Protocol):
    """What the charger's measurements read: values, the linear pieces, and the left limit at a step."""

    def at(self, t: float) -> float: ...

    def sample(self, times: np.ndarray) -> np.ndarray: ...

    def segments(self, t_start: float, t_end: float) -> list[Segment]: ...

    def _left_limit(self, t: float) -> float: ...

    @property
    def version(self) -> int:
        """Changes whenever anything it is made of is reprogrammed: a result solved from it stays true while
        this is unchanged."""
        ...


class PiecewiseLinear:
    """A signal in time made of steps and ramps, with its whole history."""

    def __init__(self, t0: float, value: float) -> None:
        self._t: list[float] = [t0]
        self._v: list[float] = [value]
        self._version = 0

    @property
    def version(self) -> int:
        """Counts the changes to its breakpoints (history or programmed future)."""
        return self._version

    # -- building -------------------------------------------------------------

    def truncate(self, t: float) -> None:
        """Forget any programmed future after ``t`` (a new command overrides it)."""
        value = self.at(t)
        self._version += 1
        keep = bisect.bisect_right(self._t, t)
        del self._t[keep:], self._v[keep:]
        if not self._t or self._t[-1] < t or self._v[-1] != value:
            self._t.append(t)
            self._v.append(value)

    def step(self, t: float, value: float) -> None:
        """From ``t`` on the signal is ``value`` (the future after ``t`` is replaced)."""
        self.truncate(t)
        self._version += 1
        self._t.append(t)
        self._v.append(value)

    def ramp(self, t0: float, t1: float, v0: float, v1: float) -> None:
        """Append a segment starting at ``t0`` (after anything already programmed up to ``t0``)."""
        if t1 < t0:
            raise ValueError("a ramp must not end before it starts")
        if self._t[-1] > t0 + 1e-12:
            raise ValueError("ramp appended before the end of the programmed signal")
        self._version += 1
        if self._t[-1] < t0:  # hold the last value up to the ramp
            self._t.append(t0)
            self._v.append(self._v[-1])
        self._t.append(t0)
        self._v.append(v0)
        self._t.append(t1)
        self._v.append(v1)

    def slew_to(self, t: float, value: float, rate_per_s: float | None) -> None:
        """From ``t``, move to ``value`` at ``rate_per_s`` (None or 0: a step)."""
        start = self.at(t)
        if not rate_per_s or start == value:
            self.step(t, value)
            return
        self.truncate(t)
        self.ramp(t, t + abs(value - start) / rate_per_s, start, value)

    def copy(self) -> "PiecewiseLinear":
        """An independent signal with the same history and programmed future (a source's own output, kept
        while a switch separates it from the terminals it usually drives)."""
        twin = PiecewiseLinear(self._t[0], self._v[0])
        twin._t, twin._v = list(self._t), list(self._v)
        return twin

    def follow(self, t: float, other: "PiecewiseLinear") -> None:
        """From ``t`` on, take ``other``'s values and programmed future (history before ``t`` kept): the
        terminals reconnected to a source take its output as it is at that instant."""
        self.truncate(t)
        self._version += 1
        value = other.at(t)
        if self._v[-1] != value:
            self._t.append(t)
            self._v.append(value)
        later = bisect.bisect_right(other._t, t)
        self._t.extend(other._t[later:])
        self._v.extend(other._v[later:])

    # -- reading --------------------------------------------------------------

    @property
    def last_time(self) -> float:
        return self._t[-1]

    def breakpoints(self, t_start: float, t_end: float) -> list[float]:
        """The instants strictly inside (``t_start``, ``t_end``) at which the signal has a breakpoint (a step or
        a ramp's end): between two of them it is one linear piece (what an exact quadrature splits at)."""
        lo = bisect.bisect_right(self._t, t_start)
        hi = bisect.bisect_left(self._t, t_end)
        return sorted(set(self._t[lo:hi]))

    def at(self, t: float) -> float:
        """The value at ``t`` (right-continuous: at a step, the new value)."""
        return self._value(t, left=False)

    def sample(self, times: np.ndarray) -> np.ndarray:
        """Values at many instants at once (right-continuous at steps)."""
        t = np.asarray(self._t, dtype=float)
        v = np.asarray(self._v, dtype=float)
        # np.interp takes the left value at duplicate abscissae; shift steps by a hair.
        dup = np.flatnonzero(np.diff(t) == 0.0)
        if dup.size:
            t = t.copy()
            t[dup] = np.nextafter(t[dup], -np.inf)
        return np.interp(times, t, v)

    def integral(self, times: np.ndarray) -> np.ndarray:
        """The integral of the signal from the first breakpoint to each instant (trapezoids are exact here)."""
        return _integral(np.asarray(self._t, dtype=float), np.asarray(self._v, dtype=float),
                         np.asarray(times, dtype=float))

    def window_stats(self, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Average, minimum and maximum over each window [edges[k], edges[k+1]) (what a data logger records
        for each of its periods). Exact for steps and ramps: the average from the integral, the extremes from
        the values at the window's ends and at every breakpoint inside it (a window with none inside is one
        linear piece, its extremes at its ends)."""
        edges = np.asarray(edges, dtype=float)
        local = self._around(float(edges[0]), float(edges[-1]))
        if local is not self:
            return local.window_stats(edges)
        t = np.asarray(self._t, dtype=float)
        v = np.asarray(self._v, dtype=float)
        average = np.diff(_integral(t, v, edges)) / np.diff(edges)
        at_start, at_end = self.sample(edges[:-1]), self._left_limits(edges[1:])
        low, high = np.minimum(at_start, at_end), np.maximum(at_start, at_end)
        inside = (t > edges[0]) & (t < edges[-1])
        if inside.any():
            window_of_break = np.searchsorted(edges, t[inside], side="right") - 1
            np.minimum.at(low, window_of_break, v[inside])
            np.maximum.at(high, window_of_break, v[inside])
        return average, low, high

    def _around(self, t0: float, t1: float) -> "PiecewiseLinear":
        """The part of the history that decides the signal on [t0, t1] (itself when that is all of it): a long
        history need not be copied into arrays for a short window."""
        i0 = max(bisect.bisect_right(self._t, t0) - 2, 0)
        i1 = min(bisect.bisect_right(self._t, t1) + 1, len(self._t))
        if i0 == 0 and i1 == len(self._t):
            return self
        local = PiecewiseLinear(self._t[i0], self._v[i0])
        local._t, local._v = self._t[i0:i1], self._v[i0:i1]
        return local

    def _left_limits(self, times: np.ndarray) -> np.ndarray:
        """``_left_limit`` at many instants at once (interpolation that takes the earlier value at a step)."""
        t = np.asarray(self._t, dtype=float)
        v = np.asarray(self._v, dtype=float)
        dup = np.flatnonzero(np.diff(t) == 0.0)
        if dup.size:  # at a step, keep the value before it for instants at the step
            t = t.copy()
            t[dup + 1] = np.nextafter(t[dup + 1], np.inf)
        return np.interp(times, t, v)

    def segments(self, t_start: float, t_end: float) -> list[Segment]:
        """The linear pieces covering [t_start, t_end], clipped to it."""
        out: list[Segment] = []
        first = max(bisect.bisect_right(self._t, t_start) - 1, 0)
        edges = [t_start] + [x for x in self._t[first:] if t_start < x < t_end] + [t_end]
        # unique, ordered; a step shows as a boundary, values taken right-continuously
        for a, b in zip(edges, edges[1:]):
            if b <= a:
                continue
            va = self.at(a)
            vb = self._left_limit(b)
            out.append(Segment(a, b, va, vb))
        return out

    def _left_limit(self, t: float) -> float:
        """The value just before ``t`` (differs from ``at`` at a step)."""
        return self._value(t, left=True)

    def _value(self, t: float, *, left: bool) -> float:
        i = (bisect.bisect_left if left else bisect.bisect_right)(self._t, t) - 1
        if i < 0:
            return self._v[0]
        if i + 1 >= len(self._t):
            return self._v[-1]
        t0, t1 = self._t[i], self._t[i + 1]
        if t1 == t0:
            return self._v[i] if left else self._v[i + 1]
        return self._v[i] + (self._v[i + 1] - self._v[i]) * (t - t0) / (t1 - t0)


def _integral(t: np.ndarray, v: np.ndarray, times: np.ndarray) -> np.ndarray:
    """The integral of the piecewise-linear signal through (``t``, ``v``) from ``t[0]`` to each of ``times``."""
    dt = np.diff(t)
    cumulative = np.zeros(len(t))
    np.cumsum(dt * (v[:-1] + v[1:]) / 2.0, out=cumulative[1:])
    slope = np.zeros(len(t))  # of the piece that starts at each breakpoint (none after the last)
    np.divide(np.diff(v), dt, out=slope[:-1], where=dt > 0)
    idx = np.clip(np.searchsorted(t, times, side="right") - 1, 0, len(t) - 1)
    tau = times - t[idx]
    out = cumulative[idx] + v[idx] * tau + 0.5 * slope[idx] * tau**2
    before = times < t[0]
    if before.any():
        out[before] = v[0] * (times[before] - t[0])
    return out


class WindowedSlope:
    """The slope of a signal over a sliding window, (x(t) - x(t - window)) / window, read live from it.

    What a RoCoF relay computes from its frequency measurement. The difference
    of a piecewise-linear signal and its delayed copy is itself piecewise
    linear, with breakpoints at the signal's own and at those delayed by the
    window, so the charger model solves its threshold crossings in closed
    form as for any other quantity. It is a view: the signal may still be
    programmed after it is made.
    """

    def __init__(self, signal: Signal, window_s: float) -> None:
        if not window_s > 0.0:
            raise ValueError(f"a window must be positive, got {window_s!r}")
        self.signal = signal
        self.window_s = window_s

    @property
    def version(self) -> int:
        return self.signal.version

    def at(self, t: float) -> float:
        return (self.signal.at(t) - self.signal.at(t - self.window_s)) / self.window_s

    def sample(self, times: np.ndarray) -> np.ndarray:
        times = np.asarray(times, dtype=float)
        return (self.signal.sample(times) - self.signal.sample(times - self.window_s)) / self.window_s

    def segments(self, t_start: float, t_end: float) -> list[Segment]:
        """The linear pieces covering [t_start, t_end]: cut at the signal's breakpoints and at those a window later."""
        w = self.window_s
        cuts = {t_start, t_end}
        cuts.update(s.t0 for s in self.signal.segments(t_start, t_end))
        cuts.update(s.t0 + w for s in self.signal.segments(t_start - w, t_end - w))
        edges = sorted(c for c in cuts if t_start <= c <= t_end)
        return [Segment(a, b, self.at(a), self._left_limit(b)) for a, b in zip(edges, edges[1:]) if b > a]

    def _left_limit(self, t: float) -> float:
        w = self.window_s
        return (self.signal._left_limit(t) - self.signal._left_limit(t - w)) / w


class PhaseRate:
    """The extra frequency a zero-crossing frequency measurement reads from phase jumps: the phase's advance
    over the measurement window, in hertz, (phi(t) - phi(t - window)) / (360 * window), added to the
    frequency signal.

    A vector shift of x degrees makes such a measurement read x / (360 * window) Hz high (or low) for one
    window, which is why a RoCoF relay with too short a delay trips on a phase jump. Like ``WindowedSlope``
    it is piecewise linear and a live view of both signals.
    """

    def __init__(self, frequency: PiecewiseLinear, phase_deg: PiecewiseLinear, window_s: float) -> None:
        self.frequency = frequency
        self.phase = WindowedSlope(phase_deg, window_s)

    @property
    def version(self) -> int:
        return self.frequency.version + self.phase.version  # each only grows: the sum changes when either does

    def at(self, t: float) -> float:
        return self.frequency.at(t) + self.phase.at(t) / 360.0

    def sample(self, times: np.ndarray) -> np.ndarray:
        return self.frequency.sample(times) + self.phase.sample(times) / 360.0

    def segments(self, t_start: float, t_end: float) -> list[Segment]:
        cuts = {t_start, t_end}
        cuts.update(s.t0 for s in self.frequency.segments(t_start, t_end))
        cuts.update(s.t0 for s in self.phase.segments(t_start, t_end))
        edges = sorted(c for c in cuts if t_start <= c <= t_end)
        return [Segment(a, b, self.at(a), self._left_limit(b)) for a, b in zip(edges, edges[1:]) if b > a]

    def _left_limit(self, t: float) -> float:
        return self.frequency._left_limit(t) + self.phase._left_limit(t) / 360.0
