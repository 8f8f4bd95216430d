"""The simulated charger's OCPP 2.1 bidirectional (V2X) control: what it accepts of a V2X charging profile and the
grid-side power it aims at under the period in force (OCPP 2.1 part 2, Q and K; ``shared/reference/ocpp.md``,
"OCPP 2.1 bidirectional (V2X) and DER").

Power is AC power into the charger (W): positive charging, negative
discharging (the sign of ``setpoint``). It regulates its grid-side power,
which is what a grid service is paid for; a limit in A is turned into W at
its DC voltage. Per operation mode:

- ChargingOnly (the default): charge at ``limit``, never discharge;
- CentralSetpoint, CentralFrequency: follow ``setpoint``;
- LocalFrequency: ``v2xBaseline`` plus the ``v2xFreqWattCurve`` at the
  frequency it measures (linear between points, flat beyond the ends);
- ExternalSetpoint: follow the setpoint an external system (an EMS) gives it
  outside OCPP (its SunSpec storage controls in the simulated lab), within
  the CSMS profile's limit and dischargeLimit; no power while none is given
  [U: what a station does before its external system speaks];
- Idle: no power (its converter off with ``evseSleep``).

Whatever the mode, the power stays within the period's ``limit`` and
``dischargeLimit`` and those of the station-wide profiles ("the overshoot
when following setpoint must remain within these values", 2.1 schema), and
within its rating. The rules of acceptance follow the reference's table:
what each mode needs and does not allow (in a TxProfile or
TxDefaultProfile; a station-wide profile only bounds), modes other than
ChargingOnly only in a TxProfile or TxDefaultProfile, the setpoints of a period one sign, a
setpoint between dischargeLimit and limit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rig.sim.charger.v2x_settings import V2xSettings

PER_PHASE = ("_L2", "_L3")
NEEDS = {"ChargingOnly": ("limit",), "CentralSetpoint": ("setpoint",), "CentralFrequency": ("setpoint",),
         "LocalFrequency": ("v2xFreqWattCurve", "v2xBaseline")}
"""What a period in each mode must give."""
FORBIDS = {"ChargingOnly": ("setpoint", "dischargeLimit"), "LocalFrequency": ("setpoint",),
           "ExternalSetpoint": ("setpoint",), "ExternalLimits": ("setpoint",), "LocalLoadBalancing": ("setpoint",)}
"""What a period in each mode must not give. The reference's table also forbids ``limit`` under LocalFrequency,
ExternalLimits and LocalLoadBalancing, but the 2.1 schema's own text calls ``limit`` "optional" in exactly those
modes: the station accepts it there (refusing a valid profile is the worse mistake for a reference charger)."""


def refusal(profile: dict[str, Any], settings: V2xSettings) -> str | None:
    """Why the station refuses ``profile`` as V2X control (a reasonCode of at most 20 characters), or None."""
    for schedule in profile["chargingSchedule"]:
        for period in schedule["chargingSchedulePeriod"]:
            mode = period.get("operationMode", "ChargingOnly")
            if mode not in settings.operation_modes and not settings.accepts_unsupported_modes:
                return "UnsupportedMode"
            transaction = profile["chargingProfilePurpose"] in ("TxProfile", "TxDefaultProfile")
            if mode != "ChargingOnly" and not transaction:
                return "InvalidMode"
            if transaction and (any(field not in period for field in NEEDS.get(mode, ()))
                                or any(field in period for field in FORBIDS.get(mode, ()))):
                return "InvalidSchedule"
            if mode == "LocalFrequency" and (schedule["chargingRateUnit"] != "W"
                                             or len(period["v2xFreqWattCurve"]) < 2):
                return "InvalidSchedule"
            setpoints = [period[f"setpoint{s}"] for s in ("", *PER_PHASE) if f"setpoint{s}" in period]
            if setpoints and not (all(x >= 0 for x in setpoints) or all(x <= 0 for x in setpoints)):
                return "InvalidSchedule"
            if "setpoint" in period and not (period.get("dischargeLimit", -np.inf) <= period["setpoint"]
                                             <= period.get("limit", np.inf)):
                return "InvalidSchedule"
    return None


def freq_watt(curve: list[dict[str, float]], frequency_hz: float) -> float:
    """The curve's power (W) at ``frequency_hz``: linear between its points, flat beyond its ends."""
    points = sorted((float(p["frequency"]), float(p["power"])) for p in curve)
    return float(np.interp(frequency_hz, [f for f, _ in points], [w for _, w in points]))


def target_w(period: dict[str, Any], unit: str, caps: list[tuple[dict[str, Any], str]], *, volts: float,
             frequency_hz: float, settings: V2xSettings, previous_w: float, external_w: float | None = None) -> float:
    """The AC power it aims at under ``period`` (its schedule's ``unit``), capped by the station-wide periods
    ``caps``; ``previous_w`` is what it aimed at before (what a charger ignoring Idle carries on with);
    ``external_w`` the setpoint its external system gave (W), None when none."""
    def watts(value: float, its_unit: str) -> float:
        return value if its_unit == "W" else value * volts

    mode = period.get("operationMode", "ChargingOnly")
    high, low = settings.max_charge_w, -settings.max_discharge_w
    for bounds, its_unit in [(period, unit), *caps]:
        if "limit" in bounds:
            high = min(high, watts(float(bounds["limit"]), its_unit))
        if "dischargeLimit" in bounds and not settings.ignores_discharge_limit:
            low = max(low, watts(float(bounds["dischargeLimit"]), its_unit))
    if mode == "Idle":
        return previous_w if settings.ignores_idle else 0.0
    if mode == "ChargingOnly":
        wanted, low = high, max(low, 0.0)
    elif mode in ("CentralSetpoint", "CentralFrequency"):
        wanted = watts(float(period["setpoint"]), unit) * (-1.0 if settings.reverses_setpoint else 1.0)
    elif mode == "ExternalSetpoint" and not settings.ignores_external_setpoint:
        wanted = 0.0 if external_w is None else external_w
    elif mode == "LocalFrequency":
        wanted = float(period["v2xBaseline"]) + settings.droop_scale * freq_watt(period["v2xFreqWattCurve"],
                                                                                   frequency_hz)
    else:  # a mode it accepted but carries out as charging only (a DEFECT, or one it does not support)
        wanted, low = high, max(low, 0.0)
    return float(min(max(wanted, low), high)) + settings.power_error_w
