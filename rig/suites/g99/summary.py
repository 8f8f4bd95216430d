"""The G99 summary for the report: settings, trip values, trip times and no-trip points per stage.

Laid out the way a G99 type-test form (compliance verification report) tabulates interface protection.
"""

from __future__ import annotations

from rig.formatting import format_measured, format_setting
from rig.results import CaseResult
from rig.suite import Cell, SummaryTable

_MEASURED_BY_PROCEDURE = {"trip_value": "trip_value", "trip_time": "trip_time_s"}


def protection_summary(cases: list[CaseResult]) -> SummaryTable | None:
    """One row per stage, in the order the stages first appear; None when no case judged a stage."""
    stages: dict[str, dict[str, Cell]] = {}
    for case in cases:
        stage = case.setting.get("stage")
        if not isinstance(stage, str):
            continue
        settings = {k: v for k, v in case.setting.items() if k != "stage"}
        row = stages.setdefault(stage, {"setting": format_setting(settings), "trip_value": [("not tested", "")],
                                        "trip_time": [("not tested", "")], "no_trip": []})
        if case.procedure in _MEASURED_BY_PROCEDURE:
            name = _MEASURED_BY_PROCEDURE[case.procedure]
            text = format_measured(name, case.measured.get(name), case.limits.get(name),
                                   case.uncertainty.get(name)).split(": ", 1)[1]
            row[case.procedure] = [("error" if case.verdict == "error" else text, case.verdict)]
        elif case.procedure == "no_trip":
            level, hold = case.params.get("level"), case.params.get("hold_s")
            unit = "V" if any(k.endswith("_v") for k in settings) else "Hz"
            points = row["no_trip"]
            assert isinstance(points, list)
            points.append((f"{level:g} {unit} for {hold:g} s", case.verdict))
    if not stages:
        return None
    return SummaryTable(
        title="Interface protection summary",
        introduction="Settings, measured trip values and trip times, and no-trip tests per stage, in the manner of "
                     "a G99 type-test form.",
        header=["Stage", "Setting", "Trip value", "Trip time", "No-trip tests"],
        rows=[[stage, row["setting"], row["trip_value"], row["trip_time"], row["no_trip"] or "none"]
              for stage, row in stages.items()])
