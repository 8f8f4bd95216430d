"""The run directory is written as the run goes: atomic files, a document per record, every write in the
manifest journal; results.json is the view written when the run closes.

The synthetic run builders here (``trip_trace``, ``run_info``, ``record_trip_case``)
are also used by test_verify.py and test_report.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from rig.core.errors import RigInputError
from rig.evidence.recorder import RunRecorder, read_manifest, read_results, sha256_file
from rig.core.results import CaseResult, DutRecord, Limit, PlotRecord, RunInfo, RunResults, Verdict

SAMPLE_RATE_HZ = 10_000.0
TRIP_AT_S = 0.52


def trip_trace(stop_s: float = TRIP_AT_S, rate_hz: float = SAMPLE_RATE_HZ) -> pd.DataFrame:
    """A 50 Hz, 10 A rms charger current that stops at ``stop_s``; the grid steps to 262.2 V at t=0."""
    t = np.arange(-0.5, 1.5, 1.0 / rate_hz)
    i_a = np.where(t < stop_s, 10.0 * np.sqrt(2.0) * np.sin(2 * np.pi * 50.0 * t), 0.0)
    cycle = int(rate_hz / 50.0)
    energy = np.concatenate([np.zeros(cycle), np.cumsum(i_a**2)])  # sliding one-cycle sum via cumsum
    i_rms_a = np.sqrt(np.maximum(energy[cycle:] - energy[:-cycle], 0.0) / cycle)
    commanded = np.where(t >= 0.0, 262.2, 230.0)
    return pd.DataFrame({"t_s": t, "i_a": i_a, "i_rms_a": i_rms_a, "commanded": commanded})


def run_info() -> RunInfo:
    dut = DutRecord(name="compliant", manufacturer="v2g-rig simulated lab", model="SIM-V2G-7K4", serial="SIM-0001",
                    firmware="1.0.0", simulated=True, file="inputs/dut.yaml")
    return RunInfo(started="2025-11-24T14:00:00+00:00", bench="sim", dut=dut, rig_version="0.1.0", seed=7)


def record_trip_case(
    recorder: RunRecorder,
    case_id: str,
    *,
    suite: str = "g99",
    trip_s: float | None = TRIP_AT_S,
    verdict: Verdict = "pass",
    error: str | None = None,
) -> CaseResult:
    """Write a trip trace for ``case_id`` and record its case the way the engine would."""
    trace = recorder.write_trace(case_id, "capture", trip_trace(stop_s=trip_s if trip_s is not None else 9.9))
    case = CaseResult(
        id=case_id,
        suite=suite,
        clause="G99 A.7.1.2.2 over-voltage stage 2",
        procedure="trip_time",
        verdict=verdict,
        measured={"trip_time_s": trip_s},
        limits={"trip_time_s": Limit(min=0.45, max=0.55, unit="s")},
        setting={"to_v": 262.2, "hold_s": 1.0},
        traces=[trace],
        plot=PlotRecord(
            kind="g99.trip_time",
            trace=trace,
            title=f"{case_id}: 230 V -> 262.2 V",
            options={"quantity": "voltage", "quantity_unit": "V", "threshold_a": 1.5, "trip_instant_s": trip_s,
                     "limit_min_s": 0.45, "limit_max_s": 0.55},
        ),
        error=error,
    )
    recorder.record_case(case)
    return case


def results_on_disk(run_dir: Path) -> dict:
    """The run's record as anyone reads it from disk (its documents), at any moment."""
    return read_results(run_dir).model_dump(mode="json")


def test_create_writes_the_start_document_and_its_journal_line_at_once(tmp_path: Path) -> None:
    run_dir = tmp_path / "reports" / "run-1"  # parents are created
    RunRecorder.create(run_dir, run_info())

    assert results_on_disk(run_dir) == RunResults(run=run_info()).model_dump(mode="json")
    assert results_on_disk(run_dir)["run"]["status"] == "incomplete"
    start = "documents/000001-start.json"
    assert json.loads((run_dir / start).read_text())["kind"] == "start"
    manifest = read_manifest(run_dir)
    assert manifest.files == {start: sha256_file(run_dir / start)} and not manifest.sealed
    assert not (run_dir / "results.json").exists()  # the view is written as the run closes


