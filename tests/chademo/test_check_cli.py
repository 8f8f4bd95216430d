"""``rig chademo check`` as a user runs it: a real process per call, on the shared traces and on
damaged copies of them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from trace_files import ALL_TRACES, GENIEPOINT, LEAF_V2H, LEAF_ZE1_CHARGING, LEAF_ZE1_START

pytestmark = pytest.mark.e2e  # end-to-end runs: not in the fast layer (-m 'not e2e')

ROOT = Path(__file__).resolve().parents[2]

def check(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "rig", "chademo", "check", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def reports() -> dict[str, subprocess.CompletedProcess[str]]:
    return {path.name: check(path) for path in ALL_TRACES}


def test_every_chademo_frame_of_every_shared_trace_is_decoded(reports) -> None:
    expected = {GENIEPOINT.name: "frames: 374 read, 374 of 374 CHAdeMO frames decoded",
                LEAF_V2H.name: "frames: 4072 read, 4072 of 4072 CHAdeMO frames decoded",
                LEAF_ZE1_CHARGING.name: "frames: 4692 read, 3909 of 3909 CHAdeMO frames decoded, 783 with other ids "
                                        "(0x202, 0x700)",
                LEAF_ZE1_START.name: "frames: 548 read, 438 of 438 CHAdeMO frames decoded, 110 with other ids "
                                     "(0x202, 0x700)"}
    for name, line in expected.items():
        assert line in reports[name].stdout.splitlines(), reports[name].stdout
        assert "Traceback" not in reports[name].stderr


def test_exit_codes_on_the_shared_traces(reports) -> None:
    assert {name: result.returncode for name, result in reports.items()} == {
        GENIEPOINT.name: 1, LEAF_V2H.name: 1, LEAF_ZE1_CHARGING.name: 0, LEAF_ZE1_START.name: 1}
    assert "result: no violations" in reports[LEAF_ZE1_CHARGING.name].stdout


def test_leaf_v2h_capable_sessions_are_recognised_as_v2h_where_they_are(reports) -> None:
    assert "V2H: yes (102.5.7 = 1" in reports[LEAF_V2H.name].stdout
    assert "V2H: yes (102.5.7 = 1" in reports[LEAF_ZE1_CHARGING.name].stdout
    assert "V2H: no (102.5.7 = 1 (leaf-ze1-start.candump.txt:5); 109.4.0 = 0;" in reports[LEAF_ZE1_START.name].stdout
    assert "-> 1 (0.9)" in reports[LEAF_ZE1_CHARGING.name].stdout  # EV 2, EVSE 1: the session follows 0.9


def test_geniepoint_failure_is_explained(reports) -> None:
    out = reports[GENIEPOINT.name].stdout
    assert ("ended: EVSE ended the session at t=9.840 s during charging (0.90 s into it): charger malfunction "
            "(109.5.1)") in out
    assert "output up to 398 V and 1 A against requests up to 8 A" in out
    assert "Since charge start (0.90 s before): output from 347 V up to 398 V, current at most 1 A" in out
    assert f"t=9.840 s 0x109 02 89 01 00 00 27 FF 59 ({GENIEPOINT.name}:327)" in out
    assert "violation [bus.cycle] EV at fault" in out and "median 225 ms" in out
    assert "violation [ev.start_flags] EV at fault" in out
    assert "violation [evse.output_voltage_limit] EVSE at fault" in out


def test_candump_comment_lines_are_reported_as_skipped(reports) -> None:
    assert ("lines skipped: 6 (line 1: not a candump frame line, 17: not a candump frame line, 22: not a candump "
            "frame line, 33: not a candump frame line, 243: not a candump frame line, ... (1 more))"
            ) in reports[LEAF_ZE1_START.name].stdout


def test_damaged_copies_are_counted_not_crashing(tmp_path: Path) -> None:
    lines = GENIEPOINT.read_text().splitlines()
    lines[5] = lines[5][:25]                                     # line 6 truncated
    lines[50] = "\x00\x13 garbage"                               # line 51 garbage
    lines[100] = " (2022-06-02 22:49:58.125771)  can1  100   [8]  06 00"  # line 101 another format, cut
    damaged = tmp_path / "damaged.csv"
    damaged.write_text("\n".join(lines[:200]))
    result = check(damaged)
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr
    assert "lines skipped: 3 (line 6: " in result.stdout and ", 51: " in result.stdout and ", 101: " in result.stdout
    assert "frames: 196 read" in result.stdout


def test_a_trace_in_another_format_under_a_wrong_name_is_still_read(tmp_path: Path) -> None:
    renamed = tmp_path / "really-a-candump.csv"
    renamed.write_bytes(LEAF_ZE1_START.read_bytes())
    result = check(renamed)
    assert "(candump-text)" in result.stdout and result.returncode == 1


def test_unreadable_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    not_a_trace = tmp_path / "notes.txt"
    not_a_trace.write_text("nothing to see\n")
    other_bus = tmp_path / "other.log"
    other_bus.write_text("(1.000000) can0 700#01\n(1.100000) can0 700#02\n")
    for path, message in ((tmp_path / "missing.csv", "cannot read"), (not_a_trace, "no CAN frames in a known format"),
                          (other_bus, "no CHAdeMO frame (ids 0x100-0x209) among its 2 frames")):
        result = check(path)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.strip().count("\n") == 0 and message in result.stderr and str(path) in result.stderr


def test_one_unreadable_file_among_good_ones_still_reports_the_good_ones(tmp_path: Path) -> None:
    result = check(LEAF_ZE1_CHARGING, tmp_path / "missing.csv")
    assert result.returncode == 2 and "result: no violations" in result.stdout


def test_parameters_can_be_overridden(tmp_path: Path) -> None:
    strict = check(LEAF_ZE1_CHARGING, "--param", "current_deviation_a=0", "--param", "current_deviation_s=0")
    assert strict.returncode == 0  # the charger delivered less than asked: never an overshoot
    relaxed = check(LEAF_V2H, "--param", "charge_start_response_s=0.6")
    assert relaxed.returncode == 0, relaxed.stdout
    bad = check(LEAF_V2H, "--param", "charge_start_response_s=soon")
    assert bad.returncode == 2 and "charge_start_response_s" in bad.stderr and "Traceback" not in bad.stderr
