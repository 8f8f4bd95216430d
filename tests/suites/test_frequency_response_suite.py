"""The G99 frequency-response suite end to end on the simulated lab: the grid simulator steps the frequency in
its list mode, the digitizer's capture is read through the real SCPI driver, and power is measured over whole
cycles. It passes the compliant charger, fails each defective one on exactly the cases that judge its defect,
passes the one just inside every limit, and refuses to judge what it cannot (wrong power level, noise)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from campaign_helpers import (VERDICTS_ONLY, COMPLIANT, ROOT, assert_exact_verdicts, bench_without, profile_variant,
                              profiles_exercising, run_cases)
from rig.run.engine import CampaignRun
from rig.core.errors import InputFileError
from rig.config.plans import load_plan
from rig.core.results import CaseResult, RunResults
from rig.sim.charger.dut_profile import load_dut_profile
from rig.evidence.verify import verify_run

pytestmark = pytest.mark.e2e  # end-to-end runs: not in the fast layer (-m 'not e2e')

PLAN = ROOT / "test_plans" / "g99" / "frequency_response.yaml"
LFSM_O = "g99.fr.lfsm_o"
LFSM_O_HALF = "g99.fr.lfsm_o_half"
REDUCED = "g99.fr.reduced_frequency"
REFERENCE_SEQUENCE = [50.45, 50.70, 51.15, 50.70, 50.45, 50.00]  # shared/reference/g99.md


@pytest.fixture(scope="module")
def compliant_run(tmp_path_factory: pytest.TempPathFactory) -> CampaignRun:
    return run_cases(tmp_path_factory.mktemp("fr") / "run", plan=PLAN)


def _results(run: CampaignRun) -> RunResults:
    assert run.recorder is not None
    return run.recorder.results


def _cases(run: CampaignRun) -> dict[str, CaseResult]:
    return {c.id: c for c in _results(run).cases}


def test_compliant_charger_passes_both_functions_at_both_levels(compliant_run) -> None:
    results = _results(compliant_run)
    assert results.run.status == "complete"
    assert {c.id: c.verdict for c in results.cases} == {LFSM_O: "pass", LFSM_O_HALF: "pass", REDUCED: "pass"}


def test_the_half_level_is_set_through_dut_control_and_judged_on_the_same_line(compliant_run) -> None:
    """The rig limits the 6 kW charger to 3700 W (the middle of 40-60 % of 7400 W); the droop is per unit of that
    reference, so each step settles on the same line; the other cases run at the charger's own power."""
    cases = _cases(compliant_run)
    half = cases[LFSM_O_HALF].measured
    assert half["export_limit_w"] == 3700.0
    assert half["reference_power_w"] == pytest.approx(3700.0, rel=2e-3)
    assert half["power_level_pu"] == pytest.approx(0.5, rel=2e-3)
    for k in range(1, 7):
        assert half[f"step{k}_line_pu"] == cases[LFSM_O].measured[f"step{k}_line_pu"]
    assert "export_limit_w" not in cases[LFSM_O].measured and "export_limit_w" not in cases[REDUCED].measured
    assert cases[REDUCED].measured["power_level_pu"] == pytest.approx(6000.0 / 7400.0, rel=1e-3)  # released


def test_the_plan_plays_the_reference_sequence_and_judges_every_step(compliant_run) -> None:
    lfsm = _cases(compliant_run)[LFSM_O]
    steps = lfsm.params["steps"]
    assert isinstance(steps, list) and [step["frequency_hz"] for step in steps] == REFERENCE_SEQUENCE
    for k in range(1, 7):
        assert {f"step{k}_deviation_pu", f"step{k}_response_s", f"step{k}_excursion_pu"} <= set(lfsm.limits)
    assert set(_cases(compliant_run)[REDUCED].limits) == {f"step{k}_deviation_pu" for k in range(1, 5)}


def test_every_judged_value_carries_its_uncertainty_and_budget(compliant_run) -> None:
    for case in _results(compliant_run).cases:
        for name in case.limits:
            assert case.measured[name] is not None, (case.id, name)
            u = case.uncertainty[name]
            assert u.expanded > 0 and u.components, (case.id, name)
        assert case.acceptance.keys() == case.limits.keys()


