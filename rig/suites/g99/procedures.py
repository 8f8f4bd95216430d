"""G99 interface protection procedures: trip value, trip time, no-trip hold.

They read like the type-test steps: bring the charger to export at the
nominal grid, disturb the grid on the grid simulator itself, observe the
charger's current, report what was measured. Limits and verdicts are the
engine's business; every number comes from the plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rig.run.bench_lab import Lab
from rig.suites.platform import CannotJudge, PlotRequest, PreconditionError, Procedure, ProcedureOutcome
from rig.suites.g99.plots import StaircaseOptions, TripOptions
from rig.suites.g99.plan import (UNITS, NoTripCase, OperatingRangeCase, Plan, ReconnectionCase, TripTimeCase,
                                 TripValueCase)
from rig.suites.grid_code.capture import captured_disturbance
from rig.suites.grid_code.exporting import ensure_exporting
from rig.suites.grid_code.trip_detection import (JUDGEABLE_MARGIN, Fundamental, detect_resumption, detect_trip, fundamental,
                                          require_judgeable)
from rig.core.results import Limit
from rig.core.roles import Capture, GridProgram, GridStep
from rig.core.uncertainty import expanded, normal, rectangular


def grid_point(plan: Plan, quantity: str, level: float) -> tuple[float, float]:
    """(voltage, frequency) with ``quantity`` at ``level`` and the other at nominal."""
    if quantity == "voltage":
        return level, plan.grid.frequency_hz
    return plan.grid.voltage_v, level


def disturbance(plan: Plan, case: TripTimeCase | NoTripCase) -> GridProgram:
    """The case's disturbance as a list program from the trigger: its step or ramp legs, then back to nominal
    for the rest of the capture."""
    quantity, nominal_level = case.grid_quantity, case.nominal(plan)
    p = case.params
    steps = []
    for duration, start, end, jump in p.legs(nominal_level):
        v0, f0 = grid_point(plan, quantity, start)
        v1, f1 = grid_point(plan, quantity, end)
        steps.append(GridStep(duration, (v0, v1), (f0, f1), jump))
    tail_s = p.post_s - p.duration_s(nominal_level)
    steps.append(GridStep.hold(max(tail_s, 0.05), *grid_point(plan, quantity, nominal_level)))
    return GridProgram(tuple(steps))


def describe_disturbance(case: TripTimeCase | NoTripCase) -> str:
    """The disturbance in words, for the step log."""
    p = case.params
    if p.ramps is None:
        return f"Step {case.grid_quantity} to {p.level:g} {UNITS[case.grid_quantity]} for {p.hold_s:g} s"
    legs = ", ".join((f"jump the phase {r.phase_jump_deg:+g} deg, " if r.phase_jump_deg else "")
                     + f"to {r.to:g} at {r.rate_per_s:g} {UNITS[case.grid_quantity]}/s"
                     + (f" (hold {r.hold_s:g} s)" if r.hold_s else "") for r in p.ramps)
    return f"Ramp {case.grid_quantity} {legs}; trip timed from the start of leg {p.timed_from}"


def capture_frame(capture: Capture, program: GridProgram, quantity: str, nominal: float,
                  signal: Fundamental) -> pd.DataFrame:
    """The evidence trace: time from the disturbance, current, voltage, one-cycle fundamental rms, commanded quantity."""
    # Samples are 16-bit digitizer codes, so float32 loses nothing; time stays float64.
    return pd.DataFrame({
        "t_s": capture.t_s,
        "i_a": capture.channels["current"].astype(np.float32),
        "v_v": capture.channels["voltage"].astype(np.float32),
        "i_rms_a": signal.rms_a.astype(np.float32),
        "commanded": program.commanded(quantity, capture.t_s, before=nominal).astype(np.float32),
    })


def _nominal(plan: Plan, quantity: str) -> float:
    return plan.grid.voltage_v if quantity == "voltage" else plan.grid.frequency_hz


@dataclass(frozen=True)
class DisturbanceRecord:
    """A captured disturbance, ready to be judged: its trace, the current's fundamental, the current before."""

    frame: pd.DataFrame
    signal: Fundamental
    pre_current_a: float


