"""The rig as the OCPP central system: negotiation as OCPP-J says, identities decoded, every frame recorded and
judged, malformed frames answered as each version defines, the rig's own CALLs matched to their replies.

A real WebSocket client on loopback plays the charger, frame by frame."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from drivers.csms.ocpp_csms import CallError, OcppCsms
from rig.core.clock import RealClock
from rig.core.errors import InstrumentError

BOOT_16 = {"chargePointVendor": "v2g-rig", "chargePointModel": "SIM-V2G-7K4"}


def make_csms(versions: list[str] | None = None, address: str = "ws://127.0.0.1:0/ocpp") -> OcppCsms:
    csms = OcppCsms(address, name="csms", options={"versions": versions} if versions else None)
    csms.attach_clock(RealClock())
    csms.setup()
    return csms


@pytest.fixture
def csms() -> Iterator[OcppCsms]:
    server = make_csms()
    yield server
    server.close()


def charger(csms: OcppCsms, identity: str = "CP001", offered: list[str] | None = None) -> ClientConnection:
    subprotocols = ["ocpp1.6"] if offered is None else (offered or None)  # []: no header at all
    return connect(f"{csms.url}/{identity}", subprotocols=subprotocols, open_timeout=5)


def exchange(ws: ClientConnection, frame: list | str) -> list:
    ws.send(frame if isinstance(frame, str) else json.dumps(frame))
    return json.loads(ws.recv(timeout=5))


# -- the connection ---------------------------------------------------------------------------------------------


def test_a_charger_gets_the_version_it_offered_and_its_identity_percent_decoded(csms: OcppCsms) -> None:
    with charger(csms, "CP%2F1%20A") as ws:
        assert ws.subprotocol == "ocpp1.6"
        connection = csms.wait_for_charger("CP/1 A", timeout_s=5)
        assert connection is not None and connection.version == "1.6"


def test_of_two_versions_offered_the_rig_takes_its_own_first_preference(csms: OcppCsms) -> None:
    with charger(csms, offered=["ocpp1.6", "ocpp2.0.1"]) as ws:
        assert ws.subprotocol == "ocpp2.0.1"


@pytest.mark.parametrize("offered", [[], ["ocpp1.5"], ["mqtt"]])
def test_no_version_in_common_completes_the_handshake_then_closes(csms: OcppCsms, offered: list[str]) -> None:
    """OCPP-J: answer without Sec-WebSocket-Protocol, then close (websockets' default would be HTTP 400)."""
    with charger(csms, offered=offered) as ws:
        assert ws.subprotocol is None
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002
    assert [r.offered for r in csms.refusals] == [tuple(offered)]
    assert not csms.connections


def test_a_taken_port_is_an_instrument_error_naming_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(InstrumentError, match="cannot listen"):
            make_csms(address=f"ws://127.0.0.1:{port}/ocpp")


# -- the charger's CALLs ----------------------------------------------------------------------------------------


def test_a_call_is_answered_and_both_frames_are_recorded_on_the_rigs_clock(csms: OcppCsms) -> None:
    csms.responders["BootNotification"] = lambda payload: {"status": "Accepted", "currentTime": "2026-12-06T12:00:00Z",
                                                           "interval": 300}
    with charger(csms) as ws:
        reply = exchange(ws, [2, "boot-1", "BootNotification", BOOT_16])
    assert reply == [3, "boot-1", {"status": "Accepted", "currentTime": "2026-12-06T12:00:00Z", "interval": 300}]
    call, result = csms.frames_of("CP001")
    assert (call.direction, call.kind, call.action, call.problems) == ("charger->rig", "CALL", "BootNotification", ())
    assert (result.direction, result.kind, result.message_id) == ("rig->charger", "CALLRESULT", "boot-1")
    assert json.loads(call.text) == [2, "boot-1", "BootNotification", BOOT_16]  # kept as sent
    assert 0.0 < call.t <= result.t


def test_a_payload_breaking_its_schema_is_recorded_with_every_violation_and_still_answered(csms: OcppCsms) -> None:
    csms.responders["BootNotification"] = lambda payload: CallError("FormationViolation", "judged by the case")
    with charger(csms) as ws:
        reply = exchange(ws, [2, "b", "BootNotification", {"chargePointVendor": 7, "firmware": "x"}])
    assert reply[:3] == [4, "b", "FormationViolation"]
    (call, _) = csms.frames_of("CP001")
    assert any("chargePointModel" in p and "required" in p for p in call.problems)
    assert any(p.startswith("chargePointVendor:") for p in call.problems)
    assert any("firmware" in p for p in call.problems)


@pytest.mark.parametrize(("version", "action", "code"), [
    ("1.6", "Teleport", "NotImplemented"),          # no such action: not known
    ("1.6", "DataTransfer", "NotSupported"),        # known, the rig has no answer
    ("2.0.1", "Teleport", "NotImplemented"),
    ("2.0.1", "NotifyReport", "NotSupported"),
])
def test_an_action_without_an_answer_gets_the_code_ocpp_j_gives(csms: OcppCsms, version: str, action: str,
                                                                code: str) -> None:
    with charger(csms, offered=[f"ocpp{version}"]) as ws:
        reply = exchange(ws, [2, "x1", action, {}])
    assert reply[:3] == [4, "x1", code]


@pytest.mark.parametrize(("version", "text", "code"), [
    ("1.6", '[2, "m1", "Heartbeat"]', "FormationViolation"),
    ("2.0.1", '[2, "m1", "Heartbeat"]', "FormatViolation"),
    ("1.6", '[9, "m1", {}]', "FormationViolation"),
    ("2.0.1", '[9, "m1", {}]', "MessageTypeNotSupported"),
    ("2.0.1", '[2, "m1", "Heartbeat", []]', "FormatViolation"),
])
def test_a_malformed_frame_with_a_readable_id_gets_the_callerror_its_version_defines(
        csms: OcppCsms, version: str, text: str, code: str) -> None:
    with charger(csms, offered=[f"ocpp{version}"]) as ws:
        reply = exchange(ws, text)
    assert reply[:3] == [4, "m1", code]
    malformed = csms.frames_of("CP001")[0]
    assert malformed.kind == "MALFORMED" and malformed.text == text and malformed.problems


@pytest.mark.parametrize("text", ["{not json", '{"a": 1}', "[]", '[2, 5, "Heartbeat", {}]', "\x00" * 10])
def test_a_frame_without_a_readable_id_is_recorded_and_the_rig_goes_on(csms: OcppCsms, text: str) -> None:
    csms.responders["Heartbeat"] = lambda payload: {"currentTime": "2026-12-06T12:00:00Z"}
    with charger(csms) as ws:
        ws.send(text)
        assert exchange(ws, [2, "h1", "Heartbeat", {}])[:2] == [3, "h1"]  # the next frame is answered as ever
    kinds = [f.kind for f in csms.frames_of("CP001")]
    assert kinds == ["MALFORMED", "CALL", "CALLRESULT"]


# -- the rig's CALLs --------------------------------------------------------------------------------------------


def answer_calls(ws: ClientConnection, reply: callable, count: int = 1) -> threading.Thread:
    """The charger's side: answer the next ``count`` CALLs the rig sends with ``reply(frame)``."""
    def run() -> None:
        for _ in range(count):
            frame = json.loads(ws.recv(timeout=5))
            ws.send(json.dumps(reply(frame)))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_the_rigs_call_returns_the_chargers_reply_matched_by_id(csms: OcppCsms) -> None:
    with charger(csms) as ws:
        csms.wait_for_charger("CP001", timeout_s=5)
        answer_calls(ws, lambda f: [3, f[1], {"configurationKey": [], "unknownKey": ["Nope"]}])
        reply = csms.call("CP001", "GetConfiguration", {"key": ["Nope"]}, timeout_s=5)
    assert reply is not None and reply.kind == "CALLRESULT" and reply.payload["unknownKey"] == ["Nope"]
    sent, got = csms.frames_of("CP001")
    assert (sent.kind, sent.action, got.action, got.problems) == ("CALL", "GetConfiguration", "GetConfiguration", ())


def test_a_reply_breaking_its_schema_is_judged_and_an_unknown_reply_is_kept(csms: OcppCsms) -> None:
    with charger(csms) as ws:
        csms.wait_for_charger("CP001", timeout_s=5)
        answer_calls(ws, lambda f: [3, f[1], {"status": "Maybe"}])
        reply = csms.call("CP001", "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}, timeout_s=5)
        ws.send(json.dumps([3, "never-asked", {}]))
        csms.call("CP001", "ClearCache", {}, timeout_s=0.2)  # unanswered: None after the timeout
    assert reply is not None and reply.payload == {"status": "Maybe"}
    judged = [f for f in csms.frames_of("CP001") if f.direction == "charger->rig"]
    assert any("status" in p for p in judged[0].problems)
    assert judged[1].message_id == "never-asked" and "no CALL the rig has outstanding" in judged[1].problems[0]


def test_send_raw_sends_the_text_as_it_is_and_records_it(csms: OcppCsms) -> None:
    with charger(csms) as ws:
        csms.wait_for_charger("CP001", timeout_s=5)
        csms.send_raw("CP001", '[2, "raw-1", "Reset", {"type": 5}]')
        assert ws.recv(timeout=5) == '[2, "raw-1", "Reset", {"type": 5}]'
    (sent,) = csms.frames_of("CP001")
    assert sent.direction == "rig->charger" and sent.text == '[2, "raw-1", "Reset", {"type": 5}]'


def test_sending_to_a_charger_not_connected_is_an_instrument_error(csms: OcppCsms) -> None:
    with pytest.raises(InstrumentError, match="not connected"):
        csms.send_raw("nobody", "[]")


# -- peers that are no charger ------------------------------------------------------------------------------------


@pytest.mark.parametrize("sent", [b"", b"GET /ocpp/CP001 HTTP/1.1\r\nHost: x\r", b"\x16\x03\x01\x00\xff garbage\r\n\r\n",
                                  b"GET /ocpp/CP001 HTTP/1.1\r\nHost: x\r\n\r\n"])
def test_a_peer_that_stalls_or_speaks_no_websocket_neither_blocks_the_rig_nor_stops_its_listener(
        csms: OcppCsms, sent: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """A TCP peer that sends nothing, half a request, garbage, or plain HTTP without the upgrade: the rig settles
    without waiting for it (a settle that waited would raise at its bound) and the next charger connects as ever."""
    monkeypatch.setattr("drivers.csms.ocpp_csms.SETTLE_TIMEOUT_S", 1.0)
    with socket.create_connection(("127.0.0.1", int(csms.url.rsplit(":", 1)[1].split("/")[0]))) as peer:
        peer.sendall(sent)
        csms.settle()
        csms.settle()
        with charger(csms) as ws:
            assert ws.subprotocol == "ocpp1.6"
    assert list(csms.connections) == ["CP001"]


def test_a_peer_speaking_plain_http_is_answered_426_and_recorded_as_a_refusal(csms: OcppCsms) -> None:
    """The fault sweep's HTTP peer: a GET without the WebSocket upgrade is evidence (a refusal with why), not just a
    status websockets sends unseen; the listener serves the next charger."""
    with socket.create_connection(("127.0.0.1", int(csms.url.rsplit(":", 1)[1].split("/")[0]))) as peer:
        peer.sendall(b"GET /ocpp/CP001 HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = peer.recv(4096)
    assert answer.startswith(b"HTTP/1.1 426")
    csms.settle()
    assert [r.reason.split(" (")[0] for r in csms.refusals] == ["plain HTTP, no WebSocket upgrade asked for"]
    with charger(csms) as ws:
        assert ws.subprotocol == "ocpp1.6"
