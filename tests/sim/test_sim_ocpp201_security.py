"""The simulated charging station's OCPP 2.0.1 security (``ocpp201_security``) as part 2 block A says, judged without
a wire: a face that records what the station sends and what it is told to do. Its password rule (A00.FR.205), its
network profiles and their priority (A05, B09, B10: never lower, a higher one in use after a reboot), its
certificate signing request and what it installs (A02), the security events of a refused connection, and the two
defects the plan must catch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from rig.protocols.ocpp.frames import CALL, CALLRESULT
from rig.protocols.ocpp.schemas import violations
from rig.protocols.ocpp.security import ThrowawayPki, csr_problems, make_throwaway_pki, pem_of, sign_csr
from rig.sim.charger.ocpp201_security import refusal_event
from rig.sim.charger.ocpp201_station import Station201
from rig.sim.charger.ocpp_face import TlsMaterial
from test_sim_ocpp201_station import Face as StationFace

PASSWORD = "v2g-rig-A01-password-0001"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayPki:
    return make_throwaway_pki(tmp_path_factory.mktemp("pki"), charger_cn="SIM-0001")


class Face(StationFace):
    """The station test's face with its TLS material and what the station asks of the connection (a new address,
    a reconnect), and the security events it sent."""

    def __init__(self, material: TlsMaterial, **settings: Any) -> None:
        super().__init__(**settings)
        self.material = material
        self.configured: list[str] = []
        self.reconnects = 0

    def configure(self, url: str, profile: int | None = None, password: str | None = None) -> None:
        self.configured.append(url)

    def reconnect(self) -> None:
        self.reconnects += 1

    def events(self) -> list[str]:  # type: ignore[override]
        return [p["type"] for a, p in self.sent if a == "SecurityEventNotification"]


def station(pki: ThrowawayPki, *, profile: int = 1, material: TlsMaterial | None = None,
            **settings: Any) -> tuple[Station201, Face]:
    face = Face(material if material is not None else TlsMaterial(pki.ca_cert, pki.charger_cert, pki.charger_key),
                security_profile=profile, password=PASSWORD, **settings)
    return Station201(face, None), face  # type: ignore[arg-type]


def answer(st: Station201, face: Face, action: str, payload: dict) -> dict:
    """The station's CALLRESULT (held to the schema), and what follows it done."""
    assert violations("2.0.1", CALL, action, payload) == [], payload
    reply, after = st.handle(action, payload)
    assert violations("2.0.1", CALLRESULT, action, reply) == [], reply
    if after is not None:
        after()
    return reply


def set_variable(component: str, variable: str, value: str) -> dict:
    return {"setVariableData": [{"component": {"name": component}, "variable": {"name": variable},
                                 "attributeValue": value}]}


def network_profile(slot: int, profile: int, url: str = "wss://127.0.0.1:9443/ocpp") -> dict:
    return {"configurationSlot": slot, "connectionData": {"ocppVersion": "OCPP20", "ocppTransport": "JSON",
                                                           "ocppCsmsUrl": url, "messageTimeout": 30,
                                                           "securityProfile": profile, "ocppInterface": "Wired0"}}


def security_profile(st: Station201) -> str:
    item = {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "SecurityProfile"}}
    return st.dm.get(item)["attributeValue"]


def test_it_connects_with_what_it_was_commissioned_with_and_reports_that_profile(pki: ThrowawayPki) -> None:
    st, _ = station(pki, profile=2)
    assert st.security() == (2, PASSWORD) and security_profile(st) == "2"
    st.commission(0, None)  # its configuration tool: the password stays
    assert st.security() == (0, PASSWORD) and security_profile(st) == "0"


@pytest.mark.parametrize(("password", "accepted"), [
    ("v2g-rig-A09-new-password-0002", True), ("x" * 16, True), ("x" * 40, True),
    ("short-pass-13", False), ("x" * 15, False), ("x" * 41, False),
])
def test_a_password_of_16_to_40_characters_is_taken_and_it_reconnects_with_it(pki: ThrowawayPki, password: str,
                                                                              accepted: bool) -> None:
    st, face = station(pki)
    reply = answer(st, face, "SetVariables", set_variable("SecurityCtrlr", "BasicAuthPassword", password))
    assert reply["setVariableResult"][0]["attributeStatus"] == ("Accepted" if accepted else "Rejected")
    assert st.security() == (1, password if accepted else PASSWORD)
    assert face.reconnects == (1 if accepted else 0)


def test_the_defect_takes_a_password_outside_the_rule_and_reconnects_with_it(pki: ThrowawayPki) -> None:
    st, face = station(pki, accepts_invalid_password=True)
    reply = answer(st, face, "SetVariables", set_variable("SecurityCtrlr", "BasicAuthPassword", "short-pass-13"))
    assert reply["setVariableResult"][0]["attributeStatus"] == "Accepted"
    assert st.security() == (1, "short-pass-13") and face.reconnects == 1


def test_a_higher_profile_is_used_from_the_next_reboot_at_the_address_the_csms_gave(pki: ThrowawayPki) -> None:
    st, face = station(pki, profile=1)
    assert answer(st, face, "SetNetworkProfile", network_profile(2, 2))["status"] == "Accepted"
    assert st.security() == (1, PASSWORD)  # nothing changes before the priority says so and it restarts
    reply = answer(st, face, "SetVariables", set_variable("OCPPCommCtrlr", "NetworkConfigurationPriority", "2,1"))
    assert reply["setVariableResult"][0]["attributeStatus"] == "Accepted" and st.security() == (1, PASSWORD)
    assert answer(st, face, "Reset", {"type": "OnIdle"})["status"] == "Accepted"
    st.timer("reboot", face.timers.pop("reboot"))
    assert st.security() == (2, PASSWORD) and security_profile(st) == "2"
    assert face.configured == ["wss://127.0.0.1:9443/ocpp"]
    st.commission(1, None)  # the configuration tool puts it back on its commissioned slot
    assert st.security() == (1, PASSWORD)


