"""Keysight InfiniiVision-style oscilloscope used as the trip-time digitizer.

On the bench a current probe on the charger's line conductor feeds channel 1,
a differential voltage probe channel 2, and the grid simulator's trigger
output (a TTL pulse when a list starts) the EXTernal trigger input, so the
capture starts exactly at the disturbance with a pre-trigger window. Only
the subset of the command set the rig's driver uses is served, but served
the way the programmer's guide (2000X/3000X/3000T/4000X) describes it:

- Power-on / ``*RST`` state: channel 1 displayed, the others off; trigger
  sweep AUTO on an edge of channel 1; waveform format BYTE, byte order MSB
  first, unsigned, 1000 points, source channel 1 (the guide's ``:WAVeform?``
  after ``*RST``).
- A channel that is not displayed acquires nothing: ``:WAV:PRE?`` and
  ``:WAV:DATA?`` on it are refused (-221 here; the real error is not
  confirmed) and, being failed queries, get no reply.
- After ``:SINGle`` the scope is armed only once its pre-trigger memory has
  filled (the pre-trigger span, in bench time). ``:AER?`` (Arm Event
  Register) answers 1 once armed and clears on read; the bit is latched, so
  an unread arm event of an earlier acquisition is still there. A trigger
  that comes before the scope is armed is missed.
- Sweep AUTO makes an artificial trigger if no trigger comes within
  ``AUTO_TRIGGER_S`` of arming (the real timeout depends on the timebase;
  the sim's figure is an assumption); NORMal waits for a real trigger.
- The EXTernal input sees the grid simulator's trigger output as a 0 -> 5 V
  pulse of ``TRIGGER_PULSE_S`` (unconfirmed: polarity, levels and width are
  not in the public manuals): slope POSitive triggers on its leading edge,
  NEGative on its trailing edge, and a level outside 0..5 V never triggers.
  A channel trigger source is accepted but never fires in the sim.
- The scope chooses its sample rate: the fastest of a 1-2-5 ladder within
  the maximum rate and the memory for the time range (MSOX3104T: 5 GSa/s and
  4 Mpts with one channel of the 1-2 pair on, 2.5 GSa/s and 2 Mpts with both;
  the ladder is the sim's assumption). ``:WAVeform:POINts`` is a request:
  the value is rounded down to the guide's list (100, 250, 500, 1000, 2000,
  5000, ...), the record is decimated by the smallest integer factor that
  fits it (at most 62 500 points in NORMal points mode), and the preamble
  gives the actual count and time axis.
- ``:WAVeform:BYTeorder`` and ``:WAVeform:UNSigned`` are honoured; the
  y-reference is 32768 (WORD) or 128 (BYTE) when unsigned, 0 when signed.
- The time axis as the guide draws it: ``:TIMebase:RANGe`` is ten
  divisions; ``:TIMebase:POSition`` is the time from the trigger to the
  reference point, positive when the reference comes after the trigger;
  ``:TIMebase:REFerence`` puts that point one division in from the left
  edge (LEFT), in the middle (CENTer) or one division in from the right edge
  (RIGHt) (python-ivi ``agilentBaseScope.py``, ``timebase.reference`` and
  ``timebase.position``). The first sample is therefore ``POSition -
  fraction * RANGe`` from the trigger, the fraction 0.1, 0.5 or 0.9: a rig
  that takes LEFT for the edge captures a tenth of the range early.
- The analog front end, per channel: probe attenuation (``:PROBe``, 0.001 to
  10000 as public code quotes the 4000X guide, 0.1 to 10000 on the DSOX1102G
  per pymeasure; -222 outside, the code unconfirmed), units (``:UNITs
  VOLT|AMPere``, queried as VOLT|AMP), coupling (``:COUPling AC|DC``) and
  ``:ACQuire:TYPE`` (NORMal, AVERage, HRESolution, PEAK) are state with
  queries. Power-on / ``*RST``: probe 10:1, units VOLT, coupling DC (the
  ``:CHANnel<n>?`` reply ``...COUP DC;...UNIT VOLT;PROB +10E+00...`` that
  pymeasure's DSOX1102G driver quotes), type NORMal (unconfirmed): not what
  the rig's probes need. A new attenuation multiplies the channel's range
  and offset by new / old (the range: pymeasure DSOX1102G ``Channel.setup``;
  the offset: an assumption, python-ivi drops both from its cache on a probe
  change).
- What the scope reports is what its front end makes of the probes really
  on its inputs (``PROBES``: a 10 mV/A clamp on channel 1, a 100:1
  differential probe on channel 2): the quantity divided by the real
  attenuation at the input, times the attenuation the scope was told. A
  wrong ``:PROBe`` gives wrong amplitudes, as on a real scope. AC coupling
  removes the record's mean (the DC a real high-pass of a few hertz blocks
  once settled; its corner and settling are not modelled), so a DC-injection
  measurement reads nothing. Units only label the data; the acquisition type
  does not change the sim's samples (they carry no ADC noise to average).
  The front end is taken as it was at ``:SINGle``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from rig.sim.instruments import scope_inputs
from rig.sim.instruments.scope_inputs import AUTO_TRIGGER_S, RATES, front_end, trigger_edges
from rig.sim.model import LabModel
from rig.sim.predicates import TIME_TOLERANCE_S
from rig.sim.wire.scpi_server import ScpiError, ScpiInstrument, ieee_block, illegal_value

CHANNELS = {1: "current", 2: "voltage"}
PROBES = {ch: scope_inputs.PROBES[name] for ch, name in CHANNELS.items()}
"""The probes the simulated bench has on each input (``scope_inputs.PROBES``: a 10 mV/A current clamp on
channel 1, a 100:1 differential probe on channel 2, the driver's default options)."""
PROBE_LIMITS = (0.001, 10_000.0)
REFERENCE_FRACTION = {"LEFT": 0.1, "CENT": 0.5, "RIGH": 0.9}
"""Where ``:TIMebase:REFerence`` puts the reference point, as a fraction of the range from the left edge."""
RAW_POINTS = (100, 250, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
              1_000_000, 2_000_000, 4_000_000, 8_000_000)
NORMAL_MAX_POINTS = 62_500
MAX_RATE_SA_S = {1: 5e9, 2: 2.5e9}
"""Maximum sample rate by the number of displayed channels of the 1-2 pair (MSOX3104T)."""
MEMORY_POINTS = {1: 4_000_000, 2: 2_000_000}
RUN_BIT = 8  # :OPERegister:CONDition? bit 3: acquisition running
WAIT_TRIG_BIT = 32  # bit 5: armed, waiting for the trigger
SLOPES = {"POS": "rising", "NEG": "falling"}


def _choice(args: list[str], choices: dict[str, str]) -> str:
    word = args[0].upper() if len(args) == 1 else ""
    if word not in choices:
        raise illegal_value(f"expected one of {', '.join(sorted(set(choices.values())))}")
    return choices[word]


def _bool(args: list[str]) -> bool:
    return _choice(args, {"1": "1", "ON": "1", "0": "0", "OFF": "0"}) == "1"


@dataclass
class Acquisition:
    """One :SINGle acquisition, with the settings it was started with."""

    started_s: float
    armed_s: float
    left_s: float  # the first sample, relative to the trigger
    span_s: float
    sample_rate: float
    points: int  # record length at ``sample_rate``
    channels: frozenset[int]  # displayed when it started: the only ones acquired
    front_end: dict[int, tuple[float, str]]  # probe attenuation and coupling of each channel when it started
    source: str
    level_v: float
    slope: str
    sweep: str
    records: dict[int, dict[int, np.ndarray]] = field(default_factory=dict)  # by decimation factor
    arm_latched: bool = False  # its arm event has reached the Arm Event Register


class InfiniiVision(ScpiInstrument):
    idn = "KEYSIGHT TECHNOLOGIES,MSOX3104T,SIM-MY0001,07.50-sim"

    def __init__(self, lab: LabModel) -> None:
        super().__init__()
        self.lab = lab
        self.reset()
        add = self.add
        add(":TIMebase:RANGe", lambda a: setattr(self, "range_s", self._positive(a)))
        add(":TIMebase:RANGe", lambda a: f"{self.range_s:+.6E}", query=True)
        add(":TIMebase:REFerence", lambda a: setattr(self, "reference", _choice(
            a, {"LEFT": "LEFT", "CENT": "CENT", "CENTER": "CENT", "RIGH": "RIGH", "RIGHT": "RIGH"})))
        add(":TIMebase:REFerence", lambda a: self.reference, query=True)
        add(":TIMebase:POSition", lambda a: setattr(self, "position_s", float(a[0])))
        add(":TIMebase:POSition", lambda a: f"{self.position_s:+.9E}", query=True)
        for ch in CHANNELS:
            add(f":CHANnel{ch}:RANGe", self._channel_setter("channel_range", ch, self._positive))
            add(f":CHANnel{ch}:RANGe", self._channel_getter("channel_range", ch, "{:+.6E}"), query=True)
            add(f":CHANnel{ch}:OFFSet", self._channel_setter("channel_offset", ch, lambda a: float(a[0])))
            add(f":CHANnel{ch}:OFFSet", self._channel_getter("channel_offset", ch, "{:+.6E}"), query=True)
            add(f":CHANnel{ch}:DISPlay", self._channel_setter("channel_display", ch, _bool))
            add(f":CHANnel{ch}:DISPlay", self._channel_getter("channel_display", ch, "{:d}"), query=True)
            add(f":CHANnel{ch}:PROBe", self._probe_setter(ch))
            add(f":CHANnel{ch}:PROBe", self._channel_getter("probe", ch, "{:+.5E}"), query=True)
            add(f":CHANnel{ch}:UNITs", self._channel_setter("units", ch, lambda a: _choice(
                a, {"VOLT": "VOLT", "AMP": "AMP", "AMPERE": "AMP"})))
            add(f":CHANnel{ch}:UNITs", self._channel_getter("units", ch, "{}"), query=True)
            add(f":CHANnel{ch}:COUPling", self._channel_setter("coupling", ch, lambda a: _choice(
                a, {"AC": "AC", "DC": "DC"})))
            add(f":CHANnel{ch}:COUPling", self._channel_getter("coupling", ch, "{}"), query=True)
        add(":TRIGger:MODE", lambda a: setattr(self, "trigger_mode", a[0].upper()))
        add(":TRIGger:SWEep", lambda a: setattr(self, "sweep", _choice(
            a, {"AUTO": "AUTO", "NORM": "NORM", "NORMAL": "NORM"})))
        add(":TRIGger:SWEep", lambda a: self.sweep, query=True)
        add(":TRIGger[:EDGE]:SOURce", lambda a: setattr(self, "trigger_source", _choice(
            a, {"EXT": "EXT", "EXTERNAL": "EXT", "CHAN1": "CHAN1", "CHANNEL1": "CHAN1",
                "CHAN2": "CHAN2", "CHANNEL2": "CHAN2"})))
        add(":TRIGger[:EDGE]:LEVel", lambda a: setattr(self, "trigger_level_v", float(a[0])))
        add(":TRIGger[:EDGE]:SLOPe", lambda a: setattr(self, "slope", _choice(
            a, {"POS": "POS", "POSITIVE": "POS", "NEG": "NEG", "NEGATIVE": "NEG",
                "EITH": "EITH", "EITHER": "EITH", "ALT": "ALT", "ALTERNATE": "ALT"})))
        add(":ACQuire:TYPE", lambda a: setattr(self, "acquire_type", _choice(a, {
            "NORM": "NORM", "NORMAL": "NORM", "AVER": "AVER", "AVERAGE": "AVER", "HRES": "HRES",
            "HRESOLUTION": "HRES", "PEAK": "PEAK"})))
        add(":ACQuire:TYPE", lambda a: self.acquire_type, query=True)
        add(":SINGle", self._single)
        add(":STOP", self._stop)
        add(":AER", self._aer, query=True)
        add(":TER", self._ter, query=True)
        add(":OPERegister:CONDition", lambda a: f"{self._operation_condition():+d}", query=True)
        add(":WAVeform:SOURce", self._set_source)
        add(":WAVeform:FORMat", lambda a: setattr(self, "format", _choice(a, {"WORD": "WORD", "BYTE": "BYTE"})))
        add(":WAVeform:BYTeorder", lambda a: setattr(self, "byte_order", _choice(
            a, {"MSBF": "MSBF", "MSBFIRST": "MSBF", "LSBF": "LSBF", "LSBFIRST": "LSBF"})))
        add(":WAVeform:UNSigned", lambda a: setattr(self, "unsigned", _bool(a)))
        add(":WAVeform:POINts:MODE", lambda a: setattr(self, "points_mode", _choice(
            a, {"NORM": "NORM", "NORMAL": "NORM", "MAX": "MAX", "MAXIMUM": "MAX", "RAW": "RAW"})))
        add(":WAVeform:POINts", self._set_points)
        add(":WAVeform:POINts", lambda a: f"{self.points:+d}", query=True)
        add(":ACQuire:SRATe", lambda a: f"{self._plan()[0]:+.6E}", query=True)
        add(":ACQuire:POINts", lambda a: f"{self._plan()[1]:+d}", query=True)
        add(":WAVeform:PREamble", self._preamble, query=True)
        add(":WAVeform:DATA", self._data, query=True)

    def reset(self) -> None:
        """Power-on / *RST state."""
        self.range_s = 1e-3
        self.reference = "CENT"
        self.position_s = 0.0
        self.channel_range = {1: 8.0, 2: 8.0}
        self.channel_offset = {1: 0.0, 2: 0.0}
        self.channel_display = {1: True, 2: False}
        self.probe = {1: 10.0, 2: 10.0}
        self.units = {1: "VOLT", 2: "VOLT"}
        self.coupling = {1: "DC", 2: "DC"}
        self.acquire_type = "NORM"
        self.trigger_mode = "EDGE"
        self.sweep = "AUTO"
        self.trigger_source = "CHAN1"
        self.trigger_level_v = 0.0
        self.slope = "POS"
        self.source = 1
        self.format = "BYTE"
        self.byte_order = "MSBF"
        self.unsigned = True
        self.points = 1000
        self.points_mode = "NORM"
        self.acquisition: Acquisition | None = None
        self._arm_event = False
        self._trigger_read = False

    # -- settings -------------------------------------------------------------------------

    def _channel_setter(self, table: str, ch: int, parse: Callable[[list[str]], object]) -> Callable[[list[str]], None]:
        def set_value(args: list[str]) -> None:
            getattr(self, table)[ch] = parse(args)
        return set_value

    def _channel_getter(self, table: str, ch: int, form: str) -> Callable[[list[str]], str]:
        def get_value(args: list[str]) -> str:
            return form.format(getattr(self, table)[ch])
        return get_value

    def _probe_setter(self, ch: int) -> Callable[[list[str]], None]:
        """A new attenuation rescales the channel's range and offset: the input's volts per division stay."""
        def set_probe(args: list[str]) -> None:
            ratio = float(args[0])
            if not PROBE_LIMITS[0] <= ratio <= PROBE_LIMITS[1]:
                raise ScpiError(-222, "Data out of range")
            factor = ratio / self.probe[ch]
            self.channel_range[ch] *= factor
            self.channel_offset[ch] *= factor
            self.probe[ch] = ratio
        return set_probe

    @staticmethod
    def _positive(args: list[str]) -> float:
        value = float(args[0])
        if value <= 0:
            raise illegal_value("must be positive")
        return value

    def _set_source(self, args: list[str]) -> None:
        name = args[0].upper()
        for ch in CHANNELS:
            if name in (f"CHAN{ch}", f"CHANNEL{ch}"):
                self.source = ch
                return
        raise illegal_value(f"unknown source {args[0]}")

    def _set_points(self, args: list[str]) -> None:
        n = int(float(args[0]))
        if not RAW_POINTS[0] <= n <= RAW_POINTS[-1]:
            raise ScpiError(-222, "Data out of range")
        self.points = max(p for p in RAW_POINTS if p <= n)  # a request: rounded down to a valid count

    def clear_status(self) -> None:
        """*CLS also clears the event registers (the Arm Event Register among them)."""
        super().clear_status()
        self._latch_arm_event()
        self._arm_event = False

    # -- acquisition ------------------------------------------------------------------------

    @property
    def left_edge_s(self) -> float:
        """The first sample, from the trigger: the reference point is ``position_s`` after the trigger."""
        return self.position_s - REFERENCE_FRACTION[self.reference] * self.range_s

    def _plan(self) -> tuple[float, int]:
        """The sample rate the scope chooses for the time range and displayed channels, and the record length."""
        shown = max(sum(self.channel_display[ch] for ch in CHANNELS), 1)
        fitting = [r for r in RATES if r <= MAX_RATE_SA_S[shown] and r * self.range_s <= MEMORY_POINTS[shown]]
        rate = fitting[-1] if fitting else RATES[0]
        return rate, max(int(round(rate * self.range_s)), 1)

    def _single(self, args: list[str]) -> None:
        self._latch_arm_event()
        rate, points = self._plan()
        left = self.left_edge_s
        now = self.lab.now
        self.acquisition = Acquisition(
            started_s=now, armed_s=now + max(-left, 0.0), left_s=left, span_s=self.range_s, sample_rate=rate,
            points=points, channels=frozenset(ch for ch in CHANNELS if self.channel_display[ch]),
            front_end={ch: (self.probe[ch], self.coupling[ch]) for ch in CHANNELS},
            source=self.trigger_source if self.trigger_mode.startswith("EDGE") else "NONE",
            level_v=self.trigger_level_v, slope=self.slope, sweep=self.sweep)
        self._trigger_read = False

    def _stop(self, args: list[str]) -> None:
        if self.acquisition is not None and not self._complete(self.acquisition):
            self.acquisition = None

    def _latch_arm_event(self) -> None:
        acq = self.acquisition
        if acq is not None and not acq.arm_latched and self.lab.now >= acq.armed_s - TIME_TOLERANCE_S:
            self._arm_event = True
            acq.arm_latched = True  # one event per acquisition

    def _aer(self, args: list[str]) -> str:
        self._latch_arm_event()
        armed, self._arm_event = self._arm_event, False
        return "+1" if armed else "+0"

    def _edges(self, acq: Acquisition) -> list[float]:
        """Instants the EXTernal input crosses the trigger level on the chosen slope."""
        if acq.source != "EXT":
            return []
        return trigger_edges(self.lab, acq.level_v, SLOPES.get(acq.slope, "either"))  # type: ignore[arg-type]

    def _trigger_time(self, acq: Acquisition) -> float | None:
        now = self.lab.now
        candidates = [t for t in self._edges(acq) if acq.armed_s - TIME_TOLERANCE_S <= t <= now]
        if acq.sweep == "AUTO" and acq.armed_s + AUTO_TRIGGER_S <= now:
            candidates.append(acq.armed_s + AUTO_TRIGGER_S)
        return min(candidates) if candidates else None

    def _complete(self, acq: Acquisition) -> bool:
        t_trig = self._trigger_time(acq)
        return t_trig is not None and self.lab.now >= t_trig + acq.left_s + acq.span_s - TIME_TOLERANCE_S

    def _operation_condition(self) -> int:
        acq = self.acquisition
        if acq is None or self._complete(acq):
            return 0
        waiting = self.lab.now >= acq.armed_s - TIME_TOLERANCE_S and self._trigger_time(acq) is None
        return RUN_BIT | (WAIT_TRIG_BIT if waiting else 0)

    def _ter(self, args: list[str]) -> str:
        fired = self.acquisition is not None and self._trigger_time(self.acquisition) is not None
        if fired and not self._trigger_read:
            self._trigger_read = True
            return "+1"
        return "+0"

    # -- readout --------------------------------------------------------------------------------

    def _readout(self) -> tuple[Acquisition, int, int]:
        """The completed acquisition, the decimation factor and point count a transfer of the source gives."""
        acq = self.acquisition
        if acq is None or not self._complete(acq):
            raise ScpiError(-230, "Data corrupt or stale;no completed acquisition")
        ch = self.source
        if ch not in acq.channels or not self.channel_display[ch]:
            raise ScpiError(-221, f"Settings conflict;channel {ch} is not displayed: it acquired no data")
        cap = acq.points if self.points_mode in ("RAW", "MAX") else min(acq.points, NORMAL_MAX_POINTS)
        target = min(self.points, cap)
        k = math.ceil(acq.points / target)
        return acq, k, math.ceil(acq.points / k)

    def _samples(self, acq: Acquisition, k: int, n: int) -> dict[int, np.ndarray]:
        if k not in acq.records:
            t_trig = self._trigger_time(acq)
            assert t_trig is not None  # complete
            times = t_trig + acq.left_s + np.arange(n) * (k / acq.sample_rate)
            waves = self.lab.waveforms(times)
            acq.records[k] = {ch: front_end(waves[name], name, acq.front_end[ch][0], acq.front_end[ch][1] == "AC")
                              for ch, name in CHANNELS.items() if ch in acq.channels}
        return acq.records[k]

    def _scale(self, ch: int) -> tuple[float, int, int]:
        """y increment, bits per sample and y reference of the present format and signedness."""
        bits = 16 if self.format == "WORD" else 8
        y_ref = 2 ** (bits - 1) if self.unsigned else 0
        return self.channel_range[ch] / 2**bits, bits, y_ref

    def _preamble(self, args: list[str]) -> str:
        acq, k, n = self._readout()
        y_inc, _, y_ref = self._scale(self.source)
        fmt = 1 if self.format == "WORD" else 0
        return (f"{fmt:+d},+0,{n:+d},+1,{k / acq.sample_rate:+.9E},{acq.left_s:+.9E},+0,"
                f"{y_inc:+.9E},{self.channel_offset[self.source]:+.9E},{y_ref:+d}")

    def _data(self, args: list[str]) -> bytes:
        acq, k, n = self._readout()
        values = self._samples(acq, k, n)[self.source]
        y_inc, bits, y_ref = self._scale(self.source)
        top = 2 ** (bits - 1) - 1
        codes = np.clip(np.round((values - self.channel_offset[self.source]) / y_inc), -top - 1, top) + y_ref
        kind = ("u" if self.unsigned else "i") + str(bits // 8)
        order = "" if bits == 8 else (">" if self.byte_order == "MSBF" else "<")
        return ieee_block(codes.astype(order + kind).tobytes())
