"""A verdicts-only run (the rig's own tests) judges exactly as a full run, and says it is no evidence."""

from __future__ import annotations

import json

import pytest

from campaign_helpers import DUTS, VERDICTS_ONLY, run_cases

pytestmark = pytest.mark.e2e

IDS = ["g99.ov2.trip_time", "g99.uf1.trip_value", "g99.of.no_trip.52_2hz"]


def test_the_same_cases_get_the_same_verdicts_and_values_either_way_and_the_record_says_which(tmp_path):
    dut = DUTS / "ov2-slow.yaml"
    full = run_cases(tmp_path / "full", ids=IDS, dut=dut)
    quick = run_cases(tmp_path / "quick", ids=IDS, dut=dut, evidence=VERDICTS_ONLY)
    judged = [[(c.id, c.verdict, c.measured, c.findings) for c in run.recorder.results.cases] for run in (full, quick)]
    assert judged[0] == judged[1] and any(verdict == "fail" for _, verdict, _, _ in judged[0])
    full_dir, quick_dir = full.recorder.run_dir, quick.recorder.run_dir
    assert json.loads((full_dir / "results.json").read_text())["run"]["evidence"] == "full"
    assert json.loads((quick_dir / "results.json").read_text())["run"]["evidence"] == "verdicts only"
    assert (full_dir / "report.html").is_file() and any((full_dir / "plots").glob("*.svg"))
    assert not (quick_dir / "report.html").exists() and not (quick_dir / "plots").exists()
