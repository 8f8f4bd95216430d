"""Trip-time plots for the report: what the grid was told to do and when the charger let go.

A run draws one plot per case and runs are benchmarked, so a plot must be
cheap: figures are drawn on a ``Figure`` directly (no pyplot, no GUI
backend, no global figure list to leak) and kept from one plot to the next
(``Canvas``), and long traces are reduced to a min/max envelope per pixel
column before drawing, which looks identical at the plot's resolution and
keeps every peak. During a run the plots are drawn in a worker process
(``rig.plot_worker``); this module is the one drawing code for the worker
and for a report rebuilt later.

A plot's bytes depend only on its trace and its plot record: the same trace
gives the same SVG whichever process draws it and whatever that process drew
before (``svg.hashsalt`` fixes the ids the SVG writer would otherwise make
random).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import pyarrow.parquet as pq
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rig.results import StaircasePlot, TripPlot

Trace = Mapping[str, npt.ArrayLike]
"""A trace's columns by name: what ``read_trace`` gives (a pandas DataFrame also fits)."""

TRACE_COLUMNS = ["t_s", "i_a", "i_rms_a", "commanded"]
"""The columns a trip-plot trace must have (see ``rig.results.TripPlot``)."""

WIDTH_IN, HEIGHT_IN, DPI = 10.0, 6.0, 100
ENVELOPE_COLUMNS = 1500
"""Buckets per line: a bit more than the axes' pixel width, at most 2 points each."""


def envelope(t: np.ndarray, y: np.ndarray, columns: int = ENVELOPE_COLUMNS) -> tuple[np.ndarray, np.ndarray]:
    """Reduce a line to its minimum and maximum in each of ``columns`` equal sample buckets.

    The two extremes of each bucket are kept in time order, so the drawn line
    reaches every peak and trough the full trace reaches. Traces are sampled
    uniformly, so equal sample counts are equal time widths. A line that is
    already short enough is returned unchanged.
    """
    n = len(y)
    if n <= 2 * columns:
        return t, y
    per_bucket = n // columns
    used = per_bucket * columns
    buckets = y[:used].reshape(columns, per_bucket)
    starts = np.arange(columns) * per_bucket
    lo = starts + np.argmin(buckets, axis=1)
    hi = starts + np.argmax(buckets, axis=1)
    keep = [np.minimum(lo, hi), np.maximum(lo, hi)]
    if used < n:  # the remainder is a last, shorter bucket
        tail = y[used:]
        keep.append(np.array([used + int(np.argmin(tail)), used + int(np.argmax(tail))]))
    index = np.sort(np.concatenate(keep))
    return t[index], y[index]


def _label(plot: TripPlot | StaircasePlot) -> str:
    quantity = plot.quantity or "commanded"
    return f"{quantity} ({plot.quantity_unit})" if plot.quantity_unit else quantity


def _mark_events(axes: Axes, plot: TripPlot, t_end: float) -> None:
    """The disturbance at t=0, the acceptance window and the trip instant, on one panel."""
    if plot.limit_min_s is not None or plot.limit_max_s is not None:
        start = plot.limit_min_s if plot.limit_min_s is not None else 0.0
        stop = plot.limit_max_s if plot.limit_max_s is not None else t_end
        axes.axvspan(start, stop, color="tab:green", alpha=0.15, lw=0, label="acceptance window")
    axes.axvline(0.0, color="black", lw=1.0, ls="--", label="disturbance (t = 0)")
    if plot.trip_instant_s is not None:
        axes.axvline(plot.trip_instant_s, color="tab:red", lw=1.5, label=f"trip at {plot.trip_instant_s:.3f} s")


def _column(trace: Trace, name: str) -> np.ndarray:
    return np.asarray(trace[name], dtype=float)


def _check_columns(trace: Trace, plot: TripPlot | StaircasePlot, kind: str) -> None:
    missing = [column for column in plot_columns(plot) if column not in trace]
    if missing:
        raise ValueError(f"trace {plot.trace} lacks column(s) {', '.join(missing)} needed for a {kind} plot")


