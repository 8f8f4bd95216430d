"""The efficiency budget against a hand calculation, each term written out (efficiency-sources.md 3.2: a 7 kW
charger on a WT3000, charging at 100 %), the weighted figures and the round trip."""

from __future__ import annotations

import math

import pytest

from rig.core.roles import ElementReading, PowerSpec
from rig.core.uncertainty import expanded, normal
from rig.suites.efficiency.budget import (CEC_WEIGHTS, EUROPEAN_WEIGHTS, ElementWindow, point_efficiency, round_trip,
                                          weighted)

WT3000_AC = PowerSpec(reading=0.0002, range=0.0004)  # 45-66 Hz: 0.02 % of reading + 0.04 % of range
WT3000_DC = PowerSpec(reading=0.0005, range=0.001)   # DC: 0.05 % of reading + 0.1 % of range


def window(power_w: float, volts: float, amps: float, v_range: float, a_range: float, spec: PowerSpec,
           scatter_w: tuple[float, ...] = (0.0,)) -> ElementWindow:
    readings = [ElementReading(volts, power_w / volts, power_w + d, abs(power_w + d), 50.0 if spec is WT3000_AC
                               else None, v_range, a_range) for d in scatter_w]
    return ElementWindow(readings, spec, "WT3000")


def test_one_point_matches_the_hand_calculation_term_by_term() -> None:
    ac = window(6900.0, 230.0, 30.0, 300.0, 30.0, WT3000_AC)   # 6900 W on the 300 V x 30 A = 9000 W range
    dc = window(6530.0, 400.0, 16.3, 600.0, 20.0, WT3000_DC)   # 6530 W on the 600 V x 20 A = 12000 W range
    point = point_efficiency("charge", ac, dc)
    a_ac = 0.0002 * 6900.0 + 0.0004 * 9000.0       # 4.98 W half-width
    a_dc = 0.0005 * 6530.0 + 0.001 * 12000.0       # 15.265 W
    u_ac, u_dc = a_ac / math.sqrt(3), a_dc / math.sqrt(3)  # 2.875 W (0.042 %), 8.813 W (0.135 %)
    eta = 100.0 * 6530.0 / 6900.0                  # 94.64 %
    u_eta = eta * math.sqrt((u_ac / 6900.0) ** 2 + (u_dc / 6530.0) ** 2)
    assert point.efficiency_percent == pytest.approx(eta)
    assert (round(u_ac, 2), round(u_dc, 2)) == (2.88, 8.81)           # the reference's table
    assert point.uncertainty.expanded == pytest.approx(2.0 * u_eta)
    assert round(point.uncertainty.expanded, 2) == 0.27                # "0.27 pp"
    terms = {c.source.split(" (")[0]: c.standard for c in point.uncertainty.components}
    assert terms["AC element accuracy"] == pytest.approx(eta * u_ac / 6900.0)
    assert terms["DC element accuracy"] == pytest.approx(eta * u_dc / 6530.0)
    assert terms["AC element scatter"] == terms["DC element scatter"] == 0.0


def test_a_range_left_at_full_load_settings_dominates_at_part_load() -> None:
    """10 % load on the full-load ranges: about 2.1 pp; on ranges chosen for the point: about 0.28 pp."""
    wide = point_efficiency("charge", window(690.0, 230.0, 3.0, 300.0, 30.0, WT3000_AC),
                            window(621.0, 400.0, 1.55, 600.0, 20.0, WT3000_DC))
    chosen = point_efficiency("charge", window(690.0, 230.0, 3.0, 300.0, 5.0, WT3000_AC),
                              window(621.0, 400.0, 1.55, 600.0, 2.0, WT3000_DC))
    assert round(wide.uncertainty.expanded, 1) == 2.1 and round(chosen.uncertainty.expanded, 2) == 0.28


def test_discharge_reads_the_signs_the_other_way_and_scatter_enters_as_type_a() -> None:
    ac = window(-6000.0, 230.0, -26.1, 300.0, 30.0, WT3000_AC, scatter_w=(-3.0, 0.0, 3.0))
    dc = window(-6400.0, 400.0, -16.0, 600.0, 20.0, WT3000_DC, scatter_w=(-2.0, 0.0, 2.0))
    point = point_efficiency("discharge", ac, dc)
    assert (point.p_in_w, point.p_out_w) == (6400.0, 6000.0) and point.efficiency_percent == pytest.approx(93.75)
    scatter = {c.source.split(" (")[0]: c.standard for c in point.uncertainty.components}
    assert scatter["AC element scatter"] == pytest.approx(93.75 * 3.0 / math.sqrt(3) / 6000.0)
    with pytest.raises(ValueError, match="no power flowed"):
        point_efficiency("charge", ac, dc)


def test_weighted_figures_take_their_points_and_bound_the_uncertainty() -> None:
    u = expanded(normal("x", 0.3))
    points = {p: (90.0 + p / 20.0, u) for p in (5, 10, 20, 30, 50, 75, 100)}
    euro = weighted(points, EUROPEAN_WEIGHTS, "European")
    assert euro.efficiency_percent == pytest.approx(sum(w * (90.0 + p / 20.0) for p, w in EUROPEAN_WEIGHTS.items()))
    assert euro.uncertainty.expanded == pytest.approx(0.3)  # weights sum to 1, every U 0.3
    assert sum(CEC_WEIGHTS.values()) == pytest.approx(1.0) and sum(EUROPEAN_WEIGHTS.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="75 %"):
        weighted({p: v for p, v in points.items() if p != 75}, CEC_WEIGHTS, "CEC")
    trip = round_trip((95.0, expanded(normal("c", 0.19))), (94.0, expanded(normal("d", 0.188))))
    assert trip.efficiency_percent == pytest.approx(89.3)
    assert trip.uncertainty.expanded == pytest.approx(89.3 * math.hypot(0.002, 0.002))


def test_the_efficiency_at_a_load_comes_from_the_curve_the_points_reached() -> None:
    """Whole-ampere commands land points near their loads: the weighted figures take each load from the curve."""
    from rig.suites.efficiency.budget import at_load
    u = expanded(normal("point", 0.25))
    curve = [(9.8, 90.2, u), (2.7, 75.5, u), (20.1, 93.3, expanded(normal("point", 0.30)))]
    eta, inside = at_load(curve, 5.0)  # between 2.7 % and 9.8 %
    assert eta == pytest.approx(75.5 + (90.2 - 75.5) * (5.0 - 2.7) / (9.8 - 2.7))
    assert inside.expanded == pytest.approx(0.25)
    eta, beyond = at_load(curve, 30.0)  # past the last point: the line through the last two, and a term for it
    assert eta == pytest.approx(93.3 + (93.3 - 90.2) * (30.0 - 20.1) / (20.1 - 9.8))
    assert beyond.expanded > 2.0 * abs(eta - 93.3) / 3 ** 0.5 and "extrapolated" in beyond.components[-1].source
    single, alone = at_load([(99.3, 95.27, u)], 100.0)
    assert single == 95.27 and alone.expanded == pytest.approx(0.25) and "stands for 100 %" in alone.components[-1].source
