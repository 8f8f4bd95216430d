"""The simulated charger's vehicle connector: its CHAdeMO side wired to the rest of the lab.

One charger, several faces: the CHAdeMO controller (``rig.sim.charger.chademo_evse``)
talks on the lab's CAN bus, drives its contact lines (d1, d2, lock) and reads
the vehicle's (proximity, k, contactor, emergency stop), drives current into
the DC bus where the battery emulator sits behind the vehicle's contactor, and
while a session runs its DC power sets what it draws from (charging) or feeds
into (V2H discharge) the grid simulator, through one power balance with the
losses of its profile (``rig.sim.charger.losses``). So a discharge shows up as AC
export at the grid simulator because it is the same energy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rig.sim.charger.chademo_evse import ChademoEvse
from rig.sim.connector import Side

if TYPE_CHECKING:
    from rig.sim.model import LabModel

LINES = {"lock": "connector_lock"}
"""The controller's line names that the connector model names otherwise."""


class ChademoPort:
    """``EvseIo`` over the lab model: CAN, contact lines, DC bus, and the AC side's power balance."""

    def __init__(self, model: LabModel) -> None:
        self.model = model
        self._session = False

    def send_frame(self, t: float, frame_id: int, data: bytes) -> None:
        self.model.can.send(frame_id, data)

    def set_line(self, t: float, name: str, value: bool) -> None:
        self.model.connector.drive(t, LINES.get(name, name), value, by=Side.CHARGER)

    def line(self, name: str) -> bool:
        return self.model.connector.value(LINES.get(name, name))

    def battery_voltage(self, t: float, current_a: float) -> float | None:
        bus = self.model.dc_bus
        if not (bus.contactor_closed and bus.source.energized):
            return None
        return bus.source.terminal_voltage(bus.source.passed_current(current_a))

    def set_current(self, t: float, amps: float) -> None:
        self.model.dc_bus.set_charger_current(t, amps)
        self._balance(t)

    def inlet_current(self, t: float) -> float:
        return self.model.dc_bus.current_a()

    def supply_on(self) -> bool:
        return bool(self.model.grid.energized)

    def session(self, t: float, active: bool) -> None:
        self._session = active
        self._balance(t)

    def dc_changed(self, t: float) -> None:
        """Something else changed the DC bus (contactor, the battery emulator): the AC side follows."""
        self._balance(t)

    def _balance(self, t: float) -> None:
        """The AC side from the DC power into the vehicle, through the charger's losses
        (``rig.sim.charger.losses``): charging it draws that power and its losses from the grid, discharging it
        feeds the grid what the vehicle gives up less them; with no current it draws its idle-connected power."""
        if not self._session:
            self.model.charger.set_session_power(t, None)
            return
        bus = self.model.dc_bus
        volts = bus.inlet_voltage_v()
        into_vehicle_w = volts * bus.current_a()
        into_charger_w = self.model.profile.losses.ac_power_into_w(into_vehicle_w, volts)
        self.model.charger.set_session_power(t, -into_charger_w)

def wire_chademo(model: LabModel, phase_s: float) -> ChademoEvse:
    """The charger's CHAdeMO controller on the lab: frames from the bus, woken by the plug, AC following DC."""
    port = ChademoPort(model)
    evse = ChademoEvse(model.profile.chademo, port, phase_s=phase_s)
    model.can.subscribe(evse.on_frame)
    model.connector.subscribe("proximity", lambda t, value: evse.wake(t))
    for line in ("proximity", "k", "estop"):
        model.connector.subscribe(line, evse.on_line)
    model.dc_bus.subscribe(port.dc_changed)
    return evse
