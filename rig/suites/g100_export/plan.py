"""The G100 export limitation plan: load steps, an excursion and the loss of the boundary sensor.

The grid simulator is the site boundary, so its power reading is the site's
export; the rig switches the household load banks and the boundary CT's
break relay the bench file's ``site:`` section names. Every G100 number (the
export limit, the response time, the fail-safe level and time) lives in the
plan, none in code, so another limit or another issue of the standard is
another plan file.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from rig.suites.platform import BoundedLimit, SetpointChange, Strict, SuiteCase, SuitePlan, require_lasting
from rig.suites.grid_code.nominal_plan import GridPlan
from rig.config.yaml_source import LocatedValueError


class Measurement(Strict):
    """How the boundary export is read: the grid simulator's power meter, polled through its driver."""

    poll_s: float = Field(gt=0, le=1.0, description="One MEAS:POW reading every poll_s of bench time.")
    power_accuracy_pct: float = Field(ge=0, description="Meter accuracy: +- this % of the reading ...")
    power_accuracy_w: float = Field(ge=0, description="... + this many W (data sheet or calibration certificate).")
    power_resolution_w: float = Field(gt=0, description="The reading's last digit.")
    switching_s: float = Field(ge=0, description="A dio output acts within this of the rig's request returning "
                                                 "(relay operate time): the switching instant's uncertainty.")
    max_noise_w: float = Field(gt=0, description="Readings in a steady window may scatter this much (standard "
                                                 "deviation) at most, or the case cannot be judged.")


class LoadStep(Strict):
    """One level of the sequence: exactly these load banks on, held ``hold_s``."""

    loads: list[str] = Field(description="Load banks (the bench's site.load_banks) switched on; the rest off.")
    hold_s: float = Field(gt=0)


class LoadStepsParams(Strict):
    steps: list[LoadStep] = Field(min_length=2)
    response_s: float = Field(gt=0, description="After each step the export may take this long to come under the "
                                                "limit (the allowed response time); readings in it are not judged.")


class LoadStepsLimits(Strict):
    max_export_w: BoundedLimit = Field(description="The largest boundary export once each step has had its "
                                                   "response time: the export limit.")


class ExcursionParams(Strict):
    preload: list[str] = Field(min_length=1, description="Load banks on before the excursion; the charger uses "
                                                         "the headroom they give.")
    settle_s: float = Field(gt=0, description="Held with the preload before the excursion (its last half is the "
                                              "steady window the noise is measured on).")
    observe_s: float = Field(gt=0, description="Read after the preload is switched off.")
    settled_s: float = Field(gt=0, description="The settled export is the mean of the last settled_s.")
    min_excursion_w: float = Field(ge=0, description="The export must jump at least this far above the limit, or "
                                                     "the excursion is too small to time (the case cannot be judged).")

    @model_validator(mode="after")
    def _settled_inside_observation(self) -> "ExcursionParams":
        if self.settled_s >= self.observe_s:
            raise LocatedValueError(("settled_s",), f"must be shorter than observe_s ({self.observe_s:g} s)")
        return self


class ExcursionLimits(Strict):
    correction_time_s: BoundedLimit = Field(description="From the load switched off to the export back under "
                                                        "the limit for good.")
    settled_export_w: BoundedLimit = Field(description="Mean export once settled: the export limit.")


class SensorLossParams(Strict):
    settle_s: float = Field(gt=0, description="Exporting with the sensor intact before it is lost.")
    observe_s: float = Field(gt=0, description="Read after the CT's lead is opened.")
    failsafe_export_w: float = Field(description="The fail-safe state: the boundary export at or below this.")


class SensorLossLimits(Strict):
    failsafe_time_s: BoundedLimit = Field(description="From the signal lost to the export in the fail-safe state "
                                                      "for good.")


class CaseBase(SuiteCase):
    """A G100 case: the nominal grid held in fixed mode; it switches loads, not the grid."""

    def setpoint_changes(self, plan: SuitePlan) -> list[SetpointChange]:
        assert isinstance(plan, Plan)
        return plan.nominal_held("loads switch")


class LoadStepsCase(CaseBase):
    procedure: Literal["load_steps"]
    params: LoadStepsParams
    limits: LoadStepsLimits

    @model_validator(mode="after")
    def _every_step_outlasts_the_response(self) -> "LoadStepsCase":
        """Readings are judged once a step has had its response time, timed from the switching: a step held no
        longer has none judged, so an export above the limit in it would go unseen."""
        for index, step in enumerate(self.params.steps):
            require_lasting(("params", "steps", index, "hold_s"), step.hold_s, self.params.response_s,
                            f"step {index + 1}", strictly=True)
        return self


class ExcursionCase(CaseBase):
    procedure: Literal["excursion"]
    params: ExcursionParams
    limits: ExcursionLimits

    @model_validator(mode="after")
    def _observed_for_the_whole_correction_time(self) -> "ExcursionCase":
        """The load stays off, and is read, at least as long as the correction may take, timed from the switching."""
        require_lasting(("params", "observe_s"), self.params.observe_s, self.limits.correction_time_s.max,
                        "the excursion, observed from the switching,")
        return self


class SensorLossCase(CaseBase):
    procedure: Literal["sensor_loss"]
    params: SensorLossParams
    limits: SensorLossLimits

    @model_validator(mode="after")
    def _observed_for_the_whole_failsafe_time(self) -> "SensorLossCase":
        """The sensor stays lost, and the export is read, at least as long as the fail-safe may take, timed from
        the loss."""
        require_lasting(("params", "observe_s"), self.params.observe_s, self.limits.failsafe_time_s.max,
                        "the sensor loss, observed from the loss,")
        return self


AnyCase = Union[LoadStepsCase, ExcursionCase, SensorLossCase]
Case = Annotated[AnyCase, Field(discriminator="procedure")]


class Plan(GridPlan):
    """A G100 export limitation plan file."""

    suite: Literal["g100.export_limitation"]
    export_limit_w: float = Field(gt=0, description="The agreed export limit at the site boundary.")
    measurement: Measurement
    cases: list[Case] = Field(min_length=1)


    @model_validator(mode="after")
    def _export_limits_are_the_plans(self) -> "Plan":
        """A case's export limit is the plan's ``export_limit_w``: one number, stated once, judged everywhere."""
        for index, case in enumerate(self.cases):
            for name, limit in dict(case.limits).items():
                if name.endswith("_export_w") and limit.max != self.export_limit_w:
                    raise LocatedValueError(("cases", index, "limits", name, "max"),
                                            f"the export limit is the plan's export_limit_w ({self.export_limit_w:g} W)")
        return self
