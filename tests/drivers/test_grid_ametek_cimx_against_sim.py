"""The Ametek / California Instruments MX driver against its strict simulated twin over TCP: its sequences
are accepted and do what the rig needs; what the unit would do with another sequence is shown too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.grid.ametek_cimx import AmetekCiMx
from drivers.scpi import ScpiDriver
from rig.config.bench_file import Envelope, load_bench
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import InstrumentError
from rig.core.identity import check_identity
from rig.core.roles import GridProgram, GridStep
from rig.sim.simulated_lab import SimulatedLab

BENCH = Path(__file__).resolve().parents[2] / "fixtures" / "benches" / "sim-ametek_cimx.yaml"
OV2_STEP = GridProgram((GridStep.hold(1.0, 277.7, 50.0), GridStep.hold(0.5, 230.0, 50.0)))
ROCOF = GridProgram((GridStep(2.0, (230.0, 230.0), (50.0, 49.0)), GridStep.hold(1.0, 230.0, 49.0),
                     GridStep(2.0, (230.0, 230.0), (49.0, 50.0))))


@pytest.fixture
def guard() -> EnvelopeGuard:
    return EnvelopeGuard.from_bench(load_bench(BENCH))


@pytest.fixture
def grid(lab: SimulatedLab, guard: EnvelopeGuard) -> Iterator[AmetekCiMx]:
    driver = AmetekCiMx(lab.serve("ametek_cimx"), name="grid", envelope=guard)
    yield driver
    driver.close()


def exporting(grid: AmetekCiMx, lab: SimulatedLab) -> None:
    grid.setup()
    grid.apply(230.0, 50.0)
    grid.output(True)
    lab.advance_to(25.0)
    assert grid.current_a() == pytest.approx(6000.0 / 230.0, abs=0.1)


def test_the_simulated_unit_answers_like_a_member_of_the_family(grid: AmetekCiMx) -> None:
    check_identity("grid", grid.resource, grid.identify(), AmetekCiMx.family)


def test_setup_replaces_what_the_previous_user_left(grid: AmetekCiMx, lab: SimulatedLab) -> None:
    unit = lab._servers["ametek_cimx"].instrument if hasattr(lab, "_servers") else None
    grid.setup()
    g = lab.model.grid
    assert not g.output_on and not g.relay_closed and g.mode == "FIXED"
    assert g.current_limit_a == 40.0 and g.overcurrent_delay_s == pytest.approx(0.1)
    assert g.voltage_slew_per_s == pytest.approx(1000.0) and g.frequency_slew_per_s == pytest.approx(50.0)
    if unit is not None:
        assert unit.ttl_on and unit.ttl_source == "BOT" and unit.transient_source == "IMM"
        assert unit.shape == "SINE" and unit.modes["PHAS"] == "FIX" and unit.count == 1
    assert grid.faults() == []


def test_a_step_program_runs_on_the_unit_and_its_trigger_output_marks_the_start(grid: AmetekCiMx,
                                                                                lab: SimulatedLab) -> None:
    exporting(grid, lab)
    grid.run_program(OV2_STEP)
    assert grid.program_running()
    assert lab.model.grid.trigger_times == [25.0]
    assert lab.model.voltage.at(25.5) == pytest.approx(277.7)
    lab.advance_to(27.0)
    assert not grid.program_running()
    assert lab.model.charger.trips[-1].stage == "O/V stage 2"
    grid.apply(230.0, 50.0)
    assert lab.model.grid.mode == "FIXED"
    grid.run_program(OV2_STEP)  # a second program loads the same way
    assert lab.model.grid.trigger_times == [25.0, 27.0]


def test_a_ramp_point_is_an_exact_ramp_and_a_phase_jump_steps_the_output_phase(grid: AmetekCiMx,
                                                                                lab: SimulatedLab) -> None:
    exporting(grid, lab)
    grid.run_program(ROCOF)
    f = lab.model.frequency
    assert f.at(26.0) == pytest.approx(49.5) and f.at(27.5) == pytest.approx(49.0) and f.at(29.0) == pytest.approx(49.5)
    lab.advance_to(31.0)
    shift = GridProgram((GridStep.hold(1.0, 230.0, 50.0), GridStep(1.0, (230.0, 230.0), (50.0, 50.0), 50.0)))
    grid.apply(230.0, 50.0)
    before = lab.model.phase_deg.at(31.0)
    grid.run_program(shift)
    assert lab.model.phase_deg.at(31.5) == pytest.approx(before)
    assert lab.model.phase_deg.at(32.5) == pytest.approx(before + 50.0)


def test_without_the_trigger_output_the_digitizer_would_see_no_start(grid: AmetekCiMx, lab: SimulatedLab) -> None:
    exporting(grid, lab)
    grid.write("OUTP:TTLT:STAT OFF")  # as the previous user left it
    grid.run_program(OV2_STEP)
    assert lab.model.grid.trigger_times == [] and grid.program_running()


def test_the_unit_refuses_a_list_edit_while_its_transient_runs(grid: AmetekCiMx, lab: SimulatedLab) -> None:
    exporting(grid, lab)
    grid.run_program(OV2_STEP)
    with pytest.raises(InstrumentError, match="LIST:DWEL 1.*-221"):
        grid.write("LIST:DWEL 1")
    with pytest.raises(InstrumentError, match="INIT.*-213"):
        grid.write("INIT")


def test_a_driver_that_skipped_set_up_would_run_the_previous_users_list(lab: SimulatedLab, guard) -> None:
    """The unit found as left: BUS trigger source (INIT only arms), list repeats and count, no trigger output
    (LIST:STEP ONCE, also left, is refused by the simulator: it runs AUTO only)."""
    raw = ScpiDriver(lab.serve("ametek_cimx"), name="grid")
    for command in ("VOLT:AC 230", "FREQ 50", "OUTP ON", "VOLT:MODE LIST", "FREQ:MODE LIST", "PHAS:MODE FIX",
                    "LIST:STEP AUTO", "LIST:DWEL 1", "LIST:VOLT 277.7", "LIST:FREQ 50", "INIT"):
        raw.write(command)
    assert raw.query("TRIG:STAT?") == "WTRIG"
    raw.write("TRIG")
    assert lab.model.grid.trigger_times == []  # the trigger output is off
    assert lab.model.grid.list_end_s == pytest.approx(lab.model.now + 3 * 2 * 1.0)  # LIST:REP 1 and LIST:COUN 3
    raw.close()


def test_the_source_protection_trips_after_its_delay_and_faults_report_it(lab: SimulatedLab) -> None:
    tight = EnvelopeGuard(Envelope.model_validate({"ac_voltage_v": {"min": 0.0, "max": 300.0},
                                                   "ac_frequency_hz": {"min": 45.0, "max": 65.0},
                                                   "ac_current_a": {"max": 10.0}}), "tight-bench.yaml")
    grid = AmetekCiMx(lab.serve("ametek_cimx"), name="grid", envelope=tight, options={"ocp_delay_s": 0.5})
    grid.setup()
    grid.apply(230.0, 50.0)
    grid.output(True)
    lab.advance_to(25.0)
    ((t_on, t_off),) = lab.model.charger.conduction.intervals
    assert t_off == pytest.approx(t_on + 0.5, abs=2e-3)  # CURR:PROT:DEL
    found = grid.faults()
    assert len(found) == 1 and found[0].startswith("CF (over-current protection tripped)")
    with pytest.raises(InstrumentError, match="OUTP ON.*-221"):
        grid.output(True)  # latched until cleared
    grid.safe_off()
    grid.output(True)
    grid.safe_off()
    assert not lab.model.grid.output_on
    grid.close()


def test_safe_off_mid_transient_leaves_the_output_off_and_fixed(grid: AmetekCiMx, lab: SimulatedLab) -> None:
    exporting(grid, lab)
    grid.run_program(ROCOF)
    lab.advance_to(26.0)
    grid.safe_off()
    g = lab.model.grid
    assert not g.output_on and not g.relay_closed and g.mode == "FIXED" and not g.list_running(lab.model.now)
    assert not grid.program_running()


def test_measurements_read_the_export(grid: AmetekCiMx, lab: SimulatedLab) -> None:
    exporting(grid, lab)
    reading = grid.read()
    assert reading.voltage_v == pytest.approx(230.0, abs=0.2) and reading.frequency_hz == pytest.approx(50.0, abs=0.01)
    assert reading.power_w == pytest.approx(-6000.0, rel=0.01)
    assert all(check.outcome != "problem" for check in grid.bench_checks())
