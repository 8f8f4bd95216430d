"""The OCPP 1.6J Core plan: cases named as the OCA's test tool names them (TC_nnn_CS), each citing its edition.

Every number a case judges (the heartbeat interval the rig gives, how soon
after power-on the charger must boot, the tolerance on its intervals) is a
plan parameter: the test case document gives the sequence, the bench and
the charger's documentation the timings.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from rig.config.yaml_source import LocatedValueError
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


AnyCase = Union[ColdBootCase, BootPendingCase]
Case = Annotated[AnyCase, Field(discriminator="procedure")]


class Plan(SuitePlan):
    """An OCPP 1.6J Core plan file."""

    suite: Literal["ocpp16.core"]
    grid: GridNominal
    frame_time_u_s: float = Field(ge=0, description="Expanded uncertainty of a frame's time stamp on the rig's "
                                                    "clock (stamped on receipt).")
    cases: list[Case] = Field(min_length=1)

    def setpoints(self) -> list[SetpointChange]:
        return self.nominal_held()

    def nominal_held(self) -> list[SetpointChange]:
        return nominal_levels(self.grid, "the charger's supply is switched")
