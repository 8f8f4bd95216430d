"""Ametek / California Instruments MX and RS series AC source (single-phase use).

Sources, per command (the simulated twin is ``rig/sim/instruments/ametek_cimx_dialect.py``):

- **MX** = BPS / MX / RS Series SCPI Programming Manual, P/N 7003-961 Rev AA (azmanual.top/manuals/754190,
  manualsdir.com/manuals/754190; the family this driver is for).
- **SVP** = sunspec/svp_energy_lab ``Lib/svpelab/gridsim_ametek.py`` (code that drove a real Ametek source).
- **SEQ** = Ametek Sequoia Series manual (easymanua.ls/ametek/sequoia-series/manual/895864), **LX** = Lx/Ls
  Series II programming manual: the same California Instruments SCPI tree; a command confirmed only there is
  *unconfirmed on the MX* and ``bench_checks()`` asks the unit about it with nothing energised.

| command | source |
| --- | --- |
| ``*IDN?`` (``CALIFORNIA INSTRUMENTS,MX45-3, 12345, Rev 4.0``), ``*CLS`` | MX 5.4 p.134 |
| ``ABOR``, ``INIT``, ``TRIG:TRAN:SOUR IMM``, ``TRIG:SYNC:SOUR IMM``, ``LIST:STEP AUTO``, ``LIST:COUN 1`` | SVP ``profile_load`` |
| ``VOLT:MODE``, ``FREQ:MODE``, ``VOLT:SLEW:MODE``, ``FREQ:SLEW:MODE``, ``FUNC:MODE`` (FIX / LIST) | SVP (LIST); MX 6.4.1 p.149 (FIXED / LIST modes) |
| ``PHAS:MODE LIST``, ``LIST:PHAS`` (absolute angle per point) | SEQ 4.23 p.101, LX 4.20: unconfirmed on the MX |
| ``LIST:DWEL`` (s), ``LIST:VOLT``, ``LIST:VOLT:SLEW`` (V/s, ``MAX``), ``LIST:FREQ``, ``LIST:FREQ:SLEW`` (Hz/s), ``LIST:REP`` | SVP; MX 6.4.3 p.151 (32 points, dwell in s); SEQ 4.21 (dwell 0.001-9E4 s) |
| ``TRIG:STAT?`` (IDLE, ARM, BUSY, WTRIG) | MX p.130 |
| ``OUTP:TTLT:STAT ON``, ``OUTP:TTLT:SOUR BOT`` (pulse on the function strobe / Trigger Output BNC at the transient's beginning) | SEQ p.72; RS user manual 3.6.3 (the BNCs): unconfirmed on the MX |
| ``OUTP ON/OFF`` (output relay) | SVP ``relay`` |
| ``VOLT:AC``, ``FREQ``, ``PHAS 0``, ``FUNC SIN``, ``VOLT:RANG 150/300``, ``CURR`` | SVP ``config`` |
| ``VOLT:SLEW``, ``FREQ:SLEW`` (fixed-mode slew, V/s, Hz/s or ``MAX``) | SEQ / LX SOURCE trees: unconfirmed on the MX |
| ``CURR:PROT:STAT ON``, ``CURR:PROT:DEL`` (0.1-5 s; *RST 0.1 s) | MX p.80 |
| ``STAT:QUES:EVEN?`` (VF 1, CF 2, OT 8, RI 512; read clears), ``OUTP:PROT:CLE`` | MX p.115; BPS user manual (RI latch) |
| ``MEAS:VOLT:AC?``, ``MEAS:CURR:AC?``, ``MEAS:POW:AC?``, ``MEAS:FREQ?`` | shared/reference/instruments.md: unconfirmed (MX 4.5 read only for its array forms) |
| ``SYST:ERR?`` after every setting, as its own message | SVP ``cmd`` |

How a transient runs on this family (MX 6.4): each function (voltage, frequency, phase) has a mode, FIX or
LIST; a list point is a *target* reached at the point's *slew rate* and held for the rest of its dwell, so
a ramp is a point whose slew spans its dwell and a step is a point at slew ``MAX``. The list is loaded with
the transient system idle (``ABOR``), started by ``INIT`` (trigger source immediate), and the trigger output,
set at set-up to pulse at the beginning of the transient, starts the digitizer (its EXT input). After the
list the output keeps the last point's values; ``apply`` returns every function to FIX and sends its
setpoints again, so the fixed values are what the driver set whatever the unit does on that change (the
manual's text and its figure 6-1 disagree on it).

What this family cannot run is refused before anything is sent: a program step that *jumps* to a value and
then ramps from it (a point ramps from where the output is; the jump would need a point of its own and shift
the timing), more than 32 points, a dwell outside 0.001-9E4 s. A phase jump is a point whose phase-list angle
differs from the one before: the program's jumps are accumulated from the angle set-up sets (0) and kept
within +-360 (the range ``PHAS`` takes). ``LIST:PHAS`` is sent only for a program with a jump (``PHAS:MODE
LIST``); other programs leave phase in FIX, so they never depend on the unconfirmed phase list.

Not sent: ``REG:STAT`` (SVP turns on a regenerative option with it; absorbing the charger's export needs the
unit's regenerative option configured on the unit: unconfirmed here), three-phase set-up (``INST:COUP``,
``INST:NSEL``): this driver is for a unit configured for single-phase output.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field

from drivers.grid.program_envelope import check_change, check_program, current_limit, envelope_slews
from drivers.options import DriverOptions
from drivers.scpi import Measurement, ScpiDriver, StatusRegister, number, one_of
from rig.config.envelope import EnvelopeGuard
from rig.core.bench_checks import BenchCheck
from rig.core.errors import InstrumentError
from rig.core.identity import InstrumentFamily
from rig.core.roles import GridProgram, GridReading, GridStep

FREQUENCY_LIMITS_HZ = (16.0, 1000.0)
"""The output frequency range taken as the unit's (unconfirmed for the MX: check the unit's specification)."""
DWELL_LIMITS_S = (0.001, 9.0e4)
MAX_LIST_POINTS = 32
QUESTIONABLE_BITS = ((1, "VF", "over or under voltage protection tripped"), (2, "CF", "over-current protection tripped"),
                     (8, "OT", "over-temperature protection tripped"), (512, "RI", "remote inhibit active"))
"""``STAT:QUES`` bits that mean a protection acted (MX p.115); CL (4096, rms current limit active) is a state."""
SAME = 1e-9
"""Two list values closer than this are the same value (V or Hz)."""


def _joined(values: list[float], digits: int) -> str:
    return ",".join(f"{v:.{digits}f}" for v in values)


def _slews(values: list[float | None]) -> str:
    return ",".join("MAX" if v is None else f"{v:.9g}" for v in values)


class AmetekCiMx(ScpiDriver):
    """Options: ``voltage_range`` (150 or 300 V, default 300), ``max_current_a`` (the unit's rms current
    rating), ``ocp_delay_s`` (over-current protection delay, 0.1-5 s, default 0.1: the manual's *RST value)."""

    family = InstrumentFamily("Ametek / California Instruments MX, RS or BPS series AC source",
                              manufacturer=r"(AMETEK )?CALIFORNIA INSTRUMENTS", model=r"(MX|RS|BPS)\d+.*")

    class Options(DriverOptions):
        voltage_range: Literal[150, 300] = Field(300, description="Output voltage range (V rms).")
        max_current_a: float = Field(125.0, gt=0, description="The unit's rms current rating (A).")
        ocp_delay_s: float = Field(0.1, ge=0.1, le=5.0, description=(
            "Over-current protection delay (s): the current above CURR this long turns the output off."))

    def __init__(self, resource: str, *, name: str, envelope: EnvelopeGuard | None = None,
                 timeout_ms: int = 5000, options: dict[str, Any] | None = None) -> None:
        o = self.Options.read(name, options)
        self.voltage_range, self.max_current_a, self.ocp_delay_s = o.voltage_range, o.max_current_a, o.ocp_delay_s
        super().__init__(resource, name=name, envelope=envelope, timeout_ms=timeout_ms, options=options)
        self._forget_state()

    def _forget_state(self) -> None:
        """What the driver knows it has commanded (None: not known, e.g. before set-up)."""
        self._fixed: dict[str, float | None] = {"voltage": None, "frequency": None}
        self._held: dict[str, float | None] = {"voltage": None, "frequency": None}  # after a list: its last point
        self._in_list = False
        self._phase_list = False
        self._slew_modes_list = False
        self._output_on = False
        self._slewed = {"voltage": False, "frequency": False}
        self._phase_deg = 0.0

    # -- set-up ---------------------------------------------------------------------------------

    def setup(self) -> None:
        """The rig's known state: transient system idle, output off, every function FIX, range, sine at phase 0,
        current limit and protection from the envelope, fixed slews, trigger output and transient trigger.

        Everything here is a setting the unit keeps between runs: a previous user's slow slew, list repeats,
        square wave, protection off or trigger output off would otherwise stay in force.
        """
        limit = self._current_limit_for_envelope()
        self._forget_state()
        for command in ("*CLS", "ABOR", "OUTP OFF", "VOLT:MODE FIX", "FREQ:MODE FIX", "PHAS:MODE FIX", "FUNC:MODE FIX",
                        "VOLT:SLEW:MODE FIX", "FREQ:SLEW:MODE FIX", f"VOLT:RANG {self.voltage_range}", "FUNC SIN",
                        "PHAS 0.0", f"CURR {limit:.2f}"):
            self.write(command)
        self._set_stored("CURR:PROT:STAT", "ON", "1")
        self._set_stored("CURR:PROT:DEL", f"{self.ocp_delay_s:.2f}", None)
        for name, command in (("voltage", "VOLT:SLEW"), ("frequency", "FREQ:SLEW")):
            slew = envelope_slews(self.envelope).get(name)
            self.write(f"{command} {'MAX' if slew is None else f'{slew:.6g}'}")
            self._slewed[name] = slew is not None
        for command in ("OUTP:TTLT:STAT ON", "OUTP:TTLT:SOUR BOT", "TRIG:TRAN:SOUR IMM", "TRIG:SYNC:SOUR IMM",
                        "LIST:STEP AUTO", "LIST:COUN 1"):
            self.write(command)

    def _set_stored(self, command: str, sent: str, expected: str | None) -> None:
        """Set a stored setting and read it back (``expected`` the reply's form; None: a number equal to the sent
        one to its last digit)."""
        self.write(f"{command} {sent}")
        reply = self.query(f"{command}?")
        try:
            kept = reply.strip() == expected if expected is not None else math.isclose(
                float(reply), float(sent), abs_tol=0.5 * 10.0 ** -len(sent.partition(".")[2]))
        except ValueError:
            kept = False
        if not kept:
            raise InstrumentError(self.name, f"{command}?", f"the unit kept {reply}, not the {sent} sent")

    def _current_limit_for_envelope(self) -> float:
        return current_limit(self.envelope, self.max_current_a, instrument=self.name, command="CURR")

    # -- fixed mode -----------------------------------------------------------------------------

    def apply(self, voltage_v: float, frequency_hz: float) -> None:
        """Fixed setpoints (after a list: every function back to FIX and both sent again), all checked first."""
        self.check_value("voltage", voltage_v, (0.0, float(self.voltage_range)), "V", None)
        self.check_value("frequency", frequency_hz, FREQUENCY_LIMITS_HZ, "Hz", None)
        new = {"voltage": voltage_v, "frequency": frequency_hz}
        for name in ("voltage", "frequency"):
            if self._in_list:
                self._check_change(name, self._held[name], self._fixed[name], what=f"{self.name} return to fixed mode")
            self._check_change(name, self._fixed[name], new[name], what=f"{self.name} {name} setpoint")
        leaving_list = self._in_list
        if leaving_list:
            self.write("ABOR")
            for command in ("VOLT:MODE FIX", "FREQ:MODE FIX", *(("PHAS:MODE FIX",) if self._phase_list else ())):
                self.write(command)
            self._in_list = self._phase_list = False
            self._held = {"voltage": None, "frequency": None}
        if leaving_list or self._fixed["frequency"] != frequency_hz:
            self.write(f"FREQ {frequency_hz:.3f}")
            self._fixed["frequency"] = frequency_hz
        if leaving_list or self._fixed["voltage"] != voltage_v:
            self.write(f"VOLT:AC {voltage_v:.2f}")
            self._fixed["voltage"] = voltage_v

    def _check_change(self, name: str, old: float | None, new: float | None, *, what: str) -> None:
        """A change at the terminals: a ramp at the fixed slew (value only), else a step from ``old``."""
        check_change(self.envelope, name, old, new, stepped=self._output_on and not self._slewed[name], what=what)

    def output(self, on: bool) -> None:
        """Output relay closed and on, or off."""
        self.write(f"OUTP {'ON' if on else 'OFF'}")
        self._output_on = on

    # -- list mode ------------------------------------------------------------------------------

    def _starting_point(self) -> dict[str, float | None]:
        """Where the output is when a list starts: a previous list's last point, else the fixed setpoints."""
        return dict(self._held) if self._in_list else dict(self._fixed)

    def check_program(self, program: GridProgram) -> None:
        """Refuse a program any transition of which leaves the bench envelope (nothing is sent), from where the
        output is (``_starting_point``: a list starts from a previous list's last point, not the fixed setpoints):
        ``program_envelope.check_program_steps``."""
        check_program(self.envelope, program, self._starting_point(), what=f"{self.name} list program")

    def list_points(self, program: GridProgram) -> dict[str, list[Any]]:
        """The program as this family's list: per point its dwell, voltage and frequency targets with their
        slews (None: ``MAX``, a step) and phase angle. Refuses (``InstrumentError``, nothing sent) what the
        family cannot run exactly."""
        steps = program.steps
        if not 1 <= len(steps) <= MAX_LIST_POINTS:
            raise InstrumentError(self.name, "list program", f"{len(steps)} steps: the unit's list holds 1 to "
                                                             f"{MAX_LIST_POINTS} points")
        at = self._starting_point()
        points: dict[str, list[Any]] = {"dwell": [], "voltage": [], "voltage_slew": [], "frequency": [],
                                        "frequency_slew": [], "phase": []}
        angle = self._phase_deg
        for k, step in enumerate(steps, start=1):
            self._check_step_values(k, step)
            points["dwell"].append(step.dwell_s)
            for name, (start, end) in (("voltage", step.voltage_v), ("frequency", step.frequency_hz)):
                jumps = at[name] is None or abs(start - at[name]) > SAME  # type: ignore[operator]
                ramps = abs(end - start) > SAME
                if jumps and ramps:
                    raise InstrumentError(self.name, "list program", (
                        f"step {k} steps the {name} to {start:g} and then ramps it to {end:g}: a list point ramps "
                        "from where the output is, so this family cannot run it without a point of its own "
                        "(which would shift the program's timing)"))
                points[name].append(end)
                points[f"{name}_slew"].append(abs(end - start) / step.dwell_s if ramps else None)
                at[name] = end
            angle = self._wrapped(angle + step.phase_jump_deg)
            points["phase"].append(angle)
        return points

    def _check_step_values(self, k: int, step: GridStep) -> None:
        what = f"list step {k}"
        self.check_value(f"{what} dwell", step.dwell_s, DWELL_LIMITS_S, "s", None)
        for v in step.voltage_v:
            self.check_value(f"{what} voltage", v, (0.0, float(self.voltage_range)), "V", None)
        for f in step.frequency_hz:
            self.check_value(f"{what} frequency", f, FREQUENCY_LIMITS_HZ, "Hz", None)
        self.check_value(f"{what} phase jump", step.phase_jump_deg, (-360.0, 360.0), "deg", None)

    @staticmethod
    def _wrapped(angle: float) -> float:
        """An accumulated phase angle within +-360 (the range PHAS and the phase list take)."""
        while angle > 360.0:
            angle -= 360.0
        while angle < -360.0:
            angle += 360.0
        return angle

    def run_program(self, program: GridProgram) -> None:
        """Load the list with the transient system idle (``ABOR``), each function in LIST, then ``INIT``: the
        list starts at once and the trigger output pulses at its beginning."""
        self.check_program(program)
        points = self.list_points(program)
        with_phase = any(step.phase_jump_deg for step in program.steps)
        self.write("ABOR")
        self.write("VOLT:MODE LIST")
        self.write("FREQ:MODE LIST")
        if not self._slew_modes_list:
            self.write("VOLT:SLEW:MODE LIST")
            self.write("FREQ:SLEW:MODE LIST")
            self._slew_modes_list = True
        if with_phase != self._phase_list:
            self.write(f"PHAS:MODE {'LIST' if with_phase else 'FIX'}")
        self._in_list, self._phase_list = True, with_phase
        self.write("LIST:DWEL " + ",".join(f"{d:.9g}" for d in points["dwell"]))
        self.write("LIST:VOLT " + _joined(points["voltage"], 3))
        self.write("LIST:VOLT:SLEW " + _slews(points["voltage_slew"]))
        self.write("LIST:FREQ " + _joined(points["frequency"], 4))
        self.write("LIST:FREQ:SLEW " + _slews(points["frequency_slew"]))
        self.write("LIST:REP " + ",".join("0" for _ in points["dwell"]))
        if with_phase:
            self.write("LIST:PHAS " + _joined(points["phase"], 2))
        self._held = {"voltage": points["voltage"][-1], "frequency": points["frequency"][-1]}
        self.write("INIT")
        if with_phase:
            self._phase_deg = points["phase"][-1]

    def program_running(self) -> bool:
        """Whether the transient is still in progress (``TRIG:STAT?``: BUSY, ARM or WTRIG; IDLE when done)."""
        state = self.query("TRIG:STAT?").strip().upper()
        if state not in ("IDLE", "ARM", "BUSY", "WTRIG"):
            raise InstrumentError(self.name, "TRIG:STAT?", f"unexpected transient state {state!r} (IDLE, ARM, BUSY "
                                                           "or WTRIG)")
        return state != "IDLE"

    # -- measurements and faults --------------------------------------------------------------------

    current_a = Measurement("MEAS:CURR:AC?", unit="A", what="current", envelope="ac_current_a",
                            doc="RMS output current; above the envelope it ends the case.")
    power_w = Measurement("MEAS:POW:AC?", unit="W", what="power", envelope="ac_power_w",
                          doc="Active power the source delivers (negative while the load feeds power back: "
                              "unconfirmed for this family); its magnitude above the envelope ends the case.")
    voltage_v = Measurement("MEAS:VOLT:AC?", unit="V", what="voltage", doc="RMS output voltage.")
    frequency_hz = Measurement("MEAS:FREQ?", unit="Hz", what="frequency", doc="Output frequency.")
    status_registers = (StatusRegister("STAT:QUES:EVEN?", QUESTIONABLE_BITS),)
    """The event register, latched: an over-current trip's CF condition clears once the output is off (MX p.80),
    so the condition register read after a case could miss it."""
    watched = ("current_a", "power_w")

    def read(self) -> GridReading:
        return GridReading(voltage_v=self.voltage_v(), frequency_hz=self.frequency_hz(), current_a=self.current_a(),
                           power_w=self.power_w())

    # -- confirmations on the unit (rig bench check) --------------------------------------------------------

    def ratings(self) -> dict[str, tuple[float, float]]:
        return {"ac_voltage_v": (0.0, float(self.voltage_range)), "ac_frequency_hz": FREQUENCY_LIMITS_HZ,
                "ac_current_a": (0.0, self.max_current_a)}

    def bench_checks(self) -> list[BenchCheck]:
        """The commands confirmed only in sibling manuals or not at all, asked with nothing energised (the two
        settings, the trigger output's source and the fixed phase mode, are set as set-up sets them and read back:
        the unit may be in any state its last user left)."""
        checks = super().bench_checks()
        checks.append(self.confirm_setting("the trigger output pulses at the transient's beginning (OUTP:TTLT:SOUR, "
                                           "Sequoia manual)", "OUTP:TTLT:SOUR BOT", "OUTP:TTLT:SOUR?", one_of("BOT")))
        checks.append(self.confirm_query("the unit has a phase list (LIST:PHAS, Sequoia / Lx manuals)",
                                         "LIST:PHAS:POIN?", number))
        checks.append(self.confirm_setting("the phase mode is set and answers (PHAS:MODE)", "PHAS:MODE FIX", "PHAS:MODE?",
                                           one_of("FIX", "FIXED")))
        checks.append(self.confirm_query("the fixed voltage slew answers (VOLT:SLEW)", "VOLT:SLEW?", number))
        checks += [self.confirm_query(f"the {m.what} measurement query answers a number", m.query, number)
                   for m in map(self.measurement, ("voltage_v", "frequency_hz", "current_a", "power_w"))]
        checks.append(self.confirm_query("the transient state answers as the driver reads it", "TRIG:STAT?",
                                         one_of("IDLE", "ARM", "BUSY", "WTRIG")))
        checks.append(BenchCheck.needs_energising(
            "the trigger output reaches the digitizer's EXT input at the list's start",
            "run one trip-time case: the capture must show the disturbance starting at t = 0"))
        checks.append(BenchCheck.needs_energising(
            "the sign of MEAS:POW:AC? while the charger exports",
            "run a G100 export case: the export it measures must match the charger's own report in sign"))
        return checks

    def safe_off(self) -> None:
        """Stop any transient, output off (relay open), every function back to FIX, then clear a latched
        protection trip (the engine has recorded it: ``faults`` runs before the safe state)."""
        self.write("ABOR")
        self.write("OUTP OFF")
        self._output_on = False
        for command in ("VOLT:MODE FIX", "FREQ:MODE FIX", "PHAS:MODE FIX"):
            self.write(command)
        self._in_list = self._phase_list = False
        self._held = {"voltage": None, "frequency": None}
        self.write("OUTP:PROT:CLE")
