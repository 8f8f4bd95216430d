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

wss:// (security profiles 2 and 3) runs TLS in memory (``ssl.MemoryBIO`` and
``SSLObject``) over the same plain socket: the counts above stay counts of
the bytes on the wire (ciphertext both ways, as the kernel counts them), so
the quiet-wire rule holds unchanged; a ws:// connection never touches ``ssl``.
A TLS handshake either end breaks off is a ``HandshakeRefused`` naming
OpenSSL's reason, raised once the rig's end has closed the connection (so the
rig has recorded its side of the refusal before the lab moves on).
"""

from __future__ import annotations

import base64
import select
import socket
import ssl
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

    def __init__(self, url: str, subprotocols: Sequence[str], *, basic_auth: tuple[str, str] | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        """``tls``: the charger's TLS context, required for wss:// and refused for ws:// (a charger dials the
        scheme its security profile says)."""
        self.url = url
        if parse_uri(url).secure != (tls is not None):
            raise ValueError(f"{url}: wss:// needs a TLS context and ws:// takes none")
        self._protocol = ClientProtocol(parse_uri(url), subprotocols=[Subprotocol(s) for s in subprotocols])
        self._basic_auth = basic_auth
        self._tls = tls
        self._ssl: ssl.SSLObject | None = None
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self.tls_version: str | None = None
        """The TLS version agreed (wss://), once open."""
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
        if self._tls is not None:
            self._tls_handshake(uri.host)
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
            if self._ssl is not None:
                try:
                    data = self._decrypt(data)
                except ssl.SSLError as err:  # TLS 1.3: the rig refuses a client certificate after the handshake
                    self._refused_by_tls(err)
            if data:  # a TLS read may carry no application data (a session ticket)
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
                if self._ssl is not None:
                    try:
                        data = self._decrypt(data)
                    except ssl.SSLError:  # an alert, or the rig's close_notify: the connection is over
                        self.closed = True
                        self._protocol.receive_eof()
                        break
                if data:
                    self._protocol.receive_data(data)
                continue
            if self._peer_gone():  # the rig's end closed the TCP connection under it (a link lost)
                self.closed = True
                self._protocol.receive_eof()
                break
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
                if self._peers.of(self._sock).received >= self._written or self._peer_gone():
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

    def _peer_gone(self) -> bool:
        """The rig's end has closed the connection (end of stream, or reset), with nothing left unread."""
        assert self._sock is not None
        try:
            readable, _, _ = select.select([self._sock], [], [], 0)
            return bool(readable) and self._sock.recv(1, socket.MSG_PEEK) == b""
        except (BlockingIOError, TimeoutError):
            return False
        except (OSError, ValueError):
            return True

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
            if self._ssl is not None:
                self._ssl.write(data)
                data = self._outgoing.read()
            try:
                self._sock.sendall(data)
            except OSError:
                self.closed = True
                return
            self._written += len(data)

    # -- TLS in memory ---------------------------------------------------------------------------------------

    def _tls_handshake(self, host: str) -> None:
        """The TLS handshake over the plain socket (wall clock, bounded like the WebSocket handshake)."""
        assert self._sock is not None and self._tls is not None
        self._ssl = self._tls.wrap_bio(self._incoming, self._outgoing, server_hostname=host)
        deadline = time.monotonic() + WIRE_TIMEOUT_S
        while True:
            try:
                self._ssl.do_handshake()
                self._send_tls()
                self.tls_version = self._ssl.version()
                return
            except ssl.SSLWantReadError:
                self._send_tls()
            except ssl.SSLError as err:
                self._refused_by_tls(err)
            try:
                raw = self._sock.recv(RECV_BYTES)
            except TimeoutError:
                raw = b""
            if not raw:  # asyncio drops a connection whose handshake failed without sending OpenSSL's alert
                raise HandshakeRefused("TLS handshake refused: the rig's server closed the connection mid-handshake")
            if time.monotonic() > deadline:
                raise HandshakeRefused(f"TLS handshake: no answer from the rig's server within {WIRE_TIMEOUT_S} s")
            self._received += len(raw)
            self._incoming.write(raw)

    def _decrypt(self, raw: bytes) -> bytes:
        """The application data in ``raw`` (TLS records; a record cut short waits in the BIO for the rest)."""
        assert self._ssl is not None
        self._incoming.write(raw)
        chunks = []
        while True:
            try:
                chunk = self._ssl.read(RECV_BYTES)
            except ssl.SSLWantReadError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        self._send_tls()  # what TLS itself answers (a key update)
        return b"".join(chunks)

    def _send_tls(self) -> None:
        """Put on the wire the TLS records waiting in the outgoing BIO (handshake messages, alerts)."""
        assert self._sock is not None
        data = self._outgoing.read()
        if data:
            try:
                self._sock.sendall(data)
            except OSError:
                return
            self._written += len(data)

    def _refused_by_tls(self, err: ssl.SSLError) -> None:
        """Either end broke the TLS handshake off: this end's alert sent, wait (bounded) for the rig's end to
        close, so it has recorded its side first; then raise naming OpenSSL's reason."""
        assert self._sock is not None
        self._send_tls()
        deadline = time.monotonic() + WIRE_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                raw = self._sock.recv(RECV_BYTES)
            except TimeoutError:
                break
            except OSError:
                break
            if not raw:
                break
            self._received += len(raw)
        reason = getattr(err, "verify_message", None) or err.reason or str(err)
        raise HandshakeRefused(f"TLS handshake refused: {reason} ({err.library or 'ssl'}: {err.reason})") from None
