"""The envelope guard refuses out-of-envelope setpoints, ramps and programs before any I/O."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from rig.config.bench_file import load_bench
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import EnvelopeError

SIM_BENCH = Path("fixtures/benches/sim.yaml")


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch) -> EnvelopeGuard:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # so the message shows the relative path
    return EnvelopeGuard.from_bench(load_bench(SIM_BENCH))


def test_inside_values_pass_through(guard: EnvelopeGuard) -> None:
    assert guard.check("ac_voltage_v", 230.0, what="grid voltage setpoint") == 230.0
    assert guard.check("ac_voltage_v", 300.0, what="grid voltage setpoint") == 300.0  # bound included
    assert guard.check("ac_frequency_hz", 45.0, what="grid frequency setpoint") == 45.0


def test_above_max_is_refused_with_value_bound_and_bench(guard: EnvelopeGuard) -> None:
    with pytest.raises(EnvelopeError) as caught:
        guard.check("ac_voltage_v", 320.0, what="grid voltage setpoint")
    assert str(caught.value) == (
        "refused: grid voltage setpoint 320.0 V exceeds the bench envelope ac_voltage_v max 300.0 V"
        " (fixtures/benches/sim.yaml); nothing was sent"
    )


def test_below_min_is_refused(guard: EnvelopeGuard) -> None:
    with pytest.raises(EnvelopeError, match=r"44\.5 Hz is below the bench envelope ac_frequency_hz min 45\.0 Hz"):
        guard.check("ac_frequency_hz", 44.5, what="grid frequency setpoint")


def test_open_bound_and_unconfigured_quantity(tmp_path: Path) -> None:
    bench = tmp_path / "bench.yaml"
    bench.write_text(
        "bench: b\ninstruments: {}\n"
        "envelope:\n  ac_voltage_v: {max: 250}\n  ac_frequency_hz: {min: 45, max: 65}\n"
    )
    guard = EnvelopeGuard.from_bench(load_bench(bench))
    assert guard.check("ac_voltage_v", -5.0, what="grid voltage setpoint") == -5.0  # no min configured
    assert guard.check("ac_power_w", 1e6, what="grid power") == 1e6  # no limit configured
    assert guard.check_slew("ac_voltage_v", 1e5, what="grid voltage ramp") == 1e5


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_values_are_always_refused(guard: EnvelopeGuard, value: float) -> None:
    with pytest.raises(EnvelopeError, match="not a finite number"):
        guard.check("ac_power_w", value, what="grid power setpoint")


def test_unknown_quantity_is_a_programming_error(guard: EnvelopeGuard) -> None:
    with pytest.raises(ValueError, match="unknown envelope quantity 'dc_energy_wh'"):
        guard.check("dc_energy_wh", 1.0, what="battery energy")


def test_slew_limit_applies_to_the_magnitude(guard: EnvelopeGuard) -> None:
    assert guard.check_slew("ac_voltage_v", -1000.0, what="grid voltage ramp") == -1000.0
    with pytest.raises(EnvelopeError) as caught:
        guard.check_slew("ac_voltage_v", -1500.0, what="grid voltage ramp")
    assert "grid voltage ramp 1500.0 V/s exceeds the bench envelope ac_voltage_slew_v_per_s max 1000.0 V/s" in str(
        caught.value
    )


def test_slew_by_entry_name(guard: EnvelopeGuard) -> None:
    assert guard.check_slew("ac_frequency_slew_hz_per_s", 2.0, what="RoCoF ramp") == 2.0
    with pytest.raises(EnvelopeError, match="60.0 Hz/s exceeds .* max 50.0 Hz/s"):
        guard.check_slew("ac_frequency_hz", 60.0, what="RoCoF ramp")


def test_slew_of_a_quantity_without_slew_limit_is_a_programming_error(guard: EnvelopeGuard) -> None:
    with pytest.raises(ValueError):
        guard.check_slew("ac_current_a", 1.0, what="current ramp")


def test_profile_is_checked_before_anything_is_played(guard: EnvelopeGuard) -> None:
    program = (v for v in [230.0, 253.0, 310.0, 230.0])
    with pytest.raises(EnvelopeError) as caught:
        guard.check_profile("ac_voltage_v", program, what="grid voltage program")
    assert "grid voltage program (point 3 of 4) 310.0 V exceeds" in str(caught.value)
    assert guard.check_profile("ac_voltage_v", [230.0, 253.0], what="grid voltage program") == (230.0, 253.0)


def test_guard_without_bench_file(guard: EnvelopeGuard) -> None:
    bare = EnvelopeGuard(guard.envelope, None)
    with pytest.raises(EnvelopeError) as caught:
        bare.check("ac_current_a", 41.0, what="battery current")
    assert str(caught.value).endswith("max 40.0 A; nothing was sent")
