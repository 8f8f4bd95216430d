"""What a simulated grid source measures at the site boundary, whichever family's dialect serves it.

The source sits where the site meets the grid, behind the grid switch S1
(``rig.sim.island``): the current through it is the charger's export less the
household load's (``rig.sim.site``; both in phase with the voltage) plus,
while the RLC island load is on, that load's current and the charger's
reactive current; nothing at all while S1 is open.
"""

from __future__ import annotations

from rig.sim.model import LabModel


def through_s1_a(lab: LabModel, *, on_charger_phase: bool = True) -> complex:
    """The current through the source now, a phasor against the voltage (positive real: the site exports).

    ``on_charger_phase``: the source measures the phase the charger is wired to;
    another phase of a three-phase unit carries nothing in the lab.
    """
    if lab.island.switch_open or not on_charger_phase:
        return 0j
    charger = lab.current_rms_at(lab.now)
    export = (charger if lab.charger.exports else -charger) - lab.site.load_current_a(lab.now)
    return export + lab.island.exchange_a(lab.now, lab.voltage.at(lab.now))


def delivered_power_w(lab: LabModel, current_a: complex) -> float:
    """Real power the source delivers with ``current_a`` through it: negative while the site exports into it."""
    return -(lab.voltage.at(lab.now) * current_a.real)
