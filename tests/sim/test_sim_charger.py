"""The simulated charger on the lab model: reconnection, definite-time trips, supply loss, event-driven time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rig.sim.charger.ac_port import ALIGNED_CLOCK, SimulatedCharger, TripEvent
from rig.sim.charger.dut_profile import DutProfile, load_dut_profile
from rig.sim.model import LabModel
from grid_on import grid_on

DUTS = Path(__file__).resolve().parents[2] / "fixtures" / "duts"

# compliant.yaml: voltage latency 0.02 s on a 0.01 s grid, frequency latency 0.04 s on a 0.02 s grid,
# disconnection 0.02 s, reconnection after 20 s of healthy grid evaluated every 0.1 s. These tests pin the
# charger's clock to the lab's (ALIGNED_CLOCK: evaluations at n * period), so every instant is a round number;
# test_sim_charger_clock.py covers the clock drawn from the seed.
CONNECTED_AT = 20.1  # output on at 0 s: healthy from 0.02 s, seen at 0.1 s, connected 20 s later


@pytest.fixture(scope="module")
def compliant() -> DutProfile:
    return load_dut_profile(DUTS / "compliant.yaml")


@pytest.fixture
def model(compliant_without_rocof: DutProfile) -> LabModel:
    """The grid on (relay closed, output on) at 230 V / 50 Hz from t = 0 and the charger connected by 21 s
    (without its RoCoF stages: these tests ramp the frequency at the RoCoF setting and faster)."""
    m = grid_on(compliant_without_rocof, 21.0)
    assert m.charger.connected
    return m


def pickup_of(charger: SimulatedCharger, stage: str) -> float | None:
    """When ``stage`` picked up (None: not picked up). The charger has no public view of this yet."""
    (state,) = [s for s in charger._stages if s.stage.name == stage]
    return state.pickup_s


# -- the profile ------------------------------------------------------------------------------------


def test_compliant_profile_loads_with_the_reference_settings(compliant: DutProfile) -> None:
    stages = {s.name: s for s in compliant.ac_port.protection}
    assert stages["O/V stage 2"].threshold == 273.7 and stages["O/V stage 2"].delay_s == 0.5
    assert compliant.ac_port.measurement.voltage.latency_s == 0.02
    assert compliant.ac_port.measurement.voltage.evaluation_period_s == 0.01
    assert compliant.ac_port.disconnection_time_s == 0.02
    assert compliant.ac_port.reconnection.delay_s == 20.0
    assert compliant.ac_port.reconnection.evaluation_period_s == 0.1  # the default


def test_of_missing_profile_lacks_the_over_frequency_stage() -> None:
    profile = load_dut_profile(DUTS / "of-missing.yaml")
    assert not [s for s in profile.ac_port.protection if s.quantity == "frequency" and s.direction == "over"]


# -- reconnection -----------------------------------------------------------------------------------


def test_charger_starts_disconnected_and_without_supply(compliant: DutProfile) -> None:
    m = LabModel(compliant, seed=1, clock=ALIGNED_CLOCK)
    m.advance_to(100.0)
    assert not m.charger.connected
    assert m.charger.conduction.intervals == []


def test_reconnection_after_the_delay_of_healthy_grid(compliant: DutProfile) -> None:
    m = LabModel(compliant, seed=1, clock=ALIGNED_CLOCK)
    m.grid.set_voltage(0.0, 230.0)
    m.grid.set_relay(0.0, True)
    m.grid.set_output(0.0, True)
    m.advance_to(CONNECTED_AT - 0.001)
    assert not m.charger.connected
    m.advance_to(CONNECTED_AT)
    assert m.charger.connected
    assert m.charger.conduction.intervals == [[pytest.approx(CONNECTED_AT, abs=1e-9), None]]


def test_conduction_starts_on_the_reconnection_evaluation_grid(compliant: DutProfile) -> None:
    m = LabModel(compliant, seed=1, clock=ALIGNED_CLOCK)
    m.grid.set_voltage(0.0, 230.0)
    m.advance_to(3.37)
    m.grid.set_relay(3.37, True)
    m.grid.set_output(3.37, True)  # healthy measured from 3.39 s, first evaluated at 3.4 s
    m.advance_to(40.0)
    ((t_on, t_off),) = m.charger.conduction.intervals
    assert t_on == pytest.approx(23.4, abs=1e-9)
    assert t_off is None
    assert t_on / compliant.ac_port.reconnection.evaluation_period_s == pytest.approx(round(t_on / 0.1), abs=1e-9)


def test_leaving_the_reconnection_window_restarts_the_delay(compliant: DutProfile) -> None:
    m = LabModel(compliant, seed=1, clock=ALIGNED_CLOCK)
    m.grid.set_voltage(0.0, 230.0)
    m.grid.set_relay(0.0, True)
    m.grid.set_output(0.0, True)
    m.advance_to(10.0)
    m.grid.set_voltage(10.0, 255.0)  # above the 253 V reconnection window, below every trip setting
    m.advance_to(11.0)
    m.grid.set_voltage(11.0, 230.0)  # healthy again from 11.02 s, seen at 11.1 s
    m.advance_to(50.0)
    assert m.charger.conduction.intervals == [[pytest.approx(31.1, abs=1e-9), None]]


# -- protection trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("step_time", [21.0, 35.25, 87.5])
def test_ov_stage_2_trip_time_is_latency_plus_delay_plus_disconnection(model: LabModel, step_time: float) -> None:
    model.advance_to(step_time)
    model.grid.set_voltage(step_time, 280.0)
    model.advance_to(step_time + 3.0)
    (trip,) = model.charger.trips
    assert trip.stage == "O/V stage 2"
    assert trip.operated_s - step_time == pytest.approx(0.02 + 0.5, abs=1e-9)
    assert trip.opened_s - step_time == pytest.approx(0.02 + 0.5 + 0.02, abs=1e-9)
    assert not model.charger.connected
    assert model.charger.conduction.intervals[-1][1] == trip.opened_s
    assert model.charger.conduction.conducting_at(trip.opened_s - 1e-6)
    assert not model.charger.conduction.conducting_at(trip.opened_s)


def test_an_off_grid_step_is_seen_on_the_next_evaluation_instant(model: LabModel) -> None:
    model.grid.set_voltage(21.003, 280.0)  # measured from 21.023, evaluated at 21.03
    model.advance_to(25.0)
    (trip,) = model.charger.trips
    assert trip.operated_s == pytest.approx(21.53, abs=1e-9)
    assert trip.opened_s == pytest.approx(21.55, abs=1e-9)


def test_under_voltage_trip(model: LabModel) -> None:
    model.grid.set_voltage(22.0, 150.0)
    model.advance_to(30.0)
    assert model.charger.trips == [TripEvent("U/V", pytest.approx(24.52, abs=1e-9), pytest.approx(24.54, abs=1e-9))]


def test_over_frequency_step_trips_the_compliant_charger(model: LabModel) -> None:
    model.grid.set_frequency(22.0, 52.5)
    model.advance_to(30.0)
    (trip,) = model.charger.trips
    assert trip.stage == "O/F"
    assert trip.opened_s - 22.0 == pytest.approx(0.04 + 0.5 + 0.02, abs=1e-9)


def test_over_frequency_ramp_picks_up_at_the_crossing(model: LabModel) -> None:
    model.grid.frequency_slew_per_s = 1.0
    model.grid.set_frequency(30.0, 53.0)  # 52 Hz at 32.0 s, measured 32.04 s
    model.advance_to(40.0)
    (trip,) = model.charger.trips
    assert trip.stage == "O/F"
    assert trip.operated_s == pytest.approx(32.54, abs=1e-9)
    assert trip.opened_s == pytest.approx(32.56, abs=1e-9)


def test_a_profile_without_over_frequency_protection_never_trips_on_52_5_hz() -> None:
    m = LabModel(load_dut_profile(DUTS / "of-missing.yaml"), seed=1, clock=ALIGNED_CLOCK)
    m.grid.set_voltage(0.0, 230.0)
    m.grid.set_relay(0.0, True)
    m.grid.set_output(0.0, True)
    m.advance_to(22.0)
    m.grid.set_frequency(22.0, 52.5)
    m.advance_to(200.0)
    assert m.charger.trips == []
    assert m.charger.connected
    assert m.charger.conduction.intervals == [[pytest.approx(CONNECTED_AT, abs=1e-9), None]]


def test_a_disturbance_shorter_than_the_delay_picks_up_then_drops_out(model: LabModel) -> None:
    model.grid.set_voltage(22.0, 280.0)
    model.advance_to(22.1)
    assert pickup_of(model.charger, "O/V stage 2") == pytest.approx(22.02, abs=1e-9)
    assert pickup_of(model.charger, "O/V stage 1") == pytest.approx(22.02, abs=1e-9)
    model.grid.set_voltage(22.3, 230.0)  # 0.3 s beyond the setting: less than the 0.5 s delay
    model.advance_to(22.4)
    assert pickup_of(model.charger, "O/V stage 2") is None
    assert pickup_of(model.charger, "O/V stage 1") is None
    model.advance_to(60.0)
    assert model.charger.trips == []
    assert model.charger.connected


def test_drop_out_resets_the_delay(model: LabModel) -> None:
    # 0.6 s beyond the setting in all, but never 0.5 s without a break: a definite-time stage does not trip
    model.grid.set_voltage(22.0, 280.0)
    model.grid.set_voltage(22.3, 230.0)
    model.grid.set_voltage(22.4, 280.0)
    model.grid.set_voltage(22.7, 230.0)
    model.advance_to(30.0)
    assert model.charger.trips == []
    assert model.charger.connected


def test_a_disturbance_just_longer_than_the_delay_trips(model: LabModel) -> None:
    model.grid.set_voltage(22.0, 280.0)
    model.grid.set_voltage(22.51, 230.0)  # beyond the setting at 22.02 .. 22.52: operates at 22.52
    model.advance_to(30.0)
    assert [t.stage for t in model.charger.trips] == ["O/V stage 2"]
    assert model.charger.trips[0].operated_s == pytest.approx(22.52, abs=1e-9)


def test_reconnection_after_a_trip_waits_for_a_healthy_grid(model: LabModel) -> None:
    model.grid.set_voltage(22.0, 280.0)
    model.advance_to(40.0)
    assert len(model.charger.trips) == 1 and not model.charger.connected  # 280 V is outside the window
    model.grid.set_voltage(40.0, 230.0)  # healthy from 40.02, seen at 40.1
    model.advance_to(70.0)
    assert model.charger.conduction.intervals[-1] == [pytest.approx(60.1, abs=1e-9), None]


# -- supply loss --------------------------------------------------------------------------------------


def test_losing_supply_stops_conduction_at_once_without_a_trip(model: LabModel) -> None:
    model.grid.set_output(22.5, False)
    model.advance_to(30.0)
    assert model.charger.trips == []
    assert not model.charger.connected
    assert model.charger.conduction.intervals == [[pytest.approx(CONNECTED_AT, abs=1e-9), 22.5]]
    assert model.current_rms_at(22.499) > 20.0
    assert model.current_rms_at(22.5) == 0.0


def test_supply_restored_reconnects_after_the_delay(model: LabModel) -> None:
    model.grid.set_output(22.5, False)
    model.advance_to(30.0)
    model.grid.set_output(30.0, True)
    model.advance_to(60.0)
    assert model.charger.conduction.intervals[-1] == [pytest.approx(50.1, abs=1e-9), None]


def test_output_current_is_the_export_power_at_the_terminal_voltage(model: LabModel) -> None:
    assert model.current_rms_at(21.0) == pytest.approx(6000.0 / 230.0)
    model.grid.set_voltage(21.5, 200.0)  # low but above every under-voltage setting
    assert model.current_rms_at(21.6) == pytest.approx(30.0)
    model.grid.set_voltage(21.7, 185.0)  # 32.4 A would exceed the 32 A rating
    assert model.current_rms_at(21.8) == pytest.approx(32.0)


# -- list mode on the model ---------------------------------------------------------------------------


def test_a_list_program_steps_the_terminals_and_trips_the_charger(model: LabModel) -> None:
    g = model.grid
    g.mode = "LIST"
    p = g.program
    p.dwell_s = [0.5, 1.5]
    p.voltage_start, p.voltage_end = [230.0, 280.0], [230.0, 280.0]
    p.frequency_start, p.frequency_end = [50.0, 50.0], [50.0, 50.0]
    assert g.trigger(21.0) is None
    assert g.list_running(22.0) and not g.list_running(23.0)
    model.advance_to(25.0)
    assert model.voltage.at(21.49) == 230.0 and model.voltage.at(21.5) == 280.0
    assert model.charger.trips == [TripEvent("O/V stage 2", pytest.approx(22.02, abs=1e-9),
                                             pytest.approx(22.04, abs=1e-9))]


def test_trigger_outside_list_mode_or_with_the_output_off_is_refused(compliant: DutProfile) -> None:
    m = LabModel(compliant, seed=1, clock=ALIGNED_CLOCK)
    assert m.grid.trigger(0.0) == "not in list mode"
    m.grid.mode = "LIST"
    assert m.grid.trigger(0.0) == "output is off"
    m.grid.set_output(0.0, True)
    assert m.grid.trigger(0.0) == "output relay is open"  # the terminals are not live
    m.grid.set_relay(0.0, True)
    assert m.grid.trigger(0.0) == "list is empty"


# -- event-driven time ------------------------------------------------------------------------------


def disturbance_sequence(profile: DutProfile) -> LabModel:
    """One list program with a no-trip pair of pulses, an O/F ramp trip, a reconnection and a U/V trip."""
    m = LabModel(profile, seed=1, clock=ALIGNED_CLOCK)
    g = m.grid
    g.set_voltage(0.0, 230.0)
    g.set_relay(0.0, True)
    g.set_output(0.0, True)
    g.mode = "LIST"
    #                 connect  pulse  gap  pulse  hold  f ramp  reconnect  U/V   reconnect
    dwell = [21.0, 0.3, 0.1, 0.3, 2.0, 1.5, 21.8, 3.0, 30.0]
    volts = [230.0, 280.0, 230.0, 280.0, 230.0, 230.0, 230.0, 150.0, 230.0]
    f_start = [50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0]
    f_end = [50.0, 50.0, 50.0, 50.0, 50.0, 54.0, 50.0, 50.0, 50.0]
    p = g.program
    p.dwell_s, p.voltage_start, p.voltage_end, p.frequency_start, p.frequency_end = dwell, volts, volts, f_start, f_end
    assert g.trigger(0.0) is None
    return m


def history(m: LabModel) -> tuple[list[TripEvent], list[list[float | None]]]:
    return m.charger.trips, m.charger.conduction.intervals


def test_the_disturbance_sequence_gives_the_expected_events(compliant_without_rocof: DutProfile) -> None:
    m = disturbance_sequence(compliant_without_rocof)
    m.advance_to(90.0)
    trips, intervals = history(m)
    assert trips == [
        TripEvent("O/F", pytest.approx(25.0, abs=1e-9), pytest.approx(25.02, abs=1e-9)),  # 52 Hz at 24.45 s, seen 24.5
        TripEvent("U/V", pytest.approx(49.52, abs=1e-9), pytest.approx(49.54, abs=1e-9)),  # 150 V from 47.0 s
    ]
    assert intervals == [
        [pytest.approx(20.1, abs=1e-9), pytest.approx(25.02, abs=1e-9)],
        [pytest.approx(45.3, abs=1e-9), pytest.approx(49.54, abs=1e-9)],
        [pytest.approx(70.1, abs=1e-9), None],
    ]


@pytest.mark.parametrize("jumps", ["centisecond", "irregular"])
def test_one_big_jump_and_many_small_jumps_give_identical_events(compliant: DutProfile, jumps: str) -> None:
    big = disturbance_sequence(compliant)
    big.advance_to(90.0)

    small = disturbance_sequence(compliant)
    if jumps == "centisecond":  # lands exactly on every grid instant and every disturbance edge
        times = np.arange(1, 9001) * 0.01
    else:
        times = np.cumsum(np.random.default_rng(7).uniform(0.0, 0.09, 2500))
        times = np.append(times[times < 90.0], 90.0)
    for t in times:
        small.advance_to(float(t))

    assert history(small) == history(big)  # exactly: events come from the signals, not from the stepping


def test_advancing_backwards_is_ignored(model: LabModel) -> None:
    model.advance_to(10.0)
    assert model.now == 21.0
    assert model.charger.connected


@pytest.mark.parametrize("step_time", [35.27, 47.2])
def test_trip_time_does_not_depend_on_the_float_representation_of_the_step_instant(model: LabModel,
                                                                                   step_time: float) -> None:
    model.advance_to(step_time)
    model.grid.set_voltage(step_time, 280.0)
    model.advance_to(step_time + 3.0)
    (trip,) = model.charger.trips
    assert trip.opened_s - step_time == pytest.approx(0.54, abs=1e-9)


@pytest.mark.parametrize(("quantity", "at_s", "value"), [("voltage", 64.0, 280.0), ("frequency", 63.99, 52.5)])
def test_a_step_at_an_unlucky_instant_still_trips(model: LabModel, quantity: str, at_s: float, value: float) -> None:
    model.advance_to(at_s)
    setter = model.grid.set_voltage if quantity == "voltage" else model.grid.set_frequency
    setter(at_s, value)
    model.advance_to(at_s + 5.0)
    assert len(model.charger.trips) == 1


def test_reconnection_search_survives_edges_one_ulp_apart(compliant: DutProfile) -> None:
    m = LabModel(compliant, seed=1, clock=ALIGNED_CLOCK)
    m.grid.set_voltage(0.0, 200.0)  # below the 207 V reconnection window
    m.grid.set_relay(0.0, True)
    m.grid.set_output(0.0, True)
    m.grid.set_frequency(0.54, 50.1)
    m.grid.set_voltage(0.58, 230.0)
    m.advance_to(30.0)
    assert m.charger.conduction.intervals == [[pytest.approx(20.6, abs=1e-9), None]]


# -- the grid source's own current limit ----------------------------------------------------------------


def energised(profile: DutProfile, limit_a: float) -> LabModel:
    m = LabModel(profile, seed=1, clock=ALIGNED_CLOCK)
    m.grid.current_limit_a = limit_a
    m.grid.set_voltage(0.0, 230.0)
    m.grid.set_relay(0.0, True)
    m.grid.set_output(0.0, True)
    return m


def test_one_jump_across_the_reconnection_finds_the_source_trip_at_the_first_conducting_instant(
        compliant: DutProfile) -> None:
    m = energised(compliant, limit_a=10.0)  # the charger draws 26 A once connected
    m.advance_to(100.0)  # one jump: the lab splits it at the charger's events
    assert m.charger.conduction.intervals == [[pytest.approx(CONNECTED_AT, abs=1e-9), pytest.approx(CONNECTED_AT, abs=1e-9)]]
    assert not m.grid.output_on and m.grid.fault is not None and m.grid.fault.startswith("OCP")
    assert m.charger.trips == []  # the charger lost its supply: not a protection trip of its own


def test_a_voltage_step_that_raises_the_current_above_the_limit_trips_on_the_millisecond_grid(
        compliant: DutProfile) -> None:
    m = energised(compliant, limit_a=27.0)  # 6 kW: above 27 A below 222.2 V
    m.advance_to(30.0)
    assert m.grid.output_on
    m.grid.set_voltage(30.0004, 215.0)  # seen at the next millisecond
    m.advance_to(40.0)
    assert m.charger.conduction.intervals[-1][1] == pytest.approx(30.001, abs=1e-9)


@pytest.mark.parametrize("jumps", [[100.0], list(np.arange(0.25, 100.0, 0.25)) + [100.0]])
def test_big_and_small_jumps_give_the_same_source_trip(compliant: DutProfile, jumps: list[float]) -> None:
    m = energised(compliant, limit_a=28.0)
    m.grid.mode = "LIST"
    p = m.grid.program
    p.dwell_s = [25.0, 10.0]  # then a 3 V/s sag from 230 V: above 28 A below 214.29 V
    p.voltage_start, p.voltage_end = [230.0, 230.0], [230.0, 200.0]
    p.frequency_start, p.frequency_end = [50.0, 50.0], [50.0, 50.0]
    assert m.grid.trigger(0.0) is None
    for t in jumps:
        m.advance_to(float(t))
    assert m.charger.conduction.intervals[-1][1] == pytest.approx(30.239, abs=1e-9)  # 214.2857 V at 30.2381 s


def test_a_limit_above_the_rating_costs_no_solving(compliant: DutProfile, monkeypatch) -> None:
    m = energised(compliant, limit_a=40.0)
    monkeypatch.setattr(m.charger, "next_event_time", lambda t: pytest.fail("peeked without need"))
    m.advance_to(200.0)
    assert m.grid.output_on and m.charger.connected


# -- RoCoF (loss of mains): the windowed df/dt of the frequency measurement -------------------------


def _ramp_frequency(m: LabModel, start_s: float, rate_hz_per_s: float, to_hz: float) -> None:
    m.grid.frequency_slew_per_s = abs(rate_hz_per_s)
    m.grid.set_frequency(start_s, to_hz)
    m.grid.frequency_slew_per_s = None


def _connected(profile: DutProfile) -> LabModel:
    return grid_on(profile, 21.0)


def test_a_ramp_just_below_the_rocof_setting_never_trips(compliant: DutProfile) -> None:
    m = _connected(compliant)
    _ramp_frequency(m, 22.0, 0.95, 51.0)  # 1.05 s at 0.95 Hz/s
    _ramp_frequency(m, 25.0, 0.95, 49.0)
    m.advance_to(35.0)
    assert m.charger.trips == []


def test_a_ramp_beyond_the_setting_trips_rocof_after_window_plus_delay(compliant: DutProfile) -> None:
    """At 2 Hz/s the 0.2 s window reads 1 Hz/s 0.1 s into the ramp (seen at the next 20 ms evaluation, 22.1 s);
    the stage operates 0.5 s later and the relay opens 20 ms after that."""
    m = _connected(compliant)
    _ramp_frequency(m, 22.0, 2.0, 51.5)
    m.advance_to(30.0)
    (trip,) = m.charger.trips
    assert trip.stage == "RoCoF rise"
    assert trip.operated_s == pytest.approx(22.6, abs=1e-9)
    assert trip.opened_s == pytest.approx(22.62, abs=1e-9)


def test_a_frequency_step_reads_as_a_rocof_for_one_window_only(compliant: DutProfile) -> None:
    """A 1 Hz step is 5 Hz/s for the 0.2 s window: it picks RoCoF fall up, which drops out before its 0.5 s."""
    m = _connected(compliant)
    m.grid.set_frequency(22.0, 49.0)
    m.advance_to(22.1)
    assert pickup_of(m.charger, "RoCoF fall") is not None
    m.advance_to(30.0)
    assert m.charger.trips == []
    assert pickup_of(m.charger, "RoCoF fall") is None
