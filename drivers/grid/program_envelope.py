"""The bench envelope's checks on a grid simulator's output, shared by every grid-simulator family.

Each family's driver knows where its output is (the fixed setpoints, a list's
last values, whether it slews) and what its list can express; what the bench
envelope allows of a change is the same for all of them: a value, a step from
the value before, a ramp over a step's dwell. These functions check that
before anything is sent, so a refusal leaves the bench as it was.
"""

from __future__ import annotations

from collections.abc import Mapping

from rig.config.envelope import EnvelopeGuard
from rig.core.errors import InstrumentError
from rig.core.roles import GridProgram

QUANTITY = {"voltage": "ac_voltage_v", "frequency": "ac_frequency_hz"}
"""The envelope entry of each quantity a grid simulator drives."""
SLEW_QUANTITY = {"voltage": "ac_voltage_slew_v_per_s", "frequency": "ac_frequency_slew_hz_per_s"}


def check_change(envelope: EnvelopeGuard | None, name: str, old: float | None, new: float | None, *, stepped: bool,
                 what: str) -> None:
    """A change of ``name`` ("voltage" or "frequency") at the terminals from ``old`` to ``new``.

    ``stepped``: the output jumps (it is on and its source slews at no
    configured rate), so the step from ``old`` is checked; otherwise nothing
    at the terminals jumps and only ``new`` is. An unknown ``old`` (None)
    checks the value only; an unknown ``new`` checks nothing.
    """
    if envelope is None or new is None:
        return
    if old is None or not stepped:
        envelope.check(QUANTITY[name], new, what=what)
    else:
        envelope.check_step(QUANTITY[name], old, new, what=what)


def check_program_steps(envelope: EnvelopeGuard | None, program: GridProgram, name: str, before: float | None, *,
                        what: str) -> None:
    """Every transition of ``name`` in ``program`` against the envelope (the output at ``before`` when it starts).

    From ``before`` to the first step's start is a step (the value only when
    ``before`` is unknown); each step goes from its start to its end over its
    dwell (a ramp, or a hold); from each step's end to the next step's start
    is a step.
    """
    if envelope is None:
        return
    quantity = QUANTITY[name]
    previous = before
    for k, step in enumerate(program.steps, start=1):
        start, end = step.voltage_v if name == "voltage" else step.frequency_hz
        if previous is None:
            envelope.check(quantity, start, what=f"{what} step {k} start")
        else:
            envelope.check_step(quantity, previous, start, what=f"{what} step {k} start")
        envelope.check_ramp(quantity, start, end, step.dwell_s, what=f"{what} step {k}")
        previous = end


def check_program(envelope: EnvelopeGuard | None, program: GridProgram, before: Mapping[str, float | None], *,
                  what: str) -> None:
    """``check_program_steps`` for each quantity in ``before`` (its value when the list starts), in that order."""
    for name, value in before.items():
        check_program_steps(envelope, program, name, value, what=what)


def envelope_slews(envelope: EnvelopeGuard | None) -> dict[str, float]:
    """The slew limits the bench configures (per second, positive), by quantity: what a driver sets on its source."""
    if envelope is None:
        return {}
    found = {name: envelope.maximum(slew) for name, slew in SLEW_QUANTITY.items()}
    return {name: value for name, value in found.items() if value is not None and value > 0}


def current_limit(envelope: EnvelopeGuard | None, max_current_a: float, *, instrument: str, command: str) -> float:
    """The bench envelope's current maximum, or the instrument's own (``max_current_a``) when the bench states none.

    A bench maximum above the instrument's is refused (``InstrumentError`` naming
    ``instrument`` and the ``command`` that would set it), before anything is sent.
    """
    limit = envelope.maximum("ac_current_a") if envelope is not None else None
    limit = max_current_a if limit is None else limit
    if not 0.0 <= limit <= max_current_a:
        raise InstrumentError(instrument, command, f"{limit} A is outside the instrument's 0..{max_current_a} A")
    return limit
