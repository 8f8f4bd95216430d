"""An OCPP 2.1 V2X case judged at the grid on the ZES LMG600 as well as the digitizer: the plan says what the
analyzer must hold, not a model's range, so the LMG ranges itself (400 V where a WT takes 300 V) and each settled
power is judged on its updates too. Before, the plan named the WT's 300 V range and every V2X case errored on an
LMG bench."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaign_helpers import ROOT, VERDICTS_ONLY, run_cases

pytestmark = pytest.mark.e2e

V2X_PLAN = ROOT / "test_plans" / "ocpp" / "ocpp21_v2x.yaml"
BENCH = ROOT / "fixtures" / "benches" / "sim-zes_lmg600.yaml"


def test_a_setpoint_case_is_judged_on_the_lmg600_too(tmp_path: Path) -> None:
    run = run_cases(tmp_path / "run", ids=["TC_Q_109_CS"], plan=V2X_PLAN, bench=BENCH, evidence=VERDICTS_ONLY)
    case = run.recorder.results.cases[0]
    assert case.verdict == "pass", case.error
    judged = {name: value for name, value in case.measured.items() if name.endswith("_analyzer_error_w")}
    assert len(judged) == 3 and all(value is not None for value in judged.values())
