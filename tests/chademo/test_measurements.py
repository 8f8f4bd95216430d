"""What a CHAdeMO case's limits judge, measured from synthetic recordings whose answers are known.

A limit is only as good as the value it judges: a reaction time measured from
a dip rather than the real stop, an overshoot counted while the charger was
still allowed to follow a falling request, or a discharge floor margin that
ignores the vehicle's 0x200 would pass chargers that should fail (or the
reverse). Each test plays the compliant synthetic session (``synthetic.py``)
with one change and checks the number ``measure()`` gives, to the frame.

Synthetic timing: the charger's 0x109 of cycle ``c`` is stamped ``c + 0.055`` s,
its 0x208 ``c + 0.056`` s; the vehicle's 0x102 ``c + 0.002`` s. Current flows
at 50 A from 5.0 s until the vehicle's own stop at 10.0 s (0 A from 10.1 s).
"""

from __future__ import annotations

import dataclasses

import pytest

import synthetic
from rig.chademo.session import DcSample, Session
from rig.chademo.vehicle import Recording
from rig.decision import DecisionRule
from rig.engine import judge
from rig.results import Limit
from rig.suites.chademo.measurements import Measurements, measure
from synthetic import Edit, both, when

TOL = 1e-6




def recorded(edit: Edit | None = None, *, v2h: bool = False, injected_at: float | None = None,
             action: str = "fault_overvoltage", dc: list[DcSample] | None = None,
             drop=None) -> tuple[Session, Recording]:
    """The synthetic session as the vehicle emulator records it, and the session the procedure rebuilds."""
    frames = synthetic.session(edit, v2h=v2h, drop=drop).frames
    recording = Recording(frames=[(f.t, f.frame_id, f.data) for f in frames], dc=list(dc or []),
                          injected_at_s=injected_at, injection_action=action if injected_at is not None else None)
    return recording.session(), recording


def measured(recording: tuple[Session, Recording], *, settle_s: float = 2.0, protocol_ev: int | None = 2,
             protocol_evse: int | None = 2) -> Measurements:
    session, raw = recording
    return measure(session, raw, ended=True, evse_findings=0, ev_findings=0, protocol_ev=protocol_ev,
                   protocol_evse=protocol_evse, settle_s=settle_s)


def fault_at_8s(edit: Edit | None = None, **kwargs) -> Measurements:
    """A fault injected at 8.0 s, with the charger's answer ``edit``."""
    return measured(recorded(edit, injected_at=8.0, **kwargs))


# -- reaction time -------------------------------------------------------------------------------

def test_reaction_ends_at_the_first_report_from_which_current_stays_stopped():
    m = fault_at_8s(when(8.3, 12.0, 0x109, PresentCurrent=0))
    assert m.reaction is not None and m.reaction.untimeable is None
    assert m.reaction.start_s == pytest.approx(8.0, abs=TOL)
    assert m.reaction.end_s == pytest.approx(8.355, abs=TOL)
    assert m.values["reaction_s"] == pytest.approx(0.355, abs=TOL)
    assert m.uncertainty["reaction_s"].expanded == pytest.approx(2 * 0.05 / 3 ** 0.5, rel=1e-9)


@pytest.mark.parametrize(("amps", "reaction_s"), [(5, 0.355), (6, 0.655)])
def test_five_amperes_counts_as_stopped_and_six_does_not(amps, reaction_s):
    m = fault_at_8s(both(when(8.3, 8.6, 0x109, PresentCurrent=amps), when(8.6, 12.0, 0x109, PresentCurrent=0)))
    assert m.values["reaction_s"] == pytest.approx(reaction_s, abs=TOL)


def test_a_dip_below_the_stop_threshold_that_comes_back_is_not_the_stop():
    dip_then_stop = both(when(8.3, 8.6, 0x109, PresentCurrent=0), when(9.0, 12.0, 0x109, PresentCurrent=0))
    m = fault_at_8s(dip_then_stop)
    assert m.reaction is not None and m.reaction.end_s == pytest.approx(9.055, abs=TOL)
    assert m.values["reaction_s"] == pytest.approx(1.055, abs=TOL)


