"""The Keysight RP7900 driver against the simulated battery emulator over TCP: what it sets is what the lab's
DC bus does, the instrument refuses what the real one refuses, and its watchdog trips in lab time.

A test-only stand-in for the charger's DC port drives the bus current (``charger_drives``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.battery.keysight_rp7900 import KeysightRP7900
from drivers.scpi import resource_manager
from rig.config.bench_file import load_bench
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import EnvelopeBreach, InstrumentError
from rig.core.identity import check_identity
from rig.sim.connector import Side
from rig.sim.instruments.dc_source import OVER_VOLTAGE, UNDER_VOLTAGE, WATCHDOG
from rig.sim.simulated_lab import SimulatedLab

ROOT = Path(__file__).resolve().parents[2]
DC_BENCH = ROOT / "fixtures" / "benches" / "sim.yaml"


@pytest.fixture
def guard() -> EnvelopeGuard:
    return EnvelopeGuard.from_bench(load_bench(DC_BENCH))


def open_battery(lab: SimulatedLab, guard: EnvelopeGuard | None, **options) -> KeysightRP7900:
    return KeysightRP7900(lab.serve("keysight_rp7900"), name="battery", envelope=guard, options=options)


@pytest.fixture
def battery(lab: SimulatedLab, guard: EnvelopeGuard) -> Iterator[KeysightRP7900]:
    driver = open_battery(lab, guard, watchdog_s=60)
    yield driver
    driver.close()


@pytest.fixture
def raw(lab: SimulatedLab):
    """A second session to the same instrument, as another program on the bench would open."""
    session = resource_manager().open_resource(lab.serve("keysight_rp7900"), read_termination="\n",
                                               write_termination="\n", timeout=2000)
    yield session
    session.close()


def charger_drives(lab: SimulatedLab, amps: float) -> None:
    """Stand-in for the charger's DC port: it drives ``amps`` into the battery from the lab's present time."""
    with lab.lock:
        lab.model.dc_bus.set_charger_current(lab.model.now, amps)


def connected(lab: SimulatedLab) -> None:
    """The vehicle contactor closes (as the rig's digital I/O would close it)."""
    with lab.lock:
        lab.model.connector.drive(lab.model.now, "contactor", True, by=Side.VEHICLE)


def charging_battery(battery: KeysightRP7900, lab: SimulatedLab) -> None:
    battery.setup()
    battery.emulate(380.0, 0.1)
    battery.set_current_limits(charge_a=30.0, discharge_a=20.0)
    battery.output(True)
    connected(lab)


def test_the_simulated_unit_answers_like_a_member_of_the_family(battery: KeysightRP7900) -> None:
    check_identity("battery", battery.resource, battery.identify(), KeysightRP7900.family)


def test_setup_leaves_the_source_off_in_voltage_priority_with_the_envelopes_protection(battery, lab) -> None:
    battery.setup()
    source = lab.model.dc_bus.source
    assert not source.output_on and source.fault is None
    assert (source.charge_limit_a, source.discharge_limit_a, source.ovp_v) == (40.0, 40.0, 450.0)
    assert source.watchdog_on and source.watchdog_delay_s == 60.0
    assert battery.faults() == []


@pytest.mark.parametrize(("demand", "current", "voltage"), [(25.0, 25.0, 382.5), (-15.0, -15.0, 378.5),
                                                           (45.0, 30.0, 383.0), (-35.0, -20.0, 378.0)])
def test_measurements_follow_the_model_in_both_directions_and_at_the_limits(battery, lab, demand, current,
                                                                            voltage) -> None:
    charging_battery(battery, lab)
    charger_drives(lab, demand)
    reading = battery.read()
    assert reading.current_a == pytest.approx(current, abs=0.01)
    assert reading.voltage_v == pytest.approx(voltage, abs=0.05)
    assert lab.model.dc_bus.inlet_voltage_v() == pytest.approx(voltage)


def test_the_status_register_shows_which_current_limit_holds(battery, lab, raw) -> None:
    charging_battery(battery, lab)
    charger_drives(lab, 45.0)
    assert raw.query("STAT:QUES:COND?") == "+256"  # LIM-: sinking at the charge limit
    charger_drives(lab, -35.0)
    assert raw.query("STAT:QUES:COND?") == "+128"  # LIM+: sourcing at the discharge limit
    assert battery.faults() == []  # a limit is a state, not a trip


def test_output_off_and_an_open_contactor_give_no_current(battery, lab) -> None:
    charging_battery(battery, lab)
    charger_drives(lab, 25.0)
    battery.output(False)
    assert battery.current_a() == pytest.approx(0.0, abs=0.01) and battery.voltage_v() == pytest.approx(0.0, abs=0.05)
    battery.output(True)
    with lab.lock:
        lab.model.connector.drive(lab.model.now, "contactor", False, by=Side.VEHICLE)
    assert battery.current_a() == pytest.approx(0.0, abs=0.01)
    assert battery.voltage_v() == pytest.approx(380.0, abs=0.05)  # its terminals, behind the open contactor


def test_the_instrument_refuses_limits_beyond_its_range(lab) -> None:
    # A driver told the unit can do 80 A (wrong options, no envelope): the instrument itself refuses.
    battery = open_battery(lab, None, max_current_a=80.0)
    with pytest.raises(InstrumentError, match=r"CURR:LIM 60.*-222"):
        battery.set_current_limits(charge_a=10.0, discharge_a=60.0)
    with pytest.raises(InstrumentError, match=r"CURR:LIM:NEG -60.*-222"):
        battery.set_current_limits(charge_a=60.0, discharge_a=10.0)
    battery.close()


def test_the_sink_limit_is_a_negative_number_and_a_positive_one_is_refused(raw, lab) -> None:
    assert raw.query("CURR:LIM:COUP OFF\nSYST:ERR?") == '0,"No error"'
    assert raw.query("CURR:LIM:NEG -12.5\nSYST:ERR?") == '0,"No error"'
    assert lab.model.dc_bus.source.charge_limit_a == 12.5
    assert raw.query("CURR:LIM:NEG 12.5\nSYST:ERR?").startswith("-222")
    assert raw.query("CURR:LIM:NEG? MIN") == "-5.000000E+01"


def test_while_the_limits_are_coupled_the_sink_limit_follows_and_cannot_be_set_apart(raw, lab) -> None:
    source = lab.model.dc_bus.source
    assert raw.query("CURR:LIM:COUP?") == "1"  # at power-on
    assert raw.query("CURR:LIM 20\nSYST:ERR?") == '0,"No error"'
    assert (source.charge_limit_a, source.discharge_limit_a) == (20.0, 20.0)
    assert raw.query("CURR:LIM:NEG -30\nSYST:ERR?").startswith("-221")  # what set-up sent before it uncoupled
    assert source.charge_limit_a == 20.0
    raw.query("CURR:LIM:COUP OFF\nSYST:ERR?")
    raw.query("CURR:LIM 10\nSYST:ERR?")
    assert (source.charge_limit_a, source.discharge_limit_a) == (20.0, 10.0)  # kept apart from now on
    raw.query("FUNC CURR\nSYST:ERR?")
    raw.query("FUNC VOLT\nSYST:ERR?")
    assert raw.query("CURR:LIM:COUP?") == "1"  # a priority change returns it to its reset value


def test_setup_uncouples_the_limits_so_the_charge_limit_is_its_own(battery, lab, raw) -> None:
    battery.setup()
    assert raw.query("CURR:LIM:COUP?") == "0"
    battery.set_current_limits(charge_a=30.0, discharge_a=12.5)
    source = lab.model.dc_bus.source
    assert (source.charge_limit_a, source.discharge_limit_a) == (30.0, 12.5)
    assert raw.query("CURR:LIM:NEG?") == "-3.000000E+01"


def test_changing_the_priority_resets_the_output_settings_so_setup_sends_it_first(raw, lab) -> None:
    for command in ("CURR:LIM 5", "FUNC CURR"):
        raw.query(f"{command}\nSYST:ERR?")
    assert raw.query("OUTP ON\nSYST:ERR?").startswith("-221")  # current priority is not simulated
    raw.query("FUNC VOLT\nSYST:ERR?")
    assert raw.query("CURR:LIM?") == "+5.000000E+01"  # the 5 A limit did not survive the change


def test_the_watchdog_latches_the_output_off_when_no_message_arrives_for_its_delay(lab, guard) -> None:
    battery = open_battery(lab, guard, watchdog_s=5)
    charging_battery(battery, lab)
    charger_drives(lab, 20.0)
    t_last = lab.now
    lab.advance_to(t_last + 4.9)
    assert lab.model.dc_bus.current_a() == 20.0
    assert battery.current_a() == pytest.approx(20.0, abs=0.01)  # any message holds it off: 5 s from here
    t_last = lab.now
    lab.advance_to(t_last + 30.0)
    source = lab.model.dc_bus.source
    assert (source.fault, source.fault_s) == (WATCHDOG, pytest.approx(t_last + 5.0))
    assert lab.model.dc_bus.current.at(t_last + 4.999) == 20.0 and lab.model.dc_bus.current.at(t_last + 5.0) == 0.0
    found = battery.faults()
    assert len(found) == 1 and found[0].startswith("PROT (I/O watchdog")
    battery.safe_off()
    assert not source.output_on and source.fault is None  # off first, then cleared: it stays off
    assert battery.faults() == []
    battery.output(True)  # the next case starts clean
    assert lab.model.dc_bus.current_a() == 20.0
    battery.close()


def test_clearing_a_latch_without_turning_the_output_off_gives_the_output_back(battery, lab, raw) -> None:
    charging_battery(battery, lab)
    charger_drives(lab, 10.0)
    lab.advance_to(lab.now + 61.0)
    assert lab.model.dc_bus.source.fault == WATCHDOG
    raw.query("OUTP:PROT:CLE\nSYST:ERR?")
    assert lab.model.dc_bus.current_a() == 10.0  # why safe_off sends OUTP OFF first


def test_over_voltage_protection_trips_at_the_envelopes_maximum(battery, lab) -> None:
    charging_battery(battery, lab)
    battery.emulate(430.0, 0.5)  # 445 V at the 30 A charge limit: inside the 450 V envelope
    source = lab.model.dc_bus.source
    with lab.lock:  # another master raises the sink limit behind the driver's back
        source.set_limits(lab.model.now, charge_a=45.0)
        lab.model.dc_bus.set_charger_current(lab.model.now, 45.0)  # 452.5 V
    assert source.fault == OVER_VOLTAGE
    assert battery.faults()[0].startswith("OV (over-voltage protection)")


def test_a_reading_beyond_the_envelope_is_a_breach(battery, lab, raw) -> None:
    charging_battery(battery, lab)
    raw.query("CURR:LIM:NEG -50\nSYST:ERR?")  # another program on the bench widens the sink limit
    charger_drives(lab, 45.0)
    with pytest.raises(EnvelopeBreach, match=r"measured current 4[45]\.\d+ A exceeds the bench envelope dc_current_a"):
        battery.current_a()
    assert any("dc_current_a" in fault for fault in battery.faults())


def test_an_under_voltage_trip_is_a_questionable2_fault_and_blocks_output_on(battery, lab, raw) -> None:
    # The driver leaves the under-voltage protection off; another program on the bench enables it.
    charging_battery(battery, lab)  # 380 V behind 0.1 ohm
    for command in ("VOLT:PROT:LOW 379", "VOLT:PROT:LOW:DEL 0.5", "VOLT:PROT:LOW:STAT ON"):
        assert raw.query(f"{command}\nSYST:ERR?") == '0,"No error"'
    t_on = lab.now
    charger_drives(lab, -15.0)  # V2H: 378.5 V at the terminals, below the level
    lab.advance_to(t_on + 0.4)
    source = lab.model.dc_bus.source
    assert source.fault is None  # not within the delay
    lab.advance_to(t_on + 2.0)
    assert (source.fault, source.fault_s) == (UNDER_VOLTAGE, pytest.approx(t_on + 0.5))
    assert raw.query("STAT:QUES2:COND?") == "+64" and raw.query("STAT:QUES:COND?") == "+0"
    assert battery.faults() == ["UV (under-voltage protection) reported by the instrument "
                                "(STAT:QUES:COND? = 0, STAT:QUES2:COND? = 64)"]
    with pytest.raises(InstrumentError, match=r"protection latched \(UV, .*STAT:QUES2:COND\? = 64"):
        battery.output(True)
    battery.safe_off()
    assert source.fault is None and not source.output_on and battery.faults() == []


def test_a_watchdog_trip_with_the_output_off_is_no_fault_and_output_on_clears_it(battery, lab) -> None:
    battery.setup()
    battery.emulate(380.0, 0.1)
    lab.advance_to(lab.now + 120.0)  # a long case of another suite: nothing said to the battery emulator
    assert lab.model.dc_bus.source.fault == WATCHDOG
    assert battery.faults() == []
    battery.output(True)
    connected(lab)
    charger_drives(lab, 10.0)
    assert battery.current_a() == pytest.approx(10.0, abs=0.01)
