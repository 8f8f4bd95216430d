"""PiecewiseLinear: steps, ramps and slews kept exact, read point-wise, sampled, integrated and cut into pieces."""

from __future__ import annotations

import numpy as np
import pytest

from rig.sim.signal import PiecewiseLinear, Segment


def voltage_history() -> PiecewiseLinear:
    """230 V, a step to 280 V at 1 s, a ramp 280 -> 200 V over [2, 4] s, then holding."""
    s = PiecewiseLinear(0.0, 230.0)
    s.step(1.0, 280.0)
    s.ramp(2.0, 4.0, 280.0, 200.0)
    return s


# -- step and right-continuity -------------------------------------------------------------------------


def test_a_step_takes_its_new_value_at_the_instant_itself() -> None:
    s = voltage_history()
    assert s.at(1.0) == 280.0
    assert s.at(np.nextafter(1.0, 0.0)) == 230.0
    assert s.at(0.999) == 230.0


def test_values_hold_before_the_first_and_after_the_last_breakpoint() -> None:
    s = voltage_history()
    assert s.at(-5.0) == 230.0
    assert s.at(4.0) == 200.0
    assert s.at(1e6) == 200.0
    assert s.last_time == 4.0


def test_a_step_replaces_the_programmed_future() -> None:
    s = voltage_history()
    s.step(3.0, 250.0)  # mid-ramp
    assert s.at(2.5) == pytest.approx(260.0)
    assert s.at(3.0) == 250.0
    assert s.at(10.0) == 250.0
    assert s.last_time == 3.0


def test_two_steps_at_the_same_instant_keep_the_last() -> None:
    s = PiecewiseLinear(0.0, 230.0)
    s.step(1.0, 280.0)
    s.step(1.0, 250.0)
    assert s.at(1.0) == 250.0
    assert s.at(0.5) == 230.0
    np.testing.assert_array_equal(s.sample(np.array([0.5, 1.0, 2.0])), [230.0, 250.0, 250.0])


# -- ramp, slew_to, truncate ---------------------------------------------------------------------------


def test_a_ramp_is_linear_between_its_ends() -> None:
    s = voltage_history()
    assert s.at(2.0) == 280.0
    assert s.at(3.0) == pytest.approx(240.0)
    assert s.at(3.5) == pytest.approx(220.0)
    assert s.at(4.0) == 200.0


def test_a_ramp_later_than_the_program_holds_the_last_value_up_to_it() -> None:
    s = PiecewiseLinear(0.0, 50.0)
    s.ramp(2.0, 3.0, 50.0, 52.0)
    assert s.at(1.0) == 50.0
    assert s.at(2.5) == pytest.approx(51.0)


def test_a_ramp_may_start_with_a_jump() -> None:
    s = PiecewiseLinear(0.0, 230.0)
    s.ramp(1.0, 2.0, 260.0, 270.0)  # list steps start where they say, not where the output was
    assert s.at(np.nextafter(1.0, 0.0)) == 230.0
    assert s.at(1.0) == 260.0
    assert s.at(1.5) == pytest.approx(265.0)


def test_ramp_refuses_going_backwards_in_time() -> None:
    s = voltage_history()
    with pytest.raises(ValueError, match="must not end before it starts"):
        s.ramp(5.0, 4.0, 1.0, 2.0)
    with pytest.raises(ValueError, match="before the end of the programmed signal"):
        s.ramp(3.0, 5.0, 1.0, 2.0)


def test_slew_to_ramps_at_the_rate_from_the_present_value() -> None:
    s = PiecewiseLinear(0.0, 50.0)
    s.slew_to(10.0, 52.0, 0.5)  # 2 Hz at 0.5 Hz/s: 4 s
    assert s.at(10.0) == 50.0
    assert s.at(12.0) == pytest.approx(51.0)
    assert s.at(14.0) == 52.0
    assert s.last_time == pytest.approx(14.0)


