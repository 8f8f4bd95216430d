"""Helpers for the rig's own system tests: project paths and running chosen cases of a plan."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rig.core.results import EvidenceMode
from rig.run.engine import CampaignRun, RunListener, RunRequest, prepare
from rig.sim.charger.dut_profile import load_dut_profile

ROOT = Path(__file__).resolve().parent.parent
PROTECTION_PLAN = ROOT / "test_plans" / "g99" / "protection.yaml"
CHADEMO_PLAN = ROOT / "test_plans" / "chademo" / "compliance.yaml"
CAMPAIGN = ROOT / "test_plans" / "campaigns" / "certification.yaml"
SIM_BENCH = ROOT / "fixtures" / "benches" / os.environ.get("RIG_TEST_BENCH", "sim.yaml")
"""The simulated bench the system tests run on: sim.yaml, or another simulated bench by name (``RIG_TEST_BENCH=
sim-second-families.yaml``) to put every defective charger through another driver family's dialects."""
REALTIME_BENCH = ROOT / "fixtures" / "benches" / "sim-realtime.yaml"
DUTS = ROOT / "fixtures" / "duts"
COMPLIANT = DUTS / "compliant.yaml"
VERDICTS_ONLY: EvidenceMode = "verdicts only"
"""For ``run_cases``: a test that judges verdicts alone."""


def run_cases(out: Path, *, ids: list[str] | None = None, dut: Path = COMPLIANT, bench: Path = SIM_BENCH,
              seed: int | None = None, plan: Path | list[Path] = PROTECTION_PLAN,
              listener: RunListener | None = None, evidence: EvidenceMode = "full") -> CampaignRun:
    """Run the chosen cases (all when ``ids`` is None) through the engine; returns the closed run.

    ``evidence="verdicts only"`` for a test that judges verdicts alone (a defective charger's exact verdicts):
    no plots, no report, no fsync; durability and the report stay proven by the full runs."""
    prepared = prepare(RunRequest(plan if isinstance(plan, list) else [plan], bench, dut, out, seed,
                                  evidence=evidence))
    cases = [c for c in prepared.cases if ids is None or c.case.id in ids]
    assert cases, f"no case among {ids}"
    run = CampaignRun(dataclasses.replace(prepared, cases=cases), listener)
    with run:
        for loaded in cases:
            run.run_case(loaded)
    return run


def profile_variant(tmp_path: Path, name: str, change) -> Path:
    """A copy of the compliant profile with ``change(data)`` applied (for one-off behaviours)."""
    data = yaml.safe_load(COMPLIANT.read_text())
    change(data)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def bench_without(tmp_path: Path, role: str, base: Path = SIM_BENCH) -> Path:
    """A copy of the simulated bench without ``role`` (an optional role such as dut_control)."""
    data = yaml.safe_load(base.read_text())
    del data["instruments"][role]
    path = tmp_path / f"bench-without-{role}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


EXPECTATIONS_FILE = ROOT / "tests" / "profile_expectations.yaml"
EXPECTATIONS: dict[str, dict[str, list[str]]] = yaml.safe_load(EXPECTATIONS_FILE.read_text())
"""Per DUT profile (file stem): the suites the rig's own tests run it through (``exercises``) and, there, the
cases that must fail, end in error or be skipped (``fails``, ``errors``, ``skips``)."""


def expectations(profile: Path) -> dict[str, list[str]]:
    """What the tests expect of ``profile`` (empty lists where nothing is said)."""
    said = EXPECTATIONS.get(profile.stem, {})
    return {key: list(said.get(key, [])) for key in ("exercises", "fails", "errors", "skips")}


