"""The simulated InfiniiVision draws its time axis and scales its data the way the real one does.

Two things the driver used to get wrong, each shown failing against the
simulated scope and then fixed:

- ``:TIMebase:REFerence LEFT`` is one division in from the left edge, not the
  edge: the old driver (``POSition = -pre_s``) captured a tenth of the range
  early and missed a trip in the last tenth of its window.
- The front end (probe attenuation, units, coupling, acquisition type) was
  never set: the scope's power-on 10:1 scaled the 10 mV/A clamp's current
  ten times low, and a coupling left on AC by the front panel lost the DC a
  DC-injection case looks for. The driver now sets and reads them back, and
  refuses a capture on a front end it does not find as it set it.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from wire import DUTS, OK, SCOPE_SETUP, energise, load_ov2_step, setting

from drivers.analyzer.keysight_infiniivision import KeysightInfiniiVision
from drivers.grid.chroma_61800 import Chroma61800
from rig.config.bench_file import load_bench
from rig.core.clock import VirtualClock
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import InstrumentError
from rig.run.bench_lab import Lab
from rig.core.roles import Capture, GridProgram, GridStep
from rig.sim.charger.dut_profile import load_dut_profile
from rig.sim.instruments.infiniivision_dialect import PROBES
from rig.sim.simulated_lab import SimulatedLab
from rig.run.steps import StepLog
from rig.suites.grid_code.capture import captured_disturbance
from rig.suites.grid_code.trip_detection import detect_trip, fundamental

SIM_BENCH = DUTS.parent / "benches" / "sim.yaml"
OPTIONS = {"current_range_a": 100.0, "voltage_range_v": 800.0}  # what the simulated bench file gives the driver
EXPORT_A = 6000.0 / 230.0

OLD_SETUP = (":CHAN1:DISP ON", ":CHAN1:RANG 100", ":CHAN1:OFFS 0", ":CHAN2:DISP ON", ":CHAN2:RANG 800", ":CHAN2:OFFS 0",
             ":TIM:REF LEFT", ":TRIG:MODE EDGE", ":TRIG:SWE NORM", ":TRIG:EDGE:SOUR EXT", ":TRIG:EDGE:LEV 1.5",
             ":TRIG:EDGE:SLOP POS", ":WAV:FORM WORD", ":WAV:BYT LSBF", ":WAV:UNS 0", ":WAV:POIN:MODE RAW")
"""The old driver's set-up, command for command (after ``*CLS``)."""


class LeftTakenForTheEdge(KeysightInfiniiVision):
    """The driver with its old timebase only: reference LEFT, taken for the screen's edge (``POSition = -pre_s``)."""

    reference = "LEFT"

    @staticmethod
    def window(pre_s: float, post_s: float) -> tuple[float, float]:
        return pre_s + post_s, -pre_s


class DriverAsItWas(LeftTakenForTheEdge):
    """The driver before the fixes: the old timebase, and the front end left as the scope has it."""

    def setup(self) -> None:
        self._sent.clear()
        for command in ("*CLS", *OLD_SETUP):
            self.write(command)

    def confirm_front_end(self) -> None:
        """It read nothing back."""


# -- the simulated bench, driven by the rig's drivers (the grid's: ``grid_driver`` in tests/conftest.py) -------------


def scope_driver(lab: SimulatedLab, driver: type[KeysightInfiniiVision] = KeysightInfiniiVision,
                 **options: float) -> KeysightInfiniiVision:
    return driver(lab.serve("keysight_infiniivision"), name="capture", options={**OPTIONS, **options})


def exporting(grid: Chroma61800, lab: SimulatedLab) -> None:
    """230 V 50 Hz at the terminals until the charger exports (it connects after 20 s)."""
    grid.setup()
    grid.apply(230.0, 50.0)
    grid.output(True)
    lab.advance_to(25.0)


