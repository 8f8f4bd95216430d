"""The rig's clock as a driver that waits on it uses it: ``now`` and ``sleep``, advanced by nothing but sleeps.

For protocol-script tests of drivers that poll on the rig's clock (the power
analyzers' ``read``): no time passes but what the driver sleeps, and every
sleep is recorded, so a test can state how the driver scheduled its polls.
"""

from __future__ import annotations


class FakeClock:
    """A virtual clock at 0 s; ``sleeps`` lists every sleep asked for, in seconds."""

    is_virtual = True

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds
