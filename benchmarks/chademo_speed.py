"""Benchmark: the CHAdeMO compliance suite's speed on the simulated lab (see suite_speed.py).

The bar is the CHAdeMO issue's: a median of sim_seconds / wall_seconds >= 100
over ``--repeat`` runs (5 by default). Every CAN cycle of both sides (100 ms),
the contact lines and the battery emulator run through their real wire
protocols on loopback, so this is the heavier suite per second of bench time.

    python benchmarks/chademo_speed.py [--repeat 5] [--bar 100]
"""

import sys

from suite_speed import main

if __name__ == "__main__":
    sys.exit(main(plan="test_plans/chademo/compliance.yaml", bar=100.0))
