"""The power quality suite's plots: a harmonic spectrum against its limits, and a few cycles of the waveform.

As for every suite, what a plot shows is computed in the rig (numpy only)
and drawn with matplotlib in the plot worker. Both kinds keep to the
canvas's shared linear axes and default tick locators, so a plot's bytes
depend on its own trace and record only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rig.evidence.plot_canvas import HEIGHT_IN, CanvasLayout, PlotKind, PlotOptions, Trace, column

if TYPE_CHECKING:
    from matplotlib.axes import Axes

SPECTRUM_LAYOUT = CanvasLayout(HEIGHT_IN, (1.4, 1.0), top=0.93, bottom=0.09)
WAVEFORM_LAYOUT = CanvasLayout(HEIGHT_IN * 0.9, (1.0, 1.2), top=0.92, bottom=0.1)



class SpectrumOptions(PlotOptions):
    grouping: str = "group"
    """How orders were grouped (IEC 61000-4-7): the panel's words."""
    fundamental_a: float | None = None
    """The fundamental's rms current (for the reader; not drawn)."""


class WaveformOptions(PlotOptions):
    fundamental_hz: float = 50.0
    cycles: float = 3.0
    """How many cycles to show."""
    dc_a: float | None = None
    """A DC level to mark."""
    note: str = ""
    """What was measured on it, in words."""

BAR_LW = 7.0
"""Width of a spectrum bar in points (about half an order on the canvas)."""


@dataclass(frozen=True)
class SpectrumDrawing:
    """Each order's measured current (mean over the windows, its expanded uncertainty and the largest window)
    against its limit above; the same as a percentage of the limit below."""

    title: str
    grouping: str
    order: np.ndarray
    mean_a: np.ndarray
    max_a: np.ndarray
    expanded_u_a: np.ndarray
    limit_a: np.ndarray
    """NaN where an order has no limit."""

    layout = SPECTRUM_LAYOUT

    def draw(self, top: Axes, bottom: Axes) -> None:
        limited = ~np.isnan(self.limit_a)
        # Bars as thick vertical lines: a bar() or errorbar() container would outlive the canvas's clearing and
        # reach the next plot's legend.
        top.vlines(self.order, 0.0, self.mean_a, color="tab:blue", lw=BAR_LW,
                   label=f"harmonic {self.grouping}, mean of the windows")
        top.vlines(self.order, self.mean_a - self.expanded_u_a, self.mean_a + self.expanded_u_a, color="black",
                   lw=1.0, label="expanded uncertainty (k = 2)")
        top.plot(self.order, self.max_a, "_", color="tab:orange", ms=8, mew=1.5, label="largest window")
        if limited.any():
            top.plot(self.order[limited], self.limit_a[limited], "_", color="tab:red", ms=14, mew=2.5, label="limit")
        top.set_ylabel("current (A rms)")
        top.legend(loc="upper right", fontsize=8, framealpha=0.9)
        ratio = 100.0 * self.mean_a / np.where(limited, self.limit_a, 1.0)
        over = limited & (ratio > 100.0)
        within = limited & ~over
        if within.any():
            bottom.vlines(self.order[within], 0.0, ratio[within], color="tab:green", lw=BAR_LW, label="within the limit")
        if over.any():
            bottom.vlines(self.order[over], 0.0, ratio[over], color="tab:red", lw=BAR_LW, label="above the limit")
        bottom.axhline(100.0, color="tab:red", lw=1.0, ls="--", label="limit (100 %)")
        bottom.set_ylabel("% of limit")
        bottom.set_xlabel("harmonic order")
        bottom.legend(loc="upper right", fontsize=8, framealpha=0.9)


@dataclass(frozen=True)
class WaveformDrawing:
    """The first cycles of the capture: the terminal voltage above, the DUT current below (with its DC)."""

    title: str
    t_ms: np.ndarray
    v_v: np.ndarray
    i_a: np.ndarray
    dc_a: float | None
    note: str
    """What was measured on it, for the current's legend (power factor and displacement, say)."""

    layout = WAVEFORM_LAYOUT

    def draw(self, top: Axes, bottom: Axes) -> None:
        top.plot(self.t_ms, self.v_v, color="tab:blue", lw=1.2, label="terminal voltage")
        top.axhline(0.0, color="black", lw=0.6)
        top.set_ylabel("voltage (V)")
        top.legend(loc="upper right", fontsize=8, framealpha=0.9)
        label = "DUT current (as the digitizer saw it)" + (f": {self.note}" if self.note else "")
        bottom.plot(self.t_ms, self.i_a, color="tab:orange", lw=1.0, label=label)
        bottom.axhline(0.0, color="black", lw=0.6)
        if self.dc_a is not None:
            bottom.axhline(self.dc_a, color="tab:red", lw=1.2, ls="--",
                           label=f"mean over the windows (DC): {self.dc_a * 1e3:.3g} mA")
        bottom.set_ylabel("current (A)")
        bottom.set_xlabel("time from the capture's start (ms)")
        bottom.legend(loc="upper right", fontsize=8, framealpha=0.9)


def spectrum_drawing(trace: Trace, title: str, options: SpectrumOptions) -> SpectrumDrawing:
    """A harmonic spectrum: one row per order (see ``SPECTRUM``)."""
    return SpectrumDrawing(title, options.grouping, column(trace, "order"),
                           column(trace, "mean_a"), column(trace, "max_a"), column(trace, "expanded_u_a"),
                           column(trace, "limit_a"))


def waveform_drawing(trace: Trace, title: str, options: WaveformOptions) -> WaveformDrawing:
    """The first ``cycles`` cycles of a capture (see ``WAVEFORM``)."""
    t = column(trace, "t_s")
    shown = (t - t[0] <= options.cycles / options.fundamental_hz) if len(t) else np.zeros(0, dtype=bool)
    return WaveformDrawing(title, (t[shown] - (t[0] if len(t) else 0.0)) * 1e3, column(trace, "v_v")[shown],
                           column(trace, "i_a")[shown], options.dc_a, options.note)


SPECTRUM = PlotKind(columns=("order", "mean_a", "max_a", "expanded_u_a", "limit_a"), drawing=spectrum_drawing,
                    options=SpectrumOptions)
"""A spectrum plot. Its trace: one row per order, ``order``, ``mean_a`` (mean over the windows), ``max_a`` (largest
window), ``expanded_u_a``, ``limit_a`` (NaN: no limit). Options: ``grouping``."""

WAVEFORM = PlotKind(columns=("t_s", "i_a", "v_v"), drawing=waveform_drawing, options=WaveformOptions)
"""A waveform plot of a capture's first cycles. Its trace: ``t_s``, ``i_a``, ``v_v``. Options: ``fundamental_hz``,
``cycles`` (how many to show), ``dc_a`` (a DC level to mark, or None), ``note`` (what was measured on it)."""
