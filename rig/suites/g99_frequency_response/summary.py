"""The frequency-response summary for the report: one row per step, the power it asked for and what came.

Laid out as a type-test form tabulates LFSM-O: frequency, the power the line
requires, the measured deviation from it, the response time and the
steadiness after it, each with its own verdict.
"""

from __future__ import annotations

from rig.evidence.formatting import format_number, judged_cell
from rig.core.results import CaseResult
from rig.suites.platform import Cell, SummaryTable


def _judged(case: CaseResult, name: str) -> list[tuple[str, str]] | str:
    """A judged value with its uncertainty, marked with its own verdict; "not judged" when the case has no limit."""
    return [judged_cell(case, name)] if name in case.limits else "not judged"


def frequency_response_summary(cases: list[CaseResult]) -> SummaryTable | None:
    """One row per step of every case, in plan order; None when no case ran."""
    rows: list[list[Cell]] = []
    for case in cases:
        k = 1
        while f"step{k}_deviation_pu" in case.limits:
            prefix = f"step{k}_"
            frequency = case.measured.get(prefix + "frequency_hz")
            line = case.measured.get(prefix + "line_pu")
            rows.append([
                f"{case.id} step {k}",
                "-" if frequency is None else f"{format_number(frequency)} Hz",
                "-" if line is None else f"{line:.4f} pu",
                _judged(case, prefix + "deviation_pu"),
                _judged(case, prefix + "response_s"),
                _judged(case, prefix + "excursion_pu"),
            ])
            k += 1
    if not rows:
        return None
    return SummaryTable(
        title="Frequency response summary",
        introduction="Each frequency step: the power the line requires (per unit of the power exported at nominal "
                     "frequency before the sequence), the measured deviation from it, the time the power took to "
                     "enter the tolerance band, and the largest one-cycle deviation once the allowed response time "
                     "had passed (no undamped oscillation).",
        header=["Step", "Frequency", "Line", "Deviation", "Response time", "Excursion after the response time"],
        rows=rows)
