"""A Modbus TCP digital I/O module (Moxa ioLogik E1212) as the rig's named contact lines.

Resource form: ``modbus-tcp://HOST[:PORT]`` (port 502 when omitted), e.g.
``modbus-tcp://192.0.2.30:502`` on a bench, ``modbus-tcp://127.0.0.1:<port>``
for the simulated lab's module. The bench file names the lines in the
driver's options, so procedures speak only line names::

    options:
      unit: 1                                      # Modbus unit identifier
      inputs: {d1: 0, d2: 1, connector_lock: 2}    # line -> discrete input (function 2)
      outputs: {contactor: 2, k: 0, proximity: 1}  # line -> coil (functions 1 and 5)

Outputs are switched off in the order they are listed (set-up and safe state),
so list the vehicle contactor first.

Register layout checked against the ioLogik E1200 series user's manual
(appendix "Modbus/TCP Default Address Mappings", E1212): 8 digital outputs as
coils 0x0000..0x0007 (functions 1, 5, 15), 16 digital inputs as discrete
inputs 0x0000..0x000F (function 2). The module's own communication watchdog
(safe mode on a lost host) is configured in its web console, not over
Modbus: set it there on a real bench.

Identity: read from the "System" input registers (function 4) the same
appendix lists for every E1200 model (public copies of its address tables:
https://www.easymanua.ls/moxa-technologies/iologik-e1211/manual?p=90 and
https://www.easymanua.ls/moxa-technologies/iologik-e1214-t/manual?p=98):
``modelName`` at 5000, 10 words, "each byte represents ASCII code of each
character"; ``lanMac`` at 5024, 3 words ("00:90:E8:3E:18:CC -> 1st byte: 0,
2nd byte: 144 ..."); ``lanIp`` at 5027, 2 words; ``firmwareVersion`` at 5029,
2 words ("V1.2.3 -> 1st byte: 1, 2nd byte: 2, 3rd byte: 3"). No serial number
is listed. Two requests, 5000..5009 and 5024..5030 (contiguous,
documented registers only), are the only ones sent before the identity is
accepted. They become ``Moxa,<modelName>,<lanMac>,V<a.b.c>``: the module
names its model, not its maker, so the manufacturer field is the register
map's maker; the MAC address stands in for the serial number the map does
not carry (pin a module by it: ``identity: {serial: "00:90:E8:..."}``).
Unconfirmed: that the first byte of a register pair is the high byte of the
first register (Modbus's big-endian order; the manual shows bytes, not
registers) and the exact text of ``modelName`` (the family accepts "E1212"
and "ioLogik E1212"). Not used: Modbus Read Device Identification
(0x2B/0x0E): the appendix names functions 1, 2, 3, 4, 5, 6, 15 and 16 only.

pymodbus's synchronous client waits for each response before it returns, so
when ``set_output`` returns the module (and in the simulated lab the model)
has done it: the exchange is quiescent, as virtual time needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field, model_validator
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from drivers.modbus import Response, exchange, open_client, refusal
from drivers.options import DriverOptions
from rig.core import stop
from rig.core.bench_checks import BenchCheck
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import InstrumentError
from rig.core.identity import InstrumentFamily
from rig.config.yaml_source import LocatedValueError

DIGITAL_INPUTS = 16
DIGITAL_OUTPUTS = 8
MANUFACTURER = "Moxa"
"""The maker of the register map: the module's registers name its model only."""
MODEL_NAME = (5000, 10)
"""``modelName``: first input register and length (one ASCII character a byte)."""
MAC_IP_FIRMWARE = (5024, 7)
"""``lanMac`` (3 words), ``lanIp`` (2) and ``firmwareVersion`` (2), contiguous from 5024."""


def _registers_bytes(registers: list[int]) -> bytes:
    """The bytes of registers, high byte first (Modbus's order)."""
    return b"".join(int(word).to_bytes(2, "big") for word in registers)


def _ascii(registers: list[int]) -> str:
    """Text of one-character-a-byte registers: up to the first NUL, unprintable bytes and commas (the identity's
    separator) as spaces."""
    text = _registers_bytes(registers).split(b"\0", 1)[0].decode("latin-1")
    return "".join(c if c.isprintable() and c != "," else " " for c in text).strip()


