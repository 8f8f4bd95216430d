"""The Modbus digital I/O driver against the simulated Moxa ioLogik E1212 over Modbus TCP (pymodbus both ends).

What the charger drives reaches the rig's inputs; what the rig drives reaches the lab's contact lines with the
lab time of the request; the module identifies itself by its System input registers, and a peer that is not the
module gets nothing but those reads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymodbus.client import ModbusTcpClient
from pymodbus.simulator import SimData
from pymodbus.simulator.simutils import DataType

from drivers.dio.modbus_dio import ModbusDio
from rig.config.bench_file import load_bench
from rig.core.errors import IdentityError, InstrumentError
from rig.core.identity import Idn, check_identity
from rig.core.roles import DigitalIO
from rig.sim.connector import Edge, Side
from rig.sim.charger.dut_profile import load_dut_profile
from rig.sim.simulated_lab import SimulatedLab
from rig.sim.instruments.moxa_e1212_dialect import MAC, SYSTEM_REGISTERS, MoxaE1212
from rig.sim.wire.modbus_server import ModbusServer

ROOT = Path(__file__).resolve().parents[2]
DC_BENCH = ROOT / "fixtures" / "benches" / "sim.yaml"
OPTIONS: dict[str, Any] = load_bench(DC_BENCH).instruments["dio"].options
CHADEMO_LINES = ("contactor", "k", "proximity", "estop")


@pytest.fixture
def dio(lab: SimulatedLab) -> Iterator[ModbusDio]:
    driver = ModbusDio(lab.serve("modbus_dio"), name="dio", options=OPTIONS)
    yield driver
    driver.close()


def charger_drives(lab: SimulatedLab, line: str, value: bool) -> None:
    with lab.lock:
        lab.model.connector.drive(lab.model.now, line, value, by=Side.CHARGER)


def port_of(resource: str) -> int:
    return int(resource.rsplit(":", 1)[1])


# -- identity ---------------------------------------------------------------------------------------


def test_the_driver_fulfils_the_digital_io_role_with_the_bench_files_lines(dio: ModbusDio) -> None:
    assert isinstance(dio, DigitalIO)
    assert dio.inputs == ("d1", "d2", "connector_lock")
    assert dio.outputs[:4] == CHADEMO_LINES  # then the site's lines (G100) and the grid switch
    assert {"load_a", "load_b", "ct_break"} <= set(dio.outputs)


def test_the_simulated_module_identifies_itself_by_its_system_registers(dio: ModbusDio) -> None:
    answer = dio.identify()
    assert answer == "Moxa,E1212,00:90:E8:00:00:01,V3.2.0"
    idn = check_identity("dio", dio.resource, answer, ModbusDio.family)
    assert (idn.manufacturer, idn.model, idn.serial, idn.firmware) == ("Moxa", "E1212", "00:90:E8:00:00:01", "V3.2.0")


def test_the_system_registers_are_laid_out_as_the_manual_gives_them(dio: ModbusDio, lab: SimulatedLab) -> None:
    client = ModbusTcpClient("127.0.0.1", port=port_of(dio.resource))
    assert client.connect()
    first, count = SYSTEM_REGISTERS["modelName"]
    assert client.read_input_registers(first, count=count).registers == [0x4531, 0x3231, 0x3200] + [0] * 7  # "E1212"
    assert client.read_input_registers(5024, count=3).registers == [int.from_bytes(MAC[i:i + 2], "big")
                                                                   for i in (0, 2, 4)]
    assert client.read_input_registers(5027, count=4).registers == [0x7F00, 0x0001, 0x0302, 0x0000]  # 127.0.0.1, V3.2.0
    lab.advance_to(70000.0)
    assert client.read_input_registers(5020, count=2).registers == [1, 70000 - 65536]  # uptime, s: high word first
    assert client.read_input_registers(5010, count=1).isError()  # between modelName and deviceUpTime
    assert client.read_input_registers(5008, count=4).isError()  # running past modelName
    client.close()


def test_the_module_does_not_identify_itself_by_read_device_identification(dio: ModbusDio) -> None:
    # The manual's map names functions 1-6, 15 and 16 only: a driver asking 0x2B/0x0E learns nothing.
    response = dio._client.read_device_information(read_code=1, object_id=0, device_id=dio.unit)
    assert not getattr(response, "information", {})


@pytest.mark.parametrize(("reply", "admitted"), [("Moxa,E1212,00:90:E8:00:00:01,V3.2.0", True),
                                                 ("Moxa Inc.,ioLogik E1212,,1.1", True),
                                                 ("Moxa,E1212-T,,2.0", True), ("Moxa,E1214,,3.2", False),
                                                 ("Advantech,ADAM-6050,,1.0", False)])
def test_the_family_is_the_e1212(reply: str, admitted: bool) -> None:
    idn = Idn.parse(reply)
    assert idn is not None and ModbusDio.family.admits(idn) is admitted


class _OtherModule(MoxaE1212):
    """Another member of the E1200 series (the same System registers), remembering every request it answers."""

    model_name = "E1214"

    def __init__(self, lab, requests: list[tuple[int, int]]) -> None:
        super().__init__(lab)
        self.requests = requests

    def request(self, function_code: int, address: int, values: Any) -> Any:
        self.requests.append((function_code, address))
        return super().request(function_code, address, values)


class _NoSystemRegisters(_OtherModule):
    """A Modbus device with coils and inputs but none of the E1200's System registers."""

    def simdata(self) -> Any:
        coils, inputs, holding, _ = super().simdata()
        return coils, inputs, holding, [SimData(0, datatype=DataType.INVALID)]


