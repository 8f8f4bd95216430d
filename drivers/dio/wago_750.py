"""A WAGO 750-352 ETHERNET fieldbus coupler with digital I/O modules (Modbus TCP) as the rig's named contact lines.

Resource form and options as the Moxa driver's (``drivers/dio/modbus_dio.py``), so a bench swaps the driver
line and the channel numbers only::

    options:
      unit: 1                                      # Modbus unit identifier (the coupler ignores it)
      inputs: {d1: 0, d2: 1, connector_lock: 2}    # line -> digital input bit of the node (0 = the first)
      outputs: {contactor: 2, k: 0, proximity: 1}  # line -> digital output bit, in switch-off order
      watchdog_s: 60                               # the coupler's Modbus watchdog (0.1 s steps)

A channel is its position in the node's digital process image: the digital
inputs of every input module in the order they are plugged (a 750-430 after
the coupler gives inputs 0..7), the digital outputs likewise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field, model_validator
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from drivers.dio.modbus_dio import ModbusDio, check_line_map
from drivers.modbus import Response, exchange
from rig.core.bench_checks import BenchCheck
from rig.core.clock import Clock, PeriodicTask
from rig.config.envelope import EnvelopeGuard
from rig.config.yaml_source import LocatedValueError
from rig.core.errors import InstrumentError
from rig.core.identity import InstrumentFamily

PROCESS_IMAGE_BITS = 512
"""Bits 0x0000-0x01FF: the first 512 digital inputs (functions 1, 2) and outputs (5, 15)."""
OUTPUT_IMAGE = 0x0200
"""Functions 1 and 2 read the outputs back from here (at 0x0000 they read the inputs)."""
SERIES, ITEM, FIRMWARE_INDEX, FIRMWARE_MAJOR, FIRMWARE_MINOR = 0x2011, 0x2012, 0x2010, 0x2013, 0x2014
MAC_ID = (0x1031, 3)
DIGITAL_SIZES = (0x1024, 2)
"""Digital output bits, then digital input bits, in the process image."""
MODULES = (0x2030, 65)
WD_TIME, WD_MASK, WD_TRIGGER, WD_STATUS, WD_STOP = 0x1000, 0x1001, 0x1003, 0x1006, 0x1008
WD_STOP_CODE = 0x55AA
WD_RUNNING, WD_EXPIRED = 1, 2
WD_MASK_OF_THE_DRIVER = sum(1 << (fc - 1) for fc in (1, 2, 4, 5))
"""Functions 1, 2, 4 and 5 (every request the driver sends but the watchdog's own writes) restart the watchdog."""
SLAVE_DEVICE_FAILURE = 4


class Wago750(ModbusDio):
    """WAGO 750-352 node as named lines; every request, and where it comes from.

    Sources: WAGO-I/O-SYSTEM 750 ETHERNET TCP/IP coupler manuals (750-341, -342,
    and the 750-352/040-000 XTR manual 11.2 "Modbus Functions", same firmware
    family), public copies e.g.
    https://manualarchiveguide.com/manuals/WAGO-750-341-Manual-4703902?page=126,
    https://manualarchiveguide.com/manuals/WAGO-750-Series-Manual-4703874?page=126,
    http://88.208.23.73:8080/en/manual/wago/i-o-system-750/868336?page=299 and page=300,
    https://manualshive.com/en/manual/wago/wago-i-o-system-750-xtr-series/wago-i-o-system-750-xtr-series_manual_3062007-156.html:

    ============================  =====================  ==========================================================
    request                       sent by                source
    ============================  =====================  ==========================================================
    FC2 at n                      read_input(s)          "bit access reading (FC1 and FC2)": 0x0000-0x01FF the
                                                         first 512 digital inputs
    FC1 at 0x0200 + n             read_outputs, faults,  same table: 0x0200-0x03FF the outputs read back (FC1 at
                                  setup                  n would read the INPUTS: not a Moxa-style coil map)
    FC5 at n, FF00/0000           set_output, safe_off   "bit access writing (FC5 and FC15)": 0x0000-0x01FF outputs
    FC4 0x2011, 0x2012            identify               firmware information: series code (750), item number
    FC4 0x2010, 0x2013, 0x2014    identify               firmware index, major and minor revision
    FC4 0x1031 x3                 identify               "read the MAC-ID of the coupler", 3 words
    FC4 0x1024 x2                 setup                  digital output bits, digital input bits of the image
    FC6 0x1008 = 0x55AA           setup, after expiry    "simply stop watchdog" (resets a watchdog fault)
    FC6 0x1000 = watchdog_s x 10  setup                  watchdog time, multiples of 100 ms
    FC6 0x1001 = 0x001B           setup                  function code mask (bit n-1: FC n)
    FC4 / FC6 0x1003              setup                  watchdog trigger: a changed non-zero value starts it
    FC4 0x1006                    setup, after FC error  watchdog status: 0 not active, 1 running, 2 expired
    FC4 0x2030 x65                bench_checks           the coupler (word 0) and each module (digital: bit 15,
                                                         size in bits 8-14, bit 0 input, bit 1 output)
    ============================  =====================  ==========================================================

    Unconfirmed (``rig bench check`` reads them on the unit): that 0x2012
    reads 352 on a 750-352 (the manuals' example is another item number);
    that FC4 reaches the registers from 0x1000 as FC3 does (the manuals'
    register tables name FC3, FC4 and FC23 alike); the text order of the
    identity's firmware field; that on the watchdog running out the coupler
    switches its outputs off (the manuals say it answers every further
    request with exception 4; the 750-344/-345 couplers set outputs to 0 on a
    fieldbus failure): check it once on the bench with nothing energised
    behind the outputs. Not used: Read Device Identification (0x2B/0x0E), not
    among the coupler's functions (1-7, 11, 15, 16, 22, 23).

    The watchdog: set up at ``watchdog_s`` so a dead rig leaves the outputs
    de-energised after that long. Every request the driver sends restarts it,
    and while the bench is open the rig's clock has the driver read the output
    image every third of the watchdog time (``attach_clock``): an output held on
    through a long wait (an idle-power window, a load bank's hold) stays on,
    while a rig that dies or hangs stops reading and the coupler drops every
    output. If it ran out anyway (a rig stalled in one exchange, or never given
    a clock) and every output was off, nothing was lost:
    the driver stops and re-arms it and repeats the request. If an output was
    on, the coupler dropped it: the request is refused naming the lines, and
    ``faults()`` reports it (``safe_off`` only records it: the lines are off).
    """

    family = InstrumentFamily("WAGO 750-352 ETHERNET fieldbus coupler (Modbus TCP digital I/O node)",
                              manufacturer=r"WAGO", model=r"750-352(/\d{3}-\d{3})?",
                              asked_by="its series and item number in registers 0x2011-0x2012, firmware "
                                       "(0x2010, 0x2013-0x2014) and MAC (0x1031)")

    class Options(ModbusDio.Options):
        """The Moxa module's options (a line is a digital input or output bit of the node here) and the
        watchdog's time; the line map is checked against the node's process image instead of the module's."""

        watchdog_s: float = Field(60.0, ge=0.1, le=6553.5, description="The coupler's Modbus watchdog time: "
                                  "how long a silent rig leaves the outputs on (0.1 s steps).")

        @model_validator(mode="after")
        def _lines(self) -> Wago750.Options:
            check_line_map(self.inputs, self.outputs, PROCESS_IMAGE_BITS, PROCESS_IMAGE_BITS)
            if abs(self.watchdog_s * 10 - round(self.watchdog_s * 10)) > 1e-6:
                raise LocatedValueError(("watchdog_s",), f"{self.watchdog_s:g} s is not a multiple of 0.1 s")
            return self

    def __init__(self, resource: str, *, name: str, envelope: EnvelopeGuard | None = None,
                 options: dict[str, Any] | None = None) -> None:
        self.watchdog_ticks = round(self.Options.read(name, options).watchdog_s * 10)
        self._dropped: list[str] = []
        self._switching_off = False
        self._clock: Clock | None = None
        self._keep_alive: PeriodicTask | None = None
        super().__init__(resource, name=name, envelope=envelope, options=options)
        self._client = _CheckedClient(self._client)

    # -- lines (reads and writes are the base's: FC2 at n, FC5 at n) ----------------------------------

    def read_outputs(self) -> dict[str, bool]:
        """The output image read back (FC1 from 0x0200 + n), in one request."""
        image = {line: OUTPUT_IMAGE + n for line, n in self._outputs.items()}
        return self._read_span(image, "output image", self._client.read_coils)

    def _exchange(self, what: str, request: Callable[[], Response]) -> Response:
        """One request; a "slave device failure" from a watchdog that ran out is cleared (see the class)."""
        answers: list[Response] = []

        def recorded() -> Response:
            answers.append(request())
            return answers[-1]

        try:
            return exchange(self.name, what, recorded)
        except InstrumentError:
            failed = bool(answers) and answers[-1].isError() and \
                getattr(answers[-1], "exception_code", None) == SLAVE_DEVICE_FAILURE
            if not failed or self._register(WD_STATUS, "watchdog status") != WD_EXPIRED:
                raise
        lost = [line for line, on in self._commanded.items() if on]
        self._commanded = dict.fromkeys(self._commanded, False)
        self._arm_watchdog()
        if lost:
            dropped = (f"the coupler's watchdog ran out (no request for {self.watchdog_ticks / 10:g} s) and "
                       f"de-energised {', '.join(lost)}")
            self._dropped.append(dropped)
            if not self._switching_off:
                raise InstrumentError(self.name, what, dropped + ": the rig left the node silent too long "
                                      "(raise watchdog_s, or find what stalled)")
        return exchange(self.name, what, request)

    # -- registers --------------------------------------------------------------------------------------

    def _register(self, address: int, what: str, count: int = 1) -> int:
        """One register (FC4), a refusal raising naming it."""
        response = exchange(self.name, f"read register 0x{address:04X} ({what})",
                            lambda: self._client.read_input_registers(address, count=count, device_id=self.unit))
        return int(response.registers[0])

    def _write_register(self, address: int, value: int, what: str) -> None:
        exchange(self.name, f"write register 0x{address:04X} = 0x{value:04X} ({what})",
                 lambda: self._client.write_register(address, value, device_id=self.unit))

    # -- identity and lifetime ----------------------------------------------------------------------------

    def identify(self) -> str:
        """``WAGO,750-<item>,<MAC>,<major>.<minor>(<index>)``: series and item number first; a peer that is not a
        750-352 gets nothing else. The MAC stands in for the serial number the registers do not carry."""
        read = self._input_registers
        answers: list[int] = []
        for address, what in ((SERIES, "series code"), (ITEM, "item number")):
            words = read(address, 1, what)
            if isinstance(words, str):
                return words
            answers.append(words[0])
        series, item = answers
        if (series, item) != (750, 352):
            return f"WAGO,{series}-{item},,"
        firmware = []
        for address, what in ((FIRMWARE_INDEX, "firmware index"), (FIRMWARE_MAJOR, "firmware major revision"),
                              (FIRMWARE_MINOR, "firmware minor revision")):
            words = read(address, 1, what)
            if isinstance(words, str):
                return words
            firmware.append(words[0])
        mac = read(*MAC_ID, "MAC-ID")
        if isinstance(mac, str):
            return mac
        index, major, minor = firmware
        mac_text = ":".join(f"{byte:02X}" for word in mac for byte in int(word).to_bytes(2, "big"))
        return f"WAGO,750-{item},{mac_text},{major:02d}.{minor:02d}({index:02d})"

    def setup(self) -> None:
        """A watchdog fault left by a dead rig cleared, the named channels checked against the node's image,
        every output off (read back), then the watchdog armed."""
        self._write_register(WD_STOP, WD_STOP_CODE, "simply stop watchdog")
        response = exchange(self.name, "read registers 0x1024..0x1025 (digital output and input bits)",
                            lambda: self._client.read_input_registers(DIGITAL_SIZES[0], count=DIGITAL_SIZES[1],
                                                                      device_id=self.unit))
        outputs, inputs = (int(x) for x in response.registers[:2])
        for kind, lines, size in (("output", self._outputs, outputs), ("input", self._inputs, inputs)):
            beyond = {line: n for line, n in lines.items() if n >= size}
            if beyond:
                raise InstrumentError(self.name, "set-up", f"{kind} lines {beyond} are beyond the node's {size} "
                                                           f"digital {kind} bits (registers 0x1024/0x1025)")
        super().setup()
        self._arm_watchdog()
        if self._clock is not None and self._keep_alive is None:
            self._keep_alive = self._clock.every(self.watchdog_ticks / 30.0, self.read_outputs,
                                                 name=f"{self.name} watchdog keep-alive")

    def attach_clock(self, clock: Clock) -> None:
        """The rig's clock, on which set-up starts the watchdog's keep-alive (see the class)."""
        self._clock = clock

    def close(self) -> None:
        """The keep-alive stops with the session: from here the watchdog guards the outputs."""
        if self._keep_alive is not None:
            self._keep_alive.cancel()
            self._keep_alive = None
        super().close()

    def _arm_watchdog(self) -> None:
        """Stop it (and a fault), time and mask set, started by a changed trigger, and seen running."""
        self._write_register(WD_STOP, WD_STOP_CODE, "simply stop watchdog")
        self._write_register(WD_TIME, self.watchdog_ticks, "watchdog time, 100 ms")
        self._write_register(WD_MASK, WD_MASK_OF_THE_DRIVER, "watchdog function code mask")
        trigger = self._register(WD_TRIGGER, "watchdog trigger") % 0xFFFF + 1
        self._write_register(WD_TRIGGER, trigger, "watchdog trigger")
        status = self._register(WD_STATUS, "watchdog status")
        if status != WD_RUNNING:
            raise InstrumentError(self.name, "read register 0x1006 (watchdog status)",
                                  f"the watchdog reads {status}, not 1 (running), after it was started")

    def bench_checks(self) -> list[BenchCheck]:
        """The base's (the lines answer) and the node's module list (0x2030), read only."""
        checks = super().bench_checks()
        what = "the node's modules (register 0x2030)"
        words = self._input_registers(*MODULES, "modules")
        if isinstance(words, str):
            return [*checks, BenchCheck.problem(what, words)]
        described = [describe_module(word) for word in words[1:] if word]
        return [*checks, BenchCheck.confirmed(what, f"coupler {words[0]}; " + ", ".join(described))]

    def faults(self) -> list[str]:
        """Outputs not reading back as commanded, and outputs the watchdog dropped since the last call."""
        found = self._mismatches()
        found += self._dropped
        self._dropped = []
        return found

    def safe_off(self) -> None:
        """Every output off in the bench file's order; a watchdog that ran out is cleared on the way."""
        self._switching_off = True
        try:
            super().safe_off()
        finally:
            self._switching_off = False


def describe_module(word: int) -> str:
    """A 0x2030 word in words: a digital module's size and direction, or an analog module's item number."""
    if not word & 0x8000:
        return f"750-{word}"
    kinds = [kind for bit, kind in ((1, "in"), (2, "out")) if word & bit]
    return f"{(word >> 8) & 0x7F} digital {'/'.join(kinds) or '?'}"


class _CheckedClient:
    """The pymodbus client, refusing a reply that does not answer the request: pymodbus pairs a reply with its
    request by transaction id alone, so a peer answering function 3 to a function 4 request, or fewer
    registers or bits than asked, would otherwise be taken at its word."""

    FUNCTIONS = {"read_coils": 1, "read_discrete_inputs": 2, "read_input_registers": 4, "write_coil": 5,
                 "write_register": 6}

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        function = self.FUNCTIONS.get(name)
        if function is None:
            return method

        def checked(*args: Any, **kwargs: Any) -> ModbusPDU:
            response = method(*args, **kwargs)
            if response.isError():
                if response.function_code & 0x7F != function:
                    raise ModbusException(f"the reply is function {response.function_code & 0x7F}'s exception, "
                                          f"not an answer to function {function}")
                return response
            if response.function_code != function:
                raise ModbusException(f"the reply is function {response.function_code}'s, not an answer to "
                                      f"function {function}")
            count = kwargs.get("count", 1)
            got = len(response.registers) if function == 4 else len(response.bits) if function in (1, 2) else count
            if got < count:
                raise ModbusException(f"the reply carries {got} values, {count} were asked")
            return response

        return checked
