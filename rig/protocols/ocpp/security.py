"""OCPP security profiles 1-3 as the CSMS checks them (``shared/reference/ocpp-cases.md`` §5).

- Profile 1, basic auth over ws://: ``Authorization: Basic`` on the upgrade,
  the username the charger's identity (A00.FR.204), the password within the
  version's length rule (1.6 AuthorizationKey: 16 to 40 characters; 2.0.1
  BasicAuthPassword: 16 to its maxLimit, 40 to 64).
- Profile 2, the same over TLS 1.2 or later, with the suites A00.FR.317 names
  (ECDHE-ECDSA and RSA, AES-128/256-GCM); the rig records the version, the
  suite agreed and the suites the charger offered (A00.FR.318 asks it for one
  of the two pairs).
- Profile 3, TLS with a client certificate instead of basic auth: chained to
  the operator's CA, subject CN the charger's serial (A00.FR.511; 2.0.1 the
  station's identity, A00.FR.405), RSA keys of 2048 bits or more, EC keys of
  224 or more (A00.FR.501-503), a serial number, a SHA-256 signature.

``make_throwaway_pki`` makes a throw-away operator CA, a CSMS certificate and a
charger certificate (and an untrusted CA with its own charger certificate,
for the negative cases) in a directory at run time: nothing secret is
committed. ``issue_certificate`` signs a further leaf with one of its CAs (a
charger's certificate naming what the charger asks for; a CSMS certificate
from the CA no charger was given). ``sign_csr`` is the CSMS's side of a
station's certificate update (OCPP 2.0.1 A02: its SignCertificate CSR signed
by the operator CA, or deliberately wrong for a negative case) and
``csr_problems`` what the rig holds that CSR to. ``client_context`` is the
charger's side of the same rules (the simulated charger's TLS, and tests).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress
import ssl
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from rig.protocols.ocpp.frames import Version

SecurityProfile = Literal[0, 1, 2, 3]

TLS12_SUITES = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-GCM-SHA384"
"""A00.FR.317's four suites in OpenSSL's names (TLS_ECDHE_ECDSA_WITH_AES_128/256_GCM_SHA256/384,
TLS_RSA_WITH_AES_128/256_GCM_SHA256/384). The RSA key-exchange pair needs OpenSSL's security level 1."""
CHARGER_SUITE_PAIRS = ({"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384"},
                       {"AES128-GCM-SHA256", "AES256-GCM-SHA384"})
"""A00.FR.318: a charger offers both suites of at least one pair."""

PASSWORD_LENGTH: dict[Version, tuple[int, int]] = {"1.6": (16, 40), "2.0.1": (16, 64), "2.1": (16, 64)}
"""Characters a basic-auth password may have (2.x: 16 to the station's maxLimit, at most 64)."""

MIN_KEY_BITS = {"rsa": 2048, "ec": 224}


@dataclass(frozen=True)
class BasicAuth:
    """What the upgrade's ``Authorization`` header said, and what is wrong with it."""

    username: str | None
    problems: tuple[str, ...]


def profile_change_refused(current: int, wanted: int, *, has_csms_root: bool, has_own_certificate: bool,
                           downgrade_allowed: bool = False) -> str | None:
    """Why a charger must refuse a security profile the central system asks for (1.6 ChangeConfiguration
    SecurityProfile, 2.0.1 SetNetworkProfile), or None: lower than the one in use (A00.FR.005; 2.0.1 A05.FR.08-10),
    TLS without a root certificate to check the central system with (OCTT TC_A_20), profile 3 without its own
    certificate (TC_A_21)."""
    if wanted < current and not downgrade_allowed:
        return f"security profile {wanted} is lower than {current} in use (A00.FR.005)"
    if wanted >= 2 and not has_csms_root:
        return "no CSMS root certificate installed"
    if wanted == 3 and not has_own_certificate:
        return "no charging station certificate installed"
    return None


def check_basic_auth(header: str | None, identity: str, version: Version,
                     expected_password: str | None) -> BasicAuth:
    """The header held against the identity, the version's password rule and, when the bench states one, the
    charger's password."""
    if not header:
        return BasicAuth(None, ("no Authorization header (security profiles 1 and 2 need basic auth)",))
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return BasicAuth(None, (f"Authorization scheme {scheme!r}, not Basic",))
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return BasicAuth(None, ("Authorization is not base64 of UTF-8 user:password",))
    username, colon, password = decoded.partition(":")
    problems = []
    if not colon:
        problems.append("no ':' between username and password")
    if username != identity:
        problems.append(f"username {username!r} is not the identity in the URL {identity!r} (A00.FR.204)")
    low, high = PASSWORD_LENGTH[version]
    if not low <= len(password) <= high:
        problems.append(f"a {len(password)}-character password; OCPP {version} allows {low} to {high}")
    if expected_password is not None and password != expected_password:
        problems.append("wrong password")
    return BasicAuth(username, tuple(problems))


