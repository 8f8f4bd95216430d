"""Shared fixtures for the CHAdeMO tests: the real traces (the copy in ``fixtures/traces/chademo``)."""

from __future__ import annotations

import pytest

from rig.chademo.traces import Trace, read_trace
from trace_files import ALL_TRACES


@pytest.fixture(scope="session")
def shared_traces() -> dict[str, Trace]:
    return {path.name: read_trace(path) for path in ALL_TRACES}
