"""A WAGO 750-352 ETHERNET fieldbus coupler with digital I/O modules, as the simulated lab serves it (Modbus TCP).

The rig's ``wago_750`` driver (``drivers/dio/wago_750.py``) reaches it as it
reaches a real node: Modbus TCP on a socket, through pymodbus. The node is the
coupler, a 750-430 (8 digital inputs), a 750-530 (8 digital outputs) and the
750-600 end module, so its process image holds 8 input bits and 8 output bits.
Its channels are wired to the lab's contact lines exactly as the E1212 dialect
wires its channels (``rig.sim.instruments.moxa_e1212_dialect``: that module's
wiring tables and its channel driver are used, not copied), so a bench swaps
the driver line and keeps its channel numbers.

The map is the WAGO ETHERNET coupler's (750-341/-352 manuals, "MODBUS
functions" and "MODBUS registers"; see the driver for the pages), addresses
zero-based as on the wire (WAGO's "MODBUS address 404097" is register 0x1000):

- bits, functions 1 and 2 alike: 0x0000.. the input process image (the first
  digital input is 0), 0x0200.. the output process image read back;
  functions 5 and 15 write outputs at 0x0000.. and at 0x0200..; 0x0400 to
  0x0FFF is "illegal data address" in the manual;
- registers, functions 3 and 4 alike (6 and 16 write): 0x0000 the digital
  input word, 0x0200 the output word; the watchdog 0x1000-0x100B; LED error
  code and argument 0x1020-0x1021; the process image sizes 0x1022-0x1025
  (analog out, analog in, digital out, digital in, bits); the MAC 0x1031
  (3 words); the constants 0x2000-0x2008; the firmware information 0x2010
  (firmware index), 0x2011 (series, 750), 0x2012 (item number, 352), 0x2013
  and 0x2014 (firmware major and minor); the short description 0x2020
  (16 words of text) and the module list 0x2030 (word 0 the coupler, then
  one word per module: a digital module as bit 15, its size in bits 8-14,
  bit 0 input, bit 1 output). 0x2020 and 0x2030 are objects: the address
  names the object and the count takes its first words.

Refusals: an address outside these is "illegal data address", as is a bit
address past the node's channels (assumed: the manuals do not say what the
coupler answers inside 0x0000-0x01FF past its modules) and a write to a
register that is only read (assumed). The lab's Modbus server gives the
module a request's first address, not its count, so a read that starts on a
channel and runs past the last one is answered with the padding bits (a real
coupler may refuse it); the driver never asks one. Read Device Identification
(0x2B/0x0E) is not one of the coupler's functions (the manuals list 1, 2, 3,
4, 5, 6, 7, 11, 15, 16, 22 and 23): ``modbus_identity()`` is empty, and the
lab's server answers it "illegal function".

The watchdog (0x1000 time in 100 ms, 0x1001 the mask of function codes that
trigger it, 0x1003 trigger, 0x1006 status, 0x1008 stop with 0x55AA or 0xAA55)
runs on the lab's clock as one of its event sources: a non-zero mask or a
trigger write with a time set starts it, every request whose function is in
the mask restarts it, and when it runs out the coupler de-energises every
output at that instant, reads 2 at 0x1006, 0 at 0x1004 and answers every
request but the watchdog registers' with "slave device failure" (4) until it
is stopped (the 750-341/-342 manuals: "the coupler answers all following
MODBUS TCP/IP requests with the exception code 0x0004"; outputs to 0 as the
750-344/-345 couplers do on a fieldbus failure: assumed for the 750-352).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.simulator import SimData
from pymodbus.simulator.simutils import DataType, SimUtils

from rig.sim.instruments.moxa_e1212_dialect import MoxaE1212, wiring_mismatches
from rig.sim.model import EventSource, LabModel

IDENTITY: dict[str, str] = {}
"""Read Device Identification objects: none, the coupler does not implement the function."""
DIGITAL_INPUTS = 8
DIGITAL_OUTPUTS = 8
MODULES = (352, 0x8801, 0x8802)
"""0x2030's words: the coupler's item number, a 750-430 (8 bits, input), a 750-530 (8 bits, output)."""
OUTPUT_IMAGE = 0x0200
"""Offset of the output process image in the bit and register maps (read back)."""
BIT_SPACE = 0x0400
"""Bits 0x0000-0x03FF: input image, then output image; 0x0400 on is illegal in the manual."""
FIRMWARE_INDEX, FIRMWARE_MAJOR, FIRMWARE_MINOR = 8, 1, 9
MAC = bytes.fromhex("0030DE000352")
"""The simulated coupler's MAC address (WAGO's OUI 00:30:DE): the serial in the rig's identity."""
DESCRIPTION = "WAGO 750-352 ETHERNET FC G3"
SLAVE_DEVICE_FAILURE = ExcCodes.DEVICE_FAILURE

