"""How a simulated power analyzer errs within its specification, the same way in every dialect.

Per element, quantity and range a gain and an offset error are drawn from the
lab's seed within +-``DRAWN_SHARE`` of the specification for that range and
band, fixed while (and whenever) that range is selected; each reading adds a
noise (type A: sigma ``NOISE_SHARE`` of the range term, clipped at 3 sigma)
drawn from the seed and the end of the interval it belongs to. So every
reading stays inside the specification, and a range chosen too large shows a
larger error. The power range is voltage range x current range. Each dialect
states its own specification and seed stream, so two analyzers on one lab
draw different errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rig.sim.model import LabModel

Spec = dict[tuple[str, str], tuple[float, float]]
"""(band ``AC``/``DC``, quantity ``U``/``I``/``P``) -> (fraction of reading, fraction of range)."""
DRAWN_SHARE = 0.6
"""Gain and offset errors are drawn uniform within +-this share of the specification."""
NOISE_SHARE = 0.05
"""Noise per reading: sigma = this share of the range term, clipped at 3 sigma."""
QUANTITY_CODE = {"U": 1, "I": 2, "P": 3, "F": 4}


@dataclass(frozen=True)
class DrawnErrors:
    """The errors of one simulated analyzer on ``lab``: its specification ``spec`` and its own ``seed_stream``."""

    lab: LabModel
    seed_stream: int
    spec: Spec

    def error(self, element: int, band: str, quantity: str, ranges: tuple[float, float]) -> tuple[float, float, float]:
        """(gain error, offset error in the quantity's unit, the range term's size) of ``quantity`` on ``element``
        at ``ranges`` (V, A): drawn from the lab's seed for this element, quantity and range, so the same whenever
        that range is selected."""
        v_range, i_range = ranges
        full = {"U": v_range, "I": i_range, "P": v_range * i_range}[quantity]
        reading, of_range = self.spec[(band, quantity)]
        code = [round(v_range * 1000), round(i_range * 1000)] if quantity == "P" else [round(full * 1000)]
        rng = np.random.default_rng([self.lab.seed, self.seed_stream, element, QUANTITY_CODE[quantity], *code])
        gain = float(rng.uniform(-DRAWN_SHARE, DRAWN_SHARE)) * reading
        offset = float(rng.uniform(-DRAWN_SHARE, DRAWN_SHARE)) * of_range * full
        return gain, offset, of_range * full

    def measured(self, element: int, band: str, quantity: str, value: float, ranges: tuple[float, float],
                 end_s: float) -> float:
        """``value`` as read on ``ranges`` in the interval ending at ``end_s`` (lab time): its drawn errors and
        the interval's noise."""
        gain, offset, range_term = self.error(element, band, quantity, ranges)
        rng = np.random.default_rng([self.lab.seed, self.seed_stream, element, QUANTITY_CODE[quantity], 0xA,
                                     round(end_s * 1e6)])
        sigma = NOISE_SHARE * range_term
        noise = float(np.clip(rng.normal(0.0, sigma), -3.0 * sigma, 3.0 * sigma))
        return value * (1.0 + gain) + offset + noise

    def frequency(self, element: int, true_hz: float, accuracy: float) -> float:
        """``true_hz`` as read on ``element``: a gain error drawn within +-``DRAWN_SHARE`` of ``accuracy`` (a
        fraction of reading), the same for every reading."""
        rng = np.random.default_rng([self.lab.seed, self.seed_stream, element, QUANTITY_CODE["F"]])
        return true_hz * (1.0 + float(rng.uniform(-DRAWN_SHARE, DRAWN_SHARE)) * accuracy)
