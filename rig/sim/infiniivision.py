"""Keysight InfiniiVision-style oscilloscope used as the trip-time digitizer.

On the bench a current probe on the charger's line conductor feeds channel 1,
a differential voltage probe channel 2, and the grid simulator's trigger
output (pulsed when a list starts) the EXTernal trigger input, so the capture
starts exactly at the disturbance with a pre-trigger window. The scope
decimates its record to ``:WAVeform:POINts`` on readout; the effective sample
rate is points / time range. Only the subset of the command set the rig's
driver uses is served.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from rig.sim.model import LabModel
from rig.sim.scpi import ScpiError, ScpiInstrument, ieee_block, illegal_value

CHANNELS = {1: "current", 2: "voltage"}
MAX_POINTS = 4_000_000
RUN_BIT = 8  # :OPERegister:CONDition? bit 3: acquisition running


class InfiniiVision(ScpiInstrument):
    idn = "KEYSIGHT TECHNOLOGIES,MSOX3104T,SIM-MY0001,07.50-sim"

    def __init__(self, lab: LabModel) -> None:
        super().__init__()
        self.lab = lab
        self.range_s = 1.0
        self.reference = "CENT"
        self.position_s = 0.0
        self.channel_range = {1: 100.0, 2: 800.0}
        self.channel_offset = {1: 0.0, 2: 0.0}
        self.source = 1
        self.format = "WORD"
        self.points = 1000
        self.armed_at: float | None = None
        self._trigger_read = False
        self._record: dict[int, np.ndarray] | None = None
        add = self.add
        add(":TIMebase:RANGe", lambda a: setattr(self, "range_s", self._positive(a)))
        add(":TIMebase:RANGe", lambda a: f"{self.range_s:.6e}", query=True)
        add(":TIMebase:REFerence", self._set_reference)
        add(":TIMebase:POSition", lambda a: setattr(self, "position_s", float(a[0])))
        for ch in CHANNELS:
            add(f":CHANnel{ch}:RANGe", self._channel_setter(self.channel_range, ch, self._positive))
            add(f":CHANnel{ch}:OFFSet", self._channel_setter(self.channel_offset, ch, lambda a: float(a[0])))
            for accepted in ("PROBe", "UNITs", "DISPlay", "COUPling"):
                add(f":CHANnel{ch}:{accepted}", lambda a: None)
        for accepted in (":TRIGger:MODE", ":TRIGger:EDGE:SLOPe", ":TRIGger:EDGE:LEVel", ":WAVeform:BYTeorder",
                         ":WAVeform:UNSigned", ":WAVeform:POINts:MODE", ":ACQuire:TYPE"):
            add(accepted, lambda a: None)
        add(":TRIGger:EDGE:SOURce", self._set_trigger_source)
        add(":SINGle", self._single)
        add(":STOP", lambda a: setattr(self, "armed_at", None))
        add(":TER", self._ter, query=True)
        add(":OPERegister:CONDition", lambda a: str(RUN_BIT if self._running() else 0), query=True)
        add(":WAVeform:SOURce", self._set_source)
        add(":WAVeform:FORMat", self._set_format)
        add(":WAVeform:POINts", self._set_points)
        add(":WAVeform:POINts", lambda a: str(self.points), query=True)
        add(":ACQuire:SRATe", lambda a: f"{self.points / self.range_s:.6e}", query=True)
        add(":WAVeform:PREamble", self._preamble, query=True)
        add(":WAVeform:DATA", self._data, query=True)

    # -- settings -------------------------------------------------------------------------

    @staticmethod
    def _channel_setter(table: dict[int, float], ch: int, parse: Callable[[list[str]], float]) -> Callable[[list[str]], None]:
        def set_value(args: list[str]) -> None:
            table[ch] = parse(args)
        return set_value

    @staticmethod
    def _positive(args: list[str]) -> float:
        value = float(args[0])
        if value <= 0:
            raise illegal_value("must be positive")
        return value

    def _set_reference(self, args: list[str]) -> None:
        ref = args[0].upper()[:4]
        if ref not in ("LEFT", "CENT", "RIGH"):
            raise illegal_value("LEFT, CENTer or RIGHt")
        self.reference = ref

    def _set_trigger_source(self, args: list[str]) -> None:
        if args[0].upper() not in ("EXT", "EXTERNAL"):
            raise illegal_value("the simulated bench wires only the EXTernal trigger (grid simulator trigger out)")

    def _set_source(self, args: list[str]) -> None:
        name = args[0].upper()
        for ch in CHANNELS:
            if name in (f"CHAN{ch}", f"CHANNEL{ch}"):
                self.source = ch
                return
        raise illegal_value(f"unknown source {args[0]}")

    def _set_format(self, args: list[str]) -> None:
        fmt = args[0].upper()
        if fmt not in ("WORD", "BYTE"):
            raise illegal_value("format WORD or BYTE")
        self.format = fmt

    def _set_points(self, args: list[str]) -> None:
        n = int(float(args[0]))
        if not 100 <= n <= MAX_POINTS:
            raise ScpiError(-222, "Data out of range")
        self.points = n

    # -- acquisition ------------------------------------------------------------------------

    @property
    def left_edge_s(self) -> float:
        shift = {"LEFT": 0.0, "CENT": self.range_s / 2.0, "RIGH": self.range_s}[self.reference]
        return self.position_s - shift

    def _single(self, args: list[str]) -> None:
        self.armed_at = self.lab.now
        self._trigger_read = False
        self._record = None

    def _trigger_time(self) -> float | None:
        if self.armed_at is None:
            return None
        later = [t for t in self.lab.grid.trigger_times if t >= self.armed_at]
        return later[0] if later else None

    def _running(self) -> bool:
        t_trig = self._trigger_time()
        if self.armed_at is None:
            return False
        return t_trig is None or self.lab.now < t_trig + self.left_edge_s + self.range_s

    def _ter(self, args: list[str]) -> str:
        fired = self._trigger_time() is not None and not self._trigger_read
        if fired:
            self._trigger_read = True
        return "+1" if fired else "+0"

    def _acquired(self) -> dict[int, np.ndarray]:
        if self.armed_at is None or self._running():
            raise ScpiError(-230, "Data corrupt or stale;no completed acquisition")
        if self._record is None:
            t_trig = self._trigger_time()
            assert t_trig is not None  # not running and armed: the trigger came
            times = t_trig + self.left_edge_s + np.arange(self.points) * (self.range_s / self.points)
            waves = self.lab.waveforms(times)
            self._record = {ch: waves[name] for ch, name in CHANNELS.items()}
        return self._record

    def _scale(self, ch: int) -> tuple[float, int]:
        bits = 16 if self.format == "WORD" else 8
        return self.channel_range[ch] / 2**bits, bits

    def _preamble(self, args: list[str]) -> str:
        fmt = 1 if self.format == "WORD" else 0
        y_inc, _ = self._scale(self.source)
        return (f"{fmt},0,{self.points},1,{self.range_s / self.points:.9e},{self.left_edge_s:.9e},0,"
                f"{y_inc:.9e},{self.channel_offset[self.source]:.9e},0")

    def _data(self, args: list[str]) -> bytes:
        values = self._acquired()[self.source]
        y_inc, bits = self._scale(self.source)
        top = 2 ** (bits - 1) - 1
        codes = np.clip(np.round((values - self.channel_offset[self.source]) / y_inc), -top - 1, top)
        dtype = "<i2" if bits == 16 else "i1"
        return ieee_block(codes.astype(dtype).tobytes())
