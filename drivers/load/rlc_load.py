"""A programmable parallel RLC load (NH Research 4600-series style) as the rig's ``island_load``.

UNCONFIRMED COMMAND SET: programmable RLC loads for anti-islanding tests exist
(NH Research's 4600 series among them), but no manual seen for this rig
(shared/reference/instruments.md) confirms their SCPI commands. This driver
speaks a small, plausible set, the same the simulated lab serves
(``rig.sim.instruments.rlc_load_dialect``); check every command against the instrument's manual
before a bench run:

- ``NOM:VOLT <V>``, ``NOM:FREQ <Hz>``: the rating point the branches are stated at;
- ``LOAD:RES:POW <W>``: R as the active power it takes at the nominal voltage;
- ``LOAD:IND:REAC <var>``, ``LOAD:CAP:REAC <var>``: L and C as the reactive
  power each takes at the nominal voltage and frequency;
- ``INP ON|OFF`` and its read-back ``INP?`` (``ON``/``OFF``, or ``1``/``0``);
  ``SYST:ERR?`` after every setting (``drivers.scpi``).

Every setpoint is checked before anything is sent: against the instrument's
ratings (options ``max_active_w``, ``max_reactive_var``) and the resistive
branch against the bench envelope's ``ac_power_w`` (the power it will draw
from the charger, or from the grid simulator if S1 is closed), the nominal
voltage and frequency against ``ac_voltage_v`` and ``ac_frequency_hz``.
``safe_off`` turns the input off, so the rig's every exit path leaves the load
disconnected (``rig.core.safety.SAFE_ORDER`` turns it off right after the grid,
before the digital I/O releases the grid switch S1).

Safety (instruments-checked.md, [H]): a balanced load left connected keeps an
island alive, so the safe state is never taken on trust: after ``INP OFF`` the
driver reads ``INP?`` back, and an answer other than off is a failed safe
state (``InstrumentError``: the run's record says the load may still hold an
island up, and the bench's safe state is not confirmed). Every ``input()``
change is read back the same way, so a unit that ignores the command is found
before S1 opens, not after. Both the command and the read-back are
unconfirmed (no manual): ``rig bench check`` must see ``INP?`` follow
``INP ON``/``INP OFF`` on the unit.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from drivers.options import DriverOptions
from drivers.scpi import ScpiDriver, number
from rig.core.bench_checks import BenchCheck
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import InstrumentError
from rig.core.identity import InstrumentFamily

NOMINAL_VOLTAGE_V = (100.0, 300.0)
NOMINAL_FREQUENCY_HZ = (45.0, 65.0)
INPUT_STATES = {"ON": True, "1": True, "OFF": False, "0": False}
"""``INP?`` answers (SCPI booleans: a unit may answer either form; unconfirmed which)."""


class RlcLoad(ScpiDriver):
    """Options: ``max_active_w`` and ``max_reactive_var`` (the unit's ratings; default 12 kW and 12 kvar)."""

    family = InstrumentFamily("NH Research 4600-series programmable RLC load (command set unconfirmed)",
                              manufacturer=r"NH Research( Inc\.?)?|NHR", model=r"46\d\d(-\w+)?")

    class Options(DriverOptions):
        max_active_w: float = Field(12000.0, gt=0, description="The unit's active power rating (W).")
        max_reactive_var: float = Field(12000.0, gt=0, description="Its reactive power rating (var).")

    def __init__(self, resource: str, *, name: str, envelope: EnvelopeGuard | None = None,
                 timeout_ms: int = 5000, options: dict[str, Any] | None = None) -> None:
        o = self.Options.read(name, options)
        self.max_active_w, self.max_reactive_var = o.max_active_w, o.max_reactive_var
        super().__init__(resource, name=name, envelope=envelope, timeout_ms=timeout_ms, options=options)
        self._input_on = False

    def setup(self) -> None:
        """Known state: error queue cleared, input off."""
        self.write("*CLS")
        self.input(False)

    def set_load(self, resistive_w: float, inductive_var: float, capacitive_var: float, *,
                 at_voltage_v: float, at_frequency_hz: float) -> None:
        """R, L and C as powers at the nominal ``at_voltage_v`` and ``at_frequency_hz``; all checked, then sent.

        The nominal values are sent only with the input off (the instrument refuses them otherwise); the
        branches may change with the input on (trimming a balance)."""
        self.check_value("nominal voltage", at_voltage_v, NOMINAL_VOLTAGE_V, "V", "ac_voltage_v")
        self.check_value("nominal frequency", at_frequency_hz, NOMINAL_FREQUENCY_HZ, "Hz", "ac_frequency_hz")
        self.check_value("resistive branch", resistive_w, (0.0, self.max_active_w), "W", "ac_power_w")
        self.check_value("inductive branch", inductive_var, (0.0, self.max_reactive_var), "var", None)
        self.check_value("capacitive branch", capacitive_var, (0.0, self.max_reactive_var), "var", None)
        if not self._input_on:
            self.write(f"NOM:VOLT {at_voltage_v:.3f}")
            self.write(f"NOM:FREQ {at_frequency_hz:.3f}")
        self.write(f"LOAD:RES:POW {resistive_w:.2f}")
        self.write(f"LOAD:IND:REAC {inductive_var:.2f}")
        self.write(f"LOAD:CAP:REAC {capacitive_var:.2f}")

    def input(self, on: bool) -> None:
        """Connect (on) or disconnect (off) the load's branches; the unit must then say it is so."""
        self.write(f"INP {'ON' if on else 'OFF'}")
        self._input_on = on
        self._confirm_input(on)

    def input_on(self) -> bool:
        """Whether the unit says its input is on (``INP?``)."""
        answer = self.query("INP?").strip().upper()
        if answer not in INPUT_STATES:
            raise InstrumentError(self.name, "INP?", f"answered {answer!r}, not one of {', '.join(INPUT_STATES)}")
        return INPUT_STATES[answer]

    def _confirm_input(self, on: bool) -> None:
        if self.input_on() != on:
            consequence = (" the load may still hold an island up: the bench's safe state is NOT confirmed"
                           if not on else "")
            raise InstrumentError(self.name, f"INP {'ON' if on else 'OFF'}",
                                  f"the unit still reports its input {'off' if on else 'on'} after the command;"
                                  + consequence)

    def bench_checks(self) -> list[BenchCheck]:
        """Its safe state, the one direction that energises nothing: ``INP OFF`` and ``INP?`` reading off; the
        branch queries answer. ``INP ON`` read back needs the load switched in (each case's ``input(True)``)."""
        checks = super().bench_checks()
        try:
            self.input(False)
            checks.append(BenchCheck.confirmed("INP OFF, and INP? reads it back off (the safe state)"))
        except InstrumentError as err:
            checks.append(BenchCheck.problem("INP OFF, and INP? reads it back off (the safe state)", err.detail))
        checks += [self.confirm_query(f"{query} answers a number", query, number)
                   for query in ("NOM:VOLT?", "NOM:FREQ?", "LOAD:RES:POW?", "LOAD:IND:REAC?", "LOAD:CAP:REAC?")]
        checks.append(BenchCheck.needs_energising("INP ON, and INP? reads it back on",
                                                  "checked at every case that switches the load in"))
        return checks

    def safe_off(self) -> None:
        """Input off, read back: the load takes nothing, and cannot hold an island up."""
        self.input(False)
