"""A driver's options are checked when the bench file loads: a misspelt or unusable one is one line naming
file:line:field (exit 2), and nothing is started (no lab, no instrument, no run directory).

Found by trying it: ``max_volts: 3`` under the battery's options started the lab, opened two instruments
and ended in an INCOMPLETE record.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import can
import pytest
import yaml
from can.interfaces import BACKENDS

import rig.run.bench_session
from campaign_helpers import ROOT, SIM_BENCH
from drivers import DRIVERS, driver_class
from drivers.vehicle.python_can_bus import PYTHON_CAN_KEYS
from rig.run.engine import RunRequest, prepare
from rig.core.errors import InputFileError

pytestmark = pytest.mark.e2e  # end-to-end runs: not in the fast layer (-m 'not e2e')

PLAN = ROOT / "test_plans" / "g99" / "protection.yaml"
DUT = ROOT / "fixtures" / "duts" / "compliant.yaml"

SIM_BENCHES = [SIM_BENCH, *sorted(SIM_BENCH.parent.glob("sim-*.yaml"))]
"""The default bench first, then each second family's (``sim-<driver>.yaml``: the default with one role swapped)."""
BENCH_OF_DRIVER: dict[str, tuple[Path, str]] = {}
for _bench in SIM_BENCHES:
    for _role, _entry in yaml.safe_load(_bench.read_text())["instruments"].items():
        BENCH_OF_DRIVER.setdefault(_entry["driver"], (_bench, _role))
ROLE_OF_DRIVER = {driver: role for driver, (_, role) in BENCH_OF_DRIVER.items()}


def _bench_with_option(tmp_path: Path, role: str, key: str, value: object,
                       base: Path = SIM_BENCH) -> tuple[Path, int]:
    """The simulated bench (``base``) with one option added under ``role`` (flow style, on its own line), and that
    line."""
    lines = base.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{role}:"))
    driver_line = next(i for i in range(at, len(lines)) if lines[i].strip().startswith("driver:"))
    options_line = next((i for i in range(at + 1, len(lines)) if lines[i].strip().startswith("options:")
                         and i < next((j for j in range(at + 1, len(lines)) if lines[j].startswith("  ")
                                       and not lines[j].startswith("    ")), len(lines))), None)
    indent = " " * (len(lines[driver_line]) - len(lines[driver_line].lstrip()))
    text = yaml.safe_dump({key: value}, default_flow_style=True).strip()[1:-1]
    end = next((j for j in range(at + 1, len(lines)) if lines[j].startswith("  ") and not lines[j].startswith("    ")),
               len(lines))
    given = next((i for i in range(at, end) if re.search(rf"(^|[{{,]\s*){key}:", lines[i].strip())), None)
    if given is not None:  # already given: its value replaced where it stands
        lines[given] = re.sub(rf"(?<![\w]){key}: [^,}}]+", text, lines[given])
        path = tmp_path / "bench.yaml"
        path.write_text("\n".join(lines) + "\n")
        return path, given + 1
    if options_line is None:
        lines.insert(driver_line + 1, f"{indent}options: {{{text}}}")
        line = driver_line + 2
    elif lines[options_line].rstrip().endswith("}"):
        lines[options_line] = lines[options_line].replace("options: {", f"options: {{{text}, ", 1)
        line = options_line + 1
    else:
        lines.insert(options_line + 1, f"{indent}  {text}")
        line = options_line + 2
    path = tmp_path / "bench.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path, line


@pytest.fixture
def nothing_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the simulated lab was started for a bench that should have been refused")

    monkeypatch.setattr(rig.run.bench_session, "SimulatedLab", refuse)


@pytest.mark.parametrize("driver", sorted(DRIVERS))
def test_an_unknown_option_names_its_file_line_and_field(tmp_path: Path, driver: str, nothing_starts: None) -> None:
    base, role = BENCH_OF_DRIVER[driver]
    bench, line = _bench_with_option(tmp_path, role, "max_volts", 3, base)
    with pytest.raises(InputFileError) as refused:
        prepare(RunRequest([PLAN], bench, DUT, tmp_path / "out"))
    assert refused.value.file == bench
    assert refused.value.line == line
    assert refused.value.field == f"instruments.{role}.options.max_volts"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("role", "driver"), [("grid", "modbus_dio"), ("battery", "chroma_61800"),
                                             ("vehicle", "keysight_rp7900"), ("capture", "rlc_load")])
