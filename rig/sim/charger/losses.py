"""The simulated charger's power losses and what it declares of them: ``losses:`` in a DUT profile.

Between its DC port (the vehicle inlet) and its AC port (the grid) the charger loses, per direction (charge
AC->DC, discharge DC->AC), with P the DC power it converts (W), V the DC (battery) voltage and I = P / V the DC
current::

    losses = P0 + kv * V + k1 * |P| + R * I^2

- ``self_consumption_w`` (P0): control electronics, fans, gate drives, whatever it converts;
- ``switching_w_per_v`` (kv): switching losses, proportional to the DC voltage the bridges switch;
- ``proportional`` (k1): losses proportional to the power (diode and IGBT knee voltages, core losses);
- ``conduction_ohm`` (R): conduction losses in the DC current (windings, MOSFET on-resistance, cables), so at
  one power a low battery voltage (more current) costs more than a high one.

It is the form of the Sandia inverter model (SAND2007-5036: a self-consumption ``Pso``, a quadratic curvature
``C0``, their voltage dependence ``C1``-``C3``) written with physical terms instead of fitted coefficients. The
AC power the grid side sees follows from the DC power into the vehicle, P_dc (positive charging):

- charging: AC power into the charger = P_dc + losses(P_dc, V);
- discharging: AC power out of the charger = |P_dc| - losses(|P_dc|, V);
- a session with no current (plugged, nothing transferred): ``idle_connected_w`` into the charger;
- no session: ``standby_w`` (nothing plugged) or ``idle_connected_w`` (plugged) while its export is limited to
  0 (``rig.sim.charger.ac_port``: the G99 type-test arrangement exports its operating point otherwise).

Efficiency = output / input, at a load point of the rated power (``declared.power_w``, 7.4 kW) on the output
side: DC for charging, AC for discharging. The defaults (those of ``fixtures/duts/compliant.yaml``) give, in
percent (``efficiency_table()``; European weighting 0.03/0.06/0.13/0.10/0.48/0.20 at 5/10/20/30/50/100 %)::

    direction   V_dc |     5%    10%    20%    30%    50%    75%   100% |  Euro
    charge       250  |  85.10  90.72  93.63  94.46  94.82  94.60  94.16 | 93.96
    charge       350  |  83.23  89.74  93.29  94.45  95.23  95.42  95.34 | 94.23
    charge       450  |  81.42  88.71  92.81  94.20  95.25  95.66  95.76 | 94.12
    discharge    250  |  86.01  91.07  93.64  94.35  94.61  94.32  93.82 | 93.83
    discharge    350  |  84.26  90.17  93.35  94.38  95.05  95.18  95.08 | 94.15
    discharge    450  |  82.54  89.21  92.91  94.17  95.09  95.44  95.51 | 94.07

(7.4 kW at 250 V is 29.6 A, beyond the 20 A the CHAdeMO side offers by default: the model holds there, a
session cannot reach it.) At light load the voltage term dominates (450 V is worst), at full load the current
term (250 V is worst). The compliant profile declares 93.0 % at 7.4 kW and 350 V in each direction (it achieves
95.34 % and 95.08 %), a European efficiency of 92.5 % charging and 92.0 % discharging (94.23 %, 94.15 %),
standby 8 W (it draws 6 W) and idle-connected 15 W (it draws 11 W).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rig.config.declared import Declared

Direction = Literal["charge", "discharge"]

LOAD_POINTS = (0.05, 0.10, 0.20, 0.30, 0.50, 0.75, 1.00)
"""The load points of the efficiency table (fractions of the rated power): the union of the European and CEC sets."""
EURO_WEIGHTS = {0.05: 0.03, 0.10: 0.06, 0.20: 0.13, 0.30: 0.10, 0.50: 0.48, 1.00: 0.20}
"""European (EN 50530 context) weighting of the efficiency at each load point."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class ConverterLosses(_Strict):
    """One direction's losses (W) as a function of the DC power it converts and the DC voltage."""

    self_consumption_w: float = Field(ge=0, description="P0: fixed while it converts (W).")
    proportional: float = Field(ge=0, lt=1, description="k1: losses per W converted.")
    conduction_ohm: float = Field(ge=0, description="R: losses R * I^2 in the DC current (ohm).")
    switching_w_per_v: float = Field(0.0, ge=0, description="kv: losses kv * V in the DC voltage (W/V).")

    def losses_w(self, dc_power_w: float, dc_voltage_v: float) -> float:
        """Its losses (W) converting ``dc_power_w`` (either sign: its magnitude) at ``dc_voltage_v``."""
        power = abs(dc_power_w)
        current = power / dc_voltage_v if dc_voltage_v > 0.0 else 0.0
        return (self.self_consumption_w + self.switching_w_per_v * max(dc_voltage_v, 0.0)
                + self.proportional * power + self.conduction_ohm * current * current)


