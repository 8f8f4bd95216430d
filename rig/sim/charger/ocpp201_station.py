"""What the simulated charger does as an OCPP 2.0.1 charging station: EVSEs, authorisation, transactions as
TransactionEvent, meter values, availability, and its answers to what the CSMS asks (OCPP 2.0.1 part 2, blocks
B, C, E, F, G, J).

Each EVSE has one connector (connector 1); EVSE 1 is the vehicle plug (the
CHAdeMO proximity line). A transaction starts when a condition of
TxCtrlr.TxStartPoint becomes true and ends when one of TxCtrlr.TxStopPoint
that held stops holding (E01, E06; defaults EVConnected,Authorized); its
CHAdeMO controller may move energy while the EV is connected and authorised
(``permits_energy``), and the meter it reports is the energy its DC port
moved (``Physical.energy_wh``, times ``meter_gain``). The device model
(``ocpp201_variables``) is separate; the face (``ocpp_face``) carries the
frames.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rig.sim.charger.ocpp201_smart_charging import SmartCharging201
from rig.sim.charger.ocpp201_security import Security201
from rig.sim.charger.ocpp201_variables import DeviceModel, standard_variables

if TYPE_CHECKING:
    from rig.sim.charger.ocpp_face import OcppFace, Physical

STOP_BEFORE_REBOOT_S = 2.0
"""A Reset: how long after its answer it closes the connection (its TransactionEvent Ended goes first)."""

Answer = tuple[dict[str, Any], Callable[[], None] | None]
"""A CALLRESULT payload, and what it does once that answer is sent."""

UNITS = {"Energy.Active.Import.Register": "Wh", "Energy.Active.Export.Register": "Wh", "Power.Active.Import": "W",
         "Power.Active.Export": "W", "Current.Import": "A", "Current.Export": "A", "Voltage": "V", "SoC": "Percent"}


@dataclass
class Transaction:
    id: str
    seq: int = 0
    held: set[str] = field(default_factory=set)
    """The TxStopPoint conditions that have held during it (one that never held cannot stop it)."""
    reported_state: str | None = None
    reported_token: str | None = None
    remote_start_id: int | None = None
    remote_reported: bool = False
    last_sample_wh: float = 0.0
    started_wall: float = 0.0
    """When it started, on the station's clock (a Relative charging profile counts from here)."""


@dataclass
class Evse:
    id: int
    connected: bool = False
    token: dict[str, Any] | None = None
    """The idToken authorising its current (or next) transaction."""
    remote_start_id: int | None = None
    tx: Transaction | None = None
    conditions: set[str] = field(default_factory=set)
    operative: bool = True
    connector_operative: bool = True
    resetting: bool = False
    reset_when_idle: bool = False
    status: str | None = None


@dataclass
class LostTransaction:
    evse: int
    tx: Transaction
    at: str
    meter_wh: float


