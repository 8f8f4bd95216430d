"""Read CAN traces (recorded by others, or by the rig's live suite) into plain frames.

Formats are recognised by their content, not their file name, so a candump
saved as ``.csv`` is still read:

- SavvyCAN CSV (``Time Stamp,ID,Extended,...``): timestamps in microseconds,
  which some exports write negative (and increasing); the ``Extended`` column
  may say ``true`` for an 11-bit id, so the id value decides.
- candump text with a time in brackets, absolute
  ``(YYYY-MM-DD hh:mm:ss.ffffff) can1 100 [8] 06 00 ..`` or epoch
  ``(1654210198.125771) can1 100 [8] ..``; free-text lines in between are skipped.
- candump ``-L`` log ``(1654210198.125771) can0 100#0600..``: the format the rig
  writes for live sessions (python-can's ``CanutilsLogWriter``, see
  :func:`write_candump_log`), read here line by line so damaged lines get a number.
- Vector ASC, BLF and PEAK TRC, through python-can's readers.

A damaged or unknown line is skipped and reported with its line number; only a
file that cannot be opened, or holds no frame in any known format, is an
error (:class:`TraceReadError`, which the CLI shows as one line).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

import can

from rig.errors import InputFileError

SNIFF_LINES = 200
"""Lines looked at to recognise a text format."""


class TraceReadError(InputFileError):
    """A trace file that cannot be read at all (missing, unreadable, or no known format)."""


@dataclass(frozen=True)
class TraceFrame:
    """One CAN data frame as the file recorded it."""

    timestamp_s: float
    """The file's own time in seconds (absolute, relative or negative: only differences matter)."""
    frame_id: int
    data: bytes
    line: int | None = None
    """Line in the file (None for binary formats)."""
    extended: bool = False


@dataclass(frozen=True)
class SkippedLine:
    line: int | None
    reason: str


