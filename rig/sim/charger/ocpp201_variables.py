"""The simulated charger's OCPP 2.0.1 device model: its components and variables (OCPP 2.0.1 part 2, appendix
"Standardized Components and Variables"), each with its data type, mutability and value, read by GetVariables
and GetBaseReport and changed by SetVariables as use cases B06-B08 say.

Answers (B06/B05 requirements): an unknown component is ``UnknownComponent``,
a known component without the variable ``UnknownVariable``, an attribute
type it does not keep (only ``Actual`` here) ``NotSupportedAttributeType``;
a ReadOnly variable (or a value outside its type, list or limits) refused
with ``Rejected`` and kept; a WriteOnly one (the basic-auth password) never
read (``Rejected``). Live values (availability) are read from the station
through ``live``. A DUT profile changes values (``ocpp.variables``); a
defect is a profile field (``readonly_set_accepted``,
``unknown_component_accepted``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

DataType = Literal["integer", "decimal", "boolean", "string", "OptionList", "MemberList", "SequenceList"]
Mutability = Literal["ReadOnly", "WriteOnly", "ReadWrite"]

MEASURANDS = ("Energy.Active.Import.Register", "Energy.Active.Export.Register", "Power.Active.Import",
              "Power.Active.Export", "Current.Import", "Current.Export", "Voltage", "SoC")
"""What its DC meter can sample (2.0.1 MeasurandEnumType, the ones a DC port has)."""
TX_POINTS = ("ParkingBayOccupancy", "EVConnected", "Authorized", "PowerPathClosed", "EnergyTransfer",
             "DataSigned")
"""TxStartPoint/TxStopPoint values (part 2 E01, TxCtrlr)."""


@dataclass(frozen=True)
class Variable:
    """One variable of one component (the component by name and, for EVSE and Connector, its evse/connector)."""

    component: str
    name: str
    data_type: DataType
    value: str
    mutability: Mutability = "ReadWrite"
    evse: int | None = None
    connector: int | None = None
    instance: str | None = None
    """The variable's instance (DeviceDataCtrlr.ItemsPerMessage has one per message)."""
    values_list: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    unit: str | None = None
    max_length: int = 1000

    @property
    def key(self) -> tuple[str, int | None, int | None, str, str | None]:
        return (self.component, self.evse, self.connector, self.name, self.instance)

    def accepts(self, value: str) -> bool:
        """Whether ``value`` is one this variable can take (its type, list and limits)."""
        if self.data_type in ("integer", "decimal"):
            try:
                number = int(value) if self.data_type == "integer" else float(value)
            except ValueError:
                return False
            return (self.minimum is None or number >= self.minimum) and (self.maximum is None or number <= self.maximum)
        if self.data_type == "boolean":
            return value in ("true", "false")
        if self.data_type == "OptionList":
            return value in self.values_list
        if self.data_type in ("MemberList", "SequenceList"):
            items = [item.strip() for item in value.split(",")]
            return all(item in self.values_list for item in items) if self.values_list else True
        return (self.minimum is None or len(value) >= self.minimum) and len(value) <= self.max_length

    def characteristics(self) -> dict[str, Any]:
        """Its variableCharacteristics (NotifyReport)."""
        found: dict[str, Any] = {"dataType": self.data_type, "supportsMonitoring": False}
        if self.unit is not None:
            found["unit"] = self.unit
        if self.values_list:
            found["valuesList"] = ",".join(self.values_list)
        if self.maximum is not None and self.data_type in ("integer", "decimal"):
            found["maxLimit"] = self.maximum
        if self.minimum is not None and self.data_type in ("integer", "decimal"):
            found["minLimit"] = self.minimum
        return found


def _v(component: str, name: str, data_type: DataType, value: str, **more: Any) -> Variable:
    return Variable(component, name, data_type, value, **more)


AVAILABILITY = ("Available", "Occupied", "Reserved", "Unavailable", "Faulted")


