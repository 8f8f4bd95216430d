"""A CAN interface opened through python-can: the vehicle emulator's wire to the charger.

Address and options (the bench file)::

    vehicle:
      driver: python_can
      address: pcan://PCAN_USBBUS1       # <interface>://<channel>, python-can's own names
      options: {bitrate: 500000}         # anything else python-can's interface takes, passed as given

The address is python-can's ``interface`` and ``channel`` (``socketcan://can0``,
``pcan://PCAN_USBBUS1``, ``kvaser://0``, ``vector://0``;
``socketcand://HOST:PORT/CHANNEL`` for a socketcand gateway, whose host and
port python-can takes separately). They are *where* the rig is on the bus,
so they are the address: the bench's one-instrument-per-address rule then
covers CAN channels, and the run's evidence records which adapter channel
the vehicle was on. ``options`` is the rest of python-can's configuration
(``bitrate``, ``fd``, ``data_bitrate``, ``app_name``, ``receive_own_messages``...),
handed to ``can.Bus`` unchanged, so a bench engineer writes what the
python-can documentation for the adapter says; naming ``interface``,
``channel``, ``host`` or ``port`` there is refused (they are the address),
and so is a key python-can's interfaces do not name (``PYTHON_CAN_KEYS``:
an interface silently ignores what it does not take). For a socketcand
address the bus timing (``bitrate``, ``data_bitrate``, ``fd``, ``timing``) is
refused too: python-can's socketcand interface takes and ignores it, and the
gateway's bitrate is set where socketcand runs.
As everywhere in python-can, keys not given may also come from python-can's
own configuration file or ``CAN_*`` environment variables.

On the simulated lab (``address: sim``) the lab serves its bus as a
socketcand server on 127.0.0.1 and hands the driver
``socketcand://127.0.0.1:<port>/vcan0`` (``rig.sim.wire.can_server`` says why
socketcand). For socketcand the driver turns Nagle's algorithm off
(python-can's ``tcp_tune``) unless the options say otherwise: frames are
small writes, and with Nagle each write after the first waits for an ACK.

Identity: CAN has no ``*IDN?``, and python-can cannot ask most adapters who
they are. What the rig can state and check is which python-can interface
and channel it opened and which python-can it ran:
``python-can,<interface>,<channel>,<python-can version>``. The family admits
the interfaces the rig is prepared for, all of which timestamp a frame
when the adapter or the kernel receives it (not when Python gets round to
reading it) and read without blocking: ``socketcand`` (the simulated lab,
or a gateway), ``socketcan`` (Linux), ``pcan``, ``kvaser``, ``vector``. It
refuses ``virtual`` (an in-process queue: no wire, so a simulated lab behind
it would be a shortcut no bench has) and ``udp_multicast`` (it leaves
loopback for the network); another adapter is added here once it has been
run on a bench.

One time base. The rig judges a charger by comparing its frames' times with
the rig's own contact edges and DC samples, all on the rig's clock. A frame's
stamp is not on that axis: python-can stamps in seconds since 1970 by the
clock of whatever received it (socketcand: the gateway's kernel,
``SO_TIMESTAMP``; socketcan: this host's kernel; PCAN, Kvaser, Vector: the
adapter's own clock, which python-can refers to this host's clock when the
bus opens; for PCAN only with the ``uptime`` package, which the driver checks at open). The driver therefore *maps* each stamp onto the rig's clock with
the offset the clock states between its axis and the host's clock
(``Clock.epoch_offset_s``: on a bench read afresh at each read, since the host's
clock may be slewed; on the simulated lab the lab host's fixed date), and keeps
the stamp's resolution (1 us). The mapping assumes the receiving clock is the
rig host's, or synchronised with it (NTP for a socketcand gateway on another
machine), and the driver checks it on every frame: a frame can only have been
stamped after the previous read and before this one, so a mapped time outside
that interval by more than ``STAMP_TOLERANCE_S`` is an ``InstrumentError``
naming the frame and the gap (a gateway whose clock is off: its frames cannot
be compared with the rig's edges, and the case is an error, never a verdict).
What the check can see is bounded by how often the rig reads: a clock ahead
is caught once a frame is read sooner after it was sent than the clock's
lead less the tolerance (the vehicle emulator reads each 100 ms cycle at the
cycle's instant, when the charger's frames of that instant are in), a clock
behind once it lags by more than the time between two reads plus the
tolerance; an error inside those bounds (tens of milliseconds on a
gateway out of NTP sync) is not seen, which is why the mapping assumes a
synchronised clock and the docs ask for one.
Stamping on receipt instead was rejected: the rig reads in its 100 ms cycle,
so every frame would carry the read's instant, and message cycles and
reaction times would be judged on the rig's reading rhythm.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Mapping
from typing import Any

import can
from pydantic import ConfigDict, ValidationError, model_validator

from drivers.options import DriverOptions, describe
from rig.core import stop
from rig.core.clock import Clock
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import InstrumentError
from rig.core.identity import InstrumentFamily
from rig.core.roles import CanFrame
from rig.config.yaml_source import LocatedValueError

logging.getLogger("can.interfaces.socketcand.socketcand").setLevel(logging.ERROR)
"""python-can's socketcand reader warns "Got incomplete message" whenever one TCP read ends inside a frame, which
is TCP working as it does (it reads on and joins them); its real errors stay visible."""

ADDRESS_KEYS = ("interface", "channel", "host", "port")
"""python-can settings that the address gives (and options may not)."""

STAMP_TOLERANCE_S = 0.010
"""How far a frame's stamp, on the rig's clock, may lie outside the interval in which it can have arrived (after the
previous read, before this one): the gateway's or adapter's latency plus the error of its clock's synchronisation
with the rig host's (NTP on a LAN: about a millisecond)."""