def test_create_accepts_an_empty_directory_and_refuses_a_used_one(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    RunRecorder.create(tmp_path / "empty", run_info())

    with pytest.raises(RigInputError, match="not empty"):
        RunRecorder.create(tmp_path / "empty", run_info())
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(RigInputError, match="a-file"):
        RunRecorder.create(tmp_path / "a-file", run_info())


def test_trace_paths_are_safe_names_under_traces(tmp_path: Path) -> None:
    recorder = RunRecorder.create(tmp_path / "run", run_info())

    assert recorder.trace_path("g99.ov2.trip_time", "capture") == (
        tmp_path / "run" / "traces" / "g99.ov2.trip_time" / "capture.parquet"
    )
    hostile = recorder.trace_path("../../etc/passwd", "a b/c", suffix=".csv")
    assert hostile.parent.parent == tmp_path / "run" / "traces"
    assert hostile.name == "a_b_c.csv"
    assert hostile.parent.name == "_.._etc_passwd"


def test_write_trace_is_parquet_with_metadata_and_listed_with_its_hash(tmp_path: Path) -> None:
    recorder = RunRecorder.create(tmp_path / "run", run_info())
    frame = trip_trace()

    relpath = recorder.write_trace("g99.ov2.trip_time", "capture", frame, {"i_a.unit": "A", "instrument": "scope"})

    assert relpath == "traces/g99.ov2.trip_time/capture.parquet"
    table = pq.read_table(tmp_path / "run" / relpath)
    pd.testing.assert_frame_equal(table.to_pandas(), frame)
    assert table.schema.metadata[b"i_a.unit"] == b"A"
    assert table.schema.metadata[b"instrument"] == b"scope"
    assert read_manifest(tmp_path / "run").files[relpath] == sha256_file(tmp_path / "run" / relpath)


def test_trace_samples_are_kept_exactly_in_byte_stream_split_zstd(tmp_path: Path) -> None:
    """The encoding is lossless: every float32 and float64 sample comes back bit for bit."""
    recorder = RunRecorder.create(tmp_path / "run", run_info())
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"t_s": np.arange(5000) / 5000.0 - 0.5,
                          "i_a": rng.normal(0.0, 30.0, 5000).astype(np.float32)})

    relpath = recorder.write_trace("g99.uv.trip_time", "capture", frame)

    parquet = pq.ParquetFile(tmp_path / "run" / relpath)
    back = parquet.read().to_pandas()
    assert back["t_s"].to_numpy().tobytes() == frame["t_s"].to_numpy().tobytes()
    assert back["i_a"].to_numpy().tobytes() == frame["i_a"].to_numpy().tobytes()
    column = parquet.metadata.row_group(0).column(1)
    assert column.compression == "ZSTD" and "BYTE_STREAM_SPLIT" in column.encodings


