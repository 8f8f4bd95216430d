"""G99 frequency-response procedures: LFSM-O and active power at reduced frequency.

Both read like the type test: bring the charger to export at the nominal
grid, play the frequency step sequence on the grid simulator itself (its list
mode, so every step is exact and triggers the digitizer), capture voltage and
current through the whole sequence, and measure the power of every whole
cycle from the capture. Each step is then compared with the line the case's
setting draws. Limits and verdicts are the engine's; every number is the
plan's.

The power level: a case is judged only if the reference power lies in the
case's ``power_level`` share of the registered capacity. A bench with the
optional ``dut_control`` role limits the charger's export to the middle of
that share first and releases it after the case (``rig.suites.grid_code.power_level``);
without it the case runs at the power the charger exports, and at another
level it cannot be judged (an error, never a pass).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rig.run.bench_lab import Lab
from rig.core.results import Uncertainty
from rig.core.roles import Capture, GridProgram, GridStep
from rig.suites.platform import CannotJudge, PlotRequest, Procedure, ProcedureOutcome
from rig.suites.grid_code.capture import captured_disturbance
from rig.suites.grid_code.exporting import ensure_exporting
from rig.suites.g99_frequency_response.plots import FrequencyResponseOptions
from rig.suites.g99_frequency_response.plan import LfsmOCase, Plan, ReducedFrequencyCase, SequenceCase, step_key
from rig.suites.g99_frequency_response.power import (CyclePower, SteadyPower, band_entry, cycle_power,
                                                     largest_deviation, steady_power)
from rig.suites.grid_code.power_level import PowerSetting, at_power_level
from rig.core.uncertainty import expanded, normal, rectangular

JUDGEABLE_MARGIN = 6.0
"""The narrowest side of the tolerance band must be this many one-cycle noise deviations wide, or a cycle's
power in or out of the band says more about the noise than about the charger (as for trip detection)."""

TAIL_S = 0.1
"""Captured at nominal after the last step (the program ends at nominal)."""


@dataclass(frozen=True)
class StepResult:
    """One step of the sequence, measured."""

    index: int
    start_s: float
    end_s: float
    frequency_hz: float
    line_pu: float
    settled: SteadyPower
    deviation_pu: float
    deviation_u: Uncertainty
    response_s: float | None = None
    response_u: Uncertainty | None = None
    excursion_pu: float | None = None
    excursion_u: Uncertainty | None = None
    entered_cycle: int | None = None
    """Index into the capture's cycles of the first one in the band (LFSM-O)."""


def frequency_steps(plan: Plan, case: SequenceCase) -> GridProgram:
    """The sequence as a list program from the trigger, ending back at nominal."""
    v = plan.grid.voltage_v
    steps = [GridStep.hold(step.hold_s, v, step.frequency_hz) for step in case.params.steps]
    return GridProgram(tuple(steps) + (GridStep.hold(TAIL_S, v, plan.grid.frequency_hz),))


def lfsm_o(lab: Lab, plan: Plan, case: LfsmOCase) -> ProcedureOutcome:
    """LFSM-O: each step's settled power against the droop line, its response time and its steadiness."""
    return _step_sequence(lab, plan, case, judge_response=True)


def reduced_frequency(lab: Lab, plan: Plan, case: ReducedFrequencyCase) -> ProcedureOutcome:
    """Active power at reduced frequency: each step's settled power against the allowed line."""
    return _step_sequence(lab, plan, case, judge_response=False)


def _step_sequence(lab: Lab, plan: Plan, case: SequenceCase, judge_response: bool) -> ProcedureOutcome:
    ensure_exporting(lab, plan)
    with at_power_level(lab, case.params.power_level, plan.registered_capacity_w, plan.steady_export,
                        state="nominal grid") as setting:
        return _measured_sequence(lab, plan, case, judge_response, setting)


