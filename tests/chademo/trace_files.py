"""The real CHAdeMO traces the tests read: the project's verbatim copy in ``fixtures/traces/chademo``.

They were recorded by others and published (see that folder's README); the copy carries their SHA-256
sums (``SHA256SUMS``) so a test can prove they were never edited. They are in the repository so that a
clean clone tests them: a test that skips when its data is missing cannot fail.
"""

from __future__ import annotations

from pathlib import Path

from rig.chademo.traces import Trace, TraceFrame

TRACES = Path(__file__).resolve().parents[2] / "fixtures" / "traces" / "chademo"
GENIEPOINT = TRACES / "conversion-geniepoint-fail.csv"
LEAF_V2H = TRACES / "leaf-v2h-start-stop.csv"
LEAF_ZE1_CHARGING = TRACES / "leaf-ze1-charging.csv"
LEAF_ZE1_START = TRACES / "leaf-ze1-start.candump.txt"
ALL_TRACES = (GENIEPOINT, LEAF_V2H, LEAF_ZE1_CHARGING, LEAF_ZE1_START)


def frame_at(trace: Trace, line: int) -> TraceFrame:
    """The frame a trace holds at a given line of its file."""
    return next(frame for frame in trace.frames if frame.line == line)
