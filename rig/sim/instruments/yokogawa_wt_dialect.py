"""Yokogawa WT3000 precision power analyzer, as the simulated lab serves it.

Reached by ``drivers/power_analyzer/yokogawa_wt.py`` over SCPI on a loopback socket. Two of its elements are
wired (the bench's ``options: {elements: {ac: 1, dc: 4}}``, constructor parameters ``ac_element`` and
``dc_element``); the others measure nothing (zero inputs, their offsets and noise):

- the **AC element** at the charger's AC terminals (the grid simulator side): U and I rms, P, S, lambda, FU.
  **P is positive for power into the charger** (as an analyzer measuring the charger's input reads it):
  charging and standby read positive, a V2H discharge and the G99 operating-point export read negative.
- the **DC element** at the vehicle inlet (the battery emulator side): UDC, IDC and **P positive into the
  vehicle** (charging), negative out of it (discharging); U and I read the rms (the magnitudes).

Data updates. Every ``:RATE`` seconds of lab time (virtual in CI) the analyzer completes an update: the values
of the interval just ended. ``:NUMeric:NORMal:VALue?`` answers the last *completed* update (``NAN`` for every
item before the first one), so a reading takes the time it takes. P is the exact average over the interval
(energy difference / interval: the DC bus's power history is steps; the AC side's integral is
``SimulatedCharger.ac_integrals``, exact while the charger's power is piecewise constant, a quadrature while its
operating point ramps). U and I are the interval's averages of the rms values (the lab's sources are piecewise
constant or linear, so the average stands for the rms of the interval); S = U x I, lambda = |P| / S (unsigned, as
the WT reports it: the SVP drivers correct its sign from P and Q), FU the average frequency (``NAN`` on the DC
element). A change of the rate or of an element's range restarts the update cycle: the first update on the new setting completes one full interval
later (the last update before it stays readable). The update grid starts at lab time 0 (power-on) and at each
restart.

Integration (``:INTEGrate:*``), the state machine of the project's notes (section 2.2): RESET -> START
(``STARt``, also from STOP: it resumes and keeps accumulating) -> STOP (``STOP``, only from START) -> RESET
(``RESet``, from RESET, STOP, TIMEUP or ERROR). With a timer (``:INTEGrate:TIMer h,m,s``; 0,0,0 is none) it
stops by itself once the integrated time reaches it (TIMEUP). WP is the exact energy over the integrated spans
up to the update's end (Wh, signed as P), ITIME its seconds. Ranges, mode, rate and timer can be changed only in
RESET: otherwise error 813 "Cannot be set while integration is running".

Errors, as a real analyzer within its specification (efficiency notes section 2.4, WT3000 IM 760301-01E):
per element, quantity and range a gain and offset error drawn from the lab's seed within +-60 % of the
specification for that range and band, fixed while (and whenever) that range is selected; plus a small noise
per update (type A: sigma 5 % of the range term, clipped at 3 sigma, drawn from the seed and the update's end).
So every reading stays inside the specification, and a range chosen too large shows a larger error. The
specifications used (fraction of reading + fraction of range; the power range is voltage range x current
range): 45-66 Hz (the AC element): voltage and current 0.01 % + 0.03 %, power 0.02 % + 0.04 %; DC (the DC
element): voltage and current 0.05 % + 0.05 %, power 0.05 % + 0.1 %. The current figures are assumed equal to
the voltage ones (the notes give the voltage's only). WP takes the power's gain and offset (W x h).

Commands served (long and short forms, header-path rules of ``rig.sim.wire.scpi_server``): ``*IDN?``,
``*RST``, ``*CLS``, ``*OPC?``; ``:COMMunicate:REMote ON|OFF``, ``:COMMunicate:HEADer ON|OFF``,
``:COMMunicate:VERBose ON|OFF`` (and their queries); ``:STATus:ERRor?``; ``:STATus:FILTer<x>
RISE|FALL|BOTH|NEVer`` (x 1-16), ``:STATus:EESR?`` (reading clears it), ``:STATus:CONDition?``;
``:NUMeric:FORMat ASCii``, ``:NUMeric:NORMal:NUMber <1-255>``, ``:NUMeric:NORMal:ITEM<k> <function>,<element>``
(U, I, P, S, LAMBDA, FU, UDC, IDC, WP, ITIME; elements 1-4), ``:NUMeric:NORMal:VALue? [<k>]``;
``:INPut:VOLTage:RANGe:ELEMent<x> <V>``, ``:INPut:CURRent:RANGe:ELEMent<x> <A>`` (a number, a unit V/A/mA
allowed); ``:RATE <s>`` (a number, or with MS/S); ``:INTEGrate:MODE NORMal``, ``:INTEGrate:TIMer h,m,s``,
``:INTEGrate:STARt|STOP|RESet``, ``:INTEGrate:STATe?``. Queries of the settings too.

Status: the extended event register's bit 0 (UPD) is set by a data update through ``:STATus:FILTer1`` (the UPD
condition pulses at each update, so RISE, FALL and BOTH all set it; NEVer, the power-on value, never), bit 1
(ITG) by the integration's condition through ``:STATus:FILTer2``: it rises at a start, falls at a stop or at
the timer's end (FALL: set at the integration's end). ``:STATus:CONDition?`` shows ITG while integrating.

Assumptions of the simulator, not confirmed in a manual (UNCONFIRMED; the driver's docstring lists its own):
the range lists (``VOLTAGE_RANGES_V``, ``CURRENT_RANGES_A``: a 30 A element; the stored manuals searched give
only the WT310E's), the update rates (``UPDATE_RATES_S``), the function names ``WP`` and ``ITIME`` (the driver's
defaults), the ``*IDN?`` model field (``760304-40-MV``, a four-element WT3000 as a public capture shows one;
the driver's model table matches it), positive error codes and their texts (Yokogawa's own numbering:
113 Undefined header, 224 Illegal parameter value, 813; 844 for an integration command the state refuses, a
guess), the error queue's depth (``ERROR_QUEUE_DEPTH``, then 350 Queue overflow), over-range above 140 % of a
range (``OVER_RANGE``: U, I, P, S and lambda of that element read ``INF``), that ``*RST`` leaves the
communication settings alone, the power-on values (headers ON, verbose OFF, filters NEVer, rate 0.5 s, ranges
at their maxima, 15 items), that headers prefix every query reply but the common ones (``:RATE 500.0E-03``),
that ``NAN`` and ``INF`` are how ASCII numbers say "no data" and "over range", and the NR3 form (6 digits).
Only ``:NUMeric:FORMat ASCii`` and ``:INTEGrate:MODE NORMal`` are simulated: FLOat and the continuous modes are
refused (224) rather than faked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rig.sim.instruments.analyzer_errors import DrawnErrors, Spec
from rig.sim.instruments.analyzer_terminals import AnalyzerTerminals
from rig.sim.model import LabModel
from rig.sim.wire.scpi_server import Reply, ScpiError, ScpiInstrument, illegal_value, on_off

IDENTITY = "YOKOGAWA,760304-40-MV,SIM-WT3000-0001,F4.41-sim"
ELEMENTS = (1, 2, 3, 4)
VOLTAGE_RANGES_V = (15.0, 30.0, 60.0, 100.0, 150.0, 300.0, 600.0, 1000.0)
CURRENT_RANGES_A = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0)
UPDATE_RATES_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
FUNCTIONS = ("U", "I", "P", "S", "LAMBDA", "FU", "UDC", "IDC", "WP", "ITIME")
MAX_ITEMS = 255
DEFAULT_ITEMS = tuple((function, element) for element in (1, 2, 3) for function in ("U", "I", "P", "S", "LAMBDA"))
"""The 15 items at power-on (an assumption: the manual's preset patterns were not found)."""
MAX_TIMER_S = 10000 * 3600
OVER_RANGE = 1.4
ERROR_QUEUE_DEPTH = 8
SPEC: Spec = {  # (band, quantity) -> (fraction of reading, fraction of range)
    ("AC", "U"): (0.0001, 0.0003), ("AC", "I"): (0.0001, 0.0003), ("AC", "P"): (0.0002, 0.0004),
    ("DC", "U"): (0.0005, 0.0005), ("DC", "I"): (0.0005, 0.0005), ("DC", "P"): (0.0005, 0.001),
}
FREQUENCY_ACCURACY = 0.0006
"""FU: +-(0.06 % of reading) (an assumption for the simulator)."""
SEED_STREAM = 0x5754  # "WT"
FILTERS = {"RISE": "RISE", "FALL": "FALL", "BOTH": "BOTH", "NEV": "NEVER", "NEVER": "NEVER"}
STATES_SHORT = {"RESET": "RES", "START": "STAR", "STOP": "STOP", "TIMEUP": "TIM", "ERROR": "ERR"}
UPD, ITG = 1, 2
EESR_ITG_RISE = ("RISE", "BOTH")
EESR_ITG_FALL = ("FALL", "BOTH")
ERROR_TEXT = {113: "Undefined header", 224: "Illegal parameter value", 813: "Cannot be set while integration is "
              "running", 844: "Cannot execute in the present integration state", 350: "Queue overflow"}


def _nr3(value: float) -> str:
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    return f"{value:.5E}"


def _header_names(pattern: str) -> tuple[str, str]:
    """The long and short forms of a registered pattern, as a reply header spells them (upper case)."""
    nodes = [n.strip("[]") for n in pattern.split(":") if n]
    long = ":".join(n.upper() for n in nodes)
    short = ":".join(re.match(r"[A-Z*]*", n).group(0) or n.upper() for n in nodes)  # type: ignore[union-attr]
    return ":" + long, ":" + short


def _value_with_unit(args: list[str], unit: str) -> float:
    """A number, optionally with its unit (V or A, or mV / mA)."""
    if len(args) != 1:
        raise illegal_value("expected one value")
    match = re.fullmatch(rf"\s*([-+]?[0-9.]+(?:E[-+]?\d+)?)\s*(M?{unit})?\s*", args[0], re.IGNORECASE)
    if match is None:
        raise illegal_value(f"expected a number of {unit}")
    value = float(match.group(1))
    if match.group(2) and match.group(2).upper().startswith("M"):
        value *= 1e-3
    return value


def _one_of(value: float, offered: tuple[float, ...], what: str) -> float:
    for candidate in offered:
        if math.isclose(value, candidate, rel_tol=1e-9):
            return candidate
    raise illegal_value(f"{value:g} is not one of the {what} ({', '.join(f'{r:g}' for r in offered)})")


@dataclass(frozen=True)
class Update:
    """One completed data update: its interval and the ranges it was measured on, per element."""

    start_s: float
    end_s: float
    ranges: dict[int, tuple[float, float]]


class YokogawaWT3000(ScpiInstrument):
    idn = IDENTITY

    def __init__(self, lab: LabModel, *, ac_element: int = 1, dc_element: int = 4) -> None:
        super().__init__()
        if ac_element == dc_element or not {ac_element, dc_element} <= set(ELEMENTS):
            raise ValueError(f"the AC and DC elements are two of {ELEMENTS}, got {ac_element} and {dc_element}")
        self.lab = lab
        self.ac_element = ac_element
        self.dc_element = dc_element
        self.header = True
        self.verbose = False
        self.remote = False
        self._suffix: int | None = None
        self._terminals = AnalyzerTerminals(lab, ac_element, dc_element)
        """The lab's physics at the two wired elements (shared with the other simulated analyzers)."""
        self._errors = DrawnErrors(lab, SEED_STREAM, SPEC)
        # The base's SYSTem:ERRor? is not a WT command: its queue is read with :STATus:ERRor?.
        self._commands = [c for c in self._commands if not c.header.match("SYSTEM:ERROR")]
        self._power_on()
        self._add_commands()

    @classmethod
    def from_options(cls, lab: LabModel, options: dict[str, Any] | None) -> "YokogawaWT3000":
        """The instrument a bench entry describes: ``options.elements`` names the AC and DC elements
        (``{ac: 1, dc: 4}``, as the driver reads it); omitted, 1 and 4."""
        elements = dict((options or {}).get("elements") or {})
        return cls(lab, ac_element=int(elements.get("ac", 1)), dc_element=int(elements.get("dc", 4)))

    # -- state ------------------------------------------------------------------------------------------

    def _power_on(self) -> None:
        """Power-on and *RST values of everything but the communication settings."""
        self.rate_s = 0.5
        self.ranges = {e: (VOLTAGE_RANGES_V[-1], CURRENT_RANGES_A[-1]) for e in ELEMENTS}
        self.number = len(DEFAULT_ITEMS)
        self.items: dict[int, tuple[str, int]] = {k: item for k, item in enumerate(DEFAULT_ITEMS, start=1)}
        self.filters = {x: "NEVER" for x in range(1, 17)}
        self.eesr = 0
        self._origin_s = self.lab.now
        self._previous: Update | None = None
        self._status_s = self.lab.now
        self.integration = "RESET"
        self.timer_s = 0
        self.spans: list[list[float | None]] = []
        self._terminals.forget()

    def reset(self) -> None:
        self._sync()
        self._power_on()

    def clear_status(self) -> None:
        self._sync()
        self.errors.clear()
        self.eesr = 0

    def execute(self, line: str) -> Reply:
        self._sync()
        reply = super().execute(line)
        if len(self.errors) > ERROR_QUEUE_DEPTH:  # the queue keeps its oldest, the last place says it overflowed
            del self.errors[ERROR_QUEUE_DEPTH - 1:]
            self.errors.append((350, ERROR_TEXT[350]))
        return reply

    def next_error(self) -> str:
        if not self.errors:
            return '0,"No error"'
        code, message = self.errors.pop(0)
        code = abs(code)
        return f'{code},"{ERROR_TEXT.get(code, message.split(";")[0]) if code in (113, 224) else message}"'

    def _run(self, replies, deferred, header, written, query, args) -> None:  # type: ignore[override]
        """A numeric suffix on the last node (ITEM12, ELEMent4, FILTer1) is the command's parameter."""
        match = re.fullmatch(r"(.*?[A-Za-z])(\d+)", header) if not header.startswith("*") else None
        self._suffix = int(match.group(2)) if match else None
        super()._run(replies, deferred, match.group(1) if match else header, written, query, args)

    def _suffix_in(self, low: int, high: int, what: str) -> int:
        value = 1 if self._suffix is None else self._suffix
        if not low <= value <= high:
            raise ScpiError(-113, f"Undefined header;{what}{value}")
        return value

    # -- the update cycle and the status it sets ------------------------------------------------------------

    def _updates_between(self, t0: float, t1: float) -> int:
        """How many updates of the present cycle complete in (t0, t1]."""
        def done(t: float) -> int:
            return max(0, math.floor((t - self._origin_s) / self.rate_s + 1e-9))
        return done(t1) - done(t0)

    def _last_update(self) -> Update | None:
        k = math.floor((self.lab.now - self._origin_s) / self.rate_s + 1e-9)
        if k < 1:
            return self._previous
        end = self._origin_s + k * self.rate_s
        return Update(end - self.rate_s, end, dict(self.ranges))

    def _restart_cycle(self) -> None:
        """A rate or range change: the update cycle starts again now; the last update stays readable."""
        self._previous = self._last_update()
        self._origin_s = self.lab.now

    def _sync(self) -> None:
        """Bring the status up to the lab's time: the timer's end, and the event bits since the last command."""
        now = self.lab.now
        if self.integration == "START" and self.timer_s > 0:
            end = self._timer_end()
            if end <= now + 1e-12:
                self.spans[-1][1] = end
                self.integration = "TIMEUP"
                if self.filters[2] in EESR_ITG_FALL:
                    self.eesr |= ITG
        if self.filters[1] != "NEVER" and self._updates_between(self._status_s, now) > 0:
            self.eesr |= UPD
        self._status_s = now

    def _timer_end(self) -> float:
        before = sum(off - on for on, off in self.spans[:-1])  # type: ignore[operator]
        return self.spans[-1][0] + (self.timer_s - before)  # type: ignore[operator]

    def _only_in_reset(self) -> None:
        if self.integration != "RESET":
            raise ScpiError(813, ERROR_TEXT[813])

    # -- commands ------------------------------------------------------------------------------------------

    def _setting(self, pattern: str, setter: Callable[[list[str]], None] | None,
                 getter: Callable[[], str]) -> None:
        long, short = _header_names(pattern)
        if setter is not None:
            self.add(pattern, setter)

        def answer(args: list[str]) -> str:
            value = getter()
            if not self.header:
                return value
            suffix = "" if self._suffix is None else str(self._suffix)
            return f"{long if self.verbose else short}{suffix} {value}"
        self.add(pattern, answer, query=True)

    def _add_commands(self) -> None:
        onoff = lambda flag: "1" if flag else "0"  # noqa: E731 - the WT answers booleans as 1/0
        s = self._setting
        s("COMMunicate:REMote", lambda a: setattr(self, "remote", on_off(a)), lambda: onoff(self.remote))
        s("COMMunicate:HEADer", lambda a: setattr(self, "header", on_off(a)), lambda: onoff(self.header))
        s("COMMunicate:VERBose", lambda a: setattr(self, "verbose", on_off(a)), lambda: onoff(self.verbose))
        s("STATus:ERRor", None, self.next_error)
        s("STATus:EESR", None, self._read_eesr)
        s("STATus:CONDition", None, lambda: str(ITG if self.integration == "START" else 0))
        s("STATus:FILTer", self._set_filter, self._get_filter)
        s("NUMeric:FORMat", self._set_format, lambda: "ASCII" if self.verbose else "ASC")
        s("NUMeric[:NORMal]:NUMber", self._set_number, lambda: str(self.number))
        s("NUMeric[:NORMal]:ITEM", self._set_item, self._get_item)
        self.add("NUMeric[:NORMal]:VALue", self._value_query, query=True)  # its header: see _value_query
        s("INPut:VOLTage:RANGe:ELEMent", lambda a: self._set_range(a, 0), lambda: _nr3(self._range_of(0)))
        s("INPut:CURRent:RANGe:ELEMent", lambda a: self._set_range(a, 1), lambda: _nr3(self._range_of(1)))
        s("RATE", self._set_rate, lambda: _nr3(self.rate_s))
        s("INTEGrate:MODE", self._set_mode, lambda: "NORMAL" if self.verbose else "NORM")
        s("INTEGrate:TIMer", self._set_timer, self._get_timer)
        s("INTEGrate:STATe", None, lambda: self.integration if self.verbose else STATES_SHORT[self.integration])
        self.add("INTEGrate:STARt", lambda a: self._start())
        self.add("INTEGrate:STOP", lambda a: self._stop())
        self.add("INTEGrate:RESet", lambda a: self._reset_integration())

    def _read_eesr(self) -> str:
        value, self.eesr = self.eesr, 0
        return str(value)

    def _set_filter(self, args: list[str]) -> None:
        x = self._suffix_in(1, 16, "STATus:FILTer")
        word = args[0].upper() if len(args) == 1 else ""
        if word not in FILTERS:
            raise illegal_value("expected RISE, FALL, BOTH or NEVer")
        self.filters[x] = FILTERS[word]

    def _get_filter(self) -> str:
        value = self.filters[self._suffix_in(1, 16, "STATus:FILTer")]
        return value if self.verbose or value != "NEVER" else "NEV"

    def _set_format(self, args: list[str]) -> None:
        word = args[0].upper() if len(args) == 1 else ""
        if word not in ("ASC", "ASCII"):
            raise illegal_value("only ASCii is simulated")

    def _set_number(self, args: list[str]) -> None:
        if len(args) != 1 or not args[0].strip().isdigit() or not 1 <= int(args[0]) <= MAX_ITEMS:
            raise illegal_value(f"expected 1 to {MAX_ITEMS}")
        self.number = int(args[0])

    def _set_item(self, args: list[str]) -> None:
        k = self._suffix_in(1, MAX_ITEMS, "NUMeric:NORMal:ITEM")
        if len(args) != 2:
            raise illegal_value("expected <function>,<element>")
        function = args[0].upper()
        if function not in FUNCTIONS:
            raise illegal_value(f"unknown function {args[0]!r} (this unit has {', '.join(FUNCTIONS)})")
        if not args[1].strip().isdigit() or int(args[1]) not in ELEMENTS:
            raise illegal_value(f"element {args[1]!r}: this unit has elements {ELEMENTS[0]}-{ELEMENTS[-1]}")
        self.items[k] = (function, int(args[1]))

    def _get_item(self) -> str:
        k = self._suffix_in(1, MAX_ITEMS, "NUMeric:NORMal:ITEM")
        function, element = self.items.get(k, ("NONE", 1))
        return f"{function},{element}" if function != "NONE" else "NONE"

    def _range_of(self, which: int) -> float:
        return self.ranges[self._suffix_in(1, len(ELEMENTS), "ELEMent")][which]

    def _set_range(self, args: list[str], which: int) -> None:
        element = self._suffix_in(1, len(ELEMENTS), "ELEMent")
        value = _value_with_unit(args, "V" if which == 0 else "A")
        offered = VOLTAGE_RANGES_V if which == 0 else CURRENT_RANGES_A
        chosen = _one_of(value, offered, "voltage ranges" if which == 0 else "current ranges")
        self._only_in_reset()
        ranges = list(self.ranges[element])
        if ranges[which] != chosen:
            self._restart_cycle()
            ranges[which] = chosen
            self.ranges[element] = (ranges[0], ranges[1])

    def _set_rate(self, args: list[str]) -> None:
        if len(args) != 1:
            raise illegal_value("expected one update interval")
        match = re.fullmatch(r"\s*([0-9.]+(?:E[-+]?\d+)?)\s*(MS|S)?\s*", args[0], re.IGNORECASE)
        if match is None:
            raise illegal_value("expected an update interval in s (or ms)")
        value = float(match.group(1)) * (1e-3 if (match.group(2) or "").upper() == "MS" else 1.0)
        chosen = _one_of(value, UPDATE_RATES_S, "update rates (s)")
        self._only_in_reset()
        if chosen != self.rate_s:
            self._restart_cycle()
            self.rate_s = chosen

    def _set_mode(self, args: list[str]) -> None:
        word = args[0].upper() if len(args) == 1 else ""
        if word not in ("NORM", "NORMAL"):
            raise illegal_value("only NORMal integration is simulated")
        self._only_in_reset()

    def _set_timer(self, args: list[str]) -> None:
        if len(args) != 3 or not all(a.strip().isdigit() for a in args):
            raise illegal_value("expected <hours>,<minutes>,<seconds>")
        hours, minutes, seconds = (int(a) for a in args)
        if minutes > 59 or seconds > 59 or hours * 3600 + minutes * 60 + seconds > MAX_TIMER_S:
            raise illegal_value("hours 0-10000, minutes and seconds 0-59")
        self._only_in_reset()
        self.timer_s = hours * 3600 + minutes * 60 + seconds

    def _get_timer(self) -> str:
        hours, rest = divmod(self.timer_s, 3600)
        return f"{hours},{rest // 60},{rest % 60}"

    # -- integration -------------------------------------------------------------------------------------------

    def _start(self) -> None:
        if self.integration not in ("RESET", "STOP"):
            raise ScpiError(844, f"{ERROR_TEXT[844]} ({self.integration})")
        if self.timer_s > 0 and self.integration == "STOP" and self._integrated_s(self.lab.now) >= self.timer_s:
            raise ScpiError(844, f"{ERROR_TEXT[844]} (the timer has run)")
        self.spans.append([self.lab.now, None])
        self.integration = "START"
        if self.filters[2] in EESR_ITG_RISE:
            self.eesr |= ITG

    def _stop(self) -> None:
        if self.integration != "START":
            raise ScpiError(844, f"{ERROR_TEXT[844]} ({self.integration})")
        self.spans[-1][1] = self.lab.now
        self.integration = "STOP"
        if self.filters[2] in EESR_ITG_FALL:
            self.eesr |= ITG

    def _reset_integration(self) -> None:
        if self.integration == "START":
            raise ScpiError(844, f"{ERROR_TEXT[844]} (START)")
        self.integration = "RESET"
        self.spans = []
        self._terminals.forget()

    def _integrated_s(self, until: float) -> float:
        return sum(max(0.0, min(until, math.inf if off is None else off) - on)  # type: ignore[operator]
                   for on, off in self.spans)

    # -- what the elements see ---------------------------------------------------------------------------------

    def _true_values(self, element: int, update: Update) -> dict[str, float]:
        """The exact values of the interval on ``element`` (before the instrument's errors)."""
        return self._terminals.true_values(element, update.start_s, update.end_s)

    def _energy_j(self, element: int, t0: float, t1: float) -> float:
        """The exact energy through ``element`` over [t0, t1] (J, signed as its P)."""
        return self._terminals.energy_j(element, t0, t1)

    def _band(self, element: int) -> str:
        return "DC" if element == self.dc_element else "AC"

    def _measured(self, element: int, quantity: str, value: float, update: Update) -> float:
        return self._errors.measured(element, self._band(element), quantity, value, update.ranges[element],
                                     update.end_s)

    def _readings(self, element: int, update: Update) -> dict[str, float]:
        true = self._true_values(element, update)
        v_range, i_range = update.ranges[element]
        out = {"U": self._measured(element, "U", true["U"], update),
               "I": self._measured(element, "I", true["I"], update),
               "P": self._measured(element, "P", true["P"], update),
               "UDC": self._measured(element, "U", true["UDC"], update),
               "IDC": self._measured(element, "I", true["IDC"], update)}
        out["FU"] = self._errors.frequency(element, true["FU"], FREQUENCY_ACCURACY)
        out["S"] = abs(out["U"]) * abs(out["I"])
        out["LAMBDA"] = abs(out["P"]) / out["S"] if out["S"] > 0.0 else math.nan
        if true["U"] > OVER_RANGE * v_range or true["I"] > OVER_RANGE * i_range:
            for name in ("U", "I", "P", "S", "LAMBDA", "UDC", "IDC"):
                out[name] = math.inf
        return out

    def _integrated(self, element: int, update: Update) -> tuple[float, float]:
        """WP (Wh) and ITIME (s) at the update's end, with the power's errors on WP."""
        end = update.end_s
        energy_j = sum(self._energy_j(element, on, min(end, math.inf if off is None else off))  # type: ignore[arg-type]
                       for on, off in self.spans if on < end)
        seconds = self._integrated_s(end)
        gain, offset, _ = self._errors.error(element, self._band(element), "P", update.ranges[element])
        return (energy_j * (1.0 + gain) + offset * seconds) / 3600.0, seconds

    def _value_query(self, args: list[str]) -> str:
        only: int | None = None
        if args:
            if len(args) != 1 or not args[0].strip().isdigit() or not 1 <= int(args[0]) <= self.number:
                raise illegal_value(f"expected an item number 1 to {self.number}")
            only = int(args[0])
        update = self._last_update()
        values = []
        readings: dict[int, dict[str, float]] = {}
        for k in range(1, self.number + 1) if only is None else (only,):
            function, element = self.items.get(k, ("NONE", 1))
            if update is None or function == "NONE":
                values.append(math.nan)
                continue
            if function in ("WP", "ITIME"):
                energy_wh, seconds = self._integrated(element, update)
                values.append(energy_wh if function == "WP" else seconds)
                continue
            if element not in readings:
                readings[element] = self._readings(element, update)
            values.append(readings[element][function])
        body = ",".join(_nr3(v) for v in values)
        if self.header:
            return f"{':NUMERIC:NORMAL:VALUE' if self.verbose else ':NUM:NORM:VAL'} {body}"
        return body
