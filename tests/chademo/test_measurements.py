"""What a CHAdeMO case's limits judge, measured at the inlet from synthetic logs whose answers are known.

A limit is only as good as the value it judges: a reaction time read from the
charger's own 100 ms reports, an overshoot hidden by its whole-ampere
rounding, or a report that nobody compares with the measurement would pass
chargers that should fail. Each test plays the compliant synthetic session
(``synthetic.py``: the frames) with an inlet log (``inlet_log``: what the
battery emulator logged, 1 ms records built exactly from a current profile)
and checks the number ``measure()`` gives.

Synthetic frames: the vehicle requests up to 50 A from 4.5 s and stops at
10.0 s; the charger's 0x109 reports 50 A from 5.0 s to 10.1 s. The default
inlet log carries exactly that (``CHARGE``: its ramp, 50 A from 5.0 s to 10.1 s) at 350 V.
"""

from __future__ import annotations

import numpy as np
import pytest

import synthetic
from rig.chademo.session import Session
from rig.chademo.vehicle import Recording
from rig.core.decision import DecisionRule
from rig.run.engine import judge
from rig.core.results import Limit
from rig.core.roles import Accuracy, DcLogBatch
from rig.sim.signal import PiecewiseLinear
from rig.suites.chademo.inlet import InletTrace, LogGap
from rig.suites.chademo.measurements import Measurements, measure
from synthetic import Edit, both, when

PERIOD = 0.001
CURRENT_ACCURACY = Accuracy(0.001, 0.05)
VOLTAGE_ACCURACY = Accuracy(0.0005, 0.1)
Steps = list[tuple[float, float]]
CHARGE: Steps = [(0.0, 0.0), (4.6, 10.0), (4.7, 20.0), (4.8, 30.0), (4.9, 40.0), (5.0, 50.0), (10.1, 0.0)]
"""What the synthetic charger reports, as the inlet carries it: 10 A more each cycle from 4.6 s to 50 A."""


def inlet_log(current: Steps = CHARGE, voltage: Steps = ((0.0, 350.0),), *, end_s: float = 12.0,
              started_u_s: float = 0.0, batches: int = 4) -> list[DcLogBatch]:
    """The battery emulator's log of a current (into the vehicle) and voltage given as steps, exact, in
    ``batches`` consecutive fetches."""
    def signal(steps: Steps) -> PiecewiseLinear:
        s = PiecewiseLinear(steps[0][0], steps[0][1])
        for t, value in steps[1:]:
            s.step(t, value)
        return s

    n = round(end_s / PERIOD)
    edges = np.arange(n + 1) * PERIOD
    columns = [np.column_stack(signal(list(steps)).window_stats(edges)) for steps in (current, voltage)]
    cuts = np.linspace(0, n, batches + 1).astype(int)
    return [DcLogBatch(0.0, started_u_s, PERIOD, int(a), columns[0][a:b], columns[1][a:b], CURRENT_ACCURACY,
                       VOLTAGE_ACCURACY) for a, b in zip(cuts, cuts[1:])]


def recorded(edit: Edit | None = None, *, v2h: bool = False, caused_at: float | None = None, caused_u: float = 0.0,
             caused_by: str = "first 0x102 carrying fault_overvoltage", drop=None) -> tuple[Session, Recording]:
    frames = synthetic.session(edit, v2h=v2h, drop=drop).frames
    recording = Recording(frames=[(f.t, f.frame_id, f.data) for f in frames], caused_at_s=caused_at,
                          caused_u_s=caused_u, caused_by=caused_by if caused_at is not None else "")
    return recording.session(), recording


def measured(recording: tuple[Session, Recording], log: list[DcLogBatch] | None = None, *,
             settle_s: float = 2.0) -> Measurements:
    session, raw = recording
    trace = InletTrace.from_batches(log if log is not None else inlet_log())
    return measure(session, raw, trace, ended=True, evse_findings=0, ev_findings=0, protocol_ev=2, protocol_evse=2,
                   settle_s=settle_s, report_quantum_a=1.0)


