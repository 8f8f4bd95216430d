"""The simulated charger's OCPP face: a real OCPP-J 1.6 client to the rig's CSMS, its timers on the lab clock.

It boots when its AC supply comes on (the grid simulator's output) and the
lab has been told where the rig's central system listens
(``SimulatedLab.attach_ocpp``): it connects ``connect_after_s`` later, sends
its BootNotification, retries after Pending or Rejected at the interval the
answer gives, and once Accepted reports each connector (StatusNotification)
and beats at its HeartbeatInterval. Losing its supply drops the connection
at once, as a power cut does. One CALL is outstanding at a time (OCPP-J).

One device with its other faces: the vehicle plug is connector 1 (the
CHAdeMO proximity line the rig's vehicle emulator drives), a transaction
is what lets its CHAdeMO controller move energy (``permits_energy``), and
its meter is the energy its DC port really moved (``Physical.energy_wh``).
What the central system asks of it (ocpp16_station) and its configuration
(ocpp16_config) are separate modules; every behaviour a case judges is a
profile field (ocpp_settings), defects included.

Virtual time: its frames go out at lab instants, and the model is held at
the instant (``LabModel.hold``) so the rig answers there; the rig's answers
are drained before time moves (``drain``), so a day of heartbeats costs the
exchanges, not the day.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any, Protocol

from rig.protocols.ocpp import frames
from rig.protocols.ocpp.datetimes import text_of
from rig.protocols.ocpp.frames import Frame, Malformed
from rig.protocols.ocpp.schemas import violations
from rig.protocols.ocpp.security import client_context
from rig.sim.charger.ocpp16_station import Station
from rig.sim.charger.ocpp201_station import Station201
from rig.sim.charger.ocpp21_station import Station21

STATIONS: dict[str, type] = {"1.6": Station, "2.0.1": Station201, "2.1": Station21}
"""The charge point behaviour of each OCPP version it can speak (``OcppSettings.versions``)."""
from rig.sim.charger.ocpp_settings import OcppSettings
from rig.sim.wire.ws_client import HandshakeRefused, WsClient

ANSWER_TIMEOUT_S = 30.0
"""How long it waits for the central system's answer before it gives the CALL up and sends the next."""

__all__ = ["OcppFace", "OcppSettings", "Physical", "TlsMaterial"]


@dataclass(frozen=True)
class TlsMaterial:
    """What a charger is given for wss:// (files): the CA it trusts for the central system (its
    CentralSystemRootCertificate) and, for profile 3, its own certificate and key."""

    trust_anchor: Path | None = None
    certificate: Path | None = None
    key: Path | None = None


class Physical(Protocol):
    """What the face reads of (and tells) the rest of the charger."""

    def energy_wh(self, t: float) -> float: ...

    def energy_moved_wh(self, t: float) -> tuple[float, float]:
        """Energy into the vehicle and out of it (Wh, each >= 0): a bidirectional meter's two registers."""
        ...

    def grid_frequency_hz(self, t: float) -> float:
        """The frequency at its AC terminals, as its own measurement sees it."""
        ...

    def external_setpoint_w(self) -> float | None:
        """The active power setpoint an external system gave it (W, positive charging), None when none."""
        ...

    def dc_current_a(self) -> float: ...

    def dc_voltage_v(self) -> float: ...

    def plugged(self) -> bool: ...

    def permit_changed(self, t: float) -> None: ...


