"""V2H discharge limits the vehicle sets in 0x200, judged against what the EVSE does (0x208, 0x109)."""

from __future__ import annotations

from rig.chademo import messages
from rig.chademo.messages import Side
from rig.chademo.parameters import ChademoParameters
from rig.chademo.reconstruction import SessionSummary
from rig.chademo.rules.findings import NotApplicable, Violation
from rig.chademo.rules.timeline import episodes
from rig.chademo.session import Session, SessionFrame


def _require_v2h(summary: SessionSummary) -> None:
    if not summary.v2h:
        raise NotApplicable("not a V2H session (needs 102.5.7 = 1, 109.4.0 = 1 and 0x200/0x208 exchanged)")


def _discharging(session: Session, params: ChademoParameters) -> list[SessionFrame]:
    """0x208 frames with a discharge current above the stop current."""
    return [f for f in session.of("EvseDischargeStatus") if f["PresentDischargeCurrent"] > params.stop_current_a]


def discharge_current_limit(session: Session, summary: SessionSummary, params: ChademoParameters) -> list[Violation]:
    """Discharge current above the EV's 0x200 limit by the deviation for the deviation time."""
    _require_v2h(summary)

    def excess(frame: SessionFrame) -> bool:
        limit = session.latest("EvDischargeLimits", frame.t)
        return limit is not None and (frame["PresentDischargeCurrent"] - limit["MaxDischargeCurrent"]
                                      >= params.discharge_deviation_a)

    return [Violation("v2h.discharge_current_limit", Side.EVSE, e.first.t,
                      f"discharge current {e.first['PresentDischargeCurrent']:g} A above the EV's limit "
                      f"{limit['MaxDischargeCurrent']:g} A (0x200) by >= {params.discharge_deviation_a:g} A for "
                      f"{e.duration_s:.1f} s (limit {params.discharge_deviation_s:g} s)", (limit, e.first, e.last))
            for e in episodes(session.of("EvseDischargeStatus"), excess, params.discharge_deviation_s)
            if (limit := session.latest("EvDischargeLimits", e.first.t)) is not None]


def min_discharge_voltage(session: Session, summary: SessionSummary, params: ChademoParameters) -> list[Violation]:
    """No discharge below the EV's minimum discharge voltage (0x200 bytes 4-5)."""
    _require_v2h(summary)
    for frame in _discharging(session, params):
        status = session.latest("EvseStatus", frame.t)
        limit = session.latest("EvDischargeLimits", frame.t)
        if status is None or limit is None:
            continue
        if status["PresentVoltage"] < limit["MinDischargeVoltage"] - params.min_discharge_voltage_tolerance_v:
            return [Violation("v2h.min_discharge_voltage", Side.EVSE, frame.t,
                              f"discharging {frame['PresentDischargeCurrent']:g} A at {status['PresentVoltage']:g} V, "
                              f"below the EV's minimum discharge voltage {limit['MinDischargeVoltage']:g} V",
                              (limit, status, frame))]
    return []


def soc_limits(session: Session, summary: SessionSummary, params: ChademoParameters) -> list[Violation]:
    """No discharge below the EV's minimum discharge level (0x200 byte 6), no charge above its
    maximum charge level (byte 7, 0 = not used). State of charge is 0x102 byte 6 scaled by the
    EV's full-scale value (0x100 byte 6)."""
    _require_v2h(summary)

    def soc_at(t: float) -> tuple[float | None, SessionFrame | None]:
        status, reference = session.latest("EvChargeStatus", t), session.latest("EvChargeLimits", t)
        if status is None or reference is None:
            return None, None
        return messages.state_of_charge_percent(status["ChargedRate"], reference["ChargedRateReference"]), status

    for frame in _discharging(session, params):
        soc, status = soc_at(frame.t)
        limit = session.latest("EvDischargeLimits", frame.t)
        if soc is not None and limit is not None and soc < limit["MinBatteryDischargeLevel"] - params.soc_tolerance_percent:
            return [Violation("v2h.soc_limits", Side.EVSE, frame.t,
                              f"discharging at state of charge {soc:.0f} %, below the EV's minimum discharge level "
                              f"{limit['MinBatteryDischargeLevel']:g} %", tuple(x for x in (limit, status, frame) if x))]
    for frame in session.of("EvseStatus"):
        if not frame["Charging"] or frame["PresentCurrent"] <= params.stop_current_a:
            continue
        soc, status = soc_at(frame.t)
        limit = session.latest("EvDischargeLimits", frame.t)
        ceiling = limit["MaxRemainingCapacityForCharging"] if limit is not None else 0
        if soc is not None and limit is not None and 0 < ceiling < soc - params.soc_tolerance_percent:
            return [Violation("v2h.soc_limits", Side.EVSE, frame.t,
                              f"charging at state of charge {soc:.0f} %, above the EV's maximum charge level "
                              f"{ceiling:g} %", tuple(x for x in (limit, status, frame) if x))]
    return []
