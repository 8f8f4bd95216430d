"""What a driver confirms on a unit before anything is energised (``rig bench check``).

Some commands a driver sends come from no manual that covers the unit (the
driver's docstring marks them unconfirmed), and some of a unit's ratings
must cover the bench envelope. A driver that can confirm such things without
energising anything (a query that must answer in the form the driver reads,
a setting read back, a rating against the envelope) offers
``bench_checks()``; ``rig bench check`` runs them on every instrument after
its identity is accepted, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Outcome = Literal["confirmed", "problem", "needs energising", "note"]
"""A note informs (a simulated unit has no calibration) and changes nothing."""


@dataclass(frozen=True)
class BenchCheck:
    """One confirmation: what was checked, how it came out, and what the unit said."""

    what: str
    outcome: Outcome
    detail: str = ""

    @classmethod
    def confirmed(cls, what: str, detail: str = "") -> BenchCheck:
        return cls(what, "confirmed", detail)

    @classmethod
    def problem(cls, what: str, detail: str) -> BenchCheck:
        return cls(what, "problem", detail)

    @classmethod
    def note(cls, what: str, detail: str) -> BenchCheck:
        return cls(what, "note", detail)

    @classmethod
    def needs_energising(cls, what: str, detail: str) -> BenchCheck:
        """Cannot be confirmed without energising: said so, so nobody takes it as confirmed."""
        return cls(what, "needs energising", detail)


@runtime_checkable
class SelfChecking(Protocol):
    """A driver with confirmations to run on the unit (none of them energises anything)."""

    def bench_checks(self) -> list[BenchCheck]: ...