def _measured_sequence(lab: Lab, plan: Plan, case: SequenceCase, judge_response: bool,
                       setting: PowerSetting) -> ProcedureOutcome:
    p = case.params
    program = frequency_steps(plan, case)
    levels = " -> ".join(f"{step.frequency_hz:g}" for step in p.steps)
    with lab.steps.step(f"Step the frequency {plan.grid.frequency_hz:g} -> {levels} -> "
                        f"{plan.grid.frequency_hz:g} Hz (list mode), capturing voltage and current"):
        capture = captured_disturbance(lab, program, p.pre_s, p.duration_s + TAIL_S, p.sample_rate_hz)
    lab.grid.apply(plan.grid.voltage_v, plan.grid.frequency_hz)
    with lab.steps.step("Measure the power of every whole voltage cycle; the reference power and the one-cycle "
                        "noise before the first step"):
        cycles = cycle_power(capture.t_s, capture.channels["voltage"], capture.channels["current"],
                             plan.grid.frequency_hz)
        reference = steady_power(cycles, -p.pre_s, 0.0, "the pre-trigger window")
    raw = _capture_frame(capture, program, plan.grid.frequency_hz)
    measured: dict[str, float | None] = {
        "reference_power_w": round(reference.mean_w, 3),
        "power_level_pu": round(reference.mean_w / plan.registered_capacity_w, 6),
        "cycle_noise_w": round(reference.cycle_noise_w, 4),
    }
    if setting.limit_w is not None:
        measured["export_limit_w"] = round(setting.limit_w, 1)
    evidence = ProcedureOutcome(measured, {"capture": raw})
    _require_judgeable(plan, case, reference, evidence, setting)
    interval_s = float(capture.t_s[1] - capture.t_s[0])
    steps = [_measure_step(plan, case, cycles, reference, k, interval_s if judge_response else None)
             for k in range(len(p.steps))]
    uncertainty: dict[str, Uncertainty] = {}
    for step in steps:
        measured[step_key(step.index, "frequency_hz")] = step.frequency_hz
        measured[step_key(step.index, "power_w")] = round(step.settled.mean_w, 3)
        measured[step_key(step.index, "line_pu")] = round(step.line_pu, 6)
        measured[step_key(step.index, "deviation_pu")] = round(step.deviation_pu, 6)
        uncertainty[step_key(step.index, "deviation_pu")] = step.deviation_u
        if judge_response:
            measured[step_key(step.index, "response_s")] = None if step.response_s is None else round(step.response_s, 4)
            measured[step_key(step.index, "excursion_pu")] = (None if step.excursion_pu is None
                                                               else round(step.excursion_pu, 6))
            for name, value in (("response_s", step.response_u), ("excursion_pu", step.excursion_u)):
                if value is not None:
                    uncertainty[step_key(step.index, name)] = value
    traces = {"capture": raw, "power": _power_frame(plan, case, cycles, reference, steps)}
    plot = PlotRequest("g99.frequency_response", "power", FrequencyResponseOptions(
        function=case.procedure, threshold_hz=case.setting.threshold_hz,
        reference_power_w=round(reference.mean_w, 3)))
    return ProcedureOutcome(measured, traces, plot, uncertainty, findings=_findings(case, steps))


def _require_judgeable(plan: Plan, case: SequenceCase, reference: SteadyPower, evidence: ProcedureOutcome,
                       setting: PowerSetting) -> None:
    """Refuse to judge at the wrong power level, or with a band the one-cycle noise could jump."""
    p = case.params
    if reference.mean_w <= 0.0:
        raise CannotJudge(f"cannot judge: the DUT exported {reference.mean_w:.1f} W before the first step", evidence)
    level = reference.mean_w / plan.registered_capacity_w
    if p.power_level is not None and not p.power_level.min <= level <= p.power_level.max:
        raise CannotJudge(setting.refusal(reference.mean_w, plan.registered_capacity_w, p.power_level,
                                          "before the first step"), evidence)
    band = case.limits.deviation_pu
    narrowest = min(abs(bound) for bound in (band.min, band.max) if bound is not None)
    needed = JUDGEABLE_MARGIN * reference.cycle_noise_w / reference.mean_w
    if narrowest < needed:
        raise CannotJudge(
            f"cannot judge: a one-cycle power scatters by {reference.cycle_noise_w:.1f} W ("
            f"{reference.cycle_noise_w / reference.mean_w:.4f} pu of the reference), so a tolerance band "
            f"{narrowest:g} pu from the line is not clear of noise (it needs {needed:.4f} pu or more): lower the "
            "probes' noise", evidence)


