"""The OCPP 2.0.1 security plan (block A) end to end on the simulated lab: the compliant station passes every case
with the evidence of what it showed, and what the plan sends holds to the OCA 2.0.1 schema (its defective stations
run with every 2.0.1 plan in ``test_ocpp201_suite``); and the rig's side of a certificate update (the
``certificate_signed`` step, ``sign_csr``, ``csr_problems``) on its own."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from campaign_helpers import ROOT, cases_of, run_cases
from rig.core.clock import RealClock
from rig.protocols.ocpp.frames import CALL, CALLRESULT
from rig.protocols.ocpp.security import ThrowawayPki, csr_problems, make_throwaway_pki, sign_csr
from rig.protocols.ocpp.schemas import violations
from rig.suites.ocpp.central_system201 import Answers201, CentralSystem201
from rig.suites.ocpp201.plan import ScriptCase

pytestmark = pytest.mark.e2e

PLAN = ROOT / "test_plans" / "ocpp" / "ocpp201_security.yaml"


@pytest.fixture(scope="module")
def compliant_run(tmp_path_factory: pytest.TempPathFactory):
    return run_cases(tmp_path_factory.mktemp("ocpp201-security") / "run", plan=PLAN)


def test_the_compliant_station_passes_every_case_of_block_a(compliant_run) -> None:
    cases = cases_of(compliant_run)
    assert {c.verdict for c in cases.values()} == {"pass"}, {c.id: (c.measured, c.error) for c in cases.values()
                                                            if c.verdict != "pass"}
    assert {"TC_A_01_CS", "TC_A_04_CS", "TC_A_05_CS", "TC_A_06_CS", "TC_A_07_CS", "TC_A_09_CS", "TC_A_10_CS",
            "TC_A_11_CS", "TC_A_14_CS", "TC_A_19_CS", "TC_A_22_CS"} <= set(cases)
    assert all(c.measured["schema_violations"] == 0 for c in cases.values())


def test_each_check_holds_the_evidence_of_what_the_station_showed(compliant_run) -> None:
    findings = {c.id: " ".join(c.findings) for c in cases_of(compliant_run).values()}
    assert "CSR O=v2g-rig,CN=SIM-0001" in findings["TC_A_11_CS"]
    assert "signed (operator, serial" in findings["TC_A_11_CS"]
    assert "security profile 2" in findings["TC_A_19_CS"] and "TLSv1." in findings["TC_A_19_CS"]
    assert "attempt(s) refused" in findings["TC_A_05_CS"] and "SecurityEventNotification at" in findings["TC_A_05_CS"]
    assert "signed (other_key" in findings["TC_A_14_CS"] and "signed (untrusted" in findings["TC_A_14_CS"]
    assert "v2g-rig-A09" not in " ".join(findings.values())  # passwords are never written


def test_every_call_and_answer_the_plan_sends_holds_to_the_schema() -> None:
    answers = Answers201(CentralSystem201(heartbeat_interval_s=300, id_tags={}), RealClock())
    broken = {}
    for case in yaml.safe_load(PLAN.read_text())["cases"]:
        for step in case["params"]["steps"]:
            payload = answers.substitute(step.get("payload", {}))
            if isinstance(payload.get("connectionData"), dict):
                payload["connectionData"]["ocppCsmsUrl"] = "wss://127.0.0.1:9443/ocpp"  # $listener
            kind = {"call": CALL, "answer": CALLRESULT}.get(step["do"])
            if kind is not None and (found := violations("2.0.1", kind, step["action"], payload)):
                broken[(case["id"], step["action"])] = found
    assert broken == {}


# -- the rig's side of a certificate update ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayPki:
    return make_throwaway_pki(tmp_path_factory.mktemp("pki"), charger_cn="unnamed-charger")


def _csr(cn: str = "SIM-0001", organization: str = "v2g-rig", key=None, algorithm=None) -> str:
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, algorithm or hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def test_a_csr_is_signed_by_the_operator_ca_for_its_subject_and_key(pki: ThrowawayPki) -> None:
    csr = _csr()
    certificate = sign_csr(csr, pki)
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    certificate.verify_directly_issued_by(ca)
    assert certificate.subject.rfc4514_string() == "O=v2g-rig,CN=SIM-0001"
    assert certificate.public_key() == x509.load_pem_x509_csr(csr.encode()).public_key()
    now = datetime.datetime.now(datetime.timezone.utc)
    assert certificate.not_valid_before_utc < now < certificate.not_valid_after_utc


def test_the_negative_signers_give_what_a_station_must_refuse(pki: ThrowawayPki) -> None:
    csr = _csr()
    foreign = sign_csr(csr, pki, "other_key")
    foreign.verify_directly_issued_by(x509.load_pem_x509_certificate(pki.ca_cert.read_bytes()))
    assert foreign.public_key() != x509.load_pem_x509_csr(csr.encode()).public_key()
    untrusted = sign_csr(csr, pki, "untrusted")
    with pytest.raises((ValueError, InvalidSignature)):
        untrusted.verify_directly_issued_by(x509.load_pem_x509_certificate(pki.ca_cert.read_bytes()))
    untrusted.verify_directly_issued_by(x509.load_pem_x509_certificate(pki.untrusted_ca_cert.read_bytes()))


@pytest.mark.parametrize(("csr", "problem"), [
    (lambda: _csr(cn="someone-else"), "is not the station's identity"),
    (lambda: _csr(organization="ACME"), "is not 'v2g-rig'"),
    (lambda: _csr(key=ec.generate_private_key(ec.SECP192R1())), "192-bit EC key"),
    (lambda: _csr(algorithm=hashes.SHA384()), "not SHA-256"),
    (lambda: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", "not a PEM"),
])
def test_a_csr_a_csms_must_not_sign_is_named_for_what_it_breaks(csr, problem: str) -> None:
    _, problems = csr_problems(csr(), "SIM-0001", "v2g-rig")
    assert any(problem in p for p in problems), problems


def test_a_bench_without_the_cas_key_cannot_sign(pki: ThrowawayPki) -> None:
    with pytest.raises(ValueError, match="no CA key"):
        sign_csr(_csr(), dataclasses.replace(pki, ca_key=None))


def test_the_step_is_data_and_listening_without_configuring_cannot_commission() -> None:
    case = ScriptCase.model_validate({
        "id": "X", "title": "x", "edition": "e", "clause": "c", "procedure": "script", "params": {"steps": [
            {"do": "answer", "action": "SignCertificate", "payload": {"status": "Accepted"}},
            {"do": "certificate_signed", "within_s": 30.0, "signer": "other_key", "reply": {"status": "Rejected"}},
            {"do": "expect_connection", "within_s": 60.0, "rules": ["issued_certificate"]}]}})
    assert set(case.limit_map()) == {"step_02_certificate_signed_certificate_signed",
                                     "step_03_expect_connection_expect_connection", "schema_violations",
                                     "transaction_event_seq_errors"}
    with pytest.raises(ValidationError, match="configure"):
        ScriptCase.model_validate({"id": "X", "title": "x", "edition": "e", "clause": "c", "procedure": "script",
                                   "params": {"steps": [{"do": "listen", "profile": 2, "commission": True,
                                                         "configure": False}]}})
    with pytest.raises(ValidationError):
        ScriptCase.model_validate({"id": "X", "title": "x", "edition": "e", "clause": "c", "procedure": "script",
                                   "params": {"steps": [{"do": "certificate_signed", "within_s": 30.0,
                                                         "signer": "someone"}]}})
