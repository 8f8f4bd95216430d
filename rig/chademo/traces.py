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

A damaged or unknown line is skipped and reported with its line number and a one-line reason;
the rest of the file is read. Damage is anything a recording can suffer on its way here: bytes
flipped (bad hex, a bad id or time, a field too many or too few), a file cut mid-line, lines run
together into one absurdly long line, lines out of order, another text encoding (UTF-16 or
UTF-32 with a byte-order mark is decoded as such; any other byte that is not UTF-8 is replaced
and marks only its own line as damaged), NUL bytes or binary junk. Reading never raises on
content: only a file that cannot be opened, or holds no frame in any known format, is an error
(:class:`TraceReadError`, which the CLI shows as one line).

Frames are given in time order, whatever order the file had (see :func:`_in_time_order`).
"""

from __future__ import annotations

import bisect
import codecs
import math
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Collection, Iterable, Iterator, NamedTuple

import can

from rig.core.errors import InputFileError

SNIFF_LINES = 200
"""Lines looked at to recognise a text format."""

MAX_ABS_TIME_S = 1e11
"""Times beyond about 3000 years from 0 are damage, whether epoch or relative."""

MAX_LINE_CHARS = 1000
"""A frame line is under 100 characters in every text format read here; a longer line is damage
(lines run together, binary junk, a 2 MB line) and is skipped before any pattern looks at it, so
that no regular expression spends its time on it."""


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
    """A line that held no frame, and why (one line, for the report)."""

    line: int | None
    reason: str
    lost: bool = True
    """A frame may have been lost here (a damaged line); False for free text that was never a
    frame, such as the comments some people type into a candump."""
    frame_id: int | None = None
    """The lost frame's id when the damaged line still shows it (its loss then matters only to
    that id's timing); None when unknown."""


class LostSpan(NamedTuple):
    """Where a frame may be missing: between the readable frames around a damaged line (or at
    a frame that did not decode), of one id when known, else of any id."""

    start: float
    end: float
    frame_id: int | None

    def hides(self, start: float, end: float, frame_ids: Collection[int]) -> bool:
        """Whether a frame of one of ``frame_ids`` may be missing from the open interval."""
        return (self.frame_id is None or self.frame_id in frame_ids) and start < self.end and self.start < end


@dataclass(frozen=True)
class Trace:
    """What a file held: its frames in time order, the lines skipped and notes on oddities."""

    path: Path
    format: str
    frames: tuple[TraceFrame, ...]
    skipped: tuple[SkippedLine, ...] = ()
    notes: tuple[str, ...] = ()

    def lost_spans(self) -> list[LostSpan]:
        """Where in the file's time frames may be missing: between the readable frames before and
        after each damaged line in the file's line order (infinite at either end of the file)."""
        by_line = sorted((frame.line, frame.timestamp_s) for frame in self.frames if frame.line is not None)
        lines = [line for line, _ in by_line]
        spans = []
        for skipped in self.skipped:
            if skipped.lost and skipped.line is not None:
                after = bisect.bisect_right(lines, skipped.line)
                before_t = by_line[after - 1][1] if after else -math.inf
                after_t = by_line[after][1] if after < len(by_line) else math.inf
                spans.append(LostSpan(min(before_t, after_t), max(before_t, after_t), skipped.frame_id))
        return spans


@dataclass
class _LineParse:
    """Accumulates one text file's frames, skipped lines and notes while parsing."""

    frames: list[TraceFrame] = field(default_factory=list)
    skipped: list[SkippedLine] = field(default_factory=list)
    notes: Counter[str] = field(default_factory=Counter)


_Parser = Callable[[str, int, Counter[str]], "TraceFrame"]
"""Reads one line (its text, its number, the notes it counts into) as a frame, or raises
:class:`_BadLine`."""


class _BadLine(ValueError):
    """A line of a recognised format that is damaged (its message says how, ``frame_id`` which
    frame it held when that can still be read)."""

    def __init__(self, reason: str, frame_id: int | None = None) -> None:
        super().__init__(reason)
        self.frame_id = frame_id


