"""The charger's own clock: the tie rule at the operate and connect evaluations; the compliant charger's
grid-locked evaluation cycle, which repeats its trip times in every run whatever the seed; and a free-running
cycle (a profile's choice) drawn from the seed, with trip times that hold up at every phase of it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from rig.sim.charger.ac_port import ALIGNED_CLOCK, ChargerClock, SimulatedCharger, unit_rate_error_ppm
from rig.sim.charger.dut_profile import DRAWN_RATE_ERROR_PPM, DutProfile, load_dut_profile
from rig.sim.model import LabModel
from rig.sim.predicates import TIME_TOLERANCE_S

ROOT = Path(__file__).resolve().parents[2]
DUTS = ROOT / "fixtures" / "duts"
PROTECTION_PLAN = ROOT / "test_plans" / "g99" / "protection.yaml"
NOMINAL = {"voltage": 230.0, "frequency": 50.0}
SEEDS = range(60)
"""At least 40 seeds: for a free-running cycle each draws the phase of every evaluation grid."""


@pytest.fixture(scope="module")
def compliant() -> DutProfile:
    return load_dut_profile(DUTS / "compliant.yaml")


def variant(profile: DutProfile, change) -> DutProfile:
    data = profile.model_dump()
    change(data)
    return DutProfile.model_validate(data)


@pytest.fixture(scope="module")
def free_running(compliant: DutProfile) -> DutProfile:
    """The compliant charger with an evaluation cycle that free-runs on its own clock (not locked to the grid): each
    seed puts it at another phase to the disturbances, so the solver is checked at every phase."""
    return variant(compliant, lambda d: d["clock"].update(cycle="free_running"))


def on_a_100_ms_grid(profile: DutProfile) -> DutProfile:
    def change(data):
        data["ac_port"]["measurement"]["voltage"]["evaluation_period_s"] = 0.1
        data["ac_port"]["measurement"]["frequency"]["evaluation_period_s"] = 0.1
    return variant(profile, change)


def connected(profile: DutProfile, *, seed: int = 1, clock: ChargerClock | None = None) -> LabModel:
    """230 V / 50 Hz at the terminals from t = 0; the charger has reconnected by 25 s."""
    m = LabModel(profile, seed=seed, clock=clock)
    m.grid.set_voltage(0.0, 230.0)
    m.grid.set_relay(0.0, True)
    m.grid.set_output(0.0, True)
    m.advance_to(25.0)
    assert m.charger.connected
    return m


def set_level(m: LabModel, quantity: str, t: float, value: float) -> None:
    (m.grid.set_voltage if quantity == "voltage" else m.grid.set_frequency)(t, value)


def pickup_of(charger: SimulatedCharger, stage: str) -> float | None:
    (state,) = [s for s in charger._stages if s.stage.name == stage]
    return state.pickup_s


def stage_of(profile: DutProfile, name: str):
    (stage,) = [s for s in profile.ac_port.protection if s.name == name]
    return stage


# -- the tie rule: the operate evaluation must still see the value beyond the threshold -----------------------

CLOCKS = [
    pytest.param(ALIGNED_CLOCK, id="aligned"),
    pytest.param(ChargerClock(rate_error_ppm=73.0, voltage_phase=0.37, frequency_phase=0.81,
                              reconnection_phase=0.55), id="free-running"),
]


@pytest.mark.parametrize("clock", CLOCKS)
@pytest.mark.parametrize(("back_after_s", "trips"), [
    (-1e-6, False),  # back inside one microsecond before the operate evaluation sees it
    (0.0, False),  # back inside exactly at the operate evaluation (after the latency): a tie, no trip
    (0.5e-9, False),  # within the 1 ns tolerance of the operate evaluation: the same instant
    (2e-9, True),  # beyond the tolerance: the operate evaluation still sees 280 V
    (1e-6, True),
])
def test_a_stage_operates_only_if_its_operate_evaluation_still_sees_the_value_beyond_the_threshold(
        compliant: DutProfile, clock: ChargerClock, back_after_s: float, trips: bool) -> None:
    profile = on_a_100_ms_grid(compliant)
    m = connected(profile, clock=clock)
    grid = m.charger.evaluation_grid("voltage")
    latency = profile.ac_port.measurement.voltage.latency_s
    n_pickup = grid.index_at_or_after(30.0)
    step_up = grid.instant(n_pickup) - latency  # seen at exactly that evaluation
    delay = clock.lab_seconds(0.5)  # O/V stage 2: 5 evaluations of 0.1 s on the charger's clock
    operate = grid.at_or_after(grid.instant(n_pickup) + delay)
    assert operate == grid.instant(n_pickup + 5)
    m.grid.set_voltage(step_up, 280.0)
    m.grid.set_voltage(operate - latency + back_after_s, 230.0)  # operate - latency + latency != operate in floats
    m.advance_to(step_up + 0.3)
    assert pickup_of(m.charger, "O/V stage 2") == grid.instant(n_pickup)
    m.advance_to(40.0)
    if trips:
        assert [(t.stage, t.operated_s) for t in m.charger.trips] == [("O/V stage 2", operate)]
    else:
        assert m.charger.trips == [] and m.charger.connected
        assert pickup_of(m.charger, "O/V stage 2") is None


def test_the_operate_evaluation_is_found_however_the_lab_steps_through_it(compliant: DutProfile) -> None:
    """A tie is decided the same way when the lab stops exactly at the operate evaluation."""
    profile = on_a_100_ms_grid(compliant)
    outcomes = []
    for stops in ([], [30.6], [30.6 - 1e-12, 30.6, 30.6 + 1e-12], list(np.arange(30.0, 31.0, 0.1))):
        m = connected(profile, clock=ALIGNED_CLOCK)
        m.grid.set_voltage(30.08, 280.0)  # seen at 30.1, operate evaluation 30.6
        m.grid.set_voltage(30.58, 230.0)  # seen back inside at 30.6: drop-out
        for t in stops:
            m.advance_to(float(t))
        m.advance_to(40.0)
        outcomes.append(list(m.charger.trips))
    assert outcomes == [[], [], [], []]


def test_after_a_drop_out_at_the_operate_evaluation_a_new_disturbance_picks_up_afresh(compliant: DutProfile) -> None:
    profile = on_a_100_ms_grid(compliant)
    m = connected(profile, clock=ALIGNED_CLOCK)
    m.grid.set_voltage(30.08, 280.0)
    m.grid.set_voltage(30.58, 230.0)  # dropped out at 30.6
    m.grid.set_voltage(30.68, 280.0)  # seen at 30.7: a fresh pickup, operate at 31.2
    m.advance_to(40.0)
    (trip,) = m.charger.trips
    assert trip.operated_s == pytest.approx(31.2, abs=1e-9)


def test_a_frequency_ramp_beyond_the_setting_for_exactly_the_delay_does_not_trip(
        compliant_without_rocof: DutProfile) -> None:
    m = connected(compliant_without_rocof, clock=ALIGNED_CLOCK)  # a 2 Hz/s ramp would rightly trip RoCoF first
    m.grid.frequency_slew_per_s = 2.0
    m.grid.set_frequency(29.0, 53.0)  # 52 Hz at 30.0 s: measured beyond from 30.04 (an evaluation)
    m.grid.frequency_slew_per_s = None
    m.grid.set_frequency(30.5, 50.0)  # ... until 30.54, the operate evaluation
    m.advance_to(40.0)
    assert m.charger.trips == []


def _plan_no_trip_points() -> list:
    plan = yaml.safe_load(PROTECTION_PLAN.read_text())
    return [pytest.param(c["quantity"], c["setting"]["stage"], c["params"]["level"], c["params"]["hold_s"], id=c["id"])
            for c in plan["cases"] if c["procedure"] == "no_trip" and "level" in c["params"]]


@pytest.mark.parametrize(("quantity", "stage", "level", "hold_s"), _plan_no_trip_points())
def test_the_plans_no_trip_points_do_not_trip_on_a_100_ms_grid_at_any_phase(
        compliant: DutProfile, quantity: str, stage: str, level: float, hold_s: float) -> None:
    """e.g. 277.7 V for 0.48 s against a 0.5 s stage: evaluations at 0.0 .. 0.4 s see it, the one at 0.5 s
    (the operate evaluation) does not, at every phase of the grid and either way of the clock's rate."""
    profile = on_a_100_ms_grid(compliant)
    for rate in (-100.0, 0.0, 100.0):
        for k in range(20):
            phase = k / 20 + 0.013
            clock = ChargerClock(rate, voltage_phase=phase, frequency_phase=phase, reconnection_phase=phase)
            m = connected(profile, clock=clock)
            set_level(m, quantity, 30.0, level)
            set_level(m, quantity, 30.0 + hold_s, NOMINAL[quantity])
            m.advance_to(30.0 + hold_s + 5.0)
            assert m.charger.trips == [], (stage, rate, phase)


