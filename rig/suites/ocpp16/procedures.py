"""OCPP 1.6J Core procedures: the rig switches the charger's supply and plays the central system, then judges the
frames it recorded (each on the rig's clock, each held against the OCA schema).

Judged on what the rig recorded, not on what the charger says of itself: the
instant each frame arrived, the answers the rig gave, the schema. A value the
case looks for that never came is not measured, and fails (the charger did
not do it); the frames are kept as evidence (``frames.jsonl``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
import json
from typing import Any

import pandas as pd

from rig.core.clock import Clock
from rig.core.uncertainty import Uncertainty, expanded, normal
from rig.run.bench_lab import Lab
from rig.suites.chademo.inlet import InletTrace, LogGap
from rig.suites.ocpp.central_system import Answers, answering, now_text
from rig.suites.ocpp.evidence import frame_evidence, schema_violations
from rig.suites.ocpp.metering import (against_schedule, compare_samples, compare_transaction,
                                      current_while_available)
from rig.suites.ocpp.player import Player
from rig.suites.ocpp16.plan import BootPendingCase, ColdBootCase, Plan, ScriptCase
from rig.suites.ocpp.supply import restart_charger, supply_off
from rig.suites.ocpp.sequence_chart import SequenceOptions, sequence_trace
from rig.suites.platform import CannotJudge, NotPerformed, PlotRequest, Procedure, ProcedureOutcome

CONNECT_POLL_S = 0.1
"""How often the rig looks for the charger's connection while it waits (bench time)."""


def _central_system(lab: Lab, boot_answers: list[tuple[str, int]]) -> None:
    """The rig's answers for this case: BootNotification from ``boot_answers`` in turn (the last repeats),
    Heartbeat the time, StatusNotification acknowledged."""
    csms, clock = lab.csms, lab.clock
    answers = list(boot_answers)

    def boot(payload: dict) -> dict:
        status, interval = answers.pop(0) if len(answers) > 1 else answers[0]
        return {"status": status, "currentTime": now_text(clock), "interval": interval}

    csms.responders.clear()
    csms.responders.update({"BootNotification": boot, "Heartbeat": lambda payload: {"currentTime": now_text(clock)},
                            "StatusNotification": lambda payload: {}})


def _power_cycle(lab: Lab, plan: Plan, off_s: float) -> tuple[float, str | None]:
    """The charger restarted (its supply off for ``off_s`` and on, on a bench that switches it): the instant it
    came on, and the instruction given to the operator when the bench could not do it (``supply``)."""
    with lab.steps.step(f"Restart the charger: supply off for {off_s:g} s, then on at {plan.grid.voltage_v:g} V "
                        f"{plan.grid.frequency_hz:g} Hz"):
        asked = restart_charger(lab, off_s, (plan.grid.voltage_v, plan.grid.frequency_hz))
        return lab.clock.now(), asked


def _frames_since(lab: Lab, t0: float) -> list:
    return [f for f in lab.csms.frames if f.t >= t0]


_evidence = frame_evidence


def _calls(frames: list, action: str) -> list:
    return [f for f in frames if f.direction == "charger->rig" and f.kind == "CALL" and f.action == action]


def _status(payload: dict[str, Any]) -> Any:
    """A StatusNotification's status (1.6 ``status``, 2.0.1 ``connectorStatus``)."""
    return payload.get("status", payload.get("connectorStatus"))


def _answer_to(frames: list[Any], call: Any) -> Any:
    return next((f for f in frames if f.direction == "rig->charger" and f.message_id == call.message_id), None)


def _time_u(plan: Plan):
    return expanded(normal("frame time stamp (rig clock, on receipt)", plan.frame_time_u_s),
                    normal("the other frame's time stamp", plan.frame_time_u_s))


