"""The islanding suite's plot: the terminal voltage above, the DUT current below, S1's opening, the instant the
current ceased and the limit marked.

As for every suite, what the plot shows is computed in the rig (numpy only)
and drawn with matplotlib in the plot worker, on the canvas's two shared
panels only (a twin axis or a panel title would outlive the canvas's
clearing and reach the next plot): the island's measured frequency is in the
trace (``f_hz``) and in results.json, not drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rig.evidence.plot_canvas import HEIGHT_IN, CanvasLayout, Line, PlotKind, PlotOptions, Trace, column, envelope

if TYPE_CHECKING:
    from matplotlib.axes import Axes

LAYOUT = CanvasLayout(HEIGHT_IN, (1.0, 1.2), top=0.93, bottom=0.09)

class RunOnOptions(PlotOptions):
    threshold_a: float
    s1_opened_s: float | None = None
    stop_instant_s: float | None = None
    """None: it ran on past the capture."""
    limit_max_s: float | None = None
    lower_bound: Literal["yes", "no"] = "no"
    """"yes": the run-on is a lower bound (the current had not stopped when the capture ended)."""


@dataclass(frozen=True)
class RunOnDrawing:
    """Voltage (instantaneous) above; current and its one-cycle fundamental below."""

    title: str
    voltage: Line
    current: Line
    fundamental: Line
    threshold_a: float
    s1_opened_s: float | None
    stop_instant_s: float | None
    limit_max_s: float | None
    lower_bound: bool

    layout = LAYOUT

    def _marks(self, axes: Axes, *, labelled: bool) -> None:
        if self.s1_opened_s is not None:
            axes.axvline(self.s1_opened_s, color="black", lw=1.2, ls="--", label="S1 opened" if labelled else None)
        if self.limit_max_s is not None:
            axes.axvline(self.limit_max_s, color="tab:red", lw=1.2, ls=":",
                         label="run-on limit" if labelled else None)
        if self.stop_instant_s is not None:
            axes.axvline(self.stop_instant_s, color="tab:green", lw=1.2,
                         label="current ceased" if labelled else None)

    def draw(self, top: Axes, bottom: Axes) -> None:
        top.plot(self.voltage.t, self.voltage.y, color="tab:blue", lw=0.6, label="terminal voltage (DUT side of S1)")
        top.set_ylabel("voltage (V)")
        self._marks(top, labelled=False)
        top.legend(loc="upper right", fontsize=8, framealpha=0.9)
        label = "DUT current" + (": still exporting at the capture's end (run-on longer)" if self.lower_bound else "")
        bottom.plot(self.current.t, self.current.y, color="tab:orange", lw=0.6, label=label)
        bottom.plot(self.fundamental.t, self.fundamental.y, color="tab:brown", lw=1.4,
                    label="one-cycle fundamental (rms)")
        bottom.axhline(self.threshold_a, color="gray", lw=1.0, ls="-.", label="threshold")
        self._marks(bottom, labelled=True)
        bottom.set_ylabel("current (A)")
        bottom.set_xlabel("time from the trigger (s)")
        bottom.legend(loc="upper right", fontsize=8, framealpha=0.9)


def run_on_drawing(trace: Trace, title: str, options: RunOnOptions) -> RunOnDrawing:
    """The islanding capture (see ``RUN_ON``)."""
    t = column(trace, "t_s")
    return RunOnDrawing(title, Line(*envelope(t, column(trace, "v_v"))),
                        Line(*envelope(t, column(trace, "i_a"))), Line(*envelope(t, column(trace, "i_rms_a"))),
                        options.threshold_a, options.s1_opened_s, options.stop_instant_s, options.limit_max_s,
                        options.lower_bound == "yes")


RUN_ON = PlotKind(columns=("t_s", "i_a", "v_v", "i_rms_a"), drawing=run_on_drawing, options=RunOnOptions)
"""An islanding run-on plot. Its trace: ``t_s``, ``i_a``, ``v_v``, ``i_rms_a``. Options: ``threshold_a``,
``s1_opened_s``, ``stop_instant_s`` (None: it ran on), ``limit_max_s``, ``lower_bound`` ("yes"/"no")."""
