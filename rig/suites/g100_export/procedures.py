"""G100 export limitation procedures: load steps, an excursion, the loss of the boundary sensor.

Each reads like the test: bring the charger to export at the nominal grid,
switch the household load banks (or open the boundary CT's lead) through the
digital I/O, and read the boundary export from the grid simulator's power
meter while the charger responds. The grid simulator is the site boundary:
its MEAS:POW is the site's export (negative while power flows into it).

Why polled readings and not a capture: the digitizer's current probe is on
the charger's own lead, not at the boundary, and a G100 response is seconds
long; the grid simulator's meter is at the boundary, and a reading every
``poll_s`` (a periodic task on the rig's clock, so virtual time costs nothing
and a real bench keeps its schedule) resolves a 5 s response to a few
percent. The poll period and the meter's accuracy enter every time's
uncertainty (``rig.suites.g100_export.measurements``).

Every site output (load banks, CT break) is off at the end of each case,
whatever happened; the dio's safe state covers every other exit. What cannot
be judged (a charger that does not export, an excursion the bench's loads
cannot make, readings too noisy) is ``CannotJudge``, never a pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rig.run.bench_lab import Lab
from rig.suites.platform import CannotJudge, PlotRequest, PreconditionError, Procedure, ProcedureOutcome
from rig.suites.grid_code.exporting import ensure_exporting
from rig.suites.g100_export.measurements import (Crossing, Readings, came_under, mean_uncertainty,
                                                  reading_uncertainty, steady_noise_w)
from rig.suites.g100_export.plots import BoundaryExportOptions
from rig.suites.g100_export.plan import ExcursionCase, LoadStepsCase, Plan, SensorLossCase

PLOT_KIND = "g100.boundary_export"


@dataclass
class BoundaryLog:
    """Boundary export readings taken by a periodic task while the procedure waits, and the switchings."""

    lab: Lab
    t_s: list[float] = field(default_factory=list)
    export_w: list[float] = field(default_factory=list)
    switched_s: list[float] = field(default_factory=list)
    switchings: list[int] = field(default_factory=list)

    def read(self) -> None:
        self.t_s.append(self.lab.clock.now())
        self.export_w.append(-self.lab.grid.power_w())  # the source absorbs what the site exports
        self.switchings.append(len(self.switched_s))  # a reading at a switching's own instant was taken before it

    def readings(self, reference_s: float) -> Readings:
        return Readings(np.array(self.t_s) - reference_s, np.array(self.export_w), np.array(self.switchings))


@contextmanager
def site_under_test(lab: Lab, plan: Plan) -> Iterator[BoundaryLog]:
    """Every site output off, the boundary read every ``poll_s`` while the body runs; every site output off
    again at the end, whatever happened (the reading task is cancelled first)."""
    log = BoundaryLog(lab)
    all_site_outputs_off(lab)
    task = lab.clock.every(plan.measurement.poll_s, log.read, name="G100 boundary export")
    try:
        yield log
    finally:
        task.cancel()
        all_site_outputs_off(lab)


def all_site_outputs_off(lab: Lab) -> None:
    for line in [*lab.site.load_banks, lab.site.sensor_break]:
        lab.dio.set_output(line, False)


def switch_loads(lab: Lab, log: BoundaryLog, on: list[str]) -> float:
    """Exactly the banks ``on`` switched on (the rest off); returns the instant the last switching returned."""
    unknown = [bank for bank in on if bank not in lab.site.load_banks]
    if unknown:
        raise PreconditionError(f"the plan switches load banks {unknown} the bench's site does not have "
                                f"(site.load_banks: {', '.join(lab.site.load_banks)})")
    for bank in lab.site.load_banks:
        lab.dio.set_output(bank, bank in on)
    now = lab.clock.now()
    log.switched_s.append(now)
    return now


def loads_power_w(lab: Lab, banks: list[str], voltage_v: float) -> float:
    """What ``banks`` draw at ``voltage_v``, from the bench's declared ratings."""
    return sum(lab.site.load_power_w(bank, voltage_v) for bank in banks)


def _exporting(lab: Lab, plan: Plan) -> float:
    """Export at the nominal grid (the protection suite's precondition: plan grid, precondition, suite name);
    returns the terminal voltage the load banks' power is computed at."""
    ensure_exporting(lab, plan)
    return lab.grid.read().voltage_v


def _frame(plan: Plan, readings: Readings, judged: np.ndarray, household_w: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"t_s": readings.t_s, "export_w": readings.export_w, "limit_w": plan.export_limit_w,
                         "household_w": household_w, "judged": judged.astype(float)})


