"""What only a rig with instruments can judge in an OCPP case: the charger's reports against what was measured.

- The energy of a transaction: the charger reports meterStart and meterStop
  (StartTransaction, StopTransaction; Wh); the battery emulator's data logger
  measured the energy through the vehicle inlet over the same span (its
  records summed, voltage x current per record, clipped to the span). Energy
  moves only while the vehicle is plugged in (the battery emulator's output
  is on only then), so the log, which runs from plug-in to unplug, covers
  every watt-hour of the transaction.
- A connector reported Available carries no current: the largest current the
  logger saw while the charger's last StatusNotification for connector 1
  said Available.

Uncertainty: the logger's stated accuracy (voltage and current, worst case
over the span, as a rectangular half width), the 1 Wh resolution of the
integer meter values, and the frames' time stamps at the span's ends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from rig.core.results import UncertaintyComponent
from rig.core.roles import DcLogBatch
from rig.core.uncertainty import Uncertainty, expanded, normal, rectangular

AVG, MAX, MIN = 0, 2, 1


@dataclass(frozen=True)
class MeterComparison:
    reported_wh: float
    measured_wh: float
    error_percent: float
    uncertainty: Uncertainty
    span_s: tuple[float, float]


def _records(batches: list[DcLogBatch]) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, Any, Any]:
    period = batches[0].period_s
    t = np.concatenate([b.started_s + (b.first + np.arange(len(b))) * b.period_s for b in batches])
    current = np.concatenate([b.current_a for b in batches])
    voltage = np.concatenate([b.voltage_v for b in batches])
    return t, period, current, voltage, batches[0].current_accuracy, batches[0].voltage_accuracy


def _payload(frame: Any) -> dict:
    return json.loads(frame.text)[3]


def compare_transaction(frames: list[Any], batches: list[DcLogBatch], frame_time_u_s: float,
                        min_energy_wh: float) -> MeterComparison | str:
    """The transaction's reported energy against the measured one, or why it cannot be compared."""
    starts = [f for f in frames if f.direction == "charger->rig" and f.kind == "CALL" and f.action == "StartTransaction"]
    stops = [f for f in frames if f.direction == "charger->rig" and f.kind == "CALL" and f.action == "StopTransaction"]
    if not starts or not stops:
        return "the charger sent no complete transaction (StartTransaction and StopTransaction)"
    if not batches:
        return "the battery emulator logged nothing (no vehicle was plugged in)"
    start, stop = starts[0], stops[-1]
    try:
        reported = float(_payload(stop)["meterStop"]) - float(_payload(start)["meterStart"])
    except (KeyError, TypeError, ValueError):
        return "the transaction's meterStart or meterStop is not a number"
    t, period, current, voltage, acc_i, acc_v = _records(batches)
    overlap = np.clip(np.minimum(t + period, stop.t) - np.maximum(t, start.t), 0.0, period)
    power = voltage[:, AVG] * current[:, AVG]
    measured = float(np.sum(power * overlap)) / 3600.0
    if measured < min_energy_wh:
        return f"only {measured:.1f} Wh moved in the transaction (at least {min_energy_wh:g} Wh are needed to judge " \
               "the meter to a percent)"
    accuracy_wh = float(np.sum((np.abs(voltage[:, AVG]) * (acc_i.gain * np.abs(current[:, AVG]) + acc_i.offset)
                                + np.abs(current[:, AVG]) * (acc_v.gain * np.abs(voltage[:, AVG]) + acc_v.offset))
                               * overlap)) / 3600.0
    edge_w = float(np.max(np.abs(power))) if len(power) else 0.0
    u_wh = expanded(rectangular("battery emulator log accuracy (V and I, worst case)", accuracy_wh),
                    rectangular("meterStart resolution (1 Wh)", 0.5), rectangular("meterStop resolution (1 Wh)", 0.5),
                    normal("span ends' time stamps (rig clock)", 2 * frame_time_u_s * edge_w / 3600.0))
    scale = 100.0 / measured
    return MeterComparison(reported, measured, (reported - measured) * scale, _scaled(u_wh, scale), (start.t, stop.t))


def _scaled(u: Uncertainty, scale: float) -> Uncertainty:
    """The same budget in percent of the measured energy."""
    return expanded(*[UncertaintyComponent(source=c.source, standard=c.standard * scale, distribution=c.distribution)
                      for c in u.components])


def current_while_available(frames: list[Any], batches: list[DcLogBatch]) -> tuple[float, Uncertainty, int]:
    """The largest current (A, magnitude, record maxima) the logger saw while connector 1 was last reported
    Available, its uncertainty, and how many records that was."""
    statuses = sorted((f.t, _payload(f).get("status")) for f in frames if f.direction == "charger->rig"
                      and f.kind == "CALL" and f.action == "StatusNotification" and _payload(f).get("connectorId") == 1)
    if not batches:
        return 0.0, expanded(normal("no record: nothing plugged in, the battery emulator's output off", 0.0)), 0
    t, period, current, _, acc_i, _ = _records(batches)
    times = [s[0] for s in statuses]
    index = np.searchsorted(times, t, side="right") - 1
    available = np.array([i >= 0 and statuses[i][1] == "Available" for i in index], dtype=bool)
    peak = float(np.max(np.abs(current[available, MAX]))) if available.any() else 0.0
    u = expanded(rectangular("battery emulator current accuracy", acc_i.at(peak)))
    return peak, u, int(available.sum())