def capture(lab: SimulatedLab, grid: Chroma61800, scope: KeysightInfiniiVision, program: GridProgram, *,
            pre_s: float, post_s: float) -> Capture:
    """The suites' capture step: arm, wait until armed, run the program (its trigger starts the capture), fetch."""
    clock = VirtualClock(lab)
    bench = Lab(clock, StepLog(clock), {"grid": grid, "capture": scope})
    return captured_disturbance(bench, program, pre_s=pre_s, post_s=post_s, rate_hz=10_000.0)


def rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(values**2)))


# -- 1. the reference point, over the wire -------------------------------------------------------------------------


@pytest.mark.parametrize(("reference", "first_sample_s"), [("LEFT", -0.1), ("CENT", -0.5), ("RIGH", -0.9)])
def test_the_reference_point_is_one_division_in_the_centre_or_one_division_from_the_right(
        grid, scope, lab: SimulatedLab, reference: str, first_sample_s: float) -> None:
    """Position 0 puts the trigger at the reference point: 1, 5 or 9 of the ten divisions from the left."""
    energise(grid, lab)
    load_ov2_step(grid)
    for command in (*SCOPE_SETUP, ":TIM:RANG 1", f":TIM:REF {reference}", ":TIM:POS 0", ":WAV:POIN 1000", ":SING"):
        assert setting(scope, command) == OK
    assert (scope.query(":TIM:REF?"), float(scope.query(":TIM:POS?"))) == (reference, 0.0)
    lab.advance_to(21.0 - first_sample_s)  # armed once the pre-trigger part of the screen has filled
    assert scope.query(":AER?") == "+1"
    assert setting(grid, "TRIG ON") == OK
    lab.advance_to(23.0)
    assert setting(scope, ":WAV:SOUR CHAN1") == OK
    assert float(scope.query(":WAV:PRE?").split(",")[5]) == pytest.approx(first_sample_s)


def test_a_positive_position_puts_the_reference_after_the_trigger(grid, scope, lab: SimulatedLab) -> None:
    energise(grid, lab)
    load_ov2_step(grid)
    for command in (*SCOPE_SETUP, ":TIM:RANG 1.5", ":TIM:REF CENT", ":TIM:POS 0.25", ":WAV:POIN 1000", ":SING"):
        assert setting(scope, command) == OK
    lab.advance_to(21.5)
    assert setting(grid, "TRIG ON") == OK
    lab.advance_to(22.49)
    assert int(scope.query(":OPER:COND?")) & 8  # still running: the window ends 1.0 s after the trigger
    lab.advance_to(22.5)
    assert not int(scope.query(":OPER:COND?")) & 8
    assert setting(scope, ":WAV:SOUR CHAN1") == OK
    assert float(scope.query(":WAV:PRE?").split(",")[5]) == pytest.approx(-0.5)


# -- 2. the old window misses a late trip; the driver's window holds it ----------------------------------------------

LATE_TRIP = GridProgram((GridStep.hold(0.4, 230.0, 50.0), GridStep.hold(1.0, 277.7, 50.0)))
"""O/V stage 2 (273.7 V, 0.5 s) opens about 0.54 s after the step to 277.7 V: about 0.94 s after the trigger,
inside the last tenth of a capture from 0.2 s before to 1.0 s after it."""


def late_trip_capture(lab: SimulatedLab, grid: Chroma61800, driver: type[KeysightInfiniiVision]) -> Capture:
    exporting(grid, lab)
    scope = scope_driver(lab, driver)
    try:
        scope.setup()
        return capture(lab, grid, scope, LATE_TRIP, pre_s=0.2, post_s=1.0)
    finally:
        scope.close()


def found_trip(found: Capture) -> float | None:
    """When the suites' trip detection sees the current cease, or None if it still flowed at the end."""
    current = found.channels["current"]
    signal = fundamental(found.t_s, current, np.full(len(current), 50.0), 50.0)
    trip = detect_trip(found.t_s, current, signal, threshold_a=5.0)
    return None if trip is None else trip.instant_s