# -- the reconnection timer follows the same rule -------------------------------------------------------------


@pytest.mark.parametrize("clock", CLOCKS)
@pytest.mark.parametrize(("lost_after_s", "connects_at_first_chance"),
                         [(-1e-6, False), (0.0, False), (0.5e-9, False), (2e-9, True)])
def test_health_lost_at_the_connect_evaluation_means_no_connection(
        compliant: DutProfile, clock: ChargerClock, lost_after_s: float, connects_at_first_chance: bool) -> None:
    m = LabModel(compliant, seed=1, clock=clock)
    m.grid.set_voltage(0.0, 230.0)
    m.grid.set_relay(0.0, True)
    m.grid.set_output(0.0, True)
    grid = m.charger._reconnection_grid
    latency = compliant.ac_port.measurement.voltage.latency_s
    healthy = grid.at_or_after(latency)  # the first evaluation that sees 230 V
    connect = grid.at_or_after(healthy + clock.lab_seconds(compliant.ac_port.reconnection.delay_s))
    m.grid.set_voltage(connect - latency + lost_after_s, 255.0)  # above the 253 V window
    m.grid.set_voltage(connect + 1.0, 230.0)
    m.advance_to(connect + 30.0)
    (t_on, _), *_ = m.charger.conduction.intervals
    if connects_at_first_chance:
        assert t_on == connect
    else:
        again = grid.at_or_after(connect + 1.0 + latency)
        assert t_on == grid.at_or_after(again + clock.lab_seconds(compliant.ac_port.reconnection.delay_s))


