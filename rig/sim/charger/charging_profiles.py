"""The simulated charger's smart charging, whatever OCPP version installs it: the charging profiles the central
system installs, the limit they set at an instant, and the composite schedule it reports (OCPP 1.6 edition 2,
3.13, 5.5, 5.7, 5.16; OCPP 2.0.1 part 2, K01-K10).

Stacking as both versions say: within a purpose the valid profile with the
highest stackLevel rules; a TxProfile of the running transaction overrides
the TxDefaultProfile; the station-wide maximum (1.6 ChargePointMaxProfile,
2.0.1 ChargingStationMaxProfile and ChargingStationExternalConstraints) caps
the result. A profile's schedule starts at its startSchedule (Absolute), at
the transaction's start (Relative) or at the last daily/weekly recurrence
(Recurring); a period holds until the next one starts, the schedule until its
duration ends. Times are the charger's own clock (seconds since 1970).

The versions differ only in spelling: a 1.6 profile names itself
``chargingProfileId`` and holds one ``chargingSchedule``, a 2.0.1 profile
names itself ``id`` and holds a list of them (the first is the one a charger
without ISO 15118 uses); 1.6 targets a connector, 2.0.1 an EVSE (``target``
here). What each version accepts is its station's business
(``ocpp16_station``, ``ocpp201_smart_charging``).

The limit applies to the DC output (the CHAdeMO controller caps the current
it gives the vehicle at ``limit_a``); a limit in W is turned into amperes at
the present inlet voltage. What it reports (GetCompositeSchedule) is the same
computation, unless a defect says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rig.protocols.ocpp.datetimes import wall_of

RECURRENCE_S = {"Daily": 86400.0, "Weekly": 604800.0}
STATION_MAXIMA = ("ChargePointMaxProfile", "ChargingStationMaxProfile", "ChargingStationExternalConstraints")
"""The purposes that cap the whole station (1.6, 2.0.1, 2.0.1 external limits); the lowest of them applies."""


@dataclass(frozen=True)
class Installed:
    target: int
    """The connector (1.6) or EVSE (2.0.1) it was installed on; 0 for the whole station."""
    profile: dict[str, Any]
    installed_at: float

    @property
    def id(self) -> int:
        return int(self.profile["chargingProfileId"] if "chargingProfileId" in self.profile else self.profile["id"])

    @property
    def purpose(self) -> str:
        return str(self.profile["chargingProfilePurpose"])

    @property
    def stack(self) -> int:
        return int(self.profile["stackLevel"])

    @property
    def schedule(self) -> dict[str, Any]:
        schedule = self.profile["chargingSchedule"]
        return schedule[0] if isinstance(schedule, list) else schedule


class ChargingProfiles:
    """What the central system installed, and the limit it makes at an instant."""

    def __init__(self, connectors: int) -> None:
        self.connectors = connectors
        self.installed: list[Installed] = []

    # -- SetChargingProfile / ClearChargingProfile ------------------------------------------------------------

    def install(self, connector: int, profile: dict[str, Any], now_wall: float, tx_id: int | None) -> str:
        """1.6 SetChargingProfile's status: a TxProfile needs a transaction on that connector (and its id, when
        the profile names one); a ChargePointMaxProfile belongs to connector 0 (5.16)."""
        purpose = profile["chargingProfilePurpose"]
        if connector > self.connectors or connector < 0:
            return "Rejected"
        if purpose == "TxProfile" and (connector == 0 or tx_id is None
                                       or profile.get("transactionId", tx_id) != tx_id):
            return "Rejected"
        if purpose == "ChargePointMaxProfile" and connector != 0:
            return "Rejected"
        self.put(Installed(connector, profile, now_wall))
        return "Accepted"

    def put(self, new: Installed) -> None:
        """Install ``new``: it replaces the profile of the same id, and the one of the same purpose and stack level
        on the same target (1.6 3.13.3; 2.0.1 K01.FR.05)."""
        self.installed = [p for p in self.installed if p.id != new.id and not (
            p.target == new.target and p.purpose == new.purpose and p.stack == new.stack)]
        self.installed.append(new)

    def clear(self, *, profile_id: int | None = None, target: int | None = None, purpose: str | None = None,
              stack: int | None = None) -> bool:
        """ClearChargingProfile: by id, or by every criterion given; whether any profile matched (Accepted) or
        none (Unknown)."""
        def matches(p: Installed) -> bool:
            if profile_id is not None:
                return p.id == profile_id
            return all(want is None or want == have for want, have in (
                (target, p.target), (purpose, p.purpose), (stack, p.stack)))
        kept = [p for p in self.installed if not matches(p)]
        cleared = len(kept) != len(self.installed)
        self.installed = kept
        return cleared

    def end_transaction(self, target: int | None = None) -> None:
        """A TxProfile lives as long as its transaction (1.6 3.13.1, 2.0.1 K01.FR.19)."""
        self.installed = [p for p in self.installed
                          if p.purpose != "TxProfile" or (target is not None and p.target != target)]

    # -- the limit --------------------------------------------------------------------------------------------

    def limit(self, target: int, wall: float, tx_start_wall: float | None, *,
              with_tx_profile: bool = True) -> tuple[float, str] | None:
        """The limit (value, unit A or W) on ``target`` at ``wall``; None when no profile limits it."""
        def best(purpose: str, on: tuple[int, ...]) -> tuple[float, str] | None:
            found = [(p.stack, value) for p in self.installed if p.purpose == purpose and p.target in on
                     and (value := _schedule_value(p, wall, tx_start_wall)) is not None]
            return max(found)[1] if found else None

        chosen = best("TxProfile", (target,)) if with_tx_profile and tx_start_wall is not None else None
        if chosen is None and tx_start_wall is not None:
            chosen = best("TxDefaultProfile", (target,)) or best("TxDefaultProfile", (0,))
        for purpose in STATION_MAXIMA:
            cap = best(purpose, (0,))
            if cap is None:
                continue
            if chosen is None or cap[1] != chosen[1]:
                chosen = chosen or cap
            else:
                chosen = (min(chosen[0], cap[0]), chosen[1])
        return chosen

    def ruling(self, target: int, wall: float, tx_start_wall: float | None,
               usable: Callable[[Installed], bool] = lambda p: True) -> tuple[Installed, dict[str, Any]] | None:
        """The profile and period that rule ``target``'s transaction at ``wall`` (a TxProfile over a
        TxDefaultProfile, the highest stack level within a purpose, among the ``usable`` ones), or None."""
        if tx_start_wall is None:
            return None
        for purpose, on in (("TxProfile", (target,)), ("TxDefaultProfile", (target,)), ("TxDefaultProfile", (0,))):
            found = [(p.stack, n, p, period) for n, p in enumerate(self.installed) if p.purpose == purpose
                     and p.target in on and usable(p) and (period := period_at(p, wall, tx_start_wall)) is not None]
            if found:
                _, _, p, period = max(found, key=lambda x: (x[0], x[1]))
                return p, period
        return None

    def caps(self, wall: float, usable: Callable[[Installed], bool] = lambda p: True
             ) -> list[tuple[Installed, dict[str, Any]]]:
        """The station-wide profiles' periods in force at ``wall`` (each caps whatever rules)."""
        out = []
        for purpose in STATION_MAXIMA:
            found = [(p.stack, p, period) for p in self.installed if p.purpose == purpose and p.target == 0
                     and usable(p) and (period := period_at(p, wall, None)) is not None]
            if found:
                _, p, period = max(found, key=lambda x: x[0])
                out.append((p, period))
        return out

    def breakpoints(self, start: float, end: float, tx_start_wall: float | None) -> list[float]:
        """Every instant in [start, end) at which some profile's limit may change."""
        points = {start}
        for p in self.installed:
            origin = _origin(p, start, tx_start_wall)
            for origin_k in ([origin] if origin is None else [origin, origin + RECURRENCE_S.get(
                    p.profile.get("recurrencyKind", ""), 0.0)]):
                if origin_k is None:
                    continue
                for period in p.schedule["chargingSchedulePeriod"]:
                    points.add(origin_k + period["startPeriod"])
                if "duration" in p.schedule:
                    points.add(origin_k + p.schedule["duration"])
            for bound in ("validFrom", "validTo"):
                if bound in p.profile:
                    points.add(wall_of(p.profile[bound]))
        return sorted(x for x in points if start <= x < end)

    def composite(self, target: int, start: float, duration: float, tx_start_wall: float | None, unit: str | None,
                  *, volts: float, rating_w: float, with_tx_profile: bool = True) -> tuple[str, list[dict[str, Any]]]:
        """GetCompositeSchedule: the limits of the ``duration`` seconds from ``start`` as the profiles make them
        (the charger's rating where none does), in ``unit`` (its profiles' when None; A and W converted at
        ``volts``), as (unit, chargingSchedulePeriod)."""
        periods: list[dict[str, Any]] = []
        for point in self.breakpoints(start, start + duration, tx_start_wall):
            limit = self.limit(max(1, target), point, tx_start_wall, with_tx_profile=with_tx_profile)
            value, its_unit = limit if limit is not None else (rating_w, "W")
            unit = unit or its_unit
            if unit != its_unit:
                value = value * volts if unit == "W" else value / volts
            if not periods or periods[-1]["limit"] != round(value, 1):
                periods.append({"startPeriod": int(round(point - start)), "limit": round(value, 1)})
        return unit or "W", periods


