"""Waiting, on the rig's clock, for a power analyzer's next data update.

Both analyzer families publish a new set of values once an update interval
(the WT's data update, the LMG's measuring cycle) and say so only when asked
(the WT's UPD event, the LMG's cycle stamp). ``read`` therefore polls, on the
rig's clock so that a simulated lab runs in its own time, ``POLLS_PER_UPDATE``
times an interval, and gives up after ``UPDATE_TIMEOUT_INTERVALS`` intervals
and a second. Once an update has been read the next is due an interval
later, so ``start_update_wait`` first sleeps to just before it (about three
queries an update instead of one every poll); a wrong guess costs only time.
What is polled, and what counts as the new update, is the family's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rig.core.errors import InstrumentError

if TYPE_CHECKING:
    from rig.core.clock import Clock

POLLS_PER_UPDATE = 16
"""``read`` polls this often per update interval (the WT's event register, the LMG's stamp): the update's end is
known to half that. A power
of two, so the poll interval of a binary-exact rate (0.5 s) is exact and polls land on the update instants."""
UPDATE_TIMEOUT_INTERVALS = 3
"""No update within this many intervals (plus a second) is an error: the analyzer is holding or not measuring."""
INVALID = 9.9e37
"""A value at or beyond this (or NaN, INF) is no data: over range, or nothing to measure."""


@dataclass(frozen=True)
class UpdateWait:
    """How one ``read`` polls: every ``poll_s`` on ``clock`` from ``start_s`` (s, rig clock), giving up at
    ``deadline_s`` (``timeout_s`` after the read began)."""

    clock: Clock
    poll_s: float
    timeout_s: float
    deadline_s: float
    start_s: float


def start_update_wait(clock: Clock | None, interval_s: float, last_update_s: float | None, *,
                      name: str, command: str) -> UpdateWait:
    """Check a clock is attached, then, when an update has been read before (``last_update_s``, rig clock), sleep
    to a poll before the next is due; the caller clears or reads its update marker there and polls on.

    ``name`` and ``command`` (the query that will be polled) name an ``InstrumentError`` when no clock is attached.
    """
    if clock is None:
        raise InstrumentError(name, command, "no clock attached: the bench attaches the rig's clock when it opens "
                                             "(attach_clock)")
    poll_s = interval_s / POLLS_PER_UPDATE
    timeout_s = UPDATE_TIMEOUT_INTERVALS * interval_s + 1.0
    before = clock.now()
    deadline_s = before + timeout_s
    if last_update_s is not None:
        # Updates come every interval: an update already marked is older than the instant slept to, whenever it came.
        due = last_update_s + math.ceil((before - last_update_s) / interval_s + 1e-9) * interval_s
        if due - poll_s > before + poll_s:
            clock.sleep(due - poll_s - before)
            before = clock.now()
    return UpdateWait(clock, poll_s, timeout_s, deadline_s, before)
