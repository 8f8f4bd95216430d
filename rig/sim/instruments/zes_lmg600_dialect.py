"""ZES ZIMMER LMG670 precision power analyzer, as the simulated lab serves it, in both of its languages.

Reached by ``drivers/power_analyzer/zes_lmg600.py`` over raw TCP (SCPI server of ``rig.sim.wire.scpi_server``).
Six channels in two groups of three at power-on (``3,3``: the public capture's grouping). Two are wired (the bench's
``options: {elements: {ac: 1, dc: 4}}``); the rest measure nothing. The physics is the lab's, read through
``analyzer_terminals`` (the same the Yokogawa dialect reads): the **AC channel** at the charger's AC terminals (P
positive into the charger), the **DC channel** at the vehicle inlet (P positive into the vehicle).

Languages. The unit powers on speaking **SCPI**; ``*zlang short`` / ``*zlang scpi`` switch (``*RST`` leaves the
language alone). A command of the other language is an undefined header (-113), as is anything not listed below; a
query that fails gives no answer field. Several queries in one message answer ``;``-separated.

Measuring cycles. Each group measures in cycles of the cycle time (``CYCL`` / ``:SENS:SWE:TIME``, 0.01-60 s),
made a whole number of periods of the group's synchronisation signal: the grid's frequency for the group that holds
the AC channel (its value when the cycle timing last started), none (the nominal time) for a group without it. A
query answers the last *completed* cycle of its channel's group: values, ``TSNORM`` (the cycle's start on the unit's
clock, ``2026:01:01D00:00:12.500000000+0000``: the lab's epoch plus lab time) and ``DURNORM`` (its duration);
``9.91E+37`` for every value before the first cycle and for quantities with nothing to measure (PF without current,
FCYC without a sync signal), and for every value of a channel over 140 % of a range. A change of the cycle time, the
grouping or a range restarts every group's timing (the last cycle stays readable); the grid starts at lab time 0.
``FCYC`` is the group's sync frequency on every channel of the group (as in the capture).

Errors, as a real analyzer within a specification: per channel, quantity and range a gain and offset drawn from the
lab's seed within +-60 % of the simulator's specification (``SPEC``: assumed, not the LMG600's, which no public
source gives; the simulated bench states the same figures as its ``power_accuracy``), plus noise per cycle (sigma
5 % of the range term, clipped at 3 sigma). Energy takes the power's gain and offset.

Integration [the driver's unconfirmed forms]: mode 0 continuous or 1 interval (``INTM``, ``INTI`` s), ``START``
(from reset, or from stopped: it resumes), ``STOP`` (only while running), ``RESET`` (not while running); state
``INTS?`` 0 reset, 1 running, 2 stopped, 3 interval over; ``EP<c>?`` Wh over the integrated spans up to the cycle's
end, ``INTT?`` seconds. Cycle time, grouping, ranges, mode and interval are refused while it runs (-221).

Refused, with the error each gives: a channel outside 1-6 (-113), a range not in the lists (-222), a manual range
while that channel's auto range is on (-221: the driver must turn auto off), a cycle time outside 0.01-60 s (-222),
groups not summing to 6 (-222), ``FRMT PACKed`` (-224: only ASCII is simulated), an integration move its state does
not allow (-221). ``ERRALL?`` / ``:SYST:ERR:ALL?`` answer the whole queue (``0,"No error"`` when empty) and empty it.

Assumptions of the simulator (UNCONFIRMED; the driver's docstring lists its own): the identity
(``ZES ZIMMER Electronic Systems GmbH,LMG670,...``), the range lists, the cycle-time limits, the error codes and
texts, SCPI power-on language, that the stamp is the cycle's start, the 140 % over-range, the sign of PF (P / S),
the SCPI forms the driver marks [U], ``ISCA`` reading 1 (direct input).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Any, Callable

from rig.sim.instruments.analyzer_errors import DrawnErrors, Spec
from rig.sim.instruments.analyzer_terminals import AnalyzerTerminals
from rig.sim.model import LabModel
from rig.sim.simulated_lab import LAB_EPOCH_S
from rig.sim.wire.scpi_server import Command, Reply, ScpiError, ScpiInstrument, compile_header, illegal_value

IDENTITY = "ZES ZIMMER Electronic Systems GmbH,LMG670,SIM-LMG670-0001,2.100-sim"
CHANNELS = 6
POWER_ON_GROUPS = (3, 3)
VOLTAGE_RANGES_V = (3.0, 6.0, 12.5, 25.0, 60.0, 130.0, 250.0, 400.0, 600.0, 1000.0)
CURRENT_RANGES_A = (0.15, 0.3, 0.6, 1.2, 2.5, 5.0, 10.0, 20.0, 32.0)
CYCLE_LIMITS_S = (0.01, 60.0)
INVALID = 9.91e37
OVER_RANGE = 1.4
SPEC: Spec = {  # (band, quantity) -> (fraction of reading, fraction of range): the simulator's, not the LMG600's
    ("AC", "U"): (0.0001, 0.0003), ("AC", "I"): (0.0001, 0.0003), ("AC", "P"): (0.0002, 0.0004),
    ("DC", "U"): (0.0005, 0.0005), ("DC", "I"): (0.0005, 0.0005), ("DC", "P"): (0.0005, 0.001),
}
FREQUENCY_ACCURACY = 0.0001
SEED_STREAM = 0x4C4D  # "LM"
RESET, RUNNING, STOPPED, TIMEUP = 0, 1, 2, 3
MAX_INTERVAL_S = 9999 * 3600
CONFLICT = -221


def _nr3(value: float) -> str:
    return "9.910000E+37" if not math.isfinite(value) or abs(value) >= INVALID else f"{value:.6E}"


def _number(args: list[str]) -> float:
    if len(args) != 1:
        raise illegal_value("expected one number")
    try:
        return float(args[0])
    except ValueError:
        raise illegal_value(f"{args[0]!r} is not a number") from None


def _flag(args: list[str]) -> bool:
    word = args[0].strip().upper() if len(args) == 1 else ""
    if word in ("0", "OFF"):
        return False
    if word in ("1", "ON"):
        return True
    raise illegal_value("expected 0 or 1")


def out_of_range(detail: str) -> ScpiError:
    return ScpiError(-222, f"Data out of range;{detail}")


@dataclass(frozen=True)
class Cycle:
    """One completed measuring cycle of a group and the ranges its channels measured on."""

    start_s: float
    end_s: float
    ranges: dict[int, tuple[float, float]]


class ZesLmg670(ScpiInstrument):
    idn = IDENTITY

    def __init__(self, lab: LabModel, *, ac_element: int = 1, dc_element: int = 4) -> None:
        super().__init__()
        if ac_element == dc_element or not {ac_element, dc_element} <= set(range(1, CHANNELS + 1)):
            raise ValueError(f"the AC and DC channels are two of 1-{CHANNELS}, got {ac_element} and {dc_element}")
        self.lab = lab
        self.terminals = AnalyzerTerminals(lab, ac_element, dc_element)
        self._errors = DrawnErrors(lab, SEED_STREAM, SPEC)
        self.language = "scpi"
        self._suffix: int | None = None
        self._previous: dict[int, Cycle | None] = {}
        common = [c for c in self._commands if c.header.pattern.startswith(r"^:?\*")]
        self._scpi: list[Command] = [c for c in self._commands if c not in common]  # SYSTem:ERRor[:NEXT]
        self._short: list[Command] = []
        self._commands = common
        self.add("*ZLANG", self._set_language)
        self._power_on()
        self._add_short()
        self._add_scpi()

    @classmethod
    def from_options(cls, lab: LabModel, options: dict[str, Any] | None) -> "ZesLmg670":
        """Wired as the bench entry's ``options.elements`` say (``{ac: 1, dc: 4}``); omitted, 1 and 4."""
        elements = dict((options or {}).get("elements") or {})
        return cls(lab, ac_element=int(elements.get("ac", 1)), dc_element=int(elements.get("dc", 4)))

    # -- state ------------------------------------------------------------------------------------------------

    def _power_on(self) -> None:
        """Power-on and *RST values of everything but the language."""
        if hasattr(self, "_lengths"):
            self._keep_last()
        else:
            self._previous = {}
        self.cycle_s = 0.5
        self.groups: tuple[int, ...] = POWER_ON_GROUPS
        self.ranges = {c: (VOLTAGE_RANGES_V[-1], CURRENT_RANGES_A[-1]) for c in range(1, CHANNELS + 1)}
        self.auto = {c: [True, True] for c in range(1, CHANNELS + 1)}  # current, voltage
        self.integration = RESET
        self.int_mode = 0
        self.int_interval_s = 0
        self.spans: list[list[float | None]] = []
        self.terminals.forget()
        self._retime()

    def reset(self) -> None:
        self._sync()
        self._power_on()

    def execute(self, line: str) -> Reply:
        self._sync()
        return super().execute(line)

    def _lookup(self, header: str, query: bool) -> Command | None:
        for command in self._commands + (self._short if self.language == "short" else self._scpi):
            if command.query == query and command.header.match(header):
                return command
        return None

    def _run(self, replies, deferred, header, written, query, args) -> None:  # type: ignore[override]
        """A trailing number on the header (``UTRMS1``, ``:SENS:CURR:RANG4``) is the channel."""
        match = re.fullmatch(r"(.*?[A-Za-z])(\d+)", header) if not header.startswith("*") else None
        self._suffix = int(match.group(2)) if match else None
        super()._run(replies, deferred, match.group(1) if match else header, written, query, args)

    def _channel(self) -> int:
        channel = 1 if self._suffix is None else self._suffix
        if not 1 <= channel <= CHANNELS:
            raise ScpiError(-113, f"Undefined header;channel {channel}")
        return channel

    def _set_language(self, args: list[str]) -> None:
        word = args[0].strip().lower() if len(args) == 1 else ""
        if word not in ("short", "scpi"):
            raise illegal_value("expected short or scpi")
        self.language = word

    def _all_errors(self) -> str:
        if not self.errors:
            return '0,"No error"'
        text = ",".join(f'{code},"{message}"' for code, message in self.errors)
        self.errors.clear()
        return text

    # -- cycles ----------------------------------------------------------------------------------------------

    def _group_of(self, channel: int) -> int:
        first = 1
        for index, size in enumerate(self.groups):
            if channel < first + size:
                return index
            first += size
        raise AssertionError(channel)

    def _synced(self, group: int) -> bool:
        return self._group_of(self.terminals.ac_element) == group

    def _restart(self) -> None:
        """Every group's timing starts again now (its last cycle stays readable)."""
        self._keep_last()
        self._retime()

    def _keep_last(self) -> None:
        """The last completed cycle of each channel, kept readable across a restart (before anything changes)."""
        self._previous = {channel: self._last_cycle(channel) for channel in range(1, CHANNELS + 1)}

    def _retime(self) -> None:
        """Each group's cycle length from now: whole periods of its sync signal (the grid's frequency now)."""
        now = self.lab.now
        self._origin_s = now
        frequency = self.terminals.frequency_hz(now)
        self._lengths = {}
        for group in range(len(self.groups)):
            if self._synced(group) and frequency > 0:
                self._lengths[group] = max(1, round(self.cycle_s * frequency)) / frequency
            else:
                self._lengths[group] = self.cycle_s

    def _last_cycle(self, channel: int) -> Cycle | None:
        group = self._group_of(channel)
        length = self._lengths[group]
        k = math.floor((self.lab.now - self._origin_s) / length + 1e-9)
        if k < 1:
            return self._previous.get(channel)
        end = self._origin_s + k * length
        return Cycle(end - length, end, dict(self.ranges))

    def _stamp(self, t: float) -> str:
        whole = math.floor(t)
        nanoseconds = round((t - whole) * 1e9)
        if nanoseconds >= 1_000_000_000:
            whole, nanoseconds = whole + 1, nanoseconds - 1_000_000_000
        text = time.strftime("%Y:%m:%dD%H:%M:%S", time.gmtime(LAB_EPOCH_S + whole))
        return f"{text}.{nanoseconds:09d}+0000"

    def _sync(self) -> None:
        """The integration interval's end, if it has come."""
        if self.integration == RUNNING and self.int_mode == 1 and self.int_interval_s > 0:
            before = sum(off - on for on, off in self.spans[:-1])  # type: ignore[operator]
            end = self.spans[-1][0] + (self.int_interval_s - before)  # type: ignore[operator]
            if end <= self.lab.now + 1e-12:
                self.spans[-1][1] = end
                self.integration = TIMEUP

    def _not_integrating(self) -> None:
        if self.integration == RUNNING:
            raise ScpiError(CONFLICT, "Settings conflict;integration running")

    # -- command tables ------------------------------------------------------------------------------------------

    def _in(self, table: list[Command], pattern: str, handler: Callable[[list[str]], Reply], *,
            query: bool = False) -> None:
        table.append(Command(compile_header(pattern), query, handler))

    def _add_short(self) -> None:
        t = self._short
        self._in(t, "ERRALL", lambda a: self._all_errors(), query=True)
        self._common_settings(t, group="GROUP", frmt="FRMT", cycle="CYCL", iauto="IAUTO", uauto="UAUTO", irng="IRNG",
                              urng="URNG", scale="ISCA", mode="INTM", interval="INTI")
        for name, quantity in (("UTRMS", "U"), ("ITRMS", "I"), ("UDC", "UDC"), ("IDC", "IDC"), ("P", "P"), ("S", "S"),
                               ("Q", "Q"), ("PF", "PF"), ("FCYC", "F")):
            self._in(t, name, self._value_reader(quantity), query=True)
        self._in(t, "TSNORM", lambda a: self._cycle_field("stamp"), query=True)
        self._in(t, "DURNORM", lambda a: self._cycle_field("duration"), query=True)
        self._in(t, "START", lambda a: self._start())
        self._in(t, "STOP", lambda a: self._stop())
        self._in(t, "RESET", lambda a: self._reset_integration())
        self._in(t, "INTS", lambda a: str(self.integration), query=True)
        self._in(t, "EP", lambda a: _nr3(self._integrated()[0]), query=True)
        self._in(t, "INTT", lambda a: _nr3(self._integrated(energy=False)[1]), query=True)

    def _add_scpi(self) -> None:
        t = self._scpi
        self._in(t, "SYSTem:ERRor:ALL", lambda a: self._all_errors(), query=True)
        self._common_settings(t, group="SENSe:GROup:LIST", frmt="FORMat:DATA", cycle="SENSe:SWEep:TIME",
                              iauto="SENSe:CURRent:RANGe:AUTO", uauto="SENSe:VOLTage:RANGe:AUTO",
                              irng="SENSe:CURRent:RANGe", urng="SENSe:VOLTage:RANGe", scale="SENSe:CURRent:SCALe",
                              mode="INTegral:MODE", interval="INTegral:INTerval")
        for name, quantity in (("VOLTage:TRMS", "U"), ("CURRent:TRMS", "I"), ("VOLTage:DC", "UDC"),
                               ("CURRent:DC", "IDC"), ("POWer:ACTive", "P"), ("POWer:APParent", "S"),
                               ("POWer:REACtive", "Q"), ("POWer:FACTor", "PF"), ("FREQuency:FCYCle", "F")):
            self._in(t, f"FETCh:{name}", self._value_reader(quantity), query=True)
        self._in(t, "FETCh:TIME:NORMal", lambda a: self._cycle_field("stamp"), query=True)
        self._in(t, "FETCh:TIME:DURation", lambda a: self._cycle_field("duration"), query=True)
        self._in(t, "INTegral:STARt", lambda a: self._start())
        self._in(t, "INTegral:STOP", lambda a: self._stop())
        self._in(t, "INTegral:RESet", lambda a: self._reset_integration())
        self._in(t, "INTegral:STATe", lambda a: str(self.integration), query=True)
        self._in(t, "FETCh:ENERgy:ACTive", lambda a: _nr3(self._integrated()[0]), query=True)
        self._in(t, "FETCh:INTegral:TIME", lambda a: _nr3(self._integrated(energy=False)[1]), query=True)

    def _common_settings(self, t: list[Command], **names: str) -> None:
        """The settings both languages have, each under its own name (set and query)."""
        pairs = {
            "group": (self._set_groups, lambda: ",".join(str(g) for g in self.groups)),
            "frmt": (self._set_format, lambda: "ASCii"),
            "cycle": (self._set_cycle, lambda: f"{self.cycle_s:g}"),
            "iauto": (lambda a: self._set_auto(a, 0), lambda: str(int(self.auto[self._channel()][0]))),
            "uauto": (lambda a: self._set_auto(a, 1), lambda: str(int(self.auto[self._channel()][1]))),
            "irng": (lambda a: self._set_range(a, 1), lambda: f"{self.ranges[self._channel()][1]:g}"),
            "urng": (lambda a: self._set_range(a, 0), lambda: f"{self.ranges[self._channel()][0]:g}"),
            "scale": (self._set_scale, lambda: (self._channel(), "1")[1]),
            "mode": (self._set_mode, lambda: str(self.int_mode)),
            "interval": (self._set_interval, lambda: str(self.int_interval_s)),
        }
        for key, pattern in names.items():
            setter, getter = pairs[key]
            self._in(t, pattern, setter)
            self._in(t, pattern, lambda a, g=getter: g(), query=True)

    # -- settings ----------------------------------------------------------------------------------------------

    def _set_groups(self, args: list[str]) -> None:
        try:
            sizes = [int(a) for a in args]
        except ValueError:
            raise illegal_value("expected group sizes") from None
        if len(sizes) == 1 and 0 < sizes[0] < CHANNELS:
            sizes.append(CHANNELS - sizes[0])
        if not sizes or any(s < 1 for s in sizes) or sum(sizes) != CHANNELS:
            raise out_of_range(f"groups {sizes} do not make up the {CHANNELS} channels")
        self._not_integrating()
        if tuple(sizes) != self.groups:
            self._keep_last()
            self.groups = tuple(sizes)
            self._retime()

    def _set_format(self, args: list[str]) -> None:
        word = args[0].strip().upper() if len(args) == 1 else ""
        if word not in ("ASC", "ASCII", "0"):
            raise illegal_value("only ASCii is simulated")

    def _set_cycle(self, args: list[str]) -> None:
        value = _number(args)
        low, high = CYCLE_LIMITS_S
        if not low <= value <= high:
            raise out_of_range(f"cycle time {value:g} s outside {low:g}-{high:g} s")
        self._not_integrating()
        if value != self.cycle_s:
            self.cycle_s = value
            self._restart()

    def _set_auto(self, args: list[str], which: int) -> None:
        channel = self._channel()
        on = _flag(args)
        self._not_integrating()
        self.auto[channel][which] = on

    def _set_range(self, args: list[str], which: int) -> None:
        """``which`` 0: voltage, 1: current (the order of ``self.ranges``' pairs)."""
        channel = self._channel()
        value = _number(args)
        offered = VOLTAGE_RANGES_V if which == 0 else CURRENT_RANGES_A
        chosen = next((r for r in offered if math.isclose(value, r, rel_tol=1e-9)), None)
        if chosen is None:
            raise out_of_range(f"{value:g} is not one of the {'voltage' if which == 0 else 'current'} ranges "
                               f"({', '.join(f'{r:g}' for r in offered)})")
        if self.auto[channel][1 - which]:
            raise ScpiError(CONFLICT, f"Settings conflict;channel {channel} is on auto range")
        self._not_integrating()
        pair = list(self.ranges[channel])
        if pair[which] != chosen:
            self._restart()
            pair[which] = chosen
            self.ranges[channel] = (pair[0], pair[1])

    def _set_scale(self, args: list[str]) -> None:
        self._channel()
        if _number(args) != 1.0:
            raise illegal_value("only direct input (1) is simulated")

    def _set_mode(self, args: list[str]) -> None:
        value = _number(args)
        if value not in (0.0, 1.0):
            raise illegal_value("mode 0 (continuous) or 1 (interval)")
        self._not_integrating()
        self.int_mode = int(value)

    def _set_interval(self, args: list[str]) -> None:
        value = _number(args)
        if not (value >= 0 and value.is_integer() and value <= MAX_INTERVAL_S):
            raise out_of_range(f"interval {value:g} s: whole seconds up to {MAX_INTERVAL_S}")
        self._not_integrating()
        self.int_interval_s = int(value)

    # -- integration -----------------------------------------------------------------------------------------------

    def _start(self) -> None:
        if self.integration not in (RESET, STOPPED):
            raise ScpiError(CONFLICT, f"Settings conflict;integration state {self.integration}")
        self.spans.append([self.lab.now, None])
        self.integration = RUNNING

    def _stop(self) -> None:
        if self.integration != RUNNING:
            raise ScpiError(CONFLICT, f"Settings conflict;integration state {self.integration}")
        self.spans[-1][1] = self.lab.now
        self.integration = STOPPED

    def _reset_integration(self) -> None:
        if self.integration == RUNNING:
            raise ScpiError(CONFLICT, "Settings conflict;integration running")
        self.integration = RESET
        self.spans = []
        self.terminals.forget()

    def _integrated(self, energy: bool = True) -> tuple[float, float]:
        """Energy (Wh, with the power's errors) and time (s) integrated up to the channel's last cycle end."""
        channel = self._channel() if energy else self.terminals.ac_element
        cycle = self._last_cycle(channel)
        if cycle is None:
            return math.nan, math.nan
        end = cycle.end_s
        seconds = sum(max(0.0, min(end, math.inf if off is None else off) - on)  # type: ignore[operator]
                      for on, off in self.spans)
        if not energy:
            return math.nan, seconds
        joules = sum(self.terminals.energy_j(channel, on, min(end, math.inf if off is None else off))  # type: ignore
                     for on, off in self.spans if on < end)
        gain, offset, _ = self._errors.error(channel, self._band(channel), "P", cycle.ranges[channel])
        return (joules * (1.0 + gain) + offset * seconds) / 3600.0, seconds

    # -- values ----------------------------------------------------------------------------------------------------

    def _cycle_field(self, which: str) -> str:
        channel = self._channel()
        cycle = self._last_cycle(channel)
        if cycle is None:  # nothing measured yet: the stamp of the cycle before the first, with no duration
            length = self._lengths[self._group_of(channel)]
            return self._stamp(self._origin_s - length) if which == "stamp" else _nr3(math.nan)
        return self._stamp(cycle.start_s) if which == "stamp" else f"{cycle.end_s - cycle.start_s:.9f}"

    def _value_reader(self, quantity: str) -> Callable[[list[str]], str]:
        def read(args: list[str]) -> str:
            channel = self._channel()
            cycle = self._last_cycle(channel)
            return _nr3(math.nan if cycle is None else self._readings(channel, cycle)[quantity])
        return read

    def _band(self, channel: int) -> str:
        return "DC" if channel == self.terminals.dc_element else "AC"

    def _measured(self, channel: int, quantity: str, value: float, cycle: Cycle) -> float:
        return self._errors.measured(channel, self._band(channel), quantity, value, cycle.ranges[channel], cycle.end_s)

    def _readings(self, channel: int, cycle: Cycle) -> dict[str, float]:
        true = self.terminals.true_values(channel, cycle.start_s, cycle.end_s)
        v_range, i_range = cycle.ranges[channel]
        out = {"U": self._measured(channel, "U", true["U"], cycle), "I": self._measured(channel, "I", true["I"], cycle),
               "P": self._measured(channel, "P", true["P"], cycle),
               "UDC": self._measured(channel, "U", true["UDC"], cycle),
               "IDC": self._measured(channel, "I", true["IDC"], cycle)}
        out["S"] = abs(out["U"]) * abs(out["I"])
        out["Q"] = math.sqrt(max(0.0, out["S"] ** 2 - out["P"] ** 2))
        out["PF"] = out["P"] / out["S"] if out["S"] > 0.0 else math.nan
        group = self._group_of(channel)
        if self._synced(group):
            ac = self.terminals.true_values(self.terminals.ac_element, cycle.start_s, cycle.end_s)["FU"]
            out["F"] = self._errors.frequency(channel, ac, FREQUENCY_ACCURACY)
        else:
            out["F"] = math.nan
        if true["U"] > OVER_RANGE * v_range or true["I"] > OVER_RANGE * i_range:
            out = {name: math.nan for name in out}
        return out
