"""The common ground of every SCPI driver: VISA session, error queue, declared settings, measurements and status.

A driver is a declaration in the manner of pymeasure and QCoDeS: each
setting states its command, unit, the instrument's own range and the bench
envelope quantity it is checked against, in one place (``Setting``); each
measurement its query, unit, sign convention and the envelope quantity its
magnitude is watched against (``Measurement``); each status register its
query and the bits that mean a protection tripped (``StatusRegister``).
Values are checked before any I/O; after every setting command the error
queue is read, which both catches refusals at the command that caused them
and makes every exchange synchronous (the simulated lab's virtual time
relies on that). What every driver does with those declarations is written
here once: the envelope watch of a reading, the status decoding, the error
queue read as a fault, and ``faults()`` built from the three.

The setting and the error query travel as two program messages. Joined by
``;`` into one message (``CMD;:SYST:ERR?``) they would read the queue before
a *coupled* command had run (AC-source manuals defer those to the end of the
message), so the error would be missed there and blamed on the next command.
Each message ends in a newline, the IEEE 488.2 program message terminator,
and both go in one write: ``CMD\nSYST:ERR?\n``. (Two separate writes cost a
Nagle/delayed-ACK stall of tens of milliseconds per setting on a TCP socket,
and pyvisa-py cannot switch Nagle off: its VI_ATTR_TCPIP_NODELAY setter is
not wired.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np
import pyvisa
from pyvisa.errors import InvalidSession, VisaIOError
from pyvisa.resources import MessageBasedResource

from rig.core import stop
from rig.core.bench_checks import BenchCheck
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import EnvelopeBreach, InstrumentError
from rig.core.identity import InstrumentFamily

_resource_manager: pyvisa.ResourceManager | None = None

BlockType = Literal["b", "B", "h", "H", "i", "I", "f", "d", "f4", "f8"]
"""Element types of an IEEE 488.2 binary block, as struct codes."""


def resource_manager() -> pyvisa.ResourceManager:
    """One pyvisa-py resource manager per process (pure Python: no vendor VISA needed)."""
    global _resource_manager
    if _resource_manager is not None:
        try:
            _resource_manager.session  # pyvisa shares one manager per library: someone may have closed it
        except InvalidSession:
            _resource_manager = None
    if _resource_manager is None:
        _resource_manager = pyvisa.ResourceManager("@py")
    return _resource_manager


def number(reply: str) -> str | None:
    """A ``confirm_query`` judge: the reply is a number."""
    try:
        float(reply)
    except ValueError:
        return "not a number"
    return None


def one_of(*forms: str) -> Callable[[str], str | None]:
    """A ``confirm_query`` judge: the reply is one of ``forms`` (case and a leading + ignored)."""
    def judge(reply: str) -> str | None:
        return None if reply.strip().lstrip("+").upper() in forms else f"not one of {', '.join(forms)}"
    return judge


def _is_no_error(reply: str) -> bool:
    """``0,"No error"`` (and ``+0,...``) is an empty SCPI error queue."""
    return reply.split(",", 1)[0].strip().lstrip("+") in ("0", "-0")


class Setting:
    """A declared instrument setting: ``driver.voltage = 230.0`` validates, sends, checks errors."""

    def __init__(self, set_cmd: str, get_cmd: str, *, unit: str, limits: tuple[float, float],
                 envelope: str | None = None, doc: str = "") -> None:
        self.set_cmd, self.get_cmd, self.unit, self.limits, self.envelope = set_cmd, get_cmd, unit, limits, envelope
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, driver: "ScpiDriver | None", owner: type) -> Any:
        if driver is None:
            return self
        return driver.query_number(self.get_cmd)

    def __set__(self, driver: "ScpiDriver", value: float) -> None:
        driver.check_value(self.name, value, self.limits, self.unit, self.envelope)
        driver.write(self.set_cmd.format(value))


class Measurement:
    """A declared measurement: ``driver.current_a()`` queries, converts to the rig's sign convention, and ends the
    case (``EnvelopeBreach``) when the magnitude is above the envelope's maximum for ``envelope``.

    Declared once, it is also what ``faults()`` reads for the envelope when the driver lists it in ``watched``.
    """

    def __init__(self, query: str, *, unit: str, what: str, envelope: str | None = None,
                 convert: Callable[[float], float] | None = None, doc: str = "") -> None:
        """``what`` names it in messages ("current"); ``convert`` takes the instrument's reading into the rig's
        convention (a source's current as current into the battery)."""
        self.query, self.unit, self.what, self.envelope, self.convert = query, unit, what, envelope, convert
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, driver: None, owner: type) -> "Measurement": ...

    @overload
    def __get__(self, driver: "ScpiDriver", owner: type) -> Callable[[], float]: ...

    def __get__(self, driver: "ScpiDriver | None", owner: type) -> "Measurement | Callable[[], float]":
        if driver is None:
            return self
        return lambda: self.read(driver)

    def read(self, driver: "ScpiDriver", *, watch: bool = True) -> float:
        """The reading in the rig's convention; ``watch``: checked against the envelope (else the caller does)."""
        value = driver.query_number(self.query)
        if self.convert is not None:
            value = self.convert(value)
        if watch and self.envelope is not None:
            driver.watch(self.envelope, abs(value), f"measured {self.what}")
        return value


