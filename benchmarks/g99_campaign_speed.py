"""Benchmark: the whole G99 campaign (protection and loss of mains with the 90-minute holds, vector shift,
islanding, frequency response, power quality, G100 export limitation: several hours of bench time) on the
simulated lab (see suite_speed.py).

The bar is the G99 issue's: under 60 s of wall time (median of ``--repeat`` runs, as results.json records it).

    python benchmarks/g99_campaign_speed.py [--repeat 5] [--max-wall 60]
"""

import sys

from suite_speed import main

if __name__ == "__main__":
    sys.exit(main(plan="test_plans/campaigns/g99.yaml", bar=1.0, max_wall_s=60.0))
