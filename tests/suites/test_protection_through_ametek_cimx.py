"""The whole G99 protection plan through the Ametek / California Instruments MX driver (sim-ametek_cimx.yaml):
the compliant charger passes every case, and a charger whose O/V stage 2 is slow fails its trip-time case
and nothing else, so the list transients, the phase jump and the trigger output the digitizer starts on are
what the verdicts rest on. Each run is the whole plan (40 cases), about 7-10 s of wall time on this host."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaign_helpers import trip_time_errors, COMPLIANT, PROTECTION_PLAN, assert_exact_verdicts, run_cases

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "fixtures" / "benches" / "sim-ametek_cimx.yaml"


def test_the_compliant_charger_passes_every_protection_case_through_the_mx(tmp_path: Path) -> None:
    run = run_cases(tmp_path / "run", bench=BENCH, dut=COMPLIANT, plan=PROTECTION_PLAN, evidence="verdicts only")
    results = run.recorder.results
    assert_exact_verdicts(results, {})
    assert {i.role: i.driver for i in results.run.instruments}["grid"] == "ametek_cimx"
    shifts = [c.id for c in results.cases if c.id.startswith("g99.vector_shift.")]
    assert len(shifts) == 2  # the phase-jump programs ran on the unit's phase list
    # and every trip time is measured to within 1 ms of the simulated charger's true trip instant
    errors = trip_time_errors(run)
    assert len(errors) == 11 and {case: e for case, e in errors.items() if abs(e) >= 1e-3} == {}


def test_a_slow_ov2_stage_fails_its_trip_time_through_the_mx(tmp_path: Path) -> None:
    run = run_cases(tmp_path / "run", bench=BENCH, dut=ROOT / "fixtures" / "duts" / "ov2-slow.yaml",
                    plan=PROTECTION_PLAN, evidence="verdicts only")
    assert_exact_verdicts(run.recorder.results, {"g99.ov2.trip_time": "fail"})
