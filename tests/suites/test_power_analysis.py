"""Power over whole cycles, its noise, and the response to a step, on synthetic captures whose truth is known.

The digitizer chooses its own rate and the frequency moves during a
frequency-response test, so a cycle is rarely a whole number of samples:
the power must still be exact, its noise measured as it is, and the band
entry found within the uncertainty the rig states for it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rig.suites.platform import CannotJudge
from rig.suites.g99_frequency_response.power import (band_entry, cycle_power, largest_deviation,
                                                     rising_zero_crossings, steady_power)

V_RMS = 230.0


def capture(power_w, *, frequency_hz: float = 50.0, rate_hz: float = 6666.67, span: tuple[float, float] = (-1.0, 3.0),
            phase: float = 0.7, noise_a: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """t, v, i of a charger exporting ``power_w(t)`` (its current in antiphase with the voltage)."""
    t = np.arange(span[0], span[1], 1.0 / rate_hz)
    theta = 2.0 * np.pi * frequency_hz * t + phase
    v = math.sqrt(2.0) * V_RMS * np.sin(theta)
    i = -math.sqrt(2.0) * (np.asarray(power_w(t)) / V_RMS) * np.sin(theta)
    if noise_a:
        i = i + np.random.default_rng(seed).normal(0.0, noise_a, t.shape)
    return t, v, i


@pytest.mark.parametrize("frequency_hz", [47.0, 50.0, 51.15])
def test_a_steady_power_is_exact_over_whole_cycles_of_any_length(frequency_hz: float) -> None:
    """6666.67 S/s: 133.3 samples per 50 Hz cycle, so every cycle cuts samples."""
    t, v, i = capture(lambda t: np.full(t.shape, 6000.0), frequency_hz=frequency_hz)
    cycles = cycle_power(t, v, i, 50.0)
    np.testing.assert_allclose(cycles.export_w, 6000.0, rtol=2e-5)
    np.testing.assert_allclose(cycles.end_s - cycles.start_s, 1.0 / frequency_hz, rtol=1e-6)
    assert len(cycles.export_w) == pytest.approx(4.0 * frequency_hz, abs=1.0)


def test_a_charging_charger_shows_negative_export() -> None:
    t, v, i = capture(lambda t: np.full(t.shape, -3000.0))
    assert cycle_power(t, v, i, 50.0).mean_w(np.arange(10)) == pytest.approx(-3000.0, rel=1e-5)


def test_a_power_step_shows_in_the_cycle_after_it_and_not_before() -> None:
    t, v, i = capture(lambda t: np.where(t < 1.0, 6000.0, 5100.0))
    cycles = cycle_power(t, v, i, 50.0)
    before, after = cycles.within(-1.0, 1.0), cycles.within(1.0, 3.0)
    np.testing.assert_allclose(cycles.export_w[before], 6000.0, rtol=2e-5)
    np.testing.assert_allclose(cycles.export_w[after], 5100.0, rtol=2e-5)
    assert before.size + after.size == len(cycles.export_w) - 1  # one cycle straddles the step


def test_zero_crossings_are_interpolated_and_chatter_is_dropped() -> None:
    t = np.arange(0.0, 0.1, 1e-4)
    v = np.sin(2.0 * np.pi * 50.0 * t - 0.3)
    v[np.argmin(np.abs(t - 0.0305))] = -0.01  # a noise blip just after a crossing: a second, false one
    crossings = rising_zero_crossings(t, v, 50.0)
    np.testing.assert_allclose(crossings, 0.3 / (2.0 * np.pi * 50.0) + 0.02 * np.arange(len(crossings)), atol=2e-6)


def test_a_capture_without_voltage_cannot_be_judged() -> None:
    t = np.arange(0.0, 1.0, 1e-4)
    with pytest.raises(CannotJudge, match="no whole cycle"):
        cycle_power(t, np.zeros_like(t), np.zeros_like(t), 50.0)


def test_the_noise_of_a_one_cycle_power_is_measured_as_the_probe_gives_it() -> None:
    """White current noise sigma on ~133 samples a cycle: a one-cycle power scatters by V sigma / sqrt(n)."""
    t, v, i = capture(lambda t: np.full(t.shape, 6000.0), noise_a=1.3, span=(-4.0, 0.0), seed=3)
    steady = steady_power(cycle_power(t, v, i, 50.0), -4.0, 0.0, "the window")
    expected = V_RMS * 1.3 / math.sqrt(6666.67 / 50.0)
    assert steady.cycle_noise_w == pytest.approx(expected, rel=0.15)
    assert steady.mean_w == pytest.approx(6000.0, abs=4.0 * steady.mean_noise_w)
    assert steady.cycles == 199


def test_too_few_cycles_for_a_steady_power_cannot_be_judged() -> None:
    t, v, i = capture(lambda t: np.full(t.shape, 6000.0), span=(-0.15, 0.0))
    with pytest.raises(CannotJudge, match="whole cycles"):
        steady_power(cycle_power(t, v, i, 50.0), -0.15, 0.0, "the pre-trigger window")


def first_order(t: np.ndarray, step_s: float, before: float, after: float, delay_s: float, tau_s: float) -> np.ndarray:
    moving = np.clip(t - step_s - delay_s, 0.0, None)
    return after + (before - after) * np.exp(-moving / tau_s)


@pytest.mark.parametrize(("delay_s", "tau_s"), [(0.2, 0.3), (1.3, 0.25), (0.5, 2.0), (0.0, 0.05)])
def test_the_band_entry_is_found_within_its_stated_half_width(delay_s: float, tau_s: float) -> None:
    """A first-order fall from 0.94 to 0.85 pu into a +-0.025 pu band: the true entry is known in closed form."""
    step = 1.0
    t, v, i = capture(lambda t: 6000.0 * first_order(t, step, 0.94, 0.85, delay_s, tau_s), span=(-0.5, 12.0))
    cycles = cycle_power(t, v, i, 50.0)
    inside = cycles.within(step, 12.0)
    deviation = cycles.export_w[inside] / 6000.0 - 0.85
    entry = band_entry(cycles.start_s[inside], cycles.end_s[inside], deviation, step, (-0.025, 0.025))
    truth = delay_s + tau_s * math.log(0.09 / 0.025)
    assert entry.entry_s is not None
    assert abs(entry.entry_s - truth) <= entry.entry_half_width_s
    assert entry.entry_half_width_s <= 0.021  # two cycles wide at most


def test_a_power_already_in_band_enters_at_once() -> None:
    t, v, i = capture(lambda t: np.full(t.shape, 6000.0 * 0.995))
    cycles = cycle_power(t, v, i, 50.0)
    inside = cycles.within(1.0, 3.0)
    entry = band_entry(cycles.start_s[inside], cycles.end_s[inside], cycles.export_w[inside] / 6000.0 - 0.99, 1.0,
                       (-0.025, 0.025))
    assert entry.entry_s is not None and entry.entry_s <= 0.02 + 1e-9 and entry.first_in_band == 0


def test_a_power_that_never_enters_has_no_entry() -> None:
    entry = band_entry(np.arange(10.0), np.arange(1.0, 11.0), np.full(10, 0.15), 0.0, (-0.025, 0.025))
    assert entry.entry_s is None and entry.first_in_band is None


def test_an_open_band_bound_admits_everything_beyond_it() -> None:
    entry = band_entry(np.arange(3.0), np.arange(1.0, 4.0), np.array([-0.02, 0.5, 3.0]), 0.0, (-0.01, None))
    assert entry.first_in_band == 1


def test_an_undamped_oscillation_shows_as_its_amplitude_after_the_response_time() -> None:
    """Settled on the line but swinging +-0.04 pu at 0.5 Hz: out of a 0.025 pu band for good."""
    t, v, i = capture(lambda t: 6000.0 * (0.85 + 0.04 * np.sin(2.0 * np.pi * 0.5 * t)), span=(0.0, 10.0))
    cycles = cycle_power(t, v, i, 50.0)
    deviation = cycles.export_w / 6000.0 - 0.85
    assert largest_deviation(cycles.start_s, deviation, after_s=2.0) == pytest.approx(0.04, rel=0.01)


def test_a_damped_response_settles_well_inside_the_band_after_the_response_time() -> None:
    t, v, i = capture(lambda t: 6000.0 * first_order(t, 0.0, 0.94, 0.85, 0.2, 0.3), span=(0.0, 10.0))
    cycles = cycle_power(t, v, i, 50.0)
    settled = largest_deviation(cycles.start_s, cycles.export_w / 6000.0 - 0.85, after_s=2.0)
    assert settled is not None and settled < 0.0015
    assert largest_deviation(cycles.start_s, cycles.export_w / 6000.0 - 0.85, after_s=11.0) is None
