"""A DUT profile as another profile plus changes (``extends:``): the merge rules, chains, and errors that still
name the file and line the bad value is written in."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from rig.core.errors import InputFileError
from rig.sim.charger.dut_profile import DutProfile, load_dut_profile
from rig.config.yaml_source import load_extending

DUTS = Path(__file__).resolve().parents[2] / "fixtures" / "duts"


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    """A directory holding a copy of compliant.yaml, for profiles that extend it."""
    shutil.copy(DUTS / "compliant.yaml", tmp_path / "compliant.yaml")
    return tmp_path


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def line_of(path: Path, fragment: str) -> int:
    (line,) = [n for n, content in enumerate(path.read_text().splitlines(), start=1) if fragment in content]
    return line


def refusal(path: Path) -> InputFileError:
    with pytest.raises(InputFileError) as caught:
        load_dut_profile(path)
    return caught.value


def leaves(value: Any, loc: tuple = ()) -> dict[tuple, Any]:
    """Every scalar of a model dump, by its location (so two dumps can be compared place by place)."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in leaves(item, (*loc, key)).items()}
    if isinstance(value, list):
        return {k: v for index, item in enumerate(value) for k, v in leaves(item, (*loc, index)).items()} or {loc: []}
    return {loc: value}


def differences(a: DutProfile, b: DutProfile) -> set[tuple]:
    mine, theirs = leaves(a.model_dump(mode="json")), leaves(b.model_dump(mode="json"))
    return {loc for loc in mine.keys() | theirs.keys() if mine.get(loc, "absent") != theirs.get(loc, "absent")}


def compliant() -> DutProfile:
    return load_dut_profile(DUTS / "compliant.yaml")


# -- a profile is the compliant one plus its defect ------------------------------------------------------------


def test_a_one_defect_profile_differs_from_compliant_only_in_its_defect(lab: Path) -> None:
    path = write(lab, "ov2-slow.yaml", "extends: compliant.yaml\nac_port:\n  protection:\n    O/V stage 2: {delay_s: 0.7}\n")
    assert differences(load_dut_profile(path), compliant()) == {("ac_port", "protection", 2, "delay_s")}
    assert load_dut_profile(path).ac_port.protection[2].delay_s == 0.7


def test_a_fixture_defect_profile_differs_from_compliant_only_in_its_defect() -> None:
    changed = differences(load_dut_profile(DUTS / "rocof-late-inside.yaml"), compliant())
    assert {loc[0] for loc in changed} == {"dut", "description", "ac_port"}
    assert {loc for loc in changed if loc[0] == "ac_port"} == {("ac_port", "protection", 6, "delay_s"),
                                                               ("ac_port", "protection", 7, "delay_s")}

def test_a_mapping_is_merged_key_by_key_and_a_scalar_replaces(lab: Path) -> None:
    path = write(lab, "child.yaml", "extends: compliant.yaml\n"
                                    "ac_port:\n"
                                    "  measurement: {voltage: {gain_error: 0.01}}\n"
                                    "  current_noise_a: 1.3\n")
    profile = load_dut_profile(path)
    assert differences(profile, compliant()) == {("ac_port", "measurement", "voltage", "gain_error"),
                                                  ("ac_port", "current_noise_a")}
    assert profile.ac_port.measurement.voltage.latency_s == 0.02  # the rest of the mapping is the compliant one's


def test_null_removes_a_key_so_the_schema_default_applies(lab: Path) -> None:
    path = write(lab, "child.yaml", "extends: compliant.yaml\n"
                                    "ac_port: {waveform: null, measurement: {frequency: {phase_window_s: null}}}\n"
                                    "anti_islanding: null\n"
                                    "export_limitation: {failsafe: null}\n")
    profile = load_dut_profile(path)
    assert not profile.ac_port.waveform.distorts and profile.anti_islanding is None
    assert profile.ac_port.measurement.frequency.phase_window_s is None
    assert profile.export_limitation.failsafe is None and profile.export_limitation.dispatched_export_w == 7300.0


def test_a_mapping_keeps_the_order_the_child_writes_its_keys_in(lab: Path) -> None:
    # the harmonics are summed in the order they are written: a child listing them all decides that order
    path = write(lab, "child.yaml", "extends: compliant.yaml\nac_port: {waveform: {harmonics_a: {2: 0.1, 3: 0.2, 5: 0.3}}}\n")
    assert list(load_dut_profile(path).ac_port.waveform.harmonics_a) == [2, 3, 5, 7]


# -- protection stages, by name ----------------------------------------------------------------------------------


def stage_names(profile: DutProfile) -> list[str]:
    return [stage.name for stage in profile.ac_port.protection]


