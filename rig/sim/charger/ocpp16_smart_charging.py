"""The simulated charger's OCPP 1.6 Smart Charging: the profiles the central system installs, the limit they set
at an instant, and the composite schedule it reports (OCPP 1.6 edition 2, 3.13 and 5.16, 5.5, 5.7).

Stacking as 3.13.2 says: within a purpose the valid profile with the highest
stackLevel rules; a TxProfile of the running transaction overrides the
TxDefaultProfile; the ChargePointMaxProfile caps the result. A profile's
schedule starts at its startSchedule (Absolute), at the transaction's start
(Relative) or at the last daily/weekly recurrence (Recurring); a period
holds until the next one starts, the schedule until its duration ends.
Times are the charger's own clock (seconds since 1970).

The limit applies to its DC output (its CHAdeMO controller caps the current
it gives the vehicle at ``limit_a``); a limit in W is turned into amperes at
the present inlet voltage. What it reports (GetCompositeSchedule) is the same
computation, unless a defect says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rig.protocols.ocpp.datetimes import wall_of

RECURRENCE_S = {"Daily": 86400.0, "Weekly": 604800.0}


@dataclass(frozen=True)
class Installed:
    connector: int
    profile: dict[str, Any]
    installed_at: float

    @property
    def id(self) -> int:
        return int(self.profile["chargingProfileId"])

    @property
    def purpose(self) -> str:
        return str(self.profile["chargingProfilePurpose"])

    @property
    def stack(self) -> int:
        return int(self.profile["stackLevel"])


class ChargingProfiles:
    """What the central system installed, and the limit it makes at an instant."""

    def __init__(self, connectors: int) -> None:
        self.connectors = connectors
        self.installed: list[Installed] = []

    # -- SetChargingProfile / ClearChargingProfile ------------------------------------------------------------

    def install(self, connector: int, profile: dict[str, Any], now_wall: float, tx_id: int | None) -> str:
        """SetChargingProfile's status: a TxProfile needs a transaction on that connector (and its id, when the
        profile names one); a ChargePointMaxProfile belongs to connector 0; a profile replaces the one of the same
        id, and the one of the same purpose and stack level on the same connector (3.13.3)."""
        purpose = profile["chargingProfilePurpose"]
        if connector > self.connectors or connector < 0:
            return "Rejected"
        if purpose == "TxProfile" and (connector == 0 or tx_id is None
                                       or profile.get("transactionId", tx_id) != tx_id):
            return "Rejected"
        if purpose == "ChargePointMaxProfile" and connector != 0:
            return "Rejected"
        new = Installed(connector, profile, now_wall)
        self.installed = [p for p in self.installed if p.id != new.id and not (
            p.connector == connector and p.purpose == purpose and p.stack == new.stack)]
        self.installed.append(new)
        return "Accepted"

    def clear(self, criteria: dict[str, Any]) -> bool:
        """ClearChargingProfile: whether any profile matched (Accepted) or none (Unknown)."""
        def matches(p: Installed) -> bool:
            if "id" in criteria:
                return p.id == criteria["id"]
            return all((key not in criteria or value == criteria[key]) for key, value in (
                ("connectorId", p.connector), ("chargingProfilePurpose", p.purpose), ("stackLevel", p.stack)))
        kept = [p for p in self.installed if not matches(p)]
        cleared = len(kept) != len(self.installed)
        self.installed = kept
        return cleared

    def end_transaction(self) -> None:
        """A TxProfile lives as long as its transaction (3.13.1)."""
        self.installed = [p for p in self.installed if p.purpose != "TxProfile"]

    # -- the limit --------------------------------------------------------------------------------------------

    def limit(self, connector: int, wall: float, tx_start_wall: float | None, *,
              with_tx_profile: bool = True) -> tuple[float, str] | None:
        """The limit (value, unit A or W) on ``connector`` at ``wall``; None when no profile limits it."""
        def best(purpose: str, on: tuple[int, ...]) -> tuple[float, str] | None:
            found = [(p.stack, value) for p in self.installed if p.purpose == purpose and p.connector in on
                     and (value := _schedule_value(p, wall, tx_start_wall)) is not None]
            return max(found)[1] if found else None

        chosen = best("TxProfile", (connector,)) if with_tx_profile and tx_start_wall is not None else None
        if chosen is None and tx_start_wall is not None:
            chosen = best("TxDefaultProfile", (connector,)) or best("TxDefaultProfile", (0,))
        cap = best("ChargePointMaxProfile", (0,))
        if chosen is None:
            return cap
        if cap is None or cap[1] != chosen[1]:
            return chosen
        return (min(chosen[0], cap[0]), chosen[1])

    def breakpoints(self, start: float, end: float, tx_start_wall: float | None) -> list[float]:
        """Every instant in [start, end) at which some profile's limit may change."""
        points = {start}
        for p in self.installed:
            origin = _origin(p, start, tx_start_wall)
            schedule = p.profile["chargingSchedule"]
            for origin_k in ([origin] if origin is None else [origin, origin + RECURRENCE_S.get(
                    p.profile.get("recurrencyKind", ""), 0.0)]):
                if origin_k is None:
                    continue
                for period in schedule["chargingSchedulePeriod"]:
                    points.add(origin_k + period["startPeriod"])
                if "duration" in schedule:
                    points.add(origin_k + schedule["duration"])
            for bound in ("validFrom", "validTo"):
                if bound in p.profile:
                    points.add(wall_of(p.profile[bound]))
        return sorted(x for x in points if start <= x < end)


def _origin(p: Installed, wall: float, tx_start_wall: float | None) -> float | None:
    kind = p.profile["chargingProfileKind"]
    schedule = p.profile["chargingSchedule"]
    if kind == "Relative":
        return tx_start_wall
    start = wall_of(schedule["startSchedule"]) if "startSchedule" in schedule else p.installed_at
    if kind == "Recurring":
        period = RECURRENCE_S.get(p.profile.get("recurrencyKind", "Daily"), 86400.0)
        if wall >= start:
            start += ((wall - start) // period) * period
    return start


def _schedule_value(p: Installed, wall: float, tx_start_wall: float | None) -> tuple[float, str] | None:
    if "validFrom" in p.profile and wall < wall_of(p.profile["validFrom"]):
        return None
    if "validTo" in p.profile and wall >= wall_of(p.profile["validTo"]):
        return None
    origin = _origin(p, wall, tx_start_wall)
    if origin is None or wall < origin:
        return None
    schedule = p.profile["chargingSchedule"]
    elapsed = wall - origin
    if "duration" in schedule and elapsed >= schedule["duration"]:
        return None
    periods = [q for q in schedule["chargingSchedulePeriod"] if q["startPeriod"] <= elapsed + 1e-9]
    if not periods:
        return None
    return float(max(periods, key=lambda q: q["startPeriod"])["limit"]), str(schedule["chargingRateUnit"])