def server_context(cert: Path, key: Path, *, client_ca: Path | None = None) -> ssl.SSLContext:
    """The CSMS's TLS: 1.2 or later, A00.FR.317's suites for 1.2, no compression; with ``client_ca`` a client
    certificate chained to it is required (profile 3)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(f"{TLS12_SUITES}:@SECLEVEL=1")
    context.options |= ssl.OP_NO_COMPRESSION
    context.load_cert_chain(cert, key)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    return context


TlsRule = Literal["tls", "client_certificate", "client_cn"]
"""The rule groups a TLS problem breaks: the version and suites (A00.FR.312/318), the client certificate's
presence, keys and hash (A00.FR.501-508), its CN naming the station (A00.FR.511; 2.0.1 A00.FR.405)."""


def outdated_server_context(cert: Path, key: Path, maximum: ssl.TLSVersion) -> ssl.SSLContext:
    """A listener that breaks A00.FR.312 on purpose, for a negative case only: TLS 1.0 up to ``maximum`` (below
    1.2), any suite. A charger must refuse to talk to it (its minimum is 1.2)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _allow_outdated(context, maximum)
    context.load_cert_chain(cert, key)
    return context


def client_context(trust: Path | None, *, cert: Path | None = None, key: Path | None = None, verify: bool = True,
                   maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """A charger's side of profiles 2 and 3: TLS 1.2 or later offering both suite pairs A00.FR.318 names, no
    compression, the CSMS's certificate checked against ``trust`` (its CentralSystemRootCertificate) and its
    name against the address it dialled (A00.FR.307/308), with ``cert`` and ``key`` its own certificate
    (profile 3). ``verify=False`` (any server certificate) and a ``maximum`` below 1.2 break those rules: the
    defective chargers a rig must catch."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.options |= ssl.OP_NO_COMPRESSION
    if maximum is not None and maximum.value < ssl.TLSVersion.TLSv1_2.value:
        _allow_outdated(context, maximum)
    else:
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(f"{TLS12_SUITES}:@SECLEVEL=1")
    if verify:
        if trust is None:
            raise ValueError("a charger that checks the CSMS's certificate needs its trust anchor (the CA)")
        context.load_verify_locations(trust)
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


def _allow_outdated(context: ssl.SSLContext, maximum: ssl.TLSVersion) -> None:
    """TLS 1.0 up to ``maximum``, any suite (OpenSSL 3 needs security level 0 for them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # deliberately outdated: the point of the context
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = maximum
    context.set_ciphers("ALL:@SECLEVEL=0")


@dataclass(frozen=True)
class TlsSeen:
    """What the charger's TLS handshake showed."""

    version: str
    cipher: str
    offered: tuple[str, ...]
    client_subject_cn: str | None
    problems: tuple[str, ...]
    client_subject: str | None = None
    """The client certificate's subject (RFC 4514), its issuer, key and serial number, when it showed one."""
    client_issuer: str | None = None
    client_key: str | None = None
    client_serial: str | None = None
    by_rule: tuple[tuple[TlsRule, str], ...] = ()
    """Each problem with the rule group it breaks (``problems`` in the same order)."""

    def problems_of(self, rules: "tuple[TlsRule, ...] | list[TlsRule]") -> list[str]:
        """The problems breaking one of ``rules``."""
        return [problem for rule, problem in self.by_rule if rule in rules]

    def as_json(self) -> dict[str, object]:
        return {"version": self.version, "cipher": self.cipher, "offered": list(self.offered),
                "client_subject": self.client_subject, "client_subject_cn": self.client_subject_cn,
                "client_issuer": self.client_issuer, "client_key": self.client_key,
                "client_serial": self.client_serial, "problems": list(self.problems)}


def inspect_tls(ssl_object: ssl.SSLObject | ssl.SSLSocket, identity: str, *, client_cert_expected: bool) -> TlsSeen:
    """The negotiated version and suite, the suites the charger offered, its certificate and what breaks the
    profile's rules."""
    version = ssl_object.version() or "?"
    cipher = (ssl_object.cipher() or ("?",))[0]
    offered = tuple(name for name, _, _ in (ssl_object.shared_ciphers() or []))
    found: list[tuple[TlsRule, str]] = []
    if version not in ("TLSv1.2", "TLSv1.3"):
        found.append(("tls", f"{version}: OCPP needs TLS 1.2 or later"))
    if version == "TLSv1.2" and not any(pair <= set(offered) for pair in CHARGER_SUITE_PAIRS):
        found.append(("tls", "offers neither suite pair A00.FR.318 asks for (ECDHE-ECDSA or RSA, AES-128 and "
                             "AES-256 GCM)"))
    cn = subject = issuer = key_text = serial = None
    der = ssl_object.getpeercert(binary_form=True)
    if der is not None:
        certificate = x509.load_der_x509_certificate(der)
        cn, certificate_found = _client_certificate_problems(certificate, identity)
        found += certificate_found
        subject, issuer = certificate.subject.rfc4514_string(), certificate.issuer.rfc4514_string()
        key_text, serial = key_description(certificate), format(certificate.serial_number, "x")
    elif client_cert_expected:
        found.append(("client_certificate", "no client certificate (security profile 3)"))
    return TlsSeen(version, cipher, offered, cn, tuple(problem for _, problem in found), subject, issuer, key_text,
                   serial, tuple(found))


def key_description(certificate: x509.Certificate) -> str:
    """A certificate's public key as a judge reads it: ``EC secp256r1 256 bits``, ``RSA 2048 bits``."""
    key = certificate.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name} {key.curve.key_size} bits"
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size} bits"
    return type(key).__name__


