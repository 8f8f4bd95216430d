"""The G100 summary for the report: each judged quantity, its measured value and uncertainty, its limit.

Laid out the way an export limitation test record reads: the export limit held through the load steps, the
excursion's correction time and settled export, the fail-safe time on loss of the sensor.
"""

from __future__ import annotations

from rig.evidence.formatting import format_limit, judged_cell
from rig.core.results import CaseResult
from rig.suites.platform import Cell, SummaryTable

LABELS = {
    "max_export_w": "largest boundary export after each load step's response time",
    "correction_time_s": "excursion corrected (back under the limit for good)",
    "settled_export_w": "boundary export settled after the excursion",
    "failsafe_time_s": "fail-safe state reached after the sensor was lost",
}


def _row(case: CaseResult, name: str) -> list[Cell]:
    limit = case.limits.get(name)
    return [LABELS.get(name, name.replace("_", " ")), [judged_cell(case, name, missing="not reached")],
            format_limit(limit) if limit is not None else "none", case.id]


def export_limitation_summary(cases: list[CaseResult]) -> SummaryTable | None:
    """One row per judged quantity, in the plan's order; None when no case judged anything."""
    rows = [_row(case, name) for case in cases for name in case.limits]
    if not rows:
        return None
    return SummaryTable(
        title="Export limitation summary (G100)",
        introduction="The site's boundary export as the grid simulator measured it (polled), through household "
                     "load steps, an excursion and the loss of the boundary sensor, each value with its expanded "
                     "uncertainty (k = 2: poll interval, meter accuracy, switching instant).",
        header=["Quantity", "Measured", "Limit", "Case"],
        rows=rows)