@dataclass(frozen=True)
class CanvasLayout:
    """The height of a plot kind's figure and how its two panels share it (fractions of the figure)."""

    height_in: float
    height_ratios: tuple[float, float]
    top: float
    bottom: float


TRIP_LAYOUT = CanvasLayout(HEIGHT_IN, (1.0, 1.4), top=0.93, bottom=0.09)
STAIRCASE_LAYOUT = CanvasLayout(HEIGHT_IN * 0.8, (1.4, 1.0), top=0.92, bottom=0.1)


class Canvas:
    """A figure with two panels on one time axis, kept from one plot to the next.

    Making a figure costs more than drawing one: matplotlib builds every
    axes, spine and tick (five artists per tick) afresh for each new figure,
    about half of a plot's time. A canvas builds them once. Each plot adds
    its own artists inside ``drawing()``, which then takes exactly those
    away and returns limits, labels and title to the state of a new canvas,
    so a plot's bytes depend on its trace and record only, never on the
    plots drawn before it (``tests/test_plots.py`` holds that to the byte).
    """

    def __init__(self, layout: CanvasLayout) -> None:
        self.figure = Figure(figsize=(WIDTH_IN, layout.height_in), dpi=DPI)
        self.top, self.bottom = self.figure.subplots(2, 1, sharex=True, height_ratios=list(layout.height_ratios))
        self.figure.subplots_adjust(left=0.08, right=0.98, top=layout.top, bottom=layout.bottom, hspace=0.08)
        self.title = self.figure.suptitle("", fontsize=12)
        for axes in (self.top, self.bottom):
            axes.grid(True, lw=0.4, alpha=0.5)

    @contextmanager
    def drawing(self, title: str) -> Iterator[tuple[Axes, Axes]]:
        """The two panels, titled, to draw one plot on; cleared again afterwards, however it ends."""
        self.title.set_text(title)
        try:
            yield self.top, self.bottom
        finally:
            self._clear()

    def save_svg(self, out: Path | BinaryIO) -> None:
        with rc_context({"svg.fonttype": "none", "svg.hashsalt": "v2g-rig"}):
            self.figure.savefig(out, format="svg", metadata={"Date": None})

    def _clear(self) -> None:
        self.title.set_text("")
        for axes in (self.top, self.bottom):
            for artists in (axes.lines, axes.patches, axes.collections, axes.texts):
                for artist in list(artists):
                    artist.remove()
            legend = axes.get_legend()
            if legend is not None:
                legend.remove()
            axes.set_xlabel("")
            axes.set_ylabel("")
            axes.relim()
            axes.autoscale(True)


_canvases = threading.local()
"""Each thread's canvases by layout (matplotlib figures are not to be shared between threads)."""


def canvas(layout: CanvasLayout) -> Canvas:
    """This thread's canvas for ``layout``, made on first use."""
    kept: dict[CanvasLayout, Canvas] = _canvases.__dict__.setdefault("by_layout", {})
    if layout not in kept:
        kept[layout] = Canvas(layout)
    return kept[layout]


def draw_trip(top: Axes, bottom: Axes, trace: Trace, plot: TripPlot) -> None:
    """The commanded grid quantity above, the DUT current below, events and limits on both."""
    _check_columns(trace, plot, "trip")
    t = _column(trace, "t_s")
    t_end = float(t[-1]) if len(t) else 0.0

    top.plot(*envelope(t, _column(trace, "commanded")), color="tab:blue", lw=1.2)
    top.set_ylabel(_label(plot))
    _mark_events(top, plot, t_end)

    bottom.plot(*envelope(t, _column(trace, "i_a")), color="tab:gray", lw=0.6, alpha=0.5,
                label="DUT current, instantaneous")
    bottom.plot(*envelope(t, _column(trace, "i_rms_a")), color="tab:orange", lw=2.0,
                label="DUT current, one-cycle rms")
    bottom.axhline(plot.threshold_a, color="tab:purple", lw=1.0, ls=":", label=f"threshold {plot.threshold_a:g} A")
    _mark_events(bottom, plot, t_end)
    bottom.set_ylabel("current (A)")
    bottom.set_xlabel("time from disturbance (s)")
    bottom.legend(loc="upper right", fontsize=8, framealpha=0.9)
    if len(t):
        bottom.set_xlim(float(t[0]), t_end)


