"""The rig as the OCPP central system (role ``csms``): the listener chargers connect to, every frame recorded.

Address and options (the bench file)::

    csms:
      driver: ocpp_csms
      address: ws://0.0.0.0:9000/ocpp     # where it listens; a charger connects to <address>/<its identity>
      options: {versions: ["2.0.1", "1.6"]}
      # security profile 1: {security_profile: 1, passwords: {CP001: ...}}; 2: the same on wss:// with
      # tls_cert and tls_key; 3: wss:// with tls_cert, tls_key and client_ca (rig.protocols.ocpp.security)
      # tls: generate  -> a throw-away operator CA and CSMS certificate made at start in a temporary
      #                   directory (removed on close), for a simulated charger: nothing secret in the repo

Options: ``versions``; ``security_profile`` (0-3) the address is held to;
``passwords`` (identity -> basic-auth password, profiles 1 and 2);
``tls_cert``, ``tls_key`` (PEM files, profiles 2 and 3), ``client_ca`` (the
operator CA chargers' certificates chain to, profile 3), each read when the
bench file is checked (an unreadable one is one line naming the field,
nothing started); ``tls: generate`` instead of those files.

Security profiles (OCPP 1.6 security whitepaper 2.1-2.5, A00.FR.006: a
central system MAY hold each address or port to one profile): the bench's
address is held to ``security_profile``; a case opens further listeners on
other loopback ports with ``listen_secure(profile)`` (wss:// presenting the
CSMS certificate, or one from a CA no charger was given, or only TLS up to
1.1 for the negative cases), and the charger is told the new address the way
a bench engineer configures a real one. What every TLS peer showed (version,
suite agreed, suites offered, client certificate subject, CN, key, issuer)
is recorded per connection (``ChargerConnection.tls``, ``history``) and a
handshake either end broke off is a ``Refusal`` naming OpenSSL's reason,
never an exception. Once a charger accepts a new 1.6 ``AuthorizationKey``
(ChangeConfiguration) or 2.0.1 ``SecurityCtrlr.BasicAuthPassword``
(SetVariables) from the rig, the rig holds it to that password.

What it does, as OCPP-J says and as a judge needs (``shared/reference/ocpp-cases.md``):

- Subprotocol negotiation: the first version of ``versions`` the charger
  offered is accepted; a charger offering none of them gets the handshake
  completed without ``Sec-WebSocket-Protocol`` and the connection then closed
  (code 1002), not websockets' default HTTP 400.
- The charger's identity is the last segment of the URL path,
  percent-decoded (websockets leaves it encoded).
- Every frame both ways is recorded as sent (raw text), stamped on the rig's
  clock, with what it is (kind, action) and, for a charger's CALL or
  CALLRESULT, every way it breaks the OCA schema: a violation is recorded and
  judged, the frame still handled (the ``ocpp`` package would answer the
  first error and drop the frame).
- A frame that is no valid frame of the version is recorded and answered
  with the CALLERROR its version defines, when its id can be read; the rig
  never fails on what a charger sends.
- ``send_raw`` sends any text (a deliberately invalid frame); ``call`` sends
  a CALL and returns the charger's reply frame (CALLRESULT or CALLERROR),
  matched by id; a late or unknown reply is recorded, not lost.
- The charger's CALLs are answered by ``responders`` (action -> function of
  the payload returning the reply payload, or a ``CallError``); an action
  without one is answered ``NotSupported`` (one the version has) or
  ``NotImplemented`` (one it does not), as OCPP-J's error tables say and the
  reverse of what the ``ocpp`` package sends.

The server runs its asyncio loop in its own thread; the rig's procedures are
synchronous and wait for what they expect through the rig's clock
(``rig.core.clock.wait_until``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import itertools
import json
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import Field, field_validator, model_validator
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State
from websockets.typing import Subprotocol

from drivers.options import DriverOptions
from rig.config.envelope import EnvelopeGuard
from rig.core.clock import Clock, wait_until
from rig.core.errors import InstrumentError
from rig.core.identity import InstrumentFamily
from rig.core.sockets import received_bytes, unread
from rig.protocols.ocpp import frames
from rig.protocols.ocpp.frames import Frame, Malformed, Version
from rig.protocols.ocpp.schemas import violations
from rig.protocols.ocpp.security import (SecurityProfile, ThrowawayPki, TlsSeen, check_basic_auth, inspect_tls,
                                        issue_certificate, make_throwaway_pki, outdated_server_context,
                                        server_context)

DEFAULT_VERSIONS: tuple[Version, ...] = ("2.0.1", "1.6")

START_TIMEOUT_S = 5.0
SETTLE_TIMEOUT_S = 5.0
"""Longest wall-clock wait for the listener to handle what the lab sent at one instant."""
"""How long the listener has to come up (wall clock: it is the host's socket, not the bench's time)."""


@dataclass(frozen=True)
class CallError:
    """What a responder returns to answer a charger's CALL with a CALLERROR."""

    code: str
    description: str = ""


Responder = Callable[[dict[str, Any]], "dict[str, Any] | CallError"]


