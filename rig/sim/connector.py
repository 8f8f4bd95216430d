"""The CHAdeMO connector's contact lines in the simulated lab: who drives each line, and every edge in lab time.

The sequence signals of a CHAdeMO session are contacts, not CAN frames: the
charger closes d1 and d2 (and may report its connector lock), the vehicle
(here the rig, through its digital I/O module) asserts proximity (plug
present) and k (charge permission) and closes its contactor between the
battery and the DC inlet. This model holds those lines for the whole lab:

- the simulated charger drives its lines with ``drive(t, line, value, by=CHARGER)``
  and reads the vehicle's with ``value(line)`` (or ``subscribe`` to hear edges);
- the simulated digital I/O module (``rig.sim.instruments.moxa_e1212_dialect``) drives the
  vehicle's lines from its coils and reads the charger's into its inputs;
- the lab's recordings take ``edges()``: every change with its lab time,
  the instant the driving side made it.

A side may drive only its own lines, so a wiring mistake in a model fails
loudly instead of two models fighting over one line. ``True`` is an asserted
line (relay or contact closed, signal on).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class Side(Enum):
    """Who drives a line."""

    CHARGER = "charger"
    VEHICLE = "vehicle"


CHADEMO_LINES: dict[str, Side] = {
    "d1": Side.CHARGER,              # charge sequence signal 1 (charger relay)
    "d2": Side.CHARGER,              # charge sequence signal 2 (charger relay)
    "connector_lock": Side.CHARGER,  # the charger reports its connector locked (if the bench wires it)
    "proximity": Side.VEHICLE,       # plug present (connector proximity detection)
    "k": Side.VEHICLE,               # vehicle charge permission
    "contactor": Side.VEHICLE,       # vehicle contactor coil: battery emulator to DC inlet
    "estop": Side.VEHICLE,           # the charger's emergency stop input (the bench wires a rig output to it)
}
"""The lines and their drivers; every line starts de-asserted at lab time 0."""


@dataclass(frozen=True)
class Edge:
    """A line changed to ``value`` at lab time ``t`` (seconds), driven by ``by``."""

    t: float
    line: str
    value: bool
    by: Side


class ContactLines:
    """The present value of every line and the history of its edges."""

    def __init__(self, lines: dict[str, Side] | None = None) -> None:
        self.drivers = dict(CHADEMO_LINES if lines is None else lines)
        self._values = {line: False for line in self.drivers}
        self._edges: list[Edge] = []
        self._listeners: dict[str, list[Callable[[float, bool], None]]] = {line: [] for line in self.drivers}

    def drive(self, t: float, line: str, value: bool, *, by: Side) -> None:
        """``by`` sets ``line`` to ``value`` at ``t``; an edge is recorded (and announced) only on a change."""
        self._check(line)
        if self.drivers[line] is not by:
            raise ValueError(f"line {line!r} is driven by the {self.drivers[line].value}, not the {by.value}")
        if self._edges and t < self._edges[-1].t:
            raise ValueError(f"edge on {line!r} at {t} s is before the last edge ({self._edges[-1].t} s)")
        if self._values[line] == value:
            return
        self._values[line] = value
        self._edges.append(Edge(t, line, value, by))
        for listener in self._listeners[line]:
            listener(t, value)

    def value(self, line: str) -> bool:
        """The line's value now."""
        self._check(line)
        return self._values[line]

    def value_at(self, line: str, t: float) -> bool:
        """The line's value at lab time ``t`` (right-continuous: at an edge, the new value)."""
        self._check(line)
        mine = [edge for edge in self._edges if edge.line == line]
        index = bisect.bisect_right([edge.t for edge in mine], t) - 1
        return mine[index].value if index >= 0 else False

    def edges(self, line: str | None = None, *, since: float = 0.0) -> list[Edge]:
        """Every edge (of ``line``, or of all lines) at or after ``since``, in order."""
        if line is not None:
            self._check(line)
        return [edge for edge in self._edges if edge.t >= since and (line is None or edge.line == line)]

    def subscribe(self, line: str, callback: Callable[[float, bool], None]) -> None:
        """Call ``callback(t, value)`` on every edge of ``line``."""
        self._check(line)
        self._listeners[line].append(callback)

    def _check(self, line: str) -> None:
        if line not in self.drivers:
            raise KeyError(f"no contact line {line!r} (lines: {', '.join(self.drivers)})")
