"""A programmable parallel RLC load for anti-islanding tests, as the simulated lab serves it.

The load sits at the charger's point of connection, behind the grid switch S1
(``rig.sim.island``); the driver is ``drivers/load/rlc_load.py``.

UNCONFIRMED COMMAND SET. Programmable RLC loads for BS EN 62116 / IEEE 1547.1
islanding tests exist (NH Research's 4600 series among them), but no manual
seen for this rig confirms their SCPI commands, so this dialect is the rig's
own small, plausible set, to be checked against the instrument's manual
before a bench run:

- ``*IDN?`` -> ``NH Research,4600,<serial>,<firmware>``; ``SYST:ERR?``; ``*RST``; ``*CLS``;
- ``[SOURce:]NOMinal:VOLTage <V>``, ``[SOURce:]NOMinal:FREQuency <Hz>``: the
  rating point the three branches are stated at;
- ``LOAD:RESistance:POWer <W>``: R as the active power it takes at the
  nominal voltage; ``LOAD:INDuctance:REACtive <var>``,
  ``LOAD:CAPacitance:REACtive <var>``: L and C as the reactive power each
  takes at the nominal voltage and frequency (each also as a query);
- ``INPut[:STATe] ON|OFF`` (and ``INPut?``).

What the simulator enforces: a branch beyond its rating
(``MAX_ACTIVE_W``, ``MAX_REACTIVE_VAR``) or a negative one is a -222 Data
out of range; ``INP ON`` before both nominal values were set is a -221
Settings conflict, as is changing the nominal values while the input is on
(the branches would jump). Branches may change while the input is on: that
is how a load is trimmed to balance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from rig.sim.island import RlcLoad
from rig.sim.model import LabModel
from rig.sim.wire.scpi_server import ScpiError, ScpiInstrument, illegal_value, on_off

MAX_ACTIVE_W = 12000.0
MAX_REACTIVE_VAR = 12000.0
NOMINAL_VOLTAGE_RANGE_V = (100.0, 300.0)
NOMINAL_FREQUENCY_RANGE_HZ = (45.0, 65.0)


def _number(args: list[str], low: float, high: float) -> float:
    if len(args) != 1:
        raise illegal_value("expected one number")
    value = float(args[0])
    if not low <= value <= high:
        raise ScpiError(-222, "Data out of range")
    return value


class RlcLoadInstrument(ScpiInstrument):
    idn = "NH Research,4600,SIM-4600-0001,1.00-sim"

    def __init__(self, lab: LabModel) -> None:
        super().__init__()
        self.lab = lab
        self._nominal: dict[str, float | None] = {"voltage": None, "frequency": None}
        add = self.add
        add("[SOURce:]NOMinal:VOLTage", lambda a: self._set_nominal("voltage", a, NOMINAL_VOLTAGE_RANGE_V))
        add("[SOURce:]NOMinal:VOLTage", lambda a: self._nominal_text("voltage"), query=True)
        add("[SOURce:]NOMinal:FREQuency", lambda a: self._set_nominal("frequency", a, NOMINAL_FREQUENCY_RANGE_HZ))
        add("[SOURce:]NOMinal:FREQuency", lambda a: self._nominal_text("frequency"), query=True)
        for header, field, top in (("LOAD:RESistance:POWer", "resistive_w", MAX_ACTIVE_W),
                                   ("LOAD:INDuctance:REACtive", "inductive_var", MAX_REACTIVE_VAR),
                                   ("LOAD:CAPacitance:REACtive", "capacitive_var", MAX_REACTIVE_VAR)):
            add(header, self._branch_setter(field, top))
            add(header, self._branch_getter(field), query=True)
        add("INPut[:STATe]", self._set_input)
        add("INPut[:STATe]", lambda a: "ON" if self.lab.island.load.on else "OFF", query=True)

    def reset(self) -> None:
        island = self.lab.island
        island.set_load(self.lab.now, replace(island.load, on=False, resistive_w=0.0, inductive_var=0.0,
                                              capacitive_var=0.0))
        self._nominal = {"voltage": None, "frequency": None}

    def _branch_setter(self, field: str, top: float) -> Callable[[list[str]], None]:
        return lambda args: self._set_branch(field, _number(args, 0.0, top))

    def _branch_getter(self, field: str) -> Callable[[list[str]], str]:
        return lambda args: f"{getattr(self.lab.island.load, field):.2f}"

    def _nominal_text(self, which: str) -> str:
        value = self._nominal[which]
        return "0" if value is None else f"{value:.3f}"

    def _set_nominal(self, which: str, args: list[str], limits: tuple[float, float]) -> None:
        value = _number(args, *limits)
        if self.lab.island.load.on:
            raise ScpiError(-221, "Settings conflict;input is on: turn it off before changing the nominal values")
        self._nominal[which] = value
        load = self.lab.island.load
        changed = (replace(load, nominal_voltage_v=value) if which == "voltage"
                   else replace(load, nominal_frequency_hz=value))
        self.lab.island.set_load(self.lab.now, changed)

    def _set_branch(self, field: str, value: float) -> None:
        load = self.lab.island.load
        changed = {"resistive_w": replace(load, resistive_w=value), "inductive_var": replace(load, inductive_var=value),
                   "capacitive_var": replace(load, capacitive_var=value)}[field]
        self.lab.island.set_load(self.lab.now, changed)

    def _set_input(self, args: list[str]) -> None:
        on = on_off(args)
        if on and None in self._nominal.values():
            raise ScpiError(-221, "Settings conflict;set NOM:VOLT and NOM:FREQ before turning the input on")
        self.lab.island.set_load(self.lab.now, replace(self.lab.island.load, on=on))
