"""The python_can driver: address forms, identity and family, the CanInterface role against the simulated lab,
and a bench with ``vehicle: {driver: python_can, address: sim}`` opened by the engine's own path."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import can
import pytest

from drivers import DRIVERS, driver_class
from drivers.vehicle.python_can_bus import PythonCanBus, bus_config
from rig.core import stop
from rig.config.bench_file import load_bench
from rig.run.bench_session import open_bench
from rig.core.clock import VirtualClock
from rig.core.errors import IdentityError, InstrumentError
from rig.core.identity import check_identity
from rig.core.roles import CanFrame, CanInterface
from rig.sim.charger.dut_profile import load_dut_profile
from rig.sim.simulated_lab import SimulatedLab

ROOT = Path(__file__).resolve().parents[2]
COMPLIANT = ROOT / "fixtures" / "duts" / "compliant.yaml"


@pytest.fixture
def lab() -> Iterator[SimulatedLab]:
    with SimulatedLab(load_dut_profile(COMPLIANT), seed=3) as simulated:
        yield simulated


@pytest.fixture
def vehicle(lab: SimulatedLab) -> Iterator[PythonCanBus]:
    driver = PythonCanBus(lab.serve("python_can"), name="vehicle")
    driver.attach_clock(VirtualClock(lab))
    yield driver
    driver.close()


# -- address and options ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("resource", "options", "config"), [
    ("socketcan://can0", {"bitrate": 500000}, {"interface": "socketcan", "channel": "can0", "bitrate": 500000}),
    ("pcan://PCAN_USBBUS1", {"bitrate": 500000},
     {"interface": "pcan", "channel": "PCAN_USBBUS1", "bitrate": 500000}),
    ("vector://0", {"app_name": "v2g-rig", "bitrate": 500000},
     {"interface": "vector", "channel": "0", "app_name": "v2g-rig", "bitrate": 500000}),
    ("socketcand://127.0.0.1:29536/vcan0", None,
     {"interface": "socketcand", "host": "127.0.0.1", "port": 29536, "channel": "vcan0", "tcp_tune": True}),
    ("socketcand://gateway.lab:29536/can1", {"tcp_tune": False},
     {"interface": "socketcand", "host": "gateway.lab", "port": 29536, "channel": "can1", "tcp_tune": False}),
])
def test_the_address_is_interface_and_channel_and_options_are_the_rest_of_python_cans_config(
        resource: str, options: dict | None, config: dict) -> None:
    assert bus_config(resource, options) == config


@pytest.mark.parametrize(("resource", "options", "message"), [
    ("can0", None, "expected <interface>://<channel>"),
    ("socketcan://", None, "expected <interface>://<channel>"),
    ("socketcand://127.0.0.1/vcan0", None, "socketcand://HOST:PORT/CHANNEL"),
    ("socketcand://127.0.0.1:29536", None, "socketcand://HOST:PORT/CHANNEL"),
    ("socketcan://can0", {"channel": "can1"}, "options channel: the address"),
    ("pcan://PCAN_USBBUS1", {"interface": "kvaser", "bitrate": 500000}, "options interface: the address"),
    ("socketcand://gateway.lab:29536/can1", {"bitrate": 500000}, "bitrate: a socketcand gateway's bus timing"),
    ("socketcand://gateway.lab:29536/can1", {"fd": True, "data_bitrate": 2000000}, "data_bitrate, fd: a socketcand"),
])
def test_malformed_addresses_and_options_that_repeat_the_address_are_refused_naming_the_role(
        resource: str, options: dict | None, message: str) -> None:
    with pytest.raises(InstrumentError, match="vehicle") as refused:
        PythonCanBus(resource, name="vehicle", options=options)
    assert message in str(refused.value)


def test_an_interface_python_can_cannot_open_is_an_instrument_error() -> None:
    with pytest.raises(InstrumentError, match="python-can cannot open it"):
        PythonCanBus("nosuchinterface://0", name="vehicle")


def test_a_pcan_adapter_whose_stamps_would_count_from_boot_is_refused_at_open_with_the_fix(monkeypatch) -> None:
    """python-can's PCAN interface needs the uptime package to stamp since 1970; without it the frames could not
    be put on the rig's clock, and the refusal says so before the bus is opened."""
    import can.interfaces.pcan.pcan as pcan_interface

    monkeypatch.setattr(pcan_interface, "boottimeEpoch", 0)
    with pytest.raises(InstrumentError, match="pip install uptime"):
        PythonCanBus("pcan://PCAN_USBBUS1", name="vehicle", options={"bitrate": 500000})
    monkeypatch.setattr(pcan_interface, "boottimeEpoch", 1_767_225_600.0)  # boot time known: on to the adapter
    with pytest.raises(InstrumentError, match="python-can cannot open it") as refused:
        PythonCanBus("pcan://PCAN_USBBUS1", name="vehicle", options={"bitrate": 500000})
    assert "uptime" not in str(refused.value)