def _mac(registers: list[int]) -> str:
    return ":".join(f"{byte:02X}" for byte in _registers_bytes(registers))


def _version(registers: list[int]) -> str:
    """``firmwareVersion``: V1.2.3 is the bytes 1, 2, 3 (the fourth is not described)."""
    major, minor, patch = _registers_bytes(registers)[:3]
    return f"V{major}.{minor}.{patch}"


def check_line_map(inputs: dict[str, int], outputs: dict[str, int], input_channels: int,
                   output_channels: int) -> None:
    """A bench's line map for a module with these channel counts: every line on a distinct channel, none both
    input and output, at least one line (a wrong one names its key)."""
    _check_lines(inputs, input_channels, "inputs")
    _check_lines(outputs, output_channels, "outputs")
    both = sorted(set(inputs) & set(outputs))
    if both:
        raise LocatedValueError(("outputs", both[0]), f"lines both input and output: {both}")
    if not inputs and not outputs:
        raise ValueError("no lines: name the module's inputs and outputs")


def _check_lines(lines: dict[str, int], channels: int, kind: str) -> None:
    """Every line on a distinct channel of the module (a wrong one names its key)."""
    for name, address in lines.items():
        if not name:
            raise LocatedValueError((kind,), f"{kind}: a line needs a name")
        if not 0 <= address < channels:
            raise LocatedValueError((kind, name), f"address {address} is not one of the module's "
                                                  f"{kind[:-1]} channels 0..{channels - 1}")
    owner: dict[int, str] = {}
    for name, address in lines.items():
        if address in owner:
            raise LocatedValueError((kind, name), f"address {address} is also {owner[address]!r}'s: two lines "
                                                  "on one channel")
        owner[address] = name


