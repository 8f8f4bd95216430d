"""The report is rendered from the evidence on disk, draws each trip plot once, and is in the manifest."""

from __future__ import annotations

import base64
import re

from pathlib import Path

import numpy as np
import pytest

import rig.evidence.report
from rig.evidence.recorder import RunRecorder, read_manifest
from rig.evidence.plot_canvas import Canvas, draw_files, draw_svg, envelope
from rig.suites.g99.plots import TRIP_LAYOUT, TripDrawing, TripOptions, trip_drawing
from rig.evidence.report import format_limit, format_setting, render_report
from rig.core.results import InstrumentIdentity, Limit
from rig.evidence.verify import verify_run
from test_evidence import record_trip_case, run_info, trip_trace

CASES = ["g99.ov2.trip_time", "g99.uv1.trip_time"]


def start_run(run_dir: Path) -> RunRecorder:
    """A G99 run with a passing and a failing trip, and a CHAdeMO case that errored."""
    info = run_info().model_copy(
        update={
            "plans": ["test_plans/g99/protection.yaml"],
            "instruments": [
                InstrumentIdentity(
                    role="grid",
                    driver="chroma_61800",
                    address="TCPIP::127.0.0.1::5025::SOCKET",
                    idn="Chroma,61830,SIM0001,1.00",
                    calibration_due="2026-06-30",
                )
            ],
        }
    )
    recorder = RunRecorder.create(run_dir, info)
    record_trip_case(recorder, CASES[0])
    record_trip_case(recorder, CASES[1], trip_s=0.61, verdict="fail")
    return recorder


def record_error_case(recorder: RunRecorder) -> None:
    case = recorder.results.cases[0].model_copy(
        update={
            "id": "chademo.v2h.start",
            "suite": "chademo",
            "verdict": "error",
            "measured": {"trip_time_s": None},
            "plot": None,
            "traces": [],
            "error": "vehicle: 'CAN 0x102': no answer within 0.5 s",
        }
    )
    recorder.record_case(case)


