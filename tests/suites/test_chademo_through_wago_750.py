"""The CHAdeMO cases that the contact lines decide, run through the WAGO 750-352 node (``wago_750``) on the
simulated lab: the compliant charger passes them, and a charger whose emergency stop does not stop it fails
its case through this driver too (so the lines really travel through the coupler's map)."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaign_helpers import CHADEMO_PLAN, COMPLIANT, DUTS, ROOT, VERDICTS_ONLY, run_cases

pytestmark = pytest.mark.e2e  # end-to-end runs: not in the fast layer (-m 'not e2e')

BENCH = ROOT / "fixtures" / "benches" / "sim-wago_750.yaml"
LINE_CASES = ["chademo.charge.normal@leaf-40", "chademo.abnormal.emergency_stop",
              "chademo.abnormal.k_dropped_during_charge", "chademo.abnormal.unplug_during_charge",
              "chademo.abnormal.k_dropped_during_insulation_test"]
"""The normal session (d1, d2, k, the contactor, the connector lock) and every abnormal case the lines drive."""


def verdicts(out: Path, ids: list[str], dut: Path) -> dict[str, str]:
    run = run_cases(out, ids=ids, dut=dut, bench=BENCH, plan=CHADEMO_PLAN, evidence=VERDICTS_ONLY)
    results = run.recorder.results
    assert results.run.status == "complete"
    (dio,) = [i for i in results.run.instruments if i.role == "dio"]
    assert (dio.driver, dio.idn) == ("wago_750", "WAGO,750-352,00:30:DE:00:03:52,01.09(08)")
    return {case.id: case.verdict for case in results.cases}


def test_the_compliant_charger_passes_the_contact_line_cases_through_the_wago_node(tmp_path: Path) -> None:
    assert verdicts(tmp_path / "run", LINE_CASES, COMPLIANT) == dict.fromkeys(LINE_CASES, "pass")


@pytest.mark.parametrize(("profile", "case"), [
    ("chademo-ignores-emergency-stop", "chademo.abnormal.emergency_stop"),
    ("chademo-unlocks-before-welding-check", "chademo.charge.normal@leaf-40"),
])
def test_a_charger_the_lines_convict_fails_through_the_wago_node(tmp_path: Path, profile: str, case: str) -> None:
    assert verdicts(tmp_path / "run", [case], DUTS / f"{profile}.yaml") == {case: "fail"}
