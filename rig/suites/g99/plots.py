"""The G99 suite's plots: a trip plot of each capture, a staircase plot of each trip-value search.

What each shows is computed in the rig (``trip_drawing``, ``staircase_drawing``:
numpy only, long lines reduced to their envelope); the drawing draws itself
with matplotlib in the plot worker (``rig.evidence.plot_worker``), so this module
imports matplotlib only where it draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rig.evidence.plot_canvas import HEIGHT_IN, CanvasLayout, Line, PlotKind, PlotOptions, Trace, column, envelope

if TYPE_CHECKING:
    from matplotlib.axes import Axes

TRIP_LAYOUT = CanvasLayout(HEIGHT_IN, (1.0, 1.4), top=0.93, bottom=0.09)
STAIRCASE_LAYOUT = CanvasLayout(HEIGHT_IN * 0.8, (1.4, 1.0), top=0.92, bottom=0.1, left=0.1)
"""Wider on the left than the trip plot: a level held and read back (an operating-range hold) has tick labels
of its read-back noise (-0.0015 under a +47.1 offset) beside its label."""



class _CurrentOptions(PlotOptions):
    """What both G99 plots share: the grid quantity played and the current threshold of a trip."""

    quantity: str = "commanded"
    """The grid quantity played (the panel's label)."""
    quantity_unit: str = ""
    threshold_a: float
    """The current below which the charger counts as tripped."""


class TripOptions(_CurrentOptions):
    trip_instant_s: float | None = None
    limit_min_s: float | None = None
    limit_max_s: float | None = None
    """The acceptance window, placed on the capture's axis."""
    phase_jump_s: float | None = None
    phase_jump_deg: float | None = None
    """A vector shift: when the phase jumps, and by how much."""


class StaircaseOptions(_CurrentOptions):
    setting: float | None = None
    trip_value: float | None = None
    limit_min: float | None = None
    limit_max: float | None = None


def _label(options: _CurrentOptions) -> str:
    return f"{options.quantity} ({options.quantity_unit})" if options.quantity_unit else options.quantity


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
    phase_jump: tuple[float, float] | None = None
    """(instant, degrees) of a vector shift in the program, drawn where it happens."""

    layout = TRIP_LAYOUT

    def draw(self, top: Axes, bottom: Axes) -> None:
        draw_trip(top, bottom, self)


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

    layout = STAIRCASE_LAYOUT

    def draw(self, top: Axes, bottom: Axes) -> None:
        draw_staircase(top, bottom, self)


def trip_drawing(trace: Trace, title: str, options: TripOptions) -> TripDrawing:
    """A capture around a disturbance: columns t_s, i_a, i_rms_a, commanded (see ``TRIP``)."""
    t = column(trace, "t_s")
    jump_s, jump_deg = options.phase_jump_s, options.phase_jump_deg
    return TripDrawing(title, _label(options), Line(*envelope(t, column(trace, "commanded"))),
                       Line(*envelope(t, column(trace, "i_a"))), Line(*envelope(t, column(trace, "i_rms_a"))),
                       (float(t[0]), float(t[-1])) if len(t) else None, options.threshold_a,
                       options.trip_instant_s, options.limit_min_s, options.limit_max_s,
                       None if jump_s is None or jump_deg is None else (jump_s, jump_deg))


def staircase_drawing(trace: Trace, title: str, options: StaircaseOptions) -> StaircaseDrawing:
    """A trip-value search: one row per level held (see ``STAIRCASE``)."""
    applied = column(trace, "applied_s")
    t0 = float(applied[0]) if len(applied) else 0.0
    return StaircaseDrawing(title, _label(options), options.quantity_unit, applied - t0,
                            column(trace, "read_s") - t0, column(trace, "measured_level"), column(trace, "current_a"),
                            options.threshold_a, options.setting, options.trip_value, options.limit_min,
                            options.limit_max)


TRIP = PlotKind(columns=("t_s", "i_a", "i_rms_a", "commanded"), drawing=trip_drawing, options=TripOptions)
"""A trip plot. Its trace: ``t_s`` (s from the disturbance), ``i_a`` (DUT current), ``i_rms_a`` (one-cycle
fundamental rms), ``commanded`` (the grid quantity the simulator was told to play). Options: ``quantity``,
``quantity_unit``, ``threshold_a``, ``trip_instant_s``, ``limit_min_s``, ``limit_max_s``, and for a vector
shift ``phase_jump_s`` and ``phase_jump_deg``."""

STAIRCASE = PlotKind(columns=("applied_s", "read_s", "level", "measured_level", "current_a"),
                     drawing=staircase_drawing, options=StaircaseOptions)
"""A staircase plot. Its trace: one row per level, ``applied_s`` and ``read_s`` (bench time the level was set
and the current read), ``level`` (commanded), ``measured_level`` (read back), ``current_a`` (DUT current at the
end of the dwell). Options: ``quantity``, ``quantity_unit``, ``threshold_a``, ``setting``, ``trip_value``,
``limit_min``, ``limit_max``."""


def _mark_events(axes: Axes, d: TripDrawing) -> None:
    """The disturbance at t=0, the acceptance window and the trip instant, on one panel."""
    if d.limit_min_s is not None or d.limit_max_s is not None:
        start = d.limit_min_s if d.limit_min_s is not None else 0.0
        stop = d.limit_max_s if d.limit_max_s is not None else (d.span_s[1] if d.span_s else 0.0)
        axes.axvspan(start, stop, color="tab:green", alpha=0.15, lw=0, label="acceptance window")
    axes.axvline(0.0, color="black", lw=1.0, ls="--", label="disturbance (t = 0)")
    if d.trip_instant_s is not None:
        axes.axvline(d.trip_instant_s, color="tab:red", lw=1.5, label=f"trip at {d.trip_instant_s:.3f} s")
    if d.phase_jump is not None:
        axes.axvline(d.phase_jump[0], color="tab:purple", lw=1.2, ls="-.",
                     label=f"phase step {d.phase_jump[1]:+g} deg at {d.phase_jump[0]:g} s")


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
    top.ticklabel_format(axis="y", useOffset=False)  # 47.1 Hz read as itself, not as +4.71e1 and a difference
    top.legend(loc="best", fontsize=8, framealpha=0.9)
    bottom.plot(d.end_s, d.current_a, "o", color="tab:orange", label="DUT current at the end of each level")
    bottom.axhline(d.threshold_a, color="tab:purple", lw=1.0, ls=":", label=f"threshold {d.threshold_a:g} A")
    bottom.set_ylabel("current (A)")
    bottom.set_xlabel("time from the first level (s)")
    bottom.legend(loc="best", fontsize=8, framealpha=0.9)


