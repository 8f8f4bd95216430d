"""Whether, and when, the charger stopped exporting: judged from a captured current waveform.

A bench's current probe adds noise, and the rig must never take noise for
current (a charger that tripped on a no-trip point would pass) nor current
for noise. So the current is not judged by its raw rms, which noise keeps
up, but by its **fundamental**: the current is demodulated against the grid
frequency the grid simulator was commanded to produce (it plays that
program itself, so its phase is known to the cycle), and a one-cycle
sliding mean gives the rms of the fundamental at every sample. Noise that
is not at the grid frequency averages out: its contribution to a one-cycle
estimate is the current noise over the square root of the samples per
cycle (the *noise floor*, measured on each capture from the pre-trigger
window).

- The signal can be judged only when the threshold stands clear of that
  floor (``JUDGEABLE_MARGIN`` floors): otherwise the case ends as
  ``CannotJudge``, naming the measured floor, never as a pass.
- The charger has tripped when the one-cycle fundamental falls below the
  threshold and stays there. The instant is then located by maximum
  likelihood on the waveform itself: the current is a sinusoid (its phasor
  fitted on the cycles just before) until the instant and zero after it,
  and the instant that best explains the samples wins. Its uncertainty
  comes from the same likelihood (the instants within a log-likelihood of 2
  of the best: about 95 %) and the sample interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rig.suites.platform import CannotJudge

JUDGEABLE_MARGIN = 6.0
"""The threshold must be this many noise floors above zero (and the current before the disturbance this many
above the threshold): a one-cycle estimate of pure noise exceeds 6 floors with a probability of e^-18."""

LIKELIHOOD_INTERVAL = 2.0
"""Instants whose log-likelihood is within this of the best form the ~95 % interval of the trip instant."""


@dataclass(frozen=True)
class Fundamental:
    """The current's fundamental, one cycle at a time, and how noisy that estimate is."""

    rms_a: np.ndarray
    """One-cycle (trailing window) rms of the fundamental at every sample, in A."""
    phasor: np.ndarray
    """Complex amplitude of the fundamental (peak) in the trailing window, against the commanded phase."""
    theta: np.ndarray
    """Commanded grid phase (rad) at every sample."""
    samples_per_cycle: int
    noise_rms_a: float
    """Rms of what is not the fundamental in the pre-trigger window (probe noise, harmonics)."""

    @property
    def floor_a(self) -> float:
        """Standard deviation of a one-cycle rms estimate made of noise alone."""
        return self.noise_rms_a / math.sqrt(self.samples_per_cycle)


@dataclass(frozen=True)
class TripDetection:
    """A trip found in a capture."""

    instant_s: float
    """When the current ceased (maximum-likelihood estimate), in the capture's time base."""
    below_s: float
    """When the one-cycle fundamental fell below the threshold for good (about a cycle later)."""
    likelihood_half_width_s: float
    """Half the width of the ~95 % likelihood interval of the instant (0 for a noiseless capture)."""
    sample_interval_s: float


def samples_per_cycle(t_s: np.ndarray, frequency_hz: float) -> int:
    return max(int(round(1.0 / (frequency_hz * float(t_s[1] - t_s[0])))), 2)


def fundamental(t_s: np.ndarray, current: np.ndarray, frequency_hz: np.ndarray, nominal_hz: float) -> Fundamental:
    """Demodulate ``current`` against the commanded frequency (one value per sample) over one nominal cycle.

    The noise is measured on the pre-trigger window (``t_s < 0``), where the
    grid was steady: what the sliding fundamental does not explain there.
    """
    current = np.asarray(current, dtype=float)
    dt = float(t_s[1] - t_s[0])
    n = samples_per_cycle(t_s, nominal_hz)
    if len(current) < 2 * n:
        raise CannotJudge(f"the capture holds {len(current)} samples, less than two cycles")
    theta = 2.0 * np.pi * np.cumsum(np.broadcast_to(frequency_hz, current.shape)) * dt
    mixed = np.concatenate(([0.0 + 0.0j], np.cumsum(current * np.exp(-1j * theta))))
    phasor = np.empty(len(current), dtype=complex)
    full = (mixed[n:] - mixed[:-n]) * (2.0 / n)
    phasor[n - 1:] = full
    phasor[: n - 1] = full[0]
    pre = np.flatnonzero(t_s < 0.0)
    if pre.size < 3 * n:
        raise CannotJudge(f"the pre-trigger window holds {pre.size} samples; at least three cycles "
                          f"({3 * n}) are needed to measure the noise floor")
    window = pre[n:]  # every trailing window here lies wholly before the disturbance
    residual = current[window] - np.real(phasor[window] * np.exp(1j * theta[window]))
    return Fundamental(np.abs(phasor) / math.sqrt(2.0), phasor, theta, n, float(np.std(residual)))


