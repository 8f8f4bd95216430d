"""Benchmark: how much faster than real time the G99 protection suite runs on the simulated lab.

The bar (issue 2): sim_seconds / wall_seconds >= 200, both as recorded in
results.json (wall time covers the whole run: opening the lab, every case,
evidence, plots and the report). Runs the suite ``--repeat`` times into a
temporary directory and reports each run and the median; exits 1 below the
bar.

    python benchmarks/protection_speed.py [--repeat 3] [--bar 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from rig.engine import RunRequest, run_campaign

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bar", type=float, default=200.0)
    args = parser.parse_args()
    speedups = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            out = Path(tmp) / f"run{i}"
            run_campaign(RunRequest([ROOT / "test_plans/g99/protection.yaml"], ROOT / "fixtures/benches/sim.yaml",
                                    ROOT / "fixtures/duts/compliant.yaml", out))
            run = json.loads((out / "results.json").read_text())["run"]
            speedup = run["sim_seconds"] / run["wall_seconds"]
            speedups.append(speedup)
            print(f"run {i + 1}: sim_seconds {run['sim_seconds']:.1f}  wall_seconds {run['wall_seconds']:.3f}  "
                  f"speedup {speedup:.0f}x")
    median = statistics.median(speedups)
    verdict = "PASS" if median >= args.bar else "FAIL"
    print(f"protection suite: median {median:.0f}x real time (bar {args.bar:.0f}x): {verdict}")
    return 0 if median >= args.bar else 1


if __name__ == "__main__":
    sys.exit(main())
