"""What the simulated charger does as an OCPP 2.1 charging station: the 2.0.1 station (``ocpp201_station``) with
bidirectional (V2X) control, dynamic profiles, its profiles' offline validity and transactions that resume after
a power cut.

- V2X profiles (Q01-Q12, K_101): accepted as ``v2x_control.refusal`` says,
  then ``v2x_target_w`` is the grid-side power its CHAdeMO controller aims at
  while its transaction runs (the controller's dead time and ramp are its
  ``v2x`` settings).
- Dynamic profiles (K_121/K_122, Q04): ``UpdateDynamicSchedule`` replaces the
  values of its period (push); with ``dynUpdateInterval`` it asks the CSMS
  with ``PullDynamicScheduleUpdate`` that long after the last update (pull).
- Offline (Q11/Q12): a profile with ``maxOfflineDuration`` is not used once
  the station has been offline that long (it falls back to the next valid
  profile), and is used again when the link returns, unless
  ``invalidAfterOfflineDuration`` made it invalid for good.
- A power cut with the vehicle still connected: once it is back and accepted,
  the transaction resumes (TransactionEvent Updated, triggerReason TxResumed,
  the same transactionId) if the cut lasted no longer than its resumption
  timeout [U: TxCtrlr.ResumptionTimeout is the name the rig assumes for the
  2.1 variable; the trigger reason TxResumed is in the 2.1 schema], otherwise
  it ends (stoppedReason PowerLoss) as a 2.0.1 station's does.
- Its meter values carry the export register beside the import register.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rig.sim.charger.charging_profiles import Installed
from rig.sim.charger.ocpp201_station import Answer, LostTransaction, Station201, Transaction
from rig.sim.charger.v2x_control import refusal, target_w

if TYPE_CHECKING:
    from rig.sim.charger.ocpp_face import OcppFace, Physical

SCHEDULE_UPDATES = ("limit", "limit_L2", "limit_L3", "dischargeLimit", "dischargeLimit_L2", "dischargeLimit_L3",
                    "setpoint", "setpoint_L2", "setpoint_L3", "setpointReactive", "setpointReactive_L2",
                    "setpointReactive_L3")
"""The values a ChargingScheduleUpdate carries (2.1 UpdateDynamicSchedule, PullDynamicScheduleUpdate)."""


@dataclass
class Suspended:
    """A transaction its power cut interrupted, kept to resume."""

    tx: Transaction
    token: dict[str, Any] | None
    lost_at: float
    profiles: list[Installed]


class Station21(Station201):
    """One charging station's OCPP 2.1 state."""

    def __init__(self, face: OcppFace, physical: Physical | None) -> None:
        super().__init__(face, physical)
        self.v2x = face.settings.v2x
        self._offline_since: float | None = None
        """When (lab time) its link to the CSMS went, while it is gone."""
        self._aimed_w = 0.0
        self._suspended: Suspended | None = None
        for measurands in ("TxStartedMeasurands", "TxUpdatedMeasurands", "TxEndedMeasurands"):  # a V2X station's
            self.dm.set("SampledDataCtrlr", measurands, "Energy.Active.Import.Register,Energy.Active.Export.Register")

    # -- what the face asks ------------------------------------------------------------------------------------

    def handle(self, action: str, payload: dict[str, Any]) -> Answer | None:
        if action == "SetChargingProfile":
            reason = refusal(payload["chargingProfile"], self.v2x)
            if reason is not None:
                return {"status": "Rejected", "statusInfo": {"reasonCode": reason}}, None
            answer = super().handle(action, payload)
            if answer is not None and answer[0].get("status") == "Accepted":
                self._schedule_pull(payload["chargingProfile"])
                self._changed()
            return answer
        return super().handle(action, payload)

    def link_changed(self, online: bool) -> None:
        """Its link to the CSMS came back (accepted again) or went."""
        if online:
            self._offline_since = None
        elif self._offline_since is None:
            self._offline_since = self.face.now()
        self._changed()

    def reconnect_wait_s(self, attempt: int) -> float:
        """Its back-off before connection attempt ``attempt`` (1, 2, ...) after its link went: RetryBackOffWaitMinimum
        doubled after each failed attempt up to RetryBackOffRepeatTimes doublings, plus up to RetryBackOffRandomRange
        (drawn from its identity and the attempt, so the lab repeats it)."""
        if self.s.retries_without_backoff:  # DEFECT
            return 1.0
        minimum = self.dm.number("OCPPCommCtrlr", "RetryBackOffWaitMinimum")
        spread = self.dm.number("OCPPCommCtrlr", "RetryBackOffRandomRange")
        doublings = min(attempt - 1, self.dm.number("OCPPCommCtrlr", "RetryBackOffRepeatTimes"))
        draw = zlib.crc32(f"{self.s.identity}/{attempt}".encode()) / 0xFFFFFFFF
        return minimum * 2.0 ** doublings + spread * draw

    def limit_a(self, t: float) -> float | None:
        """No separate current cap: the V2X target (``v2x_target_w``) carries every limit while it governs."""
        if self._governs(t):
            return None
        return super().limit_a(t)

    # -- V2X ---------------------------------------------------------------------------------------------------

    def _usable(self, t: float) -> Any:
        """Whether a profile may be used at ``t``: one with maxOfflineDuration not once the station has been offline
        that long (a DEFECT keeps it)."""
        def usable(p: Installed) -> bool:
            limit = p.profile.get("maxOfflineDuration")
            if limit is None or self._offline_since is None or self.v2x.keeps_profile_offline:
                return True
            return t - self._offline_since < float(limit)
        return usable

    def _forget_expired(self, t: float) -> None:
        """A profile with invalidAfterOfflineDuration whose offline time ran out is gone for good."""
        usable = self._usable(t)
        for p in list(self.smart.profiles.installed):
            if p.profile.get("invalidAfterOfflineDuration") and not usable(p):
                self.smart.profiles.clear(profile_id=p.id)

    def _ruling(self, t: float) -> tuple[Installed, dict[str, Any]] | None:
        tx = self.evses[1].tx
        self._forget_expired(t)
        return self.smart.profiles.ruling(1, self.face.epoch_s + t, tx.started_wall if tx else None, self._usable(t))

    def _governs(self, t: float) -> bool:
        return self.evses[1].tx is not None and self._ruling(t) is not None

    def v2x_target_w(self, t: float) -> float | None:
        """The grid-side power (W, positive charging) its controller aims at now, or None when no profile rules its
        transaction (it charges as the vehicle asks)."""
        if self.evses[1].tx is None:
            return None
        ruling = self._ruling(t)
        if ruling is None:
            return None
        installed, period = ruling
        usable = self._usable(t)
        caps = [(q, str(p.schedule["chargingRateUnit"]))
                for p, q in self.smart.profiles.caps(self.face.epoch_s + t, usable)]
        physical = self.physical
        volts = self.face.inlet_volts()
        frequency = physical.grid_frequency_hz(t) if physical is not None else 50.0
        self._aimed_w = target_w(period, str(installed.schedule["chargingRateUnit"]), caps, volts=volts,
                                 frequency_hz=frequency, settings=self.v2x, previous_w=self._aimed_w,
                                 external_w=physical.external_setpoint_w() if physical is not None else None)
        return self._aimed_w

    def _changed(self) -> None:
        self._permit_changed()  # its controller looks again at its next step

    # -- dynamic profiles --------------------------------------------------------------------------------------

    def _schedule_pull(self, profile: dict[str, Any]) -> None:
        interval = profile.get("dynUpdateInterval") or 0
        if profile["chargingProfileKind"] == "Dynamic" and interval > 0:
            self.face.timers[f"pull_{profile['id']}"] = self.face.now() + float(interval)

    def _dynamic(self, profile_id: int) -> Installed | None:
        return next((p for p in self.smart.profiles.installed if p.id == profile_id
                     and p.profile["chargingProfileKind"] == "Dynamic"), None)

    def _apply_update(self, installed: Installed, update: dict[str, Any]) -> None:
        """The update's values replace those of the dynamic profile's period (a value it leaves out is kept)."""
        profile = dict(installed.profile)
        schedules = [dict(s) for s in profile["chargingSchedule"]]
        period = dict(schedules[0]["chargingSchedulePeriod"][0])
        period.update({k: v for k, v in update.items() if k in SCHEDULE_UPDATES})
        schedules[0]["chargingSchedulePeriod"] = [period, *schedules[0]["chargingSchedulePeriod"][1:]]
        profile["chargingSchedule"] = schedules
        profile["dynUpdateTime"] = self.face.now_text()
        self.smart.profiles.put(Installed(installed.target, profile, installed.installed_at))
        self._schedule_pull(profile)
        self._changed()

    def _on_UpdateDynamicSchedule(self, p: dict) -> Answer:
        installed = self._dynamic(p["chargingProfileId"])
        if installed is None:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownProfile"}}, None
        check = dict(installed.profile["chargingSchedule"][0]["chargingSchedulePeriod"][0], **p["scheduleUpdate"])
        if refusal({**installed.profile, "chargingSchedule": [{**installed.schedule,
                                                               "chargingSchedulePeriod": [check]}]}, self.v2x):
            return {"status": "Rejected", "statusInfo": {"reasonCode": "InvalidSchedule"}}, None
        return {"status": "Accepted"}, lambda: self._apply_update(installed, p["scheduleUpdate"])

    def timer(self, name: str, t: float) -> None:
        kind, _, number = name.rpartition("_")
        if kind == "pull":
            if self._dynamic(int(number)) is not None:
                self.face.call("PullDynamicScheduleUpdate", {"chargingProfileId": int(number)})
            return
        super().timer(name, t)

    def answered(self, action: str, sent: dict, reply: dict) -> None:
        if action == "PullDynamicScheduleUpdate":
            installed = self._dynamic(sent["chargingProfileId"])
            if installed is not None and reply.get("status") == "Accepted" and "scheduleUpdate" in reply:
                self._apply_update(installed, reply["scheduleUpdate"])
            elif installed is not None:
                self._schedule_pull(installed.profile)
            return
        super().answered(action, sent, reply)

    # -- power cuts --------------------------------------------------------------------------------------------

    def power_lost(self, t: float) -> None:
        evse = self.evses[1]
        if evse.tx is not None and evse.connected and self.v2x.resumes_transactions:
            tx_profiles = [p for p in self.smart.profiles.installed if p.purpose == "TxProfile" and p.target == 1]
            self._suspended = Suspended(evse.tx, evse.token, t, tx_profiles)
            evse.tx = None  # kept aside: the 2.0.1 station would end it
        self._offline_since = None
        super().power_lost(t)

    def accepted(self) -> None:
        suspended, self._suspended = self._suspended, None
        evse = self.evses[1]
        if suspended is not None:
            if evse.connected and self.face.now() - suspended.lost_at <= self.v2x.resumption_timeout_s:
                super().accepted()
                evse.tx, evse.token = suspended.tx, suspended.token
                for p in suspended.profiles:
                    self.smart.profiles.put(p)
                evse.conditions = self._conditions(evse)
                self._event(evse, "Updated", "TxResumed", context="Sample.Periodic", measurands="TxUpdatedMeasurands")
                interval = self.dm.number("SampledDataCtrlr", "TxUpdatedInterval")
                if interval > 0:
                    self.face.timers[f"sample_{evse.id}"] = self.face.now() + interval
                self._report(evse)
                self._changed()
                return
            self._lost.append(LostTransaction(evse.id, suspended.tx, self.face.now_text(suspended.lost_at),
                                              self.meter_wh(suspended.lost_at)))
            self.smart.transaction_ended(evse)
        super().accepted()

    # -- its meter ---------------------------------------------------------------------------------------------

    def meter_wh(self, t: float) -> float:
        """Its import register: the energy into the vehicle (a bidirectional meter counts each way apart)."""
        moved = self.physical.energy_moved_wh(t)[0] if self.physical is not None else 0.0
        return self.s.meter_start_wh + self.s.meter_gain * moved

    def export_wh(self, t: float) -> float:
        moved = self.physical.energy_moved_wh(t)[1] if self.physical is not None else 0.0
        return self.s.meter_gain * moved

    def _readings(self, t: float) -> dict[str, float]:
        readings = super()._readings(t)
        readings["Energy.Active.Export.Register"] = self.export_wh(t)
        return readings