def test_a_stage_is_changed_removed_or_added_by_name(lab: Path) -> None:
    path = write(lab, "child.yaml", "extends: compliant.yaml\n"
                                    "ac_port:\n"
                                    "  measurement: {vector_shift: {window_s: 0.02, latency_s: 0.0, "
                                    "evaluation_period_s: 0.01}}\n"
                                    "  protection:\n"
                                    "    U/V: {threshold: 180.0}\n"
                                    "    O/F: null\n"
                                    "    Vector shift: {quantity: vector_shift, direction: over, threshold: 12.0, "
                                    "delay_s: 0.0}\n")
    profile, base = load_dut_profile(path), compliant()
    assert stage_names(profile) == [n for n in stage_names(base) if n != "O/F"] + ["Vector shift"]
    assert profile.ac_port.protection[0].threshold == 180.0 and profile.ac_port.protection[0].delay_s == 2.5
    assert profile.ac_port.protection[-1].quantity == "vector_shift"
    assert profile.ac_port.protection[1:-1] == [s for s in base.ac_port.protection[1:] if s.name != "O/F"]


def test_a_stage_can_be_renamed_in_place(lab: Path) -> None:
    path = write(lab, "child.yaml", "extends: compliant.yaml\nac_port: {protection: {O/F: {name: O/F stage 1}}}\n")
    profile = load_dut_profile(path)
    assert stage_names(profile)[5] == "O/F stage 1" and profile.ac_port.protection[5].threshold == 52.0


def test_a_whole_list_replaces_every_stage(lab: Path) -> None:
    path = write(lab, "child.yaml", "extends: compliant.yaml\n"
                                    "ac_port:\n"
                                    "  protection:\n"
                                    "    - {name: O/F, quantity: frequency, direction: over, threshold: 52.0, "
                                    "delay_s: 0.5}\n"
                                    "    - {name: U/V, quantity: voltage, direction: under, threshold: 184.0, "
                                    "delay_s: 2.5}\n")
    assert stage_names(load_dut_profile(path)) == ["O/F", "U/V"]


# -- chains ------------------------------------------------------------------------------------------------------


def test_a_chain_applies_each_file_in_turn(lab: Path) -> None:
    write(lab, "middle.yaml", "extends: compliant.yaml\nac_port: {current_noise_a: 1.3, protection: {O/F: {delay_s: 0.3}}}\n")
    sub = lab / "sub"
    sub.mkdir()
    path = write(sub, "top.yaml", "extends: ../middle.yaml\nac_port: {protection: {O/F: {threshold: 52.11}}}\n")
    profile = load_dut_profile(path)
    assert differences(profile, compliant()) == {("ac_port", "current_noise_a"), ("ac_port", "protection", 5, "delay_s"),
                                                 ("ac_port", "protection", 5, "threshold")}


def test_an_error_inherited_through_a_chain_names_the_middle_file(lab: Path) -> None:
    middle = write(lab, "middle.yaml", "extends: compliant.yaml\nac_port: {current_noise_a: -1.0}\n")
    error = refusal(write(lab, "top.yaml", "extends: middle.yaml\ndut: top\n"))
    assert (error.file, error.line, error.field) == (middle, 2, "ac_port.current_noise_a")


def test_the_merged_document_names_every_file_it_was_read_from(lab: Path) -> None:
    # what a run's evidence must keep so that the charger can be read again
    write(lab, "middle.yaml", "extends: compliant.yaml\n")
    top = write(lab, "top.yaml", "extends: middle.yaml\n")
    assert load_extending(top).sources == (top, lab / "middle.yaml", lab / "compliant.yaml")
    assert load_extending(lab / "compliant.yaml").sources == (lab / "compliant.yaml",)


