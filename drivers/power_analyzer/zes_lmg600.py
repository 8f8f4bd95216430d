"""ZES ZIMMER LMG600 family (LMG610 ... LMG670, LMG671) as the rig's power analyzer, in either of its languages.

The unit speaks two languages on the same socket: ZES's short form (``UTRMS1?``, ``IRNG1 30``) and SCPI
(``:FETC:VOLT:TRMS1?``); ``*zlang short`` / ``*zlang scpi`` switches between them. The bench chooses one with the
option ``language`` (default ``short``, the form every public LMG600 driver found speaks); set-up switches the unit
to it and the driver speaks nothing else afterwards. Transport: raw TCP on port 5025, ``\\n``-terminated
(``TCPIP0::<host>::5025::SOCKET``).

A *data update* on the LMG is the end of a **measuring cycle**. The cycle time is set (``CYCL`` / ``:SENS:SWE:TIME``)
but the unit makes each cycle a whole number of periods of its synchronisation signal, so a cycle lasts about, not
exactly, that long (the public capture: ``durnorm`` 0.500101824 s for a 0.5 s cycle at 49.9898 Hz). Each cycle's
values carry its time stamp (``TSNORM``, the unit's own clock, ``2015:01:21D17:20:55.437817000+0000``) and its
actual duration (``DURNORM``). ``read`` therefore waits, on the rig's clock, for the stamp to change (polled, as the
WT driver polls its UPD event), then reads the stamp, the duration and every value in one message that begins and
ends with the stamp (a message that straddles a cycle end is not used). ``AnalyzerUpdate.interval_s`` is the unit's
own ``DURNORM``, never the nominal cycle time; ``t_s`` is on the rig's clock, the middle of the poll interval in
which the stamp changed (known to half of it), because the unit's clock is not the rig's. Channels in different
measuring *groups* run different cycles (in the capture, channels 1-3 and 4-6 have their own stamps and durations),
so set-up puts every channel in one group (``GROUP <n>``) and ``read`` refuses elements whose stamps differ.

Sources, per command (short form | SCPI). [C] confirmed in the public source named; [U] unconfirmed:

=============================  ===========================================  ======================================
what                           short form                                   SCPI
=============================  ===========================================  ======================================
language switch                ``*zlang short`` [C lmgtools lmg670.py, SVP ``*zlang scpi`` [C same; lmgd]
                               device_lmg670.py, lmgd device.cpp]
reset, clear                   ``*RST``, ``*CLS`` [C lmgtools ``*rst;*cls``] the same [C]
handshake                      ``<cmd>;*OPC?`` answers ``1`` [C lmgtools    the same [C]
                               ``send_cmd``]
error queue (all, drained)     ``ERRALL?`` -> ``0,"No error"`` [C lmgd      ``:SYST:ERR:ALL?`` [C lmgd, lmgtools
                               connection.cpp, short-form version]          ``syst:err:all?``]
one group for all channels     ``GROUP?`` (e.g. ``3,3``), ``GROUP <n>``     ``:SENS:GRO:LIST <n>`` [C lmgd];
                               [C lmgd, short-form version]                 ``:SENS:GRO:LIST?`` [U]
number format                  ``FRMT ASCii`` [C SVP]                       ``:FORM:DATA ASCii`` [U: lmgd sends
                                                                            ``:FORM:DATA <n>``, a number]
cycle time                     ``CYCL <s>`` [C SVP]                         ``:SENS:SWE:TIME <s>`` [C lmgd]
fixed ranges                   ``IAUTO<c> 0;IRNG<c> <A>;UAUTO<c> 0;URNG<c>  ``:SENS:CURR:RANG:AUTO<c> 0``,
                               <V>`` [C lmgtools, SVP, lmgd]                ``:SENS:CURR:RANG<c> <A>``, the same
                                                                            for VOLT [C lmgd]
rms U, I; P; S                 ``UTRMS<c>?``, ``ITRMS<c>?``, ``P<c>?`` [C   ``:FETC:VOLT:TRMS<c>?``,
                               lmgtools], ``S<c>?`` [C SVP]                 ``:FETC:CURR:TRMS<c>?``,
                                                                            ``:FETC:POW:ACT<c>?``,
                                                                            ``:FETC:POW:APP<c>?`` [C lmgd]
power factor; frequency        ``PF<c>?``, ``FCYC<c>?`` [C lmgtools]        ``:FETC:POW:FACT<c>?``,
                                                                            ``:FETC:FREQ:FCYC<c>?`` [U]
DC mean U, I                   ``UDC<c>?``, ``IDC<c>?`` [C lmgtools]        ``:FETC:VOLT:DC<c>?``,
                                                                            ``:FETC:CURR:DC<c>?`` [U]
cycle stamp, duration          ``TSNORM<c>?``, ``DURNORM<c>?`` [C lmgtools  ``:FETC:TIME:NORM<c>?``,
                               and its capture]                             ``:FETC:TIME:DUR<c>?`` [U: lmgd found
                                                                            no SCPI form and used the short one]
current scaling read-back      ``ISCA<c>?`` [set form ``ISCA<c> <x>`` C     ``:SENS:CURR:SCAL<c>?`` [U]
                               SVP; the query U]
integration mode, interval     ``INTM <0|1>``, ``INTI <s>`` [U]             ``:INTegral:MODE <0|1>``,
                                                                            ``:INTegral:INTerval <s>`` [U]
integration start/stop/reset   ``START``, ``STOP``, ``RESET`` [U]           ``:INTegral:STARt|STOP|RESet`` [U]
integration state              ``INTS?`` 0 reset, 1 running, 2 stopped,     ``:INTegral:STATe?`` [U]
                               3 interval over [U]
integrated energy (Wh), time   ``EP<c>?``, ``INTT?`` [U]                    ``:FETC:ENER:ACT<c>?``,
                                                                            ``:FETC:INT:TIME?`` [U]
=============================  ===========================================  ======================================

Also UNCONFIRMED, checked where possible by ``bench_checks()`` (nothing energised): the ``*IDN?`` manufacturer
field (``ZES ZIMMER...``; lmgd and lmgtools read only its model and serial), that ``*RST`` leaves the language alone
(``*zlang`` is sent after it either way), that after ``*RST`` the unit measures in its normal cycle mode (SVP sends
``CYCLMOD``, not sent here), that the cycle stamp advances by ``DURNORM`` each cycle while nothing is asked
(``INIM``, which SVP sends before its reads, is not sent: its semantics are unconfirmed, so the driver relies on the
stamps instead), that a value is invalid as ``9.91E+37`` (the capture shows it for quantities with no signal) and
that energy is in Wh (a factor 3600 would show at once in the efficiency suite's integration cross-check), that
``ISCA`` 1 is direct input (SVP sets ``1000 / ratio``: its unit is unclear, so the driver never sets it and the
bench check only reads it back). Not used: continuous output (``ACTN``, ``CONT ON``; a stream the rig does not need),
the break on port 5026, ``GTL``.

Ranges and power accuracy come from the bench file (``ranges``, ``power_accuracy``): no public source gives the
LMG600's range lists or accuracy, and the driver writes none of its own; without ``power_accuracy`` it states no
uncertainty (``power_spec`` raises), so an efficiency case on it is an error, never a verdict. The range and
accuracy models are every analyzer driver's (``analyzer_options``).
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator
from pyvisa.errors import VisaIOError

from drivers.options import DriverOptions
from drivers.power_analyzer.analyzer_options import ELEMENT_NAME, ElementRanges, PowerAccuracy, power_spec
from drivers.power_analyzer.update_wait import INVALID, start_update_wait
from drivers.scpi import ScpiDriver, number
from rig.config.envelope import EnvelopeGuard
from rig.core import stop
from rig.core.bench_checks import BenchCheck
from rig.core.errors import InstrumentError
from rig.core.identity import InstrumentFamily
from rig.core.roles import AnalyzerUpdate, ElementReading, PowerSpec

if TYPE_CHECKING:
    from rig.core.clock import Clock

Language = Literal["short", "scpi"]


@dataclass(frozen=True)
class Dialect:
    """One language's forms of every command the driver sends (``{c}``: a channel number)."""

    name: Language
    errors: str
    groups: str
    group_set: str
    ascii_format: str
    format_query: str
    cycle: str
    ranges: str
    stamp: str
    duration: str
    ac: dict[str, str]
    dc: dict[str, str]
    scale: str
    int_mode: str
    int_interval: str
    int_start: str
    int_stop: str
    int_reset: str
    int_state: str
    energy: str
    int_time: str


