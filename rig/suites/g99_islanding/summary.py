"""The islanding summary for the report: the run-on per power level and imbalance, against its limit."""

from __future__ import annotations

from rig.evidence.formatting import format_limit, format_measured
from rig.core.results import CaseResult
from rig.suites.platform import Cell, SummaryTable


def islanding_summary(cases: list[CaseResult]) -> SummaryTable | None:
    """One row per run-on case, in the plan's order; None when there is none."""
    rows: list[list[Cell]] = []
    for case in cases:
        if case.procedure != "run_on":
            continue
        name = "run_on_s"
        value, limit = case.measured.get(name), case.limits.get(name)
        text = format_measured(name, value, limit, case.uncertainty.get(name)).split(": ", 1)[1]
        if case.measured.get("run_on_exceeds_capture"):
            text = f"> {text} (still exporting at the capture's end)"
        verdict = case.verdict if case.verdict in ("pass", "fail", "error") else ""
        level = case.measured.get("power_level_pu")
        setting = case.setting
        rows.append([
            "not measured" if level is None else f"{100.0 * level:.1f} %",
            f"{setting.get('active_balance_pct', '?')} %", f"{setting.get('reactive_balance_pct', '?')} %",
            [(text, verdict)], format_limit(limit) if limit is not None else "none", case.id])
    if not rows:
        return None
    return SummaryTable(
        title="G99 loss of mains: islanding run-on (BS EN 62116 method)",
        introduction="Run-on time from the grid switch S1 opening to the DUT's current ceasing, with the RLC load "
                     "balanced to the DUT's export and then set to each imbalance; power level as a share of the "
                     "registered capacity. Values with their expanded uncertainty (k = 2).",
        header=["power level", "active balance", "reactive balance", "run-on", "limit", "case"],
        rows=rows)