@dataclass(frozen=True)
class Trace:
    """What a file held: its frames in file order, the lines skipped and notes on oddities."""

    path: Path
    format: str
    frames: tuple[TraceFrame, ...]
    skipped: tuple[SkippedLine, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass
class _LineParse:
    """Accumulates one text file's frames, skipped lines and notes while parsing."""

    frames: list[TraceFrame] = field(default_factory=list)
    skipped: list[SkippedLine] = field(default_factory=list)
    notes: Counter[str] = field(default_factory=Counter)


class _BadLine(ValueError):
    """A line of a recognised format that is damaged (its message says how)."""


# --- line formats --------------------------------------------------------------------------

_CANDUMP_TEXT = re.compile(
    r"^\s*\((?P<time>\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?|-?\d+(?:\.\d+)?)\)\s+"
    r"(?P<channel>\S+)\s+(?P<id>[0-9A-Fa-f]{1,8})\s+\[(?P<dlc>\d{1,2})\]\s*(?P<data>(?:[0-9A-Fa-f]{2}\s*)*)$")
_CANDUMP_LOG = re.compile(
    r"^\s*\((?P<time>-?\d+(?:\.\d+)?)\)\s+(?P<channel>\S+)\s+(?P<id>[0-9A-Fa-f]{1,8})#(?P<data>[0-9A-Fa-f]*)"
    r"(?:\s+[RT])?\s*$")
_SAVVYCAN_HEADER = re.compile(r"^\s*Time Stamp\s*,\s*ID\s*,", re.IGNORECASE)


def _hex_bytes(text: str) -> bytes:
    digits = re.sub(r"\s+", "", text)
    if len(digits) % 2:
        raise _BadLine("odd number of hex digits in the data")
    return bytes.fromhex(digits)


def _frame_id(text: str) -> tuple[int, bool]:
    """The id and whether it needs 29 bits; an id that fits 11 bits is taken as standard,
    whatever a file's own flag says (SavvyCAN's ``Extended`` column is not reliable)."""
    try:
        value = int(text, 16)
    except ValueError:
        raise _BadLine(f"id {text!r} is not hexadecimal") from None
    if value > 0x1FFFFFFF:
        raise _BadLine(f"id 0x{value:X} does not fit 29 bits")
    return value, value > 0x7FF


def _candump_time(text: str) -> float:
    if "-" in text[1:] or ":" in text:
        stamp = datetime.fromisoformat(text.replace(" ", "T"))
        return stamp.replace(tzinfo=timezone.utc).timestamp()
    return float(text)


def _parse_candump_text(line: str, number: int) -> TraceFrame:
    match = _CANDUMP_TEXT.match(line)
    if not match:
        raise _BadLine("not a candump frame line")
    data = _hex_bytes(match["data"])
    dlc = int(match["dlc"])
    if len(data) != dlc:
        raise _BadLine(f"[{dlc}] announced, {len(data)} data bytes present (truncated?)")
    frame_id, extended = _frame_id(match["id"])
    try:
        timestamp = _candump_time(match["time"])
    except ValueError:
        raise _BadLine(f"time {match['time']!r} is not a date and time") from None
    return TraceFrame(timestamp, frame_id, data, number, extended)


def _parse_candump_log(line: str, number: int) -> TraceFrame:
    match = _CANDUMP_LOG.match(line)
    if not match:
        raise _BadLine("not a candump -L frame line")
    data = _hex_bytes(match["data"])
    if len(data) > 8:
        raise _BadLine(f"{len(data)} data bytes (a classic CAN frame has at most 8)")
    frame_id, extended = _frame_id(match["id"])
    return TraceFrame(float(match["time"]), frame_id, data, number, extended)


class _SavvyCanColumns:
    """Column positions of a SavvyCAN CSV, from its header (exports differ in their columns)."""

    def __init__(self, header: str) -> None:
        names = [name.strip().lower() for name in header.split(",")]
        try:
            self.time = names.index("time stamp")
            self.id = names.index("id")
            self.length = names.index("len")
        except ValueError as err:
            raise _BadLine(f"SavvyCAN header without a column: {err}") from None
        self.extended = names.index("extended") if "extended" in names else None
        self.data = [names.index(f"d{i}") for i in range(1, 9) if f"d{i}" in names]

    def parse(self, line: str, number: int, notes: Counter[str]) -> TraceFrame:
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) <= max(self.time, self.id, self.length):
            raise _BadLine(f"{len(cells)} fields, too few for a SavvyCAN frame")
        try:
            timestamp_us = int(cells[self.time])
            length = int(cells[self.length])
        except ValueError:
            raise _BadLine("time stamp or LEN is not an integer") from None
        if not 0 <= length <= len(self.data):
            raise _BadLine(f"LEN {length} out of range")
        data_cells = [cells[i] if i < len(cells) else "" for i in self.data[:length]]
        if any(len(cell) != 2 for cell in data_cells):
            raise _BadLine(f"LEN {length} but data bytes missing or malformed")
        data = _hex_bytes("".join(data_cells))
        frame_id, extended = _frame_id(cells[self.id])
        if self.extended is not None and self.extended < len(cells):
            said_extended = cells[self.extended].lower() == "true"
            if said_extended and not extended:
                notes["Extended column says true for an 11-bit id (the id value is trusted)"] += 1
        if timestamp_us < 0:
            notes["timestamps are negative (read as they are: only differences matter)"] += 1
        return TraceFrame(timestamp_us / 1e6, frame_id, data, number, extended)


# --- reading -------------------------------------------------------------------------------

