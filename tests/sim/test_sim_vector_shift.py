"""Vector shift in the simulated lab: the grid source's phase jump, what the charger's measurements make of it,
and the list command that carries it (strict as the rest of the list)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from wire import OK, energise, load_list, setting

from rig.sim.charger.dut_profile import DutProfile, load_dut_profile
from rig.sim.simulated_lab import SimulatedLab
from rig.sim.signal import PhaseRate, PiecewiseLinear
from grid_on import grid_on

DUTS = Path(__file__).resolve().parents[2] / "fixtures" / "duts"


def test_a_phase_jump_reads_as_one_window_of_frequency_excursion() -> None:
    frequency, phase = PiecewiseLinear(0.0, 49.5), PiecewiseLinear(0.0, 0.0)
    phase.step(1.0, 50.0)
    measured = PhaseRate(frequency, phase, 0.04)
    assert measured.at(0.99) == 49.5
    assert measured.at(1.0) == pytest.approx(49.5 + 50.0 / (360.0 * 0.04))
    assert measured.at(1.039) == pytest.approx(49.5 + 50.0 / (360.0 * 0.04))
    assert measured.at(1.04) == pytest.approx(49.5)
    pieces = measured.segments(0.9, 1.1)
    assert [round(s.t0, 6) for s in pieces] == [0.9, 1.0, 1.04]
    assert measured.sample(np.array([1.02]))[0] == pytest.approx(measured.at(1.02))


def relay_profile(threshold_deg: float) -> DutProfile:
    """The just-inside profile with its vector-shift relay at ``threshold_deg`` (one-cycle window)."""
    profile = load_dut_profile(DUTS / "vector-shift-just-inside.yaml")
    stages = [s.model_copy(update={"threshold": threshold_deg if s.direction == "over" else -threshold_deg})
              if s.quantity == "vector_shift" else s for s in profile.ac_port.protection]
    return profile.with_ac_port(protection=stages)


@pytest.mark.parametrize(("threshold_deg", "trips"), [(49.0, True), (51.0, False)])
def test_a_vector_shift_relay_trips_on_a_jump_beyond_its_setting_only(threshold_deg: float, trips: bool) -> None:
    m = grid_on(relay_profile(threshold_deg), 21.0)
    assert m.charger.connected
    m.grid.phase_deg.step(21.0, 50.0)
    m.advance_to(22.0)
    assert (m.charger.trips != []) is trips
    if trips:
        assert m.charger.trips[0].stage == "Vector shift advance"
        assert m.charger.trips[0].operated_s == pytest.approx(21.0, abs=0.011)  # its next evaluation


def test_the_compliant_charger_rides_through_the_jump_its_frequency_measurement_sees() -> None:
    """A 50 degree jump reads 3.5 Hz high for 0.04 s: O/F and RoCoF pick up and drop out, no trip."""
    compliant = load_dut_profile(DUTS / "compliant.yaml")
    m = grid_on(compliant, 21.0)
    m.grid.phase_deg.step(21.0, 50.0)
    m.advance_to(25.0)
    assert m.charger.connected and m.charger.trips == []


def test_the_list_carries_a_phase_jump_per_step_and_runs_it(grid, lab: SimulatedLab) -> None:
    energise(grid, lab)
    for command in ("TRIG OFF", "OUTP:MODE FIXED", "LIST:PHAS:SHIF 0,50"):
        assert setting(grid, command) == OK
    load_list(grid, dwell="500,500", v_start="230,230", v_end="230,230", f="50,50")
    assert setting(grid, "TRIG ON") == OK
    lab.advance_to(22.0)
    phase = lab.model.phase_deg
    assert phase.at(21.49) == 0.0 and phase.at(21.51) == 50.0


def test_a_phase_list_of_another_length_stops_the_list_from_running(grid, lab: SimulatedLab) -> None:
    """Once loaded, the phase list stays: a driver that sends a shorter list without it gets no run."""
    energise(grid, lab)
    for command in ("TRIG OFF", "OUTP:MODE FIXED", "LIST:PHAS:SHIF 0,50"):
        assert setting(grid, command) == OK
    load_list(grid, dwell="500", v_start="230", v_end="230", f="50")
    assert setting(grid, "TRIG ON").startswith("-221,")


def test_a_phase_jump_is_refused_while_in_list_mode_and_beyond_a_turn(grid, lab: SimulatedLab) -> None:
    energise(grid, lab)
    assert setting(grid, "LIST:PHAS:SHIF 400").startswith("-222,")
    assert setting(grid, "OUTP:MODE LIST") == OK
    assert setting(grid, "LIST:PHAS:SHIF 10").startswith("-221,")


def test_the_trip_plot_marks_the_phase_step_where_the_program_makes_it() -> None:
    import yaml

    from rig.suites.g99.plan import Plan
    from rig.suites.g99.procedures import trip_plot

    root = Path(__file__).resolve().parents[2]
    plan = Plan.model_validate(yaml.safe_load((root / "test_plans/g99/protection.yaml").read_text()))
    (case,) = [c for c in plan.cases if c.id == "g99.vector_shift.no_trip.minus_50deg_50_5hz"]
    request = trip_plot(case, None, None, nominal=case.nominal(plan))  # type: ignore[arg-type]
    assert request.options.phase_jump_s == pytest.approx(3.0)  # 0.5 Hz at 0.5 Hz/s, then 2 s held
    assert request.options.phase_jump_deg == -50.0
