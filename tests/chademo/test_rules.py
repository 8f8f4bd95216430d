"""Each rule against a synthetic session that breaks it, and the compliant session that keeps it."""

from __future__ import annotations

import pytest

import synthetic
from rig.chademo.messages import Side
from rig.chademo.parameters import ChademoParameters
from rig.chademo.rules import RULES, RuleOutcome, check_session
from rig.chademo.session import ContactEdge, DcSample, Session
from synthetic import Signals, both, when


def outcome(session: Session, rule_id: str, params: ChademoParameters | None = None) -> RuleOutcome:
    return next(o for o in check_session(session, params) if o.rule.id == rule_id)


def violated(session: Session, rule_id: str, side: Side, params: ChademoParameters | None = None) -> list:
    """The violations of one rule, asserting there is at least one and that all blame ``side``."""
    result = outcome(session, rule_id, params)
    assert result.verdict == "fail", f"{rule_id} kept: {result}"
    assert {v.side for v in result.violations} == {side}
    assert all(v.evidence for v in result.violations), "every violation quotes what shows it"
    return list(result.violations)


def live_session(edit=None, **kwargs) -> Session:
    """The compliant session as a live recording: contacts, DC samples (matching 0x109), V2H."""
    dc = [DcSample(t / 10, *_dc_at(t / 10)) for t in range(120)]
    return synthetic.session(edit, v2h=True, edges=synthetic.compliant_edges(), dc=dc, **kwargs)


def _dc_at(t: float) -> tuple[float, float]:
    signals = synthetic._state(round(t, 6), v2h=True)[0x109]
    return signals["PresentVoltage"], signals["PresentCurrent"]


# --- keeps -------------------------------------------------------------------------------------

def test_the_compliant_can_only_session_keeps_every_rule_that_applies() -> None:
    outcomes = check_session(synthetic.session())
    assert [o.rule.id for o in outcomes if o.verdict == "fail"] == []
    assert {o.rule.id for o in outcomes if o.verdict == "not applicable"} == {
        "contacts.sequence_timing", "evse.reported_vs_measured", "v2h.discharge_current_limit",
        "v2h.min_discharge_voltage", "v2h.soc_limits"}


def test_the_compliant_live_v2h_session_keeps_every_rule() -> None:
    outcomes = check_session(live_session())
    assert {o.rule.id: o.verdict for o in outcomes} == {rule.id: "pass" for rule in RULES}


def test_rules_needing_live_data_are_not_applicable_rather_than_passing() -> None:
    result = outcome(synthetic.session(), "contacts.sequence_timing")
    assert result.verdict == "not applicable" and "contact signals" in (result.not_applicable or "")
    assert outcome(synthetic.session(), "evse.reported_vs_measured").verdict == "not applicable"
    assert outcome(synthetic.session(v2h=True), "evse.reported_vs_measured").verdict == "not applicable"
    assert (outcome(synthetic.session(), "v2h.soc_limits").not_applicable or "").startswith("not a V2H session")


# --- bus timing --------------------------------------------------------------------------------

def test_cycle_blames_the_sender_of_the_late_message() -> None:
    late_109 = synthetic.session(drop=lambda t, fid: fid == 0x109 and 30 <= round(t * 10) % 40 < 31)
    (violation,) = violated(late_109, "bus.cycle", Side.EVSE)
    assert "0x109" in violation.message and "200 ms" in violation.message
    slow_ev = synthetic.session(drop=lambda t, fid: fid == 0x102 and round(t * 10) % 2 == 1)
    violated(slow_ev, "bus.cycle", Side.EV)


def test_cycle_tolerates_outliers_a_plan_allows() -> None:
    late_109 = synthetic.session(drop=lambda t, fid: fid == 0x109 and round(t * 10) == 60)
    assert outcome(late_109, "bus.cycle").verdict == "fail"
    assert outcome(late_109, "bus.cycle", ChademoParameters(cycle_allowed_outliers=1)).verdict == "pass"


def test_0x109_before_0x108_breaks_message_order() -> None:
    session = synthetic.session(drop=lambda t, fid: fid == 0x108 and t < 1.0)
    (violation,) = violated(session, "evse.message_order", Side.EVSE)
    assert "0x109 sent before 0x108" in violation.message


def test_evse_speaking_before_the_vehicle_breaks_message_order() -> None:
    session = synthetic.session(evse_from_s=0.0, drop=lambda t, fid: fid in synthetic.EV_IDS and t < 0.3)
    assert "before any vehicle frame" in violated(session, "evse.message_order", Side.EVSE)[0].message


