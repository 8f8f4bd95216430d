"""The simulated Chroma keeps what the unit stores between runs, as a real one found on a shared bench would.

A previous user's settings stay in force until the rig sets them: neither
``*CLS`` nor ``*RST`` nor the rest of the set-up restores them. Each test
replays what the driver's set-up sent before these settings were added (the
old sequence) and shows the unit still holding the earlier value, next to the
driver's set-up now.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from wire import OK, energise, load_list, setting

from drivers.grid.chroma_61800 import Chroma61800
from rig.config.bench_file import load_bench
from rig.config.envelope import EnvelopeGuard
from rig.sim.instruments.chroma_61800_dialect import LEFT_BY_PREVIOUS_USER
from rig.sim.simulated_lab import SimulatedLab

SIM_BENCH = Path(__file__).resolve().parents[2] / "fixtures" / "benches" / "sim.yaml"
OLD_SETUP = ("*CLS", "TRIG OFF", "OUTP:STAT OFF", "OUTP:MODE FIXED", "INST:PHAS SINGLE", "VOLT:RANG HIGH",
             "SOUR:CURR:LIM 40.00", "OUTP:SLEW:VOLT:AC 1", "OUTP:SLEW:FREQ 0.05", "OUTP:REL ON")
"""What the driver's set-up sent on the simulated bench before it set the stored settings."""


@pytest.fixture
def driver(lab: SimulatedLab) -> Iterator[Chroma61800]:
    guard = EnvelopeGuard.from_bench(load_bench(SIM_BENCH))
    grid = Chroma61800(lab.serve("chroma_61800"), name="grid", envelope=guard)
    yield grid
    grid.close()


def old_setup(grid) -> None:
    for command in OLD_SETUP:
        assert setting(grid, command) == OK


# -- 1. the over-current protection's trip delay ---------------------------------------------------------------


def test_the_unit_is_found_with_the_trip_delay_a_previous_user_left(grid, lab: SimulatedLab) -> None:
    assert LEFT_BY_PREVIOUS_USER.ocp_delay_s == 2.0
    assert float(grid.query("SOUR:CURR:DEL?")) == 2.0
    assert lab.model.grid.overcurrent_delay_s == 2.0


def test_the_old_setup_leaves_a_2_s_over_current_delay_in_force(grid, lab: SimulatedLab) -> None:
    old_setup(grid)
    assert setting(grid, "*RST") == OK  # not even a reset restores it
    assert float(grid.query("CURR:DEL?")) == 2.0
    assert lab.model.grid.overcurrent_delay_s == 2.0


def test_the_driver_sets_the_delay_and_it_stays_set_for_the_next_session(driver: Chroma61800, open_session,
                                                                         lab: SimulatedLab) -> None:
    driver.setup()
    assert lab.model.grid.overcurrent_delay_s == 0.0
    again = open_session(lab.serve("chroma_61800"))  # the next run finds what this one left
    assert setting(again, "*CLS") == OK
    assert float(again.query("SOUR:CURR:DEL?")) == 0.0


@pytest.mark.parametrize("value", ["0.3", "5.5", "-0.5"])
def test_a_delay_off_the_half_second_grid_or_out_of_range_is_refused(grid, lab: SimulatedLab, value: str) -> None:
    assert setting(grid, f"SOUR:CURR:DEL {value}").startswith("-222,")
    assert lab.model.grid.overcurrent_delay_s == 2.0


@pytest.mark.parametrize("value", ["0", "0.5", "5.0"])
def test_every_half_second_step_is_taken(grid, lab: SimulatedLab, value: str) -> None:
    assert setting(grid, f"SOUR:CURR:DEL {value}") == OK
    assert lab.model.grid.overcurrent_delay_s == float(value)


# -- 2. the waveform and the DC offset ---------------------------------------------------------------------------


def test_the_unit_is_found_on_a_square_wave_with_a_dc_offset(grid) -> None:
    assert (grid.query("SOUR:FUNC:SHAP?"), grid.query("SOUR:FUNC:SHAP:B?"), grid.query("SOUR:FUNC:SHAP:A?")) == (
        "B", "SQUA", "CSIN")
    assert float(grid.query("SOUR:VOLT:LEV:IMM:AMPL:DC?")) == 5.0


