"""Keysight RP7900 battery-emulator driver against protocol scripts: exact wire traffic, refusals before any I/O."""

from __future__ import annotations

from pathlib import Path

import pytest
from protocol import OK, expected_protocol, setting, settings

from drivers.battery.keysight_rp7900 import KeysightRP7900
from rig.config.bench_file import Envelope, load_bench
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import EnvelopeBreach, EnvelopeError, InstrumentError
from rig.core.identity import Idn
from rig.core.roles import BatteryEmulator, DcReading
from rig.sim.instruments.keysight_rp7900_dialect import KeysightRP7900 as SimulatedRP7900

DC_BENCH = Path(__file__).resolve().parents[2] / "fixtures" / "benches" / "sim.yaml"

UNCOUPLE = setting("CURR:LIM:COUP OFF") + [("CURR:LIM:COUP?", "0")]
"""Limit coupling off and read back, before the limits are set apart."""


def setup_script(ovp: str, limit: str, watchdog: str) -> list[tuple[str, str | None]]:
    """What set-up sends: priority first, 0 V and 0 ohm, protection, coupling off, both limits, the watchdog."""
    return (settings("*CLS", "OUTP OFF", "OUTP:PROT:CLE", "ABOR:ELOG", "SOUR:FUNC VOLT", "VOLT 0", "VOLT:RES 0",
                     f"VOLT:PROT {ovp}") + UNCOUPLE
            + settings(f"CURR:LIM {limit}", f"CURR:LIM:NEG -{limit}", f"OUTP:PROT:WDOG:DEL {watchdog}",
                       "OUTP:PROT:WDOG ON"))


SETUP = setup_script("450", "40", "60")
"""What set-up sends on the simulated DC bench (envelope: 450 V, 40 A), watchdog 60 s."""
NOTHING_LATCHED = [("STAT:QUES:COND?", "+0"), ("STAT:QUES2:COND?", "+0")]
"""Both Questionable condition registers clear."""


@pytest.fixture(scope="module")
def guard() -> EnvelopeGuard:
    return EnvelopeGuard.from_bench(load_bench(DC_BENCH))


def dc_guard(**dc) -> EnvelopeGuard:
    return EnvelopeGuard(Envelope.model_validate({"ac_voltage_v": {"max": 300.0}, "ac_frequency_hz": {"max": 65.0},
                                                  **dc}), "dc-bench.yaml")


# -- identity, session, role ---------------------------------------------------------------------


def test_driver_fulfils_the_battery_emulator_role() -> None:
    with expected_protocol(KeysightRP7900, []) as battery:
        assert isinstance(battery, BatteryEmulator)


def test_constructing_sends_nothing_and_identify_sends_only_idn() -> None:
    with expected_protocol(KeysightRP7900, [("*IDN?", SimulatedRP7900.idn)]) as battery:
        assert battery.scripted_session.sent == []
        assert battery.identify() == SimulatedRP7900.idn
    assert battery.scripted_session.sent == ["*IDN?"]


@pytest.mark.parametrize("reply", [SimulatedRP7900.idn, "Keysight Technologies,RP7931A,MY59001234,B.03.02.1232",
                                   "KEYSIGHT TECHNOLOGIES,RP7962A,MY1,C.01"])
def test_family_admits_rp7900_series_answers(reply: str) -> None:
    idn = Idn.parse(reply)
    assert idn is not None and KeysightRP7900.family.admits(idn)


@pytest.mark.parametrize("reply", ["Keysight Technologies,N7951A,MY1,B.01", "Keysight Technologies,N6974A,MY1,B.01",
                                   "Chroma ATE,61845,1,1.00", "Agilent Technologies,RP7942A,1,1"])
def test_family_refuses_other_instruments(reply: str) -> None:
    idn = Idn.parse(reply)
    assert idn is not None and not KeysightRP7900.family.admits(idn)


@pytest.mark.parametrize("options", [{"watchdog_s": 0}, {"watchdog_s": 3601}, {"watchdog_s": 1.5},
                                     {"watchdog_s": True}, {"max_current_a": 0}, {"max_voltage_v": "high"},
                                     {"max_resistance_ohm": -1}, {"ovp_v": 400}])
def test_unusable_options_are_refused_before_any_io(options: dict) -> None:
    with pytest.raises(InstrumentError, match="unusable options"):
        with expected_protocol(KeysightRP7900, [], options=options):
            pass


# -- set-up ------------------------------------------------------------------------------------------


