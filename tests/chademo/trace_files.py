"""Where the shared real CHAdeMO traces are (``<work>/shared/traces/chademo``), and their names."""

from __future__ import annotations

import os
from pathlib import Path

from rig.chademo.traces import Trace, TraceFrame


def _traces_dir() -> Path:
    """The shared folder sits beside the checkout (``<work>/shared``); ``RIG_SHARED`` overrides it."""
    shared = os.environ.get("RIG_SHARED")
    if shared:
        return Path(shared) / "traces" / "chademo"
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "traces" / "chademo"
        if candidate.is_dir():
            return candidate
    return Path(__file__).resolve().parents[3] / "shared" / "traces" / "chademo"  # absent: trace tests skip


TRACES = _traces_dir()
GENIEPOINT = TRACES / "conversion-geniepoint-fail.csv"
LEAF_V2H = TRACES / "leaf-v2h-start-stop.csv"
LEAF_ZE1_CHARGING = TRACES / "leaf-ze1-charging.csv"
LEAF_ZE1_START = TRACES / "leaf-ze1-start.candump.txt"
ALL_TRACES = (GENIEPOINT, LEAF_V2H, LEAF_ZE1_CHARGING, LEAF_ZE1_START)


def frame_at(trace: Trace, line: int) -> TraceFrame:
    """The frame a trace holds at a given line of its file."""
    return next(frame for frame in trace.frames if frame.line == line)
