"""The protocol-script double itself: it must fail loudly, or the driver tests prove nothing."""

from __future__ import annotations

import pytest
from protocol import ScriptedSession, expected_protocol

from drivers.scpi import ScpiDriver
from rig.core.errors import InstrumentError


def test_a_command_other_than_the_scripted_one_fails() -> None:
    with pytest.raises(AssertionError, match="expected 'SYST:ERR\\?'"):
        with expected_protocol(ScpiDriver, [("SYST:ERR?", '0,"No error"')]) as driver:
            driver.query("*IDN?")


def test_an_unconsumed_script_fails_at_the_end() -> None:
    with pytest.raises(AssertionError, match="left scripted commands unsent"):
        with expected_protocol(ScpiDriver, [("*IDN?", "x,y,z,1")]):
            pass


def test_a_command_beyond_the_script_fails() -> None:
    with pytest.raises(AssertionError, match="nothing left"):
        with expected_protocol(ScpiDriver, []) as driver:
            driver.identify()


def test_a_scripted_reply_is_returned_stripped_by_the_driver() -> None:
    with expected_protocol(ScpiDriver, [("*IDN?", "Chroma ATE,61845,1,1")]) as driver:
        assert driver.identify() == "Chroma ATE,61845,1,1"


def test_a_scripted_block_is_read_back_with_its_terminator_as_from_the_wire() -> None:
    session = ScriptedSession([(":WAV:DATA?", b"#14\x01\x00\xfe\xff")])
    session.write(":WAV:DATA?")
    assert session.read_bytes(2) + session.read_bytes(1) + session.read_bytes(5) == b"#14\x01\x00\xfe\xff\n"
    with pytest.raises(AssertionError, match="only 0 were sent"):
        session.read_bytes(1)


def test_a_driver_reads_a_block_as_pyvisa_would_decode_it() -> None:
    with expected_protocol(ScpiDriver, [(":WAV:DATA?", b"#14\x01\x00\xfe\xff")]) as driver:
        assert driver.query_block(":WAV:DATA?", "h").tolist() == [1, -2]
        assert driver.scripted_session.read_termination == "\n"  # switched back on after the block


def test_a_reply_that_is_not_a_definite_length_block_is_an_instrument_error() -> None:
    with expected_protocol(ScpiDriver, [(":WAV:DATA?", b"#0\x01\x00")]) as driver:
        with pytest.raises(InstrumentError, match="definite-length block"):
            driver.query_block(":WAV:DATA?", "h")


def test_a_block_that_is_not_whole_values_is_an_instrument_error_not_a_traceback() -> None:
    """A peer answering 7 bytes where 4-byte floats were asked for (found by an impostor battery emulator)."""
    with expected_protocol(ScpiDriver, [("FETC:ELOG? 10", b"#17" + b"\x01" * 7)]) as driver:
        with pytest.raises(InstrumentError, match="not whole 4-byte values"):
            driver.query_block("FETC:ELOG? 10", "f4")


def test_the_battery_emulators_log_is_refused_when_its_values_do_not_make_whole_records() -> None:
    """Five floats where records are six (current and voltage, average, minimum, maximum)."""
    from drivers.battery.keysight_rp7900 import KeysightRP7900
    with expected_protocol(KeysightRP7900, [("FETC:ELOG? 1000000", b"#220" + b"\x00" * 20)]) as battery:
        battery._log = (0.0, 0.0, 0.001, 0)
        with pytest.raises(InstrumentError, match="whole records"):
            battery.fetch_log()
