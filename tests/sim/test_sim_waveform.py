"""The simulated charger's current waveform (``waveform:`` in a DUT profile, rig.sim.charger.waveform): harmonics, DC offset
and displacement as the profile states them, only while the charger conducts, its active power kept; a profile
without it (a pure sine) gives the captures' bytes they always were; bad input is refused at its line."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
from test_sim_lab_wire import test_captures_are_the_bytes_they_always_were as golden_capture_scenario
from wire import DUTS

from rig.core.errors import InputFileError
from rig.sim.charger.ac_port import ALIGNED_CLOCK
from rig.sim.charger.dut_profile import DutProfile, load_dut_profile
from rig.sim.model import LabModel
from rig.sim.charger.waveform import Harmonic, Waveform

CONNECTED_AT = 20.1  # output on at 0 s: reconnected 20 s after the grid is first seen healthy


@pytest.mark.parametrize(("scenario", "f", "v", "points"), [
    ("voltage step, 20000 points", "50,50", "230,280", 20_000),
    ("frequency step, 10000 points", "50,47.3", "230,230", 10_000),
])
def test_a_profile_without_a_waveform_gives_the_golden_capture_bytes(compliant: DutProfile, open_session,
                                                                     scenario: str, f: str, v: str, points: int):
    """The golden scenario of test_sim_lab_wire.py, run on the compliant charger with its current a pure sine again:
    the hook in LabModel.waveforms leaves a pure sine's samples, bit for bit, as they were."""
    pure = compliant.with_ac_port(waveform=Waveform())
    assert not pure.ac_port.waveform.distorts
    golden_capture_scenario(pure, open_session, scenario, f, v, points)


def connected(profile: DutProfile) -> LabModel:
    """230 V 50 Hz from t = 0; the charger connects at 20.1 s."""
    model = LabModel(profile.with_ac_port(current_noise_a=0.0), seed=1, clock=ALIGNED_CLOCK)
    model.grid.set_voltage(0.0, 230.0)
    model.grid.set_relay(0.0, True)
    model.grid.set_output(0.0, True)
    model.advance_to(21.0)
    return model


def whole_cycles(start_s: float, cycles: int = 10, per_cycle: int = 400) -> np.ndarray:
    return start_s + np.arange(cycles * per_cycle) / (50.0 * per_cycle)


def rms_phasor(t: np.ndarray, x: np.ndarray, order: int) -> complex:
    """The rms phasor of one order over whole cycles (angle against sin(2 pi 50 t))."""
    return complex(np.mean(x * np.exp(-2j * np.pi * 50.0 * order * t))) * 1j * math.sqrt(2.0)


WAVEFORM = Waveform(harmonics_a={3: Harmonic(rms_a=0.5), 5: Harmonic(rms_a=0.3, phase_deg=30.0)}, dc_offset_a=0.02,
                    displacement_deg=20.0)


@pytest.mark.parametrize("power_w", [6000.0, -6000.0])
def test_harmonics_dc_and_displacement_as_the_profile_states_them(compliant: DutProfile, power_w: float):
    profile = compliant.with_ac_port(waveform=WAVEFORM, operating_point=compliant.ac_port.operating_point.model_copy(
        update={"export_power_w": power_w}))
    model = connected(profile)
    t = whole_cycles(CONNECTED_AT + 0.5)
    wave = model.waveforms(t)
    exports = power_w > 0
    flow = -wave["current"] if exports else wave["current"]  # the current in the frame of the power flow
    voltage, fundamental = rms_phasor(t, wave["voltage"], 1), rms_phasor(t, flow, 1)
    lag = math.degrees(np.angle(voltage / fundamental))
    assert lag == pytest.approx(20.0, abs=1e-6)  # lagging, whichever way the power flows
    assert abs(fundamental) == pytest.approx(6000.0 / 230.0 / math.cos(math.radians(20.0)), rel=1e-9)
    assert -float(np.mean(wave["voltage"] * wave["current"])) * (1 if exports else -1) == pytest.approx(6000.0)
    third, fifth = rms_phasor(t, flow, 3), rms_phasor(t, flow, 5)
    assert abs(third) == pytest.approx(0.5, abs=1e-9) and abs(fifth) == pytest.approx(0.3, abs=1e-9)
    expected = math.radians(30.0) - 5 * math.radians(20.0)  # its own phase, on the displaced fundamental's scale
    assert np.angle(fifth) == pytest.approx(math.remainder(expected, 2 * math.pi), abs=1e-9)
    assert float(np.mean(flow)) == pytest.approx(0.02, abs=1e-12)


def test_a_charger_that_does_not_conduct_carries_nothing_at_all(compliant: DutProfile):
    model = connected(compliant.with_ac_port(waveform=WAVEFORM))
    before = model.waveforms(whole_cycles(5.0))["current"]  # the grid is on, the charger not yet connected
    assert not np.any(before)
    assert np.any(model.waveforms(whole_cycles(CONNECTED_AT + 0.1))["current"])


def test_the_compliant_profile_distorts_a_little_and_the_default_not_at_all(compliant: DutProfile):
    assert compliant.ac_port.waveform.distorts and compliant.ac_port.waveform.harmonics_a[3].rms_a == 0.5
    assert not Waveform().distorts


def profile_with(tmp_path: Path, waveform: str) -> Path:
    """compliant.yaml with its waveform section replaced by ``waveform`` (a block, or nothing)."""
    text = (DUTS / "compliant.yaml").read_text()
    start = text.index("  waveform:")  # in the AC port's section
    end = text.index("\n", text.index("displacement_deg:", start)) + 1
    path = tmp_path / "variant.yaml"
    path.write_text(text[:start] + textwrap.indent(waveform, "  ") + text[end:])
    return path


def test_amperes_alone_or_with_a_phase(tmp_path: Path):
    path = profile_with(tmp_path, "waveform:\n  harmonics_a: {3: 0.4, 7: {rms_a: 0.1, phase_deg: -45}}\n")
    loaded = load_dut_profile(path).ac_port.waveform
    assert loaded.harmonics_a == {3: Harmonic(rms_a=0.4), 7: Harmonic(rms_a=0.1, phase_deg=-45.0)}
    assert loaded.dc_offset_a == 0.0 and loaded.displacement_deg == 0.0
    assert not load_dut_profile(profile_with(tmp_path, "")).ac_port.waveform.distorts


@pytest.mark.parametrize(("block", "field", "message"), [
    ("waveform:\n  harmonics_a: {1: 0.4}\n", "ac_port.waveform.harmonics_a[1]", "whole number from 2 to 100"),
    ("waveform:\n  harmonics_a: {3: -0.4}\n", "ac_port.waveform.harmonics_a[3]", "greater than or equal to 0"),
    ("waveform:\n  displacement_deg: 90\n", "ac_port.waveform.displacement_deg", "less than 90"),
    ("waveform:\n  dc_offset: 0.1\n", "ac_port.waveform.dc_offset", "unknown key"),
])
def test_a_bad_waveform_is_refused_at_its_line(tmp_path: Path, block: str, field: str, message: str):
    path = profile_with(tmp_path, block)
    with pytest.raises(InputFileError) as caught:
        load_dut_profile(path)
    lines = path.read_text().splitlines()
    assert caught.value.field == field and message in caught.value.message
    assert caught.value.line == lines.index("  " + block.splitlines()[1]) + 1
