"""The simulated charging station's OCPP 2.0.1 smart charging answers as part 2 block K says (K01, K08-K10, F01),
judged without a wire: what it accepts, what it reports, and the cap it puts on its DC output."""

from __future__ import annotations

from typing import Any

import pytest
from test_sim_ocpp201_station import station

from rig.protocols.ocpp.frames import CALLRESULT
from rig.protocols.ocpp.schemas import violations


def profile(pid: int, purpose: str = "TxDefaultProfile", limit: float = 3000.0, *, unit: str = "W", stack: int = 0,
            **more: Any) -> dict[str, Any]:
    return {"id": pid, "stackLevel": stack, "chargingProfilePurpose": purpose, "chargingProfileKind": "Relative",
            "chargingSchedule": [{"id": pid, "chargingRateUnit": unit,
                                  "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}], **more}


def ask(s, action: str, payload: dict) -> dict:
    answer, then = s.handle(action, payload)
    assert violations("2.0.1", CALLRESULT, action, answer) == [], answer
    if then is not None:
        then()
    return answer


def charging(s, face) -> None:
    """A transaction on EVSE 1: the card accepted, the vehicle plugged in."""
    s.present_card("CARD-1")
    s.answered("Authorize", face.sent[-1][1], {"idTokenInfo": {"status": "Accepted"}})
    s.plugged(face.t, True)
    assert s.evses[1].tx is not None


@pytest.mark.parametrize(("evse", "chosen", "reason"), [
    (1, profile(1, "TxProfile", transactionId="none"), "TxNotFound"),            # K01.FR.09, TC_K_02
    (0, profile(2, "TxProfile"), "TxNotFound"),                                   # K01.FR.16
    (1, profile(3, "ChargingStationMaxProfile"), "InvalidProfileType"),           # K01.FR.03
    (7, profile(4), "UnknownEvse"),
    (1, profile(5, unit="A"), "UnsupportedRateUnit"),                            # K01.FR.26, TC_K_12 (W only here)
    (1, profile(6, stack=9), "InvalidStackLevel"),
])
def test_what_it_cannot_take_is_rejected_with_its_reason(evse: int, chosen: dict, reason: str) -> None:
    s, _ = station()
    s.dm.set("SmartChargingCtrlr", "ChargingScheduleChargingRateUnit", "W")
    answer = ask(s, "SetChargingProfile", {"evseId": evse, "chargingProfile": chosen})
    assert answer == {"status": "Rejected", "statusInfo": {"reasonCode": reason}}
    assert s.smart.profiles.installed == []


def test_a_default_caps_the_transaction_and_clearing_it_lifts_the_cap() -> None:
    s, face = station()
    assert ask(s, "SetChargingProfile", {"evseId": 1, "chargingProfile": profile(1, limit=3800.0)})["status"] == \
        "Accepted"
    assert s.limit_a(face.t) is None  # a TxDefaultProfile limits transactions only
    charging(s, face)
    assert s.limit_a(face.t) == pytest.approx(10.0)  # 3800 W at the 380 V inlet
    assert ask(s, "ClearChargingProfile", {"chargingProfileId": 1}) == {"status": "Accepted"}
    assert s.limit_a(face.t) is None
    assert ask(s, "ClearChargingProfile", {"chargingProfileId": 1}) == {"status": "Unknown"}


def test_a_tx_profile_overrides_the_default_the_station_maximum_caps_both_and_it_ends_with_its_transaction() -> None:
    s, face = station()
    ask(s, "SetChargingProfile", {"evseId": 0, "chargingProfile": {**profile(9, "ChargingStationMaxProfile", 2280.0),
                                                                    "chargingProfileKind": "Absolute"}})
    ask(s, "SetChargingProfile", {"evseId": 1, "chargingProfile": profile(1, limit=3800.0)})
    charging(s, face)
    tx = s.evses[1].tx.id
    assert ask(s, "SetChargingProfile", {"evseId": 1, "chargingProfile": profile(2, "TxProfile", 1900.0,
                                                                                 transactionId=tx)})["status"] == \
        "Accepted"
    assert s.limit_a(face.t) == pytest.approx(5.0)
    composite = ask(s, "GetCompositeSchedule", {"evseId": 1, "duration": 60})["schedule"]
    assert composite["chargingRateUnit"] == "W" and composite["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 1900.0}]
    s.present_card("CARD-1")  # ends it
    assert s.evses[1].tx is None and [p.id for p in s.smart.profiles.installed] == [9, 1]


def test_get_charging_profiles_reports_per_evse_and_says_when_nothing_matches() -> None:
    s, face = station()
    ask(s, "SetChargingProfile", {"evseId": 0, "chargingProfile": {**profile(9, "ChargingStationMaxProfile", 7000.0),
                                                                    "chargingProfileKind": "Absolute"}})
    ask(s, "SetChargingProfile", {"evseId": 1, "chargingProfile": profile(1, stack=1)})
    assert ask(s, "GetChargingProfiles", {"requestId": 5, "chargingProfile": {}}) == {"status": "Accepted"}
    reports = [p for a, p in face.sent if a == "ReportChargingProfiles"]
    assert [(r["evseId"], [q["id"] for q in r["chargingProfile"]], r["tbc"]) for r in reports] == [
        (0, [9], True), (1, [1], False)]
    assert ask(s, "GetChargingProfiles", {"requestId": 6, "evseId": 1, "chargingProfile": {"stackLevel": 0}}) == \
        {"status": "NoProfiles"}


def test_a_remote_start_profile_must_be_a_tx_profile_and_is_installed_for_the_transaction_it_starts() -> None:
    s, face = station()
    start = {"evseId": 1, "remoteStartId": 1, "idToken": {"idToken": "CARD-1", "type": "ISO14443"}}
    assert ask(s, "RequestStartTransaction", {**start, "chargingProfile": profile(1)})["status"] == "Rejected"
    assert ask(s, "RequestStartTransaction", {**start, "chargingProfile": profile(2, "TxProfile", 1900.0)})[
        "status"] == "Accepted"
    s.plugged(face.t, True)
    installed = s.smart.profiles.installed
    assert [(p.id, p.profile["transactionId"]) for p in installed] == [(2, s.evses[1].tx.id)]
    assert s.limit_a(face.t) == pytest.approx(5.0)


def test_composite_rejects_an_unknown_evse_or_unit_and_reports_the_rating_where_nothing_limits() -> None:
    s, _ = station()
    assert ask(s, "GetCompositeSchedule", {"evseId": 4, "duration": 60})["status"] == "Rejected"
    s.dm.set("SmartChargingCtrlr", "ChargingScheduleChargingRateUnit", "W")
    assert ask(s, "GetCompositeSchedule", {"evseId": 1, "duration": 60, "chargingRateUnit": "A"})["status"] == \
        "Rejected"
    schedule = ask(s, "GetCompositeSchedule", {"evseId": 1, "duration": 60})["schedule"]
    assert schedule["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": s.s.max_power_w}]


def test_with_smart_charging_disabled_it_takes_no_profile() -> None:
    s, _ = station()
    s.dm.set("SmartChargingCtrlr", "Enabled", "false")
    assert ask(s, "SetChargingProfile", {"evseId": 1, "chargingProfile": profile(1)})["status"] == "Rejected"