def _ev_silent_from(start: float, evse_stops: bool) -> Session:
    def stop_output(t: float, signals: Signals) -> None:
        if evse_stops and t >= start + 1.0:
            signals[0x109].update(PresentCurrent=0, Charging=0, StopControl=1)
    return synthetic.session(stop_output, drop=lambda t, fid: fid in synthetic.EV_IDS and t >= start)


def test_ev_silence_is_the_ev_at_fault_and_must_stop_the_evse() -> None:
    session = _ev_silent_from(6.0, evse_stops=False)
    violated(session, "ev.can_silence", Side.EV)
    (violation,) = violated(session, "evse.stop_on_ev_silence", Side.EVSE)
    assert "still carried 50 A" in violation.message


def test_evse_that_stops_on_ev_silence_keeps_the_rule() -> None:
    assert outcome(_ev_silent_from(6.0, evse_stops=True), "evse.stop_on_ev_silence").verdict == "pass"


# --- start -------------------------------------------------------------------------------------

def test_ev_opening_with_contactors_reported_closed_breaks_start_flags() -> None:
    session = synthetic.session(when(0.0, 0.1, 0x102, ContactorOpen=0))
    assert "102.5.3 = 0" in violated(session, "ev.start_flags", Side.EV)[0].message


def test_ev_requesting_current_with_contactors_open() -> None:
    violated(synthetic.session(when(3.0, 4.0, 0x102, ChargeCurrentRequest=5)), "ev.request_before_contactors",
             Side.EV)


def test_ev_requesting_current_before_d2() -> None:
    edges = synthetic.edges_with(ContactEdge(4.7, "d2", True))
    session = synthetic.session(edges=edges)
    assert "before d2" in violated(session, "ev.request_before_contactors", Side.EV)[0].message


def test_stop_control_cleared_before_charge_start_breaks_evse_start_flags() -> None:
    violated(synthetic.session(when(1.0, 4.6, 0x109, StopControl=0)), "evse.start_flags", Side.EVSE)


def test_charge_start_with_stop_control_still_set_breaks_evse_start_flags() -> None:
    session = synthetic.session(when(4.6, 4.7, 0x109, StopControl=1))
    assert "still set" in violated(session, "evse.start_flags", Side.EVSE)[0].message


def test_target_above_available_voltage_must_not_charge() -> None:
    session = synthetic.session(when(0.0, 99, 0x102, TargetVoltage=550))
    assert "started charging" in violated(session, "evse.compatibility", Side.EVSE)[0].message


def test_target_above_available_voltage_answered_with_109_5_3_keeps_compatibility() -> None:
    def incompatible(t: float, signals: Signals) -> None:
        signals[0x102]["TargetVoltage"] = 550
        if t >= 0.3:
            signals[0x109].update(BatteryIncompatible=1, Charging=0, StopControl=1, PresentCurrent=0)
    assert outcome(synthetic.session(incompatible), "evse.compatibility").verdict == "pass"


def test_target_above_available_voltage_without_109_5_3() -> None:
    def silent_refusal(t: float, signals: Signals) -> None:
        signals[0x102]["TargetVoltage"] = 550
        signals[0x109].update(Charging=0, StopControl=1, PresentCurrent=0)
    assert "never set" in violated(synthetic.session(silent_refusal), "evse.compatibility", Side.EVSE)[0].message


def test_late_charge_start_breaks_the_response_time() -> None:
    session = synthetic.session(when(4.6, 5.5, 0x109, Charging=0, StopControl=1, PresentCurrent=0))
    assert "1.053 s later" in violated(session, "evse.charge_start_response", Side.EVSE)[0].message


def test_insulation_test_without_the_evs_permission() -> None:
    violated(synthetic.session(when(1.0, 3.5, 0x102, ChargingEnabled=0)), "evse.insulation_test_permission",
             Side.EVSE)


def test_late_k_is_the_ev_and_late_d2_the_evse() -> None:
    edges = synthetic.edges_with(ContactEdge(9.0, "k", True))
    assert {v.rule for v in violated(synthetic.session(edges=edges), "contacts.sequence_timing", Side.EV)} == {
        "ev.k_after_d1"}
    tight = ChademoParameters(k_to_d2_max_s=2.0)
    (violation,) = violated(synthetic.session(edges=synthetic.compliant_edges()), "contacts.sequence_timing",
                            Side.EVSE, tight)
    assert violation.rule == "evse.d2_after_k" and "2.50 s" in violation.message


def test_ev_contactors_closing_late_after_d2() -> None:
    session = synthetic.session(when(4.0, 8.0, 0x102, ContactorOpen=1, ChargeCurrentRequest=0),
                                edges=synthetic.compliant_edges())
    result = outcome(session, "contacts.sequence_timing")
    assert [v.rule for v in result.violations] == ["ev.contactors_after_d2"]


