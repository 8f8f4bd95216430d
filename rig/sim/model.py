"""The physics of the simulated bench at one instant: grid terminals, charger and CAN bus.

One stateful model shared by every simulated instrument, so what the grid
source is told, what the charger does and what the scope captures are the
same event history. Time moves only through ``advance_to``.

The grid source guards itself: its rms current limit (``SOUR:CURR:LIM``)
trips it (output off, fault latched) the first instant, on its 1 ms
protection grid, that the charger's current exceeds the limit. That instant
is solved, not polled: between two charger events the charger's conduction
is fixed and its current is min(P / v, rating), so it exceeds a limit L
exactly when the terminal voltage v is below P / L (and above the charger's
1 V floor), a bound on a piecewise-linear signal (``rig.sim.predicates``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rig.sim.wire.can_bus import SAME_INSTANT_S, CanBus
from rig.sim.charger.chademo_port import wire_chademo
from rig.sim.charger.ac_port import ChargerClock, SimulatedCharger
from rig.sim.charger.ocpp_face import OcppFace
from rig.sim.connector import ContactLines
from rig.sim.instruments.dc_source import DcBus, DcSource
from rig.sim.charger.dut_profile import DutProfile
from rig.sim.charger.export_limit import ExportLimiter
from rig.sim.instruments.grid_source import GridSource
from rig.sim.island import PointOfConnection
from rig.sim.predicates import Bound, EvaluationGrid, first_instant_all, first_instant_any_fails
from rig.sim.signal import PiecewiseLinear
from rig.sim.site import HouseholdSite

PROTECTION_PERIOD_S = 0.001
"""The grid source evaluates its current limit every millisecond (the sim's assumption)."""
PROTECTION_GRID = EvaluationGrid(PROTECTION_PERIOD_S)


@dataclass(frozen=True)
class EventSource:
    """A lab component with events of its own: when its next one is due, and how to run it up to an instant."""

    name: str
    next_event_time: Callable[[], float | None]
    run_to: Callable[[float], None]


class ChargerMeter:
    """What the OCPP face reads of the rest of the charger: its DC meter, the plug, and the CHAdeMO controller it
    lets move energy (``rig.sim.charger.ocpp_face.Physical``)."""

    def __init__(self, model: LabModel) -> None:
        self._model = model

    def energy_wh(self, t: float) -> float:
        return self._model.dc_bus.energy_wh(t)

    def energy_moved_wh(self, t: float) -> tuple[float, float]:
        return self._model.dc_bus.energy_moved_wh(t)

    def grid_frequency_hz(self, t: float) -> float:
        return self._model.frequency.at(t)

    def external_setpoint_w(self) -> float | None:
        return self._model.charger.external_setpoint_w

    def dc_current_a(self) -> float:
        return self._model.dc_bus.current_a()

    def dc_voltage_v(self) -> float:
        return self._model.dc_bus.inlet_voltage_v()

    def plugged(self) -> bool:
        return self._model.connector.value("proximity")

    def permit_changed(self, t: float) -> None:
        self._model.chademo.wake(t)


class LabModel:
    """Terminal voltage and frequency, the grid source driving them and the charger on them."""

    def __init__(self, profile: DutProfile, seed: int, *, clock: ChargerClock | None = None) -> None:
        """``clock``: the charger's time base; by default as its profile describes it in the lab seeded ``seed``
        (``ChargerClock.drawn``)."""
        self.profile = profile
        self.seed = seed
        self.now = 0.0
        self.voltage = PiecewiseLinear(0.0, 0.0)
        self.frequency = PiecewiseLinear(0.0, profile.ac_port.rating.nominal_frequency_hz)
        self.phase_deg = PiecewiseLinear(0.0, 0.0)
        self.charger = SimulatedCharger(profile, self.voltage, self.frequency,
                                        clock=ChargerClock.drawn(profile, seed) if clock is None else clock,
                                        phase_deg=self.phase_deg)
        self.grid = GridSource(self.voltage, self.frequency, on_relay=self._relay, phase_deg=self.phase_deg)
        self.island = PointOfConnection(self.voltage, self.frequency, self.phase_deg, self.grid, self.charger)
        """Grid switch S1 and the RLC load at the charger's point of connection (``rig.sim.island``)."""
        self.site = HouseholdSite(self.voltage)
        """The household behind the boundary: load banks and the boundary CT (``rig.sim.site``; G100)."""
        if profile.export_limitation is not None:
            self.charger.export_limiter = ExportLimiter(profile.export_limitation, self.site, self.charger.clock, seed,
                                                        profile.ac_port.operating_point.export_power_w)
        self.connector = ContactLines()
        """The CHAdeMO contact lines and the vehicle contactor coil (``rig.sim.connector``)."""
        self.dc_bus = DcBus(DcSource())
        """The DC link: charger DC port, vehicle contactor, battery emulator (``rig.sim.instruments.dc_source``)."""
        self.connector.subscribe("contactor", self.dc_bus.set_contactor)
        self.connector.subscribe("proximity", self.charger.vehicle_plugged)  # standby or idle-connected power
        self.can = CanBus(lambda: self.now)
        """The CAN bus the lab serves to the rig (``rig.sim.wire.can_server``) and its components use."""
        self.chademo = wire_chademo(self, phase_s=float(np.random.default_rng([seed, 3]).uniform(0.0, 1.0))
                                    * profile.chademo.control_period_s)
        """The charger's CHAdeMO controller, its control cycle at a phase drawn from the seed."""
        self._measurement_rng = np.random.default_rng([seed, 0])
        self._captures = 0
        self._held = False
        self.event_sources: list[EventSource] = []
        """The components with events of their own, each registered once (a new face registers itself here)."""
        self.register(EventSource("CAN bus timers", self.can.next_event_time, self.can.run_due))
        self.register(EventSource("CHAdeMO control steps", self.chademo.next_event_time, self.chademo.advance_to))
        self.register(EventSource("grid switch S1", self.island.next_event_time, self.island.run_due))
        self.ocpp: OcppFace | None = None
        """The charger's OCPP client (``rig.sim.charger.ocpp_face``), when its profile gives it one."""
        if profile.ocpp is not None:
            self.ocpp = OcppFace(profile.ocpp, lambda: self.now, self.hold, ChargerMeter(self))
            self.register(EventSource("OCPP timers", self.ocpp.next_event_time, self.ocpp.run_to))
            self.connector.subscribe("proximity", self.ocpp.plugged)
            self.chademo.permit = self.ocpp.permits_energy
            self.chademo.limit_a = self.ocpp.limit_a
            self.chademo.v2x_target_w = self.ocpp.v2x_target_w
            self.chademo.v2x = profile.ocpp.v2x
            self.chademo.dc_power_for_ac = profile.losses.dc_power_for_ac

    def _relay(self, t: float, closed: bool) -> None:
        if self.island.switch_open:
            return  # the source's relay is behind the open grid switch: the charger sees the island
        if closed:
            self.charger.supply_restored(t)
        else:
            self.charger.supply_lost(t)
        self.chademo.wake(t)  # it notices its supply at its next control step
        if self.ocpp is not None:
            self.ocpp.power(t, closed)

    def register(self, source: EventSource) -> None:
        """Add a component with events of its own; at one instant, sources run in the order they registered."""
        self.event_sources.append(source)

    def hold(self) -> None:
        """Stop the advance running now after this instant's events: a component sent something the rig must
        answer at this instant (an OCPP CALL) before time goes on."""
        self._held = True

    def take_hold(self) -> bool:
        """Whether a component held since the last call (and clear it)."""
        held, self._held = self._held, False
        return held

    def advance_to(self, t: float) -> float:
        """Bring the lab up to ``t``, event by event: each registered source's events (the CAN bus's timers, the
        charger's CHAdeMO control steps, the grid switch operating) are events too, in registration order at
        one instant. Returns the instant reached: ``t``, or an earlier one a component asked to stop at
        (``hold``)."""
        sources = self.event_sources
        self._held = False
        while True:
            due = [x for x in (source.next_event_time() for source in sources)
                   if x is not None and x <= t + SAME_INSTANT_S]
            if not due:
                break
            t_next = min(due)
            self._advance_grid_and_charger_to(t_next)
            for source in sources:
                source.run_to(t_next)
            if self._held:
                return max(self.now, t_next)
        self._advance_grid_and_charger_to(t)
        return t

    def _advance_grid_and_charger_to(self, t: float) -> None:
        """Bring the charger and the grid source's protection up to ``t``, event by event."""
        if t < self.now:
            return
        self.dc_bus.advance_to(t)  # the battery emulator's watchdog: its only event of its own
        while self._source_can_trip():
            # Split at the charger's next event: in between its conduction is fixed.
            t_event = self.charger.next_event_time(t)
            end = t if t_event is None else t_event
            t_trip = self._first_overcurrent(self.now, end)
            if t_trip is not None:
                self.charger.advance_to(t_trip)
                self.now = t_trip
                self.grid.trip(t_trip, f"OCP: current above the {self.grid.current_limit_a:g} A limit")
                continue
            self.charger.advance_to(end)
            self.now = end
            if end >= t:
                return
        self.charger.advance_to(t)
        self.now = t

    def _source_can_trip(self) -> bool:
        return (self.grid.energized and not self.island.switch_open
                and self.charger.overcurrent_bounds(self.grid.current_limit_a) is not None)

    def _first_overcurrent(self, a: float, b: float) -> float | None:
        """First protection-grid instant in [a, b] at which the source's over-current protection trips: the
        charger's current has exceeded the source's limit at every evaluation for the source's trip delay
        (``GridSource.overcurrent_delay_s``; 0: at the first one over)."""
        bounds = self.charger.overcurrent_bounds(self.grid.current_limit_a)
        if bounds is None:
            return None
        delay = self.grid.overcurrent_delay_s
        for t_on, t_off in self.charger.conduction.intervals:
            assert t_on is not None  # an interval always has its start
            # A pickup up to one delay before ``a`` may trip inside [a, b]: history before ``a`` is fixed.
            lo, hi = max(a - delay, t_on), min(b, math.inf if t_off is None else t_off)
            t_trip = self._held_over(bounds, lo, hi, delay) if lo <= hi else None
            if t_trip is not None and self.charger.conduction.conducting_at(t_trip):
                return max(t_trip, PROTECTION_GRID.at_or_after(a))
        return None

    @staticmethod
    def _held_over(bounds: list[Bound], lo: float, hi: float, delay: float) -> float | None:
        """The first evaluation in [lo, hi] at which ``bounds`` has held for ``delay`` since it last did not."""
        start = lo
        while start <= hi:
            pickup = first_instant_all(bounds, start, hi, PROTECTION_GRID)
            if pickup is None or delay <= 0.0:
                return pickup
            trip = PROTECTION_GRID.at_or_after(pickup + delay)
            if trip > hi:
                return None  # not (yet) held long enough: a later step searches from one delay back
            dropped = first_instant_any_fails(bounds, pickup, trip, PROTECTION_GRID)
            if dropped is None:
                return trip
            start = dropped
        return None

    # -- what instruments measure -----------------------------------------------------

    def current_rms_at(self, t: float) -> float:
        times = np.array([t])
        return float(self.charger.current_rms(times, self.voltage.sample(times))[0])

    def noisy(self, value: float, sigma: float) -> float:
        """A reading with seeded measurement noise (instrument resolution is the caller's)."""
        return value + (float(self._measurement_rng.normal(0.0, sigma)) if sigma > 0 else 0.0)

    def waveforms(self, times: np.ndarray) -> dict[str, np.ndarray]:
        """Instantaneous terminal voltage and charger current at ``times`` (seeded noise per capture).

        A capture is up to a few hundred thousand samples per channel, so the
        phase's sine is computed once for both channels and the noise added in
        place; the values are the same, bit for bit, as computing each anew
        (``tests/sim/test_sim_lab_wire.py`` holds the bytes the scope sends).
        """
        self._captures += 1
        rng = np.random.default_rng([self.seed, 1, self._captures])
        v_rms = self.voltage.sample(times)
        theta = 2.0 * np.pi * self.frequency.integral(times) + np.deg2rad(self.phase_deg.sample(times))
        wave = np.sin(theta)
        i_rms = self.charger.current_rms(times, v_rms)
        # Exporting current is in antiphase with the voltage (load reference frame).
        sign = np.where(self.charger.exports_at(times), -1.0, 1.0)
        i = sign * np.sqrt(2.0) * i_rms * wave
        if self.profile.ac_port.waveform.distorts:  # harmonics, DC, displacement (rig.sim.charger.waveform); a pure sine keeps i
            i = sign * self.profile.ac_port.waveform.current(theta, i_rms)
        noise = self.profile.ac_port.current_noise_a
        if noise > 0:
            i += rng.normal(0.0, noise, times.shape)
        v = np.sqrt(2.0) * v_rms * wave
        return {"current": i, "voltage": v}
