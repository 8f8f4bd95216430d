"""The G99 power quality suite end to end on the simulated lab: the digitizer captures the charger's current over
its SCPI wire, the rig analyses it in synchronised windows; the compliant charger passes every case with the values
its profile states, each defective one fails exactly the case that judges its defect, the one just inside every
limit passes, every judged value carries its uncertainty, and what cannot be judged is an error, never a pass."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from campaign_helpers import (VERDICTS_ONLY, COMPLIANT, DUTS, ROOT, assert_exact_verdicts, assert_inside_by_more_than_uncertainty,
                              cases_of, expectations, profiles_exercising, run_cases)
from rig.run.engine import CampaignRun
from rig.core.errors import InputFileError
from rig.config.plans import load_plan
from rig.evidence.verify import verify_run

pytestmark = pytest.mark.e2e  # end-to-end runs: not in the fast layer (-m 'not e2e')

PLAN = ROOT / "test_plans" / "g99" / "power_quality.yaml"
CASES = ("g99.pq.harmonics", "g99.pq.harmonics_half", "g99.pq.dc_injection", "g99.pq.power_factor")


@pytest.fixture(scope="module")
def pq_run(tmp_path_factory: pytest.TempPathFactory) -> CampaignRun:
    """The power quality plan on the compliant charger, once per module."""
    return run_cases(tmp_path_factory.mktemp("pq") / "run", plan=PLAN)



def test_the_half_power_harmonics_are_judged_at_half_power_through_the_dut_controls(pq_run):
    """G99 asks for harmonics at 45-55 % too: the compliant charger exports 81 %, so the rig limits it to 50 %
    (the bench's dut_control role) and the case records where it was judged."""
    half = cases_of(pq_run)["g99.pq.harmonics_half"]
    assert 45.0 <= half.measured["export_power_pct_of_rated"] <= 55.0
    assert any("limited to 3700 W" in finding for finding in half.findings)
    assert cases_of(pq_run)["g99.pq.harmonics"].measured["export_power_pct_of_rated"] > 80.0


def test_without_the_dut_controls_the_half_power_case_is_an_error_not_a_pass(tmp_path):
    from campaign_helpers import bench_without

    results = run_cases(tmp_path / "run", plan=PLAN, ids=["g99.pq.harmonics_half"],
                        bench=bench_without(tmp_path, "dut_control"), evidence=VERDICTS_ONLY).recorder.results
    (case,) = results.cases
    assert case.verdict == "error" and "no dut_control role" in (case.error or "")


def test_the_compliant_charger_passes_every_case(pq_run):
    results = pq_run.recorder.results
    assert results.run.status == "complete"
    assert [c.id for c in results.cases] == list(CASES)
    assert {c.id: (c.verdict, c.error) for c in results.cases if c.verdict != "pass"} == {}


def test_it_measures_what_the_compliant_profile_states(pq_run):
    """compliant.yaml: h3 0.5 A, h5 0.3 A, h7 0.15 A, DC 0.01 A, 2.5 degrees lagging, 6000 W of 7400 W."""
    cases = cases_of(pq_run)
    harmonics = cases["g99.pq.harmonics"].measured
    for name, stated in {"h3_a": 0.5, "h5_a": 0.3, "h7_a": 0.15}.items():
        assert harmonics[name] == pytest.approx(stated, abs=cases["g99.pq.harmonics"].uncertainty[name].expanded)
    assert all(harmonics[f"h{n}_a"] < 0.01 for n in range(2, 41) if n not in (3, 5, 7))  # noise only
    assert harmonics["fundamental_hz"] == pytest.approx(50.0, abs=1e-4)
    assert harmonics["export_power_pct_of_rated"] == pytest.approx(100.0 * 6000.0 / 7400.0, abs=0.05)
    dc = cases["g99.pq.dc_injection"]
    assert abs(dc.measured["dc_current_a"]) == pytest.approx(0.01, abs=dc.uncertainty["dc_current_a"].expanded)
    assert dc.measured["dc_injection_pct"] == pytest.approx(100.0 * 0.01 / 32.0, abs=0.005)
    pf = cases["g99.pq.power_factor"]
    assert pf.measured["displacement_angle_deg"] == pytest.approx(2.5, abs=0.01)  # lagging: positive
    assert pf.measured["displacement_power_factor"] == pytest.approx(math.cos(math.radians(2.5)), abs=1e-4)
    harmonic_rms = math.sqrt(0.5**2 + 0.3**2 + 0.15**2)
    fundamental = 6000.0 / 230.0 / math.cos(math.radians(2.5))
    expected_pf = math.cos(math.radians(2.5)) * fundamental / math.hypot(fundamental, harmonic_rms)
    assert pf.measured["power_factor"] == pytest.approx(expected_pf, abs=1e-4)


def test_every_judged_value_carries_its_uncertainty_budget(pq_run):
    for case in pq_run.recorder.results.cases:
        for name in case.limits:
            budget = case.uncertainty[name]
            assert budget.expanded > 0 and budget.coverage_factor == 2.0, (case.id, name)
            sources = " ".join(c.source for c in budget.components)
            assert "resolution" in sources and "noise" in sources and "leakage" in sources, (case.id, name)
    harmonics = cases_of(pq_run)["g99.pq.harmonics"]
    assert max(u.expanded for u in harmonics.uncertainty.values()) < 0.02  # well below the smallest limit, 0.046 A


def test_each_case_says_where_it_was_judged_and_keeps_its_evidence(pq_run):
    run_dir = pq_run.recorder.run_dir
    for case in pq_run.recorder.results.cases:
        assert any(finding.startswith("judged at ") and ("operating point" in finding or "dut_control" in finding)
                   for finding in case.findings)
        assert {path.rsplit("/", 1)[1] for path in case.traces} >= {"capture.parquet", "windows.parquet"}
        assert (run_dir / "plots" / f"{case.id}.svg").is_file()
    assert cases_of(pq_run)["g99.pq.harmonics"].plot.kind == "g99.pq.spectrum"
    assert verify_run(run_dir).ok
    html = (run_dir / "report.html").read_text()
    assert "Power quality summary" in html and "harmonic h40 (group)" in html
    data = json.loads((run_dir / "results.json").read_text())
    assert data["cases"][0]["limits"]["h3_a"] == {"min": None, "max": 2.3, "unit": "A"}


def _profiles() -> list:
    return profiles_exercising("g99.power_quality", PLAN)


def test_there_are_defective_power_quality_profiles_and_a_just_inside_one():
    defective = {p.values[0].stem for p in _profiles() if p.values[1]}
    boundary = {p.values[0].stem for p in _profiles() if not p.values[1]}
    assert {"pq-excess-h3", "pq-dc-injection", "pq-low-power-factor"} <= defective
    assert "pq-just-inside" in boundary
    assert "g99.power_quality" in expectations(COMPLIANT)["exercises"]


@pytest.mark.parametrize(("profile", "expected"), _profiles())
def test_each_power_quality_profile_gets_exactly_its_expected_verdicts(tmp_path, profile, expected):
    results = run_cases(tmp_path / "run", dut=profile, plan=PLAN, evidence=VERDICTS_ONLY).recorder.results
    assert_exact_verdicts(results, expected)


def test_the_just_inside_profile_passes_on_other_seeds_by_more_than_its_uncertainty(tmp_path):
    """Other noise: every value stays inside its limit by more than its expanded uncertainty."""
    for seed in (1, 2):
        results = run_cases(tmp_path / f"run{seed}", dut=DUTS / "pq-just-inside.yaml", plan=PLAN, seed=seed, evidence=VERDICTS_ONLY)
        assert_inside_by_more_than_uncertainty(results.recorder.results, seed)


def _plan_variant(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    text = PLAN.read_text()
    assert text.count(old) == count, old
    path = tmp_path / "plan.yaml"
    path.write_text(text.replace(old, new))
    return path


def test_a_fundamental_less_steady_than_the_plan_allows_is_an_error_never_a_pass(tmp_path):
    """The charger's current moves by noise alone between windows (about 0.01 %); a plan that allows less cannot
    be judged: every case is an error that keeps its capture."""
    path = _plan_variant(tmp_path, "max_current_change_pct: 5.0", "max_current_change_pct: 0.0001", count=4)
    results = run_cases(tmp_path / "run", plan=path, evidence=VERDICTS_ONLY).recorder.results
    for case in results.cases:
        assert case.verdict == "error" and "fundamental is not stable" in (case.error or ""), case.id
        assert any(trace.endswith("capture.parquet") for trace in case.traces)


@pytest.mark.parametrize(("old", "new", "field", "message"), [
    ("sample_rate_hz: 10000, cycles_per_window: 10, windows: 15, max_order: 40,",
     "sample_rate_hz: 4000, cycles_per_window: 10, windows: 15, max_order: 40,",
     "cases[0].params.sample_rate_hz", "cannot carry h40"),
    ("      h40_a: {max: 0.046, unit: A}", "      h41_a: {max: 0.046, unit: A}", "cases[0].limits.h41_a",
     "outside the orders analysed"),
    ("      h39_a: {max: 0.0576, unit: A}", "      harmonic_39: {max: 0.0576, unit: A}", "cases[0].limits.harmonic_39",
     "named h<order>_a"),
    ("windows: 15, max_order: 40,\n             grouping: group,", "windows: 15, max_order: 40,\n             grouping: groups,",
     "cases[0].params.grouping", "expected 'group' or 'subgroup'"),
    ("rating: {power_w: 7400.0, current_a: 32.0}", "rating: {power_w: 7400.0}", "rating.current_a", "missing"),
])
def test_bad_plan_input_is_refused_at_its_line(tmp_path, old, new, field, message):
    path = _plan_variant(tmp_path, old, new)
    with pytest.raises(InputFileError) as caught:
        load_plan(path)
    assert caught.value.field == field and message in caught.value.message
    changed = new.splitlines()[-1].strip()
    assert caught.value.line == next(n for n, text in enumerate(path.read_text().splitlines(), start=1)
                                     if changed in text)
