"""The bench file schema: the shipped benches load, bad benches are refused at their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from rig.config.bench_file import Bench, Envelope, load_bench
from rig.core.errors import InputFileError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "benches"

MINIMAL = """\
bench: lab
instruments:
  grid:
    driver: chroma_61800
    address: {address}
envelope:
  ac_voltage_v: {{min: 0.0, max: 300.0}}
  ac_frequency_hz: {{min: 45.0, max: 65.0}}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bench.yaml"
    path.write_text(text)
    return path


def refusal(path: Path) -> InputFileError:
    with pytest.raises(InputFileError) as caught:
        load_bench(path)
    return caught.value


def test_default_bench_loads() -> None:
    bench = load_bench(FIXTURES / "sim.yaml")
    assert bench.bench == "sim-lab"
    assert bench.source == FIXTURES / "sim.yaml"
    assert bench.simulated_lab is not None
    assert (bench.simulated_lab.time, bench.simulated_lab.seed) == ("virtual", 20261124)
    assert set(bench.instruments) == {"grid", "capture", "battery", "dio", "vehicle", "island_load", "csms", "dut_control",
                                     "analyzer"}
    grid = bench.instruments["grid"]
    assert (grid.driver, grid.address, grid.calibration_due, grid.options) == ("chroma_61800", "sim", None, {})
    assert grid.is_simulated
    assert bench.envelope.ac_voltage_v.max == 300.0
    assert bench.envelope.ac_current_a is not None and bench.envelope.ac_current_a.min is None
    assert bench.envelope.ac_frequency_slew_hz_per_s is not None
    assert bench.envelope.ac_frequency_slew_hz_per_s.max == 50.0


def test_realtime_bench_differs_only_in_name_description_and_time() -> None:
    virtual = load_bench(FIXTURES / "sim.yaml")
    real = load_bench(FIXTURES / "sim-realtime.yaml")
    assert real.bench == "sim-lab-realtime"
    assert real.simulated_lab is not None and real.simulated_lab.time == "real"
    different = {"bench", "description", "simulated_lab"}
    assert real.model_dump(exclude=different) == virtual.model_dump(exclude=different)


def test_real_instrument_without_simulated_lab(tmp_path: Path) -> None:
    bench = load_bench(write(tmp_path, MINIMAL.format(address="TCPIP0::192.168.0.10::5025::SOCKET")))
    assert bench.simulated_lab is None
    assert bench.envelope.ac_power_w is None  # absent: no limit configured
    assert not bench.instruments["grid"].is_simulated


def test_sim_address_without_simulated_lab_names_the_address_line(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, MINIMAL.format(address="sim")))
    assert (error.line, error.field) == (5, "instruments.grid.address")
    assert "simulated_lab" in error.message


def test_simulated_lab_defaults(tmp_path: Path) -> None:
    bench = load_bench(write(tmp_path, MINIMAL.format(address="sim") + "simulated_lab: {}\n"))
    assert bench.simulated_lab is not None
    assert (bench.simulated_lab.time, bench.simulated_lab.seed) == ("virtual", 0)


def test_unknown_key_in_envelope(tmp_path: Path) -> None:
    text = MINIMAL.format(address="GPIB0::5::INSTR") + "  dc_energy_wh: {max: 500}\n"
    error = refusal(write(tmp_path, text))
    assert (error.line, error.field) == (9, "envelope.dc_energy_wh")
    assert error.message.startswith("unknown key (allowed: ac_voltage_v, ac_frequency_hz, ac_current_a")


def test_required_envelope_quantity(tmp_path: Path) -> None:
    text = MINIMAL.format(address="GPIB0::5::INSTR").replace("  ac_frequency_hz: {min: 45.0, max: 65.0}\n", "")
    error = refusal(write(tmp_path, text))
    assert (error.line, error.field, error.message) == (6, "envelope.ac_frequency_hz", "missing required field")


def test_min_above_max(tmp_path: Path) -> None:
    text = MINIMAL.format(address="GPIB0::5::INSTR").replace("{min: 45.0, max: 65.0}", "{min: 65.0, max: 45.0}")
    error = refusal(write(tmp_path, text))
    assert (error.line, error.field) == (8, "envelope.ac_frequency_hz")
    assert error.message == "min 65.0 is greater than max 45.0"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("max: 300.0", "max: '300'", "expected a number, got '300'"),
        ("max: 300.0", "max: .inf", "expected a finite number, got inf"),
        ("max: 300.0", "max: yes", "expected a number, got true"),
    ],
)
def test_envelope_numbers_are_strict(tmp_path: Path, old: str, new: str, message: str) -> None:
    error = refusal(write(tmp_path, MINIMAL.format(address="GPIB0::5::INSTR").replace(old, new)))
    assert (error.line, error.field, error.message) == (7, "envelope.ac_voltage_v.max", message)


def test_unknown_role(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, MINIMAL.format(address="GPIB0::5::INSTR").replace("grid:", "gird:")))
    assert (error.line, error.field) == (3, "instruments.gird")
    assert error.message.startswith("unknown instrument role (known: grid, island_load, dut_control")


@pytest.mark.parametrize("written", ["2026-03-01", "'2026-03-01'"])
def test_calibration_due_is_kept_as_iso_text(tmp_path: Path, written: str) -> None:
    text = MINIMAL.format(address="GPIB0::5::INSTR").replace(
        "    driver:", f"    calibration_due: {written}\n    driver:"
    )
    assert load_bench(write(tmp_path, text)).instruments["grid"].calibration_due == "2026-03-01"


def test_calibration_due_must_be_a_date(tmp_path: Path) -> None:
    text = MINIMAL.format(address="GPIB0::5::INSTR").replace(
        "    driver:", "    calibration_due: next spring\n    driver:"
    )
    error = refusal(write(tmp_path, text))
    assert (error.line, error.field) == (4, "instruments.grid.calibration_due")
    assert error.message == "expected a date as YYYY-MM-DD, got 'next spring'"


def test_bench_built_in_code_has_no_source() -> None:
    bench = Bench.model_validate(
        {
            "bench": "x",
            "instruments": {},
            "envelope": {"ac_voltage_v": {"max": 1.0}, "ac_frequency_hz": {"min": 1.0}},
        }
    )
    assert bench.source is None


def test_envelope_declares_units_and_slews() -> None:
    assert Envelope.unit_of("ac_power_w") == "W"
    assert Envelope.slew_quantity_of("ac_voltage_v") == "ac_voltage_slew_v_per_s"
    assert Envelope.slew_quantity_of("ac_frequency_slew_hz_per_s") == "ac_frequency_slew_hz_per_s"
    with pytest.raises(ValueError):
        Envelope.slew_quantity_of("ac_current_a")
