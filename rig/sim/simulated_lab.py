"""The simulated lab: the bench's physics served as real instruments on loopback.

``SimulatedLab`` owns one ``LabModel`` and serves each simulated instrument on
its own TCP port on 127.0.0.1 (the OS picks free ports, so labs run side by
side). Every command is handled under one lock after the model has been
brought up to the lab's current time.

Two time modes:
- virtual: the lab's time moves only when the rig's ``VirtualClock`` waits
  (``advance_to``); a 120 s hold costs microseconds.
- real: the lab's time is wall time since the lab started; it catches up
  lazily before each command, so the same models run unchanged in real time.

The CAN bus (``model.can``) is served by ``rig.sim.wire.can_server`` for the
``python_can`` driver. Its wire is drained before virtual time moves and
before any instrument command is handled, so the lab handles the rig's frames
in the order the rig sent them, at the instant it sent them, whatever else
it talks to.
"""

from __future__ import annotations

import select
import threading
import time
from importlib import import_module
from typing import Any, Literal

from rig.protocols.ocpp.security import ThrowawayPki, issue_certificate
from rig.sim.charger.ocpp_face import TlsMaterial
from rig.sim.wire.can_server import CanServer
from rig.sim.charger.ac_port import ChargerClock
from rig.sim.charger.dut_profile import DutProfile
from rig.sim.wire.modbus_server import ModbusModule, ModbusServer
from rig.sim.model import LabModel
from rig.sim.wire.scpi_server import ScpiInstrument, ScpiServer

TimeMode = Literal["virtual", "real"]

CAN_DRIVERS = ("python_can",)
"""Drivers served by the lab's CAN bus (``rig.sim.wire.can_server``: socketcand on loopback).

Their resource is ``socketcand://127.0.0.1:<port>/vcan0``, the form the
``python_can`` driver reads: python-can's ``socketcand`` interface, its host
and port, and the bus (channel) to open.
"""

SIMULATED_INSTRUMENTS: dict[str, str] = {
    "ametek_cimx": "rig.sim.instruments.ametek_cimx_dialect:AmetekMX",
    "chroma_61800": "rig.sim.instruments.chroma_61800_dialect:Chroma61800",
    "keysight_infiniivision": "rig.sim.instruments.infiniivision_dialect:InfiniiVision",
    "keysight_rp7900": "rig.sim.instruments.keysight_rp7900_dialect:KeysightRP7900",
    "modbus_dio": "rig.sim.instruments.moxa_e1212_dialect:MoxaE1212",
    "nhr_9300": "rig.sim.instruments.nhr_9300_dialect:Nhr9300",
    "rlc_load": "rig.sim.instruments.rlc_load_dialect:RlcLoadInstrument",
    "sunspec_der": "rig.sim.charger.sunspec_face:SunSpecCharger",  # the charger's own SunSpec Modbus TCP interface
    "tektronix_mso": "rig.sim.instruments.tektronix_mso_dialect:TektronixMso",
    "wago_750": "rig.sim.instruments.wago_750_dialect:Wago750352",
    "yokogawa_wt": "rig.sim.instruments.yokogawa_wt_dialect:YokogawaWT3000",
    "zes_lmg600": "rig.sim.instruments.zes_lmg600_dialect:ZesLmg670",
}
"""Which simulated instrument answers for which driver (``module:Class``, imported when first served), each in its
driver's own dialect. The class is built ``Class(model)``, or ``Class.from_options(model, options)`` when it has
that classmethod: its wiring in the lab is what the bench entry's ``options`` say (the same options its driver
reads: a power analyzer's elements). A SCPI instrument (``ScpiInstrument``) is served over TCP as text; any other
is a Modbus module (``ModbusModule``) whose ``modbus_identity()`` gives its Read Device Identification objects."""


def simulated_instrument(driver: str, model: LabModel, options: dict[str, Any] | None) -> ScpiInstrument | ModbusModule:
    """The simulated instrument that answers ``driver``, wired as ``options`` say."""
    if driver not in SIMULATED_INSTRUMENTS:
        known = ", ".join(sorted([*SIMULATED_INSTRUMENTS, *CAN_DRIVERS]))
        raise KeyError(f"the simulated lab has no instrument for driver {driver!r} (it has: {known})")
    module, _, name = SIMULATED_INSTRUMENTS[driver].partition(":")
    cls = getattr(import_module(module), name)
    from_options = getattr(cls, "from_options", None)
    return from_options(model, options) if from_options is not None else cls(model)


