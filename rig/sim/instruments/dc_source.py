"""The DC side of the simulated lab: the battery emulator and the DC bus it shares with the charger.

Two vendor-neutral pieces, kept apart from the AC physics in ``rig.sim.model``:

- ``DcSource``: a bidirectional DC source/sink emulating the vehicle's
  traction battery: an open-circuit voltage behind a series resistance,
  current limits in both directions, an over-voltage protection, an
  under-voltage protection (off unless enabled), an I/O watchdog and an output
  stage. Any latched protection holds the output off until cleared. The SCPI
  dialect that exposes it is ``rig.sim.instruments.keysight_rp7900_dialect``.
- ``DcBus``: the DC link between the charger's DC port, the vehicle contactor
  and the source. **The charger's DC port decides the current**
  (``set_charger_current``); **the source decides the voltage**. The bus
  combines the two with the contactor and the source's limits, and keeps the
  history of the inlet voltage and of the current with their lab times.

Sign convention (the rig's, see ``rig.core.roles.BatteryEmulator``): current into
the battery's positive terminal is positive, i.e. positive while the charger
charges the battery and the source sinks; negative in V2H discharge.

Nothing here moves by itself except two protections: the watchdog, and the
under-voltage protection once its delay has run. The state is constant
between commands, charger updates and contactor edges, so the bus is exact at
those instants and ``next_event_time``/``advance_to`` hand the first of their
deadlines to whoever integrates the lab.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rig.sim.signal import PiecewiseLinear

OVER_VOLTAGE = "OV"
UNDER_VOLTAGE = "UV"
WATCHDOG = "PROT"


@dataclass(frozen=True)
class DcRatings:
    """What the source can do: its programmable ranges (the dialect refuses values beyond them)."""

    max_voltage_v: float
    max_current_a: float
    max_resistance_ohm: float
    max_ovp_v: float


UNRATED = DcRatings(max_voltage_v=0.0, max_current_a=0.0, max_resistance_ohm=0.0, max_ovp_v=0.0)
"""A source no instrument dialect has rated yet: the bus of a lab that serves no battery emulator."""


class DcSource:
    """Battery emulation in voltage priority: V = open-circuit voltage + resistance x current into the battery.

    Settings take a lab time ``t`` so the bus can record when the terminals changed.
    """

    def __init__(self, ratings: DcRatings = UNRATED) -> None:
        self.ratings = ratings
        self._changed: Callable[[float], None] = lambda t: None
        self.reset()

    def rate(self, ratings: DcRatings) -> None:
        """The served instrument's ratings (its dialect calls this once), then its power-on state."""
        self.ratings = ratings
        self.reset()

    def reset(self) -> None:
        """Power-on values: output settings reset, OVP at its maximum, no latched fault, watchdog off (60 s),
        under-voltage protection off (0 V, the shortest delay)."""
        self.reset_output_settings()
        self.ovp_v = self.ratings.max_ovp_v
        self.fault: str | None = None
        """A latched protection (``OV``, ``UV`` or ``PROT``, the watchdog), holding the output off until cleared."""
        self.fault_s: float | None = None
        self.watchdog_on = False
        self.watchdog_delay_s = 60.0
        self.last_io_s = 0.0
        self.uv_on = False
        self.uv_level_v = 0.0
        self.uv_delay_s = 0.0
        self.uv_since_s = 0.0
        """When the under-voltage delay last started (protection enabled, output turned on, latch cleared)."""

    def reset_output_settings(self) -> None:
        """Output off, 0 V, 0 ohm, full limits (callers announce the change with ``set_output``)."""
        self.output_on = False
        self.open_circuit_v = 0.0
        self.resistance_ohm = 0.0
        self.charge_limit_a = self.ratings.max_current_a
        self.discharge_limit_a = self.ratings.max_current_a

    def attach(self, changed: Callable[[float], None]) -> None:
        """Tell ``changed(t)`` whenever what the source puts on its terminals may have changed."""
        self._changed = changed

    @property
    def energized(self) -> bool:
        """The output stage is on: programmed on and no protection latched."""
        return self.output_on and self.fault is None

    # -- settings ------------------------------------------------------------------------------

    def set_battery(self, t: float, open_circuit_v: float, resistance_ohm: float) -> None:
        self.open_circuit_v, self.resistance_ohm = open_circuit_v, resistance_ohm
        self._changed(t)

    def set_limits(self, t: float, *, charge_a: float | None = None, discharge_a: float | None = None) -> None:
        """Current limits, magnitudes: ``charge_a`` into the battery (sinking), ``discharge_a`` out of it."""
        if charge_a is not None:
            self.charge_limit_a = charge_a
        if discharge_a is not None:
            self.discharge_limit_a = discharge_a
        self._changed(t)

    def set_ovp(self, t: float, volts: float) -> None:
        self.ovp_v = volts
        self._changed(t)

    def set_output(self, t: float, on: bool) -> None:
        """The programmed output state; a latched protection keeps the stage off whatever it says. Turning it
        on starts the under-voltage delay (its terminals rise from 0 V)."""
        if on and not self.output_on:
            self.uv_since_s = t
        self.output_on = on
        self._changed(t)

    def set_under_voltage(self, t: float, *, on: bool | None = None, level_v: float | None = None,
                          delay_s: float | None = None) -> None:
        """Under-voltage protection: below ``level_v`` once ``delay_s`` has run since it was enabled (or the
        output turned on, or a latch cleared), the output latches off."""
        if on and not self.uv_on:
            self.uv_since_s = t
        self.uv_on = self.uv_on if on is None else on
        self.uv_level_v = self.uv_level_v if level_v is None else level_v
        self.uv_delay_s = self.uv_delay_s if delay_s is None else delay_s
        self._changed(t)

    def clear_protection(self, t: float) -> None:
        """Clear a latched protection; the output returns to its programmed state (the under-voltage delay
        starts again)."""
        self.fault = self.fault_s = None
        self.uv_since_s = t
        self._changed(t)

    def trip(self, t: float, fault: str) -> None:
        """A protection operates: the stage goes off and stays off until ``clear_protection``."""
        if self.fault is None:
            self.fault, self.fault_s = fault, t
        self._changed(t)

    # -- the watchdog ----------------------------------------------------------------------------

    def arm_watchdog(self, t: float, on: bool) -> None:
        self.watchdog_on = on
        self.note_io(t)

    def note_io(self, t: float) -> None:
        """A message arrived on the remote interface at ``t``: the watchdog starts counting again."""
        self.last_io_s = t

    def watchdog_deadline(self) -> float | None:
        """When the watchdog trips if no message arrives before then (None: it cannot trip)."""
        if not self.watchdog_on or self.fault is not None:
            return None
        return self.last_io_s + self.watchdog_delay_s

    def under_voltage_armed_at(self) -> float | None:
        """From when a terminal voltage below the level trips the under-voltage protection (None: it cannot)."""
        if not self.uv_on or not self.energized:
            return None
        return self.uv_since_s + self.uv_delay_s

    # -- what it does with a current ----------------------------------------------------------------

    def passed_current(self, demand_a: float) -> float:
        """The current the source lets through when the other side drives ``demand_a`` into the battery.

        In limit it holds the limit (the other side cannot push or pull more);
        with the stage off nothing flows.
        """
        if not self.energized:
            return 0.0
        return min(max(demand_a, -self.discharge_limit_a), self.charge_limit_a)

    def terminal_voltage(self, current_a: float) -> float:
        """The voltage at the source's terminals with ``current_a`` into the battery (0 V with the stage off)."""
        if not self.energized:
            return 0.0
        return self.open_circuit_v + self.resistance_ohm * current_a

    def in_limit(self, demand_a: float) -> str | None:
        """``charge`` or ``discharge`` while the demand is beyond that direction's limit, else None."""
        if not self.energized:
            return None
        if demand_a > self.charge_limit_a:
            return "charge"
        if demand_a < -self.discharge_limit_a:
            return "discharge"
        return None


