"""The efficiency part of the report: a curve per direction (one line per battery voltage, expanded uncertainty
as bars), the table of every point, the weighted figures, round trip per point, standby and idle power.

Drawn from the recorded cases alone (their measured values and uncertainties:
``eta_<V>V_<load>pct``, ``european_<V>V_percent``, ...), so the report can be
rebuilt from results.json.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rig.core.results import CaseResult, Uncertainty
from rig.evidence.plot_canvas import CanvasLayout
from rig.suites.efficiency.budget import round_trip
from rig.suites.platform import Cell, SuiteFigure, SuiteSection, SummaryTable

if TYPE_CHECKING:
    from matplotlib.axes import Axes

POINT = re.compile(r"^eta_(?P<volts>[0-9.]+)V_(?P<load>[0-9.]+)pct$")
WEIGHTED = re.compile(r"^(?P<name>european|cec)_(?P<volts>[0-9.]+)V_percent$")
LAYOUT = CanvasLayout(6.0, (3.0, 1.0), top=0.92, bottom=0.10)
Curves = dict[float, list[tuple[float, float, float, float]]]
"""Battery voltage -> [(load asked %, efficiency %, U pp, load reached %)], by load."""


@dataclass(frozen=True)
class CurveDrawing:
    """Efficiency over load, one line per battery voltage, U (k = 2) as bars; below, U itself."""

    title: str
    curves: tuple[tuple[float, tuple[tuple[float, float, float, float], ...]], ...]
    """Per battery voltage: (load asked, efficiency, U, load reached), drawn at the load reached."""

    layout = LAYOUT

    def draw(self, top: Axes, bottom: Axes) -> None:
        for volts, points in self.curves:
            loads = [p[3] for p in points]
            top.errorbar(loads, [p[1] for p in points], yerr=[p[2] for p in points], marker="o", ms=3, capsize=3,
                         lw=1.0, label=f"{volts:g} V")
            bottom.plot(loads, [p[2] for p in points], marker="o", ms=3, lw=1.0)
        top.set_ylabel("efficiency (%)")
        top.legend(loc="lower right", fontsize=8, title="battery")
        bottom.set_xlabel("load (% of rated power)")
        bottom.set_ylabel("U, k = 2 (pp)")
        bottom.set_ylim(bottom=0.0)


def _points(cases: list[CaseResult]) -> dict[str, Curves]:
    """Direction -> its curves, from every curve case."""
    out: dict[str, Curves] = {}
    for case in cases:
        if case.procedure != "curve":
            continue
        direction = str(case.setting.get("direction", ""))
        for name, value in case.measured.items():
            match = POINT.match(name)
            if match is None or value is None:
                continue
            u = case.uncertainty.get(name)
            reached = case.measured.get(f"load_{match['volts']}V_{match['load']}pct")
            curves = out.setdefault(direction, {})
            curves.setdefault(float(match["volts"]), []).append(
                (float(match["load"]), value, u.expanded if u is not None else float("nan"),
                 float(reached) if reached is not None else float(match["load"])))
    for curves in out.values():
        for points in curves.values():
            points.sort()
    return out


def _cell(value: float, u: Uncertainty | None) -> str:
    return f"{value:.2f} ± {u.expanded:.2f}" if u is not None else f"{value:.2f}"


def _point_cell(point: tuple[float, float, float, float]) -> str:
    """Efficiency ± U, and the load it was measured at when that is more than 1 % of the rating off the point."""
    asked, eta, u, reached = point
    where = f" (at {reached:.1f} %)" if abs(reached - asked) > 1.0 else ""
    return f"{eta:.2f} ± {u:.2f}{where}"


def _point_table(points: dict[str, Curves]) -> SummaryTable | None:
    loads = sorted({p[0] for curves in points.values() for pts in curves.values() for p in pts})
    if not loads:
        return None
    rows: list[list[Cell]] = []
    for direction, curves in points.items():
        for volts, pts in sorted(curves.items()):
            at = {p[0]: p for p in pts}
            row: list[Cell] = [direction, f"{volts:g}"]
            rows.append(row + [_point_cell(at[x]) if x in at else "not measured" for x in loads])
    return SummaryTable(
        title="Efficiency at each load point (%, ± U at k = 2)",
        introduction="Output over input as the power analyzer measured both sides over the same window (charging: "
                     "DC out of AC in; discharging: AC out of DC in); the uncertainty from the analyzer's stated "
                     "accuracy on the range used and the scatter of its readings. The vehicle commands whole "
                     "amperes, so a point lands near its load: where it landed more than 1 % of the rating off, "
                     "the load it was measured at is given.",
        header=["Direction", "Battery (V)", *[f"{x:g} %" for x in loads]], rows=rows)


def _weighted_table(cases: list[CaseResult]) -> SummaryTable | None:
    rows: list[list[Cell]] = []
    for case in cases:
        if case.procedure != "curve":
            continue
        found: dict[float, dict[str, str]] = {}
        for name, value in case.measured.items():
            match = WEIGHTED.match(name)
            if match is not None and value is not None:
                found.setdefault(float(match["volts"]), {})[match["name"]] = _cell(value, case.uncertainty.get(name))
        for volts, cells in sorted(found.items()):
            rows.append([str(case.setting.get("direction", "")), f"{volts:g}", cells.get("european", "not weighed"),
                         cells.get("cec", "not weighed")])
    if not rows:
        return None
    return SummaryTable(
        title="Weighted efficiencies (%, ± U at k = 2)",
        introduction="European (EN 50530 weights 0.03/0.06/0.13/0.10/0.48/0.20 at 5/10/20/30/50/100 %) and CEC "
                     "(0.04/0.05/0.12/0.21/0.53/0.05 at 10/20/30/50/75/100 %), each load's efficiency taken from "
                     "the measured curve at exactly that load (linear between the loads the points reached); "
                     "U = sum of w_i U_i (the points share one analyzer: their errors taken as fully correlated).",
        header=["Direction", "Battery (V)", "European", "CEC"], rows=rows)


def _round_trip_table(cases: list[CaseResult]) -> SummaryTable | None:
    by_direction: dict[str, dict[str, tuple[float, Uncertainty]]] = {}
    for case in cases:
        if case.procedure != "curve":
            continue
        for name, value in case.measured.items():
            u = case.uncertainty.get(name)
            if POINT.match(name) and value is not None and u is not None:
                by_direction.setdefault(str(case.setting.get("direction", "")), {})[name] = (value, u)
    charge, discharge = by_direction.get("charge", {}), by_direction.get("discharge", {})
    common = [name for name in charge if name in discharge]
    if not common:
        return None
    rows: list[list[Cell]] = []
    for name in sorted(common, key=lambda n: (float(POINT.match(n)["volts"]), float(POINT.match(n)["load"]))):  # type: ignore[index]
        match = POINT.match(name)
        assert match is not None
        result = round_trip(charge[name], discharge[name])
        rows.append([f"{float(match['volts']):g}", f"{float(match['load']):g}",
                     _cell(result.efficiency_percent, result.uncertainty)])
    return SummaryTable(
        title="Round-trip efficiency per load point (%, ± U at k = 2)",
        introduction="Charge efficiency times discharge efficiency at the same battery voltage and load point "
                     "(the charger alone, no battery losses); relative uncertainties in quadrature.",
        header=["Battery (V)", "Load (%)", "Round trip"], rows=rows)


def _still_table(cases: list[CaseResult]) -> SummaryTable | None:
    rows: list[list[Cell]] = []
    for case in cases:
        if case.procedure in ("standby", "idle_connected") and case.measured.get("power_w") is not None:
            value = case.measured["power_w"]
            assert value is not None
            rows.append([case.id, case.procedure.replace("_", "-"),
                         f"{value:.3f} ± {case.uncertainty['power_w'].expanded:.3f}" if "power_w" in case.uncertainty
                         else f"{value:.3f}", [(case.verdict, case.verdict)]])
    if not rows:
        return None
    return SummaryTable(title="Standby and idle-connected power (W, ± U at k = 2)",
                        introduction="AC input with its export held at 0 by its own control: nothing plugged "
                                     "(standby), a vehicle plugged and nothing transferred (idle-connected).",
                        header=["Case", "Mode", "Power", "Verdict"], rows=rows)


def section(cases: list[CaseResult]) -> SuiteSection | None:
    """The suite's tables and a curve per direction."""
    points = _points(cases)
    tables = [t for t in (_point_table(points), _weighted_table(cases), _round_trip_table(cases), _still_table(cases))
              if t is not None]
    figures = [SuiteFigure(f"curve-{direction}", f"Efficiency, {direction} ({'DC out of AC in' if direction == 'charge' else 'AC out of DC in'}), "
                           "one line per battery voltage, bars: expanded uncertainty (k = 2)",
                           CurveDrawing(f"{direction.capitalize()} efficiency",
                                        tuple((volts, tuple(pts)) for volts, pts in sorted(curves.items()))))
               for direction, curves in points.items()]
    if not tables and not figures:
        return None
    return SuiteSection(tables=tables, figures=figures)
