"""The efficiency plan: the supply, the vehicle that commands the operating points, how settling and averaging
are done, and the cases (warm-up, a curve per direction, standby, idle-connected).

Every number the reference leaves unconfirmed ([?]: settling band and time,
the averaging window, the load-point tolerance, how far past a range the
analyzer still measures to its specification) is a required field here, so a
plan states it and the report shows it; nothing of the kind is a default in
code. The rated power is stated in the plan too, so the bench envelope can
refuse the currents of the load points before anything is energised; the
procedures check it against what the charger's manufacturer declares
(``Lab.dut``) and will not judge a plan written for another rating.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import Field, PrivateAttr, model_validator

from rig.chademo.vehicle_profile import VehicleProfile, load_vehicle_profile
from rig.config.yaml_source import LocatedValueError, YamlDocument
from rig.core.errors import InputFileError
from rig.suites.chademo.plan import GridSupply
from rig.suites.efficiency.budget import WEIGHTINGS
from rig.suites.platform import BoundedLimit, SetpointChange, Strict, SuiteCase, SuitePlan

Direction = Literal["charge", "discharge"]
Weighting = Literal["european", "cec"]


class Settling(Strict):
    """When an operating point counts as settled: the output power (and the input power) stayed within
    +-``band_percent`` of their mean over the last ``hold_s`` of data updates. Never settled after
    ``timeout_s``: the case is an error, never a pass."""

    band_percent: float = Field(gt=0, description="[?] half-width of the band, percent of the mean.")
    hold_s: float = Field(gt=0, description="[?] how long the power must stay in it.")
    timeout_s: float = Field(gt=0, description="[?] give up after this long at the point.")

    @model_validator(mode="after")
    def _room(self) -> Settling:
        if self.timeout_s < self.hold_s:
            raise LocatedValueError(("timeout_s",), f"{self.timeout_s:g} s is shorter than hold_s "
                                                    f"({self.hold_s:g} s): no point could settle")
        return self


class RangeFill(Strict):
    """[?] The largest value a range is used for, as a multiple of it: ranges are chosen per point as the
    smallest that holds the point's value within this (the part-load range term shrinks with the range)."""

    voltage: float = Field(gt=0, le=1.4)
    current: float = Field(gt=0, le=1.4)


class Measurement(Strict):
    """How each point is measured (all [?]: the reference found no published dwell, window or range rule)."""

    update_rate_s: float = Field(gt=0, description="The analyzer's data update interval (each update averages "
                                                   "over it).")
    window_s: int = Field(gt=0, description="[?] AC and DC averaged over the same updates for this long, and "
                                            "integrated by the analyzer over it (whole seconds: its timer).")
    settling: Settling
    load_tolerance_percent: float = Field(gt=0, le=10, description=(
        "[?] how far (percent of the rated power) the output may be from the load point: the vehicle asks in "
        "whole amperes, so a point is reached only to within that step."))
    range_fill: RangeFill
    efficiency_floor: float = Field(gt=0, le=1, description=(
        "The lowest efficiency the ranges of the input side are sized for (input = output / this)."))

    @model_validator(mode="after")
    def _whole_updates(self) -> Measurement:
        if self.window_s < 2 * self.update_rate_s:
            raise LocatedValueError(("window_s",), f"{self.window_s} s holds fewer than two data updates of "
                                                   f"{self.update_rate_s:g} s: no scatter could be stated")
        if self.settling.hold_s < 2 * self.update_rate_s:
            raise LocatedValueError(("settling", "hold_s"), f"{self.settling.hold_s:g} s holds fewer than two "
                                    f"data updates of {self.update_rate_s:g} s")
        return self


class WarmupParams(Strict):
    direction: Direction = "charge"
    dc_voltage_v: float = Field(gt=0)
    load_percent: float = Field(100.0, gt=0, le=100, description="Share of the rated power (at most all of it).")
    duration_s: float = Field(gt=0, description="How long it runs there before the drift is watched.")
    drift_window_s: float = Field(gt=0, description="Then the input power is watched this long.")


