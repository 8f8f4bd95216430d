"""Benchmark: the G99 protection suite's speed on the simulated lab (see suite_speed.py).

The bar is the speed issue's: a median of sim_seconds / wall_seconds >= 500
over ``--repeat`` runs (5 by default). (An earlier bar, issue 2, was 200.)

    python benchmarks/protection_speed.py [--repeat 5] [--bar 500]
"""

import sys

from suite_speed import main

if __name__ == "__main__":
    sys.exit(main(plan="test_plans/g99/protection.yaml", bar=500.0))
