"""Chroma 61800-series regenerative grid simulator, as the simulated lab serves it.

A 61845 (45 kVA, three-phase, usable as one single-phase output), served as
strictly as the public sources describe it (see shared/reference/instruments.md,
"Checked against manuals and vendor example code"); the driver is
``drivers/grid/chroma_61800.py``. What the simulator enforces:

- Lists are edited in FIXED mode with the list stopped: any ``LIST:...``
  setting while in LIST mode or while the list runs is a -221 Settings
  conflict, as is ``TRIG ON`` outside LIST mode and a change of
  ``OUTP:MODE`` while the list runs. The list state query is
  ``TRIG:STATE?`` (``OFF`` or ``RUNNING``); ``TRIG?`` is not a query.
- The terminals are live only while the output is on (``OUTP ON``) and the
  output relay is closed (``OUTP:REL ON``); with the relay open the charger
  sees no voltage.
- Coupled settings (voltage, frequency, voltage range, current limit) run
  when the whole program message has been parsed, so ``VOLT 400;:SYST:ERR?``
  answers "no error" and the -222 appears at the next ``SYST:ERR?``.
- ``SOUR:CURR:LIM`` is the source's own protection: a charger current above
  it trips the source (output off, OCP latched in ``STAT:QUES:COND?``, an
  error queued) at the exact instant (``rig.sim.model``); ``OUTP ON`` is
  refused until ``OUTP:PROT:CLE``.
- Phase set-up: ``INST:PHAS SINGLE|THREE``; in three-phase mode settings
  reach the charger's phase (L1) only with ``INST:COUP ALL`` or with
  ``INST:NSEL 1``, and measurements read the phase ``INST:NSEL`` selects.
- Settings the unit stores keep whatever the previous user left (``LEFT_BY_PREVIOUS_USER``):
  neither ``*CLS`` nor anything else the rig sends at set-up restores them; only
  setting them does. ``[SOUR:]CURR:DEL`` (over-current protection trip delay,
  0.0-5.0 s in 0.5 s steps, 61500 manual: easymanua.ls/chroma/61503/manual?p=94)
  starts at 2.0 s; a value off the 0.5 s grid or out of range is -222. The
  61500 manual's ``*RST`` text was not found: ``*RST`` is taken not to restore
  these settings (the strict assumption: a driver must set them itself).
  The waveform: ``[SOUR:]FUNC:SHAP:A|B <shape>`` fills waveform buffer A or B
  and ``[SOUR:]FUNC:SHAP A|B`` selects the buffer the output uses (the 61500
  manual's SOURCE tree; SVP's 61845 driver sends ``SOUR:FUNC:SHAP:A SINE``
  then ``SOUR:FUNC:SHAP A``); found as a previous user left it, buffer B (a
  square wave) selected. The DC offset ``[SOUR:]VOLT[:LEV][:IMM][:AMPL]:DC``
  (in the 61500 tree) is found at 5 V. The lab's terminals are a pure sine
  with no DC whatever these hold: the simulator keeps them and answers them,
  so a driver that never sets them is caught by reading them back, not by a
  distorted waveform. Shape names other than SINE, SQUA, CSIN are -224
  (the simulator's assumption of the list), a DC offset beyond the range's
  rms maximum -222 (assumed).
- ``[SOUR:]VOLT:LIM:AC`` (in the 61500 tree; SVP's 61845 driver sends it as an
  instrument-side voltage cap, 0-300 V): the output is held at the cap when a
  setpoint or a list value asks for more (``rig.sim.instruments.grid_source``). That it
  clamps rather than refuses a higher setpoint is the simulator's assumption.
  Found at 300 V (no cap below the HIGH range); 0-300 V, else -222.

Assumptions of the simulator (not confirmed against a 61800 manual; the
61500/61600 manuals are the same command family): slew rates in V/ms and
Hz/ms; the current maximum (150 A single-phase, 50 A per phase on the 300 V
range of a 45 kVA unit); the questionable-register bit order (OVP, INP, OCP,
FAN, SHT, OTP, OPP, INT-DD, INT-AD as listed in the 61600 manual); the error
code of a protection trip (-300 Device-specific error); ``MEAS:...`` forms;
and ``LIST:PHASe:SHIFt <deg>,...``, a phase jump of the output at the start
of each list step (a vector shift). No public 61800 manual seen here
documents a phase step in list mode (the 61500/61600 ``LIST:DEGRee`` sets a
step's start angle, which is not a jump; Ametek's MX/RS sources have
``PHAS:MODE LIST``): the command is this rig's assumption, to be checked
against the 61800 manual before a vector-shift case runs on a bench.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from rig.sim.instruments.grid_boundary import delivered_power_w, through_s1_a
from rig.sim.model import LabModel
from rig.sim.wire.scpi_server import Reply, ScpiError, ScpiInstrument, illegal_value, on_off

RANGE_MAX_V = {"LOW": 150.0, "HIGH": 300.0}
FREQUENCY_RANGE_HZ = (15.0, 1500.0)
MAX_CURRENT_A = {"SINGLE": 150.0, "THREE": 50.0}
QUESTIONABLE_BITS = {"OVP": 1, "INP": 2, "OCP": 4, "FAN": 8, "SHT": 16, "OTP": 32, "OPP": 64,
                     "INT-DD": 128, "INT-AD": 256}
CHARGER_PHASE = 1  # the single-phase charger is wired to L1
OCP_DELAY_RANGE_S = (0.0, 5.0)
OCP_DELAY_STEP_S = 0.5
SHAPES = {"SINE": "SINE", "SQUA": "SQUA", "SQUARE": "SQUA", "CSIN": "CSIN", "CSINE": "CSIN"}
"""Waveforms a buffer takes (the simulator's assumption; the 61500 manual also has distorted and user shapes)."""
BUFFERS = {"A": "A", "B": "B"}


@dataclass(frozen=True)
class StoredSettings:
    """Settings the unit keeps between runs."""

    ocp_delay_s: float
    shapes: dict[str, str]
    shape: str
    dc_offset_v: float
    voltage_limit_v: float


LEFT_BY_PREVIOUS_USER = StoredSettings(ocp_delay_s=2.0, shapes={"A": "CSIN", "B": "SQUA"}, shape="B", dc_offset_v=5.0,
                                       voltage_limit_v=RANGE_MAX_V["HIGH"])
"""Stored settings as the simulated unit is found: what an earlier user left, not a safe value."""


def _float(args: list[str]) -> float:
    if len(args) != 1:
        raise illegal_value("expected one number")
    return float(args[0])


def _floats(args: list[str]) -> list[float]:
    if not args:
        raise illegal_value("expected a list of numbers")
    return [float(a) for a in args]


def _word(args: list[str], choices: dict[str, str]) -> str:
    """One character-data argument, long or short form, mapped to its canonical word."""
    word = args[0].upper() if len(args) == 1 else ""
    if word not in choices:
        raise illegal_value(f"expected one of {', '.join(sorted(set(choices.values())))}")
    return choices[word]


def _conflict(reason: str) -> ScpiError:
    return ScpiError(-221, f"Settings conflict;{reason}")


class Chroma61800(ScpiInstrument):
    idn = "Chroma ATE,61845,SIM-61845-0001,1.00-sim"

    def __init__(self, lab: LabModel) -> None:
        super().__init__()
        self.lab = lab
        self.phase_mode = "THREE"
        self.couple_all = False
        self.selected_phase = 1
        self.voltage_range = "HIGH"
        self._reported_fault: str | None = None
        left = LEFT_BY_PREVIOUS_USER
        self.shapes = dict(left.shapes)
        """Stored waveform buffers (kept, answered; the lab's output stays a sine)."""
        self.shape = left.shape
        """The buffer the output uses."""
        self.dc_offset_v = left.dc_offset_v
        """Stored DC offset (kept, answered; the lab's output has no DC)."""
        g = lab.grid
        g.current_limit_a = MAX_CURRENT_A[self.phase_mode]
        g.overcurrent_delay_s = left.ocp_delay_s
        g.voltage_limit_v = left.voltage_limit_v
        add = self.add
        add("[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]:AC", self._on_charger_phase(self._set_voltage), coupled=True)
        add("[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]:AC", lambda a: f"{g.voltage_setpoint:.2f}", query=True)
        add("[SOURce:]VOLTage:LIMit:AC", self._set_voltage_limit)
        add("[SOURce:]VOLTage:LIMit:AC", lambda a: f"{g.voltage_limit_v:.1f}", query=True)
        add("[SOURce:]VOLTage:RANGe", self._set_range, coupled=True)
        add("[SOURce:]VOLTage:RANGe", lambda a: self.voltage_range, query=True)
        add("[SOURce:]FREQuency[:IMMediate]", self._set_frequency, coupled=True)
        add("[SOURce:]FREQuency[:IMMediate]", lambda a: f"{g.frequency_setpoint:.3f}", query=True)
        add("[SOURce:]CURRent:LIMit[:RMS]", self._on_charger_phase(self._set_current_limit), coupled=True)
        add("[SOURce:]CURRent:LIMit[:RMS]", lambda a: f"{g.current_limit_a:.2f}", query=True)
        add("[SOURce:]CURRent:DELay", self._set_ocp_delay)
        add("[SOURce:]CURRent:DELay", lambda a: f"{g.overcurrent_delay_s:.1f}", query=True)
        for buffer in BUFFERS:
            add(f"[SOURce:]FUNCtion:SHAPe:{buffer}", self._shape_setter(buffer))
            add(f"[SOURce:]FUNCtion:SHAPe:{buffer}", self._shape_getter(buffer), query=True)
        add("[SOURce:]FUNCtion:SHAPe", self._select_shape)
        add("[SOURce:]FUNCtion:SHAPe", lambda a: self.shape, query=True)
        add("[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]:DC", self._set_dc_offset)
        add("[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]:DC", lambda a: f"{self.dc_offset_v:.2f}", query=True)
        add("OUTPut:SLEW:VOLTage:AC", lambda a: setattr(g, "voltage_slew_per_s", self._slew(a)))
        add("OUTPut:SLEW:FREQuency", lambda a: setattr(g, "frequency_slew_per_s", self._slew(a)))
        add("OUTPut[:STATe]", self._set_output)
        add("OUTPut[:STATe]", lambda a: "ON" if g.output_on else "OFF", query=True)
        add("OUTPut:RELay", lambda a: g.set_relay(lab.now, on_off(a)))
        add("OUTPut:RELay", lambda a: "ON" if g.relay_closed else "OFF", query=True)
        add("OUTPut:PROTection:CLEar", lambda a: g.clear_protection())
        add("OUTPut:MODE", self._set_mode)
        add("OUTPut:MODE", lambda a: g.mode, query=True)
        add("INSTrument:PHASe", self._set_phase_mode)
        add("INSTrument:PHASe", lambda a: self.phase_mode, query=True)
        add("INSTrument:COUPle", self._set_couple)
        add("INSTrument:COUPle", lambda a: "ALL" if self.couple_all else "NONE", query=True)
        add("INSTrument:NSELect", self._set_phase)
        add("INSTrument:NSELect", lambda a: str(self.selected_phase), query=True)
        add("STATus:QUEStionable:CONDition", lambda a: str(self._questionable()), query=True)
        add("[SOURce:]LIST:COUNt", self._list_edit(self._set_count))
        add("[SOURce:]LIST:DWELl", self._list_edit(lambda a: setattr(g.program, "dwell_s", [ms / 1000.0 for ms in _floats(a)])))
        add("[SOURce:]LIST:VOLTage:AC:STARt", self._list_edit(lambda a: setattr(g.program, "voltage_start", self._volts(a))))
        add("[SOURce:]LIST:VOLTage:AC:END", self._list_edit(lambda a: setattr(g.program, "voltage_end", self._volts(a))))
        add("[SOURce:]LIST:FREQuency:STARt", self._list_edit(lambda a: setattr(g.program, "frequency_start", self._hertz(a))))
        add("[SOURce:]LIST:FREQuency:END", self._list_edit(lambda a: setattr(g.program, "frequency_end", self._hertz(a))))
        add("[SOURce:]LIST:PHASe:SHIFt", self._list_edit(lambda a: setattr(g.program, "phase_jump_deg", self._degrees(a))))
        for accepted in ("[SOURce:]LIST:BASE", "[SOURce:]LIST:TRIGgered", "[SOURce:]LIST:COUPle", "[SOURce:]LIST:SHAPe"):
            add(accepted, self._list_edit(lambda a: None))
        add("TRIGger[:STATe]", self._trigger)
        add("TRIGger:STATe", lambda a: "RUNNING" if g.list_running(lab.now) else "OFF", query=True)
        for verb in ("MEASure", "FETCh"):
            add(f"{verb}[:SCALar]:VOLTage:ACDC", lambda a: f"{lab.noisy(lab.voltage.at(lab.now), 0.02):.2f}", query=True)
            add(f"{verb}[:SCALar]:FREQuency", lambda a: f"{lab.noisy(lab.frequency.at(lab.now), 0.0005):.4f}", query=True)
            add(f"{verb}[:SCALar]:CURRent:AC", lambda a: f"{abs(lab.noisy(self._current(), 0.005)):.3f}", query=True)
            add(f"{verb}[:SCALar]:POWer:AC[:REAL]", lambda a: f"{self._power():.1f}", query=True)

    def execute(self, line: str) -> Reply:
        self._report_trip()
        return super().execute(line)

    def _report_trip(self) -> None:
        """A protection trip since the last message goes to the error queue once (the latch stays)."""
        fault = self.lab.grid.fault
        if fault is not None and fault != self._reported_fault:
            self.errors.append((-300, f"Device-specific error;protection tripped, output off: {fault}"))
        self._reported_fault = fault

    def reset(self) -> None:
        """*RST: output, list and protection back to the power-on state; stored settings are kept."""
        g = self.lab.grid
        g.stop_list(self.lab.now)
        g.set_output(self.lab.now, False)
        g.set_relay(self.lab.now, False)
        g.mode = "FIXED"
        g.voltage_slew_per_s = g.frequency_slew_per_s = None
        g.clear_protection()
        g.current_limit_a = MAX_CURRENT_A[self.phase_mode]

    # -- guards ------------------------------------------------------------------------------

    def _list_edit(self, handler: Callable[[list[str]], Reply]) -> Callable[[list[str]], Reply]:
        """A list setting: only in FIXED mode with the list stopped (TRIG OFF, OUTP:MODE FIXED first)."""
        def edit(args: list[str]) -> Reply:
            g = self.lab.grid
            if g.list_running(self.lab.now):
                raise _conflict("the list is running; TRIG OFF and OUTP:MODE FIXED before editing it")
            if g.mode == "LIST":
                raise _conflict("in LIST mode; OUTP:MODE FIXED before editing the list")
            return handler(args)
        return edit

    def _on_charger_phase(self, handler: Callable[[list[str]], None]) -> Callable[[list[str]], None]:
        """A per-phase setting reaches the charger's phase only if coupled to all phases or selected."""
        def set_value(args: list[str]) -> None:
            if self.phase_mode == "THREE" and not self.couple_all and self.selected_phase != CHARGER_PHASE:
                _float(args)  # still parsed and checked; it programs another phase
                return
            handler(args)
        return set_value

    # -- settings ------------------------------------------------------------------------------

    def _volts(self, args: list[str]) -> list[float]:
        values = _floats(args)
        top = RANGE_MAX_V[self.voltage_range]
        if any(not 0.0 <= v <= top for v in values):
            raise ScpiError(-222, "Data out of range")
        return values

    def _hertz(self, args: list[str]) -> list[float]:
        values = _floats(args)
        if any(not FREQUENCY_RANGE_HZ[0] <= f <= FREQUENCY_RANGE_HZ[1] for f in values):
            raise ScpiError(-222, "Data out of range")
        return values

    @staticmethod
    def _degrees(args: list[str]) -> list[float]:
        """Phase jumps per step: -360..360 degrees (the range the Ametek sources' phase commands take)."""
        values = _floats(args)
        if any(not -360.0 <= x <= 360.0 for x in values):
            raise ScpiError(-222, "Data out of range")
        return values

    @staticmethod
    def _slew(args: list[str]) -> float | None:
        per_ms = _float(args)
        if per_ms < 0:
            raise ScpiError(-222, "Data out of range")
        return per_ms * 1000.0 or None

    def _set_voltage(self, args: list[str]) -> None:
        self.lab.grid.set_voltage(self.lab.now, self._volts(args)[0])

    def _set_range(self, args: list[str]) -> None:
        word = _word(args, {"LOW": "LOW", "HIGH": "HIGH", "HI": "HIGH"})
        if self.lab.grid.voltage_setpoint > RANGE_MAX_V[word]:
            raise ScpiError(-222, f"Data out of range;voltage setpoint above the {word} range")
        self.voltage_range = word

    def _set_frequency(self, args: list[str]) -> None:
        self.lab.grid.set_frequency(self.lab.now, self._hertz(args)[0])

    def _set_current_limit(self, args: list[str]) -> None:
        value = _float(args)
        if not 0.0 <= value <= MAX_CURRENT_A[self.phase_mode]:
            raise ScpiError(-222, "Data out of range")
        self.lab.grid.current_limit_a = value

    def _set_ocp_delay(self, args: list[str]) -> None:
        """Over-current trip delay: 0.0-5.0 s, in 0.5 s steps (the 61500 manual's unit)."""
        value = _float(args)
        steps = value / OCP_DELAY_STEP_S
        if not OCP_DELAY_RANGE_S[0] <= value <= OCP_DELAY_RANGE_S[1] or abs(steps - round(steps)) > 1e-9:
            raise ScpiError(-222, "Data out of range")
        self.lab.grid.overcurrent_delay_s = value

    def _shape_setter(self, buffer: str) -> Callable[[list[str]], None]:
        def set_shape(args: list[str]) -> None:
            self.shapes[buffer] = _word(args, SHAPES)
        return set_shape

    def _shape_getter(self, buffer: str) -> Callable[[list[str]], str]:
        return lambda args: self.shapes[buffer]

    def _select_shape(self, args: list[str]) -> None:
        self.shape = _word(args, BUFFERS)

    def _set_voltage_limit(self, args: list[str]) -> None:
        value = _float(args)
        if not 0.0 <= value <= RANGE_MAX_V["HIGH"]:
            raise ScpiError(-222, "Data out of range")
        self.lab.grid.set_voltage_limit(self.lab.now, value)

    def _set_dc_offset(self, args: list[str]) -> None:
        value = _float(args)
        if abs(value) > RANGE_MAX_V[self.voltage_range]:
            raise ScpiError(-222, "Data out of range")
        self.dc_offset_v = value

    def _set_output(self, args: list[str]) -> None:
        problem = self.lab.grid.set_output(self.lab.now, on_off(args))
        if problem:
            raise _conflict(problem)

    def _set_mode(self, args: list[str]) -> None:
        problem = self.lab.grid.set_mode(self.lab.now, _word(args, {"FIXED": "FIXED", "FIX": "FIXED", "LIST": "LIST"}))
        if problem:
            raise _conflict(problem)

    def _set_phase_mode(self, args: list[str]) -> None:
        mode = _word(args, {"SINGLE": "SINGLE", "SING": "SINGLE", "THREE": "THREE"})
        if self.lab.grid.output_on:
            raise _conflict("output is on; turn it off before changing the phase mode")
        self.phase_mode = mode
        g = self.lab.grid
        g.current_limit_a = min(g.current_limit_a, MAX_CURRENT_A[mode])

    def _set_couple(self, args: list[str]) -> None:
        self.couple_all = _word(args, {"ALL": "ALL", "NONE": "NONE"}) == "ALL"

    def _set_phase(self, args: list[str]) -> None:
        phase = int(_float(args))
        if phase not in (1, 2, 3):
            raise ScpiError(-222, "Data out of range")
        self.selected_phase = phase

    def _set_count(self, args: list[str]) -> None:
        count = int(_float(args))
        if count < 1:
            raise illegal_value("count must be at least 1")
        self.lab.grid.program.count = count

    def _trigger(self, args: list[str]) -> None:
        if on_off(args):
            problem = self.lab.grid.trigger(self.lab.now)
            if problem:
                raise _conflict(problem)
        else:
            self.lab.grid.stop_list(self.lab.now)

    # -- status and measurements ------------------------------------------------------------------

    def _questionable(self) -> int:
        fault = self.lab.grid.fault
        return QUESTIONABLE_BITS["OCP"] if fault is not None and fault.startswith("OCP") else 0

    def _measuring_charger_phase(self) -> bool:
        return self.phase_mode == "SINGLE" or self.selected_phase == CHARGER_PHASE

    def _through_s1_a(self) -> complex:
        """The current at the site boundary (``rig.sim.instruments.grid_boundary``) on the phase measured."""
        return through_s1_a(self.lab, on_charger_phase=self._measuring_charger_phase())

    def _current(self) -> float:
        return abs(self._through_s1_a())

    def _power(self) -> float:
        """Real power delivered by the source: negative while the site exports into it."""
        return delivered_power_w(self.lab, self._through_s1_a())
