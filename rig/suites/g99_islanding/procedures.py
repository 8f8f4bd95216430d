"""G99 islanding: balance an RLC load to the charger's export, open the grid switch S1, time the run-on.

It reads like the BS EN 62116 test steps: the charger exports at the nominal
grid; the RLC load at its point of connection is set from the power measured
there (R absorbs it, L takes the quality factor times it, C resonates with
L), switched on and trimmed until the current through S1 nulls; then set to
the case's imbalance; the digitizer is armed and the grid simulator starts a
hold program (its trigger starts the capture); S1 is commanded open a known
time later; after the capture S1 closes and the load goes off. The run-on is
the time from S1 opening to the charger's current ceasing.

When S1 opened, in the capture's time, is known only through the rig's clock
and the contactor: the trigger lies between the clock stamps around the
grid simulator's program start, the coil command between those around the
digital I/O write, and the contacts part the bench file's opening time after
the coil moves (within its tolerance). Each of these is a component of the
run-on's uncertainty, with the capture's sample interval and the edge's
location under noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rig.core.clock import wait_until
from rig.run.bench_lab import Lab
from rig.core.roles import Capture, GridProgram, GridStep
from rig.suites.platform import CannotJudge, PlotRequest, PreconditionError, Procedure, ProcedureOutcome
from rig.suites.grid_code.capture import ARMING_MARGIN_S
from rig.suites.grid_code.exporting import ensure_exporting
from rig.suites.grid_code.trip_detection import JUDGEABLE_MARGIN, require_judgeable
from rig.suites.g99_islanding.plots import RunOnOptions
from rig.suites.g99_islanding.plan import Plan, RunOnCase
from rig.suites.g99_islanding.run_on import demodulated, measure_run_on
from rig.suites.grid_code.power_level import at_power_level
from rig.core.uncertainty import expanded, normal, rectangular

PROGRAM_TAIL_S = 0.5
"""The grid simulator holds the nominal grid this much beyond the capture."""


@dataclass(frozen=True)
class Balance:
    """The RLC load's balanced setting and what flowed through S1 with it."""

    resistive_w: float
    inductive_var: float
    capacitive_var: float
    residual_a: float


@dataclass(frozen=True)
class Stamps:
    """The rig's clock around the two commands that place S1's opening in the capture's time."""

    trigger: tuple[float, float]
    command: tuple[float, float]


def _residual(lab: Lab) -> tuple[float, float, float]:
    """(current through S1, active power the grid simulator delivers, reactive magnitude) now."""
    reading = lab.grid.read()
    apparent = reading.voltage_v * reading.current_a
    return reading.current_a, reading.power_w, math.sqrt(max(apparent**2 - reading.power_w**2, 0.0))


def balance_load(lab: Lab, plan: Plan, export_w: float, charger_a: float) -> Balance:
    """Set R to absorb the charger's power, L to the quality factor times it, C to resonate with L; switch the load
    on and trim R and C until S1 carries (almost) nothing: the charger's own reactive power is unknown in sign,
    so C is tried either side by the reactive residual and the smaller residual kept."""
    v, f = plan.grid.voltage_v, plan.grid.frequency_hz
    load = lab.island_load
    inductive = plan.island_load.quality_factor * export_w

    def setting(resistive: float, capacitive: float) -> tuple[float, float, float]:
        load.set_load(resistive, inductive, capacitive, at_voltage_v=v, at_frequency_hz=f)
        return _residual(lab)

    with lab.steps.step(f"Set the RLC load to R {export_w:.0f} W, L {inductive:.0f} var, C {inductive:.0f} var "
                        f"(quality factor {plan.island_load.quality_factor:g}) and switch it on"):
        setting(export_w, inductive)
        load.input(True)
        current, delivered, reactive = _residual(lab)
    resistive = export_w - delivered  # the grid simulator delivers what R takes beyond the charger's export
    with lab.steps.step(f"Trim the balance: {current:.3f} A through S1 ({delivered:+.1f} W, {reactive:.1f} var)"):
        tried = []
        for capacitive in (inductive - reactive, inductive + reactive):
            if capacitive < 0.0:
                continue
            tried.append((setting(resistive, capacitive)[0], capacitive))
        best_a, best_c = min(tried)
        if tried[-1][1] != best_c:
            setting(resistive, best_c)
    limit_a = plan.island_load.max_residual_pu * charger_a
    if not best_a <= limit_a:
        raise CannotJudge(f"cannot balance: {best_a:.3f} A still flows through S1 with the RLC load trimmed "
                          f"(R {resistive:.0f} W, L {inductive:.0f} var, C {best_c:.0f} var); at most {limit_a:.3f} A "
                          f"({plan.island_load.max_residual_pu:g} of the charger's {charger_a:.3f} A) is allowed")
    return Balance(resistive, inductive, best_c, best_a)


