"""G99 power quality procedures: harmonic currents, DC injection, power factor.

Each reads like the type test: bring the charger to export at the nominal
grid, hold the grid steady and capture the charger's current and the
terminal voltage over whole windows of the fundamental, analyse, report what
was measured with its uncertainty. Limits and verdicts are the engine's
business; every number comes from the plan. A capture that cannot be
judged (too slow, too short, an unsteady fundamental) is ``CannotJudge``.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from rig.run.bench_lab import Lab
from rig.core.roles import Capture, GridProgram, GridStep
from rig.suites.platform import CannotJudge, PlotRequest, Procedure, ProcedureOutcome
from rig.suites.grid_code.capture import captured_disturbance
from rig.suites.grid_code.exporting import ensure_exporting
from rig.suites.grid_code.power_level import PowerSetting, at_power_level
from rig.suites.g99_power_quality.measurements import (
    NOISE_ORDERS, AnalysedCapture, analyse, dc_injection, harmonic_currents, power_factor)
from rig.suites.g99_power_quality.plots import SpectrumOptions, WaveformOptions
from rig.suites.g99_power_quality.plan import (
    HARMONIC_LIMIT, CaptureParams, DcInjectionCase, HarmonicCurrentsCase, Plan, PowerFactorCase)

SPARE_CYCLES = 0.05
"""The capture is this much (a fraction) longer than the windows at the nominal frequency, so windows of the
*measured* fundamental still fit when the grid runs up to a few percent slow."""

PROGRAM_TAIL_S = 0.1
"""The grid program holds the nominal grid this much beyond the capture."""

SHOWN_CYCLES = 3
"""Cycles of the waveform a DC injection or power factor plot shows."""


def capture_steady(lab: Lab, plan: Plan, params: CaptureParams) -> tuple[Capture, PowerSetting]:
    """Export at the nominal grid (at the case's power level, when it names one and the bench can set it), then
    capture the windows the plan averages while the grid simulator holds the nominal grid in list mode (its
    trigger starts the digitizer, as for a disturbance)."""
    # ensure_exporting reads the plan's grid, precondition and suite name, which this plan shares with G99's.
    ensure_exporting(lab, plan)
    with at_power_level(lab, params.power_level, plan.rating.power_w, plan.steady_export,
                        state="nominal grid") as setting:
        return _captured_hold(lab, plan, params), setting


def _captured_hold(lab: Lab, plan: Plan, params: CaptureParams) -> Capture:
    nominal = plan.grid
    span = params.windows * params.cycles_per_window / nominal.frequency_hz * (1.0 + SPARE_CYCLES)
    program = GridProgram((GridStep.hold(span + PROGRAM_TAIL_S, nominal.voltage_v, nominal.frequency_hz),))
    with lab.steps.step(f"Hold {nominal.voltage_v:g} V {nominal.frequency_hz:g} Hz and capture {span:.4g} s "
                        f"({params.windows} windows of {params.cycles_per_window} cycles) at {params.sample_rate_hz:g} "
                        "S/s or faster"):
        capture = captured_disturbance(lab, program, 0.0, span, params.sample_rate_hz)
    lab.grid.apply(nominal.voltage_v, nominal.frequency_hz)
    return capture


def capture_frame(capture: Capture) -> pd.DataFrame:
    """The evidence trace: time from the trigger, current, voltage (16-bit codes: float32 loses nothing)."""
    return pd.DataFrame({"t_s": capture.t_s, "i_a": capture.channels["current"].astype(np.float32),
                         "v_v": capture.channels["voltage"].astype(np.float32)})


def _analysed(lab: Lab, plan: Plan, params: CaptureParams, capture: Capture, max_order: int,
              grouping: str) -> AnalysedCapture:
    with lab.steps.step(f"Synchronise {params.windows} windows of {params.cycles_per_window} cycles to the measured "
                        f"fundamental; transform the current up to h{max_order}"):
        return analyse(capture.t_s, capture.channels["current"], capture.channels["voltage"],
                       nominal_hz=plan.grid.frequency_hz, cycles=params.cycles_per_window, windows=params.windows,
                       max_order=max_order, grouping="subgroup" if grouping == "subgroup" else "group",
                       stability=params.stability())


def _judged_capture(lab: Lab, plan: Plan, params: CaptureParams, max_order: int,
                    grouping: str) -> tuple[AnalysedCapture, pd.DataFrame, PowerSetting]:
    """Capture and analyse; a capture that cannot be judged (or not at the case's power level) keeps its trace
    as the error's evidence."""
    capture, setting = capture_steady(lab, plan, params)
    frame = capture_frame(capture)
    try:
        analysed = _analysed(lab, plan, params, capture, max_order, grouping)
    except CannotJudge as err:
        raise CannotJudge(str(err), ProcedureOutcome({}, {"capture": frame})) from err
    band = params.power_level
    if band is not None:
        export_w = float(_context(plan, analysed)["export_power_w"] or 0.0)
        if not band.min <= export_w / plan.rating.power_w <= band.max:
            raise CannotJudge(setting.refusal(export_w, plan.rating.power_w, band, "during the capture"),
                              ProcedureOutcome({"export_power_w": round(export_w, 2)}, {"capture": frame}))
    return analysed, frame, setting


def _context(plan: Plan, analysed: AnalysedCapture) -> dict[str, float | None]:
    """What every case records beside its judged values: where it was measured and how."""
    grid = analysed.windows
    power = float(np.mean(analysed.windows.mean_values(analysed.v_v * analysed.i_a)))
    return {
        "fundamental_hz": round(grid.frequency_hz, 6),
        "fundamental_current_a": round(float(np.mean(analysed.fundamental_a)), 5),
        "export_power_w": round(-power, 2),
        "export_power_pct_of_rated": round(-100.0 * power / plan.rating.power_w, 3),
        "windows": float(grid.count),
        "sample_rate_hz": round(1.0 / grid.interval_s, 3),
    }


def _operating_point_finding(plan: Plan, measured: dict[str, float | None], setting: PowerSetting) -> str:
    """Where the case was judged: the export, and how the rig got it there (grid codes ask for more than one
    power level, e.g. G99 45-55 % and 100 %)."""
    text = (f"judged at {measured['export_power_w']:.6g} W exported, {measured['export_power_pct_of_rated']:.4g} % "
            f"of the declared {plan.rating.power_w:g} W")
    if setting.limit_w is not None:
        return text + f", the DUT's export limited to {setting.limit_w:.0f} W through its controls (dut_control)"
    return text + ", the DUT's own operating point"


def window_frame(analysed: AnalysedCapture, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per window: its start, its fundamental, and the case's values."""
    grid = analysed.windows
    return pd.DataFrame({"window": np.arange(grid.count), "start_s": analysed.t_s[grid.starts],
                         "frequency_hz": analysed.window_frequency_hz, "fundamental_a": analysed.fundamental_a,
                         **columns})


def harmonics(lab: Lab, plan: Plan, case: HarmonicCurrentsCase) -> ProcedureOutcome:
    """Harmonic currents h2..max_order (IEC 61000-4-7 groups or subgroups), each the mean over the windows."""
    p = case.params
    analysed, frame, setting = _judged_capture(lab, plan, p, p.max_order, p.grouping)
    with lab.steps.step(f"Harmonic {p.grouping}s h2..h{p.max_order}, averaged over {p.windows} windows"):
        found = harmonic_currents(analysed)
    measured = _context(plan, analysed)
    uncertainty = {}
    limits = {int(m.group(1)): limit for name, limit in case.limits.items() if (m := HARMONIC_LIMIT.match(name))}
    for index, order in enumerate(found.orders):
        measured[f"h{order}_a"] = round(float(found.mean_a[index]), 6)
        uncertainty[f"h{order}_a"] = found.uncertainty[index]
    measured["thd_pct"] = round(found.thd_pct, 4)
    spectrum = pd.DataFrame({
        "order": np.array(found.orders, dtype=float), "mean_a": found.mean_a, "max_a": found.max_a,
        "expanded_u_a": [u.expanded for u in found.uncertainty],
        "limit_a": [limits[o].max if o in limits and limits[o].max is not None else np.nan for o in found.orders]})
    per_window = window_frame(analysed, {f"h{o}_a": found.per_window_a[:, k] for k, o in enumerate(found.orders)})
    plot = PlotRequest("g99.pq.spectrum", "spectrum", SpectrumOptions(grouping=p.grouping,
                                                                      fundamental_a=measured["fundamental_current_a"]))
    return ProcedureOutcome(measured, {"capture": frame, "spectrum": spectrum, "windows": per_window}, plot,
                            uncertainty, findings=[_operating_point_finding(plan, measured, setting)])


def dc(lab: Lab, plan: Plan, case: DcInjectionCase) -> ProcedureOutcome:
    """DC injection: the mean current over whole windows (whole cycles), as a percentage of the rated current."""
    p = case.params
    analysed, frame, setting = _judged_capture(lab, plan, p, NOISE_ORDERS, "group")
    rated = plan.rating.current_a
    with lab.steps.step(f"Mean current over {p.windows} windows of whole cycles, in % of the declared rated "
                        f"{rated:g} A"):
        found = dc_injection(analysed)
    measured = _context(plan, analysed)
    measured["dc_current_a"] = round(found.dc_a, 6)
    measured["dc_injection_pct"] = round(100.0 * abs(found.dc_a) / rated, 6)
    scale = 100.0 / rated
    u = found.uncertainty_a
    in_pct = u.model_copy(update={"expanded": u.expanded * scale, "components": [
        c.model_copy(update={"standard": c.standard * scale}) for c in u.components]})
    plot = PlotRequest("g99.pq.waveform", "capture", WaveformOptions(
        dc_a=found.dc_a, fundamental_hz=analysed.windows.frequency_hz, cycles=float(SHOWN_CYCLES)))
    return ProcedureOutcome(measured, {"capture": frame, "windows": window_frame(analysed, {"dc_a": found.per_window_a})},
                            plot, {"dc_current_a": u, "dc_injection_pct": in_pct},
                            findings=[_operating_point_finding(plan, measured, setting)])


def pf(lab: Lab, plan: Plan, case: PowerFactorCase) -> ProcedureOutcome:
    """Power factor P / (Vrms Irms) and displacement power factor cos(phi1), in the frame of the power flow."""
    p = case.params
    analysed, frame, setting = _judged_capture(lab, plan, p, NOISE_ORDERS, "group")
    with lab.steps.step("Active power, rms voltage and current over the windows; the fundamentals' displacement"):
        found = power_factor(analysed)
    measured = _context(plan, analysed)
    measured.update({
        "power_factor": round(found.power_factor, 6),
        "displacement_power_factor": round(found.displacement_power_factor, 6),
        "displacement_angle_deg": round(found.displacement_deg, 4),
        "voltage_rms_v": round(found.voltage_rms_v, 4),
        "current_rms_a": round(found.current_rms_a, 5),
    })
    sense = "lagging" if found.displacement_deg > 0 else "leading" if found.displacement_deg < 0 else "unity"
    direction = "exported" if found.exports else "imported (the DUT charges)"
    findings = [_operating_point_finding(plan, measured, setting),
                f"power {direction}; the current's fundamental is {sense} the voltage by "
                f"{abs(found.displacement_deg):.3g} degrees in the frame of the power flow"]
    plot = PlotRequest("g99.pq.waveform", "capture", WaveformOptions(
        dc_a=None, fundamental_hz=analysed.windows.frequency_hz, cycles=float(SHOWN_CYCLES),
        note=f"power factor {found.power_factor:.4f}, displacement {abs(found.displacement_deg):.3g} deg {sense} "
             f"(power {direction.split(' ')[0]})"))
    return ProcedureOutcome(measured, {"capture": frame, "windows": window_frame(analysed, found.per_window)}, plot,
                            {"power_factor": found.power_factor_u,
                             "displacement_power_factor": found.displacement_power_factor_u}, findings=findings)


PROCEDURES = {
    "harmonic_currents": Procedure(harmonics, roles=("grid", "capture")),
    "dc_injection": Procedure(dc, roles=("grid", "capture")),
    "power_factor": Procedure(pf, roles=("grid", "capture")),
}