class DcBus:
    """The charger's DC port, the vehicle contactor and the battery emulator on one DC link.

    What the charger model calls (under the lab's lock, at the lab's time):
    ``set_charger_current(t, amps)`` whenever its DC port changes the current it
    drives into the battery, ``inlet_voltage_v()``/``current_a()`` to see the
    result, and ``subscribe(callback)`` to hear of every change it did not make
    (contactor edge, source switched or reprogrammed, a protection trip). The
    vehicle contactor is driven by ``set_contactor`` (the lab wires it to the
    contactor line of ``rig.sim.connector``).
    """

    def __init__(self, source: DcSource) -> None:
        self.source = source
        self.contactor_closed = False
        self.demand_a = 0.0
        """What the charger's DC port drives into the battery (A, positive charges)."""
        self.inlet_voltage = PiecewiseLinear(0.0, 0.0)
        """Voltage at the vehicle inlet (the charger's DC port) over lab time: steps only."""
        self.current = PiecewiseLinear(0.0, 0.0)
        """Current into the battery over lab time: steps only."""
        self.source_voltage = PiecewiseLinear(0.0, 0.0)
        """Voltage at the battery emulator's own terminals over lab time (what it measures): steps only."""
        self.power = PiecewiseLinear(0.0, 0.0)
        """Power through the vehicle inlet over lab time (W, positive into the vehicle): steps only, so its
        integral over any past interval is the exact energy (what a power analyzer at the inlet accumulates)."""
        self._listeners: list[Callable[[float], None]] = []
        self._energy_j = 0.0
        self._moved_j = [0.0, 0.0]  # into the vehicle, out of it (each >= 0)
        self._power_w = 0.0
        self._power_since = 0.0
        source.attach(self._update)

    # -- who drives it ---------------------------------------------------------------------------

    def set_charger_current(self, t: float, amps: float) -> None:
        """The charger's DC port drives ``amps`` into the battery from ``t`` (negative: it draws, V2H)."""
        self.demand_a = amps
        self._update(t, notify=False)

    def set_contactor(self, t: float, closed: bool) -> None:
        """The vehicle contactor between the battery emulator and the DC inlet."""
        self.contactor_closed = closed
        self._update(t)

    def subscribe(self, callback: Callable[[float], None]) -> None:
        """Call ``callback(t)`` after every change at the bus that the charger did not make itself
        (a trip its own current caused included)."""
        self._listeners.append(callback)

    # -- what it is ------------------------------------------------------------------------------

    def current_a(self) -> float:
        """Current into the battery now (A, positive charges)."""
        return self.source.passed_current(self.demand_a) if self.contactor_closed else 0.0

    def source_voltage_v(self) -> float:
        """Voltage at the battery emulator's terminals now."""
        return self.source.terminal_voltage(self.current_a())

    def inlet_voltage_v(self) -> float:
        """Voltage the charger's DC port sees at the vehicle inlet now (0 V with the contactor open)."""
        return self.source_voltage_v() if self.contactor_closed else 0.0

    def energy_wh(self, t: float) -> float:
        """Energy through the vehicle inlet since the lab began (Wh, positive into the vehicle): the register
        the charger's own DC meter counts (its OCPP meter values), exact between the bus's steps."""
        return (self._energy_j + self._power_w * max(0.0, t - self._power_since)) / 3600.0

    def energy_moved_wh(self, t: float) -> tuple[float, float]:
        """Energy into the vehicle and out of it since the lab began (Wh, each >= 0): the import and export
        registers of a bidirectional meter."""
        moving = self._power_w * max(0.0, t - self._power_since)
        into, out = self._moved_j
        return (into + max(moving, 0.0)) / 3600.0, (out + max(-moving, 0.0)) / 3600.0

    # -- time ------------------------------------------------------------------------------------

    def next_event_time(self, after: float) -> float | None:
        """The next instant after ``after`` at which the bus changes by itself (a protection of the source)."""
        trip = self._next_trip()
        return trip[0] if trip is not None and trip[0] > after else None

    def advance_to(self, t: float) -> None:
        """Operate the first protection due at or before ``t`` (at its deadline, not at ``t``)."""
        trip = self._next_trip()
        if trip is not None and trip[0] <= t:
            self.source.trip(*trip)

    def _next_trip(self) -> tuple[float, str] | None:
        """The protection that operates first by itself if nothing changes before: (when, which). Between
        changes the terminal voltage is constant, so a voltage below the under-voltage level now is below it
        at the end of the delay."""
        source = self.source
        due = []
        watchdog = source.watchdog_deadline()
        if watchdog is not None:
            due.append((watchdog, WATCHDOG))
        armed = source.under_voltage_armed_at()
        if armed is not None and self.source_voltage_v() < source.uv_level_v:
            due.append((armed, UNDER_VOLTAGE))
        return min(due) if due else None

    def _tripping(self, t: float) -> str | None:
        """The protection the state at ``t`` operates at once: over-voltage, or under-voltage past its delay."""
        source = self.source
        if not source.energized:
            return None
        volts = source.terminal_voltage(self.current_a())
        if volts > source.ovp_v:
            return OVER_VOLTAGE
        armed = source.under_voltage_armed_at()
        if armed is not None and armed <= t and volts < source.uv_level_v:
            return UNDER_VOLTAGE
        return None

    def _update(self, t: float, *, notify: bool = True) -> None:
        """Re-evaluate the link at ``t``: the voltage protections, then the recorded voltage and current.

        Listeners hear of it unless the charger made the change itself, and always of a trip.
        """
        source = self.source
        fault = self._tripping(t)
        tripped = fault is not None
        if tripped:
            source.fault, source.fault_s = fault, t  # latched; the stage is off from t
        moved = self._power_w * max(0.0, t - self._power_since)
        self._energy_j += moved
        self._moved_j[0 if moved >= 0.0 else 1] += abs(moved)
        self._power_since = max(t, self._power_since)
        self._power_w = self.inlet_voltage_v() * self.current_a()
        for signal, value in ((self.inlet_voltage, self.inlet_voltage_v()), (self.current, self.current_a()),
                              (self.source_voltage, self.source_voltage_v()), (self.power, self._power_w)):
            if signal.at(t) != value:
                signal.step(t, value)
        if notify or tripped:
            for listener in self._listeners:
                listener(t)