@contextmanager
def _serving(on_connect) -> Iterator[socket.socket]:
    """A loopback TCP server that hands each connection it accepts to ``on_connect``; closed with what it accepted."""
    server = socket.create_server(("127.0.0.1", 0))
    connections: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            connections.append(conn)
            on_connect(conn)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield server
    finally:
        server.close()
        for conn in connections:
            conn.close()


@pytest.fixture
def peer() -> Iterator[tuple[socket.socket, list[bytes]]]:
    """A loopback TCP peer that is not socketcand: it sends whatever the test puts in the list on each accept."""
    say: list[bytes] = []

    def greet(conn: socket.socket) -> None:
        for words in say:
            conn.sendall(words)

    with _serving(greet) as server:
        yield server, say


def _socketcand_at(server: socket.socket) -> str:
    return f"socketcand://127.0.0.1:{server.getsockname()[1]}/vcan0"


def test_a_peer_that_never_greets_is_refused_in_bounded_time_not_waited_for_forever(peer, monkeypatch) -> None:
    """python-can waits for socketcand's '< hi >' without limit: a silent peer (a web server) would hang the run."""
    monkeypatch.setattr("drivers.vehicle.python_can_bus.GREETING_TIMEOUT_S", 0.3)
    server, _ = peer
    with pytest.raises(InstrumentError, match="not a socketcand server.*said nothing within 0.3 s"):
        PythonCanBus(_socketcand_at(server), name="vehicle")


def test_a_peer_that_answers_something_else_is_named_in_the_refusal(peer, monkeypatch) -> None:
    monkeypatch.setattr("drivers.vehicle.python_can_bus.GREETING_TIMEOUT_S", 0.3)
    server, say = peer
    say.append(b"HTTP/1.0 400 Bad request\r\n\r\n")
    with pytest.raises(InstrumentError, match="not a socketcand server.*HTTP/1.0 400"):
        PythonCanBus(_socketcand_at(server), name="vehicle")


@pytest.fixture
def busy_gateway() -> Iterator[tuple[socket.socket, list[int]]]:
    """A socketcand gateway on a busy bus: it greets every connection and, to the first ``races`` raw-mode
    requests (the list's one number), answers ``< ok >`` with a frame right behind it in the same write, as a real
    gateway may; after that, ``< ok >`` alone."""
    races = [1]

    def converse(conn: socket.socket) -> None:
        conn.sendall(b"< hi >")
        buffer = b""
        while True:
            try:
                chunk = conn.recv(256)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b">" in buffer:
                message, _, buffer = buffer.partition(b">")
                if message.strip().startswith(b"< open"):
                    conn.sendall(b"< ok >")
                elif message.strip().startswith(b"< rawmode"):
                    behind = b"< frame 109 1767225600.000000 00 >" if races[0] > 0 else b""
                    races[0] -= 1
                    conn.sendall(b"< ok >" + behind)

    with _serving(lambda conn: threading.Thread(target=converse, args=(conn,), daemon=True).start()) as server:
        yield server, races


def test_frames_right_behind_the_gateways_ok_are_a_retried_open_not_a_failure(busy_gateway) -> None:
    server, races = busy_gateway
    driver = PythonCanBus(_socketcand_at(server), name="vehicle")  # the first raw-mode answer raced a frame
    driver.close()
    assert races == [-1]  # two raw-mode requests: the raced one and the one that opened


def test_a_gateway_that_always_races_its_ok_is_an_error_saying_why(busy_gateway) -> None:
    server, races = busy_gateway
    races[0] = 100
    with pytest.raises(InstrumentError, match="arrived in the same read as its '< ok >' 3 times in a row"):
        PythonCanBus(_socketcand_at(server), name="vehicle")


def test_a_stop_request_ends_the_wait_for_a_greeting(peer) -> None:
    server, _ = peer
    stop.request("SIGTERM")
    try:
        with pytest.raises(stop.StopRequested):
            PythonCanBus(_socketcand_at(server), name="vehicle")
    finally:
        stop.reset()


def test_the_driver_is_registered_as_python_can() -> None:
    assert "python_can" in DRIVERS
    assert driver_class("python_can") is PythonCanBus


# -- identity ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("interface", ["socketcand", "socketcan", "pcan", "kvaser", "vector"])
def test_the_family_admits_the_interfaces_the_rig_is_prepared_for(interface: str) -> None:
    idn = check_identity("vehicle", f"{interface}://0", f"python-can,{interface},0,{can.__version__}",
                         PythonCanBus.family)
    assert (idn.manufacturer, idn.model) == ("python-can", interface)


