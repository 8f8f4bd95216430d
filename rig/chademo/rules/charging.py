"""During the charge: the output follows the request and stays within the voltage limits."""

from __future__ import annotations

from rig.chademo.messages import Side
from rig.chademo.parameters import ChademoParameters
from rig.chademo.reconstruction import SessionSummary
from rig.chademo.rules.findings import NotApplicable, Violation
from rig.chademo.rules.timeline import episodes, evse_output, last_before
from rig.chademo.session import Session, SessionFrame


def current_target_a(session: Session, frame: SessionFrame) -> float | None:
    """min(EV request, EVSE available current) in force at a 0x109 frame."""
    request = session.latest("EvChargeStatus", frame.t)
    capability = session.latest("EvseCapability", frame.t)
    if request is None:
        return None
    available = capability["AvailableOutputCurrent"] if capability is not None else float("inf")
    return min(request["ChargeCurrentRequest"], available)


def evse_current_tracking(session: Session, summary: SessionSummary, params: ChademoParameters) -> list[Violation]:
    """Output current above min(request, available) by the deviation limit for the deviation time
    (the EV's own current-deviation criterion). Less than requested is not judged: a charger
    may be power-limited."""
    def overshoot(frame: SessionFrame) -> bool:
        target = current_target_a(session, frame)
        return target is not None and frame["PresentCurrent"] - target >= params.current_deviation_a

    found = episodes(evse_output(session), overshoot, params.current_deviation_s)
    return [Violation("evse.current_tracking", Side.EVSE, e.first.t,
                      f"output current {e.first['PresentCurrent']:g} A exceeded min(request, available) = "
                      f"{current_target_a(session, e.first):g} A by >= {params.current_deviation_a:g} A for "
                      f"{e.duration_s:.1f} s (limit {params.current_deviation_s:g} s)",
                      tuple(f for f in (session.latest("EvChargeStatus", e.first.t), e.first, e.last)
                            if f is not None))
            for e in found]


def evse_output_voltage_limit(session: Session, summary: SessionSummary,
                              params: ChademoParameters) -> list[Violation]:
    """Output voltage never above the EV's target voltage (plus tolerance) nor the EVSE's own
    threshold voltage (0x108 bytes 4-5), once the EV's contactors are closed."""
    for frame in evse_output(session):
        request = session.latest("EvChargeStatus", frame.t)
        capability = session.latest("EvseCapability", frame.t)
        if request is None or request["ContactorOpen"]:
            continue
        voltage = frame["PresentVoltage"]
        if voltage > request["TargetVoltage"] + params.output_above_target_tolerance_v:
            return [Violation("evse.output_voltage_limit", Side.EVSE, frame.t,
                              f"output {voltage:g} V above the EV's target voltage {request['TargetVoltage']:g} V "
                              f"(tolerance {params.output_above_target_tolerance_v:g} V)", (request, frame))]
        if capability is not None and voltage > capability["ThresholdVoltage"]:
            return [Violation("evse.output_voltage_limit", Side.EVSE, frame.t,
                              f"output {voltage:g} V above the EVSE's own threshold voltage "
                              f"{capability['ThresholdVoltage']:g} V", (capability, frame))]
    return []


def evse_reports_match_measurement(session: Session, summary: SessionSummary,
                                   params: ChademoParameters) -> list[Violation]:
    """The present voltage and current the EVSE reports (0x109) agree with the rig's own DC
    measurement within tolerance, except for shorter than the deviation time."""
    if session.dc is None:
        raise NotApplicable("needs DC measurements, recorded live only")
    violations = []
    for quantity, tolerance, signal in (("voltage", params.measurement_voltage_tolerance_v, "PresentVoltage"),
                                        ("current", params.measurement_current_tolerance_a, "PresentCurrent")):
        def off(frame: SessionFrame, signal: str = signal, tolerance: float = tolerance,
                quantity: str = quantity) -> bool:
            sample = last_before(session.dc or (), frame.t)
            if sample is None:
                return False
            measured = sample.voltage_v if quantity == "voltage" else max(sample.current_a, 0.0)
            return abs(frame[signal] - measured) > tolerance

        for e in episodes(evse_output(session), off, params.measurement_deviation_s):
            sample = last_before(session.dc, e.first.t)
            violations.append(Violation("evse.reported_vs_measured", Side.EVSE, e.first.t,
                                        f"reported {quantity} {e.first[signal]:g} differs from the measured one by "
                                        f"more than {tolerance:g} for {e.duration_s:.1f} s",
                                        tuple(x for x in (e.first, sample) if x is not None)))
    return violations
