"""Chroma 61800-series regenerative grid simulator, as the simulated lab serves it.

The command set follows the reference table in shared/reference/instruments.md
(fixed-mode setpoints, slew rates, list mode with per-step dwell in ms and
start/end voltage and frequency, TRIG ON/OFF, MEAS queries). Commands not
confirmed against the vendor's programming manual are marked there; the
simulator and the driver (drivers/grid/chroma_61800.py) agree on them.
"""

from __future__ import annotations

from rig.sim.model import LabModel
from rig.sim.scpi import ScpiError, ScpiInstrument, illegal_value

MAX_VOLTAGE_V = 300.0
FREQUENCY_RANGE_HZ = (15.0, 1500.0)


def _float(args: list[str]) -> float:
    if len(args) != 1:
        raise illegal_value("expected one number")
    return float(args[0])


def _floats(args: list[str]) -> list[float]:
    if not args:
        raise illegal_value("expected a list of numbers")
    return [float(a) for a in args]


def _on_off(args: list[str]) -> bool:
    word = args[0].upper() if len(args) == 1 else ""
    if word in ("ON", "1"):
        return True
    if word in ("OFF", "0"):
        return False
    raise illegal_value("expected ON or OFF")


class Chroma61800(ScpiInstrument):
    idn = "Chroma ATE,61845,SIM-61845-0001,1.00-sim"

    def __init__(self, lab: LabModel) -> None:
        super().__init__()
        self.lab = lab
        g = lab.grid
        add = self.add
        add("[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]:AC", self._set_voltage)
        add("[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]:AC", lambda a: f"{g.voltage_setpoint:.2f}", query=True)
        add("[SOURce:]FREQuency[:IMMediate]", self._set_frequency)
        add("[SOURce:]FREQuency[:IMMediate]", lambda a: f"{g.frequency_setpoint:.3f}", query=True)
        add("[SOURce:]CURRent:LIMit[:RMS]", lambda a: setattr(g, "current_limit_a", _float(a)))
        add("[SOURce:]CURRent:LIMit[:RMS]", lambda a: f"{g.current_limit_a:.2f}", query=True)
        add("OUTPut:SLEW:VOLTage:AC", lambda a: setattr(g, "voltage_slew_per_s", _float(a) * 1000.0 or None))
        add("OUTPut:SLEW:FREQuency", lambda a: setattr(g, "frequency_slew_per_s", _float(a) * 1000.0 or None))
        add("OUTPut[:STATe]", lambda a: g.set_output(lab.now, _on_off(a)))
        add("OUTPut[:STATe]", lambda a: "ON" if g.output_on else "OFF", query=True)
        add("OUTPut:MODE", self._set_mode)
        add("OUTPut:MODE", lambda a: g.mode, query=True)
        add("[SOURce:]LIST:COUNt", self._set_count)
        add("[SOURce:]LIST:DWELl", lambda a: setattr(g.program, "dwell_s", [ms / 1000.0 for ms in _floats(a)]))
        add("[SOURce:]LIST:VOLTage:AC:STARt", lambda a: setattr(g.program, "voltage_start", self._volts(a)))
        add("[SOURce:]LIST:VOLTage:AC:END", lambda a: setattr(g.program, "voltage_end", self._volts(a)))
        add("[SOURce:]LIST:FREQuency:STARt", lambda a: setattr(g.program, "frequency_start", self._hertz(a)))
        add("[SOURce:]LIST:FREQuency:END", lambda a: setattr(g.program, "frequency_end", self._hertz(a)))
        for accepted in ("[SOURce:]LIST:BASE", "[SOURce:]LIST:TRIGgered", "[SOURce:]LIST:COUPle", "[SOURce:]LIST:SHAPe"):
            add(accepted, lambda a: None)
        add("TRIGger[:STATe]", self._trigger)
        add("TRIGger[:STATe]", lambda a: "ON" if g.list_running(lab.now) else "OFF", query=True)
        for verb in ("MEASure", "FETCh"):
            add(f"{verb}[:SCALar]:VOLTage:AC", lambda a: f"{lab.noisy(lab.voltage.at(lab.now), 0.02):.2f}", query=True)
            add(f"{verb}[:SCALar]:FREQuency", lambda a: f"{lab.noisy(lab.frequency.at(lab.now), 0.0005):.4f}", query=True)
            add(f"{verb}[:SCALar]:CURRent:AC", lambda a: f"{abs(lab.noisy(lab.current_rms_at(lab.now), 0.005)):.3f}", query=True)
            add(f"{verb}[:SCALar]:POWer:AC[:REAL]", lambda a: f"{self._power():.1f}", query=True)

    def reset(self) -> None:
        g = self.lab.grid
        g.set_output(self.lab.now, False)
        g.mode = "FIXED"
        g.voltage_slew_per_s = g.frequency_slew_per_s = None

    def _volts(self, args: list[str]) -> list[float]:
        values = _floats(args)
        if any(not 0.0 <= v <= MAX_VOLTAGE_V for v in values):
            raise ScpiError(-222, "Data out of range")
        return values

    def _hertz(self, args: list[str]) -> list[float]:
        values = _floats(args)
        if any(not FREQUENCY_RANGE_HZ[0] <= f <= FREQUENCY_RANGE_HZ[1] for f in values):
            raise ScpiError(-222, "Data out of range")
        return values

    def _set_voltage(self, args: list[str]) -> None:
        self.lab.grid.set_voltage(self.lab.now, self._volts(args)[0])

    def _set_frequency(self, args: list[str]) -> None:
        self.lab.grid.set_frequency(self.lab.now, self._hertz(args)[0])

    def _set_mode(self, args: list[str]) -> None:
        mode = args[0].upper() if args else ""
        if mode not in ("FIXED", "LIST"):
            raise illegal_value("mode must be FIXED or LIST")
        self.lab.grid.mode = mode

    def _set_count(self, args: list[str]) -> None:
        count = int(_float(args))
        if count < 1:
            raise illegal_value("count must be at least 1")
        self.lab.grid.program.count = count

    def _trigger(self, args: list[str]) -> None:
        if _on_off(args):
            problem = self.lab.grid.trigger(self.lab.now)
            if problem:
                raise ScpiError(-221, f"Settings conflict;{problem}")
        else:
            self.lab.grid.stop_list(self.lab.now)

    def _power(self) -> float:
        """Real power delivered by the source: negative while the charger exports into it."""
        lab = self.lab
        p = lab.voltage.at(lab.now) * lab.current_rms_at(lab.now)
        return -p if lab.charger.exports else p
