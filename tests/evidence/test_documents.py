"""The record as documents: start, instruments, one per case with its traces described, stop; each written once;
results.json their view; a killed run's record read from its documents; the manifest journal's cut-off line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rig.core.errors import RigInputError
from rig.core.results import InstrumentIdentity
from rig.evidence.documents import describe_column, read_documents
from rig.evidence.recorder import RunRecorder, read_manifest, read_results
from rig.evidence.verify import verify_run
from test_evidence import record_trip_case, run_info

SCOPE = InstrumentIdentity(role="capture", driver="keysight_infiniivision", address="TCPIP::127.0.0.1::5025::SOCKET",
                           idn="KEYSIGHT TECHNOLOGIES,MSOX3104T,MY0001,07.50")


def test_each_record_is_a_document_written_once_in_order(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    recorder = RunRecorder.create(run_dir, run_info())
    recorder.record_instruments([SCOPE])
    record_trip_case(recorder, "g99.ov2.trip_time")
    first_case = (run_dir / "documents" / "000003-case.json").read_bytes()
    record_trip_case(recorder, "g99.uv1.trip_time")
    recorder.finish("complete", None, sim_seconds=10.0, wall_seconds=1.0)

    kinds = [document.kind for document in read_documents(run_dir)]
    assert kinds == ["start", "instruments", "case", "case", "stop"]
    assert (run_dir / "documents" / "000003-case.json").read_bytes() == first_case  # never rewritten
    start = json.loads((run_dir / "documents" / "000001-start.json").read_text())
    assert start["run"]["seed"] == 7 and start["run"]["dut"]["serial"] == "SIM-0001"
    assert json.loads((run_dir / "results.json").read_text()) == read_results(run_dir).model_dump(mode="json")


def test_a_case_document_describes_each_trace_it_wrote(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    recorder = RunRecorder.create(run_dir, run_info())
    recorder.record_instruments([SCOPE])
    case = recorder.write_trace("g99.ov2.trip_time", "capture", __import__("test_evidence").trip_trace(),
                                role="capture")
    record_trip_case(recorder, "g99.ov2.trip_time@again")

    documents = read_documents(run_dir)
    assert documents[2].kind == "case" and documents[2].case.id == "g99.ov2.trip_time@again"
    described = {d.path: d for d in documents[2].descriptors}
    assert case not in described  # a trace belongs to the case it was written for
    (descriptor,) = described.values()
    assert descriptor.role is None and descriptor.instrument is None  # not named as a role's: derived
    assert [(c.name, c.quantity, c.unit) for c in descriptor.columns] == [
        ("t_s", "t", "s"), ("i_a", "i", "A"), ("i_rms_a", "i_rms", "A"), ("commanded", "commanded", "")]
    assert descriptor.time_column == "t_s" and descriptor.rate_hz == pytest.approx(10_000.0)
    assert descriptor.rows == 20_000 and descriptor.span_s == pytest.approx(1.9999)

    record_trip_case(recorder, "g99.ov2.trip_time")
    scoped = read_documents(run_dir)[-1].descriptors
    assert [(d.path, d.role, d.instrument) for d in scoped] == [(case, "capture", SCOPE.idn)] + [
        (d.path, None, None) for d in scoped[1:]]


def test_column_units_follow_the_naming_rule() -> None:
    assert (describe_column("v_v", "float64").unit, describe_column("f_hz", "float64").unit) == ("V", "Hz")
    assert describe_column("export_w", "float64").quantity == "export"
    assert describe_column("level", "float64").unit == ""
    assert describe_column("d1", "bool").unit == ""


def test_a_killed_run_is_read_from_its_documents_and_verifies_incomplete(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    recorder = RunRecorder.create(run_dir, run_info())
    record_trip_case(recorder, "g99.ov2.trip_time")
    del recorder  # no finish, no seal: what kill -9 leaves

    results = read_results(run_dir)
    assert results.run.status == "incomplete" and [c.id for c in results.cases] == ["g99.ov2.trip_time"]
    report = verify_run(run_dir)
    assert report.ok and not report.sealed and report.status == "incomplete"


def test_a_journal_line_cut_off_is_not_a_write_and_any_other_damage_is_named(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    recorder = RunRecorder.create(run_dir, run_info())
    record_trip_case(recorder, "g99.ov2.trip_time")
    journal = run_dir / "manifest.journal"
    before = read_manifest(run_dir).files
    with journal.open("ab") as file:
        file.write(b'{"path": "plots/x.svg", "sha256": "ab')  # the writer died mid-line: x.svg never landed

    assert read_manifest(run_dir).files == before
    assert verify_run(run_dir).ok

    journal.write_bytes(journal.read_bytes().replace(b'"path"', b'"peth"', 1))
    with pytest.raises(RigInputError, match=r"manifest.journal:1: not a journal line"):
        read_manifest(run_dir)


def test_a_missing_or_foreign_document_is_named(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    recorder = RunRecorder.create(run_dir, run_info())
    record_trip_case(recorder, "g99.ov2.trip_time")
    record_trip_case(recorder, "g99.uv1.trip_time")
    (run_dir / "documents" / "000002-case.json").unlink()
    with pytest.raises(RigInputError, match="document 000002 is missing"):
        read_results(run_dir)
    (run_dir / "documents" / "notes.txt").write_text("x")
    with pytest.raises(RigInputError, match="notes.txt: not a run document"):
        read_results(run_dir)


def test_a_sealed_record_with_its_journal_left_behind_is_still_sealed(tmp_path: Path) -> None:
    """The writer stopped between writing manifest.json and removing the journal: every journal line is in the
    sealed manifest, so the record is sealed; a journal line it lacks would make it one being added to."""
    run_dir = tmp_path / "run"
    recorder = RunRecorder.create(run_dir, run_info())
    record_trip_case(recorder, "g99.ov2.trip_time")
    recorder.finish("complete", None, sim_seconds=1.0, wall_seconds=1.0)
    journal = (run_dir / "manifest.journal").read_bytes()
    recorder.seal()
    (run_dir / "manifest.journal").write_bytes(journal)

    assert read_manifest(run_dir).sealed and verify_run(run_dir).complete
    with (run_dir / "manifest.journal").open("ab") as file:
        file.write(b'{"path": "report.html", "sha256": "00", "previous": null}\n')
    assert not read_manifest(run_dir).sealed


def test_rig_report_gives_a_killed_run_its_results_view_and_reports(tmp_path: Path) -> None:
    from rig.evidence.report import render_report

    run_dir = tmp_path / "run"
    recorder = RunRecorder.create(run_dir, run_info())
    record_trip_case(recorder, "g99.ov2.trip_time")
    del recorder  # killed: no results.json, no report

    render_report(run_dir)

    assert json.loads((run_dir / "results.json").read_text()) == read_results(run_dir).model_dump(mode="json")
    assert "INCOMPLETE" in (run_dir / "report.html").read_text()
    report = verify_run(run_dir)
    assert report.ok and not report.sealed and report.status == "incomplete"
