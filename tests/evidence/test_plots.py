"""Plots: the same trace gives the same SVG bytes, on a kept canvas or a new one, in the worker or here;
a run's plots are drawn by its worker, and every way it can end leaves every plot in the record."""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rig.evidence.report
from campaign_helpers import COMPLIANT, PROTECTION_PLAN, SIM_BENCH, run_cases
from rig.run.engine import CampaignRun, RunRequest, prepare
from rig.evidence.recorder import RunRecorder, read_manifest
from rig.evidence.plot_worker import PlotWorker
from rig.evidence.plot_canvas import Canvas, draw_svg, svg_bytes
from rig.suites.chademo.plots import LANES, TimelineDrawing
from rig.evidence.report import plot_relpath, read_drawing
from rig.core.results import PlotRecord
from rig.evidence.verify import verify_run
from test_evidence import record_trip_case, run_info

pytestmark = pytest.mark.e2e  # end-to-end runs: not in the fast layer (-m 'not e2e')

SHORT = ["g99.ov2.trip_value", "g99.ov2.trip_time", "g99.ov2.no_trip.277_7v"]


def staircase_case(recorder: RunRecorder, case_id: str, *, trips: bool) -> PlotRecord:
    """A trip-value search of five levels, the last one tripping the charger when ``trips``."""
    rows = [{"applied_s": 10.0 + 1.5 * k, "read_s": 11.4 + 1.5 * k, "level": 258.2 + 0.5 * k,
             "measured_level": 258.21 + 0.5 * k, "current_a": 0.0 if trips and k == 4 else 26.0 - 0.1 * k}
            for k in range(5)]
    trace = recorder.write_trace(case_id, "staircase", pd.DataFrame(rows))
    return PlotRecord(kind="g99.staircase", trace=trace, title=case_id, options={
        "quantity": "voltage", "quantity_unit": "V", "threshold_a": 1.5, "setting": 262.2,
        "trip_value": 260.21 if trips else None, "limit_min": 261.0, "limit_max": 263.4})


def plots_of_every_shape(tmp_path: Path) -> tuple[Path, list[PlotRecord]]:
    """Trip plots with and without a trip, staircases with and without one, as a run records them."""
    recorder = RunRecorder.create(tmp_path / "run", run_info())
    plots: list[PlotRecord] = []
    for case_id, trip_s in [("g99.ov2.trip_time", 0.52), ("g99.uv.no_trip", None), ("g99.of.trip_time", 0.1)]:
        case = record_trip_case(recorder, case_id, trip_s=trip_s)
        assert case.plot is not None
        plots.append(case.plot)
    plots += [staircase_case(recorder, "g99.ov1.trip_value", trips=True),
              staircase_case(recorder, "g99.uv.trip_value", trips=False)]
    return recorder.run_dir, plots


def test_a_plot_drawn_on_a_kept_canvas_is_byte_for_byte_the_plot_drawn_on_a_new_one(tmp_path: Path) -> None:
    run_dir, plots = plots_of_every_shape(tmp_path)
    kept = [svg_bytes(read_drawing(run_dir / plot.trace, plot)) for plot in plots * 2]
    for plot, drawn_after_others in zip(plots * 2, kept):
        drawn = read_drawing(run_dir / plot.trace, plot)
        draw_svg(drawn, tmp_path / "fresh.svg", on=Canvas(drawn.layout))
        assert drawn_after_others == (tmp_path / "fresh.svg").read_bytes(), plot.title
    assert len(set(kept)) == len(plots)  # and the plots do differ from one another


def chademo_timeline(title: str, volts: float, lanes_on: int) -> TimelineDrawing:
    """A session timeline: its own voltage axis (a twin) and coloured lanes, the two things a canvas must forget."""
    t = np.arange(0.0, 12.0, 0.1)
    lanes = tuple((label, (t > 1.0 + index).astype(float) if index < lanes_on else np.zeros_like(t))
                  for index, (_name, label) in enumerate(LANES))
    ramp = np.clip(t - 2.0, 0.0, 5.0) * 10.0
    return TimelineDrawing(title, t, ramp, ramp + 0.2, ramp, np.zeros_like(t), np.full_like(t, volts), lanes,
                           injected_at_s=None, reaction_end_s=None)


