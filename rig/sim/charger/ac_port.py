"""The V2G charger under test, as the simulated lab sees it.

A grid-tied converter that exports (or imports) a set power while it is
connected, guarded by definite-time interface protection stages that look at
the terminal voltage and frequency through the charger's own measurement
method, and a reconnection timer. It is advanced event by event: pickup,
drop-out, operate, reconnect, each found in closed form from the grid's
piecewise-linear signals (see ``rig.sim.predicates``).

The charger keeps its own time (``ChargerClock``): it counts its delays on a
clock that runs fast or slow by a small rate error (its crystal's: a property
of the unit, drawn from its identity unless the profile sets it). Its
evaluation cycle is either locked to the grid (the default, as a measurement
over whole half-cycles and zero crossings is: evaluations a fixed processing
time after the zero crossings of the lab's nominal cycle, so a disturbance the
grid simulator starts at a defined phase meets them at the same point in every
run) or free-running on its own clock (its phase against the lab drawn from the
lab's seed, drifting with the rate error during a run).

A definite-time stage picks up at the first evaluation that sees the value
beyond its threshold and operates at the first evaluation at or after
pickup + delay, provided the value is beyond the threshold at every
evaluation from pickup up to and including that one; at the first
evaluation where it is not, the stage drops out. The reconnection timer
follows the same rule.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rig.sim.charger.dut_profile import DRAWN_RATE_ERROR_PPM, DutProfile, MeasurementMethod, ProtectionStage
from rig.sim.charger.export_limit import ExportLimiter
from rig.sim.charger.export_setpoint import ExportSetpoint
from rig.sim.charger.frequency_response import operating_power_w
from rig.sim.predicates import Bound, EvaluationGrid, first_instant_all, first_instant_any_fails
from rig.sim.signal import PhaseRate, PiecewiseLinear, Signal, WindowedSlope


@dataclass(frozen=True)
class ChargerClock:
    """The charger's time base against the lab's: its rate error and the phase of each evaluation grid.

    A delay (or a free-running period) of ``x`` seconds on the charger's clock lasts
    ``x / (1 + rate_error_ppm * 1e-6)`` s of lab time. Each phase is the fraction of its grid's period, in
    [0, 1), by which that grid's evaluations follow the lab's t = 0: voltage stages, frequency stages and the
    reconnection timer each have one.

    ``grid_locked``: the evaluation cycle is locked to the grid voltage (a PLL, zero crossings), so its periods
    are the grid's, exact in lab time whatever the rate error, and every grid is ``n * period`` of the lab's
    nominal cycle (at 50 Hz and phase 0, each instant a zero crossing of the grid simulator's output while it
    runs at its nominal frequency) plus ``after_zero_crossing_s``, its fixed processing time; its delays are
    still counted on the charger's clock. Otherwise the cycle free-runs on the charger's clock and its phase
    drifts against the lab's with the rate error.
    """

    rate_error_ppm: float = 0.0
    voltage_phase: float = 0.0
    frequency_phase: float = 0.0
    reconnection_phase: float = 0.0
    grid_locked: bool = False
    after_zero_crossing_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("voltage_phase", "frequency_phase", "reconnection_phase"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} is a fraction of a period in [0, 1), got {getattr(self, name)!r}")
        if not self.after_zero_crossing_s >= 0.0:
            raise ValueError("after_zero_crossing_s is a time after a zero crossing (>= 0), "
                             f"got {self.after_zero_crossing_s!r}")

    @classmethod
    def drawn(cls, profile: DutProfile, seed: int) -> "ChargerClock":
        """The clock of the charger in the lab seeded ``seed``.

        The rate error is the unit's (``profile.clock.rate_error_ppm``, else ``unit_rate_error_ppm`` of its
        identity): the same in every run. A grid-locked cycle (``profile.clock.cycle``, the default) sits
        ``profile.clock.after_zero_crossing_s`` after the zero crossings of the lab's nominal cycle in every run
        (not on them, where a charger with no measurement latency would see a step at the very instant the grid
        simulator makes it and trip exactly at its delay); a free-running one at phases uniform in [0, 1) drawn
        from the seed. The seed's draws are made whatever the profile says (a rate draw first, which only keeps
        each seed's phases as they have always been), so the phases of a seed do not depend on it."""
        rng = np.random.default_rng([seed, 2])  # streams 0 and 1 are the lab's measurement noise
        rng.uniform(-DRAWN_RATE_ERROR_PPM, DRAWN_RATE_ERROR_PPM)  # once the run's rate error; kept for the phases
        phases = [float(x) for x in rng.uniform(0.0, 1.0, 3)]
        rate = profile.clock.rate_error_ppm
        if rate is None:
            rate = unit_rate_error_ppm(profile)
        if profile.clock.cycle == "grid_locked":
            return cls(rate, grid_locked=True, after_zero_crossing_s=profile.clock.after_zero_crossing_s)
        return cls(rate, *phases)

    def lab_seconds(self, charger_seconds: float) -> float:
        """How long ``charger_seconds`` counted by the charger's clock last in lab time."""
        return charger_seconds / (1.0 + self.rate_error_ppm * 1e-6)

    def grid(self, period_s: float, phase: float) -> EvaluationGrid:
        """The lab-time grid of evaluations every ``period_s`` (of the grid's time when locked to it, else of the
        charger's), at ``phase`` (and, locked, ``after_zero_crossing_s`` later)."""
        if self.grid_locked:
            return EvaluationGrid(period_s, (phase * period_s + self.after_zero_crossing_s) % period_s)
        period = self.lab_seconds(period_s)
        return EvaluationGrid(period, phase * period)


