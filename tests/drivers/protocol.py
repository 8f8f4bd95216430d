"""Protocol scripts for drivers: a fake VISA session that must be talked to exactly as written.

In the manner of pymeasure's ``expected_protocol``: a script is a list of
``(command, reply)`` pairs. Every command the driver sends must equal the
next scripted one, the scripted reply is returned, and the whole script must
be consumed by the end of the ``with`` block. ``reply`` is a string for
``query``, ``None`` for ``write`` and the raw IEEE 488.2 block (bytes) for
``query_binary_values``, decoded the way pyvisa decodes it.

The fake reaches the driver through ``drivers.scpi.resource_manager()``, the
one place a driver opens its session, so the driver under test is the real
class, constructed the real way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from unittest import mock

from pyvisa.util import from_ieee_block

import drivers.scpi

Script = Sequence[tuple[str, str | bytes | None]]


class ScriptedSession:
    """A VISA message-based session that follows a script and nothing else."""

    def __init__(self, script: Script) -> None:
        self.pending: list[tuple[str, str | bytes | None]] = list(script)
        self.sent: list[str] = []
        self.closed = False

    def _next(self, command: str) -> str | bytes | None:
        assert not self.closed, f"{command!r} sent after close()"
        assert self.pending, f"{command!r} sent, but the script has nothing left (already sent: {self.sent})"
        expected, reply = self.pending.pop(0)
        self.sent.append(command)
        assert command == expected, f"sent {command!r}, the script expected {expected!r}"
        return reply

    def write(self, command: str) -> int:
        reply = self._next(command)
        assert reply is None, f"{command!r} was written, but the script gives it a reply {reply!r}"
        return len(command)

    def query(self, command: str) -> str:
        reply = self._next(command)
        assert isinstance(reply, str), f"{command!r} was queried, but the script gives it {reply!r}"
        return reply + "\n"  # as read from the wire; drivers must not depend on it being stripped

    def query_binary_values(self, command: str, datatype: str = "f", is_big_endian: bool = False,
                            container: Any = list, **_: Any) -> Any:
        reply = self._next(command)
        assert isinstance(reply, bytes), f"{command!r} expects a binary block, the script gives {reply!r}"
        return from_ieee_block(reply, datatype, is_big_endian, container)

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


def setting(command: str, reply: str = OK) -> tuple[str, str]:
    """A setting command as drivers.scpi sends it: command and error query in one program message."""
    return (f"{command};:SYST:ERR?", reply)
