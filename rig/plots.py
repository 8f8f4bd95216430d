"""Plots for the report: what the grid was told to do and when the charger let go.

A plot is made in two steps, so that the costly one can run in another process:

1. ``drawing(trace, plot)`` turns a trace (as read from the evidence) and its
   plot record into what the plot shows (``TripDrawing``, ``StaircaseDrawing``):
   plain numbers, long lines reduced to a min/max envelope per pixel column,
   which looks identical at the plot's resolution and keeps every peak.
   Cheap numpy work, done by the run itself.
2. ``draw_svg(drawing, out)``: matplotlib draws it, tens of milliseconds a
   plot. During a run the plot worker does this (``rig.plot_worker``); it
   imports this module and matplotlib, and neither pyarrow nor pydantic,
   which is why those (like matplotlib here) are imported only by the
   functions that need them.

Figures are drawn on a ``Figure`` directly (no pyplot, no GUI backend, no
global figure list to leak) and kept from one plot to the next (``Canvas``).
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
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from rig.results import StaircasePlot, TripPlot

Trace = Mapping[str, npt.ArrayLike]
"""A trace's columns by name: what ``read_trace`` gives (a pandas DataFrame also fits)."""

TRACE_COLUMNS = ["t_s", "i_a", "i_rms_a", "commanded"]
"""The columns a trip-plot trace must have (see ``rig.results.TripPlot``)."""

STAIRCASE_COLUMNS = ["applied_s", "read_s", "level", "measured_level", "current_a"]
"""The columns a staircase trace must have (see ``rig.results.StaircasePlot``)."""

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


@dataclass(frozen=True)
class Line:
    """A line to draw, already reduced to the plot's resolution."""

    t: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class TripDrawing:
    """What a trip plot shows: the commanded grid quantity above, the DUT current below (times in s
    from the disturbance), the disturbance, trip instant and acceptance window on both."""

    title: str
    quantity_label: str
    commanded: Line
    current: Line
    current_rms: Line
    span_s: tuple[float, float] | None
    """The capture's first and last instant (None for an empty capture)."""
    threshold_a: float
    trip_instant_s: float | None
    limit_min_s: float | None
    limit_max_s: float | None


@dataclass(frozen=True)
class StaircaseDrawing:
    """What a trip-value search shows: each level held (from ``start_s`` to ``end_s``, s from the
    first level) above, the DUT current read at the end of each below."""

    title: str
    quantity_label: str
    quantity_unit: str
    start_s: np.ndarray
    end_s: np.ndarray
    level: np.ndarray
    current_a: np.ndarray
    threshold_a: float
    setting: float | None
    trip_value: float | None
    limit_min: float | None
    limit_max: float | None


Drawing = TripDrawing | StaircaseDrawing


def plot_columns(plot: TripPlot | StaircasePlot) -> list[str]:
    return STAIRCASE_COLUMNS if plot.kind == "staircase" else TRACE_COLUMNS


def read_trace(path: Path, plot: TripPlot | StaircasePlot) -> dict[str, np.ndarray]:
    """The columns a plot needs, read from its trace file (those it lacks are left out for the plot to name)."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as file:
        present = [name for name in plot_columns(plot) if name in file.schema_arrow.names]
        table = file.read(columns=present)
    return {name: table.column(name).to_numpy() for name in present}


def drawing(trace: Trace, plot: TripPlot | StaircasePlot) -> Drawing:
    """What the plot of ``trace`` shows; ValueError if the trace lacks a column the plot needs."""
    missing = [column for column in plot_columns(plot) if column not in trace]
    if missing:
        raise ValueError(f"trace {plot.trace} lacks column(s) {', '.join(missing)} needed for a {plot.kind} plot")
    title, label = plot.title or plot.trace, _label(plot)
    if plot.kind == "staircase":
        applied = _column(trace, "applied_s")
        t0 = float(applied[0]) if len(applied) else 0.0
        return StaircaseDrawing(title, label, plot.quantity_unit, applied - t0, _column(trace, "read_s") - t0,
                                _column(trace, "measured_level"), _column(trace, "current_a"), plot.threshold_a,
                                plot.setting, plot.trip_value, plot.limit_min, plot.limit_max)
    t = _column(trace, "t_s")
    return TripDrawing(title, label, Line(*envelope(t, _column(trace, "commanded"))),
                       Line(*envelope(t, _column(trace, "i_a"))), Line(*envelope(t, _column(trace, "i_rms_a"))),
                       (float(t[0]), float(t[-1])) if len(t) else None, plot.threshold_a, plot.trip_instant_s,
                       plot.limit_min_s, plot.limit_max_s)


def read_drawing(path: Path, plot: TripPlot | StaircasePlot) -> Drawing:
    """What the plot of the trace file at ``path`` shows (OSError or ValueError if it cannot be read)."""
    return drawing(read_trace(path, plot), plot)


def _column(trace: Trace, name: str) -> np.ndarray:
    return np.asarray(trace[name], dtype=float)


def _label(plot: TripPlot | StaircasePlot) -> str:
    quantity = plot.quantity or "commanded"
    return f"{quantity} ({plot.quantity_unit})" if plot.quantity_unit else quantity


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
    its own artists inside ``panels()``, which then takes exactly those
    away and returns limits, labels and title to the state of a new canvas,
    so a plot's bytes depend on its trace and record only, never on the
    plots drawn before it (``tests/test_plots.py`` holds that to the byte).
    """

    def __init__(self, layout: CanvasLayout) -> None:
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(WIDTH_IN, layout.height_in), dpi=DPI)
        self.top, self.bottom = self.figure.subplots(2, 1, sharex=True, height_ratios=list(layout.height_ratios))
        self.figure.subplots_adjust(left=0.08, right=0.98, top=layout.top, bottom=layout.bottom, hspace=0.08)
        self.title = self.figure.suptitle("", fontsize=12)
        for axes in (self.top, self.bottom):
            axes.grid(True, lw=0.4, alpha=0.5)

    @contextmanager
    def panels(self, title: str) -> Iterator[tuple[Axes, Axes]]:
        """The two panels, titled, to draw one plot on; cleared again afterwards, however it ends."""
        self.title.set_text(title)
        try:
            yield self.top, self.bottom
        finally:
            self._clear()

    def save_svg(self, out: Path | BinaryIO) -> None:
        from matplotlib import rc_context

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