@pytest.mark.parametrize(("current", "wanted", "material", "why"), [
    (2, 1, "full", "lower"), (3, 2, "full", "lower"), (1, 0, "full", "lower"),
    (1, 2, "none", "no CSMS root certificate"), (1, 3, "trust_only", "no station certificate"),
])
def test_a_profile_it_cannot_or_must_not_use_is_rejected(pki: ThrowawayPki, current: int, wanted: int, material: str,
                                                         why: str) -> None:
    given = {"full": TlsMaterial(pki.ca_cert, pki.charger_cert, pki.charger_key), "none": TlsMaterial(),
             "trust_only": TlsMaterial(pki.ca_cert)}[material]
    st, face = station(pki, profile=current, material=given)
    assert answer(st, face, "SetNetworkProfile", network_profile(2, wanted))["status"] == "Rejected", why
    reply = answer(st, face, "SetVariables", set_variable("OCPPCommCtrlr", "NetworkConfigurationPriority", "2,1"))
    assert reply["setVariableResult"][0]["attributeStatus"] == "Rejected"  # slot 2 holds no profile


def test_the_defect_accepts_a_lower_profile(pki: ThrowawayPki) -> None:
    st, face = station(pki, profile=2, accepts_security_downgrade=True)
    assert answer(st, face, "SetNetworkProfile", network_profile(2, 1))["status"] == "Accepted"


def test_a_network_profile_for_a_slot_version_or_transport_it_has_not_is_rejected(pki: ThrowawayPki) -> None:
    st, face = station(pki)
    assert answer(st, face, "SetNetworkProfile", network_profile(7, 2))["status"] == "Rejected"
    soap = network_profile(2, 2)
    soap["connectionData"]["ocppTransport"] = "SOAP"
    assert answer(st, face, "SetNetworkProfile", soap)["status"] == "Rejected"
    old = network_profile(2, 2)
    old["connectionData"]["ocppVersion"] = "OCPP15"
    assert answer(st, face, "SetNetworkProfile", old)["status"] == "Rejected"


def _csr(st: Station201, face: Face) -> str:
    assert answer(st, face, "TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"})["status"] \
        == "Accepted"
    action, payload = face.sent[-1]
    assert action == "SignCertificate" and payload["certificateType"] == "ChargingStationCertificate"
    return payload["csr"]


def test_its_csr_names_it_and_the_certificate_for_it_is_installed_for_its_next_connection(pki: ThrowawayPki) -> None:
    st, face = station(pki, profile=3)
    csr = _csr(st, face)
    subject, problems = csr_problems(csr, "SIM-0001", "v2g-rig")
    assert problems == [] and subject == "O=v2g-rig,CN=SIM-0001"
    certificate = sign_csr(csr, pki)
    reply = answer(st, face, "CertificateSigned", {"certificateChain": pem_of(certificate),
                                                   "certificateType": "ChargingStationCertificate"})
    assert reply["status"] == "Accepted" and face.events() == []
    installed = face.material
    assert installed.trust_anchor == pki.ca_cert and installed.certificate != pki.charger_cert
    assert installed.certificate is not None and installed.key is not None
    assert x509.load_pem_x509_certificate(installed.certificate.read_bytes()).serial_number == \
        certificate.serial_number
    key = serialization.load_pem_private_key(installed.key.read_bytes(), None)
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    assert key.public_key().public_bytes(*spki) == certificate.public_key().public_bytes(*spki)
    assert installed.key.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("signer", ["other_key", "untrusted"])
def test_a_certificate_not_for_its_key_or_not_from_its_ca_is_rejected_with_a_security_event(
        pki: ThrowawayPki, signer: str) -> None:
    st, face = station(pki, profile=3)
    before = face.material
    certificate = sign_csr(_csr(st, face), pki, signer)  # type: ignore[arg-type]
    reply = answer(st, face, "CertificateSigned", {"certificateChain": pem_of(certificate)})
    assert reply["status"] == "Rejected" and face.material == before
    assert face.events() == ["InvalidChargingStationCertificate"]


def test_a_certificate_it_did_not_ask_for_is_rejected(pki: ThrowawayPki) -> None:
    st, face = station(pki, profile=3)
    chain = Path(pki.charger_cert).read_text()
    assert answer(st, face, "CertificateSigned", {"certificateChain": chain})["status"] == "Rejected"
    assert answer(st, face, "CertificateSigned", {"certificateChain": "garbage"})["status"] == "Rejected"


@pytest.mark.parametrize(("reason", "event"), [
    ("TLS handshake refused: certificate verify failed: unable to get local issuer certificate "
     "(SSL: CERTIFICATE_VERIFY_FAILED)", "InvalidCsmsCertificate"),
    ("TLS handshake refused: unsupported protocol (SSL: UNSUPPORTED_PROTOCOL)", "InvalidTLSVersion"),
    ("refused: HTTP 401", None),
    ("TLS handshake refused: the rig's server closed the connection mid-handshake", None),
])
def test_a_connection_refused_over_tls_is_reported_as_its_security_event(pki: ThrowawayPki, reason: str,
                                                                        event: str | None) -> None:
    assert refusal_event(reason) == event
    st, face = station(pki, profile=2)
    st.connection_refused(reason)
    assert face.events() == ([event] if event else [])