# -- the clock: the unit's rate, a grid-locked cycle (or a free-running one drawn from the seed) ---------------


def test_the_compliant_chargers_clock_is_the_same_in_every_run(compliant: DutProfile) -> None:
    """Its cycle is locked to the grid (0.5 ms after the lab's nominal cycle's zero crossings) and its rate error is
    its crystal's: no seed moves either, so two runs of it meet the same disturbance at the same point of its cycle."""
    assert compliant.clock.cycle == "grid_locked" and compliant.clock.rate_error_ppm is None
    assert compliant.clock.after_zero_crossing_s == 0.0005
    clocks = {ChargerClock.drawn(compliant, seed) for seed in SEEDS}
    assert clocks == {ChargerClock(unit_rate_error_ppm(compliant), grid_locked=True, after_zero_crossing_s=0.0005)}
    grid = LabModel(compliant, seed=1).charger.evaluation_grid("voltage")
    assert (grid.period_s, grid.offset_s) == (0.01, 0.0005)
    assert LabModel(compliant, seed=7).charger.clock == ChargerClock.drawn(compliant, 8)


def test_the_rate_error_is_the_units_drawn_from_its_identity(compliant: DutProfile) -> None:
    """Not from the seed: the same manufacturer, model and serial run at the same rate whatever the firmware; other
    serials at others, spread over +-100 ppm."""
    def unit(serial: str, firmware: str = "1.0.0") -> DutProfile:
        return variant(compliant, lambda d: d["identity"].update(serial=serial, firmware=firmware))

    rate = unit_rate_error_ppm(compliant)
    assert -DRAWN_RATE_ERROR_PPM <= rate <= DRAWN_RATE_ERROR_PPM
    assert unit_rate_error_ppm(unit(compliant.identity.serial, firmware="9.9.9")) == rate
    rates = [unit_rate_error_ppm(unit(f"SIM-{k:04d}")) for k in range(60)]
    assert len(set(rates)) == len(rates) and all(-100.0 <= r <= 100.0 for r in rates)
    assert min(rates) < -80.0 and max(rates) > 80.0