def read_trace(path: Path | str) -> Trace:
    """Read one trace file, recognising its format from its content (binary BLF by its magic)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise TraceReadError(path, None, None, "is a directory, not a trace file") from None
    except OSError as err:
        raise TraceReadError(path, None, None, f"cannot read: {err.strerror or err}") from None
    if raw.startswith(b"LOGG"):
        return _read_with_python_can(path, "blf")
    text = raw.decode("utf-8", errors="replace")
    lines = text.splitlines()
    kind = _sniff(lines)
    if kind == "savvycan-csv":
        trace = _read_savvycan(path, lines)
    elif kind == "candump-text":
        trace = _read_lines(path, kind, lines, _parse_candump_text)
    elif kind == "candump-log":
        trace = _read_lines(path, kind, lines, _parse_candump_log)
    elif kind in ("asc", "trc"):
        trace = _read_with_python_can(path, kind)
    else:
        raise TraceReadError(path, None, None, "no CAN frames in a known format (SavvyCAN CSV, candump, "
                                               "candump -L log, ASC, BLF, TRC)")
    if not trace.frames:
        raise TraceReadError(path, None, None, f"read as {trace.format}, but no frame could be read "
                                               f"({len(trace.skipped)} lines skipped)")
    return trace


def _sniff(lines: list[str]) -> str | None:
    """The format most of the first lines match (a few damaged or free-text lines do not matter)."""
    votes: Counter[str] = Counter()
    for line in lines[:SNIFF_LINES]:
        stripped = line.strip()
        if _SAVVYCAN_HEADER.match(stripped):
            return "savvycan-csv"
        if stripped.lower().startswith(("date ", "base hex", "base dec")):
            votes["asc"] += 10
        elif stripped.startswith(";$FILEVERSION"):
            return "trc"
        elif _CANDUMP_LOG.match(stripped):
            votes["candump-log"] += 1
        elif _CANDUMP_TEXT.match(stripped):
            votes["candump-text"] += 1
    return votes.most_common(1)[0][0] if votes else None


def _read_lines(path: Path, kind: str, lines: Iterable[str],
                parse: Callable[[str, int], TraceFrame], first_line: int = 1,
                parsed: _LineParse | None = None) -> Trace:
    parsed = parsed or _LineParse()
    for number, line in enumerate(lines, start=first_line):
        if not line.strip():
            continue
        try:
            parsed.frames.append(parse(line, number))
        except _BadLine as err:
            parsed.skipped.append(SkippedLine(number, str(err)))
    return _finish(path, kind, parsed)


def _read_savvycan(path: Path, lines: list[str]) -> Trace:
    parsed = _LineParse()
    header_at = next(i for i, line in enumerate(lines) if _SAVVYCAN_HEADER.match(line.strip()))
    for number in range(1, header_at + 1):
        if lines[number - 1].strip():
            parsed.skipped.append(SkippedLine(number, "text before the SavvyCAN header"))
    try:
        columns = _SavvyCanColumns(lines[header_at])
    except _BadLine as err:
        raise TraceReadError(path, header_at + 1, None, str(err)) from None
    return _read_lines(path, "savvycan-csv", lines[header_at + 1:],
                       lambda line, number: columns.parse(line, number, parsed.notes),
                       first_line=header_at + 2, parsed=parsed)


def _finish(path: Path, kind: str, parsed: _LineParse) -> Trace:
    notes = [f"{what}: {count} frames" for what, count in parsed.notes.items()]
    backwards = [later.line for earlier, later in zip(parsed.frames, parsed.frames[1:])
                 if later.timestamp_s < earlier.timestamp_s]
    if backwards:
        notes.append(f"time goes backwards {len(backwards)} times (first at line {backwards[0]}); "
                     "frames are kept in file order")
    return Trace(path, kind, tuple(parsed.frames), tuple(parsed.skipped), tuple(notes))


def _read_with_python_can(path: Path, kind: str) -> Trace:
    """ASC, BLF and TRC through python-can; these readers give no line numbers, so a damaged
    file is read up to the damage and the rest is reported as one skipped entry."""
    reader = {"asc": can.ASCReader, "blf": can.BLFReader, "trc": can.TRCReader}[kind]
    frames: list[TraceFrame] = []
    skipped: list[SkippedLine] = []
    non_data = 0
    try:
        for message in reader(str(path)):
            if message.is_error_frame or message.is_remote_frame:
                non_data += 1
                continue
            frames.append(TraceFrame(message.timestamp, message.arbitration_id, bytes(message.data),
                                     None, message.is_extended_id))
    except Exception as err:  # python-can raises many kinds on damaged input; we report, not crash
        skipped.append(SkippedLine(None, f"{kind} reader stopped after {len(frames)} frames: "
                                         f"{type(err).__name__}: {err}"))
    notes = (f"{non_data} error or remote frames ignored",) if non_data else ()
    return Trace(path, kind, tuple(frames), tuple(skipped), notes)


# --- writing (live sessions) ---------------------------------------------------------------

LIVE_FORMAT_SUFFIX = ".log"
"""Live sessions are recorded as candump ``-L`` logs (python-can's ``CanutilsLogWriter``): plain
text, one frame a line, absolute time, readable by can-utils, python-can and :func:`read_trace`."""


def write_candump_log(path: Path | str, frames: Iterable[TraceFrame], channel: str = "can0") -> None:
    """Write frames as a candump ``-L`` log through python-can (the live suite's format)."""
    with can.CanutilsLogWriter(str(path), channel=channel) as writer:
        for frame in frames:
            writer.on_message_received(can.Message(timestamp=frame.timestamp_s, arbitration_id=frame.frame_id,
                                                   is_extended_id=frame.extended, data=frame.data,
                                                   channel=channel))