def test_a_plot_with_its_own_axes_leaves_none_of_them_on_the_kept_canvas(tmp_path: Path) -> None:
    """Found in a run: each CHAdeMO timeline kept the previous one's voltage axis, line and all, and its lanes took
    the colours the previous lanes had left off; every session's plot showed the sessions before it."""
    run_dir, plots = plots_of_every_shape(tmp_path)
    drawings = [chademo_timeline("first", 380.0, 9), read_drawing(run_dir / plots[0].trace, plots[0]),
                chademo_timeline("second", 250.0, 4)]
    kept = [svg_bytes(drawing) for drawing in drawings * 2]
    for drawing, drawn_after_others in zip(drawings * 2, kept):
        fresh = Canvas(drawing.layout)
        draw_svg(drawing, tmp_path / "fresh.svg", on=fresh)
        assert drawn_after_others == (tmp_path / "fresh.svg").read_bytes(), drawing.title
        assert fresh.figure.axes == [fresh.top, fresh.bottom]


def test_a_trace_without_a_column_a_plot_needs_is_refused_by_name(tmp_path: Path) -> None:
    run_dir, plots = plots_of_every_shape(tmp_path)
    trace = pd.read_parquet(run_dir / plots[0].trace, columns=["t_s", "i_a"])
    trace.to_parquet(tmp_path / "short.parquet")
    with pytest.raises(ValueError, match=r"lacks column\(s\) i_rms_a, commanded needed for a g99.trip_time plot"):
        read_drawing(tmp_path / "short.parquet", plots[0])


def test_a_drawing_that_fails_leaves_its_canvas_clean(tmp_path: Path) -> None:
    run_dir, plots = plots_of_every_shape(tmp_path)
    good = read_drawing(run_dir / plots[0].trace, plots[0])
    before = svg_bytes(good)
    broken = dataclasses.replace(good, span_s=(0.0, float("nan")))
    with pytest.raises(ValueError):
        svg_bytes(broken)
    assert svg_bytes(good) == before


def test_the_worker_draws_the_same_bytes_as_this_process(tmp_path: Path) -> None:
    run_dir, plots = plots_of_every_shape(tmp_path)
    worker = PlotWorker.start()
    assert worker is not None
    try:
        for plot in plots:
            assert worker.submit(plot.title or "", read_drawing(run_dir / plot.trace, plot))
        answers = {}
        while worker.outstanding:
            answers.update({a.case_id: a.svg for a in worker.answers(timeout_s=60.0)})
    finally:
        worker.close()
    assert answers == {plot.title: svg_bytes(read_drawing(run_dir / plot.trace, plot)) for plot in plots}


def test_many_large_jobs_sent_before_any_answer_is_read_do_not_wedge_rig_and_worker(tmp_path: Path) -> None:
    """Jobs and answers each outgrow a pipe's buffer: neither side may wait on the other's write."""
    run_dir, plots = plots_of_every_shape(tmp_path)
    big = read_drawing(run_dir / plots[0].trace, plots[0])
    worker = PlotWorker.start()
    assert worker is not None
    sent = threading.Thread(target=lambda: [worker.submit(f"job {k}", big) for k in range(24)], daemon=True)
    try:
        sent.start()
        sent.join(timeout=120.0)
        assert not sent.is_alive(), "the rig could not send its jobs: the worker stopped reading them"
        answers = []
        while worker.outstanding:
            answers += worker.answers(timeout_s=60.0)
    finally:
        worker.close()
    assert len(answers) == 24 and all(a.svg == answers[0].svg for a in answers)


def test_the_worker_answers_none_for_a_drawing_it_cannot_draw_and_goes_on(tmp_path: Path) -> None:
    run_dir, plots = plots_of_every_shape(tmp_path)
    good = read_drawing(run_dir / plots[1].trace, plots[1])
    worker = PlotWorker.start()
    assert worker is not None
    try:
        worker.submit("broken", dataclasses.replace(good, span_s=(0.0, float("nan"))))
        worker.submit("fine", good)
        answers = {}
        while worker.outstanding:
            answers.update({a.case_id: a.svg for a in worker.answers(timeout_s=60.0)})
    finally:
        worker.close()
    assert answers["broken"] is None and answers["fine"] == svg_bytes(good)


