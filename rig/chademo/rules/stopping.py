"""Stopping: the EVSE answers every stop request in time, in the right order, and waits for the
EV's welding detection before it unlocks; the EV stops asking for current and opens its
contactors only once the current is down."""

from __future__ import annotations

from typing import Callable

from rig.chademo.messages import Side
from rig.chademo.parameters import ChademoParameters
from rig.chademo.reconstruction import EVSE_STOP_BITS, SessionSummary, stop_causes
from rig.chademo.rules.findings import Violation
from rig.chademo.rules.timeline import (reported_stop_within_s,
                                       answered_within, current_reports, evse_output, first_from, last_before,
                                        output_current_a, stopped)
from rig.chademo.session import Session, SessionFrame


def _voltage_at_most(ceiling_v: float) -> Callable[[SessionFrame], bool]:
    return lambda frame: frame["PresentVoltage"] <= ceiling_v


def evse_stops_on_ev_request(session: Session, summary: SessionSummary,
                             params: ChademoParameters) -> list[Violation]:
    """Every stop the EV asks for (a 102.4 fault bit, shift out of P, a charging-system fault,
    102.5.0 = 0, a normal stop request, k off, unplug) brings the output to the stop current
    within the limit. CAN silence is judged by its own rule."""
    violations = []
    reports = current_reports(session)
    for cause in stop_causes(session, params):
        if cause.side is not Side.EV or cause.reasons[0].startswith("the EV's CAN frames stopped"):
            continue
        answered, evidence = answered_within(reports, cause.t, reported_stop_within_s(params), stopped(session, params))
        if not answered and evidence is not None:
            violations.append(Violation(
                "evse.stop_on_ev_request", Side.EVSE, cause.t + reported_stop_within_s(params),
                f"the EV asked to stop ({', '.join(cause.reasons)}); {reported_stop_within_s(params):g} s later (the stop time and one report cycle) the "
                f"EVSE still carried {output_current_a(session, evidence):g} A (limit {params.stop_current_a:g} A)",
                (*cause.evidence, evidence)))
    return violations


def evse_fault_stop(session: Session, summary: SessionSummary, params: ChademoParameters) -> list[Violation]:
    """A fault the EVSE flags (109.5.1, 109.5.3, 109.5.4) comes with stop control (109.5.5) in the
    same frame, and the output falls to the stop current within the stop time; when the
    contacts are recorded, d2 drops before d1."""
    violations = []
    output, reports = evse_output(session), current_reports(session)
    for previous, frame in zip([None, *output], output):
        rose = [n for n in EVSE_STOP_BITS if frame[n] and (previous is None or not previous[n])]
        if not rose:
            continue
        if not frame["StopControl"]:
            violations.append(Violation("evse.fault_stop", Side.EVSE, frame.t,
                                        f"{', '.join(EVSE_STOP_BITS[n] for n in rose)} flagged without stop control "
                                        "(109.5.5 = 0)", (frame,)))
        answered, evidence = answered_within(reports, frame.t, reported_stop_within_s(params), stopped(session, params))
        if not answered and evidence is not None:
            violations.append(Violation("evse.fault_stop", Side.EVSE, frame.t + reported_stop_within_s(params),
                                        f"after flagging {', '.join(EVSE_STOP_BITS[n] for n in rose)} the EVSE still "
                                        f"carried {output_current_a(session, evidence):g} A {reported_stop_within_s(params):g} s "
                                        "later", (frame, evidence)))
    return violations


def ev_request_after_stop(session: Session, summary: SessionSummary, params: ChademoParameters) -> list[Violation]:
    """Once the session is stopping, the EV's current request falls to 0 within the limit."""
    if summary.ending is None:
        return []
    deadline = summary.ending.cause.t + params.ev_request_zero_after_stop_s
    late = first_from(session.of("EvChargeStatus"), deadline, lambda f: f["ChargeCurrentRequest"] > 0)
    if late is None:
        return []
    return [Violation("ev.request_after_stop", Side.EV, late.t,
                      f"the EV still requested {late['ChargeCurrentRequest']:g} A {late.t - summary.ending.cause.t:.2f} s "
                      f"after the stop began (limit {params.ev_request_zero_after_stop_s:g} s)",
                      (*summary.ending.cause.evidence[-1:], late))]


def _contactor_openings(session: Session) -> list[tuple[SessionFrame, SessionFrame]]:
    """(previous, frame) where the EV's 102.5.3 goes 0 -> 1: its contactors opened."""
    ev = session.of("EvChargeStatus")
    return [(a, b) for a, b in zip(ev, ev[1:]) if not a["ContactorOpen"] and b["ContactorOpen"]]


