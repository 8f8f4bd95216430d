"""Every timing and tolerance the CHAdeMO rules judge by, in one record a plan can override.

Defaults come from the rig's CHAdeMO reference (``shared/reference/chademo.md``). A default
marked [?] is one no second source confirmed: a plan that knows better sets it, and a report
should say which values it judged with (:meth:`ChademoParameters.unconfirmed`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

UNCONFIRMED = "[?]"


def _param(default: float, description: str, *, unconfirmed: bool = False) -> float:
    mark = f" {UNCONFIRMED}" if unconfirmed else ""
    return Field(default, ge=0.0, description=description + mark)  # type: ignore[no-any-return]


class ChademoParameters(BaseModel):
    """Limits for judging a CHAdeMO session (seconds, volts, amperes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # bus
    cycle_period_s: float = _param(0.100, "Period of every cyclic CHAdeMO message.")
    cycle_tolerance_s: float = _param(0.010, "Allowed deviation of one interval from the period.")
    cycle_allowed_outliers: float = _param(
        0, "Intervals per message id allowed outside the tolerance (logger jitter) before it is a finding.")
    can_silence_s: float = _param(1.0, "Longest gap in the EV's frames before the EVSE must stop.",
                                  unconfirmed=True)

    # start
    d1_to_k_max_s: float = _param(8.0, "From d1 on to the vehicle's k on (about 3 s typical).", unconfirmed=True)
    k_to_d2_max_s: float = _param(20.0, "From k on to the EVSE's d2 on (insulation test in between).",
                                  unconfirmed=True)
    d2_to_ev_contactors_closed_max_s: float = _param(
        4.0, "From d2 on to the EV clearing 102.5.3 (its contactors closed).", unconfirmed=True)
    charge_start_response_s: float = _param(
        0.5, "From the EV's first current request to the EVSE's 109.5.0 = 1 / 109.5.5 = 0.", unconfirmed=True)
    no_voltage_v: float = _param(10.0, "Output at or below this is 'no voltage' (contactor checks, unlock).")

    # charge
    current_deviation_a: float = _param(10.0, "Output above min(request, available) by this much ...")
    current_deviation_s: float = _param(5.0, "... for this long is a current deviation (the EV's own criterion).")
    output_above_target_tolerance_v: float = _param(
        0.0, "Output voltage allowed above the EV's target voltage (0x102 bytes 1-2).", unconfirmed=True)
    measurement_voltage_tolerance_v: float = _param(
        10.0, "Reported present voltage (0x109) against the rig's DC measurement ...")
    measurement_current_tolerance_a: float = _param(10.0, "Reported present current against the DC measurement ...")
    measurement_deviation_s: float = _param(5.0, "... for this long is a finding.")
    report_quantum_a: float = _param(1.0, "Resolution of the 0x109 / 0x208 current reports (1 A/bit): a report is "
                                          "right when it lies within half of it of the measured current.")

    # stop
    stop_current_a: float = _param(5.0, "Output current that counts as stopped.")
    stop_current_within_s: float = _param(
        0.5, "From a stop request (k off, 102.5.0 = 0, EV fault, CAN silence) to output <= stop_current_a.",
        unconfirmed=True)
    ev_request_zero_after_stop_s: float = _param(
        0.5, "From the start of a stop to the EV's current request reaching 0.", unconfirmed=True)
    contactor_open_output_fraction: float = _param(
        0.25, "After the EV opens its contactors the output falls to this fraction of its value ...")
    contactor_open_fraction_within_s: float = _param(1.0, "... within this time ...")
    contactor_open_no_voltage_within_s: float = _param(2.0, "... and to no_voltage_v within this time.")
    d2_before_d1_min_s: float = _param(0.0, "d2 must go off at least this long before d1 (about 0.5 s typical).")

    # V2H
    discharge_deviation_a: float = _param(
        10.0, "Discharge current above the EV's 0x200 limit by this much ...")
    discharge_deviation_s: float = _param(5.0, "... for this long is a finding (the EV's own criterion).")
    min_discharge_voltage_tolerance_v: float = _param(
        0.0, "Discharging allowed this far below the EV's minimum discharge voltage (0x200 bytes 4-5).")
    soc_tolerance_percent: float = _param(
        0.0, "Discharging allowed this far below the EV's minimum discharge level (0x200 byte 6), "
             "charging this far above its maximum charge level (byte 7).")

    # reconstruction
    context_window_s: float = _param(1.0, "Window before a stop summarised to explain it.")

    @classmethod
    def unconfirmed(cls) -> list[str]:
        """Names of the parameters whose defaults are not confirmed by a second source."""
        return [name for name, info in cls.model_fields.items() if UNCONFIRMED in (info.description or "")]