def test_a_driver_in_a_role_it_cannot_fill_is_refused_at_load(tmp_path: Path, role: str, driver: str,
                                                             nothing_starts: None) -> None:
    """The role table says what each role offers; a driver lacking it is refused before anything starts, naming
    the line and what it lacks (not an AttributeError halfway through a case)."""
    lines = SIM_BENCH.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{role}:"))
    driver_line = next(i for i in range(at, len(lines)) if lines[i].strip().startswith("driver:"))
    lines[driver_line] = lines[driver_line].split("driver:")[0] + f"driver: {driver}"
    options_line = next((i for i in range(driver_line + 1, min(driver_line + 4, len(lines)))
                         if lines[i].strip().startswith("options:")), None)
    if options_line is not None:
        del lines[options_line]  # the options belong to the driver that was there
    bench = tmp_path / "bench.yaml"
    bench.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputFileError, match=f"driver '{driver}' cannot be the {role} .*: it has no ") as refused:
        prepare(RunRequest([PLAN], bench, DUT, tmp_path / "out"))
    assert (refused.value.file, refused.value.line, refused.value.field) == \
        (bench, driver_line + 1, f"instruments.{role}.driver")


@pytest.mark.parametrize(("plan", "section"), [("g100/export_limitation.yaml", "site"),
                                             ("g99/islanding.yaml", "grid_switch")])
def test_a_bench_without_a_section_a_suite_reads_is_refused_at_load(tmp_path: Path, plan: str, section: str,
                                                                    nothing_starts: None) -> None:
    data = yaml.safe_load(SIM_BENCH.read_text())
    del data[section]
    bench = tmp_path / "bench.yaml"
    bench.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(InputFileError, match=f"needs the bench's '{section}' section") as refused:
        prepare(RunRequest([ROOT / "test_plans" / plan], bench, DUT, tmp_path / "out"))
    assert refused.value.field == section
    assert not (tmp_path / "out").exists()


def test_the_role_table_is_the_one_list_of_roles() -> None:
    from rig.config.bench_file import KNOWN_ROLES
    from rig.core.roles import ROLE_TABLE
    from rig.core.safety import SAFE_ORDER

    names = tuple(role.name for role in ROLE_TABLE)
    assert SAFE_ORDER == KNOWN_ROLES == names and len(set(names)) == len(names)
    assert set(yaml.safe_load(SIM_BENCH.read_text())["instruments"]) <= set(names)


@pytest.mark.parametrize(("driver", "key", "value", "says"), [
    ("keysight_rp7900", "watchdog_s", 0, "greater than or equal to 1"),
    ("keysight_rp7900", "max_voltage_v", "500", "expected a number, got .500."),
    ("keysight_infiniivision", "trigger_slope", "UP", "'POS' or 'NEG'"),
    ("chroma_61800", "measure_phase", 4, "1, 2 or 3"),
    ("modbus_dio", "unit", True, "expected a whole number, got true"),
    ("sunspec_der", "base", 30000, "not one of SunSpec's bases"),
    ("rlc_load", "max_active_w", -1, "greater than 0"),
    ("python_can", "channel", "can1", "the address gives it"),
])
def test_an_unusable_option_value_is_refused_at_load(tmp_path: Path, driver: str, key: str, value: object,
                                                     says: str, nothing_starts: None) -> None:
    role = ROLE_OF_DRIVER[driver]
    bench, line = _bench_with_option(tmp_path, role, key, value)
    with pytest.raises(InputFileError, match=says) as refused:
        prepare(RunRequest([PLAN], bench, DUT, tmp_path / "out"))
    assert (refused.value.line, refused.value.field) == (line, f"instruments.{role}.options.{key}")


def test_the_misspelt_battery_option_exits_2_in_one_line_with_no_record(tmp_path: Path) -> None:
    bench, line = _bench_with_option(tmp_path, "battery", "max_volts", 3)
    result = subprocess.run([sys.executable, "-m", "rig", "run", "--bench", str(bench), "--out", str(tmp_path / "out")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = [text for text in result.stderr.splitlines() if text.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert f"{bench}:{line}: instruments.battery.options.max_volts: unknown key" in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("interface", ["socketcand", "socketcan"])
def test_the_python_can_keys_are_the_interfaces_own(interface: str) -> None:
    """The interfaces that import here take every named parameter the rig lets through, and the rig lets
    through every one they name (the address's keys aside)."""
    module, cls = BACKENDS[interface]
    bus = getattr(import_module(module), cls)
    named = {name for name, p in inspect.signature(bus.__init__).parameters.items()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name not in ("self", "channel", "host", "port")}
    assert named <= PYTHON_CAN_KEYS, f"python-can {can.__version__} {interface} takes {sorted(named - PYTHON_CAN_KEYS)}"


def test_every_driver_declares_its_options() -> None:
    for name in DRIVERS:
        assert "Options" in vars(driver_class(name)) or driver_class(name).Options is not None
