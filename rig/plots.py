"""Trip-time plots for the report: what the grid was told to do and when the charger let go.

The report is re-rendered after every case and runs are benchmarked, so a
plot must be cheap: figures are drawn with the Agg renderer directly (no
pyplot, no GUI backend, no global figure list to leak), and long traces are
reduced to a min/max envelope per pixel column before drawing, which looks
identical at the plot's resolution and keeps every peak.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rig.results import StaircasePlot, TripPlot

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


def trip_plot_figure(trace: pd.DataFrame, plot: TripPlot) -> Figure:
    """Two panels on one time axis: the commanded grid quantity above, DUT current below."""
    missing = [column for column in TRACE_COLUMNS if column not in trace.columns]
    if missing:
        raise ValueError(f"trace {plot.trace} lacks column(s) {', '.join(missing)} needed for a trip plot")
    t = trace["t_s"].to_numpy(dtype=float)
    t_end = float(t[-1]) if len(t) else 0.0

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[1, 1.4])
    figure.subplots_adjust(left=0.08, right=0.98, top=0.93, bottom=0.09, hspace=0.08)
    figure.suptitle(plot.title or plot.trace, fontsize=12)

    top.plot(*envelope(t, trace["commanded"].to_numpy(dtype=float)), color="tab:blue", lw=1.2)
    top.set_ylabel(_label(plot))
    _mark_events(top, plot, t_end)

    bottom.plot(*envelope(t, trace["i_a"].to_numpy(dtype=float)), color="tab:gray", lw=0.6, alpha=0.5,
                label="DUT current, instantaneous")
    bottom.plot(*envelope(t, trace["i_rms_a"].to_numpy(dtype=float)), color="tab:orange", lw=2.0,
                label="DUT current, one-cycle rms")
    bottom.axhline(plot.threshold_a, color="tab:purple", lw=1.0, ls=":", label=f"threshold {plot.threshold_a:g} A")
    _mark_events(bottom, plot, t_end)
    bottom.set_ylabel("current (A)")
    bottom.set_xlabel("time from disturbance (s)")
    bottom.legend(loc="upper right", fontsize=8, framealpha=0.9)

    for axes in (top, bottom):
        axes.grid(True, lw=0.4, alpha=0.5)
    if len(t):
        bottom.set_xlim(float(t[0]), t_end)
    return figure


STAIRCASE_COLUMNS = ["applied_s", "read_s", "level", "measured_level", "current_a"]
"""The columns a staircase trace must have (see ``rig.results.StaircasePlot``)."""


def staircase_figure(trace: pd.DataFrame, plot: StaircasePlot) -> Figure:
    """A trip-value search: each level held in turn above, the DUT current read after each below."""
    missing = [column for column in STAIRCASE_COLUMNS if column not in trace.columns]
    if missing:
        raise ValueError(f"trace {plot.trace} lacks column(s) {', '.join(missing)} needed for a staircase plot")
    t0 = float(trace["applied_s"].iloc[0]) if len(trace) else 0.0
    start = trace["applied_s"].to_numpy(dtype=float) - t0
    end = trace["read_s"].to_numpy(dtype=float) - t0
    level = trace["measured_level"].to_numpy(dtype=float)
    current = trace["current_a"].to_numpy(dtype=float)

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN * 0.8), dpi=DPI)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[1.4, 1])
    figure.subplots_adjust(left=0.08, right=0.98, top=0.92, bottom=0.1, hspace=0.08)
    figure.suptitle(plot.title or plot.trace, fontsize=12)
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
    for axes in (top, bottom):
        axes.grid(True, lw=0.4, alpha=0.5)
    return figure


def draw_plot(trace_df: pd.DataFrame, plot: TripPlot | StaircasePlot, out: Path | BinaryIO) -> None:
    """Draw whichever kind of plot a case asked for."""
    if isinstance(plot, StaircasePlot):
        _save_svg(staircase_figure(trace_df, plot), out)
    else:
        draw_trip_plot(trace_df, plot, out)


def plot_columns(plot: TripPlot | StaircasePlot) -> list[str]:
    return STAIRCASE_COLUMNS if isinstance(plot, StaircasePlot) else TRACE_COLUMNS


def draw_trip_plot(trace_df: pd.DataFrame, plot: TripPlot, out: Path | BinaryIO) -> None:
    """Draw a trip plot as SVG to a path or to an open binary file (e.g. an atomic evidence write).

    SVG rather than PNG: vector lines a reviewer can zoom into, text that stays
    text (searchable, no embedded glyph outlines), and about half the time to
    write, which matters because the run is benchmarked with its report.
    """
    _save_svg(trip_plot_figure(trace_df, plot), out)


def _save_svg(figure: Figure, out: Path | BinaryIO) -> None:
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "v2g-rig"}):
        figure.savefig(out, format="svg", metadata={"Date": None})