class WarmupLimits(Strict):
    input_drift_percent: BoundedLimit


class WarmupCase(SuiteCase):
    """Warm-up at (usually) full load, then the input power's drift over a window (the EPS rule: no more than 5 %
    from its maximum over 5 minutes, after 30 minutes at full load)."""

    procedure: Literal["warmup"]
    params: WarmupParams
    limits: WarmupLimits

    def setting_record(self) -> dict[str, float | str]:
        p = self.params
        return {"direction": p.direction, "dc_voltage_v": p.dc_voltage_v, "load_percent": p.load_percent,
                "duration_s": p.duration_s}

    def setpoint_changes(self, plan: SuitePlan) -> list[SetpointChange]:
        assert isinstance(plan, Plan)
        return plan.dc_setpoints(self.params.direction, [self.params.dc_voltage_v], [self.params.load_percent])


class CurveParams(Strict):
    direction: Direction
    dc_voltages_v: list[Annotated[float, Field(gt=0)]] = Field(min_length=1, description=(
        "The battery voltages (minimum, nominal, maximum): one session at each, every load point in it."))
    load_points_percent: list[Annotated[float, Field(gt=0, le=100)]] = Field(min_length=1, description=(
        "Shares of the rated power, in the order measured; none above the rating."))
    weightings: list[Weighting] = Field(default_factory=lambda: list(get_args(Weighting)))

    @model_validator(mode="after")
    def _weighted_points_present(self) -> CurveParams:
        points = {round(p, 9) for p in self.load_points_percent}
        if len(points) != len(self.load_points_percent):
            raise LocatedValueError(("load_points_percent",), "a load point is listed twice")
        for index, name in enumerate(self.weightings):
            missing = [p for p in WEIGHTINGS[name] if float(p) not in points]
            if missing:
                raise LocatedValueError(("weightings", index), f"the {name} weighting needs the load points "
                                        f"{', '.join(f'{p} %' for p in missing)}")
        return self


class CurveLimits(Strict):
    rated_margin_pp: BoundedLimit | None = None
    european_margin_pp: BoundedLimit | None = None
    efficiency_max_percent: BoundedLimit | None = None
    integration_disagreement: BoundedLimit | None = None


class CurveCase(SuiteCase):
    """One direction: at each battery voltage a session, every load point in it (settled, then AC and DC averaged
    over the same window and integrated); judged against the declaration at its voltage."""

    procedure: Literal["curve"]
    params: CurveParams
    limits: CurveLimits

    def setting_record(self) -> dict[str, float | str]:
        p = self.params
        return {"direction": p.direction, "dc_voltages_v": ", ".join(f"{v:g}" for v in p.dc_voltages_v),
                "load_points_percent": ", ".join(f"{v:g}" for v in p.load_points_percent)}

    def setpoint_changes(self, plan: SuitePlan) -> list[SetpointChange]:
        assert isinstance(plan, Plan)
        return plan.dc_setpoints(self.params.direction, self.params.dc_voltages_v, self.params.load_points_percent)


class StillParams(Strict):
    window_s: float = Field(gt=0, description="The AC input is averaged over this long once stable.")
    drift_limit_w: float = Field(gt=0, description="[?] stable: the mean of the window's last third within this of "
                                                   "its first third's (IEC 62301's stability idea, its figures "
                                                   "unconfirmed).")
    attempts: int = Field(4, ge=2, le=10, description="Windows tried before it is declared never stable (one "
                          "to see it stable on the largest ranges, one on the ranges it needs, and spares).")


class StillLimits(Strict):
    excess_w: BoundedLimit


