"""``rig verify`` names every changed, missing and unlisted file, and explains a bad manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from rig.evidence import RunRecorder
from rig.verify import format_verify_report, verify_run
from test_evidence import record_trip_case, run_info

TRACE = "traces/g99.ov2.trip_time/capture.parquet"


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A finished run with a bench copy, one trace and one case."""
    run_dir = tmp_path / "run"
    recorder = RunRecorder.create(run_dir, run_info())
    recorder.write_text("bench.yaml", "bench: sim\n")
    record_trip_case(recorder, "g99.ov2.trip_time")
    recorder.finish("complete", None, sim_seconds=2.0, wall_seconds=0.5)
    recorder.seal()
    return run_dir


def test_an_untouched_run_verifies(run_dir: Path) -> None:
    report = verify_run(run_dir)

    assert report.ok
    assert (report.changed, report.missing, report.unlisted, report.problem) == ([], [], [], None)
    assert report.checked == 3
    assert format_verify_report(report).startswith("OK: 3 files")


def test_a_run_that_never_finished_is_incomplete_and_verifies(tmp_path: Path) -> None:
    recorder = RunRecorder.create(tmp_path / "run", run_info())
    record_trip_case(recorder, "g99.ov2.trip_time")
    del recorder  # the process died here: no finish()

    assert '"status": "incomplete"' in (tmp_path / "run" / "results.json").read_text()
    assert verify_run(tmp_path / "run").ok


def test_a_changed_trace_is_named(run_dir: Path) -> None:
    trace = run_dir / TRACE
    data = bytearray(trace.read_bytes())
    data[len(data) // 2] ^= 0x01
    trace.write_bytes(bytes(data))

    report = verify_run(run_dir)

    assert not report.ok
    assert report.changed == [TRACE]
    assert f"changed:  {TRACE}" in format_verify_report(report)


def test_a_deleted_file_is_missing_and_an_added_file_is_unlisted(run_dir: Path) -> None:
    (run_dir / "bench.yaml").unlink()
    (run_dir / "traces" / "extra.csv").write_text("t_s,i_a\n")

    report = verify_run(run_dir)

    assert (report.changed, report.missing, report.unlisted) == ([], ["bench.yaml"], ["traces/extra.csv"])
    text = format_verify_report(report)
    assert text.startswith("NOT VERIFIED")
    assert "missing:  bench.yaml" in text
    assert "unlisted: traces/extra.csv" in text


def test_an_edited_results_json_is_named(run_dir: Path) -> None:
    results = run_dir / "results.json"
    results.write_text(results.read_text().replace('"verdict": "pass"', '"verdict": "fail"'))

    assert verify_run(run_dir).changed == ["results.json"]


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        (None, "no manifest.json"),
        ("{not json", "unreadable"),
        ('{"algorithm": "md5", "files": {}}', "sha256"),
        ('{"algorithm": "sha256", "files": ["results.json"]}', '"files" must map'),
    ],
)
def test_a_missing_or_corrupt_manifest_is_a_clear_problem(run_dir: Path, manifest: str | None, expected: str) -> None:
    if manifest is None:
        (run_dir / "manifest.json").unlink()
    else:
        (run_dir / "manifest.json").write_text(manifest)

    report = verify_run(run_dir)

    assert not report.ok
    assert expected in report.problem
    assert format_verify_report(report) == f"NOT VERIFIED: {report.problem}"


def test_a_directory_that_does_not_exist_is_a_clear_problem(tmp_path: Path) -> None:
    report = verify_run(tmp_path / "nowhere")
    assert not report.ok
    assert "not a directory" in report.problem
