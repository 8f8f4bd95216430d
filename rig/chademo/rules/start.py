"""The start of a session: flags in order, compatibility, insulation test, contact-signal timing."""

from __future__ import annotations

import math

from rig.chademo.messages import Side
from rig.chademo.parameters import ChademoParameters
from rig.chademo.reconstruction import SessionSummary
from rig.chademo.rules.findings import NotApplicable, Violation
from rig.chademo.rules.timeline import first_from, opening_recorded
from rig.chademo.session import ContactEdge, ContactName, Session


def ev_start_flags(session: Session, summary: SessionSummary, params: ChademoParameters) -> list[Violation]:
    """The EV opens with its contactors open (102.5.3 = 1) and no current request (not judged
    when an earlier 0x102 may be missing: a damaged line before the first one read)."""
    ev = session.of("EvChargeStatus")
    if not ev or not opening_recorded(summary) or session.lost_between(-math.inf, ev[0].t, (ev[0].frame_id,)):
        return []
    first = ev[0]
    problems = []
    if not first["ContactorOpen"]:
        problems.append("102.5.3 = 0 (contactors reported closed)")
    if first["ChargeCurrentRequest"] > 0:
        problems.append(f"a current request of {first['ChargeCurrentRequest']:g} A")
    if not problems:
        return []
    return [Violation("ev.start_flags", Side.EV, first.t, "the EV's first 0x102 has " + " and ".join(problems)
                      + "; it must start with 102.5.3 = 1 and request 0", (first,))]


def ev_request_before_contactors(session: Session, summary: SessionSummary,
                                 params: ChademoParameters) -> list[Violation]:
    """The EV requests current only once its contactors are closed (102.5.3 = 0) and, when the
    contacts are recorded, after d2 is on."""
    charge_start = summary.charge_start
    for frame in session.of("EvChargeStatus"):
        if charge_start is not None and frame.t >= charge_start:
            break
        if frame["ChargeCurrentRequest"] <= 0:
            continue
        if frame["ContactorOpen"]:
            return [Violation("ev.request_before_contactors", Side.EV, frame.t,
                              f"the EV requested {frame['ChargeCurrentRequest']:g} A with its contactors open "
                              "(102.5.3 = 1), before charge start", (frame,))]
        if session.edges is not None and not session.contact_at("d2", frame.t):
            return [Violation("ev.request_before_contactors", Side.EV, frame.t,
                              f"the EV requested {frame['ChargeCurrentRequest']:g} A before d2 was on", (frame,))]
    return []


def evse_start_flags(session: Session, summary: SessionSummary, params: ChademoParameters) -> list[Violation]:
    """109.5.5 = 1 and 109.5.0 = 0 from the EVSE's first 0x109 until charge start; at charge
    start both change in the same frame (109.5.0 -> 1 exactly when 109.5.5 -> 0)."""
    evse = session.of("EvseStatus")
    if not evse or not opening_recorded(summary):
        return []
    violations = []
    for previous, frame in zip([None, *evse], evse):
        if frame["Charging"] and (previous is None or not previous["Charging"]):
            if frame["StopControl"]:
                violations.append(Violation("evse.start_flags", Side.EVSE, frame.t,
                                            "charge started (109.5.0 = 1) with stop control still set (109.5.5 = 1)",
                                            tuple(f for f in (previous, frame) if f is not None)))
            break
        if not frame["StopControl"]:
            violations.append(Violation("evse.start_flags", Side.EVSE, frame.t,
                                        "stop control (109.5.5) is 0 before charge start: it must be 1 from the "
                                        "first 0x109 until the charge starts",
                                        tuple(f for f in (previous, frame) if f is not None)))
            break
    return violations


def evse_compatibility(session: Session, summary: SessionSummary, params: ChademoParameters) -> list[Violation]:
    """A target voltage above the EVSE's available output voltage must give 109.5.3 and no charge."""
    for request in session.of("EvChargeStatus"):
        capability = session.latest("EvseCapability", request.t)
        if capability is None or request["TargetVoltage"] <= capability["AvailableOutputVoltage"]:
            continue
        flagged = first_from(session.of("EvseStatus"), request.t, lambda f: bool(f["BatteryIncompatible"]))
        charged = first_from(session.of("EvseStatus"), request.t,
                             lambda f: bool(f["Charging"]) or f["PresentCurrent"] > params.stop_current_a)
        what = (f"the EV's target voltage {request['TargetVoltage']:g} V is above the EVSE's available "
                f"{capability['AvailableOutputVoltage']:g} V")
        if charged is not None and (flagged is None or charged.t <= flagged.t):
            return [Violation("evse.compatibility", Side.EVSE, charged.t,
                              what + ", yet the EVSE started charging", (request, capability, charged))]
        if flagged is None:
            return [Violation("evse.compatibility", Side.EVSE, request.t,
                              what + ", but the EVSE never set battery incompatibility (109.5.3)",
                              (request, capability))]
        return []
    return []