def _mark_events(axes: Axes, d: TripDrawing) -> None:
    """The disturbance at t=0, the acceptance window and the trip instant, on one panel."""
    if d.limit_min_s is not None or d.limit_max_s is not None:
        start = d.limit_min_s if d.limit_min_s is not None else 0.0
        stop = d.limit_max_s if d.limit_max_s is not None else (d.span_s[1] if d.span_s else 0.0)
        axes.axvspan(start, stop, color="tab:green", alpha=0.15, lw=0, label="acceptance window")
    axes.axvline(0.0, color="black", lw=1.0, ls="--", label="disturbance (t = 0)")
    if d.trip_instant_s is not None:
        axes.axvline(d.trip_instant_s, color="tab:red", lw=1.5, label=f"trip at {d.trip_instant_s:.3f} s")


def draw_trip(top: Axes, bottom: Axes, d: TripDrawing) -> None:
    """The commanded grid quantity above, the DUT current below, events and limits on both."""
    top.plot(d.commanded.t, d.commanded.y, color="tab:blue", lw=1.2)
    top.set_ylabel(d.quantity_label)
    _mark_events(top, d)

    bottom.plot(d.current.t, d.current.y, color="tab:gray", lw=0.6, alpha=0.5, label="DUT current, instantaneous")
    bottom.plot(d.current_rms.t, d.current_rms.y, color="tab:orange", lw=2.0, label="DUT current, one-cycle fundamental rms")
    bottom.axhline(d.threshold_a, color="tab:purple", lw=1.0, ls=":", label=f"threshold {d.threshold_a:g} A")
    _mark_events(bottom, d)
    bottom.set_ylabel("current (A)")
    bottom.set_xlabel("time from disturbance (s)")
    bottom.legend(loc="upper right", fontsize=8, framealpha=0.9)
    if d.span_s is not None:
        bottom.set_xlim(*d.span_s)


def draw_staircase(top: Axes, bottom: Axes, d: StaircaseDrawing) -> None:
    """A trip-value search: each level held in turn above, the DUT current read after each below."""
    if d.limit_min is not None or d.limit_max is not None:
        low = d.limit_min if d.limit_min is not None else float(np.min(d.level))
        high = d.limit_max if d.limit_max is not None else float(np.max(d.level))
        top.axhspan(low, high, color="tab:green", alpha=0.15, lw=0, label="acceptance window")
    if d.setting is not None:
        top.axhline(d.setting, color="black", lw=1.0, ls="--", label=f"setting {d.setting:g} {d.quantity_unit}")
    top.hlines(d.level, d.start_s, d.end_s, color="tab:blue", lw=2.0, label="level held (measured)")
    tripped = d.current_a < d.threshold_a
    if tripped.any():  # the coarse search's trip, then the fine search's (and any bracketing trips)
        top.hlines(d.level[tripped], d.start_s[tripped], d.end_s[tripped], color="tab:red", lw=3.0,
                   label="level the DUT tripped at")
    if d.trip_value is not None:
        top.axhline(d.trip_value, color="tab:red", lw=1.0, ls="-.",
                    label=f"trip value {d.trip_value:g} {d.quantity_unit} (last held / first tripped, fine search)")
    top.set_ylabel(d.quantity_label)
    top.legend(loc="best", fontsize=8, framealpha=0.9)
    bottom.plot(d.end_s, d.current_a, "o", color="tab:orange", label="DUT current at the end of each level")
    bottom.axhline(d.threshold_a, color="tab:purple", lw=1.0, ls=":", label=f"threshold {d.threshold_a:g} A")
    bottom.set_ylabel("current (A)")
    bottom.set_xlabel("time from the first level (s)")
    bottom.legend(loc="best", fontsize=8, framealpha=0.9)


def draw_svg(d: Drawing, out: Path | BinaryIO, on: Canvas | None = None) -> None:
    """Draw a plot as SVG to a path or an open binary file.

    ``on`` is the canvas to draw on: by default this thread's kept canvas for
    the plot's kind. SVG rather than PNG: vector lines a reviewer can zoom
    into, text that stays text (searchable, no embedded glyph outlines), and
    about half the time to write.
    """
    chosen = on if on is not None else canvas(STAIRCASE_LAYOUT if isinstance(d, StaircaseDrawing) else TRIP_LAYOUT)
    with chosen.panels(d.title) as (top, bottom):
        if isinstance(d, StaircaseDrawing):
            draw_staircase(top, bottom, d)
        else:
            draw_trip(top, bottom, d)
        chosen.save_svg(out)


def svg_bytes(d: Drawing) -> bytes:
    """The SVG document of a plot, as bytes."""
    out = io.BytesIO()
    draw_svg(d, out)
    return out.getvalue()
