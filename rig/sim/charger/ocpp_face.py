"""The simulated charger's OCPP face: a real OCPP-J client to the rig's CSMS, its timers on the lab clock.

First slice (OCPP 1.6J): it boots when its AC supply comes on (the grid
simulator's output) and the lab has been told where the rig's central system
listens (``SimulatedLab.attach_ocpp``): it connects ``connect_after_s`` later,
sends its BootNotification, retries after Pending or Rejected at the interval
the answer gives, and once Accepted reports each connector Available
(StatusNotification) and sends a Heartbeat every interval. Losing its supply
drops the connection at once, as a power cut does. One CALL is outstanding
at a time (OCPP-J); the next waits for its answer. A CALL from the central
system it has no behaviour for is answered NotSupported (1.6 knows the
action) or NotImplemented (it does not). Every behaviour a case judges is a
profile parameter (``ocpp:`` in a DUT profile), defects included.

Virtual time: its frames go out at lab instants, and the model is held at
the instant (``LabModel.hold``) so the rig answers there; the rig's answers
are drained before time moves (``drain``), so a day of heartbeats costs the
exchanges, not the day.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import count

from pydantic import BaseModel, ConfigDict, Field

from rig.protocols.ocpp import frames
from rig.protocols.ocpp.frames import Frame, Malformed
from rig.protocols.ocpp.schemas import violations
from rig.sim.wire.ws_client import HandshakeRefused, WsClient


class OcppSettings(BaseModel):
    """``ocpp:`` in a DUT profile: how the simulated charger speaks OCPP."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    version: str = Field("1.6", pattern=r"^1\.6$", description="The OCPP version it speaks (1.6 in this slice).")
    identity: str = Field("SIM-0001", min_length=1, description="Its charge point identity (the URL's last segment).")
    vendor: str = Field("v2g-rig", max_length=255, description="chargePointVendor (1.6: CiString20; longer breaks "
                                                               "the schema, a defect the rig must see).")
    model: str = Field("SIM-V2G-7K4", max_length=255, description="chargePointModel (1.6: CiString20).")
    connect_after_s: float = Field(1.0, ge=0, description="From being told the CSMS's address to its first connect.")
    boot_retry_s: float = Field(60.0, gt=0, description="Retry interval when an answer gives none (interval 0).")
    reconnect_after_s: float = Field(30.0, gt=0, description="Before it tries again after a refused connection.")
    connectors: int = Field(1, ge=1, le=8, description="Connectors it reports (StatusNotification 0..n).")
    heartbeat_override_s: float | None = Field(None, gt=0, description="DEFECT: beats at this interval whatever "
                                                                      "the central system said.")
    retry_ignores_interval: bool = Field(False, description="DEFECT: retries a Pending or Rejected boot after "
                                                            "boot_retry_s, not the interval the answer gave.")


