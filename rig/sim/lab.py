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
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Literal

from rig.sim.charger import ChargerClock
from rig.sim.chroma_61800 import Chroma61800
from rig.sim.dut_profile import DutProfile
from rig.sim.infiniivision import InfiniiVision
from rig.sim.keysight_rp7900 import KeysightRP7900
from rig.sim.modbus_dio import ModbusServer, MoxaE1212
from rig.sim.model import LabModel
from rig.sim.scpi import ScpiInstrument, ScpiServer

TimeMode = Literal["virtual", "real"]

# Which simulated instrument answers for which driver family.
SIMULATED_INSTRUMENTS: dict[str, Callable[[LabModel], ScpiInstrument | MoxaE1212]] = {
    "chroma_61800": Chroma61800,
    "keysight_infiniivision": InfiniiVision,
    "keysight_rp7900": KeysightRP7900,
    "modbus_dio": MoxaE1212,
}


class SimulatedLab:
    """Start with ``start()``; ``resource(driver)`` gives the VISA address to open."""

    def __init__(self, profile: DutProfile, *, seed: int, time_mode: TimeMode = "virtual",
                 clock: ChargerClock | None = None) -> None:
        """``clock``: the simulated charger's time base (default: drawn from ``seed``)."""
        self.model = LabModel(profile, seed, clock=clock)
        self.time_mode = time_mode
        self.lock = threading.RLock()
        self._wall_t0 = time.monotonic()
        self._servers: dict[str, ScpiServer | ModbusServer] = {}

    # -- the timeline a VirtualClock drives ------------------------------------------------

    @property
    def now(self) -> float:
        with self.lock:
            if self.time_mode == "real":
                self._catch_up()
            return self.model.now

    def advance_to(self, t: float) -> None:
        if self.time_mode == "real":
            raise RuntimeError("a real-time lab moves with the wall clock; use RealClock")
        with self.lock:
            self.model.advance_to(t)

    def _catch_up(self) -> None:
        if self.time_mode == "real":
            self.model.advance_to(time.monotonic() - self._wall_t0)

    # -- serving instruments -------------------------------------------------------------------

    def serve(self, driver: str) -> str:
        """Serve the simulated instrument for ``driver`` (once) and return the address its driver opens.

        SCPI instruments answer at a VISA resource (``TCPIP0::127.0.0.1::<port>::SOCKET``),
        Modbus modules at ``modbus-tcp://127.0.0.1:<port>``.
        """
        if driver not in self._servers:
            if driver not in SIMULATED_INSTRUMENTS:
                known = ", ".join(sorted(SIMULATED_INSTRUMENTS))
                raise KeyError(f"the simulated lab has no instrument for driver {driver!r} (it has: {known})")
            instrument = SIMULATED_INSTRUMENTS[driver](self.model)
            server: ScpiServer | ModbusServer
            if isinstance(instrument, MoxaE1212):
                server = ModbusServer(instrument, self.lock, self._catch_up)
            else:
                server = ScpiServer(instrument, self.lock, self._catch_up)
            self._servers[driver] = server.start()
        return self._servers[driver].resource

    def close(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()

    def __enter__(self) -> "SimulatedLab":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