def test_the_old_window_starts_and_ends_a_tenth_of_the_range_early_and_misses_a_late_trip(
        grid_driver, lab: SimulatedLab) -> None:
    found = late_trip_capture(lab, grid_driver, LeftTakenForTheEdge)
    assert lab.model.charger.trips[-1].stage == "O/V stage 2"  # the charger did trip ...
    assert found.t_s[0] == pytest.approx(-0.32)  # ... but the capture ran from -0.2 - 1.2/10
    assert found.t_s[-1] == pytest.approx(0.88, abs=2e-4)  # to 1.0 - 1.2/10 s
    assert found_trip(found) is None  # so the trip at 0.94 s is not in it
    assert rms(found.channels["current"][found.t_s > 0.84]) > 20.0


def test_the_window_the_driver_asks_for_is_the_window_captured_and_holds_the_late_trip(
        grid_driver, lab: SimulatedLab) -> None:
    found = late_trip_capture(lab, grid_driver, KeysightInfiniiVision)
    trip = lab.model.charger.trips[-1]
    trigger = lab.model.grid.trigger_times[-1]
    assert found.t_s[0] == pytest.approx(-0.2)
    assert found.t_s[-1] == pytest.approx(1.0, abs=2e-4)
    instant = found_trip(found)
    assert instant is not None and instant == pytest.approx(trip.opened_s - trigger, abs=0.002)
    assert 0.88 < instant < 1.0  # in the last tenth of the window
    assert rms(found.channels["current"][found.t_s > instant + 0.005]) < 0.2


# -- 3. the front end: state, power-on values, scaling by the probe setting -----------------------------------------


def test_power_on_front_end_is_10_to_1_volts_dc_normal_not_what_the_rigs_probes_need(scope) -> None:
    assert setting(scope, "*RST") == OK
    for ch in (1, 2):
        assert float(scope.query(f":CHAN{ch}:PROB?")) == 10.0 != PROBES[ch]
        assert (scope.query(f":CHAN{ch}:UNIT?"), scope.query(f":CHAN{ch}:COUP?")) == ("VOLT", "DC")
    assert scope.query(":ACQ:TYPE?") == "NORM"


def test_the_front_end_is_state_the_scope_keeps_and_answers(scope) -> None:
    for command in (":CHAN1:UNIT AMPere", ":CHAN1:COUP AC", ":CHAN2:PROB 500", ":ACQ:TYPE HRESolution"):
        assert setting(scope, command) == OK
    assert [scope.query(q) for q in (":CHAN1:UNIT?", ":CHAN1:COUP?", ":CHAN2:PROB?", ":ACQ:TYPE?")] == \
        ["AMP", "AC", "+5.00000E+02", "HRES"]
    assert setting(scope, ":CHAN1:COUP GND").startswith("-224,")  # not a coupling this family has
    assert setting(scope, ":CHAN1:PROB 20000").startswith("-222,")
    assert float(scope.query(":CHAN1:PROB?")) == 10.0


def test_a_new_probe_ratio_multiplies_the_range_and_offset(scope) -> None:
    for command in (":CHAN1:PROB 10", ":CHAN1:RANG 40", ":CHAN1:OFFS 2", ":CHAN1:PROB 100"):
        assert setting(scope, command) == OK
    assert (float(scope.query(":CHAN1:RANG?")), float(scope.query(":CHAN1:OFFS?"))) == (400.0, 20.0)


def test_the_driver_defaults_are_the_simulated_benchs_probes() -> None:
    options = KeysightInfiniiVision.Options()
    assert (options.current_probe_ratio, options.voltage_probe_ratio) == (PROBES[1], PROBES[2])


STEADY = GridProgram((GridStep.hold(1.2, 230.0, 50.0),))


