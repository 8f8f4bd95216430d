"""The power quality analysis on synthetic signals whose content is known exactly: harmonic groups, DC and power
factor are recovered, the windows follow the measured fundamental (off-nominal, a non-integer number of samples per
cycle and of cycles per capture), every value's uncertainty covers its error, and a capture that cannot be judged
is refused, never passed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rig.suites.platform import CannotJudge
from rig.suites.g99_power_quality.analysis import Stability, _windows, measure_frequency, synchronised_windows
from rig.suites.g99_power_quality.measurements import (
    AnalysedCapture, analyse, dc_injection, harmonic_currents, power_factor)

RATE = 500e3 / 21  # what the bench's scope gives for a 10 kS/s request over 2 s: 476.19 samples per cycle
STEADY = Stability(max_frequency_deviation_hz=0.05, max_current_change_pct=5.0)


def signal(*, rate: float = RATE, frequency: float = 50.0, seconds: float = 2.1, current_a: float = 26.0,
           harmonics: dict[int, float] | None = None, dc_a: float = 0.0, lag_deg: float = 0.0, exports: bool = True,
           noise_a: float = 0.0, code_a: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time, current (as a digitizer on the line sees it: reversed while exporting) and voltage."""
    t = np.arange(int(seconds * rate)) / rate - 0.0123  # the capture starts at an arbitrary phase
    theta = 2.0 * np.pi * frequency * t + 0.4
    phase = theta - math.radians(lag_deg)
    i = math.sqrt(2.0) * current_a * np.sin(phase) + dc_a
    for order, rms in (harmonics or {}).items():
        i += math.sqrt(2.0) * rms * np.sin(order * phase + 0.3 * order)
    if exports:
        i = -i
    i = i + np.random.default_rng(seed).normal(0.0, noise_a, t.shape) if noise_a else i
    if code_a:
        i = np.round(i / code_a) * code_a
    v = 230.0 * math.sqrt(2.0) * np.sin(theta)
    return t, i, v


def analysed(t: np.ndarray, i: np.ndarray, v: np.ndarray, *, grouping: str = "group", max_order: int = 40,
             windows: int = 10, stability: Stability = STEADY) -> AnalysedCapture:
    return analyse(t, i, v, nominal_hz=50.0, cycles=10, windows=windows, max_order=max_order,
                   grouping="subgroup" if grouping == "subgroup" else "group", stability=stability)


HARMONICS = {2: 0.9, 3: 2.2, 5: 1.1, 7: 0.7, 13: 0.2, 21: 0.1, 39: 0.05, 40: 0.04}


@pytest.mark.parametrize("frequency", [50.0, 49.63, 50.41])
@pytest.mark.parametrize("grouping", ["group", "subgroup"])
def test_known_harmonic_currents_are_recovered_on_and_off_the_nominal_frequency(frequency, grouping):
    t, i, v = signal(frequency=frequency, harmonics=HARMONICS)
    capture = analysed(t, i, v, grouping=grouping)
    assert capture.windows.frequency_hz == pytest.approx(frequency, abs=1e-4)
    assert capture.windows.duration_s == pytest.approx(10.0 / frequency, rel=1e-6)  # synchronised to what it measured
    found = harmonic_currents(capture)
    for order, mean in zip(found.orders, found.mean_a):
        assert mean == pytest.approx(HARMONICS.get(order, 0.0), abs=2e-4), order
    assert np.mean(capture.fundamental_a) == pytest.approx(26.0, rel=1e-5)


def test_a_window_that_is_not_a_whole_number_of_samples_leaks_nothing_worth_stating():
    """Pure fundamental, 476.19 samples per cycle: what the windows read at the harmonics is their leakage, and the
    budget states it."""
    t, i, v = signal(frequency=50.13)
    found = harmonic_currents(analysed(t, i, v))
    assert found.mean_a.max() < 2e-4
    leakage = [c.standard * math.sqrt(3.0) for u in found.uncertainty for c in u.components if "leakage" in c.source]
    assert len(leakage) == len(found.orders) and max(leakage) < 2e-4
    assert np.allclose(found.mean_a, leakage, atol=1e-9)  # the same windows on the same pure sine


def test_a_group_collects_interharmonics_that_a_subgroup_leaves_out():
    t, i, v = signal(harmonics={3: 1.0})
    rate = 1.0 / (t[1] - t[0])
    i = i + math.sqrt(2.0) * 0.3 * np.sin(2.0 * np.pi * 170.0 * (t + 1.0 / rate))  # 3.4 x 50 Hz, bin k = 34
    group = harmonic_currents(analysed(t, i, v, grouping="group")).mean_a[1]
    subgroup = harmonic_currents(analysed(t, i, v, grouping="subgroup")).mean_a[1]
    assert group == pytest.approx(math.hypot(1.0, 0.3), abs=1e-3)
    assert subgroup == pytest.approx(1.0, abs=1e-3)


def test_dc_is_the_mean_over_whole_windows_even_when_the_capture_is_not_whole_cycles():
    t, i, v = signal(seconds=2.137, dc_a=0.07, harmonics={3: 1.0}, exports=False)
    found = dc_injection(analysed(t, i, v))
    assert found.dc_a == pytest.approx(0.07, abs=1e-5)
    assert found.uncertainty_a.expanded >= abs(found.dc_a - 0.07)


