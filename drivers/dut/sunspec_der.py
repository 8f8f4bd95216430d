"""The charger's own SunSpec Modbus TCP interface as the rig's ``dut_control``: its export power limit.

Resource form: ``modbus-tcp://HOST[:PORT]`` (port 502 when omitted). Options: ``unit`` (Modbus unit
identifier, default 1), ``timeout_s`` (default 3), ``base`` (where the "SunS" marker is; default: looked for
at 40000, then 0, then 50000, as the standard says).

Discovery, the only requests sent before the identity is accepted: two registers at each candidate base until
one holds "SunS", then each model's header (ID, length) along the chain to the end model (0xFFFF), and model 1's
strings. A peer with no marker, no model 1 first, or no model 123 is not a SunSpec DER the rig can control: its
answer goes to the identity check as text, so the bench is refused naming the role, the address and what
answered.

Points used (``rig.protocols.sunspec`` has the offsets and their source, the SunSpec models' JSON definitions):

- model 1: Mn, Md, SN, Vr -> the identity's manufacturer, model, serial and firmware (commas dropped);
- model 121 WMax with WMax_SF, else model 120 WRtg with WRtg_SF: the power a percent limit is a share of;
- model 123: WMaxLimPct (uint16, % of WMax, scaled by WMaxLimPct_SF), WMaxLimPct_WinTms, _RvrtTms, _RmpTms
  (written 0: applied at once, no revert, the charger's own ramp) and WMaxLim_Ena (1 enabled, 0 disabled),
  written together in one request (function 16), so the limit and its enable never disagree on the wire.

- model 124 (storage controls, optional: only ``external_setpoint`` needs it): WChaMax with WChaMax_SF, and
  InOutWRte_SF, read at setup; a setpoint is InWRte (charging) or OutWRte (discharging) in percent of WChaMax with
  their window, revert and ramp times 0, written in one request (function 16), then StorCtl_Mod (function 6:
  bit 0 CHARGE or bit 1 DiSCHARGE; 0 clears it). The rate of the direction being left keeps its old value until
  StorCtl_Mod has switched, so the charger never sees a moment of 0 between two setpoints. [U: SunSpec names
  InWRte/OutWRte percentages of the maximum rate; that a charger follows them as its external (EMS) V2X setpoint
  is to confirm per charger.]

A limit is checked before any I/O: 0 up to WMax (0..100 %) and up to the bench envelope's ``ac_power_w``; a
setpoint's size up to WChaMax and ``ac_power_w``.
``setup`` and ``safe_off`` release the limit (WMaxLim_Ena 0): the charger's own behaviour is its safe state
(``rig.core.roles.DutPowerControl``). Unconfirmed against a particular charger: which base and unit it uses, whether
it offers model 121, and whether it honours a revert timeout (a charger-side watchdog would release a limit
left by a killed rig; this driver does not arm one, as the limit would lapse in the middle of a long case).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import Field, field_validator
from pymodbus.exceptions import ModbusException

from drivers.modbus import exchange, open_client
from drivers.options import DriverOptions
from rig.core import stop
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import InstrumentError
from rig.core.identity import InstrumentFamily
from rig.protocols.sunspec import (BASES, END_ID, MARKER, UNIMPLEMENTED_SF, UNIMPLEMENTED_UINT16, Common, Controls,
                                   Nameplate, Point, Settings, Storage, decode_string, signed, unsigned)

MAX_MODELS = 64
"""A chain longer than this is not walked further (a device answering zeros everywhere would never end)."""


def _listed(models: dict[int, int]) -> str:
    """Model ids for a refusal, without commas (an identity answer is split at commas)."""
    return " ".join(map(str, models)) or "none"


@dataclass(frozen=True)
class Discovery:
    """Where the device's models start (holding register addresses), found by walking the chain."""

    base: int
    models: dict[int, int]