@pytest.mark.parametrize("files", [
    {"a.yaml": "extends: a.yaml\n"},
    {"a.yaml": "extends: b.yaml\n", "b.yaml": "dut: b\nextends: a.yaml\n"},
])
def test_a_cycle_is_refused_at_the_extends_that_closes_it(tmp_path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        write(tmp_path, name, text)
    error = refusal(tmp_path / "a.yaml")
    closing = list(files)[-1]
    assert (error.file, error.line, error.field) == (tmp_path / closing, line_of(tmp_path / closing, "extends:"),
                                                     "extends")
    assert "cycle" in error.message and " -> ".join([*files, "a.yaml"]) in error.message


def test_a_missing_parent_is_refused_at_the_extends_line(lab: Path) -> None:
    path = write(lab, "child.yaml", "# a defect\nextends: complaint.yaml\ndut: x\n")
    error = refusal(path)
    assert (error.file, error.line, error.field) == (path, 2, "extends")
    assert error.message == f"no such file: {lab / 'complaint.yaml'}"


@pytest.mark.parametrize(("value", "shown"), [("[compliant.yaml]", "a list"), ("5", "5"), ("''", "''"),
                                              ("", "null")])
def test_an_extends_that_is_not_a_file_name_is_refused(lab: Path, value: str, shown: str) -> None:
    path = write(lab, "child.yaml", f"dut: x\nextends: {value}\n")
    error = refusal(path)
    assert (error.file, error.line, error.field) == (path, 2, "extends")
    assert error.message == f"expected the name of the file it extends, got {shown}"


def test_a_parent_that_is_not_valid_yaml_is_reported_in_the_parent(lab: Path) -> None:
    parent = write(lab, "parent.yaml", "dut: [unclosed\n")
    error = refusal(write(lab, "child.yaml", "extends: parent.yaml\n"))
    assert error.file == parent and "not valid YAML" in error.message


# -- errors name the file and line of the bad value -------------------------------------------------------------


def test_a_bad_value_from_the_child_is_reported_at_the_childs_line(lab: Path) -> None:
    path = write(lab, "child.yaml", "extends: compliant.yaml\ndut: x\nac_port:\n  protection:\n    O/F: {delay_s: -1.0}\n")
    error = refusal(path)
    assert (error.file, error.line, error.field) == (path, 5, "ac_port.protection[5].delay_s")
    assert "greater than or equal to 0" in error.message


def test_a_bad_value_from_the_parent_is_reported_at_the_parents_line(lab: Path) -> None:
    parent = lab / "compliant.yaml"
    parent.write_text(parent.read_text().replace("current_noise_a: 0.05", "current_noise_a: loud"))
    error = refusal(write(lab, "child.yaml", "extends: compliant.yaml\ndut: x\nac_port: {protection: {O/F: {delay_s: 0.3}}}\n"))
    assert (error.file, error.line, error.field) == (parent, line_of(parent, "current_noise_a:"), "ac_port.current_noise_a")
    assert error.message == "expected a number, got 'loud'"


def test_an_unknown_key_in_the_child_is_reported_at_the_childs_line(lab: Path) -> None:
    path = write(lab, "child.yaml", "extends: compliant.yaml\nac_port:\n  measurement:\n    voltage: {gian_error: 0.01}\n")
    error = refusal(path)
    assert (error.file, error.line, error.field) == (path, 4, "ac_port.measurement.voltage.gian_error")
    assert error.message.startswith("unknown key (allowed: latency_s, evaluation_period_s, gain_error")


def test_a_required_field_the_child_removes_is_reported_at_the_childs_mapping(lab: Path) -> None:
    path = write(lab, "child.yaml", "extends: compliant.yaml\nac_port:\n  rating:\n    current_a: null\n")
    error = refusal(path)
    assert (error.file, error.line, error.field) == (path, 3, "ac_port.rating.current_a")
    assert error.message == "missing required field"


def test_a_validator_error_names_the_child_where_the_child_set_the_value(lab: Path) -> None:
    # a later stage renamed onto an earlier one's name: the second of the two is the child's, at its line
    path = write(lab, "child.yaml", "extends: compliant.yaml\nac_port:\n  protection:\n    O/V stage 2: {name: O/V stage 1}\n")
    error = refusal(path)
    assert (error.file, error.line, error.field) == (path, 4, "ac_port.protection[2].name")


def test_a_value_the_child_inherits_is_reported_in_the_parent_even_when_the_child_caused_it(lab: Path) -> None:
    # the rating is the child's, the operating point beyond it the parent's: the report is at the operating point
    path = write(lab, "child.yaml", "extends: compliant.yaml\nac_port: {rating: {current_a: 25.0}}\n")
    error = refusal(path)
    assert (error.file, error.field) == (lab / "compliant.yaml", "ac_port.operating_point.export_power_w")
    assert error.line == line_of(lab / "compliant.yaml", "export_power_w")


# -- the fixtures ---------------------------------------------------------------------------------------------


PROFILES = sorted(DUTS.glob("*.yaml"))
EXTENDING = [p for p in PROFILES if "extends" in yaml.safe_load(p.read_text())]


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_every_profile_in_the_fixtures_loads(path: Path) -> None:
    assert isinstance(load_dut_profile(path), DutProfile)


@pytest.mark.parametrize("path", EXTENDING, ids=lambda p: p.stem)
def test_every_extending_profile_changes_only_what_it_states(path: Path) -> None:
    """Each key a profile states changes its base (it says only what differs), and nothing it does not state does."""
    data = yaml.safe_load(path.read_text())
    base = load_dut_profile(path.parent / data["extends"])
    changed = {loc[0] for loc in differences(load_dut_profile(path), base)}
    stated = set(data) - {"extends"}
    assert changed == stated

