"""Small searches over a session's time line that several rules share."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence, TypeVar

from rig.chademo.parameters import ChademoParameters
from rig.chademo.reconstruction import SessionSummary
from rig.chademo.session import Session, SessionFrame


class Timed(Protocol):
    """Anything on the session's time axis: a frame, a contact edge, a DC sample."""

    @property
    def t(self) -> float: ...


T = TypeVar("T", bound=Timed)


@dataclass(frozen=True)
class Episode:
    """A run of consecutive samples over which a condition held."""

    first: SessionFrame
    last: SessionFrame
    end_t: float
    """When it stopped holding (the next sample), or the last sample's time."""

    @property
    def duration_s(self) -> float:
        return self.end_t - self.first.t


def episodes(frames: Sequence[SessionFrame], holds: Callable[[SessionFrame], bool],
             min_duration_s: float) -> list[Episode]:
    """Runs where ``holds`` was true for at least ``min_duration_s`` (0 keeps every run)."""
    found: list[Episode] = []
    start: SessionFrame | None = None
    last: SessionFrame | None = None
    for frame in frames:
        if holds(frame):
            start = start or frame
            last = frame
            continue
        if start is not None and last is not None:
            found.append(Episode(start, last, frame.t))
        start = last = None
    if start is not None and last is not None:
        found.append(Episode(start, last, last.t))
    return [episode for episode in found if episode.duration_s >= min_duration_s]


def first_from(frames: Sequence[T], t: float, holds: Callable[[T], bool]) -> T | None:
    """The first frame at or after ``t`` for which ``holds`` is true."""
    return next((frame for frame in frames if frame.t >= t and holds(frame)), None)


def last_before(frames: Sequence[T], t: float) -> T | None:
    """The last frame at or before ``t`` (``frames`` in time order)."""
    index = bisect.bisect_right(frames, t, key=lambda frame: frame.t)
    return frames[index - 1] if index else None


def answered_within(frames: Sequence[T], start: float, within_s: float,
                    holds: Callable[[T], bool]) -> tuple[bool, T | None]:
    """Whether a frame satisfying ``holds`` came by ``start + within_s``; also the last frame
    before that deadline (the evidence when it did not). A session that ends before the
    deadline without an answer is not judged late: (True, None)."""
    answer = first_from(frames, start, holds)
    deadline = start + within_s
    if answer is not None and answer.t <= deadline:
        return True, answer
    if not frames or frames[-1].t < deadline:
        return True, None
    return False, last_before(frames, deadline)


def evse_output(session: Session) -> list[SessionFrame]:
    """0x109 frames: the EVSE's present voltage and current."""
    return session.of("EvseStatus")


def current_reports(session: Session) -> list[SessionFrame]:
    """Every frame that reports the output current, in time order: 0x109 (charge current) and 0x208
    (V2H discharge current). A real charger sends the two at different instants of its cycle, so a stop
    is seen at whichever frame first reports it."""
    return sorted([*session.of("EvseStatus"), *session.of("EvseDischargeStatus")], key=lambda frame: frame.t)


def output_current_a(session: Session, frame: SessionFrame) -> float:
    """The current, either way, the EVSE reports as of ``frame`` (a 0x109 or 0x208): the larger of the latest
    0x109 present current (charging) and the latest 0x208 present discharge current (V2H) at that instant."""
    charge = last_before(session.of("EvseStatus"), frame.t)
    drawn = last_before(session.of("EvseDischargeStatus"), frame.t)
    return max(charge["PresentCurrent"] if charge is not None else 0.0,
               drawn["PresentDischargeCurrent"] if drawn is not None else 0.0)


def stopped(session: Session, params: ChademoParameters) -> Callable[[SessionFrame], bool]:
    """Current reports (see ``current_reports``) as of which the output current, either way, counts as stopped."""
    return lambda frame: output_current_a(session, frame) <= params.stop_current_a


def opening_recorded(summary: SessionSummary) -> bool:
    """Whether the recording has the session's start (a trace cut mid-charge has not)."""
    return bool(summary.phases) and summary.phases[0].name in ("idle", "handshake", "compatibility_check")


def reported_stop_within_s(params: ChademoParameters) -> float:
    """How long after a stop's cause the charger's *reports* must show it stopped: the stop time, plus one
    report cycle (and its tolerance), since a charger reports its current once a cycle and the report can
    lag the current it describes by that much. The stop time itself is judged where the rig measures the
    current at the inlet (the live suite's ``reaction_s``), not here."""
    return params.stop_current_within_s + params.cycle_period_s + params.cycle_tolerance_s
