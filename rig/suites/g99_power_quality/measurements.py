"""The values a power quality case judges, each measured from one capture with its uncertainty budget.

A capture (current and voltage on one time base) is analysed once
(``analyse``): synchronised windows, the current's spectrum per window, the
noise floor read in the interharmonic bins, the digitizer's resolution read
from its codes, and the fitted pure fundamental (with the capture's own DC)
that shows what the windowing itself adds. Each value then carries the same
three kinds of component, computed from that capture:

- digitizer resolution: quantisation noise, a code step / sqrt(12) per
  sample, as much as it reaches the value;
- noise on the current, measured (quantisation excluded): for a harmonic
  group, the noise power a group of its width collects (the most noise adds
  to a group, what it reads when the harmonic is absent); for DC and power,
  the spread of the windows' values;
- window and leakage: the same analysis applied to the fitted pure
  fundamental, whose harmonics are zero and whose DC, power factor and
  displacement are known exactly; what it reads beyond that is what the
  windows add.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rig.core.results import Uncertainty, UncertaintyComponent
from rig.suites.g99_power_quality.analysis import (
    Grouping, Sinusoid, Stability, Windows, bins_needed, code_step, fit_fundamental, group_width, harmonic_groups,
    interharmonic_noise_power, require_bandwidth, require_stable, rms_bins, synchronised_windows)
from rig.core.uncertainty import expanded, normal, rectangular

NOISE_ORDERS = 10
"""DC injection and power factor read the noise floor in the interharmonic bins up to this order."""


def _standard(source: str, u: float) -> UncertaintyComponent:
    """A component known as a standard uncertainty (normal)."""
    return normal(source, 2.0 * u)


@dataclass(frozen=True)
class AnalysedCapture:
    """One capture, synchronised and transformed, with what its uncertainty budgets are made of."""

    windows: Windows
    current: np.ndarray
    """(windows, bins) rms phasors of the current; bin 0 is each window's mean."""
    voltage_fundamental: np.ndarray
    """(windows,) rms phasor of the voltage's fundamental."""
    window_frequency_hz: np.ndarray
    noise_power_a2: float
    """Mean |C|^2 of one bin of noise on the current, quantisation excluded (A^2)."""
    quantisation_power_a2: float
    """The same for the digitizer's quantisation alone."""
    code_step_a: float
    model_current: Sinusoid
    model_voltage: Sinusoid
    t_s: np.ndarray
    i_a: np.ndarray
    v_v: np.ndarray
    grouping: Grouping
    max_order: int

    @property
    def fundamental_a(self) -> np.ndarray:
        """Each window's current fundamental, rms."""
        return np.abs(self.current[:, self.windows.cycles])

    def model_bins(self) -> tuple[np.ndarray, np.ndarray]:
        """The fitted pure fundamentals of current and voltage, analysed exactly as the capture was."""
        model_i = rms_bins(self.windows, self.model_current.at(self.t_s), self.current.shape[1])
        model_v = rms_bins(self.windows, self.model_voltage.at(self.t_s), self.windows.cycles + 1)
        return model_i, model_v[:, self.windows.cycles]


def analyse(t_s: np.ndarray, i_a: np.ndarray, v_v: np.ndarray, *, nominal_hz: float, cycles: int, windows: int,
            max_order: int, grouping: Grouping, stability: Stability) -> AnalysedCapture:
    """Synchronise, check the capture can be judged, transform (``CannotJudge`` when it cannot)."""
    grid = synchronised_windows(t_s, v_v, nominal_hz, cycles, windows)
    require_bandwidth(grid, max_order)
    current = rms_bins(grid, i_a, bins_needed(cycles, max_order, grouping))
    voltage = rms_bins(grid, v_v, cycles + 1)[:, cycles]
    per_window = require_stable(grid, t_s, v_v, np.abs(current[:, cycles]), stability)
    step = code_step(i_a)
    quantisation = 2.0 * (step**2 / 12.0) / (grid.whole + 1)
    noise = max(interharmonic_noise_power(current, cycles, max_order) - quantisation, 0.0)
    return AnalysedCapture(grid, current, voltage, per_window, noise, quantisation, step,
                           fit_fundamental(t_s, i_a, grid.frequency_hz), fit_fundamental(t_s, v_v, grid.frequency_hz),
                           t_s, np.asarray(i_a, dtype=float), np.asarray(v_v, dtype=float), grouping, max_order)


