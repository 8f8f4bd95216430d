"""Checking setpoints against the bench's safety envelope before anything is sent.

Every driver setpoint and every planned program passes through an
``EnvelopeGuard`` first. A refusal is an ``EnvelopeError`` that names the
value, the bound it breaks and the bench file that set the bound, and it
happens before any I/O, so nothing on the bench has changed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

from rig.bench import Bench, Envelope
from rig.errors import EnvelopeError


class EnvelopeGuard:
    """Refuses any setpoint, ramp or program outside one bench's envelope."""

    def __init__(self, envelope: Envelope, bench_file: Path | str | None) -> None:
        self.envelope = envelope
        self.bench_file = Path(bench_file) if bench_file is not None else None

    @classmethod
    def from_bench(cls, bench: Bench) -> EnvelopeGuard:
        return cls(bench.envelope, bench.source)

    def check(self, quantity: str, value: float, *, what: str) -> float:
        """Return ``value`` if the envelope admits it for ``quantity``, else refuse.

        ``quantity`` is an envelope entry such as ``ac_voltage_v`` (an unknown
        name is a programming error: ValueError). ``what`` names the setpoint
        for the message, e.g. "grid voltage setpoint".
        """
        self._refuse_if_outside(quantity, value, what=what)
        return value

    def check_slew(self, quantity: str, rate_per_s: float, *, what: str) -> float:
        """Return ``rate_per_s`` if its magnitude is within the slew limit, else refuse.

        ``quantity`` is the quantity that changes (``ac_voltage_v``) or its
        slew entry (``ac_voltage_slew_v_per_s``); the rate is in that
        quantity's unit per second and either sign.
        """
        self._refuse_if_outside(Envelope.slew_quantity_of(quantity), abs(rate_per_s), what=what)
        return rate_per_s

    def check_profile(self, quantity: str, values: Iterable[float], *, what: str) -> tuple[float, ...]:
        """Check every point of a planned program at once, before any of it is played.

        This is how a whole test plan is refused before anything is
        energised; the message names the first point that is outside.
        """
        points = tuple(values)
        for index, value in enumerate(points):
            self.check(quantity, value, what=f"{what} (point {index + 1} of {len(points)})")
        return points

    def _refuse_if_outside(self, quantity: str, value: float, *, what: str) -> None:
        bounds = self.envelope.bounds_for(quantity)
        unit = Envelope.unit_of(quantity)
        if not math.isfinite(value):
            self._refuse(f"{what} {value} {unit} is not a finite number")
        if bounds is None:
            return
        if bounds.max is not None and value > bounds.max:
            self._refuse(
                f"{what} {_number(value)} {unit} exceeds the bench envelope"
                f" {quantity} max {_number(bounds.max)} {unit}"
            )
        if bounds.min is not None and value < bounds.min:
            self._refuse(
                f"{what} {_number(value)} {unit} is below the bench envelope"
                f" {quantity} min {_number(bounds.min)} {unit}"
            )

    def _refuse(self, reason: str) -> None:
        source = f" ({self.bench_file})" if self.bench_file is not None else ""
        raise EnvelopeError(f"refused: {reason}{source}; nothing was sent")


def _number(value: float) -> str:
    """Short but exact-looking: 320.0, 0.3 (not 0.30000000000000004)."""
    return repr(float(f"{value:.9g}"))
