"""What the simulated charger does as an OCPP 1.6 charge point: connectors, authorisation, transactions, meter
values, and its answers to what the central system asks (OCPP 1.6 edition 2, chapters 4-6).

Connector 1 is the vehicle plug (the CHAdeMO proximity line); a transaction
is what lets its CHAdeMO controller move energy, and its meter is the energy
the DC port moved (scaled by ``meter_gain``, 1 unless defective). The face
(``ocpp_face``) carries the frames; this module decides what they say.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rig.sim.charger.ocpp16_config import Configuration
from rig.sim.charger.charging_profiles import ChargingProfiles, Installed
from rig.sim.charger.ocpp201_security import profile_refused

if TYPE_CHECKING:
    from rig.sim.charger.ocpp_face import OcppFace, Physical

STOP_BEFORE_REBOOT_S = 2.0
"""A Reset: how long after its answer it closes the connection (its StopTransaction goes first)."""

Answer = tuple[dict[str, Any], Callable[[], None] | None]
"""A CALLRESULT payload, and what it does once that answer is sent."""


@dataclass
class Transaction:
    connector: int
    id_tag: str
    meter_start: int
    started_wall: float = 0.0
    """When it started on the charger's own clock (a Relative charging profile counts from here)."""
    transaction_id: int | None = None
    """The central system's id (from its StartTransaction answer)."""
    last_sample_wh: float | None = None
    """The register at its last sample (what the sampled-meter defect reports next)."""


@dataclass
class Connector:
    id: int
    status: str = "Available"
    operative: bool = True
    unavailable_when_free: bool = False
    """ChangeAvailability Inoperative arrived during a transaction (Scheduled)."""
    authorized: str | None = None
    """An idTag authorised for the next transaction, waiting for the plug."""
    tx: Transaction | None = None