def test_setup_sets_voltage_priority_first_then_protection_from_the_envelope_and_arms_the_watchdog(guard) -> None:
    with expected_protocol(KeysightRP7900, SETUP, envelope=guard) as battery:
        battery.setup()


def test_setup_without_an_envelope_uses_the_instruments_ratings_and_the_chosen_watchdog() -> None:
    options = {"max_voltage_v": 950.0, "max_current_a": 20.0, "watchdog_s": 5}
    with expected_protocol(KeysightRP7900, setup_script("950", "20", "5"), options=options) as battery:
        battery.setup()


@pytest.mark.parametrize("state", ["1", "ON"])
def test_setup_stops_if_the_limit_coupling_does_not_read_back_off(state: str) -> None:
    # still coupled, the sink limit would follow the source limit: nothing more is sent
    script = setup_script("500", "50", "60")
    cut = script.index(("CURR:LIM:COUP?", "0"))
    with expected_protocol(KeysightRP7900, script[:cut] + [("CURR:LIM:COUP?", state)]) as battery:
        with pytest.raises(InstrumentError, match="CURR:LIM:COUP.*limit coupling still on"):
            battery.setup()


def test_setup_refuses_an_envelope_beyond_the_instruments_ratings_before_any_io(guard) -> None:
    with expected_protocol(KeysightRP7900, [], envelope=guard, options={"max_current_a": 30.0}) as battery:
        with pytest.raises(InstrumentError, match="CURR:LIM.*40 is outside the instrument's 0..30"):
            battery.setup()
    assert battery.scripted_session.sent == []


# -- the emulated battery -------------------------------------------------------------------------


def test_emulate_sends_the_open_circuit_voltage_and_the_series_resistance(guard) -> None:
    with expected_protocol(KeysightRP7900, SETUP + settings("VOLT 380", "VOLT:RES 0.05"), envelope=guard) as battery:
        battery.setup()
        battery.emulate(380.0, 0.05)


def test_current_limits_are_the_instruments_source_and_sink_limits(guard) -> None:
    # charge = into the battery = the instrument sinking = its negative limit
    with expected_protocol(KeysightRP7900, SETUP + settings("CURR:LIM 12.5", "CURR:LIM:NEG -30"),
                           envelope=guard) as battery:
        battery.setup()
        battery.set_current_limits(charge_a=30.0, discharge_a=12.5)


@pytest.mark.parametrize(("voltage", "resistance", "match"), [
    (460.0, 0.0, "open-circuit voltage 460.0 V exceeds the bench envelope dc_voltage_v max 450.0"),
    (440.0, 0.5, "terminal voltage at the 40 A charge limit 460.0 V exceeds .* dc_voltage_v max 450.0"),
])
def test_a_battery_outside_the_envelope_is_refused_before_any_io(guard, voltage, resistance, match) -> None:
    with expected_protocol(KeysightRP7900, SETUP, envelope=guard) as battery:
        battery.setup()
        sent = len(battery.scripted_session.sent)
        with pytest.raises(EnvelopeError, match=match):
            battery.emulate(voltage, resistance)
        assert len(battery.scripted_session.sent) == sent


def test_a_battery_whose_power_at_a_limit_leaves_the_envelope_is_refused() -> None:
    tight = dc_guard(dc_voltage_v={"max": 450.0}, dc_current_a={"max": 40.0}, dc_power_w={"max": 10000.0})
    with expected_protocol(KeysightRP7900, settings("CURR:LIM 40", "CURR:LIM:NEG -20"), envelope=tight) as battery:
        battery.set_current_limits(charge_a=20.0, discharge_a=40.0)
        with pytest.raises(EnvelopeError, match="power at the discharge limit 16000.0 W exceeds .* dc_power_w max"):
            battery.emulate(400.0, 0.0)  # 400 V x 40 A discharge


def test_limits_beyond_the_envelope_or_the_instrument_are_refused_before_any_io(guard) -> None:
    with expected_protocol(KeysightRP7900, [], envelope=guard) as battery:
        with pytest.raises(EnvelopeError, match="charge current limit 41.0 A exceeds the bench envelope dc_current_a"):
            battery.set_current_limits(charge_a=41.0, discharge_a=10.0)
    with expected_protocol(KeysightRP7900, [], options={"max_current_a": 30.0}) as battery:
        with pytest.raises(InstrumentError, match="35.0 A is outside the instrument range 0.0..30.0 A"):
            battery.set_current_limits(charge_a=10.0, discharge_a=35.0)
    with expected_protocol(KeysightRP7900, []) as battery:
        with pytest.raises(InstrumentError, match="-1.0 A is outside the instrument range"):
            battery.set_current_limits(charge_a=-1.0, discharge_a=10.0)  # limits are magnitudes


