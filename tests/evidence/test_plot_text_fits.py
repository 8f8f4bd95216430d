"""No plot clips its text: every label, tick label, title and legend of a drawing lies inside its figure (the
CHAdeMO timeline's lane labels were cut off at the left), and a session timeline's axis is its own session."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from rig.evidence.plot_canvas import Canvas, Drawing
from rig.suites.chademo.plots import TIMELINE, TimelineOptions, timeline_drawing
from rig.suites.chademo.procedures import TIMELINE_COLUMNS


def clipped_texts(drawing: Drawing) -> list[str]:
    canvas = Canvas(drawing.layout)
    renderer = FigureCanvasAgg(canvas.figure).get_renderer()
    outside = []
    with canvas.panels(drawing.title) as (top, bottom):
        drawing.draw(top, bottom)
        canvas.figure.draw(renderer)
        frame = canvas.figure.bbox
        hidden = set()  # labels of ticks outside their axis' view: matplotlib keeps them but does not draw them
        for axes in canvas.figure.axes:
            for axis in (axes.xaxis, axes.yaxis):
                low, high = sorted(axis.get_view_interval())
                for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                    if not low - 1e-9 <= tick.get_loc() <= high + 1e-9:
                        hidden.update({id(tick.label1), id(tick.label2)})
        for text in canvas.figure.findobj(Text):
            if not text.get_visible() or not text.get_text().strip() or id(text) in hidden:
                continue
            box = text.get_window_extent(renderer)
            if box.x0 < frame.x0 - 0.5 or box.x1 > frame.x1 + 0.5 or box.y0 < frame.y0 - 0.5 or box.y1 > frame.y1 + 0.5:
                outside.append(text.get_text())
    return outside


def session_trace(start_s: float = 300.0) -> dict[str, np.ndarray]:
    t = start_s + np.arange(0.0, 30.0, 0.1)
    frame = pd.DataFrame({name: np.zeros_like(t) for name in TIMELINE_COLUMNS})
    frame["t_s"], frame["request_a"], frame["measured_a"] = t, 20.0, 19.8
    frame["present_v"], frame["d1"], frame["charging"] = 380.0, 1.0, (t > start_s + 5).astype(float)
    return {name: frame[name].to_numpy() for name in TIMELINE.columns}


def test_the_chademo_timeline_clips_no_text_and_spans_its_own_session() -> None:
    drawing = timeline_drawing(session_trace(), "chademo.charge.normal@leaf-40",
                               TimelineOptions(injected_at_s=310.0, reaction_end_s=311.2))
    assert clipped_texts(drawing) == []
    canvas = Canvas(drawing.layout)
    with canvas.panels(drawing.title) as (top, bottom):
        drawing.draw(top, bottom)
        assert bottom.get_xlim() == (300.0, 329.9)
