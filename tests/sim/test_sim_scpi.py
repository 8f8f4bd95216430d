"""The simulated lab's SCPI core: header matching, program messages, the error queue, binary blocks."""

from __future__ import annotations

import pytest

from rig.sim.scpi import ScpiError, ScpiInstrument, compile_header, ieee_block

VOLTAGE = "[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]:AC"


@pytest.mark.parametrize(
    "header",
    [
        "SOUR:VOLT:LEV:IMM:AMPL:AC",  # every node, short
        "SOURCE:VOLTAGE:LEVEL:IMMEDIATE:AMPLITUDE:AC",  # every node, long
        "source:voltage:ac",  # any case, optional nodes left out
        "VOLT:AC",
        "VOLT:LEV:AC",
        "SOUR:VOLTAGE:AMPL:AC",  # long and short mixed
        ":SOUR:VOLT:AC",  # leading colon (from the root)
    ],
)
def test_header_accepts_long_short_and_optional_forms(header: str) -> None:
    assert compile_header(VOLTAGE).match(header)


@pytest.mark.parametrize(
    "header",
    [
        "SOUR:VOLTA:AC",  # neither the short nor the long form
        "SOUR:VOL:AC",
        "VOLT:ACX",
        "VOLT:AC:LEV",  # optional node out of place
        "SOUR:AC",  # a required node missing
        "SOUR::VOLT:AC",
    ],
)
def test_header_refuses_anything_else(header: str) -> None:
    assert not compile_header(VOLTAGE).match(header)


def test_numeric_suffix_is_part_of_the_node() -> None:
    pattern = compile_header(":CHANnel1:RANGe")
    assert pattern.match("CHAN1:RANG")
    assert pattern.match(":channel1:range")
    assert not pattern.match("CHAN2:RANG")
    assert not pattern.match("CHAN12:RANG")
    assert not pattern.match("CHANNEL:RANGE")


def test_common_commands_match_exactly() -> None:
    assert compile_header("*IDN").match("*idn")
    assert not compile_header("*IDN").match("IDN")
    assert compile_header("SYSTem:ERRor[:NEXT]").match("SYST:ERR")
    assert compile_header("SYSTem:ERRor[:NEXT]").match("system:error:next")


class Dummy(ScpiInstrument):
    """A two-command instrument for exercising the base class."""

    idn = "ACME,DUMMY,0001,1.0"

    def __init__(self) -> None:
        super().__init__()
        self.level = 0.0
        self.resets = 0
        self.add("LEVel", self._set_level)
        self.add("LEVel", lambda a: f"{self.level:.1f}", query=True)
        self.add("FAIL", self._fail)
        self.add("DATA", lambda a: ieee_block(b"\x00\x01"), query=True)

    def _set_level(self, args: list[str]) -> None:
        (value,) = args
        self.level = float(value)

    def _fail(self, args: list[str]) -> None:
        raise ScpiError(-221, "Settings conflict;always")

    def reset(self) -> None:
        self.resets += 1


@pytest.fixture
def dummy() -> Dummy:
    return Dummy()


def test_idn_and_opc(dummy: Dummy) -> None:
    assert dummy.execute("*IDN?") == "ACME,DUMMY,0001,1.0"
    assert dummy.execute("*OPC?") == "1"


def test_a_setting_returns_no_reply_and_a_query_reads_it_back(dummy: Dummy) -> None:
    assert dummy.execute("LEV 12.5") is None
    assert dummy.execute("LEVEL?") == "12.5"


def test_units_separated_by_semicolons_run_in_order_and_replies_join(dummy: Dummy) -> None:
    assert dummy.execute("LEV 3;LEV?;:LEV 4;LEV?") == "3.0;4.0"
    assert dummy.execute(" LEV 5 ; ;SYST:ERR?") == '0,"No error"'


def test_an_undefined_header_queues_minus_113_and_the_rest_still_runs(dummy: Dummy) -> None:
    assert dummy.execute("BOGUS 1;LEV 7;NOPE?") is None
    assert dummy.level == 7.0
    assert dummy.execute("SYST:ERR?") == '-113,"Undefined header;BOGUS"'
    assert dummy.execute("SYST:ERR?") == '-113,"Undefined header;NOPE?"'
    assert dummy.execute("SYST:ERR?") == '0,"No error"'
    assert dummy.execute("SYST:ERR?") == '0,"No error"'


def test_a_query_form_of_a_setting_only_command_is_undefined(dummy: Dummy) -> None:
    dummy.execute("FAIL?")
    assert dummy.execute("SYST:ERR?") == '-113,"Undefined header;FAIL?"'


def test_the_error_queue_is_first_in_first_out(dummy: Dummy) -> None:
    dummy.execute("FAIL")
    dummy.execute("LEV abc")  # a ValueError in a handler becomes -224
    dummy.execute("LEV 1,2")  # so does a wrong argument count
    replies = [dummy.execute("SYST:ERR?") for _ in range(4)]
    assert replies[0] == '-221,"Settings conflict;always"'
    assert replies[1].startswith('-224,"Illegal parameter value;')
    assert replies[2].startswith('-224,"Illegal parameter value;')
    assert replies[3] == '0,"No error"'


def test_cls_clears_the_queue_and_rst_resets(dummy: Dummy) -> None:
    dummy.execute("FAIL;FAIL")
    dummy.execute("*CLS")
    assert dummy.execute("SYST:ERR?") == '0,"No error"'
    dummy.execute("*RST")
    assert dummy.resets == 1


def test_a_binary_reply_is_returned_as_bytes(dummy: Dummy) -> None:
    assert dummy.execute("DATA?") == b"#12\x00\x01"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [(b"abc", b"#13abc"), (b"", b"#10"), (b"x" * 10, b"#210" + b"x" * 10), (b"y" * 1234, b"#41234" + b"y" * 1234)],
)
def test_ieee_block_is_a_definite_length_block(payload: bytes, expected: bytes) -> None:
    assert ieee_block(payload) == expected
