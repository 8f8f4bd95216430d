"""The charger's export limitation at the site boundary (ENA EREC G100): ``export_limitation:`` in a profile.

A G100 export limiting scheme keeps the power leaving the site (the charger's
export less the household's load) at or below the export limit the network
operator agreed. The simulated charger does it the way such products do: it
reads the boundary CT every ``measurement_period_s`` of its own clock and,
``dead_time_s`` after each reading, sets its export setpoint to what keeps the
boundary at its operating point (``operating_point.export_power_w``: the
boundary export it is configured to, a compliant one below the agreed limit by
its control margin); its output follows the setpoint
through a first-order lag (``time_constant_s``). That is a first-order plus
dead-time (FOPDT) plant behind a sampled controller, the model a control
engineer fits to a measured step response, and it is solved in closed form
between setpoint changes, so hours of bench time cost nothing.

What it computes from a reading. With the CT intact, the boundary export B
and its own output S give the household load L = S - B, and the setpoint is
min(D, P + L) with P the operating point and D = max(``dispatched_export_w``, P):
it exports what it is dispatched to, except what the site cannot absorb. With
no household load that is P, so a charger with an export limitation behaves
exactly as before in every suite that switches no household load.

The sensor lost (the CT's lead open): a charger with a ``failsafe`` holds its
setpoint until the signal has been missing for ``detection_s``, then goes to
the fail-safe export ``export_w`` (after the same dead time, with its own lag). One
without (``failsafe`` omitted) reads the dead CT as no export at the boundary,
so it concludes the site absorbs all it exports and raises its export to what
it is dispatched: the classic failure G100's fail-safe requirement exists for.

The samples are the charger's own: their phase against the lab is drawn from
the lab's seed (stream 6), their period follows the charger's clock rate
error (``rig.sim.charger.ac_port.ChargerClock``). The limiter scales the charger's
operating-point export (after its frequency response), so an LFSM-O reduction
still acts on what it actually exports; a CHAdeMO session's export is the
vehicle's and is not limited here.
"""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from rig.sim.site import HouseholdSite

if TYPE_CHECKING:
    from rig.sim.charger.ac_port import ChargerClock

PHASE_STREAM = 6
"""The seed stream the limiter's sample phase is drawn from (0, 1: noise; 2: charger clock; 3: CHAdeMO)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class LimiterResponse(Strict):
    """How fast the limiter acts: a sampled reading, a dead time, a first-order lag."""

    measurement_period_s: float = Field(gt=0, description="It reads the boundary CT once per period (its clock).")
    dead_time_s: float = Field(ge=0, description="From a reading to the new setpoint taking effect.")
    time_constant_s: float = Field(ge=0, description="First-order lag of the output toward its setpoint; 0: a step.")


class FailSafe(Strict):
    """What it does when the boundary CT's signal is lost."""

    detection_s: float = Field(ge=0, description="The signal must be missing this long (its clock) before it acts.")
    export_w: float = Field(ge=0, description="The export it then goes to (0: stop exporting).")
    time_constant_s: float = Field(ge=0, description="First-order lag of its output toward the fail-safe export "
                                                     "(its power stage ramping down; 0: a step).")


class ExportLimitation(Strict):
    """A G100 export limitation: the boundary it regulates, what it is dispatched to export, how fast, fail-safe."""

    dispatched_export_w: float = Field(gt=0, description="What it is asked to export (at least its operating "
                                                         "point); it exports min(this, operating point + household "
                                                         "load): the operating point is the boundary export it keeps.")
    response: LimiterResponse
    failsafe: FailSafe | None = Field(None, description="Omitted: it ignores a lost CT signal (reads it as no "
                                                        "export, so it raises its export to the dispatched power).")


