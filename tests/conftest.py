"""Shared fixtures for the rig's own tests."""

from __future__ import annotations

import pytest

from campaign_helpers import run_cases
from rig.engine import CampaignRun


@pytest.fixture(scope="session")
def compliant_run(tmp_path_factory: pytest.TempPathFactory) -> CampaignRun:
    """The whole protection suite on the compliant DUT, once per test session."""
    return run_cases(tmp_path_factory.mktemp("compliant") / "run")
