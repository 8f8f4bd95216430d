"""A Moxa ioLogik E1212 Modbus TCP digital I/O module, as the simulated lab serves it.

The rig's digital I/O (``drivers/dio/modbus_dio.py``) reaches it exactly as it
reaches a real module: Modbus TCP on a socket (``modbus-tcp://127.0.0.1:<port>``),
through pymodbus. Its channels are wired to the lab's CHAdeMO contact lines
(``rig.sim.connector``): the charger's lines to its inputs, its outputs to the
vehicle's lines, so the simulated charger sees what the rig drives and the rig
reads what the charger drives, each edge at the lab time of the request.

The register layout is the E1212's default Modbus/TCP map (ioLogik E1200
series user's manual, appendix "Modbus/TCP Default Address Mappings"):

- 8 digital outputs as coils 0x0000..0x0007 (functions 1, 5, 15);
- 16 digital inputs as discrete inputs 0x0000..0x000F (function 2).

The rest of the E1212 map (pulse and counter controls, registers) is not
simulated: a coil request beyond the eight outputs, or a discrete-input request
beyond the sixteen inputs, is answered "illegal data address". Identity is
Modbus Read Device Identification (0x2B/0x0E, basic objects: VendorName,
ProductCode, MajorMinorRevision). That a real E1212 answers 0x2B is not
confirmed by the manual pages checked (they list functions 1-6, 15 and 16 and
give the model name in input registers from 5000).

Every request is handled under the lab's lock after the lab was brought up to
its present time, like the SCPI instruments (``rig.sim.scpi``), by the lab's
Modbus TCP server (``rig.sim.modbus_server``).
"""

from __future__ import annotations

from collections.abc import Sequence

from pymodbus.constants import ExcCodes
from pymodbus.simulator import SimData
from pymodbus.simulator.simutils import DataType, SimUtils

from rig.sim.connector import Side
from rig.sim.model import LabModel

IDENTITY = {"VendorName": "Moxa", "ProductCode": "E1212", "MajorMinorRevision": "3.2"}
"""What it answers to Read Device Identification."""
DIGITAL_OUTPUTS = 8
DIGITAL_INPUTS = 16
INPUT_WIRING = {0: "d1", 1: "d2", 2: "connector_lock"}
"""Discrete input -> the charger's contact line it reads (``fixtures/benches/sim.yaml`` names the same)."""
OUTPUT_WIRING = {0: "k", 1: "proximity", 2: "contactor", 3: "estop"}
"""Coil -> the vehicle line it drives."""
SITE_WIRING = {5: "load_a", 6: "load_b", 7: "ct_break"}
"""Coil -> the site line it switches (``rig.sim.site``: household load banks, the boundary CT's lead; G100)."""

ISLAND_WIRING = {4: "grid_switch"}
"""Coil -> the grid switch S1 it drives (``rig.sim.island``): energised, S1 opens (the charger is islanded);
de-energised, it closes, so the module's safe state (every output off) leaves the charger grid-tied."""



def wiring_mismatches(options: dict) -> list[tuple[tuple[str | int, ...], str]]:
    """Where a bench file's dio lines disagree with how the simulated module is wired: (location under the
    entry's ``options``, why). A line on another channel than the lab's would drive or read something else
    than its name says (a load bank for the grid switch), so the simulated lab refuses the bench instead."""
    outputs = {**OUTPUT_WIRING, **SITE_WIRING, **ISLAND_WIRING}
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for kind, wiring in (("outputs", outputs), ("inputs", INPUT_WIRING)):
        lines = options.get(kind) or {}
        for line, channel in lines.items():
            if wiring.get(channel) != line:
                where = [ch for ch, name in wiring.items() if name == line]
                found = f"wires {line!r} to {kind[:-1]} {where[0]}, not {channel}" if where \
                    else f"has no {kind[:-1]} {line!r}"
                known = ", ".join(f"{name} {ch}" for ch, name in sorted(wiring.items()))
                problems.append(((kind, line), f"the simulated module {found} (its wiring: {known})"))
    return problems


READ_COILS, READ_DISCRETE_INPUTS, WRITE_COIL, WRITE_COILS = 1, 2, 5, 15


class MoxaE1212:
    """The module's channels: outputs it holds, inputs wired to the lab's contact lines."""

    def __init__(self, lab: LabModel) -> None:
        self.lab = lab
        self.coils = [False] * DIGITAL_OUTPUTS

    def inputs(self) -> list[bool]:
        """Every input channel now (an unwired one reads open)."""
        return [self.lab.connector.value(INPUT_WIRING[ch]) if ch in INPUT_WIRING else False
                for ch in range(DIGITAL_INPUTS)]

    def write_coils(self, first: int, values: Sequence[bool]) -> None:
        """Drive outputs from ``first`` on: each wired one moves its line at the lab's present time."""
        for ch, value in enumerate(values, start=first):
            self.coils[ch] = bool(value)
            if ch in OUTPUT_WIRING:
                self.lab.connector.drive(self.lab.now, OUTPUT_WIRING[ch], bool(value), by=Side.VEHICLE)
            elif ch in SITE_WIRING:
                self.lab.site.switch(self.lab.now, SITE_WIRING[ch], bool(value))
            elif ch in ISLAND_WIRING:
                self.lab.island.command_switch(self.lab.now, bool(value))

    def handle(self, function_code: int, address: int, values: Sequence[bool] | None) -> list[bool] | None:
        """The channels a request addresses from 0, after a write; None if it addresses none of them."""
        if function_code == READ_DISCRETE_INPUTS:
            return self.inputs() if address < DIGITAL_INPUTS else None
        if address >= DIGITAL_OUTPUTS or (values is not None and address + len(values) > DIGITAL_OUTPUTS):
            return None
        if values is not None:
            self.write_coils(address, values)
        return self.coils

    def simdata(self) -> tuple[list[SimData], list[SimData], list[SimData], list[SimData]]:
        """Its blocks as pymodbus lays them out: coils, discrete inputs (no registers)."""
        bits = DataType.BITS
        return ([SimData(0, count=DIGITAL_OUTPUTS, values=False, datatype=bits)],
                [SimData(0, count=DIGITAL_INPUTS, values=False, datatype=bits)],
                [SimData(0, datatype=DataType.INVALID)], [SimData(0, datatype=DataType.INVALID)])

    def request(self, function_code: int, address: int, values: list[int] | list[bool] | None) -> list[int] | ExcCodes:
        """The addressed block's registers after the request (its bits sixteen to a register), or a refusal."""
        channels = self.handle(function_code, address, None if values is None else [bool(v) for v in values])
        if channels is None:
            return ExcCodes.ILLEGAL_ADDRESS
        return SimUtils.bitsToRegisters(channels + [False] * (-len(channels) % 16))