def test_output_on_needs_a_battery_set_since_setup(guard) -> None:
    script = (SETUP + settings("VOLT 380", "VOLT:RES 0.05") + NOTHING_LATCHED
              + settings("OUTP ON", "OUTP OFF") + SETUP)
    with expected_protocol(KeysightRP7900, script, envelope=guard) as battery:
        battery.setup()
        with pytest.raises(InstrumentError, match="no battery set since set-up"):
            battery.output(True)
        battery.emulate(380.0, 0.05)
        battery.output(True)
        battery.output(False)
        battery.setup()
        with pytest.raises(InstrumentError, match="no battery set since set-up"):
            battery.output(True)


def test_an_instrument_error_raises_naming_the_command() -> None:
    script = [*setting("VOLT 380", '-222,"Data out of range"'), ("SYST:ERR?", OK)]
    with expected_protocol(KeysightRP7900, script, name="battery") as battery:
        with pytest.raises(InstrumentError) as caught:
            battery.emulate(380.0, 0.0)
    assert (caught.value.instrument, caught.value.command) == ("battery", "VOLT 380")
    assert "-222" in caught.value.detail


# -- measurements, faults, safe state -----------------------------------------------------------------


def test_measured_current_is_current_into_the_battery() -> None:
    # the instrument counts sourcing as positive: -25 A from it is the battery charging at 25 A
    script = [("MEAS:CURR?", "-2.500000E+01"), ("MEAS:VOLT?", "+3.812500E+02"), ("MEAS:VOLT?", "+3.792500E+02"),
              ("MEAS:CURR?", "+1.500000E+01")]
    with expected_protocol(KeysightRP7900, script) as battery:
        assert battery.current_a() == 25.0
        assert battery.voltage_v() == 381.25
        reading = battery.read()
    assert reading == DcReading(voltage_v=379.25, current_a=-15.0)  # V2H: the battery discharges
    assert reading.power_w == pytest.approx(-5688.75)


@pytest.mark.parametrize(("script", "match"), [
    ([("MEAS:VOLT?", "+4.550000E+02")], "measured voltage 455.0 V exceeds the bench envelope dc_voltage_v max 450.0"),
    ([("MEAS:VOLT?", "+3.000000E+02"), ("MEAS:CURR?", "+4.100000E+01")],
     "measured current 41.0 A exceeds the bench envelope dc_current_a max 40.0"),
    ([("MEAS:VOLT?", "+4.450000E+02"), ("MEAS:CURR?", "-3.800000E+01")],
     "measured power 16910.0 W exceeds the bench envelope dc_power_w max 16000.0"),
])
def test_a_reading_beyond_the_envelope_is_a_breach(guard, script, match) -> None:
    with expected_protocol(KeysightRP7900, script, envelope=guard) as battery:
        with pytest.raises(EnvelopeBreach, match=match):
            battery.read()


def test_a_reading_below_the_envelopes_minimum_is_no_breach() -> None:
    floor = dc_guard(dc_voltage_v={"min": 200.0, "max": 450.0})
    with expected_protocol(KeysightRP7900, [("MEAS:VOLT?", "+1.000000E-03")], envelope=floor) as battery:
        assert battery.voltage_v() == 0.001  # the output is off: 0 V is no breach


def test_faults_are_empty_when_nothing_latched_and_readings_are_inside(guard) -> None:
    script = [("STAT:QUES:COND?", "+256"), ("STAT:QUES2:COND?", "+6"), ("SYST:ERR?", OK),
              ("MEAS:VOLT?", "+3.900000E+02"), ("MEAS:CURR?", "-4.000000E+01")]
    with expected_protocol(KeysightRP7900, script, envelope=guard) as battery:
        assert battery.faults() == []  # LIM- (sink limit), IPK+ and IPK- (peak limits): states, not trips


def test_faults_report_latched_protections_queued_errors_and_readings_beyond_the_envelope(guard) -> None:
    script = [("STAT:QUES:COND?", "+2049"), ("STAT:QUES2:COND?", "+0"), ("SYST:ERR?", '-221,"Settings conflict"'),
              ("SYST:ERR?", OK), ("MEAS:VOLT?", "+4.600000E+02"), ("MEAS:CURR?", "+0.000000E+00")]
    with expected_protocol(KeysightRP7900, script, envelope=guard) as battery:
        found = battery.faults()
    assert len(found) == 3  # the watchdog tripped with the output off: nothing at stake
    assert found[0].startswith("OV (over-voltage protection)")
    assert "-221" in found[1] and "dc_voltage_v" in found[2]


