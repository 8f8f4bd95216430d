"""The rig's central system speaking OCPP 2.1, and each gap of the ``ocpp`` package's 2.1 support worked around
(``shared/reference/ocpp-cases.md``): per-phase fields keep their schema spelling (the rig builds payloads as
dicts, never through the package's snake/camel conversion), a SEND is recorded and not answered, an invalid
CALLRESULT is answered with CALLRESULTERROR, a charger's CALLRESULTERROR is recorded. A cut link refuses the
charger for its time. A real WebSocket client on loopback plays the charger."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
from ocpp.charge_point import snake_to_camel_case
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from drivers.csms.ocpp_csms import OcppCsms
from rig.core.clock import RealClock
from rig.protocols.ocpp.frames import CALL
from rig.protocols.ocpp.schemas import violations

V2X_PROFILE = {"evseId": 1, "chargingProfile": {
    "id": 1, "stackLevel": 1, "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Dynamic",
    "transactionId": "T1", "chargingSchedule": [{"id": 1, "chargingRateUnit": "W", "chargingSchedulePeriod": [
        {"startPeriod": 0, "setpoint": -3000.0, "setpoint_L2": -1000.0, "setpoint_L3": -1000.0,
         "dischargeLimit": -5000.0, "dischargeLimit_L2": -2000.0, "operationMode": "CentralSetpoint"}]}]}}


@pytest.fixture
def csms() -> Iterator[OcppCsms]:
    server = OcppCsms("ws://127.0.0.1:0/ocpp", name="csms", options={"versions": ["2.1", "2.0.1"]})
    server.attach_clock(RealClock())
    server.setup()
    yield server
    server.close()


def charger(csms: OcppCsms, identity: str = "CP21") -> ClientConnection:
    return connect(f"{csms.url}/{identity}", subprotocols=["ocpp2.1"], open_timeout=5)


def test_per_phase_v2x_fields_keep_the_schema_spelling_the_package_would_break() -> None:
    """The package's conversion turns setpoint_L2 into setpointL2, which its own 2.1 schema refuses."""
    assert violations("2.1", CALL, "SetChargingProfile", V2X_PROFILE) == []
    period = V2X_PROFILE["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0]  # type: ignore
    converted = snake_to_camel_case({"setpoint_l2": period["setpoint_L2"]})
    assert "setpointL2" in converted
    broken = json.loads(json.dumps(V2X_PROFILE).replace('"setpoint_L2"', '"setpointL2"'))
    assert any("setpointL2" in v for v in violations("2.1", CALL, "SetChargingProfile", broken))


def test_a_v2x_profile_goes_out_as_written_and_its_answer_is_matched(csms: OcppCsms) -> None:
    with charger(csms) as ws:
        csms.wait_for_charger("CP21", timeout_s=5)
        answers: list = []

        def station() -> None:
            call = json.loads(ws.recv(timeout=5))
            answers.append(call)
            ws.send(json.dumps([3, call[1], {"status": "Accepted"}]))
        worker = threading.Thread(target=station)
        worker.start()
        reply = csms.call("CP21", "SetChargingProfile", V2X_PROFILE, timeout_s=5)
        worker.join(5)
    assert answers[0][3] == V2X_PROFILE
    assert reply is not None and reply.payload == {"status": "Accepted"}
    assert all(not f.problems for f in csms.frames_of("CP21"))


def test_a_send_is_recorded_and_never_answered(csms: OcppCsms) -> None:
    with charger(csms) as ws:
        csms.wait_for_charger("CP21", timeout_s=5)
        ws.send(json.dumps([6, "s-1", "NotifyPeriodicEventStream",
                            {"id": 1, "pending": 0, "basetime": "2026-01-01T00:00:00Z", "data": [{"t": 0.5, "v": "230.1"}]}]))
        ws.send(json.dumps([6, "s-2", "NotifyPeriodicEventStream", {"id": "one"}]))
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.5)
    good, bad = csms.frames_of("CP21")
    assert (good.kind, good.action, good.problems) == ("SEND", "NotifyPeriodicEventStream", ())
    assert bad.kind == "SEND" and bad.problems


def test_an_invalid_callresult_is_answered_with_a_callresulterror(csms: OcppCsms) -> None:
    with charger(csms) as ws:
        csms.wait_for_charger("CP21", timeout_s=5)
        seen: list = []

        def station() -> None:
            call = json.loads(ws.recv(timeout=5))
            ws.send(json.dumps([3, call[1], {"status": "Maybe"}]))
            seen.append(json.loads(ws.recv(timeout=5)))
        worker = threading.Thread(target=station)
        worker.start()
        csms.call("CP21", "SetChargingProfile", V2X_PROFILE, timeout_s=5)
        worker.join(5)
    assert seen and seen[0][0] == 5 and seen[0][2] == "FormatViolation" and "status" in seen[0][3]


def test_a_chargers_callresulterror_is_recorded(csms: OcppCsms) -> None:
    with charger(csms) as ws:
        csms.wait_for_charger("CP21", timeout_s=5)
        ws.send(json.dumps([5, "r-9", "FormatViolation", "your answer broke the schema", {}]))
        time.sleep(0.3)
    (frame,) = csms.frames_of("CP21")
    assert frame.kind == "CALLRESULTERROR" and frame.problems


def test_a_cut_link_drops_the_charger_and_refuses_it_for_its_time(csms: OcppCsms) -> None:
    with charger(csms) as ws:
        csms.wait_for_charger("CP21", timeout_s=5)
        csms.cut_link("CP21", 1.0)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    with pytest.raises(InvalidStatus) as refused:
        charger(csms)
    assert refused.value.response.status_code == 503
    assert any("link down" in r.reason for r in csms.refusals)
    time.sleep(1.1)
    with charger(csms) as again:
        assert again.subprotocol == "ocpp2.1"