def test_the_virtual_interface_opens_but_is_refused_by_identity() -> None:
    """python-can's in-process bus has no wire: a lab behind it would be a shortcut no bench has."""
    driver = PythonCanBus("virtual://rig-test", name="vehicle")
    try:
        assert driver.identify() == f"python-can,virtual,rig-test,{can.__version__}"
        with pytest.raises(IdentityError, match="python-can interface"):
            check_identity("vehicle", driver.resource, driver.identify(), PythonCanBus.family)
    finally:
        driver.close()


@pytest.mark.parametrize("interface", ["udp_multicast", "serial", "slcan"])
def test_other_interfaces_are_refused_until_run_on_a_bench(interface: str) -> None:
    with pytest.raises(IdentityError):
        check_identity("vehicle", f"{interface}://0", f"python-can,{interface},0,{can.__version__}",
                       PythonCanBus.family)


# -- the role against the simulated lab -------------------------------------------------------------------------


def test_the_driver_fulfils_the_can_interface_role(vehicle: PythonCanBus) -> None:
    assert isinstance(vehicle, CanInterface)
    assert vehicle.identify() == f"python-can,socketcand,vcan0,{can.__version__}"


def test_frames_both_ways_with_the_labs_timestamps(lab: SimulatedLab, vehicle: PythonCanBus) -> None:
    heard: list = []
    bus = lab.model.can
    bus.subscribe(lambda t, frame_id, data: heard.append((t, frame_id, data)))
    bus.call_at(0.5, lambda t: bus.send(0x109, b"\x02\x90\x01"))
    bus.call_at(0.5, lambda t: bus.send(0x1FFFFFFF, b"", extended=True))
    vehicle.setup()
    clock = VirtualClock(lab)
    clock.sleep(1.0)
    assert vehicle.receive() == [CanFrame(0x109, b"\x02\x90\x01", 0.5), CanFrame(0x1FFFFFFF, b"", 0.5, extended=True)]
    assert vehicle.receive() == []  # each frame once
    vehicle.send(0x102, bytes(range(8)))
    vehicle.send(0x18FF50E5, b"\x01", extended=True)
    clock.sleep(0.0)
    assert heard == [(1.0, 0x102, bytes(range(8))), (1.0, 0x18FF50E5, b"\x01")]
    assert vehicle.faults() == []
    vehicle.safe_off()  # nothing to switch off, and nothing sent
    clock.sleep(0.0)
    assert len(heard) == 2


@contextmanager
def behind_a_gateway(ahead_s: float, frames_at: tuple[float, ...]) -> Iterator[tuple[PythonCanBus, VirtualClock]]:
    """The driver, set up on its clock, behind a simulated gateway whose clock is ``ahead_s`` ahead of the lab
    host's; the charger sends 0x109 at each of ``frames_at``."""
    with SimulatedLab(load_dut_profile(COMPLIANT), seed=3) as lab:
        lab.can_gateway_offset_s = ahead_s
        driver = PythonCanBus(lab.serve("python_can"), name="vehicle")
        try:
            clock = VirtualClock(lab)
            driver.attach_clock(clock)
            driver.setup()
            bus = lab.model.can
            for t in frames_at:
                bus.call_at(t, lambda t: bus.send(0x109, b"\x02"))
            yield driver, clock
        finally:
            driver.close()


@pytest.mark.parametrize("gateway_ahead_s", [0.5, -0.5, 0.061, -0.061])
def test_a_gateway_whose_clock_is_not_the_rig_hosts_is_refused_not_misplaced(gateway_ahead_s: float) -> None:
    """Frames are stamped by the gateway's clock (seconds since 1970); one off the rig host's would put every charger
    frame before or after the rig's own edges by that much. Reads at 0.55 s and 0.65 s: a frame sent at 0.5 s from
    a clock 61 ms ahead would have been stamped after the read that got it; one sent at 0.6 s from a clock 61 ms
    behind, before the read that did not."""
    with behind_a_gateway(gateway_ahead_s, (0.5, 0.6)) as (driver, clock):
        clock.sleep(0.55)
        if gateway_ahead_s < 0:
            assert [frame.timestamp_s for frame in driver.receive()] == [pytest.approx(0.5 + gateway_ahead_s)]
            clock.sleep(0.1)  # the frame at 0.6 s cannot have been stamped before the read at 0.55 s
        with pytest.raises(InstrumentError, match="not the rig host's") as refused:
            driver.receive()
        assert "frame 0x109 stamped 17672256" in str(refused.value)


def test_a_gateway_within_the_tolerance_is_placed_on_the_rigs_axis_to_its_resolution() -> None:
    with behind_a_gateway(0.004, (0.5,)) as (driver, clock):
        clock.sleep(0.6)
        assert driver.receive() == [CanFrame(0x109, b"\x02", 0.504)]


