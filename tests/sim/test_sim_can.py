"""The lab's CAN bus over socketcand on loopback: the protocol, lab-time stamps, and quiescence under load."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import can
import pytest
from can_nodes import HeartbeatNode, Recorder, counter_bytes, counter_of

from drivers.vehicle.python_can_bus import bus_config
from rig.core.clock import RealClock, VirtualClock
from rig.sim.charger.dut_profile import DutProfile
from rig.sim.simulated_lab import LAB_EPOCH_S, SimulatedLab

EV_IDS = (0x100, 0x101, 0x102)
EVSE_IDS = (0x108, 0x109)


def wire_time(t: float, epoch_at_zero: float = LAB_EPOCH_S) -> float:
    """A lab time as a frame carries it: seconds since 1970 by the gateway's clock (the lab host's date at lab time
    0: a fixed date in virtual time), to the microsecond (socketcand's s.us), as python-can reads it."""
    return float(f"{epoch_at_zero + t:.6f}")


def open_rig_bus(lab: SimulatedLab, **options) -> can.BusABC:
    """The rig's end, opened the way the python_can driver opens it."""
    return can.Bus(**bus_config(lab.serve("python_can"), options))


@pytest.fixture
def rig_bus(lab: SimulatedLab) -> Iterator[can.BusABC]:
    bus = open_rig_bus(lab)
    yield bus
    bus.shutdown()


def received(bus: can.BusABC) -> list[can.Message]:
    frames = []
    while (message := bus.recv(timeout=0)) is not None:
        frames.append(message)
    return frames


class RawClient:
    """A socketcand client by hand, to see the exact bytes."""

    def __init__(self, resource: str) -> None:
        host_port = resource.removeprefix("socketcand://").partition("/")[0]
        host, _, port = host_port.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=2.0)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def say(self, text: str) -> None:
        self.sock.sendall(text.encode("ascii"))

    def read(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            assert chunk, f"connection closed after {data!r}"
            data += chunk
        return data

    def nothing_waiting(self) -> bool:
        self.sock.setblocking(False)
        try:
            return self.sock.recv(1) == b""
        except BlockingIOError:
            return True
        finally:
            self.sock.setblocking(True)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw(lab: SimulatedLab) -> Iterator[RawClient]:
    client = RawClient(lab.serve("python_can"))
    yield client
    client.close()


# -- the protocol ------------------------------------------------------------------------------------------------


def test_the_handshake_and_frames_in_socketcands_words(lab: SimulatedLab, raw: RawClient) -> None:
    server = lab.can_server
    assert server is not None
    recorder = Recorder()
    lab.model.can.subscribe(recorder)
    assert raw.read(6) == b"< hi >"
    raw.say("< open can9 >")
    assert raw.read(28) == b"< error could not open bus >"
    assert server.protocol_errors and "can9" in server.protocol_errors[-1]
    raw.say("< open vcan0 >")
    assert raw.read(6) == b"< ok >"
    raw.say("< rawmode >")
    assert raw.read(6) == b"< ok >"

    clock = VirtualClock(lab)
    clock.sleep(0.5)
    raw.say("< send 102 3 1 a ff >< send 18FF50E5 0  >")
    clock.sleep(0.0)  # the wire is drained before the (zero) wait returns
    assert recorder.frames == [(0.5, 0x102, b"\x01\x0a\xff"), (0.5, 0x18FF50E5, b"")]

    bus = lab.model.can
    bus.call_at(0.75, lambda t: (bus.send(0x108, b"\x00\x01"), bus.send(0x1ABCDEF0, b"\xab", extended=True),
                                 bus.send(0x109, b"")))
    clock.sleep(1.0)
    # stamped as a gateway stamps: seconds since 1970 by its clock (the lab host's date at 0, plus 0.75 s)
    expected = (b"< frame 108 1767225600.750000 0001 >< frame 1ABCDEF0 1767225600.750000 AB >"
                b"< frame 109 1767225600.750000  >")  # no data: two spaces, as socketcand writes it and python-can reads it
    assert raw.read(len(expected)) == expected
    assert raw.nothing_waiting()
    assert len(server.protocol_errors) == 1


def test_malformed_and_out_of_turn_messages_are_recorded_not_applied(lab: SimulatedLab, raw: RawClient) -> None:
    server = lab.can_server
    assert server is not None
    recorder = Recorder()
    lab.model.can.subscribe(recorder)
    raw.read(6)
    raw.say("< send 102 1 1 >")  # before the bus is open
    raw.say("< open vcan0 >")
    raw.read(6)
    raw.say("< rawmode >")
    raw.read(6)
    raw.say("< send 102 2 1 >< send 800 1 1 >< send 102 9 1 2 3 4 5 6 7 8 9 >< bogus >")
    VirtualClock(lab).sleep(0.1)
    assert recorder.frames == []
    assert [problem.split(": ", 1)[1] for problem in server.protocol_errors] == [
        "'< send 102 1 1 >' is not expected while sent < hi >, waiting for < open >",
        "'< send 102 2 1 >': length 2 but 1 data bytes",
        "'< send 800 1 1 >': CAN id 0x800 is not a 11-bit identifier",
        "'< send 102 9 1 2 3 4 5 6 7 8 9 >': CAN frame 0x102: 9 data bytes (classic CAN has 8)",
        "'< bogus >' is not expected while raw mode",
    ]


# -- time stamps -------------------------------------------------------------------------------------------------


def test_lab_frames_carry_lab_time_and_rig_frames_are_stamped_when_the_lab_reads_them(
        lab: SimulatedLab, rig_bus: can.BusABC) -> None:
    recorder = Recorder()
    lab.model.can.subscribe(recorder)
    HeartbeatNode(lab.model.can, (0x108,), 0.1)
    clock = VirtualClock(lab)
    clock.sleep(0.35)
    frames = received(rig_bus)
    assert [(m.arbitration_id, m.timestamp, counter_of(m.data)) for m in frames] == [
        (0x108, wire_time(0.1 * n), n) for n in range(4)]
    rig_bus.send(can.Message(arbitration_id=0x102, data=b"\x02", is_extended_id=False))
    clock.sleep(10.0)  # applied at 0.35, when the lab read it, not when the wait ends
    assert recorder.frames == [(0.35, 0x102, b"\x02")]


def test_a_frame_the_rig_sends_before_an_instrument_command_is_handled_before_that_command(
        lab: SimulatedLab, rig_bus: can.BusABC, grid) -> None:
    recorder = Recorder()
    lab.model.can.subscribe(recorder)
    for n in range(20):
        rig_bus.send(can.Message(arbitration_id=0x102, data=counter_bytes(n), is_extended_id=False))
        grid.query("*IDN?")  # no wait in between: the lab drains its CAN wire before any command
        assert [counter_of(data) for _, _, data in recorder.frames] == list(range(n + 1))


def test_frames_from_one_rig_connection_reach_the_others_with_lab_time(
        lab: SimulatedLab, rig_bus: can.BusABC) -> None:
    other = open_rig_bus(lab)
    try:
        clock = VirtualClock(lab)
        clock.sleep(1.5)
        rig_bus.send(can.Message(arbitration_id=0x100, data=b"\x07", is_extended_id=False))
        clock.sleep(0.0)
        [message] = received(other)
        assert (message.arbitration_id, message.timestamp, bytes(message.data)) == (0x100, wire_time(1.5), b"\x07")
        assert received(rig_bus) == []  # a node does not hear itself
    finally:
        other.shutdown()


def test_a_rig_connection_that_closes_is_dropped_and_the_lab_goes_on(lab: SimulatedLab) -> None:
    node = HeartbeatNode(lab.model.can, (0x108,), 0.1)
    clock = VirtualClock(lab)
    bus = open_rig_bus(lab)
    server = lab.can_server
    assert server is not None
    clock.sleep(0.5)
    bus.send(can.Message(arbitration_id=0x102, data=b"\x01", is_extended_id=False))
    bus.shutdown()
    clock.sleep(0.5)  # the drain reads the frame, then the end of the stream
    assert server._connections == []
    assert len(node.sent) == 11
    again = open_rig_bus(lab)  # a new connection is served as the first was
    try:
        clock.sleep(0.25)
        assert [m.timestamp for m in received(again)] == [wire_time(1.1), wire_time(1.2)]
    finally:
        again.shutdown()


def failing_component(recorder: Recorder):
    def handle(t: float, frame_id: int, data: bytes) -> None:
        if data == b"\xff":
            raise ValueError("charger model bug")
        recorder(t, frame_id, data)
    return handle


def test_a_failing_lab_component_surfaces_in_the_rigs_wait_in_virtual_time(
        lab: SimulatedLab, rig_bus: can.BusABC) -> None:
    lab.model.can.subscribe(failing_component(Recorder()))
    rig_bus.send(can.Message(arbitration_id=0x102, data=b"\xff", is_extended_id=False))
    with pytest.raises(ValueError, match="charger model bug"):
        VirtualClock(lab).sleep(0.1)


@pytest.mark.realtime
def test_a_failing_lab_component_in_real_time_is_recorded_and_the_bus_goes_on(compliant: DutProfile) -> None:
    with SimulatedLab(compliant, seed=1, time_mode="real") as lab:
        recorder = Recorder()
        lab.model.can.subscribe(failing_component(recorder))
        bus = open_rig_bus(lab)
        try:
            for data in (b"\x01", b"\xff", b"\x02"):
                bus.send(can.Message(arbitration_id=0x102, data=data, is_extended_id=False))
                RealClock().sleep(0.05)
        finally:
            bus.shutdown()
        server = lab.can_server
        assert server is not None
        assert server.failures == ["ValueError: charger model bug"]
        assert [data for _, _, data in recorder.frames] == [b"\x01", b"\x02"]


# -- quiescence: nothing missed, nothing late, nothing reordered ------------------------------------------------------


def answer_everything(bus: can.BusABC, seen: list, now) -> None:
    """The rig's side of a cycle: read all frames waiting, answer each (id - 8, same counter), then one more frame."""
    for message in received(bus):
        seen.append((now(), message.arbitration_id, message.timestamp, counter_of(message.data)))
        bus.send(can.Message(arbitration_id=message.arbitration_id - 8, data=message.data, is_extended_id=False))
    bus.send(can.Message(arbitration_id=0x102, data=b"\xee", is_extended_id=False))


@pytest.mark.parametrize("tcp_tune", [True, False], ids=["nagle-off", "nagle-on"])
def test_the_rig_answers_every_lab_frame_within_its_instant_over_thousands_of_cycles(
        lab: SimulatedLab, tcp_tune: bool) -> None:
    """5000 cycles of 100 ms: two lab frames per cycle, each answered by the rig at the instant it was sent.

    The procedure waits in pieces that do not line up with the cycle, so due
    instants fall inside waits, at their ends and at their starts. With
    Nagle's algorithm on (python-can's default), the rig's second and third
    writes of a cycle wait in its socket for an ACK: the lab must still see
    them before it moves on.
    """
    bus = open_rig_bus(lab, tcp_tune=tcp_tune)
    try:
        recorder = Recorder()
        lab.model.can.subscribe(recorder)
        node = HeartbeatNode(lab.model.can, EVSE_IDS, 0.1)
        clock = VirtualClock(lab)
        seen: list = []
        clock.every(0.1, lambda: answer_everything(bus, seen, clock.now), name="vehicle")
        pieces = [0.37, 0.1, 0.05, 0.23, 0.0, 0.25]
        while clock.now() < 499.9:
            for piece in pieces:
                clock.sleep(piece)
        node.stop()
        clock.sleep(0.0)
    finally:
        bus.shutdown()
    cycles = len(node.sent) // 2
    assert cycles >= 5000
    # The rig read every lab frame, in order, at the instant the lab sent it.
    assert [(frame_id, stamp, n) for _, frame_id, stamp, n in seen] == \
        [(f.frame_id, wire_time(f.time_s), counter_of(f.data)) for f in node.sent]
    assert all(wire_time(read_at) == stamp for read_at, _, stamp, _ in seen)  # virtual time: the fixed date
    # The lab got every answer at that same instant, in order, the cycle's own frame after them.
    answers = [(t, frame_id, counter_of(data)) for t, frame_id, data in recorder.frames if frame_id != 0x102]
    assert answers == [(f.time_s, f.frame_id - 8, counter_of(f.data)) for f in node.sent]
    own = [t for t, frame_id, _ in recorder.frames if frame_id == 0x102]
    assert own == [n * 0.1 for n in range(len(own))] and len(own) >= cycles
    assert lab.can_server is not None and lab.can_server.protocol_errors == []


def test_the_lab_answers_within_the_instant_the_rig_sent(lab: SimulatedLab, rig_bus: can.BusABC) -> None:
    """The other direction: the rig sends, the lab answers at once, a later task of the same instant reads it."""
    bus = lab.model.can
    bus.subscribe(lambda t, frame_id, data: bus.send(0x109, data) if frame_id == 0x102 else None)
    clock = VirtualClock(lab)
    answers: list = []
    clock.every(0.1, lambda: rig_bus.send(can.Message(arbitration_id=0x102, data=counter_bytes(round(clock.now() * 10)),
                                                      is_extended_id=False)), name="request")
    clock.every(0.1, lambda: answers.extend((clock.now(), m.timestamp, counter_of(m.data)) for m in received(rig_bus)),
                name="read")
    clock.sleep(200.0)
    assert answers == [(n * 0.1, wire_time(n * 0.1), n) for n in range(2001)]


@pytest.mark.parametrize("small_buffers", [False, True], ids=["kernel-buffers", "outbox-overflows"])
def test_a_rig_that_stops_reading_never_blocks_the_lab(
        lab: SimulatedLab, rig_bus: can.BusABC, small_buffers: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of frames nobody reads: the lab goes on; the rig later reads whole frames, in order, from the
    first, and every frame is either read or counted as an overrun (the latest ones, once the outbox is full)."""
    server = lab.can_server
    assert server is not None
    clock = VirtualClock(lab)
    clock.sleep(0.0)
    seconds = 60.0
    if small_buffers:  # the kernel's buffers would hold 60 000 frames: make them and the outbox small
        [conn] = server._connections
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        rig_bus._SocketCanDaemonBus__socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        monkeypatch.setattr("rig.sim.wire.can_server.OUTBOX_LIMIT", 16384)
        seconds = 5.0
    node = HeartbeatNode(lab.model.can, (0x108,), 0.001)
    clock.sleep(seconds)
    node.stop()
    got: list[int] = []
    for _ in range(100_000):
        batch = received(rig_bus)
        got += [counter_of(m.data) for m in batch]
        clock.sleep(0.0)  # the lab pushes what its outbox still holds
        if not batch and not any(conn.outbox for conn in server._connections):
            break
    assert len(got) + server.overruns == len(node.sent) == round(seconds * 1000) + 1
    assert got == list(range(len(got)))
    assert (server.overruns > 0) == small_buffers


@pytest.mark.realtime
def test_in_real_time_the_rig_answers_every_lab_frame_in_order(compliant: DutProfile) -> None:
    """The lab on the wall clock: 1000 cycles of 4 ms, two frames each; each answered once, in order, never early."""
    with SimulatedLab(compliant, seed=1, time_mode="real") as lab:
        bus = open_rig_bus(lab)
        try:
            recorder = Recorder()
            lab.model.can.subscribe(recorder)
            clock = RealClock()
            seen: list = []
            clock.every(0.004, lambda: answer_everything(bus, seen, clock.now), name="vehicle")
            with lab.lock:  # the lab's thread is firing timers: set a component up under the lab's lock
                node = HeartbeatNode(lab.model.can, EVSE_IDS, 0.004, first_s=lab.now + 0.01)
            while len(node.sent) < 2000:
                clock.sleep(0.05)
            with lab.lock:
                node.stop()
            deadline = time.monotonic() + 2.0
            while len(seen) < len(node.sent) and time.monotonic() < deadline:
                clock.sleep(0.01)
            clock.sleep(0.02)
        finally:
            bus.shutdown()
    assert [(frame_id, stamp, n) for _, frame_id, stamp, n in seen] == \
        [(f.frame_id, wire_time(f.time_s, lab.epoch_at_zero), counter_of(f.data)) for f in node.sent]
    assert abs(lab.epoch_at_zero + lab.now - time.time()) < 1.0  # in real time the gateway's clock is the host's
    answers = [(t, frame_id, counter_of(data)) for t, frame_id, data in recorder.frames if frame_id != 0x102]
    assert [(frame_id, n) for _, frame_id, n in answers] == [(f.frame_id - 8, counter_of(f.data)) for f in node.sent]
    assert all(t >= f.time_s for (t, _, _), f in zip(answers, node.sent))
    assert [t for t, _, _ in answers] == sorted(t for t, _, _ in answers)
