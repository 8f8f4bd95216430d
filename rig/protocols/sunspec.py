"""The SunSpec Modbus register layout the rig uses: the marker, the model chain, and the points it reads and writes.

One place for the public standard's numbers, shared by the driver that speaks to a charger
(``drivers/dut/sunspec_der.py``) and the simulated charger that serves them (``rig.sim.charger.sunspec_face``), so
the two cannot drift apart. Source: the SunSpec Alliance's model definitions (github.com/sunspec/models,
``json/model_1.json``, ``model_120.json``, ``model_121.json``, ``model_123.json``, ``model_124.json``); offsets count registers
from a model's ID point (ID at 0, its length L at 1, L counting the registers after L).

A SunSpec device holds the marker "SunS" (0x5375 0x6E53) in two holding registers at its base (40000, else 0
or 50000), then models one after another, each starting with its ID and length, ended by ID 0xFFFF length 0.
Model 1 (common) must come first.
"""

from __future__ import annotations

from dataclasses import dataclass

MARKER = (0x5375, 0x6E53)
"""'SunS' in two big-endian registers."""
BASES = (40000, 0, 50000)
"""Where the marker may be, in the order a client looks (40000 is the standard's first choice)."""
END_ID = 0xFFFF
UNIMPLEMENTED_UINT16 = 0xFFFF
UNIMPLEMENTED_SF = -32768
"""A sunssf (int16 power-of-ten scale factor) reading 0x8000: the point is not implemented."""


@dataclass(frozen=True)
class Point:
    """One point of a model: its offset from the model's ID register and its size in registers."""

    offset: int
    size: int = 1


class Common:
    """Model 1: who the device is (strings, NUL padded, two characters a register, high byte first)."""

    ID, LENGTH = 1, 66
    Mn, Md, Opt, Vr, SN, DA = Point(2, 16), Point(18, 16), Point(34, 8), Point(42, 8), Point(50, 16), Point(66)


class Nameplate:
    """Model 120: ratings. WRtg (uint16 W, scaled by WRtg_SF) is its continuous power output capability."""

    ID, LENGTH = 120, 26
    DERTyp, WRtg, WRtg_SF = Point(2), Point(3), Point(4)


class Settings:
    """Model 121: basic settings. WMax (uint16 W, scaled by WMax_SF): the maximum power output, the base of
    WMaxLimPct (defaults to WRtg)."""

    ID, LENGTH = 121, 30
    WMax, WMax_SF = Point(2), Point(22)


class Controls:
    """Model 123: immediate inverter controls. WMaxLimPct (uint16, % of WMax scaled by WMaxLimPct_SF) limits the
    power output while WMaxLim_Ena is 1 (ENABLED); its window (WinTms: a random delay to apply it within),
    revert timeout (RvrtTms: back to no limit after it) and ramp time (RmpTms) are uint16 seconds, 0 for
    none."""

    ID, LENGTH = 123, 24
    Conn_WinTms, Conn_RvrtTms, Conn = Point(2), Point(3), Point(4)
    WMaxLimPct, WMaxLimPct_WinTms, WMaxLimPct_RvrtTms, WMaxLimPct_RmpTms, WMaxLim_Ena = (
        Point(5), Point(6), Point(7), Point(8), Point(9))
    WMaxLimPct_SF = Point(23)
    DISABLED, ENABLED = 0, 1


class Storage:
    """Model 124: basic storage controls. WChaMax (uint16 W, scaled by WChaMax_SF) is the maximum charge power;
    StorCtl_Mod (bitfield16) activates charge (bit 0, CHARGE) and discharge (bit 1, DiSCHARGE) control; InWRte and
    OutWRte (int16, scaled by InOutWRte_SF) are the charge and discharge rates in percent of the maximum; their
    window, revert timeout and ramp time (uint16 seconds) as model 123's."""

    ID, LENGTH = 124, 24
    WChaMax, WChaGra, WDisChaGra, StorCtl_Mod = Point(2), Point(3), Point(4), Point(5)
    ChaSt, OutWRte, InWRte = Point(11), Point(12), Point(13)
    InOutWRte_WinTms, InOutWRte_RvrtTms, InOutWRte_RmpTms = Point(14), Point(15), Point(16)
    WChaMax_SF, WChaDisChaGra_SF, InOutWRte_SF = Point(18), Point(19), Point(25)
    CHARGE, DISCHARGE = 1 << 0, 1 << 1
    """StorCtl_Mod's bits."""


def signed(word: int) -> int:
    """An int16 (a sunssf) from its register."""
    return word - 0x10000 if word & 0x8000 else word


def unsigned(value: int) -> int:
    """The register holding the int16 ``value``."""
    return value & 0xFFFF


def encode_string(text: str, size: int) -> list[int]:
    """``text`` in ``size`` registers, NUL padded (longer text is cut to fit)."""
    raw = text.encode("latin-1", "replace")[:2 * size].ljust(2 * size, b"\0")
    return [raw[k] << 8 | raw[k + 1] for k in range(0, 2 * size, 2)]


def decode_string(words: list[int]) -> str:
    """A string point's text, without its NUL padding."""
    raw = b"".join(word.to_bytes(2, "big") for word in words)
    return raw.split(b"\0", 1)[0].decode("latin-1").strip()
