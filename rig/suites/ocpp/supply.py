"""Restarting the charger so that it boots, on whatever the bench has.

With a grid simulator the rig switches the charger's supply off and on (a
cold boot, what OCTT's cold boot cases mean). A bench with only the ``csms``
role (a real charger pointed at the rig) cannot: if the charger is connected
the rig restarts it with a Hard Reset (the boot that follows is what the case
judges, counted from the Reset), otherwise the operator is asked to switch
its supply off and on, and the check that follows waits for the boot.
"""

from __future__ import annotations

from rig.core.errors import RigError
from rig.run.bench_lab import Lab

RESET_ANSWER_S = 10.0


def restart_charger(lab: Lab, off_s: float, nominal: tuple[float, float]) -> str | None:
    """Restart the charger; the instruction given to the operator when the bench could not do it itself."""
    if lab.has("grid"):
        lab.grid.output(False)
        lab.clock.sleep(off_s)
        lab.grid.apply(*nominal)
        lab.grid.output(True)
        return None
    connected = [c.identity for c in list(lab.csms.connections.values()) if c.closed_at is None]
    if connected:
        try:
            reply = lab.csms.call(connected[0], "Reset", {"type": "Hard"}, timeout_s=RESET_ANSWER_S, poll_s=0.1)
        except RigError:
            reply = None
        if reply is not None and reply.kind == "CALLRESULT" and reply.payload.get("status") == "Accepted":
            return None
    instruction = f"Switch the charger's supply off for {off_s:g} s, then on again."
    return None if lab.operator.instruct(instruction) else instruction


def supply_off(lab: Lab) -> None:
    """The charger's supply off when the bench switches it (a case leaves the charger as it found it)."""
    if lab.has("grid"):
        lab.grid.output(False)
