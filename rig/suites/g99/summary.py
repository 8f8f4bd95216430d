"""The G99 summary for the report: settings, trip values, trip times and no-trip points per stage.

Laid out the way a G99 type-test form (compliance verification report) tabulates interface protection.
"""

from __future__ import annotations

from rig.evidence.formatting import format_measured, format_setting
from rig.core.results import CaseResult
from rig.suites.platform import Cell, SummaryTable

_MEASURED_BY_PROCEDURE = {"trip_value": "trip_value", "trip_time": "trip_time_s"}


def protection_summary(cases: list[CaseResult]) -> SummaryTable | None:
    """One row per stage, in the order the stages first appear; None when no case judged a stage."""
    stages: dict[str, dict[str, Cell]] = {}
    for case in cases:
        stage = case.setting.get("stage")
        if case.procedure == "reconnection":
            stage = "Reconnection"
        elif case.procedure == "operating_range":
            stage = "Operating range"
        if not isinstance(stage, str):
            continue
        settings = {k: v for k, v in case.setting.items() if k != "stage"}
        if case.procedure == "operating_range":
            settings = {}
        row = stages.setdefault(stage, {"setting": format_setting(settings), "trip_value": [],
                                        "trip_time": [], "no_trip": []})
        if case.procedure in _MEASURED_BY_PROCEDURE:
            name = _MEASURED_BY_PROCEDURE[case.procedure]
            text = format_measured(name, case.measured.get(name), case.limits.get(name),
                                   case.uncertainty.get(name)).split(": ", 1)[1]
            ramp = _timed_ramp(case)
            entries = row[case.procedure]
            assert isinstance(entries, list)
            entries.append(((f"{ramp}: " if ramp else "") + ("error" if case.verdict == "error" else text),
                            case.verdict))
        elif case.procedure == "no_trip":
            points = row["no_trip"]
            assert isinstance(points, list)
            points.append((_disturbance_words(case, settings), case.verdict))
        elif case.procedure in ("reconnection", "operating_range"):
            _add_hold(row, case)
    if not stages:
        return None
    return SummaryTable(
        title="Interface protection summary",
        introduction="Settings, measured trip values and trip times, and no-trip tests per stage, in the manner of "
                     "a grid code's type-test form (G99 Form A2-3, IEEE 1547.1).",
        header=["Stage", "Setting", "Trip value", "Trip time", "No-trip tests"],
        rows=[[stage, row["setting"], row["trip_value"] or "not tested", row["trip_time"] or "not tested",
               row["no_trip"] or "none"] for stage, row in stages.items()])


def _add_hold(row: dict[str, Cell], case: CaseResult) -> None:
    """Reconnection: its time in the trip-time column, the hold outside the window with the no-trip tests.
    Operating range: each hold with the no-trip tests (the DUT must ride through it)."""
    points, times = row["no_trip"], row["trip_time"]
    assert isinstance(points, list) and isinstance(times, list)
    if case.procedure == "operating_range":
        at = case.setting
        words = " ".join(f"{at[k]:g} {u}" for k, u in (("voltage_v", "V"), ("frequency_hz", "Hz")) if k in at)
        points.append((f"{words} for {float(at.get('duration_s', 0)):g} s", case.verdict))
        return
    name = "reconnection_time_s"
    text = format_measured(name, case.measured.get(name), case.limits.get(name),
                           case.uncertainty.get(name)).split(": ", 1)[1]
    times.append((f"{case.id.rsplit('.', 1)[1]}: " + ("error" if case.verdict == "error" else text), case.verdict))
    outside = case.params.get("outside")
    if isinstance(outside, dict):
        where = ", ".join(f"{v:g} {'V' if k == 'voltage_v' else 'Hz'}" for k, v in outside.items() if v is not None)
        points.append((f"no reconnection at {where}", case.verdict))


def _unit(settings: dict) -> str:
    """The unit of the grid quantity a case drives: V for a voltage stage, else Hz (frequency, RoCoF, vector
    shift are all driven through the frequency)."""
    return "V" if any(k.endswith("_v") for k in settings) else "Hz"


def _timed_ramp(case: CaseResult) -> str:
    """``at 1.05 Hz/s`` for a trip timed on a ramp leg, else empty."""
    ramps = case.params.get("ramps")
    if not isinstance(ramps, list):
        return ""
    timed_from = case.params.get("timed_from", 0)
    leg = ramps[timed_from if isinstance(timed_from, int) else 0]
    return f"at {leg['rate_per_s']:g} {_unit(case.setting)}/s"


def _disturbance_words(case: CaseResult, settings: dict) -> str:
    """``188 V for 5 s``, or a ramp program: ``49 -> 51 -> 49 -> 50 Hz at 0.95 Hz/s``."""
    ramps = case.params.get("ramps")
    if isinstance(ramps, list):
        jumps = [r for r in ramps if r.get("phase_jump_deg")]
        if jumps:
            return "; ".join(f"phase step {float(r['phase_jump_deg']):+g} deg at {float(r['to']):g} Hz" for r in jumps)
        rates = sorted({float(r["rate_per_s"]) for r in ramps})
        unit = _unit(settings)
        return (" -> ".join(f"{float(r['to']):g}" for r in ramps) + f" {unit} at "
                + "/".join(f"{rate:g}" for rate in rates) + f" {unit}/s")
    return f"{case.params.get('level'):g} {_unit(settings)} for {case.params.get('hold_s'):g} s"
