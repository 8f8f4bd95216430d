"""The drivers against the strict simulated instruments over TCP: their command sequences are accepted
and do what the rig needs (the old sequences are refused: tests/sim/test_sim_strict_instruments.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from drivers.analyzer.keysight_infiniivision import KeysightInfiniiVision
from drivers.grid.chroma_61800 import Chroma61800
from rig.config.bench_file import Envelope
from rig.core.clock import VirtualClock, wait_until
from rig.config.envelope import EnvelopeGuard
from rig.core.identity import check_identity
from rig.run.bench_lab import Lab
from rig.suites.grid_code.capture import captured_disturbance
from rig.core.roles import GridProgram, GridStep
from rig.sim.charger.dut_profile import load_dut_profile
from rig.sim.simulated_lab import SimulatedLab
from rig.run.steps import StepLog

ROOT = Path(__file__).resolve().parents[2]
COMPLIANT = ROOT / "fixtures" / "duts" / "compliant.yaml"
SIM_BENCH = ROOT / "fixtures" / "benches" / "sim.yaml"
OV2_STEP = GridProgram((GridStep.hold(1.0, 277.7, 50.0), GridStep.hold(0.5, 230.0, 50.0)))


@pytest.fixture
def lab() -> Iterator[SimulatedLab]:
    simulated = SimulatedLab(load_dut_profile(COMPLIANT), seed=3)
    yield simulated
    simulated.close()


@pytest.fixture
def grid(grid_driver: Chroma61800) -> Chroma61800:
    return grid_driver


@pytest.fixture
def scope(lab: SimulatedLab, guard: EnvelopeGuard) -> Iterator[KeysightInfiniiVision]:
    driver = KeysightInfiniiVision(lab.serve("keysight_infiniivision"), name="capture", envelope=guard,
                                   options={"current_range_a": 100.0, "voltage_range_v": 800.0})
    yield driver
    driver.close()


def exporting(grid: Chroma61800, lab: SimulatedLab) -> None:
    grid.setup()
    grid.apply(230.0, 50.0)
    grid.output(True)
    lab.advance_to(25.0)
    assert grid.current_a() == pytest.approx(6000.0 / 230.0, abs=0.1)


def test_the_simulated_instruments_answer_like_members_of_the_driver_families(grid, scope) -> None:
    check_identity("grid", grid.resource, grid.identify(), Chroma61800.family)
    check_identity("capture", scope.resource, scope.identify(), KeysightInfiniiVision.family)


def test_grid_setup_leaves_the_source_ready_and_safe(grid, lab: SimulatedLab) -> None:
    grid.setup()
    g = lab.model.grid
    assert g.relay_closed and not g.output_on and g.mode == "FIXED"
    assert g.current_limit_a == 40.0
    assert g.voltage_slew_per_s == pytest.approx(1000.0) and g.frequency_slew_per_s == pytest.approx(50.0)
    assert grid.faults() == []


def test_grid_program_runs_and_its_state_is_read(grid, lab: SimulatedLab) -> None:
    exporting(grid, lab)
    grid.run_program(OV2_STEP)
    assert grid.program_running()
    lab.advance_to(27.0)
    assert not grid.program_running()
    assert lab.model.charger.trips[-1].stage == "O/V stage 2"
    grid.apply(230.0, 50.0)  # back to fixed mode
    assert lab.model.grid.mode == "FIXED"
    grid.run_program(OV2_STEP)  # and a second program loads the same way
    assert lab.model.grid.trigger_times == [25.0, 27.0]


def test_the_source_protection_trips_and_faults_report_it(lab: SimulatedLab) -> None:
    tight = EnvelopeGuard(Envelope.model_validate({"ac_voltage_v": {"min": 0.0, "max": 300.0},
                                                   "ac_frequency_hz": {"min": 45.0, "max": 65.0},
                                                   "ac_current_a": {"max": 10.0}}), "tight-bench.yaml")
    grid = Chroma61800(lab.serve("chroma_61800"), name="grid", envelope=tight)
    grid.setup()  # SOUR:CURR:LIM 10 from the envelope
    grid.apply(230.0, 50.0)
    grid.output(True)
    lab.advance_to(25.0)  # the 26 A charger connects after 20 s (plus its seeded reconnection phase): the source trips at once
    ((t_on, t_off),) = lab.model.charger.conduction.intervals
    assert 20.0 < t_on <= 20.2 and t_off == pytest.approx(t_on, abs=1e-3)  # on the source's next millisecond
    found = grid.faults()
    assert len(found) == 2 and found[0].startswith("OCP (over-current protection)")
    assert "-300" in found[1] and "protection tripped" in found[1]  # the queued error, read by faults
    grid.safe_off()  # output open, then the recorded trip is cleared: the next case starts clean
    assert grid.faults() == []
    grid.close()


def test_safe_off_opens_the_relay_and_output_on_closes_it_again(grid, lab: SimulatedLab) -> None:
    exporting(grid, lab)
    grid.safe_off()
    assert not lab.model.grid.output_on and not lab.model.grid.relay_closed
    grid.output(True)
    assert lab.model.grid.energized


def test_scope_arms_after_its_pre_trigger_span_then_captures_the_disturbance(grid, scope, lab: SimulatedLab) -> None:
    exporting(grid, lab)
    scope.setup()
    clock = VirtualClock(lab)
    scope.arm(pre_s=0.5, post_s=1.5, sample_rate_hz=10_000.0)
    start = clock.now()
    assert wait_until(clock, scope.armed, timeout_s=2.0, poll_s=0.1)
    assert clock.now() - start == pytest.approx(0.5)
    grid.run_program(OV2_STEP)
    clock.sleep(1.5)
    assert wait_until(clock, scope.complete, timeout_s=1.0, poll_s=0.05)
    capture = scope.fetch()
    assert capture.sample_rate_hz >= 10_000.0
    assert capture.t_s[0] == pytest.approx(-0.5)
    assert len(capture.t_s) == 20_000
    after = capture.channels["current"][capture.t_s > 1.0]
    assert float(np.sqrt(np.mean(after**2))) < 0.2  # O/V stage 2 opened 0.54 s after the step


def test_the_procedure_waits_for_the_scope_to_arm_and_records_the_actual_sample_interval(grid, scope,
                                                                                        lab: SimulatedLab) -> None:
    exporting(grid, lab)
    scope.setup()
    clock = VirtualClock(lab)
    bench = Lab(clock, StepLog(clock), {"grid": grid, "capture": scope})
    capture = captured_disturbance(bench, OV2_STEP, pre_s=0.5, post_s=1.5, rate_hz=10_000.0)
    assert lab.model.grid.trigger_times == [pytest.approx(25.5)]  # the disturbance started once the scope armed
    assert capture.t_s[0] == pytest.approx(-0.5)
    steps = [s.name for s in bench.steps.steps]
    assert steps[-1] == "The digitizer sampled every 0.0001 s (10000 S/s, 20000 samples)"


def test_a_capture_block_is_read_whole_not_split_at_the_newlines_in_its_bytes(grid, scope, lab: SimulatedLab) -> None:
    """16-bit codes hold newline bytes by the thousand; each one used to end a VISA read."""
    exporting(grid, lab)
    scope.setup()
    clock = VirtualClock(lab)
    scope.arm(pre_s=0.5, post_s=1.5, sample_rate_hz=10_000.0)
    assert wait_until(clock, scope.armed, timeout_s=2.0, poll_s=0.1)
    grid.run_program(OV2_STEP)
    clock.sleep(1.5)
    assert wait_until(clock, scope.complete, timeout_s=1.0, poll_s=0.05)
    session = scope._session
    reads: list[int] = []
    real_read = session.visalib.read

    def counting_read(handle, count):
        data, status = real_read(handle, count)
        reads.append(len(data))
        return data, status

    session.visalib.read = counting_read
    try:
        codes = scope.query_block(":WAV:DATA?", "h")
    finally:
        del session.visalib.read
    assert len(codes) == 20_000 and codes.tobytes().count(b"\n") > 20  # the block does hold newlines
    assert len(reads) <= 4  # '#n', the length, the payload with its terminator
    assert session.read_termination == "\n"  # and replies after it end at their newline again
    assert scope.query("*IDN?").startswith("KEYSIGHT")
