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
inputs 0x0000..0x000F (function 2). Unconfirmed: that the E1212 answers
Modbus Read Device Identification (0x2B/0x0E), which this driver uses for
identity (the manual pages checked list functions 1-6, 15, 16 and give the
model name in input registers from 5000); the VendorName and ProductCode it
would answer (the family accepts "Moxa..." and "E1212"). The module's own
communication watchdog (safe mode on a lost host) is configured in its web
console, not over Modbus: set it there on a real bench.

Identity: the basic Read Device Identification objects VendorName,
ProductCode and MajorMinorRevision become the manufacturer, model and
firmware fields (commas dropped); Modbus identification carries no serial
number, so the serial field is empty (pin a module by model, not serial).

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
from rig import stop
from rig.envelope import EnvelopeGuard
from rig.errors import InstrumentError
from rig.identity import InstrumentFamily
from rig.yaml_source import LocatedValueError

DIGITAL_INPUTS = 16
DIGITAL_OUTPUTS = 8


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
                              manufacturer=r"Moxa( Inc\.?)?", model=r"(ioLogik\s*)?E1212(-T)?")

    class Options(DriverOptions):
        inputs: dict[str, int] = Field(default_factory=dict, description="Line name -> discrete input.")
        outputs: dict[str, int] = Field(default_factory=dict, description="Line name -> coil, in switch-off "
                                                                          "order.")
        unit: int = Field(1, ge=0, le=255, description="Modbus unit identifier.")
        timeout_s: float = Field(3.0, gt=0, description="How long a request may wait for its answer.")

        @model_validator(mode="after")
        def _lines(self) -> ModbusDio.Options:
            _check_lines(self.inputs, DIGITAL_INPUTS, "inputs")
            _check_lines(self.outputs, DIGITAL_OUTPUTS, "outputs")
            both = sorted(set(self.inputs) & set(self.outputs))
            if both:
                raise LocatedValueError(("outputs", both[0]), f"lines both input and output: {both}")
            if not self.inputs and not self.outputs:
                raise ValueError("no lines: name the module's inputs and outputs")
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
        """``Vendor,ProductCode,,Revision`` from Read Device Identification (0x2B/0x0E, basic objects), the only
        request sent before the identity is accepted; a refusal comes back as text for the identity check."""
        what = "Read Device Identification"
        stop.checkpoint()
        try:
            response = self._client.read_device_information(read_code=1, object_id=0, device_id=self.unit)
        except ModbusException as err:
            raise InstrumentError(self.name, what, f"no answer: {err}") from None
        if response.isError():
            return f"{refusal(response)} to {what}"
        information = getattr(response, "information", {})

        def field(object_id: int) -> str:
            value = information.get(object_id, b"")
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            return text.replace(",", " ").strip()

        return f"{field(0)},{field(1)},,{field(2)}"

    def setup(self) -> None:
        """Every output de-energised (in the bench file's order), then read back."""
        self.safe_off()
        found = self._mismatches()
        if found:
            raise InstrumentError(self.name, "set-up", "; ".join(found))

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
