"""Periodic tasks on the rig's clock: due instants, order, cancellation, failures, and the same schedule in real time."""

from __future__ import annotations

import os
import signal

import pytest
from test_stop import handlers  # noqa: F401 - the fixture: the rig's stop handlers for one test

from rig.core import stop
from rig.core.clock import RealClock, VirtualClock, wait_until


class Timeline:
    """A lab timeline that records every instant the clock moved it to (and the ones it was asked to stay at)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.visits: list[float] = []

    def advance_to(self, t: float) -> None:
        assert t >= self.now, f"time went backwards: {t} < {self.now}"
        self.visits.append(t)
        self.now = t


@pytest.fixture
def timeline() -> Timeline:
    return Timeline()


@pytest.fixture
def clock(timeline: Timeline) -> VirtualClock:
    return VirtualClock(timeline)


def recorder(clock, log: list, label: str):
    return lambda: log.append((label, clock.now()))


def test_a_task_runs_at_each_due_instant_of_a_wait_and_only_during_waits(clock: VirtualClock) -> None:
    log: list = []
    clock.every(0.1, recorder(clock, log, "cycle"), name="cycle")
    assert log == []  # registering runs nothing
    clock.sleep(0.35)
    assert [round(t, 9) for _, t in log] == [0.0, 0.1, 0.2, 0.3]
    assert clock.now() == pytest.approx(0.35)
    clock.sleep(0.05)  # the wait ends at 0.4: a task due at the end of a wait runs in it
    assert [round(t, 9) for _, t in log][-1] == 0.4
    clock.sleep(0.0)  # a zero wait runs what is due now, and nothing twice
    assert len(log) == 5


def test_the_first_run_can_be_later_or_already_past(clock: VirtualClock) -> None:
    log: list = []
    clock.every(0.5, recorder(clock, log, "late"), name="late", first_s=0.25)
    clock.sleep(1.0)
    assert [t for _, t in log] == [0.25, 0.75]
    past = clock.every(0.1, recorder(clock, log, "past"), name="past", first_s=0.45)
    clock.sleep(0.1)  # runs once now, not for each of the instants 0.45 .. 0.95 it was registered too late for
    assert [t for label, t in log if label == "past"] == [1.0, 1.05]
    assert past.skipped == 5
    with pytest.raises(ValueError, match="positive"):
        clock.every(0.0, lambda: None, name="zero")


def test_tasks_run_in_order_of_due_instant_then_of_registration(clock: VirtualClock) -> None:
    log: list = []
    clock.every(0.3, recorder(clock, log, "slow"), name="slow")
    clock.every(0.2, recorder(clock, log, "fast"), name="fast")
    clock.every(0.3, recorder(clock, log, "slow-second"), name="slow-second")
    clock.sleep(0.6)
    assert [(label, round(t, 9)) for label, t in log] == [
        ("slow", 0.0), ("fast", 0.0), ("slow-second", 0.0),
        ("fast", 0.2),
        ("slow", 0.3), ("slow-second", 0.3),
        ("fast", 0.4),
        ("slow", 0.6), ("fast", 0.6), ("slow-second", 0.6),
    ]


def test_the_timeline_is_visited_at_every_due_instant_even_the_current_one(
        clock: VirtualClock, timeline: Timeline) -> None:
    """The lab drains its wires at every visit, so a task sees the answers to what earlier tasks sent at that instant."""
    clock.every(0.5, lambda: None, name="a")
    clock.every(0.5, lambda: None, name="b")
    clock.sleep(1.2)
    assert timeline.visits == [0.0, 0.0, 0.5, 0.5, 1.0, 1.0, 1.2]


def test_cancelled_tasks_stop_at_once_even_from_inside_another_task_at_the_same_instant(clock: VirtualClock) -> None:
    log: list = []
    second = None

    def first() -> None:
        log.append(("first", clock.now()))
        if clock.now() >= 0.2:
            assert second is not None
            second.cancel()

    clock.every(0.1, first, name="first")
    second = clock.every(0.1, recorder(clock, log, "second"), name="second")
    clock.sleep(0.5)
    assert [label for label, t in log if t >= 0.2 - 1e-9] == ["first", "first", "first", "first"]
    assert second.cancelled and second.runs == 2


def test_a_task_can_cancel_itself_and_register_another_that_runs_in_the_same_wait(clock: VirtualClock) -> None:
    log: list = []
    handles: dict = {}

    def starter() -> None:
        log.append(("starter", clock.now()))
        handles["starter"].cancel()
        handles["follower"] = clock.every(0.25, recorder(clock, log, "follower"), name="follower")

    handles["starter"] = clock.every(1.0, starter, name="starter", first_s=0.5)
    clock.sleep(1.0)
    assert log == [("starter", 0.5), ("follower", 0.5), ("follower", 0.75), ("follower", 1.0)]


def test_due_instants_are_multiples_of_the_period_not_sums(clock: VirtualClock) -> None:
    """36 000 cycles (an hour at 100 ms) waited for in uneven pieces: the last run is at n * 0.1 exactly."""
    times: list[float] = []
    task = clock.every(0.1, lambda: times.append(clock.now()), name="cycle")
    for _ in range(1200):
        clock.sleep(3.0)  # 3.0 is not a sum of 0.1s in floating point: added up, the error would grow
    assert task.runs == 36001
    assert times[-1] == 36000 * 0.1
    assert times == [n * 0.1 for n in range(36001)]
    assert task.skipped == 0


def test_a_task_may_not_wait(clock: VirtualClock) -> None:
    def waits() -> None:
        clock.sleep(0.01)

    task = clock.every(0.1, waits, name="waits")
    with pytest.raises(RuntimeError, match="'waits' tried to wait"):
        clock.sleep(1.0)
    assert task.cancelled  # a task that failed is not run again


def test_wait_until_inside_a_task_is_refused_unless_it_needs_no_wait(clock: VirtualClock) -> None:
    outcomes: list = []
    clock.every(0.1, lambda: outcomes.append(wait_until(clock, lambda: True, timeout_s=1.0, poll_s=0.1)),
                name="already-true")
    clock.sleep(0.0)
    assert outcomes == [True]
    clock.every(0.1, lambda: wait_until(clock, lambda: False, timeout_s=1.0, poll_s=0.1), name="polls",
                first_s=0.05)
    with pytest.raises(RuntimeError, match="'polls' tried to wait"):
        clock.sleep(1.0)


def test_an_exception_in_a_task_ends_the_wait_at_its_instant_and_propagates(clock: VirtualClock) -> None:
    log: list = []

    def fails() -> None:
        if clock.now() >= 0.3:
            raise ConnectionError("CAN adapter gone")

    failing = clock.every(0.1, fails, name="fails")
    other = clock.every(0.1, recorder(clock, log, "other"), name="other")
    with pytest.raises(ConnectionError, match="CAN adapter gone"):
        clock.sleep(10.0)
    assert clock.now() == pytest.approx(0.3)
    assert failing.cancelled and not other.cancelled
    clock.sleep(0.1)  # the other task goes on; the failed one is gone
    assert [round(t, 9) for _, t in log] == [0.0, 0.1, 0.2, 0.3, 0.4]


def test_a_stop_request_is_acted_on_before_the_next_task(clock: VirtualClock, handlers) -> None:
    log: list = []

    def requests_stop() -> None:
        log.append(clock.now())
        stop.request("SIGINT")

    clock.every(0.1, requests_stop, name="stops")
    with pytest.raises(stop.StopRequested):
        clock.sleep(1.0)
    assert log == [0.0]


def test_wait_until_runs_tasks_while_it_polls(clock: VirtualClock) -> None:
    seen: list[float] = []
    clock.every(0.1, lambda: seen.append(clock.now()), name="cycle")
    assert wait_until(clock, lambda: len(seen) >= 5, timeout_s=10.0, poll_s=1.0)
    assert len(seen) == 11  # polled at 0 (nothing run yet) and at 1.0 (tasks at 0.0 .. 1.0)


# -- the same schedule on the wall clock -----------------------------------------------------------------------


@pytest.mark.realtime
def test_real_clock_runs_the_same_schedule_in_order_never_early_on_the_grid() -> None:
    clock = RealClock()
    log: list = []
    handles: dict = {}

    def task(label: str):
        return lambda: log.append((label, clock.now(), handles[label].due_s))

    start = clock.now() + 0.01
    handles["fast"] = clock.every(0.02, task("fast"), name="fast", first_s=start)
    handles["slow"] = clock.every(0.05, task("slow"), name="slow", first_s=start)
    clock.sleep(0.2)
    assert [label for label, _, _ in log][:2] == ["fast", "slow"]  # same instant: registration order
    for label, period in (("fast", 0.02), ("slow", 0.05)):
        runs = [(t, due) for name, t, due in log if name == label]
        assert len(runs) == handles[label].runs >= 2
        assert all(t >= due for t, due in runs)  # never early
        steps = [(due - start) / period for _, due in runs]
        assert steps == pytest.approx([round(k) for k in steps], abs=1e-9)  # on the grid start + n * period
        assert steps == sorted(set(steps))
    dues = [due for _, _, due in log]
    assert dues == sorted(dues)  # in order of due instant


@pytest.mark.realtime
def test_real_clock_refuses_a_task_that_waits_and_propagates_its_failure() -> None:
    clock = RealClock()
    clock.every(0.01, lambda: clock.sleep(0.001), name="waits")
    with pytest.raises(RuntimeError, match="'waits' tried to wait"):
        clock.sleep(0.1)


@pytest.mark.realtime
def test_real_clock_skips_instants_a_late_rig_missed_instead_of_bursting() -> None:
    clock = RealClock()
    runs: list[float] = []
    task = clock.every(0.01, lambda: runs.append(clock.now()), name="cycle")
    clock.sleep(0.0)  # due now: runs once
    deadline = clock.now() + 0.05
    while clock.now() < deadline:  # the rig is busy (not waiting) for five periods
        pass
    clock.sleep(0.0)  # one run for the missed instants, not five
    assert len(runs) == 2
    assert task.skipped >= 3
    assert task.due_s > clock.now() - 0.01


@pytest.mark.realtime
def test_a_stop_signal_during_a_real_time_task_is_acted_on_when_the_task_is_done(handlers) -> None:
    """The task is never cut in the middle of its exchange; the wait after it ends at once."""
    clock = RealClock()
    log: list[str] = []

    def task() -> None:
        log.append("start")
        if len(log) >= 5:
            os.kill(os.getpid(), signal.SIGINT)  # delivered now, in the middle of the task
        log.append("end")

    clock.every(0.01, task, name="cycle")
    with pytest.raises(stop.StopRequested):
        clock.sleep(30.0)
    assert log == ["start", "end"] * 3
    assert clock.now() < 30.0