WD_TIME, WD_MASK, WD_MASK_17_32, WD_TRIGGER, WD_MIN_TRIGGER, WD_STOP_MASK, WD_STATUS, WD_RESTART, WD_STOP = (
    0x1000, 0x1001, 0x1002, 0x1003, 0x1004, 0x1005, 0x1006, 0x1007, 0x1008)
WATCHDOG_REGISTERS = range(0x1000, 0x100C)
STOP_CODES = (0x55AA, 0xAA55)
NOT_ACTIVE, RUNNING, EXPIRED = 0, 1, 2
READ_COILS, READ_DISCRETE_INPUTS, READ_HOLDING, READ_INPUT_REGISTERS = 1, 2, 3, 4
WRITE_COIL, WRITE_REGISTER, WRITE_COILS, WRITE_REGISTERS = 5, 6, 15, 16
REGISTER_FIRST = 0x0000
"""The register blocks start at the input word, so an object at address a sits at a - REGISTER_FIRST."""


def _text_words(text: str, count: int) -> list[int]:
    data = text.encode("ascii").ljust(2 * count, b"\0")[:2 * count]
    return [int.from_bytes(data[i:i + 2], "big") for i in range(0, 2 * count, 2)]


class Watchdog:
    """The coupler's Modbus watchdog on the lab's clock: what the master configured, when it runs out."""

    def __init__(self, expire: Callable[[float], None]) -> None:
        self.time_100ms = 0
        self.mask = 0
        self.trigger = 0
        self.status = NOT_ACTIVE
        self.min_trigger = 0xFFFF
        self.deadline: float | None = None
        self._stop_mask_first = False
        self._expire = expire

    def start(self, now: float) -> None:
        if self.time_100ms and self.status == NOT_ACTIVE:
            self.status = RUNNING
            self.deadline = now + self.time_100ms / 10.0

    def heard(self, now: float, function_code: int) -> None:
        """A request arrived: one whose function is in the mask restarts a running watchdog."""
        if self.status == RUNNING and 1 <= function_code <= 16 and self.mask >> (function_code - 1) & 1:
            assert self.deadline is not None
            left = self.deadline - now
            self.min_trigger = max(0, min(self.min_trigger, int(left * 10)))
            self.deadline = now + self.time_100ms / 10.0

    def stop(self) -> None:
        self.status, self.deadline = NOT_ACTIVE, None

    def next_event_time(self) -> float | None:
        return self.deadline if self.status == RUNNING else None

    def run_to(self, t: float) -> None:
        if self.status == RUNNING and self.deadline is not None and self.deadline <= t:
            self.status, self.min_trigger = EXPIRED, 0
            at, self.deadline = self.deadline, None
            self._expire(at)

    def registers(self) -> dict[int, int]:
        return {WD_TIME: self.time_100ms, WD_MASK: self.mask, WD_MASK_17_32: 0, WD_TRIGGER: self.trigger,
                WD_MIN_TRIGGER: self.min_trigger, WD_STOP_MASK: 0, WD_STATUS: self.status, WD_RESTART: 1,
                WD_STOP: 0, 0x1009: 0, 0x100A: 0, 0x100B: 0}

    def write(self, now: float, address: int, value: int) -> ExcCodes | None:
        """A write to a watchdog register (the manual: time and masks cannot change while it runs)."""
        running = self.status == RUNNING
        if address in (WD_TIME, WD_MASK, WD_MASK_17_32) and running:
            return ExcCodes.ILLEGAL_VALUE  # assumed: the manual says only that it "cannot be changed"
        if address == WD_TIME:
            self.time_100ms = value
        elif address == WD_MASK:
            self.mask = value
            if value:
                self.start(now)
        elif address == WD_TRIGGER:
            if value != self.trigger:
                self.trigger = value
                self.start(now)
        elif address == WD_MIN_TRIGGER:
            if value == 0:
                return ExcCodes.ILLEGAL_VALUE  # "0x000 is not permissible"
            self.min_trigger = value
        elif address == WD_STOP_MASK:
            if value == 0xAAAA:
                self._stop_mask_first = True
                return None
            if value == 0x5555 and self._stop_mask_first:
                self.stop()
            self._stop_mask_first = False
        elif address == WD_RESTART:
            if value == 1 and running:
                self.deadline = now + self.time_100ms / 10.0
        elif address == WD_STOP:
            if value in STOP_CODES:
                self.stop()
        elif address in (WD_STATUS,):
            return ExcCodes.ILLEGAL_ADDRESS  # read only
        return None


