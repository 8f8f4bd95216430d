"""The power quality summary for the report: each judged quantity, its measured value and uncertainty, its limit.

Laid out the way a harmonic emission test report tabulates a BS EN 61000-3-2 result (one row per order), with the
DC injection and power factor rows after it, and the power level every value was measured at.
"""

from __future__ import annotations

from rig.evidence.formatting import format_limit, judged_cell
from rig.core.results import CaseResult
from rig.suites.platform import Cell, SummaryTable


def _row(case: CaseResult, name: str, label: str) -> list[Cell]:
    limit = case.limits.get(name)
    power = case.measured.get("export_power_pct_of_rated")
    level = "not measured" if power is None else f"{power:.4g} % of rated"
    return [label, [judged_cell(case, name)], format_limit(limit) if limit is not None else "none", level, case.id]


def power_quality_summary(cases: list[CaseResult]) -> SummaryTable | None:
    """One row per judged quantity, in the plan's order; None when no case judged anything."""
    rows: list[list[Cell]] = []
    for case in cases:
        for name in case.limits:
            if case.procedure == "harmonic_currents":
                label = f"harmonic h{name[1:].removesuffix('_a')} ({case.params.get('grouping', 'group')})"
            else:
                label = name.replace("_pct", " (% of rated current)").replace("_", " ")
            rows.append(_row(case, name, label))
    if not rows:
        return None
    return SummaryTable(
        title="Power quality summary",
        introduction="Harmonic currents (IEC 61000-4-7 windows averaged over the observation period, against the "
                     "plan's limits), DC injection and power factor, each with its expanded "
                     "uncertainty (k = 2) and the power it was measured at.",
        header=["Quantity", "Measured", "Limit", "Power level", "Case"],
        rows=rows)
