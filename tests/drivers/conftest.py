"""Fixtures for the driver tests that talk to the simulated lab over the wire."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rig.sim.charger.dut_profile import load_dut_profile
from rig.sim.simulated_lab import SimulatedLab

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def lab() -> Iterator[SimulatedLab]:
    """A simulated lab (compliant charger, seed 3) for the DC instruments, closed after the test."""
    simulated = SimulatedLab(load_dut_profile(ROOT / "fixtures" / "duts" / "compliant.yaml"), seed=3)
    yield simulated
    simulated.close()
