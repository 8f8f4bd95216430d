"""The CHAdeMO compliance rules, each a function over a Session, and :func:`check_session`.

The same rules judge a session the live suite recorded and one read from a trace file. A rule
returns the violations it finds (the side at fault, the time, a message, the frames or edges
that show it) or raises :class:`NotApplicable` when the session lacks what it needs (contact
edges and DC measurements exist only in live recordings). All limits come from
:class:`~rig.chademo.parameters.ChademoParameters`.

The list below is the whole rule set, in the order a report shows it.
"""

from __future__ import annotations

from rig.chademo.parameters import ChademoParameters
from rig.chademo.reconstruction import SessionSummary, summarise
from rig.chademo.rules import charging, start, stopping, timing, v2h
from rig.chademo.rules.findings import NotApplicable, Rule, RuleOutcome, Violation
from rig.chademo.session import Session

RULES: tuple[Rule, ...] = (
    Rule("bus.cycle", "every cyclic message every 100 ms +- 10 ms (sender at fault)", timing.message_cycle),
    Rule("evse.message_order", "the EVSE answers after the EV's frames, 0x108 before 0x109", timing.message_order),
    Rule("ev.can_silence", "the EV keeps sending until the session has ended", timing.ev_can_silence),
    Rule("evse.stop_on_ev_silence", "CAN silence from the EV is answered by a stop", timing.evse_stops_on_ev_silence),
    Rule("ev.start_flags", "the EV starts with contactors open (102.5.3 = 1) and request 0", start.ev_start_flags),
    Rule("ev.request_before_contactors", "no current request before the EV's contactors are closed (and d2 on)",
         start.ev_request_before_contactors),
    Rule("evse.start_flags", "109.5.5 = 1 until charge start, cleared exactly when 109.5.0 = 1",
         start.evse_start_flags),
    Rule("evse.compatibility", "target voltage above available voltage gives 109.5.3 and no charge",
         start.evse_compatibility),
    Rule("evse.charge_start_response", "109.5.0 = 1 soon after the EV's first current request",
         start.evse_charge_start_response),
    Rule("evse.insulation_test_permission", "no insulation test while the EV's permission 102.5.0 = 0",
         start.evse_insulation_test_permission),
    Rule("contacts.sequence_timing", "d1 -> k -> d2 -> EV contactors closed within their limits",
         start.contact_sequence_timing),
    Rule("evse.current_tracking", "output current not above min(request, available) beyond the deviation",
         charging.evse_current_tracking),
    Rule("evse.output_voltage_limit", "output voltage within the EV's target and the EVSE's threshold",
         charging.evse_output_voltage_limit),
    Rule("evse.reported_vs_measured", "0x109 present voltage and current agree with the DC measurement",
         charging.evse_reports_match_measurement),
    Rule("evse.stop_on_ev_request", "EV faults, shift out of P, 102.5.0 = 0, k off: output stopped in time",
         stopping.evse_stops_on_ev_request),
    Rule("evse.fault_stop", "an EVSE fault flag comes with stop control and a stop in time", stopping.evse_fault_stop),
    Rule("ev.request_after_stop", "the EV's request falls to 0 once the session stops", stopping.ev_request_after_stop),
    Rule("ev.contactors_open_under_load", "the EV opens its contactors only with the current down",
         stopping.ev_contactors_open_under_load),
    Rule("evse.normal_stop_sequence", "current down before 109.5.0 = 0, output decay after the EV opens, d2 before d1",
         stopping.evse_normal_stop_sequence),
    Rule("evse.unlock_before_welding_detection", "unlock only after the EV's welding detection and at no voltage",
         stopping.evse_unlock_after_welding_detection),
    Rule("v2h.discharge_current_limit", "discharge current within the EV's 0x200 limit", v2h.discharge_current_limit),
    Rule("v2h.min_discharge_voltage", "no discharge below the EV's minimum discharge voltage",
         v2h.min_discharge_voltage),
    Rule("v2h.soc_limits", "no discharge below the minimum discharge level, no charge above the maximum",
         v2h.soc_limits),
)


def check_session(session: Session, params: ChademoParameters | None = None,
                  summary: SessionSummary | None = None) -> list[RuleOutcome]:
    """Apply every rule to a session; one outcome per rule, in the order of :data:`RULES`."""
    params = params or ChademoParameters()
    summary = summary or summarise(session, params)
    outcomes = []
    for rule in RULES:
        try:
            outcomes.append(RuleOutcome(rule, tuple(rule.check(session, summary, params))))
        except NotApplicable as why:
            outcomes.append(RuleOutcome(rule, not_applicable=str(why)))
    return outcomes


__all__ = ["RULES", "ChademoParameters", "NotApplicable", "Rule", "RuleOutcome", "Violation", "check_session"]
