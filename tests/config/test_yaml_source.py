"""Line-aware YAML loading: every problem names file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rig.core.errors import InputFileError
from rig.config.yaml_source import LocatedValueError, load_document, load_model


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Step(Strict):
    to_v: float
    hold_s: float


class Outer(Strict):
    name: str
    steps: list[Step] = []


class TripParams(Strict):
    hold_s: float
    threshold_a: float


class TripCase(Strict):
    procedure: Literal["trip_time"]
    id: str
    params: TripParams


class RampParams(Strict):
    rate_hz_per_s: float


class RampCase(Strict):
    procedure: Literal["rocof_ramp"]
    id: str
    params: RampParams


Case = Annotated[TripCase | RampCase, Field(discriminator="procedure")]


class Plan(Strict):
    cases: list[Case]


class Window(Strict):
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.low > self.high:
            raise LocatedValueError(("high",), "must not be below low")
        return self


def write(tmp_path: Path, text: str, name: str = "doc.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def refusal(path: Path, model: type[BaseModel]) -> InputFileError:
    with pytest.raises(InputFileError) as caught:
        load_model(path, model)
    return caught.value


def test_document_keeps_plain_data_and_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nsteps:\n  - to_v: 1\n    hold_s: 2\n  -\n    to_v: 3\n")
    doc = load_document(path)
    assert doc.data == {"name": "x", "steps": [{"to_v": 1, "hold_s": 2}, {"to_v": 3}]}
    assert doc.line_of(("name",)) == 1
    assert doc.line_of(("steps",)) == 2
    assert doc.line_of(("steps", 0)) == 3
    assert doc.line_of(("steps", 0, "hold_s")) == 4
    assert doc.line_of(("steps", 1, "to_v")) == 6
    assert doc.line_of(("steps", 1, "hold_s")) == 6  # falls back to the item, which starts at its content
    assert doc.line_of(("nowhere", "deeper")) == 1  # falls back to the root


def test_unknown_key_names_its_line_and_the_allowed_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nsteps:\n  - to_v: 1\n    hold_s: 2\n    hold: 3\n")
    error = refusal(path, Outer)
    assert (error.line, error.field) == (5, "steps[0].hold")
    assert error.message == "unknown key (allowed: to_v, hold_s)"
    assert str(error) == f"{path}:5: steps[0].hold: unknown key (allowed: to_v, hold_s)"


def test_wrong_type_names_the_value_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nsteps:\n  - to_v: 1\n    hold_s: 2\n  - to_v: abc\n    hold_s: 1\n")
    error = refusal(path, Outer)
    assert (error.line, error.field) == (5, "steps[1].to_v")
    assert error.message == "expected a number, got 'abc'"


def test_missing_field_names_the_parent_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nsteps:\n  - to_v: 1\n    hold_s: 2\n  - to_v: 2\n")
    error = refusal(path, Outer)
    assert (error.line, error.field) == (5, "steps[1].hold_s")
    assert error.message == "missing required field"


def test_missing_top_level_field_names_line_one(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, "# a comment\nsteps: []\n"), Outer)
    assert (error.line, error.field, error.message) == (2, "name", "missing required field")


def test_further_problems_are_counted(tmp_path: Path) -> None:
    path = write(tmp_path, "name: 5\nsteps:\n  - to_v: a\n    hold_s: b\n")
    error = refusal(path, Outer)
    assert error.line == 1
    assert error.message == "expected text, got 5 (and 2 more problems)"


def test_discriminated_union_tag_is_skipped_when_locating(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "cases:\n"
        "  - {procedure: rocof_ramp, id: a, params: {rate_hz_per_s: 1.0}}\n"
        "  - procedure: trip_time\n"
        "    id: b\n"
        "    params:\n"
        "      hold_s: 1.5\n"
        "      threshold_a: 1.5\n"
        "      x: 2\n",
    )
    error = refusal(path, Plan)
    assert (error.line, error.field) == (8, "cases[1].params.x")
    assert error.message == "unknown key (allowed: hold_s, threshold_a)"


def test_discriminated_union_missing_and_wrong_type(tmp_path: Path) -> None:
    missing = write(tmp_path, "cases:\n  - procedure: trip_time\n    id: b\n    params:\n      hold_s: 1\n")
    error = refusal(missing, Plan)
    assert (error.line, error.field, error.message) == (
        4,
        "cases[0].params.threshold_a",
        "missing required field",
    )
    wrong = write(tmp_path, "cases:\n  - procedure: rocof_ramp\n    id: b\n    params: {rate_hz_per_s: [1]}\n")
    error = refusal(wrong, Plan)
    assert (error.line, error.field, error.message) == (
        4,
        "cases[0].params.rate_hz_per_s",
        "expected a number, got a list",
    )


def test_unknown_procedure_names_the_tag_line(tmp_path: Path) -> None:
    path = write(tmp_path, "cases:\n  - id: a\n    procedure: trip_tme\n    params: {}\n")
    error = refusal(path, Plan)
    assert (error.line, error.field) == (3, "cases[0].procedure")
    assert error.message == "unknown procedure 'trip_tme' (expected 'trip_time', 'rocof_ramp')"


def test_missing_discriminator_names_the_item(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, "cases:\n  - id: a\n    params: {}\n"), Plan)
    assert (error.line, error.field, error.message) == (2, "cases[0].procedure", "missing required field")


def test_misspelt_key_is_reported_rather_than_the_missing_field(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, "name: x\nsteps:\n  - to_v: 1\n    hold: 2\n"), Outer)
    assert (error.line, error.field) == (4, "steps[0].hold")
    assert error.message == "unknown key (allowed: to_v, hold_s) (and 1 more problem)"


def test_located_value_error_points_below_the_model(tmp_path: Path) -> None:
    path = write(tmp_path, "low: 5\nhigh: 1\n")
    error = refusal(path, Window)
    assert (error.line, error.field, error.message) == (2, "high", "must not be below low")


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nsteps:\n  - to_v: 1\n   hold_s: [2\n")
    with pytest.raises(InputFileError) as caught:
        load_document(path)
    assert caught.value.line == 4
    assert caught.value.field is None
    assert caught.value.message.startswith("not valid YAML: ")


def test_duplicate_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as caught:
        load_document(write(tmp_path, "name: x\nsteps: []\nname: y\n"))
    assert (caught.value.line, caught.value.field) == (3, "name")
    assert caught.value.message == "duplicate key (first at line 1)"


def test_merge_keys_still_work(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "base: &b {to_v: 1, hold_s: 2}\nstep:\n  <<: *b\n  hold_s: 3\n"))
    assert doc.data["step"] == {"to_v": 1, "hold_s": 3}


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as caught:
        load_document(tmp_path / "absent.yaml")
    assert (caught.value.line, caught.value.message) == (None, "file not found")


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    with pytest.raises(InputFileError) as caught:
        load_document(write(tmp_path, text))
    assert caught.value.line == 1
    assert "empty" in caught.value.message


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as caught:
        load_document(write(tmp_path, "- a\n- b\n"))
    assert caught.value.line == 1
    assert caught.value.message == "expected a mapping (key: value) at the top level, got a list"
