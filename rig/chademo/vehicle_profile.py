"""A vehicle as the rig plays it: its protocol, battery, requests, timings and quirks, as data.

A charger must work with every version of every vehicle it meets, and real
vehicles differ in ways the protocol leaves open (a LEAF ZE1 reports its
charged rate against 0xFF, not 100; some first frames already say the
contactors are closed). Vehicle profiles (``fixtures/vehicles/*.yaml``) carry
each model's behaviour and quirks as data, so the same suite runs against a
charger with several vehicles (the compatibility matrix).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rig.config.yaml_source import LocatedValueError, load_model


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class Battery(Strict):
    """The traction battery the battery emulator plays: open-circuit voltage linear in state of charge."""

    capacity_kwh: float = Field(gt=0)
    empty_voltage_v: float = Field(gt=0, description="Open-circuit voltage at 0 % state of charge.")
    full_voltage_v: float = Field(gt=0, description="Open-circuit voltage at 100 %.")
    resistance_ohm: float = Field(0.05, ge=0, description="Internal resistance the emulator adds.")
    initial_soc_percent: float = Field(ge=0, le=100)
    min_voltage_v: float = Field(gt=0, description="0x100 bytes 2-3: the lowest it may be charged from.")
    max_voltage_v: float = Field(gt=0, description="0x100 bytes 4-5: it must never be charged above this.")
    target_voltage_v: float = Field(gt=0, description="0x102 bytes 1-2.")

    @model_validator(mode="after")
    def _ordered(self) -> Battery:
        if not self.empty_voltage_v < self.full_voltage_v <= self.max_voltage_v:
            raise LocatedValueError(("full_voltage_v",), "needs empty < full <= max voltage")
        return self

    def open_circuit_v(self, soc_percent: float) -> float:
        return self.empty_voltage_v + (self.full_voltage_v - self.empty_voltage_v) * soc_percent / 100.0


class Requests(Strict):
    """How the vehicle asks for current."""

    max_current_a: float = Field(gt=0, description="What it asks for once ramped up.")
    ramp_a_per_s: float = Field(20.0, gt=0, description="How fast it raises its request (about 20 A/s).")
    min_charge_current_a: float = Field(0.0, ge=0, description="0x100 byte 0.")


class Timings(Strict):
    """When the vehicle does its part of the sequence."""

    k_after_handshake_s: float = Field(2.0, ge=0, description="From the charger's first frames to k on (d1 to k ~3 s).")
    contactors_after_d2_s: float = Field(1.0, ge=0, description="From d2 on to its contactors closed.")
    request_after_contactors_s: float = Field(0.5, ge=0, description="From its contactors closed to its first request.")
    welding_detection_s: float = Field(1.0, ge=0, description="From its contactors open to 102.5.3 = 1.")


class Discharge(Strict):
    """What it offers a V2H charger (0x200)."""

    max_discharge_current_a: float = Field(ge=0)
    min_discharge_voltage_v: float = Field(ge=0)
    min_discharge_level_percent: float = Field(ge=0, le=100)
    max_charge_level_percent: float = Field(ge=0, le=100)


class Quirks(Strict):
    """Behaviour real vehicles show that the protocol leaves open (see the shared real traces)."""

    charged_rate_reference: int = Field(100, ge=1, le=255, description="0x100 byte 6: 100, or 0xFF on a ZE1.")
    sends_extended_features: bool = Field(False, description="It sends 0x110 (protocol 2.0 vehicles, ZE1).")
    first_status_contactor_closed: bool = Field(
        False, description="Its very first 0x102 says 102.5.3 = 0 (seen on real LEAFs) before the next says 1.")


class VehicleProfile(Strict):
    """A vehicle model and version, as the rig plays it."""

    vehicle: str = Field(min_length=1)
    description: str = ""
    protocol_number: int = Field(ge=1, le=3, description="1 = 0.9, 2 = 1.0.x, 3 = 2.0.")
    discharge_compatible: bool = Field(description="V2H: 102.5.7 = 1 and 0x200/0x201 sent.")
    battery: Battery
    requests: Requests
    timings: Timings = Field(default_factory=lambda: Timings())
    discharge: Discharge | None = None
    quirks: Quirks = Field(default_factory=lambda: Quirks())

    @model_validator(mode="after")
    def _discharge_needs_compatibility(self) -> VehicleProfile:
        if self.discharge_compatible and self.discharge is None:
            raise LocatedValueError(("discharge",), "a discharge-compatible vehicle states its discharge limits")
        return self


def load_vehicle_profile(path: Path) -> VehicleProfile:
    """Load a vehicle profile; problems come back as ``file:line: field: message``."""
    return load_model(Path(path), VehicleProfile)
