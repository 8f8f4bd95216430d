"""The G99 islanding plan: an RLC load balanced to the charger's export, the grid switch opened, the run-on timed.

Every number lives in the plan (quality factor, balance tolerance, power
levels, imbalances, capture timing, the run-on limit), none in code: the
reference marks the GB limit [?] and BS EN 62116 sets none, so another code
(IEC 62116's 2 s, IEEE 1547.1's) is another plan file with the same cases.

Power levels: a case is judged only with the charger exporting in its
``power_level`` share of the plan's ``registered_capacity_w``. A bench with
the optional ``dut_control`` role (the charger's SunSpec controls) limits the
export to the middle of that share first (``rig.suites.grid_code.power_level``); without
it, or when a limit cannot get there (a limit only lowers the export), a case
at another level is an error, never a pass (as in the frequency-response
suite).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from rig.suites.platform import BoundedLimit, SetpointChange, Strict, SuiteCase, SuitePlan, require_lasting
from rig.suites.grid_code.nominal_plan import GridPlan
from rig.suites.grid_code.power_level import PowerLevel, SteadyExport
from rig.config.yaml_source import LocatedValueError


class IslandLoadSettings(Strict):
    """How the RLC load is tuned to the charger (BS EN 62116 style)."""

    quality_factor: float = Field(gt=0, description="Q_L = quality_factor x the charger's active power (and C "
                                                    "resonates with L at the nominal frequency when balanced).")
    max_residual_pu: float = Field(gt=0, description="Balanced, the current through S1 must be below this share "
                                                     "of the charger's current, else the case cannot be run.")
    steady_within_pct: float = Field(0.5, gt=0, description="The load is set from the charger's power only once two "
                                                            "readings steady_interval_s apart agree within this: a "
                                                            "charger still recovering from the last case would "
                                                            "leave the island unbalanced.")
    steady_interval_s: float = Field(1.0, gt=0)
    steady_timeout_s: float = Field(60.0, gt=0, description="Not steady by then: the case cannot be run.")

    @property
    def steady(self) -> SteadyExport:
        """When the charger's export counts as steady, for ``rig.suites.grid_code.power_level``."""
        return SteadyExport(within_pct=self.steady_within_pct, interval_s=self.steady_interval_s,
                            timeout_s=self.steady_timeout_s)


class RunOnParams(Strict):
    power_level: PowerLevel = Field(description="Judge only with the charger's export in this share of the "
                                                "registered capacity (else the case is an error).")
    active_balance: float = Field(gt=0, description="The resistor absorbs this share of the charger's power "
                                                    "(1: balanced).")
    reactive_balance: float = Field(gt=0, description="The capacitor is set to this share of its balanced value "
                                                      "(1: balanced; 0.95 leaves the charger's island with 5 % more "
                                                      "inductive load, so its frequency rises).")
    pre_s: float = Field(ge=0.1, description="Captured before the trigger at the grid: the current's noise floor "
                                             "is measured on it (five cycles at 50 Hz or more).")
    open_after_s: float = Field(gt=0, description="S1 is commanded open this long after the trigger.")
    post_s: float = Field(gt=0, description="Captured after the trigger.")
    sample_rate_hz: float = Field(ge=5000.0, description="Digitizer rate; at least 5 kS/s.")
    threshold_a: float = Field(gt=0, description="One-cycle rms below this counts as the current ceased.")

    @property
    def after_opening_s(self) -> float:
        """How much of the capture follows the command to open S1."""
        return self.post_s - self.open_after_s

    @model_validator(mode="after")
    def _opens_inside_capture(self) -> "RunOnParams":
        if self.open_after_s >= self.post_s:
            raise LocatedValueError(("open_after_s",), f"S1 must open inside the capture (post_s {self.post_s:g} s)")
        return self


class RunOnLimits(Strict):
    run_on_s: BoundedLimit


class RunOnCase(SuiteCase):
    procedure: Literal["run_on"]
    params: RunOnParams
    limits: RunOnLimits

    @model_validator(mode="after")
    def _capture_outlasts_limit(self) -> "RunOnCase":
        """A charger still running at the capture's end is judged on the capture's length after S1 opened (a
        lower bound): that bound must lie beyond the limit, or a charger that never stops could pass."""
        require_lasting(("params", "post_s"), self.params.after_opening_s, self.limits.run_on_s.max,
                        "the island, captured from S1's opening command,", strictly=True)
        return self

    def setting_record(self) -> dict[str, float | str]:
        p = self.params
        return {"power level": f"{p.power_level.min:.0%} to {p.power_level.max:.0%} of registered capacity",
                "active_balance_pct": round(100.0 * p.active_balance, 3),
                "reactive_balance_pct": round(100.0 * p.reactive_balance, 3)}

    def setpoint_changes(self, plan: SuitePlan) -> list[SetpointChange]:
        """The nominal grid, held in a list program whose trigger starts the capture (the RLC load's branches
        follow the charger's measured power: its driver checks them against the envelope before sending)."""
        assert isinstance(plan, Plan)
        return plan.nominal_held("islanding")


AnyCase = Union[RunOnCase]
Case = Annotated[AnyCase, Field(discriminator="procedure")]


class Plan(GridPlan):
    """A G99 islanding plan file."""

    suite: Literal["g99.islanding"]
    registered_capacity_w: float = Field(gt=0, description="The DUT's declared capacity: the base of power_level.")
    island_load: IslandLoadSettings
    cases: list[Case] = Field(min_length=1)