class _Peer:
    """Another Modbus TCP device on loopback, remembering the requests that reach it."""

    def __init__(self, lab: SimulatedLab, module: type[_OtherModule] = _OtherModule,
                 identity: dict[str, str] | None = None) -> None:
        self.requests: list[tuple[int, int]] = []
        self.server = ModbusServer(module(lab.model, self.requests), threading.RLock(), lambda: None,
                                   identity=identity or {}).start()

    def __enter__(self) -> _Peer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


@pytest.mark.parametrize(("module", "identity", "shown", "requests"), [
    (_OtherModule, {}, "Moxa,E1214,00:90:E8:00:00:01,V3.2.0", [(4, 5000), (4, 5024)]),  # a swapped module
    (_NoSystemRegisters, {"VendorName": "Moxa", "ProductCode": "E1212", "MajorMinorRevision": "3.2"},
     "Modbus exception 2 (illegal data address) to read input registers 5000..5009 (modelName)", []),
])
def test_a_peer_that_is_not_the_module_gets_nothing_but_the_identity_reads(lab, module, identity, shown,
                                                                            requests) -> None:
    # the second peer even answers Read Device Identification as the module: it is not asked
    with _Peer(lab, module, identity) as peer:
        driver = ModbusDio(peer.server.resource, name="dio", options=OPTIONS)
        with pytest.raises(IdentityError) as caught:
            check_identity("dio", driver.resource, driver.identify(), ModbusDio.family)
        driver.close()
        assert peer.requests == requests  # read-only identity registers, nothing written
    assert caught.value.received == shown and "Moxa ioLogik E1212" in caught.value.expected
    assert "asked its model name, MAC and firmware in input registers 5000-5029" in str(caught.value)
    assert "*IDN?" not in str(caught.value)


def test_a_peer_that_does_not_speak_modbus_is_no_answer(lab) -> None:
    scpi = lab.serve("chroma_61800").split("::")[2]  # an SCPI socket: it waits for a newline that never comes
    driver = ModbusDio(f"modbus-tcp://127.0.0.1:{scpi}", name="dio", options={**OPTIONS, "timeout_s": 0.3})
    with pytest.raises(InstrumentError, match=r"read input registers 5000\.\.5009 \(modelName\).*no answer"):
        driver.identify()
    driver.close()


def test_nothing_listening_is_refused_when_the_session_opens(lab) -> None:
    with _Peer(lab) as peer:
        free = port_of(peer.server.resource)
    with pytest.raises(InstrumentError, match="cannot connect"):
        ModbusDio(f"modbus-tcp://127.0.0.1:{free}", name="dio", options=OPTIONS)


# -- lines ------------------------------------------------------------------------------------------


def test_inputs_read_what_the_charger_drives(dio: ModbusDio, lab: SimulatedLab) -> None:
    dio.setup()
    assert dio.read_inputs() == {"d1": False, "d2": False, "connector_lock": False}
    lab.advance_to(2.0)
    charger_drives(lab, "d1", True)
    lab.advance_to(2.5)
    charger_drives(lab, "connector_lock", True)
    assert dio.read_input("d1") and not dio.read_input("d2")
    assert dio.read_inputs() == {"d1": True, "d2": False, "connector_lock": True}


