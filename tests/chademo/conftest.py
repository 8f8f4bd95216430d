"""Shared fixtures for the CHAdeMO tests: the real traces in ``shared/traces/chademo``."""

from __future__ import annotations

import pytest

from rig.chademo.traces import Trace, read_trace
from trace_files import ALL_TRACES, TRACES


@pytest.fixture(scope="session")
def shared_traces() -> dict[str, Trace]:
    if not TRACES.is_dir():
        pytest.skip(f"shared CHAdeMO traces not found at {TRACES}")
    return {path.name: read_trace(path) for path in ALL_TRACES}
