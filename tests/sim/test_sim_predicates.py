"""Closed-form 'first evaluation instant' search, checked by hand and against brute-force polling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rig.sim.predicates import TIME_TOLERANCE_S, Bound, EvaluationGrid, first_instant_all, first_instant_any_fails
from rig.sim.signal import PiecewiseLinear


def stepped(t: float, before: float, after: float) -> PiecewiseLinear:
    s = PiecewiseLinear(0.0, before)
    s.step(t, after)
    return s


def polled(bounds: list[Bound], t_start: float, t_end: float, grid: EvaluationGrid | float) -> float | None:
    """The reference semantics: evaluate every grid instant offset + n * period in [t_start, t_end] in turn
    (an instant within 1 ns outside the window counts as inside it)."""
    if not isinstance(grid, EvaluationGrid):
        grid = EvaluationGrid(grid)
    n = math.ceil((t_start - grid.offset_s) / grid.period_s) - 2
    while grid.instant(n) <= t_end + TIME_TOLERANCE_S:
        t_n = grid.instant(n)
        if t_n >= t_start - TIME_TOLERANCE_S and all(b.holds_at(t_n) for b in bounds):
            return t_n
        n += 1
    return None


# -- single bounds ---------------------------------------------------------------------------------


def test_voltage_step_is_seen_after_the_latency_on_the_evaluation_grid() -> None:
    over = Bound(stepped(1.0, 230.0, 280.0), ">=", 273.7, latency_s=0.02)
    assert first_instant_all([over], 0.0, 5.0, 0.01) == pytest.approx(1.02, abs=1e-12)


def test_an_off_grid_step_is_seen_at_the_next_grid_instant() -> None:
    over = Bound(stepped(1.003, 230.0, 280.0), ">=", 273.7, latency_s=0.02)
    assert first_instant_all([over], 0.0, 5.0, 0.01) == pytest.approx(1.03, abs=1e-12)


def test_a_frequency_ramp_is_seen_at_the_first_grid_instant_past_the_crossing() -> None:
    f = PiecewiseLinear(0.0, 50.0)
    f.ramp(1.0, 2.0, 50.0, 53.0)  # 3 Hz/s: 52 Hz at 1.6667 s, measured 0.06 s later
    over = Bound(f, ">=", 52.0, latency_s=0.06)
    assert first_instant_all([over], 0.0, 5.0, 0.02) == pytest.approx(1.74, abs=1e-12)
    under = Bound(f, "<=", 52.0, latency_s=0.06)
    assert first_instant_any_fails([under], 0.0, 5.0, 0.02) == pytest.approx(1.74, abs=1e-12)


def test_a_falling_ramp_crosses_an_under_bound() -> None:
    f = PiecewiseLinear(0.0, 50.0)
    f.ramp(10.0, 12.0, 50.0, 46.0)  # 47.0 Hz at 11.5 s
    under = Bound(f, "<=", 47.0, latency_s=0.06)
    assert first_instant_all([under], 0.0, 20.0, 0.02) == pytest.approx(11.56, abs=1e-12)


def test_a_condition_already_true_is_found_at_the_first_grid_instant_of_the_window() -> None:
    over = Bound(PiecewiseLinear(0.0, 280.0), ">=", 273.7)
    assert first_instant_all([over], 0.537, 5.0, 0.01) == pytest.approx(0.54, abs=1e-12)
    assert first_instant_all([over], 0.54, 5.0, 0.01) == pytest.approx(0.54, abs=1e-12)


def test_a_condition_never_true_in_the_window_gives_none() -> None:
    over = Bound(stepped(3.0, 230.0, 280.0), ">=", 273.7, latency_s=0.02)
    assert first_instant_all([over], 0.0, 3.0, 0.01) is None
    assert first_instant_all([over], 0.0, 3.019, 0.01) is None
    assert first_instant_all([over], 0.0, 3.03, 0.01) == pytest.approx(3.02, abs=1e-12)


def test_the_end_of_the_window_is_included_when_a_step_becomes_visible_there() -> None:
    over = Bound(stepped(3.0, 230.0, 280.0), ">=", 273.7, latency_s=0.02)
    assert polled([over], 0.0, 3.02, 0.01) == pytest.approx(3.02, abs=1e-12)
    assert first_instant_all([over], 0.0, 3.02, 0.01) == pytest.approx(3.02, abs=1e-12)


def test_an_empty_window_gives_none() -> None:
    over = Bound(PiecewiseLinear(0.0, 280.0), ">=", 273.7)
    assert first_instant_all([over], 2.0, 1.0, 0.01) is None


def test_a_bound_true_for_less_than_a_period_between_grid_instants_is_never_seen() -> None:
    s = PiecewiseLinear(0.0, 230.0)
    s.step(1.002, 280.0)
    s.step(1.008, 230.0)  # 6 ms at 280 V, strictly between the 10 ms grid instants 1.00 and 1.01
    over = Bound(s, ">=", 273.7)
    assert first_instant_all([over], 0.0, 5.0, 0.01) is None
    # the same pulse is seen by a relay that evaluates every millisecond
    assert first_instant_all([over], 0.0, 5.0, 0.001) == pytest.approx(1.002, abs=1e-12)


def test_a_short_pulse_straddling_a_grid_instant_is_seen() -> None:
    s = PiecewiseLinear(0.0, 230.0)
    s.step(1.007, 280.0)
    s.step(1.013, 230.0)
    over = Bound(s, ">=", 273.7)
    assert first_instant_all([over], 0.0, 5.0, 0.01) == pytest.approx(1.01, abs=1e-12)


def test_strict_and_non_strict_differ_exactly_at_the_threshold() -> None:
    level = PiecewiseLinear(0.0, 273.7)
    assert first_instant_all([Bound(level, ">=", 273.7)], 0.0, 1.0, 0.01) == 0.0
    assert first_instant_all([Bound(level, ">", 273.7)], 0.0, 1.0, 0.01) is None
    assert first_instant_all([Bound(level, "<=", 273.7)], 0.0, 1.0, 0.01) == 0.0
    assert first_instant_all([Bound(level, "<", 273.7)], 0.0, 1.0, 0.01) is None


def test_gain_and_offset_shape_the_measured_value() -> None:
    b = Bound(stepped(1.0, 230.0, 260.0), ">=", 273.7, latency_s=0.02, gain=1.05, offset=1.0)
    assert b.measured(1.02) == pytest.approx(1.05 * 260.0 + 1.0)
    assert b.measured(1.0199) == pytest.approx(1.05 * 230.0 + 1.0)
    assert first_instant_all([b], 0.0, 5.0, 0.01) == pytest.approx(1.02, abs=1e-12)  # 274 V measured
    assert first_instant_all([Bound(b.signal, ">=", 273.7, latency_s=0.02)], 0.0, 5.0, 0.01) is None


def test_negated_bound_is_the_complement() -> None:
    b = Bound(stepped(1.0, 230.0, 280.0), ">=", 273.7)
    for t in (0.5, 1.0, 2.0):
        assert b.negated().holds_at(t) is not b.holds_at(t)
    assert b.negated().negated() == b


# -- conjunctions ----------------------------------------------------------------------------------


def test_conjunction_of_bounds_on_two_signals_waits_for_the_later_one() -> None:
    voltage = stepped(1.0, 0.0, 230.0)
    frequency = stepped(2.0, 51.0, 50.0)
    healthy = [
        Bound(voltage, ">=", 207.0, latency_s=0.02),
        Bound(voltage, "<=", 253.0, latency_s=0.02),
        Bound(frequency, ">=", 47.5, latency_s=0.06),
        Bound(frequency, "<=", 50.5, latency_s=0.06),
    ]
    assert first_instant_all(healthy, 0.0, 10.0, 0.1) == pytest.approx(2.1, abs=1e-12)  # 2.06 -> grid
    assert first_instant_all(healthy, 0.0, 10.0, 0.02) == pytest.approx(2.06, abs=1e-12)


def test_conjunction_of_bounds_that_are_each_true_but_never_together_is_none() -> None:
    a = PiecewiseLinear(0.0, 0.0)
    a.step(1.0, 1.0)
    a.step(2.0, 0.0)
    b = PiecewiseLinear(0.0, 0.0)
    b.step(3.0, 1.0)
    bounds = [Bound(a, ">=", 0.5), Bound(b, ">=", 0.5)]
    assert first_instant_all(bounds[:1], 0.0, 10.0, 0.1) == pytest.approx(1.0)
    assert first_instant_all(bounds[1:], 0.0, 10.0, 0.1) == pytest.approx(3.0)
    assert first_instant_all(bounds, 0.0, 10.0, 0.1) is None


def test_any_fails_is_the_earliest_failure_of_any_bound() -> None:
    voltage = stepped(5.0, 230.0, 260.0)  # out of the window at 5.02 s (latency 0.02)
    frequency = stepped(4.2, 50.0, 50.7)  # out of the window at 4.26 s (latency 0.06)
    window = [
        Bound(voltage, ">=", 207.0, latency_s=0.02),
        Bound(voltage, "<=", 253.0, latency_s=0.02),
        Bound(frequency, ">=", 47.5, latency_s=0.06),
        Bound(frequency, "<=", 50.5, latency_s=0.06),
    ]
    assert first_instant_any_fails(window, 0.0, 10.0, 0.1) == pytest.approx(4.3, abs=1e-12)
    assert first_instant_any_fails(window[:2], 0.0, 10.0, 0.1) == pytest.approx(5.1, abs=1e-12)
    assert first_instant_any_fails(window[:2], 0.0, 5.0, 0.1) is None


# -- against polling --------------------------------------------------------------------------------


def random_signal(rng: np.random.Generator, latencies: list[float]) -> PiecewiseLinear:
    """Steps and ramps at centisecond instants, including those where (t + latency) - latency != t."""
    s = PiecewiseLinear(0.0, 230.0)
    t = 0.0
    for _ in range(int(rng.integers(1, 6))):
        t = round(t + float(rng.choice([0.01, 0.02, 0.05, 0.1, 0.13, 0.3])) * int(rng.integers(1, 5)), 2)
        if rng.random() < 0.5:
            s.step(t, float(rng.choice([200.0, 230.0, 262.2, 273.7, 280.0, 300.0])))
        else:
            t_end = round(t + float(rng.choice([0.01, 0.1, 0.5])), 2)
            s.ramp(t, t_end, s.at(t), float(rng.uniform(200.0, 300.0)))
            t = t_end
    return s


def test_closed_form_search_agrees_with_polling_every_grid_instant() -> None:
    rng = np.random.default_rng(20261124)
    latencies = [0.0, 0.02, 0.06]
    for _ in range(3000):
        bounds = [
            Bound(random_signal(rng, latencies), str(rng.choice([">=", "<=", ">", "<"])),
                  float(rng.choice([273.7, 262.2, 250.0, 230.0])), float(rng.choice(latencies)))
            for _ in range(int(rng.integers(1, 3)))
        ]
        period = float(rng.choice([0.01, 0.02, 0.1]))
        t_start = float(rng.choice([0.0, 0.005, 0.5, 1.234]))
        t_end = t_start + 3.0
        assert first_instant_all(bounds, t_start, t_end, period) == polled(bounds, t_start, t_end, period)
        expected_failure = [polled([b.negated()], t_start, t_end, period) for b in bounds]
        expected = min((t for t in expected_failure if t is not None), default=None)
        assert first_instant_any_fails(bounds, t_start, t_end, period) == expected


def test_a_step_whose_latency_shift_does_not_round_trip_is_still_seen() -> None:
    over = Bound(stepped(0.6, 230.0, 280.0), ">=", 273.7, latency_s=0.06)
    assert polled([over], 0.0, 3.0, 0.01) == pytest.approx(0.66, abs=1e-12)
    assert first_instant_all([over], 0.0, 3.0, 0.01) == pytest.approx(0.66, abs=1e-12)


def test_edges_of_two_bounds_one_ulp_apart_do_not_crash_the_search() -> None:
    voltage = stepped(0.57, 230.0, 240.0)
    frequency = stepped(0.53, 50.0, 50.2)
    bounds = [Bound(frequency, ">=", 50.1, latency_s=0.06), Bound(voltage, ">=", 235.0, latency_s=0.02)]
    assert first_instant_all(bounds, 0.0, 3.0, 0.01) == polled(bounds, 0.0, 3.0, 0.01)


def test_a_step_is_seen_exactly_one_latency_later() -> None:
    over = Bound(stepped(35.27, 230.0, 280.0), ">=", 273.7, latency_s=0.02)
    assert over.holds_at(3529 * 0.01)
    assert first_instant_all([over], 30.0, 40.0, 0.01) == pytest.approx(35.29, abs=1e-12)  # 35.30


# -- the evaluation grid ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "period", "offset", "expected"),
    [(1.02, 0.01, 0.0, 1.02), (1.021, 0.01, 0.0, 1.03), (0.0, 0.1, 0.0, 0.0), (20.1, 0.1, 0.0, 20.1),
     (20.10001, 0.1, 0.0, 20.2), (0.5 + 1.02, 0.01, 0.0, 1.52), (-0.015, 0.01, 0.0, -0.01),
     (1.0, 0.1, 0.037, 1.037), (1.037, 0.1, 0.037, 1.037), (0.5 + 1.037, 0.1, 0.037, 1.537),
     (1.0371, 0.1, 0.037, 1.137), (0.02, 0.1, 0.037, 0.037), (-0.07, 0.1, 0.037, -0.063)],
)
def test_the_next_evaluation_tolerates_rounding_of_an_instant_already_on_the_grid(t: float, period: float,
                                                                                   offset: float,
                                                                                   expected: float) -> None:
    assert EvaluationGrid(period, offset).at_or_after(t) == pytest.approx(expected, abs=1e-12)


def test_an_instant_within_1_ns_of_an_evaluation_is_that_evaluation() -> None:
    grid = EvaluationGrid(0.1, 0.037)
    assert grid.index_at_or_after(1.037 + 0.9e-9) == 10
    assert grid.index_at_or_after(1.037 + 1.1e-9) == 11
    assert grid.index_at_or_before(1.037 - 0.9e-9) == 10
    assert grid.index_at_or_before(1.037 - 1.1e-9) == 9


def test_an_evaluation_is_the_same_float_however_it_is_reached() -> None:
    grid = EvaluationGrid(0.02 / (1.0 + 87e-6), 0.0137)
    n = grid.index_at_or_after(600.0)
    assert grid.at_or_after(grid.instant(n)) == grid.instant(n)
    assert grid.at_or_after(grid.instant(n - 25) + 25 * grid.period_s) == grid.instant(n)


def test_a_grid_needs_a_positive_period() -> None:
    with pytest.raises(ValueError, match="positive"):
        EvaluationGrid(0.0)


# -- a free-running grid (offset, period) -------------------------------------------------------------


def test_a_step_is_seen_at_the_first_evaluation_of_an_offset_grid() -> None:
    over = Bound(stepped(1.0, 230.0, 280.0), ">=", 273.7, latency_s=0.02)
    assert first_instant_all([over], 0.0, 5.0, EvaluationGrid(0.01, 0.0037)) == pytest.approx(1.0237, abs=1e-12)
    assert first_instant_all([over], 0.0, 5.0, EvaluationGrid(0.1, 0.02)) == pytest.approx(1.02, abs=1e-12)
    assert first_instant_all([over], 0.0, 5.0, EvaluationGrid(0.1, 0.0201)) == pytest.approx(1.0201, abs=1e-12)
    assert first_instant_all([over], 0.0, 5.0, EvaluationGrid(0.1, 0.0199)) == pytest.approx(1.1199, abs=1e-12)


def test_a_step_1_ns_after_an_offset_evaluation_counts_as_seen_there() -> None:
    grid = EvaluationGrid(0.1, 0.037)
    assert first_instant_all([Bound(stepped(1.017 + 0.5e-9, 230.0, 280.0), ">=", 273.7, latency_s=0.02)],
                             0.0, 5.0, grid) == pytest.approx(1.037, abs=1e-12)
    assert first_instant_all([Bound(stepped(1.017 + 2e-9, 230.0, 280.0), ">=", 273.7, latency_s=0.02)],
                             0.0, 5.0, grid) == pytest.approx(1.137, abs=1e-12)


def test_a_ramp_crossing_on_a_drifting_grid() -> None:
    f = PiecewiseLinear(0.0, 50.0)
    f.ramp(1.0, 2.0, 50.0, 53.0)  # 52 Hz at 1.6667 s, measured 1.7267 s
    grid = EvaluationGrid(0.02 * (1.0 - 100e-6), 0.0113)
    t = first_instant_all([Bound(f, ">=", 52.0, latency_s=0.06)], 0.0, 5.0, grid)
    assert t is not None and t == polled([Bound(f, ">=", 52.0, latency_s=0.06)], 0.0, 5.0, grid)
    assert 1.0 / 0.6 + 0.06 <= t < 1.0 / 0.6 + 0.06 + grid.period_s
    assert (t - grid.offset_s) / grid.period_s == pytest.approx(round((t - grid.offset_s) / grid.period_s), abs=1e-9)


def test_closed_form_search_agrees_with_polling_on_free_running_grids() -> None:
    rng = np.random.default_rng(20261125)
    latencies = [0.0, 0.02, 0.06]
    for _ in range(3000):
        bounds = [
            Bound(random_signal(rng, latencies), str(rng.choice([">=", "<=", ">", "<"])),
                  float(rng.choice([273.7, 262.2, 250.0, 230.0])), float(rng.choice(latencies)))
            for _ in range(int(rng.integers(1, 3)))
        ]
        period = float(rng.choice([0.01, 0.02, 0.1])) * (1.0 + float(rng.uniform(-1e-4, 1e-4)))
        # offsets that put evaluations on, beside and far from the centisecond edges of the signals
        offset = float(rng.choice([0.0, 0.005, float(rng.uniform(0.0, period)), period - 1e-12]))
        grid = EvaluationGrid(period, offset)
        t_start = float(rng.choice([0.0, 0.005, 0.5, 1.234, grid.instant(37)]))
        t_end = t_start + 3.0
        assert first_instant_all(bounds, t_start, t_end, grid) == polled(bounds, t_start, t_end, grid)
        expected_failure = [polled([b.negated()], t_start, t_end, grid) for b in bounds]
        expected = min((t for t in expected_failure if t is not None), default=None)
        assert first_instant_any_fails(bounds, t_start, t_end, grid) == expected


def test_a_grid_instant_is_found_when_the_window_is_a_single_instant() -> None:
    grid = EvaluationGrid(0.1, 0.037)
    over = Bound(PiecewiseLinear(0.0, 280.0), ">=", 273.7)
    assert first_instant_all([over], 1.037, 1.037, grid) == pytest.approx(1.037, abs=1e-12)
    assert first_instant_all([over], 1.04, 1.13, grid) is None
