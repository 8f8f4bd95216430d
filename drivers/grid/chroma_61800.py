"""Chroma 61800 / 61845 regenerative grid simulator (single-phase use by default).

Commands and where they are confirmed (shared/reference/instruments.md,
"Checked against manuals and vendor example code"):

- SunSpec svp_energy_lab ``chroma_61845.py`` (written for a real 61845):
  ``INST:PHAS SINGLE|THREE``, ``INST:COUP ALL``, ``SOUR:CURR:LIM``,
  ``VOLT:RANG``, ``OUTP:SLEW:VOLT:AC``, ``OUTP:SLEW:FREQ``,
  ``OUTP:REL ON`` before ``OUTP:STAT ON`` (it waits 100 ms between them) and
  ``TRIG OFF``, ``OUTP:STAT OFF``, ``OUTP:REL OFF``, ``OUTP:MODE FIXED`` to
  open; the list recipe ``TRIG OFF``, ``OUTP:MODE FIXED``, ``LIST:COUP ALL``,
  ``LIST:COUN``, ``LIST:BASE TIME``, ``LIST:TRIG AUTO``, ``LIST:DWEL`` (ms),
  ``LIST:VOLT:AC:STAR/END``, ``LIST:FREQ:STAR/END``, ``OUTP:MODE LIST``,
  then ``TRIG ON``; ``SYST:ERR?`` as its own message after every setting.
- Chroma 61500/61600 and 6400 manuals (same command family): the header-path
  rules, coupled commands executed at the end of the program message (hence
  the separate ``SYST:ERR?``), ``[SOUR:]CURR:LIM`` as the source's software
  protection, ``STAT:QUES:COND?`` holding OVP, INP, OCP, FAN, SHT, OTP, OPP,
  INT-DD, INT-AD, ``OUTP:PROT:CLE``, ``VOLT:RANG HIGH|LOW``.
- The reference's check of the 61500/61600 manuals: ``TRIG:STATE?`` answering
  ``OFF`` or ``RUNNING``; ``INST:NSEL`` selecting the phase measurements read.

Settings the unit stores between runs (a previous user's value stays in force
until set): set at set-up and read back, so a run never inherits them.

- ``[SOUR:]CURR:DEL`` (61500 manual, SOURCE sub-system,
  https://www.easymanua.ls/chroma/61503/manual?p=94): the over-current
  protection's trip delay, 0.0-5.0 s in 0.5 s steps; option ``ocp_delay_s``
  (default 0.0 s: the source's own protection trips as soon as the current
  exceeds ``SOUR:CURR:LIM``, which is what the rig's current envelope means).
  The manual's ``*RST`` text was not found, so set-up does not rely on ``*RST``.
- ``SOUR:FUNC:SHAP:A SINE`` then ``SOUR:FUNC:SHAP A``: waveform buffer A is a
  sine and the output uses buffer A (SVP ``chroma_61845.py`` sends both at
  set-up on a real 61845; ``FUNCtion:SHAPe``, ``:SHAPe:A``, ``:SHAPe:B`` are in
  the 61500 manual's SOURCE tree, same page). A stored square or clipped wave
  would otherwise be what the charger is tested on.
- ``SOUR:VOLT:LEV:IMM:AMPL:DC 0.0``: no DC offset on the output. The command is
  in the 61500 manual's SOURCE tree (``[SOUR:]VOLT[:LEV][:IMM][:AMPL]:DC``,
  same page); its description (the DC component added to the AC output) and
  its presence on the 61800 are unconfirmed: on a unit without it set-up stops
  with the unit's own error before anything is energised.
- ``SOUR:VOLT:LIM:AC``: an instrument-side cap on the output voltage, the
  bench envelope's ``ac_voltage_v`` maximum (the range's maximum when the
  bench states none or more), so the unit itself holds a wrong setpoint or
  list value below what the bench allows (SVP ``chroma_61845.py``
  ``voltage_max``, 0-300 V; ``VOLTage:LIMit:AC`` in the 61500 SOURCE tree).
  Whether the unit clamps or refuses a setpoint above it is unconfirmed; the
  rig checks every setpoint against the envelope before sending it anyway.

Measurements: ``MEAS:VOLT:ACDC?`` (rms voltage), ``MEAS:CURR:AC?``,
``MEAS:POW:AC?`` and ``MEAS:FREQ?``, as the 61600 manual's FETCH & MEASURE
sub-system lists them (https://www.easymanua.ls/chroma/61604/manual?p=74; it
has no ``MEAS:VOLT:AC?``, which an earlier version of this driver sent);
unconfirmed for the 61800. The sign of ``MEAS:POW:AC?`` while the charger
exports is confirmed by no source: the driver takes negative as "the load
feeds power back" (a regenerative source's convention), and no verdict rests
on that alone: a suite that judges export first sees the charger export
(``rig.suites.g99.procedures.ensure_exporting``: current flowing and power
negative), so a unit that reports power unsigned makes the charger look as if
it charged, and the case an error, never a pass.

Unconfirmed for the 61800 (check before a bench run): the measurement query
forms above; the slew units (V/ms, Hz/ms);
the bit order of ``STAT:QUES:COND?`` (taken as listed in the 61600 manual);
``VOLT:RANG HIGH`` (the 61600 manual) versus ``HI`` (the SVP driver); the
instrument's current maximum (option ``max_current_a``, 150 A: a 45 kVA unit
in single-phase mode on its 300 V range). The family has no power-limit
command in those sources, so power is only watched (``faults``).
``LIST:PHAS:SHIF`` (a phase jump at a list step's start, for vector-shift
cases) is this rig's assumption: no public 61800 source seen here documents a
list-mode phase step. It is sent only for a program with a jump (and, once
sent, with every later list, as zeros), so other cases never depend on it.

Transients run on the instrument itself: the whole list is checked against
the bench envelope transition by transition, then loaded and started by
``TRIG ON``; the instrument's trigger output starts the digitizer.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from drivers.grid.program_envelope import check_change, check_program_steps, current_limit, envelope_slews
from drivers.options import DriverOptions
from drivers.scpi import Measurement, ScpiDriver, Setting, StatusRegister, number, one_of
from rig.core.bench_checks import BenchCheck
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import InstrumentError
from rig.core.identity import InstrumentFamily
from rig.core.roles import GridProgram, GridReading

VOLTAGE_RANGE_V = {"LOW": 150.0, "HIGH": 300.0}
FREQUENCY_LIMITS_HZ = (15.0, 1500.0)
QUESTIONABLE_BITS = (
    (1, "OVP", "output over-voltage protection"), (2, "INP", "line input protection"),
    (4, "OCP", "over-current protection"), (8, "FAN", "fan failure"), (16, "SHT", "output short protection"),
    (32, "OTP", "over-temperature protection"), (64, "OPP", "over-power protection"),
    (128, "INT-DD", "inner DD power stage protection"), (256, "INT-AD", "inner AD power stage protection"),
)
"""``STAT:QUES:COND?`` bits in the order the 61600 manual lists them (unconfirmed for the 61800)."""
OCP_DELAY_STEP_S = 0.5
"""``CURR:DEL`` takes 0.0-5.0 s in steps of 0.5 s (61500 manual)."""
SLEW_COMMAND = {"voltage": "OUTP:SLEW:VOLT:AC", "frequency": "OUTP:SLEW:FREQ"}


class Chroma61800(ScpiDriver):
    """Options: ``phase_mode`` ("single", default, or "three"), ``measure_phase`` (1..3, three-phase
    mode), ``voltage_range`` ("HIGH", default, or "LOW"), ``max_current_a`` (the unit's own maximum),
    ``ocp_delay_s`` (over-current trip delay, 0.0 default)."""

    family = InstrumentFamily("Chroma 61800-series regenerative grid simulator",
                              manufacturer=r"Chroma( ATE)?", model=r"618\d\d")

    voltage = Setting("SOUR:VOLT:LEV:IMM:AMPL:AC {:.2f}", "SOUR:VOLT:LEV:IMM:AMPL:AC?", unit="V",
                      limits=(0.0, 300.0), envelope="ac_voltage_v", doc="Output voltage setpoint, rms (fixed mode).")
    frequency = Setting("SOUR:FREQ {:.3f}", "SOUR:FREQ?", unit="Hz", limits=FREQUENCY_LIMITS_HZ,
                        envelope="ac_frequency_hz", doc="Output frequency setpoint (fixed mode).")
    current_limit = Setting("SOUR:CURR:LIM {:.2f}", "SOUR:CURR:LIM?", unit="A", limits=(0.0, 420.0),
                            envelope="ac_current_a", doc="Rms current limit: the source's own protection.")

    class Options(DriverOptions):
        phase_mode: Literal["single", "three"] = Field("single", description="How its outputs are wired.")
        measure_phase: Literal[1, 2, 3] = Field(1, description="The phase its measurements are read on.")
        voltage_range: Literal["HIGH", "LOW"] = Field("HIGH", description="Output voltage range (either case).")
        max_current_a: float = Field(150.0, gt=0, description="The unit's current rating (A).")
        ocp_delay_s: float = Field(0.0, ge=0.0, le=5.0, description=(
            "Over-current protection trip delay (s, 0.5 s steps); 0 trips as soon as SOUR:CURR:LIM is exceeded."))

        @field_validator("ocp_delay_s")
        @classmethod
        def _on_step(cls, value: float) -> float:
            """The unit takes whole 0.5 s steps: another value would be refused (or rounded) at set-up."""
            if not math.isclose(value / OCP_DELAY_STEP_S, round(value / OCP_DELAY_STEP_S), abs_tol=1e-9):
                raise ValueError(f"{value} s is not a multiple of {OCP_DELAY_STEP_S} s")
            return value

        @field_validator("phase_mode", "voltage_range", mode="before")
        @classmethod
        def _case(cls, value: object, info: ValidationInfo) -> object:
            if not isinstance(value, str):
                return value
            return value.lower() if info.field_name == "phase_mode" else value.upper()

    def __init__(self, resource: str, *, name: str, envelope: EnvelopeGuard | None = None,
                 timeout_ms: int = 5000, options: dict[str, Any] | None = None) -> None:
        o = self.Options.read(name, options)
        self.phase_mode, self.measure_phase = o.phase_mode, o.measure_phase
        self.voltage_range, self.max_current_a = o.voltage_range, o.max_current_a
        self.ocp_delay_s = o.ocp_delay_s
        super().__init__(resource, name=name, envelope=envelope, timeout_ms=timeout_ms, options=options)
        self._forget_state()
        self._phase_list_sent = False
        """A phase-jump list was loaded once: every later list sends its own (zeros), or the old one would run."""

    def _forget_state(self) -> None:
        """What the driver knows it has commanded (None: not known, e.g. before set-up)."""
        self._fixed: dict[str, float | None] = {"voltage": None, "frequency": None}
        self._held: dict[str, float | None] = {"voltage": None, "frequency": None}  # LIST mode: list's end
        self._mode: str | None = None
        self._output_on = False
        self._relay_closed = False
        self._slewed = {"voltage": False, "frequency": False}
        self._list_configured = False

    # -- set-up ---------------------------------------------------------------------------------

    def setup(self) -> None:
        """The rig's known state: list stopped, output off in FIXED mode, phases, range, limits, relay closed.

        The protection's trip delay, the waveform, the DC offset and the voltage
        cap are stored settings: they are set and read back after the current
        limit, or what a previous user left would stay in force (a trip delay of
        up to 5 s, a square wave, a DC offset, no cap or another bench's). The
        relay is closed here, with the output off, so it never switches under
        load and is closed long before the first ``OUTP:STAT ON``.
        """
        limit = self._current_limit_for_envelope()
        self._forget_state()
        self.write("*CLS")
        self.write("TRIG OFF")
        self.write("OUTP:STAT OFF")
        self.write("OUTP:MODE FIXED")
        self._mode = "FIXED"
        if self.phase_mode == "single":
            self.write("INST:PHAS SINGLE")
        else:
            self.write("INST:PHAS THREE")
            self.write("INST:COUP ALL")
            self.write(f"INST:NSEL {self.measure_phase}")
        self.write(f"VOLT:RANG {self.voltage_range}")
        self.current_limit = limit
        self._set_stored("SOUR:CURR:DEL", self.ocp_delay_s)
        self._set_stored("SOUR:FUNC:SHAP:A", "SINE")
        self._set_stored("SOUR:FUNC:SHAP", "A")
        self._set_stored("SOUR:VOLT:LEV:IMM:AMPL:DC", 0.0)
        self._set_stored("SOUR:VOLT:LIM:AC", self._voltage_cap(), decimals=2)
        for name, slew in envelope_slews(self.envelope).items():
            self.write(f"{SLEW_COMMAND[name]} {slew / 1000.0:.6g}")  # per ms
            self._slewed[name] = True
        self.write("OUTP:REL ON")
        self._relay_closed = True

    def _set_stored(self, command: str, value: float | str, *, decimals: int = 1) -> None:
        """Set a setting the unit keeps between runs, then read it back: set-up fails rather than run on another.

        A number is sent with ``decimals`` digits and read back to within the last of them.
        """
        sent = value if isinstance(value, str) else f"{value:.{decimals}f}"
        self.write(f"{command} {sent}")
        reply = self.query(f"{command}?")
        if isinstance(value, str):
            kept = reply.strip().upper() == value
        else:
            kept = math.isclose(float(reply), value, abs_tol=0.5 * 10.0 ** -decimals)
        if not kept:
            raise InstrumentError(self.name, f"{command}?", f"the unit kept {reply}, not the {sent} sent")

    def _current_limit_for_envelope(self) -> float:
        """The bench envelope's current maximum, or the instrument's own when the bench states none."""
        return current_limit(self.envelope, self.max_current_a, instrument=self.name, command="SOUR:CURR:LIM")

    def _voltage_cap(self) -> float:
        """The bench envelope's voltage maximum, within the range's (which is the cap when the bench states none)."""
        top = VOLTAGE_RANGE_V[self.voltage_range]
        limit = self.envelope.maximum("ac_voltage_v") if self.envelope is not None else None
        return top if limit is None else min(limit, top)

    # -- fixed mode -----------------------------------------------------------------------------

    def apply(self, voltage_v: float, frequency_hz: float) -> None:
        """Fixed-mode setpoints, both checked (instrument range, then envelope) before either is sent."""
        self.check_value("voltage", voltage_v, (0.0, VOLTAGE_RANGE_V[self.voltage_range]), "V", None)
        self.check_value("frequency", frequency_hz, FREQUENCY_LIMITS_HZ, "Hz", None)
        new = {"voltage": voltage_v, "frequency": frequency_hz}
        for name in ("voltage", "frequency"):
            self._check_return_to_fixed(name, what=f"{self.name} return to fixed mode")
            self._check_change(name, self._fixed[name], new[name], what=f"{self.name} {name} setpoint")
        leaving_list = self._mode != "FIXED"
        if leaving_list:
            self.write("TRIG OFF")
            self.write("OUTP:MODE FIXED")
            self._mode = "FIXED"
            self._held = {"voltage": None, "frequency": None}
        if leaving_list or self._fixed["frequency"] != frequency_hz:
            self.frequency = frequency_hz
            self._fixed["frequency"] = frequency_hz
        if leaving_list or self._fixed["voltage"] != voltage_v:
            self.voltage = voltage_v
            self._fixed["voltage"] = voltage_v

    def _check_change(self, name: str, old: float | None, new: float, *, what: str) -> None:
        """A fixed-mode change: a ramp at the source's slew (value only), else a step from ``old``."""
        check_change(self.envelope, name, old, new, stepped=self._output_on and not self._slewed[name], what=what)

    def _check_return_to_fixed(self, name: str, *, what: str) -> None:
        """Leaving LIST mode takes the output from the list's last value back to the fixed setpoint."""
        held, fixed = self._held[name], self._fixed[name]
        if self._mode == "LIST" and held is not None and fixed is not None:
            self._check_change(name, held, fixed, what=what)

    def output(self, on: bool) -> None:
        """Output on (closing the output relay first if it is open) or off."""
        if on and not self._relay_closed:
            self.write("OUTP:REL ON")
            self._relay_closed = True
        self.write(f"OUTP:STAT {'ON' if on else 'OFF'}")
        self._output_on = on

    # -- list mode ------------------------------------------------------------------------------

    def check_program(self, program: GridProgram) -> None:
        """Refuse a program any transition of which leaves the bench envelope (nothing is sent).

        The list is loaded in FIXED mode, so a running list first returns to
        the fixed setpoint; from there the program's transitions are
        ``program_envelope.check_program_steps``'s.
        """
        if self.envelope is None:
            return
        what = f"{self.name} list program"
        for name in ("voltage", "frequency"):
            self._check_return_to_fixed(name, what=f"{what}: return to fixed mode")
            check_program_steps(self.envelope, program, name, self._fixed[name], what=what)

    def run_program(self, program: GridProgram) -> None:
        """Load the list the way the manual does (stopped, FIXED mode), then LIST mode and ``TRIG ON``.

        The list's fixed settings (coupling, time base, auto stepping, one
        pass) are sent once after set-up; the arrays every time.
        """
        self.check_program(program)
        for step in program.steps:
            for v in step.voltage_v:
                self.check_value("list voltage", v, (0.0, VOLTAGE_RANGE_V[self.voltage_range]), "V", None)
            for f in step.frequency_hz:
                self.check_value("list frequency", f, FREQUENCY_LIMITS_HZ, "Hz", None)
            self.check_value("list phase jump", step.phase_jump_deg, (-360.0, 360.0), "deg", None)
        steps = program.steps

        def join(values) -> str:
            return ",".join(f"{v:.4f}" for v in values)

        self.write("TRIG OFF")
        self.write("OUTP:MODE FIXED")
        self._mode = "FIXED"
        if not self._list_configured:
            for command in ("LIST:COUP ALL", "LIST:BASE TIME", "LIST:TRIG AUTO", "LIST:COUN 1"):
                self.write(command)
            self._list_configured = True
        self.write("LIST:DWEL " + join(s.dwell_s * 1000.0 for s in steps))
        self.write("LIST:VOLT:AC:STAR " + join(s.voltage_v[0] for s in steps))
        self.write("LIST:VOLT:AC:END " + join(s.voltage_v[1] for s in steps))
        self.write("LIST:FREQ:STAR " + join(s.frequency_hz[0] for s in steps))
        self.write("LIST:FREQ:END " + join(s.frequency_hz[1] for s in steps))
        if self._phase_list_sent or any(s.phase_jump_deg for s in steps):
            self.write("LIST:PHAS:SHIF " + join(s.phase_jump_deg for s in steps))
            self._phase_list_sent = True
        self.write("OUTP:MODE LIST")
        self._mode = "LIST"
        self._held = {"voltage": steps[-1].voltage_v[1], "frequency": steps[-1].frequency_hz[1]}
        self.write("TRIG ON")

    def program_running(self) -> bool:
        """Whether the list is still running (``TRIG:STATE?`` answers ``RUNNING`` or ``OFF``)."""
        return self.query("TRIG:STATE?").strip().upper() == "RUNNING"

    # -- measurements and faults --------------------------------------------------------------------

    current_a = Measurement("MEAS:CURR:AC?", unit="A", what="current", envelope="ac_current_a",
                            doc="RMS output current; above the envelope it ends the case.")
    power_w = Measurement("MEAS:POW:AC?", unit="W", what="power", envelope="ac_power_w",
                          doc="Active power the source delivers (negative while the load feeds power back: the sign "
                              "convention of a regenerative source, unconfirmed for the 61800); its magnitude above "
                              "the envelope ends the case.")
    voltage_v = Measurement("MEAS:VOLT:ACDC?", unit="V", what="voltage", doc="RMS output voltage (AC+DC).")
    frequency_hz = Measurement("MEAS:FREQ?", unit="Hz", what="frequency", doc="Output frequency.")
    status_registers = (StatusRegister("STAT:QUES:COND?", QUESTIONABLE_BITS),)
    watched = ("current_a", "power_w")

    def read(self) -> GridReading:
        return GridReading(voltage_v=self.voltage_v(), frequency_hz=self.frequency_hz(), current_a=self.current_a(),
                           power_w=self.power_w())

    # -- confirmations on the unit (rig bench check) --------------------------------------------------------

    def ratings(self) -> dict[str, tuple[float, float]]:
        return {"ac_voltage_v": (0.0, VOLTAGE_RANGE_V[self.voltage_range]), "ac_frequency_hz": FREQUENCY_LIMITS_HZ,
                "ac_current_a": (0.0, self.max_current_a)}

    def bench_checks(self) -> list[BenchCheck]:
        """The unconfirmed forms it reads (see the module), asked once with nothing energised; the power's sign
        cannot be: it needs a charger exporting."""
        checks = super().bench_checks()
        checks.append(self.confirm_query("the voltage range reads back in the driver's form (HIGH or LOW; SVP's "
                                         "driver sends HI)", "VOLT:RANG?", one_of("HIGH", "LOW")))
        checks += [self.confirm_query(f"the {m.what} measurement query answers a number", m.query, number)
                   for m in map(self.measurement, ("voltage_v", "frequency_hz", "current_a", "power_w"))]
        checks.append(self.confirm_query("the protection status register answers (its bit order needs a trip to "
                                         "confirm)", "STAT:QUES:COND?", number))
        checks.append(self.confirm_query("the over-current trip delay reads back (a stored setting set-up sets)",
                                         "SOUR:CURR:DEL?", number))
        checks.append(self.confirm_query("the list state answers as the driver reads it", "TRIG:STATE?",
                                         one_of("RUNNING", "OFF")))
        checks.append(BenchCheck.needs_energising(
            "the sign of MEAS:POW:AC? while the charger exports",
            "run a G100 export case: the export it measures must match the charger's own report in sign"))
        return checks

    def safe_off(self) -> None:
        """Stop any list, output off, open the output relay, back to fixed mode (the SVP driver's order).

        Last, a latched protection trip is cleared (``OUTP:PROT:CLE``) with
        the output open: the engine has already recorded it (``faults`` runs
        before the safe state), and the next case must start from the known
        state rather than inherit the trip.
        """
        self.write("TRIG OFF")
        self.write("OUTP:STAT OFF")
        self._output_on = False
        self.write("OUTP:REL OFF")
        self._relay_closed = False
        self.write("OUTP:MODE FIXED")
        self._mode = "FIXED"
        self._held = {"voltage": None, "frequency": None}
        self.write("OUTP:PROT:CLE")