def test_what_was_measured_is_what_the_simulated_charger_did(compliant_run) -> None:
    """The compliant profile: 6 kW, droop 10 % above 50.4 Hz, 0.2 s dead time, 0.3 s lag, full power below."""
    response = load_dut_profile(COMPLIANT).frequency_response
    assert response is not None and response.lfsm_o is not None
    lfsm_o = response.lfsm_o
    case = _cases(compliant_run)[LFSM_O]
    m = {name: value for name, value in case.measured.items() if value is not None}
    assert m.keys() == case.measured.keys()  # everything measured
    assert m["reference_power_w"] == pytest.approx(6000.0, rel=1e-3)
    assert m["power_level_pu"] == pytest.approx(6000.0 / 7400.0, rel=1e-3)
    lines = [1.0 - max(f - 50.4, 0.0) / 5.0 for f in [50.0] + REFERENCE_SEQUENCE]
    for k, (before, line) in enumerate(zip(lines, lines[1:]), start=1):
        assert m[f"step{k}_line_pu"] == pytest.approx(line)
        assert abs(m[f"step{k}_deviation_pu"]) <= case.uncertainty[f"step{k}_deviation_pu"].expanded
        gap = abs(before - line)
        true_entry = lfsm_o.delay_s + lfsm_o.time_constant_s * math.log(gap / 0.025) if gap > 0.025 else 0.0
        assert abs(m[f"step{k}_response_s"] - true_entry) <= case.uncertainty[f"step{k}_response_s"].expanded, k
        assert m[f"step{k}_excursion_pu"] < 0.002
    reduced = _cases(compliant_run)[REDUCED].measured
    for k in range(1, 5):  # full power at every under-frequency
        assert reduced[f"step{k}_power_w"] == pytest.approx(6000.0, abs=3.0)


def test_the_evidence_keeps_the_capture_the_cycle_powers_and_a_plot(compliant_run) -> None:
    assert compliant_run.recorder is not None
    run_dir = compliant_run.recorder.run_dir
    assert verify_run(run_dir).ok
    for case in _results(compliant_run).cases:
        assert {path.rsplit("/", 1)[1] for path in case.traces} == {"capture.parquet", "power.parquet"}
        assert case.plot is not None and case.plot.kind == "g99.frequency_response"
        assert (run_dir / "plots" / f"{case.id}.svg").is_file()
        steps = case.params["steps"]
        assert isinstance(steps, list) and len(case.findings) == len(steps)
    html = (run_dir / "report.html").read_text()
    assert "Frequency response summary" in html and f"{LFSM_O} step 6" in html


def _profiles() -> list:
    return profiles_exercising("g99.frequency_response", PLAN)


def test_there_is_a_defective_profile_for_each_defect_and_a_just_inside_one() -> None:
    names = {p.id for p in _profiles()}
    assert {"fr-wrong-droop", "fr-slow-response", "fr-no-lfsm", "fr-reduces-early", "fr-just-inside"} <= names
    assert [p.id for p in _profiles() if not p.values[1]] == ["fr-just-inside"]


@pytest.mark.parametrize(("profile", "expected"), _profiles())
def test_each_frequency_response_profile_gets_exactly_its_expected_verdicts(tmp_path: Path, profile: Path,
                                                                          expected: dict) -> None:
    results = _results(run_cases(tmp_path / "run", dut=profile, plan=PLAN, evidence=VERDICTS_ONLY))
    assert_exact_verdicts(results, expected)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_just_inside_profile_passes_on_other_seeds(tmp_path: Path, seed: int) -> None:
    results = _results(run_cases(tmp_path / "run", dut=ROOT / "fixtures" / "duts" / "fr-just-inside.yaml",
                                 plan=PLAN, seed=seed, evidence=VERDICTS_ONLY))
    assert {c.id: c.verdict for c in results.cases if c.verdict != "pass"} == {}


