"""NH Research 9200/9300 battery test system (one module) as the rig's battery emulator.

Sign convention: ``CONFigure:CINegative`` chooses it on the instrument. Set-up
sends ``CONF:CIN 0`` ("FALSE will return negative current that is
discharging"), so the instrument already counts current into the battery
positive, the rig's convention (``rig.core.roles.BatteryEmulator``): nothing is
negated in this driver, and a bench check reads the setting back.

Where each command comes from. [S] = sunspec/svp_energy_lab
``Lib/svpelab/device_battsim_nhr.py`` ("Driver for the SCPI interface for NH
Research, Inc. 9200 and 9300 Battery Simulators", written against modules on
a lab network, its docstrings quoting the NHR manual); [U] = unconfirmed (no
public source found: the form follows SCPI and [S]'s sibling commands).

============================================  ==========================================================  ======
command                                       use here                                                    source
============================================  ==========================================================  ======
``*CLS``, ``SYST:ERR?``, ``*IDN?``            clear, error queue after every setting, identity             [S]
``SYST:REM``                                  remote control at set-up                                     [S]
``OPER <mode>,<enable>,<V>,<I>,<P>,<R>``      mode 0 off / 4 battery; enable bits 1 V, 2 I, 4 P, 8 R;      [S]
                                              battery = V behind R, I the current limit
``OPER?``                                     the mode read back (a module that shut itself off reads 0)   [S]
``CONF:CIN 0`` / ``CONF:CIN?``                current sign: charging positive                              [S]
``BDV 0``                                     battery-detect voltage (charge mode's floor) at 0, as [S]    [S]
``OUTP:SAF <13 values>`` / ``OUTP:SAF?``      shut-off limits: min V, max V, max sink/source A and W,      [S]
                                              each with its time (< 0 disables), max temperature (-1 off)
``SYST:WATC:INT <s>`` / ``SYST:WATC:INT?``    the communication watchdog's interval                        [S] name,
                                                                                                           [U] unit
``ABOR``                                      idles the measurement trigger system (ends a capture)        [S]
``MEAS:VOLT?``, ``FETC:CURR?``                one acquisition: voltage, then its current                   [S]
``MEAS:CURR?``                                a current on its own                                         [U]
``SENS:SWE:POIN``, ``SENS:SWE:APER``          capture length (samples) and duration; "the Module will      [S]
                                              pick the sample rate"
``SENS:SWE:TINT?``                            the interval between samples it picked                       [S]
``INIT``                                      starts the capture ("starts the measurement aperture")       [S]
``FETC:ARR:CURR? <i>``, ``FETC:ARR:VOLT? <i>``  the captured samples from index i, in chunks; past the end  [S] form,
                                              the reply is 3.40282347e+38                                  [U] live
============================================  ==========================================================  ======

Unconfirmed, and checked by ``bench_checks`` (nothing energised): the
watchdog interval's unit (seconds) and range and what the module does when it
runs out (the driver assumes: output off, mode 0; ``faults`` then reports it);
that ``FETC:ARR`` returns the samples acquired *so far* while the capture runs
(the data logger relies on it: a unit that returns nothing before the capture
ends makes ``fetch_log`` return empty batches until then, and the CHAdeMO
session sees no current); the capture's longest length (option
``capture_points``); whether ``MEAS:CURR?`` exists (``read`` uses [S]'s
``MEAS:VOLT?``/``FETC:CURR?`` pair; ``current_a`` alone uses it).

Limits of the instrument the driver does not hide:

- **One current limit for both directions.** Battery mode regulates a single
  current magnitude (``OPER``'s ``<current>``); the per-direction values of
  ``OUTP:SAF`` are shut-off limits, not regulation. ``set_current_limits``
  with different charge and discharge values is refused rather than quietly
  honouring only one of them. Set-up puts the shut-off limits at the bench
  envelope's maxima (voltage, current and power, 5 ms).
- **The data log is a waveform capture, not a min/max logger.** The public
  sources show no per-period average/minimum/maximum log on this family.
  ``start_log`` programs one capture of ``capture_points`` samples, one per
  period (the module picks the interval: ``SENS:SWE:TINT?``), and
  ``fetch_log`` reads the samples acquired since the last fetch. Each sample
  is the module's reading for its interval; it has no separate extremes, so a
  record's minimum and maximum are the sample itself: a spike shorter than a
  period is averaged, not seen as a peak (the RP7900's log reports true
  extremes). A session longer than the capture ends in an ``InstrumentError``
  naming the capture, never in silently missing records.
- No status register is read ([S] leaves the questionable bits "TODO"): a
  shut-off (safety limit or watchdog) is seen as ``OPER?`` reading mode 0
  while the driver had the output on.

The measurement accuracy (options ``current_accuracy_gain`` ...) defaults to
the simulated module's, not a data sheet's: state your unit's.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from pydantic import Field

from drivers.options import DriverOptions
from drivers.scpi import Measurement, ScpiDriver, number, one_of
from rig.config.envelope import EnvelopeGuard
from rig.core.bench_checks import BenchCheck
from rig.core.errors import InstrumentError
from rig.core.identity import InstrumentFamily
from rig.core.roles import Accuracy, DcLogBatch, DcReading

MODE_OFF, MODE_BATTERY = 0, 4
ENABLE_BATTERY = 1 | 2 | 8
"""OPER's enable bits for battery emulation: voltage, current (the limit) and resistance; power not regulated."""
SAFETY_TIME_S = 0.005
"""How long a shut-off limit may be exceeded (the value [S] sets)."""
NO_SAMPLE = 3.0e38
"""A ``FETC:ARR`` value at or above this is the instrument's "no data" (3.40282347e+38, FLT_MAX)."""
WATCHDOG_RANGE_S = (1, 3600)


