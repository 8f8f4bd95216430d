"""The SCPI face every simulated regenerative DC source puts on the lab's DC bus.

Each dialect (Keysight RP7900, NH Research 9300) serves the same bus and its
``DcSource`` rated as its model, draws its read-back noise from its own seed
stream, and logs through a ``DataLogger`` it configures itself; only the
commands, their words and their state differ.
"""

from __future__ import annotations

import numpy as np

from rig.sim.instruments.dc_source import DcRatings
from rig.sim.model import LabModel
from rig.sim.wire.scpi_server import ScpiInstrument


class ScpiDcSource(ScpiInstrument):
    """A DC source's SCPI instrument on ``lab``'s DC bus, its source rated ``ratings`` (which resets it to its
    power-on state); ``noise_stream`` keeps its noise apart from the other instruments' draws of the lab's seed."""

    def __init__(self, lab: LabModel, ratings: DcRatings, *, noise_stream: int) -> None:
        super().__init__()
        self.lab = lab
        self.bus = lab.dc_bus
        self.source = lab.dc_bus.source
        self.source.rate(ratings)
        self._noise = np.random.default_rng([lab.seed, noise_stream])