def test_slew_to_from_mid_ramp_starts_where_the_signal_is() -> None:
    s = PiecewiseLinear(0.0, 50.0)
    s.slew_to(0.0, 52.0, 1.0)
    s.slew_to(1.0, 50.0, 2.0)  # from 51 Hz down at 2 Hz/s: 0.5 s
    assert s.at(1.0) == pytest.approx(51.0)
    assert s.at(1.25) == pytest.approx(50.5)
    assert s.at(1.5) == pytest.approx(50.0)
    assert s.at(5.0) == 50.0


@pytest.mark.parametrize("rate", [None, 0.0])
def test_slew_to_without_a_rate_is_a_step(rate: float | None) -> None:
    s = PiecewiseLinear(0.0, 230.0)
    s.slew_to(1.0, 280.0, rate)
    assert s.at(np.nextafter(1.0, 0.0)) == 230.0
    assert s.at(1.0) == 280.0


def test_truncate_forgets_the_future_and_holds_the_present_value() -> None:
    s = voltage_history()
    s.truncate(3.0)
    assert s.at(3.0) == pytest.approx(240.0)
    assert s.at(100.0) == pytest.approx(240.0)
    assert s.at(2.5) == pytest.approx(260.0)
    assert s.last_time == 3.0


def test_truncate_twice_at_the_same_instant_changes_nothing() -> None:
    s = voltage_history()
    s.truncate(3.0)
    times = np.linspace(-1.0, 6.0, 71)
    before = s.sample(times)
    s.truncate(3.0)
    np.testing.assert_array_equal(s.sample(times), before)


# -- sample ---------------------------------------------------------------------------------------------


def test_sample_agrees_with_at_including_step_instants() -> None:
    s = voltage_history()
    s.step(5.0, 230.0)
    s.step(5.0, 240.0)
    times = np.concatenate((np.linspace(-1.0, 7.0, 801), [1.0, 2.0, 4.0, 5.0]))
    expected = np.array([s.at(float(t)) for t in times])
    np.testing.assert_allclose(s.sample(times), expected, rtol=0, atol=1e-9)


def test_sample_is_right_continuous_at_a_step() -> None:
    s = voltage_history()
    values = s.sample(np.array([np.nextafter(1.0, 0.0), 1.0, np.nextafter(1.0, 2.0)]))
    np.testing.assert_array_equal(values, [230.0, 280.0, 280.0])


def test_sample_with_integer_breakpoints_matches_at() -> None:
    s = PiecewiseLinear(0, 230)
    s.step(1, 280)
    times = np.array([0.5, 1.0, 1.5])
    np.testing.assert_array_equal(s.sample(times), [s.at(0.5), s.at(1.0), s.at(1.5)])  # [230, 280, 280]


# -- integral -------------------------------------------------------------------------------------------


def test_integral_is_exact_at_hand_computed_instants() -> None:
    s = voltage_history()
    times = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0])
    expected = [
        -230.0,  # before the start the value holds, integrated backwards
        0.0,
        115.0,
        230.0,
        230.0 + 280.0,
        510.0 + (280.0 + 240.0) / 2.0,
        510.0 + (280.0 + 200.0) / 2.0 * 2.0,
        990.0 + 200.0,
    ]
    np.testing.assert_allclose(s.integral(times), expected, rtol=0, atol=1e-9)


def test_integral_agrees_with_numeric_integration_of_the_samples() -> None:
    s = PiecewiseLinear(0.0, 50.0)
    s.ramp(0.3, 0.8, 50.0, 51.7)
    s.step(1.1, 49.2)
    s.ramp(1.4, 1.9, 47.0, 52.5)
    s.slew_to(2.2, 50.0, 4.0)
    t = np.linspace(0.0, 3.0, 300_001)
    numeric = np.concatenate(([0.0], np.cumsum(np.diff(t) * (s.sample(t)[:-1] + s.sample(t)[1:]) / 2.0)))
    # a trapezoid across a step errs by at most |jump| * h / 2; there are two jumps of under 3
    np.testing.assert_allclose(s.integral(t), numeric, rtol=0, atol=3.0 * (t[1] - t[0]))


