"""Keysight RP7900-series regenerative power system as the rig's battery emulator.

Sign convention: the instrument counts current positive while it *sources*
(the battery discharges); the rig counts current into the battery positive
(``rig.core.roles.BatteryEmulator``). ``_into_battery`` converts, in one place: a
measured current is negated, the charge limit is the instrument's negative
(sink) limit and the discharge limit its positive (source) limit.

Commands and where they are confirmed:

- Keysight RP7900 Series Operating and Service Guide, SCPI reference (public
  copies of the guide, pages 122, 226, 238, 241, 242, e.g.
  https://manualshive.com/en/manual/keysight-technologies/rp7900-series/1962221?page=242
  and https://www.easymanua.ls/keysight-technologies/rp7900-series/manual?p=241):
  ``OUTPut:PROTection:WDOG[:STATe]``
  and ``OUTPut:PROTection:WDOG:DELay`` (1 to 3600 s in 1 s increments, *RST
  60 s; without SCPI I/O on any remote interface for the delay the output is
  latched off, the programmed output state unchanged, PROT set);
  ``[SOURce:]VOLTage:RESistance`` (output resistance, voltage priority only,
  firmware B.03.02.1232 and later on RP793xA/RP794xA);
  ``[SOURce:]VOLTage:PROTection:LOW[:STATe|:DELay]`` (under-voltage protection,
  RP793xA/RP794xA only); ``OUTPut:PROTection:CLEar`` (clears a latch once its
  cause is gone; the output returns to its state before the fault); the
  Questionable1 bits listed in ``QUESTIONABLE_BITS`` (p.241) and the
  Questionable2 bits in ``QUESTIONABLE2_BITS`` (p.242: IPK+ 2 and IPK- 4, in
  peak current limit; CSF 8, a current sharing fault; MSP 16 and SDP 32, output
  disabled by a master/slave or a Safety Disconnect System protection; UV 64,
  an under-voltage protection occurred). "Voltage priority mode: you can
  program a negative and positive current limit" (p.118).
- Keysight N6900/N7900 operating guide (the same command family) and a public
  N6974A driver written and measured against a real unit: ``FUNCtion VOLTage|CURRent``
  (changing the priority turns the output off and returns the output settings
  to their reset values, so it is sent first), ``VOLTage``, ``CURRent:LIMit``,
  ``CURRent:LIMit:NEGative`` ("always negative"), ``VOLTage:PROTection`` (the
  over-voltage protection, always enabled), ``OUTPut``, ``MEASure:VOLTage?``,
  ``MEASure:CURRent?``, ``STATus:QUEStionable<1|2>:CONDition?`` (p.267,
  https://www.easymanua.ls/keysight-technologies/n6972a-with-option-301/manual?p=267:
  ``STAT:QUES1:COND?``; the 1 may be omitted), ``SYSTem:ERRor?``; the same
  watchdog wording and range.
- Public RP790x user scripts: ``FUNC VOLT``, ``CURR:LIM``, ``CURR:LIM:NEG``,
  ``OUTP ON|OFF``, ``MEAS:VOLT?``, ``MEAS:CURR?``. They disagree on the sign
  sent with ``CURR:LIM:NEG``: one, with a Keysight USB address and serial in
  its code, passes the negative limit as it is; another version of the same
  class sends the magnitude (``abs``).
- Public N678x (N6700 SMU) code: ``CURR:LIM:COUP OFF`` before ``CURR:LIM:NEG``
  ("to set the negative current limit, you must first turn limit coupling
  (tracking) off"); with coupling on, ``CURR:LIM`` sets both limits.

Unconfirmed for the RP7900 (check before a bench run): the sign of
``CURR:LIM:NEG``. The RP7900 guide's own entry for
``[SOURce:]CURRent:LIMit:NEGative`` was not found in the public copies
searched; this driver sends a negative number, the N6900/N7900 form and the
one the script with a unit's USB address sends (a unit that wants the
magnitude answers -222 Data out of range, and set-up stops at that
command). That the RP7900 has ``CURR:LIM:COUP`` at all (from N678x code, not
the RP7900 guide): set-up switches it off and reads it back, so a unit
without it answers -113 Undefined header at set-up rather than tracking the
sink limit to the source limit unnoticed. Whether ``VOLT:RES`` needs ``VOLT:RES:STAT ON`` as on
the N6900/N7900 (the RP7900 guide's entry names no state command: none is
sent); the unit's ratings and ``VOLT:PROT`` range (options ``max_voltage_v``,
``max_current_a``, ``max_resistance_ohm``: take them from your model's data
sheet; the defaults are the simulated unit's). The family admits RP79xx
only: the N79xx shares most commands but has no under-voltage protection and
sinks only what its N7909A dissipators allow.

The data logger (``DcLogger``: the CHAdeMO suite's measurement of the
charger at the vehicle inlet): the RP7900 guide documents external data
logging and its trigger (``TRIGger:ELOG:SOURce`` BUS = ``*TRG``, p.143;
acquisition steps p.149), ``FORMat[:DATA] ASCii|REAL`` and ``FORMat:BORDer
NORMal|SWAPped`` (p.193: REAL is a definite-length block of IEEE single
floats, SWAPped little-endian) and ``STATus:OPERation`` WTG-meas 8 and
MEAS-active 32 (p.241). The logger's own commands are written as public
code that ran on the Keysight N6700/N6900 family uses them, and are
**unconfirmed on the RP7900**: ``SENSe:ELOG:PERiod``,
``SENSe:ELOG:FUNCtion:CURRent|VOLTage[:MINMax] ON``, ``INITiate:ELOG``,
``TRIGger:ELOG``, ``FETCh:ELOG? <records>``, ``ABORt:ELOG``; so are the
order of a record's values (current average, minimum, maximum, then voltage
the same), the period's range (option ``min_log_period_s``) and whether a
scalar ``MEAS?`` may run while the logger is initiated (the driver never
mixes them). Why a data log and not the guide's array measurement
(``SENS:SWE:POIN/TINT``, ``FETC:ARR?``): an array fills a buffer that can
only be fetched once complete and shares its sweep settings with the scalar
``MEAS?`` the vehicle emulator needs every cycle, so a whole session cannot be
measured with it; the log streams records (average, minimum and maximum of
each period, so nothing between two records is missed) while it runs.
The measurement accuracy (options ``current_accuracy_gain``,
``current_accuracy_a``, ``voltage_accuracy_gain``, ``voltage_accuracy_v``:
+-(gain x reading + offset)) is the simulated unit's by default, not a data
sheet's: state your unit's, from its data sheet or calibration certificate.

Not used: ``VOLT:PROT:LOW``. It trips while the output up-programs unless its
delay is tuned to the bench, and only two sub-series have it; the driver
instead checks every setpoint's terminal voltage range against the envelope
before sending it. The instrument has no power-limit command in these
sources: power is checked, not limited.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from pydantic import Field

from drivers.options import DriverOptions
from drivers.scpi import Measurement, ScpiDriver, StatusRegister, number, one_of
from rig.core.bench_checks import BenchCheck
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import InstrumentError
from rig.core.identity import InstrumentFamily
from rig.core.roles import Accuracy, DcLogBatch, DcReading

QUESTIONABLE_BITS = (
    (1, "OV", "over-voltage protection"), (2, "OC", "over-current protection"),
    (4, "PF", "power-fail on the AC line"), (8, "CP+", "positive over-power limit"),
    (16, "OT", "over-temperature protection"), (32, "CP-", "negative over-power limit"),
    (64, "OV-", "negative over-voltage (reversed sense leads)"), (512, "INH", "external inhibit"),
    (2048, "PROT", "I/O watchdog: no SCPI I/O within its delay"), (4096, "EDP", "excessive dynamic protection"),
)
"""Questionable1 bits that mean "output disabled by ..." (RP7900 guide); LIM+, LIM- and UNR are states, not trips."""
QUESTIONABLE2_BITS = (
    (8, "CSF", "current sharing fault"), (16, "MSP", "output disabled by a master/slave protection"),
    (32, "SDP", "output disabled by the Safety Disconnect System"), (64, "UV", "under-voltage protection"),
)
"""Questionable2 bits that mean a fault (RP7900 guide p.242); IPK+ and IPK- (in peak current limit) are states."""
STATUS_REGISTERS = (("STAT:QUES:COND?", QUESTIONABLE_BITS), ("STAT:QUES2:COND?", QUESTIONABLE2_BITS))
"""The condition registers read for protections, each with its fault bits."""
WATCHDOG_TRIP = "PROT"
WATCHDOG_RANGE_S = (1, 3600)
LOG_COLUMNS = 6
"""A log record: current average, minimum, maximum, then voltage the same (unconfirmed order)."""
LOG_FETCH_MAX = 1_000_000
"""Most records asked for in one fetch (the simulated unit's buffer)."""


def _into_battery(instrument_amps: float) -> float:
    """The instrument's current (positive while it sources) as current into the battery."""
    return -instrument_amps


class KeysightRP7900(ScpiDriver):
    """Options (``Options``): the unit's ratings, ``watchdog_s`` (how long a dead rig leaves the battery
    energised; while the output is on, the rig must exchange with the instrument at least that often), the
    measurement accuracy (see the module) and ``min_log_period_s``."""

    family = InstrumentFamily("Keysight RP7900-series regenerative power system",
                              manufacturer=r"Keysight Technologies", model=r"RP79\d\d[A-Z]?")

    class Options(DriverOptions):
        max_voltage_v: float = Field(500.0, gt=0, description="The unit's voltage rating (V).")
        max_current_a: float = Field(50.0, gt=0, description="The unit's current rating (A).")
        max_resistance_ohm: float = Field(1.0, ge=0, description="The largest series resistance it emulates.")
        watchdog_s: int = Field(60, ge=WATCHDOG_RANGE_S[0], le=WATCHDOG_RANGE_S[1],
                                description="The I/O watchdog's delay, whole seconds.")
        current_accuracy_gain: float = Field(0.001, ge=0, lt=1e3)
        current_accuracy_a: float = Field(0.05, ge=0, lt=1e3)
        voltage_accuracy_gain: float = Field(0.0005, ge=0, lt=1e3)
        voltage_accuracy_v: float = Field(0.1, ge=0, lt=1e3)
        min_log_period_s: float = Field(102.4e-6, gt=0, le=60.0, description="The data logger's shortest period.")

    def __init__(self, resource: str, *, name: str, envelope: EnvelopeGuard | None = None,
                 timeout_ms: int = 5000, options: dict[str, Any] | None = None) -> None:
        o = self.Options.read(name, options)
        self.max_voltage_v, self.max_current_a, self.max_resistance_ohm = (o.max_voltage_v, o.max_current_a,
                                                                           o.max_resistance_ohm)
        self.current_accuracy = Accuracy(o.current_accuracy_gain, o.current_accuracy_a)
        self.voltage_accuracy = Accuracy(o.voltage_accuracy_gain, o.voltage_accuracy_v)
        self.min_log_period_s = o.min_log_period_s
        self.watchdog_s = o.watchdog_s
        super().__init__(resource, name=name, envelope=envelope, timeout_ms=timeout_ms, options=options)
        self._forget_state()

    def _forget_state(self) -> None:
        """What the driver knows it has commanded (after set-up: no battery, full limits, output off)."""
        self._battery: tuple[float, float] | None = None
        self._limits = (self.max_current_a, self.max_current_a)  # charge, discharge
        self._output_on = False
        self._log: tuple[float, float, float, int] | None = None
        """While logging: trigger instant, its half-width, period, records fetched so far."""

    # -- set-up ---------------------------------------------------------------------------------

    def setup(self) -> None:
        """Output off, any old latch cleared, voltage priority, 0 V and 0 ohm, protection from the envelope,
        watchdog armed. Priority goes first: changing it resets the output settings."""
        limit = self._envelope_maximum("dc_current_a", self.max_current_a, "CURR:LIM")
        ovp = self._envelope_maximum("dc_voltage_v", self.max_voltage_v, "VOLT:PROT")
        self._forget_state()
        for command in ("*CLS", "OUTP OFF", "OUTP:PROT:CLE", "ABOR:ELOG", "SOUR:FUNC VOLT", "VOLT 0", "VOLT:RES 0"):
            self.write(command)  # 0 V and 0 ohm with the output off: nothing reaches the terminals
        self.write(f"VOLT:PROT {ovp:.6g}")
        self._uncouple_limits()
        self._send_limits(limit, limit)
        self.write(f"OUTP:PROT:WDOG:DEL {self.watchdog_s}")
        self.write("OUTP:PROT:WDOG ON")

    def _envelope_maximum(self, quantity: str, instrument_max: float, command: str) -> float:
        """The bench envelope's maximum of ``quantity``, or the instrument's own when the bench states none."""
        value = self.envelope.maximum(quantity) if self.envelope is not None else None
        value = instrument_max if value is None else value
        if not 0.0 <= value <= instrument_max:
            raise InstrumentError(self.name, command, f"{value:g} is outside the instrument's 0..{instrument_max:g}")
        return value

    # -- the emulated battery -----------------------------------------------------------------------

    def emulate(self, open_circuit_v: float, resistance_ohm: float) -> None:
        """Open-circuit voltage and series resistance, checked against the instrument and the envelope
        (at both current limits) before either is sent."""
        self.check_value("open-circuit voltage", open_circuit_v, (0.0, self.max_voltage_v), "V", "dc_voltage_v")
        self.check_value("series resistance", resistance_ohm, (0.0, self.max_resistance_ohm), "ohm", None)
        self._check_operating_range(open_circuit_v, resistance_ohm, *self._limits)
        sent = self._battery
        # What it already holds since set-up is not sent again (the vehicle's battery model updates the voltage
        # every half second and the resistance never).
        for command, value, before in (("VOLT", open_circuit_v, None if sent is None else sent[0]),
                                       ("VOLT:RES", resistance_ohm, None if sent is None else sent[1])):
            if before is None or f"{value:.6g}" != f"{before:.6g}":
                self.write(f"{command} {value:.6g}")
        self._battery = (open_circuit_v, resistance_ohm)

    def set_current_limits(self, charge_a: float, discharge_a: float) -> None:
        """Most current into the battery (the instrument's sink limit) and out of it (its source limit)."""
        for what, amps in (("charge current limit", charge_a), ("discharge current limit", discharge_a)):
            self.check_value(what, amps, (0.0, self.max_current_a), "A", "dc_current_a")
        if self._battery is not None:
            self._check_operating_range(*self._battery, charge_a, discharge_a)
        self._send_limits(charge_a, discharge_a)

    def _uncouple_limits(self) -> None:
        """Limit coupling off, and read back: while coupled, the sink limit follows the source limit and
        cannot be set apart (N678x practice; unconfirmed on the RP7900, see the module)."""
        self.write("CURR:LIM:COUP OFF")
        state = self.query("CURR:LIM:COUP?")
        if state.lstrip("+") not in ("0", "OFF"):
            raise InstrumentError(self.name, "CURR:LIM:COUP?", f"limit coupling still on ({state!r}): the sink "
                                                               "limit would follow the source limit")

    def _send_limits(self, charge_a: float, discharge_a: float) -> None:
        """Source limit, then sink limit (a negative number: unconfirmed on the RP7900, see the module)."""
        self.write(f"CURR:LIM {discharge_a:.6g}")
        self.write(f"CURR:LIM:NEG {-charge_a:.6g}")
        self._limits = (charge_a, discharge_a)

    def _check_operating_range(self, open_circuit_v: float, resistance_ohm: float, charge_a: float,
                               discharge_a: float) -> None:
        """Refuse a battery whose terminal voltage or power at either current limit leaves the envelope."""
        if self.envelope is None:
            return
        for amps, direction in ((charge_a, "charge"), (-discharge_a, "discharge")):
            volts = open_circuit_v + resistance_ohm * amps
            what = f"{self.name} terminal voltage at the {abs(amps):g} A {direction} limit"
            self.envelope.check("dc_voltage_v", volts, what=what)
            self.envelope.check("dc_power_w", abs(volts * amps), what=f"{self.name} power at the {direction} limit")

    def output(self, on: bool) -> None:
        """Output on (only with a battery set since set-up, and nothing latched) or off."""
        if on:
            if self._battery is None:
                raise InstrumentError(self.name, "OUTP ON", "no battery set since set-up: emulate() first")
            self._clear_idle_watchdog_trip()
        self.write(f"OUTP {'ON' if on else 'OFF'}")
        self._output_on = on

    def _clear_idle_watchdog_trip(self) -> None:
        """Before output on: clear a watchdog trip that latched while the output was off; refuse any other latch.

        The watchdog stays armed from set-up, so a long wait with the output off
        (another suite's case) trips it with nothing at stake; cleared here with
        the output programmed off, it gives nothing back. Any other protection,
        or a watchdog trip under load, is the instrument's word and is not
        overridden.
        """
        latched, registers = self.protections()
        watchdog = not self._output_on and any(short == WATCHDOG_TRIP for short, _ in latched)
        others = [short for short, _ in latched if not (short == WATCHDOG_TRIP and watchdog)]
        if others:
            raise InstrumentError(self.name, "OUTP ON", f"protection latched ({', '.join(others)}, {registers}): "
                                  "find the cause; the safe state clears it")
        if watchdog:
            self.write("OUTP:PROT:CLE")

    # -- measurements and faults ------------------------------------------------------------------

    voltage_v = Measurement("MEAS:VOLT?", unit="V", what="voltage", envelope="dc_voltage_v",
                            doc="Terminal voltage; above the envelope it ends the case (``EnvelopeBreach``).")
    current_a = Measurement("MEAS:CURR?", unit="A", what="current", envelope="dc_current_a", convert=_into_battery,
                            doc="Current into the battery (positive while it charges); beyond the envelope it "
                                "ends the case.")
    status_registers = tuple(StatusRegister(query, bits) for query, bits in STATUS_REGISTERS)
    watched = ("voltage_v", "current_a")

    def read(self) -> DcReading:
        reading = DcReading(voltage_v=self.voltage_v(), current_a=self.current_a())
        self.watch("dc_power_w", abs(reading.power_w), "measured power")
        return reading

    # -- confirmations on the unit (rig bench check) --------------------------------------------------------

    def ratings(self) -> dict[str, tuple[float, float]]:
        return {"dc_voltage_v": (0.0, self.max_voltage_v), "dc_current_a": (0.0, self.max_current_a)}

    def bench_checks(self) -> list[BenchCheck]:
        """The unconfirmed forms (see the module), asked with nothing energised: the sink limit's sign as the
        unit reads it back, limit coupling, the second status register, the data logger."""
        def sign_of_sink_limit(reply: str) -> str | None:
            try:
                value = float(reply)
            except ValueError:
                return "not a number"
            return None if value < 0 else ("a positive sink limit: the unit takes the magnitude, and the driver "
                                           "sends a negative number (see the module)" if value > 0 else
                                           "zero cannot tell the sign: set a sink limit on the front panel and "
                                           "check again")

        return super().bench_checks() + [
            self.confirm_query("the sink current limit reads back negative (the driver sends it negative)",
                               "CURR:LIM:NEG?", sign_of_sink_limit),
            self.confirm_query("limit coupling exists and reads back", "CURR:LIM:COUP?", one_of("0", "1", "ON", "OFF")),
            self.confirm_query("the second status register answers", "STAT:QUES2:COND?", number),
            self.confirm_query("the data logger's period reads back", "SENS:ELOG:PER?", number),
        ]

    def counts_as_fault(self, short: str) -> bool:
        """A watchdog trip counts only if the output was on: with it off (a case of another suite waiting longer
        than the delay) nothing was at stake, and ``output(True)`` clears it."""
        return short != WATCHDOG_TRIP or self._output_on

    def envelope_faults(self) -> list[str]:
        """Voltage, current and their power against the envelope; none while logging (the log's batches are
        watched as they are fetched; a scalar reading would disturb it)."""
        return [] if self._log is not None else super().envelope_faults()

    def watched_magnitudes(self, readings: dict[str, float]) -> list[tuple[str, float, str]]:
        power = abs(readings["voltage_v"] * readings["current_a"])
        return super().watched_magnitudes(readings) + [("dc_power_w", power, "measured power")]

    def safe_off(self) -> None:
        """Output off, then a latched protection cleared (the engine recorded it first; with the output
        programmed off, clearing it leaves the output off). The watchdog stays armed."""
        self.write("OUTP OFF")
        self._output_on = False
        self.write("OUTP:PROT:CLE")
        self.stop_log()

    # -- the data logger (DcLogger) -----------------------------------------------------------------

    def start_log(self, period_s: float, now: Callable[[], float]) -> None:
        """Log current and voltage (average, minimum, maximum) every ``period_s`` from a bus trigger stamped
        on ``now`` (read before and after the trigger's exchange)."""
        self.check_value("log period", period_s, (self.min_log_period_s, 60.0), "s", None)
        self.stop_log()
        for command in ("FORM REAL", "FORM:BORD SWAP", f"SENS:ELOG:PER {period_s:.9g}", "SENS:ELOG:FUNC:CURR ON",
                        "SENS:ELOG:FUNC:CURR:MINM ON", "SENS:ELOG:FUNC:VOLT ON", "SENS:ELOG:FUNC:VOLT:MINM ON",
                        "TRIG:ELOG:SOUR BUS", "INIT:ELOG"):
            self.write(command)
        period = float(self.query("SENS:ELOG:PER?"))  # as the instrument rounded it
        before = now()
        self.write("TRIG:ELOG")
        after = now()
        self._log = ((before + after) / 2.0, (after - before) / 2.0, period, 0)

    def fetch_log(self) -> DcLogBatch:
        """The records completed since the last fetch, current converted into the battery's sign; a value
        beyond the envelope ends the case."""
        if self._log is None:
            raise InstrumentError(self.name, "FETC:ELOG?", "the data logger is not running: start_log() first")
        started, started_u, period, fetched = self._log
        values = self.query_block(f"FETC:ELOG? {LOG_FETCH_MAX}", "f4").astype(float)
        if values.size % LOG_COLUMNS:
            raise InstrumentError(self.name, "FETC:ELOG?", f"{values.size} values do not make whole records of "
                                  f"{LOG_COLUMNS} (current and voltage, average, minimum, maximum)")
        records = values.reshape(-1, LOG_COLUMNS)
        current = -records[:, [0, 2, 1]]  # the instrument's sourcing current; its maximum is the battery's minimum
        voltage = records[:, 3:6]
        if len(records):
            self.watch("dc_current_a", float(np.max(np.abs(current[:, 1:]))), "logged current")
            self.watch("dc_voltage_v", float(np.max(voltage[:, 2])), "logged voltage")
        self._log = (started, started_u, period, fetched + len(records))
        return DcLogBatch(started, started_u, period, fetched, current, voltage, self.current_accuracy,
                          self.voltage_accuracy)

    def stop_log(self) -> None:
        """Stop the logger (nothing if it was not running) and answer in ASCII again."""
        self.write("ABOR:ELOG")
        if self._log is not None:
            self.write("FORM ASC")
        self._log = None
