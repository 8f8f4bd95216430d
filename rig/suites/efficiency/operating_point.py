"""One efficiency session: the rig's vehicle holds its battery voltage and commands each load point the way a real
session does (charging: its 0x102 current request; V2H: its 0x200 maximum discharge current, the charger
drawing up to it), while the power analyzer measures both sides.

The vehicle asks in whole amperes, and the charger's losses (discharging) and
its own margins are unknown to the rig, so a point is found as a bench
engineer finds it: command the current the target implies, read the settled
output, correct the current by the ratio, until the output is within the
plan's tolerance of the target or no whole ampere comes closer. Ranges are
set for each point from its expected values, then again from what settled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rig.chademo.vehicle import VehicleEmulator
from rig.core.clock import wait_until
from rig.core.errors import RigError
from rig.core.results import Uncertainty, UncertaintyComponent
from rig.core.uncertainty import expanded, rectangular
from rig.core.roles import AnalyzerUpdate, DcLogger, ElementReading, PowerAnalyzer, PowerSpec
from rig.run.bench_lab import Lab
from rig.suites.chademo.procedures import supply_charger
from rig.suites.efficiency.budget import ElementWindow, PointEfficiency, point_efficiency
from rig.suites.efficiency.plan import Direction, Plan
from rig.suites.analyzer_ranges import choose_range
from rig.suites.efficiency.readings import Recorder, Window, prepare, read_window, settle
from rig.suites.platform import CannotJudge

START_TIMEOUT_S = 60.0
"""From the plug to the charger converting: a CHAdeMO start (handshake, insulation test, contactors) takes
about 10 s."""
END_TIMEOUT_S = 30.0
"""From the vehicle's stop to the end of its sequence."""
SEARCH_STEPS = 4
"""Corrections tried to bring a point within its tolerance."""
LOG_PERIOD_S = 0.1
"""The battery emulator's log period: the vehicle's own bookkeeping (the analyzer measures the points)."""
LINE_POLL_S = 0.5
"""How often the vehicle reads the charger's contact lines while it charges or discharges: nothing is timed
here, and a charger dropping d1 or d2 still ends the session within half a second."""


@dataclass(frozen=True)
class MeasuredPoint:
    """One load point as measured: where it was, its efficiency and budget, and the integration cross-check."""

    dc_voltage_v: float
    load_percent: float
    """The point asked for (share of the rated power)."""
    achieved_percent: float
    """The output over the window, as a share of the rated power (the efficiency is this load's)."""
    achieved_uncertainty: Uncertainty
    """Its expanded uncertainty: the output element's accuracy and scatter, as a share of the rating."""
    commanded_a: float
    efficiency: PointEfficiency
    ranges: dict[str, tuple[float, float]]
    integration: dict[str, tuple[float, float, float]]
    """Per side: the power from the analyzer's integral (W), the window's mean (W), and the element's expanded
    uncertainty (W) they must agree within."""