def _client_certificate_problems(certificate: x509.Certificate,
                                 identity: str) -> tuple[str | None, list[tuple[TlsRule, str]]]:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(names[0].value) if names else None
    problems: list[tuple[TlsRule, str]] = []
    if cn != identity:
        problems.append(("client_cn", f"certificate CN {cn!r} is not the station's identity {identity!r} "
                                      "(A00.FR.405/511)"))
    problems += [("client_certificate", problem) for problem in _key_problems(certificate.public_key())]
    algorithm = certificate.signature_hash_algorithm
    if algorithm is None or algorithm.name != "sha256":
        problems.append(("client_certificate", f"signed with {algorithm.name if algorithm else 'no hash'}, not "
                                               "SHA-256 (A00.FR.505)"))
    return cn, problems


def _key_problems(key: object) -> list[str]:
    """What a station's public key (its certificate's or its CSR's) breaks of A00.FR.501-503's sizes."""
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_KEY_BITS["rsa"]:
        return [f"a {key.key_size}-bit RSA key; at least {MIN_KEY_BITS['rsa']} (A00.FR.501)"]
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size < MIN_KEY_BITS["ec"]:
        return [f"a {key.curve.key_size}-bit EC key; at least {MIN_KEY_BITS['ec']} (A00.FR.502)"]
    return []


# -- a station's certificate update (OCPP 2.0.1 A02/A03: SignCertificate, CertificateSigned) ------------------------

CsrSigner = Literal["operator", "untrusted", "other_key"]
"""How the rig answers a CSR: signed by the operator CA (what a CSMS does), by a CA the station was never given,
or by the operator CA for a key that is not the station's (the last two: a station must refuse them, A02/A03)."""


def csr_problems(csr_pem: str, identity: str, organization: str | None) -> tuple[str | None, list[str]]:
    """A SignCertificate CSR held to what a CSMS may sign: PEM PKCS#10 with a valid self-signature, subject CN the
    station's identity (its serial, A00.FR.405/511), O its organisation when one is given (A00.FR.404/509:
    SecurityCtrlr.OrganizationName), keys of A00.FR.501-503's sizes, a SHA-256 signature (A00.FR.505). Returns its
    subject (RFC 4514, or None when it cannot be read) and the problems."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode("utf-8"))
    except ValueError as err:
        return None, [f"not a PEM certificate signing request ({str(err).splitlines()[0]})"]
    problems = []
    if not csr.is_signature_valid:
        problems.append("its signature does not verify with its own key")
    cn = [str(a.value) for a in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if cn != [identity]:
        problems.append(f"subject CN {cn[0] if cn else None!r} is not the station's identity {identity!r} "
                        "(A00.FR.405/511)")
    names = [str(a.value) for a in csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    if organization is not None and names != [organization]:
        problems.append(f"subject O {names[0] if names else None!r} is not {organization!r} "
                        "(SecurityCtrlr.OrganizationName, A00.FR.404/509)")
    problems += _key_problems(csr.public_key())
    algorithm = csr.signature_hash_algorithm
    if algorithm is None or algorithm.name != "sha256":
        problems.append(f"signed with {algorithm.name if algorithm else 'no hash'}, not SHA-256 (A00.FR.505)")
    return csr.subject.rfc4514_string(), problems


def sign_csr(csr_pem: str, pki: ThrowawayPki, signer: CsrSigner = "operator") -> x509.Certificate:
    """The certificate the CSMS returns in CertificateSigned for a station's CSR: its subject and key, valid from an
    hour ago for a day, SHA-256, signed by the operator CA (``signer="operator"``); for a negative case by the CA
    no station was given (``untrusted``) or by the operator CA for a fresh key that is not the station's
    (``other_key``). Needs the CAs' keys (``tls: generate``): a bench with only the CA's certificate cannot sign."""
    csr = x509.load_pem_x509_csr(csr_pem.encode("utf-8"))
    ca_cert, ca_key = (pki.untrusted_ca_cert, pki.untrusted_ca_key) if signer == "untrusted" else \
        (pki.ca_cert, pki.ca_key)
    if ca_key is None:
        raise ValueError("no CA key to sign with (a throw-away PKI keeps its CAs' keys)")
    issuer = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    issuer_key = serialization.load_pem_private_key(ca_key.read_bytes(), None)
    if not isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{ca_key}: not an EC key (the throw-away CAs are EC P-256)")
    public_key = ec.generate_private_key(ec.SECP256R1()).public_key() if signer == "other_key" else csr.public_key()
    return _leaf(public_key, csr.subject, issuer, issuer_key)


def pem_of(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


# -- a throw-away PKI for the simulated lab and the tests ----------------------------------------------------------


@dataclass(frozen=True)
class ThrowawayPki:
    """Files of an operator CA, the CSMS's certificate and a charger's, plus an untrusted CA's charger
    certificate (PEM, keys unencrypted: throw-away, made at run time)."""

    ca_cert: Path
    csms_cert: Path
    csms_key: Path
    charger_cert: Path
    charger_key: Path
    untrusted_ca_cert: Path
    untrusted_charger_cert: Path
    untrusted_charger_key: Path
    ca_key: Path | None = None
    """The CAs' keys (``issue_certificate`` signs with them)."""
    untrusted_ca_key: Path | None = None


