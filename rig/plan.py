"""Test plans: what to test, as data validated once, each case with its source line.

A plan file is one suite: the grid's nominal point, the precondition every
case starts from, and cases. Each case names its procedure, the clause it
evidences, the protection setting it judges, the procedure's parameters and
its acceptance limits. Every G99 number lives in the plan, none in code, so
another issue of the code (or EN 50549, IEEE 1547.1) is another plan.

A campaign file lists suite plans (paths relative to the campaign file).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rig.decision import DecisionRule
from rig.errors import InputFileError, RigInputError
from rig.results import Limit
from rig.yaml_source import LocatedValueError, load_document, validate

Quantity = Literal["voltage", "frequency"]
UNITS = {"voltage": "V", "frequency": "Hz"}
ENVELOPE_QUANTITY = {"voltage": "ac_voltage_v", "frequency": "ac_frequency_hz"}


@dataclass(frozen=True)
class SetpointChange:
    """One change a case will command, checked against the bench envelope before anything opens.

    ``how`` is ``step`` (instantaneous, e.g. inside a list program), ``ramp``
    (over ``duration_s``) or ``fixed`` (a fixed-mode setpoint, which the source
    slews at the envelope's slew limit when the bench sets one, else steps).
    """

    quantity: str
    old: float
    new: float
    how: Literal["step", "ramp", "fixed"]
    duration_s: float = 0.0


class Strict(BaseModel):
    """Plan records: unknown keys and non-finite numbers (``.inf``, ``.nan``) are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class BoundedLimit(Limit):
    """A limit in a plan must bound something, with finite bounds in order."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="after")
    def _has_a_bound(self) -> "BoundedLimit":
        if self.min is None and self.max is None:
            raise ValueError("a limit needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is greater than max {self.max:g}: no value could pass")
        return self


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


class CaseBase(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    clause: str
    quantity: Quantity
    setting: ProtectionSetting
    description: str = ""

    @property
    def unit(self) -> str:
        return UNITS[self.quantity]

    def grid_levels(self) -> list[float]:
        """Every level of ``quantity`` the case will command (checked against the envelope up front)."""
        return self.params.levels()  # type: ignore[attr-defined]  # every case's params define levels()

    def setpoint_changes(self, nominal: float) -> list[SetpointChange]:
        """Every change of the grid quantity the case will command, in order, from and back to ``nominal``."""
        raise NotImplementedError


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

    def setpoint_changes(self, nominal: float) -> list[SetpointChange]:
        """Fixed-mode setpoints: the coarse staircase, then the fine one from any level that held (back at
        nominal between levels when ``recover_s``, and after a trip), then nominal."""
        q = ENVELOPE_QUANTITY[self.quantity]
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

    def setpoint_changes(self, nominal: float) -> list[SetpointChange]:
        """A list-mode step from nominal to the level and, after the hold, a step back."""
        q = ENVELOPE_QUANTITY[self.quantity]
        return [SetpointChange(q, nominal, self.params.level, "step"), SetpointChange(q, self.params.level, nominal, "step")]


class NoTripCase(CaseBase):
    procedure: Literal["no_trip"]
    params: NoTripParams
    limits: NoTripLimits

    def setpoint_changes(self, nominal: float) -> list[SetpointChange]:
        q = ENVELOPE_QUANTITY[self.quantity]
        return [SetpointChange(q, nominal, self.params.level, "step"), SetpointChange(q, self.params.level, nominal, "step")]


AnyCase = Union[TripValueCase, TripTimeCase, NoTripCase]
Case = Annotated[AnyCase, Field(discriminator="procedure")]


class Plan(Strict):
    suite: str
    title: str
    standard: str = ""
    decision_rule: DecisionRule
    grid: GridNominal
    precondition: Precondition
    cases: list[Case] = Field(min_length=1)

    @field_validator("cases")
    @classmethod
    def _unique_ids(cls, cases: list[AnyCase]) -> list[AnyCase]:
        seen: set[str] = set()
        for index, case in enumerate(cases):
            if case.id in seen:
                raise LocatedValueError((index, "id"), f"duplicate case id {case.id!r}")
            seen.add(case.id)
        return cases


class Campaign(Strict):
    campaign: str
    title: str = ""
    suites: list[str] = Field(min_length=1)


@dataclass(frozen=True)
class LoadedCase:
    """A case with the plan it belongs to and where it was written."""

    plan: Plan
    case: AnyCase
    plan_file: Path
    line: int | None

    @property
    def source(self) -> str:
        """``file:line`` as the user named the file (for messages; evidence uses its own copy)."""
        return f"{self.plan_file}:{self.line}"


def load_plan(path: Path) -> list[LoadedCase]:
    document = load_document(path)
    plan = validate(document, Plan)
    return [LoadedCase(plan, case, Path(path), document.line_of(("cases", i)))
            for i, case in enumerate(plan.cases)]


def is_campaign(path: Path) -> bool:
    return "campaign" in load_document(path).data


def load_campaign(path: Path) -> list[Path]:
    document = load_document(path)
    campaign = validate(document, Campaign)
    suites = []
    for index, entry in enumerate(campaign.suites):
        suite = (path.parent / entry).resolve()
        if not suite.is_file():
            raise InputFileError(path, document.line_of(("suites", index)), f"suites[{index}]",
                                 f"no such plan file: {entry}")
        suites.append(suite)
    return suites


@dataclass(frozen=True)
class PlanFiles:
    """What the command line named, resolved: the plan files to run and the campaign files that listed them."""

    plans: list[Path]
    campaigns: list[Path]

    @property
    def all(self) -> list[Path]:
        """Every file read, campaigns first: what the evidence keeps a copy of."""
        return self.campaigns + self.plans


def _unique(paths: list[Path]) -> list[Path]:
    return list(dict.fromkeys(paths))


def collect_plan_files(paths: list[Path]) -> PlanFiles:
    """Plan files from the command line: files, campaigns (their suites) and directories (their *.yaml).

    A directory without any plan, or a command line that names none, is an
    input error: a run of nothing must not look like a run that passed.
    """
    plans: list[Path] = []
    campaigns: list[Path] = []
    if not paths:
        raise RigInputError("no plan given: name a plan file, a campaign file or a directory of plans")
    for path in paths:
        if path.is_dir():
            found = sorted(path.rglob("*.yaml")) + sorted(path.rglob("*.yml"))
            if not found:
                raise InputFileError(path, None, None, "this directory holds no plan files (*.yaml)")
            inner = collect_plan_files(found)
            plans.extend(inner.plans)
            campaigns.extend(inner.campaigns)
        elif not path.exists():
            raise InputFileError(path, None, None, "no such plan file or directory")
        elif is_campaign(path):
            campaigns.append(path.resolve())
            plans.extend(load_campaign(path))
        else:
            plans.append(path.resolve())
    return PlanFiles(_unique(plans), _unique(campaigns))


def expand_plan_paths(paths: list[Path]) -> list[Path]:
    """The plan files to run, in order, each once."""
    return collect_plan_files(paths).plans


def load_cases(paths: list[Path]) -> list[LoadedCase]:
    cases: list[LoadedCase] = []
    for path in expand_plan_paths(paths):
        cases.extend(load_plan(path))
    seen: dict[str, str] = {}
    for loaded in cases:
        if loaded.case.id in seen:
            raise InputFileError(loaded.plan_file, loaded.line, "id",
                                 f"case id {loaded.case.id!r} is also used at {seen[loaded.case.id]}")
        seen[loaded.case.id] = loaded.source
    return cases