@pytest.mark.parametrize(("lag_deg", "exports"), [(20.0, True), (-20.0, True), (15.0, False), (0.0, True)])
def test_power_factor_and_displacement_in_the_frame_of_the_power_flow(lag_deg, exports):
    t, i, v = signal(lag_deg=lag_deg, exports=exports, harmonics={3: 2.0, 5: 1.0}, frequency=50.2)
    found = power_factor(analysed(t, i, v))
    distortion = 26.0 / math.sqrt(26.0**2 + 2.0**2 + 1.0**2)
    assert found.exports is exports
    assert found.displacement_deg == pytest.approx(lag_deg, abs=1e-3)  # positive: the current lags
    assert found.displacement_power_factor == pytest.approx(math.cos(math.radians(lag_deg)), abs=1e-6)
    assert found.power_factor == pytest.approx(math.cos(math.radians(lag_deg)) * distortion, abs=1e-5)
    assert found.active_power_w == pytest.approx(230.0 * 26.0 * math.cos(math.radians(lag_deg)), rel=1e-5)


def test_every_uncertainty_covers_the_error_of_a_noisy_quantised_capture():
    """Noise of 0.05 A rms and the 16-bit codes of a 100 A range. A harmonic group's budget bounds what noise can add
    to it, so every group lies within its U; DC and displacement are judged on means whose noise is random, and U
    (k = 2) is their ~95 % interval: each lies within 2 U (about four standard uncertainties)."""
    harmonics = {3: 0.5, 5: 0.3, 39: 0.03}
    for seed in range(3):
        t, i, v = signal(harmonics=harmonics, dc_a=0.01, lag_deg=5.0, noise_a=0.05, code_a=100.0 / 65536, seed=seed)
        capture = analysed(t, i, v)
        assert capture.code_step_a == pytest.approx(100.0 / 65536, rel=1e-6)
        found = harmonic_currents(capture)
        for order, mean, u in zip(found.orders, found.mean_a, found.uncertainty):
            assert abs(mean - harmonics.get(order, 0.0)) <= u.expanded, (seed, order)
            assert len(u.components) == 3 and u.expanded > 0
        dc = dc_injection(capture)
        assert abs(-dc.dc_a - 0.01) <= 2.0 * dc.uncertainty_a.expanded  # exporting: the digitizer sees it reversed
        pf = power_factor(capture)
        error = abs(pf.displacement_power_factor - math.cos(math.radians(5.0)))
        assert error <= 2.0 * pf.displacement_power_factor_u.expanded


def test_a_capture_sampled_too_slowly_for_h40_cannot_be_judged():
    t, i, v = signal(rate=3000.0, harmonics={3: 1.0})
    with pytest.raises(CannotJudge, match="h40.*raise the sample rate"):
        analysed(t, i, v)
    analysed(t, i, v, max_order=20)  # h20 of 50 Hz fits below 1.5 kHz


def test_too_few_cycles_for_the_windows_the_plan_averages_cannot_be_judged():
    t, i, v = signal(seconds=1.15)
    with pytest.raises(CannotJudge, match="holds 5 whole windows.*averages 10: too few cycles"):
        analysed(t, i, v)
    assert synchronised_windows(t, v, 50.0, 10, 5).count == 5


def test_a_fundamental_that_moves_cannot_be_judged():
    t, i, v = signal()
    late = t > 1.0
    theta = 2.0 * np.pi * np.cumsum(np.where(late, 50.3, 50.0)) * (t[1] - t[0])  # 0.3 Hz away, phase continuous
    v_shifted = 230.0 * math.sqrt(2.0) * np.sin(theta)
    with pytest.raises(CannotJudge, match="fundamental is not stable.*frequency"):
        analysed(t, i, v_shifted)
    i_step = np.where(late, 0.8 * i, i)  # the DUT's output drops by a fifth mid-capture
    with pytest.raises(CannotJudge, match="fundamental is not stable.*current"):
        analysed(t, i_step, v)


def test_no_voltage_or_no_current_cannot_be_judged():
    t, i, v = signal()
    with pytest.raises(CannotJudge, match="no steady fundamental"):
        analysed(t, i, np.zeros_like(v))
    with pytest.raises(CannotJudge, match="did not conduct"):
        analysed(t, np.zeros_like(i), v)


@pytest.mark.parametrize("samples", range(4990, 5010))
@pytest.mark.parametrize("frequency_hz", [49.93, 50.0, 50.0173])
def test_every_window_lies_inside_the_capture_whatever_its_length_and_phase(samples: int, frequency_hz: float):
    """A window's start is rounded up to a sample, so the last one that fits on paper can run one sample past
    the capture's end (a Tektronix record of a length the scope chose did): such a window is not counted."""
    t = np.arange(samples) / 10_000.0
    v = 325.0 * np.sin(2.0 * np.pi * frequency_hz * t + 0.3)
    for cycles in (1, 10):
        grid = _windows(t, frequency_hz, 0.0, cycles, None)
        assert grid.count and all(start + grid.samples <= samples for start in grid.starts)
        assert grid.stack(v).shape == (grid.samples, grid.count)
    assert measure_frequency(t, v, 50.0)[0] == pytest.approx(frequency_hz, abs=1e-3)


def test_a_sample_interval_a_hair_short_of_a_whole_cycle_does_not_push_the_last_window_out():
    """The Tektronix twin's record behind an Ametek source: 2002 samples from 2.2 s at an interval 2.3e-16 s short
    of 100 us, one-cycle windows at exactly 50 Hz. On paper ten windows fit; the tenth, rounded up to its sample,
    ran one sample past the end and the analysis stopped the campaign."""
    t = 2.2 + np.arange(2002) * 9.999999999976694e-05
    v = 325.0 * np.sin(2.0 * np.pi * 50.0 * t)
    grid = _windows(t, 50.0, 0.0, 1, None)
    assert grid.count == 9 and grid.starts[-1] + grid.samples <= len(t)
    assert measure_frequency(t, v, 50.0)[0] == pytest.approx(50.0, abs=1e-6)
