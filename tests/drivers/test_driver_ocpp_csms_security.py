"""Security profiles 1-3 at the rig's CSMS: basic auth refused with 401 when anything is wrong, TLS 1.2 or later
with what the charger offered recorded, client certificates chained to the operator's CA and naming the station.

A throw-away PKI is made per test session (nothing secret is in the repository)."""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

from drivers.csms.ocpp_csms import OcppCsms
from rig.core.clock import RealClock
from rig.core.errors import InstrumentError
from rig.protocols.ocpp.security import ThrowawayPki, check_basic_auth, make_throwaway_pki

PASSWORD = "0123456789abcdef0123"  # 20 characters: within both versions' rules


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayPki:
    return make_throwaway_pki(tmp_path_factory.mktemp("pki"), charger_cn="CP001")


def make_csms(profile: int, pki: ThrowawayPki | None = None) -> OcppCsms:
    options: dict = {"versions": ["1.6"], "security_profile": profile}
    if profile in (1, 2):
        options["passwords"] = {"CP001": PASSWORD}
    if profile >= 2:
        assert pki is not None
        options.update(tls_cert=str(pki.csms_cert), tls_key=str(pki.csms_key))
    if profile == 3:
        options["client_ca"] = str(pki.ca_cert)
    scheme = "wss" if profile >= 2 else "ws"
    csms = OcppCsms(f"{scheme}://127.0.0.1:0/ocpp", name="csms", options=options)
    csms.attach_clock(RealClock())
    csms.setup()
    return csms