def test_the_old_setup_leaves_the_stored_waveform_and_dc_offset_in_force(grid) -> None:
    old_setup(grid)
    assert setting(grid, "*RST") == OK
    assert (grid.query("SOUR:FUNC:SHAP?"), grid.query("SOUR:FUNC:SHAP:B?")) == ("B", "SQUA")
    assert float(grid.query("SOUR:VOLT:LEV:IMM:AMPL:DC?")) == 5.0


def test_the_driver_selects_a_sine_in_buffer_a_and_zeroes_the_dc_offset(driver: Chroma61800, open_session,
                                                                      lab: SimulatedLab) -> None:
    driver.setup()
    again = open_session(lab.serve("chroma_61800"))
    assert (again.query("SOUR:FUNC:SHAP?"), again.query("SOUR:FUNC:SHAP:A?")) == ("A", "SINE")
    assert float(again.query("VOLT:DC?")) == 0.0


@pytest.mark.parametrize(("command", "code"), [("SOUR:FUNC:SHAP:A TRIANGLE", "-224,"), ("SOUR:FUNC:SHAP C", "-224,"),
                                               ("SOUR:VOLT:DC 400", "-222,")])
def test_an_unknown_shape_or_buffer_and_an_offset_beyond_the_range_are_refused(grid, command: str,
                                                                                 code: str) -> None:
    assert setting(grid, command).startswith(code)
    assert (grid.query("SOUR:FUNC:SHAP?"), grid.query("SOUR:FUNC:SHAP:A?")) == ("B", "CSIN")
    assert float(grid.query("SOUR:VOLT:DC?")) == 5.0


# -- 3. the instrument-side voltage cap --------------------------------------------------------------------------


def test_the_unit_is_found_without_a_cap_below_its_range(grid, lab: SimulatedLab) -> None:
    assert float(grid.query("SOUR:VOLT:LIM:AC?")) == 300.0
    assert lab.model.grid.voltage_limit_v == 300.0


def test_a_fixed_setpoint_above_the_cap_is_held_at_the_cap(grid, lab: SimulatedLab) -> None:
    assert setting(grid, "SOUR:VOLT:LIM:AC 240") == OK
    energise(grid, lab, t=21.0)
    assert lab.model.voltage.at(21.0) == 230.0
    assert setting(grid, "SOUR:VOLT:LEV:IMM:AMPL:AC 260") == OK
    lab.advance_to(22.0)
    assert lab.model.voltage.at(22.0) == 240.0
    assert float(grid.query("SOUR:VOLT:LEV:IMM:AMPL:AC?")) == 260.0  # the setpoint is kept as programmed
    assert setting(grid, "SOUR:VOLT:LIM:AC 300") == OK  # lifting the cap releases it at once
    assert lab.model.voltage.at(22.0) == 260.0


def test_a_list_ramp_through_the_cap_is_held_at_the_cap_from_the_crossing(grid, lab: SimulatedLab) -> None:
    """Cap 250 V; the list holds 230 V for 0.5 s, then ramps 230 -> 280 V over 1 s from 21.5 s: 250 V at 21.9 s."""
    assert setting(grid, "SOUR:VOLT:LIM:AC 250") == OK
    energise(grid, lab, t=21.0)
    load_list(grid, dwell="500,1000", v_start="230,230", v_end="230,280", f="50,50")
    assert setting(grid, "TRIG ON") == OK
    v = lab.model.voltage
    assert v.at(21.7) == pytest.approx(240.0)
    assert (v.at(21.9), v.at(22.2), v.at(22.5)) == (pytest.approx(250.0), 250.0, 250.0)


def test_the_driver_sets_the_benchs_cap_over_another_benchs(driver: Chroma61800, grid, lab: SimulatedLab) -> None:
    assert setting(grid, "SOUR:VOLT:LIM:AC 200") == OK  # what another bench left
    old_setup(grid)
    assert lab.model.grid.voltage_limit_v == 200.0
    driver.setup()
    assert lab.model.grid.voltage_limit_v == 300.0  # sim.yaml: ac_voltage_v max 300 V


@pytest.mark.parametrize("value", ["301", "-1"])
def test_a_cap_outside_0_to_300_v_is_refused(grid, lab: SimulatedLab, value: str) -> None:
    assert setting(grid, f"SOUR:VOLT:LIM:AC {value}").startswith("-222,")
    assert lab.model.grid.voltage_limit_v == 300.0
