"""The G99 power quality plan: harmonic currents, DC injection and power factor, measured from captured current.

Every number of the standards lives in the plan (the class A table, the DC
fraction, the power factor band, the window and averaging), none in code, so
another issue or another grid code is another plan file with the same cases.

Where the DUT is judged: G99 asks for harmonics at 45-55 % and at 100 % of
registered capacity and the power factor at rated output. On this bench the
rig cannot set a charger's export power (the charger exports at its own
operating point once connected), so every case says ``at: operating_point``
and records the power it measured there; a case for another level needs a
power-setting role first, not a different plan value.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Union

from pydantic import Field, field_validator, model_validator

from rig.suites.platform import BoundedLimit, SetpointChange, Strict, SuiteCase, SuitePlan
from rig.suites.grid_code.nominal_plan import GridPlan
from rig.suites.g99_power_quality.analysis import Grouping, Stability
from rig.suites.grid_code.power_level import PowerLevel, SteadyExport
from rig.config.yaml_source import LocatedValueError

HARMONIC_LIMIT = re.compile(r"^h(\d+)_a$")
"""A harmonic limit's name: ``h<order>_a`` (rms amperes of that order's group)."""


class DeclaredRating(Strict):
    """The DUT's rating as its manufacturer declares it (registered capacity): the base of the DC limit and of
    the power level recorded beside every case."""

    power_w: float = Field(gt=0, description="Rated (registered) AC power.")
    current_a: float = Field(gt=0, description="Rated AC current: the DC injection limit is a fraction of it.")


class CaptureParams(Strict):
    """One steady capture at the nominal grid, analysed in synchronised windows (IEC 61000-4-7 style)."""

    at: Literal["operating_point"] = Field(
        description="Where the DUT is judged: its operating point at the nominal grid (at ``power_level``, when "
                    "given).")
    power_level: PowerLevel | None = Field(
        None, description="Judge at this share of the declared rating: with the bench's dut_control role the rig "
                          "limits the export to the band's middle, otherwise the DUT's own export must lie in it "
                          "(an error if not, never a pass). Omitted: whatever the DUT exports.")
    sample_rate_hz: float = Field(ge=1000.0, description="Digitizer rate asked for; the scope may sample faster.")
    cycles_per_window: int = Field(ge=2, description="Window length in cycles of the measured fundamental "
                                                     "(IEC 61000-4-7: 10 at 50 Hz, 12 at 60 Hz).")
    windows: int = Field(ge=1, le=750, description="Contiguous windows averaged (the observation period).")
    max_frequency_deviation_hz: float = Field(gt=0, description="A window's fundamental may differ from the "
                                                                "capture's by this much, or it cannot be judged.")
    max_current_change_pct: float = Field(gt=0, description="The current's fundamental may spread by this much "
                                                            "(% of its mean) over the windows, or it cannot be judged.")

    def stability(self) -> Stability:
        return Stability(self.max_frequency_deviation_hz, self.max_current_change_pct)


class HarmonicParams(CaptureParams):
    max_order: int = Field(ge=2, le=50, description="Highest harmonic order analysed and judged.")
    grouping: Grouping = Field(description="IEC 61000-4-7 harmonic group or subgroup.")

    @model_validator(mode="after")
    def _whole_half_window(self) -> "HarmonicParams":
        if self.grouping == "group" and self.cycles_per_window % 2:
            raise LocatedValueError(("cycles_per_window",), "a harmonic group spans half a window's bins either "
                                                            "side of its order: cycles_per_window must be even")
        return self


class CaseBase(SuiteCase):
    """A power quality case: one capture at the nominal grid, no disturbance."""

    def setpoint_changes(self, plan: SuitePlan) -> list[SetpointChange]:
        """The nominal grid, held in a list program whose trigger starts the capture."""
        assert isinstance(plan, Plan)
        return plan.nominal_held("capturing")

    def setting_record(self) -> dict[str, float | str]:
        return {"power level": "DUT operating point"}


class HarmonicCurrentsCase(CaseBase):
    procedure: Literal["harmonic_currents"]
    params: HarmonicParams
    limits: dict[str, BoundedLimit] = Field(min_length=1, description="h<order>_a: rms amperes of each order.")

    @field_validator("limits")
    @classmethod
    def _names_are_orders(cls, limits: dict[str, BoundedLimit]) -> dict[str, BoundedLimit]:
        for name in limits:
            if not HARMONIC_LIMIT.match(name):
                raise LocatedValueError((name,), "a harmonic limit is named h<order>_a (h3_a: the 3rd order, A)")
        return limits

    @model_validator(mode="after")
    def _orders_analysed(self) -> "HarmonicCurrentsCase":
        for name in self.limits:
            match = HARMONIC_LIMIT.match(name)
            assert match is not None
            if not 2 <= int(match.group(1)) <= self.params.max_order:
                raise LocatedValueError(("limits", name), f"order {match.group(1)} is outside the orders analysed "
                                                          f"(2 to params.max_order, {self.params.max_order})")
        return self

    def setting_record(self) -> dict[str, float | str]:
        return {**super().setting_record(), "grouping": f"harmonic {self.params.grouping}s",
                "orders": f"2..{self.params.max_order}"}


class DcInjectionLimits(Strict):
    dc_injection_pct: BoundedLimit


class DcInjectionCase(CaseBase):
    procedure: Literal["dc_injection"]
    params: CaptureParams
    limits: DcInjectionLimits


class PowerFactorLimits(Strict):
    power_factor: BoundedLimit
    displacement_power_factor: BoundedLimit


class PowerFactorCase(CaseBase):
    procedure: Literal["power_factor"]
    params: CaptureParams
    limits: PowerFactorLimits


AnyCase = Union[HarmonicCurrentsCase, DcInjectionCase, PowerFactorCase]
Case = Annotated[AnyCase, Field(discriminator="procedure")]


class Plan(GridPlan):
    """A G99 power quality plan file."""

    suite: Literal["g99.power_quality"]
    rating: DeclaredRating
    steady_export: SteadyExport = Field(default_factory=SteadyExport,
                                        description="When the export counts as steady before a case at a power level.")
    cases: list[Case] = Field(min_length=1)


    @model_validator(mode="after")
    def _sampled_fast_enough(self) -> "Plan":
        """The rate asked for must carry the highest order analysed (the capture is refused otherwise anyway)."""
        for index, case in enumerate(self.cases):
            if isinstance(case, HarmonicCurrentsCase):
                needed = 2.0 * (case.params.max_order + 1) * self.grid.frequency_hz
                if case.params.sample_rate_hz < needed:
                    raise LocatedValueError(("cases", index, "params", "sample_rate_hz"),
                                            f"{case.params.sample_rate_hz:g} S/s cannot carry h{case.params.max_order} "
                                            f"of {self.grid.frequency_hz:g} Hz: at least {needed:g} S/s")
        return self
