"""CHAdeMO CAN messages: every encode and decode goes through ``chademo.dbc`` with cantools.

The DBC beside this module is the one description of the bit layout; nothing
in the rig packs or unpacks CHAdeMO bits by hand. Signals are physical values
(V, A, %, flags 0/1). The V2H currents that the wire carries as ``0xFF - A``
(0x200 byte 0, 0x208 bytes 0 and 3) are declared with factor -1 and offset 255,
which cantools applies exactly in both directions, so they decode to amperes.

Who sends a frame is read from the DBC's ``BO_`` sender: the EV (the rig, as
vehicle emulator) or the EVSE (the charger under test).
"""

from __future__ import annotations

import functools
from enum import Enum
from pathlib import Path
from typing import Mapping

import cantools
from cantools.database.can import Database, Message

from rig.core.errors import RigError

DBC_PATH = Path(__file__).with_name("chademo.dbc")

SignalValues = dict[str, float]
"""Decoded signals of one frame by name: physical values, flags as 0 or 1."""


class Side(str, Enum):
    """The two ends of a CHAdeMO link."""

    EV = "EV"
    EVSE = "EVSE"

    def other(self) -> "Side":
        return Side.EVSE if self is Side.EV else Side.EV


class FrameError(RigError):
    """A frame that cannot be encoded or decoded (unknown message, wrong length, value out of range)."""


@functools.cache
def database() -> Database:
    """The CHAdeMO database, loaded once (strict: overlapping signals are an error)."""
    return cantools.database.load_file(str(DBC_PATH), strict=True)  # type: ignore[return-value]


def _message(key: int | str) -> Message:
    try:
        if isinstance(key, int):
            return database().get_message_by_frame_id(key)
        return database().get_message_by_name(key)
    except KeyError:
        what = f"0x{key:03X}" if isinstance(key, int) else repr(key)
        raise FrameError(f"{what} is not a CHAdeMO message in {DBC_PATH.name}") from None


def is_chademo(frame_id: int) -> bool:
    """True for the ids the DBC describes (0x100-0x209); False for anything else on the bus."""
    return frame_id in _frame_sides()


@functools.cache
def _frame_sides() -> dict[int, Side]:
    return {message.frame_id: Side(message.senders[0]) for message in database().messages}


def side_of(frame_id: int) -> Side | None:
    """The side that sends ``frame_id``, or None for a frame that is not CHAdeMO."""
    return _frame_sides().get(frame_id)


def frame_ids(side: Side) -> tuple[int, ...]:
    """The ids one side sends, ascending."""
    return tuple(sorted(fid for fid, sender in _frame_sides().items() if sender is side))


def message_name(frame_id: int) -> str:
    return _message(frame_id).name


def frame_id_of(name: str) -> int:
    return _message(name).frame_id


def signal_names(name_or_id: int | str) -> tuple[str, ...]:
    return tuple(signal.name for signal in _message(name_or_id).signals)


_ENCODED: dict[tuple[int | str, frozenset[tuple[str, float]]], bytes] = {}
_DECODED: dict[tuple[int, bytes], SignalValues] = {}
CACHE_SIZE = 4096
"""Both sides of a session send the same few frames every 100 ms: each is encoded or decoded once (cantools is
the costliest step of a cycle), up to this many distinct frames a direction."""


def encode(name_or_id: int | str, signals: Mapping[str, float]) -> bytes:
    """Encode one message; signals not given are sent as their physical zero (0 A is raw 0xFF
    for the ``0xFF - A`` currents). An unknown signal name or a value out of range is refused."""
    key = (name_or_id, frozenset(signals.items()))
    cached = _ENCODED.get(key)
    if cached is None:
        cached = _encode(name_or_id, signals)
        if len(_ENCODED) >= CACHE_SIZE:
            _ENCODED.clear()
        _ENCODED[key] = cached
    return cached


def _encode(name_or_id: int | str, signals: Mapping[str, float]) -> bytes:
    message = _message(name_or_id)
    unknown = sorted(set(signals) - set(signal_names(message.frame_id)))
    if unknown:
        raise FrameError(f"{message.name}: no signal {', '.join(unknown)}; "
                         f"its signals are {', '.join(signal_names(message.frame_id))}")
    values = {name: 0 for name in signal_names(message.frame_id)} | dict(signals)
    try:
        return bytes(message.encode(values, strict=True))
    except (cantools.database.EncodeError, ValueError) as err:
        raise FrameError(f"{message.name}: {err}") from err


def decode(frame_id: int, data: bytes) -> SignalValues:
    """Decode one CHAdeMO frame into physical values (numbers, not value-table labels); a fresh dict each call
    (callers may keep or change it)."""
    key = (frame_id, bytes(data))
    cached = _DECODED.get(key)
    if cached is None:
        cached = _decode(frame_id, key[1])
        if len(_DECODED) >= CACHE_SIZE:
            _DECODED.clear()
        _DECODED[key] = cached
    return dict(cached)


def _decode(frame_id: int, data: bytes) -> SignalValues:
    message = _message(frame_id)
    if len(data) != message.length:
        raise FrameError(f"0x{frame_id:03X} {message.name}: {len(data)} data bytes, expected {message.length}")
    try:
        return dict(message.decode(bytes(data), decode_choices=False, scaling=True))  # type: ignore[arg-type]
    except cantools.database.DecodeError as err:
        raise FrameError(f"0x{frame_id:03X} {message.name}: {err}") from err


def protocol_name(number: int) -> str:
    """The CHAdeMO version a protocol number stands for (from the DBC's value table)."""
    choices = _message("EvChargeStatus").get_signal_by_name("ProtocolNumber").choices
    label = choices.get(number) if choices else None
    return f"unknown ({number})" if label is None else str(label)


def minutes_or_tens_of_seconds_s(count_10s: float, minutes: float) -> float:
    """CHAdeMO's two-byte durations (0x101 max charging time, 0x109 remaining time): a count of
    10 s, or, when that byte is 0xFF, a count of minutes in the next byte. Returns seconds."""
    return float(minutes) * 60.0 if int(count_10s) == 0xFF else float(count_10s) * 10.0


def state_of_charge_percent(charged_rate: float, charged_rate_reference: float) -> float | None:
    """State of charge from 0x102 byte 6, scaled by the EV's own full-scale value (0x100 byte 6).

    The reference calls 100 the full scale, but real vehicles send 0xFF or 0xF0 there (a Leaf ZE1
    reports 143 of 255), so the raw byte alone is not a percentage. None when the reference is 0.
    """
    if charged_rate_reference <= 0:
        return None
    return 100.0 * float(charged_rate) / float(charged_rate_reference)
