"""The example bench files for real labs (benches/): each is what a bench engineer copies first, so each must be
accepted by the run as it stands, with the plan its own header names, and say what a certification body asks of
a real bench (which unit, calibrated until when)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rig.config.bench_file import load_bench
from rig.run.engine import RunRequest, prepare

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "benches").glob("*.yaml"))
DUT_IDENTITY = ROOT / "fixtures" / "dut-identities" / "example.yaml"
MEASURING_ROLES = ("grid", "capture", "battery", "analyzer", "island_load")
"""Roles whose readings or outputs a verdict rests on: a certification body asks for their serial and calibration."""

RUN_LINE = re.compile(r"^#\s+rig run (\S+) --bench (\S+) --dut \S+", re.MULTILINE)


def test_there_is_an_example_for_each_kind_of_lab() -> None:
    assert {p.stem for p in EXAMPLES} >= {"g99-lab", "chademo-dc-lab", "ocpp-lab", "efficiency-lab"}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_the_run_its_header_names_is_accepted_without_anything_energised(example: Path, tmp_path: Path) -> None:
    """The header's own `rig run` line: plan, bench and a DUT identity pass every check a run makes before it
    opens an instrument (drivers and their options, roles the plan's cases need, every setpoint in the envelope)."""
    found = RUN_LINE.search(example.read_text())
    assert found, f"{example.name}: no '# rig run PLAN --bench FILE --dut FILE' line for a bench engineer to follow"
    plan, bench = found.groups()
    assert ROOT / bench == example
    prepared = prepare(RunRequest([ROOT / plan], example, DUT_IDENTITY, tmp_path / "out", None))
    assert prepared.cases


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_measuring_unit_is_pinned_and_has_a_calibration_date(example: Path) -> None:
    bench = load_bench(example)
    assert bench.simulated_lab is None
    for role, entry in bench.instruments.items():
        assert not entry.is_simulated, f"{example.name}: {role} is simulated in a real lab's example"
        if role in MEASURING_ROLES:
            assert entry.identity is not None and entry.identity.serial, f"{example.name}: {role} has no serial pin"
            assert entry.calibration_due, f"{example.name}: {role} has no calibration_due"
