"""``ocpp:`` in a DUT profile: how the simulated charger speaks OCPP, every behaviour a case judges a field.

A defective charger is the compliant one with one of these changed
(``fixtures/duts/``); the fields marked DEFECT exist only to break a rule
the rig must catch.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rig.sim.charger.v2x_settings import V2xSettings

TRIGGERABLE = ("BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification", "Heartbeat",
               "MeterValues", "StatusNotification")
"""What a 1.6 TriggerMessage may request (7.42 MessageTrigger)."""
TRIGGERABLE_201 = ("BootNotification", "LogStatusNotification", "FirmwareStatusNotification", "Heartbeat",
                   "MeterValues", "SignChargingStationCertificate", "SignV2GCertificate", "StatusNotification",
                   "TransactionEvent", "SignCombinedCertificate", "PublishFirmwareStatusNotification")
"""What a 2.0.1 TriggerMessage may request (MessageTriggerEnumType)."""


class OcppSettings(BaseModel):
    """How the simulated charger speaks OCPP (1.6J, 2.0.1 and 2.1)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    versions: list[Literal["1.6", "2.0.1", "2.1"]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["1.6"], min_length=1,
        description="The OCPP versions it speaks, offered in this order; it speaks the one the central system "
                    "chooses (each version's charge point keeps its own state).")
    identity: str = Field("SIM-0001", min_length=1, description="Its charge point identity (the URL's last segment).")
    vendor: str = Field("v2g-rig", max_length=255, description="chargePointVendor (1.6: CiString20; longer breaks "
                                                               "the schema, a defect the rig must see).")
    model: str = Field("SIM-V2G-7K4", max_length=255, description="chargePointModel (1.6: CiString20).")
    connect_after_s: float = Field(1.0, ge=0, description="From its supply (or a reboot) to its first connect.")
    boot_retry_s: float = Field(60.0, gt=0, description="Retry interval when an answer gives none (interval 0).")
    reconnect_after_s: float = Field(30.0, gt=0, description="Before it tries again after a refused or lost "
                                                             "connection.")
    reboot_s: float = Field(15.0, gt=0, description="A Reset: from closing its connection to being up again.")
    connectors: int = Field(1, ge=1, le=8, description="Connectors it reports (StatusNotification 0..n); the "
                                                       "vehicle plug is connector 1.")
    fixed_cable: bool = Field(False, description="Its cable is fixed: UnlockConnector is NotSupported.")
    standalone_free_vend: bool = Field(True, description="Until a central system accepts it after power-up it "
                                                         "charges any vehicle without a transaction.")
    meter_start_wh: float = Field(1000.0, ge=0, description="Its energy register when the lab starts (Wh).")
    configuration: dict[str, str] = Field(default_factory=dict, description="Configuration key values other than "
                                                                            "the defaults (ocpp16_config).")
    readonly_keys: list[str] = Field(default_factory=list, description="Keys it does not let the central system "
                                                                       "change.")
    without_keys: list[str] = Field(default_factory=list, description="Standard keys it does not have.")
    triggers: list[Literal[TRIGGERABLE]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["BootNotification", "Heartbeat", "MeterValues", "StatusNotification"],
        description="What TriggerMessage may ask of it (others: NotImplemented).")
    max_power_w: float = Field(7400.0, gt=0, description="What its composite schedule reports where no profile "
                                                         "limits it (its rating).")
    nominal_dc_voltage_v: float = Field(400.0, gt=0, description="The voltage a limit in W is turned into amperes "
                                                                 "at while nothing is connected.")
    # -- security profiles (OCPP 1.6 security whitepaper; its material from the lab: SimulatedLab.attach_ocpp) ---
    security_profile: Literal[0, 1, 2, 3] = Field(0, description="The security profile it is commissioned with (1.6 "
                                                               "key SecurityProfile): 0 none, 1 basic auth on ws://, "
                                                               "2 TLS and basic auth, 3 TLS with its certificate.")
    password: str | None = Field(None, description="Its basic-auth password as commissioned (1.6 AuthorizationKey "
                                                   "as hex digits, sent as it is): profiles 1 and 2.")
    # -- OCPP 2.0.1 (ocpp201_station, ocpp201_variables) --------------------------------------------------
    variables: dict[str, str] = Field(default_factory=dict, description="2.0.1 device-model values other than the "
                                                                        "defaults, as Component.Variable: value.")
    triggers_201: list[Literal[TRIGGERABLE_201]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["BootNotification", "Heartbeat", "MeterValues", "StatusNotification",
                                 "TransactionEvent", "FirmwareStatusNotification", "LogStatusNotification",
                                 "SignChargingStationCertificate"],
        description="What a 2.0.1 TriggerMessage may ask of it (others: NotImplemented).")
    v2x: V2xSettings = Field(default_factory=V2xSettings, description="2.1: how its power follows V2X control "
                                                                       "(rig.sim.charger.v2x_settings).")
    # -- defects ------------------------------------------------------------------------------------------
    loses_queue_on_link_loss: bool = Field(False, description="DEFECT: the messages it queued while its link was "
                                                              "down (and the one unanswered when it went) are "
                                                              "dropped when the link returns.")
    retries_without_backoff: bool = Field(False, description="DEFECT (2.1): after a lost link it tries to connect "
                                                             "again every second, whatever its RetryBackOff "
                                                             "variables say.")
    restamps_queued_messages: bool = Field(False, description="DEFECT: what it queued while its link was down goes "
                                                              "out stamped with the time it is sent, not the time "
                                                              "it was taken.")
    heartbeat_override_s: float | None = Field(None, gt=0, description="DEFECT: beats at this interval whatever "
                                                                      "the central system said.")
    retry_ignores_interval: bool = Field(False, description="DEFECT: retries a Pending or Rejected boot after "
                                                            "boot_retry_s, not the interval the answer gave.")
    gives_up_after_rejected: bool = Field(False, description="DEFECT: never boots again after a Rejected answer.")
    unknown_action_error: str = Field("NotImplemented", description="DEFECT when not NotImplemented: the CALLERROR "
                                                                     "it answers an action OCPP does not have.")
    message_type_error: str = Field("MessageTypeNotSupported", description="DEFECT when not MessageTypeNotSupported "
                                                                           "(2.0.1): the CALLERROR it answers a "
                                                                           "message type its version lacks.")
    drops_repeated_message_id: bool = Field(False, description="DEFECT: a CALL whose message id it has seen before "
                                                               "on the connection goes unanswered (taken for a "
                                                               "retransmission).")
    ignores_change_availability: bool = Field(False, description="DEFECT: answers ChangeAvailability Accepted "
                                                                 "and stays as it was.")
    meter_gain: float = Field(1.0, gt=0, description="DEFECT when not 1: its meter reads this times the energy "
                                                     "that moved.")
    meter_payload_invalid: bool = Field(False, description="DEFECT: its MeterValues carry the value as a JSON "
                                                           "number (1.6: a string), breaking the schema.")
    available_while_charging: bool = Field(False, description="DEFECT: reports its connector Available while "
                                                              "its transaction moves energy.")
    drops_connection_after_s: float | None = Field(None, gt=0, description="FAULT: its connection dies this long "
                                                                          "after each accepted boot (it reconnects "
                                                                          "after reconnect_after_s).")
    floods_heartbeats: int = Field(0, ge=0, le=100000, description="FAULT: sends this many Heartbeats at once on "
                                                                   "an accepted boot, none waiting for its answer.")
    composite_ignores_tx_profile: bool = Field(False, description="DEFECT: its composite schedule leaves its "
                                                                  "TxProfile out (it still applies it).")
    sampled_meter_lags: bool = Field(False, description="DEFECT: each energy register it samples during a transaction "
                                                        "(1.6 MeterValues, 2.0.1 TransactionEvent Updated) is the one "
                                                        "of the sample before (a reading cached one interval late); "
                                                        "the transaction's start and end readings are right.")
    output_ignores_charging_limit: bool = Field(False, description="DEFECT: accepts charging profiles and reports "
                                                                   "them in its composite schedule, but its DC output "
                                                                   "does not follow them.")
    accepts_any_server_certificate: bool = Field(False, description="DEFECT: does not check the CSMS's certificate "
                                                                    "(any CA, any name) on wss://.")
    max_tls_version: Literal["1.0", "1.1"] | None = Field(None, description="DEFECT: offers TLS 1.0 up to this "
                                                                            "version only (any suite), not 1.2 or "
                                                                            "later.")
    client_cert_cn: str | None = Field(None, description="DEFECT when not its identity: the CN its certificate "
                                                         "request names (the operator CA signs what it asks for; "
                                                         "default its identity, which is its serial number).")
    accepts_security_downgrade: bool = Field(False, description="DEFECT: accepts a ChangeConfiguration lowering its "
                                                                "SecurityProfile (2.0.1: a SetNetworkProfile with a "
                                                                "lower securityProfile, A05).")
    # -- OCPP 2.0.1 defects -----------------------------------------------------------------------------------
    readonly_set_accepted: bool = Field(False, description="DEFECT (2.0.1): answers SetVariables on a ReadOnly "
                                                           "variable Accepted (and keeps the old value).")
    unknown_component_accepted: bool = Field(False, description="DEFECT (2.0.1): answers Get/SetVariables on a "
                                                                "component it does not have Accepted.")
    tx_seq_no_stuck: bool = Field(False, description="DEFECT (2.0.1): every TransactionEvent of a transaction "
                                                     "carries seqNo 0.")
    availability_forgotten: bool = Field(False, description="DEFECT (2.0.1): its availability (ChangeAvailability "
                                                            "Inoperative) does not survive a reboot or power cycle.")
    ended_meter_stale: bool = Field(False, description="DEFECT (2.0.1): TransactionEvent Ended reports the meter "
                                                       "register of its last periodic sample, not the reading at "
                                                       "the end.")
    accepts_invalid_password: bool = Field(False, description="DEFECT (2.0.1): accepts a SecurityCtrlr."
                                                              "BasicAuthPassword outside 16 to 40 characters (and "
                                                              "reconnects with it).")
