"""Fixtures for the simulated lab over the wire: a lab per test, pyvisa-py sessions to its instruments."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pyvisa
from wire import DUTS

from rig.sim.charger.ac_port import ALIGNED_CLOCK
from rig.sim.charger.dut_profile import DutProfile, load_dut_profile
from rig.sim.simulated_lab import SimulatedLab


@pytest.fixture(scope="module")
def compliant() -> DutProfile:
    return load_dut_profile(DUTS / "compliant.yaml")


def without_rocof(profile: DutProfile) -> DutProfile:
    """The profile with its RoCoF stages removed: for tests of the voltage and frequency stages that ramp the
    frequency faster than the RoCoF setting (which would rightly trip first)."""
    return profile.with_ac_port(protection=[s for s in profile.ac_port.protection if s.quantity != "rocof"])


@pytest.fixture(scope="module")
def compliant_without_rocof(compliant: DutProfile) -> DutProfile:
    return without_rocof(compliant)


@pytest.fixture(scope="module")
def rm() -> Iterator[pyvisa.ResourceManager]:
    manager = pyvisa.ResourceManager("@py")
    yield manager
    manager.close()


@pytest.fixture
def lab(compliant: DutProfile) -> Iterator[SimulatedLab]:
    """A lab whose charger evaluates at n * period of lab time, so the wire tests can name exact instants."""
    simulated = SimulatedLab(compliant, seed=1, clock=ALIGNED_CLOCK)
    try:
        yield simulated
    finally:
        simulated.close()


@pytest.fixture
def open_session(rm: pyvisa.ResourceManager) -> Iterator:
    sessions = []

    def open_(resource: str):
        session = rm.open_resource(resource, read_termination="\n", write_termination="\n", timeout=2000)
        sessions.append(session)
        return session

    yield open_
    for session in sessions:
        session.close()


@pytest.fixture
def grid(lab: SimulatedLab, open_session):
    return open_session(lab.serve("chroma_61800"))


@pytest.fixture
def scope(lab: SimulatedLab, open_session):
    return open_session(lab.serve("keysight_infiniivision"))
