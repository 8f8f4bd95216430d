"""The WAGO 750-352 driver's exact Modbus exchanges, request by request, against a scripted peer on loopback.

The peer is a plain socket that takes Modbus TCP frames and answers from a script of (request PDU, reply PDU)
pairs in hex: function code and data, as in the coupler manual's telegram tables. Every request must be the next
scripted one (unit 1) and the script must be used up, so a driver that reads the outputs at 0x0000 (the inputs,
on this coupler) or forgets the watchdog fails here.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from drivers import DRIVERS, driver_class
from drivers.dio.wago_750 import Wago750
from rig.core.errors import IdentityError, InstrumentError
from rig.core.identity import check_identity
from rig.core.roles import DigitalIO

OPTIONS = {"unit": 1, "inputs": {"d1": 0, "d2": 1}, "outputs": {"contactor": 2, "k": 0}, "watchdog_s": 2.5,
           "timeout_s": 1.0}
IDENTITY = [("04 2011 0001", "04 02 02EE"), ("04 2012 0001", "04 02 0160"), ("04 2010 0001", "04 02 0008"),
            ("04 2013 0001", "04 02 0001"), ("04 2014 0001", "04 02 0009"), ("04 1031 0003", "04 06 0030DE000352")]
ARM = [("06 1008 55AA", "06 1008 55AA"), ("06 1000 0019", "06 1000 0019"), ("06 1001 001B", "06 1001 001B"),
       ("04 1003 0001", "04 02 0007"), ("06 1003 0008", "06 1003 0008"), ("04 1006 0001", "04 02 0001")]
"""Stop (and clear a fault), 2.5 s as 25 x 100 ms, functions 1, 2, 4 and 5 in the mask, a changed trigger, running."""
SAFE_OFF = [("05 0002 0000", "05 0002 0000"), ("05 0000 0000", "05 0000 0000")]


class ScriptedPeer:
    """A Modbus TCP peer that answers a script and nothing else; what went wrong is kept for the test."""

    def __init__(self, script: list[tuple[str, str]]) -> None:
        self.pending = [(bytes.fromhex(req.replace(" ", "")), bytes.fromhex(rep.replace(" ", ""))) for req, rep in script]
        self.problems: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            while True:
                header = self._exactly(connection, 7)
                if header is None:
                    return
                tid, protocol, length, unit = struct.unpack(">HHHB", header)
                pdu = self._exactly(connection, length - 1) or b""
                if not self.pending:
                    self.problems.append(f"{pdu.hex(' ')} sent, but the script has nothing left")
                    return
                expected, reply = self.pending.pop(0)
                if (protocol, unit, pdu) != (0, 1, expected):
                    self.problems.append(f"sent {pdu.hex(' ')} (unit {unit}), the script expected {expected.hex(' ')}")
                    return
                connection.sendall(struct.pack(">HHHB", tid, 0, len(reply) + 1, unit) + reply)

    @staticmethod
    def _exactly(connection: socket.socket, count: int) -> bytes | None:
        data = b""
        while len(data) < count:
            chunk = connection.recv(count - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    @property
    def resource(self) -> str:
        return f"modbus-tcp://127.0.0.1:{self.port}"


@contextmanager
def expected_exchanges(script: list[tuple[str, str]], **options: object) -> Iterator[Wago750]:
    peer = ScriptedPeer(script)
    driver = Wago750(peer.resource, name="dio", options={**OPTIONS, **options})
    try:
        yield driver
    finally:
        driver.close()
        peer.thread.join(timeout=2.0)
        peer.listener.close()
    assert peer.problems == []
    assert not peer.pending, f"left scripted requests unsent: {peer.pending}"


def test_the_driver_is_registered_and_fulfils_the_digital_io_role() -> None:
    assert DRIVERS["wago_750"] and driver_class("wago_750") is Wago750
    with expected_exchanges([]) as dio:
        assert isinstance(dio, DigitalIO)
        assert (dio.inputs, dio.outputs) == (("d1", "d2"), ("contactor", "k"))


# -- identity -----------------------------------------------------------------------------------------------


def test_identify_reads_series_item_firmware_and_mac_one_register_at_a_time() -> None:
    with expected_exchanges(IDENTITY) as dio:
        answer = dio.identify()
    assert answer == "WAGO,750-352,00:30:DE:00:03:52,01.09(08)"
    idn = check_identity("dio", "x", answer, Wago750.family)
    assert (idn.model, idn.serial) == ("750-352", "00:30:DE:00:03:52")


def test_another_wago_coupler_gets_only_the_two_identity_reads_and_is_refused_naming_the_role() -> None:
    with expected_exchanges([("04 2011 0001", "04 02 02EE"), ("04 2012 0001", "04 02 0155")]) as dio:  # 750-341
        answer = dio.identify()
    with pytest.raises(IdentityError) as refused:
        check_identity("dio", "modbus-tcp://192.0.2.40", answer, Wago750.family)
    assert refused.value.received == "WAGO,750-341,," and "dio" in str(refused.value)
    assert "series and item number in registers 0x2011-0x2012" in str(refused.value)


def test_a_device_without_the_registers_is_refused_naming_its_refusal() -> None:
    with expected_exchanges([("04 2011 0001", "84 02")]) as dio:  # a Moxa E1212 at the address, say
        answer = dio.identify()
    assert answer == "Modbus exception 2 (illegal data address) to read input registers 8209..8209 (series code)"
    with pytest.raises(IdentityError, match="dio"):
        check_identity("dio", "x", answer, Wago750.family)


def test_a_reply_that_does_not_answer_the_request_is_no_answer_naming_the_role_and_request() -> None:
    with expected_exchanges([("04 2011 0001", "03 02 02EE")], timeout_s=0.3) as dio:  # the wrong function code
        with pytest.raises(InstrumentError, match=r"dio: .*read input registers 8209\.\.8209 \(series code\).*"
                                                  r"function 3's, not an answer to function 4"):
            dio.identify()


def test_a_reply_with_fewer_registers_than_asked_is_refused() -> None:
    with expected_exchanges([*IDENTITY[:5], ("04 1031 0003", "04 04 0030DE00")]) as dio:
        with pytest.raises(InstrumentError, match=r"dio: .*\(MAC-ID\).*carries 2 values, 3 were asked"):
            dio.identify()


# -- set-up, lines, safe state ----------------------------------------------------------------------------


def test_setup_clears_a_fault_checks_the_image_switches_off_reads_back_and_arms_the_watchdog() -> None:
    script = [("06 1008 55AA", "06 1008 55AA"), ("04 1024 0002", "04 04 0008 0008"), *SAFE_OFF,
              ("01 0200 0003", "01 01 00"), *ARM]
    with expected_exchanges(script) as dio:
        dio.setup()


def test_setup_refuses_a_line_beyond_the_nodes_digital_image() -> None:
    with expected_exchanges([("06 1008 55AA", "06 1008 55AA"), ("04 1024 0002", "04 04 0002 0008")]) as dio:
        with pytest.raises(InstrumentError, match=r"dio: 'set-up': output lines \{'contactor': 2\} are beyond the "
                                                  r"node's 2 digital output bits"):
            dio.setup()


def test_setup_refuses_a_watchdog_that_does_not_run() -> None:
    script = [("06 1008 55AA", "06 1008 55AA"), ("04 1024 0002", "04 04 0008 0008"), *SAFE_OFF,
              ("01 0200 0003", "01 01 00"), *ARM[:-1], ("04 1006 0001", "04 02 0000")]
    with expected_exchanges(script) as dio:
        with pytest.raises(InstrumentError, match=r"0x1006 \(watchdog status\).*reads 0, not 1"):
            dio.setup()


def test_inputs_are_discrete_inputs_from_0() -> None:
    with expected_exchanges([("02 0001 0001", "02 01 01"), ("02 0000 0002", "02 01 02")]) as dio:
        assert dio.read_input("d2") is True
        assert dio.read_inputs() == {"d1": False, "d2": True}


def test_outputs_are_written_at_n_and_read_back_at_0x0200_plus_n() -> None:
    script = [("05 0000 FF00", "05 0000 FF00"), ("01 0200 0003", "01 01 05"), ("05 0002 0000", "05 0002 0000")]
    with expected_exchanges(script) as dio:
        dio.set_output("k", True)
        assert dio.read_outputs() == {"contactor": True, "k": True}
        dio.set_output("contactor", False)


def test_faults_name_an_output_that_does_not_read_back_as_commanded() -> None:
    with expected_exchanges([("01 0200 0003", "01 01 01")]) as dio:
        assert dio.faults() == ["output k reads on, commanded off"]


def test_safe_off_switches_every_output_off_in_the_bench_files_order() -> None:
    with expected_exchanges(SAFE_OFF) as dio:
        dio.safe_off()


def test_bench_checks_read_the_lines_and_the_module_list() -> None:
    modules = "0160 8801 8802" + " 0000" * 62
    script = [("02 0000 0002", "02 01 00"), ("01 0200 0003", "01 01 00"), ("04 2030 0041", "04 82 " + modules)]
    with expected_exchanges(script) as dio:
        checks = dio.bench_checks()
    assert [(c.outcome, c.detail) for c in checks] == [
        ("confirmed", "d1 off, d2 off"), ("confirmed", "contactor off, k off"),
        ("confirmed", "coupler 352; 8 digital in, 8 digital out")]


def test_a_refusal_names_the_role_the_request_and_the_exception() -> None:
    with expected_exchanges([("05 0000 FF00", "85 02")]) as dio:
        with pytest.raises(InstrumentError, match=r"dio: 'write coil 0 \(k\) on': the module refused it: Modbus "
                                                  r"exception 2 \(illegal data address\)"):
            dio.set_output("k", True)


def test_a_device_failure_without_an_expired_watchdog_is_the_refusal() -> None:
    with expected_exchanges([("02 0000 0002", "82 04"), ("04 1006 0001", "04 02 0001")]) as dio:
        with pytest.raises(InstrumentError, match=r"exception 4 \(server device failure\)"):
            dio.read_inputs()


def test_a_watchdog_that_ran_out_with_every_output_off_is_re_armed_and_the_request_repeated() -> None:
    script = [("02 0000 0002", "82 04"), ("04 1006 0001", "04 02 0002"), *ARM, ("02 0000 0002", "02 01 01")]
    with expected_exchanges(script) as dio:
        assert dio.read_inputs() == {"d1": True, "d2": False}


def test_a_watchdog_that_dropped_an_output_is_refused_naming_it_and_reported_once() -> None:
    script = [("05 0000 FF00", "05 0000 FF00"), ("02 0000 0002", "82 04"), ("04 1006 0001", "04 02 0002"), *ARM,
              ("01 0200 0003", "01 01 00")]
    with expected_exchanges(script) as dio:
        dio.set_output("k", True)
        with pytest.raises(InstrumentError, match=r"dio: 'read discrete inputs 0\.\.1': the coupler's watchdog ran "
                                                  r"out \(no request for 2\.5 s\) and de-energised k"):
            dio.read_inputs()
        assert dio.faults() == ["the coupler's watchdog ran out (no request for 2.5 s) and de-energised k"]


def test_safe_off_after_the_watchdog_ran_out_switches_off_and_keeps_the_drop_for_faults() -> None:
    script = [("05 0000 FF00", "05 0000 FF00"), ("05 0002 0000", "85 04"), ("04 1006 0001", "04 02 0002"), *ARM,
              ("05 0002 0000", "05 0002 0000"), ("05 0000 0000", "05 0000 0000"), ("01 0200 0003", "01 01 00")]
    with expected_exchanges(script) as dio:
        dio.set_output("k", True)
        dio.safe_off()
        assert dio.faults() == ["the coupler's watchdog ran out (no request for 2.5 s) and de-energised k"]


# -- options ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("options", "match"), [
    ({"inputs": {"d1": 512}, "outputs": {}}, "inputs.d1: address 512 is not one of the module's input channels "
                                             "0..511"),
    ({"inputs": {"d1": 0}, "watchdog_s": 0.05}, "watchdog_s: .*greater than or equal to 0.1"),
    ({"inputs": {"d1": 0}, "watchdog_s": 1.25}, r"watchdog_s: 1.25 s is not a multiple of 0.1 s"),
    ({"inputs": {"d1": 0}, "watchdog_s": 7000}, "watchdog_s: .*less than or equal to 6553.5"),
    ({"inputs": {"k": 0}, "outputs": {"k": 0}}, "lines both input and output"),
    ({"inputs": {}, "outputs": {}}, "no lines"),
])
def test_unusable_options_are_refused_before_connecting(options: dict, match: str) -> None:
    with pytest.raises(InstrumentError, match=f"unusable options: .*{match}"):
        Wago750("modbus-tcp://127.0.0.1:1", name="dio", options=options)
