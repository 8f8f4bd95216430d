"""Tektronix 4/5/6 Series MSO driver against protocol scripts: every method with its exact commands and replies,
the Tektronix event model (``*ESR?`` primes ``ALLEv?``), wrong replies and queued errors named by command.
(Against the simulated scope over the wire: tests/drivers/test_capture_tektronix_mso_against_sim.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from protocol import expected_protocol

from drivers.analyzer.tektronix_mso import PREAMBLE, TektronixMso
from rig.core.errors import InstrumentError
from rig.core.identity import Idn
from rig.core.roles import Capture, Digitizer
from rig.sim.instruments.tektronix_mso_dialect import EMPTY, TektronixMso as SimulatedMso


def setting(command: str, esr: str = "0") -> list[tuple[str, str | None]]:
    """A setting as the driver sends it: the command, then ``*ESR?`` as its own message."""
    return [(command, None), ("*ESR?", esr)]


def settings(*commands: str) -> list[tuple[str, str | None]]:
    return [pair for command in commands for pair in setting(command)]


def block(codes: list[int] | np.ndarray) -> bytes:
    """A definite-length block of little-endian int16 codes (SRIbinary, width 2), written out by hand."""
    payload = np.asarray(codes, dtype="<i2").tobytes()
    length = str(len(payload))
    return f"#{len(length)}{length}".encode() + payload


def preamble(points: int, x_inc: float, x_zero: float, pt_off: int, y_mult: float, y_off: float, y_zero: float,
             readout: str = "2;RI;LSB") -> str:
    return f"{readout};{points};{x_inc:.6E};{x_zero:.9E};{pt_off};{y_mult:.6E};{y_off:.1f};{y_zero:.6E}"


def read_back(*, atten1: str = "1.0000E+02", units1: str = '"A"', coupling1: str = "DC", atten2: str = "1.0000E+02",
              mode: str = "SAMPLE") -> list[tuple[str, str]]:
    return [("CH1:PROBEFunc:EXTAtten?", atten1), ("CH1:PROBEFunc:EXTUnits?", units1),
            ("CH1:PROBEFunc:EXTUnits:STATE?", "1"), ("CH1:COUPling?", coupling1),
            ("CH2:PROBEFunc:EXTAtten?", atten2), ("CH2:PROBEFunc:EXTUnits?", '"V"'),
            ("CH2:PROBEFunc:EXTUnits:STATE?", "1"), ("CH2:COUPling?", "DC"), ("ACQuire:MODe?", mode)]


def setup_script(*, ratios: tuple[str, str] = ("100", "100"), scales: tuple[str, str] = ("10", "80"),
                 trigger: tuple[str, str] = ("1.5", "RISE")) -> list:
    return settings(
        "*CLS", "HEADer OFF",
        "DISplay:GLObal:CH1:STATE ON", f"CH1:PROBEFunc:EXTAtten {ratios[0]}", 'CH1:PROBEFunc:EXTUnits "A"',
        "CH1:PROBEFunc:EXTUnits:STATE 1", "CH1:COUPling DC", f"CH1:SCAle {scales[0]}", "CH1:POSition 0", "CH1:OFFSet 0",
        "DISplay:GLObal:CH2:STATE ON", f"CH2:PROBEFunc:EXTAtten {ratios[1]}", 'CH2:PROBEFunc:EXTUnits "V"',
        "CH2:PROBEFunc:EXTUnits:STATE 1", "CH2:COUPling DC", f"CH2:SCAle {scales[1]}", "CH2:POSition 0", "CH2:OFFSet 0",
        "ACQuire:MODe SAMple", "ACQuire:STOPAfter SEQuence", "TRIGger:A:TYPe EDGE", "TRIGger:A:MODe NORMal",
        "TRIGger:A:EDGE:SOUrce AUXiliary", f"TRIGger:AUXLevel {trigger[0]}", f"TRIGger:A:EDGE:SLOpe {trigger[1]}",
        "HORizontal:MODe MANual", "HORizontal:MODe:MANual:CONFIGure RECORDLength", "HORizontal:DELay:MODe OFF",
        "DATa:ENCdg SRIbinary", "DATa:WIDth 2", "DATa:STARt 1")


SETUP = setup_script() + read_back()


def arm_script(*, scale: str | None = "0.15", rate: str | None = "10000", chosen: tuple[str, str] = ("1.0000E+04", "15000"),
               position: str | None = "33.3333333", stop: str | None = "15000") -> list:
    """What ``arm`` sends for 0.5 s before to 1.0 s after at 10 kS/s (only what changed since the last arm)."""
    return [*read_back(), *(setting(f"HORizontal:MODe:SCAle {scale}") if scale else []),
            *(setting(f"HORizontal:MODe:SAMPLERate {rate}") if rate else []),
            ("HORizontal:MODe:SAMPLERate?", chosen[0]), ("HORizontal:MODe:RECOrdlength?", chosen[1]),
            *(setting(f"HORizontal:POSition {position}") if position else []),
            *(setting(f"DATa:STOP {stop}") if stop else []), *setting("ACQuire:STATE ON")]


# -- identity and role ------------------------------------------------------------------------------------------


def test_driver_fulfils_the_digitizer_role() -> None:
    with expected_protocol(TektronixMso, []) as scope:
        assert isinstance(scope, Digitizer)


def test_constructing_sends_nothing_and_identify_sends_only_idn() -> None:
    with expected_protocol(TektronixMso, [("*IDN?", SimulatedMso.idn)]) as scope:
        assert scope.scripted_session.sent == []
        assert scope.identify() == SimulatedMso.idn


@pytest.mark.parametrize("reply", [SimulatedMso.idn, "TEKTRONIX,MSO44,C0,CF:91.1CT FV:1.30", "TEKTRONIX,MSO46B,B0,1",
                                   "TEKTRONIX,MSO54,Q0,1", "TEKTRONIX,MSO58LP,Q0,1", "TEKTRONIX,MSO64,C0,1",
                                   "TEKTRONIX,MSO68B,C0,1"])
def test_family_admits_the_4_5_6_series_mso(reply: str) -> None:
    idn = Idn.parse(reply)
    assert idn is not None and TektronixMso.family.admits(idn)


@pytest.mark.parametrize("reply", ["TEKTRONIX,MSO24,C0,1", "TEKTRONIX,MDO34,C0,1", "TEKTRONIX,DPO4104,C0,1",
                                   "KEYSIGHT TECHNOLOGIES,MSOX3104T,MY1,7.5", "Rohde&Schwarz,RTB2004,1,1"])
def test_family_refuses_other_instruments(reply: str) -> None:
    idn = Idn.parse(reply)
    assert idn is not None and not TektronixMso.family.admits(idn)


# -- set-up and the front end -----------------------------------------------------------------------------------


def test_setup_sets_the_front_end_a_normal_aux_trigger_manual_timebase_and_the_readout_then_reads_back() -> None:
    with expected_protocol(TektronixMso, SETUP) as scope:
        scope.setup()


def test_setup_takes_probes_ranges_and_the_trigger_edge_from_the_bench_options() -> None:
    options = {"current_range_a": 40.0, "voltage_range_v": 1000.0, "current_probe_ratio": 10.0,
               "voltage_probe_ratio": 500, "trigger_level_v": 2.5, "trigger_slope": "fall"}
    script = setup_script(ratios=("10", "500"), scales=("4", "100"), trigger=("2.5", "FALL")) \
        + read_back(atten1="10.0", atten2="5.0000E+02")
    with expected_protocol(TektronixMso, script, options=options) as scope:
        scope.setup()


@pytest.mark.parametrize(("reply", "header", "why"), [
    ({"coupling1": "AC"}, "CH1:COUPling", "CH1 \\(current\\) coupling reads back 'AC', set 'DC'"),
    ({"units1": '"V"'}, "CH1:PROBEFunc:EXTUnits", "CH1 \\(current\\) units reads back"),
    ({"atten1": "1.0000E+01"}, "CH1:PROBEFunc:EXTAtten", "external attenuation reads back '1.0000E\\+01', set '100'"),
    ({"atten2": "1"}, "CH2:PROBEFunc:EXTAtten", "CH2 \\(voltage\\) external attenuation"),
    ({"mode": "HIRES"}, "ACQuire:MODe", "acquisition mode reads back 'HIRES', set 'SAMple'"),
])
def test_a_front_end_the_scope_does_not_hold_is_refused_naming_the_setting(reply: dict, header: str, why: str) -> None:
    with expected_protocol(TektronixMso, setup_script() + read_back(**reply)) as scope:
        with pytest.raises(InstrumentError, match=why) as caught:
            scope.setup()
    assert caught.value.command == header and "none is taken" in caught.value.detail


@pytest.mark.parametrize("mode", ["SAMPLE", "SAM", "sample"])
def test_words_read_back_in_either_form(mode: str) -> None:
    with expected_protocol(TektronixMso, setup_script() + read_back(mode=mode)) as scope:
        scope.setup()


@pytest.mark.parametrize(("option", "value"), [("current_probe_ratio", 0.05), ("voltage_probe_ratio", 20_000.0),
                                               ("trigger_slope", "POS"), ("current_range_a", 0)])
def test_unusable_options_are_refused_before_any_io(option: str, value: object) -> None:
    with pytest.raises(InstrumentError, match=option):
        with expected_protocol(TektronixMso, [], options={option: value}):
            pass


# -- the event model ------------------------------------------------------------------------------------------


def test_a_refused_setting_is_named_with_the_events_the_queue_released() -> None:
    script = [("HEADer OFF", None), ("*ESR?", "32"), ("ALLEv?", '113,"Undefined header;HEADer"')]
    with expected_protocol(TektronixMso, script) as scope:
        with pytest.raises(InstrumentError, match='113,"Undefined header;HEADer" \\(\\*ESR\\? 32\\)') as caught:
            scope.write("HEADer OFF")
    assert (caught.value.command, caught.value.instrument) == ("HEADer OFF", "dut-instrument")


def test_events_that_are_not_errors_pass_and_are_drained() -> None:
    script = [("*CLS", None), ("*ESR?", "129"), ("ALLEv?", '401,"Power on",402,"Operation complete"')]
    with expected_protocol(TektronixMso, script) as scope:
        scope.write("*CLS")


def test_an_error_bit_without_an_event_still_raises() -> None:
    script = [("DATa:WIDth 2", None), ("*ESR?", "16"), ("ALLEv?", EMPTY)]
    with expected_protocol(TektronixMso, script) as scope:
        with pytest.raises(InstrumentError, match="no event queued \\(\\*ESR\\? 16\\)"):
            scope.write("DATa:WIDth 2")


@pytest.mark.parametrize(("esr", "allev", "why"), [("OK", None, "\\*ESR\\? answered 'OK', not a number"),
                                                   ("32", "garbled", "answered 'garbled', not <code>")])
def test_a_register_or_queue_in_the_wrong_form_is_an_error_naming_the_query(esr: str, allev: str | None,
                                                                            why: str) -> None:
    script = [("HEADer OFF", None), ("*ESR?", esr), *([("ALLEv?", allev)] if allev else [])]
    with expected_protocol(TektronixMso, script) as scope:
        with pytest.raises(InstrumentError, match=why):
            scope.write("HEADer OFF")


def test_faults_report_what_the_queue_holds_and_nothing_when_empty() -> None:
    script = [("*ESR?", "0"), ("*ESR?", "16"), ("ALLEv?", '221,"Settings conflict;no completed acquisition"')]
    with expected_protocol(TektronixMso, script) as scope:
        assert scope.faults() == []
        assert scope.faults() == ['error queue: 221,"Settings conflict;no completed acquisition" (*ESR? 16)']


def test_bench_checks_ask_the_front_end_the_aux_input_and_the_trigger_state() -> None:
    answers = [reply for _, reply in read_back()] + ["1.5000E+00", "SAVE", "RECORDLENGTH"]
    queries = [query for query, _ in read_back()] + ["TRIGger:AUXLevel?", "TRIGger:STATE?",
                                                    "HORizontal:MODe:MANual:CONFIGure?"]
    script = setting("HEADer OFF") + [("HEADer?", "0"), ("*ESR?", "0")]
    script += [pair for query, reply in zip(queries, answers) for pair in ((query, reply), ("*ESR?", "0"))]
    with expected_protocol(TektronixMso, script) as scope:
        checks = scope.bench_checks()
    assert [c.outcome for c in checks] == ["confirmed"] * (1 + len(queries))


def test_a_unit_without_an_aux_input_is_a_bench_check_problem() -> None:
    script = setting("HEADer OFF") + [("HEADer?", "0"), ("*ESR?", "0")]
    script += [pair for query, reply in read_back() for pair in ((query, reply), ("*ESR?", "0"))]
    script += [("TRIGger:AUXLevel?", "none"), ("*ESR?", "0"), ("TRIGger:STATE?", "SAVE"), ("*ESR?", "0"),
               ("HORizontal:MODe:MANual:CONFIGure?", "RECORDLENGTH"), ("*ESR?", "0")]
    with expected_protocol(TektronixMso, script) as scope:
        checks = scope.bench_checks()
    assert [c.what for c in checks if c.outcome == "problem"] == [
        "the unit has an AUX trigger input (TRIGger:AUXLevel? answers a level)"]


# -- arming -----------------------------------------------------------------------------------------------------


def test_arm_asks_scale_then_rate_reads_back_what_the_scope_chose_and_starts_a_single_sequence() -> None:
    with expected_protocol(TektronixMso, SETUP + arm_script()) as scope:
        scope.setup()
        scope.arm(pre_s=0.5, post_s=1.0, sample_rate_hz=10_000.0)


def test_the_trigger_position_follows_the_record_the_scope_chose() -> None:
    # A record longer than the window: the position is pre_s over the record's duration (0.5 s of 2 s).
    with expected_protocol(TektronixMso, SETUP + arm_script(chosen=("1.0000E+04", "20000"), position="25",
                                                            stop="20000")) as scope:
        scope.setup()
        scope.arm(pre_s=0.5, post_s=1.0, sample_rate_hz=10_000.0)


def test_arm_sends_only_what_changed_since_the_last_arm() -> None:
    script = SETUP + arm_script() + arm_script(scale=None, rate=None, position=None, stop=None) \
        + arm_script(scale="0.45", rate=None, chosen=("1.0000E+04", "45000"), position="11.1111111", stop="45000")
    with expected_protocol(TektronixMso, script) as scope:
        scope.setup()
        scope.arm(pre_s=0.5, post_s=1.0, sample_rate_hz=10_000.0)
        scope.arm(pre_s=0.5, post_s=1.0, sample_rate_hz=10_000.0)
        scope.arm(pre_s=0.5, post_s=4.0, sample_rate_hz=10_000.0)


@pytest.mark.parametrize("chosen", [("5.0000E+03", "7500"), ("1.0000E+04", "10000")])
def test_a_rate_or_record_the_scope_chose_below_the_plan_is_refused_before_the_sequence_starts(
        chosen: tuple[str, str]) -> None:
    up_to_the_read_back = arm_script(chosen=chosen)[:len(read_back()) + 6]
    with expected_protocol(TektronixMso, SETUP + up_to_the_read_back) as scope:
        scope.setup()
        with pytest.raises(InstrumentError, match="the scope chose .* nothing was captured") as caught:
            scope.arm(pre_s=0.5, post_s=1.0, sample_rate_hz=10_000.0)
    assert caught.value.command == "HORizontal:MODe:SAMPLERate?"
    assert "ACQuire:STATE ON" not in scope.scripted_session.sent


def test_after_a_refused_rate_the_next_arm_sends_everything_again() -> None:
    first = arm_script(chosen=("5.0000E+03", "7500"))[:len(read_back()) + 6]
    with expected_protocol(TektronixMso, SETUP + first + arm_script()) as scope:
        scope.setup()
        with pytest.raises(InstrumentError):
            scope.arm(pre_s=0.5, post_s=1.0, sample_rate_hz=10_000.0)
        scope.arm(pre_s=0.5, post_s=1.0, sample_rate_hz=10_000.0)


def test_arm_refuses_a_front_end_changed_since_setup() -> None:
    with expected_protocol(TektronixMso, SETUP + read_back(coupling1="AC")) as scope:
        scope.setup()
        with pytest.raises(InstrumentError, match="coupling reads back 'AC'"):
            scope.arm(pre_s=0.5, post_s=1.0, sample_rate_hz=10_000.0)


@pytest.mark.parametrize(("pre_s", "post_s", "rate", "why"), [(1.0, 1000.0, 1e5, "more than the 31250000"),
                                                               (-0.1, 1.0, 1e4, "is not a capture"),
                                                               (0.5, 0.0, 1e4, "is not a capture")])
def test_arm_refuses_an_impossible_window_before_any_io(pre_s: float, post_s: float, rate: float, why: str) -> None:
    with expected_protocol(TektronixMso, []) as scope:
        with pytest.raises(InstrumentError, match=why):
            scope.arm(pre_s=pre_s, post_s=post_s, sample_rate_hz=rate)


def test_a_rate_read_back_that_is_not_a_number_is_named() -> None:
    script = SETUP + [*read_back(), *setting("HORizontal:MODe:SCAle 0.15"), *setting("HORizontal:MODe:SAMPLERate 10000"),
                      ("HORizontal:MODe:SAMPLERate?", "fast")]
    with expected_protocol(TektronixMso, script) as scope:
        scope.setup()
        with pytest.raises(InstrumentError, match="answered 'fast', not a number") as caught:
            scope.arm(pre_s=0.5, post_s=1.0, sample_rate_hz=10_000.0)
    assert caught.value.command == "HORizontal:MODe:SAMPLERate?"


@pytest.mark.parametrize(("reply", "armed"), [("READY", True), ("ARMED", False), ("TRIGGER", False), ("SAVE", False),
                                              ("AUTO", False), ("ready", True)])
def test_armed_is_ready_not_armed_which_is_still_filling_the_pre_trigger_record(reply: str, armed: bool) -> None:
    with expected_protocol(TektronixMso, [("TRIGger:STATE?", reply)]) as scope:
        assert scope.armed() is armed


def test_a_trigger_state_in_no_known_word_is_an_error() -> None:
    with expected_protocol(TektronixMso, [("TRIGger:STATE?", ":TRIGGER:STATE READY")]) as scope:
        with pytest.raises(InstrumentError, match="not a trigger state"):
            scope.armed()


@pytest.mark.parametrize(("reply", "complete"), [("0", True), ("1", False)])
def test_complete_reads_the_acquisition_state(reply: str, complete: bool) -> None:
    with expected_protocol(TektronixMso, [("ACQuire:STATE?", reply)]) as scope:
        assert scope.complete() is complete


def test_complete_names_a_state_that_is_not_a_number() -> None:
    with expected_protocol(TektronixMso, [("ACQuire:STATE?", "RUN")]) as scope:
        with pytest.raises(InstrumentError, match="ACQuire:STATE"):
            scope.complete()


# -- fetch ------------------------------------------------------------------------------------------------------


def fetch_script(current: tuple[str, bytes], voltage: tuple[str, bytes]) -> list:
    return [("ACQuire:NUMACq?", "1"), *setting("DATa:SOUrce CH1"), (PREAMBLE, current[0]), ("CURVe?", current[1]),
            *setting("DATa:SOUrce CH2"), (PREAMBLE, voltage[0]), ("CURVe?", voltage[1])]


def test_fetch_times_each_point_from_pt_off_and_xzero_and_scales_the_codes() -> None:
    current_codes = [-32768, -1000, 0, 1000, 32767]
    voltage_codes = [100, 200, 300, 400, 500]
    # The trigger falls between points 1 and 2: PT_Off 2, XZEro 0.00003 s after the trigger.
    script = fetch_script((preamble(5, 1e-4, 3e-5, 2, 1.5625e-3, 0.0, 0.5), block(current_codes)),
                          (preamble(5, 1e-4, 3e-5, 2, 1.25e-2, 0.0, -2.0), block(voltage_codes)))
    with expected_protocol(TektronixMso, script) as scope:
        capture = scope.fetch()
    assert isinstance(capture, Capture)
    np.testing.assert_allclose(capture.t_s, 3e-5 + (np.arange(5) - 2) * 1e-4)
    np.testing.assert_allclose(capture.channels["current"], np.array(current_codes) * 1.5625e-3 + 0.5)
    np.testing.assert_allclose(capture.channels["voltage"], np.array(voltage_codes) * 1.25e-2 - 2.0)
    assert capture.sample_rate_hz == pytest.approx(10_000.0)


def test_fetch_subtracts_yoff() -> None:
    script = fetch_script((preamble(3, 1e-3, 0.0, 0, 1.0, 10.0, 0.0), block([10, 11, 12])),
                          (preamble(3, 1e-3, 0.0, 0, 1.0, 0.0, 0.0), block([0, 0, 0])))
    with expected_protocol(TektronixMso, script) as scope:
        np.testing.assert_allclose(scope.fetch().channels["current"], [0.0, 1.0, 2.0])


@pytest.mark.parametrize(("current", "command", "why"), [
    ((preamble(6, 1e-4, 0.0, 0, 1.0, 0.0, 0.0), block([1, 2, 3, 4, 5])), "CURVe?", "5 points, preamble said 6"),
    ((preamble(5, 1e-4, 0.0, 0, 1.0, 0.0, 0.0, readout="1;RI;MSB"), None), PREAMBLE, "readout 1;RI;MSB, set 2;RI;LSB"),
    (("2;RI;LSB;5;1E-4", None), PREAMBLE, "5 preamble fields, expected 10"),
    ((preamble(5, 1e-4, 0.0, 0, 1.0, 0.0, 0.0).replace("1.000000E+00", "big"), None), PREAMBLE, "not a number"),
])
def test_fetch_refuses_a_preamble_or_block_it_cannot_trust(current: tuple[str, bytes | None], command: str,
                                                            why: str) -> None:
    script = [("ACQuire:NUMACq?", "1"), *setting("DATa:SOUrce CH1"), (PREAMBLE, current[0]),
              *([("CURVe?", current[1])] if current[1] is not None else [])]
    with expected_protocol(TektronixMso, script) as scope:
        with pytest.raises(InstrumentError, match=why) as caught:
            scope.fetch()
    assert caught.value.command == command


def test_fetch_refuses_channels_whose_time_axes_differ() -> None:
    script = fetch_script((preamble(3, 1e-4, 0.0, 1, 1.0, 0.0, 0.0), block([1, 2, 3])),
                          (preamble(3, 1e-4, 0.0, 0, 1.0, 0.0, 0.0), block([1, 2, 3])))
    with expected_protocol(TektronixMso, script) as scope:
        with pytest.raises(InstrumentError, match="CH2's time axis differs"):
            scope.fetch()


def test_fetch_without_a_completed_acquisition_asks_nothing_more() -> None:
    with expected_protocol(TektronixMso, [("ACQuire:NUMACq?", "0")]) as scope:
        with pytest.raises(InstrumentError, match="no acquisition completed"):
            scope.fetch()


def test_safe_off_stops_acquiring() -> None:
    with expected_protocol(TektronixMso, setting("ACQuire:STATE OFF")) as scope:
        scope.safe_off()
