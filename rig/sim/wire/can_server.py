"""The simulated lab's CAN bus, served on 127.0.0.1 the way socketcand serves a Linux CAN interface.

Why socketcand: the rig reaches every simulated instrument through the same
library and a real wire (``ARCHITECTURE.md`` rule 1), and for CAN that
library is python-can. Of python-can's interfaces that need no hardware,
``virtual`` is an in-process queue (no wire at all, and no way for the lab to
know when a frame has been handled), and ``udp_multicast`` sends to a
multicast group, which leaves loopback for the network the machine is on
(and gives the lab no connection whose queues it can drain). socketcand is
a real bench's CAN-over-TCP gateway; python-can's ``SocketCanDaemonBus``
talks to it over one TCP connection and reads it directly with ``select``
(no thread of its own), and frames from the server carry the server's
timestamp, and the kernel keeps the counts that tell the lab when the wire
is quiet.

The protocol, as python-can's client speaks it (ids in hex: 3 digits for an
11-bit id, 8 for a 29-bit one)::

    lab:  < hi >
    rig:  < open vcan0 >                       lab:  < ok >
    rig:  < rawmode >                          lab:  < ok >
    rig:  < send 102 8 2 0 0 0 0 0 0 0 >       (id, length, data bytes in hex)
    lab:  < frame 108 1767225612.300000 0001F40000000000 >   (id, s.us since 1970, data in hex)

Time stamps are what a real gateway writes: its kernel's receive time in
seconds since 1970 (linux-can/socketcand ``state_raw.c``: ``SO_TIMESTAMP``;
python-can PR #1700 shows one), not the lab's own axis. The gateway's clock
is the lab host's (``SimulatedLab.epoch_at_zero``: a fixed date at lab time
0 in virtual time) plus its own offset (``can_gateway_offset_s``, 0 unless a
test sets it), so the rig must put frames on its clock's axis itself, as it
must on a bench (``drivers.vehicle.python_can_bus``). A frame the rig sends
is stamped with the lab's time when the lab reads it (and then goes to every
lab component subscribed to the bus, and to the lab's other connections, as
a bus would).

Quiescence (virtual time moves only when the wire is quiet): before the lab
advances it calls ``drain()``: every byte the rig has written is read and
applied at the current instant. "Every byte written" is the kernel's count,
not a guess: the server's socket has nothing unread (``FIONREAD``) *and* the
server has read as many bytes as the rig's end has written
(``rig.sim.wire.tcp_queues``; a write still held by Nagle's algorithm or in the
loopback queue is counted there; the server acknowledges at once whatever it
reads, so a rig that keeps Nagle on does not wait for a delayed ACK). Reading and applying happen under the lab's lock, which is the
"processing" state: a drain that holds the lock knows no half-applied frame
exists. After it advances, the lab calls ``flush()``: the rig's end has
received as many bytes as the lab wrote, so every frame the lab sent is in
the rig's socket before the rig's wait returns.

In virtual time only the lab's own thread of control reads frames (inside
``drain``), so a frame is handled at the instant the rig next waits or
queries an instrument, never at a wall-clock moment that differs between
runs. In real time the server's thread reads frames as they arrive and
wakes for the bus's timers on the wall clock.

A connection receives frames from the ``< ok >`` that answers
``< rawmode >`` on, as a real gateway's does: a frame on the bus may follow
that ``< ok >`` in the same read, which python-can's one-``recv`` handshake
refuses, so the rig's driver opens again when it happens
(``drivers.vehicle.python_can_bus``). If the rig stops reading, frames fill the kernel's buffers, then wait
in the connection's outbox up to ``OUTBOX_LIMIT`` bytes, and are then
dropped and counted (``overruns``), as an adapter's receive queue
overflows; the lab never blocks on a reader that does not read.
"""

from __future__ import annotations

import logging
import select
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable

from rig.sim.wire.can_bus import BusFrame, CanBus, check_frame
from rig.sim.wire.tcp_queues import PeerQueues, send_window, unread

log = logging.getLogger(__name__)

CHANNEL = "vcan0"
"""The name the lab's bus is opened by (``< open vcan0 >``), as a Linux virtual CAN interface would be."""

OUTBOX_LIMIT = 1 << 20
"""Bytes of frames kept for a rig that does not read; beyond this, frames are dropped and counted."""

HELD_BYTES = 1 << 16
"""Frames held for one write at the end of an advance (virtual time) are written once this many are held."""

WIRE_TIMEOUT_S = 5.0
"""How long a drain or flush waits for bytes the kernel says are in flight before calling the wire stalled."""

RECV_BYTES = 65536
POLL_S = 0.001
"""How often the server looks again at a connection in flux (joining, an outbox to push, bytes in flight)."""


