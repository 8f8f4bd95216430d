"""The SunSpec DER driver (the bench's dut_control) over Modbus TCP: against protocol doubles (a register bank that
records every request, served by the simulated lab's Modbus server) and against the simulated charger.

Discovery finds the marker at 40000, 0 or 50000 and walks the model chain; identity is model 1's; the limit is
WMaxLimPct with the model's scale factor of WMax (model 121) or WRtg (model 120), written with its timers and
WMaxLim_Ena in one request; a setpoint outside 0..100 % or above the envelope is refused before any I/O; an
external setpoint is model 124's rates (the direction left keeps its rate) then StorCtl_Mod; a peer
that is not a SunSpec DER gets nothing but discovery reads and a refusal naming role, address and what answered.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from pymodbus.constants import ExcCodes
from pymodbus.simulator import SimData
from pymodbus.simulator.simutils import DataType

from drivers import DRIVERS, driver_class
from drivers.dut.sunspec_der import SunSpecDer
from rig.config.bench_file import Envelope
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import EnvelopeError, IdentityError, InstrumentError
from rig.core.identity import check_identity
from rig.core.roles import DutPowerControl
from rig.sim.simulated_lab import SimulatedLab
from rig.sim.wire.modbus_server import ModbusServer
from rig.protocols.sunspec import END_ID, MARKER, Common, Controls, Nameplate, Settings, Storage, encode_string, unsigned

READ, WRITE_ONE, WRITE_MANY = 3, 6, 16


def model(point_values: dict[int, int], model_id: int, length: int) -> list[int]:
    words = [model_id, length] + [0] * length
    for offset, value in point_values.items():
        words[offset] = value
    return words


def common(mn: str = "Example Power", md: str = "V2G-11", sn: str = "SN123", vr: str = "2.4.1") -> list[int]:
    words = model({}, Common.ID, Common.LENGTH)
    for point, text in ((Common.Mn, mn), (Common.Md, md), (Common.SN, sn), (Common.Vr, vr)):
        words[point.offset:point.offset + point.size] = encode_string(text, point.size)
    return words


def nameplate(wrtg: int = 1100, sf: int = 1) -> list[int]:
    return model({Nameplate.WRtg.offset: wrtg, Nameplate.WRtg_SF.offset: unsigned(sf)}, Nameplate.ID, Nameplate.LENGTH)


def settings(wmax: int = 1000, sf: int = 1) -> list[int]:
    return model({Settings.WMax.offset: wmax, Settings.WMax_SF.offset: unsigned(sf)}, Settings.ID, Settings.LENGTH)


def controls(percent_sf: int = -2) -> list[int]:
    return model({Controls.Conn.offset: 1, Controls.WMaxLimPct.offset: 10000,
                  Controls.WMaxLimPct_SF.offset: unsigned(percent_sf)}, Controls.ID, Controls.LENGTH)


def storage(wchamax: int = 740, sf: int = 1, rate_sf: int = -1) -> list[int]:
    return model({Storage.WChaMax.offset: wchamax, Storage.WChaMax_SF.offset: unsigned(sf),
                  Storage.InOutWRte_SF.offset: unsigned(rate_sf)}, Storage.ID, Storage.LENGTH)


def sunspec(*models: list[int]) -> list[int]:
    return [*MARKER, *[w for m in models for w in m], END_ID, 0]


@dataclass
class RegisterBank:
    """A protocol double: holding registers from ``base``, every request recorded as (function, address, count or
    values); writes land as written."""

    base: int
    words: list[int]
    requests: list[tuple[int, int, int | list[int]]] = field(default_factory=list)

    def simdata(self) -> list[SimData]:
        return [SimData(self.base, count=len(self.words), values=0, datatype=DataType.REGISTERS)]

    def request(self, function_code: int, address: int, values: list[int] | list[bool] | None) -> list[int] | ExcCodes:
        first = address - self.base
        self.requests.append((function_code, address, [int(v) for v in values] if values is not None else -1))
        if values is not None:
            self.words[first:first + len(values)] = [int(v) for v in values]
        return list(self.words)

    def writes(self) -> list[tuple[int, int, int | list[int]]]:
        return [r for r in self.requests if isinstance(r[2], list)]


IDENTITY = {"VendorName": "v2g-rig tests", "ProductCode": "register bank", "MajorMinorRevision": "1.0"}
"""The bank's Read Device Identification objects (the SunSpec driver identifies by model 1 instead)."""


@pytest.fixture
def serve() -> Iterator:
    servers: list[ModbusServer] = []

    def started(bank: RegisterBank) -> str:
        server = ModbusServer(bank, threading.RLock(), lambda: None, identity=IDENTITY).start()
        servers.append(server)
        return server.resource

    yield started
    for server in servers:
        server.stop()


def opened(resource: str, **options) -> SunSpecDer:
    return SunSpecDer(resource, name="dut_control", options=options)