def test_outputs_reach_the_lab_with_the_lab_time_of_the_request(dio: ModbusDio, lab: SimulatedLab) -> None:
    dio.setup()
    lab.advance_to(3.5)
    dio.set_output("proximity", True)
    lab.advance_to(4.25)
    dio.set_output("k", True)
    dio.set_output("contactor", True)
    lines = lab.model.connector
    assert lines.edges() == [Edge(3.5, "proximity", True, Side.VEHICLE), Edge(4.25, "k", True, Side.VEHICLE),
                             Edge(4.25, "contactor", True, Side.VEHICLE)]
    assert lab.model.dc_bus.contactor_closed  # the contactor line is the DC bus's contactor
    assert {line: on for line, on in dio.read_outputs().items() if line in CHADEMO_LINES} == {
        "contactor": True, "k": True, "proximity": True, "estop": False}
    assert dio.faults() == []


@pytest.mark.realtime
def test_outputs_in_a_real_time_lab_carry_the_wall_clock_lab_time() -> None:
    lab = SimulatedLab(load_dut_profile(ROOT / "fixtures" / "duts" / "compliant.yaml"), seed=3, time_mode="real")
    try:
        dio = ModbusDio(lab.serve("modbus_dio"), name="dio", options=OPTIONS)
        before = lab.now
        dio.set_output("k", True)
        after = lab.now
        (edge,) = lab.model.connector.edges("k")
        assert before <= edge.t <= after
        dio.close()
    finally:
        lab.close()


def test_safe_off_de_energises_every_output_in_the_bench_files_order(dio: ModbusDio, lab: SimulatedLab) -> None:
    dio.setup()
    for line in ("proximity", "k", "contactor"):
        dio.set_output(line, True)
    lab.advance_to(9.0)
    dio.safe_off()
    assert [(edge.line, edge.value) for edge in lab.model.connector.edges(since=9.0)] == [
        ("contactor", False), ("k", False), ("proximity", False)]
    assert not lab.model.dc_bus.contactor_closed
    assert {line: on for line, on in dio.read_outputs().items() if line in CHADEMO_LINES} == {
        "contactor": False, "k": False, "proximity": False, "estop": False}


def test_faults_report_outputs_that_do_not_read_back_as_commanded(dio: ModbusDio, lab: SimulatedLab) -> None:
    dio.setup()
    other = ModbusTcpClient("127.0.0.1", port=port_of(dio.resource))
    assert other.connect()
    other.write_coil(0, True)  # another master switches k on
    assert dio.faults() == ["output k reads on, commanded off"]
    other.close()


def test_lines_the_bench_does_not_name_are_refused_before_any_io(dio: ModbusDio, lab: SimulatedLab) -> None:
    with pytest.raises(InstrumentError, match="no output line 'd1'.*contactor, k, proximity"):
        dio.set_output("d1", True)
    with pytest.raises(InstrumentError, match="no input line 'k'"):
        dio.read_input("k")
    assert lab.model.connector.edges() == []


def test_the_module_refuses_channels_it_does_not_have(dio: ModbusDio) -> None:
    client = ModbusTcpClient("127.0.0.1", port=port_of(dio.resource))
    assert client.connect()
    assert client.write_coil(8, True).isError()  # eight outputs: coils 0..7
    assert client.read_discrete_inputs(16, count=1).isError()  # sixteen inputs: 0..15
    assert not client.write_coil(7, True).isError()
    client.close()


@pytest.mark.parametrize(("options", "match"), [
    ({"inputs": {"d1": 16}, "outputs": {"k": 0}}, "inputs.d1: address 16 is not one of the module's input channels 0..15"),
    ({"inputs": {}, "outputs": {"k": 8}}, "outputs.k: address 8 is not one of the module's output channels 0..7"),
    ({"inputs": {"d1": 0, "d2": 0}}, "inputs.d2: address 0 is also 'd1''s: two lines on one channel"),
    ({"inputs": {"k": 0}, "outputs": {"k": 0}}, "lines both input and output"),
    ({"inputs": {"d1": 0}, "unit": 300}, "unit: .*less than or equal to 255"),
    ({"inputs": {"d1": 0}, "baud": 9600}, "baud: unknown option"),
    ({}, "no lines"),
])
def test_unusable_options_are_refused_before_connecting(options: dict, match: str) -> None:
    with pytest.raises(InstrumentError, match=f"unusable options: .*{match}"):
        ModbusDio("modbus-tcp://127.0.0.1:1", name="dio", options=options)


@pytest.mark.parametrize("resource", ["TCPIP0::127.0.0.1::502::SOCKET", "modbus-tcp://", "modbus-tcp://host:port",
                                      "modbus-rtu://127.0.0.1:502", "modbus-tcp://127.0.0.1:502/1"])
def test_a_resource_that_is_not_a_modbus_tcp_address_is_refused(resource: str) -> None:
    with pytest.raises(InstrumentError, match=r"expected a Modbus TCP address modbus-tcp://HOST\[:PORT\]"):
        ModbusDio(resource, name="dio", options=OPTIONS)
