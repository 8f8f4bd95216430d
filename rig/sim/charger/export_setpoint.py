"""The simulated charger's export power limit, as its SunSpec controls set it, and how its power follows.

A grid-tied DER takes a limit on its power output (SunSpec model 123 WMaxLimPct with WMaxLim_Ena) and moves
its operating point there through its power stage: here a first-order ramp with the profile's
``power_control.time_constant_s``. The limit only caps: the charger exports min(limit, operating point), and
with the limit released it returns to its operating point by the same ramp. Its frequency response and its
G100 export limiter act on what the cap leaves (``SimulatedCharger.export_power_w``).

Solved in closed form between commands (the target is constant between them), so a capture of any length is
evaluated at once and virtual time costs nothing. A charger that was never commanded exports exactly as
before this existed (the hook is skipped).
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class PowerControl(BaseModel):
    """The ``power_control:`` section of a DUT profile: how fast it follows a commanded export limit."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    time_constant_s: float = Field(1.0, ge=0, description="First-order lag of its power toward a new limit (and "
                                                          "back when released); 0: a step.")


class ExportSetpoint:
    """The limit history and the power it leaves at any instant (a cap on the operating point)."""

    def __init__(self, control: PowerControl, operating_w: float) -> None:
        self.time_constant_s = control.time_constant_s
        self.operating_w = operating_w
        self._starts: list[float] = []
        self._targets: list[float] = []
        self._values: list[float] = []
        self.limit_w: float | None = None
        """The limit in force now (W), None when released."""

    @property
    def command_times(self) -> tuple[float, ...]:
        """When each limit was written (its power's ramps start there)."""
        return tuple(self._starts)

    @property
    def commanded(self) -> bool:
        """Whether a limit was ever written (else the charger is exactly its operating point)."""
        return bool(self._starts)

    def command(self, t: float, limit_w: float | None) -> None:
        """From ``t`` on the charger moves toward min(``limit_w``, its operating point); None releases the limit."""
        value = float(self.capped(np.array([t]))[0]) if self._starts else self.operating_w
        target = self.operating_w if limit_w is None else min(max(limit_w, 0.0), self.operating_w)
        self._starts.append(t)
        self._targets.append(target)
        self._values.append(value)
        self.limit_w = limit_w

    def capped(self, times: np.ndarray) -> np.ndarray:
        """The operating point the cap leaves at ``times`` (W): the ramp from the last command before each."""
        times = np.asarray(times, dtype=float)
        if not self._starts:
            return np.full(times.shape, self.operating_w)
        index = np.searchsorted(np.array(self._starts), times, side="right") - 1
        before = index < 0
        index = np.maximum(index, 0)
        start = np.array(self._starts)[index]
        target = np.array(self._targets)[index]
        value = np.array(self._values)[index]
        tau = self.time_constant_s
        decay = np.exp(-np.maximum(times - start, 0.0) / tau) if tau > 0.0 else np.zeros(times.shape)
        return np.where(before, self.operating_w, target + (value - target) * decay)