def test_the_driver_is_registered_and_fulfils_the_role(serve) -> None:
    assert DRIVERS["sunspec_der"] and driver_class("sunspec_der") is SunSpecDer
    driver = opened(serve(RegisterBank(40000, sunspec(common(), nameplate(), controls()))))
    assert isinstance(driver, DutPowerControl)
    driver.close()


@pytest.mark.parametrize("base", [40000, 0, 50000])
def test_discovery_finds_the_marker_at_any_standard_base_and_identifies_by_model_1(serve, base) -> None:
    bank = RegisterBank(base, sunspec(common(), nameplate(), controls()))
    driver = opened(serve(bank))
    answer = driver.identify()
    assert answer == "Example Power,V2G-11,SN123,2.4.1"
    idn = check_identity("dut_control", driver.resource, answer, SunSpecDer.family)
    assert (idn.manufacturer, idn.model, idn.serial, idn.firmware) == ("Example Power", "V2G-11", "SN123", "2.4.1")
    assert bank.writes() == []
    driver.close()


def test_wmax_of_model_121_is_the_base_of_the_percent_and_the_scale_factor_is_the_models(serve) -> None:
    bank = RegisterBank(40000, sunspec(common(), nameplate(1100, 1), settings(1000, 1), controls(-2)))
    driver = opened(serve(bank))
    driver.identify()
    driver.setup()
    assert driver.rated_power_w() == 10000.0  # WMax 1000 x 10^1, not WRtg's 11000
    controls_at = 40002 + (2 + Common.LENGTH) + (2 + Nameplate.LENGTH) + (2 + Settings.LENGTH)
    assert bank.writes() == [(WRITE_ONE, controls_at + Controls.WMaxLim_Ena.offset, [0])]  # set-up releases
    driver.limit_export(5000.0)
    assert bank.writes()[-1] == (WRITE_MANY, controls_at + Controls.WMaxLimPct.offset, [5000, 0, 0, 0, 1])  # 50.00 %
    assert driver.export_limit_w() == 5000.0 and driver.faults() == []
    driver.release()
    assert bank.writes()[-1] == (WRITE_ONE, controls_at + Controls.WMaxLim_Ena.offset, [0])
    assert driver.export_limit_w() is None
    driver.close()


def test_wrtg_of_model_120_is_the_base_without_model_121(serve) -> None:
    driver = opened(serve(RegisterBank(40000, sunspec(common(), nameplate(7400, 0), controls(-1)))))
    driver.identify()
    driver.setup()
    assert driver.rated_power_w() == 7400.0
    driver.limit_export(3700.0)
    assert driver.export_limit_w() == pytest.approx(3700.0)
    driver.close()


@pytest.mark.parametrize(("words", "shown"), [
    ([0x1234, 0x5678] + [0] * 10, "no SunSpec marker"),                      # another device's registers
    (sunspec(common(), nameplate()), "without model 123"),                   # a SunSpec device it cannot control
    (sunspec(nameplate(), common(), controls()), "model 1 (common) is not the first"),
])
def test_a_peer_that_is_not_a_sunspec_der_gets_only_discovery_reads_and_is_named(serve, words, shown) -> None:
    bank = RegisterBank(40000, words)
    driver = opened(serve(bank))
    with pytest.raises(IdentityError) as caught:
        check_identity("dut_control", driver.resource, driver.identify(), SunSpecDer.family)
    driver.close()
    assert bank.writes() == []
    assert shown in caught.value.received and "SunSpec DER" in caught.value.expected
    assert "dut_control" in str(caught.value) and driver.resource in str(caught.value)


def test_a_modbus_device_without_holding_registers_is_refused_naming_what_it_answered(lab: SimulatedLab) -> None:
    driver = opened(lab.serve("modbus_dio"))  # the E1212: no holding registers at any SunSpec base
    with pytest.raises(IdentityError) as caught:
        check_identity("dut_control", driver.resource, driver.identify(), SunSpecDer.family)
    driver.close()
    assert "40000: Modbus exception 2" in caught.value.received and "50000" in caught.value.received


def limited(serve, guard: EnvelopeGuard | None = None) -> tuple[SunSpecDer, RegisterBank]:
    bank = RegisterBank(40000, sunspec(common(), nameplate(7400, 0), controls(-1)))
    driver = SunSpecDer(serve(bank), name="dut_control", envelope=guard)
    driver.identify()
    driver.setup()
    return driver, bank


@pytest.mark.parametrize("power_w", [-1.0, 7400.5, math.nan, math.inf])
def test_a_setpoint_outside_0_to_100_percent_is_refused_before_any_io(serve, power_w) -> None:
    driver, bank = limited(serve)
    before = list(bank.requests)
    with pytest.raises(InstrumentError, match="outside 0..100 %.*nothing was sent"):
        driver.limit_export(power_w)
    assert bank.requests == before
    driver.close()