@dataclass(frozen=True)
class RecordedFrame:
    """One frame on the wire, as sent, on the rig's clock."""

    t: float
    identity: str
    direction: Literal["charger->rig", "rig->charger"]
    text: str
    kind: str
    """CALL, CALLRESULT, CALLERROR, ... or MALFORMED."""
    message_id: str | None = None
    action: str | None = None
    """A CALL's action, or for a reply the action of the CALL it answers (when known)."""
    problems: tuple[str, ...] = ()
    """Schema violations, or why the frame is malformed."""

    def as_json(self) -> dict[str, Any]:
        return {"t": self.t, "identity": self.identity, "direction": self.direction, "kind": self.kind,
                "message_id": self.message_id, "action": self.action, "problems": list(self.problems),
                "text": self.text}


@dataclass
class ChargerConnection:
    """A charger connected to the rig."""

    identity: str
    version: Version
    subprotocol: str
    remote: str
    websocket: ServerConnection
    connected_at: float
    closed_at: float | None = None
    pending: dict[str, str] = field(default_factory=dict)
    """CALLs the rig sent, awaiting a reply: message id -> action."""
    replies: dict[str, Frame] = field(default_factory=dict)
    """Replies to the rig's CALLs, by message id."""
    tls: TlsSeen | None = None
    """What its TLS handshake showed (security profiles 2 and 3)."""
    listener: str = ""
    """The address it came in at (the bench's, or one a case opened)."""
    profile: SecurityProfile = 0
    """The security profile that address holds connections to."""
    basic_auth_user: str | None = None
    """The username its basic auth gave (profiles 1 and 2; the password is never recorded)."""

    def as_json(self) -> dict[str, Any]:
        return {"identity": self.identity, "version": self.version, "remote": self.remote,
                "connected_at": self.connected_at, "closed_at": self.closed_at, "listener": self.listener,
                "profile": self.profile, "basic_auth_user": self.basic_auth_user,
                "tls": self.tls.as_json() if self.tls is not None else None}


@dataclass(frozen=True)
class Refusal:
    """A connection the rig did not keep (no subprotocol in common, basic auth wrong, a TLS handshake either end
    broke off, a client certificate naming another station), recorded as evidence."""

    t: float
    path: str
    offered: tuple[str, ...]
    reason: str
    listener: str = ""
    """The address it came in at."""
    tls: TlsSeen | None = None
    """What its TLS handshake showed, when it got that far."""

    def as_json(self) -> dict[str, Any]:
        return {"t": self.t, "path": self.path, "offered": list(self.offered), "reason": self.reason,
                "listener": self.listener, "tls": self.tls.as_json() if self.tls is not None else None}


@dataclass
class Listener:
    """One address the rig listens at, held to one security profile (A00.FR.006)."""

    profile: SecurityProfile
    tls: ssl.SSLContext | None
    bind_cn: bool
    """Profile 3: close a connection whose certificate names another station (2.0.1 A00.FR.405), or keep it and
    record the CN for the case to judge (the 1.6 whitepaper leaves it to the CSMS)."""
    what: str
    password: str | None = None
    """Profiles 1 and 2: the password of a charger the bench names none for (the one a case commissions it
    with)."""
    server: Server | None = None
    url: str = ""


