"""The simulated charger's SunSpec interface over Modbus TCP: its register map (marker, models 1, 120, 123, 124,
end), its identity from the DUT profile, and a WMaxLimPct written with WMaxLim_Ena reaching the charger's export
through its first-order ramp (the profile's power_control.time_constant_s); a charger never limited exports as
before. Model 124's StorCtl_Mod with InWRte or OutWRte is the external setpoint its OCPP 2.1 station follows."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
from pymodbus.client import ModbusTcpClient
from wire import DUTS

from rig.sim.charger.dut_profile import DutProfile, load_dut_profile
from rig.sim.simulated_lab import SimulatedLab
from rig.protocols.sunspec import END_ID, MARKER, Common, Controls, Nameplate, Storage, decode_string, signed

BASE = 40000
COMMON_AT = BASE + 2
NAMEPLATE_AT = COMMON_AT + 2 + Common.LENGTH
CONTROLS_AT = NAMEPLATE_AT + 2 + Nameplate.LENGTH
STORAGE_AT = CONTROLS_AT + 2 + Controls.LENGTH
END_AT = STORAGE_AT + 2 + Storage.LENGTH


def client_of(lab: SimulatedLab) -> ModbusTcpClient:
    client = ModbusTcpClient("127.0.0.1", port=int(lab.serve("sunspec_der").rsplit(":", 1)[1]))
    assert client.connect()
    return client


@pytest.fixture
def served(compliant: DutProfile) -> Iterator[tuple[SimulatedLab, ModbusTcpClient]]:
    lab = SimulatedLab(compliant, seed=3)
    client = client_of(lab)
    yield lab, client
    client.close()
    lab.close()


def read(client: ModbusTcpClient, address: int, count: int) -> list[int]:
    response = client.read_holding_registers(address, count=count)
    assert not response.isError(), response
    return list(response.registers)


def test_the_map_is_the_marker_then_models_1_120_123_124_and_the_end(served) -> None:
    _, client = served
    assert tuple(read(client, BASE, 2)) == MARKER
    assert read(client, COMMON_AT, 2) == [1, 66]
    assert read(client, NAMEPLATE_AT, 2) == [120, 26]
    assert read(client, CONTROLS_AT, 2) == [123, 24]
    assert read(client, STORAGE_AT, 2) == [124, 24]
    assert read(client, END_AT, 2) == [END_ID, 0]
    assert client.read_holding_registers(END_AT + 2, count=1).isError()  # nothing beyond the end model
    assert client.read_holding_registers(0, count=2).isError() and client.read_holding_registers(50000, count=2).isError()


def test_model_1_is_the_profiles_identity_and_model_120_its_rating(served, compliant: DutProfile) -> None:
    _, client = served
    common = read(client, COMMON_AT, 2 + Common.LENGTH)
    text = {name: decode_string(common[p.offset:p.offset + p.size]) for name, p in
            (("Mn", Common.Mn), ("Md", Common.Md), ("SN", Common.SN), ("Vr", Common.Vr))}
    identity = compliant.identity
    assert text == {"Mn": identity.manufacturer, "Md": identity.model, "SN": identity.serial, "Vr": identity.firmware}
    nameplate = read(client, NAMEPLATE_AT, 2 + Nameplate.LENGTH)
    wrtg = nameplate[Nameplate.WRtg.offset] * 10.0 ** signed(nameplate[Nameplate.WRtg_SF.offset])
    assert wrtg == compliant.ac_port.rating.power_w


def test_identity_follows_another_profile(compliant: DutProfile) -> None:
    other = compliant.model_copy(update={"identity": compliant.identity.model_copy(
        update={"manufacturer": "Example Chargers Ltd", "serial": "EX-42"})})
    lab = SimulatedLab(other, seed=3)
    client = client_of(lab)
    try:
        common = read(client, COMMON_AT, 2 + Common.LENGTH)
        assert decode_string(common[Common.Mn.offset:Common.Mn.offset + 16]) == "Example Chargers Ltd"
        assert decode_string(common[Common.SN.offset:Common.SN.offset + 16]) == "EX-42"
    finally:
        client.close()
        lab.close()


def energised(lab: SimulatedLab, until_s: float) -> None:
    """230 V 50 Hz at the terminals from 0 (the charger connects at about 20 s), advanced to ``until_s``."""
    with lab.lock:
        lab.model.grid.set_voltage(0.0, 230.0)
        lab.model.grid.set_relay(0.0, True)
        lab.model.grid.set_output(0.0, True)
    lab.advance_to(until_s)


def exported(lab: SimulatedLab, t: float) -> float:
    with lab.lock:
        return float(lab.model.charger.export_power_w(np.array([t]))[0])


def test_a_limit_reaches_the_export_through_the_profiles_time_constant(served, compliant: DutProfile) -> None:
    lab, client = served
    energised(lab, 30.0)
    assert exported(lab, 30.0) == compliant.ac_port.operating_point.export_power_w
    sf = signed(read(client, CONTROLS_AT + Controls.WMaxLimPct_SF.offset, 1)[0])
    raw = round(50.0 / 10.0 ** sf)  # 50 % of WRtg: 3700 W
    assert not client.write_registers(CONTROLS_AT + Controls.WMaxLimPct.offset, [raw, 0, 0, 0, 1]).isError()
    tau = compliant.power_control.time_constant_s
    for dt in (0.0, tau, 3 * tau):
        expected = 3700.0 + (6000.0 - 3700.0) * math.exp(-dt / tau)
        assert exported(lab, 30.0 + dt) == pytest.approx(expected, rel=1e-9)
    lab.advance_to(40.0)
    assert not client.write_register(CONTROLS_AT + Controls.WMaxLim_Ena.offset, 0).isError()  # released
    assert exported(lab, 40.0 + tau) == pytest.approx(6000.0 - (6000.0 - 3700.0) * math.exp(-1.0), abs=0.5)
    assert exported(lab, 40.0 + 40 * tau) == pytest.approx(6000.0)


def test_a_limit_above_the_operating_point_leaves_it_and_the_time_constant_is_a_profile_field(compliant) -> None:
    fast = compliant.model_copy(update={"power_control": compliant.power_control.model_copy(
        update={"time_constant_s": 0.0})})
    lab = SimulatedLab(fast, seed=3)
    client = client_of(lab)
    try:
        energised(lab, 30.0)
        client.write_registers(CONTROLS_AT + Controls.WMaxLimPct.offset, [900, 0, 0, 0, 1])  # 90 %: 6660 W
        assert exported(lab, 30.0) == 6000.0
        client.write_registers(CONTROLS_AT + Controls.WMaxLimPct.offset, [250, 0, 0, 0, 1])  # 25 %: at once
        assert exported(lab, 30.0) == pytest.approx(1850.0)
    finally:
        client.close()
        lab.close()


def test_the_default_time_constant_is_documented_and_the_compliant_profile_uses_it() -> None:
    assert load_dut_profile(DUTS / "compliant.yaml").power_control.time_constant_s == 1.0
    assert "power_control.time_constant_s" in (DUTS / "README.md").read_text()


@pytest.mark.parametrize(("address", "values", "code"), [
    (CONTROLS_AT + Controls.WMaxLimPct.offset, [1001, 0, 0, 0, 1], 3),   # 100.1 %
    (CONTROLS_AT + Controls.WMaxLimPct.offset, [500, 0, 30, 0, 1], 3),   # a revert timeout: not modelled
    (CONTROLS_AT + Controls.WMaxLimPct.offset, [500, 0, 0, 0, 2], 3),    # an enable that is not 0/1
    (CONTROLS_AT + Controls.Conn.offset, [0], 2),                         # Conn: not offered
    (COMMON_AT + Common.Mn.offset, [0x4141], 2),                          # identity is read-only
    (STORAGE_AT + Storage.WChaMax.offset, [100], 2),                      # its rating: read-only here
    (STORAGE_AT + Storage.StorCtl_Mod.offset, [0, 0, 0], 2),              # spans points it does not offer
    (STORAGE_AT + Storage.StorCtl_Mod.offset, [3], 3),                    # charge and discharge at once
    (STORAGE_AT + Storage.OutWRte.offset, [1001, 0, 0, 0, 0], 3),         # 100.1 %
    (STORAGE_AT + Storage.OutWRte.offset, [0xFFF6, 0, 0, 0, 0], 3),       # a negative rate
    (STORAGE_AT + Storage.OutWRte.offset, [500, 0, 0, 10, 0], 3),         # a revert timeout: not modelled
])
def test_writes_it_does_not_model_are_refused_and_change_nothing(served, address, values, code) -> None:
    lab, client = served
    response = client.write_registers(address, values)
    assert response.isError() and response.exception_code == code
    assert lab.model.charger.export_setpoint.limit_w is None and not lab.model.charger.export_setpoint.commanded
    assert lab.model.charger.external_setpoint_w is None


def test_storage_controls_give_the_external_setpoint_in_tenths_of_a_percent_of_wchamax(served) -> None:
    lab, client = served
    storage = read(client, STORAGE_AT, 2 + Storage.LENGTH)
    rated_w = storage[Storage.WChaMax.offset] * 10.0 ** signed(storage[Storage.WChaMax_SF.offset])
    assert signed(storage[Storage.InOutWRte_SF.offset]) == -1 and rated_w == 7400.0
    assert not client.write_registers(STORAGE_AT + Storage.OutWRte.offset, [405, 270, 0, 0, 0]).isError()
    assert lab.model.charger.external_setpoint_w is None  # StorCtl_Mod 0: no setpoint yet
    assert not client.write_register(STORAGE_AT + Storage.StorCtl_Mod.offset, Storage.DISCHARGE).isError()
    assert lab.model.charger.external_setpoint_w == pytest.approx(-0.405 * 7400.0)
    assert not client.write_register(STORAGE_AT + Storage.StorCtl_Mod.offset, Storage.CHARGE).isError()
    assert lab.model.charger.external_setpoint_w == pytest.approx(0.27 * 7400.0)
    assert not client.write_register(STORAGE_AT + Storage.StorCtl_Mod.offset, 0).isError()
    assert lab.model.charger.external_setpoint_w is None