def test_a_free_running_cycle_draws_its_phases_from_the_seed(free_running: DutProfile) -> None:
    clocks = [ChargerClock.drawn(free_running, seed) for seed in SEEDS]
    assert clocks == [ChargerClock.drawn(free_running, seed) for seed in SEEDS]
    assert len({c.voltage_phase for c in clocks}) == len(clocks)
    assert not any(c.grid_locked for c in clocks)
    assert {c.rate_error_ppm for c in clocks} == {unit_rate_error_ppm(free_running)}  # the unit's, every run
    assert LabModel(free_running, seed=7).charger.clock == ChargerClock.drawn(free_running, 7)


def test_a_profile_can_set_the_rate_error_and_the_seed_still_draws_the_phases(free_running: DutProfile) -> None:
    exact = variant(free_running, lambda d: d["clock"].update(rate_error_ppm=0.0))
    for seed in (1, 2, 3):
        drawn, pinned = ChargerClock.drawn(free_running, seed), ChargerClock.drawn(exact, seed)
        assert pinned.rate_error_ppm == 0.0
        assert (pinned.voltage_phase, pinned.frequency_phase, pinned.reconnection_phase) == \
            (drawn.voltage_phase, drawn.frequency_phase, drawn.reconnection_phase)


def test_a_seed_draws_the_free_running_phases_it_always_drew(free_running: DutProfile) -> None:
    """The rate error is no longer the seed's, but its draw is still made: a seed's phases are as before."""
    rng = np.random.default_rng([5, 2])
    rng.uniform(-100.0, 100.0)
    clock = ChargerClock.drawn(free_running, 5)
    assert [clock.voltage_phase, clock.frequency_phase, clock.reconnection_phase] == list(rng.uniform(0.0, 1.0, 3))


def test_a_clock_phase_is_a_fraction_of_a_period() -> None:
    with pytest.raises(ValueError, match="voltage_phase"):
        ChargerClock(voltage_phase=1.0)


def test_the_charger_clock_scales_periods_and_delays() -> None:
    fast = ChargerClock(rate_error_ppm=100.0, voltage_phase=0.25)
    grid = fast.grid(0.01, fast.voltage_phase)
    assert grid.period_s == pytest.approx(0.01 / 1.0001, rel=1e-15)
    assert grid.offset_s == pytest.approx(0.25 * 0.01 / 1.0001, rel=1e-15)
    assert fast.lab_seconds(20.0) == pytest.approx(20.0 - 0.0019998, abs=1e-9)


def test_a_grid_locked_cycle_keeps_the_grids_period_and_counts_delays_on_the_chargers_clock() -> None:
    locked = ChargerClock(rate_error_ppm=100.0, grid_locked=True, after_zero_crossing_s=0.0005)
    grid = locked.grid(0.01, 0.0)
    assert (grid.period_s, grid.offset_s) == (0.01, 0.0005)
    assert locked.grid(0.1, 0.0).offset_s == 0.0005
    assert locked.lab_seconds(20.0) == pytest.approx(20.0 - 0.0019998, abs=1e-9)
    with pytest.raises(ValueError, match="after_zero_crossing_s"):
        ChargerClock(grid_locked=True, after_zero_crossing_s=-0.001)


def test_one_seed_gives_identical_events_every_time(compliant: DutProfile, free_running: DutProfile) -> None:
    """Free-running, another seed gives other events; the compliant charger's are the same for every seed."""
    def history(profile: DutProfile, seed: int):
        m = connected(profile, seed=seed)
        m.grid.set_voltage(30.0, 280.0)
        m.grid.set_voltage(31.0, 230.0)
        m.grid.set_frequency(60.0, 52.5)
        m.advance_to(80.0)
        return m.charger.trips, m.charger.conduction.intervals

    assert history(free_running, 11) == history(free_running, 11)
    assert history(free_running, 11) != history(free_running, 12)
    assert history(compliant, 11) == history(compliant, 12) == history(compliant, 20261124)