def evse_charge_start_response(session: Session, summary: SessionSummary,
                               params: ChademoParameters) -> list[Violation]:
    """Once the EV (contactors closed) requests current, the EVSE starts: 109.5.0 = 1 within the limit."""
    first_request = next((f for f in session.of("EvChargeStatus")
                          if f["ChargeCurrentRequest"] > 0 and not f["ContactorOpen"]), None)
    if first_request is None or not opening_recorded(summary):
        return []
    if summary.ending is not None and summary.ending.cause.t <= first_request.t + params.charge_start_response_s:
        return []
    started = first_from(session.of("EvseStatus"), first_request.t, lambda f: bool(f["Charging"]))
    deadline = first_request.t + params.charge_start_response_s
    if started is not None and started.t <= deadline:
        return []
    late = "never" if started is None else f"{started.t - first_request.t:.3f} s later"
    return [Violation("evse.charge_start_response", Side.EVSE, deadline,
                      f"the EV requested {first_request['ChargeCurrentRequest']:g} A with contactors closed; the EVSE "
                      f"set 109.5.0 {late} (limit {params.charge_start_response_s:g} s)",
                      tuple(f for f in (first_request, started) if f is not None))]


def evse_insulation_test_permission(session: Session, summary: SessionSummary,
                                    params: ChademoParameters) -> list[Violation]:
    """No voltage on the output (insulation test) while the EV withholds permission (102.5.0 = 0)
    and its contactors are open: the voltage then can only come from the EVSE."""
    charge_start = summary.charge_start
    for frame in session.of("EvseStatus"):
        if charge_start is not None and frame.t >= charge_start:
            break
        if summary.ending is not None and frame.t >= summary.ending.cause.t:
            break
        request = session.latest("EvChargeStatus", frame.t)
        if (request is not None and request["ContactorOpen"] and not request["ChargingEnabled"]
                and frame["PresentVoltage"] > params.no_voltage_v):
            return [Violation("evse.insulation_test_permission", Side.EVSE, frame.t,
                              f"the EVSE put {frame['PresentVoltage']:g} V on the output while the EV's permission "
                              "was 0 (102.5.0 = 0)", (request, frame))]
    return []


def _edge(session: Session, name: ContactName, value: bool) -> ContactEdge | None:
    return next((edge for edge in session.edges_of(name) if edge.value is value), None)


def _require_edges(session: Session) -> None:
    if session.edges is None:
        raise NotApplicable("needs the contact signals (d1, d2, k), recorded live only")


def contact_sequence_timing(session: Session, summary: SessionSummary,
                            params: ChademoParameters) -> list[Violation]:
    """d1 -> k (EV, within d1_to_k_max_s), k -> d2 (EVSE, within k_to_d2_max_s), d2 -> EV
    contactors closed (EV clears 102.5.3, within d2_to_ev_contactors_closed_max_s)."""
    _require_edges(session)
    violations = []
    d1, k, d2 = _edge(session, "d1", True), _edge(session, "k", True), _edge(session, "d2", True)
    stop_t = summary.ending.cause.t if summary.ending else session.end
    steps = [("ev.k_after_d1", Side.EV, d1, k, params.d1_to_k_max_s, "k on after d1 on"),
             ("evse.d2_after_k", Side.EVSE, k, d2, params.k_to_d2_max_s, "d2 on after k on")]
    for rule, side, before, after, limit, what in steps:
        if before is None:
            continue
        if (after is None and before.t + limit < stop_t) or (after is not None and after.t - before.t > limit):
            late = "never" if after is None else f"{after.t - before.t:.2f} s"
            violations.append(Violation(rule, side, before.t + limit, f"{what}: {late} (limit {limit:g} s)",
                                        tuple(e for e in (before, after) if e is not None)))
    if d2 is not None:
        closed = first_from(session.of("EvChargeStatus"), d2.t, lambda f: not f["ContactorOpen"])
        limit = params.d2_to_ev_contactors_closed_max_s
        if (closed is None and d2.t + limit < stop_t) or (closed is not None and closed.t - d2.t > limit):
            late = "never" if closed is None else f"{closed.t - d2.t:.2f} s"
            violations.append(Violation("ev.contactors_after_d2", Side.EV, d2.t + limit,
                                        f"EV contactors closed (102.5.3 = 0) after d2 on: {late} (limit {limit:g} s)",
                                        tuple(e for e in (d2, closed) if e is not None)))
    return violations
