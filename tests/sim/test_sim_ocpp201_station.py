"""The simulated charger's OCPP 2.0.1 device model and station answer as OCPP 2.0.1 part 2 says (B05-B07, E01-E03,
G03), judged without a wire: a face that records what the station would send."""

from __future__ import annotations

from typing import Any

import pytest

from rig.protocols.ocpp.frames import CALL, CALLRESULT
from rig.protocols.ocpp.schemas import violations
from rig.sim.charger.ocpp201_station import Station201
from rig.sim.charger.ocpp201_variables import DeviceModel, standard_variables
from rig.sim.charger.ocpp_settings import OcppSettings


def model(**defects: bool) -> DeviceModel:
    return DeviceModel(standard_variables(1, "v2g-rig", "SIM-V2G-7K4", "SIM-0001"), {}, **defects)


def item(component: str, variable: str, value: str | None = None, **more: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"component": {"name": component}, "variable": {"name": variable}, **more}
    if value is not None:
        found["attributeValue"] = value
    return found


def test_a_known_variable_is_read_and_an_accepted_value_kept() -> None:
    dm = model()
    assert dm.get(item("OCPPCommCtrlr", "HeartbeatInterval"))["attributeValue"] == "300"
    assert dm.change(item("TxCtrlr", "EVConnectionTimeOut", "45"))["attributeStatus"] == "Accepted"
    assert dm.number("TxCtrlr", "EVConnectionTimeOut") == 45


@pytest.mark.parametrize(("request_item", "status"), [
    (item("RigNoSuchCtrlr", "Enabled"), "UnknownComponent"),
    (item("OCPPCommCtrlr", "RigNoSuchVariable"), "UnknownVariable"),
    (item("OCPPCommCtrlr", "HeartbeatInterval", attributeType="MaxSet"), "NotSupportedAttributeType"),
    (item("SecurityCtrlr", "BasicAuthPassword"), "Rejected"),  # WriteOnly: never read
])
def test_get_variables_answers_what_it_cannot_read(request_item: dict, status: str) -> None:
    answer = model().get(request_item)
    assert answer["attributeStatus"] == status and "attributeValue" not in answer


@pytest.mark.parametrize(("request_item", "status"), [
    (item("RigNoSuchCtrlr", "Enabled", "true"), "UnknownComponent"),
    (item("OCPPCommCtrlr", "RigNoSuchVariable", "1"), "UnknownVariable"),
    (item("OCPPCommCtrlr", "HeartbeatInterval", "100", attributeType="Target"), "NotSupportedAttributeType"),
    (item("SecurityCtrlr", "SecurityProfile", "2"), "Rejected"),        # ReadOnly
    (item("ChargingStation", "AvailabilityState", "Unavailable"), "Rejected"),
    (item("OCPPCommCtrlr", "HeartbeatInterval", "abc"), "Rejected"),  # not an integer
    (item("OCPPCommCtrlr", "HeartbeatInterval", "-1"), "Rejected"),   # below its minimum
    (item("AuthCacheCtrlr", "Enabled", "yes"), "Rejected"),
    (item("TxCtrlr", "TxStartPoint", "EVConnected,Banana"), "Rejected"),
    (item("SecurityCtrlr", "BasicAuthPassword", "short"), "Rejected"),  # fewer than 16 characters
])
def test_set_variables_refuses_and_keeps_what_it_cannot_take(request_item: dict, status: str) -> None:
    dm = model()
    before = dm.report("FullInventory")
    assert dm.change(request_item)["attributeStatus"] == status
    assert dm.report("FullInventory") == before


def test_the_write_only_password_is_set_but_never_reported() -> None:
    dm = model()
    assert dm.change(item("SecurityCtrlr", "BasicAuthPassword", "0123456789abcdef"))["attributeStatus"] == "Accepted"
    reported = [r for r in dm.report("FullInventory") if r["variable"]["name"] == "BasicAuthPassword"]
    assert reported and "value" not in reported[0]["variableAttribute"][0]


def test_the_defects_answer_accepted_where_the_rule_says_otherwise() -> None:
    assert model(readonly_set_accepted=True).change(item("SecurityCtrlr", "SecurityProfile", "2"))["attributeStatus"] \
        == "Accepted"
    assert model(unknown_component_accepted=True).get(item("RigNoSuchCtrlr", "Enabled"))["attributeStatus"] \
        == "Accepted"


def test_base_reports_choose_their_variables_and_validate() -> None:
    dm = model()
    full, configuration = dm.report("FullInventory"), dm.report("ConfigurationInventory")
    summary = dm.report("SummaryInventory")
    assert len(configuration) < len(full)
    assert all(r["variableAttribute"][0]["mutability"] != "ReadOnly" for r in configuration)
    assert {r["variable"]["name"] for r in summary} == {"AvailabilityState"}
    payload = {"requestId": 1, "generatedAt": "2026-12-06T12:00:00.000Z", "seqNo": 0, "reportData": full}
    assert violations("2.0.1", CALL, "NotifyReport", payload) == []


def test_a_profile_value_for_a_variable_it_has_not_is_refused() -> None:
    with pytest.raises(ValueError, match="no OCPP 2.0.1 variable"):
        DeviceModel(standard_variables(1, "v", "m", "i"), {"TxCtrlr.Bogus": "1"})


