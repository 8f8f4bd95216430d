"""The V2G charger under test, as the simulated lab sees it.

A grid-tied converter that exports (or imports) a set power while it is
connected, guarded by definite-time interface protection stages that look at
the terminal voltage and frequency through the charger's own measurement
method, and a reconnection timer. It is advanced event by event: pickup,
drop-out, operate, reconnect, each found in closed form from the grid's
piecewise-linear signals (see ``rig.sim.predicates``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rig.sim.dut_profile import DutProfile, MeasurementMethod, ProtectionStage
from rig.sim.predicates import Bound, ceil_to_grid, first_instant_all, first_instant_any_fails
from rig.sim.signal import PiecewiseLinear


@dataclass(frozen=True)
class TripEvent:
    """A protection operation: when the stage operated and when the output opened."""

    stage: str
    operated_s: float
    opened_s: float


@dataclass
class _StageState:
    stage: ProtectionStage
    bound: Bound
    period_s: float
    pickup_s: float | None = None


@dataclass
class ConductionLog:
    """Intervals during which the charger's output carried current: [(on, off or None)]."""

    intervals: list[list[float | None]] = field(default_factory=list)

    def start(self, t: float) -> None:
        self.intervals.append([t, None])

    def stop(self, t: float) -> None:
        if self.intervals and self.intervals[-1][1] is None:
            self.intervals[-1][1] = t

    def mask(self, times: np.ndarray) -> np.ndarray:
        on = np.zeros(times.shape, dtype=bool)
        for t_on, t_off in self.intervals:
            hi = np.inf if t_off is None else t_off
            on |= (times >= t_on) & (times < hi)
        return on

    def conducting_at(self, t: float) -> bool:
        return bool(self.mask(np.array([t]))[0])


