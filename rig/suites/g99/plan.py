"""The G99 interface protection plan: nominal grid, readiness, and trip-value, trip-time and no-trip cases.

Every G99 number lives in the plan, none in code, so another issue of the
code (or EN 50549, IEEE 1547.1) is another plan file with the same cases.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from rig.suite import BoundedLimit, SetpointChange, Strict, SuiteCase, SuitePlan
from rig.yaml_source import LocatedValueError

Quantity = Literal["voltage", "frequency"]
UNITS = {"voltage": "V", "frequency": "Hz"}
ENVELOPE_QUANTITY = {"voltage": "ac_voltage_v", "frequency": "ac_frequency_hz"}


class GridNominal(Strict):
    voltage_v: float = Field(gt=0)
    frequency_hz: float = Field(gt=0)


class Precondition(Strict):
    """Every case starts with the DUT connected and exporting at the nominal grid.

    Exporting means both: rms current at or above ``exporting_above_a`` and
    active power flowing *into* the grid (a charging charger draws current
    too). How long the rig waits for it follows the reconnection time the
    plan declares (the DUT must reconnect that long after the grid is back
    to normal), plus a margin; a DUT that does not is one finding, and the
    run does not go on energising the bench for the cases after it.
    """

    power: Literal["export"] = Field("export", description="The direction of power every case needs.")
    exporting_above_a: float = Field(gt=0, description="Rms current that counts as exporting.")
    reconnection_s: float = Field(ge=0, description="The declared reconnection time (the setting the DUT must meet).")
    reconnection_margin_s: float = Field(10.0, ge=0, description="Allowance beyond it (start-up, measurement).")
    poll_s: float = Field(0.5, gt=0)
    settle_s: float = Field(1.0, ge=0, description="Exporting this long at nominal before any disturbance.")

    @property
    def connect_timeout_s(self) -> float:
        return self.reconnection_s + self.reconnection_margin_s


class ProtectionSetting(Strict):
    """The stage a case judges, as declared by the manufacturer / required by the code."""

    stage: str
    threshold: float
    delay_s: float = Field(ge=0)


class CaptureParams(Strict):
    pre_s: float = Field(ge=0.1, description="Pre-trigger window recorded before the disturbance; the noise floor "
                                             "is measured on it, so at least 0.1 s (five cycles at 50 Hz).")
    post_s: float = Field(gt=0, description="Recorded after the disturbance starts.")
    sample_rate_hz: float = Field(ge=5000.0, description="Digitizer rate; at least 5 kS/s.")
    threshold_a: float = Field(gt=0, description="One-cycle rms below this counts as not exporting.")


class TripValueParams(Strict):
    start: float
    stop: float
    step: float = Field(gt=0, description="Coarse search: size of each step towards and past the setting.")
    fine_step: float = Field(gt=0, description="Fine search between the last coarse level that held and the first "
                                               "that tripped: the resolution of the trip value.")
    dwell_s: float = Field(gt=0, description="Hold at each level; longer than the stage delay.")
    recover_s: float = Field(0.0, ge=0, description="Back at nominal between levels (0: a continuous staircase).")
    threshold_a: float = Field(gt=0)

    @property
    def direction(self) -> float:
        return 1.0 if self.stop >= self.start else -1.0

    def levels(self) -> list[float]:
        """The coarse staircase, ``start`` to ``stop``."""
        count = int(round(abs(self.stop - self.start) / self.step)) + 1
        return [round(self.start + self.direction * k * self.step, 6) for k in range(count)]

    def fine_levels(self, held: float, tripped: float) -> list[float]:
        """The fine staircase after ``held`` up to and including ``tripped``."""
        count = int(math.ceil(abs(tripped - held) / self.fine_step - 1e-9))
        levels = [round(held + self.direction * k * self.fine_step, 6) for k in range(1, count)]
        return levels + [tripped]




class DisturbanceParams(CaptureParams):
    level: float = Field(description="The grid steps from nominal to this level at t = 0.")
    hold_s: float = Field(gt=0, description="How long the level is held before returning to nominal.")

    def levels(self) -> list[float]:
        return [self.level]

    @model_validator(mode="after")
    def _capture_covers_the_hold(self) -> "DisturbanceParams":
        if self.post_s < self.hold_s:
            raise LocatedValueError(("post_s",), f"the capture must cover the hold: post_s >= hold_s ({self.hold_s:g} s)")
        return self


class TripTimeParams(DisturbanceParams):
    """Step beyond the setting; the capture times the disconnection."""


class NoTripParams(DisturbanceParams):
    """Hold a level the protection must tolerate; the capture shows continuous export."""


class TripValueLimits(Strict):
    trip_value: BoundedLimit


class TripTimeLimits(Strict):
    trip_time_s: BoundedLimit


class NoTripLimits(Strict):
    min_current_a: BoundedLimit


class CaseBase(SuiteCase):
    """A protection case: the grid quantity it disturbs and the stage setting it judges."""

    quantity: Quantity
    setting: ProtectionSetting

    @property
    def unit(self) -> str:
        return UNITS[self.quantity]

    def nominal(self, plan: SuitePlan) -> float:
        """The nominal value of the case's quantity."""
        assert isinstance(plan, Plan)
        return plan.grid.voltage_v if self.quantity == "voltage" else plan.grid.frequency_hz

    def setting_record(self) -> dict[str, float | str]:
        """The judged setting, its threshold named with its unit (``threshold_v`` / ``threshold_hz``)."""
        unit = "v" if self.quantity == "voltage" else "hz"
        return {"stage": self.setting.stage, f"threshold_{unit}": self.setting.threshold,
                "delay_s": self.setting.delay_s}

    def _envelope_quantity(self) -> str:
        return ENVELOPE_QUANTITY[self.quantity]


