"""Chroma 61800 / 61845 regenerative grid simulator (single-phase use).

Commands from shared/reference/instruments.md: fixed setpoints
(``SOUR:VOLT:LEV:IMM:AMPL:AC``, ``SOUR:FREQ``), ``OUTP:STAT``, list mode
(``OUTP:MODE LIST``, ``LIST:DWEL`` in ms, ``LIST:VOLT:AC:STAR/END``,
``LIST:FREQ:STAR/END``, ``LIST:COUN``, ``TRIG ON``). Not yet confirmed
against the vendor's programming manual: the ``MEAS:...`` query forms and
``TRIG:STAT?``; check them before a bench run.

Transients run on the instrument itself: the whole list is loaded, checked
against the bench envelope as one program, then started by ``TRIG ON``; the
instrument's trigger output starts the digitizer.
"""

from __future__ import annotations

from drivers.scpi import ScpiDriver, Setting
from rig.identity import InstrumentFamily
from rig.roles import GridProgram, GridReading


class Chroma61800(ScpiDriver):
    family = InstrumentFamily("Chroma 61800-series grid simulator", manufacturer=r"Chroma( ATE)?( Inc\.?)?",
                              model=r"618\d\d(-\d+)?")

    voltage = Setting("SOUR:VOLT:LEV:IMM:AMPL:AC {:.2f}", "SOUR:VOLT:LEV:IMM:AMPL:AC?", unit="V",
                      limits=(0.0, 300.0), envelope="ac_voltage_v", doc="Output voltage setpoint, rms (fixed mode).")
    frequency = Setting("SOUR:FREQ {:.3f}", "SOUR:FREQ?", unit="Hz", limits=(15.0, 1500.0),
                        envelope="ac_frequency_hz", doc="Output frequency setpoint (fixed mode).")
    current_limit = Setting("SOUR:CURR:LIM {:.2f}", "SOUR:CURR:LIM?", unit="A", limits=(0.0, 420.0),
                            envelope="ac_current_a", doc="Rms current limit of the source.")

    def apply(self, voltage_v: float, frequency_hz: float) -> None:
        """Fixed-mode setpoints, both checked before either is sent."""
        self.check_value("voltage", voltage_v, (0.0, 300.0), "V", "ac_voltage_v")
        self.check_value("frequency", frequency_hz, (15.0, 1500.0), "Hz", "ac_frequency_hz")
        self.write("OUTP:MODE FIXED")
        self.frequency = frequency_hz
        self.voltage = voltage_v

    def output(self, on: bool) -> None:
        self.write(f"OUTP:STAT {'ON' if on else 'OFF'}")

    def check_program(self, program: GridProgram) -> None:
        """Refuse a program any point or ramp of which leaves the bench envelope (nothing is sent)."""
        if self.envelope is None:
            return
        what = f"{self.name} list program"
        self.envelope.check_profile("ac_voltage_v", program.values("voltage"), what=what)
        self.envelope.check_profile("ac_frequency_hz", program.values("frequency"), what=what)
        for step in program.steps:
            for quantity, (start, end) in (("ac_voltage_slew_v_per_s", step.voltage_v),
                                           ("ac_frequency_slew_hz_per_s", step.frequency_hz)):
                if start != end:
                    self.envelope.check_slew(quantity, (end - start) / step.dwell_s, what=what)

    def run_program(self, program: GridProgram) -> None:
        """Load the list and start it; the trigger output marks t = 0 for the digitizer."""
        self.check_program(program)
        steps = program.steps

        def join(values) -> str:
            return ",".join(f"{v:.4f}" for v in values)

        self.write("OUTP:MODE LIST")
        self.write("LIST:COUP ALL")
        self.write("LIST:BASE TIME")
        self.write("LIST:COUN 1")
        self.write("LIST:DWEL " + join(s.dwell_s * 1000.0 for s in steps))
        self.write("LIST:VOLT:AC:STAR " + join(s.voltage_v[0] for s in steps))
        self.write("LIST:VOLT:AC:END " + join(s.voltage_v[1] for s in steps))
        self.write("LIST:FREQ:STAR " + join(s.frequency_hz[0] for s in steps))
        self.write("LIST:FREQ:END " + join(s.frequency_hz[1] for s in steps))
        self.write("TRIG ON")

    def current_a(self) -> float:
        return float(self.query("MEAS:CURR:AC?"))

    def read(self) -> GridReading:
        return GridReading(
            voltage_v=float(self.query("MEAS:VOLT:AC?")),
            frequency_hz=float(self.query("MEAS:FREQ?")),
            current_a=self.current_a(),
            power_w=float(self.query("MEAS:POW:AC?")),
        )

    def safe_off(self) -> None:
        """Stop any list, open the output, return to fixed mode."""
        self.write("TRIG OFF")
        self.output(False)
        self.write("OUTP:MODE FIXED")
