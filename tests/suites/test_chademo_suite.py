"""The CHAdeMO suite end to end on the simulated lab: the rig plays each vehicle over the real CAN bus,
contact lines and battery emulator; it passes the compliant charger, fails each defective one on exactly
the cases that judge its defect, passes the one whose every timing is just inside its limit, and keeps
a recording that `rig chademo check` judges the same way."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from campaign_helpers import (VERDICTS_ONLY, CHADEMO_PLAN, COMPLIANT, EXPECTATIONS, ROOT, assert_exact_verdicts, expectations,
                              profiles_exercising, run_cases)
from rig.sim.charger.chademo_settings import ChademoEvseSettings
from rig.suites import REGISTRY
from rig.evidence.verify import verify_run

pytestmark = pytest.mark.e2e  # end-to-end runs: not in the fast layer (-m 'not e2e')

VEHICLES = ("leaf-24-protocol1", "leaf-40", "ze1-62", "chademo2-probe")


@pytest.fixture(scope="module")
def chademo_run(tmp_path_factory: pytest.TempPathFactory):
    """The whole CHAdeMO plan on the compliant charger, once per module."""
    return run_cases(tmp_path_factory.mktemp("chademo") / "run", plan=CHADEMO_PLAN)


def test_compliant_charger_passes_every_case_and_every_vehicle_of_the_matrix(chademo_run):
    results = chademo_run.recorder.results
    assert results.run.status == "complete"
    assert {c.id: c.verdict for c in results.cases if c.verdict != "pass"} == {}
    assert len(results.cases) == 26
    assert {c.id for c in results.cases if c.id.startswith("chademo.charge.normal@")} == {
        f"chademo.charge.normal@{vehicle}" for vehicle in VEHICLES}


def test_every_case_measured_what_it_exists_for(chademo_run):
    """A pass is earned: sessions ended, stops were timed, energy moved in the direction asked."""
    cases = {c.id: c for c in chademo_run.recorder.results.cases}
    for case in cases.values():
        assert case.measured["evse_findings"] == 0
        if "reaction_s" in case.limits:
            assert case.measured["reaction_s"] is not None and case.measured["reaction_s"] <= case.limits[
                "reaction_s"].max
    assert cases["chademo.abnormal.fault_battery_overvoltage"].measured["reaction_s"] < 0.5
    assert cases["chademo.abnormal.can_silence"].measured["reaction_s"] == pytest.approx(1.0, abs=0.002)
    assert cases["chademo.abnormal.can_silence"].uncertainty["reaction_s"].expanded < 0.01  # timed to within 10 ms
    assert cases["chademo.charge.normal@leaf-40"].measured["energy_into_vehicle_wh"] > 10
    assert cases["chademo.v2h.discharge@leaf-40"].measured["energy_from_vehicle_wh"] > 10
    assert cases["chademo.v2h.discharge_current_limit"].measured["discharge_max_a"] <= 8.0
    assert cases["chademo.charge.incompatible_target_voltage"].measured["delivered_max_a"] < 0.1  # measured: nothing
    protocols = {c.id: c.measured["negotiated_protocol"] for c in cases.values() if "@" in c.id}
    assert protocols["chademo.charge.normal@leaf-24-protocol1"] == 1
    assert protocols["chademo.charge.normal@chademo2-probe"] == 2  # the charger speaks 1.0.x: min(3, 2)


def test_every_session_keeps_its_inlet_log_and_the_timeline_shows_the_measured_current(chademo_run):
    """The evidence holds the battery emulator's log (1 ms records, the whole session) beside the CAN log."""
    run_dir = chademo_run.recorder.run_dir
    case = next(c for c in chademo_run.recorder.results.cases if c.id == "chademo.charge.normal@leaf-40")
    inlet = next(path for path in case.traces if "inlet" in path)
    timeline = next(path for path in case.traces if "timeline" in path)
    log, frames = pd.read_parquet(run_dir / inlet), pd.read_parquet(run_dir / timeline)
    assert list(log.columns)[:2] == ["t_s", "current_avg_a"] and len(log) > 20_000
    assert abs((log["t_s"].diff().dropna() - 0.001).max()) < 1e-9  # every record, none lost
    charging = frames[frames["charging"] > 0]
    assert (charging["measured_a"] - charging["present_a"]).abs().max() < 1.0


