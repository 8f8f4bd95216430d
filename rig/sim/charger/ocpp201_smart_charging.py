"""The simulated charging station's OCPP 2.0.1 smart charging (part 2, block K): what it accepts of the CSMS's
SetChargingProfile, ClearChargingProfile, GetChargingProfiles and GetCompositeSchedule, a charging profile given
with RequestStartTransaction, and the cap its profiles put on its DC output.

Stacking, schedules and the composite are ``charging_profiles`` (shared with
1.6); here are 2.0.1's rules of acceptance:

- K01.FR.03/16: a ChargingStationMaxProfile belongs to EVSE 0, a TxProfile to
  an EVSE with a transaction, whose id it must carry (K01.FR.09, TC_K_02);
- K01.FR.26, TC_K_12: a chargingRateUnit not in
  SmartChargingCtrlr.ChargingScheduleChargingRateUnit is rejected, as are
  more periods than PeriodsPerSchedule and a stack level above
  ProfileStackLevel;
- K08.FR.05, TC_K_42/47: GetCompositeSchedule for an unknown EVSE or in a unit
  it does not support is rejected;
- K09: GetChargingProfiles answers NoProfiles when none matches, otherwise
  Accepted and then ReportChargingProfiles, one message per EVSE, the last
  with tbc false; chargingProfileId, when given, is the only criterion;
- F01.FR.08-12, TC_K_37: a RequestStartTransaction's chargingProfile must be a
  TxProfile and is installed for the transaction it starts.

Profiles outlive a power cycle (K01.FR.34, persistent), TxProfiles end with
their transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rig.sim.charger.charging_profiles import ChargingProfiles, Installed

if TYPE_CHECKING:
    from rig.sim.charger.ocpp201_station import Evse, Station201

Answer = tuple[dict[str, Any], Callable[[], None] | None]

CONTROLLER = "SmartChargingCtrlr"


class SmartCharging201:
    """One station's charging profiles and its answers to block K."""

    def __init__(self, station: Station201) -> None:
        self.station = station
        self.profiles = ChargingProfiles(len(station.evses))
        self.pending: dict[int, dict[str, Any]] = {}
        """A RequestStartTransaction's chargingProfile per EVSE, until its transaction starts."""
        station.dm.live[(CONTROLLER, None, None, "Entries", "ChargingProfiles")] = \
            lambda: str(len(self.profiles.installed))

    def handle(self, action: str, payload: dict[str, Any]) -> Answer | None:
        handler = getattr(self, f"_on_{action}", None)
        if handler is None:
            return None
        if not self.station.dm.flag(CONTROLLER, "Enabled"):
            return {"status": "Rejected", "statusInfo": {"reasonCode": "NotEnabled"}}, None
        return handler(payload)

    # -- what the station asks ------------------------------------------------------------------------------

    def limit_a(self, t: float, volts: float) -> float | None:
        """The cap its profiles put on EVSE 1's DC output current at ``t`` (A), or None."""
        tx = self.station.evses[1].tx
        limit = self.profiles.limit(1, self.station.face.epoch_s + t, tx.started_wall if tx else None)
        if limit is None:
            return None
        value, unit = limit
        return value if unit == "A" else value / volts

    def remote_start(self, evse: Evse, profile: dict[str, Any] | None) -> bool:
        """RequestStartTransaction's chargingProfile: kept for the transaction it starts; False (Rejected) for
        one that is not a TxProfile or names a transaction already (F01.FR.09/10)."""
        if profile is None:
            return True
        if profile["chargingProfilePurpose"] != "TxProfile" or "transactionId" in profile \
                or self._refusal(profile) is not None:
            return False
        self.pending[evse.id] = profile
        return True

    def transaction_started(self, evse: Evse) -> None:
        profile = self.pending.pop(evse.id, None)
        if profile is not None and evse.tx is not None:
            self.profiles.put(Installed(evse.id, {**profile, "transactionId": evse.tx.id},
                                        self.station.face.epoch_s + self.station.face.now()))

    def transaction_ended(self, evse: Evse) -> None:
        self.profiles.end_transaction(evse.id)
        self.pending.pop(evse.id, None)

    # -- what the CSMS asks -----------------------------------------------------------------------------------

    def _refusal(self, profile: dict[str, Any]) -> str | None:
        """Why the station cannot take ``profile`` whatever its EVSE (a reasonCode), or None."""
        dm = self.station.dm
        units = dm.items(CONTROLLER, "ChargingScheduleChargingRateUnit")
        for schedule in profile["chargingSchedule"]:
            if schedule["chargingRateUnit"] not in units:
                return "UnsupportedRateUnit"
            if len(schedule["chargingSchedulePeriod"]) > dm.number(CONTROLLER, "PeriodsPerSchedule"):
                return "TooManyPeriods"
        if profile["stackLevel"] > dm.number(CONTROLLER, "ProfileStackLevel"):
            return "InvalidStackLevel"
        return None

    def _on_SetChargingProfile(self, p: dict) -> Answer:
        evse_id, profile = p["evseId"], p["chargingProfile"]
        purpose = profile["chargingProfilePurpose"]
        evse = self.station.evses.get(evse_id)
        reason = self._refusal(profile)
        if evse_id != 0 and evse is None:
            reason = "UnknownEvse"
        elif purpose in ("ChargingStationMaxProfile", "ChargingStationExternalConstraints") and evse_id != 0:
            reason = "InvalidProfileType"
        elif purpose == "TxProfile" and (evse is None or evse.tx is None
                                         or profile.get("transactionId") != evse.tx.id):
            reason = "TxNotFound"
        if reason is not None:
            return {"status": "Rejected", "statusInfo": {"reasonCode": reason}}, None
        self.profiles.put(Installed(evse_id, profile, self.station.face.epoch_s + self.station.face.now()))
        return {"status": "Accepted"}, None

    def _on_ClearChargingProfile(self, p: dict) -> Answer:
        criteria = p.get("chargingProfileCriteria", {})
        cleared = self.profiles.clear(profile_id=p.get("chargingProfileId"), target=criteria.get("evseId"),
                                      purpose=criteria.get("chargingProfilePurpose"), stack=criteria.get("stackLevel"))
        return {"status": "Accepted" if cleared else "Unknown"}, None

    def _on_GetChargingProfiles(self, p: dict) -> Answer:
        criteria = p["chargingProfile"]
        wanted_ids = criteria.get("chargingProfileId")

        def matches(q: Installed) -> bool:
            if wanted_ids:
                return q.id in wanted_ids
            return (p.get("evseId") is None or q.target == p["evseId"]) and all(
                want is None or want == have for want, have in (
                    (criteria.get("chargingProfilePurpose"), q.purpose), (criteria.get("stackLevel"), q.stack))) \
                and "CSO" in criteria.get("chargingLimitSource", ["CSO"])
        found = [q for q in self.profiles.installed if matches(q)]
        if not found:
            return {"status": "NoProfiles"}, None
        targets = sorted({q.target for q in found})

        def report() -> None:
            for n, target in enumerate(targets):
                self.station.face.call("ReportChargingProfiles", {
                    "requestId": p["requestId"], "chargingLimitSource": "CSO", "evseId": target,
                    "chargingProfile": [q.profile for q in found if q.target == target], "tbc": n < len(targets) - 1})
        return {"status": "Accepted"}, report

    def _on_GetCompositeSchedule(self, p: dict) -> Answer:
        evse_id, unit = p["evseId"], p.get("chargingRateUnit")
        if evse_id != 0 and evse_id not in self.station.evses:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}}, None
        if unit is not None and unit not in self.station.dm.items(CONTROLLER, "ChargingScheduleChargingRateUnit"):
            return {"status": "Rejected", "statusInfo": {"reasonCode": "UnsupportedRateUnit"}}, None
        face, s = self.station.face, self.station.s
        start = face.epoch_s + face.now()
        tx = self.station.evses[max(1, evse_id)].tx
        unit, periods = self.profiles.composite(evse_id, start, p["duration"], tx.started_wall if tx else None, unit,
                                                volts=face.inlet_volts(), rating_w=s.max_power_w,
                                                with_tx_profile=not s.composite_ignores_tx_profile)
        return {"status": "Accepted", "schedule": {
            "evseId": evse_id, "duration": p["duration"], "scheduleStart": face.now_text(),
            "chargingRateUnit": unit, "chargingSchedulePeriod": periods}}, None