def reports_stop_at(t: float) -> Edit:
    """The charger's 0x109 reports 0 A from ``t`` (so its word agrees with a log that stops there)."""
    return when(t, 12.0, 0x109, PresentCurrent=0)


def simple(m: Measurements, name: str, limit: Limit) -> str:
    return judge(m.values, m.uncertainty, {name: limit}, DecisionRule(rule="simple_acceptance")).verdict


# -- reaction time: from the rig's own action to the current at the inlet ------------------------------


@pytest.mark.parametrize("stop_at", [8.48, 8.52])
def test_the_reaction_is_the_inlet_current_reaching_the_threshold_20_ms_either_side_of_the_limit(stop_at):
    m = measured(recorded(reports_stop_at(round(stop_at, 1)), caused_at=8.0),
                 inlet_log([(0.0, 0.0), (5.0, 50.0), (stop_at, 0.0)]))
    assert m.values["reaction_s"] == pytest.approx(stop_at - 8.0, abs=PERIOD)
    assert m.uncertainty["reaction_s"].expanded < 0.002
    assert simple(m, "reaction_s", Limit(max=0.5, unit="s")) == ("pass" if stop_at < 8.5 else "fail")


def test_five_amperes_counts_as_stopped_and_six_does_not():
    five = measured(recorded(reports_stop_at(8.3), caused_at=8.0),
                    inlet_log([(0.0, 0.0), (5.0, 50.0), (8.3, 5.0), (8.6, 0.0)]))
    six = measured(recorded(reports_stop_at(8.3), caused_at=8.0),
                   inlet_log([(0.0, 0.0), (5.0, 50.0), (8.3, 6.0), (8.6, 0.0)]))
    assert five.values["reaction_s"] == pytest.approx(0.3, abs=PERIOD)
    assert six.values["reaction_s"] == pytest.approx(0.6, abs=PERIOD)


def test_a_dip_below_the_threshold_that_comes_back_is_not_the_stop():
    m = measured(recorded(caused_at=8.0), inlet_log([(0.0, 0.0), (5.0, 50.0), (8.3, 0.0), (8.31, 50.0),
                                                     (9.0, 0.0)]))
    assert m.values["reaction_s"] == pytest.approx(1.0, abs=PERIOD)


def test_a_spike_between_reports_is_seen_by_the_records_extremes():
    """0.5 ms at 30 A after the stop: the charger's 100 ms reports never see it, the log's maximum does."""
    m = measured(recorded(reports_stop_at(8.3), caused_at=8.0),
                 inlet_log([(0.0, 0.0), (5.0, 50.0), (8.3, 0.0), (8.7002, 30.0), (8.7007, 0.0)]))
    assert m.values["reaction_s"] == pytest.approx(0.7005, abs=PERIOD)


def test_a_charger_that_never_stops_has_no_reaction_and_fails_a_reaction_limit():
    m = measured(recorded(when(10.0, 12.0, 0x109, PresentCurrent=50), caused_at=8.0),
                 inlet_log([(0.0, 0.0), (5.0, 50.0)]))
    assert m.reaction is not None and m.reaction.end_s is None and m.values["reaction_s"] is None
    assert simple(m, "reaction_s", Limit(max=0.5, unit="s")) == "fail"


def test_no_current_when_the_rig_acted_makes_the_reaction_untimeable():
    m = measured(recorded(caused_at=2.0))  # during the insulation test: nothing flows yet
    assert m.reaction is not None and m.reaction.untimeable is not None
    assert "no current above 5 A" in m.reaction.untimeable and "t = 2.000 s" in m.reaction.untimeable


def test_a_stop_at_the_very_instant_the_rig_acted_is_a_reaction_of_no_time():
    m = measured(recorded(reports_stop_at(8.0), caused_at=8.0), inlet_log([(0.0, 0.0), (5.0, 50.0), (8.0, 0.0)]))
    assert m.reaction is not None and m.reaction.untimeable is None
    assert 0.0 <= m.values["reaction_s"] <= PERIOD