def require_judgeable(signal: Fundamental, threshold_a: float) -> None:
    """Refuse to judge a capture whose noise floor does not leave the threshold clear of noise."""
    needed = JUDGEABLE_MARGIN * signal.floor_a
    if threshold_a < needed:
        raise CannotJudge(
            f"cannot judge: the current's noise floor is {signal.floor_a:.3f} A (one-cycle estimate; "
            f"{signal.noise_rms_a:.3f} A rms of noise on the probe), so a {threshold_a:g} A threshold "
            f"is not clear of noise (it needs {needed:.3f} A or more): lower the probe's noise or "
            "raise the sample rate")


def detect_trip(t_s: np.ndarray, current: np.ndarray, signal: Fundamental, threshold_a: float) -> TripDetection | None:
    """The trip in a capture, or None if the current was still flowing at its end."""
    current = np.asarray(current, dtype=float)
    rms = signal.rms_a
    n = signal.samples_per_cycle
    dt = float(t_s[1] - t_s[0])
    if rms[-1] >= threshold_a:
        return None
    above = np.flatnonzero(rms >= threshold_a)
    if above.size == 0:
        return TripDetection(float(t_s[0]), float(t_s[0]), 0.0, dt)  # never conducted in the window
    k_below = int(above[-1]) + 1
    # The current stopped within the cycle before k_below; fit its phasor on two cycles before that.
    fit = slice(max(k_below - 3 * n - n // 4, 0), max(k_below - n - n // 4, 2))
    basis = np.column_stack([np.cos(signal.theta[fit]), np.sin(signal.theta[fit])])
    (a, b), *_ = np.linalg.lstsq(basis, current[fit], rcond=None)
    lo, hi = max(k_below - (3 * n) // 2, 0), min(k_below + n // 4 + 1, len(current))
    model = a * np.cos(signal.theta[lo:hi]) + b * np.sin(signal.theta[lo:hi])
    # Cost of "current until sample k, none from k on", up to a constant: sum over j < k of m^2 - 2 i m.
    cost = np.concatenate(([0.0], np.cumsum(model**2 - 2.0 * current[lo:hi] * model)))
    best = int(np.argmin(cost))
    variance = max(signal.noise_rms_a, 1e-12) ** 2
    plausible = np.flatnonzero(cost - cost[best] <= 2.0 * LIKELIHOOD_INTERVAL * variance)
    half_width = 0.5 * float(plausible[-1] - plausible[0]) * dt
    k_stop = lo + best  # the first sample without current
    instant = float(t_s[min(k_stop, len(t_s) - 1)]) - dt / 2.0
    return TripDetection(instant, float(t_s[min(k_below, len(t_s) - 1)]), half_width, dt)


@dataclass(frozen=True)
class Resumption:
    """When the current came back (a reconnection) in a capture."""

    instant_s: float
    """When the current started, in the capture's time base: where the one-cycle fundamental's linear rise from
    zero (a trailing window filling with current) crossed the threshold, traced back by threshold / final."""
    above_s: float
    """When the one-cycle fundamental rose to the threshold for good."""
    final_a: float
    """The fundamental over the last cycles of the capture."""
    resolution_s: float
    """Half the spread of that estimate: a sample interval and the window's partial cycle."""


def detect_resumption(t_s: np.ndarray, signal: Fundamental, threshold_a: float, after_s: float = 0.0) -> Resumption | None:
    """The instant (at or after ``after_s``) from which the current flows to the end of the capture, or None.

    A trailing one-cycle window filling with a current of amplitude I reads (elapsed / T) * I, so the crossing
    of the threshold lies threshold / I of a cycle after the current started.
    """
    rms = signal.rms_a
    if rms[-1] < threshold_a:
        return None
    below = np.flatnonzero((rms < threshold_a) & (t_s >= after_s))
    first = int(below[-1]) + 1 if below.size else int(np.searchsorted(t_s, after_s))
    if first >= len(t_s):
        return None
    n = signal.samples_per_cycle
    dt = float(t_s[1] - t_s[0])
    final = float(np.median(rms[-n:]))
    period = n * dt
    lead = period * min(threshold_a / final, 1.0)
    return Resumption(float(t_s[first]) - lead, float(t_s[first]), final, dt + 0.1 * period)