def islanded_capture(lab: Lab, plan: Plan, case: RunOnCase) -> tuple[Capture, Stamps]:
    """Arm the digitizer, start a hold program on the grid simulator (its trigger starts the capture), command S1
    open ``open_after_s`` later, let the capture run out; S1 is closed again whatever happens."""
    p = case.params
    line = lab.grid_switch.line
    with lab.steps.step(f"Arm capture {p.pre_s:g} s before to {p.post_s:g} s after the trigger at "
                        f"{p.sample_rate_hz:g} S/s"):
        lab.capture.arm(pre_s=p.pre_s, post_s=p.post_s, sample_rate_hz=p.sample_rate_hz)
        timeout_s = p.pre_s + ARMING_MARGIN_S
        if not wait_until(lab.clock, lab.capture.armed, timeout_s=timeout_s, poll_s=max(p.pre_s / 5.0, 0.001)):
            raise PreconditionError(f"the digitizer was not armed {timeout_s:g} s after the single acquisition "
                                    "started; S1 was not opened")
    program = GridProgram((GridStep.hold(p.post_s + PROGRAM_TAIL_S, plan.grid.voltage_v, plan.grid.frequency_hz),))
    try:
        with lab.steps.step(f"Hold the nominal grid (the trigger); command S1 open {p.open_after_s:g} s later"):
            before = lab.clock.now()
            lab.grid.run_program(program)
            trigger = (before, lab.clock.now())
            lab.clock.sleep(p.open_after_s)
            before = lab.clock.now()
            lab.dio.set_output(line, True)
            command = (before, lab.clock.now())
            lab.clock.sleep(max(p.post_s - (command[1] - trigger[0]), 0.0))
    finally:
        with lab.steps.step("Close S1"):
            lab.dio.set_output(line, False)
    with lab.steps.step("Fetch the capture"):
        if not wait_until(lab.clock, lab.capture.complete, timeout_s=max(5.0, p.post_s), poll_s=0.05):
            raise PreconditionError("the digitizer did not complete its acquisition (no trigger from the grid "
                                    "simulator?)")
        capture = lab.capture.fetch()
    interval_s = float(capture.t_s[1] - capture.t_s[0])
    if 1.0 / interval_s < p.sample_rate_hz * (1.0 - 1e-9):
        raise PreconditionError(f"the digitizer sampled at {1.0 / interval_s:.6g} S/s, below the plan's "
                                f"{p.sample_rate_hz:g} S/s")
    return capture, Stamps(trigger, command)


def run_on(lab: Lab, plan: Plan, case: RunOnCase) -> ProcedureOutcome:
    """Island the exporting charger on a balanced (or deliberately unbalanced) RLC load and time its run-on, at the
    case's power level: set through the bench's dut_control role when it has one (released afterwards)."""
    p = case.params
    # ensure_exporting reads the plan's grid, precondition and suite name, which this plan shares with G99's.
    ensure_exporting(lab, plan)
    with at_power_level(lab, p.power_level, plan.registered_capacity_w, plan.island_load.steady,
                        state="RLC load off, S1 closed", always_read=True) as setting:
        assert setting.export_w is not None  # always_read: the load is set from it
        export_w = setting.export_w
        with lab.steps.step("Read the charger's current at the grid simulator (RLC load off, S1 closed)"):
            charger_a = lab.grid.current_a()
        level = export_w / plan.registered_capacity_w
        measured: dict[str, float | None] = {"export_power_w": round(export_w, 1), "power_level_pu": round(level, 4)}
        if setting.limit_w is not None:
            measured["export_limit_w"] = round(setting.limit_w, 1)
        if not p.power_level.min <= level <= p.power_level.max:
            raise CannotJudge(setting.refusal(export_w, plan.registered_capacity_w, p.power_level,
                                              "at the grid simulator"), ProcedureOutcome(measured))
        try:
            balance = balance_load(lab, plan, export_w, charger_a)
            resistive = balance.resistive_w * p.active_balance
            capacitive = balance.capacitive_var * p.reactive_balance
            with lab.steps.step(f"Unbalance the load: R {resistive:.0f} W ({p.active_balance:.0%}), C "
                                f"{capacitive:.0f} var ({p.reactive_balance:.0%} of balanced)"):
                lab.island_load.set_load(resistive, balance.inductive_var, capacitive,
                                         at_voltage_v=plan.grid.voltage_v, at_frequency_hz=plan.grid.frequency_hz)
            capture, stamps = islanded_capture(lab, plan, case)
        finally:
            with lab.steps.step("RLC load off"):
                lab.island_load.input(False)
    measured.update({"balance_residual_a": round(balance.residual_a, 4), "load_resistive_w": round(resistive, 1),
                     "load_inductive_var": round(balance.inductive_var, 1), "load_capacitive_var": round(capacitive, 1)})
    return _judge(lab, plan, case, capture, stamps, measured)