def test_each_case_keeps_its_can_log_rule_table_timeline_and_plot(chademo_run):
    run_dir = chademo_run.recorder.run_dir
    for case in chademo_run.recorder.results.cases:
        assert {"can.log", "rules.csv", "timeline.parquet"} <= {path.rsplit("/", 1)[1] for path in case.traces}
        assert all((run_dir / path).stat().st_size > 100 for path in case.traces), case.id
        assert list((run_dir / "plots").glob(f"{case.id.replace('@', '_')}.*")), case.id
    assert verify_run(run_dir).ok
    html = (run_dir / "report.html").read_text()
    assert all(case.id in html for case in chademo_run.recorder.results.cases)
    assert "CHAdeMO: the charger against each vehicle" in html  # the charger x vehicle matrix
    assert all(vehicle in html for vehicle in VEHICLES)


def test_rig_chademo_check_judges_the_kept_recording_as_the_run_did(chademo_run):
    """The evidence stands on its own: the CAN log a reviewer gets is judged clean by the same rules."""
    case = next(c for c in chademo_run.recorder.results.cases if c.id == "chademo.charge.normal@leaf-40")
    log = chademo_run.recorder.run_dir / next(path for path in case.traces if path.endswith("can.log"))
    result = subprocess.run([sys.executable, "-m", "rig", "chademo", "check", str(log)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "result: no violations" in result.stdout


def test_results_record_the_chademo_findings_and_the_session_end(chademo_run):
    data = json.loads((chademo_run.recorder.run_dir / "results.json").read_text())
    case = next(c for c in data["cases"] if c["id"] == "chademo.abnormal.fault_battery_overvoltage")
    assert any(f.startswith("session ended by the EV") for f in case["findings"])
    assert case["suite"] == "chademo" and case["limits"]["reaction_s"]["max"] == 0.5


def test_every_profile_is_expected_through_suites_the_rig_has():
    for path in sorted((ROOT / "fixtures" / "duts").glob("*.yaml")):
        exercises = expectations(path)["exercises"]
        assert exercises and set(exercises) <= set(REGISTRY), path.name
    assert set(EXPECTATIONS) == {path.stem for path in (ROOT / "fixtures" / "duts").glob("*.yaml")}


def _profiles() -> list:
    return profiles_exercising("chademo", prefix="chademo.")


def test_there_are_defective_chademo_profiles_and_a_just_inside_one_that_must_pass():
    defective = [p for p in _profiles() if p.values[1]]
    boundary = [p for p in _profiles() if not p.values[1]]
    assert len(defective) >= 10 and len(boundary) >= 1


@pytest.mark.parametrize(("profile", "expected"), _profiles())
def test_each_chademo_profile_gets_exactly_its_expected_verdicts(tmp_path, profile, expected):
    results = run_cases(tmp_path / "run", dut=profile, plan=CHADEMO_PLAN, evidence=VERDICTS_ONLY).recorder.results
    assert_exact_verdicts(results, expected)


def _timing_profiles() -> list:
    """Profiles that change a CHAdeMO timing or amount (not an on/off behaviour): their verdicts depend on
    where the charger's control cycle falls against the rig's, which another seed moves."""
    defaults = ChademoEvseSettings()
    chosen = []
    for param in _profiles():
        changes = yaml.safe_load(param.values[0].read_text()).get("chademo", {})
        if any(not isinstance(getattr(defaults, key), bool) for key in changes):
            chosen.append(param)
    return chosen


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(("profile", "expected"), _timing_profiles())
def test_and_on_other_seeds_for_the_timing_profiles(tmp_path, profile, expected, seed):
    ids = list(expected) or None  # the just-inside profile: every case, since every case must still pass
    results = run_cases(tmp_path / "run", ids=ids, dut=profile, plan=CHADEMO_PLAN, seed=seed, evidence=VERDICTS_ONLY).recorder.results
    verdicts = {c.id: c.verdict for c in results.cases if c.verdict != "pass"}
    assert verdicts == expected, {c.id: (c.verdict, c.measured, c.error) for c in results.cases
                                  if c.id in set(verdicts) ^ set(expected)}


def test_compliant_profile_is_the_one_every_suite_passes():
    assert set(expectations(COMPLIANT)["exercises"]) == set(REGISTRY)
