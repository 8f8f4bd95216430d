"""The charger's current and voltage at the vehicle inlet, as the battery emulator logged them: what a CHAdeMO
limit is judged on.

The battery emulator sits behind the vehicle's contactor at the inlet and logs
its terminals every period (``rig.core.roles.DcLogger``): the average, minimum
and maximum of current and voltage over each period, on the rig clock's time
axis (the log's trigger was stamped on it, as were the vehicle's frames and
contact edges). Every current and voltage limit of a session, and every
reaction time, is decided here from those records with their uncertainty:
the instrument's stated accuracy at the reading, the scatter of its
readings, the period (a crossing is known only to lie within its record) and
the stamps of the trigger and of the rig's own action. The charger's 0x109 /
0x208 reports are not evidence of any of these; they are checked against
the records instead (``report_disagreements``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rig.chademo.session import Session, SessionFrame
from rig.core.results import Uncertainty
from rig.core.roles import Accuracy, DcLogBatch
from rig.core.uncertainty import expanded, normal, rectangular

AVG, MIN, MAX = 0, 1, 2


class LogGap(ValueError):
    """The log's batches do not join up (records were lost): what fell in the gap cannot be judged."""


@dataclass(frozen=True)
class InletTrace:
    """The session's log as arrays: record ``k`` covers [t[k], t[k] + period_s)."""

    t: np.ndarray
    period_s: float
    started_u_s: float
    current_a: np.ndarray
    voltage_v: np.ndarray
    current_accuracy: Accuracy
    voltage_accuracy: Accuracy

    @classmethod
    def from_batches(cls, batches: list[DcLogBatch]) -> InletTrace:
        """One trace from the batches fetched during the session; ``LogGap`` if any record is missing."""
        if not batches:
            raise LogGap("the battery emulator logged nothing")
        first = batches[0]
        expected = first.first
        for batch in batches:
            if batch.first != expected or batch.started_s != first.started_s or batch.period_s != first.period_s:
                raise LogGap(f"records {expected}..{batch.first - 1} of the log are missing (fetched batches do "
                             f"not join up)")
            expected += len(batch)
        current = np.concatenate([b.current_a for b in batches]) if expected else np.empty((0, 3))
        voltage = np.concatenate([b.voltage_v for b in batches]) if expected else np.empty((0, 3))
        t = first.started_s + (first.first + np.arange(len(current))) * first.period_s
        return cls(t, first.period_s, first.started_u_s, current, voltage, first.current_accuracy,
                   first.voltage_accuracy)

    @property
    def end_s(self) -> float:
        return float(self.t[-1] + self.period_s) if len(self.t) else 0.0

    def frame(self) -> pd.DataFrame:
        """The records as evidence: time (s, rig clock), current (A, into the vehicle) and voltage (V)."""
        return pd.DataFrame({"t_s": self.t, "current_avg_a": self.current_a[:, AVG],
                             "current_min_a": self.current_a[:, MIN], "current_max_a": self.current_a[:, MAX],
                             "voltage_avg_v": self.voltage_v[:, AVG], "voltage_min_v": self.voltage_v[:, MIN],
                             "voltage_max_v": self.voltage_v[:, MAX]})

    def scatter(self, column: np.ndarray) -> float:
        """Standard deviation of one record's average, from the trace itself: the median successive
        difference (robust against the charger's own steps), scaled for a normal distribution."""
        if len(column) < 3:
            return 0.0
        return float(1.4826 * np.median(np.abs(np.diff(column))) / np.sqrt(2.0))

    def reading_uncertainty(self, what: str, reading: float, accuracy: Accuracy, scatter: float) -> Uncertainty:
        """A value read from one record: the instrument's accuracy at it and the records' scatter."""
        return expanded(rectangular(f"{what}: instrument accuracy +-({accuracy.gain:g} x reading + "
                                    f"{accuracy.offset:g})", accuracy.at(reading)),
                        normal(f"{what}: scatter of one {self.period_s * 1e3:g} ms record", 2.0 * scatter))


# -- the limits on current and voltage -----------------------------------------------------------------


def _steps(frames: list[SessionFrame], value: Callable[[SessionFrame], float]) -> tuple[list[float], list[float]]:
    return [f.t for f in frames], [float(value(f)) for f in frames]


