"""What the Yokogawa WT driver knows of each model, and what a bench file must state for the rest.

Only figures a public source confirms are written here (``MODELS``): a
wrong accuracy would silently narrow every efficiency verdict's uncertainty.
Whatever no source confirms (the WT3000's range lists, any figure of the
WT1800 or WT5000, the WT3000's influence of power factor) is the bench's to
state from the manual of its own unit, in the driver's options
(``ElementRanges``, ``PowerAccuracy``); the driver refuses to guess.

The WT3000 row: power accuracy from IM 760301-01E section 12.4, p.12-7
(https://www.easymanua.ls/yokogawa/wt3000/manual?p=321; 6 months, 23 +-5 degC,
lambda = 1, crest factor 3, after warm-up and zero-level compensation), the
rows the project's efficiency notes (section 2.4) mark confirmed. Not
included, though on the same page: the 0.1-30 Hz row and the bands above
10 kHz (not in the notes), the self-heating terms (0.00002 x I^2 % of
reading on a 30 A element; they depend on the current, not the range), the
2 A element's extra DC term (2 uA x voltage reading) and the influence of
power factor (the notes give none for the WT3000: ``pf_zero`` is None, so
its accuracy below lambda = 1 is stated only if the bench gives it).
The ``*IDN?`` model field ``7603xx-...`` (e.g. ``760304-40-MV``, one public
capture of a real unit) is UNCONFIRMED by a manual; a WT3000E answers
``WT300xE-...`` and is another instrument with its own specification: it
matches no row and needs the options.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from drivers.options import DriverOptions
from rig.core.roles import PowerSpec

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


@dataclass(frozen=True)
class WtModel:
    """One model the driver knows: which ``*IDN?`` model fields are it, and its confirmed figures (None: not
    confirmed, the bench states them)."""

    name: str
    model: str
    """Regex matched in full against the ``*IDN?`` model field, any case."""
    accuracy: AccuracyTable | None
    ranges: tuple[tuple[float, ...], tuple[float, ...]] | None
    """Voltage and current ranges, the same on every element (None: not confirmed)."""

    def is_model(self, idn_model: str) -> bool:
        return re.fullmatch(self.model, idn_model, re.IGNORECASE) is not None


WT3000 = WtModel(
    "WT3000", r"7603\d\d(-[A-Z0-9-]*)?",
    AccuracyTable(PowerSpec(0.0005, 0.001), (
        AccuracyBand(30.0, 45.0, PowerSpec(0.0005, 0.0005), "[)"),
        AccuracyBand(45.0, 66.0, PowerSpec(0.0002, 0.0004), "[]", (0.5, math.inf)),  # 30 A element, 2 A element
        AccuracyBand(45.0, 66.0, PowerSpec(0.0005, 0.0005), "[]", (0.0, 0.2)),       # 2 A element, 5-200 mA
        AccuracyBand(66.0, 1000.0, PowerSpec(0.0005, 0.0005), "(]"),
        AccuracyBand(1000.0, 10000.0, PowerSpec(0.0015, 0.001), "(]"),
    )),
    ranges=None,  # the range lists were not found in a public copy of the manual: the bench states them
)

MODELS: tuple[WtModel, ...] = (WT3000,)
"""Every model with confirmed figures; any other WT runs on what its bench file states."""


def model_for(idn_model: str) -> WtModel | None:
    return next((model for model in MODELS if model.is_model(idn_model)), None)


# -- what a bench file states (the driver's options) ---------------------------------------------------------


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
