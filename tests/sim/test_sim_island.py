"""The island at the charger's point of connection: operating point, active drift, collapse, S1, the RLC load."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from rig.sim.charger.dut_profile import load_dut_profile
from rig.sim.island import S1_OPERATE_S, AntiIslanding, RlcLoad, island_point
from rig.sim.model import LabModel
from rig.sim.instruments.rlc_load_dialect import RlcLoadInstrument

COMPLIANT = Path(__file__).resolve().parents[2] / "fixtures" / "duts" / "compliant.yaml"
P = 6000.0
Q = P * math.tan(math.radians(2.5))  # the compliant charger's displacement: it supplies this many var


def lab(drift: float | None = 2.0) -> LabModel:
    profile = load_dut_profile(COMPLIANT)
    profile = profile.model_copy(update={"anti_islanding": None if drift is None else AntiIslanding(drift_hz_per_s=drift)})
    model = LabModel(profile, 1)
    g = model.grid
    g.set_voltage(0.0, 230.0)
    g.set_frequency(0.0, 50.0)
    g.set_relay(0.0, True)
    g.set_output(0.0, True)
    model.advance_to(25.0)
    assert model.charger.connected
    return model


def balanced(reactive: float = 1.0, active: float = 1.0) -> RlcLoad:
    return RlcLoad(True, P * active, P, (P - Q) * reactive, 230.0, 50.0)


@pytest.mark.parametrize(("p_r", "q_c", "voltage", "frequency"), [
    (6000.0, 6000.0, 230.0, 50.0),
    (6000.0 / 0.95, 6000.0, 230.0 * math.sqrt(0.95), 50.0),
    (6000.0, 6000.0 * 0.95, 230.0, 50.0 / math.sqrt(0.95)),
    (6000.0, 6000.0 * 1.05, 230.0, 50.0 / math.sqrt(1.05)),
])
def test_the_island_settles_where_the_load_takes_the_chargers_power(p_r, q_c, voltage, frequency):
    v, f = island_point(6000.0, 0.0, RlcLoad(True, p_r, 6000.0, q_c, 230.0, 50.0))
    assert v == pytest.approx(voltage) and f == pytest.approx(frequency)


def test_the_chargers_reactive_power_moves_the_island_frequency():
    """Supplying inductive var, the charger needs a more inductive load: the frequency falls, until C is trimmed."""
    untrimmed = RlcLoad(True, P, P, P, 230.0, 50.0)
    v, f = island_point(P, Q, untrimmed)
    assert f < 49.0
    assert island_point(P, Q, balanced())[1] == pytest.approx(50.0)
    s = untrimmed.absorbed(v, f)
    assert s.real == pytest.approx(P) and s.imag == pytest.approx(Q)


def test_no_resistor_or_nothing_exported_holds_no_island():
    assert island_point(P, 0.0, RlcLoad(True, 0.0, P, P)) is None
    assert island_point(0.0, 0.0, balanced()) is None
    assert island_point(P, 0.0, RlcLoad(False, P, P, P)) is None


def test_s1_opens_its_operate_time_after_the_coil_and_the_active_drift_trips_rocof():
    model = lab()
    model.island.set_load(25.0, balanced())
    model.island.command_switch(26.0, True)
    model.advance_to(30.0)
    assert model.island.opened_s == [pytest.approx(26.0 + S1_OPERATE_S)]
    (trip,) = model.charger.trips
    assert trip.stage == "RoCoF rise"
    run_on = trip.opened_s - model.island.opened_s[0]
    assert 0.5 < run_on < 0.7
    assert model.voltage.at(trip.opened_s - 1e-6) == pytest.approx(230.0)
    assert model.voltage.at(trip.opened_s) == 0.0  # the island collapsed with the charger's relay
    t = model.island.opened_s[0] + 0.25
    assert model.frequency.at(t) == pytest.approx(50.0 + 2.0 * 0.25, abs=1e-6)  # drifting up at 2 Hz/s from 50 Hz


@pytest.mark.parametrize(("reactive", "stage"), [(0.95, "RoCoF rise"), (1.05, "RoCoF fall")])
def test_the_drift_runs_away_from_nominal(reactive, stage):
    model = lab()
    model.island.set_load(25.0, balanced(reactive))
    model.island.command_switch(26.0, True)
    model.advance_to(30.0)
    assert [t.stage for t in model.charger.trips] == [stage]


def test_without_an_active_method_a_matched_island_runs_on():
    model = lab(drift=None)
    model.island.set_load(25.0, balanced())
    model.island.command_switch(26.0, True)
    model.advance_to(60.0)
    assert model.charger.trips == [] and model.charger.conduction.conducting_at(60.0)
    assert model.voltage.at(60.0) == pytest.approx(230.0) and model.frequency.at(60.0) == pytest.approx(50.0)


def test_a_weak_drift_is_cleared_by_over_frequency_seconds_later():
    model = lab(drift=0.3)
    model.island.set_load(25.0, balanced(0.95))
    model.island.command_switch(26.0, True)
    model.advance_to(40.0)
    (trip,) = model.charger.trips
    assert trip.stage == "O/F" and trip.opened_s - model.island.opened_s[0] > 2.5


def test_s1_open_keeps_the_grid_source_off_the_terminals_and_closing_restores_it():
    model = lab(drift=None)
    model.island.set_load(25.0, balanced())
    model.island.command_switch(26.0, True)
    model.advance_to(27.0)
    model.grid.set_voltage(27.0, 200.0)  # the source's own output moves; the island does not
    model.grid.set_output(27.5, False)
    model.advance_to(28.0)
    assert model.voltage.at(28.0) == pytest.approx(230.0) and model.charger.conduction.conducting_at(28.0)
    assert model.grid.voltage.at(27.2) == pytest.approx(200.0)
    model.island.set_load(28.0, RlcLoad())  # the load switched off: the island collapses
    model.advance_to(28.5)
    assert model.voltage.at(28.5) == 0.0 and not model.charger.conduction.conducting_at(28.5)
    model.grid.set_output(29.0, True)  # 200 V now, behind the open switch
    model.island.command_switch(30.0, False)
    model.advance_to(30.0 + S1_OPERATE_S)
    assert model.voltage.at(30.0 + S1_OPERATE_S) == pytest.approx(200.0)
    model.grid.set_voltage(31.0, 230.0)
    model.advance_to(60.0)
    assert model.voltage.at(60.0) == pytest.approx(230.0) and model.charger.connected  # reconnected after its timer


def test_a_coil_released_before_the_contacts_moved_leaves_s1_closed():
    model = lab()
    model.island.command_switch(26.0, True)
    model.island.command_switch(26.005, False)
    model.advance_to(27.0)
    assert model.island.opened_s == [] and not model.island.switch_open


def test_opening_s1_with_the_load_off_drops_the_charger_at_once():
    model = lab()
    model.island.command_switch(26.0, True)
    model.advance_to(27.0)
    t_open = 26.0 + S1_OPERATE_S
    assert model.voltage.at(t_open) == 0.0
    assert model.charger.conduction.intervals[-1][1] == pytest.approx(t_open)


def _instrument() -> tuple[LabModel, RlcLoadInstrument]:
    model = lab()
    return model, RlcLoadInstrument(model)


def test_the_rlc_load_refuses_input_on_before_its_nominal_values():
    model, load = _instrument()
    load.execute("LOAD:RES:POW 6000")
    load.execute("INP ON")
    assert load.next_error().startswith("-221")
    assert not model.island.load.on
    load.execute("NOM:VOLT 230;:NOM:FREQ 50")  # header path: the leading colon returns to the root
    load.execute("INP ON")
    assert load.next_error() == '0,"No error"' and model.island.load.on


def test_the_rlc_load_refuses_out_of_range_branches_and_nominal_changes_while_on():
    model, load = _instrument()
    load.execute("NOM:VOLT 230;:NOM:FREQ 50")  # header path: the leading colon returns to the root
    load.execute("LOAD:IND:REAC 20000")
    assert load.next_error().startswith("-222")
    load.execute("LOAD:CAP:REAC -1")
    assert load.next_error().startswith("-222")
    load.execute("INP ON")
    load.execute("NOM:VOLT 240")
    assert load.next_error().startswith("-221")
    load.execute("LOAD:CAP:REAC 5800")  # trimming while on is allowed
    assert load.next_error() == '0,"No error"'
    assert load.execute("LOAD:CAP:REAC?") == "5800.00" and load.execute("INP?") == "ON"
