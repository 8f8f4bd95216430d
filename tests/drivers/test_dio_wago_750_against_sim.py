"""The wago_750 driver against the simulated WAGO 750-352 node over Modbus TCP (pymodbus both ends): the coupler's
own map (inputs at 0 for functions 1 and 2, outputs read back at 0x0200), its refusals, its identity registers,
its watchdog on the lab's clock, and a device that is not the node refused naming the role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymodbus.client import ModbusTcpClient

from drivers.dio.modbus_dio import ModbusDio
from drivers.dio.wago_750 import Wago750
from rig.config.bench_file import load_bench
from rig.core.clock import VirtualClock
from rig.core.errors import IdentityError, InstrumentError
from rig.core.identity import check_identity
from rig.sim.connector import Edge, Side
from rig.sim.instruments.wago_750_dialect import Wago750352
from rig.sim.simulated_lab import SimulatedLab

ROOT = Path(__file__).resolve().parents[2]
OPTIONS: dict[str, Any] = load_bench(ROOT / "fixtures" / "benches" / "sim-wago_750.yaml").instruments["dio"].options


@pytest.fixture
def dio(lab: SimulatedLab) -> Iterator[Wago750]:
    driver = Wago750(lab.serve("wago_750", OPTIONS), name="dio", options=OPTIONS)
    yield driver
    driver.close()


@pytest.fixture
def raw(dio: Wago750) -> Iterator[ModbusTcpClient]:
    client = ModbusTcpClient("127.0.0.1", port=int(dio.resource.rsplit(":", 1)[1]))
    assert client.connect()
    yield client
    client.close()


def charger_drives(lab: SimulatedLab, line: str, value: bool) -> None:
    with lab.lock:
        lab.model.connector.drive(lab.model.now, line, value, by=Side.CHARGER)


def test_the_node_identifies_itself_by_its_firmware_registers_and_mac(dio: Wago750) -> None:
    answer = dio.identify()
    assert answer == "WAGO,750-352,00:30:DE:00:03:52,01.09(08)"
    assert check_identity("dio", dio.resource, answer, Wago750.family).serial == "00:30:DE:00:03:52"


def test_the_node_does_not_answer_read_device_identification(raw: ModbusTcpClient) -> None:
    response = raw.read_device_information(read_code=1, object_id=0)
    assert response.isError() and response.exception_code == 1  # illegal function


def test_the_moxa_module_at_the_address_is_refused_naming_the_role(lab: SimulatedLab) -> None:
    moxa = lab.serve("modbus_dio")
    driver = Wago750(moxa, name="dio", options=OPTIONS)
    with pytest.raises(IdentityError) as refused:
        check_identity("dio", moxa, driver.identify(), Wago750.family)
    driver.close()
    assert "dio" in str(refused.value) and "WAGO 750-352" in refused.value.expected
    assert refused.value.received.startswith("Modbus exception 2 (illegal data address) to read input registers 8209")


def test_the_moxa_driver_is_refused_by_the_node(lab: SimulatedLab, dio: Wago750) -> None:
    driver = ModbusDio(dio.resource, name="dio", options=load_bench(ROOT / "fixtures" / "benches" / "sim.yaml")
                       .instruments["dio"].options)
    with pytest.raises(IdentityError, match="dio"):
        check_identity("dio", dio.resource, driver.identify(), ModbusDio.family)
    driver.close()


def test_function_1_reads_inputs_at_0_and_the_outputs_at_0x0200(dio: Wago750, raw: ModbusTcpClient,
                                                                 lab: SimulatedLab) -> None:
    dio.setup()
    charger_drives(lab, "d2", True)
    dio.set_output("k", True)
    assert raw.read_coils(0, count=3).bits[:3] == [False, True, False]  # the inputs, not the outputs
    assert raw.read_discrete_inputs(0, count=3).bits[:3] == [False, True, False]
    assert raw.read_coils(0x0200, count=8).bits[:8] == [True] + [False] * 7
    assert dio.read_outputs()["k"] and dio.read_inputs() == {"d1": False, "d2": True, "connector_lock": False}
    assert raw.read_input_registers(0x0000, count=1).registers == [0b10]  # the input word
    assert raw.read_holding_registers(0x0200, count=1).registers == [0b1]  # the output word
    assert raw.read_input_registers(0x1022, count=4).registers == [0, 0, 8, 8]
    assert raw.read_input_registers(0x2030, count=3).registers == [352, 0x8801, 0x8802]


def test_outputs_reach_the_lab_at_the_time_of_the_request_and_safe_off_in_order(dio: Wago750,
                                                                               lab: SimulatedLab) -> None:
    dio.setup()
    lab.advance_to(3.5)
    dio.set_output("proximity", True)
    dio.set_output("contactor", True)
    lab.advance_to(4.0)
    dio.safe_off()
    assert [e for e in lab.model.connector.edges() if e.line in ("proximity", "contactor")] == [
        Edge(3.5, "proximity", True, Side.VEHICLE), Edge(3.5, "contactor", True, Side.VEHICLE),
        Edge(4.0, "contactor", False, Side.VEHICLE), Edge(4.0, "proximity", False, Side.VEHICLE)]
    assert dio.faults() == []


@pytest.mark.parametrize(("request_", "code"), [
    (lambda c: c.write_coil(8, True), 2), (lambda c: c.read_discrete_inputs(8, count=1), 2),
    (lambda c: c.read_coils(0x0400, count=1), 2), (lambda c: c.write_coil(0x0208, True), 2),
    (lambda c: c.read_input_registers(0x1026, count=1), 2), (lambda c: c.read_input_registers(0x2025, count=1), 2),
    (lambda c: c.write_register(0x2011, 1), 2), (lambda c: c.write_register(0x1006, 1), 2),
])
def test_the_node_refuses_addresses_it_does_not_have(raw: ModbusTcpClient, request_, code: int) -> None:
    response = request_(raw)
    assert response.isError() and response.exception_code == code


def test_a_silent_rig_lets_the_watchdog_de_energise_every_output_at_its_instant(dio: Wago750, raw: ModbusTcpClient,
                                                                               lab: SimulatedLab) -> None:
    dio.setup()  # 60 s, armed
    lab.advance_to(10.0)
    dio.set_output("contactor", True)
    dio.set_output("grid_switch", True)
    lab.advance_to(100.0)
    assert not lab.model.connector.value("contactor") and not lab.model.dc_bus.contactor_closed
    assert Edge(70.0, "contactor", False, Side.VEHICLE) in lab.model.connector.edges("contactor")
    assert raw.read_input_registers(0x1006, count=1).registers == [2]  # expired
    assert raw.read_discrete_inputs(0, count=1).exception_code == 4  # slave device failure
    with pytest.raises(InstrumentError, match="watchdog ran out .* de-energised contactor, grid_switch"):
        dio.read_inputs()
    assert raw.read_input_registers(0x1006, count=1).registers == [1]  # re-armed by the driver
    assert dio.read_inputs() == {"d1": False, "d2": False, "connector_lock": False}


def test_requests_keep_the_watchdog_alive(dio: Wago750, lab: SimulatedLab) -> None:
    dio.setup()
    dio.set_output("k", True)
    for t in range(30, 300, 30):
        lab.advance_to(float(t))
        dio.read_inputs()
    assert lab.model.connector.value("k")


def test_with_the_rigs_clock_an_output_held_through_a_long_wait_stays_on_and_a_closed_session_lets_it_go(
        dio: Wago750, lab: SimulatedLab) -> None:
    """The keep-alive: while the rig waits on its clock (an idle-power window of minutes), the driver reads the
    output image every third of the watchdog time; once the session is closed (or the rig is dead) nothing reads,
    and the coupler drops the outputs a watchdog time after the last read."""
    clock = VirtualClock(lab)
    dio.attach_clock(clock)
    dio.setup()
    dio.set_output("proximity", True)
    clock.sleep(300.0)
    assert lab.model.connector.value("proximity") and dio.faults() == []
    dio.close()
    lab.advance_to(lab.now + 61.0)
    assert not lab.model.connector.value("proximity")


def test_a_bench_whose_lines_are_not_where_the_lab_wires_them_is_refused(lab: SimulatedLab) -> None:
    with pytest.raises(ValueError, match="options.outputs.k: the simulated module wires 'k' to output 0, not 5"):
        Wago750352.from_options(lab.model, {**OPTIONS, "outputs": {"k": 5}})