class OcppFace:
    """The charger's OCPP client: a registered event source of the lab model (its timers), drained and flushed
    by the lab around every advance."""

    def __init__(self, settings: OcppSettings, now: Callable[[], float], hold: Callable[[], None],
                 physical: Physical | None = None) -> None:
        self.settings = settings
        self._now, self._hold = now, hold
        self.url: str | None = None
        """The central system's address it was last given (with its identity)."""
        self.addresses: dict[str, str] = {}
        """Its configured central system address per scheme: it dials wss:// at security profile 2 or 3,
        ws:// below (the scheme follows the profile; a bench engineer configures the host and port)."""
        self.material = TlsMaterial()
        self._commissioned: tuple[int, str | None] | None = None
        """The security profile and password its configuration tool last set (every version's station)."""
        self.epoch_s = 0.0
        """Seconds since 1970 at lab time 0: its own clock, for the timestamps it sends."""
        self.client: WsClient | None = None
        self.state = "idle"
        """idle, connecting, booting, accepted, closed."""
        self._ids = count(1)
        self._pending: dict[str, tuple[str, dict]] = {}
        self._queue: list[tuple[str, dict]] = []
        """CALLs waiting for the outstanding one's answer (one at a time, OCPP-J)."""
        self.powered = False
        self.timers: dict[str, float] = {}
        """Named lab instants it acts at (connect, boot, heartbeat, answer, and the station's)."""
        self.heartbeat_interval_s: float | None = None
        self._registered = False
        """Accepted since its last boot: a lost connection comes back without a new BootNotification."""
        self.problems: list[str] = []
        """What the rig sent that this charger found wrong (for the tests; a real charger would log it)."""
        self._seen_ids: set[str] = set()
        """The message ids of the CSMS's CALLs on this connection."""
        self.physical = physical
        self.version: frames.Version = settings.versions[0]  # type: ignore[assignment]
        """The version of its connection (until one is chosen: the first it offers)."""
        self._stations: dict[str, Any] = {}
        self._attempts = 0
        """Connection attempts since its link was lost (2.1: each waits longer, ``reconnect_wait_s``)."""
        self.station = self._station_for(self.version)
        """What it does as a charge point of its version (``ocpp16_station``; 2.0.1 adds its own)."""

    # -- the lab's side ----------------------------------------------------------------------------------

    def attach(self, url: str, epoch_s: float = 0.0, material: TlsMaterial | None = None) -> None:
        """Where the rig's central system listens (and what it needs for wss://); a powered charger that is not
        connected connects ``connect_after_s`` later."""
        self.configure(url)
        self.epoch_s = epoch_s
        if material is not None:
            self.material = material
        if self.powered and self.client is None:
            self.timers["connect"] = self._now() + self.settings.connect_after_s

    def configure(self, url: str, profile: int | None = None, password: str | None = None) -> None:
        """Its configuration tool (a person at the charger, the test case's precondition): the central system's
        address for the scheme of ``url``; with ``profile`` its security profile and ``password`` its basic-auth
        password, set directly (lowering a profile is done this way, never over OCPP: A00.FR.005). Applied at
        its next connection."""
        self.url = url.rstrip("/") + "/" + self.settings.identity
        self.addresses[self.url.split(":", 1)[0]] = self.url
        if profile is not None:
            kept = self._commissioned[1] if self._commissioned else self.settings.password
            self._commissioned = (profile, password if password is not None else kept)
            for station in self._stations.values():
                self._commission(station)

    def _commission(self, station: Any) -> None:
        commission = getattr(station, "commission", None)
        if commission is not None and self._commissioned is not None:
            commission(*self._commissioned)

    def security(self) -> tuple[int, str | None]:
        """Its security profile and basic-auth password now: one network configuration whatever version it
        speaks, kept by the station of a version that has one (1.6: SecurityProfile, AuthorizationKey)."""
        for station in (self.station, *self._stations.values()):
            security = getattr(station, "security", None)
            if security is not None:
                return security()
        return self._commissioned or (self.settings.security_profile, self.settings.password)

    def reconnect(self) -> None:
        """Close the connection and connect again ``connect_after_s`` later with what it is configured with now
        (a new password or security profile takes effect this way); not a reboot: no new BootNotification."""
        self.timers.pop("answer", None)
        self._pending.clear()
        if self.client is not None:
            self.client.close()
            self.client = None
            self._hold()  # the rig sees the connection drop at this instant
        self.state = "idle"
        if self.powered and self.url is not None:
            self.timers["connect"] = self._now() + self.settings.connect_after_s

    def power(self, t: float, on: bool) -> None:
        """Its AC supply came on (it boots, then connects) or went (the connection drops, timers stop)."""
        if on == self.powered:
            return
        self.powered = on
        if on:
            if self.url is not None:
                self.timers["connect"] = t + self.settings.connect_after_s
            return
        self.station.power_lost(t)
        self._drop()

    def _station_for(self, version: str) -> Any:
        if version not in self._stations:
            self._stations[version] = STATIONS[version](self, self.physical)
            self._commission(self._stations[version])
        return self._stations[version]

    def plugged(self, t: float, on: bool) -> None:
        """The vehicle's plug (the CHAdeMO proximity line) went in or out."""
        self.station.plugged(t, on)

    def present_card(self, id_tag: str) -> None:
        """Someone shows an idTag at its reader."""
        self.station.present_card(id_tag)

    def permits_energy(self) -> bool:
        return self.station.permits_energy()

    def limit_a(self, t: float) -> float | None:
        """The cap its OCPP smart charging puts on its DC output current (A) now, or None."""
        limit = getattr(self.station, "limit_a", None)
        if limit is None or self.settings.output_ignores_charging_limit:
            return None
        return limit(t)

    def v2x_target_w(self, t: float) -> float | None:
        """The grid-side power (W) its OCPP 2.1 V2X control aims at now, or None (no V2X control: the vehicle's
        request and ``limit_a`` rule)."""
        target = getattr(self.station, "v2x_target_w", None)
        return None if target is None else target(t)

    def reboot(self, t: float) -> None:
        """A Reset: the connection closes now and it is up again ``reboot_s`` later (its supply stays on)."""
        self._drop()
        if self.powered and self.url is not None:
            self.timers["connect"] = t + self.settings.reboot_s + self.settings.connect_after_s

    def _drop(self) -> None:
        self._registered = False
        self.station.permit_may_have_changed()
        self.timers.clear()
        self._pending.clear()
        self._queue.clear()
        self.state = "idle"
        if self.client is not None:
            self.client.close()
            self.client = None
            self._hold()  # the rig sees the connection drop at this instant

    def next_event_time(self) -> float | None:
        return min(self.timers.values()) if self.timers else None

    def run_to(self, t: float) -> None:
        for name, due in sorted(self.timers.items(), key=lambda item: item[1]):
            if due <= t + 1e-9 and self.timers.get(name) == due:
                del self.timers[name]
                self._fire(name, t)

    def _fire(self, name: str, t: float) -> None:
        if name == "connect":
            self._connect()
        elif name == "boot":
            self._boot()
        elif name == "heartbeat":
            if self.heartbeat_interval_s:  # every interval, answered or not
                self.timers["heartbeat"] = t + self.heartbeat_interval_s
            self.call("Heartbeat", {})
        elif name == "answer":
            self._give_up_waiting()
        elif name == "drop":
            self._drop_connection()
        else:
            self.station.timer(name, t)

    def drain(self) -> None:
        """Handle, at the lab's current instant, every frame the rig has sent."""
        if self.client is None:
            return
        received = self.client.drain()
        for text in received.texts:
            self._handle(text)
        if self.client is None:
            return  # it closed the connection itself on what it handled (a reconnect)
        if received.closed_code is not None or self.client.closed:
            self.state = "closed"
            self._lost()

    def flush(self) -> None:
        if self.client is not None:
            self.client.flush()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    def now_text(self, t: float | None = None) -> str:
        """Its own clock as OCPP's dateTime."""
        return text_of(self.epoch_s + (self._now() if t is None else t))

    def now(self) -> float:
        return self._now()

    def inlet_volts(self) -> float:
        """The inlet voltage a smart-charging limit in W is turned into amperes at (its rating's when nothing is
        connected)."""
        volts = self.physical.dc_voltage_v() if self.physical is not None else 0.0
        return volts if volts > 50.0 else self.settings.nominal_dc_voltage_v

    # -- its connection ------------------------------------------------------------------------------------

    def _connect(self) -> None:
        assert self.url is not None
        profile, password = self.security()
        scheme = "wss" if profile >= 2 else "ws"
        url = self.addresses.get(scheme)
        try:
            if url is None:
                raise ValueError(f"no {scheme}:// address of the central system for security profile {profile}")
            self.client = WsClient(url, [frames.SUBPROTOCOL[v] for v in self.settings.versions],  # type: ignore
                                   basic_auth=(self.settings.identity, password or "") if profile in (1, 2) else None,
                                   tls=self._tls(profile) if profile >= 2 else None)
        except (ValueError, OSError) as err:  # not configured for its profile: it cannot connect, tries later
            self.problems.append(f"cannot connect: {err}")
            self.timers["connect"] = self._now() + self.settings.reconnect_after_s
            return
        self.state = "connecting"
        try:
            chosen = self.client.open()
        except (HandshakeRefused, OSError) as err:
            self.problems.append(f"connection refused: {err}")
            self.client.close()
            self.client = None
            self.timers["connect"] = self._now() + self._reconnect_wait_s()
            refused = getattr(self.station, "connection_refused", None)
            if refused is not None:  # a version that reports it (2.0.1: a security event)
                refused(str(err))
            return
        if chosen is None:
            self.problems.append(f"the CSMS accepted none of OCPP {', '.join(self.settings.versions)}")
            return
        version = frames.version_of(chosen)
        if version != self.version:  # another version than last time: a fresh boot in that version
            self.version, self._registered = version, False
            self.station = self._station_for(version)
        self._hold()  # the rig registers the connection at this instant
        self._seen_ids.clear()
        self._attempts = 0
        if not self._registered:
            self._boot()
            return
        self.state = "accepted"  # back from a lost connection: what it queued meanwhile goes now
        if self.settings.loses_queue_on_link_loss:  # DEFECT: what it queued offline is gone
            self._queue.clear()
        if self.settings.restamps_queued_messages:  # DEFECT: stamped as sent, not as taken
            self._queue = [(action, {**payload, "timestamp": self.now_text()} if "timestamp" in payload else payload)
                           for action, payload in self._queue]
        self._link(True)
        if self.heartbeat_interval_s:
            self.timers["heartbeat"] = self._now() + self.heartbeat_interval_s
        self._pump()

    def _tls(self, profile: int) -> ssl.SSLContext:
        """Its TLS: the operator CA it was given as trust anchor, its certificate at profile 3, TLS 1.2 or later
        (``rig.protocols.ocpp.security.client_context``), unless a DEFECT says otherwise."""
        s, material = self.settings, self.material
        maximum = None
        if s.max_tls_version is not None:
            maximum = ssl.TLSVersion.TLSv1_1 if s.max_tls_version == "1.1" else ssl.TLSVersion.TLSv1
        return client_context(material.trust_anchor, cert=material.certificate if profile == 3 else None,
                              key=material.key if profile == 3 else None,
                              verify=not s.accepts_any_server_certificate, maximum=maximum)

    def _drop_connection(self) -> None:
        """FAULT: its connection dies under it (a network fault, a firmware crash of the OCPP task): the socket
        closed without a closing handshake; it reconnects as after any loss."""
        if self.client is not None:
            self.client.close()
            self.client = None
            self._hold()
        self.state = "closed"
        self._lost()

    def _lost(self) -> None:
        """The rig closed the connection: it tries again later, its transactions go on offline. The CALL left
        unanswered goes again first when the link returns (what it queued keeps its order and its timestamps),
        unless a DEFECT drops them all when the link returns; a Heartbeat or BootNotification is not kept (a new one follows)."""
        for name in ("heartbeat", "boot", "answer"):
            self.timers.pop(name, None)
        unanswered = [call for call in self._pending.values() if call[0] not in ("Heartbeat", "BootNotification")]
        self._pending.clear()
        self._queue[:0] = unanswered
        if self.client is not None:
            self.client.close()
            self.client = None
        self._attempts = 0
        if self.powered and self.url is not None:
            self.timers["connect"] = self._now() + self._reconnect_wait_s()
        self._link(False)

    def _reconnect_wait_s(self) -> float:
        """How long it waits before its next connection attempt: its version's back-off where it has one (2.1,
        ``reconnect_wait_s``), else ``reconnect_after_s``."""
        self._attempts += 1
        wait = getattr(self.station, "reconnect_wait_s", None)
        return self.settings.reconnect_after_s if wait is None else wait(self._attempts)

    def _link(self, online: bool) -> None:
        changed = getattr(self.station, "link_changed", None)
        if changed is not None:
            changed(online)

    def _boot(self) -> None:
        self.state = "booting"
        self._send_call("BootNotification", self.station.boot_payload())

    @property
    def registered(self) -> bool:
        """A central system has accepted it since it last powered up or rebooted."""
        return self._registered

    @property
    def online(self) -> bool:
        """Connected and accepted by a central system."""
        return self.state == "accepted" and self.client is not None and not self.client.closed

    def call(self, action: str, payload: dict) -> None:
        """Queue a CALL; it goes once none is outstanding and the central system has accepted the boot (a
        charger sends nothing but BootNotification before, OCPP 1.6 4.2)."""
        self._queue.append((action, payload))
        self._pump()

    def _pump(self) -> None:
        if self._pending or not self._queue or not self.online:
            return
        action, payload = self._queue.pop(0)
        self._send_call(action, payload)

    def _send_call(self, action: str, payload: dict) -> None:
        if self.client is None or self.client.closed:
            return
        message_id = f"{self.settings.identity}-{next(self._ids)}"
        self._pending[message_id] = (action, payload)
        self.client.send(frames.call(message_id, action, payload))
        self.timers["answer"] = self._now() + ANSWER_TIMEOUT_S
        self._hold()

    def _give_up_waiting(self) -> None:
        for message_id, (action, _) in list(self._pending.items()):
            self.problems.append(f"no answer to {action} ({message_id}) in {ANSWER_TIMEOUT_S:g} s")
            self.station.unanswered(action)
        self._pending.clear()
        self._pump()

    # -- what the central system sends -----------------------------------------------------------------------

    def _handle(self, text: str) -> None:
        parsed = frames.parse(text, self.version)
        if isinstance(parsed, Malformed):
            self.problems.append(f"malformed frame from the CSMS: {parsed.reason}")
            if parsed.message_id is not None:
                code = parsed.answer_code
                if code == "MessageTypeNotSupported":
                    code = self.settings.message_type_error
                self.reply(frames.call_error(parsed.message_id, code, parsed.reason))
            return
        if parsed.type_id == frames.CALL:
            self._answer(parsed)
            return
        sent = self._pending.pop(parsed.message_id, None)
        if sent is None:
            self.problems.append(f"a reply to no CALL of ours ({parsed.message_id})")
            return
        self.timers.pop("answer", None)
        action, payload = sent
        if parsed.type_id == frames.CALLRESULT:
            self.problems += [f"{action} reply: {v}" for v in violations(self.version, frames.CALLRESULT, action,
                                                                          parsed.payload)]
            if action == "BootNotification":
                self._booted(parsed)
            else:
                self.station.answered(action, payload, parsed.payload)
        else:  # a CALLERROR: the central system's business (a real charger logs it)
            self.station.unanswered(action)
        self._pump()

    def _booted(self, reply: Frame) -> None:
        status = reply.payload.get("status")
        interval = reply.payload.get("interval") or 0
        if status == "Accepted":
            self.state = "accepted"
            self._registered = True
            self._link(True)
            self.station.permit_may_have_changed()
            given = float(interval) if interval else None
            self.heartbeat_interval_s = self.settings.heartbeat_override_s or given
            if given:
                self.station.heartbeat_interval_given(int(given))
            self.station.accepted()
            if self.heartbeat_interval_s:
                self.timers["heartbeat"] = self._now() + self.heartbeat_interval_s
            if self.settings.drops_connection_after_s is not None:
                self.timers["drop"] = self._now() + self.settings.drops_connection_after_s
            for _ in range(self.settings.floods_heartbeats):  # FAULT: all at once, none waiting for its answer
                self._send_call("Heartbeat", {})
            return
        self.state = "booting"
        if status == "Rejected" and self.settings.gives_up_after_rejected:
            return
        wait = self.settings.boot_retry_s if (self.settings.retry_ignores_interval or not interval) \
            else float(interval)
        self.timers["boot"] = self._now() + wait

    def heartbeat_changed(self, interval_s: int) -> None:
        """ChangeConfiguration HeartbeatInterval: the next beat one new interval from now."""
        self.heartbeat_interval_s = self.settings.heartbeat_override_s or (float(interval_s) or None)
        self.timers.pop("heartbeat", None)
        if self.heartbeat_interval_s and self.online:
            self.timers["heartbeat"] = self._now() + self.heartbeat_interval_s

    def _answer(self, call: Frame) -> None:
        assert call.action is not None
        if call.message_id in self._seen_ids and self.settings.drops_repeated_message_id:
            return
        self._seen_ids.add(call.message_id)
        found = violations(self.version, frames.CALL, call.action, call.payload)
        if any("no such action" in v for v in found):
            self.reply(frames.call_error(call.message_id, self.settings.unknown_action_error,
                                         f"OCPP {self.version} has no {call.action}"))
            return
        if found:
            self.reply(frames.call_error(call.message_id, payload_error(found, self.version), "; ".join(found)))
            return
        result = self.station.handle(call.action, call.payload)
        if result is None:
            self.reply(frames.call_error(call.message_id, "NotSupported", f"this charger does no {call.action}"))
            return
        answer, after = result
        self.reply(frames.call_result(call.message_id, answer))
        if after is not None:
            after()

    def reply(self, text: str) -> None:
        if self.client is not None and not self.client.closed:
            self.client.send(text)
            self._hold()


def payload_error(found: list[str], version: frames.Version = "1.6") -> str:
    """The OCPP-J CALLERROR for a payload that breaks its schema (1.6 table 7, 2.0.1 part 4 table 14): a
    required field missing is an occurrence violation (1.6 spells it Occurence, 2.0.1 Occurrence), a wrong type
    a type violation, a bad value a property violation, anything else a format violation."""
    text = " ".join(found)
    if "is a required property" in text:
        return "OccurenceConstraintViolation" if version == "1.6" else "OccurrenceConstraintViolation"
    if "is not of type" in text:
        return "TypeConstraintViolation"
    if "is not one of" in text or "is too long" in text or "does not match" in text:
        return "PropertyConstraintViolation"
    return frames.format_error(version)
