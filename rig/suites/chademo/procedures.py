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

from rig.chademo.reconstruction import SessionSummary, summarise
from rig.chademo.rules import RuleOutcome, check_session
from rig.chademo.session import Session
from rig.chademo.traces import TraceFrame, write_candump_log
from rig.chademo.vehicle import Injection, Recording, VehicleEmulator
from rig.core.clock import wait_until
from rig.run.bench_lab import Lab
from rig.suites.platform import CannotJudge, PlotRequest, Procedure, ProcedureOutcome
from rig.chademo.rules.timeline import last_before
from rig.core.roles import DcLogger
from rig.suites.chademo.inlet import InletTrace, LogGap, Reaction
from rig.suites.chademo.measurements import measure
from rig.suites.chademo.plan import GridSupply, Plan, SessionCase
from rig.suites.chademo.plots import TimelineOptions

SUPPLY_SETTLE_S = 1.0
"""The charger's AC supply on this long before the vehicle is plugged in (it boots)."""

AT_REST_TIMEOUT_S = 30.0
"""How long the charger may take to release its lines (d1, d2, lock) from whatever came before."""

CHARGER_LINES = ("d1", "d2", "connector_lock")
"""The lines the charger drives (bench names), all off when it is ready for a vehicle."""


def session(lab: Lab, plan: Plan, case: SessionCase) -> ProcedureOutcome:
    """Play one session against the charger and judge it."""
    p = case.params
    profile = case.vehicle_profile(plan)
    supply_charger(lab, plan.grid)
    if not isinstance(lab.battery, DcLogger):
        raise CannotJudge("cannot judge: the bench's battery emulator has no data logger, so the charger's current "
                          "and voltage at the inlet cannot be measured (its own reports are not evidence)")
    injection = None
    if p.injection is not None:
        injection = Injection(p.injection.at, p.injection.action, p.injection.delay_s, p.injection.amount)
    vehicle = VehicleEmulator(profile, lab.vehicle, lab.dio, lab.battery, lab.clock, direction=p.direction,
                              injection=injection, stop_after_s=p.stop_after_s, target_voltage_v=p.target_voltage_v,
                              log_period_s=p.log_period_s)
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
    files = {"can.log": _candump(recording.frames), "rules.csv": _rule_table(outcomes)}
    try:
        trace = InletTrace.from_batches(recording.log)
    except LogGap as gap:
        raise CannotJudge(f"cannot judge: the inlet measurement is incomplete ({gap})",
                          ProcedureOutcome({}, {"timeline": timeline(recorded, None)}, None, {}, files=files)) from None
    m = measure(recorded, recording, trace, ended=ended, evse_findings=len(evse), ev_findings=len(ev),
                protocol_ev=summary.protocol_ev, protocol_evse=summary.protocol_evse, settle_s=p.tracking_settle_s,
                report_quantum_a=plan.parameters.report_quantum_a)
    findings = [f"charger: {v.describe()}" for v in evse] + [f"vehicle: {v.describe()}" for v in ev]
    findings += [f"charger: {line}" for line in m.disagreements]
    if summary.ending is not None:
        findings.append(f"session ended by the {summary.ending.cause.side.value}: "
                        f"{'; '.join(summary.ending.cause.reasons)}")
    if not ended:
        findings.append(f"the session had not ended after {p.timeout_s:g} s")
    limited = case.limit_map()
    findings += [f"{name} not measured: {why}" for name, why in m.unreached.items() if name in limited]
    plot = PlotRequest("chademo.timeline", "timeline", TimelineOptions(
        injected_at_s=recording.caused_at_s if recording.caused_at_s is not None else recording.injected_at_s,
        reaction_end_s=m.reaction.end_s if m.reaction else None, vehicle=profile.vehicle))
    outcome = ProcedureOutcome(m.values, {"timeline": timeline(recorded, trace), "inlet": trace.frame()}, plot,
                               m.uncertainty, files=files, findings=findings)
    _require_judged(case, recording, summary, m.reaction, outcomes, outcome)
    return outcome