# -- trip times at every phase ---------------------------------------------------------------------------------

TRIP_STEPS = [  # a level beyond one stage's setting, at which that stage is the first to operate
    pytest.param("U/V", "voltage", 180.0, id="uv"),
    pytest.param("O/V stage 1", "voltage", 266.2, id="ov1"),
    pytest.param("O/V stage 2", "voltage", 280.0, id="ov2"),
    pytest.param("U/F stage 1", "frequency", 47.3, id="uf1"),
    pytest.param("U/F stage 2", "frequency", 46.8, id="uf2"),
    pytest.param("O/F", "frequency", 52.5, id="of"),
]
STEP_AT = 30.0  # a round lab instant: with a clock aligned to the lab, always on the grid


def _circular_largest_gap(fractions: list[float]) -> float:
    ordered = sorted(fractions)
    gaps = [b - a for a, b in zip(ordered, ordered[1:])] + [ordered[0] + 1.0 - ordered[-1]]
    return max(gaps)


@pytest.mark.parametrize(("name", "quantity", "level"), TRIP_STEPS)
def test_the_compliant_charger_repeats_its_trip_time_in_every_run(
        compliant: DutProfile, name: str, quantity: str, level: float) -> None:
    """The same disturbance at the same point of the grid's cycle trips it at the same instant whatever the seed:
    latency, the wait to the next evaluation of its grid-locked cycle (0.5 ms after the zero crossing the step is
    made at), the delay on its clock (+7 ppm, a hair short of the delay) up to the next evaluation, then the relay.
    Every seed, to the nanosecond."""
    stage = stage_of(compliant, name)
    method = getattr(compliant.ac_port.measurement, quantity)
    times = set()
    for seed in (1, 2, 3, 51, 20261124):
        m = connected(compliant, seed=seed)
        set_level(m, quantity, STEP_AT, level)
        m.advance_to(STEP_AT + stage.delay_s + 2.0)
        (trip,) = m.charger.trips
        assert trip.stage == name
        times.add(trip.opened_s - STEP_AT)
    (trip_time,) = times
    grid = m.charger.evaluation_grid(quantity)
    pickup = grid.at_or_after(STEP_AT + method.latency_s)
    expected = grid.at_or_after(pickup + m.charger.clock.lab_seconds(stage.delay_s)) + \
        compliant.ac_port.disconnection_time_s - STEP_AT
    assert trip_time == pytest.approx(expected, abs=TIME_TOLERANCE_S)
    step_at_a_zero_crossing = method.latency_s + 0.0005 + stage.delay_s + compliant.ac_port.disconnection_time_s
    assert trip_time == pytest.approx(step_at_a_zero_crossing, abs=TIME_TOLERANCE_S)  # on a fast clock


@pytest.mark.parametrize(("name", "quantity", "level"), TRIP_STEPS)
def test_trip_time_is_latency_delay_and_disconnection_plus_up_to_one_period_at_every_phase(
        free_running: DutProfile, name: str, quantity: str, level: float) -> None:
    """A free-running cycle: each seed meets the step at another phase; every one trips within one period."""
    compliant = free_running
    stage = stage_of(compliant, name)
    method = getattr(compliant.ac_port.measurement, quantity)
    latency, period, delay = method.latency_s, method.evaluation_period_s, stage.delay_s
    disconnection = compliant.ac_port.disconnection_time_s
    phases = []
    for seed in SEEDS:
        m = connected(compliant, seed=seed)
        clock = m.charger.clock
        set_level(m, quantity, STEP_AT, level)
        m.advance_to(STEP_AT + delay + 2.0)
        (trip,) = m.charger.trips
        assert trip.stage == name
        trip_time = trip.opened_s - STEP_AT
        # on the charger's clock: delay and period; on the lab's: latency and the relay's opening
        lo = latency + clock.lab_seconds(delay) + disconnection
        assert lo - TIME_TOLERANCE_S <= trip_time < lo + clock.lab_seconds(period), seed
        # what fixtures/duts/README.md promises whatever the clock: within +-100 ppm of delay and period
        drift = 100e-6 * (delay + period)
        assert latency + delay + disconnection - drift <= trip_time <= latency + delay + period + disconnection + drift
        phases.append((trip_time - lo) / clock.lab_seconds(period))
    assert all(-1e-6 <= p < 1.0 for p in phases)
    assert _circular_largest_gap(phases) < 0.2  # the disturbance met the grid all round its period


