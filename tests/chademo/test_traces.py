"""Reading traces: the shared real files, the live recording format, other python-can formats,
and damaged copies (counted with their line numbers, never a crash)."""

from __future__ import annotations

from pathlib import Path

import can
import pytest

from trace_files import ALL_TRACES, GENIEPOINT, LEAF_V2H, LEAF_ZE1_CHARGING, LEAF_ZE1_START
from rig.chademo.traces import TraceFrame, TraceReadError, read_trace, write_candump_log
from rig.chademo.traces import Trace


def test_shared_traces_are_read_whole(shared_traces: dict[str, Trace]) -> None:
    counts = {name: (trace.format, len(trace.frames), len(trace.skipped)) for name, trace in shared_traces.items()}
    assert counts == {
        GENIEPOINT.name: ("savvycan-csv", 374, 0),
        LEAF_V2H.name: ("savvycan-csv", 4072, 0),
        LEAF_ZE1_CHARGING.name: ("savvycan-csv", 4692, 0),
        LEAF_ZE1_START.name: ("candump-text", 548, 6),
    }


def test_candump_free_text_lines_are_skipped_with_their_numbers(shared_traces: dict[str, Trace]) -> None:
    trace = shared_traces[LEAF_ZE1_START.name]
    assert [s.line for s in trace.skipped] == [1, 17, 22, 33, 243, 414]
    first, last = trace.frames[0], trace.frames[-1]
    assert (first.frame_id, first.line) == (0x100, 3)
    assert last.data == bytes.fromhex("0202000000 20FF50".replace(" ", ""))  # the file has no final newline
    assert last.timestamp_s - first.timestamp_s == pytest.approx(5.472851, abs=1e-6)


def test_negative_increasing_savvycan_timestamps_keep_their_order(shared_traces: dict[str, Trace]) -> None:
    trace = shared_traces[LEAF_ZE1_CHARGING.name]
    times = [frame.timestamp_s for frame in trace.frames]
    assert times[0] < 0 and times == sorted(times)
    assert times[-1] - times[0] == pytest.approx(39.547549, abs=1e-5)
    assert any("negative" in note for note in trace.notes)


def test_extended_column_is_not_trusted_for_11_bit_ids(tmp_path: Path) -> None:
    path = tmp_path / "lying.csv"
    path.write_text("Time Stamp,ID,Extended,Dir,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8\n"
                    "1000,00000102,true,Rx,0,8,02,9A,01,00,00,C8,03,00,\n"
                    "2000,18FF50E5,true,Rx,0,8,00,00,00,00,00,00,00,00,\n")
    trace = read_trace(path)
    assert [(f.frame_id, f.extended) for f in trace.frames] == [(0x102, False), (0x18FF50E5, True)]
    assert any("Extended column says true" in note for note in trace.notes)


def test_damaged_savvycan_copy_is_counted_not_fatal(tmp_path: Path) -> None:
    lines = LEAF_V2H.read_text().splitlines()
    lines[9] = lines[9][:30]                      # truncated line (file line 10)
    lines[19] = "garbage \x00\x01 not a frame"     # garbage (line 20)
    lines[29] = lines[29].replace(",8,", ",9,")   # LEN out of range (line 30)
    lines.insert(40, "(2022-06-02 22:49:58.125771)  can1  100   [8]  06 00 00 00 B3 01 F0 00")  # wrong format
    path = tmp_path / "damaged.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b"\xff\xfe binary tail\n")
    trace = read_trace(path)
    assert [s.line for s in trace.skipped] == [10, 20, 30, 41, 4075]  # 4073 lines + 1 inserted, then the tail
    assert len(trace.frames) == 4072 - 3


def test_truncated_candump_lines_are_counted(tmp_path: Path) -> None:
    text = LEAF_ZE1_START.read_text().splitlines()
    text[4] = text[4][:-6]  # (line 5) drops bytes: [8] announced, fewer present
    text[6] = text[6][:20]  # (line 7) cut in the time stamp
    path = tmp_path / "cut.candump.txt"
    path.write_text("\n".join(text))
    trace = read_trace(path)
    reasons = {s.line: s.reason for s in trace.skipped}
    assert "truncated" in reasons[5] and 7 in reasons
    assert len(trace.frames) == 548 - 2


