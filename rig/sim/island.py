"""The charger's point of connection: grid switch S1, a parallel RLC load, and the island they can form.

The loss-of-mains (anti-islanding) test of BS EN 62116 / G99 puts a parallel
RLC load at the charger's terminals, tunes it to absorb what the charger
exports, and opens a switch (S1) between them and the grid simulator. The
rig then times how long the charger keeps running on the island it alone
feeds. The simulated lab models that in closed form, so the charger's
protection stages keep solving their crossings on piecewise-linear signals:

- **S1 closed**: the grid source drives the terminals as always (its signals
  *are* the terminal signals). What it measures is the current through S1:
  the charger's less the RLC load's (``rig.sim.instruments.chroma_61800_dialect``).
- **S1 opens** (``S1_OPERATE_S`` after its coil moves, the simulated
  contactor's own time): the grid source is handed copies of its output (its
  setpoints and a running list carry on there, touching nothing), and the
  terminals become the island's. With the charger exporting P (and Q = P
  tan(displacement), ``rig.sim.charger.waveform``) into R, L and C rated at the
  nominal Vn, fn as P_R, Q_L, Q_C, the island settles where the resistor
  absorbs P and the load's reactive power balances the charger's:

      V = Vn sqrt(P / P_R);   with a = (V / Vn)^2 and x = f / fn,
      a Q_L / x - a Q_C x = Q,  so  x = (-Q + sqrt(Q^2 + 4 a^2 Q_L Q_C)) / (2 a Q_C)

  (x = sqrt(Q_L / Q_C) for Q = 0). The settling itself (a few cycles for a
  quality factor near 1) is taken as a step.
- **Active anti-islanding** (the profile's ``anti_islanding``): a positive
  feedback on frequency, Sandia-frequency-shift-like, modelled as a ramp of
  ``drift_hz_per_s`` away from nominal (upward from exactly nominal) until
  ``max_deviation_hz``; the charger's own protection stages (U/V, O/V, U/F,
  O/F, RoCoF) then trip it through the normal event machinery. Without one
  the island holds its operating point: matched within the passive windows it
  runs on indefinitely.
- **Collapse**: when the charger stops conducting (its relay opened: the
  charger's ``stop_listeners``), or the RLC load is switched off, or S1 opens
  with nothing to feed the island, the terminal voltage falls to 0 at that
  instant.
- **S1 closes**: the terminals take the grid source's output as it is then;
  the charger sees its supply restored (or lost, on a dead source) and
  reconnects after its timer as after any trip.

Assumptions (the lab's, stated so a reviewer can weigh them): the island's
operating point uses the charger's power at the instant S1 opens (a frequency
response that then changes the power changes the current, not the island's
voltage); household load banks (``rig.sim.site``) are not part of the island;
the grid source's own over-current protection sees the charger's current, as
before, while S1 is closed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from rig.sim.signal import PiecewiseLinear

if TYPE_CHECKING:
    from rig.sim.charger.ac_port import SimulatedCharger
    from rig.sim.instruments.grid_source import GridSource

S1_OPERATE_S = 0.018
"""The simulated contactor S1 opens (and closes) this long after its coil moves: the lab's, not the bench
file's declared value (``grid_switch.opening_time_s``), which the rig must not be able to read back."""

SAME_INSTANT_S = 1e-9


