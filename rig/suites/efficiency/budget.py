"""The uncertainty of a measured efficiency, term by term (GUM, JCGM 100:2008 5.1-5.2; the model and the
analyzer terms as ``shared/reference/efficiency-sources.md`` 3.1-3.4 give them).

One operating point: the analyzer's AC and DC elements, read over the same
window of data updates. The model is

    eta = P_out / P_in     (charging: P_out = P_dc, P_in = P_ac; discharging: P_out = -P_ac, P_in = -P_dc)

with the analyzer's sign conventions (AC element: power into the charger
positive; DC element: power into the vehicle positive). Sensitivities
d(eta)/d(P_out) = eta / P_out and d(eta)/d(P_in) = -eta / P_in, so each term
enters as eta times its relative standard uncertainty:

- each element's stated power accuracy at the window's mean reading, on the
  range it measured on (``PowerSpec.half_width_w``: reading, range and, below
  power factor 1, the power-factor term), a rectangular half-width (u = a / sqrt 3);
- each element's scatter over the window (type A: the standard deviation of
  the updates' means over sqrt n);
- the two elements taken as independent (r = 0: different elements with
  different frequency specifications, efficiency-sources.md 3.1), stated in the
  budget; a common gain term would cancel, so r = 0 is the cautious choice.

Weighted efficiencies (European 5/10/20/30/50/100 %, CEC 10/20/30/50/75/100 %):
eta_w = sum(w_i eta_i), with U(eta_w) = sum(w_i U_i): the load points share one
analyzer whose gain errors do not average out, so the bound with every
correlation 1 is stated (efficiency-sources.md 3.3). Round trip per point:
eta_charge x eta_discharge, relative uncertainties added in quadrature
(charge and discharge ranges differ).

Efficiencies are in percent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from rig.core.results import Uncertainty, UncertaintyComponent
from rig.core.roles import ElementReading, PowerSpec
from rig.core.uncertainty import COVERAGE_FACTOR, expanded, rectangular

Direction = Literal["charge", "discharge"]

EUROPEAN_WEIGHTS: dict[int, float] = {5: 0.03, 10: 0.06, 20: 0.13, 30: 0.10, 50: 0.48, 100: 0.20}
"""European weighted efficiency (EN 50530 context; JRC): load point (% of rated) -> weight (efficiency-sources.md
1.2, confirmed)."""
CEC_WEIGHTS: dict[int, float] = {10: 0.04, 20: 0.05, 30: 0.12, 50: 0.21, 75: 0.53, 100: 0.05}
"""CEC weighted efficiency (Sandia protocol, the same at every DC voltage; efficiency-sources.md 1.1, confirmed)."""
WEIGHTINGS = {"european": EUROPEAN_WEIGHTS, "cec": CEC_WEIGHTS}


@dataclass(frozen=True)
class ElementWindow:
    """One element over the judged window: its updates' readings and its stated accuracy on that range."""

    readings: Sequence[ElementReading]
    spec: PowerSpec
    spec_source: str
    """What the accuracy is (model, band, terms), for the budget's line."""

    @property
    def mean_w(self) -> float:
        return float(np.mean([r.power_w for r in self.readings]))

    def accuracy_half_width_w(self) -> float:
        """The stated accuracy at the window's mean reading (the range of the last update: fixed in a window)."""
        last = self.readings[-1]
        apparent = float(np.mean([r.apparent_va for r in self.readings]))
        return self.spec.half_width_w(self.mean_w, last.power_range_w, max(apparent, abs(self.mean_w)))

    def type_a_w(self) -> float:
        """The standard deviation of the mean of the window's updates (W)."""
        values = np.array([r.power_w for r in self.readings])
        return float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0


@dataclass(frozen=True)
class PointEfficiency:
    direction: Direction
    p_in_w: float
    p_out_w: float
    efficiency_percent: float
    uncertainty: Uncertainty
    """Expanded (k = 2), in percentage points, with every term of the budget."""


def point_efficiency(direction: Direction, ac: ElementWindow, dc: ElementWindow) -> PointEfficiency:
    """The efficiency of one operating point and its budget (percent)."""
    if len(ac.readings) != len(dc.readings) or not ac.readings:
        raise ValueError("the AC and DC elements must be read over the same updates")
    p_ac, p_dc = ac.mean_w, dc.mean_w
    p_in, p_out, inside, outside = (p_ac, p_dc, ac, dc) if direction == "charge" else (-p_dc, -p_ac, dc, ac)
    if p_in <= 0.0:
        raise ValueError(f"no power flowed in the {direction} direction (input {p_in:.1f} W)")
    eta = 100.0 * p_out / p_in
    components: list[UncertaintyComponent] = []
    for window, power, side in ((outside, p_out, "output"), (inside, p_in, "input")):
        element = "AC" if window is ac else "DC"
        scale = abs(eta / power)
        components.append(rectangular(f"{element} element accuracy ({side}; {window.spec_source})",
                                      scale * window.accuracy_half_width_w()))
        components.append(UncertaintyComponent(
            source=f"{element} element scatter ({side}; type A, {len(window.readings)} updates)",
            standard=scale * window.type_a_w(), distribution="normal"))
    budget = expanded(*components)
    budget.components.append(UncertaintyComponent(
        source="correlation between the AC and DC elements: r = 0 (different elements and frequency "
               "specifications; a common gain error would cancel)", standard=0.0, distribution="normal"))
    return PointEfficiency(direction, p_in, p_out, eta, budget)


