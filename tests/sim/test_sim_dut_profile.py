"""The DUT profile schema: the operating point within the rating, the charger's clock, errors at file:line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rig.core.errors import InputFileError
from rig.sim.charger.dut_profile import DRAWN_RATE_ERROR_PPM, load_dut_profile

DUTS = Path(__file__).resolve().parents[2] / "fixtures" / "duts"
COMPLIANT_TEXT = (DUTS / "compliant.yaml").read_text()


def line_of(text: str, fragment: str) -> int:
    (line,) = [n for n, content in enumerate(text.splitlines(), start=1) if fragment in content]
    return line


def variant(tmp_path: Path, replacements: dict[str, str]) -> Path:
    """compliant.yaml with some lines rewritten (so the error's line is known)."""
    text = COMPLIANT_TEXT
    for old, new in replacements.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "variant.yaml"
    path.write_text(text)
    return path


def refusal(path: Path) -> InputFileError:
    with pytest.raises(InputFileError) as caught:
        load_dut_profile(path)
    return caught.value


@pytest.mark.parametrize("path", sorted(DUTS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_profile_in_the_fixtures_is_within_its_rating(path: Path) -> None:
    profile = load_dut_profile(path)
    assert abs(profile.ac_port.operating_point.export_power_w) <= profile.ac_port.rating.power_w
    assert abs(profile.ac_port.operating_point.export_power_w) / profile.ac_port.rating.nominal_voltage_v <= profile.ac_port.rating.current_a


# -- the operating point within the rating ------------------------------------------------------------


@pytest.mark.parametrize("power", ["7500.0", "-7500.0"])
def test_an_export_or_import_above_the_rated_power_is_refused_at_its_line(tmp_path: Path, power: str) -> None:
    path = variant(tmp_path, {"export_power_w: 6000.0": f"export_power_w: {power}"})
    error = refusal(path)
    assert error.line == line_of(path.read_text(), "export_power_w")
    assert error.field == "ac_port.operating_point.export_power_w"
    assert "rating.power_w: 7400 W" in error.message
    assert str(error).startswith(f"{path}:{error.line}: ac_port.operating_point.export_power_w: {float(power):g} W")


def test_a_current_above_the_rating_at_nominal_voltage_is_refused_at_the_power(tmp_path: Path) -> None:
    path = variant(tmp_path, {"current_a: 32.0": "current_a: 25.0"})  # 6000 W at 230 V is 26.09 A
    error = refusal(path)
    assert error.line == line_of(path.read_text(), "export_power_w")
    assert error.field == "ac_port.operating_point.export_power_w"
    assert error.message == ("6000 W at the nominal 230 V is 26.09 A, above the rated current "
                             "(rating.current_a: 25 A)")


def test_a_charging_current_above_the_rating_is_refused_too(tmp_path: Path) -> None:
    path = variant(tmp_path, {"export_power_w: 6000.0": "export_power_w: -6000.0",
                              "current_a: 32.0": "current_a: 25.0"})
    assert "26.09 A, above the rated current" in refusal(path).message


def test_an_operating_point_exactly_at_the_rating_is_accepted(tmp_path: Path) -> None:
    # 7360 W at 230 V is exactly 32 A (a quotient that rounds a hair either side is the rating)
    exact = variant(tmp_path, {"export_power_w: 6000.0": "export_power_w: 7360.0", "power_w: 7400.0": "power_w: 7360.0"})
    profile = load_dut_profile(exact)
    assert profile.ac_port.operating_point.export_power_w == profile.ac_port.rating.power_w == 7360.0
    above = variant(tmp_path, {"export_power_w: 6000.0": "export_power_w: 7361.0"})
    assert "32.00 A, above the rated current" in refusal(above).message


def test_a_duplicate_stage_name_is_refused_at_the_second_one(tmp_path: Path) -> None:
    path = variant(tmp_path, {"{name: O/V stage 1,": "{name: O/V stage 2,"})
    error = refusal(path)
    assert error.field == "ac_port.protection[2].name"
    assert error.line == line_of(path.read_text(), "threshold: 273.7")  # the second O/V stage 2
    assert "'O/V stage 2' is used twice" in error.message


# -- the charger's clock ---------------------------------------------------------------------------------


def test_the_clock_rate_error_is_drawn_from_the_identity_unless_the_profile_sets_it(tmp_path: Path) -> None:
    compliant = load_dut_profile(DUTS / "compliant.yaml")
    assert compliant.clock.rate_error_ppm is None
    assert DRAWN_RATE_ERROR_PPM == 100.0
    set_ = variant(tmp_path, {"ac_port:\n": "clock: {rate_error_ppm: -35.5}\nac_port:\n"})
    assert load_dut_profile(set_).clock.rate_error_ppm == -35.5


def test_the_evaluation_cycle_is_grid_locked_unless_the_profile_frees_it(tmp_path: Path) -> None:
    assert load_dut_profile(DUTS / "compliant.yaml").clock.cycle == "grid_locked"
    free = variant(tmp_path, {"ac_port:\n": "clock: {cycle: free_running}\nac_port:\n"})
    assert load_dut_profile(free).clock.cycle == "free_running"


@pytest.mark.parametrize(("clock", "message"), [
    ("{rate_error_ppm: 20000}", "less than or equal to 10000"),
    ("{rate_error_ppm: fast}", "expected a number"),
    ("{drift_ppm: 3}", "unknown key (allowed: rate_error_ppm, cycle, after_zero_crossing_s)"),
    ("{cycle: locked}", "grid_locked"),
    ("{after_zero_crossing_s: 0.02}", "less than 0.01"),
])
def test_a_bad_clock_is_refused_at_its_line(tmp_path: Path, clock: str, message: str) -> None:
    path = variant(tmp_path, {"ac_port:\n": f"clock: {clock}\nac_port:\n"})
    error = refusal(path)
    assert error.line == line_of(path.read_text(), "clock:")
    assert message in error.message


# -- a face's fields in its own section -----------------------------------------------------------------------


def test_an_ac_port_field_written_at_the_top_is_told_where_it_belongs(tmp_path: Path) -> None:
    """The layout before each face had its section: the AC port's fields at the top of the file."""
    path = variant(tmp_path, {"  current_noise_a: 0.05\n": "", "ac_port:\n": "current_noise_a: 0.05\nac_port:\n"})
    error = refusal(path)
    assert error.line == line_of(path.read_text(), "current_noise_a")
    assert error.field == "current_noise_a" and "ac_port: {current_noise_a: ...}" in error.message