class AntiIslanding(BaseModel):
    """The charger's active anti-islanding method (``anti_islanding:`` in a DUT profile)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    drift_hz_per_s: float = Field(ge=0, description="How fast its positive feedback drives an island's frequency "
                                                    "away from nominal (Hz/s): the method's strength.")
    max_deviation_hz: float = Field(5.0, gt=0, description="Its feedback saturates this far from nominal.")


@dataclass(frozen=True)
class RlcLoad:
    """A parallel RLC load as set: R, L and C stated as the powers they take at the nominal voltage and
    frequency (W, var, var), and whether its input is on."""

    on: bool = False
    resistive_w: float = 0.0
    inductive_var: float = 0.0
    capacitive_var: float = 0.0
    nominal_voltage_v: float = 230.0
    nominal_frequency_hz: float = 50.0

    def absorbed(self, voltage_v: float, frequency_hz: float) -> complex:
        """Complex power it takes at ``voltage_v`` and ``frequency_hz`` (P + jQ, Q > 0 inductive)."""
        if not self.on or voltage_v <= 0.0:
            return 0j
        a = (voltage_v / self.nominal_voltage_v) ** 2
        x = frequency_hz / self.nominal_frequency_hz
        return complex(a * self.resistive_w, a * (self.inductive_var / x - self.capacitive_var * x))


def island_point(p_w: float, q_var: float, load: RlcLoad) -> tuple[float, float] | None:
    """Voltage and frequency where ``load`` takes the charger's P and Q, or None if it cannot hold an island
    (no resistor, nothing exported, no reactance to set the frequency against the charger's Q)."""
    if not load.on or load.resistive_w <= 0.0 or p_w <= 0.0:
        return None
    vn, fn = load.nominal_voltage_v, load.nominal_frequency_hz
    v = vn * math.sqrt(p_w / load.resistive_w)
    a = (v / vn) ** 2
    ql, qc = load.inductive_var, load.capacitive_var
    if qc > 0.0:
        x = (-q_var + math.sqrt(q_var * q_var + 4.0 * a * a * ql * qc)) / (2.0 * a * qc)
    elif ql > 0.0 and q_var > 0.0:
        x = a * ql / q_var
    elif ql == 0.0 and q_var == 0.0:
        x = 1.0  # a pure resistor: the charger's own frequency holds
    else:
        return None
    return v, fn * x


class PointOfConnection:
    """S1 (commanded by a coil, operating after ``S1_OPERATE_S``), the RLC load, and the island."""

    def __init__(self, voltage: PiecewiseLinear, frequency: PiecewiseLinear, phase_deg: PiecewiseLinear,
                 grid: GridSource, charger: SimulatedCharger) -> None:
        self._terminals = (voltage, frequency, phase_deg)
        self.grid = grid
        self.charger = charger
        self.switch_open = False
        self.load = RlcLoad(nominal_voltage_v=charger.profile.ac_port.rating.nominal_voltage_v,
                            nominal_frequency_hz=charger.profile.ac_port.rating.nominal_frequency_hz)
        self.islanded = False
        """S1 is open and the charger feeds the island (it has not collapsed)."""
        self.opened_s: list[float] = []
        """Lab instants S1 opened (the simulator's truth, for the lab's own tests)."""
        self._pending: tuple[float, bool] | None = None  # (when, open)
        charger.stop_listeners.append(self._charger_stopped)

    # -- S1 -----------------------------------------------------------------------------------

    def command_switch(self, t: float, open_: bool) -> None:
        """S1's coil moved at ``t`` (energised: open); the contacts follow ``S1_OPERATE_S`` later."""
        if self._pending is not None:
            if open_ != self._pending[1]:
                self._pending = None  # released before the contacts moved: they never do
            return
        if open_ != self.switch_open:
            self._pending = (t + S1_OPERATE_S, open_)

    def next_event_time(self) -> float | None:
        return None if self._pending is None else self._pending[0]

    def run_due(self, t: float) -> None:
        """Operate S1 if it is due by ``t`` (the lab has brought the charger up to that instant)."""
        if self._pending is None or self._pending[0] > t + SAME_INSTANT_S:
            return
        when, open_ = self._pending
        self._pending = None
        if open_:
            self._open(when)
        else:
            self._close(when)

    def _open(self, t: float) -> None:
        voltage, frequency, phase = self._terminals
        self.switch_open = True
        self.opened_s.append(t)
        self.grid.redirect(voltage.copy(), frequency.copy(), phase.copy())
        self._form(t)

    def _close(self, t: float) -> None:
        self.switch_open = False
        self.islanded = False
        for terminal, source in zip(self._terminals, (self.grid.voltage, self.grid.frequency, self.grid.phase_deg)):
            terminal.follow(t, source)
        self.grid.redirect(*self._terminals)
        if self.grid.energized:
            self.charger.supply_restored(t)
        elif self.charger.supply_on:
            self.charger.supply_lost(t)

    # -- the RLC load ----------------------------------------------------------------------------

    def set_load(self, t: float, load: RlcLoad) -> None:
        """The RLC load's settings or input changed at ``t``; a running island moves to its new point."""
        self.load = load
        if self.islanded:
            self._form(t)

    # -- the island --------------------------------------------------------------------------------

    def _form(self, t: float) -> None:
        """Put the terminals at the island's operating point from ``t``, drifting under the active method."""
        voltage, frequency, phase = self._terminals
        ends = self._conduction_ends(t)
        if ends is None or ends <= t:
            self._collapse(t, notify=True)
            return
        p = float(self.charger.export_power_w(np.array([t]))[0])
        q = p * math.tan(math.radians(self.charger.profile.ac_port.waveform.displacement_deg))
        point = island_point(p, q, self.load)
        if point is None:
            self._collapse(t, notify=True)
            return
        v, f = point
        self.islanded = True
        voltage.step(t, v)
        frequency.step(t, f)
        phase.truncate(t)
        method = self.charger.profile.anti_islanding
        fn = self.load.nominal_frequency_hz
        if method is not None and method.drift_hz_per_s > 0.0:
            direction = 1.0 if f >= fn * (1.0 - 1e-9) else -1.0
            target = fn + direction * method.max_deviation_hz
            if (target - f) * direction > 0.0:
                frequency.ramp(t, t + abs(target - f) / method.drift_hz_per_s, f, target)
        if ends != math.inf:  # its relay is already opening: the island dies with it
            self._collapse(ends, notify=False)

    def _conduction_ends(self, t: float) -> float | None:
        """When the charger's present conduction ends (inf: not yet known), or None if it is not conducting."""
        intervals = self.charger.conduction.intervals
        if not intervals or not self.charger.conduction.conducting_at(t):
            return None
        end = intervals[-1][1]
        return math.inf if end is None else end

    def _collapse(self, t: float, *, notify: bool) -> None:
        """The island is gone: no voltage from ``t``. ``notify``: tell the charger (outside its event loop)."""
        voltage, frequency, phase = self._terminals
        self.islanded = False
        voltage.step(t, 0.0)
        frequency.truncate(t)
        phase.truncate(t)
        if notify and self.charger.supply_on:
            self.charger.supply_lost(t)

    def _charger_stopped(self, t: float) -> None:
        """The charger's output stops conducting at ``t`` (called from inside its event loop)."""
        if self.islanded:
            self._collapse(t, notify=False)

    # -- what the grid simulator measures through S1 -----------------------------------------------------

    def exchange_a(self, t: float, voltage_v: float) -> complex:
        """The current through S1 that the RLC load and the charger's reactive power add to its active export
        (a phasor against the voltage, positive real: towards the grid simulator); 0 with the load off, so the
        readings of every other suite stay as they were."""
        if self.switch_open or not self.load.on or voltage_v <= 1.0:
            return 0j
        f = self._terminals[1].at(t)
        s_load = self.load.absorbed(voltage_v, f)
        p = float(self.charger.export_power_w(np.array([t]))[0]) if self.charger.conduction.conducting_at(t) else 0.0
        q = p * math.tan(math.radians(self.charger.profile.ac_port.waveform.displacement_deg))
        # I = conj(S) / V for the charger's supplied Q less the load's absorbed power.
        return complex(-s_load.real, s_load.imag - q) / voltage_v
