"""The G99 protection suite end to end on the simulated lab: it passes a compliant
charger, fails each defective one on exactly the cases that judge its defect,
and measures what the simulated charger really did."""

from __future__ import annotations

import json

import pytest
import yaml

from campaign_helpers import COMPLIANT, DUTS, run_cases
from rig.verify import verify_run

STAGES = ("uv", "ov1", "ov2", "uf1", "uf2", "of")
REFERENCE_NO_TRIP_POINTS = {  # shared/reference/g99.md, "No-trip tests"
    ("uv", 188.0, 5.0), ("uv", 180.0, 2.45), ("ov1", 258.2, 5.0), ("ov2", 269.7, 0.98), ("ov2", 277.7, 0.48),
    ("uf1", 47.7, 25.0), ("uf2", 47.2, 19.98), ("uf2", 46.8, 0.48), ("of", 51.8, 120.0), ("of", 52.2, 0.48),
}


def test_compliant_charger_passes_every_case(compliant_run):
    results = compliant_run.recorder.results
    assert results.run.status == "complete"
    failing = {c.id: (c.verdict, c.measured, c.error) for c in results.cases if c.verdict != "pass"}
    assert not failing


def test_suite_covers_every_stage_and_every_reference_no_trip_point(compliant_run):
    cases = compliant_run.recorder.results.cases
    ids = {c.id for c in cases}
    for stage in STAGES:
        assert f"g99.{stage}.trip_value" in ids and f"g99.{stage}.trip_time" in ids
    no_trip = {(c.id.split(".")[1], c.params["level"], c.params["hold_s"]) for c in cases if c.procedure == "no_trip"}
    assert no_trip == REFERENCE_NO_TRIP_POINTS


def test_results_json_holds_the_contract(compliant_run):
    data = json.loads((compliant_run.recorder.run_dir / "results.json").read_text())
    run = data["run"]
    for key in ("status", "started", "finished", "bench", "dut", "rig_version", "sim_seconds", "wall_seconds"):
        assert key in run
    assert run["sim_seconds"] > 600
    for case in data["cases"]:
        for key in ("id", "suite", "clause", "verdict", "measured", "limits"):
            assert key in case
    assert {i["role"] for i in run["instruments"]} == {"grid", "capture"}
    assert all(i["idn"] for i in run["instruments"])


def test_evidence_verifies_and_report_shows_every_case(compliant_run):
    run_dir = compliant_run.recorder.run_dir
    assert verify_run(run_dir).ok
    html = (run_dir / "report.html").read_text()
    for case in compliant_run.recorder.results.cases:
        assert case.id in html
        assert case.plot is not None and (run_dir / case.plot.trace).is_file()  # every case is drawn
        assert (run_dir / "plots" / f"{case.id}.svg").is_file()
        assert case.plot.kind == ("staircase" if case.procedure == "trip_value" else "trip_time")


def test_measured_trip_time_is_within_1ms_of_the_true_trip_instant(compliant_run):
    """The simulated charger's own record of when its output opened is the truth."""
    sim = compliant_run.bench.sim
    trips = sim.model.charger.trips
    triggers = sim.model.grid.trigger_times
    checked = 0
    for case in compliant_run.recorder.results.cases:
        if case.procedure != "trip_time":
            continue
        start, end = case.sim_started_s, case.sim_finished_s
        trigger = next(t for t in triggers if start <= t <= end)
        trip = next(t for t in trips if trigger <= t.opened_s <= end)
        true_trip_time = trip.opened_s - trigger
        assert abs(case.measured["trip_time_s"] - true_trip_time) < 1e-3, case.id
        checked += 1
    assert checked == len(STAGES)


def _defective_profiles() -> list:
    profiles = []
    for path in sorted(DUTS.glob("*.yaml")):
        if path != COMPLIANT:
            expected = yaml.safe_load(path.read_text()).get("expected_failures")
            profiles.append(pytest.param(path, set(expected), id=path.stem))
    return profiles


def test_there_are_at_least_four_defective_profiles():
    assert len(_defective_profiles()) >= 4


@pytest.mark.parametrize(("profile", "expected"), _defective_profiles())
def test_defective_charger_fails_exactly_the_cases_that_judge_its_defect(tmp_path, profile, expected):
    results = run_cases(tmp_path / "run", dut=profile).recorder.results
    assert results.run.status == "complete"
    failed = {c.id for c in results.cases if c.verdict != "pass"}
    assert failed == expected
    assert all(c.verdict == "fail" for c in results.cases if c.id in failed)  # judged, not errored
