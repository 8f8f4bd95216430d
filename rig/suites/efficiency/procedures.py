"""How an efficiency case is measured: warm-up, a curve per direction, standby and idle-connected power.

The charger's efficiency is P_out / P_in as the power analyzer measured both
sides over the same window (``readings``), at operating points the rig's
vehicle commanded (``operating_point``), with the uncertainty the analyzer's
stated accuracy on the range used and the scatter of the readings give
(``budget``). What the charger says of itself plays no part. The judged
values are margins over what its manufacturer declares (``Lab.dut``), so a
plan's limits are ``min: 0`` (efficiency) or ``max: 0`` (standby power) and
the plan's decision rule turns value and uncertainty into the verdict.
Anything the rig cannot measure to its plan (a point never settled or never
reached, a range the analyzer lacks, an analyzer error, nothing declared to
judge against) is an error with the readings so far as evidence, never a
verdict.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from rig.core.clock import wait_until
from rig.core.errors import RigError
from rig.core.results import Uncertainty, UncertaintyComponent
from rig.core.roles import AnalyzerUpdate, ElementReading
from rig.core.uncertainty import expanded, rectangular
from rig.run.bench_lab import Lab
from rig.suites.chademo.procedures import supply_charger
from rig.suites.efficiency.budget import WEIGHTINGS, ElementWindow, at_load, weighted
from rig.suites.efficiency.operating_point import EfficiencySession, MeasuredPoint
from rig.suites.efficiency.plan import CurveCase, Plan, StillCase, StillParams, WarmupCase
from rig.suites.analyzer_ranges import choose_range
from rig.suites.efficiency.readings import Recorder, prepare
from rig.suites.platform import CannotJudge, Procedure, ProcedureOutcome

OFF_POINT_NOTE_PERCENT = 1.0
"""A point reached further than this (percent of the rating) from where it was asked is named in the findings."""

POINT_COLUMNS = ("direction", "dc_voltage_v", "load_percent", "achieved_percent", "commanded_a", "p_in_w", "p_out_w",
                 "efficiency_percent", "u_pp", "ac_range_v", "ac_range_a", "dc_range_v", "dc_range_a",
                 "ac_integrated_w", "ac_mean_w", "ac_bound_w", "dc_integrated_w", "dc_mean_w", "dc_bound_w")


def point_name(volts: float, load_percent: float) -> str:
    """The measured value's name of one point's efficiency (``eta_350V_100pct``, percent)."""
    return f"eta_{volts:g}V_{load_percent:g}pct"


def load_name(volts: float, load_percent: float) -> str:
    """The measured value's name of the load one point reached (``load_350V_5pct``, percent of the rating)."""
    return f"load_{volts:g}V_{load_percent:g}pct"


def weighted_name(weighting: str, volts: float) -> str:
    return f"{weighting}_{volts:g}V_percent"


def declared(lab: Lab, what: str) -> dict[str, float | None]:
    """What the charger's manufacturer declares (its DUT file), or the case cannot be judged."""
    if lab.dut is None or lab.dut.declared is None:
        raise CannotJudge(f"cannot judge: the DUT file declares no {what} (``declared:`` in a DUT identity file, "
                          "``losses: declared:`` in a simulated profile): there is nothing to judge against")
    return lab.dut.declared


def declared_rating(lab: Lab, plan: Plan) -> dict[str, float | None]:
    """The declaration, checked to be for the rating the plan's load points are shares of."""
    values = declared(lab, "efficiency")
    power = values["power_w"]
    if power is None or not math.isclose(power, plan.rated_power_w, rel_tol=1e-9):
        raise CannotJudge(f"cannot judge: the plan's load points are shares of {plan.rated_power_w:g} W and the "
                          f"charger declares its efficiency at {power} W: a plan for another rating")
    return values


# -- the curve ---------------------------------------------------------------------------------------------------

