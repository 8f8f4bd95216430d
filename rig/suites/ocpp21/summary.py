"""The OCPP 2.1 V2X summary for the report: each case, its verdict, and the power checks' response times."""

from __future__ import annotations

from rig.core.results import CaseResult
from rig.suites.ocpp201.summary import _order
from rig.suites.platform import Cell, SummaryTable


def ocpp21_summary(cases: list[CaseResult]) -> SummaryTable | None:
    if not cases:
        return None
    rows: list[list[Cell]] = []
    for case in sorted(cases, key=_order):
        times = [f"{value:.2f}" for name, value in case.measured.items()
                 if name.endswith("_response_s") and value is not None]
        rows.append([case.id, str(case.setting.get("title", "")), case.clause.text, ", ".join(times) or "-",
                     [(case.verdict, case.verdict)]])
    return SummaryTable(
        title="OCPP 2.1 bidirectional (V2X) control, judged at the grid",
        introduction="Each case as the OCA's compliance test tool names it where it has an id (RIG_21_* where it "
                     "has none): the frames judged as the charger's CSMS, and the power measured at the charger's "
                     "AC terminals against what the rig commanded (time to 90 % of each change, in s).",
        header=["Case", "Title", "Clause", "Response times (s)", "Verdict"],
        rows=rows)
