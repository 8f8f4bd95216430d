"""The instrument judges of an OCPP case on recorded frames and a synthetic battery-emulator log: each sampled
energy register against the energy measured to its frame (1.6 MeterValues, 2.0.1 TransactionEvent Updated)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from drivers.csms.ocpp_csms import RecordedFrame
from rig.core.roles import Accuracy, DcLogBatch
from rig.suites.ocpp.metering import compare_samples

POWER_W = 3600.0  # 1 Wh a second: the measured energy to t is t Wh


def log(seconds: int = 400) -> list[DcLogBatch]:
    """A flat 3.6 kW charge (360 V, 10 A) logged every second from t = 0."""
    ones = np.ones((seconds, 3))
    return [DcLogBatch(0.0, 0.0, 1.0, 0, 10.0 * ones, 360.0 * ones, Accuracy(0.001, 0.01), Accuracy(0.0005, 0.05))]


def call(t: float, action: str, payload: dict) -> RecordedFrame:
    return RecordedFrame(t, "CP-1", "charger->rig", json.dumps([2, f"c{t}", action, payload]), "CALL",
                         f"c{t}", action)


def sample_16(t: float, register: float) -> RecordedFrame:
    return call(t, "MeterValues", {"connectorId": 1, "transactionId": 7, "meterValue": [
        {"timestamp": "2027-01-01T00:00:00Z", "sampledValue": [{"value": f"{register:.1f}",
                                                                "context": "Sample.Periodic"}]}]})


def event_201(t: float, event: str, register: float) -> RecordedFrame:
    return call(t, "TransactionEvent", {"eventType": event, "timestamp": "2027-01-01T00:00:00Z",
                                        "triggerReason": "MeterValuePeriodic", "seqNo": 0,
                                        "transactionInfo": {"transactionId": "T-1"}, "meterValue": [
                                            {"timestamp": "2027-01-01T00:00:00Z", "sampledValue": [
                                                {"value": register, "unitOfMeasure": {"unit": "kWh"}}]}]})


def test_each_1_6_sample_is_held_to_the_energy_measured_to_its_frame() -> None:
    start = call(10.0, "StartTransaction", {"connectorId": 1, "idTag": "A", "meterStart": 1000,
                                            "timestamp": "2027-01-01T00:00:00Z"})
    right = compare_samples([start, sample_16(40.0, 1030.0), sample_16(100.0, 1090.0), sample_16(200.0, 1190.0)],
                            log(), 0.005, 50.0)
    assert not isinstance(right, str)
    assert (right.judged, right.skipped) == (2, 1) and abs(right.worst.error_percent) < 0.01
    lagging = compare_samples([start, sample_16(100.0, 1090.0), sample_16(200.0, 1090.0)], log(), 0.005, 50.0)
    assert not isinstance(lagging, str) and lagging.worst.error_percent == pytest.approx(-100.0 * 100 / 190)


def test_2_0_1_samples_are_the_transactions_updated_registers_in_any_unit() -> None:
    frames = [event_201(0.0, "Started", 2.0), event_201(120.0, "Updated", 2.0 + 0.123), event_201(150.0, "Ended", 2.15)]
    found = compare_samples(frames, log(), 0.005, 50.0)
    assert not isinstance(found, str)
    assert found.judged == 1 and found.worst.error_percent == pytest.approx(100.0 * (123 - 120) / 120)


def test_nothing_to_judge_is_said_never_passed() -> None:
    start = call(0.0, "StartTransaction", {"connectorId": 1, "idTag": "A", "meterStart": 0,
                                           "timestamp": "2027-01-01T00:00:00Z"})
    assert "no sampled energy register" in compare_samples([start, sample_16(20.0, 20.0)], log(), 0.005, 50.0)
    assert "no transaction" in compare_samples([sample_16(20.0, 20.0)], log(), 0.005, 50.0)
    assert "logged nothing" in compare_samples([start, sample_16(100.0, 100.0)], [], 0.005, 50.0)
    broken = call(0.0, "StartTransaction", {"connectorId": 1, "idTag": "A", "meterStart": "lots",
                                            "timestamp": "2027-01-01T00:00:00Z"})
    assert "not a number" in compare_samples([broken, sample_16(100.0, 100.0)], log(), 0.005, 50.0)
