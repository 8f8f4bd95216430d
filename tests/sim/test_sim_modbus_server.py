"""The lab's Modbus TCP server answers as pymodbus's own server would, and a peer that misbehaves gets closed or
refused, never a hang: garbage, a wrong protocol id, a frame cut in two, an unknown function."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest
from pymodbus.client import ModbusTcpClient

from rig.sim.instruments.moxa_e1212_dialect import IDENTITY, MoxaE1212
from rig.sim.wire.modbus_server import ModbusServer
from rig.sim.charger.dut_profile import load_dut_profile
from rig.sim.simulated_lab import SimulatedLab
from wire import DUTS


@pytest.fixture
def server() -> Iterator[ModbusServer]:
    lab = SimulatedLab(load_dut_profile(DUTS / "compliant.yaml"), seed=1)
    served = ModbusServer(MoxaE1212(lab.model), threading.RLock(), lambda: None, identity=IDENTITY).start()
    try:
        yield served
    finally:
        served.stop()
        lab.close()


def _raw(server: ModbusServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=2.0)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_coils(tid: int, protocol: int = 0) -> bytes:
    return struct.pack(">HHHBBHH", tid, protocol, 6, 1, 1, 0, 8)


def test_a_frame_cut_in_two_is_answered_once_whole(server: ModbusServer) -> None:
    with _raw(server) as sock:
        frame = _read_coils(7)
        sock.sendall(frame[:5])
        sock.sendall(frame[5:])
        answer = sock.recv(64)
    tid, protocol, length, unit, function = struct.unpack(">HHHBB", answer[:8])
    assert (tid, protocol, unit, function) == (7, 0, 1, 1) and length == len(answer) - 6


def test_two_frames_in_one_write_get_two_answers_in_order(server: ModbusServer) -> None:
    with _raw(server) as sock:
        sock.sendall(_read_coils(1) + _read_coils(2))
        received = b""
        while len(received) < 20:
            received += sock.recv(64)
    assert [struct.unpack(">H", received[i:i + 2])[0] for i in (0, 10)] == [1, 2]


def test_an_unknown_function_is_refused_as_illegal_function(server: ModbusServer) -> None:
    with _raw(server) as sock:
        sock.sendall(struct.pack(">HHHBB", 3, 0, 2, 1, 0x41))
        answer = sock.recv(64)
    assert answer[7] == 0x41 | 0x80 and answer[8] == 1


def test_garbage_closes_that_connection_and_the_module_serves_on(server: ModbusServer) -> None:
    with _raw(server) as sock:
        sock.sendall(_read_coils(9, protocol=0x4142) + bytes(range(256)) * 5)  # a wrong protocol id never completes
        assert sock.recv(64) == b""  # closed by the server, not left hanging
    client = ModbusTcpClient("127.0.0.1", port=server.port, timeout=2, retries=0)
    assert client.connect()
    assert not client.read_coils(0, count=8, device_id=1).isError()
    client.close()