STAIRCASE_COLUMNS = ["applied_s", "read_s", "level", "measured_level", "current_a"]
"""The columns a staircase trace must have (see ``rig.results.StaircasePlot``)."""


def draw_staircase(top: Axes, bottom: Axes, trace: Trace, plot: StaircasePlot) -> None:
    """A trip-value search: each level held in turn above, the DUT current read after each below."""
    _check_columns(trace, plot, "staircase")
    applied = _column(trace, "applied_s")
    t0 = float(applied[0]) if len(applied) else 0.0
    start = applied - t0
    end = _column(trace, "read_s") - t0
    level = _column(trace, "measured_level")
    current = _column(trace, "current_a")

    if plot.limit_min is not None or plot.limit_max is not None:
        low = plot.limit_min if plot.limit_min is not None else float(np.min(level))
        high = plot.limit_max if plot.limit_max is not None else float(np.max(level))
        top.axhspan(low, high, color="tab:green", alpha=0.15, lw=0, label="acceptance window")
    if plot.setting is not None:
        top.axhline(plot.setting, color="black", lw=1.0, ls="--", label=f"setting {plot.setting:g} {plot.quantity_unit}")
    top.hlines(level, start, end, color="tab:blue", lw=2.0, label="level held (measured)")
    tripped = current < plot.threshold_a
    if tripped.any():
        k = int(np.argmax(tripped))
        top.hlines(level[k], start[k], end[k], color="tab:red", lw=3.0,
                   label=f"tripped at {plot.trip_value:g} {plot.quantity_unit}" if plot.trip_value is not None
                   else "tripped")
    top.set_ylabel(_label(plot))
    top.legend(loc="best", fontsize=8, framealpha=0.9)
    bottom.plot(end, current, "o-", color="tab:orange", label="DUT current at the end of each level")
    bottom.axhline(plot.threshold_a, color="tab:purple", lw=1.0, ls=":", label=f"threshold {plot.threshold_a:g} A")
    bottom.set_ylabel("current (A)")
    bottom.set_xlabel("time from the first level (s)")
    bottom.legend(loc="best", fontsize=8, framealpha=0.9)


def read_trace(path: Path, plot: TripPlot | StaircasePlot) -> dict[str, np.ndarray]:
    """The columns a plot needs, read from its trace file (those it lacks are left out for the plot to name).

    Read with pyarrow alone: the plot worker then starts without importing pandas.
    """
    with pq.ParquetFile(path) as file:
        present = [name for name in plot_columns(plot) if name in file.schema_arrow.names]
        table = file.read(columns=present)
    return {name: table.column(name).to_numpy() for name in present}


def plot_columns(plot: TripPlot | StaircasePlot) -> list[str]:
    return STAIRCASE_COLUMNS if isinstance(plot, StaircasePlot) else TRACE_COLUMNS


def draw_plot(trace: Trace, plot: TripPlot | StaircasePlot, out: Path | BinaryIO, on: Canvas | None = None) -> None:
    """Draw whichever kind of plot a case asked for, as SVG to a path or an open binary file.

    ``on`` is the canvas to draw on: by default this thread's kept canvas for
    the plot's kind. SVG rather than PNG: vector lines a reviewer can zoom
    into, text that stays text (searchable, no embedded glyph outlines), and
    about half the time to write.
    """
    staircase = isinstance(plot, StaircasePlot)
    chosen = on if on is not None else canvas(STAIRCASE_LAYOUT if staircase else TRIP_LAYOUT)
    with chosen.drawing(plot.title or plot.trace) as (top, bottom):
        if isinstance(plot, StaircasePlot):
            draw_staircase(top, bottom, trace, plot)
        else:
            draw_trip(top, bottom, trace, plot)
        chosen.save_svg(out)


def plot_svg(trace: Trace, plot: TripPlot | StaircasePlot) -> bytes:
    """The SVG document of a plot, as bytes."""
    out = io.BytesIO()
    draw_plot(trace, plot, out)
    return out.getvalue()
