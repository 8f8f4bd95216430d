"""Test plans: what to test, as data validated once, each case with its source line.

A plan file is one suite: the grid's nominal point, the precondition every
case starts from, and cases. Each case names its procedure, the clause it
evidences, the protection setting it judges, the procedure's parameters and
its acceptance limits. Every G99 number lives in the plan, none in code, so
another issue of the code (or EN 50549, IEEE 1547.1) is another plan.

A campaign file lists suite plans (paths relative to the campaign file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rig.errors import InputFileError
from rig.results import Limit
from rig.yaml_source import LocatedValueError, load_document, validate

Quantity = Literal["voltage", "frequency"]
UNITS = {"voltage": "V", "frequency": "Hz"}
ENVELOPE_QUANTITY = {"voltage": "ac_voltage_v", "frequency": "ac_frequency_hz"}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BoundedLimit(Limit):
    """A limit in a plan must bound something."""

    @model_validator(mode="after")
    def _has_a_bound(self) -> "BoundedLimit":
        if self.min is None and self.max is None:
            raise ValueError("a limit needs min, max or both")
        return self


class GridNominal(Strict):
    voltage_v: float = Field(gt=0)
    frequency_hz: float = Field(gt=0)


class Precondition(Strict):
    """Every case starts with the DUT connected and exporting at the nominal grid."""

    exporting_above_a: float = Field(gt=0, description="Rms current that counts as exporting.")
    connect_timeout_s: float = Field(gt=0, description="How long the DUT may take to (re)connect.")
    poll_s: float = Field(0.5, gt=0)
    settle_s: float = Field(1.0, ge=0, description="Exporting this long at nominal before any disturbance.")


class ProtectionSetting(Strict):
    """The stage a case judges, as declared by the manufacturer / required by the code."""

    stage: str
    threshold: float
    delay_s: float = Field(ge=0)


class CaptureParams(Strict):
    pre_s: float = Field(gt=0, description="Pre-trigger window recorded before the disturbance.")
    post_s: float = Field(gt=0, description="Recorded after the disturbance starts.")
    sample_rate_hz: float = Field(ge=5000.0, description="Digitizer rate; at least 5 kS/s.")
    threshold_a: float = Field(gt=0, description="One-cycle rms below this counts as not exporting.")


class TripValueParams(Strict):
    start: float
    stop: float
    step: float = Field(gt=0, description="Size of each step towards and past the setting.")
    dwell_s: float = Field(gt=0, description="Hold at each level; longer than the stage delay.")
    recover_s: float = Field(0.0, ge=0, description="Back at nominal between levels (0: a continuous staircase).")
    threshold_a: float = Field(gt=0)

    def levels(self) -> list[float]:
        direction = 1.0 if self.stop >= self.start else -1.0
        count = int(round(abs(self.stop - self.start) / self.step)) + 1
        return [round(self.start + direction * k * self.step, 6) for k in range(count)]


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


class TripValueCase(CaseBase):
    procedure: Literal["trip_value"]
    params: TripValueParams
    limits: TripValueLimits


class TripTimeCase(CaseBase):
    procedure: Literal["trip_time"]
    params: TripTimeParams
    limits: TripTimeLimits


class NoTripCase(CaseBase):
    procedure: Literal["no_trip"]
    params: NoTripParams
    limits: NoTripLimits


AnyCase = Union[TripValueCase, TripTimeCase, NoTripCase]
Case = Annotated[AnyCase, Field(discriminator="procedure")]


class Plan(Strict):
    suite: str
    title: str
    standard: str = ""
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
    source: str  # "file:line"
    plan_file: Path


def load_plan(path: Path) -> list[LoadedCase]:
    document = load_document(path)
    plan = validate(document, Plan)
    return [LoadedCase(plan, case, f"{path}:{document.line_of(('cases', i))}", Path(path))
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


def expand_plan_paths(paths: list[Path]) -> list[Path]:
    """Plan files from the command line: files, campaigns (their suites) and directories (their *.yaml)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(expand_plan_paths(sorted(path.rglob("*.yaml"))))
        elif not path.exists():
            raise InputFileError(path, None, None, "no such plan file or directory")
        elif is_campaign(path):
            out.extend(load_campaign(path))
        else:
            out.append(path.resolve())
    unique: list[Path] = []
    for p in out:
        if p not in unique:
            unique.append(p)
    return unique


def load_cases(paths: list[Path]) -> list[LoadedCase]:
    cases: list[LoadedCase] = []
    for path in expand_plan_paths(paths):
        cases.extend(load_plan(path))
    seen: dict[str, str] = {}
    for loaded in cases:
        if loaded.case.id in seen:
            file, _, line = loaded.source.rpartition(":")
            raise InputFileError(file, int(line) if line.isdigit() else None, "id",
                                 f"case id {loaded.case.id!r} is also used at {seen[loaded.case.id]}")
        seen[loaded.case.id] = loaded.source
    return cases
