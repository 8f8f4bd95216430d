"""Finding the trip instant in a captured current waveform.

The criterion is the usual one: the DUT has tripped when its one-cycle rms
current falls below a threshold in amperes and stays there. A trailing
one-cycle window, though, only falls below the threshold about a cycle
after the current stopped, so the instant is then located on the waveform
itself: the last sample inside that window whose magnitude still stood clear
of the noise (six times the rms of what is left after the trip, and never
above the threshold). Near a current zero the waveform is small for a while
before it stops, so an edge criterion at the noise floor rather than at the
threshold keeps the reported instant within a sample of the moment the
current ceased, while the rms criterion keeps noise from ending the search
early.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TripDetection:
    instant_s: float
    """When the current ceased (from the waveform edge), in the capture's time base."""
    rms_below_s: float
    """When the trailing one-cycle rms fell below the threshold for good."""


def one_cycle_rms(current: np.ndarray, samples_per_cycle: int) -> np.ndarray:
    """Trailing-window rms; the first window's value is used for the samples before it fills."""
    n = max(int(samples_per_cycle), 1)
    squares = np.concatenate(([0.0], np.cumsum(np.asarray(current, dtype=float) ** 2)))
    rms = np.empty(len(current))
    full = np.sqrt(np.maximum(squares[n:] - squares[:-n], 0.0) / n)
    rms[n - 1:] = full
    rms[: n - 1] = full[0] if len(full) else 0.0
    return rms


def samples_per_cycle(t_s: np.ndarray, frequency_hz: float) -> int:
    return max(int(round(1.0 / (frequency_hz * float(t_s[1] - t_s[0])))), 1)


def _edge_level(current: np.ndarray, k_below: int, threshold_a: float) -> float:
    """Magnitude that counts as still conducting: clear of the post-trip noise, at most the threshold."""
    after = np.asarray(current[k_below:], dtype=float)
    if after.size < 10:
        return threshold_a
    noise_rms = float(np.sqrt(np.mean(after**2)))
    return min(threshold_a, max(6.0 * noise_rms, 1e-3 * threshold_a))


def detect_trip(t_s: np.ndarray, current: np.ndarray, threshold_a: float, frequency_hz: float,
                *, rms: np.ndarray | None = None) -> TripDetection | None:
    """The trip in a capture, or None if the current never fell below the threshold for good."""
    n = samples_per_cycle(t_s, frequency_hz)
    rms = one_cycle_rms(current, n) if rms is None else rms
    above = np.flatnonzero(rms >= threshold_a)
    if rms[-1] >= threshold_a:
        return None  # still conducting at the end of the capture
    if above.size == 0:
        return TripDetection(float(t_s[0]), float(t_s[0]))  # never conducted in the window
    k_below = int(above[-1]) + 1
    window = slice(max(k_below - n, 0), k_below + 1)
    strong = np.flatnonzero(np.abs(current[window]) >= _edge_level(current, k_below, threshold_a))
    if strong.size == 0:
        edge = float(t_s[k_below])
    else:
        j = window.start + int(strong[-1])
        dt = float(t_s[1] - t_s[0])
        edge = float(t_s[j]) + dt / 2.0
    return TripDetection(instant_s=edge, rms_below_s=float(t_s[k_below]))
