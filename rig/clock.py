"""The rig's clock: every wait and every timestamp of a run goes through it.

On a real bench time is physical, so ``RealClock`` just reads the monotonic
clock and sleeps. On the simulated lab time is virtual: ``VirtualClock``
advances the lab's own timeline only when the rig waits, and the lab
integrates its models across the wait event by event, so a 20 s dwell costs
microseconds. Procedures never know which clock they hold.

Quiescence: virtual time may only move when every frame in flight has been
handled at the current instant. The SCPI drivers guarantee this by reading
the error queue (a query) after every setting command, so by the time a
procedure calls ``sleep`` the lab has processed everything it was sent.
"""

from __future__ import annotations

import time
from typing import Callable, Protocol

from rig import stop


class Timeline(Protocol):
    """What a virtual clock needs from the simulated lab."""

    @property
    def now(self) -> float: ...

    def advance_to(self, t: float) -> None: ...


class Clock(Protocol):
    """Bench time in seconds since the clock was made; waits advance it."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    @property
    def is_virtual(self) -> bool: ...


class RealClock:
    """Physical time, for real benches and for the simulated lab run in real time."""

    is_virtual = False

    def __init__(self) -> None:
        self._t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._t0

    def sleep(self, seconds: float) -> None:
        """Wait physically; a stop request (Ctrl-C, SIGTERM) ends the wait at once."""
        with stop.interruptible():
            if seconds > 0:
                time.sleep(seconds)


class VirtualClock:
    """Simulated-lab time: moves only when the rig waits, by exactly the wait."""

    is_virtual = True

    def __init__(self, timeline: Timeline) -> None:
        self._timeline = timeline

    def now(self) -> float:
        return self._timeline.now

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot wait a negative time ({seconds} s)")
        stop.checkpoint()
        self._timeline.advance_to(self._timeline.now + seconds)


def wait_until(clock: Clock, condition: Callable[[], bool], *, timeout_s: float, poll_s: float) -> bool:
    """Poll ``condition()`` every ``poll_s`` of bench time until it holds or ``timeout_s`` passes.

    This is the synchronisation primitive for things the rig observes
    (a charger reconnecting, an acquisition completing): the wait goes through
    the clock, so in virtual time it costs one model step per poll.
    """
    deadline = clock.now() + timeout_s
    while True:
        if condition():
            return True
        remaining = deadline - clock.now()
        if remaining <= 0:
            return False
        clock.sleep(min(poll_s, remaining))