def test_record_case_and_finish_keep_the_record_equal_to_the_model_and_results_json_its_view(
        tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    recorder = RunRecorder.create(run_dir, run_info())
    record_trip_case(recorder, "g99.ov2.trip_time")
    assert [case["id"] for case in results_on_disk(run_dir)["cases"]] == ["g99.ov2.trip_time"]
    assert results_on_disk(run_dir)["run"]["status"] == "incomplete"

    recorder.finish("complete", None, sim_seconds=120.0, wall_seconds=4.0)

    on_disk = results_on_disk(run_dir)
    assert on_disk == recorder.results.model_dump(mode="json")
    assert json.loads((run_dir / "results.json").read_text()) == on_disk
    assert on_disk["run"]["status"] == "complete"
    ratio = on_disk["run"]["speedup"]  # sim / wall, computed from the figures given above
    assert ratio == 30.0
    assert on_disk["run"]["finished"].endswith("+00:00")
    assert RunResults.model_validate(on_disk).cases[0].plot.options["trip_instant_s"] == TRIP_AT_S


def test_finish_with_no_wall_time_has_no_speedup_and_keeps_the_reason(tmp_path: Path) -> None:
    recorder = RunRecorder.create(tmp_path / "run", run_info())
    recorder.finish("incomplete", "aborted by operator (Ctrl-C)", sim_seconds=0.0, wall_seconds=0.0)

    run = results_on_disk(tmp_path / "run")["run"]
    ratio = run["speedup"]
    assert ratio is None
    assert (run["status"], run["reason"]) == ("incomplete", "aborted by operator (Ctrl-C)")


def test_a_case_id_is_recorded_once(tmp_path: Path) -> None:
    recorder = RunRecorder.create(tmp_path / "run", run_info())
    record_trip_case(recorder, "g99.ov2.trip_time")
    with pytest.raises(ValueError, match="already recorded"):
        recorder.record_case(recorder.results.cases[0])


def test_every_write_updates_the_manifest_and_leaves_no_temp_files(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    recorder = RunRecorder.create(run_dir, run_info())
    recorder.write_text("plan/protection.yaml", "- id: g99.ov2.trip_time\n")
    recorder.write_json("dut.json", {"model": "sim", "serial": "0001"})
    record_trip_case(recorder, "g99.ov2.trip_time")

    on_disk = sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file())
    assert on_disk == [
        "documents/000001-start.json",
        "documents/000002-case.json",
        "dut.json",
        "manifest.journal",
        "plan/protection.yaml",
        "traces/g99.ov2.trip_time/capture.parquet",
    ]
    manifest = read_manifest(run_dir).files
    assert manifest == {path: sha256_file(run_dir / path) for path in on_disk if path != "manifest.journal"}
    recorder.finish("complete", None, sim_seconds=1.0, wall_seconds=1.0)
    recorder.seal()
    assert not (run_dir / "manifest.journal").exists() and read_manifest(run_dir).sealed
    assert not (tmp_path / ".run.incoming").exists() or not any((tmp_path / ".run.incoming").iterdir())


@pytest.mark.parametrize("relpath", ["/etc/passwd", "../outside.txt", "plan/../../x", "manifest.json", "results.json",
                                     "manifest.journal", "documents/000009-case.json"])
def test_evidence_paths_stay_inside_and_off_the_records(tmp_path: Path, relpath: str) -> None:
    recorder = RunRecorder.create(tmp_path / "run", run_info())
    with pytest.raises(RigInputError):
        recorder.write_text(relpath, "x")


def test_later_writes_do_not_launder_a_tampered_file(tmp_path: Path) -> None:
    """The manifest keeps the hash taken at write time; it is never recomputed from disk."""
    run_dir = tmp_path / "run"
    recorder = RunRecorder.create(run_dir, run_info())
    recorder.write_text("bench.yaml", "bench: sim\n")
    written = read_manifest(run_dir).files["bench.yaml"]

    (run_dir / "bench.yaml").write_text("bench: something else\n")
    record_trip_case(recorder, "g99.ov2.trip_time")

    assert read_manifest(run_dir).files["bench.yaml"] == written


def test_a_failed_write_leaves_the_previous_file_and_manifest(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    recorder = RunRecorder.create(run_dir, run_info())
    recorder.write_text("log.txt", "first\n")
    manifest_before = (run_dir / "manifest.journal").read_bytes()

    def crash(file) -> None:
        file.write(b"half a fi")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        recorder.write_stream("log.txt", crash)

    assert (run_dir / "log.txt").read_text() == "first\n"
    assert (run_dir / "manifest.journal").read_bytes() == manifest_before
    assert sorted(p.name for p in run_dir.iterdir()) == ["documents", "log.txt", "manifest.journal"]