def test_a_setpoint_above_the_bench_envelope_is_refused_before_any_io(serve) -> None:
    guard = EnvelopeGuard(Envelope.model_validate({"ac_voltage_v": {"max": 300.0}, "ac_frequency_hz": {"max": 65.0},
                                               "ac_power_w": {"max": 5000.0}}), "bench.yaml")
    driver, bank = limited(serve, guard)
    before = list(bank.requests)
    with pytest.raises(EnvelopeError, match="export limit 5500.0 W exceeds the bench envelope ac_power_w max 5000"):
        driver.limit_export(5500.0)
    assert bank.requests == before
    driver.limit_export(5000.0)
    driver.close()


def test_faults_report_a_limit_that_does_not_read_back_as_commanded(serve) -> None:
    driver, bank = limited(serve)
    driver.limit_export(3700.0)
    bank.words[bank.words.index(Controls.ID) + Controls.WMaxLim_Ena.offset] = 0  # a revert timer, another master
    assert driver.faults() == ["export limit reads none, commanded 3700 W"]
    driver.safe_off()
    assert driver.faults() == []
    driver.close()


def test_safe_off_before_identification_sends_nothing(serve) -> None:
    bank = RegisterBank(40000, sunspec(common(), nameplate(), controls()))
    driver = opened(serve(bank))
    driver.safe_off()
    assert bank.requests == []
    driver.close()


def test_the_simulated_charger_answers_as_its_profile_and_takes_a_limit(lab: SimulatedLab) -> None:
    driver = opened(lab.serve("sunspec_der"))
    assert driver.identify() == "v2g-rig simulated lab,SIM-V2G-7K4,SIM-0001,1.0.0"
    driver.setup()
    driver.limit_export(4292.0)
    assert driver.export_limit_w() == pytest.approx(4292.0, abs=0.75)  # tenths of a percent of 7400 W
    assert lab.model.charger.export_setpoint.limit_w == pytest.approx(4292.0, abs=0.75)
    driver.safe_off()
    assert lab.model.charger.export_setpoint.limit_w is None
    driver.close()


@pytest.mark.parametrize(("options", "match"), [({"unit": 300}, "unit: .*less than or equal to 247"),
                                                ({"base": 30000}, "base: 30000 is not one of SunSpec's bases"),
                                                ({"baud": 9600}, "baud: unknown option"), ({"timeout_s": 0}, "timeout_s")])
def test_unusable_options_are_refused_before_connecting(options, match) -> None:
    with pytest.raises(InstrumentError, match=f"unusable options: .*{match}"):
        SunSpecDer("modbus-tcp://127.0.0.1:1", name="dut_control", options=options)


def test_an_external_setpoint_is_the_rate_of_its_direction_then_storctl_mod_and_clearing_it_is_storctl_mod_0(
        serve) -> None:
    bank = RegisterBank(40000, sunspec(common(), nameplate(), controls(), storage()))
    driver = opened(serve(bank))
    driver.identify()
    driver.setup()
    at = bank.words.index(Storage.ID) + 40000
    rates, mode = at + Storage.OutWRte.offset, at + Storage.StorCtl_Mod.offset
    del bank.requests[:]
    driver.external_setpoint(-3000.0)
    driver.external_setpoint(2000.0)
    driver.external_setpoint(None)
    assert bank.writes() == [(WRITE_MANY, rates, [405, 0, 0, 0, 0]), (WRITE_ONE, mode, [Storage.DISCHARGE]),
                             (WRITE_MANY, rates, [405, 270, 0, 0, 0]), (WRITE_ONE, mode, [Storage.CHARGE]),
                             (WRITE_ONE, mode, [0])]
    driver.close()


@pytest.mark.parametrize("power_w", [-7500.0, 7400.5, math.nan])
def test_an_external_setpoint_beyond_wchamax_is_refused_before_any_io(serve, power_w) -> None:
    bank = RegisterBank(40000, sunspec(common(), nameplate(), controls(), storage()))
    driver = opened(serve(bank))
    driver.identify()
    driver.setup()
    before = list(bank.requests)
    with pytest.raises(InstrumentError, match="beyond the charger's WChaMax.*nothing was sent"):
        driver.external_setpoint(power_w)
    assert bank.requests == before
    driver.close()


def test_a_charger_without_model_124_cannot_take_an_external_setpoint_and_nothing_is_sent(serve) -> None:
    bank = RegisterBank(40000, sunspec(common(), nameplate(), controls()))
    driver = opened(serve(bank))
    driver.identify()
    driver.setup()
    before = list(bank.requests)
    with pytest.raises(InstrumentError, match="no usable SunSpec model 124"):
        driver.external_setpoint(-1000.0)
    assert bank.requests == before
    driver.safe_off()  # releases the limit only
    driver.close()


def test_the_simulated_charger_takes_an_external_setpoint_and_safe_off_clears_it(lab: SimulatedLab) -> None:
    driver = opened(lab.serve("sunspec_der"))
    driver.identify()
    driver.setup()
    driver.external_setpoint(-2500.0)
    assert lab.model.charger.external_setpoint_w == pytest.approx(-2500.0, abs=3.7)  # tenths of a percent
    driver.safe_off()
    assert lab.model.charger.external_setpoint_w is None
    driver.close()
