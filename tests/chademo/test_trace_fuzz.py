"""Damaged copies of the real traces through ``rig chademo check``, in-process: never a traceback.

Each copy is damaged the way recordings are on their way to a checker: bytes flipped, the file
cut mid-line, a 2 MB line, lines shuffled, another encoding with junk, nothing at all or binary
noise. Whatever the damage, the checker must exit 0, 1 or 2; 1 only with the violations it found
in what it could read printed; 2 only when nothing could be judged (one line naming the file);
and it always prints how many lines it skipped. The seeds are fixed, so a failure is reproducible.
"""

from __future__ import annotations

import bisect
import random
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from rig.chademo.traces import read_trace
from rig.run.cli import run_command_line
from trace_files import ALL_TRACES, LEAF_ZE1_CHARGING

FLIP_SEEDS = (1, 2, 3)
FLIPPED_BYTES = 200
TWO_MB = 2 * 1024 * 1024
LATIN_1_JUNK = "température élevée, arrêt demandé\n".encode("latin-1")


@dataclass(frozen=True)
class Report:
    """What one ``rig chademo check FILE`` printed, and its exit code."""

    code: int
    out: str
    err: str

    @property
    def skipped(self) -> int:
        """The damaged-line count the report printed."""
        match = re.search(r"^lines skipped: (\d+)", self.out, re.MULTILINE)
        assert match, self.out
        return int(match[1])

    @property
    def violations(self) -> list[str]:
        return [line for line in self.out.splitlines() if line.startswith("violation [")]


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> Report:
    """Run the CLI entry in-process on one file; any exception escaping it fails the test."""
    capsys.readouterr()
    code = run_command_line(["chademo", "check", str(path)])
    captured = capsys.readouterr()
    return Report(code, captured.out, captured.err)


def assert_judged(report: Report) -> None:
    """Something was readable: a verdict on it (exit 1 exactly when violations are printed)."""
    assert report.code in (0, 1), report.err
    assert report.code == (1 if report.violations else 0), report.out
    assert ("result: no violations" in report.out) == (report.code == 0)
    assert report.skipped >= 0 and report.err == ""


def assert_nothing_to_judge(report: Report, path: Path) -> None:
    """Exit 2: one line naming the file, no report, no traceback."""
    assert report.code == 2 and report.out == ""
    assert report.err.strip().count("\n") == 0 and str(path) in report.err and "Traceback" not in report.err


def damaged_copy(tmp_path: Path, original: Path, content: bytes, tag: str) -> Path:
    """The damaged bytes under the original's name (so the report's sources read the same)."""
    folder = tmp_path / tag
    folder.mkdir()
    path = folder / original.name
    path.write_bytes(content)
    return path


def flipped(raw: bytes, seed: int, keep_lines: bool = False) -> tuple[bytes, set[int]]:
    """``raw`` with :data:`FLIPPED_BYTES` bytes replaced at random, and the offsets touched.
    With ``keep_lines`` no line end is made or unmade, so line numbers stay comparable."""
    rng, damaged, touched = random.Random(seed), bytearray(raw), set()
    while len(touched) < FLIPPED_BYTES:
        offset, value = rng.randrange(len(raw)), rng.randrange(256)
        if keep_lines and (raw[offset] in b"\r\n" or value in b"\r\n"):
            continue
        damaged[offset] = value
        touched.add(offset)
    return bytes(damaged), touched


def whole_lines(raw: bytes) -> list[bytes]:
    """The file's lines, each with its line end (the last one given one if it had none)."""
    lines = raw.splitlines(keepends=True)
    return [line if line.endswith(b"\n") else line + b"\n" for line in lines]


traces = pytest.mark.parametrize("original", ALL_TRACES, ids=lambda path: path.name)


