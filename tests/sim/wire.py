"""Helpers for talking to the simulated lab over the wire the way the rig's drivers do."""

from __future__ import annotations

from pathlib import Path

from rig.sim.simulated_lab import SimulatedLab

DUTS = Path(__file__).resolve().parents[2] / "fixtures" / "duts"
OK = '0,"No error"'
CONNECTED_AT = 20.1  # output on at 0 s with the compliant profile


def setting(session, command: str) -> str:
    """A setting, then the error query as its own program message (one write), as the rig's drivers send it."""
    return session.query(f"{command}\nSYST:ERR?")


def load_list(grid, *, dwell: str, v_start: str, v_end: str, f: str) -> None:
    """Load these steps the manual's way (list stopped, FIXED mode), then LIST mode (frequency held at ``f``)."""
    for command in ("TRIG OFF", "OUTP:MODE FIXED", f"LIST:DWEL {dwell}", f"LIST:VOLT:AC:STAR {v_start}",
                    f"LIST:VOLT:AC:END {v_end}", f"LIST:FREQ:STAR {f}", f"LIST:FREQ:END {f}", "OUTP:MODE LIST"):
        assert setting(grid, command) == OK


def energise(grid, lab: SimulatedLab, t: float = 21.0) -> None:
    """230 V 50 Hz at the terminals from the present instant (relay closed, output on, its over-current protection
    tripping at once as the rig's driver sets it), then advance to ``t``."""
    assert setting(grid, "SOUR:CURR:DEL 0") == OK
    assert setting(grid, "SOUR:VOLT:LEV:IMM:AMPL:AC 230") == OK
    assert setting(grid, "SOUR:FREQ 50") == OK
    assert setting(grid, "OUTP:REL ON") == OK
    assert setting(grid, "OUTP:STAT ON") == OK
    lab.advance_to(t)


SCOPE_SETUP = (":CHAN1:DISP ON", ":CHAN1:PROB 100", ":CHAN1:UNIT AMP", ":CHAN1:COUP DC", ":CHAN1:RANG 100",
               ":CHAN2:DISP ON", ":CHAN2:PROB 100", ":CHAN2:UNIT VOLT", ":CHAN2:COUP DC", ":CHAN2:RANG 800", ":TRIG:MODE EDGE",
               ":TRIG:SWE NORM", ":TRIG:EDGE:SOUR EXT", ":TRIG:EDGE:LEV 1.5", ":TRIG:EDGE:SLOP POS", ":WAV:FORM WORD",
               ":WAV:BYT LSBF", ":WAV:UNS 0", ":WAV:POIN:MODE RAW")
"""What the rig's driver sets up: both probes displayed, an explicit external edge trigger, signed LSB-first words."""


def arm(scope, *, range_s: float = 1.5, pre_s: float = 0.1, points: int = 1000, setup=SCOPE_SETUP) -> None:
    """Set the scope up and start a single acquisition; it is armed ``pre_s`` of lab time later."""
    for command in (*setup, f":TIM:RANG {range_s}", ":TIM:REF CENT", f":TIM:POS {range_s / 2 - pre_s:.9g}", f":WAV:POIN {points}",
                    ":SING"):
        assert setting(scope, command) == OK


def load_ov2_step(grid) -> None:
    """230 V for 0.5 s, then 280 V for 1.5 s: an O/V stage 2 trip 0.54 s after the step."""
    load_list(grid, dwell="500,1500", v_start="230,280", v_end="230,280", f="50,50")


def run_bit(scope) -> bool:
    return bool(int(scope.query(":OPER:COND?")) & 8)
