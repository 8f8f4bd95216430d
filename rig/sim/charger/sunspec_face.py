"""The simulated charger's own SunSpec Modbus TCP interface: who it is, its rating, its export power limit.

A real V2G charger that is a grid-tied DER commonly exposes SunSpec over Modbus TCP. The simulated one serves,
from holding register 40000 (``rig.protocols.sunspec`` has the layout and its source):

- the marker "SunS";
- model 1 (common): the DUT profile's identity (manufacturer, model, firmware as the version, serial);
- model 120 (nameplate): DERTyp 82 (PV with storage, the nearest the model offers a V2G charger), WRtg the
  profile's ``rating.power_w`` with the smallest scale factor that fits it in a uint16;
- model 123 (immediate controls): WMaxLimPct (scale factor -1: tenths of a percent of WRtg, which stands for
  WMax as no model 121 is served), WMaxLim_Ena; writing them sets the charger's export limit
  (``rig.sim.charger.export_setpoint``: its power ramps there with the profile's ``power_control.time_constant_s``);
- model 124 (storage controls): WChaMax the rating again; StorCtl_Mod with InWRte (CHARGE) or OutWRte
  (DiSCHARGE), in tenths of a percent of WChaMax, is the active power setpoint an external system (an EMS) gives
  the charger: ``external_setpoint_w`` of the charger, which its OCPP 2.1 station follows in ExternalSetpoint mode
  (``rig.sim.charger.v2x_control``). [U: SunSpec calls InWRte/OutWRte the percent of the maximum rate; that a
  V2G charger takes them as its external V2X setpoint is this simulation's reading, to confirm per charger];
- the end model (0xFFFF, length 0).

Only the control points are writable: model 123's power limit (WMaxLimPct, its window, revert and ramp times,
WMaxLim_Ena) and model 124's StorCtl_Mod, and OutWRte, InWRte with their window, revert and ramp times. Windows,
reverts and ramps must be 0 (immediate, no revert: the only behaviour modelled); a percentage above 100 (or
below 0), an enable other than 0/1, or StorCtl_Mod with both bits (or any other) set is "illegal data value";
a write anywhere else is "illegal data address", as is any request outside the map. Requests are handled under the lab's lock at the lab's present time, like
every simulated instrument (``rig.sim.wire.modbus_server.ModbusServer`` serves it).
"""

from __future__ import annotations

from collections.abc import Sequence

from pymodbus.constants import ExcCodes
from pymodbus.simulator import SimData
from pymodbus.simulator.simutils import DataType

from rig.sim.model import LabModel
from rig.protocols.sunspec import (END_ID, MARKER, UNIMPLEMENTED_SF, UNIMPLEMENTED_UINT16, Common, Controls, Nameplate,
                                   Point, Storage, encode_string, signed, unsigned)

BASE = 40000
DER_TYPE_PV_STORAGE = 82
PERCENT_SF = -1
"""WMaxLimPct in tenths of a percent."""
READ_HOLDING, WRITE_REGISTER, WRITE_REGISTERS = 3, 6, 16


def fitting_scale_factor(value: float) -> int:
    """The smallest power of ten that puts ``value`` in a uint16 (its register then holds value / 10^sf)."""
    sf = 0
    while round(value / 10.0 ** sf) > 0xFFFE:
        sf += 1
    return sf


