"""The kernel's byte counts of a TCP connection the simulated lab serves on loopback.

The lab may let virtual time move only when every byte the rig wrote has
been read and handled, and the lab's own frames are in the rig's socket.
Those are facts about the wire, and the kernel keeps them:

- ``unread(sock)``: bytes in this socket's receive queue (``FIONREAD``);
- ``send_window(sock)``: the window the other end advertises (0 when its
  owner has stopped reading and its receive buffer is full);
- ``PeerQueues.of(sock)``: the *other* end of the connection, asked of the
  kernel's socket table (``NETLINK_SOCK_DIAG``, what ``ss`` reads): bytes
  it has received and not read, bytes it wrote that are not acknowledged
  (a write still held back by Nagle's algorithm, or in the loopback queue,
  or waiting for our ACK, shows up here and nowhere else), every byte
  it has received since the connection opened, and every byte its owner
  has written since then (sent once, or still held back).

The last two are what tell the lab the wire is quiet. Its frames are in
the rig's socket once the rig's end has received as many bytes as the lab
has written; the rig's writes have all arrived once the lab has received as
many bytes as the rig's end has written. (Waiting for *acknowledgements*
instead would wait for the other end's ACKs: a delayed ACK takes tens of
milliseconds, and even one sent at once costs a poll of the kernel.)

The lab and the rig run on one machine, so the kernel sees both ends; the
lab asks it about the connection, never the rig's objects. Linux only.
"""

from __future__ import annotations

import socket
import struct
import weakref
from dataclasses import dataclass

from rig.core.sockets import unread

__all__ = ["PeerQueues", "Queues", "send_window", "unread"]

_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 0x1
_NLMSG_ERROR = 0x2
_NLMSG_HEADER = struct.Struct("=IHHII")
_REQUEST = struct.Struct("=BBBBI")  # inet_diag_req_v2 without its socket id: family, protocol, ext, pad, states
_ALL_STATES = 0xFFFFFFFF
_NO_COOKIE = 0xFFFFFFFF
_QUEUES_OFFSET = _NLMSG_HEADER.size + 4 + 48 + 4  # inet_diag_msg: 4 one-byte fields, the socket id, expires
_MESSAGE_END = _QUEUES_OFFSET + 4 * 4  # rqueue, wqueue, uid, inode
_INET_DIAG_INFO = 2  # the attribute carrying struct tcp_info
_ATTRIBUTE = struct.Struct("=HH")  # rtattr: length, type
_BYTES_RECEIVED = struct.Struct("=Q")
_BYTES_RECEIVED_OFFSET = 128  # of tcpi_bytes_received in struct tcp_info (Linux 4.1 and later)
_NOTSENT_OFFSET = 144  # of tcpi_notsent_bytes (Linux 4.6 and later)
_BYTES_SENT_OFFSET = 200  # of tcpi_bytes_sent, then tcpi_bytes_retrans (Linux 4.19 and later)
_SENT_AND_RETRANSMITTED = struct.Struct("=QQ")
_SND_WND_OFFSET = 228  # of tcpi_snd_wnd (Linux 5.4 and later)
_TCP_INFO_BYTES = 512


@dataclass(frozen=True)
class Queues:
    """One end of a TCP connection, as the kernel counts it."""

    unread: int
    """Bytes received and not yet read by the socket's owner."""
    unacknowledged: int
    """Bytes written and not yet acknowledged by the other end (including any not sent yet)."""
    received: int
    """Bytes received since the connection opened (``tcpi_bytes_received``)."""
    written: int
    """Bytes its owner has written since the connection opened: sent once (``tcpi_bytes_sent`` less
    ``tcpi_bytes_retrans``, which counts the same bytes again) or not sent yet (``tcpi_notsent_bytes``)."""