SHORT = Dialect(
    "short", errors="ERRALL?", groups="GROUP?", group_set="GROUP {n}", ascii_format="FRMT ASCii",
    format_query="FRMT?", cycle="CYCL {s:g}", ranges="IAUTO{c} 0;IRNG{c} {a:g};UAUTO{c} 0;URNG{c} {v:g}",
    stamp="TSNORM{c}?", duration="DURNORM{c}?",
    ac={"U": "UTRMS{c}?", "I": "ITRMS{c}?", "P": "P{c}?", "S": "S{c}?", "PF": "PF{c}?", "F": "FCYC{c}?"},
    dc={"U": "UDC{c}?", "I": "IDC{c}?", "P": "P{c}?"}, scale="ISCA{c}?",
    int_mode="INTM {m}", int_interval="INTI {s}", int_start="START", int_stop="STOP", int_reset="RESET",
    int_state="INTS?", energy="EP{c}?", int_time="INTT?")
SCPI = Dialect(
    "scpi", errors=":SYST:ERR:ALL?", groups=":SENS:GRO:LIST?", group_set=":SENS:GRO:LIST {n}",
    ascii_format=":FORM:DATA ASCii", format_query=":FORM:DATA?", cycle=":SENS:SWE:TIME {s:g}",
    ranges=":SENS:CURR:RANG:AUTO{c} 0;:SENS:CURR:RANG{c} {a:g};:SENS:VOLT:RANG:AUTO{c} 0;:SENS:VOLT:RANG{c} {v:g}",
    stamp=":FETC:TIME:NORM{c}?", duration=":FETC:TIME:DUR{c}?",
    ac={"U": ":FETC:VOLT:TRMS{c}?", "I": ":FETC:CURR:TRMS{c}?", "P": ":FETC:POW:ACT{c}?", "S": ":FETC:POW:APP{c}?",
        "PF": ":FETC:POW:FACT{c}?", "F": ":FETC:FREQ:FCYC{c}?"},
    dc={"U": ":FETC:VOLT:DC{c}?", "I": ":FETC:CURR:DC{c}?", "P": ":FETC:POW:ACT{c}?"}, scale=":SENS:CURR:SCAL{c}?",
    int_mode=":INTegral:MODE {m}", int_interval=":INTegral:INTerval {s}", int_start=":INTegral:STARt",
    int_stop=":INTegral:STOP", int_reset=":INTegral:RESet", int_state=":INTegral:STATe?",
    energy=":FETC:ENER:ACT{c}?", int_time=":FETC:INT:TIME?")
