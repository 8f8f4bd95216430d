"""The capture step of the G99 procedures against role stand-ins: arm, wait until armed, disturb, check the rate."""

from __future__ import annotations

import numpy as np
import pytest

from rig.core.clock import VirtualClock
from rig.run.bench_lab import Lab
from rig.suites.grid_code.capture import captured_disturbance
from rig.suites.platform import PreconditionError
from rig.core.roles import Capture, GridProgram, GridStep
from rig.run.steps import StepLog

PROGRAM = GridProgram((GridStep.hold(1.0, 277.7, 50.0),))


class Timeline:
    def __init__(self) -> None:
        self.now = 0.0

    def advance_to(self, t: float) -> None:
        self.now = max(self.now, t)


class Scope:
    """A digitizer that arms ``arms_after_s`` after ``arm`` (never if None) and captures at ``rate_hz``."""

    def __init__(self, timeline: Timeline, arms_after_s: float | None, rate_hz: float = 10_000.0) -> None:
        self.timeline, self.arms_after_s, self.rate_hz = timeline, arms_after_s, rate_hz
        self.armed_at: float | None = None
        self.polls = 0

    def arm(self, *, pre_s: float, post_s: float, sample_rate_hz: float) -> None:
        self.armed_at = None if self.arms_after_s is None else self.timeline.now + self.arms_after_s

    def armed(self) -> bool:
        self.polls += 1
        return self.armed_at is not None and self.timeline.now >= self.armed_at - 1e-9

    def complete(self) -> bool:
        return True

    def fetch(self) -> Capture:
        t = -0.5 + np.arange(100) / self.rate_hz
        return Capture(t_s=t, channels={"current": np.zeros(100), "voltage": np.zeros(100)})


class Grid:
    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.started: list[float] = []

    def run_program(self, program: GridProgram) -> None:
        self.started.append(self.timeline.now)


def bench(scope_arms_after_s: float | None, rate_hz: float = 10_000.0) -> tuple[Lab, Scope, Grid]:
    timeline = Timeline()
    clock = VirtualClock(timeline)
    scope, grid = Scope(timeline, scope_arms_after_s, rate_hz), Grid(timeline)
    return Lab(clock, StepLog(clock), {"grid": grid, "capture": scope}), scope, grid  # type: ignore[dict-item]


def test_the_disturbance_starts_once_the_digitizer_is_armed() -> None:
    lab, scope, grid = bench(scope_arms_after_s=0.5)
    captured_disturbance(lab, PROGRAM, pre_s=0.5, post_s=1.0, rate_hz=10_000.0)
    assert grid.started == [pytest.approx(0.5)]
    assert scope.polls == 6  # every pre_s / 5 of bench time


def test_a_digitizer_that_never_arms_stops_the_case_before_the_disturbance() -> None:
    lab, scope, grid = bench(scope_arms_after_s=None)
    with pytest.raises(PreconditionError, match="the digitizer was not armed 2.5 s after"):
        captured_disturbance(lab, PROGRAM, pre_s=0.5, post_s=1.0, rate_hz=10_000.0)
    assert grid.started == []


def test_a_capture_slower_than_the_plan_asks_is_refused_and_its_interval_is_recorded() -> None:
    lab, scope, grid = bench(scope_arms_after_s=0.5, rate_hz=5_000.0)
    with pytest.raises(PreconditionError, match="sampled at 5000 S/s .*below the plan's 10000 S/s"):
        captured_disturbance(lab, PROGRAM, pre_s=0.5, post_s=1.0, rate_hz=10_000.0)
    assert lab.steps.steps[-1].name == "The digitizer sampled every 0.0002 s (5000 S/s, 100 samples)"
