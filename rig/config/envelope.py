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

from rig.config.bench_file import Bench, Envelope
from rig.core.errors import EnvelopeBreach, EnvelopeError


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

    def check_step(self, quantity: str, old: float, new: float, *, what: str) -> float:
        """Return ``new`` if an instantaneous change from ``old`` is allowed, else refuse.

        The envelope's step entry (``ac_voltage_step_v``) bounds the jump. A
        bench that limits the slew of ``quantity`` but states no step limit
        allows no step at all: a step is a change at an unbounded rate.
        """
        self.check(quantity, new, what=what)
        jump = abs(new - old)
        if jump == 0.0:
            return new
        step_entry = Envelope.step_quantity_of(quantity)
        if self.envelope.bounds_for(step_entry) is not None:
            self._refuse_if_outside(step_entry, jump, what=f"{what} step of")
            return new
        slew_entry = Envelope.slew_quantity_of(quantity)
        slew = self.envelope.bounds_for(slew_entry)
        if slew is not None and slew.max is not None:
            unit = Envelope.unit_of(quantity)
            self._refuse(f"{what} is a step of {_number(jump)} {unit}, but the bench envelope limits"
                         f" {slew_entry} to {_number(slew.max)} {Envelope.unit_of(slew_entry)} and states no"
                         f" {step_entry}")
        return new

    def check_ramp(self, quantity: str, old: float, new: float, duration_s: float, *, what: str) -> float:
        """Return ``new`` if moving there from ``old`` in ``duration_s`` is allowed (0 s is a step)."""
        if duration_s <= 0.0:
            return self.check_step(quantity, old, new, what=what)
        self.check(quantity, new, what=what)
        self.check_slew(quantity, (new - old) / duration_s, what=what)
        return new

    def check_fixed_change(self, quantity: str, old: float, new: float, *, what: str) -> float:
        """A fixed-mode setpoint change: the source ramps it at the envelope's slew limit when one is set.

        Drivers set their source's slew rate to the envelope's slew limit when
        the bench states one (so a fixed change cannot be faster); without a
        slew limit the source steps, and the step limit applies.
        """
        slew = self.envelope.bounds_for(Envelope.slew_quantity_of(quantity))
        if slew is not None and slew.max is not None:
            return self.check(quantity, new, what=what)
        return self.check_step(quantity, old, new, what=what)

    def source_slew_limit(self, quantity: str) -> float | None:
        """The slew rate a driver sets on its source for ``quantity`` (the envelope's limit), or None."""
        return self.maximum(Envelope.slew_quantity_of(quantity))

    def maximum(self, quantity: str) -> float | None:
        """The configured upper bound of ``quantity`` (e.g. to set a source's own current limit), or None."""
        bounds = self.envelope.bounds_for(quantity)
        return None if bounds is None else bounds.max

    def check_measured(self, quantity: str, value: float, *, what: str) -> float:
        """Return a measured ``value`` if the envelope admits it, else raise ``EnvelopeBreach``.

        Unlike the setpoint checks this is not an input error: the bench was
        already energised, so the case ends as an error with outputs off.
        """
        try:
            self._refuse_if_outside(quantity, value, what=what)
        except EnvelopeError as err:
            reason = str(err).removeprefix("refused: ").removesuffix("; nothing was sent")
            raise EnvelopeBreach(f"envelope breach: {reason}") from None
        return value

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
