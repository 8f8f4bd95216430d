"""Realistic synthetic samples of every plot kind and every suite-report figure, shaped like what the real
procedures record (the columns each ``PlotKind`` declares, its options model, the values real runs put in them)
and taken to the long end of what they hold: long case ids and labels, OCPP message names, large numbers on the
axes (230.0 V, 50.00 Hz, 7400 W), negative powers and currents, read-back noise around a held level.

``KIND_SAMPLES`` has the samples of each plot kind by its registered name; ``REPORT_CASES`` the recorded cases
each suite's own report hook draws its figures from. ``tests/evidence/test_plot_text_fits.py`` holds every
registered kind and every report hook that can draw a figure to having samples here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from rig.core.results import CaseResult, Uncertainty
from rig.evidence.plot_canvas import Drawing, PlotKind
from rig.suites.chademo.procedures import TIMELINE_COLUMNS
from rig.suites.ocpp.sequence_chart import sequence_trace

Columns = dict[str, np.ndarray]


@dataclass(frozen=True)
class Sample:
    """One plot as a run would record it: its title (the case id), its trace and its plot options."""

    title: str
    trace: Mapping[str, Any]
    options: dict[str, Any] = field(default_factory=dict)

    def drawing(self, kind: PlotKind) -> Drawing:
        """What the kind makes of it, by the same path the report takes (options validated by the kind's model)."""
        missing = [name for name in kind.columns if name not in self.trace]
        assert not missing, f"sample {self.title} lacks column(s) {missing}"
        return kind.drawing({name: self.trace[name] for name in kind.columns}, self.title,
                            kind.options.model_validate(self.options))


RNG_SEED = 20240611


def _rng() -> np.random.Generator:
    return np.random.default_rng(RNG_SEED)


# -- G99 protection: trip captures and trip-value searches --------------------------------------------------------

def _capture(*, pre_s: float, post_s: float, rate_hz: float, grid_hz: float, amps_rms: float,
             commanded: Callable[[np.ndarray], np.ndarray], trip_s: float | None,
             back_s: float | None = None) -> Columns:
    """A digitizer capture around a disturbance at t = 0: the DUT's current (a sine with noise), falling to
    nothing after ``trip_s`` (and back after ``back_s``), its one-cycle fundamental rms, the commanded quantity."""
    t = np.arange(-pre_s, post_s, 1.0 / rate_hz)
    on = np.ones_like(t)
    if trip_s is not None:
        on = np.where(t < trip_s, 1.0, np.exp(-np.clip(t - trip_s, 0.0, None) / 0.004))
    if back_s is not None:
        on = np.where(t >= back_s, np.clip((t - back_s) / 5.0, 0.0, 1.0), on)
    noise = _rng().normal(0.0, 0.02, t.size)
    i_a = np.sqrt(2.0) * amps_rms * on * np.sin(2.0 * np.pi * grid_hz * t) + noise
    return {"t_s": t, "i_a": i_a.astype(np.float32), "i_rms_a": (amps_rms * on + np.abs(noise)).astype(np.float32),
            "commanded": commanded(t).astype(np.float32), "v_v": np.zeros_like(t, dtype=np.float32)}


def _step(before: float, level: float, hold_s: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda t: np.where((t >= 0.0) & (t < hold_s), level, before)


def _ramp(before: float, to: float, rate_per_s: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda t: np.where(t < 0.0, before, np.maximum(to, before - rate_per_s * np.clip(t, 0.0, None)))


def _trip_options(quantity: str, unit: str, **more: Any) -> dict[str, Any]:
    return {"quantity": quantity, "quantity_unit": unit, "threshold_a": 1.5, **more}


def trip_samples() -> list[Sample]:
    return [
        Sample("g99.ov2.trip_time", _capture(pre_s=0.5, post_s=1.5, rate_hz=10_000, grid_hz=50.0, amps_rms=32.0,
                                             commanded=_step(230.0, 277.7, 1.0), trip_s=0.5235),
               _trip_options("voltage", "V", trip_instant_s=0.5235, limit_min_s=0.5, limit_max_s=0.55)),
        Sample("g99.uv.trip_time", _capture(pre_s=0.5, post_s=4.0, rate_hz=10_000, grid_hz=50.0, amps_rms=32.0,
                                            commanded=_step(230.0, 180.0, 3.5), trip_s=2.548975),
               _trip_options("voltage", "V", trip_instant_s=2.548975, limit_min_s=2.5, limit_max_s=2.6)),
        Sample("g99.uf1.trip_time", _capture(pre_s=0.5, post_s=22.0, rate_hz=5_000, grid_hz=47.3, amps_rms=26.1,
                                             commanded=_step(50.0, 47.3, 21.0), trip_s=20.05),
               _trip_options("frequency", "Hz", trip_instant_s=20.05, limit_min_s=20.0, limit_max_s=20.5)),
        Sample("g99.rocof.trip_time.minus_1_hz_per_s", _capture(
                   pre_s=0.5, post_s=2.5, rate_hz=10_000, grid_hz=50.0, amps_rms=26.1,
                   commanded=_ramp(50.0, 47.5, 1.0), trip_s=0.512),
               _trip_options("frequency", "Hz", trip_instant_s=0.512, limit_max_s=0.5)),
        Sample("g99.vector_shift.no_trip.minus_50deg_50_5hz", _capture(
                   pre_s=0.5, post_s=1.5, rate_hz=10_000, grid_hz=50.5, amps_rms=32.0,
                   commanded=_step(50.0, 50.5, 1.5), trip_s=None),
               _trip_options("frequency", "Hz", phase_jump_s=0.0, phase_jump_deg=-50.0)),
        Sample("g99.reconnection.after_ov2_trip", _capture(
                   pre_s=0.5, post_s=90.0, rate_hz=1_000, grid_hz=50.0, amps_rms=32.0,
                   commanded=_step(230.0, 230.0, 0.0), trip_s=None, back_s=61.234),
               _trip_options("voltage", "V", trip_instant_s=61.234, limit_min_s=20.0)),
        Sample("ieee1547.ov2.trip_time.category_iii", _capture(
                   pre_s=0.5, post_s=1.0, rate_hz=10_000, grid_hz=60.0, amps_rms=40.0,
                   commanded=_step(240.0, 288.0, 0.5), trip_s=0.158),
               _trip_options("voltage", "V", trip_instant_s=0.158, limit_max_s=0.16)),
    ]


def _staircase(levels: list[float], read_back: list[float], trips: list[bool], *, dwell_s: float,
               start_s: float = 0.0, amps: float = 26.0) -> Columns:
    applied = start_s + dwell_s * np.arange(len(levels))
    return {"applied_s": applied, "read_s": applied + 0.9 * dwell_s, "level": np.asarray(levels, dtype=float),
            "measured_level": np.asarray(read_back, dtype=float),
            "current_a": np.where(trips, 0.002, amps - 0.1 * np.arange(len(levels)))}


def _search(coarse: list[float], fine: list[float], *, noise: float, dwell_s: float, start_s: float) -> Columns:
    """A coarse search up to its first trip, then a fine one from the last level held, as ``trip_value`` runs."""
    levels = coarse + fine
    trips = [k == len(coarse) - 1 for k in range(len(coarse))] + [k == len(fine) - 1 for k in range(len(fine))]
    read = [level + noise * s for level, s in zip(levels, _rng().uniform(-1.0, 1.0, len(levels)))]
    return _staircase(levels, read, trips, dwell_s=dwell_s, start_s=start_s)


def _hold(level: float, *, hold_s: float, poll_s: float, noise: float, amps: float) -> Columns:
    """An operating-range hold, drawn as a staircase of one level: each reading of the grid simulator."""
    n = int(round(hold_s / poll_s))
    read = level + _rng().uniform(-noise, noise, n)
    return _staircase([level] * n, list(read), [False] * n, dwell_s=poll_s, amps=amps)


def staircase_samples() -> list[Sample]:
    ov_options = _trip_options("voltage", "V", setting=262.2, trip_value=262.15, limit_min=259.9, limit_max=264.5)
    of_options = _trip_options("frequency", "Hz", setting=52.0, trip_value=51.99465, limit_min=51.9,
                               limit_max=52.1)
    hold_options = _trip_options("frequency", "Hz", setting=None, trip_value=None, limit_min=None, limit_max=None)
    return [
        Sample("g99.ov1.trip_value", _search([258.2, 259.2, 260.2, 261.2, 262.2], [261.3, 261.5, 261.7, 261.9,
                                                                                   262.1, 262.3],
                                             noise=0.03, dwell_s=1.5, start_s=132.0), ov_options),
        Sample("g99.uv.trip_value", _search([188.0, 187.0, 186.0, 185.0, 184.0], [184.9, 184.7, 184.5, 184.3,
                                                                                  184.1, 183.9],
                                            noise=0.03, dwell_s=3.0, start_s=21.5),
               _trip_options("voltage", "V", setting=184.0, trip_value=184.06, limit_min=181.7, limit_max=186.3)),
        Sample("g99.of.trip_value", _search([51.80, 51.85, 51.90, 51.95, 52.00], [51.96, 51.97, 51.98, 51.99,
                                                                                  52.00],
                                            noise=0.0005, dwell_s=0.9, start_s=677.1), of_options),
        Sample("g99.rocof.trip_value", _search([0.80, 0.85, 0.90, 0.95, 1.00], [0.96, 0.97, 0.98, 0.99],
                                               noise=0.001, dwell_s=2.0, start_s=900.0),
               _trip_options("rocof", "Hz/s", setting=1.0, trip_value=0.985, limit_min=0.95, limit_max=1.05)),
        Sample("g99.range.47_1hz_85pct", _hold(47.1, hold_s=20.0, poll_s=1.0, noise=0.0015, amps=30.69),
               hold_options),
        Sample("g99.range.51_9hz_110pct", _hold(51.9, hold_s=900.0, poll_s=0.5, noise=0.0015, amps=23.1),
               hold_options),
        Sample("ieee1547.range.61_8hz_category_iii", _hold(61.8, hold_s=299.0, poll_s=0.5, noise=0.0015,
                                                           amps=40.0), hold_options),
    ]


# -- G99 power quality ---------------------------------------------------------------------------------------------

def _spectrum(scale: float) -> Columns:
    """Orders 2 to 40 with EN 61000-3-12-like limits (2.3 A at the 3rd down to 0.046 A): odd orders dominate."""
    order = np.arange(2, 41, dtype=float)
    odd = order % 2 == 1
    mean = np.where(odd, 0.5 / order ** 0.9, 0.004 + 0.02 / order) * scale
    limit = np.where(odd, 2.3 * 3.0 / order, 0.046 * 16.0 / order)
    limit[order > 39] = np.nan  # an order without a limit
    return {"order": order, "mean_a": mean, "max_a": mean * 1.01 + 0.002,
            "expanded_u_a": np.full_like(order, 0.00803137), "limit_a": limit}


def _waveform(*, volts_rms: float, grid_hz: float, amps_rms: float, dc_a: float, lag_deg: float) -> Columns:
    t = np.arange(0.0, 3.15, 1.0 / 15_625.0)
    w = 2.0 * np.pi * grid_hz * t
    v = np.sqrt(2.0) * volts_rms * np.sin(w)
    i = -np.sqrt(2.0) * amps_rms * np.sin(w - np.radians(lag_deg)) + 0.3 * np.sin(5 * w) + dc_a
    return {"t_s": t, "v_v": v.astype(np.float32), "i_a": i.astype(np.float32)}


def spectrum_samples() -> list[Sample]:
    return [
        Sample("g99.pq.harmonics", _spectrum(1.0), {"grouping": "group", "fundamental_a": 26.11149}),
        Sample("g99.pq.harmonics_subgroups.over_the_limit", _spectrum(12.0),
               {"grouping": "subgroup", "fundamental_a": 32.004}),
    ]


def waveform_samples() -> list[Sample]:
    return [
        Sample("g99.pq.dc_injection", _waveform(volts_rms=230.0, grid_hz=50.0, amps_rms=26.0, dc_a=-0.0101,
                                                lag_deg=2.5),
               {"fundamental_hz": 50.00000000000148, "cycles": 3.0, "dc_a": -0.010094270831679812}),
        Sample("g99.pq.power_factor", _waveform(volts_rms=230.0, grid_hz=50.0, amps_rms=26.0, dc_a=0.0,
                                                lag_deg=2.5),
               {"fundamental_hz": 50.0, "cycles": 3.0, "dc_a": None,
                "note": "power factor 0.9988, displacement 2.5 deg lagging (power exported)"}),
        Sample("ieee1547.pq.power_factor_at_rated_reactive", _waveform(volts_rms=240.0, grid_hz=60.0,
                                                                       amps_rms=40.0, dc_a=0.0, lag_deg=25.8),
               {"fundamental_hz": 60.0, "cycles": 3.0, "dc_a": None,
                "note": "power factor 0.9003, displacement 25.8 deg leading (power imported)"}),
    ]


# -- G99 islanding, frequency response; G100 export limitation ------------------------------------------------------

def _run_on(stop_s: float | None) -> Columns:
    t = np.arange(-0.2, 4.0, 1.0 / 12_353.0)
    w = 2.0 * np.pi * 50.0 * t
    on = np.ones_like(t) if stop_s is None else np.where(t < stop_s, 1.0, np.exp(-(t - stop_s) / 0.01))
    i_rms = 25.9 * on
    return {"t_s": t, "v_v": (325.269 * on * np.sin(w)).astype(np.float32),
            "i_a": (np.sqrt(2.0) * i_rms * np.sin(w)).astype(np.float32), "i_rms_a": i_rms.astype(np.float32)}


def run_on_samples() -> list[Sample]:
    return [
        Sample("g99.island.full.q100", _run_on(1.1336075),
               {"threshold_a": 1.5, "s1_opened_s": 0.52, "stop_instant_s": 1.1336075, "limit_max_s": 2.52,
                "lower_bound": "no"}),
        Sample("g99.island.quarter.q95.runs_on_past_the_capture", _run_on(None),
               {"threshold_a": 1.5, "s1_opened_s": 0.52, "stop_instant_s": None, "limit_max_s": 2.52,
                "lower_bound": "yes"}),
    ]


def _response(steps: list[tuple[float, float, float]], *, grid_hz: float, open_above: bool) -> Columns:
    """One row per whole cycle over ``steps`` of (frequency held, power it settles to (pu), hold s), as the
    frequency-response procedures record: NaN frequency for a cycle straddling a step, the band where judged."""
    rows: list[dict[str, float]] = []
    at, power = -2.0, steps[0][1]
    for index, (hz, target, hold_s) in enumerate(steps):
        n = int(hold_s * grid_hz)
        for k in range(n):
            t = at + (k + 0.5) / grid_hz
            power += (target - power) * 0.08
            settled = k > 0.7 * n
            rows.append({"t_s": t, "frequency_hz": np.nan if k == 0 and index else hz,
                         "power_pu": power + 0.0005 * np.sin(7.0 * t), "line_pu": target,
                         "band_min_pu": target - 0.025 if not open_above else target - 0.01,
                         "band_max_pu": np.nan if open_above else target + 0.025,
                         "settled_pu": target if settled else np.nan,
                         "entered": 1.0 if abs(power - target) < 0.025 and k and abs(rows[-1]["power_pu"] - target)
                         >= 0.025 else 0.0})
        at += hold_s
    return {name: np.array([row[name] for row in rows]) for name in rows[0]}


def frequency_response_samples() -> list[Sample]:
    return [
        Sample("g99.fr.lfsm_o", _response([(50.0, 1.0, 2.0), (50.6, 0.95, 15.0), (51.0, 0.9, 15.0),
                                           (51.15, 0.85, 15.0), (50.0, 1.0, 15.0)], grid_hz=50.0,
                                          open_above=False),
               {"function": "lfsm_o", "threshold_hz": 50.4, "reference_power_w": 6000.092}),
        Sample("g99.fr.reduced_frequency", _response([(50.0, 1.0, 2.0), (49.5, 1.0, 8.0), (49.0, 0.99, 12.0),
                                                      (48.0, 0.97, 8.0), (50.0, 1.0, 10.0)], grid_hz=50.0,
                                                     open_above=True),
               {"function": "reduced_frequency", "threshold_hz": 49.5, "reference_power_w": 5999.985}),
        Sample("ieee1547.fr.over_frequency_droop_category_iii", _response(
                   [(60.0, 1.0, 2.0), (60.6, 0.9, 15.0), (61.2, 0.7, 15.0), (60.0, 1.0, 15.0)],
                   grid_hz=60.0, open_above=False),
               {"function": "lfsm_o", "threshold_hz": 60.036, "reference_power_w": 9600.0}),
    ]


def _boundary(t: np.ndarray, export_w: np.ndarray, household_w: np.ndarray, judged: np.ndarray) -> Columns:
    return {"t_s": t, "export_w": export_w, "household_w": household_w, "judged": judged.astype(float)}


def boundary_samples() -> list[Sample]:
    steps_t = np.arange(0.0, 70.1, 0.1)
    load = np.select([steps_t < 10, steps_t < 30, steps_t < 50], [0.0, 3500.61, 9800.0], 0.0)
    export = 7400.0 - load + 60.0 * np.sin(steps_t)  # past the DUT's 7400 W the boundary imports (negative)
    excursion_t = np.arange(-15.0, 15.1, 0.1)
    excursion = np.where(excursion_t < 0, 5300.0, np.maximum(6050.0, 7300.0 - 900.0 * excursion_t))
    loss_t = np.arange(-10.0, 15.05, 0.1)
    loss = np.where(loss_t < 1.2, 6000.0, 6000.0 * np.exp(-(loss_t - 1.2) / 0.4))
    return [
        Sample("g100.export.load_steps_past_the_generation", _boundary(steps_t, export, load, steps_t % 10 > 5),
               {"limit_w": 6100.0, "marker_s": None, "marker": "", "x_label": "time from the first step (s)"}),
        Sample("g100.export.excursion", _boundary(excursion_t, excursion, np.where(excursion_t < 0, 2000.52, 0.0),
                                                  excursion_t > 0),
               {"limit_w": 6100.0, "marker_s": 1.45, "marker": "back under the limit",
                "x_label": "time from the load switched off (s)"}),
        Sample("g100.export.sensor_loss", _boundary(loss_t, loss, np.zeros_like(loss_t), loss_t > 0),
               {"limit_w": 100.0, "marker_s": 3.25, "marker": "fail-safe state",
                "x_label": "time from the sensor lost (s)"}),
    ]


# -- CHAdeMO --------------------------------------------------------------------------------------------------------

def chademo_session(start_s: float = 300.0, *, discharge: bool = False, seconds: float = 30.0) -> Columns:
    """A session as ``rig.suites.chademo.procedures.timeline`` records it: one row per 0x109 frame (100 ms)."""
    t = start_s + np.arange(0.0, seconds, 0.1)
    frame = pd.DataFrame({name: np.zeros_like(t) for name in TIMELINE_COLUMNS})
    running = (t > start_s + 5) & (t < start_s + seconds - 4)
    amps = 125.0 if not discharge else 15.0
    frame["t_s"], frame["d1"], frame["target_v"] = t, 1.0, 410.0
    frame["present_v"] = np.where(t > start_s + 2, np.where(running, 365.0, 500.0), 0.0)
    frame["k"] = frame["locked"] = frame["ev_enabled"] = (t > start_s + 1).astype(float)
    frame["d2"] = (t > start_s + 3).astype(float)
    frame["charging"] = running.astype(float)
    frame["stop_control"] = (t > start_s + seconds - 4).astype(float)
    frame["ev_contactor_open"] = (~running).astype(float)
    if discharge:
        frame["discharge_a"] = np.where(running, amps, 0.0)
        frame["measured_a"] = np.where(running, -amps + 0.23, -0.0121)
    else:
        frame["request_a"] = frame["present_a"] = np.where(running, amps, 0.0)
        frame["measured_a"] = np.where(running, amps - 0.2, -0.013)
    return {name: frame[name].to_numpy() for name in frame.columns}


def timeline_samples() -> list[Sample]:
    return [
        Sample("chademo.charge.normal@leaf-40", chademo_session(), {"vehicle": "leaf-40"}),
        Sample("chademo.v2h.discharge@leaf-40-low-soc", chademo_session(3306.6, discharge=True),
               {"injected_at_s": 3322.9, "reaction_end_s": 3323.4995, "vehicle": "leaf-40-low-soc"}),
        Sample("chademo.abnormal.k_dropped_during_insulation_test@chademo2-probe", chademo_session(290.0),
               {"injected_at_s": 290.6, "reaction_end_s": None, "vehicle": "chademo2-probe"}),
    ]


# -- OCPP -----------------------------------------------------------------------------------------------------------

IDENTITY = "ACME-V2G22-DE-2644-000017"
"""A station's identity (its serial number on this bench) at the long end of what chargers use."""


def _frame(t: float, direction: str, message: list[Any], problems: tuple[str, ...] = ()) -> SimpleNamespace:
    import json

    kind = {2: "CALL", 3: "CALLRESULT", 4: "CALLERROR"}[message[0]]
    return SimpleNamespace(t=t, identity=IDENTITY, direction=direction, text=json.dumps(message), kind=kind,
                           action=message[2] if message[0] == 2 else None, message_id=message[1], problems=problems)


def _exchange(t: float, action: str, payload: dict[str, Any], reply: dict[str, Any], *, from_charger: bool = True,
              problems: tuple[str, ...] = ()) -> list[SimpleNamespace]:
    there, back = ("charger->rig", "rig->charger") if from_charger else ("rig->charger", "charger->rig")
    message_id = f"{action[:3].lower()}-{t:.0f}"
    return [_frame(t, there, [2, message_id, action, payload], problems),
            _frame(t + 0.042, back, [3, message_id, reply])]


def ocpp_session() -> pd.DataFrame:
    """Boot, authorize, a smart-charging profile, a transaction with meter values, a schema break, a CALLERROR and
    two checks not met, at the times of a long case (thousands of seconds on the rig's clock)."""
    frames: list[SimpleNamespace] = []
    frames += _exchange(8.0, "BootNotification", {"chargePointVendor": "Example Power Ltd",
                                                  "chargePointModel": "EX-V2G-7"},
                        {"status": "Accepted", "currentTime": "2026-03-01T10:00:00Z", "interval": 300})
    frames += _exchange(9.5, "StatusNotification", {"connectorId": 1, "errorCode": "NoError",
                                                    "status": "SuspendedEVSE"}, {})
    frames += _exchange(12.0, "Authorize", {"idTag": "RIG-VALID-0123456789"},
                        {"idTagInfo": {"status": "Accepted"}})
    frames += _exchange(13.0, "SetChargingProfile", {"connectorId": 1, "csChargingProfiles": {
        "chargingProfileId": 7, "stackLevel": 2, "chargingProfilePurpose": "TxDefaultProfile"}},
        {"status": "Accepted"}, from_charger=False)
    frames += _exchange(14.0, "GetCompositeSchedule", {"connectorId": 1, "duration": 3600,
                                                       "chargingRateUnit": "W"}, {"status": "Accepted"},
                        from_charger=False)
    frames += _exchange(15.0, "StartTransaction", {"connectorId": 1, "idTag": "RIG-VALID-0123456789",
                                                   "meterStart": 1094, "timestamp": "2026-03-01 10:00:15"},
                        {"transactionId": 1, "idTagInfo": {"status": "Accepted"}},
                        problems=("timestamp: '2026-03-01 10:00:15' does not match '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:"
                                  "\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$'",))
    for k in range(6):
        frames += _exchange(75.0 + 60.0 * k, "MeterValues", {"connectorId": 1, "transactionId": 1, "meterValue": []},
                            {}, problems=(f"meterValue/0/sampledValue/0/value: {1094.6 + 110.1 * k:.1f} is not of "
                                          "type 'string'",))
    frames += _exchange(440.0, "DiagnosticsStatusNotification", {"status": "UploadFailed"}, {},
                        problems=("status: 'UploadFailedAfterRetries' is not one of ['Idle', 'Uploaded', "
                                  "'UploadFailed', 'Uploading']",))
    frames.append(_frame(442.0, "rig->charger", [2, "x-1", "TriggerMessage", {"connectorId": 1, "requestedMessage":
                                                                              "StatusNotification"}]))
    frames.append(_frame(442.1, "charger->rig", [4, "x-1", "NotImplemented", "Requested Action is not known by "
                                                 "receiver", {}]))
    frames += _exchange(3599.25, "StopTransaction", {"idTag": "RIG-VALID-0123456789", "reason": "EVDisconnected",
                                                     "transactionId": 1, "meterStop": 24_000,
                                                     "timestamp": "2026-03-01T11:00:00Z"}, {})
    failed = [(443.0, "step 7 (trigger): the charger answered TriggerMessage StatusNotification with a CALLERROR "
                      "NotImplemented; OCPP 1.6 requires it (F06.FR.06)"),
              (3600.0, "step 12 (stop): no StatusNotification Available within 5 s of the StopTransaction; the "
                       "connector stayed SuspendedEV for the rest of the case")]
    return sequence_trace(frames, 0.0, failed)


def ocpp_flood() -> pd.DataFrame:
    """A charger flooding Heartbeats: the chart keeps ``MAX_ROWS`` rows and says how many more there were."""
    frames: list[SimpleNamespace] = []
    for k in range(400):
        frames += _exchange(1000.0 + 9.0 * k, "Heartbeat", {}, {"currentTime": "2026-03-01T10:00:00Z"})
    return sequence_trace(frames, 0.0, [(4600.0, "heartbeat interval: 9.0 s between Heartbeats, the interval "
                                                 "set by ChangeConfiguration HeartbeatInterval is 300 s")])


def sequence_samples() -> list[Sample]:
    return [Sample("TC_066_CS.smart_charging.tx_default_profile", ocpp_session(), {"identity": IDENTITY}),
            Sample("RIG_16_B01.heartbeat_flood", ocpp_flood(), {"identity": IDENTITY}),
            Sample("TC_003_CS.regular_charging_session_plugin_first", ocpp_session(),
                   {"identity": "3f2b9c1e-8a4d-4f7b-9c2e-1d5a6b7c8d9e"})]  # some stations use a UUID


KIND_SAMPLES: dict[str, Callable[[], list[Sample]]] = {
    "g99.trip_time": trip_samples,
    "g99.staircase": staircase_samples,
    "g99.pq.spectrum": spectrum_samples,
    "g99.pq.waveform": waveform_samples,
    "g99.islanding.run_on": run_on_samples,
    "g99.frequency_response": frequency_response_samples,
    "g100.boundary_export": boundary_samples,
    "chademo.timeline": timeline_samples,
    "ocpp.sequence": sequence_samples,
}
"""Registered plot kind -> its samples (a function, so collecting the tests builds no trace)."""


# -- suites' own report figures -------------------------------------------------------------------------------------

def _efficiency_curve(direction: str, volts: tuple[float, ...]) -> CaseResult:
    """A curve case as the efficiency suite records it: ``eta_<V>V_<load>pct`` with its U, ``load_..`` reached."""
    measured: dict[str, float | None] = {}
    uncertainty: dict[str, Uncertainty] = {}
    for v in volts:
        for load in (100.0, 75.0, 50.0, 30.0, 20.0, 10.0, 5.0):
            key = f"{v:g}V_{load:g}pct"
            measured[f"eta_{key}"] = round(95.0 - 12.0 / load - (v - 350.0) / 200.0 - (direction == "discharge"), 4)
            measured[f"load_{key}"] = round(load * 0.984, 3)
            uncertainty[f"eta_{key}"] = Uncertainty(expanded=0.15 + 4.0 / load)
        measured[f"european_{v:g}V_percent"] = 93.1
        uncertainty[f"european_{v:g}V_percent"] = Uncertainty(expanded=0.4)
    return CaseResult(id=f"efficiency.{direction}", suite="efficiency", clause="EN 50530 / IEC 62933",
                      procedure="curve", verdict="pass", measured=measured, uncertainty=uncertainty,
                      setting={"direction": direction, "dc_voltages_v": ", ".join(f"{v:g}" for v in volts),
                               "load_points_percent": "100, 75, 50, 30, 20, 10, 5"})


REPORT_CASES: dict[str, Callable[[], list[CaseResult]]] = {
    "efficiency": lambda: [_efficiency_curve("charge", (150.0, 260.0, 350.0, 400.0, 500.0)),
                           _efficiency_curve("discharge", (260.0, 350.0, 400.0))],
}
"""Suite -> recorded cases its report hook draws figures from (every suite whose hook is more than tables)."""
