"""The G99 protection suite through the Tektronix MSO digitizer (fixtures/benches/sim-tektronix_mso.yaml): the
compliant charger passes every case, and a charger whose O/V stage 2 is slow fails its trip time, which only the
digitizer's capture decides."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaign_helpers import trip_time_errors, COMPLIANT, DUTS, PROTECTION_PLAN, ROOT, VERDICTS_ONLY, assert_exact_verdicts, run_cases

pytestmark = pytest.mark.e2e  # end-to-end runs: not in the fast layer (-m 'not e2e')

BENCH = ROOT / "fixtures" / "benches" / "sim-tektronix_mso.yaml"


def test_the_compliant_charger_passes_the_whole_protection_plan_through_the_tektronix_digitizer(tmp_path: Path) -> None:
    run = run_cases(tmp_path / "out", bench=BENCH, plan=PROTECTION_PLAN, dut=COMPLIANT, evidence=VERDICTS_ONLY)
    results = run.recorder.results
    assert_exact_verdicts(results, {})
    captured = [c for c in results.cases if c.procedure == "trip_time"]
    assert captured and all(c.verdict == "pass" for c in captured)
    assert {i["driver"] for i in results.run.model_dump()["instruments"] if i["role"] == "capture"} == {"tektronix_mso"}
    # and every trip time is measured to within 1 ms of the simulated charger's true trip instant
    errors = trip_time_errors(run)
    assert len(errors) == 11 and {case: e for case, e in errors.items() if abs(e) >= 1e-3} == {}


def test_a_slow_ov2_stage_fails_its_trip_time_through_the_tektronix_digitizer(tmp_path: Path) -> None:
    ids = ["g99.ov2.trip_value", "g99.ov2.trip_time"]
    run = run_cases(tmp_path / "out", bench=BENCH, plan=PROTECTION_PLAN, dut=DUTS / "ov2-slow.yaml", ids=ids,
                    evidence=VERDICTS_ONLY)
    results = run.recorder.results
    assert_exact_verdicts(results, {"g99.ov2.trip_time": "fail"})
    trip_time = next(c for c in results.cases if c.id == "g99.ov2.trip_time")
    assert 0.7 < trip_time.measured["trip_time_s"] < 0.8  # the defective 0.7 s delay, measured on the capture
