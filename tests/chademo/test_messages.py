"""The DBC against real frames: each expected value below is computed by hand from the raw bytes."""

from __future__ import annotations

import pytest

from trace_files import GENIEPOINT, LEAF_V2H, LEAF_ZE1_CHARGING, LEAF_ZE1_START, frame_at
from rig.chademo import messages
from rig.chademo.messages import FrameError, Side, decode, encode
from rig.chademo.traces import Trace

# (trace, line, id, raw bytes as in the file, expected signals: value hand-computed from the bytes)
REAL_FRAMES = [
    (GENIEPOINT, 2, 0x100, "00 00 00 00 90 01 12 00",
     {"MinChargeCurrent": 0, "MinBatteryVoltage": 0, "MaxBatteryVoltage": 0x0190, "ChargedRateReference": 0x12}),
    (LEAF_ZE1_CHARGING, 9, 0x100, "06 00 00 00 B3 01 FF 00",
     {"MinChargeCurrent": 6, "MaxBatteryVoltage": 0x01B3, "ChargedRateReference": 255}),
    (LEAF_ZE1_START, 27, 0x100, "06 00 00 00 B3 01 64 00", {"MaxBatteryVoltage": 435, "ChargedRateReference": 100}),
    (GENIEPOINT, 3, 0x101, "00 FF 5A 3C 00 00 00 00",
     {"MaxChargingTime10s": 0xFF, "MaxChargingTimeMin": 90, "EstimatedChargingTimeMin": 60,
      "RatedBatteryCapacity": 0.0}),
    (LEAF_ZE1_CHARGING, 10, 0x101, "00 E4 00 00 00 00 00 00", {"MaxChargingTime10s": 228, "MaxChargingTimeMin": 0}),
    (LEAF_ZE1_START, 28, 0x101, "00 00 00 00 00 F4 01 00", {"RatedBatteryCapacity": 50.0}),
    (GENIEPOINT, 4, 0x102, "01 89 01 00 00 00 09 00",
     {"ProtocolNumber": 1, "TargetVoltage": 393, "ChargeCurrentRequest": 0, "ChargingEnabled": 0,
      "ContactorOpen": 0, "ChargedRate": 9, "FaultBatteryOvervoltage": 0}),
    (GENIEPOINT, 11, 0x102, "02 89 01 00 00 09 09 00",
     {"ProtocolNumber": 2, "ChargingEnabled": 1, "ContactorOpen": 1, "DischargeCompatible": 0}),
    (GENIEPOINT, 304, 0x102, "02 89 01 05 00 01 09 00",
     {"ChargeCurrentRequest": 5, "ChargingEnabled": 1, "ContactorOpen": 0, "ShiftNotPark": 0}),
    (LEAF_V2H, 4, 0x102, "02 9A 01 00 00 C8 03 00",
     {"TargetVoltage": 410, "ContactorOpen": 1, "ChargingEnabled": 0, "DischargeCompatible": 1,
      "NormalStopRequest": 0, "ChargedRate": 3}),
    (LEAF_V2H, 1996, 0x102, "02 9A 01 0E 00 C1 49 00",
     {"ChargeCurrentRequest": 14, "ChargingEnabled": 1, "ContactorOpen": 0, "DischargeCompatible": 1,
      "ChargedRate": 73}),
    (LEAF_ZE1_CHARGING, 11, 0x102, "02 9A 01 73 00 81 8F 00",
     {"ChargeCurrentRequest": 0x73, "ChargingEnabled": 1, "DischargeCompatible": 1, "ChargedRate": 0x8F}),
    (GENIEPOINT, 6, 0x108, "01 F4 01 6F 90 01 00 00",
     {"WeldingDetectionSupported": 1, "AvailableOutputVoltage": 500, "AvailableOutputCurrent": 111,
      "ThresholdVoltage": 400}),
    (LEAF_ZE1_CHARGING, 5, 0x108, "00 F4 01 87 B3 01 00 00",
     {"WeldingDetectionSupported": 0, "AvailableOutputCurrent": 135, "ThresholdVoltage": 435}),
    (LEAF_ZE1_START, 35, 0x108, "01 F4 01 1F B3 01 00 00", {"AvailableOutputCurrent": 31, "ThresholdVoltage": 435}),
    (GENIEPOINT, 327, 0x109, "02 89 01 00 00 27 FF 59",
     {"ProtocolNumber": 2, "PresentVoltage": 393, "PresentCurrent": 0, "Charging": 1, "Malfunction": 1,
      "ConnectorLocked": 1, "BatteryIncompatible": 0, "ChargingSystemMalfunction": 0, "StopControl": 1,
      "RemainingTime10s": 0xFF, "RemainingTimeMin": 0x59}),
    (LEAF_V2H, 7, 0x109, "02 00 00 00 01 20 FF FF",
     {"EvseDischargeCompatible": 1, "Charging": 0, "ConnectorLocked": 0, "StopControl": 1}),
    (LEAF_V2H, 2039, 0x109, "02 78 01 0E 01 05 FF 3C",
     {"PresentVoltage": 0x178, "PresentCurrent": 14, "Charging": 1, "ConnectorLocked": 1, "StopControl": 0,
      "RemainingTimeMin": 60}),
    (LEAF_ZE1_CHARGING, 6, 0x109, "01 7B 01 64 01 05 D7 24",
     {"ProtocolNumber": 1, "PresentVoltage": 379, "PresentCurrent": 100, "EvseDischargeCompatible": 1,
      "RemainingTime10s": 0xD7, "RemainingTimeMin": 0x24}),
    (LEAF_ZE1_CHARGING, 13, 0x110, "01 00 00 00 00 00 00 00",
     {"DynamicControl": 1, "HighCurrentControl": 0, "HighVoltageControl": 0, "ExtendedCurrentRequest": 0}),
    (LEAF_V2H, 5, 0x200, "FF 00 00 00 FA 00 FF FF",
     {"MaxDischargeCurrent": 0, "MinDischargeVoltage": 250, "MinBatteryDischargeLevel": 255,
      "MaxRemainingCapacityForCharging": 255}),
    (LEAF_V2H, 1613, 0x200, "F0 00 00 00 FA 00 43 B2",
     {"MaxDischargeCurrent": 0xFF - 0xF0, "MinDischargeVoltage": 250, "MinBatteryDischargeLevel": 0x43,
      "MaxRemainingCapacityForCharging": 0xB2}),
    (LEAF_V2H, 1557, 0x200, "FD 00 00 00 FA 00 43 B2", {"MaxDischargeCurrent": 2}),
    (LEAF_ZE1_START, 30, 0x200, "FF 00 00 00 FA 00 0A 64",
     {"MaxDischargeCurrent": 0, "MinBatteryDischargeLevel": 10, "MaxRemainingCapacityForCharging": 100}),
    (LEAF_ZE1_CHARGING, 2, 0x201, "02 00 00 00 00 00 00 00",
     {"SequenceControlNumber": 2, "ApproxDischargeCompletionTime": 0, "AvailableVehicleEnergy": 0}),
    (LEAF_V2H, 8, 0x208, "FF F4 01 FF 00 00 00 00",
     {"PresentDischargeCurrent": 0, "AvailableInputVoltage": 500, "AvailableInputCurrent": 0,
      "LowerThresholdVoltage": 0}),
    (LEAF_V2H, 16, 0x208, "FF F4 01 F0 00 00 FA 00",
     {"PresentDischargeCurrent": 0, "AvailableInputVoltage": 500, "AvailableInputCurrent": 0xFF - 0xF0,
      "LowerThresholdVoltage": 250}),
    (LEAF_ZE1_CHARGING, 7, 0x208, "FF AA 00 FF 00 00 AA 00",
     {"PresentDischargeCurrent": 0, "AvailableInputVoltage": 170, "LowerThresholdVoltage": 170}),
    (LEAF_V2H, 9, 0x209, "02 00 00 00 00 00 00 00", {"SequenceControlNumber": 2, "RemainingDischargeTime": 0}),
    (LEAF_V2H, 1569, 0x209, "02 05 00 00 00 00 00 00", {"SequenceControlNumber": 2, "RemainingDischargeTime": 5}),
]


