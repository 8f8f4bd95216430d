"""What an OCPP 2.1 V2X case judges at the grid: the charger's AC power, measured cycle by cycle on the digitizer's
capture of its terminal voltage and current, against what the rig commanded over OCPP (or what the freq-watt
curve asks at the measured frequency).

For each ``power`` check, from the instant the rig commanded it (its CALL's
frame, its answer, the cut link; on the rig's clock, the capture's trigger
being its time origin) to the next check's instant or the capture's end:

- ``<check>_response_s``: time to 90 % of the change, from the command to
  the first whole cycle at or past 90 % of the way from the power before
  (mean of the last second) to the target; judged only when the change is
  larger than the plan's tolerance; a target never reached in a window
  longer than the limit is the window's length (at least that);
- ``<check>_error_w``: the settled power (mean from the response limit on)
  less the target; for a curve ``<check>_curve_error_w``: the largest
  distance of a cycle's power from the curve at the frequencies of the last
  response-limit seconds (the charger may lag by that, no more);
- ``<check>_beyond_bounds_w``: the most the power (averaged over the plan's
  ``bound_window_s``) went past the period's limit or dischargeLimit once
  the response time had passed (a bound the command tightened is met by
  then; going past the target on the way is the overshoot);
- ``<check>_overshoot_w``: the most it went past the target in the
  direction of the change.

Uncertainty: the one-cycle noise measured on the capture, the probes' and
digitizer's accuracy the plan states, the instants' time stamps and the
cycles' granularity (a cycle's mean is the power at some instant inside it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rig.core.uncertainty import Uncertainty, expanded, normal, rectangular
from rig.suites.g99_frequency_response.power import CyclePower, band_entry, cycle_power
from rig.suites.ocpp.player import CaptureRun, PowerCheck
from rig.suites.ocpp.script import Power
from rig.suites.ocpp21.analyzer_log import AnalyzerLog
from rig.suites.ocpp21.plan import V2xMeasurement
from rig.suites.platform import CannotJudge

BEFORE_S = 1.0
"""The power before a command: its mean over this long before it."""
MIN_CYCLES = 5


@dataclass(frozen=True)
class Judged:
    name: str
    value: float | None
    uncertainty: Uncertainty
    finding: str


@dataclass(frozen=True)
class RunPower:
    """A capture's cycles as import power (W, positive charging) and each cycle's frequency."""

    cycles: CyclePower
    import_w: np.ndarray
    frequency_hz: np.ndarray
    noise_w: float
    """Standard deviation of a one-cycle power about its neighbours (probe noise, quantisation)."""


def run_power(run: CaptureRun, nominal_hz: float) -> RunPower:
    capture = run.capture
    if capture is None:
        raise CannotJudge("the capture was never fetched")
    cycles = cycle_power(capture.t_s, capture.channels["voltage"], capture.channels["current"], nominal_hz)
    power = -cycles.export_w
    # noise: the scatter of second differences of consecutive cycles (a ramp or a step barely moves it)
    second = np.diff(power, 2)
    noise = float(np.median(np.abs(second)) / 0.6745 / math.sqrt(6.0)) if second.size else 0.0
    return RunPower(cycles, power, 1.0 / (cycles.end_s - cycles.start_s), noise)


def _expected(step: Power, frequency_hz: np.ndarray) -> np.ndarray:
    """The power a check holds the charger to at each cycle's frequency: its target, or its curve within its bounds
    (the period's limit and dischargeLimit bound what the curve asks)."""
    if step.curve is None:
        assert step.target_w is not None
        return np.full(frequency_hz.shape, float(step.target_w))
    points = sorted(step.curve.points)
    wanted = step.curve.baseline_w + np.interp(frequency_hz, [f for f, _ in points], [w for _, w in points])
    low = -np.inf if step.bounds.min_w is None else step.bounds.min_w
    high = np.inf if step.bounds.max_w is None else step.bounds.max_w
    return np.clip(wanted, low, high)


def judge_checks(checks: list[PowerCheck], runs: list[CaptureRun], instants: dict[str, float],
                 ends: list[float | None], measurement: V2xMeasurement, nominal_hz: float, frame_time_u_s: float,
                 analyzer: AnalyzerLog | None = None) -> tuple[list[Judged], dict[str, pd.DataFrame]]:
    """Every power check of a case (``ends``: when each stops applying on the rig's clock, None: at the capture's
    end), and one trace per capture (its cycles, with the target each was held to)."""
    judged: list[Judged] = []
    traces: dict[str, pd.DataFrame] = {}
    for number, run in enumerate(runs):
        mine = [c for c in checks if c.run == number]
        if not mine:
            continue
        power = run_power(run, nominal_hz)
        starts = []
        for check in mine:
            if check.step.since not in instants:
                raise CannotJudge(f"step {check.index + 1}: no step labelled {check.step.since!r} ran before it")
            starts.append(instants[check.step.since] + check.step.after_s - run.trigger_t)
        end = float(power.cycles.end_s[-1])
        target = np.full(power.import_w.shape, np.nan)
        for k, check in enumerate(mine):
            stop = ends[checks.index(check)]
            until = min(starts[k + 1] if k + 1 < len(mine) else end,
                        end if stop is None else stop - run.trigger_t)
            inside = power.cycles.within(starts[k], until)
            target[inside] = _expected(check.step, power.frequency_hz[inside])
            judged += _judge_one(check, starts[k], until, power, measurement, frame_time_u_s)
            if analyzer is not None and check.step.curve is None:
                judged.append(_on_the_analyzer(analyzer, check, run.trigger_t + starts[k] + measurement.response_s,
                                               run.trigger_t + until))
        traces[f"grid_power_{number + 1}"] = pd.DataFrame({
            "t_s": power.cycles.mid_s, "power_w": power.import_w, "frequency_hz": power.frequency_hz,
            "target_w": target})
    return judged, traces


def _judge_one(check: PowerCheck, start: float, until: float, power: RunPower, m: V2xMeasurement,
               frame_time_u_s: float) -> list[Judged]:
    step, name = check.step, check.name
    cycles = power.cycles
    inside = cycles.within(start, until)
    if inside.size < MIN_CYCLES:
        raise CannotJudge(f"{name}: only {inside.size} whole cycles between its command and the next (at least "
                          f"{MIN_CYCLES} are needed)")
    p = power.import_w[inside]
    expected = _expected(step, power.frequency_hz[inside])
    accuracy = m.power_u_percent / 100.0
    noise = power.noise_w
    out: list[Judged] = []
    before = cycles.within(start - BEFORE_S, start)
    level = float(np.mean(power.import_w[before])) if before.size >= MIN_CYCLES else None
    settled_from = start + m.response_s
    late = inside[cycles.start_s[inside] >= settled_from]
    # -- response and overshoot (a target, not a curve) ---------------------------------------------------------
    if step.curve is None and step.respond and (level is None or abs(float(expected[0]) - level) <= m.tolerance_w):
        out.append(Judged(f"{name}_response_s", None, expanded(normal("not timed", 0.0)),
                          f"{name}: the change cannot be timed: " + ("no whole cycles before its command"
                                                                     if level is None else
                                                                     f"{level:.0f} W before, within the tolerance of "
                                                                     f"the target {float(expected[0]):.0f} W")))
    elif step.curve is None and step.respond and level is not None:
        goal = float(expected[0])
        share = (p - level) / (goal - level)
        entry = band_entry(cycles.start_s[inside], cycles.end_s[inside], share, start, (0.9, None))
        u_t = expanded(rectangular("90 % crossed between the last cycle short of it and the end of the first past "
                                   "it", entry.entry_half_width_s),
                       normal("the command's time stamp (rig clock)", frame_time_u_s),
                       normal("the capture's trigger on the rig's clock", frame_time_u_s))
        if entry.entry_s is not None:
            out.append(Judged(f"{name}_response_s", round(entry.entry_s, 4), u_t,
                              f"{name}: {level:.0f} W -> {goal:.0f} W, 90 % of the change {entry.entry_s:.3f} s after "
                              "the command"))
            after = p[entry.first_in_band:] if entry.first_in_band is not None else p
            over = float(np.max((after - goal) * math.copysign(1.0, goal - level)))
            out.append(Judged(f"{name}_overshoot_w", round(max(over, 0.0), 1),
                              expanded(normal("one-cycle noise", 2.0 * noise), normal("probes and digitizer (plan)",
                                                                                      accuracy * abs(goal))),
                              f"{name}: at most {max(over, 0.0):.0f} W past the target"))
        else:
            window = until - start
            out.append(Judged(f"{name}_response_s", round(window, 4) if window > m.response_s else None, u_t,
                              f"{name}: {level:.0f} W -> {goal:.0f} W: never 90 % of the way within the "
                              f"{window:.1f} s it was held"))
    # -- settled ------------------------------------------------------------------------------------------------
    if step.curve is None:
        if late.size < MIN_CYCLES:
            raise CannotJudge(f"{name}: held {until - start:.1f} s, too short to settle after the "
                              f"{m.response_s:g} s response allowed")
        mean = float(np.mean(power.import_w[late]))
        goal = float(expected[0])
        out.append(Judged(f"{name}_error_w", round(mean - goal, 1),
                          expanded(normal(f"noise on the mean of {late.size} cycles", 2.0 * noise / math.sqrt(late.size)),
                                   normal("probes and digitizer (plan)", accuracy * abs(mean))),
                          f"{name}: settled at {mean:.0f} W, target {goal:.0f} W ({late.size} cycles)"))
    else:
        lag = m.response_s
        worst, at = 0.0, None
        for j in late:
            recent = cycles.within(cycles.start_s[j] - lag, cycles.end_s[j])
            window = _expected(step, power.frequency_hz[recent])
            lo, hi = float(np.min(window)), float(np.max(window))
            gap = max(lo - power.import_w[j], power.import_w[j] - hi, 0.0)
            if gap >= worst:
                worst, at = gap, j
        if late.size < MIN_CYCLES or at is None:
            raise CannotJudge(f"{name}: too short to judge the curve after the {lag:g} s it may lag")
        slope = _curve_slope(step)
        out.append(Judged(f"{name}_curve_error_w", round(worst, 1),
                          expanded(normal("one-cycle noise", 2.0 * noise),
                                   normal("probes and digitizer (plan)", accuracy * abs(float(power.import_w[at]))),
                                   rectangular("frequency of one cycle (its crossings)", slope * m.frequency_u_hz)),
                          f"{name}: furthest {worst:.0f} W from the curve at {power.frequency_hz[at]:.3f} Hz "
                          f"({cycles.mid_s[at]:.2f} s)"))
    # -- bounds -------------------------------------------------------------------------------------------------
    if (step.bounds.min_w is not None or step.bounds.max_w is not None) and late.size:
        # judged once the charger has had its response time: a bound the command tightened needs it to be met
        n = max(1, int(round(m.bound_window_s * 50.0)))
        bounded = power.import_w[late]
        smooth = np.convolve(bounded, np.ones(n) / n, mode="valid") if bounded.size >= n else bounded
        beyond = np.full(smooth.shape, -np.inf)
        if step.bounds.max_w is not None:
            beyond = np.maximum(beyond, smooth - step.bounds.max_w)
        if step.bounds.min_w is not None:
            beyond = np.maximum(beyond, step.bounds.min_w - smooth)
        worst_beyond = float(np.max(beyond))
        reference = max(abs(step.bounds.min_w or 0.0), abs(step.bounds.max_w or 0.0))
        out.append(Judged(f"{name}_beyond_bounds_w", round(worst_beyond, 1),
                          expanded(normal(f"noise on a {n}-cycle mean", 2.0 * noise / math.sqrt(n)),
                                   normal("probes and digitizer (plan)", accuracy * reference)),
                          f"{name}: closest {-worst_beyond:.0f} W inside its bounds" if worst_beyond <= 0 else
                          f"{name}: {worst_beyond:.0f} W beyond its bounds"))
    return out


def _on_the_analyzer(analyzer: AnalyzerLog, check: PowerCheck, start: float, end: float) -> Judged:
    """A check's settled power on the analyzer's updates (rig clock), or not measured when none lies inside."""
    name = f"{check.name}_analyzer_error_w"
    assert check.step.target_w is not None
    found = analyzer.settled(check.name, start, end, float(check.step.target_w))
    if found is None:
        return Judged(name, None, expanded(normal("no update", 0.0)),
                      f"{check.name}: no analyzer update lay wholly in its settled window")
    error, u, finding = found
    return Judged(name, round(error, 1), u, finding)


def _curve_slope(step: Power) -> float:
    assert step.curve is not None
    points = sorted(step.curve.points)
    return max(abs((w2 - w1) / (f2 - f1)) for (f1, w1), (f2, w2) in zip(points, points[1:]) if f2 != f1)


def check_limits(name: str, step: Power, m: V2xMeasurement) -> dict[str, tuple[float | None, float | None]]:
    """The limits (min, max) of a power check's measured values, from the plan's V2X measurement section."""
    limits: dict[str, tuple[float | None, float | None]] = {}
    if step.curve is None:
        limits[f"{name}_error_w"] = (-m.tolerance_w, m.tolerance_w)
    else:
        limits[f"{name}_curve_error_w"] = (None, m.tolerance_w)
    if step.bounds.min_w is not None or step.bounds.max_w is not None:
        limits[f"{name}_beyond_bounds_w"] = (None, m.bound_margin_w)
    if step.curve is None and m.analyzer is not None:
        limits[f"{name}_analyzer_error_w"] = (-m.tolerance_w, m.tolerance_w)
    if step.curve is None and step.respond:
        limits[f"{name}_response_s"] = (None, m.response_s)
        limits[f"{name}_overshoot_w"] = (None, m.overshoot_w)
    return limits
