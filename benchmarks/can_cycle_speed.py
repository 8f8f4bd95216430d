"""Benchmark: what one 100 ms CHAdeMO CAN cycle costs between the rig and the simulated lab, in wall time.

A cycle is what the CHAdeMO suite will do thousands of times: a rig task
(``clock.every(0.1)``) reads the charger's frames waiting and sends the
vehicle's three (0x100, 0x101, 0x102) through the ``python_can`` driver, over
socketcand on loopback, while the lab's side sends two (0x108, 0x109). Two
ways round:

- ``lab-cycle``: the lab sends its two frames on its own 100 ms timer (offset
  by 30 ms, as two free-running controllers would be), the rig reads them at
  its next cycle;
- ``lab-answers``: the lab answers the rig's 0x102 with its two frames at the
  instant it reads it (during the drain before virtual time moves), the rig
  reads them at its next cycle.

Virtual time, ``--cycles`` cycles per run (20 000 = 2000 s of bench time),
``--repeat`` runs each; the median is reported as cycles per wall second,
frames per wall second each way, and times real time. Every frame is checked
to have arrived. Exits 1 below the bar (``--bar``, cycles per wall second:
1000 is 100x real time, the CHAdeMO suite's need).

    python benchmarks/can_cycle_speed.py [--cycles 20000] [--repeat 3] [--bar 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from drivers.vehicle.python_can_bus import PythonCanBus
from rig.core.clock import VirtualClock
from rig.sim.wire.can_bus import CanBus
from rig.sim.charger.dut_profile import load_dut_profile
from rig.sim.simulated_lab import SimulatedLab

ROOT = Path(__file__).resolve().parent.parent
PERIOD_S = 0.1
EV_FRAMES = ((0x100, bytes(8)), (0x101, bytes(8)), (0x102, bytes(8)))
EVSE_IDS = (0x108, 0x109)


def lab_cycle(bus: CanBus) -> None:
    """The lab's two frames on its own 100 ms timer, 30 ms after the rig's."""
    def send(t: float, n: int = 0) -> None:
        for frame_id in EVSE_IDS:
            bus.send(frame_id, bytes(8))
        bus.call_at(0.03 + (n + 1) * PERIOD_S, lambda t_next: send(t_next, n + 1))

    bus.call_at(0.03, send)


def lab_answers(bus: CanBus) -> None:
    """The lab's two frames, sent the instant the rig's 0x102 is read."""
    def answer(t: float, frame_id: int, data: bytes) -> None:
        if frame_id == 0x102:
            for evse_id in EVSE_IDS:
                bus.send(evse_id, bytes(8))

    bus.subscribe(answer)


SCENARIOS = {"lab-cycle": lab_cycle, "lab-answers": lab_answers}


def run(scenario: str, cycles: int) -> tuple[float, int, int]:
    """Wall seconds for ``cycles`` cycles, frames the rig sent, frames it read."""
    with SimulatedLab(load_dut_profile(ROOT / "fixtures/duts/compliant.yaml"), seed=1) as lab:
        from_rig = [0]
        lab.model.can.subscribe(lambda t, frame_id, data: from_rig.__setitem__(0, from_rig[0] + 1))
        SCENARIOS[scenario](lab.model.can)
        vehicle = PythonCanBus(lab.serve("python_can"), name="vehicle")
        clock = VirtualClock(lab)
        vehicle.attach_clock(clock)  # frame stamps on the rig's axis, as the bench does (before set-up reads)
        vehicle.setup()
        read = [0]

        def cycle() -> None:
            read[0] += len(vehicle.receive())
            for frame_id, data in EV_FRAMES:
                vehicle.send(frame_id, data)

        clock.every(PERIOD_S, cycle, name="vehicle")
        started = time.perf_counter()
        clock.sleep((cycles - 1) * PERIOD_S)
        wall = time.perf_counter() - started
        clock.sleep(0.0)
        vehicle.close()
    if from_rig[0] != 3 * cycles or read[0] < 2 * (cycles - 1):
        raise SystemExit(f"{scenario}: frames lost: the lab read {from_rig[0]} of {3 * cycles}, "
                         f"the rig read {read[0]} of at least {2 * (cycles - 1)}")
    return wall, from_rig[0], read[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bar", type=float, default=1000.0, help="cycles per wall second (1000: 100x real time)")
    args = parser.parse_args(argv)
    worst = float("inf")
    for scenario in SCENARIOS:
        rates = []
        for i in range(args.repeat):
            wall, sent, read = run(scenario, args.cycles)
            rates.append(args.cycles / wall)
            print(f"{scenario} run {i + 1}: {args.cycles} cycles ({args.cycles * PERIOD_S:.0f} s of bench time) "
                  f"in {wall:.3f} s: {args.cycles / wall:.0f} cycles/s, {1e6 * wall / args.cycles:.0f} us per cycle; "
                  f"rig->lab {sent / wall:.0f} frames/s, lab->rig {read / wall:.0f} frames/s")
        median = statistics.median(rates)
        worst = min(worst, median)
        print(f"{scenario}: median {median:.0f} cycles per wall second = {median * PERIOD_S:.0f}x real time")
    verdict = "PASS" if worst >= args.bar else "FAIL"
    print(f"CAN cycle: {worst:.0f} cycles per wall second at worst (bar {args.bar:.0f}): {verdict}")
    return 0 if worst >= args.bar else 1


if __name__ == "__main__":
    sys.exit(main())