class WireStalled(RuntimeError):
    """Bytes the kernel counted as in flight on a lab connection did not arrive."""


class Stage(Enum):
    HELLO = "sent < hi >, waiting for < open >"
    OPENED = "bus open, waiting for < rawmode >"
    RAW = "raw mode"


@dataclass(eq=False)
class Connection:
    """One rig connection: its stage in the handshake, what it sent that is not a whole message yet, its outbox."""

    sock: socket.socket
    stage: Stage = Stage.HELLO
    inbox: bytearray = field(default_factory=bytearray)
    outbox: bytearray = field(default_factory=bytearray)
    sent: int = 0
    """Bytes the kernel took from us for this connection (the outbox is not sent yet)."""
    arrived: int = 0
    """Of those, how many the rig's end was last seen to have received (the kernel's count, never more than
    ``sent``): while it equals ``sent`` there is nothing on the way and no need to ask again."""
    received: int = 0
    """Bytes read from the rig on this connection: once it equals what the rig's end has written, nothing the
    rig wrote is still on the way."""
    overruns: int = 0
    watched: bool = True
    closed: bool = False

    @property
    def raw(self) -> bool:
        return self.stage is Stage.RAW


def frame_line(frame: BusFrame, epoch_at_zero: float = 0.0) -> bytes:
    """``< frame ID SEC.USEC DATA >``, as socketcand writes it (no data: two spaces, which python-can expects),
    stamped as socketcand stamps: its kernel's receive time in seconds since 1970 (``epoch_at_zero`` + lab time)."""
    ident = f"{frame.frame_id:08X}" if frame.extended else f"{frame.frame_id:03X}"
    return f"< frame {ident} {epoch_at_zero + frame.time_s:.6f} {frame.data.hex().upper()} >".encode("ascii")


def parse_send(words: list[str]) -> tuple[int, bytes, bool]:
    """The (id, data, extended) of ``< send ID DLC B0 B1 ... >`` (words after ``send``); ValueError if malformed."""
    if len(words) < 2:
        raise ValueError("expected < send ID DLC BYTES... >")
    ident_text, dlc_text, *byte_texts = words
    ident, dlc = int(ident_text, 16), int(dlc_text, 16)
    data = bytes(int(text, 16) for text in byte_texts)
    if dlc != len(data):
        raise ValueError(f"length {dlc} but {len(data)} data bytes")
    extended = len(ident_text) > 3
    check_frame(ident, data, extended)
    return ident, data, extended