def curve(lab: Lab, plan: Plan, case: CurveCase) -> ProcedureOutcome:
    """Each battery voltage one session, each load point in it; judged against the declaration at its voltage."""
    p = case.params
    values = declared_rating(lab, plan)
    recorder = Recorder([])
    points: list[MeasuredPoint] = []
    try:
        for volts in p.dc_voltages_v:
            with EfficiencySession(lab, plan, p.direction, volts, recorder).running() as session:
                for load in p.load_points_percent:
                    points.append(session.measure(load))
    except CannotJudge as err:
        raise CannotJudge(str(err), _evidence(recorder, points, p.direction)) from None
    except RigError as err:  # an instrument that answered an error: recorded with the readings so far
        raise CannotJudge(f"cannot judge: {err}", _evidence(recorder, points, p.direction)) from None
    measured: dict[str, float | None] = {}
    uncertainty: dict[str, Uncertainty] = {}
    for point in points:
        name = point_name(point.dc_voltage_v, point.load_percent)
        measured[name] = round(point.efficiency.efficiency_percent, 4)
        uncertainty[name] = point.efficiency.uncertainty
        reached = load_name(point.dc_voltage_v, point.load_percent)
        measured[reached] = round(point.achieved_percent, 3)
        uncertainty[reached] = point.achieved_uncertainty
    for volts in p.dc_voltages_v:
        curve = [(pt.achieved_percent, pt.efficiency.efficiency_percent, pt.efficiency.uncertainty)
                 for pt in points if pt.dc_voltage_v == volts]
        for weighting in p.weightings:
            weights = WEIGHTINGS[weighting]
            result = weighted({load: at_load(curve, load) for load in weights}, weights, weighting)
            measured[weighted_name(weighting, volts)] = round(result.efficiency_percent, 4)
            uncertainty[weighted_name(weighting, volts)] = result.uncertainty
    findings = [f"{pt.dc_voltage_v:g} V {pt.load_percent:g} % point reached at {pt.achieved_percent:.1f} % of the "
                f"rating (the vehicle's whole-ampere command {pt.commanded_a:g} A): its efficiency is that load's"
                for pt in points if abs(pt.achieved_percent - pt.load_percent) > OFF_POINT_NOTE_PERCENT]
    _margins(case, values, points, measured, uncertainty, findings)
    worst = max(points, key=lambda pt: pt.efficiency.efficiency_percent)
    measured["efficiency_max_percent"] = round(worst.efficiency.efficiency_percent, 4)
    uncertainty["efficiency_max_percent"] = worst.efficiency.uncertainty
    ratio, where = _integration_disagreement(points)
    measured["integration_disagreement"] = round(ratio, 4)
    uncertainty["integration_disagreement"] = expanded(rectangular(
        "a ratio to the budget itself: |integrated - averaged| / U of the element (the worst point and side)", 0.0))
    findings.append(f"analyzer integration against the window's average: worst at {where} ({ratio:.3g} of the "
                    "element's expanded uncertainty)")
    return ProcedureOutcome(measured, _evidence(recorder, points, p.direction).traces, None, uncertainty,
                            findings=findings)


