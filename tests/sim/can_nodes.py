"""Stand-in lab components for the CAN bus tests: a periodic sender and a recorder (the charger comes later)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rig.sim.wire.can_bus import BusFrame, CanBus, LabTimer


def counter_bytes(n: int) -> bytes:
    """A frame's payload that says which cycle it belongs to."""
    return n.to_bytes(4, "little")


def counter_of(data: bytes) -> int:
    return int.from_bytes(data[:4], "little")


class HeartbeatNode:
    """Sends ``frame_ids`` (one frame each) every ``period_s`` of lab time, at first_s + n * period_s.

    Each frame carries its cycle number (``counter_bytes``); ``sent`` keeps every frame with its lab time.
    """

    def __init__(self, bus: CanBus, frame_ids: tuple[int, ...], period_s: float, *, first_s: float = 0.0) -> None:
        self.bus = bus
        self.frame_ids = frame_ids
        self.period_s = period_s
        self.first_s = first_s
        self.cycle = 0
        self.sent: list[BusFrame] = []
        self._timer: LabTimer | None = bus.call_at(first_s, self._beat)

    def _beat(self, t: float) -> None:
        for frame_id in self.frame_ids:
            self.sent.append(self.bus.send(frame_id, counter_bytes(self.cycle)))
        self.cycle += 1
        self._timer = self.bus.call_at(self.first_s + self.cycle * self.period_s, self._beat)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


@dataclass
class Recorder:
    """Every frame the lab received from the wire: (lab time, id, data)."""

    frames: list[tuple[float, int, bytes]] = field(default_factory=list)

    def __call__(self, t: float, frame_id: int, data: bytes) -> None:
        self.frames.append((t, frame_id, data))