STATE_REPORTED_BY = ("pcan",)
"""Interfaces whose python-can bus reports the controller's state (``BusABC.state``); python-can 4.6's others
answer ACTIVE whatever the controller is in (socketcand, socketcan, Kvaser, Vector: no ``state`` of their own)."""

ERROR_FRAMES = {
    "socketcand": "error frames, unless the gateway runs socketcand with -e (socketcand PR #67; python-can reads "
                  "its '< error ... >' since PR #1941)",
    "socketcan": "error frames, unless the interface's error mask is set (CAN_RAW_ERR_FILTER; python-can does not "
                 "set it)",
}
"""Where error frames reach the rig only if something outside it is configured."""

OPEN_ATTEMPTS = 3
"""How many times a socketcand open is tried when frames arrive in the same read as the gateway's ``< ok >``."""

GREETING_TIMEOUT_S = 5.0
"""How long a socketcand server has to say ``< hi >`` (a real one greets at once on connect)."""


PYTHON_CAN_KEYS = frozenset({
    "bitrate", "data_bitrate", "fd", "timing", "receive_own_messages", "can_filters",  # python-can's own
    "tcp_tune",  # socketcand
    "local_loopback", "ignore_rx_error_frames",  # socketcan
    "device_id", "state",  # pcan
    "app_name", "serial", "poll_interval", "rx_queue_size", "listen_only",  # vector
    "sjw_abr", "tseg1_abr", "tseg2_abr", "sjw_dbr", "tseg1_dbr", "tseg2_dbr",
})
"""The options the bench may give python-can: the settings its ``can.Bus`` configuration documents and the
named parameters of the interfaces the family admits (python-can 4.6; ``tests/drivers`` holds them against the
installed python-can). An interface ignores a key it does not take, so a misspelt one would silently leave the
adapter at its default: anything else is refused when the bench file loads."""