def test_live_format_round_trips_through_python_can(tmp_path: Path) -> None:
    frames = [TraceFrame(1_700_000_000.0 + i * 0.1, fid, bytes([i, 0xFF, 0, 1, 2, 3, 4, 5]))
              for i, fid in enumerate((0x100, 0x101, 0x102, 0x108, 0x109, 0x208))]
    path = tmp_path / "session.log"
    write_candump_log(path, frames)
    trace = read_trace(path)
    assert trace.format == "candump-log" and not trace.skipped
    assert [(f.timestamp_s, f.frame_id, f.data) for f in trace.frames] == [
        (pytest.approx(f.timestamp_s, abs=1e-6), f.frame_id, f.data) for f in frames]
    python_can = list(can.LogReader(str(path)))
    assert [(m.arbitration_id, bytes(m.data)) for m in python_can] == [(f.frame_id, f.data) for f in frames]


def test_damaged_candump_log_lines_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "session.log"
    path.write_text("(1.000000) can0 100#0600000000B301F0 R\n"
                    "(1.100000) can0 101#00000000000000\n"      # 7 bytes is still a frame
                    "(1.200000) can0 10\n"                       # truncated
                    "(1.300000) can0 102#029A01000\n"           # odd hex
                    "(1.400000) can0 108#01F4011FB3010000 T\n")
    trace = read_trace(path)
    assert [f.frame_id for f in trace.frames] == [0x100, 0x101, 0x108]
    assert [s.line for s in trace.skipped] == [3, 4]


@pytest.mark.parametrize("suffix, writer", [(".asc", can.ASCWriter), (".blf", can.BLFWriter),
                                            (".trc", can.TRCWriter)])
def test_other_python_can_formats(tmp_path: Path, suffix: str, writer: type) -> None:
    path = tmp_path / f"session{suffix}"
    with writer(str(path)) as out:
        for i, fid in enumerate((0x100, 0x102, 0x109)):
            out.on_message_received(can.Message(timestamp=10.0 + i * 0.1, arbitration_id=fid, is_extended_id=False,
                                                data=bytes([i] * 8)))
    trace = read_trace(path)
    assert [(f.frame_id, f.data) for f in trace.frames] == [(0x100, bytes(8)), (0x102, bytes([1] * 8)),
                                                             (0x109, bytes([2] * 8))]


def test_a_missing_file_or_an_unknown_format_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TraceReadError, match="nothing.csv: cannot read"):
        read_trace(tmp_path / "nothing.csv")
    with pytest.raises(TraceReadError, match="is a directory"):
        read_trace(tmp_path)
    notes = tmp_path / "notes.csv"
    notes.write_text("just some text\nno frames here\n")
    with pytest.raises(TraceReadError, match="notes.csv: no CAN frames in a known format"):
        read_trace(notes)
    header_only = tmp_path / "empty.csv"
    header_only.write_text("Time Stamp,ID,Extended,Dir,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8\n")
    with pytest.raises(TraceReadError, match="no frame could be read"):
        read_trace(header_only)


def test_the_trace_copies_are_the_recordings_as_published():
    """The real traces are evidence recorded by others: the copies must stay byte for byte what was published."""
    import hashlib

    from trace_files import TRACES

    sums = dict(reversed(line.split()) for line in (TRACES / "SHA256SUMS").read_text().splitlines())
    assert sorted(sums) == sorted(path.name for path in ALL_TRACES)
    for path in ALL_TRACES:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sums[path.name], path.name


SAVVYCAN_HEADER = "Time Stamp,ID,Extended,Dir,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8"


def _savvycan_rows(count: int, start_us: int = 1_000_000) -> list[str]:
    """SavvyCAN rows of 0x102 every 100 ms."""
    return [f"{start_us + i * 100_000},00000102,false,Rx,0,8,02,9A,01,00,00,C8,03,00," for i in range(count)]


