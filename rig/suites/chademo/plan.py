"""The CHAdeMO plan: the charger's AC supply, the vehicles it meets, the rules' parameters, and sessions.

A case is one session played by the rig's vehicle emulator against the
charger: charge or V2H discharge, with optionally one injected misbehaviour
(a fault bit, silence, k dropped, an emergency stop, ...) at a point of the
vehicle's sequence. The session is recorded (frames, contact edges, DC
measurements) and judged by the compliance rules (``rig.chademo.rules``) with
the plan's parameters; the case's limits say which measured values decide
its verdict (findings against the charger, its reaction time, how much it
delivered).

A case names the vehicles it runs with (the plan's ``vehicles`` table, by
name); one with several vehicles runs once for each (``<id>@<vehicle>``), and
the report's matrix shows the charger against every vehicle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, model_validator

from rig.chademo.parameters import ChademoParameters
from rig.chademo.rules import RULES
from rig.chademo.vehicle import Action, Trigger
from rig.chademo.vehicle_profile import VehicleProfile, load_vehicle_profile
from rig.core.errors import InputFileError
from rig.suites.platform import BoundedLimit, SetpointChange, Strict, SuiteCase, SuitePlan
from rig.config.yaml_source import LocatedValueError, YamlDocument


class GridSupply(Strict):
    """The charger's AC supply (the grid simulator at nominal)."""

    voltage_v: float = Field(gt=0)
    frequency_hz: float = Field(gt=0)


class InjectionParams(Strict):
    """One misbehaviour of the vehicle: ``action`` ``delay_s`` after it reaches ``at``."""

    at: Trigger
    action: Action
    delay_s: float = Field(0.0, ge=0)
    amount: float = Field(0.0, ge=0, description="For request_above_available: A above the charger's offer.")


class SessionParams(Strict):
    direction: Literal["charge", "discharge"] = "charge"
    stop_after_s: float = Field(20.0, gt=0, description="How long the vehicle charges at full request before it stops.")
    timeout_s: float = Field(120.0, gt=0, description="The session must have ended by then.")
    target_voltage_v: float | None = Field(None, gt=0, description="Overrides the vehicle's target voltage.")
    initial_soc_percent: float | None = Field(None, ge=0, le=100, description="Overrides the vehicle's state of "
                                              "charge at plug-in (a case near one of its levels).")
    min_discharge_voltage_v: float | None = Field(None, ge=0, description="Overrides the vehicle's 0x200 minimum "
                                                  "discharge voltage (a vehicle declaring a higher floor).")
    min_discharge_level_percent: float | None = Field(None, ge=0, le=100, description="Overrides its 0x200 byte 6.")
    max_discharge_current_a: float | None = Field(None, ge=0, description="Overrides its 0x200 maximum discharge "
                                                  "current (a vehicle offering less than the home's demand).")
    tracking_settle_s: float = Field(2.0, gt=0, description="tracking_error_a counts only once min(request, "
                                     "available) has been unchanged this long (the charger's ramp is no error); "
                                     "overshoot_max_a and discharge_excess_a hold a falling target this long.")
    log_period_s: float = Field(0.001, gt=0, le=0.01, description=(
        "The battery emulator logs the inlet's current and voltage this often: a reaction is timed to within "
        "half of it, and it must time one to within 10 ms."))
    injection: InjectionParams | None = None
    must_judge: list[str] = Field(default_factory=list, description=(
        "The rules this case exists to exercise: each must have judged the session (a rule that found the "
        "recording lacking what it needs makes the case an error, never a pass)."))

    @model_validator(mode="after")
    def _known_rules(self) -> SessionParams:
        known = {rule.id for rule in RULES}
        for index, rule in enumerate(self.must_judge):
            if rule not in known:
                raise LocatedValueError(("must_judge", index), f"no rule {rule!r} (rules: {', '.join(sorted(known))})")
        return self


class SessionLimits(Strict):
    """What decides a session's verdict: each limit judges one measured value (see ``procedures``)."""

    evse_findings: BoundedLimit | None = None
    reaction_s: BoundedLimit | None = None
    delivered_max_a: BoundedLimit | None = None
    overshoot_max_a: BoundedLimit | None = None
    tracking_error_a: BoundedLimit | None = None
    energy_into_vehicle_wh: BoundedLimit | None = None
    energy_from_vehicle_wh: BoundedLimit | None = None
    discharge_max_a: BoundedLimit | None = None
    discharge_excess_a: BoundedLimit | None = None
    min_discharge_voltage_margin_v: BoundedLimit | None = None
    min_discharge_level_margin_percent: BoundedLimit | None = None
    negotiated_protocol: BoundedLimit | None = None
    session_ended: BoundedLimit | None = None

    @model_validator(mode="after")
    def _something(self) -> SessionLimits:
        if not any(getattr(self, name) is not None for name in type(self).model_fields):
            raise ValueError("a case needs at least one limit")
        return self