REAL_TIME_POLL_S = 0.01
"""Real time: how long the OCPP face's thread waits for a frame before it looks at its timers again."""

LAB_EPOCH_S = 1_767_225_600.0
"""2026-01-01T00:00:00Z: the virtual lab host's clock at lab time 0 (whole seconds, so a stamp's microseconds
are the lab time's)."""


class SimulatedLab:
    """Start with ``start()``; ``resource(driver)`` gives the VISA address to open."""

    def __init__(self, profile: DutProfile, *, seed: int, time_mode: TimeMode = "virtual",
                 clock: ChargerClock | None = None) -> None:
        """``clock``: the simulated charger's time base (default: as its profile says, ``ChargerClock.drawn``)."""
        self.model = LabModel(profile, seed, clock=clock)
        self.time_mode = time_mode
        self.lock = threading.RLock()
        self._wall_t0 = time.monotonic()
        self.epoch_at_zero = LAB_EPOCH_S if time_mode == "virtual" else time.time()
        """The lab host's clock (seconds since 1970) at lab time 0: in virtual time a fixed date, so a run's CAN
        stamps are the same every run; in real time the host's own clock."""
        self.can_gateway_offset_s = 0.0
        """How far the simulated CAN gateway's clock is ahead of the lab host's (set before the bus is served): 0 is
        a gateway synchronised with the host; tests set it to show the rig refusing a gateway it cannot trust."""
        self._servers: dict[str, ScpiServer | ModbusServer] = {}
        self._can: CanServer | None = None
        self._ocpp_driver: threading.Thread | None = None
        self._closing = threading.Event()

    # -- the timeline a VirtualClock drives ------------------------------------------------

    @property
    def now(self) -> float:
        """Lab time. In virtual time read without the lab's lock: a rig-side thread stamping what it received (the
        CSMS's listener) must not wait for an advance that may itself be waiting for that thread (a charger's
        handshake); time only moves in the rig's own thread, so the value read is the lab's instant."""
        if self.time_mode != "real":
            return self.model.now
        with self.lock:
            self._catch_up()
            return self.model.now

    def advance_to(self, t: float) -> float:
        """Move virtual time to ``t`` once the wires are quiet: what the rig sent is applied first, at now. Returns
        the instant reached: ``t``, or an earlier one where the lab sent what the rig must answer first
        (``LabModel.hold``)."""
        if self.time_mode == "real":
            raise RuntimeError("a real-time lab moves with the wall clock; use RealClock")
        with self.lock:
            self._drain_can()
            self.model.take_hold()
            self._drain_ocpp()
            if self.model.take_hold():  # the charger answered the rig at this instant: the rig reads it first
                self._flush_ocpp()
                return self.model.now
            reached = self.model.advance_to(t)
            self._flush_can()
            self._flush_ocpp()
            return reached

    def _catch_up(self) -> None:
        if self.time_mode == "real":
            self.model.advance_to(self._wall_time())

    def _wall_time(self) -> float:
        return time.monotonic() - self._wall_t0

    def _before_command(self) -> None:
        """Before an instrument command: the lab at its time, and every CAN frame the rig sent before it applied."""
        self._catch_up()
        self._drain_can()
        self._flush_can()

    def attach_ocpp(self, url: str, pki: ThrowawayPki | None = None) -> None:
        """Tell the charger where the rig's central system listens (the bench's ``csms`` role); it connects on its
        own timer. With ``pki`` (the rig's throw-away one) it is handed what a charger is given at manufacture
        and commissioning for wss://: the operator CA as its trust anchor, and a certificate the operator CA
        signed for the CN it asks for (its identity, or a DEFECT's ``client_cert_cn``) with its key. Nothing
        happens for a charger whose profile gives it no OCPP."""
        with self.lock:
            if self.model.ocpp is None:
                return
            material = None
            if pki is not None and pki.ca_key is not None:
                settings = self.model.ocpp.settings
                cert, key = issue_certificate(pki.ca_cert.parent, "sim-charger", settings.client_cert_cn
                                              or settings.identity, pki.ca_cert, pki.ca_key)
                material = TlsMaterial(pki.ca_cert, cert, key)
            self.model.ocpp.attach(url, self.epoch_at_zero, material)
            if self.time_mode == "real" and self._ocpp_driver is None:
                self._ocpp_driver = threading.Thread(target=self._drive_ocpp, name="lab OCPP (real time)", daemon=True)
                self._ocpp_driver.start()

    def _drive_ocpp(self) -> None:
        """Real time: the charger's OCPP face on the wall clock, in a thread of its own (in virtual time the
        rig's clock drives it at each advance): its timers when due, the rig's frames as they arrive."""
        face = self.model.ocpp
        assert face is not None
        while not self._closing.is_set():
            with self.lock:
                self._catch_up()
                face.drain()
            sock = face.client._sock if face.client is not None else None  # noqa: SLF001 - the face's own socket
            if sock is None:
                self._closing.wait(REAL_TIME_POLL_S)
                continue
            try:
                select.select([sock], [], [], REAL_TIME_POLL_S)
            except (OSError, ValueError):
                self._closing.wait(REAL_TIME_POLL_S)

    def configure_ocpp(self, url: str, profile: int | None = None, password: str | None = None) -> None:
        """The operator at the charger's configuration tool: its central system address (for that scheme) and,
        with ``profile``, its security profile and password (``OcppFace.configure``)."""
        with self.lock:
            self._catch_up()
            if self.model.ocpp is not None:
                self.model.ocpp.configure(url, profile, password)

    def present_card(self, id_tag: str) -> None:
        """A card shown at the simulated charger's reader now (the operator's hand: ``rig.run.operator``)."""
        with self.lock:
            self._catch_up()
            if self.model.ocpp is not None:
                self.model.ocpp.present_card(id_tag)
                self.model.ocpp.flush()

    def _drain_ocpp(self) -> None:
        if self.model.ocpp is not None:
            self.model.ocpp.drain()

    def _flush_ocpp(self) -> None:
        if self.model.ocpp is not None:
            self.model.ocpp.flush()

    def _drain_can(self) -> None:
        if self._can is not None:
            self._can.drain()

    def _flush_can(self) -> None:
        if self._can is not None:
            self._can.flush()

    # -- serving instruments -------------------------------------------------------------------

    def serve(self, driver: str, options: dict[str, Any] | None = None) -> str:
        """Serve the simulated instrument for ``driver`` (once) and return the address its driver opens.

        SCPI instruments answer at a VISA resource (``TCPIP0::127.0.0.1::<port>::SOCKET``),
        Modbus devices (the digital I/O module, the charger's SunSpec interface) at
        ``modbus-tcp://127.0.0.1:<port>``, the CAN bus at
        ``socketcand://127.0.0.1:<port>/vcan0``. ``options``: the bench entry's, for an instrument whose wiring
        they state (a class with ``from_options``: the power analyzer's elements); others ignore them.
        """
        if driver in CAN_DRIVERS:
            return self._serve_can()
        if driver not in self._servers:
            instrument = simulated_instrument(driver, self.model, options)
            server: ScpiServer | ModbusServer
            if isinstance(instrument, ScpiInstrument):
                server = ScpiServer(instrument, self.lock, self._before_command)
            else:
                server = ModbusServer(instrument, self.lock, self._before_command, identity=instrument.modbus_identity())
            self._servers[driver] = server.start()
        return self._servers[driver].resource

    @property
    def can_server(self) -> CanServer | None:
        """The server of the lab's CAN bus, once a driver was served it (its protocol errors, overruns)."""
        return self._can

    def _serve_can(self) -> str:
        if self._can is None:
            wall_time = self._wall_time if self.time_mode == "real" else None
            self._can = CanServer(self.model.can, self.lock, catch_up=self._catch_up, wall_time=wall_time,
                                  epoch_at_zero=self.epoch_at_zero + self.can_gateway_offset_s).start()
        return self._can.resource

    def close(self) -> None:
        self._closing.set()
        if self._ocpp_driver is not None:
            self._ocpp_driver.join(timeout=5.0)
        if self.model.ocpp is not None:
            self.model.ocpp.close()
        for server in self._servers.values():
            server.stop()
        self._servers.clear()
        if self._can is not None:
            self._can.stop()
            self._can = None

    def __enter__(self) -> "SimulatedLab":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
