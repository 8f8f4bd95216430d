"""The frequency-response plot: the commanded frequency above, the charger's power below with its band.

What it shows is computed here (numpy only); the drawing draws itself with
matplotlib in the plot worker (``rig.evidence.plot_worker``), so this module imports
matplotlib only where it draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rig.evidence.plot_canvas import HEIGHT_IN, CanvasLayout, PlotKind, PlotOptions, Trace, column

if TYPE_CHECKING:
    from matplotlib.axes import Axes

LAYOUT = CanvasLayout(HEIGHT_IN, (1.0, 1.6), top=0.93, bottom=0.09)



class FrequencyResponseOptions(PlotOptions):
    function: str
    """The procedure: ``lfsm_o`` (drawn against the droop line) or ``reduced_frequency`` (the allowed line)."""
    threshold_hz: float | None = None
    reference_power_w: float | None = None
    """The power the per-unit axis is of (for the reader; not drawn)."""


@dataclass(frozen=True)
class FrequencyResponseDrawing:
    """One point per whole voltage cycle (s from the first step): the commanded frequency, the power per unit
    of the reference, the line and tolerance band it is judged against, each step's settled power over its
    settled window, and the cycle at which each step's power entered the band."""

    title: str
    t_s: np.ndarray
    frequency_hz: np.ndarray
    power_pu: np.ndarray
    line_pu: np.ndarray
    band_min_pu: np.ndarray
    band_max_pu: np.ndarray
    settled_pu: np.ndarray
    entered: np.ndarray
    threshold_hz: float | None
    line_label: str

    layout = LAYOUT

    def draw(self, top: Axes, bottom: Axes) -> None:
        draw_frequency_response(top, bottom, self)


def drawing(trace: Trace, title: str, options: FrequencyResponseOptions) -> FrequencyResponseDrawing:
    """A step sequence's power trace (see ``FREQUENCY_RESPONSE``)."""
    threshold = options.threshold_hz
    label = "droop line" if options.function == "lfsm_o" else "allowed line"
    return FrequencyResponseDrawing(
        title, column(trace, "t_s"), column(trace, "frequency_hz"), column(trace, "power_pu"), column(trace, "line_pu"),
        column(trace, "band_min_pu"), column(trace, "band_max_pu"), column(trace, "settled_pu"),
        column(trace, "entered") > 0.5, None if threshold is None else float(threshold), label)


FREQUENCY_RESPONSE = PlotKind(
    columns=("t_s", "frequency_hz", "power_pu", "line_pu", "band_min_pu", "band_max_pu", "settled_pu", "entered"),
    drawing=drawing, options=FrequencyResponseOptions)
"""A frequency-response plot. Its trace: one row per whole voltage cycle; ``t_s`` (its middle, s from the first
step), ``frequency_hz`` (commanded; NaN for a cycle straddling a step), ``power_pu`` (export power per unit of the
reference), ``line_pu``, ``band_min_pu``, ``band_max_pu`` (the line and tolerance band; NaN where open),
``settled_pu`` (the step's settled power over its settled window, else NaN), ``entered`` (1 at the first cycle in
the band after each step). Options: ``function`` (lfsm_o | reduced_frequency), ``threshold_hz``,
``reference_power_w``."""


def draw_frequency_response(top: Axes, bottom: Axes, d: FrequencyResponseDrawing) -> None:
    """Frequency above; power, its line and band, settled values and band entries below."""
    top.plot(d.t_s, d.frequency_hz, color="tab:blue", lw=1.5, drawstyle="steps-mid", label="commanded frequency")
    if d.threshold_hz is not None:
        top.axhline(d.threshold_hz, color="black", lw=1.0, ls="--", label=f"threshold {d.threshold_hz:g} Hz")
    top.set_ylabel("frequency (Hz)")
    top.legend(loc="best", fontsize=8, framealpha=0.9)

    finite = d.power_pu[np.isfinite(d.power_pu)]
    ceiling = (float(np.max(finite)) if finite.size else 1.0) + 0.05  # where an open upper band is drawn to
    low = np.where(np.isnan(d.band_min_pu), d.line_pu - 1.0, d.band_min_pu)
    high = np.where(np.isnan(d.band_max_pu), ceiling, d.band_max_pu)
    bottom.fill_between(d.t_s, low, high, where=np.isfinite(d.line_pu), color="tab:green", alpha=0.15, lw=0,
                        label="tolerance band")
    bottom.plot(d.t_s, d.line_pu, color="tab:green", lw=1.0, ls="--", label=d.line_label)
    bottom.plot(d.t_s, d.power_pu, color="tab:orange", lw=1.2, label="export power, one cycle")
    bottom.plot(d.t_s, d.settled_pu, color="tab:red", lw=2.5, label="settled power (judged)")
    if d.entered.any():
        bottom.plot(d.t_s[d.entered], d.power_pu[d.entered], "v", color="tab:purple", label="entered the band")
    bottom.set_ylim(max(float(np.nanmin(low)) if np.isfinite(low).any() else 0.0, 0.0) - 0.02, ceiling)
    bottom.set_ylabel("power (pu of the reference)")
    bottom.set_xlabel("time from the first step (s)")
    bottom.legend(loc="lower right", fontsize=8, framealpha=0.9)
