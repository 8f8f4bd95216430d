"""The programmable AC source of the simulated lab (vendor-neutral behaviour).

It holds the output relay, the fixed-mode setpoints with their slew rates,
and a list program executed on the instrument itself: a trigger starts the
sequence of (dwell, start -> end) steps, which become exact ramps and steps
in the terminal voltage and frequency signals. The SCPI dialect that exposes
it lives in ``rig.sim.chroma_61800``.
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
    count: int = 1

    def validate(self) -> str | None:
        """Why the program cannot run, or None."""
        n = len(self.dwell_s)
        if n == 0:
            return "list is empty"
        arrays = (self.voltage_start, self.voltage_end, self.frequency_start, self.frequency_end)
        if any(len(a) != n for a in arrays):
            return "list arrays differ in length"
        if any(d <= 0 for d in self.dwell_s):
            return "dwell must be positive"
        return None

    @property
    def duration_s(self) -> float:
        return sum(self.dwell_s) * self.count


class GridSource:
    """Output relay, setpoints and list execution, writing the terminal signals."""

    def __init__(self, voltage: PiecewiseLinear, frequency: PiecewiseLinear, on_relay) -> None:
        self.voltage = voltage
        self.frequency = frequency
        self._on_relay = on_relay  # callback(t, closed: bool): the charger sees its supply change
        self.output_on = False
        self.voltage_setpoint = 0.0
        self.frequency_setpoint = 50.0
        self.voltage_slew_per_s: float | None = None
        self.frequency_slew_per_s: float | None = None
        self.current_limit_a = 0.0
        self.mode = "FIXED"
        self.program = ListProgram()
        self.trigger_times: list[float] = []
        self.list_end_s: float | None = None

    def set_voltage(self, t: float, value: float) -> None:
        self.voltage_setpoint = value
        if self.output_on:
            self._end_list(t)
            self.voltage.slew_to(t, value, self.voltage_slew_per_s)

    def set_frequency(self, t: float, value: float) -> None:
        self.frequency_setpoint = value
        self._end_list(t)
        self.frequency.slew_to(t, value, self.frequency_slew_per_s)

    def set_output(self, t: float, on: bool) -> None:
        if on == self.output_on:
            return
        self.output_on = on
        self._end_list(t)
        self.voltage.step(t, self.voltage_setpoint if on else 0.0)
        self._on_relay(t, on)

    def trigger(self, t: float) -> str | None:
        """Start the list program now; returns why it cannot, or None."""
        if self.mode != "LIST":
            return "not in list mode"
        if not self.output_on:
            return "output is off"
        problem = self.program.validate()
        if problem:
            return problem
        self.voltage.truncate(t)
        self.frequency.truncate(t)
        start = t
        p = self.program
        for _ in range(p.count):
            for k, dwell in enumerate(p.dwell_s):
                self.voltage.ramp(start, start + dwell, p.voltage_start[k], p.voltage_end[k])
                self.frequency.ramp(start, start + dwell, p.frequency_start[k], p.frequency_end[k])
                start += dwell
        self.trigger_times.append(t)
        self.list_end_s = start
        return None

    def stop_list(self, t: float) -> None:
        """Abort a running list: the output holds what it had at ``t``."""
        self._end_list(t)

    def list_running(self, t: float) -> bool:
        return self.list_end_s is not None and t < self.list_end_s

    def _end_list(self, t: float) -> None:
        if self.list_running(t):
            self.voltage.truncate(t)
            self.frequency.truncate(t)
        self.list_end_s = None if self.list_end_s is None or t >= self.list_end_s else t