class OcppCsms:
    """Options: ``versions`` (those it accepts, in order of preference)."""

    family = InstrumentFamily("v2g-rig OCPP central system", manufacturer=r"v2g-rig", model=r"CSMS",
                              asked_by="its own listener")

    class Options(DriverOptions):
        versions: list[Literal["1.6", "2.0.1", "2.1"]] = Field(
            default_factory=lambda: list(DEFAULT_VERSIONS), min_length=1,
            description="The OCPP versions it accepts, in order of preference.")
        security_profile: Literal[0, 1, 2, 3] = Field(0, description="0 none, 1 basic auth, 2 TLS and basic auth, "
                                                                      "3 TLS with client certificates.")
        passwords: dict[str, str] = Field(default_factory=dict, description="Basic-auth password by identity "
                                                                            "(profiles 1 and 2).")
        tls_cert: str | None = Field(None, description="The CSMS certificate (PEM file; profiles 2 and 3).")
        tls_key: str | None = Field(None, description="Its private key (PEM file).")
        client_ca: str | None = Field(None, description="The operator CA chargers' certificates chain to (profile 3).")
        tls: Literal["generate"] | None = Field(None, description="generate: a throw-away operator CA and CSMS "
                                                                  "certificate made at start in a temporary "
                                                                  "directory (a simulated charger is handed the CA "
                                                                  "and a certificate of it), instead of the files.")

        @field_validator("tls_cert", "client_ca")
        @classmethod
        def _a_readable_certificate(cls, value: str | None) -> str | None:
            if value is not None:
                try:
                    x509.load_pem_x509_certificate(Path(value).read_bytes())
                except (OSError, ValueError) as err:
                    raise ValueError(f"unreadable TLS material {value}: {_why(err)} (a PEM certificate)") from None
            return value

        @field_validator("tls_key")
        @classmethod
        def _a_readable_key(cls, value: str | None) -> str | None:
            if value is not None:
                try:
                    serialization.load_pem_private_key(Path(value).read_bytes(), None)
                except (OSError, ValueError, TypeError) as err:
                    raise ValueError(f"unreadable TLS material {value}: {_why(err)} (an unencrypted PEM private "
                                     "key)") from None
            return value

        @model_validator(mode="after")
        def _profile_has_its_material(self) -> "OcppCsms.Options":
            if self.security_profile in (1, 2) and not self.passwords:
                raise ValueError("security profiles 1 and 2 need the chargers' passwords (passwords: {identity: ...})")
            if self.tls is not None and (self.tls_cert or self.tls_key or self.client_ca):
                raise ValueError("tls: generate makes the certificates; give it or tls_cert/tls_key/client_ca")
            if self.security_profile >= 2 and self.tls is None and (self.tls_cert is None or self.tls_key is None):
                raise ValueError("security profiles 2 and 3 need tls_cert and tls_key (or tls: generate)")
            if self.security_profile == 3 and self.tls is None and self.client_ca is None:
                raise ValueError("security profile 3 needs client_ca (the CA chargers' certificates chain to)")
            return self

    def __init__(self, resource: str, *, name: str, envelope: EnvelopeGuard | None = None,
                 options: dict[str, Any] | None = None) -> None:
        o = self.Options.read(name, options)
        self.name, self.envelope, self.versions = name, envelope, list(o.versions)
        self._accepting: list[Version] = list(o.versions)
        self._only: str | None = None
        self._cut_until: dict[str, float] = {}
        """Chargers whose link the rig has cut (``cut_link``): identity -> until when (rig clock) it stays down."""
        """The one identity it serves (``serve_only``), or None for any."""
        """The versions a new connection may choose now (``accept_versions``)."""
        self.security_profile, self.passwords = o.security_profile, dict(o.passwords)
        self._bench_passwords = dict(o.passwords)
        parts = urlsplit(resource)
        if parts.scheme not in ("ws", "wss") or not parts.hostname or parts.port is None:
            raise InstrumentError(name, f"listen {resource}", "the address is ws://HOST:PORT/PATH (wss:// with TLS)")
        if (parts.scheme == "wss") != (self.security_profile >= 2):
            raise InstrumentError(name, f"listen {resource}", f"security profile {self.security_profile} listens on "
                                  f"{'wss' if self.security_profile >= 2 else 'ws'}://")
        self.pki: ThrowawayPki | None = None
        """The throw-away PKI (``tls: generate``): its operator CA is the trust anchor a simulated charger is
        handed, and signs the charger's certificate."""
        self._pki_dir: Path | None = None
        if o.tls == "generate":
            self._pki_dir = Path(tempfile.mkdtemp(prefix="v2g-rig-pki-"))
            self.pki = make_throwaway_pki(self._pki_dir, charger_cn="unnamed-charger", csms_host=parts.hostname)
        self._cert, self._key = (self.pki.csms_cert, self.pki.csms_key) if self.pki else \
            (Path(o.tls_cert) if o.tls_cert else None, Path(o.tls_key) if o.tls_key else None)
        self._client_ca = self.pki.ca_cert if self.pki else Path(o.client_ca) if o.client_ca else None
        self._tls: ssl.SSLContext | None = None
        if self.security_profile >= 2:
            self._tls = self._context(self.security_profile)
        self._listeners: list[Listener] = [Listener(self.security_profile, self._tls, bind_cn=True,
                                                    what="the bench's address")]
        self.resource, self._host, self._port, self._base = resource, parts.hostname, parts.port, parts.path
        self.responders: dict[str, Responder] = {}
        self.frames: list[RecordedFrame] = []
        self.refusals: list[Refusal] = []
        self.connections: dict[str, ChargerConnection] = {}
        self.history: list[ChargerConnection] = []
        """Every connection the rig kept, in the order they opened (``connections`` has each charger's last)."""
        self._clock: Clock | None = None
        self._lock = threading.Condition()
        self._ids = itertools.count(1)
        self._tracked: dict[int, ServerConnection] = {}
        self._bytes_in: dict[int, int] = {}
        """Bytes each connection's websockets protocol has been handed (the listener's thread counts them)."""
        self._generation = 0
        """Counts what happens on the listener's side: accepts, bytes handed over, frames handled, losses."""
        self._quiet_generation = -1
        """The count when a settle last found all quiet."""
        """Every connection from its TCP accept to its loss (the listener's thread)."""
        self._handled: set[int] = set()
        """The connections ``_handle`` has taken up (registered, or refused and closing)."""
        self._busy = 0
        """Frames being handled now (the listener's thread)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # -- the instrument's life ------------------------------------------------------------------------

    def attach_clock(self, clock: Clock) -> None:
        """The rig's clock, on which every frame is stamped; a virtual clock also lets it settle at every instant
        the lab stops at (``settle``)."""
        self._clock = clock
        add_settler = getattr(clock, "add_settler", None)
        if add_settler is not None:
            add_settler(self.settle)

    def settle(self) -> None:
        """Handle, at this instant of the rig's clock, everything the lab has sent (its bytes are in our sockets:
        the lab flushed them before stopping): every handshake registered, every byte read, every frame handled
        and answered. Waits on the wall clock, bounded: the listener's own thread does the work."""
        if self._loop is None or self._server is None or not (self._tracked or self._handled):
            return
        if self._still_quiet():
            return
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        quiet_in_a_row = 0
        generation_seen = -1
        while quiet_in_a_row < 2:  # quiet twice: nothing was still on its way between the looks
            generation_seen = self._generation
            quiet_in_a_row = quiet_in_a_row + 1 if self._run(self._quiet()) else 0
            if time.monotonic() > deadline:
                raise InstrumentError(self.name, "settle", f"chargers' frames not handled within {SETTLE_TIMEOUT_S} s")
        self._quiet_generation = generation_seen

    def _still_quiet(self) -> bool:
        """Nothing happened since the last settle found the listener quiet (asked of the kernel and two counters,
        from the rig's thread, without a trip through the listener's): no byte unread, every byte the kernel
        received on each connection handed to websockets, no event counted since. The lab writes only while
        it advances and flushes before it stops, so what it wrote is in one of those counts by now."""
        generation = self._generation
        if generation != self._quiet_generation or any(listener.tls is not None for listener in self._listeners):
            return False  # TLS: the kernel counts ciphertext, websockets plaintext
        for key, websocket in list(self._tracked.items()):
            sock = websocket.transport.get_extra_info("socket") if websocket.transport else None
            if sock is None:
                return False
            try:
                if unread(sock) > 0 or received_bytes(sock) != self._bytes_in.get(key, 0):
                    return False
            except (OSError, ValueError):
                return False  # closed by the listener's thread meanwhile: the full settle sees to it
        return generation == self._generation

    async def _quiet(self) -> bool:
        """After a few turns of the listener's loop: every open connection registered, nothing unread in its
        socket or queued in websockets, no frame being handled."""
        for _ in range(3):
            await asyncio.sleep(0)
        tracked = dict(self._tracked)
        if self._handled - tracked.keys():
            return False  # a handler still finishing a connection that is gone (its closing is recorded there)
        for websocket in tracked.values():
            sock = websocket.transport.get_extra_info("socket") if websocket.transport else None
            if websocket.state is State.CONNECTING:
                if sock is not None and unread(sock) > 0:
                    return False  # a handshake request arrived and is being read
                continue  # a peer that opened and sent nothing (or stalls mid-request): websockets times it out
                # (the lab's own client waits for the 101 before it stops, so its connection is open by now)
            if websocket.state is not State.OPEN:
                continue  # closing: the rig has said goodbye, the rest is the charger's
            if id(websocket) not in self._handled:
                return False  # open, not yet taken up by ``_handle``
            if sock is not None and unread(sock) > 0:
                return False
            queued = getattr(getattr(websocket, "recv_messages", None), "frames", None)  # websockets' own queue
            if queued is not None and len(queued) > 0:
                return False
        return self._busy == 0

    def identify(self) -> str:
        """``v2g-rig,CSMS,<listen address>,<versions>``: the rig's own listener, started here."""
        self._start()
        return f"v2g-rig,CSMS,{self.url},{'/'.join(self.versions)}"

    def setup(self) -> None:
        """Listening (identify started it); nothing recorded before the run counts."""
        self._start()
        with self._lock:
            self.frames.clear()
            self.refusals.clear()
            self.history.clear()

    def faults(self) -> list[str]:
        """A central system trips nothing; what chargers did wrong is judged by the cases."""
        return []

    def safe_off(self) -> None:
        """Nothing to de-energise: chargers stay connected (their own state is the charger's)."""

    def close(self) -> None:
        loop, server = self._loop, self._server
        if loop is None or server is None:
            return
        async def shut() -> None:
            for websocket in list(server.connections):  # the run is over: no closing handshake to wait for
                websocket.transport.abort()
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(shut(), loop).result(timeout=START_TIMEOUT_S)
        self.close_case_listeners()
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=START_TIMEOUT_S)
        self._loop = self._server = None
        if self._pki_dir is not None:  # the throw-away keys go with the run
            shutil.rmtree(self._pki_dir, ignore_errors=True)
            self._pki_dir = None

    @property
    def url(self) -> str:
        """Where chargers connect (the port the OS chose when the address gave 0)."""
        host = self._host if self._server is None else self._bound()[0]
        port = self._port if self._server is None else self._bound()[1]
        scheme = urlsplit(self.resource).scheme
        return f"{scheme}://{host}:{port}{self._base.rstrip('/')}"

    def _bound(self) -> tuple[str, int]:
        assert self._server is not None
        host, port = next(iter(self._server.sockets)).getsockname()[:2]
        return host, port

    def _start(self) -> None:
        if self._server is not None:
            return
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            csms = self

            class Tracked(ServerConnection):
                """A connection known from its TCP accept on, before websockets hands it to ``_handle``."""

                def connection_made(self, transport: asyncio.BaseTransport) -> None:
                    super().connection_made(transport)
                    csms._tracked[id(self)] = self
                    csms._bytes_in[id(self)] = 0
                    csms._generation += 1

                def data_received(self, data: bytes) -> None:
                    csms._bytes_in[id(self)] = csms._bytes_in.get(id(self), 0) + len(data)
                    csms._generation += 1
                    super().data_received(data)

                def connection_lost(self, exc: Exception | None) -> None:
                    super().connection_lost(exc)
                    csms._tracked.pop(id(self), None)
                    csms._bytes_in.pop(id(self), None)
                    csms._generation += 1

            self._connection_class = Tracked

            async def listen() -> Server:
                return await self._open(self._listeners[0], self._host, self._port)

            try:
                self._server = loop.run_until_complete(listen())
            except OSError as err:
                failure.append(err)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name=f"csms-{self.name}", daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT_S) or failure:
            detail = f"{failure[0]}" if failure else f"not listening after {START_TIMEOUT_S} s"
            raise InstrumentError(self.name, f"listen {self.resource}", f"cannot listen: {detail}")

    async def _open(self, listener: Listener, host: str, port: int) -> Server:
        """Start listening at ``host:port`` for ``listener`` (its profile's checks on every connection)."""
        if listener.tls is not None:
            listener.tls.sslobject_class = self._recording(listener)
        server = await serve(functools.partial(self._handle, listener), host, port,
                             select_subprotocol=self._select_subprotocol, create_connection=self._connection_class,
                             subprotocols=[Subprotocol(frames.SUBPROTOCOL[v]) for v in self.versions],
                             ping_interval=None, ssl=listener.tls,
                             process_request=functools.partial(self._screen, listener))
        listener.server = server
        bound_host, bound_port = next(iter(server.sockets)).getsockname()[:2]
        listener.url = f"{'wss' if listener.tls is not None else 'ws'}://{bound_host}:{bound_port}" \
                       f"{self._base.rstrip('/')}"
        return server

    def _recording(self, listener: Listener) -> type[ssl.SSLObject]:
        """The TLS objects of ``listener``'s connections: a handshake either end breaks off is recorded as a
        refusal with OpenSSL's reason (asyncio drops it silently, before websockets sees a connection)."""
        csms = self

        class Recording(ssl.SSLObject):
            def do_handshake(self) -> None:
                try:
                    super().do_handshake()
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    raise
                except ssl.SSLError as err:
                    csms._refuse(Refusal(csms._now(), "", (), f"TLS handshake failed: {_why(err)}", listener.url))
                    raise

        return Recording

    def _refuse(self, refusal: Refusal) -> None:
        with self._lock:
            self.refusals.append(refusal)
            self._lock.notify_all()

    def _context(self, profile: SecurityProfile, *, server_ca: Literal["operator", "untrusted"] = "operator",
                 tls_max: Literal["1.0", "1.1"] | None = None) -> ssl.SSLContext:
        """The TLS of a listener held to ``profile`` (2 or 3): the CSMS certificate, or one from a CA no charger
        was given, or only TLS up to ``tls_max`` (the negative cases)."""
        if self._cert is None or self._key is None:
            raise InstrumentError(self.name, f"listen at security profile {profile}",
                                  "no CSMS certificate: the bench gives tls_cert and tls_key, or tls: generate")
        cert, key = self._untrusted_certificate() if server_ca == "untrusted" else (self._cert, self._key)
        try:
            if tls_max is not None:
                maximum = ssl.TLSVersion.TLSv1_1 if tls_max == "1.1" else ssl.TLSVersion.TLSv1
                return outdated_server_context(cert, key, maximum)
            if profile == 3 and self._client_ca is None:
                raise InstrumentError(self.name, "listen at security profile 3",
                                      "no client_ca (the CA chargers' certificates chain to), nor tls: generate")
            return server_context(cert, key, client_ca=self._client_ca if profile == 3 else None)
        except (OSError, ssl.SSLError) as err:
            raise InstrumentError(self.name, "TLS material", f"unusable: {err}") from None

    def _untrusted_certificate(self) -> tuple[Path, Path]:
        """A CSMS certificate (for this host) from a throw-away CA no charger was given."""
        if self._pki_dir is None:
            self._pki_dir = Path(tempfile.mkdtemp(prefix="v2g-rig-pki-"))
        cert, key = self._pki_dir / "untrusted-csms.pem", self._pki_dir / "untrusted-csms.key"
        if not cert.exists():
            pki = self.pki or make_throwaway_pki(self._pki_dir / "other", charger_cn="unnamed-charger",
                                                 csms_host=self._host)
            assert pki.untrusted_ca_key is not None
            issue_certificate(self._pki_dir, "untrusted-csms", self._host, pki.untrusted_ca_cert,
                              pki.untrusted_ca_key, san=self._host)
        return cert, key

    def listen_secure(self, profile: SecurityProfile, *, server_ca: Literal["operator", "untrusted"] = "operator",
                      tls_max: Literal["1.0", "1.1"] | None = None, password: str | None = None) -> str:
        """Listen at another port of the bench's host (a free one) held to ``profile`` (A00.FR.006: one profile
        per port) and return its address: ws:// for 0 and 1, wss:// for 2 and 3 presenting the CSMS certificate,
        or with ``server_ca="untrusted"`` one from a CA no charger was given, or with ``tls_max`` only TLS up to
        that version (a charger must refuse both). A client certificate naming another station is kept and
        recorded for the case to judge; ``password`` is the basic-auth password of a charger the bench names none
        for (profiles 1 and 2). Open until ``close_case_listeners``."""
        if profile < 2 and (server_ca != "operator" or tls_max is not None):
            raise InstrumentError(self.name, f"listen at security profile {profile}",
                                  "a ws:// listener has no certificate or TLS version to choose")
        self._start()
        tls = self._context(profile, server_ca=server_ca, tls_max=tls_max) if profile >= 2 else None
        what = f"security profile {profile}" + (", a certificate from an untrusted CA" if server_ca == "untrusted"
                                                else "") + (f", TLS up to {tls_max} only" if tls_max else "")
        if profile in (1, 2) and password is None and not self.passwords:
            raise InstrumentError(self.name, f"listen at security profile {profile}",
                                  "basic auth needs the charger's password (the bench's passwords, or the case's)")
        listener = Listener(profile, tls, bind_cn=False, what=what, password=password)
        self._run(self._open(listener, self._host, 0))
        self._listeners.append(listener)
        return listener.url

    def close_case_listeners(self) -> None:
        """Stop every listener ``listen_secure`` opened (their connections dropped); the bench's stays, and the
        passwords are the bench's again (a case may have changed one)."""
        extra, self._listeners[1:] = self._listeners[1:], []
        self.passwords = dict(self._bench_passwords)
        if not extra or self._loop is None:
            return

        async def shut() -> None:
            for listener in extra:
                if listener.server is None:
                    continue
                for websocket in list(listener.server.connections):
                    websocket.transport.abort()
                listener.server.close()
                await listener.server.wait_closed()

        self._run(shut())

    def listener_of(self, url: str) -> str:
        """What the listener at ``url`` holds connections to (for the evidence)."""
        return next((listener.what for listener in self._listeners if listener.url == url), "a closed listener")

    # -- connections ------------------------------------------------------------------------------------

    def _now(self) -> float:
        return self._clock.now() if self._clock is not None else 0.0

    def serve_only(self, identity: str) -> None:
        """From now on serve only the charger ``identity`` (the one under test, from ``--dut``): another that
        connects is recorded as a refusal and closed (1008), so a bench with several chargers in reach judges
        the right one."""
        self._only = identity

    def cut_link(self, identity: str, for_s: float) -> None:
        """A link loss, as the charger meets it in the field: its connection dropped without a WebSocket closing
        handshake (the TCP connection closed under it), and for ``for_s`` every attempt to connect again refused
        (HTTP 503, recorded as a refusal, so the attempts and their spacing are evidence)."""
        self._cut_until[identity] = self._now() + for_s
        with self._lock:
            connection = self.connections.get(identity)
        if connection is not None and connection.closed_at is None and self._loop is not None:
            transport = connection.websocket.transport
            self._loop.call_soon_threadsafe(transport.close)
            with self._lock:  # closed here before the rig moves on: the charger meets it at this instant
                self._lock.wait_for(lambda: connection.closed_at is not None, timeout=START_TIMEOUT_S)
            self.settle()

    def accept_versions(self, versions: Sequence[str]) -> None:
        """From the next connection on, accept only ``versions`` (of those the bench allows, in this order): a
        suite of one version against a charger that speaks several; an empty list restores the bench's."""
        unknown = [v for v in versions if v not in self.versions]
        if unknown:
            raise InstrumentError(self.name, "accept versions", f"{', '.join(unknown)} not among the bench's "
                                                                f"{', '.join(self.versions)}")
        self._accepting = list(versions) or list(self.versions)

    def _select_subprotocol(self, connection: ServerConnection,
                            offered: Sequence[Subprotocol]) -> Subprotocol | None:
        chosen = frames.choose_subprotocol([str(o) for o in offered], self._accepting)
        return None if chosen is None else Subprotocol(chosen)

    def _screen(self, listener: Listener, connection: ServerConnection, request: Request) -> Response | None:
        """Every request before its upgrade: a peer that speaks HTTP but asks for no WebSocket is recorded as a
        refusal and answered 426 (websockets would answer it too, but unrecorded); profiles 1 and 2 then hold
        its basic auth (``_authorize``)."""
        identity = frames.identity_from_path(request.path)
        if self._now() < self._cut_until.get(identity, -1.0):
            self._refuse(Refusal(self._now(), request.path, (), "link down (the rig cut it)", listener.url))
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "link down\n")
        upgrade = ",".join(request.headers.get_all("Upgrade")).lower()
        if "websocket" not in upgrade:
            self._refuse(Refusal(self._now(), request.path, (), "plain HTTP, no WebSocket upgrade asked for "
                                                                f"(Upgrade: {upgrade or 'none'})", listener.url))
            return connection.respond(HTTPStatus.UPGRADE_REQUIRED, "an OCPP central system: connect with "
                                                                   "WebSocket (OCPP-J)\n")
        return self._authorize(listener, connection, request) if listener.profile in (1, 2) else None

    def _authorize(self, listener: Listener, connection: ServerConnection, request: Request) -> Response | None:
        """Profiles 1 and 2: the upgrade's basic auth held against the identity, the version and the password;
        refused with HTTP 401 (recorded) when anything is wrong."""
        identity = frames.identity_from_path(request.path)
        offered = [p.strip() for value in request.headers.get_all("Sec-WebSocket-Protocol") for p in value.split(",")]
        chosen = frames.choose_subprotocol(offered, self._accepting)
        version = frames.version_of(chosen) if chosen else self._accepting[0]
        expected = self.passwords.get(identity, listener.password)
        auth = check_basic_auth(request.headers.get("Authorization"), identity, version, expected)
        if expected is None:
            auth = dataclasses.replace(auth, problems=(*auth.problems, f"no password for {identity!r} on this bench"))
        if not auth.problems:
            return None
        ssl_object = connection.transport.get_extra_info("ssl_object") if connection.transport else None
        tls = inspect_tls(ssl_object, identity, client_cert_expected=False) if ssl_object is not None else None
        self._refuse(Refusal(self._now(), request.path, tuple(offered), "; ".join(auth.problems), listener.url, tls))
        return connection.respond(HTTPStatus.UNAUTHORIZED, "basic auth refused\n")

    async def _handle(self, listener: Listener, websocket: ServerConnection) -> None:
        self._handled.add(id(websocket))
        try:
            await self._serve_connection(listener, websocket)
        finally:
            self._handled.discard(id(websocket))

    async def _serve_connection(self, listener: Listener, websocket: ServerConnection) -> None:
        path = websocket.request.path if websocket.request is not None else "/"
        offered = tuple(websocket.request.headers.get_all("Sec-WebSocket-Protocol")) if websocket.request else ()
        if websocket.subprotocol is None:
            self._refuse(Refusal(self._now(), path, offered, "no OCPP version in common", listener.url))
            await websocket.close(1002, "no OCPP subprotocol in common")
            return
        identity = frames.identity_from_path(path)
        if self._only is not None and identity != self._only:
            self._refuse(Refusal(self._now(), path, offered, f"{identity!r} is not the charger under test "
                                                             f"({self._only!r})", listener.url))
            await websocket.close(1008, "not the charger under test")
            return
        remote = websocket.remote_address
        connection = ChargerConnection(identity, frames.version_of(websocket.subprotocol), websocket.subprotocol,
                                       f"{remote[0]}:{remote[1]}" if remote else "?", websocket, self._now(),
                                       listener=listener.url, profile=listener.profile)
        if listener.profile in (1, 2) and websocket.request is not None:
            connection.basic_auth_user = check_basic_auth(websocket.request.headers.get("Authorization"), identity,
                                                          connection.version, None).username
        ssl_object = websocket.transport.get_extra_info("ssl_object") if websocket.transport else None
        if ssl_object is not None:
            connection.tls = inspect_tls(ssl_object, identity, client_cert_expected=listener.profile == 3)
            if listener.profile == 3 and listener.bind_cn and connection.tls.client_subject_cn != identity:
                self._refuse(Refusal(self._now(), path, offered, "; ".join(connection.tls.problems), listener.url,
                                     connection.tls))
                await websocket.close(1008, "client certificate does not name this station")
                return
        with self._lock:
            self.connections[identity] = connection
            self.history.append(connection)
            self._lock.notify_all()
        try:
            async for message in websocket:
                text = message if isinstance(message, str) else message.decode("utf-8", errors="replace")
                self._busy += 1
                try:
                    await self._received(connection, text)
                finally:
                    self._busy -= 1
                    self._generation += 1
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                connection.closed_at = self._now()
                self._lock.notify_all()

    async def _received(self, connection: ChargerConnection, text: str) -> None:
        parsed = frames.parse(text, connection.version)
        if isinstance(parsed, Malformed):
            self._record(connection, "charger->rig", text, "MALFORMED", parsed.message_id, None, (parsed.reason,))
            if parsed.message_id is not None:
                await self._send(connection, frames.call_error(parsed.message_id, parsed.answer_code, parsed.reason))
            return
        if parsed.type_id == frames.CALL:
            assert parsed.action is not None
            broken = tuple(violations(connection.version, frames.CALL, parsed.action, parsed.payload))
            self._record(connection, "charger->rig", text, parsed.kind, parsed.message_id, parsed.action, broken)
            await self._send(connection, self._answer(connection, parsed))
            return
        if parsed.type_id == frames.SEND:  # OCPP 2.1: a message that gets no answer (NotifyPeriodicEventStream)
            assert parsed.action is not None
            broken = tuple(violations(connection.version, frames.CALL, parsed.action, parsed.payload))
            self._record(connection, "charger->rig", text, parsed.kind, parsed.message_id, parsed.action, broken)
            return
        with self._lock:
            action = connection.pending.pop(parsed.message_id, None)
        problems: tuple[str, ...] = ()
        if parsed.type_id == frames.CALLRESULT and action is not None:
            problems = tuple(violations(connection.version, frames.CALLRESULT, action, parsed.payload))
        elif action is None:
            problems = (f"a reply to no CALL the rig has outstanding (id {parsed.message_id!r})",)
        self._record(connection, "charger->rig", text, parsed.kind, parsed.message_id, action, problems)
        if action is not None:
            with self._lock:
                connection.replies[parsed.message_id] = parsed
                self._lock.notify_all()
        if connection.version == "2.1" and parsed.type_id == frames.CALLRESULT and action is not None and problems:
            # OCPP 2.1 part 4: an invalid CALLRESULT is answered with a CALLRESULTERROR (the ocpp package has none)
            await self._send(connection, frames.call_result_error(parsed.message_id, frames.format_error("2.1"),
                                                                  "; ".join(problems)[:255]))

    def _answer(self, connection: ChargerConnection, call: Frame) -> str:
        assert call.action is not None
        responder = self.responders.get(call.action)
        if responder is None:  # OCPP-J: an action the receiver does not know is NotImplemented, one it knows
            unknown = any("no such action" in v for v in violations(connection.version, frames.CALL, call.action, {}))
            code = "NotImplemented" if unknown else "NotSupported"  # but does not support is NotSupported
            return frames.call_error(call.message_id, code, f"the rig has no answer to {call.action}")
        reply = responder(call.payload)
        if isinstance(reply, CallError):
            return frames.call_error(call.message_id, reply.code, reply.description)
        return frames.call_result(call.message_id, reply)

    async def _send(self, connection: ChargerConnection, text: str) -> None:
        parsed = frames.parse(text, connection.version)
        kind = parsed.kind if isinstance(parsed, Frame) else "MALFORMED"
        message_id = parsed.message_id if isinstance(parsed, Frame) else None
        action = parsed.action if isinstance(parsed, Frame) else None
        self._record(connection, "rig->charger", text, kind, message_id, action, ())
        try:
            await connection.websocket.send(text)
        except ConnectionClosed:
            pass  # the charger left: its closing is recorded by its handler

    def _record(self, connection: ChargerConnection, direction: Literal["charger->rig", "rig->charger"], text: str,
                kind: str, message_id: str | None, action: str | None, problems: tuple[str, ...]) -> None:
        with self._lock:
            self.frames.append(RecordedFrame(self._now(), connection.identity, direction, text, kind, message_id,
                                             action, problems))
            self._lock.notify_all()

    # -- what procedures call -------------------------------------------------------------------------------

    def wait_for_charger(self, identity: str | None = None, *, timeout_s: float, poll_s: float = 0.01,
                         clock: Clock | None = None) -> ChargerConnection | None:
        """The charger (``identity``, or the first) once connected, within ``timeout_s`` of the rig's clock."""
        found: list[ChargerConnection] = []

        def connected() -> bool:
            with self._lock:
                candidates = [c for c in self.connections.values() if c.closed_at is None
                              and (identity is None or c.identity == identity)]
            found[:] = candidates[:1]
            return bool(candidates)

        wait_until(self._waiting_clock(clock), connected, timeout_s=timeout_s, poll_s=poll_s)
        return found[0] if found else None

    def send_raw(self, identity: str, text: str) -> None:
        """Send ``text`` to the charger as it is (a deliberately invalid frame, say); recorded like any frame. A
        text whose id can be read and that is no reply (a CALL, or a message type the version lacks) awaits its
        answer like any CALL, so the charger's answer (a CALLERROR, as the version says) is a reply, not a stray
        frame."""
        connection = self._connection(identity)
        type_id, message_id = frames.readable_id(text)
        if message_id is not None and type_id not in (frames.CALLRESULT, frames.CALLERROR, frames.CALLRESULTERROR):
            shape = json.loads(text)
            with self._lock:
                connection.pending[message_id] = shape[2] if len(shape) > 2 and isinstance(shape[2], str) \
                    and type_id == frames.CALL else "(raw)"
        self._run(self._send(connection, text))

    def call(self, identity: str, action: str, payload: dict[str, Any], *, timeout_s: float, poll_s: float = 0.01,
             clock: Clock | None = None) -> Frame | None:
        """Send a CALL and return the charger's reply (CALLRESULT or CALLERROR), or None if none came within
        ``timeout_s`` of the rig's clock (a late reply is still recorded when it comes)."""
        connection = self._connection(identity)
        message_id = f"rig-{next(self._ids)}"
        with self._lock:
            connection.pending[message_id] = action
        self._run(self._send(connection, frames.call(message_id, action, payload)))

        def answered() -> bool:
            with self._lock:
                return message_id in connection.replies

        wait_until(self._waiting_clock(clock), answered, timeout_s=timeout_s, poll_s=poll_s)
        with self._lock:
            reply = connection.replies.get(message_id)
        if (action == "ChangeConfiguration" and payload.get("key") == "AuthorizationKey" and reply is not None
                and reply.kind == "CALLRESULT" and reply.payload.get("status") == "Accepted"):
            self.passwords[identity] = str(payload.get("value"))  # the charger's password from now on
        if action == "SetVariables" and reply is not None and reply.kind == "CALLRESULT":  # 2.0.1: the same
            for asked, result in zip(payload.get("setVariableData", []), reply.payload.get("setVariableResult", [])):
                if (asked.get("component", {}).get("name"), asked.get("variable", {}).get("name")) == \
                        ("SecurityCtrlr", "BasicAuthPassword") and result.get("attributeStatus") == "Accepted":
                    self.passwords[identity] = str(asked.get("attributeValue"))
        return reply

    def frames_of(self, identity: str) -> list[RecordedFrame]:
        with self._lock:
            return [f for f in self.frames if f.identity == identity]

    def _connection(self, identity: str) -> ChargerConnection:
        with self._lock:
            connection = self.connections.get(identity)
        if connection is None or connection.closed_at is not None:
            raise InstrumentError(self.name, f"send to {identity!r}", "that charger is not connected")
        return connection

    def _run(self, coroutine: Any) -> Any:
        assert self._loop is not None, "the listener is not running"
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=START_TIMEOUT_S)

    def _waiting_clock(self, clock: Clock | None) -> Clock:
        chosen = clock or self._clock
        if chosen is None:
            raise InstrumentError(self.name, "wait", "no clock attached: waits go through the rig's clock")
        return chosen


def _why(err: BaseException) -> str:
    """An error's reason in a line: OpenSSL's (``TLSV1_ALERT_UNKNOWN_CA``, a failed verification's message), or
    the error's own text."""
    if isinstance(err, ssl.SSLError):
        verify = getattr(err, "verify_message", None)
        return f"{err.reason or err}" + (f" ({verify})" if verify else "")
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text.split(". See ")[0]  # cryptography appends an FAQ link
