"""What only a rig with instruments can judge in an OCPP case: the charger's reports against what was measured.

- The energy of a transaction: the charger reports meterStart and meterStop
  (1.6: StartTransaction, StopTransaction; 2.0.1: the Energy.Active.Import.Register
  of TransactionEvent Started and Ended; Wh); the battery emulator's data logger
  measured the energy through the vehicle inlet over the same span (its
  records summed, voltage x current per record, clipped to the span). Energy
  moves only while the vehicle is plugged in (the battery emulator's output
  is on only then), so the log, which runs from plug-in to unplug, covers
  every watt-hour of the transaction.
- The energy of each sample in between: every energy register the charger
  sampled during the transaction, less its starting register, against the
  energy measured up to that sample's frame.
- The composite schedule it reported against the power that flowed.
- A connector reported Available carries no current: the largest current the
  logger saw while the charger's last StatusNotification for connector 1
  said Available.

Uncertainty: the logger's stated accuracy (voltage and current, worst case
over the span, as a rectangular half width), the 1 Wh resolution of the
integer meter values, and the frames' time stamps at the span's ends.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from rig.core.results import UncertaintyComponent
from rig.protocols.ocpp.datetimes import wall_of
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
    return _against_log(reported, (start.t, stop.t), batches, frame_time_u_s, min_energy_wh,
                        ("meterStart resolution (1 Wh)", "meterStop resolution (1 Wh)", 0.5))


def _transaction_events(frames: list[Any], batches: list[DcLogBatch]) -> tuple[Any, Any] | str:
    """The first transaction's TransactionEvent Started and its Ended (2.0.1, 2.1), or why there is none to judge."""
    events = [f for f in frames if f.direction == "charger->rig" and f.kind == "CALL"
              and f.action == "TransactionEvent"]
    start = next((f for f in events if _payload(f).get("eventType") == "Started"), None)
    tx = _payload(start).get("transactionInfo", {}).get("transactionId") if start is not None else None
    stop = next((f for f in events if _payload(f).get("eventType") == "Ended"
                 and _payload(f).get("transactionInfo", {}).get("transactionId") == tx), None)
    if start is None or stop is None:
        return "the charger sent no complete transaction (TransactionEvent Started and Ended)"
    if not batches:
        return "the battery emulator logged nothing (no vehicle was plugged in)"
    return start, stop


def compare_transaction_events(frames: list[Any], batches: list[DcLogBatch], frame_time_u_s: float,
                               min_energy_wh: float) -> MeterComparison | str:
    """OCPP 2.0.1: the Energy.Active.Import.Register of the first transaction's TransactionEvent Started and of
    its Ended against the energy measured between the two frames, or why it cannot be compared."""
    span = _transaction_events(frames, batches)
    if isinstance(span, str):
        return span
    start, stop = span
    begin, end = _register(_payload(start)), _register(_payload(stop))
    if begin is None or end is None:
        return "TransactionEvent Started or Ended carries no Energy.Active.Import.Register"
    return _against_log(end - begin, (start.t, stop.t), batches, frame_time_u_s, min_energy_wh,
                        ("Started register resolution (0.1 Wh)", "Ended register resolution (0.1 Wh)", 0.05))


def compare_bidirectional(frames: list[Any], batches: list[DcLogBatch], frame_time_u_s: float,
                          min_energy_wh: float) -> MeterComparison | str:
    """OCPP 2.1 V2X: the net energy the first transaction's registers moved (Energy.Active.Import.Register less
    Energy.Active.Export.Register, TransactionEvent Started to Ended; an export register never reported counts as
    none exported) against the net energy the battery emulator measured between the two frames, in percent of
    all the energy that moved either way; or why it cannot be compared. A charger that discharged but reports no
    export, or charged when told to discharge but meters it right, shows as what it is."""
    span = _transaction_events(frames, batches)
    if isinstance(span, str):
        return span
    start, stop = span
    moved = []
    for measurand in ("Energy.Active.Import.Register", "Energy.Active.Export.Register"):
        begin, end = _register(_payload(start), measurand), _register(_payload(stop), measurand)
        if measurand.endswith("Import.Register") and (begin is None or end is None):
            return f"TransactionEvent Started or Ended carries no {measurand}"
        moved.append(0.0 if begin is None or end is None else end - begin)
    return _against_log(moved[0] - moved[1], (start.t, stop.t), batches, frame_time_u_s, min_energy_wh,
                        ("registers' resolution at the start (0.1 Wh)", "registers' resolution at the end (0.1 Wh)",
                         0.1), per_gross=True)


