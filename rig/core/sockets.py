"""What the kernel says of a socket, for any layer that must know whether bytes are still waiting in it."""

from __future__ import annotations

import array
import fcntl
import socket
import termios


def unread(sock: socket.socket) -> int:
    """Bytes waiting in ``sock``'s receive queue."""
    count = array.array("i", [0])
    fcntl.ioctl(sock.fileno(), termios.FIONREAD, count)
    return count[0]