@dataclass(frozen=True)
class StatusRegister:
    """A condition register read for protections: its query and the bits that mean one tripped (bit, short
    name, meaning); other bits (states such as "in current limit") are not faults."""

    query: str
    trips: tuple[tuple[int, str, str], ...]


class ScpiDriver:
    """A SCPI instrument over VISA (``TCPIP0::host::port::SOCKET`` and friends).

    The constructor only opens the session; nothing is sent until the engine
    asks ``identify()`` (``*IDN?`` and nothing else) and has checked the
    answer against the driver's ``family``.
    """

    family: InstrumentFamily
    """Manufacturer and model patterns real members of the family answer in ``*IDN?``."""
    error_query: str = "SYST:ERR?"
    """The query that reads one entry of the error queue (``code,"message"``; code 0 when empty). A family whose
    dialect names it otherwise says so here (Yokogawa WT: ``:STATus:ERRor?``)."""

    def __init__(self, resource: str, *, name: str, envelope: EnvelopeGuard | None = None,
                 timeout_ms: int = 5000, options: dict[str, Any] | None = None) -> None:
        self.resource = resource
        self.name = name
        self.envelope = envelope
        self.options = dict(options or {})
        self._unsynced = False
        try:
            self._session: MessageBasedResource = resource_manager().open_resource(  # type: ignore[assignment]
                resource, read_termination="\n", write_termination="\n", timeout=timeout_ms)
        except (VisaIOError, ValueError, OSError) as err:
            raise InstrumentError(name, f"open {resource}", f"cannot connect: {err}") from None

    # -- I/O ---------------------------------------------------------------------------

    def write(self, command: str) -> None:
        """Send a setting command, then read the error queue in its own message; raise if it was refused."""
        try:
            first = self.query(f"{command}\n{self.error_query}")
        except InstrumentError as err:
            raise InstrumentError(self.name, command, err.detail) from None
        if not _is_no_error(first):
            self.check_errors(command, first)

    def query(self, command: str) -> str:
        stop.checkpoint()  # a stop request is acted on before the next exchange, whatever it interrupted
        if self._unsynced:
            self._resync()
        self._unsynced = True  # until the reply is read: Ctrl-C or a timeout may strand it
        try:
            reply = self._session.query(command).strip()
        except VisaIOError as err:
            raise InstrumentError(self.name, command, f"no answer: {err.description}") from None
        except OSError as err:  # pyvisa-py lets socket errors through
            raise InstrumentError(self.name, command, f"connection failed: {err}") from None
        except UnicodeDecodeError:  # a stranded binary reply read as text: out of step, resynced next time
            raise InstrumentError(self.name, command, "garbled reply (not text): a late binary answer to an "
                                                      "earlier exchange, or not an instrument at all") from None
        self._unsynced = False
        return reply

    def query_number(self, command: str) -> float:
        """A query whose answer is a number; any other answer is an instrument error naming the command."""
        reply = self.query(command)
        try:
            return float(reply)
        except ValueError:
            raise InstrumentError(self.name, command, f"expected a number, got {reply!r}") from None

    def _resync(self) -> None:
        """Drop replies stranded by an interrupted exchange, so the safe state reads its own answers."""
        timeout = self._session.timeout
        self._session.timeout = 200
        try:
            for _ in range(64):
                self._session.read_raw()
        except (VisaIOError, OSError):
            pass  # nothing more to read (or nothing to read from): back in step
        finally:
            self._session.timeout = timeout
            self._unsynced = False

    def query_block(self, command: str, datatype: BlockType) -> Any:
        """Read an IEEE 488.2 definite-length binary block (``#<n><length><bytes>``) as a numpy array.

        The block is read with the termination character switched off, its
        payload in one read of the length its header gives: the payload may
        hold any byte, newlines among them, and with the character on
        pyvisa-py ends a read at each one (a capture of a few megabytes took
        tens of thousands of reads). Knowing the length, no read waits for an
        end of message that a socket cannot signal.
        """
        stop.checkpoint()
        if self._unsynced:
            self._resync()
        self._unsynced = True
        try:
            self._session.write(command)
            payload = self._read_block(command)
        except VisaIOError as err:
            raise InstrumentError(self.name, command, f"no answer: {err.description}") from None
        except OSError as err:
            raise InstrumentError(self.name, command, f"connection failed: {err}") from None
        self._unsynced = False
        dtype = np.dtype(datatype).newbyteorder("<")  # little-endian, as requested
        if len(payload) % dtype.itemsize:
            raise InstrumentError(self.name, command, f"a {len(payload)}-byte block is not whole {dtype.itemsize}-byte "
                                                      "values: not the format asked for")
        return np.frombuffer(payload, dtype=dtype)

    def _read_block(self, command: str) -> memoryview:
        """The payload of the block that answers ``command``, with its terminator read and checked."""
        session = self._session
        termination = session.read_termination or ""
        session.read_termination = None
        try:
            head = session.read_bytes(2)
            if head[:1] != b"#" or not head[1:2].isdigit() or head[1:2] == b"0":
                raise InstrumentError(self.name, command, f"expected a definite-length block (#<n><length>), "
                                                          f"got {head!r}")
            length_field = session.read_bytes(int(head[1:2]))
            if not length_field.isdigit():
                raise InstrumentError(self.name, command, f"block length {length_field!r} is not a number")
            length = int(length_field)
            data = session.read_bytes(length + len(termination), chunk_size=max(length + len(termination), 1))
        finally:
            session.read_termination = termination or None
        if not data.endswith(termination.encode("ascii")):
            raise InstrumentError(self.name, command, f"the {length}-byte block is not followed by {termination!r}")
        return memoryview(data)[:length]

    def check_errors(self, after: str, first: str | None = None) -> None:
        """Drain the error queue (``error_query``); raise naming the command if the queue held anything."""
        problems = [first] if first is not None and not _is_no_error(first) else []
        for _ in range(16):
            reply = self.query(self.error_query)
            if _is_no_error(reply):
                break
            problems.append(reply)
        if problems:
            raise InstrumentError(self.name, after, "instrument reported " + "; ".join(problems))

    # -- status, error queue and envelope watch: what faults() is made of -----------------------------

    status_registers: tuple[StatusRegister, ...] = ()
    """The condition registers whose bits report a tripped protection (none: the instrument has none)."""
    watched: tuple[str, ...] = ()
    """The ``Measurement`` attributes ``faults()`` reads against the envelope after each case."""

    def faults(self) -> list[str]:
        """Protections the instrument reports as tripped, errors it queued by itself, and watched readings above
        the envelope: one line each (the engine records them; the case ends as an error)."""
        latched, registers = self.protections()
        found = [f"{short} ({text}) reported by the instrument ({registers})" for short, text in latched
                 if self.counts_as_fault(short)]
        return found + self.queued_errors() + self.envelope_faults()

    def counts_as_fault(self, short: str) -> bool:
        """Whether a tripped protection is a fault now (a driver may know one that is harmless in its state)."""
        return True

    def protections(self) -> tuple[list[tuple[str, str]], str]:
        """The tripped protections every declared status register reports, as (short name, meaning), and the
        registers as read (for messages)."""
        latched: list[tuple[str, str]] = []
        read = []
        for register in self.status_registers:
            condition = int(self.query_number(register.query))
            read.append(f"{register.query} = {condition}")
            latched += [(short, text) for bit, short, text in register.trips if condition & bit]
        return latched, ", ".join(read)

    def queued_errors(self) -> list[str]:
        """What the error queue holds that no command of the rig caused (a protection trip queues one)."""
        try:
            self.check_errors("(no command: events since the last one)")
        except InstrumentError as queued:
            return [f"error queue: {queued.detail.removeprefix('instrument reported ')}"]
        return []

    def envelope_faults(self) -> list[str]:
        """Each watched measurement read once; a magnitude above the envelope is a line, not an exception."""
        readings = {name: self.measurement(name).read(self, watch=False) for name in self.watched}
        found = []
        for quantity, magnitude, what in self.watched_magnitudes(readings):
            try:
                self.watch(quantity, magnitude, what)
            except EnvelopeBreach as breach:
                found.append(str(breach))
        return found

    def watched_magnitudes(self, readings: dict[str, float]) -> list[tuple[str, float, str]]:
        """(envelope quantity, magnitude, what) for each watched reading; a driver adds what it derives from them
        (a DC source's power from its voltage and current)."""
        declared = [(name, self.measurement(name)) for name in readings]
        return [(m.envelope, abs(readings[name]), f"measured {m.what}") for name, m in declared if m.envelope]

    @classmethod
    def measurement(cls, name: str) -> Measurement:
        """The declaration behind ``name`` (a ``watched`` entry)."""
        found = getattr(cls, name)
        if not isinstance(found, Measurement):
            raise TypeError(f"{cls.__name__}.{name} is not a declared Measurement")
        return found

    def watch(self, quantity: str, magnitude: float, what: str) -> None:
        """A measured magnitude above the envelope's maximum ends the case (``EnvelopeBreach``); below its
        minimum is no danger (the output may be off)."""
        if self.envelope is None:
            return
        maximum = self.envelope.maximum(quantity)
        if maximum is not None and magnitude > maximum:
            self.envelope.check_measured(quantity, magnitude, what=f"{self.name} {what}")

    # -- confirmations on the unit (rig bench check) -----------------------------------------------------

    def ratings(self) -> dict[str, tuple[float, float]]:
        """The unit's own range for each envelope quantity it serves (envelope name -> (low, high)); the bench
        envelope must lie inside it."""
        return {}

    def bench_checks(self) -> list[BenchCheck]:
        """The envelope against the unit's ratings; a driver adds the confirmations of its unconfirmed commands."""
        return self.envelope_checks()

    def envelope_checks(self) -> list[BenchCheck]:
        checks = []
        for quantity, (low, high) in self.ratings().items():
            bounds = self.envelope.envelope.bounds_for(quantity) if self.envelope is not None else None
            if bounds is None:
                continue
            shown = "..".join("open" if b is None else f"{b:g}" for b in (bounds.min, bounds.max))
            what = f"envelope {quantity} {shown} within the unit's {low:g}..{high:g}"
            inside = (bounds.min is None or low <= bounds.min) and (bounds.max is None or bounds.max <= high)
            checks.append(BenchCheck.confirmed(what) if inside else
                          BenchCheck.problem(what, "the envelope allows what the unit cannot do: narrow the "
                                                   "envelope or check the unit's options"))
        return checks

    def confirm_query(self, what: str, command: str, judge: Callable[[str], str | None]) -> BenchCheck:
        """Ask ``command``; ``judge(reply)`` says what is wrong with the answer (None: it confirms). No answer, or
        an error queued by the query, is a problem naming it."""
        try:
            reply = self.query(command)
            self.check_errors(command)
        except InstrumentError as err:
            return BenchCheck.problem(what, f"{command}: {err.detail}")
        wrong = judge(reply)
        return BenchCheck.confirmed(what, f"{command} -> {reply}") if wrong is None else \
            BenchCheck.problem(what, f"{command} -> {reply}: {wrong}")

    def confirm_setting(self, what: str, setting: str, query: str, judge: Callable[[str], str | None]) -> BenchCheck:
        """Send ``setting``, one that energises nothing (a sign convention, a reply format, a trigger output's
        source), then ask ``query`` and judge the reply as ``confirm_query`` does: a unit that refuses the setting or
        does not read it back as set is a problem naming it. The unit's state before the check is not what is
        confirmed (a bench check runs before set-up, on whatever the last user left)."""
        try:
            self.write(setting)
        except InstrumentError as err:
            return BenchCheck.problem(what, f"{setting}: {err.detail}")
        return self.confirm_query(what, query, judge)

    # -- validation before I/O --------------------------------------------------------------

    def check_value(self, what: str, value: float, limits: tuple[float, float], unit: str,
                    envelope: str | None) -> None:
        low, high = limits
        if not low <= value <= high:
            raise InstrumentError(self.name, what, f"{value} {unit} is outside the instrument range {low}..{high} {unit}")
        if envelope and self.envelope is not None:
            self.envelope.check(envelope, value, what=f"{self.name} {what}")

    # -- identity and lifetime -----------------------------------------------------------------

    def identify(self) -> str:
        """The ``*IDN?`` answer; the only command sent before the identity is accepted."""
        return self.query("*IDN?")

    def close(self) -> None:
        try:
            self._session.close()
        except (VisaIOError, OSError):
            pass