def test_a_charger_that_never_stops_has_no_reaction_and_fails_a_reaction_limit():
    m = fault_at_8s(when(10.0, 12.0, 0x109, PresentCurrent=50))
    assert m.reaction is not None
    assert (m.reaction.start_s, m.reaction.end_s, m.reaction.untimeable) == (8.0, None, None)
    assert m.values["reaction_s"] is None
    verdict = judge(m.values, m.uncertainty, {"reaction_s": Limit(max=0.5, unit="s")},
                    DecisionRule(rule="simple_acceptance"))
    assert verdict.verdict == "fail"


def test_a_stop_before_the_injection_does_not_count_as_the_reaction():
    """Current already down (and staying down) before the fault: nothing to time, the charger's answer is untimed."""
    m = fault_at_8s(when(7.0, 12.0, 0x109, PresentCurrent=0))
    assert m.reaction is not None and m.reaction.untimeable is not None
    assert m.reaction.end_s == pytest.approx(8.055, abs=TOL)  # the first report after the fault, not 7.055


def test_no_current_at_the_injection_makes_the_reaction_untimeable():
    m = measured(recorded(injected_at=2.0))  # during the insulation test: nothing flows yet
    assert m.reaction is not None
    assert m.reaction.untimeable is not None
    assert "no current flowed" in m.reaction.untimeable and "2.00 s" in m.reaction.untimeable
    assert "fault_overvoltage" in m.reaction.untimeable


def test_nothing_injected_means_no_reaction():
    m = measured(recorded())
    assert m.reaction is None and m.values["reaction_s"] is None


def test_can_silence_is_timed_from_the_vehicles_last_frame():
    silent = recorded(when(9.0, 12.0, 0x109, PresentCurrent=0), injected_at=8.05, action="silence",
                      drop=lambda t, frame_id: frame_id in synthetic.EV_IDS and t > 8.05)
    m = measured(silent)
    assert m.reaction is not None and m.reaction.start_s == pytest.approx(8.002, abs=TOL)  # 0x102 of cycle 8.0
    assert m.values["reaction_s"] == pytest.approx(9.055 - 8.002, abs=1e-4)


def _v2h_discharge(stop_at: float) -> Edit:
    """V2H: nothing into the vehicle (0x109 0 A), 20 A out of it (0x208) from 5.0 s until ``stop_at``."""
    return both(when(0.0, 12.0, 0x109, PresentCurrent=0), when(5.0, stop_at, 0x208, PresentDischargeCurrent=20))


def _0x208_before_0x109(pair: tuple[Session, Recording]) -> tuple[Session, Recording]:
    """The charger's 0x208 sent 2 ms earlier, before its 0x109 of the same cycle."""
    _, raw = pair
    frames = sorted(((round(t - 0.002, 6) if frame_id == 0x208 else t), frame_id, data)
                    for t, frame_id, data in raw.frames)
    raw = dataclasses.replace(raw, frames=frames)
    return raw.session(), raw


def test_v2h_discharge_current_counts_as_current_for_the_stop():
    m = measured(_0x208_before_0x109(recorded(_v2h_discharge(stop_at=8.4), v2h=True, injected_at=8.0)))
    assert m.reaction is not None and m.reaction.untimeable is None  # 20 A out of the vehicle is current
    assert m.values["reaction_s"] == pytest.approx(0.454, abs=TOL)  # the 0x208 (2 ms before its 0x109) that first says 0 A
    assert m.values["discharge_max_a"] == 20.0 and m.values["delivered_max_a"] == 0.0


def test_v2h_discharge_that_never_stops_has_no_reaction():
    m = measured(_0x208_before_0x109(recorded(_v2h_discharge(stop_at=12.0), v2h=True, injected_at=8.0)))
    assert m.reaction is not None and m.reaction.untimeable is None
    assert m.values["reaction_s"] is None


