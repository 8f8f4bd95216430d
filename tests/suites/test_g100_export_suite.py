"""The G100 export limitation suite end to end on the simulated lab: the rig switches the household load banks and
the boundary CT's break relay over Modbus TCP and polls the grid simulator's power meter (the site boundary) over
SCPI; the compliant charger passes every case, each defective one fails exactly the cases that judge its defect,
the one just inside every limit passes, every judged value carries its uncertainty, what cannot be judged is an
error, never a pass, and every site output ends off."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaign_helpers import (VERDICTS_ONLY, COMPLIANT, DUTS, ROOT, SIM_BENCH, assert_exact_verdicts,
                              assert_inside_by_more_than_uncertainty, cases_of, profiles_exercising, run_cases)
from drivers.dio.modbus_dio import ModbusDio
from drivers.grid.chroma_61800 import Chroma61800
from rig.config.bench_file import load_bench
from rig.run.engine import CampaignRun
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import InputFileError
from rig.config.plans import load_plan
from rig.sim.charger.dut_profile import load_dut_profile
from rig.sim.simulated_lab import SimulatedLab
from rig.evidence.verify import verify_run

pytestmark = pytest.mark.e2e  # end-to-end runs: not in the fast layer (-m 'not e2e')

PLAN = ROOT / "test_plans" / "g100" / "export_limitation.yaml"
CASES = ("g100.export.load_steps", "g100.export.excursion", "g100.export.sensor_loss")
SITE_LINES = ("load_a", "load_b", "ct_break")


@pytest.fixture(scope="module")
def g100_run(tmp_path_factory: pytest.TempPathFactory) -> CampaignRun:
    return run_cases(tmp_path_factory.mktemp("g100") / "run", plan=PLAN)



def test_the_compliant_charger_passes_every_case(g100_run):
    results = g100_run.recorder.results
    assert results.run.status == "complete"
    assert [c.id for c in results.cases] == list(CASES)
    assert {c.id: (c.verdict, c.error) for c in results.cases if c.verdict != "pass"} == {}


def test_it_measures_what_the_compliant_profile_states(g100_run):
    """compliant.yaml: boundary regulated to 6000 W, dispatched 7300 W, 0.1 s readings, 0.2 s dead time, 0.5 s lag;
    fail-safe after 1 s to 0 W with a 0.5 s lag."""
    cases = cases_of(g100_run)
    steps = cases["g100.export.load_steps"].measured
    assert steps["max_export_w"] == pytest.approx(6000.0, abs=1.0)
    assert steps["max_charger_export_w"] == pytest.approx(7300.0, abs=2.0)
    excursion = cases["g100.export.excursion"]
    assert excursion.measured["peak_export_w"] == pytest.approx(7300.0, abs=1.0)
    # 0.05 s (mean wait for a reading) + 0.2 s + 0.5 s x ln(1300 / 100): about 1.53 s
    expected = 0.05 + 0.2 + 0.5 * __import__("math").log(13.0)
    assert excursion.measured["correction_time_s"] == pytest.approx(expected, abs=0.1 + 0.06)
    assert excursion.measured["settled_export_w"] == pytest.approx(6000.0, abs=0.5)
    loss = cases["g100.export.sensor_loss"].measured
    assert loss["failsafe_time_s"] == pytest.approx(0.05 + 1.0 + 0.2 + 0.5 * __import__("math").log(60.0), abs=0.16)
    assert loss["final_export_w"] == pytest.approx(0.0, abs=0.5)


def test_every_judged_value_carries_its_uncertainty_budget_and_the_evidence_verifies(g100_run):
    run_dir = g100_run.recorder.run_dir
    for case in g100_run.recorder.results.cases:
        for name in case.limits:
            budget = case.uncertainty[name]
            assert budget.expanded > 0 and budget.coverage_factor == 2.0, (case.id, name)
            sources = " ".join(c.source for c in budget.components)
            assert "meter accuracy" in sources, (case.id, name)
        assert case.plot is not None and case.plot.kind == "g100.boundary_export"
        assert (run_dir / "plots" / f"{case.id}.svg").is_file()
        assert any(trace.endswith("readings.parquet") for trace in case.traces)
    timed = cases_of(g100_run)["g100.export.excursion"].uncertainty["correction_time_s"]
    assert "between the last reading above" in " ".join(c.source for c in timed.components)
    assert verify_run(run_dir).ok
    html = (run_dir / "report.html").read_text()
    assert "Export limitation summary (G100)" in html and "excursion corrected" in html


def _profiles() -> list:
    return profiles_exercising("g100.export_limitation")


def test_there_are_defective_g100_profiles_and_a_just_inside_one():
    defective = {p.values[0].stem for p in _profiles() if p.values[1]}
    boundary = {p.values[0].stem for p in _profiles() if not p.values[1]}
    assert {"g100-slow-correction", "g100-no-failsafe", "g100-limit-high"} <= defective
    assert "g100-just-inside" in boundary
    assert load_dut_profile(COMPLIANT).export_limitation is not None


@pytest.mark.parametrize(("profile", "expected"), _profiles())
def test_each_g100_profile_gets_exactly_its_expected_verdicts(tmp_path, profile, expected):
    results = run_cases(tmp_path / "run", dut=profile, plan=PLAN, evidence=VERDICTS_ONLY).recorder.results
    assert_exact_verdicts(results, expected)


def test_the_just_inside_profile_passes_on_other_seeds_by_more_than_its_uncertainty(tmp_path):
    for seed in (1, 2):
        results = run_cases(tmp_path / f"run{seed}", dut=DUTS / "g100-just-inside.yaml", plan=PLAN, seed=seed, evidence=VERDICTS_ONLY)
        assert_inside_by_more_than_uncertainty(results.recorder.results, seed)


def _plan_variant(tmp_path: Path, old: str, new: str) -> Path:
    text = PLAN.read_text()
    assert text.count(old) == 1, old
    path = tmp_path / "plan.yaml"
    path.write_text(text.replace(old, new))
    return path


def test_an_excursion_the_bench_loads_cannot_make_is_an_error_never_a_pass(tmp_path):
    path = _plan_variant(tmp_path, "min_excursion_w: 200.0", "min_excursion_w: 5000.0")
    results = run_cases(tmp_path / "run", plan=path, ids=["g100.export.excursion"], evidence=VERDICTS_ONLY).recorder.results
    case = results.cases[0]
    assert case.verdict == "error" and "not reachable" in (case.error or "")
    assert any(trace.endswith("readings.parquet") for trace in case.traces)


def test_a_charger_that_never_uses_the_headroom_leaves_the_load_steps_unjudged(tmp_path):
    """A charger dispatched to no more than its operating point never exports above the limit: an error."""
    profile = tmp_path / "flat.yaml"
    profile.write_text(COMPLIANT.read_text().replace("dispatched_export_w: 7300.0", "dispatched_export_w: 6000.0"))
    results = run_cases(tmp_path / "run", plan=PLAN, dut=profile, evidence=VERDICTS_ONLY).recorder.results
    verdicts = {c.id: (c.verdict, c.error) for c in results.cases}
    assert verdicts["g100.export.load_steps"][0] == "error"
    assert "did not exercise its export limitation" in (verdicts["g100.export.load_steps"][1] or "")
    assert verdicts["g100.export.excursion"][0] == "error"


class _Dio:
    def __init__(self) -> None:
        self.state: dict[str, bool] = {}

    def set_output(self, line: str, on: bool) -> None:
        self.state[line] = on


class _Task:
    cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


@pytest.mark.parametrize("ending", ["returns", "raises"])
def test_every_site_output_is_off_at_the_end_of_a_case_on_every_exit_path(ending):
    from types import SimpleNamespace

    from rig.suites.g100_export.procedures import site_under_test
    dio, task = _Dio(), _Task()
    lab = SimpleNamespace(dio=dio, site=load_bench(SIM_BENCH).site,
                          clock=SimpleNamespace(every=lambda *a, **k: task, now=lambda: 0.0))
    plan = load_plan(PLAN)[0].plan
    try:
        with site_under_test(lab, plan):  # type: ignore[arg-type]
            for line in SITE_LINES:
                dio.set_output(line, True)
            if ending == "raises":
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert dio.state == {line: False for line in SITE_LINES} and task.cancelled


def test_the_grid_simulators_readings_are_the_boundary_charger_export_less_the_household_load():
    bench = load_bench(SIM_BENCH)
    with SimulatedLab(load_dut_profile(COMPLIANT), seed=1) as lab:
        lab.model.site.fit({b: v.rated_power_w for b, v in bench.site.load_banks.items()}, 230.0)  # type: ignore[union-attr]
        grid = Chroma61800(lab.serve("chroma_61800"), name="grid", envelope=EnvelopeGuard.from_bench(bench))
        dio = ModbusDio(lab.serve("modbus_dio"), name="dio", options=bench.instruments["dio"].options)
        try:
            grid.setup()
            dio.setup()
            grid.apply(230.0, 50.0)
            grid.output(True)
            lab.advance_to(25.0)
            assert grid.power_w() == pytest.approx(-6000.0, abs=0.2)
            dio.set_output("load_b", True)  # 1500 W at 230 V, before the charger's limiter has read it
            assert grid.power_w() == pytest.approx(-4500.0, abs=0.5)
            assert grid.current_a() == pytest.approx(4500.0 / 230.0, abs=0.05)
            lab.advance_to(40.0)  # the charger now exports 7300 W: 5800 W cross the boundary
            assert grid.power_w() == pytest.approx(-5800.0, abs=0.5)
            dio.set_output("load_b", False)
            dio.set_output("ct_break", True)
            assert dio.read_outputs()["ct_break"]
        finally:
            dio.safe_off()
            grid.safe_off()
            dio.close()
            grid.close()


@pytest.mark.parametrize(("old", "new", "field", "message"), [
    ("      max_export_w: {max: 6100.0, unit: W}", "      max_export_w: {max: 6200.0, unit: W}",
     "cases[0].limits.max_export_w.max", "export_limit_w"),
    ("params: {preload: [load_a], settle_s: 15.0, observe_s: 15.0, settled_s: 5.0,",
     "params: {preload: [load_a], settle_s: 15.0, observe_s: 15.0, settled_s: 15.0,",
     "cases[1].params.settled_s", "shorter than observe_s"),
])
def test_bad_plan_input_is_refused_at_its_line(tmp_path, old, new, field, message):
    path = _plan_variant(tmp_path, old, new)
    with pytest.raises(InputFileError) as caught:
        load_plan(path)
    assert caught.value.field == field and message in caught.value.message


def test_a_site_line_the_dio_does_not_have_is_refused_at_its_line(tmp_path):
    text = SIM_BENCH.read_text().replace("  sensor_break: ct_break", "  sensor_break: ct_open")
    path = tmp_path / "bench.yaml"
    path.write_text(text)
    with pytest.raises(InputFileError) as caught:
        load_bench(path)
    assert caught.value.field == "site.sensor_break" and "not an output line of the dio" in caught.value.message
    assert caught.value.line == next(n for n, line in enumerate(text.splitlines(), start=1) if "ct_open" in line)
