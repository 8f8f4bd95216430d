"""The OCPP 1.6J Core plan: cases named as the OCA's test tool names them (TC_nnn_CS), each citing its edition.

Every number a case judges (the heartbeat interval the rig gives, how soon
after power-on the charger must boot, the tolerance on its intervals) is a
plan parameter: the test case document gives the sequence, the bench and
the charger's documentation the timings.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, PrivateAttr, model_validator

from rig.chademo.vehicle_profile import VehicleProfile, load_vehicle_profile
from rig.config.yaml_source import LocatedValueError, YamlDocument
from rig.core.errors import InputFileError
from rig.core.results import Limit
from rig.suites.ocpp.central_system import CentralSystem
from rig.suites.ocpp.script import CHECKS, Step, check_name
from rig.suites.grid_code.nominal_plan import GridNominal, nominal_levels
from rig.suites.platform import BoundedLimit, SetpointChange, Strict, SuiteCase, SuitePlan


class CaseBase(SuiteCase):
    """An OCPP case: the charger's supply at the nominal grid (the grid simulator's output switched only)."""

    title: str = Field(description="The test case document's title for this id.")
    edition: str = Field(description="The test case document (and edition) the case follows.")

    def setting_record(self) -> dict[str, float | str]:
        """The test case as the document names it: its title and the edition followed."""
        return {"title": self.title, "edition": self.edition}

    def setpoint_changes(self, plan: SuitePlan) -> list[SetpointChange]:
        assert isinstance(plan, Plan)
        return plan.nominal_held()


class ColdBootParams(Strict):
    off_s: float = Field(gt=0, description="The charger's supply is off this long before it is switched on.")
    heartbeat_interval_s: int = Field(gt=0, description="The interval the rig's BootNotification answer gives.")
    boot_within_s: float = Field(gt=0, description="The charger must send its BootNotification this soon after "
                                                   "its supply comes on.")
    observe_s: float = Field(gt=0, description="Observed from the accepted boot.")


class ColdBootLimits(Strict):
    boot_after_power_s: BoundedLimit
    heartbeat_gap_min_s: BoundedLimit = Field(description="Shortest gap between consecutive Heartbeats.")
    heartbeat_gap_max_s: BoundedLimit = Field(description="Longest gap (the first from the accepted boot).")
    connectors_available: BoundedLimit = Field(description="Connectors (0 = the charge point) reported Available.")
    schema_violations: BoundedLimit = Field(description="The charger's frames that break the OCA schema.")


class ColdBootCase(CaseBase):
    procedure: Literal["cold_boot"]
    params: ColdBootParams
    limits: ColdBootLimits

    @model_validator(mode="after")
    def _observed_long_enough_for_two_heartbeats(self) -> "ColdBootCase":
        if self.params.observe_s < 2 * self.params.heartbeat_interval_s:
            raise LocatedValueError(("params", "observe_s"), "must hold at least two heartbeat intervals "
                                                             f"({2 * self.params.heartbeat_interval_s} s)")
        return self


class BootPendingParams(Strict):
    off_s: float = Field(gt=0)
    answer: Literal["Pending", "Rejected"] = Field("Pending", description="What the rig answers first: Pending, "
                                                                          "or Rejected (the charger must still "
                                                                          "retry after the interval, 4.2).")
    pending_interval_s: int = Field(gt=0, description="The interval the rig's Pending answers give.")
    pending_answers: int = Field(ge=1, description="How many BootNotifications the rig answers Pending first.")
    heartbeat_interval_s: int = Field(gt=0, description="The interval of the final Accepted answer.")
    boot_within_s: float = Field(gt=0)
    observe_s: float = Field(gt=0, description="Observed from the supply coming on.")


class BootPendingLimits(Strict):
    retry_after_s: BoundedLimit = Field(description="From a Pending answer to the charger's next BootNotification.")
    calls_while_pending: BoundedLimit = Field(description="CALLs other than BootNotification while pending.")
    schema_violations: BoundedLimit


class BootPendingCase(CaseBase):
    procedure: Literal["boot_pending"]
    params: BootPendingParams
    limits: BootPendingLimits

    @model_validator(mode="after")
    def _observed_through_every_retry(self) -> "BootPendingCase":
        needed = self.params.boot_within_s + self.params.pending_answers * self.params.pending_interval_s
        if self.params.observe_s <= needed:
            raise LocatedValueError(("params", "observe_s"), f"must outlast the boot and every pending interval "
                                                             f"({needed:g} s)")
        return self


SCRIPT_LIMITS = ("schema_violations", "meter_error_percent", "meter_sample_error_percent", "current_while_available_a",
                 "schedule_deviation")
"""What a script case may limit besides its checks (each check is limited ``min: 1`` by itself)."""


class ScriptParams(Strict):
    steps: list[Step] = Field(min_length=1, description="The test case document's steps (rig.suites.ocpp.script).")
    judge_meter: bool = Field(False, description="Judge the transaction's reported energy against the battery "
                                                 "emulator's measurement (limit meter_error_percent).")
    judge_meter_samples: bool = Field(False, description="Judge each energy register the charger sampled during the "
                                                         "transaction against the battery emulator's measurement to "
                                                         "that sample (limit meter_sample_error_percent).")
    judge_available_current: bool = Field(False, description="Judge the current while connector 1 was reported "
                                                             "Available (limit current_while_available_a).")
    judge_schedule: bool = Field(False, description="Judge the last composite schedule the charger reported against "
                                                    "the power measured over it (limit schedule_deviation, W or A).")
    schedule_settle_s: float = Field(10.0, gt=0, description="After each change of the limit, the charger's time "
                                                             "to follow before the measurement is judged.")


class ScriptCase(CaseBase):
    """A case as the test case document's steps: each check one measured value, 1 when met."""

    procedure: Literal["script"]
    params: ScriptParams
    limits: dict[str, BoundedLimit] = Field(default_factory=dict, description="Limits beyond the checks: "
                                                                              + ", ".join(SCRIPT_LIMITS))

    @classmethod
    def known_limits(cls) -> tuple[str, ...]:
        """What such a case may limit besides its checks (a version that judges more adds its own)."""
        return SCRIPT_LIMITS

    def limit_map(self) -> dict[str, Limit]:
        checks = {check_name(i, step): Limit(min=1.0) for i, step in enumerate(self.params.steps)
                  if isinstance(step, CHECKS)}
        extra = {name: Limit(**limit.model_dump()) for name, limit in self.limits.items()}
        return {**checks, "schema_violations": Limit(max=0.0), **extra}

    @model_validator(mode="after")
    def _limits_and_names(self) -> "ScriptCase":
        known = self.known_limits()
        for name in self.limits:
            if name not in known:
                raise LocatedValueError(("limits", name), f"not a script case's limit (known: {', '.join(known)})")
        for flag, name in (("judge_meter", "meter_error_percent"),
                           ("judge_meter_samples", "meter_sample_error_percent"), ("judge_available_current",
                                                                   "current_while_available_a"),
                           ("judge_schedule", "schedule_deviation")):
            if getattr(self.params, flag) and name not in self.limits:
                raise LocatedValueError(("limits",), f"params.{flag} needs a {name} limit")
        names = [check_name(i, step) for i, step in enumerate(self.params.steps) if isinstance(step, CHECKS)]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise LocatedValueError(("params", "steps"), f"two checks named {', '.join(doubled)}: give them labels")
        return self