class SunSpecCharger:
    """The charger's SunSpec register map; writes to its controls reach the lab model's charger."""

    def __init__(self, lab: LabModel, *, base: int = BASE) -> None:
        self.lab = lab
        self.base = base
        profile = lab.profile
        identity = profile.identity
        rating_sf = fitting_scale_factor(profile.ac_port.rating.power_w)
        self.rated_w = round(profile.ac_port.rating.power_w / 10.0 ** rating_sf) * 10.0 ** rating_sf
        common = [Common.ID, Common.LENGTH] + [0] * Common.LENGTH
        for point, text in ((Common.Mn, identity.manufacturer), (Common.Md, identity.model),
                            (Common.Vr, identity.firmware), (Common.SN, identity.serial)):
            common[point.offset:point.offset + point.size] = encode_string(text, point.size)
        common[Common.DA.offset] = 1
        nameplate = [Nameplate.ID, Nameplate.LENGTH] + [0] * Nameplate.LENGTH
        nameplate[Nameplate.DERTyp.offset] = DER_TYPE_PV_STORAGE
        nameplate[Nameplate.WRtg.offset] = round(profile.ac_port.rating.power_w / 10.0 ** rating_sf)
        nameplate[Nameplate.WRtg_SF.offset] = unsigned(rating_sf)
        controls = [Controls.ID, Controls.LENGTH] + [0] * Controls.LENGTH
        controls[Controls.Conn.offset] = 1  # CONNECT
        controls[Controls.WMaxLimPct.offset] = round(100.0 / 10.0 ** PERCENT_SF)
        controls[Controls.WMaxLimPct_SF.offset] = unsigned(PERCENT_SF)
        self.controls_at = 2 + len(common) + len(nameplate)
        """Where model 123 starts, in registers from the base."""
        storage = [Storage.ID, Storage.LENGTH] + [UNIMPLEMENTED_UINT16] * Storage.LENGTH
        for point in (Storage.OutWRte, Storage.InWRte, Storage.InOutWRte_WinTms, Storage.InOutWRte_RvrtTms,
                      Storage.InOutWRte_RmpTms, Storage.StorCtl_Mod):
            storage[point.offset] = 0
        storage[Storage.WChaMax.offset] = nameplate[Nameplate.WRtg.offset]
        storage[Storage.WChaMax_SF.offset] = unsigned(rating_sf)
        ocpp = profile.ocpp
        ramp_s = ocpp.v2x.ramp_s if ocpp is not None else 1.0
        storage[Storage.WChaGra.offset] = storage[Storage.WDisChaGra.offset] = round(100.0 / ramp_s)
        storage[Storage.WChaDisChaGra_SF.offset] = 0
        storage[Storage.InOutWRte_SF.offset] = unsigned(PERCENT_SF)
        for sf in range(Storage.WChaDisChaGra_SF.offset + 1, Storage.InOutWRte_SF.offset):
            storage[sf] = unsigned(UNIMPLEMENTED_SF)
        self.storage_at = self.controls_at + len(controls)
        """Where model 124 starts, in registers from the base."""
        self.words = [*MARKER, *common, *nameplate, *controls, *storage, END_ID, 0]

    def modbus_identity(self) -> dict[str, str]:
        """The charger's own identity, as its profile states it."""
        identity = self.lab.profile.identity
        return {"VendorName": identity.manufacturer, "ProductCode": identity.model,
                "MajorMinorRevision": identity.firmware}

    def simdata(self) -> list[SimData]:
        """One block of registers from the base (other function codes than holding registers are refused)."""
        return [SimData(self.base, count=len(self.words), values=0, datatype=DataType.REGISTERS)]

    def _point(self, point: Point) -> int:
        return self.controls_at + point.offset

    def request(self, function_code: int, address: int, values: list[int] | list[bool] | None) -> list[int] | ExcCodes:
        """The map after the request (from the base), or the refusal a real device would give."""
        first = address - self.base
        if function_code not in (READ_HOLDING, WRITE_REGISTER, WRITE_REGISTERS) or first < 0:
            return ExcCodes.ILLEGAL_ADDRESS
        if values is not None:
            refused = self._write(first, [int(v) for v in values])
            if refused is not None:
                return refused
        return list(self.words)

    def _stored(self, point: Point) -> int:
        return self.storage_at + point.offset

    def _write(self, first: int, values: Sequence[int]) -> ExcCodes | None:
        last = first + len(values) - 1
        for writable, apply in ((range(self._point(Controls.WMaxLimPct), self._point(Controls.WMaxLim_Ena) + 1),
                                 self._write_limit),
                                (range(self._stored(Storage.StorCtl_Mod), self._stored(Storage.StorCtl_Mod) + 1),
                                 self._write_storage),
                                (range(self._stored(Storage.OutWRte), self._stored(Storage.InOutWRte_RmpTms) + 1),
                                 self._write_storage)):
            if first in writable and last in writable:
                return apply(first, values)
        return ExcCodes.ILLEGAL_ADDRESS

    def _write_limit(self, first: int, values: Sequence[int]) -> ExcCodes | None:
        words = list(self.words)
        words[first:first + len(values)] = values
        percent = words[self._point(Controls.WMaxLimPct)] * 10.0 ** signed(words[self._point(Controls.WMaxLimPct_SF)])
        timers = [words[self._point(p)] for p in (Controls.WMaxLimPct_WinTms, Controls.WMaxLimPct_RvrtTms,
                                                   Controls.WMaxLimPct_RmpTms)]
        enable = words[self._point(Controls.WMaxLim_Ena)]
        if percent > 100.0 or any(timers) or enable not in (Controls.DISABLED, Controls.ENABLED):
            return ExcCodes.ILLEGAL_VALUE
        self.words = words
        limit_w = percent / 100.0 * self.rated_w if enable == Controls.ENABLED else None
        setpoint = self.lab.charger.export_setpoint
        if limit_w != setpoint.limit_w:
            self.lab.charger.limit_export(self.lab.now, limit_w)  # its export ramps there; at 0 it draws standby
        return None

    def _write_storage(self, first: int, values: Sequence[int]) -> ExcCodes | None:
        words = list(self.words)
        words[first:first + len(values)] = values
        scale = 10.0 ** signed(words[self._stored(Storage.InOutWRte_SF)])
        charge, discharge = (signed(words[self._stored(p)]) * scale for p in (Storage.InWRte, Storage.OutWRte))
        mode = words[self._stored(Storage.StorCtl_Mod)]
        timers = [words[self._stored(p)] for p in (Storage.InOutWRte_WinTms, Storage.InOutWRte_RvrtTms,
                                                    Storage.InOutWRte_RmpTms)]
        if (any(timers) or not 0.0 <= charge <= 100.0 or not 0.0 <= discharge <= 100.0
                or mode not in (0, Storage.CHARGE, Storage.DISCHARGE)):
            return ExcCodes.ILLEGAL_VALUE
        self.words = words
        setpoint_w = (charge / 100.0 * self.rated_w if mode == Storage.CHARGE
                      else -discharge / 100.0 * self.rated_w if mode == Storage.DISCHARGE else None)
        self.lab.charger.external_setpoint_w = setpoint_w
        self.lab.chademo.wake(self.lab.now)  # its V2X control looks at it at its next step
        return None
