"""A WebSocket client the simulated lab drives itself: the charger's OCPP connection to the rig's CSMS.

Sans-I/O (websockets' ``ClientProtocol``) over a plain socket the lab reads
only when it drains, as its CAN server does: nothing happens behind the
model's back, so in virtual time a frame is handled at the lab instant it
is drained, whatever the wall clock did meanwhile. The kernel's byte counts
(``rig.sim.wire.tcp_queues``) tell when the wire is quiet: the rig's writes
have all arrived once this end has received as many bytes as the rig's end
wrote; this end's writes are in the rig's socket once the rig's end has
received them all.

The opening handshake is the one exchange waited for on the wall clock (the
rig's server answers it in its own thread, bounded by ``WIRE_TIMEOUT_S``).
"""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from rig.sim.wire.tcp_queues import PeerQueues, unread

WIRE_TIMEOUT_S = 5.0
"""Longest wall-clock wait for the rig's end (its handshake answer, its reading what the lab wrote)."""
RECV_BYTES = 65536


class HandshakeRefused(ConnectionError):
    """The rig's server did not open the WebSocket (an HTTP status, or no answer)."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Received:
    """What a drain found: the text frames in order, and whether the rig closed the connection (its code)."""

    texts: list[str]
    closed_code: int | None = None


class WsClient:
    """One connection: ``open()``, then ``send`` and ``drain`` at lab instants; ``close()``."""

    def __init__(self, url: str, subprotocols: Sequence[str], *, basic_auth: tuple[str, str] | None = None) -> None:
        self.url = url
        self._protocol = ClientProtocol(parse_uri(url), subprotocols=[Subprotocol(s) for s in subprotocols])
        self._basic_auth = basic_auth
        self._sock: socket.socket | None = None
        self._peers = PeerQueues()
        self._written = 0
        self._received = 0
        self.subprotocol: str | None = None
        self.closed = False

    def open(self) -> str | None:
        """Connect and hand-shake; the subprotocol the rig chose (None: none, and it will close). Raises
        ``HandshakeRefused`` on an HTTP refusal or no answer, ``OSError`` when nothing listens."""
        uri = parse_uri(self.url)
        self._sock = socket.create_connection((uri.host, uri.port), timeout=WIRE_TIMEOUT_S)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request = self._protocol.connect()
        if self._basic_auth is not None:
            user, password = self._basic_auth
            request.headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self._protocol.send_request(request)
        self._write()
        deadline = time.monotonic() + WIRE_TIMEOUT_S
        while True:
            try:
                data = self._sock.recv(RECV_BYTES)
            except TimeoutError:
                data = b""
            if not data:
                raise HandshakeRefused("the rig's server closed the connection or did not answer the handshake")
            self._received += len(data)
            self._protocol.receive_data(data)
            response = next((e for e in self._protocol.events_received() if isinstance(e, Response)), None)
            if response is not None:
                break
            if time.monotonic() > deadline:
                raise HandshakeRefused(f"no handshake answer within {WIRE_TIMEOUT_S} s")
        if self._protocol.handshake_exc is not None:
            raise HandshakeRefused(f"refused: HTTP {response.status_code}", response.status_code)
        self.subprotocol = self._protocol.subprotocol
        return self.subprotocol

    def send(self, text: str) -> None:
        self._protocol.send_text(text.encode("utf-8"))
        self._write()

    def drain(self) -> Received:
        """Everything the rig's end has written so far, read and decoded (waits, bounded, for bytes the kernel
        counts as written by the rig's end but not yet here)."""
        texts: list[str] = []
        closed_code = None
        if self._sock is None or self.closed:
            return Received(texts)
        deadline = time.monotonic() + WIRE_TIMEOUT_S
        while True:
            waiting = unread(self._sock)
            if waiting:
                data = self._sock.recv(max(waiting, RECV_BYTES))
                if not data:
                    self.closed = True
                    self._protocol.receive_eof()
                    break
                self._received += len(data)
                self._protocol.receive_data(data)
                continue
            if self._all_arrived() or time.monotonic() > deadline:
                break  # past the deadline the rig's end holds what it wrote: as late as it makes it
            time.sleep(0)
        for event in self._protocol.events_received():
            if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                texts.append(bytes(event.data).decode("utf-8", errors="replace"))
            elif isinstance(event, Frame) and event.opcode is Opcode.CLOSE:
                closed_code = Close.parse(event.data).code if event.data else 1005
                self.closed = True
        self._write()  # pongs and the closing handshake's answer
        return Received(texts, closed_code)

    def flush(self) -> None:
        """Return once every byte this end wrote is in the rig's socket."""
        if self._sock is None or self.closed:
            return
        deadline = time.monotonic() + WIRE_TIMEOUT_S
        while True:
            try:
                if self._peers.of(self._sock).received >= self._written:
                    return
            except OSError:
                return
            if time.monotonic() > deadline:
                return
            time.sleep(0)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.closed = True

    def _all_arrived(self) -> bool:
        assert self._sock is not None
        try:
            return self._peers.of(self._sock).written <= self._received
        except OSError:
            return True

    def _write(self) -> None:
        """Send what the protocol has queued (the socket keeps its timeout: a loopback write never waits long)."""
        assert self._sock is not None
        for data in self._protocol.data_to_send():
            if not data:
                continue
            try:
                self._sock.sendall(data)
            except OSError:
                self.closed = True
                return
            self._written += len(data)