def cold_boot(lab: Lab, plan: Plan, case: ColdBootCase) -> ProcedureOutcome:
    """TC_001_CS: supply on, BootNotification Accepted, each connector reported Available, Heartbeats at the
    interval the rig gave."""
    p = case.params
    _central_system(lab, [("Accepted", p.heartbeat_interval_s)])
    t_on, asked = _power_cycle(lab, plan, p.off_s)
    with lab.steps.step(f"Wait (at most {p.boot_within_s:g} s) for the charger's BootNotification"):
        lab.csms.wait_for_charger(timeout_s=p.boot_within_s, poll_s=CONNECT_POLL_S)
        booted = _calls(_frames_since(lab, t_on), "BootNotification")
    accepted_at = None
    if booted and (answer := _answer_to(_frames_since(lab, t_on), booted[0])) is not None:
        accepted_at = answer.t
    with lab.steps.step(f"Observe {p.observe_s:g} s from the accepted boot (Heartbeat every "
                        f"{p.heartbeat_interval_s} s)"):
        lab.clock.sleep(max(0.0, (accepted_at if accepted_at is not None else lab.clock.now()) + p.observe_s
                            - lab.clock.now()))
    frames = _frames_since(lab, t_on)
    traces, files, findings = _evidence(frames, t_on)
    traces["sequence"] = sequence_trace(frames, t_on, [])
    chart = _chart(frames[0].identity if frames else None)
    measured: dict[str, float | None] = {
        "boot_after_power_s": round(booted[0].t - t_on, 6) if booted else None,
        "heartbeat_gap_min_s": None, "heartbeat_gap_max_s": None,
        "connectors_available": float(len({(json.loads(f.text)[3].get("evseId"),
                                            json.loads(f.text)[3].get("connectorId"))
                                          for f in _calls(frames, "StatusNotification")
                                          if accepted_at is not None and f.t >= accepted_at
                                          and _status(json.loads(f.text)[3]) == "Available"})),
        "schema_violations": float(sum(1 for f in frames if f.direction == "charger->rig" and f.problems)),
    }
    if not booted:
        findings.append(f"no BootNotification within {p.boot_within_s:g} s of the supply coming on")
        if asked is not None:
            raise NotPerformed(f"needs the operator to: {asked} (no BootNotification followed)",
                               ProcedureOutcome({}, traces, None, {}, files=files, findings=findings))
    beats = [f.t for f in _calls(frames, "Heartbeat") if accepted_at is not None and f.t >= accepted_at]
    if accepted_at is not None and beats:
        gaps = [b - a for a, b in zip([accepted_at, *beats], beats)]
        measured["heartbeat_gap_min_s"] = round(min(gaps[1:] or gaps), 6)
        measured["heartbeat_gap_max_s"] = round(max(gaps), 6)
    elif accepted_at is not None:
        findings.append(f"no Heartbeat in the {p.observe_s:g} s after the accepted boot")
    u = _time_u(plan)
    exact = expanded(normal("a count of recorded frames", 0.0))
    uncertainty = {"boot_after_power_s": u, "heartbeat_gap_min_s": u, "heartbeat_gap_max_s": u,
                   "connectors_available": exact, "schema_violations": exact}
    return ProcedureOutcome(measured, traces, chart, uncertainty, files=files, findings=findings)


def boot_pending(lab: Lab, plan: Plan, case: BootPendingCase) -> ProcedureOutcome:
    """TC_002_CS: the rig answers Pending (with an interval) before Accepted; the charger sends nothing but
    BootNotification while pending, and retries no sooner than the interval."""
    p = case.params
    answers = [(p.answer, p.pending_interval_s)] * p.pending_answers + [("Accepted", p.heartbeat_interval_s)]
    _central_system(lab, answers)
    t_on, asked = _power_cycle(lab, plan, p.off_s)
    with lab.steps.step(f"Answer {p.pending_answers} BootNotification(s) {p.answer} (interval {p.pending_interval_s} s), "
                        f"then Accepted; observe {p.observe_s:g} s"):
        lab.clock.sleep(p.observe_s)
    frames = _frames_since(lab, t_on)
    traces, files, findings = _evidence(frames, t_on)
    traces["sequence"] = sequence_trace(frames, t_on, [])
    chart = _chart(frames[0].identity if frames else None)
    boots = _calls(frames, "BootNotification")
    pending_answers = [a for a in (_answer_to(frames, b) for b in boots[:p.pending_answers]) if a is not None]
    retries = [later.t - answer.t for answer, later in zip(pending_answers, boots[1:])]
    accepted = next((a.t for b in boots if (a := _answer_to(frames, b)) is not None
                     and json.loads(a.text)[2].get("status") == "Accepted"), None)
    pending_until = accepted if accepted is not None else frames[-1].t if frames else t_on
    others = [f for f in frames if f.direction == "charger->rig" and f.kind == "CALL"
              and f.action != "BootNotification" and f.t < pending_until]
    if len(retries) < p.pending_answers:
        findings.append(f"{len(boots)} BootNotification(s) in {p.observe_s:g} s; {p.pending_answers + 1} expected "
                        "(each Pending answer retried)")
    measured: dict[str, float | None] = {
        "retry_after_s": round(min(retries), 6) if len(retries) == p.pending_answers else None,
        "calls_while_pending": float(len(others)),
        "schema_violations": float(sum(1 for f in frames if f.direction == "charger->rig" and f.problems)),
    }
    findings += [f"{f.action} sent at {f.t - t_on:.3f} s while its boot was pending" for f in others]
    exact = expanded(normal("a count of recorded frames", 0.0))
    uncertainty = {"retry_after_s": _time_u(plan), "calls_while_pending": exact, "schema_violations": exact}
    if not boots and asked is not None:
        raise NotPerformed(f"needs the operator to: {asked} (no BootNotification followed)",
                           ProcedureOutcome({}, traces, None, {}, files=files, findings=findings))
    if not boots:
        raise CannotJudge("cannot judge: the charger sent no BootNotification, so no pending boot was answered",
                          ProcedureOutcome({}, traces, None, {}, files=files, findings=findings))
    return ProcedureOutcome(measured, traces, chart, uncertainty, files=files, findings=findings)


