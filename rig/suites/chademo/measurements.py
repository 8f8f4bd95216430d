"""The values a CHAdeMO case's limits judge, each measured from the recorded session with its uncertainty.

Current, voltage, energy and reaction times come from the battery
emulator's log at the vehicle inlet (``rig.suites.chademo.inlet``), on the
same time axis as the frames both sides sent and the contact edges: the rig
judges what it measured, never what the charger reports about itself. The
charger's reports are checked against the log (``report_disagreements``,
counted among the findings against it). Counts of rule findings and the
agreed protocol come from the frames. A value the charger never produced
(the reaction of one that never stopped) is None, and a limit on it fails.
Values that only make sense when the case reached the point it probes (a
V2H floor the discharge never approached) are None too, with the reason in
``Measurements.unreached``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rig.chademo import messages
from rig.chademo.rules.timeline import last_before
from rig.chademo.session import Session
from rig.chademo.vehicle import CYCLE_S, STOPPED_A, Recording
from rig.core.results import Uncertainty
from rig.suites.chademo import inlet
from rig.suites.chademo.inlet import InletTrace, Reaction
from rig.core.uncertainty import expanded, rectangular


@dataclass
class Measurements:
    values: dict[str, float | None]
    uncertainty: dict[str, Uncertainty]
    reaction: Reaction | None
    disagreements: list[str] = field(default_factory=list)
    """The charger's reports that the inlet measurement contradicts (findings against it)."""
    unreached: dict[str, str] = field(default_factory=dict)
    """Values that stayed None because the session never reached what they probe, and why."""


def measure(recorded: Session, recording: Recording, trace: InletTrace, *, ended: bool, evse_findings: int,
            ev_findings: int, protocol_ev: int | None, protocol_evse: int | None, settle_s: float,
            report_quantum_a: float) -> Measurements:
    """Everything a case's limits may judge."""
    disagreements = inlet.report_disagreements(trace, recorded, report_quantum_a, CYCLE_S)
    reaction = None
    if recording.caused_at_s is not None:
        reaction = inlet.reaction(trace, recording.caused_at_s, recording.caused_u_s, recording.caused_by, STOPPED_A)
    overshoot, overshoot_u = inlet.overshoot_a(trace, recorded, settle_s)
    tracking, tracking_u = inlet.tracking_error_a(trace, recorded, settle_s)
    delivered, delivered_u = inlet.extreme_current_a(trace, 1.0)
    discharged, discharged_u = inlet.extreme_current_a(trace, -1.0)
    discharge_excess, discharge_excess_u = inlet.discharge_excess_a(trace, recorded, settle_s)
    voltage_margin, voltage_u = inlet.min_discharge_voltage_margin_v(trace, recorded, STOPPED_A)
    into_wh, from_wh, energy_u = inlet.energy_wh(trace)
    soc_margin, soc_u = min_discharge_level_margin(recorded, trace)
    agreed = None if protocol_ev is None or protocol_evse is None else float(min(protocol_ev, protocol_evse))
    values: dict[str, float | None] = {
        "evse_findings": float(evse_findings + len(disagreements)), "ev_findings": float(ev_findings),
        "reaction_s": None if reaction is None else reaction.seconds,
        "delivered_max_a": round(delivered, 4), "overshoot_max_a": round(overshoot, 4),
        "tracking_error_a": None if tracking is None else round(tracking, 4),
        "energy_into_vehicle_wh": round(into_wh, 3), "energy_from_vehicle_wh": round(from_wh, 3),
        "discharge_max_a": round(discharged, 4), "discharge_excess_a": round(discharge_excess, 4),
        "min_discharge_voltage_margin_v": None if voltage_margin is None else round(voltage_margin, 4),
        "min_discharge_level_margin_percent": None if soc_margin is None else round(soc_margin, 3),
        "negotiated_protocol": agreed, "session_ended": 1.0 if ended else 0.0,
    }
    exact = expanded(rectangular("counted or reported as an integer (exact)", 0.0))
    uncertainty = {"evse_findings": exact, "ev_findings": exact, "negotiated_protocol": exact, "session_ended": exact,
                   "delivered_max_a": delivered_u, "overshoot_max_a": overshoot_u, "discharge_max_a": discharged_u,
                   "discharge_excess_a": discharge_excess_u,
                   "tracking_error_a": tracking_u, "energy_into_vehicle_wh": energy_u,
                   "energy_from_vehicle_wh": energy_u, "min_discharge_voltage_margin_v": voltage_u,
                   "min_discharge_level_margin_percent": soc_u}
    if reaction is not None and reaction.uncertainty is not None:
        uncertainty["reaction_s"] = reaction.uncertainty
    elif reaction is not None:
        uncertainty["reaction_s"] = exact  # it never stopped (None fails) or cannot be timed (an error)
    unreached = {}
    if voltage_margin is None:
        unreached["min_discharge_voltage_margin_v"] = "the charger never discharged (or the vehicle sent no 0x200)"
    if soc_margin is None:
        unreached["min_discharge_level_margin_percent"] = "the charger never discharged (or no state of charge)"
    return Measurements(values, uncertainty, reaction, disagreements, unreached)


def min_discharge_level_margin(recorded: Session, trace: InletTrace) -> tuple[float | None, Uncertainty]:
    """Lowest state of charge the vehicle reported while the charger discharged (as measured at the inlet over
    the cycle before the report), less its minimum discharge level (0x200 byte 6): negative means it
    discharged below it."""
    reference = last_before(recorded.of("EvChargeLimits"), float("inf"))
    levels = recorded.of("EvDischargeLimits")
    worst: float | None = None
    for status in recorded.of("EvChargeStatus"):
        level = last_before(levels, status.t)
        lo, hi = np.searchsorted(trace.t, [status.t - CYCLE_S, status.t])
        drawing = hi > lo and float(np.max(-trace.current_a[lo:hi, 0])) > STOPPED_A
        if not drawing or level is None or reference is None:
            continue
        soc = messages.state_of_charge_percent(status["ChargedRate"], reference["ChargedRateReference"])
        if soc is not None:
            margin = soc - level["MinBatteryDischargeLevel"]
            worst = margin if worst is None else min(worst, margin)
    resolution = 100.0 / reference["ChargedRateReference"] if reference is not None and \
        reference["ChargedRateReference"] > 0 else 0.0
    return worst, expanded(rectangular("the vehicle reports its charge in whole steps of 0x100's reference",
                                       resolution / 2.0))