def _at(times: list[float], values: list[float], t: np.ndarray, before: float = np.nan) -> np.ndarray:
    """A step function (value from each time on) at instants ``t``; ``before`` ahead of the first."""
    index = np.searchsorted(np.asarray(times), t, side="right") - 1
    out = np.asarray(values, dtype=float)[np.clip(index, 0, None)] if values else np.full(len(t), before)
    return np.where(index < 0, before, out)


def allowed_charge_a(session: Session, t: np.ndarray, settle_s: float) -> np.ndarray:
    """min(the vehicle's request, the charger's available current) at each instant, held at the highest value of
    the last ``settle_s`` (after the target falls the charger may take that long to follow); NaN before the
    vehicle has asked and the charger offered."""
    requests, offers = session.of("EvChargeStatus"), session.of("EvseCapability")
    times = np.asarray(sorted({f.t for f in (*requests, *offers)}))
    request = _at(*_steps(requests, lambda f: f["ChargeCurrentRequest"]), times)
    offer = _at(*_steps(offers, lambda f: f["AvailableOutputCurrent"]), times)
    return _held(times, np.minimum(request, offer), t, settle_s)


def allowed_discharge_a(session: Session, t: np.ndarray, settle_s: float) -> np.ndarray:
    """The vehicle's 0x200 maximum discharge current at each instant, held as ``allowed_charge_a`` holds its
    target; NaN before the vehicle sent one (it offers no discharge: a charge-only vehicle never does)."""
    limits = session.of("EvDischargeLimits")
    times, values = _steps(limits, lambda f: f["MaxDischargeCurrent"])
    return _held(np.asarray(times), np.asarray(values, dtype=float), t, settle_s)


def _held(times: np.ndarray, target: np.ndarray, t: np.ndarray, settle_s: float) -> np.ndarray:
    """A target that takes ``target[k]`` from ``times[k]``, held at its highest value of the last ``settle_s``,
    at instants ``t``: value ``k`` counts from ``times[k]`` until ``settle_s`` after the next one replaced it,
    so at ``t`` the candidates are a run of consecutive values, whose maximum a sparse table answers at once
    for every instant (a session has tens of thousands of records)."""
    if len(times) == 0:
        return np.full(len(t), np.nan)
    last = np.searchsorted(times, t, side="right") - 1  # the value in force at t
    first = np.maximum(np.searchsorted(times, t - settle_s, side="right") - 1, 0)  # still held at t
    held = _range_max(np.where(np.isnan(target), -np.inf, target), first, np.maximum(last, first))
    return np.where((last < 0) | np.isneginf(held), np.nan, held)