@dataclass(frozen=True)
class HarmonicCurrents:
    """Harmonic group (or subgroup) currents, each the mean over the windows, with their uncertainties."""

    orders: range
    per_window_a: np.ndarray
    """(windows, orders)."""
    mean_a: np.ndarray
    max_a: np.ndarray
    uncertainty: list[Uncertainty]
    thd_pct: float
    """Total harmonic distortion of the groups measured, % of the fundamental (for the record)."""


def harmonic_currents(capture: AnalysedCapture) -> HarmonicCurrents:
    """Each order's group (or subgroup) per window and its mean, the value BS EN 61000-3-2 judges."""
    cycles, grouping = capture.windows.cycles, capture.grouping
    orders = range(2, capture.max_order + 1)
    groups = harmonic_groups(capture.current, cycles, orders, grouping)
    model_i, _ = capture.model_bins()
    leakage = harmonic_groups(model_i, cycles, orders, grouping).mean(axis=0)
    width = group_width(cycles, grouping)
    resolution = math.sqrt(width * capture.quantisation_power_a2)
    noise = math.sqrt(width * capture.noise_power_a2)
    budgets = [expanded(
        _standard(f"digitizer resolution ({capture.code_step_a * 1e3:.3g} mA code step) over a {grouping}",
                  resolution),
        _standard(f"noise on the current ({_noise_rms(capture):.3g} A rms, measured in the interharmonic bins): "
                  f"its power in a {grouping}", noise),
        rectangular("window and leakage: what the synchronised windows read on the fitted pure fundamental",
                    float(leak))) for leak in leakage]
    mean = groups.mean(axis=0)
    fundamental = float(np.mean(capture.fundamental_a))
    thd = 100.0 * math.sqrt(float(np.sum(mean**2))) / fundamental
    return HarmonicCurrents(orders, groups, mean, groups.max(axis=0), budgets, thd)


def _noise_rms(capture: AnalysedCapture) -> float:
    """The noise on the current as an rms per sample (white), from the per-bin noise power."""
    return math.sqrt(capture.noise_power_a2 * (capture.windows.whole + 1) / 2.0)


@dataclass(frozen=True)
class DcInjection:
    per_window_a: np.ndarray
    dc_a: float
    uncertainty_a: Uncertainty


def dc_injection(capture: AnalysedCapture) -> DcInjection:
    """The mean current over the whole windows (whole cycles of the fundamental)."""
    per_window = np.real(capture.current[:, 0])
    count = len(per_window)
    spread = float(np.std(per_window, ddof=1)) / math.sqrt(count) if count > 1 else 0.0
    white = math.sqrt(capture.noise_power_a2 / 2.0 / count)
    model_i, _ = capture.model_bins()
    leakage = abs(float(np.mean(np.real(model_i[:, 0]))) - capture.model_current.dc)
    budget = expanded(
        rectangular(f"digitizer resolution: half a code step ({capture.code_step_a * 1e3:.3g} mA)",
                    capture.code_step_a / 2.0),
        _standard("noise on the current: the spread of the windows' means (or the white noise floor, if larger)",
                  max(spread, white)),
        rectangular("window and leakage: the fitted pure fundamental's mean over the same windows", leakage))
    return DcInjection(per_window, float(np.mean(per_window)), budget)


@dataclass(frozen=True)
class PowerFactor:
    """Power factor P / (Vrms Irms) and displacement power factor cos(phi1), in the power-flow frame."""

    exports: bool
    active_power_w: float
    """Active power in the power-flow frame (exported power while it exports)."""
    voltage_rms_v: float
    current_rms_a: float
    power_factor: float
    displacement_deg: float
    """phi1: the current's fundamental lags the voltage's by this (negative: leads), in the power-flow frame."""
    displacement_power_factor: float
    per_window: dict[str, np.ndarray]
    power_factor_u: Uncertainty
    displacement_power_factor_u: Uncertainty


