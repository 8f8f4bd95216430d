"""The kernel's byte counts the simulated lab waits on (rig.sim.wire.tcp_queues), held against what was written and read."""

from __future__ import annotations

import socket

import pytest

from rig.sim.wire.tcp_queues import PeerQueues, unread


@pytest.fixture
def pair():
    """A loopback connection: (the lab's end, the rig's end), Nagle off at the rig's end as the drivers set it."""
    listener = socket.create_server(("127.0.0.1", 0))
    rig = socket.create_connection(listener.getsockname())
    rig.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    lab, _ = listener.accept()
    listener.close()
    yield lab, rig
    lab.close()
    rig.close()


@pytest.fixture
def peers():
    queues = PeerQueues()
    yield queues
    queues.close()


def _read_all(sock: socket.socket) -> int:
    count = 0
    while unread(sock):
        count += len(sock.recv(65536))
    return count


def test_the_rigs_written_bytes_are_counted_whether_or_not_read(pair, peers):
    lab, rig = pair
    assert peers.of(lab).written == 0
    for _ in range(5):
        rig.sendall(b"< send 102 8 00 01 02 03 04 05 06 07 >")
    written = peers.of(lab).written
    assert written == 5 * len(b"< send 102 8 00 01 02 03 04 05 06 07 >")
    assert _read_all(lab) == written  # what the rig wrote is what the lab reads, no more
    assert peers.of(lab).written == written


def test_bytes_the_lab_sent_are_counted_at_the_rigs_end_once_received(pair, peers):
    lab, rig = pair
    lab.sendall(b"< frame 109 0.100000 00 >")
    queues = peers.of(lab)
    assert queues.received == len(b"< frame 109 0.100000 00 >")
    assert queues.unread == queues.received  # received by the rig's kernel, not yet read by the rig


def test_a_closed_rig_end_is_an_os_error_not_a_count(pair, peers):
    lab, rig = pair
    lab.close()
    with pytest.raises(OSError):
        peers.of(lab)