class Face:
    """What the station sees of the face: its settings, timers, clock and the CALLs it queues."""

    def __init__(self, **settings: Any) -> None:
        self.settings = OcppSettings(versions=["2.0.1"], **settings)
        self.timers: dict[str, float] = {}
        self.sent: list[tuple[str, dict]] = []
        self.t, self.epoch_s = 0.0, 1.8e9
        self.registered = self.online = True

    def call(self, action: str, payload: dict) -> None:
        assert violations("2.0.1", CALL, action, payload) == [], (action, payload)
        self.sent.append((action, payload))

    def now(self) -> float:
        return self.t

    def now_text(self, t: float | None = None) -> str:
        return "2027-01-15T08:00:00.000Z"

    def reboot(self, t: float) -> None:
        self.registered = False

    def heartbeat_changed(self, interval_s: int) -> None:
        pass

    def inlet_volts(self) -> float:
        return 380.0

    def events(self) -> list[dict]:
        return [p for a, p in self.sent if a == "TransactionEvent"]


class Plug:
    def __init__(self) -> None:
        self.on = False

    def energy_wh(self, t: float) -> float:
        return 10.0 * t

    def dc_current_a(self) -> float:
        return 20.0

    def dc_voltage_v(self) -> float:
        return 380.0

    def plugged(self) -> bool:
        return self.on

    def permit_changed(self, t: float) -> None:
        pass


def station(**settings: Any) -> tuple[Station201, Face]:
    face = Face(**settings)
    return Station201(face, Plug()), face  # type: ignore[arg-type]


def test_cable_first_starts_on_the_plug_and_the_card_authorizes_with_seq_numbers_in_order() -> None:
    s, face = station()
    face.t = 10.0
    s.plugged(10.0, True)
    s.present_card("CARD-1")
    assert face.sent[-1] == ("Authorize", {"idToken": {"idToken": "CARD-1", "type": "ISO14443"}})
    s.answered("Authorize", face.sent[-1][1], {"idTokenInfo": {"status": "Accepted"}})
    assert s.permits_energy()
    face.t = 70.0
    s.plugged(70.0, False)
    events = face.events()
    assert [(e["eventType"], e["triggerReason"], e["seqNo"]) for e in events] == [
        ("Started", "CablePluggedIn", 0), ("Updated", "Authorized", 1), ("Ended", "EVCommunicationLost", 2)]
    assert events[-1]["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    begin, end = (e["meterValue"][0]["sampledValue"][0]["value"] for e in (events[0], events[-1]))
    assert end - begin == pytest.approx(600.0)  # 10 Wh/s over the 60 s between the frames
    assert not s.permits_energy()


def test_an_invalid_card_starts_nothing_and_the_seq_defect_repeats_zero() -> None:
    s, face = station()
    s.present_card("BAD")
    s.answered("Authorize", face.sent[-1][1], {"idTokenInfo": {"status": "Invalid"}})
    assert face.events() == []
    stuck, face = station(tx_seq_no_stuck=True)
    stuck.plugged(0.0, True)
    stuck.present_card("CARD-1")
    stuck.answered("Authorize", face.sent[-1][1], {"idTokenInfo": {"status": "Accepted"}})
    assert [e["seqNo"] for e in face.events()] == [0, 0]


def test_inoperative_is_scheduled_during_a_transaction_and_survives_a_power_cut() -> None:
    s, face = station()
    s.plugged(0.0, True)
    s.present_card("CARD-1")
    s.answered("Authorize", face.sent[-1][1], {"idTokenInfo": {"status": "Accepted"}})
    answer, after = s.handle("ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 1}})
    assert answer == {"status": "Scheduled"} and violations("2.0.1", CALLRESULT, "ChangeAvailability", answer) == []
    assert after is not None
    after()
    s.present_card("CARD-1")  # the same card ends it: then the connector is Unavailable
    statuses = [p["connectorStatus"] for a, p in face.sent if a == "StatusNotification"]
    assert statuses[-1] == "Unavailable" and face.events()[-1]["transactionInfo"]["stoppedReason"] == "Local"
    s.power_lost(100.0)
    face.sent.clear()
    s.accepted()
    assert [p["connectorStatus"] for a, p in face.sent if a == "StatusNotification"] == ["Unavailable"]


@pytest.mark.parametrize(("action", "payload", "status"), [
    ("UnlockConnector", {"evseId": 1, "connectorId": 2}, "UnknownConnector"),
    ("RequestStopTransaction", {"transactionId": "nope"}, "Rejected"),
    ("TriggerMessage", {"requestedMessage": "SignV2GCertificate"}, "NotImplemented"),
    ("TriggerMessage", {"requestedMessage": "BootNotification"}, "Rejected"),
    ("DataTransfer", {"vendorId": "org.example"}, "UnknownVendorId"),
    ("ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 3}}, "Rejected"),
])
def test_what_it_cannot_do_is_answered_as_the_specification_says(action: str, payload: dict, status: str) -> None:
    s, _ = station()
    answer, _ = s.handle(action, payload)
    assert answer["status"] == status and violations("2.0.1", CALLRESULT, action, answer) == []