@pytest.fixture
def closing() -> Iterator[list[OcppCsms]]:
    made: list[OcppCsms] = []
    yield made
    for csms in made:
        csms.close()


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def client_tls(pki: ThrowawayPki, *, cert: Path | None = None, key: Path | None = None,
               maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(pki.ca_cert)
    if cert is not None:
        context.load_cert_chain(cert, key)
    if maximum is not None:
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = maximum
        context.set_ciphers("ALL:@SECLEVEL=0")
    return context


# -- profile 1 ----------------------------------------------------------------------------------------------------


def test_profile_1_accepts_the_identity_and_its_password(closing: list[OcppCsms]) -> None:
    csms = make_csms(1)
    closing.append(csms)
    with connect(f"{csms.url}/CP001", subprotocols=["ocpp1.6"], additional_headers=basic("CP001", PASSWORD),
                 open_timeout=5) as ws:
        assert ws.subprotocol == "ocpp1.6"
        assert csms.wait_for_charger("CP001", timeout_s=5) is not None
    assert not csms.refusals


@pytest.mark.parametrize(("headers", "why"), [
    ({}, "no Authorization header"),
    (basic("CP002", PASSWORD), "is not the identity in the URL"),
    (basic("CP001", "wrong-password-1234"), "wrong password"),
    (basic("CP001", "short"), "5-character password; OCPP 1.6 allows 16 to 40"),
    ({"Authorization": "Bearer abc"}, "not Basic"),
])
def test_profile_1_refuses_with_401_and_records_why(closing: list[OcppCsms], headers: dict, why: str) -> None:
    csms = make_csms(1)
    closing.append(csms)
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{csms.url}/CP001", subprotocols=["ocpp1.6"], additional_headers=headers, open_timeout=5)
    assert refused.value.response.status_code == 401
    (refusal,) = csms.refusals
    assert why in refusal.reason
    assert not csms.connections


def test_the_password_rule_is_the_versions() -> None:
    assert check_basic_auth("Basic " + base64.b64encode(b"CP001:" + b"x" * 50).decode(), "CP001", "2.0.1",
                            None).problems == ()
    assert "OCPP 1.6 allows 16 to 40" in check_basic_auth(
        "Basic " + base64.b64encode(b"CP001:" + b"x" * 50).decode(), "CP001", "1.6", None).problems[0]


def test_a_profile_without_its_material_is_refused_naming_what_is_missing() -> None:
    with pytest.raises(InstrumentError, match="passwords"):
        OcppCsms("ws://127.0.0.1:0/ocpp", name="csms", options={"security_profile": 1})
    with pytest.raises(InstrumentError, match="tls_cert and tls_key"):
        OcppCsms("wss://127.0.0.1:0/ocpp", name="csms", options={"security_profile": 2, "passwords": {"a": "b"}})
    with pytest.raises(InstrumentError, match="listens on wss://"):
        OcppCsms("ws://127.0.0.1:0/ocpp", name="csms", options={"security_profile": 3, "tls": "generate"})


def test_unreadable_tls_material_is_an_instrument_error(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("not a certificate")
    with pytest.raises(InstrumentError, match="TLS material"):
        OcppCsms("wss://127.0.0.1:0/ocpp", name="csms", options={
            "security_profile": 2, "passwords": {"CP001": PASSWORD}, "tls_cert": str(tmp_path / "cert.pem"),
            "tls_key": str(tmp_path / "missing.key")})


# -- profile 2 ----------------------------------------------------------------------------------------------------


def test_profile_2_is_tls_1_2_or_later_and_records_what_the_charger_offered(
        closing: list[OcppCsms], pki: ThrowawayPki) -> None:
    csms = make_csms(2, pki)
    closing.append(csms)
    with connect(f"{csms.url}/CP001", subprotocols=["ocpp1.6"], additional_headers=basic("CP001", PASSWORD),
                 ssl=client_tls(pki), open_timeout=5):
        connection = csms.wait_for_charger("CP001", timeout_s=5)
    assert connection is not None and connection.tls is not None
    assert connection.tls.version in ("TLSv1.2", "TLSv1.3") and connection.tls.cipher
    assert connection.tls.client_subject_cn is None and connection.tls.problems == ()


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
def test_profile_2_refuses_tls_1_1(closing: list[OcppCsms], pki: ThrowawayPki) -> None:
    csms = make_csms(2, pki)
    closing.append(csms)
    with pytest.raises((ssl.SSLError, OSError)):
        connect(f"{csms.url}/CP001", subprotocols=["ocpp1.6"], additional_headers=basic("CP001", PASSWORD),
                ssl=client_tls(pki, maximum=ssl.TLSVersion.TLSv1_1), open_timeout=5)
    assert not csms.connections


# -- profile 3 ----------------------------------------------------------------------------------------------------


def test_profile_3_takes_a_certificate_from_the_operators_ca_naming_the_station(
        closing: list[OcppCsms], pki: ThrowawayPki) -> None:
    csms = make_csms(3, pki)
    closing.append(csms)
    with connect(f"{csms.url}/CP001", subprotocols=["ocpp1.6"], open_timeout=5,
                 ssl=client_tls(pki, cert=pki.charger_cert, key=pki.charger_key)):
        connection = csms.wait_for_charger("CP001", timeout_s=5)
    assert connection is not None and connection.tls is not None
    assert connection.tls.client_subject_cn == "CP001" and connection.tls.problems == ()


def test_profile_3_closes_a_station_whose_certificate_names_another(closing: list[OcppCsms], pki: ThrowawayPki) -> None:
    csms = make_csms(3, pki)
    closing.append(csms)
    with connect(f"{csms.url}/CP999", subprotocols=["ocpp1.6"], open_timeout=5,
                 ssl=client_tls(pki, cert=pki.charger_cert, key=pki.charger_key)) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "certificate CN 'CP001' is not the station's identity 'CP999'" in csms.refusals[0].reason


def test_profile_3_refuses_a_certificate_from_another_ca(closing: list[OcppCsms], pki: ThrowawayPki) -> None:
    csms = make_csms(3, pki)
    closing.append(csms)
    with pytest.raises((ssl.SSLError, OSError, ConnectionClosed, InvalidHandshake)):  # TLS 1.3: refused after
        with connect(f"{csms.url}/CP001", subprotocols=["ocpp1.6"], open_timeout=5,
                     ssl=client_tls(pki, cert=pki.untrusted_charger_cert, key=pki.untrusted_charger_key)) as ws:
            ws.recv(timeout=5)
    assert not csms.connections


# -- listeners a case opens, what the charger showed, failures recorded -----------------------------------------


@pytest.fixture
def generated(closing: list[OcppCsms]) -> OcppCsms:
    """The bench's address plain, a throw-away PKI made at start (``tls: generate``) for the cases' listeners."""
    csms = OcppCsms("ws://127.0.0.1:0/ocpp", name="csms", options={"versions": ["1.6"], "tls": "generate"})
    csms.attach_clock(RealClock())
    csms.setup()
    closing.append(csms)
    return csms


def test_generated_tls_material_lives_in_a_temporary_directory_removed_on_close() -> None:
    csms = OcppCsms("ws://127.0.0.1:0/ocpp", name="csms", options={"tls": "generate"})
    assert csms.pki is not None and csms.pki.ca_cert.is_file() and csms.pki.csms_key.stat().st_mode & 0o077 == 0
    directory = csms.pki.ca_cert.parent
    assert "v2g-rig-pki-" in directory.name and not directory.is_relative_to(Path(__file__).parents[2])
    csms.setup()
    csms.close()
    assert not directory.exists()


def test_a_case_listener_records_what_the_charger_showed_and_keeps_a_wrong_cn_for_the_case_to_judge(
        generated: OcppCsms) -> None:
    pki = generated.pki
    assert pki is not None
    url = generated.listen_secure(3)
    assert url.startswith("wss://127.0.0.1:") and url != generated.url
    with connect(f"{url}/CP999", subprotocols=["ocpp1.6"], open_timeout=5,
                 ssl=client_tls(pki, cert=pki.charger_cert, key=pki.charger_key)):
        connection = generated.wait_for_charger("CP999", timeout_s=5)
    assert connection is not None and connection.tls is not None and connection in generated.history
    assert connection.listener == url and connection.profile == 3
    tls = connection.tls
    assert tls.version in ("TLSv1.2", "TLSv1.3") and tls.client_key == "EC secp256r1 256 bits"
    assert tls.client_subject is not None and "CN=unnamed-charger" in tls.client_subject
    assert tls.problems_of(["client_cn"]) and not tls.problems_of(["tls", "client_certificate"])
    assert generated.listener_of(url) == "security profile 3"
    generated.close_case_listeners()
    assert generated.listener_of(url) == "a closed listener"


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
def test_a_tls_handshake_failure_is_a_recorded_refusal_naming_the_reason(generated: OcppCsms) -> None:
    pki = generated.pki
    assert pki is not None
    url = generated.listen_secure(2, password=PASSWORD)
    with pytest.raises((ssl.SSLError, OSError)):
        connect(f"{url}/CP001", subprotocols=["ocpp1.6"], additional_headers=basic("CP001", PASSWORD),
                ssl=client_tls(pki, maximum=ssl.TLSVersion.TLSv1_1), open_timeout=5)
    deadline = time.monotonic() + 5
    while not generated.refusals and time.monotonic() < deadline:
        time.sleep(0.01)
    (refusal,) = generated.refusals
    assert refusal.listener == url and refusal.reason == "TLS handshake failed: UNSUPPORTED_PROTOCOL"
    assert not generated.history


def test_a_charger_accepting_a_new_authorization_key_is_held_to_it(generated: OcppCsms) -> None:
    url = generated.listen_secure(1, password=PASSWORD)
    new = "FEDCBA9876543210FEDCBA9876543210"
    with connect(f"{url}/CP001", subprotocols=["ocpp1.6"], additional_headers=basic("CP001", PASSWORD),
                 open_timeout=5) as ws:
        assert generated.wait_for_charger("CP001", timeout_s=5) is not None

        def charger() -> None:
            message = json.loads(ws.recv(timeout=5))
            ws.send(json.dumps([3, message[1], {"status": "Accepted"}]))

        answering = threading.Thread(target=charger)
        answering.start()
        reply = generated.call("CP001", "ChangeConfiguration", {"key": "AuthorizationKey", "value": new},
                               timeout_s=5)
        answering.join()
    assert reply is not None and generated.passwords["CP001"] == new
    with pytest.raises(InvalidStatus):  # the old password no longer opens the door
        connect(f"{url}/CP001", subprotocols=["ocpp1.6"], additional_headers=basic("CP001", PASSWORD),
                open_timeout=5)
    generated.close_case_listeners()
    assert "CP001" not in generated.passwords  # the bench's passwords again


@pytest.mark.parametrize(("options", "field"), [
    ({"tls_cert": "GARBAGE", "tls_key": "KEY"}, "tls_cert"),
    ({"tls_cert": "CERT", "tls_key": "MISSING"}, "tls_key"),
])
def test_unreadable_tls_material_in_a_bench_is_one_line_exit_2_and_nothing_started(
        tmp_path: Path, pki: ThrowawayPki, options: dict, field: str) -> None:
    import subprocess
    import sys

    import yaml

    root = Path(__file__).parents[2]
    (tmp_path / "garbage.pem").write_text("not a certificate\n")
    files = {"GARBAGE": str(tmp_path / "garbage.pem"), "MISSING": str(tmp_path / "missing.key"),
             "CERT": str(pki.csms_cert), "KEY": str(pki.csms_key)}
    bench = yaml.safe_load((root / "fixtures" / "benches" / "sim.yaml").read_text())
    bench["instruments"]["csms"]["address"] = "wss://127.0.0.1:0/ocpp"
    bench["instruments"]["csms"]["options"] = {"versions": ["1.6"], "security_profile": 2,
                                               "passwords": {"SIM-0001": PASSWORD},
                                               **{k: files[v] for k, v in options.items()}}
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(bench, sort_keys=False))
    done = subprocess.run([sys.executable, "-m", "rig.run.cli", "run", "test_plans/ocpp/ocpp16_security.yaml",
                           "--bench", str(path), "--out", str(tmp_path / "run")], cwd=root, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert f"instruments.csms.options.{field}: unreadable TLS material" in line and str(path) in line
    assert not (tmp_path / "run").exists()  # refused before anything was started
