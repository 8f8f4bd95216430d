"""``ocpp: v2x:`` in a DUT profile: how the simulated charger carries out OCPP 2.1 bidirectional (V2X) control,
every behaviour a V2X case judges a field; the DEFECT fields exist only to break a rule the rig must catch.

Its response to a new target (a setpoint, a limit, a frequency the freq-watt
curve turns into power) is a dead time, then a linear move over ``ramp_s``
(whatever the size of the change), both acted on at its CHAdeMO control
steps: the time to 90 % of a change is about ``response_delay_s + 0.9 *
ramp_s`` plus up to one control period.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

OperationMode = Literal["Idle", "ChargingOnly", "CentralSetpoint", "ExternalSetpoint", "ExternalLimits",
                        "CentralFrequency", "LocalFrequency", "LocalLoadBalancing"]


class V2xSettings(BaseModel):
    """How its power follows what OCPP 2.1 tells it (``rig.sim.charger.v2x_control``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    operation_modes: list[OperationMode] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["Idle", "ChargingOnly", "CentralSetpoint", "ExternalSetpoint", "CentralFrequency",
                                 "LocalFrequency"],
        description="The operation modes it supports (V2XChargingCtrlr.SupportedOperationModes); a profile with "
                    "another is Rejected.")
    evse_sleep: bool = Field(True, description="It can switch its power electronics off in Idle (evseSleep).")
    response_delay_s: float = Field(0.15, ge=0, le=10, description="From a new target to its output starting to "
                                                                   "move (its control's dead time).")
    ramp_s: float = Field(0.4, gt=0, le=30, description="How long its output takes to move from one target to the "
                                                        "next, whatever the size of the change.")
    max_charge_w: float = Field(7400.0, gt=0, description="Its rating charging (AC, W).")
    max_discharge_w: float = Field(7400.0, gt=0, description="Its rating discharging (AC, W).")
    resumes_transactions: bool = Field(True, description="A transaction a power cut interrupted with the vehicle "
                                                         "still connected resumes once it is back (TxResumed); "
                                                         "false (DEFECT): it ends, stoppedReason PowerLoss.")
    resumption_timeout_s: float = Field(300.0, ge=0, description="The longest power cut a transaction resumes after "
                                                                 "[U: TxCtrlr.ResumptionTimeout].")
    # -- defects ----------------------------------------------------------------------------------------------
    reverses_setpoint: bool = Field(False, description="DEFECT: follows a setpoint with the sign reversed "
                                                       "(charges when told to discharge).")
    ignores_discharge_limit: bool = Field(False, description="DEFECT: discharges what a setpoint or curve asks "
                                                             "beyond the dischargeLimit that bounds it.")
    ignores_idle: bool = Field(False, description="DEFECT: accepts Idle and carries on with the power it had.")
    droop_scale: float = Field(1.0, gt=0, le=10, description="DEFECT when not 1: its freq-watt response is this "
                                                              "times the curve's (a wrong droop).")
    power_error_w: float = Field(0.0, ge=-2000, le=2000, description="DEFECT when not 0: its grid-side power "
                                                                      "settles this far from what it aims at (a "
                                                                      "regulation or metering offset).")
    ignores_external_setpoint: bool = Field(False, description="DEFECT: accepts ExternalSetpoint but carries on "
                                                               "charging only (its external system unheard).")
    accepts_unsupported_modes: bool = Field(False, description="DEFECT: accepts a profile in a mode it does not "
                                                               "support, and carries it out as charging only.")
    keeps_profile_offline: bool = Field(False, description="DEFECT: a profile stays in force after its "
                                                           "maxOfflineDuration offline (no fallback).")
