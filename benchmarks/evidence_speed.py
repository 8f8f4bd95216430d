"""Benchmark: writing a run's evidence costs the same for its thousandth case as for its first.

A synthetic campaign of ``--cases`` cases (1000 by default) is recorded the
way the engine records one: per case a trace (``--rows`` rows of a sampled
current, Parquet) and the case's document, each announced in the manifest
journal and fsynced; then the stop document, results.json (the view) and the
sealed manifest. No bench, no plots, no report: only the evidence writer.

The bar: the median time to record a case among the last hundred is at most
``--bar`` (1.5) times the median among the first hundred. A record that
rewrote results.json and manifest.json after every write grew with the square
of the cases; ``--rewrite`` adds that old cost back (results.json written
whole after every case) to show the difference.

    PYTHONPATH=. python3 benchmarks/evidence_speed.py [--cases 1000] [--rows 2000] [--bar 1.5] [--rewrite]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from rig.core.results import CaseResult, Limit, RunInfo
from rig.evidence.recorder import RunRecorder
from rig.evidence.verify import verify_run


def trace(rows: int, seed: int) -> pd.DataFrame:
    t = np.arange(rows) / 10_000.0
    noise = np.random.default_rng(seed).normal(0.0, 0.05, rows)
    return pd.DataFrame({"t_s": t, "i_a": 14.1 * np.sin(2 * np.pi * 50 * t) + noise, "v_v": 325.0 * np.sin(2 * np.pi * 50 * t)})


def case(n: int, trace_path: str) -> CaseResult:
    return CaseResult(id=f"synthetic.case.{n:05d}", suite="g99", clause=f"synthetic clause {n}",
                      procedure="trip_time", verdict="pass", measured={"trip_time_s": 0.1 + n * 1e-6},
                      limits={"trip_time_s": Limit(min=0.0, max=0.5, unit="s")}, traces=[trace_path],
                      setting={"to_v": 262.2}, findings=[f"finding {n}"])


def record(out: Path, cases: int, rows: int, rewrite: bool) -> list[float]:
    info = RunInfo(started="2026-12-07T00:00:00+00:00", bench="synthetic", rig_version="bench", seed=1)
    recorder = RunRecorder.create(out, info)
    frame = trace(rows, 0)
    times = []
    for n in range(cases):
        started = time.perf_counter()
        path = recorder.write_trace(f"synthetic.case.{n:05d}", "capture", frame, role="capture")
        recorder.record_case(case(n, path))
        if rewrite:
            recorder.write_results_view()
        times.append(time.perf_counter() - started)
    recorder.finish("complete", None, sim_seconds=float(cases), wall_seconds=sum(times))
    recorder.seal()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--bar", type=float, default=1.5)
    parser.add_argument("--rewrite", action="store_true", help="also rewrite results.json after every case (old)")
    args = parser.parse_args(argv)
    window = max(1, min(100, args.cases // 4))
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        times = record(Path(tmp) / "run", args.cases, args.rows, args.rewrite)
        total = time.perf_counter() - started
        check = verify_run(Path(tmp) / "run")
    first = statistics.median(times[:window]) * 1e3
    last = statistics.median(times[-window:]) * 1e3
    ratio = last / first
    print(f"{args.cases} cases, {args.rows}-row traces{' + results.json rewritten per case' if args.rewrite else ''}: "
          f"{total:.1f} s in all; per case median {first:.2f} ms (first {window}), {last:.2f} ms (last {window}): "
          f"x{ratio:.2f} (bar x{args.bar}); verify: {'OK' if check.complete else 'FAILED'} on {check.checked} files")
    return 0 if ratio <= args.bar and check.complete else 1


if __name__ == "__main__":
    sys.exit(main())