@pytest.mark.parametrize(("condition", "names"), [
    ("+16", ["MSP"]), ("+32", ["SDP"]), ("+64", ["UV"]), ("+8", ["CSF"]), ("+118", ["MSP", "SDP", "UV"]),
])
def test_faults_report_the_questionable2_protections_by_name(condition: str, names: list[str]) -> None:
    script = [("STAT:QUES:COND?", "+0"), ("STAT:QUES2:COND?", condition), ("SYST:ERR?", OK),
              ("MEAS:VOLT?", "+0.0E+00"), ("MEAS:CURR?", "+0.0E+00")]
    with expected_protocol(KeysightRP7900, script) as battery:
        found = battery.faults()
    assert [fault.split(" ", 1)[0] for fault in found] == names
    assert all(f"STAT:QUES2:COND? = {int(condition)}" in fault for fault in found)


def test_safe_off_turns_the_output_off_before_clearing_a_latch() -> None:
    # cleared first, a latch would give the output back in its programmed state
    with expected_protocol(KeysightRP7900, settings("OUTP OFF", "OUTP:PROT:CLE", "ABOR:ELOG")) as battery:
        battery.safe_off()
    assert battery.scripted_session.sent == ["OUTP OFF", "SYST:ERR?", "OUTP:PROT:CLE", "SYST:ERR?", "ABOR:ELOG",
                                             "SYST:ERR?"]


def test_output_on_clears_a_watchdog_trip_that_latched_while_the_output_was_off(guard) -> None:
    # a long wait with the output off (another suite's case) trips the watchdog with nothing at stake
    script = (SETUP + settings("VOLT 380", "VOLT:RES 0.05") + [("STAT:QUES:COND?", "+2048"),
                                                               ("STAT:QUES2:COND?", "+0")]
              + settings("OUTP:PROT:CLE", "OUTP ON"))
    with expected_protocol(KeysightRP7900, script, envelope=guard) as battery:
        battery.setup()
        battery.emulate(380.0, 0.05)
        battery.output(True)


@pytest.mark.parametrize(("condition", "condition2", "latched"), [("+16", "+0", "OT"), ("+2064", "+0", "OT"),
                                                                  ("+0", "+64", "UV"), ("+2048", "+32", "SDP")])
def test_output_on_is_refused_while_another_protection_is_latched(guard, condition, condition2, latched) -> None:
    script = (SETUP + settings("VOLT 380", "VOLT:RES 0.05")
              + [("STAT:QUES:COND?", condition), ("STAT:QUES2:COND?", condition2)])
    with expected_protocol(KeysightRP7900, script, envelope=guard) as battery:
        battery.setup()
        battery.emulate(380.0, 0.05)
        with pytest.raises(InstrumentError, match=f"protection latched \\({latched},"):
            battery.output(True)


def test_a_watchdog_trip_under_load_is_not_cleared_by_output_on_and_is_a_fault(guard) -> None:
    tripped = [("STAT:QUES:COND?", "+2048"), ("STAT:QUES2:COND?", "+0")]
    script = (SETUP + settings("VOLT 380", "VOLT:RES 0.05") + NOTHING_LATCHED + settings("OUTP ON") + tripped
              + tripped + [("SYST:ERR?", OK), ("MEAS:VOLT?", "+0.0E+00"), ("MEAS:CURR?", "+0.0E+00")])
    with expected_protocol(KeysightRP7900, script, envelope=guard) as battery:
        battery.setup()
        battery.emulate(380.0, 0.05)
        battery.output(True)
        with pytest.raises(InstrumentError, match="protection latched \\(PROT,"):
            battery.output(True)
        (fault,) = battery.faults()
    assert fault.startswith("PROT (I/O watchdog")


def test_a_watchdog_trip_with_the_output_off_is_no_fault(guard) -> None:
    script = [("STAT:QUES:COND?", "+2048"), ("STAT:QUES2:COND?", "+0"), ("SYST:ERR?", OK), ("MEAS:VOLT?", "+0.0E+00"),
              ("MEAS:CURR?", "+0.0E+00")]
    with expected_protocol(KeysightRP7900, script, envelope=guard) as battery:
        assert battery.faults() == []
