"""The message sequence chart of an OCPP case: the charger and the rig as two lifelines, every frame an arrow in
the order it was recorded with its time on the rig's clock, frames that break the schema or are CALLERRORs
highlighted with what was wrong quoted, and each check that was not met written in where the rig decided it.

The trace (``sequence``) is one row per frame or failed check, in order; a case with more frames than a chart
can show (a flood) keeps the first ``MAX_ROWS`` rows and says how many more are in ``frames.jsonl``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from rig.evidence.plot_canvas import CanvasLayout, PlotKind, PlotOptions, Trace, column

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MAX_ROWS = 70
"""Rows a chart shows (about 9 points each at its height)."""

CHARGER, RIG, NOTE = 0, 1, 2
NORMAL, ERROR, BROKEN, FAILED = 0, 1, 2, 3
"""Marks: a plain frame, a CALLERROR, a frame breaking the schema (or no frame at all), a check not met."""
COLOURS = {NORMAL: "black", ERROR: "tab:orange", BROKEN: "tab:red", FAILED: "tab:red"}

LAYOUT = CanvasLayout(9.0, (1.0, 0.001), top=0.95, bottom=0.01)
"""Its own canvas: the top panel is the chart, the bottom one is not shown."""


SHOWN_FIELDS = ("connectorId", "evseId", "status", "connectorStatus", "idTag", "reason", "eventType", "type",
                "key", "requestedMessage", "transactionId")
"""Payload fields a chart row shows (the ones the cases turn on)."""


def _summary(frame: Any) -> str:
    try:
        value = json.loads(frame.text)
        payload = value[3] if value[0] == 2 else value[2] if value[0] == 3 else {}
    except (ValueError, IndexError, TypeError, KeyError):
        return ""
    if not isinstance(payload, dict):
        return ""
    shown = [f"{k}={json.dumps(payload[k])}" for k in SHOWN_FIELDS if k in payload and not isinstance(payload[k], dict)]
    return " ".join(shown)[:70]


def _label(frame: Any) -> str:
    text = f"{frame.kind} {frame.action or ''} {_summary(frame)}".strip()
    if frame.kind == "CALLERROR":
        try:
            text += f" {json.loads(frame.text)[2]}"
        except (ValueError, IndexError, TypeError):
            pass
    if frame.problems:
        text += f"  [{frame.problems[0][:90]}]"
    return text


def sequence_trace(frames: list[Any], t0: float, failed: list[tuple[float, str]]) -> pd.DataFrame:
    """The chart's rows: every frame (times from ``t0``) and every failed check (``(decided_s, text)``), in time
    order, a check after the frames of its instant; at most ``MAX_ROWS``, the last row saying what was left out."""
    rows = [(f.t - t0, 0, CHARGER if f.direction == "charger->rig" else RIG, _label(f),
             BROKEN if f.problems or f.kind == "MALFORMED" else ERROR if f.kind == "CALLERROR" else NORMAL)
            for f in frames]
    rows += [(at, 1, NOTE, f"NOT MET: {text}"[:140], FAILED) for at, text in failed]
    rows.sort(key=lambda r: (r[0], r[1]))
    if len(rows) > MAX_ROWS:
        left = len(rows) - MAX_ROWS + 1
        rows = rows[:MAX_ROWS - 1] + [(rows[MAX_ROWS - 1][0], 1, NOTE, f"... {left} more rows: frames.jsonl has "
                                                                        "every frame", NORMAL)]
    return pd.DataFrame({"t_s": [r[0] for r in rows], "lane": [r[2] for r in rows],
                         "label": [r[3] for r in rows], "mark": [r[4] for r in rows]})


class SequenceOptions(PlotOptions):
    identity: str | None = None
    """The charger's identity (for its lifeline's name)."""


@dataclass(frozen=True)
class SequenceDrawing:
    title: str
    t: tuple[float, ...]
    lane: tuple[int, ...]
    label: tuple[str, ...]
    mark: tuple[int, ...]
    identity: str

    layout = LAYOUT

    def draw(self, top: Axes, bottom: Axes) -> None:
        n = len(self.t)
        charger_x, rig_x = 0.12, 0.88
        top.set_xlim(0.0, 1.0)
        top.set_ylim(-(max(n, 1)) - 0.5, 1.2)
        top.set_xticks([])
        top.set_yticks([])
        top.grid(False)
        bottom.set_visible(False)
        for x, name in ((charger_x, f"charger {self.identity}"), (rig_x, "rig (CSMS)")):
            top.plot([x, x], [-(max(n, 1)) - 0.3, 0.6], color="tab:gray", lw=1.0)
            top.text(x, 0.8, name, ha="center", va="bottom", fontsize=9, weight="bold")
        for row, (t, lane, label, mark) in enumerate(zip(self.t, self.lane, self.label, self.mark)):
            y = -row - 0.5
            colour = COLOURS[mark]
            if lane == NOTE:
                top.text(0.5, y, f"{t:10.3f} s  {label}", ha="center", va="center", fontsize=6.5, color=colour,
                         family="monospace")
                continue
            start, end = (charger_x, rig_x) if lane == CHARGER else (rig_x, charger_x)
            top.annotate("", xy=(end, y), xytext=(start, y),
                         arrowprops={"arrowstyle": "->", "color": colour, "lw": 0.8})
            top.text(0.5, y + 0.12, f"{t:10.3f} s  {label}", ha="center", va="bottom", fontsize=6.5, color=colour,
                     family="monospace")


def sequence_drawing(trace: Trace, title: str, options: SequenceOptions) -> SequenceDrawing:
    return SequenceDrawing(title, tuple(float(x) for x in column(trace, "t_s")),
                           tuple(int(x) for x in column(trace, "lane")), tuple(str(x) for x in trace["label"]),
                           tuple(int(x) for x in column(trace, "mark")), options.identity or "")


SEQUENCE = PlotKind(columns=("t_s", "lane", "label", "mark"), drawing=sequence_drawing, options=SequenceOptions)
"""An OCPP case's message sequence chart. Its trace: ``sequence_trace``. Options: ``identity``."""