def test_the_worker_is_out_of_reach_of_a_terminal_ctrl_c(tmp_path: Path) -> None:
    """Its own process group (a terminal's Ctrl-C goes to the rig's), and SIGINT ignored besides."""
    run_dir, plots = plots_of_every_shape(tmp_path)
    worker = PlotWorker.start()
    assert worker is not None
    try:
        pid = worker._process.pid
        assert os.getpgid(pid) != os.getpgid(0)
        worker.submit("first", read_drawing(run_dir / plots[0].trace, plots[0]))
        while worker.outstanding:  # answered: its imports are done and its handler is set
            worker.answers(timeout_s=60.0)
        os.kill(pid, signal.SIGINT)
        worker.submit("after Ctrl-C", read_drawing(run_dir / plots[1].trace, plots[1]))
        answers = worker.answers(timeout_s=60.0)
        assert [a.case_id for a in answers] == ["after Ctrl-C"] and answers[0].svg is not None
    finally:
        worker.close()
    assert worker._process.returncode is not None  # closed means gone


def test_the_worker_imports_the_rig_this_process_runs_not_one_in_its_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir, plots = plots_of_every_shape(tmp_path)
    impostor = tmp_path / "elsewhere" / "rig"
    impostor.mkdir(parents=True)
    (impostor / "__init__.py").write_text('raise ImportError("not the rig that started the worker")\n')
    monkeypatch.chdir(impostor.parent)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    worker = PlotWorker.start()
    assert worker is not None
    try:
        worker.submit("here", read_drawing(run_dir / plots[0].trace, plots[0]))
        answers = worker.answers(timeout_s=60.0)
    finally:
        worker.close()
    assert [a.case_id for a in answers] == ["here"] and answers[0].svg is not None


def _plots_in_record(run_dir: Path, cases: list[str]) -> None:
    listed = read_manifest(run_dir).files
    for case_id in cases:
        assert plot_relpath(case_id) in listed, case_id
    assert "report.html" in listed
    check = verify_run(run_dir)
    assert check.ok and check.sealed


def test_a_run_draws_its_plots_in_its_worker_not_in_its_own_process(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    drawn_here: list[str] = []
    monkeypatch.setattr(rig.evidence.report, "draw_files", lambda d: drawn_here.append(d.title))
    recorder = run_cases(tmp_path / "run", ids=SHORT).recorder
    assert drawn_here == []
    monkeypatch.undo()
    assert recorder is not None
    _plots_in_record(recorder.run_dir, SHORT)
    svg = (recorder.run_dir / plot_relpath(SHORT[1])).read_bytes()
    case = recorder.results.cases[1]
    assert case.plot is not None
    assert svg == svg_bytes(read_drawing(recorder.run_dir / case.plot.trace, case.plot))


def test_without_a_worker_the_report_draws_every_plot_as_the_run_closes(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PlotWorker, "start", classmethod(lambda cls: None))
    recorder = run_cases(tmp_path / "run", ids=SHORT).recorder
    assert recorder is not None
    _plots_in_record(recorder.run_dir, SHORT)


def test_a_worker_that_dies_mid_run_leaves_its_plots_to_the_report(tmp_path: Path) -> None:
    prepared = prepare(RunRequest([PROTECTION_PLAN], SIM_BENCH, COMPLIANT, tmp_path / "run"))
    cases = [c for c in prepared.cases if c.case.id in SHORT]
    run = CampaignRun(dataclasses.replace(prepared, cases=cases))
    with run:
        run.run_case(cases[0])
        worker = run._plots._worker
        assert worker is not None
        worker._process.kill()
        worker._process.wait()
        for loaded in cases[1:]:
            run.run_case(loaded)
    assert run.recorder is not None
    assert run.recorder.results.run.status == "complete"
    _plots_in_record(run.recorder.run_dir, SHORT)


def test_each_plot_kind_has_its_own_options_and_refuses_a_misspelt_one() -> None:
    """Options are typed per kind: a misspelt or mistyped option fails where the plot is asked for, not later in
    the plot worker; a record's options are read back into the kind's model."""
    from pydantic import ValidationError

    from rig.evidence.report import plot_kind
    from rig.suites import REGISTRY, SUITES
    from rig.suites.g99.plots import TripOptions

    kinds = {name: kind for suite in REGISTRY for name, kind in SUITES[suite].plot_kinds.items()}
    assert len({kind.options for kind in kinds.values()}) == len(kinds)  # one model per kind
    with pytest.raises(ValidationError, match="trip_instnat_s"):
        TripOptions(threshold_a=1.5, trip_instnat_s=0.2)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="threshold_a"):
        TripOptions(threshold_a="a lot")  # type: ignore[arg-type]
    assert plot_kind("g99.trip_time").options.model_validate({"threshold_a": 1.5}).trip_instant_s is None
