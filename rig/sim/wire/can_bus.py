"""The simulated lab's CAN bus: lab components on one side, the rig's connections on the other.

A lab component (the simulated charger's CHAdeMO controller, or a test's
stand-in node) *subscribes* to the frames that arrive from the wire
(``listener(time_s, frame_id, data)``, called at the lab instant the
frame was received) and *sends* frames at lab instants (``send``: stamped
with the lab's current time). Its periodic work runs on lab timers
(``call_at``), which the lab model fires as events while it advances
(``LabModel.advance_to``), so a 100 ms cycle is a lab event, never a real
sleep. The bus knows nothing of sockets: ``rig.sim.wire.can_server`` taps it to
put lab frames on the wire and feeds it the frames the rig sends.

Frames are classic CAN: up to 8 data bytes, 11-bit identifiers (29-bit
when ``extended``).
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Callable

SAME_INSTANT_S = 1e-9
"""A timer this close after the instant the lab advances to is due at it (n * period and sums of waits
differ in the last bits; the rig's clock uses the same rule, so a lab frame and a rig task due at "the
same" instant meet in it)."""

MAX_STANDARD_ID = 0x7FF
MAX_EXTENDED_ID = 0x1FFFFFFF
MAX_DATA_BYTES = 8

FrameListener = Callable[[float, int, bytes], None]
"""A lab component's handler of a frame from the wire: (lab time in s, arbitration id, data)."""


@dataclass(frozen=True)
class BusFrame:
    """A frame on the simulated bus, with the lab instant it was sent or received at."""

    time_s: float
    frame_id: int
    data: bytes
    extended: bool = False

    def __post_init__(self) -> None:
        check_frame(self.frame_id, self.data, self.extended)


def check_frame(frame_id: int, data: bytes, extended: bool) -> None:
    """Raise ValueError unless this is a classic CAN frame (11- or 29-bit id, up to 8 data bytes)."""
    limit = MAX_EXTENDED_ID if extended else MAX_STANDARD_ID
    if not 0 <= frame_id <= limit:
        kind = "29-bit" if extended else "11-bit"
        raise ValueError(f"CAN id {frame_id:#x} is not a {kind} identifier")
    if len(data) > MAX_DATA_BYTES:
        raise ValueError(f"CAN frame {frame_id:#x}: {len(data)} data bytes (classic CAN has 8)")


@dataclass(order=True)
class LabTimer:
    """An action due at a lab instant; ``cancel()`` before it fires and it never does."""

    time_s: float
    order: int
    action: Callable[[float], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class CanBus:
    """One CAN bus of the simulated lab; ``now`` reads the lab's time."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._listeners: list[FrameListener] = []
        self._taps: list[Callable[[BusFrame], None]] = []
        self._timers: list[LabTimer] = []
        self._order = itertools.count()
        self.on_schedule: Callable[[float], None] | None = None
        """Told of each new timer's instant (a real-time lab's server wakes up for it)."""

    # -- lab components ------------------------------------------------------------------------

    def subscribe(self, listener: FrameListener) -> None:
        """Call ``listener`` with every frame that arrives from the wire, at the lab instant it arrives."""
        self._listeners.append(listener)

    def send(self, frame_id: int, data: bytes, *, extended: bool = False) -> BusFrame:
        """Put a frame on the bus now (the lab's current time is its timestamp)."""
        frame = BusFrame(self._now(), frame_id, bytes(data), extended)
        for tap in self._taps:
            tap(frame)
        return frame

    def call_at(self, t: float, action: Callable[[float], None]) -> LabTimer:
        """Run ``action(t)`` when the lab reaches ``t`` (timers at one instant run in the order they were set)."""
        if t < self._now():
            raise ValueError(f"a lab timer at {t} s is in the past (the lab is at {self._now()} s)")
        timer = LabTimer(t, next(self._order), action)
        heapq.heappush(self._timers, timer)
        if self.on_schedule is not None:
            self.on_schedule(t)
        return timer

    # -- the lab model and the wire ------------------------------------------------------------------------

    def next_event_time(self) -> float | None:
        """The instant of the next timer, or None."""
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0].time_s if self._timers else None

    def run_due(self, t: float) -> None:
        """Fire every timer due at or before ``t`` (the lab model calls this once it has reached ``t``)."""
        while self._timers and self._timers[0].time_s <= t:
            timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                timer.action(timer.time_s)

    def tap(self, out: Callable[[BusFrame], None]) -> None:
        """Give every frame a lab component sends to ``out`` too (the server that serves the bus)."""
        self._taps.append(out)

    def untap(self, out: Callable[[BusFrame], None]) -> None:
        self._taps.remove(out)

    def received(self, frame_id: int, data: bytes, *, extended: bool = False) -> BusFrame:
        """A frame from the wire, received now: every subscribed component handles it before this returns."""
        frame = BusFrame(self._now(), frame_id, bytes(data), extended)
        for listener in list(self._listeners):
            listener(frame.time_s, frame.frame_id, frame.data)
        return frame
