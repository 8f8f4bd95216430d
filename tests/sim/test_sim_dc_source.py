"""The lab's DC side without a wire: the battery emulator's physics, the DC bus and the contact lines."""

from __future__ import annotations

import pytest

from rig.sim.charger.ac_port import ALIGNED_CLOCK
from rig.sim.connector import ContactLines, Edge, Side
from rig.sim.instruments.dc_source import OVER_VOLTAGE, UNDER_VOLTAGE, WATCHDOG, DcBus, DcRatings, DcSource
from rig.sim.charger.dut_profile import DutProfile
from rig.sim.model import LabModel

RATINGS = DcRatings(max_voltage_v=500.0, max_current_a=50.0, max_resistance_ohm=1.0, max_ovp_v=600.0)


def battery(*, open_circuit_v: float = 400.0, resistance_ohm: float = 0.1, charge_a: float = 30.0,
            discharge_a: float = 20.0) -> DcBus:
    """A bus whose source emulates a battery with the output on and the contactor closed, at t = 0."""
    bus = DcBus(DcSource(RATINGS))
    bus.source.set_battery(0.0, open_circuit_v, resistance_ohm)
    bus.source.set_limits(0.0, charge_a=charge_a, discharge_a=discharge_a)
    bus.source.set_output(0.0, True)
    bus.set_contactor(0.0, True)
    return bus


# -- the battery emulator's physics ----------------------------------------------------------------


@pytest.mark.parametrize(("demand", "current", "voltage"), [
    (25.0, 25.0, 402.5),    # charging: the terminal voltage rises by R x I
    (-15.0, -15.0, 398.5),  # V2H discharge: it falls
    (0.0, 0.0, 400.0),
    (45.0, 30.0, 403.0),    # beyond the charge limit: the source holds the limit
    (-35.0, -20.0, 398.0),  # beyond the discharge limit
])
def test_terminal_voltage_is_the_open_circuit_voltage_plus_resistance_times_current_within_the_limits(
        demand: float, current: float, voltage: float) -> None:
    bus = battery()
    bus.set_charger_current(1.0, demand)
    assert bus.current_a() == current
    assert bus.inlet_voltage_v() == pytest.approx(voltage)
    assert bus.source_voltage_v() == pytest.approx(voltage)


def test_the_under_voltage_protection_trips_only_on_a_low_voltage_past_its_delay() -> None:
    bus = battery()  # 400 V behind 0.1 ohm, output on since t = 0
    bus.source.set_under_voltage(1.0, on=True, level_v=399.0, delay_s=0.5)
    bus.set_charger_current(1.2, -15.0)  # 398.5 V within the delay: its end is the next event
    assert bus.source.fault is None and bus.next_event_time(1.2) == pytest.approx(1.5)
    bus.set_charger_current(1.3, 0.0)  # back to 400 V before it ends: nothing pending
    assert bus.next_event_time(1.3) is None
    bus.set_charger_current(2.0, -15.0)  # low again past the delay: at once
    assert (bus.source.fault, bus.source.fault_s) == (UNDER_VOLTAGE, 2.0)
    assert bus.current_a() == 0.0 and bus.current.at(2.0) == 0.0


def test_the_source_reports_which_limit_holds_the_current() -> None:
    bus = battery()
    assert bus.source.in_limit(45.0) == "charge" and bus.source.in_limit(-35.0) == "discharge"
    assert bus.source.in_limit(10.0) is None


def test_output_off_gives_no_voltage_and_no_current() -> None:
    bus = battery()
    bus.set_charger_current(1.0, 25.0)
    bus.source.set_output(2.0, False)
    assert (bus.current_a(), bus.inlet_voltage_v(), bus.source_voltage_v()) == (0.0, 0.0, 0.0)


def test_an_open_contactor_leaves_the_inlet_dead_and_the_source_at_its_open_circuit_voltage() -> None:
    bus = battery()
    bus.set_charger_current(1.0, 25.0)
    bus.set_contactor(2.0, False)
    assert (bus.current_a(), bus.inlet_voltage_v()) == (0.0, 0.0)
    assert bus.source_voltage_v() == 400.0


def test_the_bus_keeps_the_history_of_inlet_voltage_and_current_in_lab_time() -> None:
    bus = battery()
    bus.set_charger_current(2.0, 20.0)
    bus.set_charger_current(5.0, -10.0)
    bus.set_contactor(7.5, False)
    assert [bus.current.at(t) for t in (1.0, 2.0, 4.9, 5.0, 7.4, 7.5)] == [0.0, 20.0, 20.0, -10.0, -10.0, 0.0]
    assert bus.inlet_voltage.at(3.0) == pytest.approx(402.0)
    assert bus.inlet_voltage.at(6.0) == pytest.approx(399.0)
    assert bus.inlet_voltage.at(8.0) == 0.0


def test_over_voltage_latches_the_output_off_until_cleared() -> None:
    bus = battery(open_circuit_v=440.0, resistance_ohm=0.5)
    bus.source.set_ovp(0.0, 450.0)
    bus.set_charger_current(3.0, 25.0)  # 452.5 V at the terminals
    assert (bus.source.fault, bus.source.fault_s) == (OVER_VOLTAGE, 3.0)
    assert (bus.current_a(), bus.inlet_voltage_v()) == (0.0, 0.0)
    bus.source.clear_protection(4.0)  # the output returns to its programmed state, on, and trips again
    assert bus.source.fault == OVER_VOLTAGE and bus.source.fault_s == 4.0
    bus.set_charger_current(5.0, 10.0)
    bus.source.clear_protection(5.0)
    assert bus.source.fault is None and bus.current_a() == 10.0


