"""Benchmark: every OCPP plan (test_plans/ocpp/*.yaml) run together on the simulated lab, as one campaign (see
suite_speed.py).

The bar is the OCPP issue's: all OCPP suites together at least 100 times faster than real time (the median of
sim_seconds / wall_seconds over ``--repeat`` runs). The charger's frames go over real WebSocket connections on
loopback and, in the cases that plug a vehicle in, every CHAdeMO cycle over CAN, Modbus and SCPI as well.

    python benchmarks/ocpp_speed.py [--repeat 3] [--bar 100]
"""

import sys
from pathlib import Path

from suite_speed import main

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    plans = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "test_plans" / "ocpp").glob("*.yaml"))
    sys.exit(main(plan=plans, bar=100.0))