@dataclass(frozen=True)
class Weighted:
    efficiency_percent: float
    uncertainty: Uncertainty


def at_load(curve: Sequence[tuple[float, float, Uncertainty]], load_percent: float) -> tuple[float, Uncertainty]:
    """The efficiency at ``load_percent`` from a curve measured at the loads its points reached ((load %, eta %,
    U), any order): the vehicle commands whole amperes, so a point lands near, not on, its load (5 % of 7.4 kW
    discharging from 350 V: 2.7 % or 7.2 %).

    Linear in load between the two measured points around it, U = w_a U_a + w_b U_b (one analyzer: correlated).
    Outside the measured loads, the line through the two nearest points, with the difference from the nearest
    point's own value added as a rectangular term (an efficiency curve bends there: the line is not the
    curve). A curve of one point gives no slope: that point, reached within the plan's load tolerance, stands
    for the load, as said in its budget."""
    points = sorted(curve)
    if not points:
        raise ValueError("no measured point to take the efficiency from")
    if len(points) == 1:
        load, eta, u = points[0]
        note = UncertaintyComponent(source=f"the one point measured, at {load:.3g} % of the rating, stands for "
                                           f"{load_percent:g} % (reached within the plan's load tolerance)",
                                    standard=0.0, distribution="normal")
        return eta, Uncertainty(expanded=u.expanded, coverage_factor=u.coverage_factor,
                                components=[*u.components, note])
    loads = [p[0] for p in points]
    index = int(np.searchsorted(loads, load_percent))
    lo, hi = (0, 1) if index == 0 else (len(points) - 2, len(points) - 1) if index >= len(points) else (index - 1, index)
    (l_a, e_a, u_a), (l_b, e_b, u_b) = points[lo], points[hi]
    w_b = (load_percent - l_a) / (l_b - l_a) if l_b != l_a else 0.0
    w_a = 1.0 - w_b
    eta = w_a * e_a + w_b * e_b
    bound = abs(w_a) * u_a.expanded + abs(w_b) * u_b.expanded
    components = [UncertaintyComponent(
        source=f"the points at {l_a:.3g} % and {l_b:.3g} % of the rating, interpolated linearly to {load_percent:g} % "
               "(their uncertainties added: one analyzer)", standard=bound / COVERAGE_FACTOR, distribution="normal")]
    if not l_a <= load_percent <= l_b:
        nearest = points[0] if index == 0 else points[-1]
        components.append(rectangular(f"extrapolated beyond the measured loads to {load_percent:g} %: up to the "
                                      f"difference from the nearest point ({nearest[0]:.3g} %)", abs(eta - nearest[1])))
    return eta, expanded(*components)


def weighted(points: Mapping[int, tuple[float, Uncertainty]], weights: Mapping[int, float], name: str) -> Weighted:
    """A weighted efficiency from the load points' efficiencies (percent of rated -> (eta %, U)); every weighted
    point must have been measured. U = sum(w_i U_i): the points' analyzer errors taken as fully correlated."""
    missing = sorted(set(weights) - set(points))
    if missing:
        raise ValueError(f"the {name} weighting needs the {', '.join(f'{p} %' for p in missing)} point(s)")
    value = sum(w * points[p][0] for p, w in weights.items())
    bound = sum(w * points[p][1].expanded for p, w in weights.items())
    term = UncertaintyComponent(
        source=f"{name} weighting: sum of w_i x U_i over the load points (their errors taken as fully correlated: "
               "one analyzer)", standard=bound / COVERAGE_FACTOR, distribution="normal")
    return Weighted(value, Uncertainty(expanded=bound, coverage_factor=COVERAGE_FACTOR, components=[term]))


def round_trip(charge: tuple[float, Uncertainty], discharge: tuple[float, Uncertainty]) -> Weighted:
    """Round-trip efficiency of one load point (percent): charge x discharge, relative uncertainties in
    quadrature (the two directions' readings are on different ranges: taken as independent)."""
    (e_c, u_c), (e_d, u_d) = charge, discharge
    value = e_c * e_d / 100.0
    rel = math.hypot(u_c.expanded / e_c, u_d.expanded / e_d)
    term = UncertaintyComponent(source="charge and discharge efficiencies (relative, in quadrature)",
                                standard=value * rel / COVERAGE_FACTOR, distribution="normal")
    return Weighted(value, Uncertainty(expanded=value * rel, coverage_factor=COVERAGE_FACTOR, components=[term]))
