"""The simulated charger's active-power response to the grid frequency (G99 LFSM-O, power at reduced frequency).

A DUT profile's optional ``frequency_response:`` section says how the
charger's export follows the frequency at its terminals; without it the
charger exports its operating point whatever the frequency (the behaviour of
every profile written before this section existed, kept to the byte).

- ``lfsm_o``: above ``threshold_hz`` the power falls by
  (f - threshold) / (droop x nominal frequency) of the reference power (the
  operating point: the power exported when the frequency crossed the
  threshold).
- ``reduced_frequency``: below ``threshold_hz`` the power falls by
  ``reduction_per_hz`` of the reference power per Hz.

Each function reaches its target through its own dynamics: a dead time
(``delay_s``: frequency measurement and control) and then a first-order lag
(``time_constant_s``). The grid frequency is piecewise linear in time
(``rig.sim.signal``) and each target is piecewise linear in the frequency, so
the target is piecewise linear in time and the lag has a closed form on every
piece: the response is exact at any instant, evaluated for a whole capture at
once. The power never rises above the operating point and never changes sign,
so the charger's current never exceeds what its operating point draws.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rig.sim.signal import PiecewiseLinear
from rig.config.yaml_source import LocatedValueError

HISTORY_TIME_CONSTANTS = 40.0
"""The lag forgets what happened this many time constants ago (e^-40 ~ 4e-18): the history it is solved over."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Dynamics(Strict):
    """How a function's power reaches its target after the frequency changes."""

    delay_s: float = Field(0.0, ge=0, description="Dead time from the terminals' frequency to the power starting "
                                                  "to move (frequency measurement and control).")
    time_constant_s: float = Field(0.0, ge=0, description="First-order lag toward the target after the dead time; "
                                                          "0: the power follows the target at once.")


class LfsmO(Dynamics):
    """Limited frequency sensitive mode, over-frequency: a droop above the threshold."""

    threshold_hz: float = Field(gt=0, description="Above this the power falls.")
    droop: float = Field(gt=0, le=1, description="Per unit: a frequency rise of droop x nominal cuts the whole "
                                                 "reference power (0.10: 10 %, 5 Hz at 50 Hz).")

    def reduction(self, frequency_hz: np.ndarray, nominal_hz: float) -> np.ndarray:
        """The reduction (fraction of the reference power) the droop asks for at ``frequency_hz``."""
        return np.maximum(np.asarray(frequency_hz) - self.threshold_hz, 0.0) / (self.droop * nominal_hz)


class ReducedFrequency(Dynamics):
    """Active power at reduced frequency: a limited reduction below the threshold."""

    threshold_hz: float = Field(gt=0, description="Below this the power falls.")
    reduction_per_hz: float = Field(ge=0, le=1, description="Fraction of the reference power lost per Hz below "
                                                            "the threshold.")

    def reduction(self, frequency_hz: np.ndarray, nominal_hz: float) -> np.ndarray:
        return np.maximum(self.threshold_hz - np.asarray(frequency_hz), 0.0) * self.reduction_per_hz


class FrequencyResponse(Strict):
    """The ``frequency_response:`` section of a DUT profile; a function left out does not respond."""

    lfsm_o: LfsmO | None = None
    reduced_frequency: ReducedFrequency | None = None

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> "FrequencyResponse":
        if (self.lfsm_o is not None and self.reduced_frequency is not None
                and self.reduced_frequency.threshold_hz > self.lfsm_o.threshold_hz):
            raise LocatedValueError(("reduced_frequency", "threshold_hz"),
                                    f"{self.reduced_frequency.threshold_hz:g} Hz is above the LFSM-O threshold "
                                    f"({self.lfsm_o.threshold_hz:g} Hz): the two would act at once")
        return self


Function = LfsmO | ReducedFrequency


def operating_power_w(response: FrequencyResponse | None, operating_w: float, frequency: PiecewiseLinear,
                      nominal_hz: float, times: np.ndarray) -> float | np.ndarray:
    """The power (W) the charger exports at ``times`` while connected, given the grid ``frequency``.

    Without a response, or while it imports (charges: the section describes
    its export), the operating point itself, as a scalar, so a profile
    without the section gives exactly what it gave before.
    """
    if response is None or operating_w <= 0.0:
        return operating_w
    times = np.asarray(times, dtype=float)
    reduction = np.zeros(times.shape)
    for function in (response.lfsm_o, response.reduced_frequency):
        if function is not None:
            reduction += lagged_reduction(function, frequency, nominal_hz, times)
    return operating_w * np.maximum(1.0 - reduction, 0.0)


def lagged_reduction(function: Function, frequency: PiecewiseLinear, nominal_hz: float,
                     times: np.ndarray) -> np.ndarray:
    """The reduction ``function`` has reached at each of ``times``: its target, delayed and lagged."""
    shifted = np.asarray(times, dtype=float) - function.delay_s
    tau = function.time_constant_s
    if tau == 0.0 or shifted.size == 0:
        return function.reduction(frequency.sample(shifted), nominal_hz)
    lo = float(shifted.min()) - HISTORY_TIME_CONSTANTS * tau
    start, value, slope = _target_pieces(function, frequency, nominal_hz, lo, float(shifted.max()))
    # The state at each piece's start, from the steady state of the first (the history has forgotten the rest).
    state = np.empty(len(start))
    y = value[0] - slope[0] * tau
    for k in range(len(start)):
        state[k] = y
        if k + 1 < len(start):
            y = _lag(value[k], slope[k], y, start[k + 1] - start[k], tau)
    piece = np.clip(np.searchsorted(start, shifted, side="right") - 1, 0, len(start) - 1)
    return _lag(value[piece], slope[piece], state[piece], shifted - start[piece], tau)


def _lag(u0: np.ndarray | float, slope: np.ndarray | float, y0: np.ndarray | float,
         dt: np.ndarray | float, tau: float) -> np.ndarray:
    """First-order lag of an input u0 + slope * dt, from state y0, after dt (exact)."""
    return np.asarray(u0 + slope * dt - slope * tau + (y0 - u0 + slope * tau) * np.exp(-np.asarray(dt) / tau))


def _target_pieces(function: Function, frequency: PiecewiseLinear, nominal_hz: float, t_start: float,
                   t_end: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The target over [t_start, t_end] as linear pieces: (start instant, value at it, slope), cut where the
    frequency's pieces are cut and where it crosses the function's threshold (the target's kink)."""
    starts: list[float] = []
    values: list[float] = []
    slopes: list[float] = []
    for segment in frequency.segments(t_start, t_end):  # t_start < t_end: at least one
        cuts = [segment.t0, segment.t1]
        if segment.slope != 0.0 and min(segment.v0, segment.v1) < function.threshold_hz < max(segment.v0, segment.v1):
            cuts.insert(1, segment.t0 + (function.threshold_hz - segment.v0) / segment.slope)
        for a, b in zip(cuts, cuts[1:]):
            u_a = float(function.reduction(np.array(segment.at(a)), nominal_hz))
            u_b = float(function.reduction(np.array(segment.at(b)), nominal_hz))
            starts.append(a)
            values.append(u_a)
            slopes.append((u_b - u_a) / (b - a) if b > a else 0.0)
    return np.array(starts), np.array(values), np.array(slopes)

