"""No plot clips its text: every label, tick label, title and legend of a drawing lies inside its figure (the
CHAdeMO timeline's lane labels were cut off at the left; a G99 operating-range hold's and a G100 sensor-loss
plot's axis labels were too), for every plot kind a suite registers and every figure a suite's report draws,
each drawn from realistic samples (``plot_samples``); and a session timeline's axis is its own session."""

from __future__ import annotations

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from plot_samples import KIND_SAMPLES, REPORT_CASES, chademo_session
from rig.evidence.plot_canvas import Canvas, Drawing, PlotKind
from rig.suites import SUITES
from rig.suites.chademo.plots import TimelineOptions, timeline_drawing


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


def registered_kinds() -> dict[str, PlotKind]:
    """Every plot kind every registered suite draws, by its (global) name."""
    return {name: kind for suite in SUITES.values() for name, kind in suite.plot_kinds.items()}


def drawing_suites() -> list[str]:
    """The suites whose report hook is more than summary tables (``tables_only``), so may draw figures."""
    return [name for name, suite in SUITES.items()
            if suite.report is not None and not suite.report.__qualname__.startswith("tables_only.")]


def test_every_registered_kind_and_report_hook_has_samples_and_no_sample_is_stale() -> None:
    kinds, suites = set(registered_kinds()), set(drawing_suites())
    assert sorted(kinds - set(KIND_SAMPLES)) == [], "plot kinds without samples in tests/evidence/plot_samples.py"
    assert sorted(set(KIND_SAMPLES) - kinds) == [], "samples of plot kinds no suite registers"
    assert sorted(suites - set(REPORT_CASES)) == [], "suite reports that may draw figures, without sample cases"
    assert sorted(set(REPORT_CASES) - suites) == [], "sample cases of suites whose report draws no figure"


@pytest.mark.parametrize("name", sorted(registered_kinds()))
def test_no_plot_of_a_registered_kind_clips_its_text(name: str) -> None:
    assert name in KIND_SAMPLES, f"plot kind {name} has no samples: add them to tests/evidence/plot_samples.py"
    kind = registered_kinds()[name]
    samples = KIND_SAMPLES[name]()
    assert samples
    clipped = {sample.title: texts for sample in samples if (texts := clipped_texts(sample.drawing(kind)))}
    assert clipped == {}


@pytest.mark.parametrize("suite", drawing_suites())
def test_no_figure_a_suite_report_draws_clips_its_text(suite: str) -> None:
    assert suite in REPORT_CASES, (f"suite {suite}'s report may draw figures and has no sample cases: add them to "
                                   "tests/evidence/plot_samples.py")
    report = SUITES[suite].report
    assert report is not None
    section = report(REPORT_CASES[suite]())
    assert section is not None and section.figures, "the sample cases draw no figure"
    clipped = {figure.name: texts for figure in section.figures if (texts := clipped_texts(figure.drawing))}
    assert clipped == {}


def test_the_chademo_timeline_clips_no_text_and_spans_its_own_session() -> None:
    drawing = timeline_drawing(chademo_session(300.0), "chademo.charge.normal@leaf-40",
                               TimelineOptions(injected_at_s=310.0, reaction_end_s=311.2))
    assert clipped_texts(drawing) == []
    canvas = Canvas(drawing.layout)
    with canvas.panels(drawing.title) as (top, bottom):
        drawing.draw(top, bottom)
        assert bottom.get_xlim() == (300.0, 329.9)