class SunSpecDer:
    """Options: ``unit`` (0..247, default 1), ``timeout_s`` (default 3), ``base`` (40000, 0 or 50000; default:
    looked for in that order)."""

    family = InstrumentFamily("SunSpec DER with immediate controls (SunSpec models 1 and 123)",
                              manufacturer=r".+", model=r".+", asked_by="its SunSpec common model (1)")

    class Options(DriverOptions):
        unit: int = Field(1, ge=0, le=247, description="Modbus unit identifier.")
        timeout_s: float = Field(3.0, gt=0, description="How long a request may wait for its answer.")
        base: int | None = Field(None, description="Where its SunSpec map starts, one of ``BASES`` (default: "
                                                   "each looked for in that order).")

        @field_validator("base")
        @classmethod
        def _a_sunspec_base(cls, value: int | None) -> int | None:
            if value is not None and value not in BASES:
                raise ValueError(f"{value} is not one of SunSpec's bases {', '.join(map(str, BASES))}")
            return value

    def __init__(self, resource: str, *, name: str, envelope: EnvelopeGuard | None = None,
                 options: dict[str, Any] | None = None) -> None:
        self.resource = resource
        self.name = name
        self.envelope = envelope
        o = self.Options.read(name, options)
        self.unit, timeout_s, base = o.unit, o.timeout_s, o.base
        self._bases = BASES if base is None else (base,)
        self._found: Discovery | None = None
        self._wmax_w: float | None = None
        self._percent_sf: int | None = None
        self._commanded_w: float | None = None
        self._storage: tuple[float, int] | None = None
        """Model 124's WChaMax (W) and InOutWRte_SF, once set up on a charger that has it."""
        self._rates = (0, 0)
        """The OutWRte and InWRte registers last written."""
        self._setpoint_w: float | None = None
        self._client = open_client(name, resource, timeout_s)

    # -- discovery and identity -------------------------------------------------------------------

    def _read(self, address: int, count: int, what: str) -> list[int]:
        response = exchange(self.name, f"read holding registers {address}..{address + count - 1} ({what})",
                            lambda: self._client.read_holding_registers(address, count=count, device_id=self.unit),
                            peer="the charger")
        return list(response.registers)

    def _probe(self, base: int) -> str | None:
        """None when the marker is at ``base``; else what was there (for the refusal)."""
        stop.checkpoint()
        try:
            response = self._client.read_holding_registers(base, count=2, device_id=self.unit)
        except ModbusException as err:
            raise InstrumentError(self.name, f"read holding registers {base}..{base + 1} (SunSpec marker)",
                                  f"no answer: {err}") from None
        if response.isError():
            return f"{base}: Modbus exception {getattr(response, 'exception_code', '?')}"
        words = list(response.registers)
        return None if tuple(words) == MARKER else f"{base}: " + " ".join(f"0x{w:04X}" for w in words)

    def _discover(self) -> Discovery | str:
        """The model chain, or why this is not a SunSpec device (in words, for the identity check)."""
        seen = []
        for base in self._bases:
            found = self._probe(base)
            if found is not None:
                seen.append(found)
                continue
            models: dict[int, int] = {}
            address = base + 2
            for _ in range(MAX_MODELS):
                model_id, length = self._read(address, 2, "model header")
                if model_id == END_ID:
                    break
                models.setdefault(model_id, address)
                address += 2 + length
            if next(iter(models), None) != Common.ID:
                return f"SunSpec marker at {base} but model 1 (common) is not the first model (models {_listed(models)})"
            return Discovery(base, models)
        return "no SunSpec marker (" + "; ".join(seen) + ")"

    def identify(self) -> str:
        """``Mn,Md,SN,Vr`` from model 1 once the chain holds model 123; else what answered, as text that no
        identity check accepts. Only discovery reads are sent before the identity is accepted."""
        found = self._discover()
        if isinstance(found, str):
            return found
        if Controls.ID not in found.models:
            return f"a SunSpec device without model 123 (immediate controls; its models: {_listed(found.models)})"
        common = self._read(found.models[Common.ID], 2 + Common.LENGTH, "model 1, common")

        def text(point: Point) -> str:
            return decode_string(common[point.offset:point.offset + point.size]).replace(",", " ")

        self._found = found
        return f"{text(Common.Mn)},{text(Common.Md)},{text(Common.SN)},{text(Common.Vr)}"

    # -- the limit ------------------------------------------------------------------------------------

    def _controls(self, point: Point) -> int:
        if self._found is None:
            raise InstrumentError(self.name, "model 123", "not identified yet: identify() finds the model chain")
        return self._found.models[Controls.ID] + point.offset

    def _rating(self) -> float:
        """WMax (model 121) if the device has it, else WRtg (model 120): the base of WMaxLimPct."""
        assert self._found is not None
        for model, value, sf in ((Settings, Settings.WMax, Settings.WMax_SF), (Nameplate, Nameplate.WRtg,
                                                                               Nameplate.WRtg_SF)):
            start = self._found.models.get(model.ID)
            if start is None:
                continue
            words = self._read(start, sf.offset + 1, f"model {model.ID}")
            raw, scale = words[value.offset], signed(words[sf.offset])
            if raw != UNIMPLEMENTED_UINT16 and scale != UNIMPLEMENTED_SF and raw > 0:
                return raw * 10.0 ** scale
        raise InstrumentError(self.name, "rating", "neither model 121 WMax nor model 120 WRtg is implemented: "
                                                   "a percent limit has nothing to be a percent of")

    def setup(self) -> None:
        """Read WMax and the percent's scale factor, then release any limit (the charger's own behaviour)."""
        self._wmax_w = self._rating()
        sf = signed(self._read(self._controls(Controls.WMaxLimPct_SF), 1, "WMaxLimPct_SF")[0])
        if sf == UNIMPLEMENTED_SF:
            raise InstrumentError(self.name, "WMaxLimPct_SF", "not implemented: WMaxLimPct cannot be scaled")
        self._percent_sf = sf
        self.release()
        if self._found is not None and Storage.ID in self._found.models:
            start = self._found.models[Storage.ID]
            words = self._read(start, Storage.InOutWRte_SF.offset + 1, "model 124, storage")
            raw, scale, rate_sf = (words[Storage.WChaMax.offset], signed(words[Storage.WChaMax_SF.offset]),
                                   signed(words[Storage.InOutWRte_SF.offset]))
            if raw not in (0, UNIMPLEMENTED_UINT16) and UNIMPLEMENTED_SF not in (scale, rate_sf):
                self._storage = (raw * 10.0 ** scale, rate_sf)
                self._rates = (words[Storage.OutWRte.offset], words[Storage.InWRte.offset])
                self.external_setpoint(None)

    def rated_power_w(self) -> float:
        if self._wmax_w is None:
            raise InstrumentError(self.name, "WMax", "not read yet: setup() reads it")
        return self._wmax_w

    def limit_export(self, power_w: float) -> None:
        """WMaxLimPct = power_w / WMax, with its timers 0 and WMaxLim_Ena 1, in one write; refused before any
        I/O outside 0..WMax or above the bench envelope."""
        wmax = self.rated_power_w()
        what = f"export limit {power_w:g} W"
        if not math.isfinite(power_w) or not 0.0 <= power_w <= wmax:
            raise InstrumentError(self.name, what, f"outside 0..100 % of the charger's WMax ({wmax:g} W); nothing "
                                                   "was sent")
        if self.envelope is not None:
            self.envelope.check("ac_power_w", power_w, what=f"{self.name} export limit")
        assert self._percent_sf is not None
        raw = round(100.0 * power_w / wmax / 10.0 ** self._percent_sf)
        first = self._controls(Controls.WMaxLimPct)
        exchange(self.name, f"write registers {first}.. (WMaxLimPct {raw}, timers 0, WMaxLim_Ena 1)",
                 lambda: self._client.write_registers(first, [raw, 0, 0, 0, Controls.ENABLED], device_id=self.unit),
                 peer="the charger")
        self._commanded_w = raw * 10.0 ** self._percent_sf / 100.0 * wmax

    def release(self) -> None:
        address = self._controls(Controls.WMaxLim_Ena)
        exchange(self.name, f"write register {address} (WMaxLim_Ena 0)",
                 lambda: self._client.write_register(address, Controls.DISABLED, device_id=self.unit),
                 peer="the charger")
        self._commanded_w = None

    def export_limit_w(self) -> float | None:
        first = self._controls(Controls.WMaxLimPct)
        words = self._read(first, Controls.WMaxLim_Ena.offset - Controls.WMaxLimPct.offset + 1,
                           "WMaxLimPct..WMaxLim_Ena")
        if words[-1] != Controls.ENABLED:
            return None
        assert self._percent_sf is not None
        return words[0] * 10.0 ** self._percent_sf / 100.0 * self.rated_power_w()

    # -- the external (EMS) setpoint ---------------------------------------------------------------------

    def external_setpoint(self, power_w: float | None) -> None:
        """Give the charger ``power_w`` (W, positive charging) as its external system's setpoint, or clear it
        (None); refused before any I/O beyond WChaMax or the envelope's ``ac_power_w``, or without model 124."""
        what = "clear the external setpoint" if power_w is None else f"external setpoint {power_w:g} W"
        if self._storage is None or self._found is None:
            raise InstrumentError(self.name, what, "the charger has no usable SunSpec model 124 (storage controls) "
                                                   "to take a setpoint; nothing was sent")
        rated_w, rate_sf = self._storage
        start = self._found.models[Storage.ID]
        mode_at = start + Storage.StorCtl_Mod.offset
        if power_w is None:
            exchange(self.name, f"write register {mode_at} (StorCtl_Mod 0)",
                     lambda: self._client.write_register(mode_at, 0, device_id=self.unit), peer="the charger")
            self._setpoint_w = None
            return
        if not math.isfinite(power_w) or abs(power_w) > rated_w:
            raise InstrumentError(self.name, what, f"beyond the charger's WChaMax ({rated_w:g} W); nothing was sent")
        if self.envelope is not None:
            self.envelope.check("ac_power_w", abs(power_w), what=f"{self.name} external setpoint")
        raw = round(100.0 * abs(power_w) / rated_w / 10.0 ** rate_sf)
        out_raw, in_raw = (self._rates[0], raw) if power_w >= 0 else (raw, self._rates[1])
        first = start + Storage.OutWRte.offset
        exchange(self.name, f"write registers {first}.. (OutWRte {out_raw}, InWRte {in_raw}, timers 0)",
                 lambda: self._client.write_registers(first, [unsigned(out_raw), unsigned(in_raw), 0, 0, 0],
                                                      device_id=self.unit), peer="the charger")
        self._rates = (out_raw, in_raw)
        mode = Storage.CHARGE if power_w >= 0 else Storage.DISCHARGE
        exchange(self.name, f"write register {mode_at} (StorCtl_Mod {mode})",
                 lambda: self._client.write_register(mode_at, mode, device_id=self.unit), peer="the charger")
        self._setpoint_w = raw * 10.0 ** rate_sf / 100.0 * rated_w * (1.0 if power_w >= 0 else -1.0)

    # -- faults and lifetime --------------------------------------------------------------------------

    def faults(self) -> list[str]:
        """A limit that does not read back as commanded (another master, a charger reset, a revert timer)."""
        actual = self.export_limit_w()
        wanted = self._commanded_w
        if (actual is None) != (wanted is None) or (actual is not None and wanted is not None
                                                    and not math.isclose(actual, wanted, abs_tol=1e-6)):
            shown = "none" if actual is None else f"{actual:g} W"
            return [f"export limit reads {shown}, commanded {'none' if wanted is None else f'{wanted:g} W'}"]
        return []

    def safe_off(self) -> None:
        """Release the limit: the charger returns to its own operating point (the grid's off de-energises it)."""
        if self._found is not None:
            self.release()
            if self._storage is not None:
                self.external_setpoint(None)

    def close(self) -> None:
        self._client.close()
