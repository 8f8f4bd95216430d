"""The simulated charger's wss:// (security profiles 2 and 3): TLS in memory over the plain socket, so the byte
counts the quiet-wire rule compares stay counts of the bytes on the wire; and a handshake either end breaks off
is a refusal the rig has recorded before the charger's side gives up, never an exception in the rig."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drivers.csms.ocpp_csms import OcppCsms
from rig.core.clock import RealClock
from rig.protocols.ocpp.security import ThrowawayPki, client_context, issue_certificate
from rig.sim.wire.ws_client import HandshakeRefused, WsClient

PASSWORD = "0123456789ABCDEF0123456789ABCDEF"


@pytest.fixture
def csms() -> Iterator[OcppCsms]:
    """The rig's CSMS with a throw-away PKI (``tls: generate``): its bench address plain, cases' wss:// ones."""
    server = OcppCsms("ws://127.0.0.1:0/ocpp", name="csms", options={"versions": ["1.6"], "tls": "generate"})
    server.attach_clock(RealClock())
    server.setup()
    yield server
    server.close()


def pki_of(csms: OcppCsms) -> ThrowawayPki:
    assert csms.pki is not None
    return csms.pki


def charger_certificate(csms: OcppCsms, cn: str) -> tuple:
    pki = pki_of(csms)
    assert pki.ca_key is not None
    return issue_certificate(pki.ca_cert.parent, f"charger-{cn}", cn, pki.ca_cert, pki.ca_key)


def test_a_profile_2_handshake_and_a_frame_drained_at_once(csms: OcppCsms) -> None:
    url = csms.listen_secure(2, password=PASSWORD)
    client = WsClient(f"{url}/CP001", ["ocpp1.6"], basic_auth=("CP001", PASSWORD),
                      tls=client_context(pki_of(csms).ca_cert))
    try:
        assert client.open() == "ocpp1.6" and client.tls_version in ("TLSv1.2", "TLSv1.3")
        connection = csms.wait_for_charger("CP001", timeout_s=5)
        assert connection is not None and connection.tls is not None and connection.profile == 2
        assert connection.basic_auth_user == "CP001" and connection.tls.problems == ()
        csms.send_raw("CP001", '[2, "rig-1", "Heartbeat", {}]')
        received = client.drain()
        # the counts are raw bytes on both ends: after the drain, what the rig's end wrote is what this end read
        # (were TLS's decrypted bytes counted, the two would differ and every drain would wait out its bound)
        assert client._all_arrived()  # noqa: SLF001 - the quiet-wire rule itself is what is tested
        assert received.texts == ['[2, "rig-1", "Heartbeat", {}]']
        client.send('[3, "rig-1", {}]')
        client.flush()
    finally:
        client.close()


def test_profile_3_presents_its_certificate_and_the_rig_records_it(csms: OcppCsms) -> None:
    url = csms.listen_secure(3)
    cert, key = charger_certificate(csms, "CP001")
    client = WsClient(f"{url}/CP001", ["ocpp1.6"], tls=client_context(pki_of(csms).ca_cert, cert=cert, key=key))
    try:
        client.open()
        connection = csms.wait_for_charger("CP001", timeout_s=5)
        assert connection is not None and connection.tls is not None
        assert connection.tls.client_subject_cn == "CP001" and connection.tls.client_key == "EC secp256r1 256 bits"
        assert "v2g-rig test operator CA" in (connection.tls.client_issuer or "")
    finally:
        client.close()


def test_a_server_certificate_from_an_untrusted_ca_is_refused_and_the_rig_has_recorded_it(csms: OcppCsms) -> None:
    url = csms.listen_secure(2, server_ca="untrusted", password=PASSWORD)
    client = WsClient(f"{url}/CP001", ["ocpp1.6"], basic_auth=("CP001", PASSWORD),
                      tls=client_context(pki_of(csms).ca_cert))
    with pytest.raises(HandshakeRefused, match="certificate verify failed|unable to get local issuer"):
        client.open()
    client.close()
    (refusal,) = csms.refusals  # recorded before the charger's side gave up: no wait needed
    assert refusal.listener == url and "UNKNOWN_CA" in refusal.reason
    assert not csms.history


def test_a_charger_at_tls_1_2_refuses_a_listener_speaking_only_1_1(csms: OcppCsms) -> None:
    url = csms.listen_secure(2, tls_max="1.1", password=PASSWORD)
    client = WsClient(f"{url}/CP001", ["ocpp1.6"], basic_auth=("CP001", PASSWORD),
                      tls=client_context(pki_of(csms).ca_cert))
    with pytest.raises(HandshakeRefused, match="TLS handshake refused"):
        client.open()
    client.close()
    assert [r.reason for r in csms.refusals] == ["TLS handshake failed: UNSUPPORTED_PROTOCOL"]


def test_the_scheme_and_the_tls_context_go_together(csms: OcppCsms) -> None:
    with pytest.raises(ValueError, match="wss:// needs a TLS context"):
        WsClient("wss://127.0.0.1:1/ocpp/CP001", ["ocpp1.6"])
    with pytest.raises(ValueError, match="ws:// takes none"):
        WsClient("ws://127.0.0.1:1/ocpp/CP001", ["ocpp1.6"], tls=client_context(pki_of(csms).ca_cert))