def _disturb_and_capture(lab: Lab, plan: Plan, case: TripTimeCase | NoTripCase) -> DisturbanceRecord:
    """Shared by trip time and no-trip: capture a step to ``level`` held ``hold_s``, demodulate the current,
    and refuse a capture that cannot be judged (noise) or did not start from export."""
    p = case.params
    ensure_exporting(lab, plan)
    program = disturbance(plan, case)
    with lab.steps.step(describe_disturbance(case)):
        capture = captured_disturbance(lab, program, p.pre_s, p.post_s, p.sample_rate_hz)
    lab.grid.apply(plan.grid.voltage_v, plan.grid.frequency_hz)
    with lab.steps.step("Demodulate the current against the commanded grid phase; measure its noise floor"):
        frequency = program.commanded("frequency", capture.t_s, before=plan.grid.frequency_hz)
        signal = fundamental(capture.t_s, capture.channels["current"], frequency, plan.grid.frequency_hz)
        require_judgeable(signal, p.threshold_a)
    frame = capture_frame(capture, program, case.grid_quantity, case.nominal(plan), signal)
    n = signal.samples_per_cycle
    before = signal.rms_a[(capture.t_s < 0)][n:]
    pre_current = float(np.min(before))
    needed = p.threshold_a + JUDGEABLE_MARGIN * signal.floor_a
    if not pre_current >= needed:
        raise PreconditionError(f"the DUT was not exporting clearly before the disturbance (least one-cycle "
                                f"fundamental {pre_current:.3f} A; {needed:.3f} A needed: the threshold and six "
                                "noise floors)")
    return DisturbanceRecord(frame, signal, pre_current)


def trip_time(lab: Lab, plan: Plan, case: TripTimeCase) -> ProcedureOutcome:
    """Step beyond the setting and time the DUT's disconnection from the captured current."""
    p = case.params
    record = _disturb_and_capture(lab, plan, case)
    t_s = record.frame["t_s"].to_numpy()
    origin = p.origin_s(case.nominal(plan))
    with lab.steps.step("Find the trip instant: the fundamental below the threshold for good, located by "
                        "maximum likelihood on the waveform" + (f"; timed from {origin:g} s" if origin else "")):
        found = detect_trip(t_s, record.frame["i_a"].to_numpy(), record.signal, p.threshold_a)
    measured: dict[str, float | None] = {
        "trip_time_s": None if found is None else round(found.instant_s - origin, 6),
        "fundamental_below_s": None if found is None else round(found.below_s, 6),
        "pre_disturbance_current_a": round(record.pre_current_a, 4),
        "noise_floor_a": round(record.signal.floor_a, 5),
        "sample_interval_s": round(float(t_s[1] - t_s[0]), 9),
    }
    uncertainty = {}
    if found is not None:
        uncertainty["trip_time_s"] = expanded(
            rectangular(f"sample interval {found.sample_interval_s * 1e3:.4g} ms", found.sample_interval_s / 2.0),
            normal("edge location under noise (likelihood interval)", found.likelihood_half_width_s))
    plot = trip_plot(case, None if found is None else found.instant_s, case.limits.trip_time_s, origin,
                     case.nominal(plan))
    return ProcedureOutcome(measured, {"capture": record.frame}, plot, uncertainty)


def trip_plot(case: TripTimeCase | NoTripCase, instant_s: float | None, window: Limit | None,
              origin_s: float = 0.0, nominal: float | None = None) -> PlotRequest:
    """A trip plot of the capture: the disturbance, the current, the trip instant, the acceptance window (placed
    from the trip time's origin), and a vector shift where the program jumps the phase (``nominal``: the
    level the program starts from, to place it)."""
    jump: tuple[float, float] | None = None
    if nominal is not None:
        at = 0.0
        for leg in case.params.legs(nominal):
            if leg.phase_jump_deg and jump is None:
                jump = (at, leg.phase_jump_deg)
            at += leg.duration
    return PlotRequest("g99.trip_time", "capture", TripOptions(
        quantity=case.grid_quantity, quantity_unit=UNITS[case.grid_quantity],
        threshold_a=case.params.threshold_a, trip_instant_s=instant_s,
        limit_min_s=None if window is None or window.min is None else window.min + origin_s,
        limit_max_s=None if window is None or window.max is None else window.max + origin_s,
        **({} if jump is None else {"phase_jump_s": jump[0], "phase_jump_deg": jump[1]})))


