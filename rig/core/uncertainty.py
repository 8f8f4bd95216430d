"""Uncertainty budgets (GUM): components combined in quadrature, expanded with a coverage factor.

Every value a case is judged on carries its expanded uncertainty and the
budget behind it, so a reviewer can see where it comes from (a search's
resolution, a digitizer's sample interval, noise on the waveform).
"""

from __future__ import annotations

import math

from rig.core.results import Uncertainty, UncertaintyComponent

COVERAGE_FACTOR = 2.0
"""k = 2: about 95 % coverage for a normal distribution."""


def rectangular(source: str, half_width: float) -> UncertaintyComponent:
    """A value known only to lie within +-``half_width`` (a resolution, a quantisation step)."""
    return UncertaintyComponent(source=source, standard=abs(half_width) / math.sqrt(3.0), distribution="rectangular")


def normal(source: str, expanded: float, coverage_factor: float = COVERAGE_FACTOR) -> UncertaintyComponent:
    """A component already stated as an expanded uncertainty (e.g. a ~95 % interval)."""
    return UncertaintyComponent(source=source, standard=abs(expanded) / coverage_factor, distribution="normal")


def expanded(*components: UncertaintyComponent, coverage_factor: float = COVERAGE_FACTOR) -> Uncertainty:
    """The combined standard uncertainty of independent components, times the coverage factor."""
    combined = math.sqrt(sum(c.standard**2 for c in components))
    return Uncertainty(expanded=coverage_factor * combined, coverage_factor=coverage_factor, components=list(components))