def _register(payload: dict, measurand: str = "Energy.Active.Import.Register") -> float | None:
    """The Energy.Active.Import.Register (Wh) among a TransactionEvent's or a MeterValues' sampled values (of its
    last meterValue: the reading nearest the frame), or None. 2.0.1 gives a number and ``unitOfMeasure``, 1.6 a
    decimal string and ``unit`` (both default to Wh and to this measurand)."""
    for meter in reversed(payload.get("meterValue", [])):
        for sampled in meter.get("sampledValue", []):
            if sampled.get("measurand", "Energy.Active.Import.Register") != measurand:
                continue
            unit = sampled.get("unitOfMeasure", {"unit": sampled.get("unit", "Wh")})
            value = sampled.get("value")
            if isinstance(value, str):
                try:
                    value = float(value)
                except ValueError:
                    continue
            if unit.get("unit", "Wh") in ("Wh", "kWh") and isinstance(value, (int, float)) \
                    and not isinstance(value, bool):
                scale = (1000.0 if unit.get("unit") == "kWh" else 1.0) * 10.0 ** unit.get("multiplier", 0)
                return float(value) * scale
        return None
    return None


@dataclass(frozen=True)
class SampleComparison:
    worst: MeterComparison
    """The sample furthest from the measurement, with the widest budget of any judged sample: under any decision
    rule no sample passes on a narrower budget than its own (the plans' limits are symmetric)."""
    judged: int
    skipped: int
    """Samples too early in the transaction to be judged to a percent (less than the plan's min_energy_wh)."""