def _measure_step(plan: Plan, case: SequenceCase, cycles: CyclePower, reference: SteadyPower, k: int,
                  response_sample_s: float | None) -> StepResult:
    """Step ``k``: its settled power against the line and, given the capture's sample interval, when it entered
    the tolerance band and how far it strayed after."""
    p = case.params
    step = p.steps[k]
    start = p.step_starts_s()[k]
    end = start + step.hold_s
    nominal = plan.grid.frequency_hz
    line = case.setting.line_pu(step.frequency_hz, nominal)
    settled = steady_power(cycles, end - p.settled_s, end, f"step {k + 1}'s settled window")
    ratio = settled.mean_w / reference.mean_w
    frequency_term = rectangular(
        f"grid frequency within +-{plan.measurement.frequency_accuracy_hz:g} Hz, through the line's slope",
        abs(case.setting.slope_pu_per_hz(step.frequency_hz, nominal)) * plan.measurement.frequency_accuracy_hz)
    linearity = normal("power ratio: probes' and digitizer's linearity (plan)",
                       plan.measurement.ratio_uncertainty_pu * ratio)
    deviation_u = expanded(
        normal(f"noise on the settled power ({settled.cycles} cycles)", 2.0 * settled.mean_noise_w / reference.mean_w),
        normal(f"noise on the reference power ({reference.cycles} cycles)",
               2.0 * ratio * reference.mean_noise_w / reference.mean_w),
        linearity, frequency_term)
    result = StepResult(k, start, end, step.frequency_hz, line, settled, ratio - line, deviation_u)
    if response_sample_s is None:
        return result
    inside = cycles.within(start, end)
    deviation = cycles.export_w[inside] / reference.mean_w - line
    band = case.limits.deviation_pu
    entry = band_entry(cycles.start_s[inside], cycles.end_s[inside], deviation, start, (band.min, band.max))
    # No undamped oscillation: once the response time the plan allows has passed, the power stays in the band.
    allowed = case.limits.response_s.max if isinstance(case, LfsmOCase) else None
    settled_from = start + (allowed if allowed is not None else (entry.entry_s or 0.0))
    excursion = largest_deviation(cycles.start_s[inside], deviation, settled_from)
    excursion_u = expanded(
        normal("noise on a one-cycle power", 2.0 * reference.cycle_noise_w / reference.mean_w),
        normal(f"noise on the reference power ({reference.cycles} cycles)",
               2.0 * ratio * reference.mean_noise_w / reference.mean_w),
        linearity, frequency_term)
    if entry.entry_s is None or entry.first_in_band is None:
        return StepResult(k, start, end, step.frequency_hz, line, settled, ratio - line, deviation_u,
                          excursion_pu=excursion, excursion_u=excursion_u)
    response_u = expanded(
        rectangular("entry between the last cycle out of the band and the end of the first in it",
                    entry.entry_half_width_s),
        rectangular(f"step instant: digitizer sample interval {response_sample_s * 1e3:.4g} ms",
                    response_sample_s / 2.0))
    return StepResult(k, start, end, step.frequency_hz, line, settled, ratio - line, deviation_u,
                      entry.entry_s, response_u, excursion, excursion_u, int(inside[entry.first_in_band]))


def _findings(case: SequenceCase, steps: list[StepResult]) -> list[str]:
    """Each step in words: where it settled against its line, and when it entered the band."""
    out = []
    for step in steps:
        text = (f"step {step.index + 1} at {step.frequency_hz:g} Hz: settled at {step.line_pu + step.deviation_pu:.4f} "
                f"pu of the reference ({step.settled.mean_w:.0f} W), the line {step.line_pu:.4f} pu")
        if isinstance(case, LfsmOCase):
            text += ("; never entered the tolerance band within its hold" if step.response_s is None
                     else f"; in the band {step.response_s:.3f} s after the step")
        out.append(text)
    return out


def _capture_frame(capture: Capture, program: GridProgram, nominal_hz: float) -> pd.DataFrame:
    """The raw evidence: time from the first step, current, voltage, commanded frequency."""
    return pd.DataFrame({
        "t_s": capture.t_s,
        "i_a": capture.channels["current"].astype(np.float32),
        "v_v": capture.channels["voltage"].astype(np.float32),
        "frequency_hz": program.commanded("frequency", capture.t_s, before=nominal_hz).astype(np.float32),
    })


def _power_frame(plan: Plan, case: SequenceCase, cycles: CyclePower, reference: SteadyPower,
                 steps: list[StepResult]) -> pd.DataFrame:
    """One row per whole cycle: its power, the commanded frequency, the line and band it is judged against
    (NaN while a cycle straddles a step), the step's settled power over its settled window, the band entry."""
    nominal = plan.grid.frequency_hz
    band = case.limits.deviation_pu
    end = cycles.end_s
    n = len(end)
    line = np.full(n, np.nan)
    settled = np.full(n, np.nan)
    entered = np.zeros(n)
    frequency = np.full(n, nominal)
    before = cycles.within(-np.inf, 0.0)
    line[before] = case.setting.line_pu(nominal, nominal)
    for step in steps:
        inside = cycles.within(step.start_s, step.end_s)
        line[inside] = step.line_pu
        frequency[inside] = step.frequency_hz
        settled[cycles.within(step.end_s - case.params.settled_s, step.end_s)] = step.line_pu + step.deviation_pu
        if step.entered_cycle is not None:
            entered[step.entered_cycle] = 1.0
    straddling = np.isnan(line)
    frequency[straddling] = np.nan
    return pd.DataFrame({
        "t_s": cycles.mid_s,
        "power_w": cycles.export_w,
        "power_pu": cycles.export_w / reference.mean_w,
        "frequency_hz": frequency,
        "line_pu": line,
        "band_min_pu": line + (np.nan if band.min is None else band.min),
        "band_max_pu": line + (np.nan if band.max is None else band.max),
        "settled_pu": settled,
        "entered": entered,
    })


PROCEDURES = {
    "lfsm_o": Procedure(lfsm_o, roles=("grid", "capture")),
    "reduced_frequency": Procedure(reduced_frequency, roles=("grid", "capture")),
}