class EfficiencySession:
    """One session at one held battery voltage, in one direction."""

    def __init__(self, lab: Lab, plan: Plan, direction: Direction, dc_voltage_v: float, recorder: Recorder) -> None:
        self.lab, self.plan, self.direction, self.volts = lab, plan, direction, dc_voltage_v
        self.recorder = recorder
        self.analyzer: PowerAnalyzer = lab.analyzer
        try:
            self.ac, self.dc = self.analyzer.elements["ac"], self.analyzer.elements["dc"]
        except KeyError as missing:
            raise CannotJudge(f"cannot judge: the bench's analyzer names no {missing} element (options.elements: "
                              "ac and dc)") from None
        self.vehicle: VehicleEmulator | None = None
        self.commanded_a = 0.0
        self._label = ""
        self._ranges: dict[int, tuple[float, float]] = {}
        """The voltage and current range this session set on each element."""
        self._held: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
        """AC and DC voltage and current where it last settled (the ranges must hold them while it moves)."""

    # -- the session -------------------------------------------------------------------------------------------

    @contextmanager
    def running(self) -> Iterator[EfficiencySession]:
        """Supply, plug in, wait for the charger to convert; always stop and unplug on the way out."""
        lab, plan = self.lab, self.plan
        if not isinstance(lab.battery, DcLogger):
            raise CannotJudge("cannot judge: the bench's battery emulator has no data logger (the vehicle needs it)")
        supply_charger(lab, plan.grid)
        prepare(self.analyzer, plan.measurement)
        vehicle = VehicleEmulator(plan.vehicle_profile, lab.vehicle, lab.dio, lab.battery, lab.clock,
                                  direction=self.direction, stop_after_s=None, log_period_s=LOG_PERIOD_S,
                                  hold_voltage_v=self.volts, line_poll_s=LINE_POLL_S)
        first = self._current_for(plan.rated_power_w * 0.05)
        vehicle.set_request(first) if self.direction == "charge" else vehicle.set_discharge_offer(first)
        self.commanded_a = first
        self.vehicle = vehicle
        with lab.steps.step(f"Plug in vehicle {plan.vehicle_profile.vehicle}, battery held at {self.volts:g} V; "
                            f"wait (at most {START_TIMEOUT_S:g} s) for it to {self.direction}"):
            vehicle.plug_in()
        try:
            started = wait_until(lab.clock, lambda: "steady" in vehicle.recording.marks or vehicle.ended,
                                 timeout_s=START_TIMEOUT_S, poll_s=0.5)
            if not started or vehicle.ended:
                raise CannotJudge(f"cannot judge: the charger never started to {self.direction} at {self.volts:g} V "
                                  f"within {START_TIMEOUT_S:g} s (the vehicle reached: "
                                  f"{', '.join(vehicle.recording.marks) or 'nothing'})")
            yield self
        finally:
            with lab.steps.step("Stop the session and unplug"):
                try:
                    vehicle.stop()
                    wait_until(lab.clock, lambda: vehicle.ended, timeout_s=END_TIMEOUT_S, poll_s=0.5)
                finally:
                    vehicle.unplug()

    # -- one point ---------------------------------------------------------------------------------------------

    def reach(self, load_percent: float) -> tuple[float, list[AnalyzerUpdate]]:
        """Bring the output to ``load_percent`` of the rated power (ranges set for it) and let it settle: the
        whole-ampere command that came closest, and the settled updates. Not within the plan's tolerance: the
        point cannot be judged."""
        m, rated = self.plan.measurement, self.plan.rated_power_w
        target = load_percent / 100.0 * rated
        tolerance = m.load_tolerance_percent / 100.0 * rated
        self._label = f"{self.volts:g} V {load_percent:g} %"
        current = self._current_for(target)
        tried: dict[float, float] = {}
        for _ in range(SEARCH_STEPS):
            self._command(current)
            settled = self._settle()
            self._held = self._measured(settled)
            output = self._output_w(settled[-1])
            tried[current] = output
            if abs(output - target) <= tolerance or output <= 0.0:
                break
            better = max(1.0, float(round(current * target / output)))
            if better in tried:
                break
            current = better
        best = min(tried, key=lambda a: abs(tried[a] - target))
        if best != current:
            self._command(best)
            settled = self._settle()
            self._held = self._measured(settled)
        output = self._output_w(settled[-1])
        if abs(output - target) > tolerance:
            raise CannotJudge(f"cannot judge: the {load_percent:g} % point at {self.volts:g} V was not reached: the "
                              f"nearest whole-ampere command ({best:g} A) gave {output:.0f} W where {target:.0f} W "
                              f"+-{tolerance:.0f} W was asked")
        if self._set_ranges(*self._measured(settled)):
            settled = self._settle()
        return best, settled

    def measure(self, load_percent: float) -> MeasuredPoint:
        """Reach ``load_percent`` of the rated power, then average both sides and integrate over the window."""
        m = self.plan.measurement
        with self.lab.steps.step(f"{self.direction} {self.volts:g} V {load_percent:g} %: command, settle (band +-"
                                 f"{m.settling.band_percent:g} % for {m.settling.hold_s:g} s), average and "
                                 f"integrate over {m.window_s} s"):
            commanded, _ = self.reach(load_percent)
            window = read_window(self.analyzer, (self.ac, self.dc), m, self._on_update("window"))
        return self._point(load_percent, commanded, window)

    def read(self, phase: str) -> AnalyzerUpdate:
        """One data update of both elements, recorded under ``phase``."""
        update = self.analyzer.read((self.ac, self.dc))
        self._on_update(phase)(update)
        return update

    def input_w(self, update: AnalyzerUpdate) -> float:
        ac, dc = update.elements[self.ac].power_w, update.elements[self.dc].power_w
        return ac if self.direction == "charge" else -dc

    # -- helpers -----------------------------------------------------------------------------------------------

    def _point(self, load_percent: float, commanded: float, window: Window) -> MeasuredPoint:
        ac_spec, dc_spec = self._spec(window)
        ac = ElementWindow([u.elements[self.ac] for u in window.updates], *ac_spec)
        dc = ElementWindow([u.elements[self.dc] for u in window.updates], *dc_spec)
        try:
            efficiency = point_efficiency(self.direction, ac, dc)
        except ValueError as err:
            raise CannotJudge(f"cannot judge the {self._label} point: {err}") from None
        integration = {}
        for side, element, number in (("ac", ac, self.ac), ("dc", dc, self.dc)):
            energy_wh, seconds = window.integrated[number]
            if seconds <= 0:
                raise CannotJudge(f"cannot judge: the analyzer integrated element {number} for {seconds:g} s")
            bound = 2.0 * ((element.accuracy_half_width_w() / 3 ** 0.5) ** 2 + element.type_a_w() ** 2) ** 0.5
            integration[side] = (energy_wh * 3600.0 / seconds, element.mean_w, bound)
        last = window.updates[-1]
        ranges = {side: (last.elements[n].voltage_range_v, last.elements[n].current_range_a)
                  for side, n in (("ac", self.ac), ("dc", self.dc))}
        rated = self.plan.rated_power_w
        achieved = 100.0 * efficiency.p_out_w / rated
        output = dc if self.direction == "charge" else ac
        side = "DC" if output is dc else "AC"
        achieved_u = expanded(
            rectangular(f"{side} element accuracy (output)", 100.0 * output.accuracy_half_width_w() / rated),
            UncertaintyComponent(source=f"{side} element scatter (output; type A)",
                                 standard=100.0 * output.type_a_w() / rated, distribution="normal"))
        return MeasuredPoint(self.volts, load_percent, achieved, achieved_u, commanded, efficiency, ranges,
                             integration)

    def _spec(self, window: Window) -> tuple[tuple[PowerSpec, str], tuple[PowerSpec, str]]:
        """Each element's stated accuracy on the range it measured on (AC: the band of the measured frequency),
        with a line saying what it is."""
        last = window.updates[-1]
        ac_reading, dc_reading = last.elements[self.ac], last.elements[self.dc]
        frequency = ac_reading.frequency_hz
        if frequency is None:
            raise CannotJudge("cannot judge: the analyzer measured no frequency on the AC element, so which of its "
                              "accuracy bands applies is unknown")
        try:
            ac_spec = self.analyzer.power_spec(self.ac, frequency, ac_reading.current_range_a)
            dc_spec = self.analyzer.power_spec(self.dc, None, dc_reading.current_range_a)
        except RigError as err:
            raise CannotJudge(f"cannot judge: {err}") from None

        def source(spec: PowerSpec, where: str, reading: ElementReading) -> str:
            return (f"{where}: +-({spec.reading:.4%} of reading + {spec.range:.4%} of range), "
                    f"{reading.voltage_range_v:g} V x {reading.current_range_a:g} A")
        return ((ac_spec, source(ac_spec, f"{frequency:.1f} Hz", ac_reading)),
                (dc_spec, source(dc_spec, "DC", dc_reading)))

    def _measured(self, updates: list[AnalyzerUpdate]) -> tuple[float, float, float, float]:
        """AC and DC voltage and current magnitudes where it settled (DC current is signed: negative discharging)."""
        ac, dc = updates[-1].elements[self.ac], updates[-1].elements[self.dc]
        return abs(ac.voltage_v), abs(ac.current_a), abs(dc.voltage_v), abs(dc.current_a)

    def _set_ranges(self, ac_v: float, ac_a: float, dc_v: float, dc_a: float) -> bool:
        """Set both elements' ranges for these values; whether any changed."""
        fill, changed = self.plan.measurement.range_fill, False
        for number, volts, amps, side in ((self.ac, ac_v, ac_a, "AC"), (self.dc, dc_v, dc_a, "DC")):
            voltages, currents = self.analyzer.ranges(number)
            chosen = (choose_range(voltages, volts, fill.voltage, f"the {side} voltage"),
                      choose_range(currents, amps, fill.current, f"the {side} current"))
            if self._ranges.get(number) != chosen:
                self.analyzer.set_ranges(number, *chosen)
                self._ranges[number] = chosen
                changed = True
        return changed

    def _current_for(self, output_w: float) -> float:
        """The whole-ampere command a target output implies (discharging: its input through the efficiency floor's
        midpoint to 100 %, a first guess the search corrects)."""
        dc_w = output_w if self.direction == "charge" else output_w / ((1.0 + self.plan.measurement.efficiency_floor) / 2)
        return max(1.0, float(round(dc_w / self.volts)))

    def _command(self, current_a: float) -> None:
        """Ask for ``current_a``; first the ranges are made to hold both where it is and where that takes it (the
        current itself, the input side through the efficiency floor), so no reading goes over range on the way."""
        assert self.vehicle is not None
        dc_w = current_a * self.volts
        ac_w = dc_w / self.plan.measurement.efficiency_floor if self.direction == "charge" else dc_w
        going = (self.plan.grid.voltage_v, ac_w / self.plan.grid.voltage_v, self.volts, current_a)
        self._set_ranges(*(max(a, b) for a, b in zip(going, self._held)))
        if self.direction == "charge":
            self.vehicle.set_request(current_a)
        else:
            self.vehicle.set_discharge_offer(current_a)
        self.commanded_a = current_a

    def _settle(self) -> list[AnalyzerUpdate]:
        m = self.plan.measurement
        if self.vehicle is not None and self.vehicle.ended:
            raise CannotJudge(f"cannot judge: the session ended before the {self._label} point "
                              f"({', '.join(self.vehicle.recording.marks)})")
        return settle(self.analyzer, self.lab.clock, (self.ac, self.dc), m.settling, m.update_rate_s,
                      lambda u: (self._output_w(u), self.input_w(u)), self._on_update("settle"),
                      f"the {self.direction} {self._label} point")

    def _output_w(self, update: AnalyzerUpdate) -> float:
        ac, dc = update.elements[self.ac].power_w, update.elements[self.dc].power_w
        return dc if self.direction == "charge" else -ac

    def _on_update(self, phase: str) -> Callable[[AnalyzerUpdate], None]:
        """Records each update under ``phase`` and the point being measured."""
        label = self._label

        def record(update: AnalyzerUpdate) -> None:
            self.recorder.add(update, {"ac": self.ac, "dc": self.dc}, phase, f"{self.direction} {label}")
        return record
