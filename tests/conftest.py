"""Shared fixtures for the rig's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from campaign_helpers import SIM_BENCH, run_cases
from drivers.grid.chroma_61800 import Chroma61800
from rig.config.bench_file import load_bench
from rig.run.engine import CampaignRun
from rig.config.envelope import EnvelopeGuard


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that run on the wall clock (``realtime``) go to one worker, one after another, when the suite runs
    in parallel (pytest-xdist, ``--dist loadgroup``): two of them at once would load the machine they time."""
    for item in items:
        if item.get_closest_marker("realtime") is not None:
            item.add_marker(pytest.mark.xdist_group("realtime"))


@pytest.fixture(scope="session")
def compliant_run(tmp_path_factory: pytest.TempPathFactory) -> CampaignRun:
    """The whole protection suite on the compliant DUT, once per test session."""
    return run_cases(tmp_path_factory.mktemp("compliant") / "run")


@pytest.fixture
def guard() -> EnvelopeGuard:
    """The simulated bench's envelope, as the drivers check setpoints against it."""
    return EnvelopeGuard.from_bench(load_bench(SIM_BENCH))


@pytest.fixture
def grid_driver(lab, guard: EnvelopeGuard) -> Iterator[Chroma61800]:
    """The grid simulator's driver on the test's simulated lab (its ``lab`` fixture)."""
    driver = Chroma61800(lab.serve("chroma_61800"), name="grid", envelope=guard)
    yield driver
    driver.close()
