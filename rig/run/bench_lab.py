"""The roles a procedure gets, and the clock and step log that go with them."""

from __future__ import annotations

from collections.abc import Mapping

from rig.config.bench_file import GridSwitch, Site
from rig.core.clock import Clock
from rig.core.results import DutRecord
from rig.core.roles import (BatteryEmulator, CanInterface, Csms, DigitalIO, Digitizer, DutPowerControl, GridSimulator,
                            Instrument, IslandLoad, PowerAnalyzer)
from rig.run.operator import Operator, TerminalOperator
from rig.run.steps import StepLog


class Lab:
    """What procedures talk to: roles, never vendors, and never the simulator.

    A bench need not have every role; the engine checks before a run that the
    bench has the roles its cases' procedures declare, so a missing role here
    is a programming error, reported by name.
    """

    def __init__(self, clock: Clock, steps: StepLog, instruments: Mapping[str, Instrument], *,
                 site: Site | None = None, grid_switch: GridSwitch | None = None,
                 operator: Operator | None = None, dut: DutRecord | None = None) -> None:
        self.clock = clock
        self.operator: Operator = operator or TerminalOperator()
        """The person at the bench, for the physical actions no instrument performs."""
        self.steps = steps
        self._instruments = dict(instruments)
        self._site = site
        self._grid_switch = grid_switch
        self.dut = dut
        """The charger under test as the run records it (identity, what its manufacturer declares), or None."""

    @property
    def site(self) -> Site:
        """The site behind the boundary as the bench file declares it (load banks, CT break line)."""
        if self._site is None:
            raise LookupError("this bench declares no site (a `site:` section: load banks and the CT break line)")
        return self._site

    @property
    def grid_switch(self) -> GridSwitch:
        """The grid switch S1 as the bench file declares it (its dio line, its opening time and tolerance)."""
        if self._grid_switch is None:
            raise LookupError("this bench declares no grid switch (a `grid_switch:` section: its dio line and "
                              "opening time)")
        return self._grid_switch

    def has(self, role: str) -> bool:
        """Whether the bench has ``role``: for the optional roles a procedure uses when present (dut_control)."""
        return role in self._instruments

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
    def island_load(self) -> IslandLoad:
        """The RLC load at the charger's point of connection (islanding tests)."""
        return self._role("island_load")  # type: ignore[return-value]

    @property
    def vehicle(self) -> CanInterface:
        """The CAN interface the vehicle emulator speaks through (the bench's ``vehicle`` role)."""
        return self._role("vehicle")  # type: ignore[return-value]

    @property
    def analyzer(self) -> PowerAnalyzer:
        """The power analyzer at the charger's AC terminals and DC inlet (efficiency)."""
        return self._role("analyzer")  # type: ignore[return-value]

    @property
    def csms(self) -> Csms:
        return self._role("csms")  # type: ignore[return-value]

    @property
    def dut_control(self) -> DutPowerControl:
        """The charger's own export-power control (optional: ask ``has("dut_control")`` first)."""
        return self._role("dut_control")  # type: ignore[return-value]