class Station:
    """One charge point's OCPP 1.6 state, driven by the face and by its physical inputs."""

    def __init__(self, face: OcppFace, physical: Physical | None) -> None:
        s = face.settings
        self.face, self.physical, self.s = face, physical, s
        self.config = Configuration(s.configuration, s.readonly_keys, s.without_keys, s.connectors)
        self.commission(s.security_profile, s.password)
        self.connectors = {n: Connector(n) for n in range(s.connectors + 1)}
        self.profiles = ChargingProfiles(s.connectors)
        """Its Smart Charging profiles (``charging_profiles``)."""
        self._remote_profile: dict[str, Any] | None = None
        """A TxProfile that came with RemoteStartTransaction, installed when that transaction starts."""
        self.cache: dict[str, str] = {}
        """The authorisation cache: idTag -> the last status the central system gave."""
        self._next_local_tx = -1

    # -- what the face asks of its version ------------------------------------------------------------------

    def boot_payload(self) -> dict[str, Any]:
        return {"chargePointVendor": self.s.vendor, "chargePointModel": self.s.model}

    def security(self) -> tuple[int, str | None]:
        """Its SecurityProfile and AuthorizationKey (the basic-auth password, sent as the hex digits it was given)."""
        return self.config.number("SecurityProfile"), self.config.text("AuthorizationKey") or None

    def commission(self, profile: int, password: str | None) -> None:
        """Set by its configuration tool, not over OCPP (the only way down: A00.FR.005)."""
        self.config.set("SecurityProfile", str(profile))
        if password is not None:
            self.config.set("AuthorizationKey", password)

    def _refuses_profile(self, value: str) -> bool:
        """ChangeConfiguration SecurityProfile: never lower (A00.FR.005, OCTT TC_084), and not to a TLS profile it
        has no CentralSystemRootCertificate for, nor to 3 without its own certificate."""
        try:
            wanted = int(value)
        except ValueError:
            return False  # the key's own check rejects it
        return profile_refused(self.config.number("SecurityProfile"), wanted, self.face.material, self.s) is not None

    def heartbeat_interval_given(self, interval_s: int) -> None:
        """The central system's accepted boot gave this interval: its HeartbeatInterval key says so from now."""
        self.config.set("HeartbeatInterval", str(interval_s))

    # -- what it reads of the charger ----------------------------------------------------------------------

    def meter_wh(self, t: float) -> float:
        moved = self.physical.energy_wh(t) if self.physical is not None else 0.0
        return self.s.meter_start_wh + self.s.meter_gain * moved

    def _plugged(self) -> bool:
        return self.physical is not None and self.physical.plugged()

    def permits_energy(self) -> bool:
        """Its CHAdeMO controller may move energy: a transaction runs on the plug's connector, or no central
        system has accepted it since it powered up (stand-alone, it charges whoever plugs in)."""
        if self.s.standalone_free_vend and not self.face.registered:
            return True
        return self.connectors[1].tx is not None

    def permit_may_have_changed(self) -> None:
        self._permit_changed()

    def _permit_changed(self) -> None:
        if self.physical is not None:
            self.physical.permit_changed(self.face.now())

    # -- status ----------------------------------------------------------------------------------------------

    def _status(self, connector: Connector, status: str, *, force: bool = False) -> None:
        if connector.status == status and not force:
            return
        connector.status = status
        shown = "Available" if self.s.available_while_charging and status == "Charging" else status
        self.face.call("StatusNotification", {"connectorId": connector.id, "errorCode": "NoError", "status": shown,
                                              "timestamp": self.face.now_text()})

    def _settle_status(self, connector: Connector) -> None:
        """The status a connector without a transaction has now."""
        if connector.unavailable_when_free:
            connector.unavailable_when_free, connector.operative = False, False
        if not connector.operative:
            self._status(connector, "Unavailable")
        elif connector.id == 1 and self._plugged():
            self._status(connector, "Finishing" if connector.status in ("Charging", "SuspendedEV", "SuspendedEVSE",
                                                                        "Finishing") else "Preparing")
        elif connector.authorized is not None:
            self._status(connector, "Preparing")
        else:
            self._status(connector, "Available")

    def accepted(self) -> None:
        """Its boot was accepted: every connector's status, as it is."""
        for connector in self.connectors.values():
            self._status(connector, connector.status, force=True)

    def power_lost(self, t: float) -> None:
        """A power cut: its transactions end with it (no StopTransaction can go; OCTT TC_032 judges what it
        sends when it is back), availability survives (OCPP 1.6 5.2: persistent)."""
        for connector in self.connectors.values():
            if connector.tx is not None:
                connector.tx = None
            connector.authorized = None
            connector.status = "Unavailable" if not connector.operative else "Available"
        self._permit_changed()

    # -- the vehicle and the card ------------------------------------------------------------------------------

    def plugged(self, t: float, on: bool) -> None:
        """The vehicle's plug went in or out (connector 1)."""
        connector = self.connectors[1]
        if on:
            if not connector.operative:
                return
            if connector.authorized is not None:
                self.face.timers.pop("connection_timeout", None)
                self._start(connector, connector.authorized)
            elif connector.tx is None:
                self._status(connector, "Preparing")
            return
        if connector.tx is not None:
            if self.config.flag("StopTransactionOnEVSideDisconnect"):
                self._stop(connector, "EVDisconnected")
            else:
                self._status(connector, "SuspendedEV")
            return
        self._settle_status(connector)

    def present_card(self, id_tag: str) -> None:
        """An idTag shown at its reader (the operator's card)."""
        connector = self.connectors[1]
        if connector.tx is not None:
            if id_tag == connector.tx.id_tag:
                self._stop(connector, "Local", id_tag=id_tag)
            return
        if not connector.operative:
            return
        if self.config.flag("LocalPreAuthorize") and self.config.flag("AuthorizationCacheEnabled") \
                and self.cache.get(id_tag) == "Accepted" and self.face.online:
            self._authorized(connector, id_tag)
            return
        if not self.face.online and self.config.flag("LocalAuthorizeOffline") \
                and (self.cache.get(id_tag) == "Accepted" or self.config.flag("AllowOfflineTxForUnknownId")):
            self._authorized(connector, id_tag)
            return
        self.face.call("Authorize", {"idTag": id_tag})

    def _authorized(self, connector: Connector, id_tag: str) -> None:
        if self._plugged() and connector.id == 1:
            self._start(connector, id_tag)
            return
        connector.authorized = id_tag
        self._status(connector, "Preparing")
        self.face.timers["connection_timeout"] = self.face.now() + self.config.number("ConnectionTimeOut")

    # -- transactions ----------------------------------------------------------------------------------------

    def _start(self, connector: Connector, id_tag: str) -> None:
        t = self.face.now()
        connector.authorized = None
        connector.tx = Transaction(connector.id, id_tag, int(round(self.meter_wh(t))), self.face.epoch_s + t)
        if self._remote_profile is not None:
            self.profiles.installed.append(Installed(connector.id, self._remote_profile, self.face.epoch_s + t))
            self._remote_profile = None
        if not self.face.online:
            connector.tx.transaction_id = self._next_local_tx  # until the central system gives one
            self._next_local_tx -= 1
        self.face.call("StartTransaction", {"connectorId": connector.id, "idTag": id_tag,
                                            "meterStart": connector.tx.meter_start, "timestamp": self.face.now_text()})
        self._status(connector, "Charging")
        self._permit_changed()
        interval = self.config.number("MeterValueSampleInterval")
        if interval > 0:
            self.face.timers["sample"] = t + interval

    def _stop(self, connector: Connector, reason: str, *, id_tag: str | None = None) -> None:
        tx = connector.tx
        if tx is None:
            return
        connector.tx = None
        self.profiles.end_transaction()
        self.face.timers.pop("sample", None)
        payload: dict[str, Any] = {"transactionId": tx.transaction_id if tx.transaction_id is not None else -1,
                                   "meterStop": int(round(self.meter_wh(self.face.now()))),
                                   "timestamp": self.face.now_text(), "reason": reason}
        if id_tag is not None:
            payload["idTag"] = id_tag
        self.face.call("StopTransaction", payload)
        self._permit_changed()
        self._settle_status(connector)

    def answered(self, action: str, sent: dict, reply: dict) -> None:
        """The central system's CALLRESULT to one of its CALLs."""
        if action == "Authorize":
            status = reply.get("idTagInfo", {}).get("status", "Invalid")
            if self.config.flag("AuthorizationCacheEnabled"):
                self.cache[sent["idTag"]] = status
            connector = self.connectors[1]
            if status == "Accepted" and connector.tx is None and connector.operative:
                self._authorized(connector, sent["idTag"])
        elif action == "StartTransaction":
            connector = self.connectors.get(sent["connectorId"])
            if connector is None or connector.tx is None or connector.tx.id_tag != sent["idTag"]:
                return
            connector.tx.transaction_id = reply.get("transactionId")
            status = reply.get("idTagInfo", {}).get("status", "Invalid")
            if self.config.flag("AuthorizationCacheEnabled"):
                self.cache[sent["idTag"]] = status
            if status != "Accepted" and self.config.flag("StopTransactionOnInvalidId"):
                self._stop(connector, "DeAuthorized")

    def unanswered(self, action: str) -> None:
        """A CALL the central system answered with an error, or not at all."""

    # -- timers ------------------------------------------------------------------------------------------------

    def timer(self, name: str, t: float) -> None:
        if name == "connection_timeout":
            connector = self.connectors[1]
            connector.authorized = None
            self._settle_status(connector)
        elif name == "sample":
            connector = self.connectors[1]
            interval = self.config.number("MeterValueSampleInterval")
            if connector.tx is not None and interval > 0:
                self.face.timers["sample"] = t + interval
                self._meter_values(connector, "Sample.Periodic", "MeterValuesSampledData")
        elif name == "aligned":
            self._schedule_aligned(t + 1e-6)
            self._meter_values(self.connectors[1], "Sample.Clock", "MeterValuesAlignedData")
        elif name == "reboot":
            self.face.reboot(t)

    def _schedule_aligned(self, t: float) -> None:
        """The next instant of its clock on the ClockAlignedDataInterval grid (from midnight, OCPP 1.6 9.1.3)."""
        interval = self.config.number("ClockAlignedDataInterval")
        if interval <= 0:
            self.face.timers.pop("aligned", None)
            return
        wall = self.face.epoch_s + t
        self.face.timers["aligned"] = math.ceil(wall / interval) * interval - self.face.epoch_s

    def _meter_values(self, connector: Connector, context: str, key: str) -> None:
        t = self.face.now()
        volts = self.physical.dc_voltage_v() if self.physical is not None else 0.0
        amps = self.physical.dc_current_a() if self.physical is not None else 0.0
        register = self.meter_wh(t)
        tx = connector.tx
        if tx is not None and context.startswith("Sample"):
            if self.s.sampled_meter_lags:
                register, tx.last_sample_wh = (tx.meter_start if tx.last_sample_wh is None else tx.last_sample_wh,
                                               register)
            else:
                tx.last_sample_wh = register
        readings = {"Energy.Active.Import.Register": (register, "Wh"),
                    "Power.Active.Import": (max(0.0, volts * amps), "W"), "Current.Import": (max(0.0, amps), "A"),
                    "Voltage": (volts, "V"), "Power.Active.Export": (max(0.0, -volts * amps), "W"),
                    "Current.Export": (max(0.0, -amps), "A"), "Energy.Active.Export.Register": (0.0, "Wh")}
        sampled = []
        for measurand in self.config.items(key) or ["Energy.Active.Import.Register"]:
            if measurand not in readings:
                continue
            value, unit = readings[measurand]
            text: Any = round(value, 1) if self.s.meter_payload_invalid else f"{value:.1f}"
            sampled.append({"value": text, "context": context, "measurand": measurand, "unit": unit})
        payload: dict[str, Any] = {"connectorId": connector.id,
                                   "meterValue": [{"timestamp": self.face.now_text(), "sampledValue": sampled}]}
        if connector.tx is not None and connector.tx.transaction_id is not None:
            payload["transactionId"] = connector.tx.transaction_id
        self.face.call("MeterValues", payload)

    # -- what the central system asks ---------------------------------------------------------------------------

    def handle(self, action: str, payload: dict[str, Any]) -> Answer | None:
        """The answer to a CALL (and what follows it), or None for an action it does not support."""
        handler = getattr(self, f"_on_{action}", None)
        return handler(payload) if handler is not None else None

    def _on_GetConfiguration(self, p: dict) -> Answer:
        known, unknown = self.config.get(p.get("key"))
        answer: dict[str, Any] = {"configurationKey": known}
        if unknown:
            answer["unknownKey"] = unknown
        return answer, None

    def _on_ChangeConfiguration(self, p: dict) -> Answer:
        if p["key"] == "SecurityProfile" and self.config.has("SecurityProfile") and self._refuses_profile(p["value"]):
            return {"status": "Rejected"}, None
        status = self.config.change(p["key"], p["value"])
        if status == "Accepted":
            if p["key"] in ("SecurityProfile", "AuthorizationKey"):  # reconnect with it (security whitepaper)
                return {"status": status}, self.face.reconnect
            if p["key"] == "HeartbeatInterval":
                self.face.heartbeat_changed(int(p["value"]))
            elif p["key"] == "ClockAlignedDataInterval":
                self._schedule_aligned(self.face.now())
            elif p["key"] == "MeterValueSampleInterval" and self.connectors[1].tx is not None:
                interval = int(p["value"])
                self.face.timers.pop("sample", None)
                if interval > 0:
                    self.face.timers["sample"] = self.face.now() + interval
        return {"status": status}, None

    def _on_ClearCache(self, p: dict) -> Answer:
        self.cache.clear()
        return {"status": "Accepted"}, None

    def _on_DataTransfer(self, p: dict) -> Answer:
        return {"status": "UnknownVendorId"}, None

    def _on_Reset(self, p: dict) -> Answer:
        def go() -> None:
            for connector in self.connectors.values():
                self._stop(connector, "HardReset" if p["type"] == "Hard" else "SoftReset")
            self.face.timers["reboot"] = self.face.now() + STOP_BEFORE_REBOOT_S
        return {"status": "Accepted"}, go

    def _on_UnlockConnector(self, p: dict) -> Answer:
        connector = self.connectors.get(p["connectorId"])
        if connector is None or connector.id == 0 or self.s.fixed_cable:
            return {"status": "NotSupported"}, None
        return {"status": "Unlocked"}, lambda: self._stop(connector, "UnlockCommand")

    def _on_ChangeAvailability(self, p: dict) -> Answer:
        target = p["connectorId"]
        if target not in self.connectors:
            return {"status": "Rejected"}, None
        if self.s.ignores_change_availability:
            return {"status": "Accepted"}, None
        chosen = list(self.connectors.values()) if target == 0 else [self.connectors[target]]
        operative = p["type"] == "Operative"
        busy = [c for c in chosen if c.tx is not None]
        if busy and not operative:
            for connector in busy:
                connector.unavailable_when_free = True

        def apply() -> None:
            for connector in chosen:
                if connector.tx is not None:
                    continue
                connector.operative, connector.unavailable_when_free = operative, False
                self._settle_status(connector)
        return {"status": "Scheduled" if busy and not operative else "Accepted"}, apply

    def _on_RemoteStartTransaction(self, p: dict) -> Answer:
        connector = self.connectors.get(p.get("connectorId", 1))
        if connector is None or connector.id == 0 or not connector.operative or connector.tx is not None:
            return {"status": "Rejected"}, None
        profile = p.get("chargingProfile")
        if profile is not None and profile["chargingProfilePurpose"] != "TxProfile":
            return {"status": "Rejected"}, None  # 5.11: only a TxProfile may come with a remote start
        self._remote_profile = profile
        if self.config.flag("AuthorizeRemoteTxRequests"):
            return {"status": "Accepted"}, lambda: self.face.call("Authorize", {"idTag": p["idTag"]})
        return {"status": "Accepted"}, lambda: self._authorized(connector, p["idTag"])

    def _on_RemoteStopTransaction(self, p: dict) -> Answer:
        connector = next((c for c in self.connectors.values() if c.tx is not None
                          and c.tx.transaction_id == p["transactionId"]), None)
        if connector is None:
            return {"status": "Rejected"}, None
        return {"status": "Accepted"}, lambda: self._stop(connector, "Remote")

    def _on_TriggerMessage(self, p: dict) -> Answer | None:
        requested, target = p["requestedMessage"], p.get("connectorId")
        if target is not None and target not in self.connectors:
            return {"status": "Rejected"}, None
        if requested not in self.s.triggers:
            return {"status": "NotImplemented"}, None

        def send() -> None:
            if requested == "BootNotification":
                self.face.call("BootNotification", self.boot_payload())
            elif requested == "Heartbeat":
                self.face.call("Heartbeat", {})
            elif requested == "StatusNotification":
                for connector in self.connectors.values():
                    if target is None or connector.id == target:
                        self._status(connector, connector.status, force=True)
            elif requested == "MeterValues":
                self._meter_values(self.connectors[target or 1], "Trigger", "MeterValuesSampledData")
            else:
                self.face.call(requested, {"status": "Idle"})
        return {"status": "Accepted"}, send

    # -- Smart Charging ---------------------------------------------------------------------------------------

    def limit_a(self, t: float) -> float | None:
        """The cap its profiles put on the DC output current now (A), or None."""
        tx = self.connectors[1].tx
        limit = self.profiles.limit(1, self.face.epoch_s + t, tx.started_wall if tx else None)
        if limit is None:
            return None
        value, unit = limit
        return value if unit == "A" else value / self.face.inlet_volts()

    def _on_SetChargingProfile(self, p: dict) -> Answer:
        connector = self.connectors.get(p["connectorId"])
        tx = connector.tx if connector is not None else None
        status = self.profiles.install(p["connectorId"], p["csChargingProfiles"], self.face.epoch_s + self.face.now(),
                                       tx.transaction_id if tx is not None else None)
        return {"status": status}, None

    def _on_ClearChargingProfile(self, p: dict) -> Answer:
        cleared = self.profiles.clear(profile_id=p.get("id"), target=p.get("connectorId"),
                                      purpose=p.get("chargingProfilePurpose"), stack=p.get("stackLevel"))
        return {"status": "Accepted" if cleared else "Unknown"}, None

    def _on_GetCompositeSchedule(self, p: dict) -> Answer:
        """The limits of the next ``duration`` seconds as its profiles make them (its rating where none
        does), in the unit asked for (its profiles' otherwise)."""
        if p["connectorId"] not in self.connectors:
            return {"status": "Rejected"}, None
        start = self.face.epoch_s + self.face.now()
        tx = self.connectors[max(1, p["connectorId"])].tx
        tx_start = tx.started_wall if tx is not None else None
        unit, periods = self.profiles.composite(p["connectorId"], start, p["duration"], tx_start,
                                                p.get("chargingRateUnit"), volts=self.face.inlet_volts(),
                                                rating_w=self.s.max_power_w,
                                                with_tx_profile=not self.s.composite_ignores_tx_profile)
        return {"status": "Accepted", "connectorId": p["connectorId"], "scheduleStart": self.face.now_text(),
                "chargingSchedule": {"duration": p["duration"], "chargingRateUnit": unit,
                                     "chargingSchedulePeriod": periods}}, None
