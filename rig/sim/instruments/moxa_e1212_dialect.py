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
- 16 digital inputs as discrete inputs 0x0000..0x000F (function 2);
- the "System" input registers (function 4, ``SYSTEM_REGISTERS``):
  ``modelName`` 5000 (10 words, one ASCII character a byte), ``deviceUpTime``
  5020 (2 words, seconds: the lab's time), ``lanMac`` 5024 (3 words, six
  bytes), ``lanIp`` 5027 (2 words, four bytes: 127.0.0.1, where it serves),
  ``firmwareVersion`` 5029 (2 words: V1.2.3 -> bytes 1, 2, 3),
  ``firmwareBuildDate`` 5031 (2 words) and ``deviceName`` 5040 (30 words,
  ASCII, set in the web console: empty here).

The rest of the E1212 map (pulse and counter controls, other registers) is
not simulated: a coil request beyond the eight outputs, a discrete-input
request beyond the sixteen inputs or a register request that touches an
address between the System entries is answered "illegal data address".
Assumptions: byte pairs are a register's high then low byte, two-word numbers
high word first (the manual shows bytes, not registers); the build date is
served as 0 (its encoding, "Build16051718 -> 16051718", is not clear).

The module does not implement Modbus Read Device Identification (0x2B/0x0E):
the manual's map names functions 1, 2, 3, 4, 5, 6, 15 and 16 only. The lab's
Modbus server (``rig.sim.wire.modbus_server``) answers 0x2B for every device it
serves from the identity it is given; the module gives it none (``IDENTITY``
is empty), so the answer carries no objects and no driver can identify the
module by it. A real module would answer "illegal function": that needs the
server to refuse 0x2B for a device without identification objects.

Every request is handled under the lab's lock after the lab was brought up to
its present time, like the SCPI instruments (``rig.sim.wire.scpi_server``), by the lab's
Modbus TCP server (``rig.sim.wire.modbus_server``).
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address

from pymodbus.constants import ExcCodes
from pymodbus.simulator import SimData
from pymodbus.simulator.simutils import DataType, SimUtils

from rig.sim.connector import Side
from rig.sim.model import LabModel

IDENTITY: dict[str, str] = {}
"""Its Read Device Identification objects: none, it does not implement the function (see the module)."""
SYSTEM_REGISTERS = {"modelName": (5000, 10), "deviceUpTime": (5020, 2), "lanMac": (5024, 3), "lanIp": (5027, 2),
                    "firmwareVersion": (5029, 2), "firmwareBuildDate": (5031, 2), "deviceName": (5040, 30)}
"""The System input registers: first address and length in words (the manual's table)."""
SYSTEM_FIRST = min(first for first, _ in SYSTEM_REGISTERS.values())
SYSTEM_END = max(first + count for first, count in SYSTEM_REGISTERS.values())
MAC = bytes.fromhex("0090E8000001")
"""The simulated module's MAC address (Moxa's OUI 00:90:E8): its serial in the rig's identity."""
FIRMWARE = (3, 2, 0)
LAN_IP = IPv4Address("127.0.0.1")
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


READ_COILS, READ_DISCRETE_INPUTS, READ_INPUT_REGISTERS, WRITE_COIL, WRITE_COILS = 1, 2, 4, 5, 15


def _words(data: bytes, count: int) -> list[int]:
    """``data`` as ``count`` registers, high byte first, zero-padded."""
    padded = data.ljust(2 * count, b"\0")[:2 * count]
    return [int.from_bytes(padded[i:i + 2], "big") for i in range(0, 2 * count, 2)]


class MoxaE1212:
    """The module's channels: outputs it holds, inputs wired to the lab's contact lines; its System registers."""

    model_name = "E1212"

    def __init__(self, lab: LabModel) -> None:
        self.lab = lab
        self.coils = [False] * DIGITAL_OUTPUTS

    def modbus_identity(self) -> dict[str, str]:
        """None: the module answers Read Device Identification with an illegal function (``IDENTITY``)."""
        return dict(IDENTITY)

    def system(self) -> list[int]:
        """The System input registers from ``SYSTEM_FIRST`` on, as they read now (gaps as 0)."""
        values = {"modelName": self.model_name.encode("ascii"), "deviceUpTime": int(self.lab.now).to_bytes(4, "big"),
                  "lanMac": MAC, "lanIp": LAN_IP.packed, "firmwareVersion": bytes(FIRMWARE),
                  "firmwareBuildDate": b"", "deviceName": b""}
        image = [0] * (SYSTEM_END - SYSTEM_FIRST)
        for name, (first, count) in SYSTEM_REGISTERS.items():
            image[first - SYSTEM_FIRST:first - SYSTEM_FIRST + count] = _words(values[name], count)
        return image

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
        """Its blocks as pymodbus lays them out: coils, discrete inputs, no holding registers, the System input
        registers (pymodbus refuses addresses between them)."""
        bits = DataType.BITS
        system = [SimData(first, count=count, values=0, datatype=DataType.REGISTERS, readonly=True)
                  for first, count in SYSTEM_REGISTERS.values()]
        return ([SimData(0, count=DIGITAL_OUTPUTS, values=False, datatype=bits)],
                [SimData(0, count=DIGITAL_INPUTS, values=False, datatype=bits)],
                [SimData(0, datatype=DataType.INVALID)], system)

    def request(self, function_code: int, address: int, values: list[int] | list[bool] | None) -> list[int] | ExcCodes:
        """The addressed block's registers after the request (its bits sixteen to a register), or a refusal."""
        if function_code == READ_INPUT_REGISTERS:
            return self.system()
        channels = self.handle(function_code, address, None if values is None else [bool(v) for v in values])
        if channels is None:
            return ExcCodes.ILLEGAL_ADDRESS
        return SimUtils.bitsToRegisters(channels + [False] * (-len(channels) % 16))