def _margins(case: CurveCase, values: dict[str, float | None], points: list[MeasuredPoint],
             measured: dict[str, float | None], uncertainty: dict[str, Uncertainty], findings: list[str]) -> None:
    """The judged margins over the declaration (measured less declared, percentage points), at its voltage."""
    direction, limits = case.params.direction, case.limit_map()
    volts = values["dc_voltage_v"]
    curve = [(pt.achieved_percent, pt.efficiency.efficiency_percent, pt.efficiency.uncertainty)
             for pt in points if pt.dc_voltage_v == volts]
    if "rated_margin_pp" in limits:
        declared_eta = values[f"{direction}_efficiency"]
        if not any(pt.dc_voltage_v == volts and pt.load_percent == 100.0 for pt in points) or declared_eta is None:
            raise CannotJudge(f"cannot judge rated_margin_pp: the declaration is at 100 % and {volts:g} V, which "
                              "this case did not measure (its voltages and load points must include them)")
        eta, u = at_load(curve, 100.0)  # the point reached near, not on, the rating: taken to it
        measured["rated_margin_pp"] = round(eta - 100.0 * declared_eta, 4)
        uncertainty["rated_margin_pp"] = u
        findings.append(f"{direction} at 100 % and {volts:g} V: {eta:.2f} % (U = {u.expanded:.2f} pp, k = 2) "
                        f"against the declared {100 * declared_eta:.2f} %")
    if "european_margin_pp" in limits:
        declared_euro = values[f"{direction}_euro_efficiency"]
        name = weighted_name("european", volts or 0.0)
        if declared_euro is None:
            raise CannotJudge("cannot judge european_margin_pp: the charger declares no European efficiency for "
                              f"{direction}")
        if name not in measured:
            raise CannotJudge(f"cannot judge european_margin_pp: the case did not weigh the European points at "
                              f"the declared {volts:g} V")
        euro = measured[name]
        assert euro is not None
        measured["european_margin_pp"] = round(euro - 100.0 * declared_euro, 4)
        uncertainty["european_margin_pp"] = uncertainty[name]
        findings.append(f"{direction} European-weighted at {volts:g} V: {euro:.2f} % (U = "
                        f"{uncertainty[name].expanded:.2f} pp) against the declared {100 * declared_euro:.2f} %")


def _integration_disagreement(points: list[MeasuredPoint]) -> tuple[float, str]:
    """The worst |integrated - averaged| power over the element's expanded uncertainty, and where."""
    worst, where = 0.0, "no point"
    for point in points:
        for side, (integrated, mean, bound) in point.integration.items():
            ratio = abs(integrated - mean) / bound if bound > 0 else math.inf
            if ratio >= worst:
                worst, where = ratio, f"{point.dc_voltage_v:g} V {point.load_percent:g} % {side.upper()}"
    return worst, where


def _evidence(recorder: Recorder, points: list[MeasuredPoint], direction: str) -> ProcedureOutcome:
    """The analyzer's every update (settling and windows) and the table of points, as traces."""
    rows = []
    for pt in points:
        e = pt.efficiency
        rows.append({"direction": direction, "dc_voltage_v": pt.dc_voltage_v, "load_percent": pt.load_percent,
                     "achieved_percent": pt.achieved_percent, "commanded_a": pt.commanded_a, "p_in_w": e.p_in_w,
                     "p_out_w": e.p_out_w, "efficiency_percent": e.efficiency_percent,
                     "u_pp": e.uncertainty.expanded, "ac_range_v": pt.ranges["ac"][0], "ac_range_a": pt.ranges["ac"][1],
                     "dc_range_v": pt.ranges["dc"][0], "dc_range_a": pt.ranges["dc"][1],
                     **{f"{side}_{k}": pt.integration[side][i] for side in ("ac", "dc")
                        for i, k in enumerate(("integrated_w", "mean_w", "bound_w"))}})
    return ProcedureOutcome({}, {"updates": recorder.frame(), "points": pd.DataFrame(rows, columns=list(POINT_COLUMNS))})


# -- warm-up -----------------------------------------------------------------------------------------------------