def standard_variables(evses: int, vendor: str, model: str, identity: str) -> list[Variable]:
    """The variables a charger of ``evses`` EVSEs (one connector each) has, at their defaults."""
    ro: dict[str, Any] = {"mutability": "ReadOnly"}
    found = [
        _v("OCPPCommCtrlr", "HeartbeatInterval", "integer", "300", minimum=0, unit="s"),
        _v("OCPPCommCtrlr", "NetworkProfileConnectionAttempts", "integer", "3", minimum=0),
        _v("OCPPCommCtrlr", "NetworkConfigurationPriority", "SequenceList", "1", values_list=("1", "2", "3")),
        _v("OCPPCommCtrlr", "OfflineThreshold", "integer", "60", minimum=0, unit="s"),
        _v("OCPPCommCtrlr", "RetryBackOffWaitMinimum", "integer", "10", minimum=0, unit="s"),
        _v("OCPPCommCtrlr", "RetryBackOffRandomRange", "integer", "5", minimum=0, unit="s"),
        _v("OCPPCommCtrlr", "RetryBackOffRepeatTimes", "integer", "3", minimum=0),
        _v("OCPPCommCtrlr", "ResetRetries", "integer", "1", minimum=0),
        _v("OCPPCommCtrlr", "MessageTimeout", "integer", "30", instance="Default", minimum=1, unit="s", **ro),
        _v("OCPPCommCtrlr", "FileTransferProtocols", "MemberList", "HTTPS", values_list=("HTTP", "HTTPS"), **ro),
        _v("SampledDataCtrlr", "Enabled", "boolean", "true"),
        _v("SampledDataCtrlr", "TxStartedMeasurands", "MemberList", "Energy.Active.Import.Register",
           values_list=MEASURANDS),
        _v("SampledDataCtrlr", "TxUpdatedMeasurands", "MemberList", "Energy.Active.Import.Register",
           values_list=MEASURANDS),
        _v("SampledDataCtrlr", "TxEndedMeasurands", "MemberList", "Energy.Active.Import.Register",
           values_list=MEASURANDS),
        _v("SampledDataCtrlr", "TxUpdatedInterval", "integer", "60", minimum=0, unit="s"),
        _v("SampledDataCtrlr", "TxEndedInterval", "integer", "0", minimum=0, unit="s"),
        _v("AlignedDataCtrlr", "Enabled", "boolean", "true"),
        _v("AlignedDataCtrlr", "Measurands", "MemberList", "Energy.Active.Import.Register", values_list=MEASURANDS),
        _v("AlignedDataCtrlr", "Interval", "integer", "0", minimum=0, unit="s"),
        _v("AlignedDataCtrlr", "TxEndedMeasurands", "MemberList", "", values_list=MEASURANDS),
        _v("AlignedDataCtrlr", "TxEndedInterval", "integer", "0", minimum=0, unit="s"),
        _v("TxCtrlr", "EVConnectionTimeOut", "integer", "60", minimum=0, unit="s"),
        _v("TxCtrlr", "TxStartPoint", "MemberList", "EVConnected,Authorized", values_list=TX_POINTS[1:5]),
        _v("TxCtrlr", "TxStopPoint", "MemberList", "EVConnected,Authorized", values_list=TX_POINTS[1:5]),
        _v("TxCtrlr", "StopTxOnEVSideDisconnect", "boolean", "true"),
        _v("TxCtrlr", "StopTxOnInvalidId", "boolean", "true"),
        _v("TxCtrlr", "MaxEnergyOnInvalidId", "integer", "0", minimum=0, unit="Wh"),
        _v("AuthCtrlr", "Enabled", "boolean", "true"),
        _v("AuthCtrlr", "AuthorizeRemoteStart", "boolean", "false"),
        _v("AuthCtrlr", "LocalAuthorizeOffline", "boolean", "true"),
        _v("AuthCtrlr", "LocalPreAuthorize", "boolean", "false"),
        _v("AuthCtrlr", "OfflineTxForUnknownIdEnabled", "boolean", "false"),
        _v("AuthCacheCtrlr", "Enabled", "boolean", "true"),
        _v("AuthCacheCtrlr", "LifeTime", "integer", "86400", minimum=0, unit="s"),
        _v("AuthCacheCtrlr", "Policy", "OptionList", "LRU", values_list=("LRU", "LFU", "FIFO", "CUSTOM")),
        _v("SecurityCtrlr", "BasicAuthPassword", "string", "", mutability="WriteOnly", minimum=16, max_length=40),
        _v("SecurityCtrlr", "SecurityProfile", "integer", "0", minimum=0, maximum=3, **ro),
        _v("SecurityCtrlr", "Identity", "string", identity, max_length=48),
        _v("SecurityCtrlr", "OrganizationName", "string", "v2g-rig"),
        _v("SecurityCtrlr", "CertificateEntries", "integer", "0", **ro),
        _v("DeviceDataCtrlr", "ItemsPerMessage", "integer", "10", instance="GetReport", **ro),
        _v("DeviceDataCtrlr", "ItemsPerMessage", "integer", "16", instance="GetVariables", **ro),
        _v("DeviceDataCtrlr", "ItemsPerMessage", "integer", "16", instance="SetVariables", **ro),
        _v("DeviceDataCtrlr", "BytesPerMessage", "integer", "65000", instance="GetReport", **ro),
        _v("ClockCtrlr", "TimeSource", "SequenceList", "Heartbeat", values_list=("Heartbeat", "NTP", "GPS",
                                                                                  "RealTimeClock", "MobileNetwork")),
        _v("SmartChargingCtrlr", "Enabled", "boolean", "true"),
        _v("SmartChargingCtrlr", "Available", "boolean", "true", **ro),
        _v("SmartChargingCtrlr", "ChargingScheduleChargingRateUnit", "MemberList", "A,W", values_list=("A", "W"),
           **ro),
        _v("SmartChargingCtrlr", "PeriodsPerSchedule", "integer", "24", **ro),
        _v("SmartChargingCtrlr", "ProfileStackLevel", "integer", "8", **ro),
        _v("SmartChargingCtrlr", "Entries", "integer", "0", instance="ChargingProfiles", **ro),
        _v("ChargingStation", "AvailabilityState", "OptionList", "Available", values_list=AVAILABILITY, **ro),
        _v("ChargingStation", "Available", "boolean", "true", **ro),
        _v("ChargingStation", "Model", "string", model, **ro),
        _v("ChargingStation", "VendorName", "string", vendor, **ro),
        _v("ChargingStation", "SupplyPhases", "integer", "1", **ro),
    ]
    for evse in range(1, evses + 1):
        found += [
            _v("EVSE", "AvailabilityState", "OptionList", "Available", evse=evse, values_list=AVAILABILITY, **ro),
            _v("EVSE", "Available", "boolean", "true", evse=evse, **ro),
            _v("EVSE", "Power", "decimal", "0", evse=evse, maximum=7400.0, unit="W", **ro),
            _v("EVSE", "SupplyPhases", "integer", "0", evse=evse, **ro),
            _v("Connector", "AvailabilityState", "OptionList", "Available", evse=evse, connector=1,
               values_list=AVAILABILITY, **ro),
            _v("Connector", "Available", "boolean", "true", evse=evse, connector=1, **ro),
            _v("Connector", "ConnectorType", "string", "cG105", evse=evse, connector=1, **ro),
        ]
    return found


