"""The CHAdeMO sequence timeline: currents and voltage above, contact lines and flags below, on one time axis.

One plot per session: what the vehicle asked and the charger delivered (and
drew, V2H), the output voltage, then every line and flag of the sequence as
stacked steps, with the injected misbehaviour and the judged instant marked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rig.evidence.plot_canvas import HEIGHT_IN, CanvasLayout, PlotKind, PlotOptions, Trace, column

if TYPE_CHECKING:
    from matplotlib.axes import Axes

TIMELINE_LAYOUT = CanvasLayout(HEIGHT_IN * 1.1, (1.0, 1.2), top=0.93, bottom=0.08, left=0.2, right=0.92)

LANES = (("d1", "d1"), ("d2", "d2"), ("k", "k (vehicle permission)"), ("locked", "connector locked (109.5.2)"),
         ("ev_enabled", "vehicle charge enable (102.5.0)"), ("ev_contactor_open", "vehicle contactors open (102.5.3)"),
         ("charging", "charger charging (109.5.0)"), ("stop_control", "stop control (109.5.5)"),
         ("malfunction", "charger fault (109.5.1/3/4)"))
"""The digital lanes, bottom to top."""



class TimelineOptions(PlotOptions):
    injected_at_s: float | None = None
    """When the rig's action reached the charger (its frame's send instant or its contact edge)."""
    reaction_end_s: float | None = None
    """When the inlet current reached the stop threshold (the judged instant)."""
    vehicle: str | None = None
    """The vehicle profile of the session (for the reader; not drawn)."""


@dataclass(frozen=True)
class TimelineDrawing:
    title: str
    t: np.ndarray
    request_a: np.ndarray
    measured_a: np.ndarray
    present_a: np.ndarray
    discharge_a: np.ndarray
    present_v: np.ndarray
    lanes: tuple[tuple[str, np.ndarray], ...]
    injected_at_s: float | None
    reaction_end_s: float | None

    layout = TIMELINE_LAYOUT

    def draw(self, top: Axes, bottom: Axes) -> None:
        top.step(self.t, self.request_a, where="post", color="tab:blue", lw=1.2, label="vehicle request (A)")
        top.plot(self.t, self.measured_a, color="black", lw=2.0, label="measured at the inlet (A; negative: V2H)")
        top.step(self.t, self.present_a, where="post", color="tab:orange", lw=1.0, ls=":",
                 label="charger reports (0x109, A)")
        if np.any(self.discharge_a):
            top.step(self.t, -self.discharge_a, where="post", color="tab:green", lw=1.0, ls=":",
                     label="charger reports drawing (0x208, A, negative)")
        top.set_ylabel("current (A)")
        volts = top.twinx()
        volts.step(self.t, self.present_v, where="post", color="tab:gray", lw=0.8, ls="--", label="output voltage (V)")
        volts.set_ylabel("output voltage (V)")
        for axes in (top, bottom):
            self._mark(axes)
        handles, labels = top.get_legend_handles_labels()
        more, more_labels = volts.get_legend_handles_labels()
        top.legend(handles + more, labels + more_labels, loc="upper right", fontsize=8, framealpha=0.9)
        for index, (label, values) in enumerate(self.lanes):
            bottom.step(self.t, index * 1.5 + values, where="post", lw=1.2)
        bottom.set_yticks([index * 1.5 + 0.5 for index in range(len(self.lanes))])
        bottom.set_yticklabels([label for label, _ in self.lanes], fontsize=7)
        bottom.set_xlabel("time (s)")
        if len(self.t):
            bottom.set_xlim(self.t[0], self.t[-1])  # this session only: its own frames set the axis
        if bottom.get_legend_handles_labels()[0]:  # the marks, when the case has any
            bottom.legend(loc="upper right", fontsize=8, framealpha=0.9)

    def _mark(self, axes: Axes) -> None:
        if self.injected_at_s is not None:
            axes.axvline(self.injected_at_s, color="tab:red", lw=1.2, ls="--", label="the rig's action reached the charger")
        if self.reaction_end_s is not None:
            axes.axvline(self.reaction_end_s, color="tab:purple", lw=1.5,
                         label="inlet current at the stop threshold (judged)")


def timeline_drawing(trace: Trace, title: str, options: TimelineOptions) -> TimelineDrawing:
    lanes = tuple((label, column(trace, name)) for name, label in LANES)
    return TimelineDrawing(title, column(trace, "t_s"), column(trace, "request_a"), column(trace, "measured_a"),
                           column(trace, "present_a"),
                           column(trace, "discharge_a"), column(trace, "present_v"), lanes,
                           options.injected_at_s, options.reaction_end_s)


TIMELINE = PlotKind(columns=("t_s", "measured_a", "present_v", "present_a", "discharge_a", "request_a") + tuple(n for n, _ in LANES),
                    drawing=timeline_drawing, options=TimelineOptions)
"""A session timeline. Its trace: one row per 0x109 frame (see ``rig.suites.chademo.procedures.timeline``).
Options: ``injected_at_s``, ``reaction_end_s``, ``vehicle``."""
