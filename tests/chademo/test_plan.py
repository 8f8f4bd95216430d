"""The CHAdeMO plan is refused, in one line naming file, line and field, when it would judge wrongly.

A CHAdeMO plan decides which rules judge a charger and with which limits; a
plan that silently fell back to an unconfirmed [?] default, ran a vehicle the
plan does not describe, asked for a rule that does not exist or discharged a
vehicle that cannot do V2H would produce verdicts nobody chose. Each test
copies the real plan (``test_plans/chademo/compliance.yaml``) with one
targeted edit and loads it the way ``rig run`` / ``rig list`` do
(``rig.config.plans.load_cases``), so the tests exercise what users hit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rig.chademo.parameters import ChademoParameters
from rig.chademo.rules import RULES
from rig.run.cli import run_command_line
from rig.core.errors import InputFileError
from rig.config.plans import load_cases
from rig.suites.chademo.plan import Plan

ROOT = Path(__file__).resolve().parents[2]
CHADEMO_PLAN = ROOT / "test_plans" / "chademo" / "compliance.yaml"
VEHICLES = ROOT / "fixtures" / "vehicles"


def plan_text() -> str:
    """The real plan with its vehicle files named absolutely (the copy lives in tmp_path)."""
    text = CHADEMO_PLAN.read_text()
    assert "../../fixtures/vehicles/" in text
    return text.replace("../../fixtures/vehicles/", f"{VEHICLES}/")


def edited_plan(tmp_path: Path, old: str, new: str) -> Path:
    """The real plan with ``old`` (which must occur exactly once) replaced by ``new``."""
    text = plan_text()
    assert text.count(old) == 1, f"the edit must hit one place: {old!r}"
    path = tmp_path / "compliance.yaml"
    path.write_text(text.replace(old, new))
    return path


def line_with(path: Path, marker: str) -> int:
    """The (1-based) line of the only line holding ``marker``."""
    lines = [n for n, text in enumerate(path.read_text().splitlines(), 1) if marker in text]
    assert len(lines) == 1, f"{marker!r} on lines {lines}"
    return lines[0]


def refused(path: Path, line: int, field: str | None, *words: str) -> InputFileError:
    """Loading ``path`` fails with ``file:line: field: message`` and the message holds ``words``."""
    with pytest.raises(InputFileError) as caught:
        load_cases([path])
    error = caught.value
    assert (error.file, error.line, error.field) == (path.resolve(), line, field), str(error)
    assert str(error).startswith(f"{path.resolve()}:{line}: {field}: "), str(error)
    for word in words:
        assert word in error.message, str(error)
    return error


# -- the real plan ---------------------------------------------------------------------------------

def test_the_compliance_plan_loads_its_cases_and_runs_matrix_cases_once_per_vehicle():
    loaded = load_cases([CHADEMO_PLAN])
    plan = loaded[0].plan
    assert isinstance(plan, Plan)
    assert len(plan.cases) == 22
    assert len(loaded) == 26
    ids = [run.case.id for run in loaded]
    assert len(set(ids)) == len(ids)
    assert [i for i in ids if i.startswith("chademo.charge.normal")] == [
        "chademo.charge.normal@leaf-24-protocol1", "chademo.charge.normal@leaf-40",
        "chademo.charge.normal@ze1-62", "chademo.charge.normal@chademo2-probe"]
    assert [i for i in ids if i.startswith("chademo.v2h.discharge@")] == [
        "chademo.v2h.discharge@leaf-40", "chademo.v2h.discharge@ze1-62"]
    by_id = {run.case.id: run for run in loaded}
    assert by_id["chademo.charge.normal@ze1-62"].case.vehicle == "ze1-62"
    case_line = 1 + CHADEMO_PLAN.read_text().splitlines().index("  - id: chademo.charge.normal")
    assert by_id["chademo.charge.normal@ze1-62"].line == by_id["chademo.charge.normal@leaf-40"].line == case_line
    # a case naming one vehicle keeps its id; one naming none runs with the default vehicle
    assert by_id["chademo.v2h.discharge_current_limit"].case.vehicle == "v2h-probe"
    assert by_id["chademo.abnormal.can_silence"].case.vehicle == plan.default_vehicle == "leaf-40"


def test_every_rule_the_compliance_plan_must_judge_exists():
    known = {rule.id for rule in RULES}
    plan = load_cases([CHADEMO_PLAN])[0].plan
    assert isinstance(plan, Plan)
    for case in plan.cases:
        assert case.params.must_judge, f"{case.id} names no rule it exercises"
        assert set(case.params.must_judge) <= known, case.id


def test_the_compliance_plan_states_every_unconfirmed_parameter():
    plan = load_cases([CHADEMO_PLAN])[0].plan
    assert isinstance(plan, Plan)
    assert set(ChademoParameters.unconfirmed()) <= plan.parameters.model_fields_set
    assert plan.parameters.can_silence_s == 1.0 and plan.parameters.stop_current_within_s == 0.5


# -- unconfirmed [?] parameters -------------------------------------------------------------------

@pytest.mark.parametrize("name", ChademoParameters.unconfirmed())
def test_an_unconfirmed_parameter_left_out_is_refused_naming_it(tmp_path, name):
    text = plan_text()
    (line,) = [row for row in text.splitlines(keepends=True) if row.startswith(f"  {name}:")]
    path = tmp_path / "compliance.yaml"
    path.write_text(text.replace(line, ""))
    error = refused(path, line_with(path, "parameters:"), "parameters", "unconfirmed [?]", name)
    others = set(ChademoParameters.unconfirmed()) - {name}
    assert not any(other in error.message for other in others), "only the missing one is named"


def test_a_plan_without_parameters_is_refused_naming_every_unconfirmed_one(tmp_path):
    block = plan_text().split("parameters:\n", 1)[1].split("cases:\n", 1)[0]
    path = edited_plan(tmp_path, "parameters:\n" + block, "")
    with pytest.raises(InputFileError) as caught:
        load_cases([path])
    assert caught.value.file == path.resolve() and caught.value.line is not None
    for name in ChademoParameters.unconfirmed():
        assert name in caught.value.message


def test_a_plan_without_parameters_names_the_parameters_field(tmp_path):
    block = plan_text().split("parameters:\n", 1)[1].split("cases:\n", 1)[0]
    path = edited_plan(tmp_path, "parameters:\n" + block, "")
    with pytest.raises(InputFileError) as caught:
        load_cases([path])
    assert caught.value.field == "parameters"


def test_a_misspelt_parameter_is_refused_as_an_unknown_key(tmp_path):
    path = edited_plan(tmp_path, "  can_silence_s: 1.0", "  can_silent_s: 1.0")
    refused(path, line_with(path, "can_silent_s"), "parameters.can_silent_s", "unknown key", "can_silence_s")


# -- names that must resolve ----------------------------------------------------------------------

def test_an_unknown_vehicle_in_a_case_is_refused_naming_it(tmp_path):
    path = edited_plan(tmp_path, "vehicles: [leaf-40, ze1-62]", "vehicles: [leaf-40, leaf-41]")
    refused(path, line_with(path, "leaf-41"), "cases[16].vehicles", "no vehicle 'leaf-41'", "v2h-probe")


def test_an_unknown_default_vehicle_is_refused(tmp_path):
    path = edited_plan(tmp_path, "default_vehicle: leaf-40", "default_vehicle: leaf-41")
    refused(path, line_with(path, "default_vehicle:"), "default_vehicle", "not in the plan's vehicles")


def test_a_vehicle_profile_that_does_not_exist_is_refused_naming_the_vehicle(tmp_path):
    path = edited_plan(tmp_path, f"  ze1-62: {VEHICLES}/ze1-62.yaml", "  ze1-62: nowhere/ze1-62.yaml")
    refused(path, line_with(path, "nowhere/ze1-62.yaml"), "vehicles.ze1-62", "no such vehicle profile",
            "nowhere/ze1-62.yaml")


def test_an_unknown_rule_in_must_judge_is_refused_naming_its_item(tmp_path):
    path = edited_plan(tmp_path, "evse.reported_vs_measured, evse.normal_stop_sequence, evse.unlock",
                       "evse.reported_vs_measurd, evse.normal_stop_sequence, evse.unlock")
    # the eighth item of a list spread over three lines: the line is the item's, not the key's
    refused(path, line_with(path, "evse.reported_vs_measurd"), "cases[0].params.must_judge[7]",
            "no rule 'evse.reported_vs_measurd'", "evse.reported_vs_measured")


def test_an_unknown_limit_is_refused_as_an_unknown_key(tmp_path):
    path = edited_plan(tmp_path, "      tracking_error_a: {max: 1.0", "      tracking_eror_a: {max: 1.0")
    refused(path, line_with(path, "tracking_eror_a"), "cases[0].limits.tracking_eror_a", "unknown key",
            "tracking_error_a")


def test_an_unknown_session_param_is_refused_as_an_unknown_key(tmp_path):
    path = edited_plan(tmp_path, "      stop_after_s: 15\n      must_judge: [bus.cycle",
                       "      stop_after: 15\n      must_judge: [bus.cycle")
    refused(path, line_with(path, "stop_after: 15"), "cases[0].params.stop_after", "unknown key", "stop_after_s")


def test_an_unknown_injection_action_is_refused(tmp_path):
    path = edited_plan(tmp_path, "action: shift_not_park", "action: shift_to_drive")
    refused(path, line_with(path, "shift_to_drive"), "cases[8].params.injection.action", "shift_to_drive")


# -- V2H only with vehicles that can --------------------------------------------------------------

def test_a_discharge_case_with_a_vehicle_that_cannot_discharge_is_refused(tmp_path):
    path = edited_plan(tmp_path, "vehicles: [leaf-40, ze1-62]", "vehicles: [leaf-40, leaf-24-protocol1]")
    refused(path, line_with(path, "params: {direction: discharge, stop_after_s: 15,"), "cases[16].params.direction",
            "'leaf-24-protocol1'", "not discharge compatible")


def test_a_discharge_case_without_vehicles_needs_a_v2h_default_vehicle(tmp_path):
    path = edited_plan(tmp_path, "default_vehicle: leaf-40", "default_vehicle: chademo2-probe")
    # the first discharge case that runs with the default vehicle: chademo.v2h.fault_during_discharge
    refused(path, line_with(path, "params: {direction: discharge, injection: {at: steady, action: fault_under"),
            "cases[20].params.direction", "'chademo2-probe'", "not discharge compatible")


def test_a_discharge_floor_override_on_a_charge_case_needs_v2h_vehicles(tmp_path):
    path = edited_plan(tmp_path, "      stop_after_s: 15\n      must_judge: [bus.cycle",
                       "      stop_after_s: 15\n      min_discharge_voltage_v: 300.0\n      must_judge: [bus.cycle")
    refused(path, line_with(path, "min_discharge_voltage_v: 300.0"), "cases[0].params.min_discharge_voltage_v",
            "'leaf-24-protocol1'", "not discharge compatible")


# -- values out of range --------------------------------------------------------------------------

@pytest.mark.parametrize(("old", "new", "field", "message"), [
    pytest.param("      stop_after_s: 15\n      must_judge: [bus.cycle", "      stop_after_s: -15\n      must_judge: "
                 "[bus.cycle", "cases[0].params.stop_after_s", "greater than 0", id="negative-stop_after_s"),
    pytest.param("      stop_after_s: 15\n      must_judge: [bus.cycle", "      stop_after_s: 0\n      must_judge: "
                 "[bus.cycle", "cases[0].params.stop_after_s", "greater than 0", id="zero-stop_after_s"),
    pytest.param("initial_soc_percent: 32.0", "initial_soc_percent: 132.0", "cases[19].params.initial_soc_percent",
                 "less than or equal to 100", id="soc-above-100"),
    pytest.param("max_discharge_current_a: 8.0", "max_discharge_current_a: -8.0",
                 "cases[17].params.max_discharge_current_a", "greater than or equal to 0", id="negative-current"),
    pytest.param("action: fault_current_deviation, delay_s: 2", "action: fault_current_deviation, delay_s: -2",
                 "cases[5].params.injection.delay_s", "greater than or equal to 0", id="negative-delay"),
    pytest.param("timeout_s: 60, must_judge: [evse.compatibility]", "timeout_s: .inf, must_judge: "
                 "[evse.compatibility]", "cases[2].params.timeout_s", "finite", id="infinite-timeout"),
    pytest.param("grid: {voltage_v: 230.0", "grid: {voltage_v: -230.0", "grid.voltage_v", "greater than 0",
                 id="negative-grid-voltage"),
    pytest.param("tracking_error_a: {max: 1.0, unit: A}", "tracking_error_a: {min: 2.0, max: 1.0, unit: A}",
                 "cases[0].limits.tracking_error_a", "greater than max", id="limit-min-above-max"),
])
def test_a_value_out_of_range_is_refused_naming_its_line(tmp_path, old, new, field, message):
    path = edited_plan(tmp_path, old, new)
    marker = new.splitlines()[0].strip()
    refused(path, line_with(path, marker), field, message)


# -- what the user sees ---------------------------------------------------------------------------

@pytest.mark.parametrize(("old", "new", "marker"), [
    ("  can_silence_s: 1.0                      # [?] what implementations use\n", "", "parameters:"),
    ("vehicles: [leaf-40, ze1-62]", "vehicles: [leaf-40, leaf-41]", "leaf-41"),
    ("must_judge: [evse.compatibility]", "must_judge: [evse.compatibilty]", "evse.compatibilty"),
])
def test_rig_list_reports_a_bad_plan_in_one_line_and_exits_2(tmp_path, capsys, old, new, marker):
    path = edited_plan(tmp_path, old, new)
    assert run_command_line(["list", str(path)]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert f"{path.resolve()}:{line_with(path, marker)}: " in lines[0]