def _require_steady(plan: Plan, readings: Readings, start_s: float, end_s: float, evidence: ProcedureOutcome) -> None:
    noise, count = steady_noise_w(readings, start_s, end_s)
    if count < 3:
        raise CannotJudge(f"only {count} readings in the steady window: lengthen it or poll faster", evidence)
    if noise > plan.measurement.max_noise_w:
        raise CannotJudge(f"the boundary readings scatter by {noise:.1f} W (standard deviation) while nothing "
                          f"changes; the plan allows {plan.measurement.max_noise_w:g} W", evidence)


def _crossing_record(crossing: Crossing | None, name: str, measured: dict[str, float | None]) -> dict:
    measured[name] = None if crossing is None else round(crossing.time_s, 4)
    return {} if crossing is None else {name: crossing.uncertainty}


def load_steps(lab: Lab, plan: Plan, case: LoadStepsCase) -> ProcedureOutcome:
    """The boundary export through a sequence of load steps, judged once each step has had its response time."""
    p = case.params
    voltage = _exporting(lab, plan)
    household: list[tuple[float, float]] = []
    with site_under_test(lab, plan) as log:
        reference = lab.clock.now()
        for step in p.steps:
            names = ", ".join(step.loads) or "no load"
            with lab.steps.step(f"Household load: {names}; hold {step.hold_s:g} s reading the boundary export"):
                household.append((switch_loads(lab, log, step.loads), loads_power_w(lab, step.loads, voltage)))
                lab.clock.sleep(step.hold_s)
    readings = log.readings(reference)
    starts = np.array([t for t, _ in household]) - reference
    step_of = readings.switchings - 1
    household_w = np.where(step_of >= 0, np.array([w for _, w in household])[np.maximum(step_of, 0)], 0.0)
    judged = (step_of >= 0) & (readings.t_s >= starts[np.maximum(step_of, 0)] + p.response_s)
    evidence = ProcedureOutcome({}, {"readings": _frame(plan, readings, judged, household_w)})
    _require_steady(plan, readings, p.steps[0].hold_s / 2.0, p.steps[0].hold_s, evidence)
    limit = plan.export_limit_w
    charger_w = readings.export_w + household_w  # what the charger exported, by the declared loads
    if not np.any(judged & (household_w > 0) & (charger_w > limit)):
        raise CannotJudge(f"the charger never exported more than the {limit:g} W limit while a load was on (at most "
                          f"{float(np.max(charger_w)):.0f} W): the load steps did not exercise its export limitation",
                          evidence)
    if not judged.any():
        raise CannotJudge("no reading falls outside the allowed response times: lengthen the holds", evidence)
    peak = int(np.flatnonzero(judged)[np.argmax(readings.export_w[judged])])
    measured: dict[str, float | None] = {
        "max_export_w": round(float(readings.export_w[peak]), 2),
        "max_export_at_s": round(float(readings.t_s[peak]), 4),
        "max_charger_export_w": round(float(np.max(charger_w)), 1),
        "readings": float(len(readings.t_s)),
    }
    findings = [f"largest boundary export once each step had its {p.response_s:g} s: "
                f"{measured['max_export_w']:.1f} W at {measured['max_export_at_s']:.2f} s (limit {limit:g} W); the "
                f"charger exported up to {measured['max_charger_export_w']:.0f} W with household load on"]
    plot = PlotRequest(PLOT_KIND, "readings", BoundaryExportOptions(
        limit_w=limit, marker_s=None, marker="", x_label="time from the first step (s)"))
    return ProcedureOutcome(measured, evidence.traces, plot,
                            {"max_export_w": reading_uncertainty(plan.measurement, readings.export_w[peak])},
                            findings=findings)