def test_the_derivative_of_the_integral_is_the_signal() -> None:
    s = voltage_history()
    t = np.array([0.5, 1.5, 2.5, 3.25, 3.9, 6.0])
    h = 1e-4
    derivative = (s.integral(t + h) - s.integral(t - h)) / (2 * h)
    np.testing.assert_allclose(derivative, s.sample(t), rtol=0, atol=1e-6)


# -- segments -------------------------------------------------------------------------------------------


def test_segments_cover_the_interval_clipped_with_left_limits_at_steps() -> None:
    s = voltage_history()
    assert s.segments(0.5, 5.0) == [
        Segment(0.5, 1.0, 230.0, 230.0),  # ends with the value just before the step
        Segment(1.0, 2.0, 280.0, 280.0),
        Segment(2.0, 4.0, 280.0, 200.0),
        Segment(4.0, 5.0, 200.0, 200.0),
    ]


def test_segments_inside_a_ramp_are_clipped_to_it() -> None:
    s = voltage_history()
    (piece,) = s.segments(2.5, 3.5)
    assert (piece.t0, piece.t1) == (2.5, 3.5)
    assert piece.v0 == pytest.approx(260.0)
    assert piece.v1 == pytest.approx(220.0)
    assert piece.slope == pytest.approx(-40.0)
    assert piece.at(3.0) == pytest.approx(240.0)


def test_segments_are_contiguous_and_reproduce_the_signal() -> None:
    s = voltage_history()
    s.step(4.5, 210.0)
    s.ramp(6.0, 6.5, 200.0, 260.0)
    pieces = s.segments(0.0, 8.0)
    assert pieces[0].t0 == 0.0 and pieces[-1].t1 == 8.0
    assert all(a.t1 == b.t0 for a, b in zip(pieces, pieces[1:]))
    for piece in pieces:
        for t in np.linspace(piece.t0, piece.t1, 7)[:-1]:
            assert piece.at(float(t)) == pytest.approx(s.at(float(t)))


def test_a_segment_of_zero_length_has_zero_slope() -> None:
    assert Segment(1.0, 1.0, 5.0, 9.0).slope == 0.0


def test_a_step_before_the_first_breakpoint() -> None:
    s = PiecewiseLinear(1.0, 230.0)
    s.step(0.5, 250.0)
    assert s.at(0.75) == 250.0


def test_windowed_slope_of_a_ramp_and_a_step() -> None:
    """(x(t) - x(t - w)) / w: a ramp's slope once the window is inside it, linear while it fills; a step reads as
    step / w for one window. Its pieces break at the signal's breakpoints and at those a window later."""
    from rig.sim.signal import WindowedSlope

    f = PiecewiseLinear(0.0, 50.0)
    f.ramp(10.0, 12.0, 50.0, 52.0)  # 1 Hz/s for 2 s
    f.step(20.0, 51.0)
    slope = WindowedSlope(f, 0.5)
    assert slope.at(9.9) == 0.0
    assert slope.at(10.25) == pytest.approx(0.5)  # half the window on the ramp
    assert slope.at(11.0) == pytest.approx(1.0)
    assert slope.at(12.25) == pytest.approx(0.5)
    assert slope.at(20.0) == pytest.approx(-2.0) and slope.at(20.49) == pytest.approx(-2.0)
    assert slope.at(20.5) == 0.0
    assert [s.t0 for s in slope.segments(9.0, 21.0)] == [9.0, 10.0, 10.5, 12.0, 12.5, 20.0, 20.5]
    assert np.allclose(slope.sample(np.array([10.25, 11.0, 20.2])), [0.5, 1.0, -2.0])