def warmup(lab: Lab, plan: Plan, case: WarmupCase) -> ProcedureOutcome:
    """At the load point for ``duration_s``, then the input power watched over ``drift_window_s``: its drift is
    (max - min) / max of the updates there (the EPS rule's "from the maximum value")."""
    p = case.params
    declared_rating(lab, plan)
    recorder = Recorder([])
    try:
        with EfficiencySession(lab, plan, p.direction, p.dc_voltage_v, recorder).running() as session:
            with lab.steps.step(f"Warm up: {p.direction} at {p.load_percent:g} % and {p.dc_voltage_v:g} V for "
                                f"{p.duration_s:g} s"):
                session.reach(p.load_percent)
                vehicle = session.vehicle
                assert vehicle is not None
                # Nothing to read while it warms up (the rule watches the window after it): the session runs on.
                if wait_until(lab.clock, lambda: vehicle.ended, timeout_s=p.duration_s, poll_s=1.0):
                    raise CannotJudge(f"cannot judge: the session ended during the warm-up "
                                      f"({', '.join(vehicle.recording.marks)})")
            with lab.steps.step(f"Watch the input power for {p.drift_window_s:g} s"):
                until = lab.clock.now() + p.drift_window_s
                watched = []
                while lab.clock.now() < until:
                    watched.append(session.read("drift"))
    except RigError as err:
        raise CannotJudge(err.args[0] if isinstance(err, CannotJudge) else f"cannot judge: {err}",
                          ProcedureOutcome({}, {"updates": recorder.frame()})) from None
    powers = np.array([session.input_w(u) for u in watched])
    top = float(powers.max())
    if top <= 0:
        raise CannotJudge("cannot judge: no input power over the drift window",
                          ProcedureOutcome({}, {"updates": recorder.frame()}))
    drift = (top - float(powers.min())) / top * 100.0
    number = session.ac if p.direction == "charge" else session.dc
    last = watched[-1].elements[number]
    range_term = last.power_range_w * _range_fraction(lab, session, number, last.frequency_hz, last.current_range_a)
    u = expanded(rectangular(f"range term of the input element, in each of the two readings compared "
                             f"({last.voltage_range_v:g} V x {last.current_range_a:g} A; the reading term is common to "
                             "both and cancels)", 2.0 * range_term / top * 100.0))
    return ProcedureOutcome({"input_drift_percent": round(drift, 4)}, {"updates": recorder.frame()}, None,
                            {"input_drift_percent": u},
                            findings=[f"input power over the last {p.drift_window_s:g} s: {powers.min():.1f} to "
                                      f"{top:.1f} W ({len(powers)} updates)"])


def _range_fraction(lab: Lab, session: EfficiencySession, number: int, frequency: float | None,
                    current_range_a: float) -> float:
    try:
        return session.analyzer.power_spec(number, frequency, current_range_a).range
    except RigError as err:
        raise CannotJudge(f"cannot judge: {err}") from None


# -- standby and idle-connected ----------------------------------------------------------------------------------

def still(lab: Lab, plan: Plan, case: StillCase) -> ProcedureOutcome:
    """Standby (nothing plugged) or idle-connected (the plug in, no session): export limited to 0 through the
    charger's own control, the AC input averaged over a window once stable, less what it declares."""
    p, idle = case.params, case.procedure == "idle_connected"
    key = "idle_connected_w" if idle else "standby_w"
    what = "idle-connected power" if idle else "standby power"
    declared_w = declared(lab, what)[key]
    if declared_w is None:
        raise CannotJudge(f"cannot judge: the charger declares no {what}")
    if not lab.has("dut_control"):
        raise CannotJudge(f"cannot judge: the bench has no dut_control to hold the charger's export at 0 (its "
                          f"{what} is measured with nothing exported)")
    analyzer, recorder = lab.analyzer, Recorder([])
    number = analyzer.elements.get("ac")
    if number is None:
        raise CannotJudge("cannot judge: the bench's analyzer names no ac element")
    elements = {"ac": number}
    supply_charger(lab, plan.grid)
    try:
        with lab.steps.step("Limit the charger's export to 0 W" + ("; plug in (proximity), no session" if idle else "")):
            lab.dut_control.limit_export(0.0)
            if idle:
                lab.dio.set_output("proximity", True)
        try:
            windows = _stable_window(lab, plan, p, number, elements, recorder, what)
        finally:
            if idle:
                lab.dio.set_output("proximity", False)
            lab.dut_control.release()
    except RigError as err:
        raise CannotJudge(err.args[0] if isinstance(err, CannotJudge) else f"cannot judge: {err}",
                          ProcedureOutcome({}, {"updates": recorder.frame()})) from None
    readings = [u.elements[number] for u in windows]
    frequency = readings[-1].frequency_hz
    try:
        spec = analyzer.power_spec(number, frequency, readings[-1].current_range_a)
    except RigError as err:
        raise CannotJudge(f"cannot judge: {err}", ProcedureOutcome({}, {"updates": recorder.frame()})) from None
    window = ElementWindow(readings, spec, f"{frequency or 0:.1f} Hz: +-({spec.reading:.4%} of reading + "
                                           f"{spec.range:.4%} of range), {readings[-1].voltage_range_v:g} V x "
                                           f"{readings[-1].current_range_a:g} A")
    try:
        accuracy = window.accuracy_half_width_w()
    except ValueError as err:
        raise CannotJudge(f"cannot judge the {what}: {err}", ProcedureOutcome({}, {"updates": recorder.frame()})) \
            from None
    mean = window.mean_w
    u = expanded(rectangular(f"AC element accuracy ({window.spec_source})", accuracy),
                 UncertaintyComponent(source=f"AC element scatter (type A, {len(readings)} updates)",
                                      standard=window.type_a_w(), distribution="normal"))
    return ProcedureOutcome({"excess_w": round(mean - declared_w, 4), "power_w": round(mean, 4)},
                            {"updates": recorder.frame()}, None, {"excess_w": u, "power_w": u},
                            findings=[f"{what}: {mean:.3f} W (U = {u.expanded:.3f} W, k = 2) against the declared "
                                      f"{declared_w:g} W"])