DIALECTS = {"short": SHORT, "scpi": SCPI}

NO_ERROR = '0,"No error"'
INTEGRATION_CODES = {"0": "RESET", "1": "START", "2": "STOP", "3": "TIMEUP"}
"""The integration state query's answers [U]: reset, running, stopped, interval over."""
CONTINUOUS, INTERVAL = 0, 1
"""Integration modes [U]: until stopped, for the interval."""
MOVES = {"stop": ("START",), "reset": ("RESET", "STOP", "TIMEUP")}
"""The states stop and reset are allowed from (the Yokogawa driver's state machine; the LMG's own is [U]). A start is
allowed only from RESET: mode and interval are set there."""
MAX_TIMER_S = 9999 * 3600
"""The longest integration interval the driver asks for (the unit's own limit is [U]: it refuses beyond it)."""
STAMP = re.compile(r"\d{4}:\d\d:\d\dD\d\d:\d\d:\d\d\.\d+[+-]\d{4}")
"""A cycle stamp as the public capture shows it: ``2015:01:21D17:20:55.437817000+0000``."""
STRADDLES = 3
"""Values messages that straddled a cycle end tolerated in one ``read`` before it gives up."""


class ZesLmg600(ScpiDriver):
    """Options (``Options``): ``language`` (``short`` or ``scpi``), ``elements`` (bench name -> channel, ``ac`` or
    ``dc`` named as in the Yokogawa driver), ``update_rate_s`` (the cycle time), ``ranges`` (per channel, from the
    unit's manual: required), ``power_accuracy`` (from the unit's manual or calibration certificate: without it no
    uncertainty is stated)."""

    family = InstrumentFamily("ZES ZIMMER LMG600 power analyzer", manufacturer=r"ZES[ _-]?ZIMMER.*",
                              model=r"LMG6[1-7][01]")

    class Options(DriverOptions):
        language: Language = "short"
        elements: dict[str, int] = Field(min_length=1, description="Bench name -> channel number.")
        update_rate_s: float = Field(0.5, gt=0, le=3600, description="Measuring cycle time (s).")
        ranges: dict[int, ElementRanges] = Field(description="Per channel: its voltage and current ranges.")
        power_accuracy: PowerAccuracy | None = None

        @model_validator(mode="after")
        def _elements(self) -> ZesLmg600.Options:
            for name, channel in self.elements.items():
                if not ELEMENT_NAME.fullmatch(name):
                    raise ValueError(f"elements: {name!r}: name each channel ac or dc (ac_<x>, dc_<x> for more): the "
                                     "name says whether it is read as AC (UTRMS, ITRMS, P, S, PF, FCYC) or DC (UDC, "
                                     "IDC, P)")
                if channel < 1:
                    raise ValueError(f"elements: {name}: channels start at 1, not {channel}")
            channels = list(self.elements.values())
            if len(set(channels)) != len(channels):
                raise ValueError(f"elements: a channel is named twice ({channels})")
            missing = sorted(set(channels) - set(self.ranges))
            if missing:
                raise ValueError(f"ranges: channel {missing[0]} has none: state every used channel's ranges from the "
                                 "unit's manual (no public source gives the LMG600's)")
            stray = sorted(set(self.ranges) - set(channels))
            if stray:
                raise ValueError(f"ranges: channel {stray[0]} is not one of elements ({sorted(channels)})")
            return self

    def __init__(self, resource: str, *, name: str, envelope: EnvelopeGuard | None = None,
                 timeout_ms: int = 5000, options: dict[str, Any] | None = None) -> None:
        self._options = self.Options.read(name, options)
        self.dialect = DIALECTS[self._options.language]
        self.error_query = self.dialect.errors
        self._elements = dict(self._options.elements)
        self._stamp_channel = min(self._elements.values())
        self._interval_s = self._options.update_rate_s
        self._last_update_s: float | None = None
        self._ranges_set: dict[int, tuple[float, float]] = {}
        self._clock: Clock | None = None
        super().__init__(resource, name=name, envelope=envelope, timeout_ms=timeout_ms, options=options)

    # -- I/O: the handshake ----------------------------------------------------------------------------------

    def write(self, command: str) -> None:
        """``<command>;*OPC?;<error query>`` in one message: ``1`` once it has run, then the whole error queue."""
        message = f"{command};*OPC?;{self.error_query}"
        try:
            reply = self.query(message)
        except InstrumentError as err:
            raise InstrumentError(self.name, command, err.detail) from None
        done, _, queue = reply.partition(";")
        if done.strip() != "1" or not queue:
            raise InstrumentError(self.name, command, f"the handshake {message!r} answered {reply!r}, not 1;<error "
                                  f"queue>: is the unit speaking the {self.dialect.name} language?")
        if queue.strip() != NO_ERROR:
            raise InstrumentError(self.name, command, f"instrument reported {queue.strip()}")

    def _send(self, command: str) -> None:
        """A message with no reply and no handshake (the language switch: the next message is in the new one)."""
        stop.checkpoint()
        try:
            self._session.write(command)
        except (VisaIOError, OSError) as err:
            raise InstrumentError(self.name, command, f"cannot send: {err}") from None

    def _switch_language(self) -> None:
        """``*zlang <language>`` on its own, then ``*CLS`` with the handshake in the new language."""
        self._send(f"*zlang {self.dialect.name}")
        self.write("*CLS")

    # -- identity, set-up, lifetime -----------------------------------------------------------------------------

    @property
    def elements(self) -> dict[str, int]:
        return dict(self._elements)

    def attach_clock(self, clock: Clock) -> None:
        self._clock = clock

    def setup(self) -> None:
        """Reset, the bench's language, every channel in one group, ASCII numbers, the cycle time, every used
        channel on its highest fixed ranges."""
        reply = self.query("*RST;*OPC?")
        if reply.strip() != "1":
            raise InstrumentError(self.name, "*RST;*OPC?", f"answered {reply!r}, not 1")
        self._switch_language()
        channels = self._channels()
        beyond = [c for c in self._elements.values() if c > channels]
        if beyond:
            raise InstrumentError(self.name, self.dialect.groups, f"channel {beyond[0]} named in elements, and the "
                                  f"unit has {channels} channels")
        self.write(self.dialect.group_set.format(n=channels))
        self.write(self.dialect.ascii_format)
        self.set_update_rate(self._options.update_rate_s)
        self._ranges_set = {}
        for channel in sorted(self._elements.values()):
            voltages, currents = self.ranges(channel)
            self._send_ranges(channel, voltages[-1], currents[-1])

    def _channels(self) -> int:
        """The unit's channel count: the sum of its groups' sizes (``3,3``: six)."""
        command = self.dialect.groups
        reply = self.query(command)
        try:
            sizes = [int(part) for part in reply.split(",")]
        except ValueError:
            raise InstrumentError(self.name, command, f"answered {reply!r}, not group sizes") from None
        if not sizes or any(size < 1 for size in sizes):
            raise InstrumentError(self.name, command, f"answered {reply!r}, not group sizes")
        return sum(sizes)

    def safe_off(self) -> None:
        """Nothing: an analyzer has no output to turn off (a running integration is left to be read)."""

    # -- ranges, cycle time ---------------------------------------------------------------------------------------

    def ranges(self, element: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
        self._check_elements([element], f"ranges of channel {element}")
        stated = self._options.ranges[element]
        return tuple(sorted(stated.voltage_v)), tuple(sorted(stated.current_a))

    def set_ranges(self, element: int, voltage_v: float, current_a: float) -> None:
        """Auto range off and fixed ranges, in one handshake; a range the channel lacks is refused before any I/O."""
        voltages, currents = self.ranges(element)
        command = self.dialect.ranges.format(c=element, a=current_a, v=voltage_v)
        for value, offered, unit in ((voltage_v, voltages, "V"), (current_a, currents, "A")):
            if not any(math.isclose(value, r, rel_tol=1e-9) for r in offered):
                raise InstrumentError(self.name, command, f"channel {element} has no {value:g} {unit} range (it has "
                                      f"{', '.join(f'{r:g}' for r in offered)} {unit}): nothing was sent")
        self._send_ranges(element, voltage_v, current_a)

    def _send_ranges(self, element: int, voltage_v: float, current_a: float) -> None:
        self.write(self.dialect.ranges.format(c=element, a=current_a, v=voltage_v))
        self._ranges_set[element] = (voltage_v, current_a)

    def set_update_rate(self, seconds: float) -> None:
        """The measuring cycle time; the unit rounds each cycle to whole periods of its sync signal (``read`` reports
        the cycle's actual duration). A time the unit cannot do is refused by it, named in the error."""
        if not (seconds > 0 and math.isfinite(seconds)):
            raise InstrumentError(self.name, self.dialect.cycle.format(s=seconds), "the cycle time is a positive "
                                  "number of seconds: nothing was sent")
        self.write(self.dialect.cycle.format(s=seconds))
        self._interval_s = seconds
        self._last_update_s = None

    # -- data updates ---------------------------------------------------------------------------------------------

    def read(self, elements: Sequence[int]) -> AnalyzerUpdate:
        """Wait on the rig's clock for the next cycle's stamp, then read that cycle's values (see the module).

        Once a cycle has been read, the next is due a cycle later: ``read`` sleeps until just before it, reads the
        stamp there (the cycle before), and polls for the next one. ``t_s`` is the middle of the poll interval the
        stamp changed in; ``interval_s`` the unit's ``DURNORM``.
        """
        stamp_query = self.dialect.stamp.format(c=self._stamp_channel)
        self._check_elements(elements, stamp_query)
        unset = [channel for channel in elements if channel not in self._ranges_set]
        if unset:
            raise InstrumentError(self.name, stamp_query, f"channel {unset[0]}'s ranges were never set (a reading "
                                  "states its ranges): setup() or set_ranges() first")
        wait = start_update_wait(self._clock, self._interval_s, self._last_update_s, name=self.name,
                                 command=stamp_query)
        before = wait.start_s
        seen = self._stamp(stamp_query)  # the cycle already done: not used
        straddled = 0
        while True:
            wait.clock.sleep(wait.poll_s)
            now = wait.clock.now()
            stamp = self._stamp(stamp_query)
            if stamp != seen:
                values = self._values(elements)
                if values is not None and values[0] == stamp:
                    break
                straddled += 1  # a newer cycle ended while asking: its end is not known to the poll, wait for one
                seen = values[0] if values is not None else self._stamp(stamp_query)
                if straddled > STRADDLES:
                    raise InstrumentError(self.name, stamp_query, f"{straddled} values messages in a row straddled a "
                                          "cycle end: cycles shorter than an exchange?")
            elif now >= wait.deadline_s:
                raise InstrumentError(self.name, stamp_query, f"no new measuring cycle within {wait.timeout_s:g} s "
                                      f"(cycle time {self._interval_s:g} s): is the unit holding or not measuring?")
            before = now
        _, duration, readings = values
        t_s = (before + now) / 2.0
        self._last_update_s = t_s
        self._interval_s = duration
        return AnalyzerUpdate(t_s, duration, readings)

    def _stamp(self, command: str) -> str:
        reply = self.query(command).strip()
        if not STAMP.fullmatch(reply):
            raise InstrumentError(self.name, command, f"answered {reply!r}, not a cycle stamp "
                                  "(YYYY:MM:DDDhh:mm:ss.f+zzzz)")
        return reply

    def _values(self, elements: Sequence[int]) -> tuple[str, float, dict[int, ElementReading]] | None:
        """One message: the stamp, the cycle's duration, each channel's stamp and values, the stamp again. None when
        the message straddled a cycle end (the two stamps differ); else (stamp, duration, readings)."""
        d, first = self.dialect, self._stamp_channel
        parts = [d.stamp.format(c=first), d.duration.format(c=first)]
        layout: list[tuple[int, str]] = []
        for channel in elements:
            parts.append(d.stamp.format(c=channel))
            layout.append((channel, "stamp"))
            for quantity, form in self._forms(channel).items():
                parts.append(form.format(c=channel))
                layout.append((channel, quantity))
        parts.append(d.stamp.format(c=first))
        command = ";".join(parts)
        fields = [field.strip() for field in self.query(command).split(";")]
        if len(fields) != len(parts):
            raise InstrumentError(self.name, command, f"{len(fields)} answers to {len(parts)} queries: "
                                  f"{';'.join(fields)[:160]!r}")
        if fields[0] != fields[-1]:
            return None
        duration = self._number(command, "DURNORM", first, fields[1])
        if not (duration > 0 and math.isfinite(duration)):
            raise InstrumentError(self.name, command, f"the cycle's duration is {fields[1]!r}")
        values: dict[tuple[int, str], float | str] = {}
        for (channel, quantity), field in zip(layout, fields[2:-1]):
            values[(channel, quantity)] = field if quantity == "stamp" else self._number(command, quantity, channel,
                                                                                           field)
        for channel in elements:
            if values[(channel, "stamp")] != fields[0]:
                raise InstrumentError(self.name, command, f"channel {channel}'s cycle ({values[(channel, 'stamp')]}) "
                                      f"is not channel {first}'s ({fields[0]}): they are in different measuring groups "
                                      f"({self.dialect.group_set.format(n='<all>')} puts them in one)")
        return fields[0], duration, {channel: self._reading(command, channel, values) for channel in elements}

    def _forms(self, channel: int) -> dict[str, str]:
        name = next(n for n, c in self._elements.items() if c == channel)
        return self.dialect.ac if name.startswith("ac") else self.dialect.dc

    def _number(self, command: str, quantity: str, channel: int, field: str) -> float:
        try:
            value = float(field)
        except ValueError:
            raise InstrumentError(self.name, command, f"{quantity} of channel {channel} is {field!r}, not a "
                                  "number") from None
        return value if math.isfinite(value) and abs(value) < INVALID else math.nan

    def _reading(self, command: str, channel: int, values: dict[tuple[int, str], Any]) -> ElementReading:
        def valid(quantity: str) -> float:
            value = values[(channel, quantity)]
            if math.isnan(value):
                raise InstrumentError(self.name, command, f"{quantity} of channel {channel} has no valid value "
                                      "(9.91E+37: over range or no signal): choose a larger range")
            return value

        def optional(quantity: str) -> float | None:
            value = values[(channel, quantity)]
            return None if math.isnan(value) else value

        voltage_range, current_range = self._ranges_set[channel]
        if (channel, "S") not in values:  # a DC channel
            power = valid("P")
            return ElementReading(valid("U"), valid("I"), power, abs(power), None, voltage_range, current_range)
        return ElementReading(valid("U"), valid("I"), valid("P"), valid("S"), optional("F"), voltage_range,
                              current_range, optional("PF"))

    # -- integration -------------------------------------------------------------------------------------------

    def integration_state(self) -> str:
        command = self.dialect.int_state
        reply = self.query(command).strip()
        state = INTEGRATION_CODES.get(reply.lstrip("+"))
        if state is None:
            raise InstrumentError(self.name, command, f"answered {reply!r}, not one of "
                                  f"{', '.join(f'{k} ({v})' for k, v in INTEGRATION_CODES.items())}")
        return state

    def start_integration(self, timer_s: int) -> None:
        """From RESET only: the mode (interval, or continuous for 0), the interval, start."""
        if isinstance(timer_s, bool) or not float(timer_s).is_integer() or not 0 <= timer_s <= MAX_TIMER_S:
            raise InstrumentError(self.name, self.dialect.int_interval.format(s=timer_s), f"{timer_s} s: the "
                                  f"interval is whole seconds, 0..{MAX_TIMER_S}: nothing was sent")
        state = self.integration_state()
        if state != "RESET":
            raise InstrumentError(self.name, self.dialect.int_start, f"integration is {state}: reset_integration() "
                                  "first (mode and interval are set only in RESET): nothing was sent")
        self.write(self.dialect.int_mode.format(m=INTERVAL if timer_s else CONTINUOUS))
        if timer_s:
            self.write(self.dialect.int_interval.format(s=int(timer_s)))
        self.write(self.dialect.int_start)

    def stop_integration(self) -> None:
        self._move("stop", self.dialect.int_stop)

    def reset_integration(self) -> None:
        self._move("reset", self.dialect.int_reset)

    def _move(self, move: str, command: str) -> None:
        state = self.integration_state()
        allowed = MOVES[move]
        if state not in allowed:
            raise InstrumentError(self.name, command, f"integration is {state}; the command is allowed only from "
                                  f"{' or '.join(allowed)}: nothing was sent")
        self.write(command)

    def integrated(self, elements: Sequence[int]) -> dict[int, tuple[float, float]]:
        """Energy (Wh) and time (s) integrated so far, per channel: one message, no wait for a cycle."""
        d = self.dialect
        self._check_elements(elements, d.int_time)
        command = ";".join([d.energy.format(c=channel) for channel in elements] + [d.int_time])
        fields = [field.strip() for field in self.query(command).split(";")]
        if len(fields) != len(elements) + 1:
            raise InstrumentError(self.name, command, f"{len(fields)} answers to {len(elements) + 1} queries")
        seconds = self._number(command, "integration time", elements[0], fields[-1]) if elements else math.nan
        result = {}
        for channel, field in zip(elements, fields):
            energy = self._number(command, "energy", channel, field)
            if math.isnan(energy) or math.isnan(seconds):
                raise InstrumentError(self.name, command, f"channel {channel} has no valid integrated energy or time "
                                      f"({field!r}, {fields[-1]!r})")
            result[channel] = (energy, seconds)
        return result

    # -- accuracy -------------------------------------------------------------------------------------------------

    def power_spec(self, element: int, frequency_hz: float | None, current_range_a: float) -> PowerSpec:
        """The bench's stated accuracy (``power_accuracy``); none stated: no uncertainty can be given."""
        stated = self._options.power_accuracy
        return power_spec(stated.table() if stated is not None else None, frequency_hz, current_range_a,
                          current_ranges_a=self.ranges(element)[1], name=self.name, element=f"channel {element}",
                          missing="no power accuracy is stated for this LMG600 (no public source confirms one, and "
                                  "the driver assumes none): state power_accuracy in the bench file's options from "
                                  "the unit's manual or calibration certificate")

    # -- confirmations on the unit (rig bench check) -----------------------------------------------------------

    def bench_checks(self) -> list[BenchCheck]:
        """In the bench's language, with nothing set up or energised: every unconfirmed query answers in the form
        the driver reads, the unit does no current scaling, and its cycle stamp advances by its duration."""
        try:
            self._switch_language()
        except InstrumentError as err:
            return [BenchCheck.problem(f"the unit speaks the {self.dialect.name} language (*zlang)", err.detail)]
        d, checks = self.dialect, super().bench_checks()
        checks.append(self.confirm_query("the group sizes read back", d.groups, _group_sizes))
        checks.append(self.confirm_query("the number format reads back as ASCII", d.format_query, _ascii))
        checks.append(self.confirm_query("the integration state answers a known code", d.int_state,
                                         lambda r: None if r.strip().lstrip("+") in INTEGRATION_CODES else
                                         f"not one of {', '.join(INTEGRATION_CODES)}"))
        checks.append(self.confirm_query("the integrated time answers a number", d.int_time, number))
        for name, channel in sorted(self._elements.items(), key=lambda e: e[1]):
            checks.append(self.confirm_query(f"channel {channel} does no current scaling (direct input)",
                                             d.scale.format(c=channel), _unity))
            checks.append(self.confirm_query(f"channel {channel}'s cycle stamp answers", d.stamp.format(c=channel),
                                             lambda r: None if STAMP.fullmatch(r.strip()) else "not a cycle stamp"))
            checks.append(self.confirm_query(f"channel {channel}'s energy answers a number", d.energy.format(c=channel),
                                             number))
            for quantity, form in self._forms(channel).items():
                checks.append(self.confirm_query(f"channel {channel} ({name}) answers {quantity}",
                                                 form.format(c=channel), number))
        checks.append(self._cycle_check())
        return checks

    def _cycle_check(self) -> BenchCheck:
        what = "the cycle stamp advances by the cycle's duration while nothing is asked (no INIM)"
        clock = self._clock
        if clock is None:
            return BenchCheck.note(what, "no clock attached: not checked")
        first = self._stamp_channel
        try:
            start = self._stamp(self.dialect.stamp.format(c=first))
            clock.sleep(2.5 * self._interval_s)
            end = self._stamp(self.dialect.stamp.format(c=first))
            duration = float(self.query(self.dialect.duration.format(c=first)))
        except (InstrumentError, ValueError) as err:
            return BenchCheck.problem(what, str(err))
        elapsed = stamp_seconds(end) - stamp_seconds(start)
        cycles = elapsed / duration if duration > 0 else math.nan
        if not (cycles >= 1.5 and abs(cycles - round(cycles)) < 0.05):
            return BenchCheck.problem(what, f"{start} -> {end} in {2.5 * self._interval_s:g} s of waiting is {cycles:.3g}"
                                      f" cycles of {duration:g} s: read() assumes the stamp moves by whole cycles")
        return BenchCheck.confirmed(what, f"{start} -> {end}: {round(cycles)} cycles of {duration:g} s")

    # -- checks before I/O --------------------------------------------------------------------------------------

    def _check_elements(self, elements: Sequence[int], command: str) -> None:
        unknown = [channel for channel in elements if channel not in self._elements.values()]
        if unknown:
            raise InstrumentError(self.name, command, f"channel {unknown[0]} is not one the bench names "
                                  f"({', '.join(f'{n}: {c}' for n, c in self._elements.items())})")


def stamp_seconds(stamp: str) -> float:
    """A cycle stamp as seconds of the unit's clock since 2000-01-01 (only differences matter; about 0.1 us kept)."""
    date, _, rest = stamp.partition("D")
    clock, zone = rest[:-5], rest[-5:]
    whole, _, fraction = clock.partition(".")
    moment = datetime.strptime(f"{date} {whole}", "%Y:%m:%d %H:%M:%S")
    offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])) * (1 if zone[0] == "+" else -1)
    return (moment - offset - datetime(2000, 1, 1)).total_seconds() + float(f"0.{fraction or 0}")


def _group_sizes(reply: str) -> str | None:
    parts = reply.split(",")
    return None if parts and all(p.strip().isdigit() and int(p) > 0 for p in parts) else "not group sizes"


def _ascii(reply: str) -> str | None:
    return None if reply.strip().upper() in ("ASC", "ASCII", "0") else "not ASCII"


def _unity(reply: str) -> str | None:
    try:
        value = float(reply)
    except ValueError:
        return "not a number"
    return None if value == 1.0 else f"scaling {value:g}: the driver assumes direct input (1); the readings would " \
                                     "be the sensor's, scaled by the unit"
