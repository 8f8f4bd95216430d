"""The bench file: which instrument plays which role, and the safety envelope.

A bench file is what makes the same plan run against the simulated lab or a
real lab. It also declares the envelope every setpoint is checked against
before it is sent, so the schema is strict: unknown keys, numbers written as
text and non-finite limits are refused rather than guessed at.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from rig.core.identity import IdentityPin
from rig.core.roles import ROLES
from rig.config.yaml_source import LocatedValueError, load_model

SIMULATED_ADDRESS = "sim"
"""An instrument address meaning 'served by the simulated lab the rig starts itself'."""

KNOWN_ROLES = tuple(ROLES)
"""Instrument roles a procedure can ask for (``rig.core.roles.ROLE_TABLE``); a misspelt role would otherwise go
unused."""


class BenchRecord(BaseModel):
    """Base of the bench models: strict, so a typo or a quoted number is an error."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class SimulatedLabSettings(BenchRecord):
    """How the rig runs its own simulated lab: virtual time for CI, real time to cross-check."""

    time: Literal["virtual", "real"] = "virtual"
    seed: int = Field(0, ge=0)


class IdentityPinEntry(BenchRecord):
    """Pins an instrument further than its driver's family: its model (regex) and serial number."""

    model: str | None = Field(default=None, min_length=1, description="Regex matched in full against *IDN? model.")
    serial: str | None = Field(default=None, min_length=1, description="Exact *IDN? serial number.")

    @field_validator("model")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as err:
                raise ValueError(f"not a valid regular expression: {err}") from None
        return value

    def pin(self) -> IdentityPin:
        return IdentityPin(model=self.model, serial=self.serial)


class InstrumentEntry(BenchRecord):
    """One instrument: the driver that speaks to it and where it is reached."""

    driver: str = Field(min_length=1, description="Key of the driver registry.")
    address: str = Field(
        min_length=1, description="'sim' for the simulated lab, else a VISA resource string."
    )
    identity: IdentityPinEntry | None = Field(default=None, description="Expected model and serial (*IDN?).")
    shares_instrument_with: str | None = Field(
        default=None, description="The role whose instrument this one also is (same address on purpose).")
    calibration_due: str | None = Field(default=None, description="YYYY-MM-DD, recorded as evidence.")
    options: dict[str, Any] = Field(default_factory=dict, description="Driver-specific options.")

    @field_validator("calibration_due", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> object:
        """Accept an unquoted YAML date as well as a string, and keep it as YYYY-MM-DD text."""
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            return value.isoformat()
        if isinstance(value, str):
            try:
                datetime.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"expected a date as YYYY-MM-DD, got {value!r}") from None
        return value

    @property
    def is_simulated(self) -> bool:
        return self.address == SIMULATED_ADDRESS


