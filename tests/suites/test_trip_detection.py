"""Trip detection on captured current: exact without noise, within 2 ms with noise up to 5 % of the current,
never fooled by noise into seeing export after a trip, and "cannot judge" when noise swamps the threshold."""

from __future__ import annotations

import numpy as np
import pytest

from rig.suites.platform import CannotJudge
from rig.suites.grid_code.trip_detection import detect_trip, fundamental, require_judgeable, samples_per_cycle

NOMINAL_HZ = 50.0
THRESHOLD_A = 1.5
OPERATING_A = 26.0


def capture(rms_a: float, sample_rate_hz: float, stop_s: float | None, *, seed: int, noise_a: float = 0.05,
            start_s: float = -0.5, length_s: float = 2.0, phase_rad: float = 0.3,
            step_hz: float = NOMINAL_HZ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An exported current (antiphase sine) that ceases at ``stop_s`` (None: never), with seeded noise.

    The grid steps from 50 Hz to ``step_hz`` at t = 0 (a frequency disturbance) and the current follows it;
    returns time, current and the commanded frequency.
    """
    rng = np.random.default_rng(seed)
    t = start_s + np.arange(int(round(length_s * sample_rate_hz))) / sample_rate_hz
    frequency = np.where(t >= 0.0, step_hz, NOMINAL_HZ)
    theta = 2.0 * np.pi * np.cumsum(frequency) / sample_rate_hz + phase_rad
    i = -np.sqrt(2.0) * rms_a * np.sin(theta)
    if stop_s is not None:
        i = np.where(t < stop_s, i, 0.0)
    return t, i + rng.normal(0.0, noise_a, t.shape), frequency


def judged_trip(t, i, frequency):
    signal = fundamental(t, i, frequency, NOMINAL_HZ)
    require_judgeable(signal, THRESHOLD_A)
    return signal, detect_trip(t, i, signal, THRESHOLD_A)


STOP_PHASES = np.arange(40) / 40.0  # the stop instant swept across one cycle in 0.5 ms steps


@pytest.mark.parametrize("sample_rate_hz", [5_000.0, 10_000.0])
@pytest.mark.parametrize("rms_a", [26.0, 8.0])
def test_trip_instant_within_a_sample_wherever_in_the_cycle_the_current_stops(rms_a, sample_rate_hz):
    for k, fraction in enumerate(STOP_PHASES):
        # off the sample grid too: 0.37 of a sample past the nominal instant
        stop_s = 0.54 + fraction / NOMINAL_HZ + 0.37 / sample_rate_hz
        t, i, f = capture(rms_a, sample_rate_hz, stop_s, seed=k)
        _, found = judged_trip(t, i, f)
        assert found is not None, f"no trip found for a stop at {stop_s} s"
        assert abs(found.instant_s - stop_s) <= 1.0 / sample_rate_hz, f"stop at {stop_s}: {found.instant_s}"
        assert stop_s < found.below_s <= stop_s + 1.0 / NOMINAL_HZ + 2.0 / sample_rate_hz


@pytest.mark.parametrize("sample_rate_hz", [5_000.0, 10_000.0])
@pytest.mark.parametrize("noise_fraction", [0.0, 0.01, 0.02, 0.035, 0.05])
@pytest.mark.parametrize("step_hz", [NOMINAL_HZ, 52.2, 47.0])
def test_noise_sweep_up_to_5_percent_keeps_the_trip_time_within_2_ms(sample_rate_hz, noise_fraction, step_hz):
    """The issue's bar: noise up to 5 % of the operating current, every phase, the error within 2 ms; and the
    stated uncertainty (k = 2) covers the error in most cases, as a 95 % statement should."""
    rng = np.random.default_rng(int(noise_fraction * 1000) + int(step_hz))
    errors, covered = [], 0
    for k, fraction in enumerate(STOP_PHASES):
        stop_s = 0.52 + fraction / step_hz + rng.uniform(0.0, 1.0) / sample_rate_hz
        t, i, f = capture(OPERATING_A, sample_rate_hz, stop_s, seed=1000 + k, noise_a=noise_fraction * OPERATING_A,
                          phase_rad=rng.uniform(0.0, 2.0 * np.pi), step_hz=step_hz)
        _, found = judged_trip(t, i, f)
        assert found is not None
        error = found.instant_s - stop_s
        errors.append(error)
        u = 2.0 * np.sqrt((found.sample_interval_s / 2.0) ** 2 / 3.0 + (found.likelihood_half_width_s / 2.0) ** 2)
        covered += abs(error) <= u + 1e-12
    worst = max(errors, key=abs)
    assert abs(worst) <= 2e-3, f"worst error {worst * 1e3:.3f} ms"
    assert covered >= 0.85 * len(STOP_PHASES)


@pytest.mark.parametrize("noise_fraction", [0.0, 0.05])
def test_no_trip_while_the_current_flows_to_the_end_of_the_capture(noise_fraction):
    t, i, f = capture(OPERATING_A, 10_000.0, None, seed=1, noise_a=noise_fraction * OPERATING_A)
    assert judged_trip(t, i, f)[1] is None


@pytest.mark.parametrize("noise_fraction", [0.0, 0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0])
@pytest.mark.parametrize("sample_rate_hz", [5_000.0, 10_000.0])
def test_a_current_that_stopped_is_never_taken_for_export_at_any_noise_level(noise_fraction, sample_rate_hz):
    """The false pass that matters: a charger that trips on a no-trip point. Either the trip is seen (the
    fundamental falls well below the threshold and stays there) or the rig says it cannot judge."""
    for seed in range(5):
        t, i, f = capture(OPERATING_A, sample_rate_hz, 0.6, seed=seed, noise_a=noise_fraction * OPERATING_A)
        signal = fundamental(t, i, f, NOMINAL_HZ)
        try:
            require_judgeable(signal, THRESHOLD_A)
        except CannotJudge as refusal:
            assert "noise floor" in str(refusal)
            continue
        found = detect_trip(t, i, signal, THRESHOLD_A)
        assert found is not None and abs(found.instant_s - 0.6) < 2e-3
        assert signal.rms_a[t >= 0.0].min() < THRESHOLD_A / 2.0


def test_too_much_noise_cannot_be_judged_and_says_its_floor():
    t, i, f = capture(OPERATING_A, 5_000.0, 0.6, seed=7, noise_a=0.3 * OPERATING_A)
    signal = fundamental(t, i, f, NOMINAL_HZ)
    with pytest.raises(CannotJudge, match=r"noise floor is 0\.\d+ A .* 7\.\d+ A rms of noise"):
        require_judgeable(signal, THRESHOLD_A)


def test_the_noise_floor_is_the_noise_over_the_root_of_the_samples_per_cycle():
    t, i, f = capture(OPERATING_A, 10_000.0, None, seed=3, noise_a=1.3)
    signal = fundamental(t, i, f, NOMINAL_HZ)
    assert signal.samples_per_cycle == 200
    assert signal.noise_rms_a == pytest.approx(1.3, rel=0.05)
    assert signal.floor_a == pytest.approx(1.3 / np.sqrt(200), rel=0.05)
    np.testing.assert_allclose(signal.rms_a[t >= -0.4], OPERATING_A, atol=6 * signal.floor_a)


def test_the_fundamental_of_a_clean_sine_is_its_rms_at_any_phase():
    for phase in (0.0, 1.234, 2.5):
        t, i, f = capture(OPERATING_A, 8_000.0, None, seed=0, noise_a=0.0, phase_rad=phase)
        np.testing.assert_allclose(fundamental(t, i, f, NOMINAL_HZ).rms_a, OPERATING_A, rtol=1e-9)


def test_a_pre_trigger_window_too_short_to_measure_noise_cannot_be_judged():
    t, i, f = capture(OPERATING_A, 5_000.0, 0.6, seed=1, start_s=-0.04)
    with pytest.raises(CannotJudge, match="pre-trigger"):
        fundamental(t, i, f, NOMINAL_HZ)


def test_a_brief_dip_is_not_a_trip():
    t, i, f = capture(OPERATING_A, 10_000.0, None, seed=2)
    i[(t >= 0.5) & (t < 0.53)] = 0.0  # 30 ms without current, then back
    assert judged_trip(t, i, f)[1] is None


def test_a_current_that_never_flowed_after_the_trigger_trips_at_once():
    t, i, f = capture(OPERATING_A, 5_000.0, 0.0, seed=3)
    _, found = judged_trip(t, i, f)
    assert found is not None and abs(found.instant_s) <= 2e-4


def test_the_last_trip_counts_when_the_current_came_back_in_between():
    t, i, f = capture(OPERATING_A, 10_000.0, None, seed=4)
    i[(t >= 0.3) & (t < 0.5)] = 0.0
    i[t >= 0.9] = 0.0
    _, found = judged_trip(t, i, f)
    assert found is not None and abs(found.instant_s - 0.9) < 2e-4


def test_samples_per_cycle_rounds_to_the_nearest_sample():
    t = np.arange(10) / 8333.0
    assert samples_per_cycle(t, 50.0) == 167
