"""The simulated charger's frequency response: the droop and reduced-frequency lines, the dead time and lag
reached in closed form, a profile without the section unchanged, and the response as the lab's charger
exports it."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from rig.core.errors import InputFileError
from rig.sim.charger.dut_profile import DutProfile, load_dut_profile
from rig.sim.charger.frequency_response import FrequencyResponse, LfsmO, ReducedFrequency, lagged_reduction, operating_power_w
from grid_on import grid_on
from rig.sim.signal import PiecewiseLinear

DUTS = Path(__file__).resolve().parents[2] / "fixtures" / "duts"
REFERENCE = {"threshold_hz": 50.4, "droop": 0.10}


def steps(*levels: tuple[float, float]) -> PiecewiseLinear:
    """50 Hz from 0, then each (instant, frequency) as a step."""
    signal = PiecewiseLinear(0.0, 50.0)
    for t, f in levels:
        signal.step(t, f)
    return signal


def power_at(fr: FrequencyResponse | None, signal: PiecewiseLinear, times: np.ndarray, operating_w: float = 6000.0):
    """The charger's power at ``times`` as an array (a scalar operating point broadcast)."""
    return np.broadcast_to(operating_power_w(fr, operating_w, signal, 50.0, times), np.shape(times))


def response(**lfsm_o: float) -> FrequencyResponse:
    return FrequencyResponse(lfsm_o=LfsmO(**{**REFERENCE, **lfsm_o}))


def euler(function: LfsmO | ReducedFrequency, signal: PiecewiseLinear, t_end: float, dt: float = 1e-4):
    """The same response by brute force: the lag integrated in small steps."""
    t = np.arange(0.0, t_end, dt)
    target = function.reduction(signal.sample(t - function.delay_s), 50.0)
    y = np.zeros_like(t)
    for k in range(1, len(t)):
        y[k] = y[k - 1] + (target[k - 1] - y[k - 1]) * dt / function.time_constant_s
    return t, y


def test_without_a_section_the_operating_point_is_returned_as_it_always_was() -> None:
    times = np.linspace(0.0, 5.0, 11)
    assert operating_power_w(None, 6000.0, steps((1.0, 51.5)), 50.0, times) == 6000.0


def test_a_charging_charger_is_not_touched_by_its_export_response() -> None:
    assert operating_power_w(response(), -6000.0, steps((1.0, 51.5)), 50.0, np.array([2.0])) == -6000.0


@pytest.mark.parametrize(("frequency_hz", "expected_w"), [
    (50.0, 6000.0), (50.4, 6000.0), (50.45, 5940.0), (50.70, 5640.0), (51.15, 5100.0), (52.0, 4080.0)])
def test_settled_power_is_on_the_droop_line(frequency_hz: float, expected_w: float) -> None:
    """A reduction of (f - 50.4) / (0.10 x 50) of the reference power."""
    power = power_at(response(delay_s=0.2, time_constant_s=0.3), steps((1.0, frequency_hz)), np.array([30.0]))
    assert power[0] == pytest.approx(expected_w, abs=1e-6)


def test_after_a_step_the_power_waits_its_dead_time_then_follows_the_first_order_lag() -> None:
    signal = steps((10.0, 50.7), (20.0, 51.15))
    times = np.array([20.0, 20.199, 20.2, 20.5, 21.0, 23.0])
    power = operating_power_w(response(delay_s=0.2, time_constant_s=0.3), 6000.0, signal, 50.0, times)
    moving = np.clip(times - 20.2, 0.0, None)
    np.testing.assert_allclose(power, 5100.0 + (5640.0 - 5100.0) * np.exp(-moving / 0.3), rtol=1e-12)


def test_without_a_lag_the_power_steps_after_its_dead_time() -> None:
    power = operating_power_w(response(delay_s=0.5), 6000.0, steps((1.0, 51.15)), 50.0, np.array([1.49, 1.5, 9.0]))
    np.testing.assert_allclose(power, [6000.0, 5100.0, 5100.0])


def test_a_ramp_across_the_threshold_is_solved_exactly() -> None:
    """The target has a kink where the ramp crosses 50.4 Hz: pieces are cut there."""
    signal = PiecewiseLinear(0.0, 50.0)
    signal.ramp(1.0, 3.0, 50.0, 51.0)
    signal.step(6.0, 50.2)
    function = LfsmO(**REFERENCE, delay_s=0.1, time_constant_s=0.5)
    t, y = euler(function, signal, 9.0)
    probe = np.array([1.5, 1.9, 2.2, 2.6, 3.0, 4.0, 6.05, 6.5, 8.0])
    np.testing.assert_allclose(lagged_reduction(function, signal, 50.0, probe), np.interp(probe, t, y), atol=2e-5)