class Bounds(BenchRecord):
    """Allowed range of one quantity; an absent bound is open."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


def _quantity(unit: str, doc: str, *, required: bool = False, slew_of: str | None = None,
              step_of: str | None = None) -> Any:
    """Declare an envelope quantity with its unit (and, for a slew or step limit, what it limits)."""
    extra: dict[str, Any] = {"unit": unit}
    if slew_of is not None:
        extra["slew_of"] = slew_of
    if step_of is not None:
        extra["step_of"] = step_of
    if required:
        return Field(description=doc, json_schema_extra=extra)
    return Field(default=None, description=doc, json_schema_extra=extra)


class Envelope(BenchRecord):
    """The bench's safety envelope. An absent optional quantity has no configured limit."""

    ac_voltage_v: Bounds = _quantity("V", "AC voltage, rms.", required=True)
    ac_frequency_hz: Bounds = _quantity("Hz", "AC frequency.", required=True)
    ac_current_a: Bounds | None = _quantity("A", "AC current, rms.")
    ac_power_w: Bounds | None = _quantity("W", "AC active power.")
    ac_voltage_slew_v_per_s: Bounds | None = _quantity(
        "V/s", "Rate of change of AC voltage, magnitude.", slew_of="ac_voltage_v"
    )
    ac_frequency_slew_hz_per_s: Bounds | None = _quantity(
        "Hz/s", "Rate of change of AC frequency, magnitude.", slew_of="ac_frequency_hz"
    )
    ac_voltage_step_v: Bounds | None = _quantity(
        "V", "Largest instantaneous AC voltage step, magnitude. Without it, a bench with a voltage"
        " slew limit allows no step at all.", step_of="ac_voltage_v"
    )
    ac_frequency_step_hz: Bounds | None = _quantity(
        "Hz", "Largest instantaneous AC frequency step, magnitude. Without it, a bench with a"
        " frequency slew limit allows no step at all.", step_of="ac_frequency_hz"
    )
    dc_voltage_v: Bounds | None = _quantity(
        "V", "DC voltage at the battery emulator's terminals (its open-circuit setpoint and every reading)."
    )
    dc_current_a: Bounds | None = _quantity(
        "A", "DC current through the battery emulator, magnitude: charging and discharging alike."
    )
    dc_power_w: Bounds | None = _quantity(
        "W", "DC power through the battery emulator, magnitude: charging and discharging alike."
    )

    @classmethod
    def quantities(cls) -> tuple[str, ...]:
        return tuple(cls.model_fields)

    @classmethod
    def unit_of(cls, quantity: str) -> str:
        return cls._declaration(quantity)["unit"]

    @classmethod
    def slew_quantity_of(cls, quantity: str) -> str:
        """The slew entry limiting how fast ``quantity`` may change (or ``quantity`` if it is one)."""
        return cls._companion(quantity, "slew_of")

    @classmethod
    def step_quantity_of(cls, quantity: str) -> str:
        """The step entry limiting how far ``quantity`` may jump at once (or ``quantity`` if it is one)."""
        return cls._companion(quantity, "step_of")

    @classmethod
    def _companion(cls, quantity: str, kind: str) -> str:
        if kind in cls._declaration(quantity):
            return quantity
        for name in cls.model_fields:
            if cls._declaration(name).get(kind) == quantity:
                return name
        raise ValueError(f"the envelope has no {kind.removesuffix('_of')} limit for {quantity!r}")

    @classmethod
    def _declaration(cls, quantity: str) -> dict[str, str]:
        info = cls.model_fields.get(quantity)
        if info is None:
            known = ", ".join(cls.model_fields)
            raise ValueError(f"unknown envelope quantity {quantity!r} (known: {known})")
        return cast("dict[str, str]", info.json_schema_extra)

    def bounds_for(self, quantity: str) -> Bounds | None:
        """The configured bounds of ``quantity``, or None when no limit is configured."""
        self._declaration(quantity)
        return getattr(self, quantity)


class LoadBank(BenchRecord):
    """A switched resistive load bank behind the site boundary."""

    rated_power_w: float = Field(gt=0, description="Power it draws at the site's nominal voltage (v^2 / R).")


class Site(BenchRecord):
    """The site behind the boundary (G100 export limitation): the household load banks and the boundary CT's
    break relay, each on a ``dio`` output line, and what each bank draws, so the rig knows what it switches
    (and the simulated lab fits the same banks)."""

    nominal_voltage_v: float = Field(gt=0, description="The voltage the banks' rated powers are stated at.")
    load_banks: dict[str, LoadBank] = Field(min_length=1, description="dio output line -> the bank it switches.")
    sensor_break: str = Field(min_length=1, description="dio output line of the relay that opens the boundary "
                                                        "CT's lead (energised: the sensor signal is lost).")

    def load_power_w(self, bank: str, voltage_v: float) -> float:
        """What ``bank`` draws at ``voltage_v`` (resistive: in proportion to the voltage squared)."""
        return self.load_banks[bank].rated_power_w * (voltage_v / self.nominal_voltage_v) ** 2


class GridSwitch(BenchRecord):
    """The grid switch S1 between the grid simulator and the charger's point of connection (islanding tests):
    the ``dio`` output that drives its coil (energised: open) and its contactor's opening time, from the coil
    command to the contacts parting, as its datasheet or a calibration states it."""

    line: str = Field(min_length=1, description="dio output line of S1's coil.")
    opening_time_s: float = Field(ge=0, description="Coil command to contacts open, nominal.")
    opening_tolerance_s: float = Field(ge=0, description="The opening time lies within +- this (a rectangular "
                                                         "half-width in the run-on's uncertainty).")


class Signing(BenchRecord):
    """The bench's Ed25519 key that signs each run's manifest when the run closes (``rig keygen``;
    ``rig.evidence.signature``)."""

    name: str = Field(min_length=1, description="The key's name, as ``rig keygen`` was given it (the bench's).")
    key: str = Field(min_length=1, description="Its private key file (PEM), relative to the bench file: kept on "
                                               "the bench, never committed.")