def make_throwaway_pki(directory: Path, *, charger_cn: str, csms_host: str = "127.0.0.1") -> ThrowawayPki:
    """Make the files in ``directory`` (created). EC P-256 keys, SHA-256 signatures, valid from an hour ago."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca = _ca("v2g-rig test operator CA")
    other_key, other = _ca("someone else's CA")
    paths = {}
    paths["ca_cert"] = _write_cert(directory / "ca.pem", ca)
    paths["untrusted_ca_cert"] = _write_cert(directory / "untrusted-ca.pem", other)
    paths["ca_key"] = _write_key(directory / "ca.key", ca_key)
    paths["untrusted_ca_key"] = _write_key(directory / "untrusted-ca.key", other_key)
    csms_key = ec.generate_private_key(ec.SECP256R1())
    csms = _leaf(csms_key.public_key(), _subject(csms_host), ca, ca_key, san=csms_host)
    paths["csms_cert"], paths["csms_key"] = _write_cert(directory / "csms.pem", csms), _write_key(
        directory / "csms.key", csms_key)
    for prefix, issuer, issuer_key in (("charger", ca, ca_key), ("untrusted_charger", other, other_key)):
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = _leaf(key.public_key(), _subject(charger_cn), issuer, issuer_key)
        name = prefix.replace("_", "-")
        paths[f"{prefix}_cert"] = _write_cert(directory / f"{name}.pem", leaf)
        paths[f"{prefix}_key"] = _write_key(directory / f"{name}.key", key)
    return ThrowawayPki(**paths)


def issue_certificate(directory: Path, name: str, cn: str, ca_cert: Path, ca_key: Path, *,
                      san: str | None = None) -> tuple[Path, Path]:
    """A fresh EC P-256 key and a certificate for ``cn`` signed by the CA in ``ca_cert``/``ca_key`` (SHA-256,
    valid from an hour ago), written as ``<name>.pem`` and ``<name>.key`` in ``directory``: a charger's
    certificate naming what the charger asked for, or a CSMS certificate (``san``: the address it answers at)."""
    issuer = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    issuer_key = serialization.load_pem_private_key(ca_key.read_bytes(), None)
    if not isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{ca_key}: not an EC key (the throw-away CAs are EC P-256)")
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = _leaf(key.public_key(), _subject(cn), issuer, issuer_key, san=san)
    return _write_cert(directory / f"{name}.pem", leaf), _write_key(directory / f"{name}.key", key)


def _ca(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name), x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                                                                          "v2g-rig test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(days=2))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .sign(key, hashes.SHA256()))
    return key, certificate


def _subject(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "v2g-rig test")])


def _leaf(public_key: Any, subject: x509.Name, issuer: x509.Certificate, issuer_key: ec.EllipticCurvePrivateKey,
          *, san: str | None = None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer.subject).public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    if san is not None:
        try:
            general: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(san))
        except ValueError:
            general = x509.DNSName(san)
        builder = builder.add_extension(x509.SubjectAlternativeName([general]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write_cert(path: Path, certificate: x509.Certificate) -> Path:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return path
