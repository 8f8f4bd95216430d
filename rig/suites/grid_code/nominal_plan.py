"""The plan every grid-code suite starts from: the nominal grid, the DUT's readiness (exporting), the nominal
setpoints the envelope is checked against. Each suite's plan derives from ``GridPlan``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rig.suites.platform import SetpointChange, Strict, SuitePlan


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


class GridPlan(SuitePlan):
    """A plan whose cases start from the DUT exporting at a nominal grid (the grid-code suites share it): its
    grid, the readiness it asks, and the nominal setpoints the envelope is checked against."""

    grid: GridNominal
    precondition: Precondition

    def setpoints(self) -> list[SetpointChange]:
        return self.nominal_held()

    def nominal_held(self, while_doing: str | None = None) -> list[SetpointChange]:
        """The nominal voltage and frequency as held levels (``while_doing``: what a case does meanwhile)."""
        return nominal_levels(self.grid, while_doing)


def nominal_levels(grid: GridNominal, while_doing: str | None = None) -> list[SetpointChange]:
    """A nominal grid's voltage and frequency as held levels, for the envelope (``while_doing``: meanwhile)."""
    held = "" if while_doing is None else f" held while {while_doing}"
    return [SetpointChange("ac_voltage_v", grid.voltage_v, grid.voltage_v, "level", what=f"nominal voltage{held}"),
            SetpointChange("ac_frequency_hz", grid.frequency_hz, grid.frequency_hz, "level",
                           what=f"nominal frequency{held}")]
