"""The values a CHAdeMO case's limits judge, each measured from the recorded session with its uncertainty.

Every value comes from what the rig recorded on one time axis: the frames
both sides sent, the contact edges, the battery emulator's DC readings. A
value the charger never produced (the reaction of one that never stopped)
is None, and a limit on it fails. Values that only make sense when the case
reached the point it probes (a V2H floor the discharge never approached) are
None too, with the reason in ``Measurements.unreached``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rig.chademo import messages
from rig.chademo.messages import Side
from rig.chademo.rules.timeline import current_reports, last_before, output_current_a
from rig.chademo.session import DcSample, Session, SessionFrame
from rig.chademo.vehicle import CYCLE_S, STOPPED_A, Recording
from rig.results import Uncertainty
from rig.uncertainty import expanded, rectangular


@dataclass(frozen=True)
class Reaction:
    """How the charger answered the injected misbehaviour: from when it had to react to when its current was
    down for good (None: it never was)."""

    start_s: float
    end_s: float | None
    untimeable: str | None = None
    """Why it cannot be timed (no current flowed when the misbehaviour came), or None."""


@dataclass
class Measurements:
    values: dict[str, float | None]
    uncertainty: dict[str, Uncertainty]
    reaction: Reaction | None
    unreached: dict[str, str] = field(default_factory=dict)
    """Values that stayed None because the session never reached what they probe, and why."""


def measure(recorded: Session, recording: Recording, *, ended: bool, evse_findings: int, ev_findings: int,
            protocol_ev: int | None, protocol_evse: int | None, settle_s: float) -> Measurements:
    """Everything a case's limits may judge."""
    status = recorded.of("EvseStatus")
    discharge = recorded.of("EvseDischargeStatus")
    into_wh, from_wh, dc_step_wh = energy(recording.dc)
    reaction = charger_reaction(recorded, recording)
    voltage_margin, voltage_u = min_discharge_voltage_margin(recorded, recording.dc)
    soc_margin, soc_u = min_discharge_level_margin(recorded)
    agreed = None if protocol_ev is None or protocol_evse is None else float(min(protocol_ev, protocol_evse))
    values: dict[str, float | None] = {
        "evse_findings": float(evse_findings), "ev_findings": float(ev_findings),
        "reaction_s": None if reaction is None or reaction.end_s is None else round(reaction.end_s - reaction.start_s, 4),
        "delivered_max_a": float(max((f["PresentCurrent"] for f in status), default=0.0)),
        "overshoot_max_a": overshoot(recorded, settle_s), "tracking_error_a": tracking_error(recorded, settle_s),
        "energy_into_vehicle_wh": round(into_wh, 3), "energy_from_vehicle_wh": round(from_wh, 3),
        "discharge_max_a": float(max((f["PresentDischargeCurrent"] for f in discharge), default=0.0)),
        "min_discharge_voltage_margin_v": None if voltage_margin is None else round(voltage_margin, 3),
        "min_discharge_level_margin_percent": None if soc_margin is None else round(soc_margin, 3),
        "negotiated_protocol": agreed, "session_ended": 1.0 if ended else 0.0,
    }
    exact = expanded(rectangular("counted or reported as an integer (exact)", 0.0))
    frame_a = expanded(rectangular("0x109 / 0x208 report whole amperes", 0.5))
    cycle = expanded(rectangular(f"the charger reports every {CYCLE_S:g} s (CAN cycle)", CYCLE_S / 2.0))
    dc_energy = expanded(rectangular("DC measured every 0.5 s (trapezoids)", dc_step_wh))
    uncertainty = {"evse_findings": exact, "ev_findings": exact, "negotiated_protocol": exact, "session_ended": exact,
                   "delivered_max_a": frame_a, "overshoot_max_a": frame_a, "discharge_max_a": frame_a,
                   "tracking_error_a": frame_a, "reaction_s": cycle, "energy_into_vehicle_wh": dc_energy,
                   "energy_from_vehicle_wh": dc_energy, "min_discharge_voltage_margin_v": voltage_u,
                   "min_discharge_level_margin_percent": soc_u}
    unreached = {}
    if voltage_margin is None:
        unreached["min_discharge_voltage_margin_v"] = "the charger never discharged (or the vehicle sent no 0x200)"
    if soc_margin is None:
        unreached["min_discharge_level_margin_percent"] = "the charger never discharged (or no state of charge)"
    return Measurements(values, uncertainty, reaction, unreached)


def _charge_target_a(recorded: Session, frame: SessionFrame) -> float | None:
    """min(request, available) in force at a 0x109 frame, or None before both were sent."""
    request = last_before(recorded.of("EvChargeStatus"), frame.t)
    offer = last_before(recorded.of("EvseCapability"), frame.t)
    if request is None or offer is None:
        return None
    return float(min(request["ChargeCurrentRequest"], offer["AvailableOutputCurrent"]))


def overshoot(recorded: Session, settle_s: float) -> float:
    """Most the charger delivered above min(request, available) while charging (0 if never above).

    After the target falls (a lower request, a stop) the charger may take ``settle_s`` to follow: it is held
    to the highest target of that window."""
    worst = 0.0
    targets: list[tuple[float, float]] = []
    for frame in recorded.of("EvseStatus"):
        target = _charge_target_a(recorded, frame)
        if target is None:
            continue
        targets.append((frame.t, target))
        allowed = max(value for t, value in targets if t >= frame.t - settle_s - 1e-9)
        if frame["Charging"]:
            worst = max(worst, frame["PresentCurrent"] - allowed)
    return worst


