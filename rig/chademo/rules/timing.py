"""Bus timing: the 100 ms cycle, who speaks first, and what CAN silence from the EV must cause."""

from __future__ import annotations

import math
import statistics

from rig.chademo import messages
from rig.chademo.messages import Side
from rig.chademo.parameters import ChademoParameters
from rig.chademo.reconstruction import SessionSummary, ev_silences, recording_gaps
from rig.chademo.rules.findings import Violation
from rig.chademo.rules.timeline import (answered_within, current_reports, opening_recorded, output_current_a,
                                       reported_stop_within_s, stopped)
from rig.chademo.session import Session


def message_cycle(session: Session, summary: SessionSummary, params: ChademoParameters) -> list[Violation]:
    """Every cyclic message every 100 ms +- 10 ms, judged per id; the sender is at fault. Gaps
    longer than the CAN-silence limit are left to the silence rules (they are not jitter), and
    intervals across a recording gap (no frame from anyone) or a frame lost to damage (a damaged
    line, a frame that did not decode) are not judged: the missing frame may have been this id's."""
    violations = []
    low, high = params.cycle_period_s - params.cycle_tolerance_s, params.cycle_period_s + params.cycle_tolerance_s
    gaps = recording_gaps(session, params)
    for frame_id in sorted({f.frame_id for f in session.frames if f.side is not None}):
        frames = session.of(frame_id)
        pairs = [(a, b) for a, b in zip(frames, frames[1:]) if b.t - a.t <= params.can_silence_s
                 and not any(a.t <= gap_start and gap_end <= b.t for gap_start, gap_end in gaps)
                 and not session.lost_between(a.t, b.t, (frame_id,))]
        off = [(a, b) for a, b in pairs if not low <= b.t - a.t <= high]
        if len(off) <= params.cycle_allowed_outliers:
            continue
        intervals = [b.t - a.t for a, b in pairs]
        worst = max(off, key=lambda ab: abs(ab[1].t - ab[0].t - params.cycle_period_s))
        side = messages.side_of(frame_id)
        assert side is not None
        violations.append(Violation(
            "bus.cycle", side, off[0][1].t,
            f"0x{frame_id:03X} {messages.message_name(frame_id)}: {len(off)} of {len(pairs)} intervals outside "
            f"{params.cycle_period_s * 1000:g} +- {params.cycle_tolerance_s * 1000:g} ms "
            f"(median {statistics.median(intervals) * 1000:.0f} ms, worst {(worst[1].t - worst[0].t) * 1000:.0f} ms)",
            tuple(dict.fromkeys((off[0][0], off[0][1], worst[0], worst[1])))))
    return violations


def message_order(session: Session, summary: SessionSummary, params: ChademoParameters) -> list[Violation]:
    """The EVSE answers only once it has the vehicle's frames, and sends 0x108 before 0x109. Not
    judged where a frame that would decide it may be missing (a damaged line before the answer)."""
    violations = []
    ev, evse = session.sent_by(Side.EV), session.sent_by(Side.EVSE)
    if not ev or not evse:
        return []
    if not opening_recorded(summary):
        return []  # the trace starts mid-session: the opening was not recorded
    if evse[0].t < ev[0].t and not session.lost_between(-math.inf, evse[0].t, messages.frame_ids(Side.EV)):
        violations.append(Violation("evse.message_order", Side.EVSE, evse[0].t,
                                    "the EVSE sent before any vehicle frame", (evse[0], ev[0])))
    first_108, first_109 = session.of(0x108)[:1], session.of(0x109)[:1]
    if (first_109 and (not first_108 or first_109[0].t < first_108[0].t)
            and not session.lost_between(-math.inf, first_109[0].t, (0x108,))):
        violations.append(Violation("evse.message_order", Side.EVSE, first_109[0].t,
                                    "0x109 sent before 0x108", tuple(first_109 + first_108)))
    return violations


def ev_can_silence(session: Session, summary: SessionSummary, params: ChademoParameters) -> list[Violation]:
    """The EV keeps its frames going until the session has ended (the EVSE unlocked)."""
    ended = summary.first("ended")
    return [Violation("ev.can_silence", Side.EV, last.t,
                      f"the EV's frames stopped for {gap:.2f} s (limit {params.can_silence_s:g} s) "
                      f"before the session ended", (last,))
            for last, gap in ev_silences(session, params.can_silence_s)
            if ended is None or last.t + params.can_silence_s < ended.start]


def evse_stops_on_ev_silence(session: Session, summary: SessionSummary,
                             params: ChademoParameters) -> list[Violation]:
    """CAN silence from the EV for longer than the limit: the EVSE stops its output
    (<= stop current within the stop time after the silence limit)."""
    violations = []
    reports = current_reports(session)
    for last, _ in ev_silences(session, params.can_silence_s):
        start = last.t + params.can_silence_s
        answered, evidence = answered_within(reports, start, reported_stop_within_s(params), stopped(session, params))
        if not answered and evidence is not None:
            violations.append(Violation(
                "evse.stop_on_ev_silence", Side.EVSE, start + reported_stop_within_s(params),
                f"the EV went silent after t={last.t:.3f} s, but {params.can_silence_s + reported_stop_within_s(params):g} s"
                f" later the EVSE still carried {output_current_a(session, evidence):g} A", (last, evidence)))
    return violations