@pytest.mark.parametrize("path, line, frame_id, raw, expected", REAL_FRAMES,
                         ids=[f"{p.stem}:{line}:0x{fid:03X}" for p, line, fid, _, _ in REAL_FRAMES])
def test_real_frame_decodes_to_hand_computed_values(shared_traces: dict[str, Trace], path, line, frame_id, raw,
                                                    expected) -> None:
    frame = frame_at(shared_traces[path.name], line)
    assert (frame.frame_id, frame.data) == (frame_id, bytes.fromhex(raw))
    signals = decode(frame.frame_id, frame.data)
    assert {name: signals[name] for name in expected} == expected
    assert encode(frame_id, signals) == frame.data or frame_id in (0x102, 0x109)  # bits not in the DBC are dropped


def test_every_id_of_the_reference_is_covered_by_real_or_synthetic_frames() -> None:
    covered = {frame_id for _, _, frame_id, _, _ in REAL_FRAMES} | {0x118}
    assert covered == {m.frame_id for m in messages.database().messages}


def test_every_chademo_frame_of_the_shared_traces_decodes(shared_traces: dict[str, Trace]) -> None:
    for trace in shared_traces.values():
        for frame in trace.frames:
            if messages.is_chademo(frame.frame_id):
                decode(frame.frame_id, frame.data)