def profiles_exercising(suite: str, plan: Path | None = None, *, prefix: str | None = None) -> list:
    """Every DUT profile but the compliant one that the expectations run through ``suite``, as pytest params
    (path, {case id: the verdict it must get}); every case not named must pass.

    With ``plan``, only the profiles built for that plan's nominal grid (``ac_port.rating.nominal_voltage_v`` and
    ``nominal_frequency_hz`` equal to its ``grid``): a 240 V 60 Hz charger exercises the same suites with another
    grid code's plans (``test_plans/ieee1547/``), never with the 230 V 50 Hz G99 ones. With ``prefix``, only the
    expected cases whose ids start with it (a profile that several suites exercise: this suite's cases)."""
    grid = None if plan is None else yaml.safe_load(plan.read_text()).get("grid")
    profiles = []
    for path in sorted(DUTS.glob("*.yaml")):
        expected_of = expectations(path)
        if path == COMPLIANT or suite not in expected_of["exercises"]:
            continue
        rating = load_dut_profile(path).ac_port.rating  # a profile extending another inherits its rating
        if grid is not None and (rating.nominal_voltage_v, rating.nominal_frequency_hz) != \
                (grid["voltage_v"], grid["frequency_hz"]):
            continue
        expected = {**{case: "fail" for case in expected_of["fails"]},
                    **{case: "error" for case in expected_of["errors"]},
                    **{case: "skip" for case in expected_of["skips"]}}
        if prefix is not None:
            expected = {case: verdict for case, verdict in expected.items() if case.startswith(prefix)}
        profiles.append(pytest.param(path, expected, id=path.stem))
    return profiles


def assert_exact_verdicts(results, expected: dict[str, str], *, complete: bool = True) -> None:
    """Every case not named in ``expected`` passed, and each named one got its verdict (the run complete)."""
    if complete:
        assert results.run.status == "complete"
    verdicts = {c.id: c.verdict for c in results.cases if c.verdict != "pass"}
    assert verdicts == expected, {c.id: (c.verdict, c.measured, c.error, c.findings) for c in results.cases
                                  if c.id in set(verdicts) ^ set(expected)}


def assert_inside_by_more_than_uncertainty(results, seed: int) -> None:
    """A just-inside profile: every case passes and every value clears its limit by more than its uncertainty."""
    for case in results.cases:
        assert case.verdict == "pass", (seed, case.id, case.error)
        for name, limit in case.limits.items():
            value, u = case.measured[name], case.uncertainty[name].expanded
            margin = (limit.max - value) if limit.max is not None else (value - limit.min)
            assert margin > u, (seed, case.id, name, value, u)


def cases_of(run: CampaignRun) -> dict:
    """The run's cases by id."""
    return {c.id: c for c in run.recorder.results.cases}


def trip_time_errors(run: CampaignRun, nominal_hz: float = 50.0) -> dict[str, float]:
    """For every trip-time case of a simulated run: the measured trip time less the true one, from the simulated
    charger's own record of when its output opened and the grid simulator's trigger (the truth a bench lacks).

    A ramp program's timed leg starts after its earlier ramps and holds, worked out here from the case's own
    parameters, independently of the rig's procedure."""
    sim = run.bench.sim
    trips, triggers = sim.model.charger.trips, sim.model.grid.trigger_times
    errors = {}
    for case in run.recorder.results.cases:
        if case.procedure != "trip_time":
            continue
        start, end = case.sim_started_s, case.sim_finished_s
        trigger = next(t for t in triggers if start <= t <= end)
        trip = next(t for t in trips if trigger <= t.opened_s <= end)
        at, origin = nominal_hz, 0.0
        for ramp in (case.params.get("ramps") or [])[:case.params.get("timed_from", 0)]:
            origin += abs(ramp["to"] - at) / ramp["rate_per_s"] + ramp.get("hold_s", 0.0)
            at = ramp["to"]
        errors[case.id] = case.measured["trip_time_s"] - (trip.opened_s - (trigger + origin))
    return errors


RIG = [sys.executable, "-m", "rig"]
"""The rig's command line, as a user runs it."""


def rig(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """``rig ARGS...`` in the checkout, its output captured."""
    return subprocess.run([*RIG, *args], cwd=ROOT, capture_output=True, text=True, timeout=300, **kwargs)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """The one line a refused input gets (no traceback, nothing else on stderr)."""
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]