@pytest.mark.parametrize(("ratio", "expected_a"), [(100.0, EXPORT_A), (10.0, EXPORT_A / 10.0), (50.0, EXPORT_A / 2.0)])
def test_the_scope_scales_by_its_probe_setting_a_wrong_ratio_gives_wrong_amplitudes(
        grid_driver, lab: SimulatedLab, ratio: float, expected_a: float) -> None:
    """The scope reads back what it was told, so only the bench file can say the ratio is the probe's."""
    exporting(grid_driver, lab)
    scope = scope_driver(lab, current_probe_ratio=ratio)
    scope.setup()  # no refusal: the scope holds the ratio it was told
    found = capture(lab, grid_driver, scope, STEADY, pre_s=0.2, post_s=1.0)
    scope.close()
    assert rms(found.channels["current"]) == pytest.approx(expected_a, rel=0.01)
    assert rms(found.channels["voltage"]) == pytest.approx(230.0, rel=0.01)


# -- 4. the old set-up measures wrong; the driver's read-back refuses a front end that changed -----------------------


@pytest.fixture
def dc_injecting(open_session) -> Iterator[tuple[SimulatedLab, Chroma61800, object]]:
    """A charger that injects 0.12 A of DC, exporting; and a session standing for the scope's front panel."""
    lab = SimulatedLab(load_dut_profile(DUTS / "pq-dc-injection.yaml"), seed=1)
    grid = Chroma61800(lab.serve("chroma_61800"), name="grid",
                       envelope=EnvelopeGuard.from_bench(load_bench(SIM_BENCH)))
    try:
        exporting(grid, lab)
        yield lab, grid, open_session(lab.serve("keysight_infiniivision"))
    finally:
        grid.close()
        lab.close()


def dc_and_rms(lab: SimulatedLab, grid: Chroma61800, scope: KeysightInfiniiVision) -> tuple[float, float]:
    """The current's DC (its mean over 60 whole cycles) and rms in a steady capture."""
    found = capture(lab, grid, scope, STEADY, pre_s=0.2, post_s=1.0)
    current = found.channels["current"]
    return float(np.mean(current)), rms(current)


def test_the_old_setup_on_a_scope_left_ac_coupled_loses_the_dc_and_reads_the_current_ten_times_low(
        dc_injecting) -> None:
    lab, grid, front_panel = dc_injecting
    assert setting(front_panel, ":CHAN1:COUP AC") == OK  # left so by whoever used the scope last
    old = scope_driver(lab, DriverAsItWas)
    old.setup()
    dc_a, rms_a = dc_and_rms(lab, grid, old)
    old.close()
    assert abs(dc_a) < 0.002  # the 0.12 A of DC injection is gone
    assert rms_a == pytest.approx(EXPORT_A / 10.0, rel=0.02)  # 10:1 on a 10 mV/A clamp

    scope = scope_driver(lab)
    scope.setup()  # sets DC coupling and the clamp's ratio, and finds them so
    dc_a, rms_a = dc_and_rms(lab, grid, scope)
    scope.close()
    assert dc_a == pytest.approx(-0.12, abs=0.005)  # exporting: the current's sign is the load reference frame
    assert rms_a == pytest.approx(EXPORT_A, rel=0.02)


@pytest.mark.parametrize(("change", "header", "why"), [
    (":CHAN1:COUP AC", ":CHAN1:COUP", "coupling reads back 'AC', set 'DC'"),
    (":CHAN1:UNIT VOLT", ":CHAN1:UNIT", "units reads back 'VOLT', set 'AMP'"),
    (":CHAN1:PROB 10", ":CHAN1:PROB", "probe attenuation reads back '\\+1.00000E\\+01', set '100'"),
])
def test_a_front_end_changed_after_setup_is_refused_before_the_capture(dc_injecting, change: str, header: str,
                                                                      why: str) -> None:
    lab, grid, front_panel = dc_injecting
    scope = scope_driver(lab)
    scope.setup()
    assert setting(front_panel, change) == OK  # someone at the front panel between two cases
    with pytest.raises(InstrumentError, match=why) as caught:
        capture(lab, grid, scope, STEADY, pre_s=0.2, post_s=1.0)
    scope.close()
    assert caught.value.command == header
    assert lab.model.grid.trigger_times == []  # nothing was captured, and the disturbance never started