class ExportLimiter:
    """The limiter's setpoint in lab time: a piecewise first-order trajectory, extended as time is asked for.

    Segment i starts at ``_starts[i]`` (a reading's instant plus the dead time) from the value
    ``_values[i]`` and moves toward ``_targets[i]``. Readings are processed lazily, in order; a site event
    later than the readings processed so far simply extends them, one earlier (never, in practice: the site
    only changes at the lab's present time) discards the readings it could have affected.
    """

    def __init__(self, settings: ExportLimitation, site: HouseholdSite, clock: ChargerClock, seed: int,
                 operating_w: float) -> None:
        """``operating_w``: the charger's operating point, the boundary export it regulates to."""
        self.settings = settings
        self._boundary_w = operating_w
        self._dispatched_w = max(settings.dispatched_export_w, operating_w)
        self.site = site
        r = settings.response
        self._period = clock.lab_seconds(r.measurement_period_s)
        self._phase = float(np.random.default_rng([seed, PHASE_STREAM]).uniform(0.0, 1.0)) * self._period
        self._dead = clock.lab_seconds(r.dead_time_s)
        self._tau = clock.lab_seconds(r.time_constant_s)
        failsafe = settings.failsafe
        self._detection = None if failsafe is None else clock.lab_seconds(failsafe.detection_s)
        self._failsafe_tau = None if failsafe is None else clock.lab_seconds(failsafe.time_constant_s)
        idle = operating_w
        self._idle = idle
        self._starts: list[float] = [-math.inf]
        self._values: list[float] = [idle]
        self._targets: list[float] = [idle]
        self._taus: list[float] = [self._tau]
        self._samples: list[int] = [-1]  # the reading each segment came from (-1: none)
        self._next_sample = 0  # index of the next reading to process (instant: phase + index * period)
        self._lost_now: float | None = None
        self._events_seen = 0

    # -- what the charger asks ------------------------------------------------------------------------------

    def scale(self, times: np.ndarray, operating_w: np.ndarray | float, unloaded_w: float) -> np.ndarray | float:
        """The operating-point export ``operating_w`` at ``times`` as the limiter lets it out: in proportion to
        its setpoint against its unloaded export (exactly ``operating_w`` while nothing was ever switched)."""
        if not self.site.events or unloaded_w <= 0.0:
            return operating_w
        return operating_w * (self.setpoint_w(times) / unloaded_w)

    def setpoint_w(self, times: np.ndarray) -> np.ndarray:
        """The limiter's output (W) at ``times``."""
        times = np.asarray(times, dtype=float)
        if times.size:
            self._process_until(float(np.max(times)))
        starts = np.array(self._starts)
        index = np.searchsorted(starts, times, side="right") - 1
        target = np.array(self._targets)[index]
        value = np.array(self._values)[index]
        tau = np.array(self._taus)[index]
        with np.errstate(divide="ignore", invalid="ignore"):
            decay = np.where(tau > 0.0, np.exp(-(times - starts[index]) / np.where(tau > 0.0, tau, 1.0)), 0.0)
        return target + (value - target) * decay

    # -- the readings ---------------------------------------------------------------------------------------

    def _sample_time(self, index: int) -> float:
        return self._phase + index * self._period

    def _first_sample_at_or_after(self, t: float) -> int:
        return max(0, math.ceil((t - self._phase) / self._period - 1e-9))

    def _first_sample_after(self, t: float) -> int:
        return max(0, math.floor((t - self._phase) / self._period + 1e-9) + 1)

    def _process_until(self, t_end: float) -> None:
        """Process every reading whose setpoint takes effect at or before ``t_end``."""
        self._forget_readings_after_new_events()
        events = self.site.events
        while True:
            t_k = self._sample_time(self._next_sample)
            if t_k + self._dead > t_end:
                return
            if self._quiet(t_k):
                # Nothing switched on, the CT intact, the setpoint settled: nothing changes until the next event.
                later = bisect.bisect_right(events, t_k)
                if later >= len(events):
                    self._next_sample = max(self._next_sample, self._first_sample_after(t_end - self._dead))
                    return
                self._next_sample = max(self._next_sample + 1, self._first_sample_at_or_after(events[later]))
                continue
            self._read(self._next_sample, t_k)
            self._next_sample += 1

    def _quiet(self, t: float) -> bool:
        return (self._lost_now is None and self._targets[-1] == self._idle and self.site.ct_intact_at(t)
                and not self.site.any_bank_on(t))

    def _read(self, index: int, t_k: float) -> None:
        """One reading of the boundary CT at ``t_k`` and the setpoint it leads to."""
        s = self.settings
        tau = self._tau
        if self.site.ct_intact_at(t_k):
            self._lost_now = None
            load = float(self.site.load_power_w(np.array([t_k]))[0])
            target = min(self._dispatched_w, self._boundary_w + load)
        else:
            if self._lost_now is None:
                self._lost_now = t_k
            if s.failsafe is None:  # the dead CT reads as nothing crossing the boundary: all it exports is absorbed
                own = self._value_at(t_k)
                target = min(self._dispatched_w, self._boundary_w + own)
            elif self._detection is not None and t_k - self._lost_now >= self._detection - 1e-9:
                target = s.failsafe.export_w
                tau = self._failsafe_tau if self._failsafe_tau is not None else tau
            else:
                target = self._targets[-1]  # holds while it decides whether the signal is really gone
        target = max(target, 0.0)
        if target == self._targets[-1]:
            return
        start = t_k + self._dead
        value = float(self._value_at(start))
        self._starts.append(start)
        self._values.append(value)
        self._targets.append(target)
        self._taus.append(tau)
        self._samples.append(index)

    def _value_at(self, t: float) -> float:
        """The output at ``t`` from the segments already made (no processing)."""
        i = bisect.bisect_right(self._starts, t) - 1
        if self._taus[i] <= 0.0:
            return self._targets[i]
        return self._targets[i] + (self._values[i] - self._targets[i]) * math.exp(-(t - self._starts[i]) / self._taus[i])

    def _forget_readings_after_new_events(self) -> None:
        """A site event at or before a reading already processed (a tie at the present instant with no dead
        time, say): start again from the first reading, which is exact and, being so rare, cheap enough."""
        events = self.site.events
        if len(events) == self._events_seen:
            return
        earliest = min(events[self._events_seen:])
        self._events_seen = len(events)
        if self._first_sample_at_or_after(earliest) >= self._next_sample:
            return
        del self._starts[1:], self._values[1:], self._targets[1:], self._taus[1:], self._samples[1:]
        self._lost_now = None
        self._next_sample = 0
