"""When does a measured quantity first satisfy a condition? Solved, not polled.

The simulated charger evaluates its protection on its own discrete grid of
instants (n * evaluation period), as a real relay does, on a measurement
that lags the terminal quantity by its latency. Because the grid signals are
piecewise linear, the set of instants where a bound holds is found in
closed form segment by segment; only the first evaluation instant inside
that set is then checked directly. This is what lets the lab jump across a
120 s no-trip hold in a handful of operations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from rig.sim.signal import PiecewiseLinear

Op = Literal[">=", "<=", ">", "<"]
_NEGATION: dict[str, Op] = {">=": "<", "<=": ">", ">": "<=", "<": ">="}
_EPS = 1e-9
TIME_TOLERANCE_S = 1e-9
"""Instants closer than this (1 ns) are the same instant: far below any bench timing."""


@dataclass(frozen=True)
class Bound:
    """``measured(t) op threshold`` where measured(t) = gain * signal(t - latency) + offset."""

    signal: PiecewiseLinear
    op: Op
    threshold: float
    latency_s: float = 0.0
    gain: float = 1.0
    offset: float = 0.0

    def negated(self) -> "Bound":
        return replace(self, op=_NEGATION[self.op])

    def measured(self, t: float) -> float:
        # Instants are floats: 35.29 - 0.02 is 35.269999999999996, a hair before a step at
        # 35.27. A step within TIME_TOLERANCE_S before an instant counts as already there.
        return self.gain * self.signal.at(t - self.latency_s + TIME_TOLERANCE_S) + self.offset

    def holds_at(self, t: float) -> bool:
        m = self.measured(t)
        return {
            ">=": m >= self.threshold,
            "<=": m <= self.threshold,
            ">": m > self.threshold,
            "<": m < self.threshold,
        }[self.op]

    def solve(self, a: float, b: float, m_a: float, m_b: float) -> tuple[float, float] | None:
        """The closed sub-interval of [a, b] where a linear measured value satisfies the bound."""
        upper = self.op in (">=", ">")  # satisfied above the threshold
        if math.isclose(m_a, m_b, rel_tol=0.0, abs_tol=1e-12):
            sat = m_a >= self.threshold if upper else m_a <= self.threshold
            return (a, b) if sat else None
        t_cross = a + (self.threshold - m_a) * (b - a) / (m_b - m_a)
        rising = m_b > m_a
        if upper == rising:  # satisfied after the crossing
            lo, hi = max(a, t_cross), b
        else:
            lo, hi = a, min(b, t_cross)
        return (lo, hi) if lo <= hi else None

    def edges(self, a: float, b: float) -> list[float]:
        """Instants in (a, b) where the measured value may change slope or jump."""
        return [s.t0 + self.latency_s for s in self.signal.segments(a - self.latency_s, b - self.latency_s)[1:]]

    def linear_ends(self, a: float, b: float) -> tuple[float, float]:
        """Measured value at ``a`` and just before ``b``, on a piece where it is linear.

        Read at two interior points and extended to the ends, so a breakpoint that
        lands a rounding error inside the piece (after shifting by the latency)
        cannot make the piece read the value from the wrong side of a step.
        """
        p, q = a + 0.25 * (b - a), a + 0.75 * (b - a)
        m_p, m_q = self.measured(p), self.measured(q)
        slope = (m_q - m_p) / (q - p)
        return m_p - slope * (p - a), m_q + slope * (b - q)


def first_instant_all(bounds: list[Bound], t_start: float, t_end: float, period_s: float) -> float | None:
    """First evaluation instant n * period_s in [t_start, t_end] where every bound holds.

    Candidates are the first grid instants inside each linear piece's solved
    interval and the first grid instant at or after each cut (where a step
    becomes visible); the final word is always a direct evaluation, so float
    rounding at the cuts can move a candidate but never change a verdict.
    """
    if t_end < t_start:
        return None
    edges = {t_start, t_end}
    for bound in bounds:
        edges.update(bound.edges(t_start, t_end))
    cuts = sorted(edges)
    candidates: set[int] = {math.ceil(c / period_s - _EPS) for c in cuts}
    for a, b in zip(cuts, cuts[1:]):
        if b - a <= TIME_TOLERANCE_S:
            continue  # a rounding sliver between two cuts: its instants are the cuts' candidates
        lo, hi = a, b
        for bound in bounds:
            piece = bound.solve(a, b, *bound.linear_ends(a, b))
            if piece is None:
                lo, hi = 1.0, 0.0
                break
            lo, hi = max(lo, piece[0]), min(hi, piece[1])
        if lo <= hi:
            n = math.ceil(lo / period_s - _EPS)
            candidates.update((n, n + 1))  # rounding at lo may need the next instant
    for n in sorted(candidates):
        t_n = n * period_s
        if t_n < t_start - _EPS:
            continue
        if t_n > t_end + _EPS:
            break
        if all(bound.holds_at(t_n) for bound in bounds):
            return t_n
    return None


def first_instant_any_fails(bounds: list[Bound], t_start: float, t_end: float, period_s: float) -> float | None:
    """First evaluation instant where at least one bound does not hold."""
    found = [first_instant_all([b.negated()], t_start, t_end, period_s) for b in bounds]
    hits = [t for t in found if t is not None]
    return min(hits) if hits else None


def ceil_to_grid(t: float, period_s: float) -> float:
    return math.ceil(t / period_s - _EPS) * period_s