class SessionCase(SuiteCase):
    """A CHAdeMO session against the charger."""

    procedure: Literal["session"]
    params: SessionParams
    limits: SessionLimits
    vehicles: list[str] = Field(default_factory=list, description="Vehicles (plan's table) it runs with.")
    vehicle: str = Field("", exclude=True, description="The vehicle of one expanded run (set by the plan).")

    def setting_record(self) -> dict[str, float | str]:
        record: dict[str, float | str] = {"vehicle": self.vehicle, "direction": self.params.direction}
        if self.params.injection is not None:
            injection = self.params.injection
            record["injection"] = f"{injection.action} at {injection.at} + {injection.delay_s:g} s"
        return record

    def vehicle_profile(self, plan: Plan) -> VehicleProfile:
        """The vehicle this run plays: the plan's profile with the case's overrides."""
        p = plan.vehicle(self.vehicle)
        battery = {"initial_soc_percent": self.params.initial_soc_percent}
        discharge = {"min_discharge_voltage_v": self.params.min_discharge_voltage_v,
                     "min_discharge_level_percent": self.params.min_discharge_level_percent,
                     "max_discharge_current_a": self.params.max_discharge_current_a}
        update: dict[str, object] = {}
        if any(v is not None for v in battery.values()):
            update["battery"] = p.battery.model_copy(update={k: v for k, v in battery.items() if v is not None})
        if p.discharge is not None and any(v is not None for v in discharge.values()):
            update["discharge"] = p.discharge.model_copy(update={k: v for k, v in discharge.items() if v is not None})
        return p.model_copy(update=update) if update else p

    def setpoint_changes(self, plan: SuitePlan) -> list[SetpointChange]:
        """The battery emulator's voltage (the vehicle's battery up to full, the charger's output up to its target)
        and current (the vehicle's request or its discharge limit), the grid at nominal."""
        assert isinstance(plan, Plan)
        profile = self.vehicle_profile(plan)
        battery = profile.battery
        current = profile.requests.max_current_a
        if self.params.direction == "discharge" and profile.discharge is not None:
            current = profile.discharge.max_discharge_current_a
        target = self.params.target_voltage_v or battery.target_voltage_v
        what = f"vehicle {profile.vehicle}"
        return [SetpointChange("dc_voltage_v", v, v, "level", what=f"{what} battery voltage")
                for v in (battery.empty_voltage_v, battery.full_voltage_v, min(target, battery.max_voltage_v))] + \
            [SetpointChange("dc_current_a", current, current, "level", what=f"{what} current")]


class Plan(SuitePlan):
    """A CHAdeMO plan file."""

    suite: Literal["chademo"]
    grid: GridSupply
    vehicles: dict[str, str] = Field(min_length=1, description="Vehicle name -> profile file (relative to the plan).")
    default_vehicle: str
    parameters: ChademoParameters = Field(default_factory=ChademoParameters)
    cases: list[SessionCase] = Field(min_length=1)
    _profiles: dict[str, VehicleProfile] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _unconfirmed_parameters_stated(self) -> Plan:
        """A limit the reference marks unconfirmed ([?]) judges only as the plan states it, never as a default."""
        missing = [name for name in ChademoParameters.unconfirmed() if name not in self.parameters.model_fields_set]
        if missing:
            raise LocatedValueError(("parameters",), "the reference leaves these limits unconfirmed [?], so the plan "
                                    f"must state them: {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _known_vehicles(self) -> Plan:
        if self.default_vehicle not in self.vehicles:
            raise LocatedValueError(("default_vehicle",), f"not in the plan's vehicles ({', '.join(self.vehicles)})")
        for index, case in enumerate(self.cases):
            for name in case.vehicles:
                if name not in self.vehicles:
                    raise LocatedValueError(("cases", index, "vehicles"),
                                            f"no vehicle {name!r} in the plan's vehicles ({', '.join(self.vehicles)})")
        return self

    def setpoints(self) -> list[SetpointChange]:
        return [SetpointChange("ac_voltage_v", self.grid.voltage_v, self.grid.voltage_v, "level", what="supply voltage"),
                SetpointChange("ac_frequency_hz", self.grid.frequency_hz, self.grid.frequency_hz, "level",
                               what="supply frequency")]

    def bind(self, document: YamlDocument) -> None:
        """Load every vehicle profile the plan names (relative to the plan file)."""
        for name, relative in self.vehicles.items():
            path = (document.path.parent / relative).resolve()
            if not path.is_file():
                raise InputFileError(document.path, document.line_of(("vehicles", name)), f"vehicles.{name}",
                                     f"no such vehicle profile: {relative}")
            self._profiles[name] = load_vehicle_profile(path)  # its own errors name its own lines
        for index, case in enumerate(self.cases):
            overrides = [name for name in ("min_discharge_voltage_v", "min_discharge_level_percent",
                                           "max_discharge_current_a") if getattr(case.params, name) is not None]
            if case.params.direction == "discharge" or overrides:
                field = "direction" if case.params.direction == "discharge" else overrides[0]
                for name in case.vehicles or [self.default_vehicle]:
                    if not self._profiles[name].discharge_compatible:
                        raise InputFileError(document.path, document.line_of(("cases", index, "params", field)),
                                             f"cases[{index}].params.{field}",
                                             f"vehicle {name!r} is not discharge compatible (V2H)")

    def vehicle(self, name: str) -> VehicleProfile:
        return self._profiles[name or self.default_vehicle]

    def vehicle_file(self, name: str) -> Path:
        return Path(self.vehicles[name or self.default_vehicle])

    def runnable(self) -> list[tuple[SuiteCase, int]]:
        """Each case once for each vehicle it names (``<id>@<vehicle>`` when it names several)."""
        runs: list[tuple[SuiteCase, int]] = []
        for index, case in enumerate(self.cases):
            names = case.vehicles or [self.default_vehicle]
            for name in names:
                case_id = case.id if len(names) == 1 else f"{case.id}@{name}"
                runs.append((case.model_copy(update={"id": case_id, "vehicle": name}), index))
        return runs
