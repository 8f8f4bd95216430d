"""The G99 frequency-response plan: frequency step sequences and the power line each step is judged against.

Two functions, one shape of test: the grid simulator plays a sequence of
frequency steps in its list mode, the digitizer captures the whole sequence,
and the charger's active power at each step is judged against a line drawn
from the case's setting:

- ``lfsm_o``: above the threshold the power falls by (f - threshold) /
  (droop x nominal) of the reference power. Each step is judged on its settled
  power (the deviation from the line), on how soon the power entered the
  tolerance band after the step (the response time) and on how far it strays
  from the line once the allowed response time has passed (no undamped
  oscillation: it stays in the band).
- ``reduced_frequency``: the power is maintained down to the threshold, and
  below it may fall by no more than ``allowed_reduction_per_hz`` of the
  reference power per Hz. Each step is judged on its settled power.

The reference power is the power the charger exported at the nominal
frequency just before the sequence (its actual output when the frequency
left the normal band); deviations are in per unit of it, so the probes' gain
cancels. Every G99 number lives in the plan file, none in code.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from rig.core.results import Limit
from rig.suites.platform import BoundedLimit, SetpointChange, Strict, SuiteCase, SuitePlan, require_lasting
from rig.suites.grid_code.nominal_plan import GridPlan
from rig.suites.grid_code.power_level import PowerLevel, SteadyExport
from rig.config.yaml_source import LocatedValueError


class FrequencyStep(Strict):
    """One level of the sequence: the grid steps to ``frequency_hz`` and holds it ``hold_s``."""

    frequency_hz: float = Field(gt=0)
    hold_s: float = Field(gt=0)


class StepSequenceParams(Strict):
    steps: list[FrequencyStep] = Field(min_length=1, description="The levels the grid steps through, from nominal.")
    pre_s: float = Field(ge=0.5, description="Captured before the first step at nominal: the reference power and "
                                             "the one-cycle noise are measured on it (25 cycles or more at 50 Hz).")
    settled_s: float = Field(gt=0, description="A step's power is the mean over its last settled_s.")
    sample_rate_hz: float = Field(ge=5000.0, description="Digitizer rate; at least 5 kS/s.")
    power_level: PowerLevel | None = Field(None, description="Judge only with the reference power in this share of "
                                                             "the registered capacity (else the case is an error).")

    @model_validator(mode="after")
    def _settled_within_every_hold(self) -> "StepSequenceParams":
        for index, step in enumerate(self.steps):
            if step.hold_s < self.settled_s:
                raise LocatedValueError(("steps", index, "hold_s"), f"shorter than settled_s ({self.settled_s:g} s): "
                                                                    "the step's settled power would not fit in it")
        return self

    @property
    def duration_s(self) -> float:
        return sum(step.hold_s for step in self.steps)

    def step_starts_s(self) -> list[float]:
        """When each step starts, from the trigger."""
        starts, at = [], 0.0
        for step in self.steps:
            starts.append(at)
            at += step.hold_s
        return starts


class LfsmOSetting(Strict):
    """LFSM-O: the droop line above the threshold."""

    threshold_hz: float = Field(gt=0)
    droop: float = Field(gt=0, le=1, description="0.10: a 10 % droop (the whole reference power over 5 Hz at 50 Hz).")

    def line_pu(self, frequency_hz: float, nominal_hz: float) -> float:
        """The power the droop asks for at ``frequency_hz``, per unit of the reference power."""
        return 1.0 - max(frequency_hz - self.threshold_hz, 0.0) / (self.droop * nominal_hz)

    def slope_pu_per_hz(self, frequency_hz: float, nominal_hz: float) -> float:
        """How fast the line moves with frequency there (what a frequency error costs)."""
        return -1.0 / (self.droop * nominal_hz) if frequency_hz > self.threshold_hz else 0.0


class ReducedFrequencySetting(Strict):
    """Active power at reduced frequency: maintained down to the threshold, a limited reduction below it."""

    threshold_hz: float = Field(gt=0)
    allowed_reduction_per_hz: float = Field(ge=0, le=1, description="Of the reference power, per Hz below the "
                                                                    "threshold.")

    def line_pu(self, frequency_hz: float, nominal_hz: float) -> float:
        return 1.0 - max(self.threshold_hz - frequency_hz, 0.0) * self.allowed_reduction_per_hz

    def slope_pu_per_hz(self, frequency_hz: float, nominal_hz: float) -> float:
        return self.allowed_reduction_per_hz if frequency_hz < self.threshold_hz else 0.0


class LfsmOLimits(Strict):
    """Applied to every step of the sequence."""

    deviation_pu: BoundedLimit = Field(description="Settled power less the droop line, per unit of the reference; "
                                                   "also the tolerance band the response time is measured into.")
    response_s: BoundedLimit = Field(description="From the step to the power entering the tolerance band.")
    excursion_pu: BoundedLimit = Field(description="Largest distance of a one-cycle power from the droop line once "
                                                   "the response time (response_s max) has passed: no undamped "
                                                   "oscillation.")


class ReducedFrequencyLimits(Strict):
    """Applied to every step of the sequence."""

    deviation_pu: BoundedLimit = Field(description="Settled power less the allowed line, per unit of the reference.")


STEP_UNITS = {"deviation_pu": "pu", "response_s": "s", "excursion_pu": "pu"}


def step_key(index: int, name: str) -> str:
    """A step's measured value as results.json names it: ``step3_deviation_pu`` (steps count from 1)."""
    return f"step{index + 1}_{name}"