def no_trip(lab: Lab, plan: Plan, case: NoTripCase) -> ProcedureOutcome:
    """Hold a level inside the protection's tolerance; the DUT must keep exporting throughout."""
    p = case.params
    record = _disturb_and_capture(lab, plan, case)
    t_s = record.frame["t_s"].to_numpy()
    with lab.steps.step("Check the one-cycle fundamental stayed above the threshold throughout"):
        after = record.signal.rms_a[t_s >= 0.0]
        found = detect_trip(t_s, record.frame["i_a"].to_numpy(), record.signal, p.threshold_a)
    measured: dict[str, float | None] = {
        "min_current_a": round(float(after.min()), 4),
        "pre_disturbance_current_a": round(record.pre_current_a, 4),
        "noise_floor_a": round(record.signal.floor_a, 5),
    }
    if found is not None:  # evidence of the failure: when it let go
        measured["tripped_at_s"] = round(found.instant_s, 6)
    uncertainty = {"min_current_a": expanded(normal("noise on a one-cycle estimate", 2.0 * record.signal.floor_a))}
    plot = trip_plot(case, None if found is None else found.instant_s, None, nominal=case.nominal(plan))
    return ProcedureOutcome(measured, {"capture": record.frame}, plot, uncertainty)


@dataclass(frozen=True)
class LevelHeld:
    """One level of a trip-value search: what was commanded, read back, and whether the DUT tripped."""

    search: str
    applied_s: float
    read_s: float
    level: float
    measured_level: float
    current_a: float
    tripped: bool


def _staircase(lab: Lab, plan: Plan, case: TripValueCase, levels: list[float], search: str) -> list[LevelHeld]:
    """Hold each level in turn until the DUT trips (back at nominal between levels when ``recover_s``)."""
    p = case.params
    held: list[LevelHeld] = []
    for level in levels:
        with lab.steps.step(f"{search.capitalize()} search: hold {case.quantity} at {level:g} {case.unit} "
                            f"for {p.dwell_s:g} s"):
            applied = lab.clock.now()
            lab.grid.apply(*grid_point(plan, case.quantity, level))
            lab.clock.sleep(p.dwell_s)
            reading = lab.grid.read()
        measured_level = reading.voltage_v if case.quantity == "voltage" else reading.frequency_hz
        tripped = reading.current_a < p.threshold_a
        held.append(LevelHeld(search, applied, lab.clock.now(), level, measured_level, reading.current_a, tripped))
        if tripped:
            break
        if p.recover_s > 0:
            lab.grid.apply(plan.grid.voltage_v, plan.grid.frequency_hz)
            lab.clock.sleep(p.recover_s)
            if lab.grid.current_a() < p.threshold_a:
                raise PreconditionError(f"the DUT stopped exporting while back at nominal after {level:g} {case.unit}")
    return held


def _bracket_from_below(lab: Lab, plan: Plan, case: TripValueCase, first: LevelHeld) -> list[LevelHeld]:
    """The DUT tripped at the search's first level: step back towards nominal, one coarse step at a time,
    until a level holds (each trip costs a reconnection). Returns the levels held, the holding one last."""
    p = case.params
    nominal = _nominal(plan, case.quantity)
    rows: list[LevelHeld] = []
    level = first.level
    while True:
        level = round(level - p.direction * p.step, 6)
        if (level - nominal) * p.direction <= 0:
            raise PreconditionError(f"the DUT tripped at every level from {first.level:g} {case.unit} back to "
                                    f"nominal: it trips nearer nominal than the search can bracket")
        lab.grid.apply(plan.grid.voltage_v, plan.grid.frequency_hz)
        ensure_exporting(lab, plan)
        held = _staircase(lab, plan, case, [level], "coarse")
        rows += held
        if not held[-1].tripped:
            return rows