def send_window(sock: socket.socket) -> int:
    """The receive window the other end last advertised to ``sock`` (``tcpi_snd_wnd``): 0 once it stops reading."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_BYTES)
    if len(info) < _SND_WND_OFFSET + 4:
        raise OSError("this kernel's tcp_info has no tcpi_snd_wnd (Linux 5.4 or later)")
    return int(struct.unpack_from("=I", info, _SND_WND_OFFSET)[0])


class PeerQueues:
    """Asks the kernel about the other end of IPv4 TCP connections (one netlink socket, reused)."""

    def __init__(self) -> None:
        self._netlink = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_SOCK_DIAG)
        self._sequence = 0
        self._bodies: weakref.WeakKeyDictionary[socket.socket, tuple[bytes, str]] = weakref.WeakKeyDictionary()
        """Per socket, the request naming its peer (a connection's addresses never change), and its name."""

    def of(self, sock: socket.socket) -> Queues:
        """The queues of the socket at the other end of ``sock``'s connection."""
        reply, length = self._query(sock, with_info=True)
        unread_bytes, unacknowledged_bytes = struct.unpack_from("=II", reply, _QUEUES_OFFSET)
        info = _tcp_info(reply[_MESSAGE_END:length])
        (received,) = _BYTES_RECEIVED.unpack_from(info, _BYTES_RECEIVED_OFFSET)
        (not_sent,) = struct.unpack_from("=I", info, _NOTSENT_OFFSET)
        sent, retransmitted = _SENT_AND_RETRANSMITTED.unpack_from(info, _BYTES_SENT_OFFSET)
        return Queues(unread_bytes, unacknowledged_bytes, int(received), int(sent - retransmitted + not_sent))

    def unacknowledged(self, sock: socket.socket) -> int:
        """``of(sock).unacknowledged`` alone: asked without the tcp_info the kernel would fill for the byte counts
        (half the cost; the lab asks before every instrument command, and it is nearly always 0)."""
        reply, _length = self._query(sock, with_info=False)
        return int(struct.unpack_from("=I", reply, _QUEUES_OFFSET + 4)[0])

    def _query(self, sock: socket.socket, *, with_info: bool) -> tuple[bytes, int]:
        """The kernel's reply about the peer of ``sock``, and the reply's length."""
        if sock.fileno() < 0:
            raise OSError("the socket is closed")
        known = self._bodies.get(sock)
        if known is None:
            here, there = sock.getsockname(), sock.getpeername()
            known = self._bodies[sock] = (_request_body(source=there, destination=here),
                                          f"{there[0]}:{there[1]} -> {here[0]}:{here[1]}")
        body, name = known
        if not with_info:
            body = body[:2] + b"\x00" + body[3:]  # no extensions asked for
        self._sequence += 1
        header = _NLMSG_HEADER.pack(_NLMSG_HEADER.size + len(body), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST,
                                    self._sequence, 0)
        self._netlink.send(header + body)
        reply = self._netlink.recv(8192)
        kind = _NLMSG_HEADER.unpack_from(reply)[1]
        if kind == _NLMSG_ERROR:
            (errno,) = struct.unpack_from("=i", reply, _NLMSG_HEADER.size)
            raise OSError(-errno, f"the kernel has no TCP socket {name}")
        return reply, _NLMSG_HEADER.unpack_from(reply)[0]

    def close(self) -> None:
        self._netlink.close()


def _request_body(source: tuple[str, int], destination: tuple[str, int]) -> bytes:
    """An inet_diag_req_v2 asking for the one IPv4 TCP socket ``source`` -> ``destination``, with its tcp_info."""
    socket_id = (struct.pack("!HH", source[1], destination[1])
                 + socket.inet_aton(source[0]) + bytes(12) + socket.inet_aton(destination[0]) + bytes(12)
                 + struct.pack("=III", 0, _NO_COOKIE, _NO_COOKIE))
    return _REQUEST.pack(socket.AF_INET, socket.IPPROTO_TCP, 1 << (_INET_DIAG_INFO - 1), 0, _ALL_STATES) + socket_id


def _tcp_info(attributes: bytes) -> memoryview:
    """The ``struct tcp_info`` among the reply's attributes (each 4-byte aligned), long enough for every count read."""
    offset = 0
    while offset + _ATTRIBUTE.size <= len(attributes):
        length, kind = _ATTRIBUTE.unpack_from(attributes, offset)
        if length < _ATTRIBUTE.size:
            break
        if kind == _INET_DIAG_INFO and length >= _ATTRIBUTE.size + _BYTES_SENT_OFFSET + _SENT_AND_RETRANSMITTED.size:
            return memoryview(attributes)[offset + _ATTRIBUTE.size:offset + length]
        offset += (length + 3) & ~3
    raise OSError("the kernel's socket table gave no tcp_info with tcpi_bytes_sent (Linux 4.19 or later)")
