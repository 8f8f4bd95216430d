"""The simulated lab's SCPI core: header matching, program messages, the error queue, binary blocks."""

from __future__ import annotations

import pytest

from rig.sim.wire.scpi_server import ScpiError, ScpiInstrument, compile_header, ieee_block

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


# -- header paths within a program message (IEEE 488.2 / SCPI tree traversal) ---------------------------


class Tree(ScpiInstrument):
    """A small command tree: a source subsystem, a channel subsystem and one coupled setting."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, float] = {}
        self.log: list[str] = []
        for name in ("SOURce:VOLTage", "SOURce:CURRent", ":CHANnel1:RANGe", ":CHANnel1:OFFSet", "LIMit"):
            self.add(name, self._setter(name))
            self.add(name, self._getter(name), query=True)
        self.add("SOURce:VOLTage:RANGe", self._setter("SOURce:VOLTage:RANGe"))
        self.add("COUPled", self._coupled, coupled=True)
        self.add("COUPled", lambda a: f"{self.values.get('COUPled', 0.0):g}", query=True)

    def _setter(self, name: str):
        def set_value(args: list[str]) -> None:
            self.values[name] = float(args[0])
            self.log.append(name)
        return set_value

    def _getter(self, name: str):
        return lambda args: f"{self.values.get(name, 0.0):g}"

    def _coupled(self, args: list[str]) -> None:
        value = float(args[0])
        self.log.append("COUPled")
        if value > 300.0:
            raise ScpiError(-222, "Data out of range")
        self.values["COUPled"] = value


@pytest.fixture
def tree() -> Tree:
    return Tree()


def test_a_unit_without_a_leading_colon_is_relative_to_the_previous_units_path(tree: Tree) -> None:
    assert tree.execute(":CHAN1:RANG 10;OFFS 0.5") is None
    assert tree.values == {":CHANnel1:RANGe": 10.0, ":CHANnel1:OFFSet": 0.5}
    assert tree.execute("SYST:ERR?") == '0,"No error"'


def test_a_root_level_header_after_a_subsystem_is_undefined_without_its_colon(tree: Tree) -> None:
    assert tree.execute("SOUR:VOLT 230;SYST:ERR?") is None  # SOUR:SYST:ERR? does not exist: no reply
    assert tree.values == {"SOURce:VOLTage": 230.0}
    assert tree.execute("SYST:ERR?") == '-113,"Undefined header;SYST:ERR?"'
    assert tree.execute("SOUR:VOLT 231;:SYST:ERR?") == '0,"No error"'  # the leading colon returns to the root


def test_relative_units_continue_in_the_same_subsystem(tree: Tree) -> None:
    tree.execute("SOUR:VOLT 230;CURR 5;VOLT?;CURR?")
    assert tree.values == {"SOURce:VOLTage": 230.0, "SOURce:CURRent": 5.0}
    assert tree.execute("SOUR:VOLT 1;CURR?") == "5"


def test_common_commands_do_not_change_the_path(tree: Tree) -> None:
    assert tree.execute("SOUR:VOLT 230;*IDN?;CURR 7") == "v2g-rig,simulated instrument,0,0"
    assert tree.values["SOURce:CURRent"] == 7.0
    assert tree.execute("SYST:ERR?") == '0,"No error"'


def test_the_path_is_the_header_minus_its_last_node(tree: Tree) -> None:
    tree.execute("SOUR:VOLT 230;VOLT:RANG 300")  # VOLT:RANG relative to SOUR:, not SOUR:VOLT:
    assert tree.values["SOURce:VOLTage:RANGe"] == 300.0
    tree.execute("SOUR:VOLT:RANG 150;LIM 4")  # relative to SOUR:VOLT: there is no SOUR:VOLT:LIM
    assert "LIMit" not in tree.values
    assert tree.execute("SYST:ERR?") == '-113,"Undefined header;LIM"'


def test_every_program_message_starts_at_the_root(tree: Tree) -> None:
    tree.execute(":CHAN1:RANG 10")
    assert tree.execute("LIM 3;LIM?") == "3"  # a new message: LIM is found at the root again


def test_coupled_settings_run_after_the_rest_of_the_message(tree: Tree) -> None:
    assert tree.execute("COUP 400;:SYST:ERR?") == '0,"No error"'  # the queue was read before COUP ran
    assert tree.execute("SYST:ERR?") == '-222,"Data out of range"'  # ... and blamed on nothing there
    assert tree.execute("COUP 200;COUP?") == "0"  # the query ran before the coupled setting
    assert tree.execute("COUP?") == "200"


def test_coupled_settings_keep_their_order_after_the_uncoupled_ones(tree: Tree) -> None:
    tree.execute("COUP 100;LIM 1;COUP 400;LIM 2")
    assert tree.log == ["LIMit", "LIMit", "COUPled", "COUPled"]
    assert tree.values["COUPled"] == 100.0
    assert tree.execute("SYST:ERR?") == '-222,"Data out of range"'


def test_a_setting_then_the_error_query_as_its_own_message_sees_a_coupled_error() -> None:
    tree = Tree()
    assert tree.execute("COUP 400") is None
    assert tree.execute("SYST:ERR?") == '-222,"Data out of range"'
