"""The OCPP 2.0.1 summary for the report: each case in the test tool's order (block, then number), with its title
and verdict."""

from __future__ import annotations

import re

from rig.core.results import CaseResult
from rig.suites.platform import Cell, SummaryTable


def _order(case: CaseResult) -> tuple[str, tuple[int, ...]]:
    """TC_B_01_CS before TC_B_12_CS before TC_C_02_CS; the rig's own (RIG_201_Fnn) after them."""
    block = re.match(r"TC_([A-Z])_", case.id)
    return (block.group(1) if block else "~" + case.id, tuple(int(n) for n in re.findall(r"\d+", case.id)))


def ocpp201_summary(cases: list[CaseResult]) -> SummaryTable | None:
    if not cases:
        return None
    rows: list[list[Cell]] = [[case.id, str(case.setting.get("title", "")), case.clause.text,
                               [(case.verdict, case.verdict)]] for case in sorted(cases, key=_order)]
    return SummaryTable(
        title="OCPP 2.0.1 conformance (OCA test tool order)",
        introduction="Each case as the OCA's compliance test tool names it (SUT = charging station), judged on the "
                     "frames the rig recorded as the charger's CSMS and on what the bench measured.",
        header=["Case", "Title", "Clause", "Verdict"],
        rows=rows)
