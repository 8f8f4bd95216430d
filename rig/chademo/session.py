"""A CHAdeMO session as data: frames on one time axis, and (when recorded live) contact edges
and DC measurements on the same axis.

The same :class:`Session` comes from a trace file (:meth:`Session.from_trace`) or from what the
live suite recorded (:meth:`Session.from_records`), so the rules judge both the same way.
Time is in seconds from the session's origin (by default its first frame).

A trace file has no contact signals and no DC measurements: ``edges`` and ``dc`` are then None
("not recorded"), which is not the same as an empty tuple ("recorded, nothing happened"); rules
that need them report themselves not applicable on None.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Collection, Iterable, Literal

from rig.chademo import messages
from rig.chademo.messages import FrameError, Side, SignalValues
from rig.chademo.traces import LostSpan, Trace

ContactName = Literal["d1", "d2", "k", "j", "proximity", "lock", "pe"]
"""Contact signals: d1, d2 (EVSE sequence signals), k (vehicle charge permission, seen by the
EVSE as j), proximity, the connector lock and protective earth continuity."""


def _located(text: str, source: str) -> str:
    """A finding's evidence as one line, with where it was recorded when known."""
    return f"{text} ({source})" if source else text


@dataclass(frozen=True, eq=False)
class SessionFrame:
    """One CAN frame of the session, decoded when it is a CHAdeMO id."""

    t: float
    frame_id: int
    data: bytes
    side: Side | None
    signals: SignalValues | None
    """Physical values by signal name; None for an id outside CHAdeMO or a frame that did not decode."""
    source: str = ""
    """Where it was recorded, e.g. ``leaf.csv:1567``, so a finding can be checked by hand."""
    decode_error: str | None = None

    @property
    def name(self) -> str:
        return messages.message_name(self.frame_id) if self.side is not None else f"0x{self.frame_id:03X}"

    def __getitem__(self, signal: str) -> float:
        if self.signals is None:
            raise KeyError(f"0x{self.frame_id:03X} was not decoded")
        return self.signals[signal]

    def describe(self) -> str:
        return _located(f"t={self.t:.3f} s 0x{self.frame_id:03X} {self.data.hex(' ').upper()}", self.source)


@dataclass(frozen=True)
class ContactEdge:
    """A contact signal changing state (recorded live by the digital I/O module)."""

    t: float
    name: ContactName
    value: bool
    source: str = ""

    def describe(self) -> str:
        return _located(f"t={self.t:.3f} s {self.name} {'on' if self.value else 'off'}", self.source)


@dataclass(frozen=True)
class DcSample:
    """A DC measurement at the vehicle inlet. Current is positive into the vehicle (charging)
    and negative out of it (discharging)."""

    t: float
    voltage_v: float
    current_a: float
    source: str = ""

    def describe(self) -> str:
        return _located(f"t={self.t:.3f} s DC {self.voltage_v:.1f} V {self.current_a:.1f} A", self.source)


Evidence = SessionFrame | ContactEdge | DcSample
"""Anything a finding can point at."""


