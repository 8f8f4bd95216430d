"""The roles a procedure gets, and the clock and step log that go with them."""

from __future__ import annotations

from collections.abc import Mapping

from rig.clock import Clock
from rig.roles import BatteryEmulator, CanInterface, DigitalIO, Digitizer, GridSimulator, Instrument
from rig.steps import StepLog


class Lab:
    """What procedures talk to: roles, never vendors, and never the simulator.

    A bench need not have every role; the engine checks before a run that the
    bench has the roles its cases' procedures declare, so a missing role here
    is a programming error, reported by name.
    """

    def __init__(self, clock: Clock, steps: StepLog, instruments: Mapping[str, Instrument]) -> None:
        self.clock = clock
        self.steps = steps
        self._instruments = dict(instruments)

    def _role(self, name: str) -> Instrument:
        if name not in self._instruments:
            raise LookupError(f"this bench has no {name!r} instrument (it has: {', '.join(self._instruments)})")
        return self._instruments[name]

    @property
    def grid(self) -> GridSimulator:
        return self._role("grid")  # type: ignore[return-value]

    @property
    def capture(self) -> Digitizer:
        return self._role("capture")  # type: ignore[return-value]

    @property
    def battery(self) -> BatteryEmulator:
        return self._role("battery")  # type: ignore[return-value]

    @property
    def dio(self) -> DigitalIO:
        return self._role("dio")  # type: ignore[return-value]

    @property
    def vehicle(self) -> CanInterface:
        """The CAN interface the vehicle emulator speaks through (the bench's ``vehicle`` role)."""
        return self._role("vehicle")  # type: ignore[return-value]
