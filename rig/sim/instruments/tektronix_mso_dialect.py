"""Tektronix 4/5/6 Series MSO used as the trip-time digitizer (the ``tektronix_mso`` driver's twin).

The same bench as the InfiniiVision's (``scope_inputs``: a 10 mV/A clamp on
CH1, a 100:1 differential probe on CH2, the grid simulator's trigger output
on the AUX trigger input), served in the Tektronix dialect as the 4/5/6
Series programmer manual describes it (command text as tm_devices carries
it for MSO4/4B/5/5B/5LP/6/6B, ``tm_devices/commands/gen_e3e9uu_lpdmso/``).
Only the subset the rig's driver uses is served, but served strictly:

- Errors are Tektronix events, not a SCPI error queue: ``SYSTem:ERRor?`` is
  an undefined header here. A refused command sets its bit in the Standard
  Event Status Register (CME 32 for 1xx, EXE 16 for 2xx, DDE 8 for 3xx) and
  queues an event with a positive code (``113,"Undefined header;..."``). The
  queue releases events only to a reader who has read ``*ESR?`` since they
  happened: ``ALLEv?`` / ``EVMsg?`` answer ``1,"No events to report - new
  events pending *ESR?"`` until then, ``0,"No events to report - queue
  empty"`` when nothing is left (tm_devices' Tektronix scope mixin reads
  ``*ESR?`` then ``:ALLEv?``; public drivers note the priming read). A failed
  query sends no reply.
- ``HEADer`` is ON at power-on (unconfirmed for this family; the older TDS
  default, so a driver must switch it off): every query reply then starts
  with its long header (``:WFMOUTPRE:XINCR 1.0000E-4``). Enumerations are
  answered in their long form (VERBose ON). ``*RST`` leaves both alone.
- Power-on / ``*RST``: only CH1 displayed, 0.1 V/div, coupling DC, external
  attenuation 1, units V; ``ACQuire:MODe SAMple``, ``STOPAfter RUNSTop``;
  trigger A EDGE on CH1, rising, mode AUTO; horizontal mode AUTO at 40 us/div,
  position 50 %, delay off; ``DATa:ENCdg RIBinary`` (MSB first), width 1,
  ``DATa:STARt 1``, ``DATa:STOP 10000``, source CH1 (unconfirmed where the
  manual text found gives no default; every one is what a careless driver
  would inherit).
- A channel that is not displayed (``DISplay:GLObal:CH<x>:STATE`` or the
  older ``SELect:CH<x>``) acquires nothing: ``CURVe?`` and the preamble on
  it are refused (221) and answer nothing.
- The horizontal system: ``HORizontal:MODe AUTO`` picks the rate itself for
  the scale, keeping the record within ``AUTO_MAX_RECORD`` points (the sim's
  assumption: a long window gets a slow rate there); its record length and
  sample rate are read only (221). ``MANual`` holds the rate asked for,
  rounded up to the 1-2-5 ladder within ``MAX_RATE``, and the record length
  follows the scale (record = rate x 10 divisions x scale), or, with
  ``HORizontal:MODe:MANual:CONFIGure HORIZontalscale``, a new rate changes
  the scale instead. A record that would exceed ``MAX_RECORD`` slows the rate.
  The record spans ten divisions; the trigger lies ``HORizontal:POSition`` %
  into it (0 the left edge); with ``HORizontal:DELay:MODe ON`` the position
  is forced to 50 % and the record's centre lies ``HORizontal:DELay:TIMe``
  after the trigger.
- The sample clock runs free: samples fall on multiples of the sample
  interval of lab time, so the trigger lies between two samples. The
  preamble says where, as the manual defines it: ``WFMOutpre:PT_Off`` is the
  index (from ``DATa:STARt``, 0 first) of the point just after the trigger,
  ``XZEro`` that point's time after the trigger, so point n lies at
  ``XZEro + XINcr * (n - PT_Off)``. (Public code that ran on an MSO64B reads
  XZEro as the first point's time with PT_Off 0; the same formula holds.)
- Single sequence: ``ACQuire:STOPAfter SEQuence`` then ``ACQuire:STATE ON``
  (or RUN, 1). ``TRIGger:STATE?`` answers ARMED while the pre-trigger part
  of the record fills (in bench time), READY once the scope can take its
  trigger, TRIGGER while it fills the rest, SAVE when stopped. A trigger
  before READY is missed. Mode AUTO triggers by itself ``AUTO_TRIGGER_S``
  after READY (answering AUTO while it acquires); NORMal waits. In RUNSTop
  the scope never stops (``ACQuire:STATE?`` stays 1) and re-arms.
- AUX input: the grid simulator's trigger pulse (``scope_inputs``) crosses
  ``TRIGger:AUXLevel`` (a level, TTL = 1.4 V or ECL = -1.3 V); RISe
  triggers on its leading edge, FALL its trailing, EITher both. A channel
  or LINE source is accepted but never fires in the sim.
- Readout: ``DATa:ENCdg`` RIBinary / RPBinary (MSB first), SRIbinary /
  SRPbinary (LSB first) or ASCii; ``DATa:WIDth`` (= ``WFMOutpre:BYT_Nr``) 1
  or 2. Codes are 25 per division with one byte, 6400 with two (the sim's
  assumption), code 0 the screen centre, ``YZEro`` the combined offset and
  position, ``YOFf`` 0 (the manual: "always 0.0" for this family; the sim
  gives the unsigned encodings' code offset there). ``DATa:STARt``/``STOP``
  are 1-based and order independent; beyond the record they stop at its
  end; a record that grew is not followed by ``DATa:STOP`` (the manual), so
  a driver that does not set it gets part of the record. ``CURVe?`` answers
  a definite-length block.
- The front end, per channel: ``CH<x>:PROBEFunc:EXTAtten`` (the attenuation
  the scope counts; a wrong one gives wrong amplitudes, ``scope_inputs``),
  ``CH<x>:PROBEFunc:EXTUnits`` (a label), ``CH<x>:COUPling AC|DC|DCR`` (AC and
  DC reject remove the record's mean), taken as they were at the start of
  the acquisition.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from rig.sim.instruments.scope_inputs import AUTO_TRIGGER_S, RATES, Slope, front_end, trigger_edges
from rig.sim.model import LabModel
from rig.sim.predicates import TIME_TOLERANCE_S
from rig.sim.wire.scpi_server import Reply, ScpiError, ScpiInstrument, ieee_block

CHANNELS = {1: "current", 2: "voltage"}
DIVISIONS = 10
MAX_RATE_SA_S = 5e9
MAX_RECORD = 62_500_000
AUTO_MAX_RECORD = 10_000
CODES_PER_DIV = {1: 25, 2: 6400}
AUX_PRESETS = {"TTL": 1.4, "ECL": -1.3}
EMPTY = '0,"No events to report - queue empty"'
PENDING = '1,"No events to report - new events pending *ESR?"'
POWER_ON_BIT = 128


def _esr_bit(code: int) -> int:
    """The Standard Event Status Register bit an event sets: CME 1xx, EXE 2xx, DDE 3xx, QYE 410-4xx, PON 401."""
    code = abs(code)
    if code == 401:
        return POWER_ON_BIT
    if 410 <= code < 500:
        return 4
    return {1: 32, 2: 16, 3: 8}.get(code // 100, 0)


def _word(args: list[str], *spellings: str) -> str:
    """One of ``spellings`` (``SAMple``: SAM or SAMPLE, any case), answered in its long form."""
    given = args[0].upper() if len(args) == 1 else ""
    for spelling in spellings:
        short = re.match(r"[A-Z0-9_]*", spelling).group(0)  # type: ignore[union-attr]  # always matches
        if given in (short, spelling.upper()):
            return spelling.upper()
    raise ScpiError(-224, f"Illegal parameter value;expected one of {', '.join(spellings)}")


def _on_off(args: list[str]) -> bool:
    word = args[0].upper() if len(args) == 1 else ""
    if word in ("ON", "OFF"):
        return word == "ON"
    try:
        return float(word) != 0.0
    except ValueError:
        raise ScpiError(-224, "Illegal parameter value;expected ON, OFF or a number") from None


def _canonical(pattern: str) -> str:
    """The long header a reply carries with HEADer ON."""
    return ":" + re.sub(r"\[[^\]]*\]", "", pattern).upper()


@dataclass
class Acquisition:
    """One acquisition started by ``ACQuire:STATE ON``, with the settings it was started with."""

    armed_s: float
    first_s: float  # where the record starts, relative to the trigger (before the free-running clock's alignment)
    rate: float
    record: int
    channels: frozenset[int]
    front_end: dict[int, tuple[float, bool]]  # attenuation told and DC blocked, per channel
    source: str
    level_v: float
    slope: Slope
    auto: bool
    sequence: bool
    stopped: bool = False
    samples: dict[int, np.ndarray] = field(default_factory=dict)
    first_rel_s: float = 0.0  # the first sample's time after the trigger, once sampled

    @property
    def duration_s(self) -> float:
        return self.record / self.rate


class TektronixMso(ScpiInstrument):
    idn = "TEKTRONIX,MSO58,SIM-C000001,CF:91.1CT FV:2.0.3.950"

    def __init__(self, lab: LabModel) -> None:
        super().__init__()
        self._commands = [c for c in self._commands if not c.header.match("SYSTem:ERRor")]  # not this family's
        self.lab = lab
        self.header = True
        self._esr = 0
        self._released: list[tuple[int, str]] = []
        self.errors.append((401, "Power on"))  # pending until the first *ESR? (or cleared by *CLS)
        self.reset()
        add, ask = self.add, self._ask
        add("*ESR", self._read_esr, query=True)
        ask("ALLEv", self._all_events)
        ask("EVMsg", self._one_event)
        add("HEADer", lambda a: setattr(self, "header", _on_off(a)))
        ask("HEADer", lambda: str(int(self.header)))
        for ch in CHANNELS:
            for pattern in (f"DISplay:GLObal:CH{ch}:STATE", f"SELect:CH{ch}"):
                add(pattern, self._setter(self.display, ch, _on_off))
                ask(pattern, lambda ch=ch: str(int(self.display[ch])))
            add(f"CH{ch}:SCAle", self._setter(self.scale, ch, self._positive))
            ask(f"CH{ch}:SCAle", lambda ch=ch: f"{self.scale[ch]:.4E}")
            add(f"CH{ch}:OFFSet", self._setter(self.offset, ch, lambda a: float(a[0])))
            ask(f"CH{ch}:OFFSet", lambda ch=ch: f"{self.offset[ch]:.4E}")
            add(f"CH{ch}:POSition", self._setter(self.position, ch, lambda a: float(a[0])))
            ask(f"CH{ch}:POSition", lambda ch=ch: f"{self.position[ch]:.4E}")
            add(f"CH{ch}:COUPling", self._setter(self.coupling, ch, lambda a: _word(a, "AC", "DC", "DCR")))
            ask(f"CH{ch}:COUPling", lambda ch=ch: self.coupling[ch])
            add(f"CH{ch}:PROBEFunc:EXTAtten", self._setter(self.attenuation, ch, self._positive))
            ask(f"CH{ch}:PROBEFunc:EXTAtten", lambda ch=ch: f"{self.attenuation[ch]:.4E}")
            add(f"CH{ch}:PROBEFunc:EXTUnits:STATE", self._setter(self.units_on, ch, _on_off))
            ask(f"CH{ch}:PROBEFunc:EXTUnits:STATE", lambda ch=ch: str(int(self.units_on[ch])))
            add(f"CH{ch}:PROBEFunc:EXTUnits", self._setter(self.units, ch, lambda a: a[0].strip('"')))
            ask(f"CH{ch}:PROBEFunc:EXTUnits", lambda ch=ch: f'"{self.units[ch]}"')
        add("ACQuire:MODe", lambda a: setattr(self, "acquire_mode", _word(
            a, "SAMple", "PEAKdetect", "HIRes", "AVErage", "ENVelope")))
        ask("ACQuire:MODe", lambda: self.acquire_mode)
        add("ACQuire:STOPAfter", lambda a: setattr(self, "stop_after", _word(a, "RUNSTop", "SEQuence")))
        ask("ACQuire:STOPAfter", lambda: self.stop_after)
        add("ACQuire:STATE", self._acquire_state)
        ask("ACQuire:STATE", lambda: "1" if self._running() else "0")
        ask("ACQuire:NUMACq", lambda: "1" if self.acquisition is not None and self._complete(self.acquisition) else "0")
        add("TRIGger:A:TYPe", lambda a: setattr(self, "trigger_type", _word(
            a, "EDGE", "WIDth", "TIMEOut", "RUNt", "WINdow", "LOGIc", "SETHold", "TRANsition", "BUS")))
        ask("TRIGger:A:TYPe", lambda: self.trigger_type)
        add("TRIGger:A:MODe", lambda a: setattr(self, "trigger_mode", _word(a, "AUTO", "NORMal")))
        ask("TRIGger:A:MODe", lambda: self.trigger_mode)
        add("TRIGger:A:EDGE:SOUrce", self._set_trigger_source)
        ask("TRIGger:A:EDGE:SOUrce", lambda: self.trigger_source)
        add("TRIGger:A:EDGE:SLOpe", lambda a: setattr(self, "slope", _word(a, "RISe", "FALL", "EITher")))
        ask("TRIGger:A:EDGE:SLOpe", lambda: self.slope)
        add("TRIGger:AUXLevel", self._set_aux_level)
        ask("TRIGger:AUXLevel", lambda: f"{self.aux_level_v:.4E}")
        ask("TRIGger:STATE", self._trigger_state)
        add("HORizontal:MODe", self._set_horizontal_mode)
        ask("HORizontal:MODe", lambda: self.horizontal_mode)
        add("HORizontal:MODe:MANual:CONFIGure", lambda a: setattr(self, "configure", _word(
            a, "HORIZontalscale", "RECORDLength")))
        ask("HORizontal:MODe:MANual:CONFIGure", lambda: self.configure)
        for pattern in ("HORizontal:MODe:SCAle", "HORizontal:SCAle"):
            add(pattern, lambda a: self._set_scale(self._positive(a)))
            ask(pattern, lambda: f"{self.scale_s:.4E}")
        for pattern in ("HORizontal:MODe:SAMPLERate", "HORizontal:SAMPLERate"):
            add(pattern, lambda a: self._set_rate(self._positive(a)))
            ask(pattern, lambda: f"{self.rate:.4E}")
        for pattern in ("HORizontal:MODe:RECOrdlength", "HORizontal:RECOrdlength"):
            add(pattern, lambda a: self._set_record(int(float(a[0]))))
            ask(pattern, lambda: str(self.record))
        add("HORizontal:POSition", self._set_position)
        ask("HORizontal:POSition", lambda: f"{self.position_pct:.4E}")
        add("HORizontal:DELay:MODe", lambda a: setattr(self, "delay_on", _on_off(a)))
        ask("HORizontal:DELay:MODe", lambda: str(int(self.delay_on)))
        add("HORizontal:DELay:TIMe", lambda a: setattr(self, "delay_s", float(a[0])))
        ask("HORizontal:DELay:TIMe", lambda: f"{self.delay_s:.4E}")
        add("DATa:SOUrce", self._set_source)
        ask("DATa:SOUrce", lambda: f"CH{self.source}")
        add("DATa:ENCdg", lambda a: setattr(self, "encoding", _word(
            a, "ASCIi", "RIBinary", "RPBinary", "SRIbinary", "SRPbinary", "FPBinary", "SFPbinary")))
        ask("DATa:ENCdg", lambda: self.encoding)
        for pattern in ("DATa:WIDth", "WFMOutpre:BYT_Nr"):
            add(pattern, self._set_width)
            ask(pattern, lambda: str(self.width))
        add("DATa:STARt", lambda a: setattr(self, "start", self._point(a)))
        ask("DATa:STARt", lambda: str(self.start))
        add("DATa:STOP", lambda a: setattr(self, "stop", self._point(a)))
        ask("DATa:STOP", lambda: str(self.stop))
        preamble: dict[str, Callable[[], str]] = {
            "BIT_Nr": lambda: str(8 * self.width),
            "ENCdg": lambda: "ASCII" if self.encoding == "ASCII" else "BINARY",
            "BN_Fmt": lambda: "RP" if self.encoding in ("RPBINARY", "SRPBINARY") else "RI",
            "BYT_Or": lambda: "LSB" if self.encoding.startswith("S") else "MSB",
            "NR_Pt": lambda: str(self._transfer()[2]),
            "XINcr": lambda: f"{1.0 / self._transfer()[0].rate:.6E}",
            "XZEro": lambda: f"{self._trigger_point()[1]:.9E}",
            "PT_Off": lambda: str(self._trigger_point()[0]),
            "XUNit": lambda: '"s"',
            "YMUlt": lambda: f"{self._vertical()[0]:.6E}",
            "YOFf": lambda: f"{self._vertical()[1]:.1f}",
            "YZEro": lambda: f"{self._vertical()[2]:.6E}",
            "YUNit": lambda: f'"{self.units[self.source] if self.units_on[self.source] else "V"}"',
        }
        for name, answer in preamble.items():
            ask(f"WFMOutpre:{name}", answer)
        add("CURVe", self._curve, query=True)

    def reset(self) -> None:
        """Power-on / *RST state (HEADer and the event queue are not touched)."""
        self.display = {1: True, 2: False}
        self.scale = {1: 0.1, 2: 0.1}
        self.offset = {1: 0.0, 2: 0.0}
        self.position = {1: 0.0, 2: 0.0}
        self.coupling = {1: "DC", 2: "DC"}
        self.attenuation = {1: 1.0, 2: 1.0}
        self.units = {1: "V", 2: "V"}
        self.units_on = {1: False, 2: False}
        self.acquire_mode = "SAMPLE"
        self.stop_after = "RUNSTOP"
        self.trigger_type = "EDGE"
        self.trigger_mode = "AUTO"
        self.trigger_source = "CH1"
        self.slope = "RISE"
        self.aux_level_v = 0.0
        self.horizontal_mode = "AUTO"
        self.configure = "RECORDLENGTH"
        self.scale_s = 40e-6
        self.rate, self.record = self._auto_plan(self.scale_s)
        self.position_pct = 50.0
        self.delay_on = False
        self.delay_s = 0.0
        self.source = 1
        self.encoding = "RIBINARY"
        self.width = 1
        self.start = 1
        self.stop = 10_000
        self.acquisition: Acquisition | None = None

    # -- the dialect's plumbing ------------------------------------------------------------

    def _ask(self, pattern: str, answer: Callable[[], str]) -> None:
        """A query whose reply carries its long header while HEADer is ON."""
        canonical = _canonical(pattern)
        self.add(pattern, lambda a: f"{canonical} {answer()}" if self.header else answer(), query=True)

    @staticmethod
    def _setter(table: dict[int, object], ch: int, parse: Callable[[list[str]], object]) -> Callable[[list[str]], None]:
        def set_value(args: list[str]) -> None:
            table[ch] = parse(args)
        return set_value

    @staticmethod
    def _positive(args: list[str]) -> float:
        value = float(args[0])
        if value <= 0:
            raise ScpiError(-222, "Data out of range;must be positive")
        return value

    @staticmethod
    def _point(args: list[str]) -> int:
        value = int(float(args[0]))
        if value < 1:
            raise ScpiError(-222, "Data out of range;points count from 1")
        return value

    # -- events: *ESR? releases what happened to ALLEv? / EVMsg? ----------------------------------

    def clear_status(self) -> None:
        super().clear_status()
        self._released.clear()
        self._esr = 0

    def _read_esr(self, args: list[str]) -> str:
        esr = self._esr
        for code, _ in self.errors:
            esr |= _esr_bit(code)
        self._released += [(abs(code), message) for code, message in self.errors]
        self.errors.clear()
        self._esr = 0
        return str(esr)

    def _all_events(self) -> str:
        if not self._released:
            return PENDING if self.errors else EMPTY
        events = ",".join(f'{code},"{message}"' for code, message in self._released)
        self._released.clear()
        return events

    def _one_event(self) -> str:
        if not self._released:
            return PENDING if self.errors else EMPTY
        code, message = self._released.pop(0)
        return f'{code},"{message}"'

    # -- settings with rules -------------------------------------------------------------------

    def _set_trigger_source(self, args: list[str]) -> None:
        word = args[0].upper() if len(args) == 1 else ""
        if re.fullmatch(r"CH[1-8]", word) or word == "LINE":
            self.trigger_source = word
        else:
            self.trigger_source = _word(args, "AUXiliary")

    def _set_aux_level(self, args: list[str]) -> None:
        word = args[0].upper() if len(args) == 1 else ""
        self.aux_level_v = AUX_PRESETS[word] if word in AUX_PRESETS else float(args[0])

    def _set_source(self, args: list[str]) -> None:
        word = args[0].upper() if len(args) == 1 else ""
        match = re.fullmatch(r"CH(\d)", word)
        if match is None or int(match.group(1)) not in CHANNELS:
            raise ScpiError(-224, f"Illegal parameter value;unknown source {args[0] if args else ''}")
        self.source = int(match.group(1))

    def _set_width(self, args: list[str]) -> None:
        width = int(float(args[0]))
        if width not in CODES_PER_DIV:
            raise ScpiError(-222, "Data out of range;1 or 2 bytes per point")
        self.width = width

    def _set_position(self, args: list[str]) -> None:
        value = float(args[0])
        if not 0.0 <= value <= 100.0:
            raise ScpiError(-222, "Data out of range;0 to 100 percent")
        self.position_pct = value

    # -- the horizontal system ---------------------------------------------------------------

    @staticmethod
    def _fitting_rate(scale_s: float, limit: int) -> float:
        fitting = [r for r in RATES if r <= MAX_RATE_SA_S and r * DIVISIONS * scale_s <= limit]
        return fitting[-1] if fitting else RATES[0]

    def _auto_plan(self, scale_s: float) -> tuple[float, int]:
        rate = self._fitting_rate(scale_s, AUTO_MAX_RECORD)
        return rate, max(round(rate * DIVISIONS * scale_s), 1)

    def _set_horizontal_mode(self, args: list[str]) -> None:
        self.horizontal_mode = _word(args, "AUTO", "MANual")
        if self.horizontal_mode == "AUTO":
            self.rate, self.record = self._auto_plan(self.scale_s)

    def _set_scale(self, scale_s: float) -> None:
        self.scale_s = scale_s
        if self.horizontal_mode == "AUTO":
            self.rate, self.record = self._auto_plan(scale_s)
            return
        if self.rate * DIVISIONS * scale_s > MAX_RECORD:
            self.rate = self._fitting_rate(scale_s, MAX_RECORD)
        self.record = max(round(self.rate * DIVISIONS * scale_s), 1)

    def _manual_only(self, what: str) -> None:
        if self.horizontal_mode != "MANUAL":
            raise ScpiError(-221, f"Settings conflict;the {what} is read only in automatic horizontal mode")

    def _set_rate(self, asked: float) -> None:
        self._manual_only("sample rate")
        rate = min((r for r in RATES if r >= asked * (1.0 - 1e-9)), default=MAX_RATE_SA_S)
        self.rate = min(rate, MAX_RATE_SA_S)
        if self.configure == "HORIZONTALSCALE":
            self.scale_s = self.record / (DIVISIONS * self.rate)
        else:
            self._set_scale(self.scale_s)

    def _set_record(self, points: int) -> None:
        self._manual_only("record length")
        if not 1 <= points <= MAX_RECORD:
            raise ScpiError(-222, "Data out of range;record length")
        self.record = points
        self.scale_s = points / (DIVISIONS * self.rate)

    def _first_s(self, duration_s: float) -> float:
        """Where the record starts relative to the trigger."""
        if self.delay_on:  # the position forced to 50 %: the centre lies the delay after the trigger
            return self.delay_s - duration_s / 2.0
        return -self.position_pct / 100.0 * duration_s

    # -- acquisition ------------------------------------------------------------------------

    def _acquire_state(self, args: list[str]) -> None:
        word = args[0].upper() if len(args) == 1 else ""
        start = word in ("RUN", "ON") or (word not in ("STOP", "OFF") and _on_off(args))
        acq = self.acquisition
        if not start:
            if acq is not None and not self._complete(acq):
                self.acquisition = None  # stopped before it completed: nothing to read
            elif acq is not None:
                acq.stopped = True
            return
        first = self._first_s(self.record / self.rate)
        self.acquisition = Acquisition(
            armed_s=self.lab.now + max(-first, 0.0), first_s=first, rate=self.rate, record=self.record,
            channels=frozenset(ch for ch in CHANNELS if self.display[ch]),
            front_end={ch: (self.attenuation[ch], self.coupling[ch] in ("AC", "DCR")) for ch in CHANNELS},
            source=self.trigger_source if self.trigger_type == "EDGE" else "NONE", level_v=self.aux_level_v,
            slope={"RISE": "rising", "FALL": "falling"}.get(self.slope, "either"),  # type: ignore[arg-type]
            auto=self.trigger_mode == "AUTO", sequence=self.stop_after == "SEQUENCE")

    def _trigger(self, acq: Acquisition) -> tuple[float, bool] | None:
        """When the acquisition triggered, and whether it triggered itself (AUTO), or None."""
        now = self.lab.now
        edges = trigger_edges(self.lab, acq.level_v, acq.slope) if acq.source == "AUXILIARY" else []
        found = [t for t in edges if acq.armed_s - TIME_TOLERANCE_S <= t <= now]
        candidates = [(t, False) for t in found[:1]]
        if acq.auto and acq.armed_s + AUTO_TRIGGER_S <= now:
            candidates.append((acq.armed_s + AUTO_TRIGGER_S, True))
        return min(candidates) if candidates else None

    def _complete(self, acq: Acquisition) -> bool:
        fired = self._trigger(acq)
        return fired is not None and self.lab.now >= fired[0] + acq.first_s + acq.duration_s - TIME_TOLERANCE_S

    def _running(self) -> bool:
        acq = self.acquisition
        return acq is not None and not acq.stopped and (not acq.sequence or not self._complete(acq))

    def _trigger_state(self) -> str:
        acq = self.acquisition
        if acq is None or not self._running():
            return "SAVE"
        if self.lab.now < acq.armed_s - TIME_TOLERANCE_S:
            return "ARMED"
        fired = self._trigger(acq)
        if fired is None or self._complete(acq):  # in RUNSTop a complete acquisition re-arms
            return "READY"
        return "AUTO" if fired[1] else "TRIGGER"

    # -- readout --------------------------------------------------------------------------------

    def _transfer(self) -> tuple[Acquisition, int, int]:
        """The completed acquisition of the source, its first point (0-based) and the number of points sent."""
        acq = self.acquisition
        if acq is None or not self._complete(acq):
            raise ScpiError(-221, "Settings conflict;no completed acquisition")
        if self.source not in acq.channels or not self.display[self.source]:
            raise ScpiError(-221, f"Settings conflict;CH{self.source} is not displayed: it acquired nothing")
        first, last = sorted((min(self.start, acq.record), min(self.stop, acq.record)))
        return acq, first - 1, last - first + 1

    def _sampled(self, acq: Acquisition) -> dict[int, np.ndarray]:
        """The whole record of every acquired channel, on the free-running sample clock."""
        if not acq.samples:
            fired = self._trigger(acq)
            assert fired is not None  # complete
            t0 = math.ceil((fired[0] + acq.first_s) * acq.rate - 1e-3) / acq.rate  # within 1e-3 of a sample: at it
            acq.first_rel_s = t0 - fired[0]
            waves = self.lab.waveforms(t0 + np.arange(acq.record) / acq.rate)
            for ch, name in CHANNELS.items():
                if ch in acq.channels:
                    told, blocked = acq.front_end[ch]
                    acq.samples[ch] = front_end(waves[name], name, told, blocked)
        return acq.samples

    def _trigger_point(self) -> tuple[int, float]:
        """PT_Off (the point just after the trigger, from DATa:STARt) and XZEro (its time after the trigger)."""
        acq, first, _ = self._transfer()
        self._sampled(acq)
        start_s = acq.first_rel_s + first / acq.rate
        offset = math.ceil(-start_s * acq.rate - 1e-3)
        return offset, start_s + offset / acq.rate

    def _vertical(self) -> tuple[float, float, float]:
        """YMUlt, YOFf and YZEro of the source in the present width and encoding."""
        ch = self.source
        y_off = 2 ** (8 * self.width - 1) if self.encoding in ("RPBINARY", "SRPBINARY") else 0
        return self.scale[ch] / CODES_PER_DIV[self.width], float(y_off), self.offset[ch] - self.position[ch] * self.scale[ch]

    def _curve(self, args: list[str]) -> Reply:
        acq, first, count = self._transfer()
        if self.encoding in ("FPBINARY", "SFPBINARY"):
            raise ScpiError(-221, "Settings conflict;floating point data is for math waveforms only")
        values = self._sampled(acq)[self.source][first:first + count]
        y_mult, y_off, y_zero = self._vertical()
        bits = 8 * self.width
        codes = np.clip(np.round((values - y_zero) / y_mult), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1) + y_off
        if self.encoding == "ASCII":
            return ",".join(str(int(c)) for c in codes)
        kind = ("u" if y_off else "i") + str(self.width)
        order = "" if self.width == 1 else ("<" if self.encoding.startswith("S") else ">")
        return ieee_block(codes.astype(order + kind).tobytes())
