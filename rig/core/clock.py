"""The rig's clock: every wait, every periodic task and every timestamp of a run goes through it.

On a real bench time is physical, so ``RealClock`` just reads the monotonic
clock and sleeps. On the simulated lab time is virtual: ``VirtualClock``
advances the lab's own timeline only when the rig waits, and the lab
integrates its models across the wait event by event, so a 20 s dwell costs
microseconds. Procedures never know which clock they hold.

Periodic tasks (``clock.every``) are what the rig does *while* it waits:
the vehicle emulator sends its CAN frames every 100 ms and answers the
charger's, whatever the procedure is waiting for. A task runs only inside a
wait (``sleep``, and so ``wait_until``), at its due instants
``first_s + n * period_s`` (multiplied, never accumulated, so a session of
thousands of cycles does not drift), in order of due instant and, at the
same instant, in order of registration. Both clocks run the same schedule
(``Schedule.wait``); they differ only in how they get to the next instant:
the virtual clock moves the lab's timeline there, the real clock sleeps on
the wall clock (interruptibly, so a stop request ends the wait at once).
A task itself may not wait (it would be a wait inside a wait: the schedule
would have to run inside itself); it is refused with ``RuntimeError``. An
exception in a task cancels that task, ends the wait and propagates. On the
wall clock a rig can be late (busy between waits, or a slow task): a task
then runs once, and the grid instants it missed are skipped and counted
(``PeriodicTask.skipped``), never run in a burst; in virtual time nothing
is ever late.

Quiescence: virtual time may only move when every frame in flight has been
handled at the current instant. The SCPI drivers guarantee this by reading
the error queue (a query) after every setting command; the simulated lab
drains its CAN connections before it advances (``rig.sim.wire.can_server``). The
virtual clock moves the timeline to each task's due instant before running
it, even when that instant is now, so a task sees every answer to what the
tasks before it sent at the same instant.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from typing import Callable, Protocol

from rig.core import stop

PeriodicAction = Callable[[], None]

SAME_INSTANT_S = 1e-9
"""Instants this close are one: a task due this close after a wait's end runs in that wait, at its own
instant (a sum of waits and n * period differ in the last bits), and ties among tasks are decided by
registration order."""


class Timeline(Protocol):
    """What a virtual clock needs from the simulated lab."""

    @property
    def now(self) -> float: ...

    @property
    def epoch_at_zero(self) -> float:
        """The lab host's clock (seconds since 1970) at timeline 0: what the lab's instruments stamp by."""
        ...

    def advance_to(self, t: float) -> float | None:
        """Move to ``t``, or stop at an earlier instant where the lab sent something the rig must answer before
        time goes on (an OCPP CALL): the instant reached (None: ``t``)."""
        ...


Settler = Callable[[], None]
"""A rig-side endpoint's "handle what has arrived": called at every instant the lab stops at, before time moves
on (the CSMS answering the charger's frames of that instant)."""


class PeriodicTask:
    """A task the clock runs every ``period_s`` while the rig waits; ``cancel()`` stops it."""

    def __init__(self, name: str, period_s: float, first_s: float, action: PeriodicAction, order: int) -> None:
        self.name = name
        self.period_s = period_s
        self.first_s = first_s
        self.action = action
        self.order = order
        self.runs = 0
        """How many times the task has run."""
        self.skipped = 0
        """Due instants missed because the rig was late by a whole period or more (real time only)."""
        self.cancelled = False
        self._n = 0

    @property
    def due_s(self) -> float:
        """The next instant the task is due, in clock seconds."""
        return self.first_s + self._n * self.period_s

    def cancel(self) -> None:
        """Run no more (also from inside a task, itself or another, at the same instant)."""
        self.cancelled = True

    def _ran_at(self, t: float) -> None:
        """Step to the next due instant on the grid; instants already past are skipped, not run late in a burst."""
        self.runs += 1
        behind = math.floor((t - self.first_s + SAME_INSTANT_S) / self.period_s) + 1
        following = max(self._n + 1, behind)
        self.skipped += following - self._n - 1
        self._n = following

    def __repr__(self) -> str:
        state = "cancelled" if self.cancelled else f"due {self.due_s:.6f} s"
        return f"<PeriodicTask {self.name!r} every {self.period_s} s, {state}>"


class Schedule:
    """The periodic tasks of one clock, and the one wait loop both clocks run them in."""

    def __init__(self) -> None:
        self._tasks: list[PeriodicTask] = []
        self._registered = 0
        self.running: PeriodicTask | None = None
        """The task running now (None outside tasks)."""

    def add(self, period_s: float, action: PeriodicAction, *, name: str, first_s: float) -> PeriodicTask:
        """A task due at ``first_s + n * period_s``; grid instants already past when it first runs are skipped."""
        if not (period_s > 0 and math.isfinite(period_s)):
            raise ValueError(f"periodic task {name!r}: the period must be a positive number of seconds, not {period_s}")
        task = PeriodicTask(name, period_s, first_s, action, self._registered)
        self._registered += 1
        self._tasks.append(task)
        return task

    def next_due(self, end: float) -> PeriodicTask | None:
        """The task to run next in a wait that ends at ``end`` (None: none is due before then)."""
        self._tasks = [task for task in self._tasks if not task.cancelled]
        due = [task for task in self._tasks if task.due_s <= end + SAME_INSTANT_S]
        if not due:
            return None
        earliest = min(task.due_s for task in due)
        return min((task for task in due if task.due_s <= earliest + SAME_INSTANT_S), key=lambda task: task.order)

    def refuse_wait_inside_task(self) -> None:
        if self.running is not None:
            raise RuntimeError(f"periodic task {self.running.name!r} tried to wait: a task runs inside a wait and "
                               "may not wait itself; do the work in steps, one per run, or register another task")

    def wait(self, end: float, now: Callable[[], float], go_to: Callable[[float], None]) -> None:
        """Wait until ``end``, running every task due on the way at its instant.

        ``go_to(t)`` brings the clock to ``t`` (the lab's timeline, or a wall
        clock sleep); it is called for every task, even one due now, so the
        clock's own work at an instant (the lab draining its wires) comes
        before the task. A stop request is acted on before each task.
        """
        self.refuse_wait_inside_task()
        while (task := self.next_due(end)) is not None:
            go_to(max(task.due_s, now()))
            stop.checkpoint()
            self.running = task
            try:
                task.action()
            except BaseException:
                task.cancel()
                raise
            finally:
                self.running = None
            task._ran_at(now())
        go_to(max(end, now()))


class Clock(Protocol):
    """Bench time in seconds since the clock was made; waits advance it and run its periodic tasks."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    def every(self, period_s: float, task: PeriodicAction, *, name: str,
              first_s: float | None = None) -> PeriodicTask:
        """Run ``task`` at ``first_s + n * period_s`` (``first_s`` defaults to now) while the rig waits."""
        ...

    @property
    def is_virtual(self) -> bool: ...

    def epoch_offset_s(self) -> float:
        """Seconds since 1970 at clock time 0, as the rig host's clock says now: ``epoch - epoch_offset_s()`` puts
        a time stamped by the host's clock (python-can's frame stamps) on this clock's axis."""
        ...