def test_reduced_frequency_reduces_below_its_threshold_only() -> None:
    function = ReducedFrequency(threshold_hz=49.5, reduction_per_hz=0.02, delay_s=0.2, time_constant_s=0.3)
    fr = FrequencyResponse(reduced_frequency=function)
    signal = steps((1.0, 49.5), (20.0, 48.0), (40.0, 50.6))
    power = operating_power_w(fr, 6000.0, signal, 50.0, np.array([15.0, 35.0, 55.0]))
    np.testing.assert_allclose(power, [6000.0, 6000.0 * 0.97, 6000.0], rtol=1e-9)
    t, y = euler(function, signal, 22.0)
    np.testing.assert_allclose(lagged_reduction(function, signal, 50.0, np.array([20.3, 20.6, 21.5])),
                               np.interp([20.3, 20.6, 21.5], t, y), atol=2e-5)


def test_the_power_never_rises_above_its_operating_point_nor_changes_sign() -> None:
    fr = FrequencyResponse(lfsm_o=LfsmO(threshold_hz=50.4, droop=0.02, time_constant_s=0.1),
                       reduced_frequency=ReducedFrequency(threshold_hz=49.5, reduction_per_hz=0.5))
    signal = steps((1.0, 52.0), (5.0, 46.0), (9.0, 51.0))
    power = power_at(fr, signal, np.linspace(0.0, 12.0, 5001))
    assert power.min() == 0.0 and power.max() == 6000.0


def test_a_capture_and_single_instants_give_the_same_power() -> None:
    """The lab asks for a whole capture at once and for single readings: both see one response."""
    fr = response(delay_s=0.2, time_constant_s=0.3)
    signal = steps((10.0, 50.7), (10.5, 51.15), (13.0, 50.0))
    times = np.linspace(9.0, 16.0, 701)
    whole = power_at(fr, signal, times)
    one_by_one = [float(power_at(fr, signal, np.array([t]))[0]) for t in times[::50]]
    np.testing.assert_allclose(whole[::50], one_by_one, rtol=1e-12)


def test_a_reduced_frequency_threshold_above_the_lfsm_o_threshold_is_refused_at_its_line(tmp_path: Path) -> None:
    text = (DUTS / "fr-reduces-early.yaml").read_text().replace("threshold_hz: 49.8", "threshold_hz: 50.6")
    shutil.copy(DUTS / "compliant.yaml", tmp_path)  # what it extends
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "threshold_hz: 50.6" in row)
    with pytest.raises(InputFileError, match=f"bad.yaml:{line}: frequency_response.reduced_frequency.threshold_hz"):
        load_dut_profile(path)


def test_a_droop_of_zero_is_refused(tmp_path: Path) -> None:
    shutil.copy(DUTS / "compliant.yaml", tmp_path)  # what it extends
    path = tmp_path / "bad.yaml"
    path.write_text((DUTS / "fr-wrong-droop.yaml").read_text().replace("droop: 0.05", "droop: 0.0"))
    with pytest.raises(InputFileError, match="frequency_response.lfsm_o.droop"):
        load_dut_profile(path)


@pytest.fixture(scope="module")
def compliant() -> DutProfile:
    return load_dut_profile(DUTS / "compliant.yaml")


def test_the_lab_charger_exports_along_the_droop_after_a_list_mode_step(compliant: DutProfile) -> None:
    """The grid source's frequency is what the charger responds to; its current follows its power."""
    model = grid_on(compliant, 21.0)
    assert model.charger.connected
    model.grid.set_frequency(21.0, 51.15)
    assert compliant.frequency_response is not None and compliant.frequency_response.lfsm_o is not None
    lfsm = compliant.frequency_response.lfsm_o
    model.advance_to(31.0)
    times = np.array([21.0, 21.0 + lfsm.delay_s + lfsm.time_constant_s, 30.9])
    power = model.charger.export_power_w(times)
    assert power[0] == pytest.approx(6000.0)
    assert power[1] == pytest.approx(5100.0 + 900.0 * math.exp(-1.0), rel=1e-9)
    assert power[2] == pytest.approx(5100.0, rel=1e-6)
    assert model.current_rms_at(30.9) == pytest.approx(5100.0 / 230.0, rel=1e-6)
    assert model.charger.connected  # 51.15 Hz is below the O/F stage


def test_every_frequency_response_profile_loads() -> None:
    for path in sorted(DUTS.glob("fr-*.yaml")):
        assert load_dut_profile(path).frequency_response is not None, path.name