AnyCase = Union[ColdBootCase, BootPendingCase, ScriptCase]
Case = Annotated[AnyCase, Field(discriminator="procedure")]


class Plan(SuitePlan):
    """An OCPP 1.6J Core plan file."""

    suite: Literal["ocpp16.core"]
    version: Literal["1.6"] = Field("1.6", description="The OCPP version the rig accepts in these cases (a charger "
                                                       "speaking several is held to this one).")
    grid: GridNominal
    frame_time_u_s: float = Field(ge=0, description="Expanded uncertainty of a frame's time stamp on the rig's "
                                                    "clock (stamped on receipt).")
    central_system: CentralSystem
    vehicle: str | None = Field(None, description="The vehicle emulator's profile (relative to the plan) for the "
                                                  "cases that plug a vehicle in.")
    vehicle_charges_s: float = Field(600.0, gt=0, description="How long the emulated vehicle charges at full "
                                                              "current before it stops by itself.")
    min_energy_wh: float = Field(50.0, gt=0, description="The least energy a transaction must move for its meter "
                                                          "to be judged.")
    cases: list[Case] = Field(min_length=1)
    _vehicle: VehicleProfile | None = PrivateAttr(None)

    def bind(self, document: YamlDocument) -> None:
        """Load the vehicle profile the plan names (relative to the plan file)."""
        if self.vehicle is None:
            return
        path = (document.path.parent / self.vehicle).resolve()
        if not path.is_file():
            raise InputFileError(document.path, document.line_of(("vehicle",)), "vehicle",
                                 f"no such vehicle profile: {self.vehicle}")
        self._vehicle = load_vehicle_profile(path)

    def vehicle_profile(self) -> VehicleProfile | None:
        return self._vehicle

    def setpoints(self) -> list[SetpointChange]:
        return self.nominal_held()

    def nominal_held(self) -> list[SetpointChange]:
        return nominal_levels(self.grid, "the charger's supply is switched")
