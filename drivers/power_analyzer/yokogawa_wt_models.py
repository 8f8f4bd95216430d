"""What the Yokogawa WT driver knows of each model, and what a bench file must state for the rest.

Only figures a public source confirms are written here (``MODELS``): a
wrong accuracy would silently narrow every efficiency verdict's uncertainty.
Whatever no source confirms (the WT3000's range lists, any figure of the
WT1800 or WT5000, the WT3000's influence of power factor) is the bench's to
state from the manual of its own unit, in the driver's options
(``analyzer_options``: ``ElementRanges``, ``PowerAccuracy``); the driver
refuses to guess.

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

from drivers.power_analyzer.analyzer_options import AccuracyBand, AccuracyTable
from rig.core.roles import PowerSpec


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
