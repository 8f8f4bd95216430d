"""The simulated charger's behaviour, as a documented, validated file.

Every behaviour a suite judges is a parameter here, so a defective charger
is just another profile (``fixtures/duts/*.yaml``; each field is explained
in ``fixtures/duts/README.md``). The simulator reads nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rig.dut import Identity
from rig.yaml_source import load_model


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Rating(Strict):
    power_w: float = Field(gt=0)
    current_a: float = Field(gt=0, description="Maximum AC current the converter will carry.")
    nominal_voltage_v: float = Field(gt=0)
    nominal_frequency_hz: float = Field(gt=0)


class OperatingPoint(Strict):
    export_power_w: float = Field(description="AC power exported while connected; negative imports (charging).")


class MeasurementMethod(Strict):
    """How the charger's own protection sees a grid quantity."""

    latency_s: float = Field(ge=0, description="Filter and window delay between the terminals and the measured value.")
    evaluation_period_s: float = Field(gt=0, description="The protection evaluates its stages once per period.")
    gain_error: float = Field(0.0, description="Relative error: measured = (1 + gain_error) * true + offset.")
    offset: float = 0.0


class Measurement(Strict):
    voltage: MeasurementMethod
    frequency: MeasurementMethod


class ProtectionStage(Strict):
    """One definite-time interface protection stage."""

    name: str
    quantity: Literal["voltage", "frequency"]
    direction: Literal["over", "under"]
    threshold: float
    delay_s: float = Field(ge=0)


class Window(Strict):
    min: float
    max: float


class Reconnection(Strict):
    delay_s: float = Field(ge=0, description="Voltage and frequency must stay inside the window this long.")
    voltage_v: Window
    frequency_hz: Window
    evaluation_period_s: float = Field(0.1, gt=0)


class DutProfile(Strict):
    dut: str
    description: str = ""
    identity: Identity
    rating: Rating
    operating_point: OperatingPoint
    measurement: Measurement
    protection: list[ProtectionStage]
    disconnection_time_s: float = Field(ge=0, description="Relay opening time after a stage operates.")
    reconnection: Reconnection
    current_noise_a: float = Field(0.0, ge=0, description="Rms noise on the current the lab's instruments see.")
    expected_failures: list[str] = Field(
        default_factory=list,
        description="Case ids this profile must fail; read only by the rig's own tests, never by the simulator.",
    )
    expected_errors: list[str] = Field(
        default_factory=list,
        description="Case ids that must end as errors (cannot judge, not ready); read only by the rig's own tests.",
    )
    expected_skips: list[str] = Field(
        default_factory=list,
        description="Case ids that must not run (after the DUT was not ready); read only by the rig's own tests.",
    )

    @model_validator(mode="after")
    def _unique_stage_names(self) -> "DutProfile":
        names = [s.name for s in self.protection]
        if len(names) != len(set(names)):
            raise ValueError(f"protection stage names must be unique: {names}")
        return self


def load_dut_profile(path: Path) -> DutProfile:
    return load_model(Path(path), DutProfile)