def _range_max(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """max(values[lo[i]..hi[i]]) for every i (inclusive bounds), from a sparse table of powers of two."""
    table = [values]
    while 2 ** len(table) <= len(values):
        half = 2 ** (len(table) - 1)
        table.append(np.maximum(table[-1][:-half], table[-1][half:]))
    span = (hi - lo + 1).astype(float)
    level = np.floor(np.log2(span)).astype(int)
    out = np.empty(len(lo))
    for j in np.unique(level):
        pick = level == j
        out[pick] = np.maximum(table[j][lo[pick]], table[j][hi[pick] - 2 ** j + 1])
    return out


def discharge_excess_a(trace: InletTrace, session: Session, settle_s: float) -> tuple[float, Uncertainty]:
    """Most the charger drew from the vehicle (a record's average) beyond the vehicle's 0x200 maximum discharge
    current, held as ``allowed_discharge_a`` says, over the whole session: where the vehicle offers nothing
    (before its offer, after it, a charge session) any discharge counts."""
    return _excess(trace, -trace.current_a[:, AVG], lambda t: allowed_discharge_a(session, t, settle_s))


def overshoot_a(trace: InletTrace, session: Session, settle_s: float) -> tuple[float, Uncertainty]:
    """Most the charger's current (a record's average) exceeded min(request, available), held as
    ``allowed_charge_a`` says, over the whole session: before the first request and after the last the
    allowance is nothing, so current while it should be off is an overshoot too."""
    return _excess(trace, trace.current_a[:, AVG], lambda t: allowed_charge_a(session, t, settle_s))


def _excess(trace: InletTrace, current: np.ndarray,
            allowed_at: Callable[[np.ndarray], np.ndarray]) -> tuple[float, Uncertainty]:
    """The most ``current`` (one way, as a magnitude) exceeded what was allowed over each record (the larger of
    the allowance at its start and at its end; nothing where nothing was allowed), with its uncertainty."""
    allowed = np.fmax(allowed_at(trace.t), allowed_at(trace.t + trace.period_s))
    excess = current - np.where(np.isnan(allowed), 0.0, allowed)
    k = int(np.argmax(excess))
    return float(excess[k]), trace.reading_uncertainty("current", float(current[k]), trace.current_accuracy,
                                                       trace.scatter(current))


def tracking_error_a(trace: InletTrace, session: Session, settle_s: float) -> tuple[float | None, Uncertainty]:
    """Largest |current - min(request, available)| at records where that target is above zero, has been
    unchanged for ``settle_s`` and the charger says it is charging (109.5.0): a charger that stops on its own
    is judged by its stop, not by its tracking. None when no record qualifies."""
    status = session.of("EvseStatus")
    current = trace.current_a[:, AVG]
    target = allowed_charge_a(session, trace.t, 0.0)
    changes = _change_times(session.of("EvChargeStatus"), "ChargeCurrentRequest") + \
        _change_times(session.of("EvseCapability"), "AvailableOutputCurrent")
    last_change = _at(sorted(changes), sorted(changes), trace.t, before=-np.inf)
    steady = trace.t - last_change >= settle_s - 1e-9
    charging = _at(*_steps(status, lambda f: f["Charging"]), trace.t, before=0.0) > 0
    use = steady & charging & (target > 0)
    if not np.any(use):
        return None, trace.reading_uncertainty("current", 0.0, trace.current_accuracy, 0.0)
    error = np.where(use, np.abs(current - target), -1.0)
    k = int(np.argmax(error))
    return float(error[k]), trace.reading_uncertainty("current", float(current[k]), trace.current_accuracy,
                                                      trace.scatter(current))


def _change_times(frames: list[SessionFrame], signal: str) -> list[float]:
    """When ``signal`` took a new value (its first frame included)."""
    out, previous = [], None
    for frame in frames:
        if frame[signal] != previous:
            out.append(frame.t)
            previous = frame[signal]
    return out


def extreme_current_a(trace: InletTrace, sign: float) -> tuple[float, Uncertainty]:
    """The largest charging (``sign`` +1) or discharging (-1) current a record averaged, as a magnitude (0 when
    it never flowed that way)."""
    current = sign * trace.current_a[:, AVG]
    k = int(np.argmax(current))
    value = max(float(current[k]), 0.0)
    return value, trace.reading_uncertainty("current", value, trace.current_accuracy, trace.scatter(current))


def min_discharge_voltage_margin_v(trace: InletTrace, session: Session,
                                   stopped_a: float) -> tuple[float | None, Uncertainty]:
    """Lowest inlet voltage (a record's average) while the charger discharged more than ``stopped_a``, less the
    vehicle's minimum discharge voltage (0x200) then in force: negative means it discharged below it."""
    floors = session.of("EvDischargeLimits")
    voltage = trace.voltage_v[:, AVG]
    floor = _at(*_steps(floors, lambda f: f["MinDischargeVoltage"]), trace.t)
    use = (trace.current_a[:, AVG] < -stopped_a) & ~np.isnan(floor)
    if not np.any(use):
        return None, trace.reading_uncertainty("voltage", 0.0, trace.voltage_accuracy, 0.0)
    margin = np.where(use, voltage - floor, np.inf)
    k = int(np.argmin(margin))
    return float(margin[k]), trace.reading_uncertainty("voltage", float(voltage[k]), trace.voltage_accuracy,
                                                       trace.scatter(voltage))


def energy_wh(trace: InletTrace) -> tuple[float, float, Uncertainty]:
    """Energy into and out of the vehicle, and its uncertainty from both accuracies (taken as fully
    correlated over the session: a gain error does not average out)."""
    power = trace.voltage_v[:, AVG] * trace.current_a[:, AVG]
    step = power * trace.period_s / 3600.0
    bound = float(np.sum(np.abs(trace.voltage_v[:, AVG]) * trace.current_accuracy.offset * (np.abs(
        trace.current_a[:, AVG]) > 0) + np.abs(power) * (trace.current_accuracy.gain + trace.voltage_accuracy.gain)
        + np.abs(trace.current_a[:, AVG]) * trace.voltage_accuracy.offset) * trace.period_s / 3600.0)
    return float(step[step > 0].sum()), float(-step[step < 0].sum()), \
        expanded(rectangular("energy: instrument accuracy of voltage and current, every record", bound))


# -- reaction times ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reaction:
    """From the rig's action to the charger's current at the inlet down to the stop threshold for good."""

    start_s: float
    end_s: float | None
    uncertainty: Uncertainty | None = None
    untimeable: str | None = None

    @property
    def seconds(self) -> float | None:
        return None if self.end_s is None else round(self.end_s - self.start_s, 6)


def reaction(trace: InletTrace, caused_at_s: float, caused_u_s: float, caused_by: str,
             stopped_a: float) -> Reaction:
    """When the charger's current, either way, last exceeded ``stopped_a`` after the rig acted: the crossing
    lies within that record (its extreme above, every later record's extremes at or below); None if the
    current was still flowing when the log ended. Untimeable when no current flowed as the rig acted."""
    magnitude = np.maximum(np.abs(trace.current_a[:, MIN]), np.abs(trace.current_a[:, MAX]))
    at_cause = np.searchsorted(trace.t, caused_at_s, side="left") - 1  # the record holding the instants just before
    if at_cause < 0 or magnitude[at_cause] <= stopped_a:
        return Reaction(caused_at_s, None, untimeable=(
            f"no current above {stopped_a:g} A flowed at the inlet when the rig acted ({caused_by}, "
            f"t = {caused_at_s:.3f} s), so the charger's reaction to it cannot be timed"))
    above = np.flatnonzero(magnitude > stopped_a)
    last = int(above[-1])
    if last == len(magnitude) - 1:
        return Reaction(caused_at_s, None)
    # The crossing lies within the record, and not before the rig acted.
    low, high = max(float(trace.t[last]), caused_at_s), float(trace.t[last]) + trace.period_s
    end = (low + high) / 2.0
    average = np.abs(trace.current_a[:, AVG])
    slope = abs(float(average[max(last - 1, 0)] - average[min(last + 1, len(average) - 1)])) / (2 * trace.period_s)
    components = [rectangular(f"the crossing lies within one {trace.period_s * 1e3:g} ms record", (high - low) / 2),
                  rectangular("the log's trigger, stamped around its command on the rig clock", trace.started_u_s),
                  rectangular(f"the rig's action ({caused_by}), stamped around its call", caused_u_s)]
    if slope > 0:
        components.append(rectangular("the threshold's current accuracy over the current's slope",
                                      trace.current_accuracy.at(stopped_a) / slope))
    return Reaction(caused_at_s, end, expanded(*components))


# -- the charger's word against the measurement ------------------------------------------------------------


def report_disagreements(trace: InletTrace, session: Session, quantum_a: float,
                         cycle_s: float) -> list[str]:
    """Episodes where a 0x109 / 0x208 current report lies outside what the inlet carried within one cycle of
    it, either side (a charger measures before it sends; the simulated one after it steps) (the records' averages, widened by half the report's 1 A quantum and the measurement's
    expanded uncertainty): one line per episode. A report from before the log began or after it ended is not
    judged."""
    current = trace.current_a[:, AVG]
    scatter = trace.scatter(current)
    found: list[str] = []
    for name, signal, sign in (("EvseStatus", "PresentCurrent", 1.0), ("EvseDischargeStatus", "PresentDischargeCurrent",
                                                                       -1.0)):
        episode: list[tuple[float, float, float, float]] = []
        for frame in session.of(name):
            lo, hi = np.searchsorted(trace.t, [frame.t - cycle_s, frame.t + cycle_s])
            if frame.t > trace.end_s or lo >= hi or frame.t - cycle_s < trace.t[0]:
                continue
            window = np.maximum(sign * current[lo:hi], 0.0)
            low, high = float(window.min()), float(window.max())
            u = 2.0 * float(np.hypot(trace.current_accuracy.at(high) / np.sqrt(3.0), scatter))  # as reading_uncertainty
            reported = frame[signal]
            if reported < low - quantum_a / 2 - u or reported > high + quantum_a / 2 + u:
                episode.append((frame.t, reported, low, high))
            elif episode:
                found.append(_describe(name, signal, episode))
                episode = []
        if episode:
            found.append(_describe(name, signal, episode))
    return found


def _describe(name: str, signal: str, episode: list[tuple[float, float, float, float]]) -> str:
    t, reported, low, high = episode[0]
    return (f"the charger's {name} {signal} disagrees with the inlet measurement in {len(episode)} report(s) from "
            f"t = {t:.3f} s to {episode[-1][0]:.3f} s (first: reported {reported:g} A, measured {low:.2f}.."
            f"{high:.2f} A within a cycle of it, beyond half a 1 A step and the measurement's uncertainty)")