class StillCase(SuiteCase):
    """Standby (nothing plugged) or idle-connected (a vehicle plugged, nothing transferred): its AC input over a
    stability window, against what it declares; its export limited to 0 through its own control."""

    procedure: Literal["standby", "idle_connected"]
    params: StillParams
    limits: StillLimits

    def setting_record(self) -> dict[str, float | str]:
        return {"window_s": self.params.window_s}

    def setpoint_changes(self, plan: SuitePlan) -> list[SetpointChange]:
        return []


EfficiencyCase = Annotated[WarmupCase | CurveCase | StillCase, Field(discriminator="procedure")]


class Plan(SuitePlan):
    """An efficiency plan file."""

    suite: Literal["efficiency"]
    grid: GridSupply
    vehicle: str = Field(description="The vehicle profile that commands the points (relative to the plan).")
    rated_power_w: float = Field(gt=0, description="The charger's rated power (output side) the load points are "
                                                   "shares of: the DUT must declare the same.")
    measurement: Measurement
    cases: list[EfficiencyCase] = Field(min_length=1)  # type: ignore[assignment]
    _profile: VehicleProfile | None = PrivateAttr(None)

    def setpoints(self) -> list[SetpointChange]:
        return [SetpointChange("ac_voltage_v", self.grid.voltage_v, self.grid.voltage_v, "level", what="supply voltage"),
                SetpointChange("ac_frequency_hz", self.grid.frequency_hz, self.grid.frequency_hz, "level",
                               what="supply frequency")]

    def dc_setpoints(self, direction: Direction, voltages: list[float], points: list[float]) -> list[SetpointChange]:
        """The battery emulator's held voltages and the largest current of the points at each (the output power
        over the voltage; discharging, the input: output over the efficiency floor)."""
        changes = []
        for volts in voltages:
            output = max(points) / 100.0 * self.rated_power_w
            dc_power = output if direction == "charge" else output / self.measurement.efficiency_floor
            current = dc_power / volts
            changes += [SetpointChange("dc_voltage_v", volts, volts, "level", what="held battery voltage"),
                        SetpointChange("dc_current_a", current, current, "level",
                                       what=f"{direction} current at {max(points):g} % and {volts:g} V")]
        return changes

    def bind(self, document: YamlDocument) -> None:
        path = (document.path.parent / self.vehicle).resolve()
        if not path.is_file():
            raise InputFileError(document.path, document.line_of(("vehicle",)), "vehicle",
                                 f"no such vehicle profile: {self.vehicle}")
        self._profile = load_vehicle_profile(path)
        for index, case in enumerate(self.cases):
            if isinstance(case, CurveCase | WarmupCase) and not self._profile.discharge_compatible \
                    and case.params.direction == "discharge":
                raise InputFileError(document.path, document.line_of(("cases", index, "params", "direction")),
                                     f"cases[{index}].params.direction",
                                     f"vehicle {self._profile.vehicle!r} is not discharge compatible (V2H)")
            voltages = case.params.dc_voltages_v if isinstance(case, CurveCase) else \
                [case.params.dc_voltage_v] if isinstance(case, WarmupCase) else []
            battery = self._profile.battery
            for v_index, volts in enumerate(voltages):
                if not battery.min_voltage_v <= volts < battery.target_voltage_v:
                    field = ("cases", index, "params", *(("dc_voltages_v", v_index) if isinstance(case, CurveCase)
                                                         else ("dc_voltage_v",)))
                    raise InputFileError(document.path, document.line_of(field), ".".join(map(str, field)),
                                         f"{volts:g} V is outside what vehicle {self._profile.vehicle!r} can hold "
                                         f"and still ask to be charged ({battery.min_voltage_v:g} V up to its "
                                         f"target {battery.target_voltage_v:g} V)")

    @property
    def vehicle_profile(self) -> VehicleProfile:
        assert self._profile is not None, "bind() loads the vehicle profile"
        return self._profile

    @property
    def vehicle_file(self) -> Path:
        return Path(self.vehicle)