@pytest.mark.parametrize("bit, name", list(enumerate(["FaultBatteryOvervoltage", "FaultBatteryUndervoltage",
                                                 "FaultCurrentDeviation", "FaultHighBatteryTemperature",
                                                 "FaultVoltageDeviation"])))
def test_fault_bits_of_0x102_byte_4(bit: int, name: str) -> None:
    data = encode("EvChargeStatus", {name: 1})
    assert data == bytes([0, 0, 0, 0, 1 << bit, 0, 0, 0])
    assert decode(0x102, data)[name] == 1


@pytest.mark.parametrize("bit, name", [(0, "Charging"), (1, "Malfunction"), (2, "ConnectorLocked"),
                                       (3, "BatteryIncompatible"), (4, "ChargingSystemMalfunction"),
                                       (5, "StopControl")])
def test_status_bits_of_0x109_byte_5(bit: int, name: str) -> None:
    assert encode("EvseStatus", {name: 1})[5] == 1 << bit


def test_0x118_extended_features() -> None:
    data = encode(0x118, {"DynamicControl": 1, "HighVoltageControl": 1, "ThermalCableFlags": 0x12,
                          "PermissionToResetMaxChargingTime": 1})
    assert data == bytes([0b101, 0, 0, 0, 0, 0x12, 1, 0])


def test_inverted_discharge_currents_are_exact_over_the_whole_byte() -> None:
    for amperes in range(256):
        data = encode("EvseDischargeStatus", {"PresentDischargeCurrent": amperes, "AvailableInputCurrent": amperes})
        assert data[0] == data[3] == 0xFF - amperes
        signals = decode(0x208, data)
        assert signals["PresentDischargeCurrent"] == signals["AvailableInputCurrent"] == amperes
    assert encode("EvDischargeLimits", {})[0] == 0xFF  # a signal not given is its physical zero: 0 A


def test_sides_come_from_the_dbc_senders() -> None:
    assert messages.frame_ids(Side.EV) == (0x100, 0x101, 0x102, 0x110, 0x200, 0x201)
    assert messages.frame_ids(Side.EVSE) == (0x108, 0x109, 0x118, 0x208, 0x209)
    assert messages.side_of(0x700) is None and not messages.is_chademo(0x202)


def test_refusals_name_the_message() -> None:
    with pytest.raises(FrameError, match="EvChargeStatus: no signal Bogus"):
        encode("EvChargeStatus", {"Bogus": 1})
    with pytest.raises(FrameError, match="EvChargeStatus.*ChargeCurrentRequest"):
        encode("EvChargeStatus", {"ChargeCurrentRequest": 300})
    with pytest.raises(FrameError, match="0x109 EvseStatus: 7 data bytes"):
        decode(0x109, bytes(7))
    with pytest.raises(FrameError, match="0x700 is not a CHAdeMO message"):
        decode(0x700, bytes(8))


def test_durations_and_state_of_charge() -> None:
    assert messages.minutes_or_tens_of_seconds_s(0xFF, 90) == 5400.0
    assert messages.minutes_or_tens_of_seconds_s(228, 0) == 2280.0
    assert messages.state_of_charge_percent(0x8F, 0xFF) == pytest.approx(56.08, abs=0.01)
    assert messages.state_of_charge_percent(5, 0) is None
    assert messages.protocol_name(3) == "2.0" and messages.protocol_name(9) == "unknown (9)"
