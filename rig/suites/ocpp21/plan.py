"""The OCPP 2.1 V2X plan: the 2.0.1 plan's cases and steps (``rig.suites.ocpp.script``) with the power at the grid
judged in every case that commands it (``power`` steps on a ``capture``), and the numbers that judgement needs.

Every number is a plan parameter: OCPP 2.1 states what the power must follow
(the setpoint, within limit and dischargeLimit, the freq-watt curve) but not
how fast or how close; the grid service the charger is sold for does
(Dynamic Containment: full response within 1 s; some markets 0.1 s), and the
charger's documentation its control accuracy.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, PrivateAttr, model_validator

from rig.config.yaml_source import LocatedValueError
from rig.core.results import Limit
from rig.suites.ocpp import script as s
from rig.suites.ocpp16 import plan as plan16
from rig.suites.ocpp16.plan import BootPendingCase, ColdBootCase
from rig.suites.ocpp201 import plan as plan201
from rig.suites.ocpp21.offline import BACKOFF_SHORTFALL, TIMESTAMP_ERRORS
from rig.suites.platform import SetpointChange, Strict, SuitePlan


class AnalyzerSetting(Strict):
    """How the power analyzer's AC element is set for a 2.1 case: fixed ranges (its accuracy needs them known),
    chosen from the analyzer's own ranges for what the plan says must be measured, so one plan runs on any
    analyzer (a WT's 300 V range is an LMG's 400 V)."""

    update_s: float = Field(gt=0, description="Its data update interval (each update averages over this).")
    max_voltage_v: float = Field(gt=0, description="The largest rms voltage the AC element must hold: the rig "
                                                   "sets the analyzer's smallest voltage range that holds it.")
    max_current_a: float = Field(gt=0, description="The largest rms current it must hold (either direction): the "
                                                   "smallest current range that holds it.")


class V2xMeasurement(Strict):
    """``v2x:`` in a 2.1 plan: how the power at the grid is captured and the numbers it is judged against."""

    sample_rate_hz: float = Field(gt=0, description="The digitizer's rate at the charger's AC terminals (S/s).")
    response_s: float = Field(gt=0, description="Time to 90 % of a commanded change, the limit (the grid service's; "
                                                "1 s for Dynamic Containment).")
    tolerance_w: float = Field(gt=0, description="How close the settled power must come to its target (W).")
    overshoot_w: float = Field(ge=0, description="How far past its target the power may go while it moves (W).")
    bound_margin_w: float = Field(ge=0, description="How far past limit or dischargeLimit a power averaged over "
                                                    "bound_window_s may go (W): the control and measurement "
                                                    "tolerance at a bound.")
    bound_window_s: float = Field(gt=0, description="The averaging of the power judged against the bounds.")
    power_u_percent: float = Field(ge=0, description="Probes' and digitizer's power accuracy (standard, % of the "
                                                     "power).")
    frequency_u_hz: float = Field(ge=0, description="Accuracy of one cycle's frequency from its zero crossings.")
    analyzer: AnalyzerSetting | None = Field(None, description="The power analyzer at the charger's AC terminals "
                                                               "beside the digitizer: each settled power also "
                                                               "judged on it (the bench must have one).")


class RetryBackOff(Strict):
    """The back-off the case set on the charger (OCPPCommCtrlr.RetryBackOffWaitMinimum, RetryBackOffRepeatTimes):
    what its connection attempts after a link loss are held to."""

    wait_minimum_s: float = Field(ge=0)
    repeat_times: int = Field(ge=0)


class ScriptParams(plan16.ScriptParams):
    judge_offline_delivery: RetryBackOff | None = Field(
        None, description="After the case's cut link: the queued TransactionEvents' timestamps and order "
                          "(offline_timestamp_errors) and the connection attempts' spacing (backoff_shortfall_s).")


class ScriptCase(plan201.ScriptCase):
    """A 2.1 case: the 2.0.1 checks, and each ``power`` step's values limited as the plan's ``v2x`` says."""

    params: ScriptParams  # type: ignore[assignment]
    _v2x: V2xMeasurement | None = PrivateAttr(None)

    @classmethod
    def known_limits(cls) -> tuple[str, ...]:
        return (*super().known_limits(), TIMESTAMP_ERRORS, BACKOFF_SHORTFALL)

    def limit_map(self) -> dict[str, Limit]:
        from rig.suites.ocpp21.grid_power import check_limits
        limits = super().limit_map()
        if self.params.judge_offline_delivery is not None:
            limits[TIMESTAMP_ERRORS] = Limit(max=0.0)
            limits[BACKOFF_SHORTFALL] = Limit(max=0.0)
        if self._v2x is None:
            return limits
        for index, step in enumerate(self.params.steps):
            if isinstance(step, s.Power):
                for name, (low, high) in check_limits(s.check_name(index, step), step, self._v2x).items():
                    limits[name] = Limit(min=low, max=high)
        return limits

    def setpoint_changes(self, plan: SuitePlan) -> list[SetpointChange]:
        """The nominal grid, and each capture's frequency program (steps and ramps from the nominal and back),
        checked against the envelope before anything opens."""
        changes = super().setpoint_changes(plan)
        nominal = plan.grid.frequency_hz  # type: ignore[attr-defined]
        for step in self.params.steps:
            if not isinstance(step, s.Capture):
                continue
            before = nominal
            for piece in step.frequency:
                changes.append(SetpointChange("ac_frequency_hz", before, piece.hz, "ramp" if piece.ramp else "step",
                                              piece.dwell_s if piece.ramp else 0.0, "a capture's frequency program"))
                before = piece.hz
            if before != nominal:
                changes.append(SetpointChange("ac_frequency_hz", before, nominal, "step", 0.0,
                                              "back to the nominal after a capture"))
        return changes

    @model_validator(mode="after")
    def _power_checks_follow_their_command(self) -> "ScriptCase":
        seen: set[str] = set()
        captured = False
        if self.params.judge_offline_delivery is not None and not any(isinstance(step, s.CutLink)
                                                                     for step in self.params.steps):
            raise LocatedValueError(("params", "judge_offline_delivery"), "needs a cut_link step")
        for index, step in enumerate(self.params.steps):
            if isinstance(step, s.Power):
                if step.label is None:
                    raise LocatedValueError(("params", "steps", index, "label"), "a power check needs a label "
                                                                                 "(its values are named after it)")
                if step.since not in seen:
                    raise LocatedValueError(("params", "steps", index, "since"),
                                            f"no step labelled {step.since!r} before it")
                if not captured:
                    raise LocatedValueError(("params", "steps", index), "a power check needs a capture step "
                                                                        "before it")
            if isinstance(step, s.Capture):
                captured = True
            if step.label is not None:
                seen.add(step.label)
        return self


AnyCase = Union[ColdBootCase, BootPendingCase, ScriptCase]
Case = Annotated[AnyCase, Field(discriminator="procedure")]


class Plan(plan201.Plan):
    """An OCPP 2.1 V2X plan file: the 2.0.1 plan's sections and ``v2x``."""

    suite: Literal["ocpp21"]  # type: ignore[assignment]
    version: Literal["2.1"] = Field(  # type: ignore[assignment]
        "2.1", description="The OCPP version the rig accepts in these cases.")
    v2x: V2xMeasurement
    cases: list[Case] = Field(min_length=1)  # type: ignore[assignment]

    @model_validator(mode="after")
    def _cases_know_the_measurement(self) -> "Plan":
        for case in self.cases:
            if isinstance(case, ScriptCase):
                case._v2x = self.v2x
        return self