def test_v2h_stop_is_timed_from_the_0x208_that_reports_it_whatever_the_frame_order():
    m = measured(recorded(_v2h_discharge(stop_at=8.4), v2h=True, injected_at=8.0))
    # the 0x208 of cycle 8.4 (8.456 s) is the charger's first report of 0 A, not the 0x109 of the next cycle
    assert m.values["reaction_s"] == pytest.approx(0.456, abs=0.002)


# -- overshoot and tracking ----------------------------------------------------------------------

def _request_falls_to_20a_at_7s(charger_follows_at: float) -> Edit:
    """The vehicle lowers its request 50 -> 20 A at 7.0 s; the charger holds 50 A until ``charger_follows_at``."""
    return both(when(7.0, 10.0, 0x102, ChargeCurrentRequest=20),
                when(charger_follows_at, 10.1, 0x109, PresentCurrent=20))


@pytest.mark.parametrize(("follows_at", "settle_s", "overshoot_a"), [
    pytest.param(8.0, 2.0, 0.0, id="followed-within-the-settle-window"),
    pytest.param(9.2, 2.0, 30.0, id="still-above-after-the-settle-window"),
    pytest.param(8.0, 0.5, 30.0, id="a-shorter-settle-window"),
])
def test_overshoot_counts_only_after_the_settle_window_of_a_falling_target(follows_at, settle_s, overshoot_a):
    m = measured(recorded(_request_falls_to_20a_at_7s(follows_at)), settle_s=settle_s)
    assert m.values["overshoot_max_a"] == pytest.approx(overshoot_a, abs=TOL)


def test_overshoot_above_a_steady_target_is_counted_at_once():
    m = measured(recorded(when(7.0, 7.5, 0x109, PresentCurrent=53)))
    assert m.values["overshoot_max_a"] == pytest.approx(3.0, abs=TOL)
    assert m.values["delivered_max_a"] == 53.0


def test_the_compliant_ramp_is_neither_overshoot_nor_tracking_error():
    m = measured(recorded())
    assert m.values["overshoot_max_a"] == 0.0
    assert m.values["tracking_error_a"] == 0.0
    assert m.values["delivered_max_a"] == 50.0


def test_tracking_error_is_the_largest_deviation_once_the_target_settled():
    m = measured(recorded(when(7.0, 7.5, 0x109, PresentCurrent=47)))
    assert m.values["tracking_error_a"] == pytest.approx(3.0, abs=TOL)


def test_tracking_error_ignores_the_charger_following_a_new_target_within_the_settle_window():
    # request 50 -> 20 A at 7.0 s, the charger follows at 8.0 s: 30 A off, but within 2 s of the change
    m = measured(recorded(_request_falls_to_20a_at_7s(8.0)), settle_s=2.0)
    assert m.values["tracking_error_a"] == pytest.approx(0.0, abs=TOL)
    late = measured(recorded(_request_falls_to_20a_at_7s(9.2)), settle_s=2.0)
    assert late.values["tracking_error_a"] == pytest.approx(30.0, abs=TOL)


# -- energy --------------------------------------------------------------------------------------

def test_energy_each_way_from_the_dc_samples():
    charge = [DcSample(n * 0.5, 360.0, 10.0) for n in range(21)]            # 0-10 s: 3600 W
    discharge = [DcSample(10.5 + n * 0.5, 360.0, -10.0) for n in range(20)]  # 10.5-20 s: -3600 W
    m = measured(recorded(dc=charge + discharge))
    assert m.values["energy_into_vehicle_wh"] == pytest.approx(10.0, abs=1e-3)
    assert m.values["energy_from_vehicle_wh"] == pytest.approx(9.5, abs=1e-3)  # the 10.0-10.5 s step nets 0
    # one 0.5 s step at 3600 W is 0.5 Wh; half of it is the rectangular half-width
    assert m.uncertainty["energy_into_vehicle_wh"].expanded == pytest.approx(2 * 0.25 / 3 ** 0.5, rel=1e-9)