def ev_contactors_open_under_load(session: Session, summary: SessionSummary,
                                  params: ChademoParameters) -> list[Violation]:
    """The EV opens its contactors only once the current is down to the stop current."""
    for previous, opened in _contactor_openings(session):
        status = last_before(evse_output(session), opened.t)
        if status is not None and status["PresentCurrent"] > params.stop_current_a:
            return [Violation("ev.contactors_open_under_load", Side.EV, opened.t,
                              f"the EV opened its contactors (102.5.3 = 1) while the EVSE reported "
                              f"{status['PresentCurrent']:g} A", (previous, status, opened))]
    return []


def evse_normal_stop_sequence(session: Session, summary: SessionSummary,
                              params: ChademoParameters) -> list[Violation]:
    """109.5.0 is cleared only with the current down; after the EV opens its contactors the
    output falls to a quarter within 1 s and to no voltage within 2 s; d2 goes off before d1."""
    violations = []
    output = evse_output(session)
    for previous, frame in zip(output, output[1:]):
        if previous["Charging"] and not frame["Charging"] and frame["PresentCurrent"] > params.stop_current_a:
            violations.append(Violation("evse.normal_stop_sequence", Side.EVSE, frame.t,
                                        f"charging flag cleared (109.5.0 = 0) with {frame['PresentCurrent']:g} A "
                                        "still flowing", (previous, frame)))
    for _, opened in _contactor_openings(session):
        at_open = last_before(output, opened.t)
        if at_open is None:
            continue
        quarter = max(params.contactor_open_output_fraction * at_open["PresentVoltage"], params.no_voltage_v)
        checks = [(params.contactor_open_fraction_within_s, quarter,
                   f"{params.contactor_open_output_fraction:.0%} of {at_open['PresentVoltage']:g} V"),
                  (params.contactor_open_no_voltage_within_s, params.no_voltage_v, f"{params.no_voltage_v:g} V")]
        for within, ceiling, label in checks:
            answered, evidence = answered_within(output, opened.t, within, _voltage_at_most(ceiling))
            if not answered and evidence is not None:
                violations.append(Violation("evse.normal_stop_sequence", Side.EVSE, opened.t + within,
                                            f"{within:g} s after the EV opened its contactors the output was "
                                            f"{evidence['PresentVoltage']:g} V (limit {label})", (opened, evidence)))
    if session.edges is not None:
        d1_off = next((e for e in session.edges_of("d1") if not e.value), None)
        d2_on = next((e for e in session.edges_of("d2") if e.value), None)
        d2_off = next((e for e in session.edges_of("d2") if not e.value), None)
        d2_was_on = d2_on is not None and (d1_off is None or d2_on.t < d1_off.t)
        if d1_off is not None and d2_was_on and (d2_off is None or d1_off.t - d2_off.t < params.d2_before_d1_min_s):
            violations.append(Violation("evse.normal_stop_sequence", Side.EVSE, d1_off.t,
                                        "d1 went off before d2 (d2 must drop first)",
                                        tuple(e for e in (d2_off, d1_off) if e is not None)))
    return violations


def evse_unlock_after_welding_detection(session: Session, summary: SessionSummary,
                                        params: ChademoParameters) -> list[Violation]:
    """The EVSE unlocks (109.5.2 = 0) only after the EV reported its welding detection done
    (102.5.3 = 1 again, when its contactors had closed) and with the output at no voltage.

    An EV that has fallen silent cannot report it: then only the no-voltage condition is judged."""
    output = evse_output(session)
    contactors_closed = first_from(session.of("EvChargeStatus"), session.start, lambda f: not f["ContactorOpen"])
    for previous, frame in zip(output, output[1:]):
        if not (previous["ConnectorLocked"] and not frame["ConnectorLocked"]):
            continue
        request = session.latest("EvChargeStatus", frame.t)
        ev_silent = request is not None and frame.t - request.t > params.can_silence_s  # it cannot report
        if contactors_closed is not None and contactors_closed.t < frame.t and request is not None \
                and not request["ContactorOpen"] and not ev_silent:
            return [Violation("evse.unlock_before_welding_detection", Side.EVSE, frame.t,
                              "the EVSE unlocked (109.5.2 = 0) before the EV reported its welding detection "
                              "done (102.5.3 still 0)", (request, previous, frame))]
        if previous["PresentVoltage"] > params.no_voltage_v or frame["PresentVoltage"] > params.no_voltage_v:
            return [Violation("evse.unlock_before_welding_detection", Side.EVSE, frame.t,
                              f"the EVSE unlocked with {max(previous['PresentVoltage'], frame['PresentVoltage']):g} V "
                              f"on the output (limit {params.no_voltage_v:g} V)", (previous, frame))]
    return []