FrameJudge = Callable[[list[Any]], list[tuple[str, float, Uncertainty, str]]]
"""A version's own judgement of a case's frames: (measured name, value, its uncertainty, a finding) each."""


PlayerJudge = Callable[[Any, Any, Any], tuple[list[tuple[str, float | None, Uncertainty, str]], dict[str, pd.DataFrame]]]
"""A version's judgement of what its player recorded beyond the frames (plan, case, player): measured values with
their uncertainty and findings, and traces."""


def script(lab: Lab, plan: Plan, case: ScriptCase, *, answers_of: Callable[[Any, Clock], Answers] = Answers,
           compare: Callable[[list[Any], list, float, float], Any] = compare_transaction,
           judges: tuple[FrameJudge, ...] = (), prepare: Callable[[Player, Any], None] | None = None,
           player_judge: PlayerJudge | None = None) -> ProcedureOutcome:
    """A case as the test case document's steps (``rig.suites.ocpp.script``): played, then each check judged, and
    where the case asks, the charger's reports held against the battery emulator's measurement. Another version
    gives its own answers (``answers_of``), its meter comparison (``compare``) and judges of the frames; one that
    measures more sets its player up (``prepare``) and judges what it recorded (``player_judge``)."""
    p = case.params
    answers = answers_of(plan.central_system, lab.clock)
    first = len(lab.csms.frames)
    player = Player(lab, answers, plan.vehicle_profile(), plan.vehicle_charges_s,
                    (plan.grid.voltage_v, plan.grid.frequency_hz))
    if prepare is not None:
        prepare(player, plan)
    with answering(lab.csms, answers):
        player.play(p.steps)
    frames = [f for f in list(lab.csms.frames)[first:]]
    traces, files, findings = _evidence(frames, player.t0)
    traces["checks"] = pd.DataFrame([{"step": c.step, "check": c.name, "what": c.what, "met": c.met,
                                      "at_s": c.at_s, "detail": c.detail} for c in player.checks],
                                    columns=["step", "check", "what", "met", "at_s", "detail"])
    findings = [f"step {c.step} ({c.name}): {c.what}: {'met' if c.met else 'NOT MET'}: {c.detail}"
                for c in player.checks] + findings
    exact = expanded(normal("a check decided on recorded frames", 0.0))
    measured: dict[str, float | None] = {c.name: 1.0 if c.met else 0.0 for c in player.checks}
    uncertainty = {c.name: exact for c in player.checks}
    measured["schema_violations"] = float(schema_violations(frames))
    uncertainty["schema_violations"] = exact
    if lab.operator.instructions:
        findings.append("asked of the operator: " + " | ".join(lab.operator.instructions[-5:]))
    if p.judge_meter:
        compared = compare(frames, player.dc_log, plan.frame_time_u_s, plan.min_energy_wh)
        if isinstance(compared, str):
            raise CannotJudge(f"cannot judge the meter: {compared}",
                              ProcedureOutcome(measured, traces, None, uncertainty, files=files, findings=findings))
        measured["meter_error_percent"] = round(compared.error_percent, 6)
        uncertainty["meter_error_percent"] = compared.uncertainty
        findings.append(f"transaction energy: the charger reported {compared.reported_wh:.0f} Wh, the battery "
                        f"emulator measured {compared.measured_wh:.1f} Wh ({compared.error_percent:+.2f} %)")
    if p.judge_meter_samples:
        sampled = compare_samples(frames, player.dc_log, plan.frame_time_u_s, plan.min_energy_wh)
        if isinstance(sampled, str):
            raise CannotJudge(f"cannot judge the sampled meter values: {sampled}",
                              ProcedureOutcome(measured, traces, None, uncertainty, files=files, findings=findings))
        worst = sampled.worst
        measured["meter_sample_error_percent"] = round(worst.error_percent, 6)
        uncertainty["meter_sample_error_percent"] = worst.uncertainty
        findings.append(f"sampled meter values: {sampled.judged} judged ({sampled.skipped} too early); the furthest "
                        f"reported {worst.reported_wh:.1f} Wh since the start, the battery emulator measured "
                        f"{worst.measured_wh:.1f} Wh ({worst.error_percent:+.2f} %)")
    if p.judge_available_current:
        peak, u, records = current_while_available(frames, player.dc_log)
        measured["current_while_available_a"] = round(peak, 6)
        uncertainty["current_while_available_a"] = u
        findings.append(f"largest current while connector 1 was reported Available: {peak:.3f} A "
                        f"({records} log records)")
    if p.judge_schedule:
        judged = against_schedule(frames, player.dc_log, lab.clock.epoch_offset_s(), p.schedule_settle_s)
        if isinstance(judged, str):
            raise CannotJudge(f"cannot judge the schedule: {judged}",
                              ProcedureOutcome(measured, traces, None, uncertainty, files=files, findings=findings))
        measured["schedule_deviation"] = round(judged.worst_w, 6)
        uncertainty["schedule_deviation"] = judged.uncertainty
        findings.append(f"measured against the reported composite schedule: worst gap {judged.worst_w:.1f} "
                        f"{'A' if judged.unit == 'A' else 'W'} over {judged.records} settled log records")
    for judge in judges:
        for name, value, u, finding in judge(frames):
            measured[name], uncertainty[name] = value, u
            findings.append(finding)
    if player_judge is not None:
        try:
            results, more = player_judge(plan, case, player)
        except CannotJudge as err:
            raise CannotJudge(str(err), ProcedureOutcome(measured, traces, None, uncertainty, files=files,
                                                         findings=findings)) from None
        for name, value, u, finding in results:
            measured[name], uncertainty[name] = value, u
            findings.append(finding)
        traces.update(more)
    findings += player.vehicle_sessions
    if player.dc_log:
        traces["inlet"] = InletTrace.from_batches(player.dc_log).frame() if _joined(player.dc_log) else \
            _raw_log(player.dc_log)
    traces["sequence"] = sequence_trace(frames, player.t0, [(c.decided_s, f"step {c.step} {c.what}: {c.detail}")
                                                            for c in player.checks if not c.met])
    outcome = ProcedureOutcome(measured, traces, _chart(player.identity), uncertainty, files=files,
                               findings=findings)
    if player.not_performed is not None:
        raise NotPerformed(f"needs the operator to {player.not_performed[0].lower()}{player.not_performed[1:]}",
                           outcome)
    return outcome