def test_no_dc_samples_means_no_energy():
    m = measured(recorded())
    assert (m.values["energy_into_vehicle_wh"], m.values["energy_from_vehicle_wh"]) == (0.0, 0.0)


# -- V2H floors ----------------------------------------------------------------------------------

def _discharging(volts: list[float], start: float = 5.0, amps: float = -10.0) -> list[DcSample]:
    return [DcSample(start + n * 0.5, v, amps) for n, v in enumerate(volts)]


def test_min_discharge_voltage_margin_is_negative_below_the_vehicles_0x200_minimum():
    # synthetic 0x200 minimum discharge voltage: 300 V
    m = measured(recorded(v2h=True, dc=_discharging([320.0, 310.0, 301.0, 295.0, 298.0])))
    assert m.values["min_discharge_voltage_margin_v"] == pytest.approx(-5.0, abs=TOL)
    assert "min_discharge_voltage_margin_v" not in m.unreached
    # the steepest step, 320 -> 310 V in 0.5 s (20 V/s), over half a step: 5 V half-width
    assert m.uncertainty["min_discharge_voltage_margin_v"].expanded == pytest.approx(2 * 5.0 / 3 ** 0.5, rel=1e-9)


def test_min_discharge_voltage_margin_follows_the_floor_the_vehicle_declares():
    higher_floor = when(6.0, 12.0, 0x200, MinDischargeVoltage=315)
    m = measured(recorded(higher_floor, v2h=True, dc=_discharging([320.0, 320.0, 320.0, 318.0])))
    assert m.values["min_discharge_voltage_margin_v"] == pytest.approx(3.0, abs=TOL)  # 318 V - 315 V at 6.5 s


def test_min_discharge_voltage_margin_ignores_samples_not_discharging():
    # below the floor only while (almost) no current flows out: no breach
    samples = _discharging([330.0, 325.0]) + _discharging([250.0], start=6.0, amps=-5.0) \
        + _discharging([250.0], start=6.5, amps=2.0)
    m = measured(recorded(v2h=True, dc=samples))
    assert m.values["min_discharge_voltage_margin_v"] == pytest.approx(25.0, abs=TOL)


def test_min_discharge_voltage_margin_is_unreached_when_nothing_was_discharged():
    m = measured(recorded(v2h=True, dc=[DcSample(5.0 + n * 0.5, 350.0, 50.0) for n in range(4)]))
    assert m.values["min_discharge_voltage_margin_v"] is None
    assert "never discharged" in m.unreached["min_discharge_voltage_margin_v"]


def test_min_discharge_level_margin_is_negative_below_the_vehicles_0x200_level():
    # synthetic: 0x100 reference 100, 0x102 charged rate 60 (60 %), 0x200 minimum level 20 %
    drawn = when(5.0, 8.0, 0x208, PresentDischargeCurrent=10)
    low = when(6.0, 7.0, 0x102, ChargedRate=18)
    assert measured(recorded(drawn, v2h=True)).values["min_discharge_level_margin_percent"] == \
        pytest.approx(40.0, abs=TOL)
    m = measured(recorded(both(drawn, low), v2h=True))
    assert m.values["min_discharge_level_margin_percent"] == pytest.approx(-2.0, abs=TOL)


def test_min_discharge_level_margin_is_unreached_without_discharge_current():
    low_but_not_drawn = when(6.0, 7.0, 0x102, ChargedRate=18)
    m = measured(recorded(low_but_not_drawn, v2h=True))
    assert m.values["min_discharge_level_margin_percent"] is None
    assert "min_discharge_level_margin_percent" in m.unreached


# -- counted values ------------------------------------------------------------------------------

def test_the_negotiated_protocol_is_the_lower_of_both_sides():
    assert measured(recorded(), protocol_ev=2, protocol_evse=1).values["negotiated_protocol"] == 1.0
    assert measured(recorded(), protocol_ev=None, protocol_evse=2).values["negotiated_protocol"] is None


def test_every_value_has_its_uncertainty():
    m = measured(recorded())
    assert set(m.uncertainty) == set(m.values)
