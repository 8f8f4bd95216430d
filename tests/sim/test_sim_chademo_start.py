"""A CHAdeMO start no vehicle answers: the simulated charger raises d1 on the plug and waits for the vehicle's CAN;
if the plug, its supply or its charge point's permission goes first, no session began: it drops d1 and waits as
before the plug, starting again once all three are back. Before, it waited in that state for ever, through an
unplug and a power cycle, and the next vehicle's session started without the charge point's permission and was
stopped by it (an OCPP case then saw a transaction that moved no energy: the intermittent TC_003_CS error)."""

from __future__ import annotations

from grid_on import grid_on

from rig.sim.charger.dut_profile import DutProfile
from rig.sim.connector import Side


def started(profile: DutProfile):
    model = grid_on(profile, 25.0)  # no central system: it charges whoever plugs in (free vend)
    model.connector.drive(25.0, "proximity", True, by=Side.VEHICLE)
    model.advance_to(27.0)
    assert model.connector.value("d1") and model.chademo.phase == "starting"  # waiting for the vehicle's CAN
    return model


def test_an_unanswered_start_ends_when_the_plug_goes(compliant: DutProfile) -> None:
    model = started(compliant)
    model.connector.drive(27.0, "proximity", False, by=Side.VEHICLE)
    model.advance_to(28.0)
    assert not model.connector.value("d1") and model.chademo.phase == "idle"


def test_an_unanswered_start_ends_when_the_supply_goes_and_starts_again_when_it_is_back(compliant: DutProfile) -> None:
    model = started(compliant)
    model.grid.set_output(27.0, False)
    model.advance_to(28.0)
    assert not model.connector.value("d1") and model.chademo.phase == "idle"
    model.grid.set_output(28.0, True)
    model.advance_to(60.0)  # it reconnects, then starts for the vehicle still plugged in
    assert model.connector.value("d1") and model.chademo.phase == "starting"