class Bench(BenchRecord):
    """A bench file: name, optional simulated lab, instruments by role, envelope."""

    bench: str = Field(min_length=1)
    description: str = ""
    simulated_lab: SimulatedLabSettings | None = None
    instruments: dict[str, InstrumentEntry]
    envelope: Envelope
    site: Site | None = Field(default=None, description="The site behind the boundary (G100 suites).")
    grid_switch: GridSwitch | None = Field(default=None, description="Grid switch S1 (islanding suites).")
    signing: Signing | None = Field(default=None, description="The key that signs each run's manifest; "
                                                              "without it runs are not signed.")

    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        """The bench file this was loaded from, so refusals can name it."""
        return self._source

    @field_validator("instruments")
    @classmethod
    def _known_roles(cls, instruments: dict[str, InstrumentEntry]) -> dict[str, InstrumentEntry]:
        for role in instruments:
            if role not in KNOWN_ROLES:
                raise LocatedValueError(
                    (role,), f"unknown instrument role (known: {', '.join(KNOWN_ROLES)})"
                )
        return instruments

    @model_validator(mode="after")
    def _one_instrument_per_address(self) -> Bench:
        """Two roles on one address are one instrument: allowed only when the bench file says so."""
        first_at: dict[str, str] = {}
        for role, entry in self.instruments.items():
            if entry.shares_instrument_with is not None and entry.shares_instrument_with not in self.instruments:
                raise LocatedValueError(("instruments", role, "shares_instrument_with"),
                                        f"no role {entry.shares_instrument_with!r} in this bench")
            if entry.is_simulated:
                continue
            key = normalised_address(entry.address)
            other = first_at.setdefault(key, role)
            if other != role and other != entry.shares_instrument_with:
                raise LocatedValueError(
                    ("instruments", role, "address"),
                    f"{entry.address} is also the {other!r} instrument's address; if one instrument plays both "
                    f"roles, say so with shares_instrument_with: {other}")
        return self

    @model_validator(mode="after")
    def _site_lines_are_dio_outputs(self) -> Bench:
        """Every site line the rig switches is an output the ``dio`` instrument names."""
        if self.site is None:
            return self
        dio = self.instruments.get("dio")
        outputs = dio.options.get("outputs", {}) if dio is not None else {}
        known = ", ".join(outputs) if isinstance(outputs, dict) and outputs else "none"
        lines: list[tuple[tuple[str, ...], str]] = [(("site", "load_banks", bank), bank)
                                                    for bank in self.site.load_banks]
        lines.append((("site", "sensor_break"), self.site.sensor_break))
        for where, line in lines:
            if not isinstance(outputs, dict) or line not in outputs:
                raise LocatedValueError(where, f"{line!r} is not an output line of the dio instrument "
                                               f"(instruments.dio.options.outputs: {known})")
        if self.site.sensor_break in self.site.load_banks:
            raise LocatedValueError(("site", "sensor_break"), "a line cannot be both a load bank and the CT break")
        return self

    @model_validator(mode="after")
    def _grid_switch_is_a_dio_output(self) -> Bench:
        if self.grid_switch is None:
            return self
        dio = self.instruments.get("dio")
        outputs = dio.options.get("outputs", {}) if dio is not None else {}
        if not isinstance(outputs, dict) or self.grid_switch.line not in outputs:
            raise LocatedValueError(("grid_switch", "line"), f"{self.grid_switch.line!r} is not an output line of "
                                                             "the dio instrument (instruments.dio.options.outputs)")
        return self

    @model_validator(mode="after")
    def _simulated_instruments_need_the_lab(self) -> Bench:
        if self.simulated_lab is not None:
            return self
        for role, entry in self.instruments.items():
            if entry.is_simulated:
                raise LocatedValueError(
                    ("instruments", role, "address"),
                    f"{SIMULATED_ADDRESS!r} needs a simulated_lab section in the bench file;"
                    " add one, or give the instrument's VISA address",
                )
        return self


def normalised_address(address: str) -> str:
    """A VISA resource string in one spelling: board 0 implied, any case (``tcpip::h::5025::socket``)."""
    parts = [part.strip().lower() for part in address.split("::")]
    if parts and re.fullmatch(r"[a-z]+0", parts[0]):
        parts[0] = parts[0][:-1]
    return "::".join(parts)


def load_bench(path: Path | str) -> Bench:
    """Load and validate a bench file; problems come back as ``file:line: field: message``."""
    bench = load_model(Path(path), Bench)
    bench._source = Path(path)
    return bench
