"""The simulated charger's losses (rig/sim/charger/losses.py): its efficiency per direction and DC voltage, its
standby and idle-connected power, what it declares, and the AC power the grid side sees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from wire import DUTS

from rig.sim.charger.ac_port import ALIGNED_CLOCK
from rig.sim.charger.dut_profile import DutProfile, load_dut_profile
from rig.sim.charger.losses import Losses
from rig.sim.connector import Side
from rig.sim.instruments.dc_source import DcRatings
from rig.sim.model import LabModel

RATED_W = 7400.0


@pytest.fixture(scope="module")
def compliant() -> DutProfile:
    return load_dut_profile(DUTS / "compliant.yaml")


def profile(name: str) -> DutProfile:
    return load_dut_profile(DUTS / f"{name}.yaml")


# -- the model's figures --------------------------------------------------------------------------------------


@pytest.mark.parametrize("direction", ["charge", "discharge"])
def test_about_95_percent_at_rated_power_and_90_at_a_tenth_in_each_direction(compliant, direction) -> None:
    losses = compliant.losses
    for volts in (250.0, 350.0, 450.0):
        assert 0.935 <= losses.efficiency(direction, RATED_W, volts) <= 0.96
        assert 0.885 <= losses.efficiency(direction, 0.1 * RATED_W, volts) <= 0.915


@pytest.mark.parametrize("direction", ["charge", "discharge"])
def test_the_battery_voltage_shows_low_voltage_worst_at_full_load_high_voltage_worst_at_light_load(
        compliant, direction) -> None:
    losses = compliant.losses
    full = [losses.efficiency(direction, RATED_W, v) for v in (250.0, 350.0, 450.0)]
    light = [losses.efficiency(direction, 0.1 * RATED_W, v) for v in (250.0, 350.0, 450.0)]
    assert full[0] < full[1] < full[2] and full[2] - full[0] > 0.01
    assert light[0] > light[1] > light[2] and light[0] - light[2] > 0.01


def test_the_docstring_table_is_what_the_defaults_give() -> None:
    import rig.sim.charger.losses as module
    for line in Losses().efficiency_table(RATED_W).splitlines():
        assert line in module.__doc__


def test_compliant_yaml_states_the_defaults(compliant) -> None:
    assert compliant.losses == Losses()


def test_the_discharge_output_is_the_dc_input_less_the_losses(compliant) -> None:
    losses = compliant.losses
    dc = losses.dc_power_for_output("discharge", 5000.0, 380.0)
    assert dc - losses.discharge.losses_w(dc, 380.0) == pytest.approx(5000.0, abs=1e-6)


def test_the_ac_power_is_the_dc_power_and_the_losses(compliant) -> None:
    losses = compliant.losses
    charge = losses.charge
    assert losses.ac_power_into_w(7000.0, 350.0) == pytest.approx(
        7000.0 + 30.0 + 0.10 * 350.0 + 0.025 * 7000.0 + 0.25 * (20.0 ** 2))
    assert losses.ac_power_into_w(-7000.0, 350.0) == pytest.approx(
        -7000.0 + 25.0 + 0.09 * 350.0 + 0.028 * 7000.0 + 0.22 * (20.0 ** 2))
    assert losses.ac_power_into_w(0.0, 350.0) == losses.idle_connected_w == 11.0
    assert charge.losses_w(7000.0, 250.0) > charge.losses_w(7000.0, 350.0)  # more current


# -- declared values --------------------------------------------------------------------------------------------


def _gaps_pp(p: DutProfile) -> list[float]:
    """Declared less achieved, percentage points: rated charge, rated discharge, Euro charge, Euro discharge."""
    losses, d = p.losses, p.losses.declared
    return [100 * (d.charge_efficiency - losses.efficiency("charge", d.power_w, d.dc_voltage_v)),
            100 * (d.discharge_efficiency - losses.efficiency("discharge", d.power_w, d.dc_voltage_v)),
            100 * (d.charge_euro_efficiency - losses.euro_efficiency("charge", d.power_w, d.dc_voltage_v)),
            100 * (d.discharge_euro_efficiency - losses.euro_efficiency("discharge", d.power_w, d.dc_voltage_v))]


def test_the_compliant_charger_meets_every_declaration_with_margin(compliant) -> None:
    assert all(gap < -1.5 for gap in _gaps_pp(compliant))
    assert compliant.losses.standby_w < compliant.losses.declared.standby_w - 1.0
    assert compliant.losses.idle_connected_w < compliant.losses.declared.idle_connected_w - 1.0


@pytest.mark.parametrize(("name", "gap"), [("efficiency-1-5-below", 1.5), ("efficiency-0-3-below", 0.3)])
def test_the_overstated_chargers_fall_short_of_every_declaration_by_their_gap(name, gap) -> None:
    assert _gaps_pp(profile(name)) == pytest.approx([gap] * 4, abs=0.005)
    assert profile(name).losses.model_dump(exclude={"declared"}) == Losses().model_dump(exclude={"declared"})


def test_discharge_losses_high_misses_only_its_discharge_declarations() -> None:
    gaps = _gaps_pp(profile("discharge-losses-high"))
    assert gaps[0] < -1.5 and gaps[2] < -1.5
    assert gaps[1] > 1.0 and gaps[3] > 1.0


def test_standby_above_declared_draws_more_than_it_declares() -> None:
    p = profile("standby-above-declared")
    assert p.losses.standby_w > p.losses.declared.standby_w + 2.0


# -- the AC side of the lab ---------------------------------------------------------------------------------------


def _lab(p: DutProfile) -> LabModel:
    model = LabModel(p, seed=1, clock=ALIGNED_CLOCK)
    model.dc_bus.source.rate(DcRatings(500.0, 50.0, 1.0, 600.0))
    return model


def _supply(model: LabModel, t: float) -> None:
    model.grid.set_voltage(t, 230.0)
    model.grid.set_relay(t, True)
    model.grid.set_output(t, True)


@pytest.mark.parametrize(("amps", "volts"), [(20.0, 350.0), (-16.0, 380.0), (2.0, 250.0)])
def test_a_session_draws_the_dc_power_and_its_losses_or_feeds_the_rest(compliant, amps, volts) -> None:
    model = _lab(compliant)
    source, port = model.dc_bus.source, model.chademo.io
    source.set_battery(0.0, volts, 0.0)
    source.set_output(0.0, True)
    model.dc_bus.set_contactor(0.0, True)
    port.session(1.0, True)
    assert model.charger.session_power.at(1.0) == -compliant.losses.idle_connected_w  # plugged, nothing moves
    port.set_current(2.0, amps)
    dc_w = amps * volts
    expected = -compliant.losses.ac_power_into_w(dc_w, volts)
    assert model.charger.session_power.at(2.0) == pytest.approx(expected)
    if amps > 0:
        assert -expected == pytest.approx(dc_w + compliant.losses.charge.losses_w(dc_w, volts))
    else:
        assert expected == pytest.approx(-dc_w - compliant.losses.discharge.losses_w(dc_w, volts))
        assert expected > 0  # discharging exports
    port.session(3.0, False)
    assert model.charger.session_active.at(3.0) == 0.0


def test_limited_to_zero_it_draws_standby_then_idle_once_plugged_and_nothing_without_supply(compliant) -> None:
    model = _lab(compliant)
    charger = model.charger
    _supply(model, 0.0)
    assert charger.standby_draw.at(0.0) == 0.0
    charger.limit_export(1.0, 0.0)  # SunSpec WMaxLimPct = 0 %
    assert charger.standby_draw.at(1.0) == 6.0
    model.connector.drive(2.0, "proximity", True, by=Side.VEHICLE)
    assert charger.standby_draw.at(2.0) == 11.0
    model.connector.drive(3.0, "proximity", False, by=Side.VEHICLE)
    assert charger.standby_draw.at(3.0) == 6.0
    model.advance_to(40.0)  # long after the ramp to 0: what the grid sees is the standby power, drawn
    assert charger.export_power_w(np.array([40.0]))[0] == pytest.approx(-6.0, abs=1e-6)
    assert not charger.exports_at(np.array([40.0]))[0]
    energy_j, _ = charger.ac_integrals(40.0, 50.0)
    model.advance_to(50.0)
    assert energy_j == pytest.approx(60.0, abs=1e-5)
    model.grid.set_output(50.0, False)
    assert charger.standby_draw.at(50.0) == 0.0
    charger.limit_export(51.0, None)
    _supply(model, 52.0)
    assert charger.standby_draw.at(52.0) == 0.0  # released: the G99 arrangement exports its operating point


def test_a_profile_without_a_losses_section_takes_the_defaults(tmp_path: Path) -> None:
    text = (DUTS / "compliant.yaml").read_text()
    start = text.index("losses:")
    end = text.index("frequency_response:")
    path = tmp_path / "no-losses.yaml"
    path.write_text(text[:start] + text[end:])
    assert load_dut_profile(path).losses == Losses()