def _origin(p: Installed, wall: float, tx_start_wall: float | None) -> float | None:
    kind = p.profile["chargingProfileKind"]
    if kind == "Relative":
        return tx_start_wall
    start = wall_of(p.schedule["startSchedule"]) if "startSchedule" in p.schedule else p.installed_at
    if kind == "Recurring":
        period = RECURRENCE_S.get(p.profile.get("recurrencyKind", "Daily"), 86400.0)
        if wall >= start:
            start += ((wall - start) // period) * period
    return start


def _schedule_value(p: Installed, wall: float, tx_start_wall: float | None) -> tuple[float, str] | None:
    period = period_at(p, wall, tx_start_wall)
    if period is None or "limit" not in period:  # an OCPP 2.1 period may set a setpoint and no limit
        return None
    return float(period["limit"]), str(p.schedule["chargingRateUnit"])


def period_at(p: Installed, wall: float, tx_start_wall: float | None) -> dict[str, Any] | None:
    """The period of ``p``'s schedule in force at ``wall`` (its own clock), or None (not valid, not begun,
    ended)."""
    if "validFrom" in p.profile and wall < wall_of(p.profile["validFrom"]):
        return None
    if "validTo" in p.profile and wall >= wall_of(p.profile["validTo"]):
        return None
    origin = _origin(p, wall, tx_start_wall)
    if origin is None or wall < origin:
        return None
    schedule = p.schedule
    elapsed = wall - origin
    if "duration" in schedule and elapsed >= schedule["duration"]:
        return None
    periods = [q for q in schedule["chargingSchedulePeriod"] if q["startPeriod"] <= elapsed + 1e-9]
    if not periods:
        return None
    return max(periods, key=lambda q: q["startPeriod"])