@pytest.mark.parametrize(("name", "quantity", "level"), TRIP_STEPS)
def test_a_disturbance_just_shorter_than_the_delay_never_trips_and_one_period_longer_always_does(
        free_running: DutProfile, name: str, quantity: str, level: float) -> None:
    """At every phase of a free-running cycle (so at the grid-locked one's too)."""
    compliant = free_running
    stage = stage_of(compliant, name)
    period = getattr(compliant.ac_port.measurement, quantity).evaluation_period_s
    for seed in SEEDS:
        for longer in (False, True):
            m = connected(compliant, seed=seed)
            clock = m.charger.clock
            hold = clock.lab_seconds(stage.delay_s) + (clock.lab_seconds(period) + 1e-6 if longer else -1e-6)
            set_level(m, quantity, STEP_AT, level)
            set_level(m, quantity, STEP_AT + hold, NOMINAL[quantity])
            m.advance_to(STEP_AT + stage.delay_s + 2.0)
            assert [t.stage for t in m.charger.trips] == ([name] if longer else []), (seed, longer)


def test_a_free_running_phase_drifts_during_a_run_with_the_clocks_rate_error(free_running: DutProfile) -> None:
    """The same disturbance every 25 s meets a free-running grid a quarter period later each time at +100 ppm
    (25 s x 100 ppm = 2.5 ms on a 10 ms grid), and at the same phase with an exact clock."""
    waits = {}
    for rate in (0.0, 100.0):
        profile = variant(free_running, lambda d: d["clock"].update(rate_error_ppm=rate))
        m = connected(profile, seed=3)
        clock = m.charger.clock
        starts = [30.0 + 25.0 * k for k in range(6)]
        for s in starts:  # 280 V for 1 s: O/V stage 2 trips, and the charger reconnects within 25 s
            m.grid.set_voltage(s, 280.0)
            m.grid.set_voltage(s + 1.0, 230.0)
        m.advance_to(starts[-1] + 25.0)
        assert [t.stage for t in m.charger.trips] == ["O/V stage 2"] * len(starts)
        lab_period = clock.lab_seconds(0.01)
        waits[rate] = [(t.operated_s - s - 0.02 - clock.lab_seconds(0.5)) / lab_period
                       for t, s in zip(m.charger.trips, starts)]
    assert max(waits[0.0]) - min(waits[0.0]) < 1e-6
    shifts = [(b - a) % 1.0 for a, b in zip(waits[100.0], waits[100.0][1:])]
    expected = (-(25.0 * 100e-6 / (1.0 + 100e-6)) / (0.01 / (1.0 + 100e-6))) % 1.0  # -0.25 of a period
    assert shifts == pytest.approx([expected] * len(shifts), abs=1e-6)
    assert math.isclose(expected, 0.75, abs_tol=1e-9)


def test_a_grid_locked_cycle_does_not_drift_whatever_the_clocks_rate(compliant: DutProfile) -> None:
    """Locked to the grid, the same disturbance every 25 s meets the cycle at the same point at +-100 ppm: the
    rate error only lengthens or shortens the delay it counts (a slow clock: one evaluation later, every time)."""
    for rate, late in ((100.0, 0.0), (-100.0, 0.01)):
        profile = variant(compliant, lambda d: d["clock"].update(rate_error_ppm=rate))
        m = connected(profile, seed=3)
        starts = [30.0 + 25.0 * k for k in range(6)]
        for s in starts:
            m.grid.set_voltage(s, 280.0)
            m.grid.set_voltage(s + 1.0, 230.0)
        m.advance_to(starts[-1] + 25.0)
        assert [t.stage for t in m.charger.trips] == ["O/V stage 2"] * len(starts)
        trip_times = [t.opened_s - s for t, s in zip(m.charger.trips, starts)]
        assert trip_times == pytest.approx([0.02 + 0.0005 + 0.5 + late + 0.02] * len(starts), abs=1e-9), rate