REPORTED_IN_SUMMARY = ("AvailabilityState",)
"""What a SummaryInventory reports (B07: components' availability and problems)."""

Status = Literal["Accepted", "Rejected", "UnknownComponent", "UnknownVariable", "NotSupportedAttributeType",
                 "RebootRequired"]


class DeviceModel:
    """The variables one charger has, as its profile makes them; ``live`` gives the values the station keeps."""

    def __init__(self, variables: list[Variable], overrides: dict[str, str], *, readonly_set_accepted: bool = False,
                 unknown_component_accepted: bool = False) -> None:
        self._vars: dict[tuple, Variable] = {v.key: v for v in variables}
        for dotted, value in overrides.items():
            component, _, name = dotted.partition(".")
            matches = [key for key, v in self._vars.items() if v.component == component and v.name == name]
            if not matches:
                raise ValueError(f"ocpp.variables: {dotted} is no OCPP 2.0.1 variable this charger has")
            for key in matches:
                self._vars[key] = replace(self._vars[key], value=value)
        self.readonly_set_accepted, self.unknown_component_accepted = readonly_set_accepted, unknown_component_accepted
        self.live: dict[tuple, Callable[[], str]] = {}
        """Values the station keeps itself (availability), by variable key."""

    # -- the charger's own reads and writes ------------------------------------------------------------------

    def _find(self, component: str, name: str, evse: int | None = None, connector: int | None = None,
              instance: str | None = None) -> Variable | None:
        return self._vars.get((component, evse, connector, name, instance))

    def text(self, component: str, name: str, instance: str | None = None) -> str:
        found = self._find(component, name, instance=instance)
        return "" if found is None else self._value(found)

    def number(self, component: str, name: str, instance: str | None = None) -> int:
        text = self.text(component, name, instance)
        return int(text) if text.lstrip("-").isdigit() else 0

    def flag(self, component: str, name: str) -> bool:
        return self.text(component, name) == "true"

    def items(self, component: str, name: str) -> list[str]:
        return [item.strip() for item in self.text(component, name).split(",") if item.strip()]

    def set(self, component: str, name: str, value: str) -> None:
        """The charger itself sets a variable (HeartbeatInterval from its accepted boot)."""
        found = self._find(component, name)
        if found is not None:
            self._vars[found.key] = replace(found, value=value)

    def _value(self, variable: Variable) -> str:
        live = self.live.get(variable.key)
        return live() if live is not None else variable.value

    # -- what the central system asks ------------------------------------------------------------------------

    def _lookup(self, component: dict, variable: dict) -> Variable | Status:
        evse = component.get("evse", {})
        where = (component["name"], evse.get("id"), evse.get("connectorId"))
        known = [v for v in self._vars.values() if (v.component, v.evse, v.connector) == where]
        if not known:
            return "Accepted" if self.unknown_component_accepted else "UnknownComponent"
        found = next((v for v in known if v.name == variable["name"] and v.instance == variable.get("instance")),
                     None)
        return "UnknownVariable" if found is None else found

    def get(self, item: dict) -> dict[str, Any]:
        """One getVariableResult (B06)."""
        result: dict[str, Any] = {"component": item["component"], "variable": item["variable"]}
        found = self._lookup(item["component"], item["variable"])
        attribute = item.get("attributeType", "Actual")
        if attribute != "Actual":
            result["attributeType"] = attribute
        if isinstance(found, str):
            return {**result, "attributeStatus": found}
        if attribute != "Actual":
            return {**result, "attributeStatus": "NotSupportedAttributeType"}
        if found.mutability == "WriteOnly":
            return {**result, "attributeStatus": "Rejected"}
        return {**result, "attributeStatus": "Accepted", "attributeValue": self._value(found)}

    def change(self, item: dict) -> dict[str, Any]:
        """One setVariableResult (B05); the value is kept when Accepted."""
        result: dict[str, Any] = {"component": item["component"], "variable": item["variable"]}
        attribute = item.get("attributeType", "Actual")
        if attribute != "Actual":
            result["attributeType"] = attribute
        found = self._lookup(item["component"], item["variable"])
        if isinstance(found, str):
            return {**result, "attributeStatus": found}
        if attribute != "Actual":
            return {**result, "attributeStatus": "NotSupportedAttributeType"}
        if found.mutability == "ReadOnly":
            return {**result, "attributeStatus": "Accepted" if self.readonly_set_accepted else "Rejected"}
        if not found.accepts(item["attributeValue"]):
            return {**result, "attributeStatus": "Rejected"}
        self._vars[found.key] = replace(found, value=item["attributeValue"])
        return {**result, "attributeStatus": "Accepted"}

    def report(self, base: str) -> list[dict[str, Any]]:
        """The reportData of a GetBaseReport (B07): every variable (FullInventory), those the central system can
        set (ConfigurationInventory), or the availability of each component (SummaryInventory)."""
        chosen = [v for v in self._vars.values()
                  if base == "FullInventory"
                  or (base == "ConfigurationInventory" and v.mutability != "ReadOnly")
                  or (base == "SummaryInventory" and v.name in REPORTED_IN_SUMMARY)]
        return [self._reported(v) for v in chosen]

    def _reported(self, v: Variable) -> dict[str, Any]:
        component: dict[str, Any] = {"name": v.component}
        if v.evse is not None:
            component["evse"] = {"id": v.evse, **({"connectorId": v.connector} if v.connector is not None else {})}
        variable: dict[str, Any] = {"name": v.name, **({"instance": v.instance} if v.instance else {})}
        attribute: dict[str, Any] = {"type": "Actual", "mutability": v.mutability, "persistent": True,
                                     "constant": v.mutability == "ReadOnly" and v.key not in self.live}
        if v.mutability != "WriteOnly":
            attribute["value"] = self._value(v)
        return {"component": component, "variable": variable, "variableAttribute": [attribute],
                "variableCharacteristics": v.characteristics()}
