"""Ametek / California Instruments MX-series AC source (single-phase use), as the simulated lab serves it.

The driver is ``drivers/grid/ametek_cimx.py``; the physics (output stage, relay, list execution into
exact ramps and steps, the over-current latch) is ``rig.sim.instruments.grid_source``, shared with the
Chroma dialect. What this dialect adds is the family's own transient system, as the BPS / MX / RS Series
SCPI Programming Manual (P/N 7003-961 Rev AA) and its Sequoia and Lx/Ls siblings describe it:

- Each function has its own mode, ``VOLT:MODE``, ``FREQ:MODE``, ``PHAS:MODE`` (FIX or LIST; STEP and PULSe
  are not simulated: -224), and its slew its own, ``VOLT:SLEW:MODE`` / ``FREQ:SLEW:MODE``: a list's slews
  are used only with the slew mode LIST, else the fixed ``VOLT:SLEW`` / ``FREQ:SLEW`` applies to every point.
- A list point is a target and a slew rate: from where the output is, it ramps to the target at the slew
  (``MAX``: a step) and holds for the rest of the point's dwell (``LIST:DWEL``, seconds, 0.001-9E4: the
  Sequoia manual's range); a ramp the dwell cuts short leaves the next point starting where it got.
  ``LIST:PHAS`` points are absolute phase angles (-360..360): the output phase steps to each at its point's
  start. ``LIST:REP`` repeats each point that many extra times, ``LIST:COUN`` the whole list. Active lists
  must have the dwell list's length or one point (a one-point list stands for all): otherwise ``INIT`` is a
  -221 (the manual: "an error is generated when the first list point is triggered"; the code is the
  simulator's assumption). At most 32 points (MX manual 6.4.3).
- ``INIT`` arms the transient system; with ``TRIG:TRAN:SOUR IMM`` the list starts at once, with ``BUS`` on
  ``*TRG`` / ``TRIG``. While it runs (``TRIG:STAT?`` BUSY, else IDLE; WTRIG while armed on BUS) list edits
  and mode changes are -221 and ``INIT`` is -213. ``ABOR`` stops it where it is.
- The trigger output (function strobe / Trigger Output BNC) pulses at the beginning of the transient only
  with ``OUTP:TTLT:STAT ON`` and ``OUTP:TTLT:SOUR BOT`` (Sequoia manual p.72): the digitizer's EXT input
  sees nothing otherwise.
- ``CURR`` is the rms current limit; with ``CURR:PROT:STAT ON`` a current above it for ``CURR:PROT:DEL``
  (0.1-5 s, MX manual p.80) trips the output off (latched until ``OUTP:PROT:CLE``, the simulator's
  assumption), the CF bit (2) latched in ``STAT:QUES:EVEN?`` (read clears) and set in the condition
  register while latched. With ``CURR:PROT:STAT OFF`` the unit would fold back to constant current; the lab
  cannot lower its voltage that way, so it simply never trips (and the CL bit, 4096, is never raised).
- ``OUTP ON|OFF`` is the output relay and stage together (SVP ``gridsim_ametek.py``), ``OUTP?`` answers 0|1.

Settings the unit keeps between runs are found as an earlier user left them (``LEFT_BY_PREVIOUS_USER``):
the over-current protection off with a 2 s delay, slow fixed slews, the transient trigger source BUS, the
trigger output off, list repeats and modes in LIST, a square waveform. ``*RST`` is taken not to restore them
(the strict assumption, as for the Chroma dialect); only setting them does.

Not simulated: ``TRIG:SYNC:SOUR PHAS`` (accepted and kept; the list still starts at once), three-phase
operation (``INST:*``), the waveform's shape (``FUNC`` is kept and answered; the terminals stay a sine).
Measurement forms ``MEAS:VOLT:AC?``, ``MEAS:CURR:AC?``, ``MEAS:POW:AC?`` (negative while the site exports:
assumed, as for the Chroma dialect), ``MEAS:FREQ?``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from rig.sim.instruments.grid_boundary import delivered_power_w, through_s1_a
from rig.sim.instruments.grid_source import ListProgram
from rig.sim.model import LabModel
from rig.sim.wire.scpi_server import Reply, ScpiError, ScpiInstrument, illegal_value, on_off

RANGES_V = {150: 150.0, 300: 300.0}
FREQUENCY_RANGE_HZ = (16.0, 1000.0)
MAX_CURRENT_A = 125.0
OCP_DELAY_RANGE_S = (0.1, 5.0)
DWELL_RANGE_S = (0.001, 9.0e4)
MAX_POINTS = 32
CF_BIT, VF_BIT, OT_BIT = 2, 1, 8
SHAPES = {"SIN": "SINE", "SINE": "SINE", "SQU": "SQUARE", "SQUARE": "SQUARE", "CLIP": "CLIPPED", "CLIPPED": "CLIPPED"}
MODES = {"FIX": "FIX", "FIXED": "FIX", "LIST": "LIST"}
TTL_SOURCES = {"BOT": "BOT", "EOT": "EOT", "LIST": "LIST"}
TRIGGER_SOURCES = {"IMM": "IMM", "IMMEDIATE": "IMM", "BUS": "BUS", "EXT": "EXT", "EXTERNAL": "EXT"}
SYNC_SOURCES = {"IMM": "IMM", "IMMEDIATE": "IMM", "PHAS": "PHAS", "PHASE": "PHAS"}


@dataclass
class StoredSettings:
    """What the unit keeps between runs (an earlier user's values, not a safe state)."""

    protection_on: bool = False
    ocp_delay_s: float = 2.0
    voltage_slew: float = 5.0        # V/s
    frequency_slew: float = 0.2      # Hz/s
    transient_source: str = "BUS"
    sync_source: str = "PHAS"
    ttl_on: bool = False
    ttl_source: str = "EOT"
    step: str = "ONCE"
    count: int = 3
    shape: str = "SQUARE"
    modes: dict[str, str] = field(default_factory=lambda: {"VOLT": "LIST", "FREQ": "FIX", "PHAS": "LIST",
                                                           "VOLT:SLEW": "FIX", "FREQ:SLEW": "FIX", "FUNC": "LIST"})
    lists: dict[str, list[float]] = field(default_factory=lambda: {"REP": [1.0], "PHAS": [120.0]})


LEFT_BY_PREVIOUS_USER = StoredSettings()


def _float(args: list[str], *, maximum: float | None = None) -> float:
    if len(args) != 1:
        raise illegal_value("expected one number")
    if maximum is not None and args[0].upper() in ("MAX", "MAXIMUM"):
        return maximum
    return float(args[0])


def _word(args: list[str], choices: dict[str, str]) -> str:
    word = args[0].upper() if len(args) == 1 else ""
    if word not in choices:
        raise illegal_value(f"expected one of {', '.join(sorted(set(choices.values())))}")
    return choices[word]


def _out_of_range() -> ScpiError:
    return ScpiError(-222, "Data out of range")


def _conflict(reason: str) -> ScpiError:
    return ScpiError(-221, f"Settings conflict;{reason}")


class AmetekMX(ScpiInstrument):
    idn = "CALIFORNIA INSTRUMENTS,MX45-3Pi, SIM-45001, Rev 4.0"

    def __init__(self, lab: LabModel) -> None:
        super().__init__()
        self.lab = lab
        left = LEFT_BY_PREVIOUS_USER
        self.voltage_range = 300
        self.current_limit_a = MAX_CURRENT_A
        self.protection_on = left.protection_on
        self.voltage_slew, self.frequency_slew = left.voltage_slew, left.frequency_slew
        self.transient_source, self.sync_source = left.transient_source, left.sync_source
        self.ttl_on, self.ttl_source = left.ttl_on, left.ttl_source
        self.step, self.count, self.shape = left.step, left.count, left.shape
        self.modes = dict(left.modes)
        self.lists: dict[str, list[float]] = {"DWEL": [], "VOLT": [], "VOLT:SLEW": [], "FREQ": [], "FREQ:SLEW": [],
                                              **{k: list(v) for k, v in left.lists.items()}}
        self.phase_deg = 0.0
        """The output's programmed phase angle (PHAS, or the last list point's): a list point's jump is the
        difference."""
        self.armed_on_bus = False
        self._questionable_event = 0
        self._seen_fault: str | None = None
        g = lab.grid
        g.overcurrent_delay_s = left.ocp_delay_s
        g.voltage_slew_per_s, g.frequency_slew_per_s = self.voltage_slew, self.frequency_slew
        self._apply_current_limit()
        add = self.add
        add("[SOURce:]VOLTage[:LEVel][:IMMediate]:AC", self._set_voltage)
        add("[SOURce:]VOLTage[:LEVel][:IMMediate]:AC", lambda a: f"{g.voltage_setpoint:.2f}", query=True)
        add("[SOURce:]VOLTage:RANGe", self._set_range)
        add("[SOURce:]VOLTage:RANGe", lambda a: str(self.voltage_range), query=True)
        add("[SOURce:]VOLTage:SLEW[:IMMediate]", self._slew_setter("voltage_slew", "voltage_slew_per_s"))
        add("[SOURce:]VOLTage:SLEW[:IMMediate]", lambda a: f"{self.voltage_slew:.6g}", query=True)
        add("[SOURce:]FREQuency[:IMMediate]", self._set_frequency)
        add("[SOURce:]FREQuency[:IMMediate]", lambda a: f"{g.frequency_setpoint:.3f}", query=True)
        add("[SOURce:]FREQuency:SLEW[:IMMediate]", self._slew_setter("frequency_slew", "frequency_slew_per_s"))
        add("[SOURce:]FREQuency:SLEW[:IMMediate]", lambda a: f"{self.frequency_slew:.6g}", query=True)
        add("[SOURce:]PHASe[:IMMediate]", self._set_phase)
        add("[SOURce:]PHASe[:IMMediate]", lambda a: f"{self.phase_deg:.1f}", query=True)
        add("[SOURce:]FUNCtion[:SHAPe][:IMMediate]", lambda a: setattr(self, "shape", _word(a, SHAPES)))
        add("[SOURce:]FUNCtion[:SHAPe][:IMMediate]", lambda a: self.shape, query=True)
        for node, key in (("VOLTage", "VOLT"), ("FREQuency", "FREQ"), ("PHASe", "PHAS"), ("VOLTage:SLEW", "VOLT:SLEW"),
                          ("FREQuency:SLEW", "FREQ:SLEW"), ("FUNCtion", "FUNC")):
            add(f"[SOURce:]{node}:MODE", self._mode_setter(key))
            add(f"[SOURce:]{node}:MODE", self._mode_getter(key), query=True)
        add("[SOURce:]CURRent[:LEVel][:IMMediate]", self._set_current)
        add("[SOURce:]CURRent[:LEVel][:IMMediate]", lambda a: f"{self.current_limit_a:.2f}", query=True)
        add("[SOURce:]CURRent:PROTection:STATe", self._set_protection)
        add("[SOURce:]CURRent:PROTection:STATe", lambda a: "1" if self.protection_on else "0", query=True)
        add("[SOURce:]CURRent:PROTection:DELay", self._set_ocp_delay)
        add("[SOURce:]CURRent:PROTection:DELay", lambda a: f"{g.overcurrent_delay_s:.2f}", query=True)
        add("OUTPut[:STATe]", self._set_output)
        add("OUTPut[:STATe]", lambda a: "1" if g.energized else "0", query=True)
        add("OUTPut:PROTection:CLEar", lambda a: g.clear_protection())
        add("OUTPut:TTLTrg[:STATe]", lambda a: setattr(self, "ttl_on", on_off(a)))
        add("OUTPut:TTLTrg[:STATe]", lambda a: "1" if self.ttl_on else "0", query=True)
        add("OUTPut:TTLTrg:SOURce", lambda a: setattr(self, "ttl_source", _word(a, TTL_SOURCES)))
        add("OUTPut:TTLTrg:SOURce", lambda a: self.ttl_source, query=True)
        add("TRIGger:TRANsient:SOURce", self._idle_only(lambda a: setattr(self, "transient_source",
                                                                          _word(a, TRIGGER_SOURCES))))
        add("TRIGger:TRANsient:SOURce", lambda a: self.transient_source, query=True)
        add("TRIGger:SYNChronous:SOURce", lambda a: setattr(self, "sync_source", _word(a, SYNC_SOURCES)))
        add("TRIGger:SYNChronous:SOURce", lambda a: self.sync_source, query=True)
        add("TRIGger:STATe", lambda a: self._trigger_state(), query=True)
        add("TRIGger[:TRANsient][:IMMediate]", lambda a: self._bus_trigger())
        add("*TRG", lambda a: self._bus_trigger())
        add("INITiate[:IMMediate][:SEQuence[1]]", lambda a: self._initiate())
        add("INITiate[:IMMediate]:NAME", lambda a: self._initiate())
        add("ABORt", lambda a: self._abort())
        add("[SOURce:]LIST:STEP", self._idle_only(lambda a: setattr(self, "step", _word(a, {"AUTO": "AUTO",
                                                                                          "ONCE": "ONCE"}))))
        add("[SOURce:]LIST:STEP", lambda a: self.step, query=True)
        add("[SOURce:]LIST:COUNt", self._idle_only(self._set_count))
        add("[SOURce:]LIST:COUNt", lambda a: str(self.count), query=True)
        for node, key, check in (("DWELl", "DWEL", self._dwells), ("VOLTage[:LEVel]", "VOLT", self._volts),
                                 ("VOLTage:SLEW", "VOLT:SLEW", self._slews), ("FREQuency[:LEVel]", "FREQ", self._hertz),
                                 ("FREQuency:SLEW", "FREQ:SLEW", self._slews), ("PHASe", "PHAS", self._degrees),
                                 ("REPeat", "REP", self._repeats)):
            add(f"[SOURce:]LIST:{node}", self._idle_only(self._list_setter(key, check)))
            add(f"[SOURce:]LIST:{node}", self._list_getter(key), query=True)
            add(f"[SOURce:]LIST:{node}:POINts", lambda a, key=key: str(len(self.lists[key])), query=True)
        add("STATus:QUEStionable:CONDition", lambda a: str(self._condition()), query=True)
        add("STATus:QUEStionable[:EVENt]", lambda a: str(self._read_event()), query=True)
        for verb in ("MEASure", "FETCh"):
            add(f"{verb}[:SCALar]:VOLTage[:AC]", lambda a: f"{lab.noisy(lab.voltage.at(lab.now), 0.02):.2f}", query=True)
            add(f"{verb}[:SCALar]:FREQuency", lambda a: f"{lab.noisy(lab.frequency.at(lab.now), 0.0005):.4f}", query=True)
            add(f"{verb}[:SCALar]:CURRent[:AC]", lambda a: f"{abs(lab.noisy(abs(self._current()), 0.005)):.3f}", query=True)
            add(f"{verb}[:SCALar]:POWer[:AC][:REAL]", lambda a: f"{self._power():.1f}", query=True)

    # -- every message: a trip since the last one is latched in the event register ---------------

    def execute(self, line: str) -> Reply:
        fault = self.lab.grid.fault
        if fault is not None and fault != self._seen_fault:
            self._questionable_event |= CF_BIT if fault.startswith("OCP") else VF_BIT
        self._seen_fault = fault
        return super().execute(line)

    def clear_status(self) -> None:
        super().clear_status()
        self._questionable_event = 0

    def reset(self) -> None:
        """*RST: output off, transient system idle, fixed modes; stored settings are kept (the strict assumption)."""
        g = self.lab.grid
        self._abort()
        g.set_output(self.lab.now, False)
        g.set_relay(self.lab.now, False)
        for key in ("VOLT", "FREQ", "PHAS"):
            self.modes[key] = "FIX"
        g.mode = "FIXED"

    # -- guards ---------------------------------------------------------------------------------

    def _running(self) -> bool:
        return self.lab.grid.list_running(self.lab.now) or self.armed_on_bus

    def _idle_only(self, handler: Callable[[list[str]], Reply]) -> Callable[[list[str]], Reply]:
        def guarded(args: list[str]) -> Reply:
            if self._running():
                raise _conflict("a transient is in progress; ABOR first")
            return handler(args)
        return guarded

    # -- fixed settings ------------------------------------------------------------------------------

    def _volts(self, args: list[str]) -> list[float]:
        values = [float(a) for a in args]
        if not values or any(not 0.0 <= v <= RANGES_V[self.voltage_range] for v in values):
            raise _out_of_range()
        return values

    def _hertz(self, args: list[str]) -> list[float]:
        values = [float(a) for a in args]
        if not values or any(not FREQUENCY_RANGE_HZ[0] <= f <= FREQUENCY_RANGE_HZ[1] for f in values):
            raise _out_of_range()
        return values

    def _set_voltage(self, args: list[str]) -> None:
        self.lab.grid.set_voltage(self.lab.now, self._volts(args)[0] if len(args) == 1 else _float(args))

    def _set_frequency(self, args: list[str]) -> None:
        self.lab.grid.set_frequency(self.lab.now, self._hertz(args)[0] if len(args) == 1 else _float(args))

    def _set_range(self, args: list[str]) -> None:
        value = int(_float(args))
        if value not in RANGES_V:
            raise _out_of_range()
        if self.lab.grid.output_on:
            raise _conflict("output is on; OUTP OFF before changing the range")
        if self.lab.grid.voltage_setpoint > RANGES_V[value]:
            raise _conflict("the voltage setpoint is above that range")
        self.voltage_range = value

    def _slew_setter(self, attr: str, grid_attr: str) -> Callable[[list[str]], None]:
        def set_slew(args: list[str]) -> None:
            value = _float(args, maximum=math.inf)
            if value <= 0:
                raise _out_of_range()
            setattr(self, attr, value)
            setattr(self.lab.grid, grid_attr, None if math.isinf(value) else value)
        return set_slew

    def _set_phase(self, args: list[str]) -> None:
        value = _float(args)
        if not -360.0 <= value <= 360.0:
            raise _out_of_range()
        g = self.lab.grid
        if g.energized and value != self.phase_deg:  # a single-phase unit: an instantaneous shift of the output
            g.phase_deg.step(self.lab.now, g.phase_deg.at(self.lab.now) + value - self.phase_deg)
        self.phase_deg = value

    def _mode_setter(self, key: str) -> Callable[[list[str]], None]:
        def set_mode(args: list[str]) -> None:
            word = args[0].upper() if len(args) == 1 else ""
            if word in ("STEP", "PULS", "PULSE"):
                raise illegal_value("STEP and PULSe transients are not simulated")
            mode = _word(args, MODES)
            if self._running():
                raise _conflict("a transient is in progress; ABOR first")
            self.modes[key] = mode
            g = self.lab.grid
            problem = g.set_mode(self.lab.now, "LIST" if "LIST" in (self.modes["VOLT"], self.modes["FREQ"],
                                                                    self.modes["PHAS"]) else "FIXED")
            if problem:
                raise _conflict(problem)
        return set_mode

    def _mode_getter(self, key: str) -> Callable[[list[str]], str]:
        return lambda args: self.modes[key]

    def _set_current(self, args: list[str]) -> None:
        value = _float(args)
        if not 0.0 <= value <= MAX_CURRENT_A:
            raise _out_of_range()
        self.current_limit_a = value
        self._apply_current_limit()

    def _set_protection(self, args: list[str]) -> None:
        self.protection_on = on_off(args)
        self._apply_current_limit()

    def _apply_current_limit(self) -> None:
        """The lab's source trips above the limit only with the protection on (see the module)."""
        self.lab.grid.current_limit_a = self.current_limit_a if self.protection_on else math.inf

    def _set_ocp_delay(self, args: list[str]) -> None:
        value = _float(args)
        if not OCP_DELAY_RANGE_S[0] <= value <= OCP_DELAY_RANGE_S[1]:
            raise _out_of_range()
        self.lab.grid.overcurrent_delay_s = value

    def _set_output(self, args: list[str]) -> None:
        on = on_off(args)
        g = self.lab.grid
        if on:
            problem = g.set_output(self.lab.now, True)
            if problem:
                raise _conflict(problem)
            g.set_relay(self.lab.now, True)
        else:
            self._abort()
            g.set_output(self.lab.now, False)
            g.set_relay(self.lab.now, False)

    # -- lists -----------------------------------------------------------------------------------

    @staticmethod
    def _dwells(args: list[str]) -> list[float]:
        values = [float(a) for a in args]
        if any(not DWELL_RANGE_S[0] <= d <= DWELL_RANGE_S[1] for d in values):
            raise _out_of_range()
        return values

    @staticmethod
    def _slews(args: list[str]) -> list[float]:
        values = [math.inf if a.upper() in ("MAX", "MAXIMUM") else float(a) for a in args]
        if any(v <= 0 for v in values):
            raise _out_of_range()
        return values

    @staticmethod
    def _degrees(args: list[str]) -> list[float]:
        values = [float(a) for a in args]
        if any(not -360.0 <= x <= 360.0 for x in values):
            raise _out_of_range()
        return values

    @staticmethod
    def _repeats(args: list[str]) -> list[float]:
        values = [float(a) for a in args]
        if any(v < 0 or v != int(v) for v in values):
            raise _out_of_range()
        return values

    def _list_setter(self, key: str, check: Callable[[list[str]], list[float]]) -> Callable[[list[str]], None]:
        def set_list(args: list[str]) -> None:
            if not args:
                raise illegal_value("expected a list of values")
            if len(args) > MAX_POINTS:
                raise ScpiError(-223, f"Too much data;at most {MAX_POINTS} list points")
            self.lists[key] = check(args)
        return set_list

    def _list_getter(self, key: str) -> Callable[[list[str]], str]:
        return lambda args: ",".join("MAX" if math.isinf(v) else f"{v:g}" for v in self.lists[key])

    def _set_count(self, args: list[str]) -> None:
        count = int(_float(args))
        if not 1 <= count <= 2e8:
            raise _out_of_range()
        self.count = count

    # -- the transient system --------------------------------------------------------------------------

    def _trigger_state(self) -> str:
        if self.armed_on_bus:
            return "WTRIG"
        return "BUSY" if self.lab.grid.list_running(self.lab.now) else "IDLE"

    def _initiate(self) -> None:
        if self._running():
            raise ScpiError(-213, "Init ignored")
        if self.transient_source == "IMM":
            self._start()
        elif self.transient_source == "BUS":
            self.armed_on_bus = True
        else:
            raise _conflict("no external trigger input in the simulated lab")

    def _bus_trigger(self) -> None:
        if not self.armed_on_bus:
            raise ScpiError(-211, "Trigger ignored")
        self.armed_on_bus = False
        self._start()

    def _abort(self) -> None:
        self.armed_on_bus = False
        self.lab.grid.stop_list(self.lab.now)

    def _start(self) -> None:
        """Compile the list into exact ramps and holds and run it on the lab's source (its trigger output
        pulsing only as configured)."""
        g, now = self.lab.grid, self.lab.now
        if g.mode != "LIST":
            return  # every function fixed: triggers are ignored
        program, phase = self._compile(g.voltage.at(now), g.frequency.at(now))
        g.program = program
        problem = g.trigger(now, pulse=self.ttl_on and self.ttl_source == "BOT")
        if problem:
            raise _conflict(problem)
        self.phase_deg = phase

    def _points(self) -> list[tuple[float, float, float, float, float, float | None]]:
        """(dwell, volt, volt slew, freq, freq slew, phase or None) per point, repeats and count expanded."""
        dwell = self.lists["DWEL"]
        n = len(dwell)
        if n == 0:
            raise _conflict("the dwell list is empty")
        if self.step != "AUTO":
            raise _conflict("LIST:STEP ONCE: one point per trigger is not simulated; LIST:STEP AUTO")
        g = self.lab.grid

        def column(key: str, mode_key: str, fixed: float, slew_key: str | None = None) -> list[float]:
            if slew_key is not None and self.modes[slew_key] != "LIST":
                return [fixed] * n
            if slew_key is None and self.modes[mode_key] != "LIST":
                return [fixed] * n
            values = self.lists[key]
            if len(values) == 1:
                return values * n
            if len(values) != n:
                raise _conflict(f"list lengths differ: LIST:{key} has {len(values)} points, LIST:DWEL {n}")
            return list(values)

        volts = column("VOLT", "VOLT", g.voltage_setpoint)
        vslew = column("VOLT:SLEW", "VOLT", self.voltage_slew, "VOLT:SLEW")
        freqs = column("FREQ", "FREQ", g.frequency_setpoint)
        fslew = column("FREQ:SLEW", "FREQ", self.frequency_slew, "FREQ:SLEW")
        phases: list[float | None] = list(column("PHAS", "PHAS", self.phase_deg)) if self.modes["PHAS"] == "LIST" \
            else [None] * n
        reps = self.lists["REP"] or [0.0]
        reps = reps * n if len(reps) == 1 else reps
        if len(reps) != n:
            raise _conflict(f"list lengths differ: LIST:REP has {len(reps)} points, LIST:DWEL {n}")
        one_pass = [p for k in range(n) for p in [(dwell[k], volts[k], vslew[k], freqs[k], fslew[k], phases[k])]
                    * (1 + int(reps[k]))]
        return one_pass * self.count

    def _compile(self, v_now: float, f_now: float) -> tuple[ListProgram, float]:
        """The points as ListProgram steps, each point split where its voltage or frequency ramp ends; and the
        phase angle the list leaves."""
        program = ListProgram()
        v, f, angle = v_now, f_now, self.phase_deg
        for dwell, v_target, v_slew, f_target, f_slew, phase in self._points():
            t_v = 0.0 if math.isinf(v_slew) else abs(v_target - v) / v_slew
            t_f = 0.0 if math.isinf(f_slew) else abs(f_target - f) / f_slew
            v = v_target if t_v <= 0.0 else v
            f = f_target if t_f <= 0.0 else f
            jump = 0.0 if phase is None else phase - angle
            angle = angle if phase is None else phase
            cuts = sorted({0.0, dwell, *(t for t in (t_v, t_f) if 0.0 < t < dwell)})
            for a, b in zip(cuts, cuts[1:]):
                v0, f0 = v, f
                v = self._toward(v, v_target, v_slew, b - a)
                f = self._toward(f, f_target, f_slew, b - a)
                program.dwell_s.append(b - a)
                program.voltage_start.append(v0)
                program.voltage_end.append(v)
                program.frequency_start.append(f0)
                program.frequency_end.append(f)
                program.phase_jump_deg.append(jump)
                jump = 0.0
        return program, angle

    @staticmethod
    def _toward(value: float, target: float, slew: float, duration: float) -> float:
        if math.isinf(slew) or abs(target - value) <= slew * duration:
            return target
        return value + math.copysign(slew * duration, target - value)

    # -- status and measurements -------------------------------------------------------------------

    def _condition(self) -> int:
        fault = self.lab.grid.fault
        return 0 if fault is None else (CF_BIT if fault.startswith("OCP") else VF_BIT)

    def _read_event(self) -> int:
        event, self._questionable_event = self._questionable_event, 0
        return event

    def _current(self) -> complex:
        """The current through the source at the site boundary (``rig.sim.instruments.grid_boundary``; a
        single-phase unit: always the charger's phase)."""
        return through_s1_a(self.lab)

    def _power(self) -> float:
        """Real power the source delivers: negative while the site exports into it (assumed sign)."""
        return delivered_power_w(self.lab, self._current())
