"""Tektronix 4/5/6 Series MSO (MSO44/46, MSO54/56/58, MSO58LP, MSO64, their B versions) as the trip-time digitizer.

Wiring this driver assumes (state it in the bench file): CH1 a current probe
on the charger's line conductor, CH2 a differential probe across its
terminals, the AUX trigger input from the grid simulator's trigger output
(TTL). Both probes are taken as plain BNC outputs: the scope is told their
attenuation as an external attenuation.

Where each command comes from. "tm_devices" is Tektronix's own Python
package, whose command tree for MSO4/4B/5/5B/5LP/6/6B carries the 4/5/6
Series programmer manual's text (``src/tm_devices/commands/gen_e3e9uu_lpdmso/``,
the file named after the group):

=========================================  ==============================================================
``HEADer OFF``                              tm_devices ``header.py``: replies without headers (common
                                            commands never carry one)
``*CLS``, ``*ESR?``, ``ALLEv?``             tm_devices ``allev.py`` ("Use the *ESR? query to enable the
                                            events to be returned") and its Tektronix scope mixin
                                            (``_get_errors``: ``*ESR?`` then ``:ALLev?``, empty queue
                                            ``0,"No events to report - queue empty"``); public drivers
                                            record ``1,"No events to report - new events pending *ESR?"``
                                            when the priming read is skipped
``DISplay:GLObal:CH<x>:STATE ON``           tm_devices ``display.py``; cited as MSO 4/5/6 PM 077-1305-11
                                            p.2-352 in public code (an undisplayed channel acquires nothing)
``CH<x>:PROBEFunc:EXTAtten``,               tm_devices ``ch.py`` (EXTAtten cited as PM p.2-316 in public
``CH<x>:PROBEFunc:EXTUnits[:STATE]``,       code)
``CH<x>:COUPling DC``, ``CH<x>:SCAle``,
``CH<x>:POSition``, ``CH<x>:OFFSet``
``ACQuire:MODe SAMple``,                    tm_devices ``acquire.py`` (SINGLE on the front panel =
``ACQuire:STOPAfter SEQuence``,             ``STOPAFTER SEQUENCE`` + ``STATE 1``)
``ACQuire:STATE ON|OFF``, ``ACQuire:STATE?``,
``ACQuire:NUMACq?``
``TRIGger:A:TYPe EDGE``,                    tm_devices ``trigger.py`` (AUXiliary "for instruments that have
``TRIGger:A:MODe NORMal``,                  an Auxiliary Input")
``TRIGger:A:EDGE:SOUrce AUXiliary``,
``TRIGger:A:EDGE:SLOpe RISe|FALL``,
``TRIGger:AUXLevel``
``TRIGger:STATE?``                          tm_devices ``trigger.py`` (query only); its answers ARMED
                                            (acquiring pre-trigger data), READY (all pre-trigger data
                                            acquired, ready for a trigger), TRIGGER, SAVE, AUTO as QCoDeS'
                                            Tektronix DPO7200xx driver and other public code quote the
                                            manuals
``HORizontal:MODe MANual``,                 tm_devices ``horizontal.py`` (manual mode: sample rate, scale
``HORizontal:MODe:MANual:CONFIGure``,       and record length interact; AUTO makes the record length
``HORizontal:MODe:SCAle``,                  read only)
``HORizontal:MODe:SAMPLERate[?]``,
``HORizontal:MODe:RECOrdlength?``,
``HORizontal:DELay:MODe OFF``,
``HORizontal:POSition`` (% of the record,
trigger point, 0 = left edge)
``DATa:SOUrce``, ``DATa:ENCdg SRIbinary``,  tm_devices ``data.py`` (SRIbinary: signed, LSB first; DATa:STOP
``DATa:WIDth 2``, ``DATa:STARt 1``,         is not moved when the record length changes)
``DATa:STOP <record>``
``WFMOutpre:BYT_Nr? BN_Fmt? BYT_Or? NR_Pt?  tm_devices ``wfmoutpre.py``; value = (code - YOFf) x YMUlt +
XINcr? XZEro? PT_Off? YMUlt? YOFf? YZEro?`` YZEro, point n at XZEro + XINcr x (n - PT_Off), as public code
                                            that ran on an MSO64B computes them
``CURVe?``                                  tm_devices ``curve.py``: a definite-length block
=========================================  ==============================================================

The time axis is the scope's: in manual horizontal mode the driver asks for
the sample rate and a ten-division scale of the window, then reads back the
rate and record length the scope chose and refuses (before anything is
disturbed) a rate below the plan's or a record shorter than the window. The
trigger position is set from the record actually chosen, so the first sample
lies ``pre_s`` before the trigger; the captured time axis is still taken from
each channel's preamble, never from what was asked. Arming: ``armed()`` is
TRIGger:STATE? READY, the state after the pre-trigger part of the record has
filled (ARMED, confusingly, is the state before it).

Errors: each setting is followed by ``*ESR?`` in its own message; if any bit
is set the event queue is read with ``ALLEv?`` and events with codes 100-399
or 410-499 (command, execution, device and query errors) raise, naming the
command. Other events (401 power on, 402 operation complete, warnings) do not.

Unconfirmed (``bench_checks`` asks what can be asked without energising):
that your model has an AUX trigger input (the manual text names the MSO58LP;
a unit without one should refuse ``TRIGger:AUXLevel?``); the EXTAtten range
(the options accept 0.1 to 10000, as for the other family); that EXTUnits
answers the quoted string it was given; the AUX level that suits the grid
simulator's trigger output (default 1.5 V, rising); how the scope rounds a
sample rate it cannot take (the driver asks for the plan's rate and refuses
a slower one); the largest record (``MAX_RECORD``, the 4 Series' standard
memory); TRIGger:STATE?'s answers on this family (quoted from DPO manuals);
that ``ACQuire:STATE?`` answers 0 once a single sequence is complete.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import Field

from drivers.analyzer.scope_front_end import CHANNELS, FrontEndScope, FrontEndSetting, ScopeOptions
from drivers.scpi import number, one_of
from rig.config.envelope import EnvelopeGuard
from rig.core.bench_checks import BenchCheck
from rig.core.errors import InstrumentError
from rig.core.identity import InstrumentFamily
from rig.core.roles import Capture

UNITS = {"current": "A", "voltage": "V"}
DIVISIONS = 10
MAX_RECORD = 31_250_000
"""The largest record the driver asks for (the 4 Series' standard memory; the 5 and 6 Series hold more)."""
ERROR_BITS = 0x3C
"""``*ESR?`` bits of an error: QYE 4, DDE 8, EXE 16, CME 32."""
PREAMBLE = "WFMOutpre:BYT_Nr?;BN_Fmt?;BYT_Or?;NR_Pt?;XINcr?;XZEro?;PT_Off?;YMUlt?;YOFf?;YZEro?"
"""One message: the later queries are relative to WFMOutpre (header path rules); the replies come joined by ``;``."""
READOUT = ("2", "RI", "LSB")
"""BYT_Nr, BN_Fmt and BYT_Or of ``DATa:ENCdg SRIbinary`` with ``DATa:WIDth 2``: signed 16-bit, LSB first."""
EVENT = re.compile(r'\s*(-?\d+)\s*,\s*"((?:[^"]|"")*)"')


def is_error_event(code: int) -> bool:
    """Command (1xx), execution (2xx), device (3xx) and query (410-4xx) errors; 0/1 mean no event."""
    code = abs(code)
    return 100 <= code < 400 or 410 <= code < 500


def word_agrees(reply: str, spelled: str) -> bool:
    """A Tektronix word in either form (``SAMple``: SAM or SAMPLE), any case, quotes ignored."""
    given = reply.strip().strip('"').upper()
    short = re.match(r"[A-Z0-9_]*", spelled).group(0)  # type: ignore[union-attr]  # always matches
    return given in (short, spelled.upper())


@dataclass(frozen=True)
class TektronixSetting(FrontEndSetting):
    """A front-end setting as a 4/5/6 Series MSO answers it."""

    numeric: bool = False

    def agrees(self, reply: str) -> bool:
        """A number to 1e-4 (the query answers in NR3, ``1.0000E+02``); a word in its short or long form."""
        if self.numeric:
            try:
                return math.isclose(float(reply), float(self.value), rel_tol=1e-4)
            except ValueError:
                return False
        return word_agrees(reply, self.value.strip('"'))


ACQUISITION = TektronixSetting("ACQuire:MODe", "SAMple", "acquisition mode")


class TektronixMso(FrontEndScope):
    """Options: ``current_range_a``, ``voltage_range_v`` (full scale of the ten divisions of each channel),
    ``current_probe_ratio``, ``voltage_probe_ratio`` (the probes' attenuation, told the scope as external
    attenuation), ``trigger_level_v`` and ``trigger_slope`` (RISE|FALL) of the AUX edge trigger."""

    family = InstrumentFamily("Tektronix 4/5/6 Series MSO oscilloscope", manufacturer=r"TEKTRONIX",
                              model=r"MSO[456][4-8]B?|MSO5[4-8]LP|LPD64")
    error_query = "*ESR?"

    class Options(ScopeOptions):
        trigger_level_v: float = Field(1.5, description="Level of the AUX trigger input (TRIGger:AUXLevel).")
        trigger_slope: Literal["RISE", "FALL"] = Field("RISE", description="Its edge (either case in the file).")

    def __init__(self, resource: str, *, name: str, envelope: EnvelopeGuard | None = None,
                 timeout_ms: int = 5000, options: dict[str, Any] | None = None) -> None:
        super().__init__(resource, name=name, envelope=envelope, timeout_ms=timeout_ms, options=options)
        self.front_end = (*(s for channel in CHANNELS for s in self._channel_front_end(channel)), ACQUISITION)

    def _channel_front_end(self, name: str) -> tuple[FrontEndSetting, ...]:
        ch = CHANNELS[name]
        what = f"CH{ch} ({name})"
        return (TektronixSetting(f"CH{ch}:PROBEFunc:EXTAtten", f"{self.probes[name]:.6g}",
                                 f"{what} external attenuation", numeric=True),
                TektronixSetting(f"CH{ch}:PROBEFunc:EXTUnits", f'"{UNITS[name]}"', f"{what} units"),
                TektronixSetting(f"CH{ch}:PROBEFunc:EXTUnits:STATE", "1", f"{what} units in use", numeric=True),
                TektronixSetting(f"CH{ch}:COUPling", "DC", f"{what} coupling"))

    # -- the error model: *ESR? primes the event queue ------------------------------------------

    def write(self, command: str) -> None:
        """Send a setting, then ``*ESR?`` in its own message; events that are errors raise naming the command."""
        try:
            register = self.query(f"{command}\n{self.error_query}")
        except InstrumentError as err:
            raise InstrumentError(self.name, command, err.detail) from None
        self.check_errors(command, register)

    def check_errors(self, after: str, first: str | None = None) -> None:
        """Read ``*ESR?`` (unless ``first`` is its answer); when anything is set, drain ``ALLEv?``; raise naming
        ``after`` if the register or the events report an error."""
        reply = self.query(self.error_query) if first is None else first
        try:
            register = int(float(reply))
        except ValueError:
            raise InstrumentError(self.name, after, f"*ESR? answered {reply!r}, not a number") from None
        if register == 0:
            return
        events = self.events()
        errors = [f"{code},\"{text}\"" for code, text in events if is_error_event(code)]
        if errors or register & ERROR_BITS:
            shown = "; ".join(errors) or "no event queued"
            raise InstrumentError(self.name, after, f"instrument reported {shown} (*ESR? {register})")

    def events(self) -> list[tuple[int, str]]:
        """Everything the event queue released to the last ``*ESR?`` (``ALLEv?``; a header, if any, dropped)."""
        reply = self.query("ALLEv?")
        body = reply.split(" ", 1)[1] if reply.startswith(":") and " " in reply else reply
        found = [(int(m.group(1)), m.group(2)) for m in EVENT.finditer(body)]
        if not found:
            raise InstrumentError(self.name, "ALLEv?", f"answered {reply!r}, not <code>,\"<message>\" events")
        return [(code, text) for code, text in found if code not in (0, 1)]  # 0, 1: no event (1: pending *ESR?)

    # -- set-up -------------------------------------------------------------------------------

    def setup(self) -> None:
        """Both channels displayed, told their probes and scaled, DC coupled; single sequences triggered by a NORMal
        edge on AUX; manual horizontal mode without delay; signed 16-bit LSB-first readout; then the front end read
        back (``InstrumentError`` if the scope does not hold it)."""
        self._sent.clear()
        commands = ["*CLS", "HEADer OFF"]
        for name, ch in CHANNELS.items():
            commands += [f"DISplay:GLObal:CH{ch}:STATE ON", *(s.command for s in self._channel_front_end(name)),
                         f"CH{ch}:SCAle {self.ranges[name] / DIVISIONS:.6g}", f"CH{ch}:POSition 0", f"CH{ch}:OFFSet 0"]
        commands += [ACQUISITION.command, "ACQuire:STOPAfter SEQuence", "TRIGger:A:TYPe EDGE", "TRIGger:A:MODe NORMal",
                     "TRIGger:A:EDGE:SOUrce AUXiliary", f"TRIGger:AUXLevel {self.trigger_level_v:.6g}",
                     f"TRIGger:A:EDGE:SLOpe {self.trigger_slope}", "HORizontal:MODe MANual",
                     "HORizontal:MODe:MANual:CONFIGure RECORDLength", "HORizontal:DELay:MODe OFF",
                     "DATa:ENCdg SRIbinary", "DATa:WIDth 2", "DATa:STARt 1"]
        for command in commands:
            self.write(command)
        self.confirm_front_end()

    def bench_checks(self) -> list[BenchCheck]:
        """The unconfirmed queries answer on this unit, nothing energised. Replies are first made bare
        (``HEADer OFF``, as set-up does, read back): a unit left with headers on by its last user would answer
        ``:TRIGGER:STATE SAVE`` where the driver reads ``SAVE``."""
        return [self.confirm_setting("replies carry no header (HEADer OFF reads back 0)", "HEADer OFF", "HEADer?",
                                     one_of("0", "OFF"))] + super().bench_checks() + self.front_end_checks() + [
            self.confirm_query("the unit has an AUX trigger input (TRIGger:AUXLevel? answers a level)",
                               "TRIGger:AUXLevel?", number),
            self.confirm_query("TRIGger:STATE? answers in the manual's words", "TRIGger:STATE?",
                               one_of("ARMED", "AUTO", "READY", "SAVE", "TRIGGER")),
            self.confirm_query("manual horizontal mode's configuration answers", "HORizontal:MODe:MANual:CONFIGure?",
                               lambda reply: None if reply.strip() else "empty answer"),
        ]

    # -- the digitizer ---------------------------------------------------------------------------

    def arm(self, *, pre_s: float, post_s: float, sample_rate_hz: float) -> None:
        """A single sequence from ``pre_s`` before to ``post_s`` after the AUX trigger, sampled at least at
        ``sample_rate_hz``.

        The front end is read back first; the rate and a ten-division scale of
        the window are asked for, and the rate and record length the scope
        chose are read back and must hold the plan (else ``InstrumentError``,
        and nothing is started). The trigger position follows from the record
        chosen. Only settings that changed since the last arm are sent.
        """
        span = pre_s + post_s
        if pre_s < 0 or post_s <= 0 or sample_rate_hz <= 0:
            raise InstrumentError(self.name, "arm", f"window {pre_s} s before to {post_s} s after the trigger at "
                                                    f"{sample_rate_hz} S/s is not a capture")
        needed = math.ceil(span * sample_rate_hz)
        if needed > MAX_RECORD:
            raise InstrumentError(self.name, "arm", f"{needed} points is more than the {MAX_RECORD} the driver asks for")
        self.confirm_front_end()
        self._set("HORizontal:MODe:SCAle", f"{span / DIVISIONS:.9g}")  # before the rate: a long scale may slow it
        self._set("HORizontal:MODe:SAMPLERate", f"{sample_rate_hz:.9g}")
        rate = self._number("HORizontal:MODe:SAMPLERate?")
        record = int(self._number("HORizontal:MODe:RECOrdlength?"))
        if rate < sample_rate_hz * (1.0 - 1e-9) or record / rate < span * (1.0 - 1e-6):
            self._sent.clear()  # the scope did not keep what was sent: send it all again next time
            raise InstrumentError(self.name, "HORizontal:MODe:SAMPLERate?",
                                  f"the scope chose {rate:g} S/s and {record} points ({record / rate:g} s) for a "
                                  f"{span:g} s window at {sample_rate_hz:g} S/s: nothing was captured")
        self._set("HORizontal:POSition", f"{100.0 * pre_s * rate / record:.9g}")
        self._set("DATa:STOP", str(record))
        self.write("ACQuire:STATE ON")

    def _number(self, command: str) -> float:
        reply = self.query(command)
        try:
            return float(reply)
        except ValueError:
            raise InstrumentError(self.name, command, f"answered {reply!r}, not a number") from None

    def armed(self) -> bool:
        """True once the pre-trigger part of the record has filled: TRIGger:STATE? READY (ARMED is before that)."""
        reply = self.query("TRIGger:STATE?").strip().upper()
        if reply not in ("ARMED", "AUTO", "READY", "SAVE", "TRIGGER"):
            raise InstrumentError(self.name, "TRIGger:STATE?", f"answered {reply!r}, not a trigger state")
        return reply == "READY"

    def complete(self) -> bool:
        """The single sequence has stopped (``ACQuire:STATE?`` 0)."""
        return self._number("ACQuire:STATE?") == 0

    def fetch(self) -> Capture:
        """Both channels, scaled and timed by their preambles (which must agree on the time axis)."""
        if self._number("ACQuire:NUMACq?") < 1:
            raise InstrumentError(self.name, "ACQuire:NUMACq?", "no acquisition completed: nothing to fetch")
        t_s: np.ndarray | None = None
        channels: dict[str, np.ndarray] = {}
        for name, ch in CHANNELS.items():
            self.write(f"DATa:SOUrce CH{ch}")
            reply = self.query(PREAMBLE)
            fields = [f.strip().strip('"') for f in reply.split(";")]
            if len(fields) != 10:
                raise InstrumentError(self.name, PREAMBLE, f"{len(fields)} preamble fields, expected 10: {reply!r}")
            if tuple(f.upper() for f in fields[:3]) != READOUT:
                raise InstrumentError(self.name, PREAMBLE, f"readout {';'.join(fields[:3])}, set {';'.join(READOUT)} "
                                                           "(signed 16-bit, LSB first)")
            try:
                points = int(float(fields[3]))
                x_inc, x_zero, pt_off, y_mult, y_off, y_zero = (float(f) for f in fields[4:])
            except ValueError:
                raise InstrumentError(self.name, PREAMBLE, f"a preamble field is not a number: {reply!r}") from None
            codes = self.query_block("CURVe?", "h")
            if len(codes) != points:
                raise InstrumentError(self.name, "CURVe?", f"{len(codes)} points, preamble said {points}")
            channels[name] = (codes.astype(float) - y_off) * y_mult + y_zero
            axis = x_zero + (np.arange(points) - pt_off) * x_inc
            if t_s is not None and (len(axis) != len(t_s) or not np.allclose(axis, t_s, rtol=0.0, atol=x_inc / 1e3)):
                raise InstrumentError(self.name, PREAMBLE, f"CH{ch}'s time axis differs from CH1's")
            t_s = axis
        assert t_s is not None
        return Capture(t_s=t_s, channels=channels)

    def safe_off(self) -> None:
        """A scope has no output to open; stop acquiring so nothing waits on it."""
        self.write("ACQuire:STATE OFF")