def compare_samples(frames: list[Any], batches: list[DcLogBatch], frame_time_u_s: float,
                    min_energy_wh: float) -> SampleComparison | str:
    """Each energy register the charger sampled during its first transaction (1.6: MeterValues with the
    transaction's id; 2.0.1: TransactionEvent Updated of that transaction), less the transaction's starting
    register, against the energy the battery emulator measured from the transaction's start frame to the sample's
    frame: a meter right at the ends but wrong in between (a cached reading, a register that lags) shows here.
    The sample's frame time stands for its reading (a sample is sent when taken; the uncertainty of the frame
    times is in the budget)."""
    calls = [f for f in frames if f.direction == "charger->rig" and f.kind == "CALL"]
    start_16 = next((f for f in calls if f.action == "StartTransaction"), None)
    start_201 = next((f for f in calls if f.action == "TransactionEvent"
                      and _payload(f).get("eventType") == "Started"), None)
    if start_16 is not None:
        begin = _number(_payload(start_16).get("meterStart"))
        samples = [f for f in calls if f.action == "MeterValues" and f.t > start_16.t
                   and "transactionId" in _payload(f)]
        start = start_16
    elif start_201 is not None:
        begin = _register(_payload(start_201))
        tx = _payload(start_201).get("transactionInfo", {}).get("transactionId")
        samples = [f for f in calls if f.action == "TransactionEvent" and f.t > start_201.t
                   and _payload(f).get("eventType") == "Updated"
                   and _payload(f).get("transactionInfo", {}).get("transactionId") == tx]
        start = start_201
    else:
        return "the charger started no transaction"
    if begin is None:
        return "the transaction's starting meter reading is not a number"
    if not batches:
        return "the battery emulator logged nothing (no vehicle was plugged in)"
    compared: list[MeterComparison] = []
    skipped = 0
    for sample in samples:
        reading = _register(_payload(sample))
        if reading is None:
            continue
        one = _against_log(reading - begin, (start.t, sample.t), batches, frame_time_u_s, min_energy_wh,
                           ("starting register resolution", "sampled register resolution", 0.5))
        if isinstance(one, str):
            skipped += 1
        else:
            compared.append(one)
    if not compared:
        return f"no sampled energy register during the transaction to judge ({skipped} too early to judge to a " \
               f"percent)"
    worst = max(compared, key=lambda c: abs(c.error_percent))
    widest = max(compared, key=lambda c: c.uncertainty.expanded)
    return SampleComparison(dataclasses.replace(worst, uncertainty=widest.uncertainty), len(compared), skipped)


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _against_log(reported: float, span: tuple[float, float], batches: list[DcLogBatch], frame_time_u_s: float,
                 min_energy_wh: float, resolution: tuple[str, str, float], per_gross: bool = False
                 ) -> MeterComparison | str:
    """A reported energy against what the logger measured over ``span`` (its records clipped to it), with the
    budget: the logger's accuracy, the two readings' resolution (half widths), the span ends' time stamps. The
    net energy into the vehicle is compared; the percent is of it, or with ``per_gross`` of all the energy that
    moved either way (a bidirectional transaction's net can be near nothing)."""
    t, period, current, voltage, acc_i, acc_v = _records(batches)
    overlap = np.clip(np.minimum(t + period, span[1]) - np.maximum(t, span[0]), 0.0, period)
    power = voltage[:, AVG] * current[:, AVG]
    measured = float(np.sum(power * overlap)) / 3600.0
    base = float(np.sum(np.abs(power) * overlap)) / 3600.0 if per_gross else measured
    if base < min_energy_wh:
        return f"only {base:.1f} Wh moved in the transaction (at least {min_energy_wh:g} Wh are needed to judge " \
               "the meter to a percent)"
    accuracy_wh = float(np.sum((np.abs(voltage[:, AVG]) * (acc_i.gain * np.abs(current[:, AVG]) + acc_i.offset)
                                + np.abs(current[:, AVG]) * (acc_v.gain * np.abs(voltage[:, AVG]) + acc_v.offset))
                               * overlap)) / 3600.0
    edge_w = float(np.max(np.abs(power))) if len(power) else 0.0
    u_wh = expanded(rectangular("battery emulator log accuracy (V and I, worst case)", accuracy_wh),
                    rectangular(resolution[0], resolution[2]), rectangular(resolution[1], resolution[2]),
                    normal("span ends' time stamps (rig clock)", 2 * frame_time_u_s * edge_w / 3600.0))
    scale = 100.0 / base
    return MeterComparison(reported, measured, (reported - measured) * scale, _scaled(u_wh, scale), span)


def _scaled(u: Uncertainty, scale: float) -> Uncertainty:
    """The same budget in percent of the measured energy."""
    return expanded(*[UncertaintyComponent(source=c.source, standard=c.standard * scale, distribution=c.distribution)
                      for c in u.components])


def current_while_available(frames: list[Any], batches: list[DcLogBatch]) -> tuple[float, Uncertainty, int]:
    """The largest current (A, magnitude, record maxima) the logger saw while connector 1 was last reported
    Available, its uncertainty, and how many records that was."""
    statuses = sorted((f.t, _payload(f).get("status", _payload(f).get("connectorStatus"))) for f in frames
                      if f.direction == "charger->rig" and f.kind == "CALL" and f.action == "StatusNotification"
                      and _payload(f).get("connectorId") == 1 and _payload(f).get("evseId", 1) == 1)
    if not batches:
        return 0.0, expanded(normal("no record: nothing plugged in, the battery emulator's output off", 0.0)), 0
    t, period, current, _, acc_i, _ = _records(batches)
    times = [s[0] for s in statuses]
    index = np.searchsorted(times, t, side="right") - 1
    available = np.array([i >= 0 and statuses[i][1] == "Available" for i in index], dtype=bool)
    peak = float(np.max(np.abs(current[available, MAX]))) if available.any() else 0.0
    u = expanded(rectangular("battery emulator current accuracy", acc_i.at(peak)))
    return peak, u, int(available.sum())


