"""results.json, written case by case from texts encoded once, is byte for byte what encoding the whole record
gives (its layout is part of the evidence: a reviewer's diff and the manifest's hashes see the file)."""

from __future__ import annotations

import json

from rig.evidence.recorder import RESULTS, RunRecorder, _json_bytes
from rig.core.results import CaseResult, RunInfo


def _case(n: int) -> CaseResult:
    return CaseResult(id=f"C-{n}", suite="chademo", clause="§ 1\nline two", procedure="session", verdict="pass",
                      measured={"overshoot_a": 0.25 * n, "none": None}, findings=["ünïcode", 'a "quote"'],
                      params={"nested": {"list": [1, 2.5, "x"], "empty": {}}, "empty_list": []})


def test_the_record_reads_as_the_whole_record_encoded(tmp_path) -> None:
    recorder = RunRecorder.create(tmp_path / "run", RunInfo.model_validate(_run_info()))
    assert (tmp_path / "run" / RESULTS).read_bytes() == _json_bytes(recorder.results.model_dump(mode="json"))
    for n in range(3):
        recorder.record_case(_case(n))
        written = (tmp_path / "run" / RESULTS).read_bytes()
        assert written == _json_bytes(recorder.results.model_dump(mode="json"))
        assert len(json.loads(written)["cases"]) == n + 1
    recorder.finish("complete", None, 10.0, 1.0)
    assert (tmp_path / "run" / RESULTS).read_bytes() == _json_bytes(recorder.results.model_dump(mode="json"))


def _run_info() -> dict:
    return {"started": "2026-12-06T00:00:00Z", "bench": "sim", "rig_version": "0", "seed": 1, "plans": ["a.yaml"]}