class TripValueCase(CaseBase):
    procedure: Literal["trip_value"]
    params: TripValueParams
    limits: TripValueLimits

    @model_validator(mode="after")
    def _resolution_fits_the_limit(self) -> "TripValueCase":
        """The fine step may be at most a tenth of the acceptance half-band, or the value cannot be judged."""
        limit = self.limits.trip_value
        if limit.min is not None and limit.max is not None:
            allowed = (limit.max - limit.min) / 2.0 / 10.0
            if self.params.fine_step > allowed + 1e-12:
                raise LocatedValueError(("params", "fine_step"),
                                        f"{self.params.fine_step:g} is coarser than a tenth of the acceptance "
                                        f"half-band ({allowed:g} {self.unit})")
        if self.params.fine_step > self.params.step:
            raise LocatedValueError(("params", "fine_step"), "the fine step must not be larger than the coarse step")
        return self

    def setpoint_changes(self, plan: SuitePlan) -> list[SetpointChange]:
        """Fixed-mode setpoints: the coarse staircase, then the fine one from any level that held (back at
        nominal between levels when ``recover_s``, and after a trip), then nominal."""
        q, nominal = self._envelope_quantity(), self.nominal(plan)
        p = self.params
        back = []  # a DUT that trips at the first level is bracketed by stepping back towards nominal
        level = round(p.start - p.direction * p.step, 6)
        while (level - nominal) * p.direction > 0:
            back.append(level)
            level = round(level - p.direction * p.step, 6)
        extended = back[::-1] + p.levels()
        fine = [f for a, b in zip(extended, extended[1:]) for f in p.fine_levels(a, b)]
        levels = sorted(set(extended + fine))
        changes = [SetpointChange(q, nominal, level, "fixed") for level in levels]
        changes += [SetpointChange(q, level, nominal, "fixed") for level in levels]
        changes += [SetpointChange(q, a, b, "fixed") for a, b in zip(levels, levels[1:])]
        return changes


class TripTimeCase(CaseBase):
    procedure: Literal["trip_time"]
    params: TripTimeParams
    limits: TripTimeLimits

    def setpoint_changes(self, plan: SuitePlan) -> list[SetpointChange]:
        return _disturbance_changes(self, plan)


class NoTripCase(CaseBase):
    procedure: Literal["no_trip"]
    params: NoTripParams
    limits: NoTripLimits

    def setpoint_changes(self, plan: SuitePlan) -> list[SetpointChange]:
        return _disturbance_changes(self, plan)


def _disturbance_changes(case: TripTimeCase | NoTripCase, plan: SuitePlan) -> list[SetpointChange]:
    """A list-mode step from nominal to the level and, after the hold, a step back."""
    q, nominal, level = case._envelope_quantity(), case.nominal(plan), case.params.level
    return [SetpointChange(q, nominal, level, "step"), SetpointChange(q, level, nominal, "step")]


AnyCase = Union[TripValueCase, TripTimeCase, NoTripCase]
Case = Annotated[AnyCase, Field(discriminator="procedure")]


class Plan(SuitePlan):
    """A G99 protection plan file."""

    suite: Literal["g99.protection"]
    grid: GridNominal
    precondition: Precondition
    cases: list[Case] = Field(min_length=1)

    def setpoints(self) -> list[SetpointChange]:
        return [SetpointChange("ac_voltage_v", self.grid.voltage_v, self.grid.voltage_v, "level", what="nominal voltage"),
                SetpointChange("ac_frequency_hz", self.grid.frequency_hz, self.grid.frequency_hz, "level",
                               what="nominal frequency")]


