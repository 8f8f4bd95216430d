"""Benchmark: the efficiency plan (test_plans/efficiency/efficiency.yaml) on the simulated lab (see suite_speed.py).

The bar is the efficiency issue's: at least 300 times faster than real time, its 30-minute warm-up and every
stability window included (the median of sim_seconds / wall_seconds over ``--repeat`` runs). Every load point
is a CHAdeMO session over CAN (both sides every 100 ms), the contact lines over Modbus TCP, the battery
emulator and the power analyzer over SCPI.

    python benchmarks/efficiency_speed.py [--repeat 3] [--bar 300]
"""

import sys

from suite_speed import main

if __name__ == "__main__":
    sys.exit(main(plan="test_plans/efficiency/efficiency.yaml", bar=300.0))