class SequenceCase(SuiteCase):
    """A frequency step sequence whose every step is judged against the case's line."""

    params: StepSequenceParams
    setting: LfsmOSetting | ReducedFrequencySetting

    def limit_map(self) -> dict[str, Limit]:
        """Each plan limit applied to every step: ``step<k>_<name>``."""
        limits = {name: limit for name, limit in dict(self.limits).items()}
        return {step_key(k, name): Limit(min=limit.min, max=limit.max, unit=limit.unit or STEP_UNITS[name])
                for k in range(len(self.params.steps)) for name, limit in limits.items()}

    def setting_record(self) -> dict[str, float | str]:
        return dict(self.setting.model_dump())

    def setpoint_changes(self, plan: SuitePlan) -> list[SetpointChange]:
        """List-mode frequency steps from nominal through every level and back to nominal."""
        assert isinstance(plan, Plan)
        nominal = plan.grid.frequency_hz
        levels = [nominal] + [step.frequency_hz for step in self.params.steps] + [nominal]
        return [SetpointChange("ac_frequency_hz", a, b, "step", what=f"frequency step {k}")
                for k, (a, b) in enumerate(zip(levels, levels[1:])) if a != b]


class LfsmOCase(SequenceCase):
    procedure: Literal["lfsm_o"]
    setting: LfsmOSetting
    limits: LfsmOLimits

    @model_validator(mode="after")
    def _every_step_outlasts_its_response(self) -> "LfsmOCase":
        """Each step is a disturbance the power must answer within response_s, timed from the step: held longer
        (what follows the response time within the step is where an undamped oscillation shows)."""
        for index, step in enumerate(self.params.steps):
            require_lasting(("params", "steps", index, "hold_s"), step.hold_s, self.limits.response_s.max,
                            f"step {index + 1}", strictly=True)
        return self


class ReducedFrequencyCase(SequenceCase):
    procedure: Literal["reduced_frequency"]
    setting: ReducedFrequencySetting
    limits: ReducedFrequencyLimits


AnyCase = Union[LfsmOCase, ReducedFrequencyCase]
Case = Annotated[AnyCase, Field(discriminator="procedure")]


class Measurement(Strict):
    """What the bench contributes to each value's uncertainty beyond what a capture shows itself."""

    ratio_uncertainty_pu: float = Field(ge=0, description="Expanded (k = 2) relative uncertainty of a ratio of two "
                                                          "powers measured by the same probes and digitizer ranges "
                                                          "(their linearity; the gain cancels).")
    frequency_accuracy_hz: float = Field(ge=0, description="The grid simulator's frequency is within +- this of the "
                                                           "commanded value.")


class Plan(GridPlan):
    """A G99 frequency-response plan file."""

    suite: Literal["g99.frequency_response"]
    registered_capacity_w: float = Field(gt=0, description="The DUT's declared capacity: the base of power_level.")
    measurement: Measurement
    steady_export: SteadyExport = Field(default_factory=SteadyExport,
                                        description="When the charger's export counts as steady after the rig set "
                                                    "its power level (bench role dut_control).")
    cases: list[Case] = Field(min_length=1)