class Station201:
    """One charging station's OCPP 2.0.1 state, driven by the face and by its physical inputs."""

    def __init__(self, face: OcppFace, physical: Physical | None) -> None:
        s = face.settings
        self.face, self.physical, self.s = face, physical, s
        self.dm = DeviceModel(standard_variables(s.connectors, s.vendor, s.model, s.identity), s.variables,
                              readonly_set_accepted=s.readonly_set_accepted,
                              unknown_component_accepted=s.unknown_component_accepted)
        self.evses = {n: Evse(n) for n in range(1, s.connectors + 1)}
        self.operative = True
        self.cache: dict[str, str] = {}
        """The authorisation cache: idToken -> the last status the CSMS gave (C10)."""
        self._awaiting: dict[str, tuple[int, int | None]] = {}
        """Authorize requests out for a remote start: idToken -> (evse, remoteStartId)."""
        self._lost: list[LostTransaction] = []
        self._boot_reason = "PowerUp"
        self._reset_when_idle = False
        self._tx_count = 0
        self.smart = SmartCharging201(self)
        """Its charging profiles (block K, ``ocpp201_smart_charging``)."""
        self.sec = Security201(self)
        """Its network profiles, password, certificate and security events (block A, ``ocpp201_security``)."""
        self._live_availability()

    # -- what the face asks of its version ------------------------------------------------------------------

    def boot_payload(self) -> dict[str, Any]:
        return {"reason": self._boot_reason, "chargingStation": {"model": self.s.model, "vendorName": self.s.vendor}}

    def security(self) -> tuple[int, str | None]:
        """Its security profile and BasicAuthPassword now (its network profile in use, ``ocpp201_security``)."""
        return self.sec.security()

    def commission(self, profile: int, password: str | None) -> None:
        """Set by its configuration tool, not over OCPP (the only way down: A00.FR.005)."""
        self.sec.commission(profile, password)

    def connection_refused(self, reason: str) -> None:
        """Its connection attempt was broken off: a TLS matter is a security event (A00.FR.309/310, 315)."""
        self.sec.connection_refused(reason)

    def heartbeat_interval_given(self, interval_s: int) -> None:
        """The CSMS's accepted boot gave this interval: OCPPCommCtrlr.HeartbeatInterval says so from now."""
        self.dm.set("OCPPCommCtrlr", "HeartbeatInterval", str(interval_s))

    def accepted(self) -> None:
        """Its boot was accepted: each connector's status, then what a power cut left unreported (E.FR: the
        transaction ended by the cut, stoppedReason PowerLoss)."""
        self._boot_reason = "PowerUp"
        for evse in self.evses.values():
            self._report(evse, force=True)
        for lost in self._lost:
            payload = self._tx_payload(lost.tx, lost.evse, "Ended", "AbnormalCondition", lost.at)
            payload["transactionInfo"]["stoppedReason"] = "PowerLoss"
            payload["meterValue"] = [self._meter_value(lost.at, "Transaction.End", ["Energy.Active.Import.Register"],
                                                       {"Energy.Active.Import.Register": lost.meter_wh})]
            self.face.call("TransactionEvent", payload)
        self._lost.clear()
        self._schedule_aligned(self.face.now())

    def power_lost(self, t: float) -> None:
        """A power cut: its transactions end with it (reported once it is back), its availability survives
        (G03, G04: persistent) unless the defect forgets it."""
        for evse in self.evses.values():
            if evse.tx is not None:
                self._lost.append(LostTransaction(evse.id, evse.tx, self.face.now_text(t), self.meter_wh(t)))
                self.smart.transaction_ended(evse)
            evse.tx, evse.token, evse.remote_start_id, evse.resetting = None, None, None, False
            evse.conditions = {"EVConnected"} if evse.connected else set()
            evse.status = None
        self._forget_availability_if_defective()
        self.sec.restarting()
        self._boot_reason = "PowerUp"
        self._permit_changed()

    def unanswered(self, action: str) -> None:
        """A CALL the CSMS answered with an error, or not at all."""

    # -- what it reads of the charger ----------------------------------------------------------------------

    def meter_wh(self, t: float) -> float:
        moved = self.physical.energy_wh(t) if self.physical is not None else 0.0
        return self.s.meter_start_wh + self.s.meter_gain * moved

    def _readings(self, t: float) -> dict[str, float]:
        volts = self.physical.dc_voltage_v() if self.physical is not None else 0.0
        amps = self.physical.dc_current_a() if self.physical is not None else 0.0
        return {"Energy.Active.Import.Register": self.meter_wh(t), "Power.Active.Import": max(0.0, volts * amps),
                "Current.Import": max(0.0, amps), "Voltage": volts, "Power.Active.Export": max(0.0, -volts * amps),
                "Current.Export": max(0.0, -amps), "Energy.Active.Export.Register": 0.0}

    def permits_energy(self) -> bool:
        """Its CHAdeMO controller may move energy: EVSE 1's EV is connected and authorised in a transaction, or
        no CSMS has accepted it since it powered up (stand-alone, it charges whoever plugs in)."""
        if self._standalone():
            return True
        evse = self.evses[1]
        return evse.tx is not None and evse.connected and evse.token is not None and not evse.resetting

    def _standalone(self) -> bool:
        """No CSMS has accepted it since it powered up and it free-vends: it charges without transactions."""
        return self.s.standalone_free_vend and not self.face.registered

    def permit_may_have_changed(self) -> None:
        self._permit_changed()

    def _permit_changed(self) -> None:
        if self.physical is not None:
            self.physical.permit_changed(self.face.now())

    # -- availability --------------------------------------------------------------------------------------

    def _available(self, evse: Evse) -> bool:
        return self.operative and evse.operative and evse.connector_operative and not evse.resetting

    def _connector_status(self, evse: Evse) -> str:
        if evse.tx is None and not self._available(evse) or evse.resetting:
            return "Unavailable"
        if evse.connected:
            charging = evse.tx is not None and evse.token is not None
            return "Available" if self.s.available_while_charging and charging else "Occupied"
        return "Available"

    def _live_availability(self) -> None:
        """The device model's AvailabilityState variables read the station's state."""
        def station() -> str:
            return "Available" if self.operative else "Unavailable"
        self.dm.live[("ChargingStation", None, None, "AvailabilityState", None)] = station
        self.dm.live[("ChargingStation", None, None, "Available", None)] = lambda: str(self.operative).lower()
        for evse in self.evses.values():
            state = (lambda e: lambda: self._connector_status(e))(evse)
            self.dm.live[("EVSE", evse.id, None, "AvailabilityState", None)] = state
            self.dm.live[("Connector", evse.id, 1, "AvailabilityState", None)] = state
            self.dm.live[("EVSE", evse.id, None, "Available", None)] = \
                (lambda e: lambda: str(e.operative).lower())(evse)
            self.dm.live[("Connector", evse.id, 1, "Available", None)] = \
                (lambda e: lambda: str(e.connector_operative).lower())(evse)

    def _report(self, evse: Evse, *, force: bool = False) -> None:
        status = self._connector_status(evse)
        if status == evse.status and not force:
            return
        evse.status = status
        self.face.call("StatusNotification", {"timestamp": self.face.now_text(), "connectorStatus": status,
                                              "evseId": evse.id, "connectorId": 1})

    def _forget_availability_if_defective(self) -> None:
        if self.s.availability_forgotten:
            self.operative = True
            for evse in self.evses.values():
                evse.operative = evse.connector_operative = True

    def _apply_availability(self, level: str, evses: list[Evse], operative: bool) -> None:
        if level == "station":
            self.operative = operative
        for evse in evses:
            if level == "evse":
                evse.operative = operative
            elif level == "connector":
                evse.connector_operative = operative
        for evse in self.evses.values():
            self._report(evse)

    # -- the vehicle and the card ------------------------------------------------------------------------------

    def plugged(self, t: float, on: bool) -> None:
        """The vehicle's plug went in or out (EVSE 1, connector 1)."""
        evse = self.evses[1]
        evse.connected = on
        if on:
            self.face.timers.pop(f"connection_timeout_{evse.id}", None)
            self._update(evse, "CablePluggedIn")
        else:
            self._update(evse, "EVCommunicationLost", "EVDisconnected")

    def present_card(self, id_tag: str) -> None:
        """An idToken shown at its reader (ISO14443, the operator's card)."""
        token = {"idToken": id_tag, "type": "ISO14443"}
        evse = self.evses[1]
        if evse.tx is not None and evse.token is not None:
            if evse.token.get("idToken") == id_tag:  # the same card stops it, no authorisation needed (C01)
                self._deauthorize(evse, "StopAuthorized", "Local")
            else:  # another card: asked of the CSMS; without a shared groupId it stops nothing (C04)
                self.face.call("Authorize", {"idToken": token})
            return
        if not self._available(evse):
            return
        cached = self.cache.get(id_tag)
        use_cache = self.dm.flag("AuthCacheCtrlr", "Enabled")
        if self.face.online and use_cache and self.dm.flag("AuthCtrlr", "LocalPreAuthorize") and cached == "Accepted":
            self._authorized(evse, token, "Authorized")
            return
        if not self.face.online and self.dm.flag("AuthCtrlr", "LocalAuthorizeOffline") and (
                (use_cache and cached == "Accepted") or self.dm.flag("AuthCtrlr", "OfflineTxForUnknownIdEnabled")):
            self._authorized(evse, token, "Authorized")
            return
        self.face.call("Authorize", {"idToken": token})

    def _authorized(self, evse: Evse, token: dict[str, Any], trigger: str, remote_start_id: int | None = None) -> None:
        evse.token, evse.remote_start_id = token, remote_start_id
        if evse.tx is not None and remote_start_id is not None:
            evse.tx.remote_start_id = remote_start_id
        if not evse.connected:
            self.face.timers[f"connection_timeout_{evse.id}"] = \
                self.face.now() + self.dm.number("TxCtrlr", "EVConnectionTimeOut")
        self._update(evse, trigger)

    def _deauthorize(self, evse: Evse, trigger: str, reason: str) -> None:
        evse.token = None
        self._update(evse, trigger, reason)

    # -- transactions ----------------------------------------------------------------------------------------

    def _conditions(self, evse: Evse) -> set[str]:
        held = set()
        if evse.connected:
            held.add("EVConnected")
        if evse.token is not None:
            held.add("Authorized")
        if evse.connected and evse.token is not None:
            held |= {"PowerPathClosed", "EnergyTransfer"}
        return held

    def _update(self, evse: Evse, trigger: str, reason: str | None = None) -> None:
        """A condition of the EVSE changed: a transaction starts (a TxStartPoint became true), ends (a TxStopPoint
        that held no longer does) or is updated; then its status and the energy permit follow."""
        now = self._conditions(evse)
        became, evse.conditions = now - evse.conditions, now
        tx = evse.tx
        if tx is None:
            if became & set(self.dm.items("TxCtrlr", "TxStartPoint")) and self._available(evse) \
                    and not self._standalone():
                self._start(evse, trigger)
        else:
            stop = set(self.dm.items("TxCtrlr", "TxStopPoint"))
            if not self.dm.flag("TxCtrlr", "StopTxOnEVSideDisconnect"):
                stop.discard("EVConnected")
            ended = (tx.held - now) & stop
            tx.held |= now
            if ended:
                self._end(evse, trigger, reason or "Other")
            else:
                self._event(evse, "Updated", trigger)
        self._report(evse)
        self._permit_changed()

    def _start(self, evse: Evse, trigger: str) -> None:
        self._tx_count += 1
        t = self.face.now()
        evse.tx = Transaction(f"{self.s.identity}-{self._tx_count}"[-36:], held=set(evse.conditions),
                              remote_start_id=evse.remote_start_id, last_sample_wh=self.meter_wh(t),
                              started_wall=self.face.epoch_s + t)
        self.smart.transaction_started(evse)
        self._event(evse, "Started", trigger, context="Transaction.Begin", measurands="TxStartedMeasurands")
        interval = self.dm.number("SampledDataCtrlr", "TxUpdatedInterval")
        if interval > 0:
            self.face.timers[f"sample_{evse.id}"] = t + interval

    def _end(self, evse: Evse, trigger: str, reason: str) -> None:
        self._event(evse, "Ended", trigger, reason=reason, context="Transaction.End", measurands="TxEndedMeasurands")
        self.smart.transaction_ended(evse)
        evse.tx, evse.token, evse.remote_start_id = None, None, None
        evse.conditions = self._conditions(evse)
        self.face.timers.pop(f"sample_{evse.id}", None)
        self.face.timers.pop(f"connection_timeout_{evse.id}", None)
        if evse.reset_when_idle:
            evse.reset_when_idle = False
            self._reset_evse(evse)
        if self._reset_when_idle and all(e.tx is None for e in self.evses.values()):
            self._reset_when_idle = False
            self._reboot_soon()

    def _tx_payload(self, tx: Transaction, evse_id: int, event: str, trigger: str, at: str) -> dict[str, Any]:
        payload: dict[str, Any] = {"eventType": event, "timestamp": at, "triggerReason": trigger,
                                   "seqNo": 0 if self.s.tx_seq_no_stuck else tx.seq,
                                   "transactionInfo": {"transactionId": tx.id}}
        tx.seq += 1
        if event == "Started":
            payload["evse"] = {"id": evse_id, "connectorId": 1}
        return payload

    def _event(self, evse: Evse, event: str, trigger: str, *, reason: str | None = None, context: str | None = None,
               measurands: str | None = None, component: str = "SampledDataCtrlr") -> None:
        tx = evse.tx
        assert tx is not None
        t = self.face.now()
        payload = self._tx_payload(tx, evse.id, event, trigger, self.face.now_text())
        info = payload["transactionInfo"]
        state = self._charging_state(evse)
        if state != tx.reported_state:
            info["chargingState"] = tx.reported_state = state
        if tx.remote_start_id is not None and not tx.remote_reported:
            info["remoteStartId"], tx.remote_reported = tx.remote_start_id, True
        if reason is not None:
            info["stoppedReason"] = reason
        if evse.token is not None and evse.token.get("idToken") != tx.reported_token:
            payload["idToken"], tx.reported_token = evse.token, evse.token.get("idToken")
        if not self.face.online:
            payload["offline"] = True
        if context is not None and measurands is not None:
            readings = self._readings(t)
            actual = readings["Energy.Active.Import.Register"]
            if (event == "Ended" and self.s.ended_meter_stale) or (event == "Updated" and self.s.sampled_meter_lags):
                readings["Energy.Active.Import.Register"] = tx.last_sample_wh
            chosen = self.dm.items(component, measurands) or ["Energy.Active.Import.Register"]
            payload["meterValue"] = [self._meter_value(self.face.now_text(), context, chosen, readings)]
            if event != "Ended":
                tx.last_sample_wh = actual
        self.face.call("TransactionEvent", payload)

    def _charging_state(self, evse: Evse) -> str:
        if evse.connected and evse.token is not None:
            return "Charging"
        return "EVConnected" if evse.connected else "Idle"

    @staticmethod
    def _meter_value(at: str, context: str, measurands: list[str], readings: dict[str, float]) -> dict[str, Any]:
        return {"timestamp": at, "sampledValue": [
            {"value": round(readings[m], 1), "context": context, "measurand": m, "unitOfMeasure": {"unit": UNITS[m]}}
            for m in measurands if m in readings]}

    def answered(self, action: str, sent: dict, reply: dict) -> None:
        """The CSMS's CALLRESULT to one of its CALLs: authorisations (and the cache) follow its idTokenInfo."""
        info = reply.get("idTokenInfo")
        token = sent.get("idToken")
        if info is None or token is None:
            return
        status = info.get("status", "Invalid")
        if self.dm.flag("AuthCacheCtrlr", "Enabled"):
            self.cache[token["idToken"]] = status
        if action == "Authorize":
            evse_id, remote_start_id = self._awaiting.pop(token["idToken"], (1, None))
            evse = self.evses[evse_id]
            if status == "Accepted" and evse.token is None and (self._available(evse) or evse.tx is not None):
                self._authorized(evse, token, "RemoteStart" if remote_start_id is not None else "Authorized",
                                 remote_start_id)
        elif action == "TransactionEvent" and status != "Accepted":
            holder = next((e for e in self.evses.values() if e.tx is not None and e.token is not None
                           and e.token.get("idToken") == token["idToken"]), None)
            if holder is not None and self.dm.flag("TxCtrlr", "StopTxOnInvalidId"):
                self._deauthorize(holder, "Deauthorized", "DeAuthorized")

    # -- timers ------------------------------------------------------------------------------------------------

    def timer(self, name: str, t: float) -> None:
        kind, _, number = name.rpartition("_")
        if name == "reboot":
            self._forget_availability_if_defective()
            self.sec.restarting()
            self.face.reboot(t)
        elif name == "aligned":
            self._schedule_aligned(t + 1e-6)
            self._aligned()
        elif kind == "connection_timeout":
            evse = self.evses[int(number)]
            if not evse.connected and evse.token is not None:
                self._deauthorize(evse, "EVConnectTimeout", "Timeout")
        elif kind == "sample":
            evse = self.evses[int(number)]
            interval = self.dm.number("SampledDataCtrlr", "TxUpdatedInterval")
            if evse.tx is not None and interval > 0:
                self.face.timers[name] = t + interval
                self._event(evse, "Updated", "MeterValuePeriodic", context="Sample.Periodic",
                            measurands="TxUpdatedMeasurands")
        elif kind == "evse_back":
            evse = self.evses[int(number)]
            evse.resetting = False
            self._report(evse)

    def _schedule_aligned(self, t: float) -> None:
        """The next instant of its clock on the AlignedDataCtrlr.Interval grid (from midnight)."""
        interval = self.dm.number("AlignedDataCtrlr", "Interval")
        if interval <= 0:
            self.face.timers.pop("aligned", None)
            return
        wall = self.face.epoch_s + t
        self.face.timers["aligned"] = math.ceil(wall / interval) * interval - self.face.epoch_s

    def _aligned(self) -> None:
        """Clock-aligned meter values (J01): in a TransactionEvent during a transaction, else MeterValues."""
        for evse in self.evses.values():
            if evse.tx is not None:
                self._event(evse, "Updated", "MeterValueClock", context="Sample.Clock", measurands="Measurands",
                            component="AlignedDataCtrlr")
            else:
                self._meter_values(evse, "Sample.Clock")

    def _meter_values(self, evse: Evse, context: str) -> None:
        chosen = self.dm.items("AlignedDataCtrlr", "Measurands") or ["Energy.Active.Import.Register"]
        self.face.call("MeterValues", {"evseId": evse.id, "meterValue": [
            self._meter_value(self.face.now_text(), context, chosen, self._readings(self.face.now()))]})

    # -- resets ------------------------------------------------------------------------------------------------

    def _reboot_soon(self) -> None:
        self._boot_reason = "RemoteReset"
        self.face.timers["reboot"] = self.face.now() + STOP_BEFORE_REBOOT_S

    def _reset_evse(self, evse: Evse) -> None:
        evse.resetting = True
        self._report(evse)
        self.face.timers[f"evse_back_{evse.id}"] = self.face.now() + self.s.reboot_s

    # -- what the CSMS asks ---------------------------------------------------------------------------------------

    def handle(self, action: str, payload: dict[str, Any]) -> Answer | None:
        """The answer to a CALL (and what follows it), or None for an action it does not support."""
        handler = getattr(self, f"_on_{action}", None)
        return handler(payload) if handler is not None else self.smart.handle(action, payload)

    def limit_a(self, t: float) -> float | None:
        """The cap its charging profiles put on the DC output current now (A), or None."""
        return self.smart.limit_a(t, self.face.inlet_volts())

    def _on_GetVariables(self, p: dict) -> Answer:
        return {"getVariableResult": [self.dm.get(item) for item in p["getVariableData"]]}, None

    def _on_SetVariables(self, p: dict) -> Answer:
        results = [self.sec.set_variable(item) or self.dm.change(item) for item in p["setVariableData"]]
        changed = {(r["component"]["name"], r["variable"]["name"]) for r in results
                   if r["attributeStatus"] == "Accepted"}

        def apply() -> None:
            if ("OCPPCommCtrlr", "HeartbeatInterval") in changed:
                self.face.heartbeat_changed(self.dm.number("OCPPCommCtrlr", "HeartbeatInterval"))
            if ("AlignedDataCtrlr", "Interval") in changed:
                self._schedule_aligned(self.face.now())
            if ("SampledDataCtrlr", "TxUpdatedInterval") in changed:
                interval = self.dm.number("SampledDataCtrlr", "TxUpdatedInterval")
                for evse in self.evses.values():
                    self.face.timers.pop(f"sample_{evse.id}", None)
                    if evse.tx is not None and interval > 0:
                        self.face.timers[f"sample_{evse.id}"] = self.face.now() + interval
            if ("SecurityCtrlr", "BasicAuthPassword") in changed:  # A01: it reconnects with its new password
                self.face.reconnect()
        return {"setVariableResult": results}, apply

    def _on_GetBaseReport(self, p: dict) -> Answer:
        data = self.dm.report(p["reportBase"])
        if not data:
            return {"status": "EmptyResultSet"}, None
        size = max(1, self.dm.number("DeviceDataCtrlr", "ItemsPerMessage", "GetReport"))
        chunks = [data[i:i + size] for i in range(0, len(data), size)]

        def send() -> None:
            generated = self.face.now_text()
            for n, chunk in enumerate(chunks):
                self.face.call("NotifyReport", {"requestId": p["requestId"], "generatedAt": generated, "seqNo": n,
                                                "tbc": n < len(chunks) - 1, "reportData": chunk})
        return {"status": "Accepted"}, send

    def _on_Reset(self, p: dict) -> Answer:
        immediate = p["type"] == "Immediate"
        if "evseId" in p:
            evse = self.evses.get(p["evseId"])
            if evse is None:
                return {"status": "Rejected"}, None
            if evse.tx is not None and not immediate:
                evse.reset_when_idle = True
                return {"status": "Scheduled"}, None

            def reset_evse() -> None:
                if evse.tx is not None:
                    evse.token = None
                    self._end(evse, "ResetCommand", "ImmediateReset")
                self._reset_evse(evse)
                self._permit_changed()
            return {"status": "Accepted"}, reset_evse
        if not immediate and any(e.tx is not None for e in self.evses.values()):
            self._reset_when_idle = True
            return {"status": "Scheduled"}, None

        def reset() -> None:
            for evse in self.evses.values():
                if evse.tx is not None:
                    evse.token = None
                    self._end(evse, "ResetCommand", "ImmediateReset")
            self._permit_changed()
            self._reboot_soon()
        return {"status": "Accepted"}, reset

    def _on_ChangeAvailability(self, p: dict) -> Answer:
        operative = p["operationalStatus"] == "Operative"
        target = p.get("evse")
        if target is None:
            level, chosen = "station", list(self.evses.values())
        else:
            evse = self.evses.get(target["id"])
            if evse is None or target.get("connectorId", 1) != 1:
                return {"status": "Rejected"}, None
            level, chosen = ("connector" if "connectorId" in target else "evse"), [evse]
        if self.s.ignores_change_availability:
            return {"status": "Accepted"}, None
        # Applied now either way: a transaction goes on (its connector stays Occupied) and the connector reports
        # Unavailable once it ends (Scheduled, G03.FR.05); no new one starts meanwhile.
        busy = any(e.tx is not None for e in chosen)
        return {"status": "Scheduled" if busy and not operative else "Accepted"}, \
            lambda: self._apply_availability(level, chosen, operative)

    def _on_RequestStartTransaction(self, p: dict) -> Answer:
        evse = self.evses.get(p.get("evseId", 1))
        if evse is None or not self._available(evse) or evse.token is not None \
                or not self.smart.remote_start(evse, p.get("chargingProfile")):
            return {"status": "Rejected"}, None
        answer: dict[str, Any] = {"status": "Accepted"}
        if evse.tx is not None:
            answer["transactionId"] = evse.tx.id
        token, remote_start_id = p["idToken"], p["remoteStartId"]
        if self.dm.flag("AuthCtrlr", "AuthorizeRemoteStart"):
            def ask() -> None:
                self._awaiting[token["idToken"]] = (evse.id, remote_start_id)
                self.face.call("Authorize", {"idToken": token})
            return answer, ask
        return answer, lambda: self._authorized(evse, token, "RemoteStart", remote_start_id)

    def _on_RequestStopTransaction(self, p: dict) -> Answer:
        evse = next((e for e in self.evses.values() if e.tx is not None and e.tx.id == p["transactionId"]), None)
        if evse is None:
            return {"status": "Rejected"}, None
        return {"status": "Accepted"}, lambda: self._deauthorize(evse, "RemoteStop", "Remote")

    def _on_GetTransactionStatus(self, p: dict) -> Answer:
        answer: dict[str, Any] = {"messagesInQueue": False}
        if "transactionId" in p:
            answer["ongoingIndicator"] = any(e.tx is not None and e.tx.id == p["transactionId"]
                                             for e in self.evses.values())
        return answer, None

    def _on_UnlockConnector(self, p: dict) -> Answer:
        evse = self.evses.get(p["evseId"])
        if evse is None or p["connectorId"] != 1:
            return {"status": "UnknownConnector"}, None
        if evse.tx is not None and evse.token is not None:
            return {"status": "OngoingAuthorizedTransaction"}, None
        return {"status": "UnlockFailed" if self.s.fixed_cable else "Unlocked"}, None

    def _on_ClearCache(self, p: dict) -> Answer:
        if not self.dm.flag("AuthCacheCtrlr", "Enabled"):
            return {"status": "Rejected"}, None
        self.cache.clear()
        return {"status": "Accepted"}, None

    def _on_SetNetworkProfile(self, p: dict) -> Answer:
        return {"status": self.sec.set_network_profile(p)}, None

    def _on_CertificateSigned(self, p: dict) -> Answer:
        return {"status": self.sec.certificate_signed(p)}, None

    def _on_DataTransfer(self, p: dict) -> Answer:
        return {"status": "UnknownVendorId"}, None

    def _on_TriggerMessage(self, p: dict) -> Answer:
        requested, target = p["requestedMessage"], p.get("evse")
        if target is not None and target["id"] not in self.evses:
            return {"status": "Rejected"}, None
        if requested not in self.s.triggers_201:
            return {"status": "NotImplemented"}, None
        if requested == "BootNotification" and self.face.registered:  # F06.FR.17: accepted already
            return {"status": "Rejected"}, None
        chosen = [self.evses[target["id"]]] if target is not None else list(self.evses.values())

        def send() -> None:
            if requested == "BootNotification":
                self._boot_reason = "Triggered"
                self.face.timers["boot"] = self.face.now()
            elif requested == "Heartbeat":
                self.face.call("Heartbeat", {})
            elif requested == "StatusNotification":
                for evse in chosen:
                    self._report(evse, force=True)
            elif requested == "MeterValues":
                for evse in chosen:
                    self._meter_values(evse, "Trigger")
            elif requested == "SignChargingStationCertificate":  # A02
                self.face.call("SignCertificate", self.sec.sign_request())
            elif requested == "TransactionEvent":
                for evse in chosen:
                    if evse.tx is not None:
                        self._event(evse, "Updated", "Trigger", context="Trigger", measurands="TxUpdatedMeasurands")
            else:
                self.face.call(requested, {"status": "Idle"})
        return {"status": "Accepted"}, send
