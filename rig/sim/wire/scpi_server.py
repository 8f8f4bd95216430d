"""A small SCPI instrument server for the simulated lab.

Real instruments on a bench are reached as ``TCPIP0::host::port::SOCKET``
resources: newline-terminated SCPI over a raw TCP socket. The simulated lab
serves its instruments the same way on 127.0.0.1, so the rig's drivers run
unchanged against it. This module gives the generic parts: SCPI header
matching (long and short forms, optional nodes in brackets), a per-instrument
error queue, ``*IDN?``/``*RST``/``*OPC?``/``*CLS``, and a threaded TCP server
that serialises every command through the lab's lock.

Program messages follow IEEE 488.2 / SCPI header-path rules, as instrument
manuals describe them (e.g. Chroma's "Traversal of the Command Tree"): the
first unit of a message starts at the root; a later unit without a leading
colon is relative to the previous unit's path (its header minus the last
node); a leading colon returns to the root; common commands (``*IDN?``...)
leave the path alone. So ``:CHAN1:RANG 10;OFFS 0`` sets channel 1's offset
and ``SOUR:VOLT 230;SYST:ERR?`` asks for ``SOUR:VOLT:SYST:ERR?`` (undefined).

Commands registered as *coupled* run when the whole program message has been
parsed, after the other units (in order of reception), as AC-source manuals
describe for settings that constrain each other (voltage, range, limits):
``VOLT 400;:SYST:ERR?`` reads the queue before the voltage command runs.
"""

from __future__ import annotations

import functools
import re
import socket
import socketserver
import threading
from dataclasses import dataclass
from typing import Callable

Reply = str | bytes | None


