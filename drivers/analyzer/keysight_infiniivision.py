"""Keysight InfiniiVision oscilloscope (2000X/3000X/3000T/4000X) as the trip-time digitizer.

Wiring this driver assumes (state it in the bench file): channel 1 a current
probe on the charger's line conductor (scaled in A), channel 2 a
differential probe on the charger's terminals (V), EXTernal trigger from the
grid simulator's trigger output (TTL).

Confirmed in the InfiniiVision programmer's guides (2000X, 3000X, 3000T,
4000X; see shared/reference/instruments.md) and pymeasure's DSOX1102G
driver: ``:CHANnel<n>:DISPlay`` (an undisplayed channel acquires nothing),
``:TIMebase:RANGe/REFerence/POSition``, ``:TRIGger:MODE EDGE``,
``:TRIGger:SWEep NORMal`` (AUTO, the default, makes artificial triggers),
``:TRIGger:EDGE:SOURce/LEVel/SLOPe``, ``:SINGle``, ``:AER?`` (Arm Event
Register: 1 once armed, cleared when read), ``:OPERegister:CONDition?`` (run
bit 3), ``:WAVeform:FORMat WORD``, ``:BYTeorder LSBFirst``, ``:UNSigned 0``
(the defaults are MSB first and unsigned), ``:WAVeform:POINts:MODE RAW`` and
``:WAVeform:POINts`` as a request (100, 250, 500, 1000, 2000, 5000, ... in
RAW mode; the scope may return fewer), ``:WAVeform:PREamble?`` (format,
type, points, count, xincrement, xorigin, xreference, yincrement, yorigin,
yreference) and ``:WAVeform:DATA?``.

Unconfirmed: the EXTernal trigger level and slope that suit the grid
simulator's trigger output (options ``trigger_level_v``, default 1.5 V, and
``trigger_slope``, default POS: a TTL rising edge); the largest request
(4 000 000 points, the 3000T/4000X memory) on smaller models.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from pydantic import Field, field_validator

from drivers.options import DriverOptions
from drivers.scpi import BlockType, ScpiDriver
from rig.envelope import EnvelopeGuard
from rig.errors import InstrumentError
from rig.identity import InstrumentFamily
from rig.roles import Capture

CHANNELS = {"current": 1, "voltage": 2}
RUN_BIT = 8
RAW_POINTS = (100, 250, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
              1_000_000, 2_000_000, 4_000_000)
"""Valid ``:WAVeform:POINts`` requests in RAW mode, up to the largest memory of the family."""
BLOCK_TYPES: dict[int, BlockType] = {0: "b", 1: "h"}  # preamble format BYTE / WORD, signed (``:WAV:UNS 0``)
SLOPES = ("POS", "NEG")


class KeysightInfiniiVision(ScpiDriver):
    """Options: ``current_range_a``, ``voltage_range_v`` (full-scale ranges of the two probes),
    ``trigger_level_v`` and ``trigger_slope`` (POS|NEG) of the EXTernal edge trigger."""

    family = InstrumentFamily("Keysight InfiniiVision 2000X/3000X/3000T/4000X oscilloscope",
                              manufacturer=r"(KEYSIGHT|AGILENT) TECHNOLOGIES",
                              model=r"(DSO|MSO)-?X ?[234]\d{3}[AGT]")

    class Options(DriverOptions):
        current_range_a: float = Field(100.0, gt=0, description="Full-scale range of the current probe's channel.")
        voltage_range_v: float = Field(800.0, gt=0, description="Full-scale range of the voltage channel.")
        trigger_level_v: float = Field(1.5, description="Level of the EXTernal edge trigger.")
        trigger_slope: Literal["POS", "NEG"] = Field("POS", description="Its slope (either case in the file).")

        @field_validator("trigger_slope", mode="before")
        @classmethod
        def _upper(cls, value: object) -> object:
            return value.upper() if isinstance(value, str) else value

    def __init__(self, resource: str, *, name: str, envelope: EnvelopeGuard | None = None,
                 timeout_ms: int = 5000, options: dict[str, Any] | None = None) -> None:
        o = self.Options.read(name, options)
        self.ranges = {"current": o.current_range_a, "voltage": o.voltage_range_v}
        self.trigger_level_v = o.trigger_level_v
        self.trigger_slope = o.trigger_slope
        super().__init__(resource, name=name, envelope=envelope, timeout_ms=timeout_ms, options=options)
        self._sent: dict[str, str] = {}

    def setup(self) -> None:
        """Both channels displayed and scaled, an explicit external edge trigger, 16-bit signed LSB-first readout."""
        self._sent.clear()
        commands = ["*CLS"]
        for name, ch in CHANNELS.items():
            commands += [f":CHAN{ch}:DISP ON", f":CHAN{ch}:RANG {self.ranges[name]:.6g}", f":CHAN{ch}:OFFS 0"]
        commands += [":TIM:REF LEFT", ":TRIG:MODE EDGE", ":TRIG:SWE NORM", ":TRIG:EDGE:SOUR EXT",
                     f":TRIG:EDGE:LEV {self.trigger_level_v:.6g}", f":TRIG:EDGE:SLOP {self.trigger_slope}",
                     ":WAV:FORM WORD", ":WAV:BYT LSBF", ":WAV:UNS 0", ":WAV:POIN:MODE RAW"]
        for command in commands:
            self.write(command)

    def faults(self) -> list[str]:
        """A scope trips nothing; it has no protection to report."""
        return []

    def arm(self, *, pre_s: float, post_s: float, sample_rate_hz: float) -> None:
        """Single acquisition from ``pre_s`` before to ``post_s`` after the external trigger.

        The point count asked for is the smallest valid request that holds
        ``sample_rate_hz`` over the span; the scope chooses its own rate and
        says what it did in the preamble. Only settings that changed since
        the last arm are sent. A stale arm event is read away before
        ``:SINGle``, so ``armed`` reports this acquisition.
        """
        span = pre_s + post_s
        needed = math.ceil(span * sample_rate_hz)
        if not RAW_POINTS[0] <= needed <= RAW_POINTS[-1]:
            raise InstrumentError(self.name, "arm", f"{needed} points is outside {RAW_POINTS[0]}..{RAW_POINTS[-1]}")
        request = min(p for p in RAW_POINTS if p >= needed)
        self._set(":TIM:RANG", f"{span:.9g}")
        self._set(":TIM:POS", f"{-pre_s:.9g}")
        self._set(":WAV:POIN", str(request))
        self.query(":AER?")
        self.write(":SING")

    def _set(self, header: str, value: str) -> None:
        if self._sent.get(header) != value:
            self.write(f"{header} {value}")
            self._sent[header] = value

    def armed(self) -> bool:
        """True once the acquisition is ready for its trigger (``:AER?``; reading it clears it)."""
        return int(float(self.query(":AER?"))) == 1

    def complete(self) -> bool:
        return not int(float(self.query(":OPER:COND?"))) & RUN_BIT

    def fetch(self) -> Capture:
        """Both channels, scaled and timed by their preambles (which must agree on the time axis)."""
        t_s: np.ndarray | None = None
        channels: dict[str, np.ndarray] = {}
        for name, ch in CHANNELS.items():
            self.write(f":WAV:SOUR CHAN{ch}")
            fields = self.query(":WAV:PRE?").split(",")
            if len(fields) < 10:
                raise InstrumentError(self.name, ":WAV:PRE?", f"{len(fields)} preamble fields, expected 10")
            fmt, points = int(float(fields[0])), int(float(fields[2]))
            x_inc, x_origin, x_ref = float(fields[4]), float(fields[5]), float(fields[6])
            y_inc, y_origin, y_ref = float(fields[7]), float(fields[8]), float(fields[9])
            if fmt not in BLOCK_TYPES:
                raise InstrumentError(self.name, ":WAV:PRE?", f"waveform format {fmt} is neither BYTE nor WORD")
            codes = self.query_block(":WAV:DATA?", BLOCK_TYPES[fmt])
            if len(codes) != points:
                raise InstrumentError(self.name, ":WAV:DATA?", f"{len(codes)} points, preamble said {points}")
            channels[name] = (codes.astype(float) - y_ref) * y_inc + y_origin
            axis = x_origin + (np.arange(points) - x_ref) * x_inc
            if t_s is not None and (len(axis) != len(t_s) or not np.allclose(axis, t_s, rtol=0.0, atol=x_inc / 1e3)):
                raise InstrumentError(self.name, ":WAV:PRE?", f"channel {ch}'s time axis differs from channel 1's")
            t_s = axis
        assert t_s is not None
        return Capture(t_s=t_s, channels=channels)

    def safe_off(self) -> None:
        """A scope has no output to open; stop acquiring so nothing waits on it."""
        self.write(":STOP")