def unit_rate_error_ppm(profile: DutProfile) -> float:
    """The clock-rate error of the unit a profile describes, when the profile does not set it: uniform in
    +-DRAWN_RATE_ERROR_PPM, drawn from its manufacturer, model and serial (not its firmware: the crystal is the
    hardware's), so one unit runs at one rate in every run and another serial at another."""
    who = profile.identity
    digest = hashlib.sha256("\n".join((who.manufacturer, who.model, who.serial)).encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "big"))
    return float(rng.uniform(-DRAWN_RATE_ERROR_PPM, DRAWN_RATE_ERROR_PPM))


GAUSS_NODES, GAUSS_WEIGHTS = np.polynomial.legendre.leggauss(8)
QUADRATURE_PIECE_S = 0.25
"""Where its export varies smoothly (its operating point ramping to a limit, following the frequency), the AC
integrals are Gauss-Legendre quadratures (8 nodes) over pieces of at most this length: exact for steps, ramps
and polynomials, within about 1e-9 of the exact value for its first-order ramps (time constants of 0.3 s and
more)."""

ALIGNED_CLOCK = ChargerClock()
"""An exact clock whose every grid starts at the lab's t = 0: evaluations at n * period (what a grid-locked
cycle is too, on an exact clock)."""


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
    grid: EvaluationGrid
    delay_s: float  # lab time
    pickup_s: float | None = None
    lookahead: _Lookahead | None = None


@dataclass(frozen=True)
class _Lookahead:
    """A stage's first pickup searched ahead: the first evaluation in [t_from, t_to] at which its bound holds
    (``found``, None if none), true while its signal's ``version`` is unchanged."""

    version: int
    t_from: float
    t_to: float
    found: float | None