class ScpiError(Exception):
    """An error the instrument pushes to its queue (code and message, as SCPI defines them)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def undefined_header(header: str) -> ScpiError:
    return ScpiError(-113, f"Undefined header;{header}")


def illegal_value(detail: str) -> ScpiError:
    return ScpiError(-224, f"Illegal parameter value;{detail}")


def on_off(args: list[str]) -> bool:
    """A boolean parameter as SCPI spells it: ON / 1 or OFF / 0, else -224."""
    word = args[0].upper() if len(args) == 1 else ""
    if word in ("ON", "1"):
        return True
    if word in ("OFF", "0"):
        return False
    raise illegal_value("expected ON or OFF")


def _node_regex(node: str) -> str:
    """``VOLTage`` accepts VOLT and VOLTAGE (any case); ``CHANnel1`` CHAN1 and CHANNEL1; ``AC`` only AC."""
    name, suffix = re.fullmatch(r"(.*?)(\d*)", node).groups()  # type: ignore[union-attr]  # always matches
    short = re.match(r"[A-Z*]*", name).group(0)  # type: ignore[union-attr]  # always matches
    rest = name[len(short):].upper()
    body = re.escape(short) + (f"(?:{re.escape(rest)})?" if rest else "")
    return body + re.escape(suffix)


def compile_header(pattern: str) -> re.Pattern[str]:
    """Compile ``[SOURce:]VOLTage[:LEVel]:AC`` into a case-insensitive regex for the header."""
    out = []
    for token in re.findall(r"\[[^\]]+\]|[^\[\]]+", pattern.lstrip(":")):
        optional = token.startswith("[")
        body = token.strip("[]")
        parts = [p for p in re.split(r"(:)", body) if p]
        regex = "".join(":" if p == ":" else _node_regex(p) for p in parts)
        out.append(f"(?:{regex})?" if optional else regex)
    return re.compile(r"^:?" + "".join(out) + r"$", re.IGNORECASE)


@dataclass
class Command:
    header: re.Pattern[str]
    query: bool
    handler: Callable[[list[str]], Reply]
    coupled: bool = False


class ScpiInstrument:
    """Base of a simulated SCPI instrument: a command table and an error queue.

    Subclasses register commands with ``self.add(pattern, handler, query=...)``.
    Handlers get the comma-separated arguments and return the reply (None for
    a setting command). They run with the lab's lock held and ``self.lab``'s
    time already brought up to date.
    """

    idn = "v2g-rig,simulated instrument,0,0"

    def __init__(self) -> None:
        self._commands: list[Command] = []
        self.errors: list[tuple[int, str]] = []
        self.add("*IDN", lambda a: self.idn, query=True)
        self.add("*RST", lambda a: self.reset())
        self.add("*CLS", lambda a: self.clear_status())
        self.add("*OPC", lambda a: "1", query=True)
        self.add("SYSTem:ERRor[:NEXT]", lambda a: self.next_error(), query=True)

    def add(self, pattern: str, handler: Callable[[list[str]], Reply], *, query: bool = False,
            coupled: bool = False) -> None:
        """Register a command; a ``coupled`` setting runs at the end of its program message."""
        self._commands.append(Command(compile_header(pattern), query, handler, coupled and not query))

    def reset(self) -> None:
        """*RST: subclasses return to their power-on state."""

    def clear_status(self) -> None:
        """*CLS: the error queue (subclasses clear their event registers too)."""
        self.errors.clear()

    def next_error(self) -> str:
        if not self.errors:
            return '0,"No error"'
        code, message = self.errors.pop(0)
        return f'{code},"{message}"'

    def execute(self, line: str) -> Reply:
        """Run one program message (units separated by ';'); return the reply of its queries.

        Units run in order, except coupled settings, which run after the last
        unit; a unit that fails queues its error and the rest still run.
        """
        replies: list[Reply] = []
        deferred: list[tuple[Command, list[str]]] = []
        path = ""  # the current header path: the root at the start of every message
        for unit in (u.strip() for u in line.split(";")):
            if not unit:
                continue
            written, _, argtext = unit.partition(" ")
            query = written.endswith("?")
            written = written.rstrip("?")
            args = [a.strip() for a in argtext.split(",")] if argtext.strip() else []
            if written.startswith("*"):
                header = written  # common commands neither use nor change the path
            else:
                header = written.lstrip(":") if written.startswith(":") or not path else f"{path}:{written}"
                path = header.rpartition(":")[0]
            self._run(replies, deferred, header, written, query, args)
        for command, args in deferred:
            self._guarded(replies, functools.partial(command.handler, args))
        answers = [r for r in replies if r is not None]
        if not answers:
            return None
        if len(answers) == 1:
            return answers[0]
        return ";".join(r if isinstance(r, str) else r.decode("latin-1") for r in answers)

    def _run(self, replies: list[Reply], deferred: list[tuple[Command, list[str]]], header: str, written: str,
             query: bool, args: list[str]) -> None:
        command = self._lookup(header, query)
        if command is None:
            self.errors.append((-113, f"Undefined header;{written}{'?' if query else ''}"))
        elif command.coupled:
            deferred.append((command, args))
        else:
            self._guarded(replies, lambda: command.handler(args))

    def _guarded(self, replies: list[Reply], run: Callable[[], Reply]) -> None:
        try:
            replies.append(run())
        except ScpiError as err:
            self.errors.append((err.code, err.message))
        except ValueError as err:
            self.errors.append((-224, f"Illegal parameter value;{err}"))

    def _lookup(self, header: str, query: bool) -> Command | None:
        for command in self._commands:
            if command.query == query and command.header.match(header):
                return command
        return None


def ieee_block(payload: bytes) -> bytes:
    """IEEE 488.2 definite-length arbitrary block: #<n><len><payload>."""
    length = str(len(payload))
    return b"#" + str(len(length)).encode() + length.encode() + payload


class _Handler(socketserver.StreamRequestHandler):
    def setup(self) -> None:
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        server: ScpiServer = self.server  # type: ignore[assignment]
        for raw in self.rfile:
            line = raw.decode("ascii", errors="replace").strip()
            if not line:
                continue
            with server.lock:
                server.before_command()
                reply = server.instrument.execute(line)
            if reply is None:
                continue
            data = reply.encode("ascii") if isinstance(reply, str) else reply
            self.wfile.write(data + b"\n")
            self.wfile.flush()


class ScpiServer(socketserver.ThreadingTCPServer):
    """Serve one simulated instrument on 127.0.0.1 (port 0: the OS picks a free one)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, instrument: ScpiInstrument, lock: threading.RLock, before_command: Callable[[], None]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.instrument = instrument
        self.lock = lock
        self.before_command = before_command
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02}, name=f"scpi-{type(instrument).__name__}", daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def resource(self) -> str:
        return f"TCPIP0::127.0.0.1::{self.port}::SOCKET"

    def start(self) -> "ScpiServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
