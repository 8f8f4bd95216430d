"""The NH Research 9300 driver against its simulated module over TCP: what it sets is what the lab's DC bus does,
the module refuses what the driver must not send, its capture streams the bus, its watchdog trips in lab time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from drivers.battery.nhr_9300 import Nhr9300
from drivers.scpi import resource_manager
from rig.config.bench_file import load_bench
from rig.config.envelope import EnvelopeGuard
from rig.core.identity import check_identity
from rig.sim.connector import Side
from rig.sim.instruments.dc_source import WATCHDOG
from rig.sim.simulated_lab import SimulatedLab

BENCH = Path(__file__).resolve().parents[2] / "fixtures" / "benches" / "sim-nhr_9300.yaml"


@pytest.fixture
def guard() -> EnvelopeGuard:
    return EnvelopeGuard.from_bench(load_bench(BENCH))


def open_battery(lab: SimulatedLab, guard: EnvelopeGuard, **options) -> Nhr9300:
    return Nhr9300(lab.serve("nhr_9300"), name="battery", envelope=guard, options=options)


def charging(lab: SimulatedLab, battery: Nhr9300, amps: float) -> None:
    battery.setup()
    battery.emulate(380.0, 0.1)
    battery.output(True)
    with lab.lock:
        lab.model.connector.drive(lab.model.now, "contactor", True, by=Side.VEHICLE)
        lab.model.dc_bus.set_charger_current(lab.model.now, amps)


def test_identity_is_admitted_and_the_bus_follows_battery_mode(lab, guard) -> None:
    battery = open_battery(lab, guard)
    check_identity("battery", "sim", battery.identify(), Nhr9300.family)
    charging(lab, battery, 20.0)
    source = lab.model.dc_bus.source
    assert (source.open_circuit_v, source.resistance_ohm, source.charge_limit_a, source.output_on) == (380.0, 0.1, 40.0,
                                                                                                      True)
    reading = battery.read()
    assert reading.current_a == pytest.approx(20.0, abs=0.02)  # charging positive: CONF:CIN 0 was sent
    assert reading.voltage_v == pytest.approx(382.0, abs=0.1)
    battery.set_current_limits(10.0, 10.0)
    assert battery.current_a() == pytest.approx(10.0, abs=0.02)
    assert battery.faults() == []
    battery.safe_off()
    assert not source.output_on
    battery.close()


def test_the_module_refuses_what_the_driver_never_sends(lab) -> None:
    session = resource_manager().open_resource(lab.serve("nhr_9300"), read_termination="\n",
                                               write_termination="\n", timeout=2000)
    for command, error in (("OPER 4,15,380,40,1000,0.1", "-221"), ("OPER 2,3,380,40,0,0", "-221"),
                           ("OPER 4,11,700,40,0,0", "-222"), ("OPER 4,11,380", "-224"), ("FETC:CURR?", "-230")):
        session.write(command)  # refused: no reply, an error queued
        assert session.query("SYST:ERR?").startswith(error), command
    assert session.query("CONF:CIN?") == "1"  # the power-on sign: charging negative
    session.close()


def test_the_capture_streams_the_bus_one_sample_per_period_with_nothing_lost(lab, guard) -> None:
    battery = open_battery(lab, guard)
    charging(lab, battery, 20.0)
    battery.start_log(0.001, lambda: lab.now)
    lab.advance_to(lab.now + 0.25)
    first = battery.fetch_log()
    with lab.lock:
        lab.model.dc_bus.set_charger_current(lab.model.now, -15.0)
    lab.advance_to(lab.now + 0.25)
    second = battery.fetch_log()
    assert (first.first, len(first), second.first, len(second)) == (0, 250, 250, 250)
    assert np.allclose(first.current_a[:, 0], 20.0, atol=0.05) and np.allclose(second.current_a[:, 0], -15.0, atol=0.05)
    assert np.allclose(second.voltage_v[:, 0], 378.5, atol=0.2)  # within its gain and offset error
    assert (first.current_a[:, 0] == first.current_a[:, 2]).all()  # no extremes: the sample itself
    battery.stop_log()
    assert battery.read().current_a == pytest.approx(-15.0, abs=0.02)  # measurements again once it ended
    battery.close()


def test_the_watchdog_turns_the_module_off_in_lab_time_and_faults_say_so(lab, guard) -> None:
    battery = open_battery(lab, guard, watchdog_s=5)
    charging(lab, battery, 20.0)
    t_last = lab.now
    lab.advance_to(t_last + 30.0)
    source = lab.model.dc_bus.source
    assert (source.fault, source.fault_s) == (WATCHDOG, pytest.approx(t_last + 5.0))
    found = battery.faults()
    assert len(found) == 1 and found[0].startswith("OFF (the module switched its output off by itself")
    battery.safe_off()
    assert battery.faults() == []
    battery.output(True)  # the next case starts clean
    assert lab.model.dc_bus.current_a() == 20.0
    battery.close()