class OcppFace:
    """The charger's OCPP client: a registered event source of the lab model (its timers), drained and flushed
    by the lab around every advance."""

    def __init__(self, settings: OcppSettings, now: Callable[[], float], hold: Callable[[], None]) -> None:
        self.settings = settings
        self._now, self._hold = now, hold
        self.url: str | None = None
        self.client: WsClient | None = None
        self.state = "idle"
        """idle, connecting, booting, accepted, closed."""
        self._ids = count(1)
        self._pending: dict[str, str] = {}
        self._queue: list[tuple[str, dict]] = []
        """CALLs waiting for the outstanding one's answer (one at a time, OCPP-J)."""
        self.powered = False
        self._connect_at: float | None = None
        self._boot_at: float | None = None
        self._heartbeat_at: float | None = None
        self.heartbeat_interval_s: float | None = None
        self.problems: list[str] = []
        """What the rig sent that this charger found wrong (for the tests; a real charger would log it)."""

    # -- the lab's side ----------------------------------------------------------------------------------

    def attach(self, url: str) -> None:
        """Where the rig's central system listens; a powered charger connects ``connect_after_s`` later."""
        self.url = url.rstrip("/") + "/" + self.settings.identity
        if self.powered:
            self._connect_at = self._now() + self.settings.connect_after_s

    def power(self, t: float, on: bool) -> None:
        """Its AC supply came on (it boots, then connects) or went (the connection drops, timers stop)."""
        if on == self.powered:
            return
        self.powered = on
        if on:
            if self.url is not None:
                self._connect_at = t + self.settings.connect_after_s
            return
        self._connect_at = self._boot_at = self._heartbeat_at = None
        self._pending.clear()
        self._queue.clear()
        self.state = "idle"
        if self.client is not None:
            self.client.close()
            self.client = None
            self._hold()  # the rig sees the connection drop at this instant

    def next_event_time(self) -> float | None:
        due = [t for t in (self._connect_at, self._boot_at, self._heartbeat_at) if t is not None]
        return min(due) if due else None

    def run_to(self, t: float) -> None:
        if self._connect_at is not None and self._connect_at <= t + 1e-9:
            self._connect_at = None
            self._connect()
        if self._boot_at is not None and self._boot_at <= t + 1e-9:
            self._boot_at = None
            self._boot()
        if self._heartbeat_at is not None and self._heartbeat_at <= t + 1e-9:
            interval = self.heartbeat_interval_s
            self._heartbeat_at = t + interval if interval else None  # every interval, answered or not
            self._call("Heartbeat", {})

    def drain(self) -> None:
        """Handle, at the lab's current instant, every frame the rig has sent."""
        if self.client is None:
            return
        received = self.client.drain()
        for text in received.texts:
            self._handle(text)
        if received.closed_code is not None or self.client.closed:
            self.state = "closed"
            self._heartbeat_at = self._boot_at = None

    def flush(self) -> None:
        if self.client is not None:
            self.client.flush()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    # -- its behaviour -------------------------------------------------------------------------------------

    def _connect(self) -> None:
        assert self.url is not None
        self.client = WsClient(self.url, [frames.SUBPROTOCOL["1.6"]])
        self.state = "connecting"
        try:
            chosen = self.client.open()
        except (HandshakeRefused, OSError) as err:
            self.problems.append(f"connection refused: {err}")
            self.client.close()
            self.client = None
            self._connect_at = self._now() + self.settings.reconnect_after_s
            return
        if chosen is None:
            self.problems.append("the CSMS accepted no OCPP 1.6")
            return
        self._hold()  # the rig registers the connection at this instant
        self._boot()

    def _boot(self) -> None:
        self.state = "booting"
        self._call("BootNotification", {"chargePointVendor": self.settings.vendor,
                                        "chargePointModel": self.settings.model})

    def _call(self, action: str, payload: dict) -> None:
        self._queue.append((action, payload))
        self._pump()

    def _pump(self) -> None:
        """Send the next queued CALL when none is outstanding."""
        if self._pending or not self._queue or self.client is None or self.client.closed:
            return
        action, payload = self._queue.pop(0)
        message_id = f"{self.settings.identity}-{next(self._ids)}"
        self._pending[message_id] = action
        self.client.send(frames.call(message_id, action, payload))
        self._hold()

    def _handle(self, text: str) -> None:
        parsed = frames.parse(text, "1.6")
        if isinstance(parsed, Malformed):
            self.problems.append(f"malformed frame from the CSMS: {parsed.reason}")
            if parsed.message_id is not None:
                self._reply(frames.call_error(parsed.message_id, parsed.answer_code, parsed.reason))
            return
        if parsed.type_id == frames.CALL:
            self._answer(parsed)
            return
        action = self._pending.pop(parsed.message_id, None)
        if action is None:
            self.problems.append(f"a reply to no CALL of ours ({parsed.message_id})")
            return
        if parsed.type_id == frames.CALLRESULT:
            self.problems += [f"{action} reply: {v}" for v in violations("1.6", frames.CALLRESULT, action,
                                                                          parsed.payload)]
            if action == "BootNotification":
                self._booted(parsed)
        self._pump()

    def _booted(self, reply: Frame) -> None:
        status = reply.payload.get("status")
        interval = reply.payload.get("interval") or 0
        if status == "Accepted":
            self.state = "accepted"
            given = float(interval) if interval else None
            self.heartbeat_interval_s = self.settings.heartbeat_override_s or given
            for connector in range(self.settings.connectors + 1):
                self._call("StatusNotification", {"connectorId": connector, "errorCode": "NoError",
                                                  "status": "Available"})
            if self.heartbeat_interval_s:
                self._heartbeat_at = self._now() + self.heartbeat_interval_s
        else:  # Pending or Rejected: boot again after the interval it was given (or its own)
            wait = self.settings.boot_retry_s if (self.settings.retry_ignores_interval or not interval) \
                else float(interval)
            self._boot_at = self._now() + wait

    def _answer(self, call: Frame) -> None:
        assert call.action is not None
        unknown = any("no such action" in v for v in violations("1.6", frames.CALL, call.action, {}))
        code = "NotImplemented" if unknown else "NotSupported"
        self._reply(frames.call_error(call.message_id, code, f"the simulated charger has no {call.action}"))

    def _reply(self, text: str) -> None:
        if self.client is not None and not self.client.closed:
            self.client.send(text)
            self._hold()
