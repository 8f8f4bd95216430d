"""The Tektronix MSO driver against its simulated twin over the wire: the window asked for is the window captured,
and the dialect's rules (events primed by *ESR?, headers until HEADer OFF, a free-running sample clock, the
horizontal and trigger modes) make a driver that ignores them fail here, not at the bench."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import pyvisa

from drivers.analyzer.tektronix_mso import TektronixMso
from drivers.grid.chroma_61800 import Chroma61800
from rig.config.bench_file import load_bench
from rig.config.envelope import EnvelopeGuard
from rig.core.clock import VirtualClock
from rig.core.errors import InstrumentError
from rig.core.roles import Capture, GridProgram, GridStep
from rig.run.bench_lab import Lab
from rig.run.steps import StepLog
from rig.sim.charger.dut_profile import load_dut_profile
from rig.sim.instruments.tektronix_mso_dialect import EMPTY, PENDING
from rig.sim.simulated_lab import SimulatedLab
from rig.suites.grid_code.capture import captured_disturbance

ROOT = Path(__file__).resolve().parents[2]
OPTIONS = {"current_range_a": 100.0, "voltage_range_v": 800.0}
LATE_TRIP = GridProgram((GridStep.hold(0.4, 230.0, 50.0), GridStep.hold(1.0, 277.7, 50.0)))
"""O/V stage 2 opens about 0.94 s after the trigger: inside the last tenth of a capture to 1.0 s after it."""


@pytest.fixture
def exporting() -> Iterator[tuple[SimulatedLab, Chroma61800]]:
    """The compliant charger exporting at 230 V 50 Hz, driven through the rig's grid driver."""
    lab = SimulatedLab(load_dut_profile(ROOT / "fixtures" / "duts" / "compliant.yaml"), seed=1)
    grid = Chroma61800(lab.serve("chroma_61800"), name="grid",
                       envelope=EnvelopeGuard.from_bench(load_bench(ROOT / "fixtures" / "benches" / "sim.yaml")))
    try:
        grid.setup()
        grid.apply(230.0, 50.0)
        grid.output(True)
        lab.advance_to(25.0)
        yield lab, grid
    finally:
        grid.close()
        lab.close()


@pytest.fixture
def raw(exporting) -> Iterator[pyvisa.resources.MessageBasedResource]:
    """A plain session to the simulated MSO (the front panel, or a careless program)."""
    manager = pyvisa.ResourceManager("@py")
    session = manager.open_resource(exporting[0].serve("tektronix_mso"), read_termination="\n",
                                    write_termination="\n", timeout=2000)
    yield session
    session.close()


def capture(lab: SimulatedLab, grid: Chroma61800, scope: TektronixMso, program: GridProgram = LATE_TRIP, *,
            pre_s: float = 0.2, post_s: float = 1.0) -> Capture:
    clock = VirtualClock(lab)
    bench = Lab(clock, StepLog(clock), {"grid": grid, "capture": scope})
    return captured_disturbance(bench, program, pre_s=pre_s, post_s=post_s, rate_hz=10_000.0)


def scope_of(lab: SimulatedLab, driver: type[TektronixMso] = TektronixMso) -> TektronixMso:
    scope = driver(lab.serve("tektronix_mso"), name="capture", options=OPTIONS)
    scope.setup()
    return scope


def rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(values**2)))


def test_the_window_asked_for_is_captured_and_holds_a_late_trip(exporting) -> None:
    lab, grid = exporting
    scope = scope_of(lab)
    found = capture(lab, grid, scope)
    scope.safe_off()
    scope.close()
    trip = lab.model.charger.trips[-1]
    assert trip.stage == "O/V stage 2"
    assert found.t_s[0] == pytest.approx(-0.2, abs=1e-4) and found.t_s[-1] == pytest.approx(1.0, abs=2e-4)
    assert found.sample_rate_hz == pytest.approx(10_000.0)
    assert rms(found.channels["current"][found.t_s < 0]) == pytest.approx(6000.0 / 230.0, rel=0.02)
    assert rms(found.channels["voltage"][found.t_s < 0]) == pytest.approx(230.0, rel=0.01)
    opened = trip.opened_s - lab.model.grid.trigger_times[-1]
    assert 0.88 < opened < 1.0
    assert rms(found.channels["current"][found.t_s > opened + 0.005]) < 0.2


