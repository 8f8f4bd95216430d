"""When does a measured quantity first satisfy a condition? Solved, not polled.

The simulated charger evaluates its protection on its own discrete grid of
instants (``offset + n * period`` of lab time: an ``EvaluationGrid``), as a
real relay does, on a measurement that lags the terminal quantity by its
latency. Because the grid signals are piecewise linear, the set of instants
where a bound holds is found in closed form segment by segment; only the
first evaluation instant inside that set is then checked directly. This is
what lets the lab jump across a 120 s no-trip hold in a handful of
operations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from rig.sim.signal import Signal

Op = Literal[">=", "<=", ">", "<"]
_NEGATION: dict[str, Op] = {">=": "<", "<=": ">", ">": "<=", "<": ">="}
TIME_TOLERANCE_S = 1e-9
"""Instants closer than this (1 ns) are the same instant: far below any bench timing."""


@dataclass(frozen=True)
class EvaluationGrid:
    """The instants ``offset_s + n * period_s`` (lab time, n any integer) at which a relay evaluates.

    Evaluation n is always computed the same way (``instant(n)``), so two
    searches that land on the same evaluation give the same float, and an
    instant within ``TIME_TOLERANCE_S`` of an evaluation counts as that
    evaluation.
    """

    period_s: float
    offset_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.period_s > 0.0:
            raise ValueError(f"an evaluation period must be positive, got {self.period_s!r}")

    def instant(self, n: int) -> float:
        return self.offset_s + n * self.period_s

    def index_at_or_after(self, t: float) -> int:
        """The first evaluation at or after ``t`` (one up to ``TIME_TOLERANCE_S`` before ``t`` counts as at it)."""
        return math.ceil((t - self.offset_s - TIME_TOLERANCE_S) / self.period_s)

    def index_at_or_before(self, t: float) -> int:
        """The last evaluation at or before ``t`` (one up to ``TIME_TOLERANCE_S`` after ``t`` counts as at it)."""
        return math.floor((t - self.offset_s + TIME_TOLERANCE_S) / self.period_s)

    def at_or_after(self, t: float) -> float:
        """The instant of the first evaluation at or after ``t``."""
        return self.instant(self.index_at_or_after(t))


def as_grid(grid: EvaluationGrid | float) -> EvaluationGrid:
    """A bare period is the grid ``n * period`` (offset 0)."""
    return grid if isinstance(grid, EvaluationGrid) else EvaluationGrid(float(grid))


@dataclass(frozen=True)
class Bound:
    """``measured(t) op threshold`` where measured(t) = gain * signal(t - latency) + offset."""

    signal: Signal
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


def first_instant_all(bounds: list[Bound], t_start: float, t_end: float,
                      grid: EvaluationGrid | float) -> float | None:
    """First evaluation instant of ``grid`` in [t_start, t_end] where every bound holds.

    Candidates are the first grid instants inside each linear piece's solved
    interval and the first grid instant at or after each cut (where a step
    becomes visible); the final word is always a direct evaluation, so float
    rounding at the cuts can move a candidate but never change a verdict.
    A bare ``period_s`` is the grid ``n * period_s``.
    """
    grid = as_grid(grid)
    if t_end < t_start:
        return None
    n_first, n_last = grid.index_at_or_after(t_start), grid.index_at_or_before(t_end)
    if n_first > n_last:
        return None
    edges = {t_start, t_end}
    for bound in bounds:
        edges.update(bound.edges(t_start, t_end))
    cuts = sorted(edges)
    candidates: set[int] = {n_first} | {grid.index_at_or_after(c) for c in cuts}
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
            n = grid.index_at_or_after(lo)
            candidates.update((n, n + 1))  # rounding at lo may need the next instant
    for n in sorted(candidates):
        if n < n_first:
            continue
        if n > n_last:
            break
        t_n = grid.instant(n)
        if all(bound.holds_at(t_n) for bound in bounds):
            return t_n
    return None


def first_instant_any_fails(bounds: list[Bound], t_start: float, t_end: float,
                            grid: EvaluationGrid | float) -> float | None:
    """First evaluation instant of ``grid`` in [t_start, t_end] where at least one bound does not hold."""
    found = [first_instant_all([b.negated()], t_start, t_end, grid) for b in bounds]
    hits = [t for t in found if t is not None]
    return min(hits) if hits else None
