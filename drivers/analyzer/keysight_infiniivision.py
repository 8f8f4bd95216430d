"""Keysight InfiniiVision oscilloscope (2000X/3000X/3000T/4000X) as the trip-time digitizer.

Wiring this driver assumes (state it in the bench file): channel 1 a current
probe on the charger's line conductor (scaled in A), channel 2 a
differential probe on the charger's terminals (V), EXTernal trigger from the
grid simulator's trigger output (TTL).

The capture window. ``:TIMebase:RANGe`` is the full screen, ten divisions
("the range is 10 times the current time-per-division setting": python-ivi
``ivi/agilent/agilentBaseScope.py``, ``timebase.range``). ``:TIMebase:POSition``
is the time from the trigger event to the display reference point, positive
when the reference comes after the trigger (python-ivi ``timebase.position``,
"the time interval between the trigger event and the display reference
point"; pymeasure ``pymeasure/instruments/keysight/keysightDSOX1102G.py``,
``timebase_offset``; the 4000 X-Series programmer's guide, ``:TIMebase:POSition``,
"<pos> ::= time in seconds from the trigger to the display reference", a copy
of which is attached to the pfroud/JVisa repository as 4000X-Programming.pdf).
``:TIMebase:REFerence`` places that point: LEFT one division in from the
left edge, CENTer in the middle, RIGHt one division in from the right edge
(python-ivi ``timebase.reference``; the guide, ``:TIMebase:REFerence``). The
driver uses CENTer, the one place that is half the range by symmetry and the
form python-ivi's own ``acquisition.start_time`` (``position - range / 2``) and
pymeasure's ``timebase_offset`` (``:TIMebase:REFerence CENTer;:TIMebase:POSition``)
rely on: the first sample lies ``POSition - RANGe/2`` from the trigger, so
``POSition = RANGe/2 - pre_s`` puts it ``pre_s`` before the trigger and the
last ``post_s`` after it. (The driver used to take LEFT for the left edge and
send ``POSition = -pre_s``: the capture started and ended a tenth of the range
early, and a trip in the last tenth of the window was never seen.)

The front end. What a code means comes from the scope's own channel state,
which the front panel (or a probe that identifies itself, AutoProbe) can
change; set-up therefore sends, per channel and before the range (changing
the probe multiplies the range by its attenuation: pymeasure DSOX1102G,
``Channel.setup``):

- ``:CHANnel<n>:PROBe <ratio>`` from the options ``current_probe_ratio`` (A
  per V at the scope's input) and ``voltage_probe_ratio`` (python-ivi
  ``_set_channel_probe_attenuation``; pymeasure ``probe_attenuation``, 0.1 to
  10000, the range the options accept);
- ``:CHANnel<n>:UNITs {VOLT|AMPere}`` (PyICe-ADI/PyICe
  ``PyICe/lab_instruments/agilent_3034a.py``, ``add_channel_units``; the query
  answers VOLT or AMP);
- ``:CHANnel<n>:COUPling DC``: AC coupling blocks the DC component a DC
  injection measurement looks for (python-ivi ``_set_channel_coupling``;
  pymeasure ``coupling``, query AC or DC);
- ``:ACQuire:TYPE NORMal`` (python-ivi ``AcquisitionTypeMapping``; pymeasure
  ``acquisition_type``, query NORM, AVER, HRES or PEAK): each point one
  sample, as the suites' uncertainty budgets take it (code step, noise
  measured in the record); HRESolution averages samples, AVERage needs
  repeated triggers and PEAK returns min/max pairs.

The words are sent in their short forms (AMP, NORM, CENT), as the other
settings are. Each is read back with its query, at set-up and again before
every ``:SINGle``: a reply that is not what was set (a probe that sets its
own ratio and units, a front panel touched between cases) is an
``InstrumentError`` naming the setting, and nothing is captured. A real
scope would not refuse: it would measure wrong.

Confirmed in the InfiniiVision programmer's guides (2000X, 3000X, 3000T,
4000X; see shared/reference/instruments.md) and pymeasure's DSOX1102G
driver: ``:CHANnel<n>:DISPlay`` (an undisplayed channel acquires nothing),
``:CHANnel<n>:RANGe/OFFSet``, ``:TRIGger:MODE EDGE``,
``:TRIGger:SWEep NORMal`` (AUTO, the default, makes artificial triggers),
``:TRIGger:EDGE:SOURce/LEVel/SLOPe``, ``:SINGle``, ``:AER?`` (Arm Event
Register: 1 once armed, cleared when read), ``:OPERegister:CONDition?`` (run
bit 3), ``:WAVeform:FORMat WORD``, ``:BYTeorder LSBFirst``, ``:UNSigned 0``
(the defaults are MSB first and unsigned), ``:WAVeform:POINts:MODE RAW`` and
``:WAVeform:POINts`` as a request (100, 250, 500, 1000, 2000, 5000, ... in
RAW mode; the scope may return fewer), ``:WAVeform:PREamble?`` (format,
type, points, count, xincrement, xorigin, xreference, yincrement, yorigin,
yreference) and ``:WAVeform:DATA?``; the timebase and front-end commands as
cited above.

Unconfirmed: the EXTernal trigger level and slope that suit the grid
simulator's trigger output (options ``trigger_level_v``, default 1.5 V, and
``trigger_slope``, default POS: a TTL rising edge); the largest request
(4 000 000 points, the 3000T/4000X memory) on smaller models; the probe
ratios of your bench's probes (the defaults, 100 and 100, are the simulated
bench's: a 10 mV/A current clamp and a 100:1 differential probe); that a
``:PROBe?`` reply repeats the ratio to 1 ppm (it is compared so); how a probe
that identifies itself (AutoProbe) answers a ``:PROBe`` or ``:UNITs`` that
differs from its own (the read-back catches either outcome).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from pydantic import Field

from drivers.analyzer.scope_front_end import CHANNELS, FrontEndScope, FrontEndSetting, ScopeOptions
from drivers.scpi import BlockType
from rig.core.bench_checks import BenchCheck
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import InstrumentError
from rig.core.identity import InstrumentFamily
from rig.core.roles import Capture

UNITS = {"current": "AMP", "voltage": "VOLT"}
"""``:CHANnel<n>:UNITs`` of each channel, in the short form the query answers."""
RUN_BIT = 8
RAW_POINTS = (100, 250, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
              1_000_000, 2_000_000, 4_000_000)
"""Valid ``:WAVeform:POINts`` requests in RAW mode, up to the largest memory of the family."""
BLOCK_TYPES: dict[int, BlockType] = {0: "b", 1: "h"}  # preamble format BYTE / WORD, signed (``:WAV:UNS 0``)
SLOPES = ("POS", "NEG")


@dataclass(frozen=True)
class KeysightSetting(FrontEndSetting):
    """A front-end setting as an InfiniiVision answers it."""

    def agrees(self, reply: str) -> bool:
        """A number agrees to 1 ppm (the query answers in NR3, ``+1.00000E+02``); a word in its short form."""
        try:
            return math.isclose(float(reply), float(self.value), rel_tol=1e-6)
        except ValueError:
            return reply.strip().upper() == self.value


ACQUISITION = KeysightSetting(":ACQ:TYPE", "NORM", "acquisition type")


class KeysightInfiniiVision(FrontEndScope):
    """Options: ``current_range_a``, ``voltage_range_v`` (full-scale ranges of the two channels),
    ``current_probe_ratio``, ``voltage_probe_ratio`` (the probes' attenuation as the scope counts it),
    ``trigger_level_v`` and ``trigger_slope`` (POS|NEG) of the EXTernal edge trigger."""

    family = InstrumentFamily("Keysight InfiniiVision 2000X/3000X/3000T/4000X oscilloscope",
                              manufacturer=r"(KEYSIGHT|AGILENT) TECHNOLOGIES",
                              model=r"(DSO|MSO)-?X ?[234]\d{3}[AGT]")

    reference = "CENT"
    """``:TIMebase:REFerence``: the place ``window`` computes the position from."""

    class Options(ScopeOptions):
        trigger_level_v: float = Field(1.5, description="Level of the EXTernal edge trigger.")
        trigger_slope: Literal["POS", "NEG"] = Field("POS", description="Its slope (either case in the file).")

    def __init__(self, resource: str, *, name: str, envelope: EnvelopeGuard | None = None,
                 timeout_ms: int = 5000, options: dict[str, Any] | None = None) -> None:
        super().__init__(resource, name=name, envelope=envelope, timeout_ms=timeout_ms, options=options)
        self.channel_front_end = {name: self._channel_front_end(name) for name in CHANNELS}
        self.front_end = (*(s for c in self.channel_front_end.values() for s in c), ACQUISITION)

    def _channel_front_end(self, name: str) -> tuple[FrontEndSetting, ...]:
        ch = CHANNELS[name]
        what = f"channel {ch} ({name})"
        return (KeysightSetting(f":CHAN{ch}:PROB", f"{self.probes[name]:.6g}", f"{what} probe attenuation"),
                KeysightSetting(f":CHAN{ch}:UNIT", UNITS[name], f"{what} units"),
                KeysightSetting(f":CHAN{ch}:COUP", "DC", f"{what} coupling"))

    def setup(self) -> None:
        """Both channels displayed, probed and scaled, an explicit external edge trigger, 16-bit signed LSB-first
        readout; then the front end read back (``InstrumentError`` if the scope does not hold it)."""
        self._sent.clear()
        commands = ["*CLS"]
        for name, ch in CHANNELS.items():  # the probe before the range: changing it rescales the range
            commands += [f":CHAN{ch}:DISP ON", *(s.command for s in self.channel_front_end[name]),
                         f":CHAN{ch}:RANG {self.ranges[name]:.6g}", f":CHAN{ch}:OFFS 0"]
        commands += [ACQUISITION.command, f":TIM:REF {self.reference}", ":TRIG:MODE EDGE", ":TRIG:SWE NORM",
                     ":TRIG:EDGE:SOUR EXT", f":TRIG:EDGE:LEV {self.trigger_level_v:.6g}",
                     f":TRIG:EDGE:SLOP {self.trigger_slope}", ":WAV:FORM WORD", ":WAV:BYT LSBF", ":WAV:UNS 0",
                     ":WAV:POIN:MODE RAW"]
        for command in commands:
            self.write(command)
        self.confirm_front_end()

    def faults(self) -> list[str]:
        """A scope trips nothing; it has no protection to report."""
        return []

    def bench_checks(self) -> list[BenchCheck]:
        """Each front-end setting the driver will set answers its query (set-up sets them and every arm reads
        them back; here they are only asked, as the unit holds them now)."""
        return super().bench_checks() + self.front_end_checks()

    def arm(self, *, pre_s: float, post_s: float, sample_rate_hz: float) -> None:
        """Single acquisition from ``pre_s`` before to ``post_s`` after the external trigger.

        The point count asked for is the smallest valid request that holds
        ``sample_rate_hz`` over the span; the scope chooses its own rate and
        says what it did in the preamble. The front end is read back first
        (it may have been changed since set-up). Only timebase settings that
        changed since the last arm are sent. A stale arm event is read away
        before ``:SINGle``, so ``armed`` reports this acquisition.
        """
        span, position = self.window(pre_s, post_s)
        needed = math.ceil(span * sample_rate_hz)
        if not RAW_POINTS[0] <= needed <= RAW_POINTS[-1]:
            raise InstrumentError(self.name, "arm", f"{needed} points is outside {RAW_POINTS[0]}..{RAW_POINTS[-1]}")
        request = min(p for p in RAW_POINTS if p >= needed)
        self.confirm_front_end()
        self._set(":TIM:RANG", f"{span:.9g}")
        self._set(":TIM:POS", f"{position:.9g}")
        self._set(":WAV:POIN", str(request))
        self.query(":AER?")
        self.write(":SING")

    @staticmethod
    def window(pre_s: float, post_s: float) -> tuple[float, float]:
        """``:TIMebase:RANGe`` and ``:POSition`` of a capture from ``pre_s`` before the trigger to ``post_s`` after
        it: with the reference at the centre the first sample is ``POSition - RANGe/2`` from the trigger."""
        span = pre_s + post_s
        return span, span / 2.0 - pre_s

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
