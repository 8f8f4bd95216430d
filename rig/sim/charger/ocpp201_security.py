"""What the simulated charging station does about security in OCPP 2.0.1 (part 2, block A, and B09/B10 for its
network connection profiles): which profile and password it connects with, how the CSMS may change them, its
own certificate's update, and the security events it reports.

- **Network connection profiles.** Its connection is one of its
  configuration slots (``SLOTS``): slot 1 is what its configuration tool set
  (the address the lab gives the face, the profile and password: the test
  case's precondition, ``commission``), the others what the CSMS sent in
  SetNetworkProfile (B09). At each (re)boot the first slot of
  OCPPCommCtrlr.NetworkConfigurationPriority it has a profile for becomes its
  connection (A05: a higher profile takes effect with a Reset); its
  SecurityCtrlr.SecurityProfile reads the profile in use.
- **Profile rules** (``profile_refused``): never lower over OCPP (A00.FR.005,
  A05.FR.08-10: the errata's AllowSecurityProfileDowngrade is not offered),
  not 2 or 3 without the CSMS's root certificate, not 3 without its own
  certificate (A05, OCTT TC_A_20/21).
- **Its password** is SecurityCtrlr.BasicAuthPassword (WriteOnly): 16 to
  its maxLimit of 40 characters (A00.FR.205 as 2.0.1 states it); a new one
  accepted, it reconnects with it (A01).
- **Its certificate** (A02, triggered by F06 TriggerMessage
  SignChargingStationCertificate): a fresh EC P-256 key and a PKCS#10 CSR
  naming it (CN its identity, its serial: the 1.6 rule A00.FR.511 and 2.0.1
  A00.FR.405; O its SecurityCtrlr.OrganizationName); the certificate that
  comes back in CertificateSigned is installed only if it is for that key and
  chains to the CA it trusts (the operator CA, which on this bench issues
  station certificates as well as the CSMS's), else Rejected with a security
  event InvalidChargingStationCertificate. An installed one is its
  certificate at its next profile-3 connection (the face's ``material``).
- **Security events** (A04, SecurityEventNotification): a CSMS certificate it
  cannot trust (InvalidCsmsCertificate, A00.FR.309/310) or a TLS version
  below 1.2 (InvalidTLSVersion, A00.FR.315) when its connection is refused
  for it; queued by the face until a CSMS has accepted it.

Every behaviour a case judges has a profile field (``ocpp_settings``):
``accepts_security_downgrade``, ``accepts_invalid_password``.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rig.protocols.ocpp.security import PASSWORD_LENGTH, profile_change_refused

if TYPE_CHECKING:
    from rig.sim.charger.ocpp201_station import Station201
    from rig.sim.charger.ocpp_face import TlsMaterial
    from rig.sim.charger.ocpp_settings import OcppSettings

COMMISSIONED_SLOT = 1
"""The configuration slot its configuration tool writes (the address, profile and password it is commissioned
with)."""
SLOTS = (1, 2, 3)
"""The configuration slots it has (NetworkConfigurationPriority's values)."""
PASSWORD_MAX_LIMIT = 40
"""Its BasicAuthPassword's maxLimit (2.0.1: 40 to 64, its own choice; the variable's characteristic)."""
OCPP_VERSIONS = {"OCPP16": "1.6", "OCPP20": "2.0.1"}
"""SetNetworkProfile's ocppVersion (OCPPVersionEnumType) for the versions it may speak."""

REFUSAL_EVENTS = (("CERTIFICATE_VERIFY_FAILED", "InvalidCsmsCertificate"),
                  ("UNSUPPORTED_PROTOCOL", "InvalidTLSVersion"), ("PROTOCOL_VERSION", "InvalidTLSVersion"),
                  ("NO_PROTOCOLS_AVAILABLE", "InvalidTLSVersion"), ("WRONG_SSL_VERSION", "InvalidTLSVersion"))
"""OpenSSL's reason for a handshake it broke off (as the wire client names it) -> the security event it reports
(part 2 appendix, security events)."""


def password_acceptable(password: str) -> bool:
    """A BasicAuthPassword it may take: 16 (the version's minimum) to its maxLimit characters."""
    return PASSWORD_LENGTH["2.0.1"][0] <= len(password) <= PASSWORD_MAX_LIMIT


def profile_refused(current: int, wanted: int, material: TlsMaterial, settings: OcppSettings) -> str | None:
    """Why it refuses a security profile the CSMS asks for, or None (``profile_change_refused``, its DEFECTs
    applied)."""
    return profile_change_refused(
        current, wanted, has_csms_root=material.trust_anchor is not None or settings.accepts_any_server_certificate,
        has_own_certificate=material.certificate is not None, downgrade_allowed=settings.accepts_security_downgrade)


def refusal_event(reason: str) -> str | None:
    """The security event a refused connection's reason calls for, or None (a refusal that is no TLS matter)."""
    return next((event for code, event in REFUSAL_EVENTS if code in reason), None)


class Security201:
    """One station's network connection profiles, password, certificate and security events (2.0.1)."""

    def __init__(self, station: Station201) -> None:
        self.station, self.face, self.dm, self.s = station, station.face, station.dm, station.s
        self.slots: dict[int, dict[str, Any]] = {}
        """configurationSlot -> its connectionData (slot 1: the commissioned profile, no address of its own)."""
        self.active = COMMISSIONED_SLOT
        self._csr_key: ec.EllipticCurvePrivateKey | None = None
        """The key of its outstanding SignCertificate request."""
        self._installed = 0
        self._directory: Path | None = None
        self.dm.live[("SecurityCtrlr", None, None, "SecurityProfile", None)] = lambda: str(self.profile)
        self.commission(self.s.security_profile, self.s.password)

    # -- its connection ------------------------------------------------------------------------------------

    @property
    def profile(self) -> int:
        """The security profile of the connection it uses."""
        return int(self.slots[self.active]["securityProfile"])

    def security(self) -> tuple[int, str | None]:
        """What the face connects with: its profile and its BasicAuthPassword."""
        return self.profile, self.dm.text("SecurityCtrlr", "BasicAuthPassword") or None

    def commission(self, profile: int, password: str | None) -> None:
        """Its configuration tool (never OCPP: the only way down, A00.FR.005): slot 1 holds ``profile``, first in
        NetworkConfigurationPriority and in use from now, and its password when given."""
        self.slots[COMMISSIONED_SLOT] = {"securityProfile": profile}
        self.dm.set("OCPPCommCtrlr", "NetworkConfigurationPriority", str(COMMISSIONED_SLOT))
        self.active = COMMISSIONED_SLOT
        if password is not None:
            self.dm.set("SecurityCtrlr", "BasicAuthPassword", password)

    def restarting(self) -> None:
        """It boots (a Reset or its supply back): the first slot of NetworkConfigurationPriority it has a profile for
        is its connection from now; a slot the CSMS set gives the face its address."""
        for slot in self.dm.items("OCPPCommCtrlr", "NetworkConfigurationPriority"):
            if slot.isdigit() and int(slot) in self.slots:
                self.active = int(slot)
                break
        url = self.slots[self.active].get("ocppCsmsUrl")
        if url:
            self.face.configure(url)

    def set_network_profile(self, p: dict[str, Any]) -> str:
        """SetNetworkProfile (B09): kept in its slot if it can use it, and the profile is not refused."""
        slot, data = p["configurationSlot"], p["connectionData"]
        if slot not in SLOTS or OCPP_VERSIONS.get(data["ocppVersion"]) not in self.s.versions \
                or data["ocppTransport"] != "JSON":
            return "Rejected"
        if profile_refused(self.profile, data["securityProfile"], self.face.material, self.s) is not None:
            return "Rejected"
        self.slots[slot] = dict(data)
        return "Accepted"

    def set_variable(self, item: dict[str, Any]) -> dict[str, Any] | None:
        """A setVariableResult for the variables whose rule is security's (BasicAuthPassword: its length;
        NetworkConfigurationPriority: only slots it has a profile for), the value kept when Accepted; None for
        any other (the device model's)."""
        component, variable = item["component"], item["variable"]
        if item.get("attributeType", "Actual") != "Actual" or "evse" in component or "instance" in variable:
            return None
        name, value = (component["name"], variable["name"]), item["attributeValue"]
        if name == ("SecurityCtrlr", "BasicAuthPassword"):
            ok = password_acceptable(value) or self.s.accepts_invalid_password
        elif name == ("OCPPCommCtrlr", "NetworkConfigurationPriority"):
            slots = [slot.strip() for slot in value.split(",")]
            ok = all(slot.isdigit() and int(slot) in self.slots for slot in slots)
        else:
            return None
        if ok:
            self.dm.set(*name, value)
        return {"component": component, "variable": variable, "attributeStatus": "Accepted" if ok else "Rejected"}

    # -- security events -----------------------------------------------------------------------------------

    def connection_refused(self, reason: str) -> None:
        """Its connection attempt was broken off (``reason``: the wire client's, naming OpenSSL's): a TLS matter
        is reported once a CSMS accepts it (the face queues CALLs until then)."""
        event = refusal_event(reason)
        if event is not None:
            self._event(event, reason)

    def _event(self, kind: str, tech_info: str) -> None:
        self.face.call("SecurityEventNotification", {"type": kind, "timestamp": self.face.now_text(),
                                                     "techInfo": tech_info[:255]})

    # -- its certificate -----------------------------------------------------------------------------------

    def sign_request(self) -> dict[str, Any]:
        """A SignCertificate request (A02): a fresh key and a CSR naming it, kept until CertificateSigned."""
        self._csr_key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, self.s.client_cert_cn or self.s.identity),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.dm.text("SecurityCtrlr", "OrganizationName"))])
        csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(self._csr_key, hashes.SHA256())
        return {"csr": csr.public_bytes(serialization.Encoding.PEM).decode("ascii"),
                "certificateType": "ChargingStationCertificate"}

    def certificate_signed(self, p: dict[str, Any]) -> str:
        """CertificateSigned (A02): Accepted and installed when the chain is for the key of its request and chains
        to the CA it trusts; otherwise Rejected and the security event
        InvalidChargingStationCertificate sent."""
        if p.get("certificateType", "ChargingStationCertificate") != "ChargingStationCertificate":
            return "Rejected"  # no ISO 15118: it has no V2G certificate
        problem = self._chain_problem(p["certificateChain"])
        if problem is not None:
            self._event("InvalidChargingStationCertificate", problem)
            return "Rejected"
        self._install(p["certificateChain"])
        return "Accepted"

    def _chain_problem(self, chain_pem: str) -> str | None:
        key, anchor = self._csr_key, self.face.material.trust_anchor
        if key is None:
            return "no certificate signing request of its outstanding"
        try:
            chain = x509.load_pem_x509_certificates(chain_pem.encode("utf-8"))
        except ValueError:
            return "certificateChain is not PEM X.509"
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if chain[0].public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
            return "the certificate is not for the key of its signing request"
        if anchor is None:
            return "no CA certificate to check the chain against"
        issuers = [*chain[1:], x509.load_pem_x509_certificate(anchor.read_bytes())]
        for certificate, issuer in zip(chain, issuers):
            try:
                certificate.verify_directly_issued_by(issuer)
            except (ValueError, TypeError, InvalidSignature):
                return f"{certificate.subject.rfc4514_string()} is not issued by {issuer.subject.rfc4514_string()}"
        return None  # validity dates not judged: its clock is the lab's, the throw-away PKI is dated on the host's

    def _install(self, chain_pem: str) -> None:
        """Its new certificate and key as files beside the material it was given (the face's TLS reads files),
        its certificate from its next connection."""
        assert self._csr_key is not None
        key, self._csr_key = self._csr_key, None
        directory = self._storage()
        self._installed += 1
        name = f"{self.s.identity}-installed-{self._installed}"
        cert, key_file = directory / f"{name}.pem", directory / f"{name}.key"
        cert.write_text(chain_pem)
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        key_file.chmod(0o600)
        self.face.material = dataclasses.replace(self.face.material, certificate=cert, key=key_file)

    def _storage(self) -> Path:
        """Where its certificates live: beside what the lab gave it (the run's throw-away PKI, removed with the
        run), else a temporary directory of its own, removed with it."""
        given = self.face.material.certificate or self.face.material.trust_anchor
        if given is not None:
            return given.parent
        if self._directory is None:
            self._directory = Path(tempfile.mkdtemp(prefix="v2g-sim-station-"))
            weakref.finalize(self, _remove, self._directory)
        return self._directory


def _remove(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