class CanOptions(DriverOptions):
    """python-can's settings, passed to ``can.Bus`` as given (``PYTHON_CAN_KEYS``), not the address's."""

    model_config = ConfigDict(extra="allow", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known(cls, given: Any) -> Any:
        for key in given if isinstance(given, dict) else ():
            if key in ADDRESS_KEYS:
                raise LocatedValueError((key,), "the address gives it (interface://channel, or "
                                                "socketcand://HOST:PORT/CHANNEL)")
            if key not in PYTHON_CAN_KEYS:
                raise LocatedValueError((key,), f"not a python-can setting the rig passes on (known: "
                                                f"{', '.join(sorted(PYTHON_CAN_KEYS))})")
        return given


GATEWAY_SETTINGS = frozenset({"bitrate", "data_bitrate", "fd", "timing"})
"""Bus timing a socketcand gateway sets itself: refused as options of a socketcand address."""


def bus_config(resource: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """python-can's configuration for ``resource`` (``<interface>://<channel>``) and the bench's options.

    Raises ValueError naming the expected form.
    """
    given = dict(options or {})
    interface, separator, where = resource.partition("://")
    if not separator or not interface or not where:
        raise ValueError(f"{resource!r} is not a CAN address: expected <interface>://<channel> "
                         "(socketcan://can0, pcan://PCAN_USBBUS1) or socketcand://HOST:PORT/CHANNEL")
    try:
        CanOptions.model_validate(given)
    except ValidationError as err:
        raise ValueError(f"options {describe(err, CanOptions)}") from None
    config: dict[str, Any] = {"interface": interface, **given}
    if interface != "socketcand":
        config["channel"] = where
        return config
    ignored = sorted(GATEWAY_SETTINGS & given.keys())
    if ignored:  # python-can's socketcand interface takes them and does nothing with them
        raise ValueError(f"{', '.join(ignored)}: a socketcand gateway's bus timing is its own (set where socketcand "
                         "runs, e.g. ip link set CHANNEL type can bitrate N); python-can would ignore it here, so the "
                         "bench would say a bitrate the bus may not have")
    host_port, _, channel = where.partition("/")
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit() or not channel:
        raise ValueError(f"{resource!r}: a socketcand address is socketcand://HOST:PORT/CHANNEL")
    config.update(host=host, port=int(port), channel=channel)
    config.setdefault("tcp_tune", True)
    return config


def _expect_socketcand_greeting(name: str, resource: str, host: str, port: int) -> None:
    """Connect once and read the server's first words: a socketcand server greets with ``< hi >``.

    python-can's socketcand interface waits for that greeting with no time limit, so a peer that says nothing
    (a web server waiting for its request) would hold the run forever, deaf to Ctrl-C. This probe waits at most
    GREETING_TIMEOUT_S, in short reads that let a stop request through, and names what answered instead.
    """
    operation = f"open {resource}"
    try:
        probe = socket.create_connection((host, port), timeout=GREETING_TIMEOUT_S)
    except OSError as err:
        raise InstrumentError(name, operation, f"cannot connect: {err}") from None
    received = b""
    deadline = time.monotonic() + GREETING_TIMEOUT_S
    with probe:
        probe.settimeout(0.1)
        while b">" not in received and len(received) < 256 and time.monotonic() < deadline:
            stop.checkpoint()
            try:
                chunk = probe.recv(256)
            except TimeoutError:
                continue
            except OSError as err:
                raise InstrumentError(name, operation, f"connection failed: {err}") from None
            if not chunk:
                break
            received += chunk
    words = received.decode("ascii", "replace").strip()
    if words != "< hi >":
        said = f"it said {words[:60]!r}" if words else f"it said nothing within {GREETING_TIMEOUT_S:g} s"
        raise InstrumentError(name, operation, f"not a socketcand server (one greets with '< hi >'): {said}")


def _expect_pcan_epoch_stamps(name: str, resource: str) -> None:
    """Refuse a PCAN adapter whose frames python-can would stamp from the host's boot instead of since 1970.

    python-can's PCAN interface turns the adapter's microsecond counter into seconds since 1970 with the host's
    boot time, which it reads through the ``uptime`` package; without it (an ImportError it only logs) every
    stamp counts from boot, decades before the rig's clock, and no frame could be put on the rig's time axis.
    The stamp check would catch that at the first frame read, mid-session; this says it at open, with the fix.
    """
    logging.getLogger("can.pcan").setLevel(logging.ERROR)  # its warning is this error, said once, with the fix
    import can.interfaces.pcan.pcan as pcan_interface

    if not getattr(pcan_interface, "boottimeEpoch", 0):
        raise InstrumentError(name, f"open {resource}", "python-can's PCAN interface would stamp frames from the "
                              "host's boot, not since 1970 (the 'uptime' package it reads boot time with is "
                              "missing: pip install uptime), so frame times could not be put on the rig's clock")


class PythonCanBus:
    """A CAN channel through python-can (``CanInterface``); see the module docstring for address and options."""

    family = InstrumentFamily("python-can interface with receive timestamps (socketcand, socketcan, PCAN, "
                              "Kvaser, Vector)", manufacturer="python-can",
                              model="socketcand|socketcan|pcan|kvaser|vector",
                              asked_by="which python-can interface and channel were opened (CAN has no *IDN?)")

    Options = CanOptions

    def __init__(self, resource: str, *, name: str, envelope: EnvelopeGuard | None = None,
                 options: dict[str, Any] | None = None) -> None:
        """Open the channel (for socketcand: connect and open the bus in raw mode); nothing is sent on the bus."""
        self.resource = resource
        self.name = name
        self._error_frames = 0
        self._clock: Clock | None = None
        self._read_at: float | None = None
        """The rig-clock instant of the last read: every frame read later arrived after it."""
        try:
            self.config = bus_config(resource, options)
        except ValueError as err:
            raise InstrumentError(name, f"open {resource}", str(err)) from None
        if self.config["interface"] == "socketcand":
            _expect_socketcand_greeting(name, resource, self.config["host"], self.config["port"])
        if self.config["interface"] == "pcan":
            _expect_pcan_epoch_stamps(name, resource)
        self._bus = self._open_bus(name, resource)

    def _open_bus(self, name: str, resource: str) -> can.BusABC:
        """``can.Bus`` on this configuration. A socketcand gateway sends frames as soon as it has said ``< ok >`` to
        ``< rawmode >``, and python-can's handshake reads once and must find exactly ``< ok >`` (SavvyCAN PR #495
        reports the frames arriving in the same read): on a busy bus that read can hold a frame too, so the open is
        tried again, up to ``OPEN_ATTEMPTS`` times, before it is an error saying why."""
        for attempt in range(1, OPEN_ATTEMPTS + 1):
            try:
                return can.Bus(**self.config)
            except can.CanError as err:
                raced = self.config["interface"] == "socketcand" and "got: '< ok ><" in str(err).replace("> <", "><")
                if raced and attempt < OPEN_ATTEMPTS:
                    continue
                detail = (f"the gateway's frames arrived in the same read as its '< ok >' {attempt} times in a row "
                          f"(python-can's socketcand handshake reads once): {err}" if raced
                          else f"python-can cannot open it: {err}")
                raise InstrumentError(name, f"open {resource}", detail) from None
            except (OSError, ValueError, TypeError, NotImplementedError, ImportError) as err:
                raise InstrumentError(name, f"open {resource}", f"python-can cannot open it: {err}") from None
        raise AssertionError("unreachable")

    def attach_clock(self, clock: Clock) -> None:
        """The rig's clock, onto whose axis every received frame's stamp is mapped (see the module docstring)."""
        self._clock = clock

    def identify(self) -> str:
        """``python-can,<interface>,<channel>,<python-can version>``: what was opened (CAN has no *IDN?)."""
        return f"python-can,{self.config['interface']},{self.config['channel']},{can.__version__}"

    def setup(self) -> None:
        """The rig's known state: frames received before the run are discarded, error counts start at zero."""
        self.receive()
        self._error_frames = 0

    def send(self, frame_id: int, data: bytes, *, extended: bool = False) -> None:
        """Put one frame on the bus (checked as a classic CAN frame before anything is sent)."""
        what = f"send {frame_id:#x}"
        try:
            message = can.Message(arbitration_id=frame_id, data=bytes(data), is_extended_id=extended, check=True)
        except ValueError as err:
            raise InstrumentError(self.name, what, f"not a valid CAN frame: {err}") from None
        stop.checkpoint()
        try:
            self._bus.send(message)
        except (can.CanError, OSError) as err:
            raise InstrumentError(self.name, what, f"not sent: {err}") from None

    def receive(self) -> list[CanFrame]:
        """Every frame received and not yet read, oldest first, stamped on the rig's clock; never waits."""
        stop.checkpoint()
        if self._clock is None:
            raise InstrumentError(self.name, "receive", "no clock attached: frame stamps cannot be put on the rig's "
                                  "time axis (the bench attaches its clock when it opens the interface)")
        messages = []
        try:
            while (message := self._bus.recv(timeout=0)) is not None:
                if message.is_error_frame:
                    self._error_frames += 1
                    continue
                messages.append(message)
        except (can.CanError, OSError) as err:
            raise InstrumentError(self.name, "receive", f"reading the bus failed: {err}") from None
        now, offset = self._clock.now(), self._clock.epoch_offset_s()
        frames = [CanFrame(message.arbitration_id, bytes(message.data), round(message.timestamp - offset, 6),
                           message.is_extended_id) for message in messages]
        for frame, message in zip(frames, messages):
            self._check_stamp(frame, message.timestamp, now)
        self._read_at = now
        return frames

    def _check_stamp(self, frame: CanFrame, stamp: float, now: float) -> None:
        """The frame was stamped between the previous read and this one (the first read: any time before now)."""
        earliest = None if self._read_at is None else self._read_at - STAMP_TOLERANCE_S
        if frame.timestamp_s <= now + STAMP_TOLERANCE_S and (earliest is None or frame.timestamp_s >= earliest):
            return
        window = f"after {self._read_at:.6f} s and " if self._read_at is not None else ""
        raise InstrumentError(
            self.name, "receive",
            f"frame {frame.frame_id:#x} stamped {stamp:.6f} s since 1970 falls at {frame.timestamp_s:.6f} s on the "
            f"rig's clock, but it arrived {window}by {now:.6f} s: the interface's clock is not the rig host's (a "
            f"gateway out of sync?), so its frame times cannot be compared with the rig's contact edges and DC "
            f"samples")

    def cannot_see(self) -> list[str]:
        """What python-can cannot report through this interface (see ``STATE_REPORTED_BY``, ``ERROR_FRAMES``)."""
        interface = self.config["interface"]
        blind = []
        if interface not in STATE_REPORTED_BY:
            blind.append(f"the CAN controller's state (error-passive, bus-off): python-can {can.__version__} does not "
                         f"report it for {interface}, so a charger's bus-off would not be recorded as one")
        if interface in ERROR_FRAMES:
            blind.append(ERROR_FRAMES[interface])
        return blind

    def faults(self) -> list[str]:
        """Bus state worse than error-active, and error frames seen since set-up (where the interface reports them)."""
        problems = []
        state = self._bus.state
        if state is can.BusState.ERROR:
            problems.append(f"{self.name}: the CAN controller is in its error (bus-off) state")
        elif state is can.BusState.PASSIVE:
            problems.append(f"{self.name}: the CAN controller is error-passive")
        if self._error_frames:
            problems.append(f"{self.name}: {self._error_frames} CAN error frames received")
        return problems

    def safe_off(self) -> None:
        """Nothing to switch off: a CAN interface has no output (the vehicle emulator's safe state is its own)."""

    def close(self) -> None:
        try:
            self._bus.shutdown()
        except (can.CanError, OSError):
            pass