@traces
@pytest.mark.parametrize("seed", FLIP_SEEDS)
def test_flipped_bytes_are_counted_and_the_rest_judged(original: Path, seed: int, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    content, _ = flipped(original.read_bytes(), seed)
    report = check(damaged_copy(tmp_path, original, content, "flipped"), capsys)
    assert_judged(report)
    assert report.skipped > 0


@traces
def test_a_flipped_byte_damages_only_its_own_line(original: Path, tmp_path: Path) -> None:
    """Every frame on an untouched line is read exactly as in the original, and only touched
    lines are newly skipped: damage never spreads to the lines around it."""
    raw = original.read_bytes()
    content, touched = flipped(raw, seed=7, keep_lines=True)
    starts = [0, *(i + 1 for i, byte in enumerate(raw) if byte == 0x0A)]
    touched_lines = {bisect.bisect_right(starts, offset) for offset in touched}
    before, after = read_trace(original), read_trace(damaged_copy(tmp_path, original, content, "kept"))
    newly_skipped = {s.line for s in after.skipped} - {s.line for s in before.skipped}
    assert newly_skipped and newly_skipped <= touched_lines
    untouched = {(f.line, f.frame_id, f.data, f.timestamp_s) for f in before.frames if f.line not in touched_lines}
    assert untouched <= {(f.line, f.frame_id, f.data, f.timestamp_s) for f in after.frames}


@traces
@pytest.mark.parametrize("seed", (11, 12, 13))
def test_a_file_cut_mid_line_is_judged_up_to_the_cut(original: Path, seed: int, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    raw = original.read_bytes()
    rng = random.Random(seed)
    cut = rng.randrange(len(raw) // 5, len(raw))
    while raw[cut - 1:cut] in (b"\n", b"\r"):  # mid-line: the last line is left incomplete
        cut -= 1
    report = check(damaged_copy(tmp_path, original, raw[:cut], "cut"), capsys)
    assert_judged(report)


@traces
def test_a_2_mb_line_is_skipped_and_named(original: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = whole_lines(original.read_bytes())
    where = 1  # line 2: among the first skipped lines the report names
    lines.insert(where, b"0A" * (TWO_MB // 2) + b"\n")
    report = check(damaged_copy(tmp_path, original, b"".join(lines), "long"), capsys)
    assert_judged(report)
    assert f"{where + 1}: line of {TWO_MB} characters" in report.out


@traces
def test_shuffled_lines_are_judged_in_time_order(original: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Shuffling loses nothing: the frames are sorted back and the verdict is the original's."""
    lines = whole_lines(original.read_bytes())
    random.Random(5).shuffle(lines)
    expected = check(original, capsys)
    report = check(damaged_copy(tmp_path, original, b"".join(lines), "shuffled"), capsys)
    assert_judged(report)
    assert (report.code, report.violations) == (expected.code, expected.violations)
    assert "frames are judged in time order" in report.out


@traces
def test_utf16_with_a_byte_order_mark_reads_as_the_original(original: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    expected = check(original, capsys)
    content = original.read_bytes().decode("ascii").encode("utf-16")
    report = check(damaged_copy(tmp_path, original, content, "utf16"), capsys)
    assert report.code == expected.code
    lines = expected.out.splitlines()
    assert report.out.splitlines()[1:] == [*lines[1:3], "note: decoded as UTF-16 (byte-order mark)", *lines[3:]]


@traces
def test_latin1_junk_lines_are_counted(original: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = whole_lines(original.read_bytes())
    expected_skipped = check(original, capsys).skipped
    for where in (len(lines) - 10, len(lines) // 2, 40):
        lines.insert(where, LATIN_1_JUNK)
    lines.append(b"\xff\xfe\x00\x00 junk \xe9\n")
    report = check(damaged_copy(tmp_path, original, b"".join(lines), "latin1"), capsys)
    assert_judged(report)
    assert report.skipped == expected_skipped + 4
    assert "41: bytes that are not UTF-8 text" in report.out


@pytest.mark.parametrize("content", [b"", b"\n\n\n", bytes(4096), random.Random(3).randbytes(65536),
                                     b"LOGG" + random.Random(4).randbytes(4096)],
                         ids=["empty", "blank lines", "NUL bytes", "binary", "binary with the BLF magic"])
def test_nothing_readable_is_exit_2_in_one_line(content: bytes, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "trace.csv"
    path.write_bytes(content)
    assert_nothing_to_judge(check(path, capsys), path)


def test_a_damaged_line_in_a_clean_session_is_no_violation(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A frame lost to damage is not a late frame: the cycle and silence rules do not judge
    across it, so the clean session stays clean."""
    lines = whole_lines(LEAF_ZE1_CHARGING.read_bytes())
    for number in (500, 501, 502, 2000, 3000):
        lines[number - 1] = lines[number - 1][:20] + b"\xff" + lines[number - 1][21:]
    report = check(damaged_copy(tmp_path, LEAF_ZE1_CHARGING, b"".join(lines), "clean"), capsys)
    assert (report.code, report.skipped) == (0, 5), report.out
    assert "lines skipped: 5 (line 500: bytes that are not UTF-8 text, 501: " in report.out


def test_frames_the_decoder_refuses_are_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A frame whose data does not decode (here a LEN damaged from 8 to 3) is a counted problem,
    named with its line; when no CHAdeMO frame decodes at all there is nothing to judge."""
    lines = whole_lines(LEAF_ZE1_CHARGING.read_bytes())
    lines[9] = lines[9].replace(b",8,", b",3,")
    report = check(damaged_copy(tmp_path, LEAF_ZE1_CHARGING, b"".join(lines), "short"), capsys)
    assert_judged(report)
    assert (f"frames not decoded: 1 ({LEAF_ZE1_CHARGING.name}:10: 0x101 EvChargeTime: 3 data bytes, expected 8)"
            in report.out.splitlines())
    none_decode = tmp_path / "short.log"
    none_decode.write_text("(1.000000) can0 100#0600\n(1.100000) can0 102#02\n")
    report = check(none_decode, capsys)
    assert_nothing_to_judge(report, none_decode)
    assert "none of its 2 CHAdeMO frames decodes" in report.err
