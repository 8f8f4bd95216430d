"""The CHAdeMO summary for the report: the charger against every vehicle, one row per case.

A charger must work with every version of every vehicle it meets: a case run
with several vehicles shows one column per vehicle, so a charger that fails
only with one of them stands out.
"""

from __future__ import annotations

from rig.core.results import CaseResult
from rig.suites.platform import Cell, SummaryTable


def compatibility_matrix(cases: list[CaseResult]) -> SummaryTable | None:
    """Rows: cases (without their vehicle suffix); columns: vehicles; cells: the verdict."""
    vehicles: list[str] = []
    rows: dict[str, dict[str, str]] = {}
    for case in cases:
        vehicle = str(case.setting.get("vehicle", ""))
        base = case.id.split("@", 1)[0]
        if vehicle not in vehicles:
            vehicles.append(vehicle)
        rows.setdefault(base, {})[vehicle] = case.verdict
    if not rows:
        return None
    table: list[list[Cell]] = []
    for base, verdicts in rows.items():
        cells: list[Cell] = [base]
        cells += [[(verdicts[vehicle], verdicts[vehicle])] if vehicle in verdicts else "not run" for vehicle in vehicles]
        table.append(cells)
    return SummaryTable(
        title="CHAdeMO: the charger against each vehicle",
        introduction="Each case as run with each vehicle profile it names (fixtures/vehicles): a charger must work "
                     "with every vehicle it meets.",
        header=["Case", *vehicles],
        rows=table)
