"""The DC bench file end to end: the rig opens the simulated battery emulator and digital I/O module like any
instrument (identity first, then set-up) and leaves them safe on the way out."""

from __future__ import annotations

from pathlib import Path

import pytest

from rig.config.bench_file import load_bench
from rig.run.bench_session import open_bench
from rig.core.roles import BatteryEmulator, DigitalIO
from rig.sim.charger.dut_profile import DutProfile
from rig.sim.simulated_lab import SIMULATED_INSTRUMENTS, SimulatedLab

DC_BENCH = Path(__file__).resolve().parents[2] / "fixtures" / "benches" / "sim.yaml"


def test_the_dc_bench_loads_with_its_dc_envelope() -> None:
    bench = load_bench(DC_BENCH)
    assert set(bench.instruments) == {"grid", "capture", "battery", "dio", "vehicle", "island_load", "csms", "dut_control",
                                      "analyzer"}
    assert (bench.instruments["battery"].driver, bench.instruments["dio"].driver) == ("keysight_rp7900", "modbus_dio")
    envelope = bench.envelope
    assert envelope.dc_voltage_v is not None and envelope.dc_voltage_v.max == 450.0
    assert envelope.dc_current_a is not None and envelope.dc_current_a.max == 40.0
    assert envelope.dc_power_w is not None and envelope.dc_power_w.max == 16000.0


def test_the_lab_serves_the_battery_over_scpi_and_the_module_over_modbus_tcp(compliant: DutProfile) -> None:
    assert {"keysight_rp7900", "modbus_dio"} <= set(SIMULATED_INSTRUMENTS)
    with SimulatedLab(compliant, seed=1) as lab:
        assert lab.serve("keysight_rp7900").startswith("TCPIP0::127.0.0.1::")
        resource = lab.serve("modbus_dio")
        assert resource.startswith("modbus-tcp://127.0.0.1:") and lab.serve("modbus_dio") == resource  # served once


def test_the_rig_opens_identifies_sets_up_and_leaves_the_dc_side_safe(compliant: DutProfile) -> None:
    bench = load_bench(DC_BENCH)
    with open_bench(bench, profile=compliant, seed=1) as opened:
        assert opened.sim is not None
        model = opened.sim.model
        identities = {identity.role: identity.idn for identity in opened.identities}
        assert identities["battery"].startswith("Keysight Technologies,RP7942A,")
        assert identities["dio"] == "Moxa,E1212,00:90:E8:00:00:01,V3.2.0"
        battery, dio = opened.instruments["battery"], opened.instruments["dio"]
        assert isinstance(battery, BatteryEmulator) and isinstance(dio, DigitalIO)
        assert model.dc_bus.source.watchdog_on  # armed in set-up: a killed rig ends safe
        battery.emulate(390.0, 0.05)
        battery.output(True)
        dio.set_output("proximity", True)
        dio.set_output("contactor", True)
        with opened.sim.lock:
            model.dc_bus.set_charger_current(model.now, 20.0)  # stand-in for the charger's DC port
        reading = battery.read()
        assert reading.current_a == pytest.approx(20.0, abs=0.01)
        assert reading.voltage_v == pytest.approx(391.0, abs=0.05)
    assert opened.safe_state_problems == []
    assert not model.dc_bus.source.output_on and not model.dc_bus.contactor_closed
    assert not any(model.connector.value(line) for line in ("proximity", "k", "contactor"))
    assert model.dc_bus.current_a() == 0.0