class _Reading(Measurement):
    """A ``Measurement`` whose reply, when not a number, is an instrument error naming the query (the module
    answers some failures in its data, e.g. ``<ERROR -222>`` as [S] met)."""

    def read(self, driver: ScpiDriver, *, watch: bool = True) -> float:
        try:
            return super().read(driver, watch=watch)
        except ValueError:
            raise InstrumentError(driver.name, self.query, "the reply is not a number") from None


class Nhr9300(ScpiDriver):
    """Options (``Options``): the module's ratings, ``watchdog_s``, the measurement accuracy, the capture's length
    (``capture_points``) and shortest sample interval (``min_log_period_s``)."""

    family = InstrumentFamily("NH Research 9200/9300 battery test system", manufacturer=r"NH ?Research(,? Inc\.?)?",
                              model=r"9[23]\d\d(-.*)?")

    class Options(DriverOptions):
        max_voltage_v: float = Field(600.0, gt=0, description="The module's voltage rating (V).")
        max_current_a: float = Field(100.0, gt=0, description="The module's current rating (A), each direction.")
        max_power_w: float = Field(30000.0, gt=0, description="The module's power rating (W), each direction.")
        max_resistance_ohm: float = Field(1.0, ge=0, description="The largest series resistance it emulates.")
        watchdog_s: int = Field(60, ge=WATCHDOG_RANGE_S[0], le=WATCHDOG_RANGE_S[1],
                                description="The communication watchdog's interval, whole seconds.")
        capture_points: int = Field(1_000_000, ge=1000, le=100_000_000,
                                    description="Samples in one capture: the longest session is this x the period.")
        min_log_period_s: float = Field(1e-5, gt=0, le=1.0, description="The shortest sample interval.")
        current_accuracy_gain: float = Field(0.001, ge=0, lt=1e3)
        current_accuracy_a: float = Field(0.05, ge=0, lt=1e3)
        voltage_accuracy_gain: float = Field(0.0005, ge=0, lt=1e3)
        voltage_accuracy_v: float = Field(0.1, ge=0, lt=1e3)

    def __init__(self, resource: str, *, name: str, envelope: EnvelopeGuard | None = None,
                 timeout_ms: int = 5000, options: dict[str, Any] | None = None) -> None:
        self.o = self.Options.read(name, options)
        self.current_accuracy = Accuracy(self.o.current_accuracy_gain, self.o.current_accuracy_a)
        self.voltage_accuracy = Accuracy(self.o.voltage_accuracy_gain, self.o.voltage_accuracy_v)
        super().__init__(resource, name=name, envelope=envelope, timeout_ms=timeout_ms, options=options)
        self._forget_state()

    def _forget_state(self) -> None:
        self._battery: tuple[float, float] | None = None
        self._limit_a = self.o.max_current_a
        self._output_on = False
        self._log: tuple[float, float, float, int] | None = None
        """While capturing: trigger instant, its half-width, sample interval, samples fetched so far."""

    # -- set-up ---------------------------------------------------------------------------------

    def setup(self) -> None:
        """Remote, output off, charging counted positive, shut-off limits from the envelope, watchdog armed."""
        volts = self._envelope_maximum("dc_voltage_v", self.o.max_voltage_v)
        amps = self._envelope_maximum("dc_current_a", self.o.max_current_a)
        watts = self._envelope_maximum("dc_power_w", self.o.max_power_w)
        self._forget_state()
        self._limit_a = amps
        t = SAFETY_TIME_S
        for command in ("*CLS", "SYST:REM", "ABOR", f"OPER {MODE_OFF},0,0,0,0,0", "CONF:CIN 0", "BDV 0",
                        f"OUTP:SAF 0,-1,{volts:.6g},{t:g},{amps:.6g},{t:g},{amps:.6g},{t:g},{watts:.6g},{t:g},"
                        f"{watts:.6g},{t:g},-1",
                        f"SYST:WATC:INT {self.o.watchdog_s}"):
            self.write(command)

    def _envelope_maximum(self, quantity: str, rating: float) -> float:
        value = self.envelope.maximum(quantity) if self.envelope is not None else None
        value = rating if value is None else value
        if not 0.0 <= value <= rating:
            raise InstrumentError(self.name, "OUTP:SAF", f"envelope {quantity} {value:g} is outside the module's "
                                                         f"0..{rating:g}")
        return value

    # -- the emulated battery -----------------------------------------------------------------------

    def emulate(self, open_circuit_v: float, resistance_ohm: float) -> None:
        """Open-circuit voltage and series resistance, checked first; sent at once while the output is on (battery
        mode carries both in one ``OPER``), else with the next ``output(True)``."""
        self.check_value("open-circuit voltage", open_circuit_v, (0.0, self.o.max_voltage_v), "V", "dc_voltage_v")
        self.check_value("series resistance", resistance_ohm, (0.0, self.o.max_resistance_ohm), "ohm", None)
        self._check_operating_range(open_circuit_v, resistance_ohm, self._limit_a)
        changed = self._battery is None or any(f"{a:.6g}" != f"{b:.6g}" for a, b in
                                               zip(self._battery, (open_circuit_v, resistance_ohm)))
        self._battery = (open_circuit_v, resistance_ohm)
        if self._output_on and changed:
            self._send_battery()

    def set_current_limits(self, charge_a: float, discharge_a: float) -> None:
        """One limit for both directions (battery mode regulates one magnitude): different values are refused."""
        for what, amps in (("charge current limit", charge_a), ("discharge current limit", discharge_a)):
            self.check_value(what, amps, (0.0, self.o.max_current_a), "A", "dc_current_a")
        if f"{charge_a:.6g}" != f"{discharge_a:.6g}":
            raise InstrumentError(self.name, "OPER", f"charge {charge_a:g} A and discharge {discharge_a:g} A differ: "
                                  "battery mode regulates one current magnitude for both directions")
        if self._battery is not None:
            self._check_operating_range(*self._battery, charge_a)
        self._limit_a = charge_a
        if self._output_on:
            self._send_battery()

    def _check_operating_range(self, open_circuit_v: float, resistance_ohm: float, limit_a: float) -> None:
        """Refuse a battery whose terminal voltage or power at the current limit, either way, leaves the envelope."""
        if self.envelope is None:
            return
        for amps, direction in ((limit_a, "charge"), (-limit_a, "discharge")):
            volts = open_circuit_v + resistance_ohm * amps
            self.envelope.check("dc_voltage_v", volts, what=f"{self.name} terminal voltage at the {limit_a:g} A "
                                                            f"{direction} limit")
            self.envelope.check("dc_power_w", abs(volts * amps), what=f"{self.name} power at the {direction} limit")

    def _send_battery(self) -> None:
        assert self._battery is not None
        volts, ohms = self._battery
        self.write(f"OPER {MODE_BATTERY},{ENABLE_BATTERY},{volts:.6g},{self._limit_a:.6g},{self.o.max_power_w:.6g},"
                   f"{ohms:.6g}")

    def output(self, on: bool) -> None:
        """Battery mode with the battery set (only after ``emulate``), or off."""
        if on:
            if self._battery is None:
                raise InstrumentError(self.name, "OPER", "no battery set since set-up: emulate() first")
            self._send_battery()
        else:
            self.write(f"OPER {MODE_OFF},0,0,0,0,0")
        self._output_on = on

    # -- measurements and faults ------------------------------------------------------------------

    voltage_v = _Reading("MEAS:VOLT?", unit="V", what="voltage", envelope="dc_voltage_v",
                            doc="Terminal voltage (a new acquisition); above the envelope it ends the case.")
    current_a = _Reading("MEAS:CURR?", unit="A", what="current", envelope="dc_current_a",
                            doc="Current into the battery (a new acquisition; unconfirmed form).")
    fetched_current_a = _Reading("FETC:CURR?", unit="A", what="current", envelope="dc_current_a",
                                    doc="The current of the last acquisition (the one ``voltage_v`` started).")
    watched = ("voltage_v", "fetched_current_a")

    def read(self) -> DcReading:
        """Voltage and current of one acquisition (``MEAS:VOLT?`` then ``FETC:CURR?``)."""
        reading = DcReading(voltage_v=self.voltage_v(), current_a=self.fetched_current_a())
        self.watch("dc_power_w", abs(reading.power_w), "measured power")
        return reading

    def protections(self) -> tuple[list[tuple[str, str]], str]:
        """The module has shut itself off when ``OPER?`` reads mode 0 while the driver had it in battery mode."""
        reply = self.query("OPER?")
        try:
            mode = int(float(reply.split(",")[0]))
        except ValueError:
            raise InstrumentError(self.name, "OPER?", f"{reply!r} does not start with a mode number") from None
        latched = [("OFF", "the module switched its output off by itself: a shut-off limit (OUTP:SAF) or the "
                           "watchdog")] if self._output_on and mode == MODE_OFF else []
        return latched, f"OPER? = {reply}"

    def envelope_faults(self) -> list[str]:
        """None while capturing (a measurement would start a new acquisition; the samples are watched as fetched)."""
        return [] if self._log is not None else super().envelope_faults()

    def watched_magnitudes(self, readings: dict[str, float]) -> list[tuple[str, float, str]]:
        power = abs(readings["voltage_v"] * readings["fetched_current_a"])
        return super().watched_magnitudes(readings) + [("dc_power_w", power, "measured power")]

    def safe_off(self) -> None:
        """Output off, then the capture ended. The watchdog stays armed."""
        self.write(f"OPER {MODE_OFF},0,0,0,0,0")
        self._output_on = False
        self.stop_log()

    def cannot_see(self) -> list[str]:
        """What the run must state: the log has one reading per sample interval, no true extremes, and one current
        limit serves both directions (see the module docstring)."""
        return ["the peak current and voltage within a log period: the module's capture gives one reading per "
                "sample interval, so a spike shorter than the interval is averaged into it, not seen as a peak "
                "(a record's minimum and maximum are that reading)"]

    # -- confirmations on the unit (rig bench check) --------------------------------------------------

    def ratings(self) -> dict[str, tuple[float, float]]:
        return {"dc_voltage_v": (0.0, self.o.max_voltage_v), "dc_current_a": (0.0, self.o.max_current_a),
                "dc_power_w": (0.0, self.o.max_power_w)}

    def bench_checks(self) -> list[BenchCheck]:
        """The unconfirmed forms, asked with nothing energised: the current sign (set as set-up sets it, read back),
        the watchdog interval, the capture's sample interval and a single current acquisition."""
        return super().bench_checks() + [
            self.confirm_setting("charging counts positive (CONF:CIN 0 reads back 0)", "CONF:CIN 0", "CONF:CIN?",
                                 one_of("0", "OFF")),
            self.confirm_query("the watchdog interval reads back", "SYST:WATC:INT?", number),
            self.confirm_query("the capture's sample interval reads back", "SENS:SWE:TINT?", number),
            self.confirm_query("a single current acquisition answers", "MEAS:CURR?", number),
        ]

    # -- the data log (DcLogger) from the waveform capture -------------------------------------------------

    def start_log(self, period_s: float, now: Callable[[], float]) -> None:
        """One capture of ``capture_points`` samples ``period_s`` apart (the module picks the interval), started
        by ``INIT`` stamped on ``now`` read around it."""
        self.check_value("log period", period_s, (self.o.min_log_period_s, 1.0), "s", None)
        self.stop_log()
        points = self.o.capture_points
        self.write(f"SENS:SWE:POIN {points}")
        self.write(f"SENS:SWE:APER {points * period_s:.9g}")
        interval = float(self.query("SENS:SWE:TINT?"))
        before = now()
        self.write("INIT")
        after = now()
        self._log = ((before + after) / 2.0, (after - before) / 2.0, interval, 0)

    def _samples(self, quantity: str, first: int) -> np.ndarray:
        """The samples of ``quantity`` (CURR or VOLT) acquired from index ``first`` on, chunk by chunk."""
        command = f"FETC:ARR:{quantity}? {first}"
        reply = self.query(command)
        try:
            values = np.array([float(v) for v in reply.split(",")], dtype=float)
        except ValueError:
            raise InstrumentError(self.name, command, f"{reply[:60]!r} is not a list of numbers") from None
        ends = np.flatnonzero(np.abs(values) >= NO_SAMPLE)
        return values[:ends[0]] if len(ends) else values

    def fetch_log(self) -> DcLogBatch:
        """The samples acquired since the last fetch, current and voltage paired by index; each sample is its
        record's average, minimum and maximum (the capture measures no extremes)."""
        if self._log is None:
            raise InstrumentError(self.name, "FETC:ARR:CURR?", "no capture running: start_log() first")
        started, started_u, interval, fetched = self._log
        currents, voltages = [], []
        index = fetched
        while True:
            current = self._samples("CURR", index)
            if not len(current):
                break
            voltage = self._samples("VOLT", index)
            count = min(len(current), len(voltage))
            if count == 0:
                break
            currents.append(current[:count])
            voltages.append(voltage[:count])
            index += count
        if index == fetched and fetched >= self.o.capture_points:
            raise InstrumentError(self.name, f"FETC:ARR:CURR? {fetched}", f"the capture of {fetched} samples is "
                                  f"full ({fetched * interval:g} s): the session outlasts it (option capture_points)")
        current = np.concatenate(currents) if currents else np.empty(0)
        voltage = np.concatenate(voltages) if voltages else np.empty(0)
        if len(current):
            self.watch("dc_current_a", float(np.max(np.abs(current))), "logged current")
            self.watch("dc_voltage_v", float(np.max(voltage)), "logged voltage")
        self._log = (started, started_u, interval, index)
        return DcLogBatch(started, started_u, interval, fetched, np.column_stack([current] * 3),
                          np.column_stack([voltage] * 3), self.current_accuracy, self.voltage_accuracy)

    def stop_log(self) -> None:
        """End the capture (``ABOR``; harmless when none runs)."""
        self.write("ABOR")
        self._log = None
