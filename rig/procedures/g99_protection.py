"""G99 interface protection procedures: trip value, trip time, no-trip hold.

They read like the type-test steps: bring the charger to export at the
nominal grid, disturb the grid on the grid simulator itself, observe the
charger's current, report what was measured. Limits and verdicts are the
engine's business; every number comes from the plan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rig.clock import wait_until
from rig.lab import Lab
from rig.plan import NoTripCase, Plan, TripTimeCase, TripValueCase
from rig.procedures.outcome import PlotRequest, PreconditionError, Procedure, ProcedureOutcome
from rig.procedures.trip_detection import detect_trip, one_cycle_rms, samples_per_cycle
from rig.roles import Capture, GridProgram, GridStep


def grid_point(plan: Plan, quantity: str, level: float) -> tuple[float, float]:
    """(voltage, frequency) with ``quantity`` at ``level`` and the other at nominal."""
    if quantity == "voltage":
        return level, plan.grid.frequency_hz
    return plan.grid.voltage_v, level


def ensure_exporting(lab: Lab, plan: Plan) -> float:
    """Nominal grid, output on, and wait (bench time) for the DUT to export; returns its current."""
    pre = plan.precondition
    with lab.steps.step(f"Nominal grid {plan.grid.voltage_v:g} V {plan.grid.frequency_hz:g} Hz; "
                        f"wait for the DUT to export above {pre.exporting_above_a:g} A"):
        lab.grid.apply(plan.grid.voltage_v, plan.grid.frequency_hz)
        lab.grid.output(True)
        readings: list[float] = []

        def exporting() -> bool:
            readings.append(lab.grid.current_a())
            return readings[-1] >= pre.exporting_above_a

        if not wait_until(lab.clock, exporting, timeout_s=pre.connect_timeout_s, poll_s=pre.poll_s):
            raise PreconditionError(
                f"the DUT did not export above {pre.exporting_above_a:g} A within "
                f"{pre.connect_timeout_s:g} s of a nominal grid (last reading {readings[-1]:.3f} A)")
    if pre.settle_s > 0:
        with lab.steps.step(f"Let the DUT settle for {pre.settle_s:g} s"):
            lab.clock.sleep(pre.settle_s)
    return readings[-1]


def disturbance(plan: Plan, quantity: str, level: float, hold_s: float, tail_s: float) -> GridProgram:
    """Step from nominal to ``level`` at the trigger, hold, step back to nominal."""
    nominal = grid_point(plan, quantity, plan.grid.voltage_v if quantity == "voltage" else plan.grid.frequency_hz)
    v, f = grid_point(plan, quantity, level)
    return GridProgram((GridStep.hold(hold_s, v, f), GridStep.hold(max(tail_s, 0.05), *nominal)))


ARMING_MARGIN_S = 2.0
"""Bench time a digitizer may take to arm beyond filling its pre-trigger memory."""


def captured_disturbance(lab: Lab, program: GridProgram, pre_s: float, post_s: float, rate_hz: float) -> Capture:
    """Arm the digitizer, wait until it is armed, run the program on the grid simulator (its trigger
    starts the capture), fetch; refuse a capture sampled slower than ``rate_hz``.

    A digitizer is ready for its trigger only once its pre-trigger memory has
    filled (``pre_s`` of bench time); a trigger before that is missed.
    """
    with lab.steps.step(f"Arm capture {pre_s:g} s before to {post_s:g} s after the trigger at {rate_hz:g} S/s"):
        lab.capture.arm(pre_s=pre_s, post_s=post_s, sample_rate_hz=rate_hz)
        timeout_s = pre_s + ARMING_MARGIN_S
        if not wait_until(lab.clock, lab.capture.armed, timeout_s=timeout_s, poll_s=max(pre_s / 5.0, 0.001)):
            raise PreconditionError(f"the digitizer was not armed {timeout_s:g} s after the single acquisition "
                                    f"started (its {pre_s:g} s pre-trigger memory must fill first); "
                                    "the disturbance was not started")
    with lab.steps.step("Run the disturbance on the grid simulator (list mode)"):
        lab.grid.run_program(program)
        lab.clock.sleep(post_s)
    with lab.steps.step("Fetch the capture"):
        if not wait_until(lab.clock, lab.capture.complete, timeout_s=max(5.0, post_s), poll_s=0.05):
            raise PreconditionError("the digitizer did not complete its acquisition (no trigger from the grid simulator?)")
        capture = lab.capture.fetch()
    interval_s = float(capture.t_s[1] - capture.t_s[0])
    with lab.steps.step(f"The digitizer sampled every {interval_s:.9g} s ({1.0 / interval_s:.6g} S/s, "
                        f"{len(capture.t_s)} samples)"):
        if 1.0 / interval_s < rate_hz * (1.0 - 1e-9):
            raise PreconditionError(f"the digitizer sampled at {1.0 / interval_s:.6g} S/s (every {interval_s:.9g} s), "
                                    f"below the plan's {rate_hz:g} S/s")
    return capture


def capture_frame(capture: Capture, program: GridProgram, quantity: str, nominal: float, cycle_samples: int) -> pd.DataFrame:
    """The evidence trace: time from the disturbance, current, voltage, one-cycle rms, commanded quantity."""
    current = capture.channels["current"]
    # Samples are 16-bit digitizer codes, so float32 loses nothing; time stays float64.
    return pd.DataFrame({
        "t_s": capture.t_s,
        "i_a": current.astype(np.float32),
        "v_v": capture.channels["voltage"].astype(np.float32),
        "i_rms_a": one_cycle_rms(current, cycle_samples).astype(np.float32),
        "commanded": program.commanded(quantity, capture.t_s, before=nominal).astype(np.float32),
    })


def _nominal(plan: Plan, quantity: str) -> float:
    return plan.grid.voltage_v if quantity == "voltage" else plan.grid.frequency_hz


def _disturb_and_capture(lab: Lab, plan: Plan, case: TripTimeCase | NoTripCase) -> tuple[pd.DataFrame, float]:
    """Shared by trip time and no-trip: capture a step to ``level`` held ``hold_s``; returns trace and pre-current."""
    p = case.params
    ensure_exporting(lab, plan)
    program = disturbance(plan, case.quantity, p.level, p.hold_s, p.post_s - p.hold_s)
    with lab.steps.step(f"Step {case.quantity} to {p.level:g} {case.unit} for {p.hold_s:g} s"):
        capture = captured_disturbance(lab, program, p.pre_s, p.post_s, p.sample_rate_hz)
    lab.grid.apply(plan.grid.voltage_v, plan.grid.frequency_hz)
    n = samples_per_cycle(capture.t_s, plan.grid.frequency_hz)
    frame = capture_frame(capture, program, case.quantity, _nominal(plan, case.quantity), n)
    before = frame["i_rms_a"].to_numpy()[(frame["t_s"] < 0).to_numpy()]
    pre_current = float(np.min(before[n:])) if before.size > n else float("nan")
    if not pre_current >= p.threshold_a:
        raise PreconditionError(f"the DUT was not exporting before the disturbance (min one-cycle rms {pre_current:.3f} A)")
    return frame, pre_current


def trip_time(lab: Lab, plan: Plan, case: TripTimeCase) -> ProcedureOutcome:
    """Step beyond the setting and time the DUT's disconnection from the captured current."""
    p = case.params
    frame, pre_current = _disturb_and_capture(lab, plan, case)
    with lab.steps.step("Find the trip instant: one-cycle rms below the threshold, and staying there"):
        found = detect_trip(frame["t_s"].to_numpy(), frame["i_a"].to_numpy(), p.threshold_a,
                            plan.grid.frequency_hz, rms=frame["i_rms_a"].to_numpy())
    measured = {
        "trip_time_s": None if found is None else round(found.instant_s, 6),
        "rms_below_s": None if found is None else round(found.rms_below_s, 6),
        "pre_disturbance_current_a": round(pre_current, 4),
        "sample_interval_s": round(float(frame["t_s"].iloc[1] - frame["t_s"].iloc[0]), 9),  # time resolution
    }
    plot = PlotRequest("trip_time", "capture", case.quantity, case.unit, p.threshold_a,
                       None if found is None else found.instant_s)
    return ProcedureOutcome(measured, {"capture": frame}, plot)


