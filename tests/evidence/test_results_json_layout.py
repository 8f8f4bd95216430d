"""results.json, the view written as the run closes, is byte for byte what encoding the whole record (as its
documents hold it) gives: its layout is part of the evidence (a reviewer's diff and the manifest's hashes see it)."""

from __future__ import annotations

import json

from rig.evidence.recorder import RESULTS, RunRecorder, _json_bytes, read_results
from rig.core.results import CaseResult, RunInfo


def _case(n: int) -> CaseResult:
    return CaseResult(id=f"C-{n}", suite="chademo", clause="§ 1\nline two", procedure="session", verdict="pass",
                      measured={"overshoot_a": 0.25 * n, "none": None}, findings=["ünïcode", 'a "quote"'],
                      params={"nested": {"list": [1, 2.5, "x"], "empty": {}}, "empty_list": []})


def test_the_record_reads_as_the_whole_record_encoded(tmp_path) -> None:
    recorder = RunRecorder.create(tmp_path / "run", RunInfo.model_validate(_run_info()))
    for n in range(3):
        recorder.record_case(_case(n))
    assert not (tmp_path / "run" / RESULTS).exists()  # a view, written as the run closes
    recorder.finish("complete", None, 10.0, 1.0)
    written = (tmp_path / "run" / RESULTS).read_bytes()
    assert written == _json_bytes(recorder.results.model_dump(mode="json"))
    assert written == _json_bytes(read_results(tmp_path / "run").model_dump(mode="json"))
    assert len(json.loads(written)["cases"]) == 3


def _run_info() -> dict:
    return {"started": "2026-12-06T00:00:00Z", "bench": "sim", "rig_version": "0", "seed": 1, "plans": ["a.yaml"]}
