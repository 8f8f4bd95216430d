"""The site behind the boundary, as the simulated lab sees it: household load banks and the boundary CT.

The grid simulator stands in for the public network at the site boundary, so
what flows through it is the charger's export less the household's load. The
household is two switched resistive load banks (the digital I/O module's
coils, ``rig.sim.instruments.moxa_e1212_dialect``) and the boundary current transformer, whose
lead a relay can open (the G100 fail-safe test).

A bank is a resistor: rated power P at the nominal voltage Vn makes
R = Vn^2 / P, so at the terminal voltage v it draws v^2 / R (nothing while
the grid simulator's output is off). Ratings come from the bench file
(``site:`` in ``fixtures/benches/sim.yaml``): the rig and the lab use the same
figures. A bank the bench does not declare is not fitted: switching its coil
connects nothing.

Every switching is an event at a lab instant (``events``), so the charger's
export limiter (``rig.sim.charger.export_limit``) can tell which of its samples a
change can have affected.
"""

from __future__ import annotations

import numpy as np

from rig.sim.signal import PiecewiseLinear

LOAD_BANKS = ("load_a", "load_b")
"""The load banks the lab's module switches (``rig.sim.instruments.moxa_e1212_dialect.SITE_WIRING``)."""
CT_BREAK = "ct_break"
"""The relay that opens the boundary CT's lead: energised, the sensor signal is lost."""


class HouseholdSite:
    """Load banks (on/off in time) and the boundary CT's state, with every change's instant."""

    def __init__(self, voltage: PiecewiseLinear) -> None:
        self._voltage = voltage
        self._resistance_ohm: dict[str, float] = {}
        self._on = {bank: PiecewiseLinear(0.0, 0.0) for bank in LOAD_BANKS}
        self.ct_lost = PiecewiseLinear(0.0, 0.0)
        """1 while the boundary CT's lead is open (its signal lost), else 0 (steps only)."""
        self.events: list[float] = []
        """Lab instants of every switching, in order."""

    def fit(self, rated_power_w: dict[str, float], nominal_voltage_v: float) -> None:
        """Fit the banks the bench declares: each its rated power at the nominal voltage."""
        for bank, power in rated_power_w.items():
            if bank not in self._on:
                raise KeyError(f"the simulated site has no load bank {bank!r} (it has: {', '.join(LOAD_BANKS)})")
            if not power > 0.0 or not nominal_voltage_v > 0.0:
                raise ValueError(f"load bank {bank}: rated power and nominal voltage must be positive")
            self._resistance_ohm[bank] = nominal_voltage_v**2 / power

    def switch(self, t: float, line: str, on: bool) -> None:
        """A coil of the site moved at lab time ``t`` (a bank on or off, the CT lead opened or closed)."""
        signal = self.ct_lost if line == CT_BREAK else self._on[line]
        value = 1.0 if on else 0.0
        if signal.at(t) != value:
            signal.step(t, value)
            self.events.append(t)

    @property
    def idle(self) -> bool:
        """No bank fitted: the site can never draw anything (the lab as the other suites use it)."""
        return not self._resistance_ohm

    def load_power_w(self, times: np.ndarray) -> np.ndarray:
        """Power the household draws at ``times`` (W): every fitted bank that is on, at the terminal voltage."""
        total = np.zeros(np.shape(times))
        if self.idle:
            return total
        v = self._voltage.sample(times)
        for bank, r in self._resistance_ohm.items():
            total += self._on[bank].sample(times) * v * v / r
        return total

    def load_current_a(self, t: float) -> float:
        """Rms current the household draws at ``t`` (resistive: in phase with the voltage)."""
        if self.idle:
            return 0.0
        v = self._voltage.at(t)
        return sum(self._on[bank].at(t) * v / r for bank, r in self._resistance_ohm.items())

    def ct_intact_at(self, t: float) -> bool:
        return self.ct_lost.at(t) < 0.5

    def any_bank_on(self, t: float) -> bool:
        """Whether a fitted bank is switched on at ``t`` (it draws whenever the terminals are live)."""
        return any(self._on[bank].at(t) > 0.5 for bank in self._resistance_ohm)