@dataclass(frozen=True)
class Session:
    frames: tuple[SessionFrame, ...]
    edges: tuple[ContactEdge, ...] | None = None
    dc: tuple[DcSample, ...] | None = None
    name: str = ""
    origin: float = 0.0
    """The source's time of t = 0 (e.g. the first frame's timestamp in the file)."""
    damaged: tuple[LostSpan, ...] = ()
    """Where the recording lost frames to damage (lines of a trace file that could not be read),
    from the readable frame before each such line to the one after it."""
    _decoded: dict[int, tuple[list[SessionFrame], list[float]]] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    _lost: list[LostSpan] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for frame in self.frames:
            if frame.signals is not None:
                frames, times = self._decoded.setdefault(frame.frame_id, ([], []))
                frames.append(frame)
                times.append(frame.t)
        self._lost.extend(self.damaged)
        self._lost.extend(LostSpan(frame.t, frame.t, frame.frame_id) for frame in self.undecoded)

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def from_trace(cls, trace: Trace, edges: Iterable[ContactEdge] | None = None,
                   dc: Iterable[DcSample] | None = None) -> "Session":
        """A session from a trace file, t = 0 at its first frame. A trace file holds CAN only;
        a live recording re-read from its ``.log`` gets its contact edges and DC samples back
        here, on the file's clock."""
        origin = trace.frames[0].timestamp_s if trace.frames else 0.0
        frames = tuple(make_frame(frame.timestamp_s - origin, frame.frame_id, frame.data,
                                  f"{trace.path.name}:{frame.line}" if frame.line is not None else trace.path.name)
                       for frame in trace.frames)
        damaged = tuple(LostSpan(span.start - origin, span.end - origin, span.frame_id) for span in trace.lost_spans())
        return cls(frames, *_shifted(edges, dc, origin), name=trace.path.name, origin=origin, damaged=damaged)

    @classmethod
    def from_records(cls, frames: Iterable[tuple[float, int, bytes]],
                     edges: Iterable[ContactEdge] | None = None, dc: Iterable[DcSample] | None = None,
                     name: str = "live", origin: float = 0.0) -> "Session":
        """A session from what the live suite recorded: ``(t, frame_id, data)`` on the rig's clock,
        contact edges and DC samples on the same clock; times are shifted by ``origin``."""
        made = tuple(make_frame(t - origin, frame_id, bytes(data), f"{name} #{n}")
                     for n, (t, frame_id, data) in enumerate(frames, start=1))
        return cls(made, *_shifted(edges, dc, origin), name=name, origin=origin)

    # --- queries ----------------------------------------------------------------------------

    @property
    def start(self) -> float:
        return self.frames[0].t if self.frames else 0.0

    @property
    def end(self) -> float:
        times = [self.frames[-1].t] if self.frames else []
        times += [self.edges[-1].t] if self.edges else []
        times += [self.dc[-1].t] if self.dc else []
        return max(times, default=0.0)

    def of(self, name_or_id: int | str) -> list[SessionFrame]:
        """The decoded frames of one message, in time order."""
        return self._decoded.get(_frame_id(name_or_id), ([], []))[0]

    def sent_by(self, side: Side) -> list[SessionFrame]:
        return [frame for frame in self.frames if frame.side is side]

    @property
    def sides_present(self) -> frozenset[Side]:
        return frozenset(frame.side for frame in self.frames if frame.side is not None)

    def latest(self, name_or_id: int | str, t: float) -> SessionFrame | None:
        """The last decoded frame of a message at or before ``t``."""
        frames, times = self._decoded.get(_frame_id(name_or_id), ([], []))
        index = bisect.bisect_right(times, t)
        return frames[index - 1] if index else None

    def edges_of(self, name: ContactName) -> list[ContactEdge]:
        return [edge for edge in self.edges or () if edge.name == name]

    def contact_at(self, name: ContactName, t: float) -> bool | None:
        """A contact's state at ``t`` (None if not recorded or no edge yet)."""
        state = None
        for edge in self.edges_of(name):
            if edge.t > t:
                break
            state = edge.value
        return state

    @property
    def undecoded(self) -> list[SessionFrame]:
        """CHAdeMO ids that did not decode (wrong length): damage, counted in the report."""
        return [frame for frame in self.frames if frame.side is not None and frame.signals is None]

    def lost_between(self, start: float, end: float, frame_ids: Collection[int]) -> bool:
        """Whether a frame of one of ``frame_ids`` may be missing from the record between ``start``
        and ``end`` (a damaged line there, or a CHAdeMO frame that did not decode): how long
        that id went without a frame is then unknown."""
        return any(span.hides(start, end, frame_ids) for span in self._lost)


def _shifted(edges: Iterable[ContactEdge] | None, dc: Iterable[DcSample] | None,
             origin: float) -> tuple[tuple[ContactEdge, ...] | None, tuple[DcSample, ...] | None]:
    """Edges and DC samples in time order, moved onto the session's axis (None stays None:
    not recorded)."""
    moved_edges = None if edges is None else tuple(
        ContactEdge(e.t - origin, e.name, e.value, e.source) for e in sorted(edges, key=lambda e: e.t))
    moved_dc = None if dc is None else tuple(
        DcSample(s.t - origin, s.voltage_v, s.current_a, s.source) for s in sorted(dc, key=lambda s: s.t))
    return moved_edges, moved_dc


def make_frame(t: float, frame_id: int, data: bytes, source: str = "") -> SessionFrame:
    """Decode a frame if it is CHAdeMO; a CHAdeMO id that does not decode keeps its error."""
    side = messages.side_of(frame_id)
    if side is None:
        return SessionFrame(t, frame_id, data, None, None, source)
    try:
        return SessionFrame(t, frame_id, data, side, messages.decode(frame_id, data), source)
    except FrameError as err:
        return SessionFrame(t, frame_id, data, side, None, source, str(err))


def _frame_id(name_or_id: int | str) -> int:
    return name_or_id if isinstance(name_or_id, int) else messages.frame_id_of(name_or_id)
