"""What a bench file states of a power analyzer of any family: its elements' ranges and its power accuracy.

No public source confirms the ranges or the accuracy of every unit a bench
may hold (a 2 A element's ranges differ from a 30 A one's; the LMG600's are
in no public copy at all), so both are options of the analyzer drivers
(``ranges``, ``power_accuracy``), stated from the unit's manual or
calibration certificate; a wrong accuracy would silently narrow every
efficiency verdict's uncertainty. ``AccuracyTable`` is also what a family's
confirmed figures are written as (``yokogawa_wt_models``). The element names
a bench gives (``ELEMENT_NAME``) say how an element is read, AC or DC.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from drivers.options import DriverOptions
from rig.core.errors import InstrumentError
from rig.core.roles import PowerSpec

ELEMENT_NAME = re.compile(r"(ac|dc)(_\w+)?")
"""A bench name for an element says how it is read: ``ac``, ``dc``, ``ac_<x>``, ``dc_<x>``."""

Ends = Literal["[)", "[]", "(]"]
"""Which ends of a frequency band belong to it, as the manual writes the band (30 Hz <= f < 45 Hz: ``[)``)."""


@dataclass(frozen=True)
class AccuracyBand:
    """A frequency band of a power accuracy table, for the current ranges it applies to (A, inclusive)."""

    low_hz: float
    high_hz: float
    spec: PowerSpec
    ends: Ends = "[]"
    current_ranges_a: tuple[float, float] = (0.0, math.inf)

    def holds(self, frequency_hz: float, current_range_a: float) -> bool:
        low_in = self.low_hz <= frequency_hz if self.ends[0] == "[" else self.low_hz < frequency_hz
        high_in = frequency_hz <= self.high_hz if self.ends[1] == "]" else frequency_hz < self.high_hz
        low_a, high_a = self.current_ranges_a
        return low_in and high_in and low_a <= current_range_a <= high_a

    def describe(self) -> str:
        band = f"{self.ends[0]}{self.low_hz:g}, {self.high_hz:g}{self.ends[1]} Hz"
        low_a, high_a = self.current_ranges_a
        return band if (low_a, high_a) == (0.0, math.inf) else f"{band} on {low_a:g}..{high_a:g} A ranges"


@dataclass(frozen=True)
class AccuracyTable:
    """A power accuracy table: the DC figures and the AC bands (the first band that holds is the one)."""

    dc: PowerSpec
    bands: tuple[AccuracyBand, ...]

    def spec(self, frequency_hz: float | None, current_range_a: float) -> PowerSpec | None:
        """The figures at ``frequency_hz`` (None: DC) on ``current_range_a``; None where the table states none."""
        if frequency_hz is None:
            return self.dc
        return next((band.spec for band in self.bands if band.holds(frequency_hz, current_range_a)), None)

    def describe(self) -> str:
        return "DC, " + ", ".join(band.describe() for band in self.bands)


def power_spec(table: AccuracyTable | None, frequency_hz: float | None, current_range_a: float, *,
               current_ranges_a: Sequence[float], name: str, element: str, missing: str) -> PowerSpec:
    """The power accuracy ``table`` states at ``frequency_hz`` (None: DC) on ``current_range_a`` (A).

    Refused, as an ``InstrumentError`` of role ``name`` about ``element`` (``element 1``, ``channel 1``): a range
    not in ``current_ranges_a``, a frequency that is not a positive number of hertz, no table (``missing`` says
    what the bench is to do) and a table that states nothing there: an uncertainty is never guessed.
    """
    what = f"power accuracy of {element}"
    if not any(math.isclose(current_range_a, r, rel_tol=1e-9) for r in current_ranges_a):
        raise InstrumentError(name, what, f"{element} has no {current_range_a:g} A range")
    if frequency_hz is not None and not (frequency_hz > 0 and math.isfinite(frequency_hz)):
        raise InstrumentError(name, what, f"frequency {frequency_hz}: a positive number of hertz, or None for DC")
    if table is None:
        raise InstrumentError(name, what, missing)
    spec = table.spec(frequency_hz, current_range_a)
    if spec is None:
        raise InstrumentError(name, what, f"no stated accuracy at {frequency_hz:g} Hz on the {current_range_a:g} A "
                                          f"range (stated: {table.describe()})")
    return spec


# -- what a bench file states (the drivers' options) ----------------------------------------------------------


class ElementRanges(DriverOptions):
    """An element's ranges, from the unit's manual (they differ between a 2 A and a 30 A element)."""

    voltage_v: list[float] = Field(min_length=1, description="Voltage ranges (V).")
    current_a: list[float] = Field(min_length=1, description="Current ranges (A), direct input.")

    @model_validator(mode="after")
    def _positive(self) -> ElementRanges:
        for what, values in (("voltage_v", self.voltage_v), ("current_a", self.current_a)):
            if any(not (v > 0 and math.isfinite(v)) for v in values):
                raise ValueError(f"{what}: every range is a positive number")
        return self


class StatedAccuracy(DriverOptions):
    """One row of the unit's power accuracy, as fractions (0.0002 = 0.02 %)."""

    reading: float = Field(ge=0, lt=1)
    range: float = Field(ge=0, lt=1)
    pf_zero: float | None = Field(None, ge=0, lt=1, description="Influence at lambda = 0, fraction of S.")


class StatedBand(StatedAccuracy):
    """A frequency band, both ends included; the first band in the list that holds is used."""

    from_hz: float = Field(gt=0)
    to_hz: float = Field(gt=0)
    current_ranges_a: list[float] | None = Field(None, min_length=2, max_length=2,
                                                 description="[lowest, highest] current range it applies to.")


class PowerAccuracy(DriverOptions):
    """The unit's power accuracy table, for a model without a confirmed row (or to replace it)."""

    dc: StatedAccuracy
    bands: list[StatedBand] = Field(min_length=1)

    def table(self) -> AccuracyTable:
        def spec(row: StatedAccuracy) -> PowerSpec:
            return PowerSpec(row.reading, row.range, row.pf_zero)

        return AccuracyTable(spec(self.dc), tuple(
            AccuracyBand(band.from_hz, band.to_hz, spec(band), "[]",
                         (band.current_ranges_a[0], band.current_ranges_a[1]) if band.current_ranges_a
                         else (0.0, math.inf))
            for band in self.bands))