PICKUP_LOOKAHEAD_S = 30.0
"""How far ahead (lab seconds) a stage that has not picked up searches for its pickup. The search costs about
the same for 30 s of a steady grid as for 0.1 s, and the lab advances in short steps (a CAN cycle); the answer
is kept until the signal is reprogrammed, so a steady grid is searched once per 30 s instead of every step."""


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

    def __init__(self, profile: DutProfile, voltage: PiecewiseLinear, frequency: PiecewiseLinear, *,
                 clock: ChargerClock, t0: float = 0.0, phase_deg: PiecewiseLinear | None = None):
        """``phase_deg``: the terminal voltage's phase offset (vector shifts); omitted, it never jumps."""
        self.profile = profile
        self.clock = clock
        self._voltage = voltage
        self._frequency = frequency
        self._phase_deg = PiecewiseLinear(t0, 0.0) if phase_deg is None else phase_deg
        window = profile.ac_port.measurement.frequency.phase_window_s
        self._measured_frequency: Signal = (frequency if window is None
                                            else PhaseRate(frequency, self._phase_deg, window))
        """The frequency its protection measures: a phase jump reads as an excursion for one window."""
        self._t = t0
        self.connected = False
        self.supply_on = False
        self._healthy_since: float | None = None
        self.trips: list[TripEvent] = []
        self.conduction = ConductionLog()
        self.stop_listeners: list[Callable[[float], None]] = []
        """Called with the instant its output stops conducting (a trip's relay opening, a lost supply), from
        inside its event loop: an island it alone fed collapses then (``rig.sim.island``)."""
        self.session_active = PiecewiseLinear(t0, 0.0)
        """1 while a vehicle session (CHAdeMO) drives the AC side, else 0 (steps only)."""
        self.session_power = PiecewiseLinear(t0, 0.0)
        """The AC power a vehicle session exports (W, negative imports; steps only)."""
        self.export_limiter: ExportLimiter | None = None
        """Its G100 export limitation (``rig.sim.charger.export_limit``), fitted by the lab model when the profile has one."""
        self.export_setpoint = ExportSetpoint(profile.power_control, profile.ac_port.operating_point.export_power_w)
        self.external_setpoint_w: float | None = None
        """The active power (W, positive charging) an external system (an EMS, through its SunSpec storage controls)
        last set, None when none: what its OCPP 2.1 station follows in ExternalSetpoint mode."""
        """The export limit written to its SunSpec controls (``rig.sim.charger.sunspec_face``) and its ramp there."""
        self.standby_draw = PiecewiseLinear(t0, 0.0)
        """What it draws from the grid outside a vehicle session while its export is limited to 0 and its supply is
        on (W, steps only): its standby power, or its idle-connected power while a vehicle is plugged
        (``rig.sim.charger.losses``). 0 otherwise: the G99 type-test arrangement exports its operating point."""
        self._plugged = False
        self._draws = False  # whether standby_draw ever stepped (a charger that never did exports bit for bit as before)
        self._stages = [self._stage_state(s) for s in profile.ac_port.protection]
        rc = profile.ac_port.reconnection
        vm, fm = profile.ac_port.measurement.voltage, profile.ac_port.measurement.frequency
        self._reconnection_grid = clock.grid(rc.evaluation_period_s, clock.reconnection_phase)
        self._reconnection_delay_s = clock.lab_seconds(rc.delay_s)
        self._health = [
            self._bound(voltage, vm, ">=", rc.voltage_v.min),
            self._bound(voltage, vm, "<=", rc.voltage_v.max),
            self._bound(self._measured_frequency, fm, ">=", rc.frequency_hz.min),
            self._bound(self._measured_frequency, fm, "<=", rc.frequency_hz.max),
        ]

    # -- construction helpers -----------------------------------------------------

    @staticmethod
    def _bound(signal: Signal, method: MeasurementMethod, op, threshold: float, *, scale: float = 1.0) -> Bound:
        """``scale``: measured units per signal unit (a vector shift is a windowed slope times its window)."""
        return Bound(signal, op, threshold, method.latency_s, scale * (1.0 + method.gain_error), method.offset)

    def _stage_state(self, stage: ProtectionStage) -> _StageState:
        method = getattr(self.profile.ac_port.measurement, stage.quantity)
        signal: Signal
        scale = 1.0
        if stage.quantity == "rocof":
            signal = WindowedSlope(self._measured_frequency, method.window_s)
        elif stage.quantity == "vector_shift":
            signal, scale = WindowedSlope(self._phase_deg, method.window_s), method.window_s
        else:
            signal = self._voltage if stage.quantity == "voltage" else self._measured_frequency
        op = ">=" if stage.direction == "over" else "<="
        return _StageState(stage, self._bound(signal, method, op, stage.threshold, scale=scale),
                           self.evaluation_grid(stage.quantity), self.clock.lab_seconds(stage.delay_s))

    def evaluation_grid(self, quantity: str) -> EvaluationGrid:
        """The lab-time instants at which the stages on ``quantity`` (voltage, frequency, rocof, vector_shift) are
        evaluated (RoCoF on the frequency measurement's phase: it is computed from that measurement; a vector
        shift on the voltage measurement's)."""
        method = getattr(self.profile.ac_port.measurement, quantity)
        phase = {"rocof": "frequency", "vector_shift": "voltage"}.get(quantity, quantity)
        return self.clock.grid(method.evaluation_period_s, getattr(self.clock, f"{phase}_phase"))

    # -- supply events (the grid simulator's output relay) ----------------------------

    def supply_lost(self, t: float) -> None:
        """The grid went dead: the converter stops at once (not a protection trip)."""
        self.advance_to(t)
        self.supply_on = False
        self._disconnect(t, t)
        self._update_standby(t)

    def supply_restored(self, t: float) -> None:
        self.advance_to(t)
        self.supply_on = True
        self._healthy_since = None
        self._update_standby(t)

    # -- its controls and the plug (standby and idle) ------------------------------------------

    def limit_export(self, t: float, limit_w: float | None) -> None:
        """A limit written to its SunSpec controls from ``t`` (W; None releases it): its export ramps there
        (``rig.sim.charger.export_setpoint``), and limited to 0 it draws its standby or idle power."""
        self.export_setpoint.command(t, limit_w)
        self._update_standby(t)

    def vehicle_plugged(self, t: float, plugged: bool) -> None:
        """The vehicle's proximity line changed: plugged, it idles connected (standby otherwise)."""
        self._plugged = plugged
        self._update_standby(t)

    def _update_standby(self, t: float) -> None:
        losses = self.profile.losses
        draws = (self.supply_on and self.export_setpoint.limit_w == 0.0 and self.session_active.at(t) < 0.5)
        value = (losses.idle_connected_w if self._plugged else losses.standby_w) if draws else 0.0
        if self.standby_draw.at(t) != value:
            self.standby_draw.step(t, value)
            self._draws = True

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
                t = self._first_pickup(st, t_end)
                candidate = None if t is None else (t, lambda t_, st=st: setattr(st, "pickup_s", t_))
            else:
                # The operate evaluation is one of those that must still see the value beyond the
                # threshold: a drop-out found at or before it (a tie included) wins.
                t_operate = st.grid.at_or_after(st.pickup_s + st.delay_s)
                t_drop = first_instant_any_fails([st.bound], self._t, min(t_end, t_operate), st.grid)
                if t_drop is not None:
                    candidate = (t_drop, lambda t_, st=st: setattr(st, "pickup_s", None))
                elif t_operate <= t_end:
                    candidate = (t_operate, lambda t_, st=st: self._operate(st, t_))
                else:
                    candidate = None
            if candidate is not None and (best is None or candidate[0] < best[0]):
                best = candidate
        return best

    def _first_pickup(self, st: _StageState, t_end: float) -> float | None:
        """The first evaluation in [now, t_end] at which the stage's bound holds: what
        ``first_instant_all([st.bound], now, t_end, st.grid)`` returns, from a search up to
        ``PICKUP_LOOKAHEAD_S`` ahead that is reused while the signal is unchanged (the first instant after
        t_from that is at or after now is also the first after now)."""
        version = st.bound.signal.version
        ahead = st.lookahead
        if (ahead is None or ahead.version != version or self._t < ahead.t_from or t_end > ahead.t_to
                or (ahead.found is not None and ahead.found < self._t)):
            t_to = max(t_end, self._t + PICKUP_LOOKAHEAD_S)
            ahead = st.lookahead = _Lookahead(version, self._t, t_to,
                                              first_instant_all([st.bound], self._t, t_to, st.grid))
        return ahead.found if ahead.found is not None and ahead.found <= t_end else None

    def _next_reconnection_event(self, t_end: float):
        grid = self._reconnection_grid
        if self._healthy_since is None:
            t = first_instant_all(self._health, self._t, t_end, grid)
            return None if t is None else (t, self._became_healthy)
        # As for a stage: health lost at the connect evaluation itself means no connection.
        t_connect = grid.at_or_after(self._healthy_since + self._reconnection_delay_s)
        t_lost = first_instant_any_fails(self._health, self._t, min(t_end, t_connect), grid)
        if t_lost is not None:
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
        opened = t + self.profile.ac_port.disconnection_time_s
        self.trips.append(TripEvent(st.stage.name, t, opened))
        self._disconnect(t, opened)

    def _disconnect(self, t: float, opened: float) -> None:
        if self.connected:
            self.conduction.stop(opened)
            for listener in self.stop_listeners:
                listener(opened)
        self.connected = False
        self._healthy_since = None
        for st in self._stages:
            st.pickup_s = None

    # -- what the instruments see ----------------------------------------------------------

    def export_power_w(self, times: np.ndarray) -> np.ndarray:
        """AC power exported at each instant (W; negative imports): a vehicle session's, else the operating
        point's while connected (the G99 behaviour: it exports once its reconnection timer has run), as its
        frequency response makes it follow the grid frequency (``rig.sim.charger.frequency_response``; none by default). In
        order: an export limit on its controls caps the operating point (``rig.sim.charger.export_setpoint``), the frequency
        response scales what is left, the G100 limiter scales that. Limited to 0 outside a session, it draws its standby
        (or, plugged, idle-connected) power besides (``standby_draw``)."""
        session = self.session_active.sample(times) > 0.5
        p_session = self.session_power.sample(times)
        p_operating = operating_power_w(self.profile.frequency_response, self.profile.ac_port.operating_point.export_power_w,
                                        self._frequency, self.profile.ac_port.rating.nominal_frequency_hz, times)
        if self.export_setpoint.commanded and self.profile.ac_port.operating_point.export_power_w > 0.0:
            # A limit on its SunSpec controls caps the operating point; the frequency response acts on what is left.
            p_operating = p_operating * (self.export_setpoint.capped(times)
                                         / self.profile.ac_port.operating_point.export_power_w)
        if self.export_limiter is not None:  # G100: the site boundary's export limit scales what it lets out
            p_operating = self.export_limiter.scale(times, p_operating, self.profile.ac_port.operating_point.export_power_w)
        p_connected = np.where(self.conduction.mask(times), p_operating, 0.0)
        if self._draws:  # limited to 0 it draws its standby (or idle) power, whatever its converter still exports
            p_connected = p_connected - self.standby_draw.sample(times)
        return np.where(session, p_session, p_connected)

    def current_rms(self, times: np.ndarray, voltage_rms: np.ndarray) -> np.ndarray:
        """Rms output current: the power at the terminal voltage, within the current rating."""
        p = np.abs(self.export_power_w(times))
        with np.errstate(divide="ignore"):
            i = np.where(voltage_rms > 1.0, p / np.maximum(voltage_rms, 1.0), 0.0)
        return np.minimum(i, self.profile.ac_port.rating.current_a)

    def exports_at(self, times: np.ndarray) -> np.ndarray:
        """Whether power flows into the grid at each instant (the current is then in antiphase)."""
        session = self.session_active.sample(times) > 0.5
        idle = (self.export_power_w(times) >= 0.0 if self._draws
                else self.profile.ac_port.operating_point.export_power_w >= 0)
        return np.where(session, self.session_power.sample(times) >= 0.0, idle)

    def ac_integrals(self, t0: float, t1: float) -> tuple[float, float]:
        """The integrals over [``t0``, ``t1``] (lab time, both in the past) of the AC power into the charger
        (J: positive while it draws from the grid, negative while it exports) and of its rms current (A s): what
        a power analyzer at its AC terminals accumulates. Split at every instant its power or the terminal
        voltage steps or bends (session and standby steps, conduction edges, limit commands, the grid's
        breakpoints), so exact while its power is piecewise constant (a vehicle session, standby, idle); where
        its operating point ramps, a quadrature (``QUADRATURE_PIECE_S``)."""
        if t1 <= t0:
            return 0.0, 0.0
        edges = {t0, t1}
        for signal in (self.session_active, self.session_power, self.standby_draw, self._voltage, self._frequency):
            edges.update(signal.breakpoints(t0, t1))
        for interval in self.conduction.intervals:
            edges.update(x for x in interval if x is not None and t0 < x < t1)
        edges.update(x for x in self.export_setpoint.command_times if t0 < x < t1)
        cuts = np.array(sorted(edges))
        a, b = cuts[:-1], cuts[1:]
        mids = 0.5 * (a + b)
        smooth = (self.session_active.sample(mids) < 0.5) & self.conduction.mask(mids)
        n = np.where(smooth, np.maximum(np.ceil((b - a) / QUADRATURE_PIECE_S), 1.0), 1.0).astype(int)
        widths = np.repeat((b - a) / n, n)
        starts = np.repeat(a, n) + np.concatenate([np.arange(k) for k in n]) * widths
        times = (starts[:, None] + widths[:, None] * 0.5 * (GAUSS_NODES + 1.0)).ravel()
        weights = (widths[:, None] * 0.5 * GAUSS_WEIGHTS).ravel()
        p_out = self.export_power_w(times)
        volts = self._voltage.sample(times)
        with np.errstate(divide="ignore"):
            amps = np.where(volts > 1.0, np.abs(p_out) / np.maximum(volts, 1.0), 0.0)
        amps = np.minimum(amps, self.profile.ac_port.rating.current_a)
        return float(-(weights @ p_out)), float(weights @ amps)

    def set_session_power(self, t: float, export_w: float | None) -> None:
        """A vehicle session drives the AC side from ``t`` on (``export_w`` W, negative imports); None ends it."""
        active = 0.0 if export_w is None else 1.0
        if self.session_active.at(t) != active:
            self.session_active.step(t, active)
        value = 0.0 if export_w is None else export_w
        if self.session_power.at(t) != value:
            self.session_power.step(t, value)
        self._update_standby(t)  # a session's power is its own: no standby draw beside it

    def overcurrent_bounds(self, limit_a: float) -> list[Bound] | None:
        """While conducting, the output current exceeds ``limit_a`` exactly when these bounds on the
        terminal voltage hold (current min(P / v, rating) above 1 V); None if it never can. P is the operating
        point's: a frequency response only lowers it, so with one the bounds are necessary, not sufficient."""
        p = abs(self.profile.ac_port.operating_point.export_power_w)
        if p <= 0.0 or self.profile.ac_port.rating.current_a <= limit_a:
            return None
        floor = Bound(self._voltage, ">", 1.0)
        return [floor] if limit_a <= 0.0 else [Bound(self._voltage, "<", p / limit_a), floor]

    @property
    def exports(self) -> bool:
        """Whether it exports at the charger's present time (the sign of its current)."""
        return bool(self.exports_at(np.array([self._t]))[0])
