"""NH Research 9300 battery-emulator driver against protocol scripts: exact wire traffic for every method, refusals
before any I/O, wrong replies and queued errors named by role and command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from protocol import OK, expected_protocol, setting, settings

from drivers.battery.nhr_9300 import Nhr9300
from rig.config.bench_file import load_bench
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import EnvelopeBreach, EnvelopeError, InstrumentError
from rig.core.identity import Idn
from rig.core.roles import BatteryEmulator, DcLogger, DcReading
from rig.sim.instruments.nhr_9300_dialect import Nhr9300 as SimulatedNhr9300

BENCH = Path(__file__).resolve().parents[2] / "fixtures" / "benches" / "sim-nhr_9300.yaml"
SAFETY = "OUTP:SAF 0,-1,450,0.005,40,0.005,40,0.005,16000,0.005,16000,0.005,-1"
SETUP = settings("*CLS", "SYST:REM", "ABOR", "OPER 0,0,0,0,0,0", "CONF:CIN 0", "BDV 0", SAFETY, "SYST:WATC:INT 60")
"""What set-up sends on the simulated bench (envelope 450 V, 40 A, 16 kW), watchdog 60 s."""
BATTERY_ON = setting("OPER 4,11,380,40,30000,0.1")
OFF = setting("OPER 0,0,0,0,0,0")
NO_SAMPLE = "3.40282347E+38"


@pytest.fixture(scope="module")
def guard() -> EnvelopeGuard:
    return EnvelopeGuard.from_bench(load_bench(BENCH))


def on_script() -> list:
    return SETUP + BATTERY_ON


def powered(battery: Nhr9300) -> None:
    battery.setup()
    battery.emulate(380.0, 0.1)
    battery.output(True)


# -- identity, role, options -------------------------------------------------------------------------


def test_driver_fulfils_the_battery_emulator_and_logger_roles() -> None:
    with expected_protocol(Nhr9300, []) as battery:
        assert isinstance(battery, BatteryEmulator) and isinstance(battery, DcLogger)


def test_constructing_sends_nothing_and_identify_sends_only_idn() -> None:
    with expected_protocol(Nhr9300, [("*IDN?", SimulatedNhr9300.idn)]) as battery:
        assert battery.scripted_session.sent == []
        assert battery.identify() == SimulatedNhr9300.idn


@pytest.mark.parametrize("reply", [SimulatedNhr9300.idn, "NH Research,9300,123,2.1", "NH RESEARCH INC.,9210-600,7,1"])
def test_family_admits_nhr_9200_and_9300_answers(reply: str) -> None:
    idn = Idn.parse(reply)
    assert idn is not None and Nhr9300.family.admits(idn)


@pytest.mark.parametrize("reply", ["NH Research,9410,1,1", "Keysight Technologies,RP7942A,1,1", "Chroma ATE,17040,1,1"])
def test_family_refuses_other_instruments(reply: str) -> None:
    idn = Idn.parse(reply)
    assert idn is not None and not Nhr9300.family.admits(idn)


@pytest.mark.parametrize("options", [{"watchdog_s": 0}, {"watchdog_s": 3601}, {"capture_points": 10},
                                     {"max_power_w": 0}, {"ovp_v": 400}])
def test_unusable_options_are_refused_before_any_io(options: dict) -> None:
    with pytest.raises(InstrumentError, match="battery.*options"):
        with expected_protocol(Nhr9300, [], name="battery", options=options):
            pass


# -- set-up and the battery -----------------------------------------------------------------------------


def test_setup_turns_off_counts_charging_positive_sets_shutoffs_from_the_envelope_and_arms_the_watchdog(guard) -> None:
    with expected_protocol(Nhr9300, SETUP, envelope=guard) as battery:
        battery.setup()


def test_setup_refuses_an_envelope_beyond_the_module_before_any_io(guard) -> None:
    with expected_protocol(Nhr9300, [], envelope=guard, options={"max_current_a": 30.0}) as battery:
        with pytest.raises(InstrumentError, match="dc_current_a 40 is outside the module's 0..30"):
            battery.setup()


def test_emulate_with_the_output_off_only_remembers_and_output_on_sends_battery_mode(guard) -> None:
    with expected_protocol(Nhr9300, on_script(), envelope=guard) as battery:
        powered(battery)


def test_emulate_while_on_sends_a_changed_battery_and_nothing_for_the_same_one(guard) -> None:
    with expected_protocol(Nhr9300, on_script() + setting("OPER 4,11,381.5,40,30000,0.1"), envelope=guard) as battery:
        powered(battery)
        battery.emulate(380.0, 0.1)
        battery.emulate(381.5, 0.1)


def test_output_on_without_a_battery_is_refused_before_any_io(guard) -> None:
    with expected_protocol(Nhr9300, SETUP, envelope=guard) as battery:
        battery.setup()
        with pytest.raises(InstrumentError, match="emulate"):
            battery.output(True)


def test_output_off_sends_mode_off(guard) -> None:
    with expected_protocol(Nhr9300, on_script() + OFF, envelope=guard) as battery:
        powered(battery)
        battery.output(False)


def test_equal_current_limits_are_one_oper_current_and_unequal_ones_are_refused(guard) -> None:
    with expected_protocol(Nhr9300, on_script() + setting("OPER 4,11,380,25,30000,0.1"), envelope=guard) as battery:
        powered(battery)
        battery.set_current_limits(25.0, 25.0)
        with pytest.raises(InstrumentError, match="one current magnitude"):
            battery.set_current_limits(30.0, 20.0)


def test_current_limits_with_the_output_off_are_sent_with_the_next_output_on(guard) -> None:
    with expected_protocol(Nhr9300, SETUP + setting("OPER 4,11,380,10,30000,0.1"), envelope=guard) as battery:
        battery.setup()
        battery.set_current_limits(10.0, 10.0)
        battery.emulate(380.0, 0.1)
        battery.output(True)


@pytest.mark.parametrize("call, match", [
    (lambda b: b.emulate(700.0, 0.1), "outside the instrument range"),
    (lambda b: b.emulate(380.0, 2.0), "outside the instrument range"),
    (lambda b: b.emulate(460.0, 0.0), "dc_voltage_v"),
    (lambda b: b.emulate(440.0, 0.5), "terminal voltage at the 100 A charge limit"),
    (lambda b: b.set_current_limits(50.0, 50.0), "dc_current_a"),
])
def test_values_beyond_the_instrument_or_the_envelope_are_refused_before_any_io(guard, call, match) -> None:
    with expected_protocol(Nhr9300, [], envelope=guard) as battery:
        with pytest.raises((InstrumentError, EnvelopeError), match=match):
            call(battery)


# -- measurements, faults, safe state ---------------------------------------------------------------------


def test_read_is_one_acquisition_voltage_then_its_current(guard) -> None:
    with expected_protocol(Nhr9300, [("MEAS:VOLT?", "+3.850000E+02"), ("FETC:CURR?", "+2.000000E+01")],
                           envelope=guard) as battery:
        assert battery.read() == DcReading(385.0, 20.0)


def test_voltage_and_current_alone_each_start_an_acquisition(guard) -> None:
    with expected_protocol(Nhr9300, [("MEAS:VOLT?", "+3.8E+02"), ("MEAS:CURR?", "-1.5E+01")], envelope=guard) as b:
        assert b.voltage_v() == 380.0 and b.current_a() == -15.0


def test_a_reading_beyond_the_envelope_ends_the_case(guard) -> None:
    with expected_protocol(Nhr9300, [("MEAS:CURR?", "+4.5E+01")], envelope=guard) as battery:
        with pytest.raises(EnvelopeBreach, match="measured current"):
            battery.current_a()


def test_a_reply_that_is_not_a_number_is_an_error_naming_the_role_and_command(guard) -> None:
    with expected_protocol(Nhr9300, [("MEAS:VOLT?", "<ERROR -222>")], name="battery", envelope=guard) as battery:
        with pytest.raises(InstrumentError, match="battery.*MEAS:VOLT\\?.*(not a number|expected a number)"):
            battery.voltage_v()


def test_a_refused_setting_is_an_instrument_error_naming_the_role_and_command(guard) -> None:
    script = [("*CLS", None), ("SYST:ERR?", OK), ("SYST:REM", None), ("SYST:ERR?", '-113,"Undefined header"'),
              ("SYST:ERR?", OK)]
    with expected_protocol(Nhr9300, script, name="battery", envelope=guard) as battery:
        with pytest.raises(InstrumentError, match=r"battery.*SYST:REM.*-113"):
            battery.setup()


def test_faults_are_none_when_the_module_is_as_commanded(guard) -> None:
    script = on_script() + [("OPER?", "4,11,+3.8E+02,+4.0E+01,+3.0E+04,+1.0E-01"), ("SYST:ERR?", OK),
                            ("MEAS:VOLT?", "+3.8E+02"), ("FETC:CURR?", "+1.0E+01")]
    with expected_protocol(Nhr9300, script, envelope=guard) as battery:
        powered(battery)
        assert battery.faults() == []


def test_a_module_that_switched_itself_off_is_a_fault(guard) -> None:
    script = on_script() + [("OPER?", "0,0,+0.0E+00,+0.0E+00,+0.0E+00,+0.0E+00"), ("SYST:ERR?", OK),
                            ("MEAS:VOLT?", "+0.0E+00"), ("FETC:CURR?", "+0.0E+00")]
    with expected_protocol(Nhr9300, script, envelope=guard) as battery:
        powered(battery)
        found = battery.faults()
        assert len(found) == 1 and found[0].startswith("OFF (the module switched its output off by itself")


def test_mode_off_with_the_output_off_is_no_fault_and_a_queued_error_is(guard) -> None:
    script = [("OPER?", "0,0,0,0,0,0"), ("SYST:ERR?", '-350,"Queue overflow"'), ("SYST:ERR?", OK),
              ("MEAS:VOLT?", "+0.0E+00"), ("FETC:CURR?", "+0.0E+00")]
    with expected_protocol(Nhr9300, script, envelope=guard) as battery:
        assert battery.faults() == ['error queue: -350,"Queue overflow"']


def test_an_unreadable_mode_is_an_error_naming_oper(guard) -> None:
    with expected_protocol(Nhr9300, [("OPER?", "BATTERY")], name="battery", envelope=guard) as battery:
        with pytest.raises(InstrumentError, match="battery.*OPER\\?"):
            battery.faults()


def test_safe_off_turns_the_output_off_and_ends_a_capture(guard) -> None:
    with expected_protocol(Nhr9300, OFF + setting("ABOR"), envelope=guard) as battery:
        battery.safe_off()


def test_bench_checks_ask_the_unconfirmed_forms(guard) -> None:
    script = setting("CONF:CIN 0") + [("CONF:CIN?", "0"), ("SYST:ERR?", OK), ("SYST:WATC:INT?", "+6.0E+01"), ("SYST:ERR?", OK),
              ("SENS:SWE:TINT?", "+1.0E-03"), ("SYST:ERR?", OK), ("MEAS:CURR?", "+0.0E+00"), ("SYST:ERR?", OK)]
    with expected_protocol(Nhr9300, script, envelope=guard) as battery:
        checks = battery.bench_checks()
    assert {check.outcome for check in checks} == {"confirmed"}, checks


def test_a_module_counting_charging_negative_fails_its_bench_check(guard) -> None:
    """Told to count charging positive, it still reads back 1: its sign cannot be set as the driver needs."""
    script = setting("CONF:CIN 0") + [("CONF:CIN?", "1"), ("SYST:ERR?", OK), ("SYST:WATC:INT?", "+6.0E+01"), ("SYST:ERR?", OK),
              ("SENS:SWE:TINT?", "+1.0E-03"), ("SYST:ERR?", OK), ("MEAS:CURR?", "+0.0E+00"), ("SYST:ERR?", OK)]
    with expected_protocol(Nhr9300, script, envelope=guard) as battery:
        checks = battery.bench_checks()
    assert [c.outcome for c in checks if "CONF:CIN" in c.what] == ["problem"]


# -- the data log from the capture ------------------------------------------------------------------------

START_LOG = (settings("ABOR", "SENS:SWE:POIN 1000000", "SENS:SWE:APER 1000") + [("SENS:SWE:TINT?", "+1.000000E-03")]
             + setting("INIT"))


def clock(*instants: float):
    it = iter(instants)
    return lambda: next(it)


def test_start_log_programs_one_capture_and_stamps_init_on_the_rig_clock(guard) -> None:
    with expected_protocol(Nhr9300, START_LOG, envelope=guard) as battery:
        battery.start_log(0.001, clock(10.0, 10.002))
        assert battery._log == pytest.approx((10.001, 0.001, 0.001, 0))


def test_a_log_period_beyond_the_module_is_refused_before_any_io(guard) -> None:
    with expected_protocol(Nhr9300, [], envelope=guard) as battery:
        with pytest.raises(InstrumentError, match="log period"):
            battery.start_log(1e-7, clock())


def test_fetch_log_pairs_current_and_voltage_samples_by_index_until_no_sample_is_left(guard) -> None:
    script = START_LOG + [("FETC:ARR:CURR? 0", "+1.0E+01,+1.1E+01,+1.2E+01"), ("FETC:ARR:VOLT? 0", "+3.8E+02,+3.81E+02"),
                          ("FETC:ARR:CURR? 2", "+1.2E+01"), ("FETC:ARR:VOLT? 2", "+3.82E+02"),
                          ("FETC:ARR:CURR? 3", NO_SAMPLE),
                          ("FETC:ARR:CURR? 3", NO_SAMPLE)]
    with expected_protocol(Nhr9300, script, envelope=guard) as battery:
        battery.start_log(0.001, clock(10.0, 10.0))
        batch = battery.fetch_log()
        assert (batch.first, len(batch), batch.period_s, batch.started_s) == (0, 3, 0.001, 10.0)
        np.testing.assert_allclose(batch.current_a, [[10, 10, 10], [11, 11, 11], [12, 12, 12]])
        np.testing.assert_allclose(batch.voltage_v[:, 0], [380, 381, 382])
        empty = battery.fetch_log()
        assert (empty.first, len(empty), empty.current_a.shape) == (3, 0, (0, 3))


def test_a_logged_current_beyond_the_envelope_ends_the_case(guard) -> None:
    script = START_LOG + [("FETC:ARR:CURR? 0", "+4.5E+01"), ("FETC:ARR:VOLT? 0", "+3.8E+02"),
                          ("FETC:ARR:CURR? 1", NO_SAMPLE)]
    with expected_protocol(Nhr9300, script, envelope=guard) as battery:
        battery.start_log(0.001, clock(0.0, 0.0))
        with pytest.raises(EnvelopeBreach, match="logged current"):
            battery.fetch_log()


def test_a_capture_reply_that_is_not_numbers_names_the_command(guard) -> None:
    with expected_protocol(Nhr9300, START_LOG + [("FETC:ARR:CURR? 0", "<ERROR -222>")], name="battery",
                           envelope=guard) as battery:
        battery.start_log(0.001, clock(0.0, 0.0))
        with pytest.raises(InstrumentError, match="battery.*FETC:ARR:CURR\\? 0.*not a list of numbers"):
            battery.fetch_log()


def test_fetch_without_a_capture_and_a_full_capture_are_errors_not_empty_batches(guard) -> None:
    start = (settings("ABOR", "SENS:SWE:POIN 1000", "SENS:SWE:APER 1") + [("SENS:SWE:TINT?", "+1.0E-03")]
             + setting("INIT"))
    full = ",".join(["+1.0E+00"] * 1000)
    script = start + [("FETC:ARR:CURR? 0", full), ("FETC:ARR:VOLT? 0", full), ("FETC:ARR:CURR? 1000", NO_SAMPLE),
                      ("FETC:ARR:CURR? 1000", NO_SAMPLE)]
    with expected_protocol(Nhr9300, script, envelope=guard, options={"capture_points": 1000}) as battery:
        with pytest.raises(InstrumentError, match="start_log"):
            battery.fetch_log()
        battery.start_log(0.001, clock(0.0, 0.0))
        assert len(battery.fetch_log()) == 1000
        with pytest.raises(InstrumentError, match="capture of 1000 samples is full"):
            battery.fetch_log()


def test_stop_log_ends_the_capture(guard) -> None:
    with expected_protocol(Nhr9300, START_LOG + setting("ABOR"), envelope=guard) as battery:
        battery.start_log(0.001, clock(0.0, 0.0))
        battery.stop_log()
        assert battery._log is None
