"""The charger under test: who it is, as the evidence must record it.

Type approval is tied to the charger's make, model, serial number and
firmware, so every run records them. On the simulated lab they come from the
DUT profile (which also sets the simulated behaviour); on a real bench from a
DUT identity file, passed the same way (``--dut``): a real bench run without
one is refused, because its evidence would not say what was tested.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from rig.config.declared import Declared
from rig.config.yaml_source import load_model


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Identity(Strict):
    manufacturer: str = Field(min_length=1)
    model: str = Field(min_length=1)
    serial: str = Field(min_length=1)
    firmware: str = Field(min_length=1)


class DutIdentityFile(Strict):
    """A real bench's DUT identity file: a short name, a description and the identity."""

    dut: str = Field(min_length=1)
    description: str = ""
    identity: Identity
    ocpp_identity: str | None = Field(None, min_length=1, description="Its OCPP identity (charge point id, the "
                                                                      "last segment of the URL it connects to): "
                                                                      "the rig's CSMS serves only this charger.")
    declared: Declared | None = Field(None, description="What its manufacturer declares of its efficiency and "
                                                        "standby power (the efficiency suite judges against it).")


def load_dut_identity(path: Path) -> DutIdentityFile:
    """Load a DUT identity file; problems come back as ``file:line: field: message``."""
    return load_model(Path(path), DutIdentityFile)