def _ratios(capture: AnalysedCapture, i: np.ndarray, v: np.ndarray, voltage_fundamental: np.ndarray,
            current_fundamental: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per window: active power (load frame), Vrms, Irms, and phi1 (load frame: voltage angle - current angle)."""
    grid = capture.windows
    power = grid.mean_values(v * i)
    v_rms = np.sqrt(grid.mean_values(v * v))
    i_rms = np.sqrt(grid.mean_values(i * i))
    phi = np.angle(voltage_fundamental * np.conj(current_fundamental))
    return power, v_rms, i_rms, phi, np.abs(current_fundamental)


def _power_flow_frame(phi_load: float, exports: bool) -> float:
    """phi1 in the frame of the power flow: the exported current is the load-frame current reversed."""
    phi = phi_load - math.pi if exports else phi_load
    return math.atan2(math.sin(phi), math.cos(phi))


def _phasor(model: Sinusoid) -> complex:
    """The fitted fundamental as an rms phasor (angle against sin at the fit's time origin)."""
    return complex(model.sine, model.cosine) / math.sqrt(2.0)


def _exact(model_v: Sinusoid, model_i: Sinusoid, exports: bool) -> tuple[float, float]:
    """Power factor and phi1 (power-flow frame) of the fitted pure fundamentals, in closed form."""
    v1, i1 = _phasor(model_v), _phasor(model_i)
    power = model_v.dc * model_i.dc + (v1 * i1.conjugate()).real
    rms = math.hypot(model_v.dc, abs(v1)) * math.hypot(model_i.dc, abs(i1))
    return abs(power) / rms, _power_flow_frame(float(np.angle(v1 * i1.conjugate())), exports)


def power_factor(capture: AnalysedCapture) -> PowerFactor:
    """P / (Vrms Irms) over the windows and cos(phi1) of the fundamentals, in the frame of the power flow (a
    charger exporting is a generator: its current reversed), so lagging is positive either way."""
    cycles = capture.windows.cycles
    power, v_rms, i_rms, phi, fundamental = _ratios(capture, capture.i_a, capture.v_v, capture.voltage_fundamental,
                                                    capture.current[:, cycles])
    p_load = float(np.mean(power))
    exports = p_load < 0.0
    v, i = float(np.mean(v_rms)), float(np.mean(i_rms))
    pf = abs(p_load) / (v * i)
    phi1 = _power_flow_frame(float(np.angle(np.mean(np.exp(1j * phi)))), exports)
    dpf = math.cos(phi1)

    count = len(power)
    samples = (capture.windows.whole + 1) * count
    sigma, q = _noise_rms(capture), capture.code_step_a / math.sqrt(12.0)
    # Noise on the current reaches P through v x noise (it averages out over the samples) and Irms through its
    # power (a bias, which does not); the fundamental's phase through the noise in its bin.
    u_phi = math.sqrt((capture.noise_power_a2 + capture.quantisation_power_a2) / 2.0 / count) / float(np.mean(fundamental))
    model_i, model_vf = capture.model_bins()
    m_power, m_v, m_i, m_phi, _ = _ratios(capture, capture.model_current.at(capture.t_s),
                                          capture.model_voltage.at(capture.t_s), model_vf, model_i[:, cycles])
    model_pf = abs(float(np.mean(m_power))) / (float(np.mean(m_v)) * float(np.mean(m_i)))
    model_phi = _power_flow_frame(float(np.angle(np.mean(np.exp(1j * m_phi)))), exports)
    exact_pf, exact_phi = _exact(capture.model_voltage, capture.model_current, exports)
    pf_u = expanded(
        _standard(f"digitizer resolution ({capture.code_step_a * 1e3:.3g} mA code step) in P and Irms",
                  pf * math.hypot(v * q / math.sqrt(samples) / abs(p_load), q**2 / (2.0 * i * i))),
        _standard(f"noise on the current ({sigma:.3g} A rms, measured in the interharmonic bins) in P and Irms",
                  pf * math.hypot(v * sigma / math.sqrt(samples) / abs(p_load), sigma**2 / (2.0 * i * i))),
        rectangular("window and leakage: the fitted pure fundamentals' power factor as the windows read it",
                    abs(model_pf - exact_pf)))
    dpf_u = expanded(
        _standard("noise and resolution in the current fundamental's phase",
                  math.hypot(abs(math.sin(phi1)) * u_phi, u_phi**2 / 2.0)),
        rectangular("window and leakage: the fitted pure fundamentals' displacement as the windows read it",
                    abs(math.cos(model_phi) - math.cos(exact_phi))))
    per_window = {"active_power_w": -power if exports else power, "voltage_rms_v": v_rms, "current_rms_a": i_rms,
                  "displacement_deg": np.degrees([_power_flow_frame(float(x), exports) for x in phi])}
    return PowerFactor(exports, abs(p_load), v, i, pf, math.degrees(phi1), dpf, per_window, pf_u, dpf_u)