def tracking_error(recorded: Session, settle_s: float) -> float | None:
    """Largest |delivered - min(request, available)| while charging, at reports where that target has been
    unchanged for at least ``settle_s`` (the charger's ramp is not an error). None when no report qualifies."""
    worst: float | None = None
    changed_at: float | None = None
    previous: float | None = None
    for frame in recorded.of("EvseStatus"):
        target = _charge_target_a(recorded, frame)
        if target != previous:
            changed_at, previous = frame.t, target
        if not frame["Charging"] or target is None or target <= 0 or changed_at is None:
            continue
        if frame.t - changed_at >= settle_s - 1e-9:
            error = abs(frame["PresentCurrent"] - target)
            worst = error if worst is None else max(worst, error)
    return worst


def energy(dc: list[DcSample]) -> tuple[float, float, float]:
    """Energy into and out of the vehicle (Wh) from the DC samples, and the half-width of one sample step."""
    if len(dc) < 2:
        return 0.0, 0.0, 0.0
    t = np.array([s.t for s in dc])
    power = np.array([s.voltage_v * s.current_a for s in dc])
    dt = np.diff(t)
    step = (power[:-1] + power[1:]) / 2.0 * dt / 3600.0
    return float(step[step > 0].sum()), float(-step[step < 0].sum()), float(np.max(np.abs(power)) * np.max(dt) / 7200.0)


def charger_reaction(recorded: Session, recording: Recording) -> Reaction | None:
    """The charger's reaction to the injection, or None when nothing was injected.

    It starts at the injection (silence: at the vehicle's last frame) and
    ends at the charger's first report from which its current stays at or
    below the stop threshold (each way) to the end of the recording: a
    current that dips and comes back is no stop. A reaction can only be
    timed when current flowed at the start (``untimeable`` says why not).
    """
    if recording.injected_at_s is None:
        return None
    start = recording.injected_at_s
    if recording.injection_action == "silence":
        sent = [f.t for f in recorded.sent_by(Side.EV) if f.t < recording.injected_at_s + 1e-9]
        start = sent[-1] if sent else start
    reports = [(frame.t, output_current_a(recorded, frame)) for frame in current_reports(recorded)]
    before = [amps for t, amps in reports if t <= start + 1e-9]
    untimeable = None
    if not before or before[-1] <= STOPPED_A:
        untimeable = (f"no current flowed when '{recording.injection_action}' was injected at {start:.2f} s, so the "
                      "charger's reaction to it cannot be timed")
    end = None
    for t, amps in reversed(reports):
        if t < start - 1e-9 or amps > STOPPED_A:
            break
        end = t
    return Reaction(start, end, untimeable)


def _discharging(dc: list[DcSample]) -> list[DcSample]:
    return [s for s in dc if s.current_a < -STOPPED_A]


def min_discharge_voltage_margin(recorded: Session, dc: list[DcSample]) -> tuple[float | None, Uncertainty]:
    """Lowest inlet voltage the rig measured while the charger discharged, less the vehicle's minimum discharge
    voltage (0x200) then in force: negative means it discharged below it."""
    floors = recorded.of("EvDischargeLimits")
    worst: float | None = None
    drawn = _discharging(dc)
    for sample in drawn:
        floor = last_before(floors, sample.t)
        if floor is not None:
            margin = sample.voltage_v - floor["MinDischargeVoltage"]
            worst = margin if worst is None else min(worst, margin)
    slope = max((abs(b.voltage_v - a.voltage_v) / (b.t - a.t) for a, b in zip(drawn, drawn[1:]) if b.t > a.t),
                default=0.0)
    step = max((b.t - a.t for a, b in zip(drawn, drawn[1:])), default=0.0)
    return worst, expanded(rectangular(f"voltage between DC samples ({step:g} s apart)", slope * step / 2.0))


def min_discharge_level_margin(recorded: Session) -> tuple[float | None, Uncertainty]:
    """Lowest state of charge the vehicle reported while the charger discharged, less its minimum discharge level
    (0x200 byte 6): negative means it discharged below it."""
    reference = last_before(recorded.of("EvChargeLimits"), float("inf"))
    levels = recorded.of("EvDischargeLimits")
    discharge = recorded.of("EvseDischargeStatus")
    worst: float | None = None
    for status in recorded.of("EvChargeStatus"):
        drawn = last_before(discharge, status.t)
        level = last_before(levels, status.t)
        if drawn is None or level is None or reference is None or drawn["PresentDischargeCurrent"] <= STOPPED_A:
            continue
        soc = messages.state_of_charge_percent(status["ChargedRate"], reference["ChargedRateReference"])
        if soc is not None:
            margin = soc - level["MinBatteryDischargeLevel"]
            worst = margin if worst is None else min(worst, margin)
    resolution = 100.0 / reference["ChargedRateReference"] if reference is not None and \
        reference["ChargedRateReference"] > 0 else 0.0
    return worst, expanded(rectangular("the vehicle reports its charge in whole steps of 0x100's reference",
                                       resolution / 2.0))