class ModbusDio:
    """Options: ``inputs`` and ``outputs`` (line name -> address), ``unit`` (0..255, default 1),
    ``timeout_s`` (default 3)."""

    family = InstrumentFamily("Moxa ioLogik E1212 Modbus TCP digital I/O module",
                              manufacturer=r"Moxa( Inc\.?)?", model=r"(ioLogik\s*)?E1212(-T)?",
                              asked_by="its model name, MAC and firmware in input registers 5000-5029")

    class Options(DriverOptions):
        inputs: dict[str, int] = Field(default_factory=dict, description="Line name -> discrete input.")
        outputs: dict[str, int] = Field(default_factory=dict, description="Line name -> coil, in switch-off "
                                                                          "order.")
        unit: int = Field(1, ge=0, le=255, description="Modbus unit identifier.")
        timeout_s: float = Field(3.0, gt=0, description="How long a request may wait for its answer.")

        @model_validator(mode="after")
        def _lines(self) -> ModbusDio.Options:
            check_line_map(self.inputs, self.outputs, DIGITAL_INPUTS, DIGITAL_OUTPUTS)
            return self

    def __init__(self, resource: str, *, name: str, envelope: EnvelopeGuard | None = None,
                 options: dict[str, Any] | None = None) -> None:
        self.resource = resource
        self.name = name
        self.envelope = envelope  # contact lines have no envelope quantity
        o = self.Options.read(name, options)
        self._inputs, self._outputs, self.unit = dict(o.inputs), dict(o.outputs), o.unit
        timeout_s = o.timeout_s
        self._commanded = {line: False for line in self._outputs}
        self._client = open_client(name, resource, timeout_s)

    # -- lines ------------------------------------------------------------------------------------

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self._inputs)

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(self._outputs)

    def read_input(self, line: str) -> bool:
        address = self._address_of(line, self._inputs, "input")
        response = self._exchange(f"read discrete input {address} ({line})",
                                  lambda: self._client.read_discrete_inputs(address, count=1, device_id=self.unit))
        return bool(response.bits[0])

    def read_inputs(self) -> dict[str, bool]:
        """Every input in one request spanning their addresses."""
        return self._read_span(self._inputs, "discrete inputs", self._client.read_discrete_inputs)

    def read_outputs(self) -> dict[str, bool]:
        """What the module's outputs are now (coil read-back), in one request."""
        return self._read_span(self._outputs, "coils", self._client.read_coils)

    def set_output(self, line: str, on: bool) -> None:
        address = self._address_of(line, self._outputs, "output")
        self._exchange(f"write coil {address} ({line}) {'on' if on else 'off'}",
                       lambda: self._client.write_coil(address, bool(on), device_id=self.unit))
        self._commanded[line] = bool(on)

    def _read_span(self, lines: dict[str, int], kind: str, read: Callable[..., ModbusPDU]) -> dict[str, bool]:
        if not lines:
            return {}
        first, last = min(lines.values()), max(lines.values())
        response = self._exchange(f"read {kind} {first}..{last}",
                                  lambda: read(first, count=last - first + 1, device_id=self.unit))
        return {line: bool(response.bits[address - first]) for line, address in lines.items()}

    def _address_of(self, line: str, lines: dict[str, int], kind: str) -> int:
        if line not in lines:
            known = ", ".join(lines) or "none"
            raise InstrumentError(self.name, line, f"no {kind} line {line!r} on this bench (its {kind}s: {known})")
        return lines[line]

    def _exchange(self, what: str, request: Callable[[], Response]) -> Response:
        """One request and its response; a refusal or no answer raises naming the request."""
        return exchange(self.name, what, request)

    # -- identity and lifetime ------------------------------------------------------------------------

    def identify(self) -> str:
        """``Moxa,<modelName>,<lanMac>,V<firmwareVersion>`` from the System input registers (see the module), the
        only requests sent before the identity is accepted; a refusal comes back as text for the identity check."""
        model = self._input_registers(*MODEL_NAME, "modelName")
        if isinstance(model, str):
            return model
        rest = self._input_registers(*MAC_IP_FIRMWARE, "lanMac, lanIp, firmwareVersion")
        if isinstance(rest, str):
            return rest
        return f"{MANUFACTURER},{_ascii(model)},{_mac(rest[0:3])},{_version(rest[5:7])}"

    def _input_registers(self, address: int, count: int, what: str) -> list[int] | str:
        """``count`` input registers from ``address`` (function 4), or the refusal in words; no answer raises."""
        request = f"read input registers {address}..{address + count - 1} ({what})"
        stop.checkpoint()
        try:
            response = self._client.read_input_registers(address, count=count, device_id=self.unit)
        except ModbusException as err:
            raise InstrumentError(self.name, request, f"no answer: {err}") from None
        if response.isError():
            return f"{refusal(response)} to {request}"
        return list(response.registers)

    def setup(self) -> None:
        """Every output de-energised (in the bench file's order), then read back."""
        self.safe_off()
        found = self._mismatches()
        if found:
            raise InstrumentError(self.name, "set-up", "; ".join(found))

    def bench_checks(self) -> list[BenchCheck]:
        """The lines the bench file names answer where it puts them: inputs (function 2) and outputs' read-back
        (function 1), read only."""
        checks = []
        for what, read in (("the inputs answer (function 2)", self.read_inputs),
                           ("the outputs read back (function 1)", self.read_outputs)):
            try:
                states = read()
            except InstrumentError as err:
                checks.append(BenchCheck.problem(what, err.detail))
                continue
            checks.append(BenchCheck.confirmed(what, ", ".join(f"{line} {'on' if on else 'off'}"
                                                                 for line, on in states.items())))
        return checks

    def faults(self) -> list[str]:
        """Outputs that do not read back as commanded (a module reset, another master, a wiring fault)."""
        return self._mismatches()

    def _mismatches(self) -> list[str]:
        actual = self.read_outputs()
        return [f"output {line} reads {'on' if actual[line] else 'off'}, commanded {'on' if wanted else 'off'}"
                for line, wanted in self._commanded.items() if actual[line] != wanted]

    def safe_off(self) -> None:
        """Every output off, in the bench file's order (contactor open, charge permission off ...)."""
        for line in self._outputs:
            self.set_output(line, False)

    def close(self) -> None:
        self._client.close()
