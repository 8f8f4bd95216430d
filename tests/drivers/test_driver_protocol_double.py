"""The protocol-script double itself: it must fail loudly, or the driver tests prove nothing."""

from __future__ import annotations

import pytest
from protocol import ScriptedSession, expected_protocol

from drivers.scpi import ScpiDriver


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


def test_session_decodes_binary_blocks_like_pyvisa() -> None:
    session = ScriptedSession([(":WAV:DATA?", b"#14\x01\x00\xfe\xff")])
    assert session.query_binary_values(":WAV:DATA?", datatype="h", is_big_endian=False) == [1, -2]