def test_what_socketcand_cannot_see_is_stated(vehicle: PythonCanBus) -> None:
    blind = vehicle.cannot_see()
    assert len(blind) == 2
    assert "error-passive, bus-off" in blind[0] and "socketcand" in blind[0]
    assert "socketcand with -e" in blind[1]


def test_a_simulated_campaign_records_what_the_can_interface_cannot_see(tmp_path: Path) -> None:
    bench = load_bench(ROOT / "fixtures" / "benches" / "sim.yaml")
    with open_bench(bench, profile=load_dut_profile(COMPLIANT), seed=0) as opened:
        [vehicle] = [i for i in opened.identities if i.role == "vehicle"]
        others = [i.cannot_see for i in opened.identities if i.role != "vehicle"]
        assert vehicle.cannot_see == opened.instruments["vehicle"].cannot_see()  # type: ignore[attr-defined]
    assert vehicle.cannot_see and not any(others)


def test_without_the_rigs_clock_frames_are_not_read(lab: SimulatedLab) -> None:
    driver = PythonCanBus(lab.serve("python_can"), name="vehicle")
    try:
        with pytest.raises(InstrumentError, match="no clock attached"):
            driver.receive()
    finally:
        driver.close()


def test_setup_discards_frames_received_before_the_run(lab: SimulatedLab, vehicle: PythonCanBus) -> None:
    bus = lab.model.can
    bus.call_at(0.1, lambda t: bus.send(0x108, b"\x00"))
    VirtualClock(lab).sleep(0.2)
    vehicle.setup()
    assert vehicle.receive() == []


@pytest.mark.parametrize(("frame_id", "data", "extended", "message"), [
    (0x102, bytes(9), False, "not a valid CAN frame"),
    (0x800, b"\x00", False, "not a valid CAN frame"),
    (0x20000000, b"\x00", True, "not a valid CAN frame"),
])
def test_an_invalid_frame_is_refused_before_anything_is_sent(
        lab: SimulatedLab, vehicle: PythonCanBus, frame_id: int, data: bytes, extended: bool, message: str) -> None:
    heard: list = []
    lab.model.can.subscribe(lambda *frame: heard.append(frame))
    with pytest.raises(InstrumentError, match=message):
        vehicle.send(frame_id, data, extended=extended)
    VirtualClock(lab).sleep(0.1)
    assert heard == []
    assert lab.can_server is not None and lab.can_server.protocol_errors == []


def test_a_stop_request_is_acted_on_at_the_next_exchange(vehicle: PythonCanBus) -> None:
    stop.request("SIGINT")
    try:
        with pytest.raises(stop.StopRequested):
            vehicle.send(0x102, b"\x00")
        with pytest.raises(stop.StopRequested):
            vehicle.receive()
    finally:
        stop.reset()


def test_sending_to_a_lab_that_has_gone_is_an_instrument_error(lab: SimulatedLab, vehicle: PythonCanBus) -> None:
    lab.close()
    with pytest.raises(InstrumentError, match="vehicle: 'send 0x102': not sent"):
        for _ in range(50):  # the first writes may still be taken by the kernel before the reset comes back
            vehicle.send(0x102, b"\x00")
            VirtualClock(lab).sleep(0.01)


# -- through the bench, as a run opens it -------------------------------------------------------------------------


def test_a_simulated_bench_with_a_can_vehicle_opens_checks_identity_and_closes(tmp_path: Path) -> None:
    bench_file = tmp_path / "bench.yaml"
    bench_file.write_text(
        "bench: can-sim\n"
        "simulated_lab: {time: virtual, seed: 1}\n"
        "instruments:\n"
        "  vehicle: {driver: python_can, address: sim, options: {tcp_tune: true}}\n"
        "envelope:\n"
        "  ac_voltage_v: {min: 0.0, max: 300.0}\n"
        "  ac_frequency_hz: {min: 45.0, max: 65.0}\n")
    with open_bench(load_bench(bench_file), profile=load_dut_profile(COMPLIANT), seed=1) as opened:
        [identity] = opened.identities
        assert identity.role == "vehicle" and identity.driver == "python_can"
        assert identity.address.startswith("socketcand://127.0.0.1:") and identity.address.endswith("/vcan0")
        assert identity.idn == f"python-can,socketcand,vcan0,{can.__version__}"
        vehicle = opened.instruments["vehicle"]
        assert isinstance(vehicle, CanInterface)
        assert opened.sim is not None
        opened.sim.model.can.call_at(0.3, lambda t: opened.sim.model.can.send(0x108, b"\x01"))  # type: ignore[union-attr]
        opened.lab.clock.sleep(0.5)
        assert vehicle.receive() == [CanFrame(0x108, b"\x01", 0.3)]
    assert opened.safe_state_problems == []
