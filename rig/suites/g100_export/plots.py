"""The G100 plot: the boundary export against time, with the limit (or fail-safe level) and the judged instant.

What it shows is computed here (numpy only); the drawing draws itself with
matplotlib in the plot worker, on the canvas's shared linear axes, so a
plot's bytes depend on its own trace and record only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rig.evidence.plot_canvas import HEIGHT_IN, CanvasLayout, PlotKind, PlotOptions, Trace, column

if TYPE_CHECKING:
    from matplotlib.axes import Axes

LAYOUT = CanvasLayout(HEIGHT_IN, (1.0, 2.0), top=0.93, bottom=0.09, left=0.1)
"""Wider on the left than the default: powers in watts (-10000 when the boundary imports, -0.050 around a load
that stays off) have long tick labels beside the panels' labels."""



class BoundaryExportOptions(PlotOptions):
    limit_w: float | None = None
    """The export limit drawn as a line (W)."""
    marker_s: float | None = None
    """An instant to mark (s on the plot's axis), with ``marker`` as its label."""
    marker: str = ""
    x_label: str = "time (s)"


@dataclass(frozen=True)
class BoundaryExportDrawing:
    """The household load switched (above); each boundary export reading, the level it is judged against, the
    readings judged and the instant found (below)."""

    title: str
    t_s: np.ndarray
    export_w: np.ndarray
    household_w: np.ndarray
    judged: np.ndarray
    level_w: float
    marker_s: float | None
    marker: str
    x_label: str

    layout = LAYOUT

    def draw(self, top: Axes, bottom: Axes) -> None:
        top.plot(self.t_s, self.household_w, color="tab:blue", lw=1.5, drawstyle="steps-post",
                 label="household load switched on (declared)")
        top.set_ylabel("load (W)")
        top.legend(loc="upper right", fontsize=8, framealpha=0.9)
        bottom.plot(self.t_s, self.export_w, color="tab:orange", lw=1.0, label="boundary export (grid simulator)")
        if self.judged.any():
            bottom.plot(self.t_s[self.judged], self.export_w[self.judged], ".", color="tab:orange", ms=3,
                        label="readings judged")
        bottom.axhline(self.level_w, color="tab:red", lw=1.2, ls="--", label=f"{self.level_w:g} W")
        bottom.axvline(0.0, color="black", lw=0.8, ls=":")
        if self.marker_s is not None:
            bottom.axvline(self.marker_s, color="tab:green", lw=1.2, label=f"{self.marker}: {self.marker_s:.2f} s")
        bottom.set_ylabel("export (W)")
        bottom.set_xlabel(self.x_label)
        bottom.legend(loc="upper right", fontsize=8, framealpha=0.9)


def drawing(trace: Trace, title: str, options: BoundaryExportOptions) -> BoundaryExportDrawing:
    """A case's boundary readings (see ``BOUNDARY_EXPORT``)."""
    return BoundaryExportDrawing(
        title, column(trace, "t_s"), column(trace, "export_w"), column(trace, "household_w"),
        column(trace, "judged") > 0.5, options.limit_w if options.limit_w is not None else float("nan"),
        options.marker_s, options.marker, options.x_label)


BOUNDARY_EXPORT = PlotKind(columns=("t_s", "export_w", "household_w", "judged"), drawing=drawing,
                           options=BoundaryExportOptions)
"""A boundary export plot. Its trace: one row per reading, ``t_s`` (from the case's reference instant),
``export_w``, ``household_w`` (declared load switched on), ``judged`` (1: the reading is judged). Options:
``limit_w`` (the level drawn), ``marker_s`` (the instant found, or None), ``marker`` (its label), ``x_label``."""
