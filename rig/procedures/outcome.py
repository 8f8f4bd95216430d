"""What a procedure hands back: measured values and the data behind them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from rig.errors import RigError
from rig.results import Uncertainty


class PreconditionError(RigError):
    """The DUT was not in the state a case must start from (e.g. not exporting)."""


class DutNotReady(PreconditionError):
    """The DUT did not become ready (e.g. reconnect and export) within the time the plan declares.

    One clear finding: the engine records the case as an error and does not
    energise the bench for the rest of the run's cases (they are skipped).
    """


@dataclass
class PlotRequest:
    """Ask the engine for a plot of trace ``trace`` (names a key of ``traces``).

    ``kind`` is "trip_time" (a capture around a disturbance, ``found`` the trip
    instant in s) or "staircase" (a trip-value search, ``found`` the trip value).
    """

    kind: str
    trace: str
    quantity: str
    quantity_unit: str
    threshold_a: float
    found: float | None
    setting: float | None = None


@dataclass
class ProcedureOutcome:
    measured: dict[str, float | None]
    traces: dict[str, pd.DataFrame] = field(default_factory=dict)
    plot: PlotRequest | None = None
    uncertainty: dict[str, Uncertainty] = field(default_factory=dict)
    """Expanded uncertainty of measured values; every value a limit judges must have one."""


@dataclass(frozen=True)
class Procedure:
    """A procedure and the roles it needs, so a bench that lacks one is refused before the run."""

    run: Callable[..., ProcedureOutcome]
    roles: tuple[str, ...]
