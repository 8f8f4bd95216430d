"""The benchmarks still run (a benchmark that fails to start measures nothing): each on a tiny load, no speed
judged here (speed is the benchmarks' own business, on an idle machine)."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_the_can_cycle_benchmark_runs_both_ways_round(capsys) -> None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import can_cycle_speed
    finally:
        sys.path.remove(str(BENCHMARKS))
    assert can_cycle_speed.main(["--cycles", "50", "--repeat", "1", "--bar", "0"]) == 0
    out = capsys.readouterr().out
    assert "lab-cycle" in out and "lab-answers" in out and "50 cycles" in out


def test_the_suite_benchmark_takes_several_plans_as_one_campaign(capsys) -> None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import suite_speed
    finally:
        sys.path.remove(str(BENCHMARKS))
    frames = "test_plans/ocpp/ocpp16_frames.yaml"
    assert suite_speed.main([frames, frames.replace("frames", "frames"), "--repeat", "1", "--bar", "0"]) == 0
    out = capsys.readouterr().out
    assert "run 1:" in out and out.count("ocpp16_frames.yaml") >= 2
