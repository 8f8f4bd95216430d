"""How a CHAdeMO case is measured: one session played by the rig's vehicle, recorded and judged.

The procedure reads like the test: supply the charger at the nominal grid,
plug in the vehicle (its battery at its open-circuit voltage behind an open
contactor), let it run its sequence (charge or discharge, with the case's
misbehaviour injected where the case says) until it has ended, unplug,
then judge the recording with the compliance rules and measure what the
case's limits ask: findings against the charger, its reaction time to what
was injected, the current it delivered against what was asked, energy each
way, the protocol agreed. The recording itself is kept as evidence: a
timeline trace (for the plot), the CAN log (candump ``-L``, which
``rig chademo check`` reads again) and the findings.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pandas as pd

from rig.chademo.messages import Side
from rig.chademo.reconstruction import summarise
from rig.chademo.rules import check_session
from rig.chademo.session import DcSample, Session, SessionFrame
from rig.chademo.traces import TraceFrame, write_candump_log
from rig.chademo.vehicle import CYCLE_S, STOPPED_A, Injection, Recording, VehicleEmulator
from rig.clock import wait_until
from rig.lab import Lab
from rig.results import Uncertainty
from rig.suite import PlotRequest, Procedure, ProcedureOutcome
from rig.suites.chademo.plan import Plan, SessionCase
from rig.uncertainty import expanded, rectangular

SUPPLY_SETTLE_S = 1.0
"""The charger's AC supply on this long before the vehicle is plugged in (it boots)."""


def session(lab: Lab, plan: Plan, case: SessionCase) -> ProcedureOutcome:
    """Play one session against the charger and judge it."""
    p = case.params
    profile = plan.vehicle(case.vehicle)
    with lab.steps.step(f"Supply the charger: grid {plan.grid.voltage_v:g} V {plan.grid.frequency_hz:g} Hz"):
        lab.grid.apply(plan.grid.voltage_v, plan.grid.frequency_hz)
        lab.grid.output(True)
        lab.clock.sleep(SUPPLY_SETTLE_S)
    injection = None
    if p.injection is not None:
        injection = Injection(p.injection.at, p.injection.action, p.injection.delay_s, p.injection.amount)
    vehicle = VehicleEmulator(profile, lab.vehicle, lab.dio, lab.battery, lab.clock, direction=p.direction,
                              injection=injection, stop_after_s=p.stop_after_s, target_voltage_v=p.target_voltage_v)
    what = f"{p.direction}" + (f", {injection.action} at {injection.at} + {injection.delay_s:g} s" if injection else "")
    with lab.steps.step(f"Plug in vehicle {profile.vehicle} ({what}); let the session run (at most {p.timeout_s:g} s)"):
        vehicle.plug_in()
        try:
            ended = wait_until(lab.clock, lambda: vehicle.ended, timeout_s=p.timeout_s, poll_s=1.0)
        finally:
            vehicle.unplug()
    with lab.steps.step("Judge the recorded session with the CHAdeMO rules"):
        recording = vehicle.recording
        recorded = recording.session()
        summary = summarise(recorded, plan.parameters)
        outcomes = check_session(recorded, plan.parameters, summary)
    evse = [v for outcome in outcomes for v in outcome.violations if v.side.value == "EVSE"]
    ev = [v for outcome in outcomes for v in outcome.violations if v.side.value == "EV"]
    measured, uncertainty = _measure(recorded, recording, ended, len(evse), len(ev), summary.protocol_ev,
                                     summary.protocol_evse)
    findings = [f"charger: {v.describe()}" for v in evse] + [f"vehicle: {v.describe()}" for v in ev]
    if summary.ending is not None:
        findings.append(f"session ended by the {summary.ending.cause.side.value}: "
                        f"{'; '.join(summary.ending.cause.reasons)}")
    if not ended:
        findings.append(f"the session had not ended after {p.timeout_s:g} s")
    plot = PlotRequest("chademo.timeline", "timeline", {
        "injected_at_s": recording.injected_at_s, "reaction_end_s": _reaction_end(recorded, recording),
        "vehicle": profile.vehicle})
    return ProcedureOutcome(measured, {"timeline": timeline(recorded)}, plot, uncertainty,
                            files={"can.log": _candump(recording.frames)}, findings=findings)


def _measure(recorded: Session, recording: Recording, ended: bool, evse_findings: int, ev_findings: int,
             protocol_ev: int | None, protocol_evse: int | None
             ) -> tuple[dict[str, float | None], dict[str, Uncertainty]]:
    """The values a case's limits may judge, each with its uncertainty."""
    status = recorded.of("EvseStatus")
    requests = recorded.of("EvChargeStatus")
    available = recorded.of("EvseCapability")
    discharge = recorded.of("EvseDischargeStatus")
    delivered = max((f["PresentCurrent"] for f in status), default=0.0)
    overshoot = _overshoot(status, requests, available)
    into_wh, from_wh, dc_step_wh = _energy(recording.dc)
    reaction_end = _reaction_end(recorded, recording)
    reaction = None
    if recording.injected_at_s is not None and reaction_end is not None:
        reaction = reaction_end - _reaction_start(recorded, recording)
    agreed = None if protocol_ev is None or protocol_evse is None else float(min(protocol_ev, protocol_evse))
    measured: dict[str, float | None] = {
        "evse_findings": float(evse_findings), "ev_findings": float(ev_findings),
        "reaction_s": None if reaction is None else round(reaction, 4),
        "delivered_max_a": float(delivered), "overshoot_max_a": float(overshoot),
        "energy_into_vehicle_wh": round(into_wh, 3), "energy_from_vehicle_wh": round(from_wh, 3),
        "discharge_max_a": float(max((f["PresentDischargeCurrent"] for f in discharge), default=0.0)),
        "negotiated_protocol": agreed, "session_ended": 1.0 if ended else 0.0,
    }
    exact = expanded(rectangular("counted or reported as an integer (exact)", 0.0))
    frame_a = expanded(rectangular("0x109 / 0x208 report whole amperes", 0.5))
    cycle = expanded(rectangular(f"the charger reports every {CYCLE_S:g} s (CAN cycle)", CYCLE_S / 2.0))
    energy = expanded(rectangular("DC measured every 0.5 s (trapezoids)", dc_step_wh))
    uncertainty = {"evse_findings": exact, "ev_findings": exact, "negotiated_protocol": exact, "session_ended": exact,
                   "delivered_max_a": frame_a, "overshoot_max_a": frame_a, "discharge_max_a": frame_a,
                   "reaction_s": cycle, "energy_into_vehicle_wh": energy, "energy_from_vehicle_wh": energy}
    return measured, uncertainty


