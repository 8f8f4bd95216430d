"""What happened in a session: sides, protocol, V2H or not, phases, and who ended it and why.

Phases follow the flags both sides send (and the contact signals when recorded):

=====================  ==================================================================
idle                   contacts recorded, d1 not yet on
handshake              d1 on or the EV's first frame; the EVSE has not answered yet
compatibility_check    the EVSE's first 0x108/0x109, until it locks the connector
insulation_test        109.5.2 = 1 (energizing, connector locked), EV contactors still open
contactors_closed      the EV cleared 102.5.3 (contactors closed), charge not started
charging               109.5.0 = 1 and no discharge current in 0x208
discharging            109.5.0 = 1 and a discharge current in 0x208 (V2H)
stopping               from the first stop cause (see :func:`stop_causes`)
ended                  after a stop, the EVSE unlocked (109.5.2 = 0) or d1 went off
=====================  ==================================================================

A trace that starts late begins in whatever phase its first frames show (a note says so).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Iterator

from rig.chademo import messages
from rig.chademo.messages import Side
from rig.chademo.parameters import ChademoParameters
from rig.chademo.session import ContactEdge, Evidence, Session, SessionFrame

PHASE_ORDER = ("idle", "handshake", "compatibility_check", "insulation_test", "contactors_closed",
               "charging", "discharging", "stopping", "ended")
ENERGY_PHASES = ("charging", "discharging")

EV_STOP_BITS = {
    "FaultBatteryOvervoltage": "battery overvoltage (102.4.0)",
    "FaultBatteryUndervoltage": "battery undervoltage (102.4.1)",
    "FaultCurrentDeviation": "current deviation (102.4.2)",
    "FaultHighBatteryTemperature": "high battery temperature (102.4.3)",
    "FaultVoltageDeviation": "voltage deviation (102.4.4)",
    "ShiftNotPark": "shift lever out of P (102.5.1)",
    "ChargingSystemFault": "vehicle charging-system fault (102.5.2)",
    "NormalStopRequest": "normal stop request before charging (102.5.4)",
}
"""0x102 bits whose rise is the EV asking to stop."""

EVSE_STOP_BITS = {
    "Malfunction": "charger malfunction (109.5.1)",
    "BatteryIncompatible": "battery incompatibility (109.5.3)",
    "ChargingSystemMalfunction": "charging-system malfunction (109.5.4)",
}
"""0x109 bits whose rise is the EVSE stopping on a fault."""


@dataclass(frozen=True)
class Phase:
    name: str
    start: float
    evidence: Evidence | None = None


@dataclass(frozen=True)
class StopCause:
    """One reason a session stops, at the instant a frame or edge first shows it."""

    t: float
    side: Side
    reasons: tuple[str, ...]
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class Ending:
    """Who ended the session, why, where, and the state around it."""

    cause: StopCause
    phase: str
    """The phase the session was in when it stopped."""
    since_phase_start_s: float
    context: str

    def describe(self) -> str:
        return (f"{self.cause.side.value} ended the session at t={self.cause.t:.3f} s during {self.phase} "
                f"({self.since_phase_start_s:.2f} s into it): {', '.join(self.cause.reasons)}. {self.context}")


@dataclass(frozen=True)
class SessionSummary:
    sides_present: frozenset[Side]
    protocol_ev: int | None
    protocol_evse: int | None
    v2h: bool
    v2h_evidence: str
    phases: tuple[Phase, ...]
    ending: Ending | None
    notes: tuple[str, ...]
    restart: Evidence | None = None
    """The first sign of another session after this one ended (only the first is rebuilt and judged)."""

    @property
    def negotiated_protocol(self) -> int | None:
        """min(EV, EVSE): the protocol the session follows; None unless both sides spoke."""
        if self.protocol_ev is None or self.protocol_evse is None:
            return None
        return min(self.protocol_ev, self.protocol_evse)

    def phase_at(self, t: float) -> str | None:
        current = None
        for phase in self.phases:
            if phase.start > t:
                break
            current = phase.name
        return current

    def first(self, name: str) -> Phase | None:
        return next((phase for phase in self.phases if phase.name == name), None)

    @property
    def charge_start(self) -> float | None:
        """When energy transfer began (the first charging or discharging phase)."""
        started = [phase.start for phase in self.phases if phase.name in ENERGY_PHASES]
        return min(started) if started else None


def summarise(session: Session, params: ChademoParameters | None = None) -> SessionSummary:
    """Rebuild what happened in ``session``."""
    params = params or ChademoParameters()
    notes: list[str] = []
    protocol_ev = _protocol(session, "EvChargeStatus", "EV", notes)
    protocol_evse = _protocol(session, "EvseStatus", "EVSE", notes)
    v2h, v2h_evidence = _v2h(session)
    causes = stop_causes(session, params)
    first_cause = causes[0] if causes else None
    phases = _phases(session, first_cause, notes, late_start_s=2 * params.cycle_period_s)
    ending = None
    if first_cause is not None:
        phase = next((p for p in reversed(phases) if p.start <= first_cause.t and p.name not in ("stopping", "ended")),
                     Phase("the start of the recording", session.start))
        context = _context(session, first_cause.t, params.context_window_s)
        if phase.name in ENERGY_PHASES:
            context += " " + _since_charge_start(session, phase.start, first_cause.t)
        ending = Ending(first_cause, phase.name, first_cause.t - phase.start, context)
    elif phases:
        notes.append(f"no stop recorded: the trace ends during {phases[-1].name}")
    restart = _restart(session, phases)
    if restart is not None:
        notes.append(f"another session starts after this one ended ({restart.describe()}): only the first "
                     "session of a recording is rebuilt and judged; split the trace to judge the others")
    notes.extend(_energy_direction(session, v2h))
    gaps = recording_gaps(session, params)
    if gaps:
        notes.append(f"{len(gaps)} recording gaps (no frame from either side for more than one cycle), first "
                     f"from t={gaps[0][0]:.3f} s to t={gaps[0][1]:.3f} s: intervals across them are not judged")
    if session.damaged:
        notes.append(f"{len(session.damaged)} damaged lines where frames may be missing: timing across them "
                     "is not judged")
    for frame in session.undecoded[:1]:
        notes.append(f"{len(session.undecoded)} CHAdeMO frames did not decode, first {frame.describe()}: "
                     f"{frame.decode_error}")
    return SessionSummary(session.sides_present, protocol_ev, protocol_evse, v2h, v2h_evidence,
                          tuple(phases), ending, tuple(notes), restart)


def _restart(session: Session, phases: list[Phase]) -> Evidence | None:
    """The first event after the ended phase began that only a new session has: the EV granting charge
    permission (102.5.0 rising), the EVSE raising its charging flag (109.5.0) or d1 coming on again."""
    ended = next((phase.start for phase in phases if phase.name == "ended"), None)
    if ended is None:
        return None
    signs: list[Evidence] = [frame for _, frame in _rises(session.of("EvChargeStatus"), "ChargingEnabled")
                             if frame.t > ended]
    signs += [frame for _, frame in _rises(session.of("EvseStatus"), "Charging") if frame.t > ended]
    signs += [edge for edge in session.edges_of("d1") if edge.value and edge.t > ended]
    return min(signs, key=lambda event: event.t, default=None)


def _protocol(session: Session, message: str, side: str, notes: list[str]) -> int | None:
    values = [(frame, int(frame["ProtocolNumber"])) for frame in session.of(message)]
    if not values:
        return None
    for (_, before), (frame, after) in zip(values, values[1:]):
        if after != before:
            notes.append(f"{side} protocol number changed {before} -> {after} at {frame.describe()}")
    return values[-1][1]


def _v2h(session: Session) -> tuple[bool, str]:
    """V2H: both sides say they can discharge, and the discharge frames go both ways."""
    ev_flag = next((f for f in session.of("EvChargeStatus") if f["DischargeCompatible"]), None)
    evse_flag = next((f for f in session.of("EvseStatus") if f["EvseDischargeCompatible"]), None)
    counts = {fid: len(session.of(fid)) for fid in (0x200, 0x201, 0x208, 0x209)}
    exchanged = counts[0x200] > 0 and counts[0x208] > 0
    parts = [f"102.5.7 = {1 if ev_flag else 0}" + (f" ({ev_flag.source})" if ev_flag else ""),
             f"109.4.0 = {1 if evse_flag else 0}" + (f" ({evse_flag.source})" if evse_flag else ""),
             ", ".join(f"0x{fid:03X} x{n}" for fid, n in counts.items())]
    return bool(ev_flag and evse_flag and exchanged), "; ".join(parts)


def recording_gaps(session: Session, params: ChademoParameters) -> list[tuple[float, float]]:
    """Spans with no frame at all for longer than a cycle (+ tolerance): a logger that lost frames
    (both sides falling silent at once is far less likely). Rules do not judge timing across them."""
    limit = params.cycle_period_s + params.cycle_tolerance_s
    return [(a.t, b.t) for a, b in zip(session.frames, session.frames[1:]) if b.t - a.t > limit]


def _energy_direction(session: Session, v2h: bool) -> list[str]:
    if not v2h:
        return []
    charge = max((f["PresentCurrent"] for f in session.of("EvseStatus")), default=0)
    discharge = max((f["PresentDischargeCurrent"] for f in session.of("EvseDischargeStatus")), default=0)
    if discharge > 0:
        return [f"V2H: discharge current up to {discharge:g} A (0x208), charge current up to {charge:g} A (0x109)"]
    return [f"V2H session, but energy flowed only to the vehicle: 0x208 present discharge current stayed 0 A, "
            f"0x109 present current up to {charge:g} A"]


# --- stop causes ----------------------------------------------------------------------------

def stop_causes(session: Session, params: ChademoParameters) -> list[StopCause]:
    """Every stop cause in time order: EV and EVSE flag changes, EV CAN silence, contact edges."""
    causes = list(_flag_causes(session)) + list(_silence_causes(session, params)) + list(_edge_causes(session))
    return sorted(causes, key=lambda cause: cause.t)


def _rises(frames: list[SessionFrame], signal: str) -> Iterator[tuple[SessionFrame | None, SessionFrame]]:
    """(previous frame, frame) where ``signal`` goes 0 -> 1; a 1 in the first frame counts as a rise."""
    previous: SessionFrame | None = None
    for frame in frames:
        if frame[signal] and (previous is None or not previous[signal]):
            yield previous, frame
        previous = frame


def _falls(frames: list[SessionFrame], signal: str) -> Iterator[tuple[SessionFrame, SessionFrame]]:
    for previous, frame in zip(frames, frames[1:]):
        if previous[signal] and not frame[signal]:
            yield previous, frame


def _flag_causes(session: Session) -> Iterator[StopCause]:
    by_frame: dict[int, tuple[Side, list[str], list[Evidence]]] = {}

    def add(side: Side, previous: SessionFrame | None, frame: SessionFrame, reason: str) -> None:
        _, reasons, evidence = by_frame.setdefault(id(frame), (side, [], [frame]))
        reasons.append(reason)
        if previous is not None and previous not in evidence:
            evidence.insert(0, previous)

    ev, evse = session.of("EvChargeStatus"), session.of("EvseStatus")
    for signal, reason in EV_STOP_BITS.items():
        for previous, frame in _rises(ev, signal):
            add(Side.EV, previous, frame, reason)
    for previous, frame in _falls(ev, "ChargingEnabled"):
        add(Side.EV, previous, frame, "the EV withdrew its charge permission (102.5.0 = 0)")
    for signal, reason in EVSE_STOP_BITS.items():
        for previous, frame in _rises(evse, signal):
            add(Side.EVSE, previous, frame, reason)
    charging_seen = False
    for previous, frame in zip(evse, evse[1:]):
        charging_seen = charging_seen or bool(previous["Charging"])
        if charging_seen and frame["StopControl"] and not previous["StopControl"]:
            faults = any(frame[name] for name in EVSE_STOP_BITS)
            add(Side.EVSE, previous, frame, "stop control set again (109.5.5 = 1)"
                + ("" if faults else " with no fault flag: a normal stop by the charger"))
        elif previous["Charging"] and not frame["Charging"] and not frame["StopControl"]:
            add(Side.EVSE, previous, frame, "charging flag cleared (109.5.0 = 0)")
    frames_by_id = {id(frame): frame for frame in ev + evse}
    for key, (side, reasons, evidence) in by_frame.items():
        yield StopCause(frames_by_id[key].t, side, tuple(reasons), tuple(evidence))


def ev_silences(session: Session, min_gap_s: float) -> list[tuple[SessionFrame, float]]:
    """(last EV frame before the gap, gap length) for every gap in the EV's frames longer than
    ``min_gap_s`` during which the EVSE kept sending (so the EV, not the logger, went quiet) and
    no frame was lost to damage (a damaged line in it may have been the EV's)."""
    ev_frames = [frame for frame in session.sent_by(Side.EV) if frame.signals is not None]
    evse_times = [frame.t for frame in session.sent_by(Side.EVSE)]
    if not ev_frames or not evse_times:
        return []
    gaps = [(before, after.t - before.t) for before, after in zip(ev_frames, ev_frames[1:])]
    gaps.append((ev_frames[-1], evse_times[-1] - ev_frames[-1].t))
    ev_ids = messages.frame_ids(Side.EV)
    return [(before, gap) for before, gap in gaps
            if gap > min_gap_s and any(before.t + min_gap_s < t for t in evse_times)
            and not session.lost_between(before.t, before.t + gap, ev_ids)]


def _silence_causes(session: Session, params: ChademoParameters) -> Iterator[StopCause]:
    for last, gap in ev_silences(session, params.can_silence_s):
        yield StopCause(last.t + params.can_silence_s, Side.EV,
                        (f"the EV's CAN frames stopped for {gap:.2f} s (more than {params.can_silence_s:g} s)",),
                        (last,))


def _edge_causes(session: Session) -> Iterator[StopCause]:
    owners = {"k": (Side.EV, "the EV switched k off (charge permission)"),
              "proximity": (Side.EV, "the connector was unplugged (proximity lost)"),
              "pe": (Side.EV, "protective earth lost"),
              "d1": (Side.EVSE, "the EVSE switched d1 off"),
              "d2": (Side.EVSE, "the EVSE switched d2 off")}
    was_on: dict[str, bool] = {}
    for edge in session.edges or ():
        if not edge.value and was_on.get(edge.name) and edge.name in owners:
            side, reason = owners[edge.name]
            yield StopCause(edge.t, side, (reason,), (edge,))
        was_on[edge.name] = edge.value


# --- phases ---------------------------------------------------------------------------------

def _events(session: Session) -> Iterator[SessionFrame | ContactEdge]:
    frames = (frame for frame in session.frames if frame.signals is not None)
    return heapq.merge(frames, session.edges or (), key=lambda event: event.t)


def _phases(session: Session, first_cause: StopCause | None, notes: list[str], late_start_s: float) -> list[Phase]:
    phases: list[Phase] = []
    state: dict[str, float] = {}
    contacts: dict[str, bool] = {}
    if session.edges is not None:
        first_t = min([session.start, *(edge.t for edge in session.edges)])
        if not session.contact_at("d1", first_t):
            phases.append(Phase("idle", first_t))
    stopping = False
    for event in _events(session):
        if first_cause is not None and not stopping and event.t >= first_cause.t:
            stopping = True
            phases.append(Phase("stopping", first_cause.t, first_cause.evidence[-1]))
        if isinstance(event, ContactEdge):
            contacts[event.name] = event.value
        else:
            state.update({f"{event.frame_id}.{name}": value for name, value in (event.signals or {}).items()})
            state[f"seen.{event.side.value if event.side else ''}"] = 1
        name = _phase_of(state, contacts, stopping, phases)
        if name is not None and (not phases or phases[-1].name != name):
            phases.append(Phase(name, event.t, event))
    return _late_start(phases, session.start, late_start_s, notes)


def _late_start(phases: list[Phase], start: float, late_start_s: float, notes: list[str]) -> list[Phase]:
    """A trace that begins mid-session shows its real phase within its first cycle; the handshake
    phases its first frames seemed to pass through were not observed."""
    late = next((i for i, phase in enumerate(phases) if phase.name in PHASE_ORDER[3:]
                 and phase.start - start <= late_start_s), None)
    if late is None or late == 0:
        return phases
    notes.append(f"the trace starts during {phases[late].name}: earlier phases were not recorded")
    return [Phase(phases[late].name, start, phases[late].evidence)] + phases[late + 1:]


def _phase_of(state: dict[str, float], contacts: dict[str, bool], stopping: bool,
              phases: list[Phase]) -> str | None:
    current = phases[-1].name if phases else None
    locked = state.get("265.ConnectorLocked", 0)
    if stopping:
        unlocked = (current == "stopping" and bool(state.get("seen.EVSE"))
                    and not locked and not state.get("265.Charging", 0))
        return "ended" if unlocked or contacts.get("d1") is False else current
    if state.get("265.Charging"):
        return "discharging" if state.get("520.PresentDischargeCurrent", 0) > 0 else "charging"
    if current in ENERGY_PHASES:
        return current  # charging flag dropped without a stop cause: stays until a cause shows
    candidates = [
        ("contactors_closed", bool(locked) and state.get("258.ContactorOpen", 1) == 0),
        ("insulation_test", bool(locked)),
        ("compatibility_check", bool(state.get("seen.EVSE"))),
        ("handshake", bool(state.get("seen.EV")) or contacts.get("d1") is True),
    ]
    name = next((name for name, holds in candidates if holds), current)
    if current is not None and name is not None and PHASE_ORDER.index(name) < PHASE_ORDER.index(current):
        return current  # phases do not go back (a flag flickering does not restart the sequence)
    return name


# --- context --------------------------------------------------------------------------------

def _context(session: Session, t: float, window_s: float) -> str:
    """The state at ``t`` and its last ``window_s`` seconds, as a sentence a reviewer can check."""
    status, request, capability = (session.latest(m, t) for m in ("EvseStatus", "EvChargeStatus",
                                                                  "EvseCapability"))
    parts = []
    if status is not None:
        parts.append(f"EVSE output {status['PresentVoltage']:g} V, {status['PresentCurrent']:g} A")
    if request is not None:
        parts.append(f"EV request {request['ChargeCurrentRequest']:g} A, target {request['TargetVoltage']:g} V, "
                     f"faults {_flags(request, EV_STOP_BITS) or 'none'}")
    window = [f for f in session.of("EvseStatus") if t - window_s <= f.t <= t]
    requests = [f["ChargeCurrentRequest"] for f in session.of("EvChargeStatus") if t - window_s <= f.t <= t]
    if window:
        peak = max(window, key=lambda f: f["PresentVoltage"])
        sentence = (f"in the {window_s:g} s before: output up to {peak['PresentVoltage']:g} V "
                    f"and {max(f['PresentCurrent'] for f in window):g} A")
        if requests:
            sentence += f" against requests up to {max(requests):g} A"
        limits = []
        if request is not None and peak["PresentVoltage"] > request["TargetVoltage"]:
            limits.append(f"above the EV's target voltage {request['TargetVoltage']:g} V at {peak.describe()}")
        if capability is not None:
            limits.append(f"the EVSE's threshold voltage is {capability['ThresholdVoltage']:g} V")
        parts.append(sentence + (f" ({'; '.join(limits)})" if limits else ""))
    return ("At that moment: " + "; ".join(parts) + ".") if parts else ""


def _since_charge_start(session: Session, start: float, t: float) -> str:
    """How the output moved between charge start and the stop: a voltage that climbs while the
    current stays near zero says the battery was not taking the charge."""
    output = [f for f in session.of("EvseStatus") if start <= f.t <= t]
    requests = [f["ChargeCurrentRequest"] for f in session.of("EvChargeStatus") if start <= f.t <= t]
    if not output:
        return ""
    peak_voltage = max(f["PresentVoltage"] for f in output)
    return (f"Since charge start ({t - start:.2f} s before): output from {output[0]['PresentVoltage']:g} V up to "
            f"{peak_voltage:g} V, current at most {max(f['PresentCurrent'] for f in output):g} A"
            + (f" against requests up to {max(requests):g} A." if requests else "."))


def _flags(frame: SessionFrame, names: dict[str, str]) -> str:
    return ", ".join(text for name, text in names.items() if frame[name])


def protocol_label(number: int | None) -> str:
    return "unknown" if number is None else f"{number} ({messages.protocol_name(number)})"
