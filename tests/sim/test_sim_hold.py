"""A lab component that sent what the rig must answer stops the advance at that instant: the rig's endpoints
settle there (at that instant on the rig's clock), then time goes on to where the rig was waiting for."""

from __future__ import annotations

from rig.core.clock import VirtualClock
from rig.sim.model import EventSource
from rig.sim.simulated_lab import SimulatedLab


class Sender:
    """Sends (holds) at each of ``instants``."""

    def __init__(self, lab: SimulatedLab, instants: list[float]) -> None:
        self.lab, self.left = lab, list(instants)
        self.sent: list[float] = []

    def next_event_time(self) -> float | None:
        return self.left[0] if self.left else None

    def run_to(self, t: float) -> None:
        while self.left and self.left[0] <= t + 1e-9:
            self.sent.append(self.left.pop(0))
            self.lab.model.hold()


def test_the_rig_settles_at_each_instant_the_lab_held_and_time_reaches_the_end(lab: SimulatedLab) -> None:
    sender = Sender(lab, [2.5, 2.5, 7.0])
    lab.model.register(EventSource("sender", sender.next_event_time, sender.run_to))
    clock = VirtualClock(lab)
    settled: list[float] = []
    clock.add_settler(lambda: settled.append(clock.now()))
    ticks: list[float] = []
    clock.every(1.0, lambda: ticks.append(clock.now()), name="tick", first_s=1.0)
    clock.sleep(10.0)
    assert clock.now() == 10.0 and sender.sent == [2.5, 2.5, 7.0]
    assert 2.5 in settled and 7.0 in settled and settled[-1] == 10.0
    assert settled == sorted(settled)
    assert ticks == [float(n) for n in range(1, 11)]  # the rig's own tasks still run at their instants


def test_without_holds_an_advance_is_one_step_and_settlers_run_once_at_its_end(lab: SimulatedLab) -> None:
    clock = VirtualClock(lab)
    settled: list[float] = []
    clock.add_settler(lambda: settled.append(clock.now()))
    clock.sleep(3600.0)
    assert settled == [0.0, 3600.0]  # before time moves (what happened at 0), and where it stopped