def test_nothing_the_rig_did_means_no_reaction():
    m = measured(recorded())
    assert m.reaction is None and m.values["reaction_s"] is None


def test_the_stamps_of_the_rigs_action_and_of_the_log_trigger_are_in_the_budget():
    m = measured(recorded(reports_stop_at(8.3), caused_at=8.0, caused_u=0.004),
                 inlet_log([(0.0, 0.0), (5.0, 50.0), (8.3, 0.0)], started_u_s=0.003))
    sources = " ".join(c.source for c in m.uncertainty["reaction_s"].components)
    assert "stamped around its call" in sources and "trigger" in sources and "record" in sources
    assert m.uncertainty["reaction_s"].expanded > 2 * 0.004 / 3 ** 0.5


def test_v2h_discharge_current_counts_as_current_for_the_stop():
    v2h_reports = both(when(0.0, 12.0, 0x109, PresentCurrent=0), when(5.0, 8.4, 0x208, PresentDischargeCurrent=20))
    m = measured(recorded(v2h_reports, v2h=True, caused_at=8.0),
                 inlet_log([(0.0, 0.0), (5.0, -20.0), (8.4, 0.0)]))
    assert m.values["reaction_s"] == pytest.approx(0.4, abs=PERIOD)


# -- current limits: judged on the log, not on whole-ampere reports ------------------------------------


@pytest.mark.parametrize(("excess", "verdict"), [(0.6, "pass"), (0.9, "pass"), (1.1, "fail"), (1.4, "fail")])
def test_an_overshoot_hidden_by_whole_ampere_reports_is_measured(excess, verdict):
    """The reports say 50 A throughout (50.6 and 50.9 round to 51, 51.1 and 51.4 to 51): the log decides."""
    m = measured(recorded(), inlet_log([(0.0, 0.0), (5.0, 50.0 + excess), (10.1, 0.0)]))
    assert m.values["overshoot_max_a"] == pytest.approx(excess, abs=1e-6)
    assert simple(m, "overshoot_max_a", Limit(max=1.0, unit="A")) == verdict


@pytest.mark.parametrize(("follows_at", "overshoot"), [(11.9, 50.0), (10.5, 0.0)])
def test_overshoot_counts_only_after_the_settle_window_of_a_falling_target(follows_at, overshoot):
    m = measured(recorded(), inlet_log([(0.0, 0.0), (5.0, 50.0), (follows_at, 0.0)]), settle_s=1.0)
    assert m.values["overshoot_max_a"] == pytest.approx(overshoot, abs=1e-6)


def test_current_while_nothing_was_asked_is_an_overshoot():
    m = measured(recorded(), inlet_log([(0.0, 0.0), (3.5, 2.0), (3.6, 0.0), (5.0, 50.0), (10.1, 0.0)]))
    assert m.values["overshoot_max_a"] == pytest.approx(2.0, abs=1e-6)


def test_tracking_error_is_the_largest_settled_deviation():
    m = measured(recorded(), inlet_log([(0.0, 0.0), (5.0, 50.0), (8.0, 48.7), (8.5, 50.0), (10.1, 0.0)]))
    assert m.values["tracking_error_a"] == pytest.approx(1.3, abs=1e-6)


def test_the_delivered_and_discharged_extremes():
    m = measured(recorded(), inlet_log([(0.0, 0.0), (5.0, 50.0), (10.1, -8.3), (10.2, 0.0)]))
    assert m.values["delivered_max_a"] == pytest.approx(50.0)
    assert m.values["discharge_max_a"] == pytest.approx(8.3)
    assert simple(m, "discharge_max_a", Limit(max=8.0, unit="A")) == "fail"


def test_every_current_value_carries_the_instruments_accuracy():
    m = measured(recorded())
    budget = m.uncertainty["delivered_max_a"]
    assert budget.expanded == pytest.approx(2 * (0.001 * 50 + 0.05) / 3 ** 0.5, rel=1e-6)
    assert "instrument accuracy" in budget.components[0].source


