"""Protocol scripts for drivers: a fake VISA session that must be talked to exactly as written.

In the manner of pymeasure's ``expected_protocol``: a script is a list of
``(command, reply)`` pairs, one per program message. Every message the driver
sends must equal the next scripted one, the scripted reply is returned, and
the whole script must be consumed by the end of the ``with`` block.
``reply`` is a string for a query, ``None`` for a message without a reply and
the raw IEEE 488.2 block (bytes) for a block query: the driver writes the
query and reads the block back with ``read_bytes``, the block followed by the
newline terminator as on the wire. One VISA write may carry several program messages, each
ended by a newline (the IEEE 488.2 terminator): they are matched one by one,
and only the last may have a reply.

The fake reaches the driver through ``drivers.scpi.resource_manager()``, the
one place a driver opens its session, so the driver under test is the real
class, constructed the real way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from unittest import mock

import drivers.scpi

Script = Sequence[tuple[str, str | bytes | None]]


class ScriptedSession:
    """A VISA message-based session that follows a script and nothing else."""

    def __init__(self, script: Script) -> None:
        self.pending: list[tuple[str, str | bytes | None]] = list(script)
        self.sent: list[str] = []
        self.closed = False
        self.read_termination: str | None = "\n"
        self._unread = b""

    def _next(self, command: str) -> str | bytes | None:
        assert not self.closed, f"{command!r} sent after close()"
        assert self.pending, f"{command!r} sent, but the script has nothing left (already sent: {self.sent})"
        expected, reply = self.pending.pop(0)
        self.sent.append(command)
        assert command == expected, f"sent {command!r}, the script expected {expected!r}"
        return reply

    def _messages(self, text: str) -> str:
        """Match every program message but the last (no reply expected); return the last."""
        *leading, last = text.split("\n")
        for message in leading:
            reply = self._next(message)
            assert reply is None, f"{message!r} is followed by another message, but the script gives it {reply!r}"
        return last

    def write(self, command: str) -> int:
        message = self._messages(command)
        reply = self._next(message)
        if isinstance(reply, bytes):  # a block query: the block waits to be read
            self._unread += reply + b"\n"
        else:
            assert reply is None, f"{message!r} was written, but the script gives it a reply {reply!r}"
        return len(command)

    def read_bytes(self, count: int, chunk_size: int | None = None, **_: Any) -> bytes:
        assert len(self._unread) >= count, f"{count} bytes read, only {len(self._unread)} were sent"
        data, self._unread = self._unread[:count], self._unread[count:]
        return data

    def query(self, command: str) -> str:
        message = self._messages(command)
        reply = self._next(message)
        assert isinstance(reply, str), f"{message!r} was queried, but the script gives it {reply!r}"
        assert not self._unread, f"{message!r} sent while {len(self._unread)} bytes of a block were unread"
        return reply + "\n"  # as read from the wire; drivers must not depend on it being stripped

    def close(self) -> None:
        self.closed = True


class ScriptedResourceManager:
    """Hands out one scripted session and remembers how it was opened."""

    def __init__(self, session: ScriptedSession) -> None:
        self.session = session
        self.opened: list[tuple[str, dict[str, Any]]] = []

    def open_resource(self, resource: str, **kwargs: Any) -> ScriptedSession:
        self.opened.append((resource, kwargs))
        return self.session


@contextmanager
def expected_protocol(driver_class: type, script: Script, *, resource: str = "TCPIP0::192.0.2.10::5025::SOCKET",
                      name: str = "dut-instrument", **driver_kwargs: Any) -> Iterator[Any]:
    """Construct ``driver_class`` on a scripted session; on a clean exit, the script must be used up."""
    session = ScriptedSession(script)
    manager = ScriptedResourceManager(session)
    with mock.patch.object(drivers.scpi, "resource_manager", lambda: manager):
        driver = driver_class(resource, name=name, **driver_kwargs)
    driver.scripted_session = session  # for tests that look at what was sent
    driver.scripted_manager = manager
    yield driver
    assert not session.pending, f"the driver left scripted commands unsent: {[c for c, _ in session.pending]}"


OK = '0,"No error"'
"""An empty SCPI error queue."""


def setting(command: str, reply: str = OK) -> list[tuple[str, str | None]]:
    """A setting command as drivers.scpi sends it: the command, then the error query as its own message."""
    return [(command, None), ("SYST:ERR?", reply)]


def settings(*commands: str) -> list[tuple[str, str | None]]:
    """Several settings, each followed by its error query, all answered "no error"."""
    return [pair for command in commands for pair in setting(command)]