def trip_value(lab: Lab, plan: Plan, case: TripValueCase) -> ProcedureOutcome:
    """Find the level the DUT trips at: a coarse staircase towards and past the setting, then a fine one from
    the last coarse level that held. The trip value lies between the last fine level that held and the first
    that tripped: their midpoint, with half their distance (the resolution) as its uncertainty.

    A DUT that trips at the very first level is bracketed by stepping back towards nominal first.
    """
    p = case.params
    ensure_exporting(lab, plan)
    rows = _staircase(lab, plan, case, p.levels(), "coarse")
    bracket: tuple[LevelHeld, LevelHeld] | None = None
    if rows[-1].tripped:
        tripped = rows[-1]
        if len(rows) == 1:
            back = _bracket_from_below(lab, plan, case, tripped)
            rows += back
            held, tripped = back[-1], (back[-2] if len(back) > 1 else tripped)
        else:
            held = rows[-2]
        lab.grid.apply(plan.grid.voltage_v, plan.grid.frequency_hz)
        ensure_exporting(lab, plan)
        fine = _staircase(lab, plan, case, p.fine_levels(held.level, tripped.level), "fine")
        rows += fine
        if not fine[-1].tripped:
            raise CannotJudge(f"cannot judge: the DUT tripped at {tripped.level:g} {case.unit} in the coarse search "
                              "but not when that level was held again in the fine search: its trip value is not "
                              "repeatable")
        bracket = (fine[-2] if len(fine) > 1 else held, fine[-1])
    lab.grid.apply(plan.grid.voltage_v, plan.grid.frequency_hz)
    measured: dict[str, float | None] = {"trip_value": None, "levels_held": float(len(rows))}
    uncertainty = {}
    found = None
    if bracket is not None:
        below, at = bracket
        found = (below.measured_level + at.measured_level) / 2.0
        measured["trip_value"] = round(found, 4)
        measured["last_level_held"] = round(below.measured_level, 4)
        measured["first_level_tripped"] = round(at.measured_level, 4)
        uncertainty["trip_value"] = expanded(rectangular(
            f"resolution of the fine search ({p.fine_step:g} {case.unit} steps)",
            abs(at.measured_level - below.measured_level) / 2.0))
    frame = pd.DataFrame([{"search": r.search, "applied_s": r.applied_s, "read_s": r.read_s, "level": r.level,
                           "measured_level": r.measured_level, "current_a": r.current_a} for r in rows])
    window = case.limits.trip_value
    plot = PlotRequest("g99.staircase", "staircase", StaircaseOptions(
        quantity=case.quantity, quantity_unit=case.unit, threshold_a=p.threshold_a, trip_value=found,
        setting=case.setting.threshold, limit_min=window.min, limit_max=window.max))
    return ProcedureOutcome(measured, {"staircase": frame}, plot, uncertainty)


def reconnection(lab: Lab, plan: Plan, case: ReconnectionCase) -> ProcedureOutcome:
    """Trip the DUT; hold the grid just outside its reconnection window (it must stay off); restore nominal
    with the digitizer's trigger and time how long it takes to export again."""
    p = case.params
    ensure_exporting(lab, plan)
    with lab.steps.step(f"Trip the DUT: {_point_words(p.trip_at.values(plan))} for {p.trip_hold_s:g} s"):
        lab.grid.apply(*p.trip_at.values(plan))
        lab.clock.sleep(p.trip_hold_s)
        left = lab.grid.current_a()
    if left >= p.threshold_a:
        raise CannotJudge(f"cannot judge: the DUT still exported {left:.3f} A after {p.trip_hold_s:g} s at "
                          f"{_point_words(p.trip_at.values(plan))}, so there is no trip to reconnect from")
    measured: dict[str, float | None] = {}
    uncertainty = {}
    if p.outside is not None:
        point = p.outside.values(plan)
        with lab.steps.step(f"Hold just outside the reconnection window, {_point_words(point)}, for "
                            f"{p.outside_hold_s:g} s, reading the current every {p.poll_s:g} s"):
            lab.grid.apply(*point)
            readings: list[float] = []
            end = lab.clock.now() + p.outside_hold_s
            while (left_s := end - lab.clock.now()) > 0:
                lab.clock.sleep(min(p.poll_s, left_s))
                readings.append(lab.grid.current_a())
        measured["current_outside_a"] = round(max(readings), 4)
        measured["readings_outside"] = float(len(readings))
        uncertainty["current_outside_a"] = expanded(normal("grid simulator current reading", 0.01))
    program = GridProgram((GridStep.hold(p.post_s, plan.grid.voltage_v, plan.grid.frequency_hz),))
    before_v, before_hz = (p.outside or p.trip_at).values(plan)  # where the grid is until the trigger
    with lab.steps.step(f"Restore the nominal grid (the trigger) and capture {p.post_s:g} s of current"):
        capture = captured_disturbance(lab, program, p.pre_s, p.post_s, p.sample_rate_hz)
    with lab.steps.step("Find when the current came back for good (one-cycle fundamental above the threshold)"):
        frequency = program.commanded("frequency", capture.t_s, before=before_hz)
        signal = fundamental(capture.t_s, capture.channels["current"], frequency, plan.grid.frequency_hz)
        require_judgeable(signal, p.threshold_a)
        found = detect_resumption(capture.t_s, signal, p.threshold_a)
    measured["reconnection_time_s"] = None if found is None else round(found.instant_s, 4)
    measured["noise_floor_a"] = round(signal.floor_a, 5)
    if found is not None:
        measured["current_after_a"] = round(found.final_a, 4)
        uncertainty["reconnection_time_s"] = expanded(rectangular("sample interval and window fill",
                                                                  found.resolution_s))
    frame = capture_frame(capture, program, "voltage", before_v, signal)
    window = case.limits.reconnection_time_s
    plot = PlotRequest("g99.trip_time", "capture", TripOptions(
        quantity="voltage", quantity_unit="V", threshold_a=p.threshold_a,
        trip_instant_s=None if found is None else found.instant_s,
        limit_min_s=window.min, limit_max_s=window.max))
    return ProcedureOutcome(measured, {"capture": frame}, plot, uncertainty)