class Wago750352:
    """The node's process image wired to the lab's contact lines, its registers, its watchdog."""

    item_number = 352
    series = 750

    def __init__(self, lab: LabModel) -> None:
        self.lab = lab
        self.channels = MoxaE1212(lab)
        """The lab's contact-line wiring by channel (the E1212 dialect's; its first 8 inputs and 8 outputs)."""
        self.watchdog = Watchdog(self._de_energise)
        lab.register(EventSource("WAGO coupler watchdog", self.watchdog.next_event_time, self.watchdog.run_to))

    @classmethod
    def from_options(cls, lab: LabModel, options: dict[str, Any] | None) -> Wago750352:
        """The node, once the bench's lines are where it wires them (a line on another channel is refused)."""
        problems = wiring_mismatches(options or {})
        if problems:
            where, why = problems[0]
            raise ValueError(f"options.{'.'.join(str(x) for x in where)}: {why}")
        return cls(lab)

    def modbus_identity(self) -> dict[str, str]:
        """None: the coupler answers Read Device Identification "illegal function"."""
        return dict(IDENTITY)

    # -- process image ------------------------------------------------------------------------------

    def outputs(self) -> list[bool]:
        return list(self.channels.coils[:DIGITAL_OUTPUTS])

    def inputs(self) -> list[bool]:
        return self.channels.inputs()[:DIGITAL_INPUTS]

    def _de_energise(self, t: float) -> None:
        """The watchdog ran out at ``t`` (the lab's present instant: its event): every output off."""
        self.channels.write_coils(0, [False] * DIGITAL_OUTPUTS)

    def _bits(self) -> list[int]:
        image = [False] * BIT_SPACE
        image[:DIGITAL_INPUTS] = self.inputs()
        image[OUTPUT_IMAGE:OUTPUT_IMAGE + DIGITAL_OUTPUTS] = self.outputs()
        return SimUtils.bitsToRegisters(image)

    # -- registers ----------------------------------------------------------------------------------

    def objects(self) -> dict[int, list[int]]:
        """Every register object by address, as it reads now (one word, or the object's words)."""
        word = lambda bits: sum(1 << i for i, on in enumerate(bits) if on)  # noqa: E731
        found = {0x0000: [word(self.inputs())], OUTPUT_IMAGE: [word(self.outputs())],
                 **{a: [v] for a, v in self.watchdog.registers().items()},
                 0x1020: [0], 0x1021: [0], 0x1022: [0], 0x1023: [0], 0x1024: [DIGITAL_OUTPUTS],
                 0x1025: [DIGITAL_INPUTS], 0x1031: [int.from_bytes(MAC[i:i + 2], "big") for i in (0, 2, 4)],
                 0x2000: [0x0000], 0x2001: [0xFFFF], 0x2002: [0x1234], 0x2003: [0xAAAA], 0x2004: [0x5555],
                 0x2005: [0x7FFF], 0x2006: [0x8000], 0x2007: [0x3FFF], 0x2008: [0x4000],
                 0x2010: [FIRMWARE_INDEX], 0x2011: [self.series], 0x2012: [self.item_number],
                 0x2013: [FIRMWARE_MAJOR], 0x2014: [FIRMWARE_MINOR], 0x2020: _text_words(DESCRIPTION, 16),
                 0x2030: [*MODULES, *[0] * (65 - len(MODULES))]}
        # A run of one-word registers reads on from any of them (0x1022 with up to 4 words ...).
        for first, end in ((0x1000, 0x100C), (0x1020, 0x1026), (0x2000, 0x2009), (0x2010, 0x2015)):
            words = [found[a][0] for a in range(first, end)]
            found.update({a: words[a - first:] for a in range(first, end)})
        return found

    WRITABLE = frozenset({0x0000, OUTPUT_IMAGE, *WATCHDOG_REGISTERS} - {WD_STATUS})

    def simdata(self) -> tuple[list[SimData], list[SimData], list[SimData], list[SimData]]:
        """Bits 0x0000-0x03FF for functions 1, 2, 5, 15; the register objects' runs for 3, 4, 6, 16 (addresses
        between them refused by pymodbus)."""
        runs = [(0x0000, 1), (OUTPUT_IMAGE, 1), (0x1000, 12), (0x1020, 6), (0x1031, 3), (0x2000, 9), (0x2010, 5),
                (0x2020, 0x2030 + 65 - 0x2020)]

        def registers(readonly: bool) -> list[SimData]:
            return [SimData(first, count=count, values=0, datatype=DataType.REGISTERS, readonly=readonly)
                    for first, count in runs]

        bits = [SimData(0, count=BIT_SPACE, values=False, datatype=DataType.BITS)]
        return bits, [SimData(0, count=BIT_SPACE, values=False, datatype=DataType.BITS)], registers(False), \
            registers(True)

    # -- one request --------------------------------------------------------------------------------

    def request(self, function_code: int, address: int, values: Sequence[Any] | None) -> list[int] | ExcCodes:
        """The addressed block from its start after the request, or the coupler's refusal."""
        self.watchdog.heard(self.lab.now, function_code)
        registers = function_code not in (READ_COILS, READ_DISCRETE_INPUTS, WRITE_COIL, WRITE_COILS)
        if self.watchdog.status == EXPIRED and not (registers and address in WATCHDOG_REGISTERS):
            return SLAVE_DEVICE_FAILURE
        if not registers:
            return self._bit_request(function_code, address, values)
        return self._register_request(address, values)

    def _bit_request(self, function_code: int, address: int, values: Sequence[Any] | None) -> list[int] | ExcCodes:
        base = OUTPUT_IMAGE if address >= OUTPUT_IMAGE else 0
        channels = DIGITAL_INPUTS if base == 0 and values is None else DIGITAL_OUTPUTS
        count = 1 if values is None else len(values)
        if not base <= address < base + channels or address + count > base + channels:
            return ExcCodes.ILLEGAL_ADDRESS
        if values is not None:
            self.channels.write_coils(address - base, [bool(v) for v in values])
        return self._bits()

    def _register_request(self, address: int, values: Sequence[Any] | None) -> list[int] | ExcCodes:
        objects = self.objects()
        if address not in objects:
            return ExcCodes.ILLEGAL_ADDRESS
        if values is not None:
            if address not in self.WRITABLE or len(values) != 1:
                return ExcCodes.ILLEGAL_ADDRESS
            value = int(values[0])
            if address in (0x0000, OUTPUT_IMAGE):
                self.channels.write_coils(0, [bool(value >> i & 1) for i in range(DIGITAL_OUTPUTS)])
            else:
                refused = self.watchdog.write(self.lab.now, address, value)
                if refused is not None:
                    return refused
            objects = self.objects()
        words = objects[address]
        return [0] * (address - REGISTER_FIRST) + words