class SimulatedCharger:
    """The DUT model: protection, reconnection and output current."""

    def __init__(self, profile: DutProfile, voltage: PiecewiseLinear, frequency: PiecewiseLinear, t0: float = 0.0):
        self.profile = profile
        self._voltage = voltage
        self._frequency = frequency
        self._t = t0
        self.connected = False
        self.supply_on = False
        self._healthy_since: float | None = None
        self.trips: list[TripEvent] = []
        self.conduction = ConductionLog()
        self._stages = [self._stage_state(s) for s in profile.protection]
        rc = profile.reconnection
        vm, fm = profile.measurement.voltage, profile.measurement.frequency
        self._health = [
            self._bound(voltage, vm, ">=", rc.voltage_v.min),
            self._bound(voltage, vm, "<=", rc.voltage_v.max),
            self._bound(frequency, fm, ">=", rc.frequency_hz.min),
            self._bound(frequency, fm, "<=", rc.frequency_hz.max),
        ]

    # -- construction helpers -----------------------------------------------------

    @staticmethod
    def _bound(signal: PiecewiseLinear, method: MeasurementMethod, op, threshold: float) -> Bound:
        return Bound(signal, op, threshold, method.latency_s, 1.0 + method.gain_error, method.offset)

    def _stage_state(self, stage: ProtectionStage) -> _StageState:
        method = getattr(self.profile.measurement, stage.quantity)
        signal = self._voltage if stage.quantity == "voltage" else self._frequency
        op = ">=" if stage.direction == "over" else "<="
        return _StageState(stage, self._bound(signal, method, op, stage.threshold), method.evaluation_period_s)

    # -- supply events (the grid simulator's output relay) ----------------------------

    def supply_lost(self, t: float) -> None:
        """The grid went dead: the converter stops at once (not a protection trip)."""
        self.advance_to(t)
        self.supply_on = False
        self._disconnect(t, t)

    def supply_restored(self, t: float) -> None:
        self.advance_to(t)
        self.supply_on = True
        self._healthy_since = None

    # -- time --------------------------------------------------------------------------

    def advance_to(self, t_end: float) -> None:
        """Apply every protection and reconnection event up to ``t_end``, in order."""
        while True:
            event = self._next_event(t_end)
            if event is None:
                break
            t_event, apply = event
            self._t = t_event
            apply(t_event)
        self._t = max(self._t, t_end)

    def next_event_time(self, t_end: float) -> float | None:
        """When the next protection or reconnection event happens, if it is at or before ``t_end`` (a peek:
        nothing changes). The lab splits its own solving at these instants."""
        event = self._next_event(t_end)
        return None if event is None else event[0]

    def _next_event(self, t_end: float):
        if self.connected:
            return self._next_protection_event(t_end)
        if self.supply_on:
            return self._next_reconnection_event(t_end)
        return None

    def _next_protection_event(self, t_end: float):
        best = None
        for st in self._stages:
            if st.pickup_s is None:
                t = first_instant_all([st.bound], self._t, t_end, st.period_s)
                candidate = None if t is None else (t, lambda t_, st=st: setattr(st, "pickup_s", t_))
            else:
                t_operate = ceil_to_grid(st.pickup_s + st.stage.delay_s, st.period_s)
                t_drop = first_instant_any_fails([st.bound], self._t, min(t_end, t_operate), st.period_s)
                if t_drop is not None and t_drop < t_operate:
                    candidate = (t_drop, lambda t_, st=st: setattr(st, "pickup_s", None))
                elif t_operate <= t_end:
                    candidate = (t_operate, lambda t_, st=st: self._operate(st, t_))
                else:
                    candidate = None
            if candidate is not None and (best is None or candidate[0] < best[0]):
                best = candidate
        return best

    def _next_reconnection_event(self, t_end: float):
        period = self.profile.reconnection.evaluation_period_s
        if self._healthy_since is None:
            t = first_instant_all(self._health, self._t, t_end, period)
            return None if t is None else (t, self._became_healthy)
        t_connect = ceil_to_grid(self._healthy_since + self.profile.reconnection.delay_s, period)
        t_lost = first_instant_any_fails(self._health, self._t, min(t_end, t_connect), period)
        if t_lost is not None and t_lost < t_connect:
            return (t_lost, self._lost_health)
        if t_connect <= t_end:
            return (t_connect, self._connect)
        return None

    # -- state changes -------------------------------------------------------------------

    def _became_healthy(self, t: float) -> None:
        self._healthy_since = t

    def _lost_health(self, t: float) -> None:
        self._healthy_since = None

    def _connect(self, t: float) -> None:
        self.connected = True
        self._healthy_since = None
        for st in self._stages:
            st.pickup_s = None
        self.conduction.start(t)

    def _operate(self, st: _StageState, t: float) -> None:
        opened = t + self.profile.disconnection_time_s
        self.trips.append(TripEvent(st.stage.name, t, opened))
        self._disconnect(t, opened)

    def _disconnect(self, t: float, opened: float) -> None:
        if self.connected:
            self.conduction.stop(opened)
        self.connected = False
        self._healthy_since = None
        for st in self._stages:
            st.pickup_s = None

    # -- what the instruments see ----------------------------------------------------------

    def current_rms(self, times: np.ndarray, voltage_rms: np.ndarray) -> np.ndarray:
        """Rms output current: the set power at the terminal voltage, within the current rating."""
        p = abs(self.profile.operating_point.export_power_w)
        with np.errstate(divide="ignore"):
            i = np.where(voltage_rms > 1.0, p / np.maximum(voltage_rms, 1.0), 0.0)
        i = np.minimum(i, self.profile.rating.current_a)
        return np.where(self.conduction.mask(times), i, 0.0)

    def overcurrent_bounds(self, limit_a: float) -> list[Bound] | None:
        """While conducting, the output current exceeds ``limit_a`` exactly when these bounds on the
        terminal voltage hold (current min(P / v, rating) above 1 V); None if it never can."""
        p = abs(self.profile.operating_point.export_power_w)
        if p <= 0.0 or self.profile.rating.current_a <= limit_a:
            return None
        floor = Bound(self._voltage, ">", 1.0)
        return [floor] if limit_a <= 0.0 else [Bound(self._voltage, "<", p / limit_a), floor]

    @property
    def exports(self) -> bool:
        return self.profile.operating_point.export_power_w >= 0
