"""What the charger's manufacturer declares of its efficiency and standby power: the values the efficiency suite
judges against.

A declaration is part of what is certified (a data sheet, a certificate
application), so it comes with the charger's identity: ``declared:`` in a
real bench's DUT identity file, or ``losses: declared:`` in a simulated
charger's profile. The rig never invents one: a value the manufacturer did
not declare leaves the case that would judge it an error saying so.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Declared(BaseModel):
    """Efficiency at the rated power and DC voltage per direction, optionally the European-weighted efficiency at
    that voltage, standby power and idle-connected power (fractions and watts)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    power_w: float = Field(gt=0, description="The rated power the efficiencies are declared at (output side: DC "
                                             "charging, AC discharging); the load points are shares of it.")
    dc_voltage_v: float = Field(gt=0, description="The DC (battery) voltage they are declared at.")
    charge_efficiency: float = Field(gt=0, le=1, description="AC->DC at the rated power (fraction).")
    discharge_efficiency: float = Field(gt=0, le=1, description="DC->AC at the rated power (fraction).")
    charge_euro_efficiency: float | None = Field(None, gt=0, le=1, description="European-weighted, AC->DC.")
    discharge_euro_efficiency: float | None = Field(None, gt=0, le=1, description="European-weighted, DC->AC.")
    standby_w: float | None = Field(None, ge=0, description="AC input with no vehicle plugged (W).")
    idle_connected_w: float | None = Field(None, ge=0, description="AC input with a vehicle plugged, no transfer "
                                                                   "(W).")
