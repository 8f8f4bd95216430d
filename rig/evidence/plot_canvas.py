"""Plots for the report: the machinery every suite's plot kinds share.

A plot is made in two steps, so that the costly one can run in another process:

1. a suite's plot kind (``rig.suites.platform.PlotKind``) turns a trace (as read from
   the evidence) and its plot record into what the plot shows (a ``Drawing``):
   plain numbers, long lines reduced to a min/max envelope per pixel column
   (``envelope``), which looks identical at the plot's resolution and keeps
   every peak. Cheap numpy work, done by the run itself.
2. ``draw_svg(drawing, out)``: the drawing draws itself with matplotlib, tens
   of milliseconds a plot. During a run the plot worker does this
   (``rig.evidence.plot_worker``); it imports this module, the drawing's own module and
   matplotlib, and neither pyarrow nor pydantic, which is why those (like
   matplotlib here) are imported only by the functions that need them.

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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Trace = Mapping[str, npt.ArrayLike]
"""A trace's columns by name: what ``read_trace`` gives (a pandas DataFrame also fits)."""

WIDTH_IN, HEIGHT_IN, DPI = 10.0, 6.0, 100
RASTER_DPI = 120
"""The PDF's plots: 1200 pixels across a page of about 180 mm, sharp on paper and at 150 % on screen."""
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


class Drawing(Protocol):
    """What a plot shows, ready to draw: made in the rig, drawn (perhaps in the plot worker) by itself.

    Each suite's drawings are frozen dataclasses of plain numbers, so they
    pickle to the worker cheaply; unpickling imports their module, which is
    how the worker finds the code that draws them.
    """

    @property
    def title(self) -> str: ...

    @property
    def layout(self) -> CanvasLayout: ...

    def draw(self, top: Axes, bottom: Axes) -> None: ...


class PlotOptions(BaseModel):
    """What a plot kind reads beyond its trace (thresholds, the judged instant, the acceptance window), one model
    per kind: a procedure builds it, so a misspelt or mistyped option fails where the plot is asked for, not in
    the plot worker; the record keeps it as JSON (the options the procedure set)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class PlotKind:
    """How a trace of one kind becomes a picture: the columns it reads, its options, and what it shows.

    ``drawing`` is cheap (numpy) and runs in the rig; the drawing it returns
    draws itself with matplotlib, in the plot worker (``rig.evidence.plot_worker``).
    """

    columns: tuple[str, ...]
    drawing: Callable[[Trace, str, Any], Drawing]
    """(trace columns, title, the kind's ``options`` read from the plot record) -> what the plot shows."""
    options: type[PlotOptions]


def column(trace: Trace, name: str) -> np.ndarray:
    """A trace column as floats."""
    return np.asarray(trace[name], dtype=float)


def read_trace(path: Path, columns: Sequence[str]) -> dict[str, np.ndarray]:
    """The named columns of a trace file (those it lacks are left out, for the plot kind to name)."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as file:
        present = [name for name in columns if name in file.schema_arrow.names]
        table = file.read(columns=present)
    return {name: table.column(name).to_numpy() for name in present}




@dataclass(frozen=True)
class CanvasLayout:
    """The height of a plot kind's figure and how its two panels share it (fractions of the figure)."""

    height_in: float
    height_ratios: tuple[float, float]
    top: float
    bottom: float
    left: float = 0.08
    """Room for the y labels: a kind with long tick labels (the CHAdeMO timeline's lanes) needs more."""
    right: float = 0.98
    """Room on the right: a kind with a second y axis (its ticks and label) needs more."""



class Canvas:
    """A figure with two panels on one time axis, kept from one plot to the next.

    Making a figure costs more than drawing one: matplotlib builds every
    axes, spine and tick (five artists per tick) afresh for each new figure,
    about half of a plot's time. A canvas builds them once. Each plot adds
    its own artists inside ``panels()``, which then takes exactly those
    away and returns limits, labels and title to the state of a new canvas,
    so a plot's bytes depend on its trace and record only, never on the
    plots drawn before it (``tests/evidence/test_plots.py`` holds that to the byte).
    """

    def __init__(self, layout: CanvasLayout) -> None:
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(WIDTH_IN, layout.height_in), dpi=DPI)
        self.top, self.bottom = self.figure.subplots(2, 1, sharex=True, height_ratios=list(layout.height_ratios))
        self.figure.subplots_adjust(left=layout.left, right=layout.right, top=layout.top, bottom=layout.bottom, hspace=0.08)
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

    def save_jpeg(self, out: Path | BinaryIO) -> None:
        """The same figure as a picture for the PDF report. A PDF renderer draws an SVG plot's hundreds of
        elements a hundred times slower than it places a picture, and a PNG it decodes and compresses again
        (twice, colour and alpha); a JPEG goes into the PDF as it is. Full colour resolution (no chroma
        subsampling) and high quality keep thin coloured lines and small text clean. The bytes depend on
        the drawing only."""
        self.figure.savefig(out, format="jpeg", dpi=RASTER_DPI, pil_kwargs={"quality": 92, "subsampling": 0})

    def _clear(self) -> None:
        self.title.set_text("")
        for axes in list(self.figure.axes):
            if axes is not self.top and axes is not self.bottom:
                axes.remove()  # a plot's own axes (a twin for a second unit) leave with it, lines and all
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
            axes.set_prop_cycle(None)  # the next plot's first unstyled line takes the first colour again


_canvases = threading.local()
"""Each thread's canvases by layout (matplotlib figures are not to be shared between threads)."""


def canvas(layout: CanvasLayout) -> Canvas:
    """This thread's canvas for ``layout``, made on first use."""
    kept: dict[CanvasLayout, Canvas] = _canvases.__dict__.setdefault("by_layout", {})
    if layout not in kept:
        kept[layout] = Canvas(layout)
    return kept[layout]


def draw_svg(d: Drawing, out: Path | BinaryIO, on: Canvas | None = None) -> None:
    """Draw a plot as SVG to a path or an open binary file.

    ``on`` is the canvas to draw on: by default this thread's kept canvas for
    the plot's kind. SVG rather than PNG: vector lines a reviewer can zoom
    into, text that stays text (searchable, no embedded glyph outlines), and
    about half the time to write.
    """
    chosen = on if on is not None else canvas(d.layout)
    with chosen.panels(d.title) as (top, bottom):
        d.draw(top, bottom)
        chosen.save_svg(out)


@dataclass(frozen=True)
class PlotFiles:
    """One plot drawn once, written twice: SVG for the HTML report and the evidence, JPEG for the PDF."""

    svg: bytes
    jpeg: bytes


def draw_files(d: Drawing, on: Canvas | None = None) -> PlotFiles:
    """Draw a plot once and write it as SVG and JPEG (the drawing is most of a plot's cost)."""
    chosen = on if on is not None else canvas(d.layout)
    svg, jpeg = io.BytesIO(), io.BytesIO()
    with chosen.panels(d.title) as (top, bottom):
        d.draw(top, bottom)
        chosen.save_svg(svg)
        chosen.save_jpeg(jpeg)
    return PlotFiles(svg.getvalue(), jpeg.getvalue())


def svg_bytes(d: Drawing) -> bytes:
    """The SVG document of a plot, as bytes."""
    out = io.BytesIO()
    draw_svg(d, out)
    return out.getvalue()
