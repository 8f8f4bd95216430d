"""Keysight RP7900-series regenerative power system emulating a battery, as the simulated lab serves it.

The dialect of ``rig.sim.dc_source.DcSource``: the lab's battery emulator,
reached by ``drivers/battery/keysight_rp7900.py`` over SCPI on a loopback
socket. Served as strictly as the public sources describe the instrument (the
driver's docstring lists them):

- Instrument sign convention: current is positive while the unit *sources*
  (the battery discharges). ``MEAS:CURR?`` therefore answers the negative of
  the bus's current into the battery, and the sink limit is
  ``CURR:LIM:NEG``, a negative number (a positive one is -222 Data out of range).
- ``FUNC VOLT|CURR`` sets the priority mode; changing it turns the output off
  and returns every output setting to its reset value (so limits sent before
  it are lost). Only voltage priority is simulated: ``OUTP ON`` in current
  priority is a -221 Settings conflict.
- ``VOLT:RES`` is the emulated battery's series resistance (voltage priority).
- ``VOLT:PROT`` is the over-voltage protection: terminal voltage above it
  latches the output off (OV in ``STAT:QUES:COND?``).
- ``OUTP:PROT:WDOG ON`` with ``OUTP:PROT:WDOG:DEL <s>`` (1..3600 s, whole
  seconds): no message on the interface for the delay, in lab time, latches
  the output off (PROT). The programmed output state is kept.
- ``OUTP:PROT:CLE`` clears a latched protection and the output returns to its
  programmed state: send ``OUTP OFF`` first to keep it off.
- ``STAT:QUES:COND?`` bits as the RP7900 guide lists them: OV 1, LIM+ 128
  (sourcing current limit), LIM- 256 (sinking current limit), PROT 2048.
- Numbers answer in NR3 with a sign (``+4.000000E+02``), booleans as 0 or 1;
  numeric settings accept MIN and MAX.

Assumptions of the simulator (not from a data sheet): the simulated unit's
ratings (``RATINGS``: 500 V, +-50 A, 0..1 ohm, OVP up to 120 % of the
voltage rating); reset values of the limits (the full rating); measurements
answer at once (a real ``MEAS`` acquires for about a power-line cycle).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rig.sim.dc_source import OVER_VOLTAGE, WATCHDOG, DcRatings
from rig.sim.model import LabModel
from rig.sim.scpi import Reply, ScpiError, ScpiInstrument, illegal_value

RATINGS = DcRatings(max_voltage_v=500.0, max_current_a=50.0, max_resistance_ohm=1.0, max_ovp_v=600.0)
WATCHDOG_DELAY_S = (1.0, 3600.0)
QUESTIONABLE_BITS = {"OV": 1, "LIM+": 128, "LIM-": 256, "PROT": 2048}
FAULT_BITS = {OVER_VOLTAGE: QUESTIONABLE_BITS["OV"], WATCHDOG: QUESTIONABLE_BITS["PROT"]}
PRIORITIES = {"VOLT": "VOLT", "VOLTAGE": "VOLT", "CURR": "CURR", "CURRENT": "CURR"}


def _number(args: list[str], low: float, high: float) -> float:
    """One numeric parameter within [low, high]; MIN and MAX name the ends."""
    if len(args) != 1:
        raise illegal_value("expected one number")
    word = args[0].upper()
    if word in ("MIN", "MINIMUM"):
        return low
    if word in ("MAX", "MAXIMUM"):
        return high
    value = float(args[0])
    if not low <= value <= high:
        raise ScpiError(-222, "Data out of range")
    return value


def _boolean(args: list[str]) -> bool:
    word = args[0].upper() if len(args) == 1 else ""
    if word not in ("ON", "1", "OFF", "0"):
        raise illegal_value("expected ON, OFF, 1 or 0")
    return word in ("ON", "1")


def _nr3(value: float) -> str:
    return f"{value:+.6E}"


class KeysightRP7900(ScpiInstrument):
    idn = "Keysight Technologies,RP7942A,SIM-RP7942A-0001,B.03.02.1232-sim"

    def __init__(self, lab: LabModel) -> None:
        super().__init__()
        self.lab = lab
        self.bus = lab.dc_bus
        self.source = lab.dc_bus.source
        self.source.rate(RATINGS)
        self.priority = "VOLT"
        self._noise = np.random.default_rng([lab.seed, 0xDC])
        src, r = self.source, RATINGS
        add = self.add
        add("[SOURce:]FUNCtion", self._set_priority)
        add("[SOURce:]FUNCtion", lambda a: self.priority, query=True)
        add("[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]",
            lambda a: src.set_battery(self.lab.now, _number(a, 0.0, r.max_voltage_v), src.resistance_ohm))
        add("[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]", self._query(lambda: src.open_circuit_v, 0.0, r.max_voltage_v), query=True)
        add("[SOURce:]VOLTage:RESistance[:LEVel][:IMMediate][:AMPLitude]",
            lambda a: src.set_battery(self.lab.now, src.open_circuit_v, _number(a, 0.0, r.max_resistance_ohm)))
        add("[SOURce:]VOLTage:RESistance[:LEVel][:IMMediate][:AMPLitude]", self._query(lambda: src.resistance_ohm, 0.0, r.max_resistance_ohm), query=True)
        add("[SOURce:]CURRent:LIMit[:POSitive][:IMMediate][:AMPLitude]",
            lambda a: src.set_limits(self.lab.now, discharge_a=_number(a, 0.0, r.max_current_a)))
        add("[SOURce:]CURRent:LIMit[:POSitive][:IMMediate][:AMPLitude]", self._query(lambda: src.discharge_limit_a, 0.0, r.max_current_a), query=True)
        add("[SOURce:]CURRent:LIMit:NEGative[:IMMediate][:AMPLitude]",
            lambda a: src.set_limits(self.lab.now, charge_a=-_number(a, -r.max_current_a, 0.0)))
        add("[SOURce:]CURRent:LIMit:NEGative[:IMMediate][:AMPLitude]", self._query(lambda: -src.charge_limit_a, -r.max_current_a, 0.0), query=True)
        add("[SOURce:]VOLTage:PROTection[:LEVel]", lambda a: src.set_ovp(self.lab.now, _number(a, 0.0, r.max_ovp_v)))
        add("[SOURce:]VOLTage:PROTection[:LEVel]", self._query(lambda: src.ovp_v, 0.0, r.max_ovp_v), query=True)
        add("OUTPut[:STATe]", self._set_output)
        add("OUTPut[:STATe]", lambda a: "1" if src.output_on else "0", query=True)
        add("OUTPut:PROTection:CLEar", lambda a: src.clear_protection(self.lab.now))
        add("OUTPut:PROTection:WDOG[:STATe]", lambda a: src.arm_watchdog(self.lab.now, _boolean(a)))
        add("OUTPut:PROTection:WDOG[:STATe]", lambda a: "1" if src.watchdog_on else "0", query=True)
        add("OUTPut:PROTection:WDOG:DELay", self._set_watchdog_delay)
        add("OUTPut:PROTection:WDOG:DELay", self._query(lambda: src.watchdog_delay_s, *WATCHDOG_DELAY_S), query=True)
        add("STATus:QUEStionable:CONDition", lambda a: f"+{self._questionable()}", query=True)
        for verb in ("MEASure", "FETCh"):
            add(f"{verb}[:SCALar]:VOLTage[:DC]", lambda a: _nr3(self._noisy(self.bus.source_voltage_v(), 0.01)), query=True)
            add(f"{verb}[:SCALar]:CURRent[:DC]", lambda a: _nr3(self._noisy(-self.bus.current_a(), 0.002)), query=True)
            add(f"{verb}[:SCALar]:POWer[:DC]", lambda a: _nr3(-self.bus.source_voltage_v() * self.bus.current_a()), query=True)

    def execute(self, line: str) -> Reply:
        self.source.note_io(self.lab.now)  # any message holds the watchdog off, queries too
        return super().execute(line)

    def reset(self) -> None:
        """*RST: voltage priority, output off, every setting at its power-on value, watchdog off."""
        self.priority = "VOLT"
        self.source.reset()
        self.source.set_output(self.lab.now, False)

    # -- settings ----------------------------------------------------------------------------------

    @staticmethod
    def _query(value: Callable[[], float], low: float, high: float) -> Callable[[list[str]], str]:
        """A setting's query: its value, or its range's end for ``? MIN`` / ``? MAX``."""
        def answer(args: list[str]) -> str:
            if args:
                return _nr3(_number(args, low, high))
            return _nr3(value())
        return answer

    def _set_priority(self, args: list[str]) -> None:
        word = args[0].upper() if len(args) == 1 else ""
        if word not in PRIORITIES:
            raise illegal_value("expected VOLTage or CURRent")
        if PRIORITIES[word] != self.priority:
            # The instrument turns the output off and returns every output setting to its reset value.
            self.priority = PRIORITIES[word]
            self.source.reset_output_settings()
            self.source.set_output(self.lab.now, False)

    def _set_output(self, args: list[str]) -> None:
        on = _boolean(args)
        if on and self.priority != "VOLT":
            raise ScpiError(-221, "Settings conflict;current priority is not simulated: FUNC VOLT first")
        self.source.set_output(self.lab.now, on)

    def _set_watchdog_delay(self, args: list[str]) -> None:
        self.source.watchdog_delay_s = float(round(_number(args, *WATCHDOG_DELAY_S)))  # 1 s increments

    # -- status and measurements -------------------------------------------------------------------

    def _questionable(self) -> int:
        bits = FAULT_BITS.get(self.source.fault or "", 0)
        limit = self.source.in_limit(self.bus.demand_a) if self.bus.contactor_closed else None
        if limit == "discharge":
            bits |= QUESTIONABLE_BITS["LIM+"]
        elif limit == "charge":
            bits |= QUESTIONABLE_BITS["LIM-"]
        return bits

    def _noisy(self, value: float, sigma: float) -> float:
        return value + float(self._noise.normal(0.0, sigma))