def test_the_watchdog_trips_at_its_deadline_in_lab_time_and_io_holds_it_off() -> None:
    bus = battery()
    bus.set_charger_current(0.0, 20.0)
    source = bus.source
    source.watchdog_delay_s = 5.0
    source.arm_watchdog(1.0, True)
    assert bus.next_event_time(1.0) == 6.0
    bus.advance_to(5.9)
    source.note_io(5.9)
    assert source.fault is None and bus.next_event_time(5.9) == pytest.approx(10.9)
    bus.advance_to(20.0)
    assert (source.fault, source.fault_s) == (WATCHDOG, pytest.approx(10.9))
    assert bus.current.at(10.8) == 20.0 and bus.current.at(10.9) == 0.0
    assert source.output_on  # latched off; the programmed state is kept
    assert bus.next_event_time(20.0) is None


def test_the_watchdog_does_nothing_while_disarmed() -> None:
    bus = battery()
    bus.advance_to(1e6)
    assert bus.source.fault is None and bus.next_event_time(0.0) is None


def test_listeners_hear_the_changes_the_charger_did_not_make() -> None:
    bus = battery()
    heard: list[float] = []
    bus.subscribe(heard.append)
    bus.set_charger_current(1.0, 20.0)  # the charger's own change
    bus.set_contactor(2.0, False)
    bus.source.set_battery(3.0, 390.0, 0.1)
    bus.set_contactor(4.0, True)
    bus.source.set_ovp(4.0, 404.0)
    bus.set_charger_current(5.0, 30.0)  # 393 V: the charger's own change, not announced
    bus.source.set_battery(7.0, 402.0, 0.1)  # 405 V: over-voltage, announced with the change
    bus.source.clear_protection(9.0)  # the cause persists: it trips again
    bus.set_charger_current(9.2, -10.0)
    bus.source.clear_protection(9.4)  # 401 V
    bus.set_charger_current(9.5, 30.0)  # the charger's change trips it: announced
    assert heard == [2.0, 3.0, 4.0, 4.0, 7.0, 9.0, 9.4, 9.5]
    assert bus.source.fault == "OV" and bus.source.fault_s == 9.5


def test_an_unrated_source_takes_its_ratings_from_the_dialect_that_serves_it() -> None:
    source = DcSource()
    assert source.ratings.max_current_a == 0.0
    source.rate(RATINGS)
    assert (source.charge_limit_a, source.discharge_limit_a, source.ovp_v) == (50.0, 50.0, 600.0)


# -- the contact lines --------------------------------------------------------------------------


def test_each_side_drives_only_its_own_lines() -> None:
    lines = ContactLines()
    lines.drive(1.0, "d1", True, by=Side.CHARGER)
    lines.drive(1.5, "k", True, by=Side.VEHICLE)
    with pytest.raises(ValueError, match="'k' is driven by the vehicle, not the charger"):
        lines.drive(2.0, "k", False, by=Side.CHARGER)
    with pytest.raises(KeyError, match="no contact line 'd3'"):
        lines.value("d3")


def test_edges_carry_their_lab_time_and_only_changes_are_edges() -> None:
    lines = ContactLines()
    lines.drive(1.0, "d1", True, by=Side.CHARGER)
    lines.drive(1.2, "d1", True, by=Side.CHARGER)  # no change: no edge
    lines.drive(2.0, "proximity", True, by=Side.VEHICLE)
    lines.drive(3.0, "d1", False, by=Side.CHARGER)
    assert lines.edges("d1") == [Edge(1.0, "d1", True, Side.CHARGER), Edge(3.0, "d1", False, Side.CHARGER)]
    assert [edge.line for edge in lines.edges(since=2.0)] == ["proximity", "d1"]
    assert [lines.value_at("d1", t) for t in (0.5, 1.0, 2.9, 3.0)] == [False, True, True, False]
    with pytest.raises(ValueError, match="before the last edge"):
        lines.drive(2.5, "d2", True, by=Side.CHARGER)


def test_the_lab_model_wires_the_contactor_line_to_the_dc_bus(compliant: DutProfile) -> None:
    model = LabModel(compliant, seed=1, clock=ALIGNED_CLOCK)
    heard: list[tuple[float, bool]] = []
    model.connector.subscribe("contactor", lambda t, closed: heard.append((t, closed)))
    model.connector.drive(4.0, "contactor", True, by=Side.VEHICLE)
    assert model.dc_bus.contactor_closed and heard == [(4.0, True)]
    model.connector.drive(6.0, "contactor", False, by=Side.VEHICLE)
    assert not model.dc_bus.contactor_closed


def test_the_lab_model_operates_the_battery_emulators_watchdog_as_time_advances(compliant: DutProfile) -> None:
    model = LabModel(compliant, seed=1, clock=ALIGNED_CLOCK)
    source = model.dc_bus.source
    source.rate(RATINGS)
    source.watchdog_delay_s = 2.0
    source.arm_watchdog(0.0, True)
    model.advance_to(1.0)
    assert source.fault is None
    model.advance_to(3.0)
    assert (source.fault, source.fault_s) == (WATCHDOG, 2.0)