class CanServer:
    """Serves one ``CanBus`` to any number of rig connections; ``resource`` is the driver's address for it."""

    def __init__(self, bus: CanBus, lock: threading.RLock, *, catch_up: Callable[[], None],
                 wall_time: Callable[[], float] | None = None, channel: str = CHANNEL,
                 epoch_at_zero: float = 0.0) -> None:
        """``catch_up()`` brings a real-time lab to the wall clock; ``wall_time()`` (real time only) is the lab's
        time now, so the server can wake for the bus's next timer. Both run under ``lock``, the lab's lock.
        ``epoch_at_zero``: the gateway's clock (seconds since 1970) at lab time 0, what its frames are stamped by."""
        self._bus = bus
        self._lock = lock
        self._catch_up = catch_up
        self._wall_time = wall_time
        self.channel = channel
        self.epoch_at_zero = epoch_at_zero
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self._wake_in, self._wake_out = socket.socketpair()
        self._wake_in.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._selector.register(self._wake_in, selectors.EVENT_READ)
        self._peers = PeerQueues()
        self._connections: list[Connection] = []
        self._stopping = False
        self.protocol_errors: list[str] = []
        """Messages the lab could not make sense of (a rig bug, never silent: also logged)."""
        self.failures: list[str] = []
        """Exceptions in the server's own thread (a lab component failing on a real-time lab's timer or
        frame; also logged). In virtual time they propagate into the rig's wait instead."""
        self._thread = threading.Thread(target=self._serve, name=f"can-{channel}", daemon=True)
        bus.tap(self._put_on_wire)
        if wall_time is not None:
            bus.on_schedule = lambda _t: self._wake()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def resource(self) -> str:
        return f"socketcand://127.0.0.1:{self.port}/{self.channel}"

    @property
    def overruns(self) -> int:
        """Frames dropped because a rig connection did not read them."""
        return sum(conn.overruns for conn in self._connections)

    def start(self) -> CanServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._bus.untap(self._put_on_wire)
            self._bus.on_schedule = None
        self._wake()
        self._thread.join(timeout=2.0)
        for conn in list(self._connections):
            self._close(conn)
        self._selector.close()
        for sock in (self._listener, self._wake_in, self._wake_out):
            sock.close()
        self._peers.close()

    # -- quiescence: what the lab calls around an advance ------------------------------------------

    def drain(self) -> None:
        """Read and apply, at the lab's current instant, every byte the rig has written so far."""
        with self._lock:
            for conn in list(self._connections):
                if conn.raw:
                    self._drain_connection(conn)

    def flush(self) -> None:
        """Return once every frame the lab sent is in the rig's socket (its end has received every byte).

        A rig that has stopped reading is not waited for: frames it has not
        made room for (the window its end advertises is smaller than what is
        still on the way) are as late as it makes them.
        """
        with self._lock:
            for conn in list(self._connections):
                if conn.stage is not Stage.RAW:
                    continue
                self._push(conn)
                deadline = None
                while not conn.closed and self._on_the_way(conn):
                    deadline = self._check_deadline(deadline, conn, "frames the lab sent have not arrived")
                    time.sleep(0)

    def _on_the_way(self, conn: Connection) -> bool:
        """Bytes we wrote have not reached the rig's end, and it has room for them (so they will, at once)."""
        if conn.arrived == conn.sent:
            return False  # all we wrote was seen received: the kernel need not be asked again
        try:
            conn.arrived = min(conn.sent, self._peers.of(conn.sock).received)
            outstanding = conn.sent - conn.arrived
            return outstanding > 0 and send_window(conn.sock) >= outstanding
        except OSError:
            return False  # closing: nothing to wait for

    def _drain_connection(self, conn: Connection) -> None:
        self._handle_messages(conn)  # whole messages left by a lab component that failed on an earlier one
        deadline = None
        while not conn.closed:
            if unread(conn.sock):
                self._read(conn)
                continue
            if self._all_arrived(conn):
                return
            deadline = self._check_deadline(deadline, conn, "bytes the rig wrote have not arrived")
            select.select([conn.sock], [], [], POLL_S)

    def _all_arrived(self, conn: Connection) -> bool:
        """Every byte the rig's end has written on this connection has been read here (the kernel's counts).
        Asked cheaply first (nothing unacknowledged: nothing can be on the way), then by the byte counts, which
        do not wait for our acknowledgement to reach the rig's end."""
        try:
            return self._peers.unacknowledged(conn.sock) == 0 or self._peers.of(conn.sock).written <= conn.received
        except OSError:
            return True  # the rig's end is gone: nothing more is coming

    def _check_deadline(self, deadline: float | None, conn: Connection, what: str) -> float:
        now = time.monotonic()
        if deadline is None:
            return now + WIRE_TIMEOUT_S
        if now > deadline:
            raise WireStalled(f"CAN connection {self._describe(conn)}: {what} after {WIRE_TIMEOUT_S} s")
        return deadline

    # -- the server's thread: connections, handshakes and (in real time) frames and timers ------------------

    def _serve(self) -> None:
        while True:
            events = self._selector.select(self._timeout())
            with self._lock:
                if self._stopping:
                    return
                try:
                    self._serve_events(events)
                except Exception as err:  # noqa: BLE001 - a lab component's bug must not silence the bus
                    log.exception("the lab's CAN server thread")
                    self.failures.append(f"{type(err).__name__}: {err}")

    def _serve_events(self, events: list[tuple[selectors.SelectorKey, int]]) -> None:
        self._catch_up()
        for key, _mask in events:
            if key.fileobj is self._listener:
                self._accept()
            elif key.fileobj is self._wake_in:
                self._clear_wakes()
            elif not key.data.closed:
                self._read(key.data)
        for conn in list(self._connections):
            if conn.outbox:
                self._push(conn)

    def _timeout(self) -> float | None:
        with self._lock:
            if any(conn.outbox for conn in self._connections):
                return POLL_S
            if self._wall_time is None:
                return None
            t_next = self._bus.next_event_time()
            return None if t_next is None else max(0.0, t_next - self._wall_time())

    def _wake(self) -> None:
        try:
            self._wake_out.send(b"!")
        except (BlockingIOError, OSError):
            pass  # already awake (or stopped)

    def _clear_wakes(self) -> None:
        try:
            while self._wake_in.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _accept(self) -> None:
        try:
            sock, _address = self._listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each frame goes when sent, not after an ACK
        conn = Connection(sock)
        self._connections.append(conn)
        self._selector.register(sock, selectors.EVENT_READ, conn)
        self._write(conn, b"< hi >")

    def _read(self, conn: Connection) -> None:
        """Take what the rig wrote and apply every whole message, at the lab's current time."""
        self._catch_up()
        while not conn.closed:
            try:
                chunk = conn.sock.recv(RECV_BYTES)
            except BlockingIOError:
                return
            except OSError:
                self._close(conn)
                return
            if not chunk:
                self._close(conn)
                return
            conn.received += len(chunk)
            conn.inbox += chunk
            self._acknowledge_now(conn)
            self._handle_messages(conn)
            if len(chunk) < RECV_BYTES:
                return

    def _acknowledge_now(self, conn: Connection) -> None:
        """Send our ACK now, not after the delayed-ACK timer: the rig's end then counts nothing in flight,
        and a write it holds back for that ACK (Nagle) is released."""
        try:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        except OSError:
            pass  # closing: the next recv says so

    def _handle_messages(self, conn: Connection) -> None:
        while (end := conn.inbox.find(b">")) >= 0:
            message = bytes(conn.inbox[:end + 1]).decode("ascii", errors="replace").strip()
            del conn.inbox[:end + 1]
            if not message.startswith("<"):
                self._protocol_error(conn, f"not a message: {message!r}")
                continue
            self._handle(conn, message, message[1:-1].split())

    def _handle(self, conn: Connection, message: str, words: list[str]) -> None:
        command = words[0] if words else ""
        if command == "send" and conn.raw:
            self._frame_from_rig(conn, message, words[1:])
        elif command == "open" and conn.stage is Stage.HELLO and len(words) == 2:
            if words[1] != self.channel:
                # on record before the refusal is on the wire: whoever reads the refusal finds the error logged
                self._protocol_error(conn, f"asked for bus {words[1]!r}; the lab serves {self.channel!r}")
                self._write(conn, b"< error could not open bus >")
                return
            conn.stage = Stage.OPENED
            self._write(conn, b"< ok >")
        elif command == "rawmode" and conn.stage is Stage.OPENED:
            # As a gateway does: raw mode from now on, so a frame on the bus may follow the ok in the same read
            # (python-can's handshake reads once; the rig's driver opens again when that happens).
            conn.stage = Stage.RAW
            self._write(conn, b"< ok >")
            if self._wall_time is None:  # virtual time: from now on only drain() reads this connection
                self._selector.unregister(conn.sock)
                conn.watched = False
        else:
            self._protocol_error(conn, f"{message!r} is not expected while {conn.stage.value}")

    def _frame_from_rig(self, conn: Connection, message: str, words: list[str]) -> None:
        try:
            ident, data, extended = parse_send(words)
        except ValueError as err:
            self._protocol_error(conn, f"{message!r}: {err}")
            return
        self._broadcast(self._bus.received(ident, data, extended=extended), source=conn)

    def _protocol_error(self, conn: Connection, text: str) -> None:
        problem = f"CAN connection {self._describe(conn)}: {text}"
        log.error(problem)
        self.protocol_errors.append(problem)

    # -- frames to the rig --------------------------------------------------------------------------

    def _put_on_wire(self, frame: BusFrame) -> None:
        self._broadcast(frame, source=None)

    def _broadcast(self, frame: BusFrame, *, source: Connection | None) -> None:
        line = frame_line(frame, self.epoch_at_zero)
        for conn in list(self._connections):
            if conn is source:
                continue
            if conn.stage is Stage.RAW:
                self._write(conn, line, hold=self._wall_time is None)

    def _write(self, conn: Connection, data: bytes, *, hold: bool = False) -> None:
        """Send ``data`` now, or queue it behind what is queued. ``hold``: queue it even when nothing is (virtual
        time: the frames of one advance go in one write at its end, ``flush``; the rig cannot read before then,
        and each frame carries its own time stamp, so only the number of system calls changes)."""
        if conn.outbox or hold:
            if len(conn.outbox) + len(data) > OUTBOX_LIMIT:
                if not conn.overruns:
                    log.warning("CAN connection %s does not read its frames: dropping them", self._describe(conn))
                conn.overruns += 1
                return
            conn.outbox += data
            if len(conn.outbox) >= HELD_BYTES:
                self._push(conn)  # a long advance's frames go to the kernel's buffers as they fill, as before
            return
        try:
            sent = conn.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._close(conn)
            return
        conn.sent += sent
        conn.outbox += data[sent:]

    def _push(self, conn: Connection) -> None:
        if not conn.outbox:
            return
        try:
            sent = conn.sock.send(conn.outbox)
        except BlockingIOError:
            return
        except OSError:
            self._close(conn)
            return
        conn.sent += sent
        del conn.outbox[:sent]

    def _close(self, conn: Connection) -> None:
        if conn.closed:
            return
        conn.closed = True
        if conn.watched:
            try:
                self._selector.unregister(conn.sock)
            except (KeyError, ValueError):
                pass
        conn.sock.close()
        self._connections.remove(conn)

    def _describe(self, conn: Connection) -> str:
        try:
            host, port = conn.sock.getpeername()[:2]
            return f"{host}:{port} on {self.channel}"
        except OSError:
            return f"(closed) on {self.channel}"
