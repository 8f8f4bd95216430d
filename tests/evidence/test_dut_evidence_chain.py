"""A DUT profile that extends another is kept whole in the evidence: the run's copy reads back as the same
charger (the child alone would name a parent the run directory lacks)."""

from __future__ import annotations

import json

from campaign_helpers import DUTS, run_cases
from rig.sim.charger.dut_profile import load_dut_profile
from rig.evidence.verify import verify_run
import pytest

pytestmark = pytest.mark.e2e  # end-to-end runs: not in the fast layer (-m 'not e2e')


def test_an_extending_profile_is_copied_with_its_chain(tmp_path) -> None:
    run = run_cases(tmp_path / "run", ids=["g99.ov2.trip_time"], dut=DUTS / "ov2-slow.yaml")
    run_dir = run.recorder.run_dir
    record = json.loads((run_dir / "results.json").read_text())["run"]["dut"]
    assert record["file"] == "inputs/dut/ov2-slow.yaml"
    assert (run_dir / "inputs/dut/compliant.yaml").read_text() == (DUTS / "compliant.yaml").read_text()
    assert load_dut_profile(run_dir / record["file"]) == load_dut_profile(DUTS / "ov2-slow.yaml")
    assert verify_run(run_dir).ok