def _chart(identity: str | None) -> PlotRequest:
    return PlotRequest("ocpp.sequence", "sequence", SequenceOptions(identity=identity))


def _raw_log(batches: list) -> pd.DataFrame:
    """A log whose batches do not join up (a session's log restarted, records lost): every record as fetched, with
    its batch, so the gap itself is evidence."""
    return pd.DataFrame([{"batch": n, "started_s": b.started_s, "record": b.first + k,
                          "t_s": b.started_s + (b.first + k) * b.period_s, "current_avg_a": float(b.current_a[k, 0]),
                          "voltage_avg_v": float(b.voltage_v[k, 0])}
                         for n, b in enumerate(batches) for k in range(len(b))])


def _joined(batches: list) -> bool:
    try:
        InletTrace.from_batches(batches)
    except LogGap:
        return False
    return True


def ocpp_case(procedure: Callable[[Lab, Plan, Any], ProcedureOutcome]) -> Callable[..., ProcedureOutcome]:
    """The rig accepts only the plan's OCPP version during the case; however the case ends, its answers removed,
    every version accepted again and the charger's supply off, so the next case (of any suite) finds it unpowered
    and no central system accepting it."""
    @functools.wraps(procedure)
    def run(lab: Lab, plan: Plan, case: Any) -> ProcedureOutcome:
        lab.csms.accept_versions([plan.version])
        try:
            return procedure(lab, plan, case)
        finally:
            lab.csms.responders.clear()
            lab.csms.accept_versions([])
            supply_off(lab)
    return run


PROCEDURES = {
    "cold_boot": Procedure(ocpp_case(cold_boot), roles=("csms",)),
    "boot_pending": Procedure(ocpp_case(boot_pending), roles=("csms",)),
    "script": Procedure(ocpp_case(script), roles=("csms",)),
}