def excursion(lab: Lab, plan: Plan, case: ExcursionCase) -> ProcedureOutcome:
    """Switch the preload off so the boundary export jumps above the limit; time its correction."""
    p = case.params
    limit = plan.export_limit_w
    voltage = _exporting(lab, plan)
    released = loads_power_w(lab, p.preload, voltage)
    with site_under_test(lab, plan) as log:
        with lab.steps.step(f"Household load {', '.join(p.preload)} on ({released:.0f} W at {voltage:.1f} V); hold "
                            f"{p.settle_s:g} s"):
            switch_loads(lab, log, p.preload)
            lab.clock.sleep(p.settle_s)
        with lab.steps.step(f"Switch it off (the boundary export jumps by about {released:.0f} W); read "
                            f"{p.observe_s:g} s"):
            switched = switch_loads(lab, log, [])
            lab.clock.sleep(p.observe_s)
    readings = log.readings(switched)
    judged = readings.switchings >= 2
    household_w = np.where(judged, 0.0, released)
    evidence = ProcedureOutcome({}, {"readings": _frame(plan, readings, judged, household_w)})
    _require_steady(plan, readings, -p.settle_s / 2.0, 0.0, evidence)
    before = float(np.mean(readings.export_w[readings.between(-p.settle_s / 2.0, 0.0)]))
    if before + released < limit + p.min_excursion_w:
        raise CannotJudge(f"the limit is not reachable: {before:.0f} W at the boundary plus the {released:.0f} W "
                          f"released is under {limit:g} W + {p.min_excursion_w:g} W (the charger does not use the "
                          "headroom, or the bench's load banks are too small)", evidence)
    after = readings.after(2)
    if not after.size or readings.export_w[after[0]] <= limit:
        raise CannotJudge(f"no excursion: the first reading after the switching is "
                          f"{float(readings.export_w[after[0]]) if after.size else float('nan'):.0f} W, not above the "
                          f"{limit:g} W limit (the charger corrected faster than one poll, or never used the headroom)",
                          evidence)
    crossing = came_under(readings, limit, plan.measurement, switching=2)
    settled = readings.export_w[readings.between(p.observe_s - p.settled_s, np.inf)]
    measured: dict[str, float | None] = {
        "export_before_w": round(before, 1),
        "released_load_w": round(released, 1),
        "peak_export_w": round(float(np.max(readings.export_w[after])), 1),
        "settled_export_w": round(float(np.mean(settled)), 2),
    }
    uncertainty = {"settled_export_w": mean_uncertainty(plan.measurement, settled),
                   **_crossing_record(crossing, "correction_time_s", measured)}
    findings = [f"the boundary export jumped to {measured['peak_export_w']:.0f} W (limit {limit:g} W) and "
                + ("never came back under the limit within the observation" if crossing is None else
                   f"came back under the limit for good {crossing.time_s:.2f} s after the load was switched off")
                + f"; settled at {measured['settled_export_w']:.1f} W"]
    plot = PlotRequest(PLOT_KIND, "readings", BoundaryExportOptions(
        limit_w=limit, marker_s=measured["correction_time_s"], marker="back under the limit",
        x_label="time from the load switched off (s)"))
    return ProcedureOutcome(measured, evidence.traces, plot, uncertainty, findings=findings)


def sensor_loss(lab: Lab, plan: Plan, case: SensorLossCase) -> ProcedureOutcome:
    """Open the boundary CT's lead while the charger exports; time its way into the fail-safe state."""
    p = case.params
    level = p.failsafe_export_w
    _exporting(lab, plan)
    with site_under_test(lab, plan) as log:
        with lab.steps.step(f"Export with the boundary sensor intact for {p.settle_s:g} s"):
            lab.clock.sleep(p.settle_s)
        with lab.steps.step(f"Open the boundary CT's lead ({lab.site.sensor_break}); read {p.observe_s:g} s"):
            lab.dio.set_output(lab.site.sensor_break, True)
            lost = lab.clock.now()
            log.switched_s.append(lost)
            lab.clock.sleep(p.observe_s)
    readings = log.readings(lost)
    judged = readings.switchings >= 1
    evidence = ProcedureOutcome({}, {"readings": _frame(plan, readings, judged, np.zeros(len(readings.t_s)))})
    _require_steady(plan, readings, -p.settle_s / 2.0, 0.0, evidence)
    before = float(np.mean(readings.export_w[readings.between(-p.settle_s / 2.0, 0.0)]))
    margin = plan.measurement.power_accuracy_pct / 100.0 * abs(before) + plan.measurement.power_accuracy_w
    if before <= level + margin:
        raise CannotJudge(f"the site exported {before:.0f} W before the sensor was lost, not clearly above the "
                          f"fail-safe level ({level:g} W): its loss would not show", evidence)
    crossing = came_under(readings, level, plan.measurement, switching=1)
    after = readings.after(1)
    measured: dict[str, float | None] = {
        "export_before_w": round(before, 1),
        "largest_export_after_loss_w": round(float(np.max(readings.export_w[after])), 1),
        "final_export_w": round(float(readings.export_w[after[-1]]), 1),
    }
    uncertainty = _crossing_record(crossing, "failsafe_time_s", measured)
    findings = [f"with the sensor lost the boundary export went from {before:.0f} W to "
                f"{measured['final_export_w']:.0f} W (largest {measured['largest_export_after_loss_w']:.0f} W); "
                + ("it never settled at or below the fail-safe level" if crossing is None else
                   f"at or below the fail-safe level ({level:g} W) for good {crossing.time_s:.2f} s after the loss")]
    plot = PlotRequest(PLOT_KIND, "readings", BoundaryExportOptions(
        limit_w=level, marker_s=measured["failsafe_time_s"], marker="fail-safe state",
        x_label="time from the sensor lost (s)"))
    return ProcedureOutcome(measured, evidence.traces, plot, uncertainty, findings=findings)


PROCEDURES = {
    "load_steps": Procedure(load_steps, roles=("grid", "dio"), sections=("site",)),
    "excursion": Procedure(excursion, roles=("grid", "dio"), sections=("site",)),
    "sensor_loss": Procedure(sensor_loss, roles=("grid", "dio"), sections=("site",)),
}