STEP_RESOLUTION_S = 1.0
"""A composite schedule's periods start at whole seconds (startPeriod is an integer): a change the charger makes
may come up to this much before or after the second it reports."""


@dataclass(frozen=True)
class ScheduleComparison:
    worst_w: float
    """The largest |measured - reported limit| over the judged records (W, or A for a schedule in A)."""
    uncertainty: Uncertainty
    records: int
    unit: str


def against_schedule(frames: list[Any], batches: list[DcLogBatch], epoch_offset_s: float,
                     settle_s: float) -> ScheduleComparison | str:
    """The charger's last reported composite schedule (GetCompositeSchedule) against the power (or current) the
    battery emulator measured over it, while the vehicle asked for more than the limit: a schedule the charger
    reports but does not follow, or follows but does not report, shows as a gap either way.

    Judged are the records from ``settle_s`` after each period began (the charger's ramp; and from a second
    before it, the reported start's resolution) and after the session's current first flowed, up to the
    schedule's end, the transaction's stop or the log's end."""
    replies = [f for f in frames if f.direction == "charger->rig" and f.kind == "CALLRESULT"
               and f.action == "GetCompositeSchedule"]
    if not replies:
        return "the charger reported no composite schedule"
    answer = json.loads(replies[-1].text)[2]
    schedule = answer.get("chargingSchedule") or answer.get("schedule")  # 1.6, 2.0.1
    began_at = answer.get("scheduleStart") or (schedule or {}).get("scheduleStart")
    if answer.get("status") != "Accepted" or not schedule or began_at is None:
        return "the charger's composite schedule has no schedule or no start"
    start = wall_of(began_at) - epoch_offset_s
    periods = sorted((start + q["startPeriod"], float(q["limit"])) for q in schedule["chargingSchedulePeriod"])
    end = start + float(schedule.get("duration", 1e12))
    stops = [f.t for f in frames if f.direction == "charger->rig" and f.kind == "CALL" and f.t > start
             and (f.action == "StopTransaction" or (f.action == "TransactionEvent"
                                                    and json.loads(f.text)[3].get("eventType") == "Ended"))]
    if stops:
        end = min(end, stops[0])
    if not batches or not periods:
        return "nothing was logged over the schedule"
    t, period, current, voltage, acc_i, acc_v = _records(batches)
    flowing = np.nonzero(np.abs(current[:, AVG]) > 1.0)[0]
    if len(flowing) == 0:
        return "no current flowed while the schedule applied"
    began = float(t[flowing[0]]) + settle_s
    begins = np.array([p[0] for p in periods])
    index = np.searchsorted(begins, t, side="right") - 1
    unit = schedule["chargingRateUnit"]
    judged = (index >= 0) & (t >= began) & (t + period <= end)
    for begin in begins:  # a change is reported to the whole second (startPeriod), followed within settle_s
        judged &= ~((t + period > begin - STEP_RESOLUTION_S) & (t < begin + settle_s))
    if not judged.any():
        return f"no record of the schedule's span was settled ({settle_s:g} s after each change) while current flowed"
    limits = np.array([periods[i][1] for i in index[judged]])
    value = current[judged, AVG] if unit == "A" else voltage[judged, AVG] * current[judged, AVG]
    gaps = np.abs(value - limits)
    k = int(np.argmax(gaps))
    v, i = voltage[judged, AVG][k], current[judged, AVG][k]
    half = acc_i.at(i) if unit == "A" else abs(v) * acc_i.at(i) + abs(i) * acc_v.at(v)
    return ScheduleComparison(float(gaps[k]), expanded(rectangular("battery emulator accuracy at the worst record",
                                                                   half)), int(judged.sum()), unit)
