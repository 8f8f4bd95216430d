"""The G99 interface protection plan: nominal grid, readiness, and trip-value, trip-time and no-trip cases.

Every G99 number lives in the plan, none in code, so another issue of the
code (or EN 50549, IEEE 1547.1) is another plan file with the same cases.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, NamedTuple, Union

from pydantic import Field, model_validator

from rig.core.results import Limit
from rig.suites.platform import (REACTION_RULE, TIME_RESOLUTION_S, BoundedLimit, SetpointChange, Strict, SuiteCase, SuitePlan,
                       require_lasting)
from rig.config.yaml_source import LocatedValueError
from rig.suites.grid_code.nominal_plan import GridPlan

Quantity = Literal["voltage", "frequency", "rocof", "vector_shift"]
UNITS = {"voltage": "V", "frequency": "Hz", "rocof": "Hz/s", "vector_shift": "deg"}
GRID_QUANTITY = {"voltage": "voltage", "frequency": "frequency", "rocof": "frequency", "vector_shift": "frequency"}
"""The grid quantity a case drives: a RoCoF stage is tested by ramping the frequency, a vector shift by a phase
jump at an off-nominal frequency."""
ENVELOPE_QUANTITY = {"voltage": "ac_voltage_v", "frequency": "ac_frequency_hz", "rocof": "ac_frequency_hz",
                     "vector_shift": "ac_frequency_hz"}
SETTING_UNIT = {"voltage": "v", "frequency": "hz", "rocof": "hz_per_s", "vector_shift": "deg"}


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




class Ramp(Strict):
    """One leg of a ramp program: from where the last leg ended, ramp to ``to`` at ``rate_per_s``, then hold.
    A leg that starts where it ends is a hold only (its rate unused)."""

    to: float
    rate_per_s: float = Field(gt=0, description="Magnitude of the slope (V/s or Hz/s).")
    hold_s: float = Field(0.0, ge=0, description="Held at ``to`` after the ramp.")
    phase_jump_deg: float = Field(0.0, ge=-360.0, le=360.0,
                                  description="The voltage's phase jumps by this at the start of the leg (a vector "
                                              "shift; positive advances it).")


class Leg(NamedTuple):
    """One piece of a list program: ``duration`` from ``start`` to ``end``, the phase jumping at its start."""

    duration: float
    start: float
    end: float
    phase_jump_deg: float = 0.0


class PlacedLeg(NamedTuple):
    """A piece of the program where it falls: its start from the trigger, and the plan field (below the
    params) that sets it, for an error about it to name."""

    start_s: float
    leg: Leg
    field: tuple[str | int, ...]


class DisturbanceParams(CaptureParams):
    """What the grid simulator does from its trigger (t = 0): a step to ``level`` held ``hold_s``, or a
    ``ramps`` program from nominal (RoCoF), then back to nominal. A trip is timed from the start of the
    ``timed_from`` leg (0: the trigger)."""

    level: float | None = Field(None, description="The grid steps from nominal to this level at t = 0.")
    hold_s: float | None = Field(None, gt=0, description="How long the level is held before returning to nominal.")
    ramps: list[Ramp] | None = Field(None, min_length=1, description="Ramp legs from nominal, in order.")
    timed_from: int = Field(0, ge=0, description="The ramp leg whose start is the trip time's origin.")

    @model_validator(mode="after")
    def _a_step_or_ramps(self) -> "DisturbanceParams":
        if self.ramps is None:
            if self.level is None or self.hold_s is None:
                raise LocatedValueError(("level",), "a disturbance is a step (level and hold_s) or ramps")
            if self.timed_from:
                raise LocatedValueError(("timed_from",), "only a ramp program has legs to time from")
        else:
            if self.level is not None or self.hold_s is not None:
                raise LocatedValueError(("ramps",), "a disturbance is a step (level and hold_s) or ramps, not both")
            if self.timed_from >= len(self.ramps):
                raise LocatedValueError(("timed_from",), f"there are {len(self.ramps)} ramp legs (0 to "
                                                         f"{len(self.ramps) - 1})")
        if self.ramps is None and self.hold_s is not None and self.post_s < self.hold_s:
            raise LocatedValueError(("post_s",), f"the capture must cover the hold: post_s >= hold_s ({self.hold_s:g} s)")
        return self

    @model_validator(mode="after")
    def _every_leg_lasts(self) -> "DisturbanceParams":
        for index, ramp in enumerate(self.ramps or []):
            at = None if index == 0 else self.ramps[index - 1].to  # type: ignore[index]
            if ramp.hold_s == 0.0 and at is not None and ramp.to == at:
                raise LocatedValueError(("ramps", index, "hold_s"), "a leg that starts where it ends must hold")
        return self

    def placed_legs(self, nominal: float) -> list[PlacedLeg]:
        """Each piece from nominal, where it starts and the field that sets it: the step's hold, or each ramp
        and its hold (a phase jump at its leg's first piece)."""
        if self.ramps is None:
            assert self.level is not None and self.hold_s is not None
            return [PlacedLeg(0.0, Leg(self.hold_s, self.level, self.level), ("hold_s",))]
        placed: list[PlacedLeg] = []
        at, start = nominal, 0.0
        for index, ramp in enumerate(self.ramps):
            jump = ramp.phase_jump_deg
            pieces = []
            if ramp.to != at:
                pieces.append((Leg(abs(ramp.to - at) / ramp.rate_per_s, at, ramp.to, jump), "to"))
                jump = 0.0
            if ramp.hold_s > 0:
                pieces.append((Leg(ramp.hold_s, ramp.to, ramp.to, jump), "hold_s"))
            for leg, name in pieces:
                placed.append(PlacedLeg(start, leg, ("ramps", index, name)))
                start += leg.duration
            at = ramp.to
        return placed

    def legs(self, nominal: float) -> list[Leg]:
        """Each piece, from nominal, in order."""
        return [placed.leg for placed in self.placed_legs(nominal)]

    def duration_s(self, nominal: float) -> float:
        """How long the disturbance lasts, from ``nominal``."""
        return sum(leg.duration for leg in self.legs(nominal))

    def origin_s(self, nominal: float) -> float:
        """When the timed leg starts, from the trigger (every leg has a piece: one that starts where it ends
        holds)."""
        if self.ramps is None:
            return 0.0
        return next(p.start_s for p in self.placed_legs(nominal) if p.field[:2] == ("ramps", self.timed_from))


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
        return plan.grid.voltage_v if self.grid_quantity == "voltage" else plan.grid.frequency_hz

    def setting_record(self) -> dict[str, float | str]:
        """The judged setting, its threshold named with its unit (``threshold_v``, ``threshold_hz``,
        ``threshold_hz_per_s``)."""
        return {"stage": self.setting.stage, f"threshold_{SETTING_UNIT[self.quantity]}": self.setting.threshold,
                "delay_s": self.setting.delay_s}

    @property
    def grid_quantity(self) -> str:
        """The grid quantity the case drives (``voltage`` or ``frequency``)."""
        return GRID_QUANTITY[self.quantity]

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


class Stretch(NamedTuple):
    """A time span of the disturbance (from the trigger), and the field of the leg it ends in."""

    start_s: float
    end_s: float
    field: tuple[str | int, ...]


def beyond_setting(quantity: Quantity, threshold: float, nominal: float, leg: Leg) -> tuple[float, float] | None:
    """The part of ``leg`` (fractions of its duration) in which the stage sees its quantity beyond its setting, or
    None: a RoCoF stage the leg's slope (steeper than the threshold, in its sign), a voltage or frequency stage the
    level (past the threshold, on the far side from nominal; a ramp across it from the crossing). A phase jump is
    an instant, never held: None."""
    if quantity == "vector_shift":
        return None
    if quantity == "rocof":
        slope = (leg.end - leg.start) / leg.duration
        return (0.0, 1.0) if (slope - threshold) * math.copysign(1.0, threshold) > 0 else None
    side = 1.0 if threshold > nominal else -1.0
    past_start, past_end = (leg.start - threshold) * side, (leg.end - threshold) * side
    if past_start <= 0 and past_end <= 0:
        return None
    if past_start > 0 and past_end > 0:
        return (0.0, 1.0)
    crossing = past_start / (past_start - past_end)
    return (crossing, 1.0) if past_end > 0 else (0.0, crossing)


class TripTimeCase(CaseBase):
    procedure: Literal["trip_time"]
    params: TripTimeParams
    limits: TripTimeLimits

    def setpoint_changes(self, plan: SuitePlan) -> list[SetpointChange]:
        return _disturbance_changes(self, plan)

    def spans_beyond(self, nominal: float) -> list[Stretch]:
        """Each leg's span (from the trigger) in which the stage sees the disturbance beyond its setting, in order."""
        spans = []
        for placed in self.params.placed_legs(nominal):
            part = beyond_setting(self.quantity, self.setting.threshold, nominal, placed.leg)
            if part is not None:
                duration = placed.leg.duration
                spans.append(Stretch(placed.start_s + part[0] * duration, placed.start_s + part[1] * duration,
                                     placed.field))
        return spans

    def held_beyond(self, nominal: float) -> Stretch | None:
        """How long the disturbance keeps the stage beyond its setting: from the first instant at or after the
        trip time's origin at which it is, to the end of that unbroken stretch (None if it never is)."""
        origin, stretch = self.params.origin_s(nominal), None
        for span in self.spans_beyond(nominal):
            if span.end_s <= origin:
                continue
            if stretch is None:
                stretch = span._replace(start_s=max(span.start_s, origin))
            elif span.start_s <= stretch.end_s + TIME_RESOLUTION_S:
                stretch = stretch._replace(end_s=span.end_s, field=span.field)
            else:
                break
        return stretch

    def require_disturbance_lasts(self, nominal: float) -> None:
        """The rule every timed case keeps: beyond its setting from the trip time's origin (where the procedure
        times from) at least until the limit's max, and captured that long; a phase jump, an instant, is only
        captured. Locations are relative to the case."""
        allowed = self.limits.trip_time_s.max
        if allowed is None:
            return
        origin, p = self.params.origin_s(nominal), self.params
        if self.quantity != "vector_shift":
            stretch = self.held_beyond(nominal)
            if stretch is None or stretch.start_s >= origin + allowed - TIME_RESOLUTION_S:
                timed = ("level",) if p.ramps is None else ("ramps", p.timed_from)
                raise LocatedValueError(("params", *timed), f"the disturbance is never beyond the {self.setting.stage} "
                                                            f"setting ({self.setting.threshold:g} {self.unit}) within "
                                                            f"the {allowed:g} s the limit allows ({REACTION_RULE})")
            require_lasting(("params", *stretch.field), stretch.end_s - origin, allowed,
                            f"beyond the {self.setting.stage} setting ({self.setting.threshold:g} {self.unit}) from the "
                            "trip time's origin, the disturbance")
        require_lasting(("params", "post_s"), p.post_s - origin, allowed, "from the trip time's origin, the capture")


class NoTripCase(CaseBase):
    procedure: Literal["no_trip"]
    params: NoTripParams
    limits: NoTripLimits

    def setpoint_changes(self, plan: SuitePlan) -> list[SetpointChange]:
        return _disturbance_changes(self, plan)


def _disturbance_changes(case: TripTimeCase | NoTripCase, plan: SuitePlan) -> list[SetpointChange]:
    """The list program's pieces from nominal (a step, or ramps at their rates), and the step back."""
    q, nominal = case._envelope_quantity(), case.nominal(plan)
    changes, at = [], nominal
    for duration, start, end, _ in case.params.legs(nominal):
        if start != at:
            changes.append(SetpointChange(q, at, start, "step"))
        if end != start:
            changes.append(SetpointChange(q, start, end, "ramp", duration))
        at = end
    if at != nominal:
        changes.append(SetpointChange(q, at, nominal, "step"))
    return changes


class GridPoint(Strict):
    """A grid condition: the quantities given, the others at nominal."""

    voltage_v: float | None = Field(None, gt=0)
    frequency_hz: float | None = Field(None, gt=0)

    def values(self, plan: "Plan") -> tuple[float, float]:
        return (plan.grid.voltage_v if self.voltage_v is None else self.voltage_v,
                plan.grid.frequency_hz if self.frequency_hz is None else self.frequency_hz)


class ReconnectionSetting(Strict):
    """The declared reconnection rule the case judges."""

    delay_s: float = Field(ge=0, description="Voltage and frequency inside the window this long before it reconnects.")


class ReconnectionParams(CaptureParams):
    """Trip the DUT, optionally hold the grid just outside its reconnection window, then restore nominal (the
    digitizer's trigger) and time the reconnection on the captured current."""

    trip_at: GridPoint = Field(description="A grid condition beyond a protection setting, to trip the DUT.")
    trip_hold_s: float = Field(gt=0, description="Held long enough for that stage to operate.")
    outside: GridPoint | None = Field(None, description="Just outside the reconnection window: it must not reconnect.")
    outside_hold_s: float = Field(0.0, ge=0, description="How long; longer than the reconnection delay.")
    poll_s: float = Field(0.5, gt=0, description="How often the current is read while outside the window.")

    @model_validator(mode="after")
    def _outside_needs_a_hold(self) -> "ReconnectionParams":
        if (self.outside is None) != (self.outside_hold_s == 0.0):
            raise LocatedValueError(("outside_hold_s",), "an outside point needs an outside_hold_s, and only then")
        return self


class ReconnectionLimits(Strict):
    reconnection_time_s: BoundedLimit
    current_outside_a: BoundedLimit | None = None


class ReconnectionCase(SuiteCase):
    procedure: Literal["reconnection"]
    setting: ReconnectionSetting
    params: ReconnectionParams
    limits: ReconnectionLimits

    @model_validator(mode="after")
    def _consistent(self) -> "ReconnectionCase":
        allowed = self.limits.reconnection_time_s.max
        if allowed is not None and self.params.post_s <= allowed:
            raise LocatedValueError(("params", "post_s"), f"the capture must outlast the latest allowed reconnection "
                                                          f"({allowed:g} s)")
        if (self.params.outside is None) != (self.limits.current_outside_a is None):
            raise LocatedValueError(("limits",), "current_outside_a judges the hold outside the window: give both "
                                                 "params.outside and limits.current_outside_a, or neither")
        if self.params.outside is not None and self.params.outside_hold_s <= self.setting.delay_s:
            raise LocatedValueError(("params", "outside_hold_s"), f"must be longer than the reconnection delay "
                                                                  f"({self.setting.delay_s:g} s) to prove anything")
        return self

    def limit_map(self) -> dict[str, Limit]:
        return {name: Limit(**limit.model_dump()) for name, limit in dict(self.limits).items() if limit is not None}

    def setting_record(self) -> dict[str, float | str]:
        return {"reconnection_delay_s": self.setting.delay_s}

    def setpoint_changes(self, plan: SuitePlan) -> list[SetpointChange]:
        """Fixed-mode moves nominal -> trip point -> outside point, and the program's step back to nominal."""
        assert isinstance(plan, Plan)
        p = self.params
        path = [GridPoint().values(plan), p.trip_at.values(plan)]
        if p.outside is not None:
            path.append(p.outside.values(plan))
        changes = []
        for (v0, f0), (v1, f1) in zip(path, path[1:]):
            changes += [SetpointChange("ac_voltage_v", v0, v1, "fixed"), SetpointChange("ac_frequency_hz", f0, f1, "fixed")]
        (v, f), (vn, fn) = path[-1], path[0]
        changes += [SetpointChange("ac_voltage_v", v, vn, "step"), SetpointChange("ac_frequency_hz", f, fn, "step")]
        return changes


class OperatingRangeParams(Strict):
    """Hold a grid condition inside the range the DUT must ride through, reading it every ``poll_s``."""

    at: GridPoint
    hold_s: float = Field(gt=0)
    poll_s: float = Field(gt=0, description="Shorter than the reconnection delay, so no trip can hide between "
                                            "two readings (a tripped DUT stays off at least that long).")
    threshold_a: float = Field(gt=0, description="Below this the DUT counts as disconnected.")


class OperatingRangeLimits(Strict):
    min_current_a: BoundedLimit


class OperatingRangeCase(SuiteCase):
    procedure: Literal["operating_range"]
    params: OperatingRangeParams
    limits: OperatingRangeLimits

    def setting_record(self) -> dict[str, float | str]:
        point = self.params.at
        return {k: v for k, v in (("voltage_v", point.voltage_v), ("frequency_hz", point.frequency_hz),
                                  ("duration_s", self.params.hold_s)) if v is not None}

    def setpoint_changes(self, plan: SuitePlan) -> list[SetpointChange]:
        assert isinstance(plan, Plan)
        (vn, fn), (v, f) = GridPoint().values(plan), self.params.at.values(plan)
        return [SetpointChange("ac_voltage_v", vn, v, "fixed"), SetpointChange("ac_frequency_hz", fn, f, "fixed"),
                SetpointChange("ac_voltage_v", v, vn, "fixed"), SetpointChange("ac_frequency_hz", f, fn, "fixed")]


AnyCase = Union[TripValueCase, TripTimeCase, NoTripCase, ReconnectionCase, OperatingRangeCase]
Case = Annotated[AnyCase, Field(discriminator="procedure")]


class Plan(GridPlan):
    """A G99 protection plan file."""

    suite: Literal["g99.protection"]
    cases: list[Case] = Field(min_length=1)

    @model_validator(mode="after")
    def _holds_poll_faster_than_a_reconnection(self) -> "Plan":
        for index, case in enumerate(self.cases):
            if isinstance(case, OperatingRangeCase) and case.params.poll_s >= self.precondition.reconnection_s:
                raise LocatedValueError(("cases", index, "params", "poll_s"),
                                        f"must be shorter than the declared reconnection time "
                                        f"({self.precondition.reconnection_s:g} s), or a trip could go unseen")
        return self

    @model_validator(mode="after")
    def _disturbances_last_their_limits(self) -> "Plan":
        """A trip time's disturbance lasts its whole limit: checked here, where the nominal it starts from is known."""
        for index, case in enumerate(self.cases):
            if isinstance(case, TripTimeCase):
                try:
                    case.require_disturbance_lasts(case.nominal(self))
                except LocatedValueError as error:
                    raise LocatedValueError(("cases", index, *error.loc), str(error)) from None
        return self

    @model_validator(mode="after")
    def _captures_cover_their_ramps(self) -> "Plan":
        """A ramp program's length depends on the nominal it starts from: checked here, where both are known."""
        for index, case in enumerate(self.cases):
            if isinstance(case, (TripTimeCase, NoTripCase)) and case.params.ramps is not None:
                needed = case.params.duration_s(case.nominal(self))
                if case.params.post_s < needed:
                    raise LocatedValueError(("cases", index, "params", "post_s"),
                                            f"the capture must cover the ramp program: post_s >= {needed:g} s")
        return self