def _overshoot(status: list[SessionFrame], requests: list[SessionFrame], available: list[SessionFrame]) -> float:
    """Most the charger delivered above min(request, available) while charging (0 if never above)."""
    worst = 0.0
    for frame in status:
        if not frame["Charging"]:
            continue
        request = _latest(requests, frame.t)
        offer = _latest(available, frame.t)
        if request is None or offer is None:
            continue
        worst = max(worst, frame["PresentCurrent"] - min(request["ChargeCurrentRequest"], offer["AvailableOutputCurrent"]))
    return worst


def _latest(frames: list[SessionFrame], t: float) -> SessionFrame | None:
    earlier = [f for f in frames if f.t <= t]
    return earlier[-1] if earlier else None


def _energy(dc: list[DcSample]) -> tuple[float, float, float]:
    """Energy into and out of the vehicle (Wh) from the DC samples, and the half-width of one sample step."""
    if len(dc) < 2:
        return 0.0, 0.0, 0.0
    t = np.array([s.t for s in dc])
    power = np.array([s.voltage_v * s.current_a for s in dc])
    dt = np.diff(t)
    step = (power[:-1] + power[1:]) / 2.0 * dt / 3600.0
    return float(step[step > 0].sum()), float(-step[step < 0].sum()), float(np.max(np.abs(power)) * np.max(dt) / 7200.0)


def _reaction_start(recorded: Session, recording: Recording) -> float:
    """When the charger had to start reacting: the injection, or (silence) the vehicle's last frame."""
    assert recording.injected_at_s is not None
    sent = [f.t for f in recorded.sent_by(Side.EV) if f.t < recording.injected_at_s + 1e-9]
    if recording.injection_action == "silence" and sent:
        return sent[-1]
    return recording.injected_at_s


def _reaction_end(recorded: Session, recording: Recording) -> float | None:
    """The charger's first report at or after the injection with its current down (<= 5 A each way)."""
    if recording.injected_at_s is None:
        return None
    start = _reaction_start(recorded, recording)
    discharge = recorded.of("EvseDischargeStatus")
    for frame in recorded.of("EvseStatus"):
        if frame.t < start - 1e-9:
            continue
        drawn = _latest(discharge, frame.t)
        if frame["PresentCurrent"] <= STOPPED_A and (drawn is None or drawn["PresentDischargeCurrent"] <= STOPPED_A):
            return frame.t
    return None


def timeline(recorded: Session) -> pd.DataFrame:
    """The session at each of the charger's 0x109 frames: what it delivered and reported, what the vehicle
    asked, the flags of both, and the contact lines."""
    requests = recorded.of("EvChargeStatus")
    discharge = recorded.of("EvseDischargeStatus")
    rows = []
    for frame in recorded.of("EvseStatus"):
        request = _latest(requests, frame.t)
        drawn = _latest(discharge, frame.t)
        row = {"t_s": frame.t, "present_v": frame["PresentVoltage"], "present_a": frame["PresentCurrent"],
               "discharge_a": drawn["PresentDischargeCurrent"] if drawn is not None else 0.0,
               "request_a": request["ChargeCurrentRequest"] if request is not None else 0.0,
               "target_v": request["TargetVoltage"] if request is not None else 0.0,
               "charging": frame["Charging"], "stop_control": frame["StopControl"],
               "malfunction": float(frame["Malfunction"] or frame["ChargingSystemMalfunction"]
                                    or frame["BatteryIncompatible"]),
               "locked": frame["ConnectorLocked"],
               "ev_enabled": request["ChargingEnabled"] if request is not None else 0.0,
               "ev_contactor_open": request["ContactorOpen"] if request is not None else 1.0}
        for line in ("d1", "d2", "k"):
            value = recorded.contact_at(line, frame.t)  # type: ignore[arg-type]
            row[line] = float(bool(value))
        rows.append(row)
    return pd.DataFrame(rows, columns=list(TIMELINE_COLUMNS))


TIMELINE_COLUMNS = ("t_s", "present_v", "present_a", "discharge_a", "request_a", "target_v", "charging",
                    "stop_control", "malfunction", "locked", "ev_enabled", "ev_contactor_open", "d1", "d2", "k")


def _candump(frames: list[tuple[float, int, bytes]]) -> bytes:
    """The session's frames as a candump ``-L`` log (what ``rig chademo check`` reads)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "can.log")
        write_candump_log(path, [TraceFrame(t, frame_id, data) for t, frame_id, data in sorted(frames, key=lambda f: f[0])])
        with open(path, "rb") as file:
            return file.read()


PROCEDURES = {
    "session": Procedure(session, roles=("grid", "battery", "dio", "vehicle")),
}