class _NotAFrame(_BadLine):
    """A line that never was a frame (free text, a header): skipped, but no frame was lost there."""


# --- line formats --------------------------------------------------------------------------
# Every pattern is ASCII-only: ``\d`` would otherwise accept other scripts' digits, which
# ``int`` and ``float`` then read as numbers, so a damaged byte could pass for a digit.

_CANDUMP_TEXT = re.compile(
    r"^\s*\((?P<time>\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?|-?\d+(?:\.\d+)?)\)\s+"
    r"(?P<channel>\S+)\s+(?P<id>[0-9A-Fa-f]{1,8})\s+\[(?P<dlc>\d{1,2})\]\s*(?P<data>(?:[0-9A-Fa-f]{2}\s*)*)$",
    re.ASCII)
_CANDUMP_LOG = re.compile(
    r"^\s*\((?P<time>-?\d+(?:\.\d+)?)\)\s+(?P<channel>\S+)\s+(?P<id>[0-9A-Fa-f]{1,8})#(?P<data>[0-9A-Fa-f]*)"
    r"(?:\s+[RT])?\s*$", re.ASCII)
_CANDUMP_FRAME_LIKE = re.compile(r"^\s*\(|\[\d\]|[0-9A-Fa-f]#", re.ASCII)
_CANDUMP_TEXT_HEAD = re.compile(r"^\s*\([^)]*\)\s+\S+\s+(?P<id>[0-9A-Fa-f]{1,8})\s+\[", re.ASCII)
_CANDUMP_LOG_HEAD = re.compile(r"^\s*\([^)]*\)\s+\S+\s+(?P<id>[0-9A-Fa-f]{1,8})#", re.ASCII)
"""The start of a candump line, up to its id: the id of a line damaged further on."""
_SAVVYCAN_HEADER = re.compile(r"^\s*Time Stamp\s*,\s*ID\s*,", re.IGNORECASE)
_SAVVYCAN_ROW = re.compile(r"^\s*-?\d+\s*,\s*[0-9A-Fa-f]{1,8}\s*,\s*(?:true|false)\s*,", re.IGNORECASE | re.ASCII)
"""The start of a SavvyCAN data row: recognises the format when its header line is damaged or lost."""
SAVVYCAN_STANDARD_HEADER = "Time Stamp,ID,Extended,Dir,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8"
"""The columns SavvyCAN writes: used when a file's own header is damaged or missing."""
_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
_HEX_ID = re.compile(r"[0-9A-Fa-f]{1,8}", re.ASCII)
_HEX_BYTE = re.compile(r"[0-9A-Fa-f]{2}", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _hex_bytes(text: str) -> bytes:
    """Bytes from hex digits (whitespace between them allowed); anything else is damage."""
    digits = re.sub(r"\s+", "", text)
    if len(digits) % 2:
        raise _BadLine("odd number of hex digits in the data")
    try:
        return bytes.fromhex(digits)
    except ValueError:
        raise _BadLine(f"data {_shown(digits)} is not hexadecimal") from None


def _shown(text: str, limit: int = 24) -> str:
    """A piece of a damaged line for a one-line reason: quoted, escaped, and short."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _frame_id(text: str) -> tuple[int, bool]:
    """The id and whether it needs 29 bits; an id that fits 11 bits is taken as standard,
    whatever a file's own flag says (SavvyCAN's ``Extended`` column is not reliable)."""
    if not _HEX_ID.fullmatch(text):
        raise _BadLine(f"id {_shown(text)} is not hexadecimal")
    value = int(text, 16)
    if value > 0x1FFFFFFF:
        raise _BadLine(f"id 0x{value:X} does not fit 29 bits")
    return value, value > 0x7FF


def _readable_id(text: str) -> int | None:
    """The id a damaged line still shows, or None."""
    try:
        return _frame_id(text)[0]
    except _BadLine:
        return None


@contextmanager
def _naming(frame_id: int | None) -> Iterator[None]:
    """Damage found in a line whose id is still readable is reported with that id."""
    try:
        yield
    except _BadLine as err:
        err.frame_id = frame_id
        raise


def _integer(text: str, what: str) -> int:
    """A decimal integer cell, ASCII digits only (``int`` alone would take ``1_0`` or `` +1``)."""
    if not _INTEGER.fullmatch(text):
        raise _BadLine(f"{what} {_shown(text)} is not an integer")
    return int(text)


def _seconds(value: int | float, text: str, per_second: int = 1) -> float:
    """A time in seconds that arithmetic can use. A damaged line can carry hundreds of digits,
    which ``float`` reads as infinity (then every later difference is NaN) and which an integer
    cannot even be divided into; the bound is checked before any conversion."""
    if not abs(value) <= MAX_ABS_TIME_S * per_second:  # also refuses NaN and infinity
        raise _BadLine(f"time {_shown(text)} is out of range")
    return value / per_second


def _candump_time(text: str) -> float:
    """Seconds from a candump time, absolute (a date and time, taken as UTC) or epoch."""
    try:
        if "-" in text[1:] or ":" in text:
            value = datetime.fromisoformat(text.replace(" ", "T")).replace(tzinfo=timezone.utc).timestamp()
        else:
            value = float(text)
    except (ValueError, OverflowError):
        raise _BadLine(f"time {_shown(text)} is not a date and time") from None
    return _seconds(value, text)


def _not_a_frame(line: str, reason: str, head: re.Pattern[str]) -> _BadLine:
    """A candump line that does not parse: a damaged frame if what is left of it still looks
    like one (its bracketed time, its ``[dlc]`` or its ``id#data``), with its id when the start
    of the line (``head``) still reads; else free text."""
    if not _CANDUMP_FRAME_LIKE.search(line):
        return _NotAFrame(reason)
    start = head.match(line)
    return _BadLine(reason, _readable_id(start["id"]) if start else None)


def _parse_candump_text(line: str, number: int, notes: Counter[str]) -> TraceFrame:
    match = _CANDUMP_TEXT.match(line)
    if not match:
        raise _not_a_frame(line, "not a candump frame line", _CANDUMP_TEXT_HEAD)
    with _naming(_readable_id(match["id"])):
        data = _hex_bytes(match["data"])
        dlc = int(match["dlc"])
        if len(data) != dlc:
            raise _BadLine(f"[{dlc}] announced, {len(data)} data bytes present (truncated?)")
        frame_id, extended = _frame_id(match["id"])
        return TraceFrame(_candump_time(match["time"]), frame_id, data, number, extended)


def _parse_candump_log(line: str, number: int, notes: Counter[str]) -> TraceFrame:
    match = _CANDUMP_LOG.match(line)
    if not match:
        raise _not_a_frame(line, "not a candump -L frame line", _CANDUMP_LOG_HEAD)
    with _naming(_readable_id(match["id"])):
        data = _hex_bytes(match["data"])
        if len(data) > 8:
            raise _BadLine(f"{len(data)} data bytes (a classic CAN frame has at most 8)")
        frame_id, extended = _frame_id(match["id"])
        return TraceFrame(_candump_time(match["time"]), frame_id, data, number, extended)


class _SavvyCanColumns:
    """Column positions of a SavvyCAN CSV, from its header (exports differ in their columns).

    A row is read strictly, every column it has checked, so that a flipped byte anywhere in
    the row marks it as damaged rather than passing as another value: a comma flipped into
    the ``Dir`` column would otherwise shift ``Bus`` into ``LEN`` and read as an empty frame.
    """

    def __init__(self, header: str) -> None:
        names = [name.strip().lower() for name in header.split(",")]
        try:
            self.time = names.index("time stamp")
            self.id = names.index("id")
            self.length = names.index("len")
        except ValueError as err:
            raise _BadLine(f"SavvyCAN header without a column: {err}") from None
        self.count = len(names)
        self.extended = names.index("extended") if "extended" in names else None
        self.direction = names.index("dir") if "dir" in names else None
        self.bus = names.index("bus") if "bus" in names else None
        self.data = [names.index(f"d{i}") for i in range(1, 9) if f"d{i}" in names]

    def parse(self, line: str, number: int, notes: Counter[str]) -> TraceFrame:
        cells = [cell.strip() for cell in line.split(",")]
        with _naming(self._trusted_id(cells)):
            return self._row(cells, number, notes)

    def _trusted_id(self, cells: list[str]) -> int | None:
        """A row's id if it is readable and the Extended column does not contradict it."""
        frame_id = _readable_id(self._cell(cells, self.id))
        return None if frame_id is None or (frame_id > 0x7FF and self._says_standard(cells)) else frame_id

    def _says_standard(self, cells: list[str]) -> bool:
        """``Extended`` is ``false``: SavvyCAN writes ``true`` for every 29-bit id (and sometimes
        for an 11-bit one), so a 29-bit id beside ``false`` is a damaged leading digit."""
        return self._cell(cells, self.extended).lower() == "false"

    def _row(self, cells: list[str], number: int, notes: Counter[str]) -> TraceFrame:
        if len(cells) <= max(self.time, self.id, self.length) or any(cells[self.count:]):
            raise _BadLine(f"{len(cells)} fields, not a SavvyCAN row of {self.count} columns")
        timestamp_us = _integer(cells[self.time], "time stamp")
        length = _integer(cells[self.length], "LEN")
        if not 0 <= length <= len(self.data):
            raise _BadLine(f"LEN {length} out of range")
        data_cells = [cells[i] if i < len(cells) else "" for i in self.data[:length]]
        bad = next((cell for cell in data_cells if not _HEX_BYTE.fullmatch(cell)), None)
        if bad is not None:
            raise _BadLine(f"LEN {length} but data byte {_shown(bad)} is missing or not hexadecimal")
        frame_id, extended = _frame_id(cells[self.id])
        if extended and self._says_standard(cells):
            raise _BadLine(f"id 0x{frame_id:X} needs 29 bits but Extended says false (a damaged digit of the id?)")
        self._check_flags(cells, extended, notes)
        if timestamp_us < 0:
            notes["timestamps are negative (read as they are: only differences matter)"] += 1
        timestamp_s = _seconds(timestamp_us, cells[self.time], per_second=1_000_000)
        return TraceFrame(timestamp_s, frame_id, bytes.fromhex("".join(data_cells)), number, extended)

    def _check_flags(self, cells: list[str], extended: bool, notes: Counter[str]) -> None:
        """The columns that carry no frame content must still hold what SavvyCAN writes there."""
        said = self._cell(cells, self.extended).lower()
        if said not in ("", "true", "false"):
            raise _BadLine(f"Extended {_shown(said)} is neither true nor false")
        if said == "true" and not extended:
            notes["Extended column says true for an 11-bit id (the id value is trusted)"] += 1
        if self._cell(cells, self.direction).lower() not in ("", "rx", "tx"):
            raise _BadLine(f"Dir {_shown(self._cell(cells, self.direction))} is neither Rx nor Tx")
        if self._cell(cells, self.bus):
            _integer(self._cell(cells, self.bus), "Bus")

    @staticmethod
    def _cell(cells: list[str], index: int | None) -> str:
        return cells[index] if index is not None and index < len(cells) else ""


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
        return _readable(_read_with_python_can(path, "blf"))
    text, encoding_note = _decode(raw)
    lines = _split_lines(text)
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
    if encoding_note:
        trace = Trace(trace.path, trace.format, trace.frames, trace.skipped, (encoding_note, *trace.notes))
    return _readable(trace)


def _readable(trace: Trace) -> Trace:
    """The trace, or the one-line error for a file of a known format in which no frame could be read."""
    if not trace.frames:
        first = f", first: {_described(trace.skipped[0])}" if trace.skipped else ""
        raise TraceReadError(trace.path, None, None, f"read as {trace.format}, but no frame could be read "
                                                     f"({len(trace.skipped)} lines skipped{first})")
    return trace


def _described(skipped: SkippedLine) -> str:
    """``line N: reason`` (or the reason alone for a binary format's damage, which has no line)."""
    return f"line {skipped.line}: {skipped.reason}" if skipped.line is not None else skipped.reason


_BYTE_ORDER_MARKS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                     (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16"))
"""UTF-32's marks first: UTF-16 little-endian's is the start of UTF-32 little-endian's."""


def _decode(raw: bytes) -> tuple[str, str | None]:
    """The file as text, and a note when it was not plain UTF-8.

    A byte-order mark names the encoding (Windows tools save CSV as UTF-16). Without one the
    file is read as UTF-8 with each undecodable byte replaced (U+FFFD): a latin-1 byte or binary
    junk then damages only the line it is in, which is skipped and counted like any other
    damage; guessing another encoding could not make such a line a frame anyway, since every
    frame format here is ASCII.
    """
    for mark, encoding in _BYTE_ORDER_MARKS:
        if raw.startswith(mark):
            name = encoding.upper().replace("-SIG", "")
            return raw.decode(encoding, errors="replace"), f"decoded as {name} (byte-order mark)"
    return raw.decode("utf-8", errors="replace"), None


def _split_lines(text: str) -> list[str]:
    """Lines as an editor numbers them: ends at LF, CRLF or CR only. ``str.splitlines`` also
    breaks at form feeds, file separators and the like, which a damaged byte can be, and would
    then number every later line differently from what the user sees."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return lines[:-1] if lines and not lines[-1] else lines


def _line_damage(line: str) -> str | None:
    """Why a line cannot be a frame in any text format, before any format looks at it."""
    if len(line) > MAX_LINE_CHARS:
        return f"line of {len(line)} characters (a frame line has at most {MAX_LINE_CHARS})"
    if "\ufffd" in line:
        return "bytes that are not UTF-8 text"
    control = _CONTROL.search(line)
    if control:
        return f"control character 0x{ord(control.group()):02X} (binary data)"
    return None


def _sniff(lines: list[str]) -> str | None:
    """The format most of the first lines match (a few damaged or free-text lines do not matter)."""
    votes: Counter[str] = Counter()
    for line in lines[:SNIFF_LINES]:
        if _line_damage(line):
            continue
        stripped = line.strip()
        if _SAVVYCAN_HEADER.match(stripped):
            return "savvycan-csv"
        if stripped.lower().startswith(("date ", "base hex", "base dec")):
            votes["asc"] += 10
        elif stripped.startswith(";$FILEVERSION"):
            return "trc"
        elif _SAVVYCAN_ROW.match(stripped):
            votes["savvycan-csv"] += 1
        elif _CANDUMP_LOG.match(stripped):
            votes["candump-log"] += 1
        elif _CANDUMP_TEXT.match(stripped):
            votes["candump-text"] += 1
    return votes.most_common(1)[0][0] if votes else None


def _read_lines(path: Path, kind: str, lines: Iterable[str], parse: _Parser, notes: Iterable[str] = ()) -> Trace:
    """Parse every line; a line that is not a frame is skipped with its number and why."""
    parsed = _LineParse()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            damage = _line_damage(line)
            if damage:
                raise _damaged(line, number, parse, damage)
            parsed.frames.append(parse(line, number, parsed.notes))
        except _BadLine as err:
            parsed.skipped.append(SkippedLine(number, str(err), not isinstance(err, _NotAFrame), err.frame_id))
    counted = [f"{what}: {count} frames" for what, count in parsed.notes.items()]
    return _trace(path, kind, parsed.frames, parsed.skipped, [*notes, *counted])


def _damaged(line: str, number: int, parse: _Parser, damage: str) -> _BadLine:
    """The error for a line damaged by foreign bytes. The parser still reads it as far as it can,
    to learn the id the line shows and whether it was a frame at all (a damaged comment loses
    no frame); the frame itself is never trusted, even where the damage fell in a column
    nobody reads (nor counted in the notes)."""
    if len(line) > MAX_LINE_CHARS:
        return _BadLine(damage)
    try:
        return _BadLine(damage, parse(line, number, Counter()).frame_id)
    except _NotAFrame:
        return _NotAFrame(damage)
    except _BadLine as err:
        return _BadLine(damage, err.frame_id)


def _read_savvycan(path: Path, lines: list[str]) -> Trace:
    """A SavvyCAN CSV: columns from its header wherever it is (lines may have been shuffled),
    SavvyCAN's standard columns when the header is damaged or lost (a note says so). Any other
    line that starts like a header is skipped, but no frame was lost there."""
    header_at, columns, notes = _savvycan_columns(lines)
    body = list(lines)
    if header_at is not None:
        body[header_at] = ""  # the header is not a frame, nor damage

    def parse(line: str, number: int, counted: Counter[str]) -> TraceFrame:
        if line.strip().lower().startswith("time stamp"):
            raise _NotAFrame("a SavvyCAN header line, damaged or repeated")
        return columns.parse(line, number, counted)

    return _read_lines(path, "savvycan-csv", body, parse, notes=notes)


def _savvycan_columns(lines: list[str]) -> tuple[int | None, _SavvyCanColumns, list[str]]:
    """The header's index, the columns it names, and a note when SavvyCAN's standard columns
    stand in for a header that is missing, unreadable or damaged (so the rows are still read).
    A damaged header can still name columns, wrongly (``D5)D6`` for ``D5,D6``): the header is
    kept only if it reads at least as many of the first rows as the standard columns do."""
    standard = _SavvyCanColumns(SAVVYCAN_STANDARD_HEADER)
    header_at = next((i for i, line in enumerate(lines)
                      if not _line_damage(line) and _SAVVYCAN_HEADER.match(line.strip())), None)
    if header_at is None:
        return None, standard, ["no SavvyCAN header line: rows read with SavvyCAN's standard columns"]
    try:
        own = _SavvyCanColumns(lines[header_at])
    except _BadLine as err:
        problem = str(err)
    else:
        if _rows_read(own, lines) >= _rows_read(standard, lines):
            return header_at, own, []
        problem = "its columns do not fit the rows"
    return None, standard, [f"SavvyCAN header at line {header_at + 1} damaged ({problem}): "
                            "rows read with SavvyCAN's standard columns"]


def _rows_read(columns: _SavvyCanColumns, lines: list[str]) -> int:
    """How many of the first lines these columns read as frames."""
    count = 0
    for number, line in enumerate(lines[:SNIFF_LINES], start=1):
        try:
            if not _line_damage(line):
                columns.parse(line, number, Counter())
                count += 1
        except _BadLine:
            pass
    return count


def _trace(path: Path, kind: str, frames: list[TraceFrame], skipped: list[SkippedLine],
           notes: list[str]) -> Trace:
    """The trace every reader returns: frames in time order, skipped lines in line order."""
    outliers = _time_outliers(frames)
    skipped = skipped + [SkippedLine(frames[i].line, f"time {frames[i].timestamp_s:.6f} s is out of line with the "
                                                     "frames around it (a damaged time stamp)", True, frames[i].frame_id)
                         for i in sorted(outliers)]
    kept = [frame for i, frame in enumerate(frames) if i not in outliers]
    ordered, order_note = _in_time_order(kept)
    skipped.sort(key=lambda s: -1 if s.line is None else s.line)
    return Trace(path, kind, tuple(ordered), tuple(skipped), tuple(notes + ([order_note] if order_note else [])))


TIME_OUTLIER_S = 1.0
"""How far out of order a frame's time must be, from the frames around it in the file, to be a
damaged time stamp: ten CHAdeMO cycles, far more than any logger's reordering."""

SCATTERED_TIME_FRACTION = 0.05
"""Above this share of steps back in time a file has no local order to judge a time against
(its lines were shuffled or merged): it is sorted whole, no time is called damaged."""


def _time_outliers(frames: list[TraceFrame]) -> set[int]:
    """Indices of frames whose time stamp is damaged: a lone frame more than
    :data:`TIME_OUTLIER_S` out of order while the frames either side of it agree with each
    other (at either end of the file, the two frames next to it).

    A flipped digit moves a frame by seconds or by years; sorted, it would land where it never
    was (as the session's first frame, or after a long silence) and every rule would judge that.
    A frame in order with its neighbours is never an outlier, so an undamaged file, gaps and
    all, keeps every frame; nor is a block of frames (two recordings joined, a logger's
    buffer written late), whose frames agree with their own neighbours.
    """
    times = [frame.timestamp_s for frame in frames]
    if sum(later < earlier for earlier, later in zip(times, times[1:])) > SCATTERED_TIME_FRACTION * len(times):
        return set()
    return {i for i in range(len(times)) if _out_of_line(times, i)}


def _out_of_line(times: list[float], i: int) -> bool:
    """Whether ``times[i]`` is far out of order between two neighbours that agree."""
    def agree(a: int, b: int) -> bool:
        return 0 <= a < len(times) and 0 <= b < len(times) and abs(times[b] - times[a]) <= TIME_OUTLIER_S

    t = times[i]
    if agree(i - 1, i + 1):
        return not min(times[i - 1], times[i + 1]) - TIME_OUTLIER_S <= t <= max(times[i - 1], times[i + 1]) + TIME_OUTLIER_S
    if i == 0 and agree(1, 2):
        return t > times[1] + TIME_OUTLIER_S
    if i == len(times) - 1 and agree(i - 2, i - 1):
        return t < times[i - 1] - TIME_OUTLIER_S
    return False


def _in_time_order(frames: list[TraceFrame]) -> tuple[list[TraceFrame], str | None]:
    """The frames sorted by time (a stable sort: equal times keep the file's order), and a note
    saying how often the file went back in time, when it did.

    Sorted rather than counted as damage (except a time far out of line with the frames around
    it, see :func:`_time_outliers`): a line whose time is earlier than the line before it still
    parses whole, and the file's order is not evidence of anything (loggers that merge buses or
    buffer write lines out of order; after lines were shuffled nobody can say which of two
    lines is "the" wrong one, so dropping either would discard readable frames). Everything
    downstream needs time order (the session looks frames up by time, phases and reaction
    times are differences of successive frames), so it is made once, here, for every format.
    """
    backwards = [later.line for earlier, later in zip(frames, frames[1:]) if later.timestamp_s < earlier.timestamp_s]
    if not backwards:
        return frames, None
    where = f" (first at line {backwards[0]})" if backwards[0] is not None else ""
    return (sorted(frames, key=lambda frame: frame.timestamp_s),
            f"time goes backwards {len(backwards)} times{where}; frames are judged in time order")


def _read_with_python_can(path: Path, kind: str) -> Trace:
    """ASC, BLF and TRC through python-can; these readers give no line numbers, so a damaged
    file is read up to the damage and the rest is reported as one skipped entry."""
    reader_class = {"asc": can.ASCReader, "blf": can.BLFReader, "trc": can.TRCReader}[kind]
    frames: list[TraceFrame] = []
    skipped: list[SkippedLine] = []
    non_data = 0
    try:
        for message in reader_class(str(path)):
            if message.is_error_frame or message.is_remote_frame:
                non_data += 1
                continue
            frames.append(TraceFrame(float(message.timestamp), message.arbitration_id, bytes(message.data),
                                     None, message.is_extended_id))
    except Exception as err:  # python-can raises many kinds on damaged input; we report, not crash
        skipped.append(SkippedLine(None, f"{kind} reader stopped after {len(frames)} frames: "
                                         f"{type(err).__name__}: {err}"))
    notes = [f"{non_data} error or remote frames ignored"] if non_data else []
    return _trace(path, kind, frames, skipped, notes)

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