def test_a_finished_run_renders_from_disk_alone(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    recorder = start_run(run_dir)
    record_error_case(recorder)
    recorder.finish("complete", None, sim_seconds=4.0, wall_seconds=0.25)
    del recorder

    report = render_report(run_dir)

    html = report.read_text()
    assert report == run_dir / "report.html"
    for case_id in [*CASES, "chademo.v2h.start"]:
        assert case_id in html
    for verdict in ("pass", "fail", "error"):
        assert f'class="verdict {verdict}"' in html
    assert "no answer within 0.5 s" in html
    assert "COMPLETE" in html and "INCOMPLETE" not in html
    assert "262.2 V, 1.0 s" in html
    assert "trip_time_s: 0.61 s" in html
    assert "0.45..0.55 s" in html
    assert "Chroma,61830,SIM0001,1.00" in html and "2026-06-30" in html
    assert "rig verify &lt;run dir&gt;" in html
    for case_id in CASES:
        svg = run_dir / "plots" / f"{case_id}.svg"
        assert b"<svg" in svg.read_bytes()[:500]
        assert f'data-file="plots/{case_id}.svg"' in html  # inline (a data URI), its file named beside it
        assert base64.b64encode((run_dir / "plots" / f"{case_id}.svg").read_bytes()).decode() in html
    assert not (run_dir / "plots" / "chademo.v2h.start.svg").exists()
    assert re.findall(r'src="(?!data:)', html) == [] and "<link" not in html  # one file: opens offline
    assert f'href="traces/{CASES[0]}/capture.parquet"' in html

    manifest = read_manifest(run_dir).files
    assert {"report.html", f"plots/{CASES[0]}.svg", f"plots/{CASES[1]}.svg"} <= manifest.keys()
    assert verify_run(run_dir).ok


def test_a_run_in_progress_renders_through_its_recorder_as_incomplete(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    recorder = start_run(run_dir)

    html = render_report(run_dir, recorder).read_text()

    assert 'class="status incomplete"' in html
    assert "INCOMPLETE" in html
    assert "the run was interrupted or is still running" in html
    assert "report.html" in recorder.hashes
    assert verify_run(run_dir).ok


def test_rerendering_keeps_existing_plots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = tmp_path / "run"
    recorder = start_run(run_dir)
    render_report(run_dir, recorder)
    first = {case_id: (run_dir / "plots" / f"{case_id}.svg").stat().st_mtime_ns for case_id in CASES}

    drawn: list[str] = []

    def counting_draw(d):
        drawn.append(d.title)
        return draw_files(d)

    monkeypatch.setattr(rig.evidence.report, "draw_files", counting_draw)
    record_trip_case(recorder, "g99.of2.trip_time")
    render_report(run_dir, recorder)
    render_report(run_dir)

    assert drawn == ["g99.of2.trip_time: 230 V -> 262.2 V"]  # its plot title
    assert {case_id: (run_dir / "plots" / f"{case_id}.svg").stat().st_mtime_ns for case_id in CASES} == first
    assert verify_run(run_dir).ok


def test_a_missing_trace_still_gives_a_report_that_says_so(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    recorder = start_run(run_dir)
    (run_dir / "traces" / CASES[1] / "capture.parquet").unlink()

    html = render_report(run_dir, recorder).read_text()

    assert f"plot not drawn: trace traces/{CASES[1]}/capture.parquet" in html
    assert (run_dir / "plots" / f"{CASES[0]}.svg").exists()
    assert verify_run(run_dir).missing == [f"traces/{CASES[1]}/capture.parquet"]


def test_a_plot_of_a_long_trace_is_drawn_from_a_decimated_line(tmp_path: Path) -> None:
    """2 M samples (1 MS/s for 2 s): the drawn lines are reduced to a few thousand points.

    (How long drawing takes is a benchmark's business, not a test's.)
    """
    run_dir = tmp_path / "run"
    recorder = RunRecorder.create(run_dir, run_info())
    case = record_trip_case(recorder, CASES[0])
    trace = trip_trace(rate_hz=1_000_000.0)
    assert case.plot is not None
    d = trip_drawing(trace, case.id, TripOptions.model_validate(case.plot.options))
    assert isinstance(d, TripDrawing)
    canvas = Canvas(TRIP_LAYOUT)
    with canvas.panels(case.id) as (top, bottom):
        d.draw(top, bottom)
        longest = max(len(line.get_xdata()) for axes in (top, bottom) for line in axes.get_lines())
    assert longest <= 2 * 1500 + 2
    draw_svg(d, tmp_path / "long.svg")
    assert b"<svg" in (tmp_path / "long.svg").read_bytes()[:500]


def test_envelope_keeps_every_extreme_in_few_points() -> None:
    t = np.linspace(0.0, 2.0, 2_000_001)
    y = np.sin(2 * np.pi * 50.0 * t)
    y[1_234_567] = 5.0  # a one-sample spike must survive

    t_drawn, y_drawn = envelope(t, y)

    assert len(y_drawn) <= 4000
    assert y_drawn.max() == 5.0 and y_drawn.min() == y.min()
    assert np.all(np.diff(t_drawn) >= 0)
    short_t, short_y = envelope(t[:100], y[:100])
    assert len(short_y) == 100


def test_settings_and_limits_read_compactly() -> None:
    assert format_setting({"to_v": 262.2, "hold_s": 1.0}) == "262.2 V, 1.0 s"
    assert format_setting({"to_hz": 52.5, "rocof_hz_per_s": 1.0, "stage": "2"}) == "52.5 Hz, 1.0 Hz/s, stage 2"
    assert format_limit(Limit(min=0.45, max=0.55, unit="s")) == "0.45..0.55 s"
    assert format_limit(Limit(max=0.5, unit="s")) == "≤ 0.5 s"
    assert format_limit(Limit(min=94.0, unit="%")) == "≥ 94.0 %"


def test_a_suite_adds_its_own_tables_and_figures_drawn_from_several_cases(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite-level report hook: a summary table and a figure over the suite's cases (as an efficiency curve
    or an OCPP sequence chart will be); a figure that cannot be drawn is said in the report, the rest stands."""
    import dataclasses

    from rig.suites import SUITES
    from rig.suites.platform import SuiteFigure, SuiteSection, SummaryTable

    class Broken:
        title = "broken"
        layout = TRIP_LAYOUT

        def draw(self, top, bottom) -> None:
            raise ValueError("no points to draw")

    def section(cases):
        trace = trip_trace()
        drawing = trip_drawing(trace, "all trips", TripOptions(quantity="voltage", quantity_unit="V", threshold_a=1.0))
        return SuiteSection(
            tables=[SummaryTable("Trips at a glance", "One row per case.", ["Case", "Verdict"],
                                 [[c.id, [(c.verdict, c.verdict)]] for c in cases])],
            figures=[SuiteFigure("all-trips", f"Every trip of the {len(cases)} cases", drawing),
                     SuiteFigure("broken", "A figure that fails", Broken())])

    suite = dataclasses.replace(SUITES["g99.protection"], report=section)
    monkeypatch.setattr(rig.evidence.report, "SUITES", {"g99": suite})  # the suite start_run's cases name
    monkeypatch.setattr(rig.evidence.report, "REGISTRY", {"g99": "rig.suites.g99.suite"})
    run_dir = tmp_path / "run"
    recorder = start_run(run_dir)
    recorder.finish("complete", None, sim_seconds=4.0, wall_seconds=0.25)
    html = render_report(run_dir, recorder).read_text()
    recorder.seal()

    assert "Trips at a glance" in html and "Every trip of the 2 cases" in html
    figure = run_dir / "plots" / "suite-g99-all-trips.svg"
    assert b"<svg" in figure.read_bytes()[:500] and 'data-file="plots/suite-g99-all-trips.svg"' in html
    assert "A figure that fails" in html and "not drawn: no points to draw" in html
    assert not (run_dir / "plots" / "suite-g99-broken.svg").exists()
    assert verify_run(run_dir).ok
