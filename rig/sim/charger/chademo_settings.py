"""The simulated charger's CHAdeMO behaviour, as DUT profile parameters (``chademo:`` in a profile).

Every timing and behaviour a CHAdeMO case judges is a parameter here, so a
defective charger is just another profile: one that ignores CAN silence,
stops slowly after a vehicle fault, overshoots the current request, raises
its flags out of order, unlocks before the vehicle's welding detection, or
discharges below the vehicle's minimum voltage. Values a real charger would
take from its design are defaults documented here; those the reference marks
[?] are only defaults.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ChademoEvseSettings(BaseModel):
    """How the simulated charger plays the EVSE side of a CHAdeMO session."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    protocol_number: int = Field(2, ge=1, le=3, description="1 = 0.9, 2 = 1.0.x, 3 = 2.0.")
    available_output_voltage_v: float = Field(450.0, gt=0)
    available_output_current_a: float = Field(32.0, gt=0, description="0x108 byte 3: enough for its rated 7.4 kW "
                                              "down to a 250 V battery (29.6 A).")
    threshold_voltage_v: float = Field(435.0, gt=0, description="0x108 bytes 4-5: the EVSE stops above this.")
    welding_detection: bool = Field(True, description="0x108 byte 0: it supports the vehicle's welding detection.")
    discharge_capable: bool = Field(True, description="V2H: 109.4.0 = 1 and 0x208/0x209 sent.")
    available_input_current_a: float = Field(32.0, ge=0, description="0x208: most it can draw from the vehicle "
                                             "(its rated 7.4 kW out from a 260 V battery with its losses).")
    lower_threshold_voltage_v: float = Field(250.0, ge=0, description="0x208 bytes 6-7.")
    discharge_demand_a: float = Field(32.0, ge=0, description="What the home (or the grid) behind it takes in V2H, A "
                                      "at the inlet: more than a vehicle offers, so the vehicle's 0x200 maximum "
                                      "discharge current sets the discharge.")
    discharge_floor_margin_v: float = Field(0.5, description="It stops discharging this far above the "
                                            "vehicle's minimum discharge voltage (its design margin; negative: below).")
    discharge_limit_margin_a: float = Field(0.25, ge=0, description="It draws this far below the vehicle's 0x200 "
                                            "maximum discharge current (its design margin).")

    control_period_s: float = Field(0.1, gt=0, description="Its control loop and CAN cycle.")
    start_delay_s: float = Field(0.5, ge=0, description="From the plug (proximity) to d1 on.")
    lock_delay_s: float = Field(0.3, ge=0, description="From the vehicle's permission (k, 102.5.0) to locked.")
    insulation_test_v: float = Field(500.0, ge=0)
    insulation_test_s: float = Field(2.0, ge=0)
    insulation_discharge_s: float = Field(0.5, ge=0, description="Output back below 20 V after the test.")
    d2_delay_s: float = Field(0.3, ge=0, description="From the end of the insulation test to d2 on.")
    charge_start_response_s: float = Field(0.2, ge=0, description="From the first request to 109.5.0 = 1.")
    current_ramp_a_per_s: float = Field(20.0, gt=0, description="How fast it follows the request.")
    stop_ramp_a_per_s: float = Field(200.0, gt=0, description="How fast it brings the current down at a stop.")
    stop_response_s: float = Field(0.1, ge=0, description="From the vehicle's stop request to the ramp down.")
    fault_stop_response_s: float = Field(0.1, ge=0, description="From a vehicle fault to the ramp down.")
    can_timeout_s: float = Field(1.0, gt=0, description="CAN silence from the vehicle it stops after [?].")
    d2_to_d1_s: float = Field(0.5, ge=0, description="From d2 off to d1 off.")
    output_decay_s: float = Field(0.3, gt=0, description="Time constant of its output after the contactors open.")

    # Defects (each off on a compliant charger)
    ignores_can_silence: bool = Field(False, description="Keeps delivering when the vehicle falls silent.")
    current_overshoot_a: float = Field(0.0, ge=0, description="Delivers this much above the request.")
    flags_out_of_order: bool = Field(False, description="Raises 109.5.0 before it clears 109.5.5 (one cycle).")
    waits_for_welding_detection: bool = Field(True, description="Unlocks only after the vehicle's welding check.")
    respects_min_discharge_voltage: bool = Field(True, description="Stops discharging at the vehicle's minimum.")
    respects_soc_limits: bool = Field(True, description="Stops discharging at the vehicle's minimum discharge "
                                      "level and charging at its maximum charge level (0x200 bytes 6, 7).")
    checks_battery_compatibility: bool = Field(True, description="Refuses a vehicle whose target voltage is above "
                                               "its available output voltage (109.5.3).")
    ignores_discharge_current_limit: bool = Field(False, description="Draws its demand regardless of the "
                                                  "vehicle's 0x200 maximum discharge current.")
    ignores_emergency_stop: bool = Field(False, description="Its emergency stop does not stop the output.")
    discharge_limit_excess_a: float = Field(0.0, ge=0, description="Discharges this much above the vehicle's 0x200 "
                                            "maximum discharge current (when its home demands more).")
    current_limit_cycle: float = Field(0.0, ge=0, lt=1, description="Its current controller limit-cycles: what it "
                                       "delivers swings, as a slow sine, between its target and this fraction below "
                                       "it (0.08: 92-100 %), so its output power never settles.")
    current_limit_cycle_period_s: float = Field(20.0, gt=0, description="The period of that swing (lab s).")
    reported_current_gain: float = Field(1.0, gt=0, description="What it reports in 0x109 / 0x208 is its real "
                                         "current times this (1.03: its reports read 3 % high).")
