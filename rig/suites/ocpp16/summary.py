"""The OCPP 1.6J summary for the report: each case in the test tool's order, with its title and verdict."""

from __future__ import annotations

import re

from rig.core.results import CaseResult
from rig.suites.platform import Cell, SummaryTable


def _order(case: CaseResult) -> tuple[int, ...]:
    """TC_001_CS before TC_002_CS before TC_004_1_CS: by the numbers in the id."""
    return tuple(int(n) for n in re.findall(r"\d+", case.id))


def ocpp16_summary(cases: list[CaseResult]) -> SummaryTable | None:
    if not cases:
        return None
    rows: list[list[Cell]] = [[case.id, str(case.setting.get("title", "")), case.clause.text,
                               [(case.verdict, case.verdict)]] for case in sorted(cases, key=_order)]
    return SummaryTable(
        title="OCPP 1.6J conformance (OCA test tool order)",
        introduction="Each case as the OCA's compliance test tool names it (SUT = charge point), judged on the "
                     "frames the rig recorded as the charger's central system and on what the bench measured.",
        header=["Case", "Title", "Clause", "Verdict"],
        rows=rows)