class FirstPointAtXZero(TektronixMso):
    """A driver that takes XZEro for the first point's time and ignores PT_Off (as some public code does)."""

    def fetch(self) -> Capture:
        found = super().fetch()
        x_inc = float(found.t_s[1] - found.t_s[0])
        self.write("DATa:SOUrce CH1")
        x_zero = float(self.query("WFMOutpre:XZEro?"))
        return Capture(t_s=x_zero + np.arange(len(found.t_s)) * x_inc, channels=found.channels)


def test_the_trigger_point_is_pt_off_and_xzero_a_driver_ignoring_pt_off_misplaces_the_record(exporting) -> None:
    lab, grid = exporting
    found = capture(lab, grid, scope_of(lab, FirstPointAtXZero))
    assert 0.0 <= found.t_s[0] < 1e-4  # the whole record moved 0.2 s late: the pre-trigger part looks post-trigger
    assert rms(found.channels["current"][: 1000]) > 20.0


def test_events_reach_allev_only_after_esr_and_syst_err_is_not_this_familys(raw) -> None:
    raw.write("*CLS")
    raw.write("SYSTem:ERRor?")  # an undefined header here: no reply
    assert raw.query("ALLEv?").endswith(PENDING)
    assert raw.query("*ESR?") == "32"
    assert raw.query("ALLEv?") == ':ALLEV 113,"Undefined header;SYSTem:ERRor?"'  # HEADer is still ON
    raw.write("HEADer OFF")
    assert raw.query("*ESR?") == "0" and raw.query("ALLEv?") == EMPTY


def test_the_power_on_state_is_not_what_the_rig_needs(raw) -> None:
    raw.write("HEADer OFF")
    assert [raw.query(q) for q in ("TRIGger:A:MODe?", "HORizontal:MODe?", "DATa:ENCdg?", "DATa:WIDth?",
                                   "ACQuire:STOPAfter?", "TRIGger:A:EDGE:SOUrce?", "DISplay:GLObal:CH2:STATE?")] == \
        ["AUTO", "AUTO", "RIBINARY", "1", "RUNSTOP", "CH1", "0"]


class AutomaticHorizontal(TektronixMso):
    """A driver that leaves the horizontal system in AUTO (it never sends HORizontal:MODe MANual)."""

    def write(self, command: str) -> None:
        if not command.startswith("HORizontal:MODe MAN") and not command.startswith("HORizontal:MODe:MAN"):
            super().write(command)


def test_in_automatic_horizontal_mode_the_rate_cannot_be_set_and_nothing_is_captured(exporting) -> None:
    lab, grid = exporting
    scope = scope_of(lab, AutomaticHorizontal)
    with pytest.raises(InstrumentError, match="221,\"Settings conflict;the sample rate is read only"):
        capture(lab, grid, scope)
    assert lab.model.grid.trigger_times == []  # the disturbance never started


class AutoTrigger(TektronixMso):
    """A driver that leaves the trigger in AUTO mode."""

    def write(self, command: str) -> None:
        super().write("TRIGger:A:MODe AUTO" if command == "TRIGger:A:MODe NORMal" else command)


def test_an_auto_trigger_fires_by_itself_once_ready_so_a_late_disturbance_is_missed(exporting) -> None:
    """NORMal waits for the grid simulator; AUTO triggers by itself soon after READY (the sim: 50 ms), so a
    disturbance started a little later is not what the record holds."""
    lab, grid = exporting
    for driver, armed in ((TektronixMso, True), (AutoTrigger, False)):
        scope = scope_of(lab, driver)
        scope.arm(pre_s=0.2, post_s=1.0, sample_rate_hz=10_000.0)
        lab.advance_to(lab.now + 0.3)  # the rig was busy for 0.1 s after the pre-trigger record filled
        assert scope.armed() is armed
        scope.safe_off()
        scope.close()


def test_a_changed_front_end_is_refused_before_the_capture(exporting, raw) -> None:
    lab, grid = exporting
    scope = scope_of(lab)
    raw.write("CH1:COUPling AC")  # someone at the front panel between two cases
    with pytest.raises(InstrumentError, match="coupling reads back 'AC', set 'DC'"):
        capture(lab, grid, scope)
    assert lab.model.grid.trigger_times == []