# --- charge ------------------------------------------------------------------------------------

def test_current_overshoot_of_10_a_for_5_s_breaks_tracking() -> None:
    session = synthetic.session(when(5.0, 10.1, 0x109, PresentCurrent=65))
    assert "exceeded" in violated(session, "evse.current_tracking", Side.EVSE)[0].message


def test_current_overshoot_below_the_deviation_keeps_tracking() -> None:
    assert outcome(synthetic.session(when(5.0, 10.1, 0x109, PresentCurrent=58)), "evse.current_tracking"
                   ).verdict == "pass"
    short = synthetic.session(when(5.0, 8.0, 0x109, PresentCurrent=65))
    assert outcome(short, "evse.current_tracking").verdict == "pass"


def test_output_above_the_target_voltage() -> None:
    violated(synthetic.session(when(6.0, 6.5, 0x109, PresentVoltage=395)), "evse.output_voltage_limit", Side.EVSE)


def test_reported_voltage_far_from_the_measurement() -> None:
    dc = [DcSample(t / 10, 300.0 if 5.0 <= t / 10 < 11.0 else _dc_at(t / 10)[0], _dc_at(t / 10)[1])
          for t in range(120)]
    session = synthetic.session(v2h=True, edges=synthetic.compliant_edges(), dc=dc)
    assert "voltage" in violated(session, "evse.reported_vs_measured", Side.EVSE)[0].message


# --- stop --------------------------------------------------------------------------------------

@pytest.mark.parametrize("flag", ["FaultBatteryOvervoltage", "FaultBatteryUndervoltage", "FaultCurrentDeviation",
                                  "FaultHighBatteryTemperature", "FaultVoltageDeviation", "ShiftNotPark",
                                  "ChargingSystemFault"])
def test_ev_fault_not_answered_by_a_stop(flag: str) -> None:
    session = synthetic.session(when(7.0, 99, 0x102, **{flag: 1}))
    (violation,) = violated(session, "evse.stop_on_ev_request", Side.EVSE)
    assert "still carried 50 A" in violation.message


def test_ev_fault_answered_within_half_a_second_keeps_the_rule() -> None:
    def fault_and_stop(t: float, signals: Signals) -> None:
        if t >= 7.0:
            signals[0x102]["ShiftNotPark"] = 1
        if t >= 7.4:
            signals[0x109].update(PresentCurrent=0)
    assert outcome(synthetic.session(fault_and_stop), "evse.stop_on_ev_request").verdict == "pass"


def test_k_off_not_answered_by_a_stop() -> None:
    edges = synthetic.edges_with(ContactEdge(8.0, "k", False))
    session = synthetic.session(edges=edges)
    assert "k off" in violated(session, "evse.stop_on_ev_request", Side.EVSE)[0].message


def test_evse_fault_without_stop_control_or_stop() -> None:
    session = synthetic.session(when(7.0, 9.0, 0x109, Malfunction=1))
    messages = [v.message for v in violated(session, "evse.fault_stop", Side.EVSE)]
    assert any("without stop control" in m for m in messages) and any("still carried" in m for m in messages)


def test_ev_still_requesting_after_the_stop() -> None:
    violated(synthetic.session(when(10.0, 11.0, 0x102, ChargeCurrentRequest=20)), "ev.request_after_stop", Side.EV)


def test_ev_opening_its_contactors_under_load() -> None:
    violated(synthetic.session(when(9.5, 99, 0x102, ContactorOpen=1)), "ev.contactors_open_under_load", Side.EV)


def test_charging_flag_cleared_with_current_flowing() -> None:
    session = synthetic.session(when(10.0, 10.1, 0x109, Charging=0, StopControl=1, PresentCurrent=50))
    assert "still flowing" in violated(session, "evse.normal_stop_sequence", Side.EVSE)[0].message


def test_output_not_decaying_after_the_ev_opens_its_contactors() -> None:
    session = synthetic.session(when(10.6, 99, 0x109, PresentVoltage=350, ConnectorLocked=1), end_s=13.0)
    messages = [v.message for v in violated(session, "evse.normal_stop_sequence", Side.EVSE)]
    assert any("25% of 350 V" in m for m in messages) and any("limit 10 V" in m for m in messages)


def test_d1_off_before_d2() -> None:
    edges = synthetic.edges_with(ContactEdge(11.3, "d1", False))
    assert "d1 went off before d2" in violated(synthetic.session(edges=edges), "evse.normal_stop_sequence",
                                               Side.EVSE)[0].message