def no_trip(lab: Lab, plan: Plan, case: NoTripCase) -> ProcedureOutcome:
    """Hold a level inside the protection's tolerance; the DUT must keep exporting throughout."""
    p = case.params
    frame, pre_current = _disturb_and_capture(lab, plan, case)
    with lab.steps.step("Check the one-cycle rms current stayed above the threshold throughout"):
        after = frame["i_rms_a"].to_numpy()[(frame["t_s"] >= 0).to_numpy()]
        found = detect_trip(frame["t_s"].to_numpy(), frame["i_a"].to_numpy(), p.threshold_a,
                            plan.grid.frequency_hz, rms=frame["i_rms_a"].to_numpy())
    measured: dict[str, float | None] = {
        "min_current_a": round(float(after.min()), 4),
        "pre_disturbance_current_a": round(pre_current, 4),
    }
    if found is not None:  # evidence of the failure: when it let go
        measured["tripped_at_s"] = round(found.instant_s, 6)
    plot = PlotRequest("trip_time", "capture", case.quantity, case.unit, p.threshold_a,
                       None if found is None else found.instant_s)
    return ProcedureOutcome(measured, {"capture": frame}, plot)


def trip_value(lab: Lab, plan: Plan, case: TripValueCase) -> ProcedureOutcome:
    """Approach the setting in steps, each held longer than the delay; the trip value is the level it tripped at."""
    p = case.params
    ensure_exporting(lab, plan)
    rows = []
    tripped_at: float | None = None
    for level in p.levels():
        with lab.steps.step(f"Hold {case.quantity} at {level:g} {case.unit} for {p.dwell_s:g} s"):
            applied = lab.clock.now()
            lab.grid.apply(*grid_point(plan, case.quantity, level))
            lab.clock.sleep(p.dwell_s)
            reading = lab.grid.read()
        measured_level = reading.voltage_v if case.quantity == "voltage" else reading.frequency_hz
        rows.append({"applied_s": applied, "read_s": lab.clock.now(), "level": level,
                     "measured_level": measured_level, "current_a": reading.current_a})
        if reading.current_a < p.threshold_a:
            tripped_at = measured_level
            break
        if p.recover_s > 0:
            lab.grid.apply(plan.grid.voltage_v, plan.grid.frequency_hz)
            lab.clock.sleep(p.recover_s)
            if lab.grid.current_a() < p.threshold_a:
                raise PreconditionError(f"the DUT stopped exporting while back at nominal after {level:g} {case.unit}")
    lab.grid.apply(plan.grid.voltage_v, plan.grid.frequency_hz)
    measured = {"trip_value": None if tripped_at is None else round(tripped_at, 4), "levels_tried": float(len(rows))}
    plot = PlotRequest("staircase", "staircase", case.quantity, case.unit, p.threshold_a, tripped_at,
                       setting=case.setting.threshold)
    return ProcedureOutcome(measured, {"staircase": pd.DataFrame(rows)}, plot)


PROCEDURES = {
    "trip_value": Procedure(trip_value, roles=("grid",)),
    "trip_time": Procedure(trip_time, roles=("grid", "capture")),
    "no_trip": Procedure(no_trip, roles=("grid", "capture")),
}