def operating_range(lab: Lab, plan: Plan, case: OperatingRangeCase) -> ProcedureOutcome:
    """Hold a condition the DUT must ride through (long holds in the GB frequency bands); it must stay connected
    and exporting, read every ``poll_s`` (faster than it could trip and reconnect), the power logged."""
    p = case.params
    ensure_exporting(lab, plan)
    point = p.at.values(plan)
    rows: list[dict[str, float]] = []
    with lab.steps.step(f"Hold {_point_words(point)} for {p.hold_s:g} s, reading the grid simulator every "
                        f"{p.poll_s:g} s"):
        start = lab.clock.now()
        lab.grid.apply(*point)
        while (left_s := start + p.hold_s - lab.clock.now()) > 0:
            lab.clock.sleep(min(p.poll_s, left_s))
            r = lab.grid.read()
            now = lab.clock.now() - start
            rows.append({"applied_s": rows[-1]["read_s"] if rows else 0.0, "read_s": now, "level": point[1],
                         "measured_level": r.frequency_hz, "voltage_v": r.voltage_v, "current_a": r.current_a,
                         "power_w": r.power_w})
    lab.grid.apply(plan.grid.voltage_v, plan.grid.frequency_hz)
    frame = pd.DataFrame(rows)
    off = frame[frame["current_a"] < p.threshold_a]
    measured: dict[str, float | None] = {
        "min_current_a": round(float(frame["current_a"].min()), 4),
        "mean_export_power_w": round(float(-frame["power_w"].mean()), 1),
        "readings": float(len(frame)),
    }
    findings = []
    if len(off):
        measured["first_off_at_s"] = round(float(off["read_s"].iloc[0]), 3)
        findings.append(f"the DUT was off at {len(off)} of {len(frame)} readings, first {off['read_s'].iloc[0]:.1f} s "
                        "into the hold")
    uncertainty = {"min_current_a": expanded(normal("grid simulator current reading", 0.01))}
    # drawn as a staircase of one level: the frequency held (read back) above, each current reading below
    plot = PlotRequest("g99.staircase", "hold", StaircaseOptions(
        quantity="frequency", quantity_unit="Hz", threshold_a=p.threshold_a, setting=None,
        trip_value=None, limit_min=None, limit_max=None))
    return ProcedureOutcome(measured, {"hold": frame}, plot, uncertainty, findings=findings)


def _point_words(point: tuple[float, float]) -> str:
    return f"{point[0]:g} V {point[1]:g} Hz"


PROCEDURES = {
    "trip_value": Procedure(trip_value, roles=("grid",)),
    "trip_time": Procedure(trip_time, roles=("grid", "capture")),
    "no_trip": Procedure(no_trip, roles=("grid", "capture")),
    "reconnection": Procedure(reconnection, roles=("grid", "capture")),
    "operating_range": Procedure(operating_range, roles=("grid",)),
}
