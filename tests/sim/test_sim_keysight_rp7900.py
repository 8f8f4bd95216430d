"""The simulated Keysight RP7900 over its SCPI socket, as strict as its guide: ranges, forms, watchdog, status."""

from __future__ import annotations

import pytest
from wire import OK, setting

from rig.sim.connector import Side
from rig.sim.simulated_lab import SimulatedLab


@pytest.fixture
def rp(lab: SimulatedLab, open_session):
    return open_session(lab.serve("keysight_rp7900"))


def test_numbers_answer_in_nr3_with_min_and_max_and_booleans_as_digits(rp) -> None:
    assert setting(rp, "VOLT 380.5") == OK
    assert rp.query("VOLT?") == "+3.805000E+02"
    assert rp.query("VOLT? MAX") == "+5.000000E+02"
    assert rp.query("VOLT:RES? MIN") == "+0.000000E+00"
    assert setting(rp, "VOLT:RES MAX") == OK and rp.query("VOLT:RES?") == "+1.000000E+00"
    assert rp.query("OUTP?") == "0" and rp.query("OUTP:PROT:WDOG?") == "0"
    assert rp.query("FUNC?") == "VOLT"


@pytest.mark.parametrize("command", ["VOLT 501", "VOLT -1", "VOLT:RES 1.5", "CURR:LIM 51", "CURR:LIM -1",
                                     "CURR:LIM:NEG -51", "CURR:LIM:NEG 10", "VOLT:PROT 601", "OUTP:PROT:WDOG:DEL 0",
                                     "OUTP:PROT:WDOG:DEL 3601", "VOLT:PROT:LOW 511", "VOLT:PROT:LOW:DEL 0.00001",
                                     "VOLT:PROT:LOW:DEL 2612"])
def test_values_outside_the_units_ranges_are_data_out_of_range(rp, command: str) -> None:
    assert setting(rp, command).startswith("-222")


@pytest.mark.parametrize("command", ["OUTP MAYBE", "FUNC POWER", "VOLT", "OUTP:PROT:WDOG 2", "CURR:LIM:COUP 2",
                                     "VOLT:PROT:LOW:STAT MAYBE"])
def test_malformed_parameters_are_illegal_values(rp, command: str) -> None:
    assert setting(rp, command).startswith("-224")


def test_the_watchdog_delay_is_whole_seconds(rp, lab: SimulatedLab) -> None:
    assert setting(rp, "OUTP:PROT:WDOG:DEL 2.4") == OK
    assert rp.query("OUTP:PROT:WDOG:DEL?") == "+2.000000E+00"
    assert lab.model.dc_bus.source.watchdog_delay_s == 2.0


def test_a_query_holds_the_watchdog_off_as_any_message_does(rp, lab: SimulatedLab) -> None:
    for command in ("OUTP:PROT:WDOG:DEL 2", "OUTP:PROT:WDOG ON", "VOLT 300", "OUTP ON"):
        assert setting(rp, command) == OK
    for t in (1.5, 3.0, 4.5):
        lab.advance_to(t)
        rp.query("MEAS:VOLT?")
    source = lab.model.dc_bus.source
    lab.advance_to(6.4)
    assert source.fault is None  # 2 s after the last query is 6.5 s
    lab.advance_to(6.6)
    assert source.fault_s == pytest.approx(6.5)
    assert rp.query("STAT:QUES:COND?") == "+2048"
    assert rp.query("OUTP?") == "1"  # latched off; the programmed state is kept


def test_power_and_fetch_answer_in_the_instruments_convention(rp, lab: SimulatedLab) -> None:
    for command in ("VOLT 400", "VOLT:RES 0.1", "OUTP ON"):
        assert setting(rp, command) == OK
    with lab.lock:
        lab.model.connector.drive(lab.model.now, "contactor", True, by=Side.VEHICLE)
        lab.model.dc_bus.set_charger_current(lab.model.now, 20.0)  # charging: the unit sinks 20 A at 402 V
    assert float(rp.query("MEAS:POW?")) == pytest.approx(-8040.0)
    assert float(rp.query("FETC:CURR?")) == pytest.approx(-20.0, abs=0.01)
    assert float(rp.query("MEAS:VOLT:DC?")) == pytest.approx(402.0, abs=0.05)


def test_the_sink_limit_is_refused_while_coupled_and_the_coupling_is_kept_until_reset(rp) -> None:
    assert rp.query("CURR:LIM:COUP?") == "1"
    assert setting(rp, "CURR:LIM:NEG -10").startswith("-221")
    assert setting(rp, "CURR:LIM:COUP OFF") == OK and setting(rp, "CURR:LIM:NEG -10") == OK
    assert setting(rp, "CURR:LIM 20") == OK
    assert rp.query("CURR:LIM:COUP?") == "0" and rp.query("CURR:LIM:NEG?") == "-1.000000E+01"
    assert setting(rp, "*RST") == OK and rp.query("CURR:LIM:COUP?") == "1"


def test_both_questionable_condition_registers_answer_and_the_first_has_its_number_optional(rp) -> None:
    assert rp.query("STAT:QUES2:COND?") == "+0"
    assert rp.query("STATUS:QUESTIONABLE1:CONDITION?") == "+0"
    assert rp.query("VOLT:PROT:LOW:DEL?") == "+2.048000E-05"  # the guide's *RST delay
    assert rp.query("VOLT:PROT:LOW:STAT?") == "0" and rp.query("VOLT:PROT:LOW?") == "+0.000000E+00"


def test_the_under_voltage_protection_waits_its_delay_from_output_on(rp, lab: SimulatedLab) -> None:
    for command in ("VOLT 300", "VOLT:PROT:LOW 310", "VOLT:PROT:LOW:DEL 2", "VOLT:PROT:LOW:STAT ON"):
        assert setting(rp, command) == OK
    lab.advance_to(5.0)
    assert lab.model.dc_bus.source.fault is None  # output off: nothing to protect
    assert setting(rp, "OUTP ON") == OK  # 300 V, below the level
    lab.advance_to(6.9)
    assert rp.query("STAT:QUES2:COND?") == "+0"
    lab.advance_to(7.5)
    assert lab.model.dc_bus.source.fault_s == pytest.approx(7.0)
    assert rp.query("STAT:QUES2:COND?") == "+64" and rp.query("OUTP?") == "1"
    assert setting(rp, "VOLT:PROT:LOW:STAT OFF") == OK and setting(rp, "OUTP:PROT:CLE") == OK
    assert rp.query("STAT:QUES2:COND?") == "+0"


def test_reset_returns_the_unit_to_its_power_on_state(rp, lab: SimulatedLab) -> None:
    for command in ("VOLT 300", "CURR:LIM 10", "OUTP:PROT:WDOG ON", "VOLT:PROT:LOW:STAT ON", "OUTP ON"):
        assert setting(rp, command) == OK
    assert setting(rp, "*RST") == OK
    source = lab.model.dc_bus.source
    assert not source.output_on and not source.watchdog_on and not source.uv_on
    assert (source.open_circuit_v, source.discharge_limit_a) == (0.0, 50.0)