def _judge(lab: Lab, plan: Plan, case: RunOnCase, capture: Capture, stamps: Stamps,
           measured: dict[str, float | None]) -> ProcedureOutcome:
    p = case.params
    switch = lab.grid_switch
    t_s = capture.t_s
    current, voltage = capture.channels["current"], capture.channels["voltage"]
    trigger_mid = 0.5 * (stamps.trigger[0] + stamps.trigger[1])
    opened_s = 0.5 * (stamps.command[0] + stamps.command[1]) - trigger_mid + switch.opening_time_s
    with lab.steps.step("Demodulate the current against the frequency measured on the voltage; find when it "
                        f"ceased after S1 opened ({opened_s:.4f} s after the trigger)"):
        signal, frequency = demodulated(t_s, current, voltage, plan.grid.voltage_v, plan.grid.frequency_hz)
        frame = pd.DataFrame({"t_s": t_s, "i_a": current.astype(np.float32), "v_v": voltage.astype(np.float32),
                              "i_rms_a": signal.rms_a.astype(np.float32), "f_hz": frequency.astype(np.float32)})
        evidence = ProcedureOutcome(measured, {"capture": frame})
        try:
            require_judgeable(signal, p.threshold_a)
        except CannotJudge as err:
            raise CannotJudge(str(err), evidence) from err
        n = signal.samples_per_cycle
        pre_current = float(np.min(signal.rms_a[t_s < 0.0][n:]))
        needed = p.threshold_a + JUDGEABLE_MARGIN * signal.floor_a
        if not pre_current >= needed:
            raise PreconditionError(f"the DUT was not exporting clearly before S1 opened (least one-cycle "
                                    f"fundamental {pre_current:.3f} A; {needed:.3f} A needed)")
        found = measure_run_on(t_s, current, signal, p.threshold_a, opened_s)
    measured.update({"run_on_s": round(found.seconds, 6), "run_on_exceeds_capture": float(found.lower_bound),
                     "s1_opened_s": round(opened_s, 6), "pre_opening_current_a": round(pre_current, 4),
                     "noise_floor_a": round(signal.floor_a, 5)})
    after = (t_s > opened_s + 0.05) & (signal.rms_a >= p.threshold_a)
    if after.any():
        measured["island_frequency_hz"] = round(float(frequency[np.flatnonzero(after)[0]]), 4)
    dt = float(t_s[1] - t_s[0])
    components = [
        rectangular(f"S1 opening time (bench file: {switch.opening_time_s:g} s +- {switch.opening_tolerance_s:g} s)",
                    switch.opening_tolerance_s),
        rectangular("trigger instant between the rig's clock stamps", 0.5 * (stamps.trigger[1] - stamps.trigger[0])),
        rectangular("S1 command instant between the rig's clock stamps",
                    0.5 * (stamps.command[1] - stamps.command[0])),
        rectangular(f"sample interval {dt * 1e3:.4g} ms", dt / 2.0),
    ]
    if found.detection is not None:
        components.append(normal("edge location under noise (likelihood interval)",
                                 found.detection.likelihood_half_width_s))
    findings = []
    if found.lower_bound:
        findings.append(f"the DUT still exported at the end of the capture: its run-on is longer than "
                        f"{found.seconds:.3f} s (the capture after S1 opened; a lower bound)")
    limit = case.limits.run_on_s
    plot = PlotRequest("g99.islanding.run_on", "capture", RunOnOptions(
        threshold_a=p.threshold_a, s1_opened_s=opened_s,
        stop_instant_s=None if found.detection is None else found.detection.instant_s,
        limit_max_s=None if limit.max is None else opened_s + limit.max,
        lower_bound="yes" if found.lower_bound else "no"))
    return ProcedureOutcome(measured, {"capture": frame}, plot, {"run_on_s": expanded(*components)},
                            findings=findings)


PROCEDURES = {"run_on": Procedure(run_on, roles=("grid", "capture", "dio", "island_load"), sections=("grid_switch",))}
