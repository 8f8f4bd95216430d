"""Keysight RP7900-series regenerative power system emulating a battery, as the simulated lab serves it.

The dialect of ``rig.sim.instruments.dc_source.DcSource``: the lab's battery emulator,
reached by ``drivers/battery/keysight_rp7900.py`` over SCPI on a loopback
socket. Served as strictly as the public sources describe the instrument (the
driver's docstring lists them, and which forms are unconfirmed):

- Instrument sign convention: current is positive while the unit *sources*
  (the battery discharges). ``MEAS:CURR?`` therefore answers the negative of
  the bus's current into the battery, and the sink limit is
  ``CURR:LIM:NEG``, a negative number (a positive one is -222 Data out of
  range). The sign is the N6900/N7900 guide's; the RP7900 guide's own entry
  was not found, so it is the driver's unconfirmed choice, served consistently.
- ``CURR:LIM:COUP ON|OFF`` (limit tracking, as the N678x public code uses it;
  unconfirmed on the RP7900): ON at power-on, after ``*RST`` and after a
  priority change. While ON, ``CURR:LIM`` sets both limits to the same
  magnitude and ``CURR:LIM:NEG`` is refused (-221 Settings conflict): the
  coupling must be switched off before the sink limit is set apart.
- ``FUNC VOLT|CURR`` sets the priority mode; changing it turns the output off
  and returns every output setting to its reset value (so limits sent before
  it are lost). Only voltage priority is simulated: ``OUTP ON`` in current
  priority is a -221 Settings conflict.
- ``VOLT:RES`` is the emulated battery's series resistance (voltage priority).
- ``VOLT:PROT`` is the over-voltage protection: terminal voltage above it
  latches the output off (OV in ``STAT:QUES:COND?``).
- ``VOLT:PROT:LOW[:LEV]``, ``VOLT:PROT:LOW:DEL`` and ``VOLT:PROT:LOW:STAT``
  (RP7900 guide p.238: 0 to 102 % of the rating, *RST 0; 20.48 us to 2611 s,
  *RST 20.48 us; *RST OFF): once enabled, a terminal voltage below the level
  after the delay latches the output off (UV in ``STAT:QUES2:COND?``). The
  delay starts when the protection is enabled, the output turned on or a
  latch cleared (the guide: it keeps the protection from tripping when
  enabled and on output changes).
- ``OUTP:PROT:WDOG ON`` with ``OUTP:PROT:WDOG:DEL <s>`` (1..3600 s, whole
  seconds): no message on the interface for the delay, in lab time, latches
  the output off (PROT). The programmed output state is kept.
- ``OUTP:PROT:CLE`` clears a latched protection and the output returns to its
  programmed state: send ``OUTP OFF`` first to keep it off.
- ``STAT:QUES[1]:COND?`` bits as the RP7900 guide lists them (p.241): OV 1,
  LIM+ 128 (sourcing current limit), LIM- 256 (sinking current limit), PROT
  2048. ``STAT:QUES2:COND?`` (p.242): UV 64, the only Questionable2 bit the
  simulation can set (IPK+/IPK-, CSF, MSP and SDP need peak limits, parallel
  units or the safety disconnect system, none simulated).
- Numbers answer in NR3 with a sign (``+4.000000E+02``), booleans as 0 or 1;
  numeric settings accept MIN and MAX.

- External data logging (``rig.sim.instruments.dc_logger``): ``SENS:ELOG:PER``,
  ``SENS:ELOG:FUNC:CURR|VOLT[:MINM] ON|OFF``, ``TRIG:ELOG:SOUR BUS|IMM``,
  ``INIT:ELOG``, ``TRIG:ELOG`` (or ``*TRG``), ``FETC:ELOG? <records>``,
  ``ABOR:ELOG``; ``FORM[:DATA] ASC|REAL`` and ``FORM:BORD NORM|SWAP``
  (RP7900 guide p.193: REAL is a definite-length block of IEEE single
  floats, NORMal big-endian, SWAPped little-endian); ``STAT:OPER:COND?``
  WTG-meas 8 and MEAS-active 32 (guide p.241). A trigger while not
  initiated is -211 Trigger ignored; settings changed while the logger is
  initiated are -221 Settings conflict.

Assumptions of the simulator (not from a data sheet): the simulated unit's
ratings (``RATINGS``: 500 V, +-50 A, 0..1 ohm, OVP up to 120 % of the
voltage rating); reset values of the limits (the full rating); the limit
coupling's behaviour (above); when the under-voltage delay starts; measurements
answer at once (a real ``MEAS`` acquires for about a power-line cycle); the
data logger's period range (``ELOG_PERIOD_S``), its buffer (``ELOG_CAPACITY``
records), the order of a record (current then voltage, each average then
minimum then maximum), and that a scalar ``MEAS``/``FETC`` while the logger
is initiated is refused (-221: the guide says a MEAS triggers a new
acquisition of the measurement system the logger is using); its measurement
errors (``ACCURACY``: a fixed gain and offset error inside the accuracy the
driver's defaults state) and noise.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rig.sim.instruments.dc_logger import Accuracy, DataLogger
from rig.sim.instruments.dc_source import OVER_VOLTAGE, UNDER_VOLTAGE, WATCHDOG, DcRatings
from rig.sim.instruments.dc_source_scpi import ScpiDcSource
from rig.sim.model import LabModel
from rig.sim.wire.scpi_server import Reply, ScpiError, ieee_block, illegal_value

RATINGS = DcRatings(max_voltage_v=500.0, max_current_a=50.0, max_resistance_ohm=1.0, max_ovp_v=600.0)
WATCHDOG_DELAY_S = (1.0, 3600.0)
UV_LEVEL_V = (0.0, 1.02 * RATINGS.max_voltage_v)
UV_DELAY_S = (20.48e-6, 2611.0)
QUESTIONABLE_BITS = {"OV": 1, "LIM+": 128, "LIM-": 256, "PROT": 2048}
QUESTIONABLE2_BITS = {"IPK+": 2, "IPK-": 4, "CSF": 8, "MSP": 16, "SDP": 32, "UV": 64}
FAULT_BITS = {OVER_VOLTAGE: QUESTIONABLE_BITS["OV"], WATCHDOG: QUESTIONABLE_BITS["PROT"]}
"""The latched protections of ``DcSource`` that Questionable1 shows."""
FAULT_BITS2 = {UNDER_VOLTAGE: QUESTIONABLE2_BITS["UV"]}
"""The latched protections of ``DcSource`` that Questionable2 shows."""
PRIORITIES = {"VOLT": "VOLT", "VOLTAGE": "VOLT", "CURR": "CURR", "CURRENT": "CURR"}
OPERATION_BITS = {"WTG-meas": 8, "MEAS-active": 32}
ELOG_PERIOD_S = (102.4e-6, 60.0)
ELOG_CAPACITY = 1_000_000
ADC_INTERVAL_S = 10.24e-6
ACCURACY: Accuracy = {"CURR": (0.0004, 0.012, 0.004), "VOLT": (0.0002, 0.04, 0.02)}
"""Per quantity: the simulated unit's gain error, offset error (A or V) and ADC noise (one sample, sigma)."""


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


