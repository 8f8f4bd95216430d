"""Shared fixtures for the rig's own tests."""

from __future__ import annotations

import pytest

from campaign_helpers import run_cases
from rig.engine import CampaignRun


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
