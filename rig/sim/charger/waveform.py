"""The shape of the simulated charger's current: harmonics, DC offset and displacement (``waveform:`` in a profile).

A real converter's current is not a pure sine: its switching and control
leave harmonics, an offset in its current sensing leaves a DC component, and
its reactive power setting shifts the fundamental against the voltage. Each
of these is judged by the G99 power quality suite, so each is a DUT profile
parameter here, and a defective charger is just another profile.

The default is a pure sine in phase (the charger's current as it always
was): ``distorts`` is then False and ``rig.sim.model.LabModel.waveforms``
keeps its original computation, so captures stay the same bytes.

Conventions (the same as the rig's power quality analysis):

- ``displacement_deg`` is the angle by which the fundamental of the current
  lags the voltage in the reference frame of the charger's power flow
  (generator frame while it exports, load frame while it imports): positive
  lagging, negative leading. The charger keeps its active power, so the
  fundamental grows by 1 / cos(displacement).
- A harmonic's ``phase_deg`` is on the harmonic's own scale, relative to the
  current's fundamental (h x its phase).
- Everything extra is present only while the charger conducts: a
  disconnected charger carries no current at all.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from rig.config.yaml_source import LocatedValueError

MAX_ORDER = 100
"""Highest harmonic order a profile may set (well above the h40 the standards judge)."""


class Harmonic(BaseModel):
    """One harmonic of the current: its rms and its phase against the current's fundamental."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    rms_a: float = Field(ge=0, description="Rms amperes of this order (absolute: it does not scale with power).")
    phase_deg: float = Field(0.0, description="Phase on the harmonic's own scale, relative to h x the fundamental's.")


class Waveform(BaseModel):
    """What the charger's current carries besides its fundamental, and where its fundamental sits."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    harmonics_a: dict[int, Harmonic] = Field(
        default_factory=dict,
        description="Harmonic order (2..100) -> rms amperes, or {rms_a, phase_deg}; present while conducting.")
    dc_offset_a: float = Field(0.0, description="DC component added to the current while conducting (A).")
    displacement_deg: float = Field(
        0.0, gt=-90.0, lt=90.0,
        description="Current fundamental lags the voltage by this (power-flow frame; negative: leads). The active "
                    "power is kept, so the fundamental is the operating point's current / cos(displacement).")

    @field_validator("harmonics_a", mode="before")
    @classmethod
    def _amperes_alone_or_with_phase(cls, value: object) -> object:
        """``{3: 0.5}`` is ``{3: {rms_a: 0.5}}``: most profiles state amplitudes only."""
        if not isinstance(value, dict):
            return value
        given: dict[object, object] = {}
        for order, harmonic in value.items():
            if isinstance(order, bool) or not isinstance(order, int) or not 2 <= order <= MAX_ORDER:
                raise LocatedValueError((order,) if isinstance(order, (int, str)) else (),
                                        f"a harmonic order is a whole number from 2 to {MAX_ORDER}, got {order!r}")
            given[order] = {"rms_a": harmonic} if isinstance(harmonic, (int, float)) else harmonic
        return given

    @property
    def distorts(self) -> bool:
        """Whether the current differs from a pure sine in phase at all (the default does not)."""
        return bool(self.harmonics_a) or self.dc_offset_a != 0.0 or self.displacement_deg != 0.0

    def current(self, theta: np.ndarray, fundamental_rms_a: np.ndarray) -> np.ndarray:
        """The current at grid phase ``theta`` (rad) in the power-flow frame (positive: in phase with the
        voltage), given the rms current a pure-sine charger would carry (0 where it does not conduct)."""
        conducting = fundamental_rms_a > 0.0
        lag = math.radians(self.displacement_deg)
        phase = theta - lag
        current = (math.sqrt(2.0) / math.cos(lag)) * fundamental_rms_a * np.sin(phase)
        extra = np.full(theta.shape, self.dc_offset_a)
        for order, harmonic in self.harmonics_a.items():
            extra += math.sqrt(2.0) * harmonic.rms_a * np.sin(order * phase + math.radians(harmonic.phase_deg))
        return current + np.where(conducting, extra, 0.0)