class KeysightRP7900(ScpiDcSource):
    idn = "Keysight Technologies,RP7942A,SIM-RP7942A-0001,B.03.02.1232-sim"

    def __init__(self, lab: LabModel) -> None:
        super().__init__(lab, RATINGS, noise_stream=0xDC)
        self.logger = DataLogger.at_source(lab.dc_bus, ACCURACY, current_sign=-1.0, adc_interval_s=ADC_INTERVAL_S,
                                           capacity=ELOG_CAPACITY, rng=np.random.default_rng([lab.seed, 0xE1]))
        self._power_on_settings()
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
        add("[SOURce:]CURRent:LIMit[:POSitive][:IMMediate][:AMPLitude]", self._set_source_limit)
        add("[SOURce:]CURRent:LIMit[:POSitive][:IMMediate][:AMPLitude]", self._query(lambda: src.discharge_limit_a, 0.0, r.max_current_a), query=True)
        add("[SOURce:]CURRent:LIMit:NEGative[:IMMediate][:AMPLitude]", self._set_sink_limit)
        add("[SOURce:]CURRent:LIMit:NEGative[:IMMediate][:AMPLitude]", self._query(lambda: -src.charge_limit_a, -r.max_current_a, 0.0), query=True)
        add("[SOURce:]CURRent:LIMit:COUPle", lambda a: setattr(self, "limits_coupled", _boolean(a)))
        add("[SOURce:]CURRent:LIMit:COUPle", lambda a: "1" if self.limits_coupled else "0", query=True)
        add("[SOURce:]VOLTage:PROTection[:LEVel]", lambda a: src.set_ovp(self.lab.now, _number(a, 0.0, r.max_ovp_v)))
        add("[SOURce:]VOLTage:PROTection[:LEVel]", self._query(lambda: src.ovp_v, 0.0, r.max_ovp_v), query=True)
        add("[SOURce:]VOLTage:PROTection:LOW[:LEVel]",
            lambda a: src.set_under_voltage(self.lab.now, level_v=_number(a, *UV_LEVEL_V)))
        add("[SOURce:]VOLTage:PROTection:LOW[:LEVel]", self._query(lambda: src.uv_level_v, *UV_LEVEL_V), query=True)
        add("[SOURce:]VOLTage:PROTection:LOW:DELay",
            lambda a: src.set_under_voltage(self.lab.now, delay_s=_number(a, *UV_DELAY_S)))
        add("[SOURce:]VOLTage:PROTection:LOW:DELay", self._query(lambda: src.uv_delay_s, *UV_DELAY_S), query=True)
        add("[SOURce:]VOLTage:PROTection:LOW:STATe", lambda a: src.set_under_voltage(self.lab.now, on=_boolean(a)))
        add("[SOURce:]VOLTage:PROTection:LOW:STATe", lambda a: "1" if src.uv_on else "0", query=True)
        add("OUTPut[:STATe]", self._set_output)
        add("OUTPut[:STATe]", lambda a: "1" if src.output_on else "0", query=True)
        add("OUTPut:PROTection:CLEar", lambda a: src.clear_protection(self.lab.now))
        add("OUTPut:PROTection:WDOG[:STATe]", lambda a: src.arm_watchdog(self.lab.now, _boolean(a)))
        add("OUTPut:PROTection:WDOG[:STATe]", lambda a: "1" if src.watchdog_on else "0", query=True)
        add("OUTPut:PROTection:WDOG:DELay", self._set_watchdog_delay)
        add("OUTPut:PROTection:WDOG:DELay", self._query(lambda: src.watchdog_delay_s, *WATCHDOG_DELAY_S), query=True)
        add("STATus:QUEStionable[1]:CONDition", lambda a: f"+{self._questionable()}", query=True)
        add("STATus:QUEStionable2:CONDition", lambda a: f"+{self._questionable2()}", query=True)
        add("STATus:OPERation:CONDition", lambda a: f"+{self._operation()}", query=True)
        for verb in ("MEASure", "FETCh"):
            add(f"{verb}[:SCALar]:VOLTage[:DC]", self._scalar(lambda: self._noisy(self.bus.source_voltage_v(), 0.01)), query=True)
            add(f"{verb}[:SCALar]:CURRent[:DC]", self._scalar(lambda: self._noisy(-self.bus.current_a(), 0.002)), query=True)
            add(f"{verb}[:SCALar]:POWer[:DC]", self._scalar(lambda: -self.bus.source_voltage_v() * self.bus.current_a()), query=True)
        self._add_data_logger()

    def execute(self, line: str) -> Reply:
        self.source.note_io(self.lab.now)  # any message holds the watchdog off, queries too
        return super().execute(line)

    def reset(self) -> None:
        """*RST: voltage priority, limits coupled, output off, every setting at its power-on value, watchdog and
        under-voltage protection off, logger idle, ASCII numbers."""
        self.logger.reset()
        self.source.reset()
        self._power_on_settings()
        self.source.set_output(self.lab.now, False)

    def _power_on_settings(self) -> None:
        """What this dialect holds besides the source's settings, at power-on and after *RST."""
        self.priority = "VOLT"
        self.real_format = self.swapped = False
        self.limits_coupled = True
        """``CURR:LIM:COUP``: while on, the sink limit tracks the source limit and cannot be set apart."""
        self.source.uv_delay_s = UV_DELAY_S[0]  # the guide's *RST value (p.238); DcSource knows no vendor's

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
            self.limits_coupled = True
            self.source.reset_output_settings()
            self.source.set_output(self.lab.now, False)

    def _set_source_limit(self, args: list[str]) -> None:
        """``CURR:LIM``: the source limit, and the sink limit too while the limits are coupled."""
        amps = _number(args, 0.0, RATINGS.max_current_a)
        self.source.set_limits(self.lab.now, discharge_a=amps, charge_a=amps if self.limits_coupled else None)

    def _set_sink_limit(self, args: list[str]) -> None:
        """``CURR:LIM:NEG``: a negative number, refused while the limits are coupled."""
        amps = _number(args, -RATINGS.max_current_a, 0.0)
        if self.limits_coupled:
            raise ScpiError(-221, "Settings conflict;the negative current limit tracks the positive one: "
                                  "CURR:LIM:COUP OFF first")
        self.source.set_limits(self.lab.now, charge_a=-amps)

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

    def _questionable2(self) -> int:
        return FAULT_BITS2.get(self.source.fault or "", 0)

    def _noisy(self, value: float, sigma: float) -> float:
        return value + float(self._noise.normal(0.0, sigma))

    # -- external data logging -----------------------------------------------------------------------

    def _add_data_logger(self) -> None:
        add, log = self.add, self.logger
        add("SENSe:ELOG:PERiod", lambda a: self._idle_setting(lambda: setattr(log, "period_s", _number(a, *ELOG_PERIOD_S))))
        add("SENSe:ELOG:PERiod", self._query(lambda: log.period_s, *ELOG_PERIOD_S), query=True)
        for name, word in (("CURR", "CURRent"), ("VOLT", "VOLTage")):
            for part, flags in (("[:STATe]", "enabled"), (":MINMax", "minmax")):
                add(f"SENSe:ELOG:FUNCtion:{word}{part}", self._logged_flag_setter(flags, name))
                add(f"SENSe:ELOG:FUNCtion:{word}{part}", self._logged_flag_getter(flags, name), query=True)
        add("TRIGger:ELOG:SOURce", self._set_elog_source)
        add("TRIGger:ELOG:SOURce", lambda a: self._elog_source, query=True)
        self._elog_source = "BUS"
        add("INITiate[:IMMediate]:ELOG", lambda a: self._initiate_elog())
        add("TRIGger:ELOG[:IMMediate]", lambda a: self._trigger_elog())
        add("*TRG", lambda a: self._trigger_elog())
        add("ABORt:ELOG", lambda a: log.abort())
        add("FETCh:ELOG", self._fetch_elog, query=True)
        add("FORMat[:DATA]", self._set_format)
        add("FORMat[:DATA]", lambda a: "REAL" if self.real_format else "ASC", query=True)
        add("FORMat:BORDer", self._set_byte_order)
        add("FORMat:BORDer", lambda a: "SWAP" if self.swapped else "NORM", query=True)

    def _idle_setting(self, change: Callable[[], None]) -> None:
        if self.logger.initiated:
            raise ScpiError(-221, "Settings conflict;the data logger is initiated: ABOR:ELOG first")
        change()

    def _logged_flag_setter(self, flags: str, name: str) -> Callable[[list[str]], None]:
        """A logged quantity's on/off (``flags``: the logger's ``enabled``) or min/max on/off (``minmax``) setting,
        refused while the logger runs. The logger's dict is looked up at each command: a reset replaces it."""
        def setter(args: list[str]) -> None:
            self._idle_setting(lambda: getattr(self.logger, flags).__setitem__(name, _boolean(args)))
        return setter

    def _logged_flag_getter(self, flags: str, name: str) -> Callable[[list[str]], str]:
        return lambda args: "1" if getattr(self.logger, flags)[name] else "0"

    def _set_elog_source(self, args: list[str]) -> None:
        word = args[0].upper() if len(args) == 1 else ""
        sources = {"BUS": "BUS", "IMM": "IMM", "IMMEDIATE": "IMM"}
        if word not in sources:
            raise illegal_value("expected BUS or IMMediate (the simulated unit has no trigger pins)")
        self._idle_setting(lambda: setattr(self, "_elog_source", sources[word]))

    def _initiate_elog(self) -> None:
        if self.logger.initiated:
            raise ScpiError(-213, "Init ignored;the data logger is already initiated")
        self.logger.initiate()
        if self._elog_source == "IMM":
            self.logger.trigger(self.lab.now)

    def _trigger_elog(self) -> None:
        if not self.logger.trigger(self.lab.now):
            raise ScpiError(-211, "Trigger ignored;the data logger is not waiting for a trigger")

    def _fetch_elog(self, args: list[str]) -> Reply:
        if len(args) != 1 or not args[0].strip().isdigit() or int(args[0]) < 1:
            raise illegal_value("expected the most records to return (a whole number >= 1)")
        if not self.logger.initiated:
            raise ScpiError(-230, "Data corrupt or stale;the data logger is not running")
        values = self.logger.fetch(self.lab.now, int(args[0])).ravel()
        if self.real_format:
            return ieee_block(values.astype("<f4" if self.swapped else ">f4").tobytes())
        return ",".join(_nr3(float(v)) for v in values)

    def _set_format(self, args: list[str]) -> None:
        word = args[0].upper() if len(args) == 1 else ""
        if word not in ("ASC", "ASCII", "REAL"):
            raise illegal_value("expected ASCii or REAL")
        self.real_format = word == "REAL"

    def _set_byte_order(self, args: list[str]) -> None:
        word = args[0].upper() if len(args) == 1 else ""
        if word not in ("NORM", "NORMAL", "SWAP", "SWAPPED"):
            raise illegal_value("expected NORMal or SWAPped")
        self.swapped = word.startswith("SWAP")

    def _operation(self) -> int:
        if self.logger.running:
            return OPERATION_BITS["MEAS-active"]
        return OPERATION_BITS["WTG-meas"] if self.logger.initiated else 0

    def _scalar(self, value: Callable[[], float]) -> Callable[[list[str]], str]:
        """A scalar measurement, refused while the data logger holds the measurement system."""
        def answer(args: list[str]) -> str:
            if self.logger.initiated:
                raise ScpiError(-221, "Settings conflict;the data logger is using the measurement system")
            return _nr3(value())
        return answer