def test_unlock_before_welding_detection() -> None:
    session = synthetic.session(when(10.3, 99, 0x109, ConnectorLocked=0))
    assert "welding detection" in violated(session, "evse.unlock_before_welding_detection", Side.EVSE)[0].message


def test_unlock_with_voltage_on_the_output() -> None:
    session = synthetic.session(when(10.6, 99, 0x109, PresentVoltage=60))
    assert "60 V on the output" in violated(session, "evse.unlock_before_welding_detection", Side.EVSE)[0].message


# --- V2H ---------------------------------------------------------------------------------------

def _discharging(**overrides: float):
    def edit(t: float, signals: Signals) -> None:
        if 4.8 <= t < 10.0:
            signals[0x208]["PresentDischargeCurrent"] = overrides.get("current", 20)
            signals[0x102]["ChargedRate"] = overrides.get("soc", 60)
            signals[0x200]["MinDischargeVoltage"] = overrides.get("min_voltage", 300)
    return edit


def test_discharge_within_the_evs_limits_keeps_the_v2h_rules() -> None:
    session = synthetic.session(_discharging(), v2h=True)
    assert summary_phases(session)[4:6] == ["charging", "discharging"]
    for rule in ("v2h.discharge_current_limit", "v2h.min_discharge_voltage", "v2h.soc_limits"):
        assert outcome(session, rule).verdict == "pass"


def summary_phases(session: Session) -> list[str]:
    from rig.chademo.reconstruction import summarise
    return [phase.name for phase in summarise(session).phases]


def test_discharge_current_above_the_evs_limit() -> None:
    session = synthetic.session(_discharging(current=45), v2h=True)
    assert "above the EV's limit 30 A" in violated(session, "v2h.discharge_current_limit", Side.EVSE)[0].message


def test_discharge_below_the_minimum_discharge_voltage() -> None:
    violated(synthetic.session(_discharging(min_voltage=360), v2h=True), "v2h.min_discharge_voltage", Side.EVSE)


def test_discharge_below_the_minimum_discharge_level() -> None:
    session = synthetic.session(_discharging(soc=10), v2h=True)
    assert "below the EV's minimum discharge level" in violated(session, "v2h.soc_limits", Side.EVSE)[0].message


def test_charge_above_the_maximum_charge_level() -> None:
    session = synthetic.session(when(0.0, 99, 0x102, ChargedRate=95), v2h=True)
    assert "above the EV's maximum charge level" in violated(session, "v2h.soc_limits", Side.EVSE)[0].message


def test_every_rule_has_a_breaking_test_here() -> None:
    import inspect
    import sys
    source = inspect.getsource(sys.modules[__name__])
    assert [rule.id for rule in RULES if f'"{rule.id}"' not in source] == []


def test_parameters_say_which_defaults_are_unconfirmed() -> None:
    unconfirmed = ChademoParameters.unconfirmed()
    assert {"can_silence_s", "stop_current_within_s", "d1_to_k_max_s", "k_to_d2_max_s",
            "d2_to_ev_contactors_closed_max_s", "charge_start_response_s"} <= set(unconfirmed)
    assert "cycle_period_s" not in unconfirmed
    with pytest.raises(ValueError):
        ChademoParameters(can_silence_s=-1)
    with pytest.raises(ValueError):
        ChademoParameters(bogus=1)  # type: ignore[call-arg]


def test_a_v2h_stop_reported_by_the_0x208_sent_after_the_0x109_is_in_time() -> None:
    """The charger's 0x208 follows its 0x109 within the cycle: the stop is seen at the 0x208 that reports it."""
    session = synthetic.session(both(when(0, 12, 0x109, PresentCurrent=0),
                                     when(5.0, 8.4, 0x208, PresentDischargeCurrent=20),  # 0 A from 8.456 s
                                     when(8.0, 12, 0x102, FaultBatteryOvervoltage=1)), v2h=True)
    outcome = next(o for o in check_session(session) if o.rule.id == "evse.stop_on_ev_request")
    assert outcome.verdict == "pass", [v.message for v in outcome.violations]
    late = synthetic.session(both(when(0, 12, 0x109, PresentCurrent=0),  # (0.5 s and one report cycle: 8.612 s)
                                  when(5.0, 8.7, 0x208, PresentDischargeCurrent=20),  # 0 A from 8.756 s
                                  when(8.0, 12, 0x102, FaultBatteryOvervoltage=1)), v2h=True)
    assert "still carried 20 A" in violated(late, "evse.stop_on_ev_request", Side.EVSE)[0].message