def supply_charger(lab: Lab, grid: GridSupply) -> None:
    """The charger's AC supply on at the nominal grid, then wait until it has released its lines (d1, d2, lock)
    from whatever came before: the state a new CHAdeMO session starts from."""
    with lab.steps.step(f"Supply the charger: grid {grid.voltage_v:g} V {grid.frequency_hz:g} Hz"):
        lab.grid.apply(grid.voltage_v, grid.frequency_hz)
        lab.grid.output(True)
        lab.clock.sleep(SUPPLY_SETTLE_S)
    with lab.steps.step(f"Wait (at most {AT_REST_TIMEOUT_S:g} s) for the charger's lines d1, d2 and lock to be off"):
        held: list[str] = []

        def at_rest() -> bool:
            inputs = lab.dio.read_inputs()
            held[:] = [line for line in CHARGER_LINES if inputs.get(line)]
            return not held

        if not wait_until(lab.clock, at_rest, timeout_s=AT_REST_TIMEOUT_S, poll_s=0.5):
            raise CannotJudge(f"cannot judge: the charger still holds {', '.join(held)} from before after "
                              f"{AT_REST_TIMEOUT_S:g} s, so no new session can start")


def _require_judged(case: SessionCase, recording: Recording, summary: SessionSummary, reaction: Reaction | None,
                    outcomes: list[RuleOutcome], outcome: ProcedureOutcome) -> None:
    """The case's misbehaviour happened in the one session recorded and its rules judged; else the rig cannot
    decide (an error, with the recording kept as evidence of why)."""
    ended = summary.first("ended")
    if summary.restart is not None and ended is not None:
        raise CannotJudge(f"cannot judge: the recording holds a second session ({summary.restart.describe()}) after "
                          f"the first ended at t={ended.start:.3f} s; the rules judge only the first", outcome)
    injection = case.params.injection
    if injection is not None and recording.injected_at_s is None:
        reached = ", ".join(recording.marks) or "nothing"
        raise CannotJudge(f"cannot judge: the vehicle never reached '{injection.at}' (it reached: {reached}), so "
                          f"'{injection.action}' was never injected", outcome)
    if case.limits.reaction_s is not None and reaction is not None and reaction.untimeable is not None:
        raise CannotJudge(f"cannot judge: {reaction.untimeable}", outcome)
    if case.limits.reaction_s is not None and injection is not None and reaction is None:
        raise CannotJudge(f"cannot judge: '{injection.action}' was injected but the instant it reached the charger "
                          "was never stamped, so no reaction can be timed from it", outcome)
    unjudged = [f"{o.rule.id} ({o.not_applicable})" for o in outcomes
                if o.rule.id in case.params.must_judge and o.not_applicable is not None]
    if unjudged:
        raise CannotJudge(f"cannot judge: the rules this case exercises could not judge the session: "
                          f"{'; '.join(unjudged)}", outcome)


def _rule_table(outcomes: list[RuleOutcome]) -> bytes:
    """Every rule's verdict on the session (pass, fail, not applicable and why) as CSV."""
    rows = [{"rule": o.rule.id, "judges": o.rule.title, "verdict": o.verdict, "violations": len(o.violations),
             "not_applicable": o.not_applicable or ""} for o in outcomes]
    return pd.DataFrame(rows, columns=["rule", "judges", "verdict", "violations", "not_applicable"]) \
        .to_csv(index=False).encode()


def timeline(recorded: Session, trace: InletTrace | None) -> pd.DataFrame:
    """The session at each of the charger's 0x109 frames: the current measured at the inlet (the log's record at
    the frame's instant; NaN outside the log), what the charger reported, what the vehicle asked, the flags of both, and
    the contact lines."""
    requests = recorded.of("EvChargeStatus")
    discharge = recorded.of("EvseDischargeStatus")
    rows = []
    for frame in recorded.of("EvseStatus"):
        request = last_before(requests, frame.t)
        drawn = last_before(discharge, frame.t)
        measured = float("nan")
        if trace is not None and trace.t[0] <= frame.t < trace.end_s:
            measured = float(trace.current_a[np.searchsorted(trace.t, frame.t, side="right") - 1, 0])
        row = {"t_s": frame.t, "measured_a": measured, "present_v": frame["PresentVoltage"],
               "present_a": frame["PresentCurrent"],
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


TIMELINE_COLUMNS = ("t_s", "measured_a", "present_v", "present_a", "discharge_a", "request_a", "target_v", "charging",
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