class ScheduledClock(ABC):
    """What both clocks share: the periodic tasks, and a wait that runs them; a clock adds how time passes."""

    is_virtual: bool

    def __init__(self) -> None:
        self._schedule = Schedule()

    @abstractmethod
    def now(self) -> float: ...

    @abstractmethod
    def _go_to(self, t: float) -> None:
        """Bring bench time to ``t`` (no earlier than now)."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of bench time, running the periodic tasks due on the way at their instants."""
        if seconds < 0:
            raise ValueError(f"cannot wait a negative time ({seconds} s)")
        self._schedule.refuse_wait_inside_task()
        stop.checkpoint()
        self._schedule.wait(self.now() + seconds, self.now, self._go_to)

    def every(self, period_s: float, task: PeriodicAction, *, name: str,
              first_s: float | None = None) -> PeriodicTask:
        """Run ``task`` at ``first_s + n * period_s`` (``first_s`` defaults to now) while the rig waits."""
        return self._schedule.add(period_s, task, name=name, first_s=self.now() if first_s is None else first_s)


class RealClock(ScheduledClock):
    """Physical time, for real benches and for the simulated lab run in real time.

    Only the waits between tasks are interruptible: a stop request (Ctrl-C,
    SIGTERM) ends a wait at once, but one that arrives while a task runs is
    acted on when the task is done, never in the middle of its exchange with
    an instrument.
    """

    is_virtual = False

    def __init__(self) -> None:
        super().__init__()
        self._t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._t0

    def epoch_offset_s(self) -> float:
        """Read afresh each time, two clock reads back to back: the host's clock may be stepped or slewed (NTP)
        during a run while the monotonic clock is not."""
        return time.time() - self.now()

    def _go_to(self, t: float) -> None:
        with stop.interruptible():
            remaining = t - self.now()
            if remaining > 0:
                time.sleep(remaining)


class VirtualClock(ScheduledClock):
    """Simulated-lab time: moves only when the rig waits, by exactly the wait."""

    is_virtual = True

    def __init__(self, timeline: Timeline) -> None:
        super().__init__()
        self._timeline = timeline
        self._settlers: list[Settler] = []

    def now(self) -> float:
        return self._timeline.now

    def epoch_offset_s(self) -> float:
        return self._timeline.epoch_at_zero

    def add_settler(self, settle: Settler) -> None:
        """A rig-side endpoint that handles what the lab sent, at the instant it was sent (``Settler``)."""
        self._settlers.append(settle)

    def _go_to(self, t: float) -> None:
        """Advance the lab to ``t``; wherever it stops on the way (and at ``t``), the rig's endpoints settle first:
        what the lab sent at an instant is answered at that instant, as on a bench where the answer takes
        milliseconds."""
        for settle in self._settlers:  # what the lab did at this instant outside an advance (an instrument
            settle()                   # command cut the charger's supply) is the rig's before time moves
        while True:
            reached = self._timeline.advance_to(t)
            for settle in self._settlers:
                settle()
            if reached is None or reached >= t - SAME_INSTANT_S:
                return


def wait_until(clock: Clock, condition: Callable[[], bool], *, timeout_s: float, poll_s: float) -> bool:
    """Poll ``condition()`` every ``poll_s`` of bench time until it holds or ``timeout_s`` passes.

    This is the synchronisation primitive for things the rig observes
    (a charger reconnecting, an acquisition completing): the wait goes through
    the clock, so in virtual time it costs one model step per poll, and the
    clock's periodic tasks run during it.
    """
    deadline = clock.now() + timeout_s
    while True:
        if condition():
            return True
        remaining = deadline - clock.now()
        if remaining <= 0:
            return False
        clock.sleep(min(poll_s, remaining))
