"""``rig verify`` names every changed, missing and unlisted file, and explains a bad manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from rig.evidence.recorder import RunRecorder, read_results
from rig.evidence.verify import format_verify_report, verify_run
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
    assert report.checked == 6  # start, case and stop documents, bench copy, trace, results.json
    assert format_verify_report(report).startswith("OK: 6 files")


def test_a_run_that_never_finished_is_incomplete_and_verifies(tmp_path: Path) -> None:
    recorder = RunRecorder.create(tmp_path / "run", run_info())
    record_trip_case(recorder, "g99.ov2.trip_time")
    del recorder  # the process died here: no finish()

    assert read_results(tmp_path / "run").run.status == "incomplete"
    assert verify_run(tmp_path / "run").ok and verify_run(tmp_path / "run").status == "incomplete"
    assert "never sealed" in format_verify_report(verify_run(tmp_path / "run"))


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


class Killed(BaseException):
    """Stands for SIGKILL at one instant of a write: nothing after it runs."""


def _die_before_rename(monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal line announcing the write lands; the file's own rename does not."""
    from rig.evidence import recorder as evidence

    move = evidence._move_into_place

    def killed(tmp: Path, target: Path, *, durable: bool = True) -> None:
        if target.name == "manifest.json":
            return move(tmp, target, durable=durable)
        raise Killed

    monkeypatch.setattr(evidence, "_move_into_place", killed)


def test_a_kill_between_manifest_and_rename_verifies_as_a_cut_off_incomplete_record(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    recorder = RunRecorder.create(run_dir, run_info())
    record_trip_case(recorder, "g99.ov2.trip_time")
    results_before = read_results(run_dir)
    _die_before_rename(monkeypatch)
    with pytest.raises(Killed):
        record_trip_case(recorder, "g99.of.trip_time")  # the trace write: a new file that never lands

    report = verify_run(run_dir)
    assert report.ok and not report.sealed and not report.complete
    assert report.cut_off == "traces/g99.of.trip_time/capture.parquet"
    assert "INCOMPLETE" in format_verify_report(report) and "did not land" in format_verify_report(report)
    assert read_results(run_dir) == results_before
    assert not any(path.name.endswith(".tmp") for path in run_dir.rglob("*")), "temp files stay outside the run"


def test_a_kill_while_results_json_is_renamed_accepts_the_old_content_only(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    recorder = RunRecorder.create(run_dir, run_info())
    recorder.write_text("bench.yaml", "bench: sim\n")
    record_trip_case(recorder, "g99.of.trip_time")
    recorder.finish("complete", None, sim_seconds=1.0, wall_seconds=1.0)
    from rig.evidence import recorder as evidence

    move = evidence._move_into_place

    def killed_at_results(tmp: Path, target: Path, *, durable: bool = True) -> None:
        if target.name == "results.json":
            raise Killed
        return move(tmp, target, durable=durable)

    monkeypatch.setattr(evidence, "_move_into_place", killed_at_results)
    with pytest.raises(Killed):
        recorder.amend_status("incomplete", "stopped while closing")  # results.json: rewritten, rename cut off

    assert verify_run(run_dir).ok and verify_run(run_dir).cut_off == "results.json"
    assert read_results(run_dir).run.status == "incomplete"  # the documents, the record itself, say it
    data = bytearray((run_dir / "results.json").read_bytes())  # the previous content, on disk
    data[10] ^= 0x01
    (run_dir / "results.json").write_bytes(bytes(data))
    assert verify_run(run_dir).changed == ["results.json"]


def test_a_run_closed_after_an_interruption_is_sealed_but_incomplete(tmp_path):
    run_dir = tmp_path / "run"
    recorder = RunRecorder.create(run_dir, run_info())
    record_trip_case(recorder, "g99.ov2.trip_time")
    recorder.finish("incomplete", "interrupted (SIGINT)", sim_seconds=1.0, wall_seconds=0.1)
    recorder.seal()

    report = verify_run(run_dir)
    assert report.ok and report.sealed and not report.complete
    assert "the run itself is incomplete" in format_verify_report(report)
