"""Trip detection on captured current: within 1 ms of the true stop instant, whatever the phase at stop."""

from __future__ import annotations

import numpy as np
import pytest

from rig.procedures.trip_detection import detect_trip, one_cycle_rms, samples_per_cycle

FREQUENCY_HZ = 50.0
THRESHOLD_A = 1.5
NOISE_A = 0.05


def capture(rms_a: float, sample_rate_hz: float, stop_s: float | None, *, seed: int,
            start_s: float = -0.1, length_s: float = 1.5, phase_rad: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """A 50 Hz sine current that ceases at ``stop_s`` (None: never), with seeded Gaussian noise."""
    t = start_s + np.arange(int(round(length_s * sample_rate_hz))) / sample_rate_hz
    i = np.sqrt(2.0) * rms_a * np.sin(2.0 * np.pi * FREQUENCY_HZ * t + phase_rad)
    if stop_s is not None:
        i = np.where(t < stop_s, i, 0.0)
    return t, i + np.random.default_rng(seed).normal(0.0, NOISE_A, t.shape)


STOP_PHASES = np.arange(40) / 40.0  # the stop instant swept across one cycle in 0.5 ms steps


@pytest.mark.parametrize("sample_rate_hz", [5_000.0, 10_000.0])
@pytest.mark.parametrize("rms_a", [26.0, 8.0])
def test_trip_instant_within_1_ms_wherever_in_the_cycle_the_current_stops(rms_a: float,
                                                                          sample_rate_hz: float) -> None:
    errors = []
    for k, fraction in enumerate(STOP_PHASES):
        # off the sample grid too: 0.37 of a sample past the nominal instant
        stop_s = 0.54 + fraction / FREQUENCY_HZ + 0.37 / sample_rate_hz
        t, i = capture(rms_a, sample_rate_hz, stop_s, seed=k)
        found = detect_trip(t, i, THRESHOLD_A, FREQUENCY_HZ)
        assert found is not None, f"no trip found for a stop at {stop_s} s"
        errors.append(found.instant_s - stop_s)
        assert found.rms_below_s > stop_s  # the trailing rms falls only after the current stopped
        assert found.rms_below_s - stop_s <= 1.0 / FREQUENCY_HZ + 2.0 / sample_rate_hz
    assert max(abs(e) for e in errors) < 1e-3, f"worst error {max(errors, key=abs) * 1e3:.3f} ms"


@pytest.mark.parametrize("phase_rad", [0.0, np.pi / 2, 2.0])
def test_trip_instant_for_other_waveform_phases(phase_rad: float) -> None:
    for k, stop_s in enumerate(np.linspace(0.5, 0.52, 17)):
        t, i = capture(8.0, 5_000.0, float(stop_s), seed=100 + k, phase_rad=phase_rad)
        found = detect_trip(t, i, THRESHOLD_A, FREQUENCY_HZ)
        assert found is not None
        assert abs(found.instant_s - stop_s) < 1e-3


@pytest.mark.parametrize("rms_a", [26.0, 8.0])
def test_no_trip_while_the_current_flows_to_the_end_of_the_capture(rms_a: float) -> None:
    t, i = capture(rms_a, 10_000.0, None, seed=1)
    assert detect_trip(t, i, THRESHOLD_A, FREQUENCY_HZ) is None


def test_a_brief_dip_is_not_a_trip() -> None:
    t, i = capture(26.0, 10_000.0, None, seed=2)
    i[(t >= 0.5) & (t < 0.53)] = 0.0  # 30 ms without current, then back
    assert detect_trip(t, i, THRESHOLD_A, FREQUENCY_HZ) is None


def test_a_current_that_never_flowed_in_the_window_trips_at_the_start() -> None:
    t, i = capture(26.0, 5_000.0, -1.0, seed=3)  # stopped before the capture began: only noise
    found = detect_trip(t, i, THRESHOLD_A, FREQUENCY_HZ)
    assert found is not None
    assert found.instant_s == t[0]


def test_the_last_trip_counts_when_the_current_came_back_in_between() -> None:
    t, i = capture(26.0, 10_000.0, None, seed=4)
    i[(t >= 0.3) & (t < 0.5)] = 0.0
    i[t >= 0.9] = 0.0
    found = detect_trip(t, i, THRESHOLD_A, FREQUENCY_HZ)
    assert found is not None
    assert abs(found.instant_s - 0.9) < 1e-3


@pytest.mark.parametrize(("sample_rate_hz", "phase_rad"), [(5_000.0, 0.0), (10_000.0, 1.234), (4_000.0, 2.5)])
def test_one_cycle_rms_of_a_clean_sine_is_its_rms(sample_rate_hz: float, phase_rad: float) -> None:
    t = np.arange(int(sample_rate_hz)) / sample_rate_hz
    i = np.sqrt(2.0) * 26.0 * np.sin(2.0 * np.pi * FREQUENCY_HZ * t + phase_rad)
    n = samples_per_cycle(t, FREQUENCY_HZ)
    assert n == round(sample_rate_hz / FREQUENCY_HZ)
    np.testing.assert_allclose(one_cycle_rms(i, n), 26.0, rtol=1e-9)


def test_one_cycle_rms_trails_the_signal() -> None:
    i = np.concatenate((np.zeros(10), 2.0 * np.ones(10)))
    rms = one_cycle_rms(i, 4)
    assert rms.shape == i.shape
    assert rms[:10].tolist() == [0.0] * 10
    np.testing.assert_allclose(rms[10:13], [1.0, np.sqrt(2.0), np.sqrt(3.0)])
    np.testing.assert_allclose(rms[13:], 2.0)


def test_one_cycle_rms_of_a_record_shorter_than_a_cycle_does_not_fail() -> None:
    rms = one_cycle_rms(np.ones(3), 100)
    assert rms.shape == (3,)