@pytest.mark.parametrize("header", [SAVVYCAN_HEADER.replace("D5,D6", "D5)D6"), "Tim\x05 Stamp,ID,Ext", None],
                         ids=["columns damaged", "header damaged", "no header"])
def test_rows_are_read_with_savvycan_columns_when_the_header_is_damaged(tmp_path: Path, header: str | None) -> None:
    path = tmp_path / "header.csv"
    path.write_text("\n".join(([header] if header else []) + _savvycan_rows(5)) + "\n")
    trace = read_trace(path)
    assert trace.format == "savvycan-csv" and len(trace.frames) == 5
    assert any("SavvyCAN's standard columns" in note for note in trace.notes)


def test_a_damaged_time_stamp_is_counted_not_sorted_into_the_session(tmp_path: Path) -> None:
    rows = _savvycan_rows(100)
    rows[9] = "9" + rows[9]          # line 11: 91.9 s instead of 1.9 s
    rows[50] = "1" + rows[50][1:]    # line 52: 1.0 s instead of 6.0 s
    rows[80] = rows[80].replace("9000000", "9000090")  # line 82: 90 us late, still in order: kept
    path = tmp_path / "time.csv"
    path.write_text("\n".join([SAVVYCAN_HEADER, *rows]) + "\n")
    trace = read_trace(path)
    assert [(s.line, s.frame_id) for s in trace.skipped] == [(11, 0x102), (52, 0x102)]
    assert "out of line with the frames around it" in trace.skipped[0].reason
    assert [f.line for f in trace.frames] == [n for n in range(2, 102) if n not in (11, 52)]


def test_damaged_ids_times_and_flags_are_lines_not_frames(tmp_path: Path) -> None:
    rows = _savvycan_rows(6)
    rows[1] = rows[1].replace("00000102", "10000102")        # a leading digit flipped: 29 bits beside "false"
    rows[2] = rows[2].replace("1200000", "9" * 400)          # a time no float can hold
    rows[3] = rows[3].replace("false", "fa\x7fse")
    rows[4] = rows[4].replace("02,9A", "02,9\xa7")
    path = tmp_path / "cells.csv"
    path.write_text("\n".join([SAVVYCAN_HEADER, *rows]) + "\n", encoding="latin-1")
    reasons = {s.line: s.reason for s in read_trace(path).skipped}
    assert sorted(reasons) == [3, 4, 5, 6]
    assert "Extended says false" in reasons[3] and "out of range" in reasons[4]
    assert "control character" in reasons[5] and "not UTF-8" in reasons[6]


def test_a_damaged_frame_line_is_a_lost_frame_a_comment_is_not(tmp_path: Path) -> None:
    path = tmp_path / "notes.candump.txt"
    path.write_text(" (2022-06-02 22:49:58.125771)  can1  100   [8]  06 00 00 00 B3 01 F0 00\n"
                    " the charger answers\n"
                    " (2022-06-02 22:49:58.135760)  can1  101   [8]  00 00 00 0\n"
                    " (2022-06-02 22:49:58.145756)  can1  102   [8]  02 9A 01 00 00 80 03 00\n")
    trace = read_trace(path)
    assert [(s.line, s.lost, s.frame_id) for s in trace.skipped] == [(2, False, None), (3, True, 0x101)]
    assert trace.lost_spans() == [(pytest.approx(trace.frames[0].timestamp_s), pytest.approx(trace.frames[1].timestamp_s),
                                   0x101)]


def test_two_recordings_joined_out_of_order_are_sorted_not_damaged(tmp_path: Path) -> None:
    """A block of frames out of order (a later recording written first) agrees with itself: it
    is sorted into place, no frame of it is called a damaged time stamp."""
    path = tmp_path / "joined.csv"
    path.write_text("\n".join([SAVVYCAN_HEADER, *_savvycan_rows(50, start_us=100_000_000), *_savvycan_rows(50)]) + "\n")
    trace = read_trace(path)
    assert not trace.skipped and len(trace.frames) == 100
    assert trace.frames[0].line == 52 and any("time goes backwards 1 times (first at line 52)" in n for n in trace.notes)
