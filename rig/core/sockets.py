"""What the kernel says of a socket, for any layer that must know whether bytes are still waiting in it."""

from __future__ import annotations

import array
import fcntl
import socket
import struct
import termios


def unread(sock: socket.socket) -> int:
    """Bytes waiting in ``sock``'s receive queue."""
    count = array.array("i", [0])
    fcntl.ioctl(sock.fileno(), termios.FIONREAD, count)
    return count[0]


_TCP_INFO_BYTES = 512
_BYTES_RECEIVED_OFFSET = 128  # tcpi_bytes_received in struct tcp_info (Linux 4.1 and later)


def received_bytes(sock: socket.socket) -> int:
    """Bytes the kernel has received on this TCP connection since it opened (its own ``tcpi_bytes_received``)."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_BYTES)
    return int(struct.unpack_from("=Q", info, _BYTES_RECEIVED_OFFSET)[0])