# -- voltage and energy ---------------------------------------------------------------------------------


def _v2h(floor_v: float = 300.0) -> Edit:
    return both(when(0.0, 12.0, 0x109, PresentCurrent=0), when(0.0, 12.0, 0x200, MinDischargeVoltage=floor_v),
                when(5.0, 10.1, 0x208, PresentDischargeCurrent=20))


@pytest.mark.parametrize(("lowest", "margin"), [(299.7, -0.3), (300.4, 0.4)])
def test_min_discharge_voltage_margin_is_the_lowest_logged_voltage_less_the_floor(lowest, margin):
    m = measured(recorded(_v2h(), v2h=True), inlet_log([(0.0, 0.0), (5.0, -20.0), (10.1, 0.0)],
                                                       [(0.0, 350.0), (9.0, lowest), (9.5, 350.0)]))
    assert m.values["min_discharge_voltage_margin_v"] == pytest.approx(margin, abs=1e-6)


def test_min_discharge_voltage_margin_is_unreached_when_nothing_was_discharged():
    m = measured(recorded(_v2h(), v2h=True))
    assert m.values["min_discharge_voltage_margin_v"] is None
    assert "min_discharge_voltage_margin_v" in m.unreached


def test_energy_each_way_from_the_log():
    m = measured(recorded(), inlet_log([(0.0, 0.0), (5.0, 36.0), (6.0, -36.0), (7.0, 0.0)],
                                       [(0.0, 100.0)]))
    assert m.values["energy_into_vehicle_wh"] == pytest.approx(1.0, abs=1e-6)
    assert m.values["energy_from_vehicle_wh"] == pytest.approx(1.0, abs=1e-6)


# -- the charger's word against the measurement --------------------------------------------------------


def test_exact_reports_are_no_finding():
    assert measured(recorded()).disagreements == []


@pytest.mark.parametrize("gain", [1.03, 0.97])
def test_reports_three_percent_off_the_real_current_are_a_finding(gain):
    """The log carries 50 A; the charger reports 51.5 (or 48.5), rounded: 52 (or 48)."""
    off = when(5.0, 10.1, 0x109, PresentCurrent=round(50 * gain))
    m = measured(recorded(off))
    assert len(m.disagreements) == 1 and "PresentCurrent" in m.disagreements[0]
    assert m.values["evse_findings"] == 1


def test_a_report_within_half_an_ampere_of_the_measurement_is_right():
    m = measured(recorded(), inlet_log(CHARGE[:-2] + [(5.0, 50.45), (10.1, 0.0)]))
    assert m.disagreements == []


def test_a_log_with_missing_records_cannot_be_judged():
    batches = inlet_log()
    with pytest.raises(LogGap, match="missing"):
        InletTrace.from_batches([batches[0], batches[2]])


def test_every_value_has_its_uncertainty():
    m = measured(recorded(reports_stop_at(8.3), caused_at=8.0), inlet_log([(0.0, 0.0), (5.0, 50.0), (8.3, 0.0)]))
    assert {name for name, value in m.values.items() if value is not None} <= set(m.uncertainty)


def test_discharge_beyond_the_vehicles_0x200_maximum_is_measured():
    """The synthetic V2H vehicle allows 30 A; the charger draws 31.2 A, reported as 31."""
    m = measured(recorded(_v2h(), v2h=True), inlet_log([(0.0, 0.0), (5.0, -31.2), (10.1, 0.0)]))
    assert m.values["discharge_excess_a"] == pytest.approx(1.2, abs=1e-6)
    assert simple(m, "discharge_excess_a", Limit(max=1.0, unit="A")) == "fail"


def test_drawing_from_a_vehicle_that_offers_no_discharge_is_an_excess():
    m = measured(recorded(), inlet_log([(0.0, 0.0), (5.0, 50.0), (10.1, -2.0), (10.4, 0.0)]))
    assert m.values["discharge_excess_a"] == pytest.approx(2.0, abs=1e-6)
