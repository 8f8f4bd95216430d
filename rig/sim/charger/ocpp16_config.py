"""The simulated charger's OCPP 1.6 configuration: the standard keys (OCPP 1.6 edition 2, chapter 9), their access
and values, read by GetConfiguration and changed by ChangeConfiguration as the specification says.

A key the charger does not have is ``unknownKey`` to GetConfiguration and
``NotSupported`` to ChangeConfiguration; a read-only key, or a value of the
wrong type or outside its range, is ``Rejected`` (OCTT TC_040_1/2). A DUT
profile changes a key's value or access (``ocpp.configuration``) and leaves
keys out (``ocpp.without_keys``); a defect is one of these changes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Kind = Literal["int", "bool", "csl", "str"]

MEASURANDS = ("Energy.Active.Import.Register", "Energy.Active.Export.Register", "Power.Active.Import",
              "Power.Active.Export", "Current.Import", "Current.Export", "Voltage", "SoC")
"""The measurands its DC meter can sample (OCPP 1.6 7.31); a list naming another is a bad value."""


@dataclass(frozen=True)
class Key:
    """One configuration key: its value as text, whether the central system may change it, how it is checked."""

    name: str
    kind: Kind
    value: str
    readonly: bool = False
    readable: bool = True
    """False for a write-only key (AuthorizationKey: never reported, 1.6 security whitepaper)."""
    maximum: int | None = None

    def accepts(self, value: str) -> bool:
        """Whether ``value`` is a value this key can take."""
        if self.kind == "int":
            try:
                number = int(value)
            except ValueError:
                return False
            return number >= 0 and (self.maximum is None or number <= self.maximum)
        if self.kind == "bool":
            return value.lower() in ("true", "false")
        if self.kind == "csl":
            items = [item.strip() for item in value.split(",") if item.strip()]
            if self.name in ("MeterValuesSampledData", "MeterValuesAlignedData", "StopTxnSampledData",
                             "StopTxnAlignedData"):
                return all(item in MEASURANDS for item in items)
            return True
        if self.name == "AuthorizationKey":  # 16-20 bytes as 32-40 hex digits (1.6 security whitepaper 3.1.4)
            return 32 <= len(value) <= 40 and len(value) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in value)
        return len(value) <= 500


STANDARD_KEYS: tuple[Key, ...] = (
    Key("AllowOfflineTxForUnknownId", "bool", "false"),
    Key("AuthorizationCacheEnabled", "bool", "true"),
    Key("AuthorizeRemoteTxRequests", "bool", "false"),
    Key("ClockAlignedDataInterval", "int", "0"),
    Key("ConnectionTimeOut", "int", "60"),
    Key("ConnectorPhaseRotation", "csl", "NotApplicable"),
    Key("GetConfigurationMaxKeys", "int", "50", readonly=True),
    Key("HeartbeatInterval", "int", "300"),
    Key("LocalAuthorizeOffline", "bool", "true"),
    Key("LocalPreAuthorize", "bool", "false"),
    Key("MeterValuesAlignedData", "csl", "Energy.Active.Import.Register"),
    Key("MeterValuesSampledData", "csl", "Energy.Active.Import.Register"),
    Key("MeterValueSampleInterval", "int", "60"),
    Key("NumberOfConnectors", "int", "1", readonly=True),
    Key("ResetRetries", "int", "1"),
    Key("StopTransactionOnEVSideDisconnect", "bool", "true"),
    Key("StopTransactionOnInvalidId", "bool", "true"),
    Key("StopTxnAlignedData", "csl", ""),
    Key("StopTxnSampledData", "csl", ""),
    Key("SupportedFeatureProfiles", "csl", "Core,RemoteTrigger,SmartCharging", readonly=True),
    Key("TransactionMessageAttempts", "int", "3"),
    Key("TransactionMessageRetryInterval", "int", "60"),
    Key("UnlockConnectorOnEVSideDisconnect", "bool", "true"),
    Key("ChargeProfileMaxStackLevel", "int", "8", readonly=True),
    Key("ChargingScheduleAllowedChargingRateUnit", "csl", "Current,Power", readonly=True),
    Key("ChargingScheduleMaxPeriods", "int", "24", readonly=True),
    Key("MaxChargingProfilesInstalled", "int", "8", readonly=True),
    Key("SecurityProfile", "int", "0", maximum=3),
    Key("AuthorizationKey", "str", "", readable=False),
)


class Configuration:
    """The keys one charger has, as its profile makes them."""

    def __init__(self, values: dict[str, str], readonly: list[str], without: list[str], connectors: int) -> None:
        keys = {key.name: key for key in STANDARD_KEYS if key.name not in without}
        keys["NumberOfConnectors"] = replace(keys["NumberOfConnectors"], value=str(connectors))
        for name, value in values.items():
            if name not in keys:
                raise ValueError(f"ocpp.configuration: {name} is no OCPP 1.6 key this charger has")
            keys[name] = replace(keys[name], value=value)
        for name in readonly:
            keys[name] = replace(keys[name], readonly=True)
        self._keys = keys

    def get(self, requested: list[str] | None) -> tuple[list[dict], list[str]]:
        """GetConfiguration: (configurationKey, unknownKey); every readable key when none is named."""
        names = list(self._keys) if not requested else requested
        known = [{"key": k.name, "readonly": k.readonly, "value": k.value} for name in names
                 if (k := self._keys.get(name)) is not None and k.readable]
        unknown = [name for name in names if name not in self._keys or not self._keys[name].readable]
        return known, unknown if requested else []

    def change(self, name: str, value: str) -> Literal["Accepted", "Rejected", "NotSupported"]:
        """ChangeConfiguration's answer; the value is kept when Accepted."""
        key = self._keys.get(name)
        if key is None:
            return "NotSupported"
        if key.readonly or not key.accepts(value):
            return "Rejected"
        self._keys[name] = replace(key, value=value)
        return "Accepted"

    def has(self, name: str) -> bool:
        return name in self._keys

    def text(self, name: str) -> str:
        return self._keys[name].value

    def number(self, name: str) -> int:
        return int(self._keys[name].value) if name in self._keys else 0

    def flag(self, name: str) -> bool:
        return name in self._keys and self._keys[name].value.lower() == "true"

    def items(self, name: str) -> list[str]:
        return [item.strip() for item in self._keys[name].value.split(",") if item.strip()] if name in self._keys \
            else []

    def set(self, name: str, value: str) -> None:
        """The charger itself sets a key (HeartbeatInterval from its accepted boot)."""
        if name in self._keys:
            self._keys[name] = replace(self._keys[name], value=value)
