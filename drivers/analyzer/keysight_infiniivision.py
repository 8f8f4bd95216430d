"""Keysight InfiniiVision oscilloscope as the trip-time digitizer.

Wiring this driver assumes (state it in the bench file): channel 1 a current
probe on the charger's line conductor (scaled in A), channel 2 a
differential probe on the charger's terminals (V), EXTernal trigger from the
grid simulator's trigger output. Commands follow the InfiniiVision
programmer's guide (``:TIMebase``, ``:TRIGger:EDGE``, ``:SINGle``,
``:OPERegister:CONDition?`` run bit, ``:WAVeform:PREamble?`` and
``:WAVeform:DATA?`` as 16-bit words).
"""

from __future__ import annotations

import math

import numpy as np

from drivers.scpi import ScpiDriver
from rig.errors import InstrumentError
from rig.identity import InstrumentFamily
from rig.roles import Capture

CHANNELS = {"current": 1, "voltage": 2}
RUN_BIT = 8


class KeysightInfiniiVision(ScpiDriver):
    family = InstrumentFamily("Keysight InfiniiVision oscilloscope",
                              manufacturer=r"(KEYSIGHT|AGILENT) TECHNOLOGIES",
                              model=r"(DSO|MSO)-?X ?\d{4}[A-Z]?")

    def arm(self, *, pre_s: float, post_s: float, sample_rate_hz: float) -> None:
        """Single acquisition from ``pre_s`` before to ``post_s`` after the external trigger."""
        span = pre_s + post_s
        points = math.ceil(span * sample_rate_hz)
        if not 100 <= points <= 4_000_000:
            raise InstrumentError(self.name, "arm", f"{points} points is outside 100..4000000")
        ranges = {"current": float(self.options.get("current_range_a", 100.0)),
                  "voltage": float(self.options.get("voltage_range_v", 800.0))}
        for name, ch in CHANNELS.items():
            self.write(f":CHAN{ch}:RANG {ranges[name]:.6g}")
            self.write(f":CHAN{ch}:OFFS 0")
        self.write(f":TIM:RANG {span:.9g}")
        self.write(":TIM:REF LEFT")
        self.write(f":TIM:POS {-pre_s:.9g}")
        self.write(":TRIG:MODE EDGE")
        self.write(":TRIG:EDGE:SOUR EXT")
        self.write(":WAV:FORM WORD")
        self.write(":WAV:BYT LSBF")
        self.write(":WAV:UNS 0")
        self.write(":WAV:POIN:MODE RAW")
        self.write(f":WAV:POIN {points}")
        self.write(":SING")

    def complete(self) -> bool:
        return not int(self.query(":OPER:COND?")) & RUN_BIT

    def fetch(self) -> Capture:
        t_s: np.ndarray | None = None
        channels: dict[str, np.ndarray] = {}
        for name, ch in CHANNELS.items():
            self.write(f":WAV:SOUR CHAN{ch}")
            fields = self.query(":WAV:PRE?").split(",")
            points, x_inc, x_origin = int(fields[2]), float(fields[4]), float(fields[5])
            y_inc, y_origin, y_ref = float(fields[7]), float(fields[8]), float(fields[9])
            codes = self.query_block(":WAV:DATA?", "h")
            if len(codes) != points:
                raise InstrumentError(self.name, ":WAV:DATA?", f"{len(codes)} points, preamble said {points}")
            channels[name] = (codes.astype(float) - y_ref) * y_inc + y_origin
            t_s = x_origin + np.arange(points) * x_inc
        assert t_s is not None
        return Capture(t_s=t_s, channels=channels)

    def safe_off(self) -> None:
        """A scope has no output to open; stop acquiring so nothing waits on it."""
        self.write(":STOP")
