"""NH Research 9200/9300 battery test system module, as the simulated lab serves it.

The second dialect of ``rig.sim.instruments.dc_source.DcSource`` (the first is
the RP7900's), reached by ``drivers/battery/nhr_9300.py``; its capture is the
vendor-neutral ``rig.sim.instruments.dc_logger.DataLogger`` read one sample per
period. Served as the public sources describe the module (the driver's
docstring lists them and what is unconfirmed):

- ``OPER <mode>,<enable>,<V>,<I>,<P>,<R>``: mode 0 off, 1 standby (output
  off), 4 battery (V behind R, I the current limit both ways); 2 and 3
  (charge, discharge) are not simulated (-221). Enable bits 1 V, 2 I, 4 P,
  8 R: battery mode needs V; without I the limit is the rating, without R the
  resistance is 0; power regulation is not simulated (bit 4: -221). Each value
  is checked against the ratings (-222); ``OPER?`` answers the six values.
- ``CONF:CIN 0|1``: 1 (the power-on value here) reports charging current
  negative; 0 positive. It applies to every current the module reports.
- ``OUTP:SAF`` (13 values): max V with a time >= 0 is the over-voltage
  shut-off (immediate here); min V with a time >= 0 the under-voltage one
  after its time; the current and power shut-offs are stored, not simulated
  (the regulating limit holds the current). A shut-off, like the watchdog,
  turns the module off: ``OPER?`` reads mode 0 until the next ``OPER``.
- ``SYST:WATC:INT <s>`` (0 disables, up to 3600 s): no message for that long,
  in lab time, turns the module off.
- ``MEAS:VOLT?``/``MEAS:CURR?`` start an acquisition; ``FETC:VOLT?``/``FETC:CURR?``
  read the last one (-230 before any). Refused while a capture runs (-221).
- The capture: ``SENS:SWE:POIN`` (1..``MAX_POINTS``), ``SENS:SWE:APER``
  (duration); the module picks the interval, a whole number of
  ``SAMPLE_BASE_S`` (``SENS:SWE:TINT?``); ``INIT`` starts it (-213 while one
  runs); ``FETC:ARR:CURR|VOLT? <index>`` returns up to ``ARRAY_CHUNK``
  samples acquired from that index, or 3.40282347e+38 when there is none
  (yet); ``ABOR`` ends it. Settings are refused while it runs (-221).
- Numbers answer in NR3; ``SYST:REM``/``SYST:LOC``, ``BDV`` are kept.

Assumptions of the simulator (not from a manual): the ratings; that the
capture can be read while it runs; its length and chunk; the sample base;
the power-on values (CIN 1, watchdog off, shut-offs at the ratings); that a
sample is the average over its interval; measurement errors and noise.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rig.sim.instruments.dc_logger import Accuracy, DataLogger
from rig.sim.instruments.dc_source import DcRatings
from rig.sim.instruments.dc_source_scpi import ScpiDcSource
from rig.sim.model import LabModel
from rig.sim.wire.scpi_server import Reply, ScpiError, illegal_value, on_off

RATINGS = DcRatings(max_voltage_v=600.0, max_current_a=100.0, max_resistance_ohm=1.0, max_ovp_v=600.0)
MAX_POWER_W = 30000.0
MAX_POINTS = 2_000_000
ARRAY_CHUNK = 4096
SAMPLE_BASE_S = 1e-6
NO_SAMPLE = "3.40282347E+38"
WATCHDOG_S = (0.0, 3600.0)
ACCURACY: Accuracy = {"CURR": (0.0004, 0.012, 0.004), "VOLT": (0.0002, 0.04, 0.02)}
"""Per quantity: gain error, offset error (A or V), noise of one ADC sample (sigma)."""
ADC_INTERVAL_S = 1e-6
SAFETY_FIELDS = 13


def _nr3(value: float) -> str:
    return f"{value:+.6E}"


def _float(text: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise illegal_value(f"{text!r} is not a number") from None
    if not low <= value <= high:
        raise ScpiError(-222, "Data out of range")
    return value


class Nhr9300(ScpiDcSource):
    idn = "NH Research,9300-600-100,SIM-9300-0001,1.0-sim"

    def __init__(self, lab: LabModel) -> None:
        super().__init__(lab, RATINGS, noise_stream=0x9300)
        self.logger = DataLogger.at_source(lab.dc_bus, ACCURACY, current_sign=1.0, adc_interval_s=ADC_INTERVAL_S,
                                           capacity=MAX_POINTS, rng=np.random.default_rng([lab.seed, 0x9301]))
        self._power_on()
        add = self.add
        add("SYSTem:REMote", lambda a: setattr(self, "remote", True))
        add("SYSTem:LOCal", lambda a: setattr(self, "remote", False))
        add("OPERation", self._set_operation)
        add("OPERation", lambda a: ",".join([str(self.mode), str(self.enable)] + [_nr3(v) for v in self.values]),
            query=True)
        add("CONFigure:CINegative", lambda a: self._idle(lambda: setattr(self, "charge_negative", on_off(a))))
        add("CONFigure:CINegative", lambda a: "1" if self.charge_negative else "0", query=True)
        add("BDVoltage", lambda a: setattr(self, "bdv", _float(self._one(a), 0.0, RATINGS.max_voltage_v)))
        add("BDVoltage", lambda a: _nr3(self.bdv), query=True)
        add("OUTPut:SAFety", self._set_safety)
        add("OUTPut:SAFety", lambda a: ",".join(_nr3(v) for v in self.safety), query=True)
        add("SYSTem:WATChdog:INTerval", self._set_watchdog)
        add("SYSTem:WATChdog:INTerval", lambda a: _nr3(self.source.watchdog_delay_s if self.source.watchdog_on
                                                       else 0.0), query=True)
        add("MEASure[:SCALar]:VOLTage[:DC]", lambda a: self._measure()[0], query=True)
        add("MEASure[:SCALar]:CURRent[:DC]", lambda a: self._measure()[1], query=True)
        add("FETCh[:SCALar]:VOLTage[:DC]", lambda a: self._fetched(0), query=True)
        add("FETCh[:SCALar]:CURRent[:DC]", lambda a: self._fetched(1), query=True)
        add("SENSe:SWEep:POINts", lambda a: self._idle(lambda: setattr(self, "points", int(_float(self._one(a), 1,
                                                                                                   MAX_POINTS)))))
        add("SENSe:SWEep:POINts", lambda a: str(self.points), query=True)
        add("SENSe:SWEep:APERture", lambda a: self._idle(lambda: setattr(self, "aperture_s",
                                                                         _float(self._one(a), 1e-5, 1e7))))
        add("SENSe:SWEep:APERture", lambda a: _nr3(self.aperture_s), query=True)
        add("SENSe:SWEep:TINTerval", lambda a: _nr3(self._interval()), query=True)
        add("INITiate[:IMMediate]", lambda a: self._initiate())
        add("ABORt", lambda a: self.logger.abort())
        add("FETCh:ARRay:CURRent", lambda a: self._array(a, 0), query=True)
        add("FETCh:ARRay:VOLTage", lambda a: self._array(a, 1), query=True)

    def _power_on(self) -> None:
        self.mode, self.enable = 0, 0
        self.values = [0.0, 0.0, 0.0, 0.0]
        self.charge_negative = True
        self.remote = False
        self.bdv = 0.0
        self.safety = [0.0, -1.0, RATINGS.max_voltage_v, -1.0, RATINGS.max_current_a, -1.0, RATINGS.max_current_a,
                       -1.0, MAX_POWER_W, -1.0, MAX_POWER_W, -1.0, -1.0]
        self.points, self.aperture_s = 1000, 1.0
        self.acquired: tuple[float, float] | None = None
        self.captured = np.empty((0, 2))

    def reset(self) -> None:
        """*RST: off, power-on settings, capture idle, watchdog off."""
        self.logger.reset()
        self.source.reset()
        self._power_on()
        self.source.set_output(self.lab.now, False)

    def execute(self, line: str) -> Reply:
        """Any message holds the watchdog off; a shut-off since the last one shows as mode 0 first."""
        self._settle()
        self.source.note_io(self.lab.now)
        return super().execute(line)

    def _settle(self) -> None:
        """A protection of the source (over/under-voltage, watchdog) operated: the module is off (mode 0), not
        latched: the next ``OPER`` turns it on again."""
        if self.source.fault is not None:
            self.mode = 0
            self.source.set_output(self.lab.now, False)
            self.source.clear_protection(self.lab.now)

    @staticmethod
    def _one(args: list[str]) -> str:
        if len(args) != 1:
            raise illegal_value("expected one value")
        return args[0]

    def _idle(self, change: Callable[[], None]) -> None:
        if self.logger.running and not self._capture_done():
            raise ScpiError(-221, "Settings conflict;a capture is running: ABOR first")
        change()

    # -- operation ---------------------------------------------------------------------------------

    def _set_operation(self, args: list[str]) -> None:
        if len(args) != 6:
            raise illegal_value("expected <mode>,<enable>,<voltage>,<current>,<power>,<resistance>")
        mode, enable = int(_float(args[0], 0, 4)), int(_float(args[1], 0, 15))
        volts = _float(args[2], 0.0, RATINGS.max_voltage_v)
        amps = _float(args[3], 0.0, RATINGS.max_current_a)
        watts = _float(args[4], 0.0, MAX_POWER_W)
        ohms = _float(args[5], 0.0, RATINGS.max_resistance_ohm)
        if mode in (2, 3):
            raise ScpiError(-221, "Settings conflict;charge and discharge modes are not simulated")
        if mode == 4 and (enable & 4):
            raise ScpiError(-221, "Settings conflict;power regulation is not simulated")
        if mode == 4 and not enable & 1:
            raise ScpiError(-221, "Settings conflict;battery mode needs its voltage enabled")
        self.mode, self.enable, self.values = mode, enable, [volts, amps, watts, ohms]
        now = self.lab.now
        if mode == 4:
            self.source.set_battery(now, volts, ohms if enable & 8 else 0.0)
            limit = amps if enable & 2 else RATINGS.max_current_a
            self.source.set_limits(now, charge_a=limit, discharge_a=limit)
        self.source.set_output(now, mode == 4)

    def _set_safety(self, args: list[str]) -> None:
        if len(args) != SAFETY_FIELDS:
            raise illegal_value(f"expected {SAFETY_FIELDS} values")
        values = [float(a) for a in args]
        for index, high in ((0, RATINGS.max_voltage_v), (2, RATINGS.max_voltage_v), (4, RATINGS.max_current_a),
                            (6, RATINGS.max_current_a), (8, MAX_POWER_W), (10, MAX_POWER_W)):
            _float(args[index], 0.0, high)
        self.safety = values
        now = self.lab.now
        self.source.set_ovp(now, values[2] if values[3] >= 0 else RATINGS.max_ovp_v)
        self.source.set_under_voltage(now, on=values[1] >= 0 and values[0] > 0, level_v=values[0],
                                      delay_s=max(values[1], 0.0))

    def _set_watchdog(self, args: list[str]) -> None:
        seconds = _float(self._one(args), *WATCHDOG_S)
        if seconds > 0:
            self.source.watchdog_delay_s = seconds
        self.source.arm_watchdog(self.lab.now, seconds > 0)

    # -- measurements ------------------------------------------------------------------------------

    def _sign(self) -> float:
        return -1.0 if self.charge_negative else 1.0

    def _measure(self) -> tuple[str, str]:
        if self.logger.running and not self._capture_done():
            raise ScpiError(-221, "Settings conflict;a capture is running")
        volts = self.bus.source_voltage_v() + float(self._noise.normal(0.0, 0.01))
        amps = self._sign() * self.bus.current_a() + float(self._noise.normal(0.0, 0.002))
        self.acquired = (volts, amps)
        return _nr3(volts), _nr3(amps)

    def _fetched(self, which: int) -> str:
        if self.acquired is None:
            raise ScpiError(-230, "Data corrupt or stale;no acquisition yet")
        return _nr3(self.acquired[which])

    # -- the capture -------------------------------------------------------------------------------

    def _interval(self) -> float:
        return max(round(self.aperture_s / self.points / SAMPLE_BASE_S), 1) * SAMPLE_BASE_S

    def _capture_done(self) -> bool:
        return self.logger.completed(self.lab.now) >= self.points

    def _initiate(self) -> None:
        if self.logger.running and not self._capture_done():
            raise ScpiError(-213, "Init ignored;a capture is running")
        self.logger.abort()
        self.logger.period_s = self._interval()
        self.logger.minmax = {"CURR": False, "VOLT": False}
        self.logger.initiate()
        self.logger.trigger(self.lab.now)
        self.captured = np.empty((0, 2))

    def _array(self, args: list[str], column: int) -> str:
        start = int(_float(self._one(args), 0, MAX_POINTS))
        if self.logger.running:
            wanted = self.points - len(self.captured)
            if wanted > 0:
                self.captured = np.vstack([self.captured, self.logger.fetch(self.lab.now, wanted)])
        values = self.captured[start:start + ARRAY_CHUNK, column]
        if column == 0:
            values = self._sign() * values
        return ",".join(_nr3(float(v)) for v in values) if len(values) else NO_SAMPLE