class Losses(_Strict):
    """The ``losses:`` section of a DUT profile: per direction, standby and idle, and the declared values."""

    charge: ConverterLosses = Field(
        default_factory=lambda: ConverterLosses(self_consumption_w=30.0, proportional=0.025, conduction_ohm=0.25,
                                                switching_w_per_v=0.10),
        description="AC->DC.")
    discharge: ConverterLosses = Field(
        default_factory=lambda: ConverterLosses(self_consumption_w=25.0, proportional=0.028, conduction_ohm=0.22,
                                                switching_w_per_v=0.09),
        description="DC->AC.")
    standby_w: float = Field(6.0, ge=0, description="AC input with no vehicle plugged, nothing converted (W).")
    idle_connected_w: float = Field(11.0, ge=0, description="AC input with a vehicle plugged, nothing converted (W).")
    declared: Declared = Field(default_factory=lambda: Declared(
        power_w=7400.0, dc_voltage_v=350.0, charge_efficiency=0.930, discharge_efficiency=0.930,
        charge_euro_efficiency=0.925, discharge_euro_efficiency=0.920, standby_w=8.0, idle_connected_w=15.0),
        description="What its manufacturer declares (``rig.config.declared``; a profile that sets it states every "
                    "value it declares).")

    def direction(self, name: Direction) -> ConverterLosses:
        return self.charge if name == "charge" else self.discharge

    def ac_power_into_w(self, dc_into_vehicle_w: float, dc_voltage_v: float) -> float:
        """AC power into the charger (W; negative: it feeds the grid) while it moves ``dc_into_vehicle_w`` into
        the vehicle (negative: out of it, V2H) at ``dc_voltage_v``; no DC power: its idle-connected draw."""
        if dc_into_vehicle_w > 0.0:
            return dc_into_vehicle_w + self.charge.losses_w(dc_into_vehicle_w, dc_voltage_v)
        if dc_into_vehicle_w < 0.0:
            return dc_into_vehicle_w + self.discharge.losses_w(dc_into_vehicle_w, dc_voltage_v)
        return self.idle_connected_w

    def dc_power_for_output(self, direction: Direction, output_w: float, dc_voltage_v: float) -> float:
        """The DC power it converts to deliver ``output_w`` (W, > 0) on its output side: DC into the vehicle
        charging (that is the output), DC out of the vehicle discharging (solved: output = P - losses(P))."""
        if direction == "charge":
            return output_w
        c = self.discharge
        # P - (P0 + kv V + k1 P + R P^2 / V^2) = out: a quadratic in P, its smaller positive root.
        a = c.conduction_ohm / (dc_voltage_v * dc_voltage_v)
        b = -(1.0 - c.proportional)
        k = output_w + c.self_consumption_w + c.switching_w_per_v * dc_voltage_v
        if a == 0.0:
            return -k / b
        disc = b * b - 4.0 * a * k
        if disc < 0.0:
            raise ValueError(f"it cannot deliver {output_w:g} W at {dc_voltage_v:g} V: its losses grow faster")
        return (-b - disc ** 0.5) / (2.0 * a)

    def dc_power_for_ac(self, ac_into_w: float, dc_voltage_v: float) -> float:
        """The DC power into the vehicle (W; negative: out of it) that makes its AC input ``ac_into_w`` (negative:
        it feeds the grid) at ``dc_voltage_v``: what a charger regulating its grid-side power converts. Charging
        less than its own converting losses is nothing (0)."""
        if ac_into_w < 0.0:
            return -self.dc_power_for_output("discharge", -ac_into_w, dc_voltage_v)
        c = self.charge
        fixed = c.self_consumption_w + c.switching_w_per_v * dc_voltage_v
        if ac_into_w <= fixed:
            return 0.0
        # P + P0 + kv V + k1 P + R P^2 / V^2 = ac: a quadratic in P, its positive root.
        a = c.conduction_ohm / (dc_voltage_v * dc_voltage_v)
        b = 1.0 + c.proportional
        k = fixed - ac_into_w
        if a == 0.0:
            return -k / b
        return (-b + (b * b - 4.0 * a * k) ** 0.5) / (2.0 * a)

    def efficiency(self, direction: Direction, output_w: float, dc_voltage_v: float) -> float:
        """Output / input (fraction) delivering ``output_w`` on its output side at ``dc_voltage_v``."""
        dc = self.dc_power_for_output(direction, output_w, dc_voltage_v)
        losses = self.direction(direction).losses_w(dc, dc_voltage_v)
        return output_w / (output_w + losses)

    def euro_efficiency(self, direction: Direction, rated_w: float, dc_voltage_v: float) -> float:
        """The European-weighted efficiency (fraction) at ``dc_voltage_v``, load points of ``rated_w``."""
        return sum(weight * self.efficiency(direction, point * rated_w, dc_voltage_v)
                   for point, weight in EURO_WEIGHTS.items())

    def efficiency_table(self, rated_w: float, voltages: tuple[float, ...] = (250.0, 350.0, 450.0)) -> str:
        """The table of the module docstring, for these losses."""
        lines = ["direction   V_dc |" + "".join(f"  {p:5.0%}" for p in LOAD_POINTS) + " |  Euro"]
        for direction in ("charge", "discharge"):
            for volts in voltages:
                cells = "".join(f"  {100 * self.efficiency(direction, p * rated_w, volts):5.2f}" for p in LOAD_POINTS)
                euro = 100 * self.euro_efficiency(direction, rated_w, volts)
                lines.append(f"{direction:<11} {volts:4.0f}  |{cells} | {euro:5.2f}")
        return "\n".join(lines)
