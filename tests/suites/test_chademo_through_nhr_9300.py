"""The CHAdeMO suite through the second battery-emulator family: a charge and a V2H session with the NH Research 9300
driver (its capture as the inlet log) pass on the compliant charger, and the charger whose current overshoots its
target fails the charge case through it, so the driver's measurement decides a verdict."""

from __future__ import annotations

import pytest

from campaign_helpers import CHADEMO_PLAN, COMPLIANT, DUTS, ROOT, VERDICTS_ONLY, run_cases

pytestmark = pytest.mark.e2e

BENCH = ROOT / "fixtures" / "benches" / "sim-nhr_9300.yaml"
CASES = ["chademo.charge.normal@leaf-40", "chademo.v2h.discharge@leaf-40"]


def verdicts(out, dut) -> dict[str, str]:
    run = run_cases(out, ids=CASES, plan=CHADEMO_PLAN, bench=BENCH, dut=dut, evidence=VERDICTS_ONLY)
    assert run.recorder.results.run.status == "complete"
    return {case.id: case.verdict for case in run.recorder.results.cases}


def test_a_charge_and_a_v2h_session_pass_the_compliant_charger_through_the_nhr_9300(tmp_path) -> None:
    assert verdicts(tmp_path / "run", COMPLIANT) == {case: "pass" for case in CASES}


def test_the_run_records_that_the_nhr_log_has_no_true_extremes(tmp_path) -> None:
    """A pass through this family did not cover spikes shorter than a sample interval: the record says so."""
    run = run_cases(tmp_path / "run", ids=CASES[:1], plan=CHADEMO_PLAN, bench=BENCH, evidence=VERDICTS_ONLY)
    battery = next(i for i in run.recorder.results.run.instruments if i.role == "battery")
    assert any("spike shorter than the interval" in blind for blind in battery.cannot_see)


def test_the_overshooting_charger_fails_the_charge_case_through_the_nhr_9300(tmp_path) -> None:
    found = verdicts(tmp_path / "run", DUTS / "chademo-current-overshoot.yaml")
    assert found == {"chademo.charge.normal@leaf-40": "fail", "chademo.v2h.discharge@leaf-40": "pass"}
