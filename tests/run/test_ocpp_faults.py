"""The fault sweep's OCPP part: a charger whose connection dies mid-case, one that floods frames, and signals at
random instants of OCPP cases: each is a recorded failure with evidence, the run goes on and ends safely, and
nothing prints a traceback."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import yaml

from campaign_helpers import ROOT, VERDICTS_ONLY, cases_of, profile_variant, run_cases
from rig.evidence.verify import verify_run

pytestmark = pytest.mark.e2e

CORE = ROOT / "test_plans" / "ocpp" / "ocpp16_core.yaml"


def test_a_connection_that_dies_mid_case_is_a_recorded_failure_and_the_run_goes_on(tmp_path: Path) -> None:
    """It dies 20 s after each accepted boot and comes back 30 s later: a case whose exchange falls in the gap
    fails on what did not come, naming why; the run completes and the next cases run."""
    dut = profile_variant(tmp_path, "drops", lambda d: d["ocpp"].update(drops_connection_after_s=20.0))
    run = run_cases(tmp_path / "run", plan=CORE, ids=["TC_021_CS", "TC_007_CS", "TC_019_CS"], dut=dut,
                    evidence=VERDICTS_ONLY)
    cases = cases_of(run)
    assert run.recorder.results.run.status == "complete"
    assert cases["TC_007_CS"].verdict == "fail"
    assert any("not connected" in f or "no answer" in f or "NOT MET" in f for f in cases["TC_007_CS"].findings)
    assert cases["TC_019_CS"].verdict == "pass"  # its exchange lies inside the 20 s: the next case is unharmed


def test_a_flood_of_frames_is_recorded_judged_and_survived(tmp_path: Path) -> None:
    dut = profile_variant(tmp_path, "flood", lambda d: d["ocpp"].update(floods_heartbeats=2000))
    run = run_cases(tmp_path / "run", plan=CORE, ids=["TC_001_CS", "TC_019_CS"], dut=dut)
    cases = cases_of(run)
    assert run.recorder.results.run.status == "complete" and verify_run(run.recorder.run_dir).ok
    assert cases["TC_001_CS"].verdict == "fail" and cases["TC_001_CS"].measured["heartbeat_gap_min_s"] == 0.0
    lines = (run.recorder.run_dir / "traces" / "TC_001_CS" / "frames.jsonl").read_text().splitlines()
    beats = [json.loads(line) for line in lines if json.loads(line)["action"] == "Heartbeat"]
    assert len([b for b in beats if b["direction"] == "charger->rig"]) >= 2000  # every one recorded and answered
    assert cases["TC_019_CS"].verdict == "pass"


@pytest.fixture(scope="module")
def ocpp_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three OCPP cases, one with the vehicle plugged in and energy flowing."""
    data = yaml.safe_load(CORE.read_text())
    data["vehicle"] = str((CORE.parent / data["vehicle"]).resolve())
    data["cases"] = [c for c in data["cases"] if c["id"] in ("TC_019_CS", "TC_012_CS", "TC_040_1_CS")]
    path = tmp_path_factory.mktemp("sweep-ocpp") / "short.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_stops_and_kills_during_ocpp_cases_leave_records_that_verify(ocpp_plan: Path, tmp_path: Path) -> None:
    from test_fault_sweep import _sweep, assert_stopped_safely, has_record  # the sweep's own machinery

    signals = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL] * 3
    landed = [o for o in _sweep(ocpp_plan, tmp_path, signals, seed=20261207, afters=["record"] * len(signals),
                                tag="o") if o.alive and has_record(o.run_dir)]
    assert len(landed) >= 5, "signals must land inside OCPP cases for the sweep to mean anything"
    assert_stopped_safely(landed)