def _stable_window(lab: Lab, plan: Plan, p: StillParams, number: int, elements: dict[str, int], recorder: Recorder,
                   what: str) -> list[AnalyzerUpdate]:
    """A first look on the largest ranges, then windows, each on the ranges the last reading needs, until one is
    stable (its last third's mean within the drift limit of its first third's: a charger still ramping its
    export down is not idle yet) on the ranges its own readings need: that window. Never: the case cannot be
    judged."""
    analyzer, m = lab.analyzer, plan.measurement
    prepare(analyzer, m)
    voltages, currents = analyzer.ranges(number)

    def needed(reading: ElementReading) -> tuple[float, float]:
        return (choose_range(voltages, reading.voltage_v, m.range_fill.voltage, "the AC voltage"),
                choose_range(currents, reading.current_a, m.range_fill.current, "the AC current"))

    analyzer.set_ranges(number, max(voltages), max(currents))
    first = analyzer.read([number])
    recorder.add(first, elements, "ranging", what)
    ranges = needed(first.elements[number])
    analyzer.set_ranges(number, *ranges)
    count = max(3, round(p.window_s / m.update_rate_s))
    drift = math.nan
    for attempt in range(p.attempts):
        updates = []
        for _ in range(count):
            update = analyzer.read([number])
            recorder.add(update, elements, f"window {attempt + 1}", what)
            updates.append(update)
        powers = [u.elements[number].power_w for u in updates]
        third = max(1, count // 3)
        drift = abs(float(np.mean(powers[-third:])) - float(np.mean(powers[:third])))
        now_needed = needed(updates[-1].elements[number])
        if drift <= p.drift_limit_w and now_needed == ranges:
            return updates
        if now_needed != ranges:
            ranges = now_needed
            analyzer.set_ranges(number, *ranges)
    raise CannotJudge(f"cannot judge: the {what} never stabilised on the ranges it needs: over {p.attempts} windows "
                      f"of {p.window_s:g} s (the last drifting {drift:.3g} W between its first and last thirds; "
                      f"limit {p.drift_limit_w:g} W)")


PROCEDURES = {
    "warmup": Procedure(warmup, roles=("grid", "battery", "dio", "vehicle", "analyzer")),
    "curve": Procedure(curve, roles=("grid", "battery", "dio", "vehicle", "analyzer")),
    "standby": Procedure(still, roles=("grid", "dio", "analyzer", "dut_control")),
    "idle_connected": Procedure(still, roles=("grid", "dio", "analyzer", "dut_control")),
}
