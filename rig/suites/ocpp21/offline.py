"""What a link loss leaves to judge on the frames (OCPP 2.1 part 2 B and E, OCPP-J back-off): the messages the
charger queued while offline, delivered once it is back, each with the time it was taken (not the time it was
sent), in order; and its attempts to connect again, spaced as RetryBackOffWaitMinimum doubled after each failed
attempt up to RetryBackOffRepeatTimes doublings (plus up to RetryBackOffRandomRange, never less).

- ``offline_timestamp_errors``: TransactionEvents marked ``offline`` whose timestamp lies outside the time the
  link was down (from the cut to before the reconnection, on the rig's clock: one stamped at the reconnection
  was stamped when sent) or is earlier than the one before;
- ``backoff_shortfall_s``: the most any attempt came before its back-off allowed (negative: every attempt waited
  at least that long); an attempt is a connection the rig refused while the link was down, or the one it kept.
"""

from __future__ import annotations

import json
from typing import Any

from rig.core.uncertainty import Uncertainty, expanded, normal
from rig.protocols.ocpp.datetimes import wall_of

STAMP_RESOLUTION_S = 0.001
"""OCPP's dateTime to the millisecond: an event taken offline is stamped before the reconnection by at least this
(one stamped at the reconnection was stamped when sent)."""
TIMESTAMP_ERRORS = "offline_timestamp_errors"
BACKOFF_SHORTFALL = "backoff_shortfall_s"


def offline_delivery(frames: list[Any], down: tuple[float, float], attempts: list[float], epoch_offset_s: float,
                     frame_time_u_s: float, wait_minimum_s: float, repeat_times: int
                     ) -> list[tuple[str, float | None, Uncertainty, str]]:
    """The two values above for a link down over ``down`` (cut, reconnection: rig clock) and the charger's connection
    attempts in that time (the kept one last)."""
    cut, back = down
    offline = [f for f in frames if f.direction == "charger->rig" and f.kind == "CALL" and f.action == "TransactionEvent"
               and json.loads(f.text)[3].get("offline") is True]
    wrong: list[str] = []
    before = None
    for frame in offline:
        payload = json.loads(frame.text)[3]
        try:
            taken = wall_of(payload["timestamp"]) - epoch_offset_s
        except (KeyError, ValueError, TypeError):
            wrong.append(f"seqNo {payload.get('seqNo')}: no readable timestamp")
            continue
        if not cut - frame_time_u_s <= taken < back - STAMP_RESOLUTION_S:
            wrong.append(f"seqNo {payload.get('seqNo')} stamped {taken - cut:+.3f} s from the cut, not within the "
                         f"{back - cut:.3f} s the link was down")
        elif before is not None and taken < before:
            wrong.append(f"seqNo {payload.get('seqNo')} stamped before the event delivered ahead of it")
        before = taken
    exact = expanded(normal("a count of recorded frames", 0.0))
    found = [(TIMESTAMP_ERRORS, float(len(wrong)), exact,
              f"{len(offline)} TransactionEvent(s) queued offline, delivered after the reconnection: "
              + ("; ".join(wrong[:4]) if wrong else "each stamped when it was taken, in order"))]
    shortfall, worst = None, ""
    previous = cut
    for k, at in enumerate(sorted(attempts)):
        allowed = wait_minimum_s * 2.0 ** min(k, repeat_times)
        short = allowed - (at - previous)
        if shortfall is None or short > shortfall:
            shortfall, worst = short, f"attempt {k + 1} {at - previous:.2f} s after the one before (at least " \
                                      f"{allowed:g} s due)"
        previous = at
    u = expanded(normal("attempt time stamps (rig clock, on receipt)", frame_time_u_s),
                 normal("the previous attempt's time stamp", frame_time_u_s))
    found.append((BACKOFF_SHORTFALL, None if shortfall is None else round(shortfall, 4), u,
                  f"{len(attempts)} connection attempt(s) after the cut" + (f"; closest to its back-off: {worst}"
                                                                             if worst else "")))
    return found