def test_the_defects_fail_on_the_values_that_judge_them(tmp_path: Path) -> None:
    """Not just a failing case: the slow charger fails its response time, settling on the line all the same."""
    slow = ROOT / "fixtures" / "duts" / "fr-slow-response.yaml"
    case = _cases(run_cases(tmp_path / "run", ids=[LFSM_O], dut=slow, plan=PLAN, evidence=VERDICTS_ONLY))[LFSM_O]
    failing = {name for name, zone in case.acceptance.items() if not zone.admits(case.measured.get(name))}
    assert "step3_response_s" in failing and not any(name.endswith("deviation_pu") for name in failing)


def _plan_variant(tmp_path: Path, change: Callable[[dict], None]) -> Path:
    data = yaml.safe_load(PLAN.read_text())
    change(data)
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_dut_exporting_40_to_60_percent_itself_is_judged_there_without_a_limit(tmp_path: Path) -> None:
    """A charger set to half its capacity by its own means: the half level is judged at its own power; the > 80 %
    level cannot be reached by a limit (it only lowers the export) and is an error, never a pass."""
    half = profile_variant(tmp_path, "half", lambda d: d["ac_port"]["operating_point"].update(export_power_w=3700.0))
    results = _results(run_cases(tmp_path / "run", dut=half, plan=PLAN, evidence=VERDICTS_ONLY))
    verdicts = {c.id: c.verdict for c in results.cases}
    assert verdicts == {LFSM_O: "error", LFSM_O_HALF: "pass", REDUCED: "pass"}  # the reduced-frequency case asks no level
    cases = {c.id: c for c in results.cases}
    assert "export_limit_w" not in cases[LFSM_O_HALF].measured
    assert cases[LFSM_O_HALF].measured["power_level_pu"] == pytest.approx(0.5, rel=1e-3)
    error = cases[LFSM_O].error or ""
    assert "cannot judge" in error and "50.0% of the registered capacity" in error and "limited to 6660 W" in error
    assert cases[LFSM_O].traces  # the capture is kept to show why


def test_a_bench_without_dut_control_cannot_judge_the_half_level(tmp_path: Path) -> None:
    bench = bench_without(tmp_path, "dut_control")
    results = _results(run_cases(tmp_path / "run", plan=PLAN, bench=bench, ids=[LFSM_O_HALF], evidence=VERDICTS_ONLY))
    (case,) = results.cases
    assert case.verdict == "error"
    assert "81.1% of the registered capacity" in (case.error or "")
    assert "no dut_control role" in (case.error or "") and "export_limit_w" not in case.measured


def test_a_capture_too_noisy_for_the_band_is_not_judged(tmp_path: Path) -> None:
    noisy = profile_variant(tmp_path, "noisy", lambda d: d["ac_port"].update(current_noise_a=8.0))
    results = _results(run_cases(tmp_path / "run", dut=noisy, plan=PLAN, evidence=VERDICTS_ONLY))
    for case in results.cases:
        assert case.verdict == "error" and "not clear of noise" in (case.error or ""), case.id


def test_a_settled_window_longer_than_a_hold_is_refused_at_its_line(tmp_path: Path) -> None:
    text = PLAN.read_text().replace("- {frequency_hz: 51.15, hold_s: 10.0}", "- {frequency_hz: 51.15, hold_s: 4.0}")
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "hold_s: 4.0" in row)
    with pytest.raises(InputFileError, match=rf"plan.yaml:{line}: cases\[0\].params.steps\[2\].hold_s: .*settled_s"):
        load_plan(path)


def test_every_frequency_step_is_checked_against_the_envelope() -> None:
    (lfsm, _, _) = load_plan(PLAN)
    changes = [(c.old, c.new, c.how) for c in lfsm.case.setpoint_changes(lfsm.plan)]
    assert changes == [(50.0, 50.45, "step"), (50.45, 50.7, "step"), (50.7, 51.15, "step"), (51.15, 50.7, "step"),
                       (50.7, 50.45, "step"), (50.45, 50.0, "step")]
