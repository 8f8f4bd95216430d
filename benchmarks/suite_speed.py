"""Benchmark: how much faster than real time a suite's plan runs on the simulated lab.

The figure is the median of sim_seconds / wall_seconds over ``--repeat`` runs
(5 by default), both as recorded in results.json. Wall time covers the run up
to the closing of its record: opening the lab, every case, the evidence, and
every plot, the plot worker's start-up included. What comes after the record's
times are set (rendering the report once, sealing, stopping the worker) and
loading the plan before are in the "whole call" printed beside each run.
Runs the plan on the compliant charger into a temporary directory; exits 1
below the bar. `protection_speed.py` and `chademo_speed.py` name each suite's
plan and bar.

    python benchmarks/suite_speed.py PLAN [PLAN ...] [--repeat 5] [--bar 100]

Several plans run as one campaign (``ocpp_speed.py``: every OCPP plan together).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rig.run.engine import RunRequest, run_campaign

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None, *, plan: str | list[str] | None = None, bar: float = 100.0,
         max_wall_s: float | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    given = [plan] if isinstance(plan, str) else plan
    parser.add_argument("plan", nargs="*" if given else "+", default=given,
                        help="plan file(s), relative to the project")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--bar", type=float, default=bar)
    parser.add_argument("--max-wall", type=float, default=max_wall_s, help="also a bar on the median wall seconds")
    args = parser.parse_args(argv)
    speedups, walls = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            out = Path(tmp) / f"run{i}"
            called = time.perf_counter()
            run_campaign(RunRequest([ROOT / p for p in args.plan], ROOT / "fixtures/benches/sim.yaml",
                                    ROOT / "fixtures/duts/compliant.yaml", out))
            called = time.perf_counter() - called
            run = json.loads((out / "results.json").read_text())["run"]
            speedup = run["sim_seconds"] / run["wall_seconds"]
            speedups.append(speedup)
            walls.append(run["wall_seconds"])
            print(f"run {i + 1}: sim_seconds {run['sim_seconds']:.1f}  wall_seconds {run['wall_seconds']:.3f}  "
                  f"speedup {speedup:.0f}x  (whole call {called:.3f} s)")
    median, wall = statistics.median(speedups), statistics.median(walls)
    ok = median >= args.bar and (args.max_wall is None or wall <= args.max_wall)
    wall_bar = "" if args.max_wall is None else f", median wall {wall:.2f} s (bar {args.max_wall:g} s)"
    print(f"{' '.join(args.plan)}: median {median:.0f}x real time (bar {args.bar:.0f}x){wall_bar}: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
