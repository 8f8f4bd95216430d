"""The programmable AC source of the simulated lab (vendor-neutral behaviour).

It holds the output stage and the output relay, the fixed-mode setpoints
with their slew rates, its own current limit (a latched protection), and a
list program executed on the instrument itself: a trigger starts the
sequence of (dwell, start -> end) steps, which become exact ramps and steps
in the terminal voltage and frequency signals. The SCPI dialect that exposes
it lives in ``rig.sim.instruments.chroma_61800_dialect``.

An instrument-side voltage cap (``voltage_limit_v``) holds the output at it
whenever a setpoint or a list value asks for more: the setpoint is kept as
programmed, the terminals never exceed the cap.

The terminals are live only while the output is on *and* the output relay is
closed (the relay is the contactor between the output stage and the
terminals). In LIST mode the list governs the output; fixed setpoints sent
meanwhile are stored and take effect when the source returns to FIXED mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rig.sim.signal import PiecewiseLinear


@dataclass
class ListProgram:
    """Arrays as a list-mode instrument holds them; one entry per sequence step."""

    dwell_s: list[float] = field(default_factory=list)
    voltage_start: list[float] = field(default_factory=list)
    voltage_end: list[float] = field(default_factory=list)
    frequency_start: list[float] = field(default_factory=list)
    frequency_end: list[float] = field(default_factory=list)
    phase_jump_deg: list[float] = field(default_factory=list)
    """Per step, a jump of the output's phase at the step's start (a vector shift); empty: none."""
    count: int = 1

    def validate(self) -> str | None:
        """Why the program cannot run, or None."""
        n = len(self.dwell_s)
        if n == 0:
            return "list is empty"
        arrays = (self.voltage_start, self.voltage_end, self.frequency_start, self.frequency_end)
        if any(len(a) != n for a in arrays) or len(self.phase_jump_deg) not in (0, n):
            return "list arrays differ in length"
        if any(d <= 0 for d in self.dwell_s):
            return "dwell must be positive"
        return None

    @property
    def duration_s(self) -> float:
        return sum(self.dwell_s) * self.count


class GridSource:
    """Output stage, relay, setpoints, protection latch and list execution, writing the terminal signals."""

    def __init__(self, voltage: PiecewiseLinear, frequency: PiecewiseLinear, on_relay,
                 max_current_a: float = 150.0, phase_deg: PiecewiseLinear | None = None) -> None:
        self.voltage = voltage
        self.frequency = frequency
        self.phase_deg = PiecewiseLinear(0.0, 0.0) if phase_deg is None else phase_deg
        """The output's phase offset against a free-running reference: list steps may jump it."""
        self._on_relay = on_relay  # callback(t, live: bool): the charger sees its supply change
        self.output_on = False
        self.relay_closed = False
        self._live = False
        self.voltage_setpoint = 0.0
        self.frequency_setpoint = 50.0
        self.voltage_slew_per_s: float | None = None
        self.frequency_slew_per_s: float | None = None
        self.current_limit_a = max_current_a
        self.voltage_limit_v: float | None = None
        """The instrument-side cap on the output voltage (rms); None: none but the range."""
        self.overcurrent_delay_s = 0.0
        """How long the current must stay above the limit before the protection trips: a setting the unit stores
        (the instrument's dialect sets what it starts with; ``rig.sim.instruments.chroma_61800_dialect``); the lab's protection solver
        (``rig.sim.model``) trips once the current has been over the limit at every evaluation for that long."""
        self.fault: str | None = None
        """A latched protection trip (why the source opened its output), until cleared."""
        self.mode = "FIXED"
        self.program = ListProgram()
        self.trigger_times: list[float] = []
        self.list_end_s: float | None = None

    def redirect(self, voltage: PiecewiseLinear, frequency: PiecewiseLinear, phase_deg: PiecewiseLinear) -> None:
        """Write the output to these signals from now on: the terminals while the grid switch S1 is closed, the
        source's own copies while it is open (``rig.sim.island``), so its setpoints and a running list carry on
        without reaching the charger."""
        self.voltage, self.frequency, self.phase_deg = voltage, frequency, phase_deg

    @property
    def energized(self) -> bool:
        """The terminals carry the source's voltage: output on and relay closed."""
        return self.output_on and self.relay_closed

    # -- fixed mode -----------------------------------------------------------------------

    def set_voltage(self, t: float, value: float) -> None:
        self.voltage_setpoint = value
        if self.mode == "FIXED" and self.energized:
            self._end_list(t)
            self.voltage.slew_to(t, self._capped(value), self.voltage_slew_per_s)

    def set_voltage_limit(self, t: float, value: float) -> None:
        """A new cap acts at once on a fixed-mode output (a running list keeps the values it was started with)."""
        self.voltage_limit_v = value
        if self.mode == "FIXED" and self.energized and not self.list_running(t):
            self.voltage.slew_to(t, self._capped(self.voltage_setpoint), self.voltage_slew_per_s)

    def _capped(self, value: float) -> float:
        return value if self.voltage_limit_v is None else min(value, self.voltage_limit_v)

    def set_frequency(self, t: float, value: float) -> None:
        self.frequency_setpoint = value
        if self.mode == "FIXED":
            self._end_list(t)
            self.frequency.slew_to(t, value, self.frequency_slew_per_s)

    def set_mode(self, t: float, mode: str) -> str | None:
        """FIXED or LIST; returns why not (a running list must be stopped first), or None."""
        if self.list_running(t):
            return "the list is running; stop it with TRIG OFF first"
        if mode == "FIXED" and self.mode != "FIXED":
            self.mode = mode
            self.frequency.slew_to(t, self.frequency_setpoint, self.frequency_slew_per_s)
            if self.energized:
                self.voltage.slew_to(t, self._capped(self.voltage_setpoint), self.voltage_slew_per_s)
        self.mode = mode
        return None

    # -- output stage, relay and protection --------------------------------------------------

    def set_output(self, t: float, on: bool) -> str | None:
        """Output stage on/off; returns why it cannot turn on (a latched protection), or None."""
        if on and self.fault is not None:
            return f"protection latched ({self.fault}); clear it first"
        self.output_on = on
        self._update_terminals(t)
        return None

    def set_relay(self, t: float, closed: bool) -> None:
        self.relay_closed = closed
        self._update_terminals(t)

    def trip(self, t: float, reason: str) -> None:
        """The source's own protection operates: output off, fault latched."""
        self.fault = reason
        self.set_output(t, False)

    def clear_protection(self) -> None:
        self.fault = None

    def _update_terminals(self, t: float) -> None:
        live = self.energized
        if live == self._live:
            return
        self._live = live
        self._end_list(t)
        self.voltage.step(t, self._capped(self.voltage_setpoint) if live else 0.0)
        self._on_relay(t, live)

    # -- list mode ---------------------------------------------------------------------------

    def trigger(self, t: float, *, pulse: bool = True) -> str | None:
        """Start the list program now; returns why it cannot, or None. ``pulse``: the instrument's trigger output
        marks the start (``trigger_times``, what a digitizer's EXT input sees); a family whose output must be
        configured for that says whether it is."""
        if self.mode != "LIST":
            return "not in list mode"
        if not self.energized:
            return "output is off" if not self.output_on else "output relay is open"
        problem = self.program.validate()
        if problem:
            return problem
        self.voltage.truncate(t)
        self.frequency.truncate(t)
        self.phase_deg.truncate(t)
        start = t
        p = self.program
        for _ in range(p.count):
            for k, dwell in enumerate(p.dwell_s):
                self._ramp_voltage(start, start + dwell, p.voltage_start[k], p.voltage_end[k])
                self.frequency.ramp(start, start + dwell, p.frequency_start[k], p.frequency_end[k])
                if p.phase_jump_deg and p.phase_jump_deg[k] != 0.0:
                    self.phase_deg.step(start, self.phase_deg.at(start) + p.phase_jump_deg[k])
                start += dwell
        if pulse:
            self.trigger_times.append(t)
        self.list_end_s = start
        return None

    def _ramp_voltage(self, t0: float, t1: float, v0: float, v1: float) -> None:
        """A list step's voltage ramp, held at the cap over the part of it that asks for more."""
        cap = self.voltage_limit_v
        if cap is None or max(v0, v1) <= cap or min(v0, v1) >= cap:
            self.voltage.ramp(t0, t1, self._capped(v0), self._capped(v1))
            return
        t_cap = t0 + (t1 - t0) * (cap - v0) / (v1 - v0)  # strictly inside: one end is above the cap, one below
        self.voltage.ramp(t0, t_cap, self._capped(v0), cap)
        self.voltage.ramp(t_cap, t1, cap, self._capped(v1))

    def stop_list(self, t: float) -> None:
        """Abort a running list: the output holds what it had at ``t``."""
        self._end_list(t)

    def list_running(self, t: float) -> bool:
        return self.list_end_s is not None and t < self.list_end_s

    def _end_list(self, t: float) -> None:
        if self.list_running(t):
            self.voltage.truncate(t)
            self.frequency.truncate(t)
            self.phase_deg.truncate(t)  # a jump not yet reached is not made
        self.list_end_s = None if self.list_end_s is None or t >= self.list_end_s else t
