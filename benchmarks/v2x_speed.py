"""Benchmark: the OCPP 2.1 V2X plan (test_plans/ocpp/ocpp21_v2x.yaml) on the simulated lab (see suite_speed.py).

The bar is the V2X issue's: at least 100 times faster than real time (the median of sim_seconds / wall_seconds
over ``--repeat`` runs). Every case is a bidirectional CHAdeMO session over CAN (both sides every 100 ms), the
contact lines over Modbus TCP, the battery emulator and the digitizer over SCPI (a capture of the grid at
2 kS/s), the grid simulator's programs, and the rig's OCPP 2.1 central system over WebSocket.

    python benchmarks/v2x_speed.py [--repeat 3] [--bar 100]
"""

import sys

from suite_speed import main

if __name__ == "__main__":
    sys.exit(main(plan="test_plans/ocpp/ocpp21_v2x.yaml", bar=100.0))
