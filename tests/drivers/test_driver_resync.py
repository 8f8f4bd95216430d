"""Ctrl-C between a query and its reply must not make the safe state read a stale answer."""

from __future__ import annotations

import pytest

from campaign_helpers import COMPLIANT
from drivers.grid.chroma_61800 import Chroma61800
from rig.sim.charger.dut_profile import load_dut_profile
from rig.sim.simulated_lab import SimulatedLab


def test_interrupted_query_then_safe_state_reads_its_own_replies() -> None:
    lab = SimulatedLab(load_dut_profile(COMPLIANT), seed=1)
    try:
        grid = Chroma61800(lab.serve("chroma_61800"), name="grid")
        grid.apply(230.0, 50.0)
        grid.output(True)
        session = grid._session
        real_read = session.read
        calls = {"n": 0}

        def interrupted_read(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 1:
                raise KeyboardInterrupt  # the reply to *IDN? is left in the socket
            return real_read(*args, **kwargs)

        session.read = interrupted_read
        with pytest.raises(KeyboardInterrupt):
            grid.identify()
        grid.safe_off()  # would read the stranded *IDN? reply as its error-queue answer without a resync
        assert lab.model.grid.output_on is False
        assert float(grid.query("MEAS:FREQ?")) == pytest.approx(50.0, abs=0.01)
        grid.close()
    finally:
        lab.close()
